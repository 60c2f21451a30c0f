"""Fixtures: every store test runs against a fresh SQLite file and a fresh PostgreSQL schema.

PostgreSQL is expected at 127.0.0.1:5432, database ``test``, user ``postgres`` (trust auth;
override with ``BRIDGE_TEST_POSTGRES``). When it is unreachable the PostgreSQL half is skipped
with the reason, unless ``CI`` is set: then it fails, so CI never passes without it.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from bridge.store import Store, open_store, sqlite_path

POSTGRES_URL = os.environ.get("BRIDGE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")

_postgres_problem: list[str | None] = []


def postgres_problem() -> str | None:
    """None when PostgreSQL answers, else why not (checked once per session)."""
    if not _postgres_problem:
        try:
            with psycopg.connect(POSTGRES_URL, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
            _postgres_problem.append(None)
        except psycopg.Error as exc:
            _postgres_problem.append(f"PostgreSQL at {POSTGRES_URL} is unreachable: {exc}".strip())
    return _postgres_problem[0]


def require_postgres() -> None:
    """Skip (or, with CI set, fail) when PostgreSQL is not there."""
    problem = postgres_problem()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{problem} (CI is set, so PostgreSQL is required)")
        pytest.skip(problem)


def _with_query(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}"


class Backend:
    """A fresh, isolated database for one test: URLs to open stores on it, and raw access."""

    def __init__(self, name: str, tmp_path: Path) -> None:
        self.name = name
        if name == "sqlite":
            self.url = f"sqlite:///{tmp_path / 'nested' / 'dir' / 'store.db'}"
            self.schema: str | None = None
        else:
            require_postgres()
            self.schema = f"store_test_{secrets.token_hex(6)}"
            self.url = _with_query(POSTGRES_URL, f"schema={self.schema}")

    async def open(self, **kwargs: Any) -> Store:
        """Open one more store on this database (several may be open at once)."""
        return await open_store(self.url, **kwargs)

    def query(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement outside the store, on its own connection (autocommit)."""
        if self.name == "sqlite":
            with sqlite3.connect(sqlite_path(self.url)) as conn:
                return conn.execute(statement, params).fetchall()
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema or "")))
            cursor = conn.execute(statement.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description else []

    def tables(self) -> list[str]:
        """The names of all tables of the store."""
        if self.name == "sqlite":
            rows = self.query("SELECT name FROM sqlite_master WHERE type = 'table'")
        else:
            rows = self.query(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
                (self.schema,),
            )
        return sorted(row[0] for row in rows)

    def dump(self) -> str:
        """Every row of every table as text (for "this secret is nowhere" assertions)."""
        lines = []
        for table in self.tables():
            for row in self.query(f'SELECT * FROM "{table}"'):
                lines.append(f"{table}: {row!r}")
        return "\n".join(lines)

    def drop(self) -> None:
        if self.schema is not None and postgres_problem() is None:
            with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.schema)))


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """A fresh database of each kind; the PostgreSQL schema is dropped afterwards."""
    made = Backend(request.param, tmp_path)
    try:
        yield made
    finally:
        made.drop()


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Store]:
    """An open store at the latest version on the fresh database."""
    opened = await backend.open()
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def open_stores(backend: Backend) -> AsyncIterator[Callable[..., Awaitable[Store]]]:
    """Open extra stores on the same database; whatever is still open is closed at the end."""
    opened: list[Store] = []

    async def _open(**kwargs: Any) -> Store:
        made = await backend.open(**kwargs)
        opened.append(made)
        return made

    try:
        yield _open
    finally:
        for made in opened:
            await made.close()
