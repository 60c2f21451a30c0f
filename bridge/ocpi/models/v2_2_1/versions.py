"""OCPI 2.2.1 Versions module objects (version_information_endpoint.asciidoc, ocpi.md §1.1).

Two deliberate openings in otherwise exact enums, both allowed by the spec text:

* ``Endpoint.identifier`` is a :class:`ModuleID` or any other string: "Parties are allowed to
  create custom modules" (mod ModuleID; e.g. ``nltnm-tokens``). Known ids parse to the enum.
* ``Version.version`` in a versions *list* is a :class:`VersionNumber` or any other string, so a
  peer that also offers a newer version (``2.3.0``) does not make its whole list unreadable.
  ``VersionDetails.version`` stays exact: it describes the version we talk.

``2.2`` (deprecated) is a valid VersionNumber: the official 2.2.1 examples still say ``"2.2"``
(version_details_example*.json); they parse, and negotiation simply never picks it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from bridge.ocpi.models.common import OcpiModel
from bridge.ocpi.models.v2_2_1.types import URL


class VersionNumber(StrEnum):
    """VersionNumber: the known OCPI versions; 2.1 and 2.2 are deprecated."""

    V2_0 = "2.0"
    V2_1 = "2.1"
    V2_1_1 = "2.1.1"
    V2_2 = "2.2"
    V2_2_1 = "2.2.1"


class ModuleID(StrEnum):
    """ModuleID: identifiers of the standard modules (custom ones are plain strings)."""

    CDRS = "cdrs"
    CHARGINGPROFILES = "chargingprofiles"
    COMMANDS = "commands"
    CREDENTIALS = "credentials"
    HUBCLIENTINFO = "hubclientinfo"
    LOCATIONS = "locations"
    SESSIONS = "sessions"
    TARIFFS = "tariffs"
    TOKENS = "tokens"


class InterfaceRole(StrEnum):
    """InterfaceRole. For ``credentials`` the role is meaningless: advertise SENDER, ignore the peer's."""

    SENDER = "SENDER"
    RECEIVER = "RECEIVER"


class Version(OcpiModel):
    """Version: ``version`` VersionNumber 1, ``url`` URL 1 (an element of GET {versions_url} data)."""

    version: Annotated[VersionNumber | str, Field(union_mode="left_to_right")]
    url: URL


class Endpoint(OcpiModel):
    """Endpoint: ``identifier`` ModuleID 1, ``role`` InterfaceRole 1, ``url`` URL 1."""

    identifier: Annotated[ModuleID | str, Field(union_mode="left_to_right")]
    role: InterfaceRole
    url: URL


class VersionDetails(OcpiModel):
    """VersionDetails: ``version`` VersionNumber 1, ``endpoints`` Endpoint + (at least one)."""

    version: VersionNumber
    endpoints: Annotated[list[Endpoint], Field(min_length=1)]


__all__ = ["Endpoint", "InterfaceRole", "ModuleID", "Version", "VersionDetails", "VersionNumber"]
