"""Tariffs: OCPI Tariff ⇄ OICP PricingProductData / EVSEPricing (dynamic pricing v10).

Spec rules implemented here (docs/mapping.md §3.11, docs/oicp-2.3.md §4.9, docs/ocpi.md §4.4).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bridge.errors import MappingError
from bridge.ocpi.models.v2_2_1 import (
    DayOfWeek,
    Price,
    PriceComponent,
    Tariff,
    TariffDimensionType,
    TariffElement,
    TariffRestrictions,
)
from bridge.oicp.models.evse_data import DayValue, Period
from bridge.oicp.models.pricing import (
    AdditionalReference,
    AdditionalReferences,
    EVSEPricing,
    PricingProductData,
    PricingProductDataRecord,
    ProductAvailabilityTimes,
    ReferenceUnit,
)
from mappings.ids import ocpi_id, operator_party
from mappings.result import RuleDoc, Translation
from mappings.tokens import parse_model, rule_rows, unsupported

if TYPE_CHECKING:
    from mappings.rules import MappingRules


class TariffRules(BaseModel):
    """YAML section ``tariffs``: OCPI tariffs ⇄ OICP pricing products."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    product_ids: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "OCPI tariff id → OICP ProductID (≤50 characters); unlisted tariffs use their id. A tariff "
            'that needs several products (time-of-day elements) gets "-2", "-3", … on the later ones.'
        ),
    )
    time_reference_unit: Literal["HOUR", "MINUTE"] = Field(
        default="HOUR",
        description=(
            "OICP ReferenceUnit for an OCPI TIME price (OCPI prices time per hour; MINUTE divides by 60)."
        ),
    )
    flat_fee: Literal["START FEE", "FIXED FEE"] = Field(
        default="START FEE",
        description="OICP AdditionalReference for an OCPI FLAT price next to an ENERGY or TIME price.",
    )
    flat_only_fee: Literal["FIXED FEE", "START FEE"] = Field(
        default="FIXED FEE",
        description=(
            "OICP AdditionalReference for a tariff that only has a FLAT price (the base price is then 0)."
        ),
    )
    flat_only_reference_unit: Literal["KILOWATT_HOUR", "HOUR", "MINUTE"] = Field(
        default="KILOWATT_HOUR",
        description="OICP ReferenceUnit of the zero base price of a FLAT-only tariff.",
    )
    parking_reference_unit: Literal["HOUR", "MINUTE"] = Field(
        default="HOUR", description="OICP AdditionalReferenceUnit of a PARKING FEE."
    )
    date_ranges: Literal["refuse", "ignore"] = Field(
        default="refuse",
        description=(
            "OCPI start/end dates (tariff start_date_time/end_date_time, restriction start_date/"
            'end_date) have no OICP field: "refuse" raises a MappingError naming the field, '
            '"ignore" publishes the product without them (noted as lost).'
        ),
    )
    provider_id: str = Field(
        default="*",
        description='OICP ProviderID of pushed pricing products and EVSE pricing ("*" = every EMP).',
    )
    max_charging_power_kw: Decimal = Field(
        default=Decimal(350),
        gt=0,
        description=(
            "OICP MaximumProductChargingPower (kW) when the OCPI element has no max_power restriction."
        ),
    )
    oicp_vat_percent: Decimal | None = Field(
        default=None,
        ge=0,
        description=(
            "VAT % that applies on top of OICP prices (Hubject prices are pushed without VAT): set as "
            "OCPI PriceComponent.vat on tariffs built from pricing products and used for incl_vat when "
            "pricing a CDR from a product; unset means incl_vat is not computed."
        ),
    )
    default_price_tariff: str | None = Field(
        default=None,
        description=(
            "OCPI tariff id whose product gives PricingDefaultPrice/Currency/ReferenceUnit; unset means "
            "the first product."
        ),
    )
    default_price_tariff_id: str | None = Field(
        default=None,
        max_length=36,
        description=(
            "OICP → OCPI: id of an extra OCPI tariff built from PricingDefaultPrice; unset drops the "
            "default price (noted as lost)."
        ),
    )


# --------------------------------------------------------------------------------------------
# Week windows: a set of minutes of the week (Monday 00:00 = 0) kept as an int bit mask, so the
# "first matching element wins" order of OCPI can be turned into disjoint OICP availability times.

WEEK_MINUTES = 7 * 1440
FULL_WEEK = (1 << WEEK_MINUTES) - 1
DAY_NAMES = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
OICP_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAY_GROUPS: dict[str, tuple[int, ...]] = {
    "Everyday": (0, 1, 2, 3, 4, 5, 6),
    "Workdays": (0, 1, 2, 3, 4),
    "Weekend": (5, 6),
    **{name: (index,) for index, name in enumerate(OICP_DAYS)},
}


def _hhmm_minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _day_mask(day: int, begin: int, end: int) -> int:
    """Minutes [begin, end) of one day (0 = Monday) as a week mask; end may be 1440."""
    if end <= begin:
        return 0
    width = end - begin
    return ((1 << width) - 1) << (day * 1440 + begin)


def week_window(days: tuple[int, ...] | None, start: str | None, end: str | None) -> int:
    """The week minutes where a day/time restriction holds (OCPI: evaluated at each instant).

    ``end`` "00:00" is the end of the day; ``end`` < ``start`` wraps past midnight, the part after
    midnight belonging to the next calendar day, which must itself be one of ``days``.
    """
    chosen = days if days is not None else tuple(range(7))
    begin = _hhmm_minutes(start) if start else 0
    finish = _hhmm_minutes(end) if end else 1440
    if finish == 0:
        finish = 1440
    mask = 0
    for day in chosen:
        if finish > begin:
            mask |= _day_mask(day, begin, finish)
        else:
            mask |= _day_mask(day, begin, 1440) | _day_mask(day, 0, finish)
    return mask


def _day_intervals(mask: int, day: int) -> tuple[tuple[int, int], ...]:
    bits = (mask >> (day * 1440)) & ((1 << 1440) - 1)
    intervals: list[tuple[int, int]] = []
    minute = 0
    while minute < 1440:
        if bits >> minute & 1:
            begin = minute
            while minute < 1440 and bits >> minute & 1:
                minute += 1
            intervals.append((begin, minute))
        else:
            minute += 1
    return tuple(intervals)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def availability_entries(mask: int) -> list[tuple[str, list[tuple[str, str]]]]:
    """A week mask as OICP ProductAvailabilityTimes: ``[(on, [(begin, end), ...]), ...]``.

    Days with equal periods are grouped into Everyday, Workdays or Weekend where possible, else
    one entry per day; a period reaching midnight ends at "24:00".
    """
    per_day = [_day_intervals(mask, day) for day in range(7)]
    entries: list[tuple[str, list[tuple[str, str]]]] = []

    def periods(intervals: tuple[tuple[int, int], ...]) -> list[tuple[str, str]]:
        return [(_hhmm(begin), _hhmm(end)) for begin, end in intervals]

    if all(day == per_day[0] for day in per_day):
        return [("Everyday", periods(per_day[0]))] if per_day[0] else []
    remaining = list(range(7))
    if per_day[0] and all(per_day[day] == per_day[0] for day in range(5)):
        entries.append(("Workdays", periods(per_day[0])))
        remaining = [5, 6]
    if 5 in remaining and 6 in remaining and per_day[5] and per_day[5] == per_day[6]:
        entries.append(("Weekend", periods(per_day[5])))
        remaining = [day for day in remaining if day < 5]
    for day in remaining:
        if per_day[day]:
            entries.append((OICP_DAYS[day], periods(per_day[day])))
    return entries


def entry_window(on: str, begin: str, end: str) -> int:
    """The week mask of one OICP availability entry (``on`` expanded, "24:00" = end of day)."""
    days = _DAY_GROUPS[on]
    finish = "00:00" if end == "24:00" else end
    return week_window(days, begin, finish)


# --------------------------------------------------------------------------------------------
# OCPI Tariff → OICP pricing products

_REFUSED_RESTRICTIONS = (
    "min_kwh",
    "max_kwh",
    "min_duration",
    "max_duration",
    "min_current",
    "max_current",
    "min_power",
)
_SIX_PLACES = Decimal("0.000001")
ENERGY, TIME, FLAT, PARKING = (
    TariffDimensionType.ENERGY,
    TariffDimensionType.TIME,
    TariffDimensionType.FLAT,
    TariffDimensionType.PARKING_TIME,
)


def _component(element: TariffElement, dimension: TariffDimensionType) -> tuple[int, PriceComponent] | None:
    for index, component in enumerate(element.price_components):
        if component.type is dimension:
            return index, component
    return None


def _per_unit(price: Decimal, unit: str, path: str, result: Translation[Any]) -> Decimal:
    """An OCPI per-hour price in the OICP unit (HOUR as is, MINUTE / 60)."""
    if unit != "MINUTE":
        return price
    exact = price / 60
    rounded = exact.quantize(_SIX_PLACES)
    if rounded != exact:
        result.changed(path, f"per-minute price {exact} rounded to {rounded}")
    return rounded


@dataclass(frozen=True, slots=True)
class _Kept:
    index: int
    element: TariffElement
    window: int
    max_power: Decimal | None


def _check_dates(value: object, path: str, rules: MappingRules, result: Translation[Any]) -> None:
    if value is None:
        return
    if rules.tariffs.date_ranges == "refuse":
        raise MappingError(path, "OICP pricing products have no validity dates (tariffs.date_ranges)")
    result.lost(path, "no OICP field; the product is published without it (tariffs.date_ranges=ignore)")


def _kept_elements(tariff: Tariff, rules: MappingRules, result: Translation[Any]) -> list[_Kept]:
    kept: list[_Kept] = []
    for index, element in enumerate(tariff.elements):
        path = f"elements[{index}]"
        restrictions = element.restrictions or TariffRestrictions()
        if restrictions.reservation is not None:
            result.lost(path, "reservation element dropped: OICP pricing products price charging only")
            continue
        for name in _REFUSED_RESTRICTIONS:
            if getattr(restrictions, name) is not None:
                raise MappingError(
                    f"{path}.restrictions.{name}",
                    "OICP pricing products have no tiers by energy, duration, current or power",
                )
        _check_dates(restrictions.start_date, f"{path}.restrictions.start_date", rules, result)
        _check_dates(restrictions.end_date, f"{path}.restrictions.end_date", rules, result)
        days = None
        if restrictions.day_of_week:
            days = tuple(sorted({DAY_NAMES.index(day.value) for day in restrictions.day_of_week}))
        window = week_window(days, restrictions.start_time, restrictions.end_time)
        kept.append(_Kept(index, element, window, restrictions.max_power))
    if not kept:
        raise MappingError("elements", "no element prices charging (only reservation elements)")
    return kept


def _anchor(kept: Sequence[_Kept]) -> TariffDimensionType:
    """The dimension that becomes the product's base price; ENERGY and TIME together are refused."""
    seen: dict[TariffDimensionType, str] = {}
    for item in kept:
        for position, component in enumerate(item.element.price_components):
            seen.setdefault(component.type, f"elements[{item.index}].price_components[{position}].type")
    if ENERGY in seen and TIME in seen:
        later = max(seen[ENERGY], seen[TIME], key=lambda path: (len(path), path))
        raise MappingError(
            later,
            "ENERGY and TIME prices together cannot be one OICP product (a single PricePerReferenceUnit)",
        )
    for dimension in (ENERGY, TIME, FLAT, PARKING):
        if dimension in seen:
            return dimension
    raise MappingError("elements", "no price component")  # pragma: no cover - min_length=1 on both lists


def _fee(
    kept: Sequence[_Kept], dimension: TariffDimensionType, window: int, product: str
) -> tuple[_Kept, PriceComponent] | None:
    """The first element with ``dimension`` whose times meet ``window``; it must cover all of them."""
    for item in kept:
        found = _component(item.element, dimension)
        if found is None:
            continue
        overlap = item.window & window
        if overlap == 0:
            continue
        if overlap != window:
            raise MappingError(
                f"elements[{item.index}].restrictions",
                f"the {dimension.value} price changes within the times of product {product}: not expressible",
            )
        if item.max_power is not None:
            raise MappingError(
                f"elements[{item.index}].restrictions.max_power", "a fee cannot depend on power"
            )
        return item, found[1]
    return None


def _note_component(component: PriceComponent, path: str, result: Translation[Any]) -> None:
    if component.vat is not None:
        result.lost(f"{path}.vat", "OICP prices are without VAT (oicp-2.3.md §2.1)")
    if component.step_size > 1:
        result.lost(f"{path}.step_size", "OICP has no step size: the product is billed exactly")


def tariff_to_products(tariff: Tariff, rules: MappingRules) -> Translation[list[PricingProductDataRecord]]:
    """OCPI Tariff → OICP PricingProductDataRecords (docs/mapping.md §3.11, oicp-2.3.md §4.9).

    * ENERGY → ReferenceUnit KILOWATT_HOUR, TIME → HOUR (or MINUTE, ``tariffs.time_reference_unit``);
      both in one tariff → MappingError naming the later component's ``type``.
    * FLAT → START FEE (``tariffs.flat_fee``); a tariff without ENERGY/TIME gets a zero base price
      and FIXED FEE (``tariffs.flat_only_fee``); PARKING_TIME → PARKING FEE per HOUR/MINUTE.
    * ``min_price``/``max_price`` → MINIMUM FEE/MAXIMUM FEE (excl. VAT).
    * Each element with the base price becomes one product, available where it wins under OCPI's
      first-match rule (its day/time window minus the windows of earlier elements), written as
      ProductAvailabilityTimes; the first product has the tariff's ProductID, later ones
      ``-2``, ``-3`` (``tariffs.product_ids``). ``max_power`` → MaximumProductChargingPower (such an
      element does not hide later ones), else ``tariffs.max_charging_power_kw``.
    * Refused (MappingError naming the field): min/max_kwh, min/max_duration, min/max_current,
      min_power, and dates unless ``tariffs.date_ranges`` is ``ignore``. Reservation elements are
      dropped with a note.
    """
    settings = rules.tariffs
    result: Translation[list[PricingProductDataRecord]] = Translation([])
    _check_dates(tariff.start_date_time, "start_date_time", rules, result)
    _check_dates(tariff.end_date_time, "end_date_time", rules, result)
    kept = _kept_elements(tariff, rules, result)
    anchor = _anchor(kept)
    if anchor is ENERGY:
        unit = "KILOWATT_HOUR"
    elif anchor is TIME:
        unit = settings.time_reference_unit
    else:
        unit = settings.flat_only_reference_unit
    base_id = settings.product_ids.get(tariff.id, tariff.id)
    shadow = 0
    for item in kept:
        found = _component(item.element, anchor)
        if found is None:
            continue
        position, component = found
        path = f"elements[{item.index}].price_components[{position}]"
        effective = item.window & ~shadow
        if item.max_power is None:
            shadow |= item.window
        if effective == 0:
            result.lost(f"elements[{item.index}]", "never applies: earlier elements cover all of its times")
            continue
        product_id = base_id if not result.value else f"{base_id}-{len(result.value) + 1}"
        if len(product_id) > 50:
            raise MappingError(
                "id", f"ProductID {product_id!r} is longer than 50 characters (tariffs.product_ids)"
            )
        references: list[AdditionalReferences] = []
        if anchor in (ENERGY, TIME):
            price = (
                component.price
                if anchor is ENERGY
                else _per_unit(component.price, unit, f"{path}.price", result)
            )
            _note_component(component, path, result)
            fee = _fee(kept, FLAT, effective, product_id)
            if fee is not None:
                references.append(_reference(settings.flat_fee, unit, fee[1].price))
                _note_component(fee[1], f"elements[{fee[0].index}]", result)
        else:
            price = Decimal(0)
            fee = _fee(kept, FLAT, effective, product_id)
            if fee is not None:
                references.append(_reference(settings.flat_only_fee, unit, fee[1].price))
                _note_component(fee[1], f"elements[{fee[0].index}]", result)
        parking = _fee(kept, PARKING, effective, product_id)
        if parking is not None:
            parking_price = _per_unit(
                parking[1].price, settings.parking_reference_unit, f"elements[{parking[0].index}]", result
            )
            references.append(_reference("PARKING FEE", settings.parking_reference_unit, parking_price))
            _note_component(parking[1], f"elements[{parking[0].index}]", result)
        if tariff.min_price is not None:
            references.append(_reference("MINIMUM FEE", unit, tariff.min_price.excl_vat))
        if tariff.max_price is not None:
            references.append(_reference("MAXIMUM FEE", unit, tariff.max_price.excl_vat))
        full = effective == FULL_WEEK
        record = PricingProductDataRecord(
            product_id=product_id,
            reference_unit=ReferenceUnit(unit),
            product_price_currency=tariff.currency,
            price_per_reference_unit=price,
            maximum_product_charging_power=item.max_power or settings.max_charging_power_kw,
            is_valid_24_hours=full,
            product_availability_times=[] if full else _availability(effective),
            additional_references=references or None,
        )
        result.value.append(record)
        if item.max_power is None:
            result.defaulted(f"{product_id}.MaximumProductChargingPower", "tariffs.max_charging_power_kw")
    for name in ("type", "tariff_alt_text", "tariff_alt_url", "energy_mix"):
        if getattr(tariff, name):
            result.lost(name, "no OICP pricing product field")
    for name in ("min_price", "max_price"):
        bound = getattr(tariff, name)
        if bound is not None and bound.incl_vat is not None:
            result.lost(f"{name}.incl_vat", "OICP fees are without VAT")
    return result


def _reference(kind: str, unit: str, price: Decimal) -> AdditionalReferences:
    return AdditionalReferences(
        additional_reference=AdditionalReference(kind),
        additional_reference_unit=ReferenceUnit(unit),
        price_per_additional_reference_unit=price,
    )


def _availability(mask: int) -> list[ProductAvailabilityTimes]:
    return [
        ProductAvailabilityTimes(periods=[Period(begin=b, end=e) for b, e in periods], on=DayValue(on))
        for on, periods in availability_entries(mask)
    ]


def tariffs_to_pricing_product_data(
    tariffs: Sequence[Tariff], rules: MappingRules, *, operator_id: str, operator_name: str | None = None
) -> Translation[PricingProductData]:
    """OCPI Tariffs of one operator → OICP PricingProductData for PushPricingProductData.

    ProviderID is ``tariffs.provider_id`` (``*`` = every EMP); PricingDefaultPrice, currency and
    unit are those of the first product of ``tariffs.default_price_tariff`` (else of the first
    product). Every tariff must translate (a refused tariff raises its MappingError, prefixed
    with ``tariffs[i]``).
    """
    records: list[PricingProductDataRecord] = []
    result: Translation[PricingProductData]
    losses = []
    default: PricingProductDataRecord | None = None
    for position, tariff in enumerate(tariffs):
        try:
            translated = tariff_to_products(tariff, rules)
        except MappingError as error:
            raise MappingError(f"tariffs[{position}].{error.path}", error.reason) from error
        losses.extend(translated.losses)
        if tariff.id == rules.tariffs.default_price_tariff and translated.value:
            default = translated.value[0]
        records.extend(translated.value)
    if not records:
        raise MappingError("tariffs", "no pricing product to publish")
    default = default or records[0]
    data = PricingProductData(
        operator_id=operator_id,
        operator_name=operator_name,
        provider_id=rules.tariffs.provider_id,
        pricing_default_price=default.price_per_reference_unit,
        pricing_default_price_currency=default.product_price_currency,
        pricing_default_reference_unit=default.reference_unit,
        pricing_product_data_records=records,
    )
    result = Translation(data, losses)
    result.defaulted(
        "PricingDefaultPrice", f"from product {default.product_id} (tariffs.default_price_tariff)"
    )
    return result


def evse_pricing(
    evse_id: str, tariff_ids: Sequence[str], products: Mapping[str, Sequence[str]], rules: MappingRules
) -> EVSEPricing:
    """EVSEPricing for PushEVSEPricing: the products of the connector tariffs of one EVSE.

    ``products`` maps OCPI tariff id → its ProductIDs (from :func:`tariff_to_products`).
    Raises MappingError naming tariff_ids when none of the tariffs has a product.
    """
    product_ids = [pid for tariff_id in tariff_ids for pid in products.get(tariff_id, ())]
    if not product_ids:
        raise MappingError("tariff_ids", f"no pricing product for EVSE {evse_id}")
    unique = list(dict.fromkeys(product_ids))
    return EVSEPricing(evse_id=evse_id, provider_id=rules.tariffs.provider_id, evse_id_product_list=unique)


# --------------------------------------------------------------------------------------------
# OICP pricing products → OCPI Tariffs

_OCPI_DAYS_BY_ON: dict[str, tuple[int, ...]] = dict(_DAY_GROUPS)


def product_to_tariff(
    record: PricingProductDataRecord,
    rules: MappingRules,
    *,
    operator_id: str,
    now: datetime,
    owner: tuple[str, str] | None = None,
) -> Translation[Tariff]:
    """OICP PricingProductDataRecord → OCPI Tariff (docs/mapping.md §3.11 [suggest], decided here).

    KILOWATT_HOUR → ENERGY, HOUR → TIME, MINUTE → TIME × 60 (OCPI prices time per hour), START FEE
    and FIXED FEE → one FLAT, PARKING FEE → PARKING_TIME (× 60 per MINUTE), MINIMUM/MAXIMUM FEE →
    min_price/max_price. step_size is 1 (OICP bills exactly); a zero base price next to fees is
    left out. IsValid24hours → one unrestricted element, else one element per availability period
    (day_of_week from ``on``, start_time/end_time; "24:00" → "00:00"). The owner is the OperatorID's
    party (``owner`` overrides, needed for DIN operators); ``vat`` is ``tariffs.oicp_vat_percent``.
    The tariff id is the ProductID, shortened by mappings.ids.ocpi_id when it exceeds 36.
    """
    vat = rules.tariffs.oicp_vat_percent
    party = owner or operator_party(operator_id)
    if party is None:
        raise MappingError("OperatorID", f"{operator_id} has no OCPI party: pass the owner")
    result: Translation[Tariff]
    notes: list[tuple[str, str, str]] = []
    components: list[PriceComponent] = []
    price = record.price_per_reference_unit
    base_type = ENERGY if record.reference_unit is ReferenceUnit.KILOWATT_HOUR else TIME
    if record.reference_unit is ReferenceUnit.MINUTE:
        price = price * 60
    flat = Decimal(0)
    flat_count = 0
    parking: Decimal | None = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    for index, reference in enumerate(record.additional_references or []):
        fee = reference.price_per_additional_reference_unit
        kind = reference.additional_reference
        if kind in (AdditionalReference.START_FEE, AdditionalReference.FIXED_FEE):
            flat += fee
            flat_count += 1
        elif kind is AdditionalReference.PARKING_FEE:
            unit = reference.additional_reference_unit
            if unit is ReferenceUnit.KILOWATT_HOUR:
                raise MappingError(
                    f"AdditionalReferences[{index}].AdditionalReferenceUnit",
                    "a PARKING FEE per kWh has no OCPI form",
                )
            parking = fee * 60 if unit is ReferenceUnit.MINUTE else fee
        elif kind is AdditionalReference.MINIMUM_FEE:
            minimum = fee
        else:
            maximum = fee
    if flat_count > 1:
        notes.append(("changed", "AdditionalReferences", "START FEE and FIXED FEE added into one FLAT price"))
    has_fees = flat_count > 0 or parking is not None
    if price != 0 or not has_fees:
        components.append(PriceComponent(type=base_type, price=price, vat=vat, step_size=1))
    if flat_count:
        components.append(PriceComponent(type=FLAT, price=flat, vat=vat, step_size=1))
    if parking is not None:
        components.append(PriceComponent(type=PARKING, price=parking, vat=vat, step_size=1))
    if price == 0 and not has_fees:
        components = [PriceComponent(type=FLAT, price=Decimal(0), vat=vat, step_size=1)]
        notes.append(
            ("changed", "PricePerReferenceUnit", "zero price: the OCPI free-of-charge tariff (FLAT 0)")
        )
    elements = _elements(record, components, notes)
    tariff_id = ocpi_id(record.product_id)
    if tariff_id != record.product_id:
        notes.append(("changed", "ProductID", f"OCPI tariff id {tariff_id!r} (CiString(36))"))
    tariff = Tariff(
        country_code=party[0],
        party_id=party[1],
        id=tariff_id,
        currency=record.product_price_currency,
        min_price=_price(minimum, vat),
        max_price=_price(maximum, vat),
        elements=elements,
        last_updated=now,
    )
    result = Translation(tariff)
    for note_kind, path, detail in notes:
        getattr(result, note_kind)(path, detail)
    result.lost(
        "MaximumProductChargingPower", "no OCPI tariff field (not a restriction: it describes the product)"
    )
    if vat is None:
        result.lost("vat", "OICP prices carry no VAT and tariffs.oicp_vat_percent is unset")
    return result


def _price(value: Decimal | None, vat: Decimal | None) -> Price | None:
    if value is None:
        return None
    incl = value * (1 + vat / 100) if vat is not None else None
    return Price(excl_vat=value, incl_vat=incl)


def _elements(
    record: PricingProductDataRecord, components: list[PriceComponent], notes: list[tuple[str, str, str]]
) -> list[TariffElement]:
    if record.is_valid_24_hours or not record.product_availability_times:
        if not record.is_valid_24_hours:
            notes.append(
                ("defaulted", "ProductAvailabilityTimes", "IsValid24hours false without times: always")
            )
        return [TariffElement(price_components=components)]
    elements: list[TariffElement] = []
    for entry in record.product_availability_times:
        days = _OCPI_DAYS_BY_ON[entry.on.value]
        day_names = None if len(days) == 7 else [DayOfWeek(DAY_NAMES[d]) for d in days]
        for period in entry.periods:
            end = "00:00" if period.end == "24:00" else period.end
            begin = "00:00" if period.begin == "24:00" else period.begin
            whole_day = begin == "00:00" and end == "00:00"
            restrictions = TariffRestrictions(
                start_time=None if whole_day else begin,
                end_time=None if whole_day else end,
                day_of_week=day_names,
            )
            elements.append(TariffElement(price_components=components, restrictions=restrictions))
    return elements


def pricing_product_data_to_tariffs(
    data: PricingProductData, rules: MappingRules, *, now: datetime, owner: tuple[str, str] | None = None
) -> Translation[list[Tariff]]:
    """OICP PricingProductData → OCPI Tariffs, one per record (see :func:`product_to_tariff`).

    PricingDefaultPrice becomes a tariff with id ``tariffs.default_price_tariff_id`` when set,
    else it is noted as lost. Errors are prefixed with ``PricingProductDataRecords[i]``.
    """
    tariffs: list[Tariff] = []
    result: Translation[list[Tariff]] = Translation(tariffs)
    for index, record in enumerate(data.pricing_product_data_records):
        try:
            translated = product_to_tariff(record, rules, operator_id=data.operator_id, now=now, owner=owner)
        except MappingError as error:
            raise MappingError(f"PricingProductDataRecords[{index}].{error.path}", error.reason) from error
        tariffs.append(translated.value)
        result.losses.extend(translated.losses)
    default_id = rules.tariffs.default_price_tariff_id
    if default_id is None:
        result.lost("PricingDefaultPrice", "tariffs.default_price_tariff_id is unset")
    else:
        default = PricingProductDataRecord(
            product_id=default_id,
            reference_unit=data.pricing_default_reference_unit,
            product_price_currency=data.pricing_default_price_currency,
            price_per_reference_unit=data.pricing_default_price,
            maximum_product_charging_power=rules.tariffs.max_charging_power_kw,
            is_valid_24_hours=True,
            product_availability_times=[],
        )
        translated = product_to_tariff(default, rules, operator_id=data.operator_id, now=now, owner=owner)
        tariffs.append(translated.value)
    if data.operator_name is not None:
        result.lost("OperatorName", "no OCPI tariff field")
    if data.provider_id != "*":
        result.lost("ProviderID", "OCPI tariffs are not per eMSP")
    return result


# --------------------------------------------------------------------------------------------
# Preview (the ``map`` CLI)


def preview(
    obj: Mapping[str, Any], source: str, target: str, rules: MappingRules, *, now: datetime
) -> Translation[Any]:
    """Translate a bare tariff-family object for the ``map`` CLI.

    OCPI Tariff → the list of OICP PricingProductDataRecords (:func:`tariff_to_products`; 2.1.1
    tariffs go up through mappings.ocpi_versions first). OICP PricingProductData → the list of
    OCPI Tariffs (2.1.1: each taken down); a lone PricingProductDataRecord names no operator and
    is refused.
    """
    result: Translation[Any] = Translation(None)
    if source.startswith("ocpi") and target == "oicp":
        if source == "ocpi-2.1.1":
            from bridge.ocpi.models import v2_1_1 as v211
            from mappings.ocpi_versions import tariff_up

            # The owner only names the OCPI party; pricing products do not carry it.
            up = tariff_up(parse_model(v211.Tariff, obj), country_code="ZZ", party_id="ZZZ")
            result.losses.extend(loss for loss in up.losses if loss.path not in ("country_code", "party_id"))
            tariff = up.value
        else:
            tariff = parse_model(Tariff, obj)
        translated = tariff_to_products(tariff, rules)
        result.value = translated.value
        result.losses.extend(translated.losses)
        return result
    if source == "oicp" and target.startswith("ocpi"):
        if "EVSEPricing" in obj or "OperatorEVSEPricing" in obj:
            raise MappingError(
                "EVSEPricing", "EVSE pricing has no OCPI object of its own (connector tariff_ids)"
            )
        wrapped = obj.get("PricingProductData")
        if isinstance(wrapped, list):  # a PullPricingProductData answer: one OperatorID per entry
            pulled = [preview(item, source, target, rules, now=now) for item in wrapped]
            result.value = [tariff for part in pulled for tariff in part.value]
            result.losses.extend(loss for part in pulled for loss in part.losses)
            return result
        if isinstance(wrapped, Mapping):  # a PushPricingProductData request
            return preview(wrapped, source, target, rules, now=now)
        if "PricingProductDataRecords" not in obj:
            raise MappingError(
                "OperatorID", "a lone pricing product names no operator: preview PricingProductData"
            )
        data = parse_model(PricingProductData, obj)
        tariffs = pricing_product_data_to_tariffs(data, rules, now=now)
        result.losses.extend(tariffs.losses)
        if target == "ocpi-2.1.1":
            from mappings.ocpi_versions import tariff_down

            down = []
            for index, tariff in enumerate(tariffs.value):
                old = tariff_down(tariff)
                result.losses.extend(
                    type(loss)(f"[{index}].{loss.path}", loss.kind, loss.detail) for loss in old.losses
                )
                down.append(old.value)
            result.value = down
        else:
            result.value = tariffs.value
        return result
    raise unsupported(source, target)


RULE_TABLE: tuple[RuleDoc, ...] = rule_rows(
    "ocpi→oicp | ENERGY price | ReferenceUnit KILOWATT_HOUR + PricePerReferenceUnit | price per kWh excl."
    " VAT | ",
    "ocpi→oicp | TIME price | ReferenceUnit HOUR (or MINUTE) | price per hour, or per minute (/60, 6 "
    "decimals) | tariffs.time_reference_unit",
    "ocpi→oicp | ENERGY and TIME in one tariff | – | refused: MappingError naming the later component's "
    "type (one PricePerReferenceUnit) | ",
    "ocpi→oicp | FLAT next to ENERGY/TIME | AdditionalReferences START FEE | START FEE or FIXED FEE | "
    "tariffs.flat_fee",
    "ocpi→oicp | FLAT only | base price 0 + FIXED FEE | the base unit of the zero price is a rule | "
    "tariffs.flat_only_fee",
    "ocpi→oicp | FLAT only (base unit) | ReferenceUnit | unit of the zero base price | "
    "tariffs.flat_only_reference_unit",
    "ocpi→oicp | PARKING_TIME | AdditionalReferences PARKING FEE | per hour, or per minute | "
    "tariffs.parking_reference_unit",
    "ocpi→oicp | min_price / max_price | MINIMUM FEE / MAXIMUM FEE | excl_vat in the base unit; incl_vat "
    "lost | ",
    "ocpi→oicp | element day_of_week + start/end_time, first match wins | ProductAvailabilityTimes "
    "(Periods, on) / IsValid24hours | one product per element, available where it wins (its window minus "
    "earlier elements'), days grouped into Everyday/Workdays/Weekend; ids get -2, -3 | "
    "tariffs.product_ids",
    "ocpi→oicp | max_power restriction | MaximumProductChargingPower | the element's max_power (kW), else"
    " the default | tariffs.max_charging_power_kw",
    "ocpi→oicp | min/max_kwh, min/max_duration, min/max_current, min_power | – | refused: MappingError "
    "naming the restriction | ",
    "ocpi→oicp | start/end_date_time, start/end_date | – | refused, or published without them (noted) | "
    "tariffs.date_ranges",
    "ocpi→oicp | reservation elements | – | dropped (noted) | ",
    "ocpi→oicp | vat, step_size, type, tariff_alt_text, tariff_alt_url, energy_mix | – | lost (noted): "
    "OICP prices are without VAT and billed exactly | ",
    "ocpi→oicp | tariffs of an operator | PricingProductData | ProviderID from the rule; "
    "PricingDefaultPrice from the named tariff's first product (else the first) | tariffs.provider_id",
    "ocpi→oicp | default price | PricingDefaultPrice/Currency/ReferenceUnit | from this tariff | "
    "tariffs.default_price_tariff",
    "ocpi→oicp | connector tariff_ids of an EVSE | EVSEPricing.EvseIDProductList | the products of those "
    "tariffs | ",
    "oicp→ocpi | ReferenceUnit + PricePerReferenceUnit | PriceComponent | KILOWATT_HOUR → ENERGY, HOUR → "
    "TIME, MINUTE → TIME × 60; step_size 1; a zero base next to fees is left out | ",
    "oicp→ocpi | START FEE, FIXED FEE | FLAT | added into one FLAT price | ",
    "oicp→ocpi | PARKING FEE | PARKING_TIME | per hour (× 60 per MINUTE); per kWh is refused | ",
    "oicp→ocpi | MINIMUM FEE / MAXIMUM FEE | min_price / max_price | excl_vat (incl_vat with the VAT "
    "rule) | ",
    "oicp→ocpi | IsValid24hours / ProductAvailabilityTimes | elements[].restrictions | one element per "
    "period: day_of_week from on, start_time/end_time (24:00 → 00:00) | ",
    "oicp→ocpi | – | PriceComponent.vat, incl_vat | VAT added on top of OICP prices | "
    "tariffs.oicp_vat_percent",
    "oicp→ocpi | OperatorID, ProductID, ProductPriceCurrency | country_code/party_id, id, currency | "
    "owner from the OperatorID (DIN operators need one passed in), id shortened to 36 characters by "
    "mappings.ids.ocpi_id | ",
    "oicp→ocpi | PricingDefaultPrice | an extra tariff | emitted with this id, else lost (noted) | "
    "tariffs.default_price_tariff_id",
    "oicp→ocpi | MaximumProductChargingPower, OperatorName, ProviderID | – | lost (noted) | ",
)
