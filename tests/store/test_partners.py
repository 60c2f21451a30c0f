"""Partners and the credentials tokens they use to call us (OCPI 2.2.1 credentials module)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bridge.errors import StoreError
from bridge.store import PartnerRecord, Store, UnknownPartnerError, hash_token, sqlite_path
from tests.store.conftest import Backend

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

ENDPOINTS = [
    {"identifier": "credentials", "role": "RECEIVER", "url": "https://cpo.example/ocpi/2.2.1/credentials"},
    {"identifier": "locations", "role": "SENDER", "url": "https://cpo.example/ocpi/2.2.1/locations"},
]
ROLES = [
    {
        "role": "CPO",
        "country_code": "NL",
        "party_id": "EXA",
        "business_details": {"name": "Example CPO", "website": "https://cpo.example"},
    }
]


def partner(name: str = "cpo-nl", **changes: object) -> PartnerRecord:
    fields: dict[str, object] = {
        "name": name,
        "role": "CPO",
        "version": "2.2.1",
        "versions_url": "https://cpo.example/ocpi/versions",
        "endpoints": ENDPOINTS,
        "roles": ROLES,
        "token_out": "outgoing-" + secrets.token_hex(8),
        "token_encoding": "base64",
        "status": "registered",
    }
    fields.update(changes)
    return PartnerRecord(**fields)  # type: ignore[arg-type]


def new_token() -> str:
    return "incoming-" + secrets.token_hex(16)


async def test_save_get_list_delete(store: Store) -> None:
    saved = await store.save_partner(partner())
    got = await store.get_partner("cpo-nl")
    assert got == saved
    assert got.endpoints == ENDPOINTS and got.roles == ROLES and got.version == "2.2.1"
    assert got.created_at.tzinfo is not None
    await store.save_partner(partner("emsp-de", role="EMSP", status="new", version=None, versions_url=None))
    assert [p.name for p in await store.list_partners()] == ["cpo-nl", "emsp-de"]
    assert (await store.get_partner("emsp-de")).version is None  # type: ignore[union-attr]
    assert await store.delete_partner("emsp-de") is True
    assert await store.delete_partner("emsp-de") is False
    assert await store.get_partner("emsp-de") is None
    assert await store.get_partner("CPO-NL") is None  # partner names are exact


async def test_resave_keeps_created_at_and_replaces_fields(store: Store) -> None:
    first = await store.save_partner(partner(status="new"))
    second = await store.save_partner(partner(status="unregistered", endpoints=[], token_out=None))
    assert second.created_at == first.created_at
    assert second.updated_at >= first.updated_at
    got = await store.get_partner("cpo-nl")
    assert got is not None
    assert got.status == "unregistered" and got.endpoints == [] and got.token_out is None
    assert got.created_at == first.created_at


async def test_record_validation_and_repr_hides_the_outgoing_token() -> None:
    record = partner(token_out="very-secret-outgoing")
    assert "very-secret-outgoing" not in repr(record)
    with pytest.raises(ValueError):
        partner(status="active")
    with pytest.raises(ValueError):
        partner(name="")


async def test_token_a_and_current_match_with_their_kind(store: Store) -> None:
    await store.save_partner(partner())
    token_a, token_b = new_token(), new_token()
    await store.set_incoming_token("cpo-nl", token_a, "A")
    await store.set_incoming_token("cpo-nl", token_b, "CURRENT")
    match_a = await store.find_partner_by_token(token_a, NOW)
    match_b = await store.find_partner_by_token(token_b, NOW)
    assert match_a is not None and match_a.kind == "A" and match_a.partner.name == "cpo-nl"
    assert match_b is not None and match_b.kind == "CURRENT"
    assert match_b.partner == await store.get_partner("cpo-nl")
    assert await store.find_partner_by_token(new_token(), NOW) is None
    assert await store.find_partner_by_token("", NOW) is None
    assert await store.find_partner_by_token(token_b.upper(), NOW) is None  # tokens are exact


async def test_new_token_a_replaces_the_old_one(store: Store) -> None:
    await store.save_partner(partner())
    old, new = new_token(), new_token()
    await store.set_incoming_token("cpo-nl", old, "A")
    await store.set_incoming_token("cpo-nl", new, "A")
    assert await store.find_partner_by_token(old, NOW) is None
    assert (await store.find_partner_by_token(new, NOW)) is not None


async def test_rotation_keeps_previous_for_the_grace_period_only(store: Store) -> None:
    await store.save_partner(partner())
    old, new = new_token(), new_token()
    await store.set_incoming_token("cpo-nl", old, "CURRENT", now=NOW)
    await store.set_incoming_token("cpo-nl", new, "CURRENT", grace_seconds=300, now=NOW)
    current = await store.find_partner_by_token(new, NOW)
    assert current is not None and current.kind == "CURRENT"
    previous = await store.find_partner_by_token(old, NOW + timedelta(seconds=299, microseconds=999_999))
    assert previous is not None and previous.kind == "PREVIOUS" and previous.partner.name == "cpo-nl"
    # valid_until = now + grace is the first instant at which it no longer matches
    assert await store.find_partner_by_token(old, NOW + timedelta(seconds=300)) is None
    assert await store.find_partner_by_token(old, NOW + timedelta(days=1)) is None
    assert await store.find_partner_by_token(new, NOW + timedelta(days=1)) is not None


async def test_rotation_without_grace_drops_the_old_token_at_once(store: Store) -> None:
    await store.save_partner(partner())
    old, new = new_token(), new_token()
    await store.set_incoming_token("cpo-nl", old, "CURRENT", now=NOW)
    await store.set_incoming_token("cpo-nl", new, "CURRENT", now=NOW)
    assert await store.find_partner_by_token(old, NOW) is None


async def test_a_second_rotation_replaces_the_previous_token(store: Store) -> None:
    await store.save_partner(partner())
    first, second, third = new_token(), new_token(), new_token()
    await store.set_incoming_token("cpo-nl", first, "CURRENT", now=NOW)
    await store.set_incoming_token("cpo-nl", second, "CURRENT", grace_seconds=60, now=NOW)
    await store.set_incoming_token("cpo-nl", third, "CURRENT", grace_seconds=60, now=NOW)
    assert await store.find_partner_by_token(first, NOW) is None
    match = await store.find_partner_by_token(second, NOW)
    assert match is not None and match.kind == "PREVIOUS"


async def test_setting_the_same_current_token_again_is_a_no_op(store: Store) -> None:
    await store.save_partner(partner())
    token = new_token()
    await store.set_incoming_token("cpo-nl", token, "CURRENT", now=NOW)
    await store.set_incoming_token("cpo-nl", token, "CURRENT", grace_seconds=60, now=NOW)
    match = await store.find_partner_by_token(token, NOW)
    assert match is not None and match.kind == "CURRENT"
    assert await store.revoke_incoming_tokens("cpo-nl", "PREVIOUS") == 0


async def test_revoke_by_kind_and_all(store: Store) -> None:
    await store.save_partner(partner())
    token_a, old, new = new_token(), new_token(), new_token()
    await store.set_incoming_token("cpo-nl", token_a, "A", now=NOW)
    await store.set_incoming_token("cpo-nl", old, "CURRENT", now=NOW)
    await store.set_incoming_token("cpo-nl", new, "CURRENT", grace_seconds=60, now=NOW)
    assert await store.revoke_incoming_tokens("cpo-nl", "A") == 1
    assert await store.find_partner_by_token(token_a, NOW) is None
    assert await store.find_partner_by_token(new, NOW) is not None
    assert await store.revoke_incoming_tokens("cpo-nl") == 2
    assert await store.find_partner_by_token(old, NOW) is None
    assert await store.find_partner_by_token(new, NOW) is None
    assert await store.revoke_incoming_tokens("cpo-nl") == 0


async def test_deleting_a_partner_deletes_its_tokens(store: Store) -> None:
    await store.save_partner(partner())
    token = new_token()
    await store.set_incoming_token("cpo-nl", token, "CURRENT")
    await store.delete_partner("cpo-nl")
    assert await store.find_partner_by_token(token, NOW) is None
    await store.save_partner(partner())
    assert await store.find_partner_by_token(token, NOW) is None


async def test_token_errors(store: Store) -> None:
    with pytest.raises(UnknownPartnerError):
        await store.set_incoming_token("nobody", new_token(), "CURRENT")
    await store.save_partner(partner("one"))
    await store.save_partner(partner("two"))
    shared = new_token()
    await store.set_incoming_token("one", shared, "CURRENT")
    with pytest.raises(StoreError):  # one token can never identify two partners
        await store.set_incoming_token("two", shared, "CURRENT")
    match = await store.find_partner_by_token(shared, NOW)
    assert match is not None and match.partner.name == "one"
    with pytest.raises(ValueError):
        await store.set_incoming_token("one", "", "CURRENT")
    with pytest.raises(ValueError):
        await store.set_incoming_token("one", new_token(), "PREVIOUS")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        await store.find_partner_by_token(shared, datetime(2025, 1, 1))  # naive


async def test_incoming_tokens_are_stored_only_as_hashes(backend: Backend, store: Store) -> None:
    record = await store.save_partner(partner())
    tokens = [new_token() for _ in range(3)]
    await store.set_incoming_token("cpo-nl", tokens[0], "A", now=NOW)
    await store.set_incoming_token("cpo-nl", tokens[1], "CURRENT", now=NOW)
    await store.set_incoming_token("cpo-nl", tokens[2], "CURRENT", grace_seconds=600, now=NOW)
    for token in tokens:
        assert (await store.find_partner_by_token(token, NOW)) is not None
    dump = backend.dump()
    assert record.token_out is not None and record.token_out in dump  # the dump sees everything
    for token in tokens:
        assert token not in dump
        assert hash_token(token) in dump
    if backend.name == "sqlite":
        await store.close()
        for file in Path(sqlite_path(backend.url)).parent.iterdir():
            raw = file.read_bytes()
            for token in tokens:
                assert token.encode() not in raw, file.name
