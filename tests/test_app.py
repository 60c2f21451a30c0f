"""The app shell: health, authentication on OCPI routes, the envelope for every error, message ids,
the body limit. In process over httpx.ASGITransport with the real store (SQLite file)."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

import pytest
from starlette.requests import Request
from starlette.routing import Route

from bridge.app import create_app
from tests.support.gateway import gateway_client, make_config, running

TOKEN_A = "partner-token-a-123"
PARTNER = {"name": "cpo-backend", "role": "CPO", "token_a": TOKEN_A}


def _b64(token: str) -> str:
    return base64.b64encode(token.encode()).decode()


def _assert_envelope(body: dict[str, object], status_code: int) -> None:
    assert body["status_code"] == status_code
    assert isinstance(body["timestamp"], str) and body["timestamp"].endswith("Z")
    assert "data" not in body


async def test_health_is_200_with_the_store_reachable(tmp_path: Path) -> None:
    async with gateway_client(tmp_path) as client:
        response = await client.get("/health")
    assert response.status_code == 200
    assert response.json()["store"] == "ok"
    assert (tmp_path / "bridge.db").is_file(), "the SQLite file is created on first start"


async def test_health_is_503_when_the_store_is_gone(tmp_path: Path) -> None:
    app = create_app(make_config(tmp_path))
    async with running(app) as client:
        await app.state.gateway.store.close()
        response = await client.get("/health")
    assert response.status_code == 503
    assert response.json()["store"] == "unreachable"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Token unknown-token"},
        {"Authorization": f"Token {_b64('nope')}"},
        {"Authorization": "Bearer x"},
    ],
)
async def test_ocpi_route_without_a_valid_token_is_401_with_an_envelope(
    tmp_path: Path, headers: dict[str, str]
) -> None:
    async with gateway_client(tmp_path, partners=[PARTNER]) as client:
        response = await client.get("/ocpi/versions", headers=headers)
    assert response.status_code == 401
    _assert_envelope(response.json(), 2000)


@pytest.mark.parametrize("encode", [True, False], ids=["base64", "raw"])
async def test_token_a_opens_versions_in_both_encodings(tmp_path: Path, encode: bool) -> None:
    value = _b64(TOKEN_A) if encode else TOKEN_A
    async with gateway_client(tmp_path, partners=[PARTNER]) as client:
        response = await client.get("/ocpi/versions", headers={"Authorization": f"Token {value}"})
    assert response.status_code == 200
    body = response.json()
    assert body["status_code"] == 1000
    assert [v["version"] for v in body["data"]] == ["2.2.1", "2.1.1"]
    assert body["data"][0]["url"] == "http://gateway.test/ocpi/2.2.1"


async def test_message_ids_are_echoed_and_generated(tmp_path: Path) -> None:
    async with gateway_client(tmp_path) as client:
        echoed = await client.get("/health", headers={"X-Request-ID": "req-1", "X-Correlation-ID": "cor-1"})
        generated = await client.get("/health")
    assert echoed.headers["X-Request-ID"] == "req-1"
    assert echoed.headers["X-Correlation-ID"] == "cor-1"
    uuid.UUID(generated.headers["X-Request-ID"])
    uuid.UUID(generated.headers["X-Correlation-ID"])


async def test_unknown_url_is_404_with_an_envelope(tmp_path: Path) -> None:
    async with gateway_client(tmp_path) as client:
        response = await client.get("/ocpi/2.2.1/nothing/here")
    assert response.status_code == 404
    _assert_envelope(response.json(), 2000)


async def _boom(request: Request) -> None:
    raise RuntimeError("boom")


async def test_unexpected_error_is_a_3000_envelope_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(
        make_config(tmp_path),
        routes=[Route("/ocpi/2.2.1/boom", _boom), Route("/api/oicp/boom", _boom, methods=["POST"])],
    )
    async with running(app, raise_app_exceptions=False) as client:
        ocpi = await client.get("/ocpi/2.2.1/boom")
        oicp = await client.post("/api/oicp/boom", json={})
    assert ocpi.status_code == 200
    _assert_envelope(ocpi.json(), 3000)
    assert "boom" not in ocpi.text, "internal details are logged, not sent"
    assert oicp.status_code == 200
    assert oicp.json() == {"Result": False, "StatusCode": {"Code": "021", "Description": "System error"}}
    assert any("unexpected error" in r.getMessage() and r.exc_info for r in caplog.records)


async def test_body_above_the_limit_is_413_with_an_envelope(tmp_path: Path) -> None:
    small = {
        "parties": [{"role": "CPO", "country_code": "DE", "party_id": "BRC", "name": "x"}],
        "max_body_bytes": 1024,
    }
    async with gateway_client(
        tmp_path, ocpi=small, partners=[{"name": "p", "role": "EMSP", "token_a": TOKEN_A}]
    ) as client:
        response = await client.post(
            "/ocpi/versions", content=b"x" * 4096, headers={"Authorization": f"Token {TOKEN_A}"}
        )
    assert response.status_code == 413
    _assert_envelope(response.json(), 2000)
    assert "1024" in response.json()["status_message"]
