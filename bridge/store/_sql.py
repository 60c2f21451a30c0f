"""The data API in SQL, shared by the SQLite and PostgreSQL backends.

Both dialects understand the same statements (``ON CONFLICT``, ``RETURNING``, partial indexes,
row filters), so the SQL is written once with ``?`` placeholders; the PostgreSQL connection
adapter rewrites them for psycopg. The two places where the dialects differ are row locking
(PostgreSQL ``FOR UPDATE [SKIP LOCKED]``; SQLite needs none because every transaction is
``BEGIN IMMEDIATE``, which serializes writers) and the DDL in :mod:`bridge.store.schema`.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

from bridge.errors import StoreError
from bridge.store.base import (
    OUTBOX_STATUSES,
    Correlation,
    IncomingTokenKind,
    OutboxMessage,
    OutboxStatus,
    PartnerRecord,
    StoredObject,
    TokenKind,
    TokenMatch,
    Transaction,
    UnknownPartnerError,
    from_micros,
    hash_token,
    to_micros,
    utcnow,
)
from bridge.store.schema import LATEST_VERSION, MIGRATIONS, SCHEMA_VERSION_DDL, Dialect

Row = tuple[Any, ...]

MAX_ERROR_CHARS: Final = 2000
"""``last_error`` is cut to this length: a partner's error page must not bloat the outbox."""

_PARTNER_COLS: Final = (
    "name, role, version, versions_url, endpoints, roles, token_out, token_encoding, status,"
    " created_at, updated_at"
)
_OBJECT_COLS: Final = "kind, country_code, party_id, object_id, data, last_updated, partner, seq"
_CORRELATION_COLS: Final = "kind, key, value, data, created_at, updated_at"
_OUTBOX_COLS: Final = (
    "id, target, kind, key, order_key, payload, status, attempts, last_error, available_at,"
    " created_at, updated_at, lease_owner, lease_until"
)


class SqlConn(Protocol):
    """What a backend provides to run statements inside its open transaction.

    Both methods raise :class:`StoreError` for database errors, with no row values in the
    message (a PostgreSQL DETAIL line may quote a row, and a row may hold ``token_out``).
    """

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one statement and return all its rows."""

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement and return the number of rows it changed."""


def dumps(value: Any) -> str:
    """JSON text for a JSON-compatible value; NaN/Infinity and non-JSON types raise ValueError/
    TypeError rather than being stored as something that would not round-trip."""
    return json.dumps(value, allow_nan=False, separators=(",", ":"))


def loads(text: str) -> Any:
    """The value of :func:`dumps`' text."""
    return json.loads(text)


def _marks(count: int) -> str:
    return ", ".join("?" * count)


def _check_page(offset: int, limit: int) -> None:
    if offset < 0 or limit < 0:
        raise ValueError("offset and limit must not be negative")


def _partner(row: Row) -> PartnerRecord:
    return PartnerRecord(
        name=row[0],
        role=row[1],
        version=row[2],
        versions_url=row[3],
        endpoints=loads(row[4]),
        roles=loads(row[5]),
        token_out=row[6],
        token_encoding=row[7],
        status=row[8],
        created_at=from_micros(row[9]),
        updated_at=from_micros(row[10]),
    )


def _object(row: Row) -> StoredObject:
    return StoredObject(
        kind=row[0],
        country_code=row[1],
        party_id=row[2],
        object_id=row[3],
        data=loads(row[4]),
        last_updated=from_micros(row[5]),
        partner=row[6],
        seq=int(row[7]),
    )


def _correlation(row: Row) -> Correlation:
    return Correlation(
        kind=row[0],
        key=row[1],
        value=row[2],
        data=None if row[3] is None else loads(row[3]),
        created_at=from_micros(row[4]),
        updated_at=from_micros(row[5]),
    )


def _message(row: Row) -> OutboxMessage:
    return OutboxMessage(
        id=int(row[0]),
        target=row[1],
        kind=row[2],
        key=row[3],
        order_key=row[4],
        payload=loads(row[5]),
        status=row[6],
        attempts=int(row[7]),
        last_error=row[8],
        available_at=from_micros(row[9]),
        created_at=from_micros(row[10]),
        updated_at=from_micros(row[11]),
        lease_owner=row[12],
        lease_until=None if row[13] is None else from_micros(row[13]),
    )


async def migrate(conn: SqlConn, dialect: Dialect, target_version: int | None = None) -> int:
    """Apply the pending migrations up to ``target_version`` (default: the latest).

    Runs inside the caller's transaction (and, on PostgreSQL, under its advisory lock), so the
    upgrade is all or nothing. Returns the version the database is at afterwards. A database
    written by newer code (a version this code does not know) raises :class:`StoreError`.
    """
    target = LATEST_VERSION if target_version is None else target_version
    if not 1 <= target <= LATEST_VERSION:
        raise ValueError(f"target_version must be between 1 and {LATEST_VERSION}")
    await conn.execute(SCHEMA_VERSION_DDL[dialect])
    rows = await conn.fetchall("SELECT COALESCE(MAX(version), 0) FROM schema_version")
    current = int(rows[0][0])
    if current > LATEST_VERSION:
        raise StoreError(
            f"the database schema is at version {current}, newer than this code knows "
            f"({LATEST_VERSION}); upgrade the gateway"
        )
    for migration in MIGRATIONS[dialect]:
        if current < migration.version <= target:
            for statement in migration.statements:
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.description, to_micros(utcnow())),
            )
    return max(current, target)


class SqlTransaction(Transaction):
    """:class:`Transaction` over a backend connection that is inside an open transaction."""

    def __init__(self, conn: SqlConn, dialect: Dialect) -> None:
        self._conn = conn
        self._dialect = dialect
        self._open = True
        postgres = dialect == "postgresql"
        self._for_update = " FOR UPDATE" if postgres else ""
        self._skip_locked = " FOR UPDATE OF o SKIP LOCKED" if postgres else ""

    def close(self) -> None:
        """Called by the backend when the transaction block ends; later use raises."""
        self._open = False

    async def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        if not self._open:
            raise RuntimeError("this transaction has ended; open a new one with store.transaction()")
        return await self._conn.fetchall(sql, params)

    async def _execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        if not self._open:
            raise RuntimeError("this transaction has ended; open a new one with store.transaction()")
        return await self._conn.execute(sql, params)

    # ---- partners and credentials -----------------------------------------------------------

    async def save_partner(self, record: PartnerRecord) -> PartnerRecord:
        now = utcnow()
        now_us = to_micros(now)
        rows = await self._fetchall(
            f"INSERT INTO partners ({_PARTNER_COLS}) VALUES ({_marks(11)})"
            " ON CONFLICT (name) DO UPDATE SET role = excluded.role, version = excluded.version,"
            " versions_url = excluded.versions_url, endpoints = excluded.endpoints,"
            " roles = excluded.roles, token_out = excluded.token_out,"
            " token_encoding = excluded.token_encoding, status = excluded.status,"
            " updated_at = excluded.updated_at"
            " RETURNING created_at",
            (
                record.name,
                record.role,
                record.version,
                record.versions_url,
                dumps(record.endpoints),
                dumps(record.roles),
                record.token_out,
                record.token_encoding,
                record.status,
                now_us,
                now_us,
            ),
        )
        return PartnerRecord(
            name=record.name,
            role=record.role,
            version=record.version,
            versions_url=record.versions_url,
            endpoints=loads(dumps(record.endpoints)),
            roles=loads(dumps(record.roles)),
            token_out=record.token_out,
            token_encoding=record.token_encoding,
            status=record.status,
            created_at=from_micros(rows[0][0]),
            updated_at=now,
        )

    async def get_partner(self, name: str) -> PartnerRecord | None:
        rows = await self._fetchall(f"SELECT {_PARTNER_COLS} FROM partners WHERE name = ?", (name,))
        return _partner(rows[0]) if rows else None

    async def list_partners(self) -> list[PartnerRecord]:
        rows = await self._fetchall(f"SELECT {_PARTNER_COLS} FROM partners ORDER BY name")
        return [_partner(row) for row in rows]

    async def delete_partner(self, name: str) -> bool:
        await self._execute("DELETE FROM incoming_tokens WHERE partner = ?", (name,))
        return await self._execute("DELETE FROM partners WHERE name = ?", (name,)) > 0

    async def set_incoming_token(
        self,
        partner_name: str,
        token: str,
        kind: IncomingTokenKind,
        *,
        grace_seconds: float = 0.0,
        now: datetime | None = None,
    ) -> None:
        if not token:
            raise ValueError("an incoming token must not be empty")
        if kind not in ("A", "CURRENT"):
            raise ValueError("kind must be 'A' or 'CURRENT' (PREVIOUS comes from rotation)")
        now_us = to_micros(now if now is not None else utcnow())
        found = await self._fetchall(
            f"SELECT name FROM partners WHERE name = ?{self._for_update}", (partner_name,)
        )
        if not found:
            raise UnknownPartnerError(f"unknown partner {partner_name!r}")
        digest = hash_token(token)
        # Expired grace tokens are dead weight and would hold their hash in the unique index.
        await self._execute(
            "DELETE FROM incoming_tokens WHERE kind = 'PREVIOUS' AND valid_until <= ?", (now_us,)
        )
        if kind == "CURRENT":
            current = await self._fetchall(
                "SELECT id, token_hash FROM incoming_tokens WHERE partner = ? AND kind = 'CURRENT'",
                (partner_name,),
            )
            if current and hmac.compare_digest(current[0][1], digest):
                return
            await self._execute(
                "DELETE FROM incoming_tokens WHERE partner = ? AND kind = 'PREVIOUS'", (partner_name,)
            )
            if current:
                grace_us = int(grace_seconds * 1_000_000)
                if grace_us > 0:
                    await self._execute(
                        "UPDATE incoming_tokens SET kind = 'PREVIOUS', valid_until = ? WHERE id = ?",
                        (now_us + grace_us, current[0][0]),
                    )
                else:
                    await self._execute("DELETE FROM incoming_tokens WHERE id = ?", (current[0][0],))
        else:
            await self._execute(
                "DELETE FROM incoming_tokens WHERE partner = ? AND kind = 'A'", (partner_name,)
            )
        await self._execute(
            "INSERT INTO incoming_tokens (partner, kind, token_hash, valid_until, created_at)"
            " VALUES (?, ?, ?, NULL, ?)",
            (partner_name, kind, digest, now_us),
        )

    async def revoke_incoming_tokens(self, partner_name: str, kind: TokenKind | None = None) -> int:
        if kind is None:
            return await self._execute("DELETE FROM incoming_tokens WHERE partner = ?", (partner_name,))
        return await self._execute(
            "DELETE FROM incoming_tokens WHERE partner = ? AND kind = ?", (partner_name, kind)
        )

    async def find_partner_by_token(self, token: str, now: datetime) -> TokenMatch | None:
        now_us = to_micros(now)
        if not token:
            return None
        digest = hash_token(token)
        columns = ", ".join(f"p.{c.strip()}" for c in _PARTNER_COLS.split(","))
        rows = await self._fetchall(
            f"SELECT t.kind, t.token_hash, t.valid_until, {columns}"
            " FROM incoming_tokens t JOIN partners p ON p.name = t.partner"
            " WHERE t.token_hash = ?",
            (digest,),
        )
        for row in rows:
            kind, stored, valid_until = row[0], row[1], row[2]
            if not hmac.compare_digest(stored, digest):
                continue
            if kind == "PREVIOUS" and (valid_until is None or valid_until <= now_us):
                continue
            return TokenMatch(partner=_partner(row[3:]), kind=kind)
        return None

    # ---- OCPI objects -----------------------------------------------------------------------

    async def put_object(
        self,
        kind: str,
        country_code: str,
        party_id: str,
        object_id: str,
        data: dict[str, Any],
        last_updated: datetime,
        *,
        partner: str | None = None,
    ) -> bool:
        text = dumps(data)
        updated_us = to_micros(last_updated)
        now_us = to_micros(utcnow())
        key = (kind, country_code.upper(), party_id.upper(), object_id.upper())
        # INSERT .. DO NOTHING then UPDATE, rather than one upsert, tells created from replaced
        # in both dialects; the loop covers a concurrent delete between the two statements.
        for _ in range(3):
            created = await self._fetchall(
                "INSERT INTO objects (kind, key_cc, key_pid, key_id, country_code, party_id,"
                " object_id, data, last_updated, partner, created_at, updated_at)"
                f" VALUES ({_marks(12)})"
                " ON CONFLICT (kind, key_cc, key_pid, key_id) DO NOTHING RETURNING seq",
                (*key, country_code, party_id, object_id, text, updated_us, partner, now_us, now_us),
            )
            if created:
                return True
            replaced = await self._execute(
                "UPDATE objects SET country_code = ?, party_id = ?, object_id = ?, data = ?,"
                " last_updated = ?, partner = ?, updated_at = ?"
                " WHERE kind = ? AND key_cc = ? AND key_pid = ? AND key_id = ?",
                (country_code, party_id, object_id, text, updated_us, partner, now_us, *key),
            )
            if replaced:
                return False
        raise StoreError("put_object: the object was deleted and re-created concurrently; retry")

    async def get_object(
        self, kind: str, country_code: str, party_id: str, object_id: str
    ) -> StoredObject | None:
        rows = await self._fetchall(
            f"SELECT {_OBJECT_COLS} FROM objects"
            " WHERE kind = ? AND key_cc = ? AND key_pid = ? AND key_id = ?",
            (kind, country_code.upper(), party_id.upper(), object_id.upper()),
        )
        return _object(rows[0]) if rows else None

    async def delete_object(self, kind: str, country_code: str, party_id: str, object_id: str) -> bool:
        deleted = await self._execute(
            "DELETE FROM objects WHERE kind = ? AND key_cc = ? AND key_pid = ? AND key_id = ?",
            (kind, country_code.upper(), party_id.upper(), object_id.upper()),
        )
        return deleted > 0

    async def list_objects(
        self,
        kind: str,
        *,
        owners: Sequence[tuple[str, str]] | None = None,
        exclude_owners: Sequence[tuple[str, str]] | None = None,
        partner: str | None = None,
        date_from: datetime | None = None,
        date_to: datetime | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[list[StoredObject], int]:
        _check_page(offset, limit)
        where = ["kind = ?"]
        params: list[Any] = [kind]
        if owners is not None:
            pairs = sorted({(cc.upper(), pid.upper()) for cc, pid in owners})
            if not pairs:
                return [], 0
            where.append("(" + " OR ".join(["(key_cc = ? AND key_pid = ?)"] * len(pairs)) + ")")
            for pair in pairs:
                params.extend(pair)
        if exclude_owners:
            pairs = sorted({(cc.upper(), pid.upper()) for cc, pid in exclude_owners})
            where.append("NOT (" + " OR ".join(["(key_cc = ? AND key_pid = ?)"] * len(pairs)) + ")")
            for pair in pairs:
                params.extend(pair)
        if partner is not None:
            where.append("partner = ?")
            params.append(partner)
        if date_from is not None:
            where.append("last_updated >= ?")
            params.append(to_micros(date_from))
        if date_to is not None:
            where.append("last_updated < ?")
            params.append(to_micros(date_to))
        condition = " AND ".join(where)
        total = await self._fetchall(f"SELECT COUNT(*) FROM objects WHERE {condition}", params)
        rows = await self._fetchall(
            f"SELECT {_OBJECT_COLS} FROM objects WHERE {condition} ORDER BY seq LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return [_object(row) for row in rows], int(total[0][0])

    # ---- id correlations and sequences ------------------------------------------------------

    async def put_correlation(
        self, kind: str, key: str, value: str, data: dict[str, Any] | None = None
    ) -> None:
        now_us = to_micros(utcnow())
        await self._execute(
            f"INSERT INTO correlations ({_CORRELATION_COLS}) VALUES ({_marks(6)})"
            " ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, data = excluded.data,"
            " updated_at = excluded.updated_at",
            (kind, key, value, None if data is None else dumps(data), now_us, now_us),
        )

    async def get_correlation(self, kind: str, key: str) -> Correlation | None:
        rows = await self._fetchall(
            f"SELECT {_CORRELATION_COLS} FROM correlations WHERE kind = ? AND key = ?", (kind, key)
        )
        return _correlation(rows[0]) if rows else None

    async def find_correlation_by_value(self, kind: str, value: str) -> Correlation | None:
        rows = await self._fetchall(
            f"SELECT {_CORRELATION_COLS} FROM correlations WHERE kind = ? AND value = ?"
            " ORDER BY updated_at DESC, key LIMIT 1",
            (kind, value),
        )
        return _correlation(rows[0]) if rows else None

    async def delete_correlation(self, kind: str, key: str) -> bool:
        deleted = await self._execute("DELETE FROM correlations WHERE kind = ? AND key = ?", (kind, key))
        return deleted > 0

    async def next_sequence(self, name: str) -> int:
        rows = await self._fetchall(
            "INSERT INTO sequences (name, value) VALUES (?, 1)"
            " ON CONFLICT (name) DO UPDATE SET value = sequences.value + 1 RETURNING value",
            (name,),
        )
        return int(rows[0][0])

    # ---- outbox -----------------------------------------------------------------------------

    async def enqueue(
        self,
        target: str,
        kind: str,
        payload: dict[str, Any],
        *,
        key: str | None = None,
        order_key: str | None = None,
        available_at: datetime | None = None,
    ) -> int | None:
        now_us = to_micros(utcnow())
        available_us = now_us if available_at is None else to_micros(available_at)
        rows = await self._fetchall(
            "INSERT INTO outbox (target, kind, key, order_key, payload, status, attempts,"
            " available_at, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)"
            " ON CONFLICT (target, kind, key) DO NOTHING RETURNING id",
            (target, kind, key, order_key, dumps(payload), available_us, now_us, now_us),
        )
        return int(rows[0][0]) if rows else None

    async def claim(
        self,
        now: datetime,
        *,
        target: str | None = None,
        limit: int = 10,
        lease_seconds: float = 60.0,
        owner: str,
    ) -> list[OutboxMessage]:
        if not owner:
            raise ValueError("claim needs an owner name")
        if limit <= 0:
            return []
        now_us = to_micros(now)
        lease_until = to_micros(now + timedelta(seconds=lease_seconds))
        where = [
            "o.status = 'pending'",
            "o.available_at <= ?",
            "(o.lease_until IS NULL OR o.lease_until <= ?)",
            "(o.order_key IS NULL OR NOT EXISTS (SELECT 1 FROM outbox p"
            " WHERE p.target = o.target AND p.order_key = o.order_key"
            " AND p.status IN ('pending', 'held') AND p.id < o.id))",
        ]
        params: list[Any] = [now_us, now_us]
        if target is not None:
            where.append("o.target = ?")
            params.append(target)
        ids = await self._fetchall(
            f"SELECT o.id FROM outbox o WHERE {' AND '.join(where)} ORDER BY o.id LIMIT ?"
            + self._skip_locked,
            [*params, limit],
        )
        if not ids:
            return []
        rows = await self._fetchall(
            "UPDATE outbox SET lease_owner = ?, lease_until = ?, updated_at = ?"
            f" WHERE id IN ({_marks(len(ids))}) RETURNING {_OUTBOX_COLS}",
            [owner, lease_until, to_micros(utcnow()), *(row[0] for row in ids)],
        )
        return sorted((_message(row) for row in rows), key=lambda message: message.id)

    async def release_leases(self, owner: str) -> int:
        return await self._execute(
            "UPDATE outbox SET lease_owner = NULL, lease_until = NULL, updated_at = ?"
            " WHERE lease_owner = ? AND status = 'pending'",
            (to_micros(utcnow()), owner),
        )

    async def _transition(self, sql: str, params: Sequence[Any]) -> bool:
        return await self._execute(sql, params) > 0

    async def mark_delivered(self, message_id: int) -> bool:
        return await self._transition(
            "UPDATE outbox SET status = 'delivered', lease_owner = NULL, lease_until = NULL,"
            " updated_at = ? WHERE id = ? AND status <> 'delivered'",
            (to_micros(utcnow()), message_id),
        )

    async def mark_failed(self, message_id: int, error: str, retry_at: datetime) -> bool:
        return await self._transition(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, available_at = ?,"
            " lease_owner = NULL, lease_until = NULL, updated_at = ?"
            " WHERE id = ? AND status = 'pending'",
            (error[:MAX_ERROR_CHARS], to_micros(retry_at), to_micros(utcnow()), message_id),
        )

    async def mark_dead(self, message_id: int, reason: str) -> bool:
        return await self._transition(
            "UPDATE outbox SET status = 'dead', last_error = ?, lease_owner = NULL,"
            " lease_until = NULL, updated_at = ? WHERE id = ? AND status IN ('pending', 'held')",
            (reason[:MAX_ERROR_CHARS], to_micros(utcnow()), message_id),
        )

    async def hold(self, message_id: int, reason: str) -> bool:
        return await self._transition(
            "UPDATE outbox SET status = 'held', last_error = ?, lease_owner = NULL,"
            " lease_until = NULL, updated_at = ? WHERE id = ? AND status = 'pending'",
            (reason[:MAX_ERROR_CHARS], to_micros(utcnow()), message_id),
        )

    async def release(self, message_id: int, *, now: datetime | None = None) -> bool:
        clock = to_micros(utcnow())
        return await self._transition(
            "UPDATE outbox SET status = 'pending', attempts = 0, available_at = ?,"
            " lease_owner = NULL, lease_until = NULL, updated_at = ?"
            " WHERE id = ? AND status IN ('held', 'dead')",
            (clock if now is None else to_micros(now), clock, message_id),
        )

    async def get_outbox_message(self, message_id: int) -> OutboxMessage | None:
        rows = await self._fetchall(f"SELECT {_OUTBOX_COLS} FROM outbox WHERE id = ?", (message_id,))
        return _message(rows[0]) if rows else None

    async def list_outbox(
        self,
        status: OutboxStatus | None = None,
        target: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[OutboxMessage]:
        _check_page(offset, limit)
        where: list[str] = []
        params: list[Any] = []
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if target is not None:
            where.append("target = ?")
            params.append(target)
        condition = f" WHERE {' AND '.join(where)}" if where else ""
        rows = await self._fetchall(
            f"SELECT {_OUTBOX_COLS} FROM outbox{condition} ORDER BY id LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return [_message(row) for row in rows]

    async def outbox_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(OUTBOX_STATUSES, 0)
        for status, count in await self._fetchall("SELECT status, COUNT(*) FROM outbox GROUP BY status"):
            counts[status] = int(count)
        return counts

    async def purge_outbox(
        self, before: datetime, statuses: Sequence[OutboxStatus] = ("delivered",)
    ) -> int:
        chosen = sorted(set(statuses))
        if not chosen:
            return 0
        if any(status not in ("delivered", "dead") for status in chosen):
            raise ValueError("only delivered and dead messages may be purged")
        return await self._execute(
            f"DELETE FROM outbox WHERE status IN ({_marks(len(chosen))}) AND updated_at < ?",
            [*chosen, to_micros(before)],
        )

    # ---- small durable state ----------------------------------------------------------------

    async def get_state(self, key: str) -> dict[str, Any] | None:
        rows = await self._fetchall("SELECT value FROM state WHERE key = ?", (key,))
        if not rows:
            return None
        value: dict[str, Any] = loads(rows[0][0])
        return value

    async def set_state(self, key: str, value: dict[str, Any]) -> None:
        await self._execute(
            "INSERT INTO state (key, value, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (key, dumps(value), to_micros(utcnow())),
        )
