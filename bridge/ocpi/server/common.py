"""What every OCPI functional module route needs: the caller and its parties, ownership, routing
headers, request bodies, and pagination (ocpi.md §3.3–§3.6)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import urlencode

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bridge.context import gateway_of
from bridge.errors import InvalidParameters, MappingError, NotFound
from bridge.ocpi.models.common import format_datetime, parse_datetime
from bridge.ocpi.server.auth import Caller, authenticate
from bridge.ocpi.server.envelope import JSON_MEDIA_TYPE, envelope_bytes, list_bytes, ocpi_response

if TYPE_CHECKING:
    from bridge.config import BridgeConfig, OcpiParty
    from bridge.ocpi.server.objects import ObjectKind, ObjectService
    from bridge.store.base import StoredObject

M = TypeVar("M", bound=BaseModel)

FUNCTIONAL_MODULES = frozenset(
    {"locations", "sessions", "cdrs", "tariffs", "tokens", "commands", "chargingprofiles"}
)


@dataclass(frozen=True, slots=True)
class PartyRef:
    """An OCPI party: (country_code, party_id) compared case-insensitively (CiString), plus role."""

    country_code: str
    party_id: str
    role: str

    def key(self) -> tuple[str, str]:
        return (self.country_code.upper(), self.party_id.upper())


def caller_parties(caller: Caller) -> list[PartyRef]:
    """The parties the caller's credentials roles name (2.2.1 ``roles``; 2.1.1 flattened into one).

    ocpi.md §8 point 8: ownership binds to the credentials of the token, not to the URL or headers.
    """
    return [
        PartyRef(
            str(r.get("country_code", "")).upper(), str(r.get("party_id", "")).upper(), str(r.get("role", ""))
        )
        for r in caller.partner.roles
        if r.get("country_code") and r.get("party_id")
    ]


def caller_version(caller: Caller) -> str:
    """The OCPI version of the caller's connection (the credentials endpoint it registered on)."""
    return caller.partner.version or "2.2.1"


def check_owner(caller: Caller, country_code: str, party_id: str) -> PartyRef:
    """The caller's party for ``country_code``/``party_id`` in an object URL, or 404.

    ocpi.md §3.6: the URL country/party must be one of the caller's credentials roles; 404 is
    allowed otherwise (and tells a stranger nothing about what exists).
    """
    wanted = (country_code.upper(), party_id.upper())
    for party in caller_parties(caller):
        if party.key() == wanted:
            return party
    raise NotFound(f"{country_code}/{party_id} is not one of the caller's parties")


def check_same_id(field: str, url_value: str, body_value: object) -> None:
    """ocpi.md §3.6: an object id in the URL that differs from the body's is 2001 naming the field."""
    if body_value is not None and str(body_value).upper() != url_value.upper():
        raise InvalidParameters(
            f"'{field}' in the body ({body_value}) differs from the URL ({url_value})", field=field
        )


def check_same_identity(
    body: BaseModel | Mapping[str, Any], url_owner: tuple[str, str], id_field: str, object_id: str
) -> None:
    """ocpi.md §3.6: the ``country_code``, ``party_id`` and object id (``id``, Tokens ``uid``) of a
    PUT body or PATCH that differ from the URL are 2001 naming the first field that differs (absent
    fields are not compared)."""
    fields = ("country_code", "party_id", id_field)
    values = body if isinstance(body, Mapping) else {name: getattr(body, name, None) for name in fields}
    for name, url_value in zip(fields, (url_owner[0], url_owner[1], object_id), strict=True):
        check_same_id(name, url_value, values.get(name))


def our_party_facing(config: BridgeConfig, partner_role: str) -> OcpiParty | None:
    """The gateway's own party that faces a partner of ``partner_role`` (CPO partner → our EMSP)."""
    wanted: Literal["CPO", "EMSP"] = "EMSP" if partner_role == "CPO" else "CPO"
    parties = config.ocpi.parties_with_role(wanted) or config.ocpi.parties_with_role("HUB")
    return parties[0] if parties else None


def cpo_role_parties(config: BridgeConfig) -> list[OcpiParty]:
    """The parties serving the CPO-role interfaces: the CPO parties, or the HUB parties when there
    is none (a 2.2.1 Hub offers the Sender interfaces of the parties behind it and takes their
    Receiver calls, ocpi.md §1.2 "A Hub reports only role HUB", §3.5 "GET All via Hub")."""
    return config.ocpi.parties_with_role("CPO") or config.ocpi.parties_with_role("HUB")


def serves_cpo_role(config: BridgeConfig) -> bool:
    """Whether the CPO-role interfaces are mounted (Locations/Tariffs/Sessions/CDRs Senders, Tokens
    and Commands Receivers): a CPO party or a HUB party is configured (:func:`cpo_role_parties`)."""
    return bool(cpo_role_parties(config))


def serves_emsp_role(config: BridgeConfig) -> bool:
    """Whether the eMSP-role interfaces are mounted: an EMSP party is configured."""
    return bool(config.ocpi.parties_with_role("EMSP"))


def routing_headers(request: Request, caller: Caller, *, our_role: str | None = None) -> dict[str, str]:
    """2.2.1 response routing headers (ocpi.md §3.5): FROM = us, TO = the requesting party.

    Only on functional modules of 2.2.1 connections; never on credentials, versions, hubclientinfo.
    ``our_role`` is the role of ours the interface belongs to ("CPO" for a Sender interface of a
    CPO module, "EMSP" for a Receiver one): it picks FROM, and TO falls back to the caller's party
    of the counterpart role. Without it, both follow the partner's main role, which is ambiguous
    for a partner that is both CPO and eMSP.
    """
    if caller_version(caller) == "2.1.1":
        return {}
    headers: dict[str, str] = {}
    config = gateway_of(request).config
    ours: OcpiParty | None = None
    if our_role in ("CPO", "EMSP"):
        with_role = cpo_role_parties(config) if our_role == "CPO" else config.ocpi.parties_with_role("EMSP")
        ours = with_role[0] if with_role else None
    if ours is None:
        ours = our_party_facing(config, caller.partner.role)
    if ours is not None:
        headers["OCPI-from-country-code"] = ours.country_code
        headers["OCPI-from-party-id"] = ours.party_id
    requester_cc = request.headers.get("ocpi-from-country-code")
    requester_pid = request.headers.get("ocpi-from-party-id")
    parties = caller_parties(caller)
    known = {p.key() for p in parties}
    counterpart = {"CPO": "EMSP", "EMSP": "CPO"}.get(our_role or "")
    facing = [p for p in parties if p.role.upper() == counterpart] or parties
    if requester_cc and requester_pid and (requester_cc.upper(), requester_pid.upper()) in known:
        headers["OCPI-to-country-code"] = requester_cc.upper()
        headers["OCPI-to-party-id"] = requester_pid.upper()
    elif facing:
        headers["OCPI-to-country-code"] = facing[0].country_code
        headers["OCPI-to-party-id"] = facing[0].party_id
    return headers


def version_headers(request: Request, caller: Caller, version: str, our_role: str) -> dict[str, str]:
    """The routing headers of a functional module response (ocpi.md §3.5): :func:`routing_headers`
    from our party of ``our_role`` on a 2.2.1 interface; none on a 2.1.1 one, which has no routing
    headers."""
    return {} if version == "2.1.1" else routing_headers(request, caller, our_role=our_role)


async def functional_caller(request: Request) -> Caller:
    """Authenticate a call to a functional module: token A is refused with 401 (ocpi.md §1.3)."""
    return await authenticate(request, allow_token_a=False)


async def parse_body(request: Request, model: type[M]) -> M:
    """Validate the body once, bytes to model. Bad JSON → 400; a bad field → 2001 naming it
    (turned into responses by ``bridge.http_errors``)."""
    return model.model_validate_json(await request.body())


async def received_object(
    request: Request,
    service: ObjectService,
    kind: ObjectKind,
    version: str,
    *,
    url_owner: tuple[str, str],
    party: tuple[str, str],
    object_id: str,
    partner: str,
    id_field: str = "id",
) -> Any:
    """The full object of a Receiver PUT as the 2.2.1 model to store (ocpi.md §3.6, §5).

    2.2.1: the body's country_code/party_id/id must match the URL (:func:`check_same_identity`).
    2.1.1 objects have no owner fields: only the id is compared, and the object is converted up
    with ``party`` (the caller's credentials role for the URL party) as its owner.
    """
    if version == "2.1.1":
        if kind.model_211 is None:
            raise MappingError(kind.name, "no OCPI 2.1.1 model for this object")
        received = await parse_body(request, kind.model_211)
        check_same_id(id_field, object_id, getattr(received, id_field))
        return await service.up(kind, received, owner=party, partner=partner)
    model = await parse_body(request, kind.model)
    check_same_identity(model, url_owner, id_field, object_id)
    return model


def receiver_object_path(version: str, path: str, id_param: str) -> str:
    """The route path of a Client Owned Object on a Receiver interface (ocpi.md §3.6): addressed by
    its owner and id, ``/ocpi/{version}/{path}/{country_code}/{party_id}/{<id_param>}``."""
    return f"/ocpi/{version}/{path}/{{country_code}}/{{party_id}}/{{{id_param}}}"


def put_response(created: bool, headers: dict[str, str]) -> Response:
    """The answer to a Receiver PUT (or CDR POST) that was accepted (ocpi.md §3.6): HTTP 201 when
    the object was created, 200 when an existing one was replaced (or received again)."""
    return ocpi_response(http_status=201 if created else 200, headers=headers)


async def stored_body(
    service: ObjectService,
    kind: ObjectKind,
    stored: StoredObject | None,
    object_id: str,
    version: str,
    *,
    partner: str,
    why_211: str = "",
) -> bytes:
    """Wire JSON of a Receiver GET (ocpi.md §3.6): 404 when the object is unknown, and 404 when a
    2.1.1 caller asks for one that 2.1.1 cannot carry (``why_211`` says why, when known)."""
    if stored is None:
        raise NotFound(f"Unknown {kind.label} {object_id}")
    body = await service.serialize(kind, stored, version, partner=partner)
    if body is None:
        raise NotFound(f"{kind.label} {object_id} cannot be expressed in OCPI 2.1.1{why_211}")
    return body


# --------------------------------------------------------------------------------------------
# Pagination (ocpi.md §3.3)


@dataclass(frozen=True, slots=True)
class PageParams:
    offset: int
    limit: int
    date_from: datetime | None
    date_to: datetime | None


def _parse_datetime(name: str, raw: str) -> datetime:
    try:
        return parse_datetime(raw)
    except ValueError:
        raise InvalidParameters(f"'{name}' is not a valid DateTime: {raw!r}", field=name) from None


def _parse_int(name: str, raw: str | None, default: int) -> int:
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
        raise InvalidParameters(f"'{name}' must be a non-negative integer, got {raw!r}", field=name)
    return int(raw)


def page_params(request: Request, *, require_date_from: bool = False) -> PageParams:
    """Read ``offset``, ``limit`` (capped at the server maximum), ``date_from`` (inclusive) and
    ``date_to`` (exclusive). Sessions GET requires ``date_from`` (ocpi.md §3.3)."""
    max_limit = gateway_of(request).config.ocpi.page_limit
    query = request.query_params
    offset = _parse_int("offset", query.get("offset"), 0)
    limit = min(_parse_int("limit", query.get("limit"), max_limit), max_limit)
    raw_from, raw_to = query.get("date_from"), query.get("date_to")
    if require_date_from and not raw_from:
        raise InvalidParameters("'date_from' is required for this list", field="date_from")
    return PageParams(
        offset=offset,
        limit=limit,
        date_from=_parse_datetime("date_from", raw_from) if raw_from else None,
        date_to=_parse_datetime("date_to", raw_to) if raw_to else None,
    )


def paginated_response(
    request: Request,
    items: list[bytes],
    total: int,
    params: PageParams,
    *,
    headers: dict[str, str] | None = None,
) -> Response:
    """The page as an envelope with ``X-Total-Count``, ``X-Limit`` (the server maximum, not the
    page size) and, unless this is the last page, ``Link: <url>; rel="next"`` keeping every
    original filter (ocpi.md §8 point 7)."""
    max_limit = gateway_of(request).config.ocpi.page_limit
    out = dict(headers or {})
    out["X-Total-Count"] = str(total)
    out["X-Limit"] = str(max_limit)
    # The page covered [offset, offset + limit) of the served sequence even when an item could not
    # be serialized and was left out: the next page starts after it, so nothing is served twice
    # and a short page does not end the crawl early.
    next_offset = params.offset + params.limit
    if params.limit > 0 and next_offset < total:
        query = [(k, v) for k, v in request.query_params.multi_items() if k not in ("offset", "limit")]
        if params.date_from is not None and "date_from" not in request.query_params:
            query.append(("date_from", format_datetime(params.date_from)))
        query += [("offset", str(next_offset)), ("limit", str(params.limit))]
        base = f"{gateway_of(request).public_url}{request.url.path}"
        out["Link"] = f'<{base}?{urlencode(query)}>; rel="next"'
    body = envelope_bytes(list_bytes(items))
    return Response(body, headers=out, media_type=JSON_MEDIA_TYPE)


PageLister = Callable[[Request, Caller, PageParams], Awaitable[tuple[list[bytes], int]]]
"""One page of a Sender list for the caller: (serialized items, total count)."""


def sender_list_route(
    version: str, path: str, name: str, our_role: str, lister: PageLister, *, require_date_from: bool = False
) -> Route:
    """``GET /ocpi/{version}/{path}``: a Sender interface's paginated list (ocpi.md §3.3: offset,
    limit, ``date_from``/``date_to``, ``X-Total-Count``, ``X-Limit``, ``Link``), answered with the
    routing headers of ``our_role`` on 2.2.1 (§3.5)."""

    async def endpoint(request: Request) -> Response:
        caller = await functional_caller(request)
        params = page_params(request, require_date_from=require_date_from)
        items, total = await lister(request, caller, params)
        headers = version_headers(request, caller, version, our_role)
        return paginated_response(request, items, total, params, headers=headers)

    return Route(f"/ocpi/{version}/{path}", endpoint, methods=["GET"], name=name)
