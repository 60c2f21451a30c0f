"""The one place where errors become HTTP responses, for both protocols.

* Paths under ``/api/oicp`` (Hubject calling us) always get HTTP 200 with an OICP
  eRoamingAcknowledgement ``{"Result": false, "StatusCode": {...}}`` (oicp-2.3.md §1.3, §8 point 3:
  a partner answers 200 with a well-formed OICP body, never an OCPI envelope or an empty body).
* Everything else gets the OCPI envelope with the error's ``status_code`` and HTTP status
  (ocpi.md §2): pydantic validation errors become 2001 naming the field, malformed JSON becomes
  HTTP 400, and an unexpected exception becomes 3000 (HTTP 200, logged with its traceback).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bridge.errors import (
    BridgeError,
    InvalidJson,
    InvalidParameters,
    MappingError,
    NotFound,
    OcpiError,
    OcpiServerError,
    OicpDataError,
    OicpError,
)
from bridge.ocpi.server.envelope import JSON_MEDIA_TYPE, ocpi_response

log = logging.getLogger("bridge.http")

OICP_PREFIX = "/api/oicp"


def is_oicp_path(path: str) -> bool:
    return path.startswith(OICP_PREFIX)


def field_path(loc: Sequence[int | str]) -> str:
    """``("evses", 0, "uid")`` → ``evses[0].uid``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def validation_to_ocpi(error: ValidationError) -> OcpiError:
    """A pydantic error as an OCPI error: invalid JSON → 400; a bad field → 2001 naming it."""
    errors = error.errors(include_input=False, include_url=False)
    if errors and errors[0]["type"] == "json_invalid":
        return InvalidJson(f"Invalid JSON: {errors[0]['msg']}")
    first = errors[0] if errors else {"loc": (), "msg": str(error)}
    path = field_path(first["loc"]) or "body"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return InvalidParameters(f"Invalid field '{path}': {first['msg']}{more}", field=path)


def oicp_ack_body(code: str, description: str) -> bytes:
    return orjson.dumps({"Result": False, "StatusCode": {"Code": code, "Description": description[:200]}})


def error_response(request: Request, exc: Exception) -> Response:
    """Turn any exception into the protocol's error answer. Never raises."""
    if is_oicp_path(request.url.path):
        if isinstance(exc, OicpError):
            code, message = exc.code, exc.message
        elif isinstance(exc, ValidationError | MappingError):
            oicp = OicpDataError(str(exc).splitlines()[0])
            code, message = oicp.code, oicp.message
        elif isinstance(exc, HTTPException):
            code, message = "022", exc.detail or "Bad request"
        else:
            log.exception("unexpected error on %s %s", request.method, request.url.path)
            code, message = "021", "System error"
        return Response(oicp_ack_body(code, message), status_code=200, media_type=JSON_MEDIA_TYPE)

    ocpi: OcpiError
    if isinstance(exc, OcpiError):
        ocpi = exc
    elif isinstance(exc, ValidationError):
        ocpi = validation_to_ocpi(exc)
    elif isinstance(exc, MappingError):
        ocpi = InvalidParameters(str(exc), field=exc.path)
    elif isinstance(exc, HTTPException):
        if exc.status_code == 404:
            ocpi = NotFound(exc.detail if exc.detail != "Not Found" else f"Unknown URL: {request.url.path}")
        else:
            return ocpi_response(
                status_code=2000 if exc.status_code < 500 else 3000,
                status_message=str(exc.detail),
                http_status=exc.status_code,
                headers=exc.headers,
            )
    elif isinstance(exc, BridgeError):
        log.error("error on %s %s: %s", request.method, request.url.path, exc)
        ocpi = OcpiServerError(str(exc))
    else:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        ocpi = OcpiServerError("Internal error")
    return ocpi_response(
        status_code=ocpi.status_code, status_message=ocpi.message, http_status=ocpi.http_status
    )


async def _handle(request: Request, exc: Exception) -> Response:
    return error_response(request, exc)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    HTTPException: _handle,
    BridgeError: _handle,
    ValidationError: _handle,
}


class CatchAllMiddleware:
    """Unexpected exceptions become a protocol answer (3000 envelope / OICP 021), logged once.

    Sits inside Starlette's ServerErrorMiddleware, so no bare 500 page ever leaves the gateway.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def _send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, _send)
        except Exception as exc:
            if started:
                raise
            response = error_response(Request(scope), exc)
            await response(scope, receive, send)
