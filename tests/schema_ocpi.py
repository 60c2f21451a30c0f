"""Test helper: validate JSON-able values against the official OCPI 2.2.1 OpenAPI schemas.

* :func:`validate_ocpi_221` checks a value against a named component schema (``"Location"``,
  ``"EVSE"``, ``"CDR"``, ``"OCPIResponse"``, ...) of the OpenAPI 3.1 files in
  ``../shared/specs/ocpi-openapi/2.2.1``. Schema names are unique across the files; the relative
  ``$ref``s between them (``../../components/schema.yaml#/...``) are resolved with ``referencing``.
* :func:`validate_ocpi_221_response` checks a whole response envelope and its ``data``.
* :func:`ocpi_221_schema_errors` returns the violations instead of raising.

The registry and one validator per schema name are built once (cached).

Known deviations of these files from the 2.2.1 spec text (ocpi-openapi SOURCE.md) that callers
must handle deliberately, not by loosening this helper:

* Location/LocationPatch/CdrLocation ``address`` maxLength 45 and ``state`` maxLength 20 are the
  pre-errata lengths; the ``release-2.2.1-bugfixes`` branch (and our models) allow 255 and 45.
* SignedValue ``plain_data`` maxLength 512 is pre-errata; the errata say 5000.
* The ``X-Request-ID``/``X-Correlation-ID`` headers are ``format: uuid`` and required; the spec
  only advises UUIDs. This helper validates bodies only, never the header schemas.

``format: date-time`` (RFC 3339) and ``format: uri`` (absolute URI) are checked here: jsonschema
only checks them when optional packages are installed, and we want the check in every run.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

_ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("OCPI_OICP_SHARED", _ROOT.parent / "shared")).resolve()
OPENAPI_221 = SHARED / "specs" / "ocpi-openapi" / "2.2.1"


class _NoTimestampLoader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1 timestamps: an unquoted date-time stays the string it is."""


_NoTimestampLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_FORMATS = FormatChecker()


@_FORMATS.checks("date-time")
def _is_date_time(value: object) -> bool:
    return not isinstance(value, str) or bool(_RFC3339.match(value))


@_FORMATS.checks("uri")
def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme) and (bool(parts.netloc) or parts.scheme in {"urn", "mailto"})


def _schema_files() -> list[Path]:
    return sorted([*(OPENAPI_221 / "components").glob("*.yaml"), *(OPENAPI_221 / "modules").rglob("*.yaml")])


@lru_cache(maxsize=1)
def _registry_and_index() -> tuple[Registry[Any], dict[str, str]]:
    """All YAML documents as resources (keyed by file URI), and schema name -> document URI."""
    if not OPENAPI_221.is_dir():
        raise FileNotFoundError(f"the OCPI 2.2.1 OpenAPI folder is missing at {OPENAPI_221}")
    registry: Registry[Any] = Registry()
    index: dict[str, str] = {}
    for path in _schema_files():
        with path.open(encoding="utf-8") as handle:
            document = yaml.load(handle, Loader=_NoTimestampLoader)  # noqa: S506 (SafeLoader subclass)
        uri = path.as_uri()
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        registry = registry.with_resource(uri, resource)
        schemas = (document.get("components") or {}).get("schemas") or {}
        for name in schemas:
            if name in index:
                raise ValueError(f"schema {name!r} is defined in {index[name]} and {uri}")
            index[name] = uri
    return registry.crawl(), index


def ocpi_221_schema_names() -> list[str]:
    """Every component schema name of the OCPI 2.2.1 OpenAPI files."""
    return sorted(_registry_and_index()[1])


@lru_cache(maxsize=256)
def _validator(schema_name: str) -> Draft202012Validator:
    registry, index = _registry_and_index()
    if schema_name not in index:
        raise KeyError(f"no OCPI 2.2.1 component schema {schema_name!r}")
    schema = {"$ref": f"{index[schema_name]}#/components/schemas/{schema_name}"}
    return Draft202012Validator(schema, registry=registry, format_checker=_FORMATS)


def ocpi_221_schema_errors(instance: Any, schema_name: str) -> list[str]:
    """Every violation of the named schema as ``"<json path>: <message>"``, sorted by path."""
    errors = sorted(_validator(schema_name).iter_errors(instance), key=lambda e: [str(p) for p in e.path])
    return [f"{error.json_path}: {error.message}" for error in errors]


class OcpiSchemaError(AssertionError):
    """The instance violates the official OCPI 2.2.1 schema; the message lists every violation."""


def validate_ocpi_221(instance: Any, schema_name: str) -> None:
    """Validate a JSON-able value against a component schema of the OCPI 2.2.1 OpenAPI.

    Raises :class:`OcpiSchemaError` naming every violation. The schemas do not forbid unknown
    properties, so a misspelled field passes unchecked: compare with the model as well.
    """
    problems = ocpi_221_schema_errors(instance, schema_name)
    if problems:
        raise OcpiSchemaError(f"{schema_name}: " + "; ".join(problems))


def validate_ocpi_221_response(body: Any, data_schema: str | None = None, *, many: bool = False) -> None:
    """Validate a response envelope against ``OCPIResponse`` and its ``data`` against ``data_schema``.

    The OpenAPI envelope lists no required properties; ocpi.md §2.1 requires ``status_code`` and
    ``timestamp``, so their presence is checked too. With ``many`` the data must be an array and
    each element is validated. ``data_schema=None`` leaves ``data`` unchecked.
    """
    validate_ocpi_221(body, "OCPIResponse")
    missing = [key for key in ("status_code", "timestamp") if key not in body]
    if missing:
        raise OcpiSchemaError(f"OCPIResponse: missing required {', '.join(missing)} (ocpi.md §2.1)")
    if data_schema is None or body.get("data") is None:
        return
    data = body["data"]
    if many:
        if not isinstance(data, list):
            raise OcpiSchemaError(f"OCPIResponse: data should be an array of {data_schema}")
        for position, item in enumerate(data):
            problems = ocpi_221_schema_errors(item, data_schema)
            if problems:
                raise OcpiSchemaError(f"data[{position}] {data_schema}: " + "; ".join(problems))
    else:
        validate_ocpi_221(data, data_schema)


__all__ = [
    "OPENAPI_221",
    "OcpiSchemaError",
    "ocpi_221_schema_errors",
    "ocpi_221_schema_names",
    "validate_ocpi_221",
    "validate_ocpi_221_response",
]
