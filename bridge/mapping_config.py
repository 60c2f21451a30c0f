"""Reads a mappings file (``config/mappings.yaml``) into a :class:`mappings.rules.RuleSet`.

Errors are :class:`bridge.errors.ConfigError` naming the file and the key path
(``config/mappings.yaml: overrides[1].locations.accessibility: Input should be ...``), so the CLI
prints one line and exits with code 2. The checking itself is :func:`mappings.rules.load_rules`.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from bridge.errors import ConfigError, MappingError
from mappings.rules import RuleSet, load_rules

REPO_MAPPINGS = Path(__file__).resolve().parent.parent / "config" / "mappings.yaml"
"""The repository's generated defaults file (absent in an installed package)."""


def default_mappings_path() -> Path | None:
    """``config/mappings.yaml`` of the repository when present, else None (built-in defaults)."""
    return REPO_MAPPINGS if REPO_MAPPINGS.is_file() else None


def parse_mappings(text: str, source: str = "<mappings>") -> RuleSet:
    """Parse YAML text into a RuleSet; ``source`` names the file in errors."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigError(source, where, f"invalid YAML: {problem}") from error
    try:
        return load_rules(data)
    except MappingError as error:
        raise ConfigError(source, error.path, error.reason) from error
    except ValueError as error:
        raise ConfigError(source, "", str(error)) from error


def load_mappings(path: str | os.PathLike[str] | None = None) -> RuleSet:
    """Load ``path``; without one, the repository's config/mappings.yaml or the built-in defaults."""
    if path is None:
        found = default_mappings_path()
        if found is None:
            return RuleSet.default()
        path = found
    name = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(name, "", f"cannot read the mappings file: {error.strerror or error}") from error
    except UnicodeDecodeError as error:
        raise ConfigError(name, "", f"not UTF-8 text: {error.reason}") from error
    return parse_mappings(text, name)


__all__ = ["REPO_MAPPINGS", "default_mappings_path", "load_mappings", "parse_mappings"]
