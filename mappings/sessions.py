"""Sessions ⇄ OICP charging notifications.

Spec rules implemented here (docs/mapping.md §3.9, docs/oicp-2.3.md §4.8 and §8.14,
docs/ocpi.md §4.2): OICP has no session object, the CPO sends eRoamingChargingNotification Start,
Progress (at most every 5 minutes; ``ChargingDuration`` in milliseconds = EventOccurred −
ChargingStart, erratum E006), End and Error; timestamps carry the charge point's local offset.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bridge.errors import MappingError
from bridge.ocpi.models.v2_2_1 import (
    AuthMethod,
    CdrDimensionType,
    CdrToken,
    ChargingPeriod,
    Session,
    SessionStatus,
)
from bridge.oicp.models.identification import Identification
from bridge.oicp.models.ids import is_valid_session_id
from bridge.oicp.models.notifications import (
    ChargingNotificationAdapter,
    ChargingNotificationEnd,
    ChargingNotificationError,
    ChargingNotificationProgress,
    ChargingNotificationStart,
    ErrorType,
)
from mappings.ids import (
    derived_evse_id,
    evse_operator_id,
    normalize_evse_id,
    ocpi_id,
    operator_id_from_party,
    operator_party,
)
from mappings.pricing import seconds_between
from mappings.result import RuleDoc, Translation
from mappings.tokens import (
    identification_to_cdr_token,
    member_name,
    parse_model,
    rule_rows,
    token_to_identification,
    unsupported,
)

if TYPE_CHECKING:
    from mappings.rules import MappingRules

AnyNotification = (
    ChargingNotificationStart
    | ChargingNotificationProgress
    | ChargingNotificationEnd
    | ChargingNotificationError
)
_KWH = Decimal("0.001")

ErrorTypeName = Literal["ConnectorError", "CriticalError"]


class SessionRules(BaseModel):
    """YAML section ``sessions``: OCPI Session transitions ⇄ OICP ChargingNotifications."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    progress: bool = Field(
        default=True,
        description=(
            "Send ChargingNotification Progress while a session is ACTIVE (else only Start/End/Error)."
        ),
    )
    progress_interval_minutes: int = Field(
        default=5,
        ge=5,
        le=1440,
        description=("Minimum minutes between two Progress notifications of one session (OICP: at least 5)."),
    )
    invalid_error_type: ErrorTypeName = Field(
        default="CriticalError",
        description="OICP ErrorType of the Error notification sent when an OCPI session becomes INVALID.",
    )
    remote_start_pending: bool = Field(
        default=True,
        description=(
            "An accepted OICP remote start creates an OCPI Session with status PENDING before the "
            "Start notification arrives (OCPI sessions start as PENDING, ocpi#438)."
        ),
    )
    currency: str = Field(
        default="EUR",
        pattern=r"^[A-Z]{3}$",
        description="OCPI Session.currency for sessions built from notifications (OICP carries none).",
    )


# --------------------------------------------------------------------------------------------
# Helpers shared with the CDR mapping


def kwh3(value: Decimal) -> Decimal:
    """Energy with the 3 decimals OICP allows (decimal(,3) kWh), rounded half up."""
    return value.quantize(_KWH, rounding=ROUND_HALF_UP)


def local(value: datetime, zone: ZoneInfo) -> datetime:
    """A UTC OCPI timestamp at the charge point's local offset (oicp-2.3.md §1.1, §8.14)."""
    return value.astimezone(zone)


def period_energy(period: ChargingPeriod) -> Decimal:
    """The ENERGY volume of a charging period (0 when it has none)."""
    return sum((d.volume for d in period.dimensions if d.type is CdrDimensionType.ENERGY), Decimal(0))


def charging_window(
    periods: Sequence[ChargingPeriod] | None, start: datetime, end: datetime | None
) -> tuple[datetime, datetime | None]:
    """ChargingStart/ChargingEnd: the bounds of the periods that carry energy, else the session bounds.

    docs/mapping.md §3.10 (emob ``metered_window``): a period ends where the next one starts, the
    last one at the session end.
    """
    ordered = sorted(periods or [], key=lambda p: p.start_date_time)
    energetic = [i for i, p in enumerate(ordered) if period_energy(p) > 0]
    if not energetic:
        return start, end
    first, last = energetic[0], energetic[-1]
    charging_end = ordered[last + 1].start_date_time if last + 1 < len(ordered) else end
    return ordered[first].start_date_time, charging_end


def _identification(session: Session, rules: MappingRules, result: Translation[Any]) -> Identification | None:
    try:
        translated = token_to_identification(session.cdr_token, rules)
    except MappingError as error:
        result.lost(
            f"cdr_token.{error.path}", f"Identification omitted (optional in notifications): {error.reason}"
        )
        return None
    return translated.value


# --------------------------------------------------------------------------------------------
# OCPI Session transitions → OICP ChargingNotifications


def session_to_notification(
    previous: Session | None,
    current: Session,
    *,
    session_id: str,
    evse_id: str,
    operator_id: str,
    time_zone: str,
    last_progress_at: datetime | None,
    now: datetime,
    rules: MappingRules,
    cpo_partner_session_id: str | None = None,
    partner_product_id: str | None = None,
) -> Translation[AnyNotification | None]:
    """The ChargingNotification an OCPI Session change calls for, or None (oicp-2.3.md §4.8).

    * first ACTIVE (previous absent or not ACTIVE) → Start: ChargingStart (first period with
      energy, else start_date_time), SessionStart;
    * ACTIVE again → Progress when ``sessions.progress`` is on, the energy grew and at least
      ``sessions.progress_interval_minutes`` passed since ``last_progress_at``: EventOccurred =
      ``now``, ChargingDuration in ms = EventOccurred − ChargingStart (erratum E006),
      ConsumedEnergyProgress = kwh;
    * first COMPLETED → End: ChargingEnd, SessionEnd, ConsumedEnergy = kwh;
    * first INVALID → Error with ``sessions.invalid_error_type``;
    * PENDING, RESERVATION and repeated states → None.

    Timestamps are written at the Location's local offset (``time_zone``, IANA). SessionID is the
    Hubject correlation passed in, CPOPartnerSessionID defaults to the OCPI session id.
    """
    zone = ZoneInfo(time_zone)
    settings = rules.sessions
    result: Translation[AnyNotification | None] = Translation(None)
    status = current.status
    before = previous.status if previous is not None else None
    partner_id = cpo_partner_session_id or current.id
    charging_start, charging_end = charging_window(
        current.charging_periods, current.start_date_time, current.end_date_time
    )
    common = {
        "session_id": session_id,
        "cpo_partner_session_id": partner_id,
        "evse_id": evse_id,
        "operator_id": operator_id,
    }
    if status is SessionStatus.ACTIVE and before is not SessionStatus.ACTIVE:
        identification = _identification(current, rules, result)
        result.value = ChargingNotificationStart(
            **common,
            identification=identification,
            charging_start=local(charging_start, zone),
            session_start=local(current.start_date_time, zone),
            partner_product_id=partner_product_id,
        )
    elif status is SessionStatus.ACTIVE:
        assert previous is not None
        interval = timedelta(minutes=settings.progress_interval_minutes)
        due = last_progress_at is None or now - last_progress_at >= interval
        if settings.progress and due and current.kwh > previous.kwh:
            identification = _identification(current, rules, result)
            event = local(now, zone)
            duration_ms = int(seconds_between(charging_start, now) * 1000)
            result.value = ChargingNotificationProgress(
                **common,
                identification=identification,
                charging_start=local(charging_start, zone),
                event_occurred=event,
                charging_duration=max(duration_ms, 0),
                consumed_energy_progress=kwh3(current.kwh),
                session_start=local(current.start_date_time, zone),
                partner_product_id=partner_product_id,
            )
    elif status is SessionStatus.COMPLETED and before is not SessionStatus.COMPLETED:
        identification = _identification(current, rules, result)
        session_end = current.end_date_time
        if session_end is None:
            session_end = current.last_updated
            result.defaulted("SessionEnd", "COMPLETED session without end_date_time: last_updated is used")
        result.value = ChargingNotificationEnd(
            **common,
            identification=identification,
            charging_start=local(charging_start, zone),
            charging_end=local(charging_end or session_end, zone),
            session_start=local(current.start_date_time, zone),
            session_end=local(session_end, zone),
            consumed_energy=kwh3(current.kwh),
            partner_product_id=partner_product_id,
        )
    elif status is SessionStatus.INVALID and before is not SessionStatus.INVALID:
        identification = _identification(current, rules, result)
        result.value = ChargingNotificationError(
            **common,
            identification=identification,
            error_type=ErrorType(settings.invalid_error_type),
            error_additional_info=f"OCPI session {current.id} was declared INVALID"[:250],
        )
    if result.value is not None:
        if kwh3(current.kwh) != current.kwh:
            result.changed("kwh", "rounded to 3 decimals")
        if current.total_cost is not None:
            result.lost("total_cost", "OICP notifications carry no cost")
        if current.meter_id is not None:
            result.lost("meter_id", "no notification field")
    return result


# --------------------------------------------------------------------------------------------
# OICP ChargingNotifications → OCPI Session


def notification_to_session(
    notification: AnyNotification,
    *,
    previous: Session | None,
    country_code: str,
    party_id: str,
    session_id: str,
    location_id: str,
    evse_uid: str,
    connector_id: str,
    cdr_token: CdrToken,
    now: datetime,
    rules: MappingRules,
    auth_method: AuthMethod | None = None,
) -> Translation[Session]:
    """An OICP ChargingNotification → the OCPI Session it implies (docs/mapping.md §3.9).

    Start → ACTIVE (start_date_time = SessionStart, else ChargingStart); Progress → ACTIVE with
    kwh = ConsumedEnergyProgress; End → COMPLETED (end_date_time = SessionEnd, else ChargingEnd;
    kwh = ConsumedEnergy, else MeterValueEnd − MeterValueStart); Error → INVALID when the session
    never started (no previous or PENDING), else the status stays and the error is noted.
    Timestamps become UTC (``Z``), ``authorization_reference`` is the SessionID. The OCPI ids,
    the location references and ``cdr_token`` come from the caller's correlation.
    """
    result: Translation[Session]
    notes: list[tuple[str, str, str]] = []
    start = previous.start_date_time if previous is not None else None
    end = previous.end_date_time if previous is not None else None
    kwh = previous.kwh if previous is not None else Decimal(0)
    status = previous.status if previous is not None else SessionStatus.PENDING
    if isinstance(notification, ChargingNotificationStart):
        start = notification.session_start or notification.charging_start
        status = SessionStatus.ACTIVE
        if notification.meter_value_start is not None:
            notes.append(("lost", "MeterValueStart", "OCPI sessions carry no meter register"))
    elif isinstance(notification, ChargingNotificationProgress):
        start = start or notification.session_start or notification.charging_start
        status = SessionStatus.ACTIVE
        if notification.consumed_energy_progress is not None:
            kwh = notification.consumed_energy_progress
        if notification.meter_value_in_between is not None:
            notes.append(
                ("lost", "MeterValueInBetween", "meter values without timestamps cannot become periods")
            )
    elif isinstance(notification, ChargingNotificationEnd):
        start = (
            start or notification.session_start or notification.charging_start or notification.charging_end
        )
        end = notification.session_end or notification.charging_end
        status = SessionStatus.COMPLETED
        if notification.consumed_energy is not None:
            kwh = notification.consumed_energy
        elif notification.meter_value_end is not None and notification.meter_value_start is not None:
            kwh = notification.meter_value_end - notification.meter_value_start
            notes.append(("defaulted", "kwh", "MeterValueEnd − MeterValueStart (no ConsumedEnergy)"))
        if notification.session_end is None:
            notes.append(("defaulted", "end_date_time", "no SessionEnd: ChargingEnd is used"))
        if notification.penalty_time_start is not None:
            notes.append(("lost", "PenaltyTimeStart", "no OCPI Session field"))
    else:
        if status in (SessionStatus.PENDING, SessionStatus.RESERVATION):
            status = SessionStatus.INVALID
            notes.append(
                ("changed", "ErrorType", f"{notification.error_type.value} before charging: INVALID")
            )
        else:
            notes.append(
                ("lost", "ErrorType", f"{notification.error_type.value} during the session: status kept")
            )
    if start is None:
        start = now
        notes.append(("defaulted", "start_date_time", "no start known yet: now"))
    method = auth_method
    if method is None and previous is not None:
        method = previous.auth_method
    if method is None:
        if notification.identification is not None:
            name = member_name(notification.identification)
            method = AuthMethod(rules.tokens.auth_method_by_identification[name])  # type: ignore[index]
        else:
            method = AuthMethod.AUTH_REQUEST
            notes.append(("defaulted", "auth_method", "no identification: AUTH_REQUEST"))
    session = Session(
        country_code=country_code,
        party_id=party_id,
        id=session_id,
        start_date_time=start,
        end_date_time=end,
        kwh=kwh,
        cdr_token=cdr_token,
        auth_method=method,
        authorization_reference=notification.session_id,
        location_id=location_id,
        evse_uid=evse_uid,
        connector_id=connector_id,
        meter_id=previous.meter_id if previous is not None else None,
        currency=previous.currency if previous is not None else rules.sessions.currency,
        charging_periods=previous.charging_periods if previous is not None else None,
        total_cost=previous.total_cost if previous is not None else None,
        status=status,
        last_updated=now,
    )
    result = Translation(session)
    for kind, path, detail in notes:
        getattr(result, kind)(path, detail)
    if notification.emp_partner_session_id is not None:
        result.lost("EMPPartnerSessionID", "no OCPI Session field")
    if previous is None:
        result.defaulted("currency", "OICP carries no currency (sessions.currency)")
    return result


def pending_session(
    *,
    country_code: str,
    party_id: str,
    session_id: str,
    hubject_session_id: str | None,
    location_id: str,
    evse_uid: str,
    connector_id: str,
    cdr_token: CdrToken,
    now: datetime,
    rules: MappingRules,
) -> Translation[Session | None]:
    """An accepted OICP remote start → OCPI Session PENDING (``sessions.remote_start_pending``).

    OCPI sessions start as PENDING (ocpi#438); the Start notification later makes it ACTIVE.
    None when the rule is off.
    """
    if not rules.sessions.remote_start_pending:
        return Translation(None)
    session = Session(
        country_code=country_code,
        party_id=party_id,
        id=session_id,
        start_date_time=now,
        kwh=Decimal(0),
        cdr_token=cdr_token,
        auth_method=AuthMethod.COMMAND,
        authorization_reference=hubject_session_id,
        location_id=location_id,
        evse_uid=evse_uid,
        connector_id=connector_id,
        currency=rules.sessions.currency,
        status=SessionStatus.PENDING,
        last_updated=now,
    )
    result = Translation[Session | None](session)
    result.defaulted("start_date_time", "creation time while PENDING")
    result.defaulted("currency", "sessions.currency")
    return result


# --------------------------------------------------------------------------------------------
# Preview (the ``map`` CLI)


def preview_session_id(authorization_reference: str | None, session_id: str, result: Translation[Any]) -> str:
    """The SessionID a preview uses: authorization_reference when it is one, else a UUID5 (noted)."""
    if authorization_reference is not None and is_valid_session_id(authorization_reference):
        return authorization_reference
    result.defaulted("SessionID", "preview: the flow takes Hubject's SessionID from its correlation")
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"ocpi-session:{session_id}"))


def _session_up(obj: Mapping[str, Any], result: Translation[Any]) -> Session:
    from bridge.ocpi.models import v2_1_1 as v211
    from mappings.ocpi_versions import session_up

    old = parse_model(v211.Session, obj)
    evse_ids = [normalize_evse_id(e.evse_id) for e in old.location.evses or [] if e.evse_id]
    owner = operator_party(evse_operator_id(evse_ids[0]) or "") if evse_ids else None
    if owner is None:
        raise MappingError(
            "location.evses[0].evse_id", "the preview takes the owner from the EvseID: none usable"
        )
    up = session_up(old, country_code=owner[0], party_id=owner[1], token_lookup=lambda _: None)
    result.losses.extend(up.losses)
    return up.value


def preview(
    obj: Mapping[str, Any], source: str, target: str, rules: MappingRules, *, now: datetime
) -> Translation[Any]:
    """Translate a bare session-family object for the ``map`` CLI.

    OCPI Session → the notification its status calls for as a first sighting (ACTIVE → Start,
    COMPLETED → End, INVALID → Error; other states are refused), in UTC, with a derived EvseID
    and a UUID5 SessionID when the session names none (both noted). OICP notification → OCPI
    2.2.1 Session with ids derived from the EvseID (noted); 2.1.1 needs the Location (refused).
    """
    result: Translation[Any] = Translation(None)
    if source.startswith("ocpi") and target == "oicp":
        session = _session_up(obj, result) if source == "ocpi-2.1.1" else parse_model(Session, obj)
        operator_id = operator_id_from_party(session.country_code, session.party_id)
        evse_id = derived_evse_id(operator_id, session.evse_uid)
        if evse_id is None:
            raise MappingError("evse_uid", "no EvseID can be derived for the preview")
        result.defaulted(
            "EvseID", "preview: derived from the owner and evse_uid (the flow uses the EVSE's evse_id)"
        )
        result.defaulted("SessionStart", "preview: times in UTC (the flow uses the Location's time zone)")
        translated = session_to_notification(
            None,
            session,
            session_id=preview_session_id(session.authorization_reference, session.id, result),
            evse_id=evse_id,
            operator_id=operator_id,
            time_zone="UTC",
            last_progress_at=None,
            now=now,
            rules=rules,
        )
        if translated.value is None:
            raise MappingError("status", f"a {session.status.value} session sends no ChargingNotification")
        result.value = translated.value
        result.losses.extend(translated.losses)
        return result
    if source == "oicp" and target == "ocpi-2.2.1":
        try:
            notification = ChargingNotificationAdapter.validate_python(obj)
        except ValidationError as error:
            raise MappingError("Type", f"not a ChargingNotification: {error}") from error
        owner = operator_party(notification.operator_id or evse_operator_id(notification.evse_id) or "")
        if owner is None:
            raise MappingError("OperatorID", "the preview takes the session owner from the OperatorID")
        if notification.identification is None:
            raise MappingError("Identification", "the preview builds cdr_token from it: none given")
        token = identification_to_cdr_token(notification.identification, rules)
        local_id = ocpi_id(notification.evse_id)
        translated_session = notification_to_session(
            notification,
            previous=None,
            country_code=owner[0],
            party_id=owner[1],
            session_id=ocpi_id(notification.session_id),
            location_id=local_id,
            evse_uid=local_id,
            connector_id="1",
            cdr_token=token.value,
            now=now,
            rules=rules,
        )
        result.value = translated_session.value
        result.losses.extend([*token.losses, *translated_session.losses])
        for path in ("location_id", "evse_uid", "connector_id"):
            result.defaulted(path, "preview: derived from the EvseID (the flow uses its EVSE lookup)")
        return result
    raise unsupported(source, target)


RULE_TABLE: tuple[RuleDoc, ...] = rule_rows(
    "ocpi→oicp | Session status → ACTIVE (first time) | ChargingNotification Start | ChargingStart = "
    "first period with energy (else start_date_time), SessionStart, Identification from cdr_token "
    "(omitted with a note when it cannot be expressed) | ",
    "ocpi→oicp | Session ACTIVE, kwh grew | ChargingNotification Progress | EventOccurred = now, "
    "ChargingDuration ms = EventOccurred − ChargingStart, ConsumedEnergyProgress = kwh (3 decimals) | "
    "sessions.progress",
    "ocpi→oicp | time since the last Progress | – | no Progress before this many minutes (OICP: ≥ 5) | "
    "sessions.progress_interval_minutes",
    "ocpi→oicp | Session status → COMPLETED | ChargingNotification End | ChargingEnd = end of the last "
    "period with energy, SessionEnd = end_date_time, ConsumedEnergy = kwh | ",
    "ocpi→oicp | Session status → INVALID | ChargingNotification Error | ErrorType from the rule, "
    "ErrorAdditionalInfo names the session | sessions.invalid_error_type",
    "ocpi→oicp | PENDING, RESERVATION, repeated states | – | no notification | ",
    "ocpi→oicp | UTC timestamps | local offset | converted to the Location's IANA time zone (oicp-2.3.md "
    "§8.14) | ",
    "ocpi→oicp | Session.id / correlation | SessionID, CPOPartnerSessionID | SessionID from the "
    "correlation, CPOPartnerSessionID = OCPI session id | ",
    "ocpi→oicp | total_cost, meter_id | – | lost (noted) | ",
    "oicp→ocpi | Start | Session ACTIVE | start_date_time = SessionStart, else ChargingStart; UTC | ",
    "oicp→ocpi | Progress | Session ACTIVE | kwh = ConsumedEnergyProgress; MeterValueInBetween lost | ",
    "oicp→ocpi | End | Session COMPLETED | end_date_time = SessionEnd (else ChargingEnd), kwh = "
    "ConsumedEnergy (else MeterValueEnd − MeterValueStart) | ",
    "oicp→ocpi | Error | Session INVALID / unchanged | INVALID when charging never started, else the "
    "status stays and the error is noted | ",
    "oicp→ocpi | remote start accepted | Session PENDING | created at once, auth_method COMMAND | "
    "sessions.remote_start_pending",
    "oicp→ocpi | – | Session.currency | OICP carries no currency | sessions.currency",
    "oicp→ocpi | SessionID | authorization_reference | the Hubject SessionID; ids, location references "
    "and cdr_token come from the caller's correlation | ",
)
