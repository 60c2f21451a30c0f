"""The seams the flows plug into: who answers commands and real-time authorizations.

The OCPI modules only speak OCPI; what a command *does* (forward a START_SESSION to Hubject, to a
charge point...) and who decides on an authorization is a flow's business. The modules look the
deciders up in ``gateway.services`` at each request:

* ``gateway.services["command_handler"]``: a :class:`CommandHandler`. The gateway as **CPO**
  receives ``POST cpo/commands/{command}`` (OCPI 2.2.1 mod_commands, ocpi.md §4.6), stores the
  command (a :class:`CommandRecord`, correlation kind ``"command"``) and asks the handler for the
  synchronous :class:`~bridge.ocpi.models.v2_2_1.CommandResponse`. Default:
  :class:`NoBackendCommandHandler` (NOT_SUPPORTED: nothing behind the gateway runs commands).
* ``gateway.services["authorization_handler"]``: an :class:`AuthorizationHandler`. The gateway as
  **eMSP** answers ``POST emsp/tokens/{uid}/authorize`` (mod_tokens real-time authorization,
  ocpi.md §4.5). Default: :class:`StoredTokensAuthorizer` (the tokens stored for the gateway's own
  eMSP parties).
* ``gateway.services["command_result_listener"]``: an optional :class:`CommandResultListener`,
  told when a CPO partner POSTs the asynchronous result of a command the gateway (as **eMSP**) sent
  to the ``response_url`` the gateway gave it (ocpi#560). The result is stored on the
  :class:`CommandRecord` either way.

Every handler receives and returns OCPI **2.2.1** models: the modules convert 2.1.1 traffic up and
down around them (ocpi.md §5).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol, runtime_checkable

from bridge.ocpi.models import v2_2_1 as v221

if TYPE_CHECKING:
    from bridge.context import Gateway

log = logging.getLogger("bridge.ocpi.handlers")

COMMAND_HANDLER: Final = "command_handler"
AUTHORIZATION_HANDLER: Final = "authorization_handler"
COMMAND_RESULT_LISTENER: Final = "command_result_listener"
"""Keys of the handlers in ``Gateway.services``."""

Owner = tuple[str, str]
"""A party: (country_code, party_id)."""


# --------------------------------------------------------------------------------------------
# Commands


@dataclass(frozen=True, slots=True)
class CommandRecord:
    """One command, as stored under correlation kind ``"command"`` (key ``id``, value
    ``response_url``).

    ``direction`` is ``"received"`` for a command a partner eMSP sent to the gateway as CPO, and
    ``"sent"`` for one the gateway as eMSP sent to a partner CPO. ``partner`` is the partner on the
    other side, ``version`` the OCPI version spoken with it, ``party`` that partner's party
    (the eMSP that sent the command, or the CPO it was sent to) when known.

    ``response_url`` is where the asynchronous result goes: for a received command the partner's
    URL (the flow POSTs the CommandResult there: 2.2.1 :class:`~bridge.ocpi.models.v2_2_1.CommandResult`,
    or for a 2.1.1 partner ``mappings.ocpi_versions.command_result_down`` of it); for a sent command
    the gateway's own ``{public_url}/ocpi/{version}/emsp/commands/{command}/{id}`` (one unique URL
    per command, ocpi#560).

    ``request``, ``response`` and ``result`` are the 2.2.1 JSON of the command, of the synchronous
    CommandResponse and of the asynchronous CommandResult, when known. ``context`` is free JSON for
    the flow (e.g. the OICP session id the command serves).
    """

    id: str
    direction: Literal["received", "sent"]
    command: v221.CommandType
    partner: str
    version: str
    response_url: str
    party: Owner | None
    request: dict[str, Any] | None
    response: dict[str, Any] | None
    result: dict[str, Any] | None
    context: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime

    def response_model(self) -> v221.CommandResponse | None:
        return None if self.response is None else v221.CommandResponse.model_validate(self.response)

    def result_model(self) -> v221.CommandResult | None:
        return None if self.result is None else v221.CommandResult.model_validate(self.result)


@dataclass(frozen=True, slots=True)
class CommandContext:
    """What a :class:`CommandHandler` gets besides the command: ``command_id`` (the id of the
    stored :class:`CommandRecord`; pass it to ``bridge.ocpi.server.commands.update_command`` with the
    result), the caller's ``response_url``, the eMSP ``partner`` name, its OCPI ``version`` and its
    ``party`` (country_code, party_id)."""

    command_id: str
    command: v221.CommandType
    response_url: str
    partner: str
    version: str
    party: Owner


@runtime_checkable
class CommandHandler(Protocol):
    """Answers commands a partner eMSP sends to the gateway as CPO (OCPI 2.2.1 mod_commands).

    Each method returns the **synchronous** answer at once: ACCEPTED (the command will be forwarded;
    ``timeout`` says how long the eMSP should wait for the result), REJECTED, UNKNOWN_SESSION or
    NOT_SUPPORTED. It must not wait for the charge point: the eMSP's HTTP call is waiting (ocpi.md
    §8 point 13, "commands are asynchronous"). The real outcome is POSTed later, by the flow, to
    ``context.response_url`` as a CommandResult. An exception becomes an OCPI 3000 answer.

    Tokens in StartSession/ReserveNow were authorized by the eMSP already: the CPO SHALL NOT
    re-check them (ocpi.md §4.6). 2.1.1 commands arrive converted up (the token's owner fields from
    the eMSP's credentials role; the 2.1.1 integer ``reservation_id`` as its decimal string).
    """

    async def start_session(
        self, command: v221.StartSession, context: CommandContext
    ) -> v221.CommandResponse:
        """START_SESSION."""
        ...

    async def stop_session(self, command: v221.StopSession, context: CommandContext) -> v221.CommandResponse:
        """STOP_SESSION."""
        ...

    async def reserve_now(self, command: v221.ReserveNow, context: CommandContext) -> v221.CommandResponse:
        """RESERVE_NOW."""
        ...

    async def cancel_reservation(
        self, command: v221.CancelReservation, context: CommandContext
    ) -> v221.CommandResponse:
        """CANCEL_RESERVATION (2.2.1 only)."""
        ...

    async def unlock_connector(
        self, command: v221.UnlockConnector, context: CommandContext
    ) -> v221.CommandResponse:
        """UNLOCK_CONNECTOR (helpdesk use only)."""
        ...


class NoBackendCommandHandler:
    """The answer when no flow handles commands: NOT_SUPPORTED, ``timeout`` 0 (no result will
    follow), and a message naming the command. A real answer: the gateway cannot execute it."""

    def _answer(self, context: CommandContext) -> v221.CommandResponse:
        return v221.CommandResponse(
            result=v221.CommandResponseType.NOT_SUPPORTED,
            timeout=0,
            message=[
                v221.DisplayText(
                    language="en",
                    text=f"No backend behind this gateway handles {context.command.value} commands",
                )
            ],
        )

    async def start_session(
        self, command: v221.StartSession, context: CommandContext
    ) -> v221.CommandResponse:
        return self._answer(context)

    async def stop_session(self, command: v221.StopSession, context: CommandContext) -> v221.CommandResponse:
        return self._answer(context)

    async def reserve_now(self, command: v221.ReserveNow, context: CommandContext) -> v221.CommandResponse:
        return self._answer(context)

    async def cancel_reservation(
        self, command: v221.CancelReservation, context: CommandContext
    ) -> v221.CommandResponse:
        return self._answer(context)

    async def unlock_connector(
        self, command: v221.UnlockConnector, context: CommandContext
    ) -> v221.CommandResponse:
        return self._answer(context)


@runtime_checkable
class CommandResultListener(Protocol):
    """Told, after the result is stored, that a partner CPO POSTed the asynchronous result of a
    command the gateway sent (2.1.1 CommandResponse bodies arrive converted up to CommandResult)."""

    async def command_result(self, record: CommandRecord, result: v221.CommandResult) -> None: ...


def command_handler(gateway: Gateway) -> CommandHandler:
    """``gateway.services["command_handler"]``, or :class:`NoBackendCommandHandler`."""
    handler = gateway.services.get(COMMAND_HANDLER)
    if handler is None:
        return NoBackendCommandHandler()
    if not isinstance(handler, CommandHandler):
        raise TypeError(f"gateway.services[{COMMAND_HANDLER!r}] is not a CommandHandler")
    return handler


def command_result_listener(gateway: Gateway) -> CommandResultListener | None:
    """``gateway.services["command_result_listener"]``, or None."""
    listener = gateway.services.get(COMMAND_RESULT_LISTENER)
    if listener is not None and not isinstance(listener, CommandResultListener):
        raise TypeError(f"gateway.services[{COMMAND_RESULT_LISTENER!r}] is not a CommandResultListener")
    return listener


# --------------------------------------------------------------------------------------------
# Real-time authorization


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """A real-time authorization asked by a partner CPO (``POST emsp/tokens/{uid}/authorize``):
    the token ``uid`` and ``type`` (``?type=``, RFID when absent), the optional LocationReferences
    (2.1.1 ``connector_ids`` dropped), the asking ``partner``, its ``version``, its ``party`` (first
    credentials role) and all its ``requester_parties``."""

    token_uid: str
    token_type: v221.TokenType
    location: v221.LocationReferences | None
    partner: str
    version: str
    party: Owner | None
    requester_parties: tuple[Owner, ...] = ()


@runtime_checkable
class AuthorizationHandler(Protocol):
    """Decides a real-time authorization (OCPI 2.2.1 mod_tokens "Real-time authorization").

    Return the AuthorizationInfo (``token`` = the complete Token asked about; ``allowed`` ALLOWED,
    BLOCKED, EXPIRED, NO_CREDIT or NOT_ALLOWED, all answered HTTP 200, ocpi#528), or **None** when
    the token is unknown (answered HTTP 404 + 2004, 2.1.1: 404 + 2000, ocpi#417). Raise
    ``bridge.errors.NotEnoughInformation`` (2002) when LocationReferences are needed but absent.
    The eMSP SHALL NOT refuse because of opening hours or EVSE status (ocpi.md §4.5). An
    ``authorization_reference`` is added by the module when the handler sets none.
    """

    async def authorize(self, request: AuthorizationRequest) -> v221.AuthorizationInfo | None: ...


class StoredTokensAuthorizer:
    """The default authorizer: the Tokens stored in the gateway (``bridge.ocpi.server.tokens``),
    identified by (uid, type): those of its own eMSP parties first, then those eMSP partners pushed
    to it and that it relays to its CPOs (never the asking partner's own).

    Decision (OCPI 2.2.1 mod_tokens WhitelistType: "the validity of a Token has no influence on
    this [the whitelist]; if a Token is valid = false, when the whitelist field requires real-time
    authorization, the CPO SHALL do a real-time authorization, the state of the Token might have
    changed"): the whitelist tells the CPO *whether* to ask; the answer to asking is the token's
    current state. So ``valid=true`` → ALLOWED and ``valid=false`` → BLOCKED, whatever the
    whitelist (ALWAYS, ALLOWED, ALLOWED_OFFLINE, NEVER). The LocationReferences asked about are
    echoed; no location is refused (private, unpublished locations are expected to be ALLOWED).
    """

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    async def authorize(self, request: AuthorizationRequest) -> v221.AuthorizationInfo | None:
        # Imported here: the tokens module imports this one for the protocols.
        from bridge.ocpi.server.tokens import find_token

        token = await find_token(
            self.gateway, request.token_uid, request.token_type, exclude=request.requester_parties
        )
        if token is None:
            return None
        allowed = v221.AllowedType.ALLOWED if token.valid else v221.AllowedType.BLOCKED
        info = None
        if not token.valid:
            info = v221.DisplayText(language="en", text="This token is no longer valid")
        return v221.AuthorizationInfo(allowed=allowed, token=token, location=request.location, info=info)


def authorization_handler(gateway: Gateway) -> AuthorizationHandler:
    """``gateway.services["authorization_handler"]``, or :class:`StoredTokensAuthorizer`."""
    handler = gateway.services.get(AUTHORIZATION_HANDLER)
    if handler is None:
        return StoredTokensAuthorizer(gateway)
    if not isinstance(handler, AuthorizationHandler):
        raise TypeError(f"gateway.services[{AUTHORIZATION_HANDLER!r}] is not an AuthorizationHandler")
    return handler


__all__ = [
    "AUTHORIZATION_HANDLER",
    "COMMAND_HANDLER",
    "COMMAND_RESULT_LISTENER",
    "AuthorizationHandler",
    "AuthorizationRequest",
    "CommandContext",
    "CommandHandler",
    "CommandRecord",
    "CommandResultListener",
    "NoBackendCommandHandler",
    "StoredTokensAuthorizer",
    "authorization_handler",
    "command_handler",
    "command_result_listener",
]
