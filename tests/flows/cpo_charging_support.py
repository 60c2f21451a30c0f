"""Shared set-up of the CPO-side charging tests (bridge.flows.cpo_charging).

A gateway whose OICP side is the Hubject simulator (operator ``IT*BEC``), the CPO backend
simulator (Be Charge, IT/BEC) registered with it through the real credentials handshake and
pushing its network, and optionally an OCPI eMSP peer (NL/SIE) registered with it too, with
Sessions and CDRs Receivers and a Tokens Sender (real-time authorization) that record what they
get. Sessions and CDRs are the official OCPI 2.2.1 examples, moved to the backend's network,
token and times.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bridge.app import create_app
from bridge.config import BridgeConfig
from bridge.context import Gateway
from bridge.delivery import DeliverySettings, delivery_start_hook
from bridge.flows import cpo_charging
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.models.common import format_datetime, to_jsonable
from bridge.ocpi.server.envelope import ocpi_response
from bridge.ocpi.server.registry import EndpointRegistry, ModuleEndpoint
from bridge.oicp.client import OicpClient
from bridge.oicp.client import RetryPolicy as OicpRetryPolicy
from bridge.simulators import base_url, serve
from bridge.simulators.cpo_backend import CpoBackend, network
from bridge.simulators.hubject import HubjectSimulator
from bridge.simulators.ocpi_party import Identity, OcpiParty
from bridge.store.base import OutboxMessage, Store
from tests.conftest import SHARED
from tests.oicp.hubject_support import loopback_socket
from tests.support.gateway import PUBLIC_URL, make_config, running

SPECS = SHARED / "specs" / "oicp-2.3"
EXAMPLES = SHARED / "specs" / "ocpi-2.2.1" / "examples"
OPERATOR = "IT*BEC"
OPERATOR_NAME = "Be Charge"
PROVIDER = "DE-DCB"
PEER = Identity(role="EMSP", country_code="NL", party_id="SIE", name="Peer eMSP")
CPO_TOKEN_A = "cpo-token-a-0123456789"
EMSP_TOKEN_A = "emsp-token-a-0123456789"
FAST = DeliverySettings(poll_interval=0.1, send_timeout=10.0, lease_seconds=20.0, stop_timeout=2.0)
HUBJECT_OPTIONS = {"url": "http://hubject.test", "operator_id": OPERATOR, "operator_name": OPERATOR_NAME}


def partners(*, peer: bool) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = [{"name": "becharge", "role": "CPO", "token_a": CPO_TOKEN_A}]
    if peer:
        listed.append({"name": "peer", "role": "EMSP", "token_a": EMSP_TOKEN_A})
    return listed


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    return data


# --------------------------------------------------------------------------------------------
# The OCPI eMSP peer


@dataclass
class Received:
    method: str
    path: str
    body: Any
    headers: dict[str, str]


class PeerEmsp:
    """An OCPI 2.2.1 eMSP: OcpiParty + Sessions/CDRs Receivers + Tokens Sender (authorize).

    ``answers[uid]`` is the AuthorizationInfo ``allowed`` value to answer (absent: 404/2004)."""

    def __init__(self, base: str, http: httpx.AsyncClient, *, gateway_url: str = PUBLIC_URL) -> None:
        self.gateway_url = gateway_url
        self.sessions: list[Received] = []
        self.cdrs: list[Received] = []
        self.authorizations: list[Received] = []
        self.answers: dict[str, str] = {}
        self.tokens: dict[str, v221.Token] = {}
        registry = EndpointRegistry()
        prefix = "/ocpi/2.2.1/emsp"
        registry.add(
            ModuleEndpoint(
                "2.2.1",
                "sessions",
                "RECEIVER",
                "EMSP",
                "emsp/sessions",
                (Route(prefix + "/sessions/{cc}/{pid}/{sid}", self._session, methods=["PUT", "PATCH"]),),
            )
        )
        registry.add(
            ModuleEndpoint(
                "2.2.1",
                "cdrs",
                "RECEIVER",
                "EMSP",
                "emsp/cdrs",
                (Route(prefix + "/cdrs", self._cdr, methods=["POST"]),),
            )
        )
        registry.add(
            ModuleEndpoint(
                "2.2.1",
                "tokens",
                "SENDER",
                "EMSP",
                "emsp/tokens",
                (Route(prefix + "/tokens/{uid}/authorize", self._authorize, methods=["POST"]),),
            )
        )
        self.party = OcpiParty(
            base_url=base, identities=[PEER], versions=("2.2.1",), registry=registry, http=http
        )

    @staticmethod
    async def _record(request: Request) -> Received:
        raw = await request.body()
        return Received(
            request.method, request.url.path, orjson.loads(raw) if raw else None, dict(request.headers)
        )

    async def _session(self, request: Request) -> Response:
        self.sessions.append(await self._record(request))
        return ocpi_response()

    async def _cdr(self, request: Request) -> Response:
        self.cdrs.append(await self._record(request))
        return ocpi_response(http_status=201)

    async def _authorize(self, request: Request) -> Response:
        self.authorizations.append(await self._record(request))
        uid = request.path_params["uid"]
        allowed = self.answers.get(uid)
        token = self.tokens.get(uid)
        if allowed is None or token is None:
            return ocpi_response(status_code=2004, status_message="Unknown token", http_status=404)
        info = v221.AuthorizationInfo(
            allowed=v221.AllowedType(allowed), token=token, authorization_reference=f"PEER-{uid}"
        )
        return ocpi_response(info)

    def token(self, uid: str, *, whitelist: str = "NEVER") -> v221.Token:
        """The official full RFID token example, issued by this peer with ``uid``."""
        data = example("token_example_2_full_rfid.json")
        data.update(country_code=PEER.country_code, party_id=PEER.party_id, uid=uid, whitelist=whitelist)
        token = v221.Token.model_validate(data)
        self.tokens[uid] = token
        return token

    async def push_token(self, token: v221.Token) -> httpx.Response:
        """PUT the token to the gateway's Tokens Receiver (the gateway is the CPO side for us)."""
        url = f"{self.gateway_url}/ocpi/2.2.1/cpo/tokens/{token.country_code}/{token.party_id}/{token.uid}"
        return await self.party.call("PUT", url, json=to_jsonable(token))


# --------------------------------------------------------------------------------------------
# The gateway with the flow


def flow_hook(gateway: Gateway) -> AbstractAsyncContextManager[None]:
    """A start hook running only this flow (independent of what else FLOW_MODULES lists)."""

    @asynccontextmanager
    async def run() -> AsyncIterator[None]:
        manager = await cpo_charging.install(gateway)
        if manager is None:
            yield
            return
        async with manager:
            yield

    return run()


def oicp_hook(client: OicpClient) -> Callable[[Gateway], None]:
    def hook(gateway: Gateway) -> None:
        gateway.services[cpo_charging.OICP_CLIENT_SERVICE] = client

    return hook


def gateway_app(config: BridgeConfig, oicp: OicpClient | None, *, store: Store | None = None) -> Starlette:
    hooks: list[Any] = [] if oicp is None else [oicp_hook(oicp)]
    hooks += [delivery_start_hook(settings=FAST), flow_hook]
    return create_app(config, store=store, start_hooks=hooks)


@dataclass
class World:
    app: Starlette
    client: httpx.AsyncClient
    sim: HubjectSimulator
    backend: CpoBackend
    peer: PeerEmsp | None
    at: datetime
    counter: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def gateway(self) -> Gateway:
        gateway: Gateway = self.app.state.gateway
        return gateway

    @property
    def store(self) -> Store:
        return self.gateway.store

    @property
    def location(self) -> v221.Location:
        return next(iter(self.backend.locations.values()))

    def evse(self, index: int = 0) -> v221.EVSE:
        return (self.location.evses or [])[index]

    async def outbox(self, target: str = "hubject", kind: str | None = None) -> list[OutboxMessage]:
        messages = await self.store.list_outbox(target=target, limit=1000)
        return [m for m in messages if kind is None or m.kind == kind]


async def wait_for(check: Callable[[], Awaitable[bool] | bool], *, within: float = 20.0) -> None:
    """Poll ``check`` until it holds (TimeoutError after ``within`` seconds; no duration asserted)."""
    async with asyncio.timeout(within):
        while True:
            outcome = check()
            if isinstance(outcome, Awaitable):
                outcome = await outcome
            if outcome:
                return
            await asyncio.sleep(0.02)


class SlowAuthorize:
    """Hubject taking ``delay`` seconds to answer AuthorizeStart (an ASGI wrapper of the simulator)."""

    def __init__(self, app: Any, delay: float) -> None:
        self.app = app
        self.delay = delay

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].endswith("/authorize/start"):
            await asyncio.sleep(self.delay)
        await self.app(scope, receive, send)


def make_simulator() -> HubjectSimulator:
    return HubjectSimulator(
        operators={OPERATOR: OPERATOR_NAME}, providers={PROVIDER}, schemas_dir=SPECS, push_delay=0
    )


@asynccontextmanager
async def world(
    tmp_path: Path,
    *,
    peer: bool = False,
    hubject: bool = True,
    store: str | None = None,
    authorize_delay: float = 0.0,
) -> AsyncIterator[World]:
    """Everything in one event loop: the gateway in process, the Hubject simulator through
    httpx.ASGITransport, the CPO backend and the peer on loopback (the gateway calls them back
    during the credentials handshake)."""
    sim = make_simulator()
    overrides: dict[str, Any] = {"partners": partners(peer=peer)}
    if store is not None:
        overrides["store"] = store
    if hubject:
        overrides["hubject"] = HUBJECT_OPTIONS
    config = make_config(tmp_path, **overrides)
    oicp = None
    if hubject:
        oicp = OicpClient(
            "http://hubject.test",
            operator_id=OPERATOR,
            transport=httpx.ASGITransport(
                app=SlowAuthorize(sim.app, authorize_delay) if authorize_delay else sim.app
            ),
            retry_policy=OicpRetryPolicy(attempts=1),
        )
    app = gateway_app(config, oicp)
    to_gateway = httpx.ASGITransport(app=app)
    backend_sock = loopback_socket()
    backend = CpoBackend(base_url=base_url(backend_sock), http=httpx.AsyncClient(transport=to_gateway))
    peer_sock = loopback_socket()
    party = PeerEmsp(base_url(peer_sock), httpx.AsyncClient(transport=to_gateway)) if peer else None
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    try:
        async with running(app) as client, serve(backend.app, sock=backend_sock):
            await backend.register(f"{PUBLIC_URL}/ocpi/versions", CPO_TOKEN_A)
            backend.load(network(2, 2, at=at - timedelta(days=1)))
            await backend.push_network()
            if party is None:
                yield World(app, client, sim, backend, None, at)
                return
            async with serve(party.party.app, sock=peer_sock):
                await party.party.register(f"{PUBLIC_URL}/ocpi/versions", EMSP_TOKEN_A)
                yield World(app, client, sim, backend, party, at)
    finally:
        await backend.aclose()
        if party is not None:
            await party.party.aclose()
        if oicp is not None:
            await oicp.aclose()
        await sim.aclose()


# --------------------------------------------------------------------------------------------
# Sessions and CDRs from the official examples


def _token(info: v221.AuthorizationInfo | v221.Token) -> dict[str, Any]:
    token = info.token if isinstance(info, v221.AuthorizationInfo) else info
    return {
        "country_code": token.country_code,
        "party_id": token.party_id,
        "uid": token.uid,
        "type": token.type.value,
        "contract_id": token.contract_id,
    }


def _shift(value: str, delta: timedelta) -> str:
    return format_datetime(datetime.fromisoformat(value.replace("Z", "+00:00")) + delta)


def session(
    w: World,
    token: v221.AuthorizationInfo | v221.Token,
    *,
    session_id: str = "S1",
    status: str = "ACTIVE",
    kwh: str = "0",
    minutes: int = 0,
    reference: str | None = None,
    evse: int = 0,
) -> v221.Session:
    """``session_example_2_short_finished.json`` moved to the backend's EVSE, the token and a
    start at ``w.at``; ACTIVE sessions have no end yet; ``minutes`` after the start is
    ``last_updated``."""
    data = copy.deepcopy(example("session_example_2_short_finished.json"))
    delta = w.at - datetime(2015, 6, 29, 22, 39, 9, tzinfo=UTC)
    data["start_date_time"] = _shift(data["start_date_time"], delta)
    data["end_date_time"] = _shift(data["end_date_time"], delta)
    for period in data["charging_periods"]:
        period["start_date_time"] = _shift(period["start_date_time"], delta)
    data.update(
        country_code="IT",
        party_id="BEC",
        id=session_id,
        cdr_token=_token(token),
        auth_method="AUTH_REQUEST",
        location_id=w.location.id,
        evse_uid=w.evse(evse).uid,
        connector_id="1",
        status=status,
        kwh=kwh,
        last_updated=format_datetime(w.at + timedelta(minutes=minutes)),
    )
    if isinstance(token, v221.AuthorizationInfo) and token.authorization_reference and reference is None:
        data["authorization_reference"] = token.authorization_reference
    elif reference is not None:
        data["authorization_reference"] = reference
    if status != "COMPLETED":
        data.pop("end_date_time")
        data["charging_periods"] = data["charging_periods"][:1]
    return v221.Session.model_validate(data)


def cdr(
    w: World,
    token: v221.AuthorizationInfo | v221.Token,
    *,
    cdr_id: str = "CDR1",
    session_id: str | None = "S1",
    reference: str | None = None,
    evse: int = 0,
    evse_id: str | None = None,
) -> v221.CDR:
    """``cdr_example.json`` moved to the backend's Location/EVSE, the token, and times ending an
    hour before now."""
    data = copy.deepcopy(example("cdr_example.json"))
    delta = w.at - datetime(2015, 6, 29, 21, 39, 9, tzinfo=UTC)
    for key in ("start_date_time", "end_date_time", "last_updated"):
        data[key] = _shift(data[key], delta)
    for period in data["charging_periods"]:
        period["start_date_time"] = _shift(period["start_date_time"], delta)
    location, chosen = w.location, w.evse(evse)
    data["cdr_location"].update(
        id=location.id,
        evse_uid=chosen.uid,
        evse_id=evse_id or chosen.evse_id,
        country=location.country,
        coordinates=to_jsonable(location.coordinates),
    )
    for tariff in data["tariffs"]:
        tariff.update(country_code="IT", party_id="BEC")
    data.update(
        country_code="IT", party_id="BEC", id=cdr_id, cdr_token=_token(token), auth_method="AUTH_REQUEST"
    )
    data["last_updated"] = format_datetime(w.at + timedelta(hours=2))
    if session_id is not None:
        data["session_id"] = session_id
    if reference is not None:
        data["authorization_reference"] = reference
    elif isinstance(token, v221.AuthorizationInfo) and token.authorization_reference:
        data["authorization_reference"] = token.authorization_reference
    return v221.CDR.model_validate(data)


def kwh(value: str) -> Decimal:
    return Decimal(value)


__all__ = [
    "CPO_TOKEN_A",
    "EMSP_TOKEN_A",
    "FAST",
    "HUBJECT_OPTIONS",
    "OPERATOR",
    "PEER",
    "PROVIDER",
    "SPECS",
    "PeerEmsp",
    "World",
    "cdr",
    "example",
    "flow_hook",
    "gateway_app",
    "make_simulator",
    "oicp_hook",
    "partners",
    "session",
    "wait_for",
    "world",
]
