"""The generic object service (bridge/ocpi/server/objects.py) on real stores, without HTTP:
the exclusion paging against a brute-force reference, listeners inside the write transaction,
identical writes and no-op merges, child paths, the id index, the 2.1.1 visibility markers,
conversion-loss logging, and concurrent read-modify-writes of one Location."""

from __future__ import annotations

import asyncio
import copy
import logging
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bridge.config import BridgeConfig
from bridge.errors import NotFound, UnknownLocation
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.server.auth import Caller
from bridge.ocpi.server.common import PageParams
from bridge.ocpi.server.locations import LOCATIONS
from bridge.ocpi.server.objects import (
    HIDDEN_SUFFIX,
    ChildStep,
    ObjectChange,
    ObjectKind,
    ObjectService,
    child_of,
    object_service,
)
from bridge.ocpi.server.tariffs import TARIFFS
from bridge.store import PartnerRecord, Store, open_store
from bridge.store.base import DataApi
from mappings.rules import RuleSet
from tests.ocpi.server.harness import EXAMPLES_211, EXAMPLES_221, Harness, load
from tests.support.gateway import make_config

EVSE_3256 = ChildStep("evses", "uid", "3256", "EVSE")
OWNER = ("BE", "BEC")


@pytest.fixture
def config(tmp_path: Path) -> BridgeConfig:
    return make_config(tmp_path)


@pytest.fixture
async def store(tmp_path: Path, store_url: str) -> AsyncIterator[Store]:
    opened = await open_store(store_url)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def service(store: Store, config: BridgeConfig) -> ObjectService:
    return ObjectService(store, config)


def _location(**changes: Any) -> v221.Location:
    return v221.Location.model_validate({**load(EXAMPLES_221, "location_example.json"), **changes})


def _caller(name: str, version: str, *roles: tuple[str, str]) -> Caller:
    record = PartnerRecord(
        name=name,
        role="EMSP",
        version=version,
        status="registered",
        roles=[{"role": "EMSP", "country_code": cc, "party_id": pid} for cc, pid in roles],
    )
    return Caller(partner=record, token_kind="CURRENT")


# --------------------------------------------------------------------------------------------
# Paging with exclusions


async def test_paging_with_exclusions_matches_a_brute_force_reference(store: Store) -> None:
    """``_page_excluding`` against slicing the filtered list, for random exclusion sets, windows,
    offsets and limits (clusters of excluded objects at the start, the end and in runs)."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for i in range(40):
        last_updated = start + timedelta(hours=(i * 17) % 40)
        await store.put_object("things", "BE", "BEC", f"T{i:02d}", {"i": i}, last_updated)
    everything, _ = await store.list_objects("things", limit=100)
    rng = random.Random(20240101)
    for case in range(150):
        shape = case % 3
        if shape == 0:
            excluded = {obj.seq for obj in everything if rng.random() < 0.3}
        elif shape == 1:
            first = rng.randrange(40)
            excluded = {obj.seq for obj in everything[first : first + rng.randrange(1, 12)]}
        else:
            excluded = {obj.seq for obj in everything[: rng.randrange(0, 10)]} | {
                obj.seq for obj in everything[40 - rng.randrange(0, 10) :]
            }
        date_from = start + timedelta(hours=rng.randrange(0, 20)) if rng.random() < 0.5 else None
        date_to = start + timedelta(hours=rng.randrange(20, 41)) if rng.random() < 0.5 else None
        window = [
            o
            for o in everything
            if (date_from is None or o.last_updated >= date_from)
            and (date_to is None or o.last_updated < date_to)
        ]
        in_window = sorted(o.seq for o in window if o.seq in excluded)
        served = [o for o in window if o.seq not in excluded]
        offset, limit = rng.randrange(0, 45), rng.randrange(0, 9)
        filters = {"owners": None, "partner": None, "date_from": date_from, "date_to": date_to}
        async with store.transaction() as tx:
            page, total = await ObjectService._page_excluding(tx, "things", in_window, filters, offset, limit)
        assert total == len(served), case
        assert [o.seq for o in page] == [o.seq for o in served[offset : offset + limit]], case


async def test_list_for_leaves_out_the_callers_own_and_hidden_objects(service: ObjectService) -> None:
    await service.put(LOCATIONS, OWNER, "LOC1", _location(), partner="cpo")
    await service.put(LOCATIONS, OWNER, "LOC2", _location(id="LOC2", publish=False), partner="cpo")
    await service.put(
        LOCATIONS,
        ("NL", "MSP"),
        "LOC3",
        _location(country_code="NL", party_id="MSP", id="LOC3"),
        partner="both",
    )
    params = PageParams(offset=0, limit=10, date_from=None, date_to=None)
    as_221 = await service.list_for(
        _caller("both", "2.2.1", ("NL", "MSP")), LOCATIONS, params, version="2.2.1"
    )
    assert (as_221.total, len(as_221.items)) == (2, 2)
    as_211 = await service.list_for(
        _caller("both", "2.1.1", ("NL", "MSP")), LOCATIONS, params, version="2.1.1"
    )
    assert (
        as_211.total == 1 and b'"id":"LOC1"' in as_211.items[0] and b'"type":"ON_STREET"' in as_211.items[0]
    )
    only_nl = await service.list_for(
        _caller("x", "2.2.1", ("FR", "XYZ")),
        LOCATIONS,
        params,
        version="2.2.1",
        include_owners=[("nl", "msp")],
    )
    assert only_nl.total == 1 and b'"id":"LOC3"' in only_nl.items[0]


# --------------------------------------------------------------------------------------------
# Writes


async def test_put_tells_created_changed_and_identical(service: ObjectService, store: Store) -> None:
    first = await service.put(LOCATIONS, OWNER, "LOC1", _location(), partner="cpo")
    assert (first.created, first.changed) == (True, True)
    same = await service.put(LOCATIONS, OWNER, "LOC1", _location(), partner="cpo")
    assert (same.created, same.changed) == (False, False)
    renamed = await service.put(LOCATIONS, ("be", "bec"), "loc1", _location(name="New"), partner="cpo")
    assert (renamed.created, renamed.changed) == (False, True)
    stored = await store.get_object("locations", "BE", "BEC", "LOC1")
    assert stored is not None and stored.data["name"] == "New"
    assert (stored.country_code, stored.party_id, stored.object_id) == ("BE", "BEC", "LOC1"), (
        "ids as first received"
    )


async def test_listeners_run_inside_the_write_transaction(service: ObjectService, store: Store) -> None:
    changes: list[ObjectChange] = []

    async def record(tx: DataApi, change: ObjectChange) -> None:
        changes.append(change)
        await tx.enqueue("hubject", "evse_data", {"id": change.object_id}, order_key=change.object_id)

    service.subscribe(record)
    await service.put(LOCATIONS, OWNER, "LOC1", _location(), partner="cpo")
    await service.patch(
        LOCATIONS,
        OWNER,
        "LOC1",
        {"status": v221.Status.CHARGING, "last_updated": datetime(2030, 1, 1, tzinfo=UTC)},
        partner="cpo",
        path=(EVSE_3256,),
        model=v221.EVSE,
    )
    assert [c.path for c in changes] == [(), (EVSE_3256,)]
    assert changes[0].before is None and changes[1].before is not None
    assert changes[1].after is not None and changes[1].after["last_updated"] == "2030-01-01T00:00:00Z"
    assert len(await store.list_outbox()) == 2

    async def refuse(tx: DataApi, change: ObjectChange) -> None:
        raise RuntimeError("the flow failed")

    service.subscribe(refuse)
    with pytest.raises(RuntimeError):
        await service.put(LOCATIONS, OWNER, "LOC2", _location(id="LOC2"), partner="cpo")
    assert await store.get_object("locations", "BE", "BEC", "LOC2") is None, "rolled back with the flow"
    assert len(await store.list_outbox()) == 2


async def test_children_are_written_in_place_and_propagate(service: ObjectService) -> None:
    await service.put(LOCATIONS, OWNER, "LOC1", _location(), partner="cpo")
    connector = v221.Connector.model_validate(
        {
            **load(EXAMPLES_221, "location_example.json")["evses"][0]["connectors"][0],
            "id": "9",
            "last_updated": "2025-05-05T05:05:05.5Z",
        }
    )
    path = (EVSE_3256, ChildStep("connectors", "id", "9", "Connector"))
    created = await service.put_child(LOCATIONS, OWNER, "LOC1", path, connector, partner="cpo")
    assert created.created and created.data["last_updated"] == "2025-05-05T05:05:05.500Z"
    evse = child_of(created.data, (ChildStep("evses", "uid", "3256"),))
    assert evse is not None and evse["last_updated"] == "2025-05-05T05:05:05.500Z"
    assert child_of(created.data, path) == {**connector.model_dump(mode="json", exclude_none=True)}
    again = await service.put_child(LOCATIONS, OWNER, "LOC1", path, connector, partner="cpo")
    assert (again.created, again.changed) == (False, False)

    with pytest.raises(UnknownLocation):
        await service.put_child(
            LOCATIONS, OWNER, "NOPE", path, connector, partner="cpo", root_missing=UnknownLocation()
        )
    with pytest.raises(NotFound, match="EVSE 77"):
        await service.put_child(
            LOCATIONS,
            OWNER,
            "LOC1",
            (ChildStep("evses", "uid", "77", "EVSE"), path[1]),
            connector,
            partner="cpo",
        )
    with pytest.raises(ValueError):
        await service.put_child(LOCATIONS, OWNER, "LOC1", (), connector, partner="cpo")


async def test_a_merge_that_changes_nothing_writes_nothing(service: ObjectService) -> None:
    stored = await service.put(LOCATIONS, OWNER, "LOC1", _location(), partner="cpo")
    same = await service.patch(LOCATIONS, OWNER, "LOC1", {"name": "Gent Zuid"}, partner="cpo")
    assert not same.changed and same.data == stored.data
    with pytest.raises(NotFound):
        await service.patch(LOCATIONS, OWNER, "LOC9", {"name": "x"}, partner="cpo")


async def test_hidden_markers_and_the_id_index_follow_every_write(
    service: ObjectService, store: Store
) -> None:
    hidden_kind = "tariffs" + HIDDEN_SUFFIX
    reservation_only = v221.Tariff.model_validate(
        {
            **load(EXAMPLES_221, "tariff_15_reservation_5_euro_per_hour.json"),
            "id": "R1",
            "elements": [load(EXAMPLES_221, "tariff_15_reservation_5_euro_per_hour.json")["elements"][0]],
        }
    )
    await service.put(TARIFFS, ("DE", "ALL"), "R1", reservation_only, partner="cpo")
    markers, _ = await store.list_objects(hidden_kind)
    tariff = await store.get_object("tariffs", "DE", "ALL", "R1")
    assert tariff is not None and [m.data for m in markers] == [{"seq": tariff.seq}]
    assert markers[0].last_updated == tariff.last_updated
    assert await service.delete(TARIFFS, ("DE", "ALL"), "r1", partner="cpo")
    assert await store.list_objects(hidden_kind) == ([], 0)
    assert not await service.delete(TARIFFS, ("DE", "ALL"), "R1", partner="cpo")

    await service.put(LOCATIONS, OWNER, "LOC1", _location(), partner="a")
    await service.put(
        LOCATIONS, ("SE", "EVC"), "LOC1", _location(country_code="SE", party_id="EVC"), partner="b"
    )
    index = await store.get_correlation("ocpi.owners.locations", "LOC1")
    assert index is not None and index.data == {"owners": [["BE", "BEC"], ["SE", "EVC"]]}
    found = await service.find(LOCATIONS, "loc1")
    assert found is not None and found.country_code == "BE", "the oldest of several owners"
    preferred = await service.find(LOCATIONS, "LOC1", prefer=[("SE", "EVC")])
    assert preferred is not None and preferred.country_code == "SE"
    not_own = await service.find(LOCATIONS, "LOC1", exclude=[("BE", "BEC")])
    assert not_own is not None and not_own.country_code == "SE"
    assert await service.find(LOCATIONS, "LOC1", owner=("BE", "BEC"), exclude=[("BE", "BEC")]) is None
    assert await service.find(LOCATIONS, "LOC2") is None


async def test_concurrent_evse_patches_of_one_location_all_survive(service: ObjectService) -> None:
    """Read-modify-writes of one Location are serialized (PostgreSQL READ COMMITTED would
    otherwise let one concurrent EVSE PATCH overwrite another)."""
    base = load(EXAMPLES_221, "location_example.json")
    template = base["evses"][1]
    base["evses"] = [{**copy.deepcopy(template), "uid": f"E{i}"} for i in range(8)]
    await service.put(LOCATIONS, OWNER, "LOC1", v221.Location.model_validate(base), partner="cpo")
    stamp = datetime(2030, 1, 1, tzinfo=UTC)

    async def patch(i: int) -> None:
        await service.patch(
            LOCATIONS,
            OWNER,
            "LOC1",
            {"status": v221.Status.CHARGING, "last_updated": stamp},
            partner="cpo",
            path=(ChildStep("evses", "uid", f"E{i}"),),
            model=v221.EVSE,
        )

    await asyncio.gather(*(patch(i) for i in range(8)))
    stored = await service.get(LOCATIONS, OWNER, "LOC1")
    assert stored is not None
    assert [evse["status"] for evse in stored.data["evses"]] == ["CHARGING"] * 8


# --------------------------------------------------------------------------------------------
# Conversions and their logs


async def test_losses_are_logged_once_per_object(
    service: ObjectService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bridge.ocpi.convert")
    source = v211.Location.model_validate(load(EXAMPLES_211, "mod_locations__example.json"))
    up = await service.up(LOCATIONS, source, owner=("NL", "TNM"), partner="cpo211")
    assert isinstance(up, v221.Location) and up.time_zone == "Europe/Brussels"
    received = [r for r in caplog.records if "from 2.1.1" in r.getMessage()]
    assert len(received) == 1 and "time_zone" in received[0].getMessage()

    await service.put(LOCATIONS, ("NL", "TNM"), "LOC1", up, partner="cpo211")
    stored = await service.get(LOCATIONS, ("NL", "TNM"), "LOC1")
    assert stored is not None
    for _ in range(3):
        assert await service.serialize(LOCATIONS, stored, "2.1.1", partner="emsp211") is not None
    served = [r for r in caplog.records if "to 2.1.1" in r.getMessage()]
    assert len(served) == 1, "the same object version is logged once however often it is served"
    assert "publish" in served[0].getMessage()


async def test_sensitive_ids_are_hashed_in_logs(
    service: ObjectService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bridge.ocpi.convert")
    secretive = ObjectKind(name="things", model=v221.Location, label="Thing", sensitive_ids=True)
    service.note_losses(
        secretive, OWNER, "RFID-0123456789", "from 2.1.1", "p", list(await _translation_losses())
    )
    message = caplog.records[-1].getMessage()
    assert "RFID-0123456789" not in message and "sha256:" in message


async def _translation_losses() -> list[Any]:
    from mappings.ocpi_versions import tariff_down

    tariff = v221.Tariff.model_validate(load(EXAMPLES_221, "tariff_4_complex.json"))
    return tariff_down(tariff).losses


async def test_unpublished_locations_serialize_to_nothing_for_211(service: ObjectService) -> None:
    await service.put(LOCATIONS, OWNER, "LOC1", _location(publish=False), partner="cpo")
    stored = await service.get(LOCATIONS, OWNER, "LOC1")
    assert stored is not None
    assert await service.serialize(LOCATIONS, stored, "2.1.1", partner="emsp211") is None
    assert await service.serialize(LOCATIONS, stored, "2.2.1", partner="emsp") is not None


async def test_the_gateway_keeps_one_service_and_its_rules(harness: Harness) -> None:
    gateway = harness.app.state.gateway
    assert object_service(gateway) is object_service(gateway)
    rules = RuleSet.default()
    gateway.services.pop("ocpi_objects")
    gateway.services["mapping_rules"] = rules
    assert object_service(gateway).rules is rules
