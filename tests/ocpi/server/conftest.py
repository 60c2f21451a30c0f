"""Fixtures for the functional-module tests: a running gateway on a real store (SQLite in
tmp_path; PostgreSQL too for ``any_harness``) and the official example folders. The harness itself
is in ``harness.py``."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.ocpi.server.harness import POSTGRES_URL, Harness, open_harness, postgres_problem


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh SQLite file, or a fresh PostgreSQL schema (dropped afterwards; skipped when the
    server is unreachable, failed instead when ``CI`` is set)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'objects.db'}"
        return
    problem = postgres_problem()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    schema = f"ocpi_test_{secrets.token_hex(6)}"
    yield f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}schema={schema}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    """The gateway on a SQLite store, both OCPI versions, our CPO DE/BRC and eMSP DE/BRE."""
    async with open_harness(tmp_path, f"sqlite:///{tmp_path / 'objects.db'}") as made:
        yield made


@pytest.fixture
async def any_harness(tmp_path: Path, store_url: str) -> AsyncIterator[Harness]:
    """:func:`harness` on each store backend."""
    async with open_harness(tmp_path, store_url) as made:
        yield made


@pytest.fixture(scope="session")
def examples_221(shared_dir: Path) -> Path:
    return shared_dir / "specs" / "ocpi-2.2.1" / "examples"


@pytest.fixture(scope="session")
def examples_211(shared_dir: Path) -> Path:
    return shared_dir / "specs" / "ocpi-2.1.1" / "examples"
