"""mappings/rules.py and bridge/mapping_config.py: sections, overrides, precedence, errors with key paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bridge.errors import ConfigError, MappingError
from bridge.mapping_config import REPO_MAPPINGS, default_mappings_path, load_mappings, parse_mappings
from mappings.rules import SECTIONS, MappingRules, Match, RuleSet, deep_merge, load_rules


def test_mapping_rules_has_every_family_section() -> None:
    assert SECTIONS == ("locations", "status", "tokens", "sessions", "cdrs", "tariffs", "commands")
    rules = MappingRules()
    for section in SECTIONS:
        model = getattr(rules, section)
        for name, field in type(model).model_fields.items():
            assert field.description, f"{section}.{name} has no description"


def test_empty_or_missing_data_gives_the_defaults() -> None:
    assert load_rules(None).defaults == MappingRules()
    assert load_rules({}).resolve() == MappingRules()
    assert load_rules({"locations": None, "overrides": None}).resolve() == MappingRules()


def test_sections_are_partial_and_tables_merge_row_by_row() -> None:
    rules = load_rules(
        {"locations": {"names_lang": "de", "plugs": {"GBT_DC": "CCS Combo 2 Plug (Cable Attached)"}}}
    )
    locations = rules.defaults.locations
    assert locations.names_lang == "de"
    assert locations.plugs["GBT_DC"] == "CCS Combo 2 Plug (Cable Attached)"
    assert locations.plugs["CHADEMO"] == "CHAdeMO"  # untouched rows stay
    assert locations.coordinates_format == "Google"


def test_deep_merge() -> None:
    assert deep_merge({"a": {"b": 1, "c": 2}, "d": [1]}, {"a": {"c": 3}, "d": [2]}) == {
        "a": {"b": 1, "c": 3},
        "d": [2],
    }


OVERRIDES: dict[str, Any] = {
    "locations": {"hotline_phone_number": "+100000"},
    "overrides": [
        {"match": {"location_id": "LOC1"}, "locations": {"hotline_phone_number": "+300000"}},
        {
            "match": {"partner": "gireve"},
            "locations": {"hotline_phone_number": "+200000", "names_lang": "fr"},
        },
        {
            "match": {"operator_id": "DE*ABC"},
            "locations": {"hotline_phone_number": "+110000", "names_lang": "de"},
        },
        {
            "match": {"country_code": "NL", "party_id": "ALF"},
            "locations": {"hotline_phone_number": "+120000"},
        },
        {"match": {"operator_id": "DE*ABC"}, "locations": {"accessibility": "Restricted access"}},
    ],
}


@pytest.mark.parametrize(
    ("scope", "hotline", "lang"),
    [
        ({}, "+100000", "en"),
        ({"operator_id": "DE*ABC"}, "+110000", "de"),
        ({"operator_id": "deabc"}, "+110000", "de"),  # compared canonically
        ({"country_code": "nl", "party_id": "alf"}, "+120000", "en"),
        ({"country_code": "NL"}, "+100000", "en"),  # every key of a match must be given
        ({"operator_id": "DE*ABC", "partner": "gireve"}, "+200000", "fr"),  # partner beats operator
        (
            {"operator_id": "DE*ABC", "partner": "gireve", "location_id": "loc1"},
            "+300000",
            "fr",
        ),  # location wins
        ({"location_id": "LOC1"}, "+300000", "en"),
    ],
)
def test_resolve_most_specific_wins(scope: dict[str, str], hotline: str, lang: str) -> None:
    rules = load_rules(OVERRIDES).resolve(**scope)
    assert rules.locations.hotline_phone_number == hotline
    assert rules.locations.names_lang == lang


def test_later_override_of_equal_specificity_adds_on_top() -> None:
    rules = load_rules(OVERRIDES).resolve(operator_id="DE*ABC")
    assert rules.locations.accessibility == "Restricted access"
    assert rules.locations.names_lang == "de"


def test_resolve_is_memoised_and_rule_sets_compare_by_content() -> None:
    ruleset = load_rules(OVERRIDES)
    assert ruleset.resolve(operator_id="DE*ABC") is ruleset.resolve(operator_id="DE*ABC")
    assert load_rules(OVERRIDES) == ruleset
    assert RuleSet.default() == load_rules({})


def test_match_specificity() -> None:
    assert Match().specificity == 0
    assert Match(country_code="DE").specificity == 1
    assert Match(partner="p", operator_id="DE*ABC").specificity == 2
    assert Match(location_id="x").specificity == 3


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"location": {}}, "location"),
        ({"locations": {"hotline": "+1"}}, "locations.hotline"),
        ({"locations": {"hotline_phone_number": "030 123"}}, "locations.hotline_phone_number"),
        ({"locations": {"plugs": {"IEC_62196_T9": "Type 2 Outlet"}}}, "locations.plugs"),
        ({"locations": {"plugs": {"IEC_62196_T2/SOCKET": "Type 9"}}}, "locations.plugs.IEC_62196_T2/SOCKET"),
        ({"locations": {"time_zone": "UTC+01:00"}}, "locations.time_zone"),
        (
            {"locations": {"time_zones_by_country": {"DE": "Europe/Berlin"}}},
            "locations.time_zones_by_country",
        ),
        ({"locations": []}, "locations"),
        ({"overrides": {}}, "overrides"),
        ({"overrides": [{"locations": {}}]}, "overrides[0].match"),
        ({"overrides": [{"match": {"operator": "DE*ABC"}, "status": {}}]}, "overrides[0].match.operator"),
        ({"overrides": [{"match": {"partner": "p"}}]}, "overrides[0]"),
        (
            {"overrides": [{"match": {}, "status": {}}, {"match": {}, "locations": {"names_lang": 7}}]},
            "overrides[1].locations.names_lang",
        ),
        ({"overrides": [{"match": {}, "tariffs": {"unknown_key": 1}}]}, "overrides[0].tariffs.unknown_key"),
    ],
)
def test_errors_name_the_key_path(data: dict[str, Any], path: str) -> None:
    with pytest.raises(MappingError) as raised:
        load_rules(data)
    assert raised.value.path == path


def test_top_level_must_be_a_mapping() -> None:
    with pytest.raises(MappingError, match="must be a mapping"):
        load_rules(["locations"])  # type: ignore[arg-type]


def test_yaml_true_is_read_as_the_string_dynamic_info_available() -> None:
    rules = load_rules(yaml.safe_load("locations:\n  dynamic_info_available: true\n"))
    assert rules.defaults.locations.dynamic_info_available == "true"


# ---------------------------------------------------------------------------------------------
# bridge/mapping_config.py


def test_load_mappings_reads_the_repository_file() -> None:
    assert default_mappings_path() == REPO_MAPPINGS
    assert load_mappings() == load_mappings(REPO_MAPPINGS) == RuleSet.default()


def test_config_error_names_file_and_key_path(tmp_path: Path) -> None:
    path = tmp_path / "mappings.yaml"
    path.write_text("overrides:\n  - match: {operator_id: DE*ABC}\n    locations: {accessibility: Open}\n")
    with pytest.raises(ConfigError) as raised:
        load_mappings(path)
    assert raised.value.file == str(path)
    assert raised.value.key_path == "overrides[0].locations.accessibility"
    assert str(raised.value).startswith(f"{path}: overrides[0].locations.accessibility: ")


def test_config_error_for_invalid_yaml_names_the_line() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_mappings("locations:\n  names_lang: [de\n", "m.yaml")
    assert raised.value.file == "m.yaml" and raised.value.key_path.startswith("line ")


def test_config_error_for_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_mappings(tmp_path / "absent.yaml")
