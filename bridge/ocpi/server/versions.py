"""The versions module (ocpi.md §1.1; reference 004 "Versions module"): versions list and details.

* ``GET /ocpi/versions`` lists the enabled versions (2.2.1 first); ``GET /ocpi/{version}`` lists
  the module endpoints of the registry. 2.2.1 gives each its InterfaceRole and has exactly one
  ``credentials`` entry, with role SENDER ("for the credentials module, the role is not relevant").
* 2.1.1 has no roles (ocpi.md §1.1 "Both roles in one party"): ``/ocpi/cpo/versions`` and
  ``/ocpi/emsp/versions`` (and their ``/ocpi/{cpo,emsp}/2.1.1`` details) list one role's modules
  only; the combined ``/ocpi/2.1.1`` lists the modules of the role facing the caller (a CPO
  partner sees our eMSP modules). A role-specific versions list also offers 2.2.1 (the combined
  document), so a 2.1.1 connection can upgrade by PUT on the 2.2.1 credentials URL. A partner
  reading the other role's documents gets 404: that URL does not serve its connection.
* Every document needs a valid token, token A included; missing or unknown → 401 (ocpi#439).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bridge.errors import NotFound
from bridge.ocpi.client import VERSION_ORDER
from bridge.ocpi.registration import facing_role, has_role_urls, role_url_prefix
from bridge.ocpi.server.auth import authenticate
from bridge.ocpi.server.envelope import ocpi_response

if TYPE_CHECKING:
    from bridge.config import BridgeConfig
    from bridge.ocpi.server.registry import EndpointRegistry
    from bridge.store.base import PartnerRecord

SUPPORTED_VERSIONS = VERSION_ORDER

Endpoint = Callable[[Request], Awaitable[Response]]


def connection_role(partner: PartnerRecord, url_role: str | None) -> str:
    """Our role on a 2.1.1 connection: the URL's role, which must face the partner's role.

    Raises :class:`NotFound` when a partner uses the documents of the role that does not face it.
    """
    role = facing_role(partner.role)
    if url_role is not None and url_role != role:
        raise NotFound(
            f"{role_url_prefix(url_role)} serves our {url_role} role; partner {partner.name} is a"
            f" {partner.role}: use {role_url_prefix(role)}/versions"
        )
    return role


def versions_document(config: BridgeConfig, url_role: str | None) -> list[dict[str, str]]:
    """The versions list: combined, or for one role (2.1.1 role-specific, 2.2.1 combined)."""
    public = str(config.public_url).rstrip("/")
    out = []
    for version in SUPPORTED_VERSIONS:
        if version not in config.ocpi.versions:
            continue
        prefix = role_url_prefix(url_role) if url_role is not None and version == "2.1.1" else "/ocpi"
        out.append({"version": version, "url": f"{public}{prefix}/{version}"})
    return out


def details_document(
    config: BridgeConfig,
    registry: EndpointRegistry,
    version: str,
    *,
    role_211: str | None = None,
    url_role: str | None = None,
) -> dict[str, Any]:
    """The version details of ``version``: credentials first, then the registry's modules.

    2.1.1: only the endpoints of ``role_211`` (plus credentials), without ``role``; the
    credentials URL is the role-specific one when the document is (``url_role``).
    """
    public = str(config.public_url).rstrip("/")
    credentials_prefix = role_url_prefix(url_role) if url_role is not None else "/ocpi"
    endpoints: list[dict[str, str]] = [
        {"identifier": "credentials", "url": f"{public}{credentials_prefix}/{version}/credentials"}
    ]
    if version != "2.1.1":
        endpoints[0]["role"] = "SENDER"
    seen: set[tuple[str, str | None]] = {("credentials", None)}
    party_role = role_211 if version == "2.1.1" else None
    for endpoint in registry.for_version(version, party_role=party_role):
        key = (
            endpoint.identifier,
            None if version == "2.1.1" or endpoint.identifier == "credentials" else endpoint.role,
        )
        if key in seen:
            continue
        seen.add(key)
        item = {
            "identifier": endpoint.identifier,
            "url": f"{public}/ocpi/{version}/{endpoint.path.strip('/')}",
        }
        if version != "2.1.1":
            item["role"] = endpoint.role
        endpoints.append(item)
    return {"version": version, "endpoints": endpoints}


def _versions_list(config: BridgeConfig, url_role: str | None) -> Endpoint:
    async def versions_list(request: Request) -> Response:
        caller = await authenticate(request, allow_token_a=True)
        if url_role is not None:
            connection_role(caller.partner, url_role)
        return ocpi_response(versions_document(config, url_role))

    return versions_list


def _version_details(
    config: BridgeConfig, registry: EndpointRegistry, version: str, url_role: str | None
) -> Endpoint:
    async def version_details(request: Request) -> Response:
        caller = await authenticate(request, allow_token_a=True)
        role_211 = connection_role(caller.partner, url_role) if version == "2.1.1" else None
        return ocpi_response(
            details_document(config, registry, version, role_211=role_211, url_role=url_role)
        )

    return version_details


def versions_routes(config: BridgeConfig, registry: EndpointRegistry) -> list[Route]:
    """The versions and version-details routes of the enabled versions (and roles, for 2.1.1)."""
    routes = [Route("/ocpi/versions", _versions_list(config, None), methods=["GET"])]
    for version in SUPPORTED_VERSIONS:
        if version in config.ocpi.versions:
            routes.append(
                Route(f"/ocpi/{version}", _version_details(config, registry, version, None), methods=["GET"])
            )
    for role in ("CPO", "EMSP"):
        if has_role_urls(config, role):
            prefix = role_url_prefix(role)
            routes.append(Route(f"{prefix}/versions", _versions_list(config, role), methods=["GET"]))
            routes.append(
                Route(f"{prefix}/2.1.1", _version_details(config, registry, "2.1.1", role), methods=["GET"])
            )
    return routes


__all__ = [
    "SUPPORTED_VERSIONS",
    "connection_role",
    "details_document",
    "versions_document",
    "versions_routes",
]
