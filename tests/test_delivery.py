"""Outbox delivery workers against the real store (SQLite and PostgreSQL) and a real receiving
server (Starlette served by uvicorn on 127.0.0.1, stopped and restarted at will).

"Nothing lost" (architecture.md "Data flow": out): a message survives a partner outage, a gateway
restart and a stop in the middle of a send; it is sent in order within its (target, order_key)
group and once, even with two gateway instances on one database. Waiting for a backoff runs on an
injected clock; loops that need real time only wait for a condition, never assert durations.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bridge.app import create_app
from bridge.delivery import (
    DEAD_CODES,
    SERVICE_NAME,
    Delivery,
    DeliverySettings,
    Outcome,
    Registration,
    RetryPolicy,
    Sender,
    delivery_of,
    delivery_start_hook,
    outcome_from_error,
)
from bridge.errors import PartnerError
from bridge.oicp.client import OicpFaultError, OicpRateLimited, OicpTransientError
from bridge.store import OutboxMessage, Store
from bridge.store.base import utcnow
from tests.store.conftest import Backend
from tests.support.gateway import make_config, running

TARGET = "hubject"
TOKEN = "Secret-Token-0c8d4f"  # in payloads: must never reach a log line


# --------------------------------------------------------------------------------------------
# The other side


class Receiver:
    """A small partner: records every request and every accepted message, in arrival order.

    ``failures[key]`` answers 503 that many times first; ``always_fail`` answers 503 to all;
    ``retry_after[key]`` answers 429 once with that Retry-After; a payload with ``"refuse"``
    gets an OICP business error (StatusCode 018, HTTP 200); ``gates[key]`` makes an accepted
    request for that key wait for the event before answering.
    """

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.delivered: list[str] = []
        self.failures: dict[str, int] = {}
        self.retry_after: dict[str, int] = {}
        self.always_fail = False
        self.gates: dict[str, asyncio.Event] = {}
        self.app = Starlette(routes=[Route("/receive", self.receive, methods=["POST"])])

    async def receive(self, request: Request) -> Response:
        body = await request.json()
        key = body["key"]
        self.requests.append(key)
        if key in self.retry_after:
            return Response(status_code=429, headers={"Retry-After": str(self.retry_after.pop(key))})
        if self.always_fail or self.failures.get(key, 0) > 0:
            self.failures[key] = self.failures.get(key, 0) - 1
            return Response(status_code=503)
        if body.get("refuse"):
            return JSONResponse({"Result": False, "StatusCode": {"Code": "018"}})
        if key in self.gates:
            await self.gates[key].wait()
        self.delivered.append(key)
        await asyncio.sleep(0)
        return JSONResponse({"Result": True, "StatusCode": {"Code": "000"}})


class _QuietServer(uvicorn.Server):
    @contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def serving(app: Starlette, port: int) -> AsyncIterator[None]:
    """Serve ``app`` on 127.0.0.1:``port`` until exit (the same port again after a restart)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    config = uvicorn.Config(
        app, lifespan="off", log_config=None, access_log=False, timeout_graceful_shutdown=2
    )
    server = _QuietServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield
    finally:
        server.should_exit = True
        await task
        sock.close()


def http_sender(client: httpx.AsyncClient, url: str) -> Sender:
    """What a flow's sender does: POST the payload, turn the answer into an Outcome. HTTP errors
    and refused connections are raised (the workers count them as retryable failures)."""

    async def send(message: OutboxMessage) -> Outcome:
        response = await client.post(url, json={"key": message.key, **message.payload})
        if response.status_code == 429:
            return Outcome.retry("HTTP 429", retry_after=float(response.headers["Retry-After"]))
        if response.status_code != 200:
            raise PartnerError(f"HTTP {response.status_code}", http_status=response.status_code)
        code = response.json()["StatusCode"]["Code"]
        if code != "000":
            return outcome_from_error(PartnerError("business error", code=code, http_status=200))
        return Outcome.delivered()

    return send


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
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10.0) as client:
        yield client


def a_minute_later() -> datetime:
    """A fake clock's start: after every message the test enqueues (they are due at once)."""
    return utcnow() + timedelta(minutes=1)


class Clock:
    """An injectable clock: the workers claim and schedule retries at ``now``."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


FAST = RetryPolicy(base=0.02, cap=0.1)
"""Real-time loops: retries come quickly (no assertion depends on how quickly)."""


def fast_settings(**overrides: Any) -> DeliverySettings:
    values: dict[str, Any] = {
        "concurrency": 4,
        "poll_interval": 0.02,
        "send_timeout": 10.0,
        "lease_seconds": 30.0,
        "stop_timeout": 10.0,
        "default_retry": FAST,
    }
    values.update(overrides)
    return DeliverySettings(**values)


async def eventually(check: Callable[[], Awaitable[bool]], what: str, limit: float = 30.0) -> None:
    """Wait until ``check()`` holds (a guard against hanging, not a timing assertion)."""
    try:
        async with asyncio.timeout(limit):
            while not await check():
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"never happened: {what}") from None


@asynccontextmanager
async def running_loop(delivery: Delivery) -> AsyncIterator[asyncio.Event]:
    stop = asyncio.Event()
    task = asyncio.create_task(delivery.run(stop))
    try:
        yield stop
    finally:
        stop.set()
        await task


async def message(store: Store, message_id: int) -> OutboxMessage:
    found = await store.get_outbox_message(message_id)
    assert found is not None
    return found


async def enqueue(
    store: Store, key: str, *, order_key: str | None = None, kind: str = "cdr", **payload: Any
) -> int:
    message_id = await store.enqueue(
        TARGET, kind, {"token": TOKEN, **payload}, key=key, order_key=order_key, available_at=utcnow()
    )
    assert message_id is not None
    return message_id


def status_is(store: Store, message_id: int, status: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return (await message(store, message_id)).status == status

    return check


# --------------------------------------------------------------------------------------------
# Policies and outcomes (no store)


def test_backoff_is_exponential_with_jitter_and_capped() -> None:
    policy = RetryPolicy(base=2.0, cap=100.0, max_attempts=5)
    for attempts in range(1, 15):
        step = min(100.0, 2.0 * 2 ** (attempts - 1))
        for _ in range(20):
            assert step / 2 <= policy.delay(attempts) <= step
    assert len({policy.delay(3) for _ in range(20)}) > 1, "jittered"
    assert policy.delay(1, retry_after=3600) == 3600, "never earlier than the partner's Retry-After"
    assert policy.delay(10, retry_after=0.5) >= 50, "never faster than the backoff"
    assert [policy.gives_up(n) for n in (1, 4, 5, 6)] == [False, False, True, True]
    assert not RetryPolicy().gives_up(10**6), "None retries forever"
    for bad in ({"base": 0}, {"base": 5, "cap": 1}, {"max_attempts": 0}):
        with pytest.raises(ValueError):
            RetryPolicy(**bad)


def test_outcomes_validate_and_errors_are_classified() -> None:
    with pytest.raises(ValueError):
        Outcome("dead")
    with pytest.raises(ValueError):
        Outcome.retry("x", retry_after=-1)
    with pytest.raises(ValueError):
        Outcome("hold", "no session", retry_after=5)
    limited = outcome_from_error(OicpRateLimited("slow down", operation="cdr", retry_after=42.0))
    assert (limited.action, limited.retry_after) == ("retry", 42.0)
    assert outcome_from_error(OicpTransientError("gone", operation="cdr", http_status=503)).action == "retry"
    assert outcome_from_error(OicpTransientError("no answer", operation="cdr")).action == "retry"
    fault = outcome_from_error(OicpFaultError("Error parsing/validating JSON.", operation="cdr"))
    assert fault.action == "dead" and "HTTP 400" in (fault.reason or "")
    for code in ("017", "018", "022", 2001):
        refused = outcome_from_error(PartnerError("refused", code=code, http_status=200))
        assert refused.action == "dead" and f"code {code}" in (refused.reason or "")
    assert {"017", "018", "022"} <= DEAD_CODES
    assert outcome_from_error(PartnerError("not whitelisted", http_status=403)).action == "retry"
    assert outcome_from_error(ConnectionError("refused")).action == "retry"


def test_settings_keep_the_lease_longer_than_a_send() -> None:
    with pytest.raises(ValueError, match="lease_seconds"):
        DeliverySettings(send_timeout=60, lease_seconds=60)
    with pytest.raises(ValueError):
        DeliverySettings(concurrency=0)
    assert DeliverySettings().lease_seconds > DeliverySettings().send_timeout


# --------------------------------------------------------------------------------------------
# Nothing lost


async def test_message_enqueued_while_the_partner_is_down_goes_out_when_it_is_back(
    store: Store, http: httpx.AsyncClient
) -> None:
    receiver, port = Receiver(), free_port()
    delivery = Delivery(store, fast_settings())
    delivery.register("cdr", http_sender(http, f"http://127.0.0.1:{port}/receive"))
    first = await enqueue(store, "CDR-1", order_key="session-1")
    async with running_loop(delivery):
        delivery.notify()

        async def failed_twice() -> bool:
            return (await message(store, first)).attempts >= 2

        await eventually(failed_twice, "two refused connections recorded")
        down = await message(store, first)
        assert down.status == "pending" and "ConnectError" in (down.last_error or "")
        async with serving(receiver.app, port):
            await eventually(status_is(store, first, "delivered"), "delivered once the partner is up")
            second = await enqueue(store, "CDR-2", order_key="session-1")
            delivery.notify()
            await eventually(status_is(store, second, "delivered"), "a later message too")
        async with serving(receiver.app, port):  # the partner restarts: nothing is sent again
            third = await enqueue(store, "CDR-3")
            delivery.notify()
            await eventually(status_is(store, third, "delivered"), "after the partner's restart")
    assert receiver.delivered == ["CDR-1", "CDR-2", "CDR-3"]
    stats = await delivery.stats()
    assert stats.delivered == 3 and stats.retried >= 2 and stats.errors >= 2
    assert stats.outbox["delivered"] == 3 and stats.outbox["pending"] == 0 and not stats.running


async def test_nothing_lost_across_a_gateway_restart(backend: Backend, http: httpx.AsyncClient) -> None:
    receiver, port = Receiver(), free_port()
    url = f"http://127.0.0.1:{port}/receive"
    receiver.always_fail = True
    async with serving(receiver.app, port):
        first_store = await backend.open()
        try:
            message_id = await enqueue(first_store, "CDR-9", order_key="session-9")
            delivery = Delivery(first_store, fast_settings(default_retry=RetryPolicy(base=0.05, cap=0.2)))
            delivery.register("cdr", http_sender(http, url))
            async with running_loop(delivery):

                async def retried() -> bool:
                    return (await message(first_store, message_id)).attempts >= 2

                await eventually(retried, "the partner refused twice")
            stopped = await message(first_store, message_id)
            assert stopped.status == "pending" and stopped.lease_owner is None
            assert "HTTP 503" in (stopped.last_error or "")
        finally:
            await first_store.close()
        assert receiver.delivered == []

        receiver.always_fail = False
        second_store = await backend.open()  # the gateway starts again on the same database
        try:
            restarted = Delivery(second_store, fast_settings())
            restarted.register("cdr", http_sender(http, url))
            assert restarted.owner != delivery.owner
            async with running_loop(restarted):
                await eventually(status_is(second_store, message_id, "delivered"), "delivered after restart")
        finally:
            await second_store.close()
    assert receiver.delivered == ["CDR-9"]


# --------------------------------------------------------------------------------------------
# Order, dead letters, backoff (one step at a time on an injected clock)


async def test_order_per_order_key_holds_under_failures(store: Store, http: httpx.AsyncClient) -> None:
    receiver, port = Receiver(), free_port()
    clock = Clock(a_minute_later())
    delivery = Delivery(store, fast_settings(default_retry=RetryPolicy(base=10, cap=60)), clock=clock)
    delivery.register("session", http_sender(http, f"http://127.0.0.1:{port}/receive"))
    a1, a2, a3 = [await enqueue(store, f"A{n}", order_key="session-A", kind="session") for n in (1, 2, 3)]
    b1 = await enqueue(store, "B1", order_key="session-B", kind="session")
    receiver.failures["A1"] = 2
    async with serving(receiver.app, port):
        assert await delivery.run_once() == 2, "the heads of both groups, concurrently"
        assert receiver.delivered == ["B1"], "another group is not blocked by A1's failure"
        for blocked in (a2, a3):
            later = await message(store, blocked)
            assert (later.status, later.attempts) == ("pending", 0)
        head = await message(store, a1)
        assert head.attempts == 1 and head.available_at > clock.now

        assert await delivery.run_once() == 0, "nothing is due before the head's retry time"
        clock.now = head.available_at
        assert await delivery.run_once() == 1, "only the head: A2 still waits behind it"
        assert "A2" not in receiver.requests
        clock.now = (await message(store, a1)).available_at
        while await delivery.run_once():
            pass
    assert [key for key in receiver.requests if key.startswith("A")] == ["A1", "A1", "A1", "A2", "A3"]
    assert receiver.delivered == ["B1", "A1", "A2", "A3"]
    assert [(await message(store, m)).status for m in (a1, a2, a3, b1)] == ["delivered"] * 4


async def test_dead_outcome_dead_letters_at_once_and_opens_the_group(
    store: Store, http: httpx.AsyncClient
) -> None:
    receiver, port = Receiver(), free_port()
    delivery = Delivery(store, fast_settings())
    delivery.register("cdr", http_sender(http, f"http://127.0.0.1:{port}/receive"))
    refused = await enqueue(store, "CDR-bad", order_key="evse-1", refuse=True)
    following = await enqueue(store, "CDR-ok", order_key="evse-1")
    async with serving(receiver.app, port):
        assert await delivery.run_once() == 1
        dead = await message(store, refused)
        assert (dead.status, dead.attempts) == ("dead", 1)
        assert "code 018" in (dead.last_error or "")
        assert await delivery.run_once() == 1, "a dead head no longer blocks its group"
    assert (await message(store, following)).status == "delivered"
    assert receiver.delivered == ["CDR-ok"]
    assert (await delivery.stats()).dead == 1


async def test_dead_letter_after_max_attempts(store: Store, http: httpx.AsyncClient) -> None:
    receiver, port = Receiver(), free_port()
    receiver.always_fail = True
    clock = Clock(a_minute_later())
    delivery = Delivery(store, fast_settings(), clock=clock)
    delivery.register(
        "evse_status",
        http_sender(http, f"http://127.0.0.1:{port}/receive"),
        retry=RetryPolicy(base=5, cap=60, max_attempts=3),
    )
    message_id = await enqueue(store, "status-1", kind="evse_status", order_key="evse-1")
    blocked = await enqueue(store, "status-2", kind="evse_status", order_key="evse-1")
    async with serving(receiver.app, port):
        for attempt in (1, 2):
            assert await delivery.run_once() == 1
            waiting = await message(store, message_id)
            assert (waiting.status, waiting.attempts) == ("pending", attempt)
            clock.now = waiting.available_at
        assert await delivery.run_once() == 1
    dead = await message(store, message_id)
    assert (dead.status, dead.attempts) == ("dead", 3)
    assert (dead.last_error or "").startswith("gave up after 3 attempts: PartnerError: HTTP 503")
    assert receiver.requests == ["status-1"] * 3
    assert (await message(store, blocked)).status == "pending"
    assert [m.id for m in await store.list_outbox("dead")] == [message_id]


async def test_backoff_grows_and_retry_after_is_honoured(store: Store, http: httpx.AsyncClient) -> None:
    receiver, port = Receiver(), free_port()
    receiver.always_fail = True
    clock = Clock(a_minute_later())
    delivery = Delivery(store, fast_settings(default_retry=RetryPolicy(base=4, cap=10_000)), clock=clock)
    delivery.register("cdr", http_sender(http, f"http://127.0.0.1:{port}/receive"))
    message_id = await enqueue(store, "CDR-5")
    waits: list[timedelta] = []
    async with serving(receiver.app, port):
        for _ in range(6):
            assert await delivery.run_once() == 1
            available_at = (await message(store, message_id)).available_at
            waits.append(available_at - clock.now)
            clock.now = available_at
        receiver.always_fail = False
        receiver.retry_after["CDR-5"] = 7200
        assert await delivery.run_once() == 1
        limited = await message(store, message_id)
    assert all(later > earlier for earlier, later in itertools.pairwise(waits)), waits
    assert waits[0] <= timedelta(seconds=4) <= waits[1]
    assert limited.attempts == 7 and limited.available_at - clock.now >= timedelta(seconds=7200)
    assert limited.last_error == "HTTP 429"


async def test_send_timeout_counts_as_a_retryable_failure(store: Store) -> None:
    never = asyncio.Event()

    async def hangs(message: OutboxMessage) -> Outcome:
        await never.wait()
        return Outcome.delivered()

    delivery = Delivery(store, fast_settings(send_timeout=0.05, lease_seconds=10))
    delivery.register("cdr", hangs)
    message_id = await enqueue(store, "CDR-slow")
    assert await delivery.run_once() == 1
    slow = await message(store, message_id)
    assert (slow.status, slow.attempts, slow.lease_owner) == ("pending", 1, None)
    assert slow.last_error == "no answer within 0.05 s"


async def test_hold_keeps_the_message_and_blocks_its_group(store: Store) -> None:
    async def needs_session(message: OutboxMessage) -> Outcome:
        if "session_id" not in message.payload:
            return Outcome.hold("no Hubject SessionID for this session yet")
        return Outcome.delivered()

    delivery = Delivery(store, fast_settings())
    delivery.register("cdr", needs_session)
    held = await enqueue(store, "CDR-7", order_key="session-7")
    later = await enqueue(store, "CDR-8", order_key="session-7", session_id="s")
    assert await delivery.run_once() == 1
    parked = await message(store, held)
    assert (parked.status, parked.last_error) == ("held", "no Hubject SessionID for this session yet")
    assert await delivery.run_once() == 0, "the held head blocks its group"
    assert (await message(store, later)).status == "pending"
    assert (await delivery.stats()).held == 1


# --------------------------------------------------------------------------------------------
# Failures of senders


async def test_a_raising_sender_is_retried_and_logged_once_without_tokens(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(message: OutboxMessage) -> Outcome:
        raise RuntimeError("the partner client broke")

    delivery = Delivery(store, fast_settings())
    delivery.register("cdr", broken)
    message_id = await enqueue(store, "CDR-x")
    with caplog.at_level(logging.DEBUG, logger="bridge.delivery"):
        assert await delivery.run_once() == 1
    failed = await message(store, message_id)
    assert (failed.status, failed.attempts) == ("pending", 1)
    assert failed.last_error == "RuntimeError: the partner client broke"
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and f"outbox message {message_id} " in warnings[0].getMessage()
    assert "RuntimeError" in warnings[0].getMessage()
    assert TOKEN not in caplog.text
    assert (await delivery.stats()).errors == 1


async def test_a_kind_without_sender_is_retried_not_dropped(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock(a_minute_later())
    settings = fast_settings(default_retry=RetryPolicy(base=1, cap=5, max_attempts=1))
    delivery = Delivery(store, settings, clock=clock)
    message_id = await enqueue(store, "x-1", kind="future_kind")
    with caplog.at_level(logging.WARNING, logger="bridge.delivery"):
        for _ in range(3):
            assert await delivery.run_once() == 1
            clock.now = (await message(store, message_id)).available_at
    waiting = await message(store, message_id)
    assert (waiting.status, waiting.attempts) == ("pending", 3), "never dead-lettered for lack of a sender"
    assert waiting.last_error == "no sender registered for kind 'future_kind'"
    assert sum("future_kind" in r.getMessage() for r in caplog.records) == 1, "warned once per kind"

    async def now_known(message: OutboxMessage) -> Outcome:
        return Outcome.delivered()

    delivery.register("future_kind", now_known)
    with pytest.raises(ValueError, match="already registered"):
        delivery.register("future_kind", now_known)
    assert await delivery.run_once() == 1
    assert (await message(store, message_id)).status == "delivered"


# --------------------------------------------------------------------------------------------
# Several instances, graceful stop


async def test_two_instances_on_one_database_never_double_deliver(
    backend: Backend, http: httpx.AsyncClient
) -> None:
    receiver, port = Receiver(), free_port()
    url = f"http://127.0.0.1:{port}/receive"
    for key in ("K01", "K05", "K09", "K13"):
        receiver.failures[key] = 1
    stores = [await backend.open(), await backend.open()]
    try:
        keys: list[str] = []
        for n in range(40):
            key = f"K{n:02d}"
            order_key = f"session-{n % 8}" if n % 5 else None
            await enqueue(stores[0], key, order_key=order_key)
            keys.append(key)
        instances = []
        for opened in stores:
            instance = Delivery(opened, fast_settings(concurrency=3))
            instance.register("cdr", http_sender(http, url))
            instances.append(instance)
        async with serving(receiver.app, port), running_loop(instances[0]), running_loop(instances[1]):

            async def all_delivered() -> bool:
                return (await stores[0].outbox_counts())["delivered"] == len(keys)

            await eventually(all_delivered, "every message delivered")
        counted = [(await instance.stats()).delivered for instance in instances]
    finally:
        for opened in stores:
            await opened.close()
    assert sorted(receiver.delivered) == keys and len(set(receiver.delivered)) == len(keys), "each once"
    for group in range(8):
        members = [key for n, key in enumerate(keys) if n % 5 and n % 8 == group]
        assert [key for key in receiver.delivered if key in members] == members, f"group {group} in order"
    assert sum(counted) == len(keys), "each delivery recorded by exactly one instance"


async def test_graceful_stop_lets_an_in_flight_send_finish(store: Store, http: httpx.AsyncClient) -> None:
    receiver, port = Receiver(), free_port()
    gate = receiver.gates["CDR-flight"] = asyncio.Event()
    delivery = Delivery(store, fast_settings())
    delivery.register("cdr", http_sender(http, f"http://127.0.0.1:{port}/receive"))
    message_id = await enqueue(store, "CDR-flight")
    async with serving(receiver.app, port):
        stop = asyncio.Event()
        task = asyncio.create_task(delivery.run(stop))

        async def in_flight() -> bool:
            return receiver.requests == ["CDR-flight"]

        await eventually(in_flight, "the send reached the partner")
        # While it is in flight the loop keeps claiming (a later message goes out), and never
        # hands out the message it is still sending.
        later = await enqueue(store, "CDR-later")
        delivery.notify()
        await eventually(status_is(store, later, "delivered"), "a later message goes out meanwhile")
        assert receiver.requests == ["CDR-flight", "CDR-later"]
        stop.set()
        await asyncio.sleep(0.05)
        assert not task.done(), "the stop waits for the in-flight send"
        assert (await delivery.stats()).in_flight == 1
        gate.set()
        await task
    done = await message(store, message_id)
    assert (done.status, done.attempts) == ("delivered", 0)
    assert receiver.delivered == ["CDR-later", "CDR-flight"]


async def test_stop_timeout_releases_the_lease_of_an_unfinished_send(
    backend: Backend, http: httpx.AsyncClient
) -> None:
    receiver, port = Receiver(), free_port()
    gate = receiver.gates["CDR-cut"] = asyncio.Event()
    url = f"http://127.0.0.1:{port}/receive"
    first_store = await backend.open()
    try:
        async with serving(receiver.app, port):
            message_id = await enqueue(first_store, "CDR-cut")
            delivery = Delivery(first_store, fast_settings(stop_timeout=0.05))
            delivery.register("cdr", http_sender(http, url))
            async with running_loop(delivery):

                async def in_flight() -> bool:
                    return receiver.requests == ["CDR-cut"]

                await eventually(in_flight, "the send reached the partner")
            cut = await message(first_store, message_id)
            assert (cut.status, cut.lease_owner, cut.attempts, cut.last_error) == ("pending", None, 0, None)
            assert (await delivery.stats()).interrupted == 1
            gate.set()

            second_store = await backend.open()
            try:
                restarted = Delivery(second_store, fast_settings())
                restarted.register("cdr", http_sender(http, url))
                assert await restarted.run_once() == 1, "no lease left to wait for"
                assert (await message(second_store, message_id)).status == "delivered"
            finally:
                await second_store.close()
    finally:
        await first_store.close()


async def test_a_crashed_instance_blocks_its_messages_only_until_the_lease_ends(store: Store) -> None:
    sent: list[str] = []

    async def send(message: OutboxMessage) -> Outcome:
        sent.append(message.key or "")
        return Outcome.delivered()

    clock = Clock(a_minute_later())
    message_id = await enqueue(store, "CDR-crash")
    # An instance claimed it and died without a word: its lease stands until lease_until.
    claimed = await store.claim(clock.now, owner="gw-1:77:dead", lease_seconds=30)
    assert [m.id for m in claimed] == [message_id]
    survivor = Delivery(store, fast_settings(), clock=clock)
    survivor.register("cdr", send)
    assert await survivor.run_once() == 0
    clock.now += timedelta(seconds=30)
    assert await survivor.run_once() == 1 and sent == ["CDR-crash"]

    # Restarted under the same (stable) owner name, an instance drops its own stale leases at once.
    again = await enqueue(store, "CDR-again")
    assert [m.id for m in await store.claim(clock.now, owner="gw-1", lease_seconds=600)] == [again]
    restarted = Delivery(store, fast_settings(), clock=clock, owner="gw-1")
    restarted.register("cdr", send)
    async with running_loop(restarted):
        await eventually(status_is(store, again, "delivered"), "sent without waiting for the old lease")
    assert sent == ["CDR-crash", "CDR-again"]


# --------------------------------------------------------------------------------------------
# In the app


async def test_start_hook_runs_the_loop_and_notify_wakes_it(
    store: Store, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    receiver, port = Receiver(), free_port()
    url = f"http://127.0.0.1:{port}/receive"

    def senders(gateway: Any) -> list[Registration]:
        assert gateway.store is store
        return [Registration("cdr", http_sender(http, url), RetryPolicy(base=1, cap=2))]

    # Polling once an hour: only notify() can make the message go out during the test.
    settings = DeliverySettings(poll_interval=3600)
    hook = delivery_start_hook(senders, settings=settings)
    app = create_app(make_config(tmp_path), store=store, start_hooks=[hook])
    async with serving(receiver.app, port), running(app):
        gateway = app.state.gateway
        delivery = delivery_of(gateway)
        assert gateway.services[SERVICE_NAME] is delivery and delivery.kinds == ["cdr"]
        await asyncio.sleep(0.05)  # the loop has polled once and now sleeps for an hour
        async with store.transaction() as tx:
            message_id = await tx.enqueue(TARGET, "cdr", {"token": TOKEN}, key="CDR-app", order_key="s")
        assert message_id is not None
        delivery.notify()
        await eventually(status_is(store, message_id, "delivered"), "delivered after notify()")
        stats = (await delivery.stats()).as_dict()
        assert stats["running"] is True and stats["delivered"] == 1 and stats["outbox"]["delivered"] == 1
        assert TOKEN not in repr(stats)
    assert SERVICE_NAME not in gateway.services and not delivery.running
    with pytest.raises(LookupError):
        delivery_of(gateway)
    assert receiver.delivered == ["CDR-app"]
