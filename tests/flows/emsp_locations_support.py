"""The world of the eMSP-side data tests: the gateway (an OICP EMP towards the Hubject simulator, an
OCPI CPO or hub towards an eMSP backend), the Hubject simulator with a synthetic network, and eMSP
backends (OCPI parties, 2.2.1 and 2.1.1) registered through the real credentials handshake, each
offering Receiver endpoints that record what the gateway pushes. In process (httpx.ASGITransport,
routed by host) or as real uvicorn servers on 127.0.0.1; nothing of ours is mocked."""

from __future__ import annotations

import asyncio
import gc
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from bridge.app import create_app
from bridge.config import BridgeConfig
from bridge.context import Gateway
from bridge.delivery import DeliverySettings, delivery_start_hook
from bridge.flows import emsp_locations
from bridge.flows.emsp_common import OICP_CLIENT_SERVICE, SETTINGS_SERVICE, EmspDataSettings
from bridge.flows.emsp_locations import SERVICE, EmspDataService
from bridge.ocpi.client import CLIENTS_SERVICE, OcpiClients
from bridge.ocpi.server.auth import token_candidates
from bridge.ocpi.server.envelope import ocpi_response
from bridge.ocpi.server.registry import EndpointRegistry, ModuleEndpoint
from bridge.oicp.client import OicpClient, RetryPolicy
from bridge.simulators import base_url, serve
from bridge.simulators.hubject import HubjectSimulator
from bridge.simulators.ocpi_party import Identity, OcpiParty
from tests.conftest import SHARED
from tests.oicp.hubject_support import FakeClock
from tests.support.gateway import make_config

PROVIDER = "DE-DCB"
OPERATORS = {"DE*ABC": "ABC Charging", "DE*XYZ": "XYZ Power"}
EMSP = Identity(role="EMSP", country_code="NL", party_id="EMS", name="Backend eMSP")
EMSP_211 = Identity(role="EMSP", country_code="NL", party_id="OLD", name="Old eMSP")
TOKEN_A = "token-a-emsp-0123456789"
TOKEN_A_211 = "token-a-emsp211-0123456789"
SPECS = SHARED / "specs" / "oicp-2.3"
CPO_PARTY = {"role": "CPO", "country_code": "DE", "party_id": "GWY", "name": "Gateway CPO"}
HUB_PARTY = {"role": "HUB", "country_code": "DE", "party_id": "HUB", "name": "Gateway hub"}


class Hosts(httpx.AsyncBaseTransport):
    """An httpx transport sending each request to the ASGI app of its host (in-process HTTP)."""

    def __init__(self) -> None:
        self.apps: dict[str, httpx.ASGITransport] = {}

    def add(self, url: str, app: ASGIApp) -> None:
        self.apps[httpx.URL(url).netloc.decode()] = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self.apps.get(request.url.netloc.decode())
        if transport is None:
            raise httpx.ConnectError(f"connection refused by {request.url.netloc.decode()}", request=request)
        return await transport.handle_async_request(request)


@dataclass
class Received:
    """One request an eMSP Receiver got."""

    method: str
    path: str
    body: Any
    headers: dict[str, str]


class Backend:
    """An eMSP backend: an OCPI party with Locations, Tariffs (and for 2.2.1 HubClientInfo)
    Receivers that record every request (token checked) and answer 1000, or 2003 for an EVSE PATCH
    of a Location it does not know when ``strict_locations`` is set."""

    def __init__(self, url: str, identity: Identity, version: str, http: httpx.AsyncClient | None) -> None:
        self.version = version
        self.received: list[Received] = []
        self.strict_locations = False
        self.locations: set[str] = set()
        registry = EndpointRegistry()
        base = f"/ocpi/{version}"
        modules: list[tuple[str, str, list[BaseRoute]]] = [
            (
                "locations",
                "emsp/locations",
                [
                    Route(
                        f"{base}/emsp/locations/{{cc}}/{{pid}}/{{id}}",
                        self._receive,
                        methods=["PUT", "PATCH"],
                    ),
                    Route(
                        f"{base}/emsp/locations/{{cc}}/{{pid}}/{{id}}/{{uid}}",
                        self._receive,
                        methods=["PUT", "PATCH"],
                    ),
                ],
            ),
            (
                "tariffs",
                "emsp/tariffs",
                [
                    Route(
                        f"{base}/emsp/tariffs/{{cc}}/{{pid}}/{{id}}", self._receive, methods=["PUT", "DELETE"]
                    )
                ],
            ),
        ]
        if version == "2.2.1":
            modules.append(
                (
                    "hubclientinfo",
                    "hubclientinfo",
                    [Route(f"{base}/hubclientinfo/{{cc}}/{{pid}}", self._receive, methods=["PUT"])],
                )
            )
        for identifier, path, routes in modules:
            registry.add(ModuleEndpoint(version, identifier, "RECEIVER", "EMSP", path, tuple(routes)))
        self.party = OcpiParty(
            base_url=url, identities=[identity], versions=(version,), registry=registry, http=http
        )

    @property
    def app(self) -> ASGIApp:
        return self.party.app

    async def _receive(self, request: Request) -> Response:
        if not any(
            self.party.token_kind(c) == "CURRENT"
            for c in token_candidates(request.headers.get("authorization"))
        ):
            return ocpi_response(status_code=2000, status_message="Unknown token", http_status=401)
        body = await request.json() if request.method != "DELETE" else None
        path = request.url.path
        self.received.append(
            Received(request.method, path, body, {k.lower(): v for k, v in request.headers.items()})
        )
        location = "/".join(path.split("/")[5:8])
        if "/emsp/locations/" in path and request.method == "PUT" and path.count("/") == 7:
            self.locations.add(location)
        elif "/emsp/locations/" in path and self.strict_locations and location not in self.locations:
            return ocpi_response(status_code=2003, status_message="Unknown Location")
        return ocpi_response()

    def requests(self, method: str | None = None, module: str = "locations") -> list[Received]:
        marker = f"/{module}/" if module != "hubclientinfo" else "/hubclientinfo/"
        return [r for r in self.received if marker in r.path and (method is None or r.method == method)]

    async def get(self, url: str, params: dict[str, str] | None = None) -> httpx.Response:
        return await self.party.call("GET", url, params=params)

    def endpoint(self, module: str) -> str:
        return self.party.connection.endpoint(module, "SENDER")


@dataclass
class World:
    """Everything a test talks to."""

    app: Starlette
    config: BridgeConfig
    hubject: HubjectSimulator
    backends: dict[str, Backend]
    clock: FakeClock
    transport: httpx.AsyncBaseTransport | None = None
    clients: list[Any] = field(default_factory=list)

    def cpo_client(self, operator_id: str) -> OicpClient:
        """An OICP client of a CPO (to push pricing to the Hubject simulator as operators do)."""
        client = OicpClient(
            self.hubject_url, operator_id=operator_id, transport=self.transport, rate_limits={}
        )
        self.clients.append(client)
        return client

    @property
    def hubject_url(self) -> str:
        return str(self.config.hubject.url)

    @property
    def gateway(self) -> Gateway:
        gateway: Gateway = self.app.state.gateway
        return gateway

    @property
    def service(self) -> EmspDataService:
        service = self.gateway.services[SERVICE]
        assert isinstance(service, EmspDataService)
        return service

    @property
    def url(self) -> str:
        return str(self.config.public_url).rstrip("/")

    async def crawl(self, backend: Backend, module: str = "locations", **params: str) -> list[dict[str, Any]]:
        """Every object of a Sender list, following ``Link`` (ocpi.md §3.3), checking X-Total-Count."""
        url: str | None = backend.endpoint(module)
        query: dict[str, str] | None = params or None
        items: list[dict[str, Any]] = []
        total: int | None = None
        while url is not None:
            response = await backend.get(url, query)
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["status_code"] == 1000, body
            items.extend(body["data"])
            total = int(response.headers["x-total-count"])
            link = response.links.get("next", {}).get("url")
            # OcpiParty.call rebuilds the URL with ``params`` (httpx drops a query given in the URL
            # then): the Link's query goes in as params, verbatim.
            url, query = (None, None) if link is None else _split(link)
        assert total == len(items)
        return items


def _split(url: str) -> tuple[str, dict[str, str]]:
    parsed = httpx.URL(url)
    return str(parsed.copy_with(query=None)), dict(parsed.params.multi_items())


async def eventually(condition: Callable[[], bool], *, within: float = 15.0) -> None:
    """Wait until ``condition()`` holds (outbox deliveries arrive asynchronously); the bound only
    stops a test that would otherwise hang."""
    async with asyncio.timeout(within):
        while not condition():
            await asyncio.sleep(0.01)


def loopback_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def _config(folder: Path, public_url: str, hubject_url: str, parties: list[dict[str, Any]]) -> BridgeConfig:
    folder.mkdir(parents=True, exist_ok=True)
    return make_config(
        folder,
        public_url=public_url,
        ocpi={"parties": parties, "page_limit": 100},
        hubject={"url": hubject_url, "provider_id": PROVIDER},
        partners=[
            {"name": "backend", "role": "EMSP", "token_a": TOKEN_A},
            {"name": "backend211", "role": "EMSP", "token_a": TOKEN_A_211},
        ],
    )


def simulator(url: str | None = None, **options: Any) -> HubjectSimulator:
    settings: dict[str, Any] = {
        "operators": dict(OPERATORS),
        "providers": {PROVIDER},
        "schemas_dir": SPECS,
        "push_delay": 0,
    }
    settings.update(options)
    return HubjectSimulator(**settings)


def _hooks(
    settings: EmspDataSettings,
    oicp: Callable[[], OicpClient],
    ocpi_transport: httpx.AsyncBaseTransport | None,
    schedule: bool,
) -> list[Any]:
    delivery = DeliverySettings(poll_interval=0.05, send_timeout=10.0, lease_seconds=20.0, stop_timeout=1.0)

    def prepare(gateway: Gateway) -> Any:
        @asynccontextmanager
        async def run() -> AsyncIterator[None]:
            gateway.services[SETTINGS_SERVICE] = settings
            client = oicp()
            gateway.services[OICP_CLIENT_SERVICE] = client
            clients = None
            if ocpi_transport is not None:
                clients = OcpiClients(gateway.config, transport=ocpi_transport)
                gateway.services[CLIENTS_SERVICE] = clients
            try:
                yield
            finally:
                await client.aclose()
                if clients is not None:
                    await clients.aclose()

        return run()

    def flow(gateway: Gateway) -> Any:
        @asynccontextmanager
        async def run() -> AsyncIterator[None]:
            if schedule:
                manager = await emsp_locations.install(gateway)
            else:
                emsp_locations.create(gateway)
                manager = None
            async with manager if manager is not None else nullcontext():
                yield

        return run()

    return [prepare, delivery_start_hook(settings=delivery), flow]


DEFAULT_SETTINGS = EmspDataSettings(
    page_size=250, batch_size=40, skew_margin=1.0, status_mode="all", record_cache_size=500
)


@asynccontextmanager
async def in_process(
    folder: Path,
    *,
    settings: EmspDataSettings = DEFAULT_SETTINGS,
    parties: list[dict[str, Any]] | None = None,
    rates: dict[str, int] | None = None,
    register: bool = True,
) -> AsyncIterator[World]:
    """The world in one event loop without sockets: every call through httpx.ASGITransport."""
    gateway_url, hubject_url = "http://gateway.test", "http://hubject.test"
    urls = {"2.2.1": "http://emsp.test", "2.1.1": "http://emsp211.test"}
    hosts = Hosts()
    clock = FakeClock()
    config = _config(folder, gateway_url, hubject_url, parties or [CPO_PARTY])
    hubject = simulator(rates=rates or {}, clock=clock)
    backends = {
        "2.2.1": Backend(urls["2.2.1"], EMSP, "2.2.1", httpx.AsyncClient(transport=hosts, timeout=30.0)),
        "2.1.1": Backend(urls["2.1.1"], EMSP_211, "2.1.1", httpx.AsyncClient(transport=hosts, timeout=30.0)),
    }

    def oicp() -> OicpClient:
        return OicpClient(
            hubject_url,
            provider_id=PROVIDER,
            transport=hosts,
            rate_limits={},
            clock=clock,
            sleep=clock.sleep,
            retry_policy=RetryPolicy(attempts=6, initial_wait=0.5, max_wait=5.0),
        )

    app = create_app(config, start_hooks=_hooks(settings, oicp, hosts, schedule=False))
    hosts.add(gateway_url, app)
    hosts.add(hubject_url, hubject.app)
    for version, url in urls.items():
        hosts.add(url, backends[version].app)
    async with app.router.lifespan_context(app):
        world = World(app, config, hubject, backends, clock, hosts)
        try:
            if register:
                await backends["2.2.1"].party.register(f"{gateway_url}/ocpi/versions", TOKEN_A)
                await backends["2.1.1"].party.register(f"{gateway_url}/ocpi/versions", TOKEN_A_211)
            yield world
        finally:
            for client in world.clients:
                await client.aclose()
            for backend in backends.values():
                await backend.party.aclose()
            gc.unfreeze()


@asynccontextmanager
async def live_world(
    folder: Path,
    hubject: HubjectSimulator,
    *,
    settings: EmspDataSettings = DEFAULT_SETTINGS,
    parties: list[dict[str, Any]] | None = None,
) -> AsyncIterator[World]:
    """The world as real uvicorn servers on 127.0.0.1 (real TCP everywhere), the data flow installed
    with its schedule (``emsp_locations.install``): it starts pulling as soon as the gateway runs."""
    socks = {name: loopback_socket() for name in ("gateway", "hubject", "emsp", "emsp211")}
    urls = {name: base_url(sock) for name, sock in socks.items()}
    config = _config(folder, urls["gateway"], urls["hubject"], parties or [CPO_PARTY])
    clock = FakeClock()
    backends = {
        "2.2.1": Backend(urls["emsp"], EMSP, "2.2.1", None),
        "2.1.1": Backend(urls["emsp211"], EMSP_211, "2.1.1", None),
    }

    def oicp() -> OicpClient:
        return OicpClient(urls["hubject"], provider_id=PROVIDER, rate_limits={})

    app = create_app(config, start_hooks=_hooks(settings, oicp, None, schedule=True))
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(serve(hubject.app, sock=socks["hubject"]))
        await stack.enter_async_context(serve(backends["2.2.1"].app, sock=socks["emsp"]))
        await stack.enter_async_context(serve(backends["2.1.1"].app, sock=socks["emsp211"]))
        await stack.enter_async_context(serve(app, sock=socks["gateway"]))
        world = World(app, config, hubject, backends, clock)
        try:
            yield world
        finally:
            for client in world.clients:
                await client.aclose()
            for backend in backends.values():
                await backend.party.aclose()
            gc.unfreeze()
