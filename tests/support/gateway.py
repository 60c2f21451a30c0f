"""Build a real gateway for tests: a configuration file on disk, the app with its lifespan, and
an httpx client talking to it in process (httpx.ASGITransport) — no mocks of our own code."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml
from starlette.applications import Starlette

from bridge.app import create_app
from bridge.config import BridgeConfig, load_config

PUBLIC_URL = "http://gateway.test"


def write_config(tmp_path: Path, **overrides: Any) -> Path:
    """A valid bridge.yaml (SQLite store in tmp_path) with ``overrides`` merged at the top level."""
    data: dict[str, Any] = {
        "listen": {"host": "127.0.0.1", "port": 8080},
        "public_url": PUBLIC_URL,
        "store": "sqlite:///bridge.db",
        "ocpi": {
            "parties": [
                {"role": "CPO", "country_code": "DE", "party_id": "BRC", "name": "Bridge CPO"},
                {"role": "EMSP", "country_code": "DE", "party_id": "BRE", "name": "Bridge eMSP"},
            ]
        },
        "partners": [],
    }
    data.update(overrides)
    mappings = tmp_path / "mappings.yaml"
    if not mappings.exists():
        mappings.write_text("# defaults\n{}\n")
    path = tmp_path / "bridge.yaml"
    path.write_text(textwrap.dedent(yaml.safe_dump(data, sort_keys=False)))
    return path


def make_config(tmp_path: Path, **overrides: Any) -> BridgeConfig:
    return load_config(write_config(tmp_path, **overrides))


@asynccontextmanager
async def running(app: Starlette, *, raise_app_exceptions: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan and yield a client bound to it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
            yield client


@asynccontextmanager
async def gateway_client(tmp_path: Path, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_config(tmp_path, **overrides))
    async with running(app) as client:
        yield client
