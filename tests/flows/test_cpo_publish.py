"""Publishing the CPO partner's network (bridge.flows.cpo_publish) through the gateway in process:
Locations, EVSE statuses and Tariffs a CPO pushes become Hubject pushes (the simulator validates
every request against the official schemas and enforces ActionType semantics and sequential
pushes, oicp-2.3.md §2.1), and OCPI pushes to the eMSP peers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bridge.flows import cpo_publish
from bridge.flows.cpo_publish import EmptyFullLoad, PublishSettings
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from bridge.simulators.cpo_backend import network
from bridge.store.base import PartnerRecord
from tests.flows.cpo_publish_support import (
    FAST_RETRY,
    PRICING_MAPPINGS,
    Harness,
    PeerReceiver,
    harness,
    peer_endpoints,
    register,
    simulator,
)
from tests.store.conftest import Backend


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh SQLite file or PostgreSQL schema (tests/store/conftest.py)."""
    made = Backend(request.param, tmp_path)
    try:
        yield made.url
    finally:
        made.drop()


def pushes(sim: Any, operation: str) -> list[tuple[str, int]]:
    """(ActionType, number of records) of every push of ``operation`` the simulator received."""
    key = {
        "push_evse_data": ("OperatorEvseData", "EvseDataRecord"),
        "push_evse_status": ("OperatorEvseStatus", "EvseStatusRecord"),
    }.get(operation)
    out = []
    for exchange in sim.exchanges_for(operation):
        body = exchange.request
        if key is not None:
            count = len(body[key[0]][key[1]])
        elif operation == "push_evse_pricing":
            count = len(body["EVSEPricing"])
        else:
            count = len(body["PricingProductData"]["PricingProductDataRecords"])
        out.append((body["ActionType"], count))
    return out


async def onboard(h: Harness, n_locations: int, evses: int = 2) -> list[v221.Location]:
    generated = network(n_locations, evses_per_location=evses)
    for tariff in generated.tariffs:
        await h.put_tariff(tariff)
    for location in generated.locations:
        await h.put_location(location)
    await h.drain()
    return generated.locations


def statuses_of(locations: list[v221.Location]) -> dict[str, str]:
    table = {
        "AVAILABLE": "Available",
        "CHARGING": "Occupied",
        "OUTOFORDER": "OutOfService",
        "BLOCKED": "Occupied",
    }
    return {str(e.evse_id): table[e.status.value] for loc in locations for e in loc.evses or ()}


async def test_onboarding_publishes_exactly_the_network(tmp_path: Path, store_url: str) -> None:
    async with harness(tmp_path, store_url=store_url) as h:
        locations = await onboard(h, 30, evses=2)

        assert h.sim.evse_records("IT*BEC") == h.expected_records(locations)
        assert len(h.sim.evse_records()) == 60
        assert h.sim.evse_statuses() == statuses_of(locations)
        assert h.sim.violations == []
        assert all(e.status == 200 and e.response["Result"] for e in h.sim.exchanges)
        assert {action for action, _ in pushes(h.sim, "push_evse_data")} == {"insert"}
        assert len(pushes(h.sim, "push_evse_data")) < 30, "batched per flush, not one request per EVSE"
        assert (await h.store.outbox_counts())["dead"] == 0
        assert pushes(h.sim, "push_pricing_product_data") == [], "no EVSE supports DynamicPricing"
        # Nothing changed: a second PUT of the same Location sends nothing.
        before = len(h.sim.exchanges)
        await h.put_location(locations[0])
        await h.drain()
        assert len(h.sim.exchanges) == before


async def test_insert_update_and_delete_decisions(tmp_path: Path, store_url: str) -> None:
    async with harness(tmp_path, store_url=store_url) as h:
        locations = await onboard(h, 3, evses=2)
        first, second = locations[0], locations[1]
        h.sim.exchanges.clear()

        # A renamed Location: its two EVSEs are updated.
        await h.put_location(first.model_copy(update={"name": "Renamed", "last_updated": datetime.now(UTC)}))
        await h.drain()
        assert pushes(h.sim, "push_evse_data") == [("update", 2)]
        assert all(
            r["ChargingStationNames"][0]["value"] == "Renamed"
            for eid, r in h.sim.evse_records().items()
            if eid.startswith("IT*BEC*E00001")
        )

        # A new EVSE (EVSE PUT): inserted with its status.
        h.sim.exchanges.clear()
        assert second.evses is not None
        new = second.evses[0].model_copy(
            update={
                "uid": "00002-7",
                "evse_id": "IT*BEC*E00002*7",
                "status": v221.Status.AVAILABLE,
                "last_updated": datetime.now(UTC),
            }
        )
        response = await h.cpo.put(
            "/ocpi/2.2.1/emsp/locations/IT/BEC/LOC00002/00002-7",
            content=new.model_dump_json(exclude_none=True),
        )
        assert response.status_code == 201
        await h.drain()
        assert pushes(h.sim, "push_evse_data") == [("insert", 1)]
        assert pushes(h.sim, "push_evse_status") == [("insert", 1)]
        assert h.sim.evse_statuses()["IT*BEC*E00002*7"] == "Available"

        # REMOVED: data and status deleted (oicp-2.3.md §4.3).
        h.sim.exchanges.clear()
        await h.patch_evse(
            "LOC00002", "00002-7", {"status": "REMOVED", "last_updated": "2030-01-01T00:00:00Z"}
        )
        await h.drain()
        assert pushes(h.sim, "push_evse_data") == [("delete", 1)]
        assert pushes(h.sim, "push_evse_status") == [("delete", 1)]
        assert (
            "IT*BEC*E00002*7" not in h.sim.evse_records() and "IT*BEC*E00002*7" not in h.sim.evse_statuses()
        )

        # An EVSE gone from a PUT Location is deleted; the others are untouched.
        h.sim.exchanges.clear()
        assert first.evses is not None
        await h.put_location(
            first.model_copy(
                update={"name": "Renamed", "evses": first.evses[:1], "last_updated": datetime.now(UTC)}
            )
        )
        await h.drain()
        assert pushes(h.sim, "push_evse_data") == [("delete", 1)]
        assert set(h.sim.evse_records()) == {
            "IT*BEC*E00001*1",
            "IT*BEC*E00002*1",
            "IT*BEC*E00002*2",
            "IT*BEC*E00003*1",
            "IT*BEC*E00003*2",
        }
        assert h.sim.violations == [] and all(e.response["Result"] for e in h.sim.exchanges)


async def test_a_status_storm_is_coalesced_into_one_push_with_the_latest_statuses(
    tmp_path: Path, store_url: str
) -> None:
    # A window far longer than the test: the storm is flushed once, by hand.
    settings = PublishSettings(window=3600, tick=3600, hubject_retry=FAST_RETRY)
    async with harness(tmp_path, settings=settings, store_url=store_url) as h:
        generated = network(10, evses_per_location=3)
        for location in generated.locations:
            await h.put_location(location)
        await h.publisher.flush()
        await h.drain(include_flush=False)
        h.sim.exchanges.clear()
        cycle = ["CHARGING", "AVAILABLE", "BLOCKED", "OUTOFORDER", "RESERVED"]
        final: dict[str, str] = {}
        stamp = datetime(2030, 1, 1, tzinfo=UTC)
        for step in range(300):
            location = generated.locations[step % 10]
            evse = (location.evses or [])[step % 3]
            status = cycle[(step // 7) % len(cycle)]
            stamp += timedelta(seconds=1)
            await h.patch_evse(location.id, evse.uid, {"status": status, "last_updated": stamp.isoformat()})
            final[str(evse.evse_id)] = status

        result = await h.publisher.flush()
        await h.drain(include_flush=False)

        table = {
            "AVAILABLE": "Available",
            "CHARGING": "Occupied",
            "BLOCKED": "Occupied",
            "OUTOFORDER": "OutOfService",
            "RESERVED": "Reserved",
        }
        expected = {evse_id: table[status] for evse_id, status in final.items()}
        changed = sum(1 for eid, s in expected.items() if statuses_of(generated.locations)[eid] != s)
        assert pushes(h.sim, "push_evse_status") == [("update", changed)]
        assert result.counts == {"push_evse_status.update": changed}
        assert pushes(h.sim, "push_evse_data") == [], "a status is not EVSE data"
        assert h.sim.evse_statuses() == expected
        assert h.sim.violations == []


async def test_full_load_and_the_empty_full_load_refusal(tmp_path: Path, store_url: str) -> None:
    async with harness(tmp_path, store_url=store_url) as h:
        with pytest.raises(EmptyFullLoad, match="--allow-empty"):
            await h.publisher.full_load()
        assert h.sim.exchanges == []
        locations = await onboard(h, 4, evses=2)
        # Hubject lost an EVSE somehow; a fullLoad puts the whole set back.
        h.sim.delete_evse_record("IT*BEC*E00001*1")
        h.sim.exchanges.clear()

        result = await h.publisher.full_load()
        await h.drain()

        assert result.evses == 8
        assert pushes(h.sim, "push_evse_data") == [("fullLoad", 8)]
        assert pushes(h.sim, "push_evse_status") == [("fullLoad", 8)]
        assert h.sim.evse_records() == h.expected_records(locations)
        # Incremental pushes after a full load build on it.
        h.sim.exchanges.clear()
        await h.patch_evse(
            "LOC00001", "00001-1", {"status": "RESERVED", "last_updated": "2030-01-01T00:00:00Z"}
        )
        await h.drain()
        assert pushes(h.sim, "push_evse_status") == [("update", 1)]
        # With allow_empty an empty fullLoad is sent (here: the operator has no CPO partner left).
        await h.store.save_partner(PartnerRecord(name="bec", role="EMSP"))
        empty = await h.publisher.full_load(allow_empty=True)
        await h.drain()
        assert empty.evses == 0 and h.sim.evse_records() == {}


async def test_tariffs_become_pricing_products_and_evse_pricing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with harness(tmp_path, mappings=PRICING_MAPPINGS) as h:
        generated = network(3, evses_per_location=1)
        inexpressible = generated.tariffs[0].model_copy(
            update={
                "id": "MIXED",
                "elements": [
                    v221.TariffElement(
                        price_components=[
                            v221.PriceComponent(
                                type=v221.TariffDimensionType.ENERGY, price=Decimal("0.3"), step_size=1
                            ),
                            v221.PriceComponent(
                                type=v221.TariffDimensionType.TIME, price=Decimal("1.2"), step_size=60
                            ),
                        ]
                    )
                ],
            }
        )
        with caplog.at_level(logging.ERROR, logger="bridge.flows.cpo_publish"):
            for tariff in [*generated.tariffs, inexpressible]:
                await h.put_tariff(tariff)
            for location in generated.locations:
                await h.put_location(location)
            await h.drain()

        assert any("MIXED" in r.getMessage() and "not published" in r.getMessage() for r in caplog.records)
        products = {entry.value["ProductID"]: entry.value for entry in h.sim.pricing_products.live()}
        assert set(products) == {"AC", "DC"}, "the tariff OICP cannot express is skipped, never priced wrong"
        assert (
            products["AC"]["ReferenceUnit"] == "KILOWATT_HOUR"
            and products["AC"]["PricePerReferenceUnit"] == 0.45
        )
        pricing = {
            entry.value["EvseID"]: entry.value["EvseIDProductList"] for entry in h.sim.evse_pricing.live()
        }
        assert pricing == {"IT*BEC*E00001*1": ["AC"], "IT*BEC*E00002*1": ["AC"], "IT*BEC*E00003*1": ["DC"]}
        assert all("DynamicPricing" in r["ValueAddedServices"] for r in h.sim.evse_records().values())
        # A price change is one more fullLoad of the products; the EVSE pricing is unchanged.
        h.sim.exchanges.clear()
        dc = generated.tariffs[1]
        cheaper = dc.model_copy(
            update={
                "elements": [
                    v221.TariffElement(
                        price_components=[
                            v221.PriceComponent(
                                type=v221.TariffDimensionType.ENERGY, price=Decimal("0.59"), step_size=1
                            )
                        ]
                    )
                ],
                "last_updated": datetime.now(UTC),
            }
        )
        await h.put_tariff(cheaper)
        await h.drain()
        assert pushes(h.sim, "push_pricing_product_data") == [("fullLoad", 2)]
        assert pushes(h.sim, "push_evse_pricing") == []
        assert {
            e.value["ProductID"]: e.value["PricePerReferenceUnit"] for e in h.sim.pricing_products.live()
        } == {"AC": 0.45, "DC": 0.59}


async def test_hubject_down_then_back_and_non_retryable_refusals(tmp_path: Path) -> None:
    sim = simulator()
    async with harness(tmp_path, sim=sim) as h:
        sim.inject_fault("push_evse_data", 503, times=3)
        locations = await onboard(h, 2, evses=1)
        assert h.sim.evse_records() == h.expected_records(locations), "delivered once Hubject is back"
        answers = [e.status for e in sim.exchanges_for("push_evse_data")]
        assert answers[:3] == [503, 503, 503] and set(answers[3:]) == {200}

        # An EvseID of another operator: Hubject refuses the whole request with 018, dead-lettered.
        foreign = locations[0].model_copy(deep=True)
        assert foreign.evses is not None
        foreign.evses[0].evse_id = "DE*XYZ*E1"
        foreign.last_updated = datetime.now(UTC)
        await h.put_location(foreign)
        await h.drain()
        dead = await h.store.list_outbox("dead")
        assert [m.kind for m in dead] == [cpo_publish.KIND_EVSE_DATA, cpo_publish.KIND_EVSE_STATUS]
        assert all("018" in (m.last_error or "") and "DE*XYZ*E1" in (m.last_error or "") for m in dead)
        assert "IT*BEC*E00001*1" not in sim.evse_records(), "the EVSE gone from the Location is deleted"
        assert sim.violations == []


async def test_the_network_goes_to_ocpi_emsp_peers(tmp_path: Path) -> None:
    peer = PeerReceiver()
    async with harness(tmp_path, peer=peer) as h:
        await register(h.store, "peer", "EMSP", "NL", "PEE", endpoints=peer_endpoints())
        generated = network(2, evses_per_location=1)
        await h.put_tariff(generated.tariffs[0])
        await h.put_location(generated.locations[0])
        await h.patch_evse(
            "LOC00001", "00001-1", {"status": "BLOCKED", "last_updated": "2030-01-01T00:00:00Z"}
        )
        await h.put_location(
            generated.locations[0].model_copy(
                update={"name": "New name", "last_updated": datetime(2030, 2, 1, tzinfo=UTC)}
            )
        )
        response = await h.cpo.delete("/ocpi/2.2.1/emsp/tariffs/IT/BEC/AC")
        assert response.status_code == 200
        await h.drain()

        calls = [(method, path) for method, path, _ in peer.requests]
        # In order per object (one outbox group each); objects are independent of each other.
        assert [c for c in calls if "/locations/" in c[1]] == [
            ("PUT", "/ocpi/2.2.1/emsp/locations/IT/BEC/LOC00001"),
            ("PATCH", "/ocpi/2.2.1/emsp/locations/IT/BEC/LOC00001/00001-1"),
            ("PUT", "/ocpi/2.2.1/emsp/locations/IT/BEC/LOC00001"),
        ]
        assert [c for c in calls if "/tariffs/" in c[1]] == [
            ("PUT", "/ocpi/2.2.1/emsp/tariffs/IT/BEC/AC"),
            ("DELETE", "/ocpi/2.2.1/emsp/tariffs/IT/BEC/AC"),
        ]
        bodies = [body for _, path, body in peer.requests if "/locations/" in path]
        assert bodies[1] == {"status": "BLOCKED", "last_updated": "2030-01-01T00:00:00Z"}
        assert bodies[2]["name"] == "New name", "the whole Location as the CPO PUT it"
        v221.Location.model_validate(bodies[0])


async def test_the_schedule_runs_full_loads_and_picks_up_stranded_changes(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await onboard(h, 2, evses=1)
        # The scheduler looked once at start: it started the clocks and pulled the new partner.
        clock = [datetime.now(UTC) + timedelta(seconds=1)]
        h.publisher.clock = lambda: clock[0]
        assert await h.publisher.tick() == []
        clock[0] += timedelta(days=1, seconds=1)
        h.sim.exchanges.clear()
        assert await h.publisher.tick() == ["status_full_load", "resync:bec"]
        await h.drain()
        assert pushes(h.sim, "push_evse_status") == [("fullLoad", 2)]
        clock[0] += timedelta(days=7)
        h.sim.exchanges.clear()
        assert await h.publisher.tick() == ["evse_full_load", "status_full_load", "resync:bec"]
        await h.drain()
        assert pushes(h.sim, "push_evse_data") == [("fullLoad", 2)]
        assert pushes(h.sim, "push_evse_status") == [("fullLoad", 2)], "once, with the EVSE data fullLoad"
        # A dirty Location whose flush message was lost is flushed by the next tick.
        await h.store.put_object(cpo_publish.DIRTY_LOCATIONS, "IT", "BEC", "LOC00001", {}, clock[0])
        assert await h.publisher.tick() == ["flush"]
        await h.drain(include_flush=True)
        assert await h.store.list_objects(cpo_publish.DIRTY_LOCATIONS) == ([], 0)


async def test_a_2_1_1_peer_gets_2_1_1_objects_and_no_unpublished_location(tmp_path: Path) -> None:
    peer = PeerReceiver()
    async with harness(tmp_path, peer=peer) as h:
        await register(
            h.store, "old", "EMSP", "NL", "OLD", version="2.1.1", endpoints=peer_endpoints(version="2.1.1")
        )
        generated = network(2, evses_per_location=1)
        await h.put_tariff(generated.tariffs[0])
        await h.put_location(generated.locations[0])
        await h.put_location(generated.locations[1].model_copy(update={"publish": False}))
        await h.drain()

        calls = [(method, path) for method, path, _ in peer.requests]
        assert sorted(calls) == [
            ("PUT", "/ocpi/2.1.1/emsp/locations/IT/BEC/LOC00001"),
            ("PUT", "/ocpi/2.1.1/emsp/tariffs/IT/BEC/AC"),
        ], "publish=false Locations are not sent to 2.1.1 peers"
        location = next(body for _, path, body in peer.requests if "/locations/" in path)
        assert "country_code" not in location and v211.Location.model_validate(location).id == "LOC00001"
        assert (await h.store.outbox_counts())["dead"] == 0
