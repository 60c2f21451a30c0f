"""Pushing Hubject-derived Locations and Tariffs to the eMSP backend's Receiver interfaces.

OCPI 2.2.1 (ocpi.md §3.6, §4.1, §4.4, §4.8): a CPO (or hub) keeps the eMSP up to date by pushing
to its Receiver endpoints. The object-service listener (:meth:`EmspPush.listener`, run inside the
write transaction: "nothing lost", architecture.md) turns every real change of an object stored
under :data:`~bridge.evse_cache.HUBJECT_PARTNER` into outbox messages, one per registered eMSP
partner whose version details offer the module as RECEIVER (partners without one crawl the Sender
list instead):

* a Location created or changed → :data:`LOCATION_PUT` (``PUT {locations}/{cc}/{pid}/{id}``
  with the Location as stored *at send time*, converted down for 2.1.1 peers);
* an EVSE whose only change is its status → :data:`EVSE_PATCH` (``PATCH
  {locations}/{cc}/{pid}/{id}/{uid}`` with ``status`` and ``last_updated``). A Receiver that
  answers 2003 (unknown Location) gets the whole Location PUT instead;
* a Tariff created or changed → :data:`TARIFF_PUT`; deleted → :data:`TARIFF_DELETE`;
* hub presentation: every operator party's ClientInfo is stored (the Hub's hubclientinfo Sender
  lists it, :mod:`bridge.ocpi.server.hubclientinfo`) and announced once per eMSP with a PUT to its
  hubclientinfo Receiver (:data:`CLIENT_INFO_PUT`, OCPI 2.2.1 only, :meth:`EmspPush.announce`).

Messages of one object share an ``order_key`` (delivered in order) and carry the object's
``last_updated`` in their idempotency key. The payload names the object only: the sender reads
the current version, so a late retry never sends stale data. 2.2.1 requests carry the routing
headers ``OCPI-from-*`` = the object's owner and ``OCPI-to-*`` = the eMSP (ocpi.md §3.5).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from bridge.delivery import Outcome, RetryPolicy, outcome_from_error
from bridge.errors import PartnerError
from bridge.evse_cache import HUBJECT_PARTNER
from bridge.flows.emsp_common import PUSHING, TARGETS, Presentation
from bridge.ocpi.client import PartyRef, clients_of, find_endpoint
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.models.common import format_datetime, parse_datetime, to_jsonable
from bridge.ocpi.server.hubclientinfo import get_client_info, record_client_info
from bridge.ocpi.server.locations import LOCATIONS
from bridge.ocpi.server.objects import ObjectChange, ObjectService, child_of
from bridge.ocpi.server.tariffs import TARIFFS

if TYPE_CHECKING:
    from bridge.context import Gateway
    from bridge.delivery import Delivery
    from bridge.store.base import DataApi, OutboxMessage, PartnerRecord

log = logging.getLogger("bridge.flows.emsp")

LOCATION_PUT: Final = "emsp.location.put"
EVSE_PATCH: Final = "emsp.evse.patch"
TARIFF_PUT: Final = "emsp.tariff.put"
TARIFF_DELETE: Final = "emsp.tariff.delete"
CLIENT_INFO_PUT: Final = "emsp.clientinfo.put"

PUSH_RETRY: Final = RetryPolicy(base=2.0, cap=600.0)
"""Pushes are retried until delivered: the eMSP must not miss a status or a removal."""

_STATUS_FIELDS = frozenset({"status", "last_updated"})

Target = tuple[str, frozenset[str]]
"""An eMSP partner and the modules it offers as RECEIVER."""


def receiver_modules(partner: PartnerRecord) -> frozenset[str]:
    """The modules a partner offers as RECEIVER (2.1.1 endpoints carry the role implied by the
    partner's role, ocpi.md §5)."""
    return frozenset(str(e.get("identifier")) for e in partner.endpoints if e.get("role") == "RECEIVER")


def _only_status_changed(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> bool:
    if before is None or after is None or before.get("status") == after.get("status"):
        return False
    return _without_status(before) == _without_status(after)


def _without_status(evse: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in evse.items() if key not in _STATUS_FIELDS}


class EmspPush:
    """The listener and the outbox senders of the eMSP pushes (module docstring)."""

    def __init__(self, gateway: Gateway, service: ObjectService, presentation: Presentation) -> None:
        self.gateway = gateway
        self.service = service
        self.presentation = presentation

    # ---- who receives -------------------------------------------------------------------------

    async def targets(self, data: DataApi) -> tuple[Target, ...]:
        """Registered eMSP partners with at least one Receiver interface."""
        found: list[Target] = []
        for partner in await data.list_partners():
            if partner.role == "EMSP" and partner.status == "registered" and partner.token_out:
                modules = receiver_modules(partner)
                if modules:
                    found.append((partner.name, modules))
        return tuple(found)

    async def _targets(self, data: DataApi) -> tuple[Target, ...]:
        known = TARGETS.get()
        return known if known is not None else await self.targets(data)

    # ---- the listener -------------------------------------------------------------------------

    async def listener(self, data: DataApi, change: ObjectChange) -> None:
        """Queue the pushes of one change (runs inside its transaction)."""
        if change.partner != HUBJECT_PARTNER or not PUSHING.get():
            return
        if change.kind.name not in (LOCATIONS.name, TARIFFS.name):
            return
        module = "locations" if change.kind.name == LOCATIONS.name else "tariffs"
        targets = [name for name, modules in await self._targets(data) if module in modules]
        if not targets:
            return
        cc, pid = change.owner
        ref = {"cc": cc, "pid": pid, "id": change.object_id}
        order_key = f"{module}:{cc}/{pid}/{change.object_id}".upper()
        if change.after is None:
            if module == "tariffs":  # Locations are never deleted (ocpi.md §3.6)
                for target in targets:
                    await data.enqueue(target, TARIFF_DELETE, ref, order_key=order_key)
            return
        stamp = str(change.after.get("last_updated"))
        kind, payload = (LOCATION_PUT if module == "locations" else TARIFF_PUT), dict(ref)
        if module == "locations" and len(change.path) == 1:
            before = child_of(change.before, change.path) if change.before is not None else None
            after = child_of(change.after, change.path)
            if _only_status_changed(before, after) and after is not None:
                kind = EVSE_PATCH
                payload.update(
                    uid=str(after["uid"]), status=after["status"], last_updated=after["last_updated"]
                )
                stamp = f"{after['uid']}@{after['last_updated']}"
        key = f"{cc}/{pid}/{change.object_id}@{stamp}"
        for target in targets:
            await data.enqueue(target, kind, payload, key=key, order_key=order_key)

    async def announce(self, data: DataApi, parties: set[tuple[str, str]]) -> int:
        """Hub presentation: record every operator party's ClientInfo (CONNECTED CPO), which the
        Hub's hubclientinfo Sender lists (ocpi.md §4.8), and queue a ClientInfo PUT for every party
        not yet announced to each eMSP with a hubclientinfo Receiver (idempotent per party);
        return how many PUTs were queued."""
        if self.presentation.mode != "hub" or not parties:
            return 0
        now = datetime.now(UTC)
        for cc, pid in sorted(parties):
            await record_client_info(data, cc, pid, now=now)
        queued = 0
        for name, modules in await self.targets(data):
            if "hubclientinfo" not in modules:
                continue
            for cc, pid in sorted(parties):
                key = f"{cc}/{pid}".upper()
                payload = {"cc": cc, "pid": pid}
                queued += await data.enqueue(name, CLIENT_INFO_PUT, payload, key=key) is not None
        return queued

    # ---- senders --------------------------------------------------------------------------------

    def register(self, delivery: Delivery) -> None:
        delivery.register(LOCATION_PUT, self.send_location, retry=PUSH_RETRY)
        delivery.register(EVSE_PATCH, self.send_evse_patch, retry=PUSH_RETRY)
        delivery.register(TARIFF_PUT, self.send_tariff, retry=PUSH_RETRY)
        delivery.register(TARIFF_DELETE, self.send_tariff_delete, retry=PUSH_RETRY)
        delivery.register(CLIENT_INFO_PUT, self.send_client_info, retry=PUSH_RETRY)

    async def _partner(self, message: OutboxMessage) -> PartnerRecord | None:
        partner = await self.gateway.store.get_partner(message.target)
        if partner is None or partner.status != "registered" or not partner.token_out:
            return None
        return partner

    async def _put_object(self, message: OutboxMessage, module: str) -> Outcome:
        partner = await self._partner(message)
        if partner is None:
            return Outcome.dead(f"{message.target} is not a registered partner any more")
        kind = LOCATIONS if module == "locations" else TARIFFS
        payload = message.payload
        owner = (str(payload["cc"]), str(payload["pid"]))
        stored = await self.service.get(kind, owner, str(payload["id"]))
        if stored is None:
            return Outcome.delivered()
        version = partner.version or "2.2.1"
        body = await self.service.serialize(kind, stored, version, partner=partner.name)
        if body is None:
            return Outcome.delivered()
        client = clients_of(self.gateway).for_partner(partner, from_party=PartyRef(*owner))
        try:
            url = client.object_url(
                module, stored.country_code, stored.party_id, stored.object_id, role="RECEIVER"
            )
            await client.request("PUT", url, body=body, module=module)
        except PartnerError as error:
            return outcome_from_error(error)
        return Outcome.delivered()

    async def send_location(self, message: OutboxMessage) -> Outcome:
        """PUT the current Location (ocpi.md §4.1 Receiver PUT)."""
        return await self._put_object(message, "locations")

    async def send_tariff(self, message: OutboxMessage) -> Outcome:
        """PUT the current Tariff (ocpi.md §4.4 Receiver PUT)."""
        return await self._put_object(message, "tariffs")

    async def send_evse_patch(self, message: OutboxMessage) -> Outcome:
        """PATCH the EVSE's status; a 2003 (unknown Location) answer gets the Location PUT."""
        partner = await self._partner(message)
        if partner is None:
            return Outcome.dead(f"{message.target} is not a registered partner any more")
        payload = message.payload
        owner = (str(payload["cc"]), str(payload["pid"]))
        client = clients_of(self.gateway).for_partner(partner, from_party=PartyRef(*owner))
        body = {"status": payload["status"], "last_updated": payload["last_updated"]}
        if partner.version == "2.1.1":
            body["last_updated"] = format_datetime(
                parse_datetime(str(payload["last_updated"])), fractions=False
            )
        try:
            await client.patch(
                "locations",
                owner[0],
                owner[1],
                str(payload["id"]),
                str(payload["uid"]),
                body=body,
                role="RECEIVER",
            )
        except PartnerError as error:
            if str(error.code) == "2003":
                return await self._put_object(message, "locations")
            return outcome_from_error(error)
        return Outcome.delivered()

    async def send_tariff_delete(self, message: OutboxMessage) -> Outcome:
        """DELETE the Tariff at the Receiver (ocpi.md §4.4); unknown there (404) counts as done."""
        partner = await self._partner(message)
        if partner is None:
            return Outcome.dead(f"{message.target} is not a registered partner any more")
        payload = message.payload
        owner = (str(payload["cc"]), str(payload["pid"]))
        client = clients_of(self.gateway).for_partner(partner, from_party=PartyRef(*owner))
        try:
            await client.delete("tariffs", owner[0], owner[1], str(payload["id"]), role="RECEIVER")
        except PartnerError as error:
            if error.http_status == 404:
                return Outcome.delivered()
            return outcome_from_error(error)
        return Outcome.delivered()

    async def send_client_info(self, message: OutboxMessage) -> Outcome:
        """PUT ClientInfo (OCPI 2.2.1 hubclientinfo Receiver, ocpi.md §4.8): the operator party is
        a CONNECTED CPO behind the hub; the object is the one the Hub's Sender list serves."""
        partner = await self._partner(message)
        if partner is None:
            return Outcome.dead(f"{message.target} is not a registered partner any more")
        if partner.version == "2.1.1":
            return Outcome.delivered()
        payload = message.payload
        cc, pid = str(payload["cc"]), str(payload["pid"])
        info = await get_client_info(self.gateway.store, cc, pid) or v221.ClientInfo(
            party_id=pid,
            country_code=cc,
            role=v221.Role.CPO,
            status=v221.ConnectionStatus.CONNECTED,
            last_updated=datetime.now(UTC),
        )
        client = clients_of(self.gateway).for_partner(partner)
        try:
            url = find_endpoint(partner.endpoints, "hubclientinfo", "RECEIVER", name=partner.name)
            await client.request("PUT", f"{url}/{info.country_code}/{info.party_id}", body=to_jsonable(info))
        except PartnerError as error:
            return outcome_from_error(error)
        return Outcome.delivered()


__all__ = [
    "CLIENT_INFO_PUT",
    "EVSE_PATCH",
    "LOCATION_PUT",
    "PUSH_RETRY",
    "TARIFF_DELETE",
    "TARIFF_PUT",
    "EmspPush",
    "Target",
    "receiver_modules",
]
