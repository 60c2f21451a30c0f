"""PushAuthenticationData v2.1 (oicp-2.3.md §2.3, §4.6): offline EMPs upload their tokens.

``POST /authdata/v21/providers/{providerID}/push-request``, answered with an Acknowledgement
(an EvcoID not matching the ProviderID gives 019). This is the only place RFIDIdentification and
HashedPIN may be used.
"""

from __future__ import annotations

from pydantic import Field

from bridge.oicp.models.common import ActionType, OicpSensitiveModel
from bridge.oicp.models.identification import Identification
from bridge.oicp.models.ids import ProviderID


class AuthenticationDataRecord(OicpSensitiveModel):
    """AuthenticationDataRecordType: ``Identification`` M."""

    identification: Identification = Field(alias="Identification")


class ProviderAuthenticationData(OicpSensitiveModel):
    """ProviderAuthenticationDataType: ``ProviderID`` M, ``AuthenticationDataRecord`` M 0..n."""

    provider_id: ProviderID = Field(alias="ProviderID")
    authentication_data_record: list[AuthenticationDataRecord] = Field(alias="AuthenticationDataRecord")


class PushAuthenticationData(OicpSensitiveModel):
    """eRoamingPushAuthenticationData v2.1: ``ActionType`` M, ``ProviderAuthenticationData`` M."""

    action_type: ActionType = Field(alias="ActionType")
    provider_authentication_data: ProviderAuthenticationData = Field(alias="ProviderAuthenticationData")


__all__ = ["AuthenticationDataRecord", "ProviderAuthenticationData", "PushAuthenticationData"]
