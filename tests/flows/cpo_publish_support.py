"""Shared pieces of the cpo_publish tests: a gateway with the Delivery and the flow installed, the
Hubject simulator behind its OICP client, a registered CPO partner calling the gateway, an OCPI
eMSP peer recording what it receives, and waiting for the outbox to drain (no fixed sleeps)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bridge.app import create_app
from bridge.config import BridgeConfig, load_config
from bridge.context import Gateway
from bridge.delivery import DeliverySettings, RetryPolicy, delivery_start_hook
from bridge.flows import cpo_publish
from bridge.flows.cpo_publish import CpoPublisher, PublishSettings
from bridge.ocpi.client import CLIENTS_SERVICE, OcpiClients
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.server.envelope import ocpi_response
from bridge.oicp.client import OicpClient
from bridge.oicp.models import to_jsonable
from bridge.simulators.hubject import HubjectSimulator
from bridge.store import open_store
from bridge.store.base import PartnerRecord, Store
from mappings.locations import location_to_evse_records
from mappings.rules import RuleSet
from tests.oicp.hubject_support import SPECS
from tests.support.gateway import PUBLIC_URL, write_config

OPERATOR = "IT*BEC"
OPERATOR_NAME = "Be Charge"
CPO_TOKEN = "token-of-the-cpo-backend-bec"
HOTLINE = "+390212345678"
MAPPINGS = f"locations:\n  hotline_phone_number: '{HOTLINE}'\n"
PRICING_MAPPINGS = MAPPINGS + "  value_added_services: [DynamicPricing]\n"
FAST_RETRY = RetryPolicy(base=0.02, cap=0.1)
PEER_URL = "http://peer.test"


def b64(token: str) -> str:
    return base64.b64encode(token.encode()).decode()


def simulator(**options: Any) -> HubjectSimulator:
    settings: dict[str, Any] = {"operators": {OPERATOR: OPERATOR_NAME}, "schemas_dir": SPECS, "push_delay": 0}
    settings.update(options)
    return HubjectSimulator(**settings)


def gateway_config(
    tmp_path: Path,
    *,
    mappings: str = MAPPINGS,
    hubject_url: str = "http://hubject.test",
    partners: Sequence[dict[str, Any]] = (),
    bec: dict[str, Any] | None = None,
    **overrides: Any,
) -> Path:
    """bridge.yaml + mappings.yaml: the gateway as OICP CPO ``IT*BEC`` with the CPO partner ``bec``
    (by default it registers with us; ``bec`` replaces its entry) and ``partners``."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "mappings.yaml").write_text(mappings)
    configured = [bec or {"name": "bec", "role": "CPO", "token_a": "token-a-given-to-bec"}, *partners]
    hubject = {"url": hubject_url, "operator_id": OPERATOR, "operator_name": OPERATOR_NAME}
    return write_config(tmp_path, hubject=hubject, partners=configured, **overrides)


async def register(
    store: Store,
    name: str,
    role: str,
    country_code: str,
    party_id: str,
    *,
    token_in: str | None = None,
    token_out: str = "peer-token",
    version: str = "2.2.1",
    endpoints: Sequence[dict[str, Any]] = (),
) -> PartnerRecord:
    """A partner as a completed handshake leaves it (ocpi.md §1.3)."""
    record = PartnerRecord(
        name=name,
        role=role,
        version=version,
        versions_url=f"http://{name}.test/ocpi/versions",
        endpoints=list(endpoints),
        token_out=token_out,
        status="registered",
        roles=[
            {
                "role": role,
                "country_code": country_code,
                "party_id": party_id,
                "business_details": {"name": name},
            }
        ],
    )
    saved = await store.save_partner(record)
    if token_in is not None:
        await store.set_incoming_token(name, token_in, "CURRENT")
    return saved


def peer_endpoints(base: str = PEER_URL, version: str = "2.2.1") -> list[dict[str, Any]]:
    role = {"role": "RECEIVER"} if version == "2.2.1" else {}
    return [
        {"identifier": module, **role, "url": f"{base}/ocpi/{version}/emsp/{module}"}
        for module in ("locations", "tariffs")
    ]


@dataclass
class PeerReceiver:
    """An OCPI eMSP peer's Locations and Tariffs Receiver interfaces: records every request."""

    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    answer: int = 1000

    @property
    def app(self) -> Starlette:
        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            self.requests.append((request.method, request.url.path, orjson.loads(raw) if raw else None))
            return ocpi_response(status_code=self.answer)

        paths = [
            "/ocpi/{version}/emsp/{module}/{cc}/{pid}/{oid}",
            "/ocpi/{version}/emsp/{module}/{cc}/{pid}/{oid}/{evse}",
        ]
        return Starlette(routes=[Route(p, endpoint, methods=["PUT", "PATCH", "DELETE"]) for p in paths])


@dataclass
class Harness:
    gateway: Gateway
    app: Starlette
    config: BridgeConfig
    config_path: Path
    store: Store
    sim: HubjectSimulator
    cpo: httpx.AsyncClient

    @property
    def publisher(self) -> CpoPublisher:
        return cpo_publish.publisher_of(self.gateway)

    @property
    def rules(self) -> RuleSet:
        return self.publisher.scope.rules

    async def put_location(self, location: v221.Location) -> httpx.Response:
        url = f"/ocpi/2.2.1/emsp/locations/{location.country_code}/{location.party_id}/{location.id}"
        response = await self.cpo.put(url, content=location.model_dump_json(exclude_none=True))
        assert response.status_code in (200, 201) and response.json()["status_code"] == 1000, response.text
        return response

    async def put_tariff(self, tariff: v221.Tariff) -> httpx.Response:
        url = f"/ocpi/2.2.1/emsp/tariffs/{tariff.country_code}/{tariff.party_id}/{tariff.id}"
        response = await self.cpo.put(url, content=tariff.model_dump_json(exclude_none=True))
        assert response.status_code in (200, 201) and response.json()["status_code"] == 1000, response.text
        return response

    async def patch_evse(self, location_id: str, evse_uid: str, values: dict[str, Any]) -> httpx.Response:
        response = await self.cpo.patch(
            f"/ocpi/2.2.1/emsp/locations/IT/BEC/{location_id}/{evse_uid}", json=values
        )
        assert response.status_code == 200 and response.json()["status_code"] == 1000, response.text
        return response

    def expected_records(self, locations: Sequence[v221.Location]) -> dict[str, dict[str, Any]]:
        """What Hubject must hold, computed straight from the mapping (independently of the flow)."""
        expected: dict[str, dict[str, Any]] = {}
        for location in locations:
            rules = self.rules.resolve(
                operator_id=OPERATOR,
                partner="bec",
                location_id=location.id,
                country_code=location.country_code,
                party_id=location.party_id,
            )
            records = location_to_evse_records(
                location, rules, operator_id=OPERATOR, operator_name=OPERATOR_NAME, now=datetime.now(UTC)
            )
            for record in records.value:
                expected[record.evse_id] = to_jsonable(record)
        return expected

    async def drain(self, *, within: float = 20.0, include_flush: bool = True) -> None:
        """Wait until no message is pending or held (flush triggers too, unless ``include_flush`` is
        false: a test with a long window flushes by hand)."""
        async with asyncio.timeout(within):
            while True:
                pending = await self.store.list_outbox("pending", limit=1000)
                if not include_flush:
                    pending = [m for m in pending if m.kind != cpo_publish.KIND_FLUSH]
                held = await self.store.list_outbox("held", limit=1)
                if not pending and not held:
                    return
                await asyncio.sleep(0.01)


def flow_hook(install: Callable[[Gateway], Any]) -> Callable[[Gateway], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def hook(gateway: Gateway) -> AsyncIterator[None]:
        manager = await install(gateway)
        if manager is None:
            yield
            return
        async with manager:
            yield

    return hook


@asynccontextmanager
async def harness(
    tmp_path: Path,
    *,
    sim: HubjectSimulator | None = None,
    settings: PublishSettings | None = None,
    mappings: str = MAPPINGS,
    peer: PeerReceiver | None = None,
    partners: Sequence[dict[str, Any]] = (),
    store_url: str | None = None,
) -> AsyncIterator[Harness]:
    """The gateway in process (its lifespan running), the flow installed, Hubject simulated; the
    store is a SQLite file in ``tmp_path`` unless ``store_url`` names another."""
    sim = sim or simulator()
    extra: dict[str, Any] = {"store": store_url} if store_url else {}
    path = gateway_config(tmp_path, mappings=mappings, partners=partners, **extra)
    config = load_config(path)
    store = await open_store(config.store_url)
    await register(store, "bec", "CPO", "IT", "BEC", token_in=CPO_TOKEN)
    publish = settings or PublishSettings(
        window=0.05, tick=3600, hubject_retry=FAST_RETRY, peer_retry=FAST_RETRY, flush_retry=FAST_RETRY
    )

    @asynccontextmanager
    async def services(gateway: Gateway) -> AsyncIterator[None]:
        client = OicpClient(
            "http://hubject.test",
            operator_id=OPERATOR,
            transport=httpx.ASGITransport(sim.app),
            rate_limits={},
        )
        gateway.services[cpo_publish.OICP_CLIENT_SERVICE] = client
        gateway.services[cpo_publish.SETTINGS_SERVICE] = publish
        clients = None
        if peer is not None:
            clients = OcpiClients(config, transport=httpx.ASGITransport(peer.app))
            gateway.services[CLIENTS_SERVICE] = clients
        try:
            yield
        finally:
            await client.aclose()
            if clients is not None:
                await clients.aclose()

    delivery = delivery_start_hook(
        settings=DeliverySettings(poll_interval=0.02, send_timeout=10, lease_seconds=20, stop_timeout=2)
    )
    app = create_app(config, store=store, start_hooks=[services, delivery, flow_hook(cpo_publish.install)])
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            headers = {"Authorization": f"Token {b64(CPO_TOKEN)}"}
            async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL, headers=headers) as cpo:
                yield Harness(app.state.gateway, app, config, path, store, sim, cpo)
    finally:
        await store.close()
