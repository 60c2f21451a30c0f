"""The store API: records, the data methods, and the :class:`Store` lifecycle.

Other code imports only this module (and :func:`bridge.store.open_store`); the SQL lives in
``bridge.store._sql`` and the backends in ``bridge.store.sqlite`` / ``bridge.store.postgres``.

Conventions shared by every method:

* Every timestamp is an **aware** datetime; it is stored as integer microseconds since the Unix
  epoch (UTC), so comparisons and round-trips are exact. A naive datetime raises ``ValueError``
  (OCPI 2.2.1 transport_and_format: DateTime is UTC; the models already convert to aware UTC).
* JSON values (``data``, ``payload``, ``endpoints``...) must be JSON-compatible (``dict`` / ``list``
  / ``str`` / ``int`` / ``float`` / ``bool`` / ``None``; pass ``model.model_dump(mode="json")``).
  They are stored as JSON text and come back equal, floats included.
* Database failures raise :class:`bridge.errors.StoreError`; their messages never carry row values.
* Tokens partners use to call us are stored only as SHA-256 hashes (CONTRIBUTING.md "Store");
  ``PartnerRecord.token_out`` (the token *we* send) is plaintext because we must send it, and is
  left out of ``repr`` so that it is never logged by accident.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal, get_args

from bridge.errors import StoreError

PartnerStatus = Literal["new", "registered", "unregistered"]
"""Credentials state of a partner (OCPI 2.2.1 credentials module, ocpi.md §1.4)."""

IncomingTokenKind = Literal["A", "CURRENT"]
"""What :meth:`DataApi.set_incoming_token` may set; PREVIOUS only arises from rotation."""

TokenKind = Literal["A", "CURRENT", "PREVIOUS"]
"""Which of a partner's incoming tokens matched (ocpi.md §1: A for registration only)."""

OutboxStatus = Literal["pending", "delivered", "dead", "held"]
"""Life of an outbox message; see :meth:`DataApi.claim` for the transitions."""

PARTNER_STATUSES: Final[tuple[str, ...]] = get_args(PartnerStatus)
OUTBOX_STATUSES: Final[tuple[str, ...]] = get_args(OutboxStatus)

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)


def utcnow() -> datetime:
    """The current time, aware UTC (the store's clock for ``created_at``/``updated_at``)."""
    return datetime.now(UTC)


def to_micros(value: datetime) -> int:
    """Integer microseconds since the epoch, exact. Naive datetimes are refused (ambiguous)."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError("the store takes aware datetimes only (OCPI DateTime is UTC)")
    return (value - EPOCH) // _MICROSECOND


def from_micros(value: int) -> datetime:
    """The aware UTC datetime for :func:`to_micros`' integer."""
    return EPOCH + timedelta(microseconds=value)


def hash_token(token: str) -> str:
    """Hex SHA-256 of a credentials token: the only form in which incoming tokens are stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class UnknownPartnerError(StoreError, LookupError):
    """An operation named a partner that is not in the store."""


# --------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True, slots=True)
class PartnerRecord:
    """An OCPI partner and its credentials state (OCPI 2.2.1 credentials + versions modules).

    ``endpoints`` are the partner's version-details endpoints (``identifier``, ``role``, ``url``);
    ``roles`` its credentials roles (``role``, ``country_code``, ``party_id``,
    ``business_details``). ``token_out`` is the token we send to call them (plaintext: we must
    send it; hidden from ``repr``); ``token_encoding`` says how it goes on the wire (e.g.
    ``"base64"`` for 2.2.1, ``"plain"`` for 2.1.1, ocpi.md §8 point 1).
    ``created_at``/``updated_at`` are set by the store on save.
    """

    name: str
    role: str
    version: str | None = None
    versions_url: str | None = None
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    roles: list[dict[str, Any]] = field(default_factory=list)
    token_out: str | None = field(default=None, repr=False)
    token_encoding: str = "base64"  # noqa: S105 - an encoding name, not a secret
    status: PartnerStatus = "new"
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("PartnerRecord.name must not be empty")
        if self.status not in PARTNER_STATUSES:
            raise ValueError(f"PartnerRecord.status must be one of {PARTNER_STATUSES}")


@dataclass(frozen=True, slots=True)
class TokenMatch:
    """The partner an incoming credentials token belongs to, and which of its tokens it was."""

    partner: PartnerRecord
    kind: TokenKind


@dataclass(frozen=True, slots=True)
class StoredObject:
    """An OCPI object received or served (location with EVSEs and connectors, tariff, token,
    session, CDR), keyed by ``(kind, country_code, party_id, object_id)``.

    The ids are the ones given on the last put (original case); lookups compare them
    case-insensitively (OCPI CiString, ocpi.md §3). ``seq`` is the creation order, kept when the
    object is replaced, so paginated lists are stable (OCPI 2.2.1 transport_and_format
    pagination).
    """

    kind: str
    country_code: str
    party_id: str
    object_id: str
    data: dict[str, Any]
    last_updated: datetime
    partner: str | None
    seq: int


@dataclass(frozen=True, slots=True)
class Correlation:
    """One id correlation: ``kind`` names the mapping (e.g. ``"ocpi_session->oicp_session"``)."""

    kind: str
    key: str
    value: str
    data: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A message that must be delivered to ``target`` (architecture.md "Data flow": out).

    ``key`` makes the enqueue idempotent per ``(target, kind, key)``; ``order_key`` puts the
    message in a FIFO group per ``(target, order_key)``. ``lease_owner``/``lease_until`` say who
    is delivering it right now.
    """

    id: int
    target: str
    kind: str
    key: str | None
    order_key: str | None
    payload: dict[str, Any]
    status: OutboxStatus
    attempts: int
    last_error: str | None
    available_at: datetime
    created_at: datetime
    updated_at: datetime
    lease_owner: str | None = None
    lease_until: datetime | None = None


# --------------------------------------------------------------------------------------------
# The data API, offered by a transaction and (each call in its own transaction) by the store


class DataApi(ABC):
    """Every data method of the store. See the module docstring for the shared conventions."""

    # ---- partners and credentials -----------------------------------------------------------

    @abstractmethod
    async def save_partner(self, record: PartnerRecord) -> PartnerRecord:
        """Insert or replace the partner named ``record.name``; return the stored record.

        ``created_at`` of an existing partner is kept, ``updated_at`` becomes now; the
        partner's incoming tokens are untouched.
        """

    @abstractmethod
    async def get_partner(self, name: str) -> PartnerRecord | None:
        """The partner named ``name`` (exact match), or None."""

    @abstractmethod
    async def list_partners(self) -> list[PartnerRecord]:
        """All partners, ordered by name."""

    @abstractmethod
    async def delete_partner(self, name: str) -> bool:
        """Delete the partner and all its incoming tokens; True if it existed."""

    @abstractmethod
    async def set_incoming_token(
        self,
        partner_name: str,
        token: str,
        kind: IncomingTokenKind,
        *,
        grace_seconds: float = 0.0,
        now: datetime | None = None,
    ) -> None:
        """Store the SHA-256 hash of a token the partner will use to call us.

        ``"A"`` replaces the partner's token A (OCPI 2.2.1 credentials: the out-of-band
        registration token). ``"CURRENT"`` replaces the current token (B or C after the
        handshake); the old current one becomes PREVIOUS, valid until ``now + grace_seconds``
        (token rotation race, ocpi#568; ``grace_seconds <= 0`` drops it at once), replacing any
        earlier PREVIOUS. Setting the current token again is a no-op. Token A is not revoked
        here: the credentials flow calls :meth:`revoke_incoming_tokens` (ocpi.md §1: "A is
        dead" after registration). A token already held by another partner or slot raises
        :class:`StoreError`; an unknown partner :class:`UnknownPartnerError`.
        """

    @abstractmethod
    async def revoke_incoming_tokens(self, partner_name: str, kind: TokenKind | None = None) -> int:
        """Delete the partner's incoming tokens of ``kind`` (all when None); return how many."""

    @abstractmethod
    async def find_partner_by_token(self, token: str, now: datetime) -> TokenMatch | None:
        """The partner whose incoming token this is, or None (OCPI: HTTP 401 for the caller).

        Looked up by hash through an index, then compared with ``hmac.compare_digest``. A
        PREVIOUS token matches only while ``now < valid_until``.
        """

    # ---- OCPI objects -----------------------------------------------------------------------

    @abstractmethod
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
        """Create or replace an object; True if it was created.

        A replacement keeps the creation order ``seq`` and takes the given ids, data,
        ``last_updated`` and ``partner``. Whether an older ``last_updated`` may replace a newer
        one is the caller's rule, not the store's.
        """

    @abstractmethod
    async def get_object(
        self, kind: str, country_code: str, party_id: str, object_id: str
    ) -> StoredObject | None:
        """The object with this key, ids compared case-insensitively (OCPI CiString)."""

    @abstractmethod
    async def delete_object(self, kind: str, country_code: str, party_id: str, object_id: str) -> bool:
        """Delete the object with this key; True if it existed."""

    @abstractmethod
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
        """One page of objects of ``kind`` in creation order (``seq``), and the total count.

        OCPI 2.2.1 transport_and_format paginated GET: ``date_from`` is inclusive and
        ``date_to`` exclusive, both on ``last_updated``. ``owners`` keeps only objects of these
        ``(country_code, party_id)`` pairs, case-insensitively (an empty sequence matches
        nothing); ``exclude_owners`` leaves those pairs out (e.g. our own parties);
        ``partner`` keeps only objects stored with that partner name.
        """

    # ---- id correlations and sequences ------------------------------------------------------

    @abstractmethod
    async def put_correlation(
        self, kind: str, key: str, value: str, data: dict[str, Any] | None = None
    ) -> None:
        """Insert or replace the correlation ``(kind, key) -> value`` (exact strings)."""

    @abstractmethod
    async def get_correlation(self, kind: str, key: str) -> Correlation | None:
        """The correlation stored under ``(kind, key)``, or None."""

    @abstractmethod
    async def find_correlation_by_value(self, kind: str, value: str) -> Correlation | None:
        """The correlation of ``kind`` whose value is ``value`` (the most recently written one
        when several keys share it), or None."""

    @abstractmethod
    async def delete_correlation(self, kind: str, key: str) -> bool:
        """Delete the correlation ``(kind, key)``; True if it existed."""

    @abstractmethod
    async def next_sequence(self, name: str) -> int:
        """The next value of a durable counter (1, 2, 3...), e.g. OCPI 2.1.1 integer
        reservation ids (ocpi.md §7: reservation_id CiString ↔ int, keep a mapping table)."""

    # ---- outbox -----------------------------------------------------------------------------

    @abstractmethod
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
        """Queue a message for ``target``; return its id, or None if ``key`` was already used.

        With ``key``, the enqueue is idempotent on ``(target, kind, key)`` whatever the status
        of the existing message (a delivered CDR is not sent twice). With ``order_key``, the
        message joins the FIFO group ``(target, order_key)`` (architecture.md: delivery in
        order per target and object). ``available_at`` (default now) delays the first try.
        """

    @abstractmethod
    async def claim(
        self,
        now: datetime,
        *,
        target: str | None = None,
        limit: int = 10,
        lease_seconds: float = 60.0,
        owner: str,
    ) -> list[OutboxMessage]:
        """Lease up to ``limit`` deliverable messages to ``owner``, oldest first.

        Deliverable: status ``pending``, ``available_at <= now``, no lease running after
        ``now`` (whoever holds it, ``owner`` included, so a claimer that claims again while it
        is still delivering never gets the same message twice), and, with an ``order_key``, no
        older message of the same ``(target, order_key)`` still ``pending`` or ``held`` (strict
        FIFO; ``delivered`` and ``dead`` open the group). Concurrent claimers never receive the
        same message. A lease ends at ``lease_until`` (that instant included) or when the
        message is marked; :meth:`release_leases` ends an owner's leases at once.

        Transitions: pending → delivered | pending (failed, retried later) | dead | held;
        held → pending (release) | dead | delivered; dead → pending (release); delivered is
        final.
        """

    @abstractmethod
    async def release_leases(self, owner: str) -> int:
        """End every lease ``owner`` holds on pending messages (a worker starting again under
        a stable name, or stopping cleanly); return how many. Delivery may then be retried."""

    @abstractmethod
    async def mark_delivered(self, message_id: int) -> bool:
        """Mark the message delivered and drop its lease; False if unknown or already delivered."""

    @abstractmethod
    async def mark_failed(self, message_id: int, error: str, retry_at: datetime) -> bool:
        """Record a failed attempt of a pending message: ``attempts += 1``, ``last_error``,
        next try at ``retry_at``, lease dropped. False if the message is not pending."""

    @abstractmethod
    async def mark_dead(self, message_id: int, reason: str) -> bool:
        """Dead-letter a pending or held message; False otherwise."""

    @abstractmethod
    async def hold(self, message_id: int, reason: str) -> bool:
        """Park a pending message (e.g. a CDR without SessionID): never dropped, never tried,
        and it blocks its FIFO group until released. False if not pending."""

    @abstractmethod
    async def release(self, message_id: int, *, now: datetime | None = None) -> bool:
        """Put a held or dead message back to pending, available at ``now`` (default: the
        clock), with ``attempts`` reset to 0 (``last_error`` kept). False otherwise."""

    @abstractmethod
    async def get_outbox_message(self, message_id: int) -> OutboxMessage | None:
        """One outbox message by id, or None."""

    @abstractmethod
    async def list_outbox(
        self,
        status: OutboxStatus | None = None,
        target: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[OutboxMessage]:
        """Outbox messages, optionally filtered by status and target, oldest first."""

    @abstractmethod
    async def outbox_counts(self) -> dict[str, int]:
        """Number of messages per status; every status is present (0 when none)."""

    @abstractmethod
    async def purge_outbox(
        self, before: datetime, statuses: Sequence[OutboxStatus] = ("delivered",)
    ) -> int:
        """Delete delivered (and, if asked, dead) messages last updated before ``before``;
        return how many. Their idempotency keys become free again. Pending and held messages
        are never purged (ValueError)."""

    # ---- small durable state ----------------------------------------------------------------

    @abstractmethod
    async def get_state(self, key: str) -> dict[str, Any] | None:
        """The value stored under ``key`` (e.g. the OICP LastCall watermark), or None."""

    @abstractmethod
    async def set_state(self, key: str, value: dict[str, Any]) -> None:
        """Insert or replace the value stored under ``key``."""


class Transaction(DataApi, ABC):
    """The data API inside one database transaction (``async with store.transaction() as tx``).

    It commits when the block exits normally and rolls back when it raises; it cannot be used
    after the block. Flows store an object and write its outbox messages through one
    transaction (architecture.md "Data flow": in).
    """


class Store(DataApi, ABC):
    """A connected store (SQLite file or PostgreSQL pool) at the latest schema version.

    Each data method called on the store itself runs in its own short transaction. Calling one
    from a task that has an open :meth:`transaction` raises ``RuntimeError`` (use ``tx``: the
    call would be outside the transaction and could wait on its locks forever).

    ``dialect`` is ``"sqlite"`` or ``"postgresql"``; ``location`` says where the data is (the
    file path, or ``host:port/db``) without credentials, for logs and the status page.
    """

    dialect: str
    location: str

    @abstractmethod
    async def close(self) -> None:
        """Close connections; later calls raise :class:`StoreError`. Idempotent."""

    @abstractmethod
    async def ping(self) -> None:
        """Round-trip to the database; raise :class:`StoreError` when it is unreachable."""

    @abstractmethod
    async def schema_version(self) -> int:
        """The schema version of the database (the highest applied migration)."""

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """Open a transaction: ``async with store.transaction() as tx: ...``."""

    # ---- each data method in its own transaction --------------------------------------------

    async def save_partner(self, record: PartnerRecord) -> PartnerRecord:
        """:meth:`DataApi.save_partner` in its own transaction."""
        async with self.transaction() as tx:
            return await tx.save_partner(record)

    async def get_partner(self, name: str) -> PartnerRecord | None:
        """:meth:`DataApi.get_partner` in its own transaction."""
        async with self.transaction() as tx:
            return await tx.get_partner(name)

    async def list_partners(self) -> list[PartnerRecord]:
        """:meth:`DataApi.list_partners` in its own transaction."""
        async with self.transaction() as tx:
            return await tx.list_partners()

    async def delete_partner(self, name: str) -> bool:
        """:meth:`DataApi.delete_partner` in its own transaction."""
        async with self.transaction() as tx:
            return await tx.delete_partner(name)

    async def set_incoming_token(
        self,
        partner_name: str,
        token: str,
        kind: IncomingTokenKind,
        *,
        grace_seconds: float = 0.0,
        now: datetime | None = None,
    ) -> None:
        """:meth:`DataApi.set_incoming_token` in its own transaction."""
        async with self.transaction() as tx:
            await tx.set_incoming_token(partner_name, token, kind, grace_seconds=grace_seconds, now=now)

    async def revoke_incoming_tokens(self, partner_name: str, kind: TokenKind | None = None) -> int:
        """:meth:`DataApi.revoke_incoming_tokens` in its own transaction."""
        async with self.transaction() as tx:
            return await tx.revoke_incoming_tokens(partner_name, kind)

    async def find_partner_by_token(self, token: str, now: datetime) -> TokenMatch | None:
        """:meth:`DataApi.find_partner_by_token` in its own transaction."""
        async with self.transaction() as tx:
            return await tx.find_partner_by_token(token, now)

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
        """:meth:`DataApi.put_object` in its own transaction."""
        async with self.transaction() as tx:
            return await tx.put_object(
                kind, country_code, party_id, object_id, data, last_updated, partner=partner
            )

    async def get_object(
        self, kind: str, country_code: str, party_id: str, object_id: str
    ) -> StoredObject | None:
        """:meth:`DataApi.get_object` in its own transaction."""
        async with self.transaction() as tx:
            return await tx.get_object(kind, country_code, party_id, object_id)

    async def delete_object(self, kind: str, country_code: str, party_id: str, object_id: str) -> bool:
        """:meth:`DataApi.delete_object` in its own transaction."""
        async with self.transaction() as tx:
            return await tx.delete_object(kind, country_code, party_id, object_id)

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
        """:meth:`DataApi.list_objects` in its own transaction (page and total agree)."""
        async with self.transaction() as tx:
            return await tx.list_objects(
                kind,
                owners=owners,
                exclude_owners=exclude_owners,
                partner=partner,
                date_from=date_from,
                date_to=date_to,
                offset=offset,
                limit=limit,
            )

    async def put_correlation(
        self, kind: str, key: str, value: str, data: dict[str, Any] | None = None
    ) -> None:
        """:meth:`DataApi.put_correlation` in its own transaction."""
        async with self.transaction() as tx:
            await tx.put_correlation(kind, key, value, data)

    async def get_correlation(self, kind: str, key: str) -> Correlation | None:
        """:meth:`DataApi.get_correlation` in its own transaction."""
        async with self.transaction() as tx:
            return await tx.get_correlation(kind, key)

    async def find_correlation_by_value(self, kind: str, value: str) -> Correlation | None:
        """:meth:`DataApi.find_correlation_by_value` in its own transaction."""
        async with self.transaction() as tx:
            return await tx.find_correlation_by_value(kind, value)

    async def delete_correlation(self, kind: str, key: str) -> bool:
        """:meth:`DataApi.delete_correlation` in its own transaction."""
        async with self.transaction() as tx:
            return await tx.delete_correlation(kind, key)

    async def next_sequence(self, name: str) -> int:
        """:meth:`DataApi.next_sequence` in its own transaction."""
        async with self.transaction() as tx:
            return await tx.next_sequence(name)

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
        """:meth:`DataApi.enqueue` in its own transaction."""
        async with self.transaction() as tx:
            return await tx.enqueue(
                target, kind, payload, key=key, order_key=order_key, available_at=available_at
            )

    async def claim(
        self,
        now: datetime,
        *,
        target: str | None = None,
        limit: int = 10,
        lease_seconds: float = 60.0,
        owner: str,
    ) -> list[OutboxMessage]:
        """:meth:`DataApi.claim` in its own transaction (the lease is committed on return)."""
        async with self.transaction() as tx:
            return await tx.claim(now, target=target, limit=limit, lease_seconds=lease_seconds, owner=owner)

    async def release_leases(self, owner: str) -> int:
        """:meth:`DataApi.release_leases` in its own transaction."""
        async with self.transaction() as tx:
            return await tx.release_leases(owner)

    async def mark_delivered(self, message_id: int) -> bool:
        """:meth:`DataApi.mark_delivered` in its own transaction."""
        async with self.transaction() as tx:
            return await tx.mark_delivered(message_id)

    async def mark_failed(self, message_id: int, error: str, retry_at: datetime) -> bool:
        """:meth:`DataApi.mark_failed` in its own transaction."""
        async with self.transaction() as tx:
            return await tx.mark_failed(message_id, error, retry_at)

    async def mark_dead(self, message_id: int, reason: str) -> bool:
        """:meth:`DataApi.mark_dead` in its own transaction."""
        async with self.transaction() as tx:
            return await tx.mark_dead(message_id, reason)

    async def hold(self, message_id: int, reason: str) -> bool:
        """:meth:`DataApi.hold` in its own transaction."""
        async with self.transaction() as tx:
            return await tx.hold(message_id, reason)

    async def release(self, message_id: int, *, now: datetime | None = None) -> bool:
        """:meth:`DataApi.release` in its own transaction."""
        async with self.transaction() as tx:
            return await tx.release(message_id, now=now)

    async def get_outbox_message(self, message_id: int) -> OutboxMessage | None:
        """:meth:`DataApi.get_outbox_message` in its own transaction."""
        async with self.transaction() as tx:
            return await tx.get_outbox_message(message_id)

    async def list_outbox(
        self,
        status: OutboxStatus | None = None,
        target: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[OutboxMessage]:
        """:meth:`DataApi.list_outbox` in its own transaction."""
        async with self.transaction() as tx:
            return await tx.list_outbox(status, target, limit, offset)

    async def outbox_counts(self) -> dict[str, int]:
        """:meth:`DataApi.outbox_counts` in its own transaction."""
        async with self.transaction() as tx:
            return await tx.outbox_counts()

    async def purge_outbox(
        self, before: datetime, statuses: Sequence[OutboxStatus] = ("delivered",)
    ) -> int:
        """:meth:`DataApi.purge_outbox` in its own transaction."""
        async with self.transaction() as tx:
            return await tx.purge_outbox(before, statuses)

    async def get_state(self, key: str) -> dict[str, Any] | None:
        """:meth:`DataApi.get_state` in its own transaction."""
        async with self.transaction() as tx:
            return await tx.get_state(key)

    async def set_state(self, key: str, value: dict[str, Any]) -> None:
        """:meth:`DataApi.set_state` in its own transaction."""
        async with self.transaction() as tx:
            await tx.set_state(key, value)
