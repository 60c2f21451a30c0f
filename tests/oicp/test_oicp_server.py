"""The Hubject-facing routes of the gateway (oicp-2.3.md §1.3, §2.2, §2.4, §8 point 3).

In process through httpx.ASGITransport with real handler classes registered in
``gateway.services`` (and without any), then the Hubject simulator calling the gateway over
real HTTP on loopback as Hubject would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from bridge.app import create_app
from bridge.context import Gateway
from bridge.errors import OicpError
from bridge.oicp.handlers import (
    SERVICE_CPO_REMOTE,
    SERVICE_DEADLINES,
    SERVICE_EMP_AUTHORIZATION,
    SERVICE_EMP_CDR,
    SERVICE_EMP_NOTIFICATION,
    CpoRemoteHandler,
    EmpAuthorizationHandler,
    EmpCdrHandler,
    EmpNotificationHandler,
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
    ChargingNotification,
    Identification,
    StatusCode,
    StatusCodeEnum,
)
from bridge.simulators import serve
from tests.oicp.hubject_support import (
    EVCO,
    EVSE,
    OPERATOR,
    PROVIDER,
    UID,
    cdr_body,
    loopback_socket,
    make_simulator,
    snippet,
)
from tests.schema_oicp import openapi_spelling, validate_oicp
from tests.support.gateway import make_config, running

SESSION = "b2688855-7f00-0002-6d8e-48d883f6abb6"
REMOTE_START = "/api/oicp/charging/v21/providers/DE-DCB/authorize-remote/start"
AUTHORIZE_START = "/api/oicp/charging/v21/operators/DE*ABC/authorize/start"


class RemoteCpo:
    """A CPO side that accepts every command, optionally slowly or with an error."""

    def __init__(self, *, delay: float = 0.0, error: Exception | None = None) -> None:
        self.calls: list[tuple[str, Any, str]] = []
        self.delay = delay
        self.error = error

    async def _answer(self, name: str, request: Any, provider_id: str) -> Acknowledgement:
        self.calls.append((name, request, provider_id))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return Acknowledgement.success(session_id=request.session_id, cpo_partner_session_id="cpo-42")

    async def authorize_remote_start(
        self, request: AuthorizeRemoteStart, *, provider_id: str
    ) -> Acknowledgement:
        return await self._answer("start", request, provider_id)

    async def authorize_remote_stop(
        self, request: AuthorizeRemoteStop, *, provider_id: str
    ) -> Acknowledgement:
        return await self._answer("stop", request, provider_id)

    async def authorize_remote_reservation_start(
        self, request: AuthorizeRemoteReservationStart, *, provider_id: str
    ) -> Acknowledgement:
        return await self._answer("reservation_start", request, provider_id)

    async def authorize_remote_reservation_stop(
        self, request: AuthorizeRemoteReservationStop, *, provider_id: str
    ) -> Acknowledgement:
        return await self._answer("reservation_stop", request, provider_id)


class Emp:
    """An EMP side that knows one RFID card and records CDRs and notifications."""

    def __init__(self, *, delay: float = 0.0) -> None:
        self.delay = delay
        self.authorized: list[AuthorizeStart] = []
        self.cdrs: list[tuple[ChargeDetailRecord, str]] = []
        self.notifications: list[ChargingNotification] = []

    async def authorize_start(self, request: AuthorizeStart, *, operator_id: str) -> AuthorizationStart:
        if self.delay:
            await asyncio.sleep(self.delay)
        if request.identification.uid != UID:
            return AuthorizationStart(
                session_id=request.session_id,
                authorization_status=AuthorizationStatus.NOT_AUTHORIZED,
                status_code=StatusCode.of(StatusCodeEnum.RFID_AUTHENTICATION_FAILED_INVALID_UID),
            )
        self.authorized.append(request)
        return AuthorizationStart(
            session_id=request.session_id,
            provider_id=PROVIDER,
            authorization_status=AuthorizationStatus.AUTHORIZED,
            status_code=StatusCode.of(StatusCodeEnum.SUCCESS),
            authorization_stop_identifications=[request.identification],
        )

    async def authorize_stop(self, request: AuthorizeStop, *, operator_id: str) -> AuthorizationStop:
        return AuthorizationStop(
            session_id=request.session_id,
            provider_id=PROVIDER,
            authorization_status=AuthorizationStatus.AUTHORIZED,
            status_code=StatusCode.of(StatusCodeEnum.SUCCESS),
        )

    async def charge_detail_record(self, cdr: ChargeDetailRecord, *, operator_id: str) -> Acknowledgement:
        self.cdrs.append((cdr, operator_id))
        return Acknowledgement.success(session_id=cdr.session_id)

    async def charging_notification(self, notification: ChargingNotification) -> Acknowledgement:
        self.notifications.append(notification)
        return Acknowledgement.success(session_id=notification.session_id)


def services_for(cpo: Any = None, emp: Any = None, deadlines: OicpDeadlines | None = None) -> dict[str, Any]:
    services: dict[str, Any] = {}
    if cpo is not None:
        services[SERVICE_CPO_REMOTE] = cpo
    if emp is not None:
        services.update({SERVICE_EMP_AUTHORIZATION: emp, SERVICE_EMP_CDR: emp, SERVICE_EMP_NOTIFICATION: emp})
    if deadlines is not None:
        services[SERVICE_DEADLINES] = deadlines
    return services


def app_with(tmp_path: Path, services: dict[str, Any]) -> Any:
    def register(gateway: Gateway) -> None:
        gateway.services.update(services)

    return create_app(make_config(tmp_path), start_hooks=[register])


@asynccontextmanager
async def gateway(tmp_path: Path, services: dict[str, Any]) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app_with(tmp_path, services)) as client:
        yield client


def remote_start_body(session_id: str | None = SESSION) -> dict[str, Any]:
    """The official AuthorizeRemoteStart example, with one identification and a real SessionID."""
    body: dict[str, Any] = snippet("cpo", "eRoamingAuthorizeRemoteStart:Request")
    body["Identification"] = {"RemoteIdentification": {"EvcoID": EVCO}}
    body["EvseID"] = EVSE
    if session_id is None:
        del body["SessionID"]
    else:
        body["SessionID"] = session_id
    return body


def authorize_start_body(uid: str = UID) -> dict[str, Any]:
    body: dict[str, Any] = snippet("emp", "eRoamingAuthorizeStart:Request")
    body["Identification"] = {"RFIDMifareFamilyIdentification": {"UID": uid}}
    body["EvseID"] = EVSE
    body["SessionID"] = SESSION
    return body


def test_the_handler_classes_of_these_tests_implement_the_protocols() -> None:
    assert isinstance(RemoteCpo(), CpoRemoteHandler)
    emp = Emp()
    assert isinstance(emp, EmpAuthorizationHandler)
    assert isinstance(emp, EmpCdrHandler)
    assert isinstance(emp, EmpNotificationHandler)


# ---------------------------------------------------------------------------------------------
# CPO routes


async def test_remote_start_reaches_the_cpo_handler_and_its_answer_goes_back(tmp_path: Path) -> None:
    cpo = RemoteCpo()
    async with gateway(tmp_path, services_for(cpo=cpo)) as client:
        response = await client.post(REMOTE_START.replace("DE-DCB", "DE%2ADCB"), json=remote_start_body())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    answer = response.json()
    validate_oicp(answer, "eRoamingAcknowledgment", "cpo")
    assert (answer["Result"], answer["SessionID"], answer["CPOPartnerSessionID"]) == (True, SESSION, "cpo-42")
    [(name, request, provider_id)] = cpo.calls
    assert (name, provider_id) == ("start", "DE*DCB")
    assert isinstance(request, AuthorizeRemoteStart)
    assert request.identification.evco_id == EVCO


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/api/oicp/reservation/v11/providers/DE-DCB/reservation-start-request", "reservation_start"),
        ("/api/oicp/charging/v21/providers/DE-DCB/authorize-remote-reservation/start", "reservation_start"),
        ("/api/oicp/reservation/v11/providers/DE-DCB/reservation-stop-request", "reservation_stop"),
        ("/api/oicp/charging/v21/providers/DE-DCB/authorize-remote-reservation/stop", "reservation_stop"),
        ("/api/oicp/charging/v21/providers/DE-DCB/authorize-remote/stop", "stop"),
    ],
)
async def test_reservations_on_both_paths_and_remote_stop(tmp_path: Path, path: str, kind: str) -> None:
    start = kind == "reservation_start"
    example = "eRoamingRemoteReservationStart" if start else "eRoamingRemoteReservationStop"
    body = snippet("cpo", f"{example}:Request")
    body.update({"SessionID": SESSION, "EvseID": EVSE})
    if start:
        body["Identification"] = {"RemoteIdentification": {"EvcoID": EVCO}}
    cpo = RemoteCpo()
    async with gateway(tmp_path, services_for(cpo=cpo)) as client:
        answer = (await client.post(path, json=body)).json()
    assert answer["Result"] is True
    assert [call[0] for call in cpo.calls] == [kind]
    assert cpo.calls[0][1].session_id == SESSION


async def test_the_official_example_as_published_is_refused_with_022_naming_the_field(tmp_path: Path) -> None:
    cpo = RemoteCpo()
    async with gateway(tmp_path, services_for(cpo=cpo)) as client:
        published = snippet("cpo", "eRoamingAuthorizeRemoteStart:Request")  # five identifications at once
        response = await client.post(REMOTE_START, json=published)
        broken_json = await client.post(
            REMOTE_START, content=b'{"SessionID": ', headers={"Content-Type": "application/json"}
        )
        wrong_field = remote_start_body()
        wrong_field["EvseID"] = 42
        wrong_type = await client.post(REMOTE_START, json=wrong_field)
    assert response.status_code == 200
    answer = response.json()
    validate_oicp(answer, "eRoamingAcknowledgment", "cpo")
    assert (answer["Result"], answer["StatusCode"]["Code"]) == (False, "022")
    assert "Identification" in answer["StatusCode"]["AdditionalInfo"]
    assert "SessionID" not in answer  # "string" is no SessionID: not echoed
    assert broken_json.status_code == 200
    assert broken_json.json()["StatusCode"]["Code"] == "022"
    assert broken_json.json()["StatusCode"]["AdditionalInfo"].startswith("Invalid JSON")
    refused = wrong_type.json()
    assert "'EvseID'" in refused["StatusCode"]["AdditionalInfo"]
    assert refused["SessionID"] == SESSION  # echoed for correlation
    assert cpo.calls == []


async def test_without_handlers_every_route_answers_320_in_its_own_response_type(tmp_path: Path) -> None:
    notification = snippet("cpo", "eRoamingChargingNotificationStart:Request")
    notification.update({"SessionID": SESSION, "EvseID": EVSE})
    async with gateway(tmp_path, services_for()) as client:
        remote = (await client.post(REMOTE_START, json=remote_start_body())).json()
        authorize = (await client.post(AUTHORIZE_START, json=authorize_start_body())).json()
        cdr = (
            await client.post(
                "/api/oicp/cdrmgmt/v22/operators/DE*ABC/charge-detail-record", json=cdr_body(SESSION)
            )
        ).json()
        notified = (
            await client.post("/api/oicp/notificationmgmt/v11/charging-notifications", json=notification)
        ).json()
    for answer in (remote, cdr, notified):
        validate_oicp(answer, "eRoamingAcknowledgment", "cpo")
        assert (answer["Result"], answer["StatusCode"]["Code"], answer["SessionID"]) == (
            False,
            "320",
            SESSION,
        )
        assert answer["StatusCode"]["Description"] == "Service not available"
    validate_oicp(authorize, "eRoamingAuthorizationStart", "emp")
    assert (authorize["AuthorizationStatus"], authorize["StatusCode"]["Code"]) == ("NotAuthorized", "320")


async def test_a_slow_cpo_handler_is_answered_501_within_the_deadline(tmp_path: Path) -> None:
    cpo = RemoteCpo(delay=30)
    deadlines = OicpDeadlines(remote=0.05)
    async with gateway(tmp_path, services_for(cpo=cpo, deadlines=deadlines)) as client:
        answer = (await client.post(REMOTE_START, json=remote_start_body())).json()
    assert (answer["Result"], answer["StatusCode"]["Code"], answer["SessionID"]) == (False, "501", SESSION)
    assert len(cpo.calls) == 1


async def test_handler_errors_become_answers_never_http_500(tmp_path: Path) -> None:
    async with gateway(
        tmp_path, services_for(cpo=RemoteCpo(error=OicpError("EVSE in use", code="602")))
    ) as client:
        in_use = await client.post(REMOTE_START, json=remote_start_body())
    async with gateway(tmp_path, services_for(cpo=RemoteCpo(error=RuntimeError("bug")))) as client:
        crashed = await client.post(REMOTE_START, json=remote_start_body())
    assert in_use.status_code == crashed.status_code == 200
    assert (in_use.json()["StatusCode"]["Code"], in_use.json()["StatusCode"]["AdditionalInfo"]) == (
        "602",
        "EVSE in use",
    )
    assert (crashed.json()["Result"], crashed.json()["StatusCode"]["Code"]) == (False, "021")


# ---------------------------------------------------------------------------------------------
# EMP routes


async def test_emp_authorization_cdr_and_notifications_reach_their_handlers(tmp_path: Path) -> None:
    emp = Emp()
    notification = snippet("cpo", "eRoamingChargingNotificationProgress:Request")
    notification.update({"SessionID": SESSION, "EvseID": EVSE})
    async with gateway(tmp_path, services_for(emp=emp)) as client:
        authorized = (await client.post(AUTHORIZE_START, json=authorize_start_body())).json()
        unknown = (await client.post(AUTHORIZE_START, json=authorize_start_body("AABBCCDD"))).json()
        stop = snippet("emp", "eRoamingAuthorizeStop:Request")
        stop.update(
            {"SessionID": SESSION, "Identification": {"RFIDMifareFamilyIdentification": {"UID": UID}}}
        )
        stopped = (
            await client.post("/api/oicp/charging/v21/operators/DE%2AABC/authorize/stop", json=stop)
        ).json()
        cdr = (
            await client.post(
                "/api/oicp/cdrmgmt/v22/operators/DE%2AABC/charge-detail-record", json=cdr_body(SESSION)
            )
        ).json()
        notified = (
            await client.post("/api/oicp/notificationmgmt/v11/charging-notifications", json=notification)
        ).json()
    validate_oicp(authorized, "eRoamingAuthorizationStart", "emp")
    assert (authorized["AuthorizationStatus"], authorized["ProviderID"], authorized["SessionID"]) == (
        "Authorized",
        PROVIDER,
        SESSION,
    )
    assert authorized["AuthorizationStopIdentifications"] == [
        {"RFIDMifareFamilyIdentification": {"UID": UID}}
    ]
    assert (unknown["AuthorizationStatus"], unknown["StatusCode"]["Code"]) == ("NotAuthorized", "102")
    validate_oicp(stopped, "eRoamingAuthorizationStop", "emp")
    assert stopped["AuthorizationStatus"] == "Authorized"
    assert cdr["Result"] is True and notified["Result"] is True
    assert [(record.session_id, operator) for record, operator in emp.cdrs] == [(SESSION, "DE*ABC")]
    assert [n.type for n in emp.notifications] == ["Progress"]


async def test_a_slow_emp_is_answered_not_authorized_310(tmp_path: Path) -> None:
    deadlines = OicpDeadlines(authorize=0.05)
    async with gateway(tmp_path, services_for(emp=Emp(delay=30), deadlines=deadlines)) as client:
        answer = (await client.post(AUTHORIZE_START, json=authorize_start_body())).json()
    validate_oicp(answer, "eRoamingAuthorizationStart", "emp")
    assert (answer["AuthorizationStatus"], answer["StatusCode"]["Code"]) == ("NotAuthorized", "310")


# ---------------------------------------------------------------------------------------------
# Hubject calling the gateway over real HTTP


async def test_the_simulator_calls_the_gateway_as_hubject_would(tmp_path: Path) -> None:
    cpo, emp = RemoteCpo(), Emp()
    app = app_with(tmp_path, services_for(cpo=cpo, emp=emp))
    async with serve(app, sock=loopback_socket()) as url:
        sim = make_simulator(partner_base_url=url)
        try:
            remote = AuthorizeRemoteStart(
                provider_id=PROVIDER, evse_id=EVSE, identification=Identification.from_remote(EVCO)
            )
            started = await sim.call_partner("authorize_remote_start", remote)
            reserved = await sim.call_partner(
                "authorize_remote_reservation_start",
                {**remote_start_body(None), "Duration": 15},
                reservation_paths="charging",
            )
            authorized = await sim.call_partner(
                "authorize_start",
                AuthorizeStart(
                    operator_id=OPERATOR, evse_id=EVSE, identification=Identification.from_uid(UID)
                ),
            )
            session_id = authorized.response["SessionID"]
            sim.add_cdr(cdr_body(session_id), provider_id=PROVIDER)
            forwarded = await sim.call_partner("charge_detail_record", cdr_body(session_id))
        finally:
            await sim.aclose()

    assert started.status == 200 and started.response["Result"] is True
    assert started.path == "/api/oicp/charging/v21/providers/DE-DCB/authorize-remote/start"
    generated = started.request["SessionID"]
    assert generated in sim.sessions
    assert cpo.calls[0][1].session_id == generated == started.response["SessionID"]
    assert reserved.path == "/api/oicp/charging/v21/providers/DE-DCB/authorize-remote-reservation/start"
    assert reserved.response["Result"] is True and cpo.calls[1][0] == "reservation_start"
    assert authorized.path == "/api/oicp/charging/v21/operators/DE*ABC/authorize/start"
    assert authorized.response["AuthorizationStatus"] == "Authorized"
    assert emp.authorized[0].session_id == session_id
    assert forwarded.path == "/api/oicp/cdrmgmt/v22/operators/DE*ABC/charge-detail-record"
    assert forwarded.response["Result"] is True
    assert sim.cdrs[session_id].forwarded is True
    for exchange in (started, reserved, forwarded):
        validate_oicp(
            openapi_spelling(exchange.response, "eRoamingAcknowledgment", "cpo"),
            "eRoamingAcknowledgment",
            "cpo",
        )


async def test_the_simulator_records_a_partner_that_does_not_answer(tmp_path: Path) -> None:
    sim = make_simulator(partner_base_url="http://127.0.0.1:9")  # discard port: nothing listens
    try:
        exchange = await sim.call_partner("authorize_remote_start", remote_start_body(None), answer_within=2)
    finally:
        await sim.aclose()
    assert exchange.status == 0
    assert "error" in exchange.response
