"""``ocpi-oicp-bridge outbox``: list, retry, release and purge, through ``bridge.cli.main`` on the
real store (SQLite and PostgreSQL), next to real delivery workers (docs/delivery.md).

The CLI runs in a worker thread (it has its own event loop, as from a shell) while the test's
loop keeps the store and the workers it shares the database with.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bridge.cli import main
from bridge.delivery import Delivery, DeliverySettings, Outcome, RetryPolicy
from bridge.store import OutboxMessage, Store
from bridge.store.base import utcnow
from tests.store.conftest import Backend
from tests.support.gateway import write_config

TOKEN = "Emsp-Token-7d21c0"  # an OCPI token in a payload: printed only with --show-payload
TARGET = "hubject"


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """A fresh SQLite file or PostgreSQL schema (tests/store/conftest.py; PostgreSQL skipped only
    when unreachable and CI is unset)."""
    made = Backend(request.param, tmp_path)
    try:
        yield made
    finally:
        made.drop()


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Store]:
    opened = await backend.open()
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def config(backend: Backend, tmp_path: Path) -> Path:
    return write_config(tmp_path, store=backend.url)


async def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def enqueue(store: Store, key: str, *, kind: str = "cdr", order_key: str | None = None) -> int:
    message_id = await store.enqueue(
        TARGET, kind, {"token": {"uid": TOKEN}, "cdr": key}, key=key, order_key=order_key
    )
    assert message_id is not None
    return message_id


async def get(store: Store, message_id: int) -> OutboxMessage:
    message = await store.get_outbox_message(message_id)
    assert message is not None
    return message


def rows(out: str) -> dict[str, list[str]]:
    """The table's data rows by message id (cells split on runs of two spaces)."""
    lines = out.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("ID "))
    table: dict[str, list[str]] = {}
    for line in lines[start + 1 :]:
        if not line or not line[0].isdigit():
            break
        cells = [cell.strip() for cell in line.split("  ") if cell.strip()]
        table[cells[0]] = cells
    return table


class Recorder:
    """A sender that needs the Hubject SessionID of the CDR's session (oicp-2.3.md §8 point 1):
    without it the CDR is held, never dropped."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.sent: list[str] = []

    async def __call__(self, message: OutboxMessage) -> Outcome:
        session = await self.store.get_correlation("ocpi_session->oicp_session", message.order_key or "")
        if session is None:
            return Outcome.hold(f"no Hubject SessionID for session {message.order_key}")
        self.sent.append(message.key or "")
        return Outcome.delivered()


async def test_list_prints_counts_and_a_table_without_payloads(
    store: Store, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pending = await enqueue(store, "CDR-1", order_key="s1")
    delivered = await enqueue(store, "CDR-2")
    dead = await enqueue(store, "CDR-3", kind="evse_status")
    held = await enqueue(store, "CDR-4", order_key="s4")
    other = await store.enqueue("cpo-backend", "command_result", {"result": "ACCEPTED"})
    assert other is not None
    await store.mark_delivered(delivered)
    await store.mark_dead(dead, "PartnerError: refused (HTTP 200, code 018)\nsecond line")
    await store.hold(held, "no Hubject SessionID for session s4")

    code, out, err = await cli(capsys, "outbox", "--config", str(config), "list")
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "outbox: pending 2, delivered 1, dead 1, held 1"
    assert out.splitlines()[1].split() == [
        "ID", "STATUS", "TARGET", "KIND", "KEY", "ORDER_KEY", "ATTEMPTS", "NEXT_TRY", "LEASE", "LAST_ERROR",
    ]
    table = rows(out)
    assert list(table) == [str(i) for i in (pending, delivered, dead, held, other)]
    assert table[str(pending)][:7] == [str(pending), "pending", TARGET, "cdr", "CDR-1", "s1", "0"]
    assert table[str(pending)][7].endswith("Z")
    assert table[str(dead)][1:4] == ["dead", TARGET, "evse_status"]
    assert table[str(dead)][-1] == "PartnerError: refused (HTTP 200, code 018) second line"
    assert table[str(held)][-1] == "no Hubject SessionID for session s4"
    assert table[str(other)][2:5] == ["cpo-backend", "command_result", "-"]
    assert TOKEN not in out and "ACCEPTED" not in out

    code, out, _ = await cli(capsys, "outbox", "--config", str(config), "list", "--status", "held")
    assert code == 0 and list(rows(out)) == [str(held)]
    code, out, _ = await cli(capsys, "outbox", "--config", str(config), "list", "--target", "cpo-backend")
    assert code == 0 and list(rows(out)) == [str(other)]
    code, out, _ = await cli(capsys, "outbox", "--config", str(config), "list", "--target", "nobody")
    assert code == 0 and out.splitlines()[-1] == "no messages"
    code, out, _ = await cli(capsys, "outbox", "--config", str(config), "list", "--limit", "2")
    assert list(rows(out)) == [str(pending), str(delivered)]
    assert out.splitlines()[-1] == "more messages: use --offset 2"
    code, out, _ = await cli(capsys, "outbox", "--config", str(config), "list", "--offset", "4")
    assert list(rows(out)) == [str(other)] and "more messages" not in out

    code, out, _ = await cli(
        capsys, "outbox", "--config", str(config), "list", "--status", "pending", "--show-payload"
    )
    assert code == 0
    assert f'payload: {{"cdr":"CDR-1","token":{{"uid":"{TOKEN}"}}}}' in out.splitlines()
    assert 'payload: {"result":"ACCEPTED"}' in out.splitlines()


async def test_a_held_cdr_is_retried_through_the_cli(
    store: Store, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sender = Recorder(store)
    delivery = Delivery(store, DeliverySettings(send_timeout=10, lease_seconds=30))
    delivery.register("cdr", sender)
    held = await enqueue(store, "CDR-A", order_key="session-A")
    behind = await enqueue(store, "CDR-A2", order_key="session-A")
    assert await delivery.run_once() == 1
    assert (await get(store, held)).status == "held"
    assert await delivery.run_once() == 0, "the held CDR blocks its session's group"

    code, out, _ = await cli(capsys, "outbox", "--config", str(config), "list", "--status", "held")
    assert code == 0
    assert rows(out)[str(held)][-1] == "no Hubject SessionID for session session-A"

    # The SessionID arrives (AuthorizeStart answered late); the operator retries the CDR.
    await store.put_correlation("ocpi_session->oicp_session", "session-A", "b2c4e1f0-hubject-session")
    code, out, err = await cli(capsys, "outbox", "--config", str(config), "retry", str(held))
    assert (code, err) == (0, "")
    assert out.strip() == f"message {held} (cdr to {TARGET}, key CDR-A): held -> pending, next try now"
    retried = await get(store, held)
    assert (retried.status, retried.attempts) == ("pending", 0)

    while await delivery.run_once():
        pass
    assert sender.sent == ["CDR-A", "CDR-A2"]
    assert [(await get(store, m)).status for m in (held, behind)] == ["delivered", "delivered"]


async def test_a_dead_letter_is_retried_with_fresh_attempts(
    store: Store, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = [Outcome.retry("HTTP 503"), Outcome.retry("HTTP 503"), Outcome.delivered()]

    async def flaky(message: OutboxMessage) -> Outcome:
        return answers.pop(0)

    now = utcnow() + timedelta(minutes=1)
    delivery = Delivery(
        store,
        DeliverySettings(send_timeout=10, lease_seconds=30, default_retry=RetryPolicy(max_attempts=2)),
        clock=lambda: now,
    )
    delivery.register("cdr", flaky)
    message_id = await enqueue(store, "CDR-D")
    assert await delivery.run_once() == 1
    now = (await get(store, message_id)).available_at
    assert await delivery.run_once() == 1
    dead = await get(store, message_id)
    assert (dead.status, dead.attempts, dead.last_error) == ("dead", 2, "gave up after 2 attempts: HTTP 503")

    code, out, _ = await cli(capsys, "outbox", "--config", str(config), "retry", str(message_id))
    assert code == 0 and "dead -> pending" in out
    revived = await get(store, message_id)
    assert (revived.status, revived.attempts) == ("pending", 0)
    assert revived.available_at <= utcnow(), "due now"
    assert await delivery.run_once() == 1
    assert (await get(store, message_id)).status == "delivered"


async def test_retry_refuses_what_is_not_dead_or_held(
    store: Store, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pending = await enqueue(store, "CDR-P")
    delivered = await enqueue(store, "CDR-Q")
    await store.mark_delivered(delivered)
    code, out, err = await cli(capsys, "outbox", "--config", str(config), "retry", str(pending))
    assert (code, out) == (1, "")
    assert err.strip() == (
        f"error: message {pending} (cdr to {TARGET}, key CDR-P) is pending, not dead or held"
        " (use release to try a pending message now)"
    )
    code, _, err = await cli(capsys, "outbox", "--config", str(config), "retry", str(delivered))
    assert code == 1 and "is delivered, not dead or held" in err
    code, _, err = await cli(capsys, "outbox", "--config", str(config), "retry", "999999")
    assert (code, err.strip()) == (1, "error: no outbox message 999999")
    assert (await get(store, pending)).status == "pending"
    assert (await get(store, delivered)).status == "delivered"


async def test_release_makes_a_waiting_message_due_and_guards_live_leases(
    store: Store, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    waiting = await enqueue(store, "CDR-W")
    await store.mark_failed(waiting, "HTTP 503", utcnow() + timedelta(hours=2))
    code, out, err = await cli(capsys, "outbox", "--config", str(config), "release", str(waiting))
    assert (code, err) == (0, "")
    assert out.strip() == f"message {waiting} (cdr to {TARGET}, key CDR-W): released, next try now"
    released = await get(store, waiting)
    assert released.available_at <= utcnow() and released.attempts == 2
    assert released.last_error == "HTTP 503 (released by an operator)"

    leased = await enqueue(store, "CDR-L")
    claimed = await store.claim(utcnow(), owner="gw-2:4242:9f1e#7", lease_seconds=600)
    assert leased in [m.id for m in claimed]
    code, out, err = await cli(capsys, "outbox", "--config", str(config), "list")
    assert rows(out)[str(leased)][8].startswith("gw-2:4242:9f1e#7 until ")
    code, out, err = await cli(capsys, "outbox", "--config", str(config), "release", str(leased))
    assert code == 1 and out == ""
    assert "is leased by gw-2:4242:9f1e#7 until" in err and "--force" in err
    assert (await get(store, leased)).lease_owner == "gw-2:4242:9f1e#7"
    code, out, _ = await cli(capsys, "outbox", "--config", str(config), "release", str(leased), "--force")
    assert code == 0 and "released" in out
    assert (await get(store, leased)).lease_owner is None

    held = await enqueue(store, "CDR-H")
    await store.hold(held, "no SessionID")
    code, _, err = await cli(capsys, "outbox", "--config", str(config), "release", str(held))
    assert code == 1 and err.strip().endswith("is held, not pending (use retry)")


async def test_purge_deletes_old_delivered_and_optionally_dead_messages(
    store: Store, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    delivered = [await enqueue(store, f"CDR-{n}") for n in range(3)]
    for message_id in delivered:
        await store.mark_delivered(message_id)
    dead = await enqueue(store, "CDR-dead")
    await store.mark_dead(dead, "refused")
    pending = await enqueue(store, "CDR-pending")
    held = await enqueue(store, "CDR-held")
    await store.hold(held, "no SessionID")

    code, out, _ = await cli(
        capsys, "outbox", "--config", str(config), "purge", "--delivered-before", "2000-01-01"
    )
    assert code == 0
    assert out.strip() == "purged 0 delivered message(s) last updated before 2000-01-01T00:00:00Z"
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    code, out, _ = await cli(
        capsys, "outbox", "--config", str(config), "purge", "--delivered-before", tomorrow
    )
    assert code == 0 and out.startswith("purged 3 delivered message(s)")
    assert await store.outbox_counts() == {"pending": 1, "delivered": 0, "dead": 1, "held": 1}
    soon = (datetime.now(UTC) + timedelta(hours=1)).replace(tzinfo=None).isoformat(timespec="seconds")
    code, out, _ = await cli(
        capsys, "outbox", "--config", str(config), "purge", "--delivered-before", soon, "--dead"
    )
    assert code == 0 and out.startswith("purged 1 delivered and dead message(s)")
    assert [m.id for m in await store.list_outbox()] == [pending, held]
    assert await store.enqueue(TARGET, "cdr", {}, key="CDR-0") is not None, "purged keys are free again"


def test_bad_arguments_and_configuration_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, store=f"sqlite:///{tmp_path / 'bridge.db'}")
    with pytest.raises(SystemExit) as exited:
        main(["outbox", "--config", str(config), "purge", "--delivered-before", "last tuesday"])
    assert exited.value.code == 2
    assert "not an ISO 8601 date or date-time: 'last tuesday'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["outbox", "--config", str(config), "list", "--status", "lost"])
    capsys.readouterr()
    assert main(["outbox", "--config", str(tmp_path / "missing.yaml"), "list"]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert main(["outbox", "--config", str(config), "list", "--limit", "0"]) == 1
    assert "--limit" in capsys.readouterr().err
