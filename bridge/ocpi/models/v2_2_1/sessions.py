"""OCPI 2.2.1 Sessions module objects (mod_sessions.asciidoc, ocpi.md §4.2).

A Session PUT replaces the whole object including ``charging_periods``; in a PATCH the
``charging_periods`` are *appended* (ocpi#325). :func:`bridge.ocpi.models.patch.apply_patch`
replaces arrays, so the caller appends the periods itself.
"""

from __future__ import annotations

from enum import StrEnum

from bridge.ocpi.models.common import DateTime, Number, OcpiModel
from bridge.ocpi.models.v2_2_1.cdrs import AuthMethod, CdrToken, ChargingPeriod
from bridge.ocpi.models.v2_2_1.types import (
    TOKEN_MODEL_CONFIG,
    CiString2,
    CiString3,
    CiString36,
    Price,
    String3,
    String255,
)


class ProfileType(StrEnum):
    """ProfileType: the driver's smart-charging preference."""

    CHEAP = "CHEAP"
    FAST = "FAST"
    GREEN = "GREEN"
    REGULAR = "REGULAR"


class SessionStatus(StrEnum):
    """SessionStatus. Sessions start as PENDING (ocpi#438); a ReserveNow creates a RESERVATION."""

    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    INVALID = "INVALID"
    PENDING = "PENDING"
    RESERVATION = "RESERVATION"


class ChargingPreferencesResponse(StrEnum):
    """ChargingPreferencesResponse: the answer to PUT .../charging_preferences (an enum, not an object)."""

    ACCEPTED = "ACCEPTED"
    DEPARTURE_REQUIRED = "DEPARTURE_REQUIRED"
    ENERGY_NEED_REQUIRED = "ENERGY_NEED_REQUIRED"
    NOT_POSSIBLE = "NOT_POSSIBLE"
    PROFILE_TYPE_NOT_SUPPORTED = "PROFILE_TYPE_NOT_SUPPORTED"


class ChargingPreferences(OcpiModel):
    """ChargingPreferences: profile_type 1, departure_time DateTime ?, energy_need number (kWh) ?,
    discharge_allowed boolean ? (absent means false)."""

    profile_type: ProfileType
    departure_time: DateTime | None = None
    energy_need: Number | None = None
    discharge_allowed: bool | None = None


class Session(OcpiModel):
    """Session (2.2.1): country_code 1, party_id 1, id CiString(36) 1, start_date_time 1,
    end_date_time ?, kwh number 1, cdr_token 1, auth_method 1, authorization_reference ?,
    location_id 1, evse_uid 1, connector_id 1, meter_id string(255) ?, currency string(3) 1,
    charging_periods *, total_cost Price ? (omitted is not free), status 1, last_updated 1.

    evse_uid and connector_id may be ``#NA`` before a reservation is assigned. Carries a CdrToken:
    errors never echo the input.
    """

    model_config = TOKEN_MODEL_CONFIG

    country_code: CiString2
    party_id: CiString3
    id: CiString36
    start_date_time: DateTime
    end_date_time: DateTime | None = None
    kwh: Number
    cdr_token: CdrToken
    auth_method: AuthMethod
    authorization_reference: CiString36 | None = None
    location_id: CiString36
    evse_uid: CiString36
    connector_id: CiString36
    meter_id: String255 | None = None
    currency: String3
    charging_periods: list[ChargingPeriod] | None = None
    total_cost: Price | None = None
    status: SessionStatus
    last_updated: DateTime


__all__ = [
    "ChargingPreferences",
    "ChargingPreferencesResponse",
    "ProfileType",
    "Session",
    "SessionStatus",
]
