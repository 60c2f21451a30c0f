"""The credentials module as Receiver (ocpi.md §1.3, §1.4, §8 points 1-3): a real partner (the
OCPI party simulator) registers with a real gateway, both on uvicorn on loopback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bridge.ocpi.server.envelope import ocpi_response
from bridge.ocpi.server.registry import ModuleEndpoint
from bridge.simulators import base_url, bind_loopback, serve
from bridge.store.base import hash_token
from tests.e2e.live import (
    FUNCTIONAL_PATH,
    b64,
    header,
    incoming_tokens,
    live_gateway,
    live_party,
    store_bytes,
)

TOKEN_A = "gateway-token-a-for-sim"
SIM = {"name": "sim", "role": "CPO", "token_a": TOKEN_A}


def _roles_body(token: str, url: str) -> dict[str, Any]:
    return {
        "token": token,
        "url": url,
        "roles": [
            {"role": "CPO", "party_id": "SIM", "country_code": "NL", "business_details": {"name": "Sim"}}
        ],
    }


@pytest.mark.parametrize(
    ("version", "path"),
    [("2.2.1", "/ocpi/versions"), ("2.1.1", "/ocpi/versions"), ("2.1.1", "/ocpi/emsp/versions")],
    ids=["2.2.1", "2.1.1-combined", "2.1.1-role-url"],
)
async def test_partner_registers_with_the_gateway(tmp_path: Path, version: str, path: str) -> None:
    async with live_gateway(tmp_path, partners=[SIM]) as gw, live_party(versions=(version,)) as party:
        assert incoming_tokens(tmp_path / "bridge.db", "sim") == [("A", hash_token(TOKEN_A))]

        connection = await party.register(f"{gw.url}{path}", TOKEN_A)

        record = await gw.store.get_partner("sim")
        assert record is not None and record.status == "registered"
        assert record.version == version
        assert record.versions_url == party.versions_url()
        assert record.endpoints == [
            {
                "identifier": "credentials",
                "role": "SENDER",
                "url": f"{party.base_url}/ocpi/{version}/credentials",
            }
        ]
        assert record.roles == [
            {
                "role": "CPO",
                "business_details": {"name": "Simulated CPO"},
                "party_id": "SIM",
                "country_code": "NL",
            }
        ]
        token_b, token_c = record.token_out or "", connection.token_out or ""
        assert party.token_kind(token_b) == "CURRENT", "we call the partner with its token B"
        # Our token C is stored as a hash only; token A is revoked.
        assert incoming_tokens(tmp_path / "bridge.db", "sim") == [("CURRENT", hash_token(token_c))]
        assert token_c.encode() not in store_bytes(tmp_path / "bridge.db")
        assert 1 <= len(token_c) <= 64 and all(0x21 <= ord(ch) <= 0x7E for ch in token_c)
        # Our answer: the version's shape, our role facing a CPO, our versions URL for that version.
        assert connection.version == version
        if version == "2.2.1":
            assert connection.versions_url == f"{gw.url}/ocpi/versions"
            assert connection.roles == [
                {
                    "role": "EMSP",
                    "business_details": {"name": "Bridge eMSP"},
                    "party_id": "BRE",
                    "country_code": "DE",
                }
            ]
        else:
            assert connection.versions_url == f"{gw.url}/ocpi/emsp/versions"
            assert connection.roles == [
                {"country_code": "DE", "party_id": "BRE", "business_details": {"name": "Bridge eMSP"}}
            ]
        # The callbacks: versions then details, with token B in the version's encoding, no routing headers.
        callbacks = [r for r in party.received if r.method == "GET"]
        assert [r.path for r in callbacks] == ["/ocpi/versions", f"/ocpi/{version}"]
        expected = f"Token {b64(token_b)}" if version == "2.2.1" else f"Token {token_b}"
        assert all(r.headers["authorization"] == expected for r in callbacks)
        assert all(not any(h.startswith("ocpi-") for h in r.headers) for r in callbacks)
        request_ids = {r.headers["x-request-id"] for r in callbacks}
        assert len(request_ids) == 2
        # The partner now reaches us with C, and GET credentials returns C.
        mine = await party.call("GET", f"{gw.url}/ocpi/{version}/credentials")
        assert mine.status_code == 200
        assert mine.json()["data"]["token"] == token_c
        module = await party.call("GET", f"{gw.url}{FUNCTIONAL_PATH}")
        assert module.json()["data"] == {"partner": "sim", "token_kind": "CURRENT"}


async def test_token_a_is_refused_on_modules_and_dead_after_registration(tmp_path: Path) -> None:
    async with live_gateway(tmp_path, partners=[SIM]) as gw, live_party() as party:
        before = await party.call("GET", f"{gw.url}{FUNCTIONAL_PATH}", token=TOKEN_A)
        assert before.status_code == 401, "token A is for versions and credentials only"
        await party.register(f"{gw.url}/ocpi/versions", TOKEN_A)
        for encode in (True, False):
            post = await party.http.post(
                f"{gw.url}/ocpi/2.2.1/credentials",
                headers=header(TOKEN_A, encode=encode),
                json=_roles_body("another-b", party.versions_url()),
            )
            assert post.status_code == 401
            assert post.json()["status_code"] == 2000
            module = await party.http.get(
                f"{gw.url}{FUNCTIONAL_PATH}", headers=header(TOKEN_A, encode=encode)
            )
            assert module.status_code == 401
            versions = await party.http.get(f"{gw.url}/ocpi/versions", headers=header(TOKEN_A, encode=encode))
            assert versions.status_code == 401


async def test_credentials_misuse_is_405(tmp_path: Path) -> None:
    async with live_gateway(tmp_path, partners=[SIM]) as gw, live_party() as party:
        url = f"{gw.url}/ocpi/2.2.1/credentials"
        body = _roles_body("new-token-b", party.versions_url())
        for method in ("PUT", "DELETE"):
            response = await party.call(method, url, token=TOKEN_A, json=body)
            assert response.status_code == 405, method
            assert response.json()["status_code"] == 2000 and "data" not in response.json()
        await party.register(f"{gw.url}/ocpi/versions", TOKEN_A)
        again = await party.call("POST", url, json=body)
        assert again.status_code == 405
        record = await gw.store.get_partner("sim")
        assert record is not None and record.token_out != "new-token-b"


@pytest.mark.parametrize(
    "path", ["/ocpi/2.2.1/credentials", "/ocpi/2.1.1/credentials", "/ocpi/emsp/2.1.1/credentials"]
)
async def test_missing_or_unknown_token_on_credentials_is_401(tmp_path: Path, path: str) -> None:
    async with live_gateway(tmp_path, partners=[SIM]) as gw, live_party() as party:
        for headers in ({}, header("unknown", encode=True), header("unknown", encode=False)):
            for method in ("GET", "POST", "PUT", "DELETE"):
                response = await party.http.request(method, f"{gw.url}{path}", headers=headers, json={})
                assert response.status_code == 401, (method, headers)


async def test_a_cpo_cannot_use_the_cpo_role_urls(tmp_path: Path) -> None:
    async with live_gateway(tmp_path, partners=[SIM]) as gw, live_party(versions=("2.1.1",)) as party:
        response = await party.call("GET", f"{gw.url}/ocpi/cpo/2.1.1/credentials", token=TOKEN_A)
        assert response.status_code == 404
        record = await gw.store.get_partner("sim")
        assert record is not None and record.status == "new"


async def test_3001_when_the_partners_versions_cannot_be_read(tmp_path: Path) -> None:
    closed = bind_loopback()
    down = f"{base_url(closed)}/ocpi/versions"
    closed.close()
    async with live_gateway(tmp_path, partners=[SIM]) as gw, live_party() as party:
        response = await party.call(
            "POST", f"{gw.url}/ocpi/2.2.1/credentials", token=TOKEN_A, json=_roles_body("token-b-1", down)
        )
        assert response.status_code == 200
        assert response.json()["status_code"] == 3001
        assert "data" not in response.json()
        record = await gw.store.get_partner("sim")
        assert record is not None and record.status == "new" and record.token_out is None
        assert incoming_tokens(tmp_path / "bridge.db", "sim") == [("A", hash_token(TOKEN_A))]


async def test_3002_when_the_partner_does_not_offer_the_version_used(tmp_path: Path) -> None:
    async with live_gateway(tmp_path, partners=[SIM]) as gw, live_party(versions=("2.1.1",)) as party:
        body = _roles_body(party.issue_token_a(), party.versions_url())
        response = await party.call("POST", f"{gw.url}/ocpi/2.2.1/credentials", token=TOKEN_A, json=body)
        assert response.json()["status_code"] == 3002
        record = await gw.store.get_partner("sim")
        assert record is not None and record.status == "new"


async def test_3002_when_the_partner_is_pinned_to_another_version(tmp_path: Path) -> None:
    pinned = {**SIM, "version": "2.1.1"}
    async with live_gateway(tmp_path, partners=[pinned]) as gw, live_party() as party:
        body = _roles_body(party.issue_token_a(), party.versions_url())
        response = await party.call("POST", f"{gw.url}/ocpi/2.2.1/credentials", token=TOKEN_A, json=body)
        assert response.json()["status_code"] == 3002
        assert [r for r in party.received if r.method == "GET"] == [], "refused before any callback"


async def test_3003_when_the_partner_offers_no_credentials_endpoint(tmp_path: Path) -> None:
    sock = bind_loopback()
    peer = base_url(sock)

    async def versions(request: Request) -> Response:
        return ocpi_response([{"version": "2.2.1", "url": f"{peer}/ocpi/2.2.1"}])

    async def details(request: Request) -> Response:
        endpoints = [{"identifier": "locations", "role": "SENDER", "url": f"{peer}/ocpi/2.2.1/locations"}]
        return ocpi_response({"version": "2.2.1", "endpoints": endpoints})

    app = Starlette(routes=[Route("/ocpi/versions", versions), Route("/ocpi/2.2.1", details)])
    async with live_gateway(tmp_path, partners=[SIM]) as gw, serve(app, sock=sock), live_party() as party:
        body = _roles_body("token-b-3003", f"{peer}/ocpi/versions")
        response = await party.call("POST", f"{gw.url}/ocpi/2.2.1/credentials", token=TOKEN_A, json=body)
        assert response.json()["status_code"] == 3003
        record = await gw.store.get_partner("sim")
        assert record is not None and record.status == "new"


async def test_invalid_credentials_body_is_2001_naming_the_field(tmp_path: Path) -> None:
    async with live_gateway(tmp_path, partners=[SIM]) as gw, live_party() as party:
        body = {"token": "x", "url": party.versions_url(), "roles": []}
        response = await party.call("POST", f"{gw.url}/ocpi/2.2.1/credentials", token=TOKEN_A, json=body)
        assert response.json()["status_code"] == 2001
        assert "roles" in response.json()["status_message"]


@pytest.mark.parametrize(("version", "encoding"), [("2.2.1", "raw"), ("2.1.1", "base64")])
async def test_the_other_token_encoding_is_accepted(tmp_path: Path, version: str, encoding: str) -> None:
    async with (
        live_gateway(tmp_path, partners=[SIM]) as gw,
        live_party(versions=(version,), token_encoding=encoding) as party,
    ):
        await party.register(f"{gw.url}/ocpi/versions", TOKEN_A)
        post = next(r for r in party.sent if r.method == "POST")
        assert post.headers["authorization"] == (
            f"Token {b64(TOKEN_A)}" if encoding == "base64" else f"Token {TOKEN_A}"
        )
        record = await gw.store.get_partner("sim")
        assert record is not None and record.status == "registered" and record.version == version
        module = await party.call("GET", f"{gw.url}{FUNCTIONAL_PATH}")
        assert module.status_code == 200


async def test_put_rotates_refetches_and_keeps_the_old_token_for_the_grace_period(tmp_path: Path) -> None:
    ocpi = {
        "parties": [{"role": "EMSP", "country_code": "DE", "party_id": "BRE", "name": "Bridge eMSP"}],
        "token_grace_seconds": 600,
    }
    async with live_gateway(tmp_path, partners=[SIM], ocpi=ocpi) as gw, live_party() as party:
        await party.register(f"{gw.url}/ocpi/versions", TOKEN_A)
        old_c = party.connection.token_out or ""
        gets_before = len([r for r in party.received if r.method == "GET"])
        # A new module on the partner's side: the PUT must pick it up.
        party.registry.add(ModuleEndpoint("2.2.1", "locations", "SENDER", "CPO", "cpo/locations"))

        await party.update()

        new_c = party.connection.token_out or ""
        assert new_c and new_c != old_c
        gets = [r.path for r in party.received if r.method == "GET"][gets_before:]
        assert gets == ["/ocpi/versions", "/ocpi/2.2.1"], "versions and details fetched again"
        record = await gw.store.get_partner("sim")
        assert record is not None
        assert {
            "identifier": "locations",
            "role": "SENDER",
            "url": f"{party.base_url}/ocpi/2.2.1/cpo/locations",
        } in (record.endpoints)
        assert party.token_kind(record.token_out or "") == "CURRENT", "the partner's new token B"
        kinds = dict(incoming_tokens(tmp_path / "bridge.db", "sim"))
        assert kinds == {"CURRENT": hash_token(new_c), "PREVIOUS": hash_token(old_c)}
        for token, kind in ((new_c, "CURRENT"), (old_c, "PREVIOUS")):
            response = await party.call("GET", f"{gw.url}{FUNCTIONAL_PATH}", token=token)
            assert response.json()["data"]["token_kind"] == kind
        later = datetime.now(UTC) + timedelta(seconds=601)
        assert await gw.store.find_partner_by_token(old_c, later) is None, "dead after the grace period"
        assert await gw.store.find_partner_by_token(new_c, later) is not None


async def test_put_without_grace_kills_the_old_token_at_once(tmp_path: Path) -> None:
    ocpi = {
        "parties": [{"role": "EMSP", "country_code": "DE", "party_id": "BRE", "name": "Bridge eMSP"}],
        "token_grace_seconds": 0,
    }
    async with live_gateway(tmp_path, partners=[SIM], ocpi=ocpi) as gw, live_party() as party:
        await party.register(f"{gw.url}/ocpi/versions", TOKEN_A)
        old_c = party.connection.token_out or ""
        await party.update()
        refused = await party.call("GET", f"{gw.url}{FUNCTIONAL_PATH}", token=old_c)
        assert refused.status_code == 401
        accepted = await party.call("GET", f"{gw.url}{FUNCTIONAL_PATH}")
        assert accepted.status_code == 200


async def test_upgrade_from_2_1_1_to_2_2_1_by_put(tmp_path: Path) -> None:
    async with live_gateway(tmp_path, partners=[SIM]) as gw, live_party(versions=("2.1.1",)) as party:
        await party.register(f"{gw.url}/ocpi/emsp/versions", TOKEN_A)
        record = await gw.store.get_partner("sim")
        assert record is not None and record.version == "2.1.1"

        party.versions = ("2.2.1", "2.1.1")
        connection = await party.update()

        assert connection.version == "2.2.1"
        assert connection.endpoint("credentials") == f"{gw.url}/ocpi/2.2.1/credentials"
        assert connection.roles == [
            {
                "role": "EMSP",
                "business_details": {"name": "Bridge eMSP"},
                "party_id": "BRE",
                "country_code": "DE",
            }
        ]
        record = await gw.store.get_partner("sim")
        assert record is not None and record.version == "2.2.1"
        assert record.endpoints[0]["url"] == f"{party.base_url}/ocpi/2.2.1/credentials"
        puts = [r for r in party.received if r.method == "GET"][-2:]
        assert [r.path for r in puts] == ["/ocpi/versions", "/ocpi/2.2.1"]


async def test_delete_unregisters(tmp_path: Path) -> None:
    async with live_gateway(tmp_path, partners=[SIM]) as gw, live_party() as party:
        await party.register(f"{gw.url}/ocpi/versions", TOKEN_A)
        token_c = party.connection.token_out or ""

        await party.unregister()

        record = await gw.store.get_partner("sim")
        assert record is not None and record.status == "unregistered" and record.token_out is None
        assert incoming_tokens(tmp_path / "bridge.db", "sim") == []
        for path in ("/ocpi/versions", FUNCTIONAL_PATH, "/ocpi/2.2.1/credentials"):
            refused = await party.call("GET", f"{gw.url}{path}", token=token_c)
            assert refused.status_code == 401, path
