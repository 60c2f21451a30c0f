"""The CPO backend simulator against the real gateway, both over real HTTP on loopback: the
network it generates, both handshake directions, what it pushes (Locations, EVSE status, Tariffs,
Sessions, CDRs, real-time authorization), the Sender lists the gateway crawls, and commands with
their asynchronous results (ocpi.md §1.3, §3.3, §4; references 000 and 002)."""

from __future__ import annotations

import asyncio
import copy
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bridge.app import create_app
from bridge.config import load_config
from bridge.context import Gateway
from bridge.errors import PartnerError
from bridge.ocpi.client import clients_of
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.server.commands import get_command, register_sent_command
from bridge.ocpi.server.tokens import save_token
from bridge.partners import REGISTRATION_SERVICE
from bridge.simulators import base_url, serve
from bridge.simulators.cpo_backend import CpoBackend, network
from tests.schema_ocpi import validate_ocpi_221
from tests.support.gateway import write_config

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "specs" / "ocpi-2.2.1" / "examples"


def loopback() -> socket.socket:
    """A loopback socket made with IPPROTO_TCP (TCP_NODELAY on accepted connections)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@asynccontextmanager
async def live_backend(**options: Any) -> AsyncIterator[CpoBackend]:
    sock = loopback()
    backend = CpoBackend(base_url=base_url(sock), **options)
    try:
        async with serve(backend.app, sock=sock):
            yield backend
    finally:
        await backend.aclose()


@asynccontextmanager
async def live_gateway(folder: Path, partners: list[dict[str, Any]]) -> AsyncIterator[tuple[str, Gateway]]:
    folder.mkdir(parents=True, exist_ok=True)
    sock = loopback()
    url = base_url(sock)
    config = load_config(write_config(folder, public_url=url, partners=partners))
    app = create_app(config)
    async with serve(app, sock=sock):
        gateway: Gateway = app.state.gateway
        yield url, gateway


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    return data


def test_the_network_is_valid_ocpi_2_2_1_and_deterministic() -> None:
    generated = network(6, evses_per_location=3, seed=7)

    assert len(generated.locations) == 6 and len(generated.evses) == 18
    for location in generated.locations:
        validate_ocpi_221(location.model_dump(mode="json", exclude_none=True), "Location")
        assert (location.country_code, location.party_id) == ("IT", "BEC")
    for tariff in generated.tariffs:
        validate_ocpi_221(tariff.model_dump(mode="json", exclude_none=True), "Tariff")
    evse_ids = [evse.evse_id for _, evse in generated.evses]
    assert len(set(evse_ids)) == 18 and all(str(e).startswith("IT*BEC*E") for e in evse_ids)
    tariff_ids = {t.id for t in generated.tariffs}
    assert {
        tid for _, evse in generated.evses for c in evse.connectors for tid in c.tariff_ids or ()
    } <= tariff_ids
    assert network(6, evses_per_location=3, seed=7) == generated
    assert network(6, evses_per_location=3, seed=8) != generated


async def test_registered_by_the_gateway_it_pushes_its_network(tmp_path: Path) -> None:
    async with live_backend() as backend:
        partners = [
            {
                "name": "bec",
                "role": "CPO",
                "versions_url": backend.versions_url(),
                "token": backend.issue_token_a(),
            }
        ]
        async with live_gateway(tmp_path, partners) as (_, gateway):
            assert await gateway.services[REGISTRATION_SERVICE] == {"bec": "registered"}
            assert backend.registered
            backend.load(network(3, evses_per_location=2))

            await backend.push_network()

            stored, total = await gateway.store.list_objects("locations")
            assert total == 3 and {o.partner for o in stored} == {"bec"}
            assert (await gateway.store.list_objects("tariffs"))[1] == 2
            assert [e.method for e in backend.sent()] == ["PUT"] * 5
            assert all(e.status in (200, 201) for e in backend.sent())

            # A status change is a PATCH of the EVSE with a newer last_updated.
            await backend.set_status("LOC00001", "00001-2", v221.Status.CHARGING)
            patch = backend.sent("PATCH")[-1]
            assert patch.path.endswith("/emsp/locations/IT/BEC/LOC00001/00001-2")
            assert set(patch.body) == {"status", "last_updated"} and patch.body["status"] == "CHARGING"
            location = await gateway.store.get_object("locations", "IT", "BEC", "LOC00001")
            assert location is not None
            assert location.data["evses"][1]["status"] == "CHARGING"
            assert location.data["last_updated"] == patch.body["last_updated"]

            # A new EVSE, a new connector, a removed tariff.
            evse = backend.evse("LOC00001", "00001-1").model_copy(
                update={"uid": "00001-9", "evse_id": "IT*BEC*E00001*9", "last_updated": backend.now()}
            )
            await backend.put_evse("LOC00001", evse)
            connector = evse.connectors[0].model_copy(update={"id": "2", "last_updated": backend.now()})
            await backend.put_connector("LOC00001", "00001-9", connector)
            await backend.delete_tariff("DC")
            location = await gateway.store.get_object("locations", "IT", "BEC", "LOC00001")
            assert location is not None
            assert [e["uid"] for e in location.data["evses"]] == ["00001-1", "00001-2", "00001-9"]
            assert [c["id"] for c in location.data["evses"][2]["connectors"]] == ["1", "2"]
            assert await gateway.store.get_object("tariffs", "IT", "BEC", "DC") is None
            assert (
                backend.locations["LOC00001"].evses is not None
                and len(backend.locations["LOC00001"].evses) == 3
            )


async def test_it_registers_with_the_gateway_which_crawls_its_sender_lists(tmp_path: Path) -> None:
    async with live_backend(page_limit=3) as backend:
        partners = [{"name": "bec", "role": "CPO", "token_a": "gateway-issued-token-a"}]
        async with live_gateway(tmp_path, partners) as (url, gateway):
            await backend.register(f"{url}/ocpi/versions", "gateway-issued-token-a")
            record = await gateway.store.get_partner("bec")
            assert record is not None and record.status == "registered"
            generated = network(7, evses_per_location=1)
            backend.load(generated)
            client = clients_of(gateway).for_partner(record)

            pages = [page async for page in client.pages("locations", role="SENDER")]

            assert [len(p.items) for p in pages] == [3, 3, 1]
            assert {p.total_count for p in pages} == {7} and {p.limit for p in pages} == {3}
            assert [item["id"] for p in pages for item in p.items] == [loc.id for loc in generated.locations]
            assert all(p.next_url is None or "limit=3" in p.next_url for p in pages)
            # The filters survive the Link (ocpi.md §3.3): nothing is newer than the network's time.
            later = {"date_from": "2024-06-01T00:00:00Z"}
            assert [p.items async for p in client.pages("locations", role="SENDER", params=later)] == [[]]
            one = await client.get("locations", "LOC00002", "00002-1", "1", role="SENDER")
            assert one.data["standard"] in ("IEC_62196_T2", "IEC_62196_T2_COMBO")
            tariffs = [t async for t in client.objects("tariffs", role="SENDER")]
            assert [t["id"] for t in tariffs] == ["AC", "DC"]
            with pytest.raises(PartnerError) as unknown:
                await client.get("locations", "NOPE", role="SENDER")
            assert unknown.value.http_status == 404
            assert [e.method for e in backend.received()] == ["GET"] * 7
            assert all(e.status in (200, 404) for e in backend.received())


async def test_sessions_cdrs_and_real_time_authorization(tmp_path: Path) -> None:
    async with live_backend() as backend:
        partners = [{"name": "bec", "role": "CPO", "token_a": "gateway-issued-token-a"}]
        async with live_gateway(tmp_path, partners) as (url, gateway):
            await backend.register(f"{url}/ocpi/versions", "gateway-issued-token-a")
            token = v221.Token.model_validate(example("token_example_2_full_rfid.json")).model_copy(
                update={"country_code": "DE", "party_id": "BRE"}
            )
            await save_token(gateway, token)

            info = await backend.authorize(token.uid, "RFID", location_id="LOC00001", evse_uids=["00001-1"])
            assert (
                info is not None and info.allowed is v221.AllowedType.ALLOWED and info.token.uid == token.uid
            )
            assert info.authorization_reference
            assert await backend.authorize("FFFFFFFF", "RFID") is None, "unknown token: 2004"
            assert backend.sent("POST", "/authorize")[-1].query == "type=RFID"

            session = example("session_example_1_simple_start.json")
            session.update(
                country_code="IT", party_id="BEC", authorization_reference=info.authorization_reference
            )
            await backend.push_session(v221.Session.model_validate(session))
            await backend.patch_session("101", {"status": "ACTIVE", "kwh": 1.5})
            stored = await gateway.store.get_object("sessions", "IT", "BEC", "101")
            assert stored is not None and stored.data["status"] == "ACTIVE" and stored.data["kwh"] == 1.5
            assert backend.sessions["101"].status is v221.SessionStatus.ACTIVE

            cdr = example("cdr_example.json")
            cdr.update(country_code="IT", party_id="BEC")
            where = await backend.post_cdr(v221.CDR.model_validate(cdr))
            assert where == f"{url}/ocpi/2.2.1/emsp/cdrs/IT/BEC/12345"
            assert await gateway.store.get_object("cdrs", "IT", "BEC", "12345") is not None
            # The backend serves what it pushed (Sender lists for a resync).
            partner = await gateway.store.get_partner("bec")
            assert partner is not None
            client = clients_of(gateway).for_partner(partner)
            assert [s["id"] async for s in client.objects("sessions", role="SENDER")] == ["101"]
            assert [c["id"] async for c in client.objects("cdrs", role="SENDER")] == ["12345"]


@pytest.mark.parametrize("answer", ["ACCEPTED", "REJECTED"])
async def test_commands_are_answered_and_results_posted_to_the_response_url(
    tmp_path: Path, answer: str
) -> None:
    async with live_backend(command_response=v221.CommandResponseType(answer)) as backend:
        partners = [{"name": "bec", "role": "CPO", "token_a": "gateway-issued-token-a"}]
        async with live_gateway(tmp_path, partners) as (url, gateway):
            await backend.register(f"{url}/ocpi/versions", "gateway-issued-token-a")
            record = await gateway.store.get_partner("bec")
            assert record is not None
            sent = await register_sent_command(
                gateway, partner="bec", version="2.2.1", command=v221.CommandType.START_SESSION
            )
            token = v221.Token.model_validate(example("token_example_2_full_rfid.json"))
            command = v221.StartSession(
                response_url=sent.response_url, token=token, location_id="LOC00001", evse_uid="00001-1"
            )

            reply = (
                await clients_of(gateway)
                .for_partner(record)
                .post("commands", "START_SESSION", body=command, role="RECEIVER")
            )

            assert reply.data["result"] == answer and reply.data["timeout"] == 30
            [received] = await backend.wait_commands(1)
            assert received.command == "START_SESSION" and isinstance(received.body, v221.StartSession)
            if answer == "ACCEPTED":
                await asyncio.wait_for(received.result_sent.wait(), 10)
                assert received.result_status == 200
                stored = await get_command(gateway.store, sent.id)
                assert stored is not None and stored.result == {"result": "ACCEPTED"}
            else:
                assert not received.result_sent.is_set(), "no result after a REJECTED answer"
                assert await backend.send_command_result(received.id, "FAILED") == 200
                stored = await get_command(gateway.store, sent.id)
                assert stored is not None and stored.result == {"result": "FAILED"}


async def test_functional_modules_refuse_token_a_and_unknown_commands(tmp_path: Path) -> None:
    async with live_backend() as backend:
        token_a = backend.issue_token_a()
        async with httpx.AsyncClient(base_url=backend.base_url) as http:
            refused = await http.get(
                "/ocpi/2.2.1/cpo/locations", headers={"Authorization": f"Token {token_a}"}
            )
            assert refused.status_code == 401 and refused.json()["status_code"] == 2000
            details = await http.get("/ocpi/2.2.1", headers={"Authorization": f"Token {token_a}"})
            identifiers = {(e["identifier"], e["role"]) for e in details.json()["data"]["endpoints"]}
            assert {
                ("locations", "SENDER"),
                ("tariffs", "SENDER"),
                ("commands", "RECEIVER"),
                ("tokens", "RECEIVER"),
                ("sessions", "SENDER"),
                ("cdrs", "SENDER"),
            } <= identifiers
        partners = [{"name": "bec", "role": "CPO", "versions_url": backend.versions_url(), "token": token_a}]
        async with live_gateway(tmp_path, partners) as (_, gateway):
            await gateway.services[REGISTRATION_SERVICE]
            record = await gateway.store.get_partner("bec")
            assert record is not None
            client = clients_of(gateway).for_partner(record)
            with pytest.raises(PartnerError) as unknown:
                await client.post("commands", "FLY_TO_THE_MOON", body={}, role="RECEIVER")
            assert unknown.value.http_status == 404
            with pytest.raises(PartnerError) as invalid:
                await client.post("commands", "STOP_SESSION", body={"session_id": "1"}, role="RECEIVER")
            assert invalid.value.code == 2001 and "response_url" in str(invalid.value)
            token = copy.deepcopy(example("token_example_2_full_rfid.json"))
            put = await client.put(
                "tokens", token["country_code"], token["party_id"], token["uid"], body=token, role="RECEIVER"
            )
            assert (
                put.http_status == 201
                and (token["country_code"], token["party_id"], token["uid"], "RFID") in backend.tokens
            )
            assert backend.received("PUT")[0].body == token
            assert datetime.now(UTC) > backend.received()[0].at
