"""eRoamingAuthorization: AuthorizeStart/Stop and their answers (oicp-2.3.md §2.1, §2.4, §3.2, §4.5).

CPO → Hubject (``POST /charging/v21/operators/{operatorID}/authorize/start|stop``), relayed by
Hubject to online EMPs at the same path. The answers are eRoamingAuthorizationStart/Stop.
"""

from __future__ import annotations

import enum

from pydantic import Field

from bridge.oicp.models.common import OicpSensitiveModel, StatusCode, partner_session_id_field
from bridge.oicp.models.identification import Identification
from bridge.oicp.models.ids import EvseID, OperatorID, ProductID, ProviderID, SessionID


class AuthorizationStatus(enum.StrEnum):
    """AuthorizationStatusType."""

    AUTHORIZED = "Authorized"
    NOT_AUTHORIZED = "NotAuthorized"


class AuthorizeStart(OicpSensitiveModel):
    """eRoamingAuthorizeStart v2.1: ``SessionID`` O (set by Hubject when relayed), partner session
    IDs O, ``OperatorID`` M, ``EvseID`` O (recommended), ``Identification`` M, ``PartnerProductID`` O.

    RFID only as RFIDMifareFamilyIdentification; a QR code needs the clear ``PIN``.
    """

    session_id: SessionID | None = Field(default=None, alias="SessionID")
    cpo_partner_session_id: str | None = partner_session_id_field("CPOPartnerSessionID")
    emp_partner_session_id: str | None = partner_session_id_field("EMPPartnerSessionID")
    operator_id: OperatorID = Field(alias="OperatorID")
    evse_id: EvseID | None = Field(default=None, alias="EvseID")
    identification: Identification = Field(alias="Identification")
    partner_product_id: ProductID | None = Field(default=None, alias="PartnerProductID")


class AuthorizeStop(OicpSensitiveModel):
    """eRoamingAuthorizeStop v2.1: ``SessionID`` M, partner session IDs O, ``OperatorID`` M,
    ``EvseID`` O, ``Identification`` M."""

    session_id: SessionID = Field(alias="SessionID")
    cpo_partner_session_id: str | None = partner_session_id_field("CPOPartnerSessionID")
    emp_partner_session_id: str | None = partner_session_id_field("EMPPartnerSessionID")
    operator_id: OperatorID = Field(alias="OperatorID")
    evse_id: EvseID | None = Field(default=None, alias="EvseID")
    identification: Identification = Field(alias="Identification")


class AuthorizationStart(OicpSensitiveModel):
    """eRoamingAuthorizationStart (answer to AuthorizeStart, oicp-2.3.md §3.2).

    ``ProviderID`` is filled when authorized (HBS caches UID → ProviderID, §8 point 13);
    ``AuthorizationStopIdentifications`` O lists who may stop the session.
    """

    session_id: SessionID | None = Field(default=None, alias="SessionID")
    cpo_partner_session_id: str | None = partner_session_id_field("CPOPartnerSessionID")
    emp_partner_session_id: str | None = partner_session_id_field("EMPPartnerSessionID")
    provider_id: ProviderID | None = Field(default=None, alias="ProviderID")
    authorization_status: AuthorizationStatus = Field(alias="AuthorizationStatus")
    status_code: StatusCode = Field(alias="StatusCode")
    authorization_stop_identifications: list[Identification] | None = Field(
        default=None, alias="AuthorizationStopIdentifications"
    )


class AuthorizationStop(OicpSensitiveModel):
    """eRoamingAuthorizationStop (answer to AuthorizeStop): as AuthorizationStart without
    ``AuthorizationStopIdentifications``."""

    session_id: SessionID | None = Field(default=None, alias="SessionID")
    cpo_partner_session_id: str | None = partner_session_id_field("CPOPartnerSessionID")
    emp_partner_session_id: str | None = partner_session_id_field("EMPPartnerSessionID")
    provider_id: ProviderID | None = Field(default=None, alias="ProviderID")
    authorization_status: AuthorizationStatus = Field(alias="AuthorizationStatus")
    status_code: StatusCode = Field(alias="StatusCode")


__all__ = [
    "AuthorizationStart",
    "AuthorizationStatus",
    "AuthorizationStop",
    "AuthorizeStart",
    "AuthorizeStop",
]
