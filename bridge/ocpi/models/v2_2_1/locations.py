"""OCPI 2.2.1 Locations module objects (mod_locations.asciidoc, ocpi.md §4.1 and §3.2).

Max lengths follow the ``release-2.2.1-bugfixes`` branch: Location ``address`` string(255) and
``state`` string(45). The OpenAPI definitions still carry the pre-errata 45/20 (ocpi-openapi
SOURCE.md); tests check that this is the only difference.

The defective official example ``location_put_example_add_evse.json`` (``floor`` instead of
``floor_level``, ``physical_reference`` as a number, connectors without power_type/max_voltage/
max_amperage) is **rejected** as an EVSE, the errors naming each field: string fields take no
numbers, and required fields are required. ``floor`` is not a 2.2.1 field, so on an otherwise valid
EVSE it is kept as an unknown extra field (forwarded as received) and never read as ``floor_level``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints, ValidationInfo, field_validator

from bridge.ocpi.models.common import DateTime, Number, OcpiModel
from bridge.ocpi.models.v2_2_1.types import (
    TOKEN_MODEL_CONFIG,
    URL,
    BusinessDetails,
    CiString2,
    CiString3,
    CiString36,
    CiString48,
    DisplayText,
    Image,
    String3,
    String4,
    String10,
    String16,
    String45,
    String64,
    String255,
    TimeOfDay,
    TokenType,
)

# --------------------------------------------------------------------------------------------
# Enums


class Capability(StrEnum):
    """Capability of an EVSE."""

    CHARGING_PROFILE_CAPABLE = "CHARGING_PROFILE_CAPABLE"
    CHARGING_PREFERENCES_CAPABLE = "CHARGING_PREFERENCES_CAPABLE"
    CHIP_CARD_SUPPORT = "CHIP_CARD_SUPPORT"
    CONTACTLESS_CARD_SUPPORT = "CONTACTLESS_CARD_SUPPORT"
    CREDIT_CARD_PAYABLE = "CREDIT_CARD_PAYABLE"
    DEBIT_CARD_PAYABLE = "DEBIT_CARD_PAYABLE"
    PED_TERMINAL = "PED_TERMINAL"
    REMOTE_START_STOP_CAPABLE = "REMOTE_START_STOP_CAPABLE"
    RESERVABLE = "RESERVABLE"
    RFID_READER = "RFID_READER"
    START_SESSION_CONNECTOR_REQUIRED = "START_SESSION_CONNECTOR_REQUIRED"
    TOKEN_GROUP_CAPABLE = "TOKEN_GROUP_CAPABLE"  # noqa: S105 (an enum value, not a secret)
    UNLOCK_CAPABLE = "UNLOCK_CAPABLE"


class ConnectorFormat(StrEnum):
    """ConnectorFormat: socket (bring your own cable) or attached cable."""

    SOCKET = "SOCKET"
    CABLE = "CABLE"


class ConnectorType(StrEnum):
    """ConnectorType: the socket or plug standard."""

    CHADEMO = "CHADEMO"
    CHAOJI = "CHAOJI"
    DOMESTIC_A = "DOMESTIC_A"
    DOMESTIC_B = "DOMESTIC_B"
    DOMESTIC_C = "DOMESTIC_C"
    DOMESTIC_D = "DOMESTIC_D"
    DOMESTIC_E = "DOMESTIC_E"
    DOMESTIC_F = "DOMESTIC_F"
    DOMESTIC_G = "DOMESTIC_G"
    DOMESTIC_H = "DOMESTIC_H"
    DOMESTIC_I = "DOMESTIC_I"
    DOMESTIC_J = "DOMESTIC_J"
    DOMESTIC_K = "DOMESTIC_K"
    DOMESTIC_L = "DOMESTIC_L"
    DOMESTIC_M = "DOMESTIC_M"
    DOMESTIC_N = "DOMESTIC_N"
    DOMESTIC_O = "DOMESTIC_O"
    GBT_AC = "GBT_AC"
    GBT_DC = "GBT_DC"
    IEC_60309_2_single_16 = "IEC_60309_2_single_16"
    IEC_60309_2_three_16 = "IEC_60309_2_three_16"
    IEC_60309_2_three_32 = "IEC_60309_2_three_32"
    IEC_60309_2_three_64 = "IEC_60309_2_three_64"
    IEC_62196_T1 = "IEC_62196_T1"
    IEC_62196_T1_COMBO = "IEC_62196_T1_COMBO"
    IEC_62196_T2 = "IEC_62196_T2"
    IEC_62196_T2_COMBO = "IEC_62196_T2_COMBO"
    IEC_62196_T3A = "IEC_62196_T3A"
    IEC_62196_T3C = "IEC_62196_T3C"
    NEMA_5_20 = "NEMA_5_20"
    NEMA_6_30 = "NEMA_6_30"
    NEMA_6_50 = "NEMA_6_50"
    NEMA_10_30 = "NEMA_10_30"
    NEMA_10_50 = "NEMA_10_50"
    NEMA_14_30 = "NEMA_14_30"
    NEMA_14_50 = "NEMA_14_50"
    PANTOGRAPH_BOTTOM_UP = "PANTOGRAPH_BOTTOM_UP"
    PANTOGRAPH_TOP_DOWN = "PANTOGRAPH_TOP_DOWN"
    TESLA_R = "TESLA_R"
    TESLA_S = "TESLA_S"


class EnergySourceCategory(StrEnum):
    """EnergySourceCategory."""

    NUCLEAR = "NUCLEAR"
    GENERAL_FOSSIL = "GENERAL_FOSSIL"
    COAL = "COAL"
    GAS = "GAS"
    GENERAL_GREEN = "GENERAL_GREEN"
    SOLAR = "SOLAR"
    WIND = "WIND"
    WATER = "WATER"


class EnvironmentalImpactCategory(StrEnum):
    """EnvironmentalImpactCategory (2.1.1 calls the field ``source``; 2.2.1 ``category``)."""

    NUCLEAR_WASTE = "NUCLEAR_WASTE"
    CARBON_DIOXIDE = "CARBON_DIOXIDE"


class Facility(StrEnum):
    """Facility at or near the Location."""

    HOTEL = "HOTEL"
    RESTAURANT = "RESTAURANT"
    CAFE = "CAFE"
    MALL = "MALL"
    SUPERMARKET = "SUPERMARKET"
    SPORT = "SPORT"
    RECREATION_AREA = "RECREATION_AREA"
    NATURE = "NATURE"
    MUSEUM = "MUSEUM"
    BIKE_SHARING = "BIKE_SHARING"
    BUS_STOP = "BUS_STOP"
    TAXI_STAND = "TAXI_STAND"
    TRAM_STOP = "TRAM_STOP"
    METRO_STATION = "METRO_STATION"
    TRAIN_STATION = "TRAIN_STATION"
    AIRPORT = "AIRPORT"
    PARKING_LOT = "PARKING_LOT"
    CARPOOL_PARKING = "CARPOOL_PARKING"
    FUEL_STATION = "FUEL_STATION"
    WIFI = "WIFI"


class ParkingRestriction(StrEnum):
    """ParkingRestriction of an EVSE's parking spot."""

    EV_ONLY = "EV_ONLY"
    PLUGGED = "PLUGGED"
    DISABLED = "DISABLED"
    CUSTOMERS = "CUSTOMERS"
    MOTORCYCLES = "MOTORCYCLES"


class ParkingType(StrEnum):
    """ParkingType (2.2.1; replaces 2.1.1 LocationType)."""

    ALONG_MOTORWAY = "ALONG_MOTORWAY"
    PARKING_GARAGE = "PARKING_GARAGE"
    PARKING_LOT = "PARKING_LOT"
    ON_DRIVEWAY = "ON_DRIVEWAY"
    ON_STREET = "ON_STREET"
    UNDERGROUND_GARAGE = "UNDERGROUND_GARAGE"


class PowerType(StrEnum):
    """PowerType at the connector."""

    AC_1_PHASE = "AC_1_PHASE"
    AC_2_PHASE = "AC_2_PHASE"
    AC_2_PHASE_SPLIT = "AC_2_PHASE_SPLIT"
    AC_3_PHASE = "AC_3_PHASE"
    DC = "DC"


class Status(StrEnum):
    """Status of an EVSE. EVSEs are never deleted: they are set to REMOVED."""

    AVAILABLE = "AVAILABLE"
    BLOCKED = "BLOCKED"
    CHARGING = "CHARGING"
    INOPERATIVE = "INOPERATIVE"
    OUTOFORDER = "OUTOFORDER"
    PLANNED = "PLANNED"
    REMOVED = "REMOVED"
    RESERVED = "RESERVED"
    UNKNOWN = "UNKNOWN"


# --------------------------------------------------------------------------------------------
# Supporting classes

Latitude = Annotated[str, StringConstraints(max_length=10, pattern=r"^-?[0-9]{1,2}\.[0-9]{5,7}$")]
"""GeoLocation.latitude: string(10), regex ``-?[0-9]{1,2}\\.[0-9]{5,7}`` (2.2.1), matched whole."""

Longitude = Annotated[str, StringConstraints(max_length=11, pattern=r"^-?[0-9]{1,3}\.[0-9]{5,7}$")]
"""GeoLocation.longitude: string(11), regex ``-?[0-9]{1,3}\\.[0-9]{5,7}`` (2.2.1), matched whole."""


class GeoLocation(OcpiModel):
    """GeoLocation (WGS 84): latitude and longitude as decimal strings with 5 to 7 decimals."""

    latitude: Latitude
    longitude: Longitude


class AdditionalGeoLocation(OcpiModel):
    """AdditionalGeoLocation: a related point (entrance, exit...) with an optional name."""

    latitude: Latitude
    longitude: Longitude
    name: DisplayText | None = None


class RegularHours(OcpiModel):
    """RegularHours: weekday 1 (Monday) .. 7 (Sunday); period_begin/period_end "HH:MM" local time.

    The spec says period_end "must be later than period_begin"; that is not enforced, because
    periods across midnight occur in real data and the order carries no ambiguity we could fix.
    """

    weekday: Annotated[int, Field(ge=1, le=7)]
    period_begin: TimeOfDay
    period_end: TimeOfDay


class ExceptionalPeriod(OcpiModel):
    """ExceptionalPeriod: period_begin and period_end, both DateTime (UTC), both required."""

    period_begin: DateTime
    period_end: DateTime


class Hours(OcpiModel):
    """Hours: twentyfourseven boolean 1; regular_hours *; exceptional_openings *; exceptional_closings *.

    Rule: when ``twentyfourseven`` is false, ``regular_hours`` must contain at least one
    RegularHours ("Only to be used if twentyfourseven=false, then this field needs to contain at
    least one RegularHours object").
    """

    twentyfourseven: bool
    regular_hours: Annotated[list[RegularHours] | None, Field(validate_default=True)] = None
    exceptional_openings: list[ExceptionalPeriod] | None = None
    exceptional_closings: list[ExceptionalPeriod] | None = None

    @field_validator("regular_hours")
    @classmethod
    def _regular_hours_when_not_247(
        cls, value: list[RegularHours] | None, info: ValidationInfo
    ) -> list[RegularHours] | None:
        if info.data.get("twentyfourseven") is False and not value:
            raise ValueError("required (at least one RegularHours) when twentyfourseven is false")
        return value


class EnergySource(OcpiModel):
    """EnergySource: source EnergySourceCategory 1, percentage number 1 (0-100)."""

    source: EnergySourceCategory
    percentage: Annotated[Number, Field(ge=0, le=100)]


class EnvironmentalImpact(OcpiModel):
    """EnvironmentalImpact: category EnvironmentalImpactCategory 1, amount number 1 (g/kWh)."""

    category: EnvironmentalImpactCategory
    amount: Number


class EnergyMix(OcpiModel):
    """EnergyMix: is_green_energy 1; energy_sources *; environ_impact *; supplier_name,
    energy_product_name string(64) ?."""

    is_green_energy: bool
    energy_sources: list[EnergySource] | None = None
    environ_impact: list[EnvironmentalImpact] | None = None
    supplier_name: String64 | None = None
    energy_product_name: String64 | None = None


class PublishTokenType(OcpiModel):
    """PublishTokenType: uid CiString(36) ?, type TokenType ?, visual_number string(64) ?,
    issuer string(64) ?, group_id CiString(36) ?.

    Rules: at least one of uid, visual_number or group_id SHALL be set; when uid is set, type
    SHALL be set; when visual_number is set, issuer SHALL be set. Carries token identifiers, so
    errors never echo the input.
    """

    model_config = TOKEN_MODEL_CONFIG

    uid: CiString36 | None = None
    type: Annotated[TokenType | None, Field(validate_default=True)] = None
    visual_number: String64 | None = None
    issuer: Annotated[String64 | None, Field(validate_default=True)] = None
    group_id: Annotated[CiString36 | None, Field(validate_default=True)] = None

    @field_validator("type")
    @classmethod
    def _type_with_uid(cls, value: TokenType | None, info: ValidationInfo) -> TokenType | None:
        if value is None and info.data.get("uid") is not None:
            raise ValueError("SHALL be set when uid is set")
        return value

    @field_validator("issuer")
    @classmethod
    def _issuer_with_visual_number(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("visual_number") is not None:
            raise ValueError("SHALL be set when visual_number is set")
        return value

    @field_validator("group_id")
    @classmethod
    def _one_identifier(cls, value: str | None, info: ValidationInfo) -> str | None:
        # A uid or visual_number that failed its own validation is missing from info.data: only
        # report this rule when both were validated and both are absent.
        others = [info.data.get(name, "failed") for name in ("uid", "visual_number")]
        if value is None and others == [None, None]:
            raise ValueError("at least one of uid, visual_number or group_id SHALL be set")
        return value


class StatusSchedule(OcpiModel):
    """StatusSchedule: period_begin DateTime 1, period_end DateTime ?, status Status 1."""

    period_begin: DateTime
    period_end: DateTime | None = None
    status: Status


# --------------------------------------------------------------------------------------------
# Location, EVSE, Connector


class Connector(OcpiModel):
    """Connector: id CiString(36) 1, standard 1, format 1, power_type 1, max_voltage int 1,
    max_amperage int 1, max_electric_power int ?, tariff_ids CiString(36) *, terms_and_conditions
    URL ?, last_updated 1."""

    id: CiString36
    standard: ConnectorType
    format: ConnectorFormat
    power_type: PowerType
    max_voltage: int
    max_amperage: int
    max_electric_power: int | None = None
    tariff_ids: list[CiString36] | None = None
    terms_and_conditions: URL | None = None
    last_updated: DateTime


class EVSE(OcpiModel):
    """EVSE: uid CiString(36) 1, evse_id CiString(48) ?, status 1, status_schedule *, capabilities *,
    connectors + , floor_level string(4) ?, coordinates ?, physical_reference string(16) ?,
    directions *, parking_restrictions *, images *, last_updated 1.

    ``uid`` is the technical, immutable id; ``evse_id`` the eMI3 id, optional and reusable. String
    fields take no numbers (``"physical_reference": 3`` fails naming the field); the 2.1.1-era
    ``floor`` is not read as ``floor_level`` but kept as an unknown extra field.
    """

    uid: CiString36
    evse_id: CiString48 | None = None
    status: Status
    status_schedule: list[StatusSchedule] | None = None
    capabilities: list[Capability] | None = None
    connectors: Annotated[list[Connector], Field(min_length=1)]
    floor_level: String4 | None = None
    coordinates: GeoLocation | None = None
    physical_reference: String16 | None = None
    directions: list[DisplayText] | None = None
    parking_restrictions: list[ParkingRestriction] | None = None
    images: list[Image] | None = None
    last_updated: DateTime


class Location(OcpiModel):
    """Location (2.2.1, bugfix-branch lengths).

    country_code CiString(2) 1, party_id CiString(3) 1, id CiString(36) 1, publish boolean 1,
    publish_allowed_to PublishTokenType *, name string(255) ?, address string(255) 1, city
    string(45) 1, postal_code string(10) ?, state string(45) ?, country string(3) 1 (ISO alpha-3),
    coordinates 1, related_locations *, parking_type ?, evses *, directions *, operator ?,
    suboperator ?, owner ?, facilities *, time_zone string(255) 1 (IANA), opening_times Hours ?,
    charging_when_closed boolean ? (absent means true), images *, energy_mix ?, last_updated 1.

    Rule: ``publish_allowed_to`` "may only be used when the publish field is set to false".
    Carries token identifiers (publish_allowed_to), so errors never echo the input.
    """

    model_config = TOKEN_MODEL_CONFIG

    country_code: CiString2
    party_id: CiString3
    id: CiString36
    publish: bool
    publish_allowed_to: list[PublishTokenType] | None = None
    name: String255 | None = None
    address: String255
    city: String45
    postal_code: String10 | None = None
    state: String45 | None = None
    country: String3
    coordinates: GeoLocation
    related_locations: list[AdditionalGeoLocation] | None = None
    parking_type: ParkingType | None = None
    evses: list[EVSE] | None = None
    directions: list[DisplayText] | None = None
    operator: BusinessDetails | None = None
    suboperator: BusinessDetails | None = None
    owner: BusinessDetails | None = None
    facilities: list[Facility] | None = None
    time_zone: String255
    opening_times: Hours | None = None
    charging_when_closed: bool | None = None
    images: list[Image] | None = None
    energy_mix: EnergyMix | None = None
    last_updated: DateTime

    @field_validator("publish_allowed_to")
    @classmethod
    def _only_when_unpublished(
        cls, value: list[PublishTokenType] | None, info: ValidationInfo
    ) -> list[PublishTokenType] | None:
        if value and info.data.get("publish") is True:
            raise ValueError("may only be used when publish is false")
        return value


__all__ = [
    "EVSE",
    "AdditionalGeoLocation",
    "Capability",
    "Connector",
    "ConnectorFormat",
    "ConnectorType",
    "EnergyMix",
    "EnergySource",
    "EnergySourceCategory",
    "EnvironmentalImpact",
    "EnvironmentalImpactCategory",
    "ExceptionalPeriod",
    "Facility",
    "GeoLocation",
    "Hours",
    "Latitude",
    "Location",
    "Longitude",
    "ParkingRestriction",
    "ParkingType",
    "PowerType",
    "PublishTokenType",
    "RegularHours",
    "Status",
    "StatusSchedule",
]
