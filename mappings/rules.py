"""The rule tables of every mapping family, their defaults and per-scope overrides ("mappings as data").

Each family module defines its own pydantic rules model (every field with a default and a
``description``); :class:`MappingRules` gathers them, one section per family. A mappings file
(``config/mappings.yaml``) holds those sections, each a *partial* set of keys laid over the built-in
defaults, plus an ordered list of ``overrides``::

    locations:
      hotline_phone_number: "+4930123456"
    overrides:
      - match: {operator_id: "DE*ABC"}
        locations: {accessibility: "Paying publicly accessible"}
      - match: {location_id: "LOC1"}
        status: {to_oicp: {BLOCKED: OutOfService}}

:meth:`RuleSet.resolve` deep-merges the applicable overrides over the defaults, least specific
first, so the most specific wins: ``operator_id`` / ``country_code`` / ``party_id`` (1) < ``partner``
(2) < ``location_id`` (3); among equals the later entry in the file wins. Every key of a ``match``
must equal the query (ids compared case-insensitively, OperatorIDs canonically: ``DE*ABC`` =
``deabc``). Mappings are merged key by key; lists and scalars are replaced; ``null`` in a table
removes that entry's translation (documented per table).

Pure: :func:`load_rules` takes already-parsed data; reading the file is ``bridge.mapping_config``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bridge.errors import MappingError
from mappings.cdrs import CdrRules
from mappings.commands import CommandRules
from mappings.ids import canonical_id
from mappings.locations import LocationRules
from mappings.sessions import SessionRules
from mappings.status import StatusRules
from mappings.tariffs import TariffRules
from mappings.tokens import TokenRules


class MappingRules(BaseModel):
    """Every family's rules, resolved for one scope (operator, partner, location)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    locations: LocationRules = Field(
        default_factory=LocationRules,
        description="OCPI Location/EVSE/Connector ⇄ OICP EvseDataRecord (mappings/locations.py).",
    )
    status: StatusRules = Field(
        default_factory=StatusRules,
        description="OCPI EVSE Status ⇄ OICP EvseStatus (mappings/status.py).",
    )
    tokens: TokenRules = Field(
        default_factory=TokenRules,
        description="OCPI Token/AuthorizationInfo ⇄ OICP Identification and authorization "
        "(mappings/tokens.py).",
    )
    sessions: SessionRules = Field(
        default_factory=SessionRules,
        description="OCPI Session ⇄ OICP ChargingNotifications (mappings/sessions.py).",
    )
    cdrs: CdrRules = Field(
        default_factory=CdrRules,
        description="OCPI CDR ⇄ OICP ChargeDetailRecord (mappings/cdrs.py).",
    )
    tariffs: TariffRules = Field(
        default_factory=TariffRules,
        description="OCPI Tariff ⇄ OICP pricing products (mappings/tariffs.py).",
    )
    commands: CommandRules = Field(
        default_factory=CommandRules,
        description="OCPI commands ⇄ OICP remote start/stop and reservations (mappings/commands.py).",
    )


SECTIONS: tuple[str, ...] = tuple(MappingRules.model_fields)
"""The section names of a mappings file, in documentation order."""

MATCH_KEYS: tuple[str, ...] = ("operator_id", "partner", "location_id", "country_code", "party_id")


class Match(BaseModel):
    """Where an override applies: every given key must equal the scope being resolved."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    operator_id: str | None = Field(default=None, description="OICP OperatorID, compared canonically.")
    partner: str | None = Field(default=None, description="Partner name as in the bridge configuration.")
    location_id: str | None = Field(default=None, description="OCPI Location.id (case-insensitive).")
    country_code: str | None = Field(default=None, description="OCPI country_code of the owner.")
    party_id: str | None = Field(default=None, description="OCPI party_id of the owner.")

    @property
    def specificity(self) -> int:
        """1 operator/country/party, 2 partner, 3 location (0: an empty match applies everywhere)."""
        if self.location_id is not None:
            return 3
        if self.partner is not None:
            return 2
        if self.operator_id is not None or self.country_code is not None or self.party_id is not None:
            return 1
        return 0

    def applies(self, scope: _Scope) -> bool:
        """True when every key of this match equals the corresponding key of ``scope``."""
        wanted = (
            (self.operator_id, scope.operator_id, True),
            (self.partner, scope.partner, False),
            (self.location_id, scope.location_id, False),
            (self.country_code, scope.country_code, False),
            (self.party_id, scope.party_id, False),
        )
        for expected, actual, operator in wanted:
            if expected is None:
                continue
            if actual is None:
                return False
            if operator and canonical_id(expected) != canonical_id(actual):
                return False
            if not operator and expected != actual and expected.upper() != actual.upper():
                return False
        return True


@dataclass(frozen=True, slots=True)
class _Scope:
    operator_id: str | None
    partner: str | None
    location_id: str | None
    country_code: str | None
    party_id: str | None


@dataclass(frozen=True, slots=True)
class Override:
    """One ``overrides[]`` entry: a :class:`Match` and partial sections (raw, already validated)."""

    match: Match
    sections: Mapping[str, Mapping[str, Any]]
    index: int = 0


def deep_merge(base: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """``patch`` laid over ``base``: mappings merge key by key, anything else replaces."""
    merged = dict(base)
    for key, value in patch.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = value
    return merged


def _error_path(prefix: str, error: ValidationError) -> MappingError:
    first = error.errors()[0]
    location = ".".join(str(part) for part in first["loc"])
    path = f"{prefix}.{location}" if prefix and location else (prefix or location)
    return MappingError(path, first["msg"])


def _validated(base: Mapping[str, Any], patch: Mapping[str, Any], prefix: str) -> MappingRules:
    try:
        return MappingRules.model_validate(deep_merge(base, patch))
    except ValidationError as error:
        raise _error_path(prefix, error) from error


_SCOPE_CACHE_LIMIT = 65536


@dataclass(frozen=True)
class RuleSet:
    """Built-in defaults (already merged with the file's sections) plus the ordered overrides."""

    defaults: MappingRules = field(default_factory=MappingRules)
    overrides: tuple[Override, ...] = ()
    _cache: dict[_Scope, MappingRules] = field(default_factory=dict, compare=False, repr=False)
    # One MappingRules per list of applicable overrides (by position): scopes that differ only in keys
    # no override matches (every Location has its own location_id) share it, and with it the
    # tables the mappings derive from it and keep on it (mappings._memo).
    _merged: dict[tuple[int, ...], MappingRules] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def default(cls) -> RuleSet:
        """The built-in defaults without overrides (what the generated config/mappings.yaml holds)."""
        return cls()

    def resolve(
        self,
        *,
        operator_id: str | None = None,
        partner: str | None = None,
        location_id: str | None = None,
        country_code: str | None = None,
        party_id: str | None = None,
    ) -> MappingRules:
        """The rules for one scope: applicable overrides merged least specific first (memoised per
        scope, and per set of applicable overrides: equal scopes get the same object)."""
        scope = _Scope(operator_id, partner, location_id, country_code, party_id)
        cached = self._cache.get(scope)
        if cached is not None:
            return cached
        found = sorted(
            (
                (position, override)
                for position, override in enumerate(self.overrides)
                if override.match.applies(scope)
            ),
            key=lambda item: (item[1].match.specificity, item[1].index),
        )
        key = tuple(position for position, _ in found)  # positions: unique even without indexes
        resolved = self._merged.get(key) if found else self.defaults
        if resolved is None:
            applicable = [override for _, override in found]
            merged: dict[str, Any] = self.defaults.model_dump(mode="json")
            for override in applicable:
                merged = deep_merge(merged, override.sections)
            resolved = self._merged[key] = _validated(merged, {}, f"overrides[{applicable[-1].index}]")
        if len(self._cache) >= _SCOPE_CACHE_LIMIT:
            # Scopes include location ids (a million on the eMSP side): keep the memo bounded;
            # the merged rules themselves stay shared through ``_merged``.
            self._cache.clear()
        self._cache[scope] = resolved
        return resolved


def _as_mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MappingError(path, f"must be a mapping, got {type(value).__name__}")
    for key in value:
        if not isinstance(key, str):
            raise MappingError(path, f"keys must be strings, got {json.dumps(str(key))}")
    return value


def _sections(
    data: Mapping[str, Any], path: str, allowed_extra: tuple[str, ...]
) -> dict[str, Mapping[str, Any]]:
    sections: dict[str, Mapping[str, Any]] = {}
    for key, value in data.items():
        if key in allowed_extra:
            continue
        where = f"{path}.{key}" if path else key
        if key not in SECTIONS:
            raise MappingError(where, f"unknown section; expected one of {', '.join(SECTIONS)}")
        sections[key] = _as_mapping(value if value is not None else {}, where)
    return sections


def load_rules(data: Mapping[str, Any] | None) -> RuleSet:
    """Validate a parsed mappings file into a :class:`RuleSet`; errors name the key path.

    Top level: the sections of :class:`MappingRules` (each partial) and ``overrides`` (a list of
    ``{match: {...}, <section>: {...}}``). Every override is checked against the defaults when
    loading, so a typo fails at start-up rather than when a partner first calls.
    """
    if data is None:
        return RuleSet()
    top = _as_mapping(data, "")
    base = MappingRules().model_dump(mode="json")
    defaults = _validated(base, _sections(top, "", ("overrides",)), "")
    default_data = defaults.model_dump(mode="json")
    raw_overrides = top.get("overrides")
    if raw_overrides is None:
        raw_overrides = []
    if not isinstance(raw_overrides, list):
        raise MappingError("overrides", "must be a list")
    overrides: list[Override] = []
    for index, raw in enumerate(raw_overrides):
        path = f"overrides[{index}]"
        entry = _as_mapping(raw, path)
        if "match" not in entry:
            raise MappingError(f"{path}.match", "missing: say where the override applies")
        try:
            match = Match.model_validate(_as_mapping(entry["match"] or {}, f"{path}.match"))
        except ValidationError as error:
            raise _error_path(f"{path}.match", error) from error
        sections = _sections(entry, path, ("match",))
        if not sections:
            raise MappingError(path, "an override needs at least one section to change")
        _validated(default_data, sections, path)
        overrides.append(Override(match=match, sections=sections, index=index))
    return RuleSet(defaults=defaults, overrides=tuple(overrides))


__all__ = [
    "MATCH_KEYS",
    "SECTIONS",
    "MappingRules",
    "Match",
    "Override",
    "RuleSet",
    "deep_merge",
    "load_rules",
]
