"""OCPI 2.1.1 ⇄ 2.2.1 translation: the gateway models 2.2.1 inside and speaks 2.1.1 to older peers.

Implements the checklist of docs/ocpi.md §5 row by row. ``*_up`` functions translate what a 2.1.1
peer sends (ingress) into 2.2.1; ``*_down`` functions translate our 2.2.1 objects for a 2.1.1 peer
(egress). Every function is pure (no I/O, no clock; context comes in as arguments), returns a
:class:`~mappings.result.Translation` whose ``losses`` name every field that was dropped, changed
or defaulted (path in the source object; DEFAULTED paths in the target), and raises
:class:`~bridge.errors.MappingError` naming the field where no translation exists.

The object families are described as *field tables*: for each field of a source model, one rule
producing the target fields. Whole objects and PATCH bodies (:func:`patch_up`, :func:`patch_down`)
go through the same rules, and a source field without a rule cannot exist (tests check the tables
cover every field). Unknown (extra) fields of the source are not carried across versions: their
meaning in the other version is unknown; each one is reported as lost.
"""

from __future__ import annotations

from mappings.ocpi_versions._rules import DEFAULT_COMMAND_TIMEOUT, TokenLookup
from mappings.ocpi_versions.commands import (
    cancel_reservation_down,
    command_response_down,
    command_response_sync_up,
    command_response_up,
    command_result_down,
    reserve_now_down,
    reserve_now_up,
    start_session_down,
    start_session_up,
    stop_session_down,
    stop_session_up,
    unlock_connector_down,
    unlock_connector_up,
)
from mappings.ocpi_versions.locations import (
    connector_down,
    connector_up,
    evse_down,
    evse_up,
    location_down,
    location_up,
)
from mappings.ocpi_versions.patches import DOWN_RULES, UP_RULES, patch_down, patch_up
from mappings.ocpi_versions.sessions import cdr_down, cdr_up, session_down, session_up
from mappings.ocpi_versions.tariffs import tariff_down, tariff_up
from mappings.ocpi_versions.tokens import (
    authorization_info_down,
    authorization_info_up,
    location_references_down,
    location_references_up,
    token_down,
    token_up,
)
from mappings.ocpi_versions.versions import (
    credentials_down,
    credentials_up,
    status_code_down,
    version_details_down,
    version_details_up,
    version_up,
)

__all__ = [
    "DEFAULT_COMMAND_TIMEOUT",
    "DOWN_RULES",
    "UP_RULES",
    "TokenLookup",
    "authorization_info_down",
    "authorization_info_up",
    "cancel_reservation_down",
    "cdr_down",
    "cdr_up",
    "command_response_down",
    "command_response_sync_up",
    "command_response_up",
    "command_result_down",
    "connector_down",
    "connector_up",
    "credentials_down",
    "credentials_up",
    "evse_down",
    "evse_up",
    "location_down",
    "location_references_down",
    "location_references_up",
    "location_up",
    "patch_down",
    "patch_up",
    "reserve_now_down",
    "reserve_now_up",
    "session_down",
    "session_up",
    "start_session_down",
    "start_session_up",
    "status_code_down",
    "stop_session_down",
    "stop_session_up",
    "tariff_down",
    "tariff_up",
    "token_down",
    "token_up",
    "unlock_connector_down",
    "unlock_connector_up",
    "version_details_down",
    "version_details_up",
    "version_up",
]
