"""The OCPI Tokens module (ocpi.md §4.5; owner: eMSP), both versions, through the object service.

URLs, relative to ``{public_url}/ocpi/{version}/``:

* ``cpo/tokens/{country_code}/{party_id}/{token_uid}[?type={TokenType}]``: the gateway as CPO
  **receives** Tokens from eMSP partners (Receiver interface): ``GET`` (the stored Token, in the
  caller's version), ``PUT`` (a full Token: 201 created, 200 replaced) and ``PATCH`` (a merge).
  There is no DELETE: an eMSP invalidates a Token with ``valid=false``.
* ``emsp/tokens``: the gateway as eMSP **serves** its Tokens (Sender interface): ``GET`` list,
  paginated (offset/limit capped at ``ocpi.page_limit``, ``X-Total-Count``, ``X-Limit``, ``Link``,
  ``date_from`` inclusive / ``date_to`` exclusive on ``last_updated``, creation order).
* ``emsp/tokens/{token_uid}/authorize[?type={TokenType}]``: real-time authorization, ``POST`` with
  an optional LocationReferences body, answered by the
  :class:`~bridge.ocpi.server.handlers.AuthorizationHandler`.

Rules and decisions:

* Token identity is (country_code, party_id, uid, **type**) (ocpi.md §8 point 12): tokens are stored
  under the object id ``"{TYPE}/{uid}"`` (:func:`token_object_id`), so two tokens with the same uid
  and different types coexist. ``?type=`` defaults to RFID on GET and PATCH (2.2.1). A PUT takes its
  type from the body when ``?type=`` is absent (the body carries the whole identity); a ``?type=``
  that differs from the body's is 2001 naming ``type``. 2.1.1 Receiver URLs have no ``type``: a
  2.1.1 GET/PATCH without it finds the token by uid, trying RFID, then OTHER.
* Ownership (ocpi.md §3.6): the URL country/party must be one of the caller's credentials roles,
  else 404; body country_code/party_id/uid differing from the URL is 2001 naming the field; a PATCH
  cannot change ``type`` (identity) — 2001.
* PATCH: 2.2.1 requires ``last_updated`` (2001, ocpi#355); 2.1.1 does not (stamped with the time of
  receipt). 2.1.1 Tokens are converted up (``auth_id`` → ``contract_id``, owner fields from the
  caller's credentials role) and down (APP_USER/AD_HOC_USER → OTHER; group_id,
  default_profile_type, energy_contract dropped).
* The Sender list serves every stored Token except the caller's own, like the other Sender
  interfaces of the object service: the Tokens the gateway's own eMSP parties issue (e.g. from the
  OICP side) and those eMSP partners pushed to it, which it relays to the CPOs behind it (whose
  Sessions and CDRs for those tokens it relays back, see the recipient index of
  :mod:`bridge.ocpi.server.sessions`).
* Real-time authorization: known tokens are HTTP 200 with AuthorizationInfo whatever ``allowed``
  (ocpi#528); an unknown token is HTTP 404 + 2004 without data (ocpi#417; 2.1.1 has no 2004: HTTP
  404 + 2000, ocpi.md §5). The 2.2.1 answer carries ``token`` and an ``authorization_reference``
  (generated when the handler sets none, and recorded under correlation kind
  ``"ocpi.authorization"`` so sessions and CDRs can be tied to it); the 2.1.1 answer is
  ``{allowed, location, info}``. A body that is not a valid LocationReferences is 2001; 2.1.1
  ``connector_ids`` are accepted and ignored.
* 2.2.1 responses carry the routing headers (ocpi.md §3.5); 2.1.1 ones do not.

A contract-id index (correlation ``("ocpi.tokens.by_contract_id", CONTRACT_ID)``) is kept by an
object-service listener, so that 2.1.1 Sessions and CDRs, which name the token by ``auth_id`` only,
find its uid and type (ocpi.md §5 Session). :func:`install` registers the listener; every route of
this module calls it, and flows that write Tokens must call it (or use :func:`save_token`) first.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bridge.context import gateway_of
from bridge.errors import InvalidParameters, NotFound, UnknownToken
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.models.common import to_json, to_jsonable
from bridge.ocpi.server.common import (
    PageParams,
    caller_parties,
    check_owner,
    check_same_id,
    check_same_identity,
    functional_caller,
    put_response,
    received_object,
    receiver_object_path,
    sender_list_route,
    serves_cpo_role,
    serves_emsp_role,
    stored_body,
    version_headers,
)
from bridge.ocpi.server.envelope import ocpi_response
from bridge.ocpi.server.handlers import AuthorizationRequest, authorization_handler
from bridge.ocpi.server.objects import (
    ConvertContext,
    ObjectChange,
    ObjectKind,
    ObjectService,
    Owner,
    PutResult,
    object_service,
    read_json_object,
)
from bridge.ocpi.server.registry import ModuleEndpoint
from mappings.ocpi_versions import authorization_info_down, location_references_up, token_down, token_up

if TYPE_CHECKING:
    from bridge.config import BridgeConfig
    from bridge.context import Gateway
    from bridge.ocpi.server.auth import Caller
    from bridge.store.base import DataApi, StoredObject
    from mappings.result import Translation

VERSIONS = ("2.2.1", "2.1.1")
RECEIVER_PATH = "cpo/tokens"
SENDER_PATH = "emsp/tokens"

CONTRACT_INDEX: Final = "ocpi.tokens.by_contract_id"
AUTHORIZATION_KIND: Final = "ocpi.authorization"
"""Correlation kinds: tokens by contract id; real-time authorizations by authorization_reference."""

_TYPE_ORDER: Final = (
    v221.TokenType.RFID,
    v221.TokenType.OTHER,
    v221.TokenType.APP_USER,
    v221.TokenType.AD_HOC_USER,
)


# --------------------------------------------------------------------------------------------
# The kind, its key and its conversions


def token_object_id(uid: str, token_type: v221.TokenType | str) -> str:
    """The store object id of a Token: ``"{TYPE}/{uid}"`` (identity includes the type)."""
    return f"{v221.TokenType(token_type).value}/{uid}"


async def _up(source: Any, ctx: ConvertContext) -> Translation[Any]:
    return token_up(source, country_code=ctx.owner[0], party_id=ctx.owner[1])


async def _down(model: Any, ctx: ConvertContext) -> Translation[Any]:
    return token_down(model)


TOKENS = ObjectKind(
    name="tokens",
    model=v221.Token,
    label="Token",
    model_211=v211.Token,
    up=_up,
    down=_down,
    index_ids=True,
    sensitive_ids=True,
)
"""Tokens in the object service: stored as 2.2.1, keyed (country_code, party_id, "{TYPE}/{uid}")."""


# --------------------------------------------------------------------------------------------
# Listeners kept once per object service


def ensure_listener(
    gateway: Gateway, name: str, listener: Callable[[DataApi, ObjectChange], Awaitable[None]]
) -> ObjectService:
    """The gateway's object service with ``listener`` subscribed exactly once (per service)."""
    service = object_service(gateway)
    key = f"ocpi_listener.{name}"
    if gateway.services.get(key) is not service:
        service.subscribe(listener)
        gateway.services[key] = service
    return service


def _same_entry(entry: Sequence[str], owner: Owner, object_id: str) -> bool:
    return (entry[0].upper(), entry[1].upper(), entry[2].upper()) == (
        owner[0].upper(),
        owner[1].upper(),
        object_id.upper(),
    )


async def _index_contract(data: DataApi, change: ObjectChange) -> None:
    """Keep ``CONTRACT_INDEX[CONTRACT_ID] = {"tokens": [[cc, pid, object_id], ...]}`` (oldest first)."""
    if change.kind.name != TOKENS.name:
        return
    before = (change.before or {}).get("contract_id")
    after = (change.after or {}).get("contract_id")
    if change.before is not None and change.after is not None and before == after:
        return
    if isinstance(before, str):
        index = await data.get_correlation(CONTRACT_INDEX, before.upper())
        entries = list((index.data or {}).get("tokens", [])) if index else []
        kept = [e for e in entries if not _same_entry(e, change.owner, change.object_id)]
        if kept:
            await data.put_correlation(CONTRACT_INDEX, before.upper(), "/".join(kept[0]), {"tokens": kept})
        elif index is not None:
            await data.delete_correlation(CONTRACT_INDEX, before.upper())
    if isinstance(after, str):
        index = await data.get_correlation(CONTRACT_INDEX, after.upper())
        entries = list((index.data or {}).get("tokens", [])) if index else []
        if not any(_same_entry(e, change.owner, change.object_id) for e in entries):
            entries.append([change.owner[0], change.owner[1], change.object_id])
        await data.put_correlation(CONTRACT_INDEX, after.upper(), "/".join(entries[0]), {"tokens": entries})


def install(gateway: Gateway) -> ObjectService:
    """Register this module's index listener on the gateway's object service; return the service.

    Idempotent. Call it at start, before anything writes Tokens through the object service.
    """
    return ensure_listener(gateway, "tokens.contract_id", _index_contract)


# --------------------------------------------------------------------------------------------
# Lookups and writes for the flows


def own_emsp_parties(config: BridgeConfig) -> list[Owner]:
    """The gateway's own eMSP parties (the owners of the Tokens it issues)."""
    return [(p.country_code, p.party_id) for p in config.ocpi.parties_with_role("EMSP")]


async def get_token(
    gateway: Gateway, owner: Owner, uid: str, token_type: v221.TokenType | str, *, tx: DataApi | None = None
) -> v221.Token | None:
    """The stored Token (owner, uid, type), or None."""
    stored = await install(gateway).get(TOKENS, owner, token_object_id(uid, token_type), tx=tx)
    return None if stored is None else v221.Token.model_validate(stored.data)


async def find_own_token(
    gateway: Gateway, uid: str, token_type: v221.TokenType | str, *, tx: DataApi | None = None
) -> v221.Token | None:
    """A Token issued by one of the gateway's own eMSP parties, by (uid, type), or None."""
    for owner in own_emsp_parties(gateway.config):
        token = await get_token(gateway, owner, uid, token_type, tx=tx)
        if token is not None:
            return token
    return None


async def find_token(
    gateway: Gateway,
    uid: str,
    token_type: v221.TokenType | str,
    *,
    exclude: Sequence[Owner] = (),
    tx: DataApi | None = None,
) -> v221.Token | None:
    """A Token of any owner by (uid, type) (e.g. the eMSP partner that pushed it to the gateway as
    CPO), the gateway's own eMSP parties first; None when unknown."""
    service = install(gateway)
    stored = await service.find(
        TOKENS,
        token_object_id(uid, token_type),
        exclude=exclude,
        prefer=own_emsp_parties(gateway.config),
        tx=tx,
    )
    return None if stored is None else v221.Token.model_validate(stored.data)


async def find_token_by_contract_id(
    data: DataApi, contract_id: str, *, prefer: Sequence[Owner] = ()
) -> v221.Token | None:
    """The Token whose ``contract_id`` (2.1.1 ``auth_id``) this is, or None.

    Several tokens may share a contract id (an RFID card and an app account of one contract): the
    ``prefer`` owners win, then RFID, then the oldest.
    """
    index = await data.get_correlation(CONTRACT_INDEX, contract_id.upper())
    if index is None or not index.data:
        return None
    preferred = {(cc.upper(), pid.upper()) for cc, pid in prefer}
    found: list[tuple[int, int, int, v221.Token]] = []
    for position, (cc, pid, object_id) in enumerate(index.data.get("tokens", [])):
        stored = await data.get_object(TOKENS.name, cc, pid, object_id)
        if stored is None:
            continue
        token = v221.Token.model_validate(stored.data)
        rank_owner = 0 if (cc.upper(), pid.upper()) in preferred else 1
        rank_type = 0 if token.type is v221.TokenType.RFID else 1
        found.append((rank_owner, rank_type, position, token))
    if not found:
        return None
    found.sort(key=lambda item: item[:3])
    return found[0][3]


async def save_token(
    gateway: Gateway, token: v221.Token, *, partner: str | None = None, tx: DataApi | None = None
) -> PutResult:
    """Store a whole Token (e.g. one the gateway issues as eMSP), indexes kept."""
    service = install(gateway)
    owner = (token.country_code, token.party_id)
    return await service.put(
        TOKENS, owner, token_object_id(token.uid, token.type), token, partner=partner, tx=tx
    )


# --------------------------------------------------------------------------------------------
# Routes


def _type_param(request: Request, version: str) -> v221.TokenType | None:
    """``?type=`` as a TokenType (2.1.1: OTHER or RFID), None when absent; 2001 when invalid."""
    raw = request.query_params.get("type")
    if raw is None or raw == "":
        return None
    allowed = {t.value for t in (v211.TokenType if version == "2.1.1" else v221.TokenType)}
    if raw.upper() not in allowed:
        raise InvalidParameters(f"'type' must be one of {', '.join(sorted(allowed))}", field="type")
    return v221.TokenType(raw.upper())


async def _stored(
    service: ObjectService, owner: Owner, uid: str, asked: v221.TokenType | None, version: str
) -> StoredObject | None:
    """The addressed Token: ``?type=`` or RFID (2.2.1); 2.1.1 without ``type`` tries each type."""
    if asked is not None or version != "2.1.1":
        return await service.get(TOKENS, owner, token_object_id(uid, asked or v221.TokenType.RFID))
    for token_type in _TYPE_ORDER:
        stored = await service.get(TOKENS, owner, token_object_id(uid, token_type))
        if stored is not None:
            return stored
    return None


def _receiver(version: str) -> Route:
    """``cpo/tokens/{country_code}/{party_id}/{token_uid}`` for one version."""

    async def endpoint(request: Request) -> Response:
        caller = await functional_caller(request)
        params = request.path_params
        url_cc, url_pid, uid = params["country_code"], params["party_id"], params["token_uid"]
        party = check_owner(caller, url_cc, url_pid)
        asked = _type_param(request, version)
        service = install(gateway_of(request))
        partner = caller.partner.name
        owner = (url_cc, url_pid)
        headers = version_headers(request, caller, version, "CPO")

        if request.method == "GET":
            stored = await _stored(service, owner, uid, asked, version)
            body = await stored_body(service, TOKENS, stored, uid, version, partner=partner)
            return ocpi_response(body, headers=headers)

        if request.method == "PATCH":
            stored = await _stored(service, owner, uid, asked, version)
            if stored is None:
                raise NotFound(f"Unknown Token {uid}")
            values = service.patch_values(
                TOKENS,
                version,
                await read_json_object(request),
                model=v221.Token,
                model_211=v211.Token,
                owner=(party.country_code, party.party_id),
                object_id=stored.object_id,
                partner=partner,
                now=datetime.now(UTC),
                require_last_updated=True,
            )
            check_same_identity(values, owner, "uid", uid)
            check_same_id("type", str(stored.data["type"]), values.get("type"))
            await service.patch(TOKENS, owner, stored.object_id, values, partner=partner)
            return ocpi_response(headers=headers)

        token = await received_object(
            request, service, TOKENS, version, url_owner=owner, party=(party.country_code, party.party_id),
            object_id=uid, partner=partner, id_field="uid",
        )
        if asked is not None:
            check_same_id("type", asked.value, token.type.value)
        result = await service.put(
            TOKENS,
            (token.country_code, token.party_id),
            token_object_id(token.uid, token.type),
            token,
            partner=partner,
        )
        return put_response(result.created, headers)

    return Route(
        receiver_object_path(version, RECEIVER_PATH, "token_uid"),
        endpoint,
        methods=["GET", "PUT", "PATCH"],
        name=f"ocpi-{version}-tokens-receiver",
    )


def _sender(version: str) -> Route:
    """``emsp/tokens``: the paginated list of the Tokens the gateway serves (ocpi.md §3.3)."""

    async def page(request: Request, caller: Caller, params: PageParams) -> tuple[list[bytes], int]:
        found = await install(gateway_of(request)).list_for(caller, TOKENS, params, version=version)
        return found.items, found.total

    return sender_list_route(version, SENDER_PATH, f"ocpi-{version}-tokens-sender", "EMSP", page)


async def _location_references(request: Request, version: str) -> v221.LocationReferences | None:
    """The optional LocationReferences body of an authorize POST; 2001 when it is not one."""
    raw = await request.body()
    if not raw.strip() or raw.strip() in (b"null", b"{}"):
        return None
    if version == "2.1.1":
        received = v211.LocationReferences.model_validate_json(raw)
        return location_references_up(received).value
    return v221.LocationReferences.model_validate_json(raw)


async def _record_authorization(
    gateway: Gateway, info: v221.AuthorizationInfo, partner: str, now: datetime
) -> None:
    """Keep what was answered under the authorization_reference (correlation ``ocpi.authorization``)."""
    assert info.authorization_reference is not None
    token = info.token
    await gateway.store.put_correlation(
        AUTHORIZATION_KIND,
        info.authorization_reference,
        f"{token.country_code}/{token.party_id}/{token_object_id(token.uid, token.type)}",
        {
            "token": {
                "country_code": token.country_code,
                "party_id": token.party_id,
                "uid": token.uid,
                "type": token.type.value,
                "contract_id": token.contract_id,
            },
            "allowed": info.allowed.value,
            "location": None if info.location is None else to_jsonable(info.location),
            "partner": partner,
            "at": now.isoformat(),
        },
    )


def _authorize(version: str) -> Route:
    """``emsp/tokens/{token_uid}/authorize``: real-time authorization (mod_tokens, ocpi.md §4.5)."""

    async def endpoint(request: Request) -> Response:
        caller = await functional_caller(request)
        gateway = gateway_of(request)
        uid = request.path_params["token_uid"]
        token_type = _type_param(request, version) or v221.TokenType.RFID
        location = await _location_references(request, version)
        parties = caller_parties(caller)
        handler = authorization_handler(gateway)
        info = await handler.authorize(
            AuthorizationRequest(
                token_uid=uid,
                token_type=token_type,
                location=location,
                partner=caller.partner.name,
                version=version,
                party=(parties[0].country_code, parties[0].party_id) if parties else None,
                requester_parties=tuple((p.country_code, p.party_id) for p in parties),
            )
        )
        if info is None:
            if version == "2.1.1":  # 2.1.1 has no 2004 (ocpi.md §5 status codes)
                raise NotFound("Unknown token")
            raise UnknownToken()
        if info.authorization_reference is None:
            info = info.model_copy(update={"authorization_reference": str(uuid.uuid4())})
        await _record_authorization(gateway, info, caller.partner.name, datetime.now(UTC))
        if version == "2.1.1":
            return ocpi_response(to_json(authorization_info_down(info).value))
        return ocpi_response(to_json(info), headers=version_headers(request, caller, version, "EMSP"))

    return Route(
        f"/ocpi/{version}/{SENDER_PATH}/{{token_uid}}/authorize",
        endpoint,
        methods=["POST"],
        name=f"ocpi-{version}-tokens-authorize",
    )


def endpoints(config: BridgeConfig) -> list[ModuleEndpoint]:
    """The Tokens interfaces of every configured version, for the roles the gateway has: the
    Receiver when it is a CPO or hub, the Sender (list + authorize) when it is an eMSP."""
    result: list[ModuleEndpoint] = []
    for version in VERSIONS:
        if version not in config.ocpi.versions:
            continue
        if serves_cpo_role(config):
            result.append(
                ModuleEndpoint(version, "tokens", "RECEIVER", "CPO", RECEIVER_PATH, (_receiver(version),))
            )
        if serves_emsp_role(config):
            result.append(
                ModuleEndpoint(
                    version, "tokens", "SENDER", "EMSP", SENDER_PATH, (_sender(version), _authorize(version))
                )
            )
    return result


def decode_object_id(object_id: str) -> tuple[v221.TokenType, str]:
    """(type, uid) of a Token store object id (:func:`token_object_id`)."""
    type_part, _, uid = object_id.partition("/")
    return v221.TokenType(type_part.upper()), uid


__all__ = [
    "AUTHORIZATION_KIND",
    "CONTRACT_INDEX",
    "TOKENS",
    "decode_object_id",
    "endpoints",
    "ensure_listener",
    "find_own_token",
    "find_token",
    "find_token_by_contract_id",
    "get_token",
    "install",
    "own_emsp_parties",
    "save_token",
    "token_object_id",
]
