"""The gateway's durable state: partners, credentials tokens, OCPI objects, id correlations,
the outbox, and small watermarks. One schema for SQLite (embedded default) and PostgreSQL
(several instances); see docs/store.md.

Usage::

    from bridge.store import open_store

    store = await open_store("sqlite:////var/lib/bridge/bridge.db")
    async with store.transaction() as tx:
        await tx.put_object("locations", "NL", "ABC", "LOC1", data, last_updated, partner="cpo1")
        await tx.enqueue("hubject", "evse_data", payload, order_key="LOC1")
    await store.close()
"""

from __future__ import annotations

from bridge.errors import StoreError
from bridge.store.base import (
    Correlation,
    IncomingTokenKind,
    OutboxMessage,
    OutboxStatus,
    PartnerRecord,
    PartnerStatus,
    Store,
    StoredObject,
    TokenKind,
    TokenMatch,
    Transaction,
    UnknownPartnerError,
    hash_token,
)
from bridge.store.schema import LATEST_VERSION

__all__ = [
    "LATEST_VERSION",
    "Correlation",
    "IncomingTokenKind",
    "OutboxMessage",
    "OutboxStatus",
    "PartnerRecord",
    "PartnerStatus",
    "Store",
    "StoreError",
    "StoredObject",
    "TokenKind",
    "TokenMatch",
    "Transaction",
    "UnknownPartnerError",
    "hash_token",
    "open_store",
    "sqlite_path",
]

_SQLITE_PREFIX = "sqlite:///"


def sqlite_path(url: str) -> str:
    """The file path of a ``sqlite:///`` URL: ``sqlite:///rel/path.db`` is relative to the
    working directory, ``sqlite:////abs/path.db`` absolute, ``sqlite:///:memory:`` in memory."""
    if not url.startswith(_SQLITE_PREFIX):
        raise StoreError("a SQLite store URL looks like sqlite:///relative.db or sqlite:////abs/path.db")
    path = url[len(_SQLITE_PREFIX):]
    if not path:
        raise StoreError("the SQLite store URL names no file")
    return path


async def open_store(url: str, *, target_version: int | None = None) -> Store:
    """Open the store named by ``url`` and migrate it to the latest schema version.

    ``sqlite:///...`` opens (creating folders and file) a SQLite database; ``postgresql://...``
    (or ``postgres://``) a PostgreSQL pool (see :mod:`bridge.store.postgres` for the query
    parameters). ``target_version`` stops the migrations early: for upgrade tests only.
    Raises :class:`StoreError` when the URL is invalid or the database unreachable; error
    messages never contain the password.
    """
    if url.startswith("sqlite:"):
        from bridge.store.sqlite import SqliteStore

        return await SqliteStore.open(sqlite_path(url), target_version=target_version)
    if url.startswith(("postgresql://", "postgres://")):
        try:
            from bridge.store.postgres import PostgresStore
        except ImportError as exc:  # the optional extra "postgres" is not installed
            raise StoreError(f"PostgreSQL support needs psycopg and psycopg-pool: {exc}") from exc
        return await PostgresStore.open(url, target_version=target_version)
    scheme = url.split(":", 1)[0] if ":" in url else url[:20]
    raise StoreError(f"unsupported store URL scheme {scheme!r} (use sqlite:/// or postgresql://)")
