"""eMSP side, charging: an OCPI eMSP backend's drivers charging at Hubject-only operators
(issue 6 items 4, 5, 6; docs/emsp-charging.md).

The gateway is an OCPI CPO toward the eMSP backend (a partner of role EMSP, registered through the
credentials handshake) and an OICP EMP toward Hubject (``hubject.provider_id``). This module
installs the flow (``bridge.flows.wiring``) when ``config.acts_as_emsp`` and an EMSP partner is
configured; the parts live next to it:

* :mod:`.emsp_commands`: START_SESSION/STOP_SESSION/RESERVE_NOW/CANCEL_RESERVATION at Locations
  derived from Hubject data → AuthorizeRemoteStart/Stop and reservations
  (``services["command_handler"]``, composed with the CPO-side relay through ``fallback``).
* :mod:`.emsp_authorization`: Hubject's AuthorizeStart/Stop for the eMSP's tokens
  (``services["oicp.emp_authorization"]``), optionally PushAuthenticationData.
* :mod:`.emsp_sessions`: ChargingNotifications → OCPI Sessions (``services["oicp.emp_notification"]``).
* :mod:`.emsp_cdrs`: forwarded and polled CDRs → priced OCPI CDRs (``services["oicp.emp_cdr"]``).
* :mod:`.emsp_charging_state` (links, token index, settings) and :mod:`.emsp_lookup` (EvseID and
  Location lookups into the Hubject data).

Outbox senders registered here (architecture.md "Data flow": whatever must reach the eMSP or
Hubject is queued in the transaction that causes it):

* ``emsp.command_result``: the CommandResult POSTed to the eMSP's ``response_url`` (a 2.1.1 eMSP
  gets a 2.1.1 CommandResponse, ``command_result_down``); retried, then dead-lettered.
* ``emsp.session``: ``PUT``/``PATCH sessions/{cc}/{pid}/{id}`` on the eMSP's Sessions Receiver, in
  order per Session; a PATCH the eMSP answers 404 (it lost the Session) is sent as the full PUT; a
  2.1.1 eMSP always gets the full Session (converted down). Retried without limit.
* ``emsp.cdr`` (:func:`.emsp_cdrs.cdr_sender`) and ``emsp.authentication_data``
  (:func:`.emsp_authorization.authentication_data_sender`).

Background tasks: the CDR poll (:func:`.emsp_cdrs.poll_missed_cdrs`, at start and every
``EmspSettings.cdr_poll_interval``) and the token index rebuild (``token_index_refresh``); at
shutdown running Hubject calls of commands get 10 s to finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, Final

from bridge.delivery import Outcome, RetryPolicy, outcome_from_error
from bridge.errors import PartnerError
from bridge.flows.cpo_commands import OICP_CLIENT, deadlines_of
from bridge.flows.emsp_authorization import (
    EmspAuthorizationHandler,
    authentication_data_listener,
    authentication_data_sender,
)
from bridge.flows.emsp_cdrs import EmspCdrHandler, cdr_sender, poll_missed_cdrs
from bridge.flows.emsp_charging_state import (
    AUTH_DATA_KIND,
    CDR_KIND,
    COMMAND_RESULT_KIND,
    SESSION_KIND,
    SETTINGS_SERVICE,
    TOKEN_INDEX_SERVICE,
    TokenIndex,
    emsp_partners,
    settings_of,
)
from bridge.flows.emsp_commands import BackgroundTasks, EmspCommandHandler
from bridge.flows.emsp_sessions import EmspNotificationHandler
from bridge.ocpi.client import PartyRef, clients_of
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.server.handlers import COMMAND_HANDLER, CommandHandler
from bridge.ocpi.server.sessions import SESSIONS
from bridge.ocpi.server.sessions import install as install_sessions
from bridge.ocpi.server.tokens import ensure_listener
from bridge.oicp.client import OicpClient
from bridge.oicp.handlers import SERVICE_EMP_AUTHORIZATION, SERVICE_EMP_CDR, SERVICE_EMP_NOTIFICATION
from mappings.ocpi_versions import command_result_down

if TYPE_CHECKING:
    from bridge.context import Gateway
    from bridge.store.base import OutboxMessage, PartnerRecord

log = logging.getLogger("bridge.flows.emsp_charging")

RESULT_RETRY: Final = RetryPolicy(base=2.0, cap=300.0, max_attempts=20)
SESSION_RETRY: Final = RetryPolicy(base=2.0, cap=600.0)
CDR_RETRY: Final = RetryPolicy(base=5.0, cap=900.0)
AUTH_DATA_RETRY: Final = RetryPolicy(base=10.0, cap=900.0)
DRAIN_SECONDS: Final = 10.0
TASKS_SERVICE: Final = "emsp_charging.tasks"


def enabled(gateway: Gateway) -> bool:
    """On when the gateway acts as an OICP EMP and an OCPI eMSP backend (partner of role EMSP) exists."""
    return gateway.config.acts_as_emsp and bool(emsp_partners(gateway))


async def _registered(gateway: Gateway, name: str) -> PartnerRecord | None:
    partner = await gateway.store.get_partner(name)
    if partner is None or partner.token_out is None or partner.status != "registered":
        return None
    return partner


def command_result_sender(gateway: Gateway) -> Callable[[OutboxMessage], Awaitable[Outcome]]:
    """POST the queued CommandResult to the eMSP's ``response_url`` (OCPI 2.2.1 mod_commands)."""

    async def send(message: OutboxMessage) -> Outcome:
        partner = await _registered(gateway, message.target)
        if partner is None:
            return Outcome.retry(f"the eMSP {message.target} is not registered")
        result = v221.CommandResult.model_validate(message.payload["result"])
        version = str(message.payload.get("version") or partner.version or "2.2.1")
        body: Any = command_result_down(result).value if version == "2.1.1" else result
        client = clients_of(gateway).for_partner(partner)
        try:
            await client.request("POST", str(message.payload["response_url"]), body=body, module="commands")
        except PartnerError as error:
            return outcome_from_error(error)
        return Outcome.delivered()

    return send


def session_sender(gateway: Gateway) -> Callable[[OutboxMessage], Awaitable[Outcome]]:
    """PUT/PATCH a Session on the eMSP's Sessions Receiver (OCPI 2.2.1 mod_sessions)."""

    async def send(message: OutboxMessage) -> Outcome:
        partner = await _registered(gateway, message.target)
        if partner is None:
            return Outcome.retry(f"the eMSP {message.target} is not registered")
        payload = message.payload
        owner = (str(payload["owner"][0]), str(payload["owner"][1]))
        session_id = str(payload["id"])
        version = partner.version or "2.2.1"
        role = None if version == "2.1.1" else "RECEIVER"
        client = clients_of(gateway).for_partner(partner, from_party=PartyRef(*owner))
        try:
            if payload.get("method") == "PATCH" and version != "2.1.1":
                try:
                    await client.patch(
                        "sessions", owner[0], owner[1], session_id, body=payload["patch"], role=role
                    )
                    return Outcome.delivered()
                except PartnerError as error:
                    if error.http_status != 404:
                        raise
                    log.info(
                        "the eMSP %s does not know session %s: sending it whole", partner.name, session_id
                    )
            service = install_sessions(gateway)
            stored = await service.get(SESSIONS, owner, session_id)
            if stored is None:
                return Outcome.dead(f"session {owner[0]}/{owner[1]}/{session_id} is no longer stored")
            body = await service.serialize(SESSIONS, stored, version, partner=partner.name)
            if body is None:
                return Outcome.dead(f"session {session_id} cannot be expressed in OCPI {version}")
            url = client.object_url("sessions", owner[0], owner[1], session_id, role=role)
            await client.request("PUT", url, body=body, module="sessions")
        except PartnerError as error:
            return outcome_from_error(error)
        return Outcome.delivered()

    return send


async def install(gateway: Gateway) -> AbstractAsyncContextManager[None] | None:
    """Register the eMSP-side charging flow (see the module docstring); None when not enabled.

    The settings are the configured ones (``emsp``, ``hubject.server_deadlines``) unless entries
    are in ``gateway.services`` already; what is used is left there."""
    deadlines_of(gateway)
    if not enabled(gateway):
        return None
    config = gateway.config
    settings = settings_of(gateway)
    gateway.services[SETTINGS_SERVICE] = settings
    partners = emsp_partners(gateway)
    install_sessions(gateway)
    index = TokenIndex(partners)
    ensure_listener(gateway, "emsp_charging.token_index", index.listener)
    await index.rebuild(gateway.store)
    gateway.services[TOKEN_INDEX_SERVICE] = index
    if settings.push_authentication_data:
        ensure_listener(
            gateway, "emsp_charging.authentication_data", authentication_data_listener(set(partners))
        )
    tasks = BackgroundTasks()
    gateway.services[TASKS_SERVICE] = tasks
    if config.ocpi.parties_with_role("CPO"):
        previous = gateway.services.get(COMMAND_HANDLER)
        fallback = previous if isinstance(previous, CommandHandler) else None
        gateway.services[COMMAND_HANDLER] = EmspCommandHandler(gateway, tasks, fallback)
    else:
        log.warning("no OCPI party of role CPO: the eMSP backend cannot send commands to the gateway")
    gateway.services[SERVICE_EMP_AUTHORIZATION] = EmspAuthorizationHandler(gateway, index)
    gateway.services[SERVICE_EMP_NOTIFICATION] = EmspNotificationHandler(gateway, index)
    gateway.services[SERVICE_EMP_CDR] = EmspCdrHandler(gateway, index)
    delivery = gateway.services.get("delivery")
    if delivery is None:
        log.warning("no outbox delivery in this gateway: results, sessions and CDRs wait in the outbox")
    else:
        delivery.register(COMMAND_RESULT_KIND, command_result_sender(gateway), retry=RESULT_RETRY)
        delivery.register(SESSION_KIND, session_sender(gateway), retry=SESSION_RETRY)
        delivery.register(CDR_KIND, cdr_sender(gateway, index), retry=CDR_RETRY)
        delivery.register(
            AUTH_DATA_KIND, authentication_data_sender(gateway, partners), retry=AUTH_DATA_RETRY
        )
    log.info("eMSP-side charging flow installed for %s (%d token keys)", ", ".join(partners), len(index))
    return _running(gateway, index, tasks)


async def _every(seconds: float, what: str, job: Callable[[], Awaitable[Any]], *, now: bool) -> None:
    if not now:
        await asyncio.sleep(seconds)
    while True:
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; next try in %g s", what, seconds)
        await asyncio.sleep(seconds)


@asynccontextmanager
async def _running(gateway: Gateway, index: TokenIndex, tasks: BackgroundTasks) -> AsyncIterator[None]:
    settings = settings_of(gateway)
    existing = gateway.services.get(OICP_CLIENT)
    loops: list[asyncio.Task[None]] = []
    if settings.cdr_poll_interval > 0:
        loops.append(
            asyncio.create_task(
                _every(
                    settings.cdr_poll_interval, "CDR poll", lambda: poll_missed_cdrs(gateway, index), now=True
                ),
                name="emsp CDR poll",
            )
        )
    if settings.token_index_refresh > 0:
        loops.append(
            asyncio.create_task(
                _every(
                    settings.token_index_refresh,
                    "token index",
                    lambda: index.rebuild(gateway.store),
                    now=False,
                ),
                name="emsp token index",
            )
        )
    try:
        yield
    finally:
        for loop in loops:
            loop.cancel()
        for loop in loops:
            with contextlib.suppress(asyncio.CancelledError):
                await loop
        await tasks.drain(DRAIN_SECONDS)
        client = gateway.services.get(OICP_CLIENT)
        if isinstance(client, OicpClient) and client is not existing:
            gateway.services.pop(OICP_CLIENT, None)
            await client.aclose()


__all__ = [
    "CDR_RETRY",
    "RESULT_RETRY",
    "SESSION_RETRY",
    "command_result_sender",
    "enabled",
    "install",
    "session_sender",
]
