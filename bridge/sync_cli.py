"""``ocpi-oicp-bridge sync-evse --config FILE [--full] [--pricing]``: pull Hubject's EVSE data by hand.

Runs one PullEvseData into the store exactly as the running gateway's schedule does
(:class:`bridge.flows.emsp_locations.EmspDataService`): a delta pull from the stored watermark
when one is due, else (or with ``--full``) a full pull, then the status of the new operators; with
``--pricing`` a pricing pull follows. Changes for the eMSP backend are queued in the outbox, and
the running gateway delivers them (this command sends nothing to OCPI partners). It is safe to
run next to the gateway: every write goes through the store and the watermark advances only on
success.

A progress bar on stderr shows pages, records, the rate and the time left (Hubject's
``totalPages``/``totalElements``); a summary is printed on stdout at the end.

Exit codes: 0 done, 1 the pull failed (Hubject or the store; the watermark did not move),
2 invalid configuration (``bridge.cli``) or the gateway is not an OICP EMP.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import TextIO

from bridge.config import BridgeConfig, load_config
from bridge.context import Gateway
from bridge.errors import BridgeError, ConfigError
from bridge.flows.emsp_locations import create
from bridge.flows.emsp_sync import Progress, SyncReport
from bridge.oicp.client import OicpClient
from bridge.store import open_store

BAR_WIDTH = 24


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", required=True, metavar="FILE", help="path of the gateway configuration (bridge.yaml)"
    )
    parser.add_argument(
        "--full", action="store_true", help="a full pull (rebuild) even when a delta pull is possible"
    )
    parser.add_argument(
        "--pricing", action="store_true", help="also pull pricing products and EVSE pricing afterwards"
    )


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class ProgressBar:
    """Redraws one line on a terminal (``\\r``), or prints one line per page otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.drawn = False

    def __call__(self, progress: Progress) -> None:
        total = max(progress.pages_total, progress.page, 1)
        filled = int(BAR_WIDTH * progress.page / total)
        line = (
            f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {progress.kind} pull: "
            f"page {progress.page}/{progress.pages_total}, "
            f"records {progress.records:,}/{progress.records_total:,}, "
            f"{progress.rate:,.0f} records/s, "
            f"elapsed {_clock(time.monotonic() - progress.started)}, left {_clock(progress.eta)}"
        )
        if self.tty:
            self.stream.write("\r" + line + "\x1b[K")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.tty and self.drawn:
            self.stream.write("\n")
            self.stream.flush()


def summary(report: SyncReport) -> str:
    elapsed = (report.finished - report.started).total_seconds() if report.finished else 0.0
    return (
        f"{report.kind} pull: {report.pages} pages, {report.records} records in {elapsed:.1f} s; "
        f"{report.changed} changed, {report.unchanged} unchanged, {report.removed} removed, "
        f"{report.skipped} filtered out; {report.locations_written} Locations written"
    )


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if not config.acts_as_emsp:
        print("error: hubject.provider_id is not set: the gateway is no OICP EMP", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_run(args, config))
    except ConfigError:
        raise
    except BridgeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


async def _run(args: argparse.Namespace, config: BridgeConfig) -> int:
    store = await open_store(config.store_url)
    gateway = Gateway(config=config, store=store)
    bar = ProgressBar(sys.stderr)
    try:
        client = OicpClient.from_config(config.hubject)
        gateway.services["oicp.client"] = client
        try:
            service, _ = create(gateway)
            try:
                report = await service.sync_data("full" if args.full else None, progress=bar)
            finally:
                bar.close()
            print(summary(report))
            if args.pricing:
                priced = await service.sync_pricing()
                print(
                    f"pricing: {priced.products} products, {priced.tariffs_written} Tariffs written, "
                    f"{priced.tariffs_deleted} deleted, {priced.evses_priced} EVSEs priced"
                )
        finally:
            await client.aclose()
    finally:
        await store.close()
    return 0


__all__ = ["ProgressBar", "add_arguments", "run", "summary"]
