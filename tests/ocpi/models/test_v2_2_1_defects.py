"""The known defects of the official OCPI 2.2.1 examples (specs/ocpi-2.2.1/SOURCE.md), one test each.

The files are never edited (CC BY-ND, and SOURCE.md says "handle them in tests"). Where a test
changes a parsed copy in memory, it does so to isolate one decision from the file's other defects.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bridge.errors import InvalidParameters
from bridge.ocpi.models.common import to_jsonable
from bridge.ocpi.models.patch import validate_patch
from bridge.ocpi.models.v2_2_1 import (
    EVSE,
    Connector,
    Location,
    OcpiResponse,
    Session,
    Tariff,
    Token,
    VersionDetails,
    VersionNumber,
)


@pytest.fixture(scope="module")
def examples_dir(shared_dir: Path) -> Path:
    return shared_dir / "specs" / "ocpi-2.2.1" / "examples"


def _load(examples_dir: Path, name: str) -> Any:
    return json.loads((examples_dir / name).read_bytes())


def _named(error: ValidationError) -> set[str]:
    return {".".join(str(part) for part in item["loc"]) for item in error.errors()}


def test_add_evse_put_example_is_rejected_naming_every_bad_field(examples_dir: Path) -> None:
    """``location_put_example_add_evse.json``: decision = **rejection**, the error naming each field.

    The file cannot be a valid EVSE whatever we do with ``floor``: its connector lacks the required
    ``power_type``, ``max_voltage``, ``max_amperage`` and ``last_updated``, which we cannot invent.
    ``physical_reference`` is the number 3 where the spec says string(16): string fields take no
    numbers (models.locations.EVSE docstring). ``floor`` itself is not an error (see next test).
    """
    raw = (examples_dir / "location_put_example_add_evse.json").read_bytes()
    with pytest.raises(ValidationError) as caught:
        EVSE.model_validate_json(raw)
    assert _named(caught.value) == {
        "connectors.0.power_type",
        "connectors.0.max_voltage",
        "connectors.0.max_amperage",
        "connectors.0.last_updated",
        "physical_reference",
    }
    assert "floor" not in _named(caught.value)

    with pytest.raises(InvalidParameters) as as_patch:
        validate_patch(EVSE, json.loads(raw), require_last_updated=True)
    assert as_patch.value.field == "connectors.0.power_type"
    assert as_patch.value.status_code == 2001


def test_add_evse_floor_is_kept_as_an_unknown_field_not_read_as_floor_level(examples_dir: Path) -> None:
    """``floor`` (instead of ``floor_level``) is not a 2.2.1 field: it is kept as an unknown extra
    field and forwarded as received, never read as ``floor_level``; a number in the string field
    ``physical_reference`` is rejected on its own, naming it.

    To isolate these two decisions, the parsed copy gets the connector fields it lacks.
    """
    data = _load(examples_dir, "location_put_example_add_evse.json")
    data["connectors"][0].update(
        power_type="AC_3_PHASE", max_voltage=230, max_amperage=16, last_updated=data["last_updated"]
    )
    with pytest.raises(ValidationError) as caught:
        EVSE.model_validate(data)
    assert _named(caught.value) == {"physical_reference"}
    assert caught.value.errors()[0]["type"] == "string_type"

    data["physical_reference"] = "3"
    evse = EVSE.model_validate(data)
    assert evse.floor_level is None
    assert evse.model_extra == {"floor": -1}
    assert to_jsonable(evse)["floor"] == -1
    assert "floor_level" not in to_jsonable(evse)


def test_tariff_put_without_last_updated_rejected_as_tariff_valid_as_partial(examples_dir: Path) -> None:
    """``tariff_put_example.json`` has no ``last_updated``: as a full Tariff (a PUT body must carry
    every required field) it is rejected naming ``last_updated``; as a partial object it is valid.
    2.2.1 has no Tariff PATCH, so requiring last_updated there is the caller's choice."""
    raw = (examples_dir / "tariff_put_example.json").read_bytes()
    with pytest.raises(ValidationError) as caught:
        Tariff.model_validate_json(raw)
    assert _named(caught.value) == {"last_updated"}
    assert caught.value.errors()[0]["type"] == "missing"

    partial = validate_patch(Tariff, json.loads(raw), require_last_updated=False)
    assert set(partial) == {"country_code", "party_id", "id", "currency", "elements"}
    assert partial["elements"][0].price_components[0].step_size == 300

    with pytest.raises(InvalidParameters) as required:
        validate_patch(Tariff, json.loads(raw), require_last_updated=True)
    assert required.value.field == "last_updated"


@pytest.mark.parametrize("name", ["version_details_example.json", "version_details_example2.json"])
def test_version_details_saying_2_2_parse_as_the_deprecated_version(examples_dir: Path, name: str) -> None:
    """``version_details_example2.json`` (and its sibling) say ``"2.2"``: decision = accept.
    ``2.2`` is a (deprecated) VersionNumber value of the 2.2.1 spec, so it parses exactly, as
    VersionNumber.V2_2 and not as 2.2.1; version negotiation simply never chooses it."""
    details = VersionDetails.model_validate_json((examples_dir / name).read_bytes())
    assert details.version is VersionNumber.V2_2
    assert details.version != VersionNumber.V2_2_1
    assert to_jsonable(details)["version"] == "2.2"


def test_envelope_version_details_saying_2_2_parse_too(examples_dir: Path) -> None:
    raw = (examples_dir / "transport_and_format_version_details_example.json").read_bytes()
    envelope = OcpiResponse[VersionDetails].model_validate_json(raw)
    assert envelope.data is not None and envelope.data.version is VersionNumber.V2_2


@pytest.mark.parametrize(
    ("name", "model", "missing"),
    [
        ("location_patch_example_location.json", Location, {"country_code", "id", "publish", "coordinates"}),
        ("location_patch_example_status.json", EVSE, {"uid", "connectors"}),
        ("location_patch_example_remove_evse.json", EVSE, {"uid", "connectors"}),
        ("location_patch_example_tariff.json", Connector, {"id", "standard", "max_voltage"}),
        ("session_patch_example_charging_period.json", Session, {"id", "cdr_token", "status"}),
        ("session_patch_example_total_cost.json", Session, {"id", "kwh", "currency"}),
        ("token_patch_example.json", Token, {"uid", "type", "issuer"}),
    ],
)
def test_patch_examples_are_partial_objects(
    examples_dir: Path, name: str, model: Any, missing: set[str]
) -> None:
    """The ``*_patch_example*.json`` files are PATCH bodies: invalid as complete objects (the errors
    name the missing required fields), valid through validate_patch with last_updated required."""
    data = _load(examples_dir, name)
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    assert missing <= _named(caught.value)
    assert {error["type"] for error in caught.value.errors()} == {"missing"}
    assert set(validate_patch(model, data, require_last_updated=True)) == set(data)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("location_energymix_example_complete.json", "energy_mix"),
        ("location_energymix_example_energy_provider.json", "energy_mix"),
        ("location_energymix_example_simple.json", "energy_mix"),
        ("location_regularhours_example.json", "opening_times"),
    ],
)
def test_wrapped_fragments_are_a_location_field(examples_dir: Path, name: str, key: str) -> None:
    """Fragment files wrapped in a Location field name are neither complete Locations nor valid
    PATCH bodies (no last_updated); only the value under the key is an object (see the table)."""
    data = _load(examples_dir, name)
    assert list(data) == [key]
    with pytest.raises(ValidationError):
        Location.model_validate(data)
    with pytest.raises(InvalidParameters) as caught:
        validate_patch(Location, data, require_last_updated=True)
    assert caught.value.field == "last_updated"
    assert set(validate_patch(Location, data, require_last_updated=False)) == {key}
