"""OCPI 2.2.1 HubClientInfo module objects (mod_hub_client_info.asciidoc, ocpi.md §4.8)."""

from __future__ import annotations

from enum import StrEnum

from bridge.ocpi.models.common import DateTime, OcpiModel
from bridge.ocpi.models.v2_2_1.types import CiString2, CiString3, Role


class ConnectionStatus(StrEnum):
    """ConnectionStatus: while OFFLINE or SUSPENDED, don't send to the party and don't queue."""

    CONNECTED = "CONNECTED"
    OFFLINE = "OFFLINE"
    PLANNED = "PLANNED"
    SUSPENDED = "SUSPENDED"


class ClientInfo(OcpiModel):
    """ClientInfo: party_id CiString(3) 1, country_code CiString(2) 1, role Role 1, status
    ConnectionStatus 1, last_updated DateTime 1."""

    party_id: CiString3
    country_code: CiString2
    role: Role
    status: ConnectionStatus
    last_updated: DateTime


__all__ = ["ClientInfo", "ConnectionStatus"]
