"""CDRs: OCPI CDR ⇄ OICP ChargeDetailRecord.

Spec rules implemented here (docs/mapping.md §3.10, docs/oicp-2.3.md §4.7 and §7,
docs/ocpi.md §4.3): the OICP CDR carries no cost, so an OICP CDR becomes an OCPI CDR only once
it is priced (``mappings.pricing``); ChargingStart/End bound the energy; ConsumedEnergy must equal
MeterValueEnd − MeterValueStart; signed values map nature Start/Intermediate/End → MeteringStatus
Start/Progress/End, at most 10, in that order.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bridge.errors import MappingError
from bridge.ocpi.models.v2_2_1 import (
    CDR,
    EVSE,
    AuthMethod,
    CdrDimension,
    CdrDimensionType,
    CdrLocation,
    ChargingPeriod,
    Connector,
    Location,
    SignedData,
    SignedValue,
    Tariff,
    TariffDimensionType,
)
from bridge.oicp.models.cdr import (
    MAX_SIGNED_METERING_VALUES,
    CalibrationLawVerificationInfo,
    ChargeDetailRecord,
    MeteringStatus,
)
from bridge.oicp.models.cdr import (
    SignedMeteringValue as OicpSignedValue,
)
from bridge.oicp.models.ids import is_valid_evse_id, is_valid_session_id
from bridge.oicp.models.pricing import PricingProductDataRecord
from mappings.ids import evse_operator_id, normalize_evse_id, operator_party
from mappings.pricing import (
    PricedSession,
    PricingError,
    SessionUsage,
    UsagePeriod,
    price_ocpi_tariff,
    price_pricing_product,
    seconds_between,
)
from mappings.result import RuleDoc, Translation
from mappings.sessions import charging_window, kwh3, local, preview_session_id
from mappings.tariffs import product_to_tariff
from mappings.tokens import (
    identification_to_cdr_token,
    member_name,
    merged_table,
    parse_model,
    rule_rows,
    token_to_identification,
    unsupported,
)

if TYPE_CHECKING:
    from mappings.rules import MappingRules

MeteringStatusName = Literal["Start", "Progress", "End"]
RoundingName = Literal[
    "ROUND_HALF_UP",
    "ROUND_HALF_EVEN",
    "ROUND_HALF_DOWN",
    "ROUND_UP",
    "ROUND_DOWN",
    "ROUND_CEILING",
    "ROUND_FLOOR",
]

_METERING_STATUS_BY_NATURE: dict[str, str] = {
    "Start": "Start",
    "Intermediate": "Progress",
    "End": "End",
}


class CdrRules(BaseModel):
    """YAML section ``cdrs``: OCPI CDR ⇄ OICP ChargeDetailRecord, and how CDRs are priced."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    partner_product_id: Literal["tariff_id", "none"] = Field(
        default="tariff_id",
        description=(
            'OICP PartnerProductID: "tariff_id" sends the (first) OCPI tariff id of the CDR, '
            'translated through product_ids; "none" omits it.'
        ),
    )
    product_ids: dict[str, str] = Field(
        default_factory=dict,
        description="OCPI tariff id → OICP ProductID (≤50 characters) where they differ.",
    )
    charging_window: Literal["energy_periods", "session"] = Field(
        default="energy_periods",
        description=(
            "OICP ChargingStart/ChargingEnd: from the OCPI charging periods that carry energy "
            "(else the session bounds), or always the session bounds."
        ),
    )
    meter_tolerance_kwh: Decimal = Field(
        default=Decimal(0),
        ge=0,
        description=(
            "Accepted difference between total_energy and MeterValueEnd − MeterValueStart; within it "
            "ConsumedEnergy is sent as the meter difference (Hubject checks it), beyond it the CDR "
            "is refused."
        ),
    )
    metering_status_by_nature: dict[str, MeteringStatusName] = Field(
        default_factory=lambda: dict(_METERING_STATUS_BY_NATURE),  # type: ignore[arg-type]
        description=(
            "OCPI SignedValue.nature (compared case-insensitively) → OICP MeteringStatus; other "
            "natures are sent without a MeteringStatus."
        ),
    )
    signed_values_overflow: Literal["trim", "refuse"] = Field(
        default="trim",
        description=(
            'More than 10 signed values: "trim" keeps Start, End and the first intermediates '
            '(noted as lost); "refuse" raises a MappingError naming signed_data.signed_values.'
        ),
    )
    verification_instruction: str | None = Field(
        default=None,
        max_length=400,
        description=(
            "CalibrationLawVerificationInfo.SignedMeteringValuesVerificationInstruction sent with "
            "signed values (OCPI has no such field)."
        ),
    )
    parking_period: bool = Field(
        default=True,
        description=("OICP → OCPI: add a PARKING_TIME charging period from ChargingEnd to SessionEnd."),
    )
    price_decimals: int = Field(
        default=2, ge=0, le=6, description="Decimals every computed cost is rounded to (once per dimension)."
    )
    price_rounding: RoundingName = Field(
        default="ROUND_HALF_UP", description="Python decimal rounding mode for computed costs."
    )

    _merge_nature = field_validator("metering_status_by_nature", mode="before")(
        merged_table(_METERING_STATUS_BY_NATURE)
    )


class UnpricedCdr(MappingError):
    """An OICP CDR that cannot be priced: no tariff/product, or one that does not apply.

    OCPI ``total_cost`` is mandatory and 0.00 means free (docs/mapping.md §3.10), so the bridge
    never invents a cost: the caller holds the CDR until a price is available.
    """


_SIGNED_VALUE_MAX = 3000
_URL_MAX = 200
_HOURS = Decimal("0.000001")
_STATUS_ORDER = {MeteringStatus.START: 0, None: 1, MeteringStatus.PROGRESS: 1, MeteringStatus.END: 2}
_NATURE_BY_STATUS = {
    MeteringStatus.START: "Start",
    MeteringStatus.PROGRESS: "Intermediate",
    MeteringStatus.END: "End",
}


def _hours(seconds: Decimal) -> Decimal:
    """OCPI time volumes are hours; rounded to 6 decimals (pricing itself works on seconds)."""
    return (seconds / 3600).quantize(_HOURS, rounding=ROUND_HALF_UP).normalize()


# --------------------------------------------------------------------------------------------
# OCPI CDR → OICP ChargeDetailRecord


def _signed_values(
    signed: SignedData, rules: MappingRules, result: Translation[Any]
) -> tuple[list[OicpSignedValue], CalibrationLawVerificationInfo]:
    table = {key.lower(): value for key, value in rules.cdrs.metering_status_by_nature.items()}
    values: list[tuple[int, OicpSignedValue]] = []
    for index, value in enumerate(signed.signed_values):
        path = f"signed_data.signed_values[{index}]"
        if len(value.signed_data) > _SIGNED_VALUE_MAX:
            raise MappingError(
                f"{path}.signed_data", f"longer than the {_SIGNED_VALUE_MAX} characters OICP allows"
            )
        status_name = table.get(value.nature.lower())
        if status_name is None:
            result.lost(
                f"{path}.nature", f"{value.nature!r} has no MeteringStatus (cdrs.metering_status_by_nature)"
            )
        status = MeteringStatus(status_name) if status_name else None
        values.append(
            (index, OicpSignedValue(signed_metering_value=value.signed_data, metering_status=status))
        )
    values.sort(key=lambda item: (_STATUS_ORDER[item[1].metering_status], item[0]))
    if len(values) > MAX_SIGNED_METERING_VALUES:
        if rules.cdrs.signed_values_overflow == "refuse":
            raise MappingError(
                "signed_data.signed_values", f"{len(values)} values, OICP allows {MAX_SIGNED_METERING_VALUES}"
            )
        ends = [v for v in values if v[1].metering_status in (MeteringStatus.START, MeteringStatus.END)]
        middle = [v for v in values if v[1].metering_status not in (MeteringStatus.START, MeteringStatus.END)]
        keep = ends[:MAX_SIGNED_METERING_VALUES]
        keep += middle[: MAX_SIGNED_METERING_VALUES - len(keep)]
        kept = {index for index, _ in keep}
        for index in sorted(index for index, _ in values if index not in kept):
            result.lost(
                f"signed_data.signed_values[{index}]",
                "more than 10 signed values (cdrs.signed_values_overflow)",
            )
        values = sorted(keep, key=lambda item: (_STATUS_ORDER[item[1].metering_status], item[0]))
    result.lost("signed_data.signed_values[].plain_data", "OICP carries only the signed value")
    url = signed.url
    if url is not None and len(url) > _URL_MAX:
        result.lost("signed_data.url", f"longer than the {_URL_MAX} characters of MeteringSignatureUrl")
        url = None
    if signed.encoding_method_version is not None:
        result.lost("signed_data.encoding_method_version", "no OICP field")
    info = CalibrationLawVerificationInfo(
        public_key=signed.public_key,
        metering_signature_url=url,
        metering_signature_encoding_format=signed.encoding_method,
        signed_metering_values_verification_instruction=rules.cdrs.verification_instruction,
    )
    return [value for _, value in values], info


def _partner_product_id(cdr: CDR, rules: MappingRules, result: Translation[Any]) -> str | None:
    if rules.cdrs.partner_product_id == "none":
        return None
    tariff_ids = [t.id for t in cdr.tariffs or []] + [
        p.tariff_id for p in cdr.charging_periods if p.tariff_id
    ]
    unique = list(dict.fromkeys(tariff_ids))
    if not unique:
        return None
    if len(unique) > 1:
        result.lost("tariffs", f"PartnerProductID names one product; {unique[1:]} dropped")
    product = rules.cdrs.product_ids.get(unique[0], unique[0])
    if len(product) > 50:
        raise MappingError("tariffs[0].id", "ProductID is at most 50 characters (cdrs.product_ids)")
    return product


_CDR_LOST = (
    ("total_cost", "the OICP CDR carries no cost; the EMP prices from PartnerProductID"),
    ("currency", "no OICP CDR field"),
    ("charging_periods", "OICP keeps only ChargingStart/ChargingEnd and ConsumedEnergy"),
    ("total_time", "implied by SessionStart/SessionEnd"),
    ("cdr_location", "only evse_id crosses (EvseID)"),
    ("auth_method", "no OICP CDR field"),
    ("last_updated", "no OICP CDR field"),
)
_CDR_OPTIONAL_LOST = (
    "total_fixed_cost",
    "total_energy_cost",
    "total_time_cost",
    "total_parking_time",
    "total_parking_cost",
    "total_reservation_cost",
    "meter_id",
    "remark",
    "invoice_reference_id",
    "home_charging_compensation",
)


def cdr_to_oicp(
    cdr: CDR,
    *,
    session_id: str,
    time_zone: str,
    rules: MappingRules,
    meter_value_start: Decimal | None = None,
    meter_value_end: Decimal | None = None,
    emp_partner_session_id: str | None = None,
    hub_operator_id: str | None = None,
    hub_provider_id: str | None = None,
) -> Translation[ChargeDetailRecord]:
    """OCPI CDR → OICP ChargeDetailRecord (docs/mapping.md §3.10, oicp-2.3.md §4.7).

    SessionID is Hubject's id from the correlation (passed in); CPOPartnerSessionID is the OCPI
    session id (else the CDR id); EvseID is ``cdr_location.evse_id`` with ``-`` separators turned
    into ``*``; Identification from ``cdr_token`` (mappings.tokens); times at the Location's
    offset; ChargingStart/End per ``cdrs.charging_window``; ConsumedEnergy = total_energy with 3
    decimals, checked against the meter values when given (``cdrs.meter_tolerance_kwh``);
    signed_data → SignedMeteringValues (Start, Progress…, End; at most 10) plus
    CalibrationLawVerificationInfo; PartnerProductID from the tariff id (``cdrs.partner_product_id``).
    Every cost field is dropped with a note. Credit CDRs and reservation-only CDRs (``#NA``) are
    refused.
    """
    zone = ZoneInfo(time_zone)
    result: Translation[ChargeDetailRecord]
    pending = Translation[None](None)
    if cdr.credit:
        raise MappingError("credit", "OICP has no credit CDRs (one CDR per SessionID)")
    if not is_valid_session_id(session_id):
        raise MappingError(
            "authorization_reference", f"SessionID {session_id!r} is not a Hubject SessionID (UUID)"
        )
    raw_evse_id = cdr.cdr_location.evse_id
    evse_id = normalize_evse_id(raw_evse_id)
    if not is_valid_evse_id(evse_id):
        raise MappingError("cdr_location.evse_id", f"{raw_evse_id!r} is not an OICP EvseID")
    if evse_id != raw_evse_id:
        pending.changed("cdr_location.evse_id", f"written {evse_id!r} (OICP EvseIDs use * separators)")
    try:
        identification = token_to_identification(cdr.cdr_token, rules)
    except MappingError as error:
        raise MappingError(f"cdr_token.{error.path}", error.reason) from error
    pending.losses.extend(
        type(loss)(f"cdr_token.{loss.path}", loss.kind, loss.detail) for loss in identification.losses
    )
    if rules.cdrs.charging_window == "energy_periods":
        charging_start, charging_end = charging_window(
            cdr.charging_periods, cdr.start_date_time, cdr.end_date_time
        )
    else:
        charging_start, charging_end = cdr.start_date_time, cdr.end_date_time
    consumed = kwh3(cdr.total_energy)
    if consumed != cdr.total_energy:
        pending.changed("total_energy", f"rounded to 3 decimals: {consumed}")
    if meter_value_start is not None and meter_value_end is not None:
        metered = meter_value_end - meter_value_start
        if abs(metered - cdr.total_energy) > rules.cdrs.meter_tolerance_kwh:
            raise MappingError(
                "total_energy",
                f"{cdr.total_energy} kWh but MeterValueEnd − MeterValueStart = {metered} kWh (Hubject "
                f"checks this)",
            )
        if kwh3(metered) != consumed:
            pending.changed(
                "total_energy", f"sent as the meter difference {kwh3(metered)} (cdrs.meter_tolerance_kwh)"
            )
            consumed = kwh3(metered)
    signed_values = None
    verification = None
    if cdr.signed_data is not None:
        signed_values, verification = _signed_values(cdr.signed_data, rules, pending)
    partner_session = cdr.session_id or cdr.id
    if cdr.session_id is not None:
        pending.lost("id", "CPOPartnerSessionID carries the session id")
    if cdr.authorization_reference is not None and cdr.authorization_reference != session_id:
        pending.lost("authorization_reference", "the SessionID from the correlation is sent instead")
    record = ChargeDetailRecord(
        session_id=session_id,
        cpo_partner_session_id=partner_session,
        emp_partner_session_id=emp_partner_session_id,
        partner_product_id=_partner_product_id(cdr, rules, pending),
        evse_id=evse_id,
        identification=identification.value,
        charging_start=local(charging_start, zone),
        charging_end=local(charging_end or cdr.end_date_time, zone),
        session_start=local(cdr.start_date_time, zone),
        session_end=local(cdr.end_date_time, zone),
        meter_value_start=kwh3(meter_value_start) if meter_value_start is not None else None,
        meter_value_end=kwh3(meter_value_end) if meter_value_end is not None else None,
        consumed_energy=consumed,
        signed_metering_values=signed_values,
        calibration_law_verification_info=verification,
        hub_operator_id=hub_operator_id,
        hub_provider_id=hub_provider_id,
    )
    result = Translation(record, pending.losses)
    for path, detail in _CDR_LOST:
        result.lost(path, detail)
    for name in _CDR_OPTIONAL_LOST:
        if getattr(cdr, name) is not None:
            result.lost(name, "no OICP CDR field")
    return result


# --------------------------------------------------------------------------------------------
# OICP ChargeDetailRecord → OCPI CDR


def cdr_location(location: Location, evse: EVSE, connector: Connector, *, evse_id: str) -> CdrLocation:
    """The CdrLocation of a session: the Location, EVSE and Connector as they are (mod_cdrs)."""
    return CdrLocation(
        id=location.id,
        name=location.name,
        address=location.address,
        city=location.city,
        postal_code=location.postal_code,
        state=location.state,
        country=location.country,
        coordinates=location.coordinates,
        evse_uid=evse.uid,
        evse_id=evse.evse_id or evse_id,
        connector_id=connector.id,
        connector_standard=connector.standard,
        connector_format=connector.format,
        connector_power_type=connector.power_type,
    )


def _find_evse(
    location: Location, evse_uid: str, connector_id: str | None, result: Translation[Any]
) -> tuple[EVSE, Connector]:
    evse = next((e for e in location.evses or [] if e.uid.upper() == evse_uid.upper()), None)
    if evse is None:
        raise MappingError("EvseID", f"EVSE {evse_uid!r} is not in location {location.id!r}")
    if connector_id is None:
        if len(evse.connectors) > 1:
            result.defaulted("cdr_location.connector_id", "OICP names no connector: the EVSE's first is used")
        return evse, evse.connectors[0]
    connector = next((c for c in evse.connectors if c.id.upper() == connector_id.upper()), None)
    if connector is None:
        raise MappingError("EvseID", f"connector {connector_id!r} is not on EVSE {evse_uid!r}")
    return evse, connector


def _usage(
    session_start: datetime,
    charging_start: datetime,
    charging_end: datetime,
    session_end: datetime,
    energy: Decimal,
) -> SessionUsage:
    periods = []
    if charging_start > session_start:
        periods.append(
            UsagePeriod(session_start, seconds_between(session_start, charging_start), parking=True)
        )
    periods.append(UsagePeriod(charging_start, seconds_between(charging_start, charging_end), energy))
    if session_end > charging_end:
        periods.append(UsagePeriod(charging_end, seconds_between(charging_end, session_end), parking=True))
    return SessionUsage(tuple(periods))


def _price(
    usage: SessionUsage,
    tariff: Tariff | None,
    pricing: PricingProductDataRecord | None,
    time_zone: str,
    rules: MappingRules,
) -> PricedSession:
    settings = rules.cdrs
    try:
        if tariff is not None:
            return price_ocpi_tariff(
                tariff,
                usage,
                time_zone=time_zone,
                decimals=settings.price_decimals,
                rounding=settings.price_rounding,
            )
        if pricing is not None:
            return price_pricing_product(
                pricing,
                usage,
                vat_percent=rules.tariffs.oicp_vat_percent,
                decimals=settings.price_decimals,
                rounding=settings.price_rounding,
            )
    except PricingError as error:
        raise UnpricedCdr(error.path, error.reason) from error
    raise UnpricedCdr(
        "total_cost", "no OCPI tariff or OICP pricing product applies: the CDR is held until one does"
    )


def cdr_to_ocpi(
    cdr: ChargeDetailRecord,
    *,
    location: Location,
    evse_uid: str,
    country_code: str,
    party_id: str,
    cdr_id: str,
    rules: MappingRules,
    now: datetime,
    tariff: Tariff | None = None,
    pricing: PricingProductDataRecord | None = None,
    connector_id: str | None = None,
    token_owner: tuple[str, str] | None = None,
    session_id: str | None = None,
) -> Translation[CDR]:
    """OICP ChargeDetailRecord → OCPI CDR, priced (docs/mapping.md §3.10 [suggest], decided here).

    * start/end = SessionStart/SessionEnd in UTC; periods: PARKING_TIME from SessionStart to
      ChargingStart (if any), one at ChargingStart with ENERGY = ConsumedEnergy and TIME = charging
      hours, PARKING_TIME from ChargingEnd to SessionEnd (``cdrs.parking_period``); total_time is
      the session in hours, total_parking_time the session minus charging.
    * cdr_location from the Location/EVSE/Connector passed in (the caller resolved the EvseID);
      cdr_token from the Identification (mappings.tokens), auth_method per
      ``tokens.auth_method_by_identification``; authorization_reference = SessionID.
    * total_cost and the per-dimension costs come from mappings.pricing with the OCPI ``tariff``
      or the OICP ``pricing`` product, rounded per ``cdrs.price_decimals``/``cdrs.price_rounding``.
      Without either, or when pricing fails, :class:`UnpricedCdr` is raised (never a zero cost).
    """
    result: Translation[CDR]
    pending = Translation[None](None)
    evse, connector = _find_evse(location, evse_uid, connector_id, pending)
    zone = location.time_zone
    charging_start = cdr.charging_start
    charging_end = cdr.charging_end
    if charging_start is None:
        charging_start = cdr.session_start
        pending.defaulted("charging_periods[].start_date_time", "no ChargingStart (OICP < 2.3): SessionStart")
    if charging_end is None:
        charging_end = cdr.session_end
        pending.defaulted("total_parking_time", "no ChargingEnd (OICP < 2.3): SessionEnd")
    usage = _usage(cdr.session_start, charging_start, charging_end, cdr.session_end, cdr.consumed_energy)
    priced = _price(usage, tariff, pricing, zone, rules)
    tariffs: list[Tariff] = []
    tariff_id: str | None = None
    if tariff is not None:
        tariffs, tariff_id = [tariff], tariff.id
    elif pricing is not None:
        operator = evse_operator_id(cdr.evse_id) or ""
        try:
            converted = product_to_tariff(
                pricing, rules, operator_id=operator, now=now, owner=(country_code, party_id)
            )
            tariffs, tariff_id = [converted.value], converted.value.id
            pending.losses.extend(
                type(loss)(f"tariffs[0].{loss.path}", loss.kind, loss.detail) for loss in converted.losses
            )
        except MappingError as error:
            pending.lost("tariffs", f"the pricing product has no OCPI tariff form: {error}")
    periods: list[ChargingPeriod] = []
    parking_seconds = Decimal(0)
    for period in usage.periods:
        if period.parking:
            parking_seconds += period.seconds
            if not rules.cdrs.parking_period:
                continue
            dimensions = [CdrDimension(type=CdrDimensionType.PARKING_TIME, volume=_hours(period.seconds))]
        else:
            dimensions = [
                CdrDimension(type=CdrDimensionType.ENERGY, volume=cdr.consumed_energy),
                CdrDimension(type=CdrDimensionType.TIME, volume=_hours(period.seconds)),
            ]
        periods.append(
            ChargingPeriod(start_date_time=period.start, dimensions=dimensions, tariff_id=tariff_id)
        )
    try:
        token = identification_to_cdr_token(cdr.identification, rules, owner=token_owner)
    except MappingError as error:
        raise MappingError(
            f"Identification{'' if error.path == 'Identification' else '.' + error.path}", error.reason
        ) from error
    pending.losses.extend(token.losses)
    method = AuthMethod(rules.tokens.auth_method_by_identification[member_name(cdr.identification)])  # type: ignore[index]
    dimension_cost = priced.cost
    ocpi = CDR(
        country_code=country_code,
        party_id=party_id,
        id=cdr_id,
        start_date_time=cdr.session_start,
        end_date_time=cdr.session_end,
        session_id=session_id or cdr.session_id,
        cdr_token=token.value,
        auth_method=method,
        authorization_reference=cdr.session_id,
        cdr_location=cdr_location(location, evse, connector, evse_id=cdr.evse_id),
        currency=priced.currency,
        tariffs=tariffs or None,
        charging_periods=periods,
        signed_data=_signed_data_back(cdr, pending),
        total_cost=priced.total_cost,
        total_fixed_cost=dimension_cost(TariffDimensionType.FLAT),
        total_energy=cdr.consumed_energy,
        total_energy_cost=dimension_cost(TariffDimensionType.ENERGY),
        total_time=_hours(seconds_between(cdr.session_start, cdr.session_end)),
        total_time_cost=dimension_cost(TariffDimensionType.TIME),
        total_parking_time=_hours(parking_seconds),
        total_parking_cost=dimension_cost(TariffDimensionType.PARKING_TIME),
        last_updated=now,
    )
    result = Translation(ocpi, pending.losses)
    if priced.adjustment:
        result.changed("total_cost", f"clamped by {priced.adjustment}")
    for name, path in (
        ("meter_value_start", "MeterValueStart"),
        ("meter_value_end", "MeterValueEnd"),
        ("meter_value_in_between", "MeterValueInBetween"),
        ("cpo_partner_session_id", "CPOPartnerSessionID"),
        ("emp_partner_session_id", "EMPPartnerSessionID"),
        ("partner_product_id", "PartnerProductID"),
        ("hub_operator_id", "HubOperatorID"),
        ("hub_provider_id", "HubProviderID"),
    ):
        if getattr(cdr, name) is not None:
            result.lost(path, "no OCPI CDR field")
    return result


def _signed_data_back(cdr: ChargeDetailRecord, result: Translation[Any]) -> SignedData | None:
    values = [v for v in cdr.signed_metering_values or [] if v.signed_metering_value]
    if not values:
        return None
    info = cdr.calibration_law_verification_info or CalibrationLawVerificationInfo()
    encoding = info.metering_signature_encoding_format
    if encoding is None:
        encoding = "UNKNOWN"
        result.defaulted("signed_data.encoding_method", "no MeteringSignatureEncodingFormat: UNKNOWN")
    result.defaulted("signed_data.signed_values[].plain_data", "OICP carries only the signed value: empty")
    if info.calibration_law_certificate_id is not None:
        result.lost("CalibrationLawVerificationInfo.CalibrationLawCertificateID", "no OCPI SignedData field")
    if info.signed_metering_values_verification_instruction is not None:
        result.lost(
            "CalibrationLawVerificationInfo.SignedMeteringValuesVerificationInstruction",
            "no OCPI SignedData field",
        )
    signed = []
    for value in values:
        nature = _NATURE_BY_STATUS.get(value.metering_status) if value.metering_status else None
        if nature is None:
            nature = "Intermediate"
            result.defaulted("signed_data.signed_values[].nature", "no MeteringStatus: Intermediate")
        signed.append(
            SignedValue(nature=nature, plain_data="", signed_data=value.signed_metering_value or "")
        )
    return SignedData(
        encoding_method=encoding[:36],
        public_key=info.public_key[:512] if info.public_key else None,
        signed_values=signed,
        url=info.metering_signature_url,
    )


# --------------------------------------------------------------------------------------------
# Preview (the ``map`` CLI)


def _cdr_up(obj: Mapping[str, Any], result: Translation[Any]) -> CDR:
    from bridge.ocpi.models import v2_1_1 as v211
    from mappings.ocpi_versions import cdr_up

    old = parse_model(v211.CDR, obj)
    evse_ids = [e.evse_id for e in old.location.evses or [] if e.evse_id]
    owner = operator_party(evse_operator_id(normalize_evse_id(evse_ids[0])) or "") if evse_ids else None
    if owner is None:
        raise MappingError(
            "location.evses[0].evse_id", "the preview takes the owner from the EvseID: none usable"
        )
    up = cdr_up(old, country_code=owner[0], party_id=owner[1], token_lookup=lambda _: None)
    result.losses.extend(up.losses)
    return up.value


def preview(
    obj: Mapping[str, Any], source: str, target: str, rules: MappingRules, *, now: datetime
) -> Translation[Any]:
    """Translate a bare CDR for the ``map`` CLI.

    OCPI → OICP: :func:`cdr_to_oicp` with times in UTC and, unless authorization_reference is a
    SessionID, a UUID5 SessionID (both noted). OICP → OCPI is refused: the OCPI CDR needs the
    EVSE's Location and a tariff or pricing product to be priced (use :func:`cdr_to_ocpi`).
    """
    result: Translation[Any] = Translation(None)
    if source.startswith("ocpi") and target == "oicp":
        cdr = _cdr_up(obj, result) if source == "ocpi-2.1.1" else parse_model(CDR, obj)
        session_id = preview_session_id(cdr.authorization_reference, cdr.id, result)
        result.defaulted("SessionStart", "preview: times in UTC (the flow uses the Location's time zone)")
        translated = cdr_to_oicp(cdr, session_id=session_id, time_zone="UTC", rules=rules)
        result.value = translated.value
        result.losses.extend(translated.losses)
        return result
    if source == "oicp" and target.startswith("ocpi"):
        raise MappingError(
            "target", "an OICP CDR becomes an OCPI CDR only with its Location and a tariff or pricing product"
        )
    raise unsupported(source, target)


RULE_TABLE: tuple[RuleDoc, ...] = rule_rows(
    "ocpi→oicp | correlation | SessionID | Hubject's SessionID passed in (must be a UUID) | ",
    "ocpi→oicp | session_id (else id) | CPOPartnerSessionID | the OCPI session id, else the CDR id | ",
    "ocpi→oicp | cdr_location.evse_id | EvseID | - separators become *, must match the EvseID pattern; "
    "#NA (reservation only) is refused | ",
    "ocpi→oicp | cdr_token | Identification | as the tokens family; a token that cannot be expressed "
    "refuses the CDR (cdr_token.<field>) | ",
    "ocpi→oicp | start/end_date_time | SessionStart/SessionEnd | at the Location's local offset | ",
    "ocpi→oicp | charging_periods with energy | ChargingStart/ChargingEnd | bounds of the periods that "
    "carry ENERGY, else the session bounds | cdrs.charging_window",
    "ocpi→oicp | total_energy | ConsumedEnergy | 3 decimals; equal to MeterValueEnd − MeterValueStart "
    "when those are given, else MappingError(total_energy) | cdrs.meter_tolerance_kwh",
    "ocpi→oicp | signed_data.signed_values[].nature | SignedMeteringValues[].MeteringStatus | "
    "Start/Intermediate/End → Start/Progress/End, ordered Start, Progress…, End | "
    "cdrs.metering_status_by_nature",
    "ocpi→oicp | more than 10 signed values | SignedMeteringValues | trimmed (Start and End kept) or "
    "refused | cdrs.signed_values_overflow",
    "ocpi→oicp | signed_data public_key, url, encoding_method | CalibrationLawVerificationInfo | "
    "PublicKey, MeteringSignatureUrl (≤200), MeteringSignatureEncodingFormat; plain_data lost | "
    "cdrs.verification_instruction",
    "ocpi→oicp | tariffs[].id / charging_periods[].tariff_id | PartnerProductID | the first tariff id, "
    "through the table | cdrs.partner_product_id",
    "ocpi→oicp | tariff id | PartnerProductID | rename table | cdrs.product_ids",
    "ocpi→oicp | total_cost and every cost field, currency, periods, cdr_location, auth_method | – | lost"
    " (noted): the OICP CDR has no price | ",
    "ocpi→oicp | credit = true | – | refused: OICP has one CDR per SessionID and no credit CDRs | ",
    "oicp→ocpi | SessionStart/SessionEnd | start/end_date_time | UTC | ",
    "oicp→ocpi | ChargingStart/End, ConsumedEnergy | charging_periods | one period at ChargingStart with "
    "ENERGY and TIME (hours, 6 decimals); PARKING_TIME before ChargingStart and after ChargingEnd | "
    "cdrs.parking_period",
    "oicp→ocpi | EvseID (resolved by the caller) | cdr_location | from the Location, EVSE and Connector "
    "passed in (first connector when none is named, noted) | ",
    "oicp→ocpi | Identification | cdr_token, auth_method | as the tokens family | ",
    "oicp→ocpi | SessionID | authorization_reference, session_id | Hubject's SessionID (session_id unless"
    " the caller passes the OCPI session id) | ",
    "oicp→ocpi | OCPI tariff or OICP pricing product | total_cost and per-dimension costs | priced by "
    "mappings.pricing in Decimal; each dimension rounded once, total = their sum, min/max clamp; no "
    "tariff → UnpricedCdr (never a zero) | cdrs.price_rounding",
    "oicp→ocpi | cost amounts | Price.excl_vat/incl_vat | decimals of every rounded amount | "
    "cdrs.price_decimals",
    "oicp→ocpi | SignedMeteringValues + CalibrationLawVerificationInfo | signed_data | MeteringStatus → "
    "nature, plain_data empty (noted), encoding from MeteringSignatureEncodingFormat | ",
    "oicp→ocpi | MeterValueStart/End/InBetween, partner session ids, PartnerProductID, hub ids | – | lost"
    " (noted) | ",
)
