"""What every mapping function returns: the translated model plus what was lost or defaulted.

Contract (issue "Mappings as data"): a mapping returns ``Translation[T]``; input that cannot be
translated raises ``bridge.errors.MappingError(path, reason)`` naming the source field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, NamedTuple, TypeVar

T = TypeVar("T")


class LossKind(StrEnum):
    LOST = "lost"  # the source field has no place in the target and was dropped
    DEFAULTED = "defaulted"  # the target field had no source and was filled from a rule or default
    CHANGED = "changed"  # the value was converted with a loss of precision or meaning


class Loss(NamedTuple):
    """One note about a field that did not survive the trip unchanged.

    A NamedTuple rather than a frozen dataclass: notes are created per EVSE on the hot path of
    location translation, and a frozen dataclass's ``__init__`` costs about twice as much.
    """

    path: str  # source path for LOST/CHANGED, target path for DEFAULTED ("evses[0].connectors[1].standard")
    kind: LossKind
    detail: str

    def __str__(self) -> str:
        return f"{self.kind.value} {self.path}: {self.detail}"


@dataclass(slots=True)
class Translation(Generic[T]):
    """The translated value and the notes about what was lost or defaulted on the way."""

    value: T
    losses: list[Loss] = field(default_factory=list)

    def lost(self, path: str, detail: str) -> None:
        self.losses.append(Loss(path, LossKind.LOST, detail))

    def defaulted(self, path: str, detail: str) -> None:
        self.losses.append(Loss(path, LossKind.DEFAULTED, detail))

    def changed(self, path: str, detail: str) -> None:
        self.losses.append(Loss(path, LossKind.CHANGED, detail))


@dataclass(frozen=True, slots=True)
class RuleDoc:
    """One documented translation rule; every family module lists its rules in ``RULE_TABLE``.

    ``docs/mappings.md`` is generated from these tables and the rule defaults, so it cannot drift.
    """

    direction: str  # "ocpi→oicp" or "oicp→ocpi"
    source: str  # source field(s), e.g. "Connector.standard + format"
    target: str  # target field(s), e.g. "EvseDataRecord.Plugs[]"
    rule: str  # what happens, in one sentence
    yaml_key: str | None = None  # dotted key in mappings.yaml that changes it, e.g. "locations.plugs"


__all__ = ["Loss", "LossKind", "RuleDoc", "Translation"]
