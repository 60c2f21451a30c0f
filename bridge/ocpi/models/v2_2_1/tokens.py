"""OCPI 2.2.1 Tokens module objects (mod_tokens.asciidoc, ocpi.md §4.5).

Every model here carries a token (or references one), so validation errors never echo the input.
TokenType is in :mod:`bridge.ocpi.models.v2_2_1.types` (CdrToken and PublishTokenType use it too).
"""

from __future__ import annotations

from enum import StrEnum

from bridge.ocpi.models.common import DateTime, OcpiModel
from bridge.ocpi.models.v2_2_1.sessions import ProfileType
from bridge.ocpi.models.v2_2_1.types import (
    TOKEN_MODEL_CONFIG,
    CiString2,
    CiString3,
    CiString36,
    DisplayText,
    String2,
    String64,
    TokenType,
)


class AllowedType(StrEnum):
    """AllowedType: the result of a real-time authorization (``Allowed`` in 2.1.1)."""

    ALLOWED = "ALLOWED"
    BLOCKED = "BLOCKED"
    EXPIRED = "EXPIRED"
    NO_CREDIT = "NO_CREDIT"
    NOT_ALLOWED = "NOT_ALLOWED"


class WhitelistType(StrEnum):
    """WhitelistType: when real-time authorization is required (followed even when valid=false)."""

    ALWAYS = "ALWAYS"
    ALLOWED = "ALLOWED"
    ALLOWED_OFFLINE = "ALLOWED_OFFLINE"
    NEVER = "NEVER"


class EnergyContract(OcpiModel):
    """EnergyContract: supplier_name string(64) 1, contract_id string(64) ?."""

    supplier_name: String64
    contract_id: String64 | None = None


class Token(OcpiModel):
    """Token (2.2.1): country_code 1, party_id 1, uid CiString(36) 1, type TokenType 1, contract_id
    CiString(36) 1, visual_number string(64) ?, issuer string(64) 1, group_id CiString(36) ?, valid 1,
    whitelist 1, language string(2) ?, default_profile_type ?, energy_contract ?, last_updated 1.

    A token is identified by (country_code, party_id, uid, type).
    """

    model_config = TOKEN_MODEL_CONFIG

    country_code: CiString2
    party_id: CiString3
    uid: CiString36
    type: TokenType
    contract_id: CiString36
    visual_number: String64 | None = None
    issuer: String64
    group_id: CiString36 | None = None
    valid: bool
    whitelist: WhitelistType
    language: String2 | None = None
    default_profile_type: ProfileType | None = None
    energy_contract: EnergyContract | None = None
    last_updated: DateTime


class LocationReferences(OcpiModel):
    """LocationReferences: location_id CiString(36) 1, evse_uids CiString(36) * (2.2.1 dropped
    connector_ids)."""

    location_id: CiString36
    evse_uids: list[CiString36] | None = None


class AuthorizationInfo(OcpiModel):
    """AuthorizationInfo (2.2.1): allowed 1, token Token 1, location LocationReferences ?,
    authorization_reference CiString(36) ?, info DisplayText ?."""

    model_config = TOKEN_MODEL_CONFIG

    allowed: AllowedType
    token: Token
    location: LocationReferences | None = None
    authorization_reference: CiString36 | None = None
    info: DisplayText | None = None


__all__ = [
    "AllowedType",
    "AuthorizationInfo",
    "EnergyContract",
    "LocationReferences",
    "Token",
    "WhitelistType",
]
