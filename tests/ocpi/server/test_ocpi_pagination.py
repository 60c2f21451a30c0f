"""Pagination of the Sender lists (ocpi.md §3.3, §8 point 7) over HTTP: offset/limit with the
server cap, ``X-Total-Count``, ``X-Limit`` (the cap), ``Link`` followed verbatim until absent with
every filter kept, creation order, ``date_from`` inclusive / ``date_to`` exclusive; and the same
when objects are left out (the caller's own, unpublished ones for 2.1.1 callers). Also the common
page helpers' parameter checks (bridge/ocpi/server/common.py)."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ocpi.server.harness import EXAMPLES_221, Harness, Partner, envelope, load, open_harness

CAP = 5
PARTIES = {
    "parties": [
        {"role": "CPO", "country_code": "DE", "party_id": "BRC", "name": "Bridge CPO"},
        {"role": "EMSP", "country_code": "DE", "party_id": "BRE", "name": "Bridge eMSP"},
    ],
    "page_limit": CAP,
}
# Creation order differs from last_updated order on purpose: lists are in creation order.
DAYS = [7, 3, 19, 1, 12, 5, 22, 15, 9, 2, 17, 11, 20, 6, 14, 4, 23, 8, 16, 10, 21, 13, 18]


def _stamp(day: int) -> str:
    return f"2024-01-{day:02d}T10:00:00Z"


def _location(
    number: int, day: int, owner: tuple[str, str] = ("BE", "BEC"), *, publish: bool = True
) -> dict[str, Any]:
    body: dict[str, Any] = load(EXAMPLES_221, "location_example.json")
    body.update(
        country_code=owner[0],
        party_id=owner[1],
        id=f"L{number:03d}",
        publish=publish,
        last_updated=_stamp(day),
    )
    for evse in body["evses"]:
        evse["last_updated"] = _stamp(day)
        for connector in evse["connectors"]:
            connector["last_updated"] = _stamp(day)
    return body


@pytest.fixture
async def capped(tmp_path: Path, store_url: str) -> AsyncIterator[Harness]:
    """The gateway with ``ocpi.page_limit`` = 5, on each store backend."""
    async with open_harness(tmp_path, store_url, ocpi=PARTIES) as made:
        yield made


async def _crawl(
    harness: Harness, partner: Partner, path: str, params: dict[str, str] | None = None
) -> list[httpx.Response]:
    """GET the first page, then follow ``Link: <url>; rel="next"`` verbatim until there is none."""
    pages = [await harness.call(partner, "GET", path, params=params)]
    while "Link" in pages[-1].headers:
        match = re.fullmatch(r'<([^>]+)>; rel="next"', pages[-1].headers["Link"])
        assert match, pages[-1].headers["Link"]
        pages.append(await harness.call(partner, "GET", match.group(1)))
        assert len(pages) < 50, "the Link chain must end"
    return pages


def _ids(pages: list[httpx.Response]) -> list[str]:
    return [item["id"] for page in pages for item in envelope(page)]


async def _push(harness: Harness, partner: Partner, bodies: list[dict[str, Any]]) -> None:
    for body in bodies:
        url = f"emsp/locations/{body['country_code']}/{body['party_id']}/{body['id']}"
        response = await harness.call(partner, "PUT", url, body)
        assert response.status_code == 201, response.text


async def test_crawl_sees_every_object_once_in_creation_order(capped: Harness) -> None:
    cpo = await capped.partner("cpo", roles=[("CPO", "BE", "BEC")])
    emsp = await capped.partner("emsp", roles=[("EMSP", "NL", "MSP")])
    bodies = [_location(i, day) for i, day in enumerate(DAYS)]
    await _push(capped, cpo, bodies)

    pages = await _crawl(capped, emsp, "cpo/locations")
    assert _ids(pages) == [b["id"] for b in bodies]
    assert [len(envelope(page)) for page in pages] == [5, 5, 5, 5, 3]
    for page in pages:
        assert page.headers["X-Total-Count"] == str(len(DAYS))
        assert page.headers["X-Limit"] == str(CAP)
        assert page.headers["OCPI-to-party-id"] == "MSP", "routing headers on every page"
    assert envelope(pages[0])[0] == bodies[0]


async def test_limit_is_capped_and_x_limit_is_the_cap(capped: Harness) -> None:
    cpo = await capped.partner("cpo", roles=[("CPO", "BE", "BEC")])
    emsp = await capped.partner("emsp", roles=[("EMSP", "NL", "MSP")])
    await _push(capped, cpo, [_location(i, day) for i, day in enumerate(DAYS[:8])])

    asked_too_much = await capped.call(emsp, "GET", "cpo/locations", params={"limit": "1000"})
    assert len(envelope(asked_too_much)) == CAP
    assert asked_too_much.headers["X-Limit"] == str(CAP)
    assert "limit=5" in asked_too_much.headers["Link"]

    pages = await _crawl(capped, emsp, "cpo/locations", {"limit": "3"})
    assert [len(envelope(page)) for page in pages] == [3, 3, 2]
    assert all(page.headers["X-Limit"] == str(CAP) for page in pages)
    assert "limit=3" in pages[0].headers["Link"] and "offset=3" in pages[0].headers["Link"]

    second = await capped.call(emsp, "GET", "cpo/locations", params={"offset": "6", "limit": "3"})
    assert [item["id"] for item in envelope(second)] == ["L006", "L007"]
    assert "Link" not in second.headers
    beyond = await capped.call(emsp, "GET", "cpo/locations", params={"offset": "50"})
    assert envelope(beyond) == []
    assert beyond.headers["X-Total-Count"] == "8" and "Link" not in beyond.headers


async def test_date_filters_are_inclusive_exclusive_and_kept_in_link(capped: Harness) -> None:
    cpo = await capped.partner("cpo", roles=[("CPO", "BE", "BEC")])
    emsp = await capped.partner("emsp", roles=[("EMSP", "NL", "MSP")])
    bodies = [_location(i, day) for i, day in enumerate(DAYS)]
    await _push(capped, cpo, bodies)

    params = {"date_from": _stamp(5), "date_to": _stamp(15), "limit": "3"}
    pages = await _crawl(capped, emsp, "cpo/locations", params)
    expected = [b["id"] for b, day in zip(bodies, DAYS, strict=True) if 5 <= day < 15]
    assert _ids(pages) == expected
    assert "L005" in expected, "date_from is inclusive (day 5)"
    assert "L015" not in _ids(pages), "date_to is exclusive (L007 has day 15)"
    for page in pages:
        assert page.headers["X-Total-Count"] == str(len(expected))
    for page in pages[:-1]:
        link = page.headers["Link"]
        assert "date_from=2024-01-05T10%3A00%3A00Z" in link and "date_to=2024-01-15T10%3A00%3A00Z" in link

    only_to = await _crawl(capped, emsp, "cpo/locations", {"date_to": _stamp(4)})
    assert _ids(only_to) == [b["id"] for b, day in zip(bodies, DAYS, strict=True) if day < 4]


async def test_crawl_leaves_out_own_and_unpublished_objects_exactly(capped: Harness) -> None:
    """A 2.1.1 CPO that also pulls: its own Locations and unpublished ones are left out, the rest is
    seen exactly once, offsets and X-Total-Count count only what is served."""
    cpo = await capped.partner("cpo", roles=[("CPO", "BE", "BEC")])
    cpo211 = await capped.partner("cpo211", version="2.1.1", roles=[("CPO", "NL", "TNM")])
    emsp = await capped.partner("emsp", roles=[("EMSP", "NL", "MSP")])
    served: list[str] = []
    for i in range(30):
        day = 1 + (i * 7) % 28
        if i % 3 == 1:
            body211 = {
                k: v
                for k, v in _location(i, day).items()
                if k not in ("country_code", "party_id", "publish", "time_zone")
            }
            body211["type"] = body211.pop("parking_type")
            for evse in body211["evses"]:
                for connector in evse["connectors"]:
                    connector["voltage"] = connector.pop("max_voltage")
                    connector["amperage"] = connector.pop("max_amperage")
                    connector["tariff_id"] = connector.pop("tariff_ids")[0]
            response = await capped.call(cpo211, "PUT", f"emsp/locations/NL/TNM/{body211['id']}", body211)
            assert response.status_code == 201, response.text
        else:
            body = _location(i, day, publish=i % 4 != 0)
            await _push(capped, cpo, [body])
            if body["publish"]:
                served.append(body["id"])

    pages = await _crawl(capped, cpo211, "cpo/locations", {"limit": "4"})
    assert _ids(pages) == served
    assert all(page.headers["X-Total-Count"] == str(len(served)) for page in pages)
    assert all(not any(h.lower().startswith("ocpi-") for h in page.headers) for page in pages)

    window = {"date_from": _stamp(8), "date_to": _stamp(22)}
    pages = await _crawl(capped, cpo211, "cpo/locations", window)
    in_window = [i for i in served if 8 <= 1 + (int(i[1:]) * 7) % 28 < 22]
    assert _ids(pages) == in_window
    assert pages[0].headers["X-Total-Count"] == str(len(in_window))

    everything = await _crawl(capped, emsp, "cpo/locations")
    assert len(_ids(everything)) == 30


async def test_tariff_list_is_paginated_the_same_way(capped: Harness) -> None:
    cpo = await capped.partner("cpo", roles=[("CPO", "DE", "ALL")])
    emsp = await capped.partner("emsp", roles=[("EMSP", "NL", "MSP")])
    ids = []
    for i, day in enumerate(DAYS[:12]):
        tariff = {
            **load(EXAMPLES_221, "tariff_1_simple_2hour.json"),
            "id": f"T{i:02d}",
            "last_updated": _stamp(day),
        }
        assert (
            await capped.call(cpo, "PUT", f"emsp/tariffs/DE/ALL/{tariff['id']}", tariff)
        ).status_code == 201
        ids.append(tariff["id"])
    pages = await _crawl(capped, emsp, "cpo/tariffs")
    assert _ids(pages) == ids
    assert [page.headers["X-Total-Count"] for page in pages] == ["12"] * 3
    dated = await _crawl(capped, emsp, "cpo/tariffs", {"date_from": _stamp(12)})
    assert _ids(dated) == [t for t, day in zip(ids, DAYS, strict=False) if day >= 12]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"offset": "-1"}, "offset"),
        ({"limit": "ten"}, "limit"),
        ({"date_from": "yesterday"}, "date_from"),
        ({"date_to": "2024-13-01T00:00:00Z"}, "date_to"),
    ],
)
async def test_invalid_page_parameters_are_2001_naming_them(
    harness: Harness, params: dict[str, str], field: str
) -> None:
    emsp = await harness.partner("emsp", roles=[("EMSP", "NL", "MSP")])
    response = await harness.call(emsp, "GET", "cpo/locations", params=params)
    assert response.status_code == 200
    envelope(response, 2001)
    assert f"'{field}'" in response.json()["status_message"]


async def test_empty_list(harness: Harness) -> None:
    emsp = await harness.partner("emsp", roles=[("EMSP", "NL", "MSP")])
    response = await harness.call(emsp, "GET", "cpo/locations")
    assert envelope(response) == []
    assert response.headers["X-Total-Count"] == "0"
    assert response.headers["X-Limit"] == "100"
    assert "Link" not in response.headers


async def test_an_object_that_cannot_be_sent_does_not_shorten_the_crawl(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """An unpublished Location written around the object service (no 2.1.1 marker) is found
    unsendable only while serving: it is left out of its page (logged) and the Link still goes on
    from the end of that page, so the crawl neither ends early nor repeats an object."""
    caplog.set_level(logging.INFO, logger="bridge.ocpi.convert")
    cpo = await harness.partner("cpo", roles=[("CPO", "BE", "BEC")])
    emsp211 = await harness.partner("emsp211", version="2.1.1", roles=[("EMSP", "NL", "MS1")])
    bodies = [_location(i, day) for i, day in enumerate(DAYS[:7])]
    await _push(harness, cpo, bodies[:2])
    odd = _location(99, 1, publish=False)
    await harness.store.put_object("locations", "BE", "BEC", odd["id"], odd, datetime(2024, 1, 1, tzinfo=UTC))
    await _push(harness, cpo, bodies[2:])

    pages = await _crawl(harness, emsp211, "cpo/locations", {"limit": "2"})
    assert _ids(pages) == [b["id"] for b in bodies]
    assert [len(envelope(page)) for page in pages] == [2, 1, 2, 2]
    assert all(page.headers["X-Total-Count"] == "8" for page in pages)
    assert any("L099 not served to 2.1.1" in record.getMessage() for record in caplog.records)
