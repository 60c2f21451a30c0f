"""OCPI 2.1.1 model rules beyond the examples: exact enums, the ▲ differences from 2.2.1 (ocpi.md §4),
Hours as a choice, lenient coordinates, max lengths, hidden token input, unknown fields kept."""

from __future__ import annotations

import json
import logging
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bridge.ocpi.models.common import to_json
from bridge.ocpi.models.v2_1_1 import (
    CDR,
    EVSE,
    Allowed,
    AuthMethod,
    AuthorizationInfo,
    Capability,
    CdrDimensionType,
    CommandResponse,
    CommandResponseType,
    CommandType,
    Connector,
    ConnectorFormat,
    ConnectorType,
    Credentials,
    DayOfWeek,
    EnergyMix,
    EnergySourceCategory,
    EnvironmentalImpactCategory,
    Facility,
    GeoLocation,
    Hours,
    ImageCategory,
    Location,
    LocationReferences,
    LocationType,
    ModuleID,
    OcpiResponse,
    ParkingRestriction,
    PowerType,
    ReserveNow,
    Session,
    SessionStatus,
    StartSession,
    Status,
    TariffDimensionType,
    Token,
    TokenType,
    Version,
    VersionDetails,
    VersionNumber,
    WhitelistType,
)

LOGGER = "bridge.ocpi.models"

# The exact value lists of OCPI 2.1.1 (mod_*.md §4, condensed in docs/ocpi.md §4 with ▲ marks).
ENUMS: dict[type[StrEnum], set[str]] = {
    Capability: {"CHARGING_PROFILE_CAPABLE", "CREDIT_CARD_PAYABLE", "REMOTE_START_STOP_CAPABLE",
                 "RESERVABLE", "RFID_READER", "UNLOCK_CAPABLE"},
    ConnectorFormat: {"SOCKET", "CABLE"},
    ConnectorType: {"CHADEMO", *(f"DOMESTIC_{c}" for c in "ABCDEFGHIJKL"), "IEC_60309_2_single_16",
                    "IEC_60309_2_three_16", "IEC_60309_2_three_32", "IEC_60309_2_three_64", "IEC_62196_T1",
                    "IEC_62196_T1_COMBO", "IEC_62196_T2", "IEC_62196_T2_COMBO", "IEC_62196_T3A",
                    "IEC_62196_T3C", "TESLA_R", "TESLA_S"},
    EnergySourceCategory: {"NUCLEAR", "GENERAL_FOSSIL", "COAL", "GAS", "GENERAL_GREEN", "SOLAR", "WIND",
                           "WATER"},
    EnvironmentalImpactCategory: {"NUCLEAR_WASTE", "CARBON_DIOXIDE"},
    Facility: {"HOTEL", "RESTAURANT", "CAFE", "MALL", "SUPERMARKET", "SPORT", "RECREATION_AREA", "NATURE",
               "MUSEUM", "BUS_STOP", "TAXI_STAND", "TRAIN_STATION", "AIRPORT", "CARPOOL_PARKING",
               "FUEL_STATION", "WIFI"},
    ImageCategory: {"CHARGER", "ENTRANCE", "LOCATION", "NETWORK", "OPERATOR", "OTHER", "OWNER"},
    LocationType: {"ON_STREET", "PARKING_GARAGE", "UNDERGROUND_GARAGE", "PARKING_LOT", "OTHER", "UNKNOWN"},
    ParkingRestriction: {"EV_ONLY", "PLUGGED", "DISABLED", "CUSTOMERS", "MOTORCYCLES"},
    PowerType: {"AC_1_PHASE", "AC_3_PHASE", "DC"},
    Status: {"AVAILABLE", "BLOCKED", "CHARGING", "INOPERATIVE", "OUTOFORDER", "PLANNED", "REMOVED",
             "RESERVED", "UNKNOWN"},
    SessionStatus: {"ACTIVE", "COMPLETED", "INVALID", "PENDING"},
    AuthMethod: {"AUTH_REQUEST", "WHITELIST"},
    CdrDimensionType: {"ENERGY", "FLAT", "MAX_CURRENT", "MIN_CURRENT", "PARKING_TIME", "TIME"},
    DayOfWeek: {"MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"},
    TariffDimensionType: {"ENERGY", "FLAT", "PARKING_TIME", "TIME"},
    TokenType: {"OTHER", "RFID"},
    WhitelistType: {"ALWAYS", "ALLOWED", "ALLOWED_OFFLINE", "NEVER"},
    Allowed: {"ALLOWED", "BLOCKED", "EXPIRED", "NO_CREDIT", "NOT_ALLOWED"},
    CommandType: {"RESERVE_NOW", "START_SESSION", "STOP_SESSION", "UNLOCK_CONNECTOR"},
    CommandResponseType: {"ACCEPTED", "NOT_SUPPORTED", "REJECTED", "TIMEOUT", "UNKNOWN_SESSION"},
    VersionNumber: {"2.0", "2.1", "2.1.1"},
    ModuleID: {"cdrs", "commands", "credentials", "locations", "sessions", "tariffs", "tokens"},
}


@pytest.fixture(scope="module")
def examples_dir(shared_dir: Path) -> Path:
    return shared_dir / "specs" / "ocpi-2.1.1" / "examples"


@pytest.fixture
def location_data(examples_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((examples_dir / "mod_locations__example.json").read_bytes())
    return data


@pytest.fixture
def token_data(examples_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((examples_dir / "mod_tokens__example.json").read_bytes())
    return data


def _locs(error: ValidationError) -> list[tuple[Any, ...]]:
    return [tuple(e["loc"]) for e in error.errors()]


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]


# --------------------------------------------------------------------------------------------
# Enums


@pytest.mark.parametrize("enum", list(ENUMS), ids=lambda e: e.__name__)
def test_enum_has_exactly_the_2_1_1_values(enum: type[StrEnum]) -> None:
    assert {member.value for member in enum} == ENUMS[enum]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("type",), "on_street"),  # values are case-sensitive
        (("type",), "ALONG_MOTORWAY"),  # a 2.2.1 ParkingType, not a LocationType
        (("evses", 0, "capabilities", 0), "CHIP_CARD_SUPPORT"),  # 2.2.1-only Capability
        (("evses", 0, "connectors", 0, "standard"), "GBT_AC"),  # 2.2.1-only ConnectorType
        (("evses", 0, "connectors", 0, "power_type"), "AC_2_PHASE"),  # 2.2.1-only PowerType
        (("facilities", 0), "METRO_STATION"),  # 2.2.1-only Facility
    ],
)
def test_wrong_or_2_2_1_only_enum_value_is_rejected_naming_the_field(
    location_data: dict[str, Any], path: tuple[Any, ...], value: str
) -> None:
    location_data.setdefault("facilities", ["HOTEL"])
    node: Any = location_data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    with pytest.raises(ValidationError) as info:
        Location.model_validate(location_data)
    assert _locs(info.value) == [path]


def test_session_status_reservation_and_auth_method_command_are_not_2_1_1(examples_dir: Path) -> None:
    data = json.loads((examples_dir / "mod_sessions__simple_session_example_of_a_just_starting_session.json")
                      .read_bytes())
    data["status"] = "RESERVATION"
    data["auth_method"] = "COMMAND"
    with pytest.raises(ValidationError) as info:
        Session.model_validate(data)
    assert sorted(_locs(info.value)) == [("auth_method",), ("status",)]


def test_token_type_app_user_is_not_2_1_1(token_data: dict[str, Any]) -> None:
    token_data["type"] = "APP_USER"
    with pytest.raises(ValidationError) as info:
        Token.model_validate(token_data)
    assert _locs(info.value) == [("type",)]


def test_cdr_dimension_flat_is_2_1_1(examples_dir: Path) -> None:
    data = json.loads((examples_dir / "mod_cdrs__example_of_a_cdr.json").read_bytes())
    data["charging_periods"][0]["dimensions"].append({"type": "FLAT", "volume": 1})
    cdr = CDR.model_validate(data)
    assert cdr.charging_periods[0].dimensions[1].type is CdrDimensionType.FLAT


# --------------------------------------------------------------------------------------------
# Location, EVSE, Connector (▲ differences)


def test_location_requires_type_and_has_no_2_2_1_owner_fields(location_data: dict[str, Any]) -> None:
    location = Location.model_validate(location_data)
    assert location.type is LocationType.ON_STREET
    for field in ("country_code", "party_id", "publish", "parking_type", "state"):
        assert field not in Location.model_fields

    del location_data["type"]
    location_data["parking_type"] = "ON_STREET"  # the 2.2.1 name does not satisfy 2.1.1
    with pytest.raises(ValidationError) as info:
        Location.model_validate(location_data)
    assert _locs(info.value) == [("type",)]


def test_location_time_zone_is_optional_and_postal_code_required(location_data: dict[str, Any]) -> None:
    assert "time_zone" not in location_data
    assert Location.model_validate(location_data).time_zone is None
    del location_data["postal_code"]
    with pytest.raises(ValidationError) as info:
        Location.model_validate(location_data)
    assert _locs(info.value) == [("postal_code",)]


def test_location_address_longer_than_45_is_rejected(location_data: dict[str, Any]) -> None:
    location_data["address"] = "x" * 46
    with pytest.raises(ValidationError) as info:
        Location.model_validate(location_data)
    assert _locs(info.value) == [("address",)]
    location_data["address"] = "x" * 45
    assert Location.model_validate(location_data).address == "x" * 45


def test_connector_has_voltage_amperage_and_single_tariff_id(location_data: dict[str, Any]) -> None:
    connector_data = location_data["evses"][0]["connectors"][0]
    connector = Connector.model_validate(connector_data)
    assert (connector.voltage, connector.amperage, connector.tariff_id) == (220, 16, "11")

    renamed = dict(connector_data)
    renamed["max_voltage"] = renamed.pop("voltage")
    renamed["max_amperage"] = renamed.pop("amperage")
    with pytest.raises(ValidationError) as info:
        Connector.model_validate(renamed)
    assert sorted(_locs(info.value)) == [("amperage",), ("voltage",)]


def test_evse_requires_at_least_one_connector(location_data: dict[str, Any]) -> None:
    location_data["evses"][0]["connectors"] = []
    with pytest.raises(ValidationError) as info:
        Location.model_validate(location_data)
    assert _locs(info.value) == [("evses", 0, "connectors")]


def test_environmental_impact_uses_source_not_category() -> None:
    mix = EnergyMix.model_validate(
        {"is_green_energy": False, "environ_impact": [{"source": "CARBON_DIOXIDE", "amount": 372}]}
    )
    assert mix.environ_impact is not None
    assert mix.environ_impact[0].source is EnvironmentalImpactCategory.CARBON_DIOXIDE
    with pytest.raises(ValidationError) as info:
        EnergyMix.model_validate(
            {"is_green_energy": False, "environ_impact": [{"category": "CARBON_DIOXIDE", "amount": 372}]}
        )
    assert _locs(info.value) == [("environ_impact", 0, "source")]


# --------------------------------------------------------------------------------------------
# Hours: a choice of regular_hours or twentyfourseven


REGULAR = [{"weekday": 1, "period_begin": "08:00", "period_end": "20:00"}]


@pytest.mark.parametrize(
    ("hours", "warning"),
    [
        ({"twentyfourseven": True}, None),
        ({"regular_hours": REGULAR}, None),
        ({"regular_hours": REGULAR, "twentyfourseven": False}, None),  # the spec's own example does this
        ({"regular_hours": REGULAR, "twentyfourseven": True}, "twentyfourseven=true together"),
        ({"exceptional_closings": []}, "neither regular_hours nor twentyfourseven"),
    ],
)
def test_hours_choice_is_lenient_and_warns_on_contradictions(
    hours: dict[str, Any], warning: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    parsed = Hours.model_validate(hours)
    assert Hours.model_validate_json(to_json(parsed)) == parsed
    messages = _warnings(caplog)
    if warning is None:
        assert messages == []
    else:
        assert any(warning in m for m in messages)


@pytest.mark.parametrize("bad", ["8:00", "08:60", "0800", "30:00"])
def test_regular_hours_time_format_is_enforced(bad: str) -> None:
    with pytest.raises(ValidationError) as info:
        Hours.model_validate({"regular_hours": [{"weekday": 1, "period_begin": bad, "period_end": "20:00"}]})
    assert _locs(info.value) == [("regular_hours", 0, "period_begin")]


def test_regular_hours_weekday_is_1_to_7() -> None:
    sunday_plus_one = {"weekday": 8, "period_begin": "08:00", "period_end": "20:00"}
    with pytest.raises(ValidationError) as info:
        Hours.model_validate({"regular_hours": [sunday_plus_one]})
    assert _locs(info.value) == [("regular_hours", 0, "weekday")]


# --------------------------------------------------------------------------------------------
# Coordinates: exactly 6 decimals in the spec, lenient on ingress


def test_six_decimals_are_accepted_silently(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    point = GeoLocation.model_validate({"latitude": "-50.770774", "longitude": "-126.104965"})
    assert (point.latitude, point.longitude) == ("-50.770774", "-126.104965")
    assert _warnings(caplog) == []


def test_other_precisions_are_kept_verbatim_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    point = GeoLocation.model_validate({"latitude": "51.04759", "longitude": "3.7299441"})
    assert (point.latitude, point.longitude) == ("51.04759", "3.7299441")
    messages = _warnings(caplog)
    assert any("latitude" in m and "6 decimals" in m for m in messages)
    assert any("longitude" in m and "6 decimals" in m for m in messages)


def test_coordinates_as_json_numbers_are_kept_as_strings(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    point = GeoLocation.model_validate_json(b'{"latitude": 51.047599, "longitude": 3.729944}')
    assert (point.latitude, point.longitude) == ("51.047599", "3.729944")
    assert any("JSON number" in m for m in _warnings(caplog))


@pytest.mark.parametrize(
    ("latitude", "longitude", "bad"),
    [
        ("north", "3.729944", "latitude"),
        ("51.047599", "3,729944", "longitude"),
        ("91.000000", "3.7", "latitude"),
        ("51.047599", "-181.000000", "longitude"),
    ],
)
def test_malformed_or_out_of_range_coordinates_are_rejected(latitude: str, longitude: str, bad: str) -> None:
    with pytest.raises(ValidationError) as info:
        GeoLocation.model_validate({"latitude": latitude, "longitude": longitude})
    assert _locs(info.value) == [(bad,)]
    assert bad in str(info.value)


# --------------------------------------------------------------------------------------------
# Tokens, credentials, commands


def test_token_carrying_models_hide_their_input_in_errors(token_data: dict[str, Any]) -> None:
    secret_uid = "SECRET-RFID-UID-0042"
    token_data["uid"] = secret_uid
    token_data["valid"] = "perhaps"
    with pytest.raises(ValidationError) as token_error:
        Token.model_validate(token_data)
    assert secret_uid not in str(token_error.value)

    secret = "ebf3b399-779f-4497-9b9d-ac6ad3cc44d2"
    with pytest.raises(ValidationError) as credentials_error:
        Credentials.model_validate({"token": secret, "url": "https://example.com/versions/",
                                    "party_id": "EXA", "country_code": "NL"})
    assert _locs(credentials_error.value) == [("business_details",)]
    assert secret not in str(credentials_error.value)

    with pytest.raises(ValidationError) as command_error:
        StartSession.model_validate({"response_url": "https://emsp/cb/1", "token": token_data})
    assert secret_uid not in str(command_error.value)

    for model in (Token, Credentials, StartSession, ReserveNow, Session, CDR, OcpiResponse):
        assert model.model_config.get("hide_input_in_errors") is True

    with pytest.raises(ValidationError) as envelope_error:
        OcpiResponse[Token].model_validate({"data": token_data, "timestamp": "2015-06-30T21:59:59Z"})
    assert secret_uid not in str(envelope_error.value)


def test_credentials_are_flat_and_token_is_at_most_64(examples_dir: Path) -> None:
    data = json.loads((examples_dir / "credentials__example.json").read_bytes())
    credentials = Credentials.model_validate(data)
    assert (credentials.party_id, credentials.country_code) == ("EXA", "NL")
    assert credentials.business_details.name == "Example Operator"
    assert "roles" not in Credentials.model_fields
    data["token"] = "t" * 65
    with pytest.raises(ValidationError) as info:
        Credentials.model_validate(data)
    assert _locs(info.value) == [("token",)]


def test_authorization_info_and_location_references(token_data: dict[str, Any]) -> None:
    info = AuthorizationInfo.model_validate(
        {
            "allowed": "ALLOWED",
            "location": {"location_id": "LOC1", "evse_uids": ["3256"], "connector_ids": ["1"]},
            "info": {"language": "en", "text": "Welcome"},
        }
    )
    assert info.allowed is Allowed.ALLOWED
    assert info.location == LocationReferences(location_id="LOC1", evse_uids=["3256"], connector_ids=["1"])
    assert "token" not in AuthorizationInfo.model_fields
    with pytest.raises(ValidationError) as error:
        AuthorizationInfo.model_validate({"allowed": "UNKNOWN"})
    assert _locs(error.value) == [("allowed",)]


def test_command_response_includes_timeout_and_reservation_id_is_int(token_data: dict[str, Any]) -> None:
    assert CommandResponse.model_validate({"result": "TIMEOUT"}).result is CommandResponseType.TIMEOUT
    reserve = ReserveNow.model_validate(
        {"response_url": "https://emsp/cb/2", "token": token_data, "expiry_date": "2015-06-29T23:39:09Z",
         "reservation_id": 42, "location_id": "LOC1", "evse_uid": "3256"}
    )
    assert reserve.reservation_id == 42
    assert json.loads(to_json(reserve))["reservation_id"] == 42
    with pytest.raises(ValidationError) as info:
        ReserveNow.model_validate(
            {"response_url": "https://emsp/cb/2", "token": token_data, "expiry_date": "2015-06-29T23:39:09Z",
             "reservation_id": "RES-1", "location_id": "LOC1"}
        )
    assert _locs(info.value) == [("reservation_id",)]
    assert "CANCEL_RESERVATION" not in {c.value for c in CommandType}


# --------------------------------------------------------------------------------------------
# Versions and forwarding of unknown data


def test_versions_list_with_unknown_versions_parses() -> None:
    versions = [Version.model_validate(v) for v in (
        {"version": "1.9", "url": "https://example.com/ocpi/cpo/1.9/"},
        {"version": "2.2.1", "url": "https://example.com/ocpi/2.2.1/"},
        {"version": "2.1.1", "url": "https://example.com/ocpi/cpo/2.1.1/"},
    )]
    assert [v.version for v in versions if v.version == VersionNumber.V2_1_1] == ["2.1.1"]


def test_version_details_endpoint_lookup_and_custom_modules() -> None:
    details = VersionDetails.model_validate(
        {"version": "2.1.1", "endpoints": [
            {"identifier": "credentials", "url": "https://example.com/ocpi/cpo/2.1.1/credentials/"},
            {"identifier": "nltnm-tokens", "url": "https://example.com/ocpi/cpo/2.1.1/nltnm-tokens/"},
        ]}
    )
    credentials = details.endpoint(ModuleID.CREDENTIALS)
    assert credentials is not None and credentials.url.endswith("/credentials/")
    assert details.endpoint(ModuleID.LOCATIONS) is None
    assert "role" not in type(details.endpoints[0]).model_fields
    with pytest.raises(ValidationError):
        VersionDetails.model_validate({"version": "2.1.1", "endpoints": []})


def test_unknown_fields_are_kept_and_forwarded(location_data: dict[str, Any]) -> None:
    location_data["x_vendor_note"] = {"kept": True}
    location_data["evses"][0]["connectors"][0]["x_max_power"] = 22000
    location = Location.model_validate(location_data)
    dumped = json.loads(to_json(location))
    assert dumped["x_vendor_note"] == {"kept": True}
    assert dumped["evses"][0]["connectors"][0]["x_max_power"] == 22000


def test_evse_without_connectors_list_is_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        EVSE.model_validate({"uid": "1", "status": "AVAILABLE", "last_updated": "2015-06-29T20:39:09Z"})
    assert _locs(info.value) == [("connectors",)]


def test_version_details_version_is_exact_but_list_entries_and_identifiers_are_open() -> None:
    with pytest.raises(ValidationError) as info:
        VersionDetails.model_validate({"version": "1.9", "endpoints": [{"identifier": "cdrs", "url": "u"}]})
    assert _locs(info.value) == [("version",)]
    details = VersionDetails.model_validate(
        {
            "version": "2.1.1",
            "endpoints": [{"identifier": "cdrs", "url": "u"}, {"identifier": "x-y", "url": "v"}],
        }
    )
    assert details.endpoints[0].identifier is ModuleID.CDRS
    assert details.endpoints[1].identifier == "x-y"
    assert Version.model_validate({"version": "2.1.1", "url": "u"}).version is VersionNumber.V2_1_1
