"""OCPI 2.1.1 Tokens module (mod_tokens.md): Token, AuthorizationInfo, LocationReferences.

2.1.1 differences (ocpi.md §4.5): ``auth_id`` (2.2.1 ``contract_id``), TokenType only OTHER/RFID,
no owner fields, ``group_id``, ``default_profile_type`` or ``energy_contract``; AuthorizationInfo
is ``{allowed: Allowed, location, info}`` without ``token``/``authorization_reference``;
LocationReferences carries ``connector_ids``.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import ConfigDict

from bridge.ocpi.models.common import OcpiModel
from bridge.ocpi.models.v2_1_1.types import DateTime, DisplayText, String2, String36, String39, String64


class TokenType(StrEnum):
    """mod_tokens.md 4.3 TokenType (2.1.1: only OTHER and RFID)."""

    OTHER = "OTHER"
    RFID = "RFID"


class WhitelistType(StrEnum):
    """mod_tokens.md 4.4 WhitelistType."""

    ALWAYS = "ALWAYS"
    ALLOWED = "ALLOWED"
    ALLOWED_OFFLINE = "ALLOWED_OFFLINE"
    NEVER = "NEVER"


class Allowed(StrEnum):
    """mod_tokens.md 4.1 Allowed (named AllowedType in 2.2.1)."""

    ALLOWED = "ALLOWED"
    BLOCKED = "BLOCKED"
    EXPIRED = "EXPIRED"
    NO_CREDIT = "NO_CREDIT"
    NOT_ALLOWED = "NOT_ALLOWED"


class Token(OcpiModel):
    """mod_tokens.md 3.2 Token (2.1.1).

    ``uid`` (e.g. the RFID hidden id) is a credential: validation errors never echo the input.
    """

    model_config = ConfigDict(hide_input_in_errors=True)

    uid: String36
    type: TokenType
    auth_id: String36
    visual_number: String64 | None = None
    issuer: String64
    valid: bool
    whitelist: WhitelistType
    language: String2 | None = None
    last_updated: DateTime


class LocationReferences(OcpiModel):
    """mod_tokens.md 4.2 LocationReferences: ``{location_id, evse_uids*, connector_ids*}``."""

    location_id: String39
    evse_uids: list[String39] | None = None
    connector_ids: list[String36] | None = None


class AuthorizationInfo(OcpiModel):
    """mod_tokens.md 3.1 AuthorizationInfo (2.1.1): ``{allowed, location ?, info ?}``."""

    allowed: Allowed
    location: LocationReferences | None = None
    info: DisplayText | None = None


__all__ = ["Allowed", "AuthorizationInfo", "LocationReferences", "Token", "TokenType", "WhitelistType"]
