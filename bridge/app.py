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
from bridge.delivery import SERVICE_NAME as DELIVERY_SERVICE
from bridge.delivery import delivery_start_hook
from bridge.errors import StoreError
from bridge.flows.wiring import start_flows
from bridge.http_errors import EXCEPTION_HANDLERS, CatchAllMiddleware
from bridge.middleware import BodyLimitMiddleware, RequestIdMiddleware
from bridge.ocpi.server.registry import EndpointRegistry
from bridge.ocpi.server.routes import ocpi_routes
from bridge.ocpi.server.sessions import install as install_sessions
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


def install_object_indexes(gateway: Gateway) -> None:
    """The object service's indexes (tokens by contract id, sessions and CDRs by recipient) must
    listen before anything writes: installed first, whatever else runs."""
    install_sessions(gateway)


def product_start_hooks() -> list[StartHook]:
    """Delivery first (flows register their senders on it), then the flows."""
    return [delivery_start_hook(), start_flows]


async def health(request: Request) -> Response:
    """``GET /health``: 200 when the store answers, 503 otherwise. No authentication, no secrets."""
    gateway = gateway_of(request)
    try:
        await gateway.store.ping()
    except StoreError as error:
        log.warning("health: store unreachable: %s", error)
        return JSONResponse({"status": "unavailable", "store": "unreachable"}, status_code=503)
    body: dict[str, object] = {"status": "ok", "store": "ok", "version": __version__}
    delivery = gateway.services.get(DELIVERY_SERVICE)
    if delivery is not None:
        body["outbox"] = (await delivery.stats()).as_dict()
    return JSONResponse(body)


def create_app(
    config: BridgeConfig,
    *,
    store: Store | None = None,
    routes: Sequence[BaseRoute] = (),
    start_hooks: Sequence[StartHook] | None = None,
) -> Starlette:
    """The gateway as an ASGI app. ``store`` is opened from ``config.store_url`` when not given.

    ``start_hooks=None`` (the product) runs the outbox delivery and every flow the configuration
    enables (:func:`product_start_hooks`); tests pass their own list to run a part of it with
    faster settings. The OCPI side (partner clients, pending registrations) and the object indexes
    always run.
    """
    hooks: Sequence[StartHook] = product_start_hooks() if start_hooks is None else start_hooks
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
            install_object_indexes(gateway)
            for hook in (ocpi_start_hook(), *hooks):
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
