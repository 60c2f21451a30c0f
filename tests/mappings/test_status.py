"""mappings/status.py: OCPI EVSE status ⇄ OICP EvseStatus tables, actions, notes and the preview."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bridge.errors import MappingError
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models.v2_2_1 import Status
from bridge.oicp.models.common import to_jsonable
from bridge.oicp.models.evse_status import EvseStatus, EvseStatusRecord
from mappings.result import LossKind
from mappings.rules import MappingRules, load_rules
from mappings.status import OicpStatus, StatusAction, preview, status_to_ocpi, status_to_oicp
from tests.schema_ocpi import validate_ocpi_221
from tests.schema_oicp import snippet_examples, validate_oicp

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
DEFAULTS = MappingRules()

TO_OICP = {
    Status.AVAILABLE: OicpStatus(StatusAction.PUBLISH, EvseStatus.AVAILABLE),
    Status.CHARGING: OicpStatus(StatusAction.PUBLISH, EvseStatus.OCCUPIED),
    Status.BLOCKED: OicpStatus(StatusAction.PUBLISH, EvseStatus.OCCUPIED),
    Status.RESERVED: OicpStatus(StatusAction.PUBLISH, EvseStatus.RESERVED),
    Status.INOPERATIVE: OicpStatus(StatusAction.PUBLISH, EvseStatus.OUT_OF_SERVICE),
    Status.OUTOFORDER: OicpStatus(StatusAction.PUBLISH, EvseStatus.OUT_OF_SERVICE),
    Status.UNKNOWN: OicpStatus(StatusAction.PUBLISH, EvseStatus.UNKNOWN),
    Status.REMOVED: OicpStatus(StatusAction.DELETE),
    Status.PLANNED: OicpStatus(StatusAction.SKIP),
}
TO_OCPI = {
    EvseStatus.AVAILABLE: Status.AVAILABLE,
    EvseStatus.OCCUPIED: Status.CHARGING,
    EvseStatus.RESERVED: Status.RESERVED,
    EvseStatus.OUT_OF_SERVICE: Status.INOPERATIVE,
    EvseStatus.EVSE_NOT_FOUND: Status.REMOVED,
    EvseStatus.UNKNOWN: Status.UNKNOWN,
}


@pytest.mark.parametrize(("ocpi", "expected"), TO_OICP.items())
def test_default_table_to_oicp(ocpi: Status, expected: OicpStatus) -> None:
    assert status_to_oicp(ocpi, DEFAULTS).value == expected


@pytest.mark.parametrize(("oicp", "expected"), TO_OCPI.items())
def test_default_table_to_ocpi(oicp: EvseStatus, expected: Status) -> None:
    result = status_to_ocpi(oicp, DEFAULTS)
    assert result.value is expected and result.losses == []


def test_2_1_1_status_and_plain_strings_are_accepted() -> None:
    assert status_to_oicp(v211.Status.CHARGING, DEFAULTS).value.status is EvseStatus.OCCUPIED
    assert status_to_oicp("RESERVED", DEFAULTS).value.status is EvseStatus.RESERVED
    assert status_to_ocpi("OutOfService", DEFAULTS).value is Status.INOPERATIVE


@pytest.mark.parametrize("ocpi", [Status.BLOCKED, Status.OUTOFORDER])
def test_a_status_that_comes_back_different_is_noted(ocpi: Status) -> None:
    losses = status_to_oicp(ocpi, DEFAULTS, path="evses[0].status").losses
    assert [(loss.path, loss.kind) for loss in losses] == [("evses[0].status", LossKind.CHANGED)]


def test_round_trip_keeps_statuses_without_note() -> None:
    for ocpi in (Status.AVAILABLE, Status.CHARGING, Status.RESERVED, Status.INOPERATIVE, Status.UNKNOWN):
        there = status_to_oicp(ocpi, DEFAULTS)
        assert there.losses == []
        assert status_to_ocpi(there.value.status, DEFAULTS).value is ocpi


def test_yaml_to_oicp_row_changes_blocked() -> None:
    rules = load_rules({"status": {"to_oicp": {"BLOCKED": "OutOfService"}}}).resolve()
    assert status_to_oicp(Status.BLOCKED, rules).value.status is EvseStatus.OUT_OF_SERVICE
    assert status_to_oicp(Status.CHARGING, rules).value.status is EvseStatus.OCCUPIED  # other rows kept


def test_yaml_to_oicp_row_can_become_an_action() -> None:
    rules = load_rules({"status": {"to_oicp": {"UNKNOWN": "skip", "OUTOFORDER": "delete"}}}).resolve()
    assert status_to_oicp(Status.UNKNOWN, rules).value.action is StatusAction.SKIP
    assert status_to_oicp(Status.OUTOFORDER, rules).value.action is StatusAction.DELETE


def test_yaml_to_ocpi_row_changes_out_of_service() -> None:
    rules = load_rules({"status": {"to_ocpi": {"OutOfService": "OUTOFORDER"}}}).resolve()
    assert status_to_ocpi(EvseStatus.OUT_OF_SERVICE, rules).value is Status.OUTOFORDER
    assert status_to_oicp(Status.OUTOFORDER, rules).losses == []  # now it comes back the same


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"status": {"to_oicp": {"BLOCKED": "EvseNotFound"}}}, "status.to_oicp"),
        ({"status": {"to_oicp": {"BLOCKED": "Busy"}}}, "status.to_oicp"),
        ({"status": {"to_ocpi": {"Busy": "AVAILABLE"}}}, "status.to_ocpi"),
        ({"status": {"to_ocpi": {"Available": "FREE"}}}, "status.to_ocpi"),
    ],
)
def test_invalid_rows_are_refused_naming_the_key(data: dict[str, Any], where: str) -> None:
    with pytest.raises(MappingError) as raised:
        load_rules(data)
    assert raised.value.path.startswith(where)


def test_unknown_status_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match="not an OCPI EVSE status"):
        status_to_oicp("FREE", DEFAULTS, path="evses[2].status")
    with pytest.raises(MappingError, match="not an OICP EvseStatus"):
        status_to_ocpi("Free", DEFAULTS)


def test_preview_ocpi_patch_to_status_record(shared_dir: Path) -> None:
    patch = json.loads(
        (shared_dir / "specs/ocpi-2.2.1/examples/location_patch_example_status.json").read_text()
    )
    result = preview({**patch, "evse_id": "BE-BEC-E041503001"}, "ocpi-2.2.1", "oicp", DEFAULTS, now=NOW)
    assert isinstance(result.value, EvseStatusRecord)
    body = to_jsonable(result.value)
    push = {
        "ActionType": "update",
        "OperatorEvseStatus": {"OperatorID": "BE*BEC", "EvseStatusRecord": [body]},
    }
    validate_oicp(push, "eRoamingPushEvseStatus", "cpo")
    assert body == {"EvseID": "BE*BEC*E041503001", "EvseStatus": "Occupied"}


def test_preview_ocpi_without_evse_id_and_with_action() -> None:
    missing = preview({"status": "AVAILABLE"}, "ocpi-2.2.1", "oicp", DEFAULTS, now=NOW)
    assert missing.value == {"EvseStatus": EvseStatus.AVAILABLE} and missing.losses[0].path == "evse_id"
    removed = preview({"status": "REMOVED", "evse_id": "DE*ABC*E1"}, "ocpi-2.2.1", "oicp", DEFAULTS, now=NOW)
    assert removed.value == {"action": "delete", "EvseID": "DE*ABC*E1"}


@pytest.mark.parametrize(
    "key",
    [
        "cpo:snippet:eRoamingPushEVSEStatus:Request",
        "emp:snippet:eRoamingPullEVSEStatus:Response",
        "emp:snippet:eRoamingPullEVSEStatusByID:Response",
        "emp:snippet:eRoamingPullEVSEStatusByOperatorID:Response",
    ],
)
def test_preview_every_oicp_status_snippet_to_ocpi(key: str) -> None:
    side = key.split(":")[0]
    example = next(e for e in snippet_examples(side) if e.key == key)  # type: ignore[arg-type]
    result = preview(example.value, "oicp", "ocpi-2.2.1", DEFAULTS, now=NOW)
    patches = result.value if isinstance(result.value, list) else [result.value]
    assert patches, key
    for patch in patches:
        assert patch["status"] in {status.value for status in Status}
        assert patch["uid"] == patch["evse_id"]
        validate_ocpi_221({"status": patch["status"], "last_updated": "2024-05-01T12:00:00Z"}, "EVSEPatch")


def test_preview_rejects_same_protocol() -> None:
    with pytest.raises(MappingError):
        preview({"status": "AVAILABLE"}, "ocpi-2.2.1", "ocpi-2.1.1", DEFAULTS, now=NOW)
