"""Lookups the CPO-side command flows need: EVSEs by EvseID, Locations and Sessions of the CPO
backends by their OCPI ids, Sessions by ``authorization_reference``.

Hubject addresses an EVSE by its EvseID only (oicp-2.3.md §2.2) and OCPI peers address Sessions
by ``session_id`` alone (ocpi.md §4.6 StopSession), while the store keys objects by owner
(country_code, party_id) and id. Object-service listeners (:func:`install_indexes`) keep three
id correlations in the transaction of every write, for objects stored **from a partner** (the
CPO backends push their Locations and Sessions to the gateway's eMSP receiver):

* :data:`EVSE_INDEX` ``(CANONICAL EVSEID) → "cc/pid/location_id"``, data ``{country_code,
  party_id, location_id, evse_uid, evse_id, partner}``. EvseIDs are compared canonically (upper
  case, separators removed, ocpi.md §8 point 11). An EVSE without ``evse_id`` is indexed under the
  EvseID the Location mapping derives when ``locations.missing_evse_id`` is ``derive``
  (``mappings.ids.derived_evse_id`` with ``hubject.operator_id``), so it is found under the id
  Hubject knows.
* :data:`SESSION_INDEX` ``(SESSION_ID upper) → "cc/pid"``, data ``{"owners": [[cc, pid,
  partner], ...]}``.
* :data:`AUTHORIZATION_INDEX` ``(authorization_reference upper) → "cc/pid/session_id"``, data
  ``{country_code, party_id, session_id, partner}``: for a remote start the gateway sets
  ``authorization_reference`` = Hubject's SessionID (docs/mapping.md §3.8), so this finds the
  OCPI Session of a Hubject session.

Objects written before the flow was installed are indexed once at start (:func:`backfill`,
remembered in the store state :data:`INDEX_STATE`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from bridge.ocpi.server.locations import LOCATIONS
from bridge.ocpi.server.objects import OWNER_INDEX_PREFIX, ObjectChange, Owner, child_of, object_service
from bridge.ocpi.server.objects import ChildStep as Step
from bridge.ocpi.server.sessions import SESSIONS
from bridge.ocpi.server.tokens import ensure_listener
from mappings.ids import canonical_id, derived_evse_id, normalize_evse_id

if TYPE_CHECKING:
    from bridge.context import Gateway
    from bridge.store.base import DataApi, StoredObject
    from mappings.rules import MappingRules, RuleSet

log = logging.getLogger("bridge.flows.cpo_commands")

EVSE_INDEX: Final = "cpo_commands.evse"
SESSION_INDEX: Final = "cpo_commands.session"
AUTHORIZATION_INDEX: Final = "cpo_commands.authorization_reference"
INDEX_STATE: Final = "cpo_commands.index"
INDEX_VERSION: Final = 1
_PAGE: Final = 500


@dataclass(frozen=True, slots=True)
class EvseRef:
    """An EVSE of a CPO backend, found by EvseID: where it is stored, who pushed it, its data."""

    evse_id: str
    owner: Owner
    location_id: str
    evse_uid: str
    partner: str
    location: dict[str, Any]
    evse: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SessionRef:
    """An OCPI Session stored from a CPO backend."""

    owner: Owner
    session_id: str
    partner: str
    data: dict[str, Any]


# --------------------------------------------------------------------------------------------
# Rules shared with the Location mapping


def rules_for(
    rules: RuleSet, operator_id: str | None, partner: str | None, owner: Owner, location_id: str
) -> MappingRules:
    """The mapping rules of one Location's scope (the scope the EvseDataRecord mapping uses:
    operator, partner, location, owner party; mappings/rules.py)."""
    return rules.resolve(
        operator_id=operator_id,
        partner=partner,
        location_id=location_id,
        country_code=owner[0],
        party_id=owner[1],
    )


def evse_ids_of(
    location: Mapping[str, Any], rules: MappingRules | None, operator_id: str | None
) -> dict[str, tuple[str, str]]:
    """``{canonical EvseID: (EvseID, evse_uid)}`` of a stored Location's EVSEs (docs/mapping.md
    §3.1: ``-`` separators read as ``*``; without ``evse_id`` the derived EvseID when the rules
    derive one)."""
    found: dict[str, tuple[str, str]] = {}
    derive = rules is not None and rules.locations.missing_evse_id == "derive" and operator_id
    for evse in location.get("evses") or ():
        uid = evse.get("uid")
        if not isinstance(uid, str):
            continue
        raw = evse.get("evse_id")
        evse_id: str | None = normalize_evse_id(raw) if isinstance(raw, str) and raw.strip() else None
        if evse_id is None and derive:
            assert operator_id is not None
            evse_id = derived_evse_id(operator_id, uid)
        if evse_id:
            found.setdefault(canonical_id(evse_id), (evse_id, uid))
    return found


def is_hubject_compatible(rules: MappingRules, evse_id: str) -> bool:
    """``IsHubjectCompatible`` the EVSE's EvseDataRecord carries: ``locations.is_hubject_compatible``
    with the ``locations.evse_overrides`` row of the EvseID on top (mappings/locations.py)."""
    value = rules.locations.is_hubject_compatible
    wanted = canonical_id(evse_id)
    for key, row in rules.locations.evse_overrides.items():
        if canonical_id(key) == wanted and row.is_hubject_compatible is not None:
            value = row.is_hubject_compatible
    return value


# --------------------------------------------------------------------------------------------
# Listeners


def _location_key(owner: Owner, location_id: str) -> str:
    return f"{owner[0]}/{owner[1]}/{location_id}"


class _Indexer:
    """The object-service listeners, bound to the gateway (rules, operator id)."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def _evse_ids(
        self, owner: Owner, location_id: str, partner: str, data: Mapping[str, Any] | None
    ) -> dict[str, tuple[str, str]]:
        if not data:
            return {}
        operator_id = self.gateway.config.hubject.operator_id
        rules = rules_for(object_service(self.gateway).rules, operator_id, partner, owner, location_id)
        return evse_ids_of(data, rules, operator_id)

    async def location(self, data: DataApi, change: ObjectChange) -> None:
        if change.kind.name != LOCATIONS.name or change.partner is None:
            return
        before = self._evse_ids(change.owner, change.object_id, change.partner, change.before)
        after = self._evse_ids(change.owner, change.object_id, change.partner, change.after)
        if before == after and change.before is not None:
            return
        here = _location_key(change.owner, change.object_id).upper()
        for key in before.keys() - after.keys():
            found = await data.get_correlation(EVSE_INDEX, key)
            if found is not None and found.value.upper() == here:
                await data.delete_correlation(EVSE_INDEX, key)
        for key, (evse_id, uid) in after.items():
            found = await data.get_correlation(EVSE_INDEX, key)
            if found is not None and found.value.upper() != here:
                log.warning("EvseID %s moves from Location %s to %s", evse_id, found.value, here)
            elif found is not None and found.data and found.data.get("evse_uid") == uid:
                continue
            await data.put_correlation(
                EVSE_INDEX,
                key,
                _location_key(change.owner, change.object_id),
                {
                    "country_code": change.owner[0],
                    "party_id": change.owner[1],
                    "location_id": change.object_id,
                    "evse_uid": uid,
                    "evse_id": evse_id,
                    "partner": change.partner,
                },
            )

    async def session(self, data: DataApi, change: ObjectChange) -> None:
        if change.kind.name != SESSIONS.name or change.partner is None:
            return
        if change.before is None and change.after is not None:
            await _add_session_owner(data, change.owner, change.object_id, change.partner)
        old_ref = (change.before or {}).get("authorization_reference")
        new_ref = (change.after or {}).get("authorization_reference")
        if old_ref == new_ref and change.before is not None:
            return
        if isinstance(old_ref, str) and old_ref != new_ref:
            found = await data.get_correlation(AUTHORIZATION_INDEX, old_ref.upper())
            if (
                found is not None
                and found.value.upper() == _location_key(change.owner, change.object_id).upper()
            ):
                await data.delete_correlation(AUTHORIZATION_INDEX, old_ref.upper())
        if isinstance(new_ref, str):
            await data.put_correlation(
                AUTHORIZATION_INDEX,
                new_ref.upper(),
                _location_key(change.owner, change.object_id),
                {
                    "country_code": change.owner[0],
                    "party_id": change.owner[1],
                    "session_id": change.object_id,
                    "partner": change.partner,
                },
            )


async def _add_session_owner(data: DataApi, owner: Owner, session_id: str, partner: str) -> None:
    key = session_id.upper()
    found = await data.get_correlation(SESSION_INDEX, key)
    owners: list[list[str]] = list((found.data or {}).get("owners", [])) if found else []
    if any((cc.upper(), pid.upper()) == (owner[0].upper(), owner[1].upper()) for cc, pid, _ in owners):
        return
    owners.append([owner[0], owner[1], partner])
    await data.put_correlation(SESSION_INDEX, key, f"{owners[0][0]}/{owners[0][1]}", {"owners": owners})


def install_indexes(gateway: Gateway) -> None:
    """Subscribe the index listeners to the gateway's object service (idempotent)."""
    indexer = _Indexer(gateway)
    ensure_listener(gateway, "cpo_commands.evse", indexer.location)
    ensure_listener(gateway, "cpo_commands.sessions", indexer.session)


async def backfill(gateway: Gateway) -> int:
    """Index the Locations and Sessions stored before the listeners existed, once per store
    (state :data:`INDEX_STATE`); return how many objects were read."""
    store = gateway.store
    state = await store.get_state(INDEX_STATE)
    if state is not None and state.get("version") == INDEX_VERSION:
        return 0
    indexer = _Indexer(gateway)
    seen = 0
    for kind, listener in ((LOCATIONS, indexer.location), (SESSIONS, indexer.session)):
        offset = 0
        while True:
            page, _ = await store.list_objects(kind.name, offset=offset, limit=_PAGE)
            for stored in page:
                if stored.partner is None:
                    continue
                change = ObjectChange(
                    kind,
                    (stored.country_code, stored.party_id),
                    stored.object_id,
                    None,
                    stored.data,
                    stored.partner,
                )
                async with store.transaction() as tx:
                    await listener(tx, change)
            seen += len(page)
            if len(page) < _PAGE:
                break
            offset += len(page)
    await store.set_state(INDEX_STATE, {"version": INDEX_VERSION})
    if seen:
        log.info("command lookups: indexed %d stored Locations and Sessions", seen)
    return seen


# --------------------------------------------------------------------------------------------
# Lookups


async def find_evse(gateway: Gateway, evse_id: str) -> EvseRef | None:
    """The CPO backend's EVSE with this EvseID (compared canonically), or None when no Location
    stored from a partner has it."""
    found = await gateway.store.get_correlation(EVSE_INDEX, canonical_id(evse_id))
    if found is None or not found.data:
        return None
    info = found.data
    owner = (str(info["country_code"]), str(info["party_id"]))
    stored = await gateway.store.get_object(LOCATIONS.name, owner[0], owner[1], str(info["location_id"]))
    if stored is None or stored.partner is None:
        return None
    evse = child_of(stored.data, (Step("evses", "uid", str(info["evse_uid"]), "EVSE"),))
    if evse is None:
        return None
    return EvseRef(
        evse_id=str(info["evse_id"]),
        owner=(stored.country_code, stored.party_id),
        location_id=stored.object_id,
        evse_uid=str(evse["uid"]),
        partner=stored.partner,
        location=stored.data,
        evse=evse,
    )


async def backend_locations(gateway: Gateway, location_id: str) -> list[StoredObject]:
    """Every stored Location with this id pushed by a partner, oldest first (the Locations
    module's owner index, ``ocpi.owners.locations``)."""
    store = gateway.store
    index = await store.get_correlation(OWNER_INDEX_PREFIX + LOCATIONS.name, location_id.upper())
    found: list[StoredObject] = []
    for cc, pid in (index.data or {}).get("owners", []) if index else []:
        stored = await store.get_object(LOCATIONS.name, str(cc), str(pid), location_id)
        if stored is not None and stored.partner is not None:
            found.append(stored)
    return sorted(found, key=lambda s: s.seq)


async def backend_sessions(gateway: Gateway, session_id: str) -> list[SessionRef]:
    """Every stored Session with this id pushed by a partner."""
    store = gateway.store
    index = await store.get_correlation(SESSION_INDEX, session_id.upper())
    found: list[SessionRef] = []
    for cc, pid, _partner in (index.data or {}).get("owners", []) if index else []:
        stored = await store.get_object(SESSIONS.name, str(cc), str(pid), session_id)
        if stored is not None and stored.partner is not None:
            found.append(
                SessionRef(
                    (stored.country_code, stored.party_id), stored.object_id, stored.partner, stored.data
                )
            )
    return found


async def session_by_authorization_reference(gateway: Gateway, reference: str) -> SessionRef | None:
    """The Session stored from a partner whose ``authorization_reference`` is ``reference``
    (compared case-insensitively, OCPI CiString), or None."""
    found = await gateway.store.get_correlation(AUTHORIZATION_INDEX, reference.upper())
    if found is None or not found.data:
        return None
    info = found.data
    stored = await gateway.store.get_object(
        SESSIONS.name, str(info["country_code"]), str(info["party_id"]), str(info["session_id"])
    )
    if stored is None or stored.partner is None:
        return None
    ref = stored.data.get("authorization_reference")
    if not isinstance(ref, str) or ref.upper() != reference.upper():
        return None
    return SessionRef((stored.country_code, stored.party_id), stored.object_id, stored.partner, stored.data)


__all__ = [
    "AUTHORIZATION_INDEX",
    "EVSE_INDEX",
    "INDEX_STATE",
    "SESSION_INDEX",
    "EvseRef",
    "SessionRef",
    "backend_locations",
    "backend_sessions",
    "backfill",
    "evse_ids_of",
    "find_evse",
    "install_indexes",
    "is_hubject_compatible",
    "rules_for",
    "session_by_authorization_reference",
]
