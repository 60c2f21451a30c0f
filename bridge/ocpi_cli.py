"""The OCPI credentials verbs of ``ocpi-oicp-bridge`` (ocpi.md §1.3, §1.4)::

    ocpi-oicp-bridge register NAME --config FILE             # POST: the gateway is the Sender
    ocpi-oicp-bridge update-credentials NAME --config FILE   # PUT: new tokens, endpoints, version
    ocpi-oicp-bridge unregister NAME --config FILE [--force] # DELETE

One module serves the three verbs (``bridge.cli`` gives each verb its own sub-parser; the verb is
taken from the parser's name). The store is opened from the configuration, so the command works
next to a running gateway sharing that store. The gateway must be serving at ``public_url``
during ``register`` and ``update-credentials``: the partner calls our versions back with the new
token. Exit codes: 0 done, 1 the partner or the store refused (message on stderr), 2 invalid
configuration. Tokens are never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from bridge.config import BridgeConfig, load_config
from bridge.errors import BridgeError, ConfigError
from bridge.logs import configure_logging
from bridge.ocpi.client import OcpiClients
from bridge.ocpi.registration import register, unregister, update_credentials
from bridge.partners import sync_configured_partners
from bridge.store import open_store
from bridge.store.base import PartnerRecord

VERBS = ("register", "update-credentials", "unregister")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    verb = parser.prog.rsplit(" ", 1)[-1]
    if verb not in VERBS:
        raise ValueError(f"bridge.ocpi_cli serves {', '.join(VERBS)}, not {verb!r}")
    parser.set_defaults(ocpi_verb=verb)
    parser.add_argument("name", metavar="NAME", help="the partner's name in the configuration")
    parser.add_argument(
        "--config", required=True, metavar="FILE", help="path of the gateway configuration (bridge.yaml)"
    )
    if verb == "unregister":
        parser.add_argument(
            "--force",
            action="store_true",
            help="unregister locally even if the partner cannot be told (unreachable or refusing)",
        )


def _summary(verb: str, record: PartnerRecord) -> str:
    if verb == "unregister":
        return f"{record.name}: unregistered; its tokens are revoked"
    roles = ", ".join(f"{r.get('role')} {r.get('country_code')}/{r.get('party_id')}" for r in record.roles)
    modules = sorted({str(e.get("identifier")) for e in record.endpoints})
    done = "registered" if verb == "register" else "credentials updated"
    return (
        f"{record.name}: {done}, OCPI {record.version}; roles: {roles or 'none'}; "
        f"endpoints: {', '.join(modules)}"
    )


async def _run(verb: str, config: BridgeConfig, name: str, *, force: bool) -> PartnerRecord:
    if config.partner(name) is None:
        raise ConfigError(str(config.config_path or "config"), "partners", f"no partner named {name!r}")
    store = await open_store(config.store_url)
    try:
        await sync_configured_partners(config, store)
        async with OcpiClients(config) as clients:
            if verb == "register":
                return await register(config, store, clients, name)
            if verb == "update-credentials":
                return await update_credentials(config, store, clients, name)
            return await unregister(config, store, clients, name, force=force)
    finally:
        await store.close()


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if not logging.getLogger().handlers:
        configure_logging(config.logging.level, json_lines=config.logging.json_lines)
    verb: str = args.ocpi_verb
    try:
        record = asyncio.run(_run(verb, config, args.name, force=bool(getattr(args, "force", False))))
    except ConfigError:
        raise
    except BridgeError as error:
        print(f"error: {args.name}: {error}", file=sys.stderr)
        return 1
    print(_summary(verb, record))
    return 0


__all__ = ["VERBS", "add_arguments", "run"]
