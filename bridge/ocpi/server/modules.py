"""The OCPI functional modules mounted on the app, each registered in the endpoint registry so that
version details advertise exactly what is mounted (ocpi.md §1.1).

Every module named in :data:`MODULES` is ``bridge.ocpi.server.<name>`` and offers
``endpoints(config) -> list[ModuleEndpoint]``: its interfaces for the configured versions and the
roles the gateway has (a Receiver interface of the eMSP role only when an EMSP party is configured,
a Sender interface of the CPO role only with a CPO or HUB party, and so on). Paths are relative to
``{public_url}/ocpi/{version}/``; the gateway as eMSP receives under ``emsp/<module>``, as CPO (or
as the Hub of Hubject's operators) serves under ``cpo/<module>``, and as Hub serves
``hub/hubclientinfo`` (see each module's docstring).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

if TYPE_CHECKING:
    from bridge.config import BridgeConfig
    from bridge.ocpi.server.registry import EndpointRegistry

MODULES: list[str] = ["locations", "tariffs", "sessions", "cdrs", "tokens", "commands", "hubclientinfo"]
"""Functional modules, then the Hub's hubclientinfo (a Configuration module, 2.2.1 only), in the
order their endpoints are advertised."""


def module_routes(config: BridgeConfig, registry: EndpointRegistry) -> list[BaseRoute]:
    """Register the endpoints of every module in :data:`MODULES` and return their routes."""
    routes: list[BaseRoute] = []
    for name in MODULES:
        module = importlib.import_module(f"bridge.ocpi.server.{name}")
        for endpoint in module.endpoints(config):
            registry.add(endpoint)
            routes.extend(endpoint.routes)
    return routes
