"""A Hubject (HBS) simulator for both roles, on loopback: :class:`HubjectSimulator`.

It plays Hubject for tests, the demo and benchmarks, written from the spec (oicp-2.3.md) and the
official OpenAPI schemas rather than from the gateway's client, so that the two check each other.

Serving (``sim.app``, every path of :data:`bridge.oicp.client.OPERATIONS` under ``/api/oicp``):

* Every request body is validated against the official schemas (:mod:`.hubject_schemas`);
  invalid JSON or a schema violation is answered like HBS: **HTTP 400** with a FaultBody
  ``{message, extendedInfo, validationErrors:[{fieldReference, errorMessage}]}`` (§1.4).
* Business outcomes are **HTTP 200** with ``Result``/``AuthorizationStatus`` + ``StatusCode``.
* An ``{operatorID}``/``{providerID}`` not registered → **404** ``{StatusCode: 300}``; a body
  OperatorID/ProviderID different from the path's (the certificate owner's) → **401** 017 (§1.2).
* Over a configured per-operation rate (calls per sliding minute per partner) → **429** with
  ``Retry-After`` (§1.6). :meth:`inject_fault` makes the next calls answer 403/408/5xx/anything.
* Answers carry a ``Process-ID`` header (§1.1).

Hubject's rules it enforces (decisions where the spec is silent are marked *):

* SessionIDs (UUID) are issued on AuthorizeStart when authorized (answer configurable per
  identification with :meth:`authorize`, else from pushed authentication data, else
  NotAuthorized 102/101/105/106 by identification type*), AuthorizeRemoteStart and reservation
  start (603 unknown EvseID / 604 not Hubject compatible when the CPO pushed EVSE data, §2.2).
* One CDR per SessionID: a second is ``Result: false`` **022** "Data error"*; an unknown SessionID
  (on CDRs, stops, notifications) is ``Result: false`` with the OICP code **400** "Session is
  invalid" (an OICP StatusCode, HTTP 200 — oicp-2.3.md §4.1, §8 point 1).
* EVSE consistency: an EvseID not carrying the operator of the path (PushEvseData,
  PushEvseStatus, PushEVSEPricing, CDR) refuses the whole request with **018**; so does an
  EvseID repeated in one request ([G]).
* ActionType (:class:`~.hubject_store.RecordSet`): ``fullLoad`` replaces the operator's set,
  ``insert`` of an existing record or ``update`` of a missing one refuses the whole request with
  **022** "Data error" naming the records in AdditionalInfo (the spec: "answered with an error
  message. Error details will be provided with the AdditionalInfo field"; 018 stays reserved
  for EvseIDs of another operator), ``delete`` removes (absent records are ignored*).
* Pushes of one operation must not overlap (§2.1 notes): a push arriving while another push of
  the same operation and partner is in flight is recorded in :attr:`violations`. Each push takes
  ``push_delay`` seconds (and waits while :meth:`pause_pushes` is in force), so overlap shows.
* EMP pulls: PullEvseData paged (``page``, ``size``: default 20, at most 2000, Spring page with
  ``last``), filters, coordinates in the requested format, ``LastCall`` deltas with ``deltaType``
  (not combinable with SearchCenter/CountryCodes/OperatorIds → 400*); PullEvseStatus (+ by ID
  with its own envelope and ``EvseNotFound``, + by operator); pricing pulls;
  GetChargeDetailRecords paged with the CDRForwarded filter.

Calling the partner (:meth:`call_partner`): AuthorizeRemoteStart/Stop, reservations,
AuthorizeStart/Stop to an EMP, CDR forwarding and notifications, POSTed to
``partner_base_url`` + the OICP path as Hubject does (§1.3), recorded like every exchange.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import httpx
import orjson
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bridge.oicp.client import API_PREFIX, OPERATIONS, path_segment
from bridge.oicp.models import normalize_session_id, to_jsonable
from bridge.simulators.hubject_backend import (
    AuthorizationRule,
    CdrRecord,
    HubjectBackend,
    HubjectReply,
    SimSession,
    key_of,
    status_body,
)
from bridge.simulators.hubject_schemas import FieldProblem, OicpSchemas, Side, fault_body
from bridge.simulators.hubject_store import operator_id_of_evse

JSON_UTF8 = "application/json;charset=UTF-8"
HUBJECT_HEADERS = {
    "Content-Type": JSON_UTF8,
    "Accept": JSON_UTF8,
    "User-Agent": "Apache-HttpAsyncClient/4.1.4 (Java/1.8.0_292)",
}
"""What Hubject sends to partners (oicp-2.3.md §1.3, observed by [C])."""

NGINX_403 = (
    "<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n"
    "<center><h1>403 Forbidden</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)

SCHEMAS: dict[str, tuple[Side, str]] = {
    "push_evse_data": ("cpo", "eRoamingPushEvseData"),
    "push_evse_status": ("cpo", "eRoamingPushEvseStatus"),
    "authorize_start": ("cpo", "eRoamingAuthorizeStart"),
    "authorize_stop": ("cpo", "eRoamingAuthorizeStop"),
    "charge_detail_record": ("cpo", "eRoamingChargeDetailRecord"),
    "push_pricing_product_data": ("cpo", "eRoamingPushPricingProductData"),
    "push_evse_pricing": ("cpo", "eRoamingPushEVSEPricing"),
    "pull_evse_data": ("emp", "eRoamingPullEVSEData"),
    "pull_evse_status": ("emp", "eRoamingPullEVSEStatus"),
    "pull_evse_status_by_id": ("emp", "eRoamingPullEVSEStatusByID"),
    "pull_evse_status_by_operator_id": ("emp", "eRoamingPullEVSEStatusByOperatorID"),
    "authorize_remote_start": ("emp", "eRoamingAuthorizeRemoteStart"),
    "authorize_remote_stop": ("emp", "eRoamingAuthorizeRemoteStop"),
    "authorize_remote_reservation_start": ("emp", "eRoamingAuthorizeRemoteReservationStart"),
    "authorize_remote_reservation_stop": ("emp", "eRoamingAuthorizeRemoteReservationStop"),
    "get_charge_detail_records": ("emp", "eRoamingGetChargeDetailRecords"),
    "push_authentication_data": ("emp", "eRoamingPushAuthenticationData"),
    "pull_pricing_product_data": ("emp", "eRoamingPullPricingProductData"),
    "pull_evse_pricing": ("emp", "eRoamingPullEVSEPricing"),
}
"""The official schema of each request body (charging notifications: by their ``Type``)."""

PARTNER_PATHS: dict[str, str] = {
    name: OPERATIONS[name].path
    for name in (
        "authorize_remote_start",
        "authorize_remote_stop",
        "authorize_remote_reservation_start",
        "authorize_remote_reservation_stop",
        "authorize_start",
        "authorize_stop",
        "charge_detail_record",
        "charging_notification",
    )
}
"""What :meth:`HubjectSimulator.call_partner` can call: Hubject → CPO (§2.2) and → EMP (§2.4)."""

_WWCP = "/charging/v21/providers/{providerID}/authorize-remote-reservation"
WWCP_RESERVATION_PATHS = {
    "authorize_remote_reservation_start": f"{_WWCP}/start",
    "authorize_remote_reservation_stop": f"{_WWCP}/stop",
}


@dataclass(slots=True)
class Exchange:
    """One HTTP exchange: a call to the simulator (``to_hubject``) or from it (``to_partner``).

    ``started``/``finished`` are ``time.perf_counter()`` readings (overlap checks); ``status`` 0
    means the partner gave no HTTP answer (``response`` then holds the error).
    """

    operation: str
    direction: Literal["to_hubject", "to_partner"]
    path: str
    query: dict[str, str]
    request: Any
    response: Any
    status: int
    process_id: str | None
    started: float
    finished: float


@dataclass(frozen=True, slots=True)
class Violation:
    """A push that arrived while another of the same operation and partner was in flight."""

    operation: str
    partner: str
    at: datetime


@dataclass(slots=True)
class Fault:
    """A canned answer for the next calls of an operation (see :meth:`HubjectSimulator.inject_fault`)."""

    status: int
    body: bytes
    headers: dict[str, str]
    after_processing: bool
    media_type: str


def _strip_none(value: Any) -> Any:
    """The answer without ``null`` optionals. Page ``content`` stays as stored: records are
    served as the partner pushed them (and stripping 2000 records per page costs real time)."""
    if isinstance(value, dict):
        return {
            key: item if key == "content" else _strip_none(item)
            for key, item in value.items()
            if item is not None
        }
    if isinstance(value, list):
        return [_strip_none(item) for item in value]
    return value


class HubjectSimulator(HubjectBackend):
    """Hubject for both roles (see the module docstring). Serve :attr:`app` with uvicorn or
    ``httpx.ASGITransport``; inspect :attr:`exchanges`, :attr:`violations`, :attr:`sessions`, :attr:`cdrs`.

    ``operators`` maps the registered OperatorIDs to their names, ``providers`` lists the
    registered ProviderIDs, ``rates`` limits calls per minute by operation name (the names of
    :data:`~bridge.oicp.client.OPERATIONS`), ``schemas_dir`` is ``specs/oicp-2.3``.
    ``explicit_nulls`` answers absent optionals as ``null`` as HBS does (off: omitted, so the
    answers validate against the OpenAPI). ``clock`` (monotonic seconds) drives the rate
    windows, ``now`` the timestamps: tests replace both to avoid waiting.
    """

    def __init__(
        self,
        *,
        operators: Mapping[str, str] | None = None,
        providers: Iterable[str] = (),
        rates: Mapping[str, int] | None = None,
        partner_base_url: str | None = None,
        schemas_dir: Path,
        partner_transport: httpx.AsyncBaseTransport | None = None,
        push_delay: float = 0.005,
        validate: bool = True,
        explicit_nulls: bool = False,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(operators=operators, providers=providers, now=now)
        self.rates: dict[str, int] = dict(rates or {})
        self.partner_base_url = partner_base_url.rstrip("/") if partner_base_url else None
        self.schemas = OicpSchemas(schemas_dir)
        self.push_delay = push_delay
        self.validate = validate
        self.explicit_nulls = explicit_nulls
        self.clock = clock
        self.exchanges: list[Exchange] = []
        self.violations: list[Violation] = []
        self._faults: dict[str, deque[Fault]] = {}
        self._windows: dict[tuple[str, str], deque[float]] = {}
        self._in_flight: dict[tuple[str, str], int] = {}
        self._push_gate: asyncio.Event | None = None
        self._partner_transport = partner_transport
        self._partner_http: httpx.AsyncClient | None = None
        routes = [
            Route(API_PREFIX + op.path, self._endpoint(op.name), methods=["POST"])
            for op in OPERATIONS.values()
        ]
        self.app = Starlette(routes=routes)

    # -----------------------------------------------------------------------------------------
    # Test controls

    def inject_fault(
        self,
        operation: str,
        status: int,
        *,
        body: bytes | str | Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
        after_processing: bool = False,
    ) -> None:
        """Answer the next ``times`` calls of ``operation`` with ``status`` (403 gets nginx's HTML).

        ``after_processing``: the request is processed first and only the answer is replaced
        (a lost answer), else it is refused before any processing.
        """
        if body is None:
            body = NGINX_403 if status == 403 else b""
        media = "text/html" if isinstance(body, str) else JSON_UTF8
        content = (
            body.encode()
            if isinstance(body, str)
            else body
            if isinstance(body, bytes)
            else orjson.dumps(body)
        )
        fault = Fault(status, content, dict(headers or {}), after_processing, media)
        self._faults.setdefault(operation, deque()).extend([fault] * times)

    def pause_pushes(self) -> None:
        """Hold every push (after it is counted in flight) until :meth:`resume_pushes`."""
        self._push_gate = asyncio.Event()

    def resume_pushes(self) -> None:
        if self._push_gate is not None:
            self._push_gate.set()
        self._push_gate = None

    def in_flight(self, operation: str) -> int:
        return sum(count for (name, _), count in self._in_flight.items() if name == operation)

    def exchanges_for(self, operation: str) -> list[Exchange]:
        return [exchange for exchange in self.exchanges if exchange.operation == operation]

    # -----------------------------------------------------------------------------------------
    # Serving

    def _endpoint(self, name: str) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            return await self._handle(name, request)

        endpoint.__name__ = f"hubject_{name}"
        return endpoint

    async def _handle(self, name: str, request: Request) -> Response:
        started = time.perf_counter()
        raw = await request.body()
        partner = request.path_params.get("operatorID") or request.path_params.get("providerID") or ""
        query = dict(request.query_params)
        try:
            parsed: Any = orjson.loads(raw)
        except orjson.JSONDecodeError:
            parsed = raw.decode("utf-8", "replace")
        process_id = str(uuid.uuid4())
        fault = self._next_fault(name)
        media = JSON_UTF8
        headers = {"Process-ID": process_id}
        answer: Any = None
        if fault is not None and not fault.after_processing:
            status, content, media = fault.status, fault.body, fault.media_type
            headers.update(fault.headers)
        else:
            try:
                status, body = await self._process(name, partner, parsed, query)
            except HubjectReply as reply:
                status, body = reply.status, reply.body
                headers.update(reply.headers)
            answer = body if self.explicit_nulls else _strip_none(body)
            content = orjson.dumps(answer)
            if fault is not None:
                status, content, media = fault.status, fault.body, fault.media_type
                headers.update(fault.headers)
        if fault is not None:
            try:
                answer = orjson.loads(content) if content else None
            except orjson.JSONDecodeError:
                answer = content.decode("utf-8", "replace")
        raw_path = request.scope.get("raw_path")
        path = raw_path.decode("latin-1") if isinstance(raw_path, bytes) else request.url.path
        self.exchanges.append(
            Exchange(
                name,
                "to_hubject",
                path,
                query,
                parsed,
                answer,
                status,
                process_id,
                started,
                time.perf_counter(),
            )
        )
        return Response(content, status_code=status, media_type=media, headers=headers)

    def _next_fault(self, name: str) -> Fault | None:
        queue = self._faults.get(name)
        return queue.popleft() if queue else None

    async def _process(self, name: str, partner: str, body: Any, query: Mapping[str, str]) -> tuple[int, Any]:
        self._check_rate(name, partner)
        owner = self._check_partner(name, partner)
        if not isinstance(body, dict):
            problem = FieldProblem("", "JSON parse error: the body is not a JSON object")
            raise HubjectReply(400, fault_body([problem], extended_info="Error parsing JSON"))
        if name == "pull_evse_status":
            name = "pull_evse_status_by_id" if "EvseID" in body else name
            name = "pull_evse_status_by_operator_id" if "OperatorID" in body else name
        if self.validate:
            self._check_schema(name, body)
        self._check_identity(name, owner, body)
        handler: Callable[[str, dict[str, Any], Mapping[str, str]], tuple[int, Any]] = getattr(
            self, f"_op_{name}"
        )
        if not OPERATIONS[name].sequential:
            return handler(owner, body, query)
        key = (name, owner)
        if self._in_flight.get(key, 0):
            self.violations.append(Violation(name, owner, self.now()))
        self._in_flight[key] = self._in_flight.get(key, 0) + 1
        try:
            if self.push_delay:
                await asyncio.sleep(self.push_delay)
            if self._push_gate is not None:
                await self._push_gate.wait()
            return handler(owner, body, query)
        finally:
            self._in_flight[key] -= 1

    def _check_rate(self, name: str, partner: str) -> None:
        limit = self.rates.get(name)
        if not limit:
            return
        window = self._windows.setdefault((name, key_of(partner)), deque())
        now = self.clock()
        while window and window[0] <= now - 60.0:
            window.popleft()
        if len(window) >= limit:
            wait = max(1, math.ceil(window[0] + 60.0 - now))
            raise HubjectReply(429, {"message": "Too Many Requests"}, {"Retry-After": str(wait)})
        window.append(now)

    def _check_partner(self, name: str, partner: str) -> str:
        param = OPERATIONS[name].path_param
        if param is None:
            return ""
        found = self._operator(partner) if param == "operatorID" else self._provider(partner)
        if found is None:
            raise HubjectReply(
                404,
                {
                    "StatusCode": status_body("300", f"{param} {partner!r} is not registered"),
                    "message": "Partner not found",
                },
            )
        return found

    def _check_schema(self, name: str, body: dict[str, Any]) -> None:
        if name == "charging_notification":
            kind = body.get("Type")
            if kind not in ("Start", "Progress", "End", "Error"):
                problem = FieldProblem("type", "must be one of Start, Progress, End, Error")
                raise HubjectReply(400, fault_body([problem]))
            side: Side = "cpo"
            schema = f"eRoamingChargingNotification{kind}"
        else:
            side, schema = SCHEMAS[name]
        problems = self.schemas.problems(body, side, schema)
        if problems:
            raise HubjectReply(400, fault_body(problems))

    def _check_identity(self, name: str, owner: str, body: dict[str, Any]) -> None:
        """oicp-2.3.md §1.2: the ID in the body must be the certificate owner's (path) ID, else 017."""
        claimed = _body_partner_id(name, body)
        if claimed is None or not owner:
            return
        if key_of(claimed) != key_of(owner):
            raise HubjectReply(
                401,
                {
                    "StatusCode": status_body("017", f"{claimed} does not match {owner}"),
                    "message": "Unauthorized Access",
                },
            )

    # -----------------------------------------------------------------------------------------
    # Hubject → partner

    async def call_partner(
        self,
        operation: str,
        body: Mapping[str, Any] | BaseModel,
        *,
        path_id: str | None = None,
        reservation_paths: Literal["reservation", "charging"] = "reservation",
        answer_within: float = 60.0,
    ) -> Exchange:
        """POST ``body`` to the partner as Hubject would (``partner_base_url`` + the OICP path).

        AuthorizeRemoteStart, reservation start and AuthorizeStart without a ``SessionID`` get a
        new one (Hubject generates it, §4.1). The path ID defaults to the body's ProviderID /
        OperatorID (for a CDR: the operator its EvseID carries). A forwarded CDR answered
        ``Result: true`` is marked forwarded. Returns the recorded :class:`Exchange` (status 0:
        no HTTP answer, e.g. the partner timed out — Hubject would then answer its caller 310).
        """
        if operation not in PARTNER_PATHS:
            raise ValueError(f"Hubject does not call {operation!r} on partners")
        if self.partner_base_url is None and self._partner_transport is None:
            raise RuntimeError("no partner_base_url configured")
        data = to_jsonable(body, strict=False) if isinstance(body, BaseModel) else dict(body)
        if operation in ("authorize_remote_start", "authorize_remote_reservation_start", "authorize_start"):
            if not data.get("SessionID"):
                kind: Literal["authorize", "remote", "reservation"] = (
                    "authorize"
                    if operation == "authorize_start"
                    else "remote"
                    if operation == "authorize_remote_start"
                    else "reservation"
                )
                evse = data.get("EvseID")
                session = self._new_session(
                    kind,
                    data.get("OperatorID") or (operator_id_of_evse(evse) if evse else None),
                    data.get("ProviderID"),
                    evse,
                )
                data["SessionID"] = session.session_id
        path = PARTNER_PATHS[operation]
        if reservation_paths == "charging" and operation in WWCP_RESERVATION_PATHS:
            path = WWCP_RESERVATION_PATHS[operation]
        param = OPERATIONS[operation].path_param
        if param is not None:
            default = data.get("ProviderID") if param == "providerID" else data.get("OperatorID")
            if operation == "charge_detail_record":
                default = operator_id_of_evse(data["EvseID"])
            path = path.replace("{" + param + "}", path_segment(str(path_id or default)))
        if self._partner_http is None:
            self._partner_http = httpx.AsyncClient(
                transport=self._partner_transport,
                base_url=self.partner_base_url or "http://partner",
                headers=HUBJECT_HEADERS,
            )
        started = time.perf_counter()
        process_id = str(uuid.uuid4())
        try:
            response = await self._partner_http.post(
                API_PREFIX + path, content=orjson.dumps(data), timeout=answer_within
            )
        except httpx.HTTPError as error:
            exchange = Exchange(
                operation,
                "to_partner",
                API_PREFIX + path,
                {},
                data,
                {"error": repr(error)},
                0,
                process_id,
                started,
                time.perf_counter(),
            )
            self.exchanges.append(exchange)
            return exchange
        try:
            answer: Any = response.json()
        except ValueError:
            answer = response.text
        exchange = Exchange(
            operation,
            "to_partner",
            API_PREFIX + path,
            {},
            data,
            answer,
            response.status_code,
            process_id,
            started,
            time.perf_counter(),
        )
        self.exchanges.append(exchange)
        if operation == "charge_detail_record" and isinstance(answer, dict) and answer.get("Result") is True:
            record = self.cdrs.get(normalize_session_id(str(data.get("SessionID", ""))))
            if record is not None:
                record.forwarded = True
        return exchange

    async def aclose(self) -> None:
        """Close the HTTP client used towards the partner."""
        if self._partner_http is not None:
            await self._partner_http.aclose()
            self._partner_http = None


_BODY_IDS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "push_evse_data": lambda body: body.get("OperatorEvseData", {}).get("OperatorID"),
    "push_evse_status": lambda body: body.get("OperatorEvseStatus", {}).get("OperatorID"),
    "authorize_start": lambda body: body.get("OperatorID"),
    "authorize_stop": lambda body: body.get("OperatorID"),
    "push_pricing_product_data": lambda body: body.get("PricingProductData", {}).get("OperatorID"),
    "push_authentication_data": lambda body: body.get("ProviderAuthenticationData", {}).get("ProviderID"),
}


def _body_partner_id(name: str, body: dict[str, Any]) -> str | None:
    """The partner ID a body claims (checked against the path's, i.e. the certificate's)."""
    pick = _BODY_IDS.get(name)
    value = (
        pick(body) if pick is not None else body.get("ProviderID") if OPERATIONS[name].role == "emp" else None
    )
    return value if isinstance(value, str) else None


__all__ = [
    "HUBJECT_HEADERS",
    "PARTNER_PATHS",
    "SCHEMAS",
    "AuthorizationRule",
    "CdrRecord",
    "Exchange",
    "HubjectBackend",
    "HubjectSimulator",
    "SimSession",
    "Violation",
]
