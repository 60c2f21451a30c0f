"""Shared pieces of the OICP transport tests: the Hubject simulator set-up, official examples
adapted to the registered partners, and a fake clock (no test waits for real time)."""

from __future__ import annotations

import asyncio
import copy
import socket
from functools import lru_cache
from typing import Any

from bridge.simulators.hubject import HubjectSimulator
from tests.conftest import SHARED
from tests.schema_oicp import snippet_examples

SPECS = SHARED / "specs" / "oicp-2.3"
OPERATOR = "DE*ABC"
OPERATOR_NAME = "ABC technologies"
OTHER_OPERATOR = "DE*XYZ"
PROVIDER = "DE-DCB"
EVSE = "DE*ABC*ETEST1"
UID = "1234ABCD"
EVCO = "DE-DCB-C12345678-X"


def loopback_socket() -> socket.socket:
    """A TCP socket bound to a free loopback port, created with ``IPPROTO_TCP``.

    asyncio sets TCP_NODELAY on accepted connections only when the listening socket's ``proto``
    is IPPROTO_TCP; a socket made with proto 0 (as ``bridge.simulators.bind_loopback`` does)
    stalls every request ~40 ms on Nagle + delayed ACK.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class FakeClock:
    """Monotonic seconds that only move when someone sleeps (client backoff, limiter waits)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@lru_cache(maxsize=4)
def _snippets(side: str) -> dict[str, Any]:
    examples = snippet_examples("cpo" if side == "cpo" else "emp")
    return {example.key.split(":", 2)[2]: example.value for example in examples if example.value is not None}


def snippet(side: str, name: str) -> Any:
    """A copy of an official code-snippet example, e.g. ``snippet("cpo", "eRoamingPushEvseData:Request")``."""
    return copy.deepcopy(_snippets(side)[name])


def evse_record(evse_id: str = EVSE) -> dict[str, Any]:
    """The official PushEvseData example record (06_CPO_Code_Snippets) with its EvseID set to
    one of ``DE*ABC`` (the example's own ``DE*XYZ*ETEST1`` belongs to another operator)."""
    record: dict[str, Any] = snippet("cpo", "eRoamingPushEvseData:Request")["OperatorEvseData"][
        "EvseDataRecord"
    ][0]
    record["EvseID"] = evse_id
    for key in ("deltaType", "lastUpdate"):
        record.pop(key)
    return record


def push_evse_data_body(action: str, *records: dict[str, Any], operator: str = OPERATOR) -> dict[str, Any]:
    return {
        "ActionType": action,
        "OperatorEvseData": {
            "OperatorID": operator,
            "OperatorName": OPERATOR_NAME,
            "EvseDataRecord": list(records),
        },
    }


def push_evse_status_body(action: str, statuses: dict[str, str], operator: str = OPERATOR) -> dict[str, Any]:
    return {
        "ActionType": action,
        "OperatorEvseStatus": {
            "OperatorID": operator,
            "OperatorName": OPERATOR_NAME,
            "EvseStatusRecord": [{"EvseID": evse, "EvseStatus": status} for evse, status in statuses.items()],
        },
    }


def cdr_body(session_id: str, evse_id: str = EVSE) -> dict[str, Any]:
    """The official ChargeDetailRecord example with one identification and a real SessionID."""
    cdr: dict[str, Any] = snippet("cpo", "eRoamingChargeDetailRecord:Request")
    cdr["SessionID"] = session_id
    cdr["EvseID"] = evse_id
    cdr["Identification"] = {"RFIDMifareFamilyIdentification": {"UID": UID}}
    return cdr


def make_simulator(**options: Any) -> HubjectSimulator:
    settings: dict[str, Any] = {
        "operators": {OPERATOR: OPERATOR_NAME, OTHER_OPERATOR: "XYZ Technologies"},
        "providers": {PROVIDER},
        "schemas_dir": SPECS,
        "push_delay": 0,
    }
    settings.update(options)
    return HubjectSimulator(**settings)
