"""ASGI middleware shared by both protocols: message ids and the request body limit."""

from __future__ import annotations

import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bridge.errors import PayloadTooLarge


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


class RequestIdMiddleware:
    """``X-Request-ID`` and ``X-Correlation-ID``: echoed when given, generated when not.

    OCPI 2.2.1 transport_and_format (ocpi.md §3.4): every response echoes both; UUIDs are advised.
    The ids are kept in ``scope["state"]`` for logging and for calls the request causes.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _header(scope, b"x-request-id") or str(uuid.uuid4())
        correlation_id = _header(scope, b"x-correlation-id") or str(uuid.uuid4())
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["correlation_id"] = correlation_id

        async def _send(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Request-ID", request_id)
                headers.setdefault("X-Correlation-ID", correlation_id)
            await send(message)

        await self.app(scope, receive, _send)


class BodyLimitMiddleware:
    """Refuse request bodies above ``max_bytes`` with a clear error (HTTP 413, before parsing).

    Checks ``Content-Length`` up front and counts streamed chunks for chunked uploads.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            raise PayloadTooLarge(f"Request body of {declared} bytes exceeds the limit of {self.max_bytes}")
        received = 0

        async def _receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise PayloadTooLarge(f"Request body exceeds the limit of {self.max_bytes} bytes")
            return message

        await self.app(scope, _receive, send)
