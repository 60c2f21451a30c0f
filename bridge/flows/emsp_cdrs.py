"""Hubject's CDRs become the eMSP's priced OCPI CDRs (issue 6 item 6, CDR half; docs/emsp-charging.md).

* :class:`EmspCdrHandler` (``services["oicp.emp_cdr"]``): a CDR Hubject forwards
  (oicp-2.3.md §2.4) is written to the outbox (kind ``emsp.cdr``, keyed by its SessionID) and
  remembered (correlation ``emsp.cdr_received``) in one transaction; only then is Hubject answered
  ``Result: true`` (a failure answers ``Result: false`` and Hubject keeps the CDR for
  GetChargeDetailRecords). A CDR of a SessionID already received is acknowledged again and not
  queued twice (Hubject accepts one CDR per SessionID, §4.7).
* :func:`poll_missed_cdrs` (every ``EmspSettings.cdr_poll_interval``): GetChargeDetailRecords with
  ``CDRForwarded: false``, paged, from the end of the previous poll minus an overlap; every CDR goes
  the same way, deduplicated by SessionID — the safety net for CDRs Hubject could not forward while
  the gateway was down (§8 point 15: Hubject still answered the CPO ``Result: true``).
* The sender (:func:`cdr_sender`) prices and translates when it sends, so a CDR that could not be
  priced yet is priced once its tariff exists: ``mappings.cdrs.cdr_to_ocpi`` with the Location of
  the EvseID and the first Tariff found for, in order, the CDR's PartnerProductID, the EVSE's
  products (PullEVSEPricing), the connectors' tariff ids — the Tariffs the data flow made from
  Hubject's pricing products — then ``EmspSettings.fallback_tariff``. Prices are decimals
  (``cdrs.price_decimals``/``price_rounding``). A CDR that cannot be priced (``UnpricedCdr``) or
  translated, or whose token is no eMSP's, is **held** with the reason (``outbox list --status
  held``; released with ``outbox retry ID``), never sent with a made-up price. One whose EVSE has
  no Location yet is retried with backoff (the data flow pulls EVSE data every few minutes).
* Sent: the OCPI CDR is stored (ObjectService, owner = the Location's owner, id = the SessionID, so
  the eMSP can also pull it) and POSTed to the eMSP's CDRs Receiver; its ``cdr_token`` is the
  eMSP's token as the eMSP wrote it, its ``authorization_reference`` the eMSP's when given. The
  Session is completed from the CDR when no End notification did it (or made, COMPLETED, when the
  CDR is the first and only signal, §8 point 15).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from pydantic import ValidationError

from bridge.delivery import Outcome, outcome_from_error
from bridge.errors import MappingError, PartnerError
from bridge.flows.cpo_commands import oicp_client
from bridge.flows.emsp_charging_state import (
    CDR_KIND,
    CDR_RECEIVED,
    UNRESOLVED_TARGET,
    SessionLink,
    TokenIndex,
    cdr_token_of,
    emsp_partners,
    find_token,
    get_link,
    notify,
    now_utc,
    place_link,
    put_link,
    rules_for,
    save_session_and_queue,
    settings_of,
    stored_session,
    token_of_link,
)
from bridge.flows.emsp_lookup import HubjectEvse, evse_products, find_evse, find_tariff
from bridge.flows.emsp_sessions import ENDED, discover_link
from bridge.ocpi.client import PartyRef, clients_of
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.models.common import to_jsonable as ocpi_jsonable
from bridge.ocpi.server.cdrs import CDRS, save_cdr
from bridge.ocpi.server.sessions import install as install_sessions
from bridge.oicp.models import (
    Acknowledgement,
    ChargeDetailRecord,
    GetChargeDetailRecords,
    normalize_session_id,
    to_jsonable,
)
from mappings.cdrs import UnpricedCdr, cdr_to_ocpi
from mappings.ids import evse_operator_id

if TYPE_CHECKING:
    from bridge.context import Gateway
    from bridge.store.base import DataApi, OutboxMessage

log = logging.getLogger("bridge.flows.emsp_charging")

POLL_STATE: Final = "emsp.cdr_poll"
"""State record of the poller: ``{"last_to": ISO date-time}`` (the ``To`` of the last full poll)."""


async def receive_cdr(gateway: Gateway, index: TokenIndex, cdr: ChargeDetailRecord, *, source: str) -> bool:
    """Queue a CDR from Hubject for the eMSP (see the module docstring); False when a CDR of its
    SessionID was received before (nothing is queued)."""
    session_id = normalize_session_id(cdr.session_id)
    raw = to_jsonable(cdr, strict=False)
    async with gateway.store.transaction() as tx:
        if await tx.get_correlation(CDR_RECEIVED, session_id) is not None:
            return False
        partner = await _partner_of(gateway, tx, index, cdr)
        target = partner or UNRESOLVED_TARGET
        message_id = await tx.enqueue(
            target, CDR_KIND, {"cdr": raw, "source": source}, key=session_id, order_key=f"cdr:{session_id}"
        )
        await tx.put_correlation(
            CDR_RECEIVED, session_id, str(message_id), {"source": source, "target": target}
        )
    notify(gateway)
    log.info("CDR %s from Hubject (%s) queued for %s", session_id, source, target)
    return True


async def _partner_of(
    gateway: Gateway, data: DataApi, index: TokenIndex, cdr: ChargeDetailRecord
) -> str | None:
    """The eMSP backend a CDR is for: the session's, else the token's, else the only one."""
    link = await get_link(data, cdr.session_id)
    if link is not None and link.partner is not None:
        return link.partner
    ref = await find_token(data, index, cdr.identification)
    if ref is not None:
        return ref.partner
    partners = emsp_partners(gateway)
    return partners[0] if len(partners) == 1 else None


class EmspCdrHandler:
    """The gateway's :class:`~bridge.oicp.handlers.EmpCdrHandler`: ``Result: true`` once stored."""

    def __init__(self, gateway: Gateway, index: TokenIndex) -> None:
        self.gateway = gateway
        self.index = index

    async def charge_detail_record(self, cdr: ChargeDetailRecord, *, operator_id: str) -> Acknowledgement:
        await receive_cdr(self.gateway, self.index, cdr, source="forwarded")
        return Acknowledgement.success(
            session_id=cdr.session_id,
            cpo_partner_session_id=cdr.cpo_partner_session_id,
            emp_partner_session_id=cdr.emp_partner_session_id,
        )


async def poll_missed_cdrs(gateway: Gateway, index: TokenIndex, *, now: datetime | None = None) -> int:
    """One GetChargeDetailRecords poll (``CDRForwarded: false``, every page); returns how many CDRs
    were new. The window starts at the previous poll's end minus ``cdr_poll_overlap`` (the first
    poll: ``cdr_poll_lookback`` ago) and ends now; it is remembered only when the poll completed."""
    settings = settings_of(gateway)
    provider = gateway.config.hubject.provider_id
    assert provider is not None
    end = now or now_utc()
    state = await gateway.store.get_state(POLL_STATE)
    if state is not None and state.get("last_to"):
        start = datetime.fromisoformat(str(state["last_to"])) - timedelta(seconds=settings.cdr_poll_overlap)
    else:
        start = end - timedelta(seconds=settings.cdr_poll_lookback)
    body = GetChargeDetailRecords(provider_id=provider, from_=start, to=end, cdr_forwarded=False)
    new = 0
    async for page in oicp_client(gateway).get_charge_detail_records_pages(body, retry=True):
        for cdr in page.content:
            new += await receive_cdr(gateway, index, cdr, source="poll")
    await gateway.store.set_state(POLL_STATE, {"last_to": end.isoformat()})
    if new:
        log.info("GetChargeDetailRecords: %d CDR(s) Hubject had not forwarded", new)
    return new


# --------------------------------------------------------------------------------------------
# Sending


async def choose_tariff(
    gateway: Gateway, data: DataApi, cdr: ChargeDetailRecord, evse: HubjectEvse
) -> v221.Tariff | None:
    """The Tariff pricing a CDR (see the module docstring), or None."""
    candidates: list[str] = []
    if cdr.partner_product_id:
        candidates.append(cdr.partner_product_id)
    candidates.extend(await evse_products(gateway, data, evse.evse_id))
    candidates.extend(evse.tariff_ids())
    for candidate in dict.fromkeys(candidates):
        tariff = await find_tariff(data, evse.owner, candidate, evse.operator_id)
        if tariff is not None:
            return tariff
    return settings_of(gateway).fallback_tariff


async def complete_session(gateway: Gateway, data: DataApi, link: SessionLink, cdr: v221.CDR) -> None:
    """The Session of a CDR ends with it: COMPLETED with the CDR's end, energy and cost, unless a
    notification ended it already; made COMPLETED when the CDR is its first signal."""
    previous = await stored_session(gateway, data, link)
    if previous is not None and previous.status in ENDED:
        return
    location = cdr.cdr_location
    session = v221.Session(
        country_code=cdr.country_code,
        party_id=cdr.party_id,
        id=link.session_id,
        start_date_time=previous.start_date_time if previous is not None else cdr.start_date_time,
        end_date_time=cdr.end_date_time,
        kwh=cdr.total_energy,
        cdr_token=cdr.cdr_token,
        auth_method=previous.auth_method if previous is not None else cdr.auth_method,
        authorization_reference=cdr.authorization_reference,
        location_id=location.id,
        evse_uid=location.evse_uid,
        connector_id=location.connector_id,
        currency=cdr.currency,
        charging_periods=previous.charging_periods if previous is not None else None,
        total_cost=cdr.total_cost,
        status=v221.SessionStatus.COMPLETED,
        last_updated=now_utc(),
    )
    await save_session_and_queue(gateway, data, session, link.partner)


async def _build(
    gateway: Gateway, index: TokenIndex, cdr: ChargeDetailRecord, partner: str
) -> v221.CDR | Outcome:
    """The stored OCPI CDR of this SessionID, made now when needed, or the Outcome that stops it:
    retried while the EVSE has no Location yet (the data flow may not have pulled it), held when
    it cannot be priced or translated."""
    session_id = normalize_session_id(cdr.session_id)
    async with gateway.store.transaction() as tx:
        link = await get_link(tx, session_id)
        if link is None:
            link = await discover_link(tx, index, session_id, cdr.identification, "cdr")
            if link is None:
                link = SessionLink(session_id=session_id, origin="cdr", partner=partner)
        link.partner = link.partner or partner
        evse = await find_evse(gateway, tx, cdr.evse_id)
        if evse is None:
            return Outcome.retry(f"EvseID {cdr.evse_id} has no Location in the gateway's Hubject data yet")
        await place_link(gateway, tx, link, cdr.evse_id)
        existing = await install_sessions(gateway).get(CDRS, evse.owner, session_id, tx=tx)
        if existing is not None:
            return v221.CDR.model_validate(existing.data)
        ref = await token_of_link(tx, link) or await find_token(tx, index, cdr.identification)
        tariff = await choose_tariff(gateway, tx, cdr, evse)
        rules = rules_for(
            gateway,
            partner=partner,
            owner=evse.owner,
            location_id=evse.location_id,
            operator_id=evse_operator_id(cdr.evse_id),
        )
        cdr_token = ref.cdr_token() if ref is not None else cdr_token_of(link)
        token_owner = (cdr_token.country_code, cdr_token.party_id) if cdr_token is not None else None
        try:
            ocpi = cdr_to_ocpi(
                cdr,
                location=evse.location_model(),
                evse_uid=evse.evse_uid,
                country_code=evse.owner[0],
                party_id=evse.owner[1],
                cdr_id=session_id,
                rules=rules,
                now=now_utc(),
                tariff=tariff,
                connector_id=link.connector_id if link.evse_uid == evse.evse_uid else None,
                token_owner=token_owner,
                session_id=session_id,
            ).value
        except UnpricedCdr as error:
            return Outcome.hold(f"not priced: {error.path}: {error.reason}")
        except MappingError as error:
            return Outcome.hold(f"not translatable: {error.path}: {error.reason}")
        changes: dict[str, Any] = {}
        if cdr_token is not None:
            changes["cdr_token"] = cdr_token
        if link.authorization_reference:
            changes["authorization_reference"] = link.authorization_reference
        if changes:
            ocpi = ocpi.model_copy(update=changes)
        if link.cdr_token is None:
            link.cdr_token = ocpi_jsonable(ocpi.cdr_token)
        await save_cdr(gateway, ocpi, partner=None, tx=tx)
        await put_link(tx, link)
        await complete_session(gateway, tx, link, ocpi)
    notify(gateway)
    return ocpi


def cdr_sender(gateway: Gateway, index: TokenIndex) -> Any:
    """The outbox sender of :data:`CDR_KIND` (see the module docstring)."""

    async def send(message: OutboxMessage) -> Outcome:
        try:
            cdr = ChargeDetailRecord.model_validate(message.payload["cdr"])
        except (KeyError, ValidationError) as error:
            return Outcome.dead(f"not an OICP CDR: {error}")
        partner_name: str | None = message.target
        if partner_name == UNRESOLVED_TARGET:
            async with gateway.store.transaction() as tx:
                partner_name = await _partner_of(gateway, tx, index, cdr)
        if partner_name is None:
            return Outcome.hold(
                f"no eMSP backend owns the token of CDR {cdr.session_id}: push the token, then retry"
            )
        partner = await gateway.store.get_partner(partner_name)
        if partner is None or partner.token_out is None or partner.status != "registered":
            return Outcome.retry(f"the eMSP {partner_name} is not registered")
        ocpi = await _build(gateway, index, cdr, partner_name)
        if isinstance(ocpi, Outcome):
            return ocpi
        service = install_sessions(gateway)
        stored = await service.get(CDRS, (ocpi.country_code, ocpi.party_id), ocpi.id)
        if stored is None:
            return Outcome.retry("the OCPI CDR vanished from the store")
        version = partner.version or "2.2.1"
        body = await service.serialize(CDRS, stored, version, partner=partner_name)
        if body is None:
            return Outcome.dead(f"CDR {ocpi.id} cannot be expressed in OCPI {version}")
        client = clients_of(gateway).for_partner(
            partner, from_party=PartyRef(ocpi.country_code, ocpi.party_id)
        )
        try:
            url = client.endpoint("cdrs", None if version == "2.1.1" else "RECEIVER")
            await client.request("POST", url, body=body, module="cdrs")
        except PartnerError as error:
            return outcome_from_error(error)
        log.info("CDR %s (%s %s) sent to %s", ocpi.id, ocpi.total_cost.excl_vat, ocpi.currency, partner_name)
        return Outcome.delivered()

    return send


__all__ = [
    "POLL_STATE",
    "EmspCdrHandler",
    "cdr_sender",
    "choose_tariff",
    "complete_session",
    "poll_missed_cdrs",
    "receive_cdr",
]
