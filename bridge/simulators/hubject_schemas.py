"""Request validation for the Hubject simulator: the official OICP 2.3 OpenAPI schemas.

The simulator checks every request body it receives against the bundled OpenAPI files
(``<schemas_dir>/openapi-cpo/openapi.yaml`` for CPO → Hubject operations,
``openapi-emp/openapi.yaml`` for EMP → Hubject ones) and answers a violation the way Hubject's
backend does: HTTP 400 with a FaultBody naming the field in Java bean notation
(``operatorEvseData.evseDataRecord[0].hotlinePhoneNumber``, oicp-2.3.md §1.4).

Where Hubject's implementation and its OpenAPI documents disagree (oicp-2.3.md §8 point 5), the
schemas are adjusted to what HBS accepts, in a private copy:

* the implemented spellings are accepted next to the documented ones, with the same subschema
  (``ChargingStationID``, ``HubProviderID``, reservation ``EMPPartnerSessionID``, the
  PullEvseStatus filter ``EvseStatus``, GetChargeDetailRecords ``CDRForwarded``);
* GetChargeDetailRecords ``OperatorID`` may be an array (the implementation Swagger [W] and the
  spec snippets), as well as the OpenAPI's scalar;
* an EMP's AuthorizeRemoteStart needs no ``SessionID``: Hubject generates it (§2.3, §8 point 12).

jsonschema and referencing are test/demo dependencies: they are imported when a validator is
built, never by the gateway.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml

Side = Literal["cpo", "emp"]

#: (side, schema, documented property, implemented spelling accepted as well).
SPELLING_ALIASES: tuple[tuple[Side, str, str, str], ...] = (
    ("cpo", "EvseDataRecord", "ChargingStationId", "ChargingStationID"),
    ("emp", "EvseDataRecord", "ChargingStationId", "ChargingStationID"),
    ("emp", "PullEvseDataRecord", "ChargingStationId", "ChargingStationID"),
    ("emp", "eRoamingChargeDetailRecord", "HubProviderId", "HubProviderID"),
    ("cpo", "eRoamingAuthorizeRemoteReservationStart", "EMPPartnerSessionId", "EMPPartnerSessionID"),
    ("cpo", "eRoamingAuthorizeRemoteReservationStop", "EMPPartnerSessionId", "EMPPartnerSessionID"),
    ("emp", "eRoamingAuthorizeRemoteReservationStart", "EMPPartnerSessionId", "EMPPartnerSessionID"),
    ("emp", "eRoamingAuthorizeRemoteReservationStop", "EMPPartnerSessionId", "EMPPartnerSessionID"),
    ("emp", "eRoamingPullEVSEStatus", "EVSEStatus", "EvseStatus"),
    ("emp", "eRoamingGetChargeDetailRecords", "CDRForwarder", "CDRForwarded"),
)

#: (side, schema, required property the implementation does not require).
RELAXED_REQUIRED: tuple[tuple[Side, str, str], ...] = (("emp", "eRoamingAuthorizeRemoteStart", "SessionID"),)

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_MISSING = re.compile(r"^'([^']+)' is a required property")


class _NoTimestampLoader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1 timestamps: ``2021-01-23T14:23:54.228Z`` stays a string."""


_NoTimestampLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One ``validationErrors[]`` entry of a FaultBody."""

    field_reference: str
    error_message: str


def java_field_reference(path: list[str | int]) -> str:
    """``["OperatorEvseData", "EvseDataRecord", 0, "HotlinePhoneNumber"]`` →
    ``operatorEvseData.evseDataRecord[0].hotlinePhoneNumber`` (how HBS names fields, §1.4)."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = part[:1].lower() + part[1:]
            out += ("." if out else "") + name
    return out


def fault_body(problems: list[FieldProblem], *, extended_info: str | None = None) -> dict[str, Any]:
    """Hubject's HTTP 400 body (FaultBody of the implementation Swagger [W])."""
    return {
        "message": "Error parsing/validating JSON.",
        "extendedInfo": extended_info,
        "validationErrors": [
            {"fieldReference": problem.field_reference, "errorMessage": problem.error_message}
            for problem in problems
        ],
    }


class OicpSchemas:
    """The two OpenAPI documents, adjusted as the module docstring says, with cached validators.

    Documents and validators are shared by every instance reading the same folder (loading the
    YAML takes a while; simulators are created per test).
    """

    def __init__(self, schemas_dir: Path) -> None:
        self.schemas_dir = Path(schemas_dir).resolve()

    def document(self, side: Side) -> dict[str, Any]:
        """The adjusted OpenAPI document of one side (loaded once per folder)."""
        return _document(self.schemas_dir, side)

    def problems(self, instance: Any, side: Side, schema: str) -> list[FieldProblem]:
        """Every violation of ``#/components/schemas/<schema>`` as FaultBody entries, in path order."""
        validator = _validator(self.schemas_dir, side, schema)
        errors = sorted(validator.iter_errors(instance), key=lambda error: [str(p) for p in error.path])
        problems = []
        for error in errors:
            path: list[str | int] = list(error.path)
            missing = _MISSING.match(error.message) if error.validator == "required" else None
            if missing:
                path.append(missing.group(1))
                message = "must not be null"
            else:
                message = error.message
            problems.append(FieldProblem(java_field_reference(path), message))
        return problems


@lru_cache(maxsize=8)
def _document(schemas_dir: Path, side: Side) -> dict[str, Any]:
    path = schemas_dir / f"openapi-{side}" / "openapi.yaml"
    with path.open(encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.load(handle, Loader=_NoTimestampLoader)  # noqa: S506
    return _adjusted(document, side)


@lru_cache(maxsize=128)
def _validator(schemas_dir: Path, side: Side, schema: str) -> Any:
    from jsonschema import Draft4Validator, FormatChecker
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    document = _document(schemas_dir, side)
    if schema not in document["components"]["schemas"]:
        raise KeyError(f"no schema {schema!r} in openapi-{side}")
    uri = f"urn:hubject-simulator:openapi-{side}"
    registry: Any = Registry().with_resource(
        uri, Resource.from_contents(document, default_specification=DRAFT4)
    )
    formats = FormatChecker()
    formats.checks("date-time")(_is_date_time)
    return Draft4Validator(
        {"$ref": f"{uri}#/components/schemas/{schema}"}, registry=registry, format_checker=formats
    )


def _is_date_time(value: object) -> bool:
    """OpenAPI ``format: date-time`` is RFC 3339 (jsonschema checks it only with an extra package)."""
    return not isinstance(value, str) or bool(_RFC3339.match(value))


def _adjusted(document: dict[str, Any], side: Side) -> dict[str, Any]:
    result = copy.deepcopy(document)
    schemas = result["components"]["schemas"]
    for alias_side, schema, documented, implemented in SPELLING_ALIASES:
        properties = schemas.get(schema, {}).get("properties", {})
        if alias_side == side and documented in properties:
            properties.setdefault(implemented, properties[documented])
    for relaxed_side, schema, name in RELAXED_REQUIRED:
        if relaxed_side == side and schema in schemas:
            required = [item for item in schemas[schema].get("required", []) if item != name]
            schemas[schema]["required"] = required
    get_cdrs = schemas.get("eRoamingGetChargeDetailRecords")
    if side == "emp" and get_cdrs is not None:
        scalar = get_cdrs["properties"]["OperatorID"]
        get_cdrs["properties"]["OperatorID"] = {"oneOf": [scalar, {"type": "array", "items": scalar}]}
    return result


__all__ = [
    "RELAXED_REQUIRED",
    "SPELLING_ALIASES",
    "FieldProblem",
    "OicpSchemas",
    "fault_body",
    "java_field_reference",
]
