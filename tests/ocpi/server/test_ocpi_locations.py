"""The Locations module over HTTP (bridge/ocpi/server/locations.py): every official example pushed
through the Receiver interface and read back through the Receiver GET and the Sender list/GET, in
both versions; ownership, PATCH, last_updated propagation, authentication, routing headers.

Known defects of the examples (SOURCE.md) are handled as the models decide: the add-EVSE examples
are incomplete EVSEs and are refused with 2001 naming the first missing field.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from bridge.ocpi.models.common import parse_datetime
from bridge.ocpi.server.locations import endpoints
from bridge.ocpi.server.objects import ObjectChange
from bridge.store.base import DataApi
from tests.ocpi.server.harness import EXAMPLES_211, EXAMPLES_221, Harness, Partner, envelope, load
from tests.support.gateway import make_config

LOCATION_EXAMPLES = sorted(path.name for path in EXAMPLES_221.glob("location_example*.json"))
OWNERS = [
    ("CPO", "BE", "BEC"),
    ("CPO", "SE", "EVC"),
    ("CPO", "NL", "ALF"),
    ("CPO", "NL", "ALL"),
    ("CPO", "DE", "ALL"),
]
LOC = "emsp/locations/BE/BEC/LOC1"


@pytest.fixture
async def cpo(harness: Harness) -> Partner:
    """A 2.2.1 CPO partner owning every party of the official examples."""
    return await harness.partner("cpo", roles=OWNERS)


@pytest.fixture
async def emsp(harness: Harness) -> Partner:
    return await harness.partner("emsp", roles=[("EMSP", "NL", "MSP")])


@pytest.fixture
async def cpo211(harness: Harness) -> Partner:
    return await harness.partner("cpo211", version="2.1.1", roles=[("CPO", "NL", "TNM")])


@pytest.fixture
async def emsp211(harness: Harness) -> Partner:
    return await harness.partner("emsp211", version="2.1.1", roles=[("EMSP", "NL", "MS1")])


async def _put_example(harness: Harness, cpo: Partner) -> dict[str, Any]:
    body: dict[str, Any] = load(EXAMPLES_221, "location_example.json")
    envelope(await harness.call(cpo, "PUT", LOC, body))
    return body


async def _get(harness: Harness, partner: Partner, path: str, **kwargs: Any) -> Any:
    response = await harness.call(partner, "GET", path, **kwargs)
    assert response.status_code == 200, response.text
    return envelope(response)


def test_the_examples_are_there() -> None:
    assert len(LOCATION_EXAMPLES) == 6


# --------------------------------------------------------------------------------------------
# Official examples through PUT and every GET


@pytest.mark.parametrize("name", LOCATION_EXAMPLES)
async def test_every_location_example_round_trips(
    harness: Harness, cpo: Partner, emsp: Partner, name: str
) -> None:
    body = load(EXAMPLES_221, name)
    url = f"emsp/locations/{body['country_code']}/{body['party_id']}/{body['id']}"

    created = await harness.call(cpo, "PUT", url, body)
    assert created.status_code == 201
    assert "data" not in created.json(), "a PUT answer carries no data (ocpi.md §2.1)"
    envelope(created)

    assert await _get(harness, cpo, url) == body
    listed = await harness.call(emsp, "GET", "cpo/locations")
    assert envelope(listed) == [body]
    assert listed.headers["X-Total-Count"] == "1"
    assert await _get(harness, emsp, f"cpo/locations/{body['id']}") == body
    for evse in body.get("evses", []):
        assert await _get(harness, cpo, f"{url}/{evse['uid']}") == evse
        assert await _get(harness, emsp, f"cpo/locations/{body['id']}/{evse['uid']}") == evse
        for connector in evse["connectors"]:
            assert await _get(harness, cpo, f"{url}/{evse['uid']}/{connector['id']}") == connector

    replaced = await harness.call(cpo, "PUT", url, {**body, "name": "Renamed"})
    assert replaced.status_code == 200
    envelope(replaced)
    assert (await _get(harness, cpo, url))["name"] == "Renamed"


async def test_ids_are_case_insensitive(harness: Harness, cpo: Partner) -> None:
    body = await _put_example(harness, cpo)
    assert await _get(harness, cpo, "emsp/locations/be/bec/loc1") == body
    assert (await _get(harness, cpo, "emsp/locations/be/bec/loc1/3256/1"))["id"] == "1"


# --------------------------------------------------------------------------------------------
# EVSE and Connector PUT, last_updated propagation


async def test_add_evse_example_is_refused_naming_the_missing_field(harness: Harness, cpo: Partner) -> None:
    """``location_put_example_add_evse.json`` (SOURCE.md defect): the connector lacks power_type,
    max_voltage, max_amperage and last_updated, ``physical_reference`` is a number. Refused with
    2001 naming the first bad field; nothing changes."""
    before = await _put_example(harness, cpo)
    response = await harness.call(
        cpo, "PUT", f"{LOC}/3256", load(EXAMPLES_221, "location_put_example_add_evse.json")
    )
    assert response.status_code == 200
    envelope(response, 2001)
    assert "connectors[0].power_type" in response.json()["status_message"]
    assert await _get(harness, cpo, LOC) == before


async def test_add_evse_example_completed_replaces_the_evse_and_keeps_floor(
    harness: Harness, cpo: Partner
) -> None:
    """The example with what it lacks supplied (our own fixture, not the file): ``floor`` is not a
    2.2.1 field and is kept as received (ocpi.md §8 point 15), never read as ``floor_level``."""
    await _put_example(harness, cpo)
    evse = load(EXAMPLES_221, "location_put_example_add_evse.json")
    evse["connectors"][0].update(
        power_type="AC_3_PHASE", max_voltage=230, max_amperage=16, last_updated=evse["last_updated"]
    )
    evse["physical_reference"] = "3"
    response = await harness.call(cpo, "PUT", f"{LOC}/3256", evse)
    assert response.status_code == 200, "EVSE 3256 existed: replaced"
    stored = await _get(harness, cpo, f"{LOC}/3256")
    assert stored == evse
    assert stored["floor"] == -1 and "floor_level" not in stored
    location = await _get(harness, cpo, LOC)
    assert location["last_updated"] == "2019-06-24T12:39:09Z", "EVSE PUT updates the Location"
    assert [e["uid"] for e in location["evses"]] == ["3256", "3257"]


async def test_child_put_propagates_last_updated_and_never_backwards(harness: Harness, cpo: Partner) -> None:
    body = await _put_example(harness, cpo)
    evse = copy.deepcopy(body["evses"][0])
    evse.update(status="BLOCKED", last_updated="2020-01-01T00:00:00Z")
    assert (await harness.call(cpo, "PUT", f"{LOC}/3256", evse)).status_code == 200
    assert (await _get(harness, cpo, LOC))["last_updated"] == "2020-01-01T00:00:00Z"

    connector = {**evse["connectors"][0], "id": "3", "last_updated": "2021-02-03T04:05:06.789Z"}
    assert (await harness.call(cpo, "PUT", f"{LOC}/3256/3", connector)).status_code == 201
    location = await _get(harness, cpo, LOC)
    assert location["last_updated"] == "2021-02-03T04:05:06.789Z"
    assert location["evses"][0]["last_updated"] == "2021-02-03T04:05:06.789Z"
    assert [c["id"] for c in location["evses"][0]["connectors"]] == ["1", "2", "3"]
    assert location["evses"][1] == body["evses"][1], "the other EVSE is untouched"

    older = {**body["evses"][1], "status": "AVAILABLE", "last_updated": "2016-01-01T00:00:00Z"}
    assert (await harness.call(cpo, "PUT", f"{LOC}/3257", older)).status_code == 200
    location = await _get(harness, cpo, LOC)
    assert location["evses"][1]["status"] == "AVAILABLE"
    assert location["last_updated"] == "2021-02-03T04:05:06.789Z", "an older child does not move it back"


async def test_new_evse_is_created_with_201(harness: Harness, cpo: Partner) -> None:
    body = await _put_example(harness, cpo)
    evse = {**copy.deepcopy(body["evses"][1]), "uid": "3258", "last_updated": "2022-01-01T00:00:00Z"}
    assert (await harness.call(cpo, "PUT", f"{LOC}/3258", evse)).status_code == 201
    location = await _get(harness, cpo, LOC)
    assert [e["uid"] for e in location["evses"]] == ["3256", "3257", "3258"]
    assert location["last_updated"] == "2022-01-01T00:00:00Z"


async def test_identical_put_writes_and_bumps_nothing(harness: Harness, cpo: Partner) -> None:
    changes: list[ObjectChange] = []

    async def listener(tx: DataApi, change: ObjectChange) -> None:
        changes.append(change)

    harness.service.subscribe(listener)
    body = await _put_example(harness, cpo)
    assert len(changes) == 1
    again = await harness.call(cpo, "PUT", LOC, body)
    assert again.status_code == 200
    same_evse = await harness.call(cpo, "PUT", f"{LOC}/3257", body["evses"][1])
    assert same_evse.status_code == 200
    same_connector = await harness.call(cpo, "PUT", f"{LOC}/3256/2", body["evses"][0]["connectors"][1])
    assert same_connector.status_code == 200
    assert len(changes) == 1, "identical PUTs are no change"
    assert await _get(harness, cpo, LOC) == body


async def test_evse_put_on_an_unknown_location_is_2003(harness: Harness, cpo: Partner) -> None:
    evse = load(EXAMPLES_221, "location_example.json")["evses"][0]
    response = await harness.call(cpo, "PUT", f"{LOC}/3256", evse)
    assert response.status_code == 200, "ocpi.md §2.3: an OCPI status, not an HTTP error"
    envelope(response, 2003)
    connector = evse["connectors"][0]
    response = await harness.call(cpo, "PUT", f"{LOC}/3256/1", connector)
    envelope(response, 2003)


async def test_connector_put_on_an_unknown_evse_is_404(harness: Harness, cpo: Partner) -> None:
    body = await _put_example(harness, cpo)
    response = await harness.call(cpo, "PUT", f"{LOC}/9999/1", body["evses"][0]["connectors"][0])
    assert response.status_code == 404
    envelope(response, 2000)


@pytest.mark.parametrize("path", [LOC, f"{LOC}/9999", f"{LOC}/3256/9"])
async def test_get_of_anything_unknown_is_404(harness: Harness, cpo: Partner, path: str) -> None:
    if path != LOC:
        await _put_example(harness, cpo)
    response = await harness.call(cpo, "GET", path)
    assert response.status_code == 404
    assert "data" not in response.json()


# --------------------------------------------------------------------------------------------
# PATCH (ocpi.md §3.6, §8 point 5)


async def test_patch_examples_merge_and_propagate(harness: Harness, cpo: Partner, emsp: Partner) -> None:
    body = await _put_example(harness, cpo)
    stamp = "2019-06-24T12:39:09Z"

    status = await harness.call(
        cpo, "PATCH", f"{LOC}/3256", load(EXAMPLES_221, "location_patch_example_status.json")
    )
    assert status.status_code == 200 and "data" not in status.json()
    location = await _get(harness, cpo, LOC)
    assert location["evses"][0]["status"] == "CHARGING"
    assert location["evses"][0]["last_updated"] == stamp
    assert location["last_updated"] == stamp, "EVSE PATCH updates the Location"
    assert location["evses"][0]["connectors"] == body["evses"][0]["connectors"], "a merge keeps the rest"

    tariff = await harness.call(
        cpo, "PATCH", f"{LOC}/3257/1", load(EXAMPLES_221, "location_patch_example_tariff.json")
    )
    envelope(tariff)
    location = await _get(harness, cpo, LOC)
    assert location["evses"][1]["connectors"][0]["tariff_ids"] == ["15"]
    assert location["evses"][1]["connectors"][0]["last_updated"] == stamp
    assert location["evses"][1]["last_updated"] == stamp, "Connector PATCH updates its EVSE"

    removed = await harness.call(
        cpo, "PATCH", f"{LOC}/3257", load(EXAMPLES_221, "location_patch_example_remove_evse.json")
    )
    envelope(removed)
    name = await harness.call(cpo, "PATCH", LOC, load(EXAMPLES_221, "location_patch_example_location.json"))
    envelope(name)

    location = await _get(harness, cpo, LOC)
    assert location["name"] == "Interparking Gent Zuid"
    assert location["evses"][1]["status"] == "REMOVED", "REMOVED is stored: Locations are never deleted"
    assert await _get(harness, emsp, "cpo/locations") == [location]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (LOC, {"name": "No timestamp"}),
        (f"{LOC}/3256", {"status": "CHARGING"}),
        (f"{LOC}/3256/1", {"tariff_ids": ["15"]}),
    ],
)
async def test_221_patch_without_last_updated_is_2001(
    harness: Harness, cpo: Partner, path: str, body: dict[str, Any]
) -> None:
    before = await _put_example(harness, cpo)
    response = await harness.call(cpo, "PATCH", path, body)
    envelope(response, 2001)
    assert "last_updated" in response.json()["status_message"]
    assert await _get(harness, cpo, LOC) == before


async def test_patch_with_a_bad_value_is_2001_naming_it(harness: Harness, cpo: Partner) -> None:
    await _put_example(harness, cpo)
    response = await harness.call(
        cpo, "PATCH", f"{LOC}/3256", {"status": "BROKEN", "last_updated": "2020-01-01T00:00:00Z"}
    )
    envelope(response, 2001)
    assert "status" in response.json()["status_message"]


async def test_patch_of_unknown_objects(harness: Harness, cpo: Partner) -> None:
    patch = {"status": "CHARGING", "last_updated": "2020-01-01T00:00:00Z"}
    unknown_location = await harness.call(
        cpo, "PATCH", LOC, {"name": "x", "last_updated": "2020-01-01T00:00:00Z"}
    )
    assert unknown_location.status_code == 404
    evse_of_unknown_location = await harness.call(cpo, "PATCH", f"{LOC}/3256", patch)
    envelope(evse_of_unknown_location, 2003)
    await _put_example(harness, cpo)
    unknown_evse = await harness.call(cpo, "PATCH", f"{LOC}/9999", patch)
    assert unknown_evse.status_code == 404
    unknown_connector = await harness.call(
        cpo, "PATCH", f"{LOC}/3256/7", {"last_updated": "2020-01-01T00:00:00Z"}
    )
    assert unknown_connector.status_code == 404


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (LOC, {"id": "LOC2"}, "id"),
        (LOC, {"country_code": "NL"}, "country_code"),
        (f"{LOC}/3256", {"uid": "3257"}, "uid"),
        (f"{LOC}/3256/1", {"id": "2"}, "id"),
    ],
)
async def test_patch_changing_an_id_is_2001(
    harness: Harness, cpo: Partner, path: str, body: dict[str, Any], field: str
) -> None:
    await _put_example(harness, cpo)
    response = await harness.call(cpo, "PATCH", path, {**body, "last_updated": "2020-01-01T00:00:00Z"})
    envelope(response, 2001)
    assert f"'{field}'" in response.json()["status_message"]


async def test_patch_publish_false_and_back(harness: Harness, cpo: Partner, emsp211: Partner) -> None:
    await _put_example(harness, cpo)
    hidden = await harness.call(cpo, "PATCH", LOC, {"publish": False, "last_updated": "2020-01-01T00:00:00Z"})
    envelope(hidden)
    assert await _get(harness, emsp211, "cpo/locations") == []
    envelope(await harness.call(cpo, "PATCH", LOC, {"publish": True, "last_updated": "2020-01-02T00:00:00Z"}))
    assert [loc["id"] for loc in await _get(harness, emsp211, "cpo/locations")] == ["LOC1"]


# --------------------------------------------------------------------------------------------
# Ownership and authentication (ocpi.md §3.6, §1.3)


async def test_put_for_a_party_that_is_not_the_callers_is_404(harness: Harness, cpo: Partner) -> None:
    body = {**load(EXAMPLES_221, "location_example.json"), "country_code": "FR", "party_id": "XYZ"}
    response = await harness.call(cpo, "PUT", "emsp/locations/FR/XYZ/LOC1", body)
    assert response.status_code == 404
    assert await harness.store.get_object("locations", "FR", "XYZ", "LOC1") is None


async def test_receiver_get_of_another_partys_location_is_404(harness: Harness, cpo: Partner) -> None:
    await _put_example(harness, cpo)
    other = await harness.partner("other-cpo", roles=[("CPO", "FR", "XYZ")])
    assert (await harness.call(other, "GET", LOC)).status_code == 404
    assert (await harness.call(other, "GET", "emsp/locations/FR/XYZ/LOC1")).status_code == 404


@pytest.mark.parametrize(
    ("path", "change", "field"),
    [
        (LOC, {"country_code": "SE"}, "country_code"),
        (LOC, {"party_id": "EVC"}, "party_id"),
        (LOC, {"id": "LOC2"}, "id"),
    ],
)
async def test_body_owner_or_id_differing_from_the_url_is_2001(
    harness: Harness, cpo: Partner, path: str, change: dict[str, str], field: str
) -> None:
    body = {**load(EXAMPLES_221, "location_example.json"), **change}
    response = await harness.call(cpo, "PUT", path, body)
    envelope(response, 2001)
    assert f"'{field}'" in response.json()["status_message"]
    assert await harness.store.list_objects("locations") == ([], 0)


async def test_child_id_differing_from_the_url_is_2001(harness: Harness, cpo: Partner) -> None:
    body = await _put_example(harness, cpo)
    evse = envelope(await harness.call(cpo, "PUT", f"{LOC}/3999", body["evses"][0]), 2001)
    assert evse is None
    connector = await harness.call(cpo, "PUT", f"{LOC}/3256/9", body["evses"][0]["connectors"][0])
    envelope(connector, 2001)
    assert "'id'" in connector.json()["status_message"]


async def test_token_a_after_registration_and_unknown_tokens_are_401(harness: Harness) -> None:
    cpo = await harness.partner("cpo-a", roles=OWNERS, token_a="the-old-token-a")
    body = load(EXAMPLES_221, "location_example.json")
    for headers in ({"Authorization": "Token the-old-token-a"}, {"Authorization": "Token nobody"}, {}):
        for method, path in (("PUT", LOC), ("GET", LOC), ("GET", "cpo/locations"), ("PATCH", f"{LOC}/1")):
            response = await harness.call(None, method, path, body, headers=headers)
            assert response.status_code == 401, (method, path, headers)
            envelope(response, 2000)
    assert (await harness.call(cpo, "PUT", LOC, body)).status_code == 201


async def test_unregistered_module_methods_are_405_with_an_envelope(harness: Harness, cpo: Partner) -> None:
    response = await harness.call(cpo, "DELETE", LOC)
    assert response.status_code == 405
    envelope(response, 2000)
    response = await harness.call(cpo, "POST", "cpo/locations", {})
    assert response.status_code == 405


# --------------------------------------------------------------------------------------------
# Headers (ocpi.md §3.4, §3.5)


async def test_221_responses_carry_routing_headers_and_echo_message_ids(
    harness: Harness, cpo: Partner, emsp: Partner
) -> None:
    ids = {"X-Request-ID": "req-42", "X-Correlation-ID": "cor-42"}
    put = await harness.call(cpo, "PUT", LOC, load(EXAMPLES_221, "location_example.json"), headers=ids)
    assert put.headers["X-Request-ID"] == "req-42" and put.headers["X-Correlation-ID"] == "cor-42"
    assert (put.headers["OCPI-from-country-code"], put.headers["OCPI-from-party-id"]) == ("DE", "BRE")
    assert (put.headers["OCPI-to-country-code"], put.headers["OCPI-to-party-id"]) == ("BE", "BEC")
    listed = await harness.call(emsp, "GET", "cpo/locations", headers=ids)
    assert (listed.headers["OCPI-from-country-code"], listed.headers["OCPI-from-party-id"]) == ("DE", "BRC")
    assert (listed.headers["OCPI-to-country-code"], listed.headers["OCPI-to-party-id"]) == ("NL", "MSP")
    assert listed.headers["X-Correlation-ID"] == "cor-42"


async def test_211_responses_carry_no_routing_headers(
    harness: Harness, cpo211: Partner, emsp211: Partner
) -> None:
    put = await harness.call(
        cpo211,
        "PUT",
        "emsp/locations/NL/TNM/LOC1",
        load(EXAMPLES_211, "mod_locations__example.json"),
        headers={"X-Request-ID": "r-211"},
    )
    assert put.status_code == 201
    assert put.headers["X-Request-ID"] == "r-211"
    for response in (put, await harness.call(emsp211, "GET", "cpo/locations")):
        assert not any(name.lower().startswith("ocpi-") for name in response.headers)


# --------------------------------------------------------------------------------------------
# OCPI 2.1.1 partners (ocpi.md §5)


def _as_211_time_zone(body: dict[str, Any]) -> dict[str, Any]:
    """Documented conversion: a 2.1.1 Location without time_zone gets its country's single zone
    (stored 2.2.1 requires one) and keeps it when served back."""
    return {**body, "time_zone": "Europe/Brussels"}


async def test_211_location_example_round_trips(
    harness: Harness, cpo211: Partner, emsp211: Partner, emsp: Partner
) -> None:
    body = load(EXAMPLES_211, "mod_locations__example.json")
    url = "emsp/locations/NL/TNM/LOC1"
    assert (await harness.call(cpo211, "PUT", url, body)).status_code == 201
    expected = _as_211_time_zone(body)
    assert await _get(harness, cpo211, url) == expected
    assert await _get(harness, cpo211, f"{url}/3256") == body["evses"][0]
    assert await _get(harness, cpo211, f"{url}/3256/2") == body["evses"][0]["connectors"][1]
    assert await _get(harness, emsp211, "cpo/locations") == [expected]
    assert await _get(harness, emsp211, "cpo/locations/LOC1/3257") == body["evses"][1]

    as_221 = (await _get(harness, emsp, "cpo/locations"))[0]
    assert (as_221["country_code"], as_221["party_id"], as_221["publish"]) == ("NL", "TNM", True)
    assert as_221["parking_type"] == "ON_STREET" and "type" not in as_221
    connector = as_221["evses"][0]["connectors"][0]
    assert (connector["max_voltage"], connector["max_amperage"], connector["tariff_ids"]) == (220, 16, ["11"])

    assert (await harness.call(cpo211, "PUT", url, body)).status_code == 200


async def test_211_patch_examples_are_merged_and_stamped(harness: Harness, cpo211: Partner) -> None:
    url = "emsp/locations/NL/TNM/LOC1"
    await harness.call(cpo211, "PUT", url, load(EXAMPLES_211, "mod_locations__example.json"))
    started = datetime.now(UTC).replace(microsecond=0)

    for path, name in (
        (url, "mod_locations__patch_example_change_the_location_name.json"),
        (f"{url}/3256", "mod_locations__patch_example_a_simple_status_update.json"),
        (f"{url}/3256/2", "mod_locations__patch_example_set_tariff_update.json"),
        (f"{url}/3257", "mod_locations__patch_example_delete_an_evse.json"),
    ):
        response = await harness.call(cpo211, "PATCH", path, load(EXAMPLES_211, name))
        assert response.status_code == 200, response.text
        envelope(response)

    location = await _get(harness, cpo211, url)
    assert location["name"] == "Interparking Gent Zuid"
    assert location["evses"][0]["status"] == "CHARGING"
    assert location["evses"][0]["connectors"][1]["tariff_id"] == "15"
    assert location["evses"][1]["status"] == "REMOVED"
    for stamp in (
        location["last_updated"],
        location["evses"][0]["last_updated"],
        location["evses"][0]["connectors"][1]["last_updated"],
        location["evses"][1]["last_updated"],
    ):
        assert parse_datetime(stamp) >= started, "2.1.1 PATCH without last_updated is stamped on receipt"
    assert location["evses"][0]["connectors"][0]["last_updated"] == "2015-03-16T10:10:02Z"


async def test_211_add_evse_example_is_refused_naming_the_missing_field(
    harness: Harness, cpo211: Partner
) -> None:
    url = "emsp/locations/NL/TNM/LOC1"
    await harness.call(cpo211, "PUT", url, load(EXAMPLES_211, "mod_locations__example.json"))
    response = await harness.call(
        cpo211, "PUT", f"{url}/3256", load(EXAMPLES_211, "mod_locations__put_example_add_an_evse.json")
    )
    envelope(response, 2001)
    assert "connectors[0].power_type" in response.json()["status_message"]


async def test_211_location_without_a_known_time_zone_is_2001(harness: Harness, cpo211: Partner) -> None:
    body = {**load(EXAMPLES_211, "mod_locations__example.json"), "country": "USA"}
    response = await harness.call(cpo211, "PUT", "emsp/locations/NL/TNM/LOC1", body)
    envelope(response, 2001)
    assert "time_zone" in response.json()["status_message"]


async def test_211_evse_put_is_converted_up(harness: Harness, cpo211: Partner, emsp: Partner) -> None:
    url = "emsp/locations/NL/TNM/LOC1"
    body = load(EXAMPLES_211, "mod_locations__example.json")
    await harness.call(cpo211, "PUT", url, body)
    evse = {**copy.deepcopy(body["evses"][1]), "uid": "3300", "last_updated": "2016-01-01T00:00:00Z"}
    assert (await harness.call(cpo211, "PUT", f"{url}/3300", evse)).status_code == 201
    assert await _get(harness, cpo211, f"{url}/3300") == evse
    as_221 = await _get(harness, emsp, "cpo/locations/LOC1/3300")
    assert as_221["connectors"][0]["max_voltage"] == 220 and as_221["connectors"][0]["tariff_ids"] == ["12"]
    assert (await _get(harness, cpo211, url))["last_updated"] == "2016-01-01T00:00:00Z"


# --------------------------------------------------------------------------------------------
# The Sender interface: what is served to whom


async def test_unpublished_locations_are_served_to_221_only(
    harness: Harness, cpo: Partner, emsp: Partner, emsp211: Partner
) -> None:
    body = load(EXAMPLES_221, "location_example_uc3_destination_charger_not_published.json")
    await harness.call(cpo, "PUT", f"emsp/locations/NL/ALF/{body['id']}", body)
    await _put_example(harness, cpo)

    served_221 = await harness.call(emsp, "GET", "cpo/locations")
    assert [loc["id"] for loc in envelope(served_221)] == [body["id"], "LOC1"]
    assert envelope(served_221)[0]["publish"] is False

    served_211 = await harness.call(emsp211, "GET", "cpo/locations")
    assert [loc["id"] for loc in envelope(served_211)] == ["LOC1"]
    assert served_211.headers["X-Total-Count"] == "1"
    assert (await harness.call(emsp211, "GET", f"cpo/locations/{body['id']}")).status_code == 404


async def test_the_callers_own_locations_are_not_served_back(
    harness: Harness, cpo: Partner, emsp: Partner
) -> None:
    await _put_example(harness, cpo)
    other = load(EXAMPLES_221, "location_example_parking_garage_opening_hours.json")
    other_cpo = await harness.partner("cpo-se", roles=[("CPO", "SE", "EVC")])
    await harness.call(other_cpo, "PUT", f"emsp/locations/SE/EVC/{other['id']}", other)

    own = await harness.call(other_cpo, "GET", "cpo/locations")
    assert [loc["id"] for loc in envelope(own)] == ["LOC1"]
    assert own.headers["X-Total-Count"] == "1"
    assert (await harness.call(other_cpo, "GET", f"cpo/locations/{other['id']}")).status_code == 404
    assert len(await _get(harness, emsp, "cpo/locations")) == 2


async def test_sender_get_by_id_uses_the_routing_headers_then_the_index(
    harness: Harness, cpo: Partner, emsp: Partner
) -> None:
    """Two owners use the id LOC1: OCPI-to-* names the one wanted (ocpi.md §3.5); without them the
    oldest wins."""
    first = await _put_example(harness, cpo)
    second = {
        **load(EXAMPLES_221, "location_example.json"),
        "country_code": "SE",
        "party_id": "EVC",
        "name": "Second",
    }
    await harness.call(cpo, "PUT", "emsp/locations/SE/EVC/LOC1", second)

    to_second = {"OCPI-to-country-code": "SE", "OCPI-to-party-id": "EVC"}
    assert (await _get(harness, emsp, "cpo/locations/LOC1", headers=to_second))["name"] == "Second"
    assert (await _get(harness, emsp, "cpo/locations/LOC1"))["name"] == first["name"]
    assert (await _get(harness, emsp, "cpo/locations/loc1/3256/2"))["id"] == "2"
    assert (await harness.call(emsp, "GET", "cpo/locations/LOC9")).status_code == 404
    assert (await harness.call(emsp, "GET", "cpo/locations/LOC1/3256/9")).status_code == 404


async def test_211_connector_gets_the_regular_tariff_of_several(
    harness: Harness, cpo: Partner, emsp211: Partner
) -> None:
    """ocpi.md §5 Connector: 2.1.1 has one tariff_id; of several, the REGULAR or untyped one."""
    for tariff_id, kind in (("T-AD", "AD_HOC_PAYMENT"), ("T-REG", "REGULAR")):
        tariff = {
            **load(EXAMPLES_221, "tariff_1_simple_2hour.json"),
            "country_code": "BE",
            "party_id": "BEC",
            "id": tariff_id,
            "type": kind,
        }
        assert (await harness.call(cpo, "PUT", f"emsp/tariffs/BE/BEC/{tariff_id}", tariff)).status_code == 201
    body = load(EXAMPLES_221, "location_example.json")
    body["evses"][0]["connectors"][0]["tariff_ids"] = ["T-AD", "T-REG"]
    await harness.call(cpo, "PUT", LOC, body)
    served = await _get(harness, emsp211, "cpo/locations")
    assert served[0]["evses"][0]["connectors"][0]["tariff_id"] == "T-REG"
    assert (await _get(harness, emsp211, "cpo/locations/LOC1/3256/1"))["tariff_id"] == "T-REG"


# --------------------------------------------------------------------------------------------
# Registration of the endpoints (ocpi.md §1.1)


async def test_version_details_advertise_both_interfaces(harness: Harness, emsp: Partner) -> None:
    details = envelope(await harness.call(emsp, "GET", "http://gateway.test/ocpi/2.2.1"))
    found = {(e["identifier"], e["role"], e["url"]) for e in details["endpoints"]}
    base = "http://gateway.test/ocpi/2.2.1"
    assert ("locations", "RECEIVER", f"{base}/emsp/locations") in found
    assert ("locations", "SENDER", f"{base}/cpo/locations") in found
    assert ("tariffs", "RECEIVER", f"{base}/emsp/tariffs") in found
    assert ("tariffs", "SENDER", f"{base}/cpo/tariffs") in found


def test_endpoints_follow_the_configured_roles_and_versions(tmp_path: Any) -> None:
    cpo_only = make_config(
        tmp_path,
        ocpi={
            "parties": [{"role": "CPO", "country_code": "DE", "party_id": "BRC", "name": "x"}],
            "versions": ["2.1.1"],
        },
    )
    made = endpoints(cpo_only)
    assert [(e.version, e.identifier, e.role, e.party_role, e.path) for e in made] == [
        ("2.1.1", "locations", "SENDER", "CPO", "cpo/locations")
    ]
    both = endpoints(make_config(tmp_path))
    assert {(e.version, e.role) for e in both} == {
        ("2.2.1", "RECEIVER"),
        ("2.2.1", "SENDER"),
        ("2.1.1", "RECEIVER"),
        ("2.1.1", "SENDER"),
    }


async def test_routing_headers_follow_the_interface_for_a_partner_with_both_roles(harness: Harness) -> None:
    """A 2.2.1 partner that is CPO and eMSP in one connection (ocpi.md §1.1), sending no OCPI-from
    headers: FROM is our party of the interface's role, TO its party of the counterpart role."""
    both = await harness.partner("both", roles=[("CPO", "BE", "BEC"), ("EMSP", "BE", "BEE")])
    auth = {"Authorization": both.headers["Authorization"]}
    put = await harness.call(None, "PUT", LOC, load(EXAMPLES_221, "location_example.json"), headers=auth)
    assert put.status_code == 201
    assert (put.headers["OCPI-from-party-id"], put.headers["OCPI-to-party-id"]) == ("BRE", "BEC")
    listed = await harness.call(None, "GET", "cpo/locations", headers=auth)
    assert envelope(listed) == [], "its own Location is not served back to it"
    assert (listed.headers["OCPI-from-party-id"], listed.headers["OCPI-to-party-id"]) == ("BRC", "BEE")
