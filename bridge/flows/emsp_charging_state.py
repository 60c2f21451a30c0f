"""What the eMSP-side charging flow shares: settings, the session links, token and EVSE lookups,
and the one place Sessions are written and queued for the eMSP backend.

Part of :mod:`bridge.flows.emsp_charging` (docs/emsp-charging.md). The gateway is an OCPI CPO
toward an eMSP backend (a partner of role EMSP) and an OICP EMP toward Hubject
(``config.hubject.provider_id``). Everything it must remember lives in the store, written in the
transaction of the change that causes it (architecture.md "Data flow"):

* :data:`SESSION_LINK` ``SessionID → "CC/PID/ID"`` (the OCPI Session): one
  :class:`SessionLink` per Hubject SessionID the gateway took part in as EMP (remote start,
  reservation, an AuthorizeStart it authorized, or first seen in a notification or CDR). The OCPI
  Session id **is** the Hubject SessionID (a GUID, 36 characters: a valid CiString(36)), so the
  correlation SessionID ⇄ OCPI session id of oicp-2.3.md §8 point 1 needs no second table.
* :data:`RESERVATION_LINK` ``"{partner}/{RESERVATION_ID}" → SessionID`` of a reservation.
* :data:`CDR_RECEIVED` ``SessionID → outbox message id``: a CDR of that SessionID was received
  (Hubject accepts one CDR per SessionID, §4.7; forwarded and polled CDRs are deduplicated here).

Sessions the flow derives are stored through the ObjectService (kind ``sessions``, owner = the
Location's owner, ``partner`` None: the gateway made them) so that the eMSP can also pull them
(``GET cpo/sessions``), and every real change is queued for the eMSP's Sessions Receiver
(:func:`save_session_and_queue`: PUT when new, PATCH of the changed fields afterwards).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, Literal

from bridge.flows.emsp_lookup import find_evse
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.server.objects import object_service
from bridge.ocpi.server.sessions import SESSIONS
from bridge.ocpi.server.sessions import install as install_sessions
from bridge.ocpi.server.tokens import CONTRACT_INDEX, TOKENS
from bridge.oicp.models import normalize_session_id
from mappings.ids import canonical_id, evse_operator_id, ocpi_id, operator_party
from mappings.ids import evse_uid as evse_uid_of
from mappings.tokens import normalize_uid

if TYPE_CHECKING:
    from bridge.config import BridgeConfig
    from bridge.context import Gateway
    from bridge.oicp.models import Identification
    from bridge.store.base import DataApi
    from mappings.rules import MappingRules

log = logging.getLogger("bridge.flows.emsp_charging")

Owner = tuple[str, str]

SETTINGS_SERVICE: Final = "emsp_charging.settings"
"""``gateway.services`` key of an :class:`EmspSettings` replacing the defaults (set before start)."""
TOKEN_INDEX_SERVICE: Final = "emsp_charging.token_index"  # noqa: S105 - a service key, not a secret

SESSION_LINK: Final = "emsp.session"
RESERVATION_LINK: Final = "emsp.reservation"
CDR_RECEIVED: Final = "emsp.cdr_received"
"""Correlation kinds (see the module docstring)."""

COMMAND_RESULT_KIND: Final = "emsp.command_result"
SESSION_KIND: Final = "emsp.session"
CDR_KIND: Final = "emsp.cdr"
AUTH_DATA_KIND: Final = "emsp.authentication_data"
"""Outbox kinds: a CommandResult for the eMSP's ``response_url``; a Session PUT/PATCH and a CDR
POST to the eMSP backend; a PushAuthenticationData fullLoad to Hubject."""

HUBJECT_TARGET: Final = "hubject"
UNRESOLVED_TARGET: Final = "emsp:unresolved"
"""Outbox target of a CDR whose eMSP is not known yet (its token is unknown): held until it is."""

Origin = Literal["remote", "reservation", "authorize", "notification", "cdr"]


@dataclass(frozen=True, slots=True)
class EmspSettings:
    """Tuning of the eMSP-side flow (docs/emsp-charging.md "Settings").

    Read from the ``emsp`` section of the configuration (:func:`settings_from_config`,
    docs/configuration.md; ``realtime_deadline`` is ``emsp.authorization_deadline``); an instance
    in ``gateway.services[SETTINGS_SERVICE]`` wins over it.

    * ``realtime_authorization``: ``"whitelist"`` asks the eMSP only for tokens whose
      ``whitelist`` is NEVER or ALLOWED_OFFLINE (ALWAYS and ALLOWED are answered from the tokens it
      pushed); ``"always"`` asks for every known token.
    * ``realtime_deadline``: seconds the eMSP's ``POST tokens/{uid}/authorize`` may take (no
      retries inside it); kept below Hubject's route deadline (``OicpDeadlines.authorize``).
    * ``push_authentication_data``: also push the eMSP's ALWAYS/ALLOWED tokens to Hubject with
      PushAuthenticationData (fullLoad) for offline authorization.
    * ``cdr_poll_interval``: seconds between two GetChargeDetailRecords polls (``CDRForwarded``
      false), the safety net for CDRs missed while the gateway was down; 0 disables the poller.
      ``cdr_poll_lookback``: how far back the first poll reaches; ``cdr_poll_overlap``: how far
      each poll reaches before the end of the previous one (CDRs are deduplicated by SessionID).
    * ``token_index_refresh``: seconds between two rebuilds of the in-memory token index from the
      store (tokens written by another gateway instance); 0 disables.
    * ``fallback_tariff``: the OCPI Tariff that prices a CDR no pricing product or EVSE tariff
      applies to (a contract tariff); None: such a CDR is held.
    """

    realtime_authorization: Literal["whitelist", "always"] = "whitelist"
    realtime_deadline: float = 3.0
    push_authentication_data: bool = False
    cdr_poll_interval: float = 900.0
    cdr_poll_lookback: float = 2 * 86400.0
    cdr_poll_overlap: float = 3600.0
    token_index_refresh: float = 300.0
    fallback_tariff: v221.Tariff | None = None


def settings_from_config(config: BridgeConfig) -> EmspSettings:
    """The ``emsp`` section of the configuration (docs/configuration.md) as :class:`EmspSettings`."""
    emsp = config.emsp
    return EmspSettings(
        realtime_authorization=emsp.realtime_authorization,
        realtime_deadline=emsp.authorization_deadline,
        push_authentication_data=emsp.push_authentication_data,
        cdr_poll_interval=emsp.cdr_poll_interval,
        cdr_poll_lookback=emsp.cdr_poll_lookback,
        cdr_poll_overlap=emsp.cdr_poll_overlap,
        token_index_refresh=emsp.token_index_refresh,
        fallback_tariff=emsp.fallback_tariff_object,
    )


def settings_of(gateway: Gateway) -> EmspSettings:
    """The :class:`EmspSettings` in ``gateway.services[SETTINGS_SERVICE]``, else the configured ones."""
    settings = gateway.services.get(SETTINGS_SERVICE)
    return settings if isinstance(settings, EmspSettings) else settings_from_config(gateway.config)


def emsp_partners(gateway: Gateway) -> list[str]:
    """Names of the configured partners of role EMSP (the eMSP backends)."""
    return [partner.name for partner in gateway.config.partners if partner.role == "EMSP"]


def notify(gateway: Gateway) -> None:
    """Wake the outbox delivery after a commit that queued messages (when it runs)."""
    delivery = gateway.services.get("delivery")
    if delivery is not None:
        delivery.notify()


def now_utc() -> datetime:
    return datetime.now(UTC)


def rules_for(
    gateway: Gateway,
    *,
    partner: str | None,
    owner: Owner | None = None,
    location_id: str | None = None,
    operator_id: str | None = None,
) -> MappingRules:
    """The mapping rules of one scope (mappings/rules.py): the CPO operator, the eMSP partner, the
    Location and its owner party."""
    return object_service(gateway).rules.resolve(
        operator_id=operator_id,
        partner=partner,
        location_id=location_id,
        country_code=owner[0] if owner else None,
        party_id=owner[1] if owner else None,
    )


# --------------------------------------------------------------------------------------------
# Session links


@dataclass(slots=True)
class SessionLink:
    """What the gateway knows about one Hubject SessionID (correlation :data:`SESSION_LINK`).

    ``partner`` is the eMSP backend whose token it is; ``owner`` the OCPI Session owner (the
    Location's owner); ``token`` the stored Token ``[country_code, party_id, object_id]``;
    ``cdr_token`` its CdrToken JSON; ``authorization_reference`` the eMSP's own reference
    (StartSession or real-time authorization), which the OCPI Session and CDR carry (OCPI 2.2.1
    mod_sessions: the CPO SHALL use it when the eMSP gave one), else the SessionID.
    """

    session_id: str
    origin: Origin
    partner: str | None = None
    owner: Owner | None = None
    evse_id: str | None = None
    location_id: str | None = None
    evse_uid: str | None = None
    connector_id: str | None = None
    token: list[str] | None = None
    cdr_token: dict[str, Any] | None = None
    authorization_reference: str | None = None
    command_id: str | None = None
    reservation_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ocpi_key(self) -> str:
        owner = self.owner or ("", "")
        return f"{owner[0]}/{owner[1]}/{self.session_id}".upper()

    def data(self) -> dict[str, Any]:
        values = asdict(self)
        values["owner"] = list(self.owner) if self.owner else None
        return values

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> SessionLink:
        values = dict(data)
        owner = values.get("owner")
        values["owner"] = (str(owner[0]), str(owner[1])) if owner else None
        known = set(cls.__dataclass_fields__)
        return cls(**{key: value for key, value in values.items() if key in known})


async def get_link(data: DataApi, session_id: str) -> SessionLink | None:
    """The link of a Hubject SessionID (compared case-insensitively), or None."""
    found = await data.get_correlation(SESSION_LINK, normalize_session_id(session_id))
    return None if found is None or not found.data else SessionLink.of(found.data)


async def put_link(data: DataApi, link: SessionLink) -> None:
    link.session_id = normalize_session_id(link.session_id)
    await data.put_correlation(SESSION_LINK, link.session_id, link.ocpi_key, link.data())


# --------------------------------------------------------------------------------------------
# Tokens of the eMSP backends


def uid_key(uid: str) -> str:
    """Index key of an RFID UID: OICP spelling (separators removed, upper case, oicp-2.3.md §4.1)."""
    return "UID:" + normalize_uid(uid)


def contract_key(contract_id: str) -> str:
    """Index key of a contract id / EvcoID, compared without separators (oicp-2.3.md §8 point 11)."""
    return "EVCO:" + canonical_id(contract_id)


def token_keys(token: Mapping[str, Any]) -> list[str]:
    """The index keys of a stored Token: its UID (RFID tokens) and its contract id."""
    keys: list[str] = []
    uid, contract_id = token.get("uid"), token.get("contract_id")
    if token.get("type") == v221.TokenType.RFID.value and isinstance(uid, str):
        keys.append(uid_key(uid))
    if isinstance(contract_id, str):
        keys.append(contract_key(contract_id))
    return keys


def identification_key(identification: Identification) -> str | None:
    """The index key an OICP Identification is looked up under (its UID, else its EvcoID)."""
    if identification.uid is not None:
        return uid_key(identification.uid)
    if identification.evco_id is not None:
        return contract_key(identification.evco_id)
    return None


@dataclass(frozen=True, slots=True)
class TokenRef:
    """A Token an eMSP backend pushed: its store key, the partner and the model."""

    owner: Owner
    object_id: str
    partner: str
    token: v221.Token

    @property
    def key(self) -> list[str]:
        return [self.owner[0], self.owner[1], self.object_id]

    def cdr_token(self) -> v221.CdrToken:
        t = self.token
        return v221.CdrToken(
            country_code=t.country_code,
            party_id=t.party_id,
            uid=t.uid,
            type=t.type,
            contract_id=t.contract_id,
        )


class TokenIndex:
    """The in-memory index of the eMSP backends' tokens: key (:func:`uid_key`,
    :func:`contract_key`) → the store keys of the tokens with it.

    oicp-2.3.md §2.4 and §8 point 13: Hubject broadcasts every RFID AuthorizeStart to every EMP;
    UIDs that are not the eMSP's are answered NotAuthorized from this index without touching the
    store or the eMSP. It is filled from the store at start (:meth:`rebuild`), kept current by an
    ObjectService listener (:meth:`listener`, inside the write's transaction) and rebuilt every
    ``token_index_refresh`` seconds for tokens written by another gateway instance. Tokens are
    never deleted in OCPI (``valid=false`` instead), so entries are only added between rebuilds;
    the store stays the truth (an entry whose token is gone is simply not found there).
    """

    def __init__(self, partners: Iterable[str]) -> None:
        self.partners = set(partners)
        self._keys: dict[str, set[tuple[str, str, str]]] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, owner: Owner, object_id: str, data: Mapping[str, Any]) -> None:
        entry = (owner[0], owner[1], object_id)
        for key in token_keys(data):
            self._keys.setdefault(key, set()).add(entry)

    def get(self, key: str) -> list[tuple[str, str, str]]:
        return sorted(self._keys.get(key, ()))

    async def listener(self, data: DataApi, change: Any) -> None:
        if change.kind.name != TOKENS.name or change.after is None or change.partner not in self.partners:
            return
        self.add(change.owner, change.object_id, change.after)

    async def rebuild(self, data: DataApi) -> int:
        """Read every token of the eMSP backends from the store; return how many keys there are."""
        keys: dict[str, set[tuple[str, str, str]]] = {}
        for partner in sorted(self.partners):
            offset = 0
            while True:
                page, _ = await data.list_objects(TOKENS.name, partner=partner, offset=offset, limit=1000)
                for stored in page:
                    for key in token_keys(stored.data):
                        keys.setdefault(key, set()).add(
                            (stored.country_code, stored.party_id, stored.object_id)
                        )
                if len(page) < 1000:
                    break
                offset += len(page)
        self._keys = keys
        return len(keys)


async def find_token(data: DataApi, index: TokenIndex, identification: Identification) -> TokenRef | None:
    """The eMSP backends' Token an OICP Identification names, or None.

    Looked up in the index (UID for RFID members, else the EvcoID); an EvcoID the index does not
    know yet (a token written through another gateway instance) is also looked up in the store's
    contract-id index (``bridge.ocpi.server.tokens.CONTRACT_INDEX``). UIDs are not: RFID requests
    are broadcast and unknown UIDs must not cost a store read. Among several tokens a valid one
    wins, then RFID, then the first stored.
    """
    key = identification_key(identification)
    if key is None:
        return None
    entries = index.get(key)
    if not entries and identification.uid is None and identification.evco_id is not None:
        known = await data.get_correlation(CONTRACT_INDEX, identification.evco_id.upper())
        entries = (
            [(str(e[0]), str(e[1]), str(e[2])) for e in (known.data or {}).get("tokens", [])] if known else []
        )
    found: list[tuple[int, int, TokenRef]] = []
    for cc, pid, object_id in entries:
        stored = await data.get_object(TOKENS.name, cc, pid, object_id)
        if stored is None or stored.partner not in index.partners:
            continue
        token = v221.Token.model_validate(stored.data)
        ref = TokenRef((stored.country_code, stored.party_id), stored.object_id, stored.partner, token)
        found.append((0 if token.valid else 1, 0 if token.type is v221.TokenType.RFID else 1, ref))
    if not found:
        return None
    found.sort(key=lambda item: item[:2])
    return found[0][2]


async def token_of_link(data: DataApi, link: SessionLink) -> TokenRef | None:
    """The stored Token a link names, or None."""
    if not link.token or link.partner is None:
        return None
    cc, pid, object_id = link.token
    stored = await data.get_object(TOKENS.name, cc, pid, object_id)
    if stored is None:
        return None
    token = v221.Token.model_validate(stored.data)
    return TokenRef((stored.country_code, stored.party_id), stored.object_id, link.partner, token)


# --------------------------------------------------------------------------------------------
# Sessions: store and queue for the eMSP


def session_patch(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """The top-level fields that changed (OCPI 2.2.1 PATCH: only what changed, ``last_updated``
    always). ``charging_periods`` are sent only when periods were added, and only the new ones
    (a PATCH appends them, ocpi#325)."""
    patch: dict[str, Any] = {}
    for key, value in after.items():
        if before.get(key) == value:
            continue
        if key == "charging_periods":
            old = before.get(key) or []
            new = value or []
            if new[: len(old)] == old and len(new) > len(old):
                patch[key] = new[len(old) :]
            continue
        patch[key] = value
    patch["last_updated"] = after["last_updated"]
    return patch


async def save_session_and_queue(
    gateway: Gateway, tx: DataApi, session: v221.Session, partner: str | None
) -> bool:
    """Store ``session`` (ObjectService, kind ``sessions``, no partner: the gateway made it) and,
    when something changed, queue it for ``partner``'s Sessions Receiver in the same transaction:
    ``PUT`` for a new Session, ``PATCH`` of the changed fields afterwards, in order per Session
    (outbox order key). Returns whether something changed."""
    service = install_sessions(gateway)
    owner = (session.country_code, session.party_id)
    before = await service.get(SESSIONS, owner, session.id, tx=tx)
    result = await service.put(SESSIONS, owner, session.id, session, partner=None, tx=tx)
    if not result.changed or partner is None:
        return result.changed
    key = f"{owner[0]}/{owner[1]}/{session.id}".upper()
    if before is None:
        payload: dict[str, Any] = {"owner": list(owner), "id": session.id, "method": "PUT"}
    else:
        patch = session_patch(before.data, result.data)
        payload = {"owner": list(owner), "id": session.id, "method": "PATCH", "patch": patch}
    await tx.enqueue(partner, SESSION_KIND, payload, order_key=f"session:{key}")
    return True


async def stored_session(gateway: Gateway, tx: DataApi, link: SessionLink) -> v221.Session | None:
    if link.owner is None:
        return None
    stored = await install_sessions(gateway).get(SESSIONS, link.owner, link.session_id, tx=tx)
    return None if stored is None else v221.Session.model_validate(stored.data)


def cdr_token_of(link: SessionLink) -> v221.CdrToken | None:
    return None if link.cdr_token is None else v221.CdrToken.model_validate(link.cdr_token)


def with_reference(session: v221.Session, link: SessionLink) -> v221.Session:
    """The Session carrying the eMSP's authorization_reference when it gave one."""
    if link.authorization_reference and session.authorization_reference != link.authorization_reference:
        return session.model_copy(update={"authorization_reference": link.authorization_reference})
    return session


def fallback_owner(evse_id: str) -> Owner | None:
    """The OCPI party of an EvseID's operator (``DE*ABC*E1`` → DE/ABC), for an EVSE the gateway
    has no Location of."""
    operator = evse_operator_id(evse_id)
    return operator_party(operator) if operator else None


async def place_link(gateway: Gateway, data: DataApi, link: SessionLink, evse_id: str) -> bool:
    """Fill the link's Location, EVSE and owner from the Hubject data (:func:`.emsp_lookup.find_evse`);
    without a Location the ids are derived from the EvseID (``mappings.ids.ocpi_id``/``evse_uid``,
    connector ``"1"``, owner = the operator's party, else the gateway's CPO party), so the Session
    can still be kept and sent. Returns whether the link changed."""
    if link.location_id is not None and link.owner is not None and link.evse_uid is not None:
        return False
    evse = await find_evse(gateway, data, evse_id)
    link.evse_id = link.evse_id or (evse.evse_id if evse else evse_id)
    if evse is not None:
        link.owner, link.location_id, link.evse_uid = evse.owner, evse.location_id, evse.evse_uid
        link.connector_id = link.connector_id or evse.connector_id
        return True
    log.info("EvseID %s has no Location in the Hubject data: its session uses ids derived from it", evse_id)
    owner = link.owner or fallback_owner(evse_id)
    if owner is None:
        ours = gateway.config.ocpi.parties_with_role("CPO") or gateway.config.ocpi.parties
        owner = (ours[0].country_code, ours[0].party_id)
    link.owner = owner
    link.location_id = link.location_id or ocpi_id(evse_id)
    link.evse_uid = link.evse_uid or evse_uid_of(evse_id)
    link.connector_id = link.connector_id or "1"
    return True


__all__ = [
    "AUTH_DATA_KIND",
    "CDR_KIND",
    "CDR_RECEIVED",
    "COMMAND_RESULT_KIND",
    "HUBJECT_TARGET",
    "RESERVATION_LINK",
    "SESSION_KIND",
    "SESSION_LINK",
    "SETTINGS_SERVICE",
    "TOKEN_INDEX_SERVICE",
    "UNRESOLVED_TARGET",
    "EmspSettings",
    "Origin",
    "Owner",
    "SessionLink",
    "TokenIndex",
    "TokenRef",
    "cdr_token_of",
    "contract_key",
    "emsp_partners",
    "fallback_owner",
    "find_token",
    "get_link",
    "identification_key",
    "notify",
    "now_utc",
    "place_link",
    "put_link",
    "rules_for",
    "save_session_and_queue",
    "session_patch",
    "settings_of",
    "stored_session",
    "token_keys",
    "token_of_link",
    "uid_key",
    "with_reference",
]
