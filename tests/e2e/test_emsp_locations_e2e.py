"""The eMSP-side data flow end to end over real TCP: the Hubject simulator, the gateway and two eMSP
backends (2.2.1, 2.1.1) as uvicorn servers on 127.0.0.1. The flow runs on its own schedule
(``emsp_locations.install``): the first full load at start, then deltas and status pulls; the
backends register through the handshake and see the result through the Sender endpoints and their
Receivers. Also the ``sync-evse`` command against a live simulator."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bridge.cli import main
from bridge.flows.emsp_locations import STATE_KEY
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from bridge.simulators import base_url, serve
from bridge.simulators.hubject_store import synthetic_evse_record
from bridge.store import open_store
from tests.flows.emsp_locations_support import (
    DEFAULT_SETTINGS,
    PROVIDER,
    TOKEN_A,
    TOKEN_A_211,
    eventually,
    live_world,
    loopback_socket,
    simulator,
)
from tests.support.gateway import write_config

PAST = datetime.now(UTC) - timedelta(hours=2)


async def test_scheduled_sync_served_and_pushed_over_real_http(tmp_path: Path) -> None:
    hubject = simulator()
    ids = hubject.generate_network(2500, seed=21, at=PAST)
    settings = DEFAULT_SETTINGS.with_changes(
        page_size=500, delta_interval=0.2, status_interval=0.2, pricing=False
    )
    async with live_world(tmp_path, hubject, settings=settings) as world:
        store = world.gateway.store

        async def state() -> dict[str, object]:
            return dict(await store.get_state(STATE_KEY) or {})

        deadline = asyncio.get_running_loop().time() + 120
        while (await state()).get("last_kind") != "full":
            assert asyncio.get_running_loop().time() < deadline, "no full pull at start"
            await asyncio.sleep(0.05)
        sizes = {e.query["size"] for e in hubject.exchanges_for("pull_evse_data")}
        assert sizes == {"500"}
        for version, token in (("2.2.1", TOKEN_A), ("2.1.1", TOKEN_A_211)):
            await world.backends[version].party.register(f"{world.url}/ocpi/versions", token)

        backend = world.backends["2.2.1"]
        locations = await world.crawl(backend, limit="100")
        assert len(locations) == 2500
        assert {e.evse_id for loc in locations for e in v221.Location.model_validate(loc).evses or ()} == set(
            ids
        )
        old = await world.crawl(world.backends["2.1.1"], limit="100")
        assert len(old) == 2500 and all(v211.Location.model_validate(loc).evses for loc in old[:100])

        # a status change at Hubject: an EVSE PATCH at both Receivers on the next status pull
        target = next(evse for evse in ids if hubject.evse_statuses()[evse] == "Available")
        hubject.set_evse_status(target, "Occupied")
        await eventually(
            lambda: any(r.body["status"] == "CHARGING" for r in backend.requests("PATCH")), within=60
        )
        await eventually(lambda: bool(world.backends["2.1.1"].requests("PATCH")), within=60)

        # a new EVSE: the next delta pull puts its Location
        added = hubject.add_evse_record(
            synthetic_evse_record("DE*XYZ*E7777777", random.Random(2)), status="Available"
        )
        await eventually(
            lambda: any(r.body["evses"][0]["evse_id"] == added for r in backend.requests("PUT")), within=60
        )
        put = next(r for r in backend.requests("PUT") if r.body["evses"][0]["evse_id"] == added)
        assert v221.Location.model_validate(put.body).evses[0].status.value == "AVAILABLE"  # type: ignore[index]
        assert (await state()).get("last_kind") == "delta"


async def test_sync_evse_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hubject = simulator()
    hubject.generate_network(3000, seed=22, at=PAST)
    sock = loopback_socket()
    async with serve(hubject.app, sock=sock, lifespan="off"):
        path = write_config(
            tmp_path,
            public_url="http://gateway.test",
            ocpi={"parties": [{"role": "CPO", "country_code": "DE", "party_id": "GWY", "name": "Gateway"}]},
            hubject={"url": base_url(sock), "provider_id": PROVIDER},
        )

        assert await asyncio.to_thread(main, ["sync-evse", "--config", str(path), "--full"]) == 0

        out, err = capsys.readouterr()
        assert "full pull: 2 pages, 3000 records" in out and "3000 changed" in out
        assert "page 1/2" in err and "page 2/2" in err and "records 3,000/3,000" in err
        store = await open_store(f"sqlite:///{tmp_path / 'bridge.db'}")
        try:
            total = (await store.list_objects("locations", limit=0))[1]
            assert total == 3000
            state = await store.get_state(STATE_KEY)
            assert state is not None and state["last_kind"] == "full"
        finally:
            await store.close()

        hubject.delete_evse_record(next(iter(hubject.evse_records())))
        assert await asyncio.to_thread(main, ["sync-evse", "--config", str(path)]) == 0
        out, _ = capsys.readouterr()
        assert "delta pull" in out and "1 removed" in out

        hubject.inject_fault("pull_evse_data", 400, body={"message": "bad"}, times=1)
        assert await asyncio.to_thread(main, ["sync-evse", "--config", str(path)]) == 1
        assert "error:" in capsys.readouterr().err
