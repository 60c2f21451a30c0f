"""PATCH bodies (partial objects) for any OCPI version: validate them field by field, then merge.

OCPI 2.2.1 transport_and_format "PATCH" and ocpi.md §3.6:

* A PATCH carries only the changed fields (plus the identifier where needed). Every present field
  must be valid for that field of the full object; unknown fields are kept as received.
* 2.2.1: every PATCH to Locations, Sessions and Tokens SHALL contain ``last_updated``, else 2001
  (ocpi#355). 2.1.1 does not require it. The caller says which applies (``require_last_updated``).
* A PATCH cannot remove information (use PUT): ``null`` values are therefore no-ops, at any depth.
* Effectively an RFC 7386 merge patch for scalars and nested objects. Arrays are replaced
  wholesale (ocpi#540/#285), except Session ``charging_periods``, which a PATCH *appends*
  (ocpi#325): the caller concatenates those before calling :func:`apply_patch`.

Cross-field rules (Hours.regular_hours when not 24/7, Location.publish_allowed_to, ...) need the
whole object, so they are checked by :func:`apply_patch`, which re-validates the merged result.
Errors are :class:`bridge.errors.InvalidParameters` naming the field path; they never contain the
received values (tokens must not leak into messages or logs).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from bridge.errors import InvalidParameters

ModelT = TypeVar("ModelT", bound=BaseModel)


@lru_cache(maxsize=1024)
def _field_adapter(model_cls: type[BaseModel], name: str) -> TypeAdapter[Any] | None:
    """The TypeAdapter of one field of ``model_cls`` (its annotation plus constraints), or None."""
    info = model_cls.model_fields.get(name)
    if info is None:
        return None
    annotation: Any = info.annotation
    if info.metadata:
        annotation = Annotated[(annotation, *info.metadata)]
    return TypeAdapter(annotation)


def _path(prefix: tuple[str | int, ...], loc: tuple[str | int, ...]) -> str:
    return ".".join(str(part) for part in (*prefix, *loc))


def invalid_parameters(exc: ValidationError, *prefix: str | int) -> InvalidParameters:
    """Turn a pydantic ValidationError into a 2001 naming the field path, without input values."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    parts = [f"{_path(prefix, tuple(err['loc'])) or '(body)'}: {err['msg']}" for err in errors]
    first = _path(prefix, tuple(errors[0]["loc"])) if errors else _path(prefix, ())
    return InvalidParameters("; ".join(parts), field=first or None)


def validate_patch(
    model_cls: type[BaseModel], data: Mapping[str, Any], *, require_last_updated: bool
) -> dict[str, Any]:
    """Validate a PATCH body against the fields of ``model_cls``; return the python values.

    Each present field is validated against that field's annotation (constraints included), so a
    nested object must be a valid object of its type. Unknown fields are returned unchanged,
    ``null`` values are dropped (a PATCH cannot remove information). Raises
    :class:`InvalidParameters` with ``field`` set for the first bad value, or for a missing
    ``last_updated`` when ``require_last_updated`` (2.2.1 Locations, Sessions, Tokens; ocpi#355).
    """
    if not isinstance(data, Mapping):
        raise InvalidParameters("a PATCH body must be a JSON object")
    if require_last_updated and data.get("last_updated") is None:
        raise InvalidParameters("last_updated: required in a PATCH", field="last_updated")
    result: dict[str, Any] = {}
    for name, value in data.items():
        if value is None:
            continue
        adapter = _field_adapter(model_cls, name)
        if adapter is None:
            result[name] = value
            continue
        try:
            result[name] = adapter.validate_python(value)
        except ValidationError as exc:
            raise invalid_parameters(exc, name) from None
    return result


def _plain(value: Any) -> Any:
    """Python values as a merge sees them: models become dicts of the fields they were given."""
    if isinstance(value, BaseModel):
        return {key: _plain(item) for key, item in value.model_dump(exclude_unset=True).items()}
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _merge(target: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(target)
    for key, value in patch.items():
        if value is None:
            continue
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            merged[key] = _merge(dict(current), value)
        else:
            merged[key] = value
    return merged


def apply_patch(obj: ModelT, patch: Mapping[str, Any]) -> ModelT:
    """Merge a validated PATCH (from :func:`validate_patch`) into ``obj``; return a new object.

    Scalars replace, nested objects merge key by key, arrays replace wholesale, ``null`` is a
    no-op. The merged object is validated as a whole (cross-field rules included); a failure
    raises :class:`InvalidParameters` naming the field. ``obj`` itself is not modified.
    """
    base = obj.model_dump(exclude_none=True)
    merged = _merge(base, _plain(dict(patch)))
    try:
        return type(obj).model_validate(merged)
    except ValidationError as exc:
        raise invalid_parameters(exc) from None


__all__ = ["apply_patch", "invalid_parameters", "validate_patch"]
