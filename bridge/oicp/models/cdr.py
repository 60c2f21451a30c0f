"""ChargeDetailRecord v2.2 and GetChargeDetailRecords (oicp-2.3.md §2.1, §2.3, §2.4, §4.7).

The CPO sends one CDR per SessionID (``POST /cdrmgmt/v22/operators/{operatorID}/charge-detail-record``),
Hubject forwards it to online EMPs; offline EMPs page through
``POST /cdrmgmt/v22/providers/{providerID}/get-charge-detail-records-request``. OICP CDRs carry no price.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any

from pydantic import AliasChoices, BeforeValidator, ConfigDict, Field

from bridge.oicp.models.common import (
    OicpDateTime,
    OicpModel,
    OicpNumber,
    Page,
    SensitiveEgressChecked,
    missing,
    partner_session_id_field,
)
from bridge.oicp.models.identification import Identification
from bridge.oicp.models.ids import EvseID, OperatorID, ProductID, ProviderID, SessionID

#: At most this many SignedMeteringValues (Start, Progress1..8, End).
MAX_SIGNED_METERING_VALUES = 10


class MeteringStatus(enum.StrEnum):
    """MeteringStatusType of a signed metering value."""

    START = "Start"
    PROGRESS = "Progress"
    END = "End"


class SignedMeteringValue(OicpModel):
    """SignedMeteringValuesType: ``SignedMeteringValue`` O (transparency-software format, ≤3000,
    opaque), ``MeteringStatus`` O."""

    signed_metering_value: str | None = Field(default=None, alias="SignedMeteringValue")
    metering_status: MeteringStatus | None = Field(default=None, alias="MeteringStatus")


class CalibrationLawVerificationInfo(OicpModel):
    """CalibrationLawVerificationType: all fields O (certificate ID ≤100, public key ≤1000,
    signature URL ≤200, encoding format ≤50, verification instruction ≤400)."""

    calibration_law_certificate_id: str | None = Field(default=None, alias="CalibrationLawCertificateID")
    public_key: str | None = Field(default=None, alias="PublicKey")
    metering_signature_url: str | None = Field(default=None, alias="MeteringSignatureUrl")
    metering_signature_encoding_format: str | None = Field(
        default=None, alias="MeteringSignatureEncodingFormat"
    )
    signed_metering_values_verification_instruction: str | None = Field(
        default=None, alias="SignedMeteringValuesVerificationInstruction"
    )


def _meter_values_object(value: Any) -> Any:
    """The spec prose says "List"; the wire has ``{"meterValues": [...]}``. A bare list is accepted."""
    if isinstance(value, list):
        return {"meterValues": value}
    return value


class MeterValueInBetween(OicpModel):
    """``MeterValueInBetween``: an object ``{"meterValues": [kWh, ...]}``.

    oicp-2.3.md §8 point 5; [W] MeterValueInBetweenDTO.
    """

    meter_values: list[OicpNumber] = Field(default_factory=list, alias="meterValues")


MeterValuesInBetween = Annotated[MeterValueInBetween, BeforeValidator(_meter_values_object)]


class ChargeDetailRecord(SensitiveEgressChecked):
    """eRoamingChargeDetailRecord v2.2 (oicp-2.3.md §4.7).

    ``SessionID`` M (one CDR per SessionID), ``EvseID`` M, ``Identification`` M,
    ``ChargingStart``/``ChargingEnd`` M since 2.3 (optional here: CDRs of OICP 2.1/2.2 CPOs
    lack them; checked on egress), ``SessionStart``/``SessionEnd`` M with the charge point's
    local offset, ``ConsumedEnergy`` M kWh. ``HubProviderID`` is emitted; the OpenAPI's former
    ``HubProviderId`` is accepted (§8 point 5).
    """

    session_id: SessionID = Field(alias="SessionID")
    cpo_partner_session_id: str | None = partner_session_id_field("CPOPartnerSessionID")
    emp_partner_session_id: str | None = partner_session_id_field("EMPPartnerSessionID")
    partner_product_id: ProductID | None = Field(default=None, alias="PartnerProductID")
    evse_id: EvseID = Field(alias="EvseID")
    identification: Identification = Field(alias="Identification")
    charging_start: OicpDateTime | None = Field(default=None, alias="ChargingStart")
    charging_end: OicpDateTime | None = Field(default=None, alias="ChargingEnd")
    session_start: OicpDateTime = Field(alias="SessionStart")
    session_end: OicpDateTime = Field(alias="SessionEnd")
    meter_value_start: OicpNumber | None = Field(default=None, alias="MeterValueStart")
    meter_value_end: OicpNumber | None = Field(default=None, alias="MeterValueEnd")
    meter_value_in_between: MeterValuesInBetween | None = Field(default=None, alias="MeterValueInBetween")
    consumed_energy: OicpNumber = Field(alias="ConsumedEnergy")
    signed_metering_values: list[SignedMeteringValue] | None = Field(
        default=None, alias="SignedMeteringValues"
    )
    calibration_law_verification_info: CalibrationLawVerificationInfo | None = Field(
        default=None, alias="CalibrationLawVerificationInfo"
    )
    hub_operator_id: OperatorID | None = Field(default=None, alias="HubOperatorID")
    hub_provider_id: ProviderID | None = Field(
        default=None,
        validation_alias=AliasChoices("HubProviderID", "HubProviderId"),
        serialization_alias="HubProviderID",
    )

    def egress_problems(self) -> list[str]:
        problems = missing(self, "charging_start", "charging_end")
        if self.signed_metering_values and len(self.signed_metering_values) > MAX_SIGNED_METERING_VALUES:
            problems.append(
                f"SignedMeteringValues has {len(self.signed_metering_values)} entries, "
                f"at most {MAX_SIGNED_METERING_VALUES} are allowed"
            )
        return problems


def _operator_list(value: Any) -> Any:
    """GetChargeDetailRecords ``OperatorID``: an array in [W] and the snippets, a scalar in the OpenAPI."""
    if isinstance(value, str):
        return [value]
    return value


class GetChargeDetailRecords(OicpModel):
    """eRoamingGetChargeDetailRecords v2.2 (EMP → Hubject, paged with ``?page=&size=``).

    ``ProviderID`` M, ``From`` M, ``To`` M, ``SessionID`` O list, ``OperatorID`` O (a list: a
    scalar is accepted and emitted as a one-element array), ``CDRForwarded`` O (the OpenAPI's
    ``CDRForwarder`` is accepted). Returns every CDR of the range, delivered or not (§8 point 15).
    """

    provider_id: ProviderID = Field(alias="ProviderID")
    from_: OicpDateTime = Field(alias="From")
    to: OicpDateTime = Field(alias="To")
    session_id: list[SessionID] | None = Field(default=None, alias="SessionID")
    operator_id: Annotated[list[OperatorID], BeforeValidator(_operator_list)] | None = Field(
        default=None, alias="OperatorID"
    )
    cdr_forwarded: bool | None = Field(
        default=None,
        validation_alias=AliasChoices("CDRForwarded", "CDRForwarder"),
        serialization_alias="CDRForwarded",
    )


class GetChargeDetailRecordsResponse(Page[ChargeDetailRecord]):
    """eRoamingChargeDetailRecords: the page answering GetChargeDetailRecords."""

    model_config = ConfigDict(hide_input_in_errors=True)


__all__ = [
    "MAX_SIGNED_METERING_VALUES",
    "CalibrationLawVerificationInfo",
    "ChargeDetailRecord",
    "GetChargeDetailRecords",
    "GetChargeDetailRecordsResponse",
    "MeterValueInBetween",
    "MeterValuesInBetween",
    "MeteringStatus",
    "SignedMeteringValue",
]
