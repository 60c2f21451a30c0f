"""Versioned migrations: upgrades keep data, several instances migrate once, steps never destroy."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest

from bridge.errors import StoreError
from bridge.store import LATEST_VERSION, PartnerRecord, Store
from bridge.store.schema import MIGRATIONS
from tests.store.conftest import Backend

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_dialects_agree_and_versions_are_consecutive() -> None:
    sqlite, postgres = MIGRATIONS["sqlite"], MIGRATIONS["postgresql"]
    assert [(m.version, m.description) for m in sqlite] == [(m.version, m.description) for m in postgres]
    assert [m.version for m in sqlite] == list(range(1, LATEST_VERSION + 1))
    assert LATEST_VERSION >= 2  # so that the upgrade test below upgrades something


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_migrations_never_destroy_data(dialect: str) -> None:
    destructive = re.compile(r"\b(DROP|DELETE|TRUNCATE|RENAME)\b|\bREPLACE\s+INTO\b", re.IGNORECASE)
    # a foreign key's ON DELETE action is schema, not a deletion
    fk_action = re.compile(r"\bON\s+DELETE\s+(CASCADE|SET\s+NULL|SET\s+DEFAULT|RESTRICT|NO\s+ACTION)\b", re.I)
    for migration in MIGRATIONS[dialect]:  # type: ignore[index]
        for statement in migration.statements:
            checked = fk_action.sub("", statement)
            assert not destructive.search(checked), (migration.version, statement)


async def test_upgrade_from_version_1_keeps_the_data(
    backend: Backend, open_stores: Callable[..., Awaitable[Store]]
) -> None:
    old = await open_stores(target_version=1)
    assert await old.schema_version() == 1
    assert "outbox" not in backend.tables()
    await old.save_partner(
        PartnerRecord(name="cpo-nl", role="CPO", token_out="out-token", status="registered")
    )
    await old.set_incoming_token("cpo-nl", "incoming-token-v1", "CURRENT")
    await old.put_object("locations", "NL", "EXA", "LOC1", {"id": "LOC1", "n": 1.5}, T0, partner="cpo-nl")
    await old.put_object("locations", "NL", "EXA", "LOC2", {"id": "LOC2"}, T0)
    await old.put_correlation("session", "s1", "uuid-1", {"x": 1})
    await old.set_state("oicp.last_call", {"at": "2025-03-01T12:00:00Z"})
    assert await old.next_sequence("reservation_id") == 1
    await old.close()

    new = await open_stores()
    assert await new.schema_version() == LATEST_VERSION
    assert [row[0] for row in backend.query("SELECT version FROM schema_version ORDER BY version")] == list(
        range(1, LATEST_VERSION + 1)
    )
    partner = await new.get_partner("cpo-nl")
    assert partner is not None and partner.token_out == "out-token" and partner.status == "registered"
    match = await new.find_partner_by_token("incoming-token-v1", T0)
    assert match is not None and match.partner.name == "cpo-nl"
    page, total = await new.list_objects("locations")
    assert total == 2 and [o.object_id for o in page] == ["LOC1", "LOC2"]
    assert page[0].data == {"id": "LOC1", "n": 1.5} and page[0].partner == "cpo-nl"
    correlation = await new.get_correlation("session", "s1")
    assert correlation is not None and correlation.data == {"x": 1}
    assert await new.get_state("oicp.last_call") == {"at": "2025-03-01T12:00:00Z"}
    assert await new.next_sequence("reservation_id") == 2
    assert await new.enqueue("hubject", "evse_data", {"id": "LOC1"}, key="LOC1") is not None


async def test_reopening_at_the_latest_version_changes_nothing(
    backend: Backend, store: Store, open_stores: Callable[..., Awaitable[Store]]
) -> None:
    before = backend.query("SELECT version, applied_at FROM schema_version ORDER BY version")
    again = await open_stores()
    assert await again.schema_version() == LATEST_VERSION
    assert backend.query("SELECT version, applied_at FROM schema_version ORDER BY version") == before
    # asking for an older version than the database has is not a downgrade
    older = await open_stores(target_version=1)
    assert await older.schema_version() == LATEST_VERSION


async def test_a_database_from_newer_code_is_refused(
    backend: Backend, store: Store, open_stores: Callable[..., Awaitable[Store]]
) -> None:
    backend.query(
        "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
        (LATEST_VERSION + 1, "from the future", 0),
    )
    with pytest.raises(StoreError, match="newer"):
        await open_stores()


async def test_target_version_out_of_range(open_stores: Callable[..., Awaitable[Store]]) -> None:
    for version in (0, LATEST_VERSION + 1):
        with pytest.raises(ValueError):
            await open_stores(target_version=version)


async def test_instances_starting_together_migrate_once(
    backend: Backend, open_stores: Callable[..., Awaitable[Store]]
) -> None:
    stores = await asyncio.gather(*(open_stores() for _ in range(4)))
    for opened in stores:
        assert await opened.schema_version() == LATEST_VERSION
    assert [row[0] for row in backend.query("SELECT version FROM schema_version ORDER BY version")] == list(
        range(1, LATEST_VERSION + 1)
    )
    await stores[0].put_object("tariffs", "NL", "EXA", "T1", {}, T0)
    assert await stores[3].get_object("tariffs", "nl", "exa", "t1") is not None
