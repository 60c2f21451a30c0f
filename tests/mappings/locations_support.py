"""Shared helpers of the location mapping tests (tests/mappings/test_locations*.py).

A small valid OCPI 2.2.1 Location (:func:`location`, with :func:`evse` / :func:`connector` parts to
vary), its one OICP record (:func:`record`), and the two translations with output checked against
the official schemas (:func:`out`, :func:`back`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.models.common import to_jsonable as ocpi_json
from bridge.oicp.models.common import to_jsonable as oicp_json
from bridge.oicp.models.evse_data import EvseDataRecord, PullEvseDataRecord
from mappings.locations import evse_records_to_locations, location_to_evse_records
from mappings.result import Loss
from mappings.rules import load_rules
from tests.schema_ocpi import validate_ocpi_221
from tests.schema_oicp import openapi_spelling, validate_oicp

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
HOTLINE = {"locations": {"hotline_phone_number": "+3212345678"}}
RULES = load_rules(HOTLINE).resolve()


def valid_oicp(records: list[EvseDataRecord]) -> list[dict[str, Any]]:
    """Each record as wire JSON, checked against the official CPO schema (and as a PushEvseData)."""
    bodies = [oicp_json(record) for record in records]
    for body in bodies:
        validate_oicp(openapi_spelling(body, "EvseDataRecord", "cpo"), "EvseDataRecord", "cpo")
    return bodies


def ocpi_location(**changes: Any) -> v221.Location:
    data: dict[str, Any] = {
        "country_code": "DE",
        "party_id": "ABC",
        "id": "LOC1",
        "publish": True,
        "name": "Hof",
        "address": "Hauptstraße 12a",
        "city": "Berlin",
        "postal_code": "10115",
        "country": "DEU",
        "coordinates": {"latitude": "52.520008", "longitude": "13.404954"},
        "time_zone": "Europe/Berlin",
        "last_updated": "2024-01-01T00:00:00Z",
        "evses": [
            {
                "uid": "E1",
                "evse_id": "DE*ABC*E1",
                "status": "AVAILABLE",
                "last_updated": "2024-01-01T00:00:00Z",
                "connectors": [
                    {
                        "id": "1",
                        "standard": "IEC_62196_T2",
                        "format": "SOCKET",
                        "power_type": "AC_3_PHASE",
                        "max_voltage": 230,
                        "max_amperage": 32,
                        "max_electric_power": 22000,
                        "last_updated": "2024-01-01T00:00:00Z",
                    }
                ],
            }
        ],
    }
    data.update(changes)
    return v221.Location.model_validate(data)


def ocpi_evse(**changes: Any) -> dict[str, Any]:
    return {**ocpi_location().model_dump(mode="json", exclude_none=True)["evses"][0], **changes}


def ocpi_connector(**changes: Any) -> dict[str, Any]:
    return {**ocpi_evse()["connectors"][0], **changes}


def to_oicp(
    location: v221.Location, overrides: dict[str, Any] | None = None
) -> tuple[list[dict[str, Any]], list[Loss]]:
    data = {"locations": {**HOTLINE["locations"], **(overrides or {})}}
    result = location_to_evse_records(
        location, load_rules(data).resolve(), operator_id="DE*ABC", operator_name="Op", now=NOW
    )
    return valid_oicp(result.value), result.losses


def oicp_record(**changes: Any) -> dict[str, Any]:
    [body], _ = to_oicp(ocpi_location())
    return {**body, **changes}


def to_ocpi(
    records: list[dict[str, Any]], overrides: dict[str, Any] | None = None, **kwargs: Any
) -> tuple[list[dict[str, Any]], list[Loss]]:
    rules = load_rules({"locations": overrides or {}}).resolve()
    models = [
        (PullEvseDataRecord if "OperatorID" in r else EvseDataRecord).model_validate(r) for r in records
    ]
    result = evse_records_to_locations(models, rules, now=NOW, **kwargs)
    bodies = [ocpi_json(location) for location in result.value]
    for body in bodies:
        validate_ocpi_221(body, "Location")
    return bodies, result.losses
