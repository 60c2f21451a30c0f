"""Throughput of the OICP client against the Hubject simulator on loopback (prints figures).

    .venv/bin/python bench/bench_oicp_client.py --evses 20000 --calls 2000 --concurrency 50

* a full PullEvseData of a synthetic network in pages of 2000 (oicp-2.3.md §1.7, §6 sizes),
* concurrent AuthorizeStart calls (the real-time path: latency percentiles),
* sequential PushEvseStatus calls (pushes of one operation never overlap, §2.1 notes).

Client-side AUP rate limits are off (they would make this a measure of the AUP); the simulator
validates every request against the official schemas as it does in the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import time
from pathlib import Path

from bridge.oicp.client import OicpClient
from bridge.oicp.models import (
    AuthorizeStart,
    GeoCoordinatesResponseFormat,
    Identification,
    PullEvseData,
    PushEvseStatus,
)
from bridge.simulators import serve
from bridge.simulators.hubject import HubjectSimulator

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT.parent / "shared" / "specs" / "oicp-2.3"
OPERATOR, PROVIDER, UID = "DE*ABC", "DE-DCB", "1234ABCD"


async def main(evses: int, calls: int, concurrency: int, pushes: int, specs: Path) -> None:
    sim = HubjectSimulator(
        operators={OPERATOR: "ABC", "DE*XYZ": "XYZ"}, providers={PROVIDER}, schemas_dir=specs, push_delay=0
    )
    sim.authorize(UID, provider_id=PROVIDER)
    started = time.perf_counter()
    ids = sim.generate_network(evses, operators=[OPERATOR, "DE*XYZ"], seed=1)
    print(f"generated {evses} EVSEs in {time.perf_counter() - started:.2f} s")
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted connections only then.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    async with serve(sim.app, sock=sock, lifespan="off") as url:
        async with OicpClient(url, operator_id=OPERATOR, provider_id=PROVIDER, rate_limits={}) as client:
            body = PullEvseData(
                provider_id=PROVIDER,
                geo_coordinates_response_format=GeoCoordinatesResponseFormat.DECIMAL_DEGREE,
            )
            started = time.perf_counter()
            records = pages = 0
            async for page in client.pull_evse_data_pages(body, size=2000):
                pages += 1
                records += len(page.content)
            elapsed = time.perf_counter() - started
            print(
                f"PullEvseData: {records} records in {pages} pages, {elapsed:.2f} s, "
                f"{records / elapsed:,.0f} records/s"
            )

            request = AuthorizeStart(
                operator_id=OPERATOR, evse_id=ids[0], identification=Identification.from_uid(UID)
            )
            latencies: list[float] = []
            gate = asyncio.Semaphore(concurrency)

            async def authorize() -> None:
                async with gate:
                    begin = time.perf_counter()
                    await client.authorize_start(request)
                    latencies.append(time.perf_counter() - begin)

            started = time.perf_counter()
            await asyncio.gather(*(authorize() for _ in range(calls)))
            elapsed = time.perf_counter() - started
            quantiles = statistics.quantiles(latencies, n=100)
            print(
                f"AuthorizeStart: {calls} calls, concurrency {concurrency}: {calls / elapsed:,.0f} calls/s, "
                f"p50 {quantiles[49] * 1000:.1f} ms, p95 {quantiles[94] * 1000:.1f} ms"
            )

            status = PushEvseStatus.model_validate(
                {
                    "ActionType": "update",
                    "OperatorEvseStatus": {
                        "OperatorID": OPERATOR,
                        "EvseStatusRecord": [{"EvseID": ids[0], "EvseStatus": "Occupied"}],
                    },
                }
            )
            started = time.perf_counter()
            await asyncio.gather(*(client.push_evse_status(status) for _ in range(pushes)))
            elapsed = time.perf_counter() - started
            print(
                f"PushEvseStatus: {pushes} pushes (sequential by design) in {elapsed:.2f} s, "
                f"{pushes / elapsed:,.0f} pushes/s, overlaps seen by Hubject: {len(sim.violations)}"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evses", type=int, default=20000)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--pushes", type=int, default=500)
    parser.add_argument("--specs", type=Path, default=SPECS, help="the shared specs/oicp-2.3 folder")
    arguments = parser.parse_args()
    asyncio.run(
        main(arguments.evses, arguments.calls, arguments.concurrency, arguments.pushes, arguments.specs)
    )
