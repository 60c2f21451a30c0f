"""mappings/locations.py: OCPI Location ⇄ OICP EvseDataRecord on the official examples, the behaviour
of each rule, and the round trip OCPI → OICP → OCPI (hypothesis) against ROUND_TRIP_FIELDS."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.errors import MappingError
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from bridge.ocpi.models.common import to_jsonable as ocpi_json
from bridge.oicp.models.common import to_jsonable as oicp_json
from bridge.oicp.models.evse_data import EvseDataRecord, PullEvseDataRecord
from mappings import ids
from mappings.locations import ROUND_TRIP_FIELDS, evse_records_to_locations, location_to_evse_records, preview
from mappings.result import Loss, LossKind
from mappings.rules import MappingRules, load_rules
from mappings.status import StatusAction, status_to_oicp
from tests.mappings.locations_support import (
    HOTLINE,
    NOW,
    RULES,
    ocpi_connector,
    ocpi_evse,
    ocpi_location,
    oicp_record,
    to_ocpi,
    to_oicp,
    valid_oicp,
)
from tests.schema_ocpi import validate_ocpi_221
from tests.schema_oicp import all_examples, openapi_spelling, validate_oicp

EXAMPLES_221 = [
    "location_example.json",
    "location_example_parking_garage_opening_hours.json",
    "location_example_uc2_destination_charger.json",
    "location_example_uc3_destination_charger_not_published.json",
    "location_example_uc4_limited_visibility.json",
    "location_example_uc5_home_charge_point.json",
]
UNPUBLISHED = EXAMPLES_221[3:]


def _load(shared: Path, name: str) -> v221.Location:
    return v221.Location.model_validate_json((shared / "specs/ocpi-2.2.1/examples" / name).read_bytes())


def _operator(location: v221.Location) -> str:
    return f"{location.country_code}*{location.party_id}"


# ---------------------------------------------------------------------------------------------
# Official examples


@pytest.mark.parametrize("name", EXAMPLES_221)
def test_every_official_2_2_1_location_translates_to_valid_oicp(shared_dir: Path, name: str) -> None:
    location = _load(shared_dir, name)
    rules = load_rules(
        {"locations": {**HOTLINE["locations"], "unpublished_locations": "translate"}}
    ).resolve()
    result = location_to_evse_records(
        location, rules, operator_id=_operator(location), operator_name="Op", now=NOW
    )
    bodies = valid_oicp(result.value)
    assert [body["EvseID"] for body in bodies] == [
        ids.normalize_evse_id(e.evse_id or "") for e in location.evses or ()
    ]
    push = {
        "ActionType": "fullLoad",
        "OperatorEvseData": {
            "OperatorID": _operator(location),
            "OperatorName": "Op",
            "EvseDataRecord": [openapi_spelling(body, "EvseDataRecord", "cpo") for body in bodies],
        },
    }
    validate_oicp(push, "eRoamingPushEvseData", "cpo")
    assert all(body["ChargingStationID"] == location.id for body in bodies)


@pytest.mark.parametrize("name", UNPUBLISHED)
def test_unpublished_examples_are_not_sent_by_default(shared_dir: Path, name: str) -> None:
    location = _load(shared_dir, name)
    result = location_to_evse_records(location, RULES, operator_id=_operator(location), operator_name="Op")
    assert result.value == []
    assert result.losses[0] == Loss("publish", LossKind.LOST, result.losses[0].detail)


def test_official_2_1_1_example_goes_up_first(shared_dir: Path) -> None:
    raw = (shared_dir / "specs/ocpi-2.1.1/examples/mod_locations__example.json").read_bytes()
    location = v211.Location.model_validate_json(raw)
    result = location_to_evse_records(
        location, RULES, operator_id="BE*BEC", operator_name="BeCharged", now=NOW
    )
    bodies = valid_oicp(result.value)
    assert [body["EvseID"] for body in bodies] == ["BE*BEC*E041503001", "BE*BEC*E041503002"]
    paths = {loss.path for loss in result.losses}
    assert {"country_code", "party_id", "evses[0].evse_id"} <= paths  # raised by ocpi_versions; '-' → '*'
    assert bodies[0]["Address"]["TimeZone"] == "UTC+02:00"  # Europe/Brussels on 2024-05-01


def _oicp_records() -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Every EVSE data record in the OICP spec examples, with its envelope (OperatorID/OperatorName)."""
    for example in all_examples():
        stack: list[tuple[Any, dict[str, Any]]] = [(example.value, {})]
        while stack:
            node, envelope = stack.pop()
            if isinstance(node, dict):
                if "EvseID" in node and "Plugs" in node:
                    yield example.key, node, envelope
                    continue
                here = {k: node[k] for k in ("OperatorID", "OperatorName") if k in node} or envelope
                stack += [(value, here) for value in node.values()]
            elif isinstance(node, list):
                stack += [(value, envelope) for value in node]


OICP_RECORDS = list(_oicp_records())


def test_the_oicp_examples_were_found() -> None:
    assert len(OICP_RECORDS) >= 3


@pytest.mark.parametrize(("key", "record", "envelope"), OICP_RECORDS, ids=[r[0] for r in OICP_RECORDS])
def test_every_oicp_example_record_translates_to_valid_ocpi(
    key: str, record: dict[str, Any], envelope: dict[str, Any]
) -> None:
    pulled = "OperatorId" in record or "OperatorID" in record
    model = (PullEvseDataRecord if pulled else EvseDataRecord).model_validate(record)
    result = evse_records_to_locations(
        [model],
        RULES,
        operator_id=envelope.get("OperatorID"),
        operator_name=envelope.get("OperatorName"),
        statuses={record["EvseID"]: "Available"},
        now=NOW,
    )
    assert len(result.value) == 1, result.losses
    body = ocpi_json(result.value[0])
    validate_ocpi_221(body, "Location")
    assert v221.Location.model_validate(body) == result.value[0]
    evse = body["evses"][0]
    assert evse["evse_id"] == record["EvseID"] and evse["status"] == "AVAILABLE"
    assert (body["country_code"], body["party_id"]) == ("DE", "ABC")
    assert body["time_zone"] == "Europe/Berlin"
    assert evse["connectors"][0]["standard"] == "IEC_62196_T2" and evse["connectors"][0]["format"] == "SOCKET"
    assert evse["connectors"][0]["max_voltage"] == 277  # 480 V given for AC_3_PHASE is line-to-line
    assert body["opening_times"]["regular_hours"][0] == {
        "weekday": 1,
        "period_begin": "09:00",
        "period_end": "18:00",
    }
    dropped = {loss.path for loss in result.losses}
    assert {"EvseDataRecord.HotlinePhoneNumber", "EvseDataRecord.IsHubjectCompatible"} <= dropped


# ---------------------------------------------------------------------------------------------
# Behaviour


def test_basic_record() -> None:
    [record], losses = to_oicp(ocpi_location())
    assert record["Address"] == {
        "Country": "DEU",
        "City": "Berlin",
        "Street": "Hauptstraße",
        "PostalCode": "10115",
        "HouseNum": "12a",
        "TimeZone": "UTC+02:00",
    }
    assert record["ChargingPoolID"] == "DE*ABC*PLOC1" and record["ChargingStationID"] == "LOC1"
    assert record["Plugs"] == ["Type 2 Outlet"]
    assert record["ChargingFacilities"] == [
        {"PowerType": "AC_3_PHASE", "Voltage": 230, "Amperage": 32, "Power": 22}
    ]
    assert record["ValueAddedServices"] == ["None"] and record["PaymentOptions"] == ["Contract"]
    assert {loss.path for loss in losses} == {
        "IsOpen24Hours",
        "RenewableEnergy",
        "evses[0].uid",
        "DE*ABC*E1.AuthenticationModes",
    }


def test_without_now_no_time_zone_offset() -> None:
    result = location_to_evse_records(ocpi_location(), RULES, operator_id="DE*ABC", operator_name="Op")
    assert result.value[0].address.time_zone is None


def test_missing_hotline_is_a_mapping_error_naming_the_key() -> None:
    with pytest.raises(MappingError, match=r"locations\.hotline_phone_number"):
        location_to_evse_records(ocpi_location(), MappingRules(), operator_id="DE*ABC", operator_name="Op")


@pytest.mark.parametrize(
    ("address", "street", "number"),
    [
        ("Hauptstraße 12a", "Hauptstraße", "12a"),
        ("Rue de la Paix", "Rue de la Paix", "0"),
        ("Main St 12 b", "Main St", "12 b"),
        ("A", "A_", "0"),
        ("12 Downing Street", "Downing Street", "12"),
    ],
)
def test_address_split(address: str, street: str, number: str) -> None:
    [record], losses = to_oicp(ocpi_location(address=address))
    assert (record["Address"]["Street"], record["Address"]["HouseNum"]) == (street, number)
    assert any(loss.path == "address" for loss in losses) is (address == "12 Downing Street")


def test_a_street_longer_than_100_is_refused() -> None:
    with pytest.raises(MappingError, match="100"):
        to_oicp(ocpi_location(address="x" * 120))


def test_opening_times_grouping_and_exceptions() -> None:
    regular = [{"weekday": day, "period_begin": "08:00", "period_end": "20:00"} for day in range(1, 6)]
    regular += [{"weekday": 6, "period_begin": "10:00", "period_end": "14:00"}]
    hours = {
        "twentyfourseven": False,
        "regular_hours": regular,
        "exceptional_closings": [
            {"period_begin": "2024-12-25T00:00:00Z", "period_end": "2024-12-26T00:00:00Z"}
        ],
    }
    [record], losses = to_oicp(ocpi_location(opening_times=hours))
    assert record["IsOpen24Hours"] is False
    assert record["OpeningTimes"] == [
        {"Period": [{"begin": "08:00", "end": "20:00"}], "on": "Workdays"},
        {"Period": [{"begin": "10:00", "end": "14:00"}], "on": "Saturday"},
    ]
    assert any(loss.path == "opening_times.exceptional_closings" for loss in losses)
    [record], _ = to_oicp(ocpi_location(opening_times={"twentyfourseven": True}))
    assert record["IsOpen24Hours"] is True and "OpeningTimes" not in record


def test_power_voltage_and_amperage_limits() -> None:
    dc = ocpi_connector(
        standard="IEC_62196_T2_COMBO",
        format="CABLE",
        power_type="DC",
        max_voltage=1000,
        max_amperage=500,
        max_electric_power=350499,
    )
    ac = ocpi_connector(id="2", max_voltage=400, max_electric_power=None)
    [record], losses = to_oicp(ocpi_location(evses=[ocpi_evse(connectors=[dc, ac])]))
    assert record["ChargingFacilities"] == [
        {"PowerType": "DC", "Power": 350},
        {"PowerType": "AC_3_PHASE", "Voltage": 231, "Amperage": 32, "Power": 22},
    ]
    paths = {loss.path for loss in losses}
    assert {
        "evses[0].connectors[0].max_voltage",
        "evses[0].connectors[0].max_amperage",
        "evses[0].connectors[0].max_electric_power",
        "evses[0].connectors[1].max_voltage",
        "DE*ABC*E1.ChargingFacilities[1].Power",
    } <= paths


def test_unmappable_connector_dropped_and_empty_evse_skipped() -> None:
    gbt = ocpi_connector(standard="GBT_DC", power_type="DC")
    location = ocpi_location(
        evses=[
            ocpi_evse(connectors=[gbt, ocpi_connector(id="2")]),
            ocpi_evse(uid="E2", evse_id="DE*ABC*E2", connectors=[gbt]),
        ]
    )
    records, losses = to_oicp(location)
    assert [r["EvseID"] for r in records] == ["DE*ABC*E1"] and records[0]["Plugs"] == ["Type 2 Outlet"]
    paths = {loss.path for loss in losses}
    assert {"evses[0].connectors[0]", "evses[1]", "evses[0].connectors[1].id"} <= paths


def test_removed_and_planned_evses_are_not_emitted() -> None:
    location = ocpi_location(
        evses=[
            ocpi_evse(status="REMOVED"),
            ocpi_evse(uid="E2", evse_id="DE*ABC*E2", status="PLANNED"),
            ocpi_evse(uid="E3", evse_id="DE*ABC*E3", status="BLOCKED"),
        ]
    )
    records, losses = to_oicp(location)
    assert [r["EvseID"] for r in records] == ["DE*ABC*E3"]
    assert {"evses[0]", "evses[1]"} <= {loss.path for loss in losses}


def test_capabilities_energy_and_parking() -> None:
    evse = ocpi_evse(
        capabilities=[
            "RFID_READER",
            "REMOTE_START_STOP_CAPABLE",
            "RESERVABLE",
            "DEBIT_CARD_PAYABLE",
            "UNLOCK_CAPABLE",
        ]
    )
    mix = {
        "is_green_energy": True,
        "energy_sources": [
            {"source": "SOLAR", "percentage": 60.4},
            {"source": "GENERAL_GREEN", "percentage": 39.6},
        ],
        "environ_impact": [{"category": "CARBON_DIOXIDE", "amount": 0}],
        "supplier_name": "S",
    }
    [record], losses = to_oicp(ocpi_location(evses=[evse], energy_mix=mix, parking_type="ALONG_MOTORWAY"))
    assert record["AuthenticationModes"] == ["NFC RFID Classic", "REMOTE", "Direct Payment"]
    assert record["PaymentOptions"] == ["Contract", "Direct"] and record["ValueAddedServices"] == [
        "Reservation"
    ]
    assert record["RenewableEnergy"] is True and record["EnergySource"] == [
        {"Energy": "Solar", "Percentage": 60}
    ]
    assert record["EnvironmentalImpact"] == {"CO2Emission": 0} and "AccessibilityLocation" not in record
    paths = {loss.path for loss in losses}
    assert {
        "evses[0].capabilities[3]",
        "evses[0].capabilities[4]",
        "energy_mix.energy_sources[1]",
        "energy_mix.energy_sources[0].percentage",
        "energy_mix.supplier_name",
        "parking_type",
    } <= paths


def test_evse_without_evse_id_is_skipped() -> None:
    records, losses = to_oicp(ocpi_location(evses=[ocpi_evse(evse_id=None)]))
    assert records == []
    assert any(loss.path == "evses[0]" and "locations.missing_evse_id" in loss.detail for loss in losses)


def test_invalid_evse_id_is_skipped() -> None:
    records, losses = to_oicp(ocpi_location(evses=[ocpi_evse(evse_id="not an id")]))
    assert records == [] and any(loss.path == "evses[0]" for loss in losses)


# ---------------------------------------------------------------------------------------------
# OICP → OCPI behaviour


def test_grouping_by_pool_station_and_site() -> None:
    a = oicp_record(EvseID="DE*ABC*E1")
    b = oicp_record(EvseID="DE*ABC*E2")
    c = oicp_record(EvseID="DE*ABC*E3", ChargingPoolID="DE*ABC*POTHER", ChargingStationID="S9")
    locations, _ = to_ocpi([a, b, c])
    assert [[e["evse_id"] for e in loc["evses"]] for loc in locations] == [
        ["DE*ABC*E1", "DE*ABC*E2"],
        ["DE*ABC*E3"],
    ]
    assert [loc["id"] for loc in locations] == ["LOC1", "S9"]
    site = [{k: v for k, v in r.items() if k not in ("ChargingPoolID", "ChargingStationID")} for r in (a, b)]
    locations, _ = to_ocpi(site)
    assert len(locations) == 1 and len(locations[0]["evses"]) == 2 and "~" not in locations[0]["id"]


def test_status_map_delta_delete_and_unknown() -> None:
    locations, losses = to_ocpi(
        [oicp_record(), oicp_record(EvseID="DE*ABC*E2", deltaType="delete"), oicp_record(EvseID="DE*ABC*E3")],
        statuses={"de*abc*e1": "Occupied"},
    )
    assert [e["status"] for e in locations[0]["evses"]] == ["CHARGING", "REMOVED", "UNKNOWN"]
    assert any(
        loss.path == "EvseDataRecord.EvseStatus" and loss.kind is LossKind.DEFAULTED for loss in losses
    )


def test_missing_time_zone_skips_the_group_or_fails() -> None:
    record = oicp_record(Address={**oicp_record()["Address"], "Country": "ESP"})
    locations, losses = to_ocpi([record])
    assert locations == [] and "ESP" in losses[0].detail
    with pytest.raises(MappingError, match=r"time_zones_by_country\.ESP"):
        to_ocpi([record], {"invalid_records": "error"})


def test_plugs_and_facilities_are_paired_by_index() -> None:
    record = oicp_record(
        Plugs=["Type 2 Outlet", "AVCON Connector", "CHAdeMO"],
        ChargingFacilities=[
            {"PowerType": "AC_3_PHASE", "Power": 11},
            {"PowerType": "DC", "Power": 50, "Voltage": 500},
        ],
    )
    [location], losses = to_ocpi([record])
    connectors = location["evses"][0]["connectors"]
    assert [(c["id"], c["standard"], c["max_electric_power"]) for c in connectors] == [
        ("1", "IEC_62196_T2", 11000),
        ("3", "CHADEMO", 50000),
    ]
    assert connectors[0]["max_voltage"] == 230 and connectors[0]["max_amperage"] == 16
    assert {"[0].Plugs[1]", "[0].Plugs[2]"} <= {loss.path for loss in losses}


def test_test_stations_are_not_published() -> None:
    locations, losses = to_ocpi([oicp_record(Accessibility="Test Station")])
    assert locations == [] and losses[0].path == "[0]"


def test_preview_both_ways(shared_dir: Path) -> None:
    raw = json.loads((shared_dir / "specs/ocpi-2.2.1/examples/location_example.json").read_text())
    out = preview(raw, "ocpi-2.2.1", "oicp", RULES, now=NOW)
    assert [r.evse_id for r in out.value] == ["BE*BEC*E041503001", "BE*BEC*E041503002"]
    push = {
        "OperatorEvseData": {
            "OperatorID": "BE*BEC",
            "OperatorName": "BeCharged",
            "EvseDataRecord": [oicp_json(r) for r in out.value],
        }
    }
    back = preview(push, "oicp", "ocpi-2.1.1", RULES, now=NOW)
    assert [loc.id for loc in back.value] == ["LOC1"] and isinstance(back.value[0], v211.Location)
    down = preview(raw, "ocpi-2.2.1", "ocpi-2.1.1", RULES, now=NOW)
    assert isinstance(down.value, v211.Location)


# ---------------------------------------------------------------------------------------------
# Round trip (hypothesis)

_ID = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=1, max_size=12)
_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzäöü", min_size=2, max_size=10)
_TIME = st.sampled_from(["00:00", "06:30", "08:00", "12:15", "18:00", "23:59"])
_DEC = st.integers(-89_000_000, 89_000_000).map(lambda n: f"{Decimal(n) / 1_000_000:.6f}")
_DEC7 = st.integers(-99_999_999, 99_999_999).map(lambda n: f"{Decimal(n) / 10_000_000:.7f}")
_TEXT = st.fixed_dictionaries({"language": st.sampled_from(["en", "de"]), "text": _WORD})


@st.composite
def _locations(draw: st.DrawFn) -> dict[str, Any]:
    stamp = "2024-01-01T00:00:00Z"
    connectors = st.lists(
        st.fixed_dictionaries(
            {
                "id": st.sampled_from(["1", "2", "3"]),
                "standard": st.sampled_from(list(v221.ConnectorType)),
                "format": st.sampled_from(list(v221.ConnectorFormat)),
                "power_type": st.sampled_from(list(v221.PowerType)),
                "max_voltage": st.integers(0, 1100),
                "max_amperage": st.integers(0, 150),
                "last_updated": st.just(stamp),
            },
            optional={
                "max_electric_power": st.integers(0, 1_100_000),
                "tariff_ids": st.lists(_ID, max_size=1),
            },
        ),
        min_size=1,
        max_size=3,
    )
    point = st.fixed_dictionaries({"latitude": _DEC | _DEC7, "longitude": _DEC})
    evses = st.lists(
        st.fixed_dictionaries(
            {
                "uid": _ID,
                "status": st.sampled_from(list(v221.Status)),
                "connectors": connectors,
                "last_updated": st.just(stamp),
            },
            optional={
                "evse_id": _ID.map(lambda s: f"DE*ABC*E{s}"),
                "floor_level": st.sampled_from(["-1", "2", "G"]),
                "capabilities": st.lists(st.sampled_from(list(v221.Capability)), unique=True, max_size=4),
                "coordinates": point,
                "directions": st.lists(_TEXT, max_size=2),
                "physical_reference": _ID,
                "parking_restrictions": st.just(["EV_ONLY"]),
            },
        ),
        max_size=3,
        unique_by=lambda e: e["uid"],
    )
    regular = st.lists(
        st.builds(
            lambda d, b: {"weekday": d, "period_begin": b, "period_end": "23:59"}, st.integers(1, 7), _TIME
        ),
        min_size=1,
        max_size=5,
    )
    hours = st.one_of(
        st.just({"twentyfourseven": True}),
        regular.map(lambda r: {"twentyfourseven": False, "regular_hours": r}),
    )
    mix = st.fixed_dictionaries(
        {"is_green_energy": st.booleans()},
        optional={
            "energy_sources": st.lists(
                st.fixed_dictionaries(
                    {
                        "source": st.sampled_from(list(v221.EnergySourceCategory)),
                        "percentage": st.integers(0, 1000).map(lambda n: Decimal(n) / 10),
                    }
                ),
                max_size=3,
            ),
            "environ_impact": st.lists(
                st.fixed_dictionaries(
                    {
                        "category": st.sampled_from(list(v221.EnvironmentalImpactCategory)),
                        "amount": st.integers(0, 500),
                    }
                ),
                max_size=2,
            ),
        },
    )
    number = draw(st.sampled_from(["", " 1", " 12a", " 7-9"]))
    return draw(
        st.fixed_dictionaries(
            {
                "country_code": st.just("DE"),
                "party_id": st.just("ABC"),
                "id": _ID,
                "publish": st.booleans(),
                "address": _WORD.map(lambda w: f"{w.capitalize()}str.{number}"),
                "city": _WORD,
                "country": st.just("DEU"),
                "coordinates": point,
                "time_zone": st.sampled_from(["Europe/Berlin", "Europe/Paris"]),
                "last_updated": st.just(stamp),
                "evses": evses,
            },
            optional={
                "name": _WORD,
                "postal_code": st.sampled_from(["10115", "0"]),
                "state": _WORD,
                "parking_type": st.sampled_from(list(v221.ParkingType)),
                "directions": st.lists(_TEXT, max_size=2),
                "operator": st.fixed_dictionaries({"name": _WORD}),
                "suboperator": st.fixed_dictionaries({"name": _WORD}),
                "opening_times": hours,
                "energy_mix": mix,
                "facilities": st.just(["CAFE"]),
                "charging_when_closed": st.booleans(),
            },
        )
    )


def _covered(path: str, notes: list[Loss]) -> bool:
    """A note names ``path`` or a field containing it (or inside it)."""
    for note in notes:
        for a, b in ((note.path, path), (path, note.path)):
            if a == b or b.startswith(a + ".") or b.startswith(a + "["):
                return True
    return False


def _same(path: str, before: Any, after: Any, notes: list[Loss]) -> None:
    assert before == after or _covered(path, notes), (
        f"{path}: {before!r} came back as {after!r} without a note"
    )


def _point(value: dict[str, str] | None) -> tuple[Decimal, Decimal] | None:
    return None if value is None else (Decimal(value["latitude"]), Decimal(value["longitude"]))


def _texts(values: list[dict[str, str]] | None) -> list[tuple[str, str]]:
    return [(t["language"], t["text"]) for t in values or ()]


def _check_round_trip(source: dict[str, Any], back: list[dict[str, Any]], notes: list[Loss]) -> None:
    if not back:
        for index in range(len(source["evses"])):
            assert _covered(f"evses[{index}]", notes) or _covered("publish", notes)
        assert source["evses"] or _covered("evses", notes) or _covered("publish", notes)
        return
    [location] = back
    for name in (
        "country_code",
        "party_id",
        "id",
        "publish",
        "name",
        "address",
        "city",
        "postal_code",
        "state",
        "country",
        "parking_type",
        "time_zone",
    ):
        if name in source and not (name == "postal_code" and source[name] == "0"):
            _same(name, source[name], location.get(name), notes)
    _same("coordinates", _point(source["coordinates"]), _point(location["coordinates"]), notes)
    _same(
        "directions",
        _texts(source.get("directions")),
        _texts(location.get("directions"))[: len(source.get("directions") or ())],
        notes,
    )
    for holder in ("operator", "suboperator"):
        if holder in source:
            _same(f"{holder}.name", source[holder]["name"], (location.get(holder) or {}).get("name"), notes)
    hours = source.get("opening_times")
    if hours:
        regular = sorted(
            (h["weekday"], h["period_begin"], h["period_end"]) for h in hours.get("regular_hours") or ()
        )
        got = location["opening_times"]
        _same("opening_times.twentyfourseven", hours["twentyfourseven"], got["twentyfourseven"], notes)
        _same(
            "opening_times.regular_hours",
            sorted(set(regular)),
            sorted(
                (h["weekday"], h["period_begin"], h["period_end"]) for h in got.get("regular_hours") or ()
            ),
            notes,
        )
    if "energy_mix" in source:
        mix, got_mix = source["energy_mix"], location["energy_mix"]
        _same("energy_mix.is_green_energy", mix["is_green_energy"], got_mix["is_green_energy"], notes)
        for index, item in enumerate(mix.get("energy_sources") or ()):
            found = [
                s["percentage"] for s in got_mix.get("energy_sources") or () if s["source"] == item["source"]
            ]
            _same(f"energy_mix.energy_sources[{index}]", [item["percentage"]], found, notes)
        for index, item in enumerate(mix.get("environ_impact") or ()):
            found = [
                i["amount"] for i in got_mix.get("environ_impact") or () if i["category"] == item["category"]
            ]
            _same(f"energy_mix.environ_impact[{index}]", [item["amount"]], found, notes)
    by_id = {evse["evse_id"]: evse for evse in location["evses"]}
    for index, evse in enumerate(source["evses"]):
        path = f"evses[{index}]"
        if _covered(path, [n for n in notes if n.path == path]) or "evse_id" not in evse:
            continue
        got = by_id[ids.normalize_evse_id(evse["evse_id"])]
        for name in ("uid", "evse_id", "status", "floor_level"):
            if name in evse:
                _same(f"{path}.{name}", evse[name], got.get(name), notes)
        if "coordinates" in evse:
            _same(f"{path}.coordinates", _point(evse["coordinates"]), _point(got.get("coordinates")), notes)
        if evse.get("directions"):
            _same(f"{path}.directions", _texts(evse["directions"]), _texts(got.get("directions")), notes)
        caps, got_caps = set(evse.get("capabilities") or ()), set(got.get("capabilities") or ())
        for position, cap in enumerate(evse.get("capabilities") or ()):
            _same(f"{path}.capabilities[{position}]", True, cap in got_caps, notes)
        extra = got_caps - caps
        assert (
            not extra
            or _covered(f"{path}.capabilities", notes)
            or _covered(f"{evse['evse_id']}.AuthenticationModes", notes)
        ), f"{path}: capabilities {extra} appeared"
        emitted = 0
        for position, connector in enumerate(evse["connectors"]):
            where = f"{path}.connectors[{position}]"
            if _covered(where, [n for n in notes if n.path == where]):
                continue
            emitted += 1
            match = [c for c in got["connectors"] if c["id"] == str(emitted)]
            for name in (
                "id",
                "standard",
                "format",
                "power_type",
                "max_voltage",
                "max_amperage",
                "max_electric_power",
            ):
                if name in connector:
                    _same(f"{where}.{name}", connector[name], match[0].get(name) if match else None, notes)


def test_round_trip_fields_are_the_ones_checked() -> None:
    assert "evses[].connectors[].max_electric_power" in ROUND_TRIP_FIELDS and "time_zone" in ROUND_TRIP_FIELDS


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_locations())
def test_round_trip_keeps_fields_or_names_them(source: dict[str, Any]) -> None:
    location = v221.Location.model_validate(source)
    name = (source.get("operator") or {}).get("name", "Op")
    there = location_to_evse_records(location, RULES, operator_id="DE*ABC", operator_name=name, now=NOW)
    valid_oicp(there.value)
    statuses: dict[str, Any] = {}
    for index, item in enumerate(location.evses or ()):
        translated = status_to_oicp(item.status, RULES, path=f"evses[{index}].status")
        if item.evse_id and translated.value.action is StatusAction.PUBLISH:
            statuses[item.evse_id] = translated.value.status
            there.losses.extend(translated.losses)
    back = evse_records_to_locations(there.value, RULES, operator_name=name, statuses=statuses, now=NOW)
    bodies = [ocpi_json(loc) for loc in back.value]
    for body in bodies:
        if len(body["address"]) <= 45:  # the OpenAPI keeps the pre-errata address length
            validate_ocpi_221(body, "Location")
    original = json.loads(location.model_dump_json(exclude_none=True))
    _check_round_trip(original, bodies, there.losses + back.losses)


def test_records_of_one_location_are_exactly_what_validation_gives() -> None:
    """Records after the first are copies of it with the EVSE's values: they must equal validated ones."""
    evses = [
        ocpi_evse(),
        ocpi_evse(
            uid="E2",
            evse_id="DE*ABC*E2",
            floor_level="2",
            capabilities=["RESERVABLE"],
            directions=[{"language": "en", "text": "Level 2"}],
            images=[{"url": "https://x.example/c.png", "category": "CHARGER", "type": "png"}],
            coordinates={"latitude": "52.520100", "longitude": "13.404900"},
        ),
        ocpi_evse(
            uid="E3",
            evse_id="DE*ABC*E3",
            connectors=[ocpi_connector(power_type="DC", max_voltage=920, max_amperage=500)],
        ),
    ]
    rules = load_rules(
        {
            "locations": {
                **HOTLINE["locations"],
                "evse_overrides": {
                    "DE*ABC*E3": {"accessibility": "Test Station", "payment_options": ["No Payment"]}
                },
            }
        }
    ).resolve()
    records = location_to_evse_records(
        ocpi_location(evses=evses), rules, operator_id="DE*ABC", operator_name="Op"
    ).value
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a value of the wrong type would warn when serialized
        bodies = [oicp_json(record) for record in records]
    for record, body in zip(records, bodies, strict=True):
        assert EvseDataRecord.model_validate(body) == record
    assert [b.get("Address", {}).get("Floor") for b in bodies] == [None, "2", None]
    assert bodies[1]["ChargingStationLocationReference"] == [{"lang": "en", "value": "Level 2"}]
    assert (
        bodies[1]["ChargingStationImage"] == "https://x.example/c.png"
        and "ChargingStationImage" not in bodies[2]
    )
    assert bodies[2]["Accessibility"] == "Test Station" and bodies[2]["PaymentOptions"] == ["No Payment"]
    assert bodies[0]["Accessibility"] == "Free publicly accessible"


def test_oicp_texts_longer_than_ocpi_allows_are_cut_and_noted() -> None:
    address = {**oicp_record()["Address"], "City": "C" * 50, "Region": "R" * 50}
    record = EvseDataRecord.model_validate(oicp_record(Address=address))
    result = evse_records_to_locations([record], RULES, now=NOW)  # the OpenAPI has pre-errata lengths
    [location] = result.value
    assert (len(location.city), len(location.state or "")) == (45, 45)
    assert {"[0].Address.City", "[0].Address.Region"} <= {loss.path for loss in result.losses}


def test_preview_raises_2_1_1_with_the_owner_of_its_evse_ids(shared_dir: Path) -> None:
    raw = json.loads((shared_dir / "specs/ocpi-2.1.1/examples/mod_locations__example.json").read_text())
    up = preview(raw, "ocpi-2.1.1", "ocpi-2.2.1", RULES, now=NOW)
    assert isinstance(up.value, v221.Location)
    assert (up.value.country_code, up.value.party_id, up.value.time_zone) == ("BE", "BEC", "Europe/Brussels")
    with pytest.raises(MappingError):
        preview({**raw, "evses": []}, "ocpi-2.1.1", "oicp", RULES, now=NOW)
