"""``ocpi-oicp-bridge check-config``: summary on success, one ``error:`` line and exit code 2 otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bridge.cli import main

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "Outbound-Token-A-7f3c9"
TOKEN_A = "Inbound-Token-A-91bd2"
PASSPHRASE = "Key-Passphrase-55e1"
PG_PASSWORD = "Pg-Password-0c8d"

VALID: dict[str, Any] = {
    "listen": {"host": "0.0.0.0", "port": 8181},  # noqa: S104
    "public_url": "https://bridge.example.com/",
    "store": f"postgresql://bridge:{PG_PASSWORD}@127.0.0.1:5432/test",
    "ocpi": {
        "parties": [
            {"role": "CPO", "country_code": "DE", "party_id": "BRC", "name": "Bridge CPO"},
            {"role": "EMSP", "country_code": "DE", "party_id": "BRE", "name": "Bridge eMSP"},
        ],
        "versions": ["2.2.1", "2.1.1"],
    },
    "hubject": {
        "url": "https://service-qa.hubject.com",
        "operator_id": "DE*BRC",
        "operator_name": "Bridge GmbH",
        "provider_id": "DE-BRE",
        "tls": {"cert": "client.crt", "key": "client.key", "key_passphrase": PASSPHRASE},
    },
    "partners": [
        {
            "name": "cpo-one",
            "role": "CPO",
            "country_code": "NL",
            "party_id": "CPX",
            "versions_url": "https://cpo.example/ocpi/versions",
            "token": TOKEN,
            "version": "2.2.1",
        },
        {"name": "emsp-one", "role": "EMSP", "token_a": TOKEN_A, "token_encoding": "raw"},
    ],
    "logging": {"level": "debug", "json": True},
}
SECRETS = (TOKEN, TOKEN_A, PASSPHRASE, PG_PASSWORD)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    for name in ("mappings.yaml", "client.crt", "client.key"):
        (tmp_path / name).write_text("x\n")
    return tmp_path


def write(directory: Path, data: dict[str, Any] | str) -> Path:
    path = directory / "bridge.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def run(path: Path | str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["check-config", "--config", str(path)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_valid_config_prints_a_summary_without_secrets(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(config_dir, VALID)
    code, out, err = run(path, capsys)
    assert (code, err) == (0, "")
    assert f"configuration OK: {path.resolve()}" in out
    assert "listen:     0.0.0.0:8181" in out
    assert "public_url: https://bridge.example.com\n" in out
    assert "store:      postgresql://bridge:***@127.0.0.1:5432/test" in out
    assert "CPO DE/BRC 'Bridge CPO'" in out and "EMSP DE/BRE 'Bridge eMSP'" in out
    assert "acts as OICP CPO, OperatorID DE*BRC (Bridge GmbH)" in out
    assert "acts as OICP EMP, ProviderID DE-BRE" in out
    assert f"mutual TLS: cert {(config_dir / 'client.crt').resolve()}" in out
    assert "partners:   2" in out
    assert (
        "cpo-one (CPO, NL/CPX, OCPI 2.2.1, token encoding auto): "
        "the gateway registers at https://cpo.example/ocpi/versions with token ***"
    ) in out
    assert (
        "emsp-one (EMSP, OCPI version negotiated, token encoding raw): "
        "the partner registers at https://bridge.example.com/ocpi/versions with token_a ***"
    ) in out
    assert "logging:    DEBUG, JSON lines" in out
    for secret in SECRETS:
        assert secret not in out


def test_minimal_config_summary(config_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = {"public_url": "http://127.0.0.1:8080", "ocpi": VALID["ocpi"]}
    code, out, _ = run(write(config_dir, data), capsys)
    assert code == 0
    assert f"store:      sqlite:///{(config_dir / 'bridge.db').resolve()}" in out
    assert "hubject:    disabled" in out
    assert "partners:   none" in out
    assert "logging:    INFO\n" in out


def test_shipped_config_checks(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BRIDGE_HOST", "BRIDGE_PORT", "BRIDGE_PUBLIC_URL", "BRIDGE_STORE", "BRIDGE_LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    for name in ("URL", "OPERATOR_ID", "OPERATOR_NAME", "PROVIDER_ID", "TLS_CERT", "TLS_KEY", "TLS_CA"):
        monkeypatch.delenv(f"HUBJECT_{name}", raising=False)
    code, out, err = run(ROOT / "config" / "bridge.yaml", capsys)
    assert (code, err) == (0, "")
    assert "listen:     127.0.0.1:8080" in out
    assert f"store:      sqlite:///{ROOT / 'data' / 'bridge.db'}" in out
    assert "hubject:    disabled" in out


def assert_one_error_line(err: str, path: Path, key_path: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    prefix = f"error: {path}: {key_path}: " if key_path else f"error: {path}: "
    assert lines[0].startswith(prefix), lines[0]
    return lines[0][len(prefix) :]


def with_changes(**changes: Any) -> dict[str, Any]:
    return {**VALID, **changes}


@pytest.mark.parametrize(
    ("data", "key_path", "reason"),
    [
        ("listen: [1, 2", "", "not valid YAML at line 1"),
        ("- just\n- a list\n", "", "the top level must be a mapping"),
        (with_changes(listen={"port": "http"}), "listen.port", "integer"),
        (with_changes(listen={"prot": 80}), "listen.prot", "did you mean 'port'"),
        (with_changes(store="mysql://u:p@h/db"), "store", "unsupported scheme"),
        (
            with_changes(public_url="${PUBLIC_URL_NOT_SET_ANYWHERE}"),
            "public_url",
            "PUBLIC_URL_NOT_SET_ANYWHERE",
        ),
        (
            with_changes(hubject={**VALID["hubject"], "tls": {"cert": "nope.crt", "key": "client.key"}}),
            "hubject.tls.cert",
            "file not found",
        ),
        (
            with_changes(hubject={**VALID["hubject"], "provider_id": "DE-"}),
            "hubject.provider_id",
            "ProviderID",
        ),
        (with_changes(ocpi={"parties": []}), "ocpi.parties", "at least 1"),
        (
            with_changes(partners=[VALID["partners"][0], {"name": "b", "role": "EMSP"}]),
            "partners[1]",
            "either",
        ),
        (with_changes(partners=[{**VALID["partners"][0], "token": None}]), "partners[0].token", "required"),
    ],
)
def test_invalid_config_gives_one_line_and_exit_2(
    config_dir: Path,
    capsys: pytest.CaptureFixture[str],
    data: dict[str, Any] | str,
    key_path: str,
    reason: str,
) -> None:
    path = write(config_dir, data)
    code, out, err = run(path, capsys)
    assert code == 2
    assert out == ""
    assert reason in assert_one_error_line(err, path, key_path)
    for secret in SECRETS:
        assert secret not in err


def test_missing_file_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "absent.yaml"
    code, _, err = run(path, capsys)
    assert code == 2
    assert err == f"error: {path}: file not found\n"


def test_missing_mappings_file_exit_2(config_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(config_dir, VALID)
    (config_dir / "mappings.yaml").unlink()
    code, _, err = run(path, capsys)
    assert code == 2
    assert "file not found" in assert_one_error_line(err, path, "mappings")


@pytest.mark.parametrize(
    ("partner", "key_path"),
    [
        (
            {
                "name": "x",
                "role": "CPO",
                "token": TOKEN + " with space",
                "versions_url": "https://x.example/v",
            },
            "partners[0].token",
        ),
        ({"name": "x", "role": "CPO", "token": TOKEN, "token_a": TOKEN_A}, "partners[0]"),
        (
            {"name": "x", "role": "CPO", "token": [TOKEN], "versions_url": "https://x.example/v"},
            "partners[0].token",
        ),
        ({"name": "x", "role": "CPO", "token_a": TOKEN_A + "${"}, "partners[0].token_a"),
        ({"name": "x", "role": "CPO", "token_a": "x" * 65 + TOKEN_A}, "partners[0].token_a"),
    ],
)
def test_errors_never_contain_tokens(
    config_dir: Path, capsys: pytest.CaptureFixture[str], partner: dict[str, Any], key_path: str
) -> None:
    path = write(config_dir, with_changes(partners=[partner]))
    code, out, err = run(path, capsys)
    assert code == 2
    assert_one_error_line(err, path, key_path)
    for secret in SECRETS:
        assert secret not in err and secret not in out


def test_invalid_passphrase_context_is_not_shown(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hubject = {**VALID["hubject"], "tls": {"key_passphrase": PASSPHRASE}}
    path = write(config_dir, with_changes(hubject=hubject))
    code, _, err = run(path, capsys)
    assert code == 2
    assert_one_error_line(err, path, "hubject.tls.key_passphrase")
    assert PASSPHRASE not in err


def test_config_option_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["check-config"])
    assert exited.value.code == 2
    assert "--config" in capsys.readouterr().err
