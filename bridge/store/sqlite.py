"""The embedded store: one SQLite file through aiosqlite.

One connection per store, guarded by an :class:`asyncio.Lock`: aiosqlite runs every call of a
connection on one thread, so two tasks sharing it must not interleave their transactions.
Every transaction is ``BEGIN IMMEDIATE``: it takes the write lock up front, which serializes
writers (also across processes sharing the file) without the deadlock a deferred transaction
hits when it upgrades to writing in WAL mode.

Pragmas: ``journal_mode=WAL`` (readers do not block the writer), ``foreign_keys=ON``,
``busy_timeout`` (wait for another writer instead of failing), ``synchronous=FULL`` (a committed
outbox message survives a power cut: the "nothing lost" rule of the outbox).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final

import aiosqlite

from bridge.errors import StoreError
from bridge.store._sql import Row, SqlTransaction, migrate
from bridge.store.base import Store, Transaction

DEFAULT_BUSY_TIMEOUT_MS: Final = 5000


class _SqliteConn:
    """:class:`bridge.store._sql.SqlConn` over an aiosqlite connection."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        try:
            rows = await self._conn.execute_fetchall(sql, tuple(params))
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite: {exc}") from exc
        return [tuple(row) for row in rows]

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        try:
            cursor = await self._conn.execute(sql, tuple(params))
            count = cursor.rowcount
            await cursor.close()
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite: {exc}") from exc
        return count


class SqliteStore(Store):
    """A :class:`Store` in one SQLite file (the embedded default)."""

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        """Use :meth:`open`; this only wires an already configured connection."""
        self._conn = conn
        self._sql = _SqliteConn(conn)
        self.dialect = "sqlite"
        self.location = path
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None
        self._closed = False

    @classmethod
    async def open(
        cls,
        path: str,
        *,
        target_version: int | None = None,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    ) -> SqliteStore:
        """Open (creating parent folders and the file if needed) and migrate the database.

        ``path`` is a file path or ``:memory:``. ``target_version`` stops the migrations at that
        version (for upgrade tests and rehearsals; the data methods need the latest).
        """
        if path != ":memory:":
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"sqlite: cannot create the folder for {path}: {exc}") from exc
        try:
            conn = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite: cannot open {path}: {exc}") from exc
        store = cls(conn, path)
        try:
            await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            await conn.execute("PRAGMA foreign_keys = ON")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = FULL")
            async with store._begin() as sql:
                await migrate(sql, "sqlite", target_version)
        except sqlite3.Error as exc:
            await conn.close()
            raise StoreError(f"sqlite: cannot open {path}: {exc}") from exc
        except BaseException:
            await conn.close()
            raise
        return store

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the store is closed")

    @asynccontextmanager
    async def _begin(self) -> AsyncIterator[_SqliteConn]:
        """Hold the lock and a ``BEGIN IMMEDIATE`` transaction; commit or roll back."""
        self._check_open()
        task = asyncio.current_task()
        if task is not None and task is self._owner:
            raise RuntimeError("store method called inside store.transaction(): use the tx object")
        async with self._lock:
            self._check_open()
            self._owner = task
            try:
                try:
                    await self._sql.execute("BEGIN IMMEDIATE")
                except StoreError:
                    if not self._conn.in_transaction:
                        raise
                    # A cancelled task left its transaction open: discard it and start ours.
                    await self._rollback()
                    await self._sql.execute("BEGIN IMMEDIATE")
                try:
                    yield self._sql
                    await self._sql.execute("COMMIT")
                except BaseException:
                    await self._rollback()
                    raise
            finally:
                self._owner = None

    async def _rollback(self) -> None:
        try:
            if self._conn.in_transaction:
                await self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            # The original exception matters more; the next _begin rolls back again.
            pass

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """Open a transaction: ``async with store.transaction() as tx: ...``."""
        async with self._begin() as sql:
            tx = SqlTransaction(sql, "sqlite")
            try:
                yield tx
            finally:
                tx.close()

    async def close(self) -> None:
        """Close the connection (waiting for a running transaction); idempotent."""
        if self._closed:
            return
        if asyncio.current_task() is self._owner:
            raise RuntimeError("close() called inside store.transaction()")
        async with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                await self._conn.close()
            except sqlite3.Error as exc:
                raise StoreError(f"sqlite: close failed: {exc}") from exc

    async def ping(self) -> None:
        """Read the schema version inside a transaction; raise :class:`StoreError` on failure."""
        await self.schema_version()

    async def schema_version(self) -> int:
        """The highest applied migration."""
        async with self._begin() as sql:
            rows = await sql.fetchall("SELECT COALESCE(MAX(version), 0) FROM schema_version")
        return int(rows[0][0])
