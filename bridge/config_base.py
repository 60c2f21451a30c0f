"""What every configuration model shares: the base class, the error that names a key, file paths.

Kept apart from :mod:`bridge.config` so that the flow sections (:mod:`bridge.config_flows`) and the
root model can both build on it without importing each other.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationInfo, model_validator

# OICP 2.3 OperatorID (oicp-2.3.md, OpenAPI ``OperatorID`` pattern).
OPERATOR_ID_PATTERN = re.compile(r"^(([A-Za-z]{2}\*?[A-Za-z0-9]{3})|(\+?[0-9]{1,3}\*[0-9]{3}))$")


class ConfigValueError(ValueError):
    """A validation failure that knows the key it is about, relative to the model raising it.

    pydantic places a model validator's error at the model's own location; ``path`` refines it
    (``tls.key`` under ``hubject``, ``partners[2].name`` under the root), so the message names the
    exact key. ``reason`` must never contain a secret value.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(reason)


def empty_to_none(value: Any) -> Any:
    """``${VAR:-}`` yields ``""``; for an optional key that means "not set"."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _base_dir(info: ValidationInfo) -> Path:
    context = info.context if isinstance(info.context, Mapping) else {}
    base = context.get("base_dir")
    return Path(base) if base is not None else Path.cwd()


def resolve_path(value: Path, info: ValidationInfo) -> Path:
    """Relative paths are relative to the configuration file's directory, not the working directory."""
    path = value.expanduser()
    if not path.is_absolute():
        path = _base_dir(info) / path
    return path.resolve()


def existing_file(value: Path | None, info: ValidationInfo) -> Path | None:
    """``value`` resolved (:func:`resolve_path`); ValueError naming it when it is not a file."""
    if value is None:
        return None
    path = resolve_path(value, info)
    if not path.is_file():
        raise ValueError(f"file not found: {path}")
    return path


OptionalPath = Annotated[Path | None, BeforeValidator(empty_to_none)]


class ConfigModel(BaseModel):
    """Base of the configuration models: unknown keys are errors, values are frozen after loading.

    ``hide_input_in_errors`` is set on every model: pydantic takes it from the outermost model, and
    the outermost one (:class:`bridge.config.BridgeConfig`) carries secrets through its children.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_section(cls, data: Any) -> Any:
        """A section whose keys are all commented out (``tls:`` alone) is YAML null: use the defaults."""
        return {} if data is None else data


__all__ = [
    "OPERATOR_ID_PATTERN",
    "ConfigModel",
    "ConfigValueError",
    "OptionalPath",
    "empty_to_none",
    "existing_file",
    "resolve_path",
]
