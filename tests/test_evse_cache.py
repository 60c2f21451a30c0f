"""The EVSE cache (bridge.evse_cache): compact index entries, hot statuses, pricing, the raw-record
LRU in front of a real store, rebuilding the index from the store rows, and the GC helpers."""

from __future__ import annotations

import gc
import sys
from datetime import UTC, datetime
from pathlib import Path

from bridge.evse_cache import (
    EVSE_KIND,
    HUBJECT_PARTNER,
    PRICING_KIND,
    RAW_OWNER,
    EvseCache,
    GcPause,
    digest63,
    row_data,
    settle_gc,
)
from bridge.store import open_store

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_refs_are_shared_and_interned() -> None:
    cache = EvseCache()
    group = digest63(b"pool|DEABCPPOOL1")
    first = cache.make_ref("DE", "ABC", "LOC1", group, "DE*ABC")
    cache.put("DE*ABC*E1", first, 11)
    again = cache.make_ref("DE", "ABC", "".join(["LOC", "1"]), group, "DE*ABC")
    assert again is first, "one tuple per Location"
    cache.put("DE*ABC*E2", again, 12)
    assert cache.ref("DE*ABC*E1") is cache.ref("DE*ABC*E2")
    other = cache.make_ref("DE", "ABC", "".join(["LOC", "2"]), digest63(b"other"), "DE*ABC")
    assert other[2] is sys.intern("LOC2")
    assert cache.entry("DE*ABC*E1") == (first, 11)
    assert cache.group(group) is first and len(cache) == 2 and "DE*ABC*E2" in cache
    assert cache.operators() == {"DE*ABC": 2}
    assert sorted(cache.by_operator({"DE*ABC"})) == ["DE*ABC*E1", "DE*ABC*E2"]


def test_digest_is_stable_and_fits_a_signed_64_bit_integer() -> None:
    value = digest63(b'{"EvseID":"DE*ABC*E1"}')
    assert value == digest63(b'{"EvseID":"DE*ABC*E1"}') and 0 <= value < 2**63
    assert value != digest63(b'{"EvseID":"DE*ABC*E2"}')


def test_statuses_are_interned_and_pruned_with_the_index() -> None:
    cache = EvseCache()
    ref = cache.make_ref("DE", "ABC", "L", 1, "DE*ABC")
    cache.put("DE*ABC*E1", ref, 1)
    cache.set_status("DE*ABC*E1", "".join(["Avail", "able"]))
    cache.set_status("DE*ABC*E9", "Occupied")
    assert cache.status("DE*ABC*E1") is sys.intern("Available")
    assert cache.statuses(["DE*ABC*E1", "DE*ABC*E2"]) == {"DE*ABC*E1": "Available"}
    assert cache.prune_statuses() == 1 and cache.status("DE*ABC*E9") is None
    cache.set_pricing("DE*ABC*E1", ("AC 1", "DC 1"))
    assert cache.remove("DE*ABC*E1") == (ref, 1)
    assert cache.status("DE*ABC*E1") is None and cache.ref("DE*ABC*E1") is None
    assert cache.pricing("DE*ABC*E1") == ("AC 1", "DC 1"), "pricing is Hubject's own data"
    cache.set_pricing("DE*ABC*E1", ())
    assert cache.pricing("DE*ABC*E1") == () and not cache.priced()


def test_index_entries_are_not_tracked_by_the_cyclic_gc() -> None:
    cache = EvseCache()
    for index in range(100):
        ref = cache.make_ref("DE", "ABC", f"L{index}", index, "DE*ABC")
        cache.put(f"DE*ABC*E{index}", ref, digest63(str(index).encode()))
    gc.collect()
    entry = cache.entry("DE*ABC*E5")
    assert entry is not None
    assert not gc.is_tracked(entry) and not gc.is_tracked(entry[0]), "plain tuples of atoms are untracked"


def test_gc_pause_nests_and_restores() -> None:
    assert gc.isenabled()
    with GcPause():
        assert not gc.isenabled()
        with GcPause():
            assert not gc.isenabled()
        assert not gc.isenabled(), "the outer section still runs"
    assert gc.isenabled()
    with GcPause(enabled=False):
        assert gc.isenabled()
    before = gc.get_freeze_count()
    settle_gc()
    assert gc.get_freeze_count() >= before
    gc.unfreeze()


async def test_load_rebuilds_the_index_and_the_lru_reads_through_the_store(tmp_path: Path) -> None:
    store = await open_store(f"sqlite:///{tmp_path / 'cache.db'}")
    try:
        writer = EvseCache()
        refs = {}
        async with store.transaction() as tx:
            for index in range(12):
                group = index // 3
                ref = writer.make_ref("DE", "ABC", f"POOL{group}", group, "DE*ABC")
                refs[f"DE*ABC*E{index}"] = ref
                record = {"EvseID": f"DE*ABC*E{index}", "Plugs": ["Type 2 Outlet"]}
                data = row_data(record, 100 + index, ref)
                await tx.put_object(
                    EVSE_KIND, *RAW_OWNER, f"DE*ABC*E{index}", data, NOW, partner=HUBJECT_PARTNER
                )
            await tx.put_object(PRICING_KIND, *RAW_OWNER, "DE*ABC*E1", {"products": ["AC 1"]}, NOW)

        cache = EvseCache(record_cache_size=2)
        assert await cache.load(store) == 12 and cache.loaded
        assert cache.entry("DE*ABC*E4") == (("DE", "ABC", "POOL1", 1, "DE*ABC"), 104)
        assert cache.ref("DE*ABC*E3") is cache.ref("DE*ABC*E5"), "rows of one Location share their ref"
        assert cache.group(3) == ("DE", "ABC", "POOL3", 3, "DE*ABC")
        assert cache.pricing("DE*ABC*E1") == ("AC 1",)

        record = await cache.record(store, "DE*ABC*E7")
        assert record == {"EvseID": "DE*ABC*E7", "Plugs": ["Type 2 Outlet"]}
        await store.delete_object(EVSE_KIND, *RAW_OWNER, "DE*ABC*E7")
        assert await cache.record(store, "DE*ABC*E7") == record, "served from the LRU"
        await cache.record(store, "DE*ABC*E8")
        await cache.record(store, "DE*ABC*E9")
        assert await cache.record(store, "DE*ABC*E7") is None, "evicted (2 entries), gone from the store"
        assert await cache.record(store, "DE*ABC*E99") is None
    finally:
        gc.unfreeze()
        await store.close()
