"""OCPI 2.1.1 Sessions module (mod_sessions.md): Session, SessionStatus.

2.1.1 differences (ocpi.md §4.2): ``start_datetime``/``end_datetime`` (no underscore between date
and time, unlike the CDR), ``auth_id`` instead of ``cdr_token``, ``location: Location`` (the full
Location with only the relevant EVSE and Connector) instead of ``location_id``/``evse_uid``/
``connector_id``, ``total_cost`` a number (excl. VAT), no owner fields, SessionStatus without
RESERVATION.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import ConfigDict

from bridge.ocpi.models.common import OcpiModel
from bridge.ocpi.models.v2_1_1.cdrs import AuthMethod, ChargingPeriod
from bridge.ocpi.models.v2_1_1.locations import Location
from bridge.ocpi.models.v2_1_1.types import DateTime, Number, String3, String36, String255


class SessionStatus(StrEnum):
    """mod_sessions.md 4.1 SessionStatus (2.1.1: no RESERVATION)."""

    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    INVALID = "INVALID"
    PENDING = "PENDING"


class Session(OcpiModel):
    """mod_sessions.md 3.1 Session (2.1.1).

    ``total_cost`` omitted means "no price information", not free of charge. ``auth_id`` is the
    driver's contract id (a token reference): validation errors never echo the input.
    """

    model_config = ConfigDict(hide_input_in_errors=True)

    id: String36
    start_datetime: DateTime
    end_datetime: DateTime | None = None
    kwh: Number
    auth_id: String36
    auth_method: AuthMethod
    location: Location
    meter_id: String255 | None = None
    currency: String3
    charging_periods: list[ChargingPeriod] | None = None
    total_cost: Number | None = None
    status: SessionStatus
    last_updated: DateTime


__all__ = ["Session", "SessionStatus"]
