"""OCPI 2.2.1 Credentials module objects (credentials.asciidoc, ocpi.md §1.2).

Role, BusinessDetails, Image and ImageCategory are in :mod:`bridge.ocpi.models.v2_2_1.types`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from bridge.ocpi.models.common import OcpiModel
from bridge.ocpi.models.v2_2_1.types import (
    TOKEN_MODEL_CONFIG,
    URL,
    BusinessDetails,
    CiString2,
    CiString3,
    CredentialsToken,
    Role,
)


class CredentialsRole(OcpiModel):
    """CredentialsRole: role Role 1, business_details BusinessDetails 1, party_id CiString(3) 1,
    country_code CiString(2) 1."""

    role: Role
    business_details: BusinessDetails
    party_id: CiString3
    country_code: CiString2


class Credentials(OcpiModel):
    """Credentials: token string(64) 1, url URL 1 (the versions endpoint), roles CredentialsRole + 1.

    * ``token`` is printable non-whitespace ASCII, U+0021..U+007E, at most 64 characters. It is the
      raw token: the Base64 of the Authorization header is never applied inside this body.
    * "Every role needs a unique combination of: role, party_id and country_code"; party_id and
      country_code are CiStrings, so the combination is compared case-insensitively.
    * Carries a token: validation errors never echo the input.
    """

    model_config = TOKEN_MODEL_CONFIG

    token: CredentialsToken
    url: URL
    roles: Annotated[list[CredentialsRole], Field(min_length=1)]

    @field_validator("roles")
    @classmethod
    def _unique_roles(cls, roles: list[CredentialsRole]) -> list[CredentialsRole]:
        seen: set[tuple[Role, str, str]] = set()
        for role in roles:
            key = (role.role, role.country_code.upper(), role.party_id.upper())
            if key in seen:
                raise ValueError(
                    f"the combination role={role.role.value}, country_code={role.country_code}, "
                    f"party_id={role.party_id} appears more than once"
                )
            seen.add(key)
        return roles


__all__ = ["Credentials", "CredentialsRole"]
