"""The EVSE cache of the eMSP side: what Hubject's PullEvseData said, compact at Hubject scale.

Hubject serves several hundred thousand to ~1 M EVSE records (oicp-2.3.md §6), ~2 KB each as
JSON and ~4.6 KB each as a parsed ``dict``: the raw records cannot live in memory. Three layers:

* **The store** (durable, the source of truth after a restart): one object per EVSE of kind
  :data:`EVSE_KIND`, keyed by EvseID under the pseudo owner :data:`RAW_OWNER`, holding the record
  as received (without ``deltaType``/``lastUpdate``) plus what the index needs
  (:func:`row_data`). EVSE pricing (PullEVSEPricing) is kept the same way under
  :data:`PRICING_KIND`. Deleted EVSEs lose their row: their tombstone is the OCPI EVSE with status
  ``REMOVED`` in its Location (OCPI never deletes Locations, ocpi.md §3.6).
* **The index** (:class:`EvseCache`, every EVSE, in memory): per EvseID one plain tuple
  ``(LocationRef, fingerprint)``. A :data:`LocationRef` ``(country_code, party_id, location_id,
  group, operator_id)`` is one shared tuple per Location, its strings interned; the fingerprint is
  a 63-bit BLAKE2b of the record's JSON (an unchanged record is recognised without reading
  anything). Plain tuples of strings and ints are untracked by CPython's cyclic GC after one pass,
  so a million entries cost no collection time; ``bench/bench_evse_cache.py`` measures the bytes
  per EVSE.
* **Hot data**: the EVSE status (PullEvseStatus every minute) in a ``dict`` EvseID → interned
  OICP EvseStatus string; the raw records of recently used EVSEs in a bounded ``cachetools``
  LRU in front of the store (:meth:`EvseCache.record`).

:class:`GcPause` pauses the cyclic GC while a page of records is turned into objects (the GC
otherwise runs a collection every 700 allocations over a young generation full of live objects)
and :func:`settle_gc` freezes what survives a bulk load into the permanent generation.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import sys
from collections import Counter
from collections.abc import Iterator, KeysView, Mapping
from typing import TYPE_CHECKING, Any, Final

from cachetools import LRUCache

if TYPE_CHECKING:
    from bridge.store.base import DataApi

log = logging.getLogger("bridge.evse_cache")

EVSE_KIND: Final = "oicp.evse"
"""Store kind of the raw EVSE data rows (one per EvseID)."""

PRICING_KIND: Final = "oicp.evse_pricing"
"""Store kind of the EVSE pricing rows (PullEVSEPricing: EvseID → ProductIDs)."""

RAW_OWNER: Final = ("ZZ", "HBS")
"""The (country_code, party_id) the raw rows are stored under: they are addressed by EvseID
alone, and ``ZZ`` is no country (ISO 3166 user-assigned), so no OCPI party can clash."""

HUBJECT_PARTNER: Final = "oicp:hubject"
"""The ``partner`` of everything stored from Hubject data (not a valid configured partner name)."""

_SCAN_PAGE: Final = 5000

LocationRef = tuple[str, str, str, int, str]
"""``(country_code, party_id, location_id, group, operator_id)`` of the Location an EVSE is in;
``group`` is the 63-bit digest of the mapping's group key (mappings.locations ``group_by``)."""

Entry = tuple[LocationRef, int]
"""One EVSE in the index: its Location and the fingerprint of its record."""


def digest63(data: bytes) -> int:
    """A stable 63-bit digest (BLAKE2b): fits a signed 64-bit integer in any store."""
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big") >> 1


def row_data(record: dict[str, Any], fingerprint: int, ref: LocationRef) -> dict[str, Any]:
    """The store row of one EVSE: the raw record and its index entry."""
    return {"rec": record, "fp": fingerprint, "loc": list(ref[:3]), "g": ref[3], "op": ref[4]}


class GcPause:
    """``with GcPause(enabled):`` disables the cyclic GC for a bulk section; nested and concurrent
    sections share one pause (the GC comes back when the last one leaves). Reference counting still
    frees everything that is not in a cycle, so memory stays bounded by the page being processed."""

    _depth = 0
    _was_enabled = True

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled

    def __enter__(self) -> GcPause:
        if self.enabled:
            if GcPause._depth == 0:
                GcPause._was_enabled = gc.isenabled()
                gc.disable()
            GcPause._depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            GcPause._depth -= 1
            if GcPause._depth == 0 and GcPause._was_enabled:
                gc.enable()


def settle_gc(enabled: bool = True) -> None:
    """After a bulk load: collect once, then move every surviving object to the permanent
    generation (``gc.freeze``), so later collections do not walk the cache again."""
    if enabled and GcPause._depth == 0:
        gc.collect()
        gc.freeze()


class EvseCache:
    """The in-memory index of every cached EVSE, the hot statuses and the raw-record LRU (see the
    module docstring). Not thread-safe; one per gateway process (``services["emsp_data"]``)."""

    def __init__(self, *, record_cache_size: int = 10_000) -> None:
        self._entries: dict[str, Entry] = {}
        self._groups: dict[int, LocationRef] = {}
        self._status: dict[str, str] = {}
        self._pricing: dict[str, tuple[str, ...]] = {}
        self._records: LRUCache[str, dict[str, Any]] = LRUCache(maxsize=max(1, record_cache_size))
        self.loaded = False

    # ---- the index --------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, evse_id: object) -> bool:
        return evse_id in self._entries

    def evse_ids(self) -> KeysView[str]:
        return self._entries.keys()

    def entry(self, evse_id: str) -> Entry | None:
        return self._entries.get(evse_id)

    def ref(self, evse_id: str) -> LocationRef | None:
        entry = self._entries.get(evse_id)
        return entry[0] if entry is not None else None

    def group(self, group: int) -> LocationRef | None:
        """The Location a group of EVSEs currently makes."""
        return self._groups.get(group)

    def make_ref(
        self, country_code: str, party_id: str, location_id: str, group: int, operator_id: str
    ) -> LocationRef:
        """The shared :data:`LocationRef` for these values (one tuple per Location, strings interned)."""
        known = self._groups.get(group)
        if (
            known is not None
            and known[:3] == (country_code, party_id, location_id)
            and known[4] == operator_id
        ):
            return known
        return (
            sys.intern(country_code),
            sys.intern(party_id),
            sys.intern(location_id),
            group,
            sys.intern(operator_id),
        )

    def put(
        self, evse_id: str, ref: LocationRef, fingerprint: int, record: dict[str, Any] | None = None
    ) -> None:
        """Index one EVSE (and remember its raw record in the LRU when given)."""
        self._entries[evse_id] = (ref, fingerprint)
        self._groups[ref[3]] = ref
        if record is not None:
            self._records[evse_id] = record

    def remove(self, evse_id: str) -> Entry | None:
        """Forget one EVSE and its status (its pricing is Hubject's separate data and stays until
        the next pricing pull); returns its last entry."""
        self._records.pop(evse_id, None)
        self._status.pop(evse_id, None)
        return self._entries.pop(evse_id, None)

    def set_group(self, group: int, ref: LocationRef | None) -> None:
        """The Location a group makes now (None: the group has no Location any more)."""
        if ref is None:
            self._groups.pop(group, None)
        else:
            self._groups[group] = ref

    def operators(self) -> Counter[str]:
        """OperatorID → number of cached EVSEs."""
        counts: Counter[str] = Counter()
        for ref, _ in self._entries.values():
            counts[ref[4]] += 1
        return counts

    def by_operator(self, operator_ids: set[str]) -> Iterator[str]:
        """The EvseIDs of these operators."""
        return (evse_id for evse_id, (ref, _) in self._entries.items() if ref[4] in operator_ids)

    # ---- hot statuses -----------------------------------------------------------------------

    def status(self, evse_id: str) -> str | None:
        """The last OICP EvseStatus seen for the EVSE (PullEvseStatus), or None."""
        return self._status.get(evse_id)

    def set_status(self, evse_id: str, status: str) -> None:
        self._status[evse_id] = sys.intern(status)

    def statuses(self, evse_ids: Iterator[str] | list[str]) -> dict[str, str]:
        """EvseID → status for the given EVSEs that have one."""
        return {evse_id: self._status[evse_id] for evse_id in evse_ids if evse_id in self._status}

    def prune_statuses(self) -> int:
        """Drop the statuses of EVSEs that are not in the index (after a full pull); return how many."""
        stale = [evse_id for evse_id in self._status if evse_id not in self._entries]
        for evse_id in stale:
            del self._status[evse_id]
        return len(stale)

    # ---- EVSE pricing -----------------------------------------------------------------------

    def pricing(self, evse_id: str) -> tuple[str, ...]:
        """The ProductIDs Hubject lists for the EVSE (PullEVSEPricing), or ()."""
        return self._pricing.get(evse_id, ())

    def set_pricing(self, evse_id: str, products: tuple[str, ...]) -> None:
        if products:
            self._pricing[evse_id] = tuple(sys.intern(p) for p in products)
        else:
            self._pricing.pop(evse_id, None)

    def priced(self) -> Mapping[str, tuple[str, ...]]:
        return self._pricing

    # ---- raw records ------------------------------------------------------------------------

    async def record(self, data: DataApi, evse_id: str) -> dict[str, Any] | None:
        """The raw record of an EVSE (wire JSON as Hubject sent it): the LRU, else the store."""
        cached = self._records.get(evse_id)
        if cached is not None:
            return cached
        row = await data.get_object(EVSE_KIND, RAW_OWNER[0], RAW_OWNER[1], evse_id)
        if row is None:
            return None
        record: dict[str, Any] = row.data["rec"]
        self._records[evse_id] = record
        return record

    # ---- loading from the store ---------------------------------------------------------------

    async def load(self, data: DataApi, *, gc_tweak: bool = True) -> int:
        """Rebuild the index and the pricing map from the store rows; return the EVSE count.

        Read in pages of 5000 rows in creation order; only the index fields are kept.
        """
        self._entries.clear()
        self._groups.clear()
        self._pricing.clear()
        self._records.clear()
        with GcPause(gc_tweak):
            offset = 0
            while True:
                rows, _ = await data.list_objects(EVSE_KIND, offset=offset, limit=_SCAN_PAGE)
                for row in rows:
                    cc, pid, location_id = row.data["loc"]
                    ref = self.make_ref(cc, pid, location_id, int(row.data["g"]), row.data["op"])
                    self.put(sys.intern(row.object_id), ref, int(row.data["fp"]))
                offset += len(rows)
                if len(rows) < _SCAN_PAGE:
                    break
            offset = 0
            while True:
                rows, _ = await data.list_objects(PRICING_KIND, offset=offset, limit=_SCAN_PAGE)
                for row in rows:
                    self.set_pricing(row.object_id, tuple(row.data.get("products") or ()))
                offset += len(rows)
                if len(rows) < _SCAN_PAGE:
                    break
        self.loaded = True
        settle_gc(gc_tweak)
        log.info("EVSE cache loaded: %d EVSEs, %d priced", len(self._entries), len(self._pricing))
        return len(self._entries)


__all__ = [
    "EVSE_KIND",
    "HUBJECT_PARTNER",
    "PRICING_KIND",
    "RAW_OWNER",
    "Entry",
    "EvseCache",
    "GcPause",
    "LocationRef",
    "digest63",
    "row_data",
    "settle_gc",
]
