"""Commands: OCPI START_SESSION/STOP_SESSION/RESERVE_NOW/CANCEL_RESERVATION ⇄ OICP remote operations.

Spec rules implemented here (docs/mapping.md §3.8, docs/oicp-2.3.md §2.2, §2.3, §8.12,
docs/ocpi.md §4.6): OICP remote start/stop and reservations are synchronous acknowledgements,
OCPI commands are asynchronous (CommandResponse now, CommandResult at ``response_url`` later).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bridge.errors import MappingError
from bridge.ocpi.models.v2_1_1 import CommandResponse as CommandResponse211
from bridge.ocpi.models.v2_2_1 import (
    CancelReservation,
    CommandResponse,
    CommandResponseType,
    CommandResult,
    CommandResultType,
    DisplayText,
    ReserveNow,
    StartSession,
    StopSession,
)
from bridge.oicp.models.common import Acknowledgement, StatusCode
from bridge.oicp.models.identification import Identification
from bridge.oicp.models.ids import is_valid_provider_id
from bridge.oicp.models.notifications import ChargingNotificationError, ErrorType
from bridge.oicp.models.remote import AuthorizeRemoteStart, AuthorizeRemoteStop
from bridge.oicp.models.reservation import AuthorizeRemoteReservationStart, AuthorizeRemoteReservationStop
from mappings.ids import ocpi_id
from mappings.result import RuleDoc, Translation
from mappings.tokens import (
    format_evco_id,
    identification_to_token,
    merged_table,
    parse_model,
    provider_party,
    rule_rows,
    unsupported,
)

if TYPE_CHECKING:
    from mappings.rules import MappingRules

CommandResultName = Literal[
    "ACCEPTED",
    "CANCELED_RESERVATION",
    "EVSE_OCCUPIED",
    "EVSE_INOPERATIVE",
    "FAILED",
    "NOT_SUPPORTED",
    "REJECTED",
    "TIMEOUT",
    "UNKNOWN_RESERVATION",
]
CommandResponseName = Literal["ACCEPTED", "NOT_SUPPORTED", "REJECTED", "UNKNOWN_SESSION", "TIMEOUT"]
ErrorTypeName = Literal["ConnectorError", "CriticalError"]


class AcknowledgementOutcome(BaseModel):
    """One row of the OCPI CommandResponse → OICP Acknowledgement table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    result: bool = Field(description="OICP Acknowledgement.Result")
    code: str = Field(pattern=r"^[0-9]{3}$", description="OICP StatusCode.Code")


_RESULT_BY_OICP_CODE: dict[str, str] = {
    "000": "ACCEPTED",
    "602": "EVSE_OCCUPIED",
    "700": "EVSE_INOPERATIVE",
    "310": "TIMEOUT",
    "501": "FAILED",
    "510": "FAILED",
    "601": "REJECTED",
    "603": "REJECTED",
    "604": "REJECTED",
    "210": "REJECTED",
    "400": "UNKNOWN_RESERVATION",
}
_ACK_BY_RESPONSE: dict[str, dict[str, object]] = {
    "ACCEPTED": {"result": True, "code": "000"},
    "REJECTED": {"result": False, "code": "602"},
    "NOT_SUPPORTED": {"result": False, "code": "320"},
    "UNKNOWN_SESSION": {"result": False, "code": "400"},
    "TIMEOUT": {"result": False, "code": "501"},
}
_ERROR_TYPE_BY_RESULT: dict[str, str] = {
    "EVSE_OCCUPIED": "ConnectorError",
    "EVSE_INOPERATIVE": "CriticalError",
    "FAILED": "ConnectorError",
    "REJECTED": "ConnectorError",
    "TIMEOUT": "CriticalError",
    "NOT_SUPPORTED": "CriticalError",
    "UNKNOWN_RESERVATION": "ConnectorError",
}


class CommandRules(BaseModel):
    """YAML section ``commands``: OCPI commands ⇄ OICP remote start/stop and reservations."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider_id: str | None = Field(
        default=None,
        description=(
            "OICP ProviderID sent in AuthorizeRemote* requests when the caller passes none "
            "(the ProviderID in our Hubject certificate)."
        ),
    )
    reservation_duration: Literal["clamp", "refuse"] = Field(
        default="clamp",
        description=(
            'OCPI ReserveNow.expiry_date − now outside OICP\'s 1..99 minutes: "clamp" sends the '
            'nearest bound (noted as a change); "refuse" raises a MappingError naming expiry_date.'
        ),
    )
    result_by_oicp_code: dict[str, CommandResultName] = Field(
        default_factory=lambda: dict(_RESULT_BY_OICP_CODE),  # type: ignore[arg-type]
        description=(
            "OICP Acknowledgement StatusCode.Code → OCPI CommandResult.result (000→ACCEPTED, "
            "602→EVSE_OCCUPIED, 700→EVSE_INOPERATIVE, 310→TIMEOUT, 501/510→FAILED, "
            "601/603/604/210→REJECTED, 400→UNKNOWN_RESERVATION); other codes → result_default."
        ),
    )
    result_default: CommandResultName = Field(
        default="FAILED", description="OCPI CommandResult.result for an OICP code not in the table."
    )
    ack_by_response: dict[CommandResponseName, AcknowledgementOutcome] = Field(
        default_factory=lambda: {k: AcknowledgementOutcome(**v) for k, v in _ACK_BY_RESPONSE.items()},  # type: ignore[arg-type]
        description=(
            "OCPI CommandResponse.result → OICP Acknowledgement (ACCEPTED→true 000, REJECTED→false "
            "602, NOT_SUPPORTED→false 320, UNKNOWN_SESSION→false 400, 2.1.1 TIMEOUT→false 501)."
        ),
    )
    error_type_by_result: dict[CommandResultName, ErrorTypeName] = Field(
        default_factory=lambda: dict(_ERROR_TYPE_BY_RESULT),  # type: ignore[arg-type]
        description=(
            "A failed OCPI CommandResult after Hubject was already answered Result:true has no OICP "
            "callback; it is reported as a ChargingNotification Error with this ErrorType."
        ),
    )
    reservation_default_minutes: int = Field(
        default=15,
        ge=1,
        le=99,
        description=(
            "OCPI ReserveNow.expiry_date = now + this many minutes when Hubject's reservation has no "
            "Duration."
        ),
    )
    response_timeout_seconds: int = Field(
        default=60,
        ge=1,
        le=600,
        description=(
            "CommandResponse.timeout we give an OCPI eMSP while we wait for Hubject's synchronous "
            "answer (Hubject allows the CPO up to 60 s)."
        ),
    )

    _merge_results = field_validator("result_by_oicp_code", mode="before")(merged_table(_RESULT_BY_OICP_CODE))
    _merge_acks = field_validator("ack_by_response", mode="before")(merged_table(_ACK_BY_RESPONSE))
    _merge_errors = field_validator("error_type_by_result", mode="before")(
        merged_table(_ERROR_TYPE_BY_RESULT)
    )


# --------------------------------------------------------------------------------------------
# EMP side: OCPI commands from an eMSP → OICP requests to Hubject


def _provider(provider_id: str | None, rules: MappingRules) -> str:
    provider = provider_id or rules.commands.provider_id
    if provider is None:
        raise MappingError("ProviderID", "no ProviderID: set commands.provider_id or pass it")
    if not is_valid_provider_id(provider):
        raise MappingError("ProviderID", f"{provider!r} is not an OICP ProviderID")
    return provider


def _remote_identification(
    evco_source: str, rules: MappingRules, path: str, result: Translation[Any]
) -> Identification:
    evco_id, changed = format_evco_id(evco_source, rules.tokens.evco_id_format, path=path)
    if changed:
        result.changed(path, f"EvcoID written as {evco_id!r} (tokens.evco_id_format)")
    return Identification.from_remote(evco_id)


def start_session_to_oicp(
    command: StartSession,
    *,
    evse_id: str,
    rules: MappingRules,
    provider_id: str | None = None,
    partner_product_id: str | None = None,
) -> Translation[AuthorizeRemoteStart]:
    """OCPI START_SESSION → OICP AuthorizeRemoteStart (oicp-2.3.md §2.3, §8.12).

    Identification is always RemoteIdentification{EvcoID = token.contract_id} (the only option
    for remote start, oicp-2.3.md §4.4); EvseID is the EVSE the caller resolved from
    location_id/evse_uid; ProviderID from the argument or ``commands.provider_id``; no SessionID
    (Hubject issues it); EMPPartnerSessionID = authorization_reference. ``response_url`` stays
    with the caller, who posts the CommandResult when Hubject answers.
    """
    result: Translation[AuthorizeRemoteStart]
    notes = Translation[Any](None)
    identification = _remote_identification(command.token.contract_id, rules, "token.contract_id", notes)
    request = AuthorizeRemoteStart(
        emp_partner_session_id=command.authorization_reference,
        provider_id=_provider(provider_id, rules),
        evse_id=evse_id,
        identification=identification,
        partner_product_id=partner_product_id,
    )
    result = Translation(request, notes.losses)
    result.lost("token.uid", "RemoteIdentification carries only the EvcoID")
    if command.connector_id is not None:
        result.lost("connector_id", "OICP starts an EVSE, not a connector")
    return result


def stop_session_to_oicp(
    command: StopSession,
    *,
    session_id: str,
    evse_id: str,
    rules: MappingRules,
    provider_id: str | None = None,
) -> Translation[AuthorizeRemoteStop]:
    """OCPI STOP_SESSION → OICP AuthorizeRemoteStop: SessionID from the correlation of the OCPI
    session (passed in), EMPPartnerSessionID = the OCPI session id."""
    request = AuthorizeRemoteStop(
        session_id=session_id,
        emp_partner_session_id=command.session_id,
        provider_id=_provider(provider_id, rules),
        evse_id=evse_id,
    )
    return Translation(request)


def reservation_minutes(
    expiry: datetime, now: datetime, rules: MappingRules, result: Translation[Any]
) -> int:
    """OICP Duration (whole minutes 1..99, rounded up) for an OCPI expiry_date.

    Values outside 1..99 follow ``commands.reservation_duration`` (clamp with a note, or refuse).
    """
    minutes = math.ceil((expiry - now).total_seconds() / 60)
    if 1 <= minutes <= 99:
        return minutes
    if rules.commands.reservation_duration == "refuse":
        raise MappingError("expiry_date", f"{minutes} minutes from now; OICP reservations last 1..99 minutes")
    clamped = min(max(minutes, 1), 99)
    result.changed("expiry_date", f"{minutes} minutes from now sent as Duration {clamped} (1..99)")
    return clamped


def reserve_now_to_oicp(
    command: ReserveNow,
    *,
    evse_id: str,
    now: datetime,
    rules: MappingRules,
    provider_id: str | None = None,
    partner_product_id: str | None = None,
) -> Translation[AuthorizeRemoteReservationStart]:
    """OCPI RESERVE_NOW → OICP AuthorizeRemoteReservationStart (oicp-2.3.md §2.2).

    Duration = expiry_date − now in minutes (``commands.reservation_duration`` for values outside
    1..99); RemoteIdentification from token.contract_id; EMPPartnerSessionID = reservation_id.
    """
    notes = Translation[Any](None)
    identification = _remote_identification(command.token.contract_id, rules, "token.contract_id", notes)
    request = AuthorizeRemoteReservationStart(
        emp_partner_session_id=command.reservation_id,
        provider_id=_provider(provider_id, rules),
        evse_id=evse_id,
        identification=identification,
        partner_product_id=partner_product_id,
        duration=reservation_minutes(command.expiry_date, now, rules, notes),
    )
    result = Translation(request, notes.losses)
    result.lost("token.uid", "RemoteIdentification carries only the EvcoID")
    return result


def cancel_reservation_to_oicp(
    command: CancelReservation,
    *,
    session_id: str,
    evse_id: str,
    rules: MappingRules,
    provider_id: str | None = None,
) -> Translation[AuthorizeRemoteReservationStop]:
    """OCPI CANCEL_RESERVATION → OICP AuthorizeRemoteReservationStop (SessionID of the reservation)."""
    request = AuthorizeRemoteReservationStop(
        session_id=session_id,
        emp_partner_session_id=command.reservation_id,
        provider_id=_provider(provider_id, rules),
        evse_id=evse_id,
    )
    return Translation(request)


def immediate_response(rules: MappingRules) -> CommandResponse:
    """The CommandResponse we give an eMSP at once: ACCEPTED with ``commands.response_timeout_seconds``.

    Hubject answers synchronously; the eMSP gets the outcome as a CommandResult (docs/mapping.md §3.8).
    """
    return CommandResponse(
        result=CommandResponseType.ACCEPTED, timeout=rules.commands.response_timeout_seconds
    )


def acknowledgement_to_result(ack: Acknowledgement, rules: MappingRules) -> Translation[CommandResult]:
    """OICP Acknowledgement of a remote operation → OCPI CommandResult (``commands.result_by_oicp_code``).

    Result true with 000 is ACCEPTED; otherwise the StatusCode decides (``commands.result_default``
    for codes not in the table); the StatusCode text becomes the message.
    """
    table = rules.commands
    code = ack.status_code.code
    if ack.result and code == "000":
        outcome = CommandResultType.ACCEPTED
    else:
        outcome = CommandResultType(table.result_by_oicp_code.get(code, table.result_default))
    text = ack.status_code.additional_info or ack.status_code.description
    message = (
        [DisplayText(language="en", text=text[:512])]
        if text and outcome is not CommandResultType.ACCEPTED
        else None
    )
    result = Translation(CommandResult(result=outcome, message=message))
    if ack.session_id is not None:
        result.lost("SessionID", "kept by the caller as the session correlation")
    return result


# --------------------------------------------------------------------------------------------
# CPO side: Hubject's remote operations → OCPI commands to the CPO


def remote_start_to_ocpi(
    request: AuthorizeRemoteStart,
    *,
    location_id: str,
    evse_uid: str,
    response_url: str,
    rules: MappingRules,
    now: datetime,
    connector_id: str | None = None,
) -> Translation[StartSession]:
    """OICP AuthorizeRemoteStart (Hubject → CPO) → OCPI StartSession (docs/mapping.md §3.8).

    The token is built from the Identification (uid = EvcoID by ``tokens.evco_uid``, type per
    ``tokens.token_type_by_identification`` — APP_USER for RemoteIdentification, contract_id =
    EvcoID, owner = the ProviderID's party); location_id/evse_uid come from the caller's EvseID
    lookup; authorization_reference = SessionID (mandatory here); response_url is the caller's.
    """
    if request.session_id is None:
        raise MappingError("SessionID", "Hubject's remote start must carry the SessionID")
    owner = provider_party(request.provider_id)
    token = identification_to_token(request.identification, rules, now=now, owner=owner)
    command = StartSession(
        response_url=response_url,
        token=token.value,
        location_id=location_id,
        evse_uid=evse_uid,
        connector_id=connector_id,
        authorization_reference=request.session_id,
    )
    result = Translation(command, list(token.losses))
    for name, path in (
        ("partner_product_id", "PartnerProductID"),
        ("cpo_partner_session_id", "CPOPartnerSessionID"),
        ("emp_partner_session_id", "EMPPartnerSessionID"),
    ):
        if getattr(request, name) is not None:
            result.lost(path, "no StartSession field")
    return result


def remote_stop_to_ocpi(
    request: AuthorizeRemoteStop, *, session_id: str, response_url: str
) -> Translation[StopSession]:
    """OICP AuthorizeRemoteStop → OCPI StopSession of the OCPI session correlated with the SessionID."""
    result = Translation(StopSession(response_url=response_url, session_id=session_id))
    if request.emp_partner_session_id is not None:
        result.lost("EMPPartnerSessionID", "no StopSession field")
    return result


def reservation_start_to_ocpi(
    request: AuthorizeRemoteReservationStart,
    *,
    location_id: str,
    evse_uid: str,
    response_url: str,
    rules: MappingRules,
    now: datetime,
    reservation_id: str | None = None,
) -> Translation[ReserveNow]:
    """OICP AuthorizeRemoteReservationStart → OCPI ReserveNow.

    expiry_date = now + Duration minutes (``commands.reservation_default_minutes`` without one);
    reservation_id and authorization_reference = SessionID unless ``reservation_id`` is given.
    """
    if request.session_id is None and reservation_id is None:
        raise MappingError("SessionID", "a forwarded reservation must carry the SessionID")
    token = identification_to_token(
        request.identification, rules, now=now, owner=provider_party(request.provider_id)
    )
    minutes = request.duration
    notes = Translation[Any](None)
    if minutes is None:
        minutes = rules.commands.reservation_default_minutes
        notes.defaulted(
            "expiry_date", f"no Duration: {minutes} minutes (commands.reservation_default_minutes)"
        )
    command = ReserveNow(
        response_url=response_url,
        token=token.value,
        expiry_date=now + timedelta(minutes=minutes),
        reservation_id=reservation_id or str(request.session_id),
        location_id=location_id,
        evse_uid=evse_uid,
        authorization_reference=request.session_id,
    )
    result = Translation(command, [*token.losses, *notes.losses])
    if request.partner_product_id is not None:
        result.lost("PartnerProductID", "no ReserveNow field (the reservation product)")
    return result


def reservation_stop_to_ocpi(
    request: AuthorizeRemoteReservationStop, *, response_url: str, reservation_id: str | None = None
) -> Translation[CancelReservation]:
    """OICP AuthorizeRemoteReservationStop → OCPI CancelReservation (reservation_id = SessionID by default).

    oicp-2.3.md §2.2: the CPO must then send a CDR for the reservation.
    """
    command = CancelReservation(
        response_url=response_url, reservation_id=reservation_id or request.session_id
    )
    return Translation(command)


def response_to_oicp(
    response: CommandResponse | CommandResponse211,
    rules: MappingRules,
    *,
    session_id: str | None = None,
    cpo_partner_session_id: str | None = None,
) -> Translation[Acknowledgement]:
    """OCPI CommandResponse → the synchronous OICP Acknowledgement (``commands.ack_by_response``).

    docs/oicp-2.3.md §8.12: answer Hubject with Result true as soon as the CPO ACCEPTED (without
    waiting for the CommandResult); refusals become Result false with the table's StatusCode and
    the CPO's message as AdditionalInfo.
    """
    outcome = rules.commands.ack_by_response[response.result.value]  # type: ignore[index]
    message = getattr(response, "message", None)
    info = message[0].text if message else None
    ack = Acknowledgement(
        result=outcome.result,
        status_code=StatusCode.of(outcome.code, info),
        session_id=session_id,
        cpo_partner_session_id=cpo_partner_session_id,
    )
    result = Translation(ack)
    if isinstance(response, CommandResponse):
        result.lost("timeout", "Hubject waits synchronously; the OCPI timeout has no OICP field")
    return result


def result_to_notification(
    command_result: CommandResult,
    *,
    session_id: str,
    evse_id: str,
    operator_id: str,
    rules: MappingRules,
    identification: Identification | None = None,
    cpo_partner_session_id: str | None = None,
) -> Translation[ChargingNotificationError | None]:
    """A later OCPI CommandResult → ChargingNotification Error, or None when it succeeded.

    Hubject was already answered Result true (docs/mapping.md §3.8): a failure after that has no
    OICP callback and can only surface as an Error notification, ErrorType per
    ``commands.error_type_by_result``.
    """
    outcome = command_result.result
    if outcome in (CommandResultType.ACCEPTED, CommandResultType.CANCELED_RESERVATION):
        return Translation(None)
    error_type = rules.commands.error_type_by_result.get(outcome.value, "CriticalError")  # type: ignore[call-overload]
    info = (
        command_result.message[0].text if command_result.message else f"OCPI command result {outcome.value}"
    )
    notification = ChargingNotificationError(
        session_id=session_id,
        cpo_partner_session_id=cpo_partner_session_id,
        identification=identification,
        evse_id=evse_id,
        operator_id=operator_id,
        error_type=ErrorType(error_type),
        error_additional_info=info[:250],
    )
    return Translation(notification)


# --------------------------------------------------------------------------------------------
# Preview (the ``map`` CLI)

_PREVIEW_RESPONSE_URL = "https://bridge.invalid/preview/response_url"


def _preview_evse_id(evse_uid: str | None, result: Translation[Any]) -> str:
    from bridge.oicp.models.ids import is_valid_evse_id
    from mappings.ids import normalize_evse_id

    candidate = normalize_evse_id(evse_uid or "")
    if not is_valid_evse_id(candidate):
        raise MappingError(
            "evse_uid", "the preview needs an EvseID: the flow looks it up from location_id/evse_uid"
        )
    result.defaulted("EvseID", "preview: evse_uid read as an EvseID")
    return candidate


def _preview_session(value: str, path: str) -> str:
    from bridge.oicp.models.ids import is_valid_session_id

    if not is_valid_session_id(value):
        raise MappingError(
            path, "the preview needs Hubject's SessionID here: the flow takes it from its correlation"
        )
    return value


def _up(kind: str, obj: Mapping[str, Any], result: Translation[Any]) -> Any:
    """2.1.1 commands → 2.2.1 (the owner of the token comes from its EvcoID)."""
    from bridge.ocpi.models import v2_1_1 as v211
    from mappings.ocpi_versions import reserve_now_up, start_session_up
    from mappings.tokens import evco_owner

    up: Translation[Any]
    if kind == "reserve":
        reserve = parse_model(v211.ReserveNow, obj)
        owner = evco_owner(reserve.token.auth_id, "token.auth_id")
        up = reserve_now_up(reserve, country_code=owner[0], party_id=owner[1])
    else:
        start = parse_model(v211.StartSession, obj)
        owner = evco_owner(start.token.auth_id, "token.auth_id")
        up = start_session_up(start, country_code=owner[0], party_id=owner[1])
    result.losses.extend(up.losses)
    return up.value


def preview(
    obj: Mapping[str, Any], source: str, target: str, rules: MappingRules, *, now: datetime
) -> Translation[Any]:
    """Translate a bare command-family object for the ``map`` CLI.

    OCPI → OICP: StartSession → AuthorizeRemoteStart, StopSession → AuthorizeRemoteStop,
    ReserveNow → AuthorizeRemoteReservationStart (evse_uid must be an EvseID and session ids
    SessionIDs in a preview: the flow looks both up), CommandResponse → Acknowledgement.
    OICP → OCPI 2.2.1: AuthorizeRemoteStart (or, with Duration, the reservation start) →
    StartSession/ReserveNow, AuthorizeRemoteStop → StopSession, Acknowledgement → CommandResult;
    location ids are derived from the EvseID and response_url is a placeholder (both noted).
    """
    result: Translation[Any] = Translation(None)
    translated: Translation[Any]
    if source.startswith("ocpi") and target == "oicp":
        if "result" in obj and "timeout" not in obj and source == "ocpi-2.2.1":
            raise MappingError(
                "result",
                "a CommandResult becomes an Error notification only with its session's SessionID and EvseID",
            )
        if "result" in obj:
            model = CommandResponse211 if source == "ocpi-2.1.1" else CommandResponse
            translated = response_to_oicp(parse_model(model, obj), rules)  # type: ignore[arg-type]
        elif "expiry_date" in obj:
            reserve = _up("reserve", obj, result) if source == "ocpi-2.1.1" else parse_model(ReserveNow, obj)
            translated = reserve_now_to_oicp(
                reserve, evse_id=_preview_evse_id(reserve.evse_uid, result), now=now, rules=rules
            )
        elif "token" in obj:
            start = _up("start", obj, result) if source == "ocpi-2.1.1" else parse_model(StartSession, obj)
            translated = start_session_to_oicp(
                start, evse_id=_preview_evse_id(start.evse_uid, result), rules=rules
            )
        elif "session_id" in obj:
            raise MappingError(
                "session_id", "a StopSession names no EVSE: the flow looks it and the SessionID up"
            )
        else:
            raise unsupported(source, target)
        result.value = translated.value
        result.losses.extend(translated.losses)
        return result
    if source == "oicp" and target == "ocpi-2.2.1":
        if "Result" in obj:
            translated = acknowledgement_to_result(parse_model(Acknowledgement, obj), rules)
        elif "Identification" in obj:
            evse_local = ocpi_id(str(obj.get("EvseID", "")))
            for path in ("location_id", "evse_uid", "response_url"):
                result.defaulted(path, "preview: the flow takes it from its EVSE lookup and correlation")
            if "Duration" in obj:
                translated = reservation_start_to_ocpi(
                    parse_model(AuthorizeRemoteReservationStart, obj),
                    location_id=evse_local,
                    evse_uid=evse_local,
                    response_url=_PREVIEW_RESPONSE_URL,
                    rules=rules,
                    now=now,
                )
            else:
                translated = remote_start_to_ocpi(
                    parse_model(AuthorizeRemoteStart, obj),
                    location_id=evse_local,
                    evse_uid=evse_local,
                    response_url=_PREVIEW_RESPONSE_URL,
                    rules=rules,
                    now=now,
                )
        elif "SessionID" in obj:
            request = parse_model(AuthorizeRemoteStop, obj)
            result.defaulted("session_id", "preview: the SessionID (the flow uses its correlation)")
            translated = remote_stop_to_ocpi(
                request,
                session_id=_preview_session(request.session_id, "SessionID"),
                response_url=_PREVIEW_RESPONSE_URL,
            )
        else:
            raise unsupported(source, target)
        result.value = translated.value
        result.losses.extend(translated.losses)
        return result
    raise unsupported(source, target)


RULE_TABLE: tuple[RuleDoc, ...] = rule_rows(
    "ocpi→oicp | START_SESSION token.contract_id | AuthorizeRemoteStart.Identification | "
    "RemoteIdentification{EvcoID} (the only option for remote start); EvcoID format as "
    "tokens.evco_id_format | ",
    "ocpi→oicp | location_id/evse_uid (resolved) | EvseID | the EVSE's EvseID, passed in; connector_id "
    "lost | ",
    "ocpi→oicp | – | ProviderID | argument, else the rule | commands.provider_id",
    "ocpi→oicp | authorization_reference | EMPPartnerSessionID | no SessionID: Hubject issues it | ",
    "ocpi→oicp | STOP_SESSION session_id | AuthorizeRemoteStop SessionID + EMPPartnerSessionID | "
    "SessionID from the correlation | ",
    "ocpi→oicp | RESERVE_NOW expiry_date − now | Duration | whole minutes rounded up; outside 1..99 "
    "clamped (noted) or refused | commands.reservation_duration",
    "ocpi→oicp | CANCEL_RESERVATION | AuthorizeRemoteReservationStop | SessionID of the reservation from "
    "the correlation, EMPPartnerSessionID = reservation_id | ",
    "ocpi→oicp | command accepted for Hubject | CommandResponse | ACCEPTED at once with this timeout; the"
    " outcome follows as CommandResult | commands.response_timeout_seconds",
    "oicp→ocpi | Acknowledgement StatusCode | CommandResult.result | 000→ACCEPTED, 602→EVSE_OCCUPIED, "
    "700→EVSE_INOPERATIVE, 310→TIMEOUT, 501/510→FAILED, 601/603/604/210→REJECTED, 400→UNKNOWN_RESERVATION"
    " | commands.result_by_oicp_code",
    "oicp→ocpi | other codes | CommandResult.result | FAILED | commands.result_default",
    "oicp→ocpi | AuthorizeRemoteStart Identification | StartSession.token | uid = EvcoID "
    "(tokens.evco_uid), type APP_USER, contract_id = EvcoID, owner from the ProviderID | ",
    "oicp→ocpi | EvseID (looked up) | location_id, evse_uid | from the caller's EVSE lookup; response_url"
    " from the caller | ",
    "oicp→ocpi | SessionID | authorization_reference | mandatory on Hubject's remote start | ",
    "oicp→ocpi | AuthorizeRemoteStop | StopSession | session_id of the OCPI session correlated with the "
    "SessionID | ",
    "oicp→ocpi | reservation Duration | ReserveNow.expiry_date | now + Duration; without one the default "
    "| commands.reservation_default_minutes",
    "oicp→ocpi | reservation SessionID | ReserveNow/CancelReservation reservation_id | the SessionID "
    "unless the caller gives one | ",
    "ocpi→oicp | CommandResponse.result (CPO side) | Acknowledgement Result + StatusCode | ACCEPTED→true "
    "000, REJECTED→false 602, NOT_SUPPORTED→false 320, UNKNOWN_SESSION→false 400, TIMEOUT (2.1.1)→false "
    "501 | commands.ack_by_response",
    "ocpi→oicp | failed CommandResult after Result true | ChargingNotification Error | "
    "EVSE_OCCUPIED/FAILED/REJECTED/UNKNOWN_RESERVATION → ConnectorError, "
    "EVSE_INOPERATIVE/TIMEOUT/NOT_SUPPORTED → CriticalError | commands.error_type_by_result",
)
