"""OCPI 2.2.1 shared types: string kinds with their max lengths, DisplayText, Price, shared enums.

OCPI 2.2.1 types.asciidoc and ocpi.md §3.1/§3.2:

* ``string(n)`` is case-sensitive UTF-8 of at most n characters; ``CiString(n)`` is case-insensitive
  printable ASCII of at most n characters (compare case-insensitively, store as received).
  We enforce the maximum lengths only. We do not reject non-ASCII CiStrings: a bridge that
  drops a peer's object over one character is worse than one that forwards it (ocpi.md §8 point 15).
* ``URL`` is a string(255).
* ``number`` is :data:`bridge.ocpi.models.common.Number` (Decimal inside, JSON number outside).
* ``DateTime`` is :data:`bridge.ocpi.models.common.DateTime` (UTC, emitted with ``Z``).

BusinessDetails, Image and ImageCategory are defined in the Locations module of the spec but are
used by Credentials too, so they live here to keep the module graph acyclic.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Generic, TypeVar

from pydantic import ConfigDict, Field, StringConstraints

from bridge.ocpi.models.common import Number, OcpiModel
from bridge.ocpi.models.common import OcpiResponse as _CommonResponse

# --------------------------------------------------------------------------------------------
# String kinds (types.asciidoc: CiString, string, URL). One alias per length used by the spec.

CiString2 = Annotated[str, StringConstraints(max_length=2)]
CiString3 = Annotated[str, StringConstraints(max_length=3)]
CiString4 = Annotated[str, StringConstraints(max_length=4)]
CiString32 = Annotated[str, StringConstraints(max_length=32)]
CiString36 = Annotated[str, StringConstraints(max_length=36)]
CiString39 = Annotated[str, StringConstraints(max_length=39)]
CiString48 = Annotated[str, StringConstraints(max_length=48)]

String2 = Annotated[str, StringConstraints(max_length=2)]
String3 = Annotated[str, StringConstraints(max_length=3)]
String4 = Annotated[str, StringConstraints(max_length=4)]
String10 = Annotated[str, StringConstraints(max_length=10)]
String16 = Annotated[str, StringConstraints(max_length=16)]
String45 = Annotated[str, StringConstraints(max_length=45)]
String64 = Annotated[str, StringConstraints(max_length=64)]
String100 = Annotated[str, StringConstraints(max_length=100)]
String255 = Annotated[str, StringConstraints(max_length=255)]
String512 = Annotated[str, StringConstraints(max_length=512)]
String5000 = Annotated[str, StringConstraints(max_length=5000)]

URL = Annotated[str, StringConstraints(max_length=255)]
"""types.asciidoc URL: string(255) following the w3.org spec. The syntax is not checked on ingress."""

TimeOfDay = Annotated[str, StringConstraints(max_length=5, pattern=r"^([0-1][0-9]|2[0-3]):[0-5][0-9]$")]
"""Local time of day ``HH:MM``, 24h with leading zeros (RegularHours, TariffRestrictions)."""

LocalDate = Annotated[str, StringConstraints(max_length=10, pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
"""Local date ``YYYY-MM-DD`` (TariffRestrictions start_date/end_date), kept as received."""


# --------------------------------------------------------------------------------------------
# Enums shared by several modules


class Role(StrEnum):
    """types.asciidoc Role: the role of a party (Credentials, ClientInfo)."""

    CPO = "CPO"
    EMSP = "EMSP"
    HUB = "HUB"
    NAP = "NAP"
    NSP = "NSP"
    OTHER = "OTHER"
    SCSP = "SCSP"


class TokenType(StrEnum):
    """mod_tokens TokenType (used by Token, CdrToken, PublishTokenType)."""

    AD_HOC_USER = "AD_HOC_USER"
    APP_USER = "APP_USER"
    OTHER = "OTHER"
    RFID = "RFID"


class ImageCategory(StrEnum):
    """mod_locations ImageCategory."""

    CHARGER = "CHARGER"
    ENTRANCE = "ENTRANCE"
    LOCATION = "LOCATION"
    NETWORK = "NETWORK"
    OPERATOR = "OPERATOR"
    OTHER = "OTHER"
    OWNER = "OWNER"


# --------------------------------------------------------------------------------------------
# Classes


class DisplayText(OcpiModel):
    """types.asciidoc DisplayText: ``language`` string(2) ISO 639-1, ``text`` string(512), both required."""

    language: String2
    text: String512


class Price(OcpiModel):
    """types.asciidoc Price: ``excl_vat`` number required, ``incl_vat`` number optional."""

    excl_vat: Number
    incl_vat: Number | None = None


class Image(OcpiModel):
    """mod_locations Image: url URL 1, thumbnail URL ?, category 1, type CiString(4) 1,
    width int(5) ?, height int(5) ?."""

    url: URL
    thumbnail: URL | None = None
    category: ImageCategory
    type: CiString4
    width: Annotated[int, Field(ge=0, le=99999)] | None = None
    height: Annotated[int, Field(ge=0, le=99999)] | None = None


class BusinessDetails(OcpiModel):
    """mod_locations BusinessDetails: name string(100) 1, website URL ?, logo Image ?."""

    name: String100
    website: URL | None = None
    logo: Image | None = None


CREDENTIALS_TOKEN_PATTERN = r"^[\x21-\x7E]{1,64}$"  # noqa: S105 (a pattern, not a secret)
"""credentials token: string(64) of printable non-whitespace ASCII, U+0021..U+007E (mod_credentials)."""

CredentialsToken = Annotated[str, StringConstraints(max_length=64, pattern=CREDENTIALS_TOKEN_PATTERN)]

TOKEN_MODEL_CONFIG = ConfigDict(hide_input_in_errors=True)
"""Config of every model that carries a token, directly or nested (CONTRIBUTING: tokens never in errors).

pydantic applies ``hide_input_in_errors`` from the model being validated, not from nested models,
so a container of a token-carrying model needs it too.
"""

T = TypeVar("T")


class OcpiResponse(_CommonResponse[T], Generic[T]):
    """The OCPI 2.2.1 response envelope (transport_and_format, ocpi.md §2.1): the common envelope
    (``timestamp`` emitted with ``Z`` and milliseconds when present), plus hidden input in errors,
    because ``data`` may carry tokens (Token lists, AuthorizationInfo, Credentials)."""

    model_config = TOKEN_MODEL_CONFIG


__all__ = [
    "CREDENTIALS_TOKEN_PATTERN",
    "TOKEN_MODEL_CONFIG",
    "URL",
    "BusinessDetails",
    "CiString2",
    "CiString3",
    "CiString4",
    "CiString32",
    "CiString36",
    "CiString39",
    "CiString48",
    "CredentialsToken",
    "DisplayText",
    "Image",
    "ImageCategory",
    "LocalDate",
    "OcpiResponse",
    "Price",
    "Role",
    "String2",
    "String3",
    "String4",
    "String10",
    "String16",
    "String45",
    "String64",
    "String100",
    "String255",
    "String512",
    "String5000",
    "TimeOfDay",
    "TokenType",
]
