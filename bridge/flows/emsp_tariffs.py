"""Hubject's dynamic pricing as OCPI Tariffs of the eMSP side (oicp-2.3.md §2.3, §4.9; mapping.md §3.11).

* **PullPricingProductData** (``OperatorIDs`` M: every operator in the EVSE cache) → one OCPI
  Tariff per pricing product (:func:`mappings.tariffs.pricing_product_data_to_tariffs`), owner
  and id from the :class:`~bridge.flows.emsp_common.Presentation`, stored through the object
  service (kind TARIFFS, partner :data:`~bridge.evse_cache.HUBJECT_PARTNER`): the existing Sender
  serves them (2.1.1 converted down) and the push listener PUTs them to the eMSP's Receiver.
  Products addressed to every EMP (``ProviderID`` ``*``) and to this gateway's ProviderID are
  used; for the same ProductID the one addressed to us wins. A product that disappears deletes its
  Tariff (pushed as DELETE).
* **PullEVSEPricing** → EvseID → ProductIDs (the one addressed to us wins over ``*``), kept in the
  cache and as rows of kind :data:`~bridge.evse_cache.PRICING_KIND`; every connector of the EVSE
  gets the Tariffs of those products that exist (``tariff_ids``). The Locations of EVSEs whose
  pricing or linked Tariffs changed are rebuilt (and pushed).
* A Tariff is written only when its content changed (``last_updated`` = when the gateway stored
  it, as for Locations). Both pulls are full pulls: the answers are small next to EVSE data and
  a full answer is what tells a removed product from an unchanged one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bridge.errors import MappingError
from bridge.evse_cache import HUBJECT_PARTNER, PRICING_KIND, RAW_OWNER
from bridge.flows.emsp_build import without_timestamps
from bridge.flows.emsp_common import TARGETS, chunked
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.models.common import to_jsonable
from bridge.ocpi.server.tariffs import TARIFFS
from bridge.oicp.models import PullEVSEPricing, PullPricingProductData
from mappings import ids
from mappings.tariffs import pricing_product_data_to_tariffs

if TYPE_CHECKING:
    from bridge.flows.emsp_sync import EvseSync
    from bridge.oicp.models import PricingProductData

log = logging.getLogger("bridge.flows.emsp")

TariffKey = tuple[str, str, str]
"""(country_code, party_id, tariff id), upper case."""


@dataclass(slots=True)
class TariffReport:
    """What one pricing pull did."""

    products: int = 0
    tariffs_written: int = 0
    tariffs_deleted: int = 0
    evses_priced: int = 0
    evses_changed: int = 0
    locations_written: int = 0


def _key(country_code: str, party_id: str, tariff_id: str) -> TariffKey:
    return country_code.upper(), party_id.upper(), tariff_id.upper()


class TariffSync:
    """Pricing pulls into Tariffs and connector links (module docstring)."""

    def __init__(self, sync: EvseSync) -> None:
        self.sync = sync
        self.known: set[TariffKey] = set()
        sync.tariff_links = self.links

    def _ours(self, provider_id: str) -> bool:
        return ids.canonical_id(provider_id) == ids.canonical_id(self.sync.provider_id)

    async def load(self) -> int:
        """Read which Hubject-derived Tariffs are stored (the links point only at those)."""
        self.known.clear()
        offset = 0
        while True:
            rows, _ = await self.sync.store.list_objects(
                TARIFFS.name, partner=HUBJECT_PARTNER, offset=offset, limit=1000
            )
            self.known.update(_key(r.country_code, r.party_id, r.object_id) for r in rows)
            offset += len(rows)
            if len(rows) < 1000:
                return len(self.known)

    def links(self, evse_id: str, operator_id: str) -> list[str]:
        """The Tariff ids for the connectors of an EVSE: its products' Tariffs that exist."""
        products = self.sync.cache.pricing(evse_id)
        owner = self.sync.presentation.owner(operator_id) if products else None
        if owner is None:
            return []
        found: list[str] = []
        for product in products:
            tariff_id = self.sync.presentation.tariff_id(operator_id, product)
            if _key(*owner, tariff_id) in self.known and tariff_id not in found:
                found.append(tariff_id)
        return found

    async def pull(self) -> TariffReport:
        """PullPricingProductData then PullEVSEPricing for every cached operator."""
        report = TariffReport()
        operators = sorted(op for op in self.sync.cache.operators() if self.sync.settings.keeps_operator(op))
        if not operators:
            return report
        answer = await self.sync.client.pull_pricing_product_data(
            PullPricingProductData(operator_ids=operators), retry=True
        )
        blocks = sorted(answer.pricing_product_data, key=lambda block: self._ours(block.provider_id))
        wanted = self._tariffs(blocks, report)
        changed_keys = await self._write_tariffs(wanted, report)
        pricing = await self.sync.client.pull_evse_pricing(
            PullEVSEPricing(provider_id=self.sync.provider_id, operator_ids=operators), retry=True
        )
        products: dict[str, tuple[str, ...]] = {}
        specific: set[str] = set()
        for block in pricing.evse_pricing:
            for item in block.evse_pricing:
                ours = self._ours(item.provider_id)
                if item.provider_id != "*" and not ours:
                    continue
                if ours or item.evse_id not in specific:
                    products[item.evse_id] = tuple(dict.fromkeys(item.evse_id_product_list))
                if ours:
                    specific.add(item.evse_id)
        report.evses_priced = len(products)
        await self._apply_pricing(products, changed_keys, report)
        log.info(
            "pricing: %d products, %d Tariffs written, %d deleted; %d EVSEs priced, %d changed,"
            " %d Locations written",
            report.products,
            report.tariffs_written,
            report.tariffs_deleted,
            report.evses_priced,
            report.evses_changed,
            report.locations_written,
        )
        return report

    def _tariffs(
        self, blocks: list[PricingProductData], report: TariffReport
    ) -> dict[TariffKey, v221.Tariff]:
        sync = self.sync
        wanted: dict[TariffKey, v221.Tariff] = {}
        now = sync.now()
        for data in blocks:
            operator = data.operator_id
            if not sync.settings.keeps_operator(operator):
                continue
            if data.provider_id != "*" and not self._ours(data.provider_id):
                continue
            owner = sync.presentation.owner(operator)
            if owner is None:
                continue
            try:
                translation = pricing_product_data_to_tariffs(
                    data, sync.rules.resolve(operator_id=operator), now=now, owner=owner
                )
            except MappingError as error:
                log.warning("pricing products of %s not translated: %s", operator, error)
                continue
            report.products += len(data.pricing_product_data_records)
            for tariff in translation.value:
                tariff_id = sync.presentation.object_id(operator, tariff.id)
                wanted[_key(*owner, tariff_id)] = tariff.model_copy(update={"id": tariff_id})
        return wanted

    async def _write_tariffs(
        self, wanted: dict[TariffKey, v221.Tariff], report: TariffReport
    ) -> set[TariffKey]:
        """Store new and changed Tariffs, delete vanished ones; return the keys whose existence changed."""
        sync = self.sync
        service = sync.service
        appeared = set(wanted) - self.known
        vanished = self.known - set(wanted)
        operations: list[tuple[TariffKey, v221.Tariff | None]] = [
            *wanted.items(),
            *((key, None) for key in sorted(vanished)),
        ]
        for chunk in chunked(operations, sync.settings.batch_size):
            async with sync.lock, sync.store.transaction() as tx:
                targets = await sync.targets(tx) if sync.targets is not None else None
                token = TARGETS.set(targets)
                try:
                    for key, tariff in chunk:
                        owner = (key[0], key[1])
                        if tariff is None:
                            stored = await tx.get_object(TARIFFS.name, *owner, key[2])
                            if stored is not None and stored.partner == HUBJECT_PARTNER:
                                await service.delete(
                                    TARIFFS, owner, stored.object_id, partner=HUBJECT_PARTNER, tx=tx
                                )
                                report.tariffs_deleted += 1
                            continue
                        await service.lock(tx, TARIFFS, owner, tariff.id)
                        stored = await tx.get_object(TARIFFS.name, *owner, tariff.id)
                        new: dict[str, Any] = to_jsonable(tariff)
                        if stored is not None and without_timestamps(stored.data) == without_timestamps(new):
                            continue
                        await service.put(TARIFFS, owner, tariff.id, tariff, partner=HUBJECT_PARTNER, tx=tx)
                        report.tariffs_written += 1
                finally:
                    TARGETS.reset(token)
            if sync.after_commit is not None:
                sync.after_commit()
        self.known = set(wanted)
        return appeared | vanished

    async def _apply_pricing(
        self, products: dict[str, tuple[str, ...]], changed_keys: set[TariffKey], report: TariffReport
    ) -> None:
        sync = self.sync
        cache = sync.cache
        changed = {
            evse_id
            for evse_id in set(products) | set(cache.priced())
            if cache.pricing(evse_id) != products.get(evse_id, ())
        }
        if changed_keys:
            for evse_id, items in products.items():
                ref = cache.ref(evse_id)
                if ref is None:
                    continue
                operator = ref[4]
                owner = sync.presentation.owner(operator)
                if owner is not None and any(
                    _key(*owner, sync.presentation.tariff_id(operator, p)) in changed_keys for p in items
                ):
                    changed.add(evse_id)
        report.evses_changed = len(changed)
        now = sync.now()
        for chunk in chunked(sorted(changed), sync.settings.batch_size * 10):
            async with sync.store.transaction() as tx:
                for evse_id in chunk:
                    items = products.get(evse_id, ())
                    if items:
                        data = {"products": list(items)}
                        await tx.put_object(
                            PRICING_KIND, *RAW_OWNER, evse_id, data, now, partner=HUBJECT_PARTNER
                        )
                    else:
                        await tx.delete_object(PRICING_KIND, *RAW_OWNER, evse_id)
            for evse_id in chunk:
                cache.set_pricing(evse_id, products.get(evse_id, ()))
        report.locations_written = await sync.refresh(changed)


__all__ = ["TariffReport", "TariffSync"]
