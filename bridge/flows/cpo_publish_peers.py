"""The CPO partners' Locations and Tariffs toward the gateway's OCPI eMSP partners ("peers"):
the OCPI half of :mod:`bridge.flows.cpo_publish`.

OCPI 2.2.1 Locations and Tariffs modules, the gateway as Sender pushing to the eMSP's Receiver
interface (reference 000: "Locations CPO → MSP PUT / PATCH", "Tariffs CPO → MSP PUT"):

* A peer is a partner with role EMSP, ``registered``, offering a ``locations`` (or ``tariffs``)
  Receiver endpoint. Peers can also pull everything from the gateway's Sender lists.
* Every change of a CPO partner's Location queues, in the same transaction, for every peer: an
  EVSE ``PATCH {status, last_updated}`` when only the EVSE's status changed, else a ``PUT`` of the
  whole Location. A Tariff change queues a ``PUT``, a deleted Tariff a ``DELETE``.
* Messages of one object go out in order (outbox group per peer and object); the body is the
  2.2.1 object stored at enqueue time, converted down at send time for a 2.1.1 peer (ocpi.md §5;
  a Location 2.1.1 cannot carry, ``publish=false``, is not sent to it, nor a reservation-only
  Tariff).
* Outcomes: a 1xxx answer is delivered; 2001/2002 and HTTP 400 are dead-lettered (the peer would
  refuse the same body again); anything else is retried with backoff. A peer that is no longer
  registered, or offers no such endpoint any more, dead-letters the message with that reason.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from pydantic import ValidationError

from bridge.delivery import Outcome, outcome_from_error
from bridge.errors import MappingError, PartnerError
from bridge.ocpi.client import clients_of
from bridge.ocpi.models.common import to_jsonable
from bridge.ocpi.server.locations import LOCATIONS
from bridge.ocpi.server.objects import ObjectChange, child_of, object_service
from bridge.ocpi.server.tariffs import TARIFFS

if TYPE_CHECKING:
    from bridge.context import Gateway
    from bridge.store.base import DataApi, OutboxMessage, PartnerRecord

log = logging.getLogger("bridge.flows.cpo_publish")

TARGET_PREFIX: Final = "ocpi:"
KIND_LOCATION_PUT: Final = "cpo_publish.ocpi_location_put"
KIND_EVSE_PATCH: Final = "cpo_publish.ocpi_evse_patch"
KIND_TARIFF_PUT: Final = "cpo_publish.ocpi_tariff_put"
KIND_TARIFF_DELETE: Final = "cpo_publish.ocpi_tariff_delete"
KINDS: Final = (KIND_LOCATION_PUT, KIND_EVSE_PATCH, KIND_TARIFF_PUT, KIND_TARIFF_DELETE)
STATUS_FIELDS: Final = frozenset({"status", "last_updated"})


def target_of(partner: str) -> str:
    return TARGET_PREFIX + partner


def offers_receiver(partner: PartnerRecord, module: str) -> bool:
    """Whether the partner offers ``module`` as a Receiver (2.1.1 endpoints have no role)."""
    return any(
        e.get("identifier") == module and e.get("role") in ("RECEIVER", None) for e in partner.endpoints
    )


def status_patch(change: ObjectChange) -> dict[str, Any] | None:
    """The EVSE PATCH body when ``change`` only touched one EVSE's status (and ``last_updated``),
    else None."""
    if len(change.path) != 1 or change.before is None or change.after is None:
        return None
    before, after = child_of(change.before, change.path), child_of(change.after, change.path)
    if before is None or after is None:
        return None
    changed = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    if not changed or not changed <= STATUS_FIELDS:
        return None
    return {"status": after["status"], "last_updated": after["last_updated"]}


async def enqueue_for_peers(data: DataApi, change: ObjectChange) -> int:
    """Queue the change of a CPO partner's Location or Tariff for every peer; returns how many."""
    module = change.kind.name
    peers = [
        p
        for p in await data.list_partners()
        if p.role == "EMSP" and p.status == "registered" and p.token_out and offers_receiver(p, module)
    ]
    if not peers:
        return 0
    cc, pid = change.owner
    base: dict[str, Any] = {"country_code": cc, "party_id": pid, "object_id": change.object_id}
    kind: str
    payload: dict[str, Any]
    order_key = f"{module}/{cc}/{pid}/{change.object_id}".upper()
    if module == LOCATIONS.name:
        patch = status_patch(change)
        if patch is not None:
            kind, payload = KIND_EVSE_PATCH, {**base, "evse_uid": change.path[0].id, "patch": patch}
        else:
            kind, payload = KIND_LOCATION_PUT, {**base, "object": change.after}
    elif change.after is None:
        kind, payload = KIND_TARIFF_DELETE, base
    else:
        kind, payload = KIND_TARIFF_PUT, {**base, "object": change.after}
    for peer in peers:
        await data.enqueue(target_of(peer.name), kind, payload, order_key=order_key)
    return len(peers)


class PeerSender:
    """The Delivery sender of the four peer message kinds."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    async def __call__(self, message: OutboxMessage) -> Outcome:
        name = message.target.removeprefix(TARGET_PREFIX)
        partner = await self.gateway.store.get_partner(name)
        if partner is None or partner.status != "registered" or partner.token_out is None:
            return Outcome.dead(f"{name} is not a registered partner any more")
        module = "tariffs" if message.kind in (KIND_TARIFF_PUT, KIND_TARIFF_DELETE) else "locations"
        if not offers_receiver(partner, module):
            return Outcome.dead(f"{name} offers no {module} Receiver endpoint")
        payload = message.payload
        try:
            body = await self._body(message.kind, payload, partner)
        except (MappingError, ValidationError) as error:
            return Outcome.dead(f"cannot be expressed for {name} (OCPI {partner.version}): {error}")
        if body is _SKIP:
            return Outcome.delivered()
        client = clients_of(self.gateway).for_partner(partner)
        role = None if partner.version == "2.1.1" else "RECEIVER"
        owner = (str(payload["country_code"]), str(payload["party_id"]), str(payload["object_id"]))
        try:
            if message.kind == KIND_EVSE_PATCH:
                await client.patch(module, *owner, str(payload["evse_uid"]), body=body, role=role)
            elif message.kind == KIND_TARIFF_DELETE:
                await client.delete(module, *owner, role=role)
            else:
                await client.put(module, *owner, body=body, role=role)
        except PartnerError as error:
            return outcome_from_error(error)
        return Outcome.delivered()

    async def _body(self, kind: str, payload: Mapping[str, Any], partner: PartnerRecord) -> Any:
        if kind == KIND_TARIFF_DELETE:
            return None
        if kind == KIND_EVSE_PATCH:
            return dict(payload["patch"])
        stored: dict[str, Any] = dict(payload["object"])
        if partner.version != "2.1.1":
            return stored
        object_kind = LOCATIONS if kind == KIND_LOCATION_PUT else TARIFFS
        if object_kind.hidden_211 is not None and object_kind.hidden_211(stored):
            log.info(
                "%s %s not sent to 2.1.1 partner %s (2.1.1 cannot carry it)",
                object_kind.label,
                payload["object_id"],
                partner.name,
            )
            return _SKIP
        model = object_kind.model.model_validate(stored)
        owner = (str(payload["country_code"]), str(payload["party_id"]))
        down = await object_service(self.gateway).down(object_kind, model, owner=owner, partner=partner.name)
        return to_jsonable(down)


_SKIP: Final[Any] = object()

__all__ = [
    "KINDS",
    "KIND_EVSE_PATCH",
    "KIND_LOCATION_PUT",
    "KIND_TARIFF_DELETE",
    "KIND_TARIFF_PUT",
    "PeerSender",
    "enqueue_for_peers",
    "offers_receiver",
    "status_patch",
    "target_of",
]
