"""Output models of our own making, built without validation (CONTRIBUTING.md: validate once, at the edge).

A mapping builds its output from input that was validated where it entered, with values of the
right types (enum members from validated rule tables, Decimals it computed, nested models built
the same way). Validating that output again costs more than the mapping itself; these helpers
build the model as validation would have left it instead:

* the same ``__dict__``: every field, in declaration order (the order JSON is written in),
  defaults filled in;
* the same ``model_fields_set`` (the keys given) and ``model_extra`` (``{}`` for ``extra="allow"``);
* no field or model validator runs: the caller guarantees what they check. OICP egress checks
  (formats, lengths, mandatory fields) run anyway when the model is serialized
  (``bridge.oicp.models.common.to_json``).

Only for models whose validation checks types alone (the OICP models: tolerant on ingress, strict
on egress). Models whose validation enforces the target's constraints (OCPI lengths, patterns)
must still be validated when built from another protocol's data.

``pydantic``'s ``model_construct`` gives the same result but looks every field up by alias and
name on each call, which costs several validations of a small model.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic.fields import FieldInfo

M = TypeVar("M", bound=BaseModel)

_new = object.__new__
# The setters of BaseModel's four slots: what object.__setattr__ reaches after a lookup, called
# directly (a model is built once per output value, and this halves the cost of filling it).
set_dict = BaseModel.__dict__["__dict__"].__set__
set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
set_private = BaseModel.__dict__["__pydantic_private__"].__set__
_UNSET: Any = object()
_IMMUTABLE = (type(None), str, int, float, Decimal, enum.Enum, tuple, frozenset)


@dataclass(frozen=True, slots=True)
class Layout:
    """What building one instance of a model class needs, computed once per class."""

    blank: dict[str, Any]  # every field in declaration order: its default, or a marker
    names: frozenset[str]
    required: frozenset[str]
    per_instance: tuple[tuple[str, FieldInfo], ...]  # defaults validation copies or makes per instance
    extra: bool


@functools.cache
def layout(cls: type[BaseModel]) -> Layout:
    """The :class:`Layout` of ``cls``; TypeError for models validation does more for than fill fields."""
    if (
        cls.__pydantic_post_init__
        or cls.__private_attributes__
        or cls.__pydantic_root_model__
        or cls.__new__ is not object.__new__
    ):
        raise TypeError(f"{cls.__name__}: construct() runs no post-init, __new__ or private attributes")
    blank: dict[str, Any] = {}
    per_instance = []
    for name, info in cls.model_fields.items():
        if not info.is_required() and info.default_factory is None and isinstance(info.default, _IMMUTABLE):
            blank[name] = info.default
        else:
            blank[name] = _UNSET
            if not info.is_required():
                per_instance.append((name, info))
    required = frozenset(name for name, info in cls.model_fields.items() if info.is_required())
    extra = cls.model_config.get("extra") == "allow"
    return Layout(blank, frozenset(blank), required, tuple(per_instance), extra)


def construct(cls: type[M], values: dict[str, Any]) -> M:
    """``cls`` as ``cls.model_validate(values)`` would give it, without validation.

    ``values`` maps field *names* (not aliases) to values already of the field's type. TypeError
    names missing required fields and unknown names.
    """
    spec = layout(cls)
    keys = values.keys()
    if not (keys >= spec.required and keys <= spec.names):
        raise TypeError(
            f"{cls.__name__}: missing {sorted(spec.required - keys)}, unknown {sorted(keys - spec.names)}"
        )
    data = spec.blank.copy()
    data.update(values)
    for name, info in spec.per_instance:
        if name not in values:
            data[name] = info.get_default(call_default_factory=True, validated_data=data)
    model = _new(cls)  # instance(), inlined
    set_dict(model, data)
    set_fields_set(model, set(keys))
    set_extra(model, {} if spec.extra else None)
    set_private(model, None)
    return model


def like(template: M, values: dict[str, Any]) -> M:
    """A copy of ``template`` (built by :func:`construct`) with ``values`` replacing some of its fields.

    Every key of ``values`` must be in ``template.model_fields_set``, so that the copy's fields
    set is the template's, as validating the merged values would give; callers pass the keys the
    template was built with. Unlike ``model_copy(update=...)`` nothing else is copied.
    """
    data = template.__dict__.copy()
    data.update(values)
    extra = template.__pydantic_extra__
    fields_set = set(template.__pydantic_fields_set__)
    return instance(type(template), data, fields_set, None if extra is None else dict(extra))


def instance(cls: type[M], data: dict[str, Any], fields_set: set[str], extra: dict[str, Any] | None) -> M:
    """The model holding ``data`` as its ``__dict__`` (complete, in declaration order): the state
    ``model_construct`` leaves for a class :func:`layout` accepts."""
    model = _new(cls)
    set_dict(model, data)
    set_fields_set(model, fields_set)
    set_extra(model, extra)
    set_private(model, None)
    return model


__all__ = [
    "Layout",
    "construct",
    "instance",
    "layout",
    "like",
    "set_dict",
    "set_extra",
    "set_fields_set",
    "set_private",
]
