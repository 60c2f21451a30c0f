"""Tokens module (ocpi.md §4.5): the CPO Receiver (PUT/PATCH/GET with ``?type=``), the eMSP Sender
list and real-time authorization, in both versions, against a real gateway and store."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.server.handlers import AUTHORIZATION_HANDLER, AuthorizationRequest
from bridge.ocpi.server.tokens import AUTHORIZATION_KIND, save_token
from tests.ocpi.server.harness import OUR_CPO, OUR_EMSP, Harness, Partner, envelope, load

EMSP_221 = [("EMSP", "DE", "TNM"), ("EMSP", "NL", "TNM")]


def _type_query(token: dict[str, Any]) -> dict[str, str]:
    return {"type": token["type"]}


async def _emsp(harness: Harness, version: str = "2.2.1", name: str = "emsp1") -> Partner:
    roles = EMSP_221 if version == "2.2.1" else [("EMSP", "NL", "TNM")]
    return await harness.partner(name, version, roles)


# --------------------------------------------------------------------------------------------
# Receiver interface (the gateway as CPO), 2.2.1


@pytest.mark.parametrize(
    "name", ["token_example_1_app_user.json", "token_example_2_full_rfid.json", "token_put_example.json"]
)
async def test_put_then_get_every_2_2_1_example(harness: Harness, examples_221: Path, name: str) -> None:
    emsp = await _emsp(harness)
    token = load(examples_221, name)
    url = f"cpo/tokens/{token['country_code']}/{token['party_id']}/{token['uid']}"

    created = await harness.call(emsp, "PUT", url, token, params=_type_query(token))
    assert created.status_code == 201
    assert "data" not in created.json()
    envelope(created)
    again = await harness.call(emsp, "PUT", url, token, params=_type_query(token))
    assert again.status_code == 200

    read = await harness.call(emsp, "GET", url, params=_type_query(token))
    assert read.status_code == 200
    assert envelope(read) == token
    # ocpi.md §3.5: a 2.2.1 response is routed back: FROM = our CPO party, TO = the caller.
    assert (read.headers["OCPI-from-country-code"], read.headers["OCPI-from-party-id"]) == OUR_CPO
    assert (read.headers["OCPI-to-country-code"], read.headers["OCPI-to-party-id"]) == ("DE", "TNM")

    # and through the Sender list, to a CPO the gateway relays tokens to
    cpo = await harness.partner("cpo1", "2.2.1", [("CPO", "BE", "BEC")])
    assert envelope(await harness.call(cpo, "GET", "emsp/tokens")) == [token]


async def test_type_defaults_to_rfid_and_tokens_of_two_types_coexist(
    any_harness: Harness, examples_221: Path
) -> None:
    emsp = await _emsp(any_harness)
    rfid = load(examples_221, "token_example_2_full_rfid.json")
    app = {**load(examples_221, "token_example_1_app_user.json"), "uid": rfid["uid"]}
    url = f"cpo/tokens/DE/TNM/{rfid['uid']}"

    assert (await any_harness.call(emsp, "PUT", url, rfid)).status_code == 201  # no ?type: the body's RFID
    assert (await any_harness.call(emsp, "PUT", url, app, params={"type": "APP_USER"})).status_code == 201

    assert envelope(await any_harness.call(emsp, "GET", url)) == rfid  # ?type defaults to RFID
    assert envelope(await any_harness.call(emsp, "GET", url, params={"type": "APP_USER"})) == app
    assert envelope(await any_harness.call(emsp, "GET", url, params={"type": "app_user"})) == app
    missing = await any_harness.call(emsp, "GET", url, params={"type": "OTHER"})
    assert missing.status_code == 404

    stored, total = await any_harness.store.list_objects("tokens")
    assert total == 2
    assert {obj.data["type"] for obj in stored} == {"RFID", "APP_USER"}


async def test_put_identity_mismatches_are_2001(harness: Harness, examples_221: Path) -> None:
    emsp = await _emsp(harness)
    token = load(examples_221, "token_put_example.json")  # NL/TNM/012345678 RFID

    wrong_type = await harness.call(
        emsp, "PUT", "cpo/tokens/NL/TNM/012345678", token, params={"type": "APP_USER"}
    )
    assert wrong_type.status_code == 200
    envelope(wrong_type, 2001)
    assert "'type'" in wrong_type.json()["status_message"]

    wrong_uid = await harness.call(emsp, "PUT", "cpo/tokens/NL/TNM/999", token)
    envelope(wrong_uid, 2001)
    assert "uid" in wrong_uid.json()["status_message"]

    wrong_party = await harness.call(emsp, "PUT", "cpo/tokens/DE/TNM/012345678", token)
    envelope(wrong_party, 2001)
    assert "country_code" in wrong_party.json()["status_message"]

    bad_param = await harness.call(emsp, "GET", "cpo/tokens/NL/TNM/012345678", params={"type": "BADGE"})
    envelope(bad_param, 2001)

    bad_enum = await harness.call(
        emsp, "PUT", "cpo/tokens/NL/TNM/012345678", {**token, "whitelist": "SOMETIMES"}
    )
    envelope(bad_enum, 2001)
    assert "whitelist" in bad_enum.json()["status_message"]
    assert (await harness.store.list_objects("tokens"))[1] == 0


async def test_url_party_not_the_callers_is_404(harness: Harness, examples_221: Path) -> None:
    emsp = await _emsp(harness)
    other = await harness.partner("emsp2", "2.2.1", [("EMSP", "FR", "XYZ")])
    token = load(examples_221, "token_put_example.json")
    assert (await harness.call(emsp, "PUT", "cpo/tokens/NL/TNM/012345678", token)).status_code == 201

    assert (await harness.call(other, "GET", "cpo/tokens/NL/TNM/012345678")).status_code == 404
    assert (await harness.call(other, "PUT", "cpo/tokens/NL/TNM/012345678", token)).status_code == 404
    patch = {"valid": False, "last_updated": "2019-06-19T02:11:11Z"}
    assert (await harness.call(other, "PATCH", "cpo/tokens/NL/TNM/012345678", patch)).status_code == 404
    assert envelope(await harness.call(emsp, "GET", "cpo/tokens/NL/TNM/012345678"))["valid"] is True


async def test_patch_example_and_last_updated_rule(harness: Harness, examples_221: Path) -> None:
    emsp = await _emsp(harness)
    token = load(examples_221, "token_put_example.json")
    url = "cpo/tokens/NL/TNM/012345678"
    await harness.call(emsp, "PUT", url, token)

    no_date = await harness.call(emsp, "PATCH", url, {"valid": False})
    envelope(no_date, 2001)
    assert "last_updated" in no_date.json()["status_message"]

    patch = load(examples_221, "token_patch_example.json")
    patched = await harness.call(emsp, "PATCH", url, patch)
    assert patched.status_code == 200
    envelope(patched)
    assert envelope(await harness.call(emsp, "GET", url)) == {**token, **patch}

    retype = await harness.call(emsp, "PATCH", url, {"type": "OTHER", "last_updated": "2020-01-01T00:00:00Z"})
    envelope(retype, 2001)
    assert "type" in retype.json()["status_message"]

    unknown = await harness.call(emsp, "PATCH", "cpo/tokens/NL/TNM/nobody", patch)
    assert unknown.status_code == 404


# --------------------------------------------------------------------------------------------
# 2.1.1


async def test_2_1_1_tokens_up_and_down(harness: Harness, examples_211: Path) -> None:
    emsp = await _emsp(harness, "2.1.1")
    token = load(examples_211, "mod_tokens__put_example_put_a_new_token.json")
    url = "cpo/tokens/NL/TNM/012345678"

    put = await harness.call(emsp, "PUT", url, token)
    assert put.status_code == 201
    assert not any(h.lower().startswith("ocpi-") for h in put.headers)  # no routing headers in 2.1.1

    stored = await harness.store.get_object("tokens", "NL", "TNM", "RFID/012345678")
    assert stored is not None
    assert stored.data["contract_id"] == token["auth_id"]  # auth_id -> contract_id
    assert (stored.data["country_code"], stored.data["party_id"]) == ("NL", "TNM")  # from the connection

    assert envelope(await harness.call(emsp, "GET", url)) == token

    patch = load(examples_211, "mod_tokens__patch_example_invalidate_a_token.json")  # no last_updated
    assert (await harness.call(emsp, "PATCH", url, patch)).status_code == 200
    after = envelope(await harness.call(emsp, "GET", url))
    assert after["valid"] is False
    assert after["last_updated"] > token["last_updated"]  # stamped with the time of receipt

    example = load(examples_211, "mod_tokens__example.json")
    assert (await harness.call(emsp, "PUT", url, example)).status_code == 200
    assert envelope(await harness.call(emsp, "GET", url)) == example

    # and through the Sender list, to a 2.1.1 CPO
    cpo = await harness.partner("cpo211", "2.1.1", [("CPO", "BE", "BEC")])
    assert envelope(await harness.call(cpo, "GET", "emsp/tokens")) == [example]


async def test_2_1_1_without_type_finds_other_tokens(harness: Harness, examples_211: Path) -> None:
    emsp = await _emsp(harness, "2.1.1")
    token = {**load(examples_211, "mod_tokens__example.json"), "type": "OTHER"}
    assert (await harness.call(emsp, "PUT", "cpo/tokens/NL/TNM/012345678", token)).status_code == 201
    assert envelope(await harness.call(emsp, "GET", "cpo/tokens/NL/TNM/012345678")) == token


# --------------------------------------------------------------------------------------------
# Sender interface (the gateway as eMSP)


async def test_sender_list_serves_tokens_back(any_harness: Harness, examples_221: Path) -> None:
    emsp = await any_harness.partner("emsp1", "2.2.1", [("EMSP", "NL", "TNM")])
    cpo = await any_harness.partner("cpo1", "2.2.1", [("CPO", "BE", "BEC")])
    listed = load(examples_221, "transport_and_format_get_token_list_example.json")["data"]
    for token in listed:
        assert (
            await any_harness.call(emsp, "PUT", f"cpo/tokens/NL/TNM/{token['uid']}", token)
        ).status_code == 201
    own = v221.Token.model_validate(
        {**load(examples_221, "token_example_2_full_rfid.json"), "country_code": "DE", "party_id": "BRE"}
    )
    await save_token(any_harness.app.state.gateway, own)

    page = await any_harness.call(cpo, "GET", "emsp/tokens", params={"limit": "2"})
    assert page.headers["X-Total-Count"] == "4"
    assert page.headers["X-Limit"] == "100"
    first = envelope(page)
    assert first == listed[:2]  # creation order
    assert 'rel="next"' in page.headers["Link"]
    link = page.headers["Link"].split(";")[0].strip("<>")
    rest = envelope(await any_harness.call(cpo, "GET", link))
    assert rest == [listed[2], v221.Token.model_validate(own).model_dump(mode="json", exclude_none=True)]

    # date_from inclusive / date_to exclusive on last_updated
    window = await any_harness.call(
        cpo,
        "GET",
        "emsp/tokens",
        params={"date_from": "2015-06-21T22:39:05Z", "date_to": "2015-06-28T11:21:09Z"},
    )
    assert envelope(window) == [listed[0]]

    # the caller's own tokens are not served back to it
    assert [t["uid"] for t in envelope(await any_harness.call(emsp, "GET", "emsp/tokens"))] == [own.uid]


async def test_sender_list_for_a_2_1_1_cpo_converts_down(harness: Harness, examples_221: Path) -> None:
    cpo = await harness.partner("cpo211", "2.1.1", [("CPO", "BE", "BEC")])
    app = v221.Token.model_validate(
        {**load(examples_221, "token_example_1_app_user.json"), "country_code": "DE", "party_id": "BRE"}
    )
    await save_token(harness.app.state.gateway, app)
    listed = await harness.call(cpo, "GET", "emsp/tokens")
    assert envelope(listed) == [
        {
            "uid": app.uid,
            "type": "OTHER",
            "auth_id": app.contract_id,
            "issuer": app.issuer,
            "valid": True,
            "whitelist": "ALLOWED",
            "last_updated": "2018-12-10T17:16:15Z",
        }
    ]
    assert "OCPI-from-country-code" not in listed.headers


# --------------------------------------------------------------------------------------------
# Real-time authorization


async def _own_token(harness: Harness, examples_221: Path, **changes: Any) -> v221.Token:
    token = v221.Token.model_validate(
        {
            **load(examples_221, "token_example_2_full_rfid.json"),
            "country_code": OUR_EMSP[0],
            "party_id": OUR_EMSP[1],
            **changes,
        }
    )
    await save_token(harness.app.state.gateway, token)
    return token


async def test_authorize_known_token_is_allowed_with_token_and_reference(
    harness: Harness, examples_221: Path
) -> None:
    cpo = await harness.partner("cpo1", "2.2.1", [("CPO", "BE", "BEC")])
    token = await _own_token(harness, examples_221)
    location = {"location_id": "LOC1", "evse_uids": ["3256"]}

    answer = await harness.call(cpo, "POST", f"emsp/tokens/{token.uid}/authorize", location)
    assert answer.status_code == 200
    info = envelope(answer)
    assert info["allowed"] == "ALLOWED"
    assert info["token"] == token.model_dump(mode="json", exclude_none=True)
    assert info["location"] == location
    reference = info["authorization_reference"]
    assert 0 < len(reference) <= 36
    assert (answer.headers["OCPI-from-country-code"], answer.headers["OCPI-from-party-id"]) == OUR_EMSP

    recorded = await harness.store.get_correlation(AUTHORIZATION_KIND, reference)
    assert recorded is not None and recorded.data is not None
    assert recorded.data["token"]["uid"] == token.uid
    assert recorded.data["partner"] == "cpo1"

    again = envelope(await harness.call(cpo, "POST", f"emsp/tokens/{token.uid}/authorize"))  # no body
    assert again["allowed"] == "ALLOWED" and "location" not in again
    assert again["authorization_reference"] != reference


@pytest.mark.parametrize("whitelist", ["ALWAYS", "ALLOWED", "ALLOWED_OFFLINE", "NEVER"])
async def test_authorize_invalid_token_is_blocked_whatever_the_whitelist(
    harness: Harness, examples_221: Path, whitelist: str
) -> None:
    cpo = await harness.partner("cpo1", "2.2.1", [("CPO", "BE", "BEC")])
    token = await _own_token(harness, examples_221, valid=False, whitelist=whitelist)
    answer = await harness.call(cpo, "POST", f"emsp/tokens/{token.uid}/authorize")
    assert answer.status_code == 200  # ocpi#528: BLOCKED is HTTP 200 with AuthorizationInfo
    info = envelope(answer)
    assert info["allowed"] == "BLOCKED"
    assert info["token"]["valid"] is False


async def test_authorize_unknown_token_is_404_2004_without_data(harness: Harness, examples_221: Path) -> None:
    cpo = await harness.partner("cpo1", "2.2.1", [("CPO", "BE", "BEC")])
    token = await _own_token(harness, examples_221)
    unknown = await harness.call(cpo, "POST", "emsp/tokens/NOBODY/authorize")
    assert unknown.status_code == 404
    assert "data" not in unknown.json()
    envelope(unknown, 2004)
    # the type is part of the identity: the RFID uid asked as APP_USER is unknown
    other_type = await harness.call(
        cpo, "POST", f"emsp/tokens/{token.uid}/authorize", params={"type": "APP_USER"}
    )
    assert other_type.status_code == 404


async def test_authorize_app_user_token_by_type(harness: Harness, examples_221: Path) -> None:
    cpo = await harness.partner("cpo1", "2.2.1", [("CPO", "BE", "BEC")])
    app = v221.Token.model_validate(
        {**load(examples_221, "token_example_1_app_user.json"), "country_code": "DE", "party_id": "BRE"}
    )
    await save_token(harness.app.state.gateway, app)
    assert (await harness.call(cpo, "POST", f"emsp/tokens/{app.uid}/authorize")).status_code == 404  # RFID
    info = envelope(
        await harness.call(cpo, "POST", f"emsp/tokens/{app.uid}/authorize", params={"type": "APP_USER"})
    )
    assert info["token"]["type"] == "APP_USER"


async def test_authorize_relayed_partner_token(harness: Harness, examples_221: Path) -> None:
    emsp = await harness.partner("emsp1", "2.2.1", [("EMSP", "NL", "TNM")])
    cpo = await harness.partner("cpo1", "2.2.1", [("CPO", "BE", "BEC")])
    token = load(examples_221, "token_put_example.json")
    await harness.call(emsp, "PUT", f"cpo/tokens/NL/TNM/{token['uid']}", token)
    info = envelope(await harness.call(cpo, "POST", f"emsp/tokens/{token['uid']}/authorize"))
    assert info["allowed"] == "ALLOWED"
    assert info["token"] == token


@pytest.mark.parametrize(
    "body",
    [
        {"evse_uids": ["3256"]},
        {"location_id": "LOC1", "evse_uids": "3256"},
        {"location_id": "L" * 37},
        [1, 2],
    ],
)
async def test_authorize_bad_location_references_are_2001(
    harness: Harness, examples_221: Path, body: Any
) -> None:
    cpo = await harness.partner("cpo1", "2.2.1", [("CPO", "BE", "BEC")])
    token = await _own_token(harness, examples_221)
    answer = await harness.call(cpo, "POST", f"emsp/tokens/{token.uid}/authorize", body)
    assert answer.status_code == 200
    envelope(answer, 2001)


async def test_authorize_invalid_json_is_400(harness: Harness, examples_221: Path) -> None:
    cpo = await harness.partner("cpo1", "2.2.1", [("CPO", "BE", "BEC")])
    token = await _own_token(harness, examples_221)
    answer = await harness.call(cpo, "POST", f"emsp/tokens/{token.uid}/authorize", b"{not json")
    assert answer.status_code == 400


async def test_authorize_2_1_1(harness: Harness, examples_221: Path) -> None:
    cpo = await harness.partner("cpo211", "2.1.1", [("CPO", "BE", "BEC")])
    token = await _own_token(harness, examples_221)
    body = {"location_id": "LOC1", "evse_uids": ["3256"], "connector_ids": ["1", "2"]}
    answer = await harness.call(
        cpo, "POST", f"emsp/tokens/{token.uid}/authorize", body, params={"type": "RFID"}
    )
    assert answer.status_code == 200
    # 2.1.1 AuthorizationInfo is {allowed, location, info}: no token, no authorization_reference
    assert envelope(answer) == {
        "allowed": "ALLOWED",
        "location": {"location_id": "LOC1", "evse_uids": ["3256"]},
    }
    assert "OCPI-from-country-code" not in answer.headers

    unknown = await harness.call(cpo, "POST", "emsp/tokens/NOBODY/authorize")
    assert unknown.status_code == 404
    envelope(unknown, 2000)  # 2.1.1 has no 2004
    assert "data" not in unknown.json()

    app_type = await harness.call(
        cpo, "POST", f"emsp/tokens/{token.uid}/authorize", params={"type": "APP_USER"}
    )
    envelope(app_type, 2001)  # not a 2.1.1 TokenType


class _Decider:
    """A flow's authorization handler: a real implementation of the protocol, answering a fixed
    AllowedType for the tokens it knows."""

    def __init__(self, allowed: str, token: v221.Token) -> None:
        self.allowed = allowed
        self.token = token
        self.asked: list[AuthorizationRequest] = []

    async def authorize(self, request: AuthorizationRequest) -> v221.AuthorizationInfo | None:
        self.asked.append(request)
        if request.token_uid != self.token.uid:
            return None
        return v221.AuthorizationInfo(
            allowed=v221.AllowedType(self.allowed),
            token=self.token,
            authorization_reference="REF-1",
            info=v221.DisplayText(language="en", text=self.allowed),
        )


@pytest.mark.parametrize("allowed", ["ALLOWED", "BLOCKED", "EXPIRED", "NO_CREDIT", "NOT_ALLOWED"])
async def test_every_allowed_type_is_http_200(harness: Harness, examples_221: Path, allowed: str) -> None:
    cpo = await harness.partner("cpo1", "2.2.1", [("CPO", "BE", "BEC")])
    token = v221.Token.model_validate(load(examples_221, "token_put_example.json"))
    decider = _Decider(allowed, token)
    harness.app.state.gateway.services[AUTHORIZATION_HANDLER] = decider
    answer = await harness.call(
        cpo, "POST", f"emsp/tokens/{token.uid}/authorize", {"location_id": "LOC1"}, params={"type": "RFID"}
    )
    assert answer.status_code == 200
    info = envelope(answer)
    assert info["allowed"] == allowed
    assert info["authorization_reference"] == "REF-1"
    assert info["info"] == {"language": "en", "text": allowed}
    asked = decider.asked[0]
    assert (asked.partner, asked.version, asked.party) == ("cpo1", "2.2.1", ("BE", "BEC"))
    assert asked.location == v221.LocationReferences(location_id="LOC1")
    assert (await harness.store.get_correlation(AUTHORIZATION_KIND, "REF-1")) is not None


# --------------------------------------------------------------------------------------------
# Authentication


async def test_token_a_is_refused_after_registration(harness: Harness, examples_221: Path) -> None:
    emsp = await harness.partner("emsp1", "2.2.1", [("EMSP", "NL", "TNM")], token_a="token-a-of-emsp1")
    token = load(examples_221, "token_put_example.json")
    with_a = {"Authorization": "Token " + base64.b64encode(b"token-a-of-emsp1").decode()}
    refused = await harness.call(emsp, "PUT", "cpo/tokens/NL/TNM/012345678", token, headers=with_a)
    assert refused.status_code == 401
    assert (await harness.call(None, "GET", "emsp/tokens")).status_code == 401


@pytest.mark.parametrize("version", ["2.2.1", "2.1.1"])
async def test_both_token_encodings_are_accepted(harness: Harness, examples_221: Path, version: str) -> None:
    emsp = await harness.partner("emsp1", version, [("EMSP", "NL", "TNM")])
    raw = {"Authorization": f"Token {emsp.token}"}
    encoded = {"Authorization": "Token " + base64.b64encode(emsp.token.encode()).decode()}
    for headers in (raw, encoded):
        listed = await harness.call(emsp, "GET", "emsp/tokens", headers=headers, version=version)
        assert listed.status_code == 200
        envelope(listed)
