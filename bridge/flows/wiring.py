"""Installs the flows the configuration enables, at start, in a fixed order.

Each flow module listed in :data:`FLOW_MODULES` exposes
``async def install(gateway: Gateway) -> AbstractAsyncContextManager[None] | None``: it registers its
handlers and listeners in ``gateway.services`` (and on the object service), its outbox senders on
the delivery, and returns a context manager for background tasks it runs (schedulers, pollers),
or None. A flow decides itself whether the configuration enables it (for example the CPO-side
Hubject flows only when ``config.acts_as_cpo``).
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from bridge.context import Gateway

# Order matters: delivery first (flows register senders on it), then the flows.
FLOW_MODULES: list[str] = [
    "bridge.flows.cpo_charging",
    "bridge.flows.cpo_commands",
    "bridge.flows.cpo_publish",
    "bridge.flows.emsp_locations",
    "bridge.flows.emsp_charging",
]


@asynccontextmanager
async def start_flows(gateway: Gateway) -> AsyncIterator[None]:
    """The app's start hook: install every flow; on exit stop their tasks in reverse order."""
    async with AsyncExitStack() as stack:
        for name in FLOW_MODULES:
            module = importlib.import_module(name)
            manager = await module.install(gateway)
            if manager is not None:
                await stack.enter_async_context(manager)
        yield
