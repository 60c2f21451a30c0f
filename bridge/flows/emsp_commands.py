"""Commands from the eMSP backend to Hubject-only EVSEs (issue 6 item 4; docs/emsp-charging.md).

The eMSP sends OCPI commands to the gateway's CPO-role Commands Receiver (ocpi.md §4.6); for a
Location derived from Hubject data (:func:`bridge.flows.emsp_lookup.find_location`) the
:class:`EmspCommandHandler` turns them into OICP remote operations (oicp-2.3.md §2.3,
docs/mapping.md §3.8):

* START_SESSION → AuthorizeRemoteStart (``mappings.commands.start_session_to_oicp``:
  RemoteIdentification with the token's ``contract_id`` as EvcoID, the EVSE's EvseID, no SessionID,
  EMPPartnerSessionID = ``authorization_reference``); STOP_SESSION → AuthorizeRemoteStop with the
  SessionID of the session (the OCPI session id *is* the SessionID, :mod:`.emsp_charging_state`);
  RESERVE_NOW → AuthorizeRemoteReservationStart (Duration from ``expiry_date``); CANCEL_RESERVATION →
  AuthorizeRemoteReservationStop of the reservation's SessionID. UNLOCK_CONNECTOR has no OICP
  operation: NOT_SUPPORTED.
* OICP answers synchronously, OCPI asynchronously (oicp-2.3.md §8 point 12): the eMSP gets
  ``CommandResponse`` ACCEPTED at once with ``timeout`` = ``commands.response_timeout_seconds``
  (≥ 60 s, ``mappings.commands.immediate_response``); Hubject is called in a background task and
  its Acknowledgement becomes the CommandResult (``acknowledgement_to_result``), queued in the
  outbox for the eMSP's ``response_url`` (kind ``emsp.command_result``, keyed by the command id:
  POSTed at least once; the Hubject call itself is never repeated, it creates a SessionID).
* A remote start Hubject accepted creates the OCPI Session PENDING (``mappings.sessions
  .pending_session``), stored and PUT to the eMSP's Sessions Receiver, with the SessionID as its id.

Refusals at once (no result follows, ``timeout`` 0): a Location of the gateway's Hubject data whose
EVSE cannot be chosen (``evse_uid`` unknown, or missing with several EVSEs) or that cannot be
expressed in OICP (the token's ``contract_id`` is no EvcoID, ...) → REJECTED; a session or
reservation of another eMSP → UNKNOWN_SESSION / REJECTED. What is not Hubject's goes to the handler
registered before (``fallback``: the CPO-side relay, :mod:`bridge.flows.cpo_commands_relay`, which
in turn falls back to this one when it is installed later); nobody knows the Location → **2003**.
Hubject unreachable or answering HTTP errors → CommandResult TIMEOUT (no answer: the start may have
happened) or FAILED.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from bridge.errors import MappingError, PartnerError, UnknownLocation
from bridge.flows.cpo_commands import oicp_client
from bridge.flows.emsp_charging_state import (
    COMMAND_RESULT_KIND,
    RESERVATION_LINK,
    SessionLink,
    get_link,
    notify,
    now_utc,
    put_link,
    rules_for,
    save_session_and_queue,
    stored_session,
    with_reference,
)
from bridge.flows.emsp_lookup import HubjectEvse, evse_at, find_location
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.models.common import to_jsonable
from bridge.ocpi.server.commands import update_command
from bridge.ocpi.server.tokens import token_object_id
from bridge.oicp.client import OicpTransientError
from bridge.oicp.models import Acknowledgement, OicpEgressError, StatusCodeEnum, normalize_session_id, to_json
from mappings.commands import (
    acknowledgement_to_result,
    cancel_reservation_to_oicp,
    immediate_response,
    reserve_now_to_oicp,
    start_session_to_oicp,
    stop_session_to_oicp,
)
from mappings.sessions import pending_session

if TYPE_CHECKING:
    from bridge.context import Gateway
    from bridge.ocpi.server.handlers import CommandContext, CommandHandler
    from bridge.store.base import DataApi
    from mappings.rules import MappingRules

log = logging.getLogger("bridge.flows.emsp_charging")

_KNOWN_CODES = frozenset(code.value for code in StatusCodeEnum)
_ENDED = (v221.SessionStatus.COMPLETED, v221.SessionStatus.INVALID)


def refusal(result: v221.CommandResponseType, text: str) -> v221.CommandResponse:
    """A CommandResponse after which no CommandResult follows (``timeout`` 0)."""
    return v221.CommandResponse(
        result=result, timeout=0, message=[v221.DisplayText(language="en", text=text[:512])]
    )


class BackgroundTasks:
    """The Hubject calls running after the eMSP got its CommandResponse; drained at shutdown."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coroutine: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, seconds: float) -> None:
        """Let running calls finish for up to ``seconds``, then cancel the rest (their
        eMSP gets no CommandResult and times out, as OCPI foresees)."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(list(self._tasks), timeout=seconds)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def __len__(self) -> int:
        return len(self._tasks)


def _ack_of_error(error: Exception) -> Acknowledgement:
    """A stand-in Acknowledgement for a call Hubject did not answer with one: no answer → 310
    (the operation may have happened: TIMEOUT), a known OICP code → that code, else 021."""
    if isinstance(error, OicpTransientError):
        return Acknowledgement.failure(StatusCodeEnum.PARTNER_DID_NOT_RESPOND, "Hubject did not answer")
    code = getattr(error, "code", None)
    text = f"Hubject refused the request: {error}"[:1000]
    if isinstance(code, str) and code in _KNOWN_CODES:
        return Acknowledgement.failure(code, text)
    return Acknowledgement.failure(StatusCodeEnum.SYSTEM_ERROR, text)


class EmspCommandHandler:
    """The :class:`~bridge.ocpi.server.handlers.CommandHandler` for Hubject Locations (see the
    module docstring); everything else goes to ``fallback``."""

    def __init__(
        self, gateway: Gateway, tasks: BackgroundTasks, fallback: CommandHandler | None = None
    ) -> None:
        self.gateway = gateway
        self.tasks = tasks
        self.fallback = fallback

    @property
    def provider_id(self) -> str | None:
        return self.gateway.config.hubject.provider_id

    def _rules(self, context: CommandContext, evse: HubjectEvse | None) -> MappingRules:
        return rules_for(
            self.gateway,
            partner=context.partner,
            owner=evse.owner if evse else None,
            location_id=evse.location_id if evse else None,
            operator_id=evse.operator_id if evse else None,
        )

    async def _evse(self, location_id: str, evse_uid: str | None) -> tuple[bool, HubjectEvse | None, str]:
        """(is the Location Hubject's, its EVSE or None, why there is none)."""
        async with self.gateway.store.transaction() as tx:
            location = await find_location(tx, location_id)
        if location is None:
            return False, None, ""
        evse = evse_at(location, evse_uid)
        if evse is None:
            why = (
                f"EVSE {evse_uid} is not at location {location_id}"
                if evse_uid is not None
                else f"location {location_id} has several EVSEs: evse_uid is required"
            )
            return True, None, why
        if evse.evse.get("status") == v221.Status.REMOVED.value:
            return True, None, f"EVSE {evse.evse_uid} was removed"
        return True, evse, ""

    async def _not_ours(
        self, name: str, command: BaseModel, context: CommandContext, location_id: str | None
    ) -> v221.CommandResponse:
        if self.fallback is not None:
            method: Callable[[Any, CommandContext], Awaitable[v221.CommandResponse]] = getattr(
                self.fallback, name
            )
            return await method(command, context)
        if location_id is not None:
            raise UnknownLocation(f"Unknown location {location_id}")
        if name == "stop_session":
            return refusal(v221.CommandResponseType.UNKNOWN_SESSION, "Unknown session")
        return refusal(v221.CommandResponseType.REJECTED, "Unknown reservation")

    def _start(self, coroutine: Coroutine[Any, Any, None], context: CommandContext) -> None:
        self.tasks.spawn(coroutine, name=f"emsp {context.command.value} {context.command_id}")

    @staticmethod
    def _checked(request: BaseModel) -> str | None:
        """Why the OICP request cannot be sent (egress-strict formats), or None."""
        try:
            to_json(request)
        except OicpEgressError as error:
            return str(error)
        return None

    # ---- CommandHandler ---------------------------------------------------------------------

    async def start_session(
        self, command: v221.StartSession, context: CommandContext
    ) -> v221.CommandResponse:
        """START_SESSION → AuthorizeRemoteStart (oicp-2.3.md §2.3, §8 point 12)."""
        ours, evse, why = await self._evse(command.location_id, command.evse_uid)
        if not ours:
            return await self._not_ours("start_session", command, context, command.location_id)
        if evse is None:
            return refusal(v221.CommandResponseType.REJECTED, why)
        rules = self._rules(context, evse)
        try:
            request = start_session_to_oicp(
                command, evse_id=evse.evse_id, rules=rules, provider_id=self.provider_id
            ).value
        except MappingError as error:
            return refusal(v221.CommandResponseType.REJECTED, f"{error.path}: {error.reason}")
        problem = self._checked(request)
        if problem is not None:
            return refusal(v221.CommandResponseType.REJECTED, problem)
        self._start(self._remote_start(request, command, context, evse, rules), context)
        return immediate_response(rules)

    async def stop_session(self, command: v221.StopSession, context: CommandContext) -> v221.CommandResponse:
        """STOP_SESSION → AuthorizeRemoteStop with the session's SessionID."""
        async with self.gateway.store.transaction() as tx:
            link = await get_link(tx, command.session_id)
            session = await stored_session(self.gateway, tx, link) if link is not None else None
        if link is None or link.origin == "reservation" or link.evse_id is None:
            return await self._not_ours("stop_session", command, context, None)
        if link.partner is not None and link.partner != context.partner:
            return refusal(v221.CommandResponseType.UNKNOWN_SESSION, f"Unknown session {command.session_id}")
        if session is not None and session.status in _ENDED:
            return refusal(v221.CommandResponseType.REJECTED, f"Session {command.session_id} has ended")
        rules = rules_for(
            self.gateway, partner=context.partner, owner=link.owner, location_id=link.location_id
        )
        try:
            request = stop_session_to_oicp(
                command,
                session_id=link.session_id,
                evse_id=link.evse_id,
                rules=rules,
                provider_id=self.provider_id,
            ).value
        except MappingError as error:
            return refusal(v221.CommandResponseType.REJECTED, f"{error.path}: {error.reason}")
        self._start(
            self._call(context, rules, oicp_client(self.gateway).authorize_remote_stop(request)), context
        )
        return immediate_response(rules)

    async def reserve_now(self, command: v221.ReserveNow, context: CommandContext) -> v221.CommandResponse:
        """RESERVE_NOW → AuthorizeRemoteReservationStart (a repeated reservation id replaces the
        reservation: the old one is stopped first)."""
        ours, evse, why = await self._evse(command.location_id, command.evse_uid)
        if not ours:
            return await self._not_ours("reserve_now", command, context, command.location_id)
        if evse is None:
            return refusal(v221.CommandResponseType.REJECTED, why)
        rules = self._rules(context, evse)
        try:
            request = reserve_now_to_oicp(
                command, evse_id=evse.evse_id, now=now_utc(), rules=rules, provider_id=self.provider_id
            ).value
        except MappingError as error:
            return refusal(v221.CommandResponseType.REJECTED, f"{error.path}: {error.reason}")
        problem = self._checked(request)
        if problem is not None:
            return refusal(v221.CommandResponseType.REJECTED, problem)
        self._start(self._reserve(request, command, context, evse, rules), context)
        return immediate_response(rules)

    async def cancel_reservation(
        self, command: v221.CancelReservation, context: CommandContext
    ) -> v221.CommandResponse:
        """CANCEL_RESERVATION → AuthorizeRemoteReservationStop of the reservation's SessionID."""
        key = f"{context.partner}/{command.reservation_id.upper()}"
        found = await self.gateway.store.get_correlation(RESERVATION_LINK, key)
        if found is None or not found.data:
            return await self._not_ours("cancel_reservation", command, context, None)
        info = found.data
        owner = (str(info["owner"][0]), str(info["owner"][1])) if info.get("owner") else None
        rules = rules_for(
            self.gateway, partner=context.partner, owner=owner, location_id=info.get("location_id")
        )
        request = cancel_reservation_to_oicp(
            command,
            session_id=found.value,
            evse_id=str(info["evse_id"]),
            rules=rules,
            provider_id=self.provider_id,
        ).value
        self._start(
            self._call(context, rules, oicp_client(self.gateway).authorize_remote_reservation_stop(request)),
            context,
        )
        return immediate_response(rules)

    async def unlock_connector(
        self, command: v221.UnlockConnector, context: CommandContext
    ) -> v221.CommandResponse:
        """UNLOCK_CONNECTOR: OICP has no such operation → NOT_SUPPORTED at Hubject Locations."""
        ours, _, _ = await self._evse(command.location_id, command.evse_uid)
        if not ours:
            return await self._not_ours("unlock_connector", command, context, command.location_id)
        return refusal(
            v221.CommandResponseType.NOT_SUPPORTED,
            "Hubject (OICP 2.3) offers no remote unlock of a connector",
        )

    # ---- the Hubject side, after the CommandResponse ------------------------------------------

    async def _hubject(self, call: Awaitable[Acknowledgement], context: CommandContext) -> Acknowledgement:
        try:
            return await call
        except (PartnerError, OicpEgressError) as error:
            log.warning("%s %s: Hubject call failed: %s", context.command.value, context.command_id, error)
            return _ack_of_error(error)

    async def _call(
        self, context: CommandContext, rules: MappingRules, call: Awaitable[Acknowledgement]
    ) -> None:
        ack = await self._hubject(call, context)
        await self._finish(context, rules, ack, None)

    async def _finish(
        self,
        context: CommandContext,
        rules: MappingRules,
        ack: Acknowledgement,
        then: Callable[[DataApi], Awaitable[None]] | None,
    ) -> None:
        """Queue the CommandResult (with ``then`` in the same transaction when Hubject accepted)."""
        result = acknowledgement_to_result(ack, rules).value
        try:
            async with self.gateway.store.transaction() as tx:
                if ack.result and then is not None:
                    await then(tx)
                await tx.enqueue(
                    context.partner,
                    COMMAND_RESULT_KIND,
                    {
                        "response_url": context.response_url,
                        "version": context.version,
                        "command": context.command.value,
                        "result": to_jsonable(result),
                    },
                    key=context.command_id,
                )
            await update_command(
                self.gateway.store,
                context.command_id,
                result=result,
                context={"flow": "emsp", "session_id": ack.session_id, "code": ack.status_code.code},
            )
        except Exception:
            log.exception("%s %s: the result could not be stored", context.command.value, context.command_id)
            return
        notify(self.gateway)
        log.info(
            "%s %s: Hubject answered %s (%s); CommandResult %s queued",
            context.command.value,
            context.command_id,
            ack.result,
            ack.status_code.code,
            result.result.value,
        )

    async def _remote_start(
        self,
        request: Any,
        command: v221.StartSession,
        context: CommandContext,
        evse: HubjectEvse,
        rules: MappingRules,
    ) -> None:
        ack = await self._hubject(oicp_client(self.gateway).authorize_remote_start(request), context)
        token = command.token
        link = SessionLink(
            session_id=ack.session_id or "",
            origin="remote",
            partner=context.partner,
            owner=evse.owner,
            evse_id=evse.evse_id,
            location_id=evse.location_id,
            evse_uid=evse.evse_uid,
            connector_id=command.connector_id or evse.connector_id,
            token=[token.country_code, token.party_id, token_object_id(token.uid, token.type)],
            cdr_token=to_jsonable(
                v221.CdrToken(
                    country_code=token.country_code,
                    party_id=token.party_id,
                    uid=token.uid,
                    type=token.type,
                    contract_id=token.contract_id,
                )
            ),
            authorization_reference=command.authorization_reference,
            command_id=context.command_id,
        )

        async def started(tx: DataApi) -> None:
            if not ack.session_id:
                log.warning("START_SESSION %s: Hubject accepted without a SessionID", context.command_id)
                return
            await put_link(tx, link)
            pending = pending_session(
                country_code=evse.owner[0],
                party_id=evse.owner[1],
                session_id=link.session_id,
                hubject_session_id=link.session_id,
                location_id=evse.location_id,
                evse_uid=evse.evse_uid,
                connector_id=str(link.connector_id),
                cdr_token=v221.CdrToken.model_validate(link.cdr_token),
                now=now_utc(),
                rules=rules,
            ).value
            if pending is not None:
                await save_session_and_queue(self.gateway, tx, with_reference(pending, link), context.partner)

        await self._finish(context, rules, ack, started)

    async def _reserve(
        self,
        request: Any,
        command: v221.ReserveNow,
        context: CommandContext,
        evse: HubjectEvse,
        rules: MappingRules,
    ) -> None:
        client = oicp_client(self.gateway)
        key = f"{context.partner}/{command.reservation_id.upper()}"
        earlier = await self.gateway.store.get_correlation(RESERVATION_LINK, key)
        if earlier is not None and earlier.data:
            from bridge.oicp.models import AuthorizeRemoteReservationStop

            stop = AuthorizeRemoteReservationStop(
                session_id=earlier.value,
                emp_partner_session_id=command.reservation_id,
                provider_id=request.provider_id,
                evse_id=str(earlier.data["evse_id"]),
            )
            replaced = await self._hubject(client.authorize_remote_reservation_stop(stop), context)
            log.info(
                "RESERVE_NOW %s replaces reservation %s: stop answered %s",
                context.command_id,
                earlier.value,
                replaced.status_code.code,
            )
        ack = await self._hubject(client.authorize_remote_reservation_start(request), context)

        async def reserved(tx: DataApi) -> None:
            if not ack.session_id:
                return
            session_id = normalize_session_id(ack.session_id)
            data = {
                "reservation_id": command.reservation_id,
                "evse_id": evse.evse_id,
                "owner": list(evse.owner),
                "location_id": evse.location_id,
                "evse_uid": evse.evse_uid,
                "command_id": context.command_id,
            }
            await tx.put_correlation(RESERVATION_LINK, key, session_id, data)
            token = command.token
            await put_link(
                tx,
                SessionLink(
                    session_id=session_id,
                    origin="reservation",
                    partner=context.partner,
                    owner=evse.owner,
                    evse_id=evse.evse_id,
                    location_id=evse.location_id,
                    evse_uid=evse.evse_uid,
                    connector_id=evse.connector_id,
                    token=[token.country_code, token.party_id, token_object_id(token.uid, token.type)],
                    cdr_token=to_jsonable(
                        v221.CdrToken(
                            country_code=token.country_code,
                            party_id=token.party_id,
                            uid=token.uid,
                            type=token.type,
                            contract_id=token.contract_id,
                        )
                    ),
                    authorization_reference=command.authorization_reference,
                    command_id=context.command_id,
                    reservation_id=command.reservation_id,
                ),
            )

        await self._finish(context, rules, ack, reserved)


__all__ = ["BackgroundTasks", "EmspCommandHandler", "refusal"]
