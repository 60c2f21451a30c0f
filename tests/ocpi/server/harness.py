"""A real gateway for the functional-module tests: the app from ``create_app`` with a real store,
partners registered directly in the store (status ``registered``, version, credentials roles, a
CURRENT token), so these tests do not depend on the credentials handshake. HTTP goes through
httpx.ASGITransport in process; nothing of ours is mocked. Fixtures are in ``conftest.py``.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from starlette.applications import Starlette

from bridge.app import create_app
from bridge.config import BridgeConfig
from bridge.ocpi.server.objects import ObjectService, object_service
from bridge.store import PartnerRecord, Store, open_store
from tests.support.gateway import make_config, running

SHARED = Path(
    os.environ.get("OCPI_OICP_SHARED", Path(__file__).resolve().parents[3].parent / "shared")
).resolve()
EXAMPLES_221 = SHARED / "specs" / "ocpi-2.2.1" / "examples"
EXAMPLES_211 = SHARED / "specs" / "ocpi-2.1.1" / "examples"
"""The official examples (read-only; the ``shared_dir`` fixture fails loudly when missing)."""

POSTGRES_URL = os.environ.get("BRIDGE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")

OUR_CPO = ("DE", "BRC")
OUR_EMSP = ("DE", "BRE")


def _b64(token: str) -> str:
    return base64.b64encode(token.encode()).decode()


@dataclass
class Partner:
    """A registered partner: its token, version and credentials roles [(role, cc, pid)]."""

    name: str
    version: str
    roles: list[tuple[str, str, str]]
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """Authorization as the version wants it (2.2.1 Base64, 2.1.1 raw) plus, for 2.2.1, the
        request routing headers FROM = its first role, TO = the gateway (ocpi.md §3.5)."""
        if self.version == "2.1.1":
            return {"Authorization": f"Token {self.token}"}
        role, cc, pid = self.roles[0]
        ours = OUR_EMSP if role == "CPO" else OUR_CPO
        return {
            "Authorization": f"Token {_b64(self.token)}",
            "OCPI-from-country-code": cc,
            "OCPI-from-party-id": pid,
            "OCPI-to-country-code": ours[0],
            "OCPI-to-party-id": ours[1],
        }


@dataclass
class Harness:
    """The running gateway, its store, and helpers to register partners and call it."""

    app: Starlette
    client: httpx.AsyncClient
    store: Store
    config: BridgeConfig
    partners: dict[str, Partner] = field(default_factory=dict)

    @property
    def service(self) -> ObjectService:
        return object_service(self.app.state.gateway)

    async def partner(
        self,
        name: str,
        version: str = "2.2.1",
        roles: Sequence[tuple[str, str, str]] = (("CPO", "NL", "TNM"),),
        *,
        token_a: str | None = None,
    ) -> Partner:
        """Register ``name`` directly in the store, as the credentials handshake would leave it."""
        token = f"{name}-token-{secrets.token_hex(8)}"
        record = PartnerRecord(
            name=name,
            role=roles[0][0],
            version=version,
            status="registered",
            roles=[
                {"role": role, "country_code": cc, "party_id": pid, "business_details": {"name": name}}
                for role, cc, pid in roles
            ],
            token_encoding="raw" if version == "2.1.1" else "base64",
        )
        await self.store.save_partner(record)
        await self.store.set_incoming_token(name, token, "CURRENT")
        if token_a is not None:
            await self.store.set_incoming_token(name, token_a, "A")
        made = Partner(name, version, [tuple(r) for r in roles], token)  # type: ignore[misc]
        self.partners[name] = made
        return made

    async def call(
        self,
        partner: Partner | None,
        method: str,
        path: str,
        body: Any = None,
        *,
        version: str | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        """``method`` on ``/ocpi/{version}/{path}`` (version: the partner's) with its headers."""
        version = version or (partner.version if partner else "2.2.1")
        sent = dict(partner.headers if partner else {})
        sent.update(headers or {})
        content = None
        if body is not None:
            content = body if isinstance(body, bytes) else json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        url = path if path.startswith("http") else f"/ocpi/{version}/{path}"
        return await self.client.request(method, url, content=content, headers=sent, params=params)


@asynccontextmanager
async def open_harness(tmp_path: Path, store_url: str, **overrides: Any) -> AsyncIterator[Harness]:
    config = make_config(tmp_path, **overrides)
    store = await open_store(store_url)
    try:
        app = create_app(config, store=store)
        async with running(app) as client:
            yield Harness(app=app, client=client, store=store, config=config)
    finally:
        await store.close()


def postgres_problem() -> str | None:
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL at {POSTGRES_URL} is unreachable: {exc}".strip()
    return None


def load(folder: Path, name: str) -> Any:
    return json.loads((folder / name).read_text(encoding="utf-8"))


def envelope(response: httpx.Response, status_code: int = 1000) -> Any:
    """The response's envelope, checked: the OCPI status_code and a UTC timestamp."""
    body = response.json()
    assert body["status_code"] == status_code, body
    assert body["timestamp"].endswith("Z")
    return body.get("data")
