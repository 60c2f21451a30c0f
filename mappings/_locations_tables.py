"""Default tables of the Location ⇄ EvseDataRecord translation and its documented rules.

Every table here is the default of one key of the ``locations`` section (see mappings/locations.py);
``config/mappings.yaml`` and ``docs/mappings.md`` are generated from them. Sources: docs/mapping.md
§3.3 (plugs), §3.5 (capabilities, parking, energy), docs/oicp-2.3.md §4.2 and §7.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bridge.ocpi.models import v2_2_1 as v221
from mappings.result import RuleDoc


class ConnectorSpec(BaseModel):
    """One row of ``locations.plugs_to_ocpi``: the OCPI connector an OICP Plug becomes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    standard: v221.ConnectorType = Field(description="OCPI Connector.standard")
    format: v221.ConnectorFormat = Field(description="OCPI Connector.format")


def merged(defaults: Mapping[str, Any]) -> Callable[[Any], Any]:
    """A ``mode="before"`` validator: a YAML table changes only the rows it names (None = defaults)."""

    def merge(value: Any) -> Any:
        if value is None:
            return dict(defaults)
        if isinstance(value, Mapping):
            return {**defaults, **value}
        return value

    return merge


# OCPI connector standard (or standard/format) → OICP Plug; None = no OICP plug (mapping.md §3.3).
PLUGS: dict[str, str | None] = {
    "CHADEMO": "CHAdeMO",
    "CHAOJI": None,
    **{f"DOMESTIC_{letter}": None for letter in "ABCD"},
    "DOMESTIC_E": "Type E French Standard",
    "DOMESTIC_F": "Type F Schuko",
    "DOMESTIC_G": "Type G British Standard",
    **{f"DOMESTIC_{letter}": None for letter in "HI"},
    "DOMESTIC_J": "Type J Swiss Standard",
    **{f"DOMESTIC_{letter}": None for letter in "KLMNO"},
    "GBT_AC": None,
    "GBT_DC": None,
    "IEC_60309_2_single_16": "IEC 60309 Single Phase",
    "IEC_60309_2_three_16": "IEC 60309 Three Phase",
    "IEC_60309_2_three_32": "IEC 60309 Three Phase",
    "IEC_60309_2_three_64": "IEC 60309 Three Phase",
    "IEC_62196_T1": "Type 1 Connector (Cable Attached)",
    "IEC_62196_T1_COMBO": "CCS Combo 1 Plug (Cable Attached)",
    "IEC_62196_T2/SOCKET": "Type 2 Outlet",
    "IEC_62196_T2/CABLE": "Type 2 Connector (Cable Attached)",
    "IEC_62196_T2_COMBO": "CCS Combo 2 Plug (Cable Attached)",
    "IEC_62196_T3A": "Type 3 Outlet",
    "IEC_62196_T3C": "Type 3 Outlet",
    "NEMA_5_20": "NEMA 5-20",
    **{
        name: None
        for name in ("NEMA_6_30", "NEMA_6_50", "NEMA_10_30", "NEMA_10_50", "NEMA_14_30", "NEMA_14_50")
    },
    "PANTOGRAPH_BOTTOM_UP": None,
    "PANTOGRAPH_TOP_DOWN": None,
    "TESLA_R": "Tesla Connector",
    "TESLA_S": "Tesla Connector",
}

# OICP Plug → OCPI standard + format (None = no OCPI connector). IEC 60309 Three Phase → three_16
# (W); Tesla Connector → TESLA_S with a cable (a Tesla connector is a tethered plug).
PLUGS_TO_OCPI: dict[str, dict[str, str] | None] = {
    "Small Paddle Inductive": None,
    "Large Paddle Inductive": None,
    "AVCON Connector": None,
    "Tesla Connector": {"standard": "TESLA_S", "format": "CABLE"},
    "NEMA 5-20": {"standard": "NEMA_5_20", "format": "SOCKET"},
    "Type E French Standard": {"standard": "DOMESTIC_E", "format": "SOCKET"},
    "Type F Schuko": {"standard": "DOMESTIC_F", "format": "SOCKET"},
    "Type G British Standard": {"standard": "DOMESTIC_G", "format": "SOCKET"},
    "Type J Swiss Standard": {"standard": "DOMESTIC_J", "format": "SOCKET"},
    "Type 1 Connector (Cable Attached)": {"standard": "IEC_62196_T1", "format": "CABLE"},
    "Type 2 Outlet": {"standard": "IEC_62196_T2", "format": "SOCKET"},
    "Type 2 Connector (Cable Attached)": {"standard": "IEC_62196_T2", "format": "CABLE"},
    "Type 3 Outlet": {"standard": "IEC_62196_T3A", "format": "SOCKET"},
    "IEC 60309 Single Phase": {"standard": "IEC_60309_2_single_16", "format": "SOCKET"},
    "IEC 60309 Three Phase": {"standard": "IEC_60309_2_three_16", "format": "SOCKET"},
    "CCS Combo 2 Plug (Cable Attached)": {"standard": "IEC_62196_T2_COMBO", "format": "CABLE"},
    "CCS Combo 1 Plug (Cable Attached)": {"standard": "IEC_62196_T1_COMBO", "format": "CABLE"},
    "CHAdeMO": {"standard": "CHADEMO", "format": "CABLE"},
}

POWER_TYPES: dict[str, str | None] = {
    "AC_1_PHASE": "AC_1_PHASE",
    "AC_2_PHASE": "AC_1_PHASE",
    "AC_2_PHASE_SPLIT": "AC_1_PHASE",
    "AC_3_PHASE": "AC_3_PHASE",
    "DC": "DC",
}

_PAYMENT_CAPABILITIES = (
    "CHIP_CARD_SUPPORT",
    "CONTACTLESS_CARD_SUPPORT",
    "CREDIT_CARD_PAYABLE",
    "DEBIT_CARD_PAYABLE",
    "PED_TERMINAL",
)
AUTHENTICATION_MODES: dict[str, list[str]] = {
    "RFID_READER": ["NFC RFID Classic"],
    "REMOTE_START_STOP_CAPABLE": ["REMOTE"],
    **{name: ["Direct Payment"] for name in _PAYMENT_CAPABILITIES},
}
PAYMENT_OPTIONS: dict[str, list[str]] = {name: ["Direct"] for name in _PAYMENT_CAPABILITIES}
VALUE_ADDED_SERVICES: dict[str, list[str]] = {"RESERVABLE": ["Reservation"]}
CAPABILITIES_FROM_OICP: dict[str, list[str]] = {
    "NFC RFID Classic": ["RFID_READER"],
    "NFC RFID DESFire": ["RFID_READER"],
    "REMOTE": ["REMOTE_START_STOP_CAPABLE"],
    "Direct Payment": ["CREDIT_CARD_PAYABLE"],
    "Reservation": ["RESERVABLE"],
}

ACCESSIBILITY_LOCATIONS: dict[str, str | None] = {
    "ALONG_MOTORWAY": None,
    "ON_DRIVEWAY": None,
    "ON_STREET": "OnStreet",
    "PARKING_GARAGE": "ParkingGarage",
    "PARKING_LOT": "ParkingLot",
    "UNDERGROUND_GARAGE": "UndergroundParkingGarage",
}
ACCESSIBILITY_TO_OCPI: dict[str, str] = {
    "Free publicly accessible": "publish",
    "Paying publicly accessible": "publish",
    "Restricted access": "publish",
    "Test Station": "skip",
}

ENERGY_SOURCES: dict[str, str | None] = {
    "COAL": "Coal",
    "GAS": "NaturalGas",
    "GENERAL_FOSSIL": None,
    "GENERAL_GREEN": None,
    "NUCLEAR": "NuclearEnergy",
    "SOLAR": "Solar",
    "WATER": "HydroPower",
    "WIND": "Wind",
}
ENERGY_SOURCES_TO_OCPI: dict[str, str] = {
    "Solar": "SOLAR",
    "Wind": "WIND",
    "HydroPower": "WATER",
    "GeothermalEnergy": "GENERAL_GREEN",
    "Biomass": "GENERAL_GREEN",
    "Coal": "COAL",
    "NuclearEnergy": "NUCLEAR",
    "Petroleum": "GENERAL_FOSSIL",
    "NaturalGas": "GAS",
}

# W's defaults for a missing voltage (mapping.md §3.4): AC 230 V line-to-neutral, DC 400 V.
DEFAULT_VOLTAGE: dict[str, int] = {"AC_1_PHASE": 230, "AC_3_PHASE": 230, "DC": 400}

# Countries with one IANA zone on their territory as written in Address.Country. ESP (Canary
# Islands) and PRT (Azores) are deliberately null: a country default would put island charge
# points an hour off; set them per operator or location if you know better.
TIME_ZONES_BY_COUNTRY: dict[str, str | None] = {
    "ALB": "Europe/Tirane",
    "AND": "Europe/Andorra",
    "AUT": "Europe/Vienna",
    "BEL": "Europe/Brussels",
    "BGR": "Europe/Sofia",
    "BIH": "Europe/Sarajevo",
    "CHE": "Europe/Zurich",
    "CYP": "Asia/Nicosia",
    "CZE": "Europe/Prague",
    "DEU": "Europe/Berlin",
    "DNK": "Europe/Copenhagen",
    "ESP": None,
    "EST": "Europe/Tallinn",
    "FIN": "Europe/Helsinki",
    "FRA": "Europe/Paris",
    "GBR": "Europe/London",
    "GRC": "Europe/Athens",
    "HRV": "Europe/Zagreb",
    "HUN": "Europe/Budapest",
    "IRL": "Europe/Dublin",
    "ISL": "Atlantic/Reykjavik",
    "ITA": "Europe/Rome",
    "LIE": "Europe/Vaduz",
    "LTU": "Europe/Vilnius",
    "LUX": "Europe/Luxembourg",
    "LVA": "Europe/Riga",
    "MCO": "Europe/Monaco",
    "MKD": "Europe/Skopje",
    "MLT": "Europe/Malta",
    "MNE": "Europe/Podgorica",
    "NLD": "Europe/Amsterdam",
    "NOR": "Europe/Oslo",
    "POL": "Europe/Warsaw",
    "PRT": None,
    "ROU": "Europe/Bucharest",
    "SMR": "Europe/San_Marino",
    "SRB": "Europe/Belgrade",
    "SVK": "Europe/Bratislava",
    "SVN": "Europe/Ljubljana",
    "SWE": "Europe/Stockholm",
    "TUR": "Europe/Istanbul",
}

ROUND_TRIP_FIELDS: tuple[str, ...] = (
    "country_code",
    "party_id",
    "id",
    "publish",
    "name",
    "address",
    "city",
    "postal_code",
    "state",
    "country",
    "coordinates",
    "parking_type",
    "time_zone",
    "directions",
    "operator.name",
    "suboperator.name",
    "opening_times.twentyfourseven",
    "opening_times.regular_hours",
    "energy_mix.is_green_energy",
    "energy_mix.energy_sources",
    "energy_mix.environ_impact",
    "evses[].uid",
    "evses[].evse_id",
    "evses[].status",
    "evses[].capabilities",
    "evses[].floor_level",
    "evses[].coordinates",
    "evses[].directions",
    "evses[].images",
    "evses[].connectors[].id",
    "evses[].connectors[].standard",
    "evses[].connectors[].format",
    "evses[].connectors[].power_type",
    "evses[].connectors[].max_voltage",
    "evses[].connectors[].max_amperage",
    "evses[].connectors[].max_electric_power",
)
"""What OCPI → OICP → OCPI keeps (with the status passed through mappings.status and the operator
name, time zone and owner given back); anything else, and any of these that changes, is named by a
Loss note of one of the two translations."""

L = "locations."
_OUT = "ocpi→oicp"
_IN = "oicp→ocpi"

RULE_TABLE: tuple[RuleDoc, ...] = (
    # ---- OCPI → OICP
    RuleDoc(
        _OUT,
        "Location + EVSE",
        "EvseDataRecord",
        "One record per EVSE; Location fields are copied into each record. A Location with "
        "publish=false is not sent unless configured.",
        L + "unpublished_locations",
    ),
    RuleDoc(
        _OUT,
        "EVSE.status",
        "(no record)",
        "EVSEs whose status maps to delete or skip (REMOVED, PLANNED) produce no record (noted).",
        "status.to_oicp",
    ),
    RuleDoc(
        _OUT,
        "EVSE.evse_id",
        "EvseID",
        "'-' separators become '*' (ocpi#179); an invalid id skips the EVSE; no id: skipped or derived "
        "as <OperatorID>*E<uid>.",
        L + "missing_evse_id",
    ),
    RuleDoc(
        _OUT,
        "EVSE.uid",
        "–",
        "OICP identifies EVSEs by EvseID only; read back, uid is derived from the EvseID (noted when "
        "it differs).",
        None,
    ),
    RuleDoc(
        _OUT,
        "Location.id",
        "ChargingStationID; ChargingPoolID",
        "ChargingStationID = Location.id verbatim; ChargingPoolID = <OperatorID>*P<id without other "
        "characters> (hashed beyond 30), none for DIN operators.",
        None,
    ),
    RuleDoc(
        _OUT,
        "Location.name",
        "ChargingStationNames[{lang, value}]",
        'Name (≤150, longer is cut and noted) in the configured language; no name: "address, city" (noted).',
        L + "names_lang",
    ),
    RuleDoc(
        _OUT,
        "Location.address",
        "Address.Street + HouseNum",
        "Split per rule; no number: the default HouseNum; Street shorter than 2 is padded with '_'; a "
        "Street longer than 100 is a MappingError (cutting it would name another place).",
        L + "address_split",
    ),
    RuleDoc(
        _OUT,
        "(none)",
        "Address.HouseNum",
        "Default when the address has no house number.",
        L + "house_number_default",
    ),
    RuleDoc(
        _OUT,
        "Location.postal_code",
        "Address.PostalCode",
        "Copied; absent: the default (mandatory since 2.3).",
        L + "postal_code_default",
    ),
    RuleDoc(
        _OUT,
        "Location.city / state / country",
        "Address.City / Region / Country",
        "Copied (country is alpha-3 on both sides).",
        None,
    ),
    RuleDoc(_OUT, "EVSE.floor_level", "Address.Floor", "Copied.", None),
    RuleDoc(
        _OUT,
        "Location.time_zone",
        "Address.TimeZone",
        "UTC offset of the zone at the 'now' passed in (omitted without it); read back, the zone comes "
        "from the rules, never from an offset.",
        L + "time_zone",
    ),
    RuleDoc(
        _OUT,
        "EVSE.coordinates, else Location.coordinates",
        "GeoCoordinates",
        "In the configured notation with at most 6 decimals (more are rounded, noted).",
        L + "coordinates_format",
    ),
    RuleDoc(
        _OUT,
        "Location.parking_type",
        "AccessibilityLocation",
        "Table; ALONG_MOTORWAY and ON_DRIVEWAY have no OICP value (noted).",
        L + "accessibility_locations",
    ),
    RuleDoc(
        _OUT,
        "Location.opening_times",
        "IsOpen24Hours + OpeningTimes",
        "twentyfourseven → IsOpen24Hours; regular_hours grouped as Everyday / Workdays / Weekend / "
        "single days; exceptional openings and closings are lost (noted); absent → open 24 h (noted).",
        L + "open_24_hours_when_unknown",
    ),
    RuleDoc(
        _OUT,
        "Connector.standard + format",
        "Plugs[i]",
        "Table (standard/format rows win); a "
        "connector without plug is dropped or an error; an EVSE without plugs is skipped or an error.",
        L + "plugs",
    ),
    RuleDoc(
        _OUT,
        "Connector without OICP plug",
        "–",
        "Dropped (noted) or MappingError.",
        L + "unmappable_connectors",
    ),
    RuleDoc(
        _OUT, "EVSE without any plug", "–", "Skipped (noted) or MappingError.", L + "evses_without_plugs"
    ),
    RuleDoc(
        _OUT,
        "Connector.power_type",
        "ChargingFacilities[i].PowerType",
        "Table (AC_2_PHASE → AC_1_PHASE, noted).",
        L + "power_types",
    ),
    RuleDoc(
        _OUT,
        "Connector.max_electric_power (W)",
        "ChargingFacilities[i].Power (kW, integer 0-999)",
        "W/1000 rounded per rule (noted when not exact); absent: max_voltage × max_amperage × phases "
        "(noted).",
        L + "power_rounding",
    ),
    RuleDoc(
        _OUT,
        "Connector.max_voltage",
        "ChargingFacilities[i].Voltage",
        "Line-to-neutral: an AC_3_PHASE value above the threshold is divided by √3 (noted); above 999 "
        "omitted (noted).",
        L + "line_to_line_voltage_above",
    ),
    RuleDoc(
        _OUT,
        "Connector.max_amperage",
        "ChargingFacilities[i].Amperage",
        "Copied; above 99 omitted (OICP allows 2 digits, noted).",
        None,
    ),
    RuleDoc(
        _OUT,
        "EVSE.capabilities",
        "AuthenticationModes",
        "Table; none derived: the default list (noted).",
        L + "authentication_modes_from_capabilities",
    ),
    RuleDoc(
        _OUT,
        "(none)",
        "AuthenticationModes",
        "Used when the capabilities give no mode.",
        L + "authentication_modes_default",
    ),
    RuleDoc(
        _OUT,
        "(none)",
        "AuthenticationModes",
        "A fixed list replaces the derived one.",
        L + "authentication_modes",
    ),
    RuleDoc(
        _OUT, "(none)", "PaymentOptions", "A fixed list replaces the derived one.", L + "payment_options"
    ),
    RuleDoc(
        _OUT,
        "(none)",
        "ValueAddedServices",
        "A fixed list replaces the derived one.",
        L + "value_added_services",
    ),
    RuleDoc(
        _OUT,
        "EVSE.capabilities",
        "PaymentOptions",
        'Always-list plus table; "No Payment" wins alone.',
        L + "payment_options_from_capabilities",
    ),
    RuleDoc(_OUT, "(none)", "PaymentOptions", "Sent for every EVSE.", L + "payment_options_always"),
    RuleDoc(
        _OUT,
        "EVSE.capabilities",
        "ValueAddedServices",
        'Table; none: ["None"].',
        L + "value_added_services_from_capabilities",
    ),
    RuleDoc(_OUT, "EVSE.capabilities without any OICP value", "–", "Lost (noted).", None),
    RuleDoc(
        _OUT,
        "(none)",
        "HotlinePhoneNumber",
        "From the rules (mandatory; none configured is a MappingError).",
        L + "hotline_phone_number",
    ),
    RuleDoc(_OUT, "(none)", "Accessibility", "From the rules.", L + "accessibility"),
    RuleDoc(_OUT, "(none)", "IsHubjectCompatible", "From the rules.", L + "is_hubject_compatible"),
    RuleDoc(_OUT, "(none)", "DynamicInfoAvailable", "From the rules.", L + "dynamic_info_available"),
    RuleDoc(
        _OUT,
        "(none)",
        "CalibrationLawDataAvailability",
        "From the rules.",
        L + "calibration_law_data_availability",
    ),
    RuleDoc(
        _OUT,
        "(EvseID)",
        "any EVSE-level value above",
        "A row of evse_overrides for the EvseID wins.",
        L + "evse_overrides",
    ),
    RuleDoc(
        _OUT,
        "Location.energy_mix.is_green_energy",
        "RenewableEnergy",
        "Copied; no energy_mix: the default (noted).",
        L + "renewable_energy_default",
    ),
    RuleDoc(
        _OUT,
        "Location.energy_mix.energy_sources",
        "EnergySource[{Energy, Percentage}]",
        "Table; percentages rounded half up, at most 99 (noted when changed).",
        L + "energy_sources",
    ),
    RuleDoc(
        _OUT,
        "Location.energy_mix.environ_impact",
        "EnvironmentalImpact",
        "CARBON_DIOXIDE → CO2Emission, NUCLEAR_WASTE → NuclearWaste (g/kWh both).",
        None,
    ),
    RuleDoc(
        _OUT,
        "Location/EVSE.directions",
        "ChargingStationLocationReference",
        "Location directions then EVSE directions, text cut to 150 (noted).",
        None,
    ),
    RuleDoc(
        _OUT,
        "EVSE.images (category CHARGER)",
        "ChargingStationImage",
        "The first one's url (≤200); other images are lost (noted).",
        None,
    ),
    RuleDoc(_OUT, "Location.suboperator.name", "SubOperatorName", "Copied.", None),
    RuleDoc(
        _OUT,
        "Location.operator.name",
        "OperatorName (PushEvseData envelope)",
        "The envelope carries the operator passed in; a different Location operator name is noted.",
        None,
    ),
    RuleDoc(
        _OUT,
        "publish_allowed_to, related_locations, owner, facilities, charging_when_closed, "
        "status_schedule, physical_reference, parking_restrictions, tariff_ids, terms_and_conditions, "
        "unknown fields",
        "–",
        "No OICP field: lost (noted).",
        None,
    ),
    # ---- OICP → OCPI
    RuleDoc(
        _IN,
        "EvseDataRecords",
        "Locations",
        "Grouped by the first available key of the rule; Location fields come from the group's first record.",
        L + "group_by",
    ),
    RuleDoc(
        _IN,
        "ChargingStationID / ChargingPoolID",
        "Location.id",
        "The group's single ChargingStationID, else its ChargingPoolID, else a hash of the site; made "
        "to fit CiString(36) (verbatim, '*' removed, or cut + '~' + hash).",
        None,
    ),
    RuleDoc(
        _IN,
        "GeoCoordinates of records without pool or station id",
        "(site grouping)",
        "Rounded to the configured decimals before records are compared.",
        L + "site_coordinate_decimals",
    ),
    RuleDoc(
        _IN,
        "OperatorID (record, envelope or EvseID prefix)",
        "Location.country_code / party_id",
        "ISO OperatorID split (DE*ABC → DE, ABC) unless given by the caller; DIN operators via a table.",
        L + "din_operators",
    ),
    RuleDoc(
        _IN,
        "Address.Country",
        "Location.time_zone",
        "The configured zone, else the country's; no zone: the records are skipped (noted) or an error.",
        L + "time_zones_by_country",
    ),
    RuleDoc(
        _IN,
        "Accessibility",
        "Location.publish",
        "Table: publish, unpublished or skip (Test Station is not published).",
        L + "accessibility_to_ocpi",
    ),
    RuleDoc(
        _IN,
        "Address.Street + HouseNum",
        "Location.address",
        '"Street HouseNum" ("HouseNum Street" '
        "for number_first); the default HouseNum and a '_' padding are removed.",
        L + "address_split",
    ),
    RuleDoc(
        _IN,
        "Address.PostalCode / City / Region / Country / Floor",
        "postal_code / city / state / country / EVSE.floor_level",
        "Copied; the default PostalCode means none; City cut to 45, Floor longer than 4 lost (noted).",
        L + "postal_code_default",
    ),
    RuleDoc(
        _IN,
        "ChargingStationNames",
        "Location.name",
        "The entry in the configured language, else the first; other languages lost (noted).",
        L + "names_lang",
    ),
    RuleDoc(
        _IN,
        "GeoCoordinates (any notation)",
        "Location.coordinates / EVSE.coordinates",
        "6 decimals; EVSE coordinates only where they differ from the Location's (first record).",
        None,
    ),
    RuleDoc(
        _IN,
        "AccessibilityLocation",
        "Location.parking_type",
        "The locations.accessibility_locations table read backwards.",
        L + "accessibility_locations",
    ),
    RuleDoc(
        _IN,
        "IsOpen24Hours + OpeningTimes",
        "Location.opening_times",
        "Everyday/Workdays/Weekend "
        "expanded to weekdays; end 24:00 becomes 00:00; not open 24 h without periods: omitted (noted).",
        None,
    ),
    RuleDoc(
        _IN,
        "Plugs[i] + ChargingFacilities[i]",
        "EVSE.connectors[i] (id i+1)",
        "Paired by index; "
        "missing facilities reuse the last one (noted); plugs without OCPI value dropped (noted).",
        L + "plugs_to_ocpi",
    ),
    RuleDoc(
        _IN,
        "ChargingFacilities[i].Power (kW) / Voltage / Amperage",
        "max_electric_power (W) / max_voltage / max_amperage",
        "kW × 1000; no Voltage: the default (noted); no Amperage: computed from power (noted).",
        L + "default_voltage",
    ),
    RuleDoc(
        _IN,
        "ChargingFacilities[i].Voltage (AC_3_PHASE)",
        "Connector.max_voltage",
        "Above the threshold it is read as line-to-line and divided by √3 (noted).",
        L + "line_to_line_voltage_above",
    ),
    RuleDoc(
        _IN,
        "AuthenticationModes, PaymentOptions, ValueAddedServices",
        "EVSE.capabilities",
        "Table.",
        L + "capabilities_from_oicp",
    ),
    RuleDoc(
        _IN,
        "RenewableEnergy, EnergySource, EnvironmentalImpact",
        "Location.energy_mix",
        "is_green_energy, energy_sources via the table, environ_impact.",
        L + "energy_sources_to_ocpi",
    ),
    RuleDoc(
        _IN,
        "ChargingStationLocationReference",
        "Location.directions / EVSE.directions",
        "Entries common to all records of the group go to the Location, the others to the EVSE.",
        None,
    ),
    RuleDoc(
        _IN,
        "ChargingStationImage",
        "EVSE.images[{category CHARGER}]",
        "type from the file extension; none recognisable: lost (noted).",
        None,
    ),
    RuleDoc(_IN, "OperatorName / SubOperatorName", "Location.operator / suboperator", "Copied.", None),
    RuleDoc(
        _IN,
        "(status map passed in) / deltaType",
        "EVSE.status",
        "Through status.to_ocpi; no status: UNKNOWN (noted); deltaType delete: REMOVED.",
        "status.to_ocpi",
    ),
    RuleDoc(_IN, "lastUpdate", "last_updated (Location, EVSE, Connector)", "Copied; absent: now.", None),
    RuleDoc(
        _IN,
        "HotlinePhoneNumber, IsHubjectCompatible, DynamicInfoAvailable, "
        "CalibrationLawDataAvailability, HardwareManufacturer, MaxCapacity, DynamicPowerLevel, "
        "ClearinghouseID, HubOperatorID, AdditionalInfo, GeoChargingPointEntrance, ChargingModes, "
        "Address.TimeZone/ParkingFacility/ParkingSpot, unknown fields",
        "–",
        "No OCPI field: lost (one note per field and call).",
        None,
    ),
    RuleDoc(
        _IN, "records of an invalid group", "–", "Skipped (noted) or MappingError.", L + "invalid_records"
    ),
    # ---- both
    RuleDoc(
        "both",
        "OCPI → OICP → OCPI",
        "the same Location",
        f"Keeps {', '.join(ROUND_TRIP_FIELDS)} unless a note names them; every other field is named by "
        "a note; last_updated is metadata (rebuilt).",
        None,
    ),
)


# ---------------------------------------------------------------------------------------------
# Rules shared by both directions

_NUMBER_LAST = re.compile(r"^(?P<street>.*?\S)[\s,]+(?P<number>\d[\w/\-]*(?:\s[A-Za-z])?)$")
_NUMBER_FIRST = re.compile(r"^(?P<number>\d[\w/\-]*)[\s,]+(?P<street>\S.*)$")
PAD = "_"
IMAGE_TYPES: dict[str, str] = {
    "jpg": "jpg",
    "jpeg": "jpeg",
    "png": "png",
    "gif": "gif",
    "svg": "svg",
    "webp": "webp",
    "bmp": "bmp",
}


_SPLITS: dict[str, tuple[re.Pattern[str], ...]] = {
    "number_last": (_NUMBER_LAST,),
    "number_first": (_NUMBER_FIRST,),
    "auto": (_NUMBER_LAST, _NUMBER_FIRST),
}


def split_address(address: str, mode: str) -> tuple[str, str | None]:
    """``locations.address_split``: (Street, HouseNum or None). HouseNum is at most 10 characters."""
    text = address.strip()
    for pattern in _SPLITS.get(mode, ()):
        found = pattern.match(text)
        if found and len(found.group("number")) <= 10:
            return found.group("street"), found.group("number")
    return text, None


def join_address(street: str, number: str | None, mode: str, house_default: str) -> str:
    """The OCPI address of an OICP Street + HouseNum (the inverse of :func:`split_address`)."""
    if len(street) == 2 and street.endswith(PAD) and street[0] != PAD:
        street = street[0]
    if not number or number == house_default:
        return street
    return f"{number} {street}" if mode == "number_first" else f"{street} {number}"


def image_type(url: str) -> str | None:
    """OCPI Image.type (CiString(4)) from the file extension of ``url``, or None."""
    tail = url.rsplit("?", 1)[0].rsplit("#", 1)[0].rsplit("/", 1)[-1]
    return IMAGE_TYPES.get(tail.rsplit(".", 1)[-1].lower()) if "." in tail else None
