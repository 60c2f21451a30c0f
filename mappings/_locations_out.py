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
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bridge.errors import MappingError
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from bridge.oicp.models.evse_data import (
    Address,
    AuthenticationMode,
    ChargingFacility,
    EnergySource,
    EnvironmentalImpact,
    EvseDataRecord,
    GeoCoordinates,
    InfoText,
    PaymentOption,
    Plug,
    ValueAddedService,
)
from bridge.oicp.models.evse_data import PowerType as OicpPowerType
from mappings import ids
from mappings._construct import construct, like, set_dict, set_extra, set_fields_set, set_private
from mappings._locations_parts import (
    SIX,
    energy,
    geo,
    hours,
    image,
    lost_fields,
    opening_times,
    texts,
)
from mappings._locations_tables import PAD, join_address, split_address
from mappings._memo import LIMIT, tables
from mappings.ocpi_versions import location_up
from mappings.result import Loss, LossKind, Translation
from mappings.status import StatusAction, StatusChoice, oicp_choices, status_to_oicp

if TYPE_CHECKING:
    from mappings.locations import LocationRules
    from mappings.rules import MappingRules

_ROUNDING = {"half_up": ROUND_HALF_UP, "down": ROUND_DOWN, "up": ROUND_UP}

_ONE = Decimal(1)
_MAX_KW = Decimal(999)
_new = object.__new__
_loss = tuple.__new__  # Loss(...) without the NamedTuple's Python-level __new__: once per note
_CHANGED, _LOST = LossKind.CHANGED, LossKind.LOST
_PUBLISH = StatusAction.PUBLISH
_CONNECTOR_KEY = itemgetter(  # what a connector's translation depends on, from its __dict__
    "standard", "format", "power_type", "max_voltage", "max_amperage", "max_electric_power"
)
_CONNECTOR_FULL = itemgetter(  # ... and its notes (_plugs) when it has no extra field
    "standard",
    "format",
    "power_type",
    "max_voltage",
    "max_amperage",
    "max_electric_power",
    "id",
    "tariff_ids",
    "terms_and_conditions",
)
_DICT = attrgetter("__dict__")
_EXTRA = attrgetter("__pydantic_extra__")
_IDS = {position: str(position + 1) for position in range(64)}  # connector id by position (beyond: None)
_UID_BACK = "OICP knows the EVSE by EvseID only; the uid comes back as "
_EVSE_ID_MATCH = ids.EVSE_ID_RE.match
_OCPI_ID_MAX = ids.OCPI_ID_MAX
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
_NAME_KEPT = frozenset({"name"})
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
class _Derived:
    """What the translation derives from one LocationRules alone, kept on it (mappings._memo) for
    the next call: the section's EVSE-level values, the ``evse_overrides`` rows by canonical
    EvseID, the parking table with its reverse, the translations of the connectors and capability
    lists met so far (bounded by mappings._memo.LIMIT), and the last UTC offset computed.

    Everything here is handed out as is only when immutable (enum members, strings, tuples of
    them, the notes); models and lists are copied into the call's :class:`_Site` first, so no
    output of one call shares a mutable object with another's."""

    defaults: _Values
    overrides: dict[str, _Values]
    parking: dict[Any, tuple[Any, Any]]  # parking_type → (AccessibilityLocation, the type it comes back as)
    connectors: dict[tuple[Any, ...], _Connector] = field(default_factory=dict)
    capabilities: dict[tuple[Any, ...], _Capabilities] = field(default_factory=dict)  # section's values
    offset: tuple[str, datetime, str] | None = None  # the last (zone, now, Address.TimeZone) (_offset)


def _derived(lr: LocationRules) -> _Derived:
    memo = tables(lr)
    found: _Derived | None = memo.get("out")
    if found is None:
        defaults = _values(lr)
        overrides: dict[str, _Values] = {}
        for key, row in lr.evse_overrides.items():  # rows naming one EvseID apply in file order
            wanted = ids.canonical_id(key)
            values = overrides.get(wanted, defaults)._asdict()
            values.update(
                {name: getattr(row, name) for name in _EVSE_VALUES if getattr(row, name) is not None}
            )
            overrides[wanted] = _Values(**values)
        parking: dict[Any, tuple[Any, Any]] = {}
        table = lr.accessibility_locations
        for parking_type, target in table.items():
            parking[parking_type] = (
                target,
                next((k for k, v in table.items() if v is not None and v == target), None),
            )
        found = memo["out"] = _Derived(defaults, overrides, parking)
    return found


@dataclass(slots=True)
class _Site:
    """One Location in translation: its rules, what its records share (built once, shared by the
    records), and the caches of what its EVSEs repeat (connectors, capabilities), filled from the
    rules' (_Derived) with objects of this call's own."""

    lr: LocationRules
    derived: _Derived
    statuses: dict[Any, StatusChoice]  # the rules' status table (mappings.status.oicp_choices)
    rules: MappingRules
    operator_id: str
    records: list[EvseDataRecord]  # the output list
    overrides: dict[str, _Values]  # _Derived.overrides
    defaults: _Values  # the section's EVSE-level values
    address: dict[str, Any]
    geo: GeoCoordinates
    directions: list[dict[str, str]]
    shared: dict[str, Any]
    direction_models: list[InfoText]
    floors: dict[str | None, Address] = field(default_factory=dict)
    emitted: list[tuple[int, v221.EVSE, list[dict[str, str]]]] = field(default_factory=list)  # sent
    located: bool = False  # an EVSE has coordinates of its own
    seen: dict[str, int] = field(default_factory=dict)  # evses[] index by normalised EvseID
    template: EvseDataRecord | None = None  # the first record
    plain: EvseDataRecord | None = None  # the first record of an EVSE with nothing of its own (_record)
    connectors: dict[tuple[Any, ...], _Connector] = field(default_factory=dict)
    evse_plugs: dict[tuple[Any, ...], _Plugs] = field(default_factory=dict)  # by the connectors' values
    capabilities: dict[tuple[Any, ...], _Capabilities] = field(default_factory=dict)  # the section's values

    def address_for(self, floor: str | None) -> Address:
        found = self.floors.get(floor)
        if found is None:
            data = self.address if floor is None else {**self.address, "floor": floor}
            found = self.floors[floor] = construct(Address, data)
        return found


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
    for index, evse in enumerate(location.evses or ()):
        _record(evse, index, site, out)
    emitted = site.emitted
    if not location.evses:
        out.lost("evses", "no EVSE: OICP has no Location without EvseDataRecords")
    _round_trip_notes(location, emitted, site.located, lr, operator_name, out)
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
    derived = _derived(lr)
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
        address["time_zone"] = _offset(location.time_zone, now, derived, out)
    if location.name:
        name = location.name
        if len(name) > 150:
            name = name[:150]
            out.changed("name", "cut to 150 characters (OICP InfoText)")
    else:
        name = f"{location.address}, {location.city}"[:150]
        out.defaulted("ChargingStationNames", f"{name!r}: the Location has no name")
    is_open, opening = hours(location.opening_times, lr, out)
    renewable, sources, impact = energy(location.energy_mix, lr, out)
    parking = None
    if location.parking_type is not None:
        parking, back_type = derived.parking.get(location.parking_type, (None, None))
        if parking is None:
            out.lost("parking_type", f"{location.parking_type.value} has no OICP AccessibilityLocation")
        elif back_type != location.parking_type:
            out.changed("parking_type", f"sent as {parking.value}, which comes back as {back_type}")
    for holder in ("operator", "suboperator"):
        details = getattr(location, holder)
        if details is not None:
            lost_fields(details, holder, _NAME_KEPT, out)
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
        shared["opening_times"] = [opening_times(entry) for entry in opening]
    if sources:
        shared["energy_source"] = [construct(EnergySource, entry) for entry in sources]
    if impact:
        shared["environmental_impact"] = construct(EnvironmentalImpact, impact)
    if parking:
        shared["accessibility_location"] = parking
    directions = texts(location.directions, "directions", out)
    return _Site(
        lr=lr,
        derived=derived,
        statuses=oicp_choices(rules.status),
        rules=rules,
        operator_id=operator_id,
        records=out.value,
        overrides=derived.overrides,
        defaults=derived.defaults,
        address=address,
        geo=geo(location.coordinates, "coordinates", lr, out),
        directions=directions,
        shared=shared,
        direction_models=[construct(InfoText, text) for text in directions],
    )


def _offset(zone: str, now: datetime, derived: _Derived, out: Translation[Any]) -> str | None:
    """``Address.TimeZone``: the UTC offset of ``zone`` at ``now`` (the last one kept: a publish run
    translates its Locations at one ``now``, mostly in one zone)."""
    last = derived.offset
    if last is not None and last[0] == zone and last[1] == now:  # equal instants, equal offsets
        return last[2]
    try:
        offset = now.astimezone(ZoneInfo(zone)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        out.lost("time_zone", f"{zone!r} is not a known IANA zone: no Address.TimeZone")
        return None
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    text = f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    derived.offset = (zone, now, text)
    return text


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


def _values(lr: LocationRules) -> _Values:
    """The section's EVSE-level values (the ``evse_overrides`` rows on top: _Derived.overrides)."""
    return _Values(*(getattr(lr, name) for name in _EVSE_VALUES))


def _record(evse: v221.EVSE, index: int, site: _Site, out: Translation[Any]) -> None:
    """The record of one EVSE, added to ``site.records`` unless the EVSE is not sent (noted).

    Run once per EVSE: what EVSEs of a Location repeat comes from the caches in ``site``.
    """
    lr = site.lr
    losses = out.losses
    path = f"evses[{index}]"
    fields = evse.__dict__
    status = site.statuses.get(fields["status"])
    if status is None:  # not a Status member: status_to_oicp names what it is
        translated = status_to_oicp(fields["status"], site.rules)
        detail = translated.losses[0].detail if translated.losses else None
        status = (translated.value.action, translated.value.status, detail)
    if status[2] is not None:
        losses.append(_loss(Loss, (f"{path}.status", _CHANGED, status[2])))
    if status[0] is not _PUBLISH:
        out.lost(path, f"status {evse.status}: no EvseDataRecord ({status[0]}, status.to_oicp)")
        return
    evse_id = fields["evse_id"]
    if evse_id and evse_id.isupper() and len(evse_id) <= _OCPI_ID_MAX and _EVSE_ID_MATCH(evse_id):
        # _evse_id in short for the common case: a valid EvseID (no '-', no blank: nothing to
        # normalise) that ids.evse_uid keeps as it is.
        if evse_id != fields["uid"]:
            losses.append(_loss(Loss, (f"{path}.uid", _CHANGED, f"{_UID_BACK}{evse_id!r}")))
    else:
        evse_id = _evse_id(evse, path, lr, site.operator_id, out)
        if evse_id is None:
            return
    defaults = values = site.defaults
    if site.overrides:
        values = site.overrides.get(ids.canonical_id(evse_id), defaults)
    if values.hotline_phone_number is None:
        raise MappingError(
            "HotlinePhoneNumber",
            "no hotline number configured: set locations.hotline_phone_number "
            "(per operator in overrides, per EVSE in locations.evse_overrides)",
        )
    connectors = fields["connectors"]
    signature: tuple[Any, ...] | None
    try:  # unhashable (tariff_ids given): translated connector by connector, below
        key = tuple(map(_CONNECTOR_FULL, map(_DICT, connectors)))
        found = site.evse_plugs.get(key)
        signature = key
    except TypeError:
        signature = found = None
    if found is None or any(map(_EXTRA, connectors)):
        found = _plugs(connectors, path, site)
        if signature is not None and found[3] and not any(map(_EXTRA, connectors)):
            site.evse_plugs[signature] = found
    for kind, suffix, detail, by_id in found[2]:
        losses.append(_loss(Loss, ((evse_id if by_id else path) + suffix, kind, detail)))
    plugs = list(found[0])
    facilities = list(found[1])
    if not plugs:
        if lr.evses_without_plugs == "error":
            raise MappingError(f"{path}.connectors", "no connector has an OICP plug")
        out.lost(path, "no connector with an OICP plug: the EVSE is not sent (locations.evses_without_plugs)")
        return
    capabilities = tuple(fields["capabilities"]) if fields["capabilities"] else ()
    shared_values = values is defaults
    choice = site.capabilities.get(capabilities) if shared_values else None
    if choice is None:
        if shared_values:
            choice = site.capabilities[capabilities] = _site_capabilities(capabilities, site)
        else:
            choice = _capabilities(capabilities, lr, values)
    if choice[3] or choice[4] or choice[5]:
        _capability_notes(choice, path, evse_id, out)
    plain = (
        shared_values
        and fields["floor_level"] is None
        and fields["coordinates"] is None
        and not fields["directions"]
        and not fields["images"]
    )
    if not plain or site.plain is None:
        record, directions = _own_record(evse, path, site, values, evse_id, plugs, facilities, choice, out)
        if plain:
            site.plain = record
        _keep(record, directions, evse, index, site, out)
        return
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
    set_dict(record, data)
    set_fields_set(record, template.__pydantic_fields_set__.copy())
    set_extra(record, {})
    set_private(record, None)
    key = evse_id.replace("*", "")  # _keep, inlined
    if key in site.seen:
        _repeated(evse_id, index, site, out)
        return
    site.seen[key] = index
    site.records.append(record)
    site.emitted.append((index, evse, site.directions))


def _keep(
    record: EvseDataRecord,
    directions: list[dict[str, str]],
    evse: v221.EVSE,
    index: int,
    site: _Site,
    out: Translation[Any],
) -> None:
    """Add ``record`` to the output unless an earlier EVSE has its EvseID (noted)."""
    key = record.evse_id.replace("*", "")  # normalised: upper case, '*' the only separator
    if key in site.seen:
        _repeated(record.evse_id, index, site, out)
        return
    site.seen[key] = index
    site.records.append(record)
    site.emitted.append((index, evse, directions))


def _repeated(evse_id: str, index: int, site: _Site, out: Translation[Any]) -> None:
    key = evse_id.replace("*", "")
    out.lost(f"evses[{index}]", f"EvseID {evse_id} is already used by evses[{site.seen[key]}]: not sent")


def _site_connector(connector: v221.Connector, key: tuple[Any, ...], site: _Site) -> _Connector:
    """A connector's translation for this call: the rules' (translated once), with a facility of its own."""
    derived = site.derived.connectors
    found = derived.get(key)
    if found is None:
        if len(derived) >= LIMIT:
            derived.clear()
        found = derived[key] = _translate_connector(connector, site.lr)
    plug, facility, notes, computed = found
    if isinstance(facility, ChargingFacility):
        facility = like(facility, {})
    return plug, facility, notes, computed


def _site_capabilities(capabilities: tuple[Any, ...], site: _Site) -> _Capabilities:
    """A capability list's translation with the section's values for this call: the rules' (translated
    once), with lists of its own."""
    derived = site.derived.capabilities
    found = derived.get(capabilities)
    if found is None:
        if len(derived) >= LIMIT:
            derived.clear()
        found = derived[capabilities] = _capabilities(capabilities, site.lr, site.defaults)
    modes, payments, services, notes, defaulted, alone = found
    return list(modes), list(payments), list(services), notes, defaulted, alone


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
            text for text in texts(evse.directions, f"{path}.directions", out) if text not in site.directions
        ]
        directions = directions + own
        direction_models = direction_models + [construct(InfoText, text) for text in own]
    data: dict[str, Any] = {
        "evse_id": evse_id,
        "address": site.address_for(evse.floor_level),
        "geo_coordinates": site.geo
        if evse.coordinates is None
        else _located(evse.coordinates, path, site, out),
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
        "charging_station_image": image(evse.images, path, out) if evse.images else None,
    }
    if evse.__pydantic_extra__ or not evse.__pydantic_fields_set__ <= _EVSE_KEPT:
        lost_fields(evse, path, _EVSE_KEPT, out)
    if site.template is None:
        record = site.template = construct(EvseDataRecord, {**site.shared, **data})
    else:  # the keys the first record was built with: a copy of it with this EVSE's values
        record = like(site.template, data)
    return record, directions


def _located(point: v221.GeoLocation, path: str, site: _Site, out: Translation[Any]) -> GeoCoordinates:
    site.located = True
    return geo(point, f"{path}.coordinates", site.lr, out)


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


_EvseNote = tuple[LossKind, str, str, bool]
"""(kind, path suffix, detail, suffix of the EvseID rather than of ``evses[i]``): a note of _Plugs."""

_Plugs = tuple[list[Plug], list[ChargingFacility], list[_EvseNote], bool]
"""(Plugs, ChargingFacilities, notes, reusable for EVSEs with equal connectors) of an EVSE's connectors."""


def _plugs(connectors: Sequence[v221.Connector], path: str, site: _Site) -> _Plugs:
    """The Plugs and ChargingFacilities of an EVSE's connectors, same index (oicp-2.3.md §7), and the
    notes: each connector's translation's, then renumbering, power computed, fields lost.

    The result depends on the connectors' values alone (ids included) unless a connector has
    fields that are lost (the notes name them): then it is not reusable.
    """
    lr = site.lr
    translated = site.connectors
    plugs: list[Plug] = []
    facilities: list[ChargingFacility] = []
    notes: list[_EvseNote] = []
    reusable = True
    for position, connector in enumerate(connectors):
        found = translated.get(key := _CONNECTOR_KEY(connector.__dict__))
        if found is None:
            found = translated[key] = _site_connector(connector, key, site)
        plug, facility, translation_notes, computed = found
        where = f".connectors[{position}]"
        if plug is None or isinstance(facility, str):
            if lr.unmappable_connectors == "error":
                raise MappingError(path + where, str(facility))
            notes.append((_LOST, where, f"{facility}: the connector is dropped", False))
            continue
        notes += [(kind, where + suffix, detail, False) for kind, suffix, detail in translation_notes]
        sent = len(plugs)
        if connector.id != str(sent + 1):
            notes.append(
                (_CHANGED, f"{where}.id", f"connectors come back numbered by position: {sent + 1}", False)
            )
        if computed:
            detail = "computed as max_voltage × max_amperage × phases (no max_electric_power)"
            notes.append((LossKind.DEFAULTED, f".ChargingFacilities[{sent}].Power", detail, True))
        if connector.tariff_ids or connector.terms_and_conditions or connector.__pydantic_extra__:
            reusable = False
            lost: Translation[None] = Translation(None)
            lost_fields(connector, where, _CONNECTOR_KEPT, lost)
            notes += [(note.kind, note.path, note.detail, False) for note in lost.losses]
        plugs.append(plug)
        facilities.append(facility)
    return plugs, facilities, notes, reusable


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


# ---------------------------------------------------------------------------------------------
# What the way back (mappings._locations_in) will not restore


def _round_trip_notes(
    location: v221.Location,
    emitted: list[tuple[int, v221.EVSE, list[dict[str, str]]]],
    located: bool,
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
    for index, evse, _texts_sent in emitted if located else ():
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
    return Decimal(one.latitude).quantize(SIX) == Decimal(other.latitude).quantize(SIX) and Decimal(
        one.longitude
    ).quantize(SIX) == Decimal(other.longitude).quantize(SIX)
