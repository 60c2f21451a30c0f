"""The HubClientInfo module, Sender interface of the Hub (OCPI 2.2.1 only; ocpi.md §4.8).

When the gateway presents Hubject's operators in the ``hub`` presentation (docs/emsp-locations.md)
it is an OCPI 2.2.1 Hub: its credentials carry role HUB only (ocpi.md §1.2 "A Hub reports only
role HUB and announces its connected parties via HubClientInfo") and each operator is a CPO party
behind it. This module serves the Hub's Sender interface:

* ``GET /ocpi/2.2.1/hub/hubclientinfo?date_from&date_to&offset&limit`` → ``ClientInfo[]``,
  paginated like every Sender list (ocpi.md §3.3: ``date_from`` inclusive, ``date_to`` exclusive
  on ``last_updated``, ``X-Total-Count``, ``X-Limit``, ``Link``);
* a Configuration module: **no** ``OCPI-from-*``/``OCPI-to-*`` headers (ocpi.md §3.5).

The list's source is the store: every ClientInfo the gateway announces is kept as an object of
kind :data:`HUBCLIENTINFO_KIND` keyed by the party and its role (:func:`record_client_info`, called
by the eMSP push flow for every operator party it presents). Its ``last_updated`` is the time the
party was first announced or its status last changed, so a crawl with ``date_from`` sees exactly
the parties that appeared or changed, and the ClientInfo PUT to an eMSP's Receiver carries the same
object as the list.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bridge.context import gateway_of
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.models.common import to_json
from bridge.ocpi.server.common import functional_caller, page_params, paginated_response
from bridge.ocpi.server.registry import ModuleEndpoint

if TYPE_CHECKING:
    from bridge.config import BridgeConfig
    from bridge.store.base import DataApi, StoredObject

HUBCLIENTINFO_KIND = "hubclientinfo"
"""Store kind of the ClientInfo objects the Hub serves; object id = the party's Role."""

SENDER_PATH = "hub/hubclientinfo"
"""Where the Hub's Sender interface is served, relative to ``/ocpi/2.2.1/``."""

VERSION = "2.2.1"


def client_info(stored: StoredObject) -> v221.ClientInfo:
    """The ClientInfo of a stored row, validated (ocpi.md §4.8: party_id, country_code, role,
    status, last_updated, all required)."""
    return v221.ClientInfo.model_validate(
        {
            **stored.data,
            "country_code": stored.country_code,
            "party_id": stored.party_id,
            "role": stored.object_id,
            "last_updated": stored.last_updated,
        }
    )


async def get_client_info(
    data: DataApi, country_code: str, party_id: str, role: v221.Role = v221.Role.CPO
) -> v221.ClientInfo | None:
    """The stored ClientInfo of one party and role, if it was announced."""
    stored = await data.get_object(HUBCLIENTINFO_KIND, country_code, party_id, role.value)
    return client_info(stored) if stored is not None else None


async def record_client_info(
    data: DataApi,
    country_code: str,
    party_id: str,
    *,
    now: datetime,
    role: v221.Role = v221.Role.CPO,
    status: v221.ConnectionStatus = v221.ConnectionStatus.CONNECTED,
) -> v221.ClientInfo:
    """Store the ClientInfo of a party behind the Hub and return it (idempotent).

    An unchanged party keeps its ``last_updated`` (ocpi.md §3.3: ``date_from`` filters on it, and a
    party that did not change must not reappear in every crawl); a new party or a status change is
    stamped ``now``.
    """
    existing = await get_client_info(data, country_code, party_id, role)
    if existing is not None and existing.status == status:
        return existing
    info = v221.ClientInfo(
        party_id=party_id.upper(),
        country_code=country_code.upper(),
        role=role,
        status=status,
        last_updated=now,
    )
    await data.put_object(
        HUBCLIENTINFO_KIND,
        info.country_code,
        info.party_id,
        role.value,
        {"status": info.status.value},
        info.last_updated,
    )
    return info


async def _list(request: Request) -> Response:
    """``GET {hci_url}``: one page of the ClientInfo objects, oldest first, no routing headers."""
    await functional_caller(request)
    params = page_params(request)
    found, total = await gateway_of(request).store.list_objects(
        HUBCLIENTINFO_KIND,
        date_from=params.date_from,
        date_to=params.date_to,
        offset=params.offset,
        limit=params.limit,
    )
    items = [to_json(client_info(stored)) for stored in found]
    return paginated_response(request, items, total, params)


def endpoints(config: BridgeConfig) -> list[ModuleEndpoint]:
    """The Hub's hubclientinfo Sender: OCPI 2.2.1 only (2.1.1 has no such module, ocpi.md §1.1),
    mounted only when a HUB party is configured."""
    if VERSION not in config.ocpi.versions or not config.ocpi.parties_with_role("HUB"):
        return []
    name = f"ocpi-{VERSION}-hubclientinfo-sender"
    route = Route(f"/ocpi/{VERSION}/{SENDER_PATH}", _list, methods=["GET"], name=name)
    return [ModuleEndpoint(VERSION, "hubclientinfo", "SENDER", "HUB", SENDER_PATH, (route,))]


__all__ = [
    "HUBCLIENTINFO_KIND",
    "SENDER_PATH",
    "client_info",
    "endpoints",
    "get_client_info",
    "record_client_info",
]
