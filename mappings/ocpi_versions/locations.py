"""OCPI 2.1.1 ⇄ 2.2.1: Locations, EVSEs, Connectors (docs/ocpi.md §5 Location, Hours, Coordinates,
EVSE, Connector, EnvironmentalImpact)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.errors import MappingError
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from mappings.ocpi_versions._rules import (
    Ctx,
    Rule,
    apply,
    at,
    build,
    coordinates,
    drop,
    each,
    energy_mix,
    enum_subset,
    hours_down,
    hours_up,
    max_length,
    related,
    same,
)
from mappings.result import Translation


class _OmitConnector(MappingError):
    """A connector that cannot be expressed in 2.1.1: omitted from its EVSE, or fatal if required."""


_CONNECTOR_TYPES_211 = frozenset(member.value for member in v211.ConnectorType)
_NEAREST_CONNECTOR: dict[str, str] = {"NEMA_5_20": "DOMESTIC_B"}
"""2.2.1-only ConnectorType -> nearest 2.1.1 value (a NEMA 5-20 receptacle takes 5-15 plugs).
Every other 2.2.1-only type (CHAOJI, DOMESTIC_M..O, GBT_*, NEMA_6/10/14_*, PANTOGRAPH_*) has no
near value and no OTHER exists in 2.1.1: such a connector is omitted."""

_NEAREST_POWER: dict[str, str] = {"AC_2_PHASE": "AC_1_PHASE", "AC_2_PHASE_SPLIT": "AC_1_PHASE"}

_PARKING_UP = {
    "ON_STREET": "ON_STREET",
    "PARKING_GARAGE": "PARKING_GARAGE",
    "UNDERGROUND_GARAGE": "UNDERGROUND_GARAGE",
    "PARKING_LOT": "PARKING_LOT",
}
_PARKING_DOWN = {**{v: k for k, v in _PARKING_UP.items()}, "ALONG_MOTORWAY": "OTHER", "ON_DRIVEWAY": "OTHER"}


def _tariff_id_up(
    value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]
) -> dict[str, Any]:
    return {"tariff_ids": [value]}


def _tariff_ids_down(
    value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]
) -> dict[str, Any]:
    """§5 Connector: one ``tariff_id``; pick the REGULAR or untyped tariff (by ``tariff_types``)."""
    if not value:
        return {}
    chosen = value[0]
    if len(value) > 1 and ctx.tariff_types is not None:
        regular = [
            i
            for i in value
            if i in ctx.tariff_types and ctx.tariff_types[i] in (None, v221.TariffType.REGULAR)
        ]
        chosen = regular[0] if regular else chosen
    for i, other in enumerate(value):
        if other != chosen:
            t.lost(at(path, i), f"2.1.1 has one tariff per connector; {chosen!r} was kept")
    return {"tariff_id": chosen}


def _standard_down(
    value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]
) -> dict[str, Any]:
    text = value.value
    if text in _CONNECTOR_TYPES_211:
        return {"standard": text}
    if text in _NEAREST_CONNECTOR:
        t.changed(path, f"{text} has no 2.1.1 value; sent as the nearest, {_NEAREST_CONNECTOR[text]}")
        return {"standard": _NEAREST_CONNECTOR[text]}
    raise _OmitConnector(path, f"ConnectorType {text} has no 2.1.1 value and no OTHER exists")


def _power_type_down(
    value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]
) -> dict[str, Any]:
    text = value.value
    if text in _NEAREST_POWER:
        t.changed(path, f"{text} has no 2.1.1 value; sent as {_NEAREST_POWER[text]}")
        return {"power_type": _NEAREST_POWER[text]}
    return {"power_type": text}


CONNECTOR_UP: dict[str, Rule] = {
    "id": same(),
    "standard": same(),
    "format": same(),
    "power_type": same(),
    "voltage": same("max_voltage"),
    "amperage": same("max_amperage"),
    "tariff_id": _tariff_id_up,
    "terms_and_conditions": same(),
    "last_updated": same(),
}
CONNECTOR_DOWN: dict[str, Rule] = {
    "id": same(),
    "standard": _standard_down,
    "format": same(),
    "power_type": _power_type_down,
    "max_voltage": same("voltage"),
    "max_amperage": same("amperage"),
    "max_electric_power": drop("2.1.1 Connector has no max_electric_power"),
    "tariff_ids": _tariff_ids_down,
    "terms_and_conditions": same(),
    "last_updated": same(),
}


def _connector_up(value: Any, path: str, t: Translation[Any], ctx: Ctx) -> dict[str, Any]:
    return apply(CONNECTOR_UP, value, path, t, ctx)


def _connector_down(value: Any, path: str, t: Translation[Any], ctx: Ctx) -> dict[str, Any] | None:
    sub: Translation[Any] = Translation(None)
    try:
        out = apply(CONNECTOR_DOWN, value, path, sub, ctx)
    except _OmitConnector as exc:
        t.lost(path, f"connector omitted: {exc.reason}")
        return None
    t.losses.extend(sub.losses)
    return out


EVSE_UP: dict[str, Rule] = {
    "uid": max_length("uid", 36),
    "evse_id": same(),
    "status": same(),
    "status_schedule": same(),
    "capabilities": same(),
    "connectors": each(_connector_up, "connectors"),
    "floor_level": same(),
    "coordinates": coordinates("up"),
    "physical_reference": same(),
    "directions": same(),
    "parking_restrictions": same(),
    "images": same(),
    "last_updated": same(),
}
EVSE_DOWN: dict[str, Rule] = {
    **{
        name: same()
        for name in (
            "uid",
            "evse_id",
            "status",
            "status_schedule",
            "floor_level",
            "physical_reference",
            "directions",
            "parking_restrictions",
            "images",
            "last_updated",
        )
    },
    "capabilities": enum_subset(v211.Capability, "capabilities", "not a 2.1.1 Capability"),
    "connectors": each(_connector_down, "connectors"),
    "coordinates": coordinates("down"),
}


def _evse_up(value: Any, path: str, t: Translation[Any], ctx: Ctx) -> dict[str, Any]:
    return apply(EVSE_UP, value, path, t, ctx)


def _evse_down(value: Any, path: str, t: Translation[Any], ctx: Ctx) -> dict[str, Any] | None:
    out = apply(EVSE_DOWN, value, path, t, ctx)
    if "connectors" in out and not out["connectors"]:
        t.lost(path, "EVSE omitted: none of its connectors can be expressed in 2.1.1")
        return None
    return out


def _parking_up(
    value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]
) -> dict[str, Any]:
    """§5 Location: ``type`` -> ``parking_type``; OTHER has no ParkingType (lost), UNKNOWN = absent."""
    if value.value in _PARKING_UP:
        return {"parking_type": _PARKING_UP[value.value]}
    if value is v211.LocationType.OTHER:
        t.lost(path, "OTHER has no 2.2.1 ParkingType; parking_type omitted")
    return {}


def _parking_down(
    value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]
) -> dict[str, Any]:
    target = _PARKING_DOWN[value.value]
    if target != value.value:
        t.changed(path, f"{value.value} has no 2.1.1 LocationType; sent as {target}")
    return {"type": target}


def _address_down(
    value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]
) -> dict[str, Any]:
    """§5 Location: 2.1.1 address is string(45): truncate."""
    if len(value) > 45:
        t.changed(path, f"truncated from {len(value)} to 45 characters")
        return {"address": value[:45]}
    return {"address": value}


def _publish_down(
    value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]
) -> dict[str, Any]:
    """§5 Location: don't publish ``publish=false`` locations to 2.1.1 peers."""
    if value is False and not ctx.embedded:
        raise MappingError(path, "publish=false: unpublished Locations are not sent to 2.1.1 peers")
    t.lost(path, "2.1.1 has no publish flag (only published Locations are sent)")
    return {}


LOCATION_UP: dict[str, Rule] = {
    "id": max_length("id", 36),
    "type": _parking_up,
    **{
        name: same()
        for name in (
            "name",
            "address",
            "city",
            "postal_code",
            "country",
            "directions",
            "operator",
            "suboperator",
            "owner",
            "facilities",
            "time_zone",
            "charging_when_closed",
            "images",
            "last_updated",
        )
    },
    "coordinates": coordinates("up"),
    "related_locations": related("up"),
    "evses": each(_evse_up, "evses"),
    "opening_times": hours_up,
    "energy_mix": energy_mix("up"),
}
LOCATION_DOWN: dict[str, Rule] = {
    "country_code": drop("2.1.1 has no owner fields (the URL of the connection carries them)"),
    "party_id": drop("2.1.1 has no owner fields (the URL of the connection carries them)"),
    "publish": _publish_down,
    "publish_allowed_to": drop("2.1.1 has no publish_allowed_to"),
    "state": drop("2.1.1 Location has no state"),
    "parking_type": _parking_down,
    **{
        name: same()
        for name in (
            "id",
            "name",
            "city",
            "postal_code",
            "country",
            "directions",
            "operator",
            "suboperator",
            "owner",
            "time_zone",
            "charging_when_closed",
            "images",
            "last_updated",
        )
    },
    "address": _address_down,
    "facilities": enum_subset(v211.Facility, "facilities", "not a 2.1.1 Facility"),
    "coordinates": coordinates("down"),
    "related_locations": related("down"),
    "evses": each(_evse_down, "evses"),
    "opening_times": hours_down,
    "energy_mix": energy_mix("down"),
}


def location_up(
    loc211: v211.Location, *, country_code: str, party_id: str, time_zone_default: str
) -> Translation[v221.Location]:
    """§5 Location (ingress): owner fields from the connection, ``publish=true``, ``time_zone``
    defaulted when absent (2.2.1 requires it), ``type`` -> ``parking_type``, hours, coordinates,
    connector voltage/amperage/tariff_id, EnvironmentalImpact ``source`` -> ``category``."""
    t: Translation[Any] = Translation(None)
    data = _location_up_data(loc211, "", t, Ctx(country_code, party_id, time_zone_default))
    t.value = build(v221.Location, data, "")
    return t


def _location_up_data(loc: v211.Location, path: str, t: Translation[Any], ctx: Ctx) -> dict[str, Any]:
    data = {"country_code": ctx.country_code, "party_id": ctx.party_id, "publish": True}
    t.defaulted(at(path, "country_code"), "from the connection (2.1.1 Location has no owner fields)")
    t.defaulted(at(path, "party_id"), "from the connection (2.1.1 Location has no owner fields)")
    t.defaulted(at(path, "publish"), "true: 2.1.1 has no publish flag, its Locations are public")
    data.update(apply(LOCATION_UP, loc, path, t, ctx))
    if "time_zone" not in data:
        data["time_zone"] = ctx.time_zone_default
        t.defaulted(at(path, "time_zone"), f"{ctx.time_zone_default} (required in 2.2.1, absent in 2.1.1)")
    return data


def evse_up(evse211: v211.EVSE) -> Translation[v221.EVSE]:
    """§5 EVSE (ingress): capabilities are a subset; uid at most 36 characters in 2.2.1."""
    t: Translation[Any] = Translation(None)
    t.value = build(v221.EVSE, _evse_up(evse211, "", t, Ctx()), "")
    return t


def connector_up(connector211: v211.Connector) -> Translation[v221.Connector]:
    """§5 Connector (ingress): ``voltage``/``amperage`` -> ``max_*``, ``tariff_id`` -> ``tariff_ids``."""
    t: Translation[Any] = Translation(None)
    t.value = build(v221.Connector, _connector_up(connector211, "", t, Ctx()), "")
    return t


def location_down(
    loc221: v221.Location, *, tariff_types: Mapping[str, v221.TariffType | None] | None = None
) -> Translation[v211.Location]:
    """§5 Location (egress): refuses ``publish=false``; ``parking_type`` -> ``type`` (absent ->
    UNKNOWN); drops owner fields, publish, publish_allowed_to, state; truncates address to 45;
    coordinates to 6 decimals; hours as a choice; new enum values dropped or mapped to the nearest."""
    t: Translation[Any] = Translation(None)
    t.value = build(v211.Location, location_down_data(loc221, "", t, Ctx(tariff_types=tariff_types)), "")
    return t


def location_down_data(loc: v221.Location, path: str, t: Translation[Any], ctx: Ctx) -> dict[str, Any]:
    data = apply(LOCATION_DOWN, loc, path, t, ctx)
    if "type" not in data:
        data["type"] = v211.LocationType.UNKNOWN.value
        t.defaulted(at(path, "type"), "UNKNOWN: no parking_type (2.1.1 type is required)")
    if "postal_code" not in data:
        data["postal_code"] = ""
        t.defaulted(at(path, "postal_code"), "empty: required in 2.1.1, absent in 2.2.1")
    return data


def evse_down(
    evse221: v221.EVSE, *, tariff_types: Mapping[str, v221.TariffType | None] | None = None
) -> Translation[v211.EVSE]:
    """§5 EVSE (egress): new Capability values dropped; connectors that 2.1.1 cannot express are
    omitted; an EVSE left without connectors cannot be sent (MappingError)."""
    t: Translation[Any] = Translation(None)
    data = _evse_down(evse221, "", t, Ctx(tariff_types=tariff_types))
    if data is None:
        raise MappingError("connectors", "none of the connectors can be expressed in 2.1.1")
    t.value = build(v211.EVSE, data, "")
    return t


def connector_down(
    connector221: v221.Connector, *, tariff_types: Mapping[str, v221.TariffType | None] | None = None
) -> Translation[v211.Connector]:
    """§5 Connector (egress): ``max_*`` -> ``voltage``/``amperage``, one ``tariff_id`` (the
    REGULAR/untyped one), ``max_electric_power`` dropped, new types to the nearest value; a type
    without a 2.1.1 value is a MappingError here (inside an EVSE the connector is omitted)."""
    t: Translation[Any] = Translation(None)
    t.value = build(
        v211.Connector, apply(CONNECTOR_DOWN, connector221, "", t, Ctx(tariff_types=tariff_types)), ""
    )
    return t
