"""Derived lookup tables kept on the frozen rules model they are derived from.

CONTRIBUTING.md ("no globals"): a mapping is a pure function of its arguments. The tables a
mapping derives from its rules (a status table folded with its reverse, a connector's Plug and
ChargingFacility, a capability list's AuthenticationModes) depend on the rules alone, so they can
be kept on the rules object itself and reused by the next call with the same rules: the rule
models are frozen and never changed after validation, so a table computed once stays right.

A :class:`Memo` is a pydantic private attribute of the rules model. It is not part of the rules'
value: two memos compare equal (pydantic compares private attributes in ``==``), copying or
pickling gives an empty one, and a model that finds its memo owned by another instance (a
``model_copy``, which shares private attributes, possibly with changed fields) starts a fresh one
(:func:`tables`). Tables keyed by input values are bounded by the mapping (:data:`LIMIT`).
"""

from __future__ import annotations

from typing import Any

LIMIT = 4096
"""Entries a table keyed by input values (connectors, capability lists) holds before it is emptied."""


class Memo:
    """The derived tables of one rules instance, by name (see the module docstring)."""

    __slots__ = ("owner", "tables")

    def __init__(self) -> None:
        self.owner: object | None = None
        self.tables: dict[str, Any] = {}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Memo)

    __hash__ = None  # type: ignore[assignment]

    def __copy__(self) -> Memo:
        return Memo()

    def __deepcopy__(self, memo: dict[int, Any]) -> Memo:
        return Memo()

    def __reduce__(self) -> tuple[type[Memo], tuple[()]]:
        return Memo, ()

    def __repr__(self) -> str:
        return f"Memo({len(self.tables)} tables)"


def tables(owner: Any, attribute: str = "_memo") -> dict[str, Any]:
    """The tables of ``owner`` (a rules model with a :class:`Memo` private attribute ``attribute``).

    A memo found owned by another instance (shared by ``model_copy``) is replaced by a fresh one,
    so a copy with other rules never reads its original's tables.
    """
    memo: Memo = owner.__pydantic_private__[attribute]
    if memo.owner is not owner:
        if memo.owner is not None:
            memo = Memo()
            setattr(owner, attribute, memo)  # a private attribute: allowed on a frozen model
        memo.owner = owner
    return memo.tables


__all__ = ["LIMIT", "Memo", "tables"]
