"""The eMSP side's data flow: Hubject's EVSE data, statuses and prices served to the eMSP backend
as OCPI Locations and Tariffs (docs/emsp-locations.md). Enabled when ``config.acts_as_emsp``.

The gateway is an OICP EMP toward Hubject (oicp-2.3.md §2.3) and an OCPI CPO or hub toward the
eMSP backend. :class:`EmspDataService` schedules:

* **EVSE data** (:class:`~bridge.flows.emsp_sync.EvseSync`): a full PullEvseData at start when
  nothing is cached, then delta pulls with ``LastCall`` every ``delta_interval``; a full rebuild
  every ``full_interval`` (daily: Hubject recommends a daily PullEvseData, §1.6) and after any gap
  (mapping.md §3.12: "deltas expire, so rebuild after an outage"): when the last pull failed, or
  the last success is older than ``max_delta_gap``. The watermark lives in the store
  (``set_state``, key :data:`STATE_KEY`) and advances only after a pull succeeded, to the start
  of that pull minus ``skew_margin`` (clock skew between us and Hubject).
* **EVSE status** every ``status_interval`` (one minute by default; §1.6 recommends 1–5 min).
* **Prices** (:class:`~bridge.flows.emsp_tariffs.TariffSync`) every ``pricing_interval`` and
  after every full pull.

Everything is written through the object service (kinds LOCATIONS and TARIFFS), so the existing
Sender endpoints (``cpo/locations``, ``cpo/tariffs``: pagination, ``date_from``, single objects,
2.1.1 conversion) serve it, and :class:`~bridge.flows.emsp_push.EmspPush` pushes every change to
the eMSP's Receivers through the outbox. ``gateway.services["emsp_data"]`` holds the
:class:`~bridge.evse_cache.EvseCache` (read by :mod:`bridge.flows.emsp_lookup`),
``gateway.services["emsp_data.service"]`` this service.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from bridge.delivery import Delivery
from bridge.errors import ConfigError
from bridge.evse_cache import EvseCache
from bridge.flows.emsp_common import EmspDataSettings, Presentation, oicp_client, settings_of
from bridge.flows.emsp_push import EmspPush
from bridge.flows.emsp_sync import EvseSync, Progress, PullKind, SyncReport, watermark
from bridge.flows.emsp_tariffs import TariffReport, TariffSync
from bridge.ocpi.models.common import format_datetime, parse_datetime
from bridge.ocpi.server.objects import object_service
from bridge.store.base import utcnow

if TYPE_CHECKING:
    from bridge.context import Gateway
    from bridge.oicp.client import OicpClient

log = logging.getLogger("bridge.flows.emsp")

STATE_KEY: Final = "emsp.evse_data"
"""Store state of the EVSE data pulls: ``last_call`` (the watermark), ``last_success``,
``last_full``, ``needs_full``, ``last_error``, ``last_kind``, ``last_records``."""

CACHE_SERVICE: Final = "emsp_data"
SERVICE: Final = "emsp_data.service"

Sleep = Callable[[float], Awaitable[None]]


class EmspDataService:
    """The cache, the pulls and their schedule (module docstring)."""

    def __init__(
        self,
        gateway: Gateway,
        settings: EmspDataSettings,
        client: OicpClient,
        *,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        provider_id = gateway.config.hubject.provider_id
        if provider_id is None:
            raise ValueError("the eMSP-side data flow needs hubject.provider_id")
        self.gateway = gateway
        self.settings = settings
        self.client = client
        self.now = now
        service = object_service(gateway)
        rules = service.rules
        self.presentation = Presentation.of(gateway, settings, dict(rules.defaults.locations.din_operators))
        self.cache = EvseCache(record_cache_size=settings.record_cache_size)
        self.push = EmspPush(gateway, service, self.presentation)
        self.sync = EvseSync(
            store=gateway.store,
            service=service,
            rules=rules,
            cache=self.cache,
            client=client,
            provider_id=provider_id,
            settings=settings,
            presentation=self.presentation,
            targets=self.push.targets,
            after_commit=self._notify,
            now=now,
        )
        self.tariffs = TariffSync(self.sync)
        self.loaded = asyncio.Event()
        self._pull_lock = asyncio.Lock()

    def _notify(self) -> None:
        delivery = self.gateway.services.get("delivery")
        if isinstance(delivery, Delivery):
            delivery.notify()

    async def load(self) -> None:
        """Rebuild the in-memory index from the store (once, before the first pull)."""
        if not self.loaded.is_set():
            await self.cache.load(self.gateway.store, gc_tweak=self.settings.gc_tweak)
            await self.tariffs.load()
            self.loaded.set()

    # ---- EVSE data --------------------------------------------------------------------------

    async def state(self) -> dict[str, Any]:
        return dict(await self.gateway.store.get_state(STATE_KEY) or {})

    def next_kind(self, state: dict[str, Any], now: datetime) -> PullKind:
        """``full`` without a watermark, after a failure, when the last full pull is older than
        ``full_interval`` or the last success older than ``max_delta_gap``; else ``delta``."""
        if not state.get("last_call") or state.get("needs_full") or not state.get("last_full"):
            return "full"
        if now - parse_datetime(str(state["last_full"])) >= timedelta(seconds=self.settings.full_interval):
            return "full"
        if now - parse_datetime(str(state["last_success"])) > timedelta(seconds=self.settings.max_delta_gap):
            return "full"
        return "delta"

    async def sync_data(
        self, kind: PullKind | None = None, *, progress: Callable[[Progress], None] | None = None
    ) -> SyncReport:
        """One EVSE data pull (``kind`` or the one due), recorded in the state: the watermark
        advances only when it succeeded; a failure makes the next pull a full one."""
        await self.load()
        async with self._pull_lock:
            store = self.gateway.store
            state = await self.state()
            started = self.now()
            kind = kind or self.next_kind(state, started)
            last_call = parse_datetime(str(state["last_call"])) if kind == "delta" else None
            try:
                report = await self.sync.pull(kind, last_call=last_call, progress=progress)
            except Exception as error:
                state.update(
                    needs_full=True,
                    last_error=f"{kind} pull failed: {type(error).__name__}: {error}"[:500],
                    last_failure=format_datetime(started),
                )
                await store.set_state(STATE_KEY, state)
                raise
            state.update(
                last_call=format_datetime(watermark(started, self.settings)),
                last_success=format_datetime(started),
                needs_full=False,
                last_error=None,
                last_kind=kind,
                last_records=report.records,
            )
            if kind == "full":
                state["last_full"] = format_datetime(started)
            await store.set_state(STATE_KEY, state)
        await self.announce()
        return report

    async def announce(self) -> int:
        """Hub presentation: ClientInfo for every operator party (once per eMSP)."""
        if self.presentation.mode != "hub":
            return 0
        parties = {
            owner for op in self.cache.operators() if (owner := self.presentation.owner(op)) is not None
        }
        async with self.gateway.store.transaction() as tx:
            queued = await self.push.announce(tx, parties)
        if queued:
            self._notify()
        return queued

    async def sync_status(self) -> int:
        """One status pull (``status_mode``); returns how many EVSEs changed status."""
        await self.load()
        if not len(self.cache):
            return 0
        return await self.sync.pull_statuses()

    async def sync_pricing(self) -> TariffReport:
        """One pricing pull (products, then EVSE pricing)."""
        await self.load()
        return await self.tariffs.pull()

    # ---- the schedule -----------------------------------------------------------------------

    async def _every(
        self, name: str, interval: float, job: Callable[[], Awaitable[Any]], stop: asyncio.Event
    ) -> None:
        while not stop.is_set():
            try:
                await job()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s failed; next try in %g s", name, interval)
            try:
                async with asyncio.timeout(interval):
                    await stop.wait()
            except TimeoutError:
                pass

    async def _data_job(self) -> None:
        report = await self.sync_data()
        if report.kind == "full" and self.settings.pricing:
            try:
                await self.sync_pricing()
            except Exception:
                log.exception("pricing pull after the full EVSE pull failed")

    async def _status_job(self) -> None:
        await self.loaded.wait()
        await self.sync_status()

    async def _pricing_job(self) -> None:
        await self.loaded.wait()
        if len(self.cache):
            await self.sync_pricing()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The schedule as background tasks, stopped (cancelled) on exit."""
        stop = asyncio.Event()
        settings = self.settings
        jobs = [
            asyncio.create_task(
                self._every("EVSE data pull", settings.delta_interval, self._data_job, stop),
                name="emsp evse data",
            ),
            asyncio.create_task(
                self._every("EVSE status pull", settings.status_interval, self._status_job, stop),
                name="emsp evse status",
            ),
        ]
        if settings.pricing:
            jobs.append(
                asyncio.create_task(
                    self._delayed(settings.pricing_interval, "pricing pull", self._pricing_job, stop),
                    name="emsp pricing",
                )
            )
        try:
            yield
        finally:
            stop.set()
            for job in jobs:
                job.cancel()
            await asyncio.gather(*jobs, return_exceptions=True)

    async def _delayed(
        self, interval: float, name: str, job: Callable[[], Awaitable[Any]], stop: asyncio.Event
    ) -> None:
        """The pricing schedule starts one interval late: the first full pull prices right away."""
        try:
            async with asyncio.timeout(interval):
                await stop.wait()
            return
        except TimeoutError:
            pass
        await self._every(name, interval, job, stop)


def service_of(gateway: Gateway) -> EmspDataService | None:
    """The running service (``gateway.services["emsp_data.service"]``), if installed."""
    found = gateway.services.get(SERVICE)
    return found if isinstance(found, EmspDataService) else None


def create(gateway: Gateway, settings: EmspDataSettings | None = None) -> tuple[EmspDataService, bool]:
    """A service wired into the gateway: the cache in ``services``, the push listener on the object
    service, the push senders on the delivery when it runs. Returns it and whether it made the
    shared OICP client (the maker closes it)."""
    settings = settings or settings_of(gateway)
    din = dict(object_service(gateway).rules.defaults.locations.din_operators)
    Presentation.of(gateway, settings, din)  # a ConfigError before anything is made
    client, made = oicp_client(gateway)
    service = EmspDataService(gateway, settings, client)
    gateway.services[CACHE_SERVICE] = service.cache
    gateway.services[SERVICE] = service
    object_service(gateway).subscribe(service.push.listener)
    delivery = gateway.services.get("delivery")
    if isinstance(delivery, Delivery):
        service.push.register(delivery)
    else:
        log.info("no outbox delivery in this process: pushes to the eMSP wait in the outbox")
    return service, made


async def install(gateway: Gateway) -> AbstractAsyncContextManager[None] | None:
    """The flow's entry point (``bridge.flows.wiring``): enabled when ``config.acts_as_emsp`` and
    the settings' ``enabled``; returns the schedule's context manager. Without a CPO or HUB party
    to present Hubject's operators with, the flow is off (logged) rather than the gateway."""
    if not gateway.config.acts_as_emsp or not settings_of(gateway).enabled:
        return None
    try:
        service, made = create(gateway)
    except ConfigError as error:
        # The rest of the gateway (the eMSP's own tokens, sessions, CDRs) still works without it.
        log.error("the eMSP-side data flow is off: %s", error)
        return None
    return _running(service, made)


@asynccontextmanager
async def _running(service: EmspDataService, made_client: bool) -> AsyncIterator[None]:
    try:
        async with service.running():
            yield
    finally:
        if made_client:
            await service.client.aclose()
            service.gateway.services.pop("oicp.client", None)


__all__ = ["CACHE_SERVICE", "SERVICE", "STATE_KEY", "EmspDataService", "create", "install", "service_of"]
