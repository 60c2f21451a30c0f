"""IdentificationType (oicp-2.3.md §4.4): exactly one option, Hubject's explicit nulls, no leaks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from bridge.oicp.models import (
    AuthorizationStart,
    AuthorizeRemoteReservationStart,
    AuthorizeRemoteStart,
    AuthorizeStart,
    AuthorizeStop,
    ChargeDetailRecord,
    ChargingNotificationAdapter,
    GetChargeDetailRecordsResponse,
    Identification,
    OicpEgressError,
    PushAuthenticationData,
    QRCodeIdentification,
    RemoteIdentification,
    RFIDMifareFamilyIdentification,
    to_json,
    to_jsonable,
)

SECRET_PIN = "9753"
SECRET_UID = "CAFE0123"
QR = {"EvcoID": "DE-DCB-C12345678-X", "PIN": SECRET_PIN}
RFID = {"UID": SECRET_UID}


def test_exactly_one_option_with_hubjects_explicit_nulls() -> None:
    identification = Identification.model_validate(
        {
            "RFIDMifareFamilyIdentification": None,
            "RFIDIdentification": None,
            "QRCodeIdentification": QR,
            "PlugAndChargeIdentification": None,
            "RemoteIdentification": None,
        }
    )
    assert isinstance(identification.member, QRCodeIdentification)
    assert identification.evco_id == "DE-DCB-C12345678-X" and identification.uid is None
    assert to_jsonable(identification) == {"QRCodeIdentification": QR}


@pytest.mark.parametrize(
    "value",
    [
        {},
        {"RFIDMifareFamilyIdentification": None, "RemoteIdentification": None},
        {"RFIDMifareFamilyIdentification": RFID, "RemoteIdentification": {"EvcoID": "DE*8EO*Aet5e4*3"}},
        {"QRCodeIdentification": QR, "PlugAndChargeIdentification": {"EvcoID": "DE*8EO*Aet5e4*3"}},
    ],
)
def test_two_options_or_none_fail(value: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="exactly one of"):
        Identification.model_validate(value)


def test_constructors_and_accessors() -> None:
    assert Identification.from_uid("1234ABCD").uid == "1234ABCD"
    assert to_jsonable(Identification.from_remote("DE*8EO*Aet5e4*3")) == {
        "RemoteIdentification": {"EvcoID": "DE*8EO*Aet5e4*3"}
    }
    assert isinstance(Identification.from_remote("DE*8EO*Aet5e4*3").member, RemoteIdentification)
    assert Identification.from_plug_and_charge("DE*8EO*Aet5e4*3").evco_id == "DE*8EO*Aet5e4*3"
    assert to_jsonable(Identification.from_qr_code("DE*8EO*Aet5e4*3", "1234")) == {
        "QRCodeIdentification": {"EvcoID": "DE*8EO*Aet5e4*3", "PIN": "1234"}
    }
    mifare = Identification.from_uid("1234ABCD").member
    assert isinstance(mifare, RFIDMifareFamilyIdentification)


def test_uid_and_evco_id_are_checked_on_egress() -> None:
    lower = Identification.model_validate({"RFIDMifareFamilyIdentification": {"UID": "1234abcd"}})
    with pytest.raises(OicpEgressError, match="UID '1234abcd'"):
        to_json(lower)
    bad_evco = Identification.model_validate({"RemoteIdentification": {"EvcoID": "DE-DCB"}})
    with pytest.raises(OicpEgressError, match="EvcoID 'DE-DCB'"):
        to_json(bad_evco)


def test_hashed_pin_is_checked_without_echoing_it() -> None:
    identification = Identification.model_validate(
        {
            "QRCodeIdentification": {
                "EvcoID": "DE*8EO*Aet5e4*3",
                "HashedPIN": {"Value": "short", "Function": "Bcrypt"},
            }
        }
    )
    with pytest.raises(OicpEgressError, match="HashedPIN: Value is not a HashValue") as error:
        to_json(identification)
    assert "short" not in str(error.value)
    bcrypt = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
    ok = Identification.model_validate(
        {
            "QRCodeIdentification": {
                "EvcoID": "DE*8EO*Aet5e4*3",
                "HashedPIN": {"Value": bcrypt, "Function": "Bcrypt"},
            }
        }
    )
    assert bcrypt in to_json(ok).decode()


def test_pins_are_not_in_repr() -> None:
    identification = Identification.model_validate({"QRCodeIdentification": QR})
    assert SECRET_PIN not in repr(identification)


AUTHORIZE_START = {"OperatorID": "DE*ABC", "EvseID": "DE*ABC*E1"}
SESSION = "b2688855-7f00-0002-6d8e-48d883f6abb6"
CONTAINERS: list[tuple[type[BaseModel] | None, dict[str, Any]]] = [
    (Identification, {"QRCodeIdentification": QR, "RFIDMifareFamilyIdentification": RFID}),
    (
        AuthorizeStart,
        {
            **AUTHORIZE_START,
            "Identification": {"QRCodeIdentification": QR, "x": 1} | {"RFIDMifareFamilyIdentification": RFID},
        },
    ),
    (AuthorizeStart, {**AUTHORIZE_START, "Identification": {"QRCodeIdentification": {**QR, "EvcoID": 5}}}),
    (
        AuthorizeStop,
        {
            **AUTHORIZE_START,
            "SessionID": SESSION,
            "Identification": {"QRCodeIdentification": {"PIN": SECRET_PIN}},
        },
    ),
    (
        AuthorizationStart,
        {
            "AuthorizationStatus": "Authorized",
            "StatusCode": {"Code": "000"},
            "AuthorizationStopIdentifications": [
                {"RFIDMifareFamilyIdentification": {"UID": 5}, "QRCodeIdentification": QR}
            ],
        },
    ),
    (
        AuthorizeRemoteStart,
        {
            "ProviderID": "DE-DCB",
            "EvseID": "DE*ABC*E1",
            "Identification": {"QRCodeIdentification": QR, "RemoteIdentification": {"EvcoID": SECRET_UID}},
        },
    ),
    (
        AuthorizeRemoteReservationStart,
        {
            "ProviderID": "DE-DCB",
            "EvseID": "DE*ABC*E1",
            "Identification": {"RFIDMifareFamilyIdentification": RFID, "QRCodeIdentification": QR},
        },
    ),
    (
        PushAuthenticationData,
        {
            "ActionType": "fullLoad",
            "ProviderAuthenticationData": {
                "ProviderID": "DE-DCB",
                "AuthenticationDataRecord": [
                    {"Identification": {"QRCodeIdentification": QR, "RFIDMifareFamilyIdentification": RFID}}
                ],
            },
        },
    ),
    (
        GetChargeDetailRecordsResponse,
        {
            "content": [
                {
                    "SessionID": SESSION,
                    "Identification": {"QRCodeIdentification": QR, "RFIDMifareFamilyIdentification": RFID},
                }
            ],
            "number": 0,
            "size": 20,
            "totalElements": 1,
            "totalPages": 1,
            "first": True,
            "last": True,
            "numberOfElements": 1,
        },
    ),
    (
        ChargeDetailRecord,
        {
            "SessionID": SESSION,
            "Identification": {"QRCodeIdentification": QR, "RFIDMifareFamilyIdentification": RFID},
        },
    ),
    (
        None,
        {
            "Type": "Start",
            "SessionID": SESSION,
            "Identification": {"QRCodeIdentification": QR, "RFIDMifareFamilyIdentification": RFID},
        },
    ),
]


@pytest.mark.parametrize(("model", "payload"), CONTAINERS)
def test_validation_errors_never_echo_authentication_data(
    model: type[BaseModel] | None, payload: dict[str, Any]
) -> None:
    """Every model that (transitively) carries Identification hides the input in its errors."""
    with pytest.raises(ValidationError) as error:
        if model is None:
            ChargingNotificationAdapter.validate_json(json.dumps(payload))
        else:
            model.model_validate_json(json.dumps(payload))
    text = str(error.value)
    assert "input_value" not in text
    assert SECRET_PIN not in text and SECRET_UID not in text
