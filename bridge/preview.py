"""The ``map`` verb: translate a JSON file between OCPI and OICP and print the result.

``ocpi-oicp-bridge map --to oicp|ocpi-2.2.1|ocpi-2.1.1 [--kind KIND] [--from PROTOCOL]
[--mappings FILE] [--partner NAME] FILE.json`` prints the translation as JSON on stdout and every
Loss note (what was lost, defaulted or changed) as a ``warning:`` line on stderr. Input that cannot
be translated (a MappingError, invalid JSON, a kind that cannot be recognised) gives one ``error:``
line and exit code 1; an invalid mappings file exit code 2 (bridge.cli).

The kind and source protocol are recognised from the keys (OCPI snake_case vs OICP PascalCase and
the characteristic fields of each object); an OCPI response envelope ``{"data": ..., "status_code":
...}`` is unwrapped; a JSON list is translated item by item (a list of OICP EVSE records as one
batch, since records are grouped into Locations). The rules are the mappings file resolved for the
input's scope (owner country_code/party_id, location id, OperatorID) and ``--partner``.

``python -m bridge.preview --write-docs`` regenerates docs/mappings.md and config/mappings.yaml from
the rule tables (``--check`` only compares, exit 1 on a difference).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from bridge.errors import MappingError
from bridge.mapping_config import load_mappings
from bridge.ocpi.models.common import format_datetime
from bridge.ocpi.models.common import to_jsonable as ocpi_jsonable
from bridge.oicp.models.common import OicpEgressError
from bridge.oicp.models.common import to_jsonable as oicp_jsonable
from mappings.docs import render_markdown, render_yaml
from mappings.ids import evse_operator_id, normalize_evse_id

KINDS: tuple[str, ...] = ("location", "status", "token", "session", "cdr", "tariff", "command")
PROTOCOLS: tuple[str, ...] = ("oicp", "ocpi-2.2.1", "ocpi-2.1.1")
FAMILY_MODULES: dict[str, str] = {
    "location": "mappings.locations",
    "status": "mappings.status",
    "token": "mappings.tokens",
    "session": "mappings.sessions",
    "cdr": "mappings.cdrs",
    "tariff": "mappings.tariffs",
    "command": "mappings.commands",
}
ROOT = Path(__file__).resolve().parent.parent
DOCS_FILE = ROOT / "docs" / "mappings.md"
YAML_FILE = ROOT / "config" / "mappings.yaml"

_STATUSES = frozenset(
    {
        "AVAILABLE",
        "BLOCKED",
        "CHARGING",
        "INOPERATIVE",
        "OUTOFORDER",
        "PLANNED",
        "REMOVED",
        "RESERVED",
        "UNKNOWN",
    }
)
_NOTIFICATION_TYPES = frozenset({"Start", "Progress", "End", "Error"})


class Undetectable(ValueError):
    """The kind or protocol of the input cannot be recognised (use --kind / --from)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``map`` (bridge.cli calls this for the sub-command)."""
    parser.add_argument("file", metavar="FILE.json", help="the JSON input ('-' reads standard input)")
    parser.add_argument("--to", required=True, choices=PROTOCOLS, dest="target", help="target protocol")
    parser.add_argument("--kind", choices=KINDS, help="object kind (recognised from the keys when omitted)")
    parser.add_argument(
        "--from",
        choices=PROTOCOLS,
        dest="source",
        help="source protocol (recognised from the keys when omitted)",
    )
    parser.add_argument(
        "--mappings",
        metavar="FILE",
        help="mappings file (default: config/mappings.yaml, else the built-in rules)",
    )
    parser.add_argument("--partner", metavar="NAME", help="apply the overrides of this partner")


# ---------------------------------------------------------------------------------------------
# Recognising the input


def unwrap(value: Any) -> Any:
    """The ``data`` of an OCPI response envelope, else ``value`` unchanged."""
    if isinstance(value, Mapping) and "status_code" in value and ("data" in value or "timestamp" in value):
        if value.get("data") is None:
            raise Undetectable("the OCPI envelope carries no data")
        return value["data"]
    return value


def _is_oicp(obj: Mapping[str, Any]) -> bool:
    return any(key[:1].isupper() for key in obj) or ("content" in obj and "numberOfElements" in obj)


def _oicp_kind(obj: Mapping[str, Any]) -> str | None:
    keys = set(obj)
    if isinstance(obj.get("content"), list):
        first = obj["content"][0] if obj["content"] else {}
        return _oicp_kind(first) if isinstance(first, Mapping) and first else "location"
    if keys & {"OperatorEvseData", "EvseDataRecord"} or (
        "EvseID" in keys and keys & {"Plugs", "ChargingFacilities"}
    ):
        return "location"
    if keys & {"OperatorEvseStatus", "EvseStatuses", "EVSEStatusRecords", "EvseStatusRecord"} or (
        {"EvseID", "EvseStatus"} <= keys
    ):
        return "status"
    if obj.get("Type") in _NOTIFICATION_TYPES:
        return "session"
    if "ConsumedEnergy" in keys or "ChargeDetailRecord" in keys:
        return "cdr"
    if keys & {
        "PricingProductData",
        "PricingProductDataRecords",
        "ReferenceUnit",
        "EVSEPricing",
        "OperatorEVSEPricing",
    }:
        return "tariff"
    from_hubject = "ProviderID" in keys and "OperatorID" not in keys  # remote start/stop, reservations
    token_keys = {"AuthorizationStatus", "ProviderAuthenticationData"}
    if not from_hubject:
        token_keys.add("Identification")
    if keys & token_keys or any(key.endswith("Identification") and key != "Identification" for key in keys):
        return "token"
    if from_hubject and isinstance(obj.get("EvseID"), str) and keys & {"Identification", "SessionID"}:
        return "command"
    return None


def _ocpi_kind(obj: Mapping[str, Any]) -> str | None:
    keys = set(obj)
    if "evses" in keys or {"address", "coordinates"} <= keys:
        return "location"
    if "elements" in keys and "currency" in keys:
        return "tariff"
    if "total_energy" in keys:
        return "cdr"
    if "kwh" in keys and keys & {"start_date_time", "start_datetime"}:
        return "session"
    if keys & {"response_url", "result"}:
        return "command"
    if "allowed" in keys or (keys & {"contract_id", "auth_id"} and "type" in keys):
        return "token"
    if obj.get("status") in _STATUSES:
        return "status"
    return None


def _ocpi_version(kind: str, obj: Mapping[str, Any]) -> str:
    keys = set(obj)
    old = {
        "location": lambda: (
            "type" in keys
            or any(
                connector_key in connector
                for evse in obj.get("evses") or ()
                if isinstance(evse, Mapping)
                for connector in evse.get("connectors") or ()
                if isinstance(connector, Mapping)
                for connector_key in ("voltage", "amperage", "tariff_id")
            )
        ),
        "token": lambda: "auth_id" in keys,
        "session": lambda: bool(keys & {"start_datetime", "auth_id"}),
        "cdr": lambda: bool(keys & {"stop_date_time", "auth_id"}),
        "tariff": lambda: "country_code" not in keys,
        "command": lambda: isinstance(obj.get("reservation_id"), int),
    }.get(kind)
    if old is not None and "country_code" not in keys and old():
        return "ocpi-2.1.1"
    return "ocpi-2.2.1"


def detect(obj: Any, kind: str | None = None, source: str | None = None) -> tuple[str, str]:
    """(kind, source protocol) of an unwrapped input; raises :class:`Undetectable`."""
    sample = obj[0] if isinstance(obj, list) and obj else obj
    if not isinstance(sample, Mapping):
        raise Undetectable("the input is not a JSON object or a list of objects")
    if source is None:
        source = "oicp" if _is_oicp(sample) else "ocpi"
    if kind is None:
        kind = _oicp_kind(sample) if source == "oicp" else _ocpi_kind(sample)
        if kind is None:
            raise Undetectable(f"cannot tell which kind of {source.upper()} object this is (use --kind)")
    if source == "ocpi":
        source = _ocpi_version(kind, sample)
    return kind, source


def _scope(obj: Any, kind: str, source: str, partner: str | None) -> dict[str, str | None]:
    sample = obj[0] if isinstance(obj, list) and obj else obj
    scope: dict[str, str | None] = {"partner": partner}
    if not isinstance(sample, Mapping):
        return scope
    if source.startswith("ocpi"):
        country, party = sample.get("country_code"), sample.get("party_id")
        if isinstance(country, str) and isinstance(party, str):
            scope.update(country_code=country, party_id=party, operator_id=f"{country}*{party}")
        elif kind == "location":  # OCPI 2.1.1 has no owner: the EVSE ids name the operator
            evse_ids = [e.get("evse_id") for e in sample.get("evses") or () if isinstance(e, Mapping)]
            first = next((value for value in evse_ids if isinstance(value, str)), None)
            scope["operator_id"] = evse_operator_id(normalize_evse_id(first)) if first else None
        location_id = sample.get("id") if kind == "location" else sample.get("location_id")
        if isinstance(location_id, str):
            scope["location_id"] = location_id
        return scope
    envelope = sample.get("OperatorEvseData") or sample.get("OperatorEvseStatus") or sample
    operator = envelope.get("OperatorID") if isinstance(envelope, Mapping) else None
    if isinstance(operator, str):
        scope["operator_id"] = operator
    return scope


# ---------------------------------------------------------------------------------------------
# Output


def jsonable(value: Any) -> Any:
    """Wire JSON of a translation result: OICP models strictly checked (egress), OCPI models as sent."""
    if isinstance(value, BaseModel):
        if type(value).__module__.startswith("bridge.oicp"):
            return oicp_jsonable(value)
        return ocpi_jsonable(value)
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _family(kind: str) -> Callable[..., Any]:
    module = importlib.import_module(FAMILY_MODULES[kind])
    preview = getattr(module, "preview", None)
    if preview is None:
        raise Undetectable(f"{FAMILY_MODULES[kind]} offers no preview for kind {kind!r}")
    return preview  # type: ignore[no-any-return]


def _fail(message: str) -> int:
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    return 1


def run(args: argparse.Namespace) -> int:
    """Translate the file; 0 on success, 1 with one ``error:`` line when it cannot be translated."""
    ruleset = load_mappings(args.mappings)
    name = "<stdin>" if args.file == "-" else args.file
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return _fail(f"{name}: cannot read: {getattr(error, 'strerror', None) or error}")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        return _fail(f"{name}: invalid JSON: {error.msg} (line {error.lineno}, column {error.colno})")
    try:
        obj = unwrap(document)
        kind, source = detect(obj, args.kind, args.source)
        if source == args.target:
            raise Undetectable(f"the input is already {source}: nothing to translate")
        translate = _family(kind)
    except Undetectable as error:
        return _fail(f"{name}: {error}")
    rules = ruleset.resolve(**_scope(obj, kind, source, args.partner))
    now = datetime.now(UTC)
    batch = source == "oicp" and kind == "location" and isinstance(obj, list)
    items = [{"content": obj}] if batch else (obj if isinstance(obj, list) else [obj])
    values: list[Any] = []
    warnings: list[str] = []
    for index, item in enumerate(items):
        prefix = f"[{index}]" if isinstance(obj, list) and not batch else ""
        if not isinstance(item, Mapping):
            return _fail(f"{name}: {prefix or 'the input'} is not a JSON object")
        try:
            result = translate(item, source, args.target, rules, now=now)
        except MappingError as error:
            return _fail(f"{name}: cannot translate {prefix}{error.path or kind}: {error.reason}")
        values.append(result.value)
        warnings += [f"{prefix}{loss}" if prefix else str(loss) for loss in result.losses]
    if (kind == "location" and args.target == "oicp") or batch:
        value: Any = [record for group in values for record in group]
    else:
        value = values if isinstance(obj, list) else values[0]
    try:
        payload = jsonable(value)
    except (OicpEgressError, ValueError) as error:
        return _fail(f"{name}: the translation is not valid {args.target}: {error}")
    print(json.dumps(payload, indent=2, ensure_ascii=False))
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------------------------------------
# Regenerating the rule documentation


def write_docs(*, check: bool = False, root: Path = ROOT) -> list[Path]:
    """Write (or with ``check`` only compare) docs/mappings.md and config/mappings.yaml; the changed ones."""
    changed = []
    outputs = (
        (root / "docs" / "mappings.md", render_markdown()),
        (root / "config" / "mappings.yaml", render_yaml()),
    )
    for path, text in outputs:
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current != text:
            changed.append(path)
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bridge.preview --write-docs [--check]``."""
    parser = argparse.ArgumentParser(prog="python -m bridge.preview", description=__doc__.splitlines()[0])
    parser.add_argument("--write-docs", action="store_true", required=True, help="regenerate the rule docs")
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when a file differs")
    args = parser.parse_args(argv)
    changed = write_docs(check=args.check)
    for path in changed:
        print(f"{'differs' if args.check else 'written'}: {path.relative_to(ROOT)}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
