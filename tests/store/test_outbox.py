"""The outbox: idempotent enqueue, leases, per-(target, order_key) FIFO, dead letters and held
messages, and the "nothing lost" rule across restarts (architecture.md "Data flow": out)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from bridge.store import OutboxMessage, Store
from bridge.store._sql import MAX_ERROR_CHARS

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


async def enqueue(store: Store, target: str, n: int, **kwargs: object) -> int:
    message_id = await store.enqueue(target, "evse_status", {"n": n}, available_at=T0, **kwargs)  # type: ignore[arg-type]
    assert message_id is not None
    return message_id


def ids(messages: list[OutboxMessage]) -> list[int]:
    return [m.id for m in messages]


async def test_enqueue_claim_deliver(store: Store) -> None:
    message_id = await store.enqueue(
        "hubject", "cdr", {"CDR": {"SessionID": "s"}}, key="cdr-1", order_key="session-1", available_at=T0
    )
    assert message_id is not None
    claimed = await store.claim(T0, owner="worker-1")
    assert len(claimed) == 1
    message = claimed[0]
    assert (message.id, message.target, message.kind, message.key, message.order_key) == (
        message_id, "hubject", "cdr", "cdr-1", "session-1",
    )
    assert message.payload == {"CDR": {"SessionID": "s"}} and message.status == "pending"
    assert message.attempts == 0 and message.last_error is None and message.available_at == T0
    assert message.lease_owner == "worker-1" and message.lease_until == T0 + 60 * SECOND
    assert await store.mark_delivered(message_id) is True
    assert await store.mark_delivered(message_id) is False
    delivered = await store.get_outbox_message(message_id)
    assert delivered is not None and delivered.status == "delivered" and delivered.lease_owner is None
    assert await store.claim(T0 + timedelta(hours=1), owner="worker-1") == []
    assert await store.get_outbox_message(message_id + 1000) is None


async def test_default_available_at_is_now(store: Store) -> None:
    before = datetime.now(UTC)
    message_id = await store.enqueue("t", "k", {})
    message = await store.get_outbox_message(message_id or 0)
    assert message is not None and before <= message.available_at <= datetime.now(UTC)
    assert ids(await store.claim(datetime.now(UTC), owner="w")) == [message_id]


async def test_enqueue_is_idempotent_on_target_kind_key(store: Store) -> None:
    first = await store.enqueue("hubject", "cdr", {"v": 1}, key="CDR-1", available_at=T0)
    assert first is not None
    assert await store.enqueue("hubject", "cdr", {"v": 2}, key="CDR-1", available_at=T0) is None
    await store.mark_delivered(first)
    assert await store.enqueue("hubject", "cdr", {"v": 3}, key="CDR-1", available_at=T0) is None
    assert await store.enqueue("hubject", "cdr", {}, key="cdr-1", available_at=T0) is not None  # exact key
    assert await store.enqueue("other", "cdr", {}, key="CDR-1", available_at=T0) is not None
    assert await store.enqueue("hubject", "session", {}, key="CDR-1", available_at=T0) is not None
    assert await store.enqueue("hubject", "cdr", {}, available_at=T0) is not None
    assert await store.enqueue("hubject", "cdr", {}, available_at=T0) is not None  # no key: no dedup
    original = await store.get_outbox_message(first)
    assert original is not None and original.payload == {"v": 1}
    assert (await store.outbox_counts())["pending"] == 5


async def test_claim_is_oldest_first_and_respects_target_limit_and_availability(store: Store) -> None:
    a1 = await enqueue(store, "a", 1)
    b1 = await enqueue(store, "b", 1)
    a2 = await enqueue(store, "a", 2)
    later = await store.enqueue("a", "k", {}, available_at=T0 + 10 * SECOND)
    assert ids(await store.claim(T0, target="a", owner="w1")) == [a1, a2]
    assert ids(await store.claim(T0, owner="w2", limit=5)) == [b1]
    assert await store.claim(T0, owner="w3", limit=0) == []
    assert await store.claim(T0 + 9 * SECOND, owner="w3") == []
    assert ids(await store.claim(T0 + 10 * SECOND, owner="w3")) == [later]


async def test_limit_takes_the_oldest(store: Store) -> None:
    created = [await enqueue(store, "t", n) for n in range(5)]
    assert ids(await store.claim(T0, owner="w", limit=2)) == created[:2]
    assert ids(await store.claim(T0, owner="v", limit=2)) == created[2:4]


async def test_leases_block_everyone_until_they_expire(store: Store) -> None:
    message_id = await enqueue(store, "t", 1)
    assert ids(await store.claim(T0, owner="w1", lease_seconds=30)) == [message_id]
    assert await store.claim(T0 + 29 * SECOND, owner="w2") == []
    # the holder itself does not get it twice while delivering it
    assert await store.claim(T0 + 10 * SECOND, owner="w1") == []
    taken = await store.claim(T0 + 30 * SECOND, owner="w2", lease_seconds=30)  # lease_until is expired
    assert ids(taken) == [message_id] and taken[0].lease_owner == "w2"
    assert taken[0].lease_until == T0 + 60 * SECOND
    assert await store.claim(T0 + 31 * SECOND, owner="w1") == []


async def test_release_leases_ends_one_owners_leases(store: Store) -> None:
    mine = [await enqueue(store, "t", n) for n in range(2)]
    theirs = await enqueue(store, "t", 3)
    assert ids(await store.claim(T0, owner="w1", limit=2)) == mine
    assert ids(await store.claim(T0, owner="w2")) == [theirs]
    await store.mark_delivered(mine[1])
    assert await store.release_leases("w1") == 1  # the delivered one holds no lease any more
    released = await store.get_outbox_message(mine[0])
    assert released is not None and released.lease_owner is None and released.lease_until is None
    assert ids(await store.claim(T0 + SECOND, owner="w1")) == [mine[0]]
    assert await store.release_leases("nobody") == 0


async def test_mark_failed_counts_attempts_and_delays(store: Store) -> None:
    message_id = await enqueue(store, "t", 1)
    await store.claim(T0, owner="w")
    assert await store.mark_failed(message_id, "HTTP 503 from partner", T0 + 30 * SECOND) is True
    failed = await store.get_outbox_message(message_id)
    assert failed is not None
    assert (failed.status, failed.attempts, failed.last_error) == ("pending", 1, "HTTP 503 from partner")
    assert failed.available_at == T0 + 30 * SECOND and failed.lease_owner is None
    assert await store.claim(T0 + 29 * SECOND, owner="other") == []
    assert ids(await store.claim(T0 + 30 * SECOND, owner="other")) == [message_id]
    await store.mark_failed(message_id, "x" * (MAX_ERROR_CHARS + 500), T0 + 60 * SECOND)
    failed = await store.get_outbox_message(message_id)
    assert failed is not None and failed.attempts == 2 and len(failed.last_error or "") == MAX_ERROR_CHARS
    await store.mark_delivered(message_id)
    assert await store.mark_failed(message_id, "late", T0) is False


async def test_fifo_per_target_and_order_key(store: Store) -> None:
    loc1 = [await enqueue(store, "hubject", n, order_key="LOC1") for n in range(3)]
    loc2 = await enqueue(store, "hubject", 9, order_key="LOC2")
    free = await enqueue(store, "hubject", 10)
    other_target = await enqueue(store, "cpo-nl", 11, order_key="LOC1")
    # only the head of each group, even for a different owner and a large limit
    assert ids(await store.claim(T0, owner="w1", limit=10)) == [loc1[0], loc2, free, other_target]
    assert await store.claim(T0, owner="w2", limit=10) == []
    # a failed head keeps blocking its group (retries must not be overtaken)
    await store.mark_failed(loc1[0], "timeout", T0 + SECOND)
    assert await store.claim(T0, owner="w2", limit=10) == []
    assert ids(await store.claim(T0 + SECOND, owner="w2", limit=10)) == [loc1[0]]
    await store.mark_delivered(loc1[0])
    assert ids(await store.claim(T0 + SECOND, owner="w2", limit=10)) == [loc1[1]]
    await store.mark_delivered(loc1[1])
    assert ids(await store.claim(T0 + SECOND, owner="w2", limit=10)) == [loc1[2]]


async def test_held_blocks_its_group_and_dead_opens_it(store: Store) -> None:
    first, second, third = [await enqueue(store, "hubject", n, order_key="S1") for n in range(3)]
    await store.claim(T0, owner="w")
    assert await store.hold(first, "CDR without SessionID") is True
    assert await store.claim(T0, owner="w") == []  # held messages block, and are never claimed
    assert await store.mark_dead(first, "given up") is True
    assert ids(await store.claim(T0, owner="w")) == [second]
    assert await store.mark_dead(second, "rejected by partner") is True
    assert ids(await store.claim(T0, owner="w")) == [third]
    # a released dead message is pending again and, being older, goes first
    assert await store.release(second, now=T0) is True
    assert ids(await store.claim(T0, owner="x")) == [second]


async def test_status_transitions(store: Store) -> None:
    message_id = await enqueue(store, "t", 1)
    assert await store.release(message_id) is False  # pending: nothing to release
    assert await store.hold(message_id, "waiting for the session id") is True
    assert await store.hold(message_id, "again") is False
    assert await store.mark_failed(message_id, "x", T0) is False
    held = await store.get_outbox_message(message_id)
    assert held is not None and held.status == "held" and held.last_error == "waiting for the session id"
    assert await store.release(message_id, now=T0 + 5 * SECOND) is True
    released = await store.get_outbox_message(message_id)
    assert released is not None and released.status == "pending"
    assert released.available_at == T0 + 5 * SECOND
    await store.mark_failed(message_id, "503", T0)
    await store.mark_failed(message_id, "503", T0)
    assert await store.mark_dead(message_id, "too many attempts") is True
    assert await store.mark_dead(message_id, "again") is False
    assert await store.hold(message_id, "x") is False
    dead = await store.get_outbox_message(message_id)
    assert dead is not None
    assert (dead.status, dead.attempts, dead.last_error) == ("dead", 2, "too many attempts")
    assert await store.release(message_id, now=T0) is True
    revived = await store.get_outbox_message(message_id)
    assert revived is not None and (revived.status, revived.attempts) == ("pending", 0)
    assert revived.last_error == "too many attempts"
    assert await store.mark_delivered(message_id) is True
    assert await store.release(message_id) is False
    assert await store.mark_dead(message_id, "x") is False
    assert await store.hold(message_id, "x") is False


async def test_list_counts_and_purge(store: Store) -> None:
    a = [await enqueue(store, "a", n) for n in range(3)]
    b = [await enqueue(store, "b", n, key=f"b{n}") for n in range(2)]
    await store.mark_delivered(a[0])
    await store.mark_dead(a[1], "no")
    await store.hold(b[0], "wait")
    assert await store.outbox_counts() == {"pending": 2, "delivered": 1, "dead": 1, "held": 1}
    assert ids(await store.list_outbox()) == [*a, *b]
    assert ids(await store.list_outbox(status="pending")) == [a[2], b[1]]
    assert ids(await store.list_outbox(target="b")) == b
    assert ids(await store.list_outbox(status="held", target="a")) == []
    assert ids(await store.list_outbox(limit=2, offset=1)) == [a[1], a[2]]
    future = datetime.now(UTC) + timedelta(hours=1)
    with pytest.raises(ValueError):
        await store.purge_outbox(future, statuses=("pending",))
    assert await store.purge_outbox(datetime.now(UTC) - timedelta(hours=1)) == 0
    await store.mark_delivered(b[1])
    assert await store.purge_outbox(future) == 2
    assert ids(await store.list_outbox()) == [a[1], a[2], b[0]]
    assert await store.enqueue("b", "evse_status", {}, key="b1") is not None  # the key is free again
    assert await store.purge_outbox(future, statuses=("dead", "delivered")) == 1
    assert await store.outbox_counts() == {"pending": 2, "delivered": 0, "dead": 0, "held": 1}


async def test_nothing_is_lost_across_close_and_reopen(
    store: Store, open_stores: Callable[[], Awaitable[Store]]
) -> None:
    message_id = await store.enqueue("hubject", "cdr", {"cdr": 1}, key="c1", order_key="s1", available_at=T0)
    leased = await store.enqueue("hubject", "cdr", {"cdr": 2}, key="c2", available_at=T0)
    assert ids(await store.claim(T0, owner="crashed-instance", target="hubject", limit=2)) == [
        message_id, leased,
    ]
    await store.close()
    reopened = await open_stores()
    claimed = await reopened.claim(T0 + timedelta(minutes=5), owner="new-instance")
    assert ids(claimed) == [message_id, leased]
    assert claimed[0].payload == {"cdr": 1} and claimed[0].order_key == "s1"
    assert await reopened.enqueue("hubject", "cdr", {}, key="c1") is None


async def test_concurrent_claimers_never_get_the_same_message(
    open_stores: Callable[[], Awaitable[Store]],
) -> None:
    first, second = await open_stores(), await open_stores()
    created = set()
    for n in range(120):
        created.add(await first.enqueue(f"target-{n % 3}", "k", {"n": n}, available_at=T0))
    got: dict[str, list[int]] = {"first": [], "second": [], "first-b": []}

    async def drain(store: Store, name: str) -> None:
        while True:
            batch = await store.claim(T0, owner=name, limit=7)
            if not batch:
                return
            got[name].extend(ids(batch))
            await asyncio.sleep(0)

    await asyncio.gather(drain(first, "first"), drain(second, "second"), drain(first, "first-b"))
    everything = [i for claimed in got.values() for i in claimed]
    assert len(everything) == len(set(everything)) == 120
    assert set(everything) == created


async def test_concurrent_claimers_keep_fifo_per_order_key(
    open_stores: Callable[[], Awaitable[Store]],
) -> None:
    first, second = await open_stores(), await open_stores()
    groups: dict[str, list[int]] = {}
    for n in range(40):
        group = f"LOC{n % 4}"
        message_id = await first.enqueue("hubject", "evse_status", {"n": n}, order_key=group, available_at=T0)
        assert message_id is not None
        groups.setdefault(group, []).append(message_id)
    delivered: list[int] = []
    in_flight: set[str] = set()

    async def deliver(store: Store, name: str) -> None:
        idle = 0
        while idle < 3:
            batch = await store.claim(T0, owner=name, limit=3)
            if not batch:
                idle += 1
                await asyncio.sleep(0)
                continue
            idle = 0
            for message in batch:
                assert message.order_key not in in_flight, "two messages of one group were leased at once"
                in_flight.add(message.order_key or "")
            for message in batch:
                await asyncio.sleep(0)
                delivered.append(message.id)
                in_flight.discard(message.order_key or "")
                assert await store.mark_delivered(message.id)

    await asyncio.gather(deliver(first, "a"), deliver(second, "b"), deliver(first, "c"), deliver(second, "d"))
    assert sorted(delivered) == sorted(i for group in groups.values() for i in group)
    for members in groups.values():
        assert [i for i in delivered if i in members] == members
