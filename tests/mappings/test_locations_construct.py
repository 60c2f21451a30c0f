"""The location translation builds its output models without validating them (CONTRIBUTING.md:
validate once, at the edge). Each record it builds must be *exactly* what validation gives:

* equal to ``EvseDataRecord.model_validate(record.model_dump(by_alias=True))``;
* identical to a validation of its own values (``model_dump(exclude_unset=True)``): same Python type
  of every value at every depth (a ``str`` where validation gives an enum member, or an ``int``
  where it gives a Decimal, compares equal but is not the same), same ``model_fields_set``, same
  field order in ``__dict__`` (the order JSON is written in), same extras;
* the same wire bytes as the validated record (``to_json``, egress checks on), accepted by the
  official OICP schema, and parsed back from them into the same values.

Inputs: every official OCPI 2.2.1 Location example (and the EnergyMix / Hours fragments set into
one), the 2.1.1 example, every rule that changes the shape of a record, and hypothesis Locations
(the strategy of test_locations.py).
"""

from __future__ import annotations

import copy
import json
import pickle
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from pydantic import Field, PrivateAttr

from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from bridge.oicp.models.common import OicpEgressError, OicpModel, to_json
from bridge.oicp.models.evse_data import (
    Address,
    EvseDataRecord,
    GeoCoordinates,
    GeoCoordinatesResponseFormat,
    InfoText,
)
from mappings._construct import construct, layout, like
from mappings._memo import LIMIT, tables
from mappings.locations import location_to_evse_records
from mappings.rules import MappingRules, Match, Override, RuleSet, load_rules
from tests.mappings.locations_support import HOTLINE, NOW, RULES, ocpi_connector, ocpi_evse, ocpi_location
from tests.mappings.test_locations import EXAMPLES_221, _locations
from tests.schema_oicp import openapi_spelling, validate_oicp

EXAMPLES = Path("specs/ocpi-2.2.1/examples")
TRANSLATE_ALL = {**HOTLINE["locations"], "unpublished_locations": "translate"}


def _rules(**locations: Any) -> MappingRules:
    return load_rules({"locations": {**TRANSLATE_ALL, **locations}}).resolve()


def _identical(built: Any, validated: Any, where: str = "record") -> None:
    """``built`` is ``validated`` value for value, down to the Python types, fields set and order."""
    assert type(built) is type(validated), f"{where}: {type(built).__name__} != {type(validated).__name__}"
    if isinstance(built, EvseDataRecord | Address | GeoCoordinates | InfoText) or hasattr(
        built, "__pydantic_fields_set__"
    ):
        assert list(built.__dict__) == list(validated.__dict__), f"{where}: field order"
        assert built.model_fields_set == validated.model_fields_set, f"{where}: fields set"
        assert built.__pydantic_extra__ == validated.__pydantic_extra__, f"{where}: extras"
        assert built.__pydantic_private__ == validated.__pydantic_private__, f"{where}: private"
        for name, value in built.__dict__.items():
            _identical(value, validated.__dict__[name], f"{where}.{name}")
    elif isinstance(built, list):
        assert len(built) == len(validated), f"{where}: length"
        for index, (one, other) in enumerate(zip(built, validated, strict=True)):
            _identical(one, other, f"{where}[{index}]")
    else:
        assert built == validated, f"{where}: {built!r} != {validated!r}"
        if isinstance(built, Decimal):
            assert str(built) == str(validated), f"{where}: {built} != {validated} (exponent)"


def assert_as_validated(record: EvseDataRecord) -> bytes:
    """Every check of the module docstring; returns the wire bytes."""
    assert EvseDataRecord.model_validate(record.model_dump(by_alias=True)) == record
    validated = EvseDataRecord.model_validate(record.model_dump(exclude_unset=True))
    _identical(record, validated)
    body = to_json(record)
    assert body == to_json(validated)
    validate_oicp(openapi_spelling(json.loads(body), "EvseDataRecord", "cpo"), "EvseDataRecord", "cpo")
    parsed = EvseDataRecord.model_validate_json(body)
    assert parsed == record
    assert to_json(parsed) == body
    return body


def _translate(
    location: v221.Location | v211.Location, rules: MappingRules = RULES, **kwargs: Any
) -> list[EvseDataRecord]:
    """The records of ``location``, each checked, and each the record of its EVSE translated alone.

    Records after the first of a Location are copies of an earlier one with the EVSE's values set
    again: the record of an EVSE must not depend on the EVSEs translated before it.
    """
    options: dict[str, Any] = {"operator_id": "DE*ABC", "operator_name": "Op", "now": NOW, **kwargs}
    records = location_to_evse_records(location, rules, **options).value
    for record in records:
        assert_as_validated(record)
    by_id = {record.evse_id: record for record in records}
    if len(by_id) == len(location.evses or ()):  # no EVSE skipped as a repeated EvseID
        for evse in location.evses or ():
            alone = location_to_evse_records(location.model_copy(update={"evses": [evse]}), rules, **options)
            for record in alone.value:
                assert record == by_id[record.evse_id]
                _identical(by_id[record.evse_id], record)
    return records


def _example(shared: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((shared / EXAMPLES / name).read_bytes())
    return data


# ---------------------------------------------------------------------------------------------
# Official examples


@pytest.mark.parametrize("name", EXAMPLES_221)
@pytest.mark.parametrize("fmt", ["Google", "DecimalDegree"])
def test_official_2_2_1_examples(shared_dir: Path, name: str, fmt: str) -> None:
    location = v221.Location.model_validate(_example(shared_dir, name))
    records = _translate(
        location,
        _rules(coordinates_format=fmt),
        operator_id=f"{location.country_code}*{location.party_id}",
    )
    assert len(records) == len(location.evses or ())
    first = records[0].geo_coordinates
    assert (first.google is not None) == (fmt == "Google") and (first.decimal_degree is not None) == (
        fmt == "DecimalDegree"
    )


@pytest.mark.parametrize(
    ("fragment", "field"),
    [
        ("location_energymix_example_complete.json", "energy_mix"),
        ("location_energymix_example_simple.json", "energy_mix"),
        ("location_energymix_example_energy_provider.json", "energy_mix"),
        ("location_regularhours_example.json", "opening_times"),
        ("location_hours_opening_hours_with_exceptional_closing.json", None),
        ("location_hours_opening_hours_with_exceptional_opening.json", None),
        ("location_hours_247_open_exception_closing.json", None),
    ],
)
def test_official_energy_mix_and_hours_fragments(shared_dir: Path, fragment: str, field: str | None) -> None:
    """EnergySource, EnvironmentalImpact, OpeningTimes and Period built from the official fragments."""
    data = _example(shared_dir, "location_example.json")
    part = _example(shared_dir, fragment)
    data[field or "opening_times"] = part[field] if field else part
    records = _translate(v221.Location.model_validate(data))
    if field == "energy_mix":
        assert records[0].energy_source or records[0].environmental_impact or part[field]["is_green_energy"]
    elif not data["opening_times"]["twentyfourseven"]:
        assert records[0].opening_times and records[0].opening_times[0].period


def test_official_2_1_1_example(shared_dir: Path) -> None:
    raw = (shared_dir / "specs/ocpi-2.1.1/examples/mod_locations__example.json").read_bytes()
    records = _translate(v211.Location.model_validate_json(raw), operator_id="BE*BEC")
    assert [record.evse_id for record in records] == ["BE*BEC*E041503001", "BE*BEC*E041503002"]


# ---------------------------------------------------------------------------------------------
# Every shape a record can take


def test_evses_with_their_own_parts_and_overrides() -> None:
    """Floors, coordinates, directions, images, extras, renumbered connectors, per-EVSE overrides."""
    evses = [
        ocpi_evse(capabilities=["RFID_READER", "RESERVABLE"]),
        ocpi_evse(
            uid="E2",
            evse_id="de-abc-e2",
            floor_level="2",
            capabilities=["CREDIT_CARD_PAYABLE", "CHARGING_PROFILE_CAPABLE"],
            directions=[{"language": "en", "text": "Level 2"}, {"language": "nl", "text": "Niveau 2"}],
            images=[{"url": "https://x.example/c.png", "category": "CHARGER", "type": "png"}],
            coordinates={"latitude": "52.5201004", "longitude": "13.404900"},
            physical_reference="P2",
            vendor_field="kept as an extra of the EVSE",
        ),
        ocpi_evse(
            uid="E3",
            evse_id="DE*ABC*E3",
            connectors=[
                ocpi_connector(id="7", power_type="DC", max_voltage=920, max_amperage=500),
                ocpi_connector(id="8", max_electric_power=None, tariff_ids=["T1"]),
                ocpi_connector(id="9", standard="CHAOJI"),
            ],
        ),
        ocpi_evse(uid="E4", evse_id="DE*ABC*E4"),
        ocpi_evse(uid="E5", evse_id="DE*ABC*E5", floor_level="2"),
        ocpi_evse(
            uid="E6", evse_id="DE*ABC*E6", capabilities=["CREDIT_CARD_PAYABLE", "REMOTE_START_STOP_CAPABLE"]
        ),
    ]
    location = ocpi_location(
        evses=evses,
        directions=[{"language": "en", "text": "Behind the station"}],
        suboperator={"name": "Sub"},
        parking_type="PARKING_GARAGE",
        state="Berlin",
        opening_times={
            "twentyfourseven": False,
            "regular_hours": [
                {"weekday": day, "period_begin": "08:00", "period_end": "20:00"} for day in range(1, 6)
            ]
            + [{"weekday": 6, "period_begin": "10:00", "period_end": "14:00"}],
        },
    )
    rules = _rules(
        evse_overrides={
            "DE*ABC*E4": {
                "accessibility": "Test Station",
                "payment_options": ["No Payment"],
                "authentication_modes": ["REMOTE"],
                "value_added_services": ["Reservation", "RoofProvided"],
                "dynamic_info_available": True,
            }
        }
    )
    records = _translate(location, rules)
    assert [record.evse_id for record in records] == [f"DE*ABC*E{n}" for n in range(1, 7)]
    assert [record.address.floor for record in records] == [None, "2", None, None, "2", None]
    assert records[1].address is records[4].address  # one Address per floor, shared
    assert records[1].charging_station_image == "https://x.example/c.png"
    assert [len(record.charging_facilities) for record in records] == [1, 1, 2, 1, 1, 1]
    assert [record.payment_options for record in records] == [
        ["Contract"],
        ["Contract", "Direct"],
        ["Contract"],
        ["No Payment"],
        ["Contract"],
        ["Contract", "Direct"],
    ]
    assert records[3].accessibility == "Test Station" and records[3].dynamic_info_available == "true"


@pytest.mark.parametrize(
    "changes",
    [
        {"coordinates_format": "Google", "names_lang": "de"},
        {"missing_evse_id": "derive", "address_split": "number_first"},
        {"authentication_modes_default": ["Direct Payment"], "payment_options_always": []},
        {"renewable_energy_default": True, "open_24_hours_when_unknown": True},
        {"line_to_line_voltage_above": 300, "power_rounding": "up"},
    ],
)
def test_rule_variants(changes: dict[str, Any]) -> None:
    evses = [
        ocpi_evse(connectors=[ocpi_connector(max_voltage=400, max_electric_power=None)]),
        {**ocpi_evse(uid="E 2"), "evse_id": None},
    ]
    records = _translate(
        ocpi_location(evses=evses, address="12 Hauptstraße", postal_code=None), _rules(**changes)
    )
    assert records, "every variant still publishes the location"


def test_without_now_and_without_zone() -> None:
    records = _translate(ocpi_location(), now=None)
    assert records[0].address.time_zone is None and "time_zone" not in records[0].address.model_fields_set


def test_egress_checks_still_run_on_built_records() -> None:
    """Nothing is validated on the way out, so the checks at serialization are what guards the wire."""
    directions = [{"language": "e1", "text": "Not a LanguageCode"}]  # OCPI: any string(2)
    [record] = location_to_evse_records(
        ocpi_location(directions=directions), RULES, operator_id="DE*ABC", operator_name="Op"
    ).value
    with pytest.raises(OicpEgressError, match="lang 'e1' is not a LanguageCode"):
        to_json(record)
    assert to_json(record, strict=False)


# ---------------------------------------------------------------------------------------------
# The helpers themselves


def test_construct_refuses_unknown_and_missing_fields() -> None:
    with pytest.raises(TypeError, match="missing \\['value'\\]"):
        construct(InfoText, {"lang": "en"})
    with pytest.raises(TypeError, match="unknown \\['Lang'\\]"):
        construct(InfoText, {"Lang": "en", "value": "x"})  # aliases are not field names
    built = construct(InfoText, {"value": "x"})
    _identical(built, InfoText.model_validate({"value": "x"}))


class _WithFactory(OicpModel):
    tags: list[str] = Field(default_factory=list)
    marks: list[str] = []
    name: str = "n"


class _WithPrivate(OicpModel):
    _seen: int = PrivateAttr(default=0)


def test_construct_fills_defaults_as_validation_does() -> None:
    """Mutable defaults are made per instance, as validation makes them; private attributes refused."""
    one, two = construct(_WithFactory, {}), construct(_WithFactory, {"name": "x"})
    _identical(one, _WithFactory.model_validate({}))
    _identical(two, _WithFactory.model_validate({"name": "x"}))
    assert one.tags is not two.tags and one.marks is not two.marks
    with pytest.raises(TypeError, match="private"):
        layout(_WithPrivate)


def test_like_keeps_the_template_fields_set() -> None:
    [template] = _translate(ocpi_location())
    copy = like(template, {"evse_id": "DE*ABC*E9", "plugs": list(template.plugs)})
    assert copy.model_fields_set == template.model_fields_set
    assert copy.model_fields_set is not template.model_fields_set
    assert_as_validated(copy)
    assert template.evse_id == "DE*ABC*E1"


def test_geo_coordinates_are_what_from_lat_lon_gives() -> None:
    for fmt, name in (("Google", GeoCoordinatesResponseFormat.GOOGLE), ("DecimalDegree", None)):
        [record] = _translate(ocpi_location(), _rules(coordinates_format=fmt))
        expected = GeoCoordinates.from_lat_lon(
            Decimal("52.520008"),
            Decimal("13.404954"),
            name or GeoCoordinatesResponseFormat.DECIMAL_DEGREE,
        )
        _identical(record.geo_coordinates, expected)


# ---------------------------------------------------------------------------------------------
# Generated Locations


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_locations())
def test_generated_locations(source: dict[str, Any]) -> None:
    location = v221.Location.model_validate(source)
    for rules in (RULES, _rules(coordinates_format="Google")):
        records = _translate(location, rules)  # asserts each record equals its validated copy
        assert len(records) <= len(location.evses or ())


# ---------------------------------------------------------------------------------------------
# Tables derived from the rules, kept on them (mappings._memo)


def _output(location: v221.Location, rules: MappingRules, **kwargs: Any) -> tuple[list[Any], list[Any]]:
    """Records (values, fields set) and notes of one translation, for comparing translations."""
    options: dict[str, Any] = {"operator_id": "DE*ABC", "operator_name": "Op", "now": NOW, **kwargs}
    result = location_to_evse_records(location, rules, **options)
    records = [(record.model_dump(), record.model_fields_set) for record in result.value]
    return records, list(result.losses)


def _memo_location() -> v221.Location:
    """EVSEs that fill every table: statuses, repeated and distinct connectors, capabilities."""
    dc = {"standard": "IEC_62196_T2_COMBO", "format": "CABLE", "power_type": "DC", "max_voltage": 920}
    evses = [
        ocpi_evse(uid=f"E{n}", evse_id=f"DE*ABC*E{n}", capabilities=["RFID_READER", "RESERVABLE"])
        for n in range(1, 4)
    ]
    evses.append(
        ocpi_evse(uid="E4", evse_id="DE*ABC*E4", status="BLOCKED", connectors=[ocpi_connector(**dc)])
    )
    evses.append(ocpi_evse(uid="E5", evse_id="DE*ABC*E5", connectors=[ocpi_connector(standard="CHADEMO")]))
    return ocpi_location(evses=evses, parking_type="PARKING_GARAGE")


def test_memo_never_leaks_between_rule_sets() -> None:
    """Two rule sets differing in plugs, capabilities, statuses and fixed values: each call gives
    what fresh rules give, whichever set translated the Location first."""
    location = _memo_location()
    one = {
        "locations": {**TRANSLATE_ALL, "plugs": {"IEC_62196_T2/SOCKET": "Type 2 Connector (Cable Attached)"}}
    }
    two = {
        "locations": {
            **TRANSLATE_ALL,
            "plugs": {"CHADEMO": None},
            "authentication_modes_from_capabilities": {"RFID_READER": ["NFC RFID DESFire"]},
            "accessibility_locations": {"PARKING_GARAGE": "ParkingLot"},
        },
        "status": {"to_oicp": {"BLOCKED": "OutOfService"}},
    }
    fresh = {
        name: _output(location, load_rules(data).resolve()) for name, data in (("one", one), ("two", two))
    }
    assert fresh["one"] != fresh["two"]
    for order in (("one", "two"), ("two", "one")):
        rules = {"one": load_rules(one).resolve(), "two": load_rules(two).resolve()}
        for _ in range(2):  # the second round reads the tables the first one kept
            for name in order:
                assert _output(location, rules[name]) == fresh[name], name
    [first, *_] = location_to_evse_records(
        location, load_rules(one).resolve(), operator_id="DE*ABC", operator_name="Op"
    ).value
    assert first.plugs == ["Type 2 Connector (Cable Attached)"]


def test_resolved_rules_per_operator_keep_their_own_tables() -> None:
    """One RuleSet, two operators with different overrides: each resolved rules object translates
    with its own tables; Locations of one operator share one resolved object (and its tables)."""
    rule_set = load_rules(
        {
            "locations": TRANSLATE_ALL,
            "overrides": [
                {
                    "match": {"operator_id": "DE*ABC"},
                    "locations": {"plugs": {"IEC_62196_T2/SOCKET": "Type 3 Outlet"}},
                },
                {
                    "match": {"operator_id": "DE*XYZ"},
                    "locations": {"plugs": {"IEC_62196_T2/SOCKET": "Type 2 Connector (Cable Attached)"}},
                    "status": {"to_oicp": {"BLOCKED": "skip"}},
                },
            ],
        }
    )
    location = _memo_location()
    abc = rule_set.resolve(operator_id="DE*ABC", location_id="LOC1")
    xyz = rule_set.resolve(operator_id="DE*XYZ", location_id="LOC1")
    assert abc is rule_set.resolve(operator_id="DE*ABC", location_id="LOC2")  # same overrides, same object
    assert abc is not xyz and abc != xyz
    expected_abc = _output(location, load_rules(rule_set_data("DE*ABC")).resolve())
    expected_xyz = _output(location, load_rules(rule_set_data("DE*XYZ")).resolve(), operator_id="DE*XYZ")
    for _ in range(2):
        assert _output(location, xyz, operator_id="DE*XYZ") == expected_xyz
        assert _output(location, abc) == expected_abc
    assert expected_abc[0][0][0]["Plugs"] == ["Type 3 Outlet"]
    assert expected_xyz[0][0][0]["Plugs"] == ["Type 2 Connector (Cable Attached)"]
    assert len(expected_abc[0]) == 5 and len(expected_xyz[0]) == 4  # BLOCKED: skip for DE*XYZ
    # one resolved object, two operators in the call: the tables do not depend on the operator
    defaults = rule_set.resolve(operator_id="NL*OTH")
    assert _output(location, defaults, operator_id="NL*OTH") == _output(
        location, load_rules({"locations": TRANSLATE_ALL}).resolve(), operator_id="NL*OTH"
    )
    assert _output(location, defaults) == _output(
        location, load_rules({"locations": TRANSLATE_ALL}).resolve()
    )


def rule_set_data(operator: str) -> dict[str, Any]:
    """The rules of one operator of test_resolved_rules_per_operator_keep_their_own_tables, merged by hand."""
    if operator == "DE*ABC":
        return {"locations": {**TRANSLATE_ALL, "plugs": {"IEC_62196_T2/SOCKET": "Type 3 Outlet"}}}
    return {
        "locations": {**TRANSLATE_ALL, "plugs": {"IEC_62196_T2/SOCKET": "Type 2 Connector (Cable Attached)"}},
        "status": {"to_oicp": {"BLOCKED": "skip"}},
    }


def test_overrides_without_indexes_resolve_apart() -> None:
    """Resolved rules are shared per list of applicable overrides, told apart by position."""
    rule_set = load_rules({"locations": TRANSLATE_ALL})
    overrides = tuple(
        Override(match=Match(operator_id=operator), sections={"locations": {"names_lang": lang}})
        for operator, lang in (("DE*ABC", "de"), ("DE*XYZ", "nl"))
    )
    unindexed = RuleSet(defaults=rule_set.defaults, overrides=overrides)
    assert unindexed.resolve(operator_id="DE*ABC").locations.names_lang == "de"
    assert unindexed.resolve(operator_id="DE*XYZ").locations.names_lang == "nl"
    assert unindexed.resolve(operator_id="NL*OTH") is unindexed.defaults


def test_memo_is_not_part_of_the_rules() -> None:
    """Rules with tables kept equal rules without; a copy with other values starts its own tables."""
    used = _rules()
    location = _memo_location()
    _output(location, used)
    assert used == _rules() and used.locations == _rules().locations and used.status == _rules().status
    socket = {"IEC_62196_T2/SOCKET": None}
    changed = used.locations.model_copy(update={"plugs": {**used.locations.plugs, **socket}})
    copied = used.model_copy(update={"locations": changed})
    assert copied.locations.__pydantic_private__ == used.locations.__pydantic_private__  # shared by the copy
    assert _output(location, copied) == _output(location, _rules(plugs=socket)) != _output(location, used)
    assert _output(location, used) == _output(location, _rules())
    assert copy.deepcopy(used) == used and pickle.loads(pickle.dumps(used)) == used  # noqa: S301


def test_time_zone_offset_follows_now_and_zone() -> None:
    """The UTC offset kept from the last call is used only for the same zone at the same instant."""
    rules = _rules()
    winter, summer = datetime(2024, 1, 15, tzinfo=UTC), datetime(2024, 7, 15, tzinfo=UTC)
    berlin, lisbon = ocpi_location(), ocpi_location(time_zone="Europe/Lisbon")
    for _ in range(2):
        offsets = [
            location_to_evse_records(location, rules, operator_id="DE*ABC", operator_name="Op", now=now)
            .value[0]
            .address.time_zone
            for location, now in ((berlin, winter), (berlin, summer), (lisbon, summer), (lisbon, winter))
        ]
        assert offsets == ["UTC+01:00", "UTC+02:00", "UTC+01:00", "UTC+00:00"]
    late = datetime(2024, 7, 15, 2, tzinfo=timezone(timedelta(hours=2)))  # the same instant as summer
    [record] = location_to_evse_records(
        berlin, rules, operator_id="DE*ABC", operator_name="Op", now=late
    ).value
    assert record.address.time_zone == "UTC+02:00"


def test_connector_tables_stay_bounded() -> None:
    """More distinct connectors than mappings._memo.LIMIT: the table is emptied, the output unchanged."""
    evses = [
        ocpi_evse(
            uid=f"E{n}",
            evse_id=f"DE*ABC*E{n}",
            connectors=[ocpi_connector(max_electric_power=1000 + n, max_amperage=n % 150)],
        )
        for n in range(LIMIT + 10)
    ]
    location = ocpi_location(evses=evses)
    rules = _rules()
    first = _output(location, rules)
    assert len(tables(rules.locations)["out"].connectors) <= LIMIT
    assert _output(location, rules) == first == _output(location, _rules())
