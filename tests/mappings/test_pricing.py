"""mappings.pricing: Decimal pricing against the official OCPI tariff examples and OICP products.

Every expected amount is computed by hand in the comment next to it (2 decimals, half up, each
dimension rounded once, the total the sum of the rounded dimensions).
"""

from __future__ import annotations

import decimal
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest

from bridge.ocpi.models.v2_2_1 import Tariff, TariffDimensionType
from bridge.oicp.models.pricing import (
    EVSEPricing,
    PricingProductData,
    PricingProductDataRecord,
    PullEVSEPricingResponse,
)
from mappings.pricing import (
    PricedSession,
    PricingError,
    SessionUsage,
    UsagePeriod,
    price_ocpi_tariff,
    price_pricing_product,
    product_available,
    select_pricing_product,
)
from tests.mappings.part2_support import example, snippet

BERLIN = ZoneInfo("Europe/Berlin")
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
ENERGY, TIME, PARKING, FLAT = (
    TariffDimensionType.ENERGY,
    TariffDimensionType.TIME,
    TariffDimensionType.PARKING_TIME,
    TariffDimensionType.FLAT,
)


def tariff(name: str) -> Tariff:
    return Tariff.model_validate(example(name))


def usage(start: datetime, kwh: str, charging_s: int, parking_s: int = 0, **kw: D) -> SessionUsage:
    return SessionUsage.simple(
        start=start, energy_kwh=D(kwh), charging_seconds=charging_s, parking_seconds=parking_s, **kw
    )


def total(priced: PricedSession) -> tuple[D, D | None]:
    return priced.total_cost.excl_vat, priced.total_cost.incl_vat


def cost(priced: PricedSession, dimension: TariffDimensionType) -> tuple[D, D | None]:
    found = priced.cost(dimension)
    assert found is not None, dimension
    return found.excl_vat, found.incl_vat


NOON = datetime(2024, 1, 9, 11, 0, tzinfo=UTC)  # a Tuesday, 12:00 in Berlin


class TestOfficialTariffs:
    def test_tariff_1_time_with_step_size(self) -> None:
        # 2.00/h, step 60 s, vat 10: 5420 s → 5460 s = 1.51666… h → 3.0333… → 3.03; ×1.1 = 3.3366… → 3.34
        priced = price_ocpi_tariff(
            tariff("tariff_1_simple_2hour.json"), usage(NOON, "10", 5420), time_zone="UTC"
        )
        assert total(priced) == (D("3.03"), D("3.34"))
        assert priced.dimensions[TIME].volume == D(5460) / 3600
        assert priced.currency == "EUR"

    def test_tariff_8_energy_half_up(self) -> None:
        # 10.5 kWh × 0.25 = 2.625 → 2.63 (half up); ×1.1 = 2.8875 → 2.89
        priced = price_ocpi_tariff(
            tariff("tariff_8_simple_025kwh.json"), usage(NOON, "10.5", 3600), time_zone="UTC"
        )
        assert total(priced) == (D("2.63"), D("2.89"))
        assert cost(priced, ENERGY) == (D("2.63"), D("2.89"))

    def test_rounding_mode_is_a_parameter(self) -> None:
        # 2.625 half-even → 2.62
        priced = price_ocpi_tariff(
            tariff("tariff_8_simple_025kwh.json"),
            usage(NOON, "10.5", 3600),
            time_zone="UTC",
            rounding=decimal.ROUND_HALF_EVEN,
        )
        assert priced.total_cost.excl_vat == D("2.62")

    def test_tariff_9_flat_and_energy(self) -> None:
        # energy 20 × 0.25 = 5.00 (5.50 incl 10 %), FLAT 0.50 (0.60 incl 20 %) → 5.50 / 6.10
        priced = price_ocpi_tariff(
            tariff("tariff_9_025kwh_start.json"), usage(NOON, "20", 7200), time_zone="UTC"
        )
        assert cost(priced, FLAT) == (D("0.50"), D("0.60"))
        assert cost(priced, ENERGY) == (D("5.00"), D("5.50"))
        assert total(priced) == (D("5.50"), D("6.10"))

    def test_tariff_10_parking_step_size(self) -> None:
        # parking 1200 s with step 900 → 1800 s = 0.5 h × 2.00 = 1.00 (1.20); energy 2.50 (2.75);
        # FLAT 0.50 (0.60) → 4.00 / 4.55
        priced = price_ocpi_tariff(
            tariff("tariff_10_025kwh_parking_start.json"), usage(NOON, "10", 3600, 1200), time_zone="UTC"
        )
        assert cost(priced, PARKING) == (D("1.00"), D("1.20"))
        assert priced.dimensions[PARKING].volume == D("0.5")
        assert total(priced) == (D("4.00"), D("4.55"))

    def test_tariff_12_min_price(self) -> None:
        # 1 kWh × 0.25 = 0.25 < min_price 0.50 → 0.50 / 0.55 (the energy cost itself stays 0.25)
        priced = price_ocpi_tariff(
            tariff("tariff_12_025kwh_min_price.json"), usage(NOON, "1", 600), time_zone="UTC"
        )
        assert total(priced) == (D("0.50"), D("0.55"))
        assert priced.adjustment == "min_price"
        assert cost(priced, ENERGY) == (D("0.25"), D("0.28"))

    def test_tariff_6_max_price_and_validity(self) -> None:
        # 50 kWh × 0.25 = 12.50 + FLAT 0.50 = 13.00 > max 10.00 → 10.00 / 11.00
        start = datetime(2019, 1, 1, 10, tzinfo=UTC)
        priced = price_ocpi_tariff(
            tariff("tariff_6_025kwh_start_max_price.json"), usage(start, "50", 7200), time_zone="UTC"
        )
        assert total(priced) == (D("10.00"), D("11.00"))
        assert priced.adjustment == "max_price"
        with pytest.raises(PricingError) as refused:
            price_ocpi_tariff(
                tariff("tariff_6_025kwh_start_max_price.json"), usage(NOON, "5", 600), time_zone="UTC"
            )
        assert refused.value.path == "tariff.end_date_time"

    def test_tariff_13_time_and_parking_step_combined(self) -> None:
        # TIME 1800 s × 3.00/h = 1.50 (1.65); time+parking 2200 s → step 300 of the last (parking)
        # → 2400 s: parking 600 s × 5.00/h = 0.8333 → 0.83, ×1.2 = 1.00 → 2.33 / 2.65
        priced = price_ocpi_tariff(
            tariff("tariff_13_simple_3hour_5parking.json"), usage(NOON, "5", 1800, 400), time_zone="UTC"
        )
        assert cost(priced, TIME) == (D("1.50"), D("1.65"))
        assert cost(priced, PARKING) == (D("0.83"), D("1.00"))
        assert total(priced) == (D("2.33"), D("2.65"))

    def test_tariff_14_time_windows_in_local_time(self) -> None:
        # start 15:10 UTC = 16:10 Berlin: 50 min × 1.20 = 1.00, 10 min × 2.40 = 0.40 → TIME 1.40;
        # parking 17:10–17:26:40 (1000 s) at 1.00/h; time+parking 4600 s → step 900 → 5400 s,
        # extra 800 s on parking → 1800 s = 0.50 → 1.90 (no VAT: incl = excl)
        start = datetime(2024, 1, 9, 15, 10, tzinfo=UTC)
        priced = price_ocpi_tariff(
            tariff("tariff_14_step_size.json"), usage(start, "10", 3600, 1000), time_zone="Europe/Berlin"
        )
        assert cost(priced, TIME) == (D("1.40"), D("1.40"))
        assert cost(priced, PARKING) == (D("0.50"), D("0.50"))
        assert total(priced) == (D("1.90"), D("1.90"))

    def test_tariff_14_evening_has_no_parking_price(self) -> None:
        # 19:30–20:00 and 20:00–20:30 Berlin at 2.40 → 2.40; parking after 20:30 matches no element
        start = datetime(2024, 1, 9, 18, 30, tzinfo=UTC)
        priced = price_ocpi_tariff(
            tariff("tariff_14_step_size.json"), usage(start, "10", 3600, 600), time_zone="Europe/Berlin"
        )
        assert total(priced) == (D("2.40"), D("2.40"))
        assert PARKING not in priced.dimensions

    def test_the_time_zone_decides_the_window(self) -> None:
        # the same instant is 16:10 in Berlin (1.20 window) but 15:10 in UTC (1.20 window until 17:00):
        # a start at 16:30 UTC is 17:30 Berlin (2.40) but 16:30 UTC (1.20 for 30 min, then 2.40)
        start = datetime(2024, 1, 9, 16, 30, tzinfo=UTC)
        berlin = price_ocpi_tariff(
            tariff("tariff_14_step_size.json"), usage(start, "1", 3600), time_zone="Europe/Berlin"
        )
        utc = price_ocpi_tariff(tariff("tariff_14_step_size.json"), usage(start, "1", 3600), time_zone="UTC")
        assert berlin.total_cost.excl_vat == D("2.40")  # 17:30–18:30 at 2.40
        assert utc.total_cost.excl_vat == D("1.80")  # 30 min × 1.20 + 30 min × 2.40

    def test_tariff_4_complex_weekday_low_current(self) -> None:
        # Tuesday 10:00 Amsterdam, 16 A: TIME 1.00/h (max_current 32) → 1.00 (1.20); parking
        # 11:00–11:30 Mon–Fri 09–18 at 5.00 → 2.50 (2.75); FLAT 2.50 (2.875 → 2.88) → 6.00 / 6.83
        start = datetime(2015, 6, 30, 10, tzinfo=AMSTERDAM)
        priced = price_ocpi_tariff(
            tariff("tariff_4_complex.json"),
            usage(start, "11", 3600, 1800, current_a=D(16)),
            time_zone="Europe/Amsterdam",
        )
        assert cost(priced, TIME) == (D("1.00"), D("1.20"))
        assert cost(priced, PARKING) == (D("2.50"), D("2.75"))
        assert cost(priced, FLAT) == (D("2.50"), D("2.88"))
        assert total(priced) == (D("6.00"), D("6.83"))

    def test_tariff_4_complex_saturday_high_current(self) -> None:
        # Saturday 12:00, 40 A: TIME 1.25 (1.50); parking 13:00–13:30 Saturday 10–17 at 6.00 → 3.00
        # (3.30); FLAT 2.50 (2.88) → 6.75 / 7.68
        start = datetime(2015, 7, 4, 12, tzinfo=AMSTERDAM)
        priced = price_ocpi_tariff(
            tariff("tariff_4_complex.json"),
            usage(start, "22", 3600, 1800, current_a=D(40)),
            time_zone="Europe/Amsterdam",
        )
        assert total(priced) == (D("6.75"), D("7.68"))

    def test_tariff_4_needs_the_current(self) -> None:
        with pytest.raises(PricingError) as refused:
            price_ocpi_tariff(tariff("tariff_4_complex.json"), usage(NOON, "5", 600), time_zone="UTC")
        assert refused.value.path == "elements[1].restrictions.min_current/max_current"

    @pytest.mark.parametrize(
        ("kwh", "expected"),
        [("10", (D("2.00"), D("2.40"))), ("30", (D("10.50"), D("12.60"))), ("50", (D("25.00"), D("30.00")))],
    )
    def test_max_power_restriction_uses_average_power(self, kwh: str, expected: tuple[D, D]) -> None:
        # 1 h: 10 kW < 16 → 0.20; 30 kW < 32 → 0.35; 50 kW → 0.50 (all +20 % VAT)
        priced = price_ocpi_tariff(
            tariff("tariffrestriction_example_max_power.json"), usage(NOON, kwh, 3600), time_zone="UTC"
        )
        assert total(priced) == expected

    def test_max_duration_restriction_splits_the_energy(self) -> None:
        # 30 kWh over 90 min: 10 kWh free (< 1800 s), 10 kWh × 0.25 (< 3600 s), 10 kWh × 0.40
        # → 6.50, ×1.2 = 7.80
        priced = price_ocpi_tariff(
            tariff("tariffrestriction_example_max_duration.json"), usage(NOON, "30", 5400), time_zone="UTC"
        )
        assert total(priced) == (D("6.50"), D("7.80"))
        assert priced.dimensions[ENERGY].volume == D("30")  # the first 10 kWh matched the 0.00 element

    def test_free_of_charge(self) -> None:
        priced = price_ocpi_tariff(
            tariff("tariff_5_free_of_charge.json"), usage(NOON, "40", 7200), time_zone="UTC"
        )
        assert total(priced) == (D("0.00"), D("0.00"))
        assert cost(priced, FLAT) == (D("0.00"), D("0.00"))

    def test_reservation_elements_do_not_price_charging(self) -> None:
        # 10 kWh × 0.25 = 2.50 (2.75) + FLAT 0.50 (0.60); the RESERVATION TIME element never matches
        priced = price_ocpi_tariff(
            tariff("tariff_15_reservation_5_euro_per_hour.json"),
            usage(NOON, "10", 3600, 600),
            time_zone="UTC",
        )
        assert total(priced) == (D("3.00"), D("3.35"))
        assert TIME not in priced.dimensions

    def test_energy_step_size(self) -> None:
        # 10.05 kWh with step 100 Wh → 10.1 kWh × 0.25 = 2.525 → 2.53, ×1.1 = 2.7775 → 2.78; + FLAT
        priced = price_ocpi_tariff(
            tariff("tariff_3_alt_url.json"), usage(NOON, "10.05", 3600), time_zone="UTC"
        )
        assert cost(priced, ENERGY) == (D("2.53"), D("2.78"))
        assert priced.dimensions[ENERGY].volume == D("10.1")
        assert total(priced) == (D("3.03"), D("3.38"))

    def test_periods_given_explicitly(self) -> None:
        # two charging periods with different currents on tariff_4 (Tuesday): 30 min at 16 A
        # (1.00/h, step 900) and 30 min at 40 A (2.00/h, step 600) → 0.50 + 1.00 = 1.50 + FLAT 2.50
        start = datetime(2015, 6, 30, 10, tzinfo=AMSTERDAM)
        periods = (
            UsagePeriod(start, D(1800), D(4), current_a=D(16)),
            UsagePeriod(start + timedelta(minutes=30), D(1800), D(10), current_a=D(40)),
        )
        priced = price_ocpi_tariff(
            tariff("tariff_4_complex.json"), SessionUsage(periods), time_zone="Europe/Amsterdam"
        )
        assert cost(priced, TIME) == (D("1.50"), D("1.80"))
        assert priced.total_cost.excl_vat == D("4.00")


class TestOicpProducts:
    def snippet_product(self) -> PricingProductDataRecord:
        data = PricingProductData.model_validate(
            snippet("cpo", "eRoamingPushPricingProductData")["PricingProductData"]
        )
        return data.pricing_product_data_records[0]

    def test_snippet_product_hour_and_parking(self) -> None:
        # 1.00 EUR/h × 1.5 h = 1.50; PARKING FEE 2.00/h × 0.5 h = 1.00 → 2.50; with 19 % VAT:
        # 1.785 → 1.79, 1.19 → 2.98
        record = self.snippet_product()
        priced = price_pricing_product(record, usage(NOON, "10", 5400, 1800), vat_percent=D(19))
        assert cost(priced, TIME) == (D("1.50"), D("1.79"))
        assert cost(priced, PARKING) == (D("1.00"), D("1.19"))
        assert total(priced) == (D("2.50"), D("2.98"))

    def test_no_vat_no_incl(self) -> None:
        priced = price_pricing_product(self.snippet_product(), usage(NOON, "10", 3600))
        assert total(priced) == (D("1.00"), None)

    def product(self, unit: str, price: str, *refs: tuple[str, str, str]) -> PricingProductDataRecord:
        return PricingProductDataRecord.model_validate(
            {
                "ProductID": "P",
                "ReferenceUnit": unit,
                "ProductPriceCurrency": "EUR",
                "PricePerReferenceUnit": price,
                "MaximumProductChargingPower": 22,
                "IsValid24hours": True,
                "ProductAvailabilityTimes": [],
                "AdditionalReferences": [
                    {
                        "AdditionalReference": r,
                        "AdditionalReferenceUnit": u,
                        "PricePerAdditionalReferenceUnit": p,
                    }
                    for r, u, p in refs
                ],
            }
        )

    def test_kwh_start_fee_and_minimum(self) -> None:
        # 10 kWh × 0.30 = 3.00 + START FEE 1.00 = 4.00 < MINIMUM FEE 5.00 → 5.00
        record = self.product(
            "KILOWATT_HOUR",
            "0.30",
            ("START FEE", "KILOWATT_HOUR", "1"),
            ("MINIMUM FEE", "KILOWATT_HOUR", "5"),
        )
        priced = price_pricing_product(record, usage(NOON, "10", 3600))
        assert cost(priced, ENERGY) == (D("3.00"), None)
        assert cost(priced, FLAT) == (D("1.00"), None)
        assert total(priced) == (D("5.00"), None)
        assert priced.adjustment == "MINIMUM FEE"

    def test_maximum_fee(self) -> None:
        record = self.product("KILOWATT_HOUR", "0.30", ("MAXIMUM FEE", "KILOWATT_HOUR", "3.5"))
        priced = price_pricing_product(record, usage(NOON, "20", 3600), vat_percent=D(10))
        assert total(priced) == (D("3.50"), D("3.85"))
        assert priced.adjustment == "MAXIMUM FEE"

    def test_minute_units(self) -> None:
        # 0.05/min × 90 min = 4.50; PARKING FEE 0.10/min × 20 min = 2.00; FIXED FEE 0.99
        record = self.product(
            "MINUTE", "0.05", ("PARKING FEE", "MINUTE", "0.10"), ("FIXED FEE", "KILOWATT_HOUR", "0.99")
        )
        priced = price_pricing_product(record, usage(NOON, "5", 5400, 1200))
        assert cost(priced, TIME) == (D("4.50"), None)
        assert cost(priced, PARKING) == (D("2.00"), None)
        assert total(priced) == (D("7.49"), None)

    def test_parking_per_kwh_is_refused(self) -> None:
        record = self.product("HOUR", "1", ("PARKING FEE", "KILOWATT_HOUR", "1"))
        with pytest.raises(PricingError) as refused:
            price_pricing_product(record, usage(NOON, "5", 600, 600))
        assert refused.value.path == "AdditionalReferences[0].AdditionalReferenceUnit"

    @pytest.mark.parametrize(
        ("hour", "minute", "available"), [(8, 59, False), (9, 0, True), (17, 59, True), (18, 0, False)]
    )
    def test_availability_of_the_snippet(self, hour: int, minute: int, available: bool) -> None:
        assert product_available(self.snippet_product(), datetime(2024, 1, 9, hour, minute)) is available

    def test_availability_wrapping_past_midnight(self) -> None:
        record = PricingProductDataRecord.model_validate(
            {
                **self.product("HOUR", "1").model_dump(by_alias=True),
                "IsValid24hours": False,
                "ProductAvailabilityTimes": [
                    {"Periods": [{"begin": "22:00", "end": "06:00"}], "on": "Monday"}
                ],
            }
        )
        assert product_available(record, datetime(2024, 1, 8, 23, 0))  # Monday 23:00
        assert product_available(record, datetime(2024, 1, 9, 5, 0))  # Tuesday 05:00
        assert not product_available(record, datetime(2024, 1, 9, 23, 0))  # Tuesday 23:00

    def test_select_with_the_pull_evse_pricing_snippet(self) -> None:
        response = PullEVSEPricingResponse.model_validate(
            snippet("emp", "eRoamingPullEVSEPricing", "Response")
        )
        pricing = [entry for operator in response.evse_pricing for entry in operator.evse_pricing]
        record = self.snippet_product()
        ten = datetime(2024, 1, 9, 10, 0)
        chosen = select_pricing_product(
            [record], pricing, evse_id="DE*XYZ*ETEST1", provider_id="DE*DCB", start=ten
        )
        assert chosen.product_id == "AC 1"
        with pytest.raises(PricingError) as refused:  # 09:00–18:00 only
            select_pricing_product(
                [record], pricing, evse_id="DE*XYZ*ETEST1", provider_id="DE-DCB", start=ten.replace(hour=20)
            )
        assert refused.value.path == "PricingProductData"

    def test_select_prefers_our_provider_and_the_cdr_product(self) -> None:
        night = PricingProductDataRecord.model_validate(
            {
                **self.product("HOUR", "0.5").model_dump(by_alias=True),
                "ProductID": "NIGHT",
                "IsValid24hours": False,
                "ProductAvailabilityTimes": [
                    {"Periods": [{"begin": "20:00", "end": "24:00"}], "on": "Everyday"}
                ],
            }
        )
        everyone = self.product("HOUR", "2")
        mine = PricingProductDataRecord.model_validate(
            {**self.product("HOUR", "1").model_dump(by_alias=True), "ProductID": "MINE"}
        )
        pricing = [
            EVSEPricing(evse_id="DE*ABC*E1", provider_id="*", evse_id_product_list=["P"]),
            EVSEPricing(evse_id="DEABCE1", provider_id="DE-8EO", evse_id_product_list=["NIGHT", "MINE"]),
        ]
        records = [night, everyone, mine]
        noon = datetime(2024, 1, 9, 12, 0)
        chosen = select_pricing_product(
            records, pricing, evse_id="DE*ABC*E1", provider_id="DE*8EO", start=noon
        )
        assert chosen.product_id == "MINE"  # NIGHT is not available at noon; our entry wins over *
        evening = datetime(2024, 1, 9, 21, 0)
        assert (
            select_pricing_product(
                records, pricing, evse_id="DE*ABC*E1", provider_id="DE8EO", start=evening
            ).product_id
            == "NIGHT"
        )
        preferred = select_pricing_product(
            records,
            pricing,
            evse_id="DE*ABC*E1",
            provider_id="DE8EO",
            start=evening,
            preferred_product_id="P",
        )
        assert preferred.product_id == "P"
        other = select_pricing_product(
            records, pricing, evse_id="DE*ABC*E1", provider_id="NL-XYZ", start=noon
        )
        assert other.product_id == "P"
        with pytest.raises(PricingError) as refused:
            select_pricing_product(records, pricing, evse_id="DE*ABC*E2", provider_id="DE8EO", start=noon)
        assert refused.value.path == "EVSEPricing"
