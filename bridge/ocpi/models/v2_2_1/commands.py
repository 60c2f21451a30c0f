"""OCPI 2.2.1 Commands module objects (mod_commands.asciidoc, ocpi.md §4.6).

The synchronous :class:`CommandResponse` only says whether the CPO can forward the command; the
outcome arrives later as a :class:`CommandResult` POSTed to the command's ``response_url``.
StartSession and ReserveNow carry a Token: their validation errors never echo the input.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator

from bridge.ocpi.models.common import DateTime, OcpiModel
from bridge.ocpi.models.v2_2_1.tokens import Token
from bridge.ocpi.models.v2_2_1.types import TOKEN_MODEL_CONFIG, URL, CiString36, DisplayText


class CommandType(StrEnum):
    """CommandType: the ``{command}`` path segment of POST {commands_url}/{command}."""

    CANCEL_RESERVATION = "CANCEL_RESERVATION"
    RESERVE_NOW = "RESERVE_NOW"
    START_SESSION = "START_SESSION"
    STOP_SESSION = "STOP_SESSION"
    UNLOCK_CONNECTOR = "UNLOCK_CONNECTOR"


class CommandResponseType(StrEnum):
    """CommandResponseType (2.2.1 has no TIMEOUT here; it moved to CommandResultType)."""

    NOT_SUPPORTED = "NOT_SUPPORTED"
    REJECTED = "REJECTED"
    ACCEPTED = "ACCEPTED"
    UNKNOWN_SESSION = "UNKNOWN_SESSION"


class CommandResultType(StrEnum):
    """CommandResultType: the asynchronous result from the Charge Point."""

    ACCEPTED = "ACCEPTED"
    CANCELED_RESERVATION = "CANCELED_RESERVATION"
    EVSE_OCCUPIED = "EVSE_OCCUPIED"
    EVSE_INOPERATIVE = "EVSE_INOPERATIVE"
    FAILED = "FAILED"
    NOT_SUPPORTED = "NOT_SUPPORTED"
    REJECTED = "REJECTED"
    TIMEOUT = "TIMEOUT"
    UNKNOWN_RESERVATION = "UNKNOWN_RESERVATION"


class CancelReservation(OcpiModel):
    """CancelReservation: response_url URL 1, reservation_id CiString(36) 1."""

    response_url: URL
    reservation_id: CiString36


class ReserveNow(OcpiModel):
    """ReserveNow: response_url 1, token Token 1, expiry_date DateTime 1, reservation_id
    CiString(36) 1, location_id CiString(36) 1, evse_uid ?, authorization_reference ?."""

    model_config = TOKEN_MODEL_CONFIG

    response_url: URL
    token: Token
    expiry_date: DateTime
    reservation_id: CiString36
    location_id: CiString36
    evse_uid: CiString36 | None = None
    authorization_reference: CiString36 | None = None


class StartSession(OcpiModel):
    """StartSession: response_url 1, token Token 1, location_id CiString(36) 1, evse_uid ?,
    connector_id ?, authorization_reference ?.

    Rule: evse_uid is "required when connector_id is set".
    """

    model_config = TOKEN_MODEL_CONFIG

    response_url: URL
    token: Token
    location_id: CiString36
    evse_uid: CiString36 | None = None
    connector_id: CiString36 | None = None
    authorization_reference: CiString36 | None = None

    @field_validator("connector_id")
    @classmethod
    def _connector_needs_evse(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and "evse_uid" in info.data and info.data["evse_uid"] is None:
            raise ValueError("evse_uid is required when connector_id is set")
        return value


class StopSession(OcpiModel):
    """StopSession: response_url URL 1, session_id CiString(36) 1."""

    response_url: URL
    session_id: CiString36


class UnlockConnector(OcpiModel):
    """UnlockConnector: response_url 1, location_id 1, evse_uid 1, connector_id 1 (helpdesk use only)."""

    response_url: URL
    location_id: CiString36
    evse_uid: CiString36
    connector_id: CiString36


class CommandResponse(OcpiModel):
    """CommandResponse: result CommandResponseType 1, timeout int (seconds) 1, message DisplayText *."""

    result: CommandResponseType
    timeout: Annotated[int, Field(ge=0)]
    message: list[DisplayText] | None = None


class CommandResult(OcpiModel):
    """CommandResult: result CommandResultType 1, message DisplayText *."""

    result: CommandResultType
    message: list[DisplayText] | None = None


__all__ = [
    "CancelReservation",
    "CommandResponse",
    "CommandResponseType",
    "CommandResult",
    "CommandResultType",
    "CommandType",
    "ReserveNow",
    "StartSession",
    "StopSession",
    "UnlockConnector",
]
