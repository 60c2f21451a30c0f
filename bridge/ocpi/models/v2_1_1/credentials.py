"""OCPI 2.1.1 Credentials module (credentials.md): the flat Credentials object.

2.1.1 (ocpi.md §1.2): ``{token string(64), url, business_details, party_id string(3),
country_code string(2)}`` -- one party per object, no ``roles`` list. The role is implied by the
versions URL the connection uses.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field

from bridge.ocpi.models.common import OcpiModel
from bridge.ocpi.models.v2_1_1.locations import BusinessDetails
from bridge.ocpi.models.v2_1_1.types import URL, String2, String3


class Credentials(OcpiModel):
    """credentials.md 3.1 Credentials object (2.1.1).

    ``token`` is the credentials token (raw, never Base64 inside the body); validation errors never
    echo the input.
    """

    model_config = ConfigDict(hide_input_in_errors=True)

    token: str = Field(min_length=1, max_length=64)
    url: URL
    business_details: BusinessDetails
    party_id: String3
    country_code: String2


__all__ = ["Credentials"]
