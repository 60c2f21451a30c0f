"""The ``ocpi-oicp-bridge`` command line.

Each verb lives in the module that owns its work; this file only dispatches, so adding a verb is
one line in :data:`VERBS`. A verb module exposes ``add_arguments(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from bridge import __version__
from bridge.errors import ConfigError

# verb -> (module, one-line help)
VERBS: dict[str, tuple[str, str]] = {
    "serve": ("bridge.runner", "start the gateway (uvicorn) with a configuration file"),
    "check-config": ("bridge.config_cli", "validate a configuration file and print a summary"),
    "register": ("bridge.ocpi_cli", "register with an OCPI partner (credentials POST)"),
    "update-credentials": ("bridge.ocpi_cli", "new tokens and endpoints with an OCPI partner (PUT)"),
    "unregister": ("bridge.ocpi_cli", "unregister from an OCPI partner (credentials DELETE)"),
    "map": ("bridge.preview", "translate a JSON file between OCPI and OICP and print it"),
    "outbox": ("bridge.outbox_cli", "list, retry, release or purge outbox messages"),
    "sync-evse": ("bridge.sync_cli", "pull Hubject's EVSE data into the cache (delta, or --full)"),
    "push-evse": ("bridge.publish_cli", "push the CPO network to Hubject (update, or --full for a fullLoad)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ocpi-oicp-bridge",
        description="EV-charging roaming gateway: OCPI 2.1.1/2.2.1 <-> OICP 2.3 (Hubject)",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb, (module_name, help_text) in VERBS.items():
        module = importlib.import_module(module_name)
        verb_parser = sub.add_parser(verb, help=help_text, description=help_text)
        module.add_arguments(verb_parser)
        verb_parser.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args._run(args)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
