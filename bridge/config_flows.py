"""Configuration sections that tune the running flows: ``delivery``, ``cpo``, ``emsp`` (with
``emsp.evse_data``) and ``hubject.server_deadlines`` (docs/configuration.md documents every key).

They are read once at start with the rest of :class:`bridge.config.BridgeConfig`; each flow turns
its section into its own settings object when it is installed (``settings_from_config`` in
:mod:`bridge.delivery`, :mod:`bridge.flows.cpo_publish`, :mod:`bridge.flows.emsp_charging_state`,
:mod:`bridge.flows.emsp_common`; ``server_deadlines`` in :mod:`bridge.flows.cpo_commands`).
An object a test or an embedding application puts in ``gateway.services`` under the flow's
settings key wins over the configuration.

Durations (:data:`Duration`) are seconds, written as a number (``30``, ``0.5``) or with units
(``500ms``, ``30s``, ``15m``, ``1h``, ``7d``, ``2w``, combined as ``1h30m``). The defaults are the
constants the flows used before these keys existed.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from pydantic import (
    BeforeValidator,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bridge.config_base import (
    OPERATOR_ID_PATTERN,
    ConfigModel,
    ConfigValueError,
    OptionalPath,
    empty_to_none,
    existing_file,
)

if TYPE_CHECKING:
    from bridge.config import BridgeConfig
    from bridge.ocpi.models.v2_2_1 import Tariff

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0

DELIVERY_LEASE_MARGIN = 5.0
"""Seconds a delivery lease must outlive ``send_timeout`` (``bridge.delivery.LEASE_MARGIN``)."""

_UNITS: dict[str, float] = {"ms": 0.001, "s": 1.0, "m": MINUTE, "h": HOUR, "d": DAY, "w": 7 * DAY}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?\s*(?:ms|s|m|h|d|w)\s*)+")
_DURATION_HELP = "must be a number of seconds or a duration such as 500ms, 30s, 15m, 1h, 7d, 2w or 1h30m"


def parse_duration(value: Any) -> Any:
    """Seconds (float) from a number or a duration string; ValueError otherwise.

    A number in a string (``${POLL:-30}`` substitutes to ``"30"``) counts as seconds.
    """
    seconds: float
    if isinstance(value, bool):
        raise ValueError(_DURATION_HELP)
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        try:
            seconds = float(text)
        except ValueError:
            if not _WHOLE.fullmatch(text):
                raise ValueError(_DURATION_HELP) from None
            seconds = sum(float(number) * _UNITS[unit] for number, unit in _PART.findall(text))
    else:
        raise ValueError(_DURATION_HELP)
    if not math.isfinite(seconds):
        raise ValueError(_DURATION_HELP)
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest exact spelling of ``seconds`` in one unit (``604800`` → ``7d``, ``0.5`` → ``500ms``)."""
    for unit in ("d", "h", "m", "s"):
        count = seconds / _UNITS[unit]
        if seconds and count.is_integer():
            return f"{int(count)}{unit}"
    if seconds == 0:
        return "0s"
    milliseconds = seconds * 1000
    return f"{milliseconds:g}ms" if round(milliseconds, 6).is_integer() else f"{seconds:g}s"


Duration = Annotated[float, BeforeValidator(parse_duration)]
"""Seconds; YAML accepts a number or a duration string (module docstring)."""


# --------------------------------------------------------------------------------------------
# delivery


class RetryConfig(ConfigModel):
    """``delivery.retry``: the default backoff of outbox messages (``bridge.delivery.RetryPolicy``).

    After the n-th failed attempt the next waits between E/2 and E with E = min(cap, base·2^(n-1))
    (exponential backoff with jitter, oicp-2.3.md §1.4); ``max_attempts`` tries, then dead-lettered.
    """

    base: Duration = Field(default=1.0, gt=0, le=HOUR)
    cap: Duration = Field(default=300.0, gt=0, le=DAY)
    max_attempts: Annotated[int | None, BeforeValidator(empty_to_none)] = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _cap_above_base(self) -> Self:
        if self.cap < self.base:
            raise ConfigValueError("cap", f"must be at least retry.base ({format_duration(self.base)})")
        return self


class DeliveryConfig(ConfigModel):
    """``delivery``: the outbox workers (``bridge.delivery.DeliverySettings``, docs/delivery.md)."""

    concurrency: int = Field(default=8, ge=1, le=256)
    poll_interval: Duration = Field(default=2.0, gt=0, le=5 * MINUTE)
    send_timeout: Duration = Field(default=60.0, gt=0, le=HOUR)
    lease_seconds: Duration = Field(default=120.0, gt=0, le=DAY)
    stop_timeout: Duration = Field(default=10.0, ge=0, le=HOUR)
    retry: RetryConfig = Field(default_factory=RetryConfig)

    @model_validator(mode="after")
    def _lease_outlives_send(self) -> Self:
        """A lease that expired during a send would let another instance send the message too."""
        least = self.send_timeout + DELIVERY_LEASE_MARGIN
        if self.lease_seconds < least:
            raise ConfigValueError(
                "lease_seconds",
                f"must be at least delivery.send_timeout + {DELIVERY_LEASE_MARGIN:g} s"
                f" ({format_duration(least)}), so that no lease expires during a send",
            )
        return self


# --------------------------------------------------------------------------------------------
# cpo


class CpoConfig(ConfigModel):
    """``cpo``: the gateway as an OICP CPO for its OCPI CPO partners (docs/cpo-publish.md,
    docs/cpo-charging.md). Full-load cadences: oicp-2.3.md §1.6 (EVSE data weekly, status daily)."""

    publish_window: Duration = Field(default=1.0, gt=0, le=5 * MINUTE)
    push_batch_size: int = Field(default=1000, ge=1, le=100_000)
    evse_full_load_interval: Duration = Field(default=7 * DAY, ge=HOUR, le=90 * DAY)
    status_full_load_interval: Duration = Field(default=DAY, ge=HOUR, le=90 * DAY)
    resync_interval: Duration = Field(default=DAY, ge=MINUTE, le=90 * DAY)
    authorization_deadline: Duration = Field(default=10.0, gt=0, le=HOUR)


# --------------------------------------------------------------------------------------------
# emsp


def _read_tariff(path: Path) -> Tariff:
    """The OCPI 2.2.1 Tariff in a JSON file; ValueError with a short reason (no file content)."""
    from bridge.ocpi.models.v2_2_1 import Tariff  # only when configured: keeps config imports light

    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror}") from None
    try:
        return Tariff.model_validate_json(raw)
    except ValidationError as error:
        first = error.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        message = str(first["msg"])
        detail = f"{where}: {message}" if where else message
        raise ValueError(f"not an OCPI 2.2.1 Tariff in JSON ({path.name}: {detail})") from None


PULL_PAGE_MAX = 2000
"""Largest PullEvseData page Hubject serves (oicp-2.3.md §1.7); ``bridge.oicp.client.PAGE_SIZE_MAX``."""


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _no_list(value: Any) -> Any:
    """``operators:`` with every entry commented out is YAML null: no filter."""
    return [] if value is None else value


class CpoPartyConfig(ConfigModel):
    """``emsp.evse_data.cpo_party``: the CPO identity (one of ``ocpi.parties``) owning every
    Location built from Hubject data in the ``cpo`` presentation."""

    country_code: Annotated[str, BeforeValidator(_upper)]
    party_id: Annotated[str, BeforeValidator(_upper)]


class EvseDataConfig(ConfigModel):
    """``emsp.evse_data``: Hubject's EVSE data, statuses and prices pulled for the eMSP partners and
    served to them as OCPI Locations and Tariffs (docs/emsp-locations.md,
    ``bridge.flows.emsp_common.EmspDataSettings``). Cadences: oicp-2.3.md §1.6 (status every
    1–5 min, data daily) within the acceptable use policy's rate limits."""

    enabled: bool = True
    presentation: Literal["auto", "hub", "cpo"] = "auto"
    cpo_party: Annotated[CpoPartyConfig | None, BeforeValidator(empty_to_none)] = None
    operators: Annotated[list[str], BeforeValidator(_no_list)] = Field(default_factory=list)
    exclude_operators: Annotated[list[str], BeforeValidator(_no_list)] = Field(default_factory=list)
    countries: Annotated[list[Annotated[str, BeforeValidator(_upper)]], BeforeValidator(_no_list)] = Field(
        default_factory=list
    )
    page_size: int = Field(default=PULL_PAGE_MAX, ge=1, le=PULL_PAGE_MAX)
    delta_interval: Duration = Field(default=10 * MINUTE, ge=MINUTE, le=DAY)
    full_interval: Duration = Field(default=DAY, ge=HOUR, le=90 * DAY)
    max_delta_gap: Duration = Field(default=HOUR, gt=0, le=90 * DAY)
    skew_margin: Duration = Field(default=5 * MINUTE, ge=0, le=HOUR)
    status_interval: Duration = Field(default=MINUTE, ge=10.0, le=DAY)
    status_mode: Literal["auto", "all", "by_operator", "by_id"] = "auto"
    status_chunk: int = Field(default=50_000, ge=1, le=10_000_000)
    pricing: bool = True
    pricing_interval: Duration = Field(default=HOUR, ge=MINUTE, le=90 * DAY)
    push_initial_load: bool = False
    batch_size: int = Field(default=100, ge=1, le=100_000)
    record_cache_size: int = Field(default=10_000, ge=1, le=10_000_000)
    gc_tweak: bool = True

    @field_validator("operators", "exclude_operators")
    @classmethod
    def _operator_ids(cls, value: list[str]) -> list[str]:
        for index, operator in enumerate(value):
            if not OPERATOR_ID_PATTERN.match(operator):
                raise ConfigValueError(
                    f"[{index}]", "not a valid OICP OperatorID (e.g. DE*ABC, DEABC or +49*810)"
                )
        return value

    @field_validator("countries")
    @classmethod
    def _alpha3(cls, value: list[str]) -> list[str]:
        for index, country in enumerate(value):
            if not re.fullmatch(r"[A-Z]{3}", country):
                raise ConfigValueError(
                    f"[{index}]", "must be 3 letters (ISO 3166-1 alpha-3, as OICP's Address.Country)"
                )
        return value

    @model_validator(mode="after")
    def _gap_above_delta(self) -> Self:
        """A watermark older than ``max_delta_gap`` forces a full pull: below the delta cadence,
        every pull would be a full one."""
        if self.max_delta_gap <= self.delta_interval:
            raise ConfigValueError(
                "max_delta_gap",
                f"must be more than emsp.evse_data.delta_interval ({format_duration(self.delta_interval)}),"
                " or every pull is a full pull",
            )
        return self


class EmspConfig(ConfigModel):
    """``emsp``: the gateway as an OICP EMP for its OCPI eMSP partners (docs/emsp-charging.md,
    ``bridge.flows.emsp_charging_state.EmspSettings``)."""

    realtime_authorization: Literal["whitelist", "always"] = "whitelist"
    authorization_deadline: Duration = Field(default=3.0, gt=0, le=MINUTE)
    push_authentication_data: bool = False
    cdr_poll_interval: Duration = Field(default=15 * MINUTE, ge=0, le=DAY)
    cdr_poll_lookback: Duration = Field(default=2 * DAY, gt=0, le=31 * DAY)
    cdr_poll_overlap: Duration = Field(default=HOUR, ge=0, le=DAY)
    token_index_refresh: Duration = Field(default=5 * MINUTE, ge=0, le=DAY)
    fallback_tariff: OptionalPath = None
    evse_data: EvseDataConfig = Field(default_factory=EvseDataConfig)

    _tariff: Any = PrivateAttr(default=None)

    @field_validator("fallback_tariff")
    @classmethod
    def _tariff_file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return existing_file(value, info)

    @field_validator("cdr_poll_interval")
    @classmethod
    def _poll_not_crawling(cls, value: float) -> float:
        """Hubject's AUP forbids crawling (oicp-2.3.md §1.6): a poll at most once a minute."""
        if 0 < value < MINUTE:
            raise ValueError("must be 0 (no poll) or at least 60 s (Hubject's acceptable use policy)")
        return value

    @model_validator(mode="after")
    def _load_tariff(self) -> Self:
        if self.fallback_tariff is not None:
            try:
                self._tariff = _read_tariff(self.fallback_tariff)
            except ValueError as error:
                raise ConfigValueError("fallback_tariff", str(error)) from None
        return self

    @property
    def fallback_tariff_object(self) -> Tariff | None:
        """The Tariff read from ``fallback_tariff`` at load time (None when not set)."""
        tariff: Tariff | None = self._tariff
        return tariff


# --------------------------------------------------------------------------------------------
# hubject.server_deadlines


class HubjectServerDeadlines(ConfigModel):
    """``hubject.server_deadlines``: how long the gateway takes to answer Hubject's calls before it
    answers on its own (``bridge.oicp.handlers.OicpDeadlines``). Hubject closes a call after 60 s
    and recommends < 10 s for remote starts (oicp-2.3.md §1.5)."""

    remote: Duration = Field(default=10.0, gt=0, le=MINUTE)
    authorize: Duration = Field(default=3.0, gt=0, le=MINUTE)
    cdr: Duration = Field(default=10.0, gt=0, le=MINUTE)
    notification: Duration = Field(default=10.0, gt=0, le=MINUTE)


# --------------------------------------------------------------------------------------------
# Checks across sections


def check_flow_sections(config: BridgeConfig) -> None:
    """The checks that need other sections; ConfigValueError with the path from the root.

    * An authorization deadline set explicitly must fit in the limit around it (left unset, the
      flow uses the smaller of its default and that limit): ``cpo.authorization_deadline`` within
      the client's ``hubject.timeouts.authorize``, ``emsp.authorization_deadline`` within
      Hubject's route deadline ``hubject.server_deadlines.authorize``.
    * The identity presenting Hubject's Locations to the eMSP must be one of the gateway's own
      (ocpi.md §1.2: the parties of the credentials exchange).
    """
    client = config.hubject.timeouts.authorize
    cpo = config.cpo
    if "authorization_deadline" in cpo.model_fields_set and cpo.authorization_deadline > client:
        raise ConfigValueError(
            "cpo.authorization_deadline",
            f"{format_duration(cpo.authorization_deadline)} is more than hubject.timeouts.authorize"
            f" ({format_duration(client)}): the call to Hubject would be cut off before the deadline",
        )
    route = config.hubject.server_deadlines.authorize
    emsp = config.emsp
    if "authorization_deadline" in emsp.model_fields_set and emsp.authorization_deadline > route:
        raise ConfigValueError(
            "emsp.authorization_deadline",
            f"{format_duration(emsp.authorization_deadline)} is more than"
            f" hubject.server_deadlines.authorize ({format_duration(route)}): Hubject would be"
            " answered before the eMSP",
        )
    data = emsp.evse_data
    if data.cpo_party is not None:
        party = (data.cpo_party.country_code, data.cpo_party.party_id)
        ours = [(own.country_code, own.party_id) for own in config.ocpi.parties_with_role("CPO")]
        if party not in ours:
            raise ConfigValueError(
                "emsp.evse_data.cpo_party",
                f"{party[0]}/{party[1]} is not a CPO party of ocpi.parties"
                f" ({', '.join(f'{cc}/{pid}' for cc, pid in ours) or 'there is none'})",
            )
    if data.presentation == "hub" and not config.ocpi.parties_with_role("HUB"):
        raise ConfigValueError("emsp.evse_data.presentation", "hub needs a party of role HUB in ocpi.parties")


__all__ = [
    "DAY",
    "DELIVERY_LEASE_MARGIN",
    "HOUR",
    "MINUTE",
    "PULL_PAGE_MAX",
    "CpoConfig",
    "CpoPartyConfig",
    "DeliveryConfig",
    "Duration",
    "EmspConfig",
    "EvseDataConfig",
    "HubjectServerDeadlines",
    "RetryConfig",
    "check_flow_sections",
    "format_duration",
    "parse_duration",
]
