"""Lookups of the eMSP-side charging flow into the Hubject data the gateway keeps.

The EVSE data pulled from Hubject (``bridge.flows.emsp_locations``, ``bridge.evse_cache``) is
stored as OCPI Locations through the ObjectService (kind ``locations``, owner = the party of the
Hubject operator, ``partner`` = :data:`bridge.evse_cache.HUBJECT_PARTNER`), each EVSE also as a
raw row (kind :data:`~bridge.evse_cache.EVSE_KIND` under :data:`~bridge.evse_cache.RAW_OWNER`, id =
EvseID) naming its Location, EVSE pricing as rows of kind :data:`~bridge.evse_cache.PRICING_KIND`,
and pricing products as OCPI Tariffs (kind ``tariffs``, id = ``mappings.ids.ocpi_id(ProductID)``,
owner = the operator's party).

* :func:`find_evse`: EvseID → the Location and EVSE (oicp-2.3.md §4.8/§4.7: notifications and CDRs
  name the EVSE by EvseID only). The in-memory :class:`~bridge.evse_cache.EvseCache` is asked first
  when the data flow runs in this process, else the store row (any instance).
* :func:`find_location`: an OCPI ``location_id`` (commands name no owner, ocpi.md §4.6) → the
  Location derived from Hubject data with that id; Locations of OCPI CPO partners are not returned.
* :func:`find_tariff` / :func:`evse_products`: what prices a CDR (docs/mapping.md §3.10).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from bridge.evse_cache import EVSE_KIND, HUBJECT_PARTNER, PRICING_KIND, RAW_OWNER, EvseCache
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.server.locations import LOCATIONS
from bridge.ocpi.server.objects import OWNER_INDEX_PREFIX
from bridge.ocpi.server.tariffs import TARIFFS
from mappings.ids import canonical_id, normalize_evse_id, ocpi_id

if TYPE_CHECKING:
    from bridge.context import Gateway
    from bridge.store.base import DataApi, StoredObject

Owner = tuple[str, str]

EVSE_CACHE_SERVICE: Final = "emsp_data"
"""``gateway.services`` key under which the data flow keeps its :class:`EvseCache` (when it does)."""


@dataclass(frozen=True, slots=True)
class HubjectEvse:
    """An EVSE of a Location derived from Hubject data."""

    evse_id: str
    owner: Owner
    location_id: str
    evse_uid: str
    location: dict[str, Any]
    evse: dict[str, Any]

    @property
    def connector_id(self) -> str:
        """The EVSE's first connector (OICP names no connector: oicp-2.3.md §2.3)."""
        connectors = self.evse.get("connectors") or [{"id": "1"}]
        return str(connectors[0]["id"])

    @property
    def operator_id(self) -> str | None:
        from mappings.ids import evse_operator_id

        return evse_operator_id(self.evse_id)

    def location_model(self) -> v221.Location:
        return v221.Location.model_validate(self.location)

    def tariff_ids(self) -> list[str]:
        """The tariff ids of the EVSE's connectors, first connector first."""
        found: list[str] = []
        for connector in self.evse.get("connectors") or ():
            for tariff_id in connector.get("tariff_ids") or ():
                if tariff_id not in found:
                    found.append(str(tariff_id))
        return found


def evse_in(location: Mapping[str, Any], evse_id: str) -> dict[str, Any] | None:
    """The EVSE of a stored Location whose ``evse_id`` is ``evse_id`` (compared canonically)."""
    wanted = canonical_id(evse_id)
    for evse in location.get("evses") or ():
        raw = evse.get("evse_id")
        if isinstance(raw, str) and canonical_id(raw) == wanted:
            return dict(evse)
    return None


def _cached_ref(gateway: Gateway, evse_id: str) -> tuple[str, str, str] | None:
    cache = gateway.services.get(EVSE_CACHE_SERVICE)
    if not isinstance(cache, EvseCache):
        return None
    for candidate in dict.fromkeys((evse_id, normalize_evse_id(evse_id))):
        ref = cache.ref(candidate)
        if ref is not None:
            return ref[0], ref[1], ref[2]
    return None


async def find_evse(gateway: Gateway, data: DataApi, evse_id: str) -> HubjectEvse | None:
    """The Hubject-derived Location and EVSE of an EvseID, or None when the gateway has none."""
    ref = _cached_ref(gateway, evse_id)
    if ref is None:
        for candidate in dict.fromkeys((evse_id, normalize_evse_id(evse_id))):
            row = await data.get_object(EVSE_KIND, RAW_OWNER[0], RAW_OWNER[1], candidate)
            if row is not None and isinstance(row.data.get("loc"), list):
                cc, pid, location_id = row.data["loc"]
                ref = (str(cc), str(pid), str(location_id))
                break
    if ref is None:
        return None
    stored = await data.get_object(LOCATIONS.name, ref[0], ref[1], ref[2])
    if stored is None:
        return None
    evse = evse_in(stored.data, evse_id)
    if evse is None:
        return None
    return HubjectEvse(
        evse_id=str(evse["evse_id"]),
        owner=(stored.country_code, stored.party_id),
        location_id=stored.object_id,
        evse_uid=str(evse["uid"]),
        location=stored.data,
        evse=evse,
    )


async def find_location(data: DataApi, location_id: str) -> StoredObject | None:
    """The Location derived from Hubject data with this OCPI id (the Locations module's owner
    index), or None; Locations pushed by OCPI CPO partners are left to their flow."""
    index = await data.get_correlation(OWNER_INDEX_PREFIX + LOCATIONS.name, location_id.upper())
    for cc, pid in (index.data or {}).get("owners", []) if index else []:
        stored = await data.get_object(LOCATIONS.name, str(cc), str(pid), location_id)
        if stored is not None and stored.partner == HUBJECT_PARTNER:
            return stored
    return None


def evse_at(location: StoredObject, evse_uid: str | None) -> HubjectEvse | None:
    """The EVSE ``evse_uid`` of a Hubject Location (None: the Location's only EVSE) with its EvseID."""
    evses = [e for e in location.data.get("evses") or () if isinstance(e.get("evse_id"), str)]
    if evse_uid is None:
        chosen = evses[0] if len(evses) == 1 else None
    else:
        chosen = next((e for e in evses if str(e.get("uid", "")).upper() == evse_uid.upper()), None)
    if chosen is None:
        return None
    return HubjectEvse(
        evse_id=str(chosen["evse_id"]),
        owner=(location.country_code, location.party_id),
        location_id=location.object_id,
        evse_uid=str(chosen["uid"]),
        location=location.data,
        evse=dict(chosen),
    )


async def evse_products(gateway: Gateway, data: DataApi, evse_id: str) -> tuple[str, ...]:
    """The ProductIDs Hubject lists for the EVSE (PullEVSEPricing), or ()."""
    cache = gateway.services.get(EVSE_CACHE_SERVICE)
    if isinstance(cache, EvseCache):
        products = cache.pricing(evse_id) or cache.pricing(normalize_evse_id(evse_id))
        if products:
            return products
    for candidate in dict.fromkeys((evse_id, normalize_evse_id(evse_id))):
        row = await data.get_object(PRICING_KIND, RAW_OWNER[0], RAW_OWNER[1], candidate)
        if row is not None:
            return tuple(str(p) for p in row.data.get("products") or ())
    return ()


async def find_tariff(
    data: DataApi, owner: Owner, tariff_or_product_id: str, operator_id: str | None = None
) -> v221.Tariff | None:
    """The stored Tariff of ``owner`` with this id, or made from this ProductID, or None.

    A ProductID's Tariff id is ``ocpi_id(ProductID)`` (mappings.tariffs), prefixed with the
    canonical OperatorID when the data flow presents every operator as one CPO
    (``bridge.flows.emsp_common.Presentation``).
    """
    candidates = [tariff_or_product_id, ocpi_id(tariff_or_product_id)]
    if operator_id:
        candidates.append(ocpi_id(f"{canonical_id(operator_id)}*{ocpi_id(tariff_or_product_id)}"))
    for candidate in dict.fromkeys(candidates):
        stored = await data.get_object(TARIFFS.name, owner[0], owner[1], candidate)
        if stored is not None:
            return v221.Tariff.model_validate(stored.data)
    return None


__all__ = [
    "EVSE_CACHE_SERVICE",
    "HubjectEvse",
    "evse_at",
    "evse_in",
    "evse_products",
    "find_evse",
    "find_location",
    "find_tariff",
]
