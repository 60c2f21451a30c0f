"""The gateway as an OCPI 2.2.1 Hub (hub presentation of Hubject's operators, docs/emsp-locations.md):
a configuration whose only party is a HUB mounts the CPO-role interfaces and the Hub's
hubclientinfo Sender (ocpi.md §1.2, §3.3, §3.5, §4.8); a CPO-party configuration is unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bridge.evse_cache import HUBJECT_PARTNER
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.registration import our_credentials
from bridge.ocpi.server.hubclientinfo import get_client_info, record_client_info
from bridge.ocpi.server.locations import LOCATIONS
from tests.ocpi.server.harness import EXAMPLES_221, Harness, envelope, load, open_harness

HUB = ("DE", "HBJ")
HUB_PARTIES = {"parties": [{"role": "HUB", "country_code": HUB[0], "party_id": HUB[1], "name": "Bridge Hub"}]}
EMSP_ROLES = (("EMSP", "NL", "MSP"),)
ROUTING = ("ocpi-from-country-code", "ocpi-from-party-id", "ocpi-to-country-code", "ocpi-to-party-id")
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def hub(tmp_path: Path, store_url: str) -> AsyncIterator[Harness]:
    """The gateway with one HUB party only, on each store backend."""
    async with open_harness(tmp_path, store_url, ocpi=HUB_PARTIES) as made:
        yield made


def endpoint_set(details: dict[str, object]) -> set[tuple[str, str]]:
    endpoints = details["endpoints"]
    assert isinstance(endpoints, list)
    return {(e["identifier"], e["role"]) for e in endpoints}


async def test_hub_only_configuration_mounts_the_cpo_role_and_hubclientinfo(hub: Harness) -> None:
    emsp = await hub.partner("backend", roles=EMSP_ROLES)
    details = envelope(await hub.client.get(f"/ocpi/{emsp.version}", headers=emsp.headers))
    offered = endpoint_set(details)
    assert {
        ("locations", "SENDER"),
        ("tariffs", "SENDER"),
        ("sessions", "SENDER"),
        ("cdrs", "SENDER"),
        ("tokens", "RECEIVER"),
        ("commands", "RECEIVER"),
        ("hubclientinfo", "SENDER"),
    } <= offered
    assert ("locations", "RECEIVER") not in offered, "no EMSP party: no eMSP-role interfaces"
    urls = {e["identifier"]: e["url"] for e in details["endpoints"] if e["role"] == "SENDER"}
    assert urls["hubclientinfo"].endswith("/ocpi/2.2.1/hub/hubclientinfo")

    # The Locations Sender serves an operator's Location behind the hub, from the hub party.
    location = v221.Location.model_validate(load(EXAMPLES_221, "location_example.json"))
    owner = (location.country_code, location.party_id)
    await hub.service.put(LOCATIONS, owner, location.id, location, partner=HUBJECT_PARTNER)
    listed = await hub.call(emsp, "GET", "cpo/locations")
    assert listed.status_code == 200
    assert [item["id"] for item in envelope(listed)] == [location.id]
    assert (listed.headers["ocpi-from-country-code"], listed.headers["ocpi-from-party-id"]) == HUB
    assert (listed.headers["ocpi-to-country-code"], listed.headers["ocpi-to-party-id"]) == ("NL", "MSP")


async def test_hub_only_credentials_announce_role_hub(hub: Harness) -> None:
    credentials = our_credentials(hub.config, version="2.2.1", token="t" * 64, partner_role="EMSP")
    assert isinstance(credentials, v221.Credentials)
    assert [(r.role, r.country_code, r.party_id) for r in credentials.roles] == [(v221.Role.HUB, *HUB)]


async def test_hubclientinfo_list_is_paginated_without_routing_headers(hub: Harness) -> None:
    emsp = await hub.partner("backend", roles=EMSP_ROLES)
    parties = [("DE", "ABC"), ("DE", "XYZ"), ("FR", "TTE")]
    async with hub.store.transaction() as tx:
        for step, (cc, pid) in enumerate(parties):
            await record_client_info(tx, cc, pid, now=T0 + timedelta(minutes=step))

    first = await hub.call(emsp, "GET", "hub/hubclientinfo", params={"limit": "2"})
    assert first.status_code == 200
    assert not [name for name in ROUTING if name in first.headers], "Configuration module (§3.5)"
    assert first.headers["x-total-count"] == "3"
    assert first.headers["x-limit"] == str(hub.config.ocpi.page_limit)
    page = [v221.ClientInfo.model_validate(item) for item in envelope(first)]
    assert [(i.country_code, i.party_id) for i in page] == parties[:2]
    assert all(i.role == v221.Role.CPO and i.status == v221.ConnectionStatus.CONNECTED for i in page)
    assert envelope(first)[0]["last_updated"] == "2026-03-01T12:00:00Z"

    link = first.headers["link"]
    assert link.endswith('; rel="next"') and "offset=2" in link and "limit=2" in link
    second = await hub.client.get(link[1 : link.index(">")], headers=emsp.headers)
    rest = [v221.ClientInfo.model_validate(item) for item in envelope(second)]
    assert [(i.country_code, i.party_id) for i in rest] == parties[2:]
    assert "link" not in second.headers

    since = await hub.call(emsp, "GET", "hub/hubclientinfo", params={"date_from": "2026-03-01T12:01:00Z"})
    assert [(i["country_code"], i["party_id"]) for i in envelope(since)] == parties[1:]
    assert since.headers["x-total-count"] == "2"


async def test_hubclientinfo_needs_a_registered_partner(hub: Harness) -> None:
    unknown = {"Authorization": "Token bm9wZQ=="}
    response = await hub.client.get("/ocpi/2.2.1/hub/hubclientinfo", headers=unknown)
    assert response.status_code == 401


async def test_record_client_info_keeps_last_updated_until_the_status_changes(hub: Harness) -> None:
    first = await record_client_info(hub.store, "de", "abc", now=T0)
    again = await record_client_info(hub.store, "DE", "ABC", now=T0 + timedelta(hours=1))
    assert again == first and again.last_updated == T0, "unchanged party: not in the next delta crawl"
    later = T0 + timedelta(hours=2)
    offline = await record_client_info(
        hub.store, "DE", "ABC", now=later, status=v221.ConnectionStatus.OFFLINE
    )
    assert (offline.status, offline.last_updated) == (v221.ConnectionStatus.OFFLINE, later)
    assert await get_client_info(hub.store, "de", "abc") == offline


async def test_cpo_party_configuration_is_unchanged(harness: Harness) -> None:
    emsp = await harness.partner("backend", roles=EMSP_ROLES)
    details = envelope(await harness.client.get("/ocpi/2.2.1", headers=emsp.headers))
    offered = endpoint_set(details)
    assert ("hubclientinfo", "SENDER") not in offered
    assert {("locations", "SENDER"), ("locations", "RECEIVER"), ("tokens", "SENDER")} <= offered
    assert (await harness.call(emsp, "GET", "hub/hubclientinfo")).status_code == 404
    listed = await harness.call(emsp, "GET", "cpo/locations")
    assert (listed.headers["ocpi-from-country-code"], listed.headers["ocpi-from-party-id"]) == ("DE", "BRC")
    credentials = our_credentials(harness.config, version="2.2.1", token="t" * 64, partner_role="EMSP")
    assert isinstance(credentials, v221.Credentials)
    assert [(r.role, r.party_id) for r in credentials.roles] == [(v221.Role.CPO, "BRC")]


async def test_hubclientinfo_is_not_offered_on_2_1_1(hub: Harness) -> None:
    emsp = await hub.partner("backend211", version="2.1.1", roles=EMSP_ROLES)
    details = envelope(await hub.client.get(f"/ocpi/{emsp.version}", headers=emsp.headers))
    identifiers = {e["identifier"] for e in details["endpoints"]}
    assert "hubclientinfo" not in identifiers
    assert {"locations", "tariffs", "tokens", "commands"} <= identifiers
