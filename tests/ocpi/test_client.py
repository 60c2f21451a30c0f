"""The OCPI client against a real test server on loopback: Link crawling keeps every filter,
status_code read whatever the HTTP status, no redirects, headers per version and module,
discovery and version choice, connection reuse (ocpi.md §1.1, §1.5, §2.3, §3.3-§3.5)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from bridge.config import BridgeConfig
from bridge.errors import PartnerError, UnsupportedVersion
from bridge.ocpi.client import OcpiClient, OcpiClients, PartyRef
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.server.envelope import ocpi_response
from bridge.simulators import base_url, bind_loopback, serve
from bridge.store.base import PartnerRecord
from tests.support.gateway import make_config

TOKEN = "client-test-token-1"
START = datetime(2024, 1, 1, tzinfo=UTC)
OBJECTS = [
    {"id": f"LOC{i}", "last_updated": (START + timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    for i in range(10)
]


@dataclass
class Seen:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    port: int | None
    body: bytes = b""
    raw_path: bytes = b""


@dataclass
class Peer:
    url: str
    seen: list[Seen] = field(default_factory=list)

    def paths(self) -> list[str]:
        return [s.path for s in self.seen]


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def peer_app(peer: Peer) -> Starlette:
    async def record(request: Request) -> None:
        peer.seen.append(
            Seen(
                request.method,
                request.url.path,
                request.scope["query_string"].decode(),
                {k.lower(): v for k, v in request.headers.items()},
                request.client.port if request.client else None,
                await request.body(),
                request.scope.get("raw_path", b""),
            )
        )

    async def locations(request: Request) -> Response:
        """A Sender list that pages by 3 and needs date_from/date_to on every page; its Link has
        an order and an opaque parameter a client would not produce itself."""
        await record(request)
        query = request.query_params
        if "date_from" not in query or "date_to" not in query:
            return ocpi_response(status_code=2001, status_message="date filters lost", http_status=400)
        date_from, date_to = _parse(query["date_from"]), _parse(query["date_to"])
        matching = [o for o in OBJECTS if date_from <= _parse(o["last_updated"]) < date_to]
        offset, limit = int(query.get("offset", 0)), min(int(query.get("limit", 3)), 3)
        page = matching[offset : offset + limit]
        headers = {"X-Total-Count": str(len(matching)), "X-Limit": "3"}
        if offset + limit < len(matching):
            next_url = (
                f"{peer.url}/cpo/locations?date_to={query['date_to']}&cursor=opaque%2Bvalue"
                f"&offset={offset + limit}&date_from={query['date_from']}&limit={limit}"
            )
            headers["Link"] = f'<{next_url}>; rel="next"'
        return ocpi_response(page, headers=headers)

    async def bad(request: Request) -> Response:
        await record(request)
        return ocpi_response(status_code=2001, status_message="Missing field 'last_updated'", http_status=400)

    async def ok_with_404(request: Request) -> Response:
        await record(request)
        return ocpi_response({"found": True}, http_status=404)

    async def html(request: Request) -> Response:
        await record(request)
        return PlainTextResponse("<h1>Internal Server Error</h1>", status_code=500)

    async def moved(request: Request) -> Response:
        await record(request)
        return RedirectResponse(f"{peer.url}/cpo/locations", status_code=307)

    async def echo(request: Request) -> Response:
        await record(request)
        return ocpi_response({"method": request.method})

    async def raw_only(request: Request) -> Response:
        await record(request)
        if request.headers.get("authorization") != f"Token {TOKEN}":
            return ocpi_response(status_code=2000, status_message="Unauthorized", http_status=401)
        return ocpi_response({"ok": True})

    async def elsewhere(request: Request) -> Response:
        await record(request)
        return ocpi_response([], headers={"Link": '<http://example.com/steal>; rel="next"'})

    async def loop(request: Request) -> Response:
        await record(request)
        return ocpi_response([1], headers={"Link": f'<{peer.url}/loop>; rel="next"'})

    async def versions(request: Request) -> Response:
        await record(request)
        return ocpi_response(
            [
                {"version": "2.1.1", "url": f"{peer.url}/ocpi/2.1.1/"},
                {"version": "2.2.1", "url": f"{peer.url}/ocpi/2.2.1"},
                {"version": "3.0", "url": f"{peer.url}/ocpi/3.0"},
            ]
        )

    async def details_221(request: Request) -> Response:
        await record(request)
        return ocpi_response(
            {
                "version": "2.2.1",
                "endpoints": [
                    {
                        "identifier": "credentials",
                        "role": "RECEIVER",
                        "url": f"{peer.url}/ocpi/2.2.1/credentials/",
                    },
                    {"identifier": "locations", "role": "SENDER", "url": f"{peer.url}/cpo/locations/"},
                ],
            }
        )

    async def details_211(request: Request) -> Response:
        await record(request)
        return ocpi_response(
            {
                "version": "2.1.1",
                "endpoints": [
                    {"identifier": "credentials", "url": f"{peer.url}/ocpi/2.1.1/credentials/"},
                    {"identifier": "locations", "url": f"{peer.url}/ocpi/2.1.1/locations/"},
                    {"identifier": "commands", "url": f"{peer.url}/ocpi/2.1.1/commands/"},
                ],
            }
        )

    return Starlette(
        routes=[
            Route("/cpo/locations", locations),
            Route("/bad", bad, methods=["GET", "PUT"]),
            Route("/found-404", ok_with_404),
            Route("/html", html),
            Route("/moved", moved),
            Route("/echo/{rest:path}", echo, methods=["GET", "PUT", "PATCH", "POST", "DELETE"]),
            Route("/raw-only", raw_only),
            Route("/elsewhere", elsewhere),
            Route("/loop", loop),
            Route("/ocpi/versions", versions),
            Route("/ocpi/2.2.1", details_221),
            Route("/ocpi/2.1.1/", details_211),
        ]
    )


@pytest.fixture
async def peer() -> AsyncIterator[Peer]:
    sock = bind_loopback()
    made = Peer(url=base_url(sock))
    async with serve(peer_app(made), sock=sock):
        yield made


@pytest.fixture
def config(tmp_path: Path) -> BridgeConfig:
    return make_config(tmp_path)


@pytest.fixture
async def clients(config: BridgeConfig) -> AsyncIterator[OcpiClients]:
    async with OcpiClients(config) as made:
        yield made


def client_for(
    clients: OcpiClients, peer: Peer, *, version: str = "2.2.1", encoding: str = "auto"
) -> OcpiClient:
    client = clients.with_token(TOKEN, name="peer", encoding=encoding, version=version)
    client.endpoints = [
        {"identifier": "locations", "role": "SENDER", "url": f"{peer.url}/cpo/locations/"},
        {"identifier": "tokens", "role": "RECEIVER", "url": f"{peer.url}/echo/tokens"},
        {"identifier": "credentials", "role": "SENDER", "url": f"{peer.url}/echo/credentials"},
    ]
    client.from_party = PartyRef("DE", "BRE")
    client.to_party = PartyRef("NL", "CPO")
    return client


async def test_link_crawl_follows_next_verbatim_and_keeps_every_filter(
    clients: OcpiClients, peer: Peer
) -> None:
    client = client_for(clients, peer)
    params: dict[str, str | int] = {
        "date_from": "2024-01-01T02:00:00Z",
        "date_to": "2024-01-01T09:00:00Z",
        "limit": 3,
    }
    pages = [page async for page in client.pages("locations", params=params)]

    assert [len(p.items) for p in pages] == [3, 3, 1]
    assert [item["id"] for p in pages for item in p.items] == [f"LOC{i}" for i in range(2, 9)]
    assert all(p.total_count == 7 and p.limit == 3 for p in pages)
    assert pages[-1].next_url is None
    assert len(peer.seen) == 3
    assert all("date_from=" in s.query and "date_to=" in s.query for s in peer.seen)
    for page, following in zip(pages, peer.seen[1:], strict=False):
        assert page.next_url == f"{peer.url}/cpo/locations?{following.query}", "the Link URL, byte for byte"
    assert "cursor=opaque%2Bvalue" in peer.seen[1].query

    objects = [o["id"] async for o in client.objects("locations", params=params)]
    assert objects == [f"LOC{i}" for i in range(2, 9)]


async def test_link_to_another_origin_or_back_to_a_read_page_is_refused(
    clients: OcpiClients, peer: Peer
) -> None:
    client = client_for(clients, peer)
    with pytest.raises(PartnerError, match="another origin"):
        async for _ in client.pages("locations", url=f"{peer.url}/elsewhere"):
            pass
    with pytest.raises(PartnerError, match="repeats"):
        async for _ in client.pages("locations", url=f"{peer.url}/loop"):
            pass
    assert peer.paths() == ["/elsewhere", "/loop"], "nothing sent to the other origin, the loop stopped"


async def test_status_code_is_read_from_an_http_4xx_body(clients: OcpiClients, peer: Peer) -> None:
    client = client_for(clients, peer)
    with pytest.raises(PartnerError) as raised:
        await client.request("GET", f"{peer.url}/bad")
    assert raised.value.code == 2001
    assert raised.value.http_status == 400
    assert "Missing field 'last_updated'" in str(raised.value)
    found = await client.request("GET", f"{peer.url}/found-404")
    assert found.status_code == 1000 and found.http_status == 404 and found.data == {"found": True}


async def test_no_envelope_no_redirect_no_connection(clients: OcpiClients, peer: Peer) -> None:
    client = client_for(clients, peer)
    with pytest.raises(PartnerError) as html:
        await client.request("GET", f"{peer.url}/html")
    assert html.value.http_status == 500 and html.value.code is None
    with pytest.raises(PartnerError) as moved:
        await client.request("GET", f"{peer.url}/moved")
    assert moved.value.http_status == 307 and "redirect" in str(moved.value)
    assert peer.paths() == ["/html", "/moved"], "the redirect was not followed"

    closed = bind_loopback()
    down = base_url(closed)
    closed.close()
    with pytest.raises(PartnerError) as refused:
        await client.request("GET", f"{down}/ocpi/versions")
    assert refused.value.http_status is None and refused.value.code is None
    assert TOKEN not in str(refused.value)


async def test_headers_of_a_2_2_1_functional_module_call(clients: OcpiClients, peer: Peer) -> None:
    client = client_for(clients, peer)
    await client.put("tokens", "NL", "TNM", "012 345/6", body={"uid": "x"}, correlation_id="chain-1")
    await client.get("tokens", "NL", "TNM", "012 345/6")
    put, get = peer.seen
    assert put.raw_path == b"/echo/tokens/NL/TNM/012%20345%2F6", "each path part percent-encoded"
    assert put.headers["authorization"] == f"Token {base64.b64encode(TOKEN.encode()).decode()}"
    assert put.headers["content-type"] == "application/json"
    assert put.body == b'{"uid":"x"}'
    assert put.headers["x-correlation-id"] == "chain-1"
    assert get.headers["x-correlation-id"] != "chain-1"
    assert uuid.UUID(put.headers["x-request-id"]) != uuid.UUID(get.headers["x-request-id"])
    for seen in (put, get):
        assert seen.headers["ocpi-from-country-code"] == "DE" and seen.headers["ocpi-from-party-id"] == "BRE"
        assert seen.headers["ocpi-to-country-code"] == "NL" and seen.headers["ocpi-to-party-id"] == "CPO"
    assert "content-type" not in get.headers


async def test_no_routing_headers_on_configuration_modules_nor_in_2_1_1(
    clients: OcpiClients, peer: Peer
) -> None:
    await client_for(clients, peer).request("GET", f"{peer.url}/echo/credentials", module="credentials")
    old = client_for(clients, peer, version="2.1.1")
    await old.get("tokens", "NL", "TNM", "1")
    await old.post("tokens", "1", "authorize", body={"a": 1})
    credentials, get_211, post_211 = peer.seen
    assert not any(h.startswith("ocpi-") for h in credentials.headers)
    for seen in (get_211, post_211):
        assert not any(h.startswith("ocpi-") for h in seen.headers)
        assert seen.headers["authorization"] == f"Token {TOKEN}", "2.1.1: the raw token"
    assert post_211.method == "POST" and post_211.path == "/echo/tokens/1/authorize"


async def test_every_verb_and_the_configured_encoding(clients: OcpiClients, peer: Peer) -> None:
    client = client_for(clients, peer, encoding="raw")
    answers = [
        await client.get("tokens", "a"),
        await client.put("tokens", "a", body=v221.DisplayText(language="en", text="t")),
        await client.patch("tokens", "a", body={"valid": False}),
        await client.post("tokens", "a", body=None, kind="command"),
        await client.delete("tokens", "a"),
    ]
    assert [a.data["method"] for a in answers] == ["GET", "PUT", "PATCH", "POST", "DELETE"]
    assert {s.headers["authorization"] for s in peer.seen} == {f"Token {TOKEN}"}, "raw although 2.2.1"
    assert peer.seen[1].body == b'{"language":"en","text":"t"}'


async def test_auto_encoding_tries_the_other_one_on_a_401_get_only(clients: OcpiClients, peer: Peer) -> None:
    auto = client_for(clients, peer)
    assert (await auto.request("GET", f"{peer.url}/raw-only")).data == {"ok": True}
    first, second = peer.seen
    assert first.headers["authorization"] != second.headers["authorization"] == f"Token {TOKEN}"
    forced = client_for(clients, peer, encoding="base64")
    with pytest.raises(PartnerError) as raised:
        await forced.request("GET", f"{peer.url}/raw-only")
    assert raised.value.http_status == 401
    assert len(peer.seen) == 3, "a configured encoding is not second-guessed"


async def test_discover_chooses_the_highest_mutual_version(clients: OcpiClients, peer: Peer) -> None:
    client = clients.with_token(TOKEN, name="peer")
    found = await client.discover(f"{peer.url}/ocpi/versions", ours=["2.2.1", "2.1.1"], partner_role="CPO")
    assert found.version == "2.2.1"
    assert found.versions == {
        "2.1.1": f"{peer.url}/ocpi/2.1.1/",
        "2.2.1": f"{peer.url}/ocpi/2.2.1",
        "3.0": f"{peer.url}/ocpi/3.0",
    }
    assert found.endpoints == [
        {"identifier": "credentials", "role": "RECEIVER", "url": f"{peer.url}/ocpi/2.2.1/credentials"},
        {"identifier": "locations", "role": "SENDER", "url": f"{peer.url}/cpo/locations"},
    ]
    assert all(not any(h.startswith("ocpi-") for h in s.headers) for s in peer.seen)

    old = await client.discover(f"{peer.url}/ocpi/versions", ours=["2.1.1"], partner_role="CPO")
    assert old.version == "2.1.1"
    assert old.endpoints == [
        {"identifier": "credentials", "role": "SENDER", "url": f"{peer.url}/ocpi/2.1.1/credentials"},
        {"identifier": "locations", "role": "SENDER", "url": f"{peer.url}/ocpi/2.1.1/locations"},
        {"identifier": "commands", "role": "RECEIVER", "url": f"{peer.url}/ocpi/2.1.1/commands"},
    ], "2.1.1 interface roles implied by the partner's role (a CPO)"
    assert peer.seen[-1].headers["authorization"] == f"Token {TOKEN}", "2.1.1 details: raw token"

    forced = await client.discover(
        f"{peer.url}/ocpi/versions", ours=["2.2.1"], partner_role="CPO", version="2.1.1"
    )
    assert forced.version == "2.1.1"
    with pytest.raises(UnsupportedVersion):
        await client.discover(f"{peer.url}/ocpi/versions", ours=["2.0"], partner_role="CPO")


async def test_one_pooled_connection_is_reused(clients: OcpiClients, peer: Peer) -> None:
    client = client_for(clients, peer)
    for _ in range(3):
        await client.get("tokens", "x")
    ports = {s.port for s in peer.seen}
    assert len(ports) == 1, "keep-alive: the three calls shared one connection"


async def test_for_partner_uses_the_stored_connection(
    config: BridgeConfig, clients: OcpiClients, peer: Peer
) -> None:
    record = PartnerRecord(
        name="cpo1",
        role="CPO",
        version="2.1.1",
        endpoints=[{"identifier": "tokens", "role": "RECEIVER", "url": f"{peer.url}/echo/tokens/"}],
        roles=[{"role": "CPO", "country_code": "NL", "party_id": "TNM", "business_details": {"name": "x"}}],
        token_out="their-token-c",
        token_encoding="auto",
        status="registered",
    )
    client = clients.for_partner(record)
    assert client.from_party == PartyRef("DE", "BRE"), "our eMSP faces a CPO"
    assert client.to_party == PartyRef("NL", "TNM")
    await client.get("tokens", "NL", "TNM", "1")
    assert peer.seen[0].headers["authorization"] == "Token their-token-c"
    with pytest.raises(PartnerError, match="no locations"):
        client.endpoint("locations")
    with pytest.raises(PartnerError, match="not registered"):
        clients.for_partner(PartnerRecord(name="new", role="EMSP"))


async def test_custom_transport_is_used(config: BridgeConfig) -> None:
    seen: list[str] = []

    async def app(request: Request) -> Response:
        seen.append(request.url.path)
        return ocpi_response([])

    import httpx

    transport = httpx.ASGITransport(app=Starlette(routes=[Route("/ocpi/versions", app)]))
    async with OcpiClients(config, transport=transport) as clients:
        versions = await clients.with_token(TOKEN, name="asgi").get_versions("http://peer.test/ocpi/versions")
    assert versions == {} and seen == ["/ocpi/versions"]
