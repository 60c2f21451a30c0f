"""ChargingNotifications v1.1 (oicp-2.3.md §4.8): Start, Progress, End, Error, discriminated by ``Type``.

One endpoint, ``POST /notificationmgmt/v11/charging-notifications`` (no ID in the path); CPO →
Hubject → EMP, answered with an Acknowledgement (the EMP's, relayed). Parse with
:func:`parse_charging_notification` or :data:`ChargingNotificationAdapter`.

``OperatorID`` is mandatory in the OpenAPI but optional in the spec tables (absent for Error);
it is optional on ingress and required on egress. Progress notifications need
``ChargingDuration`` (milliseconds) and/or ``ConsumedEnergyProgress`` (checked on egress).
"""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, TypeAdapter

from bridge.oicp.models.cdr import MeterValuesInBetween
from bridge.oicp.models.common import (
    OicpDateTime,
    OicpNumber,
    SensitiveEgressChecked,
    missing,
    partner_session_id_field,
)
from bridge.oicp.models.identification import Identification
from bridge.oicp.models.ids import EvseID, OperatorID, ProductID, SessionID


class ChargingNotificationType(enum.StrEnum):
    """ChargingNotificationType: the discriminator ``Type``."""

    START = "Start"
    PROGRESS = "Progress"
    END = "End"
    ERROR = "Error"


class ErrorType(enum.StrEnum):
    """ErrorClassType of an Error notification (no spaces; the CPO table's "Connector Error" is a typo)."""

    CONNECTOR_ERROR = "ConnectorError"
    CRITICAL_ERROR = "CriticalError"


_ERROR_TYPES = frozenset(error.value for error in ErrorType)


def _error_type_text(value: Any) -> Any:
    """Accept the CPO table's spelling with a space (``Connector Error``) on ingress."""
    if isinstance(value, str) and value.replace(" ", "") in _ERROR_TYPES:
        return value.replace(" ", "")
    return value


class _ChargingNotificationBase(SensitiveEgressChecked):
    """Fields common to the four notifications: ``SessionID`` M, partner session IDs O,
    ``Identification`` O, ``EvseID`` M, ``OperatorID`` (see module docstring)."""

    session_id: SessionID = Field(alias="SessionID")
    cpo_partner_session_id: str | None = partner_session_id_field("CPOPartnerSessionID")
    emp_partner_session_id: str | None = partner_session_id_field("EMPPartnerSessionID")
    identification: Identification | None = Field(default=None, alias="Identification")
    evse_id: EvseID = Field(alias="EvseID")
    operator_id: OperatorID | None = Field(default=None, alias="OperatorID")

    def egress_problems(self) -> list[str]:
        return missing(self, "operator_id")


class ChargingNotificationStart(_ChargingNotificationBase):
    """eRoamingChargingNotificationStart: ``ChargingStart`` M, ``SessionStart`` O,
    ``MeterValueStart`` O, ``PartnerProductID`` O."""

    type: Literal[ChargingNotificationType.START] = Field(
        default=ChargingNotificationType.START, alias="Type"
    )
    charging_start: OicpDateTime = Field(alias="ChargingStart")
    session_start: OicpDateTime | None = Field(default=None, alias="SessionStart")
    meter_value_start: OicpNumber | None = Field(default=None, alias="MeterValueStart")
    partner_product_id: ProductID | None = Field(default=None, alias="PartnerProductID")


class ChargingNotificationProgress(_ChargingNotificationBase):
    """eRoamingChargingNotificationProgress: ``ChargingStart`` M, ``EventOccurred`` M,
    ``ChargingDuration`` ms and/or ``ConsumedEnergyProgress`` kWh, ``SessionStart`` O,
    ``MeterValueStart`` O, ``MeterValueInBetween`` O, ``PartnerProductID`` O. At least 5 minutes
    between two progress notifications of a session."""

    type: Literal[ChargingNotificationType.PROGRESS] = Field(
        default=ChargingNotificationType.PROGRESS, alias="Type"
    )
    charging_start: OicpDateTime = Field(alias="ChargingStart")
    event_occurred: OicpDateTime = Field(alias="EventOccurred")
    charging_duration: int | None = Field(default=None, alias="ChargingDuration")
    session_start: OicpDateTime | None = Field(default=None, alias="SessionStart")
    consumed_energy_progress: OicpNumber | None = Field(default=None, alias="ConsumedEnergyProgress")
    meter_value_start: OicpNumber | None = Field(default=None, alias="MeterValueStart")
    meter_value_in_between: MeterValuesInBetween | None = Field(default=None, alias="MeterValueInBetween")
    partner_product_id: ProductID | None = Field(default=None, alias="PartnerProductID")

    def egress_problems(self) -> list[str]:
        problems = super().egress_problems()
        if self.charging_duration is None and self.consumed_energy_progress is None:
            problems.append("ChargingDuration or ConsumedEnergyProgress is mandatory")
        return problems


class ChargingNotificationEnd(_ChargingNotificationBase):
    """eRoamingChargingNotificationEnd (energy flow stopped; the session may go on):
    ``ChargingEnd`` M, ``ChargingStart``/``SessionStart``/``SessionEnd`` O, ``ConsumedEnergy`` O,
    meter values O, ``PartnerProductID`` O, ``PenaltyTimeStart`` O (blocking fee start)."""

    type: Literal[ChargingNotificationType.END] = Field(default=ChargingNotificationType.END, alias="Type")
    charging_start: OicpDateTime | None = Field(default=None, alias="ChargingStart")
    charging_end: OicpDateTime = Field(alias="ChargingEnd")
    session_start: OicpDateTime | None = Field(default=None, alias="SessionStart")
    session_end: OicpDateTime | None = Field(default=None, alias="SessionEnd")
    consumed_energy: OicpNumber | None = Field(default=None, alias="ConsumedEnergy")
    meter_value_start: OicpNumber | None = Field(default=None, alias="MeterValueStart")
    meter_value_end: OicpNumber | None = Field(default=None, alias="MeterValueEnd")
    meter_value_in_between: MeterValuesInBetween | None = Field(default=None, alias="MeterValueInBetween")
    partner_product_id: ProductID | None = Field(default=None, alias="PartnerProductID")
    penalty_time_start: OicpDateTime | None = Field(default=None, alias="PenaltyTimeStart")


class ChargingNotificationError(_ChargingNotificationBase):
    """eRoamingChargingNotificationError: ``ErrorType`` M, ``ErrorAdditionalInfo`` O ≤250."""

    type: Literal[ChargingNotificationType.ERROR] = Field(
        default=ChargingNotificationType.ERROR, alias="Type"
    )
    error_type: Annotated[ErrorType, BeforeValidator(_error_type_text)] = Field(alias="ErrorType")
    error_additional_info: str | None = Field(default=None, alias="ErrorAdditionalInfo")

    def egress_problems(self) -> list[str]:
        problems = super().egress_problems()
        if self.error_additional_info is not None and len(self.error_additional_info) > 250:
            problems.append("ErrorAdditionalInfo is longer than 250 characters")
        return problems


ChargingNotification = Annotated[
    ChargingNotificationStart
    | ChargingNotificationProgress
    | ChargingNotificationEnd
    | ChargingNotificationError,
    Field(discriminator="type"),
]
"""Any charging notification, chosen by its ``Type``."""

# The adapter is the outermost validator: its configuration decides whether errors echo the input.
ChargingNotificationAdapter: TypeAdapter[ChargingNotification] = TypeAdapter(
    ChargingNotification, config=ConfigDict(hide_input_in_errors=True)
)


def parse_charging_notification(data: bytes | str) -> ChargingNotification:
    """Parse a notification body into the class its ``Type`` names (ValidationError otherwise)."""
    return ChargingNotificationAdapter.validate_json(data)


__all__ = [
    "ChargingNotification",
    "ChargingNotificationAdapter",
    "ChargingNotificationEnd",
    "ChargingNotificationError",
    "ChargingNotificationProgress",
    "ChargingNotificationStart",
    "ChargingNotificationType",
    "ErrorType",
    "parse_charging_notification",
]
