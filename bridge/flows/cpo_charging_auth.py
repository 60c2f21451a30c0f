"""Real-time authorization for the CPO backend (part of :mod:`bridge.flows.cpo_charging`).

A CPO backend behind the gateway (the gateway is its eMSP) asks ``POST emsp/tokens/{uid}/authorize``
for a token it does not know (OCPI 2.2.1 mod_tokens "Real-time authorization"). The
:class:`CpoAuthorizationHandler` routes by token:

* **A token an OCPI eMSP peer pushed** (stored, owned by one of that peer's credentials roles):
  answered by the peer's own real-time authorization when the token's ``whitelist`` asks for it
  (``ALLOWED_OFFLINE``, ``NEVER``), else from the store (``ALWAYS``, ``ALLOWED``: OCPI lets the
  CPO decide from the token itself). Peer unreachable: ``ALLOWED_OFFLINE`` falls back to the store
  (the whitelist says so), ``NEVER`` is ``NOT_ALLOWED`` with an ``info`` text.
* **Any other stored token** (the gateway's own eMSP parties): the fallback handler (by default
  :class:`~bridge.ocpi.server.handlers.StoredTokensAuthorizer`).
* **An unknown token** while the gateway is an OICP CPO: Hubject ``AuthorizeStart``
  (oicp-2.3.md §2.1) with the Identification of the token (``mappings.tokens``), the EvseID of
  the EVSE the LocationReferences name (the stored Location) and the configured OperatorID. The
  answer is mapped with ``mappings.tokens.authorization_from_oicp`` (NotAuthorized → the YAML
  table's AllowedType); its ``authorization_reference`` is Hubject's SessionID, persisted with
  the token and EVSE (:func:`~bridge.flows.cpo_charging_state.register_hubject_session`), which
  also releases CDRs held for it. Hubject tokens are never pushed to the CPO (Token built with
  ``tokens.whitelist``, default NEVER), so every roaming session asks here and has a SessionID
  (oicp-2.3.md §8 point 1).

Rules kept:

* **AuthorizeStart is never retried** (each call creates a SessionID, oicp-2.3.md §1.5), and is
  bounded by ``deadline`` seconds: Hubject unreachable, erroring or late → ``NOT_ALLOWED`` with
  ``info``, answered in time (a SessionID Hubject may still issue after that gets no CDR and
  expires at Hubject).
* **Stop by the same medium** (mapping.md §3.6, oicp-2.3.md §8 point 13): when the token asks again
  at an EVSE where its own Hubject session is charging, it is a stop, not a new start: no second
  AuthorizeStart (an orphan SessionID). If Hubject's AuthorizeStart answer listed
  AuthorizationStopIdentifications and this medium is among them, the stop is allowed locally
  (that list exists so the CPO can decide); otherwise ``AuthorizeStop`` asks Hubject. The answer
  carries the running session's SessionID. A *different* token at a charging EVSE is treated as a
  new start (OCPI cannot tell a stop request from a start, and refusing a new driver because a
  COMPLETED update is late would be worse); the CPO decides locally who may stop its sessions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bridge.errors import MappingError, PartnerError
from bridge.flows.cpo_charging_state import (
    ACTIVE_EVSE,
    HubjectSession,
    emsp_peer_for,
    evse_id_of,
    evse_key,
    get_hubject_session,
    location_of,
    party_matches,
    register_hubject_session,
    split_key,
)
from bridge.ocpi.client import PartyRef, clients_of
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.server.common import our_party_facing
from bridge.ocpi.server.handlers import AuthorizationHandler, AuthorizationRequest
from bridge.ocpi.server.objects import object_service
from bridge.ocpi.server.tokens import TOKENS, own_emsp_parties, token_object_id
from bridge.ocpi.server.tokens import install as install_tokens
from bridge.oicp.models import (
    AuthorizationStatus,
    AuthorizeStop,
    Identification,
    OicpEgressError,
    to_jsonable,
)
from mappings.ids import is_evse_id
from mappings.ocpi_versions import authorization_info_up, location_references_down
from mappings.tokens import (
    authorization_from_oicp,
    authorize_start_from_token,
    member_name,
    token_to_identification,
)

if TYPE_CHECKING:
    from bridge.context import Gateway
    from bridge.oicp.client import OicpClient
    from bridge.store.base import PartnerRecord, StoredObject
    from mappings.rules import MappingRules

log = logging.getLogger("bridge.flows.cpo_charging")

DEFAULT_DEADLINE = 10.0
"""Seconds within which an authorization is answered (the CPO's driver is waiting at the charge
point; oicp-2.3.md §1.5 recommends < 10 s for the comparable remote start). The installed handler
gets ``cpo.authorization_deadline`` from the configuration, whose default this is."""


def refused(token: v221.Token, location: v221.LocationReferences | None, text: str) -> v221.AuthorizationInfo:
    """NOT_ALLOWED with an explanation for the driver (OCPI AuthorizationInfo.info, ≤ 512)."""
    return v221.AuthorizationInfo(
        allowed=v221.AllowedType.NOT_ALLOWED,
        token=token,
        location=location,
        info=v221.DisplayText(language="en", text=text[:512]),
    )


def identification_key(identification: dict[str, Any] | Identification | None) -> tuple[str, str] | None:
    """(member, UID or EvcoID compared without separators): whether two identifications are the
    same medium."""
    if identification is None:
        return None
    if not isinstance(identification, Identification):
        identification = Identification.model_validate(identification)
    value = identification.uid or identification.evco_id or ""
    return member_name(identification), value.replace("*", "").replace("-", "").upper()


class CpoAuthorizationHandler:
    """The ``gateway.services["authorization_handler"]`` of the CPO-side flow (module docstring).

    ``hubject`` is None when the gateway is no OICP CPO; ``fallback`` answers the tokens of the
    gateway's own eMSP parties; ``on_released`` is called after held CDRs were released (wakes the
    outbox delivery).
    """

    def __init__(
        self,
        gateway: Gateway,
        *,
        hubject: OicpClient | None,
        fallback: AuthorizationHandler,
        deadline: float = DEFAULT_DEADLINE,
        on_released: Callable[[], None] | None = None,
    ) -> None:
        self.gateway = gateway
        self.hubject = hubject
        self.fallback = fallback
        self.deadline = deadline
        self.on_released = on_released

    # ---- routing ------------------------------------------------------------------------------

    async def authorize(self, request: AuthorizationRequest) -> v221.AuthorizationInfo | None:
        """OCPI 2.2.1 mod_tokens real-time authorization, routed by token (module docstring)."""
        service = install_tokens(self.gateway)
        stored = await service.find(
            TOKENS,
            token_object_id(request.token_uid, request.token_type),
            exclude=request.requester_parties,
            prefer=own_emsp_parties(self.gateway.config),
        )
        if stored is not None:
            peer = await self._peer_of(stored)
            if peer is not None:
                return await self._ask_peer(peer, v221.Token.model_validate(stored.data), request)
            return await self.fallback.authorize(request)
        if self.hubject is None:
            return await self.fallback.authorize(request)
        return await self._ask_hubject(request, self.hubject)

    async def _peer_of(self, stored: StoredObject) -> PartnerRecord | None:
        """The eMSP peer that issued a stored token: the partner that pushed it, when that
        partner's credentials roles own it; else any eMSP partner owning that party."""
        owner = (stored.country_code, stored.party_id)
        own = own_emsp_parties(self.gateway.config)
        store = self.gateway.store
        if stored.partner is not None:
            partner = await store.get_partner(stored.partner)
            if partner is not None and partner.role == "EMSP" and party_matches(partner.roles, owner):
                return partner
        async with store.transaction() as tx:
            return await emsp_peer_for(tx, owner, own=own)

    # ---- OCPI eMSP peers --------------------------------------------------------------------

    async def _ask_peer(
        self, peer: PartnerRecord, token: v221.Token, request: AuthorizationRequest
    ) -> v221.AuthorizationInfo | None:
        """OCPI 2.2.1 mod_tokens WhitelistType: ALWAYS/ALLOWED need no real-time request (answered
        from the stored token); ALLOWED_OFFLINE/NEVER ask the issuing eMSP."""
        if token.whitelist in (v221.WhitelistType.ALWAYS, v221.WhitelistType.ALLOWED):
            return self._from_token(token, request.location)
        try:
            async with asyncio.timeout(self.deadline):
                return await self._peer_authorize(peer, token, request.location)
        except PartnerError as error:
            if error.code in (2004, "2004") or error.http_status == 404:
                log.info("eMSP %s does not know token %s: unknown token", peer.name, _shown(token.uid))
                return None
            reason = f"eMSP {peer.name} answered with an error ({error})"
        except TimeoutError:
            reason = f"eMSP {peer.name} did not answer within {self.deadline:g} s"
        log.warning("real-time authorization of a %s token: %s", peer.name, reason)
        if token.whitelist is v221.WhitelistType.ALLOWED_OFFLINE:
            return self._from_token(token, request.location)
        return refused(
            token, request.location, f"The card issuer could not be reached; please try again ({reason})"
        )

    def _from_token(
        self, token: v221.Token, location: v221.LocationReferences | None
    ) -> v221.AuthorizationInfo:
        """The stored token's own state: valid → ALLOWED, else BLOCKED (as the default authorizer)."""
        if token.valid:
            return v221.AuthorizationInfo(allowed=v221.AllowedType.ALLOWED, token=token, location=location)
        return v221.AuthorizationInfo(
            allowed=v221.AllowedType.BLOCKED,
            token=token,
            location=location,
            info=v221.DisplayText(language="en", text="This token is no longer valid"),
        )

    async def _peer_authorize(
        self, peer: PartnerRecord, token: v221.Token, location: v221.LocationReferences | None
    ) -> v221.AuthorizationInfo:
        """``POST {tokens}/{uid}/authorize?type=`` on the peer's Tokens Sender interface (either
        version; a 2.1.1 answer is converted up with the token asked about, ocpi.md §5)."""
        client = clients_of(self.gateway).for_partner(
            peer, to_party=PartyRef(token.country_code, token.party_id)
        )
        version = peer.version or "2.2.1"
        body: Any = None
        if location is not None:
            body = location_references_down(location).value if version == "2.1.1" else location
        reply = await client.post(
            "tokens", token.uid, "authorize", body=body, role="SENDER", params={"type": token.type.value}
        )
        if version == "2.1.1":
            return authorization_info_up(reply.parse(v211.AuthorizationInfo), token=token).value
        return reply.parse(v221.AuthorizationInfo)

    # ---- Hubject ------------------------------------------------------------------------------

    def _rules(
        self, request: AuthorizationRequest, owner: tuple[str, str] | None, location_id: str | None
    ) -> MappingRules:
        return object_service(self.gateway).rules.resolve(
            operator_id=self.gateway.config.hubject.operator_id,
            partner=request.partner,
            location_id=location_id,
            country_code=owner[0] if owner else None,
            party_id=owner[1] if owner else None,
        )

    async def _where(self, request: AuthorizationRequest) -> tuple[tuple[str, str] | None, str | None]:
        """(owner of the named Location, EvseID) from the LocationReferences: the EVSE named when
        exactly one is, else the Location's only EVSE (EvseID is optional but recommended)."""
        if request.location is None:
            return None, None
        parties = list(request.requester_parties) or ([request.party] if request.party else [])
        async with self.gateway.store.transaction() as tx:
            for owner in parties:
                location = await location_of(tx, owner, request.location.location_id)
                if location is None:
                    continue
                uids = request.location.evse_uids or []
                if len(uids) == 1:
                    return owner, evse_id_of(location, uids[0])
                if not uids and len(location.evses or []) == 1:
                    return owner, evse_id_of(location, (location.evses or [])[0].uid)
                return owner, None
        return (parties[0] if parties else None), None

    def _hubject_token(
        self, request: AuthorizationRequest, rules: MappingRules, now: datetime
    ) -> v221.Token | None:
        """The OCPI Token answered for a Hubject identification: owned by the gateway's eMSP party
        facing the CPO (the gateway is the eMSP the CPO backend sees), issuer and whitelist from
        ``tokens.issuer``/``tokens.whitelist`` (NEVER: real-time authorization every time)."""
        ours = our_party_facing(self.gateway.config, "CPO")
        if ours is None:
            return None
        return v221.Token(
            country_code=ours.country_code,
            party_id=ours.party_id,
            uid=request.token_uid,
            type=request.token_type,
            contract_id=request.token_uid,
            issuer=rules.tokens.issuer,
            valid=True,
            whitelist=v221.WhitelistType(rules.tokens.whitelist),
            last_updated=now,
        )

    async def _ask_hubject(
        self, request: AuthorizationRequest, hubject: OicpClient
    ) -> v221.AuthorizationInfo | None:
        now = datetime.now(UTC)
        owner, evse_id = await self._where(request)
        location_id = request.location.location_id if request.location else None
        rules = self._rules(request, owner, location_id)
        token = self._hubject_token(request, rules, now)
        if token is None:
            return None
        try:
            identification = token_to_identification(token, rules).value
        except MappingError as error:
            log.info(
                "token %s cannot be roamed through Hubject (%s): unknown token", _shown(token.uid), error
            )
            return None
        if evse_id is not None and not is_evse_id(evse_id):
            log.warning("EVSE %s has no OICP EvseID: AuthorizeStart sent without EvseID", evse_id)
            evse_id = None
        operator_id = self.gateway.config.hubject.operator_id
        assert operator_id is not None
        if evse_id is not None:
            stop = await self._stop(request, token, identification, evse_id, operator_id, rules, hubject)
            if stop is not None:
                return stop
        body = authorize_start_from_token(token, rules, operator_id=operator_id, evse_id=evse_id).value
        try:
            async with asyncio.timeout(self.deadline):
                answer = await hubject.authorize_start(body)
        except TimeoutError:
            return refused(
                token,
                request.location,
                f"Hubject did not answer within {self.deadline:g} s; please try again",
            )
        except OicpEgressError as error:
            log.warning("AuthorizeStart cannot be sent: %s", error)
            return refused(token, request.location, "This token cannot be authorized through Hubject")
        except PartnerError as error:
            log.warning("AuthorizeStart failed: %s", error)
            return refused(token, request.location, "Hubject could not be reached; please try again")
        info = authorization_from_oicp(answer, rules, token=token, location=request.location).value
        if info.allowed is not v221.AllowedType.ALLOWED:
            return info
        if answer.session_id is None:
            log.error(
                "Hubject authorized token %s without a SessionID: refused (cannot be billed)",
                _shown(token.uid),
            )
            return refused(token, request.location, "Hubject gave no session id; please try again")
        session = HubjectSession(
            session_id=answer.session_id,
            authorization_reference=answer.session_id,
            origin="authorize_start",
            token=_token_data(token),
            identification=to_jsonable(identification, strict=False),
            stop_identifications=None
            if answer.authorization_stop_identifications is None
            else [to_jsonable(i, strict=False) for i in answer.authorization_stop_identifications],
            location_id=location_id,
            evse_uids=list(request.location.evse_uids or []) if request.location else [],
            evse_id=evse_id,
            provider_id=answer.provider_id,
            created_at=now.isoformat(),
        )
        async with self.gateway.store.transaction() as tx:
            released = await register_hubject_session(tx, session)
        if released and self.on_released is not None:
            self.on_released()
        return info

    async def _stop(
        self,
        request: AuthorizationRequest,
        token: v221.Token,
        identification: Identification,
        evse_id: str,
        operator_id: str,
        rules: MappingRules,
        hubject: OicpClient,
    ) -> v221.AuthorizationInfo | None:
        """The same medium asking again at the EVSE its Hubject session charges at: a stop
        (module docstring). None when this is no such case (a new start)."""
        async with self.gateway.store.transaction() as tx:
            active = await tx.get_correlation(ACTIVE_EVSE, evse_key(evse_id))
            running = None if active is None else await get_hubject_session(tx, active.value)
            if running is None or running.ocpi_session is None:
                return None
            if identification_key(running.identification) != identification_key(identification):
                return None
            cc, pid, session_id = split_key(running.ocpi_session)
            stored = await tx.get_object("sessions", cc, pid, session_id)
        if stored is None or stored.data.get("status") != v221.SessionStatus.ACTIVE.value:
            return None
        allowed = v221.AuthorizationInfo(
            allowed=v221.AllowedType.ALLOWED,
            token=token,
            location=request.location,
            authorization_reference=running.authorization_reference,
        )
        if running.stop_identifications is not None:
            wanted = identification_key(identification)
            if any(identification_key(item) == wanted for item in running.stop_identifications):
                return allowed
            return refused(token, request.location, "This medium may not stop the running session")
        body = AuthorizeStop(
            session_id=running.session_id,
            operator_id=operator_id,
            evse_id=evse_id,
            identification=identification,
        )
        try:
            async with asyncio.timeout(self.deadline):
                answer = await hubject.authorize_stop(body)
        except (TimeoutError, PartnerError, OicpEgressError) as error:
            log.warning("AuthorizeStop for session %s failed: %s", running.session_id, error)
            return refused(token, request.location, "Hubject could not be reached to authorize the stop")
        if answer.authorization_status is AuthorizationStatus.AUTHORIZED:
            return allowed
        table = rules.tokens
        refusal = v221.AllowedType(
            table.allowed_from_oicp.get(answer.status_code.code, table.not_authorized_default)
        )
        text = answer.status_code.additional_info or answer.status_code.description or "Stop not authorized"
        return v221.AuthorizationInfo(
            allowed=refusal,
            token=token,
            location=request.location,
            authorization_reference=running.authorization_reference,
            info=v221.DisplayText(language="en", text=text[:512]),
        )


def _token_data(token: v221.Token) -> dict[str, Any]:
    return {
        "country_code": token.country_code,
        "party_id": token.party_id,
        "uid": token.uid,
        "type": token.type.value,
        "contract_id": token.contract_id,
    }


def _shown(uid: str) -> str:
    """A token uid for logs: its last 4 characters only (tokens are never logged)."""
    return "…" + uid[-4:] if len(uid) > 4 else "…"


__all__ = ["DEFAULT_DEADLINE", "CpoAuthorizationHandler", "identification_key", "refused"]
