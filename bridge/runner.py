"""``ocpi-oicp-bridge serve``: run the gateway under uvicorn.

uvicorn with httptools (2.5x h11 here) and uvloop when installed (``uvicorn[standard]``). SIGTERM
and SIGINT shut down gracefully: uvicorn stops accepting, lets requests in flight finish (bounded
by ``--graceful-timeout``), then runs the lifespan shutdown, which stops the workers and closes the
store.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import signal
import sys
from types import FrameType

import uvicorn

from bridge.app import create_app
from bridge.config import load_config
from bridge.logs import configure_logging


def _already_handled(signum: int, frame: FrameType | None) -> None:
    """The shutdown this signal asked for has already happened in uvicorn."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="path of the gateway configuration (bridge.yaml)")
    parser.add_argument("--host", help="override listen.host")
    parser.add_argument("--port", type=int, help="override listen.port")
    parser.add_argument(
        "--graceful-timeout", type=float, default=20.0, help="seconds to let requests finish on shutdown"
    )


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    configure_logging(config.logging.level, json_lines=config.logging.json_lines)
    app = create_app(config)
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=args.host or config.listen.host,
            port=args.port if args.port is not None else config.listen.port,
            http=http,
            loop=loop,
            lifespan="on",
            access_log=False,
            log_config=None,
            timeout_graceful_shutdown=args.graceful_timeout,
            proxy_headers=True,
        )
    )
    logging.getLogger("bridge.runner").info(
        "serving on %s:%s (%s, %s)", server.config.host, server.config.port, http, loop
    )
    # uvicorn handles SIGTERM/SIGINT itself (graceful shutdown), then restores the previous handlers
    # and re-raises the signal; a no-op previous handler makes a graceful stop exit with code 0.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _already_handled)
    server.run()
    # uvicorn sets should_exit on a signal; a failed startup (port taken, store down) is not a success.
    return 0 if server.started else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run(argparse.Namespace()))
