"""The OICP client against the Hubject simulator served by uvicorn on 127.0.0.1 (oicp-2.3.md §1, §2).

The simulator validates every request against the official OpenAPI schemas, so an operation
answered 200 was schema-valid; its answers are checked against the schemas here. Waiting
(backoff, rate limits) runs on a fake clock: no test depends on real time.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import ssl
import subprocess
from collections.abc import AsyncIterator, Generator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from bridge.config import HubjectConfig
from bridge.errors import PartnerError
from bridge.oicp.client import (
    OPERATIONS,
    OicpCallError,
    OicpClient,
    OicpFaultError,
    OicpRateLimited,
    OicpTransientError,
    RetryPolicy,
    api_base,
)
from bridge.oicp.models import (
    AuthorizationStatus,
    AuthorizeRemoteReservationStart,
    AuthorizeRemoteReservationStop,
    AuthorizeRemoteStart,
    AuthorizeRemoteStop,
    AuthorizeStart,
    AuthorizeStop,
    ChargeDetailRecord,
    ChargingNotificationStart,
    GeoCoordinatesResponseFormat,
    GetChargeDetailRecords,
    Identification,
    PullEvseData,
    PullEVSEPricing,
    PullEvseStatus,
    PullEvseStatusByID,
    PullEvseStatusByOperatorID,
    PullPricingProductData,
    PushAuthenticationData,
    PushEvseData,
    PushEVSEPricing,
    PushEvseStatus,
    PushPricingProductData,
)
from bridge.simulators import base_url, serve
from bridge.simulators.hubject import HubjectSimulator
from tests.oicp.hubject_support import (
    EVCO,
    EVSE,
    OPERATOR,
    OPERATOR_NAME,
    OTHER_OPERATOR,
    PROVIDER,
    UID,
    FakeClock,
    cdr_body,
    evse_record,
    loopback_socket,
    make_simulator,
    push_evse_data_body,
    push_evse_status_body,
    snippet,
)
from tests.schema_oicp import Side, openapi_spelling, validate_oicp

EVSE_2 = "DE*ABC*ETEST2"
DECIMAL = GeoCoordinatesResponseFormat.DECIMAL_DEGREE

ANSWER_SCHEMAS: dict[str, tuple[Side, str]] = {
    "authorize_start": ("cpo", "eRoamingAuthorizationStart"),
    "authorize_stop": ("cpo", "eRoamingAuthorizationStop"),
    "pull_evse_data": ("emp", "eRoamingEVSEData"),
    "pull_evse_status": ("emp", "eRoamingEVSEStatus"),
    "pull_evse_status_by_id": ("emp", "eRoamingEVSEStatusByID"),
    "pull_evse_status_by_operator_id": ("emp", "eRoamingEVSEStatus"),
    "get_charge_detail_records": ("emp", "eRoamingChargeDetailRecords"),
    "pull_pricing_product_data": ("emp", "eRoamingPricingProductData"),
    "pull_evse_pricing": ("emp", "eRoamingEVSEPricing"),
}


@asynccontextmanager
async def hubject(
    *, operator_id: str = OPERATOR, client_options: dict[str, Any] | None = None, **sim_options: Any
) -> AsyncIterator[tuple[HubjectSimulator, OicpClient, FakeClock]]:
    """The simulator on a real loopback socket and a client for it, sharing one fake clock."""
    clock = FakeClock()
    sim = make_simulator(clock=clock, **sim_options)
    async with serve(sim.app, sock=loopback_socket(), lifespan="off") as url:
        options: dict[str, Any] = {
            "rate_limits": {},
            "retry_policy": RetryPolicy(attempts=3, initial_wait=0.5, max_wait=5.0),
            "clock": clock,
            "sleep": clock.sleep,
        }
        options.update(client_options or {})
        client = OicpClient(url, operator_id=operator_id, provider_id=PROVIDER, **options)
        try:
            yield sim, client, clock
        finally:
            await client.aclose()


def statuses(sim: HubjectSimulator, operation: str) -> list[int]:
    return [exchange.status for exchange in sim.exchanges_for(operation)]


def push_status(action: str = "fullLoad", status: str = "Available") -> PushEvseStatus:
    return PushEvseStatus.model_validate(push_evse_status_body(action, {EVSE: status, EVSE_2: "Occupied"}))


def cdr(session_id: str) -> ChargeDetailRecord:
    return ChargeDetailRecord.model_validate(cdr_body(session_id))


# ---------------------------------------------------------------------------------------------
# Every operation


async def test_every_operation_reaches_hubject_schema_valid_and_parses_the_answer() -> None:
    async with hubject() as (sim, client, _):
        sim.authorize(UID, provider_id=PROVIDER)
        data = push_evse_data_body("fullLoad", evse_record(EVSE), evse_record(EVSE_2))
        assert (await client.push_evse_data(PushEvseData.model_validate(data))).result
        assert (await client.push_evse_status(push_status())).result

        identification = Identification.from_uid(UID)
        started = await client.authorize_start(
            AuthorizeStart(operator_id=OPERATOR, evse_id=EVSE, identification=identification)
        )
        assert started.authorization_status is AuthorizationStatus.AUTHORIZED
        assert started.provider_id == PROVIDER and started.session_id is not None
        session_id = started.session_id
        notification = ChargingNotificationStart(
            session_id=session_id, evse_id=EVSE, operator_id=OPERATOR, charging_start=datetime.now(UTC)
        )
        assert (await client.send_charging_notification(notification)).result
        stopped = await client.authorize_stop(
            AuthorizeStop(session_id=session_id, operator_id=OPERATOR, identification=identification)
        )
        assert stopped.authorization_status is AuthorizationStatus.AUTHORIZED
        delivered = await client.send_charge_detail_record(cdr(session_id))
        assert (delivered.result, delivered.session_id) == (True, session_id)
        products = PushPricingProductData.model_validate(
            snippet("cpo", "eRoamingPushPricingProductData:Request")
        )
        assert (await client.push_pricing_product_data(products)).result
        pricing = {
            "ActionType": "fullLoad",
            "EVSEPricing": [{"EvseID": EVSE, "ProviderID": PROVIDER, "EvseIDProductList": ["AC 1"]}],
        }
        assert (await client.push_evse_pricing(PushEVSEPricing.model_validate(pricing))).result

        remote = Identification.from_remote(EVCO)
        remote_start = await client.authorize_remote_start(
            AuthorizeRemoteStart(provider_id=PROVIDER, evse_id=EVSE, identification=remote)
        )
        assert remote_start.result and remote_start.session_id in sim.sessions
        assert remote_start.session_id is not None
        remote_stop = await client.authorize_remote_stop(
            AuthorizeRemoteStop(session_id=remote_start.session_id, provider_id=PROVIDER, evse_id=EVSE)
        )
        assert remote_stop.result
        reserved = await client.authorize_remote_reservation_start(
            AuthorizeRemoteReservationStart(
                provider_id=PROVIDER, evse_id=EVSE, identification=remote, duration=15
            )
        )
        assert reserved.result and reserved.session_id is not None
        released = await client.authorize_remote_reservation_stop(
            AuthorizeRemoteReservationStop(session_id=reserved.session_id, provider_id=PROVIDER, evse_id=EVSE)
        )
        assert released.result

        page = await client.pull_evse_data(
            PullEvseData(provider_id=PROVIDER, geo_coordinates_response_format=DECIMAL)
        )
        assert {record.evse_id for record in page.content} == {EVSE, EVSE_2}
        assert page.content[0].operator_name == OPERATOR_NAME
        every = await client.pull_evse_status(PullEvseStatus(provider_id=PROVIDER))
        assert every.evse_statuses.operator_evse_status[0].operator_id == OPERATOR
        by_id = await client.pull_evse_status_by_id(
            PullEvseStatusByID(provider_id=PROVIDER, evse_id=[EVSE_2])
        )
        assert by_id.evse_status_records.evse_status_record[0].evse_status == "Occupied"
        by_operator = await client.pull_evse_status_by_operator_id(
            PullEvseStatusByOperatorID(provider_id=PROVIDER, operator_id=[OTHER_OPERATOR])
        )
        assert by_operator.evse_statuses.operator_evse_status == []
        now = datetime.now(UTC)
        cdrs = await client.get_charge_detail_records(
            GetChargeDetailRecords(
                provider_id=PROVIDER, from_=now - timedelta(days=1), to=now + timedelta(days=1)
            )
        )
        assert [record.session_id for record in cdrs.content] == [session_id]
        auth = snippet("emp", "eRoamingPushAuthenticationData:Request")
        auth["ProviderAuthenticationData"]["AuthenticationDataRecord"][0]["Identification"] = {
            "RFIDMifareFamilyIdentification": {"UID": "AABBCCDD"}
        }
        assert (await client.push_authentication_data(PushAuthenticationData.model_validate(auth))).result
        priced = await client.pull_pricing_product_data(PullPricingProductData(operator_ids=[OPERATOR]))
        assert priced.pricing_product_data[0].pricing_product_data_records[0].product_id == "AC 1"
        evse_pricing = await client.pull_evse_pricing(
            PullEVSEPricing(provider_id=PROVIDER, operator_ids=[OPERATOR])
        )
        assert evse_pricing.evse_pricing[0].evse_pricing[0].evse_id == EVSE

    assert {exchange.operation for exchange in sim.exchanges} == set(OPERATIONS)
    assert {exchange.status for exchange in sim.exchanges} == {200}
    for exchange in sim.exchanges:
        default: tuple[Side, str] = ("cpo", "eRoamingAcknowledgment")
        side, schema = ANSWER_SCHEMAS.get(exchange.operation, default)
        validate_oicp(openapi_spelling(exchange.response, schema, side), schema, side)


async def test_every_path_is_the_spec_path_with_a_literal_star() -> None:
    async with hubject(
        operators={"+49*810": "DIN operator", OPERATOR: OPERATOR_NAME}, operator_id="+49*810"
    ) as (
        sim,
        client,
        _,
    ):
        assert client.url_for("push_evse_status").endswith(
            "/api/oicp/evsepush/v21/operators/+49*810/status-records"
        )
        assert client.url_for("pull_evse_data").endswith(
            "/api/oicp/evsepull/v23/providers/DE-DCB/data-records"
        )
        body = push_evse_status_body("fullLoad", {"+49*810*000*438": "Available"}, operator="+49*810")
        assert (await client.push_evse_status(PushEvseStatus.model_validate(body))).result
    assert [exchange.path for exchange in sim.exchanges] == [
        "/api/oicp/evsepush/v21/operators/+49*810/status-records"
    ]


def test_base_url_gets_the_api_prefix_once() -> None:
    assert api_base("https://service-qa.hubject.com") == "https://service-qa.hubject.com/api/oicp"
    assert api_base("https://service.hubject.com/api/oicp/") == "https://service.hubject.com/api/oicp"
    client = OicpClient("https://service.hubject.com", operator_id="DE*ABC", provider_id="DE*DCB")
    assert client.url_for("charge_detail_record") == (
        "https://service.hubject.com/api/oicp/cdrmgmt/v22/operators/DE*ABC/charge-detail-record"
    )
    assert client.url_for("get_charge_detail_records") == (
        "https://service.hubject.com/api/oicp/cdrmgmt/v22/providers/DE*DCB/get-charge-detail-records-request"
    )
    assert client.url_for("charging_notification").endswith(
        "/api/oicp/notificationmgmt/v11/charging-notifications"
    )


async def test_answers_with_hubjects_explicit_nulls_parse() -> None:
    async with hubject(explicit_nulls=True) as (sim, client, _):
        denied = await client.authorize_start(
            AuthorizeStart(operator_id=OPERATOR, identification=Identification.from_uid("AABBCCDD"))
        )
        remote = await client.authorize_remote_start(
            AuthorizeRemoteStart(
                provider_id=PROVIDER, evse_id=EVSE, identification=Identification.from_remote(EVCO)
            )
        )
    assert denied.session_id is None and denied.status_code.additional_info is None
    assert remote.result and remote.cpo_partner_session_id is None
    raw = sim.exchanges_for("authorize_remote_start")[0].response
    assert raw["CPOPartnerSessionID"] is None and raw["StatusCode"]["AdditionalInfo"] is None


async def test_status_by_ids_splits_into_calls_of_at_most_100() -> None:
    async with hubject() as (sim, client, _):
        ids = [f"DE*ABC*E{index}" for index in range(250)]
        sim.set_evse_status(ids[0], "Occupied")
        records = await client.pull_evse_status_by_ids(ids)
    assert [record.evse_id for record in records] == ids
    assert records[0].evse_status == "Occupied" and records[-1].evse_status == "EvseNotFound"
    assert [len(exchange.request["EvseID"]) for exchange in sim.exchanges] == [100, 100, 50]


# ---------------------------------------------------------------------------------------------
# Paging


async def test_pull_evse_data_pages_until_last() -> None:
    async with hubject() as (sim, client, _):
        sim.generate_network(130, operators=[OPERATOR, OTHER_OPERATOR], seed=5)
        body = PullEvseData(provider_id=PROVIDER, geo_coordinates_response_format=DECIMAL)
        pages = [page async for page in client.pull_evse_data_pages(body, size=50)]
    assert [page.number_of_elements for page in pages] == [50, 50, 30]
    assert [page.last for page in pages] == [False, False, True]
    assert len({record.evse_id for page in pages for record in page.content}) == 130
    assert [exchange.query for exchange in sim.exchanges] == [
        {"page": str(n), "size": "50"} for n in range(3)
    ]


async def test_get_charge_detail_records_pages_until_last() -> None:
    async with hubject() as (sim, client, _):
        now = datetime.now(UTC)
        for _ in range(5):
            sim.add_cdr(cdr_body(sim.open_session(evse_id=EVSE, provider_id=PROVIDER)), provider_id=PROVIDER)
        body = GetChargeDetailRecords(
            provider_id=PROVIDER, from_=now - timedelta(hours=1), to=now + timedelta(hours=1)
        )
        pages = [page async for page in client.get_charge_detail_records_pages(body, size=2)]
    assert [len(page.content) for page in pages] == [2, 2, 1]
    assert len({record.session_id for page in pages for record in page.content}) == 5


def test_page_size_is_checked_before_sending() -> None:
    client = OicpClient("https://service.hubject.com", provider_id=PROVIDER)
    body = PullEvseData(provider_id=PROVIDER, geo_coordinates_response_format=DECIMAL)
    with pytest.raises(ValueError, match="size"):
        asyncio.run(client.pull_evse_data(body, size=2001))


# ---------------------------------------------------------------------------------------------
# Errors, retries, rate limits


async def test_429_on_a_cdr_is_honoured_with_the_retry_after_backoff() -> None:
    async with hubject(rates={"charge_detail_record": 1}) as (sim, client, clock):
        first = sim.open_session(evse_id=EVSE, provider_id=PROVIDER)
        second = sim.open_session(evse_id=EVSE, provider_id=PROVIDER)
        assert (await client.send_charge_detail_record(cdr(first))).result
        assert (await client.send_charge_detail_record(cdr(second))).result
    assert statuses(sim, "charge_detail_record") == [200, 429, 200]
    assert clock.sleeps == [60.0]  # Retry-After, not a guess
    assert set(sim.cdrs) == {first, second}


async def test_429_is_raised_with_retry_after_where_no_retry_is_allowed() -> None:
    async with hubject(rates={"authorize_start": 1}) as (sim, client, clock):
        body = AuthorizeStart(operator_id=OPERATOR, identification=Identification.from_uid(UID))
        await client.authorize_start(body)
        with pytest.raises(OicpRateLimited) as raised:
            await client.authorize_start(body)
    assert raised.value.retry_after == 60.0
    assert (raised.value.code, raised.value.http_status) == ("429", 429)
    assert isinstance(raised.value, OicpTransientError)
    assert statuses(sim, "authorize_start") == [200, 429]
    assert clock.sleeps == []


async def test_400_fault_body_is_raised_naming_the_field() -> None:
    record = evse_record()
    record["EnvironmentalImpact"] = {"CO2Emission": 100000}  # the schema's maximum is 99999
    async with hubject() as (sim, client, _):
        with pytest.raises(OicpFaultError) as raised:
            await client.push_evse_data(PushEvseData.model_validate(push_evse_data_body("fullLoad", record)))
    error = raised.value
    assert isinstance(error, PartnerError)
    assert (error.code, error.http_status) == ("400", 400)
    field = "operatorEvseData.evseDataRecord[0].environmentalImpact.cO2Emission"
    assert [fault.field_reference for fault in error.validation_errors] == [field]
    assert field in str(error)
    assert error.process_id == sim.exchanges[0].process_id


async def test_a_cdr_is_retried_after_a_transient_503_and_delivered_exactly_once() -> None:
    async with hubject() as (sim, client, clock):
        session_id = sim.open_session(evse_id=EVSE, provider_id=PROVIDER)
        sim.inject_fault("charge_detail_record", 503)
        answer = await client.send_charge_detail_record(cdr(session_id))
    assert answer.result is True
    assert statuses(sim, "charge_detail_record") == [503, 200]
    assert list(sim.cdrs) == [session_id]
    assert len(clock.sleeps) == 1 and 0 < clock.sleeps[0] <= 5.0


async def test_cdr_retries_stop_after_the_configured_attempts() -> None:
    async with hubject() as (sim, client, _):
        session_id = sim.open_session(evse_id=EVSE, provider_id=PROVIDER)
        sim.inject_fault("charge_detail_record", 502, times=5)
        with pytest.raises(OicpTransientError) as raised:
            await client.send_charge_detail_record(cdr(session_id))
    assert raised.value.http_status == 502
    assert statuses(sim, "charge_detail_record") == [502, 502, 502]
    assert sim.cdrs == {}


@pytest.mark.parametrize("operation", ["authorize_start", "authorize_remote_start"])
async def test_calls_that_create_a_session_are_never_retried(operation: str) -> None:
    async with hubject() as (sim, client, clock):
        sim.inject_fault(operation, 503)
        with pytest.raises(OicpTransientError):
            if operation == "authorize_start":
                await client.authorize_start(
                    AuthorizeStart(operator_id=OPERATOR, identification=Identification.from_uid(UID))
                )
            else:
                await client.authorize_remote_start(
                    AuthorizeRemoteStart(
                        provider_id=PROVIDER, evse_id=EVSE, identification=Identification.from_remote(EVCO)
                    )
                )
    assert statuses(sim, operation) == [503]
    assert clock.sleeps == []


async def test_full_load_push_retries_when_asked_and_other_actions_refuse_to() -> None:
    async with hubject() as (sim, client, _):
        sim.inject_fault("push_evse_status", 500)
        assert (await client.push_evse_status(push_status(), retry=True)).result
        with pytest.raises(ValueError, match="fullLoad"):
            await client.push_evse_status(push_status("update"), retry=True)
    assert statuses(sim, "push_evse_status") == [500, 200]


async def test_http_401_403_404_become_partner_errors(caplog: pytest.LogCaptureFixture) -> None:
    async with hubject() as (sim, client, _):
        mismatch = push_evse_status_body("fullLoad", {"DE*XYZ*E1": "Available"}, operator=OTHER_OPERATOR)
        with pytest.raises(OicpCallError) as unauthorized:
            await client.push_evse_status(PushEvseStatus.model_validate(mismatch))
        assert (unauthorized.value.code, unauthorized.value.http_status) == ("017", 401)

        sim.inject_fault("pull_evse_status", 403)
        with caplog.at_level(logging.WARNING, logger="bridge.oicp.client"):
            with pytest.raises(OicpCallError) as forbidden:
                await client.pull_evse_status(PullEvseStatus(provider_id=PROVIDER))
        assert forbidden.value.http_status == 403
        assert "IP not whitelisted" in str(forbidden.value)
        process_id = sim.exchanges[-1].process_id
        assert forbidden.value.process_id == process_id
        assert any(process_id and process_id in record.getMessage() for record in caplog.records)

    async with hubject(operator_id="DE*QQQ") as (sim, client, _):
        with pytest.raises(OicpCallError) as unknown:
            await client.push_evse_status(push_status())
        assert (unknown.value.code, unknown.value.http_status) == ("300", 404)


async def test_business_errors_come_back_as_answers_not_exceptions() -> None:
    async with hubject() as (sim, client, _):
        refused = await client.send_charge_detail_record(cdr("b2688855-7f00-0002-6d8e-48d883f6abb6"))
        assert (refused.result, refused.status_code.code) == (False, "400")
        denied = await client.authorize_start(
            AuthorizeStart(operator_id=OPERATOR, identification=Identification.from_uid("AABBCCDD"))
        )
        assert denied.authorization_status is AuthorizationStatus.NOT_AUTHORIZED
    assert statuses(sim, "charge_detail_record") == [200]  # not retried: an answer is not an error


async def test_the_client_side_limiter_waits_instead_of_earning_a_429() -> None:
    limits = {"pull_evse_status": 2}
    async with hubject(rates=limits, client_options={"rate_limits": limits}) as (sim, client, clock):
        for _ in range(3):
            await client.pull_evse_status(PullEvseStatus(provider_id=PROVIDER))
    assert statuses(sim, "pull_evse_status") == [200, 200, 200]
    assert clock.sleeps == [60.0]


async def test_pushes_of_one_operation_never_overlap_even_when_called_concurrently() -> None:
    async with hubject(push_delay=0.02) as (sim, client, _):
        data = PushEvseData.model_validate(push_evse_data_body("fullLoad", evse_record()))
        await asyncio.gather(
            *(
                client.push_evse_status(push_status(status=status))
                for status in ("Available", "Occupied") * 3
            ),
            *(client.push_evse_data(data) for _ in range(3)),
        )
    assert sim.violations == []
    for operation in ("push_evse_status", "push_evse_data"):
        calls = sorted(sim.exchanges_for(operation), key=lambda exchange: exchange.started)
        assert len(calls) == (6 if operation == "push_evse_status" else 3)
        assert all(later.started >= earlier.finished for earlier, later in itertools.pairwise(calls))


# ---------------------------------------------------------------------------------------------
# Mutual TLS from the configuration


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private CA (as Hubject's), a server certificate for 127.0.0.1 and a client certificate."""
    folder = tmp_path_factory.mktemp("pki")
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Test Hubject Root CA",
        cwd=folder,
    )
    (folder / "server.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    (folder / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name, subject in (("server", "/CN=127.0.0.1"), ("client", "/CN=DE*ABC")):
        _openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            "-subj",
            subject,
            cwd=folder,
        )
        _openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            f"{name}.pem",
            "-days",
            "2",
            "-extfile",
            f"{name}.ext",
            cwd=folder,
        )
    return folder


class _QuietServer(uvicorn.Server):
    @contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@asynccontextmanager
async def serve_mutual_tls(app: Any, pki: Path) -> AsyncIterator[str]:
    sock = loopback_socket()
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_config=None,
        access_log=False,
        ssl_certfile=str(pki / "server.pem"),
        ssl_keyfile=str(pki / "server.key"),
        ssl_ca_certs=str(pki / "ca.pem"),
        ssl_cert_reqs=ssl.CERT_REQUIRED,
    )
    server = _QuietServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield base_url(sock).replace("http://", "https://")
    finally:
        server.should_exit = True
        await task
        sock.close()


async def test_from_config_uses_mutual_tls_with_the_private_ca(pki: Path) -> None:
    sim = make_simulator()
    async with serve_mutual_tls(sim.app, pki) as url:
        config = HubjectConfig(
            url=url,
            operator_id=OPERATOR,
            operator_name=OPERATOR_NAME,
            provider_id=PROVIDER,
            tls={"cert": pki / "client.pem", "key": pki / "client.key", "ca": pki / "ca.pem"},
        )
        async with OicpClient.from_config(config, rate_limits={}) as client:
            assert client.timeouts == config.timeouts
            assert (await client.push_evse_status(push_status())).result
        anonymous = HubjectConfig(
            url=url, operator_id=OPERATOR, operator_name=OPERATOR_NAME, tls={"ca": pki / "ca.pem"}
        )
        async with OicpClient.from_config(anonymous, rate_limits={}) as client:
            with pytest.raises(OicpTransientError):
                await client.push_evse_status(push_status())
        public_trust = HubjectConfig(url=url, operator_id=OPERATOR, operator_name=OPERATOR_NAME)
        async with OicpClient.from_config(public_trust, rate_limits={}) as client:
            with pytest.raises(OicpTransientError, match="connection"):
                await client.push_evse_status(push_status())  # Hubject's CA is not a public one
    assert statuses(sim, "push_evse_status") == [200]
