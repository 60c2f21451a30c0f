"""mappings/docs.py: docs/mappings.md and config/mappings.yaml are generated and cannot drift."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bridge.preview import main as preview_main
from bridge.preview import write_docs
from mappings.docs import REGENERATE, all_yaml_keys, families, render_markdown, render_yaml
from mappings.rules import SECTIONS, MappingRules, load_rules
from tests.conftest import ROOT


def test_committed_docs_equal_the_generated_text() -> None:
    committed = (ROOT / "docs" / "mappings.md").read_text(encoding="utf-8")
    assert committed == render_markdown(), f"docs/mappings.md is stale: run `{REGENERATE}`"


def test_committed_yaml_equals_the_generated_text() -> None:
    committed = (ROOT / "config" / "mappings.yaml").read_text(encoding="utf-8")
    assert committed == render_yaml(), f"config/mappings.yaml is stale: run `{REGENERATE}`"


def test_generated_yaml_loads_back_to_the_defaults() -> None:
    assert load_rules(yaml.safe_load(render_yaml())).defaults == MappingRules()


def test_header_says_how_to_regenerate() -> None:
    assert REGENERATE in render_markdown().split("## How rules are changed")[0]
    assert REGENERATE in render_yaml().splitlines()[1]


def test_every_family_and_key_is_documented() -> None:
    markdown = render_markdown()
    found = families()
    assert tuple(family.section for family in found) == SECTIONS
    for family in found:
        assert f"## {family.section}" in markdown
        for key in family.keys:
            assert f"| `{key.key}` |" in markdown
            assert key.description


def test_rule_rows_name_existing_keys_and_directions() -> None:
    keys = all_yaml_keys()
    for family in families():
        for rule in family.rules:
            assert rule.direction in ("ocpi→oicp", "oicp→ocpi", "both"), rule
            assert rule.yaml_key is None or rule.yaml_key in keys, f"{family.section}: {rule.yaml_key}"


@pytest.mark.parametrize("section", ["locations", "status"])
def test_every_key_of_my_sections_is_named_by_a_rule_row(section: str) -> None:
    family = next(f for f in families() if f.section == section)
    named = {rule.yaml_key for rule in family.rules}
    assert [key.key for key in family.keys if key.key not in named] == []


def test_rows_appear_in_both_directions_for_locations() -> None:
    markdown = render_markdown()
    section = markdown.split("## locations", 1)[1].split("\n## ", 1)[0]
    assert "### OCPI → OICP" in section and "### OICP → OCPI" in section


def test_write_docs_writes_then_finds_nothing_to_change(tmp_path: Path) -> None:
    written = write_docs(root=tmp_path)
    assert sorted(path.relative_to(tmp_path).as_posix() for path in written) == [
        "config/mappings.yaml",
        "docs/mappings.md",
    ]
    assert (tmp_path / "docs" / "mappings.md").read_text(encoding="utf-8") == render_markdown()
    assert write_docs(root=tmp_path, check=True) == []
    (tmp_path / "config" / "mappings.yaml").write_text("stale\n")
    assert write_docs(root=tmp_path, check=True) == [tmp_path / "config" / "mappings.yaml"]


def test_check_of_the_repository_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert preview_main(["--write-docs", "--check"]) == 0
    assert capsys.readouterr().out == ""
