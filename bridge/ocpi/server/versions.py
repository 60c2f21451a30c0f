"""The versions module (ocpi.md §1.1; 004 reference): versions list and version details.

Both need a valid token, token A included (ocpi.md §1.3, ocpi#439).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bridge.context import gateway_of
from bridge.errors import NotFound
from bridge.ocpi.server.auth import authenticate
from bridge.ocpi.server.envelope import ocpi_response
from bridge.ocpi.server.registry import EndpointRegistry

SUPPORTED_VERSIONS = ("2.2.1", "2.1.1")


def registry_of(request: Request) -> EndpointRegistry:
    registry: EndpointRegistry = gateway_of(request).services["ocpi_endpoints"]
    return registry


async def versions_list(request: Request) -> Response:
    await authenticate(request, allow_token_a=True)
    gateway = gateway_of(request)
    enabled = [v for v in SUPPORTED_VERSIONS if v in gateway.config.ocpi.versions]
    data = [{"version": v, "url": f"{gateway.public_url}/ocpi/{v}"} for v in enabled]
    return ocpi_response(data)


async def version_details(request: Request) -> Response:
    await authenticate(request, allow_token_a=True)
    gateway = gateway_of(request)
    version = request.path_params["version"]
    if version not in SUPPORTED_VERSIONS or version not in gateway.config.ocpi.versions:
        raise NotFound(f"Unknown OCPI version {version}")
    endpoints = []
    for endpoint in registry_of(request).for_version(version):
        item = {
            "identifier": endpoint.identifier,
            "url": f"{gateway.public_url}/ocpi/{version}/{endpoint.path}",
        }
        if version != "2.1.1":
            item["role"] = endpoint.role
        endpoints.append(item)
    return ocpi_response({"version": version, "endpoints": endpoints})


ROUTES = [
    Route("/ocpi/versions", versions_list, methods=["GET"]),
    Route("/ocpi/{version}", version_details, methods=["GET"]),
]
