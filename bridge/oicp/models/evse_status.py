"""EVSE status: PushEvseStatus and the three PullEvseStatus operations (oicp-2.3.md §2.1, §2.3, §4.3).

PullEvseStatus and PullEvseStatusByOperatorID answer ``EvseStatuses.OperatorEvseStatus[]``;
PullEvseStatusByID answers a different envelope, ``EVSEStatusRecords.EvseStatusRecord[]``
(hubject/oicp#117, §8 point 6).
"""

from __future__ import annotations

import enum

from pydantic import AliasChoices, Field

from bridge.oicp.models.common import ActionType, EgressChecked, OicpModel, StatusCode
from bridge.oicp.models.evse_data import SearchCenter
from bridge.oicp.models.ids import EvseID, OperatorID, ProviderID

#: PullEvseStatusByID takes at most this many EvseIDs.
PULL_EVSE_STATUS_BY_ID_MAX = 100


class EvseStatus(enum.StrEnum):
    """EvseStatusType. ``EvseNotFound``: the requested EVSE is unknown to HBS (pull answers)."""

    AVAILABLE = "Available"
    RESERVED = "Reserved"
    OCCUPIED = "Occupied"
    OUT_OF_SERVICE = "OutOfService"
    EVSE_NOT_FOUND = "EvseNotFound"
    UNKNOWN = "Unknown"


class EvseStatusRecord(OicpModel):
    """EvseStatusRecordType: ``EvseID`` M, ``EvseStatus`` M."""

    evse_id: EvseID = Field(alias="EvseID")
    evse_status: EvseStatus = Field(alias="EvseStatus")


class OperatorEvseStatus(EgressChecked):
    """OperatorEvseStatusType: ``OperatorID`` M, ``OperatorName`` O ≤100, ``EvseStatusRecord`` M 0..n."""

    operator_id: OperatorID = Field(alias="OperatorID")
    operator_name: str | None = Field(default=None, alias="OperatorName")
    evse_status_record: list[EvseStatusRecord] = Field(alias="EvseStatusRecord")

    def egress_problems(self) -> list[str]:
        if self.operator_name is not None and len(self.operator_name) > 100:
            return ["OperatorName is longer than 100 characters"]
        return []


class PushEvseStatus(OicpModel):
    """eRoamingPushEvseStatus v2.1 (CPO → Hubject).

    ``POST /evsepush/v21/operators/{operatorID}/status-records``.

    Answered with an Acknowledgement.
    """

    action_type: ActionType = Field(alias="ActionType")
    operator_evse_status: OperatorEvseStatus = Field(alias="OperatorEvseStatus")


class PullEvseStatus(OicpModel):
    """eRoamingPullEvseStatus v2.1 (EMP → Hubject, ``…/providers/{providerID}/status-records``).

    ``EvseStatus`` (filter) is the implemented spelling ([W], snippets, the OpenAPI's own
    example); the OpenAPI schema's ``EVSEStatus`` is accepted too (§8 point 5).
    """

    provider_id: ProviderID = Field(alias="ProviderID")
    search_center: SearchCenter | None = Field(default=None, alias="SearchCenter")
    evse_status: EvseStatus | None = Field(
        default=None,
        validation_alias=AliasChoices("EvseStatus", "EVSEStatus"),
        serialization_alias="EvseStatus",
    )


class PullEvseStatusByID(EgressChecked):
    """eRoamingPullEvseStatusByID (EMP → Hubject, ``…/status-records-by-id``): at most 100 EvseIDs."""

    provider_id: ProviderID = Field(alias="ProviderID")
    evse_id: list[EvseID] = Field(alias="EvseID")

    def egress_problems(self) -> list[str]:
        if len(self.evse_id) > PULL_EVSE_STATUS_BY_ID_MAX:
            count = len(self.evse_id)
            return [f"EvseID lists {count} EVSEs, at most {PULL_EVSE_STATUS_BY_ID_MAX} are allowed"]
        return []


class PullEvseStatusByOperatorID(OicpModel):
    """eRoamingPullEvseStatusByOperatorID (EMP → Hubject, ``…/status-records-by-operator-id``)."""

    provider_id: ProviderID = Field(alias="ProviderID")
    operator_id: list[OperatorID] = Field(alias="OperatorID")


class EvseStatuses(OicpModel):
    """The ``EvseStatuses`` wrapper: ``OperatorEvseStatus`` M list."""

    operator_evse_status: list[OperatorEvseStatus] = Field(alias="OperatorEvseStatus")


class PullEvseStatusResponse(OicpModel):
    """eRoamingEvseStatus: answer to PullEvseStatus and PullEvseStatusByOperatorID."""

    evse_statuses: EvseStatuses = Field(alias="EvseStatuses")
    status_code: StatusCode | None = Field(default=None, alias="StatusCode")


class EvseStatusRecords(OicpModel):
    """The ``EVSEStatusRecords`` wrapper of PullEvseStatusByID: ``EvseStatusRecord`` M list."""

    evse_status_record: list[EvseStatusRecord] = Field(alias="EvseStatusRecord")


class PullEvseStatusByIDResponse(OicpModel):
    """eRoamingEvseStatusById: answer to PullEvseStatusByID (different envelope, hubject/oicp#117)."""

    evse_status_records: EvseStatusRecords = Field(alias="EVSEStatusRecords")
    status_code: StatusCode | None = Field(default=None, alias="StatusCode")


__all__ = [
    "PULL_EVSE_STATUS_BY_ID_MAX",
    "EvseStatus",
    "EvseStatusRecord",
    "EvseStatusRecords",
    "EvseStatuses",
    "OperatorEvseStatus",
    "PullEvseStatus",
    "PullEvseStatusByID",
    "PullEvseStatusByIDResponse",
    "PullEvseStatusByOperatorID",
    "PullEvseStatusResponse",
    "PushEvseStatus",
]
