"""EVSE status: OCPI ``EVSE.status`` ⇄ OICP ``EvseStatus`` as two YAML tables.

Spec rules (docs/oicp-2.3.md §4.3, docs/mapping.md §3.2, docs/ocpi.md §4.1):

* Both protocols carry status per EVSE (ocpi#374, #575); the OCPI Status enum is the same in 2.1.1
  and 2.2.1, so both versions go through one table.
* OCPI → OICP (``status.to_oicp``): AVAILABLE→Available, CHARGING→Occupied, BLOCKED→Occupied
  (decided: a blocked EVSE cannot be used now, like an occupied one; W sends OutOfService, the
  [G] EMP page Occupied — change the row to taste), RESERVED→Reserved, INOPERATIVE and
  OUTOFORDER→OutOfService, UNKNOWN→Unknown. REMOVED→``delete``: an explicit action telling the
  caller to delete the EVSE with PushEvseData (an OCPI EVSE is never deleted, it is set REMOVED,
  ocpi.md §3.6). PLANNED→``skip``: nothing is published until the EVSE is live. ``EvseNotFound``
  is a pull-side answer of Hubject and cannot be configured as a target.
* OICP → OCPI (``status.to_ocpi``): Available→AVAILABLE, Occupied→CHARGING, Reserved→RESERVED,
  OutOfService→INOPERATIVE (OUTOFORDER is the other reading, configurable), Unknown→UNKNOWN,
  EvseNotFound→REMOVED (decided: Hubject does not know the EVSE any more, so for an OCPI peer it is
  gone; UNKNOWN would keep a dead EVSE listed forever).
* A status whose round trip through both tables comes back different (BLOCKED→Occupied→CHARGING,
  OUTOFORDER→OutOfService→INOPERATIVE) is reported as a ``changed`` note.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from bridge.errors import MappingError
from bridge.ocpi.models.v2_2_1 import Status
from bridge.oicp.models.evse_status import EvseStatus, EvseStatusRecord
from mappings._memo import Memo, tables
from mappings.ids import evse_uid, is_evse_id, normalize_evse_id
from mappings.result import RuleDoc, Translation

if TYPE_CHECKING:
    from mappings.rules import MappingRules


class StatusAction(enum.StrEnum):
    """What the caller does with an OCPI status towards Hubject."""

    PUBLISH = "publish"  # push the EvseStatus
    DELETE = "delete"  # delete the EVSE with PushEvseData (ActionType delete)
    SKIP = "skip"  # publish nothing (not live yet)


_TO_OICP: dict[str, str] = {
    "AVAILABLE": "Available",
    "BLOCKED": "Occupied",
    "CHARGING": "Occupied",
    "INOPERATIVE": "OutOfService",
    "OUTOFORDER": "OutOfService",
    "PLANNED": "skip",
    "REMOVED": "delete",
    "RESERVED": "Reserved",
    "UNKNOWN": "Unknown",
}
_TO_OCPI: dict[str, str] = {
    "Available": "AVAILABLE",
    "Occupied": "CHARGING",
    "Reserved": "RESERVED",
    "OutOfService": "INOPERATIVE",
    "EvseNotFound": "REMOVED",
    "Unknown": "UNKNOWN",
}
_OICP_TARGETS = frozenset(
    {status.value for status in EvseStatus if status is not EvseStatus.EVSE_NOT_FOUND}
    | {StatusAction.DELETE.value, StatusAction.SKIP.value}
)


def _merge(defaults: Mapping[str, str]) -> Any:
    def merge(value: Any) -> Any:
        if value is None:
            return dict(defaults)
        if isinstance(value, Mapping):
            return {**defaults, **value}
        return value

    return merge


class StatusRules(BaseModel):
    """YAML section ``status``: the two status tables."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    to_oicp: dict[Status, str] = Field(
        default_factory=lambda: dict(_TO_OICP),  # type: ignore[arg-type]
        description=(
            "OCPI EVSE status → OICP EvseStatus (Available, Occupied, Reserved, OutOfService, Unknown), "
            'or "delete" (delete the EVSE via PushEvseData) or "skip" (publish nothing). Rows you '
            "give replace the default rows one by one."
        ),
    )
    to_ocpi: dict[EvseStatus, Status] = Field(
        default_factory=lambda: dict(_TO_OCPI),  # type: ignore[arg-type]
        description="OICP EvseStatus → OCPI EVSE status. Rows you give replace the default rows one by one.",
    )

    _memo: Memo = PrivateAttr(default_factory=Memo)  # derived tables (mappings._memo), not rules

    _merge_to_oicp = field_validator("to_oicp", mode="before")(_merge(_TO_OICP))
    _merge_to_ocpi = field_validator("to_ocpi", mode="before")(_merge(_TO_OCPI))

    @field_validator("to_oicp")
    @classmethod
    def _targets(cls, value: dict[Status, str]) -> dict[Status, str]:
        for status, target in value.items():
            if target not in _OICP_TARGETS:
                allowed = ", ".join(sorted(_OICP_TARGETS))
                raise ValueError(f"{status.value}: {target!r} is not one of {allowed}")
        missing = [status.value for status in Status if status not in value]
        if missing:
            raise ValueError(f"no row for {', '.join(missing)}")
        return value


@dataclass(frozen=True, slots=True)
class OicpStatus:
    """Result of :func:`status_to_oicp`: the action, and the EvseStatus when it is ``publish``."""

    action: StatusAction
    status: EvseStatus | None = None


def _ocpi_status(value: object, path: str) -> Status:
    try:
        return Status(str(getattr(value, "value", value)))
    except ValueError as error:
        raise MappingError(path, f"{value!r} is not an OCPI EVSE status") from error


def _oicp_status(value: object, path: str) -> EvseStatus:
    try:
        return EvseStatus(str(getattr(value, "value", value)))
    except ValueError as error:
        raise MappingError(path, f"{value!r} is not an OICP EvseStatus") from error


StatusChoice = tuple[StatusAction, EvseStatus | None, str | None]
"""(action, EvseStatus when ``publish``, the detail of the ``changed`` note or None)."""


def oicp_choices(table: StatusRules) -> dict[Status, StatusChoice]:
    """Every OCPI status through ``status.to_oicp`` (and back through ``status.to_ocpi`` for the note).

    Derived once per rules instance and kept on it (mappings._memo): the tables are frozen.
    """
    memo = tables(table)
    found: dict[Status, StatusChoice] | None = memo.get("to_oicp")
    if found is None:
        found = memo["to_oicp"] = {status: _choice(status, table) for status in Status}
    return found


def _choice(ocpi: Status, table: StatusRules) -> StatusChoice:
    target = table.to_oicp[ocpi]
    if target == StatusAction.DELETE:
        return StatusAction.DELETE, None, None
    if target == StatusAction.SKIP:
        return StatusAction.SKIP, None, None
    oicp = EvseStatus(target)
    back = table.to_ocpi.get(oicp)
    if back is not None and back != ocpi:
        detail = f"{ocpi.value} is sent as {oicp.value}, which comes back as {back.value}"
        return StatusAction.PUBLISH, oicp, detail
    return StatusAction.PUBLISH, oicp, None


def status_to_oicp(status: object, rules: MappingRules, *, path: str = "status") -> Translation[OicpStatus]:
    """OCPI EVSE status (2.1.1 or 2.2.1) → OICP action and EvseStatus (table ``status.to_oicp``)."""
    action, oicp, detail = oicp_choices(rules.status)[_ocpi_status(status, path)]
    result = Translation(OicpStatus(action, oicp))
    if detail is not None:
        result.changed(path, detail)
    return result


def status_to_ocpi(status: object, rules: MappingRules, *, path: str = "EvseStatus") -> Translation[Status]:
    """OICP EvseStatus → OCPI EVSE status (table ``status.to_ocpi``)."""
    return Translation(rules.status.to_ocpi[_oicp_status(status, path)])


RULE_TABLE: tuple[RuleDoc, ...] = (
    RuleDoc(
        "ocpi→oicp",
        "EVSE.status",
        "EvseStatusRecord.EvseStatus",
        "Looked up in the table; BLOCKED→Occupied by default; a status that comes back different is "
        "noted as changed.",
        "status.to_oicp",
    ),
    RuleDoc(
        "ocpi→oicp",
        "EVSE.status = REMOVED",
        "PushEvseData ActionType delete",
        'Not a status: the caller deletes the EVSE at Hubject (action "delete").',
        "status.to_oicp",
    ),
    RuleDoc(
        "ocpi→oicp",
        "EVSE.status = PLANNED",
        "–",
        'Nothing is published until the EVSE is live (action "skip"); such EVSEs produce no '
        "EvseDataRecord either.",
        "status.to_oicp",
    ),
    RuleDoc(
        "oicp→ocpi",
        "EvseStatusRecord.EvseStatus",
        "EVSE.status",
        "Looked up in the table; OutOfService→INOPERATIVE, EvseNotFound→REMOVED by default.",
        "status.to_ocpi",
    ),
    RuleDoc(
        "oicp→ocpi",
        "EvseStatusRecord.EvseID",
        "EVSE.uid / EVSE.evse_id",
        "evse_id is the EvseID; uid is derived from it (mappings/ids.py: verbatim when it fits 36).",
        None,
    ),
)


# ---------------------------------------------------------------------------------------------
# Preview (the `map` command, kind "status")


def _oicp_records(obj: Mapping[str, Any]) -> tuple[list[Mapping[str, Any]], bool]:
    """EvseStatusRecord(s) of any OICP status envelope, and whether the input was a single record."""
    if "EvseStatus" in obj and "EvseID" in obj:
        return [obj], True
    for wrapper in ("OperatorEvseStatus", "EVSEStatusRecords"):
        inner = obj.get(wrapper)
        if isinstance(inner, Mapping):
            return list(inner.get("EvseStatusRecord") or []), False
    statuses = obj.get("EvseStatuses")
    if isinstance(statuses, Mapping):
        return [
            record
            for operator in statuses.get("OperatorEvseStatus") or []
            for record in operator.get("EvseStatusRecord") or []
        ], False
    if "EvseStatusRecord" in obj:
        return list(obj.get("EvseStatusRecord") or []), False
    raise MappingError("", "no EvseStatusRecord found in the OICP status input")


def preview(
    obj: Mapping[str, Any], source: str, target: str, rules: MappingRules, *, now: datetime
) -> Translation[Any]:
    """Translate a status object for ``map --kind status``.

    OCPI input: an EVSE or an EVSE PATCH body with ``status`` (and ``evse_id`` when known) →
    ``EvseStatusRecord`` (or ``{"action": "delete"|"skip"}``). OICP input: an EvseStatusRecord or
    any status envelope → OCPI EVSE patches ``{uid, evse_id, status, last_updated}``.
    """
    if source.startswith("ocpi") and target == "oicp":
        translated = status_to_oicp(obj.get("status"), rules)
        raw_id = obj.get("evse_id")
        evse_id = normalize_evse_id(str(raw_id)) if raw_id else None
        if evse_id is not None and not is_evse_id(evse_id):
            raise MappingError("evse_id", f"{raw_id!r} is not a valid OICP EvseID")
        result: Translation[Any] = Translation({}, translated.losses)
        if translated.value.action is not StatusAction.PUBLISH:
            result.value = {
                "action": translated.value.action.value,
                **({"EvseID": evse_id} if evse_id else {}),
            }
        elif evse_id is None:
            result.value = {"EvseStatus": translated.value.status}
            result.lost("evse_id", "absent: the EvseStatusRecord needs an EvseID")
        else:
            result.value = EvseStatusRecord(evse_id=evse_id, evse_status=translated.value.status)
        return result
    if source == "oicp" and target.startswith("ocpi"):
        records, single = _oicp_records(obj)
        out: Translation[Any] = Translation([])
        for index, record in enumerate(records):
            where = "EvseStatus" if single else f"EvseStatusRecord[{index}].EvseStatus"
            status = status_to_ocpi(record.get("EvseStatus"), rules, path=where)
            out.losses.extend(status.losses)
            evse_id = str(record.get("EvseID") or "")
            out.value.append(
                {
                    "uid": evse_uid(evse_id),
                    "evse_id": evse_id,
                    "status": status.value.value,
                    "last_updated": now,
                }
            )
        if single:
            out.value = out.value[0]
        return out
    raise MappingError("", f"cannot translate a status from {source} to {target}")


__all__ = [
    "RULE_TABLE",
    "OicpStatus",
    "StatusAction",
    "StatusChoice",
    "StatusRules",
    "oicp_choices",
    "preview",
    "status_to_ocpi",
    "status_to_oicp",
]
