"""bridge.config: YAML → BridgeConfig, ${VAR} substitution, one ConfigError naming file and key path."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, get_args, get_origin

import pydantic
import pytest
import yaml

from bridge.config import (
    BridgeConfig,
    CpoConfig,
    CpoPartyConfig,
    DeliveryConfig,
    EmspConfig,
    EvseDataConfig,
    HubjectConfig,
    HubjectServerDeadlines,
    HubjectTimeouts,
    HubjectTls,
    ListenConfig,
    LoggingConfig,
    OcpiConfig,
    OcpiParty,
    OcpiTimeouts,
    PartnerConfig,
    RetryConfig,
    load_config,
    mask_url,
)
from bridge.config_flows import format_duration
from bridge.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent

SECRET = "Sup3r-Secret-Token-value"

MODELS = (
    BridgeConfig,
    ListenConfig,
    HubjectConfig,
    HubjectTls,
    HubjectTimeouts,
    OcpiConfig,
    OcpiParty,
    OcpiTimeouts,
    PartnerConfig,
    LoggingConfig,
    HubjectServerDeadlines,
    DeliveryConfig,
    RetryConfig,
    CpoConfig,
    EmspConfig,
    EvseDataConfig,
    CpoPartyConfig,
)

BASE: dict[str, Any] = {
    "public_url": "https://bridge.example.com",
    "ocpi": {
        "parties": [
            {"role": "CPO", "country_code": "DE", "party_id": "BRC", "name": "Bridge CPO"},
            {"role": "EMSP", "country_code": "DE", "party_id": "BRE", "name": "Bridge eMSP"},
        ]
    },
}

Write = Callable[..., Path]


@pytest.fixture
def write(tmp_path: Path) -> Write:
    """Write a config (a dict merged over BASE, or raw text) into tmp_path/conf with a mappings file."""
    directory = tmp_path / "conf"
    directory.mkdir()
    (directory / "mappings.yaml").write_text("{}\n")

    def _write(
        content: dict[str, Any] | str | None = None, *, name: str = "bridge.yaml", **overrides: Any
    ) -> Path:
        path = directory / name
        if isinstance(content, str):
            path.write_text(textwrap.dedent(content))
        else:
            data = {**BASE, **(content or {}), **overrides}
            path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    return _write


def error_of(path: Path, environ: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=environ or {})
    return caught.value


# --------------------------------------------------------------------------------------------
# Defaults and basic shape


def test_minimal_config_gets_the_documented_defaults(write: Write) -> None:
    path = write()
    config = load_config(path, environ={})
    assert config.listen.host == "127.0.0.1"
    assert config.listen.port == 8080
    assert config.public_url == "https://bridge.example.com"
    assert config.ocpi.versions == ["2.2.1", "2.1.1"]
    assert config.ocpi.page_limit == 100
    assert config.ocpi.max_body_bytes == 2 * 1024 * 1024
    assert config.ocpi.token_grace_seconds == 600
    assert (config.ocpi.timeouts.connect, config.ocpi.timeouts.read, config.ocpi.timeouts.command) == (
        5,
        30,
        30,
    )
    timeouts = config.hubject.timeouts
    assert (timeouts.authorize, timeouts.push, timeouts.cdr, timeouts.pull, timeouts.connect) == (
        30,
        60,
        60,
        120,
        10,
    )
    assert config.hubject.enabled is False
    assert not config.acts_as_cpo and not config.acts_as_emsp
    assert config.partners == []
    assert config.logging.level == "INFO"
    assert config.logging.json is False and config.logging.json_lines is False
    assert config.config_path == path.resolve()
    assert config.mappings == (path.parent / "mappings.yaml").resolve()
    assert config.store_kind == "sqlite"
    assert config.sqlite_path == (path.parent / "bridge.db").resolve()
    assert config.ocpi_versions_url == "https://bridge.example.com/ocpi/versions"


def test_sections_with_every_key_commented_out_use_defaults(write: Write) -> None:
    text = yaml.safe_dump(BASE) + "listen:\n  # port: 1\nhubject:\nlogging:\npartners:\n"
    config = load_config(write(text), environ={})
    assert config.listen.port == 8080 and config.hubject.enabled is False
    assert config.logging.level == "INFO" and config.partners == []
    text = (
        yaml.safe_dump(BASE)
        + "hubject:\n  url: https://h.example\n  provider_id: DE-ABC\n  tls:\n  timeouts:\n"
    )
    config = load_config(write(text), environ={})
    assert config.hubject.enabled and config.hubject.tls.cert is None and config.hubject.timeouts.pull == 120


def test_config_is_frozen(write: Write) -> None:
    config = load_config(write(), environ={})
    with pytest.raises(pydantic.ValidationError):
        config.listen.port = 9999  # type: ignore[misc]


def test_public_url_trailing_slash_is_dropped(write: Write) -> None:
    config = load_config(write(public_url="http://127.0.0.1:8080/bridge/"), environ={})
    assert config.public_url == "http://127.0.0.1:8080/bridge"
    assert config.ocpi_versions_url == "http://127.0.0.1:8080/bridge/ocpi/versions"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("ftp://bridge.example.com", "http:// or https://"),
        ("bridge.example.com", "http:// or https://"),
        ("https://bridge.example.com/?a=1", "query"),
        ("https://", "no host"),
    ],
)
def test_public_url_must_be_a_plain_http_url(write: Write, value: str, reason: str) -> None:
    error = error_of(write(public_url=value))
    assert error.key_path == "public_url"
    assert reason in error.reason


def test_public_url_is_required(write: Write) -> None:
    path = write("ocpi:\n  parties: [{role: CPO, country_code: DE, party_id: BRC, name: X}]\n")
    error = error_of(path)
    assert (error.key_path, error.reason) == ("public_url", "required key is missing")


# --------------------------------------------------------------------------------------------
# ${VAR} substitution


def test_substitution_takes_values_from_environ(write: Write) -> None:
    path = write(
        public_url="https://${HOST}/base",
        listen={"host": "${BIND:-0.0.0.0}", "port": "${PORT}"},
        logging={"json": "${LOG_JSON:-false}", "level": "${LEVEL:-debug}"},
    )
    config = load_config(path, environ={"HOST": "gw.example.org", "PORT": "9001", "LOG_JSON": "true"})
    assert config.public_url == "https://gw.example.org/base"
    assert config.listen.host == "0.0.0.0"  # noqa: S104
    assert config.listen.port == 9001
    assert config.logging.json is True
    assert config.logging.level == "DEBUG"


def test_default_applies_when_variable_is_empty_and_may_nest(write: Write) -> None:
    path = write(public_url="${PUBLIC:-http://127.0.0.1:${PORT:-8080}}")
    assert load_config(path, environ={"PUBLIC": ""}).public_url == "http://127.0.0.1:8080"
    assert load_config(path, environ={"PORT": "9"}).public_url == "http://127.0.0.1:9"
    assert load_config(path, environ={"PUBLIC": "https://x.example"}).public_url == "https://x.example"


def test_unused_default_is_not_expanded(write: Write) -> None:
    path = write(public_url="${PUBLIC:-${NOT_SET}}")
    assert load_config(path, environ={"PUBLIC": "https://x.example"}).public_url == "https://x.example"


def test_double_dollar_is_a_literal_dollar(write: Write) -> None:
    path = write(partners=[{"name": "p", "role": "CPO", "token_a": "abc$$def${SUFFIX}$x"}])
    config = load_config(path, environ={"SUFFIX": "-1"})
    assert config.partners[0].token_a is not None
    assert config.partners[0].token_a.get_secret_value() == "abc$def-1$x"


def test_environ_defaults_to_the_process_environment(write: Write, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGE_TEST_PORT_VALUE", "8443")
    config = load_config(write(listen={"port": "${BRIDGE_TEST_PORT_VALUE}"}))
    assert config.listen.port == 8443


def test_unset_variable_names_key_path_and_variable(write: Write) -> None:
    path = write(
        partners=[
            {"name": "a", "role": "CPO", "token_a": "tok-a"},
            {
                "name": "b",
                "role": "CPO",
                "versions_url": "https://b.example/v",
                "token": "${PARTNER_B_TOKEN}",
            },
        ]
    )
    error = error_of(path)
    assert error.file == str(path)
    assert error.key_path == "partners[1].token"
    assert "PARTNER_B_TOKEN" in error.reason
    assert str(error).startswith(
        f"{path}: partners[1].token: environment variable PARTNER_B_TOKEN is not set"
    )


@pytest.mark.parametrize("text", ["${", "${NAME", "${NAME:-default", "${1ABC}", "${A-b}", "${}"])
def test_malformed_substitution_is_an_error(write: Write, text: str) -> None:
    error = error_of(write(listen={"host": text}), {"NAME": "x", "A": "y"})
    assert error.key_path == "listen.host"
    assert "$$" in error.reason


def test_substitution_error_never_echoes_the_value(write: Write) -> None:
    error = error_of(write(partners=[{"name": "p", "role": "CPO", "token_a": SECRET + "${"}]))
    assert error.key_path == "partners[0].token_a"
    assert SECRET not in str(error)


def test_keys_are_not_substituted(write: Write) -> None:
    path = write(yaml.safe_dump(BASE) + "${KEY}: {host: x}\n")
    error = error_of(path, {"KEY": "listen"})
    assert error.key_path == "${KEY}"
    assert "unknown key" in error.reason


# --------------------------------------------------------------------------------------------
# Invalid files: one ConfigError naming the file and the key path


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    error = error_of(path)
    assert str(error) == f"{path}: file not found"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    error = error_of(tmp_path)
    assert error.file == str(tmp_path) and "directory" in error.reason


def test_not_yaml(write: Write) -> None:
    path = write("public_url: https://x.example\nlisten:\n  port: 80: 81\n")
    error = error_of(path)
    assert error.file == str(path)
    assert error.reason.startswith("not valid YAML at line 3, column")
    assert "mapping values are not allowed" in error.reason


def test_yaml_error_does_not_quote_the_line(write: Write) -> None:
    path = write(f"partners:\n  - token_a: {SECRET}: x\n")
    error = error_of(path)
    assert "not valid YAML" in error.reason
    assert SECRET not in str(error)


def test_empty_file(write: Write) -> None:
    assert error_of(write("")).reason == "the file is empty"


def test_top_level_must_be_a_mapping(write: Write) -> None:
    error = error_of(write("- a\n- b\n"))
    assert error.key_path == ""
    assert "mapping" in error.reason and "list" in error.reason


def test_not_utf8(write: Write) -> None:
    path = write()
    path.write_bytes(b"public_url: \xff\xfe\n")
    assert error_of(path).reason == "not UTF-8 text"


def test_duplicate_key(write: Write) -> None:
    path = write("public_url: https://a.example\nlisten:\n  port: 1\n  port: 2\n")
    error = error_of(path)
    assert "duplicate key 'port'" in error.reason
    assert "line 4" in error.reason


def test_unknown_key_is_named_with_a_suggestion(write: Write) -> None:
    path = write(partners=[{"name": "p", "role": "CPO", "tokn_a": "x"}])
    error = error_of(path)
    assert error.key_path == "partners[0].tokn_a"
    assert "unknown key" in error.reason and "'token_a'" in error.reason


def test_unknown_top_level_key(write: Write) -> None:
    error = error_of(write(hubjekt={"url": "https://x"}))
    assert error.key_path == "hubjekt"
    assert "did you mean 'hubject'" in error.reason


def test_unknown_key_without_close_match_lists_allowed_keys(write: Write) -> None:
    error = error_of(write(listen={"zzzzzz": 1}))
    assert error.key_path == "listen.zzzzzz"
    assert "allowed: host, port" in error.reason


def test_wrong_type(write: Write) -> None:
    error = error_of(write(listen={"port": "eighty"}))
    assert error.key_path == "listen.port"
    assert "integer" in error.reason


def test_bad_value_and_count_of_further_errors(write: Write) -> None:
    error = error_of(write(listen={"port": 70000, "host": ""}, ocpi={"parties": [], "page_limit": 0}))
    assert error.key_path == "listen.host"
    assert "(and 3 more errors)" in error.reason


def test_single_further_error_is_singular(write: Write) -> None:
    error = error_of(write(listen={"port": 70000, "host": ""}))
    assert error.reason.endswith("(and 1 more error)")


def test_section_of_wrong_type(write: Write) -> None:
    error = error_of(write(ocpi=["2.2.1"]))
    assert error.key_path == "ocpi"


# --------------------------------------------------------------------------------------------
# Store


def test_relative_sqlite_path_resolves_against_config_dir(
    write: Write, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(store="sqlite:///../data/bridge.db")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(path, environ={})
    expected = (tmp_path / "data" / "bridge.db").resolve()
    assert config.sqlite_path == expected
    assert config.store_url == f"sqlite:///{expected}"


def test_config_path_given_relative_to_cwd(
    write: Write, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(store="sqlite:///state.db")
    monkeypatch.chdir(tmp_path)
    config = load_config("conf/bridge.yaml", environ={})
    assert config.config_path == path.resolve()
    assert config.sqlite_path == (path.parent / "state.db").resolve()


def test_absolute_sqlite_path(write: Write, tmp_path: Path) -> None:
    target = tmp_path / "abs" / "x.db"
    config = load_config(write(store=f"sqlite:///{target}"), environ={})
    assert config.sqlite_path == target
    assert config.store_display == f"sqlite:///{target}"


def test_sqlite_memory(write: Write) -> None:
    config = load_config(write(store="sqlite:///:memory:"), environ={})
    assert config.store_url == "sqlite:///:memory:"
    assert config.sqlite_path is None


def test_postgresql_url_is_kept_and_password_masked(write: Write) -> None:
    url = f"postgresql://bridge:{SECRET}@db.internal:5432/bridge?sslmode=require"
    config = load_config(write(store=url), environ={})
    assert config.store_kind == "postgresql"
    assert config.store_url == url
    assert config.sqlite_path is None
    assert config.store_display == "postgresql://bridge:***@db.internal:5432/bridge?sslmode=require"
    assert SECRET not in repr(config) and SECRET not in str(config)


def test_postgres_scheme_alias_is_normalised(write: Write) -> None:
    config = load_config(write(store="postgres://u@localhost/test"), environ={})
    assert config.store_url == "postgresql://u@localhost/test"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (f"mysql://root:{SECRET}@localhost/db", "unsupported scheme 'mysql'"),
        (f"postgresql://u:{SECRET}@localhost:5432/", "no database name"),
        (f"postgresql://u:{SECRET}@/db", "no host"),
        (f"postgresql://u:{SECRET}@localhost:port/db", "not a valid PostgreSQL URL"),
        ("bridge.db", "must be a URL"),
        ("sqlite://relative.db", "sqlite:///relative/path.db"),
    ],
)
def test_invalid_store_never_shows_the_password(write: Write, url: str, reason: str) -> None:
    error = error_of(write(store=url))
    assert error.key_path == "store"
    assert reason in error.reason
    assert SECRET not in str(error)


def test_store_from_environment_with_secret(write: Write) -> None:
    path = write(store="postgresql://bridge:${PGPASS}@localhost/test")
    config = load_config(path, environ={"PGPASS": SECRET})
    assert config.store_url.endswith(f":{SECRET}@localhost/test")
    assert SECRET not in config.store_display


def test_mask_url_variants() -> None:
    assert mask_url("https://user:pw@host/x") == "https://user:***@host/x"
    assert mask_url("postgresql://h/db?password=pw&sslmode=x") == "postgresql://h/db?password=***&sslmode=x"
    assert mask_url("https://host/x") == "https://host/x"
    assert mask_url("sqlite:////abs/x.db") == "sqlite:////abs/x.db"


# --------------------------------------------------------------------------------------------
# Mappings file


def test_mappings_file_must_exist(write: Write) -> None:
    path = write()
    (path.parent / "mappings.yaml").unlink()
    error = error_of(path)
    assert error.key_path == "mappings"
    assert str((path.parent / "mappings.yaml").resolve()) in error.reason


def test_mappings_relative_to_config_dir(write: Write) -> None:
    path = write(mappings="tables/m.yaml")
    (path.parent / "tables").mkdir()
    (path.parent / "tables" / "m.yaml").write_text("{}\n")
    assert load_config(path, environ={}).mappings == (path.parent / "tables" / "m.yaml").resolve()


# --------------------------------------------------------------------------------------------
# Hubject

HUBJECT_ON = {"url": "https://service-qa.hubject.com/", "operator_id": "DE*ABC", "operator_name": "ABC GmbH"}


def test_hubject_enabled_follows_url(write: Write) -> None:
    config = load_config(write(hubject=HUBJECT_ON), environ={})
    assert config.hubject.enabled is True
    assert config.hubject.url == "https://service-qa.hubject.com"
    assert config.acts_as_cpo is True and config.acts_as_emsp is False


def test_hubject_empty_url_from_environment_means_disabled(write: Write) -> None:
    path = write(hubject={"url": "${HUBJECT_URL:-}", "operator_id": "${OP:-}", "enabled": "${EN:-}"})
    config = load_config(path, environ={})
    assert config.hubject.enabled is False and config.hubject.url is None
    assert config.hubject.operator_id is None


def test_hubject_explicitly_disabled_with_url(write: Write) -> None:
    config = load_config(write(hubject={**HUBJECT_ON, "enabled": False}), environ={})
    assert config.hubject.enabled is False
    assert not config.acts_as_cpo


def test_hubject_enabled_needs_url(write: Write) -> None:
    error = error_of(write(hubject={"enabled": True, "provider_id": "DE-ABC"}))
    assert error.key_path == "hubject.url"


def test_hubject_enabled_needs_a_role(write: Write) -> None:
    error = error_of(write(hubject={"url": "https://h.example"}))
    assert error.key_path == "hubject.enabled"
    assert "operator_id" in error.reason and "provider_id" in error.reason


def test_both_oicp_roles(write: Write) -> None:
    config = load_config(write(hubject={**HUBJECT_ON, "provider_id": "DE-XYZ"}), environ={})
    assert config.acts_as_cpo and config.acts_as_emsp


@pytest.mark.parametrize("value", ["DE*ABC", "DEABC", "de*a1c", "+49*810", "49*810"])
def test_valid_operator_ids(write: Write, value: str) -> None:
    config = load_config(write(hubject={**HUBJECT_ON, "operator_id": value}), environ={})
    assert config.hubject.operator_id == value


@pytest.mark.parametrize("value", ["DE*AB", "DE-ABC", "D*ABC", "+4949*810", "DE*ABC*E1"])
def test_invalid_operator_ids(write: Write, value: str) -> None:
    error = error_of(write(hubject={**HUBJECT_ON, "operator_id": value}))
    assert error.key_path == "hubject.operator_id"
    assert "OperatorID" in error.reason


@pytest.mark.parametrize("value", ["DE-ABC", "DE*ABC", "DEABC", "DE|ABC"])
def test_valid_provider_ids(write: Write, value: str) -> None:
    config = load_config(write(hubject={"url": "https://h.example", "provider_id": value}), environ={})
    assert config.hubject.provider_id == value and config.acts_as_emsp


@pytest.mark.parametrize("value", ["DE-AB", "DE--ABC", "+49*810", "DE-ABCD"])
def test_invalid_provider_ids(write: Write, value: str) -> None:
    error = error_of(write(hubject={"url": "https://h.example", "provider_id": value}))
    assert error.key_path == "hubject.provider_id"


def test_operator_name_required_with_operator_id(write: Write) -> None:
    error = error_of(write(hubject={"url": "https://h.example", "operator_id": "DE*ABC"}))
    assert error.key_path == "hubject.operator_name"


def test_operator_name_length(write: Write) -> None:
    error = error_of(write(hubject={**HUBJECT_ON, "operator_name": "x" * 101}))
    assert error.key_path == "hubject.operator_name"


def test_hubject_timeouts_override_and_validation(write: Write) -> None:
    config = load_config(write(hubject={"timeouts": {"pull": 300, "authorize": 12.5}}), environ={})
    assert config.hubject.timeouts.pull == 300 and config.hubject.timeouts.authorize == 12.5
    assert config.hubject.timeouts.push == 60
    error = error_of(write(hubject={"timeouts": {"cdr": 0}}))
    assert error.key_path == "hubject.timeouts.cdr"


def test_tls_files_resolve_relative_to_config_dir(write: Write) -> None:
    path = write(hubject={**HUBJECT_ON, "tls": {"cert": "tls/c.pem", "key": "tls/k.pem", "ca": "tls/ca.pem"}})
    (path.parent / "tls").mkdir()
    for name in ("c.pem", "k.pem", "ca.pem"):
        (path.parent / "tls" / name).write_text("pem\n")
    tls = load_config(path, environ={}).hubject.tls
    assert tls.cert == (path.parent / "tls" / "c.pem").resolve()
    assert tls.key == (path.parent / "tls" / "k.pem").resolve()
    assert tls.ca == (path.parent / "tls" / "ca.pem").resolve()
    assert tls.mutual


def test_tls_file_must_exist(write: Write) -> None:
    path = write(hubject={**HUBJECT_ON, "tls": {"cert": "missing.pem", "key": "mappings.yaml"}})
    error = error_of(path)
    assert error.key_path == "hubject.tls.cert"
    assert "file not found" in error.reason


def test_tls_cert_and_key_go_together(write: Write) -> None:
    error = error_of(write(hubject={**HUBJECT_ON, "tls": {"cert": "mappings.yaml"}}))
    assert error.key_path == "hubject.tls.key"
    error = error_of(write(hubject={**HUBJECT_ON, "tls": {"key": "mappings.yaml"}}))
    assert error.key_path == "hubject.tls.cert"


def test_tls_ca_alone_and_empty_values(write: Write) -> None:
    path = write(hubject={**HUBJECT_ON, "tls": {"cert": "${C:-}", "key": "${K:-}", "ca": "mappings.yaml"}})
    tls = load_config(path, environ={}).hubject.tls
    assert tls.cert is None and tls.key is None and not tls.mutual
    assert tls.ca == (path.parent / "mappings.yaml").resolve()


def test_tls_key_passphrase_is_secret(write: Write) -> None:
    tls = {"cert": "mappings.yaml", "key": "mappings.yaml", "key_passphrase": SECRET}
    config = load_config(write(hubject={**HUBJECT_ON, "tls": tls}), environ={})
    assert config.hubject.tls.key_passphrase is not None
    assert config.hubject.tls.key_passphrase.get_secret_value() == SECRET
    assert SECRET not in repr(config) and SECRET not in str(config.model_dump())
    error = error_of(write(hubject={**HUBJECT_ON, "tls": {"key_passphrase": SECRET}}))
    assert error.key_path == "hubject.tls.key_passphrase"
    assert SECRET not in str(error)


# --------------------------------------------------------------------------------------------
# OCPI


def test_parties_are_normalised(write: Write) -> None:
    parties = [
        {"role": "emsp", "country_code": "nl", "party_id": "ab1", "name": "X", "website": "https://x.nl/"}
    ]
    party = load_config(write(ocpi={"parties": parties}), environ={}).ocpi.parties[0]
    assert (party.role, party.country_code, party.party_id, party.website) == (
        "EMSP",
        "NL",
        "AB1",
        "https://x.nl",
    )


def test_hub_role_is_allowed(write: Write) -> None:
    parties = [{"role": "HUB", "country_code": "DE", "party_id": "HUB", "name": "Hub"}]
    config = load_config(write(ocpi={"parties": parties}), environ={})
    assert config.ocpi.parties_with_role("HUB")[0].party_id == "HUB"


def test_at_least_one_party(write: Write) -> None:
    error = error_of(write(ocpi={"parties": []}))
    assert error.key_path == "ocpi.parties"


def test_ocpi_section_is_required(write: Write) -> None:
    error = error_of(write("public_url: https://x.example\n"))
    assert (error.key_path, error.reason) == ("ocpi", "required key is missing")


def test_parties_must_be_unique(write: Write) -> None:
    parties = [
        {"role": "CPO", "country_code": "DE", "party_id": "ABC", "name": "A"},
        {"role": "EMSP", "country_code": "DE", "party_id": "ABC", "name": "B"},
        {"role": "CPO", "country_code": "de", "party_id": "abc", "name": "C"},
    ]
    error = error_of(write(ocpi={"parties": parties}))
    assert error.key_path == "ocpi.parties[2]"
    assert "parties[0]" in error.reason


@pytest.mark.parametrize(
    ("party", "key", "reason"),
    [
        ({"country_code": "DEU"}, "country_code", "2 letters"),
        ({"country_code": "D1"}, "country_code", "2 letters"),
        ({"party_id": "AB"}, "party_id", "3 letters or digits"),
        ({"party_id": "A-C"}, "party_id", "3 letters or digits"),
        ({"role": "NSP"}, "role", "'CPO', 'EMSP' or 'HUB'"),
        ({"name": ""}, "name", "at least 1"),
        ({"website": "not a url"}, "website", "http"),
    ],
)
def test_invalid_party(write: Write, party: dict[str, str], key: str, reason: str) -> None:
    base = {"role": "CPO", "country_code": "DE", "party_id": "ABC", "name": "A"}
    error = error_of(write(ocpi={"parties": [base, {**base, "role": "EMSP", **party}]}))
    assert error.key_path == f"ocpi.parties[1].{key}"
    assert reason in error.reason


def test_versions(write: Write) -> None:
    config = load_config(write(ocpi={**BASE["ocpi"], "versions": ["2.1.1"]}), environ={})
    assert config.ocpi.versions == ["2.1.1"]
    error = error_of(write(ocpi={**BASE["ocpi"], "versions": ["2.2.1", "2.2"]}))
    assert error.key_path == "ocpi.versions[1]"
    error = error_of(write(ocpi={**BASE["ocpi"], "versions": ["2.2.1", "2.2.1"]}))
    assert error.key_path == "ocpi.versions[1]" and "twice" in error.reason
    error = error_of(write(ocpi={**BASE["ocpi"], "versions": []}))
    assert error.key_path == "ocpi.versions"


def test_ocpi_limits(write: Write) -> None:
    ocpi = {**BASE["ocpi"], "page_limit": 50, "max_body_bytes": 4096, "token_grace_seconds": 0}
    config = load_config(write(ocpi={**ocpi, "timeouts": {"command": 45}}), environ={})
    assert (config.ocpi.page_limit, config.ocpi.max_body_bytes, config.ocpi.token_grace_seconds) == (
        50,
        4096,
        0,
    )
    assert config.ocpi.timeouts.command == 45 and config.ocpi.timeouts.read == 30
    assert error_of(write(ocpi={**BASE["ocpi"], "max_body_bytes": 10})).key_path == "ocpi.max_body_bytes"
    assert (
        error_of(write(ocpi={**BASE["ocpi"], "token_grace_seconds": -1})).key_path
        == "ocpi.token_grace_seconds"
    )
    assert error_of(write(ocpi={**BASE["ocpi"], "timeouts": {"read": -5}})).key_path == "ocpi.timeouts.read"


# --------------------------------------------------------------------------------------------
# Partners

OUTBOUND = {
    "name": "cpo-one",
    "role": "CPO",
    "versions_url": "https://cpo.example/ocpi/versions",
    "token": SECRET,
}
INBOUND = {"name": "emsp-one", "role": "EMSP", "token_a": SECRET + "-a"}


def test_both_registration_forms(write: Write) -> None:
    config = load_config(write(partners=[OUTBOUND, INBOUND]), environ={})
    outbound, inbound = config.partners
    assert outbound.registration == "outbound" and inbound.registration == "inbound"
    assert outbound.versions_url == "https://cpo.example/ocpi/versions"
    assert outbound.token is not None and outbound.token.get_secret_value() == SECRET
    assert inbound.token_a is not None and inbound.token_a.get_secret_value() == SECRET + "-a"
    assert config.partner("emsp-one") is inbound and config.partner("zzz") is None
    assert SECRET not in repr(config) and SECRET not in str(config.model_dump())


def test_partner_identity_and_pin(write: Write) -> None:
    partner = {
        **OUTBOUND,
        "country_code": "nl",
        "party_id": "tnm",
        "version": "2.1.1",
        "token_encoding": "base64",
    }
    loaded = load_config(write(partners=[partner]), environ={}).partners[0]
    assert (loaded.country_code, loaded.party_id, loaded.version) == ("NL", "TNM", "2.1.1")
    assert loaded.egress_encoding("2.1.1") == "base64"


def test_token_encoding_auto() -> None:
    partner = PartnerConfig.model_validate(INBOUND)
    assert partner.egress_encoding("2.2.1") == "base64"
    assert partner.egress_encoding("2.1.1") == "raw"
    raw = PartnerConfig.model_validate({**INBOUND, "token_encoding": "raw"})
    assert raw.egress_encoding("2.2.1") == "raw"


def test_token_encoding_value(write: Write) -> None:
    error = error_of(write(partners=[{**INBOUND, "token_encoding": "hex"}]))
    assert error.key_path == "partners[0].token_encoding"


@pytest.mark.parametrize(
    ("partner", "key"),
    [
        ({**OUTBOUND, "token_a": "other"}, "partners[1]"),
        ({"name": "x", "role": "CPO"}, "partners[1]"),
        ({"name": "x", "role": "CPO", "versions_url": "https://x.example/v"}, "partners[1].token"),
        ({"name": "x", "role": "CPO", "token": SECRET}, "partners[1].versions_url"),
        ({**INBOUND, "name": "x", "versions_url": "https://x.example/v"}, "partners[1]"),
    ],
)
def test_exactly_one_registration_form(write: Write, partner: dict[str, str], key: str) -> None:
    error = error_of(write(partners=[INBOUND, partner]))
    assert error.key_path == key
    assert SECRET not in str(error)


def test_empty_token_from_environment_counts_as_missing(write: Write) -> None:
    partner = {**OUTBOUND, "token": "${CPO_TOKEN:-}"}
    error = error_of(write(partners=[partner]))
    assert error.key_path == "partners[0].token"


@pytest.mark.parametrize("name", ["Upper", "with space", "-lead", "a" * 64, "ümlaut", ""])
def test_partner_name_must_be_a_slug(write: Write, name: str) -> None:
    error = error_of(write(partners=[{**INBOUND, "name": name}]))
    assert error.key_path == "partners[0].name"


def test_partner_names_unique(write: Write) -> None:
    error = error_of(write(partners=[INBOUND, {**OUTBOUND, "name": "emsp-one"}]))
    assert error.key_path == "partners[1].name"
    assert "partners[0]" in error.reason


def test_token_a_unique_and_never_shown(write: Write) -> None:
    error = error_of(write(partners=[INBOUND, {**INBOUND, "name": "emsp-two"}]))
    assert error.key_path == "partners[1].token_a"
    assert SECRET not in str(error)


@pytest.mark.parametrize("token", [SECRET + " x", SECRET + "é", "x" * 65, 12345, ["a"]])
def test_invalid_token_is_never_shown(write: Write, token: Any) -> None:
    error = error_of(write(partners=[{**OUTBOUND, "token": token}]))
    assert error.key_path == "partners[0].token"
    assert SECRET not in str(error) and "12345" not in str(error)


def test_version_pin_must_be_offered(write: Write) -> None:
    ocpi = {**BASE["ocpi"], "versions": ["2.2.1"]}
    error = error_of(write(ocpi=ocpi, partners=[{**INBOUND, "version": "2.1.1"}]))
    assert error.key_path == "partners[0].version"
    assert "ocpi.versions" in error.reason


def test_partner_needs_a_facing_party(write: Write) -> None:
    cpo_only = {"parties": [{"role": "CPO", "country_code": "DE", "party_id": "ABC", "name": "A"}]}
    error = error_of(write(ocpi=cpo_only, partners=[INBOUND, OUTBOUND]))
    assert error.key_path == "partners[1].role"
    assert "EMSP" in error.reason
    hub_only = {"parties": [{"role": "HUB", "country_code": "DE", "party_id": "HUB", "name": "H"}]}
    assert len(load_config(write(ocpi=hub_only, partners=[INBOUND, OUTBOUND]), environ={}).partners) == 2


def test_partner_role_values(write: Write) -> None:
    error = error_of(write(partners=[{**INBOUND, "role": "HUB"}]))
    assert error.key_path == "partners[0].role"


# --------------------------------------------------------------------------------------------
# Logging


def test_logging(write: Write) -> None:
    config = load_config(write(logging={"level": "warning", "json": True}), environ={})
    assert config.logging.level == "WARNING" and config.logging.json is True
    error = error_of(write(logging={"level": "LOUD"}))
    assert error.key_path == "logging.level"


# --------------------------------------------------------------------------------------------
# The shipped configuration


SHIPPED = ROOT / "config" / "bridge.yaml"


def test_shipped_config_validates_on_a_fresh_machine() -> None:
    config = load_config(SHIPPED, environ={})
    assert (config.listen.host, config.listen.port) == ("127.0.0.1", 8080)
    assert config.public_url == "http://127.0.0.1:8080"
    assert config.sqlite_path == ROOT / "data" / "bridge.db"
    assert config.mappings == ROOT / "config" / "mappings.yaml"
    assert {party.role for party in config.ocpi.parties} == {"CPO", "EMSP"}
    assert config.hubject.enabled is False
    assert config.partners == []


def test_shipped_config_follows_the_environment() -> None:
    environ = {
        "BRIDGE_PORT": "9090",
        "HUBJECT_URL": "https://service-qa.hubject.com",
        "HUBJECT_OPERATOR_ID": "DE*BRC",
        "HUBJECT_OPERATOR_NAME": "Bridge",
        "HUBJECT_PROVIDER_ID": "DE-BRE",
        "BRIDGE_STORE": "postgresql://postgres@127.0.0.1:5432/test",
    }
    config = load_config(SHIPPED, environ=environ)
    assert config.listen.port == 9090
    assert config.public_url == "http://127.0.0.1:9090"
    assert config.hubject.enabled and config.acts_as_cpo and config.acts_as_emsp
    assert config.store_kind == "postgresql"


def test_shipped_config_names_missing_hubject_role() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(SHIPPED, environ={"HUBJECT_URL": "https://service-qa.hubject.com"})
    assert caught.value.key_path == "hubject.enabled"


# --------------------------------------------------------------------------------------------
# Documentation covers every key


def _key_paths(model: type[pydantic.BaseModel], prefix: str = "") -> Iterator[str]:
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        yield key
        inner = field.annotation
        optional = [arg for arg in get_args(inner) if arg is not type(None)]
        if type(None) in get_args(inner) and len(optional) == 1:
            inner = optional[0]
        suffix = ""
        if get_origin(inner) is list:
            inner = get_args(inner)[0]
            suffix = "[]"
        if isinstance(inner, type) and issubclass(inner, pydantic.BaseModel):
            yield from _key_paths(inner, f"{key}{suffix}.")


def test_the_doc_walk_reaches_every_model() -> None:
    paths = set(_key_paths(BridgeConfig))
    expected = {
        "listen.port",  # ListenConfig
        "hubject.operator_id",  # HubjectConfig
        "hubject.tls.cert",  # HubjectTls
        "hubject.timeouts.pull",  # HubjectTimeouts
        "ocpi.page_limit",  # OcpiConfig
        "ocpi.parties[].party_id",  # OcpiParty
        "ocpi.timeouts.command",  # OcpiTimeouts
        "partners[].token_a",  # PartnerConfig
        "logging.json",  # LoggingConfig (the YAML key, not the attribute)
        "hubject.server_deadlines.remote",  # HubjectServerDeadlines
        "delivery.lease_seconds",  # DeliveryConfig
        "delivery.retry.max_attempts",  # RetryConfig
        "cpo.authorization_deadline",  # CpoConfig
        "emsp.fallback_tariff",  # EmspConfig
        "emsp.evse_data.status_mode",  # EvseDataConfig
        "emsp.evse_data.cpo_party.party_id",  # CpoPartyConfig (an optional section)
    }
    assert expected <= paths
    assert len(paths) == sum(len(model.model_fields) for model in MODELS)


def test_docs_cover_every_key() -> None:
    doc = (ROOT / "docs" / "configuration.md").read_text()
    missing = [path for path in _key_paths(BridgeConfig) if f"`{path}`" not in doc]
    assert missing == []


def test_docs_defaults_match_the_models() -> None:
    """Each documented default in the key tables equals the model's default."""
    doc = (ROOT / "docs" / "configuration.md").read_text()
    defaults = {
        "listen.host": ListenConfig().host,
        "listen.port": ListenConfig().port,
        "ocpi.page_limit": 100,
        "ocpi.token_grace_seconds": 600,
        "ocpi.max_body_bytes": 2097152,
        **{f"hubject.timeouts.{k}": v for k, v in HubjectTimeouts().model_dump().items()},
        **{f"ocpi.timeouts.{k}": v for k, v in OcpiTimeouts().model_dump().items()},
        "partners[].token_encoding": "auto",
        "logging.level": "INFO",
        "delivery.concurrency": DeliveryConfig().concurrency,
        "cpo.push_batch_size": CpoConfig().push_batch_size,
        "emsp.realtime_authorization": EmspConfig().realtime_authorization,
        "emsp.push_authentication_data": "false",
        **{
            f"emsp.evse_data.{k}": str(v).lower() if isinstance(v, bool) else v
            for k, v in EvseDataConfig().model_dump().items()
            if isinstance(v, int | str)
        },
    }
    durations = {
        **{f"hubject.server_deadlines.{k}": v for k, v in HubjectServerDeadlines().model_dump().items()},
        **{f"delivery.{k}": v for k, v in DeliveryConfig().model_dump().items() if isinstance(v, float)},
        **{f"delivery.retry.{k}": v for k, v in RetryConfig().model_dump().items() if isinstance(v, float)},
        **{f"cpo.{k}": v for k, v in CpoConfig().model_dump().items() if isinstance(v, float)},
        **{f"emsp.{k}": v for k, v in EmspConfig().model_dump().items() if isinstance(v, float)},
        **{
            f"emsp.evse_data.{k}": v for k, v in EvseDataConfig().model_dump().items() if isinstance(v, float)
        },
    }
    rows = {}
    for line in doc.splitlines():
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)]
        if len(cells) == 6 and cells[1].startswith("`"):
            rows[cells[1].strip("`")] = cells[3]
    for key, value in defaults.items():
        text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
        assert rows[key].startswith(f"`{text}`"), key
    assert len(durations) == 26
    for key, seconds in durations.items():
        assert rows[key].startswith(f"`{format_duration(seconds)}`"), key
