"""OCPI 2.2.1 model rules: timestamps, exact enums, required fields, max lengths, cross-field rules,
hidden token input. Fixtures are the official examples; each case changes one thing in a copy."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from bridge.ocpi.models.common import to_json, to_jsonable
from bridge.ocpi.models.v2_2_1 import (
    CDR,
    EVSE,
    AuthorizationInfo,
    ChargingProfile,
    ChargingProfilePeriod,
    ClientInfo,
    CommandResponse,
    CommandResult,
    Connector,
    Credentials,
    Endpoint,
    GeoLocation,
    Hours,
    Location,
    ModuleID,
    OcpiResponse,
    PublishTokenType,
    ReserveNow,
    Session,
    StartSession,
    Tariff,
    Token,
    Version,
    VersionNumber,
)


@pytest.fixture(scope="module")
def examples_dir(shared_dir: Path) -> Path:
    return shared_dir / "specs" / "ocpi-2.2.1" / "examples"


@pytest.fixture(scope="module")
def example(examples_dir: Path) -> Any:
    def load(name: str) -> Any:
        return json.loads((examples_dir / name).read_bytes())

    return load


def _locs(error: ValidationError) -> list[str]:
    return [".".join(str(part) for part in item["loc"]) for item in error.errors()]


def _set(data: Any, path: str, value: Any) -> Any:
    *parents, last = [int(part) if part.isdigit() else part for part in path.split(".")]
    target = data
    for part in parents:
        target = target[part]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value
    return data


_DELETE = object()

COMPLETE = {
    Location: "location_example.json",
    Session: "session_example_2_short_finished.json",
    CDR: "cdr_example.json",
    Tariff: "tariff_4_complex.json",
    Token: "token_example_2_full_rfid.json",
    Credentials: "credentials_example3.json",
}


# ---------------------------------------------------------------------------------------------
# Timestamps


@pytest.mark.parametrize(
    ("received", "emitted"),
    [
        ("2015-06-29T20:39:09Z", "2015-06-29T20:39:09Z"),
        ("2015-06-29T20:39:09", "2015-06-29T20:39:09Z"),  # no designator = UTC
        ("2015-06-29T22:39:09+02:00", "2015-06-29T20:39:09Z"),  # converted, never "+00:00"
        ("2015-06-29T20:39:09+00:00", "2015-06-29T20:39:09Z"),
        ("2015-06-29T20:39:09.2Z", "2015-06-29T20:39:09.200Z"),
        ("2015-06-29T20:39:01.123Z", "2015-06-29T20:39:01.123Z"),
    ],
)
def test_timestamps_are_emitted_utc_with_z(example: Any, received: str, emitted: str) -> None:
    data = example("token_example_1_app_user.json")
    data["last_updated"] = received
    token = Token.model_validate(data)
    assert token.last_updated.tzinfo is not None
    assert token.last_updated.utcoffset() == UTC.utcoffset(None)
    assert json.loads(to_json(token))["last_updated"] == emitted


def test_nested_and_envelope_timestamps_are_emitted_with_z(example: Any) -> None:
    data = example("location_example.json")
    data["evses"][0]["connectors"][0]["last_updated"] = "2015-03-16T11:10:02+01:00"
    location = Location.model_validate(data)
    assert to_jsonable(location)["evses"][0]["connectors"][0]["last_updated"] == "2015-03-16T10:10:02Z"
    envelope = OcpiResponse[Location](
        data=location, status_code=1000, timestamp=datetime(2020, 1, 2, 3, 4, 5)
    )
    assert to_jsonable(envelope)["timestamp"] == "2020-01-02T03:04:05Z"


def test_an_unparseable_timestamp_fails_naming_the_field(example: Any) -> None:
    data = example("session_example_1_simple_start.json")
    data["start_date_time"] = "29/06/2015 20:39"
    with pytest.raises(ValidationError) as caught:
        Session.model_validate(data)
    assert _locs(caught.value) == ["start_date_time"]


# ---------------------------------------------------------------------------------------------
# Exact enums


@pytest.mark.parametrize(
    ("model", "name", "path", "wrong"),
    [
        (Location, "location_example.json", "parking_type", "ALONG_HIGHWAY"),
        (Location, "location_example.json", "evses.0.status", "available"),
        (Location, "location_example.json", "evses.0.capabilities.0", "RESERVEABLE"),
        (Location, "location_example.json", "evses.0.connectors.0.standard", "IEC_62196_T2_CCS"),
        (Location, "location_example.json", "evses.0.connectors.0.format", "PLUG"),
        (Location, "location_example.json", "evses.0.connectors.0.power_type", "AC_2_PHASES"),
        (Session, "session_example_2_short_finished.json", "status", "STOPPED"),
        (Session, "session_example_2_short_finished.json", "auth_method", "APP"),
        (Session, "session_example_2_short_finished.json", "charging_periods.0.dimensions.0.type", "FLAT"),
        (CDR, "cdr_example.json", "cdr_token.type", "KEY_FOB"),
        (CDR, "cdr_example.json", "cdr_location.connector_standard", "TYPE2"),
        (Tariff, "tariff_4_complex.json", "type", "AD_HOC"),
        (Tariff, "tariff_4_complex.json", "elements.0.price_components.0.type", "PARKING"),
        (Tariff, "tariff_4_complex.json", "elements.2.restrictions.day_of_week.0", "MON"),
        (Tariff, "tariff_15_reservation_5_euro_per_hour.json", "elements.0.restrictions.reservation", "YES"),
        (Token, "token_example_2_full_rfid.json", "whitelist", "SOMETIMES"),
        (Token, "token_example_2_full_rfid.json", "default_profile_type", "SLOW"),
        (Credentials, "credentials_example3.json", "roles.0.role", "MSP"),
        (Credentials, "credentials_example3.json", "roles.0.business_details.logo.category", "LOGO"),
    ],
)
def test_a_wrong_enum_value_fails_naming_the_field(
    example: Any, model: type[BaseModel], name: str, path: str, wrong: str
) -> None:
    data = _set(example(name), path, wrong)
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    assert _locs(caught.value) == [path]
    assert caught.value.errors()[0]["type"] == "enum"


@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        (Endpoint, {"identifier": "locations", "role": "BOTH", "url": "https://x/l"}, "role"),
        (
            ClientInfo,
            {
                "party_id": "ABC",
                "country_code": "NL",
                "role": "CPO",
                "status": "ONLINE",
                "last_updated": "2020-01-01T00:00:00Z",
            },
            "status",
        ),
        (CommandResponse, {"result": "TIMEOUT", "timeout": 30}, "result"),  # 2.1.1 only
        (CommandResult, {"result": "OK"}, "result"),
        (ChargingProfile, {"charging_rate_unit": "kW"}, "charging_rate_unit"),
    ],
)
def test_wrong_enum_values_of_small_objects(model: type[BaseModel], data: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    assert _locs(caught.value) == [field]


def test_custom_module_ids_and_unknown_versions_stay_strings() -> None:
    """Custom modules are allowed by the spec (ModuleID); a versions list may offer newer versions."""
    endpoint = Endpoint.model_validate({"identifier": "nltnm-tokens", "role": "SENDER", "url": "https://x/t"})
    assert endpoint.identifier == "nltnm-tokens" and not isinstance(endpoint.identifier, ModuleID)
    known = Endpoint.model_validate({"identifier": "tokens", "role": "SENDER", "url": "https://x/t"})
    assert known.identifier is ModuleID.TOKENS
    newer = Version.model_validate({"version": "2.3.0", "url": "https://x/2.3.0"})
    assert newer.version == "2.3.0" and not isinstance(newer.version, VersionNumber)
    assert Version.model_validate({"version": "2.2.1", "url": "https://x"}).version is VersionNumber.V2_2_1


# ---------------------------------------------------------------------------------------------
# Required fields


def _required_cases() -> list[tuple[type[BaseModel], str]]:
    return [
        (model, field)
        for model in COMPLETE
        for field, info in model.model_fields.items()
        if info.is_required()
    ]


@pytest.mark.parametrize(("model", "field"), _required_cases())
def test_a_missing_required_field_fails_naming_it(example: Any, model: type[BaseModel], field: str) -> None:
    data = example(COMPLETE[model])
    del data[field]
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    assert _locs(caught.value) == [field]
    assert caught.value.errors()[0]["type"] == "missing"


@pytest.mark.parametrize(
    ("name", "model", "path"),
    [
        ("location_example.json", Location, "evses.0.connectors.0.max_voltage"),
        ("location_example.json", Location, "evses.0.uid"),
        ("location_example.json", Location, "coordinates.latitude"),
        ("cdr_example.json", CDR, "cdr_token.country_code"),
        ("cdr_example.json", CDR, "cdr_location.evse_id"),
        ("cdr_example.json", CDR, "charging_periods.0.dimensions.0.volume"),
        ("cdr_example.json", CDR, "total_cost.excl_vat"),
        ("tariff_4_complex.json", Tariff, "elements.0.price_components.0.step_size"),
        ("token_example_2_full_rfid.json", Token, "energy_contract.supplier_name"),
        ("credentials_example3.json", Credentials, "roles.0.business_details.name"),
    ],
)
def test_a_missing_nested_required_field_fails_naming_its_path(
    example: Any, name: str, model: type[BaseModel], path: str
) -> None:
    data = _set(example(name), path, _DELETE)
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    assert _locs(caught.value) == [path]


@pytest.mark.parametrize(
    ("name", "model", "path"),
    [
        ("location_example.json", Location, "evses.0.connectors"),
        ("cdr_example.json", CDR, "charging_periods"),
        ("cdr_example.json", CDR, "charging_periods.0.dimensions"),
        ("tariff_4_complex.json", Tariff, "elements"),
        ("tariff_4_complex.json", Tariff, "elements.0.price_components"),
        ("credentials_example.json", Credentials, "roles"),
    ],
)
def test_one_or_more_lists_must_not_be_empty(
    example: Any, name: str, model: type[BaseModel], path: str
) -> None:
    data = _set(example(name), path, [])
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    assert _locs(caught.value) == [path]


# ---------------------------------------------------------------------------------------------
# Max lengths (ocpi.md §3.2, bugfix-branch lengths)


@pytest.mark.parametrize(
    ("model", "name", "path", "limit"),
    [
        (Location, "location_example.json", "id", 36),
        (Location, "location_example.json", "address", 255),
        (Location, "location_example.json", "state", 45),
        (Location, "location_example.json", "city", 45),
        (Location, "location_example.json", "postal_code", 10),
        (Location, "location_example.json", "country", 3),
        (Location, "location_example.json", "name", 255),
        (Location, "location_example.json", "time_zone", 255),
        (Location, "location_example.json", "country_code", 2),
        (Location, "location_example.json", "party_id", 3),
        (Location, "location_example.json", "evses.0.uid", 36),
        (Location, "location_example.json", "evses.0.evse_id", 48),
        (Location, "location_example.json", "evses.0.floor_level", 4),
        (Location, "location_example.json", "evses.0.physical_reference", 16),
        (Location, "location_example.json", "evses.0.connectors.0.tariff_ids.0", 36),
        (Location, "location_example.json", "operator.name", 100),
        (CDR, "cdr_example.json", "id", 39),
        (CDR, "cdr_example.json", "cdr_location.address", 255),
        (CDR, "cdr_example.json", "remark", 255),
        (CDR, "cdr_example.json", "credit_reference_id", 39),
        (CDR, "cdr_example.json", "currency", 3),
        (Token, "token_example_2_full_rfid.json", "uid", 36),
        (Token, "token_example_2_full_rfid.json", "visual_number", 64),
        (Token, "token_example_2_full_rfid.json", "issuer", 64),
        (Token, "token_example_2_full_rfid.json", "language", 2),
        (Token, "token_example_2_full_rfid.json", "energy_contract.supplier_name", 64),
        (Tariff, "tariff_2_alt_text.json", "tariff_alt_text.0.text", 512),
        (Credentials, "credentials_example.json", "token", 64),
    ],
)
def test_max_lengths(example: Any, model: type[BaseModel], name: str, path: str, limit: int) -> None:
    at_limit = _set(example(name), path, "A" * limit)
    if path == "credit_reference_id":
        at_limit["credit"] = True
    model.model_validate(at_limit)
    over = _set(at_limit, path, "A" * (limit + 1))
    with pytest.raises(ValidationError) as caught:
        model.model_validate(over)
    assert _locs(caught.value) == [path]
    assert caught.value.errors()[0]["type"] == "string_too_long"


@pytest.mark.parametrize(
    ("latitude", "longitude", "valid"),
    [
        ("51.047599", "3.729944", True),
        ("-51.04759", "-173.72994", True),
        ("5.0475991", "173.7299441", True),
        ("51.0475", "3.729944", False),  # 4 decimals
        ("51.04759912", "3.729944", False),  # 8 decimals
        ("151.04759", "3.729944", False),  # 3 integer digits for a latitude
        ("51.047599", "1173.72994", False),
        ("51,047599", "3.729944", False),
        ("x51.047599", "3.729944", False),  # the regex matches the whole value
        ("51.047599", "3.729944 ", False),
    ],
)
def test_geolocation_regexes(latitude: str, longitude: str, valid: bool) -> None:
    data = {"latitude": latitude, "longitude": longitude}
    if valid:
        assert GeoLocation.model_validate(data).latitude == latitude
    else:
        with pytest.raises(ValidationError) as caught:
            GeoLocation.model_validate(data)
        assert set(_locs(caught.value)) <= {"latitude", "longitude"}


@pytest.mark.parametrize(
    ("token", "valid"),
    [
        ("ebf3b399-779f-4497-9b9d-ac6ad3cc44d2", True),
        ("!~" + "x" * 62, True),
        ("with space", False),
        ("tab\there", False),
        ("ümlaut", False),
        ("", False),
        ("x" * 65, False),
    ],
)
def test_credentials_token_is_printable_ascii_up_to_64(example: Any, token: str, valid: bool) -> None:
    data = example("credentials_example.json")
    data["token"] = token
    if valid:
        assert Credentials.model_validate(data).token == token
    else:
        with pytest.raises(ValidationError) as caught:
            Credentials.model_validate(data)
        assert _locs(caught.value) == ["token"]


# ---------------------------------------------------------------------------------------------
# Cross-field rules


def test_hours_need_regular_hours_unless_24_7(example: Any) -> None:
    for hours in ({"twentyfourseven": False}, {"twentyfourseven": False, "regular_hours": []}):
        with pytest.raises(ValidationError) as caught:
            Hours.model_validate(hours)
        assert _locs(caught.value) == ["regular_hours"]
    assert Hours.model_validate({"twentyfourseven": True}).regular_hours is None
    data = example("location_example_parking_garage_opening_hours.json")
    del data["opening_times"]["regular_hours"]
    with pytest.raises(ValidationError) as in_location:
        Location.model_validate(data)
    assert _locs(in_location.value) == ["opening_times.regular_hours"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"type": "RFID", "issuer": "X"}, "group_id"),  # none of uid, visual_number, group_id
        ({"uid": "12345678905880"}, "type"),  # uid without type
        ({"visual_number": "12345-67"}, "issuer"),  # visual_number without issuer
        ({"uid": "U" * 37, "type": "RFID"}, "uid"),  # only the too-long uid, not "none set"
    ],
)
def test_publish_token_type_rules(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        PublishTokenType.model_validate(data)
    assert _locs(caught.value) == [field]


@pytest.mark.parametrize(
    "data",
    [
        {"group_id": "DF000-2001-8999"},
        {"uid": "12345678905880", "type": "RFID"},
        {"visual_number": "12345-67", "issuer": "NewMotion"},
    ],
)
def test_publish_token_type_with_one_identifier_is_valid(data: dict[str, Any]) -> None:
    assert to_jsonable(PublishTokenType.model_validate(data)) == data


def test_publish_allowed_to_only_on_unpublished_locations(example: Any) -> None:
    data = example("location_example_uc4_limited_visibility.json")
    assert Location.model_validate(data).publish is False
    data["publish"] = True
    with pytest.raises(ValidationError) as caught:
        Location.model_validate(data)
    assert _locs(caught.value) == ["publish_allowed_to"]


def test_credentials_roles_unique_case_insensitively(example: Any) -> None:
    data = example("credentials_example4.json")
    data["roles"][1]["party_id"] = data["roles"][0]["party_id"].lower()
    with pytest.raises(ValidationError) as caught:
        Credentials.model_validate(data)
    assert _locs(caught.value) == ["roles"]
    data["roles"][1]["role"] = "EMSP"  # same party, other role: allowed
    assert len(Credentials.model_validate(data).roles) == 3


def test_credit_cdr_needs_credit_reference_id(example: Any) -> None:
    data = example("cdr_example.json")
    data.update(id="12345-C", credit=True, total_cost={"excl_vat": -4.00, "incl_vat": -4.40})
    with pytest.raises(ValidationError) as caught:
        CDR.model_validate(data)
    assert _locs(caught.value) == ["credit_reference_id"]
    data["credit_reference_id"] = "12345"
    assert CDR.model_validate(data).total_cost.excl_vat == -4


def test_start_session_connector_needs_evse(example: Any) -> None:
    base = {
        "response_url": "https://emsp/cb/1",
        "token": example("token_example_1_app_user.json"),
        "location_id": "LOC1",
        "connector_id": "1",
    }
    with pytest.raises(ValidationError) as caught:
        StartSession.model_validate(base)
    assert _locs(caught.value) == ["connector_id"]
    assert StartSession.model_validate({**base, "evse_uid": "3256"}).connector_id == "1"


@pytest.mark.parametrize(("limit", "valid"), [(8.1, True), (16, True), (8.15, False)])
def test_charging_profile_limits_accept_one_decimal(limit: float, valid: bool) -> None:
    data = {"start_period": 0, "limit": limit}
    if valid:
        assert ChargingProfilePeriod.model_validate(data).limit * 10 % 1 == 0
    else:
        with pytest.raises(ValidationError) as caught:
            ChargingProfilePeriod.model_validate(data)
        assert _locs(caught.value) == ["limit"]


def test_weekday_and_time_of_day_formats(example: Any) -> None:
    for path, wrong in (
        ("opening_times.regular_hours.0.weekday", 8),
        ("opening_times.regular_hours.0.period_begin", "7:00"),
        ("opening_times.regular_hours.0.period_end", "24:00"),
    ):
        data = _set(example("location_example_parking_garage_opening_hours.json"), path, wrong)
        with pytest.raises(ValidationError) as caught:
            Location.model_validate(data)
        assert _locs(caught.value) == [path]


# ---------------------------------------------------------------------------------------------
# Unknown fields and tokens in errors


def test_unknown_fields_are_kept_and_forwarded(example: Any) -> None:
    data = example("session_example_1_simple_start.json")
    data["x_vendor"] = {"a": 1}
    data["cdr_token"]["x_card_label"] = "blue"
    session = Session.model_validate(data)
    dumped = to_jsonable(session)
    assert dumped["x_vendor"] == {"a": 1}
    assert dumped["cdr_token"]["x_card_label"] == "blue"


SECRET = "SECRET-TOKEN-VALUE-" + "Z" * 50  # too long for every token field it is put in


@pytest.mark.parametrize(
    ("model", "build"),
    [
        (Credentials, lambda ex: {**ex("credentials_example.json"), "token": SECRET}),
        (Token, lambda ex: {**ex("token_example_1_app_user.json"), "uid": SECRET}),
        (
            AuthorizationInfo,
            lambda ex: {
                "allowed": "ALLOWED",
                "token": {**ex("token_example_1_app_user.json"), "uid": SECRET},
            },
        ),
        (
            StartSession,
            lambda ex: {
                "response_url": "https://e/cb",
                "location_id": "L",
                "token": {**ex("token_example_1_app_user.json"), "uid": SECRET},
            },
        ),
        (
            ReserveNow,
            lambda ex: {
                "response_url": "https://e/cb",
                "location_id": "L",
                "reservation_id": "R",
                "expiry_date": "2020-01-01T00:00:00Z",
                "token": {**ex("token_example_1_app_user.json"), "uid": SECRET},
            },
        ),
        (Session, lambda ex: _set(ex("session_example_1_simple_start.json"), "cdr_token.uid", SECRET)),
        (CDR, lambda ex: _set(ex("cdr_example.json"), "cdr_token.contract_id", SECRET)),
        (
            Location,
            lambda ex: _set(
                ex("location_example_uc4_limited_visibility.json"), "publish_allowed_to.2.uid", SECRET
            ),
        ),
        (
            OcpiResponse[Token],
            lambda ex: _set(ex("transport_and_format_get_token_example.json"), "data.uid", SECRET),
        ),
    ],
)
def test_token_carrying_models_never_echo_the_input(example: Any, model: type[BaseModel], build: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(build(example))
    assert caught.value.errors()[0]["type"] == "string_too_long"
    assert "input_value" not in str(caught.value)
    assert "SECRET" not in str(caught.value)
    assert "SECRET" not in repr(caught.value)


def test_models_without_tokens_do_show_the_input(example: Any) -> None:
    """Counter-check of the test above: the input is visible where it is not hidden on purpose."""
    data = _set(example("tariff_1_simple_2hour.json"), "id", SECRET)
    with pytest.raises(ValidationError) as caught:
        Tariff.model_validate(data)
    assert "input_value='SECRET" in str(caught.value)


def test_evse_and_connector_parse_on_their_own(example: Any) -> None:
    """PUT on an EVSE or Connector URL carries the object alone."""
    location = example("location_example.json")
    evse = EVSE.model_validate(location["evses"][1])
    assert evse.uid == "3257" and evse.connectors[0].tariff_ids == ["12"]
    connector = Connector.model_validate(location["evses"][0]["connectors"][1])
    assert connector.max_electric_power is None and connector.max_amperage == 16
