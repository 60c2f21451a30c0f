"""The world of the CPO-side command tests: the gateway with the cpo_commands flow, the CPO backend
simulator (Be Charge, IT/BEC), the Hubject simulator and OCPI eMSP peers (2.2.1 and 2.1.1), either
in process (every HTTP call through httpx.ASGITransport, routed by host) or as real uvicorn servers
on 127.0.0.1. Nothing of ours is mocked: the partners are registered with the real credentials
handshake and the backend pushes its Locations through the gateway's Locations Receiver."""

from __future__ import annotations

import asyncio
import importlib
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bridge.app import create_app
from bridge.config import BridgeConfig
from bridge.context import Gateway
from bridge.delivery import DeliverySettings, delivery_start_hook
from bridge.flows import cpo_commands
from bridge.ocpi.client import CLIENTS_SERVICE, OcpiClients
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.server.auth import token_candidates
from bridge.ocpi.server.envelope import ocpi_response
from bridge.ocpi.server.registry import EndpointRegistry, ModuleEndpoint
from bridge.oicp.client import OicpClient
from bridge.oicp.handlers import SERVICE_DEADLINES, OicpDeadlines
from bridge.simulators import base_url, serve
from bridge.simulators.cpo_backend import CpoBackend, network
from bridge.simulators.hubject import Exchange, HubjectSimulator
from bridge.simulators.ocpi_party import Identity, OcpiParty
from tests.conftest import SHARED
from tests.support.gateway import make_config

OPERATOR = "IT*BEC"
PROVIDER = "DE-DCB"
EVCO = "DE-DCB-C12345678-X"
EVSE = "IT*BEC*E00001*1"
"""The first EVSE of the backend's generated network (Location LOC00001, EVSE uid 00001-1)."""
LOCATION, EVSE_UID = "LOC00001", "00001-1"
TOKEN_A_BACKEND = "token-a-backend-0123456789"
TOKEN_A_PEER = "token-a-peer-0123456789"
TOKEN_A_PEER_211 = "token-a-peer211-0123456789"
PEER = Identity(role="EMSP", country_code="NL", party_id="EMS", name="Peer eMSP")
PEER_211 = Identity(role="EMSP", country_code="NL", party_id="OLD", name="Peer eMSP 2.1.1")
SPECS = SHARED / "specs" / "oicp-2.3"


class Hosts(httpx.AsyncBaseTransport):
    """An httpx transport sending each request to the ASGI app of its host (in-process HTTP);
    a host that is unknown or marked ``down`` refuses the connection, as a stopped server does."""

    def __init__(self) -> None:
        self.apps: dict[str, httpx.ASGITransport] = {}
        self.down: set[str] = set()

    def add(self, url: str, app: ASGIApp) -> None:
        self.apps[httpx.URL(url).netloc.decode()] = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.netloc.decode()
        transport = self.apps.get(host)
        if transport is None or host in self.down:
            raise httpx.ConnectError(f"connection refused by {host}", request=request)
        return await transport.handle_async_request(request)


class SlowCommands:
    """The backend's app, answering ``POST .../commands/...`` only after ``delay`` seconds (a
    charge point operator's system that is slow to answer)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.delay = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "/commands/" in scope["path"] and self.delay:
            await asyncio.sleep(self.delay)
        await self.app(scope, receive, send)


class Peer:
    """An OCPI eMSP peer of the gateway (:class:`~bridge.simulators.ocpi_party.OcpiParty`) that sends
    commands to the gateway's Commands Receiver, each with a ``response_url`` of its own, and
    records the results POSTed there (``results[command_id]``)."""

    def __init__(
        self, base_url: str, identity: Identity, version: str, http: httpx.AsyncClient | None
    ) -> None:
        self.version = version
        self.identity = identity
        self.results: dict[str, list[Any]] = {}
        self.result_headers: dict[str, dict[str, str]] = {}
        path = f"/ocpi/{version}/emsp/commands/{{command}}/{{command_id}}"
        registry = EndpointRegistry()
        registry.add(
            ModuleEndpoint(
                version,
                "commands",
                "SENDER",
                "EMSP",
                "emsp/commands",
                (Route(path, self._result, methods=["POST"]),),
            )
        )
        self.party = OcpiParty(
            base_url=base_url, identities=[identity], versions=(version,), registry=registry, http=http
        )

    @property
    def app(self) -> ASGIApp:
        return self.party.app

    async def register(self, versions_url: str, token_a: str) -> None:
        await self.party.register(versions_url, token_a)

    def response_url(self, command: str, command_id: str) -> str:
        return f"{self.party.base_url}/ocpi/{self.version}/emsp/commands/{command}/{command_id}"

    async def send(self, command: str, body: dict[str, Any], command_id: str) -> dict[str, Any]:
        """POST the command to the gateway; the answer envelope (checked to be an OCPI one)."""
        url = f"{self.party.connection.endpoint('commands', 'RECEIVER')}/{command}"
        response = await self.party.call(
            "POST", url, json={**body, "response_url": self.response_url(command, command_id)}
        )
        envelope: dict[str, Any] = response.json()
        assert response.status_code == 200 and "status_code" in envelope, envelope
        return envelope

    async def _result(self, request: Request) -> Response:
        if not any(
            self.party.token_kind(c) == "CURRENT"
            for c in token_candidates(request.headers.get("authorization"))
        ):
            return ocpi_response(status_code=2000, status_message="Unknown token", http_status=401)
        command_id = str(request.path_params["command_id"])
        self.results.setdefault(command_id, []).append(await request.json())
        self.result_headers[command_id] = {k.lower(): v for k, v in request.headers.items()}
        return ocpi_response()

    async def aclose(self) -> None:
        await self.party.aclose()


def loopback_socket() -> socket.socket:
    """A socket on a free loopback port, made with IPPROTO_TCP (TCP_NODELAY on accepted sockets)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass
class World:
    """Everything a test talks to."""

    app: Starlette
    config: BridgeConfig
    backend: CpoBackend
    slow: SlowCommands
    hubject: HubjectSimulator
    peers: dict[str, Peer]
    hosts: Hosts | None
    stop_backend: Callable[[], Any]
    clients: list[Any] = field(default_factory=list)

    @property
    def gateway(self) -> Gateway:
        gateway: Gateway = self.app.state.gateway
        return gateway

    @property
    def url(self) -> str:
        return str(self.config.public_url).rstrip("/")

    def deadline(self, seconds: float) -> None:
        """Hubject's limit for remote operations as the gateway's routes apply it."""
        self.gateway.services[SERVICE_DEADLINES] = OicpDeadlines(remote=seconds)

    async def backend_down(self) -> None:
        await self.stop_backend()

    async def hubject_calls(self, operation: str, body: dict[str, Any], **options: Any) -> Exchange:
        """Hubject calls the gateway (``call_partner``); the answer must be HTTP 200 (§1.3)."""
        exchange = await self.hubject.call_partner(operation, body, **options)
        assert exchange.status == 200, exchange.response
        return exchange

    async def remote_start(self, evse_id: str = EVSE) -> Exchange:
        body = {
            "ProviderID": PROVIDER,
            "EvseID": evse_id,
            "Identification": {"RemoteIdentification": {"EvcoID": EVCO}},
        }
        return await self.hubject_calls("authorize_remote_start", body)

    async def session_for(self, command: v221.StartSession, session_id: str = "S1") -> v221.Session:
        """The Session the backend pushes for a started command (``authorization_reference`` echoed)."""
        session = v221.Session(
            country_code="IT",
            party_id="BEC",
            id=session_id,
            start_date_time=datetime.now(UTC),
            kwh=0,
            cdr_token=v221.CdrToken(
                country_code=command.token.country_code,
                party_id=command.token.party_id,
                uid=command.token.uid,
                type=command.token.type,
                contract_id=command.token.contract_id,
            ),
            auth_method=v221.AuthMethod.COMMAND,
            authorization_reference=command.authorization_reference,
            location_id=command.location_id,
            evse_uid=command.evse_uid or EVSE_UID,
            connector_id="1",
            currency="EUR",
            status=v221.SessionStatus.ACTIVE,
            last_updated=self.backend.now(),
        )
        await self.backend.push_session(session)
        return session


async def eventually(condition: Callable[[], bool], *, within: float = 10.0) -> None:
    """Wait until ``condition()`` holds (what the outbox delivers arrives asynchronously); the
    bound only stops a test that would otherwise hang."""
    async with asyncio.timeout(within):
        while not condition():
            await asyncio.sleep(0.01)


def peer_token(identity: Identity, uid: str = "PEER-TOKEN-1") -> dict[str, Any]:
    """A 2.2.1 Token of the peer (an eMSP may only use its own tokens, ocpi.md §4.6)."""
    return {
        "country_code": identity.country_code,
        "party_id": identity.party_id,
        "uid": uid,
        "type": "APP_USER",
        "contract_id": f"{identity.country_code}-{identity.party_id}-C00000001-A",
        "issuer": identity.name,
        "valid": True,
        "whitelist": "ALLOWED",
        "last_updated": "2024-01-01T00:00:00Z",
    }


def peer_token_211(identity: Identity, uid: str = "PEER-TOKEN-2") -> dict[str, Any]:
    """A 2.1.1 Token (no owner fields; ``auth_id``)."""
    return {
        "uid": uid,
        "type": "OTHER",
        "auth_id": f"{identity.country_code}-{identity.party_id}-C00000002-B",
        "issuer": identity.name,
        "valid": True,
        "whitelist": "ALLOWED",
        "last_updated": "2024-01-01T00:00:00Z",
    }


def _flows_hook(modules: tuple[str, ...]) -> Callable[[Gateway], Any]:
    """Install the flows as ``bridge.flows.wiring.start_flows`` does, for the given modules."""

    def hook(gateway: Gateway) -> Any:
        @asynccontextmanager
        async def run() -> AsyncIterator[None]:
            async with AsyncExitStack() as stack:
                for name in modules:
                    manager = await importlib.import_module(name).install(gateway)
                    if manager is not None:
                        await stack.enter_async_context(manager)
                yield

        return run()

    return hook


def _partners() -> list[dict[str, Any]]:
    return [
        {"name": "bec", "role": "CPO", "token_a": TOKEN_A_BACKEND},
        {"name": "peer", "role": "EMSP", "token_a": TOKEN_A_PEER},
        {"name": "peer211", "role": "EMSP", "token_a": TOKEN_A_PEER_211},
    ]


def _config(folder: Path, public_url: str, hubject_url: str, mappings: str | None) -> BridgeConfig:
    folder.mkdir(parents=True, exist_ok=True)
    if mappings is not None:
        (folder / "mappings.yaml").write_text(mappings)
    return make_config(
        folder,
        public_url=public_url,
        hubject={"url": hubject_url, "operator_id": OPERATOR, "operator_name": "Be Charge"},
        partners=_partners(),
    )


async def _connect(world: World, *, n_locations: int = 2) -> None:
    """The real handshakes (partners register with the gateway's TOKEN_A), then the backend's
    network pushed through the gateway's Locations Receiver."""
    versions = f"{world.url}/ocpi/versions"
    await world.backend.register(versions, TOKEN_A_BACKEND)
    await world.peers["2.2.1"].register(versions, TOKEN_A_PEER)
    await world.peers["2.1.1"].register(versions, TOKEN_A_PEER_211)
    world.backend.load(network(n_locations, country_code="IT", party_id="BEC"))
    await world.backend.push_network()


def _parts(
    backend_url: str, peer_urls: dict[str, str], http: Callable[[], httpx.AsyncClient | None]
) -> tuple[CpoBackend, dict[str, Peer]]:
    backend = CpoBackend(base_url=backend_url, http=http())
    peers = {
        "2.2.1": Peer(peer_urls["2.2.1"], PEER, "2.2.1", http()),
        "2.1.1": Peer(peer_urls["2.1.1"], PEER_211, "2.1.1", http()),
    }
    return backend, peers


FLOWS = ("bridge.flows.cpo_commands",)


def _app(
    config: BridgeConfig, flows: tuple[str, ...], *, clients: Callable[[Gateway], None] | None = None
) -> Starlette:
    """The gateway with the outbox delivery and the flows; ``clients`` puts the protocol clients in
    the gateway's services before the flows start (in process: clients over the host router)."""
    settings = DeliverySettings(poll_interval=0.05, send_timeout=10.0, lease_seconds=20.0, stop_timeout=1.0)
    hooks: list[Any] = [delivery_start_hook(settings=settings)]
    if clients is not None:
        hooks.append(clients)
    return create_app(config, start_hooks=[*hooks, _flows_hook(flows)])


@asynccontextmanager
async def in_process(
    folder: Path, *, mappings: str | None = None, flows: tuple[str, ...] = FLOWS
) -> AsyncIterator[World]:
    """The world in one event loop without sockets: every call through httpx.ASGITransport."""
    gateway_url, backend_url, hubject_url = "http://gateway.test", "http://bec.test", "http://hubject.test"
    peer_urls = {"2.2.1": "http://emsp.test", "2.1.1": "http://emsp211.test"}
    hosts = Hosts()
    config = _config(folder, gateway_url, hubject_url, mappings)
    backend, peers = _parts(backend_url, peer_urls, lambda: httpx.AsyncClient(transport=hosts, timeout=30.0))
    slow = SlowCommands(backend.app)
    hubject = HubjectSimulator(
        operators={OPERATOR: "Be Charge"},
        providers={PROVIDER},
        schemas_dir=SPECS,
        partner_base_url=gateway_url,
        partner_transport=hosts,
        push_delay=0,
    )
    ocpi_clients = OcpiClients(config, transport=hosts)
    oicp = OicpClient(hubject_url, operator_id=OPERATOR, transport=hosts)

    def clients(gateway: Gateway) -> None:
        gateway.services[CLIENTS_SERVICE] = ocpi_clients
        gateway.services[cpo_commands.OICP_CLIENT] = oicp

    app = _app(config, flows, clients=clients)
    for url, served in ((gateway_url, app), (backend_url, slow), (hubject_url, hubject.app)):
        hosts.add(url, served)
    for version, url in peer_urls.items():
        hosts.add(url, peers[version].app)

    async def stop_backend() -> None:
        hosts.down.add(httpx.URL(backend_url).netloc.decode())

    async with app.router.lifespan_context(app):
        world = World(app, config, backend, slow, hubject, peers, hosts, stop_backend, [ocpi_clients, oicp])
        try:
            await _connect(world)
            yield world
        finally:
            await _close(world)


@asynccontextmanager
async def live(
    folder: Path, *, mappings: str | None = None, flows: tuple[str, ...] = FLOWS
) -> AsyncIterator[World]:
    """The world as real uvicorn servers on 127.0.0.1 (the gateway's own clients, real TCP)."""
    socks = {name: loopback_socket() for name in ("gateway", "backend", "hubject", "peer", "peer211")}
    urls = {name: base_url(sock) for name, sock in socks.items()}
    config = _config(folder, urls["gateway"], urls["hubject"], mappings)
    backend, peers = _parts(urls["backend"], {"2.2.1": urls["peer"], "2.1.1": urls["peer211"]}, lambda: None)
    slow = SlowCommands(backend.app)
    hubject = HubjectSimulator(
        operators={OPERATOR: "Be Charge"},
        providers={PROVIDER},
        schemas_dir=SPECS,
        partner_base_url=urls["gateway"],
        push_delay=0,
    )
    app = _app(config, flows)
    async with AsyncExitStack() as stack:
        backend_server = AsyncExitStack()
        await backend_server.enter_async_context(serve(slow, sock=socks["backend"]))
        stack.push_async_callback(backend_server.aclose)
        for name, served in (
            ("hubject", hubject.app),
            ("peer", peers["2.2.1"].app),
            ("peer211", peers["2.1.1"].app),
        ):
            await stack.enter_async_context(serve(served, sock=socks[name]))
        await stack.enter_async_context(serve(app, sock=socks["gateway"]))
        world = World(app, config, backend, slow, hubject, peers, None, backend_server.aclose)
        try:
            await _connect(world)
            yield world
        finally:
            await _close(world)


async def _close(world: World) -> None:
    for client in world.clients:
        await client.aclose()
    await world.backend.aclose()
    for peer in world.peers.values():
        await peer.aclose()
    await world.hubject.aclose()


def command_bodies(world: World, command: str) -> Iterator[Any]:
    """The bodies of the commands of one type the backend received."""
    return (received.body for received in world.backend.commands if received.command == command)
