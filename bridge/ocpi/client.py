"""The OCPI client: how the gateway calls a partner (httpx).

* One :class:`OcpiClients` per gateway owns the one ``httpx.AsyncClient`` (connections are pooled
  and reused); its ``transport`` is injectable, so another transport (an aiohttp-backed one, an
  ASGI app in tests) plugs in without touching the calls. It hands out one :class:`OcpiClient`
  per partner (:meth:`OcpiClients.for_partner`) or per handshake token (:meth:`OcpiClients.with_token`).
* Timeouts are explicit per kind of call (``ocpi.timeouts``: ``connect``, ``read``, ``command``).
* Redirects are never followed: a 3xx is an error, and the token is never sent to another URL.
* ocpi.md §2.3 / §8 point 4: the body is parsed and ``status_code`` decides, whatever the HTTP
  status; a non-1xxx code raises :class:`bridge.errors.PartnerError` with ``code`` and
  ``http_status``. ``http_status is None`` means the partner gave no HTTP answer at all
  (connection refused, timeout): the cause is chained.
* ocpi.md §1.5: ``Authorization: Token <Base64(token)>`` for 2.2.1, the raw token for 2.1.1, or
  the partner's configured ``token_encoding``. With ``auto``, a GET answered HTTP 401 is tried
  once more with the other encoding (the spec's "trial and error"; GETs are idempotent).
* ocpi.md §3.4/§3.5: every request carries a fresh ``X-Request-ID`` and an ``X-Correlation-ID``
  (given, to continue a chain, or fresh); 2.2.1 requests to functional modules carry the
  ``OCPI-from-*``/``OCPI-to-*`` routing headers, never those to credentials/versions/hubclientinfo.
* ocpi.md §3.3 / §8 point 7: lists are crawled by following ``Link: <url>; rel="next"``
  **verbatim**, so every filter (``date_from``, ``date_to``) survives (:meth:`OcpiClient.pages`).
* ocpi.md §3.1: no retries here. Failed POST/PUT/PATCH are not retried or queued; idempotent
  keyed retries belong to the delivery layer.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import quote, urljoin, urlsplit

import httpx
import orjson
from pydantic import BaseModel, ValidationError

from bridge.config import OcpiTimeouts
from bridge.errors import PartnerError, UnsupportedVersion
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.models.common import to_json
from bridge.ocpi.server.auth import encode_token
from mappings.ocpi_versions import version_details_up

if TYPE_CHECKING:
    from bridge.config import BridgeConfig
    from bridge.context import Gateway
    from bridge.store.base import PartnerRecord

log = logging.getLogger("bridge.ocpi.client")

M = TypeVar("M", bound=BaseModel)

CallKind = Literal["default", "command"]
"""``command``: a call whose answer may take long (commands POST); it gets ``timeouts.command``."""

FUNCTIONAL_MODULES = frozenset(
    {"locations", "sessions", "cdrs", "tariffs", "tokens", "commands", "chargingprofiles"}
)
"""ocpi.md §3.5: the modules whose requests carry the OCPI-from/to routing headers (2.2.1)."""

VERSION_ORDER = ("2.2.1", "2.1.1")
"""The versions the gateway can speak, preferred first (highest mutual version wins)."""


def use_base64(encoding: str, version: str | None) -> bool:
    """Whether to Base64 the token in ``Authorization`` (ocpi.md §1.5, config ``token_encoding``).

    ``auto`` (and an unknown version): Base64 except for 2.1.1; ``base64``; ``raw``/``plain``: no.
    """
    if encoding == "base64":
        return True
    if encoding in ("raw", "plain"):
        return False
    return version != "2.1.1"


def normalise_url(url: str) -> str:
    """An endpoint URL without trailing slashes (ocpi.md §8 point 15: both forms occur)."""
    return url.strip().rstrip("/")


@dataclass(frozen=True, slots=True)
class PartyRef:
    """A party by its OCPI identity: ``country_code`` + ``party_id`` (routing headers)."""

    country_code: str
    party_id: str


@dataclass(frozen=True, slots=True)
class OcpiReply:
    """A successful (1xxx) OCPI answer: the envelope fields, the HTTP status and headers."""

    status_code: int
    status_message: str | None
    data: Any
    timestamp: str | None
    http_status: int
    headers: httpx.Headers
    url: str
    next_url: str | None = None

    def parse(self, model: type[M]) -> M:
        """``data`` validated as ``model``; an invalid answer is a :class:`PartnerError`."""
        try:
            return model.model_validate(self.data)
        except ValidationError as error:
            first = error.errors(include_input=False, include_url=False)[0]
            where = ".".join(str(part) for part in first["loc"]) or "data"
            raise PartnerError(
                f"{self.url}: invalid {model.__name__} in the answer ({where}: {first['msg']})",
                code=self.status_code,
                http_status=self.http_status,
            ) from None


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a paginated list GET (ocpi.md §3.3)."""

    items: list[Any]
    total_count: int | None
    limit: int | None
    next_url: str | None
    reply: OcpiReply


@dataclass(frozen=True, slots=True)
class Discovery:
    """What ``GET versions`` + ``GET version details`` taught us about a partner (ocpi.md §1.1).

    ``endpoints`` are in 2.2.1 form ``{identifier, role, url}`` whatever the version: 2.1.1
    endpoints get the interface role implied by the partner's role (ocpi.md §5 "Version details"),
    URLs have no trailing slash.
    """

    version: str
    version_url: str
    endpoints: list[dict[str, Any]]
    versions: dict[str, str]


def _header_int(headers: httpx.Headers, name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def _same_origin(a: str, b: str) -> bool:
    first, second = urlsplit(a), urlsplit(b)
    return (first.scheme.lower(), first.netloc.lower()) == (second.scheme.lower(), second.netloc.lower())


def find_endpoint(
    endpoints: Sequence[Mapping[str, Any]], module: str, role: str | None = None, *, name: str = "partner"
) -> str:
    """The URL of ``module`` (and InterfaceRole ``role``) among a partner's endpoints, no trailing slash.

    With ``role`` None the module must be offered as one interface only; for ``credentials`` the
    role is ignored (ocpi.md §1.1). Raises :class:`PartnerError` when the partner does not offer it.
    """
    found = [
        e
        for e in endpoints
        if e.get("identifier") == module
        and (role is None or module == "credentials" or e.get("role") == role)
    ]
    if not found:
        wanted = f"{module} {role}" if role else module
        raise PartnerError(f"{name} offers no {wanted} endpoint")
    urls = {normalise_url(str(e["url"])) for e in found}
    if len(urls) > 1 and module != "credentials":
        raise PartnerError(f"{name} offers {module} as several interfaces: name the role")
    return normalise_url(str(found[0]["url"]))


@dataclass(slots=True)
class OcpiClient:
    """Calls one partner with one token. Built by :class:`OcpiClients`; cheap, not shared.

    ``version`` is the connection's OCPI version (None before the handshake chose one);
    ``endpoints`` the partner's endpoints in 2.2.1 form; ``from_party``/``to_party`` fill the
    routing headers of 2.2.1 functional-module requests.
    """

    http: httpx.AsyncClient
    token: str = field(repr=False)
    timeouts: OcpiTimeouts
    version: str | None = None
    encoding: str = "auto"
    endpoints: Sequence[Mapping[str, Any]] = ()
    from_party: PartyRef | None = None
    to_party: PartyRef | None = None
    name: str = "partner"

    # ---- the one request method ---------------------------------------------------------------

    def authorization(self, version: str | None = None, *, flip: bool = False) -> str:
        """The ``Authorization`` header value for ``version`` (default: the connection's)."""
        base64_encode = use_base64(self.encoding, version or self.version)
        return encode_token(self.token, base64_encode=base64_encode != flip)

    def _timeout(self, kind: CallKind) -> httpx.Timeout:
        read = self.timeouts.command if kind == "command" else self.timeouts.read
        return httpx.Timeout(read, connect=self.timeouts.connect, pool=self.timeouts.connect)

    def _headers(
        self, version: str | None, module: str | None, correlation_id: str | None, *, flip: bool
    ) -> dict[str, str]:
        headers = {
            "Authorization": self.authorization(version, flip=flip),
            "X-Request-ID": str(uuid.uuid4()),
            "X-Correlation-ID": correlation_id or str(uuid.uuid4()),
            "Accept": "application/json",
        }
        if (version or self.version) == "2.2.1" and module in FUNCTIONAL_MODULES:
            if self.from_party is not None:
                headers["OCPI-from-country-code"] = self.from_party.country_code
                headers["OCPI-from-party-id"] = self.from_party.party_id
            if self.to_party is not None:
                headers["OCPI-to-country-code"] = self.to_party.country_code
                headers["OCPI-to-party-id"] = self.to_party.party_id
        return headers

    async def request(
        self,
        method: str,
        url: str,
        *,
        body: BaseModel | Mapping[str, Any] | Sequence[Any] | bytes | None = None,
        params: Mapping[str, str | int] | None = None,
        module: str | None = None,
        version: str | None = None,
        kind: CallKind = "default",
        correlation_id: str | None = None,
    ) -> OcpiReply:
        """Send one request and return the 1xxx answer, or raise :class:`PartnerError`.

        ``module`` names the OCPI module (routing headers for functional modules); ``version``
        overrides the connection's version for the token encoding (handshake calls).
        """
        content: bytes | None = None
        if isinstance(body, BaseModel):
            content = to_json(body)
        elif isinstance(body, bytes):
            content = body
        elif body is not None:
            content = orjson.dumps(body)
        response = await self._send(method, url, content, params, module, version, kind, correlation_id)
        if response.status_code == 401 and method == "GET" and self.encoding == "auto":
            log.info("%s answered 401 to %s %s; trying the other token encoding", self.name, method, url)
            response = await self._send(
                method, url, content, params, module, version, kind, correlation_id, flip=True
            )
        return self._reply(method, response)

    async def _send(
        self,
        method: str,
        url: str,
        content: bytes | None,
        params: Mapping[str, str | int] | None,
        module: str | None,
        version: str | None,
        kind: CallKind,
        correlation_id: str | None,
        *,
        flip: bool = False,
    ) -> httpx.Response:
        headers = self._headers(version, module, correlation_id, flip=flip)
        if content is not None:
            headers["Content-Type"] = "application/json"
        try:
            return await self.http.request(
                method,
                url,
                content=content,
                params=dict(params) if params else None,
                headers=headers,
                timeout=self._timeout(kind),
                follow_redirects=False,
            )
        except httpx.HTTPError as error:
            raise PartnerError(
                f"{self.name}: {method} {url} failed: {type(error).__name__} {error}".rstrip()
            ) from error

    def _reply(self, method: str, response: httpx.Response) -> OcpiReply:
        url = str(response.request.url)
        status = response.status_code
        try:
            body = orjson.loads(response.content) if response.content else None
        except orjson.JSONDecodeError:
            body = None
        code = body.get("status_code") if isinstance(body, dict) else None
        if isinstance(code, str) and code.strip().isdigit():
            code = int(code.strip())
        if not isinstance(code, int) or isinstance(code, bool):
            what = "a redirect (not followed)" if 300 <= status < 400 else "no OCPI envelope"
            raise PartnerError(f"{self.name}: {method} {url}: HTTP {status}, {what}", http_status=status)
        assert isinstance(body, dict)
        message = body.get("status_message")
        message = message if isinstance(message, str) else None
        if not 1000 <= code < 2000:
            raise PartnerError(
                f"{self.name}: {method} {url}: status_code {code} (HTTP {status})"
                + (f": {message}" if message else ""),
                code=code,
                http_status=status,
            )
        next_link = response.links.get("next", {}).get("url")
        timestamp = body.get("timestamp")
        return OcpiReply(
            status_code=code,
            status_message=message,
            data=body.get("data"),
            timestamp=timestamp if isinstance(timestamp, str) else None,
            http_status=status,
            headers=response.headers,
            url=url,
            next_url=urljoin(url, next_link) if next_link else None,
        )

    # ---- endpoints ----------------------------------------------------------------------------

    def endpoint(self, module: str, role: str | None = None) -> str:
        """The partner's URL for ``module`` (see :func:`find_endpoint`)."""
        return find_endpoint(self.endpoints, module, role, name=self.name)

    def object_url(self, module: str, *path: str, role: str | None = None) -> str:
        """``{endpoint}/{path...}`` with each path part percent-encoded."""
        base = self.endpoint(module, role)
        return "/".join([base, *(quote(str(part), safe="") for part in path)])

    # ---- module objects -----------------------------------------------------------------------

    async def get(
        self,
        module: str,
        *path: str,
        role: str | None = None,
        params: Mapping[str, str | int] | None = None,
        correlation_id: str | None = None,
    ) -> OcpiReply:
        """``GET {endpoint}/{path...}`` (one object, or one page of a list)."""
        url = self.object_url(module, *path, role=role)
        return await self.request("GET", url, params=params, module=module, correlation_id=correlation_id)

    async def put(
        self,
        module: str,
        *path: str,
        body: BaseModel | Mapping[str, Any],
        role: str | None = None,
        params: Mapping[str, str | int] | None = None,
        correlation_id: str | None = None,
    ) -> OcpiReply:
        """``PUT {endpoint}/{path...}``: create or replace a Client Owned Object (ocpi.md §3.6)."""
        url = self.object_url(module, *path, role=role)
        return await self.request(
            "PUT", url, body=body, params=params, module=module, correlation_id=correlation_id
        )

    async def patch(
        self,
        module: str,
        *path: str,
        body: BaseModel | Mapping[str, Any],
        role: str | None = None,
        params: Mapping[str, str | int] | None = None,
        correlation_id: str | None = None,
    ) -> OcpiReply:
        """``PATCH {endpoint}/{path...}`` (2.2.1: the body must carry ``last_updated``)."""
        url = self.object_url(module, *path, role=role)
        return await self.request(
            "PATCH", url, body=body, params=params, module=module, correlation_id=correlation_id
        )

    async def post(
        self,
        module: str,
        *path: str,
        body: BaseModel | Mapping[str, Any] | None = None,
        role: str | None = None,
        params: Mapping[str, str | int] | None = None,
        kind: CallKind = "default",
        correlation_id: str | None = None,
    ) -> OcpiReply:
        """``POST {endpoint}/{path...}`` (commands, real-time authorization, CDRs)."""
        url = self.object_url(module, *path, role=role)
        return await self.request(
            "POST", url, body=body, params=params, module=module, kind=kind, correlation_id=correlation_id
        )

    async def delete(
        self, module: str, *path: str, role: str | None = None, correlation_id: str | None = None
    ) -> OcpiReply:
        """``DELETE {endpoint}/{path...}`` (tariffs)."""
        url = self.object_url(module, *path, role=role)
        return await self.request("DELETE", url, module=module, correlation_id=correlation_id)

    async def pages(
        self,
        module: str,
        *,
        role: str | None = None,
        params: Mapping[str, str | int] | None = None,
        url: str | None = None,
        correlation_id: str | None = None,
    ) -> AsyncIterator[Page]:
        """Every page of a list GET, following ``Link rel="next"`` verbatim (ocpi.md §3.3).

        The first request carries ``params`` (``date_from``, ``date_to``, ``limit``...); the next
        ones use the partner's Link URL exactly as given, which must carry the filters. A Link to
        another origin (the token would leak) or back to a page already read (an endless crawl)
        raises :class:`PartnerError`.
        """
        current = url or self.endpoint(module, role)
        origin = current
        current_params = params
        seen: set[str] = set()
        while True:
            reply = await self.request(
                "GET", current, params=current_params, module=module, correlation_id=correlation_id
            )
            seen.add(reply.url)
            if not isinstance(reply.data, list):
                raise PartnerError(
                    f"{self.name}: GET {reply.url}: a list was expected in data",
                    code=reply.status_code,
                    http_status=reply.http_status,
                )
            yield Page(
                items=list(reply.data),
                total_count=_header_int(reply.headers, "X-Total-Count"),
                limit=_header_int(reply.headers, "X-Limit"),
                next_url=reply.next_url,
                reply=reply,
            )
            if reply.next_url is None:
                return
            if not _same_origin(reply.next_url, origin):
                raise PartnerError(f"{self.name}: the next-page Link points to another origin; not followed")
            if reply.next_url in seen:
                raise PartnerError(f"{self.name}: the next-page Link repeats a page already read")
            current, current_params = reply.next_url, None

    async def objects(
        self,
        module: str,
        *,
        role: str | None = None,
        params: Mapping[str, str | int] | None = None,
        correlation_id: str | None = None,
    ) -> AsyncIterator[Any]:
        """Every object of a list GET, page after page (raw JSON values: validate them at the caller)."""
        async for page in self.pages(module, role=role, params=params, correlation_id=correlation_id):
            for item in page.items:
                yield item

    # ---- versions and credentials (Configuration modules: no routing headers) -------------------

    async def get_versions(self, versions_url: str, *, version: str | None = None) -> dict[str, str]:
        """``GET {versions_url}``: version number → version-details URL (ocpi.md §1.1)."""
        reply = await self.request("GET", versions_url, module="versions", version=version)
        if not isinstance(reply.data, list):
            raise PartnerError(f"{self.name}: {versions_url}: the versions list is not a list")
        versions: dict[str, str] = {}
        for index, item in enumerate(reply.data):
            try:
                entry = v221.Version.model_validate(item)
            except ValidationError:
                log.warning("%s: versions[%d] is not a Version; ignored", self.name, index)
                continue
            versions.setdefault(str(entry.version), entry.url.strip())
        return versions

    async def get_version_details(self, url: str, version: str, *, partner_role: str) -> list[dict[str, Any]]:
        """``GET {version_url}``: the endpoints in 2.2.1 form (see :class:`Discovery`)."""
        reply = await self.request("GET", url, module="versions", version=version)
        if version == "2.1.1":
            details_211 = reply.parse(v211.VersionDetails)
            translation = version_details_up(details_211, peer_role=v221.Role(partner_role))
            for loss in translation.losses:
                if loss.kind.value != "defaulted":
                    log.info("%s: version details: %s", self.name, loss)
            endpoints = translation.value.endpoints
        else:
            endpoints = reply.parse(v221.VersionDetails).endpoints
        return [
            {"identifier": str(e.identifier), "role": e.role.value, "url": normalise_url(e.url)}
            for e in endpoints
        ]

    async def discover(
        self,
        versions_url: str,
        *,
        ours: Sequence[str],
        partner_role: str,
        version: str | None = None,
    ) -> Discovery:
        """``GET versions`` then ``GET version details`` of the chosen version (ocpi.md §1.3 step 2).

        ``version`` forces the version (the Receiver knows it from the credentials URL used);
        otherwise the highest version both sides speak is chosen. No mutual version raises
        :class:`UnsupportedVersion` (3002); a failed GET raises :class:`PartnerError`.
        """
        versions = await self.get_versions(versions_url, version=version)
        if version is not None:
            if version not in versions:
                raise UnsupportedVersion(
                    f"{self.name} does not list OCPI {version} at its versions URL"
                    f" (it lists {', '.join(versions) or 'nothing'})"
                )
            chosen = version
        else:
            mutual = [v for v in VERSION_ORDER if v in ours and v in versions]
            if not mutual:
                raise UnsupportedVersion(
                    f"no mutual OCPI version with {self.name}: it lists {', '.join(versions) or 'nothing'},"
                    f" we speak {', '.join(ours)}"
                )
            chosen = mutual[0]
        details_url = versions[chosen]
        endpoints = await self.get_version_details(details_url, chosen, partner_role=partner_role)
        return Discovery(version=chosen, version_url=details_url, endpoints=endpoints, versions=versions)


class OcpiClients:
    """The gateway's OCPI client side: one pooled ``httpx.AsyncClient`` and a client per partner.

    ``transport`` (any ``httpx.AsyncBaseTransport``) replaces the default HTTP transport; the
    ``http`` client is closed by :meth:`aclose` (or ``async with``).
    """

    def __init__(
        self,
        config: BridgeConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        limits: httpx.Limits | None = None,
    ) -> None:
        self.config = config
        timeouts = config.ocpi.timeouts
        self.http = httpx.AsyncClient(
            transport=transport,
            follow_redirects=False,
            timeout=httpx.Timeout(timeouts.read, connect=timeouts.connect),
            limits=limits or httpx.Limits(max_connections=100, max_keepalive_connections=20),
            headers={"User-Agent": "ocpi-oicp-bridge"},
        )

    async def __aenter__(self) -> OcpiClients:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()

    def encoding_of(self, name: str, stored: str) -> str:
        """The configured ``token_encoding`` of a partner, else the stored one."""
        configured = self.config.partner(name)
        return configured.token_encoding if configured is not None else stored

    def with_token(
        self, token: str, *, name: str, encoding: str = "auto", version: str | None = None
    ) -> OcpiClient:
        """A client for the handshake calls, with an explicit token (A, or B during a callback)."""
        return OcpiClient(
            http=self.http,
            token=token,
            timeouts=self.config.ocpi.timeouts,
            version=version,
            encoding=encoding,
            name=name,
        )

    def for_partner(
        self,
        partner: PartnerRecord,
        *,
        from_party: PartyRef | None = None,
        to_party: PartyRef | None = None,
    ) -> OcpiClient:
        """The client of a registered partner: its ``token_out``, version, endpoints, and the
        routing parties (default: our first party facing the partner, the partner's first
        credentials role of its configured role)."""
        if partner.token_out is None:
            raise PartnerError(f"partner {partner.name} has no token to call it with (not registered)")
        if from_party is None:
            facing = "EMSP" if partner.role == "CPO" else "CPO"
            parties = self.config.ocpi.parties
            ours = [p for p in parties if p.role == facing] or [p for p in parties if p.role == "HUB"]
            if ours:
                from_party = PartyRef(ours[0].country_code, ours[0].party_id)
        if to_party is None:
            theirs = [r for r in partner.roles if r.get("role") == partner.role] or list(partner.roles)
            if theirs:
                to_party = PartyRef(str(theirs[0]["country_code"]), str(theirs[0]["party_id"]))
        return OcpiClient(
            http=self.http,
            token=partner.token_out,
            timeouts=self.config.ocpi.timeouts,
            version=partner.version,
            encoding=self.encoding_of(partner.name, partner.token_encoding),
            endpoints=list(partner.endpoints),
            from_party=from_party,
            to_party=to_party,
            name=partner.name,
        )


CLIENTS_SERVICE = "ocpi_clients"
"""The key of the gateway's :class:`OcpiClients` in ``Gateway.services`` (set by the start hook)."""


def clients_of(gateway: Gateway) -> OcpiClients:
    """The gateway's OCPI clients (``gateway.services["ocpi_clients"]``)."""
    clients = gateway.services.get(CLIENTS_SERVICE)
    if not isinstance(clients, OcpiClients):
        raise RuntimeError("the OCPI clients are not started (bridge.partners.ocpi_start_hook)")
    return clients


__all__ = [
    "CLIENTS_SERVICE",
    "FUNCTIONAL_MODULES",
    "VERSION_ORDER",
    "CallKind",
    "Discovery",
    "OcpiClient",
    "OcpiClients",
    "OcpiReply",
    "Page",
    "PartyRef",
    "clients_of",
    "find_endpoint",
    "normalise_url",
    "use_base64",
]
