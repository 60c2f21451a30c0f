"""OCPI 2.1.1 ⇄ 2.2.1: Commands (docs/ocpi.md §5 Commands)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from mappings.ocpi_versions._rules import (
    DEFAULT_COMMAND_TIMEOUT,
    Ctx,
    Rule,
    apply,
    build,
    drop,
    lost_except,
    owner_defaulted,
    same,
)
from mappings.ocpi_versions.tokens import TOKEN_DOWN, TOKEN_UP
from mappings.result import Translation

_RESULT_UP = {
    "ACCEPTED": "ACCEPTED",
    "NOT_SUPPORTED": "NOT_SUPPORTED",
    "REJECTED": "REJECTED",
    "TIMEOUT": "TIMEOUT",
    "UNKNOWN_SESSION": "REJECTED",
}
_RESULT_DOWN = {
    "ACCEPTED": "ACCEPTED",
    "NOT_SUPPORTED": "NOT_SUPPORTED",
    "REJECTED": "REJECTED",
    "TIMEOUT": "TIMEOUT",
    "EVSE_OCCUPIED": "REJECTED",
    "EVSE_INOPERATIVE": "REJECTED",
    "FAILED": "REJECTED",
    "UNKNOWN_RESERVATION": "REJECTED",
    "CANCELED_RESERVATION": "REJECTED",
}


def command_response_up(cr211: v211.CommandResponse) -> Translation[v221.CommandResult]:
    """§5 Commands (ingress): the asynchronous 2.1.1 CommandResponse POSTed to ``response_url`` is a
    2.2.1 CommandResult; UNKNOWN_SESSION has no CommandResultType and becomes REJECTED."""
    t: Translation[Any] = Translation(None)
    lost_except(cr211, {"result"}, "", t, "no such field")
    result = _RESULT_UP[cr211.result.value]
    if result != cr211.result.value:
        t.changed("result", f"{cr211.result.value} has no CommandResultType; sent as {result}")
    t.value = build(v221.CommandResult, {"result": result}, "")
    return t


def command_response_sync_up(
    cr211: v211.CommandResponse, *, timeout: int = DEFAULT_COMMAND_TIMEOUT
) -> Translation[v221.CommandResponse]:
    """§5 Commands (ingress): the synchronous 2.1.1 answer lacks ``timeout`` (defaulted); TIMEOUT is
    no CommandResponseType in 2.2.1 and becomes REJECTED."""
    t: Translation[Any] = Translation(None)
    lost_except(cr211, {"result"}, "", t, "no such field")
    result = cr211.result.value
    if cr211.result is v211.CommandResponseType.TIMEOUT:
        result = "REJECTED"
        t.changed("result", "TIMEOUT is no 2.2.1 CommandResponseType; sent as REJECTED")
    t.defaulted("timeout", f"{timeout} s (2.1.1 has no timeout)")
    t.value = build(v221.CommandResponse, {"result": result, "timeout": timeout}, "")
    return t


def command_result_down(r221: v221.CommandResult) -> Translation[v211.CommandResponse]:
    """§5 Commands (egress): CommandResult -> 2.1.1 CommandResponse{result}: EVSE_OCCUPIED,
    EVSE_INOPERATIVE, FAILED, UNKNOWN_RESERVATION, CANCELED_RESERVATION -> REJECTED; TIMEOUT kept."""
    t: Translation[Any] = Translation(None)
    lost_except(r221, {"result"}, "", t, "2.1.1 CommandResponse is {result} only")
    result = _RESULT_DOWN[r221.result.value]
    if result != r221.result.value:
        t.changed("result", f"{r221.result.value} has no 2.1.1 value; sent as {result}")
    t.value = build(v211.CommandResponse, {"result": result}, "")
    return t


def command_response_down(cr221: v221.CommandResponse) -> Translation[v211.CommandResponse]:
    """The synchronous 2.2.1 CommandResponse -> 2.1.1 ``{result}``; ``timeout`` and ``message`` lost."""
    t: Translation[Any] = Translation(None)
    lost_except(cr221, {"result"}, "", t, "2.1.1 CommandResponse is {result} only")
    t.value = build(v211.CommandResponse, {"result": cr221.result.value}, "")
    return t


def cancel_reservation_down(
    cr221: v221.CancelReservation, *, timeout: int = DEFAULT_COMMAND_TIMEOUT
) -> Translation[v221.CommandResponse]:
    """§5 Commands: 2.1.1 has no CANCEL_RESERVATION, so a 2.1.1 CPO cannot be asked: the answer
    to the 2.2.1 caller is NOT_SUPPORTED (the request itself is lost)."""
    t: Translation[Any] = Translation(None)
    t.lost("", f"CANCEL_RESERVATION of {cr221.reservation_id!r}: no such command in 2.1.1")
    t.value = build(v221.CommandResponse, {"result": "NOT_SUPPORTED", "timeout": timeout}, "")
    return t


def _command_token_down(
    value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]
) -> dict[str, Any]:
    return {"token": apply(TOKEN_DOWN, value, path, t, ctx)}


def _command_token_up(
    value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]
) -> dict[str, Any]:
    owner_defaulted(t, path)
    return {
        "token": {
            "country_code": ctx.country_code,
            "party_id": ctx.party_id,
            **apply(TOKEN_UP, value, path, t, ctx),
        }
    }


def _reservation_id_down(
    value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]
) -> dict[str, Any]:
    t.changed(path, f"{value!r} sent as the integer {ctx.reservation_id_int} (keep the mapping)")
    return {"reservation_id": ctx.reservation_id_int}


_NO_REF = "2.1.1 commands have no authorization_reference"
START_SESSION_DOWN: dict[str, Rule] = {
    "response_url": same(),
    "token": _command_token_down,
    "location_id": same(),
    "evse_uid": same(),
    "connector_id": drop("2.1.1 StartSession has no connector_id"),
    "authorization_reference": drop(_NO_REF),
}
START_SESSION_UP: dict[str, Rule] = {
    "response_url": same(),
    "token": _command_token_up,
    "location_id": same(),
    "evse_uid": same(),
}
RESERVE_NOW_DOWN: dict[str, Rule] = {
    "response_url": same(),
    "token": _command_token_down,
    "expiry_date": same(),
    "reservation_id": _reservation_id_down,
    "location_id": same(),
    "evse_uid": same(),
    "authorization_reference": drop(_NO_REF),
}
RESERVE_NOW_UP: dict[str, Rule] = {
    "response_url": same(),
    "token": _command_token_up,
    "expiry_date": same(),
    "reservation_id": lambda value, *args: {"reservation_id": str(value)},
    "location_id": same(),
    "evse_uid": same(),
}
STOP_SESSION: dict[str, Rule] = {"response_url": same(), "session_id": same()}
UNLOCK_CONNECTOR: dict[str, Rule] = {
    "response_url": same(),
    "location_id": same(),
    "evse_uid": same(),
    "connector_id": same(),
}


def start_session_down(ss221: v221.StartSession) -> Translation[v211.StartSession]:
    """§5 Commands (egress): token down (APP_USER -> OTHER ...); ``connector_id`` and
    ``authorization_reference`` dropped."""
    t: Translation[Any] = Translation(None)
    t.value = build(v211.StartSession, apply(START_SESSION_DOWN, ss221, "", t, Ctx()), "")
    return t


def start_session_up(
    ss211: v211.StartSession, *, country_code: str, party_id: str
) -> Translation[v221.StartSession]:
    """Commands (ingress from a 2.1.1 eMSP): the token gets the eMSP's owner fields (the connection)."""
    t: Translation[Any] = Translation(None)
    t.value = build(v221.StartSession, apply(START_SESSION_UP, ss211, "", t, Ctx(country_code, party_id)), "")
    return t


def reserve_now_down(rn221: v221.ReserveNow, *, reservation_id_int: int) -> Translation[v211.ReserveNow]:
    """§5 Commands (egress): 2.1.1 ``reservation_id`` is an int: the caller keeps the CiString <->
    int mapping table and passes the int; ``authorization_reference`` dropped."""
    t: Translation[Any] = Translation(None)
    ctx = Ctx(reservation_id_int=reservation_id_int)
    t.value = build(v211.ReserveNow, apply(RESERVE_NOW_DOWN, rn221, "", t, ctx), "")
    return t


def reserve_now_up(
    rn211: v211.ReserveNow, *, country_code: str, party_id: str
) -> Translation[v221.ReserveNow]:
    """Commands (ingress from a 2.1.1 eMSP): the int ``reservation_id`` becomes its decimal string."""
    t: Translation[Any] = Translation(None)
    t.value = build(v221.ReserveNow, apply(RESERVE_NOW_UP, rn211, "", t, Ctx(country_code, party_id)), "")
    return t


def stop_session_down(ss221: v221.StopSession) -> Translation[v211.StopSession]:
    """StopSession: the same fields in both versions."""
    t: Translation[Any] = Translation(None)
    t.value = build(v211.StopSession, apply(STOP_SESSION, ss221, "", t, Ctx()), "")
    return t


def stop_session_up(ss211: v211.StopSession) -> Translation[v221.StopSession]:
    """StopSession: the same fields in both versions (session_id at most 36 characters)."""
    t: Translation[Any] = Translation(None)
    t.value = build(v221.StopSession, apply(STOP_SESSION, ss211, "", t, Ctx()), "")
    return t


def unlock_connector_down(uc221: v221.UnlockConnector) -> Translation[v211.UnlockConnector]:
    """UnlockConnector: the same fields in both versions."""
    t: Translation[Any] = Translation(None)
    t.value = build(v211.UnlockConnector, apply(UNLOCK_CONNECTOR, uc221, "", t, Ctx()), "")
    return t


def unlock_connector_up(uc211: v211.UnlockConnector) -> Translation[v221.UnlockConnector]:
    """UnlockConnector: the same fields; 2.1.1 ids of 37-39 characters do not fit 2.2.1 (MappingError)."""
    t: Translation[Any] = Translation(None)
    t.value = build(v221.UnlockConnector, apply(UNLOCK_CONNECTOR, uc211, "", t, Ctx()), "")
    return t
