"""Every OCPI route of the gateway: versions, credentials, then the functional modules.

The credentials endpoint of each enabled version is registered in the endpoint registry like any
module, so the version details and the routes cannot disagree (ocpi.md §1.1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

from bridge.ocpi.client import VERSION_ORDER
from bridge.ocpi.server.credentials import credentials_routes
from bridge.ocpi.server.modules import module_routes
from bridge.ocpi.server.registry import EndpointRegistry, ModuleEndpoint
from bridge.ocpi.server.versions import versions_routes

if TYPE_CHECKING:
    from bridge.config import BridgeConfig


def ocpi_routes(config: BridgeConfig, registry: EndpointRegistry) -> list[BaseRoute]:
    """The OCPI routes of this configuration; fills ``registry`` with what they offer."""
    credentials = credentials_routes(config)
    for version in VERSION_ORDER:
        if version in config.ocpi.versions:
            mounted = tuple(
                r for r in credentials if getattr(r, "path", "") == f"/ocpi/{version}/credentials"
            )
            registry.add(
                ModuleEndpoint(
                    version=version,
                    identifier="credentials",
                    role="SENDER",
                    party_role=None,
                    path="credentials",
                    routes=mounted,
                )
            )
    return [*versions_routes(config, registry), *credentials, *module_routes(config, registry)]


__all__ = ["ocpi_routes"]
