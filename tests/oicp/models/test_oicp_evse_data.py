"""EVSE data (oicp-2.3.md §4.2): spellings, GeoCoordinates, legacy nulls in pulls, egress rules.

Fixtures are the official snippet records (CPO PushEvseData, EMP PullEvseData).
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

import tests.schema_oicp as schema_oicp
from bridge.oicp.models import (
    DynamicInfoAvailable,
    EvseDataRecord,
    GeoCoordinates,
    GeoCoordinatesResponseFormat,
    OicpEgressError,
    OpeningTimes,
    Plug,
    PullEvseData,
    PullEvseDataRecord,
    PullEvseDataResponse,
    PushEvseData,
    to_json,
    to_jsonable,
)


def _snippet(key: str) -> Any:
    return copy.deepcopy(next(e.value for e in schema_oicp.all_examples() if e.key == key))


@pytest.fixture
def record() -> dict[str, Any]:
    """The EvseDataRecord of the CPO PushEvseData snippet."""
    value: dict[str, Any] = _snippet("cpo:snippet:eRoamingPushEvseData:Request")["OperatorEvseData"][
        "EvseDataRecord"
    ][0]
    return value


@pytest.fixture
def pulled() -> dict[str, Any]:
    """The PullEvseDataRecord of the EMP PullEvseData response snippet."""
    value: dict[str, Any] = _snippet("emp:snippet:eRoamingPullEVSEData:Response")["content"][0]
    return value


def test_charging_station_id_both_spellings_implemented_one_emitted(record: dict[str, Any]) -> None:
    assert EvseDataRecord.model_validate(record).charging_station_id == "TEST 1"
    record["ChargingStationId"] = record.pop("ChargingStationID")  # the OpenAPI spelling
    parsed = EvseDataRecord.model_validate(record)
    assert parsed.charging_station_id == "TEST 1"
    wire = to_jsonable(parsed)
    assert wire["ChargingStationID"] == "TEST 1" and "ChargingStationId" not in wire


def test_snippet_record_values(record: dict[str, Any]) -> None:
    parsed = EvseDataRecord.model_validate(record)
    assert parsed.plugs == [Plug.TYPE_2_OUTLET]
    assert parsed.dynamic_info_available is DynamicInfoAvailable.TRUE
    assert parsed.charging_facilities[0].power == Decimal(22)
    assert parsed.opening_times is not None and parsed.opening_times[0].period[0].begin == "09:00"
    assert parsed.geo_coordinates.lat_lon() == (Decimal("52.480495"), Decimal("13.356465"))
    assert parsed.last_update is not None and parsed.last_update.microsecond == 377000


def test_dynamic_info_available_is_a_string(record: dict[str, Any]) -> None:
    record["DynamicInfoAvailable"] = "auto"
    assert to_jsonable(EvseDataRecord.model_validate(record))["DynamicInfoAvailable"] == "auto"
    record["DynamicInfoAvailable"] = True  # a JSON boolean is read as the string it stands for
    assert to_jsonable(EvseDataRecord.model_validate(record))["DynamicInfoAvailable"] == "true"
    record["DynamicInfoAvailable"] = "yes"
    with pytest.raises(ValidationError, match="DynamicInfoAvailable"):
        EvseDataRecord.model_validate(record)


def test_enums_are_exact(record: dict[str, Any]) -> None:
    record["Plugs"] = ["Type 2"]
    with pytest.raises(ValidationError, match="Plugs"):
        EvseDataRecord.model_validate(record)


def test_geo_coordinates_exactly_one_and_pull_nulls() -> None:
    pulled = GeoCoordinates.model_validate(
        {
            "Google": None,
            "DecimalDegree": {"Latitude": "47.662249", "Longitude": "9.360922"},
            "DegreeMinuteSeconds": None,
        }
    )
    assert to_jsonable(pulled) == {"DecimalDegree": {"Longitude": "9.360922", "Latitude": "47.662249"}}
    with pytest.raises(ValidationError, match="exactly one of Google, DecimalDegree, DegreeMinuteSeconds"):
        GeoCoordinates.model_validate(
            {
                "Google": {"Coordinates": "47.662249 9.360922"},
                "DecimalDegree": {"Latitude": "1.0", "Longitude": "2.0"},
            }
        )
    with pytest.raises(ValidationError, match="found none"):
        GeoCoordinates.model_validate({"Google": None})


def test_geo_coordinates_conversions() -> None:
    google = GeoCoordinates.model_validate({"Google": {"Coordinates": "47.662249, -9.360922"}})
    assert google.lat_lon() == (Decimal("47.662249"), Decimal("-9.360922"))
    dms = GeoCoordinates.model_validate(
        {"DegreeMinuteSeconds": {"Latitude": "-21°34'23.16''", "Longitude": "9°21'39.32''"}}
    )
    lat, lon = dms.lat_lon()
    assert abs(lat - Decimal("-21.573100")) < Decimal("0.000001")
    assert abs(lon - Decimal("9.360922")) < Decimal("0.000001")
    numeric = GeoCoordinates.model_validate({"DecimalDegree": {"Latitude": 47.5, "Longitude": 9}})
    assert numeric.decimal_degree is not None and numeric.decimal_degree.latitude == "47.5"
    for fmt in GeoCoordinatesResponseFormat:
        built = GeoCoordinates.from_lat_lon(Decimal("52.4804951"), Decimal("-13.356465"), fmt)
        to_json(built)  # every format passes the spec pattern on egress
        back_lat, back_lon = built.lat_lon()
        assert abs(back_lat - Decimal("52.480495")) < Decimal("0.00001")
        assert abs(back_lon + Decimal("13.356465")) < Decimal("0.00001")
    assert to_jsonable(
        GeoCoordinates.from_lat_lon("52.48", "13.35", GeoCoordinatesResponseFormat.GOOGLE)
    ) == {"Google": {"Coordinates": "52.480000 13.350000"}}


def test_malformed_coordinates_parse_but_are_not_sent() -> None:
    bad = GeoCoordinates.model_validate({"Google": {"Coordinates": "13.356465/52.480495"}})
    with pytest.raises(OicpEgressError, match=r"Coordinates '13\.356465/52\.480495'"):
        to_json(bad)


def test_legacy_nulls_in_pulls_parse_and_are_mandatory_again_on_egress(pulled: dict[str, Any]) -> None:
    # Release notes "OICP Versions - Cross Functional": HBS sends null for 2.3-mandatory fields
    # of EVSEs pushed with OICP 2.1/2.2, and for former "Unspecified" values.
    pulled.update(
        RenewableEnergy=None,
        CalibrationLawDataAvailability=None,
        PaymentOptions=None,
        Accessibility=None,
        OperatorName=None,
        Plugs=[None, "Type 2 Outlet"],
        ChargingStationNames=[{"lang": None, "value": "Ladestation"}],
    )
    pulled["Address"].update(PostalCode=None, HouseNum=None)
    pulled["ChargingFacilities"][0].update(Power=None, PowerType=None)
    record = PullEvseDataRecord.model_validate_json(json.dumps(pulled))
    assert record.renewable_energy is None and record.plugs == [None, Plug.TYPE_2_OUTLET]
    with pytest.raises(OicpEgressError) as error:
        to_json(record)
    message = str(error.value)
    for wire in ("RenewableEnergy", "CalibrationLawDataAvailability", "PaymentOptions", "Accessibility"):
        assert f"{wire} is mandatory" in message
    assert "OperatorName is mandatory" in message and "Plugs contains null" in message
    assert to_jsonable(record, strict=False)["Plugs"] == [None, "Type 2 Outlet"]
    assert record.charging_station_names is not None
    for part, needle in (
        (record.address, "PostalCode is mandatory"),
        (record.charging_facilities[0], "PowerType is mandatory"),
        (record.charging_station_names[0], "lang is mandatory"),
    ):
        with pytest.raises(OicpEgressError, match=needle):
            to_json(part)


def test_pull_record_operator_fields(pulled: dict[str, Any]) -> None:
    record = PullEvseDataRecord.model_validate(pulled)  # snippet spells "OperatorId"
    assert record.operator_id == "DE*ABC" and record.operator_name == "ABC technologies"
    del pulled["OperatorId"]
    with pytest.raises(ValidationError, match="OperatorID"):
        PullEvseDataRecord.model_validate(pulled)


def test_egress_rules_of_a_record(record: dict[str, Any]) -> None:
    parsed = EvseDataRecord.model_validate(record)
    parsed.payment_options = ["No Payment", "Direct"]  # type: ignore[list-item]
    with pytest.raises(OicpEgressError, match="'No Payment' cannot be combined"):
        to_json(parsed)
    parsed = EvseDataRecord.model_validate({**record, "OpeningTimes": None})
    with pytest.raises(OicpEgressError, match="OpeningTimes is mandatory when IsOpen24Hours is false"):
        to_json(parsed)
    facility = {**record["ChargingFacilities"][0], "Power": 3.7, "Amperage": 125}
    parsed = EvseDataRecord.model_validate({**record, "ChargingFacilities": [facility]})
    with pytest.raises(OicpEgressError, match=r"Power 3.7 is not an integer.*Amperage 125 is outside 0..99"):
        to_json(parsed)
    parsed = EvseDataRecord.model_validate({**record, "HotlinePhoneNumber": "+49 30 1234"})
    with pytest.raises(OicpEgressError, match="PhoneNumber '\\+49 30 1234'"):
        to_json(parsed)
    parsed = EvseDataRecord.model_validate({**record, "Address": {**record["Address"], "Country": "DE"}})
    with pytest.raises(OicpEgressError, match="Country 'DE' is not an alpha-3 country code"):
        to_json(parsed)


def test_pulled_power_may_be_fractional(pulled: dict[str, Any]) -> None:
    pulled["ChargingFacilities"][0]["Power"] = 3.7  # a number in the EMP OpenAPI and [W]
    record = PullEvseDataRecord.model_validate(pulled)
    assert record.charging_facilities[0].power == Decimal("3.7")
    assert to_jsonable(record, strict=False)["ChargingFacilities"][0]["Power"] == 3.7


def test_opening_times_on_spellings() -> None:
    parsed = OpeningTimes.model_validate({"Period": [{"begin": "08:00", "end": "18:00"}], "On": "Workdays"})
    assert to_jsonable(parsed) == {"Period": [{"begin": "08:00", "end": "18:00"}], "on": "Workdays"}
    with pytest.raises(OicpEgressError, match="begin '8h' is not hh:mm"):
        to_json(OpeningTimes.model_validate({"Period": [{"begin": "8h", "end": "18:00"}], "on": "Monday"}))


def test_pull_evse_data_operator_ids_both_spellings_implemented_one_emitted() -> None:
    request = {"ProviderID": "DE-DCB", "GeoCoordinatesResponseFormat": "DecimalDegree"}
    for spelling in ("OperatorIds", "OperatorIDs"):
        parsed = PullEvseData.model_validate({**request, spelling: ["DE*ABC"]})
        assert parsed.operator_ids == ["DE*ABC"]
        assert to_jsonable(parsed) == {**request, "OperatorIds": ["DE*ABC"]}


def test_push_and_pull_snippets_round_trip() -> None:
    push = PushEvseData.model_validate(_snippet("cpo:snippet:eRoamingPushEvseData:Request"))
    assert PushEvseData.model_validate_json(to_json(push)) == push
    page = PullEvseDataResponse.model_validate(_snippet("emp:snippet:eRoamingPullEVSEData:Response"))
    assert page.total_elements == 8 and not page.last
    assert PullEvseDataResponse.model_validate_json(to_json(page)) == page
