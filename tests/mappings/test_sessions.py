"""mappings.sessions: OCPI Session transitions ⇄ OICP ChargingNotifications.

Official fixtures: the OCPI 2.2.1/2.1.1 session examples (→ notifications valid against the OICP
schema) and the four ChargingNotification snippets of both OICP chapters (→ OCPI Sessions valid
against the OCPI schema). One test per ``sessions.*`` key.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from bridge.errors import MappingError
from bridge.ocpi.models.v2_2_1 import AuthMethod, CdrToken, Session, SessionStatus, TokenType
from bridge.oicp.models.notifications import (
    ChargingNotificationAdapter,
    ChargingNotificationEnd,
    ChargingNotificationError,
    ChargingNotificationProgress,
    ChargingNotificationStart,
)
from mappings.result import LossKind
from mappings.sessions import (
    RULE_TABLE,
    charging_window,
    notification_to_session,
    pending_session,
    preview,
    session_to_notification,
)
from tests.mappings.part2_support import SESSION_ID, example, ocpi_valid, oicp_valid, rules, snippet

NOW = datetime(2015, 6, 29, 23, 55, tzinfo=UTC)
DEFAULT = rules()
REMOTE_TOKENS = rules(tokens={"invalid_uid": "contract_id"})
TOKEN = CdrToken(
    country_code="DE", party_id="DCB", uid="1234ABCD", type=TokenType.RFID, contract_id="DE-DCB-C12345678-X"
)


def session(name: str = "session_example_2_short_finished.json", **changes: Any) -> Session:
    return Session.model_validate({**example(name), **changes})


def notify(previous: Session | None, current: Session, rule_set: Any = DEFAULT, **kw: Any) -> Any:
    arguments: dict[str, Any] = {
        "session_id": SESSION_ID,
        "evse_id": "BE*BEC*E041503001",
        "operator_id": "BE*BEC",
        "time_zone": "Europe/Brussels",
        "last_progress_at": None,
        "now": NOW,
        "rules": rule_set,
        **kw,
    }
    return session_to_notification(previous, current, **arguments)


SCHEMAS = {
    ChargingNotificationStart: "eRoamingChargingNotificationStart",
    ChargingNotificationProgress: "eRoamingChargingNotificationProgress",
    ChargingNotificationEnd: "eRoamingChargingNotificationEnd",
    ChargingNotificationError: "eRoamingChargingNotificationError",
}


def valid(notification: Any) -> dict[str, Any]:
    return oicp_valid(notification, SCHEMAS[type(notification)])


# --------------------------------------------------------------------------------------------
# OCPI → OICP


def test_official_pending_session_sends_nothing() -> None:
    assert notify(None, session("session_example_1_simple_start.json")).value is None


def test_official_finished_session_becomes_end() -> None:
    translated = notify(session("session_example_1_simple_start.json"), session())
    data = valid(translated.value)
    assert data["Type"] == "End"
    assert data["SessionStart"] == "2015-06-30T00:39:09+02:00"  # Brussels summer time
    assert data["ChargingStart"] == "2015-06-30T00:39:09+02:00"  # first period with energy
    assert data["ChargingEnd"] == "2015-06-30T01:07:09+02:00"  # where the PARKING_TIME period starts
    assert data["SessionEnd"] == "2015-06-30T01:50:16+02:00"
    assert data["ConsumedEnergy"] == 41.12
    assert data["CPOPartnerSessionID"] == "101"
    assert "Identification" not in data  # uid "123abc" is no UID: optional here, so left out
    lost = {(loss.path, loss.kind) for loss in translated.losses}
    assert ("cdr_token.uid", LossKind.LOST) in lost
    assert ("total_cost", LossKind.LOST) in lost


def test_official_finished_session_with_the_contract_as_remote_identification() -> None:
    data = valid(notify(None, session(), REMOTE_TOKENS).value)
    assert data["Identification"] == {"RemoteIdentification": {"EvcoID": "NL-TST-C12345678-S"}}


def test_official_211_session_goes_up_first() -> None:
    raw = example("mod_sessions__simple_session_example_of_a_short_finished_session.json", "2.1.1")
    translated = preview(raw, "ocpi-2.1.1", "oicp", DEFAULT, now=NOW)
    data = valid(translated.value)
    assert data["Type"] == "End"
    assert data["ConsumedEnergy"] == 41
    assert data["OperatorID"] == "BE*BEC"  # from the Location's EvseID


def test_official_211_starting_session_is_pending() -> None:
    raw = example("mod_sessions__simple_session_example_of_a_just_starting_session.json", "2.1.1")
    with pytest.raises(MappingError) as refused:
        preview(raw, "ocpi-2.1.1", "oicp", DEFAULT, now=NOW)
    assert refused.value.path == "status"  # PENDING: no notification yet


def test_first_active_becomes_start() -> None:
    started = session("session_example_1_simple_start.json", status="ACTIVE")
    data = valid(notify(session("session_example_1_simple_start.json"), started).value)
    assert data["Type"] == "Start"
    assert data["ChargingStart"] == data["SessionStart"] == "2020-03-09T11:17:09+01:00"  # 10:17:09Z


def active(kwh: str, **changes: Any) -> Session:
    return session(status="ACTIVE", kwh=kwh, end_date_time=None, **changes)


def test_progress_carries_duration_in_milliseconds() -> None:
    translated = notify(active("10"), active("12.3456"))
    data = valid(translated.value)
    assert data["Type"] == "Progress"
    assert data["EventOccurred"] == "2015-06-30T01:55:00+02:00"
    # EventOccurred − ChargingStart = 23:55:00 − 22:39:09 = 4551 s
    assert data["ChargingDuration"] == 4_551_000
    assert data["ConsumedEnergyProgress"] == 12.346
    assert ("kwh", LossKind.CHANGED) in {(loss.path, loss.kind) for loss in translated.losses}


def test_no_progress_without_new_energy() -> None:
    assert notify(active("10"), active("10")).value is None


def test_key_progress_interval_minutes() -> None:
    four = NOW - timedelta(minutes=4)
    five = NOW - timedelta(minutes=5)
    assert notify(active("10"), active("11"), last_progress_at=four).value is None
    assert notify(active("10"), active("11"), last_progress_at=five).value is not None
    ten = rules(sessions={"progress_interval_minutes": 10})
    assert notify(active("10"), active("11"), ten, last_progress_at=NOW - timedelta(minutes=6)).value is None
    with pytest.raises(ValueError, match="greater than or equal to 5"):
        rules(sessions={"progress_interval_minutes": 1})


def test_key_progress() -> None:
    assert notify(active("10"), active("11"), rules(sessions={"progress": False})).value is None


def test_key_invalid_error_type() -> None:
    invalid = session(status="INVALID")
    data = valid(notify(active("1"), invalid).value)
    assert (data["Type"], data["ErrorType"]) == ("Error", "CriticalError")
    changed = rules(sessions={"invalid_error_type": "ConnectorError"})
    assert valid(notify(active("1"), invalid, changed).value)["ErrorType"] == "ConnectorError"


def test_repeated_states_send_nothing() -> None:
    assert notify(session(), session()).value is None
    assert notify(session(status="INVALID"), session(status="INVALID")).value is None


def test_charging_window_falls_back_to_the_session() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    assert charging_window(None, start, None) == (start, None)


# --------------------------------------------------------------------------------------------
# OICP → OCPI


def to_session(raw: dict[str, Any], previous: Session | None = None, rule_set: Any = DEFAULT) -> Any:
    notification = ChargingNotificationAdapter.validate_python(raw)
    return notification_to_session(
        notification,
        previous=previous,
        country_code="DE",
        party_id="XYZ",
        session_id="S1",
        location_id="LOC1",
        evse_uid="3256",
        connector_id="1",
        cdr_token=TOKEN,
        now=NOW,
        rules=rule_set,
    )


@pytest.mark.parametrize("side", ["cpo", "emp"])
@pytest.mark.parametrize(
    ("heading", "status", "kwh"),
    [
        ("eRoamingChargingNotificationStart", "ACTIVE", 0),
        ("eRoamingChargingNotificationProgress", "ACTIVE", 9),
        ("eRoamingChargingNotificationEnd", "COMPLETED", 10),
        ("eRoamingChargingNotificationError", "INVALID", 0),
    ],
)
def test_snippet_notifications_become_sessions(side: str, heading: str, status: str, kwh: int) -> None:
    raw = snippet(side, heading, option="RFIDMifareFamilyIdentification")
    translated = to_session(raw)
    data = ocpi_valid(translated.value, "Session")
    assert (data["status"], data["kwh"]) == (status, kwh)
    assert data["authorization_reference"] == SESSION_ID
    assert data["start_date_time"].endswith("Z")
    assert data["auth_method"] == "AUTH_REQUEST"  # RFID (tokens.auth_method_by_identification)


def test_end_after_start_keeps_the_start() -> None:
    start = to_session(snippet("cpo", "eRoamingChargingNotificationStart")).value
    ended = to_session(snippet("cpo", "eRoamingChargingNotificationEnd"), previous=start).value
    assert ended.start_date_time == start.start_date_time
    assert ended.end_date_time == datetime(2020, 9, 23, 14, 50, 53, 38000, tzinfo=UTC)
    assert ended.status is SessionStatus.COMPLETED


def test_error_during_a_session_keeps_the_status() -> None:
    running = to_session(snippet("cpo", "eRoamingChargingNotificationStart")).value
    translated = to_session(snippet("cpo", "eRoamingChargingNotificationError"), previous=running)
    assert translated.value.status is SessionStatus.ACTIVE
    assert ("ErrorType", LossKind.LOST) in {(loss.path, loss.kind) for loss in translated.losses}


def test_end_without_consumed_energy_uses_the_meter() -> None:
    raw = snippet("cpo", "eRoamingChargingNotificationEnd")
    raw.pop("ConsumedEnergy")
    raw["MeterValueStart"], raw["MeterValueEnd"] = 100.5, 112.75
    assert to_session(raw).value.kwh == Decimal("12.25")


def test_key_currency() -> None:
    raw = snippet("cpo", "eRoamingChargingNotificationStart")
    assert to_session(raw).value.currency == "EUR"
    assert to_session(raw, rule_set=rules(sessions={"currency": "CHF"})).value.currency == "CHF"


def test_key_remote_start_pending() -> None:
    arguments: dict[str, Any] = {
        "country_code": "DE",
        "party_id": "XYZ",
        "session_id": "S1",
        "hubject_session_id": SESSION_ID,
        "location_id": "LOC1",
        "evse_uid": "3256",
        "connector_id": "1",
        "cdr_token": TOKEN,
        "now": NOW,
    }
    pending = pending_session(**arguments, rules=DEFAULT).value
    assert pending is not None
    data = ocpi_valid(pending, "Session")
    assert (data["status"], data["auth_method"], data["kwh"]) == ("PENDING", "COMMAND", 0)
    assert pending_session(**arguments, rules=rules(sessions={"remote_start_pending": False})).value is None


REMOTE = {"RemoteIdentification": {"EvcoID": "DE-DCB-C12345678-X"}}


def test_auth_method_from_the_identification_table() -> None:
    raw = {**snippet("cpo", "eRoamingChargingNotificationStart"), "Identification": REMOTE}
    assert to_session(raw).value.auth_method is AuthMethod.COMMAND
    changed = rules(tokens={"auth_method_by_identification": {"RemoteIdentification": "AUTH_REQUEST"}})
    assert to_session(raw, rule_set=changed).value.auth_method is AuthMethod.AUTH_REQUEST


# --------------------------------------------------------------------------------------------
# Preview and documentation


def test_preview_both_directions() -> None:
    forward = preview(
        example("session_example_2_short_finished.json"), "ocpi-2.2.1", "oicp", DEFAULT, now=NOW
    )
    assert isinstance(forward.value, ChargingNotificationEnd)
    assert {"EvseID", "SessionID"} <= {
        loss.path for loss in forward.losses if loss.kind is LossKind.DEFAULTED
    }
    with pytest.raises(MappingError) as refused:
        preview(example("session_example_1_simple_start.json"), "ocpi-2.2.1", "oicp", DEFAULT, now=NOW)
    assert refused.value.path == "status"
    progress = {**snippet("emp", "eRoamingChargingNotificationProgress"), "Identification": REMOTE}
    back = preview(progress, "oicp", "ocpi-2.2.1", DEFAULT, now=NOW)
    assert isinstance(back.value, Session)
    assert (back.value.cdr_token.country_code, back.value.cdr_token.party_id) == ("DE", "DCB")
    with pytest.raises(MappingError) as no_owner:  # an RFID UID names no eMSP
        preview(
            snippet("emp", "eRoamingChargingNotificationProgress"), "oicp", "ocpi-2.2.1", DEFAULT, now=NOW
        )
    assert no_owner.value.path == "Identification"
    ocpi_valid(back.value, "Session")
    with pytest.raises(MappingError) as unsupported:
        preview(
            snippet("emp", "eRoamingChargingNotificationProgress"), "oicp", "ocpi-2.1.1", DEFAULT, now=NOW
        )
    assert unsupported.value.path == "target"


def test_rule_table_covers_every_key() -> None:
    keys = {f"sessions.{name}" for name in type(DEFAULT.sessions).model_fields}
    assert keys == {row.yaml_key for row in RULE_TABLE if row.yaml_key}
