"""The eMSP side end to end (issue 6 items 4, 5, 6): an OCPI eMSP backend's driver charges at a
Hubject-only operator through the gateway. Every party is a real uvicorn server on 127.0.0.1: the
Hubject simulator (calling the gateway as Hubject does), the gateway (the eMSP's CPO, Hubject's
EMP) and the eMSP backend simulator registered through the credentials handshake."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bridge.cli import main
from bridge.flows.emsp_cdrs import poll_missed_cdrs
from bridge.flows.emsp_charging_state import EmspSettings
from bridge.ocpi.models import v2_2_1 as v221
from bridge.simulators.emsp_backend import AuthorizeAnswer
from tests.flows.emsp_charging_support import (
    OPERATOR,
    PRICED_EVSE,
    PROVIDER,
    T0,
    UNPRICED_EVSE,
    EmspStack,
    cdr_body,
    emsp_stack,
    emsp_token,
    iso,
    remote,
    rfid,
)

APP_TOKEN = emsp_token("APPUSER0001", token_type="APP_USER", whitelist="NEVER")
CARD = emsp_token("04:a1:b2:c3", whitelist="ALWAYS")
CARD_UID = "04A1B2C3"
"""The UID Hubject sends for CARD (upper-case hex without separators, oicp-2.3.md §4.1)."""
NEVER_CARD = emsp_token("0A0B0C0D", whitelist="NEVER", contract_id="DE-BRE-C87654321-X")


def notification(kind: str, session_id: str, **fields: Any) -> dict[str, Any]:
    return {"Type": kind, "SessionID": session_id, "EvseID": PRICED_EVSE, "OperatorID": OPERATOR, **fields}


def session_at_emsp(stack: EmspStack, session_id: str) -> dict[str, Any] | None:
    return next((s for (_, _, sid), s in stack.emsp.sessions.items() if sid == session_id.upper()), None)


async def wait_status(stack: EmspStack, session_id: str, status: str) -> dict[str, Any]:
    await stack.emsp.wait_until(lambda: (session_at_emsp(stack, session_id) or {}).get("status") == status)
    session = session_at_emsp(stack, session_id)
    assert session is not None
    return session


async def test_remote_start_session_stop_and_priced_cdr(tmp_path: Path) -> None:
    async with emsp_stack(tmp_path, tokens=[APP_TOKEN]) as stack:
        cc, pid, location_id, evse_uid = stack.location_of(PRICED_EVSE)

        command_id, response = await stack.command(
            v221.CommandType.START_SESSION,
            {
                "token": APP_TOKEN.model_dump(mode="json"),
                "location_id": location_id,
                "evse_uid": evse_uid,
                "authorization_reference": "EMSPAUTH0001",
            },
        )

        # OCPI: ACCEPTED at once, with a timeout covering Hubject's 60 s (oicp-2.3.md §8 point 12).
        assert response["result"] == "ACCEPTED" and response["timeout"] >= 60
        result = await stack.result_of(command_id)
        assert result["result"] == "ACCEPTED"
        start = stack.sim.exchanges_for("authorize_remote_start")[-1]
        assert "SessionID" not in start.request, "the EMP leaves SessionID empty"
        assert start.request["EvseID"] == PRICED_EVSE and start.request["ProviderID"] == PROVIDER
        assert start.request["Identification"] == {"RemoteIdentification": {"EvcoID": APP_TOKEN.contract_id}}
        assert start.request["EMPPartnerSessionID"] == "EMSPAUTH0001"
        session_id = start.response["SessionID"]

        pending = await wait_status(stack, session_id, "PENDING")
        assert (pending["country_code"], pending["party_id"], pending["location_id"]) == (
            cc,
            pid,
            location_id,
        )
        assert pending["evse_uid"] == evse_uid and pending["auth_method"] == "COMMAND"
        assert pending["cdr_token"]["uid"] == APP_TOKEN.uid
        assert pending["authorization_reference"] == "EMSPAUTH0001"

        await stack.hubject(
            "charging_notification",
            notification(
                "Start",
                session_id,
                ChargingStart=iso(T0),
                SessionStart=iso(T0),
                Identification=remote(APP_TOKEN.contract_id),
            ),
        )
        active = await wait_status(stack, session_id, "ACTIVE")
        assert active["start_date_time"].startswith("2026-03-02T09:00:00")
        progress = await stack.hubject(
            "charging_notification",
            notification(
                "Progress",
                session_id,
                ChargingStart=iso(T0),
                EventOccurred=iso(T0 + timedelta(minutes=10)),
                ConsumedEnergyProgress=5.5,
            ),
        )
        assert progress.response["Result"] is True
        await stack.emsp.wait_until(
            lambda: Decimal(str(session_at_emsp(stack, session_id)["kwh"])) == Decimal("5.5")
        )

        # STOP_SESSION → AuthorizeRemoteStop with the SessionID of the session.
        stop_id, stop_response = await stack.command(
            v221.CommandType.STOP_SESSION, {"session_id": session_id}
        )
        assert stop_response["result"] == "ACCEPTED"
        assert (await stack.result_of(stop_id))["result"] == "ACCEPTED"
        stop = stack.sim.exchanges_for("authorize_remote_stop")[-1]
        assert stop.request["SessionID"] == session_id and stop.request["EvseID"] == PRICED_EVSE
        assert stack.sim.sessions[session_id].stopped

        await stack.hubject(
            "charging_notification",
            notification(
                "End",
                session_id,
                ChargingEnd=iso(T0 + timedelta(minutes=50)),
                SessionEnd=iso(T0 + timedelta(hours=1)),
                ConsumedEnergy=12.345,
            ),
        )
        completed = await wait_status(stack, session_id, "COMPLETED")
        assert Decimal(str(completed["kwh"])) == Decimal("12.345")
        statuses = [e.body.get("status") for e in stack.emsp.received(contains=f"/sessions/{cc}/{pid}/")]
        assert next(e.method for e in stack.emsp.received(contains="/sessions/")) == "PUT"
        assert [s for s in statuses if s] == ["PENDING", "ACTIVE", "COMPLETED"]

        forwarded = await stack.hubject(
            "charge_detail_record", cdr_body(session_id, remote(APP_TOKEN.contract_id))
        )
        assert forwarded.response["Result"] is True

        await stack.emsp.wait_until(lambda: any(k[2] == session_id.upper() for k in stack.emsp.cdrs))
        cdr = next(c for k, c in stack.emsp.cdrs.items() if k[2] == session_id.upper())
        # 12.345 kWh × 0.40 EUR = 4.938 → 4.94, plus the 1.00 EUR start fee (pricing product AC1).
        assert Decimal(str(cdr["total_cost"]["excl_vat"])) == Decimal("5.94")
        assert Decimal(str(cdr["total_energy_cost"]["excl_vat"])) == Decimal("4.94")
        assert Decimal(str(cdr["total_fixed_cost"]["excl_vat"])) == Decimal("1.00")
        assert cdr["currency"] == "EUR" and Decimal(str(cdr["total_energy"])) == Decimal("12.345")
        assert cdr["cdr_token"]["uid"] == APP_TOKEN.uid and cdr["cdr_token"]["party_id"] == "EMS"
        assert cdr["authorization_reference"] == "EMSPAUTH0001"
        assert cdr["cdr_location"]["evse_id"] == PRICED_EVSE and cdr["session_id"] == session_id
        # The eMSP can also pull it from the gateway's CDRs Sender.
        listed = await stack.emsp.party.call("GET", stack.emsp.connection.endpoint("cdrs", "SENDER"))
        assert [c["id"] for c in listed.json()["data"]] == [session_id]


async def test_reservation_and_its_cancellation(tmp_path: Path) -> None:
    async with emsp_stack(tmp_path, tokens=[APP_TOKEN]) as stack:
        _, _, location_id, evse_uid = stack.location_of(PRICED_EVSE)
        expiry = datetime.now(UTC) + timedelta(minutes=30)
        reserve_id, response = await stack.command(
            v221.CommandType.RESERVE_NOW,
            {
                "token": APP_TOKEN.model_dump(mode="json"),
                "expiry_date": expiry.isoformat().replace("+00:00", "Z"),
                "reservation_id": "RES-1",
                "location_id": location_id,
                "evse_uid": evse_uid,
            },
        )
        assert response["result"] == "ACCEPTED"
        assert (await stack.result_of(reserve_id))["result"] == "ACCEPTED"
        start = stack.sim.exchanges_for("authorize_remote_reservation_start")[-1]
        assert start.request["EvseID"] == PRICED_EVSE and start.request["EMPPartnerSessionID"] == "RES-1"
        assert start.request["Duration"] == 30
        assert start.request["Identification"] == {"RemoteIdentification": {"EvcoID": APP_TOKEN.contract_id}}
        reservation_session = start.response["SessionID"]

        cancel_id, response = await stack.command(
            v221.CommandType.CANCEL_RESERVATION, {"reservation_id": "RES-1"}
        )
        assert response["result"] == "ACCEPTED"
        assert (await stack.result_of(cancel_id))["result"] == "ACCEPTED"
        stop = stack.sim.exchanges_for("authorize_remote_reservation_stop")[-1]
        assert stop.request["SessionID"] == reservation_session
        assert stack.sim.sessions[reservation_session].stopped

        _unknown_id, response = await stack.command(
            v221.CommandType.CANCEL_RESERVATION, {"reservation_id": "RES-9"}
        )
        assert response["result"] == "REJECTED" and response["timeout"] == 0


async def test_authorize_start_unknown_known_realtime_and_slow(tmp_path: Path) -> None:
    settings = EmspSettings(cdr_poll_interval=0, token_index_refresh=0, realtime_deadline=0.5)
    async with emsp_stack(tmp_path, settings=settings, tokens=[CARD, NEVER_CARD]) as stack:
        before = len(stack.emsp.party.received)

        # An RFID broadcast for a UID that is no token of the eMSP: NotAuthorized 102, eMSP untouched.
        unknown = await stack.hubject(
            "authorize_start",
            {"OperatorID": OPERATOR, "EvseID": PRICED_EVSE, "Identification": rfid("DEADBEEF")},
        )
        assert unknown.response["AuthorizationStatus"] == "NotAuthorized"
        assert unknown.response["StatusCode"]["Code"] == "102"
        assert "ProviderID" not in unknown.response
        assert len(stack.emsp.party.received) == before, "the eMSP was not contacted"

        # A whitelisted (ALWAYS) token, written with separators by the eMSP: answered locally.
        local = await stack.hubject(
            "authorize_start",
            {"OperatorID": OPERATOR, "EvseID": PRICED_EVSE, "Identification": rfid(CARD_UID)},
        )
        assert local.response["AuthorizationStatus"] == "Authorized"
        assert local.response["ProviderID"] == PROVIDER and local.response["StatusCode"]["Code"] == "000"
        assert local.response["AuthorizationStopIdentifications"] == [rfid(CARD_UID)]
        assert stack.emsp.arrived(contains="/authorize") == []

        # NEVER: the eMSP's real-time authorization decides, with the EVSE as LocationReferences.
        stack.emsp.answer(NEVER_CARD.uid, AuthorizeAnswer(authorization_reference="EMSP-RT-1"))
        realtime = await stack.hubject(
            "authorize_start",
            {"OperatorID": OPERATOR, "EvseID": PRICED_EVSE, "Identification": rfid("0A0B0C0D")},
        )
        assert realtime.response["AuthorizationStatus"] == "Authorized"
        asked = stack.emsp.received("POST", "/authorize")
        assert len(asked) == 1 and asked[0].query == {"type": "RFID"}
        _, _, location_id, evse_uid = stack.location_of(PRICED_EVSE)
        assert asked[0].body == {"location_id": location_id, "evse_uids": [evse_uid]}

        # The same eMSP too slow: NotAuthorized within the deadline (310), not the route's timeout.
        stack.emsp.answer(NEVER_CARD.uid, AuthorizeAnswer(latency=2.0))
        slow = await stack.hubject(
            "authorize_start",
            {"OperatorID": OPERATOR, "EvseID": PRICED_EVSE, "Identification": rfid("0A0B0C0D")},
        )
        assert slow.response["AuthorizationStatus"] == "NotAuthorized"
        assert slow.response["StatusCode"]["Code"] == "310"
        assert "within 0.5 s" in slow.response["StatusCode"]["AdditionalInfo"]


async def test_an_unpriceable_cdr_is_held_and_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with emsp_stack(tmp_path, tokens=[CARD]) as stack:
        session_id = stack.sim.open_session(evse_id=UNPRICED_EVSE, provider_id=PROVIDER)
        answer = await stack.hubject(
            "charge_detail_record", cdr_body(session_id, rfid(CARD_UID), evse_id=UNPRICED_EVSE)
        )
        assert answer.response["Result"] is True, "stored: Hubject is told so"

        async def held() -> list[Any]:
            while True:
                found = await stack.store.list_outbox(status="held")
                if found:
                    return found
                await asyncio.sleep(0.05)

        messages = await asyncio.wait_for(held(), 15)
        assert [m.key for m in messages] == [session_id]
        assert messages[0].last_error is not None and "not priced" in messages[0].last_error
        assert stack.emsp.cdrs == {} and stack.emsp.received("POST", "/cdrs") == []

        code = await asyncio.to_thread(
            main, ["outbox", "--config", str(stack.config_path), "list", "--status", "held"]
        )
        assert code == 0
        out = capsys.readouterr().out
        assert session_id in out and "held" in out


async def test_a_cdr_missed_while_down_is_recovered_once(tmp_path: Path) -> None:
    async with emsp_stack(tmp_path, tokens=[CARD]) as stack:
        session_id = stack.sim.open_session(evse_id=PRICED_EVSE, provider_id=PROVIDER)
        # Hubject stored the CPO's CDR but could not forward it (the gateway was down).
        stack.sim.add_cdr(cdr_body(session_id, rfid(CARD_UID)), provider_id=PROVIDER, forwarded=False)
        index = stack.index

        assert await poll_missed_cdrs(stack.gateway, index) == 1
        await stack.emsp.wait_until(lambda: len(stack.emsp.cdrs) == 1)
        assert await poll_missed_cdrs(stack.gateway, index) == 0, "polled again: the same SessionID"
        again = await stack.hubject("charge_detail_record", cdr_body(session_id, rfid(CARD_UID)))
        assert again.response["Result"] is True

        polls = stack.sim.exchanges_for("get_charge_detail_records")
        assert polls and all(p.request["CDRForwarded"] is False for p in polls)
        assert polls[0].request["ProviderID"] == PROVIDER
        queued = [m for m in await stack.store.list_outbox() if m.kind == "emsp.cdr"]
        assert [(m.key, m.status) for m in queued] == [(session_id, "delivered")]
        posted = stack.emsp.received("POST", "/cdrs")
        assert len(posted) == 1 and posted[0].body["id"] == session_id
        assert Decimal(str(posted[0].body["total_cost"]["excl_vat"])) == Decimal("5.94")
        assert posted[0].body["cdr_token"]["uid"] == CARD.uid
        # The CDR was the first and only signal: the Session is synthesized, COMPLETED.
        session = await wait_status(stack, session_id, "COMPLETED")
        assert Decimal(str(session["kwh"])) == Decimal("12.345")
