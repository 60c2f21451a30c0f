"""Outbox delivery workers: what makes "nothing lost" true (architecture.md "Data flow": out).

A flow stores an object and writes the outgoing messages to the outbox **in the same
transaction**, then calls :meth:`Delivery.notify`. The workers here take the messages from the
outbox in order per target and object, hand each to the sender registered for its ``kind``
(which calls the partner with the protocol client) and record the result in the store. A message
leaves the outbox only as ``delivered``; every failure leaves it there (pending with a later
``available_at``, held, or dead-lettered), so a crash, a restart or an unreachable partner never
loses it. Delivery is *at least once*: a send that reached the partner but whose answer was lost
is sent again, so only idempotent messages go through the outbox (an OICP CDR is: Hubject accepts
one CDR per SessionID, oicp-2.3.md §1.5 and §8 point 1; an AuthorizeStart is not and never goes
here).

Parts:

* :class:`Sender`: ``async def send(message: OutboxMessage) -> Outcome``, one per message kind,
  registered with :meth:`Delivery.register` together with its :class:`RetryPolicy`.
* :class:`Outcome`: ``delivered``; ``retry`` (an error, optionally the partner's Retry-After);
  ``dead`` (not retryable: the same request would be refused again, e.g. OICP 017/018/022); or
  ``hold`` (cannot be sent yet, e.g. a CDR without a SessionID; kept with the reason, released by
  an operator with ``ocpi-oicp-bridge outbox retry ID``). A sender that raises counts as ``retry``.
* :class:`RetryPolicy`: exponential backoff with jitter, capped, with an optional number of
  attempts after which the message is dead-lettered.
* :class:`Delivery`: the worker loop of one process (:meth:`Delivery.run`), kept in
  ``gateway.services["delivery"]`` by :func:`delivery_start_hook`.

Guarantees and how they are kept:

* **Order per target and object.** Messages with the same ``(target, order_key)`` are sent one
  after the other in enqueue order: the store's claim only hands out the oldest ``pending`` message
  of such a group, and a failed head stays ``pending`` (or ``held``), which blocks the rest of its
  group until it is delivered or dead. This is also what OICP wants for pushes (oicp-2.3.md §8
  point 4: strictly sequential per operation).
* **Different targets and groups concurrently**, at most ``concurrency`` sends at once per
  process; every send is bounded by ``send_timeout``.
* **No double delivery across instances.** Claims are leases (``lease_seconds``, longer than
  ``send_timeout``, so a lease never expires during a send) in the name of the process
  (``host:pid:random``), taken with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL; the store never
  hands out a leased message again, not even to its owner, so a process that claims while it is
  still sending never gets the same message twice.
* **Graceful stop.** :meth:`Delivery.run` stops claiming, lets in-flight sends finish for up to
  ``stop_timeout`` seconds, cancels the rest and releases their leases (no attempt is counted;
  whichever instance runs next sends them at once).
* **Transient partner errors** (HTTP 408/429/5xx, timeouts, refused connections; oicp-2.3.md §1.4)
  are retried with backoff; a 429's Retry-After is honoured (:func:`outcome_from_error`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

import tenacity
from tenacity.wait import wait_base, wait_exponential, wait_random_exponential

from bridge.errors import PartnerError, StoreError
from bridge.store.base import OutboxMessage, Store, utcnow

if TYPE_CHECKING:
    from bridge.config_flows import DeliveryConfig
    from bridge.context import Gateway

log = logging.getLogger("bridge.delivery")

SERVICE_NAME: Final = "delivery"
"""Key of the running :class:`Delivery` in ``Gateway.services``."""

DEAD_CODES: Final[frozenset[str]] = frozenset({"017", "018", "022", "2001", "2002"})
"""Partner codes for which sending the same message again cannot succeed.

OICP (oicp-2.3.md §3.3): 017 unauthorized access (certificate ↔ ID mismatch), 018 inconsistent
EvseID, 022 data error. OCPI 2.2.1 status codes: 2001 invalid or missing parameters, 2002 not
enough information."""

OutcomeAction = Literal["delivered", "retry", "dead", "hold"]


# --------------------------------------------------------------------------------------------
# Outcomes, senders, retry policies


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a :class:`Sender` says happened to one message. Build it with the class methods."""

    action: OutcomeAction
    reason: str | None = None
    retry_after: float | None = None

    def __post_init__(self) -> None:
        if self.action != "delivered" and not self.reason:
            raise ValueError(f"an Outcome {self.action!r} needs a reason")
        if self.retry_after is not None and (self.action != "retry" or self.retry_after < 0):
            raise ValueError("retry_after is a number of seconds >= 0, for a retry only")

    @classmethod
    def delivered(cls) -> Outcome:
        """The partner accepted the message."""
        return cls("delivered")

    @classmethod
    def retry(cls, error: str, *, retry_after: float | None = None) -> Outcome:
        """A transient failure: try again after the policy's backoff, and not before
        ``retry_after`` seconds when the partner said so (HTTP 429 Retry-After, oicp-2.3.md §1.4)."""
        return cls("retry", error, retry_after)

    @classmethod
    def dead(cls, reason: str) -> Outcome:
        """Not retryable (the partner would refuse the same request again): dead-letter it.
        It stays in the outbox and an operator may retry it after fixing the cause."""
        return cls("dead", reason)

    @classmethod
    def hold(cls, reason: str) -> Outcome:
        """Cannot be sent yet (e.g. a CDR without a Hubject SessionID, oicp-2.3.md §8 point 1):
        park it with the reason. Never dropped; it blocks its ``order_key`` group until released."""
        return cls("hold", reason)


class Sender(Protocol):
    """Sends one outbox message with a protocol client and says what happened.

    Raising is allowed and counts as a retryable failure; the exception's text becomes the
    message's ``last_error``, so it must not carry tokens (CONTRIBUTING.md "Store").
    """

    def __call__(self, message: OutboxMessage, /) -> Awaitable[Outcome]: ...


# One instance: tenacity's strategies only read ``attempt_number`` from the call state.
_RETRYING: Final = tenacity.Retrying()


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter between attempts of one message kind.

    After the ``n``-th failed attempt the next try waits ``E/2 + uniform(0, E/2)`` seconds with
    ``E = min(cap, base * 2**(n-1))`` ("equal jitter": at least half the exponential step, so the
    wait keeps growing, and a random half, so messages that failed together — a partner back from
    an outage, a 429 burst — do not come back together; oicp-2.3.md §1.4: exponential backoff
    with jitter). ``max_attempts`` tries in total, then the message is dead-lettered; ``None``
    retries forever (for CDRs: nothing billable is dropped).

    The wait comes from tenacity's strategies (``wait_exponential`` + ``wait_random_exponential``)
    rather than hand-rolled arithmetic: they are tested, overflow-safe at high attempt numbers,
    and any other tenacity ``wait_*`` can be swapped in through :attr:`wait`. tenacity's retry
    *loop* is not used: the attempt count lives in the store (it survives restarts and is
    shared by every instance), so only the wait computation is borrowed.
    """

    base: float = 1.0
    cap: float = 300.0
    max_attempts: int | None = None

    def __post_init__(self) -> None:
        if self.base <= 0 or self.cap < self.base:
            raise ValueError("RetryPolicy needs 0 < base <= cap (seconds)")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts is at least 1 (or None: retry forever)")

    @property
    def wait(self) -> wait_base:
        """The tenacity wait strategy of this policy."""
        half_base, half_cap = self.base / 2, self.cap / 2
        return wait_exponential(multiplier=half_base, max=half_cap) + wait_random_exponential(
            multiplier=half_base, max=half_cap
        )

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds to wait after ``attempts`` failed attempts (1-based), never less than the
        partner's ``retry_after``."""
        state = tenacity.RetryCallState(_RETRYING, None, (), {})
        state.attempt_number = max(1, attempts)
        seconds = float(self.wait(state))
        return max(seconds, retry_after) if retry_after is not None else seconds

    def gives_up(self, attempts: int) -> bool:
        """Whether ``attempts`` failed attempts exhaust the policy (the message goes dead)."""
        return self.max_attempts is not None and attempts >= self.max_attempts


def outcome_from_error(error: BaseException, *, dead_codes: frozenset[str] = DEAD_CODES) -> Outcome:
    """The usual :class:`Outcome` for an error a protocol client raised.

    A :class:`PartnerError` whose code is in ``dead_codes``, or an HTTP 400 (a schema/validation
    ``FaultBody``: the same payload is refused again, oicp-2.3.md §1.4), is ``dead``. Everything
    else is ``retry``: no answer, 408, 429 (with the error's ``retry_after`` when it has one),
    5xx (oicp-2.3.md §1.4: transient), and 401/403/404, which an operator fixes in configuration
    (certificate, IP whitelist, partner registration) after which the message must still go.
    Senders with other rules build their :class:`Outcome` themselves.
    """
    text = f"{type(error).__name__}: {error}"
    if isinstance(error, PartnerError):
        details = [f"HTTP {error.http_status}"] if error.http_status is not None else []
        if error.code is not None:
            details.append(f"code {error.code}")
        if details:
            text = f"{text} ({', '.join(details)})"
        if (error.code is not None and str(error.code) in dead_codes) or error.http_status == 400:
            return Outcome.dead(text)
    retry_after = getattr(error, "retry_after", None)
    if not isinstance(retry_after, int | float) or retry_after < 0:
        retry_after = None
    return Outcome.retry(text, retry_after=None if retry_after is None else float(retry_after))


@dataclass(frozen=True, slots=True)
class Registration:
    """A sender for one message ``kind`` and its retry policy (``None``: the default policy)."""

    kind: str
    sender: Sender
    retry: RetryPolicy | None = None


LEASE_MARGIN: Final = 5.0
"""Seconds a lease outlives the longest send: time to record the outcome."""


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """Tuning of the worker loop (seconds unless said otherwise).

    ``send_timeout`` bounds one send (oicp-2.3.md §1.5 recommends 60 s for CDRs and pushes);
    ``lease_seconds`` must exceed it by at least :data:`LEASE_MARGIN`, so that no other instance
    can claim a message that is still being sent. ``poll_interval`` is how often the outbox is
    checked when nobody calls :meth:`Delivery.notify` (messages due after a backoff are found by
    polling). ``stop_timeout`` bounds how long a graceful stop waits for in-flight sends.
    """

    concurrency: int = 8
    poll_interval: float = 2.0
    send_timeout: float = 60.0
    lease_seconds: float = 120.0
    stop_timeout: float = 10.0
    default_retry: RetryPolicy = RetryPolicy()

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("DeliverySettings.concurrency is at least 1")
        if self.poll_interval <= 0 or self.send_timeout <= 0 or self.stop_timeout < 0:
            raise ValueError("DeliverySettings: poll_interval and send_timeout > 0, stop_timeout >= 0")
        if self.lease_seconds < self.send_timeout + LEASE_MARGIN:
            raise ValueError(
                f"DeliverySettings.lease_seconds must be at least send_timeout + {LEASE_MARGIN:g} s"
            )


@dataclass(frozen=True, slots=True)
class DeliveryStats:
    """Counters of one :class:`Delivery` since it was created, and the outbox per status."""

    owner: str
    running: bool
    in_flight: int
    delivered: int
    retried: int
    dead: int
    held: int
    errors: int
    interrupted: int
    outbox: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for /health or metrics (no payloads, no secrets)."""
        return asdict(self)


def default_owner() -> str:
    """``host:pid:random``: names this process in leases (``lease_owner``) and logs."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


# --------------------------------------------------------------------------------------------
# The worker loop


@dataclass(slots=True)
class _Counters:
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    held: int = 0
    errors: int = 0
    interrupted: int = 0


class Delivery:
    """The outbox workers of one process.

    Register a sender per message kind, then ``await delivery.run(stop_event)`` (or let
    :func:`delivery_start_hook` do it). Flows call :meth:`notify` after committing a transaction
    that enqueued messages, so they go out at once instead of at the next poll.
    """

    def __init__(
        self,
        store: Store,
        settings: DeliverySettings | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
        owner: str | None = None,
    ) -> None:
        """``clock`` gives the time used to claim and to schedule retries (tests pass a fake
        one); ``owner`` names this process in leases (default :func:`default_owner`)."""
        self._store = store
        self.settings = settings or DeliverySettings()
        self._clock = clock
        self.owner = owner or default_owner()
        self._registrations: dict[str, Registration] = {}
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._wakeup = asyncio.Event()
        self._running = False
        self._counters = _Counters()
        self._warned_kinds: set[str] = set()
        self._store_failing = False

    # ---- registration and signals -------------------------------------------------------------

    def register(self, kind: str, sender: Sender, *, retry: RetryPolicy | None = None) -> None:
        """Use ``sender`` for messages of ``kind``, retried by ``retry`` (default: the settings'
        ``default_retry``). A kind is registered once (ValueError otherwise)."""
        if not kind:
            raise ValueError("a message kind must not be empty")
        if kind in self._registrations:
            raise ValueError(f"a sender for outbox kind {kind!r} is already registered")
        self._registrations[kind] = Registration(kind, sender, retry or self.settings.default_retry)

    @property
    def kinds(self) -> list[str]:
        """The message kinds with a registered sender."""
        return sorted(self._registrations)

    def notify(self) -> None:
        """Wake the loop now: call after committing a transaction that enqueued messages."""
        self._wakeup.set()

    @property
    def running(self) -> bool:
        return self._running

    async def stats(self) -> DeliveryStats:
        """Counters since start and the outbox counts per status (raises StoreError if the store
        is unreachable)."""
        counts = await self._store.outbox_counts()
        return DeliveryStats(
            owner=self.owner,
            running=self._running,
            in_flight=len(self._in_flight),
            outbox=counts,
            **asdict(self._counters),
        )

    # ---- running --------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set, then stop gracefully (see the module docstring).

        Claims due messages whenever a send slot is free and something may be due: at once after
        :meth:`notify` or after a send finished (which may open the next message of its group),
        otherwise every ``poll_interval``. Store failures are logged and retried at the next poll.
        """
        if self._running:
            raise RuntimeError("this Delivery is already running")
        self._running = True
        watcher = asyncio.create_task(self._wake_when(stop), name="outbox delivery stop watcher")
        try:
            try:
                # Leases of an earlier run under the same (stable) owner name are stale.
                await self._store.release_leases(self.owner)
            except StoreError as error:
                self._log_store_failure(error)
            while not stop.is_set():
                self._wakeup.clear()
                try:
                    await self._claim_and_start()
                except StoreError as error:
                    self._log_store_failure(error)
                except Exception:
                    log.exception("outbox delivery: unexpected error while claiming messages")
                if stop.is_set():
                    break
                try:
                    async with asyncio.timeout(self.settings.poll_interval):
                        await self._wakeup.wait()
                except TimeoutError:
                    pass
        finally:
            watcher.cancel()
            await self._drain()
            self._running = False

    async def run_once(self) -> int:
        """Claim the due messages once (up to ``concurrency``), deliver them and wait for the
        outcomes to be recorded; return how many were handled. For tests and one-shot tools;
        :meth:`run` is the service loop."""
        if self._running:
            raise RuntimeError("run_once while the loop is running")
        started = await self._claim_and_start()
        if started:
            await asyncio.gather(*list(self._in_flight.values()))
        return started

    async def _wake_when(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._wakeup.set()

    async def _claim_and_start(self) -> int:
        free = self.settings.concurrency - len(self._in_flight)
        if free <= 0:
            return 0
        batch = await self._store.claim(
            self._clock(), limit=free, lease_seconds=self.settings.lease_seconds, owner=self.owner
        )
        if self._store_failing:
            self._store_failing = False
            log.info("outbox delivery: the store answers again")
        for message in batch:
            task = asyncio.create_task(self._deliver(message), name=f"outbox message {message.id}")
            self._in_flight[message.id] = task
            task.add_done_callback(functools.partial(self._finished, message.id))
        return len(batch)

    def _finished(self, message_id: int, _task: asyncio.Task[None]) -> None:
        self._in_flight.pop(message_id, None)
        self._wakeup.set()

    def _log_store_failure(self, error: StoreError) -> None:
        if not self._store_failing:
            self._store_failing = True
            log.warning("outbox delivery: cannot claim messages, retrying every poll: %s", error)
        else:
            log.debug("outbox delivery: store still failing: %s", error)

    async def _drain(self) -> None:
        """Graceful stop: wait for in-flight sends up to ``stop_timeout``, then cancel the rest
        and give their leases back so the next instance sends them at once."""
        if not self._in_flight:
            return
        _, unfinished = await asyncio.wait(
            list(self._in_flight.values()), timeout=self.settings.stop_timeout
        )
        if not unfinished:
            return
        for task in unfinished:
            task.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)
        try:
            released = await self._store.release_leases(self.owner)
        except StoreError as error:
            log.warning("outbox delivery: could not release leases at stop (they expire): %s", error)
            return
        self._counters.interrupted += released
        log.info("outbox delivery: %d send(s) interrupted by the stop; leases released", released)

    # ---- one message ----------------------------------------------------------------------

    async def _deliver(self, message: OutboxMessage) -> None:
        registration = self._registrations.get(message.kind)
        raised = False
        if registration is None:
            # Not dead-lettered: the sender may be registered later (a flow that starts after the
            # loop, or an instance running a newer version).
            if message.kind not in self._warned_kinds:
                self._warned_kinds.add(message.kind)
                log.warning("outbox delivery: no sender registered for kind %r; retrying later", message.kind)
            policy = RetryPolicy(self.settings.default_retry.base, self.settings.default_retry.cap)
            outcome = Outcome.retry(f"no sender registered for kind {message.kind!r}")
        else:
            policy = registration.retry or self.settings.default_retry
            timeout = asyncio.timeout(self.settings.send_timeout)
            try:
                async with timeout:
                    result = await registration.sender(message)
                if not isinstance(result, Outcome):
                    raise TypeError(f"the sender returned {type(result).__name__}, not an Outcome")
                outcome = result
            except TimeoutError as error:
                raised = True
                if timeout.expired():
                    outcome = Outcome.retry(f"no answer within {self.settings.send_timeout:g} s")
                else:
                    outcome = Outcome.retry(f"{type(error).__name__}: {error}")
            except Exception as error:
                raised = True
                outcome = Outcome.retry(f"{type(error).__name__}: {error}")
                log.debug("outbox message %d: sender traceback", message.id, exc_info=True)
        try:
            await self._record(message, outcome, policy, raised=raised)
        except StoreError as error:
            log.error(
                "outbox message %d (%s to %s): could not record %s; retried when its lease expires: %s",
                message.id,
                message.kind,
                message.target,
                outcome.action,
                error,
            )

    async def _record(
        self, message: OutboxMessage, outcome: Outcome, policy: RetryPolicy, *, raised: bool
    ) -> None:
        store, now = self._store, self._clock()
        what = f"outbox message {message.id} ({message.kind} to {message.target})"
        attempts = message.attempts + 1
        reason = outcome.reason or ""
        if outcome.action == "delivered":
            if await store.mark_delivered(message.id):
                self._counters.delivered += 1
                log.debug("%s delivered after %d attempt(s)", what, attempts)
            return
        if outcome.action == "hold":
            if await store.hold(message.id, reason):
                self._counters.held += 1
                log.warning("%s held: %s", what, reason)
            return
        if outcome.action == "retry" and policy.gives_up(attempts):
            reason = f"gave up after {attempts} attempts: {reason}"
        elif outcome.action == "retry":
            delay = policy.delay(attempts, outcome.retry_after)
            retry_at = now + timedelta(seconds=delay)
            if await store.mark_failed(message.id, reason, retry_at):
                self._counters.retried += 1
                self._counters.errors += raised
                log.log(
                    logging.WARNING if raised else logging.INFO,
                    "%s failed (attempt %d), next try in %.1f s: %s",
                    what,
                    attempts,
                    delay,
                    reason,
                )
            return
        # dead, or out of attempts: the attempt is counted, then the message is dead-lettered
        async with store.transaction() as tx:
            recorded = await tx.mark_failed(message.id, reason, now)
            recorded = recorded and await tx.mark_dead(message.id, reason)
        if recorded:
            self._counters.dead += 1
            self._counters.errors += raised
            log.warning("%s dead-lettered: %s", what, reason)


# --------------------------------------------------------------------------------------------
# Wiring into the app


SendersFactory = Callable[["Gateway"], Iterable[Registration]]
"""Builds the senders once the gateway (store, configuration, services) exists."""


def settings_from_config(section: DeliveryConfig) -> DeliverySettings:
    """The ``delivery`` section of the configuration (docs/configuration.md) as settings."""
    retry = section.retry
    return DeliverySettings(
        concurrency=section.concurrency,
        poll_interval=section.poll_interval,
        send_timeout=section.send_timeout,
        lease_seconds=section.lease_seconds,
        stop_timeout=section.stop_timeout,
        default_retry=RetryPolicy(base=retry.base, cap=retry.cap, max_attempts=retry.max_attempts),
    )


def delivery_start_hook(
    senders: SendersFactory | None = None, *, settings: DeliverySettings | None = None
) -> Callable[[Gateway], AbstractAsyncContextManager[None]]:
    """A start hook for ``create_app(..., start_hooks=[...])``: creates the :class:`Delivery`,
    puts it in ``gateway.services["delivery"]``, registers the senders from ``senders(gateway)``
    and runs the loop until shutdown, which stops it gracefully. ``settings`` wins over the
    configuration's ``delivery`` section (:func:`settings_from_config`), which is the default.

    Place it before the hooks of flows that register their own senders through
    :func:`delivery_of`; a message whose kind has no sender yet is simply retried later.
    """

    def hook(gateway: Gateway) -> AbstractAsyncContextManager[None]:
        return _running_delivery(gateway, senders, settings)

    return hook


@asynccontextmanager
async def _running_delivery(
    gateway: Gateway, senders: SendersFactory | None, settings: DeliverySettings | None
) -> AsyncIterator[None]:
    if SERVICE_NAME in gateway.services:
        raise RuntimeError("a delivery service is already running in this gateway")
    delivery = Delivery(gateway.store, settings or settings_from_config(gateway.config.delivery))
    for registration in senders(gateway) if senders is not None else ():
        delivery.register(registration.kind, registration.sender, retry=registration.retry)
    gateway.services[SERVICE_NAME] = delivery
    stop = asyncio.Event()
    task = asyncio.create_task(delivery.run(stop), name="outbox delivery")
    log.info("outbox delivery started as %s (kinds: %s)", delivery.owner, ", ".join(delivery.kinds) or "none")
    try:
        yield
    finally:
        stop.set()
        try:
            await task
        except Exception:
            log.exception("outbox delivery stopped with an error")
        gateway.services.pop(SERVICE_NAME, None)
        log.info("outbox delivery stopped")


def delivery_of(gateway: Gateway) -> Delivery:
    """The gateway's running :class:`Delivery` (LookupError if :func:`delivery_start_hook` is not
    installed)."""
    delivery = gateway.services.get(SERVICE_NAME)
    if not isinstance(delivery, Delivery):
        raise LookupError("no outbox delivery in this gateway: add delivery_start_hook() to start_hooks")
    return delivery


__all__ = [
    "DEAD_CODES",
    "LEASE_MARGIN",
    "SERVICE_NAME",
    "Delivery",
    "DeliverySettings",
    "DeliveryStats",
    "Outcome",
    "OutcomeAction",
    "Registration",
    "RetryPolicy",
    "Sender",
    "SendersFactory",
    "default_owner",
    "delivery_of",
    "delivery_start_hook",
    "outcome_from_error",
    "settings_from_config",
]
