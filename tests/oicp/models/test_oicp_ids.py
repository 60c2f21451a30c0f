"""OICP ID types (oicp-2.3.md §4.1): validators, normalisers, ingress tolerant / egress strict."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from bridge.oicp.models import (
    AuthorizeRemoteStop,
    EVSEPricing,
    OicpEgressError,
    evco_id_key,
    evse_id_key,
    is_valid_charging_pool_id,
    is_valid_evco_id,
    is_valid_evse_id,
    is_valid_operator_id,
    is_valid_phone_number,
    is_valid_product_id,
    is_valid_provider_id,
    is_valid_provider_id_asterisk,
    is_valid_session_id,
    is_valid_uid,
    normalize_charging_pool_id,
    normalize_evco_id,
    normalize_evse_id,
    normalize_operator_id,
    normalize_phone_number,
    normalize_provider_id,
    normalize_session_id,
    normalize_uid,
    operator_id_key,
    provider_id_key,
    to_json,
)


@pytest.mark.parametrize(
    ("check", "valid", "invalid"),
    [
        (
            is_valid_evse_id,
            ["DE*AB7*E840*6487", "DEAB7E8406487", "+49*810*000*438", "de*ab7*E840", "DE*XYZ*ETEST1"],
            # the ID type letter E is upper-case in the regex: normalise before sending
            [
                "DE-AB7-E840-6487",
                "DE*AB7*840",
                "DE*AB7*E",
                "+49810000438",
                "",
                "DE*AB7*E840 6487",
                "de*ab7*e840",
            ],
        ),
        (
            is_valid_operator_id,
            ["DE*A36", "DEA36", "+49*536", "de*abc"],
            ["DE-A36", "DE*A3", "+49536", "DE*ABCD"],
        ),
        (
            is_valid_provider_id,
            ["DE8EO", "DE-8EO", "DE*8EO", "DE-DCB"],
            ["DE_8EO", "D-8EO", "DE-8EOX", "*"],
        ),
        (is_valid_provider_id_asterisk, ["*", "DE-8EO", "DE*8EO"], ["**", "DE-8EO*", "x*"]),
        (
            is_valid_evco_id,
            ["DE-8EO-CAet5e4XY-3", "DE8EOCAet5e43X1", "DE*8EO*Aet5e4*3", "DE-8EO-Aet5e4-3", "DE8EOAet5e43"],
            ["DE-8EO-CAet5e4XY", "DE*8EO*Aet5e4", "string", "DE.8EO.Aet5e4.3"],
        ),
        (
            is_valid_uid,
            ["AFFA1768", "7568290FFF765F", "0123456789ABCDEF0123"],
            ["12345ABCD", "affa1768", "AFFA176", "7568290FFF765FAB"],
        ),
        (
            is_valid_session_id,
            ["b2688855-7f00-0002-6d8e-48d883f6abb6", "F98EFBA4-02D8-4FA0-B810-9A9D50D2C527"],
            ["string", "b2688855-7f00-0002-6d8e-48d883f6abb", "b2688855_7f00_0002_6d8e_48d883f6abb6"],
        ),
        (is_valid_phone_number, ["+0305132787", "+49123123123123"], ["0305132787", "+49 30 1234", "+1234"]),
        (
            is_valid_charging_pool_id,
            ["IT*123*P456*AB789", "DEABCP1", "DE*ABC*P1234TEST*1"],
            ["IT*123*456", "xIT*123*P456", "IT*123*P456-AB"],
        ),
        (is_valid_product_id, ["AC1", "AC 1", "Standard Price", "x" * 50], ["", "x" * 51]),
    ],
)
def test_validators_follow_the_spec_regexes(
    check: Callable[[str], bool], valid: list[str], invalid: list[str]
) -> None:
    assert [value for value in valid if not check(value)] == []
    assert [value for value in invalid if check(value)] == []


def test_normalisers_and_compare_keys() -> None:
    assert normalize_evse_id(" de*ab7*e840*6487 ") == "DE*AB7*E840*6487"
    assert is_valid_evse_id(normalize_evse_id("de*ab7*e840"))
    assert evse_id_key("de*ab7*e840*6487") == evse_id_key("DEAB7E8406487") == "DEAB7E8406487"
    assert normalize_operator_id("de*abc") == "DE*ABC"
    assert operator_id_key("DE*ABC") == operator_id_key("deabc") == "DEABC"
    assert normalize_provider_id("de-dcb") == "DE-DCB"
    assert provider_id_key("DE-DCB") == provider_id_key("DE*DCB") == provider_id_key("dedcb") == "DEDCB"
    assert normalize_evco_id("de-8eo-caet5e4xy-3") == "DE-8EO-CAET5E4XY-3"
    assert evco_id_key("DE-8EO-CAet5e4XY-3") == evco_id_key("de8eocaet5e4xy3")
    assert normalize_uid("04:a2:5b:12") == "04A25B12"
    assert normalize_uid("04 a2 5b 12 34 56 78") == "04A25B12345678"
    assert is_valid_uid(normalize_uid("04-a2-5b-12"))
    assert (
        normalize_session_id(" F98EFBA4-02D8-4FA0-B810-9A9D50D2C527")
        == "f98efba4-02d8-4fa0-b810-9a9d50d2c527"
    )
    assert normalize_phone_number("0049 30 123-456 (7)") == "+49301234567"
    assert is_valid_phone_number(normalize_phone_number("+49 (0)30/1234.567")) is True
    assert normalize_charging_pool_id("it*123*p456") == "IT*123*P456"


STOP = {
    "SessionID": "b2688855-7f00-0002-6d8e-48d883f6abb6",
    "ProviderID": "DE-DCB",
    "EvseID": "DE*ABC*E1234",
}


def test_bad_evse_id_parses_on_ingress_and_fails_on_egress_naming_it() -> None:
    stop = AuthorizeRemoteStop.model_validate_json(json.dumps({**STOP, "EvseID": "DE-ABC-E1234"}))
    assert stop.evse_id == "DE-ABC-E1234"  # kept exactly as received
    with pytest.raises(OicpEgressError, match=r"EvseID 'DE-ABC-E1234' is not a valid OICP EvseID"):
        to_json(stop)
    assert b'"EvseID":"DE-ABC-E1234"' in to_json(stop, strict=False)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("SessionID", "string", "SessionID 'string'"),
        ("ProviderID", "DE_DCB", "ProviderID 'DE_DCB'"),
        ("EvseID", "DE*ABC*1234", "EvseID 'DE\\*ABC\\*1234'"),
    ],
)
def test_every_id_of_a_message_is_checked_on_egress(field: str, value: str, message: str) -> None:
    stop = AuthorizeRemoteStop.model_validate({**STOP, field: value})
    with pytest.raises(OicpEgressError, match=message):
        to_json(stop)


def test_pricing_accepts_the_asterisk_provider_and_checks_product_ids() -> None:
    pricing = EVSEPricing(evse_id="DE*ABC*E1", provider_id="*", evse_id_product_list=["AC1"])
    assert json.loads(to_json(pricing))["ProviderID"] == "*"
    too_long = EVSEPricing(evse_id="DE*ABC*E1", provider_id="*", evse_id_product_list=["P" * 51])
    with pytest.raises(OicpEgressError, match=r"ProductID 'P{51}' is not a valid OICP ProductID"):
        to_json(too_long)
    remote = AuthorizeRemoteStop.model_validate({**STOP, "ProviderID": "*"})
    with pytest.raises(OicpEgressError, match="ProviderID"):
        to_json(remote)
