"""A simulated eMSP backend speaking OCPI (2.2.1, and 2.1.1) to the gateway: :class:`EmspBackend`.

It plays the eMSP whose drivers charge at Hubject-only operators through the gateway (the gateway
is its CPO, docs/emsp-charging.md). Written from the OCPI spec rather than from the gateway's
code, so that the two check each other. Built on :class:`~bridge.simulators.ocpi_party.OcpiParty`
(versions, version details, credentials handshake in both directions); on top of it:

* **Client side** (OCPI 2.2.1 mod_tokens / mod_commands, Sender of Tokens and Commands):
  :meth:`EmspBackend.push_token` PUTs a Token to the gateway's Tokens Receiver
  (``{tokens}/{country_code}/{party_id}/{uid}?type=``); :meth:`EmspBackend.send_command` POSTs a
  command to the gateway's Commands Receiver (``{commands}/{COMMAND}``) with a ``response_url``
  unique to the command, pointing back at this backend.
* **Server side** (Receiver of Sessions and CDRs, Sender of Tokens, Commands results, Receiver of
  Locations and Tariffs), every route authenticated with the token the gateway got in the
  handshake: ``PUT/PATCH/GET sessions/{cc}/{pid}/{id}`` (a PATCH merges, ``charging_periods`` are
  appended, ocpi#325); ``POST cdrs`` (answered with a ``Location`` header) and ``GET cdrs/{id}``;
  ``GET tokens`` (its tokens, one page) and ``POST tokens/{uid}/authorize[?type=]`` (real-time
  authorization: answers and latency configurable per uid with :meth:`EmspBackend.answer`,
  unknown tokens HTTP 404 + 2004, ocpi#417); ``POST commands/{COMMAND}/{command_id}`` (the
  CommandResult of a command it sent); ``PUT/PATCH locations/...`` and ``tariffs/...`` (stored as
  received).
* Every request it receives or sends is recorded in :attr:`EmspBackend.exchanges` (method, path,
  query, body, HTTP status, answer); :meth:`EmspBackend.wait_until` lets a test wait for what the
  gateway delivers asynchronously (the outbox) without sleeping a fixed time.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bridge.errors import PartnerError
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.models.common import to_jsonable
from bridge.ocpi.server.envelope import ocpi_response
from bridge.ocpi.server.registry import EndpointRegistry, ModuleEndpoint
from bridge.simulators.ocpi_party import Connection, Identity, OcpiParty, RecordedRequest

EMSP_IDENTITY = Identity(role="EMSP", country_code="NL", party_id="EMS", name="Simulated eMSP backend")


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request the backend received (``direction="in"``) or sent (``"out"``)."""

    direction: Literal["in", "out"]
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    answer: Any


@dataclass(slots=True)
class AuthorizeAnswer:
    """How ``POST tokens/{uid}/authorize`` answers for one uid: ``allowed`` (None: HTTP 404 + 2004,
    the token is unknown), after ``latency`` seconds, with an ``authorization_reference``."""

    allowed: v221.AllowedType | None = v221.AllowedType.ALLOWED
    latency: float = 0.0
    authorization_reference: str | None = None
    info: str | None = None


class _Refusal(Exception):
    def __init__(self, http_status: int, status_code: int, message: str) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.status_code = status_code
        self.message = message


def _decode(value: str) -> str | None:
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    if decoded and all(0x21 <= byte <= 0x7E for byte in decoded):
        return decoded.decode("ascii")
    return None


def _merge(stored: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """OCPI PATCH (2.2.1 transport_and_format): objects merge, everything else replaces; a Session's
    ``charging_periods`` are appended (ocpi#325)."""
    merged = dict(stored)
    for key, value in patch.items():
        if key == "charging_periods" and isinstance(value, list):
            merged[key] = [*(merged.get(key) or []), *value]
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class EmspBackend:
    """The simulated eMSP backend (see the module docstring); serve :attr:`app` on ``base_url``."""

    def __init__(
        self,
        *,
        base_url: str,
        identity: Identity = EMSP_IDENTITY,
        versions: Iterable[str] = ("2.2.1",),
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.identity = identity
        self.versions = tuple(versions)
        self.tokens: dict[tuple[str, str], v221.Token] = {}
        self.sessions: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.cdrs: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.locations: dict[str, dict[str, Any]] = {}
        self.tariffs: dict[str, dict[str, Any]] = {}
        self.command_results: dict[str, list[dict[str, Any]]] = {}
        self.answers: dict[str, AuthorizeAnswer] = {}
        self.default_answer = AuthorizeAnswer()
        self.exchanges: list[Exchange] = []
        self._changed = asyncio.Condition()
        registry = EndpointRegistry()
        for version in self.versions:
            for endpoint in self._endpoints(version):
                registry.add(endpoint)
        self.party = OcpiParty(
            base_url=self.base_url, identities=[identity], versions=self.versions, registry=registry
        )

    # ---- set-up -----------------------------------------------------------------------------

    @property
    def app(self) -> Any:
        """The ASGI app (the OCPI party's routes plus this backend's modules)."""
        return self.party.app

    @property
    def connection(self) -> Connection:
        return self.party.connection

    @property
    def version(self) -> str:
        version = self.party.connection.version
        if version is None:
            raise PartnerError("the eMSP backend is not registered with the gateway")
        return version

    async def register(self, versions_url: str, token_a: str) -> Connection:
        """Register with the gateway (the Sender side of the credentials handshake)."""
        return await self.party.register(versions_url, token_a)

    def answer(self, uid: str, answer: AuthorizeAnswer) -> None:
        """How real-time authorization answers for ``uid`` (compared case-insensitively)."""
        self.answers[uid.upper()] = answer

    async def aclose(self) -> None:
        await self.party.aclose()

    # ---- what it sends ----------------------------------------------------------------------

    async def _send(
        self, method: str, url: str, body: Any = None, params: dict[str, str] | None = None
    ) -> dict[str, Any]:
        response = await self.party.call(method, url, json=body, params=params)
        try:
            answer = response.json()
        except ValueError:
            answer = response.text
        path = url.split("://", 1)[-1].partition("/")[2]
        self.exchanges.append(
            Exchange("out", method, "/" + path, dict(params or {}), body, response.status_code, answer)
        )
        if not isinstance(answer, dict):
            raise PartnerError(f"{method} {url}: HTTP {response.status_code} without an OCPI body")
        return answer

    async def push_token(self, token: v221.Token) -> dict[str, Any]:
        """PUT the token to the gateway's Tokens Receiver (OCPI 2.2.1 mod_tokens, eMSP → CPO)."""
        self.tokens[(token.uid.upper(), token.type.value)] = token
        base = self.connection.endpoint("tokens", "RECEIVER")
        url = f"{base}/{token.country_code}/{token.party_id}/{token.uid}"
        params = {"type": token.type.value} if self.version != "2.1.1" else None
        body = to_jsonable(token)
        if self.version == "2.1.1":
            body = {k: v for k, v in body.items() if k not in ("country_code", "party_id")}
            body["auth_id"] = body.pop("contract_id")
        return await self._send("PUT", url, body, params)

    def response_url(self, command: v221.CommandType, command_id: str) -> str:
        return f"{self.base_url}/ocpi/{self.version}/commands/{command.value}/{command_id}"

    async def send_command(
        self, command: v221.CommandType, body: dict[str, Any], *, command_id: str | None = None
    ) -> tuple[str, dict[str, Any]]:
        """POST a command to the gateway's Commands Receiver; ``response_url`` is filled with a URL
        unique to the command. Returns (command id, the answer envelope)."""
        key = command_id or uuid.uuid4().hex
        payload = {**body, "response_url": self.response_url(command, key)}
        url = f"{self.connection.endpoint('commands', 'RECEIVER')}/{command.value}"
        return key, await self._send("POST", url, payload)

    # ---- waiting for what the gateway delivers ----------------------------------------------

    async def wait_until(self, condition: Callable[[], bool], *, within: float = 15.0) -> None:
        """Return once ``condition()`` is true; checked after every request received. ``within``
        only bounds a test that would otherwise hang (TimeoutError)."""
        async with asyncio.timeout(within):
            async with self._changed:
                await self._changed.wait_for(condition)

    def arrived(self, method: str | None = None, contains: str = "") -> list[RecordedRequest]:
        """The requests that reached the backend, recorded on arrival (also those still running,
        or whose caller gave up before the answer)."""
        return [
            r for r in self.party.received if (method is None or r.method == method) and contains in r.path
        ]

    def received(self, method: str | None = None, contains: str = "") -> list[Exchange]:
        """The requests answered, optionally of one method and with ``contains`` in the path."""
        return [
            e
            for e in self.exchanges
            if e.direction == "in" and (method is None or e.method == method) and contains in e.path
        ]

    # ---- serving ----------------------------------------------------------------------------

    def _authenticate(self, request: Request) -> None:
        scheme, _, value = request.headers.get("authorization", "").strip().partition(" ")
        value = value.strip()
        if scheme.lower() != "token" or not value:
            raise _Refusal(401, 2000, "Missing token")
        for candidate in (_decode(value), value):
            if candidate is not None and self.party.token_kind(candidate) in ("CURRENT", "PREVIOUS"):
                return
        raise _Refusal(401, 2000, "Unknown token")

    def _route(
        self,
        path: str,
        handler: Callable[[Request, Any], Awaitable[tuple[int, Any, dict[str, str]]]],
        methods: list[str],
    ) -> Route:
        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            try:
                body = orjson.loads(raw) if raw else None
            except orjson.JSONDecodeError:
                body = raw.decode("utf-8", "replace")
            headers: dict[str, str] = {}
            try:
                self._authenticate(request)
                if raw and not isinstance(body, dict | list):
                    raise _Refusal(400, 2000, "Invalid JSON")
                http_status, data, headers = await handler(request, body)
                response = ocpi_response(data, http_status=http_status, headers=headers)
                answer: Any = {"data": data, "status_code": 1000}
            except _Refusal as refusal:
                http_status = refusal.http_status
                response = ocpi_response(
                    status_code=refusal.status_code, status_message=refusal.message, http_status=http_status
                )
                answer = {"status_code": refusal.status_code, "status_message": refusal.message}
            async with self._changed:
                self.exchanges.append(
                    Exchange(
                        "in",
                        request.method,
                        request.url.path,
                        dict(request.query_params),
                        body,
                        http_status,
                        answer,
                    )
                )
                self._changed.notify_all()
            return response

        return Route(path, endpoint, methods=methods)

    def _endpoints(self, version: str) -> list[ModuleEndpoint]:
        prefix = f"/ocpi/{version}"
        return [
            ModuleEndpoint(
                version,
                "sessions",
                "RECEIVER",
                "EMSP",
                "sessions",
                (
                    self._route(
                        f"{prefix}/sessions/{{cc}}/{{pid}}/{{id}}", self._session, ["GET", "PUT", "PATCH"]
                    ),
                ),
            ),
            ModuleEndpoint(
                version,
                "cdrs",
                "RECEIVER",
                "EMSP",
                "cdrs",
                (
                    self._route(f"{prefix}/cdrs", self._cdr_post, ["POST"]),
                    self._route(f"{prefix}/cdrs/{{id}}", self._cdr_get, ["GET"]),
                ),
            ),
            ModuleEndpoint(
                version,
                "tokens",
                "SENDER",
                "EMSP",
                "tokens",
                (
                    self._route(f"{prefix}/tokens", self._token_list, ["GET"]),
                    self._route(f"{prefix}/tokens/{{uid}}/authorize", self._authorize, ["POST"]),
                ),
            ),
            ModuleEndpoint(
                version,
                "commands",
                "SENDER",
                "EMSP",
                "commands",
                (self._route(f"{prefix}/commands/{{command}}/{{id}}", self._command_result, ["POST"]),),
            ),
            ModuleEndpoint(
                version,
                "locations",
                "RECEIVER",
                "EMSP",
                "locations",
                (
                    self._route(
                        f"{prefix}/locations/{{rest:path}}",
                        self._stored(self.locations),
                        ["GET", "PUT", "PATCH"],
                    ),
                ),
            ),
            ModuleEndpoint(
                version,
                "tariffs",
                "RECEIVER",
                "EMSP",
                "tariffs",
                (
                    self._route(
                        f"{prefix}/tariffs/{{rest:path}}",
                        self._stored(self.tariffs),
                        ["GET", "PUT", "DELETE"],
                    ),
                ),
            ),
        ]

    async def _session(self, request: Request, body: Any) -> tuple[int, Any, dict[str, str]]:
        p = request.path_params
        key = (str(p["cc"]).upper(), str(p["pid"]).upper(), str(p["id"]).upper())
        if request.method == "GET":
            if key not in self.sessions:
                raise _Refusal(404, 2000, "Unknown session")
            return 200, self.sessions[key], {}
        if not isinstance(body, dict):
            raise _Refusal(200, 2001, "a Session object is required")
        if request.method == "PUT":
            self.sessions[key] = body
            return 200, None, {}
        if key not in self.sessions:
            raise _Refusal(404, 2000, "Unknown session: PUT it first")
        if self.version != "2.1.1" and "last_updated" not in body:
            raise _Refusal(200, 2001, "last_updated is required in a PATCH")
        self.sessions[key] = _merge(self.sessions[key], body)
        return 200, None, {}

    async def _cdr_post(self, request: Request, body: Any) -> tuple[int, Any, dict[str, str]]:
        if not isinstance(body, dict) or "id" not in body:
            raise _Refusal(200, 2001, "a CDR object is required")
        cc = str(
            body.get(
                "country_code", self.connection.roles[0]["country_code"] if self.connection.roles else ""
            )
        )
        pid = str(body.get("party_id", self.connection.roles[0]["party_id"] if self.connection.roles else ""))
        key = (cc.upper(), pid.upper(), str(body["id"]).upper())
        self.cdrs[key] = body
        location = f"{self.base_url}/ocpi/{self.version}/cdrs/{body['id']}"
        return 200, None, {"Location": location}

    async def _cdr_get(self, request: Request, body: Any) -> tuple[int, Any, dict[str, str]]:
        wanted = str(request.path_params["id"]).upper()
        for (_, _, cdr_id), cdr in self.cdrs.items():
            if cdr_id == wanted:
                return 200, cdr, {}
        raise _Refusal(404, 2000, "Unknown CDR")

    async def _token_list(self, request: Request, body: Any) -> tuple[int, Any, dict[str, str]]:
        tokens = [to_jsonable(token) for token in self.tokens.values()]
        return 200, tokens, {"X-Total-Count": str(len(tokens)), "X-Limit": str(max(1, len(tokens)))}

    async def _authorize(self, request: Request, body: Any) -> tuple[int, Any, dict[str, str]]:
        uid = str(request.path_params["uid"])
        token_type = request.query_params.get("type", "RFID")
        rule = self.answers.get(uid.upper(), self.default_answer)
        if rule.latency:
            await asyncio.sleep(rule.latency)
        token = self.tokens.get((uid.upper(), token_type))
        if token is None or rule.allowed is None:
            raise _Refusal(404, 2004, "Unknown token")
        info: dict[str, Any] = {"allowed": rule.allowed.value}
        if isinstance(body, dict) and body:
            info["location"] = body
        if self.version != "2.1.1":
            info["token"] = to_jsonable(token)
            if rule.authorization_reference is not None:
                info["authorization_reference"] = rule.authorization_reference
        if rule.info is not None:
            info["info"] = {"language": "en", "text": rule.info}
        return 200, info, {}

    async def _command_result(self, request: Request, body: Any) -> tuple[int, Any, dict[str, str]]:
        if not isinstance(body, dict) or "result" not in body:
            raise _Refusal(200, 2001, "a CommandResult is required")
        self.command_results.setdefault(str(request.path_params["id"]), []).append(body)
        return 200, None, {}

    def _stored(
        self, into: dict[str, dict[str, Any]]
    ) -> Callable[[Request, Any], Awaitable[tuple[int, Any, dict[str, str]]]]:
        async def handler(request: Request, body: Any) -> tuple[int, Any, dict[str, str]]:
            key = str(request.path_params["rest"]).upper()
            if request.method == "GET":
                if key not in into:
                    raise _Refusal(404, 2000, "Unknown object")
                return 200, into[key], {}
            if request.method == "DELETE":
                into.pop(key, None)
                return 200, None, {}
            if not isinstance(body, dict):
                raise _Refusal(200, 2001, "an object is required")
            into[key] = _merge(into[key], body) if request.method == "PATCH" and key in into else body
            return 200, None, {}

        return handler


__all__ = ["EMSP_IDENTITY", "AuthorizeAnswer", "EmspBackend", "Exchange"]
