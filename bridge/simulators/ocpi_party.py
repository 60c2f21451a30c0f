"""A small but real OCPI party (2.1.1 and 2.2.1) for tests and demos: :class:`OcpiParty`.

It is written independently of the gateway's handshake code, from the spec (ocpi.md §1), so
that the two check each other:

* Server side (a Starlette app, :attr:`OcpiParty.app`): ``GET /ocpi/versions``, ``GET
  /ocpi/{version}`` (credentials plus any module endpoints added through ``registry``) and
  ``/ocpi/{version}/credentials`` (GET/POST/PUT/DELETE) as the Receiver of the handshake: it
  fetches the Sender's versions and details with token B before answering with token C, and
  answers 3001/3002/3003 and 405 as the spec prescribes.
* Client side, as the Sender: :meth:`OcpiParty.register` (POST), :meth:`OcpiParty.update` (PUT),
  :meth:`OcpiParty.unregister` (DELETE), and :meth:`OcpiParty.call` for any other request with the
  token of the connection.
* It talks to one peer. Incoming tokens are kept in memory (it is a simulator); ``grace_seconds``
  keeps an old token valid after a rotation. ``token_encoding`` ("auto", "base64", "raw") is how
  it writes its token; ``strict_encoding`` makes it accept only the version's encoding on
  versioned paths (2.2.1 Base64, 2.1.1 raw), to check what a peer sends. Every request it
  receives is recorded in :attr:`OcpiParty.received`, every one it sends in :attr:`OcpiParty.sent`.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bridge.errors import PartnerError
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.models.common import to_jsonable
from bridge.ocpi.server.envelope import ocpi_response
from bridge.ocpi.server.registry import EndpointRegistry

ORDER = ("2.2.1", "2.1.1")


@dataclass(frozen=True, slots=True)
class Identity:
    """One credentials role of the simulated party."""

    role: str
    country_code: str
    party_id: str
    name: str


@dataclass(slots=True)
class Connection:
    """What the party knows about its peer."""

    status: str = "new"
    version: str | None = None
    versions_url: str | None = None
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    roles: list[dict[str, Any]] = field(default_factory=list)
    token_out: str | None = field(default=None, repr=False)

    def endpoint(self, identifier: str, role: str | None = None) -> str:
        for endpoint in self.endpoints:
            if endpoint["identifier"] == identifier and (
                role is None or endpoint.get("role") in (None, role)
            ):
                return str(endpoint["url"]).rstrip("/")
        raise PartnerError(f"the peer offers no {identifier} endpoint")


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """A request the party received or sent; header names in lower case."""

    method: str
    path: str
    query: str
    headers: dict[str, str]


@dataclass(slots=True)
class _Token:
    kind: str  # "A", "CURRENT", "PREVIOUS"
    valid_until: float | None = None


class _Failure(Exception):
    def __init__(self, status_code: int, message: str, http_status: int = 200) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.http_status = http_status


class _Recorder:
    def __init__(self, app: ASGIApp, received: list[RecordedRequest]) -> None:
        self.app = app
        self.received = received

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            self.received.append(
                RecordedRequest(
                    scope["method"], scope["path"], scope["query_string"].decode("latin-1"), headers
                )
            )
        await self.app(scope, receive, send)


def _decode(value: str) -> str | None:
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    if decoded and all(0x21 <= byte <= 0x7E for byte in decoded):
        return decoded.decode("ascii")
    return None


class OcpiParty:
    """A simulated OCPI party reachable at ``base_url`` (see the module docstring)."""

    def __init__(
        self,
        *,
        base_url: str,
        identities: Sequence[Identity],
        versions: Sequence[str] = ORDER,
        token_encoding: str = "auto",  # noqa: S107 - an encoding name, not a secret
        strict_encoding: bool = False,
        grace_seconds: float = 0.0,
        registry: EndpointRegistry | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        if not identities:
            raise ValueError("an OCPI party needs at least one identity")
        self.base_url = base_url.rstrip("/")
        self.identities = list(identities)
        self.versions = tuple(v for v in ORDER if v in versions)
        self.token_encoding = token_encoding
        self.strict_encoding = strict_encoding
        self.grace_seconds = grace_seconds
        self.registry = registry or EndpointRegistry()
        self.http = http or httpx.AsyncClient(follow_redirects=False, timeout=10.0)
        self.connection = Connection()
        self.received: list[RecordedRequest] = []
        self.sent: list[RecordedRequest] = []
        self._tokens: dict[str, _Token] = {}
        self._app: ASGIApp | None = None

    # ---- tokens -----------------------------------------------------------------------------

    def issue_token_a(self) -> str:
        """A TOKEN_A for a peer that will register with this party (out of band, ocpi.md §1.3)."""
        token = secrets.token_urlsafe(24)
        self._tokens = {t: k for t, k in self._tokens.items() if k.kind != "A"}
        self._tokens[token] = _Token("A")
        return token

    def _set_current(self, token: str) -> None:
        now = time.monotonic()
        kept: dict[str, _Token] = {}
        for known, info in self._tokens.items():
            if info.kind == "CURRENT" and self.grace_seconds > 0:
                kept[known] = _Token("PREVIOUS", now + self.grace_seconds)
        self._tokens = kept
        self._tokens[token] = _Token("CURRENT")

    def token_kind(self, token: str) -> str | None:
        """Which of this party's incoming tokens ``token`` is, if it is valid now."""
        info = self._tokens.get(token)
        if info is None or (info.valid_until is not None and info.valid_until <= time.monotonic()):
            return None
        return info.kind

    def _authenticate(self, request: Request, version: str | None) -> tuple[str, str]:
        scheme, _, value = request.headers.get("authorization", "").strip().partition(" ")
        value = value.strip()
        if scheme.lower() != "token" or not value:
            raise _Failure(2000, "Missing token", 401)
        decoded = _decode(value)
        candidates: list[str] = []
        if not (self.strict_encoding and version == "2.1.1") and decoded is not None:
            candidates.append(decoded)
        if not (self.strict_encoding and version == "2.2.1"):
            candidates.append(value)
        for candidate in candidates:
            kind = self.token_kind(candidate)
            if kind is not None:
                return candidate, kind
        raise _Failure(2000, "Unknown token", 401)

    def _authorization(self, token: str, version: str | None) -> str:
        encoding = self.token_encoding
        encode = encoding == "base64" or (encoding == "auto" and version != "2.1.1")
        return "Token " + (base64.b64encode(token.encode()).decode() if encode else token)

    # ---- the server -------------------------------------------------------------------------

    @property
    def app(self) -> ASGIApp:
        if self._app is None:
            routes: list[BaseRoute] = [Route("/ocpi/versions", self._guard(self._versions), methods=["GET"])]
            for version in ORDER:
                routes.append(Route(f"/ocpi/{version}", self._details_endpoint(version), methods=["GET"]))
                routes.append(
                    Route(
                        f"/ocpi/{version}/credentials",
                        self._credentials_endpoint(version),
                        methods=["GET", "POST", "PUT", "DELETE"],
                    )
                )
            for endpoint in self.registry.all():
                routes.extend(endpoint.routes)
            self._app = _Recorder(Starlette(routes=routes), self.received)
        return self._app

    def versions_url(self) -> str:
        return f"{self.base_url}/ocpi/versions"

    def _own_credentials(self, version: str, token: str) -> dict[str, Any]:
        first = self.identities[0]
        if version == "2.1.1":
            return {
                "token": token,
                "url": self.versions_url(),
                "business_details": {"name": first.name},
                "party_id": first.party_id,
                "country_code": first.country_code,
            }
        return {
            "token": token,
            "url": self.versions_url(),
            "roles": [
                {
                    "role": i.role,
                    "business_details": {"name": i.name},
                    "party_id": i.party_id,
                    "country_code": i.country_code,
                }
                for i in self.identities
            ],
        }

    def _guard(
        self, handler: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except _Failure as failure:
                return ocpi_response(
                    status_code=failure.status_code,
                    status_message=failure.message,
                    http_status=failure.http_status,
                )

        return guarded

    async def _versions(self, request: Request) -> Response:
        self._authenticate(request, None)
        return ocpi_response([{"version": v, "url": f"{self.base_url}/ocpi/{v}"} for v in self.versions])

    def _details_endpoint(self, version: str) -> Callable[[Request], Awaitable[Response]]:
        async def details(request: Request) -> Response:
            if version not in self.versions:
                raise _Failure(2000, "Unknown version", 404)
            self._authenticate(request, version)
            endpoints: list[dict[str, str]] = [
                {"identifier": "credentials", "url": f"{self.base_url}/ocpi/{version}/credentials"}
            ]
            for module in self.registry.for_version(version):
                url = f"{self.base_url}/ocpi/{version}/{module.path.strip('/')}"
                endpoints.append({"identifier": module.identifier, "url": url})
                if version != "2.1.1":
                    endpoints[-1]["role"] = module.role
            if version != "2.1.1":
                endpoints[0]["role"] = "SENDER"
            return ocpi_response({"version": version, "endpoints": endpoints})

        return self._guard(details)

    def _credentials_endpoint(self, version: str) -> Callable[[Request], Awaitable[Response]]:
        async def credentials(request: Request) -> Response:
            if version not in self.versions:
                raise _Failure(2000, "Unknown version", 404)
            token, _kind = self._authenticate(request, version)
            registered = self.connection.status == "registered"
            if request.method == "GET":
                return ocpi_response(self._own_credentials(version, token))
            if request.method == "DELETE":
                if not registered:
                    raise _Failure(2000, "Not registered", 405)
                self._tokens.clear()
                self.connection = Connection(status="unregistered")
                return ocpi_response()
            if request.method == "POST" and registered:
                raise _Failure(2000, "Already registered", 405)
            if request.method == "PUT" and not registered:
                raise _Failure(2000, "Not registered", 405)
            try:
                if version == "2.1.1":
                    flat = v211.Credentials.model_validate_json(await request.body())
                    peer_token, peer_url = flat.token, flat.url
                    roles = [
                        {
                            "role": "CPO" if self.identities[0].role == "EMSP" else "EMSP",
                            "country_code": flat.country_code,
                            "party_id": flat.party_id,
                            "business_details": to_jsonable(flat.business_details),
                        }
                    ]
                else:
                    full = v221.Credentials.model_validate_json(await request.body())
                    peer_token, peer_url = full.token, full.url
                    roles = [to_jsonable(role) for role in full.roles]
            except ValidationError as error:
                raise _Failure(2001, f"Invalid credentials: {error.error_count()} error(s)") from None
            endpoints = await self._fetch_as_receiver(peer_url, peer_token, version)
            token_c = secrets.token_urlsafe(32)
            self._set_current(token_c)
            self.connection = Connection(
                status="registered",
                version=version,
                versions_url=peer_url,
                endpoints=endpoints,
                roles=roles,
                token_out=peer_token,
            )
            return ocpi_response(self._own_credentials(version, token_c))

        return self._guard(credentials)

    async def _fetch_as_receiver(self, versions_url: str, token: str, version: str) -> list[dict[str, Any]]:
        """Handshake step 4: the Sender's versions and details, with its token B."""
        try:
            listed = await self._get_data(versions_url, token, version)
            urls = {str(item["version"]): str(item["url"]) for item in listed}
        except (PartnerError, KeyError, TypeError) as error:
            raise _Failure(3001, f"Unable to use the client's API: {error}") from None
        if version not in urls:
            raise _Failure(3002, f"The client does not offer OCPI {version}")
        try:
            details = await self._get_data(urls[version], token, version)
            endpoints = list(details["endpoints"])
        except (PartnerError, KeyError, TypeError) as error:
            raise _Failure(3001, f"Unable to use the client's API: {error}") from None
        if not any(e.get("identifier") == "credentials" for e in endpoints):
            raise _Failure(3003, "The client offers no credentials endpoint")
        return endpoints

    # ---- the client -------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        url: str,
        *,
        token: str | None = None,
        version: str | None = None,
        json: Any = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One request to the peer, with the connection's token (or ``token``) and message ids."""
        token = token or self.connection.token_out
        if token is None:
            raise PartnerError("no token to call the peer with")
        headers = {
            "Authorization": self._authorization(token, version or self.connection.version),
            "X-Request-ID": str(uuid.uuid4()),
            "X-Correlation-ID": str(uuid.uuid4()),
        }
        content = orjson.dumps(json) if json is not None else None
        if content is not None:
            headers["Content-Type"] = "application/json"
        target = httpx.URL(url, params=params)
        self.sent.append(
            RecordedRequest(
                method, target.path, target.query.decode(), {k.lower(): v for k, v in headers.items()}
            )
        )
        try:
            return await self.http.request(method, target, headers=headers, content=content)
        except httpx.HTTPError as error:
            raise PartnerError(f"{method} {url}: {type(error).__name__}") from error

    async def _get_data(self, url: str, token: str, version: str | None) -> Any:
        response = await self.call("GET", url, token=token, version=version)
        return self._data(response)

    @staticmethod
    def _data(response: httpx.Response) -> Any:
        try:
            body = response.json()
        except ValueError:
            raise PartnerError(
                f"HTTP {response.status_code} without an OCPI body", http_status=response.status_code
            ) from None
        code = body.get("status_code") if isinstance(body, dict) else None
        if not isinstance(code, int) or not 1000 <= code < 2000:
            raise PartnerError(
                f"status_code {code}: {body.get('status_message') if isinstance(body, dict) else ''}",
                code=code,
                http_status=response.status_code,
            )
        return body.get("data")

    async def _discover(self, versions_url: str, token: str) -> tuple[str, list[dict[str, Any]]]:
        listed = await self._get_data(versions_url, token, None)
        urls = {str(item["version"]): str(item["url"]) for item in listed}
        mutual = [v for v in self.versions if v in urls]
        if not mutual:
            raise PartnerError(f"no mutual version (the peer lists {sorted(urls)})", code=3002)
        version = mutual[0]
        details = await self._get_data(urls[version], token, version)
        return version, list(details["endpoints"])

    async def register(self, versions_url: str, token_a: str) -> Connection:
        """The Sender side of the handshake (ocpi.md §1.3) with the peer's TOKEN_A."""
        version, endpoints = await self._discover(versions_url, token_a)
        connection = Connection(versions_url=versions_url, endpoints=endpoints, version=version)
        token_b = secrets.token_urlsafe(32)
        self._set_current(token_b)
        response = await self.call(
            "POST",
            connection.endpoint("credentials"),
            token=token_a,
            version=version,
            json=self._own_credentials(version, token_b),
        )
        return self._store_answer(connection, self._data(response), version)

    async def update(self) -> Connection:
        """PUT new credentials (ocpi.md §1.4): re-read versions, maybe switch to a higher version."""
        if self.connection.status != "registered" or self.connection.versions_url is None:
            raise PartnerError("not registered")
        token = self.connection.token_out
        assert token is not None
        version, endpoints = await self._discover(self.connection.versions_url, token)
        connection = Connection(
            versions_url=self.connection.versions_url, endpoints=endpoints, version=version
        )
        token_b = secrets.token_urlsafe(32)
        self._set_current(token_b)
        response = await self.call(
            "PUT",
            connection.endpoint("credentials"),
            token=token,
            version=version,
            json=self._own_credentials(version, token_b),
        )
        return self._store_answer(connection, self._data(response), version)

    async def unregister(self) -> None:
        """DELETE on the peer's credentials; then forget the connection."""
        response = await self.call("DELETE", self.connection.endpoint("credentials"))
        self._data(response)
        self._tokens.clear()
        self.connection = Connection(status="unregistered")

    def _store_answer(self, connection: Connection, data: Any, version: str) -> Connection:
        model = v211.Credentials if version == "2.1.1" else v221.Credentials
        answer = model.model_validate(data)
        connection.status = "registered"
        connection.token_out = answer.token
        connection.versions_url = answer.url
        if isinstance(answer, v221.Credentials):
            connection.roles = [to_jsonable(role) for role in answer.roles]
        else:
            connection.roles = [
                {
                    "country_code": answer.country_code,
                    "party_id": answer.party_id,
                    "business_details": to_jsonable(answer.business_details),
                }
            ]
        self.connection = connection
        return connection

    async def aclose(self) -> None:
        await self.http.aclose()


__all__ = ["Connection", "Identity", "OcpiParty", "RecordedRequest"]
