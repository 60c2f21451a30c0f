"""What the eMSP-side data flows share: their settings, how Hubject operators appear to the eMSP
backend, and the OICP client (docs/emsp-locations.md).

The gateway faces the eMSP backend as an OCPI CPO (or hub) and Hubject as an OICP EMP
(oicp-2.3.md §2.3). Everything Hubject tells it about other operators' EVSEs is written through the
object service under the pseudo partner :data:`~bridge.evse_cache.HUBJECT_PARTNER`, so the
existing Sender endpoints serve it and the push listener (:mod:`bridge.flows.emsp_push`)
recognises it.

Presentation (:class:`Presentation`), ``EmspDataSettings.presentation``:

* ``hub``: the gateway plays the OCPI 2.2.1 HUB role; each Hubject operator is its own CPO party,
  ``country_code``/``party_id`` from its OperatorID (``DE*ABC`` → ``DE``/``ABC``, DIN operators
  through ``locations.din_operators``; mapping.md §3.1), announced to the eMSP with ClientInfo
  (hubclientinfo module). Location and tariff ids are kept as the mappings make them.
* ``cpo``: one CPO identity of the gateway owns everything, for backends that do not handle
  hubs. Ids of different operators could collide, so every Location and Tariff id is prefixed
  with the canonical OperatorID (``DEABC*<id>``, hashed by :func:`mappings.ids.ocpi_id` beyond
  CiString(36)); ``operator.name`` still names the real operator.
* ``auto`` (default): ``hub`` when the configuration has a HUB party, else ``cpo``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final, Literal

from bridge.errors import ConfigError
from bridge.evse_cache import HUBJECT_PARTNER
from bridge.oicp.client import PAGE_SIZE_MAX, OicpClient
from mappings import ids

if TYPE_CHECKING:
    from bridge.config import BridgeConfig
    from bridge.context import Gateway

log = logging.getLogger("bridge.flows.emsp")

SETTINGS_SERVICE: Final = "emsp_data.settings"
"""``Gateway.services`` key of an :class:`EmspDataSettings` (the defaults when absent)."""

OICP_CLIENT_SERVICE: Final = "oicp.client"
"""``Gateway.services`` key of the gateway's shared :class:`OicpClient`."""

PresentationMode = Literal["auto", "hub", "cpo"]
StatusMode = Literal["auto", "all", "by_operator", "by_id"]


@dataclass(frozen=True, slots=True)
class EmspDataSettings:
    """Tuning and policy of the eMSP-side data flows (seconds unless said otherwise).

    Read from the configuration key ``emsp.evse_data`` (:func:`settings_from_config`,
    docs/configuration.md); an instance put in ``gateway.services`` under :data:`SETTINGS_SERVICE`
    before the flows start wins over it.

    * ``presentation``: see the module docstring; ``cpo_party`` (country_code, party_id) names the
      CPO identity of ``cpo`` mode (default: the first CPO party of ``ocpi.parties``).
    * ``operators`` / ``exclude_operators``: OperatorIDs kept / left out (compared canonically);
      ``countries``: Address.Country values kept (ISO alpha-3, as OICP sends them). Full pulls send
      the operator and country filters to Hubject; delta pulls cannot (oicp-2.3.md §8 point 7) and
      are filtered here.
    * ``page_size``: PullEvseData page size, at most 2000 (§1.7).
    * ``delta_interval``, ``full_interval``: delta pull (LastCall) and full rebuild cadence;
      ``max_delta_gap``: a watermark older than this is not trusted (deltas expire, mapping.md
      §3.12) and a full pull runs instead; ``skew_margin``: LastCall is the start of the last
      successful pull minus this (clock skew, mapping.md §3.12: 5 min).
    * ``status_interval``, ``status_mode``: PullEvseStatus cadence (every minute, W pulls status
      every minute) and how: ``all`` (PullEvseStatus, 6/min), ``by_operator``
      (PullEvseStatusByOperatorID, 75/min, operators chunked so one answer covers at most
      ``status_chunk`` EVSEs, which bounds memory), ``by_id`` (PullEvseStatusByID, 100 ids a call,
      for small filtered networks), ``auto``: ``all`` up to ``status_chunk`` cached EVSEs without
      operator filter, else ``by_operator``.
    * ``pricing``, ``pricing_interval``: PullPricingProductData + PullEVSEPricing into Tariffs.
    * ``push_initial_load``: push the first full load to the eMSP's Receivers too (default: no, the
      eMSP GETs the list after registering; later changes are always pushed).
    * ``batch_size``: Locations written per store transaction (bounds lock time on SQLite).
    * ``record_cache_size``: raw records kept in the LRU for hot reads.
    * ``gc_tweak``: pause the cyclic GC during bulk pages and freeze the cache afterwards.
    """

    enabled: bool = True
    presentation: PresentationMode = "auto"
    cpo_party: tuple[str, str] | None = None
    operators: frozenset[str] = field(default_factory=frozenset)
    exclude_operators: frozenset[str] = field(default_factory=frozenset)
    countries: frozenset[str] = field(default_factory=frozenset)
    page_size: int = PAGE_SIZE_MAX
    delta_interval: float = 600.0
    full_interval: float = 86_400.0
    max_delta_gap: float = 3_600.0
    skew_margin: float = 300.0
    status_interval: float = 60.0
    status_mode: StatusMode = "auto"
    status_chunk: int = 50_000
    pricing: bool = True
    pricing_interval: float = 3_600.0
    push_initial_load: bool = False
    batch_size: int = 100
    record_cache_size: int = 10_000
    gc_tweak: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.page_size <= PAGE_SIZE_MAX:
            raise ValueError(f"page_size must be 1..{PAGE_SIZE_MAX} (oicp-2.3.md §1.7)")
        if min(self.delta_interval, self.full_interval, self.status_interval, self.pricing_interval) <= 0:
            raise ValueError("intervals must be positive")
        if self.batch_size < 1 or self.status_chunk < 1:
            raise ValueError("batch_size and status_chunk are at least 1")
        object.__setattr__(self, "operators", frozenset(ids.canonical_id(o) for o in self.operators))
        object.__setattr__(
            self, "exclude_operators", frozenset(ids.canonical_id(o) for o in self.exclude_operators)
        )
        object.__setattr__(self, "countries", frozenset(c.upper() for c in self.countries))

    def keeps_operator(self, operator_id: str) -> bool:
        """Whether the operator passes ``operators`` / ``exclude_operators``."""
        key = ids.canonical_id(operator_id)
        if self.operators and key not in self.operators:
            return False
        return key not in self.exclude_operators

    def keeps_country(self, country: str | None) -> bool:
        """Whether an Address.Country passes ``countries``."""
        return not self.countries or (country or "").upper() in self.countries

    def with_changes(self, **changes: Any) -> EmspDataSettings:
        return replace(self, **changes)


def settings_from_config(config: BridgeConfig) -> EmspDataSettings:
    """``emsp.evse_data`` of the configuration (docs/configuration.md) as :class:`EmspDataSettings`."""
    data = config.emsp.evse_data
    party = data.cpo_party
    return EmspDataSettings(
        enabled=data.enabled,
        presentation=data.presentation,
        cpo_party=None if party is None else (party.country_code, party.party_id),
        operators=frozenset(data.operators),
        exclude_operators=frozenset(data.exclude_operators),
        countries=frozenset(data.countries),
        page_size=data.page_size,
        delta_interval=data.delta_interval,
        full_interval=data.full_interval,
        max_delta_gap=data.max_delta_gap,
        skew_margin=data.skew_margin,
        status_interval=data.status_interval,
        status_mode=data.status_mode,
        status_chunk=data.status_chunk,
        pricing=data.pricing,
        pricing_interval=data.pricing_interval,
        push_initial_load=data.push_initial_load,
        batch_size=data.batch_size,
        record_cache_size=data.record_cache_size,
        gc_tweak=data.gc_tweak,
    )


def settings_of(gateway: Gateway) -> EmspDataSettings:
    """The settings in ``gateway.services`` (:data:`SETTINGS_SERVICE`), else the configured ones."""
    found = gateway.services.get(SETTINGS_SERVICE)
    return found if isinstance(found, EmspDataSettings) else settings_from_config(gateway.config)


# --------------------------------------------------------------------------------------------
# How operators appear


@dataclass(frozen=True, slots=True)
class Presentation:
    """Owners and ids of the OCPI objects built from one operator's OICP data (module docstring)."""

    mode: Literal["hub", "cpo"]
    cpo_party: tuple[str, str] | None = None
    din_operators: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, gateway: Gateway, settings: EmspDataSettings, din_operators: dict[str, str]) -> Presentation:
        """The presentation the settings and ``ocpi.parties`` give (ConfigError when impossible)."""
        parties = gateway.config.ocpi
        mode = settings.presentation
        if mode == "auto":
            mode = "hub" if parties.parties_with_role("HUB") else "cpo"
        party = settings.cpo_party
        if mode == "cpo" and party is None:
            cpos = parties.parties_with_role("CPO")
            if not cpos:
                raise ConfigError(
                    "configuration",
                    "ocpi.parties",
                    "the eMSP-side data flows present Hubject's operators as one CPO: add a CPO party"
                    " (or a HUB party for the hub presentation)",
                )
            party = (cpos[0].country_code, cpos[0].party_id)
        if party is not None:
            party = (party[0].upper(), party[1].upper())
        return cls(mode, party, tuple(sorted(din_operators.items())))

    def owner(self, operator_id: str) -> tuple[str, str] | None:
        """(country_code, party_id) owning the operator's objects; None for an operator without
        an OCPI party (a DIN operator missing from ``locations.din_operators``)."""
        if self.mode == "cpo":
            return self.cpo_party
        return ids.operator_party(operator_id, dict(self.din_operators))

    def object_id(self, operator_id: str, object_id: str) -> str:
        """The Location or Tariff id shown to the eMSP for the mapping's ``object_id``."""
        if self.mode == "hub":
            return object_id
        return ids.ocpi_id(f"{ids.canonical_id(operator_id)}*{object_id}")

    def tariff_id(self, operator_id: str, product_id: str) -> str:
        """The Tariff id of an OICP ProductID (mappings.tariffs: ``ocpi_id(ProductID)``)."""
        return self.object_id(operator_id, ids.ocpi_id(product_id))


# --------------------------------------------------------------------------------------------
# Whether object writes are pushed (the first full load is not, unless configured)

PUSHING: ContextVar[bool] = ContextVar("emsp_pushing", default=True)
"""False while the first full load writes (``push_initial_load`` off): the listener queues nothing."""

TARGETS: ContextVar[tuple[Any, ...] | None] = ContextVar("emsp_targets", default=None)
"""The eMSP partners a batch of writes pushes to, looked up once per batch (None: look up)."""


def oicp_client(gateway: Gateway) -> tuple[OicpClient, bool]:
    """The gateway's shared OICP client, and whether this call made it (the maker closes it)."""
    client = gateway.services.get(OICP_CLIENT_SERVICE)
    if isinstance(client, OicpClient):
        return client, False
    made = OicpClient.from_config(gateway.config.hubject)
    gateway.services[OICP_CLIENT_SERVICE] = made
    return made, True


def chunked(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """``items`` in lists of at most ``size``."""
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


__all__ = [
    "HUBJECT_PARTNER",
    "OICP_CLIENT_SERVICE",
    "PUSHING",
    "SETTINGS_SERVICE",
    "TARGETS",
    "EmspDataSettings",
    "Presentation",
    "chunked",
    "oicp_client",
    "settings_from_config",
    "settings_of",
]
