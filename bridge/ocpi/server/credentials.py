"""The credentials module, Receiver side (ocpi.md §1.2-§1.4; reference credentials module).

Mounted per enabled version at ``/ocpi/{version}/credentials`` and, for 2.1.1, at
``/ocpi/cpo/2.1.1/credentials`` and ``/ocpi/emsp/2.1.1/credentials``. The version of a connection
is the version of the credentials URL that received the POST/PUT; for 2.1.1 our role is implied
by the URL (the combined URL: the role facing the partner's configured role).

* GET: our credentials for the caller, with the token the caller used to reach us (ocpi#372).
* POST: register (token A, or a token of a partner not registered yet); 405 when registered.
* PUT: update: re-fetch versions and endpoints, new token, maybe another version; 405 when
  not registered.
* DELETE: unregister; 405 when not registered.
Errors 3001/3002/3003 come from :func:`bridge.ocpi.registration.accept_credentials`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bridge.context import gateway_of
from bridge.errors import MethodNotAllowed, Unauthorized
from bridge.ocpi.client import VERSION_ORDER, clients_of
from bridge.ocpi.registration import (
    accept_credentials,
    credentials_model,
    drop_registration,
    has_role_urls,
    our_credentials,
    role_url_prefix,
)
from bridge.ocpi.server.auth import Caller, authenticate, token_candidates
from bridge.ocpi.server.envelope import ocpi_response
from bridge.ocpi.server.versions import connection_role

if TYPE_CHECKING:
    from bridge.config import BridgeConfig

Endpoint = Callable[[Request], Awaitable[Response]]


async def token_used(request: Request, caller: Caller) -> str:
    """The token (decoded) with which ``caller`` authenticated this request."""
    store = gateway_of(request).store
    now = datetime.now(UTC)
    for candidate in token_candidates(request.headers.get("authorization")):
        match = await store.find_partner_by_token(candidate, now)
        if match is not None and match.partner.name == caller.partner.name:
            return candidate
    raise Unauthorized("Missing or unknown credentials token")


def _credentials_endpoint(config: BridgeConfig, version: str, url_role: str | None) -> Endpoint:
    async def credentials(request: Request) -> Response:
        gateway = gateway_of(request)
        caller = await authenticate(request, allow_token_a=True)
        partner = caller.partner
        role_211 = connection_role(partner, url_role) if version == "2.1.1" else None
        method = request.method

        if method == "GET":
            token = await token_used(request, caller)
            body = our_credentials(
                config, version=version, token=token, partner_role=partner.role, url_role=role_211
            )
            return ocpi_response(body)

        if method == "DELETE":
            if partner.status != "registered":
                raise MethodNotAllowed(f"{partner.name} is not registered")
            await drop_registration(gateway.store, partner)
            return ocpi_response()

        update = method == "PUT"
        if update and partner.status != "registered":
            raise MethodNotAllowed(f"{partner.name} is not registered: register with POST first")
        if not update and partner.status == "registered":
            raise MethodNotAllowed(
                f"{partner.name} is already registered: use PUT to update, DELETE to unregister"
            )
        received = credentials_model(version).model_validate_json(await request.body())
        accepted = await accept_credentials(
            config, gateway.store, clients_of(gateway), partner, received, version=version, update=update
        )
        body = our_credentials(
            config, version=version, token=accepted.token, partner_role=partner.role, url_role=role_211
        )
        return ocpi_response(body)

    return credentials


def credentials_routes(config: BridgeConfig) -> list[Route]:
    """The credentials routes of every enabled version, and the role-specific 2.1.1 ones."""
    methods = ["GET", "POST", "PUT", "DELETE"]
    routes = [
        Route(f"/ocpi/{version}/credentials", _credentials_endpoint(config, version, None), methods=methods)
        for version in VERSION_ORDER
        if version in config.ocpi.versions
    ]
    for role in ("CPO", "EMSP"):
        if has_role_urls(config, role):
            routes.append(
                Route(
                    f"{role_url_prefix(role)}/2.1.1/credentials",
                    _credentials_endpoint(config, "2.1.1", role),
                    methods=methods,
                )
            )
    return routes


__all__ = ["credentials_routes", "token_used"]
