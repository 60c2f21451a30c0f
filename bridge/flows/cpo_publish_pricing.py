"""OCPI Tariffs of the CPO partners → Hubject dynamic pricing (oicp-2.3.md §2.1, §4.9; mapping.md
§3.11): the pricing half of :mod:`bridge.flows.cpo_publish`.

* **When.** Dynamic pricing is published for the EVSEs whose EvseDataRecord carries the
  ValueAddedService ``DynamicPricing`` (OICP 2.3 data types: "Does the EVSE ID support dynamic
  pricing?"). That value comes from the mapping rules (``locations.value_added_services``, per
  operator, partner or location in ``overrides``, per EVSE in ``locations.evse_overrides``, or
  from a capability through ``locations.value_added_services_from_capabilities``): this is the
  rule that enables tariffs. The pricing products are pushed once at least one published EVSE
  supports dynamic pricing.
* **PushPricingProductData** carries one PricingProductData per operator and provider (``*``):
  it is sent as a ``fullLoad`` of every product whenever the product set changes (idempotent;
  the AUP allows 6 calls per minute, so changes are coalesced by the flush window), and as a
  ``delete`` of the last products pushed when none is left.
* **A tariff that cannot be expressed** in OICP (mappings.tariffs refuses it with a MappingError,
  e.g. ENERGY and TIME together, date ranges) is logged with that error and skipped: never a
  wrong price. A ProductID already produced by another tariff is skipped the same way.
* **PushEVSEPricing** lists, per EVSE, the products of its connectors' tariffs (the diff is part of
  :func:`bridge.flows.cpo_publish_plan.apply_desired`).

Rules are resolved at the operator's scope: PricingProductData is one object per operator.
The state (``get_state``) keeps the products queued for Hubject and their hash.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import TYPE_CHECKING, Any, Final

from pydantic import ValidationError

from bridge.errors import MappingError
from bridge.flows.cpo_publish_plan import (
    TARIFFS_KIND,
    Products,
    PublishScope,
    record_hash,
    scan,
    tariff_key,
)
from bridge.ocpi.models import v2_2_1 as v221
from bridge.oicp.models import ActionType, OicpEgressError, PushPricingProductData, to_jsonable
from mappings.tariffs import tariff_to_products, tariffs_to_pricing_product_data

if TYPE_CHECKING:
    from bridge.store.base import DataApi

log = logging.getLogger("bridge.flows.cpo_publish")

STATE_PREFIX: Final = "cpo_publish.pricing."
"""State key prefix; the key is completed with the operator key."""


def state_key(scope: PublishScope) -> str:
    return STATE_PREFIX + scope.operator_key


async def load_products(data: DataApi, scope: PublishScope) -> Products:
    """The products queued for Hubject (empty when none)."""
    state = await data.get_state(state_key(scope)) or {}
    by_tariff = {str(key): [str(pid) for pid in pids] for key, pids in (state.get("products") or {}).items()}
    return Products(by_tariff=by_tariff, published=bool(state.get("data")))


async def plan_products(
    data: DataApi, scope: PublishScope, partners: Collection[str], *, enabled: bool, force: bool = False
) -> tuple[dict[str, Any] | None, Products]:
    """The PushPricingProductData body to queue (None: nothing to send) and the new products.

    ``partners`` are the CPO partners whose Tariffs are published; ``enabled`` says whether any
    published EVSE supports dynamic pricing; ``force`` sends the fullLoad even when unchanged
    (a full load of the network).
    """
    rules = scope.rules.resolve(operator_id=scope.operator_id)
    state = await data.get_state(state_key(scope)) or {}
    good: list[v221.Tariff] = []
    by_tariff: dict[str, list[str]] = {}
    owners: dict[str, str] = {}
    if enabled:
        async for stored in scan(data, TARIFFS_KIND):
            if stored.partner not in partners:
                continue
            key = tariff_key(stored.country_code, stored.party_id, stored.object_id)
            try:
                tariff = v221.Tariff.model_validate(stored.data)
                products = [record.product_id for record in tariff_to_products(tariff, rules).value]
            except (MappingError, ValidationError) as error:
                log.error("Tariff %s not published to Hubject (cannot be expressed): %s", key, error)
                continue
            clash = [pid for pid in products if pid in owners]
            if clash:
                log.error(
                    "Tariff %s not published to Hubject: ProductID %s is already tariff %s's",
                    key,
                    clash[0],
                    owners[clash[0]],
                )
                continue
            owners.update(dict.fromkeys(products, key))
            good.append(tariff)
            by_tariff[key] = products
    body: dict[str, Any] | None = None
    new_state: dict[str, Any] = {}
    if good:
        try:
            translated = tariffs_to_pricing_product_data(
                good, rules, operator_id=scope.operator_id, operator_name=scope.operator_name
            ).value
            wire = to_jsonable(
                PushPricingProductData(action_type=ActionType.FULL_LOAD, pricing_product_data=translated),
                strict=True,
            )
        except (MappingError, OicpEgressError) as error:
            log.error("the pricing products cannot be published to Hubject: %s", error)
            return None, await load_products(data, scope)
        digest = record_hash(wire["PricingProductData"])
        if force or digest != state.get("hash"):
            body = wire
        new_state = {"hash": digest, "data": wire["PricingProductData"], "products": by_tariff}
    elif state.get("data"):
        body = {"ActionType": ActionType.DELETE.value, "PricingProductData": state["data"]}
    await data.set_state(state_key(scope), new_state)
    return body, Products(by_tariff=by_tariff, published=bool(good))


__all__ = ["STATE_PREFIX", "load_products", "plan_products", "state_key"]
