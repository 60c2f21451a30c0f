"""Live servers for end-to-end tests: the gateway and the OCPI party simulator, each a real
uvicorn server on 127.0.0.1 running in the test's event loop (bridge.simulators.serve)."""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bridge.app import create_app
from bridge.config import BridgeConfig, load_config
from bridge.context import Gateway
from bridge.ocpi.server.auth import authenticate
from bridge.ocpi.server.envelope import ocpi_response
from bridge.simulators import base_url, bind_loopback, serve
from bridge.simulators.ocpi_party import Identity, OcpiParty
from bridge.store.base import Store
from tests.support.gateway import write_config

CPO_SIM = Identity(role="CPO", country_code="NL", party_id="SIM", name="Simulated CPO")
EMSP_SIM = Identity(role="EMSP", country_code="NL", party_id="SIE", name="Simulated eMSP")


def b64(token: str) -> str:
    return base64.b64encode(token.encode()).decode()


def header(token: str, *, encode: bool) -> dict[str, str]:
    return {"Authorization": f"Token {b64(token) if encode else token}"}


@dataclass
class LiveGateway:
    url: str
    config: BridgeConfig
    config_path: Path
    app: Starlette

    @property
    def gateway(self) -> Gateway:
        gateway: Gateway = self.app.state.gateway
        return gateway

    @property
    def store(self) -> Store:
        return self.gateway.store

    def rewrite_config(self, **overrides: Any) -> Path:
        """Write the configuration file again (the running gateway keeps what it read)."""
        return write_config(self.config_path.parent, public_url=self.url, **overrides)


async def functional_module(request: Request) -> Response:
    """What every functional module does first: authenticate, refusing token A (ocpi.md §1.3)."""
    caller = await authenticate(request)
    return ocpi_response({"partner": caller.partner.name, "token_kind": caller.token_kind})


FUNCTIONAL_PATH = "/ocpi/2.2.1/tst-functional"


@asynccontextmanager
async def live_gateway(
    folder: Path, *, routes: Sequence[BaseRoute] = (), **overrides: Any
) -> AsyncIterator[LiveGateway]:
    """A gateway with a configuration file and a SQLite store in ``folder``, plus ``routes`` and a
    stand-in functional module at :data:`FUNCTIONAL_PATH`."""
    folder.mkdir(parents=True, exist_ok=True)
    sock = bind_loopback()
    url = base_url(sock)
    path = write_config(folder, public_url=url, **overrides)
    config = load_config(path)
    app = create_app(config, routes=[Route(FUNCTIONAL_PATH, functional_module, methods=["GET"]), *routes])
    async with serve(app, sock=sock):
        yield LiveGateway(url=url, config=config, config_path=path, app=app)


@asynccontextmanager
async def live_party(**kwargs: Any) -> AsyncIterator[OcpiParty]:
    """An OCPI party simulator (``OcpiParty`` keyword arguments, ``identities`` defaulting to a CPO)."""
    kwargs.setdefault("identities", [CPO_SIM])
    sock = bind_loopback()
    party = OcpiParty(base_url=base_url(sock), **kwargs)
    try:
        async with serve(party.app, sock=sock):
            yield party
    finally:
        await party.aclose()


async def envelope(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert isinstance(body, dict) and "status_code" in body and "timestamp" in body
    return body


def incoming_tokens(store_file: Path, partner: str) -> list[tuple[str, str]]:
    """(kind, token_hash) rows of a partner, read straight from the SQLite file."""
    with sqlite3.connect(store_file) as db:
        rows = db.execute(
            "SELECT kind, token_hash FROM incoming_tokens WHERE partner = ? ORDER BY kind", (partner,)
        ).fetchall()
    return [(str(kind), str(digest)) for kind, digest in rows]


def store_bytes(store_file: Path) -> bytes:
    """Every byte of the SQLite store (database and WAL), to check no token is in clear."""
    return b"".join(p.read_bytes() for p in store_file.parent.glob(store_file.name + "*"))
