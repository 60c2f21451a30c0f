"""The eMSP-side charging flow's rules and refusals (bridge.flows.emsp_charging and its parts):
command routing and refusals, Hubject refusing a remote start, authorization edge cases,
notifications for unknown sessions, CDR deduplication and release of a held CDR, offline
authorization data, a 2.1.1 eMSP. Real servers on loopback (tests.flows.emsp_charging_support)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from bridge.context import Gateway
from bridge.flows import cpo_commands
from bridge.flows.emsp_authorization import request_full_load
from bridge.flows.emsp_charging_state import SETTINGS_SERVICE, EmspSettings
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.server.tokens import save_token
from bridge.simulators.emsp_backend import AuthorizeAnswer
from tests.flows.emsp_charging_support import (
    EMSP_PARTNER,
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
    rfid,
)

APP = emsp_token("APPUSER0002", token_type="APP_USER", whitelist="NEVER")
CARD = emsp_token("11223344", whitelist="ALWAYS")
OFFLINE = emsp_token("55667788", whitelist="ALLOWED_OFFLINE", contract_id="DE-BRE-C55667788-X")
BLOCKED = emsp_token("99AABBCC", whitelist="ALWAYS", valid=False, contract_id="DE-BRE-C99AABBCC-X")


def start_body(location_id: str, evse_uid: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"token": APP.model_dump(mode="json"), "location_id": location_id}
    if evse_uid is not None:
        body["evse_uid"] = evse_uid
    return body


async def authorize(stack: EmspStack, uid: str, evse_id: str = PRICED_EVSE) -> dict[str, Any]:
    exchange = await stack.hubject(
        "authorize_start", {"OperatorID": OPERATOR, "EvseID": evse_id, "Identification": rfid(uid)}
    )
    answer: dict[str, Any] = exchange.response
    return answer


async def test_command_routing_and_refusals(tmp_path: Path) -> None:
    backend = {
        "name": "cpo-backend",
        "role": "CPO",
        "versions_url": "http://127.0.0.1:9/ocpi/versions",
        "token": "token-of-an-unreachable-cpo",
    }
    async with emsp_stack(tmp_path, tokens=[APP], partners=[backend], flows_before=[cpo_commands]) as stack:
        _, _, location_id, evse_uid = stack.location_of(PRICED_EVSE)
        # The CPO-side relay was installed first: what is not its backends' reaches this flow.
        answer = (await stack.emsp.send_command(v221.CommandType.START_SESSION, start_body("NOWHERE", None)))[
            1
        ]
        assert answer["status_code"] == 2003, "an unknown Location"
        _, response = await stack.command(
            v221.CommandType.START_SESSION, start_body(location_id, "NO-SUCH-EVSE")
        )
        assert response["result"] == "REJECTED" and response["timeout"] == 0
        assert "NO-SUCH-EVSE" in response["message"][0]["text"]
        _, response = await stack.command(
            v221.CommandType.UNLOCK_CONNECTOR,
            {"location_id": location_id, "evse_uid": evse_uid, "connector_id": "1"},
        )
        assert response["result"] == "NOT_SUPPORTED"
        _, response = await stack.command(v221.CommandType.STOP_SESSION, {"session_id": "NOT-A-SESSION"})
        assert response["result"] == "UNKNOWN_SESSION"
        bad_token = {
            **start_body(location_id, evse_uid),
            "token": {**APP.model_dump(mode="json"), "contract_id": "X"},
        }
        _, response = await stack.command(v221.CommandType.START_SESSION, bad_token)
        assert response["result"] == "REJECTED" and "contract_id" in response["message"][0]["text"]
        assert stack.sim.exchanges_for("authorize_remote_start") == [], "nothing reached Hubject"
        # The single-EVSE Location needs no evse_uid.
        command_id, response = await stack.command(
            v221.CommandType.START_SESSION, start_body(location_id, None)
        )
        assert response["result"] == "ACCEPTED"
        assert (await stack.result_of(command_id))["result"] == "ACCEPTED"
        assert stack.sim.exchanges_for("authorize_remote_start")[-1].request["EvseID"] == PRICED_EVSE


async def test_hubject_refusing_or_failing_a_remote_start(tmp_path: Path) -> None:
    async with emsp_stack(tmp_path, tokens=[APP]) as stack:
        _, _, location_id, evse_uid = stack.location_of(PRICED_EVSE)
        stack.sim.delete_evse_record(PRICED_EVSE)
        command_id, response = await stack.command(
            v221.CommandType.START_SESSION, start_body(location_id, evse_uid)
        )
        assert response["result"] == "ACCEPTED", "the OCPI answer comes before Hubject's"
        result = await stack.result_of(command_id)
        assert result["result"] == "REJECTED", "603 Unknown EVSE ID"
        assert result["message"][0]["text"]
        assert stack.emsp.sessions == {}, "no Session for a refused start"

        stack.sim.inject_fault("authorize_remote_start", 503)
        command_id, _ = await stack.command(v221.CommandType.START_SESSION, start_body(location_id, evse_uid))
        assert (await stack.result_of(command_id))["result"] == "TIMEOUT", (
            "no answer: the start may have happened"
        )
        assert len(stack.sim.exchanges_for("authorize_remote_start")) == 2, "never repeated"


async def test_authorization_edge_cases(tmp_path: Path) -> None:
    settings = EmspSettings(cdr_poll_interval=0, token_index_refresh=0, realtime_deadline=0.4)
    async with emsp_stack(tmp_path, settings=settings, tokens=[CARD, OFFLINE, BLOCKED]) as stack:
        assert (await authorize(stack, BLOCKED.uid))["StatusCode"]["Code"] == "200", "BLOCKED: EvcoID locked"
        # ALLOWED_OFFLINE asks the eMSP; when it does not answer in time the token decides.
        stack.emsp.answer(OFFLINE.uid, AuthorizeAnswer(latency=1.5))
        offline = await authorize(stack, OFFLINE.uid)
        assert offline["AuthorizationStatus"] == "Authorized"
        assert len(stack.emsp.arrived("POST", "/authorize")) == 1
        stack.emsp.answer(OFFLINE.uid, AuthorizeAnswer(v221.AllowedType.NO_CREDIT))
        assert (await authorize(stack, OFFLINE.uid))["StatusCode"]["Code"] == "210", "NO_CREDIT"
        stack.emsp.answer(OFFLINE.uid, AuthorizeAnswer(allowed=None))
        assert (await authorize(stack, OFFLINE.uid))["StatusCode"]["Code"] == "210", "unknown to the eMSP"

        qr = await stack.hubject(
            "authorize_start",
            {
                "OperatorID": OPERATOR,
                "EvseID": PRICED_EVSE,
                "Identification": {"QRCodeIdentification": {"EvcoID": "DE-XYZ-C00000001-1", "PIN": "1234"}},
            },
        )
        assert (
            qr.response["AuthorizationStatus"] == "NotAuthorized"
            and qr.response["StatusCode"]["Code"] == "210"
        )

        started = await authorize(stack, CARD.uid)
        session_id = started["SessionID"]
        stop = await stack.hubject(
            "authorize_stop",
            {
                "SessionID": session_id,
                "OperatorID": OPERATOR,
                "EvseID": PRICED_EVSE,
                "Identification": rfid(CARD.uid),
            },
        )
        assert (
            stop.response["AuthorizationStatus"] == "Authorized" and stop.response["ProviderID"] == PROVIDER
        )
        stranger = await stack.hubject(
            "authorize_stop",
            {
                "SessionID": session_id,
                "OperatorID": OPERATOR,
                "EvseID": PRICED_EVSE,
                "Identification": rfid("CAFEBABE"),
            },
        )
        assert stranger.response["StatusCode"]["Code"] == "102"


async def test_notifications_without_a_known_session(tmp_path: Path) -> None:
    async with emsp_stack(tmp_path, tokens=[CARD]) as stack:
        unknown = await stack.hubject(
            "charging_notification",
            {
                "Type": "Start",
                "SessionID": "b2688855-7f00-0002-6d8e-48d883f6abb6",
                "EvseID": PRICED_EVSE,
                "OperatorID": OPERATOR,
                "ChargingStart": iso(T0),
            },
        )
        assert unknown.response["Result"] is False and unknown.response["StatusCode"]["Code"] == "400"

        # Offline-authorized at Hubject (the gateway never saw an AuthorizeStart): the token names the eMSP.
        session_id = stack.sim.open_session(evse_id=PRICED_EVSE, provider_id=PROVIDER)
        start = {
            "Type": "Start",
            "SessionID": session_id,
            "EvseID": PRICED_EVSE,
            "OperatorID": OPERATOR,
            "ChargingStart": iso(T0),
            "Identification": rfid(CARD.uid),
        }
        assert (await stack.hubject("charging_notification", start)).response["Result"] is True
        await stack.emsp.wait_until(lambda: any(k[2] == session_id.upper() for k in stack.emsp.sessions))
        end = {
            "Type": "End",
            "SessionID": session_id,
            "EvseID": PRICED_EVSE,
            "OperatorID": OPERATOR,
            "ChargingEnd": iso(T0 + timedelta(minutes=30)),
            "ConsumedEnergy": 7,
        }
        await stack.hubject("charging_notification", end)
        late = {
            "Type": "Progress",
            "SessionID": session_id,
            "EvseID": PRICED_EVSE,
            "OperatorID": OPERATOR,
            "ChargingStart": iso(T0),
            "EventOccurred": iso(T0 + timedelta(minutes=20)),
            "ConsumedEnergyProgress": 3,
        }
        assert (await stack.hubject("charging_notification", late)).response["Result"] is True

        def stored() -> dict[str, Any]:
            return next(s for k, s in stack.emsp.sessions.items() if k[2] == session_id.upper())

        await stack.emsp.wait_until(lambda: stored()["status"] == "COMPLETED")
        session = stored()
        assert Decimal(str(session["kwh"])) == 7, "the late Progress did not move the session back"
        assert session["auth_method"] == "AUTH_REQUEST" and session["cdr_token"]["uid"] == CARD.uid
        queued = [m for m in await stack.store.list_outbox() if m.kind == "emsp.session"]
        assert [m.payload["method"] for m in queued] == ["PUT", "PATCH"]


async def test_cdr_deduplication_and_release_of_a_held_cdr(tmp_path: Path) -> None:
    async with emsp_stack(tmp_path, tokens=[CARD]) as stack:
        session_id = stack.sim.open_session(evse_id=UNPRICED_EVSE, provider_id=PROVIDER)
        body = cdr_body(session_id, rfid(CARD.uid), evse_id=UNPRICED_EVSE, energy="10")
        for _ in range(2):
            assert (await stack.hubject("charge_detail_record", body)).response["Result"] is True
        queued = [m for m in await stack.store.list_outbox() if m.kind == "emsp.cdr"]
        assert len(queued) == 1, "one CDR per SessionID"

        async def status_of(message_id: int, wanted: str) -> None:
            while (
                message := await stack.store.get_outbox_message(message_id)
            ) is None or message.status != wanted:
                await asyncio.sleep(0.05)

        await asyncio.wait_for(status_of(queued[0].id, "held"), 15)
        # A contract tariff arrives (EmspSettings.fallback_tariff); the operator releases the CDR.
        tariff = v221.Tariff(
            country_code="NL",
            party_id="EMS",
            id="CONTRACT",
            currency="EUR",
            elements=[
                v221.TariffElement(
                    price_components=[
                        v221.PriceComponent(
                            type=v221.TariffDimensionType.ENERGY, price=Decimal("0.333"), step_size=1
                        )
                    ]
                )
            ],
            last_updated=datetime.now(UTC),
        )
        stack.gateway.services[SETTINGS_SERVICE] = EmspSettings(
            cdr_poll_interval=0, token_index_refresh=0, fallback_tariff=tariff
        )
        assert await stack.store.release(queued[0].id)
        stack.gateway.services["delivery"].notify()
        await stack.emsp.wait_until(lambda: len(stack.emsp.cdrs) == 1)
        cdr = next(iter(stack.emsp.cdrs.values()))
        assert Decimal(str(cdr["total_cost"]["excl_vat"])) == Decimal("3.33"), "10 kWh × 0.333"
        assert cdr["tariffs"][0]["id"] == "CONTRACT"


async def test_offline_authorization_data_is_pushed_as_full_loads(tmp_path: Path) -> None:
    settings = EmspSettings(cdr_poll_interval=0, token_index_refresh=0, push_authentication_data=True)
    never = emsp_token("0F0E0D0C", whitelist="NEVER")
    async with emsp_stack(tmp_path, settings=settings, tokens=[CARD, never]) as stack:

        def pushed() -> list[Any]:
            return [e for e in stack.sim.exchanges_for("push_authentication_data") if e.status == 200]

        async def pushes(count: int) -> None:
            while len(pushed()) < count:
                await asyncio.sleep(0.05)

        await asyncio.wait_for(pushes(1), 15)
        last = pushed()[-1].request
        assert (
            last["ActionType"] == "fullLoad" and last["ProviderAuthenticationData"]["ProviderID"] == PROVIDER
        )
        records = last["ProviderAuthenticationData"]["AuthenticationDataRecord"]
        assert records == [{"Identification": rfid(CARD.uid)}], "NEVER tokens stay online-only"
        before = len(pushed())
        await request_full_load(stack.gateway)
        await asyncio.wait_for(pushes(before + 1), 15)
        assert pushed()[-1].response["Result"] is True


async def test_a_2_1_1_emsp_gets_2_1_1_results_and_sessions(tmp_path: Path) -> None:
    token = emsp_token("APPUSER0211", token_type="OTHER", whitelist="NEVER")
    async with emsp_stack(tmp_path, tokens=[token], ocpi_versions=("2.1.1",)) as stack:
        assert stack.emsp.version == "2.1.1"
        _, _, location_id, evse_uid = stack.location_of(PRICED_EVSE)
        body = {
            "token": {
                k: v
                for k, v in token.model_dump(mode="json").items()
                if k not in ("country_code", "party_id", "contract_id")
            }
            | {"auth_id": token.contract_id},
            "location_id": location_id,
            "evse_uid": evse_uid,
        }
        command_id, response = await stack.command(v221.CommandType.START_SESSION, body)
        assert response == {"result": "ACCEPTED"}, "2.1.1 CommandResponse"
        assert await stack.result_of(command_id) == {"result": "ACCEPTED"}
        session_id = stack.sim.exchanges_for("authorize_remote_start")[-1].response["SessionID"]
        await stack.emsp.wait_until(lambda: any(k[2] == session_id.upper() for k in stack.emsp.sessions))
        session = next(s for k, s in stack.emsp.sessions.items() if k[2] == session_id.upper())
        assert session["status"] == "PENDING" and session["auth_id"] == token.contract_id
        assert session["location"]["id"] == location_id, "2.1.1 Sessions embed the Location"


async def test_tokens_written_by_another_instance(tmp_path: Path) -> None:
    async with emsp_stack(tmp_path) as stack:
        # A second gateway process on the same store: its writes do not reach this one's index.
        other = Gateway(config=stack.config, store=stack.store)
        card = emsp_token("A1B2C3D4", whitelist="ALWAYS", contract_id="DE-BRE-CA1B2C3D4-X")
        await save_token(other, card, partner=EMSP_PARTNER)

        qr = await stack.hubject(
            "authorize_start",
            {
                "OperatorID": OPERATOR,
                "EvseID": PRICED_EVSE,
                "Identification": {"QRCodeIdentification": {"EvcoID": card.contract_id, "PIN": "1234"}},
            },
        )
        assert qr.response["AuthorizationStatus"] == "Authorized", "EvcoIDs fall back to the store"
        assert (await authorize(stack, card.uid))["StatusCode"]["Code"] == "102", "UIDs: the index only"
        await stack.index.rebuild(stack.store)
        assert (await authorize(stack, card.uid))["AuthorizationStatus"] == "Authorized"
