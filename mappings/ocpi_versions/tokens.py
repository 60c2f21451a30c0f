"""OCPI 2.1.1 ⇄ 2.2.1: Tokens and real-time authorization (docs/ocpi.md §5 Token, Authorize)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from mappings.ocpi_versions._rules import (
    Ctx,
    Rule,
    apply,
    at,
    build,
    drop,
    lost_except,
    owner_defaulted,
    plain,
    same,
)
from mappings.result import Translation


def _token_type_down(
    value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]
) -> dict[str, Any]:
    """§5 Token: APP_USER/AD_HOC_USER -> OTHER (2.1.1 knows only OTHER and RFID)."""
    if value.value in ("APP_USER", "AD_HOC_USER"):
        t.changed(path, f"{value.value} has no 2.1.1 TokenType; sent as OTHER")
        return {"type": "OTHER"}
    return {"type": value.value}


TOKEN_UP: dict[str, Rule] = {
    "uid": same(),
    "type": same(),
    "auth_id": same("contract_id"),
    "visual_number": same(),
    "issuer": same(),
    "valid": same(),
    "whitelist": same(),
    "language": same(),
    "last_updated": same(),
}
TOKEN_DOWN: dict[str, Rule] = {
    "country_code": drop("2.1.1 has no owner fields (the URL of the connection carries them)"),
    "party_id": drop("2.1.1 has no owner fields (the URL of the connection carries them)"),
    "uid": same(),
    "type": _token_type_down,
    "contract_id": same("auth_id"),
    "visual_number": same(),
    "issuer": same(),
    "group_id": drop("2.1.1 Token has no group_id"),
    "valid": same(),
    "whitelist": same(),
    "language": same(),
    "default_profile_type": drop("2.1.1 Token has no default_profile_type"),
    "energy_contract": drop("2.1.1 Token has no energy_contract"),
    "last_updated": same(),
}


def token_up(tok211: v211.Token, *, country_code: str, party_id: str) -> Translation[v221.Token]:
    """§5 Token (ingress): ``auth_id`` -> ``contract_id``; owner fields from the connection."""
    t: Translation[Any] = Translation(None)
    data = {"country_code": country_code, "party_id": party_id, **apply(TOKEN_UP, tok211, "", t, Ctx())}
    owner_defaulted(t)
    t.value = build(v221.Token, data, "")
    return t


def token_down(tok221: v221.Token) -> Translation[v211.Token]:
    """§5 Token (egress): ``contract_id`` -> ``auth_id``; APP_USER/AD_HOC_USER -> OTHER; drops
    group_id, default_profile_type, energy_contract and the owner fields."""
    t: Translation[Any] = Translation(None)
    t.value = build(v211.Token, apply(TOKEN_DOWN, tok221, "", t, Ctx()), "")
    return t


def location_references_up(lr211: v211.LocationReferences) -> Translation[v221.LocationReferences]:
    """§5 Authorize: a 2.1.1 request may carry ``connector_ids``; 2.2.1 has none (ignored, noted)."""
    t: Translation[Any] = Translation(None)
    lost_except(lr211, {"location_id", "evse_uids"}, "", t, "2.2.1 LocationReferences has no connector_ids")
    data = {"location_id": lr211.location_id, "evse_uids": lr211.evse_uids}
    t.value = build(v221.LocationReferences, {k: v for k, v in data.items() if v is not None}, "")
    return t


def location_references_down(lr221: v221.LocationReferences) -> Translation[v211.LocationReferences]:
    """2.2.1 LocationReferences -> 2.1.1 (same fields; ``connector_ids`` stays absent)."""
    t: Translation[Any] = Translation(None)
    t.value = build(v211.LocationReferences, plain(lr221, "", t), "")
    return t


def authorization_info_up(
    a211: v211.AuthorizationInfo, *, token: v221.Token
) -> Translation[v221.AuthorizationInfo]:
    """§5 Authorize (ingress): the 2.1.1 response lacks ``token``: the token asked about (from the
    cache) is filled in; ``connector_ids`` dropped."""
    t: Translation[Any] = Translation(None)
    lost_except(a211, {"allowed", "location", "info"}, "", t, "no 2.2.1 AuthorizationInfo field")
    data: dict[str, Any] = {"allowed": a211.allowed.value, "token": token}
    t.defaulted("token", "the token the authorization was asked for (2.1.1 returns none)")
    if a211.location is not None:
        sub = location_references_up(a211.location)
        t.losses.extend(type(loss)(at("location", loss.path), loss.kind, loss.detail) for loss in sub.losses)
        data["location"] = sub.value
    if a211.info is not None:
        data["info"] = plain(a211.info, "info", t)
    t.value = build(v221.AuthorizationInfo, data, "")
    return t


def authorization_info_down(a221: v221.AuthorizationInfo) -> Translation[v211.AuthorizationInfo]:
    """§5 Authorize (egress): the 2.2.1 ``token`` and ``authorization_reference`` are dropped."""
    t: Translation[Any] = Translation(None)
    lost_except(
        a221, {"allowed", "location", "info"}, "", t, "2.1.1 AuthorizationInfo is {allowed, location, info}"
    )
    data = {k: plain(getattr(a221, k), k, t) for k in ("allowed", "location", "info") if getattr(a221, k)}
    t.value = build(v211.AuthorizationInfo, data, "")
    return t
