"""Every official OCPI 2.2.1 example parses into the right model (explicit table), losslessly,
and what we emit for it validates against the official OCPI 2.2.1 OpenAPI schemas.

Examples: ../shared/specs/ocpi-2.2.1/examples (tag v2.2.1-d2, verbatim, SOURCE.md). Each file is
mapped to its model and to one outcome:

* ``OBJECT`` -- a complete object: it validates, parse -> dump -> parse is lossless (equal models;
  equal JSON modulo number formatting and omitted nulls), and the dump validates against the
  OpenAPI schema of that object.
* ``ENVELOPE`` -- a full ``{data, status_code, status_message, timestamp}`` response: as OBJECT,
  with the envelope checked against ``OCPIResponse`` and ``data`` against its schema.
* ``FRAGMENT`` -- a piece of an object used in the spec text (DisplayText, Hours, EnergyMix).
  Some are wrapped in their parent's field name (``{"energy_mix": {...}}``, ``{"opening_times":
  {...}}``); the value under that key is the fragment. Otherwise as OBJECT.
* ``PATCH`` -- a PATCH body (partial object, 2.2.1: ``last_updated`` required): it passes
  :func:`validate_patch` for its model, and applied to a complete base example the patched fields
  validate against the OpenAPI ``*Patch`` schema.
* ``REJECTED`` -- a defective example (SOURCE.md "Known defects"): rejected, the error naming each
  listed field. The reasons and the lenient alternatives are in test_v2_2_1_defects.py.

``tariffrestriction_example_*.json`` are not bare TariffRestrictions but complete Tariffs showing
restrictions, so they are OBJECTs of Tariff (their restrictions are checked as TariffRestrictions).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from bridge.ocpi.models.common import to_jsonable
from bridge.ocpi.models.patch import apply_patch, validate_patch
from bridge.ocpi.models.v2_2_1 import (
    CDR,
    EVSE,
    Connector,
    Credentials,
    DisplayText,
    EnergyMix,
    Hours,
    Location,
    OcpiResponse,
    Session,
    Tariff,
    TariffRestrictions,
    Token,
    Version,
    VersionDetails,
)
from tests.schema_ocpi import validate_ocpi_221, validate_ocpi_221_response

Kind = Literal["OBJECT", "ENVELOPE", "FRAGMENT", "PATCH", "REJECTED"]


@dataclass(frozen=True)
class Case:
    kind: Kind
    target: Any  # the model class, or a type such as list[Version] / OcpiResponse[Token]
    schema: str | None = None  # OpenAPI schema of the object (of the data for envelopes)
    key: str | None = None  # FRAGMENT: the wrapping field name
    many: bool = False  # the value (or the envelope's data) is an array of ``schema``
    base: tuple[str, tuple[str | int, ...]] | None = None  # PATCH: base example file, path inside it
    rejected_fields: tuple[str, ...] = ()  # REJECTED: dotted paths the error must name


LOCATION_BASE = ("location_example.json", ())
EVSE_BASE = ("location_example.json", ("evses", 0))
CONNECTOR_BASE = ("location_example.json", ("evses", 0, "connectors", 0))
SESSION_BASE = ("session_example_2_short_finished.json", ())
TOKEN_BASE = ("token_example_2_full_rfid.json", ())

TARIFF = Case("OBJECT", Tariff, "Tariff")

TABLE: dict[str, Case] = {
    "cdr_example.json": Case("OBJECT", CDR, "CDR"),
    "credentials_example.json": Case("OBJECT", Credentials, "Credentials"),
    "credentials_example2.json": Case("OBJECT", Credentials, "Credentials"),
    "credentials_example3.json": Case("OBJECT", Credentials, "Credentials"),
    "credentials_example4.json": Case("OBJECT", Credentials, "Credentials"),
    "location_energymix_example_complete.json": Case("FRAGMENT", EnergyMix, "EnergyMix", key="energy_mix"),
    "location_energymix_example_energy_provider.json": Case(
        "FRAGMENT", EnergyMix, "EnergyMix", key="energy_mix"
    ),
    "location_energymix_example_simple.json": Case("FRAGMENT", EnergyMix, "EnergyMix", key="energy_mix"),
    "location_example.json": Case("OBJECT", Location, "Location"),
    "location_example_parking_garage_opening_hours.json": Case("OBJECT", Location, "Location"),
    "location_example_uc2_destination_charger.json": Case("OBJECT", Location, "Location"),
    "location_example_uc3_destination_charger_not_published.json": Case("OBJECT", Location, "Location"),
    "location_example_uc4_limited_visibility.json": Case("OBJECT", Location, "Location"),
    "location_example_uc5_home_charge_point.json": Case("OBJECT", Location, "Location"),
    "location_hours_247_open_exception_closing.json": Case("FRAGMENT", Hours, "Hours"),
    "location_hours_opening_hours_with_exceptional_closing.json": Case("FRAGMENT", Hours, "Hours"),
    "location_hours_opening_hours_with_exceptional_opening.json": Case("FRAGMENT", Hours, "Hours"),
    "location_patch_example_location.json": Case("PATCH", Location, "LocationPatch", base=LOCATION_BASE),
    "location_patch_example_remove_evse.json": Case("PATCH", EVSE, "EVSEPatch", base=EVSE_BASE),
    "location_patch_example_status.json": Case("PATCH", EVSE, "EVSEPatch", base=EVSE_BASE),
    "location_patch_example_tariff.json": Case("PATCH", Connector, "ConnectorPatch", base=CONNECTOR_BASE),
    "location_put_example_add_evse.json": Case(
        "REJECTED",
        EVSE,
        rejected_fields=(
            "connectors.0.power_type",
            "connectors.0.max_voltage",
            "connectors.0.max_amperage",
            "connectors.0.last_updated",
            "physical_reference",
        ),
    ),
    "location_regularhours_example.json": Case("FRAGMENT", Hours, "Hours", key="opening_times"),
    "session_example_1_simple_start.json": Case("OBJECT", Session, "Session"),
    "session_example_2_short_finished.json": Case("OBJECT", Session, "Session"),
    "session_patch_example_charging_period.json": Case("PATCH", Session, "SessionPatch", base=SESSION_BASE),
    "session_patch_example_total_cost.json": Case("PATCH", Session, "SessionPatch", base=SESSION_BASE),
    "tariff_10_025kwh_parking_start.json": TARIFF,
    "tariff_11_not_possible_alt_text.json": TARIFF,
    "tariff_12_025kwh_min_price.json": TARIFF,
    "tariff_13_simple_3hour_5parking.json": TARIFF,
    "tariff_14_step_size.json": TARIFF,
    "tariff_15_reservation_5_euro_per_hour.json": TARIFF,
    "tariff_16_reservation_2_euro_fee_5_euro_per_hour.json": TARIFF,
    "tariff_17_reservation_with_expire_fee.json": TARIFF,
    "tariff_18_reservation_with_expire_time.json": TARIFF,
    "tariff_1_simple_2hour.json": TARIFF,
    "tariff_2_alt_text.json": TARIFF,
    "tariff_3_alt_url.json": TARIFF,
    "tariff_4_complex.json": TARIFF,
    "tariff_5_free_of_charge.json": TARIFF,
    "tariff_6_025kwh_start_max_price.json": TARIFF,
    "tariff_8_simple_025kwh.json": TARIFF,
    "tariff_9_025kwh_start.json": TARIFF,
    "tariff_put_example.json": Case("REJECTED", Tariff, rejected_fields=("last_updated",)),
    "tariffrestriction_example_max_duration.json": TARIFF,
    "tariffrestriction_example_max_power.json": TARIFF,
    "token_example_1_app_user.json": Case("OBJECT", Token, "Token"),
    "token_example_2_full_rfid.json": Case("OBJECT", Token, "Token"),
    "token_patch_example.json": Case("PATCH", Token, "TokenPatch", base=TOKEN_BASE),
    "token_put_example.json": Case("OBJECT", Token, "Token"),
    "transport_and_format_get_token_example.json": Case("ENVELOPE", OcpiResponse[Token], "Token"),
    "transport_and_format_get_token_list_example.json": Case(
        "ENVELOPE", OcpiResponse[list[Token]], "Token", many=True
    ),
    "transport_and_format_version_details_example.json": Case(
        "ENVELOPE", OcpiResponse[VersionDetails], "VersionDetails"
    ),
    "transport_and_format_version_info_example.json": Case(
        "ENVELOPE", OcpiResponse[list[Version]], "Version", many=True
    ),
    "type_displaytext_example.json": Case("FRAGMENT", DisplayText, "DisplayText"),
    "version_details_example.json": Case("OBJECT", VersionDetails, "VersionDetails"),
    "version_details_example2.json": Case("OBJECT", VersionDetails, "VersionDetails"),
    "versions_info_example.json": Case("OBJECT", list[Version], "Version", many=True),
}

PARSED = sorted(name for name, case in TABLE.items() if case.kind in {"OBJECT", "ENVELOPE", "FRAGMENT"})
PATCHES = sorted(name for name, case in TABLE.items() if case.kind == "PATCH")
REJECTED = sorted(name for name, case in TABLE.items() if case.kind == "REJECTED")


@pytest.fixture(scope="module")
def examples_dir(shared_dir: Path) -> Path:
    return shared_dir / "specs" / "ocpi-2.2.1" / "examples"


@cache
def _adapter(target: Any) -> TypeAdapter[Any]:
    return TypeAdapter(target)


def _source(examples_dir: Path, name: str) -> bytes:
    """The bytes to parse: the file, or for a wrapped FRAGMENT the value under its key."""
    raw = (examples_dir / name).read_bytes()
    key = TABLE[name].key
    if key is None:
        return raw
    wrapper = json.loads(raw)
    assert list(wrapper) == [key], f"{name}: expected a single {key!r} wrapper"
    return json.dumps(wrapper[key]).encode()


def _parse(examples_dir: Path, name: str) -> Any:
    return _adapter(TABLE[name].target).validate_json(_source(examples_dir, name))


def _dump(target: Any, value: Any) -> bytes:
    return _adapter(target).dump_json(value, by_alias=True, exclude_none=True)


def _normalized(text: bytes | str) -> Any:
    """JSON with numbers as Decimal (so 2.00 == 2) and null members dropped."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: strip(item) for key, item in value.items() if item is not None}
        if isinstance(value, list):
            return [strip(item) for item in value]
        return value

    return strip(json.loads(text, parse_float=Decimal, parse_int=Decimal))


def _at(value: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


# ---------------------------------------------------------------------------------------------


def test_table_covers_every_example_file(examples_dir: Path) -> None:
    on_disk = {path.name for path in examples_dir.glob("*.json")}
    assert on_disk, "no examples found"
    assert sorted(on_disk - TABLE.keys()) == [], "example files without a table entry"
    assert sorted(TABLE.keys() - on_disk) == [], "table entries without an example file"


@pytest.mark.parametrize("name", PARSED)
def test_example_parses_into_its_model(examples_dir: Path, name: str) -> None:
    case = TABLE[name]
    value = _parse(examples_dir, name)
    if isinstance(case.target, type) and issubclass(case.target, BaseModel):
        assert type(value) is case.target
        assert value.model_extra == {}, "a known example must not leave unknown fields"
    else:
        assert value is not None


@pytest.mark.parametrize("name", PARSED)
def test_example_round_trip_is_lossless(examples_dir: Path, name: str) -> None:
    case = TABLE[name]
    source = _source(examples_dir, name)
    value = _parse(examples_dir, name)
    dumped = _dump(case.target, value)
    assert _adapter(case.target).validate_json(dumped) == value
    assert _normalized(dumped) == _normalized(source)


@pytest.mark.parametrize("name", PARSED)
def test_example_dump_validates_against_openapi(examples_dir: Path, name: str) -> None:
    case = TABLE[name]
    assert case.schema is not None
    dumped = json.loads(_dump(case.target, _parse(examples_dir, name)))
    if case.kind == "ENVELOPE":
        validate_ocpi_221_response(dumped, case.schema, many=case.many)
    elif case.many:
        assert isinstance(dumped, list) and dumped
        for item in dumped:
            validate_ocpi_221(item, case.schema)
    else:
        validate_ocpi_221(dumped, case.schema)


@pytest.mark.parametrize("name", PATCHES)
def test_patch_example_validates_and_applies(examples_dir: Path, name: str) -> None:
    case = TABLE[name]
    assert case.base is not None
    body = json.loads((examples_dir / name).read_bytes())
    patch = validate_patch(case.target, body, require_last_updated=True)
    assert set(patch) == set(body), "every field of the official PATCH is a known, valid field"

    base_file, path = case.base
    base = case.target.model_validate(_at(json.loads((examples_dir / base_file).read_bytes()), path))
    patched = apply_patch(base, patch)
    dumped = to_jsonable(patched)
    # Arrays are replaced wholesale by apply_patch, scalars and objects take the patch's values.
    assert _normalized(json.dumps({key: dumped[key] for key in body})) == _normalized(json.dumps(body))
    assert {key: dumped[key] for key in dumped if key not in body} == {
        key: value for key, value in to_jsonable(base).items() if key not in body
    }
    validate_ocpi_221({key: dumped[key] for key in body}, case.schema or "")
    validate_ocpi_221(dumped, case.target.__name__)


@pytest.mark.parametrize("name", REJECTED)
def test_defective_example_is_rejected_naming_the_fields(examples_dir: Path, name: str) -> None:
    case = TABLE[name]
    with pytest.raises(ValidationError) as caught:
        _parse(examples_dir, name)
    named = {".".join(str(part) for part in error["loc"]) for error in caught.value.errors()}
    assert named == set(case.rejected_fields)


@pytest.mark.parametrize(
    "name", ["tariffrestriction_example_max_duration.json", "tariffrestriction_example_max_power.json"]
)
def test_tariff_restriction_examples_carry_tariff_restrictions(examples_dir: Path, name: str) -> None:
    tariff = _parse(examples_dir, name)
    restrictions = [element.restrictions for element in tariff.elements if element.restrictions]
    assert restrictions, "the example exists to show restrictions"
    for restriction in restrictions:
        assert isinstance(restriction, TariffRestrictions)
        validate_ocpi_221(to_jsonable(restriction), "TariffRestrictions")
    # The last element is the restriction-less fallback (mod_tariffs: put it last).
    assert tariff.elements[-1].restrictions is None
