"""The eMSP-side charging stack for tests: the Hubject simulator, the gateway and the eMSP backend
simulator, each a real uvicorn server on 127.0.0.1, the backend registered through the handshake,
Hubject's EVSE data and prices pulled by the data flow (``bridge.flows.emsp_locations``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from starlette.applications import Starlette

from bridge.app import create_app
from bridge.config import BridgeConfig, load_config
from bridge.context import Gateway
from bridge.delivery import DeliverySettings, delivery_start_hook
from bridge.flows import emsp_charging, emsp_locations
from bridge.flows.emsp_charging_state import SETTINGS_SERVICE, TOKEN_INDEX_SERVICE, EmspSettings, TokenIndex
from bridge.flows.emsp_common import SETTINGS_SERVICE as DATA_SETTINGS_SERVICE
from bridge.flows.emsp_common import EmspDataSettings
from bridge.flows.emsp_locations import EmspDataService
from bridge.ocpi.models import v2_2_1 as v221
from bridge.oicp.client import OicpClient
from bridge.oicp.models import (
    ActionType,
    AdditionalReference,
    AdditionalReferences,
    EVSEPricing,
    PricingProductData,
    PricingProductDataRecord,
    PushEVSEPricing,
    PushPricingProductData,
    ReferenceUnit,
)
from bridge.simulators import base_url, serve
from bridge.simulators.emsp_backend import EmspBackend
from bridge.simulators.hubject import Exchange, HubjectSimulator
from bridge.store.base import Store
from tests.oicp.hubject_support import SPECS, evse_record, loopback_socket
from tests.support.gateway import write_config

PROVIDER = "DE-BRE"
OPERATOR = "DE*ABC"
OPERATOR_NAME = "ABC technologies"
PRICED_EVSE = "DE*ABC*E1001"
UNPRICED_EVSE = "DE*ABC*E2001"
PRODUCT = "AC1"
TOKEN_A = "token-a-for-the-emsp-backend"
EMSP_PARTNER = "emsp"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def emsp_token(
    uid: str,
    *,
    token_type: str = "RFID",
    whitelist: str = "ALWAYS",
    valid: bool = True,
    contract_id: str = "DE-BRE-C12345678-X",
) -> v221.Token:
    """A Token of the eMSP backend (its party NL/EMS)."""
    return v221.Token(
        country_code="NL",
        party_id="EMS",
        uid=uid,
        type=v221.TokenType(token_type),
        contract_id=contract_id,
        issuer="Simulated eMSP",
        valid=valid,
        whitelist=v221.WhitelistType(whitelist),
        last_updated=datetime.now(UTC),
    )


def records() -> list[dict[str, Any]]:
    """Two EVSEs of DE*ABC at two stations (two Locations): one priced, one without pricing."""
    priced = evse_record(PRICED_EVSE)
    unpriced = evse_record(UNPRICED_EVSE)
    unpriced["ChargingStationID"] = "TEST 2"
    unpriced["ChargingPoolID"] = "DE*ABC*P2TEST*1"
    unpriced["GeoCoordinates"] = {"Google": {"Coordinates": "52.520008 13.404954"}}
    unpriced["Address"] = {**unpriced["Address"], "Street": "Alexanderplatz", "HouseNum": "1"}
    return [priced, unpriced]


def pricing_product() -> PricingProductData:
    """``AC1``: 0.40 EUR per kWh plus a 1.00 EUR start fee, every day (prices without VAT)."""
    return PricingProductData(
        operator_id=OPERATOR,
        operator_name=OPERATOR_NAME,
        provider_id="*",
        pricing_default_price=Decimal("0.50"),
        pricing_default_price_currency="EUR",
        pricing_default_reference_unit=ReferenceUnit.KILOWATT_HOUR,
        pricing_product_data_records=[
            PricingProductDataRecord(
                product_id=PRODUCT,
                reference_unit=ReferenceUnit.KILOWATT_HOUR,
                product_price_currency="EUR",
                price_per_reference_unit=Decimal("0.40"),
                maximum_product_charging_power=Decimal(22),
                is_valid_24_hours=True,
                product_availability_times=[],
                additional_references=[
                    AdditionalReferences(
                        additional_reference=AdditionalReference.START_FEE,
                        additional_reference_unit=ReferenceUnit.HOUR,
                        price_per_additional_reference_unit=Decimal("1.00"),
                    )
                ],
            )
        ],
    )


def iso(value: datetime) -> str:
    return value.isoformat()


def cdr_body(
    session_id: str,
    identification: dict[str, Any],
    *,
    evse_id: str = PRICED_EVSE,
    energy: str = "12.345",
    start: datetime = T0,
) -> dict[str, Any]:
    """An OICP ChargeDetailRecord: 1 h session, charging from +5 min to +50 min."""
    return {
        "SessionID": session_id,
        "EvseID": evse_id,
        "Identification": identification,
        "SessionStart": iso(start),
        "SessionEnd": iso(start + timedelta(hours=1)),
        "ChargingStart": iso(start + timedelta(minutes=5)),
        "ChargingEnd": iso(start + timedelta(minutes=50)),
        "ConsumedEnergy": float(energy),
    }


def rfid(uid: str) -> dict[str, Any]:
    return {"RFIDMifareFamilyIdentification": {"UID": uid}}


def remote(evco_id: str) -> dict[str, Any]:
    return {"RemoteIdentification": {"EvcoID": evco_id}}


@dataclass
class EmspStack:
    """The running stack (see the module docstring)."""

    sim: HubjectSimulator
    emsp: EmspBackend
    app: Starlette
    url: str
    config: BridgeConfig
    config_path: Path
    data: EmspDataService | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def gateway(self) -> Gateway:
        gateway: Gateway = self.app.state.gateway
        return gateway

    @property
    def store(self) -> Store:
        return self.gateway.store

    @property
    def index(self) -> TokenIndex:
        index: TokenIndex = self.gateway.services[TOKEN_INDEX_SERVICE]
        return index

    async def hubject(self, operation: str, body: dict[str, Any]) -> Exchange:
        """Hubject calls the gateway (``HubjectSimulator.call_partner``); the exchange must be HTTP 200."""
        exchange = await self.sim.call_partner(operation, body)
        assert exchange.status == 200, exchange.response
        return exchange

    async def push_tokens(self, *tokens: v221.Token) -> None:
        for token in tokens:
            answer = await self.emsp.push_token(token)
            assert answer["status_code"] == 1000, answer

    async def command(self, command: v221.CommandType, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Send a command from the eMSP; returns (its id, the synchronous CommandResponse)."""
        command_id, answer = await self.emsp.send_command(command, body)
        assert answer["status_code"] == 1000, answer
        return command_id, answer["data"]

    async def result_of(self, command_id: str) -> dict[str, Any]:
        """The CommandResult the eMSP received for a command (waits for the outbox)."""
        await self.emsp.wait_until(lambda: bool(self.emsp.command_results.get(command_id)))
        return self.emsp.command_results[command_id][-1]

    def location_of(self, evse_id: str) -> tuple[str, str, str, str]:
        """(country_code, party_id, location_id, evse_uid) of an EVSE as the eMSP sees it."""
        for location in self.emsp_locations().values():
            for evse in location.get("evses") or ():
                if evse.get("evse_id") == evse_id:
                    cc, pid = location.get("country_code", ""), location.get("party_id", "")
                    return cc, pid, location["id"], evse["uid"]
        raise AssertionError(f"the eMSP sees no Location with {evse_id}")

    def emsp_locations(self) -> dict[str, dict[str, Any]]:
        return self.extra.setdefault("locations", {})


async def _seed_pricing(sim_url: str) -> None:
    """The CPO DE*ABC pushes its pricing product and EVSE pricing to Hubject."""
    async with OicpClient(sim_url, operator_id=OPERATOR) as cpo:
        ack = await cpo.push_pricing_product_data(
            PushPricingProductData(action_type=ActionType.FULL_LOAD, pricing_product_data=pricing_product())
        )
        assert ack.result, ack
        ack = await cpo.push_evse_pricing(
            PushEVSEPricing(
                action_type=ActionType.FULL_LOAD,
                evse_pricing=[
                    EVSEPricing(evse_id=PRICED_EVSE, provider_id="*", evse_id_product_list=[PRODUCT])
                ],
            )
        )
        assert ack.result, ack


def _flow(module: Any) -> Any:
    @asynccontextmanager
    async def hook(gateway: Gateway) -> AsyncIterator[None]:
        manager = await module.install(gateway)
        if manager is None:
            yield
            return
        async with manager:
            yield

    return hook


@asynccontextmanager
async def emsp_stack(
    folder: Path,
    *,
    settings: EmspSettings | None = None,
    services: dict[str, Any] | None = None,
    tokens: Sequence[v221.Token] = (),
    ocpi_versions: Sequence[str] = ("2.2.1",),
    partners: Sequence[dict[str, Any]] = (),
    flows_before: Sequence[Any] = (),
) -> AsyncIterator[EmspStack]:
    """Start everything, register the eMSP, pull Hubject's data and prices, push ``tokens``.

    ``partners`` are configured besides the eMSP backend; ``flows_before`` are flow modules
    installed before this one (e.g. the CPO-side command relay)."""
    folder.mkdir(parents=True, exist_ok=True)
    sim_sock, gw_sock, emsp_sock = loopback_socket(), loopback_socket(), loopback_socket()
    sim_url, gw_url, emsp_url = base_url(sim_sock), base_url(gw_sock), base_url(emsp_sock)
    sim = HubjectSimulator(
        operators={OPERATOR: OPERATOR_NAME},
        providers={PROVIDER},
        partner_base_url=gw_url,
        schemas_dir=SPECS,
        push_delay=0,
    )
    for record in records():
        sim.add_evse_record(record, status="Available")
    path = write_config(
        folder,
        public_url=gw_url,
        hubject={"url": sim_url, "provider_id": PROVIDER},
        partners=[{"name": EMSP_PARTNER, "role": "EMSP", "token_a": TOKEN_A}, *partners],
    )
    config = load_config(path)
    flow_settings = settings or EmspSettings(cdr_poll_interval=0, token_index_refresh=0)

    @asynccontextmanager
    async def prepare(gateway: Gateway) -> AsyncIterator[None]:
        gateway.services[SETTINGS_SERVICE] = flow_settings
        gateway.services[DATA_SETTINGS_SERVICE] = EmspDataSettings(push_initial_load=True)
        gateway.services.update(services or {})
        yield

    stack_holder: dict[str, Any] = {}

    @asynccontextmanager
    async def data_flow(gateway: Gateway) -> AsyncIterator[None]:
        service, _ = emsp_locations.create(gateway)
        stack_holder["data"] = service
        yield

    hooks: list[Any] = [
        prepare,
        delivery_start_hook(
            settings=DeliverySettings(poll_interval=0.2, send_timeout=10.0, lease_seconds=20.0)
        ),
        data_flow,
        *(_flow(module) for module in flows_before),
        _flow(emsp_charging),
    ]
    app = create_app(config, start_hooks=hooks)
    emsp = EmspBackend(base_url=emsp_url, versions=ocpi_versions)
    async with serve(sim.app, sock=sim_sock), serve(app, sock=gw_sock), serve(emsp.app, sock=emsp_sock):
        stack = EmspStack(sim, emsp, app, gw_url, config, path, data=stack_holder.get("data"))
        try:
            await _seed_pricing(sim_url)
            versions_url = f"{gw_url}/ocpi/{'cpo/' if ocpi_versions[0] == '2.1.1' else ''}versions"
            await emsp.register(versions_url, TOKEN_A)
            if stack.data is not None:
                await stack.data.sync_data("full")
                await stack.data.sync_pricing()
            await stack.push_tokens(*tokens)
            await _read_locations(stack)
            yield stack
        finally:
            await sim.aclose()
            await emsp.aclose()


async def _read_locations(stack: EmspStack) -> None:
    """The Locations as the eMSP can GET them from the gateway's Locations Sender (cpo/locations)."""
    base = stack.emsp.connection.endpoint("locations", "SENDER")
    response = await stack.emsp.party.call("GET", base)
    body = response.json()
    assert body["status_code"] == 1000, body
    stack.extra["locations"] = {location["id"]: location for location in body["data"]}
