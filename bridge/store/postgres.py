"""The shared store: PostgreSQL through psycopg 3 and an async connection pool.

Several gateway instances may use one database: migrations run under a transaction-scoped
advisory lock (the first instance migrates, the others wait and find nothing to do), outbox
claims use ``FOR UPDATE SKIP LOCKED``, and every data method runs in a short transaction on a
pooled connection.

URL: ``postgresql://user:pass@host:port/db`` (or ``postgres://``) with any libpq parameter in
the query string, e.g. ``?options=-csearch_path%3Dbridge``. Parameters of our own, removed before
the URL reaches libpq:

* ``schema=<name>``: create the schema if missing and put it first on the ``search_path``
  (lower-case letters, digits and ``_``; tests isolate themselves in a fresh schema this way).
* ``pool_min_size`` / ``pool_max_size``: pool bounds (default 1 and 10).

libpq's ``connect_timeout`` (seconds) also bounds how long opening the pool, ``ping`` and
waiting for a free connection may take (default 10 s).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql as pgsql
from psycopg_pool import AsyncConnectionPool

from bridge.errors import StoreError
from bridge.store._sql import Row, SqlTransaction, migrate
from bridge.store.base import Store, Transaction

MIGRATION_LOCK_KEY: Final = int.from_bytes(
    hashlib.sha256(b"ocpi-oicp-bridge:store:migrate").digest()[:8], "big", signed=True
)
"""``pg_advisory_xact_lock`` key held while migrating (one per database)."""

DEFAULT_TIMEOUT: Final = 10.0
_SCHEMA_NAME: Final = re.compile(r"[a-z_][a-z0-9_]{0,62}")


@dataclass(frozen=True, slots=True)
class PostgresSettings:
    """What :func:`parse_postgres_url` extracts from a store URL."""

    conninfo: str
    schema: str | None
    options: str | None
    min_size: int
    max_size: int
    timeout: float
    where: str
    """``host:port/db`` for messages: never the password."""


def parse_postgres_url(url: str) -> PostgresSettings:
    """Split our own parameters from the libpq URL (see the module docstring)."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise StoreError("a PostgreSQL store URL starts with postgresql://")
    query: list[tuple[str, str]] = []
    schema: str | None = None
    options: str | None = None
    min_size, max_size, timeout = 1, 10, DEFAULT_TIMEOUT
    try:
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            if name == "schema":
                schema = value
            elif name == "pool_min_size":
                min_size = int(value)
            elif name == "pool_max_size":
                max_size = int(value)
            elif name == "options":
                options = value
            else:
                if name == "connect_timeout":
                    timeout = max(float(value), 1.0)
                query.append((name, value))
    except ValueError as exc:
        raise StoreError(f"invalid PostgreSQL store URL parameter: {exc}") from None
    if not 0 <= min_size <= max_size or max_size < 1:
        raise StoreError("pool sizes must satisfy 0 <= pool_min_size <= pool_max_size, pool_max_size >= 1")
    if schema is not None:
        if not _SCHEMA_NAME.fullmatch(schema):
            raise StoreError(
                "schema must be 1-63 lower-case letters, digits or '_', not starting with a digit"
            )
        options = f"{options} -c search_path={schema}" if options else f"-c search_path={schema}"
    conninfo = urlunsplit(
        (parts.scheme, parts.netloc, parts.path, urlencode(query, quote_via=quote), parts.fragment)
    )
    try:
        port = parts.port or 5432
    except ValueError:
        raise StoreError("invalid port in the PostgreSQL store URL") from None
    where = f"{parts.hostname or 'localhost'}:{port}{parts.path or '/'}"
    return PostgresSettings(conninfo, schema, options, min_size, max_size, timeout, where)


def _store_error(exc: psycopg.Error) -> StoreError:
    """A StoreError without DETAIL: PostgreSQL quotes failing rows there, tokens included."""
    primary = exc.diag.message_primary if exc.diag else None
    state = f" (SQLSTATE {exc.sqlstate})" if exc.sqlstate else ""
    return StoreError(f"postgresql: {primary or type(exc).__name__}{state}")


@lru_cache(maxsize=512)
def _placeholders(sql: str) -> str:
    """``?`` (the shared SQL) to psycopg's ``%s``; a literal ``%`` is doubled."""
    return sql.replace("%", "%%").replace("?", "%s")


class _PgConn:
    """:class:`bridge.store._sql.SqlConn` over a psycopg connection inside a transaction."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        try:
            cursor = await self._conn.execute(_placeholders(sql), list(params))
            rows = await cursor.fetchall() if cursor.description is not None else []
        except psycopg.Error as exc:
            raise _store_error(exc) from None
        return [tuple(row) for row in rows]

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        try:
            cursor = await self._conn.execute(_placeholders(sql), list(params))
        except psycopg.Error as exc:
            raise _store_error(exc) from None
        return max(cursor.rowcount, 0)


class PostgresStore(Store):
    """A :class:`Store` on PostgreSQL, shared by any number of gateway instances."""

    def __init__(
        self, pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]], settings: PostgresSettings
    ) -> None:
        """Use :meth:`open`; this only wires an open pool."""
        self._pool = pool
        self.settings = settings
        self.dialect = "postgresql"
        self.location = settings.where if settings.schema is None else f"{settings.where} ({settings.schema})"
        self._closed = False
        self._tx_tasks: set[asyncio.Task[Any]] = set()

    @classmethod
    async def open(cls, url: str, *, target_version: int | None = None) -> PostgresStore:
        """Open the pool and migrate (under the advisory lock) up to ``target_version``
        (default: the latest; lower values are for upgrade tests and rehearsals)."""
        settings = parse_postgres_url(url)
        kwargs: dict[str, Any] = {"autocommit": True}
        if settings.options:
            kwargs["options"] = settings.options
        pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = AsyncConnectionPool(
            settings.conninfo,
            kwargs=kwargs,
            min_size=settings.min_size,
            max_size=settings.max_size,
            open=False,
            check=AsyncConnectionPool.check_connection,
            timeout=settings.timeout,
            name="bridge-store",
        )
        try:
            await pool.open(wait=True, timeout=settings.timeout)
        except psycopg.Error:
            await pool.close()
            raise StoreError(f"postgresql: cannot connect to {settings.where}") from None
        store = cls(pool, settings)
        try:
            await store._migrate(target_version)
        except BaseException:
            await pool.close()
            raise
        return store

    async def _migrate(self, target_version: int | None) -> None:
        try:
            async with self._pool.connection() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
                if self.settings.schema is not None:
                    await conn.execute(
                        pgsql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                            pgsql.Identifier(self.settings.schema)
                        )
                    )
                await migrate(_PgConn(conn), "postgresql", target_version)
        except psycopg.Error as exc:
            raise _store_error(exc) from None

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the store is closed")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """Open a transaction on a pooled connection: ``async with store.transaction() as tx``."""
        self._check_open()
        task = asyncio.current_task()
        if task is not None and task in self._tx_tasks:
            raise RuntimeError("store method called inside store.transaction(): use the tx object")
        try:
            async with self._pool.connection() as conn:
                if task is not None:
                    self._tx_tasks.add(task)
                try:
                    async with conn.transaction():
                        tx = SqlTransaction(_PgConn(conn), "postgresql")
                        try:
                            yield tx
                        finally:
                            tx.close()
                finally:
                    if task is not None:
                        self._tx_tasks.discard(task)
        except psycopg.Error as exc:
            raise _store_error(exc) from None

    async def close(self) -> None:
        """Close the pool (waiting for connections in use to come back); idempotent."""
        if self._closed:
            return
        self._closed = True
        await self._pool.close()

    async def ping(self) -> None:
        """``SELECT 1`` on a pooled connection; :class:`StoreError` when unreachable."""
        self._check_open()
        try:
            async with self._pool.connection(timeout=self.settings.timeout) as conn:
                await conn.execute("SELECT 1")
        except psycopg.Error:
            raise StoreError(f"postgresql: {self.settings.where} is unreachable") from None

    async def schema_version(self) -> int:
        """The highest applied migration."""
        self._check_open()
        try:
            async with self._pool.connection() as conn:
                cursor = await conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version")
                row = await cursor.fetchone()
        except psycopg.Error as exc:
            raise _store_error(exc) from None
        return int(row[0]) if row else 0
