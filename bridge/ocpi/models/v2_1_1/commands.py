"""OCPI 2.1.1 Commands module (mod_commands.md).

2.1.1 differences (ocpi.md §4.6): no CANCEL_RESERVATION; ``ReserveNow.reservation_id`` is an
``int``; no ``connector_id``/``authorization_reference`` on StartSession/ReserveNow; there is no
CommandResult: the CPO's asynchronous POST to ``response_url`` is again a ``CommandResponse``, whose
result enum therefore includes ``TIMEOUT``; the synchronous response has no ``timeout``/``message``.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import ConfigDict

from bridge.ocpi.models.common import OcpiModel
from bridge.ocpi.models.v2_1_1.tokens import Token
from bridge.ocpi.models.v2_1_1.types import URL, DateTime, String36, String39


class CommandType(StrEnum):
    """mod_commands.md 4.2 CommandType (2.1.1: no CANCEL_RESERVATION)."""

    RESERVE_NOW = "RESERVE_NOW"
    START_SESSION = "START_SESSION"
    STOP_SESSION = "STOP_SESSION"
    UNLOCK_CONNECTOR = "UNLOCK_CONNECTOR"


class CommandResponseType(StrEnum):
    """mod_commands.md 4.1 CommandResponseType (2.1.1: includes TIMEOUT)."""

    NOT_SUPPORTED = "NOT_SUPPORTED"
    REJECTED = "REJECTED"
    ACCEPTED = "ACCEPTED"
    TIMEOUT = "TIMEOUT"
    UNKNOWN_SESSION = "UNKNOWN_SESSION"


class CommandResponse(OcpiModel):
    """mod_commands.md 3.1 CommandResponse: ``{result}``; both the synchronous answer and the
    asynchronous result POSTed to ``response_url``."""

    result: CommandResponseType


class ReserveNow(OcpiModel):
    """mod_commands.md 3.2 ReserveNow (2.1.1: ``reservation_id`` int, no authorization_reference)."""

    model_config = ConfigDict(hide_input_in_errors=True)

    response_url: URL
    token: Token
    expiry_date: DateTime
    reservation_id: int
    location_id: String39
    evse_uid: String39 | None = None


class StartSession(OcpiModel):
    """mod_commands.md 3.3 StartSession (2.1.1: no connector_id, no authorization_reference)."""

    model_config = ConfigDict(hide_input_in_errors=True)

    response_url: URL
    token: Token
    location_id: String39
    evse_uid: String39 | None = None


class StopSession(OcpiModel):
    """mod_commands.md 3.4 StopSession."""

    response_url: URL
    session_id: String36


class UnlockConnector(OcpiModel):
    """mod_commands.md 3.5 UnlockConnector."""

    response_url: URL
    location_id: String39
    evse_uid: String39
    connector_id: String36


__all__ = [
    "CommandResponse",
    "CommandResponseType",
    "CommandType",
    "ReserveNow",
    "StartSession",
    "StopSession",
    "UnlockConnector",
]
