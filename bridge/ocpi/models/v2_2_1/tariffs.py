"""OCPI 2.2.1 Tariffs module objects (mod_tariffs.asciidoc, ocpi.md §4.4).

A Tariff PUT must carry every required field: the official ``tariff_put_example.json`` has no
``last_updated`` and is therefore **rejected** as a Tariff, the error naming ``last_updated``.
As a partial object (:func:`bridge.ocpi.models.patch.validate_patch` without the last_updated
requirement) it is valid. 2.2.1 defines no Tariff PATCH; that helper exists for 2.1.1 peers.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from bridge.ocpi.models.common import DateTime, Number, OcpiModel
from bridge.ocpi.models.v2_2_1.locations import EnergyMix
from bridge.ocpi.models.v2_2_1.types import (
    URL,
    CiString2,
    CiString3,
    CiString36,
    DisplayText,
    LocalDate,
    Price,
    String3,
    TimeOfDay,
)


class DayOfWeek(StrEnum):
    """DayOfWeek."""

    MONDAY = "MONDAY"
    TUESDAY = "TUESDAY"
    WEDNESDAY = "WEDNESDAY"
    THURSDAY = "THURSDAY"
    FRIDAY = "FRIDAY"
    SATURDAY = "SATURDAY"
    SUNDAY = "SUNDAY"


class ReservationRestrictionType(StrEnum):
    """ReservationRestrictionType: the element prices a reservation, or an expired one."""

    RESERVATION = "RESERVATION"
    RESERVATION_EXPIRES = "RESERVATION_EXPIRES"


class TariffDimensionType(StrEnum):
    """TariffDimensionType (the same in 2.1.1)."""

    ENERGY = "ENERGY"
    FLAT = "FLAT"
    PARKING_TIME = "PARKING_TIME"
    TIME = "TIME"


class TariffType(StrEnum):
    """TariffType; an omitted type means the tariff is valid for all sessions."""

    AD_HOC_PAYMENT = "AD_HOC_PAYMENT"
    PROFILE_CHEAP = "PROFILE_CHEAP"
    PROFILE_FAST = "PROFILE_FAST"
    PROFILE_GREEN = "PROFILE_GREEN"
    REGULAR = "REGULAR"


class PriceComponent(OcpiModel):
    """PriceComponent: type 1, price number 1 (excl. VAT), vat number ? (percent), step_size int 1.

    step_size multiplies 1 Wh (ENERGY) or 1 s (TIME, PARKING_TIME); 0 occurs in the official
    free-of-charge example, so only negative values are rejected.
    """

    type: TariffDimensionType
    price: Number
    vat: Number | None = None
    step_size: Annotated[int, Field(ge=0)]


class TariffRestrictions(OcpiModel):
    """TariffRestrictions: every field optional; several set fields are a logical AND.

    start_time/end_time "HH:MM" local time (end < start wraps past midnight; "00:00" ends the day);
    start_date (inclusive)/end_date (exclusive) "YYYY-MM-DD" local date, kept as strings;
    min/max_kwh, min/max_current, min/max_power numbers; min/max_duration int seconds;
    day_of_week DayOfWeek *; reservation ReservationRestrictionType ?.
    """

    start_time: TimeOfDay | None = None
    end_time: TimeOfDay | None = None
    start_date: LocalDate | None = None
    end_date: LocalDate | None = None
    min_kwh: Number | None = None
    max_kwh: Number | None = None
    min_current: Number | None = None
    max_current: Number | None = None
    min_power: Number | None = None
    max_power: Number | None = None
    min_duration: int | None = None
    max_duration: int | None = None
    day_of_week: list[DayOfWeek] | None = None
    reservation: ReservationRestrictionType | None = None


class TariffElement(OcpiModel):
    """TariffElement: price_components PriceComponent + 1, restrictions TariffRestrictions ?."""

    price_components: Annotated[list[PriceComponent], Field(min_length=1)]
    restrictions: TariffRestrictions | None = None


class Tariff(OcpiModel):
    """Tariff: country_code CiString(2) 1, party_id CiString(3) 1, id CiString(36) 1, currency
    string(3) 1 (ISO 4217), type ?, tariff_alt_text DisplayText *, tariff_alt_url URL ?, min_price
    Price ?, max_price Price ?, elements TariffElement + 1, start_date_time ?, end_date_time ?,
    energy_mix ?, last_updated 1."""

    country_code: CiString2
    party_id: CiString3
    id: CiString36
    currency: String3
    type: TariffType | None = None
    tariff_alt_text: list[DisplayText] | None = None
    tariff_alt_url: URL | None = None
    min_price: Price | None = None
    max_price: Price | None = None
    elements: Annotated[list[TariffElement], Field(min_length=1)]
    start_date_time: DateTime | None = None
    end_date_time: DateTime | None = None
    energy_mix: EnergyMix | None = None
    last_updated: DateTime


__all__ = [
    "DayOfWeek",
    "PriceComponent",
    "ReservationRestrictionType",
    "Tariff",
    "TariffDimensionType",
    "TariffElement",
    "TariffRestrictions",
    "TariffType",
]
