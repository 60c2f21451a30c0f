"""Dynamic pricing v1.0 (oicp-2.3.md §2.1, §2.3, §4.9): pricing products and EVSE pricing.

CPO → Hubject: PushPricingProductData, PushEVSEPricing (``/dynamicpricing/v10/operators/{operatorID}/…``);
EMP → Hubject: PullPricingProductData, PullEVSEPricing (``/dynamicpricing/v10/providers/{providerID}/…``).
Prices are pushed without VAT. The pulls spell ``OperatorIDs`` (unlike PullEvseData's ``OperatorIds``);
both are accepted, ``OperatorIDs`` is emitted. ``ProductAvailabilityTimes[].Periods`` is the
implemented spelling (OpenAPI, [W], snippets); the spec table's ``Period`` is accepted too.
"""

from __future__ import annotations

import enum

from pydantic import AliasChoices, Field

from bridge.oicp.models.common import (
    ActionType,
    EgressChecked,
    OicpDateTime,
    OicpModel,
    OicpNumber,
    StatusCode,
)
from bridge.oicp.models.evse_data import DayValue, Period
from bridge.oicp.models.ids import EvseID, OperatorID, ProductID, ProviderID, ProviderIDAsterisk


class ReferenceUnit(enum.StrEnum):
    """ReferenceUnitType: the unit a price refers to."""

    HOUR = "HOUR"
    KILOWATT_HOUR = "KILOWATT_HOUR"
    MINUTE = "MINUTE"


class AdditionalReference(enum.StrEnum):
    """AdditionalReferenceType: a pricing component on top of the base price."""

    START_FEE = "START FEE"
    FIXED_FEE = "FIXED FEE"
    PARKING_FEE = "PARKING FEE"
    MINIMUM_FEE = "MINIMUM FEE"
    MAXIMUM_FEE = "MAXIMUM FEE"


class ProductAvailabilityTimes(OicpModel):
    """ProductAvailabilityTimesType: ``Periods`` M, ``on`` M."""

    periods: list[Period] = Field(
        validation_alias=AliasChoices("Periods", "Period"), serialization_alias="Periods"
    )
    on: DayValue = Field(validation_alias=AliasChoices("on", "On"), serialization_alias="on")


class AdditionalReferences(OicpModel):
    """AdditionalReferencesType: ``AdditionalReference`` M, ``AdditionalReferenceUnit`` M,
    ``PricePerAdditionalReferenceUnit`` M."""

    additional_reference: AdditionalReference = Field(alias="AdditionalReference")
    additional_reference_unit: ReferenceUnit = Field(alias="AdditionalReferenceUnit")
    price_per_additional_reference_unit: OicpNumber = Field(alias="PricePerAdditionalReferenceUnit")


class PricingProductDataRecord(OicpModel):
    """PricingProductDataRecordType: ``ProductID`` M ≤50 (unique), ``ReferenceUnit`` M,
    ``ProductPriceCurrency`` M (ISO 4217), ``PricePerReferenceUnit`` M, ``MaximumProductChargingPower`` M,
    ``IsValid24hours`` M, ``ProductAvailabilityTimes`` M, ``AdditionalReferences`` O."""

    product_id: ProductID = Field(alias="ProductID")
    reference_unit: ReferenceUnit = Field(alias="ReferenceUnit")
    product_price_currency: str = Field(alias="ProductPriceCurrency")
    price_per_reference_unit: OicpNumber = Field(alias="PricePerReferenceUnit")
    maximum_product_charging_power: OicpNumber = Field(alias="MaximumProductChargingPower")
    is_valid_24_hours: bool = Field(alias="IsValid24hours")
    product_availability_times: list[ProductAvailabilityTimes] = Field(alias="ProductAvailabilityTimes")
    additional_references: list[AdditionalReferences] | None = Field(
        default=None, alias="AdditionalReferences"
    )


class PricingProductData(EgressChecked):
    """PricingProductDataType: ``OperatorID`` M, ``OperatorName`` O ≤100, ``ProviderID`` M (``*`` =
    every EMP), ``PricingDefaultPrice`` M, ``PricingDefaultPriceCurrency`` M,
    ``PricingDefaultReferenceUnit`` M, ``PricingProductDataRecords`` M 0..n."""

    operator_id: OperatorID = Field(alias="OperatorID")
    operator_name: str | None = Field(default=None, alias="OperatorName")
    provider_id: ProviderIDAsterisk = Field(alias="ProviderID")
    pricing_default_price: OicpNumber = Field(alias="PricingDefaultPrice")
    pricing_default_price_currency: str = Field(alias="PricingDefaultPriceCurrency")
    pricing_default_reference_unit: ReferenceUnit = Field(alias="PricingDefaultReferenceUnit")
    pricing_product_data_records: list[PricingProductDataRecord] = Field(alias="PricingProductDataRecords")

    def egress_problems(self) -> list[str]:
        if self.operator_name is not None and len(self.operator_name) > 100:
            return ["OperatorName is longer than 100 characters"]
        return []


class PushPricingProductData(OicpModel):
    """eRoamingPushPricingProductData v1.0: ``ActionType`` M, ``PricingProductData`` M (one object)."""

    action_type: ActionType = Field(alias="ActionType")
    pricing_product_data: PricingProductData = Field(alias="PricingProductData")


class PullPricingProductData(OicpModel):
    """eRoamingPullPricingProductData v1.0: ``OperatorIDs`` M, ``LastCall`` O (no ProviderID in the body)."""

    last_call: OicpDateTime | None = Field(default=None, alias="LastCall")
    operator_ids: list[OperatorID] = Field(
        validation_alias=AliasChoices("OperatorIDs", "OperatorIds"), serialization_alias="OperatorIDs"
    )


class PullPricingProductDataResponse(OicpModel):
    """eRoamingPricingProductData: ``PricingProductData`` M list, ``StatusCode``."""

    pricing_product_data: list[PricingProductData] = Field(alias="PricingProductData")
    status_code: StatusCode | None = Field(default=None, alias="StatusCode")


class EVSEPricing(OicpModel):
    """EVSEPricingType: ``EvseID`` M, ``ProviderID`` M (``*`` = every EMP), ``EvseIDProductList`` M 1..n."""

    evse_id: EvseID = Field(alias="EvseID")
    provider_id: ProviderIDAsterisk = Field(alias="ProviderID")
    evse_id_product_list: list[ProductID] = Field(alias="EvseIDProductList")


class PushEVSEPricing(OicpModel):
    """eRoamingPushEVSEPricing v1.0: ``ActionType`` M, ``EVSEPricing`` M 1..n."""

    action_type: ActionType = Field(alias="ActionType")
    evse_pricing: list[EVSEPricing] = Field(alias="EVSEPricing")


class PullEVSEPricing(OicpModel):
    """eRoamingPullEVSEPricing v1.0: ``ProviderID`` M, ``OperatorIDs`` M, ``LastCall`` O."""

    provider_id: ProviderID = Field(alias="ProviderID")
    last_call: OicpDateTime | None = Field(default=None, alias="LastCall")
    operator_ids: list[OperatorID] = Field(
        validation_alias=AliasChoices("OperatorIDs", "OperatorIds"), serialization_alias="OperatorIDs"
    )


class OperatorEVSEPricing(EgressChecked):
    """OperatorEVSEPricingType: ``OperatorID`` M, ``OperatorName`` O ≤100, ``EVSEPricing`` M 0..n."""

    operator_id: OperatorID = Field(alias="OperatorID")
    operator_name: str | None = Field(default=None, alias="OperatorName")
    evse_pricing: list[EVSEPricing] = Field(alias="EVSEPricing")

    def egress_problems(self) -> list[str]:
        if self.operator_name is not None and len(self.operator_name) > 100:
            return ["OperatorName is longer than 100 characters"]
        return []


class PullEVSEPricingResponse(OicpModel):
    """eRoamingEVSEPricing: ``EVSEPricing`` M list of OperatorEVSEPricing, ``StatusCode``."""

    evse_pricing: list[OperatorEVSEPricing] = Field(alias="EVSEPricing")
    status_code: StatusCode | None = Field(default=None, alias="StatusCode")


__all__ = [
    "AdditionalReference",
    "AdditionalReferences",
    "EVSEPricing",
    "OperatorEVSEPricing",
    "PricingProductData",
    "PricingProductDataRecord",
    "ProductAvailabilityTimes",
    "PullEVSEPricing",
    "PullEVSEPricingResponse",
    "PullPricingProductData",
    "PullPricingProductDataResponse",
    "PushEVSEPricing",
    "PushPricingProductData",
    "ReferenceUnit",
]
