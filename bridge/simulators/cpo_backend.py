"""A simulated CPO backend (OCPI 2.2.1), such as Be Charge's, for tests and demos: :class:`CpoBackend`.

It is the OCPI CPO partner of the gateway (reference 000: Be Charge as CPO; reference 002: what a
CPO pushes and receives), built on :class:`~bridge.simulators.ocpi_party.OcpiParty` (versions,
credentials, both handshake directions) with the CPO modules mounted on it:

* **Sender interfaces it serves** (the gateway pulls them for a resync, OCPI 2.2.1
  transport_and_format pagination: ``offset``/``limit``, ``date_from`` inclusive / ``date_to``
  exclusive on ``last_updated``, ``X-Total-Count``, ``X-Limit``, ``Link rel="next"`` keeping the
  filters): ``GET cpo/locations[/{location_id}[/{evse_uid}[/{connector_id}]]]``,
  ``GET cpo/tariffs``, ``GET cpo/sessions``, ``GET cpo/cdrs``.
* **Receiver interfaces it serves**: ``POST cpo/commands/{command}`` answered with a configurable
  CommandResponse (default ACCEPTED), the CommandResult POSTed later to the ``response_url``
  (automatically after ``result_delay`` seconds, or by :meth:`CpoBackend.send_command_result`);
  ``GET/PUT/PATCH cpo/tokens/{country_code}/{party_id}/{uid}[?type=]``.
* **What it pushes** to the gateway's Receiver interfaces, with the gateway's
  :class:`~bridge.ocpi.client.OcpiClient` over the registered connection: Locations, EVSEs and
  Connectors (PUT, PATCH for status), Tariffs (PUT, DELETE), Sessions (PUT, PATCH), CDRs (POST),
  and real-time authorization ``POST tokens/{uid}/authorize``.

Functional calls must carry the connection's token (token A is refused with 401, ocpi.md §1.3).
Every functional exchange, received or sent, is recorded with its bodies in
:attr:`CpoBackend.exchanges`. :func:`network` generates a valid, deterministic network.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlencode

import httpx
import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bridge.config import OcpiTimeouts
from bridge.errors import PartnerError
from bridge.ocpi.client import OcpiClient, OcpiReply, PartyRef
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.models.common import format_datetime, parse_datetime, to_jsonable
from bridge.ocpi.models.patch import apply_patch, validate_patch
from bridge.ocpi.server.auth import token_candidates
from bridge.ocpi.server.envelope import envelope_bytes, ocpi_response
from bridge.ocpi.server.registry import EndpointRegistry, ModuleEndpoint
from bridge.simulators.ocpi_party import Identity, OcpiParty

VERSION = "2.2.1"
BE_CHARGE = Identity(role="CPO", country_code="IT", party_id="BEC", name="Be Charge")
"""Reference 000: Be Charge, country_code IT, party_id BEC."""

COMMAND_MODELS: dict[str, type[BaseModel]] = {
    "START_SESSION": v221.StartSession,
    "STOP_SESSION": v221.StopSession,
    "RESERVE_NOW": v221.ReserveNow,
    "CANCEL_RESERVATION": v221.CancelReservation,
    "UNLOCK_CONNECTOR": v221.UnlockConnector,
}


# --------------------------------------------------------------------------------------------
# The network generator


@dataclass(slots=True)
class Network:
    """A CPO network: Locations (with EVSEs and Connectors) and the Tariffs they reference."""

    locations: list[v221.Location]
    tariffs: list[v221.Tariff]

    @property
    def evses(self) -> list[tuple[v221.Location, v221.EVSE]]:
        return [(location, evse) for location in self.locations for evse in location.evses or ()]


_STREETS = ("Via Roma", "Corso Italia", "Viale Europa", "Via Milano", "Piazza Garibaldi", "Via Dante")
_CITIES = (
    ("Milano", "20121", 45.4642, 9.19),
    ("Roma", "00184", 41.9028, 12.4964),
    ("Torino", "10121", 45.0703, 7.6869),
    ("Bologna", "40121", 44.4949, 11.3426),
)


def network_tariffs(country_code: str = "IT", party_id: str = "BEC", *, at: datetime) -> list[v221.Tariff]:
    """Two tariffs every OCPI → OICP mapping can express: ``AC`` (energy, parking after the
    session) and ``DC`` (energy plus a start fee), prices excluding VAT (OCPI 2.2.1 PriceComponent)."""

    def component(kind: str, price: str, step: int) -> v221.PriceComponent:
        return v221.PriceComponent(
            type=v221.TariffDimensionType(kind), price=Decimal(price), vat=Decimal(22), step_size=step
        )

    ac = v221.Tariff(
        country_code=country_code,
        party_id=party_id,
        id="AC",
        currency="EUR",
        elements=[
            v221.TariffElement(price_components=[component("ENERGY", "0.45", 1)]),
            v221.TariffElement(price_components=[component("PARKING_TIME", "2.00", 60)]),
        ],
        last_updated=at,
    )
    dc = v221.Tariff(
        country_code=country_code,
        party_id=party_id,
        id="DC",
        currency="EUR",
        elements=[
            v221.TariffElement(
                price_components=[component("ENERGY", "0.69", 1), component("FLAT", "1.00", 1)]
            )
        ],
        last_updated=at,
    )
    return [ac, dc]


def network(
    n_locations: int,
    evses_per_location: int = 2,
    *,
    seed: int = 0,
    country_code: str = "IT",
    party_id: str = "BEC",
    operator_name: str = "Be Charge",
    at: datetime | None = None,
) -> Network:
    """``n_locations`` valid OCPI 2.2.1 Locations of the operator ``country_code*party_id``, each
    with ``evses_per_location`` EVSEs (``evse_id`` ``IT*BEC*E<location><evse>``, one AC Type 2
    socket, every third location a DC CCS cable) and the tariffs they reference. Deterministic
    for a ``seed``; every timestamp is ``at`` (default 2024-01-01T00:00:00Z)."""
    rng = random.Random(seed)
    when = at or datetime(2024, 1, 1, tzinfo=UTC)
    statuses = [v221.Status.AVAILABLE] * 6 + [v221.Status.CHARGING, v221.Status.OUTOFORDER]
    locations: list[v221.Location] = []
    for number in range(1, n_locations + 1):
        city, postal_code, lat, lon = _CITIES[rng.randrange(len(_CITIES))]
        dc = number % 3 == 0
        evses = []
        for index in range(1, evses_per_location + 1):
            connector = v221.Connector(
                id="1",
                standard=v221.ConnectorType.IEC_62196_T2_COMBO if dc else v221.ConnectorType.IEC_62196_T2,
                format=v221.ConnectorFormat.CABLE if dc else v221.ConnectorFormat.SOCKET,
                power_type=v221.PowerType.DC if dc else v221.PowerType.AC_3_PHASE,
                max_voltage=400 if dc else 230,
                max_amperage=125 if dc else 32,
                max_electric_power=50000 if dc else 22000,
                tariff_ids=["DC" if dc else "AC"],
                last_updated=when,
            )
            evses.append(
                v221.EVSE(
                    uid=f"{number:05d}-{index}",
                    evse_id=f"{country_code}*{party_id}*E{number:05d}*{index}",
                    status=rng.choice(statuses),
                    capabilities=[v221.Capability.RFID_READER, v221.Capability.REMOTE_START_STOP_CAPABLE],
                    connectors=[connector],
                    last_updated=when,
                )
            )
        locations.append(
            v221.Location(
                country_code=country_code,
                party_id=party_id,
                id=f"LOC{number:05d}",
                publish=True,
                name=f"{operator_name} {city} {number}",
                address=f"{_STREETS[rng.randrange(len(_STREETS))]} {rng.randint(1, 200)}",
                city=city,
                postal_code=postal_code,
                country="ITA",
                coordinates=v221.GeoLocation(
                    latitude=f"{lat + rng.uniform(-0.05, 0.05):.6f}",
                    longitude=f"{lon + rng.uniform(-0.05, 0.05):.6f}",
                ),
                parking_type=v221.ParkingType.ON_STREET,
                evses=evses,
                operator=v221.BusinessDetails(name=operator_name),
                time_zone="Europe/Rome",
                opening_times=v221.Hours(twentyfourseven=True),
                last_updated=when,
            )
        )
    return Network(locations, network_tariffs(country_code, party_id, at=when))


# --------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True, slots=True)
class Exchange:
    """One functional exchange: ``received`` from the gateway or ``sent`` to it. ``status`` is the
    HTTP status (0: no HTTP answer), ``response`` the parsed answer body (or the error text)."""

    direction: Literal["received", "sent"]
    method: str
    path: str
    query: str
    body: Any
    status: int
    response: Any
    at: datetime


@dataclass(slots=True)
class ReceivedCommand:
    """A command the gateway sent: its ``id`` (the simulator's), type, body, the answer given and
    the CommandResult posted (``result_status``: HTTP status of the callback, 0 when it failed)."""

    id: str
    command: str
    body: BaseModel
    response: v221.CommandResponse
    result: v221.CommandResult | None = None
    result_status: int | None = None
    result_sent: asyncio.Event = field(default_factory=asyncio.Event)


Handler = Callable[[Request], Awaitable[Response]]


class _Refused(Exception):
    def __init__(self, http_status: int, status_code: int, message: str) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.status_code = status_code
        self.message = message


def _role(version: str | None, role: str) -> str | None:
    """2.1.1 endpoints have no InterfaceRole: look them up by module only."""
    return None if version == "2.1.1" else role


# --------------------------------------------------------------------------------------------
# The simulator


class CpoBackend:
    """A CPO backend speaking OCPI 2.2.1 to the gateway (see the module docstring).

    ``command_response`` answers every command (``command_responses`` per command type wins);
    ``auto_result`` is the CommandResult POSTed ``result_delay`` seconds after an ACCEPTED answer
    (None: only :meth:`send_command_result` posts one). ``page_limit`` caps the Sender lists.
    """

    def __init__(
        self,
        *,
        base_url: str,
        identity: Identity = BE_CHARGE,
        command_response: v221.CommandResponseType = v221.CommandResponseType.ACCEPTED,
        command_responses: Mapping[str, v221.CommandResponseType] | None = None,
        command_timeout: int = 30,
        auto_result: v221.CommandResultType | None = v221.CommandResultType.ACCEPTED,
        result_delay: float = 0.0,
        page_limit: int = 50,
        grace_seconds: float = 0.0,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.identity = identity
        self.command_response = command_response
        self.command_responses: dict[str, v221.CommandResponseType] = dict(command_responses or {})
        self.command_timeout = command_timeout
        self.auto_result = auto_result
        self.result_delay = result_delay
        self.page_limit = page_limit
        self.locations: dict[str, v221.Location] = {}
        self.tariffs: dict[str, v221.Tariff] = {}
        self.sessions: dict[str, v221.Session] = {}
        self.cdrs: dict[str, v221.CDR] = {}
        self.tokens: dict[tuple[str, str, str, str], v221.Token] = {}
        self.commands: list[ReceivedCommand] = []
        self.exchanges: list[Exchange] = []
        self._clock = datetime(2000, 1, 1, tzinfo=UTC)
        self._tasks: set[asyncio.Task[None]] = set()
        self._command_arrived = asyncio.Event()
        registry = EndpointRegistry()
        for endpoint in self._endpoints():
            registry.add(endpoint)
        self.party = OcpiParty(
            base_url=base_url,
            identities=[identity],
            versions=(VERSION,),
            registry=registry,
            grace_seconds=grace_seconds,
            http=http,
        )

    # ---- party plumbing ---------------------------------------------------------------------

    @property
    def app(self) -> Any:
        """The ASGI app (serve it with :func:`bridge.simulators.serve` or httpx.ASGITransport)."""
        return self.party.app

    @property
    def base_url(self) -> str:
        return self.party.base_url

    def versions_url(self) -> str:
        return self.party.versions_url()

    def issue_token_a(self) -> str:
        """A TOKEN_A for the gateway to register with this backend (outbound partner config)."""
        return self.party.issue_token_a()

    async def register(self, versions_url: str, token_a: str) -> None:
        """Register with the gateway (the backend is the Sender of the handshake, ocpi.md §1.3)."""
        await self.party.register(versions_url, token_a)

    @property
    def registered(self) -> bool:
        return self.party.connection.status == "registered"

    def client(self) -> OcpiClient:
        """The OCPI client over the registered connection (token C/B, the gateway's endpoints,
        routing headers from this backend to the gateway's eMSP party)."""
        connection = self.party.connection
        if connection.token_out is None or connection.status != "registered":
            raise PartnerError("the CPO backend is not registered with the gateway")
        theirs = [r for r in connection.roles if r.get("role") == "EMSP"] or connection.roles
        to_party = PartyRef(str(theirs[0]["country_code"]), str(theirs[0]["party_id"])) if theirs else None
        configured = self.party.token_encoding
        encoding = "base64" if configured == "auto" else configured
        return OcpiClient(
            http=self.party.http,
            token=connection.token_out,
            timeouts=OcpiTimeouts(),
            version=connection.version,
            encoding=encoding,
            endpoints=list(connection.endpoints),
            from_party=PartyRef(self.identity.country_code, self.identity.party_id),
            to_party=to_party,
            name="gateway",
        )

    def now(self) -> datetime:
        """A strictly increasing UTC timestamp (millisecond steps) for ``last_updated``."""
        moment = datetime.now(UTC)
        current = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
        self._clock = max(current, self._clock + timedelta(milliseconds=1))
        return self._clock

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.party.aclose()

    # ---- the network ------------------------------------------------------------------------

    def load(self, data: Network | Sequence[v221.Location], tariffs: Sequence[v221.Tariff] = ()) -> None:
        """Hold these Locations and Tariffs (nothing is pushed: see :meth:`push_network`)."""
        locations = data.locations if isinstance(data, Network) else list(data)
        for tariff in (data.tariffs if isinstance(data, Network) else []) + list(tariffs):
            self.tariffs[tariff.id] = tariff
        for location in locations:
            self.locations[location.id] = location

    def evse(self, location_id: str, evse_uid: str) -> v221.EVSE:
        for evse in self.locations[location_id].evses or ():
            if evse.uid == evse_uid:
                return evse
        raise KeyError(f"no EVSE {evse_uid} in Location {location_id}")

    def evse_ids(self) -> list[str]:
        return [
            evse.evse_id
            for location in self.locations.values()
            for evse in location.evses or ()
            if evse.evse_id
        ]

    # ---- pushes to the gateway ----------------------------------------------------------------

    async def _call(
        self,
        method: str,
        module: str,
        role: str,
        *path: str,
        body: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> OcpiReply:
        client = self.client()
        url = client.object_url(module, *path, role=_role(client.version, role))
        return await self._request(client, method, url, module, body=body, params=params)

    async def _request(
        self,
        client: OcpiClient,
        method: str,
        url: str,
        module: str,
        *,
        body: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> OcpiReply:
        sent = to_jsonable(body) if isinstance(body, BaseModel) else body
        target = httpx.URL(url, params=params)
        try:
            reply = await client.request(method, url, body=body, params=params, module=module)
        except PartnerError as error:
            self._record("sent", method, target, sent, error.http_status or 0, str(error))
            raise
        self._record(
            "sent",
            method,
            target,
            sent,
            reply.http_status,
            {"status_code": reply.status_code, "data": reply.data},
        )
        return reply

    def _record(
        self,
        direction: Literal["received", "sent"],
        method: str,
        url: httpx.URL,
        body: Any,
        status: int,
        response: Any,
    ) -> None:
        exchange = Exchange(
            direction, method, url.path, url.query.decode(), body, status, response, datetime.now(UTC)
        )
        self.exchanges.append(exchange)

    def sent(self, method: str | None = None, path_contains: str = "") -> list[Exchange]:
        """The requests sent to the gateway, optionally filtered."""
        return [
            e
            for e in self.exchanges
            if e.direction == "sent" and (method is None or e.method == method) and path_contains in e.path
        ]

    def received(self, method: str | None = None, path_contains: str = "") -> list[Exchange]:
        """The functional requests received from the gateway, optionally filtered."""
        return [
            e
            for e in self.exchanges
            if e.direction == "received"
            and (method is None or e.method == method)
            and path_contains in e.path
        ]

    async def put_location(self, location: v221.Location) -> OcpiReply:
        """Hold ``location`` and PUT it whole (OCPI 2.2.1 Locations Receiver PUT)."""
        self.locations[location.id] = location
        return await self._call(
            "PUT",
            "locations",
            "RECEIVER",
            location.country_code,
            location.party_id,
            location.id,
            body=location,
        )

    async def push_location(self, location_id: str) -> OcpiReply:
        """PUT a held Location."""
        return await self.put_location(self.locations[location_id])

    async def push_network(self) -> None:
        """PUT every held Tariff, then every held Location (one request each, in order)."""
        for tariff in list(self.tariffs.values()):
            await self.put_tariff(tariff)
        for location in list(self.locations.values()):
            await self.put_location(location)

    async def put_evse(self, location_id: str, evse: v221.EVSE) -> OcpiReply:
        """Hold ``evse`` in its Location and PUT it (``.../{location_id}/{evse_uid}``)."""
        location = self.locations[location_id]
        evses = [e for e in location.evses or () if e.uid != evse.uid] + [evse]
        stamp = max(location.last_updated, evse.last_updated)
        self.locations[location_id] = location.model_copy(update={"evses": evses, "last_updated": stamp})
        return await self._call(
            "PUT",
            "locations",
            "RECEIVER",
            location.country_code,
            location.party_id,
            location_id,
            evse.uid,
            body=evse,
        )

    async def patch_location(self, location_id: str, values: Mapping[str, Any]) -> OcpiReply:
        """PATCH Location fields (``last_updated`` is added when absent)."""
        body = {**values, "last_updated": values.get("last_updated") or format_datetime(self.now())}
        location = self.locations[location_id]
        self.locations[location_id] = apply_patch(location, _validated_patch(v221.Location, body))
        return await self._call(
            "PATCH", "locations", "RECEIVER", location.country_code, location.party_id, location_id, body=body
        )

    async def patch_evse(self, location_id: str, evse_uid: str, values: Mapping[str, Any]) -> OcpiReply:
        """PATCH EVSE fields (``last_updated`` added when absent), held copy updated too."""
        body = {**values, "last_updated": values.get("last_updated") or format_datetime(self.now())}
        location = self.locations[location_id]
        patched = apply_patch(self.evse(location_id, evse_uid), _validated_patch(v221.EVSE, body))
        evses = [patched if e.uid == evse_uid else e for e in location.evses or ()]
        stamp = max(location.last_updated, patched.last_updated)
        self.locations[location_id] = location.model_copy(update={"evses": evses, "last_updated": stamp})
        return await self._call(
            "PATCH",
            "locations",
            "RECEIVER",
            location.country_code,
            location.party_id,
            location_id,
            evse_uid,
            body=body,
        )

    async def set_status(self, location_id: str, evse_uid: str, status: v221.Status | str) -> OcpiReply:
        """An EVSE status change: ``PATCH {status, last_updated}`` (reference 002: status updates)."""
        return await self.patch_evse(location_id, evse_uid, {"status": str(v221.Status(status))})

    async def put_connector(self, location_id: str, evse_uid: str, connector: v221.Connector) -> OcpiReply:
        """Hold ``connector`` in its EVSE and PUT it (``.../{evse_uid}/{connector_id}``)."""
        location = self.locations[location_id]
        evse = self.evse(location_id, evse_uid)
        connectors = [c for c in evse.connectors if c.id != connector.id] + [connector]
        updated = evse.model_copy(
            update={"connectors": connectors, "last_updated": max(evse.last_updated, connector.last_updated)}
        )
        evses = [updated if e.uid == evse_uid else e for e in location.evses or ()]
        stamp = max(location.last_updated, connector.last_updated)
        self.locations[location_id] = location.model_copy(update={"evses": evses, "last_updated": stamp})
        return await self._call(
            "PUT",
            "locations",
            "RECEIVER",
            location.country_code,
            location.party_id,
            location_id,
            evse_uid,
            connector.id,
            body=connector,
        )

    async def put_tariff(self, tariff: v221.Tariff) -> OcpiReply:
        """Hold ``tariff`` and PUT it (Tariffs Receiver)."""
        self.tariffs[tariff.id] = tariff
        return await self._call(
            "PUT", "tariffs", "RECEIVER", tariff.country_code, tariff.party_id, tariff.id, body=tariff
        )

    async def delete_tariff(self, tariff_id: str) -> OcpiReply:
        """Forget a Tariff and DELETE it at the gateway."""
        tariff = self.tariffs.pop(tariff_id)
        owner = (tariff.country_code, tariff.party_id)
        return await self._call("DELETE", "tariffs", "RECEIVER", *owner, tariff_id)

    async def push_session(self, session: v221.Session) -> OcpiReply:
        """Hold ``session`` and PUT it whole (Sessions Receiver)."""
        self.sessions[session.id] = session
        return await self._call(
            "PUT", "sessions", "RECEIVER", session.country_code, session.party_id, session.id, body=session
        )

    async def patch_session(self, session_id: str, values: Mapping[str, Any]) -> OcpiReply:
        """PATCH a held Session (``last_updated`` added when absent; the held copy is merged)."""
        body = {**values, "last_updated": values.get("last_updated") or format_datetime(self.now())}
        session = self.sessions[session_id]
        self.sessions[session_id] = apply_patch(session, _validated_patch(v221.Session, body))
        return await self._call(
            "PATCH", "sessions", "RECEIVER", session.country_code, session.party_id, session_id, body=body
        )

    async def post_cdr(self, cdr: v221.CDR) -> str | None:
        """Hold ``cdr`` and POST it (CDRs Receiver); returns the ``Location`` header of the answer."""
        self.cdrs[cdr.id] = cdr
        reply = await self._call("POST", "cdrs", "RECEIVER", body=cdr)
        location: str | None = reply.headers.get("Location")
        return location

    async def authorize(
        self,
        uid: str,
        type: v221.TokenType | str = "RFID",
        location_id: str | None = None,
        evse_uids: Sequence[str] | None = None,
    ) -> v221.AuthorizationInfo | None:
        """Real-time authorization ``POST {tokens}/{uid}/authorize?type=`` (OCPI 2.2.1 Tokens Sender).

        Returns the AuthorizationInfo, or None when the gateway answers 2004 (unknown token)."""
        body = None
        if location_id is not None:
            body = v221.LocationReferences(location_id=location_id, evse_uids=list(evse_uids or ()) or None)
        try:
            reply = await self._call(
                "POST",
                "tokens",
                "SENDER",
                uid,
                "authorize",
                body=body,
                params={"type": str(v221.TokenType(type))},
            )
        except PartnerError as error:
            if error.code == 2004:
                return None
            raise
        return reply.parse(v221.AuthorizationInfo)

    async def send_command_result(
        self,
        command_id: str,
        result: v221.CommandResultType | v221.CommandResult | str,
    ) -> int:
        """POST a CommandResult for a received command to its ``response_url``; returns the HTTP
        status (0 when the gateway could not be reached or refused it)."""
        command = next(c for c in self.commands if c.id == command_id)
        payload = (
            result
            if isinstance(result, v221.CommandResult)
            else v221.CommandResult(result=v221.CommandResultType(result))
        )
        url = str(getattr(command.body, "response_url"))  # noqa: B009 - every command model has it
        try:
            reply = await self._request(self.client(), "POST", url, "commands", body=payload)
            status = reply.http_status
        except PartnerError as error:
            status = error.http_status or 0
        command.result, command.result_status = payload, status
        command.result_sent.set()
        return status

    async def wait_commands(self, count: int, *, within: float = 10.0) -> list[ReceivedCommand]:
        """Wait until ``count`` commands were received (TimeoutError after ``within`` seconds)."""
        async with asyncio.timeout(within):
            while len(self.commands) < count:
                self._command_arrived.clear()
                await self._command_arrived.wait()
        return list(self.commands)

    # ---- served interfaces --------------------------------------------------------------------

    def _endpoints(self) -> list[ModuleEndpoint]:
        base = f"/ocpi/{VERSION}/cpo"

        def route(path: str, handler: Handler, methods: list[str]) -> Route:
            return Route(base + path, self._guard(handler), methods=methods)

        def sender(identifier: str, routes: Sequence[BaseRoute]) -> ModuleEndpoint:
            return ModuleEndpoint(VERSION, identifier, "SENDER", "CPO", f"cpo/{identifier}", tuple(routes))

        location_object = self._location_object
        token_methods, get = ["GET", "PUT", "PATCH"], ["GET"]
        return [
            sender(
                "locations",
                [
                    route("/locations", self._list(lambda: list(self.locations.values())), ["GET"]),
                    route("/locations/{location_id}", location_object, ["GET"]),
                    route("/locations/{location_id}/{evse_uid}", location_object, ["GET"]),
                    route("/locations/{location_id}/{evse_uid}/{connector_id}", location_object, ["GET"]),
                ],
            ),
            sender("tariffs", [route("/tariffs", self._list(lambda: list(self.tariffs.values())), get)]),
            sender("sessions", [route("/sessions", self._list(lambda: list(self.sessions.values())), get)]),
            sender("cdrs", [route("/cdrs", self._list(lambda: list(self.cdrs.values())), get)]),
            ModuleEndpoint(
                VERSION,
                "commands",
                "RECEIVER",
                "CPO",
                "cpo/commands",
                (route("/commands/{command}", self._command, ["POST"]),),
            ),
            ModuleEndpoint(
                VERSION,
                "tokens",
                "RECEIVER",
                "CPO",
                "cpo/tokens",
                (route("/tokens/{country_code}/{party_id}/{uid}", self._token, token_methods),),
            ),
        ]

    def _guard(self, handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            raw = await request.body()
            try:
                body: Any = orjson.loads(raw) if raw else None
            except orjson.JSONDecodeError:
                body = raw.decode("utf-8", "replace")
            try:
                self._authenticate(request)
                response = await handler(request)
            except _Refused as refused:
                response = ocpi_response(
                    status_code=refused.status_code,
                    status_message=refused.message,
                    http_status=refused.http_status,
                )
            except ValidationError as error:
                first = error.errors(include_input=False, include_url=False)[0]
                where = ".".join(str(part) for part in first["loc"])
                response = ocpi_response(status_code=2001, status_message=f"{where}: {first['msg']}")
            try:
                answer = orjson.loads(bytes(response.body))
            except orjson.JSONDecodeError:
                answer = None
            self._record(
                "received", request.method, httpx.URL(str(request.url)), body, response.status_code, answer
            )
            return response

        return guarded

    def _authenticate(self, request: Request) -> None:
        """Functional modules take the connection's token only; token A is 401 (ocpi.md §1.3)."""
        for candidate in token_candidates(request.headers.get("authorization")):
            kind = self.party.token_kind(candidate)
            if kind in ("CURRENT", "PREVIOUS"):
                return
        raise _Refused(401, 2000, "Unknown or missing token")

    def _list(self, items: Callable[[], list[Any]]) -> Handler:
        async def endpoint(request: Request) -> Response:
            query = request.query_params
            try:
                offset = int(query.get("offset") or 0)
                limit = min(int(query.get("limit") or self.page_limit), self.page_limit)
                date_from = parse_datetime(query["date_from"]) if query.get("date_from") else None
                date_to = parse_datetime(query["date_to"]) if query.get("date_to") else None
            except ValueError as error:
                raise _Refused(200, 2001, f"invalid paging parameter: {error}") from None
            selected = [
                item
                for item in items()
                if (date_from is None or item.last_updated >= date_from)
                and (date_to is None or item.last_updated < date_to)
            ]
            page = selected[offset : offset + limit]
            headers = {"X-Total-Count": str(len(selected)), "X-Limit": str(self.page_limit)}
            if offset + limit < len(selected):
                keep = [(k, v) for k, v in query.multi_items() if k not in ("offset", "limit")]
                keep += [("offset", str(offset + limit)), ("limit", str(limit))]
                headers["Link"] = f'<{self.base_url}{request.url.path}?{urlencode(keep)}>; rel="next"'
            body = envelope_bytes(page)
            return Response(body, headers=headers, media_type="application/json")

        return endpoint

    async def _location_object(self, request: Request) -> Response:
        params = request.path_params
        location = self.locations.get(params["location_id"])
        if location is None:
            raise _Refused(404, 2003, f"Unknown Location {params['location_id']}")
        data: BaseModel = location
        if "evse_uid" in params:
            try:
                evse = self.evse(location.id, params["evse_uid"])
            except KeyError:
                raise _Refused(404, 2000, f"Unknown EVSE {params['evse_uid']}") from None
            data = evse
            if "connector_id" in params:
                found = next((c for c in evse.connectors if c.id == params["connector_id"]), None)
                if found is None:
                    raise _Refused(404, 2000, f"Unknown Connector {params['connector_id']}")
                data = found
        return ocpi_response(data)

    async def _command(self, request: Request) -> Response:
        name = request.path_params["command"]
        model = COMMAND_MODELS.get(name)
        if model is None:
            raise _Refused(404, 2000, f"Unknown command {name}")
        body = model.model_validate_json(await request.body())
        result = self.command_responses.get(name, self.command_response)
        answer = v221.CommandResponse(result=result, timeout=self.command_timeout)
        command = ReceivedCommand(str(uuid.uuid4()), name, body, answer)
        self.commands.append(command)
        self._command_arrived.set()
        if result is v221.CommandResponseType.ACCEPTED and self.auto_result is not None:
            task = asyncio.create_task(self._auto_result(command.id, self.auto_result))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return ocpi_response(answer)

    async def _auto_result(self, command_id: str, result: v221.CommandResultType) -> None:
        if self.result_delay > 0:
            await asyncio.sleep(self.result_delay)
        await self.send_command_result(command_id, result)

    async def _token(self, request: Request) -> Response:
        params = request.path_params
        token_type = request.query_params.get("type", "RFID")
        key = (params["country_code"].upper(), params["party_id"].upper(), params["uid"], token_type)
        if request.method == "GET":
            token = self.tokens.get(key)
            if token is None:
                raise _Refused(404, 2004, "Unknown token")
            return ocpi_response(token)
        if request.method == "PUT":
            token = v221.Token.model_validate_json(await request.body())
            created = key not in self.tokens
            self.tokens[(key[0], key[1], key[2], str(token.type))] = token
            return ocpi_response(http_status=201 if created else 200)
        stored = self.tokens.get(key)
        if stored is None:
            raise _Refused(404, 2004, "Unknown token")
        values = _validated_patch(v221.Token, orjson.loads(await request.body()))
        self.tokens[key] = apply_patch(stored, values)
        return ocpi_response()


def _validated_patch(model: type[BaseModel], body: Mapping[str, Any]) -> dict[str, Any]:
    return validate_patch(model, body, require_last_updated=True)


__all__ = [
    "BE_CHARGE",
    "COMMAND_MODELS",
    "CpoBackend",
    "Exchange",
    "Network",
    "ReceivedCommand",
    "network",
    "network_tariffs",
]
