"""OCPI 2.1.1 ⇄ 2.2.1 translation (mappings.ocpi_versions), checked against the official examples.

* every 2.1.1 example goes up and validates as 2.2.1 (explicit table, covering every file);
* every complete 2.2.1 example of locations, sessions, CDRs, tariffs and tokens goes down and
  validates as 2.1.1, or is refused with the MappingError the table in docs/ocpi.md §5 prescribes;
* down-then-up keeps every field that survives, and the losses name every field that does not;
* each row of the table in docs/ocpi.md §5 has its own asserted tests (classes ``TestRow*`` in
  test_ocpi_versions_locations.py and test_ocpi_versions_transactions.py). The "Auth header" and
  "Headers" rows are transport (no object is translated) and belong to the OCPI client/server tests.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from bridge.errors import InvalidParameters, MappingError
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.models.common import to_json
from bridge.ocpi.models.patch import validate_patch
from mappings import ocpi_versions as ov
from mappings.result import Loss, LossKind, Translation

CC, PID, TZ = "BE", "BEC", "Europe/Brussels"


@pytest.fixture(scope="module")
def ex211(shared_dir: Path) -> Path:
    return shared_dir / "specs" / "ocpi-2.1.1" / "examples"


@pytest.fixture(scope="module")
def ex221(shared_dir: Path) -> Path:
    return shared_dir / "specs" / "ocpi-2.2.1" / "examples"


def _load(folder: Path, name: str) -> Any:
    return json.loads((folder / name).read_bytes())


def no_token(auth_id: str) -> v221.Token | None:
    return None


def _valid_on_the_wire(value: BaseModel) -> None:
    """The translated object survives serialization and validation in its own version."""
    assert type(value).model_validate_json(to_json(value)) == value


# --------------------------------------------------------------------------------------------
# Every 2.1.1 example goes up

Up = Callable[[Any], Translation[Any] | list[Translation[Any]]]


def _refused(obj: Any) -> Translation[Any]:
    raise AssertionError("a refused example never reaches a translation")


UP: dict[str, tuple[type[BaseModel], Up | None]] = {
    "credentials__example.json": (v211.Credentials, lambda c: ov.credentials_up(c, role=v221.Role.CPO)),
    "mod_cdrs__example_of_a_cdr.json": (
        v211.CDR,
        lambda c: ov.cdr_up(c, country_code=CC, party_id=PID, token_lookup=no_token),
    ),
    "mod_locations__example.json": (
        v211.Location,
        lambda x: ov.location_up(x, country_code=CC, party_id=PID, time_zone_default=TZ),
    ),
    "mod_locations__patch_example_a_simple_status_update.json": (v211.EVSE, None),
    "mod_locations__patch_example_change_the_location_name.json": (v211.Location, None),
    "mod_locations__patch_example_delete_an_evse.json": (v211.EVSE, None),
    "mod_locations__patch_example_set_tariff_update.json": (v211.Connector, None),
    # Not a valid 2.1.1 EVSE (test_v2_1_1_defects.py): refused at ingress, nothing to translate.
    "mod_locations__put_example_add_an_evse.json": (v211.EVSE, _refused),
    "mod_sessions__patch_example_update_the_total_cost.json": (v211.Session, None),
    "mod_sessions__simple_session_example_of_a_just_starting_session.json": (
        v211.Session,
        lambda s: ov.session_up(s, country_code=CC, party_id=PID, token_lookup=no_token),
    ),
    "mod_sessions__simple_session_example_of_a_short_finished_session.json": (
        v211.Session,
        lambda s: ov.session_up(s, country_code=CC, party_id=PID, token_lookup=no_token),
    ),
    **{
        name: (v211.Tariff, lambda x: ov.tariff_up(x, country_code=CC, party_id=PID))
        for name in (
            "mod_tariffs__complex_tariff_example.json",
            "mod_tariffs__free_of_charge_tariff_example.json",
            "mod_tariffs__simple_tariff_example_2_euro_per_hour.json",
            "mod_tariffs__simple_tariff_example_with_alternative_multi_language_text.json",
            "mod_tariffs__simple_tariff_example_with_alternative_url.json",
        )
    },
    "mod_tariffs__put_example_change_tariff_to_2_50.json": (v211.Tariff, None),
    # PUT without last_updated (test_v2_1_1_defects.py): refused at ingress.
    "mod_tariffs__put_example_new_tariff_2_euro_per_hour.json": (v211.Tariff, _refused),
    "mod_tokens__example.json": (v211.Token, lambda x: ov.token_up(x, country_code=CC, party_id=PID)),
    "mod_tokens__put_example_put_a_new_token.json": (
        v211.Token,
        lambda x: ov.token_up(x, country_code=CC, party_id=PID),
    ),
    "mod_tokens__patch_example_invalidate_a_token.json": (v211.Token, None),
    "transport_and_format__example_response_with_an_error_contains_no_data_field.json": (
        v211.OcpiResponse[None],
        # An envelope without data: the 2.1.1 status codes are a subset of 2.2.1's, nothing changes.
        lambda r: Translation(v221.OcpiResponse[None].model_validate(r.model_dump())),
    ),
    "transport_and_format__example_tokens_get_response_with_list_of_token_objects_emsp_end_point_.json": (
        v211.OcpiResponse[list[v211.Token]],
        lambda r: [ov.token_up(x, country_code=CC, party_id=PID) for x in r.data],
    ),
    "transport_and_format__example_tokens_get_response_with_one_token_object_cpo_end_point_one_ob.json": (
        v211.OcpiResponse[v211.Token],
        lambda r: ov.token_up(r.data, country_code=CC, party_id=PID),
    ),
    "transport_and_format__example_version_details_response_one_object.json": (
        v211.OcpiResponse[v211.VersionDetails],
        lambda r: ov.version_details_up(r.data, peer_role=v221.Role.CPO),
    ),
    "transport_and_format__example_version_information_response_list_of_objects.json": (
        v211.OcpiResponse[list[v211.Version]],
        lambda r: [ov.version_up(v) for v in r.data],
    ),
    "version_information_endpoint__example.json": (v211.Version, None),  # a bare list, below
    "version_information_endpoint__example_2.json": (
        v211.VersionDetails,
        lambda d: ov.version_details_up(d, peer_role=v221.Role.EMSP),
    ),
}
PATCH_TARGET: dict[type[BaseModel], type[BaseModel]] = {
    v211.Location: v221.Location,
    v211.EVSE: v221.EVSE,
    v211.Connector: v221.Connector,
    v211.Session: v221.Session,
    v211.Tariff: v221.Tariff,
    v211.Token: v221.Token,
}


def test_up_table_covers_every_2_1_1_example(ex211: Path) -> None:
    assert set(UP) == {p.name for p in ex211.glob("*.json")}


@pytest.mark.parametrize("name", sorted(n for n, (_, up) in UP.items() if up is _refused))
def test_defective_2_1_1_examples_are_refused_before_any_translation(ex211: Path, name: str) -> None:
    with pytest.raises(ValidationError):
        UP[name][0].model_validate_json((ex211 / name).read_bytes())


@pytest.mark.parametrize("name", sorted(n for n, (_, up) in UP.items() if up is not _refused))
def test_every_2_1_1_example_goes_up_and_validates_as_2_2_1(ex211: Path, name: str) -> None:
    model, up = UP[name]
    raw = (ex211 / name).read_bytes()
    if name == "version_information_endpoint__example.json":
        versions = [ov.version_up(v211.Version.model_validate(v)).value for v in json.loads(raw)]
        assert [v.version for v in versions] == ["2.1.1", "2.0"]
        return
    if up is None:  # a 2.1.1 PATCH body: translated field by field, valid as a 2.2.1 partial object
        result = ov.patch_up(model, json.loads(raw))
        validate_patch(PATCH_TARGET[model], result.value, require_last_updated=False)
        assert result.value
        return
    translated = up(model.model_validate_json(raw))
    items = translated if isinstance(translated, list) else [translated]
    assert items
    for item in items:
        assert isinstance(item.value, BaseModel)
        module = type(item.value).__module__
        assert module.startswith("bridge.ocpi.models.v2_2_1") or isinstance(item.value, v221.OcpiResponse)
        _valid_on_the_wire(item.value)


# --------------------------------------------------------------------------------------------
# Every complete 2.2.1 example goes down


@dataclass(frozen=True)
class Down:
    model: type[BaseModel]
    refused_at: str | None = None  # the MappingError path prescribed by §5, if the object cannot go down


LOCATION_FILES = [
    "location_example.json",
    "location_example_parking_garage_opening_hours.json",
    "location_example_uc2_destination_charger.json",
]
UNPUBLISHED = [
    "location_example_uc3_destination_charger_not_published.json",
    "location_example_uc4_limited_visibility.json",
    "location_example_uc5_home_charge_point.json",
]
TARIFF_FILES = [
    f"tariff_{n}.json"
    for n in (
        "1_simple_2hour",
        "2_alt_text",
        "3_alt_url",
        "4_complex",
        "5_free_of_charge",
        "6_025kwh_start_max_price",
        "8_simple_025kwh",
        "9_025kwh_start",
        "10_025kwh_parking_start",
        "11_not_possible_alt_text",
        "12_025kwh_min_price",
        "13_simple_3hour_5parking",
        "14_step_size",
        "15_reservation_5_euro_per_hour",
        "16_reservation_2_euro_fee_5_euro_per_hour",
        "17_reservation_with_expire_fee",
        "18_reservation_with_expire_time",
    )
] + ["tariffrestriction_example_max_duration.json", "tariffrestriction_example_max_power.json"]
DOWN: dict[str, Down] = {
    **{name: Down(v221.Location) for name in LOCATION_FILES},
    **{name: Down(v221.Location, refused_at="publish") for name in UNPUBLISHED},
    "session_example_1_simple_start.json": Down(v221.Session),
    "session_example_2_short_finished.json": Down(v221.Session),
    "cdr_example.json": Down(v221.CDR),
    **{name: Down(v221.Tariff) for name in TARIFF_FILES},
    "token_example_1_app_user.json": Down(v221.Token),
    "token_example_2_full_rfid.json": Down(v221.Token),
    "token_put_example.json": Down(v221.Token),
}
# 2.2.1 files of these families that are not complete objects, and what covers them instead.
NOT_COMPLETE = {
    "location_put_example_add_evse.json": "defective EVSE, refused by the 2.2.1 model",
    "tariff_put_example.json": "PUT without last_updated, refused by the 2.2.1 model",
    "location_patch_example_location.json": "PATCH: test_2_2_1_patch_examples_go_down",
    "location_patch_example_remove_evse.json": "PATCH: test_2_2_1_patch_examples_go_down",
    "location_patch_example_status.json": "PATCH: test_2_2_1_patch_examples_go_down",
    "location_patch_example_tariff.json": "PATCH: test_2_2_1_patch_examples_go_down",
    "session_patch_example_charging_period.json": "PATCH: test_2_2_1_patch_examples_go_down",
    "session_patch_example_total_cost.json": "PATCH: test_2_2_1_patch_examples_go_down",
    "token_patch_example.json": "PATCH: test_2_2_1_patch_examples_go_down",
    "location_energymix_example_complete.json": "fragment: TestRowEnvironmentalImpact",
    "location_energymix_example_energy_provider.json": "fragment: TestRowEnvironmentalImpact",
    "location_energymix_example_simple.json": "fragment: TestRowEnvironmentalImpact",
    "location_hours_247_open_exception_closing.json": "fragment: TestRowHours",
    "location_hours_opening_hours_with_exceptional_closing.json": "fragment: TestRowHours",
    "location_hours_opening_hours_with_exceptional_opening.json": "fragment: TestRowHours",
    "location_regularhours_example.json": "fragment: TestRowHours",
}


def _down(obj: BaseModel, location: v221.Location) -> Translation[Any]:
    if isinstance(obj, v221.Location):
        return ov.location_down(obj)
    if isinstance(obj, v221.Session):
        return ov.session_down(obj, location=location)
    if isinstance(obj, v221.CDR):
        return ov.cdr_down(obj, location=location)
    if isinstance(obj, v221.Tariff):
        return ov.tariff_down(obj)
    assert isinstance(obj, v221.Token)
    return ov.token_down(obj)


@pytest.fixture(scope="module")
def loc1(ex221: Path) -> v221.Location:
    """The Location cache entry the 2.2.1 Session and CDR examples refer to (LOC1/3256/1)."""
    return v221.Location.model_validate_json((ex221 / "location_example.json").read_bytes())


def test_down_table_covers_every_complete_2_2_1_example(ex221: Path) -> None:
    families = ("location_", "session_", "cdr_", "tariff", "token_")
    on_disk = {p.name for p in ex221.glob("*.json") if p.name.startswith(families)}
    assert set(DOWN) | set(NOT_COMPLETE) == on_disk
    assert not set(DOWN) & set(NOT_COMPLETE)


@pytest.mark.parametrize("name", sorted(DOWN))
def test_every_complete_2_2_1_example_goes_down_and_validates_as_2_1_1(
    ex221: Path, name: str, loc1: v221.Location
) -> None:
    case = DOWN[name]
    obj = case.model.model_validate_json((ex221 / name).read_bytes())
    if case.refused_at is not None:
        with pytest.raises(MappingError) as info:
            _down(obj, loc1)
        assert info.value.path == case.refused_at
        return
    result = _down(obj, loc1)
    assert type(result.value).__module__.startswith("bridge.ocpi.models.v2_1_1")
    _valid_on_the_wire(result.value)


@pytest.mark.parametrize(
    "name",
    ["transport_and_format_get_token_example.json", "transport_and_format_get_token_list_example.json"],
)
def test_2_2_1_token_envelopes_go_down(ex221: Path, name: str) -> None:
    data = _load(ex221, name)["data"]
    items = data if isinstance(data, list) else [data]
    for item in items:
        token = ov.token_down(v221.Token.model_validate(item)).value
        _valid_on_the_wire(token)
        assert (token.uid, token.auth_id) == (item["uid"], item["contract_id"])


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("location_patch_example_location.json", v221.Location),
        ("location_patch_example_remove_evse.json", v221.EVSE),
        ("location_patch_example_status.json", v221.EVSE),
        ("location_patch_example_tariff.json", v221.Connector),
        ("session_patch_example_charging_period.json", v221.Session),
        ("session_patch_example_total_cost.json", v221.Session),
        ("token_patch_example.json", v221.Token),
    ],
)
def test_2_2_1_patch_examples_go_down(ex221: Path, name: str, model: type[BaseModel]) -> None:
    result = ov.patch_down(model, _load(ex221, name))
    targets: dict[type[BaseModel], type[BaseModel]] = {
        v221.Location: v211.Location,
        v221.EVSE: v211.EVSE,
        v221.Connector: v211.Connector,
        v221.Session: v211.Session,
        v221.Token: v211.Token,
    }
    target = targets[model]
    validated = validate_patch(target, result.value, require_last_updated=False)
    assert set(validated) == set(result.value)
    assert "last_updated" in result.value


def test_rule_tables_cover_every_field_of_every_model() -> None:
    for model, table in {**ov.UP_RULES, **ov.DOWN_RULES}.items():
        assert set(table) == set(model.model_fields), model.__name__


# --------------------------------------------------------------------------------------------
# Down, then up: what survives, and losses that name everything else


def _flatten(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{path}.{key}" if path else key))
        return out or {path: {}}
    if isinstance(value, list):
        out = {}
        for i, item in enumerate(value):
            out.update(_flatten(item, f"{path}[{i}]"))
        return out or {path: []}
    return {
        path: Decimal(str(value)) if isinstance(value, float | int) and not isinstance(value, bool) else value
    }


def _prune(value: Any, omitted: set[str], path: str = "") -> Any:
    """The document without the list elements a translation omitted (so later elements keep their
    original paths comparable after re-indexing)."""
    if isinstance(value, dict):
        return {k: _prune(v, omitted, f"{path}.{k}" if path else k) for k, v in value.items()}
    if isinstance(value, list):
        return [
            _prune(v, omitted, f"{path}[{i}]") for i, v in enumerate(value) if f"{path}[{i}]" not in omitted
        ]
    return value


def _covered(path: str, losses: list[Loss]) -> bool:
    return any(path == p or path.startswith((p + ".", p + "[")) for p in (loss.path for loss in losses))


def _round_trip(
    obj: BaseModel, loc1: v221.Location, token: v221.Token | None
) -> tuple[BaseModel, list[Loss]]:
    down = _down(obj, loc1)

    def lookup(auth_id: str) -> v221.Token | None:
        return token if token and token.contract_id == auth_id else None

    cc, pid = getattr(obj, "country_code", CC), getattr(obj, "party_id", PID)
    value = down.value
    up: Translation[Any]
    if isinstance(value, v211.Location):
        up = ov.location_up(value, country_code=cc, party_id=pid, time_zone_default=TZ)
    elif isinstance(value, v211.Session):
        up = ov.session_up(value, country_code=cc, party_id=pid, token_lookup=lookup)
    elif isinstance(value, v211.CDR):
        up = ov.cdr_up(value, country_code=cc, party_id=pid, token_lookup=lookup)
    elif isinstance(value, v211.Tariff):
        up = ov.tariff_up(value, country_code=cc, party_id=pid)
    else:
        up = ov.token_up(value, country_code=cc, party_id=pid)
    return up.value, down.losses + up.losses


def _cached_token(obj: BaseModel) -> v221.Token | None:
    cdr_token = getattr(obj, "cdr_token", None)
    if cdr_token is None:
        return None
    return v221.Token(
        country_code=cdr_token.country_code,
        party_id=cdr_token.party_id,
        uid=cdr_token.uid,
        type=cdr_token.type,
        contract_id=cdr_token.contract_id,
        issuer="x",
        valid=True,
        whitelist=v221.WhitelistType.ALLOWED,
        last_updated=getattr(obj, "last_updated"),  # noqa: B009 - BaseModel has no such attribute for mypy
    )


ROUND_TRIP = [n for n, c in DOWN.items() if c.refused_at is None]


@pytest.mark.parametrize("name", sorted(ROUND_TRIP))
@pytest.mark.parametrize("with_token_cache", [True, False], ids=["token-cached", "token-unknown"])
def test_down_then_up_loses_only_what_the_losses_name(
    ex221: Path, name: str, loc1: v221.Location, with_token_cache: bool
) -> None:
    original = DOWN[name].model.model_validate_json((ex221 / name).read_bytes())
    token = _cached_token(original) if with_token_cache else None
    back, losses = _round_trip(original, loc1, token)
    _valid_on_the_wire(back)

    omitted = {loss.path for loss in losses if loss.kind is LossKind.LOST and loss.path.endswith("]")}
    before = _flatten(_prune(json.loads(to_json(original)), omitted))
    after = _flatten(json.loads(to_json(back)))
    changed = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    assert all(_covered(p, losses) for p in changed), sorted(p for p in changed if not _covered(p, losses))


SURVIVES: dict[str, list[str]] = {
    "location_example.json": [
        "id",
        "name",
        "address",
        "city",
        "postal_code",
        "country",
        "coordinates.latitude",
        "coordinates.longitude",
        "parking_type",
        "evses[0].uid",
        "evses[0].evse_id",
        "evses[0].status",
        "evses[0].capabilities[0]",
        "evses[0].connectors[1].max_voltage",
        "evses[0].connectors[1].max_amperage",
        "evses[0].connectors[1].tariff_ids[0]",
        "evses[1].floor_level",
        "operator.name",
        "time_zone",
        "last_updated",
    ],
    "location_example_parking_garage_opening_hours.json": [
        "opening_times.twentyfourseven",
        "opening_times.regular_hours[6].period_end",
        "charging_when_closed",
    ],
    "session_example_2_short_finished.json": [
        "id",
        "start_date_time",
        "end_date_time",
        "kwh",
        "cdr_token.contract_id",
        "location_id",
        "evse_uid",
        "connector_id",
        "charging_periods[1].dimensions[1].volume",
        "total_cost.excl_vat",
        "status",
    ],
    "cdr_example.json": [
        "id",
        "end_date_time",
        "cdr_location.address",
        "cdr_location.evse_id",
        "cdr_location.connector_format",
        "cdr_location.connector_power_type",
        "tariffs[0].elements[0].price_components[0].price",
        "total_cost.excl_vat",
        "total_energy",
        "total_time",
    ],
    "tariff_4_complex.json": [
        "id",
        "currency",
        "tariff_alt_url",
        "elements[5].restrictions.day_of_week[0]",
        "elements[3].restrictions.day_of_week[1]",
        "elements[4].restrictions.start_time",
        "elements[4].price_components[0].step_size",
        "last_updated",
    ],
    "token_example_2_full_rfid.json": [
        "uid",
        "type",
        "contract_id",
        "visual_number",
        "issuer",
        "valid",
        "whitelist",
        "language",
    ],
}


@pytest.mark.parametrize("name", sorted(SURVIVES))
def test_down_then_up_keeps_the_fields_the_table_says_survive(
    ex221: Path, name: str, loc1: v221.Location
) -> None:
    original = DOWN[name].model.model_validate_json((ex221 / name).read_bytes())
    back, losses = _round_trip(original, loc1, _cached_token(original))
    before, after = _flatten(json.loads(to_json(original))), _flatten(json.loads(to_json(back)))
    for path in SURVIVES[name]:
        assert path in before, path
        assert after.get(path) == before[path], path
        assert not _covered(path, [x for x in losses if x.kind is not LossKind.DEFAULTED]), path


class TestPatches:
    def test_patch_up_renames_fields(self) -> None:
        assert ov.patch_up(v211.Connector, {"tariff_id": "15"}).value == {"tariff_ids": ["15"]}
        assert ov.patch_up(v211.Session, {"total_cost": 0.60}).value == {
            "total_cost": {"excl_vat": Decimal("0.6")}
        }
        assert ov.patch_up(v211.Token, {"auth_id": "X1"}).value == {"contract_id": "X1"}

    def test_patch_up_of_auth_id_needs_the_token_lookup(self, ex221: Path) -> None:
        with pytest.raises(MappingError) as info:
            ov.patch_up(v211.Session, {"auth_id": "DE8ACC12E46L89"})
        assert info.value.path == "auth_id"
        cached = v221.Token.model_validate(_load(ex221, "token_put_example.json"))
        result = ov.patch_up(v211.Session, {"auth_id": "DE8ACC12E46L89"}, token_lookup=lambda a: cached)
        assert result.value["cdr_token"]["uid"] == cached.uid == "012345678"

    def test_patch_down_of_a_session_location_must_be_a_put(self) -> None:
        with pytest.raises(MappingError) as info:
            ov.patch_down(v221.Session, {"evse_uid": "3257", "last_updated": "2020-01-01T00:00:00Z"})
        assert info.value.path == "evse_uid"

    def test_patch_up_validates_the_body_first(self) -> None:
        with pytest.raises(InvalidParameters):
            ov.patch_up(v211.EVSE, {"status": "BROKEN"})
