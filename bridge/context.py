"""The running gateway's shared parts, built once at start and passed to every route and worker."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import HTTPConnection

if TYPE_CHECKING:
    from bridge.config import BridgeConfig
    from bridge.store.base import Store


@dataclass(slots=True)
class Gateway:
    """Configuration (read once), the store, and the long-lived services of one gateway process.

    ``services`` holds what later layers attach at start (protocol clients, delivery workers,
    caches) under a name, so that this module stays at the bottom of the ``bridge`` floor.
    """

    config: BridgeConfig
    store: Store
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    services: dict[str, Any] = field(default_factory=dict)

    @property
    def public_url(self) -> str:
        return str(self.config.public_url).rstrip("/")


def gateway_of(connection: HTTPConnection) -> Gateway:
    gateway: Gateway = connection.app.state.gateway
    return gateway
