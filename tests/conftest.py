"""Shared fixtures: where the official specs are (../shared, read-only, present in CI too)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("OCPI_OICP_SHARED", ROOT.parent / "shared")).resolve()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not (SHARED / "specs").is_dir():
        pytest.fail(f"the shared specs folder is missing at {SHARED} (set OCPI_OICP_SHARED)")
    return SHARED
