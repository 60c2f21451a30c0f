"""``ocpi-oicp-bridge push-evse --config FILE [--full] [--allow-empty] [--wait SECONDS]``: push the CPO
partners' network to Hubject now (bridge.flows.cpo_publish; oicp-2.3.md §2.1, §8 point 4).

* Without ``--full``: a reconciliation. Every CPO partner's Location is compared with what Hubject
  holds and only the differences are queued (``insert``, ``update``, ``delete`` of EVSE data, the
  statuses, the EVSE pricing).
* With ``--full``: a PushEvseData ``fullLoad`` of the whole network and a PushEvseStatus
  ``fullLoad`` (and the pricing products when dynamic pricing is enabled). A fullLoad replaces
  everything Hubject holds for the operator, so one **without any EVSE is refused** (it would
  withdraw the whole network) unless ``--allow-empty`` is given.

The pushes are queued in the store's outbox, next to the running gateway, which delivers them in
order (this command never calls Hubject itself). It then waits up to ``--wait`` seconds (default
30; 0: do not wait) for them to be delivered and says what happened to each.

Exit codes: 0 queued (and delivered, or still queued when the wait ended), 1 refused (empty
fullLoad) or a push was dead-lettered by Hubject, 2 invalid configuration (no
``hubject.operator_id``: the gateway is no OICP CPO).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from bridge.config import load_config
from bridge.context import Gateway
from bridge.errors import ConfigError
from bridge.flows.cpo_publish import CpoPublisher, EmptyFullLoad, PublishResult
from bridge.store import Store, open_store

POLL_SECONDS = 0.2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, metavar="FILE", help="path of the gateway configuration")
    parser.add_argument(
        "--full", action="store_true", help="send a fullLoad of the whole network instead of the differences"
    )
    parser.add_argument(
        "--allow-empty",
        action="store_true",
        help="with --full: send the fullLoad even without any EVSE (withdraws the whole network)",
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="wait this long for the running gateway to deliver the pushes (default 30; 0: no wait)",
    )


def run(args: argparse.Namespace) -> int:
    if args.allow_empty and not args.full:
        print("push-evse: --allow-empty only applies to --full", file=sys.stderr)
        return 2
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if not config.acts_as_cpo:
        raise ConfigError(
            str(args.config), "hubject.operator_id", "push-evse needs the gateway to be an OICP CPO"
        )
    store = await open_store(config.store_url)
    try:
        publisher = CpoPublisher(Gateway(config=config, store=store))
        try:
            if args.full:
                result = await publisher.full_load(allow_empty=args.allow_empty)
            else:
                result = await publisher.reconcile()
        except EmptyFullLoad as error:
            print(f"push-evse: {error}", file=sys.stderr)
            return 1
        operator = publisher.scope.operator_id
        _summary(result, operator, full=args.full)
        if not result.message_ids or args.wait <= 0:
            return 0
        return await _wait(store, result.message_ids, args.wait)
    finally:
        await store.close()


def _summary(result: PublishResult, operator: str, *, full: bool) -> None:
    what = (
        f"fullLoad of {result.evses} EVSE(s)" if full else f"update of the network ({result.evses} EVSE(s))"
    )
    if not result.message_ids:
        held = f"{result.evses} EVSE(s)"
        print(f"push-evse: {operator}: nothing to push, Hubject already holds the network ({held})")
        return
    ids = ", ".join(str(message_id) for message_id in result.message_ids)
    print(f"push-evse: {operator}: {what} queued as outbox message(s) {ids}")
    for name, count in sorted(result.counts.items()):
        print(f"  {name}: {count} record(s)")


async def _wait(store: Store, message_ids: list[int], seconds: float) -> int:
    """Report each message once it is delivered or dead; the rest as still queued."""
    remaining = set(message_ids)
    dead = False
    try:
        async with asyncio.timeout(seconds):
            while remaining:
                for message_id in sorted(remaining):
                    message = await store.get_outbox_message(message_id)
                    if message is None or message.status in ("delivered", "dead"):
                        remaining.discard(message_id)
                        status = message.status if message is not None else "purged"
                        reason = (
                            f": {message.last_error}"
                            if message is not None and message.status == "dead"
                            else ""
                        )
                        dead = dead or status == "dead"
                        print(f"message {message_id}: {status}{reason}")
                if remaining:
                    await asyncio.sleep(POLL_SECONDS)
    except TimeoutError:
        for message_id in sorted(remaining):
            print(f"message {message_id}: still queued (the running gateway delivers it; see: outbox list)")
    return 1 if dead else 0


__all__ = ["add_arguments", "run"]
