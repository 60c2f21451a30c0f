"""Every official OCPI 2.1.1 example parses into the right model (explicit table), losslessly.

There is no official OpenAPI or JSON schema for OCPI 2.1.1, so schema validation is not possible;
the examples in ../shared/specs/ocpi-2.1.1/examples (verbatim from the spec text, SOURCE.md) are the
only machine-readable reference. Each file is mapped to its model and to one of three outcomes:

* ``OBJECT`` -- a complete object or envelope: it validates, and parse -> dump -> parse is lossless;
* ``PATCH`` -- a 2.1.1 PATCH body (partial object; ``last_updated`` is not required in 2.1.1):
  ``validate_patch(model, body, require_last_updated=False)`` accepts it and every field present is
  a known field of that model;
* ``REJECTED`` -- a defective example whose missing required fields are rejected, the error naming
  each of them (see test_v2_1_1_defects.py for the reasons).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from bridge.errors import InvalidParameters
from bridge.ocpi.models.common import to_json
from bridge.ocpi.models.patch import validate_patch
from bridge.ocpi.models.v2_1_1 import (
    CDR,
    EVSE,
    Connector,
    Credentials,
    Location,
    OcpiResponse,
    Session,
    Tariff,
    Token,
    Version,
    VersionDetails,
)


class Outcome(Enum):
    OBJECT = "object"
    PATCH = "patch"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Case:
    target: Any  # a model class or any type TypeAdapter accepts (list[Version], OcpiResponse[...])
    outcome: Outcome = Outcome.OBJECT
    missing: frozenset[str] = frozenset()  # REJECTED: the error locations that must be named


EXAMPLES: dict[str, Case] = {
    "credentials__example.json": Case(Credentials),
    "mod_cdrs__example_of_a_cdr.json": Case(CDR),
    "mod_locations__example.json": Case(Location),
    # PATCH .../locations/NL/TNM/1012/3255 -> an EVSE
    "mod_locations__patch_example_a_simple_status_update.json": Case(EVSE, Outcome.PATCH),
    # PATCH .../locations/NL/TNM/1012 -> the Location
    "mod_locations__patch_example_change_the_location_name.json": Case(Location, Outcome.PATCH),
    # PATCH .../locations/NL/TNM/1012/3256 -> an EVSE
    "mod_locations__patch_example_delete_an_evse.json": Case(EVSE, Outcome.PATCH),
    # PATCH .../locations/NL/TNM/1012/3255/2 -> a Connector
    "mod_locations__patch_example_set_tariff_update.json": Case(Connector, Outcome.PATCH),
    # PUT .../locations/NL/TNM/1012/3256 -> an EVSE, incomplete (SOURCE.md Known defects)
    "mod_locations__put_example_add_an_evse.json": Case(
        EVSE,
        Outcome.REJECTED,
        frozenset({
            "last_updated",
            "connectors.0.power_type",
            "connectors.0.voltage",
            "connectors.0.amperage",
            "connectors.0.last_updated",
        }),
    ),
    "mod_sessions__patch_example_update_the_total_cost.json": Case(Session, Outcome.PATCH),
    "mod_sessions__simple_session_example_of_a_just_starting_session.json": Case(Session),
    "mod_sessions__simple_session_example_of_a_short_finished_session.json": Case(Session),
    "mod_tariffs__complex_tariff_example.json": Case(Tariff),
    "mod_tariffs__free_of_charge_tariff_example.json": Case(Tariff),
    # Printed under the PATCH heading (labelled "PUT To URL"), a partial Tariff: a PATCH body.
    "mod_tariffs__put_example_change_tariff_to_2_50.json": Case(Tariff, Outcome.PATCH),
    # A PUT body without the required last_updated (not listed in SOURCE.md; the 2.2.1
    # tariff_put_example.json has the same defect and is listed there).
    "mod_tariffs__put_example_new_tariff_2_euro_per_hour.json": Case(
        Tariff, Outcome.REJECTED, frozenset({"last_updated"})
    ),
    "mod_tariffs__simple_tariff_example_2_euro_per_hour.json": Case(Tariff),
    "mod_tariffs__simple_tariff_example_with_alternative_multi_language_text.json": Case(Tariff),
    "mod_tariffs__simple_tariff_example_with_alternative_url.json": Case(Tariff),
    "mod_tokens__example.json": Case(Token),
    "mod_tokens__patch_example_invalidate_a_token.json": Case(Token, Outcome.PATCH),
    "mod_tokens__put_example_put_a_new_token.json": Case(Token),
    "transport_and_format__example_response_with_an_error_contains_no_data_field.json": Case(
        OcpiResponse[Token]
    ),
    "transport_and_format__example_tokens_get_response_with_list_of_token_objects_emsp_end_point_.json": Case(
        OcpiResponse[list[Token]]
    ),
    "transport_and_format__example_tokens_get_response_with_one_token_object_cpo_end_point_one_ob.json": Case(
        OcpiResponse[Token]
    ),
    "transport_and_format__example_version_details_response_one_object.json": Case(
        OcpiResponse[VersionDetails]
    ),
    "transport_and_format__example_version_information_response_list_of_objects.json": Case(
        OcpiResponse[list[Version]]
    ),
    "version_information_endpoint__example.json": Case(list[Version]),
    "version_information_endpoint__example_2.json": Case(VersionDetails),
}

# Values the models deliberately normalise (documented in test_v2_1_1_defects.py): the JSON path
# and the value the dump carries instead of the original.
NORMALISED: dict[str, dict[str, Any]] = {
    "mod_cdrs__example_of_a_cdr.json": {"tariffs.0.elements.0.price_components.0.price": Decimal("2.00")},
}


@pytest.fixture(scope="module")
def examples_dir(shared_dir: Path) -> Path:
    return shared_dir / "specs" / "ocpi-2.1.1" / "examples"


def _read(examples_dir: Path, name: str) -> bytes:
    return (examples_dir / name).read_bytes()


def validate_patch_fields(model: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """Validate a 2.1.1 PATCH body with :func:`bridge.ocpi.models.patch.validate_patch`.

    2.1.1 does not require ``last_updated`` in a PATCH. ``validate_patch`` keeps unknown fields as
    received, so this helper also asserts that every field is a field of ``model``: a PATCH example
    mapped to the wrong model in the table fails here.
    """
    unknown = set(data) - set(model.model_fields)
    assert not unknown, f"{sorted(unknown)} are not fields of {model.__name__}"
    return validate_patch(model, data, require_last_updated=False)


def _normalise(value: Any) -> Any:
    """JSON numbers compare by value (``0.60`` == ``0.6``); everything else as is."""
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    return Decimal(str(value))


def _set_path(document: Any, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[last] = value


def test_table_covers_every_example_file(examples_dir: Path) -> None:
    on_disk = {p.name for p in examples_dir.glob("*.json")}
    assert on_disk, "no examples found"
    assert set(EXAMPLES) == on_disk, (
        f"missing from the table: {sorted(on_disk - set(EXAMPLES))}; "
        f"not on disk: {sorted(set(EXAMPLES) - on_disk)}"
    )


@pytest.mark.parametrize("name", sorted(n for n, c in EXAMPLES.items() if c.outcome is Outcome.OBJECT))
def test_complete_example_parses_and_round_trips_losslessly(examples_dir: Path, name: str) -> None:
    case = EXAMPLES[name]
    adapter: TypeAdapter[Any] = TypeAdapter(case.target)
    raw = _read(examples_dir, name)

    first = adapter.validate_json(raw)
    dumped = adapter.dump_json(first, by_alias=True, exclude_none=True)
    second = adapter.validate_json(dumped)
    assert second == first

    # The dump says the same as the source, field for field (numbers compared by value).
    expected = _normalise(json.loads(raw))
    for path, value in NORMALISED.get(name, {}).items():
        _set_path(expected, path, value)
    assert _normalise(json.loads(dumped)) == expected


def _is_model(target: Any) -> bool:
    return isinstance(target, type) and issubclass(target, BaseModel)


@pytest.mark.parametrize(
    "name", sorted(n for n, c in EXAMPLES.items() if c.outcome is Outcome.OBJECT and _is_model(c.target))
)
def test_to_json_round_trip_of_model_classes(examples_dir: Path, name: str) -> None:
    case = EXAMPLES[name]
    model = case.target.model_validate_json(_read(examples_dir, name))
    assert case.target.model_validate_json(to_json(model)) == model


@pytest.mark.parametrize("name", sorted(n for n, c in EXAMPLES.items() if c.outcome is Outcome.PATCH))
def test_patch_example_validates_as_partial_object(examples_dir: Path, name: str) -> None:
    case = EXAMPLES[name]
    data = json.loads(_read(examples_dir, name))
    assert isinstance(data, dict) and data
    validated = validate_patch_fields(case.target, data)
    assert set(validated) == set(data)
    # 2.1.1 PATCH bodies lack last_updated; under the 2.2.1 rule they would be refused.
    with pytest.raises(InvalidParameters):
        validate_patch(case.target, data, require_last_updated=True)
    # A PATCH body is not a complete object: proves the table's PATCH label is not a shortcut.
    with pytest.raises(ValidationError):
        case.target.model_validate(data)


@pytest.mark.parametrize("name", sorted(n for n, c in EXAMPLES.items() if c.outcome is Outcome.REJECTED))
def test_defective_example_is_rejected_naming_each_missing_field(examples_dir: Path, name: str) -> None:
    case = EXAMPLES[name]
    with pytest.raises(ValidationError) as info:
        case.target.model_validate_json(_read(examples_dir, name))
    named = {".".join(str(p) for p in error["loc"]) for error in info.value.errors()}
    assert named == set(case.missing)
    for field in case.missing:
        assert field in str(info.value)


def test_datetimes_are_emitted_as_utc_z_without_fractions(examples_dir: Path) -> None:
    session = Session.model_validate_json(
        _read(examples_dir, "mod_sessions__simple_session_example_of_a_short_finished_session.json")
    )
    session = session.model_copy(
        update={"last_updated": session.last_updated.replace(microsecond=654321)}
    )
    document = json.loads(to_json(session))
    assert document["start_datetime"] == "2015-06-29T22:39:09Z"
    assert document["end_datetime"] == "2015-06-29T23:50:16Z"
    assert document["last_updated"] == "2015-06-29T23:09:10Z"
    assert document["charging_periods"][1]["start_date_time"] == "2015-06-29T22:40:54Z"
    assert document["location"]["evses"][0]["last_updated"] == "2015-06-29T23:09:10Z"


def test_datetime_with_offset_is_converted_to_utc() -> None:
    token = Token.model_validate(
        {
            "uid": "012345678",
            "type": "RFID",
            "auth_id": "DE8ACC12E46L89",
            "issuer": "TheNewMotion",
            "valid": True,
            "whitelist": "ALLOWED",
            "last_updated": "2015-06-30T00:39:09.250+02:00",
        }
    )
    assert json.loads(to_json(token))["last_updated"] == "2015-06-29T22:39:09Z"


def test_envelope_timestamp_is_emitted_without_fractions(examples_dir: Path) -> None:
    name = "transport_and_format__example_tokens_get_response_with_one_token_object_cpo_end_point_one_ob.json"
    response = OcpiResponse[Token].model_validate_json(_read(examples_dir, name))
    response.timestamp = response.timestamp.replace(microsecond=999000)
    assert json.loads(to_json(response))["timestamp"] == "2015-06-30T21:59:59Z"
