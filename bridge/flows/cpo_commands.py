"""Commands on the CPO side: Hubject's remote operations and OCPI peers' commands, executed by the
CPO backends (OCPI CPO partners such as Be Charge) — issue items 7, 8, 9 and the commands half of 10.

Hubject → gateway → CPO backend (:class:`HubjectRemoteHandler`, ``services["oicp.cpo_remote"]``):

* **AuthorizeRemoteStart** → OCPI START_SESSION to the backend that pushed the EVSE (found by
  EvseID, :mod:`bridge.flows.cpo_commands_index`), token from the EvcoID, ``authorization_reference``
  = Hubject's SessionID, ``response_url`` = the gateway's own (``register_sent_command``)
  (``mappings.commands.remote_start_to_ocpi``, docs/mapping.md §3.8). OICP wants a synchronous
  answer, OCPI answers asynchronously: Hubject gets ``Result: true`` (with the SessionID) as soon
  as the backend's CommandResponse is ACCEPTED (oicp-2.3.md §8 point 12); REJECTED, NOT_SUPPORTED,
  UNKNOWN_SESSION and 2.1.1 TIMEOUT give ``Result: false`` with the StatusCode of
  ``commands.ack_by_response`` (``mappings.commands.response_to_oicp``).
* **AuthorizeRemoteStop** → STOP_SESSION of the OCPI Session of the SessionID: the one the charging
  flow tied to it, else the Session whose ``authorization_reference`` is the SessionID's (the
  backend echoes it in the Session, OCPI 2.2.1 mod_sessions). Unknown, COMPLETED or INVALID → 400.
* **Reservation start/stop** (both path variants, routed by ``bridge.oicp.server``) → RESERVE_NOW
  (reservation id = the SessionID; a 2.1.1 backend gets the integer of ``reservation_id_to_211``)
  and CANCEL_RESERVATION of that reservation. OCPI 2.1.1 has no CANCEL_RESERVATION: a reservation
  stop for a 2.1.1 backend is answered with the ``NOT_SUPPORTED`` row of ``commands.ack_by_response``
  (default ``Result: false`` **320** "Service not available"), nothing is sent.
* A **later failing CommandResult** (FAILED, TIMEOUT, EVSE_OCCUPIED, ...) of a command Hubject was
  told ``Result: true`` about has no OICP callback: it becomes a ChargingNotification **Error**
  (``mappings.commands.result_to_notification``), queued in the outbox (:data:`NOTIFICATION_KIND`,
  target ``"hubject"``, keyed by the command id, in the FIFO group ``notifications:<SessionID>`` of
  the charging flow's notifications, so it stays in order with them).

Failure answers (issue item 9; never an HTTP 500, always an Acknowledgement, bridge.oicp.server):
unknown EvseID, a REMOVED EVSE or one of an unpublished Location the mapping skips → **603**;
``IsHubjectCompatible`` false for the EVSE per the mapping rules → **604**; backend unreachable,
not registered, answering an OCPI error or too slow → **501**, answered by this flow itself before
Hubject's limit: the OCPI call gets what is left of ``OicpDeadlines.remote`` minus a margin
(:func:`answer_budget`). A backend answering 2003 (unknown location) → 603; a backend without a
commands endpoint → 320. Unknown SessionID on stops → **400**.

OCPI peers → gateway → CPO backend: :mod:`bridge.flows.cpo_commands_relay` (``services["command_handler"]``).
Both directions share the :class:`CommandResults` listener (``services["command_result_listener"]``).

Correlations this flow writes (for the charging flow and the CDRs, oicp-2.3.md §8 point 1):

* the charging flow's Hubject session (``cpo_charging_state.register_hubject_session``, origin
  ``remote_start`` or ``reservation``, ``authorization_reference`` = the SessionID), written in one
  transaction before the START_SESSION/RESERVE_NOW leaves, so the backend's Session and CDR find it
  (the Session carries the SessionID as its ``authorization_reference``);
* :data:`REMOTE_RESERVATION_KIND` ``SessionID → reservation id`` with data ``{command_id,
  reservation_id, evse_id, evco_id, partner, country_code, party_id, location_id, evse_uid}``.
* :data:`ANSWER_KIND` ``command id → "accepted" | "refused"``: what Hubject was answered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, ValidationError

from bridge.delivery import Outcome, RetryPolicy, Sender, outcome_from_error
from bridge.errors import (
    MappingError,
    OicpCommunicationFailed,
    OicpDataError,
    OicpError,
    OicpNotHubjectCompatible,
    OicpSessionInvalid,
    OicpUnknownEvse,
    PartnerError,
    UnknownLocation,
)
from bridge.flows import cpo_commands_relay as relay
from bridge.flows.cpo_charging_state import (
    HubjectSession,
    get_hubject_session,
    register_hubject_session,
    split_key,
)
from bridge.flows.cpo_commands_backend import BackendAnswer, BackendFailure, send_command
from bridge.flows.cpo_commands_index import (
    EvseRef,
    SessionRef,
    backfill,
    find_evse,
    install_indexes,
    is_hubject_compatible,
    rules_for,
    session_by_authorization_reference,
)
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.server.commands import get_command, register_sent_command, update_command
from bridge.ocpi.server.handlers import (
    COMMAND_HANDLER,
    COMMAND_RESULT_LISTENER,
    CommandRecord,
    CommandResultListener,
)
from bridge.ocpi.server.objects import object_service
from bridge.oicp.client import OicpClient
from bridge.oicp.handlers import SERVICE_CPO_REMOTE, SERVICE_DEADLINES, OicpDeadlines
from bridge.oicp.models import (
    Acknowledgement,
    AuthorizeRemoteReservationStart,
    AuthorizeRemoteReservationStop,
    AuthorizeRemoteStart,
    AuthorizeRemoteStop,
    ChargingNotificationAdapter,
    Identification,
    OicpEgressError,
    StatusCode,
    normalize_session_id,
    to_jsonable,
)
from mappings.commands import (
    remote_start_to_ocpi,
    remote_stop_to_ocpi,
    reservation_start_to_ocpi,
    reservation_stop_to_ocpi,
    response_to_oicp,
    result_to_notification,
)
from mappings.result import Translation

if TYPE_CHECKING:
    from bridge.config import BridgeConfig
    from bridge.context import Gateway
    from bridge.store.base import OutboxMessage, PartnerRecord
    from mappings.rules import MappingRules

log = logging.getLogger("bridge.flows.cpo_commands")

FLOW: Final = "hubject"
"""``CommandRecord.context["flow"]`` of the commands sent for Hubject's remote operations."""
REMOTE_RESERVATION_KIND: Final = "oicp.remote_reservation"
ANSWER_KIND: Final = "cpo_commands.hubject_answer"
NOTIFICATION_KIND: Final = "cpo_commands.notification_error"
HUBJECT_TARGET: Final = "hubject"
OICP_CLIENT: Final = "oicp.client"
"""``gateway.services`` key of the gateway's :class:`~bridge.oicp.client.OicpClient` (made on first use)."""

ANSWER_MARGIN: Final = 2.0
"""Seconds kept from ``OicpDeadlines.remote`` for our own work around the OCPI call (store writes,
the answer), so that a slow backend is answered 501 by this flow, not cut off by the route."""

TRANSIENT_CODES: Final = frozenset({"001", "002", "009", "021", "310", "320"})
"""Hubject answers to a notification worth sending again (its own or a partner's transient errors)."""

NOTIFICATION_RETRY: Final = RetryPolicy(base=2.0, cap=300.0, max_attempts=12)
RESULT_RETRY: Final = RetryPolicy(base=2.0, cap=300.0, max_attempts=20)


def answer_budget(deadlines: OicpDeadlines) -> float:
    """Seconds this flow may spend on one remote operation: ``deadlines.remote`` minus
    :data:`ANSWER_MARGIN` (at most a quarter of it), so the OCPI call times out first and the
    answer is ours (oicp-2.3.md §1.5: 60 s at most, < 10 s best practice)."""
    return deadlines.remote - min(ANSWER_MARGIN, deadlines.remote / 4)


def server_deadlines(config: BridgeConfig) -> OicpDeadlines:
    """``hubject.server_deadlines`` of the configuration as the routes' :class:`OicpDeadlines`."""
    section = config.hubject.server_deadlines
    return OicpDeadlines(
        remote=section.remote, authorize=section.authorize, cdr=section.cdr, notification=section.notification
    )


def deadlines_of(gateway: Gateway) -> OicpDeadlines:
    """The deadlines of Hubject's calls: an :class:`OicpDeadlines` in ``services["oicp.deadlines"]``
    wins; otherwise the configured ones are put there (the routes of ``bridge.oicp.server`` and the
    handlers read that entry)."""
    found = gateway.services.get(SERVICE_DEADLINES)
    if isinstance(found, OicpDeadlines):
        return found
    deadlines = server_deadlines(gateway.config)
    gateway.services[SERVICE_DEADLINES] = deadlines
    return deadlines


def oicp_client(gateway: Gateway) -> OicpClient:
    """The gateway's OICP client (``services["oicp.client"]``), made from ``config.hubject`` on first use."""
    client = gateway.services.get(OICP_CLIENT)
    if isinstance(client, OicpClient):
        return client
    made = OicpClient.from_config(gateway.config.hubject)
    gateway.services[OICP_CLIENT] = made
    return made


# --------------------------------------------------------------------------------------------
# Hubject → CPO backend


def _with_partner_ids(ack: Acknowledgement, request: BaseModel) -> Acknowledgement:
    """Echo the request's partner session IDs (oicp-2.3.md §3.1)."""
    return ack.model_copy(
        update={
            "cpo_partner_session_id": getattr(request, "cpo_partner_session_id", None),
            "emp_partner_session_id": getattr(request, "emp_partner_session_id", None),
        }
    )


def _evco_id(held: HubjectSession | None) -> str | None:
    """The EvcoID a Hubject session was started with (remote starts: RemoteIdentification)."""
    if held is None:
        return None
    for member in (held.identification or {}).values():
        if isinstance(member, dict) and isinstance(member.get("EvcoID"), str):
            return str(member["EvcoID"])
    return None


class HubjectRemoteHandler:
    """The gateway's :class:`~bridge.oicp.handlers.CpoRemoteHandler` (see the module docstring)."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    # ---- helpers ----------------------------------------------------------------------------

    @property
    def _operator_id(self) -> str | None:
        return self.gateway.config.hubject.operator_id

    def _deadline(self) -> float:
        return asyncio.get_running_loop().time() + answer_budget(deadlines_of(self.gateway))

    def _rules(self, partner: str, owner: tuple[str, str], location_id: str) -> MappingRules:
        return rules_for(object_service(self.gateway).rules, self._operator_id, partner, owner, location_id)

    async def _backend(self, name: str, evse_id: str) -> PartnerRecord:
        partner = await self.gateway.store.get_partner(name)
        if partner is None or partner.role != "CPO":
            raise OicpUnknownEvse(
                f"EvseID {evse_id} is not operated by a charge point operator of this gateway"
            )
        return partner

    async def _evse(self, evse_id: str) -> tuple[EvseRef, PartnerRecord, MappingRules]:
        """The EVSE, its backend and rules; 603/604 when Hubject cannot have it as a compatible EVSE."""
        ref = await find_evse(self.gateway, evse_id)
        if ref is None:
            raise OicpUnknownEvse(f"Unknown EvseID {evse_id}")
        rules = self._rules(ref.partner, ref.owner, ref.location_id)
        if ref.evse.get("status") == v221.Status.REMOVED.value:
            raise OicpUnknownEvse(f"EvseID {evse_id} was removed")
        if ref.location.get("publish") is False and rules.locations.unpublished_locations == "skip":
            raise OicpUnknownEvse(f"EvseID {evse_id} is not published")
        if not is_hubject_compatible(rules, ref.evse_id):
            raise OicpNotHubjectCompatible(f"EvseID {evse_id} is not Hubject compatible")
        return ref, await self._backend(ref.partner, evse_id), rules

    async def _register(
        self,
        partner: PartnerRecord,
        command: v221.CommandType,
        owner: tuple[str, str],
        session_id: str,
        evse_id: str,
        evco_id: str | None,
        location_id: str | None,
    ) -> CommandRecord:
        return await register_sent_command(
            self.gateway,
            partner=partner.name,
            version=partner.version or "2.2.1",
            command=command,
            party=owner,
            context={
                "flow": FLOW,
                "session_id": session_id,
                "evse_id": evse_id,
                "evco_id": evco_id,
                "location_id": location_id,
            },
        )

    async def _send(
        self, partner: PartnerRecord, record: CommandRecord, command: BaseModel, deadline: float
    ) -> BackendAnswer:
        """Send once; a failure is an OicpError (501 unless the backend named a better code)."""
        await update_command(self.gateway.store, record.id, request=command)
        remaining = deadline - asyncio.get_running_loop().time()
        timeout = min(self.gateway.config.ocpi.timeouts.command, remaining)
        try:
            return await send_command(
                self.gateway, partner, record.command, command, record=record, within=timeout
            )
        except BackendFailure as failure:
            await self._answered(record, accepted=False)
            log.warning("%s %s for Hubject failed: %s", record.command.value, record.id, failure.detail)
            if failure.kind == "refused" and failure.code == UnknownLocation.status_code:
                raise OicpUnknownEvse("The charge point operator does not know the EVSE") from None
            if failure.kind in ("no_endpoint", "not_supported"):
                raise OicpError(
                    "The charge point operator's system does not take remote commands", code="320"
                ) from None
            texts = {
                "timeout": "The charge point operator's system did not answer in time",
                "not_registered": "The charge point operator's system is not connected",
                "unreachable": "The charge point operator's system could not be reached",
                "refused": f"The charge point operator's system refused the command (OCPI {failure.code})",
                "invalid": "The charge point operator's system gave no valid answer",
            }
            raise OicpCommunicationFailed(texts.get(failure.kind, "Communication to EVSE failed")) from None

    async def _answered(self, record: CommandRecord, *, accepted: bool) -> None:
        await self.gateway.store.put_correlation(
            ANSWER_KIND, record.id, "accepted" if accepted else "refused"
        )

    async def _finish(
        self,
        request: BaseModel,
        record: CommandRecord,
        answer: BackendAnswer,
        rules: MappingRules,
        session_id: str,
    ) -> Acknowledgement:
        """Hubject's answer from the CommandResponse; remember it; a result that already arrived
        (the backend was fast) is handled now, as the listener could not know the answer yet."""
        ack = _with_partner_ids(
            response_to_oicp(answer.received, rules, session_id=session_id).value, request
        )
        await self._answered(record, accepted=ack.result)
        if ack.result:
            current = await get_command(self.gateway.store, record.id)
            result = current.result_model() if current is not None else None
            if current is not None and result is not None:
                await enqueue_error_notification(self.gateway, current, result)
        return ack

    async def _hold_session(
        self,
        origin: str,
        request: AuthorizeRemoteStart | AuthorizeRemoteReservationStart,
        command: v221.StartSession | v221.ReserveNow,
        ref: EvseRef,
        record: CommandRecord,
    ) -> None:
        """Remember the SessionID before the command leaves (oicp-2.3.md §8 point 1): the charging
        flow's Hubject session (``register_hubject_session``, authorization_reference = SessionID)
        and, for a reservation, the reservation id the backend got."""
        assert request.session_id is not None
        session_id = normalize_session_id(request.session_id)
        token = command.token
        held = HubjectSession(
            session_id=session_id,
            authorization_reference=command.authorization_reference or request.session_id,
            origin=origin,
            token={
                "country_code": token.country_code,
                "party_id": token.party_id,
                "uid": token.uid,
                "type": token.type.value,
                "contract_id": token.contract_id,
            },
            identification=to_jsonable(request.identification, strict=False),
            location_id=ref.location_id,
            evse_uids=[ref.evse_uid],
            evse_id=ref.evse_id,
            provider_id=request.provider_id,
            created_at=datetime.now(UTC).isoformat(),
        )
        async with self.gateway.store.transaction() as tx:
            await register_hubject_session(tx, held)
            if isinstance(command, v221.ReserveNow):
                await tx.put_correlation(
                    REMOTE_RESERVATION_KIND,
                    session_id,
                    command.reservation_id,
                    {
                        "command_id": record.id,
                        "reservation_id": command.reservation_id,
                        "evse_id": ref.evse_id,
                        "evco_id": request.identification.evco_id,
                        "partner": ref.partner,
                        "country_code": ref.owner[0],
                        "party_id": ref.owner[1],
                        "location_id": ref.location_id,
                        "evse_uid": ref.evse_uid,
                    },
                )

    async def _ocpi_session(self, held: HubjectSession | None, session_id: str) -> SessionRef | None:
        """The OCPI Session of a Hubject session: the charging flow's tie, else the Session whose
        ``authorization_reference`` is the one the backend was given (the SessionID itself for
        remote starts)."""
        if held is not None and held.ocpi_session:
            cc, pid, object_id = split_key(held.ocpi_session)
            stored = await self.gateway.store.get_object("sessions", cc, pid, object_id)
            if stored is not None and stored.partner is not None:
                return SessionRef(
                    (stored.country_code, stored.party_id), stored.object_id, stored.partner, stored.data
                )
        reference = held.authorization_reference if held is not None else session_id
        return await session_by_authorization_reference(self.gateway, reference)

    # ---- CpoRemoteHandler -------------------------------------------------------------------

    async def _start_at_evse(
        self,
        request: AuthorizeRemoteStart | AuthorizeRemoteReservationStart,
        command_type: v221.CommandType,
        translate: Callable[..., Translation[Any]],
        origin: str,
    ) -> Acknowledgement:
        """The common path of remote start and reservation start: find the EVSE and its backend,
        register the command (unique response_url), translate, remember the Hubject session, send
        within Hubject's deadline and answer from the CommandResponse (oicp-2.3.md §2.2, §8.12)."""
        deadline = self._deadline()
        if request.session_id is None:
            raise OicpDataError("SessionID is missing")
        session_id = normalize_session_id(request.session_id)
        ref, partner, rules = await self._evse(request.evse_id)
        record = await self._register(
            partner,
            command_type,
            ref.owner,
            session_id,
            ref.evse_id,
            request.identification.evco_id,
            ref.location_id,
        )
        try:
            command = translate(
                request,
                location_id=ref.location_id,
                evse_uid=ref.evse_uid,
                response_url=record.response_url,
                rules=rules,
                now=datetime.now(UTC),
            ).value
        except MappingError as error:
            raise OicpDataError(f"{error.path}: {error.reason}") from None
        await self._hold_session(origin, request, command, ref, record)
        answer = await self._send(partner, record, command, deadline)
        return await self._finish(request, record, answer, rules, session_id)

    async def authorize_remote_start(
        self, request: AuthorizeRemoteStart, *, provider_id: str
    ) -> Acknowledgement:
        """AuthorizeRemoteStart → START_SESSION (docs/mapping.md §3.8, oicp-2.3.md §2.2)."""
        return await self._start_at_evse(
            request, v221.CommandType.START_SESSION, remote_start_to_ocpi, "remote_start"
        )

    async def authorize_remote_stop(
        self, request: AuthorizeRemoteStop, *, provider_id: str
    ) -> Acknowledgement:
        """AuthorizeRemoteStop → STOP_SESSION of the Session carrying the SessionID as its
        ``authorization_reference``; unknown or finished → 400."""
        deadline = self._deadline()
        session_id = normalize_session_id(request.session_id)
        held = await get_hubject_session(self.gateway.store, session_id)
        session = await self._ocpi_session(held, session_id)
        if session is None:
            raise OicpSessionInvalid(f"No charging session is known for SessionID {session_id}")
        if session.data.get("status") in (
            v221.SessionStatus.COMPLETED.value,
            v221.SessionStatus.INVALID.value,
        ):
            raise OicpSessionInvalid(f"The charging session of SessionID {session_id} has already ended")
        partner = await self._backend(session.partner, request.evse_id)
        location_id = str(session.data.get("location_id") or "")
        rules = self._rules(partner.name, session.owner, location_id)
        record = await self._register(
            partner,
            v221.CommandType.STOP_SESSION,
            session.owner,
            session_id,
            request.evse_id,
            _evco_id(held),
            location_id,
        )
        command = remote_stop_to_ocpi(
            request, session_id=session.session_id, response_url=record.response_url
        ).value
        answer = await self._send(partner, record, command, deadline)
        return await self._finish(request, record, answer, rules, session_id)

    async def authorize_remote_reservation_start(
        self, request: AuthorizeRemoteReservationStart, *, provider_id: str
    ) -> Acknowledgement:
        """Reservation start → RESERVE_NOW (reservation id = SessionID, expiry from Duration)."""
        return await self._start_at_evse(
            request, v221.CommandType.RESERVE_NOW, reservation_start_to_ocpi, "reservation"
        )

    async def authorize_remote_reservation_stop(
        self, request: AuthorizeRemoteReservationStop, *, provider_id: str
    ) -> Acknowledgement:
        """Reservation stop → CANCEL_RESERVATION of the reservation made for the SessionID; a 2.1.1
        backend has no such command (``commands.ack_by_response`` NOT_SUPPORTED, default 320)."""
        deadline = self._deadline()
        session_id = normalize_session_id(request.session_id)
        found = await self.gateway.store.get_correlation(REMOTE_RESERVATION_KIND, session_id)
        if found is None or not found.data:
            raise OicpSessionInvalid(f"No reservation is known for SessionID {session_id}")
        info = found.data
        partner = await self._backend(str(info["partner"]), request.evse_id)
        owner = (str(info["country_code"]), str(info["party_id"]))
        rules = self._rules(partner.name, owner, str(info["location_id"]))
        if partner.version == "2.1.1":
            outcome = rules.commands.ack_by_response["NOT_SUPPORTED"]
            text = "OCPI 2.1.1 has no CANCEL_RESERVATION: the charge point operator cannot be asked"
            return _with_partner_ids(
                Acknowledgement(
                    result=outcome.result,
                    status_code=StatusCode.of(outcome.code, text),
                    session_id=session_id,
                ),
                request,
            )
        record = await self._register(
            partner,
            v221.CommandType.CANCEL_RESERVATION,
            owner,
            session_id,
            str(info["evse_id"]),
            info.get("evco_id"),
            str(info["location_id"]),
        )
        command = reservation_stop_to_ocpi(
            request, response_url=record.response_url, reservation_id=str(info["reservation_id"])
        ).value
        answer = await self._send(partner, record, command, deadline)
        return await self._finish(request, record, answer, rules, session_id)


# --------------------------------------------------------------------------------------------
# Results and notifications


async def enqueue_error_notification(
    gateway: Gateway, record: CommandRecord, result: v221.CommandResult
) -> bool:
    """Queue the ChargingNotification Error for a failed result of a command Hubject was answered
    ``Result: true`` about (docs/mapping.md §3.8); False when the result is no failure or the
    notification cannot be built. Idempotent per command (outbox key = command id)."""
    context = record.context or {}
    config = gateway.config
    operator_id = config.hubject.operator_id
    session_id, evse_id = context.get("session_id"), context.get("evse_id")
    if not session_id or not evse_id or not operator_id:
        return False
    owner = record.party or ("", "")
    rules = rules_for(
        object_service(gateway).rules,
        operator_id,
        record.partner,
        owner,
        str(context.get("location_id") or ""),
    )
    evco_id = context.get("evco_id")
    try:
        translation = result_to_notification(
            result,
            session_id=str(session_id),
            evse_id=str(evse_id),
            operator_id=operator_id,
            rules=rules,
            identification=Identification.from_remote(str(evco_id)) if evco_id else None,
        )
    except (MappingError, ValidationError) as error:
        log.error("no Error notification for %s %s: %s", record.command.value, record.id, error)
        return False
    notification = translation.value
    if notification is None:
        return False
    try:
        payload = to_jsonable(notification)
    except OicpEgressError as error:
        log.error("no Error notification for %s %s: %s", record.command.value, record.id, error)
        return False
    async with gateway.store.transaction() as tx:
        queued = await tx.enqueue(
            HUBJECT_TARGET,
            NOTIFICATION_KIND,
            {"notification": payload},
            key=record.id,
            order_key="notifications:" + normalize_session_id(str(session_id)),
        )
    delivery = gateway.services.get("delivery")
    if queued is not None:
        log.info(
            "%s %s ended %s after Hubject was told Result true: Error notification queued",
            record.command.value,
            record.id,
            result.result.value,
        )
        if delivery is not None:
            delivery.notify()
    return True


class CommandResults:
    """The :class:`~bridge.ocpi.server.handlers.CommandResultListener` of both directions: results
    of commands sent for Hubject (an Error notification when they failed after ``Result: true``)
    and of relayed peer commands (relayed to the peer); anything else goes to ``previous``."""

    def __init__(self, gateway: Gateway, previous: CommandResultListener | None = None) -> None:
        self.gateway = gateway
        self.previous = previous

    async def command_result(self, record: CommandRecord, result: v221.CommandResult) -> None:
        flow = (record.context or {}).get("flow")
        if flow == relay.FLOW:
            await relay.relay_result(self.gateway, record, result)
        elif flow == FLOW:
            answered = await self.gateway.store.get_correlation(ANSWER_KIND, record.id)
            # Not answered yet: HubjectRemoteHandler._finish looks at the stored result itself.
            if answered is not None and answered.value == "accepted":
                await enqueue_error_notification(self.gateway, record, result)
        elif self.previous is not None:
            await self.previous.command_result(record, result)


def notification_sender(gateway: Gateway) -> Sender:
    """The outbox sender of :data:`NOTIFICATION_KIND`: ``eRoamingChargingNotification`` Error to
    Hubject. ``Result: true`` is delivered; transient codes (:data:`TRANSIENT_CODES`) and transport
    errors are retried; any other refusal (400 unknown SessionID, 018, 022...) is dead-lettered."""

    async def send(message: OutboxMessage) -> Outcome:
        try:
            notification = ChargingNotificationAdapter.validate_python(message.payload["notification"])
        except (KeyError, ValidationError) as error:
            return Outcome.dead(f"not a charging notification: {error}")
        try:
            ack = await oicp_client(gateway).send_charging_notification(notification)
        except OicpEgressError as error:
            return Outcome.dead(str(error))
        except PartnerError as error:
            return outcome_from_error(error)
        if ack.result:
            return Outcome.delivered()
        code = ack.status_code.code
        reason = f"Hubject answered {code}" + (
            f": {ack.status_code.additional_info}" if ack.status_code.additional_info else ""
        )
        return Outcome.retry(reason) if code in TRANSIENT_CODES else Outcome.dead(reason)

    return send


# --------------------------------------------------------------------------------------------
# Installation


def enabled(gateway: Gateway) -> bool:
    """On when a CPO backend partner is configured (an OCPI partner of role CPO)."""
    return any(partner.role == "CPO" for partner in gateway.config.partners)


async def install(gateway: Gateway) -> AbstractAsyncContextManager[None] | None:
    """Register this flow (``bridge.flows.wiring``): the id indexes, the command result listener,
    the peers' command relay (when the gateway has a CPO party, which mounts the commands
    Receiver), the Hubject remote handler (when ``config.acts_as_cpo``) and the outbox senders.
    Handlers registered before are kept as fallbacks. Returns the context manager that closes the
    OICP client this flow made, if any. The configured ``hubject.server_deadlines`` are put in
    ``services["oicp.deadlines"]`` whether the flow is enabled or not (:func:`deadlines_of`)."""
    deadlines_of(gateway)
    if not enabled(gateway):
        return None
    config = gateway.config
    install_indexes(gateway)
    await backfill(gateway)
    previous_listener = gateway.services.get(COMMAND_RESULT_LISTENER)
    gateway.services[COMMAND_RESULT_LISTENER] = CommandResults(
        gateway, previous_listener if isinstance(previous_listener, CommandResultListener) else None
    )
    if config.ocpi.parties_with_role("CPO"):
        gateway.services[COMMAND_HANDLER] = relay.BackendCommandRelay(
            gateway, gateway.services.get(COMMAND_HANDLER)
        )
    delivery = gateway.services.get("delivery")
    if delivery is None:
        log.warning(
            "no outbox delivery in this gateway: command results and notifications wait in the outbox"
        )
    else:
        delivery.register(relay.RESULT_KIND, relay.result_sender(gateway), retry=RESULT_RETRY)
    if not config.acts_as_cpo:
        return None
    gateway.services[SERVICE_CPO_REMOTE] = HubjectRemoteHandler(gateway)
    if delivery is not None:
        delivery.register(NOTIFICATION_KIND, notification_sender(gateway), retry=NOTIFICATION_RETRY)
    return _closing_client(gateway)


@asynccontextmanager
async def _closing_client(gateway: Gateway) -> AsyncIterator[None]:
    existing = gateway.services.get(OICP_CLIENT)
    try:
        yield
    finally:
        client = gateway.services.get(OICP_CLIENT)
        if isinstance(client, OicpClient) and client is not existing:
            gateway.services.pop(OICP_CLIENT, None)
            await client.aclose()


__all__ = [
    "ANSWER_KIND",
    "ANSWER_MARGIN",
    "FLOW",
    "HUBJECT_TARGET",
    "NOTIFICATION_KIND",
    "OICP_CLIENT",
    "REMOTE_RESERVATION_KIND",
    "CommandResults",
    "HubjectRemoteHandler",
    "answer_budget",
    "deadlines_of",
    "enabled",
    "enqueue_error_notification",
    "install",
    "notification_sender",
    "oicp_client",
    "server_deadlines",
]
