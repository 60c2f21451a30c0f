"""bridge.ocpi.models.patch with the OCPI 2.2.1 models and the official *_patch_example files.

ocpi.md §3.6: a PATCH carries only changed fields; 2.2.1 PATCHes to Locations, Sessions and Tokens
must carry last_updated (2001 otherwise, ocpi#355); a PATCH cannot remove anything; scalars and
objects merge, arrays are replaced; Session charging_periods are appended by the caller (ocpi#325).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bridge.errors import InvalidParameters
from bridge.ocpi.models.common import to_jsonable
from bridge.ocpi.models.patch import apply_patch, validate_patch
from bridge.ocpi.models.v2_2_1 import (
    EVSE,
    ChargingPeriod,
    Connector,
    Location,
    Price,
    Session,
    Status,
    Token,
)


@pytest.fixture(scope="module")
def examples_dir(shared_dir: Path) -> Path:
    return shared_dir / "specs" / "ocpi-2.2.1" / "examples"


@pytest.fixture(scope="module")
def example(examples_dir: Path) -> Any:
    def load(name: str) -> Any:
        return json.loads((examples_dir / name).read_bytes())

    return load


def test_evse_status_patch(example: Any) -> None:
    location = example("location_example.json")
    evse = EVSE.model_validate(location["evses"][0])
    patch = validate_patch(EVSE, example("location_patch_example_status.json"), require_last_updated=True)
    assert patch == {"status": Status.CHARGING, "last_updated": datetime(2019, 6, 24, 12, 39, 9, tzinfo=UTC)}
    patched = apply_patch(evse, patch)
    assert patched.status is Status.CHARGING
    assert patched.last_updated == patch["last_updated"]
    assert patched.connectors == evse.connectors and patched.evse_id == evse.evse_id
    assert evse.status is Status.AVAILABLE, "the original object is not modified"


def test_evse_remove_patch(example: Any) -> None:
    evse = EVSE.model_validate(example("location_example.json")["evses"][1])
    patch = validate_patch(
        EVSE, example("location_patch_example_remove_evse.json"), require_last_updated=True
    )
    assert apply_patch(evse, patch).status is Status.REMOVED


def test_connector_tariff_patch_replaces_the_array(example: Any) -> None:
    connector = Connector.model_validate(example("location_example.json")["evses"][0]["connectors"][0])
    assert connector.tariff_ids == ["11"]
    patch = validate_patch(
        Connector, example("location_patch_example_tariff.json"), require_last_updated=True
    )
    assert apply_patch(connector, patch).tariff_ids == ["15"]


def test_location_name_patch(example: Any) -> None:
    location = Location.model_validate(example("location_example.json"))
    patch = validate_patch(
        Location, example("location_patch_example_location.json"), require_last_updated=True
    )
    patched = apply_patch(location, patch)
    assert patched.name == "Interparking Gent Zuid"
    assert patched.evses == location.evses and patched.coordinates == location.coordinates


def test_session_total_cost_patch(example: Any) -> None:
    session = Session.model_validate(example("session_example_2_short_finished.json"))
    body = example("session_patch_example_total_cost.json")
    patch = validate_patch(Session, body, require_last_updated=True)
    assert patch["total_cost"] == Price(excl_vat=Decimal("0.60"), incl_vat=Decimal("0.66"))
    patched = apply_patch(session, patch)
    assert patched.total_cost == Price(excl_vat=Decimal("0.6"), incl_vat=Decimal("0.66"))
    assert patched.charging_periods == session.charging_periods


def test_session_charging_periods_are_appended_by_the_caller(example: Any) -> None:
    """apply_patch replaces arrays; for Session charging_periods the caller appends (ocpi#325)."""
    session = Session.model_validate(example("session_example_2_short_finished.json"))
    patch = validate_patch(
        Session, example("session_patch_example_charging_period.json"), require_last_updated=True
    )
    assert all(isinstance(period, ChargingPeriod) for period in patch["charging_periods"])
    assert session.charging_periods is not None

    replaced = apply_patch(session, patch)
    assert replaced.charging_periods == patch["charging_periods"]

    appended = apply_patch(
        session, {**patch, "charging_periods": session.charging_periods + patch["charging_periods"]}
    )
    assert appended.charging_periods is not None
    assert len(appended.charging_periods) == 4
    assert appended.charging_periods[:3] == session.charging_periods
    assert appended.kwh == Decimal("15") and appended.total_cost == Price(
        excl_vat=Decimal("0.8"), incl_vat=Decimal("0.88")
    )


def test_token_patch(example: Any) -> None:
    token = Token.model_validate(example("token_example_2_full_rfid.json"))
    patched = apply_patch(
        token, validate_patch(Token, example("token_patch_example.json"), require_last_updated=True)
    )
    assert patched.valid is False and token.valid is True
    assert to_jsonable(patched)["last_updated"] == "2019-06-19T02:11:11Z"


@pytest.mark.parametrize(
    ("model", "name"),
    [
        (Location, "location_patch_example_location.json"),
        (EVSE, "location_patch_example_status.json"),
        (Connector, "location_patch_example_tariff.json"),
        (Session, "session_patch_example_total_cost.json"),
        (Token, "token_patch_example.json"),
    ],
)
def test_missing_last_updated_is_2001_naming_it(example: Any, model: Any, name: str) -> None:
    body = example(name)
    del body["last_updated"]
    with pytest.raises(InvalidParameters) as caught:
        validate_patch(model, body, require_last_updated=True)
    assert caught.value.field == "last_updated"
    assert caught.value.status_code == 2001
    assert "last_updated" in caught.value.message
    assert set(validate_patch(model, body, require_last_updated=False)) == set(body)


def test_null_last_updated_counts_as_missing() -> None:
    with pytest.raises(InvalidParameters) as caught:
        validate_patch(EVSE, {"status": "CHARGING", "last_updated": None}, require_last_updated=True)
    assert caught.value.field == "last_updated"


@pytest.mark.parametrize(
    ("model", "body", "field"),
    [
        (EVSE, {"status": "BROKEN"}, "status"),
        (EVSE, {"floor_level": "-10000"}, "floor_level"),
        (EVSE, {"coordinates": {"latitude": "51.0", "longitude": "3.729944"}}, "coordinates.latitude"),
        (Location, {"opening_times": {"twentyfourseven": False}}, "opening_times.regular_hours"),
        (Location, {"publish_allowed_to": [{"uid": "123"}]}, "publish_allowed_to.0.type"),
        (Session, {"kwh": "lots"}, "kwh"),
        (
            Session,
            {"charging_periods": [{"start_date_time": "2019-06-23T08:16:02Z", "dimensions": []}]},
            "charging_periods.0.dimensions",
        ),
        (Session, {"total_cost": {"incl_vat": 1}}, "total_cost.excl_vat"),
        (Connector, {"tariff_ids": "15"}, "tariff_ids"),
        (Token, {"whitelist": "MAYBE"}, "whitelist"),
    ],
)
def test_a_bad_value_is_2001_naming_the_field(model: Any, body: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidParameters) as caught:
        validate_patch(model, {**body, "last_updated": "2019-06-24T12:39:09Z"}, require_last_updated=True)
    assert caught.value.field == field
    assert caught.value.message.startswith(f"{field}: ")


def test_errors_never_contain_the_received_value() -> None:
    secret = "SECRET-" + "X" * 60
    with pytest.raises(InvalidParameters) as caught:
        validate_patch(
            Token, {"uid": secret, "last_updated": "2019-06-19T02:11:11Z"}, require_last_updated=True
        )
    assert caught.value.field == "uid"
    assert "SECRET" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_unknown_fields_are_kept_as_received(example: Any) -> None:
    evse = EVSE.model_validate(example("location_example.json")["evses"][0])
    body = {"x_vendor": {"slot": 3}, "status": "BLOCKED", "last_updated": "2019-06-24T12:39:09Z"}
    patch = validate_patch(EVSE, body, require_last_updated=True)
    assert patch["x_vendor"] == {"slot": 3}
    assert to_jsonable(apply_patch(evse, patch))["x_vendor"] == {"slot": 3}


def test_nulls_are_no_ops_a_patch_cannot_remove(example: Any) -> None:
    session = Session.model_validate(example("session_example_2_short_finished.json"))
    body = {
        "end_date_time": None,
        "total_cost": {"excl_vat": 9, "incl_vat": None},
        "last_updated": "2019-06-23T08:16:02Z",
    }
    patch = validate_patch(Session, body, require_last_updated=True)
    assert "end_date_time" not in patch
    patched = apply_patch(session, patch)
    assert patched.end_date_time == session.end_date_time
    assert patched.total_cost == Price(excl_vat=Decimal("9"), incl_vat=Decimal("9.35"))


def test_nested_objects_merge_key_by_key(example: Any) -> None:
    data = example("location_example.json")
    data["operator"] = example("credentials_example3.json")["roles"][0]["business_details"]
    location = Location.model_validate(data)
    patch = validate_patch(
        Location,
        {"operator": {"name": "BeCharged NV"}, "last_updated": "2019-06-24T12:39:09Z"},
        require_last_updated=True,
    )
    patched = apply_patch(location, patch)
    assert patched.operator is not None and location.operator is not None
    assert patched.operator.name == "BeCharged NV"
    assert patched.operator.logo == location.operator.logo  # kept: the patch did not mention it
    assert patched.operator.website == "http://example.com"


def test_cross_field_rules_are_checked_on_the_merged_object(example: Any) -> None:
    """publish_allowed_to is only allowed on unpublished Locations: a PATCH publish=true on such a
    Location is valid on its own, but the merged object is not."""
    location = Location.model_validate(example("location_example_uc4_limited_visibility.json"))
    patch = validate_patch(
        Location, {"publish": True, "last_updated": "2019-06-24T12:39:09Z"}, require_last_updated=True
    )
    with pytest.raises(InvalidParameters) as caught:
        apply_patch(location, patch)
    assert caught.value.field == "publish_allowed_to"
    assert location.publish is False


def test_the_field_adapter_is_cached() -> None:
    from bridge.ocpi.models.patch import _field_adapter

    _field_adapter.cache_clear()
    validate_patch(
        EVSE, {"status": "CHARGING", "last_updated": "2019-06-24T12:39:09Z"}, require_last_updated=True
    )
    validate_patch(
        EVSE, {"status": "BLOCKED", "last_updated": "2019-06-24T12:40:09Z"}, require_last_updated=True
    )
    info = _field_adapter.cache_info()
    assert info.misses == 2 and info.hits == 2


def test_body_must_be_an_object() -> None:
    with pytest.raises(InvalidParameters):
        validate_patch(EVSE, [{"status": "CHARGING"}], require_last_updated=False)  # type: ignore[arg-type]
