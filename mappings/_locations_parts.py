"""The Location-level parts of OCPI → OICP (mappings._locations_out): names, coordinates, opening
times, energy mix, directions, the charger image, and the ``lost`` notes of unkept fields.

Rules in mappings/locations.py; spec references per function (oicp-2.3.md §4.2, §7). Built, not
validated (mappings._construct).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from bridge.errors import MappingError
from bridge.ocpi.models import v2_2_1 as v221
from bridge.oicp.models.evse_data import (
    DayValue,
    GeoCoordinates,
    GeoCoordinatesDecimalDegree,
    GeoCoordinatesGoogle,
    OpeningTimes,
    Period,
)
from mappings._construct import construct
from mappings._locations_tables import image_type
from mappings.result import Translation

if TYPE_CHECKING:
    from mappings.locations import LocationRules

SIX = Decimal("0.000001")
# A coordinate written as Decimal.quantize(SIX) writes it (6 decimals, no leading zero): kept as is.
_SIX_PLACES = re.compile(r"-?(?:0|[1-9][0-9]{0,2})\.[0-9]{6}").fullmatch
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def note_path(path: str, name: str | int) -> str:
    if isinstance(name, int):
        return f"{path}[{name}]"
    return f"{path}.{name}" if path else name


def lost_fields(model: BaseModel, path: str, kept: frozenset[str], out: Translation[Any]) -> None:
    """A ``lost`` note for every field of ``model`` that is set, not kept, and every unknown field."""
    if not model.__pydantic_extra__ and model.__pydantic_fields_set__ <= kept:
        return
    for name in model.model_fields_set - kept:
        if getattr(model, name, None) not in (None, []):
            out.lost(note_path(path, name), "no OICP field")
    for name in model.model_extra or ():
        out.lost(note_path(path, name), "unknown field, not carried")


def opening_times(entry: dict[str, Any]) -> OpeningTimes:
    periods = [construct(Period, period) for period in entry["period"]]
    return construct(OpeningTimes, {"period": periods, "on": DayValue(entry["on"])})


def geo(point: v221.GeoLocation, path: str, lr: LocationRules, out: Translation[Any]) -> GeoCoordinates:
    latitude, longitude = point.latitude, point.longitude
    if not (_SIX_PLACES(latitude) and _SIX_PLACES(longitude)):
        lat, lon = Decimal(latitude), Decimal(longitude)
        six_lat, six_lon = lat.quantize(SIX), lon.quantize(SIX)
        if six_lat != lat or six_lon != lon:
            out.changed(path, "rounded to 6 decimals (OICP GeoCoordinates)")
        latitude, longitude = f"{six_lat:f}", f"{six_lon:f}"
    # GeoCoordinates.from_lat_lon (Google or DecimalDegree), built rather than validated.
    if lr.coordinates_format == "Google":
        google = construct(GeoCoordinatesGoogle, {"coordinates": f"{latitude} {longitude}"})
        return construct(GeoCoordinates, {"google": google})
    decimal = construct(GeoCoordinatesDecimalDegree, {"latitude": latitude, "longitude": longitude})
    return construct(GeoCoordinates, {"decimal_degree": decimal})


def texts(items: Sequence[v221.DisplayText] | None, path: str, out: Translation[Any]) -> list[dict[str, str]]:
    texts: list[dict[str, str]] = []
    for index, item in enumerate(items or ()):
        text = item.text
        if len(text) > 150:
            text = text[:150]
            out.changed(f"{path}[{index}].text", "cut to 150 characters (OICP InfoText)")
        entry = {"lang": item.language.lower(), "value": text}
        if entry in texts:
            out.changed(f"{path}[{index}]", "a repeated text is sent once")
        else:
            texts.append(entry)
    return texts


def hours(
    hours: v221.Hours | None, lr: LocationRules, out: Translation[Any]
) -> tuple[bool, list[dict[str, Any]] | None]:
    """IsOpen24Hours + OpeningTimes (oicp-2.3.md §4.2: OpeningTimes mandatory when not open 24 h)."""
    if hours is None:
        if not lr.open_24_hours_when_unknown:
            raise MappingError("opening_times", "absent, and locations.open_24_hours_when_unknown is false")
        out.defaulted(
            "IsOpen24Hours", "true: the Location has no opening_times (locations.open_24_hours_when_unknown)"
        )
        return True, None
    for name in ("exceptional_openings", "exceptional_closings"):
        if getattr(hours, name):
            out.lost(f"opening_times.{name}", "OICP OpeningTimes have no exceptional periods")
    lost_fields(
        hours,
        "opening_times",
        frozenset({"twentyfourseven", "regular_hours", "exceptional_openings", "exceptional_closings"}),
        out,
    )
    if hours.twentyfourseven:
        if hours.regular_hours:
            out.lost("opening_times.regular_hours", "ignored: twentyfourseven is true")
        return True, None
    days: dict[int, list[dict[str, str]]] = {day: [] for day in range(1, 8)}
    for regular in hours.regular_hours or ():
        days[regular.weekday].append({"begin": regular.period_begin, "end": regular.period_end})

    def same(group: Sequence[int]) -> bool:
        return bool(days[group[0]]) and all(days[day] == days[group[0]] for day in group)

    if same(range(1, 8)):
        return False, [{"on": "Everyday", "period": days[1]}]
    entries: list[dict[str, Any]] = []
    workdays, weekend = same(range(1, 6)), same((6, 7))
    if workdays:
        entries.append({"on": "Workdays", "period": days[1]})
    entries += [
        {"on": _DAY_NAMES[day - 1], "period": days[day]} for day in range(1, 6) if not workdays and days[day]
    ]
    if weekend:
        entries.append({"on": "Weekend", "period": days[6]})
    entries += [
        {"on": _DAY_NAMES[day - 1], "period": days[day]} for day in (6, 7) if not weekend and days[day]
    ]
    return False, entries


def energy(
    mix: v221.EnergyMix | None, lr: LocationRules, out: Translation[Any]
) -> tuple[bool, list[dict[str, Any]] | None, dict[str, Decimal] | None]:
    if mix is None:
        out.defaulted(
            "RenewableEnergy",
            f"{str(lr.renewable_energy_default).lower()}: the Location has no "
            "energy_mix (locations.renewable_energy_default)",
        )
        return lr.renewable_energy_default, None, None
    totals: dict[Any, tuple[Decimal, int]] = {}
    merged: set[Any] = set()
    for index, source in enumerate(mix.energy_sources or ()):
        path = f"energy_mix.energy_sources[{index}]"
        target = lr.energy_sources.get(source.source)
        if target is None:
            out.lost(path, f"{source.source.value} has no OICP Energy")
            continue
        back = lr.energy_sources_to_ocpi.get(target)
        if back != source.source:
            out.changed(path, f"{source.source.value} is sent as {target.value}, which comes back as {back}")
        total, first = totals.get(target, (Decimal(0), index))
        if target in totals:
            merged.add(target)
            out.changed(path, f"added to the {target.value} percentage of energy_sources[{first}]")
        totals[target] = (total + Decimal(source.percentage), first)
    sources = []
    for target, (total, first) in totals.items():
        percentage = min(int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP)), 99)
        if target in merged:  # the first source comes back with the sum
            out.changed(
                f"energy_mix.energy_sources[{first}].percentage",
                f"sent as {percentage}, every {target.value} source added up",
            )
        if Decimal(percentage) != total:
            out.changed(
                f"energy_mix.energy_sources[{first}].percentage",
                f"{total} sent as {percentage} (OICP: an integer 0-99)",
            )
        sources.append({"energy": target, "percentage": percentage})
    impact: dict[str, Decimal] = {}
    for index, item in enumerate(mix.environ_impact or ()):
        key = (
            "co2_emission"
            if item.category is v221.EnvironmentalImpactCategory.CARBON_DIOXIDE
            else "nuclear_waste"
        )
        if key in impact or Decimal(item.amount) > 99999:
            out.lost(f"energy_mix.environ_impact[{index}]", "a second value or above 99999 g/kWh")
            continue
        impact[key] = Decimal(item.amount)
    lost_fields(mix, "energy_mix", frozenset({"is_green_energy", "energy_sources", "environ_impact"}), out)
    return mix.is_green_energy, sources or None, impact or None


def image(images: Sequence[v221.Image] | None, path: str, out: Translation[Any]) -> str | None:
    chosen: str | None = None
    for index, image in enumerate(images or ()):
        where = f"{path}.images[{index}]"
        if chosen is None and image.category is v221.ImageCategory.CHARGER and len(image.url) <= 200:
            chosen = image.url
            if image_type(image.url) != image.type.lower():
                out.changed(
                    f"{where}.type", f"{image.type!r} comes back from the url as {image_type(image.url)}"
                )
            lost_fields(image, where, frozenset({"url", "category", "type"}), out)
        else:
            out.lost(where, "OICP has one ChargingStationImage (the first CHARGER image, url ≤200)")
    return chosen


__all__ = ["SIX", "energy", "geo", "hours", "image", "lost_fields", "note_path", "opening_times", "texts"]
