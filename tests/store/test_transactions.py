"""Transactions: a flow stores an object and its outbox messages together or not at all
(architecture.md "Data flow": in)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bridge.errors import StoreError
from bridge.store import PartnerRecord, Store

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class FlowFailed(Exception):
    pass


async def test_commit_makes_object_and_message_visible_together(store: Store) -> None:
    async with store.transaction() as tx:
        assert await tx.put_object("sessions", "NL", "EXA", "S1", {"id": "S1"}, T0) is True
        message_id = await tx.enqueue("hubject", "session", {"id": "S1"}, key="S1", available_at=T0)
        # inside the transaction the writes are visible to the transaction itself
        assert await tx.get_object("sessions", "nl", "exa", "s1") is not None
        assert (await tx.outbox_counts())["pending"] == 1
    assert await store.get_object("sessions", "NL", "EXA", "S1") is not None
    assert message_id is not None and await store.get_outbox_message(message_id) is not None


async def test_exception_rolls_back_object_and_message(store: Store) -> None:
    with pytest.raises(FlowFailed):
        async with store.transaction() as tx:
            await tx.put_object("cdrs", "NL", "EXA", "CDR1", {"id": "CDR1"}, T0)
            await tx.enqueue("hubject", "cdr", {"id": "CDR1"}, key="CDR1", available_at=T0)
            await tx.put_correlation("session", "S1", "uuid-1")
            await tx.set_state("watermark", {"at": 1})
            raise FlowFailed("mapping failed")
    assert await store.get_object("cdrs", "NL", "EXA", "CDR1") is None
    assert await store.list_outbox() == []
    assert await store.outbox_counts() == {"pending": 0, "delivered": 0, "dead": 0, "held": 0}
    assert await store.get_correlation("session", "S1") is None
    assert await store.get_state("watermark") is None
    # the idempotency key was not consumed by the rolled-back enqueue
    assert await store.enqueue("hubject", "cdr", {"id": "CDR1"}, key="CDR1") is not None


async def test_a_store_error_inside_rolls_back_everything(store: Store) -> None:
    await store.save_partner(PartnerRecord(name="one", role="CPO"))
    await store.save_partner(PartnerRecord(name="two", role="CPO"))
    await store.set_incoming_token("one", "incoming-shared-token", "CURRENT")
    with pytest.raises(StoreError):
        async with store.transaction() as tx:
            await tx.save_partner(PartnerRecord(name="two", role="CPO", status="registered"))
            await tx.set_incoming_token("two", "incoming-shared-token", "CURRENT")
    two = await store.get_partner("two")
    assert two is not None and two.status == "new"


async def test_replace_and_delete_roll_back_too(store: Store) -> None:
    await store.put_object("locations", "NL", "EXA", "L1", {"v": 1}, T0)
    await store.put_object("locations", "NL", "EXA", "L2", {"v": 2}, T0)
    with pytest.raises(FlowFailed):
        async with store.transaction() as tx:
            await tx.put_object("locations", "NL", "EXA", "L1", {"v": 99}, T0)
            await tx.delete_object("locations", "NL", "EXA", "L2")
            raise FlowFailed
    l1 = await store.get_object("locations", "NL", "EXA", "L1")
    assert l1 is not None and l1.data == {"v": 1}
    assert await store.get_object("locations", "NL", "EXA", "L2") is not None


async def test_the_tx_object_is_dead_after_the_block(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.next_sequence("n")
    with pytest.raises(RuntimeError):
        await tx.next_sequence("n")
    assert await store.next_sequence("n") == 2


async def test_store_methods_inside_a_transaction_are_refused(store: Store) -> None:
    with pytest.raises(RuntimeError, match="use the tx object"):
        async with store.transaction() as tx:
            await tx.put_object("tokens", "NL", "EXA", "T1", {}, T0)
            await store.get_object("tokens", "NL", "EXA", "T1")
    assert await store.get_object("tokens", "NL", "EXA", "T1") is None
    with pytest.raises(RuntimeError):
        async with store.transaction(), store.transaction():
            pass
    # other tasks may use the store meanwhile: they wait for (SQLite) or run beside (PostgreSQL) it
    async with store.transaction() as tx:
        other = asyncio.create_task(store.next_sequence("other"))
        await tx.next_sequence("mine")
    assert await other == 1


async def test_concurrent_transactions_on_one_store_all_commit(store: Store) -> None:
    async def flow(n: int) -> None:
        async with store.transaction() as tx:
            await tx.put_object("sessions", "NL", "EXA", f"S{n}", {"n": n}, T0)
            await asyncio.sleep(0)
            await tx.enqueue("hubject", "session", {"n": n}, key=f"S{n}", order_key=f"S{n}")

    await asyncio.gather(*(flow(n) for n in range(20)))
    page, total = await store.list_objects("sessions")
    assert total == 20 and sorted(o.data["n"] for o in page) == list(range(20))
    assert (await store.outbox_counts())["pending"] == 20
