"""The Hubject-facing routes: what Hubject calls on the gateway (oicp-2.3.md §1.3, §2.2, §2.4).

Hubject appends the OICP path to the partner service URL configured in its portal, so the
routes are the OICP paths under ``/api/oicp`` verbatim (:func:`oicp_routes`):

* CPO (§2.2): ``/charging/v21/providers/{providerID}/authorize-remote/start|stop``;
  ``/reservation/v11/providers/{providerID}/reservation-start-request|reservation-stop-request``
  and the variant WWCP registers,
  ``/charging/v21/providers/{providerID}/authorize-remote-reservation/start|stop``.
* EMP (§2.4): ``/charging/v21/operators/{operatorID}/authorize/start|stop``,
  ``/cdrmgmt/v22/operators/{operatorID}/charge-detail-record``,
  ``/notificationmgmt/v11/charging-notifications``.

IDs in the path may arrive as ``DE*ABC`` or ``DE%2AABC`` (the server decodes the path; §8 point 11).

Every answer is HTTP 200 with a body of the operation's response type (oicp-2.3.md §1.3, §8
point 3: "always answer HTTP 200 with a well-formed OICP body"; spec 01 "Status codes": "each
message requires a response message in return"). Decisions, all negative answers carrying the
SessionID and partner session IDs of the request when they are readable:

* **Invalid JSON or a body that does not validate** → ``Result: false`` (AuthorizeStart/Stop:
  ``NotAuthorized``) with StatusCode **022** "Data error" and ``AdditionalInfo`` naming the field.
  Hubject itself answers its own callers' schema errors with HTTP 400, but a partner's non-200 is
  read by Hubject as "partner did not respond" (§1.3, WWCP behaviour) and 022 is the spec's code for
  bad request data (CodeType "Data error", General codes).
* **No handler registered** for the role in ``gateway.services`` → StatusCode **320** "Service not
  available" (``Result: false`` / ``NotAuthorized``): a real answer, not an error page.
* **Handler too slow** (:class:`~bridge.oicp.handlers.OicpDeadlines`): remote start/stop and
  reservations → 501 "Communication to EVSE failed"; AuthorizeStart/Stop → NotAuthorized 310
  "Partner did not respond"; CDR and notifications → 021 "System error".
* A handler raising :class:`~bridge.errors.OicpError` → its ``code`` and message; any other
  exception → 021 "System error" (logged with its traceback). Never an HTTP 500.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bridge.context import gateway_of
from bridge.errors import OicpError
from bridge.http_errors import OICP_PREFIX, field_path
from bridge.oicp.handlers import (
    SERVICE_CPO_REMOTE,
    SERVICE_DEADLINES,
    SERVICE_EMP_AUTHORIZATION,
    SERVICE_EMP_CDR,
    SERVICE_EMP_NOTIFICATION,
    OicpDeadlines,
)
from bridge.oicp.models import (
    Acknowledgement,
    AuthorizationStart,
    AuthorizationStatus,
    AuthorizationStop,
    AuthorizeRemoteReservationStart,
    AuthorizeRemoteReservationStop,
    AuthorizeRemoteStart,
    AuthorizeRemoteStop,
    AuthorizeStart,
    AuthorizeStop,
    ChargeDetailRecord,
    OicpEgressError,
    StatusCode,
    StatusCodeEnum,
    is_valid_session_id,
    parse_charging_notification,
    to_json,
)

log = logging.getLogger("bridge.oicp.server")

OICP_MEDIA_TYPE = "application/json;charset=UTF-8"
"""What Hubject itself sends (oicp-2.3.md §1.1)."""

AnswerKind = Literal["ack", "start", "stop"]
DeadlineKind = Literal["remote", "authorize", "cdr", "notification"]

_TIMEOUT_CODES: dict[DeadlineKind, StatusCodeEnum] = {
    "remote": StatusCodeEnum.COMMUNICATION_TO_EVSE_FAILED,
    "authorize": StatusCodeEnum.PARTNER_DID_NOT_RESPOND,
    "cdr": StatusCodeEnum.SYSTEM_ERROR,
    "notification": StatusCodeEnum.SYSTEM_ERROR,
}

_ANSWER_TYPES: dict[AnswerKind, type[BaseModel]] = {
    "ack": Acknowledgement,
    "start": AuthorizationStart,
    "stop": AuthorizationStop,
}


@dataclass(frozen=True, slots=True)
class HubjectRoute:
    """One operation Hubject calls on us: its path (under ``/api/oicp``), body parser and handler seam."""

    operation: str
    path: str
    parse: Callable[[bytes], BaseModel]
    service: str
    method: str
    answer: AnswerKind
    deadline: DeadlineKind
    role: str

    @property
    def path_param(self) -> str | None:
        for name in ("providerID", "operatorID"):
            if "{" + name + "}" in self.path:
                return name
        return None


def _parse_notification(body: bytes) -> BaseModel:
    notification: BaseModel = parse_charging_notification(body)
    return notification


def _remote(operation: str, path: str, model: type[BaseModel]) -> HubjectRoute:
    return HubjectRoute(
        operation, path, model.model_validate_json, SERVICE_CPO_REMOTE, operation, "ack", "remote", "CPO"
    )


HUBJECT_ROUTES: tuple[HubjectRoute, ...] = (
    # Hubject → CPO (oicp-2.3.md §2.2)
    _remote(
        "authorize_remote_start",
        "/charging/v21/providers/{providerID}/authorize-remote/start",
        AuthorizeRemoteStart,
    ),
    _remote(
        "authorize_remote_stop",
        "/charging/v21/providers/{providerID}/authorize-remote/stop",
        AuthorizeRemoteStop,
    ),
    _remote(
        "authorize_remote_reservation_start",
        "/reservation/v11/providers/{providerID}/reservation-start-request",
        AuthorizeRemoteReservationStart,
    ),
    _remote(
        "authorize_remote_reservation_stop",
        "/reservation/v11/providers/{providerID}/reservation-stop-request",
        AuthorizeRemoteReservationStop,
    ),
    # The paths WWCP registers for reservations (oicp-2.3.md §2.2 "Path caveat").
    _remote(
        "authorize_remote_reservation_start",
        "/charging/v21/providers/{providerID}/authorize-remote-reservation/start",
        AuthorizeRemoteReservationStart,
    ),
    _remote(
        "authorize_remote_reservation_stop",
        "/charging/v21/providers/{providerID}/authorize-remote-reservation/stop",
        AuthorizeRemoteReservationStop,
    ),
    # Hubject → EMP (oicp-2.3.md §2.4)
    HubjectRoute(
        "authorize_start",
        "/charging/v21/operators/{operatorID}/authorize/start",
        AuthorizeStart.model_validate_json,
        SERVICE_EMP_AUTHORIZATION,
        "authorize_start",
        "start",
        "authorize",
        "EMP",
    ),
    HubjectRoute(
        "authorize_stop",
        "/charging/v21/operators/{operatorID}/authorize/stop",
        AuthorizeStop.model_validate_json,
        SERVICE_EMP_AUTHORIZATION,
        "authorize_stop",
        "stop",
        "authorize",
        "EMP",
    ),
    HubjectRoute(
        "charge_detail_record",
        "/cdrmgmt/v22/operators/{operatorID}/charge-detail-record",
        ChargeDetailRecord.model_validate_json,
        SERVICE_EMP_CDR,
        "charge_detail_record",
        "ack",
        "cdr",
        "EMP",
    ),
    HubjectRoute(
        "charging_notification",
        "/notificationmgmt/v11/charging-notifications",
        _parse_notification,
        SERVICE_EMP_NOTIFICATION,
        "charging_notification",
        "ack",
        "notification",
        "EMP",
    ),
)
"""Every route Hubject calls, in registration order."""


# ---------------------------------------------------------------------------------------------
# Answers


@dataclass(frozen=True, slots=True)
class _Echo:
    """The request's correlation IDs, repeated in the answer when they are well-formed."""

    session_id: str | None = None
    cpo_partner_session_id: str | None = None
    emp_partner_session_id: str | None = None

    @classmethod
    def of(cls, values: dict[str, Any]) -> _Echo:
        session = values.get("session_id")
        cpo = values.get("cpo_partner_session_id")
        emp = values.get("emp_partner_session_id")
        return cls(
            session if isinstance(session, str) and is_valid_session_id(session) else None,
            cpo if isinstance(cpo, str) and len(cpo) <= 250 else None,
            emp if isinstance(emp, str) and len(emp) <= 250 else None,
        )

    @classmethod
    def from_model(cls, model: BaseModel) -> _Echo:
        return cls.of({name: getattr(model, name, None) for name in _ECHO_FIELDS})

    @classmethod
    def from_raw(cls, body: bytes) -> _Echo:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return cls()
        if not isinstance(data, dict):
            return cls()
        return cls.of(
            {
                "session_id": data.get("SessionID"),
                "cpo_partner_session_id": data.get("CPOPartnerSessionID"),
                "emp_partner_session_id": data.get("EMPPartnerSessionID", data.get("EMPPartnerSessionId")),
            }
        )

    def fields(self) -> dict[str, str]:
        values = {
            "session_id": self.session_id,
            "cpo_partner_session_id": self.cpo_partner_session_id,
            "emp_partner_session_id": self.emp_partner_session_id,
        }
        return {name: value for name, value in values.items() if value is not None}


_ECHO_FIELDS = ("session_id", "cpo_partner_session_id", "emp_partner_session_id")


def negative_answer(kind: AnswerKind, code: StatusCodeEnum | str, info: str | None, echo: _Echo) -> BaseModel:
    """A negative answer of the operation's response type: ``Result: false`` or ``NotAuthorized``."""
    status = StatusCode.of(code, info[:1000] if info else None)
    if kind == "ack":
        return Acknowledgement(result=False, status_code=status, **echo.fields())
    answer = AuthorizationStart if kind == "start" else AuthorizationStop
    return answer(
        authorization_status=AuthorizationStatus.NOT_AUTHORIZED, status_code=status, **echo.fields()
    )


def describe_validation(error: ValidationError) -> str:
    """The first problem of a request body, naming the field by its wire path (no input echoed)."""
    errors = error.errors(include_input=False, include_url=False)
    if not errors:
        return "Invalid request body"
    first = errors[0]
    if first["type"] == "json_invalid":
        return f"Invalid JSON: {first['msg']}"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"Invalid field '{field_path(first['loc']) or 'body'}': {first['msg']}{more}"


def _response(answer: BaseModel, kind: AnswerKind, echo: _Echo, operation: str) -> Response:
    try:
        content = to_json(answer, strict=True)
    except OicpEgressError as error:
        log.error("oicp %s: our answer cannot be sent (%s); answering 021", operation, error)
        content = to_json(negative_answer(kind, StatusCodeEnum.SYSTEM_ERROR, None, echo), strict=True)
    return Response(content, status_code=200, media_type=OICP_MEDIA_TYPE)


# ---------------------------------------------------------------------------------------------
# Endpoints


def _endpoint(route: HubjectRoute) -> Callable[[Request], Any]:
    expected = _ANSWER_TYPES[route.answer]
    id_kwarg = {"providerID": "provider_id", "operatorID": "operator_id"}.get(route.path_param or "")

    async def endpoint(request: Request) -> Response:
        raw = await request.body()
        try:
            model = route.parse(raw)
        except ValidationError as error:
            info = describe_validation(error)
            log.info("oicp %s: refused request body: %s", route.operation, info)
            echo = _Echo.from_raw(raw)
            refusal = negative_answer(route.answer, StatusCodeEnum.DATA_ERROR, info, echo)
            return _response(refusal, route.answer, echo, route.operation)
        echo = _Echo.from_model(model)
        gateway = gateway_of(request)
        handler = gateway.services.get(route.service)
        if handler is None:
            info = f"this gateway does not act as an OICP {route.role} for {route.operation}"
            answer = negative_answer(route.answer, StatusCodeEnum.SERVICE_NOT_AVAILABLE, info, echo)
            return _response(answer, route.answer, echo, route.operation)
        deadlines = gateway.services.get(SERVICE_DEADLINES)
        if not isinstance(deadlines, OicpDeadlines):
            deadlines = OicpDeadlines()
        kwargs = {id_kwarg: request.path_params[route.path_param]} if id_kwarg and route.path_param else {}
        answer = await _call_handler(route, getattr(handler, route.method), model, kwargs, deadlines, echo)
        if not isinstance(answer, expected):
            log.error(
                "oicp %s: handler answered %s instead of %s",
                route.operation,
                type(answer).__name__,
                expected.__name__,
            )
            answer = negative_answer(route.answer, StatusCodeEnum.SYSTEM_ERROR, None, echo)
        return _response(answer, route.answer, echo, route.operation)

    endpoint.__name__ = f"oicp_{route.operation}"
    return endpoint


async def _call_handler(
    route: HubjectRoute,
    method: Callable[..., Any],
    model: BaseModel,
    kwargs: dict[str, str],
    deadlines: OicpDeadlines,
    echo: _Echo,
) -> BaseModel:
    """Run the handler within its deadline and translate its failures (the one place that does)."""
    seconds: float = getattr(deadlines, route.deadline)
    try:
        answer: BaseModel = await asyncio.wait_for(method(model, **kwargs), timeout=seconds)
    except TimeoutError:
        code = _TIMEOUT_CODES[route.deadline]
        log.warning(
            "oicp %s: handler did not answer within %.1f s; answering %s", route.operation, seconds, code
        )
        return negative_answer(route.answer, code, f"no answer within {seconds:g} s", echo)
    except OicpError as error:
        return negative_answer(route.answer, error.code, error.message, echo)
    except Exception:
        log.exception("oicp %s: handler failed", route.operation)
        return negative_answer(route.answer, StatusCodeEnum.SYSTEM_ERROR, None, echo)
    return answer


def oicp_routes() -> list[BaseRoute]:
    """The routes Hubject calls, under ``/api/oicp`` (mount them in the app)."""
    return [Route(OICP_PREFIX + route.path, _endpoint(route), methods=["POST"]) for route in HUBJECT_ROUTES]


__all__ = [
    "HUBJECT_ROUTES",
    "OICP_MEDIA_TYPE",
    "HubjectRoute",
    "describe_validation",
    "negative_answer",
    "oicp_routes",
]
