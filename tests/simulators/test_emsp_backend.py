"""The eMSP backend simulator (bridge.simulators.emsp_backend) against the real gateway, over real
HTTP on loopback: it registers through the handshake, pushes tokens and sends commands to the
gateway's CPO interfaces, and serves the Receiver/Sender interfaces the gateway calls (OCPI 2.2.1
mod_sessions, mod_cdrs, mod_tokens real-time authorization, mod_commands results)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.server.tokens import get_token
from bridge.simulators import base_url, serve
from bridge.simulators.emsp_backend import AuthorizeAnswer, EmspBackend
from tests.e2e.live import LiveGateway, b64, live_gateway
from tests.oicp.hubject_support import loopback_socket

TOKEN_A = "token-a-of-the-simulated-emsp"


def token(uid: str = "04A1B2C3", token_type: str = "RFID") -> v221.Token:
    return v221.Token(
        country_code="NL",
        party_id="EMS",
        uid=uid,
        type=v221.TokenType(token_type),
        contract_id="NL-EMS-C12345678-X",
        issuer="Simulated eMSP",
        valid=True,
        whitelist=v221.WhitelistType.ALWAYS,
        last_updated=datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
    )


@asynccontextmanager
async def registered(tmp_path: Path) -> AsyncIterator[tuple[EmspBackend, LiveGateway, httpx.AsyncClient]]:
    """The backend registered with a live gateway, and a client carrying the token the gateway got
    in the handshake (the one it calls the backend with)."""
    partners = [{"name": "emsp", "role": "EMSP", "token_a": TOKEN_A}]
    sock = loopback_socket()
    backend = EmspBackend(base_url=base_url(sock))
    async with live_gateway(tmp_path, partners=partners) as gw, serve(backend.app, sock=sock):
        try:
            await backend.register(f"{gw.url}/ocpi/versions", TOKEN_A)
            record = await gw.store.get_partner("emsp")
            assert record is not None and record.token_out is not None
            headers = {"Authorization": f"Token {b64(record.token_out)}"}
            async with httpx.AsyncClient(
                base_url=f"{backend.base_url}/ocpi/2.2.1", headers=headers
            ) as client:
                yield backend, gw, client
        finally:
            await backend.aclose()


def session(status: str = "PENDING", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "country_code": "DE",
        "party_id": "ABC",
        "id": "S1",
        "start_date_time": "2026-03-02T09:00:00Z",
        "kwh": 0,
        "cdr_token": {
            "country_code": "NL",
            "party_id": "EMS",
            "uid": "04A1B2C3",
            "type": "RFID",
            "contract_id": "NL-EMS-C12345678-X",
        },
        "auth_method": "COMMAND",
        "location_id": "LOC1",
        "evse_uid": "E1",
        "connector_id": "1",
        "currency": "EUR",
        "charging_periods": [
            {"start_date_time": "2026-03-02T09:00:00Z", "dimensions": [{"type": "ENERGY", "volume": 1}]}
        ],
        "status": status,
        "last_updated": "2026-03-02T09:00:00Z",
    }
    body.update(changes)
    return body


async def test_registers_pushes_tokens_and_sends_commands(tmp_path: Path) -> None:
    async with registered(tmp_path) as (backend, gw, _):
        assert backend.connection.status == "registered" and backend.version == "2.2.1"
        record = await gw.store.get_partner("emsp")
        assert record is not None and record.roles[0]["party_id"] == "EMS"
        assert {e["identifier"] for e in record.endpoints} >= {"sessions", "cdrs", "tokens", "commands"}

        answer = await backend.push_token(token())
        assert answer["status_code"] == 1000
        stored = await get_token(gw.gateway, ("NL", "EMS"), "04A1B2C3", "RFID")
        assert stored is not None and stored.whitelist is v221.WhitelistType.ALWAYS
        put = backend.exchanges[-1]
        assert (put.direction, put.method, put.query) == ("out", "PUT", {"type": "RFID"})
        assert put.path.endswith("/cpo/tokens/NL/EMS/04A1B2C3")

        command_id, answer = await backend.send_command(
            v221.CommandType.STOP_SESSION, {"session_id": "UNKNOWN"}
        )
        # No flow runs in this gateway: the default handler answers NOT_SUPPORTED.
        assert answer["status_code"] == 1000 and answer["data"]["result"] == "NOT_SUPPORTED"
        sent = backend.exchanges[-1].body
        assert sent["response_url"] == f"{backend.base_url}/ocpi/2.2.1/commands/STOP_SESSION/{command_id}"


async def test_sessions_receiver_put_patch_and_get(tmp_path: Path) -> None:
    async with registered(tmp_path) as (backend, _, client):
        assert (await client.put("/sessions/DE/ABC/S1", json=session())).json()["status_code"] == 1000
        patch = {
            "status": "ACTIVE",
            "kwh": 5.5,
            "charging_periods": [
                {"start_date_time": "2026-03-02T09:10:00Z", "dimensions": [{"type": "ENERGY", "volume": 4.5}]}
            ],
            "last_updated": "2026-03-02T09:10:00Z",
        }
        assert (await client.patch("/sessions/DE/ABC/S1", json=patch)).json()["status_code"] == 1000
        stored = backend.sessions[("DE", "ABC", "S1")]
        assert stored["status"] == "ACTIVE" and stored["kwh"] == 5.5
        assert len(stored["charging_periods"]) == 2, "a PATCH appends charging periods (ocpi#325)"
        got = (await client.get("/sessions/DE/ABC/S1")).json()
        assert got["data"]["status"] == "ACTIVE"

        no_stamp = await client.patch("/sessions/DE/ABC/S1", json={"status": "COMPLETED"})
        assert no_stamp.json()["status_code"] == 2001
        unknown = await client.patch("/sessions/DE/ABC/S2", json=patch)
        assert unknown.status_code == 404
        assert [e.method for e in backend.received(contains="/sessions/")] == [
            "PUT",
            "PATCH",
            "GET",
            "PATCH",
            "PATCH",
        ]


async def test_cdrs_receiver_and_command_results(tmp_path: Path) -> None:
    async with registered(tmp_path) as (backend, _, client):
        cdr = {"country_code": "DE", "party_id": "ABC", "id": "CDR1", "total_cost": {"excl_vat": 5.94}}
        posted = await client.post("/cdrs", json=cdr)
        assert posted.json()["status_code"] == 1000
        assert posted.headers["location"] == f"{backend.base_url}/ocpi/2.2.1/cdrs/CDR1"
        assert backend.cdrs[("DE", "ABC", "CDR1")] == cdr
        assert (await client.get("/cdrs/CDR1")).json()["data"]["id"] == "CDR1"

        waiter = asyncio.create_task(backend.wait_until(lambda: "C1" in backend.command_results))
        result = await client.post("/commands/START_SESSION/C1", json={"result": "ACCEPTED"})
        assert result.json()["status_code"] == 1000
        await waiter
        assert backend.command_results["C1"] == [{"result": "ACCEPTED"}]
        refused = await client.post("/commands/START_SESSION/C1", json={"nothing": 1})
        assert refused.json()["status_code"] == 2001


async def test_real_time_authorization_answers(tmp_path: Path) -> None:
    async with registered(tmp_path) as (backend, _, client):
        await backend.push_token(token())
        allowed = await client.post(
            "/tokens/04A1B2C3/authorize",
            params={"type": "RFID"},
            json={"location_id": "LOC1", "evse_uids": ["E1"]},
        )
        data = allowed.json()["data"]
        assert data["allowed"] == "ALLOWED" and data["token"]["uid"] == "04A1B2C3"
        assert data["location"] == {"location_id": "LOC1", "evse_uids": ["E1"]}

        backend.answer(
            "04a1b2c3",
            AuthorizeAnswer(
                v221.AllowedType.BLOCKED, authorization_reference="R1", info="blocked by the eMSP"
            ),
        )
        blocked = (await client.post("/tokens/04A1B2C3/authorize")).json()["data"]
        assert blocked["allowed"] == "BLOCKED" and blocked["authorization_reference"] == "R1"
        assert blocked["info"] == {"language": "en", "text": "blocked by the eMSP"}

        unknown = await client.post("/tokens/FFFFFFFF/authorize")
        assert unknown.status_code == 404 and unknown.json()["status_code"] == 2004
        backend.answer("04A1B2C3", AuthorizeAnswer(allowed=None))
        assert (await client.post("/tokens/04A1B2C3/authorize")).status_code == 404

        listed = (await client.get("/tokens")).json()
        assert [t["uid"] for t in listed["data"]] == ["04A1B2C3"]


async def test_every_route_wants_the_handshake_token(tmp_path: Path) -> None:
    async with registered(tmp_path) as (backend, _, _client):
        async with httpx.AsyncClient(base_url=f"{backend.base_url}/ocpi/2.2.1") as anonymous:
            for method, path in (
                ("PUT", "/sessions/DE/ABC/S1"),
                ("POST", "/cdrs"),
                ("POST", "/tokens/X/authorize"),
            ):
                response = await anonymous.request(method, path, json={})
                assert response.status_code == 401, path
            wrong = await anonymous.post("/cdrs", json={}, headers={"Authorization": f"Token {b64(TOKEN_A)}"})
            assert wrong.status_code == 401, "a token the backend never issued"
        assert all(e.status == 401 for e in backend.received())
