"""AuthorizeRemoteReservationStart/Stop v1.1 (oicp-2.3.md §2.2, §2.3), answered with an Acknowledgement.

Paths: ``POST /reservation/v11/providers/{providerID}/reservation-start-request`` and
``…/reservation-stop-request``. After a reservation stop the CPO MUST send a CDR.
``EMPPartnerSessionID`` is emitted; the OpenAPI's ``EMPPartnerSessionId`` is accepted (§8 point 5).
"""

from __future__ import annotations

from pydantic import Field

from bridge.oicp.models.common import OicpModel, SensitiveEgressChecked, partner_session_id_field
from bridge.oicp.models.identification import Identification
from bridge.oicp.models.ids import EvseID, ProductID, ProviderID, SessionID


class AuthorizeRemoteReservationStart(SensitiveEgressChecked):
    """eRoamingAuthorizeRemoteReservationStart v1.1: ``SessionID`` O (present when forwarded),
    partner session IDs O, ``ProviderID`` M, ``EvseID`` M, ``Identification`` M (RemoteIdentification),
    ``PartnerProductID`` O (the reservation product), ``Duration`` O minutes 1..99."""

    session_id: SessionID | None = Field(default=None, alias="SessionID")
    cpo_partner_session_id: str | None = partner_session_id_field("CPOPartnerSessionID")
    emp_partner_session_id: str | None = partner_session_id_field("EMPPartnerSessionID")
    provider_id: ProviderID = Field(alias="ProviderID")
    evse_id: EvseID = Field(alias="EvseID")
    identification: Identification = Field(alias="Identification")
    partner_product_id: ProductID | None = Field(default=None, alias="PartnerProductID")
    duration: int | None = Field(default=None, alias="Duration")

    def egress_problems(self) -> list[str]:
        if self.duration is not None and not 1 <= self.duration <= 99:
            return [f"Duration {self.duration} is outside 1..99 minutes"]
        return []


class AuthorizeRemoteReservationStop(OicpModel):
    """eRoamingAuthorizeRemoteReservationStop v1.1: ``SessionID`` M, partner session IDs O,
    ``ProviderID`` M, ``EvseID`` M."""

    session_id: SessionID = Field(alias="SessionID")
    cpo_partner_session_id: str | None = partner_session_id_field("CPOPartnerSessionID")
    emp_partner_session_id: str | None = partner_session_id_field("EMPPartnerSessionID")
    provider_id: ProviderID = Field(alias="ProviderID")
    evse_id: EvseID = Field(alias="EvseID")


__all__ = ["AuthorizeRemoteReservationStart", "AuthorizeRemoteReservationStop"]
