"""CPO side, charging: authorizations, Sessions and CDRs of an OCPI CPO backend, to Hubject and to
OCPI eMSP peers (issue items 4, 5, 6 and the sessions/CDRs/authorization half of 10).

A CPO backend (e.g. an OCPI CPO such as Be Charge) is a CPO partner of the gateway; the gateway is
its eMSP. What it sends becomes:

* ``POST emsp/tokens/{uid}/authorize`` → :class:`~bridge.flows.cpo_charging_auth.CpoAuthorizationHandler`
  (Hubject AuthorizeStart, the issuing eMSP peer, or the stored tokens).
* Session ``PUT``/``PATCH`` (an object-service listener, **inside the write transaction**, so the
  outgoing messages are committed with the Session: architecture.md "Data flow") →
  - for a Session tied to a Hubject SessionID (its ``authorization_reference``): OICP
    ChargingNotifications (``mappings.sessions.session_to_notification`` with the previous stored
    version, oicp-2.3.md §4.8): Start on the first ACTIVE (also sent before an End if the Session
    was never seen ACTIVE), Progress at most every ``sessions.progress_interval_minutes`` (≥ 5,
    §1.5) counted from the Start, End on COMPLETED, Error on INVALID; each once per SessionID,
    FIFO per SessionID. The clock is the Session's ``last_updated`` (the time the CPO observed).
    Timestamps at the Location's time zone (§8 point 14).
  - for a token of an OCPI eMSP peer: a full-object ``PUT`` of the Session to the peer's Sessions
    Receiver (idempotent, retried), in order per Session, in the peer's version.
  - otherwise (Hubject session unknown): nothing is sent; logged once per Session.
* CDR ``POST`` → in the same transaction as the CDR, before the POST is acknowledged:
  - Hubject: one outbox message keyed by the SessionID (oicp-2.3.md §4.7: one CDR per SessionID),
    translated when sent (``mappings.cdrs.cdr_to_oicp``, time zone from the stored Location),
    retried until Hubject answers ``Result: true`` / 000, dead-lettered on 017/018/022 and 400
    (session invalid: retrying cannot help). A CDR whose SessionID is not known (yet) is queued
    anyway and **held** with the reason (never dropped); it is released automatically as soon as
    the correlation appears: an AuthorizeStart/remote start for its authorization_reference
    (:func:`~bridge.flows.cpo_charging_state.register_hubject_session`) or a Session naming it
    (the tie OCPI Session → SessionID), plus a periodic sweep of held CDRs as a safety net.
  - an OCPI eMSP peer (token issued by it): ``POST`` to its CDRs Receiver (idempotent by id,
    retried until accepted).

Decisions (see docs/cpo-charging.md):

* A second CDR for a SessionID that already has one is dead-lettered with the reason (Hubject
  would refuse it) rather than dropped: operators see it.
* Hubject answers a repeated CDR with a refusal (the simulator: 022). When an earlier attempt of
  the same CDR may have reached Hubject (its answer was lost: timeout or 5xx), that refusal is
  taken as delivered (logged), not dead-lettered.
* No time zone (Location unknown) → UTC offsets, logged; an EVSE without EvseID → no notification.

Only Sessions and CDRs pushed by CPO partners are handled here (``change.partner`` is a CPO
partner); objects the gateway writes itself (the EMP-side flows) are not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, Final

import httpx
from cachetools import LRUCache

from bridge.delivery import Outcome, RetryPolicy, delivery_of, outcome_from_error
from bridge.errors import MappingError, PartnerError
from bridge.flows.cpo_charging_auth import CpoAuthorizationHandler
from bridge.flows.cpo_charging_state import (
    ACTIVE_EVSE,
    CDR_ATTEMPT_STATE,
    CDR_CLAIM,
    HubjectSession,
    NotificationState,
    bind_ocpi_session,
    emsp_peer_for,
    evse_id_of,
    evse_key,
    get_hubject_session,
    get_notification_state,
    held_keys,
    hubject_session_of,
    index_held,
    is_cpo_partner,
    location_of,
    object_key,
    resolve_cdr_session,
    set_notification_state,
)
from bridge.ocpi.client import PartyRef, clients_of
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.server.cdrs import CDRS
from bridge.ocpi.server.handlers import AUTHORIZATION_HANDLER, AuthorizationHandler, StoredTokensAuthorizer
from bridge.ocpi.server.objects import ObjectChange, object_service
from bridge.ocpi.server.sessions import SESSIONS
from bridge.ocpi.server.sessions import install as install_sessions
from bridge.ocpi.server.tokens import ensure_listener, own_emsp_parties
from bridge.oicp.client import OicpClient, OicpRateLimited, OicpTransientError
from bridge.oicp.models import (
    Acknowledgement,
    ChargingNotificationAdapter,
    OicpEgressError,
    normalize_session_id,
    to_jsonable,
)
from mappings.cdrs import cdr_to_oicp
from mappings.sessions import session_to_notification

if TYPE_CHECKING:
    from bridge.context import Gateway
    from bridge.delivery import Delivery
    from bridge.store.base import DataApi, OutboxMessage, PartnerRecord
    from mappings.rules import MappingRules
    from mappings.sessions import AnyNotification

log = logging.getLogger("bridge.flows.cpo_charging")

HUBJECT_TARGET: Final = "hubject"
CDR_KIND: Final = "hubject.cdr"
NOTIFICATION_KIND: Final = "hubject.notification"
OCPI_SESSION_KIND: Final = "ocpi.session"
OCPI_CDR_KIND: Final = "ocpi.cdr"
"""Outbox target and kinds of this flow (OCPI messages go to the partner's name as target)."""

OICP_CLIENT_SERVICE: Final = "oicp.client"
SERVICE_NAME: Final = "cpo_charging"
"""``gateway.services`` keys: the shared OICP client, and this flow (:class:`CpoChargingFlow`)."""

CDR_DEAD_CODES: Final = frozenset({"017", "018", "022", "400"})
"""OICP codes after which the same CDR cannot succeed (oicp-2.3.md §3.3): unauthorized, EvseID not
of the operator, data error, session invalid."""
NOTIFICATION_DEAD_CODES: Final = frozenset({"017", "018", "022", "400"})

CDR_RETRY: Final = RetryPolicy(base=1.0, cap=60.0, max_attempts=None)
"""CDRs are billable: retried until accepted (at most a minute apart)."""
NOTIFICATION_RETRY: Final = RetryPolicy(base=2.0, cap=60.0, max_attempts=5)
"""Notifications are optional and lose their value quickly: a few tries, then dead-lettered."""
OCPI_SESSION_RETRY: Final = RetryPolicy(base=2.0, cap=300.0, max_attempts=30)
OCPI_CDR_RETRY: Final = RetryPolicy(base=2.0, cap=600.0, max_attempts=None)

SWEEP_INTERVAL: Final = 60.0
"""Seconds between two sweeps of held CDRs (the safety net behind the immediate release)."""


def _later_wake(delivery: Delivery) -> None:
    """Wake the delivery now and again shortly: listeners run before their transaction commits,
    and a claim that runs before the commit (PostgreSQL) does not see the new messages."""
    delivery.notify()
    with contextlib.suppress(RuntimeError):
        asyncio.get_running_loop().call_later(0.2, delivery.notify)


class CpoChargingFlow:
    """The flow's listener, outbox senders and held-CDR sweeper (module docstring).

    ``oicp`` is None when the gateway is no OICP CPO (then only the OCPI peer half runs).
    """

    def __init__(
        self, gateway: Gateway, *, oicp: OicpClient | None, delivery: Delivery, peers: bool = True
    ) -> None:
        self.gateway = gateway
        self.oicp = oicp
        self.delivery = delivery
        self.peers = peers
        self._unroutable: LRUCache[str, bool] = LRUCache(maxsize=10_000)

    @property
    def hubject_enabled(self) -> bool:
        return self.oicp is not None

    def wake(self) -> None:
        _later_wake(self.delivery)

    def rules(self, partner: str | None, owner: tuple[str, str], location_id: str | None) -> MappingRules:
        return object_service(self.gateway).rules.resolve(
            operator_id=self.gateway.config.hubject.operator_id,
            partner=partner,
            location_id=location_id,
            country_code=owner[0],
            party_id=owner[1],
        )

    # ---- the listener (inside the write transaction) ---------------------------------------------

    async def on_change(self, data: DataApi, change: ObjectChange) -> None:
        """Object-service listener: Sessions and CDRs from CPO partners → outbox (module docstring)."""
        if change.kind.name not in (SESSIONS.name, CDRS.name) or change.after is None:
            return
        if not await is_cpo_partner(data, change.partner):
            return
        if change.kind.name == SESSIONS.name:
            await self._on_session(data, change)
        elif change.before is None:
            await self._on_cdr(data, change)

    async def _on_session(self, data: DataApi, change: ObjectChange) -> None:
        assert change.after is not None
        current = v221.Session.model_validate(change.after)
        previous = v221.Session.model_validate(change.before) if change.before is not None else None
        owner = change.owner
        if self.hubject_enabled:
            running = await hubject_session_of(data, owner, current.id, current.authorization_reference)
            if running is not None:
                running = await bind_ocpi_session(data, running, owner, current.id)
                await self._notify(data, running, previous, current, owner, change.partner)
                self.wake()
                return
        token_owner = (current.cdr_token.country_code, current.cdr_token.party_id)
        peer = await self._peer(data, token_owner)
        if peer is not None:
            await data.enqueue(
                peer.name,
                OCPI_SESSION_KIND,
                {"country_code": owner[0], "party_id": owner[1], "id": current.id},
                order_key="session:" + object_key(owner, current.id),
            )
            self.wake()
            return
        key = object_key(owner, current.id)
        if self.hubject_enabled and key not in self._unroutable:
            self._unroutable[key] = True
            log.warning(
                "Session %s has no known Hubject SessionID (authorization_reference %r): no charging "
                "notifications are sent for it",
                key,
                current.authorization_reference,
            )

    async def _notify(
        self,
        data: DataApi,
        running: HubjectSession,
        previous: v221.Session | None,
        current: v221.Session,
        owner: tuple[str, str],
        partner: str | None,
    ) -> None:
        """Queue the ChargingNotifications this Session change calls for (oicp-2.3.md §4.8)."""
        sid = running.session_id
        state = await get_notification_state(data, sid)
        location = await location_of(data, owner, current.location_id)
        evse_id = evse_id_of(location, current.evse_uid) or running.evse_id
        if evse_id is None:
            self._once(
                f"evse:{object_key(owner, current.id)}",
                "Session %s: EVSE %s has no EvseID; no notifications",
                object_key(owner, current.id),
                current.evse_uid,
            )
            return
        time_zone = location.time_zone if location is not None else "UTC"
        if location is None:
            self._once(
                f"tz:{object_key(owner, current.id)}",
                "Session %s: Location %s unknown; notification times in UTC",
                object_key(owner, current.id),
                current.location_id,
            )
        rules = self.rules(partner, owner, current.location_id)
        operator_id = self.gateway.config.hubject.operator_id
        assert operator_id is not None
        status = current.status

        def translate(before: v221.Session | None, now_session: v221.Session) -> AnyNotification | None:
            try:
                return session_to_notification(
                    before,
                    now_session,
                    session_id=sid,
                    evse_id=evse_id,
                    operator_id=operator_id,
                    time_zone=time_zone,
                    last_progress_at=state.last_progress(),
                    now=current.last_updated,
                    rules=rules,
                ).value
            except MappingError as error:
                log.warning("Session %s: no notification (%s)", object_key(owner, current.id), error)
                return None

        started = state.started_at is not None
        if not started and status in (v221.SessionStatus.ACTIVE, v221.SessionStatus.COMPLETED):
            start = translate(None, current.model_copy(update={"status": v221.SessionStatus.ACTIVE}))
            if start is not None and await self._queue(data, sid, "start", start):
                state = NotificationState(started_at=current.last_updated.isoformat())
                await data.put_correlation(
                    ACTIVE_EVSE, evse_key(evse_id), sid, {"session": object_key(owner, current.id)}
                )
            started = True
            if status is v221.SessionStatus.ACTIVE:
                await set_notification_state(data, sid, state)
                return
        notification = translate(previous, current) if not (state.ended or state.error) else None
        kind = None if notification is None else notification.type.value.lower()
        if kind == "start" or (kind == "progress" and not started):
            kind = None
        if kind == "progress":
            assert notification is not None
            if await self._queue(data, sid, f"progress:{current.last_updated.isoformat()}", notification):
                state = NotificationState(
                    started_at=state.started_at, last_progress_at=current.last_updated.isoformat()
                )
        elif kind in ("end", "error"):
            assert notification is not None
            await self._queue(data, sid, kind, notification)
            state = NotificationState(
                started_at=state.started_at,
                last_progress_at=state.last_progress_at,
                ended=state.ended or kind == "end",
                error=state.error or kind == "error",
            )
            active = await data.get_correlation(ACTIVE_EVSE, evse_key(evse_id))
            if active is not None and normalize_session_id(active.value) == normalize_session_id(sid):
                await data.delete_correlation(ACTIVE_EVSE, evse_key(evse_id))
        await set_notification_state(data, sid, state)

    async def _queue(self, data: DataApi, sid: str, name: str, notification: AnyNotification) -> bool:
        """One notification into the outbox, FIFO per SessionID; False when it cannot be sent."""
        try:
            payload = to_jsonable(notification, strict=True)
        except OicpEgressError as error:
            log.warning("ChargingNotification %s for session %s cannot be sent: %s", name, sid, error)
            return False
        await data.enqueue(
            HUBJECT_TARGET,
            NOTIFICATION_KIND,
            {"notification": payload},
            key=f"{normalize_session_id(sid)}:{name}",
            order_key="notifications:" + normalize_session_id(sid),
        )
        return True

    async def _on_cdr(self, data: DataApi, change: ObjectChange) -> None:
        assert change.after is not None
        cdr = v221.CDR.model_validate(change.after)
        owner = change.owner
        reference = {"country_code": owner[0], "party_id": owner[1], "id": change.object_id}
        name = object_key(owner, change.object_id)
        running = None
        if self.hubject_enabled:
            running, _ = await resolve_cdr_session(data, owner, cdr)
        if running is not None:
            sid = normalize_session_id(running.session_id)
            queued = await data.enqueue(
                HUBJECT_TARGET, CDR_KIND, {"cdr": reference, "session_id": running.session_id}, key=sid
            )
            if queued is None:  # a CDR for this SessionID was queued before: its sender dead-letters this one
                await data.enqueue(
                    HUBJECT_TARGET,
                    CDR_KIND,
                    {"cdr": reference, "session_id": running.session_id},
                    key="cdr:" + name,
                )
            self.wake()
            return
        token_owner = (cdr.cdr_token.country_code, cdr.cdr_token.party_id)
        peer = await self._peer(data, token_owner)
        if peer is not None:
            await data.enqueue(peer.name, OCPI_CDR_KIND, reference, key=name)
            self.wake()
            return
        if not self.hubject_enabled:
            log.info("CDR %s: its token is neither Hubject's nor an eMSP peer's; not forwarded", name)
            return
        message_id = await data.enqueue(
            HUBJECT_TARGET, CDR_KIND, {"cdr": reference, "session_id": None}, key="cdr:" + name
        )
        if message_id is not None:
            await index_held(data, held_keys(owner, cdr), message_id)
        log.info("CDR %s has no known Hubject SessionID yet: queued and held until it is known", name)
        self.wake()

    async def _peer(self, data: DataApi, token_owner: tuple[str, str]) -> PartnerRecord | None:
        """The eMSP partner that issued a token (None without eMSP partners configured)."""
        if not self.peers:
            return None
        return await emsp_peer_for(data, token_owner, own=own_emsp_parties(self.gateway.config))

    def _once(self, key: str, message: str, *args: Any) -> None:
        if key not in self._unroutable:
            self._unroutable[key] = True
            log.warning(message, *args)

    # ---- senders --------------------------------------------------------------------------------

    async def send_cdr(self, message: OutboxMessage) -> Outcome:
        """Sender of ``hubject.cdr``: resolve the SessionID (else hold), claim it (one CDR per
        SessionID), translate and send; classify Hubject's answer (module docstring)."""
        assert self.oicp is not None
        store = self.gateway.store
        ref = message.payload["cdr"]
        owner = (str(ref["country_code"]), str(ref["party_id"]))
        name = object_key(owner, str(ref["id"]))
        async with store.transaction() as tx:
            stored = await tx.get_object(CDRS.name, owner[0], owner[1], str(ref["id"]))
            if stored is None:
                return Outcome.dead(f"CDR {name} is no longer in the store")
            cdr = v221.CDR.model_validate(stored.data)
            given = message.payload.get("session_id")
            running = await get_hubject_session(tx, given) if isinstance(given, str) else None
            if running is None:
                running, reason = await resolve_cdr_session(tx, owner, cdr)
                if running is None:
                    return Outcome.hold(reason)
            sid = normalize_session_id(running.session_id)
            claim = await tx.get_correlation(CDR_CLAIM, sid)
            if claim is not None and claim.value != name:
                return Outcome.dead(
                    f"Hubject accepts one CDR per SessionID: CDR {claim.value} is the one for {sid}"
                )
            if claim is None:
                await tx.put_correlation(CDR_CLAIM, sid, name)
            location = await location_of(tx, owner, cdr.cdr_location.id)
            attempt = await tx.get_state(CDR_ATTEMPT_STATE + sid) or {}
        if location is None:
            log.warning("CDR %s: Location %s unknown; times sent in UTC", name, cdr.cdr_location.id)
        rules = self.rules(stored.partner, owner, cdr.cdr_location.id)
        outcome = await self._send_cdr(
            cdr, running.session_id, name, location, rules, bool(attempt.get("maybe_sent"))
        )
        if outcome.action == "dead":
            # This CDR will not be Hubject's: a corrected CDR (a new id) may take the SessionID.
            async with store.transaction() as tx:
                claim = await tx.get_correlation(CDR_CLAIM, sid)
                if claim is not None and claim.value == name:
                    await tx.delete_correlation(CDR_CLAIM, sid)
        return outcome

    async def _send_cdr(
        self,
        cdr: v221.CDR,
        session_id: str,
        name: str,
        location: v221.Location | None,
        rules: MappingRules,
        maybe_sent: bool,
    ) -> Outcome:
        assert self.oicp is not None
        sid = normalize_session_id(session_id)
        try:
            record = cdr_to_oicp(
                cdr,
                session_id=session_id,
                time_zone=location.time_zone if location is not None else "UTC",
                rules=rules,
            ).value
            answer = await self.oicp.send_charge_detail_record(record, retry=False)
        except (MappingError, OicpEgressError) as error:
            return Outcome.dead(f"CDR {name} cannot be expressed in OICP: {error}")
        except PartnerError as error:
            if _may_have_reached(error):
                await self.gateway.store.set_state(CDR_ATTEMPT_STATE + sid, {"maybe_sent": True})
            return outcome_from_error(error, dead_codes=CDR_DEAD_CODES)
        outcome = _classify(answer, CDR_DEAD_CODES, f"CDR {name} (SessionID {sid})")
        if outcome.action == "dead" and answer.status_code.code == "022" and maybe_sent:
            log.warning(
                "CDR %s: Hubject refused it (022) after an earlier attempt whose answer was lost; it holds "
                "one CDR per SessionID, so this one is taken as delivered",
                name,
            )
            return Outcome.delivered()
        if outcome.action == "delivered":
            log.info("CDR %s delivered to Hubject (SessionID %s)", name, sid)
        return outcome

    async def send_notification(self, message: OutboxMessage) -> Outcome:
        """Sender of ``hubject.notification`` (ChargingNotifications v1.1, oicp-2.3.md §2.1)."""
        assert self.oicp is not None
        notification = ChargingNotificationAdapter.validate_python(message.payload["notification"])
        try:
            answer = await self.oicp.send_charging_notification(notification)
        except OicpEgressError as error:
            return Outcome.dead(f"the notification cannot be sent: {error}")
        except PartnerError as error:
            return outcome_from_error(error, dead_codes=NOTIFICATION_DEAD_CODES)
        return _classify(answer, NOTIFICATION_DEAD_CODES, f"{notification.type.value} notification")

    async def send_ocpi_session(self, message: OutboxMessage) -> Outcome:
        """Sender of ``ocpi.session``: the Session as stored now, full-object PUT to the peer's
        Sessions Receiver in its version (OCPI 2.2.1 mod_sessions; idempotent, so retried)."""
        return await self._send_ocpi(message, "sessions")

    async def send_ocpi_cdr(self, message: OutboxMessage) -> Outcome:
        """Sender of ``ocpi.cdr``: POST to the peer's CDRs Receiver (idempotent by CDR id)."""
        return await self._send_ocpi(message, "cdrs")

    async def _send_ocpi(self, message: OutboxMessage, module: str) -> Outcome:
        store = self.gateway.store
        partner = await store.get_partner(message.target)
        if partner is None:
            return Outcome.dead(f"partner {message.target} is no longer in the store")
        if partner.status != "registered" or partner.token_out is None:
            return Outcome.retry(f"partner {message.target} is not registered (yet)")
        ref = message.payload
        kind = SESSIONS if module == "sessions" else CDRS
        stored = await store.get_object(
            kind.name, str(ref["country_code"]), str(ref["party_id"]), str(ref["id"])
        )
        name = object_key((str(ref["country_code"]), str(ref["party_id"])), str(ref["id"]))
        if stored is None:
            return Outcome.dead(f"{kind.label} {name} is no longer in the store")
        version = partner.version or "2.2.1"
        body = await object_service(self.gateway).serialize(kind, stored, version, partner=partner.name)
        if body is None:
            return Outcome.dead(f"{kind.label} {name} cannot be expressed in OCPI {version}")
        token = stored.data.get("cdr_token") or {}
        to_party = None
        if token.get("country_code") and token.get("party_id"):
            to_party = PartyRef(str(token["country_code"]), str(token["party_id"]))
        try:
            client = clients_of(self.gateway).for_partner(partner, to_party=to_party)
            if module == "sessions":
                url = client.object_url(
                    "sessions", stored.country_code, stored.party_id, stored.object_id, role="RECEIVER"
                )
                await client.request("PUT", url, body=body, module="sessions")
            else:
                await client.request("POST", client.endpoint("cdrs", "RECEIVER"), body=body, module="cdrs")
        except PartnerError as error:
            return outcome_from_error(error)
        log.info("%s %s delivered to eMSP %s", kind.label, name, partner.name)
        return Outcome.delivered()

    # ---- held CDRs -----------------------------------------------------------------------------

    async def sweep_held(self) -> int:
        """Release every held Hubject CDR whose SessionID is known by now; return how many.

        The immediate release (when the correlation is stored) covers the usual case; this covers a
        correlation stored while the CDR's first attempt was running."""
        store = self.gateway.store
        held: list[OutboxMessage] = []
        offset = 0
        while True:
            page = await store.list_outbox("held", HUBJECT_TARGET, limit=100, offset=offset)
            held.extend(m for m in page if m.kind == CDR_KIND)
            if len(page) < 100:
                break
            offset += len(page)
        released = 0
        for message in held:
            ref = message.payload["cdr"]
            owner = (str(ref["country_code"]), str(ref["party_id"]))
            async with store.transaction() as tx:
                stored = await tx.get_object(CDRS.name, owner[0], owner[1], str(ref["id"]))
                if stored is None:
                    continue
                running, _ = await resolve_cdr_session(tx, owner, v221.CDR.model_validate(stored.data))
                if running is not None and await tx.release(message.id):
                    released += 1
        if released:
            log.info("%d held CDR(s) released: their SessionIDs are known now", released)
            self.wake()
        return released

    @asynccontextmanager
    async def running(self, owned_client: OicpClient | None) -> AsyncIterator[None]:
        """The background part: the held-CDR sweeper; closes the OICP client it created."""
        stop = asyncio.Event()
        task = asyncio.create_task(self._sweeper(stop), name="cpo_charging held-CDR sweeper")
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(task, return_exceptions=True)
            self.gateway.services.pop(SERVICE_NAME, None)
            if owned_client is not None:
                self.gateway.services.pop(OICP_CLIENT_SERVICE, None)
                await owned_client.aclose()

    async def _sweeper(self, stop: asyncio.Event) -> None:
        if not self.hubject_enabled:
            return
        while not stop.is_set():
            try:
                await self.sweep_held()
            except Exception:
                log.exception("sweeping held CDRs failed; trying again later")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(SWEEP_INTERVAL):
                    await stop.wait()


def _classify(answer: Acknowledgement, dead_codes: frozenset[str], what: str) -> Outcome:
    """An OICP Acknowledgement as an outbox Outcome: ``Result: true`` delivered; a code after
    which the same request cannot succeed dead; anything else retried (oicp-2.3.md §8 point 3)."""
    code = answer.status_code.code
    text = " ".join(
        part for part in (code, answer.status_code.description, answer.status_code.additional_info) if part
    )
    if answer.result:
        return Outcome.delivered()
    if code in dead_codes:
        return Outcome.dead(f"Hubject refused the {what}: {text}")
    return Outcome.retry(f"Hubject did not accept the {what}: {text}")


def _may_have_reached(error: PartnerError) -> bool:
    """Whether a failed call may still have been processed by Hubject: a timeout or a 408/5xx
    answer may have; a refused connection and a 429 (refused before processing) have not."""
    if isinstance(error, OicpRateLimited) or not isinstance(error, OicpTransientError):
        return False
    return not (error.http_status is None and isinstance(error.__cause__, httpx.ConnectError))


async def install(gateway: Gateway) -> AbstractAsyncContextManager[None] | None:
    """Install the flow when the gateway is an OICP CPO (``config.acts_as_cpo``) or has OCPI eMSP
    partners: the authorization handler, the Session/CDR listener, the outbox senders
    (``hubject.cdr`` and ``hubject.notification`` as an OICP CPO, ``ocpi.session`` and ``ocpi.cdr``
    with eMSP partners) and the held-CDR sweeper. Needs the outbox delivery installed first
    (``delivery_of``)."""
    config = gateway.config
    hubject = config.acts_as_cpo
    peers = any(partner.role == "EMSP" for partner in config.partners)
    if not hubject and not peers:
        return None
    delivery = delivery_of(gateway)
    owned: OicpClient | None = None
    oicp: OicpClient | None = None
    if hubject:
        shared = gateway.services.get(OICP_CLIENT_SERVICE)
        if isinstance(shared, OicpClient):
            oicp = shared
        else:
            oicp = owned = OicpClient.from_config(config.hubject)
            gateway.services[OICP_CLIENT_SERVICE] = oicp
    flow = CpoChargingFlow(gateway, oicp=oicp, delivery=delivery, peers=peers)
    gateway.services[SERVICE_NAME] = flow
    install_sessions(gateway)
    ensure_listener(gateway, "cpo_charging", flow.on_change)
    if hubject:
        delivery.register(CDR_KIND, flow.send_cdr, retry=CDR_RETRY)
        delivery.register(NOTIFICATION_KIND, flow.send_notification, retry=NOTIFICATION_RETRY)
    if peers:
        delivery.register(OCPI_SESSION_KIND, flow.send_ocpi_session, retry=OCPI_SESSION_RETRY)
        delivery.register(OCPI_CDR_KIND, flow.send_ocpi_cdr, retry=OCPI_CDR_RETRY)
    existing = gateway.services.get(AUTHORIZATION_HANDLER)
    fallback: AuthorizationHandler = (
        existing if isinstance(existing, AuthorizationHandler) else StoredTokensAuthorizer(gateway)
    )
    # The configuration rejects an explicit cpo.authorization_deadline above the client timeout;
    # the 10 s default is bounded here when hubject.timeouts.authorize is shorter.
    deadline = min(config.cpo.authorization_deadline, config.hubject.timeouts.authorize)
    gateway.services[AUTHORIZATION_HANDLER] = CpoAuthorizationHandler(
        gateway, hubject=oicp, fallback=fallback, deadline=deadline, on_released=flow.wake
    )
    log.info(
        "CPO charging flow installed (Hubject %s, OCPI eMSP peers %s)",
        "on" if hubject else "off",
        "on" if peers else "off",
    )
    return flow.running(owned)


__all__ = [
    "CDR_DEAD_CODES",
    "CDR_KIND",
    "HUBJECT_TARGET",
    "NOTIFICATION_KIND",
    "OCPI_CDR_KIND",
    "OCPI_SESSION_KIND",
    "OICP_CLIENT_SERVICE",
    "SERVICE_NAME",
    "CpoChargingFlow",
    "install",
]
