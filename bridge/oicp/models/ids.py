"""OICP 2.3 identifier types (oicp-2.3.md §4.1), checked on egress only.

The regular expressions are copied from the bundled OpenAPI files (openapi-cpo / openapi-emp
``components/schemas``), except where noted. Each ID type is ``str`` on ingress (Hubject's data
is accepted as received) and raises :class:`~bridge.oicp.models._egress.OicpEgressError` naming
the value when a model holding a malformed one is serialized for sending.

Every type has an ``is_valid_<x>(s) -> bool``; IDs that are compared across systems have a
normaliser (upper-case, as HBS does, oicp-2.3.md §8 point 11) and a compare key without
separators (``DE*ABC*E1`` and ``DEABCE1`` are the same EVSE).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated

from pydantic import PlainSerializer, SerializationInfo

from bridge.oicp.models._egress import OicpEgressError, is_lenient

# OpenAPI components/schemas/<name>/pattern, verbatim. re.ASCII: ``\d`` is ASCII in the spec's
# (Java/JavaScript) regex dialect.
EVSE_ID_PATTERN = (
    r"^(([A-Za-z]{2}\*?[A-Za-z0-9]{3}\*?E[A-Za-z0-9\*]{1,30})|(\+?[0-9]{1,3}\*[0-9]{3}\*[0-9\*]{1,32}))$"
)
OPERATOR_ID_PATTERN = r"^(([A-Za-z]{2}\*?[A-Za-z0-9]{3})|(\+?[0-9]{1,3}\*[0-9]{3}))$"
PROVIDER_ID_PATTERN = r"^([A-Za-z]{2}\-?[A-Za-z0-9]{3}|[A-Za-z]{2}[\*|-]?[A-Za-z0-9]{3})$"
# The OpenAPI's ProviderIDAsterisk pattern ``^(…)|\*$`` anchors each alternative on one side only;
# this is the [W] (implementation Swagger) form, anchored as intended.
PROVIDER_ID_ASTERISK_PATTERN = r"^([A-Za-z]{2}\-?[A-Za-z0-9]{3}|[A-Za-z]{2}[\*|-]?[A-Za-z0-9]{3}|\*)$"
EVCO_ID_PATTERN = (
    r"^(([A-Za-z]{2}\-?[A-Za-z0-9]{3}\-?C[A-Za-z0-9]{8}\-?[\d|A-Za-z])|"
    r"([A-Za-z]{2}[\*|\-]?[A-Za-z0-9]{3}[\*|\-]?[A-Za-z0-9]{6}[\*|\-]?[\d|X]))$"
)
UID_PATTERN = r"^([0-9A-F]{8,8}|[0-9A-F]{14,14}|[0-9A-F]{20,20})$"
SESSION_ID_PATTERN = r"^[A-Za-z0-9]{8}(-[A-Za-z0-9]{4}){3}-[A-Za-z0-9]{12}$"
PHONE_NUMBER_PATTERN = r"^\+[0-9]{5,15}$"
# Not anchored in the spec; the ABNF it is derived from describes the whole string.
CHARGING_POOL_ID_PATTERN = r"([A-Za-z]{2}\*?[A-Za-z0-9]{3}\*?P[A-Za-z0-9\*]{1,30})"
PRODUCT_ID_MAX_LENGTH = 50

_EVSE_ID = re.compile(EVSE_ID_PATTERN, re.ASCII)
_OPERATOR_ID = re.compile(OPERATOR_ID_PATTERN, re.ASCII)
_PROVIDER_ID = re.compile(PROVIDER_ID_PATTERN, re.ASCII)
_PROVIDER_ID_ASTERISK = re.compile(PROVIDER_ID_ASTERISK_PATTERN, re.ASCII)
_EVCO_ID = re.compile(EVCO_ID_PATTERN, re.ASCII)
_UID = re.compile(UID_PATTERN, re.ASCII)
_SESSION_ID = re.compile(SESSION_ID_PATTERN, re.ASCII)
_PHONE_NUMBER = re.compile(PHONE_NUMBER_PATTERN, re.ASCII)
_CHARGING_POOL_ID = re.compile(CHARGING_POOL_ID_PATTERN, re.ASCII)


def is_valid_evse_id(value: str) -> bool:
    """EvseIDType: ISO (``DE*AB7*E840*6487``, ``DEAB7E8406487``) or DIN (``+49*810*000*438``)."""
    return _EVSE_ID.fullmatch(value) is not None


def is_valid_operator_id(value: str) -> bool:
    """OperatorIDType: ISO (``DE*A36``, ``DEA36``) or DIN (``+49*536``)."""
    return _OPERATOR_ID.fullmatch(value) is not None


def is_valid_provider_id(value: str) -> bool:
    """ProviderIDType: ``DE8EO``, ``DE-8EO``, ``DE*8EO``."""
    return _PROVIDER_ID.fullmatch(value) is not None


def is_valid_provider_id_asterisk(value: str) -> bool:
    """ProviderIDAsterisk (dynamic pricing): a ProviderID or ``*`` for every EMP."""
    return _PROVIDER_ID_ASTERISK.fullmatch(value) is not None


def is_valid_evco_id(value: str) -> bool:
    """EvcoIDType: ISO (``DE-8EO-CAet5e4XY-3``, check character required) or DIN (``DE*8EO*Aet5e4*3``)."""
    return _EVCO_ID.fullmatch(value) is not None


def is_valid_uid(value: str) -> bool:
    """UIDType: upper-case hex of 8, 14 or 20 characters (4/7/10-byte RFID UIDs)."""
    return _UID.fullmatch(value) is not None


def is_valid_session_id(value: str) -> bool:
    """SessionIDType: a GUID such as ``b2688855-7f00-0002-6d8e-48d883f6abb6``."""
    return _SESSION_ID.fullmatch(value) is not None


def is_valid_phone_number(value: str) -> bool:
    """PhoneNumberType: ``+`` and 5 to 15 digits, no spaces (``+0305132787``)."""
    return _PHONE_NUMBER.fullmatch(value) is not None


def is_valid_charging_pool_id(value: str) -> bool:
    """ChargingPoolIDType (emi³ EVSE Pool ID): ``IT*123*P456*AB789``."""
    return _CHARGING_POOL_ID.fullmatch(value) is not None


def is_valid_product_id(value: str) -> bool:
    """ProductIDType: ``Standard Price``, ``AC1``, ``AC3``, ``DC`` or any custom 1–50 characters."""
    return 0 < len(value) <= PRODUCT_ID_MAX_LENGTH


# ---------------------------------------------------------------------------------------------
# Normalisers and compare keys


def normalize_evse_id(value: str) -> str:
    """Upper-case, trimmed: the form HBS stores (it upper-cases IDs, hubject/oicp#114)."""
    return value.strip().upper()


def evse_id_key(value: str) -> str:
    """Compare form of an EvseID: upper-case without ``*`` separators."""
    return normalize_evse_id(value).replace("*", "")


def normalize_operator_id(value: str) -> str:
    """Upper-case, trimmed."""
    return value.strip().upper()


def operator_id_key(value: str) -> str:
    """Compare form of an OperatorID: upper-case without ``*`` separators."""
    return normalize_operator_id(value).replace("*", "")


def normalize_provider_id(value: str) -> str:
    """Upper-case, trimmed (``de-dcb`` → ``DE-DCB``)."""
    return value.strip().upper()


def provider_id_key(value: str) -> str:
    """Compare form of a ProviderID: ``DE-ABC``, ``DE*ABC`` and ``DEABC`` all give ``DEABC``."""
    return normalize_provider_id(value).replace("*", "").replace("-", "")


def normalize_evco_id(value: str) -> str:
    """Upper-case, trimmed: HBS upper-cases EvcoIDs."""
    return value.strip().upper()


def evco_id_key(value: str) -> str:
    """Compare form of an EvcoID: upper-case without ``*``/``-`` separators."""
    return normalize_evco_id(value).replace("*", "").replace("-", "")


def normalize_uid(value: str) -> str:
    """Upper-case hex without blanks, ``:`` or ``-`` (``04:a2:5b:12`` → ``04A25B12``).

    The result may still be invalid (UIDs must be 8, 14 or 20 hex characters): check it with
    :func:`is_valid_uid`; other lengths cannot be roamed (oicp-2.3.md §8 point 10).
    """
    return re.sub(r"[\s:\-]", "", value).upper()


def normalize_session_id(value: str) -> str:
    """Lower-case, trimmed: SessionIDs are GUIDs and compare case-insensitively."""
    return value.strip().lower()


def normalize_phone_number(value: str) -> str:
    """Drop blanks and ``-/().`` and turn a leading ``00`` into ``+`` (``0049 30 123-4`` → ``+49301234``).

    PhoneNumberType forbids spaces and dashes (oicp-2.3.md §8 point 9). The result may still be
    invalid (e.g. a national number without country code): check it with :func:`is_valid_phone_number`.
    """
    compact = re.sub(r"[\s\-/().]", "", value)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    return compact


def normalize_charging_pool_id(value: str) -> str:
    """Upper-case, trimmed (pool IDs are case-insensitive)."""
    return value.strip().upper()


# ---------------------------------------------------------------------------------------------
# The types


def _egress(name: str, check: Callable[[str], bool], rule: str = "oicp-2.3.md §4.1") -> PlainSerializer:
    def serialize(value: str, info: SerializationInfo) -> str:
        if not is_lenient(info) and not check(value):
            raise OicpEgressError(f"{name} {value!r} is not a valid OICP {name} ({rule})")
        return value

    serialize.__name__ = f"serialize_{name}"
    return PlainSerializer(serialize, return_type=str)


EvseID = Annotated[str, _egress("EvseID", is_valid_evse_id)]
OperatorID = Annotated[str, _egress("OperatorID", is_valid_operator_id)]
ProviderID = Annotated[str, _egress("ProviderID", is_valid_provider_id)]
ProviderIDAsterisk = Annotated[str, _egress("ProviderID", is_valid_provider_id_asterisk)]
EvcoID = Annotated[str, _egress("EvcoID", is_valid_evco_id)]
UID = Annotated[str, _egress("UID", is_valid_uid)]
SessionID = Annotated[str, _egress("SessionID", is_valid_session_id)]
PhoneNumber = Annotated[str, _egress("PhoneNumber", is_valid_phone_number)]
ChargingPoolID = Annotated[str, _egress("ChargingPoolID", is_valid_charging_pool_id)]
ProductID = Annotated[str, _egress("ProductID", is_valid_product_id, "1 to 50 characters")]

__all__ = [
    "CHARGING_POOL_ID_PATTERN",
    "EVCO_ID_PATTERN",
    "EVSE_ID_PATTERN",
    "OPERATOR_ID_PATTERN",
    "PHONE_NUMBER_PATTERN",
    "PRODUCT_ID_MAX_LENGTH",
    "PROVIDER_ID_ASTERISK_PATTERN",
    "PROVIDER_ID_PATTERN",
    "SESSION_ID_PATTERN",
    "UID",
    "UID_PATTERN",
    "ChargingPoolID",
    "EvcoID",
    "EvseID",
    "OperatorID",
    "PhoneNumber",
    "ProductID",
    "ProviderID",
    "ProviderIDAsterisk",
    "SessionID",
    "evco_id_key",
    "evse_id_key",
    "is_valid_charging_pool_id",
    "is_valid_evco_id",
    "is_valid_evse_id",
    "is_valid_operator_id",
    "is_valid_phone_number",
    "is_valid_product_id",
    "is_valid_provider_id",
    "is_valid_provider_id_asterisk",
    "is_valid_session_id",
    "is_valid_uid",
    "normalize_charging_pool_id",
    "normalize_evco_id",
    "normalize_evse_id",
    "normalize_operator_id",
    "normalize_phone_number",
    "normalize_provider_id",
    "normalize_session_id",
    "normalize_uid",
    "operator_id_key",
    "provider_id_key",
]
