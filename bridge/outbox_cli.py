"""``ocpi-oicp-bridge outbox --config FILE ACTION``: look at and repair the outbox (docs/delivery.md).

Actions:

* ``list [--status S] [--target T] [--limit N] [--offset N] [--show-payload]``: the counts per
  status, then a table of messages (id, status, target, kind, key, order key, attempts, next
  try, lease, last error), oldest first. Payloads may carry tokens (an OCPI token, a Hubject
  identification), so they are printed only with ``--show-payload``.
* ``retry ID``: a ``dead`` or ``held`` message goes back to ``pending``, due now, attempts reset
  (after fixing what made it fail, e.g. the SessionID of a held CDR is now known).
* ``release ID [--force]``: a ``pending`` message waiting for its backoff, or leased by an instance
  that died, is made due now and its lease dropped. The release is recorded as one more attempt.
  A lease that has not expired may belong to an instance still sending, so it is released only
  with ``--force`` (the partner may then receive the message twice; CDRs are safe, Hubject keeps
  one per SessionID, oicp-2.3.md §8 point 1).
* ``purge --delivered-before DATE [--dead]``: delete delivered (and with ``--dead`` dead)
  messages last updated before DATE (ISO 8601; a date means midnight UTC, a time without offset
  is UTC). Pending and held messages are never purged.

Exit codes: 0 done, 1 the message is unknown or not in a state the action applies to (or the store
failed), 2 invalid configuration (``bridge.cli``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import get_args

import orjson

from bridge.config import load_config
from bridge.errors import StoreError
from bridge.store import OutboxMessage, OutboxStatus, Store, open_store
from bridge.store.base import utcnow

ERROR_WIDTH = 60
"""``last_error`` is cut to this many characters in the table (the full text is in the store)."""

_COLUMNS = (
    "ID", "STATUS", "TARGET", "KIND", "KEY", "ORDER_KEY", "ATTEMPTS", "NEXT_TRY", "LEASE", "LAST_ERROR",
)


def _iso_datetime(text: str) -> datetime:
    """``2025-03-01`` (midnight UTC), ``2025-03-01T12:00`` (UTC) or with an offset."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), tzinfo=UTC)
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or date-time: {text!r}") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", required=True, metavar="FILE", help="path of the gateway configuration (bridge.yaml)"
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="counts per status and a table of messages")
    listing.add_argument("--status", choices=get_args(OutboxStatus), help="only messages in this status")
    listing.add_argument("--target", help="only messages for this target")
    listing.add_argument("--limit", type=int, default=100, help="at most this many rows (default 100)")
    listing.add_argument("--offset", type=int, default=0, help="skip this many rows")
    listing.add_argument(
        "--show-payload", action="store_true", help="also print each payload (it may contain tokens)"
    )

    retry = actions.add_parser("retry", help="a dead or held message back to pending, due now")
    retry.add_argument("id", type=int, metavar="ID")

    release = actions.add_parser("release", help="a pending message due now, its lease dropped")
    release.add_argument("id", type=int, metavar="ID")
    release.add_argument(
        "--force", action="store_true", help="also drop a lease that has not expired yet"
    )

    purge = actions.add_parser("purge", help="delete delivered (and dead) messages older than a date")
    purge.add_argument(
        "--delivered-before", required=True, type=_iso_datetime, metavar="DATE", help="ISO 8601 date"
    )
    purge.add_argument("--dead", action="store_true", help="also delete dead messages")


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    try:
        return asyncio.run(_run(config.store_url, args))
    except StoreError as error:
        print(f"error: store: {error}", file=sys.stderr)
        return 1


async def _run(store_url: str, args: argparse.Namespace) -> int:
    store = await open_store(store_url)
    try:
        action: str = args.action
        if action == "list":
            return await _list(store, args)
        if action == "retry":
            return await _retry(store, args.id)
        if action == "release":
            return await _release(store, args.id, force=args.force)
        return await _purge(store, args.delivered_before, dead=args.dead)
    finally:
        await store.close()


# --------------------------------------------------------------------------------------------


def _when(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _one_line(text: str | None, width: int) -> str:
    if not text:
        return "-"
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


def _row(message: OutboxMessage, now: datetime) -> tuple[str, ...]:
    leased = message.lease_until is not None and message.lease_until > now
    return (
        str(message.id),
        message.status,
        message.target,
        message.kind,
        message.key or "-",
        message.order_key or "-",
        str(message.attempts),
        _when(message.available_at) if message.status == "pending" else "-",
        f"{message.lease_owner} until {_when(message.lease_until)}" if leased else "-",
        _one_line(message.last_error, ERROR_WIDTH),
    )


def format_table(rows: Sequence[Sequence[str]], header: Sequence[str] = _COLUMNS) -> str:
    """Left-aligned columns separated by two spaces; the last column is not padded."""
    widths = [max(len(row[index]) for row in (header, *rows)) for index in range(len(header))]
    lines = []
    for row in (header, *rows):
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


async def _list(store: Store, args: argparse.Namespace) -> int:
    if args.limit < 1 or args.offset < 0:
        print("error: --limit is at least 1 and --offset at least 0", file=sys.stderr)
        return 1
    counts = await store.outbox_counts()
    print("outbox: " + ", ".join(f"{status} {counts[status]}" for status in get_args(OutboxStatus)))
    messages = await store.list_outbox(args.status, args.target, args.limit + 1, args.offset)
    more = len(messages) > args.limit
    messages = messages[: args.limit]
    if not messages:
        print("no messages")
        return 0
    now = utcnow()
    if args.show_payload:
        for message in messages:
            print(format_table([_row(message, now)]))
            print("payload: " + orjson.dumps(message.payload, option=orjson.OPT_SORT_KEYS).decode())
            print()
    else:
        print(format_table([_row(message, now) for message in messages]))
    if more:
        print(f"more messages: use --offset {args.offset + args.limit}")
    return 0


def _describe(message: OutboxMessage) -> str:
    key = f", key {message.key}" if message.key else ""
    return f"message {message.id} ({message.kind} to {message.target}{key})"


async def _get(store: Store, message_id: int) -> OutboxMessage | None:
    message = await store.get_outbox_message(message_id)
    if message is None:
        print(f"error: no outbox message {message_id}", file=sys.stderr)
    return message


async def _retry(store: Store, message_id: int) -> int:
    message = await _get(store, message_id)
    if message is None:
        return 1
    if message.status not in ("dead", "held"):
        hint = " (use release to try a pending message now)" if message.status == "pending" else ""
        print(f"error: {_describe(message)} is {message.status}, not dead or held{hint}", file=sys.stderr)
        return 1
    if not await store.release(message_id, now=utcnow()):
        print(f"error: {_describe(message)} changed meanwhile; list it again", file=sys.stderr)
        return 1
    print(f"{_describe(message)}: {message.status} -> pending, next try now")
    return 0


async def _release(store: Store, message_id: int, *, force: bool) -> int:
    message = await _get(store, message_id)
    if message is None:
        return 1
    if message.status != "pending":
        hint = " (use retry)" if message.status in ("dead", "held") else ""
        print(f"error: {_describe(message)} is {message.status}, not pending{hint}", file=sys.stderr)
        return 1
    now = utcnow()
    if message.lease_until is not None and message.lease_until > now and not force:
        print(
            f"error: {_describe(message)} is leased by {message.lease_owner} until"
            f" {_when(message.lease_until)}: it may be being sent; use --force to release it anyway",
            file=sys.stderr,
        )
        return 1
    note = "released by an operator"
    error = f"{message.last_error} ({note})" if message.last_error else note
    if not await store.mark_failed(message_id, error, now):
        print(f"error: {_describe(message)} changed meanwhile; list it again", file=sys.stderr)
        return 1
    print(f"{_describe(message)}: released, next try now")
    return 0


async def _purge(store: Store, before: datetime, *, dead: bool) -> int:
    statuses: tuple[OutboxStatus, ...] = ("delivered", "dead") if dead else ("delivered",)
    count = await store.purge_outbox(before, statuses)
    print(f"purged {count} {' and '.join(statuses)} message(s) last updated before {_when(before)}")
    return 0
