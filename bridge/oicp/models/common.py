"""Types shared by every OICP 2.3 message: base classes, DateTime, numbers, StatusCode, envelopes.

Conventions (CONTRIBUTING.md, oicp-2.3.md §8 point 5):

* Python attribute names are snake_case; the wire name lives only in the alias. Models validate
  by alias and by name and serialize by alias.
* Unknown fields are kept (``extra="allow"``) and forwarded.
* Ingress is tolerant, egress is strict: ID formats and the fields OICP 2.3 made mandatory are
  checked when we serialize (:func:`to_json`, :func:`to_jsonable`), not when we parse. A
  violation raises :class:`OicpEgressError` naming the offending value.
* Date/time (oicp-2.3.md §1.1): ISO 8601 with an offset. We keep the offset as received
  (aware datetimes; a naive input is UTC) and emit it unchanged (a zero offset as ``Z``).
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
)
from pydantic_core import PydanticSerializationError

from bridge.oicp.models._egress import LENIENT_CONTEXT_KEY, OicpEgressError, is_lenient
from bridge.oicp.models.ids import SessionID

# ---------------------------------------------------------------------------------------------
# Base classes


class OicpModel(BaseModel):
    """Base of every OICP object.

    Unknown fields are kept and forwarded (a bridge that drops a peer's data is worse than one
    that forwards slightly non-conformant data). Enums are exact.
    """

    model_config = ConfigDict(
        extra="allow",
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        use_enum_values=False,
    )


class OicpSensitiveModel(OicpModel):
    """Base of objects that carry authentication data (Identification, PIN, UID, EvcoID).

    Validation errors never echo the input (``hide_input_in_errors``); pydantic renders errors
    with the configuration of the outermost model, so every container of such data derives
    from this class too.
    """

    model_config = ConfigDict(hide_input_in_errors=True)


class EgressChecked(OicpModel):
    """A model with rules that are checked only when it is serialized (egress strict).

    Subclasses implement :meth:`egress_problems`; serializing raises :class:`OicpEgressError`
    listing them unless the lenient context is set.
    """

    def egress_problems(self) -> list[str]:
        """Human-readable violations of the rules OICP 2.3 sets for a message we send."""
        return []

    @model_serializer(mode="wrap")
    def _check_egress(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        if not is_lenient(info):
            problems = self.egress_problems()
            if problems:
                raise OicpEgressError(f"{type(self).__name__}: " + "; ".join(problems))
        return handler(self)


class SensitiveEgressChecked(EgressChecked, OicpSensitiveModel):
    """:class:`EgressChecked` for objects that carry authentication data."""


def missing(model: BaseModel, *attributes: str) -> list[str]:
    """Egress problems for attributes that are ``None`` (named by their wire alias)."""
    problems = []
    for attribute in attributes:
        if getattr(model, attribute) is None:
            field = type(model).model_fields[attribute]
            wire = field.serialization_alias or field.alias or attribute
            problems.append(f"{wire} is mandatory in OICP 2.3")
    return problems


# ---------------------------------------------------------------------------------------------
# Date/time and numbers


def _aware(value: datetime) -> datetime:
    """OICP date/times carry an offset; an input without one is taken as UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def format_oicp_datetime(value: datetime) -> str:
    """ISO 8601 with the value's own offset (``Z`` when it is zero), as OICP expects.

    oicp-2.3.md §1.1: ``YYYY-MM-DDThh:mm:ssTZD``; HBS forwards date/times unchanged, so a
    CPO's local offset must survive a round trip through the bridge. Fractions are kept
    (milliseconds, or microseconds when present).
    """
    value = _aware(value)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        millis, micros = divmod(value.microsecond, 1000)
        text += f".{millis:03d}" if micros == 0 else f".{value.microsecond:06d}"
    offset = value.utcoffset()
    seconds = int(offset.total_seconds()) if offset is not None else 0
    if seconds == 0:
        return text + "Z"
    sign = "+" if seconds > 0 else "-"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return text + f"{sign}{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


OicpDateTime = Annotated[
    datetime,
    AfterValidator(_aware),
    PlainSerializer(format_oicp_datetime, return_type=str, when_used="json"),
]
"""OICP Date/Time: an aware datetime keeping the offset received, emitted in ISO 8601 with it."""


def _number_to_json(value: Decimal) -> float | int:
    if value == value.to_integral_value():
        return int(value)
    return float(value)


OicpNumber = Annotated[Decimal, PlainSerializer(_number_to_json, when_used="json")]
"""OICP ``Decimal`` (energy in kWh, prices, power): Decimal in Python, a JSON number on the wire."""


# ---------------------------------------------------------------------------------------------
# Status codes (oicp-2.3.md §3.3)


class StatusCodeEnum(enum.StrEnum):
    """The OICP 2.3 CodeType values (03_*_Data_Types.asciidoc "CodeType")."""

    SUCCESS = "000"
    HUBJECT_SYSTEM_ERROR = "001"
    HUBJECT_DATABASE_ERROR = "002"
    DATA_TRANSACTION_ERROR = "009"
    UNAUTHORIZED_ACCESS = "017"
    INCONSISTENT_EVSE_ID = "018"
    INCONSISTENT_EVCO_ID = "019"
    SYSTEM_ERROR = "021"
    DATA_ERROR = "022"
    QR_CODE_AUTHENTICATION_FAILED = "101"
    RFID_AUTHENTICATION_FAILED_INVALID_UID = "102"
    RFID_AUTHENTICATION_FAILED_CARD_NOT_READABLE = "103"
    PLC_AUTHENTICATION_FAILED_INVALID_EVCO_ID = "105"
    NO_POSITIVE_AUTHENTICATION_RESPONSE = "106"
    QR_CODE_APP_AUTHENTICATION_TIMEOUT = "110"
    PLC_AUTHENTICATION_FAILED_INVALID_UNDERLYING_EVCO_ID = "120"
    PLC_AUTHENTICATION_FAILED_INVALID_CERTIFICATE = "121"
    PLC_AUTHENTICATION_TIMEOUT = "122"
    EVCO_ID_LOCKED = "200"
    NO_VALID_CONTRACT = "210"
    PARTNER_NOT_FOUND = "300"
    PARTNER_DID_NOT_RESPOND = "310"
    SERVICE_NOT_AVAILABLE = "320"
    SESSION_IS_INVALID = "400"
    COMMUNICATION_TO_EVSE_FAILED = "501"
    NO_EV_CONNECTED_TO_EVSE = "510"
    EVSE_ALREADY_RESERVED = "601"
    EVSE_ALREADY_IN_USE = "602"
    UNKNOWN_EVSE_ID = "603"
    EVSE_NOT_HUBJECT_COMPATIBLE = "604"
    EVSE_OUT_OF_SERVICE = "700"


#: The spec's description of each known code (CodeType table).
STATUS_DESCRIPTIONS: dict[StatusCodeEnum, str] = {
    StatusCodeEnum.SUCCESS: "Success",
    StatusCodeEnum.HUBJECT_SYSTEM_ERROR: "Hubject system error",
    StatusCodeEnum.HUBJECT_DATABASE_ERROR: "Hubject database error",
    StatusCodeEnum.DATA_TRANSACTION_ERROR: "Data transaction error",
    StatusCodeEnum.UNAUTHORIZED_ACCESS: "Unauthorized Access",
    StatusCodeEnum.INCONSISTENT_EVSE_ID: "Inconsistent EvseID",
    StatusCodeEnum.INCONSISTENT_EVCO_ID: "Inconsistent EvcoID",
    StatusCodeEnum.SYSTEM_ERROR: "System error",
    StatusCodeEnum.DATA_ERROR: "Data error",
    StatusCodeEnum.QR_CODE_AUTHENTICATION_FAILED: "QR Code Authentication failed – Invalid Credentials",
    StatusCodeEnum.RFID_AUTHENTICATION_FAILED_INVALID_UID: "RFID Authentication failed – invalid UID",
    StatusCodeEnum.RFID_AUTHENTICATION_FAILED_CARD_NOT_READABLE: (
        "RFID Authentication failed – card not readable"
    ),
    StatusCodeEnum.PLC_AUTHENTICATION_FAILED_INVALID_EVCO_ID: "PLC Authentication failed - invalid EvcoID",
    StatusCodeEnum.NO_POSITIVE_AUTHENTICATION_RESPONSE: "No positive authentication response",
    StatusCodeEnum.QR_CODE_APP_AUTHENTICATION_TIMEOUT: "QR Code App Authentication failed – time out error",
    StatusCodeEnum.PLC_AUTHENTICATION_FAILED_INVALID_UNDERLYING_EVCO_ID: (
        "PLC (ISO/ IEC 15118) Authentication failed – invalid underlying EvcoID"
    ),
    StatusCodeEnum.PLC_AUTHENTICATION_FAILED_INVALID_CERTIFICATE: (
        "PLC (ISO/ IEC 15118) Authentication failed – invalid certificate"
    ),
    StatusCodeEnum.PLC_AUTHENTICATION_TIMEOUT: "PLC (ISO/ IEC 15118) Authentication failed – time out error",
    StatusCodeEnum.EVCO_ID_LOCKED: "EvcoID locked",
    StatusCodeEnum.NO_VALID_CONTRACT: "No valid contract",
    StatusCodeEnum.PARTNER_NOT_FOUND: "Partner not found",
    StatusCodeEnum.PARTNER_DID_NOT_RESPOND: "Partner did not respond",
    StatusCodeEnum.SERVICE_NOT_AVAILABLE: "Service not available",
    StatusCodeEnum.SESSION_IS_INVALID: "Session is invalid",
    StatusCodeEnum.COMMUNICATION_TO_EVSE_FAILED: "Communication to EVSE failed",
    StatusCodeEnum.NO_EV_CONNECTED_TO_EVSE: "No EV connected to EVSE",
    StatusCodeEnum.EVSE_ALREADY_RESERVED: "EVSE already reserved",
    StatusCodeEnum.EVSE_ALREADY_IN_USE: "EVSE already in use/ wrong token",
    StatusCodeEnum.UNKNOWN_EVSE_ID: "Unknown EVSE ID",
    StatusCodeEnum.EVSE_NOT_HUBJECT_COMPATIBLE: "EVSE ID is not Hubject compatible",
    StatusCodeEnum.EVSE_OUT_OF_SERVICE: "EVSE out of service",
}


_KNOWN_CODES = frozenset(code.value for code in StatusCodeEnum)


def _code_text(value: Any) -> Any:
    """Codes are 3-character strings; a JSON number (``0``) is read as its zero-padded form."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 999:
        return f"{value:03d}"
    return value


class StatusCode(EgressChecked):
    """StatusCodeType (oicp-2.3.md §3.3): ``Code`` M (3-character string), ``Description`` O ≤200,
    ``AdditionalInfo`` O ≤1000.

    ``Code`` is kept as the string received (unknown codes are accepted); :attr:`known` maps it
    to :class:`StatusCodeEnum`.
    """

    code: Annotated[str, BeforeValidator(_code_text), Field(pattern=r"^[0-9]{3}$")] = Field(alias="Code")
    description: str | None = Field(default=None, alias="Description")
    additional_info: str | None = Field(default=None, alias="AdditionalInfo")

    @classmethod
    def of(cls, code: StatusCodeEnum | str, additional_info: str | None = None) -> StatusCode:
        """A StatusCode with the spec's description of ``code``."""
        known = StatusCodeEnum(code) if code in _KNOWN_CODES else None
        description = STATUS_DESCRIPTIONS[known] if known is not None else None
        return cls(code=str(code), description=description, additional_info=additional_info)

    @property
    def known(self) -> StatusCodeEnum | None:
        """The code as :class:`StatusCodeEnum`, or ``None`` for a code the spec does not list."""
        return StatusCodeEnum(self.code) if self.code in _KNOWN_CODES else None

    @property
    def is_success(self) -> bool:
        return self.code == StatusCodeEnum.SUCCESS

    def egress_problems(self) -> list[str]:
        problems = []
        if self.description is not None and len(self.description) > 200:
            problems.append("Description is longer than 200 characters")
        if self.additional_info is not None and len(self.additional_info) > 1000:
            problems.append("AdditionalInfo is longer than 1000 characters")
        return problems


class ActionType(enum.StrEnum):
    """ActionType of every push operation (oicp-2.3.md §2.1 notes).

    ``fullLoad`` replaces the whole set, ``insert`` adds (aborts if a record exists), ``update``
    modifies (aborts if a record is missing), ``delete`` removes the given records.
    """

    FULL_LOAD = "fullLoad"
    UPDATE = "update"
    INSERT = "insert"
    DELETE = "delete"


def partner_session_id_field(wire: str) -> Any:
    """``CPOPartnerSessionID`` / ``EMPPartnerSessionID``: optional, the partner's own key (≤250).

    ``EMPPartnerSessionId`` (reservation OpenAPI typo, oicp-2.3.md §8 point 5) is accepted too.
    """
    if wire == "EMPPartnerSessionID":
        return Field(
            default=None,
            validation_alias=AliasChoices("EMPPartnerSessionID", "EMPPartnerSessionId"),
            serialization_alias="EMPPartnerSessionID",
        )
    return Field(default=None, alias=wire)


class Acknowledgement(EgressChecked):
    """eRoamingAcknowledgement (oicp-2.3.md §3.1): the answer to most operations.

    ``Result`` M, ``StatusCode`` M, ``SessionID`` O, ``CPOPartnerSessionID`` O,
    ``EMPPartnerSessionID`` O. Hubject sends absent optionals as explicit ``null``.
    """

    result: bool = Field(alias="Result")
    status_code: StatusCode = Field(alias="StatusCode")
    session_id: SessionID | None = Field(default=None, alias="SessionID")
    cpo_partner_session_id: str | None = partner_session_id_field("CPOPartnerSessionID")
    emp_partner_session_id: str | None = partner_session_id_field("EMPPartnerSessionID")

    @classmethod
    def success(cls, **kwargs: Any) -> Acknowledgement:
        """``Result: true`` with StatusCode ``000``; keyword arguments fill the other fields."""
        return cls(result=True, status_code=StatusCode.of(StatusCodeEnum.SUCCESS), **kwargs)

    @classmethod
    def failure(
        cls, code: StatusCodeEnum | str, additional_info: str | None = None, **kwargs: Any
    ) -> Acknowledgement:
        """``Result: false`` with the given StatusCode."""
        return cls(result=False, status_code=StatusCode.of(code, additional_info), **kwargs)

    def egress_problems(self) -> list[str]:
        problems = []
        for wire, value in (
            ("CPOPartnerSessionID", self.cpo_partner_session_id),
            ("EMPPartnerSessionID", self.emp_partner_session_id),
        ):
            if value is not None and len(value) > 250:
                problems.append(f"{wire} is longer than 250 characters")
        return problems


# ---------------------------------------------------------------------------------------------
# Paging envelope (oicp-2.3.md §1.7)


class PageSort(OicpModel):
    """The Spring Data ``sort`` block inside ``pageable`` (undocumented in the spec text)."""

    sorted: bool | None = Field(default=None, alias="sorted")
    empty: bool | None = Field(default=None, alias="empty")
    unsorted: bool | None = Field(default=None, alias="unsorted")


class Pageable(OicpModel):
    """The Spring Data ``pageable`` block of a page (EMP OpenAPI eRoamingChargeDetailRecords)."""

    sort: PageSort | None = Field(default=None, alias="sort")
    page_size: int | None = Field(default=None, alias="pageSize")
    page_number: int | None = Field(default=None, alias="pageNumber")
    offset: int | None = Field(default=None, alias="offset")
    paged: bool | None = Field(default=None, alias="paged")
    unpaged: bool | None = Field(default=None, alias="unpaged")


T = TypeVar("T")


class Page(OicpModel, Generic[T]):
    """A Spring Data page, the response of PullEvseData and GetChargeDetailRecords (§1.7).

    ``page`` is 0-based; loop until ``last``. ``StatusCode`` is mandatory in the OpenAPI but
    Hubject's own snippet sends ``null``: it is optional here.
    """

    content: list[T] = Field(alias="content")
    number: int = Field(alias="number")
    size: int = Field(alias="size")
    total_elements: int = Field(alias="totalElements")
    total_pages: int = Field(alias="totalPages")
    first: bool = Field(alias="first")
    last: bool = Field(alias="last")
    number_of_elements: int = Field(alias="numberOfElements")
    status_code: StatusCode | None = Field(default=None, alias="StatusCode")
    pageable: Pageable | None = Field(default=None, alias="pageable")
    empty: bool | None = Field(default=None, alias="empty")


# ---------------------------------------------------------------------------------------------
# Serialization


def _egress_error(exc: PydanticSerializationError) -> OicpEgressError:
    text = str(exc)
    marker = "OicpEgressError: "
    return OicpEgressError(text[text.rindex(marker) + len(marker) :] if marker in text else text)


def to_json(model: BaseModel, *, strict: bool = True) -> bytes:
    """Serialize a model to wire JSON bytes: aliases, no ``None`` fields (optional = omitted).

    With ``strict`` (the default, for everything sent to a partner) ID formats and the fields
    OICP 2.3 made mandatory are checked and :class:`OicpEgressError` names the offending value.
    ``strict=False`` is for storing or logging data as received.
    """
    context = None if strict else {LENIENT_CONTEXT_KEY: True}
    try:
        return model.__pydantic_serializer__.to_json(model, by_alias=True, exclude_none=True, context=context)
    except PydanticSerializationError as exc:
        raise _egress_error(exc) from exc


def to_jsonable(model: BaseModel, *, strict: bool = True) -> dict[str, Any]:
    """The JSON-compatible dict of a model, as :func:`to_json` would write it."""
    context = None if strict else {LENIENT_CONTEXT_KEY: True}
    try:
        result: dict[str, Any] = model.model_dump(
            mode="json", by_alias=True, exclude_none=True, context=context
        )
    except PydanticSerializationError as exc:
        raise _egress_error(exc) from exc
    return result


__all__ = [
    "LENIENT_CONTEXT_KEY",
    "STATUS_DESCRIPTIONS",
    "Acknowledgement",
    "ActionType",
    "EgressChecked",
    "OicpDateTime",
    "OicpEgressError",
    "OicpModel",
    "OicpNumber",
    "OicpSensitiveModel",
    "Page",
    "PageSort",
    "Pageable",
    "SensitiveEgressChecked",
    "StatusCode",
    "StatusCodeEnum",
    "format_oicp_datetime",
    "is_lenient",
    "missing",
    "partner_session_id_field",
    "to_json",
    "to_jsonable",
]
