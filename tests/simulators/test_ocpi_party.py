"""The OCPI party simulator against itself, over real HTTP on loopback: the handshake in both
versions, rotation, unregistration and the prescribed errors (ocpi.md §1.3, §1.4)."""

from __future__ import annotations

import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bridge.errors import PartnerError
from bridge.ocpi.server.envelope import ocpi_response
from bridge.ocpi.server.registry import EndpointRegistry, ModuleEndpoint
from bridge.simulators import base_url, bind_loopback
from tests.e2e.live import CPO_SIM, EMSP_SIM, b64, live_party


@pytest.mark.parametrize("version", ["2.2.1", "2.1.1"])
async def test_two_parties_register_and_use_the_exchanged_tokens(version: str) -> None:
    async with live_party(identities=[EMSP_SIM]) as receiver, live_party(versions=(version,)) as sender:
        token_a = receiver.issue_token_a()
        connection = await sender.register(receiver.versions_url(), token_a)

        assert connection.status == receiver.connection.status == "registered"
        assert connection.version == receiver.connection.version == version
        # Each side calls the other with the token the other one issued.
        assert receiver.token_kind(connection.token_out or "") == "CURRENT"
        assert sender.token_kind(receiver.connection.token_out or "") == "CURRENT"
        assert receiver.token_kind(token_a) is None, "token A is dead after the handshake"
        # The Receiver fetched the Sender's versions and details with token B before answering.
        callbacks = [r for r in sender.received if r.method == "GET"]
        assert [r.path for r in callbacks] == ["/ocpi/versions", f"/ocpi/{version}"]
        expected = receiver.connection.token_out or ""
        assert {r.headers["authorization"] for r in callbacks[1:]} == {
            f"Token {b64(expected) if version == '2.2.1' else expected}"
        }
        post = next(r for r in receiver.received if r.method == "POST")
        assert post.headers["authorization"] == f"Token {b64(token_a) if version == '2.2.1' else token_a}"
        if version == "2.2.1":
            assert receiver.connection.roles[0]["role"] == "CPO"
            assert connection.roles[0]["role"] == "EMSP"
        else:
            assert receiver.connection.roles[0]["role"] == "CPO", "2.1.1: role implied by the connection"


async def test_post_when_registered_put_and_delete_when_not_are_405() -> None:
    async with live_party(identities=[EMSP_SIM]) as receiver, live_party() as sender:
        credentials_url = f"{receiver.base_url}/ocpi/2.2.1/credentials"
        token_a = receiver.issue_token_a()
        for method in ("PUT", "DELETE"):
            response = await sender.call(method, credentials_url, token=token_a, json={})
            assert response.status_code == 405, method
        await sender.register(receiver.versions_url(), token_a)
        again = await sender.call("POST", credentials_url, json={})
        assert again.status_code == 405
        dead_a = await sender.call("GET", receiver.versions_url(), token=token_a)
        assert dead_a.status_code == 401


async def test_update_rotates_the_tokens_and_unregister_ends_the_connection() -> None:
    async with live_party(identities=[EMSP_SIM]) as receiver, live_party() as sender:
        await sender.register(receiver.versions_url(), receiver.issue_token_a())
        old_out = sender.connection.token_out or ""
        old_in = receiver.connection.token_out or ""

        await sender.update()

        assert sender.connection.token_out not in (None, old_out)
        assert receiver.token_kind(old_out) is None, "no grace configured: the old token is dead"
        assert sender.token_kind(old_in) is None
        assert receiver.token_kind(sender.connection.token_out or "") == "CURRENT"
        ok = await sender.call("GET", receiver.versions_url())
        assert ok.status_code == 200

        await sender.unregister()
        assert receiver.connection.status == sender.connection.status == "unregistered"
        refused = await sender.call(
            "GET", receiver.versions_url(), token=receiver.connection.token_out or "x"
        )
        assert refused.status_code == 401


async def test_strict_encoding_accepts_only_the_versions_encoding() -> None:
    async with live_party(strict_encoding=True) as party:
        token = party.issue_token_a()
        details = f"{party.base_url}/ocpi/2.2.1"
        assert (await party.call("GET", details, token=token, version="2.2.1")).status_code == 200
        raw = await party.http.get(details, headers={"Authorization": f"Token {token}"})
        assert raw.status_code == 401
        old = f"{party.base_url}/ocpi/2.1.1"
        assert (await party.http.get(old, headers={"Authorization": f"Token {token}"})).status_code == 200
        assert (
            await party.http.get(old, headers={"Authorization": f"Token {b64(token)}"})
        ).status_code == 401


async def test_receiver_errors_3001_3002_and_no_mutual_version_as_sender() -> None:
    closed = bind_loopback()
    down_url = f"{base_url(closed)}/ocpi/versions"
    closed.close()
    async with (
        live_party(identities=[EMSP_SIM], versions=("2.2.1",)) as receiver,
        live_party(versions=("2.1.1",)) as only_211,
    ):
        credentials_url = f"{receiver.base_url}/ocpi/2.2.1/credentials"
        body = {
            "token": "sender-token-b",
            "url": down_url,
            "roles": [
                {"role": "CPO", "party_id": "SIM", "country_code": "NL", "business_details": {"name": "x"}}
            ],
        }
        unusable = await receiver.call("POST", credentials_url, token=receiver.issue_token_a(), json=body)
        assert unusable.json()["status_code"] == 3001
        only_211.issue_token_a()
        body["url"] = only_211.versions_url()
        body["token"] = only_211.issue_token_a()
        unsupported = await receiver.call("POST", credentials_url, token=receiver.issue_token_a(), json=body)
        assert unsupported.json()["status_code"] == 3002
        assert receiver.connection.status == "new"

        with pytest.raises(PartnerError) as raised:
            await only_211.register(receiver.versions_url(), receiver.issue_token_a())
        assert raised.value.code == 3002


async def test_added_modules_are_advertised_and_served() -> None:
    async def hello(request: Request) -> Response:
        return ocpi_response({"hello": "world"})

    registry = EndpointRegistry()
    route = Route("/ocpi/2.2.1/cpo/locations", hello, methods=["GET"])
    registry.add(ModuleEndpoint("2.2.1", "locations", "SENDER", "CPO", "cpo/locations", (route,)))
    async with live_party(identities=[CPO_SIM], registry=registry) as party:
        token = party.issue_token_a()
        details = await party.call("GET", f"{party.base_url}/ocpi/2.2.1", token=token)
        endpoints = details.json()["data"]["endpoints"]
        assert {
            "identifier": "locations",
            "role": "SENDER",
            "url": f"{party.base_url}/ocpi/2.2.1/cpo/locations",
        } in endpoints
        served = await party.call("GET", f"{party.base_url}/ocpi/2.2.1/cpo/locations", token=token)
        assert served.json()["data"] == {"hello": "world"}
