"""OICP (Pull)EvseDataRecords → OCPI 2.2.1 Locations; rules in mappings/locations.py.

Note paths: ``lost``/``changed`` name the source record as ``[<index>].<OICP field>``; fields OCPI
has no place for at all (HotlinePhoneNumber, ...) get one note per field and call,
``EvseDataRecord.<field>``, with the number of records; ``defaulted`` names the target as
``<EvseID>.<OCPI field>``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from bridge.errors import MappingError
from bridge.ocpi.models import v2_2_1 as v221
from bridge.oicp.models.evse_data import (
    Address,
    DeltaType,
    EvseDataRecord,
    InfoText,
    PullEvseDataRecord,
    ValueAddedService,
)
from bridge.oicp.models.evse_data import PowerType as OicpPowerType
from mappings import ids
from mappings._locations_tables import image_type, join_address
from mappings.result import Translation
from mappings.status import status_to_ocpi

if TYPE_CHECKING:
    from mappings.locations import LocationRules
    from mappings.rules import MappingRules

_SIX = Decimal("0.000001")
_DAYS = {
    "Everyday": range(1, 8),
    "Workdays": range(1, 6),
    "Weekend": (6, 7),
    "Monday": (1,),
    "Tuesday": (2,),
    "Wednesday": (3,),
    "Thursday": (4,),
    "Friday": (5,),
    "Saturday": (6,),
    "Sunday": (7,),
}
_OICP_ONLY = (
    "hotline_phone_number",
    "is_hubject_compatible",
    "dynamic_info_available",
    "calibration_law_data_availability",
    "hardware_manufacturer",
    "max_capacity",
    "dynamic_power_level",
    "clearinghouse_id",
    "hub_operator_id",
    "additional_info",
    "geo_charging_point_entrance",
)
_ADDRESS_ONLY = ("time_zone", "parking_facility", "parking_spot")
_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")

GroupKey = tuple[str, ...]


class _Tally:
    """Per-call notes: each OICP field without an OCPI place is named once, with its record count."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()

    def add(self, field: str, detail: str = "no OCPI field: dropped") -> None:
        self.counts[(field, detail)] += 1

    def emit(self, out: Translation[Any]) -> None:
        for (field, detail), count in sorted(self.counts.items()):
            plural = "s" if count > 1 else ""
            note = out.defaulted if detail.startswith("UNKNOWN") else out.lost
            note(f"EvseDataRecord.{field}", f"{detail} ({count} record{plural})")


def _wire_list(value: Any) -> str:
    return {"AuthenticationMode": "AuthenticationModes", "PaymentOption": "PaymentOptions"}.get(
        type(value).__name__, "ValueAddedServices"
    )


def _wire(name: str) -> str:
    field = EvseDataRecord.model_fields[name]
    return str(field.serialization_alias or field.alias or name)


_OICP_ONLY_WIRE = tuple((name, _wire(name)) for name in _OICP_ONLY)
_ADDRESS_ONLY_WIRE = tuple(
    (
        name,
        f"Address.{Address.model_fields[name].alias}",
        "no OCPI field: dropped (the time zone comes from the rules)"
        if name == "time_zone"
        else "no OCPI field: dropped",
    )
    for name in _ADDRESS_ONLY
)


def evse_records_to_locations(
    records: Iterable[EvseDataRecord],
    rules: MappingRules,
    *,
    country_code: str | None = None,
    party_id: str | None = None,
    operator_id: str | None = None,
    operator_name: str | None = None,
    statuses: Mapping[str, Any] | None = None,
    now: datetime,
) -> Translation[list[v221.Location]]:
    """OCPI 2.2.1 Locations from OICP EvseDataRecords (oicp-2.3.md §4.2, §7; mapping.md §3.1, §3.5).

    Records are grouped per ``locations.group_by``. The owner ``country_code``/``party_id`` come
    from the record's OperatorID (PullEvseDataRecord), else ``operator_id`` (the push envelope's),
    else the EvseID prefix, unless given. ``statuses`` maps EvseID → OICP EvseStatus (compared
    canonically); EVSEs without one are UNKNOWN. Per-operator rules: resolve the RuleSet per
    OperatorID and call once per operator.
    """
    lr = rules.locations
    out: Translation[list[v221.Location]] = Translation([])
    tally = _Tally()
    status_by_key = {ids.canonical_id(key): value for key, value in (statuses or {}).items()}
    groups: dict[GroupKey, list[tuple[int, EvseDataRecord]]] = {}
    for index, record in enumerate(records):
        if record.accessibility is not None and lr.accessibility_to_ocpi.get(record.accessibility) == "skip":
            out.lost(
                f"[{index}]",
                f"{record.evse_id}: Accessibility {record.accessibility.value} is not "
                "published (locations.accessibility_to_ocpi)",
            )
            continue
        groups.setdefault(_group_key(record, lr, operator_id), []).append((index, record))
    for key, members in groups.items():
        local: Translation[Any] = Translation(None)
        try:
            location = _location(
                key,
                members,
                lr,
                rules,
                country_code,
                party_id,
                operator_id,
                operator_name,
                status_by_key,
                now,
                tally,
                local,
            )
        except MappingError as error:
            if lr.invalid_records == "error":
                raise
            evse_ids = ", ".join(record.evse_id for _, record in members)
            out.lost(f"[{members[0][0]}]", f"no Location for {evse_ids} (locations.invalid_records): {error}")
            continue
        out.losses.extend(local.losses)
        out.value.append(location)
    tally.emit(out)
    return out


def _operator(record: EvseDataRecord, operator_id: str | None) -> str | None:
    if isinstance(record, PullEvseDataRecord):
        return record.operator_id
    return operator_id or ids.evse_operator_id(record.evse_id)


def _group_key(record: EvseDataRecord, lr: LocationRules, operator_id: str | None) -> GroupKey:
    operator = ids.canonical_id(_operator(record, operator_id) or "")
    for strategy in lr.group_by:
        if strategy == "pool" and record.charging_pool_id:
            return ("pool", ids.canonical_id(record.charging_pool_id))
        if strategy == "station" and record.charging_station_id:
            return ("station", operator, record.charging_station_id.upper())
        if strategy == "site":
            try:
                lat, lon = record.geo_coordinates.lat_lon()
            except (ValueError, ArithmeticError):
                break
            places = Decimal(1).scaleb(-lr.site_coordinate_decimals)
            address = record.address
            return (
                "site",
                operator,
                address.country.upper(),
                address.city.lower(),
                address.street.lower(),
                (address.house_num or "").lower(),
                str(lat.quantize(places)),
                str(lon.quantize(places)),
            )
    return ("evse", ids.canonical_id(record.evse_id))


def _location_id(key: GroupKey, members: list[tuple[int, EvseDataRecord]]) -> str:
    """The group's single ChargingStationID, else its ChargingPoolID, else the EvseID or a site hash."""
    first = members[0][1]
    stations = {record.charging_station_id for _, record in members}
    if len(stations) == 1 and first.charging_station_id:
        return ids.ocpi_id(first.charging_station_id)
    if key[0] == "pool" and first.charging_pool_id:
        return ids.ocpi_id(first.charging_pool_id)
    if key[0] == "evse":
        return ids.ocpi_id(first.evse_id)
    return ids.ocpi_id(f"{key[1]}S{ids.digest_id(*key)}")


def _language(lang: str | None, fallback: str) -> str | None:
    base = (lang or fallback).split("-")[0].lower()
    return base if len(base) == 2 and base.isalpha() else None


def _texts(items: list[InfoText] | None, lr: LocationRules) -> list[dict[str, str]]:
    texts = []
    for item in items or ():
        language = _language(item.lang, lr.names_lang)
        if language is not None and item.value:
            entry = {"language": language, "text": item.value}
            if entry not in texts:
                texts.append(entry)
    return texts


def _coordinates(record: EvseDataRecord, path: str, memo: dict[Any, dict[str, str]]) -> dict[str, str]:
    """OCPI GeoLocation (6 decimals) of a record; ``memo`` spares re-parsing repeated coordinates."""
    geo = record.geo_coordinates
    key = (
        geo.google.coordinates if geo.google else None,
        (geo.decimal_degree.latitude, geo.decimal_degree.longitude) if geo.decimal_degree else None,
        (geo.degree_minute_seconds.latitude, geo.degree_minute_seconds.longitude)
        if geo.degree_minute_seconds
        else None,
    )
    found = memo.get(key)
    if found is None:
        try:
            lat, lon = geo.lat_lon()
        except (ValueError, ArithmeticError) as error:
            raise MappingError(f"{path}.GeoCoordinates", str(error)) from error
        found = memo[key] = {"latitude": f"{lat.quantize(_SIX):f}", "longitude": f"{lon.quantize(_SIX):f}"}
    return dict(found)


def _location(
    key: GroupKey,
    members: list[tuple[int, EvseDataRecord]],
    lr: LocationRules,
    rules: MappingRules,
    country_code: str | None,
    party_id: str | None,
    operator_id: str | None,
    operator_name: str | None,
    status_by_key: Mapping[str, Any],
    now: datetime,
    tally: _Tally,
    out: Translation[Any],
) -> v221.Location:
    first_index, first = members[0]
    path = f"[{first_index}]"
    operator = _operator(first, operator_id)
    party = (
        (country_code, party_id)
        if country_code and party_id
        else (ids.operator_party(operator, lr.din_operators) if operator else None)
    )
    if party is None or party[0] is None or party[1] is None:
        raise MappingError(
            f"{path}.OperatorID",
            f"{operator!r} gives no OCPI country_code/party_id "
            "(a DIN operator needs a row in locations.din_operators)",
        )
    address = first.address
    country = address.country.upper()
    zone = lr.time_zone or lr.time_zones_by_country.get(country)
    if zone is None:
        raise MappingError(
            f"{path}.Address.Country",
            f"no IANA time zone for {country}: set locations.time_zone "
            f"or locations.time_zones_by_country.{country}",
        )
    points: dict[Any, dict[str, str]] = {}
    coordinates = _coordinates(first, path, points)
    city = _cut(address.city, 45, f"{path}.Address.City", out)
    names = first.charging_station_names or []
    chosen = next((n for n in names if n.lang == lr.names_lang), names[0] if names else None)
    if len(names) > 1:
        tally.add("ChargingStationNames", "only one language is kept (locations.names_lang)")
    shared = _texts(first.charging_station_location_reference, lr)
    for _, record in members[1:]:
        own = _texts(record.charging_station_location_reference, lr)
        shared = [text for text in shared if text in own]
    evses: list[dict[str, Any]] = []
    uids: set[str] = set()
    publish = True
    for index, record in members:
        if (
            record.accessibility is not None
            and lr.accessibility_to_ocpi.get(record.accessibility) == "unpublished"
        ):
            publish = False
        evse = _evse(record, index, lr, rules, coordinates, shared, status_by_key, now, tally, points, out)
        if evse is None:
            continue
        if evse["uid"].upper() in uids:
            out.lost(f"[{index}]", f"{record.evse_id}: a second record of the same EVSE uid {evse['uid']!r}")
            continue
        uids.add(evse["uid"].upper())
        evses.append(evse)
    data: dict[str, Any] = {
        "country_code": party[0],
        "party_id": party[1],
        "id": _location_id(key, members),
        "publish": publish,
        "address": join_address(address.street, address.house_num, lr.address_split, lr.house_number_default),
        "city": city,
        "country": country,
        "coordinates": coordinates,
        "time_zone": zone,
        "evses": evses,
        "last_updated": max((evse["last_updated"] for evse in evses), default=first.last_update or now),
    }
    if address.postal_code and address.postal_code != lr.postal_code_default:
        data["postal_code"] = address.postal_code
    optional: dict[str, Any] = {
        "name": chosen.value if chosen else None,
        "state": _cut(address.region, 45, f"{path}.Address.Region", out),
        "parking_type": next(
            (
                parking
                for parking, value in lr.accessibility_locations.items()
                if value is not None and value == first.accessibility_location
            ),
            None,
        ),
        "directions": shared,
        "operator": {
            "name": (first.operator_name if isinstance(first, PullEvseDataRecord) else None) or operator_name
        },
        "suboperator": {"name": first.sub_operator_name},
        "opening_times": _hours(first, path, out),
        "energy_mix": _energy_mix(first, lr),
    }
    for name, value in optional.items():
        if value and (not isinstance(value, dict) or any(v is not None for v in value.values())):
            data[name] = value
    if first.accessibility_location is not None and "parking_type" not in data:
        out.lost(
            f"{path}.AccessibilityLocation",
            f"{first.accessibility_location.value} has no row in locations.accessibility_locations",
        )
    try:
        return v221.Location.model_validate(data)
    except ValidationError as error:
        problem = error.errors()[0]
        raise MappingError(path, f"{'.'.join(map(str, problem['loc']))}: {problem['msg']}") from error


def _cut(text: str | None, limit: int, path: str, out: Translation[Any]) -> Any:
    """``text`` cut to the OCPI length ``limit`` (noted when it was longer)."""
    if text is not None and len(text) > limit:
        out.changed(path, f"cut to {limit} characters (OCPI)")
        return text[:limit]
    return text


def _hours(record: EvseDataRecord, path: str, out: Translation[Any]) -> dict[str, Any] | None:
    if record.is_open_24_hours:
        return {"twentyfourseven": True}
    regular: list[dict[str, Any]] = []
    for index, entry in enumerate(record.opening_times or ()):
        for period in entry.period:
            begin, end = period.begin, "00:00" if period.end == "24:00" else period.end
            if not (_TIME.match(begin) and _TIME.match(end)):
                out.lost(f"{path}.OpeningTimes[{index}]", f"period {period.begin}-{period.end} is not HH:MM")
                continue
            for day in _DAYS[entry.on.value]:
                hours = {"weekday": day, "period_begin": begin, "period_end": end}
                if hours not in regular:
                    regular.append(hours)
    if not regular:
        out.lost(f"{path}.IsOpen24Hours", "false without usable OpeningTimes: opening_times omitted")
        return None
    regular.sort(key=lambda hours: (hours["weekday"], hours["period_begin"]))
    return {"twentyfourseven": False, "regular_hours": regular}


def _energy_mix(record: EvseDataRecord, lr: LocationRules) -> dict[str, Any] | None:
    sources: dict[Any, Decimal] = {}
    for source in record.energy_source or ():
        if source.energy is not None and source.percentage is not None:
            category = lr.energy_sources_to_ocpi[source.energy]
            sources[category] = sources.get(category, Decimal(0)) + Decimal(source.percentage)
    impact = []
    if record.environmental_impact is not None:
        for attribute, kind in (("co2_emission", "CARBON_DIOXIDE"), ("nuclear_waste", "NUCLEAR_WASTE")):
            amount = getattr(record.environmental_impact, attribute)
            if amount is not None:
                impact.append({"category": kind, "amount": amount})
    if record.renewable_energy is None and not sources and not impact:
        return None
    mix: dict[str, Any] = {"is_green_energy": bool(record.renewable_energy)}
    if sources:
        mix["energy_sources"] = [
            {"source": category, "percentage": value} for category, value in sources.items()
        ]
    if impact:
        mix["environ_impact"] = impact
    return mix


def _evse(
    record: EvseDataRecord,
    index: int,
    lr: LocationRules,
    rules: MappingRules,
    location_coordinates: dict[str, str],
    shared: list[dict[str, str]],
    status_by_key: Mapping[str, Any],
    now: datetime,
    tally: _Tally,
    points: dict[Any, dict[str, str]],
    out: Translation[Any],
) -> dict[str, Any] | None:
    path = f"[{index}]"
    for name, wire in _OICP_ONLY_WIRE:
        if getattr(record, name) is not None:
            tally.add(wire)
    for name, wire, detail in _ADDRESS_ONLY_WIRE:
        if getattr(record.address, name) is not None:
            tally.add(wire, detail)
    for name in record.model_extra or {}:
        if name not in ("OperatorID", "OperatorId", "OperatorName"):
            tally.add(name)
    last_updated = record.last_update or now
    connectors = _connectors(record, path, lr, last_updated, tally, out)
    if not connectors:
        out.lost(path, f"{record.evse_id}: no plug with an OCPI connector: the EVSE is left out")
        return None
    if record.delta_type is DeltaType.DELETE:
        status: Any = v221.Status.REMOVED
    elif (given := status_by_key.get(ids.canonical_id(record.evse_id))) is not None:
        translated = status_to_ocpi(given, rules, path=f"{path}.EvseStatus")
        out.losses.extend(translated.losses)
        status = translated.value
    else:
        status = v221.Status.UNKNOWN
        tally.add("EvseStatus", "UNKNOWN: no status was given for the EVSE")
    capabilities: list[Any] = []
    sources = (*record.authentication_modes, *(record.payment_options or ()), *record.value_added_services)
    for value in sources:
        found = lr.capabilities_from_oicp.get(value)
        if found is None and value is not ValueAddedService.NONE:
            tally.add(
                f"{_wire_list(value)}[{value}]", "no OCPI capability (locations.capabilities_from_oicp)"
            )
        capabilities += [cap for cap in found or () if cap not in capabilities]
    evse: dict[str, Any] = {
        "uid": ids.evse_uid(record.evse_id),
        "evse_id": record.evse_id,
        "status": status,
        "connectors": connectors,
        "last_updated": last_updated,
    }
    if capabilities:
        evse["capabilities"] = capabilities
    floor = record.address.floor
    if floor:
        if len(floor) <= 4:
            evse["floor_level"] = floor
        else:
            out.lost(f"{path}.Address.Floor", f"{floor!r} is longer than OCPI floor_level (4)")
    own = _coordinates(record, path, points)
    if own != location_coordinates:
        evse["coordinates"] = own
    directions = [
        text for text in _texts(record.charging_station_location_reference, lr) if text not in shared
    ]
    if directions:
        evse["directions"] = directions
    if record.charging_station_image:
        kind = image_type(record.charging_station_image)
        if kind is None or len(record.charging_station_image) > 255:
            out.lost(f"{path}.ChargingStationImage", "no image type can be read from the url")
        else:
            evse["images"] = [{"url": record.charging_station_image, "category": "CHARGER", "type": kind}]
    return evse


def _connectors(
    record: EvseDataRecord,
    path: str,
    lr: LocationRules,
    last_updated: datetime,
    tally: _Tally,
    out: Translation[Any],
) -> list[dict[str, Any]]:
    facilities = record.charging_facilities
    connectors = []
    for position, plug in enumerate(record.plugs):
        where = f"{path}.Plugs[{position}]"
        spec = lr.plugs_to_ocpi.get(plug) if plug is not None else None
        if spec is None:
            out.lost(
                where, f"{plug.value if plug else 'null'} has no OCPI connector (locations.plugs_to_ocpi)"
            )
            continue
        facility = (
            facilities[position] if position < len(facilities) else (facilities[-1] if facilities else None)
        )
        if facility is None or facility.power_type is None or facility.power is None:
            out.lost(where, "no ChargingFacility with PowerType and Power for this plug")
            continue
        if position >= len(facilities):
            out.changed(where, f"no ChargingFacilities[{position}]: the last facility is used")
        phases = 3 if facility.power_type is OicpPowerType.AC_3_PHASE else 1
        voltage = facility.voltage
        if voltage is None:
            voltage = lr.default_voltage.get(facility.power_type, 230)
            out.defaulted(
                f"{record.evse_id}.connectors[{position}].max_voltage",
                f"{voltage} V: no Voltage (locations.default_voltage)",
            )
        threshold = lr.line_to_line_voltage_above
        if phases == 3 and threshold is not None and voltage > threshold:
            neutral = round(voltage / math.sqrt(3))
            out.changed(f"{where}.Voltage", f"{voltage} V read as line-to-line: {neutral} V line-to-neutral")
            voltage = neutral
        watts = int(Decimal(facility.power) * 1000)
        amperage = facility.amperage
        if amperage is None:
            amperage = round(watts / (voltage * phases)) if voltage else 0
            out.defaulted(
                f"{record.evse_id}.connectors[{position}].max_amperage",
                f"{amperage} A computed from Power and Voltage (no Amperage)",
            )
        if facility.charging_modes:
            tally.add("ChargingFacilities.ChargingModes")
        connectors.append(
            {
                "id": str(position + 1),
                "standard": spec.standard,
                "format": spec.format,
                "power_type": facility.power_type.value,
                "max_voltage": voltage,
                "max_amperage": amperage,
                "max_electric_power": watts,
                "last_updated": last_updated,
            }
        )
    for extra in range(len(record.plugs), len(facilities)):
        out.lost(f"{path}.ChargingFacilities[{extra}]", "no plug at this index")
    return connectors
