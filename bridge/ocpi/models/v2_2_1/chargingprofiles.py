"""OCPI 2.2.1 ChargingProfiles module objects (mod_charging_profiles.asciidoc, ocpi.md §4.7).

ChargingProfileResult and ClearProfileResult have the same shape; the receiver tells them apart
by the response_url they were POSTed to.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from bridge.ocpi.models.common import DateTime, Number, OcpiModel
from bridge.ocpi.models.v2_2_1.types import URL

OneDecimal = Annotated[Number, Field(decimal_places=1)]
"""A rate that "accepts at most one digit fraction (e.g. 8.1)" (limit, min_charging_rate)."""


class ChargingRateUnit(StrEnum):
    """ChargingRateUnit: Watts or Amperes."""

    W = "W"
    A = "A"


class ChargingProfileResponseType(StrEnum):
    """ChargingProfileResponseType: the CPO's synchronous answer."""

    ACCEPTED = "ACCEPTED"
    NOT_SUPPORTED = "NOT_SUPPORTED"
    REJECTED = "REJECTED"
    TOO_OFTEN = "TOO_OFTEN"
    UNKNOWN_SESSION = "UNKNOWN_SESSION"


class ChargingProfileResultType(StrEnum):
    """ChargingProfileResultType: the asynchronous result from the Charge Point."""

    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    UNKNOWN = "UNKNOWN"


class ChargingProfilePeriod(OcpiModel):
    """ChargingProfilePeriod: start_period int (seconds from the profile start) 1, limit number 1."""

    start_period: Annotated[int, Field(ge=0)]
    limit: OneDecimal


class ChargingProfile(OcpiModel):
    """ChargingProfile: start_date_time ?, duration int (s) ?, charging_rate_unit 1,
    min_charging_rate number ?, charging_profile_period ChargingProfilePeriod *."""

    start_date_time: DateTime | None = None
    duration: int | None = None
    charging_rate_unit: ChargingRateUnit
    min_charging_rate: OneDecimal | None = None
    charging_profile_period: list[ChargingProfilePeriod] | None = None


class ActiveChargingProfile(OcpiModel):
    """ActiveChargingProfile: start_date_time DateTime 1, charging_profile ChargingProfile 1."""

    start_date_time: DateTime
    charging_profile: ChargingProfile


class SetChargingProfile(OcpiModel):
    """SetChargingProfile (body of PUT {chargingprofiles_url}/{session_id}): charging_profile 1,
    response_url URL 1."""

    charging_profile: ChargingProfile
    response_url: URL


class ChargingProfileResponse(OcpiModel):
    """ChargingProfileResponse: result ChargingProfileResponseType 1, timeout int (s) 1."""

    result: ChargingProfileResponseType
    timeout: Annotated[int, Field(ge=0)]


class ActiveChargingProfileResult(OcpiModel):
    """ActiveChargingProfileResult: result ChargingProfileResultType 1, profile ActiveChargingProfile ?."""

    result: ChargingProfileResultType
    profile: ActiveChargingProfile | None = None


class ChargingProfileResult(OcpiModel):
    """ChargingProfileResult (answer to SetChargingProfile): result ChargingProfileResultType 1."""

    result: ChargingProfileResultType


class ClearProfileResult(OcpiModel):
    """ClearProfileResult (answer to DELETE): result ChargingProfileResultType 1."""

    result: ChargingProfileResultType


__all__ = [
    "ActiveChargingProfile",
    "ActiveChargingProfileResult",
    "ChargingProfile",
    "ChargingProfilePeriod",
    "ChargingProfileResponse",
    "ChargingProfileResponseType",
    "ChargingProfileResult",
    "ChargingProfileResultType",
    "ChargingRateUnit",
    "ClearProfileResult",
    "OneDecimal",
    "SetChargingProfile",
]
