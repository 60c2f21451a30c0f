"""mappings.tariffs: OCPI Tariff ⇄ OICP pricing products / EVSE pricing.

* every official OCPI tariff example (2.2.1, and 2.1.1 via mappings.ocpi_versions) becomes OICP
  pricing products valid against the OICP schema, or is refused naming the field the table says;
* the PushPricingProductData snippet becomes OCPI tariffs valid against the OCPI schema;
* a translated product prices a session like the tariff it came from; one test per key.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any

import pytest

from bridge.errors import MappingError
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models.v2_2_1 import Tariff
from bridge.oicp.models.common import ActionType
from bridge.oicp.models.pricing import (
    PricingProductData,
    PricingProductDataRecord,
    PushEVSEPricing,
    PushPricingProductData,
)
from mappings import ocpi_versions
from mappings.pricing import SessionUsage, price_ocpi_tariff, price_pricing_product
from mappings.result import LossKind
from mappings.tariffs import (
    FULL_WEEK,
    RULE_TABLE,
    availability_entries,
    evse_pricing,
    preview,
    pricing_product_data_to_tariffs,
    product_to_tariff,
    tariff_to_products,
    tariffs_to_pricing_product_data,
    week_window,
)
from tests.mappings.part2_support import example, ocpi_valid, oicp_valid, rules, snippet

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
DEFAULT = rules()


def tariff(name: str, **changes: Any) -> Tariff:
    return Tariff.model_validate({**example(name), **changes})


def records(name: str, rule_set: Any = DEFAULT) -> list[dict[str, Any]]:
    translated = tariff_to_products(tariff(name), rule_set)
    return [oicp_valid(record, "PricingProductDataRecord") for record in translated.value]


#: file → number of products, or the field a MappingError names (default rules)
OFFICIAL: dict[str, int | str] = {
    "tariff_1_simple_2hour.json": 1,
    "tariff_2_alt_text.json": 1,
    "tariff_3_alt_url.json": 1,
    "tariff_4_complex.json": "elements[1].restrictions.max_current",
    "tariff_5_free_of_charge.json": 1,
    "tariff_6_025kwh_start_max_price.json": "end_date_time",
    "tariff_8_simple_025kwh.json": 1,
    "tariff_9_025kwh_start.json": 1,
    "tariff_10_025kwh_parking_start.json": 1,
    "tariff_11_not_possible_alt_text.json": 1,
    "tariff_12_025kwh_min_price.json": 1,
    "tariff_13_simple_3hour_5parking.json": 1,
    "tariff_14_step_size.json": 3,
    "tariff_15_reservation_5_euro_per_hour.json": 1,
    "tariff_16_reservation_2_euro_fee_5_euro_per_hour.json": 1,
    "tariff_17_reservation_with_expire_fee.json": 1,
    "tariff_18_reservation_with_expire_time.json": 1,
    "tariffrestriction_example_max_duration.json": "elements[0].restrictions.max_duration",
    "tariffrestriction_example_max_power.json": 3,
}


@pytest.mark.parametrize(("name", "expected"), sorted(OFFICIAL.items()))
def test_official_221_tariffs(name: str, expected: int | str) -> None:
    if isinstance(expected, str):
        with pytest.raises(MappingError) as refused:
            tariff_to_products(tariff(name), DEFAULT)
        assert refused.value.path == expected
        return
    assert len(records(name)) == expected
    data = tariffs_to_pricing_product_data([tariff(name)], DEFAULT, operator_id="DE*ALL", operator_name="All")
    push = PushPricingProductData(action_type=ActionType.FULL_LOAD, pricing_product_data=data.value)
    oicp_valid(push, "eRoamingPushPricingProductData")


def test_the_put_example_is_no_complete_tariff() -> None:
    with pytest.raises(ValueError, match="last_updated"):
        tariff("tariff_put_example.json")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("mod_tariffs__simple_tariff_example_2_euro_per_hour.json", 1),
        ("mod_tariffs__free_of_charge_tariff_example.json", 1),
        ("mod_tariffs__complex_tariff_example.json", "elements[2].restrictions.min_power"),
        ("mod_tariffs__simple_tariff_example_with_alternative_multi_language_text.json", 1),
        ("mod_tariffs__simple_tariff_example_with_alternative_url.json", 1),
    ],
)
def test_official_211_tariffs(name: str, expected: int | str) -> None:
    up = ocpi_versions.tariff_up(
        v211.Tariff.model_validate(example(name, "2.1.1")), country_code="NL", party_id="ABC"
    )
    if isinstance(expected, str):
        with pytest.raises(MappingError) as refused:
            tariff_to_products(up.value, DEFAULT)
        assert refused.value.path == expected
        return
    products = tariff_to_products(up.value, DEFAULT).value
    assert len(products) == expected
    for record in products:
        oicp_valid(record, "PricingProductDataRecord")


@pytest.mark.parametrize(
    "name",
    [
        "mod_tariffs__put_example_change_tariff_to_2_50.json",
        "mod_tariffs__put_example_new_tariff_2_euro_per_hour.json",
    ],
)
def test_official_211_put_bodies_are_no_complete_tariffs(name: str) -> None:
    with pytest.raises(ValueError, match="Field required"):
        v211.Tariff.model_validate(example(name, "2.1.1"))


def test_tariff_10_in_detail() -> None:
    translated = tariff_to_products(tariff("tariff_10_025kwh_parking_start.json"), DEFAULT)
    (data,) = [oicp_valid(r, "PricingProductDataRecord") for r in translated.value]
    assert data == {
        "ProductID": "18",
        "ReferenceUnit": "KILOWATT_HOUR",
        "ProductPriceCurrency": "EUR",
        "PricePerReferenceUnit": 0.25,
        "MaximumProductChargingPower": 350,
        "IsValid24hours": True,
        "ProductAvailabilityTimes": [],
        "AdditionalReferences": [
            {
                "AdditionalReference": "START FEE",
                "AdditionalReferenceUnit": "KILOWATT_HOUR",
                "PricePerAdditionalReferenceUnit": 0.5,
            },
            {
                "AdditionalReference": "PARKING FEE",
                "AdditionalReferenceUnit": "HOUR",
                "PricePerAdditionalReferenceUnit": 2,
            },
        ],
    }
    lost = {loss.path for loss in translated.losses if loss.kind is LossKind.LOST}
    assert {"elements[0].price_components[1].vat", "elements[0].step_size"} <= lost


def test_tariff_14_time_windows_become_availability_times() -> None:
    day, evening, night = records("tariff_14_step_size.json")
    assert (day["ProductID"], day["PricePerReferenceUnit"]) == ("22", 1.2)
    assert day["ProductAvailabilityTimes"] == [
        {"Periods": [{"begin": "00:00", "end": "17:00"}], "on": "Everyday"}
    ]
    assert (evening["ProductID"], evening["PricePerReferenceUnit"]) == ("22-2", 2.4)
    assert evening["ProductAvailabilityTimes"] == [
        {"Periods": [{"begin": "17:00", "end": "20:00"}], "on": "Everyday"}
    ]
    assert night["ProductAvailabilityTimes"] == [
        {"Periods": [{"begin": "20:00", "end": "24:00"}], "on": "Everyday"}
    ]
    assert "AdditionalReferences" not in night  # no parking price after 20:00
    assert day["AdditionalReferences"][0]["AdditionalReference"] == "PARKING FEE"


def test_first_match_wins_becomes_disjoint_availability() -> None:
    # a weekday 08–18 price, then an unrestricted fallback: the fallback is everything else
    data = {
        **example("tariff_8_simple_025kwh.json"),
        "elements": [
            {
                "price_components": [{"type": "ENERGY", "price": 0.4, "step_size": 1}],
                "restrictions": {
                    "start_time": "08:00",
                    "end_time": "18:00",
                    "day_of_week": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"],
                },
            },
            {"price_components": [{"type": "ENERGY", "price": 0.3, "step_size": 1}]},
        ],
    }
    peak, rest = [
        oicp_valid(r, "PricingProductDataRecord")
        for r in tariff_to_products(Tariff.model_validate(data), DEFAULT).value
    ]
    assert peak["ProductAvailabilityTimes"] == [
        {"Periods": [{"begin": "08:00", "end": "18:00"}], "on": "Workdays"}
    ]
    assert rest["ProductAvailabilityTimes"] == [
        {
            "Periods": [{"begin": "00:00", "end": "08:00"}, {"begin": "18:00", "end": "24:00"}],
            "on": "Workdays",
        },
        {"Periods": [{"begin": "00:00", "end": "24:00"}], "on": "Weekend"},
    ]


def test_windows_and_entries() -> None:
    assert week_window(None, None, None) == FULL_WEEK
    assert availability_entries(week_window((2,), "22:00", "06:00")) == [
        ("Wednesday", [("00:00", "06:00"), ("22:00", "24:00")])
    ]


def test_energy_and_time_together_are_refused() -> None:
    both = {
        **example("tariff_8_simple_025kwh.json"),
        "elements": [
            {"price_components": [{"type": "ENERGY", "price": 0.25, "step_size": 1}]},
            {"price_components": [{"type": "TIME", "price": 2, "step_size": 1}]},
        ],
    }
    with pytest.raises(MappingError) as refused:
        tariff_to_products(Tariff.model_validate(both), DEFAULT)
    assert refused.value.path == "elements[1].price_components[0].type"


def test_a_fee_that_changes_within_a_product_is_refused() -> None:
    data = {
        **example("tariff_8_simple_025kwh.json"),
        "elements": [
            {
                "price_components": [{"type": "FLAT", "price": 1, "step_size": 1}],
                "restrictions": {"start_time": "08:00", "end_time": "12:00"},
            },
            {"price_components": [{"type": "ENERGY", "price": 0.25, "step_size": 1}]},
        ],
    }
    with pytest.raises(MappingError) as refused:
        tariff_to_products(Tariff.model_validate(data), DEFAULT)
    assert refused.value.path == "elements[0].restrictions"


@pytest.mark.parametrize(
    ("name", "kwh", "seconds", "parking"),
    [
        ("tariff_8_simple_025kwh.json", "10.5", 3600, 0),
        ("tariff_9_025kwh_start.json", "20", 7200, 0),
        ("tariff_12_025kwh_min_price.json", "1", 600, 0),
        ("tariff_1_simple_2hour.json", "10", 5400, 0),
        ("tariff_13_simple_3hour_5parking.json", "10", 3600, 1800),
    ],
)
def test_a_product_prices_like_its_tariff(name: str, kwh: str, seconds: int, parking: int) -> None:
    usage = SessionUsage.simple(
        start=NOW, energy_kwh=D(kwh), charging_seconds=seconds, parking_seconds=parking
    )
    ocpi = price_ocpi_tariff(tariff(name), usage, time_zone="UTC")
    (record,) = tariff_to_products(tariff(name), DEFAULT).value
    oicp = price_pricing_product(record, usage)
    assert oicp.total_cost.excl_vat == ocpi.total_cost.excl_vat
    back = product_to_tariff(record, DEFAULT, operator_id="DE*ALL", now=NOW).value
    assert price_ocpi_tariff(back, usage, time_zone="UTC").total_cost.excl_vat == ocpi.total_cost.excl_vat


# --------------------------------------------------------------------------------------------
# OICP → OCPI


@pytest.mark.parametrize("side", ["cpo"])
def test_snippet_pricing_products_become_tariffs(side: str) -> None:
    data = PricingProductData.model_validate(
        snippet(side, "eRoamingPushPricingProductData")["PricingProductData"]
    )
    translated = pricing_product_data_to_tariffs(data, DEFAULT, now=NOW)
    (only,) = translated.value
    ocpi = ocpi_valid(only, "Tariff")
    assert (ocpi["country_code"], ocpi["party_id"], ocpi["currency"]) == ("DE", "ABC", "EUR")
    assert ocpi["elements"] == [
        {
            "price_components": [
                {"type": "TIME", "price": 1, "step_size": 1},
                {"type": "PARKING_TIME", "price": 2, "step_size": 1},
            ],
            "restrictions": {"start_time": "09:00", "end_time": "18:00"},
        }
    ]
    lost = {loss.path for loss in translated.losses}
    assert {"PricingDefaultPrice", "MaximumProductChargingPower", "OperatorName", "vat"} <= lost


def product(**changes: Any) -> PricingProductDataRecord:
    base = snippet("cpo", "eRoamingPushPricingProductData")["PricingProductData"][
        "PricingProductDataRecords"
    ][0]
    return PricingProductDataRecord.model_validate({**base, **changes})


def test_minute_units_and_fees_back() -> None:
    record = product(
        ReferenceUnit="MINUTE",
        PricePerReferenceUnit=0.05,
        IsValid24hours=True,
        AdditionalReferences=[
            {
                "AdditionalReference": "START FEE",
                "AdditionalReferenceUnit": "HOUR",
                "PricePerAdditionalReferenceUnit": 1,
            },
            {
                "AdditionalReference": "FIXED FEE",
                "AdditionalReferenceUnit": "HOUR",
                "PricePerAdditionalReferenceUnit": 0.5,
            },
            {
                "AdditionalReference": "PARKING FEE",
                "AdditionalReferenceUnit": "MINUTE",
                "PricePerAdditionalReferenceUnit": 0.1,
            },
            {
                "AdditionalReference": "MINIMUM FEE",
                "AdditionalReferenceUnit": "HOUR",
                "PricePerAdditionalReferenceUnit": 2,
            },
            {
                "AdditionalReference": "MAXIMUM FEE",
                "AdditionalReferenceUnit": "HOUR",
                "PricePerAdditionalReferenceUnit": 30,
            },
        ],
    )
    translated = product_to_tariff(record, DEFAULT, operator_id="DE*ABC", now=NOW)
    data = ocpi_valid(translated.value, "Tariff")
    assert data["elements"] == [
        {
            "price_components": [
                {"type": "TIME", "price": 3, "step_size": 1},
                {"type": "FLAT", "price": 1.5, "step_size": 1},
                {"type": "PARKING_TIME", "price": 6, "step_size": 1},
            ]
        }
    ]
    assert (data["min_price"], data["max_price"]) == ({"excl_vat": 2}, {"excl_vat": 30})
    assert ("AdditionalReferences", LossKind.CHANGED) in {(x.path, x.kind) for x in translated.losses}


def test_parking_per_kwh_and_din_operators_are_refused() -> None:
    per_kwh = product(
        AdditionalReferences=[
            {
                "AdditionalReference": "PARKING FEE",
                "AdditionalReferenceUnit": "KILOWATT_HOUR",
                "PricePerAdditionalReferenceUnit": 1,
            }
        ]
    )
    with pytest.raises(MappingError) as refused:
        product_to_tariff(per_kwh, DEFAULT, operator_id="DE*ABC", now=NOW)
    assert refused.value.path == "AdditionalReferences[0].AdditionalReferenceUnit"
    with pytest.raises(MappingError) as refused:
        product_to_tariff(product(), DEFAULT, operator_id="+49*810", now=NOW)
    assert refused.value.path == "OperatorID"
    assert (
        product_to_tariff(
            product(), DEFAULT, operator_id="+49*810", now=NOW, owner=("DE", "XYZ")
        ).value.party_id
        == "XYZ"
    )


def test_availability_back_to_restrictions() -> None:
    record = product(
        ProductAvailabilityTimes=[
            {"Periods": [{"begin": "00:00", "end": "24:00"}], "on": "Weekend"},
            {"Periods": [{"begin": "22:00", "end": "06:00"}], "on": "Monday"},
        ]
    )
    data = ocpi_valid(product_to_tariff(record, DEFAULT, operator_id="DE*ABC", now=NOW).value, "Tariff")
    assert [e["restrictions"] for e in data["elements"]] == [
        {"day_of_week": ["SATURDAY", "SUNDAY"]},
        {"start_time": "22:00", "end_time": "06:00", "day_of_week": ["MONDAY"]},
    ]


def test_evse_pricing() -> None:
    products = {"12": ["12"], "22": ["22", "22-2", "22-3"]}
    entry = evse_pricing("DE*ABC*E1", ["22", "12", "22"], products, DEFAULT)
    assert entry.evse_id_product_list == ["22", "22-2", "22-3", "12"]
    oicp_valid(
        PushEVSEPricing(action_type=ActionType.FULL_LOAD, evse_pricing=[entry]), "eRoamingPushEVSEPricing"
    )
    with pytest.raises(MappingError) as refused:
        evse_pricing("DE*ABC*E1", ["99"], products, DEFAULT)
    assert refused.value.path == "tariff_ids"


# --------------------------------------------------------------------------------------------
# One test per key


def test_key_product_ids() -> None:
    chosen = rules(tariffs={"product_ids": {"22": "AC1"}})
    assert [r["ProductID"] for r in records("tariff_14_step_size.json", chosen)] == ["AC1", "AC1-2", "AC1-3"]
    with pytest.raises(MappingError) as refused:
        records("tariff_8_simple_025kwh.json", rules(tariffs={"product_ids": {"16": "P" * 51}}))
    assert refused.value.path == "id"


def test_key_time_reference_unit() -> None:
    translated = tariff_to_products(
        tariff("tariff_2_alt_text.json"), rules(tariffs={"time_reference_unit": "MINUTE"})
    )
    (data,) = [oicp_valid(r, "PricingProductDataRecord") for r in translated.value]
    assert (data["ReferenceUnit"], data["PricePerReferenceUnit"]) == ("MINUTE", 0.031667)  # 1.90 / 60
    assert ("elements[0].price_components[0].price", LossKind.CHANGED) in {
        (x.path, x.kind) for x in translated.losses
    }


def test_key_flat_fee() -> None:
    assert (
        records("tariff_9_025kwh_start.json")[0]["AdditionalReferences"][0]["AdditionalReference"]
        == "START FEE"
    )
    chosen = rules(tariffs={"flat_fee": "FIXED FEE"})
    assert (
        records("tariff_9_025kwh_start.json", chosen)[0]["AdditionalReferences"][0]["AdditionalReference"]
        == "FIXED FEE"
    )


def test_key_flat_only_fee_and_unit() -> None:
    (free,) = records("tariff_5_free_of_charge.json")
    assert (free["ReferenceUnit"], free["PricePerReferenceUnit"]) == ("KILOWATT_HOUR", 0)
    assert free["AdditionalReferences"] == [
        {
            "AdditionalReference": "FIXED FEE",
            "AdditionalReferenceUnit": "KILOWATT_HOUR",
            "PricePerAdditionalReferenceUnit": 0,
        }
    ]
    chosen = rules(tariffs={"flat_only_fee": "START FEE", "flat_only_reference_unit": "HOUR"})
    (free,) = records("tariff_5_free_of_charge.json", chosen)
    assert free["ReferenceUnit"] == "HOUR"
    assert free["AdditionalReferences"][0]["AdditionalReference"] == "START FEE"


def test_key_parking_reference_unit() -> None:
    chosen = rules(tariffs={"parking_reference_unit": "MINUTE"})
    (data,) = records("tariff_13_simple_3hour_5parking.json", chosen)
    assert data["AdditionalReferences"] == [
        {
            "AdditionalReference": "PARKING FEE",
            "AdditionalReferenceUnit": "MINUTE",
            "PricePerAdditionalReferenceUnit": 0.083333,
        }
    ]


def test_key_date_ranges() -> None:
    with pytest.raises(MappingError):
        tariff_to_products(tariff("tariff_6_025kwh_start_max_price.json"), DEFAULT)
    ignored = tariff_to_products(
        tariff("tariff_6_025kwh_start_max_price.json"), rules(tariffs={"date_ranges": "ignore"})
    )
    (data,) = [oicp_valid(r, "PricingProductDataRecord") for r in ignored.value]
    assert data["AdditionalReferences"][-1] == {
        "AdditionalReference": "MAXIMUM FEE",
        "AdditionalReferenceUnit": "KILOWATT_HOUR",
        "PricePerAdditionalReferenceUnit": 10,
    }
    assert ("end_date_time", LossKind.LOST) in {(x.path, x.kind) for x in ignored.losses}
    dated = tariff(
        "tariff_8_simple_025kwh.json",
        elements=[
            {
                "price_components": [{"type": "ENERGY", "price": 1, "step_size": 1}],
                "restrictions": {"start_date": "2024-01-01"},
            }
        ],
    )
    with pytest.raises(MappingError) as refused:
        tariff_to_products(dated, DEFAULT)
    assert refused.value.path == "elements[0].restrictions.start_date"


def test_key_provider_id() -> None:
    data = tariffs_to_pricing_product_data(
        [tariff("tariff_8_simple_025kwh.json")], DEFAULT, operator_id="DE*ALL"
    )
    assert data.value.provider_id == "*"
    chosen = rules(tariffs={"provider_id": "DE-8EO"})
    data = tariffs_to_pricing_product_data(
        [tariff("tariff_8_simple_025kwh.json")], chosen, operator_id="DE*ALL"
    )
    assert data.value.provider_id == "DE-8EO"
    assert evse_pricing("DE*ALL*E1", ["16"], {"16": ["16"]}, chosen).provider_id == "DE-8EO"


def test_key_max_charging_power_kw() -> None:
    assert records("tariff_8_simple_025kwh.json")[0]["MaximumProductChargingPower"] == 350
    assert (
        records("tariff_8_simple_025kwh.json", rules(tariffs={"max_charging_power_kw": 22}))[0][
            "MaximumProductChargingPower"
        ]
        == 22
    )
    assert [
        r["MaximumProductChargingPower"] for r in records("tariffrestriction_example_max_power.json")
    ] == [16, 32, 350]


def test_key_oicp_vat_percent() -> None:
    chosen = rules(tariffs={"oicp_vat_percent": 19})
    record = product(
        AdditionalReferences=[
            {
                "AdditionalReference": "MINIMUM FEE",
                "AdditionalReferenceUnit": "HOUR",
                "PricePerAdditionalReferenceUnit": 2,
            }
        ]
    )
    data = ocpi_valid(product_to_tariff(record, chosen, operator_id="DE*ABC", now=NOW).value, "Tariff")
    assert data["elements"][0]["price_components"][0]["vat"] == 19
    assert data["min_price"] == {"excl_vat": 2, "incl_vat": 2.38}


def test_key_default_price_tariff() -> None:
    two = [tariff("tariff_8_simple_025kwh.json"), tariff("tariff_1_simple_2hour.json")]
    data = tariffs_to_pricing_product_data(two, DEFAULT, operator_id="DE*ALL").value
    assert (data.pricing_default_price, data.pricing_default_reference_unit.value) == (
        D("0.25"),
        "KILOWATT_HOUR",
    )
    chosen = rules(tariffs={"default_price_tariff": "12"})
    data = tariffs_to_pricing_product_data(two, chosen, operator_id="DE*ALL").value
    assert (data.pricing_default_price, data.pricing_default_reference_unit.value) == (D("2"), "HOUR")


def test_key_default_price_tariff_id() -> None:
    data = PricingProductData.model_validate(
        snippet("cpo", "eRoamingPushPricingProductData")["PricingProductData"]
    )
    assert len(pricing_product_data_to_tariffs(data, DEFAULT, now=NOW).value) == 1
    chosen = rules(tariffs={"default_price_tariff_id": "DEFAULT"})
    tariffs = pricing_product_data_to_tariffs(data, chosen, now=NOW).value
    assert len(tariffs) == 2
    assert tariffs[-1].id == "DEFAULT"
    free = ocpi_valid(tariffs[-1], "Tariff")
    assert free["elements"] == [
        {"price_components": [{"type": "FLAT", "price": 0, "step_size": 1}]}
    ]  # price 0


# --------------------------------------------------------------------------------------------
# Preview and documentation


def test_preview_both_directions() -> None:
    forward = preview(example("tariff_9_025kwh_start.json"), "ocpi-2.2.1", "oicp", DEFAULT, now=NOW)
    assert [r.product_id for r in forward.value] == ["17"]
    old = preview(
        example("mod_tariffs__simple_tariff_example_2_euro_per_hour.json", "2.1.1"),
        "ocpi-2.1.1",
        "oicp",
        DEFAULT,
        now=NOW,
    )
    assert old.value[0].reference_unit.value == "HOUR"
    raw = snippet("cpo", "eRoamingPushPricingProductData")["PricingProductData"]
    back = preview(raw, "oicp", "ocpi-2.2.1", DEFAULT, now=NOW)
    assert isinstance(back.value[0], Tariff)
    down = preview(raw, "oicp", "ocpi-2.1.1", DEFAULT, now=NOW)
    assert isinstance(down.value[0], v211.Tariff)
    with pytest.raises(MappingError) as refused:
        preview(raw["PricingProductDataRecords"][0], "oicp", "ocpi-2.2.1", DEFAULT, now=NOW)
    assert refused.value.path == "OperatorID"
    pushed = preview(snippet("cpo", "eRoamingPushPricingProductData"), "oicp", "ocpi-2.2.1", DEFAULT, now=NOW)
    assert [t.id for t in pushed.value] == [t.id for t in back.value]
    pulled = preview({"PricingProductData": [raw, raw]}, "oicp", "ocpi-2.2.1", DEFAULT, now=NOW)
    assert len(pulled.value) == 2
    with pytest.raises(MappingError) as evse:
        preview(snippet("emp", "eRoamingPullEVSEPricing", "Response"), "oicp", "ocpi-2.2.1", DEFAULT, now=NOW)
    assert evse.value.path == "EVSEPricing"


def test_rule_table_covers_every_key() -> None:
    keys = {f"tariffs.{name}" for name in type(DEFAULT.tariffs).model_fields}
    assert keys == {row.yaml_key for row in RULE_TABLE if row.yaml_key}
