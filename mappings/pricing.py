"""Decimal pricing of a charging session against an OCPI 2.2.1 Tariff or an OICP pricing product.

OCPI (mod_tariffs 2.2.1, docs/ocpi.md §4.3–4.4):

* A session is a sequence of :class:`UsagePeriod` (charging or parking). Every period is cut at
  each point where a restriction could change its answer: local time-of-day boundaries of the
  elements and midnight (local time of the Location's IANA zone), cumulative duration thresholds
  (min/max_duration) and cumulative energy thresholds (min/max_kwh; energy is spread linearly over
  a period). Each piece is then priced per dimension by **the first element whose restrictions all
  match and which has a component of that dimension** (restrictions are a logical AND). No match:
  the dimension is free for that piece.
* ENERGY is priced per kWh on every piece that carries energy; TIME per hour on charging pieces;
  PARKING_TIME per hour on parking pieces. FLAT is charged once, from the first element that has
  FLAT and matches at some piece (in time order).
* ``step_size`` (Wh for ENERGY, seconds for time) is applied once per session: for ENERGY, and for
  TIME and PARKING_TIME combined (docs/ocpi.md §4.3). The total billed volume of the group is
  rounded up to a multiple of the step size of the component that priced the last billed piece of
  the group; the extra volume is billed at that component's price.
* Reservation elements (``restrictions.reservation``) never match a charging session.
* ``vat`` absent means no VAT applies (incl_vat = excl_vat for that component).
* Rounding, the one documented choice: every dimension's excl/incl cost is computed exactly and
  rounded **once** to ``decimals`` with ``rounding``; the total is the sum of the rounded
  dimensions (so a CDR's cost breakdown adds up); then ``min_price``/``max_price`` clamp the total.

OICP (docs/oicp-2.3.md §4.9, docs/mapping.md §3.11): PricePerReferenceUnit × energy (KILOWATT_HOUR)
or × charging time (HOUR, MINUTE; exact, no rounding up to whole units), START FEE and FIXED FEE
once, PARKING FEE per HOUR/MINUTE of parking time, MINIMUM/MAXIMUM FEE clamp the total. OICP
prices are without VAT; ``vat_percent`` (YAML ``tariffs.oicp_vat_percent``) gives incl_vat.
"""

from __future__ import annotations

import decimal
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from bridge.errors import MappingError
from bridge.ocpi.models.v2_2_1 import Price as OcpiPrice
from bridge.ocpi.models.v2_2_1 import (
    PriceComponent,
    Tariff,
    TariffDimensionType,
    TariffElement,
    TariffRestrictions,
)
from bridge.oicp.models.ids import evse_id_key, provider_id_key
from bridge.oicp.models.pricing import (
    AdditionalReference,
    EVSEPricing,
    PricingProductDataRecord,
    ReferenceUnit,
)

_SECONDS_PER_HOUR = Decimal(3600)
_DAY_NAMES = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")


class PricingError(MappingError):
    """The session cannot be priced with what was given (names the tariff/product field)."""


@dataclass(frozen=True, slots=True)
class UsagePeriod:
    """A stretch of a session with constant conditions.

    ``start`` is aware; ``energy_kwh`` is spread linearly over ``seconds``. ``parking`` marks time
    without charging (PARKING_TIME). ``power_kw`` defaults to the average power of the period;
    ``current_a`` is needed only by tariffs with min/max_current restrictions.
    """

    start: datetime
    seconds: Decimal
    energy_kwh: Decimal = Decimal(0)
    parking: bool = False
    power_kw: Decimal | None = None
    current_a: Decimal | None = None

    @property
    def average_power_kw(self) -> Decimal | None:
        if self.power_kw is not None:
            return self.power_kw
        if self.parking:
            return Decimal(0)
        if self.seconds <= 0:
            return None
        return self.energy_kwh * _SECONDS_PER_HOUR / self.seconds


@dataclass(frozen=True, slots=True)
class SessionUsage:
    """What a session consumed: its periods in time order, the first starting the session."""

    periods: tuple[UsagePeriod, ...]

    def __post_init__(self) -> None:
        if not self.periods:
            raise ValueError("a session needs at least one period")
        if self.periods[0].start.tzinfo is None:
            raise ValueError("period start times must be timezone-aware")

    @classmethod
    def simple(
        cls,
        *,
        start: datetime,
        energy_kwh: Decimal,
        charging_seconds: Decimal | int,
        parking_seconds: Decimal | int = 0,
        power_kw: Decimal | None = None,
        current_a: Decimal | None = None,
    ) -> SessionUsage:
        """One charging period from ``start`` carrying all the energy, then one parking period."""
        charging = Decimal(charging_seconds)
        periods = [
            UsagePeriod(start, charging, energy_kwh, parking=False, power_kw=power_kw, current_a=current_a)
        ]
        parking = Decimal(parking_seconds)
        if parking > 0:
            periods.append(
                UsagePeriod(start + _delta(charging), parking, Decimal(0), parking=True, current_a=current_a)
            )
        return cls(tuple(periods))

    @property
    def start(self) -> datetime:
        return self.periods[0].start

    @property
    def energy_kwh(self) -> Decimal:
        return sum((p.energy_kwh for p in self.periods), Decimal(0))

    @property
    def charging_seconds(self) -> Decimal:
        return sum((p.seconds for p in self.periods if not p.parking), Decimal(0))

    @property
    def parking_seconds(self) -> Decimal:
        return sum((p.seconds for p in self.periods if p.parking), Decimal(0))


@dataclass(slots=True)
class DimensionCost:
    """The billed volume (kWh, hours, or count for FLAT) and the rounded cost of one dimension."""

    dimension: TariffDimensionType
    volume: Decimal
    cost: OcpiPrice


@dataclass(slots=True)
class PricedSession:
    """The result of pricing: total plus the cost per dimension (FLAT, ENERGY, TIME, PARKING_TIME)."""

    currency: str
    total_cost: OcpiPrice
    dimensions: dict[TariffDimensionType, DimensionCost] = field(default_factory=dict)
    adjustment: str | None = None  # "min_price" / "max_price" / "MINIMUM FEE" / "MAXIMUM FEE"

    def cost(self, dimension: TariffDimensionType) -> OcpiPrice | None:
        found = self.dimensions.get(dimension)
        return found.cost if found else None


# --------------------------------------------------------------------------------------------
# Exact arithmetic helpers


def _delta(seconds: Decimal) -> timedelta:
    whole = int(seconds)
    micro = int(((seconds - whole) * 1_000_000).to_integral_value(rounding=decimal.ROUND_HALF_EVEN))
    return timedelta(seconds=whole, microseconds=micro)


def seconds_between(start: datetime, end: datetime) -> Decimal:
    """Exact seconds from ``start`` to ``end`` (microsecond resolution, no float)."""
    diff = end - start
    return Decimal(diff.days * 86400 + diff.seconds) + Decimal(diff.microseconds) / Decimal(1_000_000)


def _quantize(value: Decimal, decimals: int, rounding: str) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-decimals), rounding=rounding)


def _ceil_to_step(volume: Decimal, step: Decimal) -> Decimal:
    if step <= 0 or volume <= 0:
        return volume
    blocks = (volume / step).to_integral_value(rounding=decimal.ROUND_CEILING)
    return blocks * step


# --------------------------------------------------------------------------------------------
# OCPI tariff restrictions


def _parse_hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


@dataclass(frozen=True, slots=True)
class _State:
    """The conditions at the start of a piece, against which restrictions are evaluated."""

    local: datetime
    elapsed_s: Decimal
    energy_kwh: Decimal
    power_kw: Decimal | None
    current_a: Decimal | None


def _time_window_matches(restrictions: TariffRestrictions, local: datetime) -> bool:
    now_min = local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60
    start = _minutes(_parse_hhmm(restrictions.start_time)) if restrictions.start_time else None
    end = _minutes(_parse_hhmm(restrictions.end_time)) if restrictions.end_time else None
    if end == 0:
        end = 24 * 60  # "00:00" as end_time is the end of the day
    if start is not None and end is not None and end < start:
        return now_min >= start or now_min < end  # wraps past midnight
    if start is not None and now_min < start:
        return False
    return not (end is not None and now_min >= end)


def _restriction_matches(restrictions: TariffRestrictions | None, state: _State, path: str) -> bool:
    """mod_tariffs TariffRestrictions: every field that is set must hold (logical AND)."""
    if restrictions is None:
        return True
    if restrictions.reservation is not None:
        return False
    local = state.local
    if (restrictions.start_time or restrictions.end_time) and not _time_window_matches(restrictions, local):
        return False
    today = local.date()
    if restrictions.start_date and today < date.fromisoformat(restrictions.start_date):
        return False
    if restrictions.end_date and today >= date.fromisoformat(restrictions.end_date):
        return False
    if restrictions.day_of_week and _DAY_NAMES[local.weekday()] not in {
        d.value for d in restrictions.day_of_week
    }:
        return False
    if restrictions.min_kwh is not None and state.energy_kwh < restrictions.min_kwh:
        return False
    if restrictions.max_kwh is not None and state.energy_kwh >= restrictions.max_kwh:
        return False
    if restrictions.min_duration is not None and state.elapsed_s < restrictions.min_duration:
        return False
    if restrictions.max_duration is not None and state.elapsed_s >= restrictions.max_duration:
        return False
    if restrictions.min_power is not None or restrictions.max_power is not None:
        if state.power_kw is None:
            raise PricingError(
                f"{path}.min_power/max_power", "the tariff needs the charging power, none is known"
            )
        if restrictions.min_power is not None and state.power_kw < restrictions.min_power:
            return False
        if restrictions.max_power is not None and state.power_kw >= restrictions.max_power:
            return False
    if restrictions.min_current is not None or restrictions.max_current is not None:
        if state.current_a is None:
            raise PricingError(
                f"{path}.min_current/max_current", "the tariff needs the charging current, none is known"
            )
        if restrictions.min_current is not None and state.current_a < restrictions.min_current:
            return False
        if restrictions.max_current is not None and state.current_a >= restrictions.max_current:
            return False
    return True


def _local_boundaries(elements: Sequence[TariffElement]) -> list[int]:
    """Minutes of the day at which some time-of-day restriction opens or closes (plus midnight)."""
    marks = {0}
    for element in elements:
        restrictions = element.restrictions
        if restrictions is None:
            continue
        for value in (restrictions.start_time, restrictions.end_time):
            if value:
                marks.add(_minutes(_parse_hhmm(value)))
    return sorted(marks)


def _next_local_boundary(local: datetime, marks: list[int], zone: ZoneInfo) -> datetime:
    """The first instant after ``local`` whose wall-clock time is one of ``marks`` (UTC, aware)."""
    day = local.date()
    for offset in range(0, 3):
        candidate_day = day + timedelta(days=offset)
        for mark in marks:
            wall = datetime.combine(candidate_day, time(mark // 60, mark % 60), tzinfo=zone)
            instant = wall.astimezone(UTC)
            if instant > local.astimezone(UTC):
                return instant
    raise AssertionError("a day always has midnight")  # pragma: no cover


@dataclass(frozen=True, slots=True)
class _Piece:
    state: _State
    seconds: Decimal
    energy_kwh: Decimal
    parking: bool


def _cut_pieces(usage: SessionUsage, elements: Sequence[TariffElement], zone: ZoneInfo) -> list[_Piece]:
    marks = _local_boundaries(elements)
    duration_marks = sorted(
        {
            Decimal(value)
            for e in elements
            if e.restrictions
            for value in (e.restrictions.min_duration, e.restrictions.max_duration)
            if value is not None
        }
    )
    energy_marks = sorted(
        {
            Decimal(value)
            for e in elements
            if e.restrictions
            for value in (e.restrictions.min_kwh, e.restrictions.max_kwh)
            if value is not None
        }
    )
    session_start = usage.start
    pieces: list[_Piece] = []
    energy_so_far = Decimal(0)
    for period in usage.periods:
        offset = seconds_between(session_start, period.start)
        end = offset + period.seconds
        rate = period.energy_kwh / period.seconds if period.seconds > 0 else Decimal(0)
        cursor = offset
        assigned = Decimal(0)
        if period.seconds <= 0:
            if period.energy_kwh > 0:
                instant = session_start + _delta(offset)
                state = _State(
                    instant.astimezone(zone), offset, energy_so_far, period.power_kw, period.current_a
                )
                pieces.append(_Piece(state, Decimal(0), period.energy_kwh, period.parking))
            energy_so_far += period.energy_kwh
            continue
        while cursor < end:
            instant = session_start + _delta(cursor)
            energy_here = energy_so_far + rate * (cursor - offset)
            cut = end
            next_wall = seconds_between(
                session_start, _next_local_boundary(instant.astimezone(zone), marks, zone)
            )
            cut = min(cut, next_wall)
            for mark in duration_marks:
                if mark > cursor:
                    cut = min(cut, mark)
                    break
            if rate > 0:
                for kwh in energy_marks:
                    if kwh > energy_here:
                        cut = min(cut, offset + (kwh - energy_so_far) / rate)
                        break
            if cut <= cursor:  # pragma: no cover - guards against a non-advancing cut
                cut = end
            state = _State(
                local=instant.astimezone(zone),
                elapsed_s=cursor,
                energy_kwh=energy_here,
                power_kw=period.average_power_kw,
                current_a=period.current_a,
            )
            energy = period.energy_kwh - assigned if cut >= end else rate * (cut - cursor)
            assigned += energy
            pieces.append(_Piece(state, cut - cursor, energy, period.parking))
            cursor = cut
        energy_so_far += period.energy_kwh
    return pieces


def _find_component(
    elements: Sequence[TariffElement], dimension: TariffDimensionType, state: _State
) -> PriceComponent | None:
    for index, element in enumerate(elements):
        component = next((c for c in element.price_components if c.type == dimension), None)
        if component is None:
            continue
        if _restriction_matches(element.restrictions, state, f"elements[{index}].restrictions"):
            return component
    return None


def _vat_factor(component: PriceComponent) -> Decimal:
    return Decimal(1) + (component.vat or Decimal(0)) / Decimal(100)


@dataclass(slots=True)
class _Accumulator:
    volume: Decimal = Decimal(0)
    excl: Decimal = Decimal(0)
    incl: Decimal = Decimal(0)
    used: bool = False


def price_ocpi_tariff(
    tariff: Tariff,
    usage: SessionUsage,
    *,
    time_zone: str,
    decimals: int = 2,
    rounding: str = decimal.ROUND_HALF_UP,
) -> PricedSession:
    """Price ``usage`` with an OCPI 2.2.1 tariff (see the module docstring for every rule).

    ``time_zone`` is the IANA zone of the Location (CdrLocation has none, ocpi#517).
    Raises :class:`PricingError` when the tariff is not valid at the session start or needs data
    the usage lacks (power, current).
    """
    zone = ZoneInfo(time_zone)
    if tariff.start_date_time is not None and usage.start < tariff.start_date_time:
        raise PricingError("tariff.start_date_time", "the tariff is not yet valid at the session start")
    if tariff.end_date_time is not None and usage.start >= tariff.end_date_time:
        raise PricingError("tariff.end_date_time", "the tariff is no longer valid at the session start")
    elements = tariff.elements
    pieces = _cut_pieces(usage, elements, zone)
    acc: dict[TariffDimensionType, _Accumulator] = {d: _Accumulator() for d in TariffDimensionType}
    last_component: dict[str, PriceComponent] = {}
    flat: PriceComponent | None = None

    with decimal.localcontext() as ctx:
        ctx.prec = 34
        for piece in pieces:
            if flat is None:
                flat = _find_component(elements, TariffDimensionType.FLAT, piece.state)
            if piece.energy_kwh > 0:
                component = _find_component(elements, TariffDimensionType.ENERGY, piece.state)
                if component is not None:
                    _add(acc[TariffDimensionType.ENERGY], component, piece.energy_kwh, piece.energy_kwh)
                    last_component["energy"] = component
            dimension = TariffDimensionType.PARKING_TIME if piece.parking else TariffDimensionType.TIME
            component = _find_component(elements, dimension, piece.state)
            if component is not None:
                hours = piece.seconds / _SECONDS_PER_HOUR
                _add(acc[dimension], component, piece.seconds, hours)
                last_component["time"] = component
        if flat is None and not pieces:
            flat = _find_component(
                elements,
                TariffDimensionType.FLAT,
                _State(usage.start.astimezone(zone), Decimal(0), Decimal(0), None, None),
            )
        if flat is not None:
            target = acc[TariffDimensionType.FLAT]
            target.volume = Decimal(1)
            target.excl = flat.price
            target.incl = flat.price * _vat_factor(flat)
            target.used = True
        _apply_step_sizes(acc, last_component)

    dimensions: dict[TariffDimensionType, DimensionCost] = {}
    total_excl = Decimal(0)
    total_incl = Decimal(0)
    for dimension, found in acc.items():
        if not found.used:
            continue
        excl = _quantize(found.excl, decimals, rounding)
        incl = _quantize(found.incl, decimals, rounding)
        volume = found.volume
        if dimension is TariffDimensionType.ENERGY:
            pass
        elif dimension is not TariffDimensionType.FLAT:
            volume = found.volume / _SECONDS_PER_HOUR
        dimensions[dimension] = DimensionCost(dimension, volume, OcpiPrice(excl_vat=excl, incl_vat=incl))
        total_excl += excl
        total_incl += incl
    priced = PricedSession(tariff.currency, OcpiPrice(excl_vat=total_excl, incl_vat=total_incl), dimensions)
    _clamp_ocpi(priced, tariff, decimals, rounding)
    return priced


def _add(target: _Accumulator, component: PriceComponent, volume: Decimal, billed_units: Decimal) -> None:
    cost = component.price * billed_units
    target.volume += volume
    target.excl += cost
    target.incl += cost * _vat_factor(component)
    target.used = True


def _apply_step_sizes(acc: dict[TariffDimensionType, _Accumulator], last: dict[str, PriceComponent]) -> None:
    """Round the session's billed volume up to the step size of the last component (docs/ocpi.md §4.3)."""
    energy = acc[TariffDimensionType.ENERGY]
    component = last.get("energy")
    if component is not None and energy.used and component.step_size > 0:
        watt_hours = energy.volume * 1000
        extra_kwh = (_ceil_to_step(watt_hours, Decimal(component.step_size)) - watt_hours) / 1000
        if extra_kwh > 0:
            _add(energy, component, extra_kwh, extra_kwh)
    component = last.get("time")
    if component is not None and component.step_size > 0:
        target = acc[component.type]
        total = acc[TariffDimensionType.TIME].volume + acc[TariffDimensionType.PARKING_TIME].volume
        extra_s = _ceil_to_step(total, Decimal(component.step_size)) - total
        if extra_s > 0:
            _add(target, component, extra_s, extra_s / _SECONDS_PER_HOUR)


def _clamp_ocpi(priced: PricedSession, tariff: Tariff, decimals: int, rounding: str) -> None:
    """mod_tariffs min_price/max_price: the session costs at least / at most that much (excl. VAT)."""
    total = priced.total_cost
    if tariff.min_price is not None and total.excl_vat < tariff.min_price.excl_vat:
        priced.total_cost = _bound_price(tariff.min_price, decimals, rounding)
        priced.adjustment = "min_price"
    elif tariff.max_price is not None and total.excl_vat > tariff.max_price.excl_vat:
        priced.total_cost = _bound_price(tariff.max_price, decimals, rounding)
        priced.adjustment = "max_price"


def _bound_price(bound: OcpiPrice, decimals: int, rounding: str) -> OcpiPrice:
    incl = bound.incl_vat
    return OcpiPrice(
        excl_vat=_quantize(bound.excl_vat, decimals, rounding),
        incl_vat=_quantize(incl, decimals, rounding) if incl is not None else None,
    )


# --------------------------------------------------------------------------------------------
# OICP pricing products (dynamic pricing v10)

_OICP_DAYS: dict[str, tuple[int, ...]] = {
    "Everyday": (0, 1, 2, 3, 4, 5, 6),
    "Workdays": (0, 1, 2, 3, 4),
    "Weekend": (5, 6),
    "Monday": (0,),
    "Tuesday": (1,),
    "Wednesday": (2,),
    "Thursday": (3,),
    "Friday": (4,),
    "Saturday": (5,),
    "Sunday": (6,),
}


def product_available(record: PricingProductDataRecord, at: datetime) -> bool:
    """Whether a product applies at the local time ``at`` (IsValid24hours or ProductAvailabilityTimes).

    A period ending "24:00" or "00:00" ends at midnight; one ending before it begins wraps past
    midnight (the part after midnight belongs to the next day).
    """
    if record.is_valid_24_hours:
        return True
    minute = at.hour * 60 + at.minute
    weekday = at.weekday()
    for entry in record.product_availability_times:
        days = _OICP_DAYS[entry.on.value]
        for period in entry.periods:
            begin = _minutes(_parse_hhmm(period.begin)) if period.begin != "24:00" else 1440
            end = 1440 if period.end in ("24:00", "00:00") else _minutes(_parse_hhmm(period.end))
            if begin < end and weekday in days and begin <= minute < end:
                return True
            if end < begin and (
                (weekday in days and minute >= begin) or ((weekday - 1) % 7 in days and minute < end)
            ):
                return True
    return False


def select_pricing_product(
    records: Sequence[PricingProductDataRecord],
    evse_pricing: Sequence[EVSEPricing],
    *,
    evse_id: str,
    provider_id: str,
    start: datetime,
    preferred_product_id: str | None = None,
) -> PricingProductDataRecord:
    """The pricing product that applies to a session (PullEVSEPricing + PullPricingProductData).

    EVSEPricing entries of this EVSE for our ProviderID win over ``*`` entries; within the product
    list, ``preferred_product_id`` (the CDR's PartnerProductID) is tried first, then the list
    order; the first product available at the session's local ``start`` is taken. Raises
    :class:`PricingError` when none applies.
    """
    key = evse_id_key(evse_id)
    ours = [
        e
        for e in evse_pricing
        if evse_id_key(e.evse_id) == key
        and e.provider_id != "*"
        and provider_id_key(e.provider_id) == provider_id_key(provider_id)
    ]
    everyone = [e for e in evse_pricing if evse_id_key(e.evse_id) == key and e.provider_id == "*"]
    product_ids = [pid for entry in (*ours, *everyone) for pid in entry.evse_id_product_list]
    if preferred_product_id is not None and preferred_product_id in product_ids:
        product_ids.insert(0, preferred_product_id)
    if not product_ids:
        raise PricingError("EVSEPricing", f"no pricing product is published for EVSE {evse_id}")
    by_id = {record.product_id: record for record in records}
    for product_id in product_ids:
        record = by_id.get(product_id)
        if record is not None and product_available(record, start):
            return record
    raise PricingError(
        "PricingProductData", f"none of {sorted(set(product_ids))} applies at {start.isoformat()}"
    )


def price_pricing_product(
    record: PricingProductDataRecord,
    usage: SessionUsage,
    *,
    vat_percent: Decimal | None = None,
    decimals: int = 2,
    rounding: str = decimal.ROUND_HALF_UP,
) -> PricedSession:
    """Price ``usage`` with an OICP PricingProductDataRecord (see the module docstring).

    KILOWATT_HOUR → ENERGY over all energy; HOUR/MINUTE → TIME over the charging time; START FEE
    and FIXED FEE → FLAT; PARKING FEE per HOUR/MINUTE → PARKING_TIME over the parking time;
    MINIMUM/MAXIMUM FEE clamp the total. ``vat_percent`` (OICP prices exclude VAT) gives incl_vat;
    without it incl_vat is left out. Raises :class:`PricingError` for a PARKING FEE per kWh.
    """
    factor = Decimal(1) + vat_percent / Decimal(100) if vat_percent is not None else None
    raw: dict[TariffDimensionType, tuple[Decimal, Decimal]] = {}

    def add(dimension: TariffDimensionType, volume: Decimal, cost: Decimal) -> None:
        old_volume, old_cost = raw.get(dimension, (Decimal(0), Decimal(0)))
        raw[dimension] = (old_volume + volume, old_cost + cost)

    charging_hours = usage.charging_seconds / _SECONDS_PER_HOUR
    parking_hours = usage.parking_seconds / _SECONDS_PER_HOUR
    price = record.price_per_reference_unit
    if record.reference_unit is ReferenceUnit.KILOWATT_HOUR:
        add(TariffDimensionType.ENERGY, usage.energy_kwh, price * usage.energy_kwh)
    elif record.reference_unit is ReferenceUnit.HOUR:
        add(TariffDimensionType.TIME, charging_hours, price * charging_hours)
    else:
        add(TariffDimensionType.TIME, charging_hours, price * charging_hours * 60)
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    for index, reference in enumerate(record.additional_references or []):
        fee = reference.price_per_additional_reference_unit
        kind = reference.additional_reference
        if kind in (AdditionalReference.START_FEE, AdditionalReference.FIXED_FEE):
            add(TariffDimensionType.FLAT, Decimal(1), fee)
        elif kind is AdditionalReference.PARKING_FEE:
            unit = reference.additional_reference_unit
            if unit is ReferenceUnit.KILOWATT_HOUR:
                raise PricingError(
                    f"AdditionalReferences[{index}].AdditionalReferenceUnit",
                    "a PARKING FEE per kWh cannot be priced",
                )
            per_hour = fee * 60 if unit is ReferenceUnit.MINUTE else fee
            add(TariffDimensionType.PARKING_TIME, parking_hours, per_hour * parking_hours)
        elif kind is AdditionalReference.MINIMUM_FEE:
            minimum = fee
        else:
            maximum = fee
    dimensions: dict[TariffDimensionType, DimensionCost] = {}
    total = Decimal(0)
    total_incl = Decimal(0)
    for dimension in TariffDimensionType:
        if dimension not in raw:
            continue
        volume, cost = raw[dimension]
        excl = _quantize(cost, decimals, rounding)
        incl = _quantize(cost * factor, decimals, rounding) if factor is not None else None
        dimensions[dimension] = DimensionCost(dimension, volume, OcpiPrice(excl_vat=excl, incl_vat=incl))
        total += excl
        total_incl += incl or Decimal(0)
    total_price = OcpiPrice(excl_vat=total, incl_vat=total_incl if factor is not None else None)
    priced = PricedSession(record.product_price_currency, total_price, dimensions)
    if minimum is not None and total < minimum:
        priced.total_cost = _oicp_total(_quantize(minimum, decimals, rounding), factor, decimals, rounding)
        priced.adjustment = "MINIMUM FEE"
    elif maximum is not None and total > maximum:
        priced.total_cost = _oicp_total(_quantize(maximum, decimals, rounding), factor, decimals, rounding)
        priced.adjustment = "MAXIMUM FEE"
    return priced


def _oicp_total(excl: Decimal, factor: Decimal | None, decimals: int, rounding: str) -> OcpiPrice:
    incl = _quantize(excl * factor, decimals, rounding) if factor is not None else None
    return OcpiPrice(excl_vat=excl, incl_vat=incl)


__all__ = [
    "DimensionCost",
    "PricedSession",
    "PricingError",
    "SessionUsage",
    "UsagePeriod",
    "price_ocpi_tariff",
    "price_pricing_product",
    "product_available",
    "seconds_between",
    "select_pricing_product",
]
