"""OCPI 2.1.1 ⇄ 2.2.1: PATCH bodies, through the same field rules as whole objects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from bridge.errors import MappingError
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.models.patch import validate_patch
from mappings.ocpi_versions._rules import Ctx, Rule, TokenLookup, apply
from mappings.ocpi_versions.locations import (
    CONNECTOR_DOWN,
    CONNECTOR_UP,
    EVSE_DOWN,
    EVSE_UP,
    LOCATION_DOWN,
    LOCATION_UP,
)
from mappings.ocpi_versions.sessions import CDR_DOWN, CDR_UP, SESSION_DOWN, SESSION_UP
from mappings.ocpi_versions.tariffs import TARIFF_DOWN, TARIFF_UP
from mappings.ocpi_versions.tokens import TOKEN_DOWN, TOKEN_UP
from mappings.result import Translation

UP_RULES: dict[type[BaseModel], dict[str, Rule]] = {
    v211.Location: LOCATION_UP,
    v211.EVSE: EVSE_UP,
    v211.Connector: CONNECTOR_UP,
    v211.Session: SESSION_UP,
    v211.CDR: CDR_UP,
    v211.Tariff: TARIFF_UP,
    v211.Token: TOKEN_UP,
}
DOWN_RULES: dict[type[BaseModel], dict[str, Rule]] = {
    v221.Location: LOCATION_DOWN,
    v221.EVSE: EVSE_DOWN,
    v221.Connector: CONNECTOR_DOWN,
    v221.Session: SESSION_DOWN,
    v221.CDR: CDR_DOWN,
    v221.Tariff: TARIFF_DOWN,
    v221.Token: TOKEN_DOWN,
}


def patch_up(
    model211: type[BaseModel],
    body: Mapping[str, Any],
    *,
    country_code: str | None = None,
    party_id: str | None = None,
    token_lookup: TokenLookup | None = None,
) -> Translation[dict[str, Any]]:
    """A 2.1.1 PATCH body (Location, EVSE, Connector, Session, Tariff, Token) as 2.2.1 fields.

    The body is validated first (``validate_patch(model211, body, require_last_updated=False)``),
    then every present field goes through the same rule as in a whole object. The result is ready
    for ``validate_patch(<2.2.1 model>, result, ...)`` and ``apply_patch``. A Session ``auth_id``
    needs ``token_lookup``; Tariffs have no 2.2.1 PATCH: apply the result to the stored Tariff and
    PUT it (§5 Tariff).
    """
    if model211 not in UP_RULES:
        raise MappingError(model211.__name__, "no PATCH translation for this object")
    t: Translation[Any] = Translation(None)
    values = validate_patch(model211, body, require_last_updated=False)
    t.value = apply(UP_RULES[model211], values, "", t, Ctx(country_code, party_id, token_lookup=token_lookup))
    return t


def patch_down(
    model221: type[BaseModel],
    body: Mapping[str, Any],
    *,
    tariff_types: Mapping[str, v221.TariffType | None] | None = None,
) -> Translation[dict[str, Any]]:
    """A 2.2.1 PATCH body as 2.1.1 fields (e.g. an EVSE status change pushed to a 2.1.1 eMSP).

    Fields 2.1.1 carries elsewhere (a Session's location ids) cannot be patched: MappingError, send
    a PUT instead.
    """
    if model221 not in DOWN_RULES:
        raise MappingError(model221.__name__, "no PATCH translation for this object")
    t: Translation[Any] = Translation(None)
    values = validate_patch(model221, body, require_last_updated=False)
    t.value = apply(DOWN_RULES[model221], values, "", t, Ctx(tariff_types=tariff_types))
    return t
