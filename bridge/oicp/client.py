"""The OICP 2.3 client: how the gateway calls Hubject, in both roles (CPO and EMP).

* One :class:`OicpClient` per gateway, built with :meth:`OicpClient.from_config` from
  ``config.hubject``. It owns one ``httpx.AsyncClient``; the ``transport`` is injectable (an
  aiohttp-backed transport, an ASGI app in tests), the TLS set-up is :func:`build_ssl_context`.
* oicp-2.3.md §1.2: mutual TLS with the client certificate Hubject signed (``tls.cert``/``tls.key``)
  and Hubject's private CA (``tls.ca``) as the only trust anchor when given. No other credentials.
* oicp-2.3.md §2: every operation is ``POST <url>/api/oicp/<path>`` with the path exactly as
  §2.1/§2.3 give it (:data:`OPERATIONS`); ``{operatorID}``/``{providerID}`` are the certificate
  owner's IDs from the configuration, written with a literal ``*`` (never ``%2A``, §8 point 11).
* Explicit timeouts per kind of call (``timeouts.authorize|push|cdr|pull`` + ``connect``);
  redirects are never followed.
* oicp-2.3.md §1.4, §8 point 3: business errors are HTTP 200 and come back as the parsed answer
  (callers read ``Result``/``AuthorizationStatus``/``StatusCode``). Transport-level answers raise:
  400 FaultBody → :class:`OicpFaultError` (code ``"400"``, the field errors in the message),
  401 → code ``"017"``, 403 (nginx HTML) → "IP not whitelisted", 404 → code ``"300"``,
  408/5xx/no answer → :class:`OicpTransientError`, 429 → :class:`OicpRateLimited` (Retry-After).
  Every error carries the operation and Hubject's ``Process-ID`` header, which is also logged
  (failures at WARNING, successes at DEBUG). A body that breaks OICP's formats raises
  :class:`~bridge.oicp.models.OicpEgressError` before anything is sent (egress strict).
* Retries (tenacity) only where a repeat cannot create a second business object (§1.5):
  ChargeDetailRecord always (HBS accepts one CDR per SessionID), ``fullLoad`` pushes and pulls
  when the caller opts in with ``retry=True``. AuthorizeStart/AuthorizeRemoteStart and the
  reservation start are never retried: each call creates a new SessionID.
* oicp-2.3.md §2.1 notes ("Data push operations"): pushes of one operation are strictly
  sequential — a per-(operation, path ID) lock is held for the whole call including retries.
* oicp-2.3.md §1.6: a client-side sliding-minute rate limiter per operation, defaulting to the
  AUP figures (:data:`AUP_RATE_LIMITS`), so that the gateway waits instead of earning 429s.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import quote, urlsplit

import httpx
import orjson
from pydantic import BaseModel, ValidationError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from bridge.config import HubjectTimeouts
from bridge.errors import ConfigError, PartnerError
from bridge.oicp.models import (
    PULL_EVSE_STATUS_BY_ID_MAX,
    Acknowledgement,
    ActionType,
    AuthorizationStart,
    AuthorizationStop,
    AuthorizeRemoteReservationStart,
    AuthorizeRemoteReservationStop,
    AuthorizeRemoteStart,
    AuthorizeRemoteStop,
    AuthorizeStart,
    AuthorizeStop,
    ChargeDetailRecord,
    ChargingNotification,
    EvseStatusRecord,
    GetChargeDetailRecords,
    GetChargeDetailRecordsResponse,
    PullEvseData,
    PullEvseDataResponse,
    PullEVSEPricing,
    PullEVSEPricingResponse,
    PullEvseStatus,
    PullEvseStatusByID,
    PullEvseStatusByIDResponse,
    PullEvseStatusByOperatorID,
    PullEvseStatusResponse,
    PullPricingProductData,
    PullPricingProductDataResponse,
    PushAuthenticationData,
    PushEvseData,
    PushEVSEPricing,
    PushEvseStatus,
    PushPricingProductData,
    to_json,
)

if TYPE_CHECKING:
    from bridge.config import HubjectConfig, HubjectTls

log = logging.getLogger("bridge.oicp.client")

M = TypeVar("M", bound=BaseModel)

API_PREFIX = "/api/oicp"
"""oicp-2.3.md §1.1: every path is relative to ``/api/oicp``."""

PAGE_SIZE_DEFAULT = 20
"""oicp-2.3.md §1.7: Hubject's page size when ``size`` is not sent (silent truncation)."""

PAGE_SIZE_MAX = 2000
"""oicp-2.3.md §1.7: the largest page Hubject serves."""

CallKind = Literal["authorize", "push", "cdr", "pull"]
"""Which ``hubject.timeouts`` entry bounds a call."""

Role = Literal["cpo", "emp"]


@dataclass(frozen=True, slots=True)
class OicpOperation:
    """One OICP operation towards Hubject: its path (oicp-2.3.md §2.1/§2.3) and how it is called.

    ``path`` is relative to ``/api/oicp`` and holds ``{operatorID}`` (CPO operations) or
    ``{providerID}`` (EMP operations), or no ID (ChargingNotifications). ``sequential``: a push
    whose calls must never overlap (§2.1 notes).
    """

    name: str
    path: str
    kind: CallKind
    role: Role
    sequential: bool = False

    @property
    def path_param(self) -> str | None:
        if "{operatorID}" in self.path:
            return "operatorID"
        if "{providerID}" in self.path:
            return "providerID"
        return None


_OP = "/operators/{operatorID}"
_PR = "/providers/{providerID}"

OPERATIONS: dict[str, OicpOperation] = {
    operation.name: operation
    for operation in (
        # CPO → Hubject (oicp-2.3.md §2.1)
        OicpOperation("push_evse_data", f"/evsepush/v23{_OP}/data-records", "push", "cpo", True),
        OicpOperation("push_evse_status", f"/evsepush/v21{_OP}/status-records", "push", "cpo", True),
        OicpOperation("authorize_start", f"/charging/v21{_OP}/authorize/start", "authorize", "cpo"),
        OicpOperation("authorize_stop", f"/charging/v21{_OP}/authorize/stop", "authorize", "cpo"),
        OicpOperation("charge_detail_record", f"/cdrmgmt/v22{_OP}/charge-detail-record", "cdr", "cpo"),
        OicpOperation(
            "charging_notification", "/notificationmgmt/v11/charging-notifications", "authorize", "cpo"
        ),
        OicpOperation(
            "push_pricing_product_data", f"/dynamicpricing/v10{_OP}/pricing-products", "push", "cpo", True
        ),
        OicpOperation("push_evse_pricing", f"/dynamicpricing/v10{_OP}/evse-pricing", "push", "cpo", True),
        # EMP → Hubject (oicp-2.3.md §2.3)
        OicpOperation("pull_evse_data", f"/evsepull/v23{_PR}/data-records", "pull", "emp"),
        OicpOperation("pull_evse_status", f"/evsepull/v21{_PR}/status-records", "pull", "emp"),
        OicpOperation("pull_evse_status_by_id", f"/evsepull/v21{_PR}/status-records-by-id", "pull", "emp"),
        OicpOperation(
            "pull_evse_status_by_operator_id",
            f"/evsepull/v21{_PR}/status-records-by-operator-id",
            "pull",
            "emp",
        ),
        OicpOperation(
            "authorize_remote_start", f"/charging/v21{_PR}/authorize-remote/start", "authorize", "emp"
        ),
        OicpOperation(
            "authorize_remote_stop", f"/charging/v21{_PR}/authorize-remote/stop", "authorize", "emp"
        ),
        OicpOperation(
            "authorize_remote_reservation_start",
            f"/reservation/v11{_PR}/reservation-start-request",
            "authorize",
            "emp",
        ),
        OicpOperation(
            "authorize_remote_reservation_stop",
            f"/reservation/v11{_PR}/reservation-stop-request",
            "authorize",
            "emp",
        ),
        OicpOperation(
            "get_charge_detail_records", f"/cdrmgmt/v22{_PR}/get-charge-detail-records-request", "pull", "emp"
        ),
        OicpOperation("push_authentication_data", f"/authdata/v21{_PR}/push-request", "push", "emp", True),
        OicpOperation(
            "pull_pricing_product_data", f"/dynamicpricing/v10{_PR}/pricing-products", "pull", "emp"
        ),
        OicpOperation("pull_evse_pricing", f"/dynamicpricing/v10{_PR}/evse-pricing", "pull", "emp"),
    )
}
"""Every operation the gateway sends to Hubject, by name (the names the simulator records too)."""

AUP_RATE_LIMITS: Mapping[str, int] = {
    "pull_evse_status_by_id": 300,
    "pull_evse_status_by_operator_id": 75,
    "pull_evse_status": 6,
    # AUP: 100/min; Hubject support limits paginated PullEvseData to 25/min — plan for 25 (§1.6).
    "pull_evse_data": 25,
    "push_evse_status": 2000,
    "push_evse_data": 375,
    "authorize_start": 200,
    "authorize_stop": 50,
    "authorize_remote_start": 100,
    "authorize_remote_stop": 200,
    "push_authentication_data": 50,
    "charge_detail_record": 350,
    "get_charge_detail_records": 200,
    "charging_notification": 100,
    "pull_evse_pricing": 280,
    "pull_pricing_product_data": 300,
    "push_evse_pricing": 6,
    "push_pricing_product_data": 6,
}
"""Calls per minute per partner from Hubject's Acceptable Use Policy v1.0 (oicp-2.3.md §1.6).

Reservations are not listed in the AUP and are not limited here.
"""

RATE_WINDOW_SECONDS = 60.0


# ---------------------------------------------------------------------------------------------
# Errors


@dataclass(frozen=True, slots=True)
class FieldValidationError:
    """One ``validationErrors[]`` entry of Hubject's HTTP 400 FaultBody (oicp-2.3.md §1.4)."""

    field_reference: str
    error_message: str


class OicpCallError(PartnerError):
    """Hubject answered a call with an HTTP error (or not at all): the operation and Process-ID kept."""

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        code: str | None = None,
        http_status: int | None = None,
        process_id: str | None = None,
    ) -> None:
        super().__init__(message, code=code, http_status=http_status)
        self.operation = operation
        self.process_id = process_id


class OicpFaultError(OicpCallError):
    """HTTP 400 with a FaultBody: Hubject's JSON/schema validation refused the request.

    ``code`` is ``"400"``; :attr:`validation_errors` lists the fields and the message names them.
    """

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        validation_errors: Sequence[FieldValidationError] = (),
        process_id: str | None = None,
    ) -> None:
        super().__init__(message, operation=operation, code="400", http_status=400, process_id=process_id)
        self.validation_errors = tuple(validation_errors)


class OicpTransientError(OicpCallError):
    """408, 5xx, a timeout or a connection failure: worth retrying later (oicp-2.3.md §1.4).

    ``http_status is None`` means no HTTP answer arrived (the cause is chained). For a call that
    creates a SessionID the request may still have been processed.
    """


class OicpRateLimited(OicpTransientError):
    """HTTP 429 (AUP rate limit exceeded): back off; :attr:`retry_after` seconds when Hubject said."""

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        retry_after: float | None,
        process_id: str | None = None,
    ) -> None:
        super().__init__(message, operation=operation, code="429", http_status=429, process_id=process_id)
        self.retry_after = retry_after


# ---------------------------------------------------------------------------------------------
# Rate limiting and retries

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class _SlidingWindow:
    """At most ``limit`` acquisitions in any ``window`` seconds; waiters queue in order."""

    def __init__(self, limit: int, window: float = RATE_WINDOW_SECONDS) -> None:
        self.limit = limit
        self.window = window
        self._stamps: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def acquire(self, clock: Clock, sleep: Sleep) -> None:
        async with self._lock:
            while True:
                now = clock()
                while self._stamps and self._stamps[0] <= now - self.window:
                    self._stamps.popleft()
                if len(self._stamps) < self.limit:
                    self._stamps.append(now)
                    return
                await sleep(self._stamps[0] + self.window - now)


class RateLimiter:
    """Client-side per-operation limits in calls per minute (oicp-2.3.md §1.6).

    ``limits`` maps operation names to calls per minute; an operation not listed is unlimited.
    """

    def __init__(
        self, limits: Mapping[str, int], *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
    ):
        self._windows = {name: _SlidingWindow(limit) for name, limit in limits.items() if limit > 0}
        self._clock = clock
        self._sleep = sleep

    async def acquire(self, operation: str) -> None:
        window = self._windows.get(operation)
        if window is not None:
            await window.acquire(self._clock, self._sleep)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How retryable calls are repeated: ``attempts`` in total, exponential backoff with jitter
    from ``initial_wait`` up to ``max_wait`` seconds; a 429's Retry-After is waited as given."""

    attempts: int = 4
    initial_wait: float = 1.0
    max_wait: float = 60.0

    def backoff(self, attempt: int) -> float:
        """Seconds before retry number ``attempt`` (1-based): doubling, capped, plus up to
        ``initial_wait`` of jitter (AUP: exponential backoff with jitter, oicp-2.3.md §1.4)."""
        exponential: float = self.initial_wait * 2.0 ** max(0, attempt - 1)
        return min(self.max_wait, exponential + random.uniform(0, self.initial_wait))


def _retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


# ---------------------------------------------------------------------------------------------
# TLS


def build_ssl_context(tls: HubjectTls) -> ssl.SSLContext:
    """The TLS context towards Hubject (oicp-2.3.md §1.2, §8 point 2).

    Hubject's server certificate is not from a public CA: when ``tls.ca`` is given it is the
    only trust anchor (root + intermediate in one file); otherwise the system store is used.
    ``tls.cert``/``tls.key`` are the client certificate Hubject signed (mutual TLS).
    """
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(tls.ca) if tls.ca else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if tls.cert is not None:
        password = tls.key_passphrase.get_secret_value() if tls.key_passphrase is not None else None
        context.load_cert_chain(str(tls.cert), str(tls.key) if tls.key else None, password=password)
    return context


def api_base(url: str) -> str:
    """``https://service.hubject.com`` → ``https://service.hubject.com/api/oicp`` (not doubled)."""
    base = url.strip().rstrip("/")
    return base if urlsplit(base).path.rstrip("/").endswith(API_PREFIX) else base + API_PREFIX


def path_segment(value: str) -> str:
    """An ID as a path segment: ``*`` and ``+`` stay literal (no ``%2A``, oicp-2.3.md §8 point 11)."""
    return quote(value.strip(), safe="*+")


# ---------------------------------------------------------------------------------------------
# The client


class OicpClient:
    """Typed calls for every CPO → Hubject and EMP → Hubject operation (oicp-2.3.md §2.1, §2.3).

    Methods return the parsed answer model; see the module docstring for errors and retries.
    Use as ``async with OicpClient.from_config(config.hubject) as client:`` or call :meth:`aclose`.
    """

    def __init__(
        self,
        url: str,
        *,
        operator_id: str | None = None,
        provider_id: str | None = None,
        timeouts: HubjectTimeouts | None = None,
        ssl_context: ssl.SSLContext | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        rate_limits: Mapping[str, int] | None = None,
        retry_policy: RetryPolicy | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        max_connections: int = 100,
    ) -> None:
        self.base_url = api_base(url)
        self.operator_id = operator_id
        self.provider_id = provider_id
        self.timeouts = timeouts or HubjectTimeouts()
        self.retry_policy = retry_policy or RetryPolicy()
        self.ssl_context = ssl_context if ssl_context is not None else ssl.create_default_context()
        self._sleep = sleep
        self._limiter = RateLimiter(
            AUP_RATE_LIMITS if rate_limits is None else rate_limits, clock=clock, sleep=sleep
        )
        self._push_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._http = httpx.AsyncClient(
            transport=transport,
            verify=self.ssl_context,
            follow_redirects=False,
            timeout=httpx.Timeout(self.timeouts.push, connect=self.timeouts.connect),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Accept": "application/json",
            },
        )

    @classmethod
    def from_config(
        cls, config: HubjectConfig, *, transport: httpx.AsyncBaseTransport | None = None, **options: Any
    ) -> OicpClient:
        """The client for ``config.hubject``: url, IDs, mutual TLS and timeouts from the configuration.

        ``options`` are passed to the constructor (``rate_limits``, ``retry_policy``, ...).
        """
        if config.url is None:
            raise ConfigError("configuration", "hubject.url", "required to call Hubject")
        return cls(
            config.url,
            operator_id=config.operator_id,
            provider_id=config.provider_id,
            timeouts=config.timeouts,
            ssl_context=build_ssl_context(config.tls),
            transport=transport,
            **options,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> OicpClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -----------------------------------------------------------------------------------------
    # CPO → Hubject (oicp-2.3.md §2.1)

    async def push_evse_data(self, body: PushEvseData, *, retry: bool = False) -> Acknowledgement:
        """PushEvseData v2.3; ``retry`` only for ``fullLoad`` (a repeat replaces the same set)."""
        return await self._call("push_evse_data", body, Acknowledgement, retry=self._push_retry(body, retry))

    async def push_evse_status(self, body: PushEvseStatus, *, retry: bool = False) -> Acknowledgement:
        """PushEvseStatus v2.1; ``retry`` only for ``fullLoad``."""
        return await self._call(
            "push_evse_status", body, Acknowledgement, retry=self._push_retry(body, retry)
        )

    async def authorize_start(self, body: AuthorizeStart) -> AuthorizationStart:
        """AuthorizeStart v2.1. Never retried: every call creates a SessionID (§1.5)."""
        return await self._call("authorize_start", body, AuthorizationStart)

    async def authorize_stop(self, body: AuthorizeStop) -> AuthorizationStop:
        """AuthorizeStop v2.1."""
        return await self._call("authorize_stop", body, AuthorizationStop)

    async def send_charge_detail_record(
        self, body: ChargeDetailRecord, *, retry: bool = True
    ) -> Acknowledgement:
        """ChargeDetailRecord v2.2, retried on transient errors: HBS keeps one CDR per SessionID.

        ``retry=False`` when an outbox owns the retries, so that a lost answer is visible to it
        (a later "already received" must then count as delivered, not as a data error).
        """
        return await self._call("charge_detail_record", body, Acknowledgement, retry=retry)

    async def send_charging_notification(self, body: ChargingNotification) -> Acknowledgement:
        """ChargingNotifications v1.1 (Start/Progress/End/Error); the answer is the EMP's, relayed."""
        return await self._call("charging_notification", body, Acknowledgement)

    async def push_pricing_product_data(
        self, body: PushPricingProductData, *, retry: bool = False
    ) -> Acknowledgement:
        """PushPricingProductData v1.0 (prices without VAT); ``retry`` only for ``fullLoad``."""
        return await self._call(
            "push_pricing_product_data", body, Acknowledgement, retry=self._push_retry(body, retry)
        )

    async def push_evse_pricing(self, body: PushEVSEPricing, *, retry: bool = False) -> Acknowledgement:
        """PushEVSEPricing v1.0; ``retry`` only for ``fullLoad``."""
        return await self._call(
            "push_evse_pricing", body, Acknowledgement, retry=self._push_retry(body, retry)
        )

    # -----------------------------------------------------------------------------------------
    # EMP → Hubject (oicp-2.3.md §2.3)

    async def pull_evse_data(
        self, body: PullEvseData, *, page: int = 0, size: int = PAGE_SIZE_MAX, retry: bool = False
    ) -> PullEvseDataResponse:
        """One page of PullEvseData v2.3 (``page`` 0-based, ``size`` ≤ 2000; §1.7)."""
        return await self._call(
            "pull_evse_data", body, PullEvseDataResponse, params=_page_params(page, size), retry=retry
        )

    async def pull_evse_data_pages(
        self, body: PullEvseData, *, size: int = PAGE_SIZE_MAX, retry: bool = False
    ) -> AsyncIterator[PullEvseDataResponse]:
        """Every page of PullEvseData in order, until ``last`` (oicp-2.3.md §1.7, §8 point 7)."""
        page = 0
        while True:
            result = await self.pull_evse_data(body, page=page, size=size, retry=retry)
            yield result
            if _final_page(result, page):
                return
            page += 1

    async def pull_evse_status(self, body: PullEvseStatus, *, retry: bool = False) -> PullEvseStatusResponse:
        """PullEvseStatus v2.1: every operator's statuses (6 calls per minute, §1.6)."""
        return await self._call("pull_evse_status", body, PullEvseStatusResponse, retry=retry)

    async def pull_evse_status_by_id(
        self, body: PullEvseStatusByID, *, retry: bool = False
    ) -> PullEvseStatusByIDResponse:
        """PullEvseStatusByID: at most 100 EvseIDs; its own envelope (§8 point 6)."""
        return await self._call("pull_evse_status_by_id", body, PullEvseStatusByIDResponse, retry=retry)

    async def pull_evse_status_by_ids(
        self, evse_ids: Sequence[str], *, provider_id: str | None = None, retry: bool = False
    ) -> list[EvseStatusRecord]:
        """PullEvseStatusByID for any number of EvseIDs, 100 per call, records in request order."""
        provider = provider_id or self._path_id(OPERATIONS["pull_evse_status_by_id"])
        records: list[EvseStatusRecord] = []
        for start in range(0, len(evse_ids), PULL_EVSE_STATUS_BY_ID_MAX):
            chunk = list(evse_ids[start : start + PULL_EVSE_STATUS_BY_ID_MAX])
            answer = await self.pull_evse_status_by_id(
                PullEvseStatusByID(provider_id=provider, evse_id=chunk), retry=retry
            )
            records.extend(answer.evse_status_records.evse_status_record)
        return records

    async def pull_evse_status_by_operator_id(
        self, body: PullEvseStatusByOperatorID, *, retry: bool = False
    ) -> PullEvseStatusResponse:
        """PullEvseStatusByOperatorID: the statuses of the listed operators."""
        return await self._call("pull_evse_status_by_operator_id", body, PullEvseStatusResponse, retry=retry)

    async def authorize_remote_start(self, body: AuthorizeRemoteStart) -> Acknowledgement:
        """AuthorizeRemoteStart v2.1 (leave ``SessionID`` empty, §8 point 12). Never retried."""
        return await self._call("authorize_remote_start", body, Acknowledgement)

    async def authorize_remote_stop(self, body: AuthorizeRemoteStop) -> Acknowledgement:
        """AuthorizeRemoteStop v2.1."""
        return await self._call("authorize_remote_stop", body, Acknowledgement)

    async def authorize_remote_reservation_start(
        self, body: AuthorizeRemoteReservationStart
    ) -> Acknowledgement:
        """AuthorizeRemoteReservationStart v1.1. Never retried (creates a SessionID)."""
        return await self._call("authorize_remote_reservation_start", body, Acknowledgement)

    async def authorize_remote_reservation_stop(
        self, body: AuthorizeRemoteReservationStop
    ) -> Acknowledgement:
        """AuthorizeRemoteReservationStop v1.1 (the CPO sends a CDR afterwards)."""
        return await self._call("authorize_remote_reservation_stop", body, Acknowledgement)

    async def get_charge_detail_records(
        self, body: GetChargeDetailRecords, *, page: int = 0, size: int = PAGE_SIZE_MAX, retry: bool = False
    ) -> GetChargeDetailRecordsResponse:
        """One page of GetChargeDetailRecords v2.2 (delivered CDRs included: dedupe by SessionID)."""
        return await self._call(
            "get_charge_detail_records",
            body,
            GetChargeDetailRecordsResponse,
            params=_page_params(page, size),
            retry=retry,
        )

    async def get_charge_detail_records_pages(
        self, body: GetChargeDetailRecords, *, size: int = PAGE_SIZE_MAX, retry: bool = False
    ) -> AsyncIterator[GetChargeDetailRecordsResponse]:
        """Every page of GetChargeDetailRecords in order, until ``last``."""
        page = 0
        while True:
            result = await self.get_charge_detail_records(body, page=page, size=size, retry=retry)
            yield result
            if _final_page(result, page):
                return
            page += 1

    async def push_authentication_data(
        self, body: PushAuthenticationData, *, retry: bool = False
    ) -> Acknowledgement:
        """PushAuthenticationData v2.1 (offline EMPs); ``retry`` only for ``fullLoad``."""
        return await self._call(
            "push_authentication_data", body, Acknowledgement, retry=self._push_retry(body, retry)
        )

    async def pull_pricing_product_data(
        self, body: PullPricingProductData, *, retry: bool = False
    ) -> PullPricingProductDataResponse:
        """PullPricingProductData v1.0."""
        return await self._call(
            "pull_pricing_product_data", body, PullPricingProductDataResponse, retry=retry
        )

    async def pull_evse_pricing(
        self, body: PullEVSEPricing, *, retry: bool = False
    ) -> PullEVSEPricingResponse:
        """PullEVSEPricing v1.0."""
        return await self._call("pull_evse_pricing", body, PullEVSEPricingResponse, retry=retry)

    # -----------------------------------------------------------------------------------------
    # Internals

    @staticmethod
    def _push_retry(body: BaseModel, retry: bool) -> bool:
        """Only a full-set push is idempotent: a repeated insert/update/delete may fail or double."""
        if retry and getattr(body, "action_type", None) != ActionType.FULL_LOAD:
            raise ValueError("retry=True is only allowed for ActionType fullLoad pushes (idempotent)")
        return retry

    def _path_id(self, operation: OicpOperation) -> str:
        param = operation.path_param
        if param == "operatorID":
            if not self.operator_id:
                raise ConfigError(
                    "configuration", "hubject.operator_id", f"required to call {operation.name}"
                )
            return self.operator_id
        if param == "providerID":
            if not self.provider_id:
                raise ConfigError(
                    "configuration", "hubject.provider_id", f"required to call {operation.name}"
                )
            return self.provider_id
        return ""

    def url_for(self, name: str) -> str:
        """The full URL of an operation, IDs from the configuration (oicp-2.3.md §2)."""
        operation = OPERATIONS[name]
        path = operation.path
        param = operation.path_param
        if param is not None:
            path = path.replace("{" + param + "}", path_segment(self._path_id(operation)))
        return self.base_url + path

    def _timeout(self, kind: CallKind) -> httpx.Timeout:
        seconds = {
            "authorize": self.timeouts.authorize,
            "push": self.timeouts.push,
            "cdr": self.timeouts.cdr,
            "pull": self.timeouts.pull,
        }[kind]
        return httpx.Timeout(seconds, connect=self.timeouts.connect)

    def _lock(self, operation: OicpOperation) -> AbstractAsyncContextManager[Any]:
        if not operation.sequential:
            return nullcontext()
        key = (operation.name, self._path_id(operation))
        lock = self._push_locks.get(key)
        if lock is None:
            lock = self._push_locks[key] = asyncio.Lock()
        return lock

    async def _call(
        self,
        name: str,
        body: BaseModel,
        answer: type[M],
        *,
        params: Mapping[str, int] | None = None,
        retry: bool = False,
    ) -> M:
        operation = OPERATIONS[name]
        url = self.url_for(name)
        content = to_json(body, strict=True)
        async with self._lock(operation):
            if not retry:
                return await self._attempt(operation, url, content, answer, params)
            policy = self.retry_policy

            def wait(state: RetryCallState) -> float:
                error = state.outcome.exception() if state.outcome is not None else None
                if isinstance(error, OicpRateLimited) and error.retry_after is not None:
                    return error.retry_after
                return policy.backoff(state.attempt_number)

            def before_sleep(state: RetryCallState) -> None:
                error = state.outcome.exception() if state.outcome is not None else None
                log.warning("oicp %s: attempt %d failed (%s); retrying", name, state.attempt_number, error)

            retrying = AsyncRetrying(
                stop=stop_after_attempt(max(1, policy.attempts)),
                wait=wait,
                retry=retry_if_exception_type(OicpTransientError),
                sleep=self._sleep,
                before_sleep=before_sleep,
                reraise=True,
            )
            async for attempt in retrying:
                with attempt:
                    return await self._attempt(operation, url, content, answer, params)
        raise AssertionError("unreachable: tenacity either returns or reraises")

    async def _attempt(
        self,
        operation: OicpOperation,
        url: str,
        content: bytes,
        answer: type[M],
        params: Mapping[str, int] | None,
    ) -> M:
        await self._limiter.acquire(operation.name)
        try:
            response = await self._http.post(
                url,
                content=content,
                params=dict(params) if params else None,
                timeout=self._timeout(operation.kind),
            )
        except httpx.TimeoutException as error:
            raise OicpTransientError(
                f"{operation.name}: no answer from Hubject within the {operation.kind} timeout ({error!r})",
                operation=operation.name,
            ) from error
        except httpx.TransportError as error:
            raise OicpTransientError(
                f"{operation.name}: connection to Hubject failed ({error!r})", operation=operation.name
            ) from error
        process_id = response.headers.get("Process-ID")
        if response.status_code in (200, 201):
            log.debug("oicp %s: HTTP %d Process-ID=%s", operation.name, response.status_code, process_id)
            try:
                return answer.model_validate_json(response.content)
            except ValidationError as error:
                first = error.errors(include_input=False, include_url=False)[0]
                where = ".".join(str(part) for part in first["loc"]) or "body"
                raise OicpCallError(
                    f"{operation.name}: Hubject's answer is not a valid {answer.__name__} "
                    f"({where}: {first['msg']})",
                    operation=operation.name,
                    http_status=response.status_code,
                    process_id=process_id,
                ) from None
        failure = _http_error(operation.name, response, process_id)
        log.warning(
            "oicp %s: HTTP %d Process-ID=%s: %s", operation.name, response.status_code, process_id, failure
        )
        raise failure


def _page_params(page: int, size: int) -> dict[str, int]:
    if page < 0:
        raise ValueError("page is 0-based and cannot be negative")
    if not 1 <= size <= PAGE_SIZE_MAX:
        raise ValueError(f"size must be 1..{PAGE_SIZE_MAX} (oicp-2.3.md §1.7)")
    return {"page": page, "size": size}


def _final_page(result: PullEvseDataResponse | GetChargeDetailRecordsResponse, page: int) -> bool:
    """``last`` ends the loop; an empty page or one past ``totalPages`` does too (no endless loop)."""
    return result.last or not result.content or page + 1 >= result.total_pages


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None


def _fault(operation: str, body: Any, process_id: str | None) -> OicpFaultError:
    """HTTP 400 FaultBody ``{message, extendedInfo, validationErrors[{fieldReference, errorMessage}]}``."""
    if not isinstance(body, dict):
        return OicpFaultError(
            f"{operation}: HTTP 400 without a FaultBody (nginx refused the TLS client certificate? "
            "oicp-2.3.md §8 point 2)",
            operation=operation,
            process_id=process_id,
        )
    errors = [
        FieldValidationError(str(item.get("fieldReference", "")), str(item.get("errorMessage", "")))
        for item in body.get("validationErrors") or []
        if isinstance(item, dict)
    ]
    fields = "; ".join(f"{error.field_reference}: {error.error_message}" for error in errors)
    message = str(body.get("message") or "Bad request")
    extended = body.get("extendedInfo")
    text = f"{operation}: Hubject refused the request (HTTP 400): {message}"
    if fields:
        text += f" [{fields}]"
    if extended:
        text += f" ({extended})"
    return OicpFaultError(text, operation=operation, validation_errors=errors, process_id=process_id)


def _http_error(operation: str, response: httpx.Response, process_id: str | None) -> OicpCallError:
    status = response.status_code
    body = _json_or_none(response)
    detail = ""
    if isinstance(body, dict):
        status_code = body.get("StatusCode")
        if isinstance(status_code, dict):
            detail = " ".join(str(status_code.get(key) or "") for key in ("Code", "Description")).strip()
        detail = " ".join(part for part in (detail, str(body.get("message") or "")) if part)
    if status == 400:
        return _fault(operation, body, process_id)
    if status == 401:
        return OicpCallError(
            f"{operation}: Unauthorized Access (017): the ID in the path or body does not match the client "
            f"certificate, or the certificate expired (oicp-2.3.md §1.2) {detail}".rstrip(),
            operation=operation,
            code="017",
            http_status=401,
            process_id=process_id,
        )
    if status == 403:
        return OicpCallError(
            f"{operation}: HTTP 403 from Hubject's edge: IP not whitelisted — register the gateway's static "
            "egress IPs with Hubject (oicp-2.3.md §1.2)",
            operation=operation,
            http_status=403,
            process_id=process_id,
        )
    if status == 404:
        return OicpCallError(
            f"{operation}: Partner not found (300) {detail}".rstrip(),
            operation=operation,
            code="300",
            http_status=404,
            process_id=process_id,
        )
    if status == 429:
        return OicpRateLimited(
            f"{operation}: rate limit exceeded (HTTP 429, oicp-2.3.md §1.6)",
            operation=operation,
            retry_after=_retry_after(response.headers.get("Retry-After")),
            process_id=process_id,
        )
    if status == 408 or status >= 500:
        return OicpTransientError(
            f"{operation}: Hubject answered HTTP {status} {detail}".rstrip(),
            operation=operation,
            http_status=status,
            process_id=process_id,
        )
    if 300 <= status < 400:
        return OicpCallError(
            f"{operation}: HTTP {status} redirect to {response.headers.get('Location')!r} not followed",
            operation=operation,
            http_status=status,
            process_id=process_id,
        )
    return OicpCallError(
        f"{operation}: Hubject answered HTTP {status} {detail}".rstrip(),
        operation=operation,
        http_status=status,
        process_id=process_id,
    )


__all__ = [
    "API_PREFIX",
    "AUP_RATE_LIMITS",
    "OPERATIONS",
    "PAGE_SIZE_DEFAULT",
    "PAGE_SIZE_MAX",
    "CallKind",
    "FieldValidationError",
    "OicpCallError",
    "OicpClient",
    "OicpFaultError",
    "OicpOperation",
    "OicpRateLimited",
    "OicpTransientError",
    "RateLimiter",
    "RetryPolicy",
    "api_base",
    "build_ssl_context",
    "path_segment",
]
