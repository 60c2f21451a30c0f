"""EVSE data: EvseDataRecord and its parts, PushEvseData and PullEvseData (oicp-2.3.md §2.1, §2.3, §4.2).

Legacy tolerance: HBS maps EVSE data pushed with OICP 2.1/2.2 into 2.3 pulls and sends ``null``
for fields that 2.3 made mandatory (release notes "OICP Versions - Cross Functional":
OperatorName, ChargingStationNames, HouseNum, PostalCode, Power, PowerType, PaymentOptions,
RenewableEnergy, CalibrationLawDataAvailability) and for every former "Unspecified" value
(Plugs, Accessibility, PowerType). Those fields are optional here so a pulled page never fails on
one legacy record; they are mandatory again when we serialize (egress strict).
"""

from __future__ import annotations

import enum
import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AliasChoices, BeforeValidator, Field, model_validator

from bridge.oicp.models.common import (
    ActionType,
    EgressChecked,
    OicpDateTime,
    OicpModel,
    OicpNumber,
    Page,
    missing,
)
from bridge.oicp.models.ids import ChargingPoolID, EvseID, OperatorID, PhoneNumber, ProviderID

# Patterns verbatim from the OpenAPI (components/schemas/…/pattern).
GOOGLE_COORDINATES_PATTERN = r"^-?1?\d{1,2}\.\d{1,6}\s*\,?\s*-?1?\d{1,2}\.\d{1,6}$"
DECIMAL_DEGREE_PATTERN = r"^-?1?\d{1,2}\.\d{1,6}$"
DEGREE_MINUTE_SECONDS_PATTERN = r"^-?1?\d{1,2}°[ ]?\d{1,2}'[ ]?\d{1,2}\.\d+''$"
LANGUAGE_CODE_PATTERN = r"^[a-z]{2,3}(?:-[A-Z]{2,3}(?:-[a-zA-Z]{4})?)?(?:-x-[a-zA-Z0-9]{1,8})?$"
TIME_ZONE_PATTERN = r"[U][T][C][+,-][0-9][0-9][:][0-9][0-9]"
PERIOD_TIME_PATTERN = r"[0-9]{2}:[0-9]{2}"

_GOOGLE = re.compile(GOOGLE_COORDINATES_PATTERN, re.ASCII)
_DECIMAL_DEGREE = re.compile(DECIMAL_DEGREE_PATTERN, re.ASCII)
_DMS = re.compile(DEGREE_MINUTE_SECONDS_PATTERN, re.ASCII)
_DMS_PARTS = re.compile(r"^(-?)(1?\d{1,2})°[ ]?(\d{1,2})'[ ]?(\d{1,2}\.\d+)''$", re.ASCII)
_LANGUAGE_CODE = re.compile(LANGUAGE_CODE_PATTERN, re.ASCII)
_TIME_ZONE = re.compile(TIME_ZONE_PATTERN, re.ASCII)
_PERIOD_TIME = re.compile(PERIOD_TIME_PATTERN, re.ASCII)
_COUNTRY_ALPHA3 = re.compile(r"[A-Za-z]{3}", re.ASCII)


# ---------------------------------------------------------------------------------------------
# Enumerations (exact spec strings)


class DeltaType(enum.StrEnum):
    """deltaType of a delta pull record (set by HBS)."""

    UPDATE = "update"
    INSERT = "insert"
    DELETE = "delete"


class Plug(enum.StrEnum):
    """PlugType. ``Unspecified`` is no longer accepted in 2.3."""

    SMALL_PADDLE_INDUCTIVE = "Small Paddle Inductive"
    LARGE_PADDLE_INDUCTIVE = "Large Paddle Inductive"
    AVCON_CONNECTOR = "AVCON Connector"
    TESLA_CONNECTOR = "Tesla Connector"
    NEMA_5_20 = "NEMA 5-20"
    TYPE_E_FRENCH_STANDARD = "Type E French Standard"
    TYPE_F_SCHUKO = "Type F Schuko"
    TYPE_G_BRITISH_STANDARD = "Type G British Standard"
    TYPE_J_SWISS_STANDARD = "Type J Swiss Standard"
    TYPE_1_CONNECTOR_CABLE_ATTACHED = "Type 1 Connector (Cable Attached)"
    TYPE_2_OUTLET = "Type 2 Outlet"
    TYPE_2_CONNECTOR_CABLE_ATTACHED = "Type 2 Connector (Cable Attached)"
    TYPE_3_OUTLET = "Type 3 Outlet"
    IEC_60309_SINGLE_PHASE = "IEC 60309 Single Phase"
    IEC_60309_THREE_PHASE = "IEC 60309 Three Phase"
    CCS_COMBO_2_PLUG_CABLE_ATTACHED = "CCS Combo 2 Plug (Cable Attached)"
    CCS_COMBO_1_PLUG_CABLE_ATTACHED = "CCS Combo 1 Plug (Cable Attached)"
    CHADEMO = "CHAdeMO"


class PowerType(enum.StrEnum):
    """PowerType of a ChargingFacility."""

    AC_1_PHASE = "AC_1_PHASE"
    AC_3_PHASE = "AC_3_PHASE"
    DC = "DC"


class ChargingMode(enum.StrEnum):
    """ChargingModeType (IEC 61851-1 modes, CHAdeMO)."""

    MODE_1 = "Mode_1"
    MODE_2 = "Mode_2"
    MODE_3 = "Mode_3"
    MODE_4 = "Mode_4"
    CHADEMO = "CHAdeMO"


class EnergyType(enum.StrEnum):
    """EnergyType of an EnergySource."""

    SOLAR = "Solar"
    WIND = "Wind"
    HYDRO_POWER = "HydroPower"
    GEOTHERMAL_ENERGY = "GeothermalEnergy"
    BIOMASS = "Biomass"
    COAL = "Coal"
    NUCLEAR_ENERGY = "NuclearEnergy"
    PETROLEUM = "Petroleum"
    NATURAL_GAS = "NaturalGas"


class CalibrationLawDataAvailability(enum.StrEnum):
    """CalibrationLawDataAvailabilityType (German Eichrecht)."""

    LOCAL = "Local"
    EXTERNAL = "External"
    NOT_AVAILABLE = "Not Available"


class AuthenticationMode(enum.StrEnum):
    """AuthenticationModeType."""

    NFC_RFID_CLASSIC = "NFC RFID Classic"
    NFC_RFID_DESFIRE = "NFC RFID DESFire"
    PNC = "PnC"
    REMOTE = "REMOTE"
    DIRECT_PAYMENT = "Direct Payment"
    NO_AUTHENTICATION_REQUIRED = "No Authentication Required"


class PaymentOption(enum.StrEnum):
    """PaymentOptionType. ``No Payment`` cannot be combined with other options."""

    NO_PAYMENT = "No Payment"
    DIRECT = "Direct"
    CONTRACT = "Contract"


class ValueAddedService(enum.StrEnum):
    """ValueAddedServiceType; ``None`` when nothing is offered."""

    RESERVATION = "Reservation"
    DYNAMIC_PRICING = "DynamicPricing"
    PARKING_SENSORS = "ParkingSensors"
    MAXIMUM_POWER_CHARGING = "MaximumPowerCharging"
    PREDICTIVE_CHARGE_POINT_USAGE = "PredictiveChargePointUsage"
    CHARGING_PLANS = "ChargingPlans"
    ROOF_PROVIDED = "RoofProvided"
    NONE = "None"


class Accessibility(enum.StrEnum):
    """AccessibilityType."""

    FREE_PUBLICLY_ACCESSIBLE = "Free publicly accessible"
    RESTRICTED_ACCESS = "Restricted access"
    PAYING_PUBLICLY_ACCESSIBLE = "Paying publicly accessible"
    TEST_STATION = "Test Station"


class AccessibilityLocation(enum.StrEnum):
    """AccessibilityLocationType."""

    ON_STREET = "OnStreet"
    PARKING_LOT = "ParkingLot"
    PARKING_GARAGE = "ParkingGarage"
    UNDERGROUND_PARKING_GARAGE = "UndergroundParkingGarage"


class DynamicInfoAvailable(enum.StrEnum):
    """DynamicInfoAvailable: a *string* enum, not a JSON boolean (oicp-2.3.md §8 point 8)."""

    TRUE = "true"
    FALSE = "false"
    AUTO = "auto"


class GeoCoordinatesResponseFormat(enum.StrEnum):
    """GeoCoordinatesResponseFormatType: the format PullEvseData answers in."""

    GOOGLE = "Google"
    DEGREE_MINUTE_SECONDS = "DegreeMinuteSeconds"
    DECIMAL_DEGREE = "DecimalDegree"


class DayValue(enum.StrEnum):
    """The ``on`` value of OpeningTimes / ProductAvailabilityTimes (Workdays = Mon–Fri, Weekend = Sat–Sun)."""

    EVERYDAY = "Everyday"
    WORKDAYS = "Workdays"
    WEEKEND = "Weekend"
    MONDAY = "Monday"
    TUESDAY = "Tuesday"
    WEDNESDAY = "Wednesday"
    THURSDAY = "Thursday"
    FRIDAY = "Friday"
    SATURDAY = "Saturday"
    SUNDAY = "Sunday"


# ---------------------------------------------------------------------------------------------
# Small types


class InfoText(EgressChecked):
    """InfoTextType: ``lang`` M (LanguageCodeType), ``value`` M ≤150.

    ``lang`` may be null in pulls: HBS maps an OICP 2.2 ChargingStationName to an InfoText
    "providing just the value" (release notes).
    """

    lang: str | None = Field(default=None, alias="lang")
    value: str = Field(alias="value")

    def egress_problems(self) -> list[str]:
        problems = missing(self, "lang")
        if self.lang is not None and _LANGUAGE_CODE.fullmatch(self.lang) is None:
            problems.append(f"lang {self.lang!r} is not a LanguageCode")
        if len(self.value) > 150:
            problems.append("value is longer than 150 characters")
        return problems


class Address(EgressChecked):
    """AddressIso19773Type: ``Country`` M alpha-3, ``City`` M 1–50, ``Street`` M 2–100,
    ``PostalCode`` M ≤10, ``HouseNum`` M ≤10, ``Floor`` O ≤5, ``Region`` O ≤50,
    ``ParkingFacility`` O, ``ParkingSpot`` O ≤5, ``TimeZone`` O (``UTC+01:00``).

    PostalCode and HouseNum became mandatory in 2.3; legacy pulls may lack them.
    """

    country: str = Field(alias="Country")
    city: str = Field(alias="City")
    street: str = Field(alias="Street")
    postal_code: str | None = Field(default=None, alias="PostalCode")
    house_num: str | None = Field(default=None, alias="HouseNum")
    floor: str | None = Field(default=None, alias="Floor")
    region: str | None = Field(default=None, alias="Region")
    parking_facility: bool | None = Field(default=None, alias="ParkingFacility")
    parking_spot: str | None = Field(default=None, alias="ParkingSpot")
    time_zone: str | None = Field(default=None, alias="TimeZone")

    def egress_problems(self) -> list[str]:
        problems = missing(self, "postal_code", "house_num")
        if _COUNTRY_ALPHA3.fullmatch(self.country) is None:
            problems.append(f"Country {self.country!r} is not an alpha-3 country code")
        if not 1 <= len(self.city) <= 50:
            problems.append("City must have 1 to 50 characters")
        if not 2 <= len(self.street) <= 100:
            problems.append("Street must have 2 to 100 characters (pad short names with '_')")
        for wire, value, limit in (
            ("PostalCode", self.postal_code, 10),
            ("HouseNum", self.house_num, 10),
            ("Floor", self.floor, 5),
            ("Region", self.region, 50),
            ("ParkingSpot", self.parking_spot, 5),
        ):
            if value is not None and len(value) > limit:
                problems.append(f"{wire} is longer than {limit} characters")
        if self.time_zone is not None and _TIME_ZONE.search(self.time_zone) is None:
            problems.append(f"TimeZone {self.time_zone!r} is not UTC±hh:mm")
        return problems


def _coordinate_text(value: Any) -> Any:
    """Coordinates are strings on the wire; a JSON number received is read as its text."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    return value


CoordinateText = Annotated[str, BeforeValidator(_coordinate_text)]


class GeoCoordinatesGoogle(EgressChecked):
    """GeoCoordinatesGoogleType: ``Coordinates`` = ``"<latitude> <longitude>"`` (latitude first).

    The CPO data-types table misspells it ``Coordinatea``: accepted, ``Coordinates`` emitted.
    """

    coordinates: str = Field(
        validation_alias=AliasChoices("Coordinates", "Coordinatea"), serialization_alias="Coordinates"
    )

    def egress_problems(self) -> list[str]:
        if _GOOGLE.fullmatch(self.coordinates) is None:
            return [f"Coordinates {self.coordinates!r} is not in the Google format"]
        return []


class GeoCoordinatesDecimalDegree(EgressChecked):
    """GeoCoordinatesDecimalDegreeType: ``Longitude``/``Latitude`` as *strings* (``"9.360922"``)."""

    longitude: CoordinateText = Field(alias="Longitude")
    latitude: CoordinateText = Field(alias="Latitude")

    def egress_problems(self) -> list[str]:
        return [
            f"{wire} {value!r} is not a decimal degree"
            for wire, value in (("Longitude", self.longitude), ("Latitude", self.latitude))
            if _DECIMAL_DEGREE.fullmatch(value) is None
        ]


class GeoCoordinatesDegreeMinuteSeconds(EgressChecked):
    """GeoCoordinatesDegreeMinuteSecondsType: ``Longitude``/``Latitude`` like ``9°21'39.32''``."""

    longitude: str = Field(alias="Longitude")
    latitude: str = Field(alias="Latitude")

    def egress_problems(self) -> list[str]:
        return [
            f"{wire} {value!r} is not in degree-minute-seconds format"
            for wire, value in (("Longitude", self.longitude), ("Latitude", self.latitude))
            if _DMS.fullmatch(value) is None
        ]


def _dms_to_decimal(text: str) -> Decimal:
    parts = _DMS_PARTS.fullmatch(text.strip())
    if parts is None:
        raise ValueError(f"{text!r} is not in degree-minute-seconds format")
    sign, degrees, minutes, seconds = parts.groups()
    value = Decimal(degrees) + Decimal(minutes) / 60 + Decimal(seconds) / 3600
    return -value if sign else value


def _decimal_to_dms(value: Decimal) -> str:
    sign = "-" if value < 0 else ""
    value = abs(value)
    degrees = int(value)
    minutes_full = (value - degrees) * 60
    minutes = int(minutes_full)
    seconds = ((minutes_full - minutes) * 60).quantize(Decimal("0.01"))
    if seconds >= 60:
        seconds -= 60
        minutes += 1
    if minutes >= 60:
        minutes -= 60
        degrees += 1
    return f"{sign}{degrees}°{minutes}'{seconds:.2f}''"


def _six_decimals(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.000001')):f}"


class GeoCoordinates(OicpModel):
    """GeoCoordinatesType: exactly one of ``Google``, ``DecimalDegree``, ``DegreeMinuteSeconds``.

    Pull responses carry all three keys with the unused ones ``null`` (accepted). WGS 84.
    """

    google: GeoCoordinatesGoogle | None = Field(default=None, alias="Google")
    decimal_degree: GeoCoordinatesDecimalDegree | None = Field(default=None, alias="DecimalDegree")
    degree_minute_seconds: GeoCoordinatesDegreeMinuteSeconds | None = Field(
        default=None, alias="DegreeMinuteSeconds"
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> GeoCoordinates:
        present = [
            wire
            for wire, value in (
                ("Google", self.google),
                ("DecimalDegree", self.decimal_degree),
                ("DegreeMinuteSeconds", self.degree_minute_seconds),
            )
            if value is not None
        ]
        if len(present) != 1:
            raise ValueError(
                "GeoCoordinates must carry exactly one of Google, DecimalDegree, DegreeMinuteSeconds; "
                f"found {', '.join(present) or 'none'}"
            )
        return self

    def lat_lon(self) -> tuple[Decimal, Decimal]:
        """(latitude, longitude) in decimal degrees, whatever the format."""
        if self.google is not None:
            parts = [part for part in re.split(r"[\s,]+", self.google.coordinates.strip()) if part]
            if len(parts) != 2:
                raise ValueError(f"Coordinates {self.google.coordinates!r} is not 'latitude longitude'")
            return Decimal(parts[0]), Decimal(parts[1])
        if self.decimal_degree is not None:
            return Decimal(self.decimal_degree.latitude), Decimal(self.decimal_degree.longitude)
        assert self.degree_minute_seconds is not None
        return (
            _dms_to_decimal(self.degree_minute_seconds.latitude),
            _dms_to_decimal(self.degree_minute_seconds.longitude),
        )

    @classmethod
    def from_lat_lon(
        cls,
        latitude: Decimal | str,
        longitude: Decimal | str,
        fmt: GeoCoordinatesResponseFormat = GeoCoordinatesResponseFormat.DECIMAL_DEGREE,
    ) -> GeoCoordinates:
        """Coordinates in the given format, decimal places limited to the spec's six."""
        lat, lon = Decimal(latitude), Decimal(longitude)
        if fmt is GeoCoordinatesResponseFormat.GOOGLE:
            return cls(google=GeoCoordinatesGoogle(coordinates=f"{_six_decimals(lat)} {_six_decimals(lon)}"))
        if fmt is GeoCoordinatesResponseFormat.DEGREE_MINUTE_SECONDS:
            return cls(
                degree_minute_seconds=GeoCoordinatesDegreeMinuteSeconds(
                    latitude=_decimal_to_dms(lat), longitude=_decimal_to_dms(lon)
                )
            )
        decimal = GeoCoordinatesDecimalDegree(latitude=_six_decimals(lat), longitude=_six_decimals(lon))
        return cls(decimal_degree=decimal)


class ChargingFacility(EgressChecked):
    """ChargingFacilityType: ``PowerType`` M, ``Voltage`` O int ≤999 (line-to-neutral),
    ``Amperage`` O int ≤99, ``Power`` M kW, ``ChargingModes`` O.

    ``Power`` is an integer in the CPO spec but a number in the EMP OpenAPI and [W]: it is a
    Decimal here and must be integral (0–999) when sent. PowerType and Power may be null in
    legacy pulls.
    """

    power_type: PowerType | None = Field(default=None, alias="PowerType")
    voltage: int | None = Field(default=None, alias="Voltage")
    amperage: int | None = Field(default=None, alias="Amperage")
    power: OicpNumber | None = Field(default=None, alias="Power")
    charging_modes: list[ChargingMode] | None = Field(default=None, alias="ChargingModes")

    def egress_problems(self) -> list[str]:
        problems = missing(self, "power_type", "power")
        power = self.power
        if power is not None and (power != power.to_integral_value() or not 0 <= power <= 999):
            problems.append(f"Power {self.power} is not an integer number of kW between 0 and 999")
        if self.voltage is not None and not 0 <= self.voltage <= 999:
            problems.append(f"Voltage {self.voltage} is outside 0..999")
        if self.amperage is not None and not 0 <= self.amperage <= 99:
            problems.append(f"Amperage {self.amperage} is outside 0..99 (omit it for high currents)")
        return problems


class EnergySource(OicpModel):
    """EnergySourceType: ``Energy`` O, ``Percentage`` O int 0..99."""

    energy: EnergyType | None = Field(default=None, alias="Energy")
    percentage: int | None = Field(default=None, alias="Percentage")


class EnvironmentalImpact(OicpModel):
    """EnvironmentalImpactType: ``CO2Emission`` O, ``NuclearWaste`` O, both g/kWh."""

    co2_emission: OicpNumber | None = Field(default=None, alias="CO2Emission")
    nuclear_waste: OicpNumber | None = Field(default=None, alias="NuclearWaste")


class Period(EgressChecked):
    """PeriodType: ``begin``/``end`` as ``hh:mm``."""

    begin: str = Field(alias="begin")
    end: str = Field(alias="end")

    def egress_problems(self) -> list[str]:
        return [
            f"{wire} {value!r} is not hh:mm"
            for wire, value in (("begin", self.begin), ("end", self.end))
            if _PERIOD_TIME.search(value) is None
        ]


class OpeningTimes(OicpModel):
    """OpeningTimesType: ``Period`` M list, ``on`` M.

    The wire name is lower-case ``on`` (OpenAPI, [W], snippets); the spec table's ``On`` is
    accepted too.
    """

    period: list[Period] = Field(alias="Period")
    on: DayValue = Field(validation_alias=AliasChoices("on", "On"), serialization_alias="on")


# ---------------------------------------------------------------------------------------------
# EVSE data records


def _dynamic_info_text(value: Any) -> Any:
    """A JSON boolean received for DynamicInfoAvailable is read as the string the spec defines."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


class EvseDataRecord(EgressChecked):
    """EvseDataRecordType (oicp-2.3.md §4.2), the record of PushEvseData.

    Wire spellings: ``ChargingStationID`` is emitted (the implemented spelling; [W], snippets);
    the OpenAPI's ``ChargingStationId`` is accepted (§8 point 5). Fields that legacy pulls may
    send as ``null`` are optional here and checked on egress (see module docstring).
    """

    delta_type: DeltaType | None = Field(default=None, alias="deltaType")
    last_update: OicpDateTime | None = Field(default=None, alias="lastUpdate")
    evse_id: EvseID = Field(alias="EvseID")
    charging_pool_id: ChargingPoolID | None = Field(default=None, alias="ChargingPoolID")
    charging_station_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices("ChargingStationID", "ChargingStationId"),
        serialization_alias="ChargingStationID",
    )
    charging_station_names: list[InfoText] | None = Field(default=None, alias="ChargingStationNames")
    hardware_manufacturer: str | None = Field(default=None, alias="HardwareManufacturer")
    charging_station_image: str | None = Field(default=None, alias="ChargingStationImage")
    sub_operator_name: str | None = Field(default=None, alias="SubOperatorName")
    address: Address = Field(alias="Address")
    geo_coordinates: GeoCoordinates = Field(alias="GeoCoordinates")
    plugs: list[Plug | None] = Field(alias="Plugs")
    dynamic_power_level: bool | None = Field(default=None, alias="DynamicPowerLevel")
    charging_facilities: list[ChargingFacility] = Field(alias="ChargingFacilities")
    renewable_energy: bool | None = Field(default=None, alias="RenewableEnergy")
    energy_source: list[EnergySource] | None = Field(default=None, alias="EnergySource")
    environmental_impact: EnvironmentalImpact | None = Field(default=None, alias="EnvironmentalImpact")
    calibration_law_data_availability: CalibrationLawDataAvailability | None = Field(
        default=None, alias="CalibrationLawDataAvailability"
    )
    authentication_modes: list[AuthenticationMode] = Field(alias="AuthenticationModes")
    max_capacity: int | None = Field(default=None, alias="MaxCapacity")
    payment_options: list[PaymentOption] | None = Field(default=None, alias="PaymentOptions")
    value_added_services: list[ValueAddedService] = Field(alias="ValueAddedServices")
    accessibility: Accessibility | None = Field(default=None, alias="Accessibility")
    accessibility_location: AccessibilityLocation | None = Field(default=None, alias="AccessibilityLocation")
    hotline_phone_number: PhoneNumber = Field(alias="HotlinePhoneNumber")
    additional_info: list[InfoText] | None = Field(default=None, alias="AdditionalInfo")
    charging_station_location_reference: list[InfoText] | None = Field(
        default=None, alias="ChargingStationLocationReference"
    )
    geo_charging_point_entrance: GeoCoordinates | None = Field(default=None, alias="GeoChargingPointEntrance")
    is_open_24_hours: bool = Field(alias="IsOpen24Hours")
    opening_times: list[OpeningTimes] | None = Field(default=None, alias="OpeningTimes")
    hub_operator_id: OperatorID | None = Field(default=None, alias="HubOperatorID")
    clearinghouse_id: str | None = Field(default=None, alias="ClearinghouseID")
    is_hubject_compatible: bool = Field(alias="IsHubjectCompatible")
    dynamic_info_available: Annotated[DynamicInfoAvailable, BeforeValidator(_dynamic_info_text)] = Field(
        alias="DynamicInfoAvailable"
    )

    def egress_problems(self) -> list[str]:
        problems = missing(
            self,
            "charging_station_names",
            "renewable_energy",
            "calibration_law_data_availability",
            "payment_options",
            "accessibility",
        )
        if any(plug is None for plug in self.plugs):
            problems.append("Plugs contains null (Unspecified is not accepted in OICP 2.3)")
        payment = self.payment_options or []
        if PaymentOption.NO_PAYMENT in payment and len(payment) > 1:
            problems.append("PaymentOptions: 'No Payment' cannot be combined with other options")
        if not self.is_open_24_hours and not self.opening_times:
            problems.append("OpeningTimes is mandatory when IsOpen24Hours is false")
        for wire, value, limit in (
            ("ChargingStationID", self.charging_station_id, 50),
            ("HardwareManufacturer", self.hardware_manufacturer, 50),
            ("ChargingStationImage", self.charging_station_image, 200),
            ("SubOperatorName", self.sub_operator_name, 100),
            ("ClearinghouseID", self.clearinghouse_id, 20),
        ):
            if value is not None and len(value) > limit:
                problems.append(f"{wire} is longer than {limit} characters")
        return problems


class PullEvseDataRecord(EvseDataRecord):
    """PullEvseDataRecordType: an EvseDataRecord plus ``OperatorID`` M and ``OperatorName`` M.

    Hubject's EMP snippet spells ``OperatorId``: accepted, ``OperatorID`` emitted. OperatorName
    may be null for operators that pushed with OICP 2.1/2.2.
    """

    operator_id: OperatorID = Field(
        validation_alias=AliasChoices("OperatorID", "OperatorId"), serialization_alias="OperatorID"
    )
    operator_name: str | None = Field(default=None, alias="OperatorName")

    def egress_problems(self) -> list[str]:
        return super().egress_problems() + missing(self, "operator_name")


class OperatorEvseData(EgressChecked):
    """OperatorEvseDataType: ``OperatorID`` M, ``OperatorName`` M ≤100, ``EvseDataRecord`` M 0..n."""

    operator_id: OperatorID = Field(alias="OperatorID")
    operator_name: str = Field(alias="OperatorName")
    evse_data_record: list[EvseDataRecord] = Field(alias="EvseDataRecord")

    def egress_problems(self) -> list[str]:
        return ["OperatorName is longer than 100 characters"] if len(self.operator_name) > 100 else []


class PushEvseData(OicpModel):
    """eRoamingPushEvseData v2.3 (CPO → Hubject, ``POST /evsepush/v23/operators/{operatorID}/data-records``).

    Answered with an Acknowledgement. Every EvseID must belong to the OperatorID (else 018).
    """

    action_type: ActionType = Field(alias="ActionType")
    operator_evse_data: OperatorEvseData = Field(alias="OperatorEvseData")


class SearchCenter(OicpModel):
    """SearchCenterType: ``GeoCoordinates`` M, ``Radius`` M (km)."""

    geo_coordinates: GeoCoordinates = Field(alias="GeoCoordinates")
    radius: OicpNumber = Field(alias="Radius")


class PullEvseData(OicpModel):
    """eRoamingPullEvseData v2.3 (EMP → Hubject, ``POST /evsepull/v23/providers/{providerID}/data-records``).

    ``OperatorIds`` is the implemented spelling (hubject/oicp PRs #88/#95, [W]); ``OperatorIDs``
    is accepted too (§8 point 5). Every boolean filter sent really filters; ``LastCall`` cannot
    be combined with ``SearchCenter``/``CountryCodes``/``OperatorIds`` (§8 point 7). Paged with
    ``?page=&size=`` (default 20, max 2000).
    """

    provider_id: ProviderID = Field(alias="ProviderID")
    search_center: SearchCenter | None = Field(default=None, alias="SearchCenter")
    last_call: OicpDateTime | None = Field(default=None, alias="LastCall")
    geo_coordinates_response_format: GeoCoordinatesResponseFormat = Field(
        alias="GeoCoordinatesResponseFormat"
    )
    country_codes: list[str] | None = Field(default=None, alias="CountryCodes")
    operator_ids: list[OperatorID] | None = Field(
        default=None,
        validation_alias=AliasChoices("OperatorIds", "OperatorIDs"),
        serialization_alias="OperatorIds",
    )
    authentication_modes: list[AuthenticationMode] | None = Field(default=None, alias="AuthenticationModes")
    accessibility: list[Accessibility] | None = Field(default=None, alias="Accessibility")
    calibration_law_data_availability: list[CalibrationLawDataAvailability] | None = Field(
        default=None, alias="CalibrationLawDataAvailability"
    )
    renewable_energy: bool | None = Field(default=None, alias="RenewableEnergy")
    is_hubject_compatible: bool | None = Field(default=None, alias="IsHubjectCompatible")
    is_open_24_hours: bool | None = Field(default=None, alias="IsOpen24Hours")


class PullEvseDataResponse(Page[PullEvseDataRecord]):
    """eRoamingEvseData: the page answering PullEvseData (``content[PullEvseDataRecord]``)."""


__all__ = [
    "DECIMAL_DEGREE_PATTERN",
    "DEGREE_MINUTE_SECONDS_PATTERN",
    "GOOGLE_COORDINATES_PATTERN",
    "LANGUAGE_CODE_PATTERN",
    "PERIOD_TIME_PATTERN",
    "TIME_ZONE_PATTERN",
    "Accessibility",
    "AccessibilityLocation",
    "Address",
    "AuthenticationMode",
    "CalibrationLawDataAvailability",
    "ChargingFacility",
    "ChargingMode",
    "DayValue",
    "DeltaType",
    "DynamicInfoAvailable",
    "EnergySource",
    "EnergyType",
    "EnvironmentalImpact",
    "EvseDataRecord",
    "GeoCoordinates",
    "GeoCoordinatesDecimalDegree",
    "GeoCoordinatesDegreeMinuteSeconds",
    "GeoCoordinatesGoogle",
    "GeoCoordinatesResponseFormat",
    "InfoText",
    "OpeningTimes",
    "OperatorEvseData",
    "PaymentOption",
    "Period",
    "Plug",
    "PowerType",
    "PullEvseData",
    "PullEvseDataRecord",
    "PullEvseDataResponse",
    "PushEvseData",
    "SearchCenter",
    "ValueAddedService",
]
