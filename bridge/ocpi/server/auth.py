"""Who is calling: the ``Authorization: Token ...`` header resolved to a partner.

ocpi.md §1.5: 2.2.1 sends Base64 of the token, 2.1.1 the raw token, and real peers do both; so we
accept both on ingress: if the value Base64-decodes to printable ASCII that is a known token we use
it, otherwise the raw value. Tokens are looked up by SHA-256 hash and compared in constant time by
the store; they are never logged. ocpi.md §1.3: a missing or unknown token gets HTTP 401, and
token A is only good for ``versions`` and ``credentials``.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from starlette.requests import Request

from bridge.context import gateway_of
from bridge.errors import Unauthorized

if TYPE_CHECKING:
    from bridge.store.base import PartnerRecord

_PRINTABLE = frozenset(range(0x21, 0x7F))


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated partner and which of its tokens it used ("A", "CURRENT" or "PREVIOUS")."""

    partner: PartnerRecord
    token_kind: str

    @property
    def is_token_a(self) -> bool:
        return self.token_kind == "A"  # noqa: S105 - a token kind, not a secret


def token_candidates(header: str | None) -> list[str]:
    """The tokens an Authorization header may stand for, most likely first.

    ``Token <base64>`` (2.2.1) decodes to the token; ``Token <raw>`` (2.1.1) is the token itself.
    A value that happens to be valid Base64 of printable ASCII yields both candidates.
    """
    if not header:
        return []
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "token" or not value:
        return []
    candidates: list[str] = []
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if decoded and all(byte in _PRINTABLE for byte in decoded):
        candidates.append(decoded.decode("ascii"))
    if value not in candidates:
        candidates.append(value)
    return candidates


def encode_token(token: str, *, base64_encode: bool) -> str:
    """The Authorization header value we send: ``Token <base64(token)>`` or ``Token <token>``."""
    if base64_encode:
        return "Token " + base64.b64encode(token.encode("utf-8")).decode("ascii")
    return "Token " + token


async def authenticate(request: Request, *, allow_token_a: bool = False) -> Caller:
    """Resolve the caller or raise :class:`Unauthorized` (HTTP 401 with an OCPI envelope)."""
    gateway = gateway_of(request)
    now = datetime.now(UTC)
    for candidate in token_candidates(request.headers.get("authorization")):
        match = await gateway.store.find_partner_by_token(candidate, now)
        if match is None:
            continue
        if match.kind == "A" and not allow_token_a:
            raise Unauthorized("Token A may only be used for the versions and credentials modules")
        caller = Caller(partner=match.partner, token_kind=match.kind)
        request.state.caller = caller
        return caller
    raise Unauthorized("Missing or unknown credentials token")
