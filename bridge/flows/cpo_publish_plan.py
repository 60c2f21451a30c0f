"""What Hubject holds of the CPO's network, and what must change: the planning half of
:mod:`bridge.flows.cpo_publish`.

* **Desired state.** A stored OCPI Location of a CPO partner becomes EvseDataRecords through
  :func:`mappings.locations.location_to_evse_records` (rules resolved for the operator, the
  partner, the location and its owner), each EVSE with its OICP status (:func:`mappings.status.
  status_to_oicp`; REMOVED and PLANNED EVSEs yield no record, so they are deleted / never
  published, oicp-2.3.md §4.3). A record that would break OICP's formats is left out before it
  can poison a whole request (egress strict, CONTRIBUTING.md).
* **Held state** (store kind :data:`HELD_KIND`, one object per EvseID): the record, its hash,
  the status and the EVSE pricing last *queued* for Hubject, and the Location it came from
  (correlation :data:`LOCATION_INDEX` lists the EvseIDs per Location). Pushes go out in order
  through the outbox, so this is what Hubject holds once the queue is delivered.
* **Diff** (oicp-2.3.md §2.1 ActionType, §8 point 4): a new EvseID is an ``insert``, a changed
  record an ``update`` (an unchanged one is skipped), an EvseID gone from its Location (or
  REMOVED) a ``delete``; statuses likewise (``insert`` the first time, ``update`` on change,
  ``delete`` with the data). Everything is collected in :class:`Batches`, one list per action,
  so that a flush sends one request per action type instead of one per EVSE.
* A Location that cannot be mapped at all (a MappingError, e.g. no hotline number configured) is
  logged and **left as Hubject holds it**: a configuration mistake never withdraws EVSEs.
"""

from __future__ import annotations

import hashlib
import logging
import zlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import orjson

from bridge.errors import MappingError
from bridge.ocpi.models import v2_2_1 as v221
from bridge.oicp.models import OicpEgressError, ValueAddedService, to_jsonable
from mappings import ids
from mappings.locations import location_to_evse_records
from mappings.status import StatusAction, status_to_oicp
from mappings.tariffs import evse_pricing

if TYPE_CHECKING:
    from bridge.store.base import DataApi, StoredObject
    from mappings.rules import MappingRules, RuleSet

log = logging.getLogger("bridge.flows.cpo_publish")

HELD_KIND: Final = "hubject.evse"
"""Store kind of the held state: key ``("OICP", <operator key>, <canonical EvseID>)``."""
HELD_COUNTRY: Final = "OICP"
LOCATION_INDEX: Final = "hubject.location_evses"
"""Correlation kind: key ``"CC/PID/LOCATION_ID"`` → data ``{"evse_ids": [canonical EvseIDs]}``."""
LOCATIONS_KIND: Final = "locations"
TARIFFS_KIND: Final = "tariffs"
_SCAN: Final = 500

LocationKey = tuple[str, str, str]
"""(country_code, party_id, location_id) of a stored Location, as stored."""


def location_key_text(key: LocationKey) -> str:
    return "/".join(part.upper() for part in key)


def record_hash(record: dict[str, Any]) -> str:
    """A stable digest of a record's wire JSON (key order does not matter)."""
    return hashlib.sha256(orjson.dumps(record, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def stripe(name: str, key: str, stripes: int = 64) -> str:
    """The lock name of ``key``'s stripe (a durable counter row, locked until commit)."""
    return f"{name}.{zlib.crc32(key.upper().encode('utf-8')) % stripes}"


async def lock_stripes(data: DataApi, name: str, keys: Iterable[str]) -> None:
    """Lock the stripes of ``keys`` in a fixed order (no deadlock between two lockers)."""
    for lock in sorted({stripe(name, key) for key in keys}):
        await data.next_sequence(lock)


async def scan(data: DataApi, kind: str) -> AsyncIterator[StoredObject]:
    """Every stored object of ``kind`` in creation order, page by page."""
    offset = 0
    while True:
        page, _ = await data.list_objects(kind, offset=offset, limit=_SCAN)
        for item in page:
            yield item
        if len(page) < _SCAN:
            return
        offset += len(page)


# --------------------------------------------------------------------------------------------
# Desired and held state


@dataclass(frozen=True, slots=True)
class DesiredEvse:
    """One EVSE as it must be on Hubject: its record (wire JSON), status and pricing inputs."""

    canon: str
    evse_id: str
    location: LocationKey
    record: dict[str, Any]
    hash: str
    status: str
    dynamic_pricing: bool
    tariffs: tuple[str, ...]


@dataclass(slots=True)
class HeldEvse:
    """One EVSE as queued for Hubject (see the module docstring)."""

    canon: str
    evse_id: str
    location: LocationKey
    record: dict[str, Any]
    hash: str
    status: str | None
    pricing: list[str] | None
    dynamic_pricing: bool
    tariffs: tuple[str, ...]

    def data(self) -> dict[str, Any]:
        return {
            "evse_id": self.evse_id,
            "location": list(self.location),
            "record": self.record,
            "hash": self.hash,
            "status": self.status,
            "pricing": self.pricing,
            "dynamic_pricing": self.dynamic_pricing,
            "tariffs": list(self.tariffs),
        }

    @classmethod
    def of_desired(cls, want: DesiredEvse, status: str | None, pricing: list[str] | None) -> HeldEvse:
        return cls(
            want.canon,
            want.evse_id,
            want.location,
            want.record,
            want.hash,
            status,
            pricing,
            want.dynamic_pricing,
            want.tariffs,
        )

    @classmethod
    def of(cls, canon: str, data: dict[str, Any]) -> HeldEvse:
        cc, pid, location_id = data["location"]
        return cls(
            canon=canon,
            evse_id=str(data["evse_id"]),
            location=(str(cc), str(pid), str(location_id)),
            record=dict(data["record"]),
            hash=str(data["hash"]),
            status=data.get("status"),
            pricing=list(data["pricing"]) if data.get("pricing") is not None else None,
            dynamic_pricing=bool(data.get("dynamic_pricing")),
            tariffs=tuple(data.get("tariffs") or ()),
        )


@dataclass(frozen=True, slots=True)
class PublishScope:
    """Who publishes: the gateway's Hubject operator and the rules (``operator_key`` names the
    held state, so a change of operator starts from nothing)."""

    operator_id: str
    operator_name: str
    rules: RuleSet

    @property
    def operator_key(self) -> str:
        return ids.canonical_id(self.operator_id)

    def rules_for(self, stored: StoredObject) -> MappingRules:
        return self.rules.resolve(
            operator_id=self.operator_id,
            partner=stored.partner,
            location_id=stored.object_id,
            country_code=stored.country_code,
            party_id=stored.party_id,
        )


def tariff_key(country_code: str, party_id: str, tariff_id: str) -> str:
    return f"{country_code}/{party_id}/{tariff_id}".upper()


def desired_for_location(
    stored: StoredObject, scope: PublishScope, now: datetime
) -> dict[str, DesiredEvse] | None:
    """The EVSEs of a stored Location as they must be on Hubject, by canonical EvseID; None when
    the Location cannot be mapped at all (logged with the MappingError)."""
    key: LocationKey = (stored.country_code, stored.party_id, stored.object_id)
    rules = scope.rules_for(stored)
    try:
        location = v221.Location.model_validate(stored.data)
        translation = location_to_evse_records(
            location, rules, operator_id=scope.operator_id, operator_name=scope.operator_name, now=now
        )
    except MappingError as error:
        log.error(
            "Location %s not published to Hubject (left as it is there): %s", location_key_text(key), error
        )
        return None
    for loss in translation.losses:
        log.debug("Location %s to Hubject: %s", location_key_text(key), loss)
    evses = {ids.canonical_id(ids.normalize_evse_id(e.evse_id)): e for e in location.evses or () if e.evse_id}
    desired: dict[str, DesiredEvse] = {}
    for record in translation.value:
        canon = ids.canonical_id(record.evse_id)
        try:
            wire = to_jsonable(record, strict=True)
        except OicpEgressError as error:
            log.error(
                "EVSE %s of Location %s not published to Hubject: %s",
                record.evse_id,
                location_key_text(key),
                error,
            )
            continue
        evse = evses.get(canon)
        status = "Unknown"
        tariffs: list[str] = []
        if evse is not None:
            oicp = status_to_oicp(evse.status, rules).value
            if oicp.action is StatusAction.PUBLISH and oicp.status is not None:
                status = oicp.status.value
            for connector in evse.connectors:
                for tariff_id in connector.tariff_ids or ():
                    tkey = tariff_key(stored.country_code, stored.party_id, tariff_id)
                    if tkey not in tariffs:
                        tariffs.append(tkey)
        dynamic = ValueAddedService.DYNAMIC_PRICING in (record.value_added_services or ())
        desired[canon] = DesiredEvse(
            canon, record.evse_id, key, wire, record_hash(wire), status, dynamic, tuple(tariffs)
        )
    return desired


async def get_held(data: DataApi, scope: PublishScope, canon: str) -> HeldEvse | None:
    stored = await data.get_object(HELD_KIND, HELD_COUNTRY, scope.operator_key, canon)
    return None if stored is None else HeldEvse.of(canon, stored.data)


async def all_held(data: DataApi, scope: PublishScope) -> list[HeldEvse]:
    wanted = scope.operator_key.upper()
    return [
        HeldEvse.of(item.object_id, item.data)
        async for item in scan(data, HELD_KIND)
        if item.party_id.upper() == wanted
    ]


async def location_index(data: DataApi, key: LocationKey) -> set[str]:
    found = await data.get_correlation(LOCATION_INDEX, location_key_text(key))
    return set(found.data.get("evse_ids", [])) if found is not None and found.data else set()


# --------------------------------------------------------------------------------------------
# Batches and the diff


@dataclass(slots=True)
class Batches:
    """The changes of one flush, one list per operation and action (wire JSON items)."""

    data: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {"delete": [], "insert": [], "update": []}
    )
    status: dict[str, list[dict[str, str]]] = field(
        default_factory=lambda: {"delete": [], "insert": [], "update": []}
    )
    pricing: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {"delete": [], "insert": [], "update": []}
    )

    def __bool__(self) -> bool:
        return any(items for group in (self.data, self.status, self.pricing) for items in group.values())

    def counts(self) -> dict[str, int]:
        return {
            f"{name}.{action}": len(items)
            for name, group in (("data", self.data), ("status", self.status), ("pricing", self.pricing))
            for action, items in group.items()
            if items
        }


@dataclass(slots=True)
class Products:
    """The pricing products queued for Hubject: ProductIDs per tariff key (pricing state)."""

    by_tariff: dict[str, list[str]] = field(default_factory=dict)
    published: bool = False

    def pricing_for(
        self, evse_id: str, dynamic_pricing: bool, tariffs: tuple[str, ...], rules: MappingRules
    ) -> list[str] | None:
        """The EvseIDProductList of an EVSE whose record carries DynamicPricing (OICP 2.3
        ValueAddedService "Does the EVSE ID support dynamic pricing?"), else None."""
        if not dynamic_pricing or not self.published:
            return None
        try:
            return list(evse_pricing(evse_id, tariffs, self.by_tariff, rules).evse_id_product_list)
        except MappingError:
            return None


def _pricing_item(evse_id: str, products: list[str], provider_id: str) -> dict[str, Any]:
    return {"EvseID": evse_id, "ProviderID": provider_id, "EvseIDProductList": products}


def apply_desired(
    want: DesiredEvse, held: HeldEvse | None, pricing: list[str] | None, provider_id: str, batches: Batches
) -> HeldEvse:
    """The diff of one EVSE into ``batches``; returns the new held state."""
    status_record = {"EvseID": want.evse_id, "EvseStatus": want.status}
    if held is None:
        batches.data["insert"].append(want.record)
        batches.status["insert"].append(status_record)
    else:
        if held.hash != want.hash:
            batches.data["update"].append(want.record)
        if held.status is None:
            batches.status["insert"].append(status_record)
        elif held.status != want.status:
            batches.status["update"].append(status_record)
    diff_pricing(want.evse_id, held.pricing if held is not None else None, pricing, provider_id, batches)
    return HeldEvse.of_desired(want, want.status, pricing)


def diff_pricing(
    evse_id: str, before: list[str] | None, after: list[str] | None, provider_id: str, batches: Batches
) -> None:
    """PushEVSEPricing actions for one EVSE whose product list goes from ``before`` to ``after``."""
    if after is not None and before is None:
        batches.pricing["insert"].append(_pricing_item(evse_id, after, provider_id))
    elif after is None and before is not None:
        batches.pricing["delete"].append(_pricing_item(evse_id, before, provider_id))
    elif after is not None and after != before:
        batches.pricing["update"].append(_pricing_item(evse_id, after, provider_id))


def withdraw(held: HeldEvse, provider_id: str, batches: Batches) -> None:
    """Delete an EVSE from Hubject: its data, its status and its pricing."""
    batches.data["delete"].append(held.record)
    if held.status is not None:
        batches.status["delete"].append({"EvseID": held.evse_id, "EvseStatus": held.status})
    if held.pricing is not None:
        batches.pricing["delete"].append(_pricing_item(held.evse_id, held.pricing, provider_id))


class HeldChanges:
    """Held entries and Location indexes read and changed during one flush, written at the end."""

    def __init__(self, data: DataApi, scope: PublishScope) -> None:
        self.data = data
        self.scope = scope
        self.evses: dict[str, HeldEvse | None] = {}
        self.indexes: dict[str, set[str]] = {}
        self._loaded: set[str] = set()

    async def held(self, canon: str) -> HeldEvse | None:
        if canon not in self._loaded:
            self.evses[canon] = await get_held(self.data, self.scope, canon)
            self._loaded.add(canon)
        return self.evses[canon]

    def put(self, canon: str, value: HeldEvse | None) -> None:
        self.evses[canon] = value
        self._loaded.add(canon)

    async def index(self, key: LocationKey) -> set[str]:
        text = location_key_text(key)
        if text not in self.indexes:
            self.indexes[text] = await location_index(self.data, key)
        return self.indexes[text]

    async def write(self) -> None:
        for canon, value in self.evses.items():
            if value is None:
                await self.data.delete_object(HELD_KIND, HELD_COUNTRY, self.scope.operator_key, canon)
            else:
                await self.data.put_object(
                    HELD_KIND, HELD_COUNTRY, self.scope.operator_key, canon, value.data(), _EPOCH_PLUS
                )
        for text, canons in self.indexes.items():
            if canons:
                await self.data.put_correlation(
                    LOCATION_INDEX, text, str(len(canons)), {"evse_ids": sorted(canons)}
                )
            else:
                await self.data.delete_correlation(LOCATION_INDEX, text)


async def plan_location(
    changes: HeldChanges,
    key: LocationKey,
    desired: dict[str, DesiredEvse],
    products: Products,
    rules: MappingRules,
    batches: Batches,
) -> None:
    """Diff one Location's desired EVSEs against what Hubject holds for it."""
    provider_id = rules.tariffs.provider_id
    index = await changes.index(key)
    for canon, want in desired.items():
        held = await changes.held(canon)
        if held is not None and location_key_text(held.location) != location_key_text(key):
            log.warning(
                "EvseID %s moves from Location %s to %s",
                want.evse_id,
                location_key_text(held.location),
                location_key_text(key),
            )
            (await changes.index(held.location)).discard(canon)
        pricing = products.pricing_for(want.evse_id, want.dynamic_pricing, want.tariffs, rules)
        changes.put(canon, apply_desired(want, held, pricing, provider_id, batches))
        index.add(canon)
    for canon in sorted(index - desired.keys()):
        held = await changes.held(canon)
        index.discard(canon)
        if held is None or location_key_text(held.location) != location_key_text(key):
            continue
        withdraw(held, provider_id, batches)
        changes.put(canon, None)


_EPOCH_PLUS = datetime.fromisoformat("2000-01-01T00:00:00+00:00")
"""``last_updated`` of held entries: they are bookkeeping, never served or filtered by date."""


__all__ = [
    "HELD_KIND",
    "LOCATION_INDEX",
    "Batches",
    "DesiredEvse",
    "HeldChanges",
    "HeldEvse",
    "LocationKey",
    "Products",
    "PublishScope",
    "all_held",
    "apply_desired",
    "desired_for_location",
    "diff_pricing",
    "get_held",
    "location_index",
    "location_key_text",
    "lock_stripes",
    "plan_location",
    "record_hash",
    "scan",
    "stripe",
    "tariff_key",
    "withdraw",
]
