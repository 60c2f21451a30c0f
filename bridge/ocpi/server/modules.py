"""The OCPI functional modules (locations, sessions, cdrs, tariffs, tokens, commands) mounted on
the app, each registered in the endpoint registry so version details advertise it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

if TYPE_CHECKING:
    from bridge.config import BridgeConfig
    from bridge.ocpi.server.registry import EndpointRegistry


def module_routes(config: BridgeConfig, registry: EndpointRegistry) -> list[BaseRoute]:
    """Routes of every functional module this configuration enables (none are mounted yet)."""
    return []
