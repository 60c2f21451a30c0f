"""OCPI 2.1.1 basic types (types.md) and the lenient-ingress helpers used by every 2.1.1 module.

OCPI 2.1.1 types.md:

* ``DateTime`` -- ISO 8601, UTC, no designator = UTC; we emit ``Z`` without fractions
  (:data:`bridge.ocpi.models.common.DateTime211`).
* ``number`` -- a JSON number (:data:`Number`); a string such as ``"2.00"`` is an erratum of the
  official CDR example and is accepted with a warning (see :func:`_warn_numeric_string`).
* ``string(n)`` -- case-sensitive printable ASCII, at most *n* characters. Max lengths are enforced
  (a longer value is a 2001 naming the field). The ASCII restriction is not enforced: 2.2.1 moved
  to UTF-8 and rejecting a whole object for an accented city name helps nobody.
* ``URL`` -- string(255).
* ``DisplayText`` -- ``{language string(2), text string(512)}``.

Every deviation we tolerate on ingress is logged on ``bridge.ocpi.models`` at WARNING with the field
name and the offending value (never a token: those models hide their input).

There is no official OpenAPI or JSON schema for OCPI 2.1.1, so these models are checked against the
spec text and its examples only (tests/ocpi/models/test_v2_1_1_*.py).
"""

from __future__ import annotations

import logging
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BeforeValidator, ConfigDict, StringConstraints, ValidationInfo

from bridge.ocpi.models.common import DateTime211, OcpiModel
from bridge.ocpi.models.common import Number as _CommonNumber
from bridge.ocpi.models.common import OcpiResponse as _CommonResponse

logger = logging.getLogger("bridge.ocpi.models")
"""Where every tolerated ingress deviation of a 2.1.1 peer is reported (WARNING)."""


def _where(info: ValidationInfo) -> str:
    title = info.config.get("title") if info.config else None
    field = info.field_name or "?"
    return f"{title}.{field}" if title else field


def _warn_numeric_string(value: Any, info: ValidationInfo) -> Any:
    """OCPI 2.1.1 types.md ``number``: a JSON number. Tolerate a numeric string, with a warning.

    The official 2.1.1 CDR example sends ``"price": "2.00"`` (SOURCE.md, Known defects). Rejecting
    a billing record for quoting its numbers would lose it; the value is exact either way, and we
    emit a JSON number, so a round trip repairs it.
    """
    if isinstance(value, str):
        try:
            Decimal(value.strip())
        except InvalidOperation:
            return value  # not a number at all: pydantic rejects it, naming the field
        logger.warning("OCPI 2.1.1 %s: number sent as a string %r; accepted", _where(info), value)
    return value


def _number_to_string(value: Any, info: ValidationInfo) -> Any:
    """Tolerate a JSON number where the spec says ``string`` (EVSE physical_reference, floor_level).

    The official example ``mod_locations__put_example_add_an_evse.json`` sends
    ``"physical_reference": 3`` and ``"floor_level": -1`` (SOURCE.md, Known defects). These are
    display labels: their text is unambiguous, so we keep it as a string and warn.
    """
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        text = str(value)
        logger.warning("OCPI 2.1.1 %s: number %s sent where a string is required; kept as %r",
                       _where(info), value, text)
        return text
    return value


Number = Annotated[_CommonNumber, BeforeValidator(_warn_numeric_string)]
"""OCPI 2.1.1 ``number``: Decimal inside, JSON number outside; numeric strings tolerated (warning)."""

DateTime = DateTime211
"""OCPI 2.1.1 ``DateTime``: aware UTC datetime, emitted as ``YYYY-MM-DDTHH:MM:SSZ``."""


def _string(max_length: int) -> StringConstraints:
    return StringConstraints(max_length=max_length)


String2 = Annotated[str, _string(2)]
String3 = Annotated[str, _string(3)]
String4 = Annotated[str, _string(4)]
String5 = Annotated[str, _string(5)]
String10 = Annotated[str, _string(10)]
String16 = Annotated[str, _string(16)]
String36 = Annotated[str, _string(36)]
String39 = Annotated[str, _string(39)]
String45 = Annotated[str, _string(45)]
String48 = Annotated[str, _string(48)]
String64 = Annotated[str, _string(64)]
String100 = Annotated[str, _string(100)]
String255 = Annotated[str, _string(255)]
String512 = Annotated[str, _string(512)]

URL = Annotated[str, _string(255)]
"""OCPI 2.1.1 types.md ``URL``: string(255). Not parsed further: peers use relative and odd URLs."""

LenientString4 = Annotated[str, BeforeValidator(_number_to_string), _string(4)]
LenientString16 = Annotated[str, BeforeValidator(_number_to_string), _string(16)]

_TIME_OF_DAY = re.compile(r"^[0-2][0-9]:[0-5][0-9]$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")

TimeOfDay = Annotated[str, StringConstraints(pattern=_TIME_OF_DAY.pattern)]
"""``HH:MM`` in 24 h format with leading zeros (RegularHours, TariffRestrictions), the spec's regex
``[0-2][0-9]:[0-5][0-9]`` as written (it admits ``24:00``, which some peers use for end of day)."""

Date = Annotated[str, StringConstraints(pattern=_DATE.pattern)]
"""``YYYY-MM-DD`` (TariffRestrictions start_date/end_date, string(10))."""


class DisplayText(OcpiModel):
    """OCPI 2.1.1 types.md DisplayText: ``language`` ISO 639-1 string(2), ``text`` string(512)."""

    language: String2
    text: String512


T = TypeVar("T")


class OcpiResponse(_CommonResponse[T], Generic[T]):
    """OCPI 2.1.1 transport_and_format response envelope; ``timestamp`` emitted without fractions.

    ``data`` may hold tokens or credentials: pydantic shows the input of the model being validated,
    so the envelope hides its input in errors too.
    """

    model_config = ConfigDict(hide_input_in_errors=True)

    timestamp: DateTime


__all__ = [
    "URL",
    "Date",
    "DateTime",
    "DisplayText",
    "LenientString4",
    "LenientString16",
    "Number",
    "OcpiResponse",
    "String2",
    "String3",
    "String4",
    "String5",
    "String10",
    "String16",
    "String36",
    "String39",
    "String45",
    "String48",
    "String64",
    "String100",
    "String255",
    "String512",
    "TimeOfDay",
    "logger",
]
