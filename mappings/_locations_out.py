"""OCPI Location (2.2.1, or 2.1.1 raised first) → OICP EvseDataRecords; rules in mappings/locations.py.

Note paths: ``lost``/``changed`` name the OCPI source field (``evses[0].connectors[1].max_voltage``);
``defaulted`` names the OICP target as ``<EvseID>.<field>`` (or the bare field when it is the same
for every record of the Location).

The records are built, not validated (mappings._construct; CONTRIBUTING.md: validate once, at the
edge): the input is a validated Location and every value comes from it, from validated rule tables
or from this module, already of the type validation would give. What OICP allows on the wire (ID
formats, lengths, mandatory fields) is checked when a record is serialized (egress strict,
``bridge.oicp.models.common.to_json``). tests/mappings/test_locations_construct.py holds the
records to what validation gives.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel

from bridge.errors import MappingError
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from bridge.oicp.models.evse_data import (
    Address,
    AuthenticationMode,
    ChargingFacility,
    DayValue,
    EnergySource,
    EnvironmentalImpact,
    EvseDataRecord,
    GeoCoordinates,
    GeoCoordinatesDecimalDegree,
    GeoCoordinatesGoogle,
    InfoText,
    OpeningTimes,
    PaymentOption,
    Period,
    Plug,
    ValueAddedService,
)
from bridge.oicp.models.evse_data import PowerType as OicpPowerType
from mappings import ids
from mappings._construct import construct, like
from mappings._locations_tables import PAD, image_type, join_address, split_address
from mappings.ocpi_versions import location_up
from mappings.result import Loss, LossKind, Translation
from mappings.status import StatusAction, status_to_oicp

if TYPE_CHECKING:
    from mappings.locations import LocationRules
    from mappings.rules import MappingRules

_ROUNDING = {"half_up": ROUND_HALF_UP, "down": ROUND_DOWN, "up": ROUND_UP}
_SIX = Decimal("0.000001")
_ONE = Decimal(1)
_MAX_KW = Decimal(999)
_new = object.__new__
_set = object.__setattr__
_IDS = {position: str(position + 1) for position in range(64)}  # connector id by position (beyond: None)
_UID_BACK = "OICP knows the EVSE by EvseID only; the uid comes back as "
_EVSE_ID_MATCH = ids.EVSE_ID_RE.match
_OCPI_ID_MAX = ids.OCPI_ID_MAX
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Fields with a place in the records (the others are noted as lost).
_LOCATION_KEPT = frozenset(
    "country_code party_id id publish name address city postal_code state country coordinates "
    "parking_type evses directions operator suboperator time_zone opening_times energy_mix "
    "last_updated".split()
)
_EVSE_KEPT = frozenset(
    "uid evse_id status capabilities connectors floor_level coordinates directions images "
    "last_updated".split()
)
_CONNECTOR_KEPT = frozenset(
    "id standard format power_type max_voltage max_amperage max_electric_power last_updated".split()
)
_EVSE_VALUES = tuple(  # the EVSE-level values of the rules (per EVSE in locations.evse_overrides)
    "hotline_phone_number accessibility is_hubject_compatible dynamic_info_available "
    "calibration_law_data_availability authentication_modes payment_options value_added_services".split()
)


_Note = tuple[LossKind, str, str]
"""(kind, suffix of the source path, detail): a note kept in a per-call cache, emitted per path."""


@dataclass(slots=True)
class _Site:
    """One Location in translation: its rules, what its records share (built once, shared by the
    records), and the caches of what its EVSEs repeat (statuses, connectors, capabilities)."""

    lr: LocationRules
    rules: MappingRules
    operator_id: str
    defaults: _Values  # the section's EVSE-level values
    address: dict[str, Any]
    geo: GeoCoordinates
    directions: list[dict[str, str]]
    shared: dict[str, Any]
    direction_models: list[InfoText]
    floors: dict[str | None, Address] = field(default_factory=dict)
    template: EvseDataRecord | None = None  # the first record
    plain: EvseDataRecord | None = None  # the first record of an EVSE with nothing of its own (_record)
    statuses: dict[Any, tuple[bool, StatusAction, str | None]] = field(default_factory=dict)  # published?
    connectors: dict[tuple[Any, ...], _Connector] = field(default_factory=dict)
    capabilities: dict[tuple[Any, ...], _Capabilities] = field(default_factory=dict)  # the section's values

    def address_for(self, floor: str | None) -> Address:
        found = self.floors.get(floor)
        if found is None:
            data = self.address if floor is None else {**self.address, "floor": floor}
            found = self.floors[floor] = construct(Address, data)
        return found


def _at(path: str, name: str | int) -> str:
    if isinstance(name, int):
        return f"{path}[{name}]"
    return f"{path}.{name}" if path else name


def lost_fields(model: BaseModel, path: str, kept: frozenset[str], out: Translation[Any]) -> None:
    """A ``lost`` note for every field of ``model`` that is set, not kept, and every unknown field."""
    if not model.__pydantic_extra__ and model.__pydantic_fields_set__ <= kept:
        return
    for name in model.model_fields_set - kept:
        if getattr(model, name, None) not in (None, []):
            out.lost(_at(path, name), "no OICP field")
    for name in model.model_extra or ():
        out.lost(_at(path, name), "unknown field, not carried")


def location_to_evse_records(
    location: v221.Location | v211.Location,
    rules: MappingRules,
    *,
    operator_id: str,
    operator_name: str,
    now: datetime | None = None,
) -> Translation[list[EvseDataRecord]]:
    """One OICP EvseDataRecord per publishable EVSE of an OCPI Location (oicp-2.3.md §7).

    ``operator_id`` / ``operator_name`` are the CPO's (the PushEvseData envelope). ``now`` gives
    ``Address.TimeZone`` as the zone's UTC offset at that instant (omitted without it). 2.1.1 input
    is raised to 2.2.1 first (mappings.ocpi_versions.location_up, owner from ``operator_id``).
    The records of one Location share their Location-level parts (names, opening times, energy
    source objects, Address, GeoCoordinates) and equal capability lists: treat the records as
    read-only values.
    """
    lr = rules.locations
    out: Translation[list[EvseDataRecord]] = Translation([])
    zone_known = True
    if isinstance(location, v211.Location):
        zone_known = location.time_zone is not None or bool(_configured_zone(lr, location.country))
        location = _up(location, lr, operator_id, out)
    if not location.publish and lr.unpublished_locations == "skip":
        out.lost(
            "publish", "false: a private Location is not sent to Hubject (locations.unpublished_locations)"
        )
        return out
    site = _site(location, lr, rules, operator_id, now if zone_known else None, out)
    emitted: list[tuple[int, v221.EVSE, list[dict[str, str]]]] = []
    seen: dict[str, int] = {}
    records = out.value
    for index, evse in enumerate(location.evses or ()):
        built = _record(evse, index, site, out)
        if built is None:
            continue
        record, directions = built
        key = record.evse_id.replace("*", "")  # normalised: upper case, '*' the only separator
        if key in seen:
            out.lost(
                f"evses[{index}]",
                f"EvseID {record.evse_id} is already used by evses[{seen[key]}]: not sent",
            )
            continue
        seen[key] = index
        records.append(record)
        emitted.append((index, evse, directions))
    if not location.evses:
        out.lost("evses", "no EVSE: OICP has no Location without EvseDataRecords")
    _round_trip_notes(location, emitted, lr, operator_name, out)
    lost_fields(location, "", _LOCATION_KEPT, out)
    return out


def _configured_zone(lr: LocationRules, country: str) -> str | None:
    return lr.time_zone or lr.time_zones_by_country.get(country.upper())


def _up(location: v211.Location, lr: LocationRules, operator_id: str, out: Translation[Any]) -> v221.Location:
    party = ids.operator_party(operator_id, lr.din_operators)
    if party is None:
        raise MappingError(
            "operator_id",
            f"{operator_id!r} gives no OCPI country_code/party_id "
            "(a DIN operator needs a row in locations.din_operators)",
        )
    zone = location.time_zone or _configured_zone(lr, location.country) or "UTC"
    raised = location_up(location, country_code=party[0], party_id=party[1], time_zone_default=zone)
    out.losses.extend(raised.losses)
    return raised.value


# ---------------------------------------------------------------------------------------------
# Location level


def _site(
    location: v221.Location,
    lr: LocationRules,
    rules: MappingRules,
    operator_id: str,
    now: datetime | None,
    out: Translation[Any],
) -> _Site:
    street, number = split_address(location.address, lr.address_split)
    if len(street) > 100:
        raise MappingError(
            "address",
            "the street is longer than 100 characters (OICP Street); cutting it would name another place",
        )
    back = join_address(street, number, lr.address_split, lr.house_number_default)
    if back != location.address:
        out.changed("address", f"sent as Street {street!r} + HouseNum {number!r}; comes back as {back!r}")
    if number is None:
        number = lr.house_number_default
        out.defaulted(
            "Address.HouseNum", f"{number!r}: the address has none (locations.house_number_default)"
        )
    if len(street) < 2:
        street = street.ljust(2, PAD)
    postal_code = location.postal_code
    if not postal_code:
        postal_code = lr.postal_code_default
        out.defaulted(
            "Address.PostalCode", f"{postal_code!r}: the Location has none (locations.postal_code_default)"
        )
    address: dict[str, Any] = {
        "country": location.country.upper(),
        "city": location.city,
        "street": street,
        "postal_code": postal_code,
        "house_num": number,
    }
    if location.state:
        address["region"] = location.state
    if now is not None:
        address["time_zone"] = _offset(location.time_zone, now, out)
    if location.name:
        name = location.name
        if len(name) > 150:
            name = name[:150]
            out.changed("name", "cut to 150 characters (OICP InfoText)")
    else:
        name = f"{location.address}, {location.city}"[:150]
        out.defaulted("ChargingStationNames", f"{name!r}: the Location has no name")
    is_open, opening = _hours(location.opening_times, lr, out)
    renewable, sources, impact = _energy(location.energy_mix, lr, out)
    parking = None
    if location.parking_type is not None:
        parking = lr.accessibility_locations.get(location.parking_type)
        back_type = next(
            (k for k, v in lr.accessibility_locations.items() if v is not None and v == parking), None
        )
        if parking is None:
            out.lost("parking_type", f"{location.parking_type.value} has no OICP AccessibilityLocation")
        elif back_type != location.parking_type:
            out.changed("parking_type", f"sent as {parking.value}, which comes back as {back_type}")
    for holder in ("operator", "suboperator"):
        details = getattr(location, holder)
        if details is not None:
            lost_fields(details, holder, frozenset({"name"}), out)
    shared: dict[str, Any] = {
        "charging_station_id": location.id,
        "charging_station_names": [construct(InfoText, {"lang": lr.names_lang, "value": name})],
        "renewable_energy": renewable,
        "is_open_24_hours": is_open,
    }
    pool = ids.charging_pool_id(operator_id, location.id)
    if pool:
        shared["charging_pool_id"] = pool
    if location.suboperator and location.suboperator.name:
        shared["sub_operator_name"] = location.suboperator.name
    if opening:
        shared["opening_times"] = [_opening(entry) for entry in opening]
    if sources:
        shared["energy_source"] = [construct(EnergySource, entry) for entry in sources]
    if impact:
        shared["environmental_impact"] = construct(EnvironmentalImpact, impact)
    if parking:
        shared["accessibility_location"] = parking
    directions = _texts(location.directions, "directions", out)
    return _Site(
        lr=lr,
        rules=rules,
        operator_id=operator_id,
        defaults=_values(lr, None),
        address=address,
        geo=_geo(location.coordinates, "coordinates", lr, out),
        directions=directions,
        shared=shared,
        direction_models=[construct(InfoText, text) for text in directions],
    )


def _opening(entry: dict[str, Any]) -> OpeningTimes:
    periods = [construct(Period, period) for period in entry["period"]]
    return construct(OpeningTimes, {"period": periods, "on": DayValue(entry["on"])})


def _offset(zone: str, now: datetime, out: Translation[Any]) -> str | None:
    try:
        offset = now.astimezone(ZoneInfo(zone)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        out.lost("time_zone", f"{zone!r} is not a known IANA zone: no Address.TimeZone")
        return None
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _geo(point: v221.GeoLocation, path: str, lr: LocationRules, out: Translation[Any]) -> GeoCoordinates:
    lat, lon = Decimal(point.latitude), Decimal(point.longitude)
    six_lat, six_lon = lat.quantize(_SIX), lon.quantize(_SIX)
    if six_lat != lat or six_lon != lon:
        out.changed(path, "rounded to 6 decimals (OICP GeoCoordinates)")
    # GeoCoordinates.from_lat_lon (Google or DecimalDegree), built rather than validated.
    latitude, longitude = f"{six_lat:f}", f"{six_lon:f}"
    if lr.coordinates_format == "Google":
        google = construct(GeoCoordinatesGoogle, {"coordinates": f"{latitude} {longitude}"})
        return construct(GeoCoordinates, {"google": google})
    decimal = construct(GeoCoordinatesDecimalDegree, {"latitude": latitude, "longitude": longitude})
    return construct(GeoCoordinates, {"decimal_degree": decimal})


def _texts(
    items: Sequence[v221.DisplayText] | None, path: str, out: Translation[Any]
) -> list[dict[str, str]]:
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


def _hours(
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


def _energy(
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


# ---------------------------------------------------------------------------------------------
# EVSE level


class _Values(NamedTuple):
    hotline_phone_number: str | None
    accessibility: Any
    is_hubject_compatible: bool
    dynamic_info_available: Any
    calibration_law_data_availability: Any
    authentication_modes: list[AuthenticationMode] | None
    payment_options: list[PaymentOption] | None
    value_added_services: list[ValueAddedService] | None


def _values(lr: LocationRules, evse_id: str | None, defaults: _Values | None = None) -> _Values:
    """The EVSE-level values: the section's, with the ``evse_overrides`` row of ``evse_id`` on top.

    ``defaults`` (the section's values) is returned as is when no row names ``evse_id``.
    """
    values = {name: getattr(lr, name) for name in _EVSE_VALUES}
    found = False
    if evse_id is not None:
        wanted = ids.canonical_id(evse_id)
        for key, row in lr.evse_overrides.items():
            if ids.canonical_id(key) == wanted:
                found = True
                values.update(
                    {name: getattr(row, name) for name in _EVSE_VALUES if getattr(row, name) is not None}
                )
    if defaults is not None and not found:
        return defaults
    return _Values(**values)


def _record(
    evse: v221.EVSE, index: int, site: _Site, out: Translation[Any]
) -> tuple[EvseDataRecord, list[dict[str, str]]] | None:
    """The record of one EVSE and the directions sent with it; None when the EVSE is not sent.

    Run once per EVSE: what EVSEs of a Location repeat comes from the caches in ``site``.
    """
    lr = site.lr
    losses = out.losses
    path = f"evses[{index}]"
    status = site.statuses.get(evse.status)
    if status is None:
        translated = status_to_oicp(evse.status, site.rules)
        detail = translated.losses[0].detail if translated.losses else None
        action = translated.value.action
        status = site.statuses[evse.status] = (action is StatusAction.PUBLISH, action, detail)
    if status[2] is not None:
        losses.append(Loss(f"{path}.status", LossKind.CHANGED, status[2]))
    if not status[0]:
        out.lost(path, f"status {evse.status}: no EvseDataRecord ({status[1]}, status.to_oicp)")
        return None
    evse_id = evse.evse_id
    if evse_id and evse_id.isupper() and len(evse_id) <= _OCPI_ID_MAX and _EVSE_ID_MATCH(evse_id):
        # _evse_id in short for the common case: a valid EvseID (no '-', no blank: nothing to
        # normalise) that ids.evse_uid keeps as it is.
        if evse_id != evse.uid:
            losses.append(Loss(f"{path}.uid", LossKind.CHANGED, _UID_BACK + repr(evse_id)))
    else:
        evse_id = _evse_id(evse, path, lr, site.operator_id, out)
        if evse_id is None:
            return None
    defaults = site.defaults
    values = _values(lr, evse_id, defaults) if lr.evse_overrides else defaults
    if values.hotline_phone_number is None:
        raise MappingError(
            "HotlinePhoneNumber",
            "no hotline number configured: set locations.hotline_phone_number "
            "(per operator in overrides, per EVSE in locations.evse_overrides)",
        )
    plugs: list[Plug] = []
    facilities: list[ChargingFacility] = []
    translated_connectors = site.connectors
    for position, connector in enumerate(evse.connectors):
        key = (
            connector.standard,
            connector.format,
            connector.power_type,
            connector.max_voltage,
            connector.max_amperage,
            connector.max_electric_power,
        )
        found = translated_connectors.get(key)
        if found is None:
            found = translated_connectors[key] = _translate_connector(connector, lr)
        plug, facility, notes, computed = found
        if plug is None or isinstance(facility, str):
            where = f"{path}.connectors[{position}]"
            if lr.unmappable_connectors == "error":
                raise MappingError(where, str(facility))
            losses.append(Loss(where, LossKind.LOST, f"{facility}: the connector is dropped"))
            continue
        if notes:
            where = f"{path}.connectors[{position}]"
            for kind, suffix, detail in notes:
                losses.append(Loss(where + suffix, kind, detail))
        if (
            computed
            or connector.id != _IDS.get(len(plugs))
            or connector.tariff_ids
            or connector.terms_and_conditions
            or connector.__pydantic_extra__
        ):
            _connector_notes(connector, f"{path}.connectors[{position}]", len(plugs), evse_id, computed, out)
        plugs.append(plug)
        facilities.append(facility)
    if not plugs:
        if lr.evses_without_plugs == "error":
            raise MappingError(f"{path}.connectors", "no connector has an OICP plug")
        out.lost(path, "no connector with an OICP plug: the EVSE is not sent (locations.evses_without_plugs)")
        return None
    capabilities = tuple(evse.capabilities) if evse.capabilities else ()
    shared_values = values is defaults
    choice = site.capabilities.get(capabilities) if shared_values else None
    if choice is None:
        choice = _capabilities(capabilities, lr, values)
        if shared_values:
            site.capabilities[capabilities] = choice
    if choice[3] or choice[4] or choice[5]:
        _capability_notes(choice, path, evse_id, out)
    plain = (
        shared_values
        and evse.floor_level is None
        and evse.coordinates is None
        and not evse.directions
        and not evse.images
    )
    if not plain or site.plain is None:
        built = _own_record(evse, path, site, values, evse_id, plugs, facilities, choice, out)
        if plain:
            site.plain = built[0]
        return built
    if evse.__pydantic_extra__ or not evse.__pydantic_fields_set__ <= _EVSE_KEPT:
        lost_fields(evse, path, _EVSE_KEPT, out)
    # An EVSE with nothing of its own: the first such record with what differs between EVSEs set
    # again (all of them keys that _own_record sets, so the fields set stays the template's).
    template = site.plain
    data = template.__dict__.copy()
    data["evse_id"] = evse_id
    data["plugs"] = plugs
    data["charging_facilities"] = facilities
    data["authentication_modes"] = choice[0]
    data["payment_options"] = choice[1]
    data["value_added_services"] = choice[2]
    record = _new(EvseDataRecord)  # mappings._construct.instance, inlined: once per EVSE
    _set(record, "__dict__", data)
    _set(record, "__pydantic_fields_set__", set(template.__pydantic_fields_set__))
    _set(record, "__pydantic_extra__", {})
    _set(record, "__pydantic_private__", None)
    return record, site.directions


def _own_record(
    evse: v221.EVSE,
    path: str,
    site: _Site,
    values: _Values,
    evse_id: str,
    plugs: list[Plug],
    facilities: list[ChargingFacility],
    choice: _Capabilities,
    out: Translation[Any],
) -> tuple[EvseDataRecord, list[dict[str, str]]]:
    """The record of an EVSE with parts of its own (floor, coordinates, directions, images, values)."""
    directions = site.directions
    direction_models = site.direction_models
    if evse.directions:
        own = [
            text for text in _texts(evse.directions, f"{path}.directions", out) if text not in site.directions
        ]
        directions = directions + own
        direction_models = direction_models + [construct(InfoText, text) for text in own]
    data: dict[str, Any] = {
        "evse_id": evse_id,
        "address": site.address_for(evse.floor_level),
        "geo_coordinates": site.geo
        if evse.coordinates is None
        else _geo(evse.coordinates, f"{path}.coordinates", site.lr, out),
        "plugs": plugs,
        "charging_facilities": facilities,
        "calibration_law_data_availability": values.calibration_law_data_availability,
        "authentication_modes": choice[0],
        "payment_options": choice[1],
        "value_added_services": choice[2],
        "accessibility": values.accessibility,
        "hotline_phone_number": values.hotline_phone_number,
        "is_hubject_compatible": values.is_hubject_compatible,
        "dynamic_info_available": values.dynamic_info_available,
        "charging_station_location_reference": direction_models or None,
        "charging_station_image": _image(evse.images, path, out) if evse.images else None,
    }
    if evse.__pydantic_extra__ or not evse.__pydantic_fields_set__ <= _EVSE_KEPT:
        lost_fields(evse, path, _EVSE_KEPT, out)
    if site.template is None:
        record = site.template = construct(EvseDataRecord, {**site.shared, **data})
    else:  # the keys the first record was built with: a copy of it with this EVSE's values
        record = like(site.template, data)
    return record, directions


def _evse_id(
    evse: v221.EVSE, path: str, lr: LocationRules, operator_id: str, out: Translation[Any]
) -> str | None:
    if evse.evse_id:
        raw = evse.evse_id
        evse_id = raw if raw.isupper() and "-" not in raw and " " not in raw else ids.normalize_evse_id(raw)
        if ids.EVSE_ID_RE.match(evse_id) is None:
            out.lost(path, f"evse_id {evse.evse_id!r} is not a valid OICP EvseID: the EVSE is not sent")
            return None
        if evse_id != raw:
            out.changed(f"{path}.evse_id", f"sent as {evse_id!r} (OICP separators are '*')")
    elif lr.missing_evse_id == "derive" and (derived := ids.derived_evse_id(operator_id, evse.uid)):
        evse_id = derived
        out.defaulted(f"{evse_id}.EvseID", f"derived from uid {evse.uid!r} (locations.missing_evse_id)")
    else:
        out.lost(path, "no evse_id: the EVSE is not sent (locations.missing_evse_id)")
        return None
    # An EvseID has only characters an OCPI id allows: ids.ocpi_id keeps one that fits unchanged.
    uid = evse_id if len(evse_id) <= ids.OCPI_ID_MAX else ids.evse_uid(evse_id)
    if uid != evse.uid:
        out.changed(f"{path}.uid", _UID_BACK + repr(uid))
    return evse_id


_Connector = tuple[Plug | None, ChargingFacility | str, list[_Note], bool]
"""(Plug, ChargingFacility, notes, power computed) of a connector, or (None, why it has none, [], False)."""


def _translate_connector(connector: v221.Connector, lr: LocationRules) -> _Connector:
    """(Plug, ChargingFacility, notes, power computed) of one connector, or (None, why, [], False)."""
    standard, fmt = connector.standard, connector.format
    key = f"{standard}/{fmt}"
    plug = lr.plugs[key] if key in lr.plugs else lr.plugs.get(standard)
    power_type = lr.power_types.get(connector.power_type)
    if plug is None:
        return None, f"{key} has no OICP plug (locations.plugs)", [], False
    if power_type is None:
        return (
            None,
            f"power_type {connector.power_type} has no OICP PowerType (locations.power_types)",
            [],
            False,
        )
    notes: list[_Note] = []
    back = lr.plugs_to_ocpi.get(plug)
    if back is None or back.standard != standard or back.format != fmt:
        again = f"{back.standard}/{back.format}" if back else "nothing"
        for name, differs in (
            ("standard", back is None or back.standard != standard),
            ("format", back is None or back.format != fmt),
        ):
            if differs:
                notes.append(
                    (LossKind.CHANGED, f".{name}", f"{key} is sent as {plug}, which comes back as {again}")
                )
    if str(power_type) != str(connector.power_type):
        notes.append((LossKind.CHANGED, ".power_type", f"{connector.power_type} is sent as {power_type}"))
    voltage = connector.max_voltage
    threshold = lr.line_to_line_voltage_above
    three_phase = power_type is OicpPowerType.AC_3_PHASE
    if three_phase and threshold is not None and voltage > threshold:
        neutral = round(voltage / math.sqrt(3))
        detail = f"{voltage} V read as line-to-line: sent as {neutral} V line-to-neutral"
        notes.append((LossKind.CHANGED, ".max_voltage", detail))
        voltage = neutral
    watts = connector.max_electric_power
    if watts is None:
        watts = voltage * connector.max_amperage * (3 if three_phase else 1)
    kilowatts = min((Decimal(watts) / 1000).quantize(_ONE, rounding=_ROUNDING[lr.power_rounding]), _MAX_KW)
    if connector.max_electric_power is not None and kilowatts * 1000 != watts:
        detail = f"{watts} W sent as {kilowatts} kW (OICP: whole kW, 0-999)"
        notes.append((LossKind.CHANGED, ".max_electric_power", detail))
    facility: dict[str, Any] = {"power_type": power_type, "power": kilowatts}
    if 0 <= voltage <= 999:
        facility["voltage"] = voltage
    else:
        notes.append((LossKind.LOST, ".max_voltage", f"{voltage} V is outside OICP Voltage 0-999"))
    if 0 <= connector.max_amperage <= 99:
        facility["amperage"] = connector.max_amperage
    else:
        detail = f"{connector.max_amperage} A is outside OICP Amperage 0-99"
        notes.append((LossKind.LOST, ".max_amperage", detail))
    computed = connector.max_electric_power is None
    return plug, construct(ChargingFacility, facility), notes, computed


def _connector_notes(
    connector: v221.Connector,
    path: str,
    position: int,
    evse_id: str,
    computed: bool,
    out: Translation[Any],
) -> None:
    """The notes of one sent connector after its translation's: renumbering, power computed, fields lost."""
    if connector.id != str(position + 1):
        out.changed(f"{path}.id", f"connectors come back numbered by position: {position + 1}")
    if computed:
        out.defaulted(
            f"{evse_id}.ChargingFacilities[{position}].Power",
            "computed as max_voltage × max_amperage × phases (no max_electric_power)",
        )
    if connector.tariff_ids or connector.terms_and_conditions or connector.__pydantic_extra__:
        lost_fields(connector, path, _CONNECTOR_KEPT, out)


def _unique(items: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(items))


_Capabilities = tuple[list[Any], list[Any], list[Any], list[_Note], bool, bool]
"""(modes, payment options, services, notes, modes defaulted, "No Payment" sent alone)."""


def _capabilities(capabilities: tuple[Any, ...], lr: LocationRules, values: _Values) -> _Capabilities:
    """OICP modes, payment options and services of a capability list, with the notes it needs."""
    modes: list[Any] = []
    payments: list[Any] = []
    services: list[Any] = []
    notes: list[_Note] = []
    for index, capability in enumerate(capabilities):
        found_modes = lr.authentication_modes_from_capabilities.get(capability, [])
        found_payments = lr.payment_options_from_capabilities.get(capability, [])
        found_services = lr.value_added_services_from_capabilities.get(capability, [])
        sent = [*found_modes, *found_payments, *found_services]
        where = f".capabilities[{index}]"
        if not sent:
            notes.append((LossKind.LOST, where, f"{capability} has no OICP equivalent"))
            continue
        modes += found_modes
        payments += found_payments
        services += found_services
        back = {cap for value in sent for cap in lr.capabilities_from_oicp.get(value, [])}
        if capability not in back:
            again = ", ".join(sorted(back)) or "nothing"
            detail = f"{capability} is sent as {', '.join(sent)}, which comes back as {again}"
            notes.append((LossKind.CHANGED, where, detail))
    defaulted = not modes and values.authentication_modes is None
    if values.authentication_modes is not None:
        modes = _unique(values.authentication_modes)
    elif defaulted:
        modes = list(lr.authentication_modes_default)
    else:
        modes = _unique(modes)
    if values.payment_options is not None:
        payments = values.payment_options
    elif lr.payment_options_always:
        payments = [*lr.payment_options_always, *payments]
    payments = _unique(payments)
    alone = PaymentOption.NO_PAYMENT in payments and len(payments) > 1
    if alone:
        payments = [PaymentOption.NO_PAYMENT]
    if values.value_added_services is not None:
        services = values.value_added_services
    services = _unique(services) or [ValueAddedService.NONE]
    return modes, payments, services, notes, defaulted, alone


def _capability_notes(choice: _Capabilities, path: str, evse_id: str, out: Translation[Any]) -> None:
    losses = out.losses
    for kind, suffix, detail in choice[3]:
        losses.append(Loss(path + suffix, kind, detail))
    if choice[4]:
        out.defaulted(
            f"{evse_id}.AuthenticationModes",
            "no capability gives one (locations.authentication_modes_default)",
        )
    if choice[5]:
        out.changed(
            f"{path}.capabilities", '"No Payment" cannot be combined with other PaymentOptions: sent alone'
        )


def _image(images: Sequence[v221.Image] | None, path: str, out: Translation[Any]) -> str | None:
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


# ---------------------------------------------------------------------------------------------
# What the way back (mappings._locations_in) will not restore


def _round_trip_notes(
    location: v221.Location,
    emitted: list[tuple[int, v221.EVSE, list[dict[str, str]]]],
    lr: LocationRules,
    operator_name: str,
    out: Translation[Any],
) -> None:
    if location.operator is not None and location.operator.name != operator_name:
        out.changed("operator.name", f"OICP carries the OperatorName {operator_name!r}")
    back_zone = _configured_zone(lr, location.country)
    if back_zone != location.time_zone:
        out.changed(
            "time_zone",
            f"OICP carries no IANA zone; read back it is {back_zone or 'not configured'} "
            "(locations.time_zone, locations.time_zones_by_country)",
        )
    if not emitted:
        return
    first = emitted[0][1].coordinates or location.coordinates
    if not _same_point(first, location.coordinates):
        out.changed("coordinates", f"read back, the Location takes the coordinates of evses[{emitted[0][0]}]")
    for index, evse, _texts_sent in emitted:
        if evse.coordinates is not None and _same_point(evse.coordinates, first):
            out.changed(
                f"evses[{index}].coordinates", "equal to the Location's as read back: comes back absent"
            )
    common = [text for text in emitted[0][2] if all(text in sent for _, _, sent in emitted)]
    for index, evse, _sent in emitted if common else ():
        for position, item in enumerate(evse.directions or ()):
            text = {"lang": item.language.lower(), "value": item.text[:150]}
            if text in common:
                out.changed(
                    f"evses[{index}].directions[{position}]",
                    "shared by every EVSE (or the Location): comes back as a Location direction",
                )


def _same_point(one: v221.GeoLocation, other: v221.GeoLocation) -> bool:
    if one is other:
        return True
    return Decimal(one.latitude).quantize(_SIX) == Decimal(other.latitude).quantize(_SIX) and Decimal(
        one.longitude
    ).quantize(_SIX) == Decimal(other.longitude).quantize(_SIX)
