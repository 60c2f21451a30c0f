"""The eMSP-side EVSE sync against the Hubject simulator on loopback (prints figures).

    .venv/bin/python bench/bench_evse_cache.py --evses 50000
    .venv/bin/python bench/bench_evse_cache.py --evses 50000 --store postgresql://postgres@127.0.0.1:5432/bench

The simulator runs in a process of its own (its in-memory network would otherwise dominate the
memory figures), serving a synthetic network of ``--evses`` EVSEs over real HTTP. Each
measurement runs in a fresh worker process with a fresh store, once with the GC tweak
(``gc_tweak``: the cyclic GC paused during bulk pages, the cache frozen afterwards) and once
without, and reports:

* the full PullEvseData into the store and the OCPI Locations (pages of 2000, AUP limits off:
  this measures the gateway, not the AUP): records/s, seconds, Locations written per second;
* a second full pull with nothing changed (fingerprints: nothing written), a delta pull after 1 %
  of the records changed, and a status pull after 5 % of the statuses changed;
* peak RSS of the worker (``resource.getrusage``);
* on PostgreSQL an ``ANALYZE`` every 10 s stands in for autovacuum (often off on test instances);
* bytes per cached EVSE: the in-memory index rebuilt from the store under ``tracemalloc``
  (compare: one parsed record as a ``dict``, and as a pydantic model).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SPECS = ROOT.parent / "shared" / "specs" / "oicp-2.3"
PROVIDER = "DE-DCB"
OPERATORS = {"DE*ABC": "ABC Charging", "DE*XYZ": "XYZ Power", "AT*ONE": "One Energy", "NL*TWO": "Two BV"}


# ---------------------------------------------------------------------------------------------
# The simulator process


def serve_hubject(evses: int, port: int, specs: Path) -> None:
    """Serve a synthetic network and a control endpoint that changes it (``POST /control``)."""
    import uvicorn
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from bridge.simulators.hubject import HubjectSimulator

    sim = HubjectSimulator(
        operators=OPERATORS, providers={PROVIDER}, schemas_dir=specs, push_delay=0, validate=False
    )
    ids = sim.generate_network(evses, seed=1)
    rng = random.Random(2)

    async def control(request: Request) -> JSONResponse:
        body = await request.json()
        if body["action"] == "update":
            records = sim.evse_records()
            for evse_id in rng.sample(ids, body["count"]):
                names = [{"lang": "en", "value": f"Renamed {rng.random():.6f}"}]
                sim.update_evse_record(dict(records[evse_id], ChargingStationNames=names))
        else:
            for evse_id in rng.sample(ids, body["count"]):
                sim.set_evse_status(
                    evse_id, rng.choice(["Available", "Occupied", "Reserved", "OutOfService"])
                )
        return JSONResponse({"done": body["count"]})

    sim.app.router.routes.append(Route("/control", control, methods=["POST"]))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    print("ready", flush=True)
    server = uvicorn.Server(uvicorn.Config(sim.app, log_config=None, access_log=False, lifespan="off"))
    asyncio.run(server.serve(sockets=[sock]))


# ---------------------------------------------------------------------------------------------
# The worker process (one measurement)


def _config(folder: Path, store_url: str, hubject_url: str) -> Any:
    from bridge.config import load_config

    (folder / "mappings.yaml").write_text("{}\n")
    store = store_url if store_url.startswith("postgres") else f"sqlite:///{folder / 'bridge.db'}"
    (folder / "bridge.yaml").write_text(
        json.dumps(
            {
                "public_url": "http://gateway.bench",
                "store": store,
                "ocpi": {"parties": [{"role": "CPO", "country_code": "DE", "party_id": "GWY", "name": "GW"}]},
                "hubject": {"url": hubject_url, "provider_id": PROVIDER},
            }
        )
    )
    return load_config(folder / "bridge.yaml")


async def _reset_postgres(url: str) -> None:
    import psycopg

    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("DROP SCHEMA public CASCADE")
        await conn.execute("CREATE SCHEMA public")


async def _analyze_every(url: str, seconds: float) -> None:
    """What autovacuum's ANALYZE does on a production server (it may be off on a test instance,
    and a table never analyzed gets sequential-scan plans for its key lookups)."""
    import psycopg

    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        while True:
            await asyncio.sleep(seconds)
            await conn.execute("ANALYZE")


async def worker(hubject_url: str, store_url: str, gc_tweak: bool) -> dict[str, Any]:
    import httpx

    from bridge.context import Gateway
    from bridge.evse_cache import EvseCache
    from bridge.flows.emsp_common import OICP_CLIENT_SERVICE, SETTINGS_SERVICE, EmspDataSettings
    from bridge.flows.emsp_locations import create
    from bridge.oicp.client import OicpClient
    from bridge.store import open_store

    if store_url.startswith("postgres"):
        await _reset_postgres(store_url)
    folder = Path(tempfile.mkdtemp(prefix="bench-evse-"))
    config = _config(folder, store_url, hubject_url)
    store = await open_store(config.store_url)
    gateway = Gateway(config=config, store=store)
    client = OicpClient(hubject_url, provider_id=PROVIDER, rate_limits={})
    gateway.services[OICP_CLIENT_SERVICE] = client
    gateway.services[SETTINGS_SERVICE] = EmspDataSettings(gc_tweak=gc_tweak, status_mode="all")
    service, _ = create(gateway)
    result: dict[str, Any] = {"gc_tweak": gc_tweak}
    analyzer = (
        asyncio.create_task(_analyze_every(store_url, 10.0)) if store_url.startswith("postgres") else None
    )
    async with httpx.AsyncClient(base_url=hubject_url) as control:
        try:
            started = time.perf_counter()
            full = await service.sync_data("full")
            elapsed = time.perf_counter() - started
            result.update(
                records=full.records,
                full_seconds=elapsed,
                full_rate=full.records / elapsed,
                locations_per_second=full.locations_written / elapsed,
            )
            started = time.perf_counter()
            again = await service.sync_data("full")
            result.update(
                unchanged_seconds=time.perf_counter() - started, unchanged_written=again.locations_written
            )
            changed = max(1, full.records // 100)
            await control.post("/control", json={"action": "update", "count": changed})
            started = time.perf_counter()
            delta = await service.sync_data("delta")
            result.update(delta_seconds=time.perf_counter() - started, delta_changed=delta.changed)
            statuses = max(1, full.records // 20)
            await control.post("/control", json={"action": "status", "count": statuses})
            started = time.perf_counter()
            patched = await service.sync_status()
            result.update(status_seconds=time.perf_counter() - started, status_patched=patched)
            result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            # bytes per cached EVSE: the index rebuilt from the store, traced
            gc.collect()
            tracemalloc.start()
            base = tracemalloc.get_traced_memory()[0]
            cache = EvseCache()
            count = await cache.load(store, gc_tweak=gc_tweak)
            await asyncio.sleep(0)
            for evse_id in list(cache.evse_ids()):
                cache.set_status(evse_id, "Available")
            gc.collect()
            used = tracemalloc.get_traced_memory()[0] - base
            tracemalloc.stop()
            result["bytes_per_evse"] = used / max(count, 1)
            raw = await cache.record(store, next(iter(cache.evse_ids())))
            result.update(_reference_sizes(raw or {}))
            result.update(await _page_parse(control, cache))
        finally:
            if analyzer is not None:
                analyzer.cancel()
            await client.aclose()
            await store.close()
    return result


async def _page_parse(control: Any, cache: Any) -> dict[str, float]:
    """Parsing one page of 2000 records (pydantic) with the cache alive, a million index entries
    alive (as at Hubject scale), the cyclic GC running normally and paused (``GcPause``)."""
    from bridge.evse_cache import GcPause
    from bridge.oicp.models import PullEvseDataResponse

    body = {"ProviderID": PROVIDER, "GeoCoordinatesResponseFormat": "DecimalDegree"}
    path = "/api/oicp/evsepull/v23/providers/DE-DCB/data-records"
    page = (await control.post(path, params={"page": 0, "size": 2000}, json=body)).content
    ballast = [((f"DE*BAL*E{i:07d}", "DE", "BAL", f"L{i}"), i << 20) for i in range(1_000_000)]
    gc.collect()
    times = {}
    for label, paused in (("parse_gc_on", False), ("parse_gc_paused", True)):
        started = time.perf_counter()
        for _ in range(5):
            with GcPause(paused):
                PullEvseDataResponse.model_validate_json(page)
        times[label] = (time.perf_counter() - started) / 5
    del ballast
    return times


def _reference_sizes(record: dict[str, Any]) -> dict[str, float]:
    """What one record costs as a parsed dict and as a pydantic model (for comparison)."""
    from bridge.oicp.models import PullEvseDataRecord

    text = json.dumps({**record, "OperatorID": "DE*ABC", "OperatorName": "ABC Charging"})
    sizes = {}
    for name, make in (
        ("dict_bytes", lambda: json.loads(text)),
        ("model_bytes", lambda: PullEvseDataRecord.model_validate_json(text)),
    ):
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        kept = [make() for _ in range(200)]
        sizes[name] = (tracemalloc.get_traced_memory()[0] - base) / len(kept)
        tracemalloc.stop()
        del kept
    return sizes


# ---------------------------------------------------------------------------------------------
# The orchestrator


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evses", type=int, default=50_000)
    parser.add_argument("--store", default="sqlite", help="sqlite (a temp file) or a postgresql:// URL")
    parser.add_argument("--specs", type=Path, default=SPECS)
    parser.add_argument("--serve-hubject", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--worker", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--gc", choices=["on", "off"], default="on", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_hubject:
        serve_hubject(args.evses, args.serve_hubject, args.specs)
        return
    if args.worker:
        print(json.dumps(asyncio.run(worker(args.worker, args.store, args.gc == "on"))), flush=True)
        return
    port = _free_port()
    started = time.perf_counter()
    sim = subprocess.Popen(  # noqa: S603 - this script with its own arguments
        [
            sys.executable,
            __file__,
            "--serve-hubject",
            str(port),
            "--evses",
            str(args.evses),
            "--specs",
            str(args.specs),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sim.stdout is not None
        if sim.stdout.readline().strip() != "ready":
            raise SystemExit("the simulator did not start")
        time.sleep(0.5)
        print(
            f"simulator: {args.evses} EVSEs generated in {time.perf_counter() - started:.1f} s (own process)"
        )
        print(f"store: {args.store}")
        for mode in ("on", "off"):
            output = subprocess.run(  # noqa: S603 - this script with its own arguments
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    f"http://127.0.0.1:{port}",
                    "--gc",
                    mode,
                    "--store",
                    args.store,
                ],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "PYTHONHASHSEED": "0"},
            ).stdout
            r = json.loads(output.strip().splitlines()[-1])
            print(
                f"GC tweak {mode:>3}: full pull {r['records']} records in {r['full_seconds']:.1f} s = "
                f"{r['full_rate']:,.0f} records/s ({r['locations_per_second']:,.0f} Locations written/s); "
                f"unchanged full pull {r['unchanged_seconds']:.1f} s ({r['unchanged_written']} written); "
                f"delta of {r['delta_changed']} changes {r['delta_seconds']:.1f} s; "
                f"status pull with {r['status_patched']} changes {r['status_seconds']:.1f} s; "
                f"peak RSS {r['peak_rss_mb']:,.0f} MB; {r['bytes_per_evse']:,.0f} bytes per cached EVSE "
                f"(a record as dict: {r['dict_bytes']:,.0f} B, as model: {r['model_bytes']:,.0f} B)"
            )
        print(
            f"one page of 2000 records parsed with 1,000,000 live index entries: "
            f"{r['parse_gc_on'] * 1000:,.0f} ms with the GC running, "
            f"{r['parse_gc_paused'] * 1000:,.0f} ms with it paused "
            f"({r['parse_gc_on'] / r['parse_gc_paused']:.1f}x)"
        )
    finally:
        sim.terminate()
        sim.wait(timeout=10)


if __name__ == "__main__":
    main()
