"""Opening, pinging, closing; URL forms of both backends."""

from __future__ import annotations

import secrets
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from bridge.errors import StoreError
from bridge.store import LATEST_VERSION, PartnerRecord, Store, open_store, sqlite_path
from tests.store.conftest import POSTGRES_URL, Backend, require_postgres


async def test_open_migrates_to_latest_and_pings(backend: Backend, store: Store) -> None:
    assert await store.schema_version() == LATEST_VERSION
    await store.ping()
    assert store.dialect == backend.name
    assert store.location.endswith("store.db") if backend.name == "sqlite" else "/test" in store.location
    assert {"partners", "incoming_tokens", "objects", "correlations", "outbox", "schema_version"} <= set(
        backend.tables()
    )


async def test_sqlite_creates_folders_file_and_uses_wal(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a' / 'b' / 'bridge.db'}"
    assert url.startswith("sqlite:////")  # the absolute form
    store = await open_store(url)
    try:
        assert (tmp_path / "a" / "b" / "bridge.db").is_file()
        async with store.transaction() as tx:
            await tx.save_partner(PartnerRecord(name="p", role="CPO"))
    finally:
        await store.close()
    import sqlite3

    with sqlite3.connect(tmp_path / "a" / "b" / "bridge.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_sqlite_relative_url_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert sqlite_path("sqlite:///data/bridge.db") == "data/bridge.db"
    assert sqlite_path("sqlite:////abs/bridge.db") == "/abs/bridge.db"
    store = await open_store("sqlite:///data/bridge.db")
    await store.close()
    assert (tmp_path / "data" / "bridge.db").is_file()


async def test_sqlite_file_that_is_not_a_database_raises_store_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"this is not a SQLite database, just some text that is long enough" * 20)
    with pytest.raises(StoreError):
        await open_store(f"sqlite:///{path}")


async def test_sqlite_in_memory() -> None:
    store = await open_store("sqlite:///:memory:")
    try:
        assert await store.schema_version() == LATEST_VERSION
        assert await store.next_sequence("n") == 1
    finally:
        await store.close()


async def test_calls_after_close_raise_store_error(store: Store) -> None:
    await store.close()
    await store.close()  # idempotent
    with pytest.raises(StoreError):
        await store.ping()
    with pytest.raises(StoreError):
        await store.get_partner("p")
    with pytest.raises(StoreError):
        await store.schema_version()


@pytest.mark.parametrize(
    "url",
    [
        "mysql://root@localhost/db",
        "sqlite://relative.db",
        "sqlite:///",
        "bridge.db",
        "postgresql://u@host:notaport/db",
        "postgresql://u@host/db?pool_max_size=x",
        "postgresql://u@host/db?pool_min_size=5&pool_max_size=2",
    ],
)
async def test_invalid_urls_raise_store_error(url: str) -> None:
    with pytest.raises(StoreError):
        await open_store(url)


async def test_unreachable_postgres_raises_store_error_without_password() -> None:
    with pytest.raises(StoreError) as caught:
        await open_store("postgresql://postgres:s3cret-pw@127.0.0.1:1/test?connect_timeout=1")
    assert "s3cret-pw" not in str(caught.value)
    assert "127.0.0.1:1" in str(caught.value)


async def test_postgres_rejects_unsafe_schema_names() -> None:
    for name in ("Upper", "has-dash", "1digit", "x;drop"):
        with pytest.raises(StoreError):
            await open_store(f"{POSTGRES_URL}?schema={name}")


async def test_postgres_search_path_in_options_parameter() -> None:
    require_postgres()
    schema = f"store_test_{secrets.token_hex(6)}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        store = await open_store(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
        try:
            assert await store.schema_version() == LATEST_VERSION
            await store.set_state("k", {"v": 1})
        finally:
            await store.close()
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
            ).fetchall()
        assert {"outbox", "objects", "state"} <= {row[0] for row in rows}
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


async def test_postgres_store_recovers_when_the_server_drops_its_connections() -> None:
    require_postgres()
    schema = f"store_test_{secrets.token_hex(6)}"
    app = f"bridge_{schema}"
    store = await open_store(f"{POSTGRES_URL}?schema={schema}&application_name={app}&pool_max_size=2")
    try:
        await store.set_state("k", {"v": 1})
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            killed = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                (app,),
            ).fetchall()
        assert killed, "the pool had no connection to drop"
        await store.ping()
        assert await store.get_state("k") == {"v": 1}
    finally:
        await store.close()
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
