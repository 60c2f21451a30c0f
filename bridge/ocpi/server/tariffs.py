"""The OCPI Tariffs module (ocpi.md §4.4; owner: CPO), both versions, through the object service.

URLs, relative to ``{public_url}/ocpi/{version}/``:

* ``emsp/tariffs/{country_code}/{party_id}/{tariff_id}``: the gateway as eMSP **receives** Tariffs
  from CPO partners (Receiver interface). ``GET`` returns the stored Tariff (converted to the
  caller's version); ``PUT`` stores a full Tariff (201 created, 200 replaced); ``DELETE`` removes it
  (200; 404 when unknown). ``PATCH``: 2.2.1 has none (HTTP 405 with an envelope); 2.1.1 had one,
  which is merged into the stored Tariff and stored as a full Tariff (ocpi.md §5 Tariff).
* ``cpo/tariffs``: the gateway as CPO **serves** Tariffs (Sender interface): ``GET`` list,
  paginated (offset/limit capped at ``ocpi.page_limit``, ``X-Total-Count``, ``X-Limit``, ``Link``,
  ``date_from`` inclusive / ``date_to`` exclusive on ``last_updated``, creation order).

Ownership (ocpi.md §3.6, §8 point 8): the URL country/party must be one of the caller's credentials
roles (else 404); body ``country_code``/``party_id``/``id`` differing from the URL is 2001 naming the
field. The Sender list serves every stored Tariff except the caller's own (what the gateway owns or
relays); 2.1.1 callers get them converted down (type, min/max_price, vat, start/end_date_time and
current restrictions dropped, logged) and never a Tariff of reservation-only elements, which 2.1.1
cannot express. 2.2.1 responses carry the routing headers (ocpi.md §3.5), 2.1.1 ones do not.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bridge.context import gateway_of
from bridge.errors import MethodNotAllowed, NotFound
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.server.common import (
    PageParams,
    check_owner,
    check_same_id,
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
from bridge.ocpi.server.objects import (
    ConvertContext,
    ObjectKind,
    object_service,
    read_json_object,
)
from bridge.ocpi.server.registry import ModuleEndpoint
from mappings.ocpi_versions import tariff_down, tariff_up

if TYPE_CHECKING:
    from bridge.config import BridgeConfig
    from bridge.ocpi.server.auth import Caller
    from mappings.result import Translation

VERSIONS = ("2.2.1", "2.1.1")
RECEIVER_PATH = "emsp/tariffs"
SENDER_PATH = "cpo/tariffs"


async def _up(source: Any, ctx: ConvertContext) -> Translation[Any]:
    return tariff_up(source, country_code=ctx.owner[0], party_id=ctx.owner[1])


async def _down(model: Any, ctx: ConvertContext) -> Translation[Any]:
    return tariff_down(model)


def _reservation_only(data: Mapping[str, Any]) -> bool:
    """2.1.1 has no reservations: a Tariff whose every element is reservation-restricted has
    nothing left in 2.1.1 (``tariff_down`` refuses it) and is not served to 2.1.1 partners."""
    elements = data.get("elements") or []
    return bool(elements) and all((e.get("restrictions") or {}).get("reservation") for e in elements)


TARIFFS = ObjectKind(
    name="tariffs",
    model=v221.Tariff,
    label="Tariff",
    model_211=v211.Tariff,
    up=_up,
    down=_down,
    hidden_211=_reservation_only,
)
"""Tariffs in the object service: stored as 2.2.1, keyed (country_code, party_id, id)."""


def _receiver(version: str) -> Route:
    """``emsp/tariffs/{country_code}/{party_id}/{tariff_id}`` for one version."""

    async def endpoint(request: Request) -> Response:
        caller = await functional_caller(request)
        params = request.path_params
        url_cc, url_pid, tariff_id = params["country_code"], params["party_id"], params["tariff_id"]
        if request.method == "PATCH" and version != "2.1.1":
            raise MethodNotAllowed("Tariffs have no PATCH in OCPI 2.2.1: PUT the whole Tariff")
        party = check_owner(caller, url_cc, url_pid)
        service = object_service(gateway_of(request))
        partner = caller.partner.name
        owner = (url_cc, url_pid)
        headers = version_headers(request, caller, version, "EMSP")

        if request.method == "GET":
            stored = await service.get(TARIFFS, owner, tariff_id)
            body = await stored_body(service, TARIFFS, stored, tariff_id, version, partner=partner)
            return ocpi_response(body, headers=headers)

        if request.method == "DELETE":
            if not await service.delete(TARIFFS, owner, tariff_id, partner=partner):
                raise NotFound(f"Unknown Tariff {tariff_id}")
            return ocpi_response(headers=headers)

        if request.method == "PATCH":  # 2.1.1 only: merged, then stored as a full Tariff
            values = service.patch_values(
                TARIFFS, version, await read_json_object(request), model=v221.Tariff, model_211=v211.Tariff,
                owner=(party.country_code, party.party_id), object_id=tariff_id, partner=partner,
                now=datetime.now(UTC), require_last_updated=False,
            )
            check_same_id("id", tariff_id, values.get("id"))
            await service.patch(TARIFFS, owner, tariff_id, values, partner=partner)
            return ocpi_response(headers=headers)

        tariff = await received_object(
            request, service, TARIFFS, version, url_owner=owner, party=(party.country_code, party.party_id),
            object_id=tariff_id, partner=partner,
        )
        result = await service.put(
            TARIFFS, (tariff.country_code, tariff.party_id), tariff.id, tariff, partner=partner
        )
        return put_response(result.created, headers)

    return Route(
        receiver_object_path(version, RECEIVER_PATH, "tariff_id"),
        endpoint,
        methods=["GET", "PUT", "PATCH", "DELETE"],
        name=f"ocpi-{version}-tariffs-receiver",
    )


def _sender(version: str) -> Route:
    """``cpo/tariffs``: the paginated list (ocpi.md §3.3)."""

    async def page(request: Request, caller: Caller, params: PageParams) -> tuple[list[bytes], int]:
        found = await object_service(gateway_of(request)).list_for(caller, TARIFFS, params, version=version)
        return found.items, found.total

    return sender_list_route(version, SENDER_PATH, f"ocpi-{version}-tariffs-sender", "CPO", page)


def endpoints(config: BridgeConfig) -> list[ModuleEndpoint]:
    """The Tariffs interfaces of every configured version, for the roles the gateway has: the
    Receiver when it is an eMSP, the Sender when it is a CPO or hub (2.1.1 ignores ``role``)."""
    result: list[ModuleEndpoint] = []
    for version in VERSIONS:
        if version not in config.ocpi.versions:
            continue
        if serves_emsp_role(config):
            receiver = (_receiver(version),)
            result.append(ModuleEndpoint(version, "tariffs", "RECEIVER", "EMSP", RECEIVER_PATH, receiver))
        if serves_cpo_role(config):
            sender = (_sender(version),)
            result.append(ModuleEndpoint(version, "tariffs", "SENDER", "CPO", SENDER_PATH, sender))
    return result


__all__ = ["TARIFFS", "endpoints"]
