"""The Hubject simulator's own rules (oicp-2.3.md §1.4, §1.6, §1.7, §2, §8), over HTTP in process.

Request bodies are the official code-snippet examples, adapted only where the example itself
breaks a rule of the spec (its EvseID belongs to another operator than the one pushing it).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bridge.oicp.models import EvseDataRecord, to_json
from bridge.simulators.hubject import HubjectSimulator
from bridge.simulators.hubject_store import evse_belongs_to, operator_id_of_evse
from tests.oicp.hubject_support import (
    EVCO,
    EVSE,
    OPERATOR,
    OTHER_OPERATOR,
    PROVIDER,
    UID,
    FakeClock,
    cdr_body,
    evse_record,
    make_simulator,
    push_evse_data_body,
    push_evse_status_body,
    snippet,
)
from tests.schema_oicp import openapi_spelling, validate_oicp

EVSE_2 = "DE*ABC*ETEST2"
EVSE_3 = "DE*ABC*ETEST3"
DATA = "/evsepush/v23/operators/DE*ABC/data-records"
STATUS = "/evsepush/v21/operators/DE*ABC/status-records"
PULL = "/evsepull/v23/providers/DE-DCB/data-records"
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def sim() -> HubjectSimulator:
    return make_simulator()


@pytest.fixture
async def hubject(sim: HubjectSimulator) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hubject.test/api/oicp") as client:
        yield client


def pull_body(**fields: Any) -> dict[str, Any]:
    return {"ProviderID": PROVIDER, "GeoCoordinatesResponseFormat": "DecimalDegree", **fields}


# ---------------------------------------------------------------------------------------------
# Transport: schema validation, partners, identity, rates, faults


async def test_schema_violations_are_http_400_fault_bodies_naming_the_fields(
    hubject: httpx.AsyncClient,
) -> None:
    record = evse_record()
    record["HotlinePhoneNumber"] = "+49 30 1234"
    del record["Address"]["PostalCode"]
    response = await hubject.post(DATA, json=push_evse_data_body("fullLoad", record))
    assert response.status_code == 400
    fault = response.json()
    assert fault["message"] == "Error parsing/validating JSON."
    fields = {error["fieldReference"] for error in fault["validationErrors"]}
    assert fields == {
        "operatorEvseData.evseDataRecord[0].hotlinePhoneNumber",
        "operatorEvseData.evseDataRecord[0].address.postalCode",
    }


async def test_invalid_json_is_http_400(hubject: httpx.AsyncClient) -> None:
    response = await hubject.post(
        DATA, content=b'{"ActionType": "fullLoad",', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["message"] == "Error parsing/validating JSON."
    assert response.headers["Process-ID"]


async def test_unknown_partner_is_404_partner_not_found(hubject: httpx.AsyncClient) -> None:
    body = push_evse_data_body("fullLoad", evse_record("DE*QQQ*E1"), operator="DE*QQQ")
    response = await hubject.post("/evsepush/v23/operators/DE*QQQ/data-records", json=body)
    assert response.status_code == 404
    assert response.json()["StatusCode"]["Code"] == "300"


async def test_body_id_other_than_the_certificate_owner_is_401_017(hubject: httpx.AsyncClient) -> None:
    body = push_evse_data_body("fullLoad", evse_record("DE*XYZ*E1"), operator=OTHER_OPERATOR)
    response = await hubject.post(DATA, json=body)
    assert response.status_code == 401
    assert response.json()["StatusCode"]["Code"] == "017"


async def test_rate_limit_is_429_with_retry_after_over_a_sliding_minute(shared_dir: Any) -> None:
    clock = FakeClock()
    sim = make_simulator(rates={"pull_evse_status": 2}, clock=clock)
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hubject.test/api/oicp") as client:
        path = "/evsepull/v21/providers/DE-DCB/status-records"
        statuses = []
        for advance in (0, 10, 10, 41):
            clock.now += advance
            statuses.append((await client.post(path, json={"ProviderID": PROVIDER})).status_code)
        assert statuses == [200, 200, 429, 200]
        assert sim.exchanges[2].status == 429
        limited = await client.post(path, json={"ProviderID": PROVIDER})
        assert limited.status_code == 429
        assert limited.headers["Retry-After"] == "9"  # at +61 s; the call at +10 s leaves at +70 s


async def test_injected_403_is_nginx_html(sim: HubjectSimulator, hubject: httpx.AsyncClient) -> None:
    sim.inject_fault("push_evse_status", 403)
    response = await hubject.post(STATUS, json=push_evse_status_body("update", {EVSE: "Available"}))
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "nginx" in response.text
    again = await hubject.post(STATUS, json=push_evse_status_body("fullLoad", {EVSE: "Available"}))
    assert again.status_code == 200


# ---------------------------------------------------------------------------------------------
# Pushes: ActionType semantics, EVSE consistency, sequence


async def test_the_official_push_example_is_refused_with_018_its_evse_is_of_another_operator(
    hubject: httpx.AsyncClient, sim: HubjectSimulator
) -> None:
    body = snippet("cpo", "eRoamingPushEvseData:Request")
    response = await hubject.post(DATA, json=body)
    assert response.status_code == 200
    answer = response.json()
    assert answer["Result"] is False
    assert answer["StatusCode"]["Code"] == "018"
    assert "DE*XYZ*ETEST1" in answer["StatusCode"]["AdditionalInfo"]
    assert sim.evse_records() == {}


async def test_action_types_full_load_insert_update_delete(
    hubject: httpx.AsyncClient, sim: HubjectSimulator
) -> None:
    async def push(action: str, *records: dict[str, Any]) -> dict[str, Any]:
        response = await hubject.post(DATA, json=push_evse_data_body(action, *records))
        assert response.status_code == 200
        answer: dict[str, Any] = response.json()
        validate_oicp(answer, "eRoamingAcknowledgment", "cpo")
        return answer

    assert (await push("fullLoad", evse_record(EVSE), evse_record(EVSE_2)))["Result"] is True
    assert set(sim.evse_records(OPERATOR)) == {EVSE, EVSE_2}

    refused = await push("insert", evse_record(EVSE_3), evse_record(EVSE))
    assert (refused["Result"], refused["StatusCode"]["Code"]) == (False, "022")
    assert EVSE in refused["StatusCode"]["AdditionalInfo"]
    assert set(sim.evse_records(OPERATOR)) == {EVSE, EVSE_2}  # the whole request was aborted

    assert (await push("insert", evse_record(EVSE_3)))["Result"] is True
    missing = await push("update", evse_record("DE*ABC*ETEST9"), evse_record(EVSE))
    assert (missing["Result"], missing["StatusCode"]["Code"]) == (False, "022")
    assert "DE*ABC*ETEST9" in missing["StatusCode"]["AdditionalInfo"]

    changed = evse_record(EVSE)
    changed["Address"]["City"] = "Potsdam"
    assert (await push("update", changed))["Result"] is True
    assert sim.evse_records()[EVSE]["Address"]["City"] == "Potsdam"

    assert (await push("delete", evse_record(EVSE_2)))["Result"] is True
    assert set(sim.evse_records(OPERATOR)) == {EVSE, EVSE_3}

    assert (await push("fullLoad", evse_record(EVSE_2)))["Result"] is True
    assert set(sim.evse_records(OPERATOR)) == {EVSE_2}
    assert (await push("fullLoad"))["Result"] is True  # an empty fullLoad wipes the network
    assert sim.evse_records(OPERATOR) == {}


async def test_repeated_evse_in_one_push_is_018(hubject: httpx.AsyncClient) -> None:
    body = push_evse_status_body("fullLoad", {EVSE: "Available"})
    body["OperatorEvseStatus"]["EvseStatusRecord"].append({"EvseID": EVSE, "EvseStatus": "Occupied"})
    answer = (await hubject.post(STATUS, json=body)).json()
    assert (answer["Result"], answer["StatusCode"]["Code"]) == (False, "018")


async def test_status_pushes_follow_the_same_action_types(
    hubject: httpx.AsyncClient, sim: HubjectSimulator
) -> None:
    await hubject.post(
        STATUS, json=push_evse_status_body("fullLoad", {EVSE: "Available", EVSE_2: "Occupied"})
    )
    update = (await hubject.post(STATUS, json=push_evse_status_body("update", {EVSE_3: "Available"}))).json()
    assert (update["Result"], update["StatusCode"]["Code"]) == (False, "022")
    await hubject.post(STATUS, json=push_evse_status_body("update", {EVSE: "OutOfService"}))
    assert sim.evse_statuses() == {EVSE: "OutOfService", EVSE_2: "Occupied"}


async def test_overlapping_pushes_of_one_operation_are_recorded_as_violations(
    hubject: httpx.AsyncClient, sim: HubjectSimulator
) -> None:
    sim.pause_pushes()
    first = asyncio.create_task(
        hubject.post(STATUS, json=push_evse_status_body("update", {EVSE: "Available"}))
    )
    for _ in range(200):
        if sim.in_flight("push_evse_status"):
            break
        await asyncio.sleep(0.001)
    second = asyncio.create_task(
        hubject.post(STATUS, json=push_evse_status_body("fullLoad", {EVSE: "Occupied"}))
    )
    for _ in range(200):
        if sim.violations:
            break
        await asyncio.sleep(0.001)
    sim.resume_pushes()
    await asyncio.gather(first, second)
    assert [(v.operation, v.partner) for v in sim.violations] == [("push_evse_status", OPERATOR)]


# ---------------------------------------------------------------------------------------------
# Sessions, authorization, CDRs


async def test_authorize_start_issues_a_session_only_when_authorized(
    hubject: httpx.AsyncClient, sim: HubjectSimulator
) -> None:
    sim.authorize(UID, provider_id=PROVIDER)
    body = {
        "OperatorID": OPERATOR,
        "EvseID": EVSE,
        "Identification": {"RFIDMifareFamilyIdentification": {"UID": UID}},
    }
    answer = (await hubject.post("/charging/v21/operators/DE*ABC/authorize/start", json=body)).json()
    validate_oicp(answer, "eRoamingAuthorizationStart", "cpo")
    assert (answer["AuthorizationStatus"], answer["ProviderID"]) == ("Authorized", PROVIDER)
    assert answer["SessionID"] in sim.sessions

    body["Identification"] = {"RFIDMifareFamilyIdentification": {"UID": "AABBCCDD"}}
    refused = (await hubject.post("/charging/v21/operators/DE*ABC/authorize/start", json=body)).json()
    assert (refused["AuthorizationStatus"], refused["StatusCode"]["Code"]) == ("NotAuthorized", "102")
    assert "SessionID" not in refused
    assert len(sim.sessions) == 1


async def test_one_cdr_per_session_and_unknown_sessions_are_400(
    hubject: httpx.AsyncClient, sim: HubjectSimulator
) -> None:
    path = "/cdrmgmt/v22/operators/DE*ABC/charge-detail-record"
    session_id = sim.open_session(evse_id=EVSE, provider_id=PROVIDER)
    first = await hubject.post(path, json=cdr_body(session_id))
    assert first.status_code == 200
    assert (first.json()["Result"], first.json()["SessionID"]) == (True, session_id)
    second = (await hubject.post(path, json=cdr_body(session_id))).json()
    assert (second["Result"], second["StatusCode"]["Code"]) == (False, "022")
    unknown = await hubject.post(path, json=cdr_body("b2688855-7f00-0002-6d8e-48d883f6abb6"))
    assert unknown.status_code == 200  # "400" is an OICP StatusCode here, not an HTTP status
    assert (unknown.json()["Result"], unknown.json()["StatusCode"]["Code"]) == (False, "400")
    foreign = (await hubject.post(path, json=cdr_body(session_id, evse_id="DE*XYZ*E1"))).json()
    assert foreign["StatusCode"]["Code"] == "018"
    assert list(sim.cdrs) == [session_id]


async def test_remote_start_pre_checks_603_604_then_a_session(
    hubject: httpx.AsyncClient, sim: HubjectSimulator
) -> None:
    start = "/charging/v21/providers/DE-DCB/authorize-remote/start"
    body = {
        "ProviderID": PROVIDER,
        "EvseID": EVSE,
        "Identification": {"RemoteIdentification": {"EvcoID": EVCO}},
    }
    no_data_yet = (await hubject.post(start, json=body)).json()
    assert no_data_yet["Result"] is True  # the CPO pushed no EVSE data at all: forwarded anyway
    sim.add_evse_record(evse_record(EVSE_2))
    assert (await hubject.post(start, json=body)).json()["StatusCode"]["Code"] == "603"
    incompatible = evse_record(EVSE)
    incompatible["IsHubjectCompatible"] = False
    sim.add_evse_record(incompatible)
    assert (await hubject.post(start, json=body)).json()["StatusCode"]["Code"] == "604"

    session_id = no_data_yet["SessionID"]
    stop = {"ProviderID": PROVIDER, "EvseID": EVSE, "SessionID": session_id}
    stopped = (await hubject.post("/charging/v21/providers/DE-DCB/authorize-remote/stop", json=stop)).json()
    assert stopped["Result"] is True
    stop["SessionID"] = "b2688855-7f00-0002-6d8e-48d883f6abb6"
    unknown = (await hubject.post("/charging/v21/providers/DE-DCB/authorize-remote/stop", json=stop)).json()
    assert (unknown["Result"], unknown["StatusCode"]["Code"]) == (False, "400")


async def test_pushed_authentication_data_authorizes_offline_and_019_guards_evco_ids(
    hubject: httpx.AsyncClient, sim: HubjectSimulator
) -> None:
    path = "/authdata/v21/providers/DE-DCB/push-request"
    body = snippet("emp", "eRoamingPushAuthenticationData:Request")
    record = body["ProviderAuthenticationData"]["AuthenticationDataRecord"][0]
    record["Identification"] = {
        "QRCodeIdentification": {
            "EvcoID": EVCO,
            "HashedPIN": {"Value": "0123456789abcdef", "Function": "Bcrypt"},
        }
    }
    assert (await hubject.post(path, json=body)).json()["Result"] is True
    foreign = {"QRCodeIdentification": {"EvcoID": "DE-XXX-C12345678-X"}}
    record["Identification"] = foreign
    refused = (await hubject.post(path, json={**body, "ActionType": "insert"})).json()
    assert (refused["Result"], refused["StatusCode"]["Code"]) == (False, "019")

    start = {
        "OperatorID": OPERATOR,
        "Identification": {"QRCodeIdentification": {"EvcoID": EVCO, "PIN": "1234"}},
    }
    answer = (await hubject.post("/charging/v21/operators/DE*ABC/authorize/start", json=start)).json()
    assert (answer["AuthorizationStatus"], answer["ProviderID"]) == ("Authorized", PROVIDER)


async def test_notifications_need_a_known_session(hubject: httpx.AsyncClient, sim: HubjectSimulator) -> None:
    path = "/notificationmgmt/v11/charging-notifications"
    body = snippet("cpo", "eRoamingChargingNotificationProgress:Request")
    body["EvseID"] = EVSE
    unknown = (await hubject.post(path, json=body)).json()
    assert (unknown["Result"], unknown["StatusCode"]["Code"]) == (False, "400")
    body["SessionID"] = sim.open_session(evse_id=EVSE, provider_id=PROVIDER)
    assert (await hubject.post(path, json=body)).json()["Result"] is True
    assert sim.notifications == [body]
    bad = dict(body, Type="Finished")
    assert (await hubject.post(path, json=bad)).status_code == 400


# ---------------------------------------------------------------------------------------------
# Pulls


async def test_pull_evse_data_pages_with_the_spring_envelope(
    hubject: httpx.AsyncClient, sim: HubjectSimulator
) -> None:
    sim.generate_network(45, operators=[OPERATOR, OTHER_OPERATOR], seed=7)
    default = (await hubject.post(PULL, json=pull_body())).json()
    assert (default["size"], default["numberOfElements"], default["totalElements"]) == (20, 20, 45)
    pages = []
    for page in range(3):
        response = await hubject.post(PULL, params={"page": page, "size": 20}, json=pull_body())
        pages.append(response.json())
    assert [page["numberOfElements"] for page in pages] == [20, 20, 5]
    assert [(page["first"], page["last"]) for page in pages] == [(True, False), (False, False), (False, True)]
    assert {page["totalPages"] for page in pages} == {3}
    ids = [record["EvseID"] for page in pages for record in page["content"]]
    assert len(set(ids)) == 45
    for page in pages:
        validate_oicp(openapi_spelling(page, "eRoamingEVSEData", "emp"), "eRoamingEVSEData", "emp")
    huge = (await hubject.post(PULL, params={"size": 5000}, json=pull_body())).json()
    assert huge["size"] == 2000  # clamped to Hubject's maximum


async def test_pull_evse_data_filters_and_coordinate_formats(
    hubject: httpx.AsyncClient, sim: HubjectSimulator
) -> None:
    sim.generate_network(30, operators=[OPERATOR, OTHER_OPERATOR], seed=3)
    only = (await hubject.post(PULL, params={"size": 100}, json=pull_body(OperatorIds=[OPERATOR]))).json()
    assert only["totalElements"] == 15
    assert {record["OperatorID"] for record in only["content"]} == {OPERATOR}
    google = (await hubject.post(PULL, json=pull_body(GeoCoordinatesResponseFormat="Google"))).json()
    assert all("Google" in record["GeoCoordinates"] for record in google["content"])
    compatible = (
        await hubject.post(PULL, params={"size": 100}, json=pull_body(IsHubjectCompatible=False))
    ).json()
    assert all(record["IsHubjectCompatible"] is False for record in compatible["content"])
    record = next(iter(sim.evse_records().values()))
    lat, lon = (record["GeoCoordinates"]["DecimalDegree"][key] for key in ("Latitude", "Longitude"))
    center = {"GeoCoordinates": {"DecimalDegree": {"Latitude": lat, "Longitude": lon}}, "Radius": 0.01}
    near = (await hubject.post(PULL, json=pull_body(SearchCenter=center))).json()
    assert record["EvseID"] in {item["EvseID"] for item in near["content"]}


async def test_pull_evse_data_deltas_since_last_call(
    hubject: httpx.AsyncClient, sim: HubjectSimulator
) -> None:
    sim.add_evse_record(evse_record(EVSE), at=T0)
    sim.add_evse_record(evse_record(EVSE_2), at=T0)
    sim.add_evse_record(evse_record("DE*ABC*ETEST4"), at=T0)
    last_call = T0 + timedelta(hours=1)
    later = T0 + timedelta(hours=2)
    nothing = (await hubject.post(PULL, json=pull_body(LastCall=last_call.isoformat()))).json()
    assert nothing["totalElements"] == 0
    changed = evse_record(EVSE)
    changed["Address"]["Street"] = "Torgauer Straße"
    sim.update_evse_record(changed, at=later)
    sim.add_evse_record(evse_record(EVSE_3), at=later)
    sim.delete_evse_record(EVSE_2, at=later)
    delta = (await hubject.post(PULL, json=pull_body(LastCall=last_call.isoformat()))).json()
    assert {record["EvseID"]: record["deltaType"] for record in delta["content"]} == {
        EVSE: "update",
        EVSE_3: "insert",
        EVSE_2: "delete",
    }
    full = (await hubject.post(PULL, json=pull_body())).json()
    assert {record["EvseID"] for record in full["content"]} == {EVSE, EVSE_3, "DE*ABC*ETEST4"}
    assert all("deltaType" not in record and record["lastUpdate"] for record in full["content"])
    combined = await hubject.post(
        PULL, json=pull_body(LastCall=last_call.isoformat(), OperatorIds=[OPERATOR])
    )
    assert combined.status_code == 400


async def test_pull_evse_status_three_endpoints_two_envelopes(
    hubject: httpx.AsyncClient, sim: HubjectSimulator
) -> None:
    sim.set_evse_status(EVSE, "Available")
    sim.set_evse_status("DE*XYZ*E1", "Occupied")
    base = "/evsepull/v21/providers/DE-DCB/status-records"
    every = (await hubject.post(base, json={"ProviderID": PROVIDER})).json()
    validate_oicp(every, "eRoamingEVSEStatus", "emp")
    assert {group["OperatorID"] for group in every["EvseStatuses"]["OperatorEvseStatus"]} == {
        OPERATOR,
        OTHER_OPERATOR,
    }
    occupied = (await hubject.post(base, json={"ProviderID": PROVIDER, "EvseStatus": "Occupied"})).json()
    assert [group["OperatorID"] for group in occupied["EvseStatuses"]["OperatorEvseStatus"]] == [
        OTHER_OPERATOR
    ]
    by_id = (
        await hubject.post(base + "-by-id", json={"ProviderID": PROVIDER, "EvseID": [EVSE, "DE*ABC*E404"]})
    ).json()
    validate_oicp(by_id, "eRoamingEVSEStatusByID", "emp")
    assert [r["EvseStatus"] for r in by_id["EVSEStatusRecords"]["EvseStatusRecord"]] == [
        "Available",
        "EvseNotFound",
    ]
    too_many = {"ProviderID": PROVIDER, "EvseID": [f"DE*ABC*E{i}" for i in range(101)]}
    assert (await hubject.post(base + "-by-id", json=too_many)).status_code == 400
    by_operator = (
        await hubject.post(
            base + "-by-operator-id", json={"ProviderID": PROVIDER, "OperatorID": [OTHER_OPERATOR]}
        )
    ).json()
    assert [group["OperatorID"] for group in by_operator["EvseStatuses"]["OperatorEvseStatus"]] == [
        OTHER_OPERATOR
    ]


async def test_get_charge_detail_records_pages_and_forwarded_filter(
    hubject: httpx.AsyncClient, sim: HubjectSimulator
) -> None:
    for minute in range(5):
        session_id = sim.open_session(evse_id=EVSE, provider_id=PROVIDER)
        sim.add_cdr(
            cdr_body(session_id),
            provider_id=PROVIDER,
            received=T0 + timedelta(minutes=minute),
            forwarded=minute < 2,
        )
    path = "/cdrmgmt/v22/providers/DE-DCB/get-charge-detail-records-request"
    window = {"ProviderID": PROVIDER, "From": "2024-05-01T00:00:00Z", "To": "2024-05-02T00:00:00Z"}
    first = (await hubject.post(path, params={"page": 0, "size": 3}, json=window)).json()
    validate_oicp(first, "eRoamingChargeDetailRecords", "emp")
    assert (first["totalElements"], first["numberOfElements"], first["last"]) == (5, 3, False)
    second = (await hubject.post(path, params={"page": 1, "size": 3}, json=window)).json()
    assert (second["numberOfElements"], second["last"]) == (2, True)
    pending = (await hubject.post(path, json={**window, "CDRForwarded": False})).json()
    assert pending["totalElements"] == 3
    by_operator = (await hubject.post(path, json={**window, "OperatorID": [OTHER_OPERATOR]})).json()
    assert by_operator["totalElements"] == 0


async def test_pricing_pushed_by_the_cpo_is_pulled_by_the_emp(hubject: httpx.AsyncClient) -> None:
    products = snippet("cpo", "eRoamingPushPricingProductData:Request")
    pushed = await hubject.post("/dynamicpricing/v10/operators/DE*ABC/pricing-products", json=products)
    assert pushed.json()["Result"] is True
    pricing = {
        "ActionType": "fullLoad",
        "EVSEPricing": [{"EvseID": EVSE, "ProviderID": PROVIDER, "EvseIDProductList": ["AC 1"]}],
    }
    assert (await hubject.post("/dynamicpricing/v10/operators/DE*ABC/evse-pricing", json=pricing)).json()[
        "Result"
    ]
    foreign = {
        "ActionType": "insert",
        "EVSEPricing": [{"EvseID": "DE*XYZ*E1", "ProviderID": "*", "EvseIDProductList": ["AC 1"]}],
    }
    refused = (await hubject.post("/dynamicpricing/v10/operators/DE*ABC/evse-pricing", json=foreign)).json()
    assert refused["StatusCode"]["Code"] == "018"

    pulled = (
        await hubject.post(
            "/dynamicpricing/v10/providers/DE-DCB/pricing-products", json={"OperatorIDs": [OPERATOR]}
        )
    ).json()
    validate_oicp(pulled, "eRoamingPricingProductData", "emp")
    assert [block["PricingProductDataRecords"][0]["ProductID"] for block in pulled["PricingProductData"]] == [
        "AC 1"
    ]
    evse_pricing = (
        await hubject.post(
            "/dynamicpricing/v10/providers/DE-DCB/evse-pricing",
            json={"ProviderID": PROVIDER, "OperatorIDs": [OPERATOR]},
        )
    ).json()
    validate_oicp(evse_pricing, "eRoamingEVSEPricing", "emp")
    assert evse_pricing["EVSEPricing"][0]["EVSEPricing"][0]["EvseID"] == EVSE
    future = {"OperatorIDs": [OPERATOR], "LastCall": "2999-01-01T00:00:00Z"}
    assert (await hubject.post("/dynamicpricing/v10/providers/DE-DCB/pricing-products", json=future)).json()[
        "PricingProductData"
    ] == []


# ---------------------------------------------------------------------------------------------
# The synthetic network


def test_generated_networks_are_valid_deterministic_and_spread_over_operators() -> None:
    first, second = make_simulator(), make_simulator()
    ids = first.generate_network(200, operators=[OPERATOR, OTHER_OPERATOR, "+49*810"], seed=11)
    assert ids == second.generate_network(200, operators=[OPERATOR, OTHER_OPERATOR, "+49*810"], seed=11)
    assert first.evse_records() == second.evse_records()
    assert len(set(ids)) == 200
    assert {operator_id_of_evse(evse) for evse in ids} == {OPERATOR, OTHER_OPERATOR, "+49*810"}
    assert all(evse_belongs_to(evse, operator_id_of_evse(evse)) for evse in ids)
    assert len(first.evse_statuses()) == 200
    for record in first.evse_records().values():
        to_json(EvseDataRecord.model_validate(record), strict=True)  # egress-valid for our models
        validate_oicp(openapi_spelling(record, "EvseDataRecord", "cpo"), "EvseDataRecord", "cpo")
    more = first.generate_network(10, operators=[OPERATOR], seed=12)
    assert not set(more) & set(ids)
