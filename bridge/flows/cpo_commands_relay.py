"""OCPI peers' commands relayed to the CPO backends (issue item 10, the commands half).

An OCPI eMSP partner (a peer) sends START_SESSION, STOP_SESSION, RESERVE_NOW, CANCEL_RESERVATION or
UNLOCK_CONNECTOR to the gateway's CPO-role commands Receiver (ocpi.md §4.6). When the Location
(or Session, or reservation) belongs to a CPO backend partner, :class:`BackendCommandRelay`:

1. records a command of its own toward the backend (``register_sent_command``: a new command id
   and a ``response_url`` of the gateway's, ocpi#560), the context naming the peer's command;
2. POSTs the command to the backend once (no retries, ocpi.md §8 point 13) and answers the peer
   with the backend's CommandResponse (its ``timeout`` passed through);
3. when the backend's CommandResult arrives at that ``response_url``, :func:`relay_result` stores
   it on the peer's command and queues it for the peer's own ``response_url``
   (:data:`RESULT_KIND`, keyed by the peer's command id: the result is POSTed at least once and
   may be retried, the command never is). A 2.1.1 peer gets it as a 2.1.1 CommandResponse
   (``command_result_down``, ocpi.md §5).

Decisions:

* Unknown Location → **2003** (OCPI "unknown location"); unknown Session → CommandResponse
  ``UNKNOWN_SESSION``; unknown reservation → ``REJECTED`` with a message. When another flow
  registered a command handler before this one (e.g. OCPI eMSP → Hubject), what is not a backend's
  goes to it instead.
* A peer may only stop Sessions of its own tokens (ocpi.md §4.6: "an eMSP may only use its own
  tokens"): a Session whose ``cdr_token`` belongs to another party is unknown to it.
* ``reservation_id`` is made unique per eMSP before it reaches the charge point (ocpi.md §4.6):
  the backend sees a gateway id (correlation :data:`RESERVATION_KIND`, ``{peer}/{RESERVATION_ID}`` →
  backend id); a ReserveNow repeating a reservation id replaces that reservation (same backend id).
* A backend that cannot be reached, answers late or answers an OCPI error (other than 2003) gives
  the peer ``REJECTED`` (timeout 0, no result will follow) with a message saying why; a backend
  that lacks the command (2.1.1 CANCEL_RESERVATION) or a commands endpoint gives ``NOT_SUPPORTED``.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel

from bridge.delivery import Outcome, Sender, outcome_from_error
from bridge.errors import PartnerError, UnknownLocation
from bridge.flows.cpo_commands_backend import BackendFailure, send_command
from bridge.flows.cpo_commands_index import backend_locations, backend_sessions
from bridge.ocpi.client import clients_of
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.models.common import to_jsonable
from bridge.ocpi.server.commands import register_sent_command, update_command
from mappings.ocpi_versions import command_result_down

if TYPE_CHECKING:
    from bridge.context import Gateway
    from bridge.ocpi.server.handlers import CommandContext, CommandHandler, CommandRecord
    from bridge.ocpi.server.objects import Owner
    from bridge.store.base import OutboxMessage, PartnerRecord

log = logging.getLogger("bridge.flows.cpo_commands")

FLOW: Final = "relay"
"""``CommandRecord.context["flow"]`` of the commands this module sends to a backend."""
RESULT_KIND: Final = "cpo_commands.result_relay"
"""Outbox kind: a backend's CommandResult for a peer's ``response_url`` (target = the peer)."""
RESERVATION_KIND: Final = "cpo_commands.relay_reservation"
"""Correlation ``{peer}/{RESERVATION_ID}`` → the reservation id the backend knows."""


def refusal(result: v221.CommandResponseType, text: str) -> v221.CommandResponse:
    """A CommandResponse after which no CommandResult follows (``timeout`` 0)."""
    return v221.CommandResponse(
        result=result, timeout=0, message=[v221.DisplayText(language="en", text=text[:512])]
    )


def _owned_by(data: dict[str, Any], parties: set[tuple[str, str]]) -> bool:
    token = data.get("cdr_token")
    if not isinstance(token, dict):
        return False
    return (str(token.get("country_code", "")).upper(), str(token.get("party_id", "")).upper()) in parties


class BackendCommandRelay:
    """The :class:`~bridge.ocpi.server.handlers.CommandHandler` of the gateway as CPO for the
    Locations of its CPO backends; everything else goes to ``fallback`` (the handler registered
    before, if any)."""

    def __init__(self, gateway: Gateway, fallback: CommandHandler | None = None) -> None:
        self.gateway = gateway
        self.fallback = fallback

    # ---- lookups ----------------------------------------------------------------------------

    async def _backend(self, name: str) -> PartnerRecord | None:
        partner = await self.gateway.store.get_partner(name)
        return partner if partner is not None and partner.role == "CPO" else None

    async def _location(self, location_id: str) -> tuple[PartnerRecord, Owner] | None:
        for stored in await backend_locations(self.gateway, location_id):
            assert stored.partner is not None
            partner = await self._backend(stored.partner)
            if partner is not None:
                return partner, (stored.country_code, stored.party_id)
        return None

    async def _peer_parties(self, context: CommandContext) -> set[tuple[str, str]]:
        parties = {(context.party[0].upper(), context.party[1].upper())}
        peer = await self.gateway.store.get_partner(context.partner)
        for role in peer.roles if peer is not None else ():
            if role.get("country_code") and role.get("party_id"):
                parties.add((str(role["country_code"]).upper(), str(role["party_id"]).upper()))
        return parties

    # ---- forwarding -------------------------------------------------------------------------

    async def _forward(
        self,
        context: CommandContext,
        partner: PartnerRecord,
        owner: Owner,
        command: BaseModel,
        changes: dict[str, Any] | None = None,
    ) -> v221.CommandResponse:
        store = self.gateway.store
        sent = await register_sent_command(
            self.gateway,
            partner=partner.name,
            version=partner.version or "2.2.1",
            command=context.command,
            party=owner,
            context={
                "flow": FLOW,
                "received": context.command_id,
                "peer": context.partner,
                "peer_version": context.version,
                "peer_response_url": context.response_url,
            },
        )
        forwarded = command.model_copy(update={"response_url": sent.response_url, **(changes or {})})
        await update_command(store, sent.id, request=forwarded)
        await update_command(
            store, context.command_id, context={"forwarded_as": sent.id, "backend": partner.name}
        )
        try:
            answer = await send_command(
                self.gateway,
                partner,
                context.command,
                forwarded,
                record=sent,
                within=self.gateway.config.ocpi.timeouts.command,
            )
        except BackendFailure as failure:
            log.warning("%s of %s not forwarded: %s", context.command.value, context.partner, failure.detail)
            if failure.kind == "refused" and failure.code == UnknownLocation.status_code:
                raise UnknownLocation(
                    f"Unknown location at the charge point operator ({partner.name})"
                ) from None
            if failure.kind in ("not_supported", "no_endpoint"):
                return refusal(
                    v221.CommandResponseType.NOT_SUPPORTED,
                    f"The charge point operator's system does not support {context.command.value}",
                )
            return refusal(
                v221.CommandResponseType.REJECTED,
                f"The charge point operator's system did not accept the command ({failure.kind})",
            )
        return answer.response

    async def _at_location(
        self,
        command: v221.StartSession | v221.ReserveNow | v221.UnlockConnector,
        context: CommandContext,
        changes: dict[str, Any] | None = None,
    ) -> v221.CommandResponse | None:
        found = await self._location(command.location_id)
        if found is None:
            return None
        return await self._forward(context, found[0], found[1], command, changes)

    # ---- CommandHandler ---------------------------------------------------------------------

    async def start_session(
        self, command: v221.StartSession, context: CommandContext
    ) -> v221.CommandResponse:
        """START_SESSION at a backend's Location: forwarded with the peer's token and
        ``authorization_reference`` (the CPO SHALL NOT re-check the token, ocpi.md §4.6)."""
        answer = await self._at_location(command, context)
        if answer is not None:
            return answer
        if self.fallback is not None:
            return await self.fallback.start_session(command, context)
        raise UnknownLocation(f"Unknown location {command.location_id}")

    async def stop_session(self, command: v221.StopSession, context: CommandContext) -> v221.CommandResponse:
        """STOP_SESSION of a Session a backend pushed for one of the peer's tokens."""
        parties = await self._peer_parties(context)
        for session in await backend_sessions(self.gateway, command.session_id):
            partner = await self._backend(session.partner)
            if partner is not None and _owned_by(session.data, parties):
                return await self._forward(context, partner, session.owner, command)
        if self.fallback is not None:
            return await self.fallback.stop_session(command, context)
        return refusal(v221.CommandResponseType.UNKNOWN_SESSION, f"Unknown session {command.session_id}")

    async def reserve_now(self, command: v221.ReserveNow, context: CommandContext) -> v221.CommandResponse:
        """RESERVE_NOW at a backend's Location, with a reservation id unique per eMSP."""
        found = await self._location(command.location_id)
        if found is None:
            if self.fallback is not None:
                return await self.fallback.reserve_now(command, context)
            raise UnknownLocation(f"Unknown location {command.location_id}")
        key = f"{context.partner}/{command.reservation_id.upper()}"
        store = self.gateway.store
        known = await store.get_correlation(RESERVATION_KIND, key)
        backend_id = known.value if known is not None else uuid.uuid4().hex
        partner, owner = found
        await store.put_correlation(
            RESERVATION_KIND,
            key,
            backend_id,
            {
                "backend": partner.name,
                "country_code": owner[0],
                "party_id": owner[1],
                "reservation_id": command.reservation_id,
            },
        )
        return await self._forward(context, partner, owner, command, {"reservation_id": backend_id})

    async def cancel_reservation(
        self, command: v221.CancelReservation, context: CommandContext
    ) -> v221.CommandResponse:
        """CANCEL_RESERVATION of a reservation this relay made (2.1.1 backends: NOT_SUPPORTED)."""
        known = await self.gateway.store.get_correlation(
            RESERVATION_KIND, f"{context.partner}/{command.reservation_id.upper()}"
        )
        partner = (
            await self._backend(str(known.data["backend"])) if known is not None and known.data else None
        )
        if known is None or known.data is None or partner is None:
            if self.fallback is not None:
                return await self.fallback.cancel_reservation(command, context)
            return refusal(v221.CommandResponseType.REJECTED, f"Unknown reservation {command.reservation_id}")
        owner = (str(known.data["country_code"]), str(known.data["party_id"]))
        return await self._forward(context, partner, owner, command, {"reservation_id": known.value})

    async def unlock_connector(
        self, command: v221.UnlockConnector, context: CommandContext
    ) -> v221.CommandResponse:
        """UNLOCK_CONNECTOR at a backend's Location (helpdesk use, ocpi.md §4.6)."""
        answer = await self._at_location(command, context)
        if answer is not None:
            return answer
        if self.fallback is not None:
            return await self.fallback.unlock_connector(command, context)
        raise UnknownLocation(f"Unknown location {command.location_id}")


# --------------------------------------------------------------------------------------------
# Results


async def relay_result(gateway: Gateway, record: CommandRecord, result: v221.CommandResult) -> None:
    """Queue the backend's CommandResult for the peer's ``response_url`` and store it on the peer's
    command (the queue first: what matters is that the peer gets it)."""
    context = record.context or {}
    received = str(context["received"])
    async with gateway.store.transaction() as tx:
        queued = await tx.enqueue(
            str(context["peer"]),
            RESULT_KIND,
            {
                "response_url": str(context["peer_response_url"]),
                "version": str(context.get("peer_version") or "2.2.1"),
                "command": record.command.value,
                "result": to_jsonable(result),
            },
            key=received,
        )
    await update_command(gateway.store, received, result=result)
    delivery = gateway.services.get("delivery")
    if queued is not None and delivery is not None:
        delivery.notify()
    log.info(
        "%s result %s of %s queued for %s",
        record.command.value,
        result.result.value,
        received,
        context["peer"],
    )


def result_sender(gateway: Gateway) -> Sender:
    """The outbox sender of :data:`RESULT_KIND`: POST the result to the peer's ``response_url``
    with the peer's credentials (2.2.1 CommandResult, or 2.1.1 CommandResponse)."""

    async def send(message: OutboxMessage) -> Outcome:
        partner = await gateway.store.get_partner(message.target)
        if partner is None:
            return Outcome.dead(f"unknown partner {message.target}")
        payload = message.payload
        result = v221.CommandResult.model_validate(payload["result"])
        body: BaseModel = command_result_down(result).value if payload.get("version") == "2.1.1" else result
        try:
            client = clients_of(gateway).for_partner(partner)
            await client.request("POST", str(payload["response_url"]), body=body, module="commands")
        except PartnerError as error:
            return outcome_from_error(error)
        return Outcome.delivered()

    return send


__all__ = [
    "FLOW",
    "RESERVATION_KIND",
    "RESULT_KIND",
    "BackendCommandRelay",
    "refusal",
    "relay_result",
    "result_sender",
]
