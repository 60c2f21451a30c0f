"""The import floors of CONTRIBUTING.md: models at the bottom, mappings above, bridge on top."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

BOTTOM_ALLOWED = ("bridge.errors",)


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            names.append("." * node.level + (node.module or ""))
    return names


def _ours(name: str) -> bool:
    return name.startswith(("bridge", "mappings", "."))


def _files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize(
    ("folder", "own_prefix"),
    [("bridge/ocpi/models", "bridge.ocpi.models"), ("bridge/oicp/models", "bridge.oicp.models")],
)
def test_models_import_nothing_of_ours(folder: str, own_prefix: str) -> None:
    files = _files(folder)
    assert files, f"no model files under {folder}"
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in files
        for name in _imports(path)
        if _ours(name) and not name.startswith(".") and not name.startswith((own_prefix, *BOTTOM_ALLOWED))
    ]
    assert offenders == []


def test_errors_module_imports_nothing_of_ours() -> None:
    assert [n for n in _imports(ROOT / "bridge/errors.py") if _ours(n)] == []


def test_mappings_import_only_models_and_errors() -> None:
    allowed = ("mappings", "bridge.ocpi.models", "bridge.oicp.models", "bridge.errors")
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _files("mappings")
        for name in _imports(path)
        if _ours(name) and not name.startswith(".") and not name.startswith(allowed)
    ]
    assert offenders == []


def test_package_inits_import_nothing_of_ours() -> None:
    for init in ("bridge/__init__.py", "bridge/ocpi/__init__.py", "bridge/oicp/__init__.py"):
        assert [n for n in _imports(ROOT / init) if _ours(n)] == [], init
