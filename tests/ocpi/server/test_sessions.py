"""Sessions module (ocpi.md §4.2): the eMSP Receiver (PUT/PATCH/GET) and the CPO Sender list, in
both versions, against a real gateway and store."""

from __future__ import annotations

import asyncio
import base64
import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.models.common import format_datetime
from bridge.ocpi.server.sessions import save_session
from tests.ocpi.server.harness import OUR_EMSP, Harness, Partner, envelope, load

SESSION_1 = "session_example_1_simple_start.json"  # NL/STK/101, PENDING
SESSION_2 = "session_example_2_short_finished.json"  # BE/BEC/101, COMPLETED, 3 charging periods


async def _cpo(harness: Harness, version: str = "2.2.1", name: str = "cpo1") -> Partner:
    roles = [("CPO", "BE", "BEC"), ("CPO", "NL", "STK")] if version == "2.2.1" else [("CPO", "BE", "BEC")]
    return await harness.partner(name, version, roles)


def _url(session: dict[str, Any]) -> str:
    return f"emsp/sessions/{session['country_code']}/{session['party_id']}/{session['id']}"


# --------------------------------------------------------------------------------------------
# Receiver interface, 2.2.1


@pytest.mark.parametrize("name", [SESSION_1, SESSION_2])
async def test_put_then_get_every_2_2_1_example(harness: Harness, examples_221: Path, name: str) -> None:
    cpo = await _cpo(harness)
    session = load(examples_221, name)

    created = await harness.call(cpo, "PUT", _url(session), session)
    assert created.status_code == 201
    assert "data" not in created.json()
    envelope(created)
    assert (created.headers["OCPI-from-country-code"], created.headers["OCPI-from-party-id"]) == OUR_EMSP
    assert (await harness.call(cpo, "PUT", _url(session), session)).status_code == 200

    read = await harness.call(cpo, "GET", _url(session))
    assert read.status_code == 200
    assert envelope(read) == session
    assert (read.headers["OCPI-to-country-code"], read.headers["OCPI-to-party-id"]) == ("BE", "BEC")

    # and through the Sender list, to the eMSP of the session's token (NL/TST)
    emsp = await harness.partner("emsp1", "2.2.1", [("EMSP", "NL", "TST")])
    listed = await harness.call(emsp, "GET", "cpo/sessions", params={"date_from": "2015-01-01T00:00:00Z"})
    assert envelope(listed) == [session]
    assert (listed.headers["OCPI-to-country-code"], listed.headers["OCPI-to-party-id"]) == ("NL", "TST")


async def test_patch_appends_charging_periods_and_put_replaces_them(
    any_harness: Harness, examples_221: Path
) -> None:
    cpo = await _cpo(any_harness)
    session = load(examples_221, SESSION_2)
    url = _url(session)
    await any_harness.call(cpo, "PUT", url, session)

    patch = load(examples_221, "session_patch_example_charging_period.json")
    patched = await any_harness.call(cpo, "PATCH", url, patch)
    assert patched.status_code == 200
    assert "data" not in patched.json()
    envelope(patched)
    after = envelope(await any_harness.call(cpo, "GET", url))
    assert after["charging_periods"] == session["charging_periods"] + patch["charging_periods"]  # ocpi#325
    assert after["kwh"] == patch["kwh"]
    assert after["total_cost"] == patch["total_cost"]
    assert after["last_updated"] == patch["last_updated"]

    # a retried PATCH does not double the period (same start_date_time replaces)
    await any_harness.call(cpo, "PATCH", url, patch)
    assert len(envelope(await any_harness.call(cpo, "GET", url))["charging_periods"]) == 4

    # a PUT replaces the periods wholesale
    await any_harness.call(cpo, "PUT", url, session)
    assert (
        envelope(await any_harness.call(cpo, "GET", url))["charging_periods"] == session["charging_periods"]
    )


async def test_concurrent_patches_lose_no_period(any_harness: Harness, examples_221: Path) -> None:
    cpo = await _cpo(any_harness)
    session = load(examples_221, SESSION_1)
    await any_harness.call(cpo, "PUT", _url(session), session)
    patches = [
        {
            "charging_periods": [
                {
                    "start_date_time": f"2020-03-09T10:{20 + n}:00Z",
                    "dimensions": [{"type": "ENERGY", "volume": n}],
                }
            ],
            "last_updated": f"2020-03-09T10:{20 + n}:00Z",
        }
        for n in range(6)
    ]
    answers = await asyncio.gather(*(any_harness.call(cpo, "PATCH", _url(session), p) for p in patches))
    assert [a.status_code for a in answers] == [200] * 6
    periods = envelope(await any_harness.call(cpo, "GET", _url(session)))["charging_periods"]
    assert sorted(p["start_date_time"] for p in periods) == [f"2020-03-09T10:{20 + n}:00Z" for n in range(6)]


async def test_patch_total_cost_example(harness: Harness, examples_221: Path) -> None:
    cpo = await _cpo(harness)
    session = load(examples_221, SESSION_1)
    await harness.call(cpo, "PUT", _url(session), session)
    patch = load(examples_221, "session_patch_example_total_cost.json")
    assert (await harness.call(cpo, "PATCH", _url(session), patch)).status_code == 200
    assert envelope(await harness.call(cpo, "GET", _url(session))) == {**session, **patch}


async def test_patch_rules(harness: Harness, examples_221: Path) -> None:
    cpo = await _cpo(harness)
    session = load(examples_221, SESSION_1)
    await harness.call(cpo, "PUT", _url(session), session)

    no_date = await harness.call(cpo, "PATCH", _url(session), {"kwh": 3})
    envelope(no_date, 2001)  # ocpi#355
    assert "last_updated" in no_date.json()["status_message"]

    bad_status = await harness.call(
        cpo, "PATCH", _url(session), {"status": "PAUSED", "last_updated": "2021-01-01T00:00:00Z"}
    )
    envelope(bad_status, 2001)
    assert "status" in bad_status.json()["status_message"]

    other_id = await harness.call(
        cpo, "PATCH", _url(session), {"id": "102", "last_updated": "2021-01-01T00:00:00Z"}
    )
    envelope(other_id, 2001)

    unknown = await harness.call(
        cpo, "PATCH", "emsp/sessions/NL/STK/999", {"kwh": 1, "last_updated": "2021-01-01T00:00:00Z"}
    )
    assert unknown.status_code == 404

    assert envelope(await harness.call(cpo, "GET", _url(session))) == session  # nothing changed


async def test_ownership(harness: Harness, examples_221: Path) -> None:
    cpo = await _cpo(harness)
    stranger = await harness.partner("cpo2", "2.2.1", [("CPO", "FR", "XYZ")])
    session = load(examples_221, SESSION_2)

    assert (await harness.call(stranger, "PUT", _url(session), session)).status_code == 404
    await harness.call(cpo, "PUT", _url(session), session)
    assert (await harness.call(stranger, "GET", _url(session))).status_code == 404
    patch = {"kwh": 1, "last_updated": "2021-01-01T00:00:00Z"}
    assert (await harness.call(stranger, "PATCH", _url(session), patch)).status_code == 404

    body_owner = await harness.call(cpo, "PUT", "emsp/sessions/NL/STK/101", session)  # body says BE/BEC
    envelope(body_owner, 2001)
    assert "country_code" in body_owner.json()["status_message"]
    body_id = await harness.call(cpo, "PUT", "emsp/sessions/BE/BEC/102", session)
    envelope(body_id, 2001)
    assert "'id'" in body_id.json()["status_message"]
    assert (await harness.store.list_objects("sessions"))[1] == 1

    missing = await harness.call(
        cpo, "PUT", _url(session), {k: v for k, v in session.items() if k != "cdr_token"}
    )
    envelope(missing, 2001)
    assert "cdr_token" in missing.json()["status_message"]
    assert (await harness.call(cpo, "GET", "emsp/sessions/BE/BEC/nope")).status_code == 404


# --------------------------------------------------------------------------------------------
# 2.1.1


async def _211_world(harness: Harness, examples_211: Path) -> tuple[Partner, Partner]:
    """A 2.1.1 CPO BE/BEC that pushed its Location LOC1, and a 2.1.1 eMSP NL/TNM whose token
    (auth_id DE8ACC12E46L89) the gateway holds."""
    cpo = await _cpo(harness, "2.1.1", "cpo211")
    emsp = await harness.partner("emsp211", "2.1.1", [("EMSP", "NL", "TNM")])
    location = load(examples_211, "mod_locations__example.json")
    assert (await harness.call(cpo, "PUT", "emsp/locations/BE/BEC/LOC1", location)).status_code == 201
    token = load(examples_211, "mod_tokens__put_example_put_a_new_token.json")
    assert (await harness.call(emsp, "PUT", "cpo/tokens/NL/TNM/012345678", token)).status_code == 201
    return cpo, emsp


def _reduced(location: dict[str, Any], evse_uid: str, connector_id: str) -> dict[str, Any]:
    out = copy.deepcopy(location)
    evse = next(e for e in out["evses"] if e["uid"] == evse_uid)
    evse["connectors"] = [c for c in evse["connectors"] if c["id"] == connector_id]
    out["evses"] = [evse]
    return out


@pytest.mark.parametrize(
    "name",
    [
        "mod_sessions__simple_session_example_of_a_just_starting_session.json",
        "mod_sessions__simple_session_example_of_a_short_finished_session.json",
    ],
)
async def test_2_1_1_examples_up_and_down(any_harness: Harness, examples_211: Path, name: str) -> None:
    cpo, emsp = await _211_world(any_harness, examples_211)
    session = load(examples_211, name)

    put = await any_harness.call(cpo, "PUT", "emsp/sessions/BE/BEC/101", session)
    assert put.status_code == 201
    assert not any(h.lower().startswith("ocpi-") for h in put.headers)

    stored = await any_harness.store.get_object("sessions", "BE", "BEC", "101")
    assert stored is not None
    # auth_id -> cdr_token through the stored token (ocpi.md §5)
    assert stored.data["cdr_token"] == {
        "country_code": "NL",
        "party_id": "TNM",
        "uid": "012345678",
        "type": "RFID",
        "contract_id": "DE8ACC12E46L89",
    }
    assert (stored.data["location_id"], stored.data["evse_uid"], stored.data["connector_id"]) == (
        "LOC1",
        "3256",
        "1",
    )
    assert stored.data["start_date_time"] == session["start_datetime"]
    assert stored.data["total_cost"] == {"excl_vat": session["total_cost"]}

    # served down with the Location stored in the gateway, reduced to the EVSE and connector used
    stored_location = envelope(await any_harness.call(cpo, "GET", "emsp/locations/BE/BEC/LOC1"))
    expected = {**session, "location": _reduced(stored_location, "3256", "1")}
    read = await any_harness.call(cpo, "GET", "emsp/sessions/BE/BEC/101")
    assert envelope(read) == expected

    # the sender list gives the same Session to the eMSP of the token
    listed = await any_harness.call(emsp, "GET", "cpo/sessions", params={"date_from": "2015-01-01T00:00:00Z"})
    assert envelope(listed) == [expected]
    assert "OCPI-from-country-code" not in listed.headers


async def test_2_1_1_patch_example(harness: Harness, examples_211: Path) -> None:
    cpo, _ = await _211_world(harness, examples_211)
    session = load(examples_211, "mod_sessions__simple_session_example_of_a_just_starting_session.json")
    await harness.call(cpo, "PUT", "emsp/sessions/BE/BEC/101", session)
    patch = load(examples_211, "mod_sessions__patch_example_update_the_total_cost.json")  # no last_updated
    before = datetime.now(UTC).replace(microsecond=0)
    assert (await harness.call(cpo, "PATCH", "emsp/sessions/BE/BEC/101", patch)).status_code == 200
    read = envelope(await harness.call(cpo, "GET", "emsp/sessions/BE/BEC/101"))
    assert read["total_cost"] == 0.6
    assert datetime.fromisoformat(read["last_updated"].replace("Z", "+00:00")) >= before  # time of receipt

    periods = {
        "charging_periods": [
            {"start_date_time": "2015-06-29T22:45:00Z", "dimensions": [{"type": "ENERGY", "volume": 3}]}
        ]
    }
    await harness.call(cpo, "PATCH", "emsp/sessions/BE/BEC/101", periods)
    await harness.call(
        cpo,
        "PATCH",
        "emsp/sessions/BE/BEC/101",
        {
            "charging_periods": [
                {"start_date_time": "2015-06-29T22:50:00Z", "dimensions": [{"type": "TIME", "volume": 0.1}]}
            ]
        },
    )
    read = envelope(await harness.call(cpo, "GET", "emsp/sessions/BE/BEC/101"))
    assert [p["start_date_time"] for p in read["charging_periods"]] == [
        "2015-06-29T22:45:00Z",
        "2015-06-29T22:50:00Z",
    ]


async def test_2_1_1_without_token_or_location(harness: Harness, examples_211: Path) -> None:
    cpo = await _cpo(harness, "2.1.1", "cpo211")
    session = load(examples_211, "mod_sessions__simple_session_example_of_a_short_finished_session.json")
    assert (await harness.call(cpo, "PUT", "emsp/sessions/BE/BEC/101", session)).status_code == 201

    stored = await harness.store.get_object("sessions", "BE", "BEC", "101")
    assert stored is not None
    # no token with that contract id: uid = auth_id, type OTHER, owned by our eMSP party (lossy)
    assert stored.data["cdr_token"] == {
        "country_code": OUR_EMSP[0],
        "party_id": OUR_EMSP[1],
        "uid": "DE8ACC12E46L89",
        "type": "OTHER",
        "contract_id": "DE8ACC12E46L89",
    }
    # no Location stored: the Location received with the Session is served back as it came
    assert envelope(await harness.call(cpo, "GET", "emsp/sessions/BE/BEC/101")) == session


async def test_2_2_1_session_without_location_is_not_served_to_2_1_1(
    harness: Harness, examples_221: Path
) -> None:
    cpo = await _cpo(harness)
    emsp = await harness.partner("emsp211", "2.1.1", [("EMSP", "NL", "TST")])
    sessions = []
    for number in range(3):
        session = {**load(examples_221, SESSION_2), "id": f"S{number}"}
        sessions.append(session)
        await harness.call(cpo, "PUT", _url(session), session)
    location = load(examples_221, "location_example.json")
    assert (await harness.call(cpo, "PUT", "emsp/locations/BE/BEC/LOC1", location)).status_code == 201
    # S1 names a location the gateway does not know: it cannot be embedded for 2.1.1
    await harness.call(cpo, "PUT", _url(sessions[1]), {**sessions[1], "location_id": "LOC9"})

    seen: list[str] = []
    url: str | None = "cpo/sessions?date_from=2015-01-01T00:00:00Z&limit=1"
    while url:
        page = await harness.call(emsp, "GET", url)
        assert page.headers["X-Total-Count"] == "3"
        seen += [s["id"] for s in envelope(page)]
        link = page.headers.get("Link")
        url = link.split(";")[0].strip("<>") if link else None
    assert seen == ["S0", "S2"]  # S1 left out, nothing served twice, nothing else lost
    served = await harness.call(emsp, "GET", "cpo/sessions", params={"date_from": "2015-01-01T00:00:00Z"})
    assert envelope(served)[0]["location"]["id"] == "LOC1"


# --------------------------------------------------------------------------------------------
# Sender interface (the gateway as CPO)


async def test_sender_list_pagination_filters_and_recipients(
    any_harness: Harness, examples_221: Path
) -> None:
    cpo = await _cpo(any_harness)
    alice = await any_harness.partner("alice", "2.2.1", [("EMSP", "NL", "TST")])
    bob = await any_harness.partner("bob", "2.2.1", [("EMSP", "FR", "BOB")])
    gateway = any_harness.app.state.gateway
    base = datetime(2024, 1, 1, tzinfo=UTC)
    template = load(examples_221, SESSION_2)
    expected_alice: list[dict[str, Any]] = []
    for number in range(9):
        mine = number % 3 != 2  # two of three for alice, one for bob
        token = {**template["cdr_token"], **({} if mine else {"country_code": "FR", "party_id": "BOB"})}
        session = {
            **template,
            "id": f"S{number}",
            "cdr_token": token,
            "last_updated": format_datetime(base + timedelta(hours=number)),
        }
        if number % 2:  # relayed from a CPO partner
            await any_harness.call(cpo, "PUT", _url(session), session)
        else:  # the gateway's own, as CPO
            own = {**session, "country_code": "DE", "party_id": "BRC"}
            await save_session(gateway, v221.Session.model_validate(own))
            session = own
        if mine:
            expected_alice.append(session)

    params = {
        "date_from": format_datetime(base + timedelta(hours=1)),
        "date_to": format_datetime(base + timedelta(hours=8)),
        "limit": "2",
    }
    wanted = [
        s
        for s in expected_alice
        if format_datetime(base + timedelta(hours=1))
        <= s["last_updated"]
        < format_datetime(base + timedelta(hours=8))
    ]
    got: list[dict[str, Any]] = []
    first = await any_harness.call(alice, "GET", "cpo/sessions", params=params)
    assert first.headers["X-Total-Count"] == str(len(wanted))
    assert first.headers["X-Limit"] == "100"
    page = first
    while True:
        got += envelope(page)
        link = page.headers.get("Link")
        if not link:
            break
        next_url = link.split(";")[0].strip("<>")
        assert "date_to=" in next_url and "date_from=" in next_url  # every filter kept (ocpi.md §3.3)
        page = await any_harness.call(alice, "GET", next_url)
    assert got == wanted
    assert [s["id"] for s in got] == ["S1", "S3", "S4", "S6", "S7"]

    bobs = envelope(
        await any_harness.call(bob, "GET", "cpo/sessions", params={"date_from": "2020-01-01T00:00:00Z"})
    )
    assert [s["id"] for s in bobs] == ["S2", "S5", "S8"]  # never another eMSP's sessions

    capped = await any_harness.call(
        alice, "GET", "cpo/sessions", params={"date_from": "2020-01-01T00:00:00Z", "limit": "2000"}
    )
    assert capped.headers["X-Limit"] == "100"
    assert len(envelope(capped)) == 6


async def test_routing_headers_for_a_partner_with_both_roles(harness: Harness, examples_221: Path) -> None:
    both = await harness.partner("both", "2.2.1", [("CPO", "BE", "BEC"), ("EMSP", "NL", "TST")])
    session = load(examples_221, SESSION_2)  # owned by BE/BEC, token of NL/TST
    no_from = {"OCPI-from-country-code": "", "OCPI-from-party-id": ""}
    put = await harness.call(both, "PUT", _url(session), session, headers=no_from)
    assert put.status_code == 201
    # the Receiver is our eMSP interface: FROM our eMSP, TO the caller's CPO role
    assert (put.headers["OCPI-from-country-code"], put.headers["OCPI-from-party-id"]) == OUR_EMSP
    assert (put.headers["OCPI-to-country-code"], put.headers["OCPI-to-party-id"]) == ("BE", "BEC")

    listed = await harness.call(
        both, "GET", "cpo/sessions", params={"date_from": "2015-01-01T00:00:00Z"}, headers=no_from
    )
    # the Sender is our CPO interface: FROM our CPO, TO the caller's eMSP role
    assert (listed.headers["OCPI-from-country-code"], listed.headers["OCPI-from-party-id"]) == ("DE", "BRC")
    assert (listed.headers["OCPI-to-country-code"], listed.headers["OCPI-to-party-id"]) == ("NL", "TST")
    # what it pushed itself is not sent back to it
    assert envelope(listed) == []


async def test_sender_list_requires_date_from(harness: Harness) -> None:
    emsp = await harness.partner("alice", "2.2.1", [("EMSP", "NL", "TST")])
    answer = await harness.call(emsp, "GET", "cpo/sessions")
    envelope(answer, 2001)
    assert "date_from" in answer.json()["status_message"]


async def test_session_update_moves_it_in_delta_pulls(harness: Harness, examples_221: Path) -> None:
    cpo = await _cpo(harness)
    alice = await harness.partner("alice", "2.2.1", [("EMSP", "NL", "TST")])
    session = load(examples_221, SESSION_2)
    await harness.call(cpo, "PUT", _url(session), session)
    later = {"kwh": 42, "last_updated": "2016-01-01T00:00:00Z"}
    await harness.call(cpo, "PATCH", _url(session), later)
    delta = envelope(
        await harness.call(alice, "GET", "cpo/sessions", params={"date_from": "2015-12-31T00:00:00Z"})
    )
    assert [(s["id"], s["kwh"]) for s in delta] == [("101", 42)]


# --------------------------------------------------------------------------------------------
# Authentication


async def test_token_a_after_registration_is_401(harness: Harness, examples_221: Path) -> None:
    cpo = await harness.partner("cpo1", "2.2.1", [("CPO", "BE", "BEC")], token_a="token-a-of-cpo1")
    session = load(examples_221, SESSION_2)
    with_a = {"Authorization": "Token " + base64.b64encode(b"token-a-of-cpo1").decode()}
    assert (await harness.call(cpo, "PUT", _url(session), session, headers=with_a)).status_code == 401
    assert (await harness.store.list_objects("sessions"))[1] == 0


@pytest.mark.parametrize("version", ["2.2.1", "2.1.1"])
async def test_raw_and_base64_tokens_are_accepted(harness: Harness, examples_221: Path, version: str) -> None:
    cpo = await harness.partner("cpo1", version, [("CPO", "BE", "BEC")])
    raw = {"Authorization": f"Token {cpo.token}"}
    encoded = {"Authorization": "Token " + base64.b64encode(cpo.token.encode()).decode()}
    for headers in (raw, encoded):
        answer = await harness.call(cpo, "GET", "emsp/sessions/BE/BEC/none", headers=headers)
        assert answer.status_code == 404  # authenticated: the session just does not exist
        envelope(answer, 2000)
