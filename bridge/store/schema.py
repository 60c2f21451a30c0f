"""The schema: one logical design, DDL per dialect, versioned migrations.

Rules for migrations (docs/store.md):

* The list is append-only. A released migration is never edited; a change is a new step.
* Steps never destroy data: no ``DROP TABLE``, ``DROP COLUMN``, ``DELETE`` or ``TRUNCATE``
  (checked by ``tests/store/test_migrations.py``). Add columns with defaults, add tables and
  indexes, backfill with ``UPDATE``.
* Every step exists for both dialects with the same version number and description.
* ``open_store`` applies the pending steps in one transaction (all or nothing) and records each
  in ``schema_version``; on PostgreSQL under an advisory lock so that several gateway instances
  starting together migrate once.

Storage choices (the same for both dialects):

* Timestamps are ``BIGINT`` microseconds since the epoch, UTC: exact comparisons for the OCPI
  ``date_from`` (inclusive) / ``date_to`` (exclusive) filters, no time-zone handling in SQL.
* JSON is ``TEXT``: PostgreSQL ``jsonb`` would reorder keys and rewrite numbers (a float such as
  ``1e300`` comes back as an integer), and the round-trip must be exact.
* OCPI ids compare case-insensitively (CiString, ocpi.md §3): ``key_*`` columns hold the
  upper-cased ids for the unique key; the original spelling is kept beside them.
* Incoming credentials tokens are stored as hex SHA-256 only, unique across the table so that a
  token can never identify two partners.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Dialect = Literal["sqlite", "postgresql"]


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: applied once, in order, inside the migration transaction."""

    version: int
    description: str
    statements: tuple[str, ...]


SCHEMA_VERSION_DDL: Final[dict[Dialect, str]] = {
    "sqlite": (
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY NOT NULL,"
        " description TEXT NOT NULL,"
        " applied_at INTEGER NOT NULL)"
    ),
    "postgresql": (
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY,"
        " description TEXT NOT NULL,"
        " applied_at BIGINT NOT NULL)"
    ),
}
"""The bookkeeping table, created before the first migration (not itself a migration)."""


def _core(serial_pk: str, big: str) -> tuple[str, ...]:
    """Version 1: partners, incoming tokens, objects, correlations, sequences, state."""
    return (
        f"""CREATE TABLE partners (
            name TEXT PRIMARY KEY NOT NULL,
            role TEXT NOT NULL,
            version TEXT,
            versions_url TEXT,
            endpoints TEXT NOT NULL,
            roles TEXT NOT NULL,
            token_out TEXT,
            token_encoding TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('new', 'registered', 'unregistered')),
            created_at {big} NOT NULL,
            updated_at {big} NOT NULL
        )""",
        f"""CREATE TABLE incoming_tokens (
            id {serial_pk},
            partner TEXT NOT NULL REFERENCES partners (name) ON DELETE CASCADE ON UPDATE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('A', 'CURRENT', 'PREVIOUS')),
            token_hash TEXT NOT NULL,
            valid_until {big},
            created_at {big} NOT NULL,
            UNIQUE (partner, kind)
        )""",
        "CREATE UNIQUE INDEX incoming_tokens_hash ON incoming_tokens (token_hash)",
        f"""CREATE TABLE objects (
            seq {serial_pk},
            kind TEXT NOT NULL,
            key_cc TEXT NOT NULL,
            key_pid TEXT NOT NULL,
            key_id TEXT NOT NULL,
            country_code TEXT NOT NULL,
            party_id TEXT NOT NULL,
            object_id TEXT NOT NULL,
            data TEXT NOT NULL,
            last_updated {big} NOT NULL,
            partner TEXT,
            created_at {big} NOT NULL,
            updated_at {big} NOT NULL,
            UNIQUE (kind, key_cc, key_pid, key_id)
        )""",
        "CREATE INDEX objects_kind_seq ON objects (kind, seq)",
        "CREATE INDEX objects_kind_last_updated ON objects (kind, last_updated)",
        f"""CREATE TABLE correlations (
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            data TEXT,
            created_at {big} NOT NULL,
            updated_at {big} NOT NULL,
            PRIMARY KEY (kind, key)
        )""",
        "CREATE INDEX correlations_value ON correlations (kind, value)",
        f"""CREATE TABLE sequences (
            name TEXT PRIMARY KEY NOT NULL,
            value {big} NOT NULL
        )""",
        f"""CREATE TABLE state (
            key TEXT PRIMARY KEY NOT NULL,
            value TEXT NOT NULL,
            updated_at {big} NOT NULL
        )""",
    )


def _outbox(serial_pk: str, big: str) -> tuple[str, ...]:
    """Version 2: the outbox, with leases and per-(target, order_key) FIFO groups."""
    return (
        f"""CREATE TABLE outbox (
            id {serial_pk},
            target TEXT NOT NULL,
            kind TEXT NOT NULL,
            key TEXT,
            order_key TEXT,
            payload TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'delivered', 'dead', 'held')),
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            available_at {big} NOT NULL,
            lease_owner TEXT,
            lease_until {big},
            created_at {big} NOT NULL,
            updated_at {big} NOT NULL,
            UNIQUE (target, kind, key)
        )""",
        "CREATE INDEX outbox_status_target ON outbox (status, target, id)",
        "CREATE INDEX outbox_fifo ON outbox (target, order_key, id) WHERE status IN ('pending', 'held')",
    )


_SQLITE_PK: Final = "INTEGER PRIMARY KEY AUTOINCREMENT"
_PG_PK: Final = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"

MIGRATIONS: Final[dict[Dialect, tuple[Migration, ...]]] = {
    "sqlite": (
        Migration(1, "partners, incoming tokens, objects, correlations, sequences, state",
                  _core(_SQLITE_PK, "INTEGER")),
        Migration(2, "outbox", _outbox(_SQLITE_PK, "INTEGER")),
    ),
    "postgresql": (
        Migration(1, "partners, incoming tokens, objects, correlations, sequences, state",
                  _core(_PG_PK, "BIGINT")),
        Migration(2, "outbox", _outbox(_PG_PK, "BIGINT")),
    ),
}
"""Ordered migrations per dialect; versions are 1, 2, 3... without gaps."""

LATEST_VERSION: Final[int] = len(MIGRATIONS["sqlite"])
"""The schema version this code writes and reads."""

