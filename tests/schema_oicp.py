"""Test helper: the official OICP 2.3 JSON schemas and examples, loaded once.

* :func:`validate_oicp` checks a JSON-able value against a named component schema of the bundled
  OpenAPI files ``specs/oicp-2.3/openapi-cpo/openapi.yaml`` / ``openapi-emp/openapi.yaml``.
* :func:`openapi_spelling` rewrites the implemented wire spellings our models emit into the ones the
  OpenAPI documents declare, where Hubject's documents disagree (oicp-2.3.md §8 point 5), so that the
  value of such a field is checked by the schema instead of passing as an unknown property.
* :func:`snippet_examples` / :func:`openapi_examples` extract every JSON example of the spec (the
  ``06_*_Code_Snippets.asciidoc`` chapters and every ``example`` value of the two OpenAPI files).

The YAML is read without YAML 1.1 timestamp resolution: an unquoted ``2021-01-23T14:23:54.228Z``
stays the string it is on the wire.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

Side = Literal["cpo", "emp"]

_ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("OCPI_OICP_SHARED", _ROOT.parent / "shared")).resolve()
OICP_DIR = SHARED / "specs" / "oicp-2.3"
SNIPPET_FILES: dict[Side, Path] = {
    "cpo": OICP_DIR / "oicp-spec" / "OICP-2.3" / "OICP 2.3 CPO" / "06_CPO_Code_Snippets.asciidoc",
    "emp": OICP_DIR / "oicp-spec" / "OICP-2.3" / "OICP 2.3 EMP" / "06_EMP_Code_Snippets.asciidoc",
}


class _NoTimestampLoader(yaml.SafeLoader):
    """SafeLoader without the implicit YAML 1.1 timestamp type (keeps date-times as strings)."""


_NoTimestampLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@lru_cache(maxsize=2)
def openapi_document(side: Side) -> dict[str, Any]:
    """The bundled OpenAPI document of one side, parsed once."""
    path = OICP_DIR / f"openapi-{side}" / "openapi.yaml"
    with path.open(encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.load(handle, Loader=_NoTimestampLoader)  # noqa: S506
    return document


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_FORMATS = FormatChecker()


def _is_date_time(value: object) -> bool:
    """OpenAPI ``format: date-time`` is RFC 3339 (jsonschema only checks it with an extra package)."""
    return not isinstance(value, str) or bool(_RFC3339.match(value))


_FORMATS.checks("date-time")(_is_date_time)


@lru_cache(maxsize=256)
def _validator(side: Side, pointer: str) -> Draft4Validator:
    document = openapi_document(side)
    node: Any = document
    for part in pointer.strip("/").split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or key not in node:
            raise KeyError(f"no {pointer!r} in openapi-{side}")
        node = node[key]
    uri = f"urn:oicp-2.3:openapi-{side}"
    registry: Registry[Any] = Registry().with_resource(
        uri, Resource.from_contents(document, default_specification=DRAFT4)
    )
    return Draft4Validator({"$ref": f"{uri}#{pointer}"}, registry=registry, format_checker=_FORMATS)


def has_schema(schema_name: str, side: Side) -> bool:
    """Whether ``components/schemas/<schema_name>`` exists in the OpenAPI of ``side``."""
    return schema_name in openapi_document(side)["components"]["schemas"]


def oicp_schema_errors_at(instance: Any, pointer: str, side: Side = "cpo") -> list[str]:
    """Every violation of the schema at a JSON pointer of the document (``/components/schemas/X/...``)."""
    errors = sorted(_validator(side, pointer).iter_errors(instance), key=lambda e: list(e.path))
    return [f"{error.json_path}: {error.message}" for error in errors]


def oicp_schema_errors(instance: Any, schema_name: str, side: Side = "cpo") -> list[str]:
    """Every violation of ``#/components/schemas/<schema_name>`` as ``"<json path>: <message>"``."""
    return oicp_schema_errors_at(instance, f"/components/schemas/{schema_name}", side)


class OicpSchemaError(AssertionError):
    """The instance violates the official schema; the message lists every violation."""


def validate_oicp(instance: Any, schema_name: str, side: Side = "cpo") -> None:
    """Validate a JSON-able value against a component schema of the bundled OICP 2.3 OpenAPI.

    ``side`` picks ``openapi-cpo`` or ``openapi-emp``. Raises :class:`OicpSchemaError` naming
    every violation (``KeyError`` for an unknown schema name). Note that the OpenAPI does not
    forbid unknown properties, so a field spelled differently from the schema is not checked at
    all: use :func:`openapi_spelling` first.
    """
    problems = oicp_schema_errors(instance, schema_name, side)
    if problems:
        raise OicpSchemaError(f"{schema_name} ({side}): " + "; ".join(problems))


# ---------------------------------------------------------------------------------------------
# Implemented spelling -> OpenAPI spelling (oicp-2.3.md §8 point 5)

#: Renames applied at every depth: (side, implemented key, OpenAPI key, why).
GLOBAL_RENAMES: tuple[tuple[Side, str, str, str], ...] = (
    ("cpo", "ChargingStationID", "ChargingStationId", "EvseDataRecord: OpenAPI typo, [W]/snippets use ID"),
    ("emp", "ChargingStationID", "ChargingStationId", "(Pull)EvseDataRecord: OpenAPI typo"),
    ("emp", "HubProviderID", "HubProviderId", "CDR: the EMP OpenAPI still has the pre-2024 typo"),
)

#: Renames of top-level keys of one schema: (side, schema, implemented key, OpenAPI key, why).
SCHEMA_RENAMES: tuple[tuple[Side, str, str, str, str], ...] = (
    ("cpo", "eRoamingAuthorizeRemoteReservationStart", "EMPPartnerSessionID", "EMPPartnerSessionId", "typo"),
    ("cpo", "eRoamingAuthorizeRemoteReservationStop", "EMPPartnerSessionID", "EMPPartnerSessionId", "typo"),
    ("emp", "eRoamingAuthorizeRemoteReservationStart", "EMPPartnerSessionID", "EMPPartnerSessionId", "typo"),
    ("emp", "eRoamingAuthorizeRemoteReservationStop", "EMPPartnerSessionID", "EMPPartnerSessionId", "typo"),
    (
        "emp",
        "eRoamingPullEVSEStatus",
        "EvseStatus",
        "EVSEStatus",
        "[W] and the OpenAPI example use EvseStatus",
    ),
    ("emp", "eRoamingGetChargeDetailRecords", "CDRForwarded", "CDRForwarder", "OpenAPI typo"),
)


def _rename_everywhere(value: Any, old: str, new: str) -> Any:
    if isinstance(value, dict):
        return {
            (new if key == old else key): _rename_everywhere(item, old, new) for key, item in value.items()
        }
    if isinstance(value, list):
        return [_rename_everywhere(item, old, new) for item in value]
    return value


def openapi_spelling(instance: Any, schema_name: str, side: Side) -> Any:
    """A copy of ``instance`` with our implemented wire spellings replaced by the OpenAPI's.

    oicp-2.3.md §8 point 5: we emit what Hubject's backend implements (``ChargingStationID``,
    ``CDRForwarded``, ``EMPPartnerSessionID``, ``HubProviderID``, ``EvseStatus`` filter,
    GetChargeDetailRecords ``OperatorID`` as an array); the OpenAPI declares other spellings.
    GetChargeDetailRecords ``OperatorID``: the OpenAPI declares a scalar; a one-element array is
    unwrapped, a longer one has no OpenAPI equivalent and raises ``ValueError``.
    """
    result = copy.deepcopy(instance)
    for rule_side, old, new, _why in GLOBAL_RENAMES:
        if rule_side == side:
            result = _rename_everywhere(result, old, new)
    if not isinstance(result, dict):
        return result
    for rule_side, schema, old, new, _why in SCHEMA_RENAMES:
        if rule_side == side and schema == schema_name and old in result:
            result = {(new if key == old else key): item for key, item in result.items()}
    if side == "emp" and schema_name == "eRoamingGetChargeDetailRecords":
        operators = result.get("OperatorID")
        if isinstance(operators, list):
            if len(operators) != 1:
                raise ValueError(
                    "the OpenAPI GetChargeDetailRecords.OperatorID is a scalar: cannot express "
                    f"{len(operators)} operators"
                )
            result["OperatorID"] = operators[0]
    return result


# ---------------------------------------------------------------------------------------------
# Examples


@dataclass(frozen=True)
class SpecExample:
    """One JSON example of the spec.

    ``key`` is ``"<side>:snippet:<chapter heading>:<Request|Response>"`` for the code-snippet
    chapters and ``"<side>:openapi:<JSON pointer of the example>"`` for the OpenAPI files.
    ``value`` is the parsed JSON, or ``None`` with ``error`` set when the text is not valid JSON.
    """

    key: str
    side: Side
    text: str
    value: Any
    error: str | None = None


_HEADING = re.compile(r"^(=+)\s+(.*?)\s*$")
_SOURCE = re.compile(r"^\[source\s*,\s*json\s*\]\s*$", re.IGNORECASE)


def snippet_examples(side: Side) -> list[SpecExample]:
    """Every ``[source,json]`` / ```` ```json ```` block of one code-snippet chapter, with its headings."""
    lines = SNIPPET_FILES[side].read_text(encoding="utf-8").splitlines()
    examples: list[SpecExample] = []
    chapter = subchapter = ""
    index = 0
    while index < len(lines):
        line = lines[index]
        heading = _HEADING.match(line)
        if heading and len(heading.group(1)) == 2:
            chapter, subchapter = heading.group(2), ""
        elif heading and len(heading.group(1)) == 3:
            subchapter = heading.group(2).replace(" Code", "").strip()
        block: list[str] | None = None
        if _SOURCE.match(line) and index + 1 < len(lines) and lines[index + 1].strip() == "----":
            end = index + 2
            while end < len(lines) and lines[end].strip() != "----":
                end += 1
            block, index = lines[index + 2 : end], end
        elif line.strip().lower() in ("```json", "``` json"):
            end = index + 1
            while end < len(lines) and lines[end].strip() != "```":
                end += 1
            block, index = lines[index + 1 : end], end
        if block is not None:
            text = "\n".join(block)
            key = f"{side}:snippet:{chapter}:{subchapter}"
            try:
                examples.append(SpecExample(key, side, text, json.loads(text)))
            except json.JSONDecodeError as exc:
                examples.append(SpecExample(key, side, text, None, str(exc)))
        index += 1
    return examples


def _walk_examples(node: Any, pointer: str) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            child = f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}"
            parent_is_properties = pointer.endswith("/properties")
            if key == "example" and not parent_is_properties:
                yield child, value
            elif key == "examples" and not parent_is_properties and isinstance(value, dict):
                for name, item in value.items():
                    yield f"{child}/{name}", item.get("value") if isinstance(item, dict) else item
            else:
                yield from _walk_examples(value, child)
    elif isinstance(node, list):
        for position, value in enumerate(node):
            yield from _walk_examples(value, f"{pointer}/{position}")


def openapi_examples(side: Side) -> list[SpecExample]:
    """Every ``example`` / ``examples`` value of one bundled OpenAPI file, keyed by JSON pointer."""
    return [
        SpecExample(f"{side}:openapi:{pointer}", side, json.dumps(value, ensure_ascii=False), value)
        for pointer, value in _walk_examples(openapi_document(side), "")
    ]


def all_examples() -> list[SpecExample]:
    """The snippet and OpenAPI examples of both sides."""
    sides: tuple[Side, ...] = ("cpo", "emp")
    return [example for side in sides for example in (*snippet_examples(side), *openapi_examples(side))]
