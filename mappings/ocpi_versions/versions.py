"""OCPI 2.1.1 ⇄ 2.2.1: Credentials, versions and status codes (docs/ocpi.md §5 Credentials,
Version details, Status codes)."""

from __future__ import annotations

from typing import Any

from bridge.errors import MappingError
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from mappings.ocpi_versions._rules import at, build, lost_except, plain
from mappings.result import Translation


def credentials_up(c211: v211.Credentials, *, role: v221.Role) -> Translation[v221.Credentials]:
    """§5 Credentials (ingress): the flat fields become ``roles[0]``, its role implied by the
    versions URL (connection) the 2.1.1 peer used."""
    t: Translation[Any] = Translation(None)
    lost_except(
        c211, {"token", "url", "business_details", "party_id", "country_code"}, "", t, "no such field"
    )
    data = {
        "token": c211.token,
        "url": c211.url,
        "roles": [
            {
                "role": role.value,
                "business_details": plain(c211.business_details, "business_details", t),
                "party_id": c211.party_id,
                "country_code": c211.country_code,
            }
        ],
    }
    t.defaulted("roles[0].role", f"{role.value}: implied by the 2.1.1 connection's versions URL")
    t.value = build(v221.Credentials, data, "")
    return t


def credentials_down(c221: v221.Credentials) -> Translation[list[v211.Credentials]]:
    """§5 Credentials (egress): one flat 2.1.1 Credentials per role (one 2.1.1 connection each)."""
    t: Translation[Any] = Translation(None)
    result = []
    for i, role in enumerate(c221.roles):
        here = at("roles", i)
        t.lost(at(here, "role"), f"{role.role.value}: implied by the 2.1.1 connection (one per role)")
        result.append(
            build(
                v211.Credentials,
                {
                    "token": c221.token,
                    "url": c221.url,
                    "party_id": role.party_id,
                    "country_code": role.country_code,
                    "business_details": plain(role.business_details, at(here, "business_details"), t),
                },
                here,
            )
        )
    t.value = result
    return t


_MODULES_211 = frozenset(member.value for member in v211.ModuleID)
_SENDER_MODULES = {
    v221.Role.CPO: frozenset({"cdrs", "locations", "sessions", "tariffs", "credentials"}),
    v221.Role.EMSP: frozenset({"commands", "tokens", "credentials"}),
}


def _interface(module: str, party_role: v221.Role) -> v221.InterfaceRole:
    """The interface a party of ``party_role`` implements for ``module`` (credentials: SENDER)."""
    if module in _SENDER_MODULES[party_role]:
        return v221.InterfaceRole.SENDER
    return v221.InterfaceRole.RECEIVER


def _party_role(role: v221.Role, path: str) -> v221.Role:
    if role not in _SENDER_MODULES:
        raise MappingError(path, f"2.1.1 knows only CPO and eMSP connections, not {role.value}")
    return role


def version_up(v: v211.Version) -> Translation[v221.Version]:
    """A Version entry (the same ``{version, url}`` in both)."""
    t: Translation[Any] = Translation(None)
    t.value = build(v221.Version, plain(v, "", t), "")
    return t


def version_details_up(
    vd211: v211.VersionDetails, *, peer_role: v221.Role
) -> Translation[v221.VersionDetails]:
    """§5 Version details (ingress): 2.1.1 endpoints have no ``role``: inferred from the peer's
    role on this connection (a CPO's locations are SENDER, its commands RECEIVER, ...)."""
    t: Translation[Any] = Translation(None)
    _party_role(peer_role, "peer_role")
    endpoints = []
    for i, endpoint in enumerate(vd211.endpoints):
        module = str(endpoint.identifier)
        if module not in _MODULES_211:
            t.lost(at("endpoints", i), f"custom module {module!r}: its interface role cannot be inferred")
            continue
        endpoints.append(
            {"identifier": module, "role": _interface(module, peer_role).value, "url": endpoint.url}
        )
        t.defaulted(
            f"endpoints[{len(endpoints) - 1}].role", f"inferred from the peer's role {peer_role.value}"
        )
    t.value = build(v221.VersionDetails, {"version": vd211.version.value, "endpoints": endpoints}, "")
    return t


def version_details_down(vd221: v221.VersionDetails, *, role: v221.Role) -> Translation[v211.VersionDetails]:
    """§5 Version details (egress): what we publish at the 2.1.1 versions URL of ``role``: the
    endpoints of that role's interfaces, without ``role``; other modules and roles are left out."""
    t: Translation[Any] = Translation(None)
    _party_role(role, "role")
    endpoints: list[dict[str, Any]] = []
    for i, endpoint in enumerate(vd221.endpoints):
        module = str(endpoint.identifier)
        if module not in _MODULES_211:
            t.lost(at("endpoints", i), f"module {module!r} does not exist in 2.1.1")
        elif module == "credentials" and any(e["identifier"] == "credentials" for e in endpoints):
            t.lost(at("endpoints", i), "one credentials endpoint only")
        elif module != "credentials" and endpoint.role is not _interface(module, role):
            t.lost(at("endpoints", i), f"served at the other role's 2.1.1 versions URL, not {role.value}'s")
        else:
            endpoints.append({"identifier": module, "url": endpoint.url})
    if vd221.version is not v221.VersionNumber.V2_1_1:
        t.changed("version", f"{vd221.version.value} published as 2.1.1")
    t.value = build(v211.VersionDetails, {"version": "2.1.1", "endpoints": endpoints}, "")
    return t


_STATUS_CODES_211 = frozenset({1000, 2000, 2001, 2002, 2003, 3000, 3001, 3002, 3003})


def status_code_down(code: int) -> Translation[int]:
    """§5 Status codes (egress): 2.1.1 has only 1000, 2000-2003 and 3000-3003. 2004 (unknown token)
    -> 2000 (answer it with HTTP 404); other custom codes to their generic class; 4xxx -> 3000."""
    t: Translation[int] = Translation(code)
    if code not in _STATUS_CODES_211:
        t.value = 1000 if 1000 <= code < 2000 else 2000 if 2000 <= code < 3000 else 3000
        t.changed("status_code", f"{code} does not exist in 2.1.1; sent as {t.value}")
    return t
