"""The flow sections of the configuration (bridge.config_flows): ``delivery``, ``cpo``, ``emsp`` and
``hubject.server_deadlines`` — validation with the key path, defaults equal to the constants the
flows had, and every key reaching the settings the running flows use (create_app in process)."""

from __future__ import annotations

import asyncio
import re
import shutil
import textwrap
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from bridge import delivery as delivery_module
from bridge.app import create_app, product_start_hooks
from bridge.config import load_config
from bridge.config_flows import (
    DELIVERY_LEASE_MARGIN,
    CpoConfig,
    DeliveryConfig,
    EmspConfig,
    HubjectServerDeadlines,
    format_duration,
    parse_duration,
)
from bridge.context import Gateway
from bridge.delivery import DeliverySettings, RetryPolicy, delivery_start_hook
from bridge.errors import ConfigError
from bridge.flows import cpo_commands, cpo_publish, emsp_charging_state, emsp_common
from bridge.flows.cpo_charging_auth import DEFAULT_DEADLINE
from bridge.flows.cpo_publish import PublishSettings, publisher_of
from bridge.flows.emsp_charging_state import EmspSettings, settings_of
from bridge.flows.emsp_common import EmspDataSettings
from bridge.flows.emsp_locations import service_of
from bridge.ocpi.models import v2_2_1 as v221
from bridge.oicp.client import OicpClient
from bridge.oicp.handlers import SERVICE_DEADLINES, SERVICE_EMP_AUTHORIZATION, OicpDeadlines
from bridge.oicp.models import AuthorizationStart, AuthorizeStart, AuthorizeStop
from bridge.simulators.hubject import HubjectSimulator
from tests.conftest import SHARED
from tests.oicp.hubject_support import OPERATOR, OPERATOR_NAME, PROVIDER, SPECS, snippet
from tests.support.gateway import make_config, running

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "config" / "bridge.yaml"
TARIFF_EXAMPLE = SHARED / "specs" / "ocpi-2.2.1" / "examples" / "tariff_8_simple_025kwh.json"

BASE: dict[str, Any] = {
    "public_url": "https://bridge.example.com",
    "ocpi": {
        "parties": [
            {"role": "CPO", "country_code": "DE", "party_id": "BRC", "name": "Bridge CPO"},
            {"role": "EMSP", "country_code": "DE", "party_id": "BRE", "name": "Bridge eMSP"},
        ]
    },
}
EMSP_PARTNER = {"name": "emsp-backend", "role": "EMSP", "token_a": "emsp-token-a-0001"}
CPO_PARTNER = {"name": "cpo-backend", "role": "CPO", "token_a": "cpo-token-a-0001"}

Write = Callable[..., Path]


@pytest.fixture
def write(tmp_path: Path) -> Write:
    """Write BASE merged with ``overrides`` (or raw text) into tmp_path/conf, with a mappings file
    and the official OCPI 2.2.1 example tariff as ``tariff.json``."""
    directory = tmp_path / "conf"
    directory.mkdir()
    (directory / "mappings.yaml").write_text("{}\n")
    shutil.copy(TARIFF_EXAMPLE, directory / "tariff.json")

    def _write(content: str | None = None, **overrides: Any) -> Path:
        path = directory / "bridge.yaml"
        if content is not None:
            path.write_text(textwrap.dedent(content))
        else:
            path.write_text(yaml.safe_dump({**BASE, **overrides}, sort_keys=False))
        return path

    return _write


def error_of(path: Path, environ: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=environ or {})
    return caught.value


# --------------------------------------------------------------------------------------------
# Durations


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (30, 30.0),
        (0.5, 0.5),
        ("30", 30.0),
        ("2.5", 2.5),
        ("500ms", 0.5),
        ("30s", 30.0),
        ("15m", 900.0),
        ("1h", 3600.0),
        ("7d", 604800.0),
        ("2w", 1209600.0),
        ("1h30m", 5400.0),
        (" 2 H ", 7200.0),
        ("1.5s", 1.5),
    ],
)
def test_durations_accept_seconds_and_units(write: Write, text: Any, seconds: float) -> None:
    config = load_config(write(emsp={"cdr_poll_lookback": text}), environ={})
    assert config.emsp.cdr_poll_lookback == seconds


@pytest.mark.parametrize("text", ["fast", "1x", "1 h 30", "h", "-1s", "inf", "nan", True, [1], "1h-"])
def test_an_invalid_duration_names_the_key(write: Write, text: Any) -> None:
    error = error_of(write(delivery={"poll_interval": text}))
    assert error.key_path == "delivery.poll_interval"
    assert "duration such as 500ms, 30s, 15m" in error.reason


def test_a_negative_or_zero_duration_is_out_of_range(write: Write) -> None:
    error = error_of(write(delivery={"send_timeout": -1}))
    assert (error.key_path, error.reason) == ("delivery.send_timeout", "input should be greater than 0")
    error = error_of(write(cpo={"publish_window": "0s"}))
    assert error.key_path == "cpo.publish_window"


def test_durations_come_from_the_environment(write: Write) -> None:
    path = write(delivery={"poll_interval": "${POLL:-2s}"}, emsp={"cdr_poll_interval": "${CDR_POLL:-15m}"})
    assert load_config(path, environ={}).delivery.poll_interval == 2.0
    config = load_config(path, environ={"POLL": "250ms", "CDR_POLL": "0"})
    assert (config.delivery.poll_interval, config.emsp.cdr_poll_interval) == (0.25, 0.0)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (604800.0, "7d"),
        (86400.0, "1d"),
        (3600.0, "1h"),
        (900.0, "15m"),
        (90.0, "90s"),
        (1.0, "1s"),
        (0.5, "500ms"),
        (0.25, "250ms"),
        (0.0, "0s"),
        (5400.0, "90m"),
    ],
)
def test_format_duration_is_exact_and_parses_back(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds


# --------------------------------------------------------------------------------------------
# Defaults: the constants the flows had before these keys existed


def test_defaults_equal_the_previous_constants(write: Write) -> None:
    config = load_config(write(), environ={})
    assert delivery_module.settings_from_config(config.delivery) == DeliverySettings()
    assert DeliverySettings().default_retry == RetryPolicy()
    assert DELIVERY_LEASE_MARGIN == delivery_module.LEASE_MARGIN
    assert cpo_publish.settings_from_config(config) == PublishSettings()
    assert emsp_charging_state.settings_from_config(config) == EmspSettings()
    assert emsp_common.settings_from_config(config) == EmspDataSettings()
    assert cpo_commands.server_deadlines(config) == OicpDeadlines()
    assert config.cpo.authorization_deadline == DEFAULT_DEADLINE
    publish = PublishSettings()
    assert (publish.evse_full_load_every, publish.status_full_load_every) == (
        timedelta(days=7),
        timedelta(days=1),
    )


def test_sections_with_every_key_commented_out_use_the_defaults(write: Write) -> None:
    text = (
        yaml.safe_dump(BASE) + "delivery:\n  # concurrency: 1\ncpo:\nemsp:\nhubject:\n  server_deadlines:\n"
    )
    config = load_config(write(text), environ={})
    assert config.delivery == DeliveryConfig() and config.cpo == CpoConfig()
    assert config.emsp == EmspConfig() and config.hubject.server_deadlines == HubjectServerDeadlines()


def test_the_shipped_commented_values_are_the_defaults(tmp_path: Path) -> None:
    """Uncommenting every commented key of the flow sections of config/bridge.yaml changes nothing
    (except the example fallback tariff, which then has to exist)."""
    lines: list[str] = []
    section = subsection = ""
    for line in SHIPPED.read_text().splitlines():
        if re.match(r"^[a-z_]+:", line):
            section, subsection = line.split(":", 1)[0], ""
        elif re.match(r"^  [a-z_]+:", line):
            subsection = line.split(":", 1)[0].strip()
        commented_key = re.match(r"^(\s*)#(\s+[a-z_]+:.*)$", line)
        flow_section = section in ("delivery", "cpo", "emsp") or (section, subsection) == (
            "hubject",
            "server_deadlines",
        )
        if commented_key and flow_section:
            line = commented_key.group(1) + commented_key.group(2)
        lines.append(line)
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "mappings.yaml").write_text("{}\n")
    shutil.copy(TARIFF_EXAMPLE, folder / "contract-tariff.json")
    (folder / "bridge.yaml").write_text("\n".join(lines) + "\n")
    config = load_config(folder / "bridge.yaml", environ={})
    assert {"remote", "authorize", "cdr", "notification"} <= config.hubject.server_deadlines.model_fields_set
    assert config.hubject.server_deadlines == HubjectServerDeadlines()
    assert set(config.delivery.model_fields_set) == set(DeliveryConfig.model_fields)
    assert config.delivery == DeliveryConfig()
    assert set(config.cpo.model_fields_set) == set(CpoConfig.model_fields)
    assert config.cpo == CpoConfig()
    assert set(config.emsp.model_fields_set) == set(EmspConfig.model_fields)
    assert config.emsp.model_dump(exclude={"fallback_tariff", "evse_data"}) == EmspConfig().model_dump(
        exclude={"fallback_tariff", "evse_data"}
    )
    assert config.emsp.fallback_tariff == folder / "contract-tariff.json"
    data = config.emsp.evse_data
    assert set(data.model_fields_set) == set(type(data).model_fields)
    assert data.model_dump(exclude={"cpo_party"}) == type(data)().model_dump(exclude={"cpo_party"})
    first_cpo = config.ocpi.parties_with_role("CPO")[0]
    assert data.cpo_party is not None
    assert (data.cpo_party.country_code, data.cpo_party.party_id) == (
        first_cpo.country_code,
        first_cpo.party_id,
    )


def test_the_shipped_config_validates_with_the_flow_defaults() -> None:
    config = load_config(SHIPPED, environ={})
    assert config.delivery == DeliveryConfig() and config.cpo == CpoConfig() and config.emsp == EmspConfig()
    assert config.hubject.server_deadlines == HubjectServerDeadlines()


# --------------------------------------------------------------------------------------------
# Validation


@pytest.mark.parametrize(
    ("overrides", "key", "reason"),
    [
        ({"delivery": {"concurrency": 0}}, "delivery.concurrency", "greater than or equal to 1"),
        ({"delivery": {"stop_timeout": "-1"}}, "delivery.stop_timeout", "greater than or equal to 0"),
        (
            {"delivery": {"retry": {"max_attempts": 0}}},
            "delivery.retry.max_attempts",
            "greater than or equal to 1",
        ),
        ({"cpo": {"push_batch_size": 0}}, "cpo.push_batch_size", "greater than or equal to 1"),
        (
            {"cpo": {"evse_full_load_interval": "10m"}},
            "cpo.evse_full_load_interval",
            "greater than or equal to 3600",
        ),
        (
            {"cpo": {"status_full_load_interval": "91d"}},
            "cpo.status_full_load_interval",
            "less than or equal to",
        ),
        ({"cpo": {"resync_interval": "30s"}}, "cpo.resync_interval", "greater than or equal to 60"),
        ({"emsp": {"cdr_poll_interval": "30s"}}, "emsp.cdr_poll_interval", "at least 60 s"),
        (
            {"emsp": {"realtime_authorization": "never"}},
            "emsp.realtime_authorization",
            "'whitelist' or 'always'",
        ),
        ({"emsp": {"token_index_refresh": "-5m"}}, "emsp.token_index_refresh", "duration such as"),
        (
            {"hubject": {"server_deadlines": {"remote": "90s"}}},
            "hubject.server_deadlines.remote",
            "less than or equal to 60",
        ),
        ({"hubject": {"server_deadlines": {"cdr": 0}}}, "hubject.server_deadlines.cdr", "greater than 0"),
    ],
)
def test_out_of_range_values_name_the_key(
    write: Write, overrides: dict[str, Any], key: str, reason: str
) -> None:
    error = error_of(write(**overrides))
    assert error.key_path == key
    assert reason in error.reason


@pytest.mark.parametrize(
    ("evse_data", "key", "reason"),
    [
        ({"operators": ["DE*ABC", "nope"]}, "emsp.evse_data.operators[1]", "not a valid OICP OperatorID"),
        (
            {"exclude_operators": ["DE-ABC-X"]},
            "emsp.evse_data.exclude_operators[0]",
            "not a valid OICP OperatorID",
        ),
        ({"countries": ["DEU", "de"]}, "emsp.evse_data.countries[1]", "3 letters (ISO 3166-1 alpha-3"),
        ({"page_size": 2001}, "emsp.evse_data.page_size", "less than or equal to 2000"),
        ({"delta_interval": "30s"}, "emsp.evse_data.delta_interval", "greater than or equal to 60"),
        ({"status_interval": "5s"}, "emsp.evse_data.status_interval", "greater than or equal to 10"),
        ({"status_mode": "some"}, "emsp.evse_data.status_mode", "'by_operator'"),
        (
            {"max_delta_gap": "10m"},
            "emsp.evse_data.max_delta_gap",
            "more than emsp.evse_data.delta_interval (10m)",
        ),
        (
            {"cpo_party": {"country_code": "nl", "party_id": "xyz"}},
            "emsp.evse_data.cpo_party",
            "NL/XYZ is not a CPO",
        ),
        (
            {"cpo_party": {"country_code": "DE"}},
            "emsp.evse_data.cpo_party.party_id",
            "required key is missing",
        ),
        ({"presentation": "hub"}, "emsp.evse_data.presentation", "hub needs a party of role HUB"),
    ],
)
def test_evse_data_values_are_checked(write: Write, evse_data: dict[str, Any], key: str, reason: str) -> None:
    error = error_of(write(emsp={"evse_data": evse_data}))
    assert error.key_path == key
    assert reason in error.reason


def test_evse_data_lists_and_party_are_normalised(write: Write) -> None:
    parties = [
        *BASE["ocpi"]["parties"],
        {"role": "HUB", "country_code": "DE", "party_id": "BRH", "name": "Hub"},
    ]
    evse_data = {
        "presentation": "hub",
        "cpo_party": {"country_code": "de", "party_id": "brc"},
        "operators": ["DE*ABC", "+49*810"],
        "countries": ["deu", "AUT"],
        "exclude_operators": None,
    }
    config = load_config(write(ocpi={"parties": parties}, emsp={"evse_data": evse_data}), environ={})
    settings = emsp_common.settings_from_config(config)
    assert settings.cpo_party == ("DE", "BRC") and settings.presentation == "hub"
    assert settings.operators == frozenset({"DEABC", "+49810"}) and settings.exclude_operators == frozenset()
    assert settings.countries == frozenset({"DEU", "AUT"})
    assert settings.keeps_operator("de*abc") and not settings.keeps_operator("DE*XYZ")


def test_a_misspelt_key_in_a_flow_section_gets_a_suggestion(write: Write) -> None:
    error = error_of(write(delivery={"concurency": 2}))
    assert (error.key_path, error.reason) == (
        "delivery.concurency",
        "unknown key (did you mean 'concurrency'?)",
    )
    error = error_of(write(hubject={"server_deadlines": {"authorise": 2}}))
    assert error.reason == "unknown key (did you mean 'authorize'?)"


def test_the_lease_must_outlive_a_send(write: Write) -> None:
    error = error_of(write(delivery={"send_timeout": "2m"}))
    assert error.key_path == "delivery.lease_seconds"
    assert "at least delivery.send_timeout + 5 s (125s)" in error.reason
    config = load_config(write(delivery={"send_timeout": "2m", "lease_seconds": 125}), environ={})
    assert delivery_module.settings_from_config(config.delivery).lease_seconds == 125.0


def test_the_retry_cap_is_at_least_the_base(write: Write) -> None:
    error = error_of(write(delivery={"retry": {"base": "10s", "cap": "5s"}}))
    assert (error.key_path, error.reason) == ("delivery.retry.cap", "must be at least retry.base (10s)")


def test_an_empty_max_attempts_retries_forever(write: Write) -> None:
    path = write(delivery={"retry": {"max_attempts": "${ATTEMPTS:-}"}})
    assert load_config(path, environ={}).delivery.retry.max_attempts is None
    assert load_config(path, environ={"ATTEMPTS": "7"}).delivery.retry.max_attempts == 7


def test_cpo_authorization_deadline_must_fit_in_the_client_timeout(write: Write) -> None:
    error = error_of(write(cpo={"authorization_deadline": "40s"}))
    assert error.key_path == "cpo.authorization_deadline"
    assert "40s is more than hubject.timeouts.authorize (30s)" in error.reason
    error = error_of(write(cpo={"authorization_deadline": 6}, hubject={"timeouts": {"authorize": 5}}))
    assert error.key_path == "cpo.authorization_deadline"
    # Not set: the default 10 s is not an error, the flow uses the smaller client timeout.
    config = load_config(write(hubject={"timeouts": {"authorize": 5}}), environ={})
    assert config.cpo.authorization_deadline == 10.0


def test_emsp_authorization_deadline_must_fit_in_the_route_deadline(write: Write) -> None:
    error = error_of(write(emsp={"authorization_deadline": "4s"}))
    assert error.key_path == "emsp.authorization_deadline"
    assert "hubject.server_deadlines.authorize (3s)" in error.reason
    config = load_config(
        write(emsp={"authorization_deadline": "4s"}, hubject={"server_deadlines": {"authorize": "5s"}}),
        environ={},
    )
    assert emsp_charging_state.settings_from_config(config).realtime_deadline == 4.0
    config = load_config(write(hubject={"server_deadlines": {"authorize": "2s"}}), environ={})
    assert config.emsp.authorization_deadline == 3.0


def test_the_fallback_tariff_is_read_at_load_relative_to_the_file(write: Write) -> None:
    config = load_config(write(emsp={"fallback_tariff": "tariff.json"}), environ={})
    expected = v221.Tariff.model_validate_json(TARIFF_EXAMPLE.read_bytes())
    assert config.emsp.fallback_tariff == config.config_path.parent / "tariff.json"  # type: ignore[union-attr]
    assert config.emsp.fallback_tariff_object == expected
    assert emsp_charging_state.settings_from_config(config).fallback_tariff == expected
    assert (
        load_config(write(emsp={"fallback_tariff": "${TARIFF:-}"}), environ={}).emsp.fallback_tariff_object
        is None
    )


def test_a_fallback_tariff_that_is_missing_or_no_tariff_is_an_error(write: Write, tmp_path: Path) -> None:
    error = error_of(write(emsp={"fallback_tariff": "nowhere.json"}))
    assert error.key_path == "emsp.fallback_tariff" and error.reason.startswith("file not found: ")
    (tmp_path / "conf" / "location.json").write_text('{"id": "LOC1"}')
    error = error_of(write(emsp={"fallback_tariff": "location.json"}))
    assert error.key_path == "emsp.fallback_tariff"
    assert error.reason.startswith("not an OCPI 2.2.1 Tariff in JSON (location.json: ")
    (tmp_path / "conf" / "broken.json").write_text("{")
    error = error_of(write(emsp={"fallback_tariff": "broken.json"}))
    assert "not an OCPI 2.2.1 Tariff in JSON (broken.json: " in error.reason


# --------------------------------------------------------------------------------------------
# Every key reaches the running flows (the product's start hooks, create_app in process)


def _gateway(app: Any) -> Gateway:
    gateway: Gateway = app.state.gateway
    return gateway


async def test_delivery_keys_reach_the_running_delivery(tmp_path: Path) -> None:
    config = make_config(
        tmp_path,
        delivery={
            "concurrency": 3,
            "poll_interval": "500ms",
            "send_timeout": "30s",
            "lease_seconds": "40s",
            "stop_timeout": "1s",
            "retry": {"base": "2s", "cap": "20s", "max_attempts": 4},
        },
    )
    app = create_app(config)
    async with running(app):
        settings = _gateway(app).services["delivery"].settings
    assert settings == DeliverySettings(
        concurrency=3,
        poll_interval=0.5,
        send_timeout=30.0,
        lease_seconds=40.0,
        stop_timeout=1.0,
        default_retry=RetryPolicy(base=2.0, cap=20.0, max_attempts=4),
    )


async def test_explicit_delivery_settings_win_over_the_configuration(tmp_path: Path) -> None:
    fast = DeliverySettings(poll_interval=0.05, send_timeout=5, lease_seconds=10, stop_timeout=1)
    app = create_app(
        make_config(tmp_path, delivery={"concurrency": 2}), start_hooks=[delivery_start_hook(settings=fast)]
    )
    async with running(app):
        assert _gateway(app).services["delivery"].settings is fast


async def test_cpo_keys_reach_the_publisher_and_the_authorizer(tmp_path: Path) -> None:
    config = make_config(
        tmp_path,
        partners=[EMSP_PARTNER],
        cpo={
            "publish_window": "250ms",
            "push_batch_size": 200,
            "evse_full_load_interval": "2w",
            "status_full_load_interval": "12h",
            "resync_interval": "6h",
            "authorization_deadline": "4s",
        },
    )
    app = create_app(config)
    async with running(app):
        gateway = _gateway(app)
        publish = publisher_of(gateway).settings
        deadline = gateway.services["authorization_handler"].deadline
    assert publish == replace(
        PublishSettings(),
        window=0.25,
        batch_size=200,
        evse_full_load_every=timedelta(weeks=2),
        status_full_load_every=timedelta(hours=12),
        resync_every=timedelta(hours=6),
    )
    assert deadline == 4.0


async def test_unset_cpo_deadline_is_bounded_by_the_client_timeout(tmp_path: Path) -> None:
    config = make_config(tmp_path, partners=[EMSP_PARTNER], hubject={"timeouts": {"authorize": 5}})
    app = create_app(config)
    async with running(app):
        assert _gateway(app).services["authorization_handler"].deadline == 5.0


async def test_publish_settings_in_services_win_over_the_configuration(tmp_path: Path) -> None:
    mine = PublishSettings(window=0.01, tick=0.05)

    def prepare(gateway: Gateway) -> None:
        gateway.services[cpo_publish.SETTINGS_SERVICE] = mine

    app = create_app(
        make_config(tmp_path, cpo={"publish_window": "5s"}), start_hooks=[prepare, *product_start_hooks()]
    )
    async with running(app):
        assert publisher_of(_gateway(app)).settings is mine


class SlowEmp:
    """An EMP side that never answers in time (the route's deadline answers for it)."""

    async def authorize_start(self, request: AuthorizeStart, *, operator_id: str) -> AuthorizationStart:
        await asyncio.sleep(30)
        raise AssertionError("cancelled by the route's deadline")

    async def authorize_stop(self, request: AuthorizeStop, *, operator_id: str) -> Any:
        await asyncio.sleep(30)
        raise AssertionError("cancelled by the route's deadline")


async def test_server_deadlines_reach_the_oicp_routes(tmp_path: Path) -> None:
    config = make_config(
        tmp_path,
        hubject={
            "server_deadlines": {"remote": "8s", "authorize": "200ms", "cdr": "5s", "notification": "4s"}
        },
    )

    def slow_emp(gateway: Gateway) -> None:
        gateway.services[SERVICE_EMP_AUTHORIZATION] = SlowEmp()

    app = create_app(config, start_hooks=[*product_start_hooks(), slow_emp])
    body = snippet("emp", "eRoamingAuthorizeStart:Request")
    body["Identification"] = {"RFIDMifareFamilyIdentification": {"UID": "1234ABCD"}}
    body["EvseID"] = "DE*ABC*ETEST1"
    body["SessionID"] = "b2688855-7f00-0002-6d8e-48d883f6abb6"
    async with running(app) as client:
        assert _gateway(app).services[SERVICE_DEADLINES] == OicpDeadlines(
            remote=8.0, authorize=0.2, cdr=5.0, notification=4.0
        )
        answer = (
            await client.post(f"/api/oicp/charging/v21/operators/{OPERATOR}/authorize/start", json=body)
        ).json()
    assert (answer["AuthorizationStatus"], answer["StatusCode"]["Code"]) == ("NotAuthorized", "310")


async def test_deadlines_in_services_win_over_the_configuration(tmp_path: Path) -> None:
    mine = OicpDeadlines(remote=1.0)

    def prepare(gateway: Gateway) -> None:
        gateway.services[SERVICE_DEADLINES] = mine

    config = make_config(tmp_path, hubject={"server_deadlines": {"remote": "8s"}})
    app = create_app(config, start_hooks=[prepare, *product_start_hooks()])
    async with running(app):
        assert _gateway(app).services[SERVICE_DEADLINES] is mine


@asynccontextmanager
async def emp_gateway(
    tmp_path: Path, services: dict[str, Any] | None = None, **overrides: Any
) -> AsyncIterator[Gateway]:
    """The product gateway as an OICP EMP with an eMSP partner; Hubject is the simulator, reached in
    process over HTTP (its client is put in ``services["oicp.client"]`` before the flows start,
    with ``services``)."""
    sim = HubjectSimulator(
        operators={OPERATOR: OPERATOR_NAME}, providers={PROVIDER}, schemas_dir=SPECS, push_delay=0
    )
    config = make_config(
        tmp_path,
        hubject={"url": "https://hubject.test", "provider_id": PROVIDER},
        partners=[EMSP_PARTNER],
        **overrides,
    )
    client = OicpClient.from_config(config.hubject, transport=httpx.ASGITransport(app=sim.app))

    def prepare(gateway: Gateway) -> None:
        gateway.services[cpo_commands.OICP_CLIENT] = client
        gateway.services.update(services or {})

    app = create_app(config, start_hooks=[prepare, *product_start_hooks()])
    try:
        async with running(app):
            yield _gateway(app)
    finally:
        await client.aclose()


async def test_emsp_keys_reach_the_emsp_flow(tmp_path: Path) -> None:
    tariff = v221.Tariff.model_validate_json(TARIFF_EXAMPLE.read_bytes())
    shutil.copy(TARIFF_EXAMPLE, tmp_path / "contract.json")
    emsp = {
        "realtime_authorization": "always",
        "authorization_deadline": "2s",
        "push_authentication_data": True,
        "cdr_poll_interval": "20m",
        "cdr_poll_lookback": "1d",
        "cdr_poll_overlap": "30m",
        "token_index_refresh": "2m",
        "fallback_tariff": "contract.json",
    }
    async with emp_gateway(tmp_path, emsp=emsp) as gateway:
        installed = gateway.services[emsp_charging_state.SETTINGS_SERVICE]
        assert settings_of(gateway) is installed
    assert installed == EmspSettings(
        realtime_authorization="always",
        realtime_deadline=2.0,
        push_authentication_data=True,
        cdr_poll_interval=1200.0,
        cdr_poll_lookback=86400.0,
        cdr_poll_overlap=1800.0,
        token_index_refresh=120.0,
        fallback_tariff=tariff,
    )


async def test_emsp_settings_in_services_win_over_the_configuration(tmp_path: Path) -> None:
    mine = EmspSettings(cdr_poll_interval=0, token_index_refresh=0)
    services = {emsp_charging_state.SETTINGS_SERVICE: mine}
    async with emp_gateway(tmp_path, services, emsp={"cdr_poll_interval": "1h"}) as gateway:
        assert gateway.services[emsp_charging_state.SETTINGS_SERVICE] is mine
        assert settings_of(gateway) is mine


async def test_evse_data_keys_reach_the_emsp_data_flow(tmp_path: Path) -> None:
    evse_data = {
        "presentation": "cpo",
        "cpo_party": {"country_code": "DE", "party_id": "BRC"},
        "operators": [OPERATOR],
        "exclude_operators": ["DE*XYZ"],
        "countries": ["DEU"],
        "page_size": 500,
        "delta_interval": "5m",
        "full_interval": "12h",
        "max_delta_gap": "2h",
        "skew_margin": "1m",
        "status_interval": "2m",
        "status_mode": "by_operator",
        "status_chunk": 1000,
        "pricing": False,
        "pricing_interval": "3h",
        "push_initial_load": True,
        "batch_size": 50,
        "record_cache_size": 500,
        "gc_tweak": False,
    }
    async with emp_gateway(tmp_path, emsp={"evse_data": evse_data}) as gateway:
        service = service_of(gateway)
        assert service is not None
        installed = service.settings
    assert installed == EmspDataSettings(
        presentation="cpo",
        cpo_party=("DE", "BRC"),
        operators=frozenset({OPERATOR}),
        exclude_operators=frozenset({"DE*XYZ"}),
        countries=frozenset({"DEU"}),
        page_size=500,
        delta_interval=300.0,
        full_interval=43200.0,
        max_delta_gap=7200.0,
        skew_margin=60.0,
        status_interval=120.0,
        status_mode="by_operator",
        status_chunk=1000,
        pricing=False,
        pricing_interval=10800.0,
        push_initial_load=True,
        batch_size=50,
        record_cache_size=500,
        gc_tweak=False,
    )


async def test_evse_data_can_be_switched_off(tmp_path: Path) -> None:
    async with emp_gateway(tmp_path, emsp={"evse_data": {"enabled": False}}) as gateway:
        assert service_of(gateway) is None


async def test_evse_data_settings_in_services_win_over_the_configuration(tmp_path: Path) -> None:
    mine = EmspDataSettings(status_interval=30.0, pricing=False)
    services = {emsp_common.SETTINGS_SERVICE: mine}
    async with emp_gateway(tmp_path, services, emsp={"evse_data": {"status_interval": "5m"}}) as gateway:
        service = service_of(gateway)
        assert service is not None and service.settings is mine
