"""Hubject's business rules for the simulator: sessions, CDRs, pushed data and pulls.

:class:`HubjectBackend` holds what HBS stores and answers every operation from a validated
request body (``_op_<operation>(partner, body, query) -> (HTTP status, answer)``);
:class:`bridge.simulators.hubject.HubjectSimulator` adds the HTTP side (schemas, rate limits,
faults, the exchange log, calls to the partner). The rules and the decisions taken where the spec
is silent are listed in :mod:`bridge.simulators.hubject`.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel

from bridge.oicp.client import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX
from bridge.oicp.models import (
    STATUS_DESCRIPTIONS,
    StatusCodeEnum,
    evse_id_key,
    normalize_session_id,
    operator_id_key,
    provider_id_key,
    to_jsonable,
)
from bridge.simulators.hubject_schemas import FieldProblem, fault_body
from bridge.simulators.hubject_store import (
    Entry,
    PushConflict,
    RecordSet,
    distance_km,
    duplicates,
    evse_belongs_to,
    in_format,
    lat_lon,
    operator_id_of_evse,
    parse_timestamp,
    spring_page,
    synthetic_evse_id,
    synthetic_evse_record,
    timestamp,
)

_NOT_AUTHORIZED_CODES = {
    "RFIDMifareFamilyIdentification": "102",
    "RFIDIdentification": "102",
    "QRCodeIdentification": "101",
    "PlugAndChargeIdentification": "105",
}


@dataclass(slots=True)
class SimSession:
    """A SessionID Hubject issued, and what it belongs to."""

    session_id: str
    kind: Literal["authorize", "remote", "reservation"]
    operator_id: str | None
    provider_id: str | None
    evse_id: str | None
    created: datetime
    stopped: bool = False


@dataclass(slots=True)
class CdrRecord:
    """A CDR Hubject stored (one per SessionID)."""

    session_id: str
    operator_id: str
    provider_id: str | None
    cdr: dict[str, Any]
    received: datetime
    forwarded: bool = False


@dataclass(frozen=True, slots=True)
class AuthorizationRule:
    """How the simulated EMP side answers AuthorizeStart for one identification."""

    authorized: bool
    provider_id: str | None
    code: str


class HubjectReply(Exception):
    """Internal: stop processing and answer this (status, body)."""

    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def key_of(value: str) -> str:
    """Compare key of an ID or identification (upper case, no ``*``/``-`` separators)."""
    return value.strip().upper().replace("*", "").replace("-", "")


def status_body(code: str, info: str | None = None) -> dict[str, Any]:
    known = StatusCodeEnum(code) if code in StatusCodeEnum._value2member_map_ else None
    return {
        "Code": code,
        "Description": STATUS_DESCRIPTIONS[known] if known else None,
        "AdditionalInfo": info,
    }


def _ack(
    result: bool,
    code: str = "000",
    info: str | None = None,
    *,
    body: Mapping[str, Any] | None = None,
    session_id: str | None = None,
) -> dict[str, Any]:
    body = body or {}
    return {
        "Result": result,
        "StatusCode": status_body(code, info),
        "SessionID": session_id if session_id is not None else body.get("SessionID"),
        "CPOPartnerSessionID": body.get("CPOPartnerSessionID"),
        "EMPPartnerSessionID": body.get("EMPPartnerSessionID", body.get("EMPPartnerSessionId")),
    }


def _identification(ident: Mapping[str, Any] | None) -> tuple[str, str] | None:
    """(member name, compare key) of the one identification option set."""
    for member, value in (ident or {}).items():
        if isinstance(value, dict):
            text = value.get("UID") or value.get("EvcoID")
            if isinstance(text, str):
                return member, key_of(text)
    return None


class HubjectBackend:
    """What HBS stores and how it answers (no HTTP). ``operators`` maps registered OperatorIDs to
    their names, ``providers`` lists registered ProviderIDs, ``now`` gives the timestamps."""

    def __init__(
        self,
        *,
        operators: Mapping[str, str] | None = None,
        providers: Iterable[str] = (),
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.operators: dict[str, str] = dict(operators or {})
        self.providers: set[str] = set(providers)
        self.now = now
        self.sessions: dict[str, SimSession] = {}
        self.cdrs: dict[str, CdrRecord] = {}
        self.notifications: list[dict[str, Any]] = []
        self.authorizations: dict[str, AuthorizationRule] = {}
        self.evse_data = RecordSet()
        self.evse_status = RecordSet()
        self.evse_pricing = RecordSet()
        self.pricing_products = RecordSet()
        self.pricing_headers: dict[str, tuple[str, str, dict[str, Any], datetime]] = {}
        self.authentication_data = RecordSet()
        self._selection: tuple[tuple[int, bytes], list[tuple[Entry, str | None]]] | None = None

    # -----------------------------------------------------------------------------------------
    # Configuration and inspection

    def authorize(
        self,
        identifier: str,
        *,
        provider_id: str | None = None,
        authorized: bool = True,
        code: str | None = None,
    ) -> None:
        """How AuthorizeStart answers for a UID or EvcoID (``code`` defaults to 000 / 102)."""
        self.authorizations[key_of(identifier)] = AuthorizationRule(
            authorized, provider_id, code or ("000" if authorized else "102")
        )

    def evse_records(self, operator_id: str | None = None) -> dict[str, dict[str, Any]]:
        """Live EVSE data records by EvseID (of one operator, or all)."""
        if operator_id is None:
            return {entry.value["EvseID"]: entry.value for entry in self.evse_data.live()}
        owner = self._operator(operator_id)
        if owner is None:
            return {}
        return {entry.value["EvseID"]: entry.value for entry in self.evse_data.live(owner)}

    def evse_statuses(self) -> dict[str, str]:
        """Live EVSE statuses by EvseID."""
        return {entry.value["EvseID"]: entry.value["EvseStatus"] for entry in self.evse_status.live()}

    # -----------------------------------------------------------------------------------------
    # Data seeding

    def add_evse_record(
        self, record: Mapping[str, Any] | BaseModel, *, at: datetime | None = None, status: str | None = None
    ) -> str:
        """Insert or update an EVSE data record (its operator is the one its EvseID carries)."""
        value = to_jsonable(record, strict=False) if isinstance(record, BaseModel) else dict(record)
        value = {key: item for key, item in value.items() if key not in ("deltaType", "lastUpdate")}
        evse_id: str = value["EvseID"]
        owner = self._register_operator(operator_id_of_evse(evse_id))
        when = at or self.now()
        self.evse_data.put(owner, evse_id_key(evse_id), value, when)
        if status is not None:
            self.set_evse_status(evse_id, status, at=when)
        return evse_id

    update_evse_record = add_evse_record

    def delete_evse_record(self, evse_id: str, *, at: datetime | None = None) -> bool:
        return self.evse_data.remove(evse_id_key(evse_id), at or self.now())

    def set_evse_status(self, evse_id: str, status: str, *, at: datetime | None = None) -> None:
        owner = self._register_operator(operator_id_of_evse(evse_id))
        self.evse_status.put(
            owner, evse_id_key(evse_id), {"EvseID": evse_id, "EvseStatus": status}, at or self.now()
        )

    def generate_network(
        self,
        n_evses: int,
        *,
        operators: Iterable[str] | None = None,
        seed: int = 0,
        at: datetime | None = None,
    ) -> list[str]:
        """Add ``n_evses`` valid synthetic EVSEs (data + status) spread over ``operators``
        (default: the registered ones, else ``DE*SIM``); deterministic for a ``seed``."""
        owners = list(operators or self.operators or ["DE*SIM"])
        rng = random.Random(seed)
        when = at or self.now()
        counters = {
            owner: sum(1 for _ in self.evse_data.live(self._register_operator(owner))) for owner in owners
        }
        created = []
        for index in range(n_evses):
            owner = owners[index % len(owners)]
            counters[owner] += 1
            evse_id = synthetic_evse_id(owner, counters[owner])
            self.add_evse_record(synthetic_evse_record(evse_id, rng), at=when)
            self.set_evse_status(
                evse_id, rng.choice(["Available", "Available", "Occupied", "OutOfService"]), at=when
            )
            created.append(evse_id)
        return created

    def open_session(
        self,
        *,
        evse_id: str,
        provider_id: str | None = None,
        kind: Literal["authorize", "remote", "reservation"] = "authorize",
    ) -> str:
        """Issue a SessionID as Hubject would for a started process; returns it."""
        return self._new_session(kind, operator_id_of_evse(evse_id), provider_id, evse_id).session_id

    def add_cdr(
        self,
        cdr: Mapping[str, Any] | BaseModel,
        *,
        provider_id: str,
        received: datetime | None = None,
        forwarded: bool = False,
    ) -> None:
        """Store a CDR as received from a CPO (for GetChargeDetailRecords)."""
        value = to_jsonable(cdr, strict=False) if isinstance(cdr, BaseModel) else dict(cdr)
        session_id = normalize_session_id(value["SessionID"])
        operator = self._register_operator(operator_id_of_evse(value["EvseID"]))
        self.cdrs[session_id] = CdrRecord(
            session_id, operator, provider_id, value, received or self.now(), forwarded
        )

    def _operator(self, operator_id: str | None) -> str | None:
        """The registered form of an OperatorID (compared without separators), if registered."""
        if not operator_id:
            return None
        wanted = operator_id_key(operator_id)
        return next((known for known in self.operators if operator_id_key(known) == wanted), None)

    def _register_operator(self, operator_id: str) -> str:
        known = self._operator(operator_id)
        if known is None:
            self.operators[operator_id] = f"Operator {operator_id}"
            known = operator_id
        return known

    def _provider(self, provider_id: str) -> str | None:
        wanted = provider_id_key(provider_id)
        return next((known for known in self.providers if provider_id_key(known) == wanted), None)

    def _new_session(
        self,
        kind: Literal["authorize", "remote", "reservation"],
        operator: str | None,
        provider: str | None,
        evse_id: str | None,
    ) -> SimSession:
        session = SimSession(str(uuid.uuid4()), kind, operator, provider, evse_id, self.now())
        self.sessions[session.session_id] = session
        return session

    def _session(self, session_id: Any) -> SimSession | None:
        return self.sessions.get(normalize_session_id(session_id)) if isinstance(session_id, str) else None

    # -----------------------------------------------------------------------------------------
    # CPO → Hubject

    def _push_evse(
        self,
        records: RecordSet,
        owner: str,
        body: dict[str, Any],
        items_in: list[dict[str, Any]],
        value: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> tuple[int, Any]:
        labels = [str(item.get("EvseID")) for item in items_in]
        foreign = [label for label in labels if not evse_belongs_to(label, owner)]
        if foreign:
            return 200, _ack(False, "018", f"EvseIDs not of operator {owner}: {', '.join(foreign)}")
        repeated = duplicates(labels)
        if repeated:
            return 200, _ack(False, "018", f"EvseIDs repeated in the request: {', '.join(repeated)}")
        items = [
            (evse_id_key(label), label, value(item)) for label, item in zip(labels, items_in, strict=True)
        ]
        try:
            records.apply(body["ActionType"], owner, items, self.now())
        except PushConflict as conflict:
            return 200, _ack(False, conflict.code, conflict.info)
        return 200, _ack(True)

    def _op_push_evse_data(
        self, owner: str, body: dict[str, Any], query: Mapping[str, str]
    ) -> tuple[int, Any]:
        data = body["OperatorEvseData"]
        self.operators[owner] = data.get("OperatorName") or self.operators.get(owner, owner)
        return self._push_evse(
            self.evse_data,
            owner,
            body,
            data["EvseDataRecord"],
            lambda record: {k: v for k, v in record.items() if k not in ("deltaType", "lastUpdate")},
        )

    def _op_push_evse_status(
        self, owner: str, body: dict[str, Any], query: Mapping[str, str]
    ) -> tuple[int, Any]:
        records = body["OperatorEvseStatus"]["EvseStatusRecord"]
        return self._push_evse(self.evse_status, owner, body, records, dict)

    def _op_authorize_start(
        self, owner: str, body: dict[str, Any], query: Mapping[str, str]
    ) -> tuple[int, Any]:
        found = _identification(body.get("Identification"))
        member, key = found if found else ("", "")
        rule = self.authorizations.get(key)
        offline = self.authentication_data.get(key)
        if rule is None and offline is not None:
            rule = AuthorizationRule(True, offline.owner, "000")
        answer: dict[str, Any] = {
            "CPOPartnerSessionID": body.get("CPOPartnerSessionID"),
            "EMPPartnerSessionID": body.get("EMPPartnerSessionID"),
        }
        if rule is None or not rule.authorized:
            code = rule.code if rule else _NOT_AUTHORIZED_CODES.get(member, "106")
            return 200, {**answer, "AuthorizationStatus": "NotAuthorized", "StatusCode": status_body(code)}
        session = self._new_session("authorize", owner, rule.provider_id, body.get("EvseID"))
        return 200, {
            "SessionID": session.session_id,
            **answer,
            "ProviderID": rule.provider_id,
            "AuthorizationStatus": "Authorized",
            "StatusCode": status_body(rule.code),
        }

    def _op_authorize_stop(
        self, owner: str, body: dict[str, Any], query: Mapping[str, str]
    ) -> tuple[int, Any]:
        session = self._session(body.get("SessionID"))
        answer = {key: body.get(key) for key in ("SessionID", "CPOPartnerSessionID", "EMPPartnerSessionID")}
        if session is None or key_of(session.operator_id or "") != key_of(owner):
            return 200, {**answer, "AuthorizationStatus": "NotAuthorized", "StatusCode": status_body("400")}
        session.stopped = True
        return 200, {
            **answer,
            "ProviderID": session.provider_id,
            "AuthorizationStatus": "Authorized",
            "StatusCode": status_body("000"),
        }

    def _op_charge_detail_record(
        self, owner: str, body: dict[str, Any], query: Mapping[str, str]
    ) -> tuple[int, Any]:
        if not evse_belongs_to(body["EvseID"], owner):
            return 200, _ack(False, "018", f"EvseID {body['EvseID']} is not of operator {owner}", body=body)
        session = self._session(body["SessionID"])
        if session is None or key_of(session.operator_id or "") != key_of(owner):
            return 200, _ack(False, "400", "unknown SessionID", body=body)
        if session.session_id in self.cdrs:
            return 200, _ack(False, "022", "a CDR for this SessionID was already received", body=body)
        self.cdrs[session.session_id] = CdrRecord(
            session.session_id, owner, session.provider_id, body, self.now()
        )
        return 200, _ack(True, body=body)

    def _op_charging_notification(
        self, owner: str, body: dict[str, Any], query: Mapping[str, str]
    ) -> tuple[int, Any]:
        operator = str(body.get("OperatorID") or "")
        if operator and not evse_belongs_to(body["EvseID"], operator):
            return 200, _ack(
                False, "018", f"EvseID {body['EvseID']} is not of operator {operator}", body=body
            )
        if self._session(body["SessionID"]) is None:
            return 200, _ack(False, "400", "unknown SessionID", body=body)
        self.notifications.append(body)
        return 200, _ack(True, body=body)

    def _op_push_pricing_product_data(
        self, owner: str, body: dict[str, Any], query: Mapping[str, str]
    ) -> tuple[int, Any]:
        data = body["PricingProductData"]
        block = f"{owner}|{key_of(data['ProviderID'])}"
        records = data["PricingProductDataRecords"]
        labels = [str(record["ProductID"]) for record in records]
        repeated = duplicates(labels)
        if repeated:
            return 200, _ack(False, "022", f"ProductIDs repeated in the request: {', '.join(repeated)}")
        items = [(f"{block}|{label}", label, record) for label, record in zip(labels, records, strict=True)]
        try:
            self.pricing_products.apply(body["ActionType"], block, items, self.now())
        except PushConflict as conflict:
            return 200, _ack(False, conflict.code, conflict.info)
        header = {key: value for key, value in data.items() if key != "PricingProductDataRecords"}
        self.pricing_headers[block] = (owner, data["ProviderID"], header, self.now())
        return 200, _ack(True)

    def _op_push_evse_pricing(
        self, owner: str, body: dict[str, Any], query: Mapping[str, str]
    ) -> tuple[int, Any]:
        pricing = body["EVSEPricing"]
        labels = [f"{item['EvseID']}|{item['ProviderID']}" for item in pricing]
        foreign = [item["EvseID"] for item in pricing if not evse_belongs_to(item["EvseID"], owner)]
        if foreign:
            return 200, _ack(False, "018", f"EvseIDs not of operator {owner}: {', '.join(foreign)}")
        items = [
            (f"{evse_id_key(item['EvseID'])}|{key_of(item['ProviderID'])}", label, item)
            for label, item in zip(labels, pricing, strict=True)
        ]
        try:
            self.evse_pricing.apply(body["ActionType"], owner, items, self.now())
        except PushConflict as conflict:
            return 200, _ack(False, conflict.code, conflict.info)
        return 200, _ack(True)

    # -----------------------------------------------------------------------------------------
    # EMP → Hubject

    def _op_pull_evse_data(
        self, owner: str, body: dict[str, Any], query: Mapping[str, str]
    ) -> tuple[int, Any]:
        page, size = _paging(query)
        if body.get("LastCall") and any(body.get(k) for k in ("SearchCenter", "CountryCodes", "OperatorIds")):
            problem = FieldProblem(
                "lastCall", "cannot be combined with SearchCenter, CountryCodes or OperatorIds"
            )
            raise HubjectReply(400, fault_body([problem]))
        selection = self._select_evse(body)
        fmt = body["GeoCoordinatesResponseFormat"]
        chunk = selection[page * size : (page + 1) * size]
        content = [self._pull_record(entry, fmt, delta) for entry, delta in chunk]
        return 200, spring_page(content, len(selection), page, size)

    def _select_evse(self, body: dict[str, Any]) -> list[tuple[Entry, str | None]]:
        """The records a PullEvseData body selects, in a stable order (cached per data version)."""
        signature = (self.evse_data.version, orjson.dumps(body, option=orjson.OPT_SORT_KEYS))
        if self._selection is not None and self._selection[0] == signature:
            return self._selection[1]
        last_call = parse_timestamp(body["LastCall"]) if body.get("LastCall") else None
        operators = {operator_id_key(op) for op in body.get("OperatorIds") or body.get("OperatorIDs") or []}
        countries = {country.upper() for country in body.get("CountryCodes") or []}
        center = body.get("SearchCenter")
        origin = lat_lon(center["GeoCoordinates"]) if center else None
        exact = {
            key: body[key]
            for key in ("RenewableEnergy", "IsHubjectCompatible", "IsOpen24Hours")
            if body.get(key) is not None
        }
        within = {
            key: set(body[key])
            for key in ("Accessibility", "CalibrationLawDataAvailability")
            if body.get(key)
        }
        modes = set(body.get("AuthenticationModes") or [])
        selected: list[tuple[Entry, str | None]] = []
        for entry in self.evse_data.entries.values():
            delta = entry.delta_since(last_call) if last_call is not None else None
            if (delta is None and last_call is not None) or (last_call is None and not entry.live):
                continue
            record = entry.value
            if operators and operator_id_key(entry.owner) not in operators:
                continue
            if countries and str(record.get("Address", {}).get("Country", "")).upper() not in countries:
                continue
            if any(record.get(key) != value for key, value in exact.items()):
                continue
            if any(record.get(key) not in values for key, values in within.items()):
                continue
            if modes and not modes.intersection(record.get("AuthenticationModes") or []):
                continue
            if origin is not None and center is not None:
                where = lat_lon(record["GeoCoordinates"])
                if where is None or distance_km(origin, where) > float(center["Radius"]):
                    continue
            selected.append((entry, delta))
        self._selection = (signature, selected)
        return selected

    def _pull_record(self, entry: Entry, fmt: str, delta: str | None) -> dict[str, Any]:
        converted = entry.cache.get(fmt)
        if converted is None:
            converted = dict(entry.value)
            for key in ("GeoCoordinates", "GeoChargingPointEntrance"):
                if isinstance(converted.get(key), dict):
                    converted[key] = in_format(converted[key], fmt)
            entry.cache[fmt] = converted
        record = {
            **converted,
            "OperatorID": entry.owner,
            "OperatorName": self.operators.get(entry.owner, entry.owner),
            "lastUpdate": timestamp(entry.updated),
        }
        if delta is not None:
            record["deltaType"] = delta
        return record

    def _statuses(self, keep: Callable[[Entry], bool]) -> list[dict[str, Any]]:
        grouped: dict[str, list[dict[str, Any]]] = {}
        for entry in self.evse_status.live():
            if keep(entry):
                grouped.setdefault(entry.owner, []).append(entry.value)
        return [
            {
                "OperatorID": owner,
                "OperatorName": self.operators.get(owner, owner),
                "EvseStatusRecord": records,
            }
            for owner, records in grouped.items()
        ]

    def _op_pull_evse_status(
        self, owner: str, body: dict[str, Any], query: Mapping[str, str]
    ) -> tuple[int, Any]:
        wanted = body.get("EvseStatus") or body.get("EVSEStatus")
        center = body.get("SearchCenter")
        origin = lat_lon(center["GeoCoordinates"]) if center else None

        def keep(entry: Entry) -> bool:
            if wanted and entry.value["EvseStatus"] != wanted:
                return False
            if origin is None or center is None:
                return True
            data = self.evse_data.get(entry.key)
            where = lat_lon(data.value["GeoCoordinates"]) if data else None
            return where is not None and distance_km(origin, where) <= float(center["Radius"])

        return 200, {
            "EvseStatuses": {"OperatorEvseStatus": self._statuses(keep)},
            "StatusCode": status_body("000"),
        }

    def _op_pull_evse_status_by_id(
        self, owner: str, body: dict[str, Any], query: Mapping[str, str]
    ) -> tuple[int, Any]:
        records = []
        for evse_id in body["EvseID"]:
            entry = self.evse_status.get(evse_id_key(evse_id))
            records.append(
                {"EvseID": evse_id, "EvseStatus": entry.value["EvseStatus"] if entry else "EvseNotFound"}
            )
        return 200, {"EVSEStatusRecords": {"EvseStatusRecord": records}, "StatusCode": status_body("000")}

    def _op_pull_evse_status_by_operator_id(
        self, owner: str, body: dict[str, Any], query: Mapping[str, str]
    ) -> tuple[int, Any]:
        operators = {operator_id_key(op) for op in body["OperatorID"]}
        statuses = self._statuses(lambda entry: operator_id_key(entry.owner) in operators)
        return 200, {"EvseStatuses": {"OperatorEvseStatus": statuses}, "StatusCode": status_body("000")}

    def _remote_start(
        self, kind: Literal["remote", "reservation"], owner: str, body: dict[str, Any]
    ) -> tuple[int, Any]:
        """oicp-2.3.md §2.2: Hubject's pre-checks (603, 604), then a new SessionID."""
        evse_id = body["EvseID"]
        operator = self._operator(operator_id_of_evse(evse_id))
        data = self.evse_data.get(evse_id_key(evse_id))
        if operator and data is None and any(True for _ in self.evse_data.live(operator)):
            return 200, _ack(False, "603", f"EvseID {evse_id} is not in the operator's EVSE data", body=body)
        if data is not None and data.value.get("IsHubjectCompatible") is False:
            return 200, _ack(False, "604", body=body)
        session = self._new_session(kind, operator or operator_id_of_evse(evse_id), owner, evse_id)
        return 200, _ack(True, body=body, session_id=session.session_id)

    def _remote_stop(
        self, kind: Literal["remote", "reservation"], owner: str, body: dict[str, Any]
    ) -> tuple[int, Any]:
        session = self._session(body["SessionID"])
        if session is None or session.kind != kind or key_of(session.provider_id or "") != key_of(owner):
            return 200, _ack(False, "400", "unknown SessionID", body=body)
        session.stopped = True
        return 200, _ack(True, body=body)

    def _op_authorize_remote_start(
        self, owner: str, body: dict[str, Any], query: Mapping[str, str]
    ) -> tuple[int, Any]:
        return self._remote_start("remote", owner, body)

    def _op_authorize_remote_stop(
        self, owner: str, body: dict[str, Any], query: Mapping[str, str]
    ) -> tuple[int, Any]:
        return self._remote_stop("remote", owner, body)

    def _op_authorize_remote_reservation_start(
        self, owner: str, body: dict[str, Any], query: Mapping[str, str]
    ) -> tuple[int, Any]:
        return self._remote_start("reservation", owner, body)

    def _op_authorize_remote_reservation_stop(
        self, owner: str, body: dict[str, Any], query: Mapping[str, str]
    ) -> tuple[int, Any]:
        return self._remote_stop("reservation", owner, body)

    def _op_get_charge_detail_records(
        self, owner: str, body: dict[str, Any], query: Mapping[str, str]
    ) -> tuple[int, Any]:
        page, size = _paging(query)
        start, end = parse_timestamp(body["From"]), parse_timestamp(body["To"])
        sessions = {normalize_session_id(s) for s in body.get("SessionID") or []}
        operators_field = body.get("OperatorID")
        operators = {
            operator_id_key(op)
            for op in ([operators_field] if isinstance(operators_field, str) else operators_field or [])
        }
        forwarded = body.get("CDRForwarded", body.get("CDRForwarder"))
        selected = [
            record
            for record in sorted(self.cdrs.values(), key=lambda record: record.received)
            if key_of(record.provider_id or "") == key_of(owner)
            and start <= record.received <= end
            and (not sessions or record.session_id in sessions)
            and (not operators or operator_id_key(record.operator_id) in operators)
            and (forwarded is None or record.forwarded == forwarded)
        ]
        chunk = selected[page * size : (page + 1) * size]
        return 200, spring_page([record.cdr for record in chunk], len(selected), page, size)

    def _op_push_authentication_data(
        self, owner: str, body: dict[str, Any], query: Mapping[str, str]
    ) -> tuple[int, Any]:
        records = body["ProviderAuthenticationData"]["AuthenticationDataRecord"]
        items = []
        for record in records:
            found = _identification(record.get("Identification"))
            if found is None:
                return 200, _ack(False, "022", "an AuthenticationDataRecord has no identification")
            member, key = found
            evco = (record["Identification"][member] or {}).get("EvcoID")
            if evco and key_of(evco)[:5] != provider_id_key(owner):
                return 200, _ack(False, "019", f"EvcoID {evco} is not of provider {owner}")
            items.append((key, key, record))
        try:
            self.authentication_data.apply(body["ActionType"], owner, items, self.now())
        except PushConflict as conflict:
            return 200, _ack(False, conflict.code, conflict.info)
        return 200, _ack(True)

    def _op_pull_pricing_product_data(
        self, owner: str, body: dict[str, Any], query: Mapping[str, str]
    ) -> tuple[int, Any]:
        last_call = parse_timestamp(body["LastCall"]) if body.get("LastCall") else None
        operators = {operator_id_key(op) for op in body.get("OperatorIDs") or body.get("OperatorIds") or []}
        blocks = []
        for block, (operator, provider, header, changed) in self.pricing_headers.items():
            if operator_id_key(operator) not in operators or key_of(provider) not in ("", key_of(owner)):
                continue
            entries = [entry for entry in self.pricing_products.entries.values() if entry.owner == block]
            if (
                last_call is not None
                and changed <= last_call
                and all(e.updated <= last_call for e in entries)
            ):
                continue
            records = [entry.value for entry in entries if entry.live]
            blocks.append({**header, "PricingProductDataRecords": records})
        return 200, {"PricingProductData": blocks, "StatusCode": status_body("000")}

    def _op_pull_evse_pricing(
        self, owner: str, body: dict[str, Any], query: Mapping[str, str]
    ) -> tuple[int, Any]:
        last_call = parse_timestamp(body["LastCall"]) if body.get("LastCall") else None
        operators = {operator_id_key(op) for op in body.get("OperatorIDs") or body.get("OperatorIds") or []}
        grouped: dict[str, list[dict[str, Any]]] = {}
        for entry in self.evse_pricing.live():
            if operator_id_key(entry.owner) not in operators:
                continue
            if key_of(entry.value["ProviderID"]) not in ("", key_of(owner)):
                continue
            if last_call is not None and entry.updated <= last_call:
                continue
            grouped.setdefault(entry.owner, []).append(entry.value)
        pricing = [
            {"OperatorID": op, "OperatorName": self.operators.get(op, op), "EVSEPricing": items}
            for op, items in grouped.items()
        ]
        return 200, {"EVSEPricing": pricing, "StatusCode": status_body("000")}


def _paging(query: Mapping[str, str]) -> tuple[int, int]:
    """``page`` (0-based) and ``size`` (default 20, clamped to 2000 as Spring's max page size does)."""
    try:
        page = int(query.get("page", "0"))
        size = int(query.get("size", str(PAGE_SIZE_DEFAULT)))
    except ValueError:
        raise HubjectReply(
            400, fault_body([FieldProblem("page", "page and size must be integers")])
        ) from None
    if page < 0 or size < 1:
        raise HubjectReply(400, fault_body([FieldProblem("page", "page must be ≥ 0 and size ≥ 1")]))
    return page, min(size, PAGE_SIZE_MAX)


__all__ = [
    "AuthorizationRule",
    "CdrRecord",
    "HubjectBackend",
    "HubjectReply",
    "SimSession",
    "key_of",
    "status_body",
]
