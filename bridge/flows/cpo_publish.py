"""Publishing the CPO partners' network: OCPI Locations, EVSE statuses and Tariffs pushed by a CPO
backend (Be Charge, reference 000) become Hubject EVSE data, EVSE status and dynamic pricing
(OICP 2.3 CPO operations, oicp-2.3.md §2.1), and go to the gateway's OCPI eMSP partners too.

Data flow (architecture.md "Data flow"; nothing lost, everything through the outbox):

1. **In.** A CPO partner PUTs/PATCHes a Location, EVSE or Connector or PUTs/DELETEs a Tariff (or
   the gateway pulls them from its Sender lists: at registration and every
   :attr:`PublishSettings.resync_every`). The object service stores it and calls
   :meth:`CpoPublisher.on_change` **inside the write transaction**, which marks the Location (or
   the Tariffs) *dirty* for Hubject and queues a *flush* message available at the end of the
   current coalescing window (:attr:`PublishSettings.window`, default 1 s), and queues the OCPI
   messages for the peers (:mod:`bridge.flows.cpo_publish_peers`).
2. **Flush** (a Delivery sender, one at a time): in one transaction it maps every dirty Location
   (:mod:`bridge.flows.cpo_publish_plan`), diffs the result against what Hubject holds, and queues
   the pushes: one request per operation and action type (``delete``, ``insert``, ``update``; at
   most :attr:`PublishSettings.batch_size` records each), statuses with the latest value per EVSE.
   So a status storm of hundreds of PATCHes becomes a few PushEvseStatus requests.
3. **Out.** The push senders call Hubject with the OICP client. EVSE data and status pushes share
   one outbox group, pricing pushes another: each group is strictly FIFO, so pushes of one
   operation never overlap (oicp-2.3.md §2.1 notes, §8 point 4) and a new EVSE's data always
   precedes its status. ``Result: false`` with 017/018/022 (and HTTP 400 FaultBody, egress
   errors) is dead-lettered with Hubject's reason; any other failure is retried with backoff.

Full loads (oicp-2.3.md §1.6, §8 point 4: EVSE data weekly, status daily): :meth:`CpoPublisher.
full_load` queues a PushEvseData ``fullLoad`` of the whole network (and a status ``fullLoad``),
and refuses an empty one unless ``allow_empty`` (it would withdraw the whole network);
:meth:`CpoPublisher.status_full_load` queues the status ``fullLoad``. They run on the schedule of
:class:`PublishSettings` (defaults: weekly and daily; an empty scheduled full load is skipped
with a warning) and on demand with ``ocpi-oicp-bridge push-evse --full``.

Decisions: the OperatorID and OperatorName of every push are ``hubject.operator_id`` /
``hubject.operator_name`` (the certificate owner, oicp-2.3.md §1.2); the mapping rules are
resolved per operator, partner, Location and owner. The held state is what was *queued*: a
dead-lettered push leaves Hubject behind it until the next full load (or ``push-evse``) repairs it.
The schedule and batching come from the ``cpo`` section of the configuration
(:func:`settings_from_config`, docs/configuration.md); a :class:`PublishSettings` a start hook puts
in ``gateway.services["cpo_publish.settings"]`` wins over it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from pydantic import ValidationError

from bridge.delivery import DEAD_CODES, Delivery, Outcome, RetryPolicy, delivery_of, outcome_from_error
from bridge.errors import BridgeError, ConfigError, MappingError, OcpiError, PartnerError
from bridge.flows.cpo_publish_peers import KINDS as PEER_KINDS
from bridge.flows.cpo_publish_peers import PeerSender, enqueue_for_peers
from bridge.flows.cpo_publish_plan import (
    LOCATIONS_KIND,
    Batches,
    DesiredEvse,
    HeldChanges,
    HeldEvse,
    LocationKey,
    Products,
    PublishScope,
    all_held,
    desired_for_location,
    diff_pricing,
    location_key_text,
    lock_stripes,
    plan_location,
    scan,
)
from bridge.flows.cpo_publish_pricing import load_products, plan_products
from bridge.ocpi.client import clients_of
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.server.locations import LOCATIONS
from bridge.ocpi.server.objects import ObjectChange, object_service
from bridge.ocpi.server.tariffs import TARIFFS
from bridge.oicp.client import OicpCallError, OicpClient
from bridge.oicp.models import (
    Acknowledgement,
    OicpEgressError,
    PushEvseData,
    PushEVSEPricing,
    PushEvseStatus,
    PushPricingProductData,
)
from bridge.store.base import utcnow
from mappings.rules import MappingRules, RuleSet

if TYPE_CHECKING:
    from bridge.config import BridgeConfig
    from bridge.context import Gateway
    from bridge.store.base import DataApi, OutboxMessage, PartnerRecord, StoredObject

log = logging.getLogger("bridge.flows.cpo_publish")

SERVICE: Final = "cpo_publish"
SETTINGS_SERVICE: Final = "cpo_publish.settings"
OICP_CLIENT_SERVICE: Final = "oicp.client"
"""``gateway.services`` key of the gateway's one :class:`~bridge.oicp.client.OicpClient`, shared by
the flows (made from ``config.hubject`` by the first that needs it)."""

HUBJECT: Final = "hubject"
"""Outbox target of every Hubject push."""
GROUP_EVSE: Final = "cpo_publish:evse"
GROUP_PRICING: Final = "cpo_publish:pricing"
GROUP_FLUSH: Final = "cpo_publish:flush"
KIND_FLUSH: Final = "cpo_publish.flush"
KIND_EVSE_DATA: Final = "cpo_publish.push_evse_data"
KIND_EVSE_STATUS: Final = "cpo_publish.push_evse_status"
KIND_PRICING_PRODUCTS: Final = "cpo_publish.push_pricing_product_data"
KIND_EVSE_PRICING: Final = "cpo_publish.push_evse_pricing"
DIRTY_LOCATIONS: Final = "cpo_publish.dirty.locations"
DIRTY_TARIFFS: Final = "cpo_publish.dirty.tariffs"
DIRTY_LOCK: Final = "cpo_publish.dirty.lock"
FLUSH_LOCK: Final = "cpo_publish.flush.lock"
SCHEDULE_LOCK: Final = "cpo_publish.schedule.lock"
SCHEDULE_STATE: Final = "cpo_publish.schedule"


@dataclass(frozen=True, slots=True)
class PublishSettings:
    """Tuning of the flow (seconds unless said otherwise). Defaults: oicp-2.3.md §1.6 cadences."""

    window: float = 1.0
    """Changes arriving within this window go out as one request per action type."""
    batch_size: int = 1000
    """Records per PushEvseData/PushEvseStatus/PushEVSEPricing request (full loads are one request)."""
    evse_full_load_every: timedelta = timedelta(days=7)
    status_full_load_every: timedelta = timedelta(days=1)
    resync_every: timedelta = timedelta(days=1)
    """How often the CPO partners' Sender lists are pulled (and once right after registration)."""
    tick: float = 30.0
    """How often the schedule, new registrations and unflushed changes are looked at."""
    hubject_retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(base=2.0, cap=300.0))
    peer_retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(base=2.0, cap=600.0))
    flush_retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(base=1.0, cap=60.0))

    def __post_init__(self) -> None:
        if self.window <= 0 or self.tick <= 0 or self.batch_size < 1:
            raise ValueError("PublishSettings: window and tick > 0, batch_size >= 1")


class EmptyFullLoad(BridgeError):
    """A fullLoad with no EVSE would withdraw the whole network from Hubject (oicp-2.3.md §2.1)."""


@dataclass(slots=True)
class PublishResult:
    """What a flush or full load queued: outbox message ids and counts per ``<op>.<action>``."""

    message_ids: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    evses: int = 0

    def add(self, message_id: int | None, name: str, count: int) -> None:
        if message_id is not None:
            self.message_ids.append(message_id)
        self.counts[name] = self.counts.get(name, 0) + count


_OPERATIONS: Final[dict[str, tuple[str, type[Any], str]]] = {
    KIND_EVSE_DATA: ("push_evse_data", PushEvseData, "OperatorEvseData"),
    KIND_EVSE_STATUS: ("push_evse_status", PushEvseStatus, "OperatorEvseStatus"),
    KIND_PRICING_PRODUCTS: ("push_pricing_product_data", PushPricingProductData, "PricingProductData"),
    KIND_EVSE_PRICING: ("push_evse_pricing", PushEVSEPricing, "EVSEPricing"),
}


def _marker(kind: str, country_code: str, party_id: str, object_id: str) -> str:
    """The lock key of a dirty marker (its stripe is locked by writers and by flushes)."""
    return f"{kind}/{country_code}/{party_id}/{object_id}"


def _ack_outcome(operation: str, ack: Acknowledgement) -> Outcome:
    """oicp-2.3.md §8 point 3: business errors are HTTP 200 with ``Result: false``."""
    if ack.result:
        return Outcome.delivered()
    status = ack.status_code
    reason = f"{operation}: Result false, StatusCode {status.code}"
    reason += "".join(f" {text}" for text in (status.description, status.additional_info) if text)
    return Outcome.dead(reason) if status.code in DEAD_CODES else Outcome.retry(reason)


class CpoPublisher:
    """The flow (see the module docstring); one per gateway, in ``gateway.services["cpo_publish"]``.

    ``clock`` gives aware UTC datetimes (tests replace it).
    """

    def __init__(
        self,
        gateway: Gateway,
        settings: PublishSettings | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.gateway = gateway
        self.settings = settings or PublishSettings()
        self.clock = clock
        self._scope: PublishScope | None = None
        self._oicp: OicpClient | None = None
        self._own_oicp = False
        self._timers: dict[int, asyncio.TimerHandle] = {}

    @property
    def store(self) -> Any:
        return self.gateway.store

    @property
    def publishes_to_hubject(self) -> bool:
        return self.gateway.config.acts_as_cpo

    @property
    def scope(self) -> PublishScope:
        """The Hubject operator and the mapping rules (ConfigError when the gateway is no OICP CPO)."""
        if self._scope is None:
            hubject = self.gateway.config.hubject
            if not self.publishes_to_hubject or hubject.operator_id is None:
                raise ConfigError(
                    "configuration", "hubject.operator_id", "required to publish EVSEs to Hubject"
                )
            self._scope = PublishScope(
                hubject.operator_id, hubject.operator_name or hubject.operator_id, self._rules()
            )
        return self._scope

    def _rules(self) -> RuleSet:
        rules = self.gateway.services.get("mapping_rules")
        if isinstance(rules, RuleSet):
            return rules
        return object_service(self.gateway).rules

    def oicp(self) -> OicpClient:
        """The gateway's OICP client (``services["oicp.client"]``, made from the configuration if absent)."""
        if self._oicp is None:
            shared = self.gateway.services.get(OICP_CLIENT_SERVICE)
            if isinstance(shared, OicpClient):
                self._oicp = shared
            else:
                self._oicp = OicpClient.from_config(self.gateway.config.hubject)
                self._own_oicp = True
                self.gateway.services[OICP_CLIENT_SERVICE] = self._oicp
        return self._oicp

    # ---- 1. in: the object-service listener -----------------------------------------------------

    async def on_change(self, data: DataApi, change: ObjectChange) -> None:
        """Inside the write transaction: mark dirty, queue the flush and the peers' messages."""
        if change.kind.name not in (LOCATIONS.name, TARIFFS.name) or change.partner is None:
            return
        partner = await data.get_partner(change.partner)
        if partner is None or partner.role != "CPO":
            return
        if self.publishes_to_hubject:
            cc, pid = change.owner
            kind = DIRTY_LOCATIONS if change.kind.name == LOCATIONS.name else DIRTY_TARIFFS
            await lock_stripes(data, DIRTY_LOCK, [_marker(kind, cc, pid, change.object_id)])
            await data.put_object(kind, cc, pid, change.object_id, {"partner": change.partner}, self.clock())
            await self._queue_flush(data, self.clock())
        await enqueue_for_peers(data, change)

    async def _queue_flush(self, data: DataApi, now: datetime | None) -> None:
        """A flush message due at the end of ``now``'s window (one per window: idempotent key);
        ``now=None``: due at once (the scheduler's sweep of changes left unflushed)."""
        if now is None:
            await data.enqueue(HUBJECT, KIND_FLUSH, {}, order_key=GROUP_FLUSH)
            return
        window = self.settings.window
        bucket = int(now.timestamp() // window)
        due = datetime.fromtimestamp((bucket + 1) * window, now.tzinfo)
        await data.enqueue(
            HUBJECT, KIND_FLUSH, {}, key=f"{window:g}:{bucket}", order_key=GROUP_FLUSH, available_at=due
        )
        self._wake_at(bucket, due)

    def _wake_at(self, bucket: int, due: datetime) -> None:
        """Wake the delivery when the flush is due (it would otherwise wait for its next poll)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if bucket in self._timers:
            return
        delay = max(0.0, (due - self.clock()).total_seconds()) + 0.01
        self._timers[bucket] = loop.call_later(delay, self._notify, bucket)

    def _notify(self, bucket: int | None = None) -> None:
        if bucket is not None:
            self._timers.pop(bucket, None)
        delivery = self.gateway.services.get("delivery")
        if isinstance(delivery, Delivery):
            delivery.notify()

    # ---- 2. flush and full loads --------------------------------------------------------------

    async def _cpo_partners(self, data: DataApi) -> set[str]:
        return {p.name for p in await data.list_partners() if p.role == "CPO"}

    @staticmethod
    async def _take_markers(tx: DataApi) -> tuple[list[StoredObject], list[StoredObject]]:
        """The dirty markers (Locations, Tariffs), their stripes locked first: a writer marking one
        of them again waits for this transaction, so deleting them loses no change."""
        markers = [m async for m in scan(tx, DIRTY_LOCATIONS)] + [m async for m in scan(tx, DIRTY_TARIFFS)]
        keys = [_marker(m.kind, m.country_code, m.party_id, m.object_id) for m in markers]
        await lock_stripes(tx, DIRTY_LOCK, keys)
        return [m async for m in scan(tx, DIRTY_LOCATIONS)], [m async for m in scan(tx, DIRTY_TARIFFS)]

    async def flush(self) -> PublishResult:
        """Turn the dirty Locations and Tariffs into queued pushes (one transaction)."""
        result = PublishResult()
        async with self.store.transaction() as tx:
            await tx.next_sequence(FLUSH_LOCK)
            locations, tariffs = await self._take_markers(tx)
            if not locations and not tariffs:
                return result
            keys = [(m.country_code, m.party_id, m.object_id) for m in locations]
            await self._plan(tx, keys, pricing_dirty=bool(tariffs), result=result)
            for marker in (*locations, *tariffs):
                await tx.delete_object(marker.kind, marker.country_code, marker.party_id, marker.object_id)
        self._after(result, "flush")
        return result

    async def _plan(
        self, tx: DataApi, keys: list[LocationKey], *, pricing_dirty: bool, result: PublishResult
    ) -> None:
        scope = self.scope
        now = self.clock()
        partners = await self._cpo_partners(tx)
        operator_rules = scope.rules.resolve(operator_id=scope.operator_id)
        planned: list[tuple[LocationKey, dict[str, DesiredEvse], Any]] = []
        for key in keys:
            stored = await tx.get_object(LOCATIONS_KIND, *key)
            if stored is None or stored.partner not in partners:
                planned.append((key, {}, operator_rules))
                continue
            desired = desired_for_location(stored, scope, now)
            if desired is not None:
                planned.append(
                    (
                        (stored.country_code, stored.party_id, stored.object_id),
                        desired,
                        scope.rules_for(stored),
                    )
                )
        products = await load_products(tx, scope)
        dynamic = any(d.dynamic_pricing for _, desired, _ in planned for d in desired.values())
        reprice = False
        if pricing_dirty or (dynamic and not products.published):
            enabled = dynamic or any(h.dynamic_pricing for h in await all_held(tx, scope))
            body, products = await plan_products(tx, scope, partners, enabled=enabled)
            if body is not None:
                result.add(
                    await self._enqueue(tx, KIND_PRICING_PRODUCTS, body),
                    "pricing_products." + str(body["ActionType"]),
                    len(body["PricingProductData"]["PricingProductDataRecords"]),
                )
            reprice = True
        changes = HeldChanges(tx, scope)
        batches = Batches()
        for key, desired, rules in planned:
            await plan_location(changes, key, desired, products, rules, batches)
        if reprice:
            for held in await all_held(tx, scope):
                if held.canon not in changes.evses:
                    self._reprice(changes, held, products, operator_rules, batches)
        await changes.write()
        await self._enqueue_batches(tx, batches, result)

    @staticmethod
    def _reprice(
        changes: HeldChanges, held: HeldEvse, products: Products, rules: MappingRules, batches: Batches
    ) -> None:
        """A held EVSE whose products changed (the Tariffs did): only its EVSE pricing moves."""
        pricing = products.pricing_for(held.evse_id, held.dynamic_pricing, held.tariffs, rules)
        if pricing != held.pricing:
            diff_pricing(held.evse_id, held.pricing, pricing, rules.tariffs.provider_id, batches)
            changes.put(held.canon, replace(held, pricing=pricing))

    async def _enqueue(self, tx: DataApi, kind: str, payload: dict[str, Any]) -> int | None:
        group = GROUP_PRICING if kind in (KIND_PRICING_PRODUCTS, KIND_EVSE_PRICING) else GROUP_EVSE
        return await tx.enqueue(HUBJECT, kind, payload, order_key=group)

    def _evse_data(self, action: str, records: list[dict[str, Any]]) -> dict[str, Any]:
        scope = self.scope
        return {
            "ActionType": action,
            "OperatorEvseData": {
                "OperatorID": scope.operator_id,
                "OperatorName": scope.operator_name,
                "EvseDataRecord": records,
            },
        }

    def _evse_status(self, action: str, records: list[dict[str, str]]) -> dict[str, Any]:
        scope = self.scope
        return {
            "ActionType": action,
            "OperatorEvseStatus": {
                "OperatorID": scope.operator_id,
                "OperatorName": scope.operator_name,
                "EvseStatusRecord": records,
            },
        }

    async def _enqueue_batches(self, tx: DataApi, batches: Batches, result: PublishResult) -> None:
        size = self.settings.batch_size

        async def chunks(
            kind: str, action: str, items: list[Any], build: Callable[[str, list[Any]], Any]
        ) -> None:
            for start in range(0, len(items), size):
                part = items[start : start + size]
                result.add(
                    await self._enqueue(tx, kind, build(action, part)),
                    f"{_OPERATIONS[kind][0]}.{action}",
                    len(part),
                )

        await chunks(KIND_EVSE_DATA, "delete", batches.data["delete"], self._evse_data)
        await chunks(KIND_EVSE_STATUS, "delete", batches.status["delete"], self._evse_status)
        await chunks(KIND_EVSE_DATA, "insert", batches.data["insert"], self._evse_data)
        await chunks(KIND_EVSE_DATA, "update", batches.data["update"], self._evse_data)
        await chunks(KIND_EVSE_STATUS, "insert", batches.status["insert"], self._evse_status)
        await chunks(KIND_EVSE_STATUS, "update", batches.status["update"], self._evse_status)
        for action in ("delete", "insert", "update"):
            await chunks(
                KIND_EVSE_PRICING,
                action,
                batches.pricing[action],
                lambda act, part: {"ActionType": act, "EVSEPricing": part},
            )

    def _after(self, result: PublishResult, what: str) -> None:
        if result.message_ids:
            log.info(
                "%s queued %d Hubject push(es): %s",
                what,
                len(result.message_ids),
                ", ".join(f"{name} {count}" for name, count in sorted(result.counts.items())),
            )
            self._notify()

    async def mark_all_dirty(self) -> int:
        """Mark every CPO partner's Location (and every Location Hubject holds EVSEs of) dirty, and
        the Tariffs: the next flush reconciles the whole network with inserts/updates/deletes."""
        count = 0
        async with self.store.transaction() as tx:
            partners = await self._cpo_partners(tx)
            keys: dict[str, LocationKey] = {}
            async for stored in scan(tx, LOCATIONS_KIND):
                if stored.partner in partners:
                    key = (stored.country_code, stored.party_id, stored.object_id)
                    keys[location_key_text(key)] = key
            for held in await all_held(tx, self.scope):
                keys.setdefault(location_key_text(held.location), held.location)
            now = self.clock()
            stripes = [_marker(DIRTY_LOCATIONS, *key) for key in keys.values()]
            await lock_stripes(tx, DIRTY_LOCK, [*stripes, _marker(DIRTY_TARIFFS, "*", "*", "*")])
            for cc, pid, location_id in keys.values():
                await tx.put_object(DIRTY_LOCATIONS, cc, pid, location_id, {"partner": None}, now)
                count += 1
            await tx.put_object(DIRTY_TARIFFS, "*", "*", "*", {"partner": None}, now)
        return count

    async def reconcile(self) -> PublishResult:
        """``push-evse`` without ``--full``: bring Hubject in line with the whole network by diff."""
        await self.mark_all_dirty()
        result = await self.flush()
        async with self.store.transaction() as tx:
            result.evses = len(await all_held(tx, self.scope))
        return result

    async def full_load(self, *, allow_empty: bool = False, statuses: bool = True) -> PublishResult:
        """Queue a PushEvseData ``fullLoad`` of the whole network (and a status ``fullLoad``).

        Raises :class:`EmptyFullLoad` when there is no EVSE to publish and ``allow_empty`` is false
        (an empty fullLoad deletes everything the operator has on Hubject, oicp-2.3.md §2.1).
        A Location that cannot be mapped keeps what Hubject holds of it.
        """
        scope = self.scope
        result = PublishResult()
        async with self.store.transaction() as tx:
            await tx.next_sequence(FLUSH_LOCK)
            markers = await self._take_markers(tx)
            now = self.clock()
            partners = await self._cpo_partners(tx)
            desired: dict[str, tuple[DesiredEvse, Any]] = {}
            failed: set[str] = set()
            async for stored in scan(tx, LOCATIONS_KIND):
                if stored.partner not in partners:
                    continue
                found = desired_for_location(stored, scope, now)
                if found is None:
                    failed.add(location_key_text((stored.country_code, stored.party_id, stored.object_id)))
                    continue
                rules = scope.rules_for(stored)
                for canon, want in found.items():
                    if canon in desired:
                        log.warning(
                            "EvseID %s is in Locations %s and %s: the latter is published",
                            want.evse_id,
                            location_key_text(desired[canon][0].location),
                            location_key_text(want.location),
                        )
                    desired[canon] = (want, rules)
            held = {h.canon: h for h in await all_held(tx, scope)}
            kept = [
                h for h in held.values() if location_key_text(h.location) in failed and h.canon not in desired
            ]
            if not desired and not kept and not allow_empty:
                raise EmptyFullLoad(
                    "refused: a fullLoad without any EVSE would withdraw the whole network from Hubject "
                    f"(operator {scope.operator_id}); pass --allow-empty to really do that"
                )
            dynamic = any(want.dynamic_pricing for want, _ in desired.values())
            body, products = await plan_products(tx, scope, partners, enabled=dynamic, force=True)
            if body is not None:
                records = body["PricingProductData"]["PricingProductDataRecords"]
                result.add(
                    await self._enqueue(tx, KIND_PRICING_PRODUCTS, body),
                    f"pricing_products.{body['ActionType']}",
                    len(records),
                )
            records = [want.record for want, _ in desired.values()] + [h.record for h in kept]
            result.add(
                await self._enqueue(tx, KIND_EVSE_DATA, self._evse_data("fullLoad", records)),
                "push_evse_data.fullLoad",
                len(records),
            )
            if statuses:
                status_records = [{"EvseID": w.evse_id, "EvseStatus": w.status} for w, _ in desired.values()]
                status_records += [{"EvseID": h.evse_id, "EvseStatus": h.status} for h in kept if h.status]
                result.add(
                    await self._enqueue(tx, KIND_EVSE_STATUS, self._evse_status("fullLoad", status_records)),
                    "push_evse_status.fullLoad",
                    len(status_records),
                )
            changes = HeldChanges(tx, scope)
            for old in held.values():
                changes.indexes[location_key_text(old.location)] = set()
            batches = Batches()
            for canon, (want, rules) in desired.items():
                before = held.get(canon)
                pricing = products.pricing_for(want.evse_id, want.dynamic_pricing, want.tariffs, rules)
                diff_pricing(
                    want.evse_id,
                    before.pricing if before else None,
                    pricing,
                    rules.tariffs.provider_id,
                    batches,
                )
                status = want.status if statuses else (before.status if before else None)
                changes.put(canon, HeldEvse.of_desired(want, status, pricing))
                changes.indexes.setdefault(location_key_text(want.location), set()).add(canon)
            for entry in kept:
                changes.put(entry.canon, entry)
                changes.indexes.setdefault(location_key_text(entry.location), set()).add(entry.canon)
            provider = scope.rules.resolve(operator_id=scope.operator_id).tariffs.provider_id
            kept_ids = {h.canon for h in kept}
            for canon, old in held.items():
                if canon not in desired and canon not in kept_ids:
                    diff_pricing(old.evse_id, old.pricing, None, provider, batches)
                    changes.put(canon, None)
            await changes.write()
            await self._enqueue_batches(tx, batches, result)
            for marker in (*markers[0], *markers[1]):
                await tx.delete_object(marker.kind, marker.country_code, marker.party_id, marker.object_id)
            result.evses = len(records)
        self._after(result, "EVSE data fullLoad")
        return result

    async def status_full_load(self) -> PublishResult:
        """Queue a PushEvseStatus ``fullLoad`` of every EVSE Hubject holds (after a flush); nothing
        when Hubject holds no EVSE."""
        await self.flush()
        result = PublishResult()
        async with self.store.transaction() as tx:
            await tx.next_sequence(FLUSH_LOCK)
            held = await all_held(tx, self.scope)
            records = [{"EvseID": h.evse_id, "EvseStatus": h.status} for h in held if h.status]
            if records:
                result.add(
                    await self._enqueue(tx, KIND_EVSE_STATUS, self._evse_status("fullLoad", records)),
                    "push_evse_status.fullLoad",
                    len(records),
                )
            result.evses = len(records)
        self._after(result, "EVSE status fullLoad")
        return result

    # ---- 3. out: the Delivery senders -----------------------------------------------------------

    def register_senders(self, delivery: Delivery) -> None:
        settings = self.settings
        if self.publishes_to_hubject:
            delivery.register(KIND_FLUSH, self.send_flush, retry=settings.flush_retry)
            for kind in _OPERATIONS:
                delivery.register(kind, self.send_push, retry=settings.hubject_retry)
        peers = PeerSender(self.gateway)
        for kind in PEER_KINDS:
            delivery.register(kind, peers, retry=settings.peer_retry)

    async def send_flush(self, message: OutboxMessage) -> Outcome:
        await self.flush()
        return Outcome.delivered()

    async def send_push(self, message: OutboxMessage) -> Outcome:
        """Send one queued push to Hubject and say what happened."""
        operation, model, _ = _OPERATIONS[message.kind]
        try:
            body = model.model_validate(message.payload)
            ack = await getattr(self.oicp(), operation)(body)
        except (OicpEgressError, ValidationError) as error:
            return Outcome.dead(f"{operation}: the request cannot be sent: {error}")
        except ConfigError as error:
            return Outcome.hold(f"{operation}: {error}")
        except OicpCallError as error:
            return outcome_from_error(error)
        return _ack_outcome(operation, ack)

    # ---- background: schedule, registrations, unflushed changes ---------------------------------

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The scheduler task; on exit it stops and the OICP client made here is closed."""
        task = asyncio.create_task(self._loop(), name="cpo-publish scheduler")
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            for timer in self._timers.values():
                timer.cancel()
            self._timers.clear()
            if self._own_oicp and self._oicp is not None:
                await self._oicp.aclose()
                self.gateway.services.pop(OICP_CLIENT_SERVICE, None)

    async def _loop(self) -> None:
        while True:
            try:
                await self.tick()
            except BridgeError as error:
                log.warning("cpo publish: scheduled work failed, trying again later: %s", error)
            except Exception:
                log.exception("cpo publish: unexpected error in the scheduler")
            await asyncio.sleep(self.settings.tick)

    async def tick(self) -> list[str]:
        """One look at the schedule: returns what it started (``evse_full_load``,
        ``status_full_load``, ``resync:<partner>``, ``flush``)."""
        now = self.clock()
        due: list[str] = []
        async with self.store.transaction() as tx:
            await tx.next_sequence(SCHEDULE_LOCK)
            state = dict(await tx.get_state(SCHEDULE_STATE) or {})
            if self.publishes_to_hubject:
                for name, every in (
                    ("evse_full_load", self.settings.evse_full_load_every),
                    ("status_full_load", self.settings.status_full_load_every),
                ):
                    last = state.get(name)
                    if last is None:
                        state[name] = now.isoformat()
                    elif now - datetime.fromisoformat(last) >= every:
                        state[name] = now.isoformat()
                        due.append(name)
                stranded, _ = await tx.list_objects(DIRTY_LOCATIONS, limit=1)
                tariffs, _ = await tx.list_objects(DIRTY_TARIFFS, limit=1)
                if stranded or tariffs:
                    await self._queue_flush(tx, None)
                    due.append("flush")
            for partner in await tx.list_partners():
                if partner.role != "CPO" or partner.status != "registered":
                    continue
                last = state.get(f"resync:{partner.name}")
                if (
                    last is None
                    or datetime.fromisoformat(last) < partner.updated_at
                    or now - datetime.fromisoformat(last) >= self.settings.resync_every
                ):
                    state[f"resync:{partner.name}"] = now.isoformat()
                    due.append(f"resync:{partner.name}")
            await tx.set_state(SCHEDULE_STATE, state)
        statuses_sent = False
        for name in due:
            if name == "evse_full_load":
                try:
                    await self.full_load()
                    statuses_sent = True
                except EmptyFullLoad as error:
                    log.warning("scheduled EVSE data fullLoad skipped: %s", error)
            elif name == "status_full_load" and not statuses_sent:
                await self.status_full_load()
            elif name.startswith("resync:"):
                await self.resync(name.removeprefix("resync:"))
        if "flush" in due:
            self._notify()
        return due

    async def resync(self, name: str) -> dict[str, int]:
        """Pull a CPO partner's Locations and Tariffs from its Sender lists (OCPI 2.2.1 / 2.1.1,
        paginated, ocpi.md §3.3) into the store; the listener publishes what changed. Tariffs the
        partner no longer lists are deleted; Locations are never deleted (ocpi.md §3.6)."""
        counts = {"locations": 0, "tariffs": 0, "deleted_tariffs": 0, "skipped": 0}
        partner = await self.store.get_partner(name)
        if partner is None or partner.status != "registered" or partner.token_out is None:
            return counts
        client = clients_of(self.gateway).for_partner(partner)
        role = None if partner.version == "2.1.1" else "SENDER"
        seen_tariffs: set[tuple[str, str, str]] = set()
        for module, kind in (("locations", LOCATIONS), ("tariffs", TARIFFS)):
            if not any(
                e.get("identifier") == module and e.get("role") in ("SENDER", None) for e in partner.endpoints
            ):
                continue
            try:
                async for item in client.objects(module, role=role):
                    stored = await self._store_pulled(partner, kind, item)
                    if stored is None:
                        counts["skipped"] += 1
                        continue
                    counts[module] += 1
                    if kind is TARIFFS:
                        seen_tariffs.add(stored)
            except PartnerError as error:
                log.warning("resync of %s from %s stopped: %s", module, name, error)
                return counts
            if kind is TARIFFS:
                counts["deleted_tariffs"] = await self._drop_unlisted_tariffs(partner, seen_tariffs)
        log.info("resync from %s: %s", name, ", ".join(f"{k} {v}" for k, v in counts.items()))
        return counts

    async def _store_pulled(
        self, partner: PartnerRecord, kind: Any, item: Any
    ) -> tuple[str, str, str] | None:
        service = object_service(self.gateway)
        owners = [
            (str(r["country_code"]), str(r["party_id"]))
            for r in partner.roles
            if r.get("country_code") and r.get("party_id") and r.get("role") in ("CPO", None)
        ]
        try:
            if partner.version == "2.1.1":
                received = (v211.Location if kind is LOCATIONS else v211.Tariff).model_validate(item)
                if not owners:
                    raise MappingError("roles", "the partner has no CPO role to own its objects")
                model: Any = await service.up(kind, received, owner=owners[0], partner=partner.name)
            else:
                model = (v221.Location if kind is LOCATIONS else v221.Tariff).model_validate(item)
            owner = (str(model.country_code), str(model.party_id))
            if (owner[0].upper(), owner[1].upper()) not in {(cc.upper(), pid.upper()) for cc, pid in owners}:
                raise MappingError(
                    "country_code", f"{owner[0]}/{owner[1]} is not one of the partner's parties"
                )
            await service.put(kind, owner, str(model.id), model, partner=partner.name)
        except (ValidationError, MappingError, OcpiError) as error:
            log.warning("resync from %s: a %s was not stored: %s", partner.name, kind.label, error)
            return None
        return (owner[0].upper(), owner[1].upper(), str(model.id).upper())

    async def _drop_unlisted_tariffs(self, partner: PartnerRecord, seen: set[tuple[str, str, str]]) -> int:
        service = object_service(self.gateway)
        gone = [
            stored
            async for stored in _scan_store(self.store, TARIFFS.name)
            if stored.partner == partner.name
            and (stored.country_code.upper(), stored.party_id.upper(), stored.object_id.upper()) not in seen
        ]
        for stored in gone:
            await service.delete(
                TARIFFS, (stored.country_code, stored.party_id), stored.object_id, partner=partner.name
            )
        return len(gone)


async def _scan_store(store: Any, kind: str) -> AsyncIterator[Any]:
    async with store.transaction() as tx:
        items = [item async for item in scan(tx, kind)]
    for item in items:
        yield item


def settings_from_config(config: BridgeConfig) -> PublishSettings:
    """The ``cpo`` section of the configuration (docs/configuration.md) as :class:`PublishSettings`."""
    cpo = config.cpo
    return PublishSettings(
        window=cpo.publish_window,
        batch_size=cpo.push_batch_size,
        evse_full_load_every=timedelta(seconds=cpo.evse_full_load_interval),
        status_full_load_every=timedelta(seconds=cpo.status_full_load_interval),
        resync_every=timedelta(seconds=cpo.resync_interval),
    )


def publisher_of(gateway: Gateway) -> CpoPublisher:
    """The gateway's :class:`CpoPublisher` (LookupError when the flow is not installed)."""
    publisher = gateway.services.get(SERVICE)
    if not isinstance(publisher, CpoPublisher):
        raise LookupError("the cpo_publish flow is not installed")
    return publisher


async def install(gateway: Gateway) -> AbstractAsyncContextManager[None] | None:
    """Install the flow when the gateway can receive CPO partners' Locations (it has an eMSP
    party): the listener, the senders (Hubject pushes only when ``config.acts_as_cpo``) and the
    scheduler. Needs the Delivery (``bridge.delivery.delivery_start_hook``) installed first."""
    if not gateway.config.ocpi.parties_with_role("EMSP"):
        return None
    settings = gateway.services.get(SETTINGS_SERVICE)
    if not isinstance(settings, PublishSettings):
        settings = settings_from_config(gateway.config)
    publisher = CpoPublisher(gateway, settings)
    gateway.services[SERVICE] = publisher
    publisher.register_senders(delivery_of(gateway))
    object_service(gateway).subscribe(publisher.on_change)
    return publisher.running()


__all__ = [
    "GROUP_EVSE",
    "GROUP_PRICING",
    "HUBJECT",
    "KIND_EVSE_DATA",
    "KIND_EVSE_PRICING",
    "KIND_EVSE_STATUS",
    "KIND_FLUSH",
    "KIND_PRICING_PRODUCTS",
    "OICP_CLIENT_SERVICE",
    "SERVICE",
    "SETTINGS_SERVICE",
    "CpoPublisher",
    "EmptyFullLoad",
    "PublishResult",
    "PublishSettings",
    "install",
    "publisher_of",
    "settings_from_config",
]
