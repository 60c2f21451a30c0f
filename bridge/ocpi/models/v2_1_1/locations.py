"""OCPI 2.1.1 Locations module (mod_locations.md): Location, EVSE, Connector and their types.

Differences from 2.2.1 (ocpi.md §4.1, ▲ marks): ``type: LocationType`` is required (2.2.1 has an
optional ``parking_type``); no ``country_code``/``party_id``/``publish``/``publish_allowed_to``/
``state``; ``postal_code`` and ``address`` string(45) are required; ``time_zone`` is optional;
``Hours`` is a choice between ``regular_hours`` and ``twentyfourseven``; Connector has ``voltage``,
``amperage`` and a single ``tariff_id``; EnvironmentalImpact uses ``source``; Capability,
ConnectorType, Facility and PowerType are subsets of the 2.2.1 enums.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StringConstraints, ValidationInfo, model_validator

from bridge.ocpi.models.common import OcpiModel
from bridge.ocpi.models.v2_1_1.types import (
    URL,
    DateTime,
    DisplayText,
    LenientString4,
    LenientString16,
    Number,
    String3,
    String4,
    String10,
    String36,
    String39,
    String45,
    String48,
    String64,
    String100,
    String255,
    TimeOfDay,
    logger,
)

# --------------------------------------------------------------------------------------------
# Enums (mod_locations.md §4)


class Capability(StrEnum):
    """mod_locations.md 4.2 Capability (2.1.1 subset of the 2.2.1 enum)."""

    CHARGING_PROFILE_CAPABLE = "CHARGING_PROFILE_CAPABLE"
    CREDIT_CARD_PAYABLE = "CREDIT_CARD_PAYABLE"
    REMOTE_START_STOP_CAPABLE = "REMOTE_START_STOP_CAPABLE"
    RESERVABLE = "RESERVABLE"
    RFID_READER = "RFID_READER"
    UNLOCK_CAPABLE = "UNLOCK_CAPABLE"


class ConnectorFormat(StrEnum):
    """mod_locations.md 4.3 ConnectorFormat."""

    SOCKET = "SOCKET"
    CABLE = "CABLE"


class ConnectorType(StrEnum):
    """mod_locations.md 4.4 ConnectorType (2.1.1: no CHAOJI, DOMESTIC_M..O, GBT_*, NEMA_*, PANTOGRAPH_*)."""

    CHADEMO = "CHADEMO"
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
    TESLA_R = "TESLA_R"
    TESLA_S = "TESLA_S"


class EnergySourceCategory(StrEnum):
    """mod_locations.md 4.7 EnergySourceCategory."""

    NUCLEAR = "NUCLEAR"
    GENERAL_FOSSIL = "GENERAL_FOSSIL"
    COAL = "COAL"
    GAS = "GAS"
    GENERAL_GREEN = "GENERAL_GREEN"
    SOLAR = "SOLAR"
    WIND = "WIND"
    WATER = "WATER"


class EnvironmentalImpactCategory(StrEnum):
    """mod_locations.md 4.9 EnvironmentalImpactCategory."""

    NUCLEAR_WASTE = "NUCLEAR_WASTE"
    CARBON_DIOXIDE = "CARBON_DIOXIDE"


class Facility(StrEnum):
    """mod_locations.md 4.11 Facility (2.1.1: no BIKE_SHARING, TRAM_STOP, METRO_STATION, PARKING_LOT)."""

    HOTEL = "HOTEL"
    RESTAURANT = "RESTAURANT"
    CAFE = "CAFE"
    MALL = "MALL"
    SUPERMARKET = "SUPERMARKET"
    SPORT = "SPORT"
    RECREATION_AREA = "RECREATION_AREA"
    NATURE = "NATURE"
    MUSEUM = "MUSEUM"
    BUS_STOP = "BUS_STOP"
    TAXI_STAND = "TAXI_STAND"
    TRAIN_STATION = "TRAIN_STATION"
    AIRPORT = "AIRPORT"
    CARPOOL_PARKING = "CARPOOL_PARKING"
    FUEL_STATION = "FUEL_STATION"
    WIFI = "WIFI"


class ImageCategory(StrEnum):
    """mod_locations.md 4.15 ImageCategory."""

    CHARGER = "CHARGER"
    ENTRANCE = "ENTRANCE"
    LOCATION = "LOCATION"
    NETWORK = "NETWORK"
    OPERATOR = "OPERATOR"
    OTHER = "OTHER"
    OWNER = "OWNER"


class LocationType(StrEnum):
    """mod_locations.md 4.16 LocationType (2.2.1 replaced it by the optional ParkingType)."""

    ON_STREET = "ON_STREET"
    PARKING_GARAGE = "PARKING_GARAGE"
    UNDERGROUND_GARAGE = "UNDERGROUND_GARAGE"
    PARKING_LOT = "PARKING_LOT"
    OTHER = "OTHER"
    UNKNOWN = "UNKNOWN"


class ParkingRestriction(StrEnum):
    """mod_locations.md 4.17 ParkingRestriction."""

    EV_ONLY = "EV_ONLY"
    PLUGGED = "PLUGGED"
    DISABLED = "DISABLED"
    CUSTOMERS = "CUSTOMERS"
    MOTORCYCLES = "MOTORCYCLES"


class PowerType(StrEnum):
    """mod_locations.md 4.18 PowerType (2.1.1: no AC_2_PHASE, AC_2_PHASE_SPLIT)."""

    AC_1_PHASE = "AC_1_PHASE"
    AC_3_PHASE = "AC_3_PHASE"
    DC = "DC"


class Status(StrEnum):
    """mod_locations.md 4.20 Status of an EVSE."""

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
# Coordinates (mod_locations.md 4.1 AdditionalGeoLocation, 4.12 GeoLocation)

_DEGREES = re.compile(r"^-?[0-9]{1,3}(\.[0-9]+)?$")
_SIX_DECIMALS = {"latitude": re.compile(r"^-?[0-9]{1,2}\.[0-9]{6}$"),
                 "longitude": re.compile(r"^-?[0-9]{1,3}\.[0-9]{6}$")}
_LIMIT = {"latitude": 90, "longitude": 180}


def _coordinate(value: Any, info: ValidationInfo) -> Any:
    """mod_locations.md 4.12: latitude ``-?[0-9]{1,2}\\.[0-9]{6}``, longitude ``-?[0-9]{1,3}\\.[0-9]{6}``.

    Lenient on ingress: any decimal-degree string (or JSON number) within range is accepted and
    kept verbatim; a value without exactly 6 decimals is logged. Egress to 2.1.1 peers pads or
    rounds to 6 decimals (mappings.ocpi_versions). Text that is not a number, or lies outside
    ±90/±180, is rejected naming the field.
    """
    name = info.field_name or "latitude"
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        logger.warning("OCPI 2.1.1 %s: coordinate sent as a JSON number %s; kept as a string", name, value)
        value = str(value)
    if not isinstance(value, str):
        return value  # pydantic names the field and the wrong type
    text = value.strip()
    if not _DEGREES.match(text):
        raise ValueError(f"{name} must be decimal degrees such as 50.770774, got {value!r}")
    try:
        degrees = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only valid decimals
        raise ValueError(f"{name} is not a number: {value!r}") from exc
    if abs(degrees) > _LIMIT.get(name, 180):
        raise ValueError(f"{name} {value!r} is outside ±{_LIMIT.get(name, 180)} degrees")
    pattern = _SIX_DECIMALS.get(name)
    if pattern is not None and not pattern.match(text):
        logger.warning("OCPI 2.1.1 %s %r does not have exactly 6 decimals; accepted", name, value)
    return text


Latitude = Annotated[str, BeforeValidator(_coordinate), StringConstraints(max_length=10)]
Longitude = Annotated[str, BeforeValidator(_coordinate), StringConstraints(max_length=11)]


class GeoLocation(OcpiModel):
    """mod_locations.md 4.12 GeoLocation: WGS 84 ``latitude`` string(10), ``longitude`` string(11).

    The spec demands exactly 6 decimals; we accept other precisions on ingress (logged) because
    the data is still exact, and format to 6 decimals on egress. Swapped latitude/longitude (the
    official CDR and Session examples) cannot be detected from the object: both values are valid
    degrees, so they are kept as sent.
    """

    latitude: Latitude
    longitude: Longitude


class AdditionalGeoLocation(OcpiModel):
    """mod_locations.md 4.1 AdditionalGeoLocation: a GeoLocation with an optional ``name``."""

    latitude: Latitude
    longitude: Longitude
    name: DisplayText | None = None


# --------------------------------------------------------------------------------------------
# Business details, images, energy mix


class Image(OcpiModel):
    """mod_locations.md 4.14 Image."""

    url: URL
    thumbnail: URL | None = None
    category: ImageCategory
    type: String4
    width: int | None = Field(default=None, ge=0, le=99999)
    height: int | None = Field(default=None, ge=0, le=99999)


class BusinessDetails(OcpiModel):
    """mod_locations.md 4.1 BusinessDetails: ``{name string(100), website URL ?, logo Image ?}``."""

    name: String100
    website: URL | None = None
    logo: Image | None = None


class EnergySource(OcpiModel):
    """mod_locations.md 4.6 EnergySource: ``{source, percentage}``."""

    source: EnergySourceCategory
    percentage: Number


class EnvironmentalImpact(OcpiModel):
    """mod_locations.md 4.8 EnvironmentalImpact: ``{source, amount}`` (2.2.1 renamed ``source`` to
    ``category``, ocpi.md §8 point 14)."""

    source: EnvironmentalImpactCategory
    amount: Number


class EnergyMix(OcpiModel):
    """mod_locations.md 4.5 EnergyMix."""

    is_green_energy: bool
    energy_sources: list[EnergySource] | None = None
    environ_impact: list[EnvironmentalImpact] | None = None
    supplier_name: String64 | None = None
    energy_product_name: String64 | None = None


# --------------------------------------------------------------------------------------------
# Hours (mod_locations.md 4.10, 4.13, 4.19)


class RegularHours(OcpiModel):
    """mod_locations.md 4.19 RegularHours: ``weekday`` 1 (Monday) .. 7, ``period_begin/end`` HH:MM."""

    weekday: int = Field(ge=1, le=7)
    period_begin: TimeOfDay
    period_end: TimeOfDay


class ExceptionalPeriod(OcpiModel):
    """mod_locations.md 4.10 ExceptionalPeriod."""

    period_begin: DateTime
    period_end: DateTime


class Hours(OcpiModel):
    """mod_locations.md 4.13 Hours: a *choice* of ``regular_hours`` or ``twentyfourseven``.

    Ingress is lenient, as real peers (and the spec's own RegularHours example) send
    ``twentyfourseven: false`` next to ``regular_hours``:

    * both present with ``twentyfourseven: false`` -- accepted silently;
    * ``twentyfourseven: true`` with non-empty ``regular_hours`` -- contradictory, accepted with a
      warning (24/7 wins when translating);
    * neither present -- accepted with a warning; the translation to 2.2.1 omits ``opening_times``.

    Egress to 2.1.1 peers (``mappings.ocpi_versions.location_down``) always sends exactly one.
    """

    regular_hours: list[RegularHours] | None = None
    twentyfourseven: bool | None = None
    exceptional_openings: list[ExceptionalPeriod] | None = None
    exceptional_closings: list[ExceptionalPeriod] | None = None

    @model_validator(mode="after")
    def _choice(self) -> Hours:
        if self.twentyfourseven is None and self.regular_hours is None:
            logger.warning("OCPI 2.1.1 Hours: neither regular_hours nor twentyfourseven given")
        elif self.twentyfourseven and self.regular_hours:
            logger.warning("OCPI 2.1.1 Hours: twentyfourseven=true together with regular_hours")
        return self


class StatusSchedule(OcpiModel):
    """mod_locations.md 4.21 StatusSchedule."""

    period_begin: DateTime
    period_end: DateTime | None = None
    status: Status


# --------------------------------------------------------------------------------------------
# Connector, EVSE, Location (mod_locations.md §3)


class Connector(OcpiModel):
    """mod_locations.md 3.3 Connector (2.1.1: ``voltage``, ``amperage``, single ``tariff_id``)."""

    id: String36
    standard: ConnectorType
    format: ConnectorFormat
    power_type: PowerType
    voltage: int
    amperage: int
    tariff_id: String36 | None = None
    terms_and_conditions: URL | None = None
    last_updated: DateTime


class EVSE(OcpiModel):
    """mod_locations.md 3.2 EVSE.

    ``floor_level`` string(4) and ``physical_reference`` string(16) tolerate JSON numbers (kept as
    their text, with a warning): the official "add an EVSE" example sends ``3`` and ``-1``.
    Missing required fields are *not* tolerated -- the spec says such an object "may be
    discarded" (mod_locations.md 2.2.3, "add an EVSE"), so it is rejected naming each field.
    """

    uid: String39
    evse_id: String48 | None = None
    status: Status
    status_schedule: list[StatusSchedule] | None = None
    capabilities: list[Capability] | None = None
    connectors: list[Connector] = Field(min_length=1)
    floor_level: LenientString4 | None = None
    coordinates: GeoLocation | None = None
    physical_reference: LenientString16 | None = None
    directions: list[DisplayText] | None = None
    parking_restrictions: list[ParkingRestriction] | None = None
    images: list[Image] | None = None
    last_updated: DateTime


_ALPHA3 = re.compile(r"^[A-Z]{3}$")


def _country(value: Any) -> Any:
    """mod_locations.md 3.1 ``country``: ISO 3166-1 alpha-3, string(3).

    Lenient: a value that is not three upper-case letters (the official CDR and Session examples
    send the alpha-2 ``"BE"``) is kept verbatim with a warning; anything longer than 3 characters is
    rejected by the max length. Converting alpha-2 to alpha-3 is left to the consumer that needs it.
    """
    if isinstance(value, str) and not _ALPHA3.match(value):
        logger.warning("OCPI 2.1.1 Location.country %r is not an ISO 3166-1 alpha-3 code; accepted", value)
    return value


class Location(OcpiModel):
    """mod_locations.md 3.1 Location (2.1.1).

    Required ``type: LocationType``; no ``country_code``/``party_id`` (they come from the
    connection), no ``publish``; ``time_zone`` optional; ``address`` string(45).
    """

    id: String39
    type: LocationType
    name: String255 | None = None
    address: String45
    city: String45
    postal_code: String10
    country: Annotated[String3, BeforeValidator(_country)]
    coordinates: GeoLocation
    related_locations: list[AdditionalGeoLocation] | None = None
    evses: list[EVSE] | None = None
    directions: list[DisplayText] | None = None
    operator: BusinessDetails | None = None
    suboperator: BusinessDetails | None = None
    owner: BusinessDetails | None = None
    facilities: list[Facility] | None = None
    time_zone: String255 | None = None
    opening_times: Hours | None = None
    charging_when_closed: bool | None = None
    images: list[Image] | None = None
    energy_mix: EnergyMix | None = None
    last_updated: DateTime


__all__ = [
    "EVSE",
    "AdditionalGeoLocation",
    "BusinessDetails",
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
    "Image",
    "ImageCategory",
    "Location",
    "LocationType",
    "ParkingRestriction",
    "PowerType",
    "RegularHours",
    "Status",
    "StatusSchedule",
]
