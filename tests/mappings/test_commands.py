"""mappings.commands: OCPI commands ⇄ OICP remote start/stop and reservations.

EMP side (OCPI eMSP → Hubject) results validate against the OICP schema; CPO side (Hubject's
snippets → OCPI commands) results validate against the OCPI schema. One test per ``commands.*`` key.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bridge.errors import MappingError
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models.v2_2_1 import (
    CancelReservation,
    CommandResponse,
    CommandResult,
    DisplayText,
    ReserveNow,
    StartSession,
    StopSession,
)
from bridge.oicp.models.common import Acknowledgement
from bridge.oicp.models.common import to_jsonable as oicp_jsonable
from bridge.oicp.models.identification import Identification
from bridge.oicp.models.remote import AuthorizeRemoteStart, AuthorizeRemoteStop
from bridge.oicp.models.reservation import AuthorizeRemoteReservationStart, AuthorizeRemoteReservationStop
from mappings.commands import (
    RULE_TABLE,
    acknowledgement_to_result,
    cancel_reservation_to_oicp,
    immediate_response,
    preview,
    remote_start_to_ocpi,
    remote_stop_to_ocpi,
    reservation_start_to_ocpi,
    reservation_stop_to_ocpi,
    reserve_now_to_oicp,
    response_to_oicp,
    result_to_notification,
    start_session_to_oicp,
    stop_session_to_oicp,
)
from mappings.result import LossKind
from tests.mappings.part2_support import SESSION_ID, example, ocpi_valid, oicp_valid, rules, snippet
from tests.schema_oicp import oicp_schema_errors

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
DEFAULT = rules()
WITH_PROVIDER = rules(commands={"provider_id": "DE-8EO"})
URL = "https://emsp.example.com/commands/START_SESSION/42"


def app_token(**changes: Any) -> dict[str, Any]:
    return {**example("token_example_1_app_user.json"), "contract_id": "DE-TNM-C12345678-X", **changes}


def start(**changes: Any) -> StartSession:
    return StartSession.model_validate(
        {"response_url": URL, "token": app_token(), "location_id": "LOC1", "evse_uid": "3256", **changes}
    )


# --------------------------------------------------------------------------------------------
# EMP side: OCPI → OICP


@pytest.mark.parametrize("side", ["cpo", "emp"])
def test_start_session(side: str) -> None:
    translated = start_session_to_oicp(
        start(authorization_reference="AUTH-1", connector_id="1"),
        evse_id="BE*BEC*E041503001",
        rules=WITH_PROVIDER,
    )
    # The OpenAPI lists SessionID as required; the normative text (02_EMP_Services_and_Operations,
    # "Best Practices") says the EMP leaves it out and Hubject issues it (oicp-2.3.md §8.12): that
    # is the one deviation allowed here.
    data = oicp_jsonable(translated.value)
    assert oicp_schema_errors(data, "eRoamingAuthorizeRemoteStart", side) == [
        "$: 'SessionID' is a required property"
    ]
    assert oicp_schema_errors({**data, "SessionID": SESSION_ID}, "eRoamingAuthorizeRemoteStart", side) == []
    assert data == {
        "EMPPartnerSessionID": "AUTH-1",
        "ProviderID": "DE-8EO",
        "EvseID": "BE*BEC*E041503001",
        "Identification": {"RemoteIdentification": {"EvcoID": "DE-TNM-C12345678-X"}},
    }
    assert {"token.uid", "connector_id"} <= {loss.path for loss in translated.losses}


def test_the_official_app_user_token_is_refused() -> None:
    official = StartSession(
        response_url=URL, token=example("token_example_1_app_user.json"), location_id="LOC1"
    )
    with pytest.raises(MappingError) as refused:
        start_session_to_oicp(official, evse_id="BE*BEC*E041503001", rules=WITH_PROVIDER)
    assert refused.value.path == "token.contract_id"  # DE8ACC12E46L89: no check character


def test_key_provider_id() -> None:
    with pytest.raises(MappingError) as refused:
        start_session_to_oicp(start(), evse_id="BE*BEC*E041503001", rules=DEFAULT)
    assert refused.value.path == "ProviderID"
    chosen = start_session_to_oicp(start(), evse_id="BE*BEC*E041503001", rules=DEFAULT, provider_id="NL*TST")
    assert chosen.value.provider_id == "NL*TST"
    with pytest.raises(MappingError):
        start_session_to_oicp(start(), evse_id="BE*BEC*E041503001", rules=DEFAULT, provider_id="not one")


@pytest.mark.parametrize("side", ["cpo", "emp"])
def test_stop_session(side: str) -> None:
    translated = stop_session_to_oicp(
        StopSession(response_url=URL, session_id="S-101"),
        session_id=SESSION_ID,
        evse_id="BE*BEC*E041503001",
        rules=WITH_PROVIDER,
    )
    data = oicp_valid(translated.value, "eRoamingAuthorizeRemoteStop", side)
    assert (data["SessionID"], data["EMPPartnerSessionID"]) == (SESSION_ID, "S-101")


def reserve(minutes: float) -> ReserveNow:
    return ReserveNow(
        response_url=URL,
        token=app_token(),
        expiry_date=NOW + timedelta(minutes=minutes),
        reservation_id="R-7",
        location_id="LOC1",
        evse_uid="3256",
    )


@pytest.mark.parametrize(("minutes", "duration"), [(15, 15), (14.5, 15), (0.2, 1)])
def test_reserve_now(minutes: float, duration: int) -> None:
    translated = reserve_now_to_oicp(
        reserve(minutes), evse_id="BE*BEC*E041503001", now=NOW, rules=WITH_PROVIDER
    )
    data = oicp_valid(translated.value, "eRoamingAuthorizeRemoteReservationStart")
    assert (data["Duration"], data["EMPPartnerSessionID"]) == (duration, "R-7")


def test_key_reservation_duration() -> None:
    clamped = reserve_now_to_oicp(reserve(180), evse_id="BE*BEC*E041503001", now=NOW, rules=WITH_PROVIDER)
    assert clamped.value.duration == 99
    assert ("expiry_date", LossKind.CHANGED) in {(x.path, x.kind) for x in clamped.losses}
    assert (
        reserve_now_to_oicp(
            reserve(-5), evse_id="BE*BEC*E041503001", now=NOW, rules=WITH_PROVIDER
        ).value.duration
        == 1
    )
    refuse = rules(commands={"provider_id": "DE-8EO", "reservation_duration": "refuse"})
    with pytest.raises(MappingError) as refused:
        reserve_now_to_oicp(reserve(180), evse_id="BE*BEC*E041503001", now=NOW, rules=refuse)
    assert refused.value.path == "expiry_date"


def test_cancel_reservation() -> None:
    translated = cancel_reservation_to_oicp(
        CancelReservation(response_url=URL, reservation_id="R-7"),
        session_id=SESSION_ID,
        evse_id="BE*BEC*E041503001",
        rules=WITH_PROVIDER,
    )
    data = oicp_valid(translated.value, "eRoamingAuthorizeRemoteReservationStop")
    assert (data["SessionID"], data["EMPPartnerSessionID"]) == (SESSION_ID, "R-7")


def test_key_response_timeout_seconds() -> None:
    assert ocpi_valid(immediate_response(DEFAULT), "CommandResponse") == {"result": "ACCEPTED", "timeout": 60}
    assert immediate_response(rules(commands={"response_timeout_seconds": 30})).timeout == 30


def ack(code: str, result: bool | None = None) -> Acknowledgement:
    return Acknowledgement.model_validate(
        {
            "Result": code == "000" if result is None else result,
            "StatusCode": {"Code": code, "Description": "why"},
        }
    )


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("000", "ACCEPTED"),
        ("602", "EVSE_OCCUPIED"),
        ("700", "EVSE_INOPERATIVE"),
        ("310", "TIMEOUT"),
        ("501", "FAILED"),
        ("510", "FAILED"),
        ("601", "REJECTED"),
        ("603", "REJECTED"),
        ("604", "REJECTED"),
        ("210", "REJECTED"),
        ("400", "UNKNOWN_RESERVATION"),
        ("022", "FAILED"),
    ],
)
def test_key_result_by_oicp_code(code: str, expected: str) -> None:
    data = ocpi_valid(acknowledgement_to_result(ack(code), DEFAULT).value, "CommandResult")
    assert data["result"] == expected
    assert ("message" in data) is (expected != "ACCEPTED")


def test_key_result_by_oicp_code_override_and_default() -> None:
    chosen = rules(commands={"result_by_oicp_code": {"510": "REJECTED"}, "result_default": "REJECTED"})
    assert acknowledgement_to_result(ack("510"), chosen).value.result.value == "REJECTED"
    assert acknowledgement_to_result(ack("022"), chosen).value.result.value == "REJECTED"
    assert acknowledgement_to_result(ack("602"), chosen).value.result.value == "EVSE_OCCUPIED"


@pytest.mark.parametrize(
    "heading",
    ["eRoamingAuthorizeRemoteStart", "eRoamingAuthorizeRemoteStop", "eRoamingRemoteReservationStart"],
)
def test_snippet_acknowledgements_become_command_results(heading: str) -> None:
    response = Acknowledgement.model_validate(snippet("emp", heading, "Response"))
    data = ocpi_valid(acknowledgement_to_result(response, DEFAULT).value, "CommandResult")
    accepted = bool(response.result) and response.status_code.code == "000"
    assert (data["result"] == "ACCEPTED") == accepted


# --------------------------------------------------------------------------------------------
# CPO side: OICP → OCPI


@pytest.mark.parametrize("side", ["cpo", "emp"])
def test_snippet_remote_start(side: str) -> None:
    request = AuthorizeRemoteStart.model_validate(snippet(side, "eRoamingAuthorizeRemoteStart"))
    translated = remote_start_to_ocpi(
        request, location_id="LOC1", evse_uid="3256", response_url=URL, rules=DEFAULT, now=NOW
    )
    data = ocpi_valid(translated.value, "StartSession")
    assert data["authorization_reference"] == SESSION_ID
    token = data["token"]
    assert (token["country_code"], token["party_id"]) == ("DE", "DCB")  # from ProviderID DE-DCB
    assert (token["uid"], token["type"], token["contract_id"]) == (
        "DE-DCB-C12345678-X",
        "APP_USER",
        "DE-DCB-C12345678-X",
    )
    assert (token["whitelist"], token["issuer"]) == ("NEVER", "Hubject")
    assert {"PartnerProductID", "CPOPartnerSessionID", "EMPPartnerSessionID"} <= {
        x.path for x in translated.losses
    }


def test_remote_start_needs_the_session_id() -> None:
    raw = {**snippet("cpo", "eRoamingAuthorizeRemoteStart")}
    raw.pop("SessionID")
    with pytest.raises(MappingError) as refused:
        remote_start_to_ocpi(
            AuthorizeRemoteStart.model_validate(raw),
            location_id="L",
            evse_uid="E",
            response_url=URL,
            rules=DEFAULT,
            now=NOW,
        )
    assert refused.value.path == "SessionID"


def test_remote_start_token_uid_follows_tokens_evco_uid() -> None:
    request = AuthorizeRemoteStart.model_validate(snippet("cpo", "eRoamingAuthorizeRemoteStart"))
    compact = rules(tokens={"evco_uid": "compact"})
    command = remote_start_to_ocpi(
        request, location_id="L", evse_uid="E", response_url=URL, rules=compact, now=NOW
    )
    assert command.value.token.uid == "DEDCBC12345678X"


def test_snippet_remote_stop() -> None:
    request = AuthorizeRemoteStop.model_validate(snippet("cpo", "eRoamingAuthorizeRemoteStop"))
    data = ocpi_valid(remote_stop_to_ocpi(request, session_id="S-101", response_url=URL).value, "StopSession")
    assert data == {"response_url": URL, "session_id": "S-101"}


def test_snippet_reservation_start() -> None:
    request = AuthorizeRemoteReservationStart.model_validate(snippet("cpo", "eRoamingRemoteReservationStart"))
    translated = reservation_start_to_ocpi(
        request, location_id="LOC1", evse_uid="3256", response_url=URL, rules=DEFAULT, now=NOW
    )
    data = ocpi_valid(translated.value, "ReserveNow")
    assert data["expiry_date"] == "2024-03-01T12:15:00Z"  # Duration 15
    assert data["reservation_id"] == data["authorization_reference"] == SESSION_ID
    assert "PartnerProductID" in {x.path for x in translated.losses}


def test_key_reservation_default_minutes() -> None:
    raw = snippet("cpo", "eRoamingRemoteReservationStart")
    raw.pop("Duration")
    request = AuthorizeRemoteReservationStart.model_validate(raw)
    common: dict[str, Any] = {"location_id": "L", "evse_uid": "E", "response_url": URL, "now": NOW}
    assert reservation_start_to_ocpi(request, rules=DEFAULT, **common).value.expiry_date == NOW + timedelta(
        minutes=15
    )
    chosen = rules(commands={"reservation_default_minutes": 30})
    assert reservation_start_to_ocpi(request, rules=chosen, **common).value.expiry_date == NOW + timedelta(
        minutes=30
    )


def test_snippet_reservation_stop() -> None:
    request = AuthorizeRemoteReservationStop.model_validate(snippet("cpo", "eRoamingRemoteReservationStop"))
    data = ocpi_valid(reservation_stop_to_ocpi(request, response_url=URL).value, "CancelReservation")
    assert data["reservation_id"] == SESSION_ID


@pytest.mark.parametrize(
    ("result", "ok", "code"),
    [
        ("ACCEPTED", True, "000"),
        ("REJECTED", False, "602"),
        ("NOT_SUPPORTED", False, "320"),
        ("UNKNOWN_SESSION", False, "400"),
    ],
)
def test_key_ack_by_response(result: str, ok: bool, code: str) -> None:
    response = CommandResponse(result=result, timeout=30, message=[DisplayText(language="en", text="busy")])
    translated = response_to_oicp(response, DEFAULT, session_id=SESSION_ID)
    data = oicp_valid(translated.value, "eRoamingAcknowledgment")
    assert (data["Result"], data["StatusCode"]["Code"], data["StatusCode"]["AdditionalInfo"]) == (
        ok,
        code,
        "busy",
    )
    assert "timeout" in {x.path for x in translated.losses}


def test_key_ack_by_response_override_and_211_timeout() -> None:
    chosen = rules(commands={"ack_by_response": {"NOT_SUPPORTED": {"result": False, "code": "021"}}})
    response = CommandResponse(result="NOT_SUPPORTED", timeout=30)
    assert response_to_oicp(response, chosen).value.status_code.code == "021"
    old = v211.CommandResponse(result="TIMEOUT")
    assert response_to_oicp(old, DEFAULT).value.status_code.code == "501"


@pytest.mark.parametrize(
    ("result", "error_type"),
    [
        ("EVSE_OCCUPIED", "ConnectorError"),
        ("EVSE_INOPERATIVE", "CriticalError"),
        ("FAILED", "ConnectorError"),
        ("REJECTED", "ConnectorError"),
        ("TIMEOUT", "CriticalError"),
        ("NOT_SUPPORTED", "CriticalError"),
        ("UNKNOWN_RESERVATION", "ConnectorError"),
    ],
)
def test_key_error_type_by_result(result: str, error_type: str) -> None:
    translated = result_to_notification(
        CommandResult(result=result),
        session_id=SESSION_ID,
        evse_id="BE*BEC*E041503001",
        operator_id="BE*BEC",
        rules=DEFAULT,
        identification=Identification.from_remote("DE-DCB-C12345678-X"),
    )
    data = oicp_valid(translated.value, "eRoamingChargingNotificationError")
    assert (data["ErrorType"], data["ErrorAdditionalInfo"]) == (error_type, f"OCPI command result {result}")


def test_key_error_type_by_result_override_and_success() -> None:
    common: dict[str, Any] = {"session_id": SESSION_ID, "evse_id": "BE*BEC*E1", "operator_id": "BE*BEC"}
    chosen = rules(commands={"error_type_by_result": {"FAILED": "CriticalError"}})
    failed = result_to_notification(CommandResult(result="FAILED"), rules=chosen, **common).value
    assert failed is not None and failed.error_type.value == "CriticalError"
    assert result_to_notification(CommandResult(result="ACCEPTED"), rules=DEFAULT, **common).value is None


# --------------------------------------------------------------------------------------------
# Preview and documentation


def test_preview_both_directions() -> None:
    command = {
        "response_url": URL,
        "token": app_token(),
        "location_id": "LOC1",
        "evse_uid": "BE*BEC*E041503001",
    }
    forward = preview(command, "ocpi-2.2.1", "oicp", WITH_PROVIDER, now=NOW)
    assert isinstance(forward.value, AuthorizeRemoteStart)
    with pytest.raises(MappingError) as refused:
        preview({**command, "evse_uid": "3256"}, "ocpi-2.2.1", "oicp", WITH_PROVIDER, now=NOW)
    assert refused.value.path == "evse_uid"
    with pytest.raises(MappingError) as stop:
        preview({"response_url": URL, "session_id": "S"}, "ocpi-2.2.1", "oicp", WITH_PROVIDER, now=NOW)
    assert stop.value.path == "session_id"
    assert isinstance(
        preview({"result": "REJECTED", "timeout": 5}, "ocpi-2.2.1", "oicp", DEFAULT, now=NOW).value,
        Acknowledgement,
    )
    old = preview({"result": "TIMEOUT"}, "ocpi-2.1.1", "oicp", DEFAULT, now=NOW).value
    assert (old.result, old.status_code.code) == (False, "501")
    with pytest.raises(MappingError) as result_only:
        preview({"result": "FAILED"}, "ocpi-2.2.1", "oicp", DEFAULT, now=NOW)
    assert result_only.value.path == "result"
    back = preview(snippet("cpo", "eRoamingAuthorizeRemoteStart"), "oicp", "ocpi-2.2.1", DEFAULT, now=NOW)
    assert isinstance(back.value, StartSession)
    reservation = preview(
        snippet("cpo", "eRoamingRemoteReservationStart"), "oicp", "ocpi-2.2.1", DEFAULT, now=NOW
    )
    assert isinstance(reservation.value, ReserveNow)
    stopped = preview(snippet("cpo", "eRoamingAuthorizeRemoteStop"), "oicp", "ocpi-2.2.1", DEFAULT, now=NOW)
    assert isinstance(stopped.value, StopSession)
    result = preview(
        snippet("cpo", "eRoamingAuthorizeRemoteStart", "Response"), "oicp", "ocpi-2.2.1", DEFAULT, now=NOW
    )
    assert isinstance(result.value, CommandResult)
    with pytest.raises(MappingError) as unsupported:
        preview(snippet("cpo", "eRoamingAuthorizeRemoteStop"), "oicp", "ocpi-2.1.1", DEFAULT, now=NOW)
    assert unsupported.value.path == "target"


def test_rule_table_covers_every_key() -> None:
    keys = {f"commands.{name}" for name in type(DEFAULT.commands).model_fields}
    assert keys == {row.yaml_key for row in RULE_TABLE if row.yaml_key}
