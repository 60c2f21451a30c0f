"""Commands module (ocpi.md §4.6): the CPO Receiver (``cpo/commands/{command}``) with its
CommandHandler seam, and the eMSP result callbacks (``emsp/commands/{command}/{id}``), in both
versions. The asynchronous result travels over real HTTP to a small Starlette app standing in for
the eMSP's ``response_url`` (httpx.ASGITransport, in process)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.models.common import to_jsonable
from bridge.ocpi.server.commands import (
    COMMAND_KIND,
    get_command,
    register_sent_command,
    reservation_id_from_211,
    reservation_id_to_211,
    update_command,
)
from bridge.ocpi.server.handlers import (
    COMMAND_HANDLER,
    COMMAND_RESULT_LISTENER,
    CommandContext,
    CommandRecord,
)
from tests.ocpi.server.harness import OUR_CPO, OUR_EMSP, Harness, Partner, envelope, load

EMSP_URL = "http://emsp.test"


def _token(examples_221: Path) -> dict[str, Any]:
    return load(examples_221, "token_put_example.json")  # NL/TNM


def _bodies(examples_221: Path) -> dict[str, dict[str, Any]]:
    token = _token(examples_221)
    return {
        "START_SESSION": {
            "response_url": f"{EMSP_URL}/r/start/1",
            "token": token,
            "location_id": "LOC1",
            "evse_uid": "3256",
            "connector_id": "1",
            "authorization_reference": "AUTH-1",
        },
        "STOP_SESSION": {"response_url": f"{EMSP_URL}/r/stop/1", "session_id": "101"},
        "RESERVE_NOW": {
            "response_url": f"{EMSP_URL}/r/reserve/1",
            "token": token,
            "expiry_date": "2030-01-01T12:00:00Z",
            "reservation_id": "R-1",
            "location_id": "LOC1",
        },
        "CANCEL_RESERVATION": {"response_url": f"{EMSP_URL}/r/cancel/1", "reservation_id": "R-1"},
        "UNLOCK_CONNECTOR": {
            "response_url": f"{EMSP_URL}/r/unlock/1",
            "location_id": "LOC1",
            "evse_uid": "3256",
            "connector_id": "1",
        },
    }


async def _emsp(harness: Harness, version: str = "2.2.1", name: str = "emsp1") -> Partner:
    return await harness.partner(name, version, [("EMSP", "NL", "TNM")])


async def _record_for(harness: Harness, response_url: str) -> CommandRecord:
    found = await harness.store.find_correlation_by_value(COMMAND_KIND, response_url)
    assert found is not None
    record = await get_command(harness.store, found.key)
    assert record is not None
    return record


# --------------------------------------------------------------------------------------------
# Receiver interface (the gateway as CPO)


@pytest.mark.parametrize(
    "command", ["START_SESSION", "STOP_SESSION", "RESERVE_NOW", "CANCEL_RESERVATION", "UNLOCK_CONNECTOR"]
)
async def test_default_handler_answers_not_supported(
    harness: Harness, examples_221: Path, command: str
) -> None:
    emsp = await _emsp(harness)
    body = _bodies(examples_221)[command]
    answer = await harness.call(emsp, "POST", f"cpo/commands/{command}", body)
    assert answer.status_code == 200
    response = envelope(answer)
    assert response["result"] == "NOT_SUPPORTED"
    assert response["timeout"] == 0
    assert command in response["message"][0]["text"]
    assert (answer.headers["OCPI-from-country-code"], answer.headers["OCPI-from-party-id"]) == OUR_CPO
    assert (answer.headers["OCPI-to-country-code"], answer.headers["OCPI-to-party-id"]) == ("NL", "TNM")

    record = await _record_for(harness, body["response_url"])
    assert (record.direction, record.command.value, record.partner, record.version) == (
        "received",
        command,
        "emsp1",
        "2.2.1",
    )
    assert record.party == ("NL", "TNM")
    assert record.request is not None and record.request["response_url"] == body["response_url"]
    assert record.response == response


@pytest.mark.parametrize(
    ("command", "change", "field"),
    [
        ("START_SESSION", {"location_id": None}, "location_id"),
        ("START_SESSION", {"evse_uid": None}, "connector_id"),  # evse_uid required with connector_id
        ("STOP_SESSION", {"session_id": "x" * 37}, "session_id"),
        ("RESERVE_NOW", {"expiry_date": "tomorrow"}, "expiry_date"),
        ("CANCEL_RESERVATION", {"reservation_id": None}, "reservation_id"),
        ("UNLOCK_CONNECTOR", {"connector_id": None}, "connector_id"),
        ("START_SESSION", {"token": {"uid": "only"}}, "token"),
    ],
)
async def test_bodies_are_validated_per_command(
    harness: Harness, examples_221: Path, command: str, change: dict[str, Any], field: str
) -> None:
    emsp = await _emsp(harness)
    body = {k: v for k, v in {**_bodies(examples_221)[command], **change}.items() if v is not None}
    answer = await harness.call(emsp, "POST", f"cpo/commands/{command}", body)
    assert answer.status_code == 200
    envelope(answer, 2001)
    assert field in answer.json()["status_message"]
    assert await harness.store.find_correlation_by_value(COMMAND_KIND, body["response_url"]) is None


async def test_unknown_commands_are_404(harness: Harness, examples_221: Path) -> None:
    emsp = await _emsp(harness)
    bodies = _bodies(examples_221)
    assert (
        await harness.call(emsp, "POST", "cpo/commands/SELF_DESTRUCT", bodies["STOP_SESSION"])
    ).status_code == 404
    lower = await harness.call(emsp, "POST", "cpo/commands/stop_session", bodies["STOP_SESSION"])
    assert envelope(lower)["result"] == "NOT_SUPPORTED"

    emsp211 = await _emsp(harness, "2.1.1", "emsp211")
    no_cancel = await harness.call(
        emsp211, "POST", "cpo/commands/CANCEL_RESERVATION", bodies["CANCEL_RESERVATION"]
    )
    assert no_cancel.status_code == 404  # 2.1.1 has no CANCEL_RESERVATION
    assert (await harness.call(emsp, "GET", "cpo/commands/STOP_SESSION")).status_code == 405


async def test_an_emsp_may_only_use_its_own_tokens(harness: Harness, examples_221: Path) -> None:
    emsp = await harness.partner("emsp1", "2.2.1", [("EMSP", "FR", "XYZ")])
    body = _bodies(examples_221)["START_SESSION"]  # token owned by NL/TNM
    answer = await harness.call(emsp, "POST", "cpo/commands/START_SESSION", body)
    envelope(answer, 2001)
    assert "token" in answer.json()["status_message"]


class ForwardingHandler:
    """A flow's command handler: a real implementation of the protocol. It accepts every command at
    once and, like a charge point answering later, POSTs the CommandResult to the response_url in
    the background, then stores it on the command."""

    def __init__(self, client: httpx.AsyncClient, harness: Harness) -> None:
        self.client = client
        self.harness = harness
        self.seen: list[tuple[Any, CommandContext]] = []
        self.tasks: list[asyncio.Task[None]] = []

    def _accept(self, command: Any, context: CommandContext) -> v221.CommandResponse:
        self.seen.append((command, context))
        self.tasks.append(asyncio.create_task(self._deliver(context)))
        return v221.CommandResponse(result=v221.CommandResponseType.ACCEPTED, timeout=30)

    async def _deliver(self, context: CommandContext) -> None:
        result = v221.CommandResult(result=v221.CommandResultType.ACCEPTED)
        answer = await self.client.post(context.response_url, json=to_jsonable(result))
        assert answer.status_code == 200
        await update_command(self.harness.store, context.command_id, result=result)

    async def start_session(
        self, command: v221.StartSession, context: CommandContext
    ) -> v221.CommandResponse:
        return self._accept(command, context)

    async def stop_session(self, command: v221.StopSession, context: CommandContext) -> v221.CommandResponse:
        return self._accept(command, context)

    async def reserve_now(self, command: v221.ReserveNow, context: CommandContext) -> v221.CommandResponse:
        return self._accept(command, context)

    async def cancel_reservation(
        self, command: v221.CancelReservation, context: CommandContext
    ) -> v221.CommandResponse:
        return self._accept(command, context)

    async def unlock_connector(
        self, command: v221.UnlockConnector, context: CommandContext
    ) -> v221.CommandResponse:
        return self._accept(command, context)


def _emsp_receiver() -> tuple[Starlette, list[tuple[str, Any]]]:
    """The eMSP side of ``response_url``: records what arrives and answers an OCPI envelope."""
    received: list[tuple[str, Any]] = []

    async def result(request: Request) -> JSONResponse:
        received.append((request.url.path, await request.json()))
        return JSONResponse({"status_code": 1000, "timestamp": "2030-01-01T00:00:00Z"})

    return Starlette(routes=[Route("/r/{kind}/{number}", result, methods=["POST"])]), received


async def test_command_result_reaches_the_response_url(harness: Harness, examples_221: Path) -> None:
    emsp = await _emsp(harness)
    receiver, received = _emsp_receiver()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver)) as client:
        handler = ForwardingHandler(client, harness)
        harness.app.state.gateway.services[COMMAND_HANDLER] = handler
        bodies = _bodies(examples_221)
        for command in ("START_SESSION", "STOP_SESSION"):
            answer = await harness.call(emsp, "POST", f"cpo/commands/{command}", bodies[command])
            assert envelope(answer) == {"result": "ACCEPTED", "timeout": 30}
        await asyncio.gather(*handler.tasks)

    assert received == [("/r/start/1", {"result": "ACCEPTED"}), ("/r/stop/1", {"result": "ACCEPTED"})]
    start, context = handler.seen[0]
    assert isinstance(start, v221.StartSession)
    assert start.token == v221.Token.model_validate(_token(examples_221))
    assert (start.location_id, start.evse_uid, start.connector_id) == ("LOC1", "3256", "1")
    assert (context.partner, context.version, context.party) == ("emsp1", "2.2.1", ("NL", "TNM"))
    assert context.command is v221.CommandType.START_SESSION
    record = await get_command(harness.store, context.command_id)
    assert record is not None
    assert record.response_url == bodies["START_SESSION"]["response_url"]
    assert record.response == {"result": "ACCEPTED", "timeout": 30}
    assert record.result == {"result": "ACCEPTED"}
    assert handler.seen[1][1].command_id != context.command_id


async def test_2_1_1_commands(harness: Harness, examples_211: Path) -> None:
    emsp = await _emsp(harness, "2.1.1", "emsp211")
    receiver, _ = _emsp_receiver()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver)) as client:
        handler = ForwardingHandler(client, harness)
        harness.app.state.gateway.services[COMMAND_HANDLER] = handler
        token = load(examples_211, "mod_tokens__example.json")
        start = {
            "response_url": f"{EMSP_URL}/r/start/2",
            "token": token,
            "location_id": "LOC1",
            "evse_uid": "3256",
        }
        answer = await harness.call(emsp, "POST", "cpo/commands/START_SESSION", start)
        assert envelope(answer) == {"result": "ACCEPTED"}  # 2.1.1: no timeout, no message
        assert not any(h.lower().startswith("ocpi-") for h in answer.headers)
        reserve = {
            "response_url": f"{EMSP_URL}/r/reserve/2",
            "token": token,
            "expiry_date": "2030-01-01T12:00:00Z",
            "reservation_id": 42,
            "location_id": "LOC1",
        }
        assert envelope(await harness.call(emsp, "POST", "cpo/commands/RESERVE_NOW", reserve)) == {
            "result": "ACCEPTED"
        }
        await asyncio.gather(*handler.tasks)

    started, context = handler.seen[0]
    assert isinstance(started, v221.StartSession)
    assert (started.token.country_code, started.token.party_id) == ("NL", "TNM")  # from the connection
    assert started.token.contract_id == token["auth_id"]
    assert context.version == "2.1.1"
    reserved, _ = handler.seen[1]
    assert isinstance(reserved, v221.ReserveNow)
    assert reserved.reservation_id == "42"

    invalid = await harness.call(
        emsp, "POST", "cpo/commands/RESERVE_NOW", {**reserve, "reservation_id": "R-1"}
    )
    envelope(invalid, 2001)
    assert "reservation_id" in invalid.json()["status_message"]


# --------------------------------------------------------------------------------------------
# Result callbacks (the gateway as eMSP)


class Listener:
    def __init__(self) -> None:
        self.calls: list[tuple[CommandRecord, v221.CommandResult]] = []

    async def command_result(self, record: CommandRecord, result: v221.CommandResult) -> None:
        self.calls.append((record, result))


async def test_result_callbacks_are_correlated_by_their_unique_url(any_harness: Harness) -> None:
    cpo = await any_harness.partner("cpo1", "2.2.1", [("CPO", "BE", "BEC")])
    gateway = any_harness.app.state.gateway
    listener = Listener()
    gateway.services[COMMAND_RESULT_LISTENER] = listener
    first = await register_sent_command(
        gateway,
        partner="cpo1",
        version="2.2.1",
        command=v221.CommandType.START_SESSION,
        party=("BE", "BEC"),
        context={"oicp_session_id": "b2688855-7f00-0002-6d8e-48d3e3c5d59a"},
    )
    second = await register_sent_command(
        gateway, partner="cpo1", version="2.2.1", command=v221.CommandType.START_SESSION
    )
    assert first.response_url != second.response_url
    assert first.response_url.startswith("http://gateway.test/ocpi/2.2.1/emsp/commands/START_SESSION/")
    await update_command(
        any_harness.store, first.id, response=v221.CommandResponse(result="ACCEPTED", timeout=30)
    )

    answer = await any_harness.call(cpo, "POST", second.response_url, {"result": "EVSE_OCCUPIED"})
    assert answer.status_code == 200
    assert "data" not in answer.json()
    envelope(answer)
    assert (answer.headers["OCPI-from-country-code"], answer.headers["OCPI-from-party-id"]) == OUR_EMSP
    message = {"result": "ACCEPTED", "message": [{"language": "en", "text": "Charging"}]}
    assert (await any_harness.call(cpo, "POST", first.response_url, message)).status_code == 200

    stored_first = await get_command(any_harness.store, first.id)
    stored_second = await get_command(any_harness.store, second.id)
    assert stored_first is not None and stored_second is not None
    assert stored_first.result == message
    assert stored_first.response == {"result": "ACCEPTED", "timeout": 30}
    assert stored_first.context == {"oicp_session_id": "b2688855-7f00-0002-6d8e-48d3e3c5d59a"}
    assert stored_second.result == {"result": "EVSE_OCCUPIED"}
    assert [(r.id, res.result.value) for r, res in listener.calls] == [
        (second.id, "EVSE_OCCUPIED"),
        (first.id, "ACCEPTED"),
    ]
    await any_harness.call(cpo, "POST", first.response_url, message)  # the same result again
    assert len(listener.calls) == 2


async def test_result_callbacks_refuse_what_is_not_theirs(harness: Harness, examples_221: Path) -> None:
    cpo = await harness.partner("cpo1", "2.2.1", [("CPO", "BE", "BEC")])
    other = await harness.partner("cpo2", "2.2.1", [("CPO", "FR", "XYZ")])
    gateway = harness.app.state.gateway
    sent = await register_sent_command(
        gateway, partner="cpo1", version="2.2.1", command=v221.CommandType.STOP_SESSION
    )
    ok = {"result": "ACCEPTED"}

    assert (await harness.call(cpo, "POST", "emsp/commands/STOP_SESSION/unknown-id", ok)).status_code == 404
    assert (await harness.call(other, "POST", sent.response_url, ok)).status_code == 404
    wrong_name = sent.response_url.replace("STOP_SESSION", "START_SESSION")
    assert (await harness.call(cpo, "POST", wrong_name, ok)).status_code == 404
    bad = await harness.call(cpo, "POST", sent.response_url, {"result": "MAYBE"})
    envelope(bad, 2001)
    assert "result" in bad.json()["status_message"]

    # a command the gateway *received* as CPO has no callback on the gateway
    emsp = await _emsp(harness)
    body = _bodies(examples_221)["STOP_SESSION"]
    await harness.call(emsp, "POST", "cpo/commands/STOP_SESSION", body)
    received = await _record_for(harness, body["response_url"])
    assert (
        await harness.call(emsp, "POST", f"emsp/commands/STOP_SESSION/{received.id}", ok)
    ).status_code == 404

    record = await get_command(harness.store, sent.id)
    assert record is not None and record.result is None


@pytest.mark.parametrize(
    ("sent", "stored"), [("TIMEOUT", "TIMEOUT"), ("UNKNOWN_SESSION", "REJECTED"), ("ACCEPTED", "ACCEPTED")]
)
async def test_2_1_1_result_callbacks_are_converted_up(harness: Harness, sent: str, stored: str) -> None:
    cpo = await harness.partner("cpo211", "2.1.1", [("CPO", "BE", "BEC")])
    command = await register_sent_command(
        harness.app.state.gateway, partner="cpo211", version="2.1.1", command=v221.CommandType.STOP_SESSION
    )
    assert "/ocpi/2.1.1/emsp/commands/STOP_SESSION/" in command.response_url
    answer = await harness.call(cpo, "POST", command.response_url, {"result": sent})
    assert answer.status_code == 200
    assert "OCPI-from-country-code" not in answer.headers
    record = await get_command(harness.store, command.id)
    assert record is not None and record.result == {"result": stored}


async def test_2_1_1_reservation_ids(any_harness: Harness) -> None:
    store = any_harness.store
    first = await reservation_id_to_211(store, "cpo211", "res-A")
    assert await reservation_id_to_211(store, "cpo211", "RES-a") == first  # CiString: case-insensitive
    second = await reservation_id_to_211(store, "cpo211", "res-B")
    elsewhere = await reservation_id_to_211(store, "other", "res-A")
    assert len({first, second, elsewhere}) == 3
    assert await reservation_id_from_211(store, "cpo211", first) == "res-A"
    assert await reservation_id_from_211(store, "cpo211", second) == "res-B"
    assert await reservation_id_from_211(store, "other", first) is None
