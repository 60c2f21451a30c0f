"""Shared machinery of the 2.1.1 ⇄ 2.2.1 translation: context, field rules, and the rules used by
several object families (coordinates, times, hours, energy mix). See :mod:`mappings.ocpi_versions`."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from bridge.errors import MappingError
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from mappings.result import Translation

M = TypeVar("M", bound=BaseModel)
TokenLookup = Callable[[str], "v221.Token | None"]
"""Finds our 2.2.1 Token by a 2.1.1 ``auth_id`` (= 2.2.1 ``contract_id``), or None."""

DEFAULT_COMMAND_TIMEOUT = 60
"""Seconds put in a 2.2.1 CommandResponse built from a 2.1.1 one, which has no ``timeout`` (§5)."""


@dataclass(frozen=True, slots=True)
class Ctx:
    """What a translation needs besides the object: the connection and the caches, passed in."""

    country_code: str | None = None
    party_id: str | None = None
    time_zone_default: str | None = None
    token_lookup: TokenLookup | None = None
    token_country_code: str | None = None
    token_party_id: str | None = None
    tariff_types: Mapping[str, v221.TariffType | None] | None = None
    location: v221.Location | None = None
    embedded: bool = False  # a Location inside a Session/CDR: sent even when unpublished
    reservation_id_int: int | None = None


Rule = Callable[[Any, str, Translation[Any], Ctx, Mapping[str, Any]], dict[str, Any]]
"""(value, source path, translation, context, sibling fields) -> target fields."""


# --------------------------------------------------------------------------------------------
# Generic helpers


def at(path: str, name: str | int) -> str:
    if isinstance(name, int):
        return f"{path}[{name}]"
    return f"{path}.{name}" if path else name


def plain(value: Any, path: str, t: Translation[Any]) -> Any:
    """A model as a dict of its declared, set fields (enums as values); unknown fields reported."""
    if isinstance(value, BaseModel):
        for extra in value.model_extra or {}:
            t.lost(at(path, extra), "unknown field, not carried across versions")
        return {
            name: plain(getattr(value, name), at(path, name), t)
            for name in type(value).model_fields
            if getattr(value, name) is not None
        }
    if isinstance(value, list):
        return [plain(item, at(path, i), t) for i, item in enumerate(value)]
    if isinstance(value, Enum):
        return value.value
    return value


def set_fields(source: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(source, BaseModel):
        data = {n: getattr(source, n) for n in type(source).model_fields if getattr(source, n) is not None}
        data.update(source.model_extra or {})
        return data
    return {k: v for k, v in source.items() if v is not None}


def apply(
    table: Mapping[str, Rule], source: BaseModel | Mapping[str, Any], path: str, t: Translation[Any], ctx: Ctx
) -> dict[str, Any]:
    """Run the field rules of ``table`` over the set fields of ``source`` (an object or a PATCH)."""
    fields = set_fields(source)
    out: dict[str, Any] = {}
    for name, value in fields.items():
        rule = table.get(name)
        if rule is None:
            t.lost(at(path, name), "unknown field, not carried across versions")
            continue
        out.update(rule(value, at(path, name), t, ctx, fields))
    return out


def build(cls: type[M], data: Mapping[str, Any], path: str) -> M:
    """Validate the translated data as ``cls``; a failure is a MappingError naming the field."""
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        where = path
        for part in error["loc"]:
            where = at(where, part if isinstance(part, int) else str(part))
        raise MappingError(where or cls.__name__, f"{error['msg']} (as {cls.__name__})") from None


def same(name: str | None = None) -> Rule:
    """Rule: copy the value under the same (or another) name, nested models as plain data."""

    def rule(value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]) -> dict[str, Any]:
        return {name or path.rsplit(".", 1)[-1]: plain(value, path, t)}

    return rule


def drop(reason: str) -> Rule:
    """Rule: the field has no place in the target version."""

    def rule(value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]) -> dict[str, Any]:
        t.lost(path, reason)
        return {}

    return rule


def max_length(name: str, limit: int) -> Rule:
    def rule(value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]) -> dict[str, Any]:
        if len(value) > limit:
            raise MappingError(path, f"{len(value)} characters; the target version allows {limit}")
        return {name: value}

    return rule


def each(convert: Callable[[Any, str, Translation[Any], Ctx], dict[str, Any] | None], name: str) -> Rule:
    """Rule for a list of objects; an element the converter omits (None) is left out."""

    def rule(value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]) -> dict[str, Any]:
        items = [convert(item, at(path, i), t, ctx) for i, item in enumerate(value)]
        return {name: [item for item in items if item is not None]}

    return rule


def lost_except(model: BaseModel, keep: set[str], path: str, t: Translation[Any], reason: str) -> None:
    """Note every set field of ``model`` outside ``keep`` (and every unknown field) as lost."""
    for name in type(model).model_fields:
        if name not in keep and getattr(model, name) is not None:
            t.lost(at(path, name), reason)
    for extra in model.model_extra or {}:
        t.lost(at(path, extra), "unknown field, not carried across versions")


def owner_defaulted(t: Translation[Any], path: str = "") -> None:
    t.defaulted(at(path, "country_code"), "from the connection (2.1.1 has no owner fields)")
    t.defaulted(at(path, "party_id"), "from the connection (2.1.1 has no owner fields)")


# --------------------------------------------------------------------------------------------
# Coordinates, times, hours, energy mix


_LATITUDE_221 = re.compile(r"^-?[0-9]{1,2}\.[0-9]{5,7}$")
_LONGITUDE_221 = re.compile(r"^-?[0-9]{1,3}\.[0-9]{5,7}$")
_SIX = Decimal("0.000001")


def six_decimals(value: str, path: str, t: Translation[Any]) -> str:
    result = str(Decimal(value).quantize(_SIX, rounding=ROUND_HALF_UP))
    if Decimal(result) != Decimal(value):
        t.changed(path, f"{value} rounded to 6 decimals ({result})")
    return result


def point_up(
    point: v211.GeoLocation | v211.AdditionalGeoLocation, path: str, t: Translation[Any]
) -> dict[str, Any]:
    """2.1.1 demands exactly 6 decimals (we accept others); 2.2.1 accepts 5 to 7: re-format outside that."""
    out: dict[str, Any] = {}
    for name, pattern in (("latitude", _LATITUDE_221), ("longitude", _LONGITUDE_221)):
        value = getattr(point, name)
        out[name] = value if pattern.match(value) else six_decimals(value, at(path, name), t)
    if isinstance(point, v211.AdditionalGeoLocation) and point.name is not None:
        out["name"] = plain(point.name, at(path, "name"), t)
    for extra in point.model_extra or {}:
        t.lost(at(path, extra), "unknown field, not carried across versions")
    return out


def point_down(
    point: v221.GeoLocation | v221.AdditionalGeoLocation, path: str, t: Translation[Any]
) -> dict[str, Any]:
    """2.1.1 GeoLocation: exactly 6 decimals (pad, or round with a CHANGED note)."""
    out: dict[str, Any] = {
        "latitude": six_decimals(point.latitude, at(path, "latitude"), t),
        "longitude": six_decimals(point.longitude, at(path, "longitude"), t),
    }
    if isinstance(point, v221.AdditionalGeoLocation) and point.name is not None:
        out["name"] = plain(point.name, at(path, "name"), t)
    for extra in point.model_extra or {}:
        t.lost(at(path, extra), "unknown field, not carried across versions")
    return out


def coordinates(direction: str) -> Rule:
    def rule(value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]) -> dict[str, Any]:
        convert = point_up if direction == "up" else point_down
        return {path.rsplit(".", 1)[-1]: convert(value, path, t)}

    return rule


def related(direction: str) -> Rule:
    def rule(value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]) -> dict[str, Any]:
        convert = point_up if direction == "up" else point_down
        return {"related_locations": [convert(p, at(path, i), t) for i, p in enumerate(value)]}

    return rule


def time_up(value: str, path: str, t: Translation[Any]) -> str:
    """2.1.1 admits ``[0-2][0-9]:[0-5][0-9]``; 2.2.1 only real times. ``24:00`` (end of day) -> ``00:00``."""
    if value == "24:00":
        t.changed(path, "24:00 written as 00:00 (end of day)")
        return "00:00"
    if int(value[:2]) > 23:
        raise MappingError(path, f"{value!r} is not a time of day")
    return value


def _regular_hours_up(value: v211.RegularHours, path: str, t: Translation[Any], ctx: Ctx) -> dict[str, Any]:
    out: dict[str, Any] = plain(value, path, t)
    for name in ("period_begin", "period_end"):
        out[name] = time_up(out[name], at(path, name), t)
    return out


def hours_up(
    value: v211.Hours, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]
) -> dict[str, Any]:
    """§5 Hours: 2.1.1 is a choice; twentyfourseven absent + regular_hours -> false; neither -> omit."""
    out: dict[str, Any] = {}
    for name in ("exceptional_openings", "exceptional_closings"):
        if getattr(value, name) is not None:
            out[name] = plain(getattr(value, name), at(path, name), t)
    for extra in value.model_extra or {}:
        t.lost(at(path, extra), "unknown field, not carried across versions")
    if value.twentyfourseven:
        if value.regular_hours:
            t.lost(at(path, "regular_hours"), "contradicts twentyfourseven=true; 24/7 kept")
        return {"opening_times": {"twentyfourseven": True, **out}}
    if value.regular_hours:
        hours = [
            _regular_hours_up(r, at(at(path, "regular_hours"), i), t, ctx)
            for i, r in enumerate(value.regular_hours)
        ]
        return {"opening_times": {"twentyfourseven": False, "regular_hours": hours, **out}}
    t.lost(path, "neither twentyfourseven=true nor regular_hours: no 2.2.1 Hours, opening_times omitted")
    return {}


def hours_down(
    value: v221.Hours, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]
) -> dict[str, Any]:
    """§5 Hours: send exactly one of ``twentyfourseven: true`` or ``regular_hours``, never both."""
    out: dict[str, Any] = {}
    for name in ("exceptional_openings", "exceptional_closings"):
        if getattr(value, name) is not None:
            out[name] = plain(getattr(value, name), at(path, name), t)
    for extra in value.model_extra or {}:
        t.lost(at(path, extra), "unknown field, not carried across versions")
    if value.twentyfourseven:
        if value.regular_hours:
            t.lost(at(path, "regular_hours"), "2.1.1 Hours is a choice: twentyfourseven=true is sent alone")
        return {"opening_times": {"twentyfourseven": True, **out}}
    return {
        "opening_times": {"regular_hours": plain(value.regular_hours, at(path, "regular_hours"), t), **out}
    }


def energy_mix(direction: str) -> Rule:
    """§5 EnvironmentalImpact: 2.1.1 ``source`` <-> 2.2.1 ``category``."""
    old, new = ("source", "category") if direction == "up" else ("category", "source")

    def rule(value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]) -> dict[str, Any]:
        mix: dict[str, Any] = plain(value, path, t)
        if "environ_impact" in mix:
            mix["environ_impact"] = [
                {(new if k == old else k): v for k, v in impact.items()} for impact in mix["environ_impact"]
            ]
        return {"energy_mix": mix}

    return rule


def enum_subset(target: type[Enum], name: str, why: str) -> Rule:
    """Rule for a list of enum values: values the target enum lacks are dropped, each noted."""
    known = {member.value for member in target}

    def rule(value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]) -> dict[str, Any]:
        kept = []
        for i, item in enumerate(value):
            text = item.value if isinstance(item, Enum) else item
            if text in known:
                kept.append(text)
            else:
                t.lost(at(path, i), f"{text}: {why}")
        return {name: kept}

    return rule
