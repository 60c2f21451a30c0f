"""End to end, every party a real uvicorn server on 127.0.0.1: the Hubject simulator calls the
gateway's OICP routes (``call_partner``), the gateway sends OCPI commands to the CPO backend
simulator (Be Charge) over its registered connection, the backend POSTs its results back, and
OCPI eMSP peers (2.2.1 and 2.1.1) send commands that are relayed to the backend with their results
relayed to the peers' ``response_url``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bridge.ocpi.models import v2_2_1 as v221
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
    live,
    peer_token,
    peer_token_211,
)
from tests.schema_oicp import validate_oicp


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with live(tmp_path) as made:
        yield made


def ack_of(exchange: Any) -> dict[str, Any]:
    answer: dict[str, Any] = exchange.response
    validate_oicp(answer, "eRoamingAcknowledgment", "cpo")
    return answer


async def test_remote_start_and_stop(world: World) -> None:
    started = await world.remote_start()
    session_id = started.request["SessionID"]

    assert ack_of(started)["Result"] is True and ack_of(started)["SessionID"] == session_id
    [start] = list(command_bodies(world, "START_SESSION"))
    assert isinstance(start, v221.StartSession)
    assert start.authorization_reference == session_id and start.token.uid == EVCO
    assert (start.location_id, start.evse_uid) == (LOCATION, EVSE_UID)
    assert start.response_url.startswith(world.url)
    [received] = world.backend.commands
    await received.result_sent.wait()
    assert received.result_status == 200, "the backend's CommandResult reached the gateway"

    await world.session_for(start, "S1")
    stopped = await world.hubject_calls(
        "authorize_remote_stop", {"SessionID": session_id, "ProviderID": PROVIDER, "EvseID": EVSE}
    )

    assert ack_of(stopped)["Result"] is True
    [stop] = list(command_bodies(world, "STOP_SESSION"))
    assert isinstance(stop, v221.StopSession) and stop.session_id == "S1"


async def test_remote_start_rejected(world: World) -> None:
    world.backend.command_responses["START_SESSION"] = v221.CommandResponseType.REJECTED

    answer = ack_of(await world.remote_start())

    assert answer["Result"] is False and answer["StatusCode"]["Code"] == "602"


async def test_reservation_start_and_stop(world: World) -> None:
    body = {
        "ProviderID": PROVIDER,
        "EvseID": EVSE,
        "Identification": {"RemoteIdentification": {"EvcoID": EVCO}},
        "Duration": 15,
    }
    started = await world.hubject_calls("authorize_remote_reservation_start", body)
    session_id = started.request["SessionID"]
    stopped = await world.hubject_calls(
        "authorize_remote_reservation_stop",
        {"SessionID": session_id, "ProviderID": PROVIDER, "EvseID": EVSE},
        reservation_paths="charging",
    )

    assert ack_of(started)["Result"] is True and ack_of(stopped)["Result"] is True
    [reserve] = list(command_bodies(world, "RESERVE_NOW"))
    [cancel] = list(command_bodies(world, "CANCEL_RESERVATION"))
    assert isinstance(reserve, v221.ReserveNow) and isinstance(cancel, v221.CancelReservation)
    assert reserve.reservation_id == cancel.reservation_id == session_id


async def test_unknown_evse_603(world: World) -> None:
    answer = ack_of(await world.remote_start("IT*BEC*E99999*1"))

    assert answer["Result"] is False and answer["StatusCode"]["Code"] == "603"


async def test_not_hubject_compatible_604(tmp_path: Path) -> None:
    rules = 'locations:\n  evse_overrides:\n    "IT*BEC*E00001*1": {is_hubject_compatible: false}\n'
    async with live(tmp_path, mappings=rules) as world:
        answer = ack_of(await world.remote_start())

        assert answer["Result"] is False and answer["StatusCode"]["Code"] == "604"
        assert world.backend.commands == []


async def test_backend_down_501(world: World) -> None:
    await world.backend_down()

    answer = ack_of(await world.remote_start())

    assert answer["Result"] is False and answer["StatusCode"]["Code"] == "501"


async def test_backend_slow_501_within_hubjects_limit(world: World) -> None:
    world.deadline(1.0)
    world.slow.delay = 2.5

    exchange = await world.hubject.call_partner(
        "authorize_remote_start",
        {
            "ProviderID": PROVIDER,
            "EvseID": EVSE,
            "Identification": {"RemoteIdentification": {"EvcoID": EVCO}},
        },
        answer_within=1.0,
    )

    assert exchange.status == 200, "answered within Hubject's limit"
    answer = ack_of(exchange)
    assert answer["Result"] is False and answer["StatusCode"]["Code"] == "501"
    assert (
        answer["StatusCode"]["AdditionalInfo"] == "The charge point operator's system did not answer in time"
    )


async def test_later_failed_result_is_an_error_notification_at_hubject(world: World) -> None:
    world.backend.auto_result = None
    started = await world.remote_start()
    [command] = world.backend.commands

    status = await world.backend.send_command_result(command.id, v221.CommandResultType.FAILED)

    assert ack_of(started)["Result"] is True and status == 200
    await eventually(lambda: len(world.hubject.notifications) == 1)
    [notification] = world.hubject.notifications
    validate_oicp(notification, "eRoamingChargingNotificationError", "cpo")
    assert notification["Type"] == "Error" and notification["SessionID"] == started.request["SessionID"]
    assert (notification["EvseID"], notification["OperatorID"]) == (EVSE, OPERATOR)
    [exchange] = world.hubject.exchanges_for("charging_notification")
    assert exchange.status == 200 and exchange.response["Result"] is True


@pytest.mark.parametrize(
    ("version", "body", "relayed"),
    [
        (
            "2.2.1",
            {"token": peer_token(PEER), "location_id": LOCATION, "evse_uid": EVSE_UID},
            {"result": "FAILED"},
        ),
        (
            "2.1.1",
            {"token": peer_token_211(PEER_211), "location_id": LOCATION, "evse_uid": EVSE_UID},
            {"result": "REJECTED"},
        ),
    ],
)
async def test_peer_commands_are_relayed_with_their_results(
    world: World, version: str, body: dict[str, Any], relayed: dict[str, Any]
) -> None:
    peer = world.peers[version]
    world.backend.auto_result = v221.CommandResultType.FAILED

    started = await peer.send("START_SESSION", body, "start-1")
    unknown = await peer.send("START_SESSION", {**body, "location_id": "NOWHERE"}, "start-2")
    unlocked = await peer.send(
        "UNLOCK_CONNECTOR", {"location_id": LOCATION, "evse_uid": EVSE_UID, "connector_id": "1"}, "unlock-1"
    )

    assert started["status_code"] == 1000 and started["data"]["result"] == "ACCEPTED"
    assert unknown["status_code"] == 2003
    assert unlocked["data"]["result"] == "ACCEPTED"
    [start] = list(command_bodies(world, "START_SESSION"))
    assert isinstance(start, v221.StartSession)
    assert (start.token.country_code, start.token.party_id) == (
        peer.identity.country_code,
        peer.identity.party_id,
    )
    assert start.response_url.startswith(world.url)
    await eventually(lambda: "start-1" in peer.results and "unlock-1" in peer.results)
    assert peer.results["start-1"] == [relayed] and peer.results["unlock-1"] == [relayed]
    if version == "2.2.1":
        headers = peer.result_headers["start-1"]
        assert (headers["ocpi-to-country-code"], headers["ocpi-to-party-id"]) == ("NL", "EMS")
