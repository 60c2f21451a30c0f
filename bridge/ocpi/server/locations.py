"""The OCPI Locations module (ocpi.md §4.1; owner: CPO), both versions, through the object service.

URLs, relative to ``{public_url}/ocpi/{version}/``:

* ``emsp/locations/{country_code}/{party_id}/{location_id}[/{evse_uid}[/{connector_id}]]``: the
  gateway as eMSP **receives** Locations, EVSEs and Connectors from CPO partners (Receiver
  interface): ``GET`` (the stored object, converted to the caller's version), ``PUT`` (a full
  object: 201 created, 200 replaced) and ``PATCH`` (a merge). There is no POST or DELETE: EVSEs are
  removed with ``status=REMOVED``, which is stored like any status; Locations are never deleted.
* ``cpo/locations`` and ``cpo/locations/{location_id}[/{evse_uid}[/{connector_id}]]``: the gateway
  as CPO **serves** Locations (Sender interface): the paginated list (offset/limit capped at
  ``ocpi.page_limit``, ``X-Total-Count``, ``X-Limit``, ``Link``, ``date_from`` inclusive /
  ``date_to`` exclusive on ``last_updated``, creation order) and single objects.

Rules and the decisions taken where the spec leaves room:

* Ownership (ocpi.md §3.6, §8 point 8; precedence credentials role > URL > body): the URL
  country/party must be one of the caller's credentials roles, else **404**; a body
  ``country_code``/``party_id``/``id``/``uid`` differing from the URL is **2001** naming the field.
* EVSE or Connector PUT/PATCH under an unknown Location: **HTTP 200 with status_code 2003**
  (unknown Location). ocpi.md §2.3: the request is valid JSON from an authenticated sender, so it
  gets an OCPI status rather than an HTTP error, and 2003 is the code OCPI defines for exactly this;
  the CPO then PUTs the whole Location. A Connector under a known Location but an unknown EVSE is
  **404** (no OCPI code names an unknown EVSE; a Connector cannot exist without its EVSE).
  ``GET`` of anything unknown and ``PATCH`` of an unknown Location are 404 (ocpi.md §2.3).
* ``last_updated`` (ocpi.md §3.6, §8 point 6): a Connector PUT/PATCH sets its EVSE's and
  Location's ``last_updated`` to its own when newer, an EVSE one the Location's; a PUT identical to
  what is stored, or a PATCH that changes nothing, writes and bumps nothing.
* PATCH (ocpi.md §3.6, §8 point 5): 2.2.1 requires ``last_updated`` (2001 otherwise); 2.1.1 does
  not, and a PATCH without it is stamped with the time of receipt. Merge semantics: arrays are
  replaced, so EVSEs and Connectors are best patched on their own URLs.
* The Sender serves every stored Location except the caller's own (what the gateway owns from
  Hubject and what other CPO partners pushed: it relays them). ``publish=false`` Locations are
  served to 2.2.1 callers, with ``publish``/``publish_allowed_to`` intact, because OCPI 2.2.1 sends
  them to eMSPs and leaves the showing to the eMSP (who knows its tokens); they are never served to
  2.1.1 callers, which have no publish flag (ocpi.md §5). 2.1.1 callers get the Location converted
  down (ocpi.md §5; a connector with more than one tariff keeps the REGULAR or untyped one).
* ``GET cpo/locations/{location_id}`` names no owner: a 2.2.1 caller's ``OCPI-to-*`` headers name
  it when given (ocpi.md §3.5: platforms are addressed per party), otherwise the id index finds it,
  preferring the gateway's own CPO parties.
* The 2.2.1 example ``location_put_example_add_evse.json`` and the 2.1.1
  ``mod_locations__put_example_add_an_evse.json`` are incomplete EVSEs (connectors without
  power_type/voltage/amperage): the PUT is refused with 2001 naming the first missing field,
  consistently with the models.
* 2.1.1 Locations may lack ``time_zone``, which 2.2.1 requires: it is taken from the mapping rules
  (``locations.time_zone``, else ``locations.time_zones_by_country`` by Location.country); a
  Location in a country without a single zone and no rule is refused with 2001 naming
  ``time_zone``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bridge.context import gateway_of
from bridge.errors import InvalidParameters, MappingError, NotFound, UnknownLocation
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.models.common import to_json
from bridge.ocpi.server.common import (
    PageParams,
    caller_parties,
    check_owner,
    check_same_id,
    check_same_identity,
    cpo_role_parties,
    functional_caller,
    parse_body,
    put_response,
    received_object,
    receiver_object_path,
    sender_list_route,
    serves_cpo_role,
    serves_emsp_role,
    version_headers,
)
from bridge.ocpi.server.envelope import ocpi_response
from bridge.ocpi.server.objects import (
    ChildPath,
    ChildStep,
    ConvertContext,
    ObjectKind,
    ObjectService,
    Owner,
    child_of,
    object_service,
    read_json_object,
)
from bridge.ocpi.server.registry import ModuleEndpoint
from bridge.ocpi.server.tariffs import TARIFFS
from mappings.ocpi_versions import (
    connector_down,
    connector_up,
    evse_down,
    evse_up,
    location_down,
    location_up,
)

if TYPE_CHECKING:
    from bridge.config import BridgeConfig
    from bridge.ocpi.server.auth import Caller
    from bridge.store.base import DataApi, StoredObject
    from mappings.result import Translation

VERSIONS = ("2.2.1", "2.1.1")
RECEIVER_PATH = "emsp/locations"
SENDER_PATH = "cpo/locations"

TariffTypes = dict[str, "v221.TariffType | None"]


# --------------------------------------------------------------------------------------------
# The kind and its conversions


def default_time_zone(ctx: ConvertContext, location_id: str, country: str) -> str | None:
    """The IANA zone for a 2.1.1 Location without ``time_zone`` (ocpi.md §5: "derive it if
    absent"): the mapping rules' ``locations.time_zone`` for this partner/owner/location, else the
    zone of its country when the country has a single one."""
    rules = ctx.rules.resolve(
        partner=ctx.partner, location_id=location_id, country_code=ctx.owner[0], party_id=ctx.owner[1]
    ).locations
    return rules.time_zone or rules.time_zones_by_country.get(country.upper())


async def _up(source: Any, ctx: ConvertContext) -> Translation[Any]:
    zone = source.time_zone or default_time_zone(ctx, source.id, source.country)
    if zone is None:
        raise InvalidParameters(
            f"time_zone: absent, and no single time zone is known for country {source.country}"
            " (OCPI 2.2.1 requires one; set locations.time_zone in the mapping rules)",
            field="time_zone",
        )
    return location_up(source, country_code=ctx.owner[0], party_id=ctx.owner[1], time_zone_default=zone)


async def tariff_types(data: DataApi, owner: Owner, connectors: list[v221.Connector]) -> TariffTypes:
    """The TariffType of every tariff referenced by a connector with several ``tariff_ids``, so that
    2.1.1's single ``tariff_id`` can be the REGULAR or untyped one (ocpi.md §5 Connector)."""
    types: TariffTypes = {}
    for connector in connectors:
        if not connector.tariff_ids or len(connector.tariff_ids) < 2:
            continue
        for tariff_id in connector.tariff_ids:
            if tariff_id in types:
                continue
            stored = await data.get_object(TARIFFS.name, owner[0], owner[1], tariff_id)
            if stored is not None:
                raw = stored.data.get("type")
                types[tariff_id] = v221.TariffType(raw) if raw in set(v221.TariffType) else None
    return types


def _connectors(location: v221.Location) -> list[v221.Connector]:
    return [connector for evse in location.evses or [] for connector in evse.connectors]


async def _down(model: Any, ctx: ConvertContext) -> Translation[Any]:
    return location_down(model, tariff_types=await tariff_types(ctx.data, ctx.owner, _connectors(model)))


def _unpublished(data: Mapping[str, Any]) -> bool:
    """ocpi.md §5: don't publish ``publish=false`` Locations to 2.1.1 peers."""
    return data.get("publish") is False


LOCATIONS = ObjectKind(
    name="locations",
    model=v221.Location,
    label="Location",
    model_211=v211.Location,
    up=_up,
    down=_down,
    hidden_211=_unpublished,
    index_ids=True,
)
"""Locations in the object service: stored as 2.2.1 with their EVSEs and Connectors inside."""


def _path(evse_uid: str | None, connector_id: str | None) -> ChildPath:
    if evse_uid is None:
        return ()
    evse = ChildStep("evses", "uid", evse_uid, "EVSE")
    if connector_id is None:
        return (evse,)
    return (evse, ChildStep("connectors", "id", connector_id, "Connector"))


# --------------------------------------------------------------------------------------------
# Serving one stored Location, EVSE or Connector


async def _object_bytes(
    service: ObjectService, stored: StoredObject, path: ChildPath, version: str, partner: str
) -> bytes:
    """The Location, or its child at ``path``, as the caller's version; 404 when unknown."""
    if not path:
        body = await service.serialize(LOCATIONS, stored, version, partner=partner)
        if body is None:
            raise NotFound(f"Location {stored.object_id} cannot be sent in OCPI 2.1.1 (unpublished)")
        return body
    child = child_of(stored.data, path)
    if child is None:
        raise NotFound(f"Unknown {path[-1].label} {path[-1].id}")
    if version != "2.1.1":
        return orjson.dumps(child)
    owner = (stored.country_code, stored.party_id)
    try:
        if len(path) == 1:
            evse = v221.EVSE.model_validate(child)
            translation: Translation[Any] = evse_down(
                evse, tariff_types=await tariff_types(service.store, owner, evse.connectors)
            )
        else:
            connector = v221.Connector.model_validate(child)
            translation = connector_down(
                connector, tariff_types=await tariff_types(service.store, owner, [connector])
            )
    except MappingError as error:
        raise NotFound(f"{path[-1].label} {path[-1].id} cannot be expressed in OCPI 2.1.1: {error}") from None
    service.note_losses(
        LOCATIONS, owner, stored.object_id, f"{path[-1].label} {path[-1].id} to 2.1.1", partner,
        translation.losses, once_key=("down", "locations", str(stored.seq), *(s.id for s in path),
                                      str(child.get("last_updated"))),
    )
    return to_json(translation.value)


# --------------------------------------------------------------------------------------------
# Receiver interface (the gateway as eMSP)


async def _parse_child(
    request: Request, version: str, path: ChildPath, service: ObjectService, owner: Owner, partner: str
) -> BaseModel:
    """The EVSE or Connector of a PUT body as 2.2.1 (2.1.1 converted up, losses logged)."""
    translation: Translation[Any]
    if len(path) == 1:
        if version != "2.1.1":
            return await parse_body(request, v221.EVSE)
        translation = evse_up(await parse_body(request, v211.EVSE))
    else:
        if version != "2.1.1":
            return await parse_body(request, v221.Connector)
        translation = connector_up(await parse_body(request, v211.Connector))
    service.note_losses(
        LOCATIONS, owner, request.path_params["location_id"], f"{path[-1].label} {path[-1].id} from 2.1.1",
        partner, translation.losses,
    )
    child: BaseModel = translation.value
    return child


def _receiver(version: str) -> list[BaseRoute]:
    """``emsp/locations/{country_code}/{party_id}/{location_id}[/{evse_uid}[/{connector_id}]]``."""

    async def endpoint(request: Request) -> Response:
        caller = await functional_caller(request)
        params = request.path_params
        url_cc, url_pid, location_id = params["country_code"], params["party_id"], params["location_id"]
        path = _path(params.get("evse_uid"), params.get("connector_id"))
        party = check_owner(caller, url_cc, url_pid)
        service = object_service(gateway_of(request))
        partner = caller.partner.name
        owner = (url_cc, url_pid)
        headers = version_headers(request, caller, version, "EMSP")
        unknown_location = UnknownLocation(f"Unknown Location {location_id}: PUT the Location first")

        if request.method == "GET":
            stored = await service.get(LOCATIONS, owner, location_id)
            if stored is None:
                raise NotFound(f"Unknown Location {location_id}")
            body = await _object_bytes(service, stored, path, version, partner)
            return ocpi_response(body, headers=headers)

        if request.method == "PATCH":
            model: type[BaseModel] = (v221.Location, v221.EVSE, v221.Connector)[len(path)]
            model_211: type[BaseModel] = (v211.Location, v211.EVSE, v211.Connector)[len(path)]
            values = service.patch_values(
                LOCATIONS, version, await read_json_object(request), model=model, model_211=model_211,
                owner=(party.country_code, party.party_id), object_id=location_id, partner=partner,
                now=datetime.now(UTC),
            )
            if not path:
                check_same_identity(values, owner, "id", location_id)
            else:
                check_same_id(path[-1].id_field, path[-1].id, values.get(path[-1].id_field))
            await service.patch(
                LOCATIONS, owner, location_id, values, partner=partner, path=path, model=model,
                root_missing=unknown_location if path else None,
            )
            return ocpi_response(headers=headers)

        if path:
            child = await _parse_child(request, version, path, service, owner, partner)
            check_same_id(path[-1].id_field, path[-1].id, getattr(child, path[-1].id_field))
            result = await service.put_child(
                LOCATIONS, owner, location_id, path, child, partner=partner, root_missing=unknown_location
            )
            return put_response(result.created, headers)

        location = await received_object(
            request, service, LOCATIONS, version, url_owner=owner, party=(party.country_code, party.party_id),
            object_id=location_id, partner=partner,
        )
        result = await service.put(
            LOCATIONS, (location.country_code, location.party_id), location.id, location, partner=partner
        )
        return put_response(result.created, headers)

    base = receiver_object_path(version, RECEIVER_PATH, "location_id")
    methods = ["GET", "PUT", "PATCH"]
    name = f"ocpi-{version}-locations-receiver"
    return [
        Route(base, endpoint, methods=methods, name=name),
        Route(base + "/{evse_uid}", endpoint, methods=methods, name=name + "-evse"),
        Route(base + "/{evse_uid}/{connector_id}", endpoint, methods=methods, name=name + "-connector"),
    ]


# --------------------------------------------------------------------------------------------
# Sender interface (the gateway as CPO)


def _to_header_owner(request: Request) -> Owner | None:
    """The party a 2.2.1 request is addressed to (``OCPI-to-*``, ocpi.md §3.5), if given."""
    cc = request.headers.get("ocpi-to-country-code")
    pid = request.headers.get("ocpi-to-party-id")
    return (cc, pid) if cc and pid else None


def _sender(version: str) -> list[BaseRoute]:
    """``cpo/locations`` (paginated list) and ``cpo/locations/{location_id}[/...]``."""

    async def page(request: Request, caller: Caller, params: PageParams) -> tuple[list[bytes], int]:
        found = await object_service(gateway_of(request)).list_for(caller, LOCATIONS, params, version=version)
        return found.items, found.total

    async def object_endpoint(request: Request) -> Response:
        caller = await functional_caller(request)
        params = request.path_params
        location_id = params["location_id"]
        path = _path(params.get("evse_uid"), params.get("connector_id"))
        gateway = gateway_of(request)
        service = object_service(gateway)
        own = [party.key() for party in caller_parties(caller)]
        ours = [(p.country_code, p.party_id) for p in cpo_role_parties(gateway.config)]
        addressed = _to_header_owner(request) if version != "2.1.1" else None
        stored = None
        if addressed is not None:
            stored = await service.find(LOCATIONS, location_id, owner=addressed, exclude=own)
        if stored is None:
            stored = await service.find(LOCATIONS, location_id, exclude=own, prefer=ours)
        if stored is None:
            raise NotFound(f"Unknown Location {location_id}")
        body = await _object_bytes(service, stored, path, version, caller.partner.name)
        return ocpi_response(body, headers=version_headers(request, caller, version, "CPO"))

    base = f"/ocpi/{version}/{SENDER_PATH}"
    name = f"ocpi-{version}-locations-sender"
    return [
        sender_list_route(version, SENDER_PATH, name, "CPO", page),
        Route(base + "/{location_id}", object_endpoint, methods=["GET"], name=name + "-location"),
        Route(base + "/{location_id}/{evse_uid}", object_endpoint, methods=["GET"], name=name + "-evse"),
        Route(
            base + "/{location_id}/{evse_uid}/{connector_id}", object_endpoint, methods=["GET"],
            name=name + "-connector",
        ),
    ]


def endpoints(config: BridgeConfig) -> list[ModuleEndpoint]:
    """The Locations interfaces of every configured version, for the roles the gateway has: the
    Receiver when it is an eMSP, the Sender when it is a CPO or hub (2.1.1 ignores ``role``)."""
    result: list[ModuleEndpoint] = []
    for version in VERSIONS:
        if version not in config.ocpi.versions:
            continue
        if serves_emsp_role(config):
            routes = tuple(_receiver(version))
            result.append(ModuleEndpoint(version, "locations", "RECEIVER", "EMSP", RECEIVER_PATH, routes))
        if serves_cpo_role(config):
            routes = tuple(_sender(version))
            result.append(ModuleEndpoint(version, "locations", "SENDER", "CPO", SENDER_PATH, routes))
    return result


__all__ = ["LOCATIONS", "default_time_zone", "endpoints", "tariff_types"]
