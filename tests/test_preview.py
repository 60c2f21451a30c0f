"""bridge/preview.py: the ``map`` verb end to end (bridge.cli.main with capsys, and one real process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bridge.cli import main
from bridge.preview import Undetectable, detect, unwrap
from tests.conftest import ROOT
from tests.schema_ocpi import validate_ocpi_221
from tests.schema_oicp import openapi_spelling, snippet_examples, validate_oicp

MAPPINGS = 'locations:\n  hotline_phone_number: "+3212345678"\n'


@pytest.fixture
def mappings(tmp_path: Path) -> Path:
    path = tmp_path / "mappings.yaml"
    path.write_text(MAPPINGS)
    return path


@pytest.fixture
def ex221(shared_dir: Path) -> Path:
    return shared_dir / "specs" / "ocpi-2.2.1" / "examples"


def _snippet(key: str, tmp_path: Path) -> Path:
    side = key.split(":")[0]
    example = next(e for e in snippet_examples(side) if e.key == key)  # type: ignore[arg-type]
    path = tmp_path / "snippet.json"
    path.write_text(example.text)
    return path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, list[str]]:
    code = main(["map", *argv])
    captured = capsys.readouterr()
    output = json.loads(captured.out) if code == 0 else captured.out
    return code, output, captured.err.splitlines()


def test_ocpi_location_to_oicp(capsys: pytest.CaptureFixture[str], ex221: Path, mappings: Path) -> None:
    code, records, warnings = _run(
        capsys, "--to", "oicp", "--mappings", str(mappings), str(ex221 / "location_example.json")
    )
    assert code == 0
    assert [r["EvseID"] for r in records] == ["BE*BEC*E041503001", "BE*BEC*E041503002"]
    for record in records:
        validate_oicp(openapi_spelling(record, "EvseDataRecord", "cpo"), "EvseDataRecord", "cpo")
    assert warnings and all(line.startswith("warning: ") for line in warnings)
    assert "warning: lost evses[0].physical_reference: no OICP field" in warnings


def test_missing_rule_is_a_one_line_error(capsys: pytest.CaptureFixture[str], ex221: Path) -> None:
    code, out, errors = _run(capsys, "--to", "oicp", str(ex221 / "location_example.json"))
    assert code == 1 and out == ""
    assert (
        len(errors) == 1 and errors[0].startswith("error: ") and "locations.hotline_phone_number" in errors[0]
    )


def test_envelope_and_2_1_1_target(capsys: pytest.CaptureFixture[str], ex221: Path, tmp_path: Path) -> None:
    location = json.loads((ex221 / "location_example.json").read_text())
    path = tmp_path / "envelope.json"
    path.write_text(
        json.dumps({"data": [location], "status_code": 1000, "timestamp": "2024-01-01T00:00:00Z"})
    )
    code, converted, _ = _run(capsys, "--to", "ocpi-2.1.1", str(path))
    assert code == 0 and [item["type"] for item in converted] == ["ON_STREET"]  # 2.2.1 → 2.1.1


def test_oicp_push_snippet_to_ocpi(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = _snippet("cpo:snippet:eRoamingPushEvseData:Request", tmp_path)
    code, locations, warnings = _run(capsys, "--to", "ocpi-2.2.1", str(path))
    assert code == 0 and len(locations) == 1
    validate_ocpi_221(locations[0], "Location")
    assert locations[0]["operator"] == {"name": "ABC technologies"}
    assert any("HotlinePhoneNumber" in line for line in warnings)


def test_bare_list_of_oicp_records_is_one_batch(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    record = json.loads(_snippet("emp:snippet:eRoamingPullEVSEData:Response", tmp_path).read_text())[
        "content"
    ][0]
    second = {**record, "EvseID": "DE*XYZ*ETEST2"}
    path = tmp_path / "records.json"
    path.write_text(json.dumps([record, second]))
    code, locations, _ = _run(capsys, "--to", "ocpi-2.2.1", str(path))
    assert code == 0 and [len(location["evses"]) for location in locations] == [2]


def test_status_both_ways(capsys: pytest.CaptureFixture[str], ex221: Path, tmp_path: Path) -> None:
    code, patches, _ = _run(
        capsys, "--to", "ocpi-2.2.1", str(_snippet("emp:snippet:eRoamingPullEVSEStatus:Response", tmp_path))
    )
    assert code == 0 and patches == [
        {
            "uid": "DE*XYZ*ETEST1",
            "evse_id": "DE*XYZ*ETEST1",
            "status": "AVAILABLE",
            "last_updated": patches[0]["last_updated"],
        }
    ]
    path = tmp_path / "patch.json"
    path.write_text(json.dumps({"status": "CHARGING", "evse_id": "DE*ABC*E1"}))
    code, record, _ = _run(capsys, "--to", "oicp", str(path))
    assert code == 0 and record == {"EvseID": "DE*ABC*E1", "EvseStatus": "Occupied"}


@pytest.mark.parametrize(
    ("file", "first_key"),
    [
        ("token_example_2_full_rfid.json", "RFIDMifareFamilyIdentification"),
        ("session_example_2_short_finished.json", "SessionID"),
        ("tariff_8_simple_025kwh.json", "ProductID"),
    ],
)
def test_other_kinds_are_dispatched_to_their_family(
    capsys: pytest.CaptureFixture[str], ex221: Path, file: str, first_key: str
) -> None:
    code, output, warnings = _run(capsys, "--to", "oicp", str(ex221 / file))
    assert code == 0
    assert first_key in (output[0] if isinstance(output, list) else output)
    assert all(line.startswith("warning: ") for line in warnings)


def test_a_family_mapping_error_is_one_line(capsys: pytest.CaptureFixture[str], ex221: Path) -> None:
    code, _, errors = _run(capsys, "--to", "oicp", str(ex221 / "cdr_example.json"))
    assert code == 1 and len(errors) == 1 and "cannot translate cdr_token.uid" in errors[0]


def test_oicp_command_snippet_is_dispatched(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = _snippet("cpo:snippet:eRoamingAuthorizeRemoteStop:Request", tmp_path)
    code, stop, _ = _run(capsys, "--to", "ocpi-2.2.1", str(path))
    assert code == 0 and "session_id" in stop and "response_url" in stop


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "invalid JSON"),
        ('{"hello": "world"}', "cannot tell which kind"),
        ('{"status_code": 2000, "timestamp": "2024-01-01T00:00:00Z"}', "envelope carries no data"),
        ("[1, 2]", "not a JSON object"),
    ],
)
def test_untranslatable_input_exits_1_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "input.json"
    path.write_text(content)
    code, _, errors = _run(capsys, "--to", "oicp", str(path))
    assert code == 1 and len(errors) == 1 and message in errors[0]


def test_same_protocol_is_refused(capsys: pytest.CaptureFixture[str], ex221: Path) -> None:
    code, _, errors = _run(capsys, "--to", "ocpi-2.2.1", str(ex221 / "location_example.json"))
    assert code == 1 and "nothing to translate" in errors[0]


def test_invalid_mappings_file_exits_2(
    capsys: pytest.CaptureFixture[str], ex221: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("locations:\n  accessibility: Open\n")
    code = main(["map", "--to", "oicp", "--mappings", str(bad), str(ex221 / "location_example.json")])
    assert code == 2 and f"{bad}: locations.accessibility" in capsys.readouterr().err


def test_partner_overrides_apply(capsys: pytest.CaptureFixture[str], ex221: Path, tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(
        MAPPINGS + "overrides:\n  - match: {partner: hub}\n    locations: {names_lang: nl}\n"
        "  - match: {operator_id: BE*BEC}\n    locations: {accessibility: Restricted access}\n"
    )
    code, records, _ = _run(
        capsys,
        "--to",
        "oicp",
        "--mappings",
        str(path),
        "--partner",
        "hub",
        str(ex221 / "location_example.json"),
    )
    assert code == 0
    assert records[0]["ChargingStationNames"][0]["lang"] == "nl"
    assert records[0]["Accessibility"] == "Restricted access"  # the scope comes from the input


@pytest.mark.parametrize(
    ("folder", "file", "expected"),
    [
        ("ocpi-2.2.1", "location_example.json", ("location", "ocpi-2.2.1")),
        ("ocpi-2.1.1", "mod_locations__example.json", ("location", "ocpi-2.1.1")),
        ("ocpi-2.2.1", "token_example_1_app_user.json", ("token", "ocpi-2.2.1")),
        ("ocpi-2.1.1", "mod_tokens__example.json", ("token", "ocpi-2.1.1")),
        ("ocpi-2.2.1", "session_example_1_simple_start.json", ("session", "ocpi-2.2.1")),
        (
            "ocpi-2.1.1",
            "mod_sessions__simple_session_example_of_a_just_starting_session.json",
            ("session", "ocpi-2.1.1"),
        ),
        ("ocpi-2.2.1", "cdr_example.json", ("cdr", "ocpi-2.2.1")),
        ("ocpi-2.1.1", "mod_cdrs__example_of_a_cdr.json", ("cdr", "ocpi-2.1.1")),
        ("ocpi-2.2.1", "tariff_4_complex.json", ("tariff", "ocpi-2.2.1")),
        ("ocpi-2.1.1", "mod_tariffs__complex_tariff_example.json", ("tariff", "ocpi-2.1.1")),
        ("ocpi-2.2.1", "location_patch_example_status.json", ("status", "ocpi-2.2.1")),
        ("ocpi-2.2.1", "transport_and_format_get_token_list_example.json", ("token", "ocpi-2.2.1")),
    ],
)
def test_detect_ocpi_examples(shared_dir: Path, folder: str, file: str, expected: tuple[str, str]) -> None:
    data = json.loads((shared_dir / "specs" / folder / "examples" / file).read_text())
    assert detect(unwrap(data)) == expected


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("cpo:snippet:eRoamingPushEvseData:Request", "location"),
        ("emp:snippet:eRoamingPullEVSEData:Response", "location"),
        ("cpo:snippet:eRoamingPushEVSEStatus:Request", "status"),
        ("emp:snippet:eRoamingPullEVSEStatusByID:Response", "status"),
        ("cpo:snippet:eRoamingAuthorizeStart:Request", "token"),
        ("emp:snippet:eRoamingAuthorizeStart:Response", "token"),
        ("emp:snippet:eRoamingPushAuthenticationData:Request", "token"),
        ("cpo:snippet:eRoamingAuthorizeRemoteStart:Request", "command"),
        ("cpo:snippet:eRoamingRemoteReservationStop:Request", "command"),
        ("cpo:snippet:eRoamingChargeDetailRecord:Request", "cdr"),
        ("emp:snippet:eRoamingGetChargeDetailRecord:Response", "cdr"),
        ("cpo:snippet:eRoamingChargingNotificationProgress:Request", "session"),
        ("cpo:snippet:eRoamingPushPricingProductData:Request", "tariff"),
        ("emp:snippet:eRoamingPullEVSEPricing:Response", "tariff"),
    ],
)
def test_detect_oicp_snippets(key: str, kind: str) -> None:
    side = key.split(":")[0]
    example = next(e for e in snippet_examples(side) if e.key == key)  # type: ignore[arg-type]
    assert detect(example.value) == (kind, "oicp")


def test_detect_honours_kind_and_source_and_refuses_the_unknown() -> None:
    assert detect({"status": "CHARGING"}, "status", "ocpi-2.1.1") == ("status", "ocpi-2.1.1")
    with pytest.raises(Undetectable):
        detect({"StatusCode": {"Code": "000"}, "Result": True})
    with pytest.raises(Undetectable):
        detect("text")


def test_real_process_reads_stdin(ex221: Path, mappings: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "map", "--to", "oicp", "--mappings", str(mappings), "-"],
        input=(ex221 / "location_example_uc2_destination_charger.json").read_text(),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    assert [record["EvseID"] for record in json.loads(completed.stdout)] == ["NL*ALF*E000000001"]
    assert "warning: " in completed.stderr


def test_2_1_1_location_scope_comes_from_its_evse_ids(
    capsys: pytest.CaptureFixture[str], shared_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(
        MAPPINGS + "overrides:\n  - match: {operator_id: BE*BEC}\n    locations: {names_lang: nl}\n"
    )
    example = shared_dir / "specs" / "ocpi-2.1.1" / "examples" / "mod_locations__example.json"
    code, records, _ = _run(capsys, "--to", "oicp", "--mappings", str(path), str(example))
    assert code == 0 and records[0]["ChargingStationNames"][0]["lang"] == "nl"
