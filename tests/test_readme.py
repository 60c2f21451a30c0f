"""The README's two set-up commands are real, and CI runs exactly the README's test command."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def _setup_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    head = readme.split("\n## ", 1)[0]
    return re.findall(r"```(?:bash|sh)\n(.*?)\n```", head, flags=re.S)


def test_readme_starts_with_exactly_two_setup_commands() -> None:
    commands = _setup_commands()
    assert len(commands) == 2
    assert all("\n" not in c for c in commands), "each set-up command is one line"
    assert "serve --config config/bridge.yaml" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci/run").read_text()
    block = ci.split("# --- the README's test command", 1)[1].split("\n", 1)[1].split("# --- end ---", 1)[0]
    ci_command = [line for line in block.splitlines() if line and not line.startswith("#")]
    readme_test = _setup_commands()[1]
    assert ci_command and ci_command[0].startswith(readme_test)
