"""OCPI 2.1.1 Versions module (version_information_endpoint.md): Version, VersionDetails, Endpoint.

2.1.1 ``Endpoint`` has no ``role`` (ocpi.md §1.1): a party that is both CPO and eMSP exposes one
versions URL per role.

Two deliberate openings in otherwise exact enums (as in the 2.2.1 models):

* ``Version.version`` in a versions *list* is a :class:`VersionNumber` or any other string: the
  list describes every version the peer speaks (the spec's own example lists ``1.9``; newer peers
  list ``2.2.1``), and one unknown entry must not make the whole list unreadable.
* ``Endpoint.identifier`` is a :class:`ModuleID` or any other string: custom modules agreed
  bilaterally (e.g. ``nltnm-tokens``) are allowed.

``VersionDetails.version`` stays exact: it describes the version we talk.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from bridge.ocpi.models.common import OcpiModel
from bridge.ocpi.models.v2_1_1.types import URL


class VersionNumber(StrEnum):
    """OCPI 2.1.1 version_information_endpoint.md 4.2 VersionNumber enum."""

    V2_0 = "2.0"
    V2_1 = "2.1"  # deprecated by 2.1.1
    V2_1_1 = "2.1.1"


class ModuleID(StrEnum):
    """OCPI 2.1.1 version_information_endpoint.md 4.1 ModuleID enum."""

    CDRS = "cdrs"
    COMMANDS = "commands"
    CREDENTIALS = "credentials"
    LOCATIONS = "locations"
    SESSIONS = "sessions"
    TARIFFS = "tariffs"
    TOKENS = "tokens"


class Version(OcpiModel):
    """OCPI 2.1.1 version_information_endpoint.md 3.1 Version: ``{version, url}`` (see the module
    docstring for why ``version`` also takes unknown version strings)."""

    version: Annotated[VersionNumber | str, Field(union_mode="left_to_right")]
    url: URL


class Endpoint(OcpiModel):
    """OCPI 2.1.1 version_information_endpoint.md 3.2.1 Endpoint: ``{identifier: ModuleID, url}``
    (no ``role``; custom module identifiers are kept as strings)."""

    identifier: Annotated[ModuleID | str, Field(union_mode="left_to_right")]
    url: URL


class VersionDetails(OcpiModel):
    """OCPI 2.1.1 version_information_endpoint.md 3.2 version details: ``{version, endpoints+}``."""

    version: VersionNumber
    endpoints: list[Endpoint] = Field(min_length=1)

    def endpoint(self, module: ModuleID | str) -> Endpoint | None:
        """The first endpoint advertised for ``module`` (2.1.1 has exactly one per module)."""
        wanted = str(module)
        return next((e for e in self.endpoints if e.identifier == wanted), None)


__all__ = ["Endpoint", "ModuleID", "Version", "VersionDetails", "VersionNumber"]
