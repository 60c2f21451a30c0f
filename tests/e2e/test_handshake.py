"""The gateway as the Sender of the credentials handshake (ocpi.md §1.3, §1.4): the CLI verbs
``register``, ``update-credentials`` and ``unregister``, the registration at start, and two
gateway instances (separate SQLite stores) registering with each other. Every server is a real
uvicorn server on loopback; the CLI runs in a thread with its own event loop, as in production
next to the running gateway."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bridge.cli import main
from bridge.ocpi.server.envelope import ocpi_response
from bridge.partners import REGISTRATION_SERVICE
from bridge.simulators import base_url, bind_loopback, serve
from bridge.store.base import hash_token
from tests.e2e.live import FUNCTIONAL_PATH, b64, incoming_tokens, live_gateway, live_party, store_bytes


async def cli(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


def outbound(party_url: str, token: str, **extra: Any) -> dict[str, Any]:
    return {"name": "sim", "role": "CPO", "versions_url": party_url, "token": token, **extra}


@pytest.mark.parametrize("version", ["2.2.1", "2.1.1"])
async def test_register_with_the_cli(
    tmp_path: Path, version: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async with live_party(versions=(version,), strict_encoding=True) as party, live_gateway(tmp_path) as gw:
        token_a = party.issue_token_a()
        path = gw.rewrite_config(partners=[outbound(party.versions_url(), token_a)])

        assert await cli("register", "sim", "--config", str(path)) == 0

        out = capsys.readouterr().out
        assert f"sim: registered, OCPI {version}" in out and token_a not in out
        record = await gw.store.get_partner("sim")
        assert record is not None and record.status == "registered" and record.version == version
        assert record.versions_url == party.versions_url()
        assert record.roles[0]["party_id"] == "SIM" and record.roles[0]["role"] == "CPO"
        assert party.token_kind(record.token_out or "") == "CURRENT", "token C from the POST answer"
        assert party.token_kind(token_a) is None
        token_b = party.connection.token_out or ""
        assert incoming_tokens(tmp_path / "bridge.db", "sim") == [("CURRENT", hash_token(token_b))]
        assert token_b.encode() not in store_bytes(tmp_path / "bridge.db")
        # What the partner learnt: our versions URL for that version and our eMSP facing its CPO.
        assert party.connection.version == version
        if version == "2.2.1":
            assert party.connection.versions_url == f"{gw.url}/ocpi/versions"
            assert [r["role"] for r in party.connection.roles] == ["EMSP"]
        else:
            assert party.connection.versions_url == f"{gw.url}/ocpi/emsp/versions"
        assert party.connection.roles[0]["party_id"] == "BRE"
        # What we sent: GET versions, GET details (token A), POST (token A, then answered by C).
        sent = [(r.method, r.path) for r in party.received]
        assert sent == [
            ("GET", "/ocpi/versions"),
            ("GET", f"/ocpi/{version}"),
            ("POST", f"/ocpi/{version}/credentials"),
        ]
        encoded = f"Token {b64(token_a)}" if version == "2.2.1" else f"Token {token_a}"
        assert [r.headers["authorization"] for r in party.received[1:]] == [encoded, encoded]
        for request in party.received:
            assert request.headers["x-request-id"] and request.headers["x-correlation-id"]
            assert not any(h.startswith("ocpi-") for h in request.headers)
        # The partner called back our versions with B before answering: B was stored before the POST.
        callback = [r for r in party.sent if r.method == "GET"]
        prefix = "/ocpi/emsp" if version == "2.1.1" else "/ocpi"
        assert [r.path for r in callback] == [f"{prefix}/versions", f"{prefix}/{version}"]
        assert (await party.call("GET", f"{gw.url}{FUNCTIONAL_PATH}")).status_code == 200


async def test_update_credentials_rotates_and_upgrades_to_2_2_1(tmp_path: Path) -> None:
    ocpi = {
        "parties": [{"role": "EMSP", "country_code": "DE", "party_id": "BRE", "name": "Bridge eMSP"}],
        "token_grace_seconds": 600,
    }
    async with live_party(versions=("2.1.1",)) as party, live_gateway(tmp_path, ocpi=ocpi) as gw:
        path = gw.rewrite_config(partners=[outbound(party.versions_url(), party.issue_token_a())], ocpi=ocpi)
        assert await cli("register", "sim", "--config", str(path)) == 0
        registered = await gw.store.get_partner("sim")
        assert registered is not None
        old_b, old_c = party.connection.token_out or "", registered.token_out
        party.versions = ("2.2.1", "2.1.1")
        received = len(party.received)

        assert await cli("update-credentials", "sim", "--config", str(path)) == 0

        record = await gw.store.get_partner("sim")
        assert record is not None and record.status == "registered" and record.version == "2.2.1"
        assert record.token_out not in (None, old_c) and party.token_kind(record.token_out or "") == "CURRENT"
        assert party.token_kind(old_c or "") is None, "the partner's old token C is dead (no grace there)"
        new_b = party.connection.token_out or ""
        assert new_b != old_b and party.connection.version == "2.2.1"
        assert dict(incoming_tokens(tmp_path / "bridge.db", "sim")) == {
            "CURRENT": hash_token(new_b),
            "PREVIOUS": hash_token(old_b),
        }
        calls = [(r.method, r.path) for r in party.received[received:]]
        assert calls == [
            ("GET", "/ocpi/versions"),
            ("GET", "/ocpi/2.2.1"),
            ("PUT", "/ocpi/2.2.1/credentials"),
        ]
        put = party.received[-1]
        assert put.headers["authorization"] == f"Token {b64(old_c or '')}", "the old C, Base64 for 2.2.1"
        for token, kind in ((new_b, "CURRENT"), (old_b, "PREVIOUS")):
            answer = await party.call("GET", f"{gw.url}{FUNCTIONAL_PATH}", token=token, version="2.2.1")
            assert answer.json()["data"]["token_kind"] == kind


async def test_unregister_with_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async with live_party() as party, live_gateway(tmp_path) as gw:
        path = gw.rewrite_config(partners=[outbound(party.versions_url(), party.issue_token_a())])
        assert await cli("register", "sim", "--config", str(path)) == 0
        token_b = party.connection.token_out or ""

        assert await cli("unregister", "sim", "--config", str(path)) == 0

        assert "sim: unregistered" in capsys.readouterr().out
        assert party.received[-1].method == "DELETE" and party.connection.status == "unregistered"
        record = await gw.store.get_partner("sim")
        assert record is not None and record.status == "unregistered" and record.token_out is None
        assert incoming_tokens(tmp_path / "bridge.db", "sim") == []
        assert (await party.call("GET", f"{gw.url}/ocpi/versions", token=token_b)).status_code == 401

        assert await cli("unregister", "sim", "--config", str(path)) == 1, "405: not registered"
        assert await cli("update-credentials", "sim", "--config", str(path)) == 1
        assert "not registered" in capsys.readouterr().err


async def test_unregister_force_when_the_partner_is_gone(tmp_path: Path) -> None:
    async with live_gateway(tmp_path) as gw:
        async with live_party() as party:
            path = gw.rewrite_config(partners=[outbound(party.versions_url(), party.issue_token_a())])
            assert await cli("register", "sim", "--config", str(path)) == 0
        assert await cli("unregister", "sim", "--config", str(path)) == 1
        record = await gw.store.get_partner("sim")
        assert record is not None and record.status == "registered"
        assert await cli("unregister", "sim", "--config", str(path), "--force") == 0
        record = await gw.store.get_partner("sim")
        assert record is not None and record.status == "unregistered"


async def test_register_refuses_to_post_when_endpoints_are_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sock = bind_loopback()
    peer = base_url(sock)
    seen: list[str] = []

    async def versions(request: Request) -> Response:
        seen.append(f"{request.method} {request.url.path}")
        return ocpi_response([{"version": "2.2.1", "url": f"{peer}/ocpi/2.2.1"}])

    async def details(request: Request) -> Response:
        seen.append(f"{request.method} {request.url.path}")
        endpoints = [{"identifier": "locations", "role": "SENDER", "url": f"{peer}/ocpi/2.2.1/locations"}]
        return ocpi_response({"version": "2.2.1", "endpoints": endpoints})

    async def anything(request: Request) -> Response:
        seen.append(f"{request.method} {request.url.path}")
        return ocpi_response()

    app = Starlette(
        routes=[
            Route("/ocpi/versions", versions),
            Route("/ocpi/2.2.1", details),
            Route("/{rest:path}", anything, methods=["GET", "POST", "PUT", "DELETE"]),
        ]
    )
    async with serve(app, sock=sock), live_gateway(tmp_path) as gw:
        path = gw.rewrite_config(partners=[outbound(f"{peer}/ocpi/versions", "their-token-a")])

        assert await cli("register", "sim", "--config", str(path)) == 1

        assert "required endpoint(s): credentials" in capsys.readouterr().err
        assert seen == ["GET /ocpi/versions", "GET /ocpi/2.2.1"], "no POST"
        assert incoming_tokens(tmp_path / "bridge.db", "sim") == []
        record = await gw.store.get_partner("sim")
        assert record is not None and record.status == "new"


async def test_cli_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async with live_party() as party, live_gateway(tmp_path) as gw:
        path = gw.rewrite_config(
            partners=[
                outbound(party.versions_url(), party.issue_token_a()),
                {"name": "inbound", "role": "EMSP", "token_a": "we-gave-this-one"},
            ]
        )
        assert await cli("register", "nobody", "--config", str(path)) == 2
        assert "no partner named 'nobody'" in capsys.readouterr().err
        assert await cli("register", "inbound", "--config", str(path)) == 2
        assert "registers with us" in capsys.readouterr().err
        assert await cli("register", "sim", "--config", str(path)) == 0
        assert await cli("register", "sim", "--config", str(path)) == 1
        assert "already registered" in capsys.readouterr().err


async def test_the_gateway_registers_at_start(tmp_path: Path) -> None:
    async with live_party(versions=("2.1.1",)) as party:
        partners = [outbound(party.versions_url(), party.issue_token_a())]
        async with live_gateway(tmp_path, partners=partners) as gw:
            outcome = await gw.gateway.services[REGISTRATION_SERVICE]
            assert outcome == {"sim": "registered"}
            record = await gw.store.get_partner("sim")
            assert record is not None and record.status == "registered" and record.version == "2.1.1"
            assert party.connection.status == "registered"
        # A restart does not register again.
        async with live_gateway(tmp_path, partners=partners) as again:
            assert await again.gateway.services[REGISTRATION_SERVICE] == {}


async def test_an_unreachable_partner_does_not_block_the_start(tmp_path: Path) -> None:
    closed = bind_loopback()
    down = f"{base_url(closed)}/ocpi/versions"
    closed.close()
    async with live_gateway(tmp_path, partners=[outbound(down, "their-token-a")]) as gw:
        async with httpx.AsyncClient(base_url=gw.url) as client:
            assert (await client.get("/health")).status_code == 200
        task = gw.gateway.services[REGISTRATION_SERVICE]
        assert not task.done(), "still waiting to try the partner again"
        record = await gw.store.get_partner("sim")
        assert record is not None and record.status == "new"
    assert task.cancelled() or task.done()


@pytest.mark.parametrize("b_versions", [["2.2.1", "2.1.1"], ["2.1.1"]], ids=["2.2.1", "2.1.1"])
async def test_two_gateways_register_update_and_unregister(tmp_path: Path, b_versions: list[str]) -> None:
    token_a = "token-a-from-b-to-a"
    b_ocpi = {
        "parties": [
            {"role": "CPO", "country_code": "NL", "party_id": "GWB", "name": "Gateway B CPO"},
            {"role": "EMSP", "country_code": "NL", "party_id": "GBE", "name": "Gateway B eMSP"},
        ],
        "versions": b_versions,
    }
    b_partners = [{"name": "gw-a", "role": "EMSP", "token_a": token_a}]
    async with live_gateway(tmp_path / "b", ocpi=b_ocpi, partners=b_partners) as gw_b:
        version = b_versions[0]
        b_url = f"{gw_b.url}/ocpi/{'cpo/' if version == '2.1.1' else ''}versions"
        a_partners = [{"name": "gw-b", "role": "CPO", "versions_url": b_url, "token": token_a}]
        async with live_gateway(tmp_path / "a", partners=a_partners) as gw_a:
            assert await gw_a.gateway.services[REGISTRATION_SERVICE] == {"gw-b": "registered"}

            a_view = await gw_a.store.get_partner("gw-b")
            b_view = await gw_b.store.get_partner("gw-a")
            assert a_view is not None and b_view is not None
            assert a_view.status == b_view.status == "registered"
            assert a_view.version == b_view.version == version
            assert a_view.roles == [
                {
                    "role": "CPO",
                    "business_details": {"name": "Gateway B CPO"},
                    "party_id": "GWB",
                    "country_code": "NL",
                }
            ]
            assert b_view.roles == [
                {
                    "role": "EMSP",
                    "business_details": {"name": "Bridge eMSP"},
                    "party_id": "BRE",
                    "country_code": "DE",
                }
            ]
            # Each one holds the other's token in clear (to send it) and its own as a hash only.
            assert incoming_tokens(tmp_path / "b" / "bridge.db", "gw-a") == [
                ("CURRENT", hash_token(a_view.token_out or ""))
            ]
            assert incoming_tokens(tmp_path / "a" / "bridge.db", "gw-b") == [
                ("CURRENT", hash_token(b_view.token_out or ""))
            ]
            assert b_view.versions_url == f"{gw_a.url}/ocpi/{'emsp/' if version == '2.1.1' else ''}versions"

            # B rotates (it did not initiate the registration): PUT on A's credentials.
            assert await cli("update-credentials", "gw-a", "--config", str(gw_b.config_path)) == 0
            a_after = await gw_a.store.get_partner("gw-b")
            b_after = await gw_b.store.get_partner("gw-a")
            assert a_after is not None and b_after is not None
            assert a_after.token_out != a_view.token_out and b_after.token_out != b_view.token_out
            assert dict(incoming_tokens(tmp_path / "a" / "bridge.db", "gw-b"))["CURRENT"] == hash_token(
                b_after.token_out or ""
            )
            assert dict(incoming_tokens(tmp_path / "b" / "bridge.db", "gw-a"))["CURRENT"] == hash_token(
                a_after.token_out or ""
            )

            # A unregisters: both sides stop.
            assert await cli("unregister", "gw-b", "--config", str(gw_a.config_path)) == 0
            a_end = await gw_a.store.get_partner("gw-b")
            b_end = await gw_b.store.get_partner("gw-a")
            assert a_end is not None and b_end is not None
            assert a_end.status == b_end.status == "unregistered"
            assert incoming_tokens(tmp_path / "a" / "bridge.db", "gw-b") == []
            assert incoming_tokens(tmp_path / "b" / "bridge.db", "gw-a") == []


async def test_a_refused_update_leaves_the_connection_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with live_party() as party, live_gateway(tmp_path) as gw:
        path = gw.rewrite_config(partners=[outbound(party.versions_url(), party.issue_token_a())])
        assert await cli("register", "sim", "--config", str(path)) == 0
        before = await gw.store.get_partner("sim")
        tokens_before = incoming_tokens(tmp_path / "bridge.db", "sim")

        def unreachable(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("the partner cannot reach us", request=request)

        # The partner can no longer call us back: it answers our PUT with 3001.
        await party.http.aclose()
        party.http = httpx.AsyncClient(transport=httpx.MockTransport(unreachable))

        assert await cli("update-credentials", "sim", "--config", str(path)) == 1

        assert "status_code 3001" in capsys.readouterr().err
        assert party.received[-1].method == "PUT"
        assert await gw.store.get_partner("sim") == before
        assert incoming_tokens(tmp_path / "bridge.db", "sim") == tokens_before, "no new token left behind"
        old_b = party.connection.token_out or ""
        answer = await gw_get(gw.url, old_b)
        assert answer.status_code == 200 and answer.json()["data"]["token_kind"] == "CURRENT"


async def gw_get(url: str, token: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(f"{url}{FUNCTIONAL_PATH}", headers={"Authorization": f"Token {b64(token)}"})
