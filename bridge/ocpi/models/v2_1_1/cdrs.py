"""OCPI 2.1.1 CDRs module (mod_cdrs.md): CDR, ChargingPeriod, CdrDimension, AuthMethod.

2.1.1 differences (ocpi.md §4.3): ``stop_date_time`` (2.2.1 ``end_date_time``), ``auth_id``
(2.2.1 ``cdr_token``), ``location: Location`` (2.2.1 ``cdr_location``), ``total_cost`` a number
(2.2.1 Price), no credit/signed data/cost breakdown, CdrDimensionType with ``FLAT``, AuthMethod
without ``COMMAND``.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import ConfigDict, Field

from bridge.ocpi.models.common import OcpiModel
from bridge.ocpi.models.v2_1_1.locations import Location
from bridge.ocpi.models.v2_1_1.tariffs import Tariff
from bridge.ocpi.models.v2_1_1.types import DateTime, Number, String3, String36, String255


class AuthMethod(StrEnum):
    """mod_cdrs.md 4.1 AuthMethod (2.1.1: no COMMAND)."""

    AUTH_REQUEST = "AUTH_REQUEST"
    WHITELIST = "WHITELIST"


class CdrDimensionType(StrEnum):
    """mod_cdrs.md 4.3 CdrDimensionType (2.1.1; FLAT was removed in 2.2)."""

    ENERGY = "ENERGY"
    FLAT = "FLAT"
    MAX_CURRENT = "MAX_CURRENT"
    MIN_CURRENT = "MIN_CURRENT"
    PARKING_TIME = "PARKING_TIME"
    TIME = "TIME"


class CdrDimension(OcpiModel):
    """mod_cdrs.md 4.2 CdrDimension: ``{type, volume}``."""

    type: CdrDimensionType
    volume: Number


class ChargingPeriod(OcpiModel):
    """mod_cdrs.md 4.4 ChargingPeriod: ``{start_date_time, dimensions+}`` (no ``tariff_id`` in 2.1.1)."""

    start_date_time: DateTime
    dimensions: list[CdrDimension] = Field(min_length=1)


class CDR(OcpiModel):
    """mod_cdrs.md 3.1 CDR (2.1.1).

    ``location`` is a full 2.1.1 Location holding only the EVSE and Connector used. The official
    example's Location has the alpha-2 country ``"BE"``, swapped coordinates and a tariff price
    sent as the string ``"2.00"``; all three are accepted (see Location.country, GeoLocation and
    PriceComponent.price for the reasons), the first and last with a logged warning.
    ``auth_id`` references a token: validation errors never echo the input.
    """

    model_config = ConfigDict(hide_input_in_errors=True)

    id: String36
    start_date_time: DateTime
    stop_date_time: DateTime
    auth_id: String36
    auth_method: AuthMethod
    location: Location
    meter_id: String255 | None = None
    currency: String3
    tariffs: list[Tariff] | None = None
    charging_periods: list[ChargingPeriod] = Field(min_length=1)
    total_cost: Number
    total_energy: Number
    total_time: Number
    total_parking_time: Number | None = None
    remark: String255 | None = None
    last_updated: DateTime


__all__ = ["CDR", "AuthMethod", "CdrDimension", "CdrDimensionType", "ChargingPeriod"]
