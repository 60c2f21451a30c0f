"""The CPO-side command flows in process (bridge.flows.cpo_commands): Hubject's remote start/stop
and reservations executed by the CPO backend as OCPI commands, the failure answers Hubject gets,
the Error notification for a later failed result, and OCPI eMSP peers' commands relayed to the
backend with their results relayed back. Every party is real (simulators) and every call is HTTP
through httpx.ASGITransport."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bridge.flows import cpo_commands
from bridge.flows.cpo_charging_state import get_hubject_session
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.server.commands import COMMAND_KIND, get_command, reservation_id_from_211
from bridge.ocpi.server.envelope import ocpi_response
from bridge.ocpi.server.locations import LOCATIONS
from bridge.ocpi.server.objects import object_service
from bridge.oicp.handlers import OicpDeadlines
from bridge.simulators.cpo_backend import network
from bridge.store.base import OutboxMessage, PartnerRecord
from tests.flows.cpo_commands_support import (
    EVCO,
    EVSE,
    EVSE_UID,
    LOCATION,
    OPERATOR,
    PEER,
    PEER_211,
    PROVIDER,
    World,
    command_bodies,
    eventually,
    in_process,
    peer_token,
    peer_token_211,
)
from tests.schema_oicp import validate_oicp


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with in_process(tmp_path) as made:
        yield made


def ack_of(exchange: Any) -> dict[str, Any]:
    """Hubject's view of our answer: HTTP 200 and a schema-valid eRoamingAcknowledgement."""
    answer: dict[str, Any] = exchange.response
    validate_oicp(answer, "eRoamingAcknowledgment", "cpo")
    return answer


async def test_remote_start_accepted(world: World) -> None:
    exchange = await world.remote_start()

    answer = ack_of(exchange)
    session_id = exchange.request["SessionID"]
    assert answer["Result"] is True and answer["StatusCode"]["Code"] == "000"
    assert answer["SessionID"] == session_id
    [start] = list(command_bodies(world, "START_SESSION"))
    assert isinstance(start, v221.StartSession)
    assert (start.location_id, start.evse_uid) == (LOCATION, EVSE_UID)
    assert start.authorization_reference == session_id
    assert start.token.uid == EVCO and start.token.contract_id == EVCO
    assert start.token.type is v221.TokenType.APP_USER
    assert (start.token.country_code, start.token.party_id) == ("DE", "DCB")
    assert start.response_url.startswith(f"{world.url}/ocpi/2.2.1/emsp/commands/START_SESSION/")
    held = await get_hubject_session(world.gateway.store, session_id)
    assert held is not None and held.origin == "remote_start"
    assert held.authorization_reference == session_id and held.evse_id == EVSE
    assert held.provider_id == PROVIDER and held.evse_uids == [EVSE_UID]
    record = await get_command(world.gateway.store, start.response_url.rsplit("/", 1)[1])
    assert record is not None and record.direction == "sent" and record.partner == "bec"
    assert record.response is not None and record.response["result"] == "ACCEPTED"


@pytest.mark.parametrize(
    ("response", "code"),
    [
        (v221.CommandResponseType.REJECTED, "602"),
        (v221.CommandResponseType.NOT_SUPPORTED, "320"),
        (v221.CommandResponseType.UNKNOWN_SESSION, "400"),
    ],
)
async def test_remote_start_refused_by_the_backend(
    world: World, response: v221.CommandResponseType, code: str
) -> None:
    world.backend.command_responses["START_SESSION"] = response

    exchange = await world.remote_start()

    answer = ack_of(exchange)
    assert answer["Result"] is False and answer["StatusCode"]["Code"] == code
    assert answer["SessionID"] == exchange.request["SessionID"]
    assert len(list(command_bodies(world, "START_SESSION"))) == 1


async def test_unknown_evse_is_603(world: World) -> None:
    exchange = await world.remote_start("IT*BEC*E99999*1")

    answer = ack_of(exchange)
    assert answer["Result"] is False and answer["StatusCode"]["Code"] == "603"
    assert answer["SessionID"] == exchange.request["SessionID"]
    assert world.backend.commands == []


async def test_evse_not_hubject_compatible_is_604(tmp_path: Path) -> None:
    # evse_overrides keys are compared without separators, as the Location mapping does.
    rules = 'locations:\n  evse_overrides:\n    "IT-BEC-E00001-2": {is_hubject_compatible: false}\n'
    async with in_process(tmp_path, mappings=rules) as world:
        refused = ack_of(await world.remote_start("IT*BEC*E00001*2"))
        started = ack_of(await world.remote_start(EVSE))

        assert refused["Result"] is False and refused["StatusCode"]["Code"] == "604"
        assert started["Result"] is True
        assert [getattr(c.body, "evse_uid", None) for c in world.backend.commands] == [EVSE_UID]


async def test_backend_unreachable_is_501(world: World) -> None:
    await world.backend_down()

    answer = ack_of(await world.remote_start())

    assert answer["Result"] is False and answer["StatusCode"]["Code"] == "501"
    assert "could not be reached" in answer["StatusCode"]["AdditionalInfo"]


async def test_backend_too_slow_is_501_answered_before_hubjects_limit(world: World) -> None:
    world.deadline(1.0)
    world.slow.delay = 5.0

    answer = ack_of(await world.remote_start())

    assert answer["Result"] is False and answer["StatusCode"]["Code"] == "501"
    # Our own answer, not the route's deadline answer ("no answer within 1 s").
    assert (
        answer["StatusCode"]["AdditionalInfo"] == "The charge point operator's system did not answer in time"
    )
    assert cpo_commands.answer_budget(OicpDeadlines(remote=1.0)) < 1.0


async def test_remote_stop(world: World) -> None:
    started = await world.remote_start()
    session_id = started.request["SessionID"]
    [start] = list(command_bodies(world, "START_SESSION"))
    await world.session_for(start, "S1")

    exchange = await world.hubject_calls(
        "authorize_remote_stop", {"SessionID": session_id, "ProviderID": PROVIDER, "EvseID": EVSE}
    )

    answer = ack_of(exchange)
    assert answer["Result"] is True and answer["SessionID"] == session_id
    [stop] = list(command_bodies(world, "STOP_SESSION"))
    assert isinstance(stop, v221.StopSession) and stop.session_id == "S1"
    assert stop.response_url != start.response_url


async def test_remote_stop_of_an_unknown_session_is_400(world: World) -> None:
    unknown = "11111111-2222-3333-4444-555555555555"
    exchange = await world.hubject_calls(
        "authorize_remote_stop", {"SessionID": unknown, "ProviderID": PROVIDER, "EvseID": EVSE}
    )

    answer = ack_of(exchange)
    assert answer["Result"] is False and answer["StatusCode"]["Code"] == "400"
    assert answer["SessionID"] == unknown
    assert world.backend.commands == []


@pytest.mark.parametrize("paths", ["reservation", "charging"])
async def test_reservation_start_and_stop(world: World, paths: str) -> None:
    body = {
        "ProviderID": PROVIDER,
        "EvseID": EVSE,
        "Identification": {"RemoteIdentification": {"EvcoID": EVCO}},
        "Duration": 10,
    }
    before = datetime.now(UTC)
    started = await world.hubject_calls("authorize_remote_reservation_start", body, reservation_paths=paths)
    session_id = started.request["SessionID"]

    assert ack_of(started)["Result"] is True
    [reserve] = list(command_bodies(world, "RESERVE_NOW"))
    assert isinstance(reserve, v221.ReserveNow)
    assert reserve.reservation_id == session_id and reserve.authorization_reference == session_id
    assert (reserve.location_id, reserve.evse_uid, reserve.token.uid) == (LOCATION, EVSE_UID, EVCO)
    assert before + timedelta(minutes=10) <= reserve.expiry_date <= datetime.now(UTC) + timedelta(minutes=10)
    held = await get_hubject_session(world.gateway.store, session_id)
    assert held is not None and held.origin == "reservation"

    stopped = await world.hubject_calls(
        "authorize_remote_reservation_stop",
        {"SessionID": session_id, "ProviderID": PROVIDER, "EvseID": EVSE},
        reservation_paths=paths,
    )

    assert ack_of(stopped)["Result"] is True
    [cancel] = list(command_bodies(world, "CANCEL_RESERVATION"))
    assert isinstance(cancel, v221.CancelReservation) and cancel.reservation_id == session_id


async def test_reservation_stop_without_reservation_is_400(world: World) -> None:
    unknown = "11111111-2222-3333-4444-555555555555"
    exchange = await world.hubject_calls(
        "authorize_remote_reservation_stop", {"SessionID": unknown, "ProviderID": PROVIDER, "EvseID": EVSE}
    )

    assert ack_of(exchange)["StatusCode"]["Code"] == "400"


async def notifications_sent(world: World) -> list[OutboxMessage]:
    return [m for m in await world.gateway.store.list_outbox() if m.kind == cpo_commands.NOTIFICATION_KIND]


async def test_later_failed_result_becomes_an_error_notification(world: World) -> None:
    world.backend.auto_result = None
    started = await world.remote_start()
    session_id = started.request["SessionID"]
    assert ack_of(started)["Result"] is True
    [command] = world.backend.commands

    status = await world.backend.send_command_result(
        command.id, v221.CommandResult(result=v221.CommandResultType.FAILED)
    )

    assert status == 200
    await eventually(lambda: len(world.hubject.notifications) == 1)
    [notification] = world.hubject.notifications
    validate_oicp(notification, "eRoamingChargingNotificationError", "cpo")
    assert notification["Type"] == "Error" and notification["ErrorType"] == "ConnectorError"
    assert notification["SessionID"] == session_id
    assert (notification["EvseID"], notification["OperatorID"]) == (EVSE, OPERATOR)
    assert notification["Identification"] == {"RemoteIdentification": {"EvcoID": EVCO}}
    [exchange] = world.hubject.exchanges_for("charging_notification")
    assert exchange.status == 200 and exchange.response["Result"] is True
    await eventually_delivered(world)


async def eventually_delivered(world: World) -> None:
    async def check() -> bool:
        sent = await notifications_sent(world)
        return bool(sent) and all(m.status == "delivered" for m in sent)

    async with asyncio.timeout(10):
        while not await check():
            await asyncio.sleep(0.01)


async def test_a_result_arriving_before_hubject_is_answered_still_notifies_once(world: World) -> None:
    world.backend.auto_result = v221.CommandResultType.EVSE_OCCUPIED

    started = await world.remote_start()

    assert ack_of(started)["Result"] is True
    await eventually(lambda: len(world.hubject.notifications) == 1)
    assert world.hubject.notifications[0]["SessionID"] == started.request["SessionID"]
    await eventually_delivered(world)
    assert len(await notifications_sent(world)) == 1


async def test_results_after_a_refusal_or_a_success_notify_nothing(world: World) -> None:
    world.backend.auto_result = None
    world.backend.command_responses["START_SESSION"] = v221.CommandResponseType.REJECTED
    refused = await world.remote_start()
    world.backend.command_responses.clear()
    accepted = await world.remote_start()
    first, second = world.backend.commands

    assert ack_of(refused)["Result"] is False and ack_of(accepted)["Result"] is True
    assert await world.backend.send_command_result(first.id, v221.CommandResultType.FAILED) == 200
    assert await world.backend.send_command_result(second.id, v221.CommandResultType.ACCEPTED) == 200
    assert await notifications_sent(world) == []
    assert world.hubject.notifications == []


# --------------------------------------------------------------------------------------------
# OCPI eMSP peers' commands relayed to the backend


def start_body(version: str) -> dict[str, Any]:
    if version == "2.1.1":
        return {"token": peer_token_211(PEER_211), "location_id": LOCATION, "evse_uid": EVSE_UID}
    return {
        "token": peer_token(PEER),
        "location_id": LOCATION,
        "evse_uid": EVSE_UID,
        "connector_id": "1",
        "authorization_reference": "PEER-AUTH-1",
    }


@pytest.mark.parametrize(
    ("version", "result", "relayed"),
    [
        ("2.2.1", v221.CommandResultType.ACCEPTED, {"result": "ACCEPTED"}),
        ("2.2.1", v221.CommandResultType.EVSE_OCCUPIED, {"result": "EVSE_OCCUPIED"}),
        ("2.1.1", v221.CommandResultType.ACCEPTED, {"result": "ACCEPTED"}),
        ("2.1.1", v221.CommandResultType.FAILED, {"result": "REJECTED"}),
    ],
)
async def test_peer_start_session_is_relayed_and_its_result_comes_back(
    world: World, version: str, result: v221.CommandResultType, relayed: dict[str, Any]
) -> None:
    peer = world.peers[version]
    world.backend.auto_result = result

    envelope = await peer.send("START_SESSION", start_body(version), "c1")

    assert envelope["status_code"] == 1000
    assert envelope["data"]["result"] == "ACCEPTED"
    if version == "2.2.1":
        assert envelope["data"]["timeout"] == world.backend.command_timeout
    [start] = list(command_bodies(world, "START_SESSION"))
    assert isinstance(start, v221.StartSession)
    assert start.response_url.startswith(f"{world.url}/ocpi/2.2.1/emsp/commands/START_SESSION/")
    assert (start.token.country_code, start.token.party_id) == (
        peer.identity.country_code,
        peer.identity.party_id,
    )
    assert (start.location_id, start.evse_uid) == (LOCATION, EVSE_UID)
    if version == "2.2.1":
        assert start.authorization_reference == "PEER-AUTH-1" and start.connector_id == "1"
    await eventually(lambda: "c1" in peer.results)
    assert peer.results["c1"] == [relayed]
    received = await world.gateway.store.find_correlation_by_value(
        COMMAND_KIND, peer.response_url("START_SESSION", "c1")
    )
    assert received is not None
    record = await get_command(world.gateway.store, received.key)
    assert record is not None and record.direction == "received" and record.result == {"result": result.value}


@pytest.mark.parametrize("version", ["2.2.1", "2.1.1"])
async def test_peer_command_at_an_unknown_location_is_2003(world: World, version: str) -> None:
    body = {**start_body(version), "location_id": "NOWHERE"}

    envelope = await world.peers[version].send("START_SESSION", body, "c1")

    assert envelope["status_code"] == 2003
    assert world.backend.commands == []


async def test_peer_stop_session_of_its_own_session_only(world: World) -> None:
    peer = world.peers["2.2.1"]
    await peer.send("START_SESSION", start_body("2.2.1"), "c1")
    [start] = list(command_bodies(world, "START_SESSION"))
    await world.session_for(start, "S9")
    other = start.model_copy(update={"token": start.token.model_copy(update={"party_id": "XXX"})})
    await world.session_for(other, "S10")

    mine = await peer.send("STOP_SESSION", {"session_id": "S9"}, "c2")
    theirs = await peer.send("STOP_SESSION", {"session_id": "S10"}, "c3")

    assert mine["data"]["result"] == "ACCEPTED"
    assert theirs["data"]["result"] == "UNKNOWN_SESSION" and theirs["data"]["timeout"] == 0
    [stop] = list(command_bodies(world, "STOP_SESSION"))
    assert isinstance(stop, v221.StopSession) and stop.session_id == "S9"
    await eventually(lambda: "c2" in peer.results)
    assert peer.results["c2"] == [{"result": "ACCEPTED"}]


async def test_peer_reservation_gets_an_id_unique_per_emsp(world: World) -> None:
    peer = world.peers["2.2.1"]
    reserve = {
        "token": peer_token(PEER),
        "expiry_date": "2030-01-01T12:00:00Z",
        "reservation_id": "R-1",
        "location_id": LOCATION,
        "evse_uid": EVSE_UID,
    }

    reserved = await peer.send("RESERVE_NOW", reserve, "c1")
    cancelled = await peer.send("CANCEL_RESERVATION", {"reservation_id": "R-1"}, "c2")
    unknown = await peer.send("CANCEL_RESERVATION", {"reservation_id": "R-2"}, "c3")

    assert reserved["data"]["result"] == cancelled["data"]["result"] == "ACCEPTED"
    assert unknown["data"]["result"] == "REJECTED"
    [sent_reserve] = list(command_bodies(world, "RESERVE_NOW"))
    [sent_cancel] = list(command_bodies(world, "CANCEL_RESERVATION"))
    assert isinstance(sent_reserve, v221.ReserveNow) and isinstance(sent_cancel, v221.CancelReservation)
    assert sent_reserve.reservation_id != "R-1"
    assert sent_cancel.reservation_id == sent_reserve.reservation_id
    await eventually(lambda: "c1" in peer.results and "c2" in peer.results)


async def test_peer_unlock_connector_is_relayed(world: World) -> None:
    peer = world.peers["2.1.1"]
    body = {"location_id": LOCATION, "evse_uid": EVSE_UID, "connector_id": "1"}

    envelope = await peer.send("UNLOCK_CONNECTOR", body, "c1")

    assert envelope["data"] == {"result": "ACCEPTED"}
    [unlock] = list(command_bodies(world, "UNLOCK_CONNECTOR"))
    assert isinstance(unlock, v221.UnlockConnector) and unlock.connector_id == "1"
    await eventually(lambda: "c1" in peer.results)
    assert peer.results["c1"] == [{"result": "ACCEPTED"}]


async def test_peer_command_while_the_backend_is_down_is_rejected(world: World) -> None:
    await world.backend_down()

    envelope = await world.peers["2.2.1"].send("START_SESSION", start_body("2.2.1"), "c1")

    assert envelope["status_code"] == 1000
    assert envelope["data"]["result"] == "REJECTED" and envelope["data"]["timeout"] == 0
    assert envelope["data"]["message"][0]["text"]


# --------------------------------------------------------------------------------------------
# A CPO backend speaking OCPI 2.1.1


@dataclass
class OldBackend:
    """A 2.1.1 CPO backend's Commands Receiver: records the commands, answers ``answer``."""

    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    answer: str = "ACCEPTED"

    async def command(self, request: Request) -> Response:
        self.received.append((str(request.path_params["command"]), await request.json()))
        return ocpi_response({"result": self.answer})


OLD_EVSE = "IT*OLD*E00001*1"


async def old_backend(world: World) -> OldBackend:
    """Partner ``old`` (OCPI 2.1.1, registered) and its Location, stored as the Locations module
    stores what a partner pushes."""
    backend = OldBackend()
    assert world.hosts is not None
    world.hosts.add(
        "http://old.test",
        Starlette(routes=[Route("/ocpi/2.1.1/commands/{command}", backend.command, methods=["POST"])]),
    )
    await world.gateway.store.save_partner(
        PartnerRecord(
            name="old",
            role="CPO",
            version="2.1.1",
            status="registered",
            token_out="old-backend-token",
            token_encoding="raw",
            endpoints=[
                {"identifier": "commands", "role": "RECEIVER", "url": "http://old.test/ocpi/2.1.1/commands"}
            ],
            roles=[{"role": "CPO", "country_code": "IT", "party_id": "OLD"}],
        )
    )
    location = network(1, country_code="IT", party_id="OLD").locations[0]
    await object_service(world.gateway).put(LOCATIONS, ("IT", "OLD"), location.id, location, partner="old")
    return backend


async def test_2_1_1_backend_remote_start(world: World) -> None:
    backend = await old_backend(world)

    answer = ack_of(await world.remote_start(OLD_EVSE))

    assert answer["Result"] is True
    [(command, body)] = backend.received
    assert command == "START_SESSION"
    v211.StartSession.model_validate(body)
    assert body["token"]["auth_id"] == EVCO and "authorization_reference" not in body


async def test_2_1_1_backend_timeout_answer_is_501(world: World) -> None:
    backend = await old_backend(world)
    backend.answer = "TIMEOUT"

    answer = ack_of(await world.remote_start(OLD_EVSE))

    assert answer["Result"] is False and answer["StatusCode"]["Code"] == "501"


async def test_2_1_1_backend_reservation_gets_an_integer_id_and_cannot_be_cancelled(world: World) -> None:
    backend = await old_backend(world)
    body = {
        "ProviderID": PROVIDER,
        "EvseID": OLD_EVSE,
        "Identification": {"RemoteIdentification": {"EvcoID": EVCO}},
    }

    started = await world.hubject_calls("authorize_remote_reservation_start", body)
    session_id = started.request["SessionID"]
    stopped = await world.hubject_calls(
        "authorize_remote_reservation_stop",
        {"SessionID": session_id, "ProviderID": PROVIDER, "EvseID": OLD_EVSE},
    )

    assert ack_of(started)["Result"] is True
    [(command, reserve)] = backend.received
    assert command == "RESERVE_NOW" and isinstance(reserve["reservation_id"], int)
    assert await reservation_id_from_211(world.gateway.store, "old", reserve["reservation_id"]) == session_id
    answer = ack_of(stopped)
    assert answer["Result"] is False and answer["StatusCode"]["Code"] == "320"
    assert "2.1.1" in answer["StatusCode"]["AdditionalInfo"]
    assert [c for c, _ in backend.received] == ["RESERVE_NOW"]


# --------------------------------------------------------------------------------------------
# Together with the charging flow (as bridge.flows.wiring installs them)


async def test_remote_start_session_and_stop_with_the_charging_flow(tmp_path: Path) -> None:
    flows = ("bridge.flows.cpo_charging", "bridge.flows.cpo_commands")
    async with in_process(tmp_path, flows=flows) as world:
        world.backend.auto_result = None
        started = await world.remote_start()
        session_id = started.request["SessionID"]
        [start] = list(command_bodies(world, "START_SESSION"))
        await world.session_for(start, "S1")

        # The charging flow found the SessionID through the remote start's correlation.
        await eventually(lambda: any(n["Type"] == "Start" for n in world.hubject.notifications))
        stopped = await world.hubject_calls(
            "authorize_remote_stop", {"SessionID": session_id, "ProviderID": PROVIDER, "EvseID": EVSE}
        )
        [_, stop_command] = world.backend.commands
        assert await world.backend.send_command_result(stop_command.id, v221.CommandResultType.FAILED) == 200

        assert ack_of(stopped)["Result"] is True
        [stop] = list(command_bodies(world, "STOP_SESSION"))
        assert isinstance(stop, v221.StopSession) and stop.session_id == "S1"
        await eventually(lambda: [n["Type"] for n in world.hubject.notifications] == ["Start", "Error"])
        assert all(n["SessionID"] == session_id for n in world.hubject.notifications)
