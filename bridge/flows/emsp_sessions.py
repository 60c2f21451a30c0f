"""Hubject's ChargingNotifications become the eMSP's OCPI Sessions (issue 6 item 6, sessions half).

:class:`EmspNotificationHandler` is the gateway's
:class:`~bridge.oicp.handlers.EmpNotificationHandler` (``services["oicp.emp_notification"]``).
OICP has no session object (oicp-2.3.md §4.8, §8 point 15): the Session is synthesized from the
remote start (PENDING), the notifications and the CDR.

* Start → ACTIVE, Progress → ACTIVE with ``kwh``, End → COMPLETED, Error → INVALID before charging
  started (``mappings.sessions.notification_to_session``, docs/mapping.md §3.9); timestamps in UTC.
* The Session's id is the SessionID, its owner the Location's owner; its ``cdr_token`` is the
  eMSP's own token (as the eMSP wrote it, not the OICP spelling), its ``authorization_reference``
  the eMSP's when it gave one (StartSession, real-time authorization), else the SessionID.
* The Session is stored (ObjectService) and queued for the eMSP's Sessions Receiver in the same
  transaction: PUT when new, PATCH of what changed (:func:`~.emsp_charging_state.save_session_and_queue`).
* A notification for a SessionID the gateway did not take part in (an offline authorization,
  oicp-2.3.md §2.4 (a)) is accepted when its Identification is one of the eMSP's tokens; without
  that it is answered ``Result: false`` **400** "Session is invalid" (§4.1).
* Late or repeated notifications never move a Session back: once COMPLETED or INVALID, Start and
  Progress are acknowledged and ignored.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bridge.flows.emsp_charging_state import (
    SessionLink,
    TokenIndex,
    cdr_token_of,
    find_token,
    get_link,
    notify,
    now_utc,
    place_link,
    put_link,
    rules_for,
    save_session_and_queue,
    stored_session,
    with_reference,
)
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.models.common import to_jsonable
from bridge.oicp.models import (
    Acknowledgement,
    ChargingNotificationEnd,
    ChargingNotificationError,
    StatusCodeEnum,
)
from mappings.ids import evse_operator_id
from mappings.sessions import AnyNotification, notification_to_session

if TYPE_CHECKING:
    from bridge.context import Gateway
    from bridge.oicp.models import ChargingNotification
    from bridge.store.base import DataApi

log = logging.getLogger("bridge.flows.emsp_charging")

ENDED = (v221.SessionStatus.COMPLETED, v221.SessionStatus.INVALID)


async def discover_link(
    data: DataApi, index: TokenIndex, session_id: str, identification: object, origin: str
) -> SessionLink | None:
    """A link for a SessionID first seen in a notification or CDR: the eMSP's token named by the
    Identification, or None when it is none of theirs."""
    from bridge.oicp.models import Identification

    if not isinstance(identification, Identification):
        return None
    ref = await find_token(data, index, identification)
    if ref is None:
        return None
    return SessionLink(
        session_id=session_id,
        origin="cdr" if origin == "cdr" else "notification",
        partner=ref.partner,
        token=ref.key,
        cdr_token=to_jsonable(ref.cdr_token()),
    )


class EmspNotificationHandler:
    """ChargingNotification → OCPI Session for the eMSP backend (see the module docstring)."""

    def __init__(self, gateway: Gateway, index: TokenIndex) -> None:
        self.gateway = gateway
        self.index = index

    async def charging_notification(self, notification: ChargingNotification) -> Acknowledgement:
        echo = {
            "session_id": notification.session_id,
            "cpo_partner_session_id": notification.cpo_partner_session_id,
            "emp_partner_session_id": notification.emp_partner_session_id,
        }
        async with self.gateway.store.transaction() as tx:
            link = await get_link(tx, notification.session_id)
            if link is None:
                link = await discover_link(
                    tx, self.index, notification.session_id, notification.identification, "notification"
                )
                if link is None:
                    return Acknowledgement.failure(
                        StatusCodeEnum.SESSION_IS_INVALID,
                        "no charging process of this EMP has this SessionID",
                        **echo,
                    )
            placed = await place_link(self.gateway, tx, link, notification.evse_id)
            cdr_token = cdr_token_of(link)
            if cdr_token is None or link.owner is None:
                return Acknowledgement.failure(
                    StatusCodeEnum.SESSION_IS_INVALID, "the SessionID names no token of this EMP", **echo
                )
            if placed or link.origin == "notification":
                await put_link(tx, link)
            previous = await stored_session(self.gateway, tx, link)
            if (
                previous is not None
                and previous.status in ENDED
                and not isinstance(notification, ChargingNotificationEnd | ChargingNotificationError)
            ):
                log.info("notification %s for ended session %s ignored", notification.type, link.session_id)
                return Acknowledgement.success(**echo)
            rules = rules_for(
                self.gateway,
                partner=link.partner,
                owner=link.owner,
                location_id=link.location_id,
                operator_id=notification.operator_id or evse_operator_id(notification.evse_id),
            )
            note: AnyNotification = notification
            session = notification_to_session(
                note,
                previous=previous,
                country_code=link.owner[0],
                party_id=link.owner[1],
                session_id=link.session_id,
                location_id=str(link.location_id),
                evse_uid=str(link.evse_uid),
                connector_id=str(link.connector_id),
                cdr_token=cdr_token,
                now=now_utc(),
                rules=rules,
            ).value
            await save_session_and_queue(self.gateway, tx, with_reference(session, link), link.partner)
        notify(self.gateway)
        return Acknowledgement.success(**echo)


__all__ = ["ENDED", "EmspNotificationHandler", "discover_link"]
