"""Shared helpers of the token/session/CDR/tariff/command/pricing mapping tests.

Fixtures are the official examples: OCPI 2.2.1 / 2.1.1 example files and the JSON snippets of the
OICP 2.3 code-snippet chapters (extracted by tests/schema_oicp.py). Hubject's snippets show every
Identification option at once and use placeholders ("SessionID": "string"); :func:`snippet`
returns a copy with one chosen option and documented placeholder repairs, visibly.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from bridge.ocpi.models.common import to_jsonable as ocpi_jsonable
from bridge.oicp.models.common import to_jsonable as oicp_jsonable
from mappings.rules import MappingRules
from tests.schema_ocpi import validate_ocpi_221
from tests.schema_oicp import openapi_spelling, snippet_examples, validate_oicp

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
EX221 = SHARED / "specs" / "ocpi-2.2.1" / "examples"
EX211 = SHARED / "specs" / "ocpi-2.1.1" / "examples"
SESSION_ID = "f98efba4-02d8-4fa0-b810-9a9d50d2c527"
"""A valid Hubject SessionID (the snippets' own, from the notification examples)."""

#: placeholder repairs applied by :func:`snippet`: (key, placeholder, replacement, why)
REPAIRS: tuple[tuple[str, str, str, str], ...] = (
    ("SessionID", "string", SESSION_ID, "the snippets' SessionID placeholder is not a GUID"),
    ("UID", "12345ABCD", "1234ABCD", "9 hex characters is no UID"),
    ("EvcoID", "string", "DE-DCB-C12345678-X", "placeholder, not an EvcoID"),
)


def example(name: str, version: str = "2.2.1") -> dict[str, Any]:
    """An official OCPI example file, parsed."""
    folder = EX221 if version == "2.2.1" else EX211
    data: dict[str, Any] = json.loads((folder / name).read_text(encoding="utf-8"))
    return data


def rules(**sections: dict[str, Any]) -> MappingRules:
    """MappingRules with the given sections laid over the defaults (as a mappings file would)."""
    return MappingRules.model_validate(sections)


def _repair(value: Any) -> Any:
    if isinstance(value, dict):
        fixed = {}
        for key, item in value.items():
            for wanted, placeholder, replacement, _why in REPAIRS:
                if key == wanted and item == placeholder:
                    item = replacement
            fixed[key] = _repair(item)
        return fixed
    if isinstance(value, list):
        return [_repair(item) for item in value]
    return value


def _one_option(value: Any, option: str) -> Any:
    """Every Identification object reduced to ``option`` (the snippets list all five)."""
    if isinstance(value, dict):
        if "RemoteIdentification" in value and "RFIDMifareFamilyIdentification" in value:
            return {option: value[option]}
        return {key: _one_option(item, option) for key, item in value.items()}
    if isinstance(value, list):
        return [_one_option(item, option) for item in value]
    return value


def snippet(side: str, heading: str, part: str = "Request", *, option: str = "RemoteIdentification") -> Any:
    """The JSON snippet of one OICP operation, repaired, with one Identification option."""
    key = f"{side}:snippet:{heading}:{part}"
    found = [e for e in snippet_examples(side) if e.key == key]  # type: ignore[arg-type]
    assert len(found) == 1, key
    return _one_option(_repair(copy.deepcopy(found[0].value)), option)


def oicp_valid(model: Any, schema: str, side: str = "cpo") -> dict[str, Any]:
    """Serialize strictly (egress checks) and validate against the official OICP schema."""
    data = oicp_jsonable(model)
    validate_oicp(openapi_spelling(data, schema, side), schema, side)  # type: ignore[arg-type]
    return data


def ocpi_valid(model: Any, schema: str) -> dict[str, Any]:
    """Serialize and validate against the OCPI 2.2.1 OpenAPI schema and our model again."""
    data = ocpi_jsonable(model)
    validate_ocpi_221(data, schema)
    type(model).model_validate(data)
    return data
