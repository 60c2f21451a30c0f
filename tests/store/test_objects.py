"""OCPI objects: case-insensitive keys, stable creation order, paginated lists with date filters
(OCPI 2.2.1 transport_and_format: date_from inclusive, date_to exclusive)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from bridge.store import Store

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
US = timedelta(microseconds=1)


def location(object_id: str, **extra: Any) -> dict[str, Any]:
    return {"country_code": "NL", "party_id": "EXA", "id": object_id, "evses": [], **extra}


async def test_put_get_delete(store: Store) -> None:
    created = await store.put_object("locations", "NL", "EXA", "LOC1", location("LOC1"), T0, partner="cpo-nl")
    assert created is True
    got = await store.get_object("locations", "NL", "EXA", "LOC1")
    assert got is not None
    assert (got.kind, got.country_code, got.party_id, got.object_id) == ("locations", "NL", "EXA", "LOC1")
    assert got.data == location("LOC1") and got.last_updated == T0 and got.partner == "cpo-nl"
    assert got.last_updated.tzinfo is not None and got.last_updated.utcoffset() == timedelta(0)
    assert await store.get_object("tariffs", "NL", "EXA", "LOC1") is None  # kinds are separate
    assert await store.delete_object("locations", "NL", "EXA", "LOC1") is True
    assert await store.delete_object("locations", "NL", "EXA", "LOC1") is False
    assert await store.get_object("locations", "NL", "EXA", "LOC1") is None


async def test_ids_compare_case_insensitively_and_keep_their_spelling(store: Store) -> None:
    assert await store.put_object("tokens", "nl", "exa", "Tok-1a", {"uid": "Tok-1a"}, T0) is True
    got = await store.get_object("tokens", "NL", "EXA", "TOK-1A")
    assert got is not None
    assert (got.country_code, got.party_id, got.object_id) == ("nl", "exa", "Tok-1a")
    # the same key in another spelling replaces, and the last spelling is kept
    assert await store.put_object("tokens", "NL", "Exa", "tok-1A", {"uid": "tok-1A"}, T0 + US) is False
    got = await store.get_object("tokens", "nl", "eXa", "tok-1a")
    assert got is not None and got.object_id == "tok-1A" and got.data == {"uid": "tok-1A"}
    assert (await store.list_objects("tokens"))[1] == 1
    assert await store.delete_object("tokens", "Nl", "EXA", "TOK-1A") is True


async def test_replace_keeps_the_creation_order(store: Store) -> None:
    for index in range(3):
        await store.put_object("sessions", "NL", "EXA", f"S{index}", {"n": index}, T0)
    first_seq = (await store.get_object("sessions", "NL", "EXA", "S0")).seq  # type: ignore[union-attr]
    assert await store.put_object("sessions", "NL", "EXA", "S0", {"n": 99}, T0 + timedelta(hours=1)) is False
    replaced = await store.get_object("sessions", "NL", "EXA", "S0")
    assert replaced is not None and replaced.seq == first_seq and replaced.data == {"n": 99}
    page, total = await store.list_objects("sessions")
    assert [o.object_id for o in page] == ["S0", "S1", "S2"] and total == 3
    # deleted and created again: a new object, at the end
    await store.delete_object("sessions", "NL", "EXA", "S0")
    await store.put_object("sessions", "NL", "EXA", "S0", {"n": 0}, T0)
    page, _ = await store.list_objects("sessions")
    assert [o.object_id for o in page] == ["S1", "S2", "S0"]
    assert page[-1].seq > first_seq


async def test_pagination_is_ordered_and_counts_the_total(store: Store) -> None:
    for index in range(25):
        await store.put_object("cdrs", "NL", "EXA", f"CDR{index:02d}", {"i": index}, T0 + index * US)
    await store.put_object("locations", "NL", "EXA", "OTHER-KIND", {}, T0)
    seen: list[str] = []
    for offset in range(0, 30, 10):
        page, total = await store.list_objects("cdrs", offset=offset, limit=10)
        assert total == 25
        seen.extend(o.object_id for o in page)
    assert seen == [f"CDR{index:02d}" for index in range(25)]
    assert await store.list_objects("cdrs", offset=30, limit=10) == ([], 25)
    page, total = await store.list_objects("cdrs", limit=0)
    assert page == [] and total == 25
    with pytest.raises(ValueError):
        await store.list_objects("cdrs", offset=-1)


async def test_date_filters_from_inclusive_to_exclusive(store: Store) -> None:
    # created in an order different from their timestamps, to show the list stays in seq order
    stamps = {"A": T0 + 2 * US, "B": T0, "C": T0 + US, "D": T0 + 3 * US}
    for object_id, stamp in stamps.items():
        await store.put_object("locations", "NL", "EXA", object_id, location(object_id), stamp)

    async def ids(**filters: Any) -> tuple[list[str], int]:
        page, total = await store.list_objects("locations", **filters)
        return [o.object_id for o in page], total

    assert await ids(date_from=T0 + US) == (["A", "C", "D"], 3)
    assert await ids(date_to=T0 + 2 * US) == (["B", "C"], 2)
    assert await ids(date_from=T0 + US, date_to=T0 + 3 * US) == (["A", "C"], 2)
    assert await ids(date_from=T0 + 2 * US, date_to=T0 + 2 * US) == ([], 0)
    assert await ids(date_from=T0 + US, date_to=T0 + 3 * US, offset=1, limit=1) == (["C"], 2)
    # the same instant in another zone is the same filter
    plus_two = T0.astimezone(timezone(timedelta(hours=2)))
    assert await ids(date_from=plus_two, date_to=plus_two + US) == (["B"], 1)
    with pytest.raises(ValueError):
        await store.list_objects("locations", date_from=datetime(2025, 3, 1))  # naive


async def test_owner_and_partner_filters(store: Store) -> None:
    await store.put_object("tariffs", "NL", "EXA", "T1", {}, T0, partner="cpo-nl")
    await store.put_object("tariffs", "DE", "ABC", "T2", {}, T0, partner="cpo-de")
    await store.put_object("tariffs", "nl", "exa", "T3", {}, T0, partner="cpo-nl")
    await store.put_object("tariffs", "NL", "XYZ", "T4", {}, T0)

    async def ids(**filters: Any) -> list[str]:
        page, total = await store.list_objects("tariffs", **filters)
        assert total == len(page)
        return [o.object_id for o in page]

    assert await ids(owners=[("nl", "Exa")]) == ["T1", "T3"]
    assert await ids(owners=[("NL", "EXA"), ("de", "abc")]) == ["T1", "T2", "T3"]
    assert await ids(owners=[("NL", "EXA"), ("nl", "exa")]) == ["T1", "T3"]
    assert await ids(owners=[]) == []
    assert await ids(partner="cpo-nl") == ["T1", "T3"]
    assert await ids(partner="cpo-nl", owners=[("DE", "ABC")]) == []
    assert await ids(exclude_owners=[("nl", "EXA")]) == ["T2", "T4"]
    assert await ids(exclude_owners=[("NL", "EXA"), ("de", "abc")]) == ["T4"]
    assert await ids(exclude_owners=[]) == ["T1", "T2", "T3", "T4"]
    assert await ids(owners=[("NL", "EXA"), ("DE", "ABC")], exclude_owners=[("DE", "ABC")]) == ["T1", "T3"]
    assert await ids() == ["T1", "T2", "T3", "T4"]


async def test_json_and_timestamps_round_trip_exactly(store: Store) -> None:
    data: dict[str, Any] = {
        "z_first": 1,
        "a_second": [0.1, 1e300, -2.5e-308, 123456789.123456789, 2**70, -0.0, 0, True, False, None],
        "text": 'Zoë ⚡ 🚗 "quoted" \\ back\nslash \u0000 nul',
        "nested": {"tariff_ids": ["t1"], "price": {"excl_vat": 0.25, "incl_vat": 0.3025}},
        "empty": {},
    }
    stamp = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    await store.put_object("locations", "NL", "EXA", "J", data, stamp)
    got = await store.get_object("locations", "NL", "EXA", "J")
    assert got is not None
    assert got.data == data
    assert list(got.data) == list(data)  # key order kept
    assert [type(v) for v in got.data["a_second"]] == [type(v) for v in data["a_second"]]
    assert got.last_updated == stamp and got.last_updated.microsecond == 123456
    with pytest.raises(ValueError):
        await store.put_object("locations", "NL", "EXA", "N", {"x": float("nan")}, stamp)
    with pytest.raises(ValueError):
        await store.put_object("locations", "NL", "EXA", "N", {}, datetime(2025, 3, 1))  # naive
    assert await store.get_object("locations", "NL", "EXA", "N") is None
