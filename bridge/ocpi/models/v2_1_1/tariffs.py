"""OCPI 2.1.1 Tariffs module (mod_tariffs.md): Tariff, TariffElement, PriceComponent, restrictions.

2.1.1 has no owner fields (``country_code``/``party_id``), no ``type``, ``min_price``/``max_price``,
``start_date_time``/``end_date_time``, no ``vat`` on PriceComponent and no ``min_current``/
``max_current``/``reservation`` restrictions (ocpi.md §4.4). Unlike 2.2.1, a Tariff may be PATCHed.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from bridge.ocpi.models.common import OcpiModel
from bridge.ocpi.models.v2_1_1.locations import EnergyMix
from bridge.ocpi.models.v2_1_1.types import (
    URL,
    Date,
    DateTime,
    DisplayText,
    Number,
    String3,
    String36,
    TimeOfDay,
)


class DayOfWeek(StrEnum):
    """mod_tariffs.md 4.1 DayOfWeek."""

    MONDAY = "MONDAY"
    TUESDAY = "TUESDAY"
    WEDNESDAY = "WEDNESDAY"
    THURSDAY = "THURSDAY"
    FRIDAY = "FRIDAY"
    SATURDAY = "SATURDAY"
    SUNDAY = "SUNDAY"


class TariffDimensionType(StrEnum):
    """mod_tariffs.md 4.4 TariffDimensionType (the same values in 2.2.1)."""

    ENERGY = "ENERGY"
    FLAT = "FLAT"
    PARKING_TIME = "PARKING_TIME"
    TIME = "TIME"


class PriceComponent(OcpiModel):
    """mod_tariffs.md 4.2 PriceComponent: ``{type, price (excl. VAT), step_size int}``.

    ``price`` sent as a string (the official CDR example's ``"2.00"``) is accepted with a warning
    (:data:`bridge.ocpi.models.v2_1_1.types.Number`) and emitted as a JSON number.
    """

    type: TariffDimensionType
    price: Number
    step_size: int = Field(ge=0)


class TariffRestrictions(OcpiModel):
    """mod_tariffs.md 4.5 TariffRestrictions (times and dates in the Location's local time)."""

    start_time: TimeOfDay | None = None
    end_time: TimeOfDay | None = None
    start_date: Date | None = None
    end_date: Date | None = None
    min_kwh: Number | None = None
    max_kwh: Number | None = None
    min_power: Number | None = None
    max_power: Number | None = None
    min_duration: int | None = None
    max_duration: int | None = None
    day_of_week: list[DayOfWeek] | None = None


class TariffElement(OcpiModel):
    """mod_tariffs.md 4.3 TariffElement: ``{price_components+, restrictions ?}``."""

    price_components: list[PriceComponent] = Field(min_length=1)
    restrictions: TariffRestrictions | None = None


class Tariff(OcpiModel):
    """mod_tariffs.md 3.1 Tariff (2.1.1): ``id`` string(36), ``currency`` ISO 4217, ``elements+``."""

    id: String36
    currency: String3
    tariff_alt_text: list[DisplayText] | None = None
    tariff_alt_url: URL | None = None
    elements: list[TariffElement] = Field(min_length=1)
    energy_mix: EnergyMix | None = None
    last_updated: DateTime


__all__ = [
    "DayOfWeek",
    "PriceComponent",
    "Tariff",
    "TariffDimensionType",
    "TariffElement",
    "TariffRestrictions",
]
