"""The OCPI response envelope, written bytes to bytes (ocpi.md §2.1).

Models are serialized with pydantic's Rust serializer (``to_json``) and stitched into the
envelope, so a list of a hundred locations is never turned into Python dicts on the way out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel
from starlette.responses import Response

from bridge.ocpi.models.common import format_datetime, to_json

JSON_MEDIA_TYPE = "application/json"


def dump_data(data: Any) -> bytes:
    """Wire JSON of ``data``: a model, a list of models, raw JSON bytes or plain JSON values."""
    if isinstance(data, BaseModel):
        return to_json(data)
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    if isinstance(data, list | tuple) and data and all(isinstance(item, BaseModel) for item in data):
        return b"[" + b",".join(to_json(item) for item in data) + b"]"
    return orjson.dumps(data)


def envelope_bytes(
    data: Any = None,
    *,
    status_code: int = 1000,
    status_message: str | None = None,
    now: datetime | None = None,
    with_data: bool = True,
) -> bytes:
    """The envelope as bytes. ``with_data=False`` omits ``data`` (errors, and PUT/PATCH answers)."""
    parts = []
    if with_data and data is not None:
        parts.append(b'"data":' + dump_data(data))
    parts.append(b'"status_code":' + str(int(status_code)).encode())
    if status_message is not None:
        parts.append(b'"status_message":' + orjson.dumps(status_message))
    timestamp = format_datetime(now or datetime.now(UTC))
    parts.append(b'"timestamp":"' + timestamp.encode() + b'"')
    return b"{" + b",".join(parts) + b"}"


def ocpi_response(
    data: Any = None,
    *,
    status_code: int = 1000,
    status_message: str | None = None,
    http_status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """An HTTP response carrying the OCPI envelope."""
    body = envelope_bytes(data, status_code=status_code, status_message=status_message)
    return Response(body, status_code=http_status, headers=dict(headers or {}), media_type=JSON_MEDIA_TYPE)


def list_bytes(items: Iterable[bytes]) -> bytes:
    """A JSON array from already-serialized items."""
    return b"[" + b",".join(items) + b"]"
