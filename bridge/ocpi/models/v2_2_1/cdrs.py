"""OCPI 2.2.1 CDRs module objects (mod_cdrs.asciidoc, ocpi.md §4.3 and §3.2).

Deliberate length decisions:

* ``CdrLocation.address``/``state`` accept 255/45 characters like Location (bugfix branch), not the
  45/20 the CdrLocation text still carries: a CdrLocation is a copy of the Location at session
  start, and rejecting a billing record for an address its Location may legally have would be
  worse than forwarding it. Egress to a peer that enforces 45/20 is the mapping layer's concern.
* ``SignedValue.plain_data`` is string(5000) (errata; the OpenAPI still has 512).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator

from bridge.ocpi.models.common import DateTime, Number, OcpiModel
from bridge.ocpi.models.v2_2_1.locations import ConnectorFormat, ConnectorType, GeoLocation, PowerType
from bridge.ocpi.models.v2_2_1.tariffs import Tariff
from bridge.ocpi.models.v2_2_1.types import (
    TOKEN_MODEL_CONFIG,
    CiString2,
    CiString3,
    CiString32,
    CiString36,
    CiString39,
    CiString48,
    Price,
    String3,
    String10,
    String45,
    String255,
    String512,
    String5000,
    TokenType,
)


class AuthMethod(StrEnum):
    """AuthMethod: how the session was authorized."""

    AUTH_REQUEST = "AUTH_REQUEST"
    COMMAND = "COMMAND"
    WHITELIST = "WHITELIST"


class CdrDimensionType(StrEnum):
    """CdrDimensionType (2.2.1). CURRENT, ENERGY_EXPORT, ENERGY_IMPORT, POWER and STATE_OF_CHARGE
    are "Session Only"; they still parse in a CDR (the rule is the sender's, not a syntax rule)."""

    CURRENT = "CURRENT"
    ENERGY = "ENERGY"
    ENERGY_EXPORT = "ENERGY_EXPORT"
    ENERGY_IMPORT = "ENERGY_IMPORT"
    MAX_CURRENT = "MAX_CURRENT"
    MIN_CURRENT = "MIN_CURRENT"
    MAX_POWER = "MAX_POWER"
    MIN_POWER = "MIN_POWER"
    PARKING_TIME = "PARKING_TIME"
    POWER = "POWER"
    RESERVATION_TIME = "RESERVATION_TIME"
    STATE_OF_CHARGE = "STATE_OF_CHARGE"
    TIME = "TIME"


class CdrToken(OcpiModel):
    """CdrToken: country_code CiString(2) 1, party_id CiString(3) 1, uid CiString(36) 1, type
    TokenType 1, contract_id CiString(36) 1 (country_code/party_id are new in 2.2.1, d2 examples).
    Carries a token: errors never echo the input."""

    model_config = TOKEN_MODEL_CONFIG

    country_code: CiString2
    party_id: CiString3
    uid: CiString36
    type: TokenType
    contract_id: CiString36


class CdrLocation(OcpiModel):
    """CdrLocation: id 1, name ?, address 1, city 1, postal_code ?, state ?, country 1, coordinates 1,
    evse_uid 1, evse_id 1, connector_id 1, connector_standard 1, connector_format 1,
    connector_power_type 1. No time_zone (ocpi#517). ``#NA`` is allowed for evse_uid, evse_id and
    connector_id of reservation-only CDRs. Lengths: see the module docstring."""

    id: CiString36
    name: String255 | None = None
    address: String255
    city: String45
    postal_code: String10 | None = None
    state: String45 | None = None
    country: String3
    coordinates: GeoLocation
    evse_uid: CiString36
    evse_id: CiString48
    connector_id: CiString36
    connector_standard: ConnectorType
    connector_format: ConnectorFormat
    connector_power_type: PowerType


class CdrDimension(OcpiModel):
    """CdrDimension: type CdrDimensionType 1, volume number 1."""

    type: CdrDimensionType
    volume: Number


class ChargingPeriod(OcpiModel):
    """ChargingPeriod: start_date_time 1, dimensions CdrDimension + 1, tariff_id CiString(36) ?."""

    start_date_time: DateTime
    dimensions: Annotated[list[CdrDimension], Field(min_length=1)]
    tariff_id: CiString36 | None = None


class SignedValue(OcpiModel):
    """SignedValue: nature CiString(32) 1, plain_data string(5000) 1, signed_data string(5000) 1."""

    nature: CiString32
    plain_data: String5000
    signed_data: String5000


class SignedData(OcpiModel):
    """SignedData: encoding_method CiString(36) 1, encoding_method_version int ?, public_key
    string(512) ?, signed_values SignedValue + 1, url string(512) ?."""

    encoding_method: CiString36
    encoding_method_version: int | None = None
    public_key: String512 | None = None
    signed_values: Annotated[list[SignedValue], Field(min_length=1)]
    url: String512 | None = None


class CDR(OcpiModel):
    """CDR (2.2.1): country_code 1, party_id 1, id CiString(39) 1, start_date_time 1, end_date_time 1,
    session_id ?, cdr_token 1, auth_method 1, authorization_reference ?, cdr_location 1, meter_id ?,
    currency 1, tariffs *, charging_periods + 1, signed_data ?, total_cost Price 1,
    total_fixed_cost ?, total_energy 1, total_energy_cost ?, total_time 1 (hours), total_time_cost ?,
    total_parking_time ?, total_parking_cost ?, total_reservation_cost ?, remark string(255) ?,
    invoice_reference_id CiString(39) ?, credit ?, credit_reference_id CiString(39) ?,
    home_charging_compensation ?, last_updated 1.

    Rule: credit_reference_id "is required to be filled for a Credit CDR" (credit = true).
    Carries a CdrToken: errors never echo the input.
    """

    model_config = TOKEN_MODEL_CONFIG

    country_code: CiString2
    party_id: CiString3
    id: CiString39
    start_date_time: DateTime
    end_date_time: DateTime
    session_id: CiString36 | None = None
    cdr_token: CdrToken
    auth_method: AuthMethod
    authorization_reference: CiString36 | None = None
    cdr_location: CdrLocation
    meter_id: String255 | None = None
    currency: String3
    tariffs: list[Tariff] | None = None
    charging_periods: Annotated[list[ChargingPeriod], Field(min_length=1)]
    signed_data: SignedData | None = None
    total_cost: Price
    total_fixed_cost: Price | None = None
    total_energy: Number
    total_energy_cost: Price | None = None
    total_time: Number
    total_time_cost: Price | None = None
    total_parking_time: Number | None = None
    total_parking_cost: Price | None = None
    total_reservation_cost: Price | None = None
    remark: String255 | None = None
    invoice_reference_id: CiString39 | None = None
    credit: bool | None = None
    credit_reference_id: Annotated[CiString39 | None, Field(validate_default=True)] = None
    home_charging_compensation: bool | None = None
    last_updated: DateTime

    @field_validator("credit_reference_id")
    @classmethod
    def _credit_needs_reference(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("credit") is True:
            raise ValueError("required for a Credit CDR (credit is true)")
        return value


__all__ = [
    "CDR",
    "AuthMethod",
    "CdrDimension",
    "CdrDimensionType",
    "CdrLocation",
    "CdrToken",
    "ChargingPeriod",
    "SignedData",
    "SignedValue",
]
