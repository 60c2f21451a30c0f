"""The OCPI Sessions module (ocpi.md §4.2; owner: CPO), both versions, through the object service.

URLs, relative to ``{public_url}/ocpi/{version}/``:

* ``emsp/sessions/{country_code}/{party_id}/{session_id}``: the gateway as eMSP **receives**
  Sessions from CPO partners (Receiver interface): ``GET`` (the stored Session, in the caller's
  version), ``PUT`` (a full Session, ``charging_periods`` included: 201 created, 200 replaced) and
  ``PATCH`` (a merge; ``charging_periods`` are appended).
* ``cpo/sessions?date_from=...``: the gateway as CPO **serves** Sessions (Sender interface): the
  paginated list (``date_from`` required, ocpi.md §3.3; offset/limit capped at
  ``ocpi.page_limit``, ``X-Total-Count``, ``X-Limit``, ``Link`` keeping every filter, ``date_from``
  inclusive / ``date_to`` exclusive on ``last_updated``, creation order).

Rules and decisions:

* Ownership (ocpi.md §3.6, §8 point 8): the URL country/party must be one of the caller's
  credentials roles, else 404; body country_code/party_id/id differing from the URL is 2001 naming
  the field.
* PATCH (ocpi.md §3.6, §8 point 5): 2.2.1 requires ``last_updated`` (2001, ocpi#355); 2.1.1 does not
  (stamped with the time of receipt). ``charging_periods`` in a PATCH are **appended** to the stored
  ones while a PUT replaces them (ocpi#325). A patched period whose ``start_date_time`` equals a
  stored one replaces it instead of being appended twice: a ChargingPeriod starts at a cost-relevant
  event, two periods cannot start at the same instant, and a retried PATCH must not double the
  session's periods. A PATCH of an unknown Session is 404 (the CPO then PUTs it).
* 2.1.1 Sessions are converted up (ocpi.md §5): ``auth_id`` → ``cdr_token`` through the Tokens
  stored in the gateway (by contract id, the gateway's own eMSP parties first; else uid = auth_id,
  type OTHER, owned by the gateway's eMSP party: lossy, logged); the embedded Location gives
  ``location_id``/``evse_uid``/``connector_id`` and is kept as a snapshot. Served down, the Session
  embeds the Location **stored in the gateway** (Locations module) reduced to the EVSE and Connector
  used; when the gateway has no such Location, the snapshot received with the Session. A Session
  that has neither cannot be expressed in 2.1.1: 404 on GET, left out of lists (logged).
* The Sender list serves a caller only the Sessions of **its** tokens: those whose
  ``cdr_token.country_code``/``party_id`` is one of its credentials roles (a recipient index kept
  by an object-service listener, :func:`install`). Whatever their owner: the gateway's own CPO
  parties or a CPO partner whose Sessions it relays.
* 2.2.1 responses carry the routing headers (ocpi.md §3.5); 2.1.1 ones do not.

Not implemented: ``PUT {sessions_url}/{session_id}/charging_preferences`` (2.2.1 Smart Charging on
the Sender interface).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bridge.context import gateway_of
from bridge.errors import InvalidParameters, MappingError, NotFound
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.models.common import parse_datetime, to_jsonable
from bridge.ocpi.server.common import (
    caller_parties,
    check_owner,
    check_same_id,
    check_same_identity,
    functional_caller,
    our_party_facing,
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
from bridge.ocpi.server.locations import LOCATIONS, tariff_types
from bridge.ocpi.server.objects import (
    ConvertContext,
    ObjectChange,
    ObjectKind,
    ObjectService,
    Owner,
    PutResult,
    read_json_object,
)
from bridge.ocpi.server.registry import ModuleEndpoint
from bridge.ocpi.server.tokens import ensure_listener, find_token_by_contract_id, own_emsp_parties
from bridge.ocpi.server.tokens import install as install_tokens
from mappings.ocpi_versions import location_up, session_down, session_up

if TYPE_CHECKING:
    from bridge.config import BridgeConfig
    from bridge.context import Gateway
    from bridge.ocpi.server.auth import Caller
    from bridge.ocpi.server.common import PageParams
    from bridge.store.base import DataApi
    from mappings.result import Translation

log = logging.getLogger("bridge.ocpi.sessions")

VERSIONS = ("2.2.1", "2.1.1")
RECEIVER_PATH = "emsp/sessions"
SENDER_PATH = "cpo/sessions"

RECIPIENT_SUFFIX: Final = "#recipient"
"""Marker kind ``"<kind>#recipient"``: one marker per Session/CDR, owned by its token's party."""
RECIPIENT_KINDS: Final = frozenset({"sessions", "cdrs"})
SNAPSHOT_PREFIX: Final = "ocpi.location_211."
"""Correlation kind ``"ocpi.location_211.<kind>"``: the Location embedded in a 2.1.1 Session/CDR."""


# --------------------------------------------------------------------------------------------
# 2.1.1 conversions: token lookup and the embedded Location


async def token_context(ctx: ConvertContext, auth_id: str) -> dict[str, Any]:
    """Keyword arguments of ``session_up``/``cdr_up`` for a 2.1.1 ``auth_id``: the stored Token with
    that contract id (prefetched: the mappings are pure), and the owner of the fallback CdrToken
    (the gateway's eMSP party facing CPO partners: 2.1.1 CPOs send Sessions for its tokens)."""
    token = await find_token_by_contract_id(ctx.data, auth_id, prefer=own_emsp_parties(ctx.config))
    ours = our_party_facing(ctx.config, "CPO")

    def lookup(value: str) -> v221.Token | None:
        return token if value.upper() == auth_id.upper() else None

    return {
        "token_lookup": lookup,
        "token_country_code": ours.country_code if ours else None,
        "token_party_id": ours.party_id if ours else None,
    }


def snapshot_key(owner: Owner, object_id: str) -> str:
    """Key of the Location snapshot of a 2.1.1 Session/CDR (correlation ``ocpi.location_211.<kind>``)."""
    return f"{owner[0]}/{owner[1]}/{object_id}".upper()


async def save_location_snapshot(
    data: DataApi,
    kind: str,
    owner: Owner,
    object_id: str,
    location: v211.Location,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Keep the Location a 2.1.1 Session/CDR embedded (served back when the gateway has no Location)."""
    await data.put_correlation(
        SNAPSHOT_PREFIX + kind,
        snapshot_key(owner, object_id),
        location.id,
        {"location": to_jsonable(location), **(extra or {})},
    )


async def location_for_211(
    data: DataApi, kind: str, owner: Owner, object_id: str, location_id: str
) -> tuple[v221.Location, v211.Location | None]:
    """The Location a 2.1.1 Session/CDR embeds (ocpi.md §5): the stored one, else the snapshot
    received with the object (returned second, to be served verbatim). MappingError when neither."""
    stored = await data.get_object(LOCATIONS.name, owner[0], owner[1], location_id)
    if stored is not None:
        return v221.Location.model_validate(stored.data), None
    snapshot = await data.get_correlation(SNAPSHOT_PREFIX + kind, snapshot_key(owner, object_id))
    if snapshot is not None and snapshot.data and snapshot.value.upper() == location_id.upper():
        try:
            received = v211.Location.model_validate(snapshot.data["location"])
            up = location_up(
                received,
                country_code=owner[0],
                party_id=owner[1],
                time_zone_default=received.time_zone or "UTC",
            )
            return up.value, received
        except (ValidationError, MappingError) as error:
            raise MappingError(
                "location_id", f"the Location snapshot of {location_id} is unusable: {error}"
            ) from None
    raise MappingError(
        "location_id",
        f"Location {location_id} is unknown to the gateway (a 2.1.1 object embeds the full Location)",
    )


async def _up(source: Any, ctx: ConvertContext) -> Translation[Any]:
    return session_up(
        source, country_code=ctx.owner[0], party_id=ctx.owner[1], **await token_context(ctx, source.auth_id)
    )


async def _down(model: Any, ctx: ConvertContext) -> Translation[Any]:
    location, snapshot = await location_for_211(
        ctx.data, SESSIONS.name, ctx.owner, model.id, model.location_id
    )
    connectors = [c for evse in location.evses or [] for c in evse.connectors]
    translation = session_down(
        model, location=location, tariff_types=await tariff_types(ctx.data, ctx.owner, connectors)
    )
    if snapshot is not None:
        translation.value = translation.value.model_copy(update={"location": snapshot})
    return translation


SESSIONS = ObjectKind(
    name="sessions",
    model=v221.Session,
    label="Session",
    model_211=v211.Session,
    up=_up,
    down=_down,
)
"""Sessions in the object service: stored as 2.2.1, keyed (country_code, party_id, id)."""


# --------------------------------------------------------------------------------------------
# The recipient index (Sessions and CDRs go to the eMSP of their token)


def recipient_of(data: Mapping[str, Any] | None) -> Owner | None:
    """The party a Session/CDR is for: its ``cdr_token`` owner."""
    token = (data or {}).get("cdr_token")
    if not isinstance(token, Mapping):
        return None
    cc, pid = token.get("country_code"), token.get("party_id")
    return (cc, pid) if isinstance(cc, str) and isinstance(pid, str) else None


async def _index_recipient(data: DataApi, change: ObjectChange) -> None:
    """Keep one marker per Session/CDR under ``"<kind>#recipient"``, owned by the token's party,
    with the object's ``last_updated`` (so the store's owner and date filters page them)."""
    if change.kind.name not in RECIPIENT_KINDS:
        return
    marker_kind = change.kind.name + RECIPIENT_SUFFIX
    marker_id = f"{change.owner[0]}/{change.owner[1]}/{change.object_id}"
    before, after = recipient_of(change.before), recipient_of(change.after)
    if before is not None and (
        after is None or (before[0].upper(), before[1].upper()) != (after[0].upper(), after[1].upper())
    ):
        await data.delete_object(marker_kind, before[0], before[1], marker_id)
    if after is not None and change.after is not None:
        await data.put_object(
            marker_kind,
            after[0],
            after[1],
            marker_id,
            {"country_code": change.owner[0], "party_id": change.owner[1], "id": change.object_id},
            parse_datetime(str(change.after["last_updated"])),
            partner=change.partner,
        )


def install(gateway: Gateway) -> ObjectService:
    """Register the recipient index (Sessions and CDRs) and the Tokens' contract-id index on the
    gateway's object service; return the service. Idempotent; call it at start, before anything
    writes Sessions or CDRs through the object service."""
    install_tokens(gateway)
    return ensure_listener(gateway, "sessions_cdrs.recipient", _index_recipient)


async def list_for_recipient(
    service: ObjectService, kind: ObjectKind, caller: Caller, params: PageParams, version: str
) -> tuple[list[bytes], int]:
    """One page of the Sessions/CDRs whose token belongs to the caller: (serialized items, total).

    The page covers ``[offset, offset + limit)`` of the caller's objects in creation order; an
    object 2.1.1 cannot carry (logged) and one the caller owns itself (a partner that is both CPO and
    eMSP is not sent back what it pushed) are left out of it, so the page may be short and the next
    one still starts at ``offset + limit`` (``paginated_response``): nothing is served twice or
    skipped.
    """
    parties = [party.key() for party in caller_parties(caller)]
    own = set(parties)
    items: list[bytes] = []
    async with service.store.transaction() as tx:
        markers, total = await tx.list_objects(
            kind.name + RECIPIENT_SUFFIX,
            owners=parties,
            date_from=params.date_from,
            date_to=params.date_to,
            offset=params.offset,
            limit=params.limit,
        )
        for marker in markers:
            if (str(marker.data["country_code"]).upper(), str(marker.data["party_id"]).upper()) in own:
                continue
            stored = await tx.get_object(
                kind.name, marker.data["country_code"], marker.data["party_id"], marker.data["id"]
            )
            if stored is None:
                log.error("%s marker %s without its object", kind.label, marker.object_id)
                continue
            body = await service.serialize(kind, stored, version, partner=caller.partner.name, tx=tx)
            if body is not None:
                items.append(body)
    return items, total


# --------------------------------------------------------------------------------------------
# Lookups and writes for the flows


async def save_session(
    gateway: Gateway, session: v221.Session, *, partner: str | None = None, tx: DataApi | None = None
) -> PutResult:
    """Store a whole Session (e.g. one the gateway runs as CPO), indexes kept."""
    return await install(gateway).put(
        SESSIONS, (session.country_code, session.party_id), session.id, session, partner=partner, tx=tx
    )


async def get_session(
    gateway: Gateway, owner: Owner, session_id: str, *, tx: DataApi | None = None
) -> v221.Session | None:
    """The stored Session, or None."""
    stored = await install(gateway).get(SESSIONS, owner, session_id, tx=tx)
    return None if stored is None else v221.Session.model_validate(stored.data)


def append_periods(stored: list[Any], patched: list[Any]) -> list[Any]:
    """ocpi#325: PATCHed ``charging_periods`` are appended; one starting at the same instant as a
    stored period replaces it (a retried PATCH does not double the periods)."""

    def start(period: Any) -> datetime:
        value = period.get("start_date_time") if isinstance(period, Mapping) else period.start_date_time
        return value if isinstance(value, datetime) else parse_datetime(str(value))

    merged = list(stored)
    for period in patched:
        when = start(period)
        for index, existing in enumerate(merged):
            if start(existing) == when:
                merged[index] = period
                break
        else:
            merged.append(period)
    return merged


# --------------------------------------------------------------------------------------------
# Routes


async def _put(
    request: Request,
    service: ObjectService,
    version: str,
    owner: Owner,
    party: Owner,
    session_id: str,
    partner: str,
) -> PutResult:
    """PUT: a full Session replaces the stored one, ``charging_periods`` included."""
    if version != "2.1.1":
        session = await parse_body(request, v221.Session)
        check_same_identity(session, owner, "id", session_id)
        return await service.put(SESSIONS, owner, session.id, session, partner=partner)
    received = await parse_body(request, v211.Session)
    check_same_id("id", session_id, received.id)
    async with service.store.transaction() as tx:
        converted = await service.up(SESSIONS, received, owner=party, partner=partner, tx=tx)
        result = await service.put(SESSIONS, owner, session_id, converted, partner=partner, tx=tx)
        await save_location_snapshot(tx, SESSIONS.name, owner, session_id, received.location)
        return result


async def _patch(
    request: Request,
    service: ObjectService,
    version: str,
    owner: Owner,
    party: Owner,
    session_id: str,
    partner: str,
) -> None:
    """PATCH: a merge, ``charging_periods`` appended (ocpi#325), under the object's lock so that two
    concurrent PATCHes cannot lose each other's periods."""
    body = await read_json_object(request)
    async with service.store.transaction() as tx:
        await service._lock(tx, SESSIONS, owner, session_id)
        stored = await service.get(SESSIONS, owner, session_id, tx=tx)
        if stored is None:
            raise NotFound(f"Unknown Session {session_id}")
        lookup: dict[str, Any] = {}
        auth_id = body.get("auth_id") if version == "2.1.1" else None
        if isinstance(auth_id, str):
            ctx = service.context(tx, party, partner)
            lookup["token_lookup"] = (await token_context(ctx, auth_id))["token_lookup"]
        values = service.patch_values(
            SESSIONS,
            version,
            body,
            model=v221.Session,
            model_211=v211.Session,
            owner=party,
            object_id=session_id,
            partner=partner,
            now=datetime.now(UTC),
            require_last_updated=True,
            **lookup,
        )
        check_same_identity(values, owner, "id", session_id)
        if "charging_periods" in values:
            values["charging_periods"] = append_periods(
                list(stored.data.get("charging_periods") or []), values["charging_periods"]
            )
        await service.patch(SESSIONS, owner, session_id, values, partner=partner, tx=tx)
        if version == "2.1.1" and isinstance(body.get("location"), Mapping):
            try:
                location = v211.Location.model_validate(body["location"])
            except ValidationError as error:
                raise InvalidParameters(f"location: {error.errors()[0]['msg']}", field="location") from None
            await save_location_snapshot(tx, SESSIONS.name, owner, session_id, location)


def _receiver(version: str) -> Route:
    """``emsp/sessions/{country_code}/{party_id}/{session_id}`` for one version."""

    async def endpoint(request: Request) -> Response:
        caller = await functional_caller(request)
        params = request.path_params
        url_cc, url_pid, session_id = params["country_code"], params["party_id"], params["session_id"]
        party = check_owner(caller, url_cc, url_pid)
        service = install(gateway_of(request))
        partner = caller.partner.name
        owner = (url_cc, url_pid)
        headers = version_headers(request, caller, version, "EMSP")

        if request.method == "GET":
            stored = await service.get(SESSIONS, owner, session_id)
            body = await stored_body(
                service, SESSIONS, stored, session_id, version, partner=partner,
                why_211=" (its Location is unknown)",
            )
            return ocpi_response(body, headers=headers)

        our_party = (party.country_code, party.party_id)
        if request.method == "PATCH":
            await _patch(request, service, version, owner, our_party, session_id, partner)
            return ocpi_response(headers=headers)
        result = await _put(request, service, version, owner, our_party, session_id, partner)
        return put_response(result.created, headers)

    return Route(
        receiver_object_path(version, RECEIVER_PATH, "session_id"),
        endpoint,
        methods=["GET", "PUT", "PATCH"],
        name=f"ocpi-{version}-sessions-receiver",
    )


def _sender(version: str) -> Route:
    """``cpo/sessions``: the paginated list of the caller's Sessions (``date_from`` required)."""

    async def page(request: Request, caller: Caller, params: PageParams) -> tuple[list[bytes], int]:
        return await list_for_recipient(install(gateway_of(request)), SESSIONS, caller, params, version)

    name = f"ocpi-{version}-sessions-sender"
    return sender_list_route(version, SENDER_PATH, name, "CPO", page, require_date_from=True)


def endpoints(config: BridgeConfig) -> list[ModuleEndpoint]:
    """The Sessions interfaces of every configured version, for the roles the gateway has: the
    Receiver when it is an eMSP, the Sender when it is a CPO or hub."""
    result: list[ModuleEndpoint] = []
    for version in VERSIONS:
        if version not in config.ocpi.versions:
            continue
        routes: tuple[BaseRoute, ...]
        if serves_emsp_role(config):
            routes = (_receiver(version),)
            result.append(ModuleEndpoint(version, "sessions", "RECEIVER", "EMSP", RECEIVER_PATH, routes))
        if serves_cpo_role(config):
            routes = (_sender(version),)
            result.append(ModuleEndpoint(version, "sessions", "SENDER", "CPO", SENDER_PATH, routes))
    return result


__all__ = [
    "RECIPIENT_KINDS",
    "RECIPIENT_SUFFIX",
    "SESSIONS",
    "SNAPSHOT_PREFIX",
    "append_periods",
    "endpoints",
    "get_session",
    "install",
    "list_for_recipient",
    "location_for_211",
    "recipient_of",
    "save_location_snapshot",
    "save_session",
    "snapshot_key",
    "token_context",
]
