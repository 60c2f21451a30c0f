"""End to end, every party a real uvicorn server on 127.0.0.1: the CPO backend simulator (Be
Charge), the gateway (Delivery + the cpo_publish flow), the Hubject simulator (schema-validating,
ActionType semantics, overlap detection) and an OCPI eMSP peer. The CPO backend onboards its
network, storms statuses, Hubject goes down and comes back, the operator runs ``push-evse``."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bridge.app import create_app
from bridge.cli import main
from bridge.config import load_config
from bridge.context import Gateway
from bridge.delivery import DeliverySettings, RetryPolicy, delivery_start_hook
from bridge.flows import cpo_publish
from bridge.flows.cpo_publish import PublishSettings
from bridge.mapping_config import load_mappings
from bridge.ocpi.server.auth import token_candidates
from bridge.ocpi.server.envelope import ocpi_response
from bridge.ocpi.server.registry import EndpointRegistry, ModuleEndpoint
from bridge.oicp.client import OicpClient
from bridge.oicp.models import to_jsonable
from bridge.partners import REGISTRATION_SERVICE
from bridge.simulators import base_url, serve
from bridge.simulators.cpo_backend import CpoBackend, network
from bridge.simulators.hubject import HubjectSimulator
from bridge.simulators.ocpi_party import Identity, OcpiParty
from bridge.store.base import Store
from mappings.locations import location_to_evse_records
from mappings.rules import RuleSet
from tests.flows.cpo_publish_support import (
    OPERATOR,
    OPERATOR_NAME,
    PRICING_MAPPINGS,
    flow_hook,
    gateway_config,
    simulator,
)
from tests.oicp.hubject_support import loopback_socket

PEER = Identity(role="EMSP", country_code="NL", party_id="PEE", name="Peer eMSP")
FAST = RetryPolicy(base=0.05, cap=0.5)


@dataclass
class Peer:
    """An OCPI eMSP party whose Locations and Tariffs Receiver interfaces record every request."""

    party: OcpiParty
    requests: list[tuple[str, str, Any]] = field(default_factory=list)


@asynccontextmanager
async def live_peer() -> AsyncIterator[Peer]:
    sock = loopback_socket()
    registry = EndpointRegistry()
    holder: list[Peer] = []

    async def receive(request: Request) -> Response:
        peer = holder[0]
        known = [peer.party.token_kind(t) for t in token_candidates(request.headers.get("authorization"))]
        if not any(kind in ("CURRENT", "PREVIOUS") for kind in known):
            return ocpi_response(status_code=2000, http_status=401)
        raw = await request.body()
        peer.requests.append((request.method, request.url.path, orjson.loads(raw) if raw else None))
        return ocpi_response()

    for module in ("locations", "tariffs"):
        base = f"/ocpi/2.2.1/emsp/{module}/{{cc}}/{{pid}}/{{oid}}"
        routes = (
            Route(base, receive, methods=["PUT", "PATCH", "DELETE"]),
            Route(base + "/{evse}", receive, methods=["PUT", "PATCH"]),
        )
        registry.add(ModuleEndpoint("2.2.1", module, "RECEIVER", "EMSP", f"emsp/{module}", routes))
    party = OcpiParty(base_url=base_url(sock), identities=[PEER], versions=("2.2.1",), registry=registry)
    holder.append(Peer(party))
    try:
        async with serve(party.app, sock=sock):
            yield holder[0]
    finally:
        await party.aclose()


@asynccontextmanager
async def live_hubject(sim: HubjectSimulator, sock: socket.socket | None = None) -> AsyncIterator[str]:
    async with serve(sim.app, sock=sock or loopback_socket()) as url:
        yield url


@dataclass
class Live:
    url: str
    gateway: Gateway
    config_path: Path

    @property
    def store(self) -> Store:
        return self.gateway.store


@asynccontextmanager
async def live_gateway(
    tmp_path: Path,
    hubject_url: str,
    backend: CpoBackend,
    *,
    mappings: str = PRICING_MAPPINGS,
    partners: tuple[dict[str, Any], ...] = (),
    publish: PublishSettings | None = None,
) -> AsyncIterator[Live]:
    """The gateway registering with ``backend`` at start, publishing to Hubject at ``hubject_url``."""
    sock = loopback_socket()
    url = base_url(sock)
    bec = {
        "name": "bec",
        "role": "CPO",
        "versions_url": backend.versions_url(),
        "token": backend.issue_token_a(),
    }
    path = gateway_config(
        tmp_path, mappings=mappings, hubject_url=hubject_url, bec=bec, partners=partners, public_url=url
    )
    config = load_config(path)
    settings = publish or PublishSettings(
        window=0.2, tick=0.2, hubject_retry=FAST, peer_retry=FAST, flush_retry=FAST
    )

    @asynccontextmanager
    async def services(gateway: Gateway) -> AsyncIterator[None]:
        # The gateway's own client from its configuration, without the AUP's client-side limits
        # (6 pricing pushes a minute would only slow the test down).
        client = OicpClient.from_config(config.hubject, rate_limits={})
        gateway.services[cpo_publish.OICP_CLIENT_SERVICE] = client
        gateway.services[cpo_publish.SETTINGS_SERVICE] = settings
        try:
            yield
        finally:
            await client.aclose()

    delivery = delivery_start_hook(
        settings=DeliverySettings(poll_interval=0.05, send_timeout=10, lease_seconds=20, stop_timeout=2)
    )
    app = create_app(config, start_hooks=[services, delivery, flow_hook(cpo_publish.install)])
    async with serve(app, sock=sock):
        gateway: Gateway = app.state.gateway
        assert (await gateway.services[REGISTRATION_SERVICE])["bec"] == "registered"
        yield Live(url, gateway, path)


@asynccontextmanager
async def live_backend() -> AsyncIterator[CpoBackend]:
    sock = loopback_socket()
    backend = CpoBackend(base_url=base_url(sock))
    try:
        async with serve(backend.app, sock=sock):
            yield backend
    finally:
        await backend.aclose()


async def until(check: Callable[[], Awaitable[bool] | bool], *, within: float = 30.0) -> None:
    """Wait for a condition (polling, bounded): what the servers do happens concurrently."""
    async with asyncio.timeout(within):
        while True:
            outcome = check()
            if isinstance(outcome, bool) and outcome:
                return
            if not isinstance(outcome, bool) and await outcome:
                return
            await asyncio.sleep(0.02)


async def drained(store: Store) -> bool:
    counts = await store.outbox_counts()
    return counts["pending"] == 0 and counts["held"] == 0


def expected_records(config_path: Path, backend: CpoBackend) -> dict[str, dict[str, Any]]:
    """What Hubject must hold, straight from the mapping of the backend's Locations."""
    rules: RuleSet = load_mappings(config_path.parent / "mappings.yaml")
    expected = {}
    for location in backend.locations.values():
        resolved = rules.resolve(
            operator_id=OPERATOR, partner="bec", location_id=location.id, country_code="IT", party_id="BEC"
        )
        for record in location_to_evse_records(
            location, resolved, operator_id=OPERATOR, operator_name=OPERATOR_NAME, now=datetime.now(UTC)
        ).value:
            expected[record.evse_id] = to_jsonable(record)
    return expected


STATUS = {
    "AVAILABLE": "Available",
    "CHARGING": "Occupied",
    "BLOCKED": "Occupied",
    "OUTOFORDER": "OutOfService",
    "RESERVED": "Reserved",
    "INOPERATIVE": "OutOfService",
    "UNKNOWN": "Unknown",
}


async def test_onboarding_a_100_location_network_then_a_status_storm(tmp_path: Path) -> None:
    sim = simulator(push_delay=0.005)
    async with live_hubject(sim) as hubject_url, live_backend() as backend, live_peer() as peer:
        peer_a = "token-a-for-the-peer"
        partners = ({"name": "peer", "role": "EMSP", "token_a": peer_a},)
        settings = PublishSettings(
            window=1.0, tick=0.2, hubject_retry=FAST, peer_retry=FAST, flush_retry=FAST
        )
        async with live_gateway(tmp_path, hubject_url, backend, partners=partners, publish=settings) as gw:
            await peer.party.register(f"{gw.url}/ocpi/versions", peer_a)
            backend.load(network(100, evses_per_location=2, seed=3))

            await backend.push_network()

            expected = expected_records(gw.config_path, backend)
            assert len(expected) == 200
            await until(lambda: sim.evse_records(OPERATOR) == expected)
            await until(lambda: drained(gw.store))
            assert sim.violations == [], "pushes of one operation never overlap"
            assert all(e.status == 200 and e.response["Result"] is True for e in sim.exchanges), (
                "every request schema-valid and accepted"
            )
            data_pushes = sim.exchanges_for("push_evse_data")
            assert {e.request["ActionType"] for e in data_pushes} == {"insert"} and len(data_pushes) < 100
            statuses = {
                eid: STATUS[e.status.value]
                for loc in backend.locations.values()
                for e in loc.evses or ()
                for eid in [str(e.evse_id)]
            }
            assert sim.evse_statuses() == statuses
            # Dynamic pricing (enabled by the rules): the products and every EVSE's product list.
            assert {entry.value["ProductID"] for entry in sim.pricing_products.live()} == {"AC", "DC"}
            assert len(list(sim.evse_pricing.live())) == 200
            # The same network went to the OCPI eMSP peer.
            puts = [path for method, path, _ in peer.requests if method == "PUT" and "/locations/" in path]
            assert sorted(set(puts)) == sorted(
                f"/ocpi/2.2.1/emsp/locations/IT/BEC/{i}" for i in backend.locations
            )
            assert len([1 for m, p, _ in peer.requests if m == "PUT" and "/tariffs/" in p]) == 2

            # A storm of 300 status changes: waves of concurrent PATCHes, each wave on distinct EVSEs.
            before = len(sim.exchanges_for("push_evse_status"))
            cycle = ["CHARGING", "AVAILABLE", "BLOCKED", "OUTOFORDER", "RESERVED", "AVAILABLE"]
            locations = list(backend.locations.values())
            started = asyncio.get_running_loop().time()
            for wave in range(0, 300, 80):
                changes = []
                for step in range(wave, min(wave + 80, 300)):
                    location = locations[step % 40]
                    evse = (location.evses or [])[(step // 40) % 2]
                    changes.append(
                        backend.set_status(location.id, evse.uid, cycle[(step // 80) % len(cycle)])
                    )
                await asyncio.gather(*changes)
            storm = asyncio.get_running_loop().time() - started

            final = {
                str(e.evse_id): STATUS[e.status.value]
                for loc in backend.locations.values()
                for e in loc.evses or ()
            }
            await until(lambda: sim.evse_statuses() == final)
            await until(lambda: drained(gw.store))
            status_pushes = sim.exchanges_for("push_evse_status")[before:]
            assert {e.request["ActionType"] for e in status_pushes} == {"update"}
            # At most one status push per window (plus the window the storm ended in).
            windows = int(storm / settings.window) + 2
            assert len(status_pushes) <= windows < 300, f"{len(status_pushes)} pushes, {windows} windows"
            assert sim.violations == []
            assert len(sim.exchanges_for("push_evse_data")) == len(data_pushes), "statuses are not EVSE data"
            patches = [body for method, _, body in peer.requests if method == "PATCH"]
            assert len(patches) == 300 and set(patches[0]) == {"status", "last_updated"}


async def test_push_evse_cli_full_load_and_the_empty_refusal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = simulator()
    async with live_hubject(sim) as hubject_url, live_backend() as backend:
        async with live_gateway(tmp_path, hubject_url, backend) as gw:
            config = str(gw.config_path)
            code = await asyncio.to_thread(main, ["push-evse", "--config", config, "--full", "--wait", "5"])
            assert code == 1
            assert "--allow-empty" in capsys.readouterr().err
            assert sim.exchanges == [], "nothing was sent"

            backend.load(network(5, evses_per_location=2))
            await backend.push_network()
            await until(lambda: len(sim.evse_records()) == 10)
            await until(lambda: drained(gw.store))
            capsys.readouterr()

            code = await asyncio.to_thread(main, ["push-evse", "--config", config, "--full", "--wait", "20"])

            out = capsys.readouterr().out
            assert code == 0, out
            assert "fullLoad of 10 EVSE(s)" in out and out.count(": delivered") >= 2
            full = [e for e in sim.exchanges_for("push_evse_data") if e.request["ActionType"] == "fullLoad"]
            assert len(full) == 1 and len(full[0].request["OperatorEvseData"]["EvseDataRecord"]) == 10
            assert sim.evse_records() == expected_records(gw.config_path, backend)

            code = await asyncio.to_thread(main, ["push-evse", "--config", config, "--wait", "5"])
            assert code == 0 and "nothing to push" in capsys.readouterr().out
            assert sim.violations == []


async def test_hubject_down_then_back(tmp_path: Path) -> None:
    sim = simulator()
    sock = loopback_socket()
    hubject_url, port = base_url(sock), sock.getsockname()[1]
    async with live_backend() as backend, live_gateway(tmp_path, hubject_url, backend) as gw:
        async with live_hubject(sim, sock):
            backend.load(network(3, evses_per_location=1))
            await backend.push_network()
            await until(lambda: len(sim.evse_records()) == 3)
            await until(lambda: drained(gw.store))
        # Hubject is down: the new Locations' pushes fail and stay in the outbox.
        for location in network(6, evses_per_location=1).locations[3:]:
            await backend.put_location(location)
        await until(lambda: _failed_once(gw.store))
        assert len(sim.evse_records()) == 3
        again = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", port))
        async with live_hubject(sim, again):
            await until(lambda: len(sim.evse_records()) == 6)
            await until(lambda: drained(gw.store))
        assert sim.evse_records() == expected_records(gw.config_path, backend)
        assert (await gw.store.outbox_counts())["dead"] == 0
        assert sim.violations == []


async def _failed_once(store: Store) -> bool:
    pending = await store.list_outbox("pending", "hubject")
    return any(m.attempts > 0 and m.kind == cpo_publish.KIND_EVSE_DATA for m in pending)


async def test_the_gateway_pulls_the_network_at_registration(tmp_path: Path) -> None:
    sim = simulator()
    async with live_hubject(sim) as hubject_url, live_backend() as backend:
        backend.load(network(4, evses_per_location=2))
        async with live_gateway(tmp_path, hubject_url, backend) as gw:
            await until(lambda: len(sim.evse_records()) == 8)
            await until(lambda: drained(gw.store))
            assert sim.evse_records() == expected_records(gw.config_path, backend)
            crawled = backend.received("GET", "/cpo/locations")
            assert crawled and all(e.status == 200 for e in crawled)
            assert backend.sent() == [], "the backend pushed nothing: the gateway pulled"
            assert {entry.value["ProductID"] for entry in sim.pricing_products.live()} == {"AC", "DC"}
            stored, total = await gw.store.list_objects("tariffs")
            assert total == 2 and {o.partner for o in stored} == {"bec"}
