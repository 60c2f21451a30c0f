"""The eMSP-side data flow (bridge.flows.emsp_locations): Hubject's EVSE data, statuses and prices
pulled from the Hubject simulator and served to / pushed at eMSP backends registered through the
real handshake, all in process over httpx.ASGITransport (tests/flows/emsp_locations_support.py)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bridge.evse_cache import EVSE_KIND, RAW_OWNER
from bridge.flows.emsp_locations import STATE_KEY
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from bridge.oicp.client import OicpCallError
from bridge.oicp.models import PushEVSEPricing, PushPricingProductData
from bridge.simulators.hubject_store import synthetic_evse_record
from tests.flows.emsp_locations_support import (
    CPO_PARTY,
    DEFAULT_SETTINGS,
    HUB_PARTY,
    World,
    eventually,
    in_process,
)
from tests.oicp.hubject_support import snippet

PAST = datetime.now(UTC) - timedelta(hours=2)


def pulls(world: World) -> list[Any]:
    return [e for e in world.hubject.exchanges_for("pull_evse_data")]


async def test_full_pull_serves_locations_with_pagination_and_date_from(tmp_path: Path) -> None:
    async with in_process(tmp_path) as world:
        ids = world.hubject.generate_network(1200, seed=3, at=PAST)

        report = await world.service.sync_data()

        assert (report.kind, report.pages, report.records, report.changed) == ("full", 5, 1200, 1200)
        sent = pulls(world)
        assert [(e.query["page"], e.query["size"], e.status) for e in sent] == [
            (str(page), "250", 200) for page in range(5)
        ]
        assert "LastCall" not in sent[0].request and sent[0].request["ProviderID"] == "DE-DCB"
        backend = world.backends["2.2.1"]
        locations = await world.crawl(backend, limit="100")
        assert len(locations) == 1200
        parsed = [v221.Location.model_validate(item) for item in locations]
        assert {(loc.country_code, loc.party_id) for loc in parsed} == {("DE", "GWY")}
        evse_ids = {evse.evse_id for loc in parsed for evse in loc.evses or ()}
        assert evse_ids == set(ids)
        operators = {loc.operator.name for loc in parsed if loc.operator}
        assert operators == {"ABC Charging", "XYZ Power"}
        statuses = world.hubject.evse_statuses()
        first = parsed[0]
        evse = (first.evses or [])[0]
        expected = {"Available": "AVAILABLE", "Occupied": "CHARGING", "OutOfService": "INOPERATIVE"}
        assert evse.status.value == expected[statuses[evse.evse_id or ""]], "statuses pulled before the data"
        assert not backend.received, "the initial load is not pushed (push_initial_load off)"

        # single objects, 2.2.1
        url = backend.endpoint("locations")
        one = (await backend.get(f"{url}/{first.id}")).json()["data"]
        assert v221.Location.model_validate(one).id == first.id
        uid = evse.uid
        assert (await backend.get(f"{url}/{first.id}/{uid}")).json()["data"]["evse_id"] == evse.evse_id
        assert (await backend.get(f"{url}/{first.id}/{uid}/1")).json()["data"]["id"] == "1"

        # date_from: nothing changed since the load
        later = datetime.now(UTC) + timedelta(seconds=1)
        assert await world.crawl(backend, date_from=later.strftime("%Y-%m-%dT%H:%M:%SZ")) == []

        # 2.1.1 backend: the same Locations converted down
        old = world.backends["2.1.1"]
        old_locations = await world.crawl(old, limit="500")
        assert len(old_locations) == 1200
        for item in old_locations[:50]:
            v211.Location.model_validate(item)


async def test_delta_pull_applies_inserts_updates_deletes_and_pushes(tmp_path: Path) -> None:
    async with in_process(tmp_path) as world:
        ids = world.hubject.generate_network(600, seed=4, at=PAST)
        await world.service.sync_data()
        backend = world.backends["2.2.1"]
        before = {loc["evses"][0]["evse_id"]: loc for loc in await world.crawl(backend, limit="100")}
        state = await world.gateway.store.get_state(STATE_KEY)
        assert state is not None and state["last_kind"] == "full"

        hubject = world.hubject
        records = hubject.evse_records()
        updated, deleted = ids[10], ids[20]
        changed = dict(records[updated], ChargingStationNames=[{"lang": "en", "value": "Renamed station"}])
        hubject.update_evse_record(changed)
        hubject.delete_evse_record(deleted)
        added = hubject.add_evse_record(
            synthetic_evse_record("DE*ABC*E9999999", random.Random(1)), status="Reserved"
        )
        crawl_from = datetime.now(UTC)

        report = await world.service.sync_data()

        assert report.kind == "delta"
        request = pulls(world)[-1].request
        assert request["LastCall"] and "OperatorIds" not in request and "CountryCodes" not in request
        assert (report.changed, report.removed) == (2, 1)
        locations = {loc["evses"][0]["evse_id"]: loc for loc in await world.crawl(backend, limit="100")}
        assert len(locations) == 601
        assert locations[updated]["name"] == "Renamed station"
        assert locations[deleted]["evses"][0]["status"] == "REMOVED"
        assert locations[added]["evses"][0]["status"] == "RESERVED", "a new EVSE's status pulled by id"
        assert locations[ids[30]] == before[ids[30]], "untouched Locations are not rewritten"
        # date_from crawl sees exactly the three changes
        since = await world.crawl(backend, date_from=crawl_from.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z")
        assert {loc["evses"][0]["evse_id"] for loc in since} == {updated, deleted, added}
        # pushed as PUTs to the Receiver, valid Locations, routing headers
        await eventually(lambda: len(backend.requests("PUT")) == 3)
        pushed = {r.body["evses"][0]["evse_id"]: r for r in backend.requests("PUT")}
        assert set(pushed) == {updated, deleted, added}
        for request_ in pushed.values():
            location = v221.Location.model_validate(request_.body)
            assert request_.path.endswith(f"/DE/GWY/{location.id}")
            assert request_.headers["ocpi-from-country-code"] == "DE"
            assert request_.headers["ocpi-from-party-id"] == "GWY"
            assert request_.headers["ocpi-to-party-id"] == "EMS"
        old = world.backends["2.1.1"]
        await eventually(lambda: len(old.requests("PUT")) == 3)
        for request_ in old.requests("PUT"):
            v211.Location.model_validate(request_.body)
        raw = await world.gateway.store.get_object(EVSE_KIND, *RAW_OWNER, deleted)
        assert raw is None and deleted not in world.service.cache


async def test_status_change_becomes_an_evse_patch(tmp_path: Path) -> None:
    async with in_process(tmp_path) as world:
        ids = world.hubject.generate_network(300, seed=5, at=PAST)
        await world.service.sync_data()
        target = next(evse for evse in ids if world.hubject.evse_statuses()[evse] == "Available")
        world.hubject.set_evse_status(target, "Occupied")

        assert await world.service.sync_status() == 1

        backend = world.backends["2.2.1"]
        await eventually(lambda: len(backend.requests("PATCH")) == 1)
        patch = backend.requests("PATCH")[0]
        assert patch.body["status"] == "CHARGING" and patch.body["last_updated"]
        ref = world.service.cache.ref(target)
        assert ref is not None
        assert patch.path.endswith(f"/DE/GWY/{ref[2]}/{target.replace('*', '')}") or patch.path.endswith(
            f"/DE/GWY/{ref[2]}/{target}"
        )
        stored = await world.gateway.store.get_object("locations", ref[0], ref[1], ref[2])
        assert stored is not None and stored.data["evses"][0]["status"] == "CHARGING"
        assert stored.data["last_updated"] == patch.body["last_updated"]
        assert await world.service.sync_status() == 0, "nothing changed: nothing patched"
        old = world.backends["2.1.1"]
        await eventually(lambda: len(old.requests("PATCH")) == 1)
        stamp = old.requests("PATCH")[0].body["last_updated"]
        assert stamp.endswith("Z") and "." not in stamp, "2.1.1 DateTime without fractions"


async def test_patch_of_a_location_the_backend_does_not_know_becomes_a_put(tmp_path: Path) -> None:
    async with in_process(tmp_path) as world:
        ids = world.hubject.generate_network(50, seed=6, at=PAST)
        await world.service.sync_data()
        backend = world.backends["2.2.1"]
        backend.strict_locations = True
        target = next(evse for evse in ids if world.hubject.evse_statuses()[evse] != "Reserved")
        world.hubject.set_evse_status(target, "Reserved")
        await world.service.sync_status()
        await eventually(lambda: len(backend.requests("PUT")) == 1)
        assert [r.method for r in backend.requests()] == ["PATCH", "PUT"]
        assert backend.requests("PUT")[0].body["evses"][0]["status"] == "RESERVED"


async def test_a_429_from_hubject_is_honoured(tmp_path: Path) -> None:
    async with in_process(tmp_path, rates={"pull_evse_data": 2}) as world:
        world.hubject.generate_network(1000, seed=7, at=PAST)

        report = await world.service.sync_data()

        assert report.records == 1000 and report.pages == 4
        statuses = [(e.query["page"], e.status) for e in pulls(world)]
        assert ("2", 429) in statuses and statuses[-1] == ("3", 200)
        refused = [e for e in pulls(world) if e.status == 429]
        assert all(e.response == {"message": "Too Many Requests"} for e in refused)
        assert world.clock.sleeps and min(world.clock.sleeps) >= 1.0, "Retry-After waited"
        assert [page for page, status in statuses if status == 200] == ["0", "1", "2", "3"]


async def test_watermark_advances_only_on_success(tmp_path: Path) -> None:
    async with in_process(tmp_path) as world:
        world.hubject.generate_network(300, seed=8, at=PAST)
        await world.service.sync_data()
        store = world.gateway.store
        first = await store.get_state(STATE_KEY)
        assert first is not None and first["needs_full"] is False
        watermark = first["last_call"]

        world.hubject.inject_fault("pull_evse_data", 503, times=10)
        with pytest.raises(OicpCallError):
            await world.service.sync_data()

        failed = await store.get_state(STATE_KEY)
        assert failed is not None and failed["last_call"] == watermark, "not advanced by a failure"
        assert failed["needs_full"] is True and "delta pull failed" in failed["last_error"]
        assert world.service.next_kind(failed, datetime.now(UTC)) == "full"
        world.hubject._faults.clear()

        report = await world.service.sync_data()

        assert report.kind == "full" and "LastCall" not in pulls(world)[-1].request
        done = await store.get_state(STATE_KEY)
        assert done is not None and done["last_call"] > watermark and done["needs_full"] is False
        # a delta is only trusted while recent: an old success makes the next pull full
        stale = dict(done, last_success=(datetime.now(UTC) - timedelta(hours=5)).isoformat())
        assert world.service.next_kind(stale, datetime.now(UTC)) == "full"
        assert world.service.next_kind(done, datetime.now(UTC)) == "delta"


async def test_delta_watermark_has_the_skew_margin(tmp_path: Path) -> None:
    settings = DEFAULT_SETTINGS.with_changes(skew_margin=300.0)
    async with in_process(tmp_path, settings=settings) as world:
        world.hubject.generate_network(10, seed=9, at=PAST)
        started = datetime.now(UTC)
        await world.service.sync_data()
        state = await world.gateway.store.get_state(STATE_KEY)
        assert state is not None
        watermark = datetime.fromisoformat(state["last_call"].replace("Z", "+00:00"))
        assert timedelta(seconds=299) <= started - watermark <= timedelta(seconds=301)
        await world.service.sync_data()
        sent = datetime.fromisoformat(pulls(world)[-1].request["LastCall"].replace("Z", "+00:00"))
        assert sent == watermark


async def test_pools_group_across_pages_and_moves_leave_removed_evses(tmp_path: Path) -> None:
    rng = random.Random(11)
    settings = DEFAULT_SETTINGS.with_changes(page_size=3)
    async with in_process(tmp_path, settings=settings) as world:
        hubject = world.hubject
        pool_a = [f"DE*ABC*EPA{i}" for i in range(4)]
        for evse_id in pool_a:
            record = synthetic_evse_record(evse_id, rng)
            record["ChargingPoolID"] = "DE*ABC*PPOOLA"
            record["ChargingStationID"] = "STATIONA"
            hubject.add_evse_record(record, at=PAST, status="Available")
        other = synthetic_evse_record("DE*ABC*EPB0", rng)
        other["ChargingPoolID"] = "DE*ABC*PPOOLB"
        hubject.add_evse_record(other, at=PAST, status="Available")

        report = await world.service.sync_data()

        assert report.pages == 2
        locations = {loc["id"]: loc for loc in await world.crawl(world.backends["2.2.1"])}
        pool = locations["DEABC*STATIONA"]
        assert sorted(e["evse_id"] for e in pool["evses"]) == pool_a
        # move one EVSE to pool B: it stays in A as REMOVED, appears in B
        moved = dict(hubject.evse_records()[pool_a[0]], ChargingPoolID="DE*ABC*PPOOLB")
        moved.pop("ChargingStationID")
        hubject.update_evse_record(moved)
        await world.service.sync_data()
        locations = {loc["id"]: loc for loc in await world.crawl(world.backends["2.2.1"])}
        pool = locations["DEABC*STATIONA"]
        states = {e["evse_id"]: e["status"] for e in pool["evses"]}
        assert states[pool_a[0]] == "REMOVED" and states[pool_a[1]] == "AVAILABLE"
        live: dict[str, list[str]] = {}
        for loc in locations.values():
            for evse in loc["evses"]:
                if evse["status"] != "REMOVED":
                    live.setdefault(evse["evse_id"], []).append(loc["id"])
        assert sorted(live) == sorted([*pool_a, "DE*ABC*EPB0"]) and all(len(v) == 1 for v in live.values())
        assert live[pool_a[0]] == live["DE*ABC*EPB0"], "pool B now holds the moved EVSE"
        # pool B gained a second station: the mapping names it by its ChargingPoolID now, and the
        # Location it had before keeps its EVSE as REMOVED
        assert live[pool_a[0]] == ["DEABC*DE*ABC*PPOOLB"], "cpo presentation: operator-prefixed id"


async def test_full_pull_removes_what_hubject_no_longer_has(tmp_path: Path) -> None:
    async with in_process(tmp_path) as world:
        ids = world.hubject.generate_network(100, seed=12, at=PAST)
        await world.service.sync_data()
        world.hubject.delete_evse_record(ids[0])
        world.hubject.delete_evse_record(ids[1])
        report = await world.service.sync_data("full")
        assert report.removed == 2 and report.changed == 0 and report.unchanged == 98
        assert ids[0] not in world.service.cache and len(world.service.cache) == 98
        locations = await world.crawl(world.backends["2.2.1"])
        removed = [loc for loc in locations if loc["evses"][0]["status"] == "REMOVED"]
        assert {loc["evses"][0]["evse_id"] for loc in removed} == {ids[0], ids[1]}


async def test_operator_and_country_filters(tmp_path: Path) -> None:
    settings = DEFAULT_SETTINGS.with_changes(operators=frozenset({"DE*ABC"}), countries=frozenset({"DEU"}))
    async with in_process(tmp_path, settings=settings) as world:
        world.hubject.generate_network(400, seed=13, at=PAST)
        await world.service.sync_data()
        request = pulls(world)[0].request
        assert request["OperatorIds"] == ["DE*ABC"] and request["CountryCodes"] == ["DEU"]
        locations = await world.crawl(world.backends["2.2.1"])
        assert locations and all(loc["country"] == "DEU" for loc in locations)
        assert {loc["evses"][0]["evse_id"][:6] for loc in locations} == {"DE*ABC"}
        # a delta cannot send filters: records of other operators are dropped here
        world.hubject.generate_network(4, operators=["DE*XYZ"], seed=14)
        report = await world.service.sync_data()
        assert report.kind == "delta" and report.changed == 0 and report.skipped == 4
        status = world.hubject.exchanges_for("pull_evse_status_by_operator_id")
        assert status and status[0].request["OperatorID"] == ["DE*ABC"]


async def test_hub_presentation_owners_and_client_info(tmp_path: Path) -> None:
    async with in_process(tmp_path, parties=[CPO_PARTY, HUB_PARTY]) as world:
        ids = world.hubject.generate_network(40, seed=15, at=PAST)
        await world.service.sync_data()
        assert world.service.presentation.mode == "hub"
        locations = await world.crawl(world.backends["2.2.1"])
        assert {(loc["country_code"], loc["party_id"]) for loc in locations} == {("DE", "ABC"), ("DE", "XYZ")}
        backend = world.backends["2.2.1"]
        await eventually(lambda: len(backend.requests(module="hubclientinfo")) == 2)
        infos = {
            (r.body["country_code"], r.body["party_id"]) for r in backend.requests(module="hubclientinfo")
        }
        assert infos == {("DE", "ABC"), ("DE", "XYZ")}
        assert all(
            r.body["role"] == "CPO" and r.body["status"] == "CONNECTED"
            for r in backend.requests(module="hubclientinfo")
        )
        assert not world.backends["2.1.1"].requests(module="hubclientinfo")
        await world.service.sync_data()
        assert len(backend.requests(module="hubclientinfo")) == 2, "announced once"
        world.hubject.set_evse_status(
            ids[0], "Reserved" if world.hubject.evse_statuses()[ids[0]] != "Reserved" else "Available"
        )
        await world.service.sync_status()
        await eventually(lambda: len(backend.requests("PATCH")) == 1)
        patch = backend.requests("PATCH")[0]
        assert "/DE/ABC/" in patch.path
        assert (patch.headers["ocpi-from-country-code"], patch.headers["ocpi-from-party-id"]) == ("DE", "ABC")


async def _push_pricing(world: World, products: list[dict[str, Any]], provider: str = "*") -> None:
    body = snippet("cpo", "eRoamingPushPricingProductData:Request")
    body["PricingProductData"]["ProviderID"] = provider
    body["PricingProductData"]["PricingProductDataRecords"] = products
    answer = await world.cpo_client("DE*ABC").push_pricing_product_data(
        PushPricingProductData.model_validate(body)
    )
    assert answer.result, answer


async def test_tariffs_pulled_served_linked_and_pushed(tmp_path: Path) -> None:
    async with in_process(tmp_path) as world:
        ids = world.hubject.generate_network(60, seed=16, at=PAST)
        await world.service.sync_data()
        official = snippet("cpo", "eRoamingPushPricingProductData:Request")
        product = official["PricingProductData"]["PricingProductDataRecords"][0]
        await _push_pricing(world, [product])
        priced = [evse for evse in ids if evse.startswith("DE*ABC")][:3]
        evse_pricing = snippet("cpo", "eRoamingPushEVSEPricing:Request")
        evse_pricing["EVSEPricing"] = [
            {"EvseID": evse, "EvseIDProductList": ["AC 1"], "ProviderID": "*"} for evse in priced
        ]
        answer = await world.cpo_client("DE*ABC").push_evse_pricing(
            PushEVSEPricing.model_validate(evse_pricing)
        )
        assert answer.result

        report = await world.service.sync_pricing()

        assert (report.products, report.tariffs_written, report.evses_priced) == (1, 1, 3)
        sent = world.hubject.exchanges_for("pull_pricing_product_data")[-1].request
        assert sent["OperatorIDs"] == ["DE*ABC", "DE*XYZ"]
        tariff_id = world.service.presentation.tariff_id("DE*ABC", "AC 1")
        backend = world.backends["2.2.1"]
        tariffs = await world.crawl(backend, "tariffs")
        assert [t["id"] for t in tariffs] == [tariff_id]
        tariff = v221.Tariff.model_validate(tariffs[0])
        assert (tariff.country_code, tariff.party_id, tariff.currency) == ("DE", "GWY", "EUR")
        components = {c.type.value: c.price for e in tariff.elements for c in e.price_components}
        assert components == {"TIME": 1, "PARKING_TIME": 2}
        restriction = tariff.elements[0].restrictions
        assert restriction is not None and (restriction.start_time, restriction.end_time) == (
            "09:00",
            "18:00",
        )
        for item in await world.crawl(world.backends["2.1.1"], "tariffs"):
            v211.Tariff.model_validate(item)
        locations = {loc["evses"][0]["evse_id"]: loc for loc in await world.crawl(backend)}
        for evse_id, location in locations.items():
            links = [c.get("tariff_ids") for c in location["evses"][0]["connectors"]]
            assert links == ([[tariff_id]] if evse_id in priced else [None]), evse_id
        await eventually(
            lambda: len(backend.requests("PUT", "tariffs")) == 1 and len(backend.requests("PUT")) == 3
        )
        assert v221.Tariff.model_validate(backend.requests("PUT", "tariffs")[0].body).id == tariff_id
        assert {r.body["evses"][0]["evse_id"] for r in backend.requests("PUT")} == set(priced)

        # a product addressed to this EMP wins over the one for every EMP
        ours = dict(product, PricePerReferenceUnit=5)
        await _push_pricing(world, [ours], provider="DE-DCB")
        again = await world.service.sync_pricing()
        assert again.tariffs_written == 1 and again.evses_changed == 0
        tariffs = await world.crawl(backend, "tariffs")
        assert {
            c["price"] for e in tariffs[0]["elements"] for c in e["price_components"] if c["type"] == "TIME"
        } == {5}
        await eventually(lambda: len(backend.requests("PUT", "tariffs")) == 2)

        # products withdrawn: the Tariff is deleted (pushed) and the connectors lose the link
        await _push_pricing(world, [], provider="DE-DCB")
        await _push_pricing(world, [])
        gone = await world.service.sync_pricing()
        assert gone.tariffs_deleted == 1 and gone.locations_written == 3
        assert await world.crawl(backend, "tariffs") == []
        await eventually(lambda: len(backend.requests("DELETE", "tariffs")) == 1)
        assert backend.requests("DELETE", "tariffs")[0].path.endswith(f"/DE/GWY/{tariff_id}")
        locations = {loc["evses"][0]["evse_id"]: loc for loc in await world.crawl(backend)}
        assert all("tariff_ids" not in c for c in locations[priced[0]]["evses"][0]["connectors"])


async def test_the_flow_is_off_unless_the_gateway_is_an_oicp_emp(tmp_path: Path) -> None:
    from bridge.app import create_app
    from bridge.flows import emsp_locations
    from tests.support.gateway import make_config, running

    config = make_config(
        tmp_path, hubject={"url": "http://hubject.test", "operator_id": "DE*ABC", "operator_name": "A"}
    )
    app = create_app(config, start_hooks=[])
    async with running(app):
        gateway = app.state.gateway
        assert await emsp_locations.install(gateway) is None
        assert emsp_locations.service_of(gateway) is None and "emsp_data" not in gateway.services
    emp_only = tmp_path / "emp-only"
    emp_only.mkdir()
    config = make_config(
        emp_only,
        hubject={"url": "http://hubject.test", "provider_id": "DE-DCB"},
        ocpi={"parties": [{"role": "EMSP", "country_code": "DE", "party_id": "BRE", "name": "eMSP"}]},
    )
    app = create_app(config, start_hooks=[])
    async with running(app):
        gateway = app.state.gateway
        assert await emsp_locations.install(gateway) is None, "no CPO or HUB party to present operators"
        assert "oicp.client" not in gateway.services


def test_sync_evse_refuses_a_gateway_that_is_no_emp(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bridge.cli import main
    from tests.support.gateway import write_config

    path = write_config(tmp_path)
    assert main(["sync-evse", "--config", str(path)]) == 2
    assert "provider_id" in capsys.readouterr().err
