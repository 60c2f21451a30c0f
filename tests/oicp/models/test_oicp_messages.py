"""OICP operations: notifications, CDRs, remote/reservation, status pulls, pricing (spellings of §8.5).

Fixtures are the official snippets; each test changes only what it exercises.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

import tests.schema_oicp as schema_oicp
from bridge.oicp.models import (
    Acknowledgement,
    AuthorizationStatus,
    AuthorizationStop,
    AuthorizeRemoteReservationStart,
    AuthorizeRemoteReservationStop,
    AuthorizeRemoteStart,
    AuthorizeStart,
    ChargeDetailRecord,
    ChargingNotificationEnd,
    ChargingNotificationError,
    ChargingNotificationProgress,
    ChargingNotificationStart,
    ErrorType,
    EvseDataRecord,
    EvseStatus,
    GeoCoordinatesGoogle,
    GetChargeDetailRecords,
    Identification,
    OicpEgressError,
    OpeningTimes,
    ProductAvailabilityTimes,
    PullEvseData,
    PullEvseDataRecord,
    PullEVSEPricing,
    PullEVSEPricingResponse,
    PullEvseStatus,
    PullEvseStatusByID,
    PullEvseStatusByIDResponse,
    PullEvseStatusResponse,
    PullPricingProductData,
    PullPricingProductDataResponse,
    parse_charging_notification,
    to_json,
    to_jsonable,
)


def _snippet(key: str) -> Any:
    return copy.deepcopy(next(e.value for e in schema_oicp.all_examples() if e.key == key))


def _openapi(side: str, schema: str) -> Any:
    key = f"{side}:openapi:/components/schemas/{schema}/example"
    return copy.deepcopy(next(e.value for e in schema_oicp.all_examples() if e.key == key))


NOTIFICATIONS: dict[str, type[BaseModel]] = {
    "Start": ChargingNotificationStart,
    "Progress": ChargingNotificationProgress,
    "End": ChargingNotificationEnd,
    "Error": ChargingNotificationError,
}


@pytest.mark.parametrize(("kind", "model"), NOTIFICATIONS.items())
def test_notifications_are_discriminated_by_type(kind: str, model: type[BaseModel]) -> None:
    body = _snippet(f"cpo:snippet:eRoamingChargingNotification{kind}:Request")
    notification = parse_charging_notification(json.dumps(body))
    assert type(notification) is model
    assert to_jsonable(notification)["Type"] == kind
    for other in set(NOTIFICATIONS) - {kind}:  # the Type decides, not the fields present
        with pytest.raises(ValidationError):
            NOTIFICATIONS[other].model_validate(body)


def test_notification_without_or_with_unknown_type_fails() -> None:
    body = _snippet("cpo:snippet:eRoamingChargingNotificationStart:Request")
    del body["Type"]
    with pytest.raises(ValidationError, match="Unable to extract tag using discriminator"):
        parse_charging_notification(json.dumps(body))
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        parse_charging_notification(json.dumps({**body, "Type": "Pause"}))


def test_error_types() -> None:
    body = _snippet("cpo:snippet:eRoamingChargingNotificationError:Request")
    for received, expected in (
        ("CriticalError", ErrorType.CRITICAL_ERROR),
        ("Connector Error", ErrorType.CONNECTOR_ERROR),  # the CPO table's spelling
    ):
        notification = parse_charging_notification(json.dumps({**body, "ErrorType": received}))
        assert isinstance(notification, ChargingNotificationError)
        assert notification.error_type is expected
        assert to_jsonable(notification)["ErrorType"] == expected.value
    with pytest.raises(ValidationError, match="ErrorType"):
        parse_charging_notification(json.dumps({**body, "ErrorType": "Unknown"}))


def test_notification_egress_rules() -> None:
    progress = _snippet("cpo:snippet:eRoamingChargingNotificationProgress:Request")
    del progress["ChargingDuration"], progress["ConsumedEnergyProgress"]
    parsed = parse_charging_notification(json.dumps(progress))
    with pytest.raises(OicpEgressError, match="ChargingDuration or ConsumedEnergyProgress is mandatory"):
        to_json(parsed)
    error = _snippet("cpo:snippet:eRoamingChargingNotificationError:Request")
    del error["OperatorID"]  # optional in the spec table, mandatory in the OpenAPI
    parsed = parse_charging_notification(json.dumps(error))
    assert parsed.operator_id is None
    with pytest.raises(OicpEgressError, match="OperatorID is mandatory"):
        to_json(parsed)


def test_meter_value_in_between_is_an_object_a_bare_list_is_accepted() -> None:
    end = _snippet("cpo:snippet:eRoamingChargingNotificationEnd:Request")
    parsed = parse_charging_notification(json.dumps({**end, "MeterValueInBetween": [1.5, 2]}))
    assert isinstance(parsed, ChargingNotificationEnd)
    assert parsed.meter_value_in_between is not None
    assert parsed.meter_value_in_between.meter_values == [Decimal("1.5"), Decimal(2)]
    assert to_jsonable(parsed)["MeterValueInBetween"] == {"meterValues": [1.5, 2]}


def _cdr() -> dict[str, Any]:
    cdr: dict[str, Any] = _openapi("cpo", "eRoamingChargeDetailRecord")
    cdr["Identification"] = {"RFIDMifareFamilyIdentification": {"UID": "1234ABCD"}}
    return cdr


def test_cdr_hub_provider_id_spellings() -> None:
    cdr = _cdr()
    cdr["HubProviderId"] = cdr.pop("HubProviderID")  # the EMP OpenAPI spelling
    parsed = ChargeDetailRecord.model_validate(cdr)
    assert parsed.hub_provider_id == "DE-DCB"
    wire = to_jsonable(parsed)
    assert wire["HubProviderID"] == "DE-DCB" and "HubProviderId" not in wire
    assert wire["MeterValueInBetween"] == {"meterValues": [10]}


def test_legacy_cdr_without_charging_times_parses_but_is_not_sent() -> None:
    cdr = _cdr()
    del cdr["ChargingStart"], cdr["ChargingEnd"]  # mandatory since OICP 2.3 only
    parsed = ChargeDetailRecord.model_validate(cdr)
    with pytest.raises(
        OicpEgressError, match=r"ChargingStart is mandatory in OICP 2\.3; ChargingEnd is mandatory"
    ):
        to_json(parsed)
    too_many = _cdr()
    too_many["SignedMeteringValues"] = [{"SignedMeteringValue": "x", "MeteringStatus": "Progress"}] * 11
    with pytest.raises(OicpEgressError, match="at most 10"):
        to_json(ChargeDetailRecord.model_validate(too_many))


def test_get_charge_detail_records_spellings() -> None:
    request = _openapi("emp", "eRoamingGetChargeDetailRecords")  # scalar OperatorID, CDRForwarded
    parsed = GetChargeDetailRecords.model_validate(request)
    assert parsed.operator_id == ["DE*ABC"] and parsed.cdr_forwarded is False
    request["CDRForwarder"] = request.pop("CDRForwarded")  # the OpenAPI schema's typo
    request["CDRForwarder"] = True
    parsed = GetChargeDetailRecords.model_validate(request)
    wire = to_jsonable(parsed)
    assert wire["CDRForwarded"] is True and "CDRForwarder" not in wire
    assert wire["OperatorID"] == ["DE*ABC"]
    assert wire["From"] == "2020-08-23T14:20:10.285Z"


def test_reservation_partner_session_id_spellings_and_duration() -> None:
    start = _snippet("cpo:snippet:eRoamingRemoteReservationStart:Request")
    start["Identification"] = {"RemoteIdentification": {"EvcoID": "DE-DCB-C12345678-X"}}
    start["SessionID"] = "b2688855-7f00-0002-6d8e-48d883f6abb6"
    start["EMPPartnerSessionId"] = start.pop("EMPPartnerSessionID")
    parsed = AuthorizeRemoteReservationStart.model_validate(start)
    assert parsed.emp_partner_session_id == "2345ABC" and parsed.duration == 15
    assert to_jsonable(parsed)["EMPPartnerSessionID"] == "2345ABC"
    parsed.duration = 120
    with pytest.raises(OicpEgressError, match=r"Duration 120 is outside 1\.\.99"):
        to_json(parsed)
    stop = _snippet("cpo:snippet:eRoamingRemoteReservationStop:Request")
    stop["EMPPartnerSessionId"] = stop.pop("EMPPartnerSessionID")
    assert "EMPPartnerSessionID" in to_jsonable(AuthorizeRemoteReservationStop.model_validate(stop))


def test_remote_start_from_an_emp_has_no_session_id() -> None:
    start = AuthorizeRemoteStart(
        provider_id="DE-DCB",
        evse_id="DE*ABC*E1",
        identification=Identification.from_remote("DE-DCB-C12345678-X"),
    )
    assert to_jsonable(start) == {
        "ProviderID": "DE-DCB",
        "EvseID": "DE*ABC*E1",
        "Identification": {"RemoteIdentification": {"EvcoID": "DE-DCB-C12345678-X"}},
    }


def test_authorization_snippets() -> None:
    body = _snippet("cpo:snippet:eRoamingAuthorizeStop:Response")
    parsed = AuthorizationStop.model_validate(body)
    assert parsed.authorization_status is AuthorizationStatus.AUTHORIZED
    assert parsed.status_code.is_success
    request = _snippet("cpo:snippet:eRoamingAuthorizeStart:Request")
    request["Identification"] = {"QRCodeIdentification": {"EvcoID": "DE-DCB-C12345678-X", "PIN": "1234"}}
    assert AuthorizeStart.model_validate(request).identification.evco_id == "DE-DCB-C12345678-X"


def test_pull_evse_status_filter_spellings() -> None:
    body = {"ProviderID": "DE-DCB", "EVSEStatus": "Available"}  # the OpenAPI schema's spelling
    parsed = PullEvseStatus.model_validate(body)
    assert parsed.evse_status is EvseStatus.AVAILABLE
    assert to_jsonable(parsed) == {"ProviderID": "DE-DCB", "EvseStatus": "Available"}


def test_pull_evse_status_by_id_envelope_and_limit() -> None:
    response = PullEvseStatusByIDResponse.model_validate(
        _snippet("emp:snippet:eRoamingPullEVSEStatusByID:Response")
    )
    assert response.evse_status_records.evse_status_record[0].evse_status is EvseStatus.AVAILABLE
    with pytest.raises(ValidationError, match="EVSEStatusRecords"):
        # the by-ID answer is not the EvseStatuses envelope (hubject/oicp#117)
        PullEvseStatusByIDResponse.model_validate(_snippet("emp:snippet:eRoamingPullEVSEStatus:Response"))
    statuses = PullEvseStatusResponse.model_validate(
        _snippet("emp:snippet:eRoamingPullEVSEStatusByOperatorID:Response")
    )
    assert statuses.evse_statuses.operator_evse_status[0].operator_id == "DE*ABC"
    request = PullEvseStatusByID(provider_id="DE-DCB", evse_id=[f"DE*ABC*E{n}" for n in range(101)])
    with pytest.raises(OicpEgressError, match="101 EVSEs, at most 100"):
        to_json(request)
    request.evse_id.pop()
    assert len(json.loads(to_json(request))["EvseID"]) == 100


def test_pricing_pull_spellings() -> None:
    for spelling in ("OperatorIDs", "OperatorIds"):
        parsed = PullPricingProductData.model_validate({spelling: ["DE*ABC"]})
        assert to_jsonable(parsed) == {"OperatorIDs": ["DE*ABC"]}
    evse = PullEVSEPricing.model_validate(_snippet("emp:snippet:eRoamingPullEVSEPricing:Request"))
    assert to_jsonable(evse)["LastCall"] == "2020-09-23T14:33:03.126Z"
    times = ProductAvailabilityTimes.model_validate(
        {"Period": [{"begin": "09:00", "end": "18:00"}], "on": "Weekend"}
    )
    assert to_jsonable(times) == {"Periods": [{"begin": "09:00", "end": "18:00"}], "on": "Weekend"}


def test_pricing_pull_responses() -> None:
    response = PullEVSEPricingResponse.model_validate(
        _snippet("emp:snippet:eRoamingPullEVSEPricing:Response")
    )
    assert response.evse_pricing[0].evse_pricing[0].evse_id_product_list == ["AC 1"]
    push = _snippet("cpo:snippet:eRoamingPushPricingProductData:Request")
    products = PullPricingProductDataResponse.model_validate(
        {"PricingProductData": [push["PricingProductData"]], "StatusCode": {"Code": "000"}}
    )
    record = products.pricing_product_data[0].pricing_product_data_records[0]
    assert record.price_per_reference_unit == Decimal(1) and not record.is_valid_24_hours
    assert products.pricing_product_data[0].provider_id == "*"


def _samples() -> dict[type[BaseModel], dict[str, Any]]:
    """One official example per model, in the implemented spelling, placeholders replaced."""
    session = {"SessionID": "b2688855-7f00-0002-6d8e-48d883f6abb6"}
    remote = {"Identification": {"RemoteIdentification": {"EvcoID": "DE-DCB-C12345678-X"}}}
    pulled = _snippet("emp:snippet:eRoamingPullEVSEData:Response")["content"][0]
    pulled["OperatorID"] = pulled.pop("OperatorId")
    push_pricing = _snippet("cpo:snippet:eRoamingPushPricingProductData:Request")
    return {
        EvseDataRecord: _snippet("cpo:snippet:eRoamingPushEvseData:Request")["OperatorEvseData"][
            "EvseDataRecord"
        ][0],
        PullEvseDataRecord: pulled,
        PullEvseData: {
            "ProviderID": "DE-DCB",
            "GeoCoordinatesResponseFormat": "Google",
            "OperatorIds": ["DE*ABC"],
        },
        PullPricingProductData: _snippet("emp:snippet:eRoamingPullPricingProductData:Request"),
        PullEVSEPricing: _snippet("emp:snippet:eRoamingPullEVSEPricing:Request"),
        GetChargeDetailRecords: {
            **_snippet("emp:snippet:eRoamingGetChargeDetailRecord:Request"),
            "SessionID": [session["SessionID"]],
        },
        AuthorizeRemoteReservationStart: {
            **_snippet("cpo:snippet:eRoamingRemoteReservationStart:Request"),
            **session,
            **remote,
        },
        AuthorizeRemoteReservationStop: _snippet("cpo:snippet:eRoamingRemoteReservationStop:Request"),
        Acknowledgement: _openapi("cpo", "eRoamingAcknowledgment"),
        ChargeDetailRecord: _cdr(),
        PullEvseStatus: {"ProviderID": "DE-DCB", "EvseStatus": "Available"},
        GeoCoordinatesGoogle: {"Coordinates": "52.480495 13.356465"},
        OpeningTimes: _openapi("cpo", "OpeningTimes"),
        ProductAvailabilityTimes: push_pricing["PricingProductData"]["PricingProductDataRecords"][0][
            "ProductAvailabilityTimes"
        ][0],
    }


#: oicp-2.3.md §8 point 5: (model, attribute, implemented wire name, alternate accepted on ingress).
SPELLINGS: list[tuple[type[BaseModel], str, str, str]] = [
    (EvseDataRecord, "charging_station_id", "ChargingStationID", "ChargingStationId"),
    (PullEvseDataRecord, "operator_id", "OperatorID", "OperatorId"),
    (PullEvseData, "operator_ids", "OperatorIds", "OperatorIDs"),
    (PullPricingProductData, "operator_ids", "OperatorIDs", "OperatorIds"),
    (PullEVSEPricing, "operator_ids", "OperatorIDs", "OperatorIds"),
    (GetChargeDetailRecords, "cdr_forwarded", "CDRForwarded", "CDRForwarder"),
    (AuthorizeRemoteReservationStart, "emp_partner_session_id", "EMPPartnerSessionID", "EMPPartnerSessionId"),
    (AuthorizeRemoteReservationStop, "emp_partner_session_id", "EMPPartnerSessionID", "EMPPartnerSessionId"),
    (Acknowledgement, "emp_partner_session_id", "EMPPartnerSessionID", "EMPPartnerSessionId"),
    (ChargeDetailRecord, "hub_provider_id", "HubProviderID", "HubProviderId"),
    (PullEvseStatus, "evse_status", "EvseStatus", "EVSEStatus"),
    (GeoCoordinatesGoogle, "coordinates", "Coordinates", "Coordinatea"),
    (OpeningTimes, "on", "on", "On"),
    (ProductAvailabilityTimes, "periods", "Periods", "Period"),
]


@pytest.mark.parametrize(("model", "attribute", "implemented", "alternate"), SPELLINGS)
def test_both_spellings_are_accepted_and_the_implemented_one_is_emitted(
    model: type[BaseModel], attribute: str, implemented: str, alternate: str
) -> None:
    sample = _samples()[model]
    assert implemented in sample and alternate not in sample
    with_alternate = {(alternate if key == implemented else key): item for key, item in sample.items()}
    expected = model.model_validate(sample)
    assert getattr(expected, attribute) is not None
    parsed = model.model_validate(with_alternate)
    assert parsed == expected
    wire = to_jsonable(parsed)  # strict: every sample is valid for sending
    assert wire[implemented] == sample[implemented] and alternate not in wire


def test_get_charge_detail_records_operator_id_scalar_or_array() -> None:
    request = _samples()[GetChargeDetailRecords]
    assert request["OperatorID"] == ["DE*ABC"]
    scalar = GetChargeDetailRecords.model_validate({**request, "OperatorID": "DE*ABC"})
    assert scalar == GetChargeDetailRecords.model_validate(request)
    assert to_jsonable(scalar)["OperatorID"] == ["DE*ABC"]
