"""No container engine runs here, so the Dockerfile is checked statically: every file it copies
exists, it runs as a non-root user, and the command it runs is a real CLI verb with a real config."""

from __future__ import annotations

import json
import shlex

from bridge.cli import VERBS, build_parser
from tests.conftest import ROOT


def _instructions() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def test_every_copied_file_exists() -> None:
    copies = [rest for keyword, rest in _instructions() if keyword == "COPY"]
    assert copies
    for rest in copies:
        *sources, _dest = shlex.split(rest)
        for source in sources:
            assert (ROOT / source).exists(), f"Dockerfile copies {source}, which does not exist"


def test_runs_as_non_root_and_exposes_the_port() -> None:
    instructions = _instructions()
    users = [rest for keyword, rest in instructions if keyword == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert ("EXPOSE", "8080") in instructions


def test_command_is_a_real_cli_verb_with_a_shipped_config() -> None:
    cmd = json.loads(next(rest for keyword, rest in _instructions() if keyword == "CMD"))
    assert cmd[0] == "ocpi-oicp-bridge"
    assert cmd[1] in VERBS
    args = build_parser().parse_args(cmd[1:])
    assert (ROOT / args.config).is_file()
    assert args.port == 8080
