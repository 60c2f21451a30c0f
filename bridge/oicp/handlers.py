"""The seams between the Hubject-facing routes (:mod:`bridge.oicp.server`) and the flows.

A flow registers an object implementing one of these protocols in ``gateway.services`` under
the matching key; the routes parse and validate Hubject's request once, look the handler up
per request and answer with what it returns. A route without a handler gives the spec's
"Service not available" answer (StatusCode 320), see :mod:`bridge.oicp.server`.

Handlers may raise :class:`bridge.errors.OicpError` (its ``code`` becomes the StatusCode of a
negative answer of the right type); they must answer within the :class:`OicpDeadlines`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from bridge.oicp.models import (
    Acknowledgement,
    AuthorizationStart,
    AuthorizationStop,
    AuthorizeRemoteReservationStart,
    AuthorizeRemoteReservationStop,
    AuthorizeRemoteStart,
    AuthorizeRemoteStop,
    AuthorizeStart,
    AuthorizeStop,
    ChargeDetailRecord,
    ChargingNotification,
)

SERVICE_CPO_REMOTE = "oicp.cpo_remote"
"""``gateway.services`` key of the :class:`CpoRemoteHandler` (the gateway acts as an OICP CPO)."""

SERVICE_EMP_AUTHORIZATION = "oicp.emp_authorization"
"""``gateway.services`` key of the :class:`EmpAuthorizationHandler` (the gateway acts as an OICP EMP)."""

SERVICE_EMP_CDR = "oicp.emp_cdr"
"""``gateway.services`` key of the :class:`EmpCdrHandler`."""

SERVICE_EMP_NOTIFICATION = "oicp.emp_notification"
"""``gateway.services`` key of the :class:`EmpNotificationHandler`."""

SERVICE_DEADLINES = "oicp.deadlines"
"""``gateway.services`` key of an :class:`OicpDeadlines` overriding the defaults."""


@dataclass(frozen=True, slots=True)
class OicpDeadlines:
    """How long a handler may take before the route answers on its own (seconds).

    * ``remote``: AuthorizeRemoteStart/Stop and reservations. Hubject closes the call after
      60 s, the spec's best practice is < 10 s including the network round trip (oicp-2.3.md
      §1.5); on timeout the answer is ``Result: false`` with 501 "Communication to EVSE failed".
    * ``authorize``: AuthorizeStart/Stop to an EMP. Hubject's limit is "an internally defined
      period" and a late EMP counts as NotAuthorized (§1.5), so we answer NotAuthorized with 310
      "Partner did not respond" ourselves, early enough to be heard.
    * ``cdr`` / ``notification``: forwarded CDRs and ChargingNotifications; on timeout
      ``Result: false`` with 021 "System error" (Hubject keeps the CDR for GetChargeDetailRecords).
    """

    remote: float = 10.0
    authorize: float = 3.0
    cdr: float = 10.0
    notification: float = 10.0


@runtime_checkable
class CpoRemoteHandler(Protocol):
    """Hubject → CPO (oicp-2.3.md §2.2): remote start/stop and reservations, answered with an
    Acknowledgement. ``provider_id`` is the ``{providerID}`` of the path (the requesting EMP).

    ``Result: true`` on a remote start means "the charging process will be started" (answer
    when the CPO backend accepted the command, §8 point 12).
    """

    async def authorize_remote_start(
        self, request: AuthorizeRemoteStart, *, provider_id: str
    ) -> Acknowledgement: ...

    async def authorize_remote_stop(
        self, request: AuthorizeRemoteStop, *, provider_id: str
    ) -> Acknowledgement: ...

    async def authorize_remote_reservation_start(
        self, request: AuthorizeRemoteReservationStart, *, provider_id: str
    ) -> Acknowledgement: ...

    async def authorize_remote_reservation_stop(
        self, request: AuthorizeRemoteReservationStop, *, provider_id: str
    ) -> Acknowledgement: ...


@runtime_checkable
class EmpAuthorizationHandler(Protocol):
    """Hubject → EMP (oicp-2.3.md §2.4): AuthorizeStart/Stop. ``operator_id`` is the path's
    ``{operatorID}`` (the requesting CPO). RFID requests are broadcast to every contracted EMP:
    answer unknown UIDs fast with NotAuthorized (§8 point 13) and put ``ProviderID`` in positive
    answers."""

    async def authorize_start(self, request: AuthorizeStart, *, operator_id: str) -> AuthorizationStart: ...

    async def authorize_stop(self, request: AuthorizeStop, *, operator_id: str) -> AuthorizationStop: ...


@runtime_checkable
class EmpCdrHandler(Protocol):
    """Hubject → EMP: a forwarded ChargeDetailRecord (oicp-2.3.md §2.4). ``Result: true`` = received."""

    async def charge_detail_record(self, cdr: ChargeDetailRecord, *, operator_id: str) -> Acknowledgement: ...


@runtime_checkable
class EmpNotificationHandler(Protocol):
    """Hubject → EMP: a ChargingNotification Start/Progress/End/Error (oicp-2.3.md §4.8); the
    Acknowledgement is relayed to the CPO."""

    async def charging_notification(self, notification: ChargingNotification) -> Acknowledgement: ...


__all__ = [
    "SERVICE_CPO_REMOTE",
    "SERVICE_DEADLINES",
    "SERVICE_EMP_AUTHORIZATION",
    "SERVICE_EMP_CDR",
    "SERVICE_EMP_NOTIFICATION",
    "CpoRemoteHandler",
    "EmpAuthorizationHandler",
    "EmpCdrHandler",
    "EmpNotificationHandler",
    "OicpDeadlines",
]
