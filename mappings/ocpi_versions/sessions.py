"""OCPI 2.1.1 ⇄ 2.2.1: Sessions and CDRs (docs/ocpi.md §5 Session, CDR)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.errors import MappingError
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from mappings.ocpi_versions._rules import (
    Ctx,
    Rule,
    TokenLookup,
    apply,
    at,
    build,
    drop,
    lost_except,
    max_length,
    owner_defaulted,
    plain,
    point_up,
    same,
)
from mappings.ocpi_versions.locations import location_down_data
from mappings.ocpi_versions.tariffs import TARIFF_DOWN, tariff_up_data
from mappings.result import Translation


def _single_evse(loc: v211.Location, path: str) -> tuple[v211.EVSE, v211.Connector]:
    """A 2.1.1 Session/CDR Location holds "only the relevant EVSE and Connector": exactly one each."""
    if not loc.evses or len(loc.evses) != 1:
        raise MappingError(
            at(path, "evses"), f"must hold exactly the EVSE used, found {len(loc.evses or [])}"
        )
    evse = loc.evses[0]
    if len(evse.connectors) != 1:
        raise MappingError(
            at(at(at(path, "evses"), 0), "connectors"),
            f"must hold exactly the connector used, found {len(evse.connectors)}",
        )
    return evse, evse.connectors[0]


def _cdr_token_up(
    value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]
) -> dict[str, Any]:
    """§5 Session/CDR: ``auth_id`` -> ``cdr_token``: the cached token found by auth_id, else
    uid = contract_id = auth_id with type OTHER (lossy: the real uid and type are unknown)."""
    if ctx.token_lookup is None:
        raise MappingError(path, "translating auth_id to cdr_token needs a token lookup")
    token = ctx.token_lookup(value)
    if token is not None:
        return {
            "cdr_token": {
                "country_code": token.country_code,
                "party_id": token.party_id,
                "uid": token.uid,
                "type": token.type.value,
                "contract_id": token.contract_id,
            }
        }
    t.changed(path, "no cached token with this auth_id: cdr_token.uid = auth_id, type OTHER")
    owner = (ctx.token_country_code or ctx.country_code, ctx.token_party_id or ctx.party_id)
    t.defaulted("cdr_token.country_code", f"{owner[0]} (token owner unknown)")
    t.defaulted("cdr_token.party_id", f"{owner[1]} (token owner unknown)")
    return {
        "cdr_token": {
            "country_code": owner[0],
            "party_id": owner[1],
            "uid": value,
            "type": "OTHER",
            "contract_id": value,
        }
    }


def _cdr_token_down(
    value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]
) -> dict[str, Any]:
    """§5 Session/CDR: ``cdr_token`` -> ``auth_id`` (= Token.auth_id = 2.2.1 contract_id)."""
    lost_except(value, {"contract_id"}, path, t, "2.1.1 references the token by auth_id (contract_id) only")
    return {"auth_id": value.contract_id}


def _auth_method_down(
    value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]
) -> dict[str, Any]:
    if value is v221.AuthMethod.COMMAND:
        t.changed(path, "COMMAND has no 2.1.1 AuthMethod; sent as AUTH_REQUEST")
        return {"auth_method": "AUTH_REQUEST"}
    return {"auth_method": value.value}


def _status_down(
    value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]
) -> dict[str, Any]:
    if value is v221.SessionStatus.RESERVATION:
        t.changed(path, "RESERVATION has no 2.1.1 SessionStatus; sent as PENDING")
        return {"status": "PENDING"}
    return {"status": value.value}


def _price_up(value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]) -> dict[str, Any]:
    """§5: 2.1.1 ``total_cost`` number (excl. VAT) -> Price ``{excl_vat}``."""
    return {path.rsplit(".", 1)[-1]: {"excl_vat": value}}


def _price_down(
    value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]
) -> dict[str, Any]:
    """§5: Price -> 2.1.1 number = ``excl_vat``; ``incl_vat`` is lost."""
    lost_except(value, {"excl_vat"}, path, t, "2.1.1 total_cost is a number excluding VAT")
    return {path.rsplit(".", 1)[-1]: value.excl_vat}


_DIMENSIONS_211 = frozenset(member.value for member in v211.CdrDimensionType)
_DIMENSIONS_221 = frozenset(member.value for member in v221.CdrDimensionType)


def _periods(direction: str) -> Rule:
    """§5 CDR: FLAT (2.1.1 only) dropped going up; RESERVATION_TIME, MAX/MIN_POWER and the
    Session-only dimensions (2.2.1 only) dropped going down; ChargingPeriod.tariff_id (2.2.1) lost."""
    known = _DIMENSIONS_221 if direction == "up" else _DIMENSIONS_211
    where = "2.2.1" if direction == "up" else "2.1.1"

    def rule(value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]) -> dict[str, Any]:
        periods = []
        for i, period in enumerate(value):
            here = at(path, i)
            lost_except(
                period, {"start_date_time", "dimensions"}, here, t, f"no ChargingPeriod field in {where}"
            )
            dimensions = []
            for j, dimension in enumerate(period.dimensions):
                if dimension.type.value in known:
                    dimensions.append(plain(dimension, at(at(here, "dimensions"), j), t))
                else:
                    t.lost(
                        at(at(here, "dimensions"), j),
                        f"{dimension.type.value} is not a {where} CdrDimensionType",
                    )
            if dimensions:
                periods.append({"start_date_time": period.start_date_time, "dimensions": dimensions})
            else:
                t.lost(here, f"period omitted: none of its dimensions exists in {where}")
        return {"charging_periods": periods}

    return rule


def _session_location_up(
    value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]
) -> dict[str, Any]:
    """§5 Session: ``location`` -> ``location_id``/``evse_uid``/``connector_id``. The rest of the
    embedded Location is not part of a 2.2.1 Session (update the Location cache from it)."""
    evse, connector = _single_evse(value, path)
    reason = "not part of a 2.2.1 Session (only the ids are kept)"
    lost_except(value, {"id", "evses"}, path, t, reason)
    evse_path = at(at(path, "evses"), 0)
    lost_except(evse, {"uid", "connectors"}, evse_path, t, reason)
    lost_except(connector, {"id"}, at(at(evse_path, "connectors"), 0), t, reason)
    return {"location_id": value.id, "evse_uid": evse.uid, "connector_id": connector.id}


def _cdr_location_up(
    value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]
) -> dict[str, Any]:
    """§5 CDR: ``location`` (a full 2.1.1 Location) -> ``cdr_location``."""
    evse, connector = _single_evse(value, path)
    reason = "not part of a 2.2.1 CdrLocation"
    lost_except(
        value,
        {"id", "name", "address", "city", "postal_code", "country", "coordinates", "evses"},
        path,
        t,
        reason,
    )
    evse_path = at(at(path, "evses"), 0)
    lost_except(evse, {"uid", "evse_id", "connectors"}, evse_path, t, reason)
    lost_except(
        connector, {"id", "standard", "format", "power_type"}, at(at(evse_path, "connectors"), 0), t, reason
    )
    out: dict[str, Any] = {
        name: getattr(value, name)
        for name in ("id", "name", "address", "city", "postal_code", "country")
        if getattr(value, name) is not None
    }
    out["coordinates"] = point_up(value.coordinates, at(path, "coordinates"), t)
    if evse.evse_id is None:
        t.defaulted("cdr_location.evse_id", "#NA: the 2.1.1 EVSE has no evse_id (required in CdrLocation)")
    out.update(
        evse_uid=evse.uid,
        evse_id=evse.evse_id or "#NA",
        connector_id=connector.id,
        connector_standard=connector.standard.value,
        connector_format=connector.format.value,
        connector_power_type=connector.power_type.value,
    )
    return {"cdr_location": out}


def _cached_evse(evse_uid: str, connector_id: str, path: str, ctx: Ctx) -> tuple[v221.EVSE, v221.Connector]:
    assert ctx.location is not None
    evse = next((e for e in ctx.location.evses or [] if e.uid.lower() == evse_uid.lower()), None)
    if evse is None:
        raise MappingError(at(path, "evse_uid"), f"EVSE {evse_uid!r} is not in Location {ctx.location.id!r}")
    connector = next((c for c in evse.connectors if c.id.lower() == connector_id.lower()), None)
    if connector is None:
        raise MappingError(
            at(path, "connector_id"), f"connector {connector_id!r} is not in EVSE {evse_uid!r}"
        )
    return evse, connector


def _embed_down(loc: v221.Location, ctx: Ctx, t: Translation[Any]) -> dict[str, Any]:
    """The cached Location reduced to one EVSE and connector, translated for a 2.1.1 Session/CDR."""
    data = location_down_data(loc, "location", t, Ctx(tariff_types=ctx.tariff_types, embedded=True))
    if not data.get("evses"):
        raise MappingError("location.evses[0].connectors[0]", "the connector used has no 2.1.1 form")
    return data


def _need_location(path: str, value: str, ctx: Ctx) -> v221.Location:
    if ctx.location is None:
        raise MappingError(path, "a 2.1.1 Session/CDR embeds the full Location: pass location=")
    if ctx.location.id.lower() != value.lower():
        raise MappingError(path, f"Location {ctx.location.id!r} given for {value!r}")
    return ctx.location


def _session_location_down(
    value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]
) -> dict[str, Any]:
    """§5 Session: ``location_id``/``evse_uid``/``connector_id`` -> ``location`` (the full Location
    from the cache, holding only the EVSE and connector used)."""
    loc = _need_location(path, value, ctx)
    if sib.get("evse_uid") is None or sib.get("connector_id") is None:
        raise MappingError(path, "evse_uid and connector_id are needed to embed the Location")
    evse, connector = _cached_evse(sib["evse_uid"], sib["connector_id"], "", ctx)
    embedded = loc.model_copy(update={"evses": [evse.model_copy(update={"connectors": [connector]})]})
    return {"location": _embed_down(embedded, ctx, t)}


def _with_location_id(
    value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]
) -> dict[str, Any]:
    if "location_id" not in sib:
        raise MappingError(
            path, "2.1.1 carries it inside location: send location_id, evse_uid and connector_id"
        )
    return {}


def _cdr_location_down(
    value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]
) -> dict[str, Any]:
    """§5 CDR: ``cdr_location`` -> ``location``: the cached Location with the CDR's snapshot (address,
    coordinates, evse_id, connector standard/format/power_type) laid over it."""
    loc = _need_location(at(path, "id"), value.id, ctx)
    evse, connector = _cached_evse(value.evse_uid, value.connector_id, path, ctx)
    connector = connector.model_copy(
        update={
            "standard": value.connector_standard,
            "format": value.connector_format,
            "power_type": value.connector_power_type,
        }
    )
    evse_update: dict[str, Any] = {"connectors": [connector]}
    if value.evse_id != "#NA":
        evse_update["evse_id"] = value.evse_id
    snapshot = {
        name: getattr(value, name)
        for name in ("name", "address", "city", "postal_code", "state", "country", "coordinates")
    }
    embedded = loc.model_copy(update={**snapshot, "evses": [evse.model_copy(update=evse_update)]})
    for extra in value.model_extra or {}:
        t.lost(at(path, extra), "unknown field, not carried across versions")
    return {"location": _embed_down(embedded, ctx, t)}


def _credit_down(
    value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]
) -> dict[str, Any]:
    """§5 CDR: a credit CDR cannot be expressed in 2.1.1."""
    if value:
        raise MappingError(path, "a credit CDR cannot be expressed in 2.1.1 (handle it out of band)")
    t.lost(path, "2.1.1 has no credit flag (false is implied)")
    return {}


def _tariffs(direction: str) -> Rule:
    def rule(value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]) -> dict[str, Any]:
        out = []
        for i, tariff in enumerate(value):
            if direction == "up":
                out.append(tariff_up_data(tariff, at(path, i), t, ctx))
                continue
            try:
                out.append(apply(TARIFF_DOWN, tariff, at(path, i), t, ctx))
            except MappingError as exc:
                t.lost(at(path, i), f"tariff omitted: {exc}")
        return {"tariffs": out}

    return rule


_DROP_COST = "2.1.1 CDR has no cost breakdown"
SESSION_UP: dict[str, Rule] = {
    "id": same(),
    "start_datetime": same("start_date_time"),
    "end_datetime": same("end_date_time"),
    "kwh": same(),
    "auth_id": _cdr_token_up,
    "auth_method": same(),
    "location": _session_location_up,
    "meter_id": same(),
    "currency": same(),
    "charging_periods": _periods("up"),
    "total_cost": _price_up,
    "status": same(),
    "last_updated": same(),
}
SESSION_DOWN: dict[str, Rule] = {
    "country_code": drop("2.1.1 has no owner fields (the URL of the connection carries them)"),
    "party_id": drop("2.1.1 has no owner fields (the URL of the connection carries them)"),
    "id": same(),
    "start_date_time": same("start_datetime"),
    "end_date_time": same("end_datetime"),
    "kwh": same(),
    "cdr_token": _cdr_token_down,
    "auth_method": _auth_method_down,
    "authorization_reference": drop("2.1.1 has no authorization_reference"),
    "location_id": _session_location_down,
    "evse_uid": _with_location_id,
    "connector_id": _with_location_id,
    "meter_id": same(),
    "currency": same(),
    "charging_periods": _periods("down"),
    "total_cost": _price_down,
    "status": _status_down,
    "last_updated": same(),
}
CDR_UP: dict[str, Rule] = {
    "id": same(),
    "start_date_time": same(),
    "stop_date_time": same("end_date_time"),
    "auth_id": _cdr_token_up,
    "auth_method": same(),
    "location": _cdr_location_up,
    "meter_id": same(),
    "currency": same(),
    "tariffs": _tariffs("up"),
    "charging_periods": _periods("up"),
    "total_cost": _price_up,
    "total_energy": same(),
    "total_time": same(),
    "total_parking_time": same(),
    "remark": same(),
    "last_updated": same(),
}
CDR_DOWN: dict[str, Rule] = {
    "country_code": drop("2.1.1 has no owner fields (the URL of the connection carries them)"),
    "party_id": drop("2.1.1 has no owner fields (the URL of the connection carries them)"),
    "id": max_length("id", 36),
    "start_date_time": same(),
    "end_date_time": same("stop_date_time"),
    "session_id": drop("2.1.1 CDR has no session_id"),
    "cdr_token": _cdr_token_down,
    "auth_method": _auth_method_down,
    "authorization_reference": drop("2.1.1 has no authorization_reference"),
    "cdr_location": _cdr_location_down,
    "meter_id": same(),
    "currency": same(),
    "tariffs": _tariffs("down"),
    "charging_periods": _periods("down"),
    "signed_data": drop("2.1.1 CDR has no signed_data"),
    "total_cost": _price_down,
    "total_energy": same(),
    "total_time": same(),
    "total_parking_time": same(),
    **{
        name: drop(_DROP_COST)
        for name in (
            "total_fixed_cost",
            "total_energy_cost",
            "total_time_cost",
            "total_parking_cost",
            "total_reservation_cost",
        )
    },
    "remark": same(),
    "invoice_reference_id": drop("2.1.1 CDR has no invoice_reference_id"),
    "credit": _credit_down,
    "credit_reference_id": drop("2.1.1 has no credit CDRs"),
    "home_charging_compensation": drop("2.1.1 CDR has no home_charging_compensation"),
    "last_updated": same(),
}


def _up_with_owner(
    source: Any,
    table: Any,
    model: type[Any],
    country_code: str,
    party_id: str,
    token_lookup: TokenLookup,
    token_country_code: str | None,
    token_party_id: str | None,
) -> Translation[Any]:
    """A Session or CDR up to 2.2.1 (§5): the rule ``table`` applied, owner fields from the
    connection, ``auth_id`` resolved to a ``cdr_token`` through ``token_lookup``."""
    t: Translation[Any] = Translation(None)
    ctx = Ctx(
        country_code,
        party_id,
        token_lookup=token_lookup,
        token_country_code=token_country_code,
        token_party_id=token_party_id,
    )
    data = {"country_code": country_code, "party_id": party_id, **apply(table, source, "", t, ctx)}
    owner_defaulted(t)
    t.value = build(model, data, "")
    return t


def session_up(
    s211: v211.Session,
    *,
    country_code: str,
    party_id: str,
    token_lookup: TokenLookup,
    token_country_code: str | None = None,
    token_party_id: str | None = None,
) -> Translation[v221.Session]:
    """§5 Session (ingress): ``*_datetime`` -> ``*_date_time``; ``auth_id`` -> ``cdr_token`` (token
    lookup, else uid=auth_id/type OTHER owned by ``token_country_code``/``token_party_id`` or the
    connection: lossy); ``location`` -> ids; ``total_cost`` -> Price; owner fields from the connection."""
    return _up_with_owner(
        s211,
        SESSION_UP,
        v221.Session,
        country_code,
        party_id,
        token_lookup,
        token_country_code,
        token_party_id,
    )


def session_down(
    s221: v221.Session,
    *,
    location: v221.Location,
    tariff_types: Mapping[str, v221.TariffType | None] | None = None,
) -> Translation[v211.Session]:
    """§5 Session (egress): ``location`` is the full cached Location reduced to the EVSE and connector
    used; ``total_cost`` = ``excl_vat``; RESERVATION -> PENDING; COMMAND -> AUTH_REQUEST."""
    t: Translation[Any] = Translation(None)
    data = apply(SESSION_DOWN, s221, "", t, Ctx(location=location, tariff_types=tariff_types))
    t.value = build(v211.Session, data, "")
    return t


def cdr_up(
    cdr211: v211.CDR,
    *,
    country_code: str,
    party_id: str,
    token_lookup: TokenLookup,
    token_country_code: str | None = None,
    token_party_id: str | None = None,
) -> Translation[v221.CDR]:
    """§5 CDR (ingress): ``stop_date_time`` -> ``end_date_time``; ``auth_id`` -> ``cdr_token``;
    ``location`` -> ``cdr_location``; ``total_cost`` -> Price; owner fields added (also to the
    embedded tariffs); FLAT dimensions dropped."""
    return _up_with_owner(
        cdr211, CDR_UP, v221.CDR, country_code, party_id, token_lookup, token_country_code, token_party_id
    )


def cdr_down(
    cdr221: v221.CDR,
    *,
    location: v221.Location,
    tariff_types: Mapping[str, v221.TariffType | None] | None = None,
) -> Translation[v211.CDR]:
    """§5 CDR (egress): refuses credit CDRs; drops signed_data and the cost breakdown; 2.2.1-only
    dimensions dropped; ``cdr_location`` becomes the full cached Location with the CDR's snapshot."""
    t: Translation[Any] = Translation(None)
    data = apply(CDR_DOWN, cdr221, "", t, Ctx(location=location, tariff_types=tariff_types))
    t.value = build(v211.CDR, data, "")
    return t
