"""What the CPO-side charging flow remembers: Hubject SessionIDs, their OCPI sessions, held CDRs.

Part of :mod:`bridge.flows.cpo_charging`. Everything lives in the store (correlations and small
state records), written inside the transaction of the change that causes it, so a restart loses
nothing (architecture.md "Data flow"):

* :data:`HUBJECT_SESSION`: one record per Hubject SessionID the gateway holds as CPO (issued by
  AuthorizeStart, AuthorizeRemoteStart or a reservation), keyed by the normalised SessionID, value
  = the OCPI ``authorization_reference`` the CPO backend was given (oicp-2.3.md §8 point 1: "persist
  SessionID ⇄ OCPI session/authorization_reference"), data = :class:`HubjectSession`.
* :data:`OCPI_SESSION`: OCPI Session (``CC/PID/ID``) → SessionID, once a Session was tied to one.
* :data:`HELD_CDRS`: CDRs waiting for their SessionID, indexed by the authorization_reference and
  the OCPI session id they name, so that storing the correlation releases them at once.
* :data:`CDR_CLAIM`: which CDR went to Hubject for a SessionID (Hubject accepts one CDR per
  SessionID, oicp-2.3.md §4.7).
* :data:`ACTIVE_EVSE`: the Hubject session charging at an EvseID (from the Start notification
  to the End/Error one), used to recognise a stop by the same medium.
* state ``oicp.cpo.notifications.<SessionID>``: which notifications were queued and when the last
  Progress was (oicp-2.3.md §1.5: at least 5 minutes between two Progress notifications).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from bridge.ocpi.models import v2_2_1 as v221
from bridge.oicp.models import normalize_session_id
from mappings.ids import canonical_id, normalize_evse_id

if TYPE_CHECKING:
    from bridge.store.base import DataApi, PartnerRecord

log = logging.getLogger("bridge.flows.cpo_charging")

Owner = tuple[str, str]

HUBJECT_SESSION: Final = "oicp.cpo.session"
OCPI_SESSION: Final = "oicp.cpo.ocpi_session"
HELD_CDRS: Final = "oicp.cpo.held_cdr"
CDR_CLAIM: Final = "oicp.cpo.cdr"
ACTIVE_EVSE: Final = "oicp.cpo.evse_active"
NOTIFY_STATE: Final = "oicp.cpo.notifications."
CDR_ATTEMPT_STATE: Final = "oicp.cpo.cdr_attempt."
"""Correlation kinds and state key prefixes of the flow (see the module docstring)."""


def object_key(owner: Owner, object_id: str) -> str:
    """``CC/PID/ID`` in upper case: how an OCPI Session or CDR is named in correlations."""
    return f"{owner[0]}/{owner[1]}/{object_id}".upper()


def split_key(key: str) -> tuple[str, str, str]:
    """(country_code, party_id, id) of an :func:`object_key` (the id may contain ``/``)."""
    country_code, party_id, object_id = key.split("/", 2)
    return country_code, party_id, object_id


@dataclass(frozen=True, slots=True)
class HubjectSession:
    """A Hubject SessionID held by the gateway as CPO and what it was issued for.

    ``origin`` says which OICP call issued it (``authorize_start``, ``remote_start``,
    ``reservation``); ``token`` is the OCPI token (country_code, party_id, uid, type,
    contract_id) and ``identification`` the OICP Identification JSON that started it;
    ``stop_identifications`` the AuthorizationStopIdentifications of the AuthorizeStart answer
    (None: Hubject gave none); ``location_id``/``evse_uids``/``evse_id`` where; ``ocpi_session``
    the OCPI Session (``CC/PID/ID``) once one named it.
    """

    session_id: str
    authorization_reference: str
    origin: str
    token: dict[str, Any] | None = None
    identification: dict[str, Any] | None = None
    stop_identifications: list[dict[str, Any]] | None = None
    location_id: str | None = None
    evse_uids: list[str] = field(default_factory=list)
    evse_id: str | None = None
    provider_id: str | None = None
    ocpi_session: str | None = None
    created_at: str | None = None

    def data(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> HubjectSession:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)


# --------------------------------------------------------------------------------------------
# Hubject sessions


async def register_hubject_session(data: DataApi, session: HubjectSession) -> int:
    """Store ``session`` (correlation :data:`HUBJECT_SESSION`) and release the CDRs held for it.

    Every flow that obtains a SessionID as CPO calls this in its transaction (the remote-start
    flow too: its sessions and CDRs are sent to Hubject only once the SessionID is known,
    oicp-2.3.md §8 point 1). Returns how many held CDRs were released.
    """
    key = normalize_session_id(session.session_id)
    await data.put_correlation(HUBJECT_SESSION, key, session.authorization_reference, session.data())
    released = await release_held(data, "ref:" + session.authorization_reference.upper())
    if session.authorization_reference.upper() != session.session_id.upper():
        released += await release_held(data, "ref:" + session.session_id.upper())
    if session.ocpi_session is not None:
        released += await release_held(data, "session:" + session.ocpi_session.upper())
    return released


async def get_hubject_session(data: DataApi, session_id: str) -> HubjectSession | None:
    """The :class:`HubjectSession` of a SessionID, or None."""
    found = await data.get_correlation(HUBJECT_SESSION, normalize_session_id(session_id))
    return HubjectSession.from_data(found.data) if found is not None and found.data else None


async def find_by_reference(data: DataApi, reference: str) -> HubjectSession | None:
    """The Hubject session an OCPI ``authorization_reference`` names: the reference is the
    SessionID itself (what the gateway answers), or a reference stored with one."""
    found = await get_hubject_session(data, reference)
    if found is not None:
        return found
    by_value = await data.find_correlation_by_value(HUBJECT_SESSION, reference)
    return HubjectSession.from_data(by_value.data) if by_value is not None and by_value.data else None


async def bind_ocpi_session(
    data: DataApi, session: HubjectSession, owner: Owner, session_id: str
) -> HubjectSession:
    """Tie an OCPI Session to its Hubject session (both directions) and release the CDRs held
    for that OCPI session. Returns the updated record."""
    key = object_key(owner, session_id)
    await data.put_correlation(OCPI_SESSION, key, session.session_id)
    if session.ocpi_session == key:
        return session
    bound = replace(session, ocpi_session=key)
    await register_hubject_session(data, bound)
    return bound


async def hubject_session_of(
    data: DataApi, owner: Owner, session_id: str, authorization_reference: str | None
) -> HubjectSession | None:
    """The Hubject session of an OCPI Session: the stored tie, else its authorization_reference."""
    tie = await data.get_correlation(OCPI_SESSION, object_key(owner, session_id))
    if tie is not None:
        found = await get_hubject_session(data, tie.value)
        if found is not None:
            return found
    if authorization_reference:
        return await find_by_reference(data, authorization_reference)
    return None


async def resolve_cdr_session(
    data: DataApi, owner: Owner, cdr: v221.CDR
) -> tuple[HubjectSession | None, str]:
    """The Hubject session a CDR belongs to and, when there is none, why (the hold reason).

    By the CDR's ``authorization_reference``, else by its ``session_id`` (the OCPI Session's tie or
    that Session's authorization_reference)."""
    if cdr.authorization_reference:
        found = await find_by_reference(data, cdr.authorization_reference)
        if found is not None:
            return found, ""
    if cdr.session_id:
        stored = await data.get_object("sessions", owner[0], owner[1], cdr.session_id)
        reference = None if stored is None else stored.data.get("authorization_reference")
        found = await hubject_session_of(
            data, owner, cdr.session_id, reference if isinstance(reference, str) else None
        )
        if found is not None:
            return found, ""
    named = [
        f"{name} {value!r}"
        for name, value in (
            ("authorization_reference", cdr.authorization_reference),
            ("session_id", cdr.session_id),
        )
        if value
    ]
    if not named:
        return None, "no Hubject SessionID: the CDR names neither authorization_reference nor session_id"
    return None, f"no Hubject SessionID known yet for {' / '.join(named)} (released when it is)"


# --------------------------------------------------------------------------------------------
# Held CDRs


def held_keys(owner: Owner, cdr: v221.CDR) -> list[str]:
    """The index keys under which a held CDR waits: its reference and its OCPI session."""
    keys = []
    if cdr.authorization_reference:
        keys.append("ref:" + cdr.authorization_reference.upper())
    if cdr.session_id:
        keys.append("session:" + object_key(owner, cdr.session_id))
    return keys


async def index_held(data: DataApi, keys: Sequence[str], message_id: int) -> None:
    """Remember that outbox message ``message_id`` waits for any of ``keys``."""
    for key in keys:
        found = await data.get_correlation(HELD_CDRS, key)
        ids = [int(i) for i in (found.data or {}).get("ids", [])] if found is not None else []
        if message_id not in ids:
            ids.append(message_id)
        await data.put_correlation(HELD_CDRS, key, str(len(ids)), {"ids": ids})


async def release_held(data: DataApi, key: str) -> int:
    """Put the CDR messages held under ``key`` back to pending; return how many were released.

    A message that is still pending (not tried yet) needs no release: its sender resolves the
    SessionID when it runs."""
    found = await data.get_correlation(HELD_CDRS, key)
    if found is None:
        return 0
    released = 0
    for message_id in (found.data or {}).get("ids", []):
        if await data.release(int(message_id)):
            released += 1
            log.info("CDR outbox message %s released: its SessionID is known now", message_id)
    await data.delete_correlation(HELD_CDRS, key)
    return released


# --------------------------------------------------------------------------------------------
# Notification state


@dataclass(frozen=True, slots=True)
class NotificationState:
    """Which ChargingNotifications of a session were queued, and when (OCPI ``last_updated``)."""

    started_at: str | None = None
    last_progress_at: str | None = None
    ended: bool = False
    error: bool = False

    def last_progress(self) -> datetime | None:
        """When the Progress interval runs from: the last Progress, else the Start."""
        value = self.last_progress_at or self.started_at
        return datetime.fromisoformat(value) if value else None


async def get_notification_state(data: DataApi, session_id: str) -> NotificationState:
    stored = await data.get_state(NOTIFY_STATE + normalize_session_id(session_id))
    if not stored:
        return NotificationState()
    return NotificationState(
        **{name: stored[name] for name in NotificationState.__dataclass_fields__ if name in stored}
    )


async def set_notification_state(data: DataApi, session_id: str, state: NotificationState) -> None:
    await data.set_state(NOTIFY_STATE + normalize_session_id(session_id), asdict(state))


# --------------------------------------------------------------------------------------------
# Partners and locations


def party_matches(roles: Sequence[Mapping[str, Any]], owner: Owner) -> bool:
    wanted = (owner[0].upper(), owner[1].upper())
    return any(
        (str(role.get("country_code", "")).upper(), str(role.get("party_id", "")).upper()) == wanted
        for role in roles
    )


async def emsp_peer_for(data: DataApi, owner: Owner, *, own: Sequence[Owner] = ()) -> PartnerRecord | None:
    """The OCPI eMSP partner whose credentials roles include ``owner`` (a token's issuer), or None.

    The gateway's ``own`` parties are never a peer (their tokens are roamed through Hubject)."""
    if (owner[0].upper(), owner[1].upper()) in {(cc.upper(), pid.upper()) for cc, pid in own}:
        return None
    for partner in await data.list_partners():
        if partner.role == "EMSP" and party_matches(partner.roles, owner):
            return partner
    return None


async def is_cpo_partner(data: DataApi, name: str | None) -> bool:
    """Whether ``name`` is a CPO partner (the CPO backend whose Sessions and CDRs are relayed)."""
    if name is None:
        return False
    partner = await data.get_partner(name)
    return partner is not None and partner.role == "CPO"


async def location_of(data: DataApi, owner: Owner, location_id: str) -> v221.Location | None:
    """The stored Location (OCPI 2.2.1) of ``owner``, or None."""
    stored = await data.get_object("locations", owner[0], owner[1], location_id)
    return None if stored is None else v221.Location.model_validate(stored.data)


def evse_of(location: v221.Location | None, evse_uid: str) -> v221.EVSE | None:
    if location is None:
        return None
    for evse in location.evses or []:
        if evse.uid.upper() == evse_uid.upper():
            return evse
    return None


def evse_id_of(location: v221.Location | None, evse_uid: str) -> str | None:
    """The OICP EvseID of an EVSE of a stored Location (``-`` separators become ``*``), or None."""
    evse = evse_of(location, evse_uid)
    return normalize_evse_id(evse.evse_id) if evse is not None and evse.evse_id else None


def evse_key(evse_id: str) -> str:
    """How an EvseID keys :data:`ACTIVE_EVSE` (compared without separators, oicp-2.3.md §8 point 11)."""
    return canonical_id(evse_id)


__all__ = [
    "ACTIVE_EVSE",
    "CDR_ATTEMPT_STATE",
    "CDR_CLAIM",
    "HELD_CDRS",
    "HUBJECT_SESSION",
    "NOTIFY_STATE",
    "OCPI_SESSION",
    "HubjectSession",
    "NotificationState",
    "bind_ocpi_session",
    "emsp_peer_for",
    "evse_id_of",
    "evse_key",
    "evse_of",
    "find_by_reference",
    "get_hubject_session",
    "get_notification_state",
    "held_keys",
    "hubject_session_of",
    "index_held",
    "is_cpo_partner",
    "location_of",
    "object_key",
    "party_matches",
    "register_hubject_session",
    "release_held",
    "resolve_cdr_session",
    "set_notification_state",
    "split_key",
]
