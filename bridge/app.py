"""Builds the Starlette application from a configuration.

``create_app(config)`` is all a server needs: the lifespan opens the store (running migrations),
brings the configured partners into it and closes everything on shutdown. Tests pass their own
store to share it with the test body.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bridge import __version__
from bridge.context import Gateway, gateway_of
from bridge.errors import StoreError
from bridge.http_errors import EXCEPTION_HANDLERS, CatchAllMiddleware
from bridge.middleware import BodyLimitMiddleware, RequestIdMiddleware
from bridge.ocpi.server.registry import EndpointRegistry
from bridge.ocpi.server.routes import ocpi_routes
from bridge.oicp.server import oicp_routes
from bridge.partners import ocpi_start_hook, sync_configured_partners
from bridge.store import open_store

if TYPE_CHECKING:
    from bridge.config import BridgeConfig
    from bridge.store.base import Store

log = logging.getLogger("bridge.app")

# A start hook gets the gateway once the store is open; it may return an async context manager
# whose exit runs at shutdown (delivery workers, schedulers).
StartHook = Callable[[Gateway], AbstractAsyncContextManager[None] | None]


async def health(request: Request) -> Response:
    """``GET /health``: 200 when the store answers, 503 otherwise. No authentication, no secrets."""
    gateway = gateway_of(request)
    try:
        await gateway.store.ping()
    except StoreError as error:
        log.warning("health: store unreachable: %s", error)
        return JSONResponse({"status": "unavailable", "store": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "store": "ok", "version": __version__})


def create_app(
    config: BridgeConfig,
    *,
    store: Store | None = None,
    routes: Sequence[BaseRoute] = (),
    start_hooks: Sequence[StartHook] = (),
) -> Starlette:
    """The gateway as an ASGI app. ``store`` is opened from ``config.store_url`` when not given."""
    registry = EndpointRegistry()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        own_store = store is None
        opened = store if store is not None else await open_store(config.store_url)
        gateway = Gateway(config=config, store=opened)
        gateway.services["ocpi_endpoints"] = registry
        app.state.gateway = gateway
        exits: list[AbstractAsyncContextManager[None]] = []
        try:
            await sync_configured_partners(config, opened)
            for hook in (ocpi_start_hook(), *start_hooks):
                manager = hook(gateway)
                if manager is not None:
                    await manager.__aenter__()
                    exits.append(manager)
            log.info("gateway started: %s", gateway.public_url)
            yield
        finally:
            for manager in reversed(exits):
                await manager.__aexit__(None, None, None)
            if own_store:
                await opened.close()
            log.info("gateway stopped")

    all_routes: list[BaseRoute] = [
        Route("/health", health, methods=["GET"]),
        *ocpi_routes(config, registry),
        *oicp_routes(),
        *routes,
    ]
    return Starlette(
        routes=all_routes,
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(CatchAllMiddleware),
            Middleware(BodyLimitMiddleware, max_bytes=config.ocpi.max_body_bytes),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
