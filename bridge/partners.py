"""Configured partners brought into the store at start.

The configuration is the source of truth for *who* the partners are; the store keeps what the
credentials handshake learnt (version, endpoints, tokens). At start:

* a partner new to the store gets a record (status ``new``);
* an inbound partner (``token_a``) that has not registered yet gets its TOKEN_A hash, so it can
  call ``versions`` and ``credentials`` (ocpi.md §1.3). Once registered, token A is dead and is
  not brought back by a restart;
* an outbound partner (``versions_url`` + ``token``) keeps the partner's TOKEN_A as ``token_out``
  until the handshake replaces it with TOKEN_C;
* the role and the egress encoding follow the configuration.

:func:`ocpi_start_hook` then starts the OCPI client side (one pooled HTTP client per gateway) and,
in the background, registers with every outbound partner that has never been registered (status
``new``): startup never waits for a partner. A partner that cannot be reached while we read its
versions is tried again later (the GETs are safe to repeat); any other failure, and any failure
of the POST itself, is logged and left to ``ocpi-oicp-bridge register NAME`` (ocpi.md §3.1: no
retried POSTs). A partner that was unregistered is not registered again automatically.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace
from typing import TYPE_CHECKING

import httpx

from bridge.errors import BridgeError, MethodNotAllowed, PartnerError
from bridge.ocpi.client import CLIENTS_SERVICE, OcpiClients
from bridge.ocpi.registration import complete_registration, prepare_registration
from bridge.store.base import PartnerRecord, utcnow

if TYPE_CHECKING:
    from bridge.config import BridgeConfig, PartnerConfig
    from bridge.context import Gateway
    from bridge.store.base import DataApi

log = logging.getLogger("bridge.partners")


def _new_record(partner: PartnerConfig) -> PartnerRecord:
    token_out = partner.token.get_secret_value() if partner.token is not None else None
    return PartnerRecord(
        name=partner.name,
        role=partner.role,
        version=partner.version,
        versions_url=partner.versions_url,
        token_out=token_out,
        token_encoding=partner.token_encoding,
        status="new",
    )


async def sync_configured_partners(config: BridgeConfig, store: DataApi) -> None:
    """Make the store agree with the configured partner list (idempotent; safe on every start)."""
    for partner in config.partners:
        record = await store.get_partner(partner.name)
        if record is None:
            record = await store.save_partner(_new_record(partner))
            log.info(
                "partner %s added (%s, %s registration)", partner.name, partner.role, partner.registration
            )
        elif record.role != partner.role or record.token_encoding != partner.token_encoding:
            record = await store.save_partner(
                replace(record, role=partner.role, token_encoding=partner.token_encoding, updated_at=utcnow())
            )
        if record.status == "registered":
            continue
        if partner.token_a is not None:
            await store.set_incoming_token(partner.name, partner.token_a.get_secret_value(), "A")
        elif partner.token is not None and record.token_out is None:
            await store.save_partner(
                replace(record, token_out=partner.token.get_secret_value(), versions_url=partner.versions_url)
            )


# --------------------------------------------------------------------------------------------
# At start: the OCPI clients and the registration of new outbound partners

REGISTRATION_SERVICE = "ocpi_registration"
"""``Gateway.services`` key of the background registration task (awaitable; returns outcomes)."""

RETRY_DELAYS: tuple[float, ...] = (10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
"""Seconds between tries while a partner's versions cannot be read; the last one repeats."""


async def wait_until_serving(http: httpx.AsyncClient, public_url: str, *, attempts: int = 60) -> bool:
    """Wait until ``{public_url}/health`` answers: the partner will call us back there during the
    handshake, and uvicorn binds its sockets only after the lifespan has started."""
    delay = 0.05
    for _ in range(attempts):
        try:
            await http.get(f"{public_url}/health", timeout=2.0)
            return True
        except httpx.HTTPError:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)
    log.warning("%s/health does not answer; registering anyway", public_url)
    return False


def _retriable(error: BridgeError) -> bool:
    """No HTTP answer, or a server-side HTTP error: the partner may simply be down."""
    return isinstance(error, PartnerError) and (error.http_status is None or error.http_status >= 500)


async def _register_when_reachable(
    config: BridgeConfig, store: DataApi, clients: OcpiClients, name: str, retry_delays: Sequence[float]
) -> str:
    attempt = 0
    while True:
        try:
            record, client, discovery = await prepare_registration(config, store, clients, name)
        except MethodNotAllowed:
            log.info("%s is already registered", name)
            return "registered"
        except BridgeError as error:
            if not _retriable(error) or not retry_delays:
                log.error("cannot register with %s: %s (fix it, then run: register %s)", name, error, name)
                return "failed"
            delay = retry_delays[min(attempt, len(retry_delays) - 1)]
            log.warning("cannot reach %s yet (%s); trying again in %g s", name, error, delay)
            attempt += 1
            await asyncio.sleep(delay)
            continue
        try:
            await complete_registration(config, store, record, client, discovery)
        except BridgeError as error:
            log.error("registration with %s failed: %s (not retried; run: register %s)", name, error, name)
            return "failed"
        return "registered"


async def register_pending_partners(
    config: BridgeConfig,
    store: DataApi,
    clients: OcpiClients,
    *,
    retry_delays: Sequence[float] = RETRY_DELAYS,
) -> dict[str, str]:
    """Register with every outbound partner still ``new`` (ocpi.md §1.3, the gateway as Sender).

    Returns ``{name: "registered" | "failed"}``. Meant to run as a background task.
    """
    names = []
    for partner in config.partners:
        if partner.registration != "outbound":
            continue
        record = await store.get_partner(partner.name)
        if record is not None and record.status == "new":
            names.append(partner.name)
    if not names:
        return {}
    await wait_until_serving(clients.http, str(config.public_url).rstrip("/"))
    outcomes = await asyncio.gather(
        *(_register_when_reachable(config, store, clients, name, retry_delays) for name in names)
    )
    return dict(zip(names, outcomes, strict=True))


async def _in_background(
    gateway: Gateway, clients: OcpiClients, retry_delays: Sequence[float]
) -> dict[str, str]:
    try:
        return await register_pending_partners(
            gateway.config, gateway.store, clients, retry_delays=retry_delays
        )
    except BridgeError as error:
        log.error("registering the outbound partners stopped: %s", error)
        return {}


def ocpi_start_hook(
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    retry_delays: Sequence[float] = RETRY_DELAYS,
) -> Callable[[Gateway], AbstractAsyncContextManager[None]]:
    """The start hook of the OCPI side: ``gateway.services["ocpi_clients"]`` (an
    :class:`OcpiClients` over ``transport``) and the background registration task
    (``gateway.services["ocpi_registration"]``); both end at shutdown."""

    @asynccontextmanager
    async def ocpi_side(gateway: Gateway) -> AsyncIterator[None]:
        clients = OcpiClients(gateway.config, transport=transport)
        gateway.services[CLIENTS_SERVICE] = clients
        task = asyncio.create_task(
            _in_background(gateway, clients, retry_delays),
            name="ocpi-registration",
        )
        gateway.services[REGISTRATION_SERVICE] = task
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await clients.aclose()

    return ocpi_side
