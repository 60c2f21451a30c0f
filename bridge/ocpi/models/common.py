"""Types shared by the OCPI 2.1.1 and 2.2.1 models: base class, DateTime, numbers, the envelope.

OCPI 2.2.1 transport_and_format (ocpi.md §3.1): DateTime is RFC 3339 in UTC; ``+00:00`` is not
UTC for OCPI, so we emit ``Z`` (ocpi#464) and accept the forms with and without fractions and
without a zone designator (no designator = UTC). 2.1.1 emits without fractions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer


def _to_utc(value: Any) -> Any:
    """Naive timestamps are UTC (OCPI: no designator = UTC); aware ones are converted to UTC."""
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("z", "Z")):
            text = text[:-1] + "+00:00"
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            return value  # let pydantic report the field with its own message
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    return value


def parse_datetime(text: str) -> datetime:
    """An OCPI DateTime string as an aware UTC datetime (naive = UTC); ValueError when invalid."""
    value = _to_utc(text)
    if not isinstance(value, datetime):
        raise ValueError(f"not a valid DateTime: {text!r}")
    return value


def format_datetime(value: datetime, *, fractions: bool = True) -> str:
    """UTC with ``Z``; milliseconds only when present and ``fractions`` is set."""
    value = value.astimezone(UTC) if value.tzinfo else value
    base = value.strftime("%Y-%m-%dT%H:%M:%S")
    if fractions and value.microsecond:
        base += f".{value.microsecond // 1000:03d}"
    return base + "Z"


def _format_2_2_1(value: datetime) -> str:
    return format_datetime(value, fractions=True)


def _format_2_1_1(value: datetime) -> str:
    return format_datetime(value, fractions=False)


DateTime = Annotated[
    datetime, BeforeValidator(_to_utc), PlainSerializer(_format_2_2_1, return_type=str, when_used="json")
]
"""OCPI 2.2.1 DateTime: parsed to an aware UTC datetime, emitted as UTC with ``Z``."""

DateTime211 = Annotated[
    datetime, BeforeValidator(_to_utc), PlainSerializer(_format_2_1_1, return_type=str, when_used="json")
]
"""OCPI 2.1.1 DateTime: like :data:`DateTime`, emitted without fractional seconds."""


def _number_to_json(value: Decimal) -> float | int:
    if value == value.to_integral_value():
        return int(value)
    return float(value)


Number = Annotated[Decimal, PlainSerializer(_number_to_json, when_used="json")]
"""OCPI ``number``: Decimal in Python (money is computed exactly), a JSON number on the wire."""


class OcpiModel(BaseModel):
    """Base of every OCPI object.

    Unknown fields are kept (``extra="allow"``) and forwarded: a bridge that drops a peer's data
    is worse than one that forwards slightly non-conformant data (ocpi.md §8 point 15).
    Enums are exact: a wrong value is a 2001 with the field named.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True, use_enum_values=False)


T = TypeVar("T")


class OcpiResponse(OcpiModel, Generic[T]):
    """The response envelope of every OCPI response, both versions (ocpi.md §2.1).

    ``data`` is omitted where the spec defines none and on errors; received envelopes may carry
    any ``data`` or none at all.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True, hide_input_in_errors=True)

    data: T | None = None
    status_code: int
    status_message: str | None = None
    timestamp: DateTime


def to_json(model: BaseModel) -> bytes:
    """Serialize a model to wire JSON bytes: aliases, no ``None`` fields (optional = omitted)."""
    return model.__pydantic_serializer__.to_json(model, by_alias=True, exclude_none=True)


def to_jsonable(model: BaseModel) -> dict[str, Any]:
    """The JSON-compatible dict of a model, as :func:`to_json` would write it."""
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


__all__ = [
    "DateTime",
    "DateTime211",
    "Field",
    "Number",
    "OcpiModel",
    "OcpiResponse",
    "format_datetime",
    "parse_datetime",
    "to_json",
    "to_jsonable",
]
