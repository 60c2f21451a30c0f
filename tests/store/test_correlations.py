"""Id correlations, durable sequences and small state (OICP LastCall watermarks)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bridge.store import Store


async def test_correlation_put_get_find_delete(store: Store) -> None:
    await store.put_correlation("session", "ocpi-s-1", "oicp-uuid-1", {"partner": "cpo-nl"})
    got = await store.get_correlation("session", "ocpi-s-1")
    assert got is not None
    assert (got.kind, got.key, got.value) == ("session", "ocpi-s-1", "oicp-uuid-1")
    assert got.data == {"partner": "cpo-nl"}
    found = await store.find_correlation_by_value("session", "oicp-uuid-1")
    assert found == got
    assert await store.get_correlation("reservation", "ocpi-s-1") is None  # kinds are separate
    assert await store.find_correlation_by_value("reservation", "oicp-uuid-1") is None
    assert await store.get_correlation("session", "OCPI-S-1") is None  # keys are exact
    assert await store.delete_correlation("session", "ocpi-s-1") is True
    assert await store.delete_correlation("session", "ocpi-s-1") is False
    assert await store.get_correlation("session", "ocpi-s-1") is None
    assert await store.find_correlation_by_value("session", "oicp-uuid-1") is None


async def test_correlation_upsert_replaces_value_and_data(store: Store) -> None:
    await store.put_correlation("command", "resp-1", "START_SESSION", {"attempt": 1})
    first = await store.get_correlation("command", "resp-1")
    await store.put_correlation("command", "resp-1", "STOP_SESSION")
    second = await store.get_correlation("command", "resp-1")
    assert first is not None and second is not None
    assert second.value == "STOP_SESSION" and second.data is None
    assert second.created_at == first.created_at and second.updated_at >= first.updated_at
    assert await store.find_correlation_by_value("command", "START_SESSION") is None


async def test_find_by_value_returns_the_latest_written_key(store: Store) -> None:
    await store.put_correlation("reservation", "r-old", "42")
    await store.put_correlation("reservation", "r-new", "42")
    found = await store.find_correlation_by_value("reservation", "42")
    assert found is not None and found.key == "r-new"


async def test_sequences_count_per_name_and_survive_reopening(
    store: Store, open_stores: Callable[[], Awaitable[Store]]
) -> None:
    assert [await store.next_sequence("reservation_id") for _ in range(3)] == [1, 2, 3]
    assert await store.next_sequence("other") == 1
    await store.close()
    reopened = await open_stores()
    assert await reopened.next_sequence("reservation_id") == 4
    assert await reopened.next_sequence("other") == 2


async def test_state_get_set_replace(store: Store) -> None:
    assert await store.get_state("oicp.last_call.pull_evse_data") is None
    await store.set_state("oicp.last_call.pull_evse_data", {"last_call": "2025-03-01T12:00:00Z"})
    await store.set_state("other", {"n": [1, 2]})
    assert await store.get_state("oicp.last_call.pull_evse_data") == {"last_call": "2025-03-01T12:00:00Z"}
    await store.set_state("oicp.last_call.pull_evse_data", {"last_call": "2025-03-02T00:00:00Z"})
    assert await store.get_state("oicp.last_call.pull_evse_data") == {"last_call": "2025-03-02T00:00:00Z"}
    assert await store.get_state("other") == {"n": [1, 2]}
