"""One OCPI Location from the EvseDataRecords of one group, merged with what is stored.

:func:`mappings.locations.evse_records_to_locations` makes the Location (oicp-2.3.md §4.2,
mapping.md §3.1–3.5); this module adds what depends on the running gateway:

* **Owner and id** from the :class:`~bridge.flows.emsp_common.Presentation` (hub: the operator's
  party; cpo: one CPO identity and operator-prefixed ids).
* **Statuses** from the hot status map (PullEvseStatus); an EVSE without one is UNKNOWN.
* **Tariffs**: every connector of an EVSE gets the Tariffs of the pricing products PullEVSEPricing
  lists for it (mapping.md §3.11), when those Tariffs exist.
* **last_updated** is the time the gateway stored the change, not Hubject's ``lastUpdate``: the
  eMSP crawls the Sender with ``date_from`` = the time of its last crawl (ocpi.md §3.3), so a
  change stored later than Hubject made it must carry the later time or the crawl misses it. An
  EVSE whose content did not change keeps its stored ``last_updated``; a Location whose content
  did not change is not written at all (:func:`merge_location` returns None).
* **Removed EVSEs** (OCPI never deletes Locations, ocpi.md §3.6): an EVSE stored in the Location but
  no longer produced (deleted at Hubject, left the Location, filtered out) stays in it with status
  ``REMOVED``; a Location without any live EVSE keeps all of them as ``REMOVED``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from bridge.flows.emsp_common import Presentation
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.models.common import format_datetime, to_jsonable
from bridge.oicp.models.evse_data import PullEvseDataRecord
from mappings.locations import evse_records_to_locations
from mappings.rules import MappingRules

log = logging.getLogger("bridge.flows.emsp")

REMOVED = v221.Status.REMOVED.value

TariffLinks = Callable[[str, str], list[str]]
"""``(evse_id, operator_id) -> tariff ids`` for the connectors of that EVSE."""


def without_timestamps(value: Any) -> Any:
    """``value`` with every ``last_updated`` key removed (content comparison)."""
    if isinstance(value, dict):
        return {key: without_timestamps(item) for key, item in value.items() if key != "last_updated"}
    if isinstance(value, list):
        return [without_timestamps(item) for item in value]
    return value


def build_locations(
    records: Sequence[PullEvseDataRecord],
    rules: MappingRules,
    presentation: Presentation,
    *,
    operator_id: str,
    statuses: Mapping[str, str],
    tariff_links: TariffLinks,
    now: datetime,
) -> list[dict[str, Any]]:
    """The Location(s) the records of one group make, as 2.2.1 JSON with presentation owner and
    id and connector tariff links; records that cannot be published are left out (noted)."""
    owner = presentation.owner(operator_id)
    if owner is None or not records:
        if owner is None:
            log.info("operator %s has no OCPI party (locations.din_operators): not published", operator_id)
        return []
    translation = evse_records_to_locations(
        records,
        rules,
        country_code=owner[0],
        party_id=owner[1],
        statuses=statuses,
        now=now,
    )
    for loss in translation.losses:
        if loss.kind.value == "lost" and loss.detail.startswith("no Location"):
            log.info("operator %s: %s", operator_id, loss)
        else:
            log.debug("operator %s: %s", operator_id, loss)
    built: list[dict[str, Any]] = []
    for location in translation.value:
        data = to_jsonable(location)
        data["id"] = presentation.object_id(operator_id, data["id"])
        for evse in data.get("evses") or ():
            links = tariff_links(evse["evse_id"], operator_id)
            for connector in evse.get("connectors") or ():
                if links:
                    connector["tariff_ids"] = links
                else:
                    connector.pop("tariff_ids", None)
        built.append(data)
    return built


def _removed(evse: dict[str, Any], stamp: str) -> dict[str, Any]:
    if evse.get("status") == REMOVED:
        return evse
    return {**evse, "status": REMOVED, "last_updated": stamp}


def merge_location(
    new: dict[str, Any] | None, stored: Mapping[str, Any] | None, now: datetime
) -> dict[str, Any] | None:
    """The Location to write, or None when nothing changed (module docstring).

    ``new`` is the freshly built Location (None: the group makes no Location any more, every
    stored EVSE becomes REMOVED); ``stored`` the stored one (None: new Location).
    """
    if new is None and stored is None:
        return None
    stamp = format_datetime(now)
    # ``new`` is freshly built and ``stored`` freshly read: both are owned here, and nothing below
    # mutates a nested value of ``stored`` (removed EVSEs are copied), so no deep copy is needed.
    result = dict(new if new is not None else stored or {})
    if new is None:
        result["evses"] = []
    old_evses = {str(e.get("uid", "")).upper(): e for e in (stored or {}).get("evses") or ()}
    merged: list[dict[str, Any]] = []
    seen: set[str] = set()
    for evse in result.get("evses") or ():
        key = str(evse.get("uid", "")).upper()
        seen.add(key)
        old = old_evses.get(key)
        if old is not None and without_timestamps(old) == without_timestamps(evse):
            merged.append(dict(old))
        else:
            _stamp(evse, stamp)
            merged.append(evse)
    for key, old in old_evses.items():
        if key not in seen:
            merged.append(_removed(old, stamp))
    result["evses"] = merged
    if stored is not None and without_timestamps(dict(stored)) == without_timestamps(result):
        return None
    result["last_updated"] = stamp
    return result


def _stamp(evse: dict[str, Any], stamp: str) -> None:
    evse["last_updated"] = stamp
    for connector in evse.get("connectors") or ():
        connector["last_updated"] = stamp


__all__ = ["REMOVED", "TariffLinks", "build_locations", "merge_location", "without_timestamps"]
