"""The OCPI Commands module (ocpi.md §4.6; Receiver = CPO, Sender = eMSP), both versions.

URLs, relative to ``{public_url}/ocpi/{version}/``:

* ``cpo/commands/{command}``: the gateway as CPO **receives** commands from eMSP partners:
  ``POST`` START_SESSION, STOP_SESSION, RESERVE_NOW, CANCEL_RESERVATION (2.2.1 only) or
  UNLOCK_CONNECTOR with the command object. The body is validated for that command (2001 naming
  the field), the command is stored under a unique id (correlation kind ``"command"``, a
  :class:`~bridge.ocpi.server.handlers.CommandRecord`) together with the caller's
  ``response_url``, and the :class:`~bridge.ocpi.server.handlers.CommandHandler` gives the
  synchronous CommandResponse (2.2.1 ``{result, timeout, message}``; 2.1.1 ``{result}``). The
  asynchronous CommandResult is POSTed by the flow to the caller's ``response_url`` later.
* ``emsp/commands/{command}/{command_id}``: the gateway as eMSP **receives the results** of the
  commands it sent to CPO partners: every command it sends carries its own ``response_url`` with a
  unique id (:func:`register_sent_command`, ocpi#560). ``POST`` a CommandResult (2.2.1) or a
  CommandResponse (2.1.1, which has no CommandResult: converted up, ocpi.md §5); the result is
  stored on the command and the :class:`~bridge.ocpi.server.handlers.CommandResultListener` told.
  The answer is an envelope without data.

Decisions:

* An unknown ``{command}`` (and CANCEL_RESERVATION on 2.1.1, which lacks it) is HTTP 404: the URL
  names no resource of the module (ocpi.md §2.3). A known command the gateway cannot run is
  answered by the handler (default: NOT_SUPPORTED).
* An eMSP may only use its own tokens (ocpi.md §4.6): a 2.2.1 StartSession/ReserveNow whose
  ``token.country_code``/``party_id`` is not one of the caller's credentials roles is 2001. 2.1.1
  tokens have no owner fields and get the caller's.
* A result callback for an unknown id, for a command not sent to the calling partner, or under
  another command name is 404. A repeated result replaces the stored one (the listener is told
  only when it changed).
* 2.1.1 ReserveNow ``reservation_id`` is an integer, 2.2.1's a CiString(36): received 2.1.1
  ids become their decimal string; for commands the gateway sends to 2.1.1 CPOs,
  :func:`reservation_id_to_211` allocates a durable integer per (partner, reservation id) from
  ``store.next_sequence`` and :func:`reservation_id_from_211` maps it back (correlation kind
  ``"ocpi.reservation_id.2.1.1"``).
* 2.2.1 responses carry the routing headers (ocpi.md §3.5); 2.1.1 ones do not.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bridge.context import gateway_of
from bridge.errors import InvalidParameters, NotFound
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.models.common import to_json, to_jsonable
from bridge.ocpi.server.common import (
    caller_parties,
    functional_caller,
    parse_body,
    serves_cpo_role,
    serves_emsp_role,
    version_headers,
)
from bridge.ocpi.server.envelope import ocpi_response
from bridge.ocpi.server.handlers import (
    CommandContext,
    CommandHandler,
    CommandRecord,
    Owner,
    command_handler,
    command_result_listener,
)
from bridge.ocpi.server.registry import ModuleEndpoint
from mappings.ocpi_versions import (
    command_response_down,
    command_response_up,
    reserve_now_up,
    start_session_up,
    stop_session_up,
    unlock_connector_up,
)

if TYPE_CHECKING:
    from bridge.config import BridgeConfig
    from bridge.context import Gateway
    from bridge.ocpi.server.auth import Caller
    from bridge.store.base import Correlation, DataApi, Store

VERSIONS = ("2.2.1", "2.1.1")
RECEIVER_PATH = "cpo/commands"
SENDER_PATH = "emsp/commands"

COMMAND_KIND: Final = "command"
"""Correlation kind of every command: key = command id, value = response_url, data = the record."""
RESERVATION_211: Final = "ocpi.reservation_id.2.1.1"
"""Correlation kind (and sequence name) of the 2.1.1 integer reservation ids the gateway allocates."""

_MODELS_221: Final[dict[v221.CommandType, type[BaseModel]]] = {
    v221.CommandType.START_SESSION: v221.StartSession,
    v221.CommandType.STOP_SESSION: v221.StopSession,
    v221.CommandType.RESERVE_NOW: v221.ReserveNow,
    v221.CommandType.CANCEL_RESERVATION: v221.CancelReservation,
    v221.CommandType.UNLOCK_CONNECTOR: v221.UnlockConnector,
}
_MODELS_211: Final[dict[v221.CommandType, type[BaseModel]]] = {
    v221.CommandType.START_SESSION: v211.StartSession,
    v221.CommandType.STOP_SESSION: v211.StopSession,
    v221.CommandType.RESERVE_NOW: v211.ReserveNow,
    v221.CommandType.UNLOCK_CONNECTOR: v211.UnlockConnector,
}


# --------------------------------------------------------------------------------------------
# Command records (correlation kind "command")


def _record_data(record: CommandRecord) -> dict[str, Any]:
    return {
        "direction": record.direction,
        "command": record.command.value,
        "partner": record.partner,
        "version": record.version,
        "party": list(record.party) if record.party else None,
        "request": record.request,
        "response": record.response,
        "result": record.result,
        "context": record.context,
    }


def _record_of(found: Correlation) -> CommandRecord:
    data = found.data or {}
    party = data.get("party")
    direction: Literal["received", "sent"] = "sent" if data.get("direction") == "sent" else "received"
    return CommandRecord(
        id=found.key,
        direction=direction,
        command=v221.CommandType(data["command"]),
        partner=str(data["partner"]),
        version=str(data["version"]),
        response_url=found.value,
        party=(str(party[0]), str(party[1])) if party else None,
        request=data.get("request"),
        response=data.get("response"),
        result=data.get("result"),
        context=data.get("context"),
        created_at=found.created_at,
        updated_at=found.updated_at,
    )


async def _save(data: DataApi, record: CommandRecord) -> CommandRecord:
    await data.put_correlation(COMMAND_KIND, record.id, record.response_url, _record_data(record))
    stored = await data.get_correlation(COMMAND_KIND, record.id)
    assert stored is not None
    return _record_of(stored)


async def get_command(store: DataApi, command_id: str) -> CommandRecord | None:
    """The command stored under ``command_id``, or None."""
    found = await store.get_correlation(COMMAND_KIND, command_id)
    return None if found is None else _record_of(found)


_UNSET: Final[Any] = object()


COMMAND_LOCK_STRIPES = 64


async def update_command(
    store: Store,
    command_id: str,
    *,
    request: Mapping[str, Any] | BaseModel | None = _UNSET,
    response: Mapping[str, Any] | BaseModel | None = _UNSET,
    result: Mapping[str, Any] | BaseModel | None = _UNSET,
    context: Mapping[str, Any] | None = _UNSET,
) -> CommandRecord | None:
    """Store the given parts of a command (2.2.1 models or their JSON; omitted parts unchanged) in
    one transaction; the updated record, or None when the id is unknown."""

    def plain(value: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        return to_jsonable(value) if isinstance(value, BaseModel) else dict(value)

    async with store.transaction() as tx:
        # A result may arrive while the response is being stored: bump a durable counter of the
        # command's stripe first (its row stays locked until commit), so that under PostgreSQL
        # READ COMMITTED neither read-modify-write loses the other's part.
        stripe = zlib.crc32(command_id.encode("utf-8")) % COMMAND_LOCK_STRIPES
        await tx.next_sequence(f"lock.command.{stripe}")
        found = await tx.get_correlation(COMMAND_KIND, command_id)
        if found is None:
            return None
        record = _record_of(found)
        changes: dict[str, Any] = {}
        for name, value in (
            ("request", request),
            ("response", response),
            ("result", result),
            ("context", context),
        ):
            if value is not _UNSET:
                changes[name] = plain(value)
        fields = {**_record_data(record), **changes}
        await tx.put_correlation(COMMAND_KIND, command_id, record.response_url, fields)
        stored = await tx.get_correlation(COMMAND_KIND, command_id)
        assert stored is not None
        return _record_of(stored)


def response_url_for(public_url: str, version: str, command: v221.CommandType, command_id: str) -> str:
    """The gateway's own ``response_url`` for a command it sends: unique per command (ocpi#560)."""
    return f"{public_url.rstrip('/')}/ocpi/{version}/{SENDER_PATH}/{command.value}/{command_id}"


async def register_sent_command(
    gateway: Gateway,
    *,
    partner: str,
    version: str,
    command: v221.CommandType,
    party: Owner | None = None,
    request: Mapping[str, Any] | BaseModel | None = None,
    context: Mapping[str, Any] | None = None,
) -> CommandRecord:
    """Record a command the gateway (as eMSP) is about to send to the CPO ``partner``; the record's
    ``response_url`` is the one to put in the command. Store the CPO's synchronous answer with
    :func:`update_command` (``response=``); the asynchronous result arrives by itself."""
    command_id = uuid.uuid4().hex
    now = datetime.now(UTC)
    record = CommandRecord(
        id=command_id,
        direction="sent",
        command=command,
        partner=partner,
        version=version,
        response_url=response_url_for(gateway.public_url, version, command, command_id),
        party=party,
        request=None
        if request is None
        else (to_jsonable(request) if isinstance(request, BaseModel) else dict(request)),
        response=None,
        result=None,
        context=None if context is None else dict(context),
        created_at=now,
        updated_at=now,
    )
    async with gateway.store.transaction() as tx:
        return await _save(tx, record)


# --------------------------------------------------------------------------------------------
# 2.1.1 integer reservation ids


async def reservation_id_to_211(store: Store, partner: str, reservation_id: str) -> int:
    """The 2.1.1 integer standing for our CiString ``reservation_id`` toward ``partner``: allocated
    once from ``store.next_sequence`` and kept (the same id always gets the same integer)."""
    key = f"{partner}/{reservation_id.upper()}"
    async with store.transaction() as tx:
        await tx.next_sequence(RESERVATION_211 + ".lock")  # serializes allocators until commit
        found = await tx.get_correlation(RESERVATION_211, key)
        if found is not None and found.data:
            return int(found.data["number"])
        number = await tx.next_sequence(RESERVATION_211)
        await tx.put_correlation(
            RESERVATION_211, key, f"{partner}/{number}", {"reservation_id": reservation_id, "number": number}
        )
        return number


async def reservation_id_from_211(store: Store, partner: str, number: int) -> str | None:
    """The CiString reservation id :func:`reservation_id_to_211` gave ``number`` for ``partner``."""
    found = await store.find_correlation_by_value(RESERVATION_211, f"{partner}/{number}")
    return None if found is None or not found.data else str(found.data["reservation_id"])


# --------------------------------------------------------------------------------------------
# Routes


def _command_type(raw: str, version: str) -> v221.CommandType:
    """The ``{command}`` path segment; 404 when this version has no such command."""
    known = {t.value for t in (v211.CommandType if version == "2.1.1" else v221.CommandType)}
    if raw.upper() not in known:
        raise NotFound(f"Unknown command {raw!r} in OCPI {version}: one of {', '.join(sorted(known))}")
    return v221.CommandType(raw.upper())


def _caller_party(request: Request, caller: Caller, token: v221.Token | None) -> Owner:
    """The eMSP party that sent the command: its ``OCPI-from-*`` headers when they name one of its
    roles, else the token's owner, else its first eMSP (or any) role."""
    parties = caller_parties(caller)
    cc, pid = request.headers.get("ocpi-from-country-code"), request.headers.get("ocpi-from-party-id")
    keys = {p.key(): p for p in parties}
    if cc and pid and (cc.upper(), pid.upper()) in keys:
        found = keys[(cc.upper(), pid.upper())]
        return (found.country_code, found.party_id)
    if token is not None:
        return (token.country_code, token.party_id)
    for party in sorted(parties, key=lambda p: p.role != "EMSP"):
        return (party.country_code, party.party_id)
    raise InvalidParameters("the caller has no credentials role (country_code/party_id)")


async def _parse_command(
    request: Request, version: str, command: v221.CommandType, caller: Caller
) -> BaseModel:
    """The command body as its 2.2.1 model (2.1.1 converted up, the token owned by the caller)."""
    if version != "2.1.1":
        return await parse_body(request, _MODELS_221[command])
    received = await parse_body(request, _MODELS_211[command])
    owner = _caller_party(request, caller, None)
    if isinstance(received, v211.StartSession):
        return start_session_up(received, country_code=owner[0], party_id=owner[1]).value
    if isinstance(received, v211.ReserveNow):
        return reserve_now_up(received, country_code=owner[0], party_id=owner[1]).value
    if isinstance(received, v211.StopSession):
        return stop_session_up(received).value
    assert isinstance(received, v211.UnlockConnector)
    return unlock_connector_up(received).value


async def _dispatch(
    handler: CommandHandler, body: BaseModel, context: CommandContext
) -> v221.CommandResponse:
    if isinstance(body, v221.StartSession):
        response = await handler.start_session(body, context)
    elif isinstance(body, v221.StopSession):
        response = await handler.stop_session(body, context)
    elif isinstance(body, v221.ReserveNow):
        response = await handler.reserve_now(body, context)
    elif isinstance(body, v221.CancelReservation):
        response = await handler.cancel_reservation(body, context)
    else:
        assert isinstance(body, v221.UnlockConnector)
        response = await handler.unlock_connector(body, context)
    if not isinstance(response, v221.CommandResponse):
        raise TypeError(f"{type(handler).__name__} answered {type(response).__name__}, not a CommandResponse")
    return response


def _receiver(version: str) -> Route:
    """``cpo/commands/{command}``: receive a command as CPO (mod_commands Receiver interface)."""

    async def endpoint(request: Request) -> Response:
        caller = await functional_caller(request)
        command = _command_type(request.path_params["command"], version)
        body = await _parse_command(request, version, command, caller)
        token: v221.Token | None = getattr(body, "token", None)
        if token is not None and version != "2.1.1":
            mine = {p.key() for p in caller_parties(caller)}
            if (token.country_code.upper(), token.party_id.upper()) not in mine:
                raise InvalidParameters(
                    "token: an eMSP may only use its own tokens (token.country_code/party_id is not one of"
                    " the caller's credentials roles)",
                    field="token.party_id",
                )
        gateway = gateway_of(request)
        now = datetime.now(UTC)
        party = _caller_party(request, caller, token)
        response_url = str(getattr(body, "response_url"))  # noqa: B009 - every command model has it
        async with gateway.store.transaction() as tx:
            record = await _save(
                tx,
                CommandRecord(
                    id=uuid.uuid4().hex,
                    direction="received",
                    command=command,
                    partner=caller.partner.name,
                    version=version,
                    response_url=response_url,
                    party=party,
                    request=to_jsonable(body),
                    response=None,
                    result=None,
                    context=None,
                    created_at=now,
                    updated_at=now,
                ),
            )
        context = CommandContext(
            command_id=record.id,
            command=command,
            response_url=response_url,
            partner=caller.partner.name,
            version=version,
            party=party,
        )
        response = await _dispatch(command_handler(gateway), body, context)
        await update_command(gateway.store, record.id, response=response)
        if version == "2.1.1":
            return ocpi_response(to_json(command_response_down(response).value))
        return ocpi_response(to_json(response), headers=version_headers(request, caller, version, "CPO"))

    return Route(
        f"/ocpi/{version}/{RECEIVER_PATH}/{{command}}",
        endpoint,
        methods=["POST"],
        name=f"ocpi-{version}-commands-receiver",
    )


def _results(version: str) -> Route:
    """``emsp/commands/{command}/{command_id}``: the asynchronous result of a command we sent."""

    async def endpoint(request: Request) -> Response:
        caller = await functional_caller(request)
        gateway = gateway_of(request)
        command_id = request.path_params["command_id"]
        record = await get_command(gateway.store, command_id)
        if (
            record is None
            or record.direction != "sent"
            or record.partner != caller.partner.name
            or record.command.value != str(request.path_params["command"]).upper()
        ):
            raise NotFound(f"Unknown command {command_id}")
        result: v221.CommandResult
        if version == "2.1.1":
            result = command_response_up(await parse_body(request, v211.CommandResponse)).value
        else:
            result = await parse_body(request, v221.CommandResult)
        updated = await update_command(gateway.store, command_id, result=result)
        listener = command_result_listener(gateway)
        if updated is not None and listener is not None and record.result != updated.result:
            await listener.command_result(updated, result)
        return ocpi_response(headers=version_headers(request, caller, version, "EMSP"))

    return Route(
        f"/ocpi/{version}/{SENDER_PATH}/{{command}}/{{command_id}}",
        endpoint,
        methods=["POST"],
        name=f"ocpi-{version}-commands-results",
    )


def endpoints(config: BridgeConfig) -> list[ModuleEndpoint]:
    """The Commands interfaces of every configured version: the Receiver when the gateway is a CPO or hub,
    the Sender (where results of its commands arrive) when it is an eMSP."""
    result: list[ModuleEndpoint] = []
    for version in VERSIONS:
        if version not in config.ocpi.versions:
            continue
        if serves_cpo_role(config):
            result.append(
                ModuleEndpoint(version, "commands", "RECEIVER", "CPO", RECEIVER_PATH, (_receiver(version),))
            )
        if serves_emsp_role(config):
            result.append(
                ModuleEndpoint(version, "commands", "SENDER", "EMSP", SENDER_PATH, (_results(version),))
            )
    return result


__all__ = [
    "COMMAND_KIND",
    "RESERVATION_211",
    "endpoints",
    "get_command",
    "register_sent_command",
    "reservation_id_from_211",
    "reservation_id_to_211",
    "response_url_for",
    "update_command",
]
