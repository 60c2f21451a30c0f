"""Hubject's authorization requests for the eMSP's tokens (issue 6 item 5; docs/emsp-charging.md).

:class:`EmspAuthorizationHandler` is the gateway's
:class:`~bridge.oicp.handlers.EmpAuthorizationHandler` (``services["oicp.emp_authorization"]``):
Hubject → EMP AuthorizeStart/AuthorizeStop (oicp-2.3.md §2.4) for RFID, QR code, Plug and Charge
and remote identifications.

* **Broadcast load** (oicp-2.3.md §2.4, §8 point 13): Hubject sends every RFID AuthorizeStart to
  every contracted EMP. A UID that is not one of the eMSP backends' tokens is answered
  NotAuthorized **102** at once from the in-memory :class:`~.emsp_charging_state.TokenIndex`,
  without reading the store or calling the eMSP. An unknown EvcoID (QR, PnC, remote) gets
  ``tokens.unknown_token`` (default **210**).
* **Known tokens** (docs/mapping.md §3.7; OCPI 2.2.1 mod_tokens WhitelistType): ALWAYS and ALLOWED
  are answered from the token the eMSP pushed (``valid`` → ALLOWED, else BLOCKED); NEVER and
  ALLOWED_OFFLINE ask the eMSP's real-time authorization ``POST {tokens}/{uid}/authorize?type=``
  with the LocationReferences of the EvseID (``EmspSettings.realtime_authorization = "always"``
  asks for every token). The call gets ``EmspSettings.realtime_deadline`` seconds, at most the
  route's ``OicpDeadlines.authorize`` minus a margin, no retries inside it. An eMSP that answers
  404/2004 → ``tokens.unknown_token``; one that does not answer in time, cannot be reached or
  answers an error → NotAuthorized **310** "Partner did not respond" (Hubject counts a late EMP as
  NotAuthorized anyway, §1.5), except ALLOWED_OFFLINE tokens, which are then answered from the
  token (the whitelist allows it exactly when the eMSP cannot be reached).
* The answer is ``mappings.tokens.authorization_to_oicp``: ``tokens.allowed_to_oicp``, ProviderID
  (``hubject.provider_id``) and AuthorizationStopIdentifications in positive answers. An
  authorized AuthorizeStart is remembered (:class:`~.emsp_charging_state.SessionLink`: SessionID ⇄
  token, eMSP partner, EVSE, the eMSP's ``authorization_reference``) for the notifications and the
  CDR of that session.
* **AuthorizeStop**: unknown media as above; a known valid token → Authorized (the session is
  stopped with the medium that started it, §8 point 13), else NotAuthorized per ``allowed_to_oicp``.
* **Offline authorization** (``EmspSettings.push_authentication_data``): the eMSP's valid RFID
  tokens whitelisted ALWAYS/ALLOWED are pushed to Hubject with PushAuthenticationData
  ``fullLoad`` (RFIDMifareFamilyIdentification: a UID only, so no EvcoID can mismatch the
  ProviderID, §2.3 code 019). A token change queues one fullLoad per *epoch* in the token write's
  transaction (a burst of token PUTs gives one push); :func:`request_full_load` queues one on demand.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import TYPE_CHECKING, Any, Final

from pydantic import ValidationError

from bridge.delivery import Outcome, outcome_from_error
from bridge.errors import MappingError, PartnerError
from bridge.flows.cpo_commands import oicp_client
from bridge.flows.emsp_charging_state import (
    AUTH_DATA_KIND,
    HUBJECT_TARGET,
    SessionLink,
    TokenIndex,
    TokenRef,
    fallback_owner,
    find_token,
    get_link,
    identification_key,
    notify,
    put_link,
    rules_for,
    settings_of,
    token_keys,
)
from bridge.flows.emsp_lookup import HubjectEvse, find_evse
from bridge.ocpi.client import PartyRef, clients_of
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.models.common import to_jsonable
from bridge.ocpi.server.tokens import TOKENS
from bridge.oicp.handlers import SERVICE_DEADLINES, OicpDeadlines
from bridge.oicp.models import (
    ActionType,
    AuthenticationDataRecord,
    AuthorizationStart,
    AuthorizationStatus,
    AuthorizationStop,
    AuthorizeStart,
    AuthorizeStop,
    Identification,
    OicpEgressError,
    ProviderAuthenticationData,
    PushAuthenticationData,
    StatusCode,
    StatusCodeEnum,
)
from mappings.ocpi_versions import authorization_info_up, location_references_down
from mappings.tokens import authorization_to_oicp, token_to_identification

if TYPE_CHECKING:
    from bridge.context import Gateway
    from bridge.ocpi.server.objects import ObjectChange
    from bridge.store.base import DataApi, OutboxMessage
    from mappings.rules import MappingRules

log = logging.getLogger("bridge.flows.emsp_charging")

DEADLINE_MARGIN: Final = 0.25
"""Seconds kept from the route's deadline for our own answer (``OicpDeadlines.authorize``)."""
AUTH_LOCK: Final = "emsp.authentication_data.lock"
AUTH_STATE: Final = "emsp.authentication_data"
_REALTIME = (v221.WhitelistType.NEVER, v221.WhitelistType.ALLOWED_OFFLINE)
_PUSHED = (v221.WhitelistType.ALWAYS.value, v221.WhitelistType.ALLOWED.value)


class RealtimeFailure(Exception):
    """The eMSP gave no usable real-time answer (timeout, unreachable, an error)."""


def local_decision(token: v221.Token) -> v221.AuthorizationInfo:
    """The answer from the token the eMSP pushed: ``valid`` → ALLOWED, else BLOCKED (OCPI 2.2.1
    mod_tokens: the whitelist says whether to ask, the answer is the token's state)."""
    if token.valid:
        return v221.AuthorizationInfo(allowed=v221.AllowedType.ALLOWED, token=token)
    return v221.AuthorizationInfo(
        allowed=v221.AllowedType.BLOCKED,
        token=token,
        info=v221.DisplayText(language="en", text="This token is no longer valid"),
    )


class EmspAuthorizationHandler:
    """Answers Hubject's AuthorizeStart/Stop for the eMSP backends' tokens (module docstring)."""

    def __init__(self, gateway: Gateway, index: TokenIndex) -> None:
        self.gateway = gateway
        self.index = index

    @property
    def provider_id(self) -> str:
        provider = self.gateway.config.hubject.provider_id
        assert provider is not None, "the eMSP flow runs only with hubject.provider_id"
        return provider

    def deadline(self) -> float:
        """Seconds the eMSP's real-time authorization may take (see the module docstring)."""
        deadlines = self.gateway.services.get(SERVICE_DEADLINES)
        if not isinstance(deadlines, OicpDeadlines):
            deadlines = OicpDeadlines()
        route = max(deadlines.authorize - DEADLINE_MARGIN, deadlines.authorize / 2)
        return min(settings_of(self.gateway).realtime_deadline, route)

    def _default_rules(self, operator_id: str) -> MappingRules:
        return rules_for(self.gateway, partner=None, operator_id=operator_id)

    @staticmethod
    def _unknown_code(identification: Identification, rules: MappingRules) -> str:
        if identification.uid is not None:
            return StatusCodeEnum.RFID_AUTHENTICATION_FAILED_INVALID_UID.value
        return rules.tokens.unknown_token.code

    async def _lookup(
        self, identification: Identification, evse_id: str | None
    ) -> tuple[TokenRef | None, HubjectEvse | None]:
        async with self.gateway.store.transaction() as tx:
            ref = await find_token(tx, self.index, identification)
            evse = await find_evse(self.gateway, tx, evse_id) if ref is not None and evse_id else None
        return ref, evse

    def _known(self, identification: Identification) -> bool:
        """False only for a UID the index does not hold (the broadcast fast path); EvcoIDs are
        routed to this EMP by Hubject and may be looked up in the store (:func:`find_token`)."""
        key = identification_key(identification)
        if key is None:
            return False
        return identification.uid is None or bool(self.index.get(key))

    # ---- AuthorizeStart ---------------------------------------------------------------------

    async def authorize_start(self, request: AuthorizeStart, *, operator_id: str) -> AuthorizationStart:
        """AuthorizeStart (oicp-2.3.md §2.4): see the module docstring."""
        identification = request.identification
        echo = {
            "session_id": request.session_id,
            "cpo_partner_session_id": request.cpo_partner_session_id,
            "emp_partner_session_id": request.emp_partner_session_id,
        }
        if not self._known(identification):
            return self._refused(self._unknown_code(identification, self._default_rules(operator_id)), echo)
        ref, evse = await self._lookup(identification, request.evse_id)
        if ref is None:
            return self._refused(self._unknown_code(identification, self._default_rules(operator_id)), echo)
        rules = rules_for(
            self.gateway,
            partner=ref.partner,
            owner=evse.owner if evse else None,
            location_id=evse.location_id if evse else None,
            operator_id=operator_id,
        )
        info: v221.AuthorizationInfo | None
        if settings_of(self.gateway).realtime_authorization == "always" or ref.token.whitelist in _REALTIME:
            try:
                info = await self._ask(ref, evse)
            except RealtimeFailure as failure:
                if ref.token.whitelist is not v221.WhitelistType.ALLOWED_OFFLINE:
                    log.info(
                        "AuthorizeStart %s: real-time authorization failed: %s", request.session_id, failure
                    )
                    return self._refused(StatusCodeEnum.PARTNER_DID_NOT_RESPOND.value, echo, str(failure))
                info = local_decision(ref.token)
        else:
            info = local_decision(ref.token)
        answer = authorization_to_oicp(
            info,
            rules,
            identification=identification,
            provider_id=self.provider_id,
            session_id=request.session_id,
            cpo_partner_session_id=request.cpo_partner_session_id,
            emp_partner_session_id=request.emp_partner_session_id,
        ).value
        if answer.authorization_status is AuthorizationStatus.AUTHORIZED and request.session_id:
            await self._remember(request, ref, evse, info)
        return answer

    def _refused(self, code: str, echo: dict[str, Any], info: str | None = None) -> AuthorizationStart:
        return AuthorizationStart(
            authorization_status=AuthorizationStatus.NOT_AUTHORIZED,
            status_code=StatusCode.of(code, info[:1000] if info else None),
            **echo,
        )

    async def _remember(
        self,
        request: AuthorizeStart,
        ref: TokenRef,
        evse: HubjectEvse | None,
        info: v221.AuthorizationInfo | None,
    ) -> None:
        """SessionID ⇄ token, for the notifications and the CDR (oicp-2.3.md §8 point 1)."""
        assert request.session_id is not None
        evse_id = evse.evse_id if evse else request.evse_id
        link = SessionLink(
            session_id=request.session_id,
            origin="authorize",
            partner=ref.partner,
            owner=evse.owner if evse else (fallback_owner(evse_id) if evse_id else None),
            evse_id=evse_id,
            location_id=evse.location_id if evse else None,
            evse_uid=evse.evse_uid if evse else None,
            connector_id=evse.connector_id if evse else None,
            token=ref.key,
            cdr_token=to_jsonable(ref.cdr_token()),
            authorization_reference=info.authorization_reference if info is not None else None,
        )
        async with self.gateway.store.transaction() as tx:
            if await get_link(tx, request.session_id) is None:
                await put_link(tx, link)

    async def _ask(self, ref: TokenRef, evse: HubjectEvse | None) -> v221.AuthorizationInfo | None:
        """The eMSP's real-time authorization (OCPI 2.2.1 mod_tokens), within :meth:`deadline`;
        None when it does not know the token (HTTP 404 / 2004, ocpi#417)."""
        partner = await self.gateway.store.get_partner(ref.partner)
        if partner is None or partner.token_out is None or partner.status != "registered":
            raise RealtimeFailure(f"the eMSP {ref.partner} is not registered")
        client = clients_of(self.gateway).for_partner(
            partner, from_party=PartyRef(*evse.owner) if evse is not None else None
        )
        token = ref.token
        location = (
            v221.LocationReferences(location_id=evse.location_id, evse_uids=[evse.evse_uid]) if evse else None
        )
        old = partner.version == "2.1.1"
        body: Any = None
        if location is not None:
            body = location_references_down(location).value if old else location
        token_type = token.type.value
        if old and token_type not in (v211.TokenType.RFID.value, v211.TokenType.OTHER.value):
            token_type = v211.TokenType.OTHER.value
        seconds = self.deadline()
        try:
            async with asyncio.timeout(seconds):
                reply = await client.post(
                    "tokens",
                    token.uid,
                    "authorize",
                    body=body,
                    params={"type": token_type},
                    role=None if old else "SENDER",
                )
        except TimeoutError:
            raise RealtimeFailure(f"the eMSP did not answer within {seconds:g} s") from None
        except PartnerError as error:
            if error.http_status == 404 or error.code == 2004:
                return None
            raise RealtimeFailure(f"the eMSP answered with an error: {error}") from None
        try:
            if old:
                return authorization_info_up(reply.parse(v211.AuthorizationInfo), token=token).value
            info = reply.parse(v221.AuthorizationInfo)
        except (PartnerError, MappingError) as error:
            raise RealtimeFailure(f"the eMSP's answer is not an AuthorizationInfo: {error}") from None
        return info

    # ---- AuthorizeStop ----------------------------------------------------------------------

    async def authorize_stop(self, request: AuthorizeStop, *, operator_id: str) -> AuthorizationStop:
        """AuthorizeStop (oicp-2.3.md §2.4): a known valid token may stop; unknown media are
        refused at once like AuthorizeStart."""
        identification = request.identification
        echo = {
            "session_id": request.session_id,
            "cpo_partner_session_id": request.cpo_partner_session_id,
            "emp_partner_session_id": request.emp_partner_session_id,
        }
        rules = self._default_rules(operator_id)
        ref = None
        if self._known(identification):
            ref, _ = await self._lookup(identification, None)
        if ref is None:
            code = self._unknown_code(identification, rules)
            return AuthorizationStop(
                authorization_status=AuthorizationStatus.NOT_AUTHORIZED,
                status_code=StatusCode.of(code),
                **echo,
            )
        if ref.token.valid:
            return AuthorizationStop(
                provider_id=self.provider_id,
                authorization_status=AuthorizationStatus.AUTHORIZED,
                status_code=StatusCode.of(StatusCodeEnum.SUCCESS),
                **echo,
            )
        blocked = rules.tokens.allowed_to_oicp["BLOCKED"]
        return AuthorizationStop(
            authorization_status=AuthorizationStatus(blocked.status),
            status_code=StatusCode.of(blocked.code, "This token is no longer valid"),
            **echo,
        )


# --------------------------------------------------------------------------------------------
# PushAuthenticationData (offline authorization)


def pushed(data: dict[str, Any] | None) -> bool:
    """Whether a stored Token belongs in Hubject's offline data: a valid RFID token whitelisted
    ALWAYS or ALLOWED (ALLOWED_OFFLINE and NEVER need the eMSP's real-time answer)."""
    return (
        data is not None
        and data.get("valid") is True
        and data.get("whitelist") in _PUSHED
        and data.get("type") == v221.TokenType.RFID.value
    )


async def queue_authentication_data(data: DataApi, *, on_demand: bool = False) -> int | None:
    """Queue a PushAuthenticationData fullLoad: at most one per epoch (the sender starts a new
    epoch before reading the tokens), or a separate one ``on_demand``. The lock row serializes
    this with the sender's epoch change, so no token write is left out of every push."""
    await data.next_sequence(AUTH_LOCK)
    state = await data.get_state(AUTH_STATE) or {}
    epoch = int(state.get("epoch", 0))
    key = f"on-demand:{uuid.uuid4().hex}" if on_demand else f"epoch:{epoch}"
    return await data.enqueue(
        HUBJECT_TARGET, AUTH_DATA_KIND, {"epoch": epoch}, key=key, order_key=AUTH_DATA_KIND
    )


def authentication_data_listener(partners: set[str]) -> Any:
    """The ObjectService listener queueing a fullLoad when a token enters or leaves the pushed set."""

    async def listener(data: DataApi, change: ObjectChange) -> None:
        if change.kind.name != TOKENS.name or change.partner not in partners:
            return
        before, after = change.before, change.after
        if not (pushed(before) or pushed(after)):
            return
        if pushed(before) == pushed(after) and before is not None and after is not None:
            if token_keys(before) == token_keys(after):
                return
        await queue_authentication_data(data)

    return listener


async def request_full_load(gateway: Gateway) -> int | None:
    """Queue a PushAuthenticationData fullLoad now (operators, after restoring Hubject's data)."""
    async with gateway.store.transaction() as tx:
        queued = await queue_authentication_data(tx, on_demand=True)
    notify(gateway)
    return queued


async def authentication_records(gateway: Gateway, partners: list[str]) -> list[AuthenticationDataRecord]:
    """The offline records of every pushed token (one per UID)."""
    records: dict[str, AuthenticationDataRecord] = {}
    for partner in partners:
        rules = rules_for(gateway, partner=partner)
        offset = 0
        while True:
            page, _ = await gateway.store.list_objects(
                TOKENS.name, partner=partner, offset=offset, limit=1000
            )
            for stored in page:
                if not pushed(stored.data):
                    continue
                try:
                    token = v221.Token.model_validate(stored.data)
                    identification = token_to_identification(token, rules).value
                except (MappingError, ValidationError) as error:
                    log.info(
                        "token %s/%s not pushed to Hubject: %s", stored.country_code, stored.party_id, error
                    )
                    continue
                key = identification_key(identification)
                if key is not None:
                    records.setdefault(key, AuthenticationDataRecord(identification=identification))
            if len(page) < 1000:
                break
            offset += len(page)
    return list(records.values())


def authentication_data_sender(gateway: Gateway, partners: list[str]) -> Any:
    """The outbox sender of :data:`AUTH_DATA_KIND`: a new epoch, then the fullLoad of the tokens."""

    async def send(message: OutboxMessage) -> Outcome:
        async with gateway.store.transaction() as tx:
            await tx.next_sequence(AUTH_LOCK)
            state = await tx.get_state(AUTH_STATE) or {}
            await tx.set_state(AUTH_STATE, {"epoch": int(state.get("epoch", 0)) + 1})
        provider = gateway.config.hubject.provider_id
        assert provider is not None
        body = PushAuthenticationData(
            action_type=ActionType.FULL_LOAD,
            provider_authentication_data=ProviderAuthenticationData(
                provider_id=provider,
                authentication_data_record=await authentication_records(gateway, partners),
            ),
        )
        try:
            ack = await oicp_client(gateway).push_authentication_data(body, retry=True)
        except OicpEgressError as error:
            return Outcome.dead(str(error))
        except PartnerError as error:
            return outcome_from_error(error)
        if ack.result:
            return Outcome.delivered()
        reason = f"Hubject answered {ack.status_code.code}: {ack.status_code.additional_info or ''}".strip()
        return (
            Outcome.dead(reason) if ack.status_code.code in ("017", "019", "022") else Outcome.retry(reason)
        )

    return send


__all__ = [
    "AUTH_LOCK",
    "AUTH_STATE",
    "EmspAuthorizationHandler",
    "RealtimeFailure",
    "authentication_data_listener",
    "authentication_data_sender",
    "authentication_records",
    "local_decision",
    "pushed",
    "queue_authentication_data",
    "request_full_load",
]
