"""Versions and version details (ocpi.md §1.1, reference 004): the combined documents, the
role-specific 2.1.1 documents, and authentication (401, token A accepted)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from bridge.app import create_app
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.server.registry import EndpointRegistry, ModuleEndpoint
from tests.support.gateway import PUBLIC_URL, make_config, running

CPO_TOKEN_A = "token-a-of-a-cpo"
EMSP_TOKEN_A = "token-a-of-an-emsp"
PARTNERS = [
    {"name": "cpo-partner", "role": "CPO", "token_a": CPO_TOKEN_A},
    {"name": "emsp-partner", "role": "EMSP", "token_a": EMSP_TOKEN_A},
]


def auth(token: str, *, encode: bool = True) -> dict[str, str]:
    value = base64.b64encode(token.encode()).decode() if encode else token
    return {"Authorization": f"Token {value}"}


@asynccontextmanager
async def gateway(tmp_path: Path, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway in process, with two custom modules registered (one per role, both versions)."""
    overrides.setdefault("partners", PARTNERS)
    app = create_app(make_config(tmp_path, **overrides))
    async with running(app) as client:
        registry: EndpointRegistry = app.state.gateway.services["ocpi_endpoints"]
        for version in ("2.2.1", "2.1.1"):
            registry.add(ModuleEndpoint(version, "tst-cpomod", "SENDER", "CPO", "cpo/tst-cpomod"))
            registry.add(ModuleEndpoint(version, "tst-emspmod", "RECEIVER", "EMSP", "emsp/tst-emspmod"))
        yield client


def data(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status_code"] == 1000
    assert body["timestamp"].endswith("Z")
    return body["data"]


async def test_versions_list_both_versions_highest_first(tmp_path: Path, shared_dir: Path) -> None:
    example = json.loads((shared_dir / "specs/ocpi-2.2.1/examples/versions_info_example.json").read_text())
    async with gateway(tmp_path) as client:
        versions = data(await client.get("/ocpi/versions", headers=auth(CPO_TOKEN_A)))
    assert versions == [
        {"version": "2.2.1", "url": f"{PUBLIC_URL}/ocpi/2.2.1"},
        {"version": "2.1.1", "url": f"{PUBLIC_URL}/ocpi/2.1.1"},
    ]
    assert all(set(item) == set(example[0]) for item in versions), "same shape as the official example"
    for item in versions:
        v221.Version.model_validate(item)


async def test_only_configured_versions_are_listed_and_served(tmp_path: Path) -> None:
    async with gateway(tmp_path, ocpi={**_parties(), "versions": ["2.2.1"]}) as client:
        versions = data(await client.get("/ocpi/versions", headers=auth(CPO_TOKEN_A)))
        assert [v["version"] for v in versions] == ["2.2.1"]
        for path in ("/ocpi/2.1.1", "/ocpi/2.1.1/credentials", "/ocpi/cpo/versions", "/ocpi/emsp/2.1.1"):
            response = await client.get(path, headers=auth(CPO_TOKEN_A))
            assert response.status_code == 404, path


def _parties() -> dict[str, Any]:
    return {
        "parties": [
            {"role": "CPO", "country_code": "DE", "party_id": "BRC", "name": "Bridge CPO"},
            {"role": "EMSP", "country_code": "DE", "party_id": "BRE", "name": "Bridge eMSP"},
        ]
    }


async def test_2_2_1_details_one_credentials_sender_and_roles_for_every_module(tmp_path: Path) -> None:
    async with gateway(tmp_path) as client:
        details = data(await client.get("/ocpi/2.2.1", headers=auth(EMSP_TOKEN_A)))
    parsed = v221.VersionDetails.model_validate(details)
    assert parsed.version == v221.VersionNumber.V2_2_1
    credentials = [e for e in details["endpoints"] if e["identifier"] == "credentials"]
    assert credentials == [
        {"identifier": "credentials", "role": "SENDER", "url": f"{PUBLIC_URL}/ocpi/2.2.1/credentials"}
    ]
    assert all(e["role"] in ("SENDER", "RECEIVER") for e in details["endpoints"])
    assert {
        "identifier": "tst-cpomod",
        "role": "SENDER",
        "url": f"{PUBLIC_URL}/ocpi/2.2.1/cpo/tst-cpomod",
    } in details["endpoints"]
    assert {
        "identifier": "tst-emspmod",
        "role": "RECEIVER",
        "url": f"{PUBLIC_URL}/ocpi/2.2.1/emsp/tst-emspmod",
    } in details["endpoints"]
    keys = [(e["identifier"], e["role"]) for e in details["endpoints"]]
    assert len(keys) == len(set(keys)), "each interface once"


async def test_combined_2_1_1_details_list_the_role_facing_the_caller(tmp_path: Path) -> None:
    async with gateway(tmp_path) as client:
        for_cpo = data(await client.get("/ocpi/2.1.1", headers=auth(CPO_TOKEN_A, encode=False)))
        for_emsp = data(await client.get("/ocpi/2.1.1", headers=auth(EMSP_TOKEN_A, encode=False)))
    v211.VersionDetails.model_validate(for_cpo)
    ids_cpo = [e["identifier"] for e in for_cpo["endpoints"]]
    ids_emsp = [e["identifier"] for e in for_emsp["endpoints"]]
    assert "tst-emspmod" in ids_cpo and "tst-cpomod" not in ids_cpo, "a CPO partner sees our eMSP modules"
    assert "tst-cpomod" in ids_emsp and "tst-emspmod" not in ids_emsp
    assert all("role" not in e for e in for_cpo["endpoints"]), "2.1.1 endpoints have no role"
    assert ids_cpo.count("credentials") == 1 and len(ids_cpo) == len(set(ids_cpo))
    assert for_cpo["endpoints"][0] == {
        "identifier": "credentials",
        "url": f"{PUBLIC_URL}/ocpi/2.1.1/credentials",
    }


async def test_role_specific_versions_documents(tmp_path: Path) -> None:
    async with gateway(tmp_path) as client:
        versions = data(await client.get("/ocpi/cpo/versions", headers=auth(EMSP_TOKEN_A)))
        details = data(await client.get("/ocpi/cpo/2.1.1", headers=auth(EMSP_TOKEN_A, encode=False)))
        emsp_side = data(await client.get("/ocpi/emsp/2.1.1", headers=auth(CPO_TOKEN_A)))
        wrong_role = await client.get("/ocpi/emsp/versions", headers=auth(EMSP_TOKEN_A))
        wrong_details = await client.get("/ocpi/cpo/2.1.1", headers=auth(CPO_TOKEN_A))
    assert versions == [
        {"version": "2.2.1", "url": f"{PUBLIC_URL}/ocpi/2.2.1"},
        {"version": "2.1.1", "url": f"{PUBLIC_URL}/ocpi/cpo/2.1.1"},
    ]
    v211.VersionDetails.model_validate(details)
    assert details["version"] == "2.1.1"
    assert details["endpoints"][0] == {
        "identifier": "credentials",
        "url": f"{PUBLIC_URL}/ocpi/cpo/2.1.1/credentials",
    }
    identifiers = [e["identifier"] for e in details["endpoints"]]
    assert "tst-cpomod" in identifiers and "tst-emspmod" not in identifiers
    assert {"identifier": "tst-cpomod", "url": f"{PUBLIC_URL}/ocpi/2.1.1/cpo/tst-cpomod"} in details[
        "endpoints"
    ]
    assert [e["identifier"] for e in emsp_side["endpoints"]].count("tst-emspmod") == 1
    assert "tst-cpomod" not in [e["identifier"] for e in emsp_side["endpoints"]]
    for refused in (wrong_role, wrong_details):
        assert refused.status_code == 404
        assert refused.json()["status_code"] == 2000
        assert "data" not in refused.json()


async def test_role_specific_urls_exist_only_for_our_roles(tmp_path: Path) -> None:
    parties = {"parties": [{"role": "CPO", "country_code": "DE", "party_id": "BRC", "name": "Bridge CPO"}]}
    async with gateway(tmp_path, ocpi=parties, partners=[PARTNERS[1]]) as client:
        assert (await client.get("/ocpi/cpo/versions", headers=auth(EMSP_TOKEN_A))).status_code == 200
        assert (await client.get("/ocpi/emsp/versions", headers=auth(EMSP_TOKEN_A))).status_code == 404


@pytest.mark.parametrize(
    "path", ["/ocpi/versions", "/ocpi/2.2.1", "/ocpi/2.1.1", "/ocpi/cpo/versions", "/ocpi/emsp/2.1.1"]
)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Token not-a-known-token"},
        auth("not-known"),
        {"Authorization": f"Bearer {CPO_TOKEN_A}"},
    ],
    ids=["missing", "unknown-raw", "unknown-base64", "wrong-scheme"],
)
async def test_missing_or_unknown_token_is_401(tmp_path: Path, path: str, headers: dict[str, str]) -> None:
    async with gateway(tmp_path) as client:
        response = await client.get(path, headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert body["status_code"] == 2000 and "data" not in body


@pytest.mark.parametrize("encode", [True, False], ids=["base64", "raw"])
async def test_token_a_reads_every_versions_document_in_both_encodings(tmp_path: Path, encode: bool) -> None:
    async with gateway(tmp_path) as client:
        for path in (
            "/ocpi/versions",
            "/ocpi/2.2.1",
            "/ocpi/2.1.1",
            "/ocpi/emsp/versions",
            "/ocpi/emsp/2.1.1",
        ):
            response = await client.get(path, headers=auth(CPO_TOKEN_A, encode=encode))
            assert response.status_code == 200, path
