"""OICP common types: date/times keep their offset, numbers, StatusCode, Acknowledgement, Page, to_json."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import ValidationError
from pydantic_core import PydanticSerializationError

from bridge.oicp.models import (
    Acknowledgement,
    ChargeDetailRecord,
    OicpEgressError,
    Page,
    PullEvseDataResponse,
    StatusCode,
    StatusCodeEnum,
    format_oicp_datetime,
    to_json,
    to_jsonable,
)

CDR = {
    "SessionID": "b2688855-7f00-0002-6d8e-48d883f6abb6",
    "EvseID": "DE*ABC*E1234",
    "Identification": {"RFIDMifareFamilyIdentification": {"UID": "1234ABCD"}},
    "ChargingStart": "2020-09-23T16:17:53+02:00",
    "ChargingEnd": "2020-09-23T17:20:00.5+02:00",
    "SessionStart": "2020-09-23T16:15:00.038+02:00",
    "SessionEnd": "2020-09-23T17:25:00-05:30",
    "ConsumedEnergy": 12.345,
}


def test_timestamps_keep_their_offset_through_a_round_trip() -> None:
    cdr = ChargeDetailRecord.model_validate_json(json.dumps(CDR))
    assert cdr.charging_start is not None
    assert cdr.charging_start.utcoffset() == timedelta(hours=2)
    assert cdr.session_end.utcoffset() == -timedelta(hours=5, minutes=30)
    wire = json.loads(to_json(cdr))
    assert wire["ChargingStart"] == "2020-09-23T16:17:53+02:00"
    assert wire["ChargingEnd"] == "2020-09-23T17:20:00.500+02:00"
    assert wire["SessionStart"] == "2020-09-23T16:15:00.038+02:00"
    assert wire["SessionEnd"] == "2020-09-23T17:25:00-05:30"
    assert ChargeDetailRecord.model_validate_json(to_json(cdr)) == cdr


def test_naive_timestamps_are_utc_and_zero_offsets_are_written_z() -> None:
    cdr = ChargeDetailRecord.model_validate({**CDR, "SessionStart": "2020-09-23T14:15:00"})
    assert cdr.session_start == datetime(2020, 9, 23, 14, 15, tzinfo=UTC)
    assert to_jsonable(cdr)["SessionStart"] == "2020-09-23T14:15:00Z"
    # "+00:00" and "Z" are the same offset; we write Z, as every spec example does.
    assert format_oicp_datetime(datetime(2020, 1, 1, tzinfo=timezone(timedelta(0)))) == "2020-01-01T00:00:00Z"
    assert format_oicp_datetime(datetime(2020, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)) == (
        "2020-01-01T00:00:00.123456Z"
    )
    assert format_oicp_datetime(datetime(2020, 1, 1)) == "2020-01-01T00:00:00Z"


def test_invalid_timestamp_is_rejected_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="SessionStart"):
        ChargeDetailRecord.model_validate({**CDR, "SessionStart": "yesterday"})


def test_decimals_are_exact_inside_and_json_numbers_outside() -> None:
    cdr = ChargeDetailRecord.model_validate_json(
        json.dumps({**CDR, "MeterValueStart": 0.1, "MeterValueEnd": 10})
    )
    assert cdr.consumed_energy == Decimal("12.345")
    assert cdr.meter_value_start == Decimal("0.1")
    text = to_json(cdr)
    assert b'"ConsumedEnergy":12.345' in text
    assert b'"MeterValueStart":0.1' in text
    assert b'"MeterValueEnd":10' in text


def test_status_code_is_a_three_character_string() -> None:
    assert StatusCode.model_validate({"Code": "000"}).is_success
    assert StatusCode.model_validate({"Code": 0}).code == "000"  # a number is read zero-padded
    assert StatusCode.model_validate({"Code": 603}).known is StatusCodeEnum.UNKNOWN_EVSE_ID
    unknown = StatusCode.model_validate({"Code": "999"})
    assert unknown.known is None and not unknown.is_success
    for bad in ("0", "0000", "abc"):
        with pytest.raises(ValidationError, match="Code"):
            StatusCode.model_validate({"Code": bad})
    with pytest.raises(ValidationError):
        StatusCode.model_validate({"Description": "no code"})


def test_status_code_of_fills_the_spec_description() -> None:
    code = StatusCode.of(StatusCodeEnum.SESSION_IS_INVALID, "unknown session")
    assert to_jsonable(code) == {
        "Code": "400",
        "Description": "Session is invalid",
        "AdditionalInfo": "unknown session",
    }
    assert to_jsonable(StatusCode.of("999")) == {"Code": "999"}


def test_acknowledgement_helpers_and_hubject_explicit_nulls() -> None:
    assert to_jsonable(Acknowledgement.success(session_id="b2688855-7f00-0002-6d8e-48d883f6abb6")) == {
        "Result": True,
        "StatusCode": {"Code": "000", "Description": "Success"},
        "SessionID": "b2688855-7f00-0002-6d8e-48d883f6abb6",
    }
    failure = Acknowledgement.failure(StatusCodeEnum.EVSE_OUT_OF_SERVICE, "broken")
    assert not failure.result and failure.status_code.code == "700"
    # Hubject serializes absent optionals as explicit null (oicp-2.3.md §3.1).
    ack = Acknowledgement.model_validate_json(
        b'{"Result":true,"StatusCode":{"Code":"000","Description":null,"AdditionalInfo":null},'
        b'"SessionID":null,"CPOPartnerSessionID":null,"EMPPartnerSessionID":null}'
    )
    assert ack.session_id is None
    assert to_json(ack) == b'{"Result":true,"StatusCode":{"Code":"000"}}'


def test_unknown_fields_are_kept_and_forwarded() -> None:
    ack = Acknowledgement.model_validate(
        {"Result": True, "StatusCode": {"Code": "000", "Extra": 1}, "Future": "x"}
    )
    assert ack.model_extra == {"Future": "x"}
    assert to_jsonable(ack) == {"Result": True, "StatusCode": {"Code": "000", "Extra": 1}, "Future": "x"}


def test_models_are_built_by_attribute_name_and_written_by_wire_name() -> None:
    ack = Acknowledgement(result=False, status_code=StatusCode(code="022"), emp_partner_session_id="e-1")
    assert to_jsonable(ack) == {"Result": False, "StatusCode": {"Code": "022"}, "EMPPartnerSessionID": "e-1"}


def test_strict_serialization_names_the_bad_value_lenient_does_not_check() -> None:
    ack = Acknowledgement.model_validate(
        {"Result": True, "StatusCode": {"Code": "000"}, "SessionID": "string"}
    )
    with pytest.raises(OicpEgressError, match=r"SessionID 'string' is not a valid OICP SessionID"):
        to_json(ack)
    with pytest.raises(OicpEgressError, match="SessionID 'string'"):
        to_jsonable(ack)
    assert to_jsonable(ack, strict=False)["SessionID"] == "string"
    # Plain pydantic dumps are strict too (pydantic wraps the error, the message is kept).
    with pytest.raises(PydanticSerializationError, match="SessionID 'string'"):
        ack.model_dump_json(by_alias=True)


def test_page_envelope_with_spring_extras_and_null_status_code() -> None:
    page = PullEvseDataResponse.model_validate(
        {
            "content": [],
            "number": 3,
            "size": 2000,
            "totalElements": 6000,
            "totalPages": 3,
            "first": False,
            "last": True,
            "numberOfElements": 0,
            "StatusCode": None,
            "pageable": {"sort": {"sorted": False, "empty": True, "unsorted": True}, "pageSize": 2000},
            "empty": True,
        }
    )
    assert page.last and page.total_elements == 6000 and page.status_code is None
    assert page.pageable is not None and page.pageable.page_size == 2000
    assert to_jsonable(page)["pageable"]["sort"] == {"sorted": False, "empty": True, "unsorted": True}
    generic = Page[int].model_validate(
        {"content": [1, 2], "number": 0, "size": 2, "totalElements": 2, "totalPages": 1}
        | {"first": True, "last": True, "numberOfElements": 2}
    )
    assert generic.content == [1, 2]
    with pytest.raises(ValidationError, match="totalElements"):
        Page[int].model_validate({"content": [], "number": 0, "size": 2})
