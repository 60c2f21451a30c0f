"""Pulling Hubject's EVSE data and statuses into the cache and the OCPI Locations (oicp-2.3.md §2.3).

:class:`EvseSync` runs one pull at a time:

* **Full pull** (PullEvseData without ``LastCall``, every page of ``page_size`` ≤ 2000 until
  ``last``; §1.7, §8 point 7): each page is applied and released before the next is requested;
  afterwards every cached EVSE the pull did not return is removed (its OCPI EVSE becomes
  ``REMOVED``). The operator and country filters are sent to Hubject and applied again here.
* **Delta pull** (``LastCall`` = the watermark): records carry ``deltaType`` insert/update/delete
  (a delete is a tombstone). ``LastCall`` cannot be combined with filters (§8 point 7), so the
  filters are applied here only.
* Both go through the OICP client's AUP limiter and are retried on 429 (its Retry-After
  honoured), 408 and 5xx with backoff (``retry=True``: pulls are idempotent, §1.4).
* **Status pull** (PullEvseStatus, ByOperatorID or ByID, §8 point 6; the two answer shapes are the
  client's business): changed statuses become EVSE PATCHes of the stored Locations.

Applying a page: a record whose fingerprint equals the cached one is skipped without any store
access. The others are grouped as the mapping groups them (``locations.group_by``); every group
touched (the new one, and the old one of an EVSE that moved or went away) is rebuilt from all its
members, the unchanged ones read back from their raw rows, and written through the object service
(kind LOCATIONS, partner :data:`~bridge.evse_cache.HUBJECT_PARTNER`) together with the raw rows,
``batch_size`` groups per transaction, so the Locations, the raw rows and the outbox messages of
the push listener commit together. The in-memory index follows only after the commit.

The first time an operator's records are seen its statuses are pulled first
(PullEvseStatusByOperatorID), so that the first load builds Locations with live statuses instead
of patching every EVSE a minute later.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import orjson

from bridge.errors import NotFound
from bridge.evse_cache import (
    EVSE_KIND,
    HUBJECT_PARTNER,
    RAW_OWNER,
    EvseCache,
    GcPause,
    LocationRef,
    digest63,
    row_data,
    settle_gc,
)
from bridge.flows.emsp_build import build_locations, merge_location
from bridge.flows.emsp_common import PUSHING, TARGETS, EmspDataSettings, Presentation, chunked
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.models.common import format_datetime
from bridge.ocpi.models.patch import validate_patch
from bridge.ocpi.server.locations import LOCATIONS
from bridge.ocpi.server.objects import ChildStep, ObjectService
from bridge.oicp.client import OicpCallError
from bridge.oicp.models import (
    GeoCoordinatesResponseFormat,
    PullEvseData,
    PullEvseStatus,
    PullEvseStatusByOperatorID,
)
from bridge.oicp.models.common import LENIENT_CONTEXT_KEY
from bridge.oicp.models.evse_data import DeltaType, PullEvseDataRecord
from bridge.store.base import utcnow
from mappings import ids
from mappings._locations_in import _group_key
from mappings.status import status_to_ocpi

if TYPE_CHECKING:
    from bridge.oicp.client import OicpClient
    from bridge.store.base import DataApi, Store
    from mappings.rules import RuleSet

log = logging.getLogger("bridge.flows.emsp")

PullKind = Literal["full", "delta"]
TargetsLookup = Callable[["DataApi"], Awaitable[tuple[Any, ...]]]
AfterCommit = Callable[[], None]

_VOLATILE = {"delta_type", "last_update"}
NEW_EVSE_STATUS_MAX = 1000
"""New EVSEs of a delta page without a known status, up to this many, get it by
PullEvseStatusByID (≤ 10 calls of 100) before their Location is built; more wait for the next
status pull. Full pulls rely on the per-operator status pull instead."""
_LENIENT = {LENIENT_CONTEXT_KEY: True}


@dataclass(slots=True)
class Progress:
    """Where a pull is: pages and records done and announced (Hubject's ``totalPages`` /
    ``totalElements`` of the first page), and when it started (``time.monotonic``)."""

    kind: PullKind
    page: int = 0
    pages_total: int = 0
    records: int = 0
    records_total: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.records / elapsed if elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate (None before the rate is known)."""
        rate = self.rate
        return max(0.0, (self.records_total - self.records) / rate) if rate > 0 else None


@dataclass(slots=True)
class SyncReport:
    """What one pull did."""

    kind: PullKind
    started: datetime
    finished: datetime | None = None
    pages: int = 0
    records: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: int = 0
    locations_written: int = 0
    statuses: int = 0


@dataclass(slots=True)
class _Item:
    """A record that changed: what the page gave and what it becomes in the index."""

    evse_id: str
    record: PullEvseDataRecord
    raw: dict[str, Any]
    fingerprint: int
    operator: str
    group: int


@dataclass(slots=True)
class _Batch:
    """Index updates to apply once a transaction has committed."""

    put: list[tuple[str, LocationRef, int, dict[str, Any]]] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    groups: list[tuple[int, LocationRef | None]] = field(default_factory=list)
    written: int = 0


def record_bytes(record: PullEvseDataRecord) -> bytes:
    """The record as received, without ``deltaType``/``lastUpdate`` (what is stored and hashed)."""
    return record.__pydantic_serializer__.to_json(
        record, by_alias=True, exclude_none=True, exclude=_VOLATILE, context=_LENIENT
    )


class EvseSync:
    """Pulls and applies EVSE data and statuses (module docstring). One per gateway."""

    def __init__(
        self,
        *,
        store: Store,
        service: ObjectService,
        rules: RuleSet,
        cache: EvseCache,
        client: OicpClient,
        provider_id: str,
        settings: EmspDataSettings,
        presentation: Presentation,
        targets: TargetsLookup | None = None,
        after_commit: AfterCommit | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.service = service
        self.rules = rules
        self.cache = cache
        self.client = client
        self.provider_id = provider_id
        self.settings = settings
        self.presentation = presentation
        self.targets = targets
        self.after_commit = after_commit
        self.now = now
        self.tariff_links: Callable[[str, str], list[str]] = lambda evse_id, operator: []
        self.lock = asyncio.Lock()
        self._status_operators: set[str] = set()

    # ---- filters and grouping -----------------------------------------------------------------

    def keeps(self, record: PullEvseDataRecord) -> bool:
        """Whether the settings' operator and country filters keep the record."""
        return self.settings.keeps_operator(record.operator_id) and self.settings.keeps_country(
            record.address.country
        )

    def group_of(self, record: PullEvseDataRecord) -> int:
        """The digest of the mapping's group key (``locations.group_by`` of the operator's rules)."""
        rules = self.rules.resolve(operator_id=record.operator_id).locations
        return digest63("\x1f".join(_group_key(record, rules, None)).encode("utf-8"))

    # ---- data pulls ---------------------------------------------------------------------------

    def request(self, kind: PullKind, last_call: datetime | None) -> PullEvseData:
        """The PullEvseData body: a full pull sends the operator/country filters, a delta pull
        only ``LastCall`` (oicp-2.3.md §8 point 7: they cannot be combined)."""
        settings = self.settings
        body: dict[str, Any] = {
            "provider_id": self.provider_id,
            "geo_coordinates_response_format": GeoCoordinatesResponseFormat.DECIMAL_DEGREE,
        }
        if kind == "delta":
            body["last_call"] = last_call
        else:
            if settings.operators:
                body["operator_ids"] = sorted(
                    {o for o in self._configured_operators() if settings.keeps_operator(o)}
                )
            if settings.countries:
                body["country_codes"] = sorted(settings.countries)
        return PullEvseData(**body)

    def _configured_operators(self) -> list[str]:
        """The include filter as OperatorIDs (``DEABC`` → ``DE*ABC``; DIN ids as given)."""
        result = []
        for key in self.settings.operators:
            iso = ids.operator_party(key)
            result.append(ids.operator_id_from_party(*iso) if iso else key)
        return result

    async def pull(
        self,
        kind: PullKind,
        *,
        last_call: datetime | None = None,
        progress: Callable[[Progress], None] | None = None,
    ) -> SyncReport:
        """One full or delta pull, applied page by page (module docstring). Raises what the
        client raises once its retries are spent; what was applied before stays applied."""
        if kind == "delta" and last_call is None:
            raise ValueError("a delta pull needs last_call")
        report = SyncReport(kind, started=self.now())
        tracker = Progress(kind)
        body = self.request(kind, last_call)
        initial = len(self.cache) == 0
        token = PUSHING.set(False) if initial and not self.settings.push_initial_load else None
        seen: set[str] | None = set() if kind == "full" else None
        try:
            page = 0
            while True:
                result = await self.client.pull_evse_data(
                    body, page=page, size=self.settings.page_size, retry=True
                )
                tracker.pages_total, tracker.records_total = result.total_pages, result.total_elements
                final = result.last or not result.content or page + 1 >= result.total_pages
                records = result.content
                del result
                await self.apply_records(records, report, seen=seen)
                tracker.page, tracker.records = page + 1, tracker.records + len(records)
                report.pages, report.records = tracker.page, tracker.records
                if progress is not None:
                    progress(tracker)
                del records
                if final:
                    break
                page += 1
            if seen is not None:
                gone = [evse_id for evse_id in self.cache.evse_ids() if evse_id not in seen]
                seen = None
                report.removed += await self.remove(gone)
                self.cache.prune_statuses()
                settle_gc(self.settings.gc_tweak)
        finally:
            if token is not None:
                PUSHING.reset(token)
        report.finished = self.now()
        log.info(
            "PullEvseData %s: %d pages, %d records, %d changed, %d unchanged, %d removed, %d skipped,"
            " %d Locations written",
            kind,
            report.pages,
            report.records,
            report.changed,
            report.unchanged,
            report.removed,
            report.skipped,
            report.locations_written,
        )
        return report

    async def apply_records(
        self, records: Sequence[PullEvseDataRecord], report: SyncReport, *, seen: set[str] | None = None
    ) -> None:
        """Apply one page: skip unchanged records, rebuild the groups of the changed ones."""
        incoming: dict[str, _Item] = {}
        gone: set[str] = set()
        with GcPause(self.settings.gc_tweak):
            for record in records:
                evse_id = record.evse_id
                kept = self.keeps(record)
                if not kept or record.delta_type is DeltaType.DELETE:
                    incoming.pop(evse_id, None)
                    if evse_id in self.cache:
                        gone.add(evse_id)
                    elif not kept:
                        report.skipped += 1
                    continue
                gone.discard(evse_id)
                if seen is not None:
                    seen.add(evse_id)
                raw = record_bytes(record)
                fingerprint = digest63(raw)
                entry = self.cache.entry(evse_id)
                if entry is not None and entry[1] == fingerprint:
                    report.unchanged += 1
                    continue
                stripped = record.model_copy(update={"last_update": None, "delta_type": None})
                incoming[evse_id] = _Item(
                    evse_id,
                    stripped,
                    orjson.loads(raw),
                    fingerprint,
                    record.operator_id,
                    self.group_of(record),
                )
        new_operators = {item.operator for item in incoming.values()} - self._status_operators
        if new_operators:
            self._status_operators.update(new_operators)
            try:
                await self.pull_statuses_of(sorted(new_operators))
            except OicpCallError as error:
                log.warning(
                    "statuses of %s not pulled before their data: %s", ", ".join(sorted(new_operators)), error
                )
        unknown = [evse_id for evse_id in incoming if self.cache.status(evse_id) is None]
        if seen is None and 0 < len(unknown) <= NEW_EVSE_STATUS_MAX:
            try:
                found = await self.client.pull_evse_status_by_ids(
                    unknown, provider_id=self.provider_id, retry=True
                )
                for status in found:
                    self.cache.set_status(status.evse_id, status.evse_status.value)
            except OicpCallError as error:
                log.warning("statuses of %d new EVSEs not pulled: %s", len(unknown), error)
        report.changed += len(incoming)
        report.removed += len(gone)
        report.locations_written += await self._apply(incoming, gone)

    async def remove(self, evse_ids: Iterable[str]) -> int:
        """Remove cached EVSEs (their OCPI EVSEs become REMOVED); return how many."""
        gone = {evse_id for evse_id in evse_ids if evse_id in self.cache}
        for batch in chunked(sorted(gone), self.settings.batch_size * 20):
            await self._apply({}, set(batch))
        return len(gone)

    async def refresh(self, evse_ids: Iterable[str]) -> int:
        """Rebuild the Locations of these cached EVSEs (e.g. their pricing changed); return how
        many Locations were written."""
        groups = {ref[3] for evse_id in evse_ids if (ref := self.cache.ref(evse_id)) is not None}
        return await self._apply_groups(list(groups), {}, set())

    async def _apply(self, incoming: dict[str, _Item], gone: set[str]) -> int:
        touched: dict[int, None] = {}
        for item in incoming.values():
            touched[item.group] = None
            old = self.cache.ref(item.evse_id)
            if old is not None and old[3] != item.group:
                touched[old[3]] = None
        for evse_id in gone:
            ref = self.cache.ref(evse_id)
            if ref is not None:
                touched[ref[3]] = None
        return await self._apply_groups(list(touched), incoming, gone)

    async def _apply_groups(self, groups: list[int], incoming: dict[str, _Item], gone: set[str]) -> int:
        by_group: dict[int, list[_Item]] = {}
        for item in incoming.values():
            by_group.setdefault(item.group, []).append(item)
        written = 0
        for chunk in chunked(groups, self.settings.batch_size):
            batch = _Batch()
            now = self.now()
            async with self.lock, self.store.transaction() as tx:
                targets = await self.targets(tx) if self.targets is not None else None
                token = TARGETS.set(targets)
                try:
                    for group in chunk:
                        await self._rebuild(tx, group, by_group.get(group, []), incoming, gone, now, batch)
                finally:
                    TARGETS.reset(token)
            self._commit(batch)
            written += batch.written
        return written

    def _commit(self, batch: _Batch) -> None:
        for evse_id in batch.remove:
            self.cache.remove(evse_id)
        for group, ref in batch.groups:
            self.cache.set_group(group, ref)
        for evse_id, ref, fingerprint, raw in batch.put:
            self.cache.put(evse_id, ref, fingerprint, raw)
        if self.after_commit is not None and batch.written:
            self.after_commit()

    async def _stored_location(self, tx: DataApi, ref: LocationRef) -> dict[str, Any] | None:
        await self.service.lock(tx, LOCATIONS, (ref[0], ref[1]), ref[2])
        stored = await tx.get_object(LOCATIONS.name, ref[0], ref[1], ref[2])
        return stored.data if stored is not None else None

    async def _write(self, tx: DataApi, data: dict[str, Any]) -> None:
        location = v221.Location.model_validate(data)
        await self.service.put(
            LOCATIONS,
            (location.country_code, location.party_id),
            location.id,
            location,
            partner=HUBJECT_PARTNER,
            tx=tx,
        )

    async def _rebuild(
        self,
        tx: DataApi,
        group: int,
        items: list[_Item],
        incoming: dict[str, _Item],
        gone: set[str],
        now: datetime,
        batch: _Batch,
    ) -> None:
        """Rebuild the Location of one group from every current member (module docstring)."""
        old_ref = self.cache.group(group)
        stored = await self._stored_location(tx, old_ref) if old_ref is not None else None
        members = [item.record for item in items]
        kept: dict[str, tuple[dict[str, Any], int]] = {}
        for evse in (stored or {}).get("evses") or ():
            evse_id = evse.get("evse_id")
            if not evse_id or evse_id in incoming or evse_id in gone:
                continue
            entry = self.cache.entry(evse_id)
            if entry is None or entry[0][3] != group:
                continue
            raw = await self.cache.record(tx, evse_id)
            if raw is not None:
                members.append(PullEvseDataRecord.model_validate(raw))
                kept[evse_id] = (raw, entry[1])
        operator = items[0].operator if items else (old_ref[4] if old_ref is not None else "")
        statuses = self.cache.statuses([record.evse_id for record in members])
        built = build_locations(
            members,
            self.rules.resolve(operator_id=operator),
            self.presentation,
            operator_id=operator,
            statuses=statuses,
            tariff_links=self.tariff_links,
            now=now,
        )
        if len(built) > 1:
            log.warning(
                "group of %s made %d Locations; only %s is kept", operator, len(built), built[0]["id"]
            )
        location = built[0] if built else None
        new_ref: LocationRef | None = None
        if location is not None:
            new_ref = self.cache.make_ref(
                location["country_code"], location["party_id"], location["id"], group, operator
            )
            same = old_ref is not None and old_ref[:3] == new_ref[:3]
            previous = stored if same else await self._stored_location(tx, new_ref)
            merged = merge_location(location, previous, now)
            if merged is not None:
                await self._write(tx, merged)
                batch.written += 1
        if stored is not None and old_ref is not None and (new_ref is None or old_ref[:3] != new_ref[:3]):
            retired = merge_location(None, stored, now)
            if retired is not None:
                await self._write(tx, retired)
                batch.written += 1
        batch.groups.append((group, new_ref))
        published = {evse["evse_id"] for evse in (location or {}).get("evses") or ()}
        rows = [(item.evse_id, item.raw, item.fingerprint) for item in items]
        if new_ref is not None and new_ref != old_ref:
            rows += [(evse_id, raw, fingerprint) for evse_id, (raw, fingerprint) in kept.items()]
        for evse_id, raw, fingerprint in rows:
            if new_ref is not None and evse_id in published:
                data = row_data(raw, fingerprint, new_ref)
                await tx.put_object(EVSE_KIND, *RAW_OWNER, evse_id, data, now, partner=HUBJECT_PARTNER)
                batch.put.append((evse_id, new_ref, fingerprint, raw))
            else:
                await tx.delete_object(EVSE_KIND, *RAW_OWNER, evse_id)
                batch.remove.append(evse_id)
        for evse_id in gone:
            ref = self.cache.ref(evse_id)
            if ref is not None and ref[3] == group:
                await tx.delete_object(EVSE_KIND, *RAW_OWNER, evse_id)
                batch.remove.append(evse_id)

    # ---- status pulls -------------------------------------------------------------------------

    def status_mode(self) -> Literal["all", "by_operator", "by_id"]:
        mode = self.settings.status_mode
        if mode != "auto":
            return mode
        if self.settings.operators or len(self.cache) > self.settings.status_chunk:
            return "by_operator"
        return "all"

    async def pull_statuses(self) -> int:
        """One status pull of every cached EVSE (``status_mode``); returns the changed count."""
        mode = self.status_mode()
        if mode == "all":
            answer = await self.client.pull_evse_status(
                PullEvseStatus(provider_id=self.provider_id), retry=True
            )
            pairs = [
                (block.operator_id, record.evse_id, record.evse_status.value)
                for block in answer.evse_statuses.operator_evse_status
                for record in block.evse_status_record
            ]
            del answer
            self._status_operators.update(op for op in self.cache.operators())
            return await self.apply_statuses(pairs)
        if mode == "by_id":
            changed = 0
            for chunk in chunked(list(self.cache.evse_ids()), self.settings.status_chunk):
                records = await self.client.pull_evse_status_by_ids(
                    chunk, provider_id=self.provider_id, retry=True
                )
                changed += await self.apply_statuses(
                    [(None, record.evse_id, record.evse_status.value) for record in records]
                )
            return changed
        counts = self.cache.operators()
        return await self.pull_statuses_of(sorted(counts), counts=counts)

    async def pull_statuses_of(
        self, operators: Sequence[str], *, counts: dict[str, int] | None = None
    ) -> int:
        """PullEvseStatusByOperatorID for these operators, in calls covering at most
        ``status_chunk`` cached EVSEs each; returns the changed count."""
        counts = counts or {}
        changed = 0
        chunk: list[str] = []
        size = 0
        for operator in [*operators, None]:
            if operator is not None and (
                not chunk or size + counts.get(operator, 0) <= self.settings.status_chunk
            ):
                chunk.append(operator)
                size += counts.get(operator, 0)
                continue
            if chunk:
                answer = await self.client.pull_evse_status_by_operator_id(
                    PullEvseStatusByOperatorID(provider_id=self.provider_id, operator_id=chunk), retry=True
                )
                pairs = [
                    (block.operator_id, record.evse_id, record.evse_status.value)
                    for block in answer.evse_statuses.operator_evse_status
                    for record in block.evse_status_record
                ]
                del answer
                self._status_operators.update(chunk)
                changed += await self.apply_statuses(pairs)
            chunk, size = ([operator], counts.get(operator, 0)) if operator is not None else ([], 0)
        return changed

    def _ocpi_status(self, operator: str, status: str | None) -> str:
        if status is None:
            return v221.Status.UNKNOWN.value
        rules = self.rules.resolve(operator_id=operator)
        return str(status_to_ocpi(status, rules).value.value)

    async def apply_statuses(self, pairs: Iterable[tuple[str | None, str, str]]) -> int:
        """Record statuses and PATCH the stored EVSEs whose OCPI status changed (ocpi.md §3.6:
        status as an EVSE PATCH with ``last_updated``); returns how many EVSEs were patched."""
        patches: list[tuple[str, str, str, LocationRef]] = []
        for operator, evse_id, status in pairs:
            if operator is not None and not self.settings.keeps_operator(operator):
                continue
            old = self.cache.status(evse_id)
            if old == status:
                continue
            ref = self.cache.ref(evse_id)
            if ref is None:
                self.cache.set_status(evse_id, status)
                continue
            before, after = self._ocpi_status(ref[4], old), self._ocpi_status(ref[4], status)
            if before == after:
                self.cache.set_status(evse_id, status)
                continue
            patches.append((evse_id, status, after, ref))
        patched = 0
        for chunk in chunked(patches, self.settings.batch_size * 5):
            now = self.now()
            stamp = format_datetime(now)
            values = {
                status: validate_patch(
                    v221.EVSE, {"status": status, "last_updated": stamp}, require_last_updated=True
                )
                for status in {after for _, _, after, _ in chunk}
            }
            async with self.lock, self.store.transaction() as tx:
                targets = await self.targets(tx) if self.targets is not None else None
                token = TARGETS.set(targets)
                try:
                    for evse_id, _, after, ref in chunk:
                        step = ChildStep("evses", "uid", ids.evse_uid(evse_id), "EVSE")
                        try:
                            result = await self.service.patch(
                                LOCATIONS,
                                (ref[0], ref[1]),
                                ref[2],
                                values[after],
                                partner=HUBJECT_PARTNER,
                                path=(step,),
                                model=v221.EVSE,
                                tx=tx,
                            )
                        except NotFound:
                            log.info(
                                "EVSE %s is not in Location %s/%s/%s: status kept for its next rebuild",
                                evse_id,
                                *ref[:3],
                            )
                            continue
                        patched += result.changed
                finally:
                    TARGETS.reset(token)
            for evse_id, status, _, _ in chunk:
                self.cache.set_status(evse_id, status)
            if self.after_commit is not None and patched:
                self.after_commit()
        return patched


def watermark(started: datetime, settings: EmspDataSettings) -> datetime:
    """The next ``LastCall``: the start of the successful pull minus the clock-skew margin."""
    return started - timedelta(seconds=settings.skew_margin)


__all__ = ["EvseSync", "Progress", "PullKind", "SyncReport", "record_bytes", "watermark"]
