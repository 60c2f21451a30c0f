"""Locations: OCPI Location/EVSE/Connector ⇄ OICP EvseDataRecord, both directions, rules as data.

Spec rules (docs/oicp-2.3.md §4.2, §7, §8 points 8–9; docs/mapping.md §3.1–3.5; docs/ocpi.md §4.1):

* Granularity: OICP has no Location and no Connector. One OCPI EVSE = one EvseDataRecord; the
  Location's address, coordinates, names and opening times are copied into each record; connectors
  become ``Plugs[i]`` + ``ChargingFacilities[i]`` (same index, paired again by index on the way back).
  ``ChargingPoolID`` (``CC*OOO*P<location id>``) keeps the grouping and ``ChargingStationID`` carries
  the OCPI Location.id verbatim (≤36 fits its 50), so a round trip restores the id.
* OICP-mandatory fields OCPI lacks (HotlinePhoneNumber, IsHubjectCompatible, DynamicInfoAvailable,
  CalibrationLawDataAvailability, Accessibility, PaymentOptions...) come from the rules: per operator,
  partner or location through ``overrides``, per EVSE through ``locations.evse_overrides``. Without a
  hotline number no record is valid: MappingError naming the YAML key.
* Every table (plugs, capabilities, energy sources, parking types, power types, status) is YAML
  (defaults in mappings/_locations_tables.py). A value whose reverse translation comes back
  different is noted ``changed``; a field with no place in the target ``lost``; a target field
  filled from a rule ``defaulted``.
* ``last_updated`` (Location, EVSE, Connector) is metadata: not sent (Hubject stamps ``lastUpdate``),
  rebuilt from ``lastUpdate`` or ``now``. EVSE ``status`` travels separately (mappings.status).
* :data:`ROUND_TRIP_FIELDS` lists what OCPI → OICP → OCPI keeps; the notes name everything else.

Public API: :class:`LocationRules`, :class:`EvseOverride`, :func:`location_to_evse_records`,
:func:`evse_records_to_locations`, :func:`preview`, :data:`RULE_TABLE`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from bridge.errors import MappingError
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from bridge.oicp.models.evse_data import (
    Accessibility,
    AccessibilityLocation,
    AuthenticationMode,
    CalibrationLawDataAvailability,
    DynamicInfoAvailable,
    EnergyType,
    EvseDataRecord,
    PaymentOption,
    Plug,
    PullEvseDataRecord,
    ValueAddedService,
)
from bridge.oicp.models.evse_data import PowerType as OicpPowerType
from mappings import ids
from mappings._locations_in import evse_records_to_locations
from mappings._locations_out import location_to_evse_records
from mappings._locations_tables import (
    ACCESSIBILITY_LOCATIONS,
    ACCESSIBILITY_TO_OCPI,
    AUTHENTICATION_MODES,
    CAPABILITIES_FROM_OICP,
    DEFAULT_VOLTAGE,
    ENERGY_SOURCES,
    ENERGY_SOURCES_TO_OCPI,
    PAYMENT_OPTIONS,
    PLUGS,
    PLUGS_TO_OCPI,
    POWER_TYPES,
    ROUND_TRIP_FIELDS,
    RULE_TABLE,
    TIME_ZONES_BY_COUNTRY,
    VALUE_ADDED_SERVICES,
    ConnectorSpec,
    merged,
)
from mappings._memo import Memo
from mappings.ocpi_versions import location_down, location_up
from mappings.result import Translation

if TYPE_CHECKING:
    from mappings.rules import MappingRules

PHONE = r"^\+[0-9]{5,15}$"
LANGUAGE = r"^[a-z]{2,3}(?:-[A-Z]{2,3}(?:-[a-zA-Z]{4})?)?(?:-x-[a-zA-Z0-9]{1,8})?$"


def _yaml_bool(value: Any) -> Any:
    """YAML reads an unquoted true/false as a boolean; DynamicInfoAvailable is the string."""
    return str(value).lower() if isinstance(value, bool) else value


class EvseOverride(BaseModel):
    """One row of ``locations.evse_overrides`` (keyed by EvseID): EVSE-level values that win."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hotline_phone_number: str | None = Field(default=None, pattern=PHONE, description="HotlinePhoneNumber")
    accessibility: Accessibility | None = Field(default=None, description="Accessibility")
    is_hubject_compatible: bool | None = Field(default=None, description="IsHubjectCompatible")
    dynamic_info_available: DynamicInfoAvailable | None = Field(
        default=None, description="DynamicInfoAvailable"
    )
    calibration_law_data_availability: CalibrationLawDataAvailability | None = Field(
        default=None, description="CalibrationLawDataAvailability"
    )
    authentication_modes: list[AuthenticationMode] | None = Field(
        default=None, description="AuthenticationModes"
    )
    payment_options: list[PaymentOption] | None = Field(default=None, description="PaymentOptions")
    value_added_services: list[ValueAddedService] | None = Field(
        default=None, description="ValueAddedServices"
    )

    _bool = field_validator("dynamic_info_available", mode="before")(_yaml_bool)


class LocationRules(BaseModel):
    """YAML section ``locations``: every rule of the Location ⇄ EvseDataRecord translation."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    # -- OICP-only values (EVSE-level ones can be overridden per EVSE) --------------------------
    hotline_phone_number: str | None = Field(
        default=None,
        pattern=PHONE,
        description='OICP HotlinePhoneNumber (mandatory, "+" and 5-15 digits, no spaces). OCPI 2.2.1 has no '
        "such field: without it no EvseDataRecord can be built (MappingError). Set it, or per operator.",
    )
    accessibility: Accessibility = Field(
        default=Accessibility.FREE_PUBLICLY_ACCESSIBLE,
        description="OICP Accessibility (mandatory; OCPI has none): Free publicly accessible, Restricted "
        "access, Paying publicly accessible or Test Station.",
    )
    is_hubject_compatible: bool = Field(
        default=True, description="OICP IsHubjectCompatible (false: Hubject will not remote start/stop)."
    )
    dynamic_info_available: DynamicInfoAvailable = Field(
        default=DynamicInfoAvailable.AUTO,
        description='OICP DynamicInfoAvailable, a string: "true", "false" or "auto" (Hubject sets true '
        "when the operator pushes status).",
    )
    calibration_law_data_availability: CalibrationLawDataAvailability = Field(
        default=CalibrationLawDataAvailability.NOT_AVAILABLE,
        description="OICP CalibrationLawDataAvailability: Local, External or Not Available. External makes "
        "signed metering values mandatory in every CDR.",
    )
    authentication_modes: list[AuthenticationMode] | None = Field(
        default=None,
        description="Fixed OICP AuthenticationModes for every EVSE; null: derived from the "
        "capabilities (authentication_modes_from_capabilities).",
    )
    payment_options: list[PaymentOption] | None = Field(
        default=None,
        description="Fixed OICP PaymentOptions; null: payment_options_always plus those derived "
        'from the capabilities. "No Payment" cannot be combined and wins alone.',
    )
    value_added_services: list[ValueAddedService] | None = Field(
        default=None,
        description="Fixed OICP ValueAddedServices; null: derived from the capabilities "
        '(["None"] when there are none).',
    )
    evse_overrides: dict[str, EvseOverride] = Field(
        default_factory=dict,
        description="Per-EVSE values keyed by EvseID (compared without separators, "
        "case-insensitively), each any of: hotline_phone_number, accessibility, is_hubject_compatible, "
        "dynamic_info_available, calibration_law_data_availability, authentication_modes, payment_options, "
        "value_added_services.",
    )

    # -- OCPI → OICP ---------------------------------------------------------------------------
    unpublished_locations: Literal["skip", "translate"] = Field(
        default="skip",
        description='A Location with publish=false: "skip" sends nothing to Hubject (a '
        'private location must not become public); "translate" sends it with the configured accessibility '
        '(e.g. "Restricted access" through an override).',
    )
    missing_evse_id: Literal["skip", "derive"] = Field(
        default="skip",
        description='An EVSE without evse_id: "skip" it (noted), or "derive" '
        "<OperatorID>*E<uid without other characters> (hashed when longer than 30).",
    )
    names_lang: str = Field(
        default="en",
        pattern=LANGUAGE,
        description="Language of the ChargingStationNames built from "
        "Location.name, and the language preferred when names are read back.",
    )
    address_split: Literal["auto", "number_last", "number_first", "none"] = Field(
        default="auto",
        description='How Location.address splits into Street and HouseNum: "number_last" '
        '(Main Street 12a), "number_first" (12 Main Street), "auto" (last, then first), "none". Read '
        'back, the address is "Street HouseNum" ("HouseNum Street" for number_first).',
    )
    house_number_default: str = Field(
        default="0",
        max_length=10,
        description="HouseNum when the address has none (mandatory since OICP "
        "2.3). Read back, this value means no house number.",
    )
    postal_code_default: str = Field(
        default="0",
        max_length=10,
        description="PostalCode when the Location has none (mandatory since "
        "OICP 2.3). Read back, this value means no postal code.",
    )
    coordinates_format: Literal["Google", "DecimalDegree"] = Field(
        default="Google", description="GeoCoordinates notation sent (at most 6 decimals)."
    )
    open_24_hours_when_unknown: bool = Field(
        default=True,
        description="A Location without opening_times is sent with IsOpen24Hours=true (noted); "
        "false makes it a MappingError.",
    )
    plugs: dict[str, Plug | None] = Field(
        default_factory=lambda: dict(PLUGS),  # type: ignore[arg-type]
        description="Connector standard, or standard/format, → OICP Plug; standard/format rows win. null or "
        "absent: no OICP plug (see unmappable_connectors).",
    )
    unmappable_connectors: Literal["drop", "error"] = Field(
        default="drop",
        description='A connector without OICP plug or power type: "drop" it (noted) or '
        '"error" (MappingError).',
    )
    evses_without_plugs: Literal["skip", "error"] = Field(
        default="skip", description='An EVSE left without any plug: "skip" it (noted) or "error".'
    )
    power_types: dict[v221.PowerType, OicpPowerType | None] = Field(
        default_factory=lambda: dict(POWER_TYPES),  # type: ignore[arg-type]
        description="OCPI power_type → OICP PowerType (OCPI's AC_2_PHASE variants have no OICP value); "
        "null drops the connector.",
    )
    power_rounding: Literal["half_up", "down", "up"] = Field(
        default="half_up", description="Rounding of max_electric_power (W) to Power in whole kW (0-999)."
    )
    line_to_line_voltage_above: int | None = Field(
        default=300,
        ge=0,
        description="An AC_3_PHASE voltage above this is read as line-to-line (400 V), both ways, "
        "and divided by √3 (OICP and OCPI want line-to-neutral, 230 V); null: never.",
    )
    authentication_modes_from_capabilities: dict[v221.Capability, list[AuthenticationMode]] = Field(
        default_factory=lambda: dict(AUTHENTICATION_MODES),  # type: ignore[arg-type]
        description="EVSE capability → OICP AuthenticationModes.",
    )
    authentication_modes_default: list[AuthenticationMode] = Field(
        default_factory=lambda: [AuthenticationMode.NFC_RFID_CLASSIC, AuthenticationMode.REMOTE],
        min_length=1,
        description="AuthenticationModes when the capabilities give none (the field is mandatory).",
    )
    payment_options_from_capabilities: dict[v221.Capability, list[PaymentOption]] = Field(
        default_factory=lambda: dict(PAYMENT_OPTIONS),  # type: ignore[arg-type]
        description="EVSE capability → OICP PaymentOptions.",
    )
    payment_options_always: list[PaymentOption] = Field(
        default_factory=lambda: [PaymentOption.CONTRACT],
        description="PaymentOptions of every EVSE (roaming through Hubject is contract based).",
    )
    value_added_services_from_capabilities: dict[v221.Capability, list[ValueAddedService]] = Field(
        default_factory=lambda: dict(VALUE_ADDED_SERVICES),  # type: ignore[arg-type]
        description="EVSE capability → OICP ValueAddedServices.",
    )
    accessibility_locations: dict[v221.ParkingType, AccessibilityLocation | None] = Field(
        default_factory=lambda: dict(ACCESSIBILITY_LOCATIONS),  # type: ignore[arg-type]
        description="OCPI parking_type → OICP AccessibilityLocation; read back through the same table (first "
        "row wins).",
    )
    energy_sources: dict[v221.EnergySourceCategory, EnergyType | None] = Field(
        default_factory=lambda: dict(ENERGY_SOURCES),  # type: ignore[arg-type]
        description="OCPI energy source → OICP Energy (GENERAL_GREEN and GENERAL_FOSSIL have none); "
        "percentages rounded half up to 0-99.",
    )
    renewable_energy_default: bool = Field(
        default=False, description="RenewableEnergy (mandatory) of a Location without energy_mix."
    )

    # -- OICP → OCPI ---------------------------------------------------------------------------
    group_by: list[Literal["pool", "station", "site"]] = Field(
        default_factory=lambda: ["pool", "station", "site"],  # type: ignore[arg-type]
        description="How EvseDataRecords become Locations, the first key a record has wins: ChargingPoolID, "
        "ChargingStationID, or the site (OperatorID, address, rounded coordinates). A record with none of "
        "the listed keys is a Location of its own.",
    )
    site_coordinate_decimals: int = Field(
        default=4,
        ge=0,
        le=6,
        description='Decimals of the coordinates compared for "site" grouping (4 ≈ 11 m).',
    )
    time_zone: str | None = Field(
        default=None,
        description="IANA time zone of the Locations built (set it per operator or location); "
        "null: time_zones_by_country. Never derived from an OICP UTC offset.",
    )
    time_zones_by_country: dict[str, str | None] = Field(
        default_factory=lambda: dict(TIME_ZONES_BY_COUNTRY),
        description="Address.Country (alpha-3) → IANA zone for countries with one zone (ESP and PRT are null "
        "on purpose: islands). A record without zone is invalid (time_zone is required in OCPI 2.2.1).",
    )
    accessibility_to_ocpi: dict[Accessibility, Literal["publish", "unpublished", "skip"]] = Field(
        default_factory=lambda: dict(ACCESSIBILITY_TO_OCPI),  # type: ignore[arg-type]
        description='OICP Accessibility → Location.publish true ("publish"), false ("unpublished"), or no '
        'Location at all ("skip").',
    )
    plugs_to_ocpi: dict[Plug, ConnectorSpec | None] = Field(
        default_factory=lambda: dict(PLUGS_TO_OCPI),  # type: ignore[arg-type]
        description="OICP Plug → OCPI connector {standard, format}; null: no OCPI connector (dropped, "
        "noted).",
    )
    capabilities_from_oicp: dict[str, list[v221.Capability]] = Field(
        default_factory=lambda: dict(CAPABILITIES_FROM_OICP),  # type: ignore[arg-type]
        description="OICP AuthenticationMode, PaymentOption or ValueAddedService → EVSE capabilities.",
    )
    energy_sources_to_ocpi: dict[EnergyType, v221.EnergySourceCategory] = Field(
        default_factory=lambda: dict(ENERGY_SOURCES_TO_OCPI),  # type: ignore[arg-type]
        description="OICP Energy → OCPI energy source (percentages meeting in one source are added).",
    )
    default_voltage: dict[OicpPowerType, int] = Field(
        default_factory=lambda: dict(DEFAULT_VOLTAGE),  # type: ignore[arg-type]
        description="Connector max_voltage (line-to-neutral) when a ChargingFacility has no Voltage.",
    )
    din_operators: dict[str, str] = Field(
        default_factory=dict,
        description="DIN OperatorID (+49*810) → ISO OperatorID (DE*ABC) giving the OCPI "
        "country_code and party_id; DIN operators have no OCPI party otherwise.",
    )
    invalid_records: Literal["skip", "error"] = Field(
        default="skip",
        description="Records that cannot become a Location (no time zone, no OCPI party, "
        'invalid data): "skip" them (noted) or "error".',
    )

    # The tables the translation derives from these rules (mappings._memo), not rules themselves.
    _memo: Memo = PrivateAttr(default_factory=Memo)

    _bool = field_validator("dynamic_info_available", mode="before")(_yaml_bool)
    _m1 = field_validator("plugs", mode="before")(merged(PLUGS))
    _m2 = field_validator("power_types", mode="before")(merged(POWER_TYPES))
    _m3 = field_validator("authentication_modes_from_capabilities", mode="before")(
        merged(AUTHENTICATION_MODES)
    )
    _m4 = field_validator("payment_options_from_capabilities", mode="before")(merged(PAYMENT_OPTIONS))
    _m5 = field_validator("value_added_services_from_capabilities", mode="before")(
        merged(VALUE_ADDED_SERVICES)
    )
    _m6 = field_validator("accessibility_locations", mode="before")(merged(ACCESSIBILITY_LOCATIONS))
    _m7 = field_validator("energy_sources", mode="before")(merged(ENERGY_SOURCES))
    _m8 = field_validator("time_zones_by_country", mode="before")(merged(TIME_ZONES_BY_COUNTRY))
    _m9 = field_validator("accessibility_to_ocpi", mode="before")(merged(ACCESSIBILITY_TO_OCPI))
    _m10 = field_validator("plugs_to_ocpi", mode="before")(merged(PLUGS_TO_OCPI))
    _m11 = field_validator("capabilities_from_oicp", mode="before")(merged(CAPABILITIES_FROM_OICP))
    _m12 = field_validator("energy_sources_to_ocpi", mode="before")(merged(ENERGY_SOURCES_TO_OCPI))
    _m13 = field_validator("default_voltage", mode="before")(merged(DEFAULT_VOLTAGE))

    @field_validator("plugs")
    @classmethod
    def _plug_keys(cls, value: dict[str, Plug | None]) -> dict[str, Plug | None]:
        for key in value:
            standard, _, fmt = key.partition("/")
            if standard not in v221.ConnectorType.__members__ or (fmt and fmt not in ("SOCKET", "CABLE")):
                raise ValueError(
                    f"{key!r} is not an OCPI connector standard, optionally with /SOCKET or /CABLE"
                )
        return value

    @field_validator("capabilities_from_oicp")
    @classmethod
    def _oicp_keys(cls, value: dict[str, list[v221.Capability]]) -> dict[str, list[v221.Capability]]:
        known = {member.value for member in (*AuthenticationMode, *PaymentOption, *ValueAddedService)}
        unknown = [key for key in value if key not in known]
        if unknown:
            raise ValueError(
                f"{unknown[0]!r} is not an OICP AuthenticationMode, PaymentOption or ValueAddedService"
            )
        return value

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            check_time_zone(value)
        return value

    @field_validator("time_zones_by_country")
    @classmethod
    def _zones(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        for country, zone in value.items():
            if not re.fullmatch(r"[A-Z]{3}", country):
                raise ValueError(f"{country!r} is not an upper-case alpha-3 country code")
            if zone is not None:
                check_time_zone(zone)
        return value

    @field_validator("din_operators")
    @classmethod
    def _din(cls, value: dict[str, str]) -> dict[str, str]:
        for din, iso in value.items():
            if not ids.is_operator_id(din) or ids.operator_party(iso) is None:
                raise ValueError(f"{din!r}: {iso!r} must be an ISO OperatorID such as DE*ABC")
        return value


def check_time_zone(name: str) -> None:
    """Raise ValueError unless ``name`` is an IANA zone (syntax only when no tz database exists)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        if available_timezones() or not re.fullmatch(r"[A-Za-z_]+(/[A-Za-z0-9_+\-]+)*", name):
            raise ValueError(f"{name!r} is not an IANA time zone") from error


# ---------------------------------------------------------------------------------------------
# Preview (the `map` command, kind "location")


def _validate(model: type[BaseModel], data: Any, prefix: str = "") -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise MappingError(f"{prefix}{where}", first["msg"]) from error


def _oicp_input(obj: Mapping[str, Any]) -> tuple[list[Mapping[str, Any]], str | None, str | None]:
    """The records of any OICP EVSE-data input, with the envelope's OperatorID and OperatorName."""
    envelope = obj.get("OperatorEvseData", obj)
    if isinstance(envelope, Mapping) and "EvseDataRecord" in envelope:
        records = envelope.get("EvseDataRecord") or []
        return list(records), envelope.get("OperatorID"), envelope.get("OperatorName")
    if "content" in obj:
        return list(obj.get("content") or []), None, None
    if "EvseID" in obj:
        return [obj], None, None
    raise MappingError("", "no EvseDataRecord found in the OICP input")


def preview(
    obj: Mapping[str, Any], source: str, target: str, rules: MappingRules, *, now: datetime
) -> Translation[Any]:
    """Translate a location object for ``map --kind location``.

    OCPI → OICP: the list of EvseDataRecords (operator: the Location's country_code*party_id, else
    the first evse_id's prefix; operator name: Location.operator.name, else the OperatorID).
    OICP (a record, a list in ``content``, OperatorEvseData or PushEvseData) → OCPI: Locations.
    OCPI → OCPI: version conversion (mappings.ocpi_versions).
    """
    if source.startswith("ocpi"):
        location = _validate(v211.Location if source == "ocpi-2.1.1" else v221.Location, obj)
        if target == "oicp":
            operator_id = _preview_operator(location)
            name = location.operator.name if location.operator else operator_id
            return location_to_evse_records(
                location, rules, operator_id=operator_id, operator_name=name, now=now
            )
        if target == source:
            return Translation(location)
        if target == "ocpi-2.1.1":
            return location_down(location)
        party = ids.operator_party(_preview_operator(location), rules.locations.din_operators) or (
            "ZZ",
            "ZZZ",
        )
        zone = (
            rules.locations.time_zone or rules.locations.time_zones_by_country.get(location.country) or "UTC"
        )
        return location_up(location, country_code=party[0], party_id=party[1], time_zone_default=zone)
    raw, envelope_operator, envelope_name = _oicp_input(obj)
    records: list[EvseDataRecord] = []
    for index, item in enumerate(raw):
        pulled = isinstance(item, Mapping) and ("OperatorID" in item or "OperatorId" in item)
        records.append(_validate(PullEvseDataRecord if pulled else EvseDataRecord, item, f"[{index}]."))
    result = evse_records_to_locations(
        records, rules, operator_id=envelope_operator, operator_name=envelope_name, now=now
    )
    if target == "ocpi-2.1.1":
        down: Translation[Any] = Translation([], result.losses)
        for location in result.value:
            converted = location_down(location)
            down.losses.extend(converted.losses)
            down.value.append(converted.value)
        return down
    return result


def _preview_operator(location: v221.Location | v211.Location) -> str:
    if isinstance(location, v221.Location):
        return ids.operator_id_from_party(location.country_code, location.party_id)
    for evse in location.evses or ():
        prefix = ids.evse_operator_id(ids.normalize_evse_id(evse.evse_id)) if evse.evse_id else None
        if prefix:
            return prefix
    raise MappingError(
        "evses", "no evse_id to take the OperatorID from (OCPI 2.1.1 has no country_code/party_id)"
    )


__all__ = [
    "ROUND_TRIP_FIELDS",
    "RULE_TABLE",
    "ConnectorSpec",
    "EvseOverride",
    "LocationRules",
    "check_time_zone",
    "evse_records_to_locations",
    "location_to_evse_records",
    "preview",
]
