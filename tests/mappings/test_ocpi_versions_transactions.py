"""OCPI 2.1.1 ⇄ 2.2.1, the rows of docs/ocpi.md §5 about transactions: Session, CDR, Tariff, Token,
Authorize, Commands, Status codes, DateTime."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bridge.errors import MappingError
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.models.common import to_json
from mappings import ocpi_versions as ov
from mappings.result import LossKind, Translation


@pytest.fixture(scope="module")
def ex211(shared_dir: Path) -> Path:
    return shared_dir / "specs" / "ocpi-2.1.1" / "examples"


@pytest.fixture(scope="module")
def ex221(shared_dir: Path) -> Path:
    return shared_dir / "specs" / "ocpi-2.2.1" / "examples"


@pytest.fixture(scope="module")
def loc1(ex221: Path) -> v221.Location:
    """The Location cache entry the 2.2.1 Session and CDR examples refer to (LOC1/3256/1)."""
    return v221.Location.model_validate_json((ex221 / "location_example.json").read_bytes())


def _load(folder: Path, name: str) -> Any:
    return json.loads((folder / name).read_bytes())


def _paths(t: Translation[Any], kind: LossKind | None = None) -> set[str]:
    return {loss.path for loss in t.losses if kind is None or loss.kind is kind}


def no_token(auth_id: str) -> v221.Token | None:
    return None


@pytest.fixture
def session211(ex211: Path) -> dict[str, Any]:
    data: dict[str, Any] = _load(
        ex211, "mod_sessions__simple_session_example_of_a_short_finished_session.json"
    )
    return data


def _token221(**update: Any) -> v221.Token:
    base = {
        "country_code": "DE",
        "party_id": "TNM",
        "uid": "012345678",
        "type": "RFID",
        "contract_id": "DE8ACC12E46L89",
        "issuer": "TheNewMotion",
        "valid": True,
        "whitelist": "ALLOWED",
        "last_updated": "2015-06-29T22:39:09Z",
    }
    return v221.Token.model_validate({**base, **update})


class TestRowSession:
    def test_up_renames_and_moves_fields(self, session211: dict[str, Any]) -> None:
        cached = _token221()
        result = ov.session_up(
            v211.Session.model_validate(session211),
            country_code="BE",
            party_id="BEC",
            token_lookup=lambda auth_id: cached if auth_id == cached.contract_id else None,
        )
        value = result.value
        assert (
            value.start_date_time.isoformat(),
            value.end_date_time and value.end_date_time.isoformat(),
        ) == ("2015-06-29T22:39:09+00:00", "2015-06-29T23:50:16+00:00")
        assert value.cdr_token == v221.CdrToken(
            country_code="DE",
            party_id="TNM",
            uid="012345678",
            type=v221.TokenType.RFID,
            contract_id="DE8ACC12E46L89",
        )
        assert (value.location_id, value.evse_uid, value.connector_id) == ("LOC1", "3256", "1")
        assert value.total_cost == v221.Price(excl_vat=Decimal("8.50"))
        assert (value.country_code, value.party_id) == ("BE", "BEC")
        assert "auth_id" not in _paths(result)
        assert {
            "location.type",
            "location.address",
            "location.evses[0].status",
            "location.evses[0].connectors[0].voltage",
        } <= _paths(result, LossKind.LOST)

    def test_up_without_the_token_in_the_cache_is_lossy(self, session211: dict[str, Any]) -> None:
        result = ov.session_up(
            v211.Session.model_validate(session211),
            country_code="BE",
            party_id="BEC",
            token_lookup=no_token,
            token_country_code="DE",
            token_party_id="8AC",
        )
        assert result.value.cdr_token == v221.CdrToken(
            country_code="DE",
            party_id="8AC",
            uid="DE8ACC12E46L89",
            type=v221.TokenType.OTHER,
            contract_id="DE8ACC12E46L89",
        )
        assert "auth_id" in _paths(result, LossKind.CHANGED)
        assert {"cdr_token.country_code", "cdr_token.party_id"} <= _paths(result, LossKind.DEFAULTED)

    def test_up_refuses_an_ambiguous_location(self, session211: dict[str, Any]) -> None:
        evse = session211["location"]["evses"][0]
        session211["location"]["evses"].append({**evse, "uid": "3257"})
        with pytest.raises(MappingError) as info:
            ov.session_up(
                v211.Session.model_validate(session211),
                country_code="BE",
                party_id="BEC",
                token_lookup=no_token,
            )
        assert info.value.path == "location.evses"

    def test_down_embeds_only_the_evse_and_connector_used(self, ex221: Path, loc1: v221.Location) -> None:
        session = v221.Session.model_validate(_load(ex221, "session_example_2_short_finished.json"))
        result = ov.session_down(session, location=loc1)
        location = result.value.location
        assert [(e.uid, [c.id for c in e.connectors]) for e in location.evses or []] == [("3256", ["1"])]
        assert (result.value.auth_id, result.value.total_cost) == ("NL-TST-C12345678-S", Decimal("8.50"))
        assert {
            "total_cost.incl_vat",
            "cdr_token.uid",
            "cdr_token.type",
            "charging_periods[2].tariff_id",
            "country_code",
            "party_id",
        } <= _paths(result, LossKind.LOST)

    def test_down_reservation_and_command(self, ex221: Path, loc1: v221.Location) -> None:
        session = v221.Session.model_validate(_load(ex221, "session_example_1_simple_start.json")).model_copy(
            update={"status": v221.SessionStatus.RESERVATION, "auth_method": v221.AuthMethod.COMMAND}
        )
        result = ov.session_down(session, location=loc1)
        assert (result.value.status, result.value.auth_method) == (
            v211.SessionStatus.PENDING,
            v211.AuthMethod.AUTH_REQUEST,
        )
        assert {"status", "auth_method"} <= _paths(result, LossKind.CHANGED)

    def test_down_needs_the_matching_location_evse_and_connector(
        self, ex221: Path, loc1: v221.Location
    ) -> None:
        session = v221.Session.model_validate(_load(ex221, "session_example_1_simple_start.json"))
        for update, path in (
            ({"location_id": "LOC2"}, "location_id"),
            ({"evse_uid": "9999"}, "evse_uid"),
            ({"connector_id": "7"}, "connector_id"),
        ):
            with pytest.raises(MappingError) as info:
                ov.session_down(session.model_copy(update=update), location=loc1)
            assert info.value.path == path

    def test_down_of_a_session_at_an_unpublished_location_is_allowed(
        self, ex221: Path, loc1: v221.Location
    ) -> None:
        session = v221.Session.model_validate(_load(ex221, "session_example_1_simple_start.json"))
        result = ov.session_down(session, location=loc1.model_copy(update={"publish": False}))
        assert result.value.location.id == "LOC1"


class TestRowCdr:
    def test_up(self, ex211: Path) -> None:
        data = _load(ex211, "mod_cdrs__example_of_a_cdr.json")
        data["charging_periods"][0]["dimensions"].append({"type": "FLAT", "volume": 1})
        result = ov.cdr_up(
            v211.CDR.model_validate(data), country_code="BE", party_id="BEC", token_lookup=no_token
        )
        value = result.value
        assert value.end_date_time.isoformat() == "2015-06-29T23:37:32+00:00"
        assert (
            value.cdr_location.id,
            value.cdr_location.evse_uid,
            value.cdr_location.evse_id,
            value.cdr_location.connector_power_type,
        ) == ("LOC1", "3256", "BE-BEC-E041503003", v221.PowerType.AC_1_PHASE)
        assert value.total_cost == v221.Price(excl_vat=Decimal("4.00"))
        assert [d.type.value for d in value.charging_periods[0].dimensions] == ["TIME"]
        assert "charging_periods[0].dimensions[1]" in _paths(result, LossKind.LOST)
        assert value.tariffs and (value.tariffs[0].country_code, value.tariffs[0].party_id) == ("BE", "BEC")
        assert "location.evses[0].connectors[0].tariff_id" in _paths(result, LossKind.LOST)

    def test_down_refuses_credit_cdrs(self, ex221: Path, loc1: v221.Location) -> None:
        data = {
            **_load(ex221, "cdr_example.json"),
            "id": "12345-C",
            "credit": True,
            "credit_reference_id": "12345",
        }
        with pytest.raises(MappingError) as info:
            ov.cdr_down(v221.CDR.model_validate(data), location=loc1)
        assert info.value.path == "credit"

    def test_down_drops_what_2_1_1_cannot_carry(self, ex221: Path, loc1: v221.Location) -> None:
        data = _load(ex221, "cdr_example.json")
        data["charging_periods"][0]["dimensions"] += [
            {"type": "RESERVATION_TIME", "volume": 0.5},
            {"type": "MAX_POWER", "volume": 11},
            {"type": "MIN_POWER", "volume": 1},
        ]
        data["signed_data"] = {
            "encoding_method": "OCMF",
            "signed_values": [{"nature": "Start", "plain_data": "x", "signed_data": "y"}],
        }
        data["total_reservation_cost"] = {"excl_vat": 1}
        result = ov.cdr_down(v221.CDR.model_validate(data), location=loc1)
        assert [d.type.value for d in result.value.charging_periods[0].dimensions] == ["TIME"]
        assert {
            "signed_data",
            "total_time_cost",
            "total_reservation_cost",
            "charging_periods[0].dimensions[1]",
            "charging_periods[0].dimensions[2]",
            "charging_periods[0].dimensions[3]",
        } <= _paths(result)
        assert result.value.location.evses and result.value.location.evses[0].evse_id == "BE*BEC*E041503003"

    def test_down_refuses_ids_longer_than_36(self, ex221: Path, loc1: v221.Location) -> None:
        data = {**_load(ex221, "cdr_example.json"), "id": "C" * 39}
        with pytest.raises(MappingError) as info:
            ov.cdr_down(v221.CDR.model_validate(data), location=loc1)
        assert info.value.path == "id"


class TestRowTariff:
    def test_up_adds_owner_fields_and_end_of_day(self, ex211: Path) -> None:
        data = _load(ex211, "mod_tariffs__complex_tariff_example.json")
        data["elements"][4]["restrictions"]["end_time"] = "24:00"
        result = ov.tariff_up(v211.Tariff.model_validate(data), country_code="NL", party_id="TNM")
        assert (result.value.country_code, result.value.party_id) == ("NL", "TNM")
        restrictions = result.value.elements[4].restrictions
        assert restrictions is not None and restrictions.end_time == "00:00"
        assert _paths(result, LossKind.CHANGED) == {"elements[4].restrictions.end_time"}

    def test_down_drops_2_2_1_only_fields(self, ex221: Path) -> None:
        result = ov.tariff_down(
            v221.Tariff.model_validate(_load(ex221, "tariff_6_025kwh_start_max_price.json"))
        )
        assert _paths(result, LossKind.LOST) == {
            "country_code",
            "party_id",
            "max_price",
            "end_date_time",
            "elements[0].price_components[0].vat",
            "elements[0].price_components[1].vat",
        }

    def test_down_drops_current_restrictions_and_type(self, ex221: Path) -> None:
        result = ov.tariff_down(v221.Tariff.model_validate(_load(ex221, "tariff_4_complex.json")))
        assert {
            "type",
            "elements[1].restrictions.max_current",
            "elements[2].restrictions.min_current",
        } <= _paths(result, LossKind.LOST)
        assert result.value.elements[1].restrictions is None

    def test_down_omits_reservation_elements_and_refuses_a_reservation_only_tariff(self, ex221: Path) -> None:
        tariff = v221.Tariff.model_validate(
            _load(ex221, "tariff_16_reservation_2_euro_fee_5_euro_per_hour.json")
        )
        result = ov.tariff_down(tariff)
        assert [[c.type.value for c in e.price_components] for e in result.value.elements] == [
            ["FLAT", "ENERGY"]
        ]
        assert "elements[0]" in _paths(result, LossKind.LOST)
        with pytest.raises(MappingError) as info:
            ov.tariff_down(tariff.model_copy(update={"elements": tariff.elements[:1]}))
        assert info.value.path == "elements"


class TestRowToken:
    def test_up(self, ex211: Path) -> None:
        result = ov.token_up(
            v211.Token.model_validate(_load(ex211, "mod_tokens__example.json")),
            country_code="DE",
            party_id="TNM",
        )
        assert (result.value.contract_id, result.value.uid, result.value.type) == (
            "DE8ACC12E46L89",
            "012345678",
            v221.TokenType.RFID,
        )
        assert _paths(result, LossKind.DEFAULTED) == {"country_code", "party_id"}

    @pytest.mark.parametrize("token_type", ["APP_USER", "AD_HOC_USER"])
    def test_down_collapses_app_and_ad_hoc_users_to_other(self, token_type: str) -> None:
        result = ov.token_down(_token221(type=token_type))
        assert result.value.type is v211.TokenType.OTHER
        assert _paths(result, LossKind.CHANGED) == {"type"}

    def test_down_drops_2_2_1_only_fields(self, ex221: Path) -> None:
        result = ov.token_down(v221.Token.model_validate(_load(ex221, "token_example_2_full_rfid.json")))
        assert result.value.auth_id == "DE8ACC12E46L89"
        assert _paths(result, LossKind.LOST) == {
            "country_code",
            "party_id",
            "group_id",
            "default_profile_type",
            "energy_contract",
        }


class TestRowAuthorize:
    def test_up_fills_the_token_and_drops_connector_ids(self) -> None:
        info = v211.AuthorizationInfo.model_validate(
            {
                "allowed": "ALLOWED",
                "location": {"location_id": "LOC1", "evse_uids": ["3256"], "connector_ids": ["1"]},
            }
        )
        token = _token221()
        result = ov.authorization_info_up(info, token=token)
        assert (result.value.allowed, result.value.token) == (v221.AllowedType.ALLOWED, token)
        assert result.value.location == v221.LocationReferences(location_id="LOC1", evse_uids=["3256"])
        assert _paths(result) == {"token", "location.connector_ids"}

    def test_request_location_references_up_ignores_connector_ids(self) -> None:
        result = ov.location_references_up(v211.LocationReferences(location_id="LOC1", connector_ids=["1"]))
        assert result.value == v221.LocationReferences(location_id="LOC1")
        assert _paths(result, LossKind.LOST) == {"connector_ids"}

    def test_down_drops_token_and_authorization_reference(self) -> None:
        info = v221.AuthorizationInfo(
            allowed=v221.AllowedType.BLOCKED,
            token=_token221(),
            authorization_reference="REF-1",
            location=v221.LocationReferences(location_id="LOC1", evse_uids=["3256"]),
        )
        result = ov.authorization_info_down(info)
        assert result.value == v211.AuthorizationInfo(
            allowed=v211.Allowed.BLOCKED,
            location=v211.LocationReferences(location_id="LOC1", evse_uids=["3256"]),
        )
        assert _paths(result, LossKind.LOST) == {"token", "authorization_reference"}


class TestRowCommands:
    @pytest.mark.parametrize(
        ("sent", "result", "changed"),
        [
            ("ACCEPTED", "ACCEPTED", False),
            ("REJECTED", "REJECTED", False),
            ("TIMEOUT", "TIMEOUT", False),
            ("NOT_SUPPORTED", "NOT_SUPPORTED", False),
            ("UNKNOWN_SESSION", "REJECTED", True),
        ],
    )
    def test_async_command_response_up_is_a_command_result(
        self, sent: str, result: str, changed: bool
    ) -> None:
        translated = ov.command_response_up(v211.CommandResponse.model_validate({"result": sent}))
        assert translated.value == v221.CommandResult(result=v221.CommandResultType(result))
        assert bool(translated.losses) is changed

    def test_sync_command_response_up_gets_a_default_timeout(self) -> None:
        accepted = ov.command_response_sync_up(v211.CommandResponse(result=v211.CommandResponseType.ACCEPTED))
        assert (accepted.value.result, accepted.value.timeout) == (
            v221.CommandResponseType.ACCEPTED,
            ov.DEFAULT_COMMAND_TIMEOUT,
        )
        assert _paths(accepted, LossKind.DEFAULTED) == {"timeout"}
        timeout = ov.command_response_sync_up(
            v211.CommandResponse(result=v211.CommandResponseType.TIMEOUT), timeout=30
        )
        assert (timeout.value.result, timeout.value.timeout) == (v221.CommandResponseType.REJECTED, 30)

    @pytest.mark.parametrize(
        ("result", "sent"),
        [
            ("ACCEPTED", "ACCEPTED"),
            ("NOT_SUPPORTED", "NOT_SUPPORTED"),
            ("REJECTED", "REJECTED"),
            ("TIMEOUT", "TIMEOUT"),
            ("EVSE_OCCUPIED", "REJECTED"),
            ("EVSE_INOPERATIVE", "REJECTED"),
            ("FAILED", "REJECTED"),
            ("UNKNOWN_RESERVATION", "REJECTED"),
            ("CANCELED_RESERVATION", "REJECTED"),
        ],
    )
    def test_command_result_down(self, result: str, sent: str) -> None:
        message = [v221.DisplayText(language="en", text="x")]
        translated = ov.command_result_down(
            v221.CommandResult(result=v221.CommandResultType(result), message=message)
        )
        assert translated.value == v211.CommandResponse(result=v211.CommandResponseType(sent))
        assert ("result" in _paths(translated, LossKind.CHANGED)) is (result != sent)
        assert "message" in _paths(translated, LossKind.LOST)

    def test_cancel_reservation_is_not_supported(self) -> None:
        result = ov.cancel_reservation_down(
            v221.CancelReservation(response_url="https://e/cb/1", reservation_id="R-1")
        )
        assert result.value.result is v221.CommandResponseType.NOT_SUPPORTED
        assert result.losses and result.losses[0].kind is LossKind.LOST

    def test_reserve_now_down_uses_the_int_reservation_id(self) -> None:
        command = v221.ReserveNow(
            response_url="https://e/cb/2",
            token=_token221(type="APP_USER"),
            expiry_date="2020-01-01T10:00:00Z",
            reservation_id="RES-0042",
            location_id="LOC1",
            authorization_reference="AR-1",
        )
        result = ov.reserve_now_down(command, reservation_id_int=42)
        assert (result.value.reservation_id, result.value.token.type) == (42, v211.TokenType.OTHER)
        assert {"reservation_id", "token.type"} <= _paths(result, LossKind.CHANGED)
        assert "authorization_reference" in _paths(result, LossKind.LOST)
        back = ov.reserve_now_up(result.value, country_code="DE", party_id="TNM")
        assert back.value.reservation_id == "42"

    def test_start_session_down_drops_connector_id_and_authorization_reference(self) -> None:
        command = v221.StartSession(
            response_url="https://e/cb/3",
            token=_token221(),
            location_id="LOC1",
            evse_uid="3256",
            connector_id="1",
            authorization_reference="AR-2",
        )
        result = ov.start_session_down(command)
        assert (result.value.location_id, result.value.evse_uid, result.value.token.auth_id) == (
            "LOC1",
            "3256",
            "DE8ACC12E46L89",
        )
        assert {"connector_id", "authorization_reference", "token.country_code"} <= _paths(
            result, LossKind.LOST
        )
        up = ov.start_session_up(result.value, country_code="DE", party_id="TNM")
        assert up.value.token.contract_id == "DE8ACC12E46L89"

    def test_stop_and_unlock_are_the_same_in_both_versions(self) -> None:
        stop = v221.StopSession(response_url="https://e/cb/4", session_id="101")
        assert ov.stop_session_up(ov.stop_session_down(stop).value).value == stop
        unlock = v221.UnlockConnector(
            response_url="https://e/cb/5", location_id="LOC1", evse_uid="3256", connector_id="1"
        )
        assert ov.unlock_connector_up(ov.unlock_connector_down(unlock).value).value == unlock
        command_response = v221.CommandResponse(result=v221.CommandResponseType.ACCEPTED, timeout=30)
        down = ov.command_response_down(command_response)
        assert down.value.result is v211.CommandResponseType.ACCEPTED
        assert _paths(down, LossKind.LOST) == {"timeout"}


class TestRowStatusCodesAndDateTime:
    @pytest.mark.parametrize(
        ("code", "sent"),
        [
            (1000, 1000),
            (2001, 2001),
            (2003, 2003),
            (3003, 3003),
            (1900, 1000),
            (2004, 2000),
            (2901, 2000),
            (3900, 3000),
            (4000, 3000),
            (4001, 3000),
            (4003, 3000),
        ],
    )
    def test_status_code_down(self, code: int, sent: int) -> None:
        result = ov.status_code_down(code)
        assert result.value == sent
        assert bool(result.losses) is (code != sent)

    def test_down_emits_datetimes_without_fractions(self, ex221: Path, loc1: v221.Location) -> None:
        data = {
            **_load(ex221, "session_example_1_simple_start.json"),
            "start_date_time": "2020-03-09T10:17:09.123Z",
        }
        dumped = json.loads(to_json(ov.session_down(v221.Session.model_validate(data), location=loc1).value))
        assert dumped["start_datetime"] == "2020-03-09T10:17:09Z"

    def test_up_accepts_the_forms_with_and_without_fractions(self, session211: dict[str, Any]) -> None:
        for form in ("2015-06-29T22:39:09", "2015-06-29T22:39:09.2Z", "2015-06-29T22:39:09.123Z"):
            session = v211.Session.model_validate({**session211, "start_datetime": form})
            up = ov.session_up(session, country_code="BE", party_id="BEC", token_lookup=no_token)
            assert up.value.start_date_time.replace(microsecond=0).isoformat() == "2015-06-29T22:39:09+00:00"
