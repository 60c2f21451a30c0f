"""Sending one OCPI command to a CPO backend and reading its synchronous CommandResponse.

ocpi.md §4.6 / §8 point 13: ``POST {commands_url}/{command}`` answers at once with a
CommandResponse ("can I forward it?"); the outcome comes later to the ``response_url`` the gateway
put in the command (one unique URL per command, ``register_sent_command``, ocpi#560). Commands
are never retried or queued (ocpi.md §3.1, §8 point 13: "no retries or queueing"); the caller
gives the time it can wait (:func:`send_command` ``within``).

The command is built as OCPI 2.2.1 and converted down for a 2.1.1 backend (ocpi.md §5):
StartSession/ReserveNow lose ``authorization_reference`` (and ``connector_id``), the ReserveNow
``reservation_id`` becomes the integer kept by ``reservation_id_to_211``; 2.1.1 has no
CANCEL_RESERVATION (:class:`BackendFailure` ``not_supported``). A 2.1.1 answer is read as
``{result}`` and converted up (TIMEOUT → REJECTED, ``timeout`` defaulted).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel

from bridge.errors import PartnerError
from bridge.ocpi.client import clients_of, find_endpoint
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.server.commands import reservation_id_to_211, update_command
from mappings.ocpi_versions import (
    command_response_sync_up,
    reserve_now_down,
    start_session_down,
    stop_session_down,
    unlock_connector_down,
)

if TYPE_CHECKING:
    from bridge.context import Gateway
    from bridge.ocpi.server.handlers import CommandRecord
    from bridge.store.base import PartnerRecord

log = logging.getLogger("bridge.flows.cpo_commands")

FailureKind = Literal[
    "not_registered", "no_endpoint", "not_supported", "unreachable", "timeout", "refused", "invalid"
]


class BackendFailure(Exception):
    """The command did not get a CommandResponse from the backend.

    ``kind``: ``not_registered`` (no credentials to call it), ``no_endpoint`` (no commands
    Receiver in its version details), ``not_supported`` (the command does not exist in its OCPI
    version), ``unreachable`` (no HTTP answer, or not an OCPI one), ``timeout`` (no answer in
    time), ``refused`` (an OCPI error ``status_code``, kept in ``code``), ``invalid`` (a 1xxx
    answer without a valid CommandResponse).
    """

    def __init__(self, kind: FailureKind, detail: str, *, code: int | None = None) -> None:
        super().__init__(detail)
        self.kind: FailureKind = kind
        self.detail = detail
        self.code = code


@dataclass(frozen=True, slots=True)
class BackendAnswer:
    """The backend's synchronous answer: ``response`` as 2.2.1 (stored on the command record),
    ``received`` as it came (a 2.1.1 CommandResponse may say TIMEOUT, which 2.2.1 lacks)."""

    response: v221.CommandResponse
    received: v221.CommandResponse | v211.CommandResponse


async def _wire_body(gateway: Gateway, partner: PartnerRecord, command: BaseModel) -> BaseModel:
    """The command in the backend's OCPI version (ocpi.md §5)."""
    if partner.version != "2.1.1":
        return command
    if isinstance(command, v221.StartSession):
        return start_session_down(command).value
    if isinstance(command, v221.StopSession):
        return stop_session_down(command).value
    if isinstance(command, v221.ReserveNow):
        number = await reservation_id_to_211(gateway.store, partner.name, command.reservation_id)
        return reserve_now_down(command, reservation_id_int=number).value
    if isinstance(command, v221.UnlockConnector):
        return unlock_connector_down(command).value
    raise BackendFailure("not_supported", f"{type(command).__name__} does not exist in OCPI 2.1.1")


async def send_command(
    gateway: Gateway,
    partner: PartnerRecord,
    command_type: v221.CommandType,
    command: BaseModel,
    *,
    record: CommandRecord,
    within: float,
) -> BackendAnswer:
    """POST ``command`` (2.2.1 model) to ``partner``'s commands Receiver, once, within ``within``
    seconds; store the answer on ``record`` (``update_command(response=...)``) and return it.

    Raises :class:`BackendFailure` when there is no usable answer.
    """
    if partner.status != "registered" or partner.token_out is None:
        raise BackendFailure("not_registered", f"CPO backend {partner.name} is not registered")
    try:
        find_endpoint(partner.endpoints, "commands", "RECEIVER", name=partner.name)
    except PartnerError as error:
        raise BackendFailure("no_endpoint", str(error)) from None
    body = await _wire_body(gateway, partner, command)
    client = clients_of(gateway).for_partner(partner)
    try:
        async with asyncio.timeout(max(within, 0.001)):
            reply = await client.post(
                "commands",
                command_type.value,
                body=body,
                role="RECEIVER",
                kind="command",
                correlation_id=record.id,
            )
    except TimeoutError:
        raise BackendFailure(
            "timeout", f"CPO backend {partner.name}: no answer within {within:.1f} s"
        ) from None
    except PartnerError as error:
        if error.code is not None:
            raise BackendFailure("refused", str(error), code=int(error.code)) from None
        raise BackendFailure("unreachable", str(error)) from None
    try:
        received: v221.CommandResponse | v211.CommandResponse
        if partner.version == "2.1.1":
            received = reply.parse(v211.CommandResponse)
            response = command_response_sync_up(received).value
        else:
            received = response = reply.parse(v221.CommandResponse)
    except PartnerError as error:
        raise BackendFailure("invalid", str(error)) from None
    await update_command(gateway.store, record.id, response=response)
    log.info(
        "%s %s sent to CPO backend %s: %s", command_type.value, record.id, partner.name, received.result.value
    )
    return BackendAnswer(response=response, received=received)


__all__ = ["BackendAnswer", "BackendFailure", "FailureKind", "send_command"]
