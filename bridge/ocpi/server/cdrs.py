"""The OCPI CDRs module (ocpi.md §4.3; owner: CPO), both versions, through the object service.

URLs, relative to ``{public_url}/ocpi/{version}/``:

* ``emsp/cdrs``: the gateway as eMSP **receives** CDRs from CPO partners (Receiver interface):
  ``POST`` a CDR; the answer is HTTP 201 with the header ``Location: <url of the stored CDR>``
  (required by the spec) and an envelope without data.
* ``emsp/cdrs/{country_code}/{party_id}/{cdr_id}`` (the ``cdr_key`` of the Location URL): ``GET``
  returns that CDR in the caller's version.
* ``cpo/cdrs``: the gateway as CPO **serves** CDRs (Sender interface): the paginated list
  (offset/limit capped at ``ocpi.page_limit``, ``X-Total-Count``, ``X-Limit``, ``Link`` keeping
  every filter, optional ``date_from`` inclusive / ``date_to`` exclusive on ``last_updated``,
  creation order).

Rules and decisions:

* **Nothing lost**: the CDR is committed to the store (with whatever the object-service listeners
  write in the same transaction, e.g. a flow's outbox message) before the answer leaves.
* **Idempotent POST**: a second POST of the same CDR (same owner and id, same content) stores
  nothing and answers success again (HTTP 200, same ``Location``), so a CPO may retry a POST whose
  answer it lost. The same id with *different* content is 2001 naming ``id``: CDRs are immutable,
  corrections are Credit CDRs with a new id (ocpi.md §4.3).
* **Immutable**: PUT, PATCH and DELETE are HTTP 405 on both URLs.
* Ownership (ocpi.md §3.6, §8 point 8): a 2.2.1 CDR's country_code/party_id must be one of the
  caller's credentials roles (2001 naming ``party_id`` otherwise: the collection URL exists, the
  body is wrong); a 2.1.1 CDR (no owner fields) is owned by the caller's CPO role. Only the owner
  can GET a CDR through the receiver URL (404 for anyone else).
* 2.1.1 CDRs are converted up (ocpi.md §5: ``stop_date_time`` → ``end_date_time``, ``auth_id`` →
  ``cdr_token`` via the stored Tokens, ``location`` → ``cdr_location``, ``total_cost`` → Price, FLAT
  dimensions dropped) and the embedded Location is kept as a snapshot; served down, the Location is
  the one stored in the gateway (else that snapshot) with the CDR's own location data laid over it.
  Credit CDRs and CDRs whose Location is unknown cannot be expressed in 2.1.1: 404 on GET, left
  out of lists (logged).
* The Sender list serves a caller only the CDRs of its tokens (``cdr_token`` owner among its
  credentials roles; the recipient index of :mod:`bridge.ocpi.server.sessions`).
* 2.2.1 responses carry the routing headers (ocpi.md §3.5); 2.1.1 ones do not.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bridge.context import gateway_of
from bridge.errors import InvalidParameters, MethodNotAllowed
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.models.common import to_jsonable
from bridge.ocpi.server.common import (
    PageParams,
    caller_parties,
    check_owner,
    functional_caller,
    parse_body,
    put_response,
    receiver_object_path,
    sender_list_route,
    serves_cpo_role,
    serves_emsp_role,
    stored_body,
    version_headers,
)
from bridge.ocpi.server.envelope import ocpi_response
from bridge.ocpi.server.locations import tariff_types
from bridge.ocpi.server.objects import ConvertContext, ObjectKind, ObjectService, Owner
from bridge.ocpi.server.registry import ModuleEndpoint
from bridge.ocpi.server.sessions import (
    SNAPSHOT_PREFIX,
    install,
    list_for_recipient,
    location_for_211,
    save_location_snapshot,
    snapshot_key,
    token_context,
)
from mappings.ocpi_versions import cdr_down, cdr_up

if TYPE_CHECKING:
    from bridge.config import BridgeConfig
    from bridge.context import Gateway
    from bridge.ocpi.server.auth import Caller
    from bridge.store.base import DataApi
    from mappings.result import Translation

VERSIONS = ("2.2.1", "2.1.1")
RECEIVER_PATH = "emsp/cdrs"
SENDER_PATH = "cpo/cdrs"
IMMUTABLE: Final = "CDRs are immutable: corrections are sent as a Credit CDR with a new id"


# --------------------------------------------------------------------------------------------
# The kind and its conversions


async def _up(source: Any, ctx: ConvertContext) -> Translation[Any]:
    return cdr_up(
        source, country_code=ctx.owner[0], party_id=ctx.owner[1], **await token_context(ctx, source.auth_id)
    )


async def _down(model: Any, ctx: ConvertContext) -> Translation[Any]:
    location, snapshot = await location_for_211(
        ctx.data, CDRS.name, ctx.owner, model.id, model.cdr_location.id
    )
    connectors = [c for evse in location.evses or [] for c in evse.connectors]
    translation = cdr_down(
        model, location=location, tariff_types=await tariff_types(ctx.data, ctx.owner, connectors)
    )
    if snapshot is not None:
        translation.value = translation.value.model_copy(update={"location": snapshot})
    return translation


CDRS = ObjectKind(name="cdrs", model=v221.CDR, label="CDR", model_211=v211.CDR, up=_up, down=_down)
"""CDRs in the object service: stored as 2.2.1, keyed (country_code, party_id, id)."""


def cdr_url(public_url: str, version: str, owner: Owner, cdr_id: str) -> str:
    """The URL of a stored CDR on the eMSP Receiver interface (the POST's ``Location`` header)."""
    parts = "/".join(quote(part, safe="") for part in (owner[0], owner[1], cdr_id))
    return f"{public_url.rstrip('/')}/ocpi/{version}/{RECEIVER_PATH}/{parts}"


def _fingerprint(received: v211.CDR) -> str:
    return hashlib.sha256(orjson.dumps(to_jsonable(received), option=orjson.OPT_SORT_KEYS)).hexdigest()


# --------------------------------------------------------------------------------------------
# Storing a CDR (create once, never replace)


async def _store_new(
    service: ObjectService,
    tx: DataApi,
    owner: Owner,
    cdr: v221.CDR,
    partner: str | None,
    received_211: v211.CDR | None,
) -> tuple[bool, Owner, str]:
    """Store ``cdr`` unless a CDR with its owner and id exists; (created, stored owner, stored id).

    An existing CDR with the same content is success without a write; with other content, 2001.
    A 2.1.1 duplicate is compared on the received body (its conversion may depend on tokens that
    arrived in between).
    """
    await service._lock(tx, CDRS, owner, cdr.id)
    existing = await service.get(CDRS, owner, cdr.id, tx=tx)
    fingerprint = _fingerprint(received_211) if received_211 is not None else None
    if existing is not None:
        same = existing.data == to_jsonable(cdr)
        if not same and fingerprint is not None:
            snapshot = await tx.get_correlation(SNAPSHOT_PREFIX + CDRS.name, snapshot_key(owner, cdr.id))
            same = snapshot is not None and (snapshot.data or {}).get("received_sha256") == fingerprint
        if not same:
            raise InvalidParameters(
                f"CDR {cdr.id} was already received with other content; {IMMUTABLE}", field="id"
            )
        return False, (existing.country_code, existing.party_id), existing.object_id
    await service.put(CDRS, owner, cdr.id, cdr, partner=partner, tx=tx)
    if received_211 is not None:
        await save_location_snapshot(
            tx, CDRS.name, owner, cdr.id, received_211.location, {"received_sha256": fingerprint}
        )
    return True, owner, cdr.id


async def save_cdr(
    gateway: Gateway, cdr: v221.CDR, *, partner: str | None = None, tx: DataApi | None = None
) -> bool:
    """Store a CDR once (e.g. one the gateway issues as CPO); True if it was new. The same CDR
    again is a no-op; another CDR with the same owner and id raises InvalidParameters (immutable)."""
    service = install(gateway)
    owner = (cdr.country_code, cdr.party_id)
    if tx is not None:
        return (await _store_new(service, tx, owner, cdr, partner, None))[0]
    async with service.store.transaction() as opened:
        return (await _store_new(service, opened, owner, cdr, partner, None))[0]


async def get_cdr(
    gateway: Gateway, owner: Owner, cdr_id: str, *, tx: DataApi | None = None
) -> v221.CDR | None:
    """The stored CDR, or None."""
    stored = await install(gateway).get(CDRS, owner, cdr_id, tx=tx)
    return None if stored is None else v221.CDR.model_validate(stored.data)


# --------------------------------------------------------------------------------------------
# Routes


def _owner_211(caller: Caller) -> Owner:
    """A 2.1.1 CDR has no owner fields: the caller's CPO credentials role owns it."""
    parties = caller_parties(caller)
    for party in sorted(parties, key=lambda p: p.role != "CPO"):
        return (party.country_code, party.party_id)
    raise InvalidParameters("the caller has no credentials role (country_code/party_id) to own a CDR")


def _check_body_owner(caller: Caller, cdr: v221.CDR) -> Owner:
    wanted = (cdr.country_code.upper(), cdr.party_id.upper())
    for party in caller_parties(caller):
        if party.key() == wanted:
            return (cdr.country_code, cdr.party_id)
    raise InvalidParameters(
        f"country_code/party_id {cdr.country_code}/{cdr.party_id} is not one of the caller's"
        " credentials roles",
        field="party_id",
    )


def _collection(version: str) -> Route:
    """``emsp/cdrs``: POST a CDR (ocpi.md §4.3)."""

    async def endpoint(request: Request) -> Response:
        caller = await functional_caller(request)
        if request.method != "POST":
            raise MethodNotAllowed(
                f"{request.method} is not allowed on the CDRs collection: POST a CDR; {IMMUTABLE}"
            )
        gateway = gateway_of(request)
        service = install(gateway)
        partner = caller.partner.name
        received: v211.CDR | None = None
        cdr: Any = None
        if version == "2.1.1":
            received = await parse_body(request, v211.CDR)
            owner = _owner_211(caller)
        else:
            cdr = await parse_body(request, v221.CDR)
            owner = _check_body_owner(caller, cdr)
        async with service.store.transaction() as tx:
            if received is not None:
                cdr = await service.up(CDRS, received, owner=owner, partner=partner, tx=tx)
            created, stored_owner, stored_id = await _store_new(service, tx, owner, cdr, partner, received)
        headers = {
            **version_headers(request, caller, version, "EMSP"),
            "Location": cdr_url(gateway.public_url, version, stored_owner, stored_id),
        }
        return put_response(created, headers)

    return Route(
        f"/ocpi/{version}/{RECEIVER_PATH}",
        endpoint,
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        name=f"ocpi-{version}-cdrs-receiver",
    )


def _item(version: str) -> Route:
    """``emsp/cdrs/{country_code}/{party_id}/{cdr_id}``: GET the stored CDR (its owner only)."""

    async def endpoint(request: Request) -> Response:
        caller = await functional_caller(request)
        if request.method != "GET":
            raise MethodNotAllowed(IMMUTABLE)
        params = request.path_params
        check_owner(caller, params["country_code"], params["party_id"])
        service = install(gateway_of(request))
        cdr_id = params["cdr_id"]
        stored = await service.get(CDRS, (params["country_code"], params["party_id"]), cdr_id)
        body = await stored_body(service, CDRS, stored, cdr_id, version, partner=caller.partner.name)
        return ocpi_response(body, headers=version_headers(request, caller, version, "EMSP"))

    return Route(
        receiver_object_path(version, RECEIVER_PATH, "cdr_id:path"),
        endpoint,
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        name=f"ocpi-{version}-cdrs-receiver-item",
    )


def _sender(version: str) -> Route:
    """``cpo/cdrs``: the paginated list of the caller's CDRs (ocpi.md §3.3)."""

    async def page(request: Request, caller: Caller, params: PageParams) -> tuple[list[bytes], int]:
        return await list_for_recipient(install(gateway_of(request)), CDRS, caller, params, version)

    return sender_list_route(version, SENDER_PATH, f"ocpi-{version}-cdrs-sender", "CPO", page)


def endpoints(config: BridgeConfig) -> list[ModuleEndpoint]:
    """The CDRs interfaces of every configured version, for the roles the gateway has: the
    Receiver when it is an eMSP, the Sender when it is a CPO or hub."""
    result: list[ModuleEndpoint] = []
    for version in VERSIONS:
        if version not in config.ocpi.versions:
            continue
        if serves_emsp_role(config):
            result.append(
                ModuleEndpoint(
                    version, "cdrs", "RECEIVER", "EMSP", RECEIVER_PATH, (_collection(version), _item(version))
                )
            )
        if serves_cpo_role(config):
            result.append(ModuleEndpoint(version, "cdrs", "SENDER", "CPO", SENDER_PATH, (_sender(version),)))
    return result


__all__ = ["CDRS", "cdr_url", "endpoints", "get_cdr", "save_cdr"]
