"""OCPI 2.1.1 ⇄ 2.2.1: Tariffs (docs/ocpi.md §5 Tariff)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.errors import MappingError
from bridge.ocpi.models import v2_1_1 as v211
from bridge.ocpi.models import v2_2_1 as v221
from mappings.ocpi_versions._rules import (
    Ctx,
    Rule,
    apply,
    at,
    build,
    drop,
    energy_mix,
    owner_defaulted,
    plain,
    same,
    time_up,
)
from mappings.result import Translation


def _elements_up(
    value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]
) -> dict[str, Any]:
    elements: list[dict[str, Any]] = plain(value, path, t)
    for i, element in enumerate(elements):
        restrictions = element.get("restrictions", {})
        for name in ("start_time", "end_time"):
            if name in restrictions:
                restrictions[name] = time_up(restrictions[name], f"{path}[{i}].restrictions.{name}", t)
    return {"elements": elements}


def _elements_down(
    value: Any, path: str, t: Translation[Any], ctx: Ctx, sib: Mapping[str, Any]
) -> dict[str, Any]:
    """§5 Tariff: drop ``vat`` and the current restrictions (lossy); an element restricted to a
    reservation is omitted whole: without its restriction it would price ordinary charging."""
    elements = []
    for i, element in enumerate(value):
        here = at(path, i)
        if element.restrictions is not None and element.restrictions.reservation is not None:
            t.lost(
                here,
                f"element for {element.restrictions.reservation.value} omitted: 2.1.1 has no reservations",
            )
            continue
        data: dict[str, Any] = plain(element, here, t)
        for j, component in enumerate(data["price_components"]):
            if component.pop("vat", None) is not None:
                t.lost(f"{here}.price_components[{j}].vat", "2.1.1 PriceComponent has no vat")
        restrictions = data.get("restrictions", {})
        for name in ("min_current", "max_current"):
            if restrictions.pop(name, None) is not None:
                t.lost(f"{here}.restrictions.{name}", "2.1.1 TariffRestrictions has no current restrictions")
        if "restrictions" in data and not restrictions:
            del data["restrictions"]
        elements.append(data)
    if not elements:
        raise MappingError(path, "no element can be expressed in 2.1.1")
    return {"elements": elements}


_TARIFF_LOSSY = "2.1.1 Tariff has no {}: lossy, the 2.1.1 peer prices without it"
TARIFF_UP: dict[str, Rule] = {
    "id": same(),
    "currency": same(),
    "tariff_alt_text": same(),
    "tariff_alt_url": same(),
    "elements": _elements_up,
    "energy_mix": energy_mix("up"),
    "last_updated": same(),
}
TARIFF_DOWN: dict[str, Rule] = {
    "country_code": drop("2.1.1 has no owner fields (the URL of the connection carries them)"),
    "party_id": drop("2.1.1 has no owner fields (the URL of the connection carries them)"),
    "id": same(),
    "currency": same(),
    "tariff_alt_text": same(),
    "tariff_alt_url": same(),
    **{
        name: drop(_TARIFF_LOSSY.format(name))
        for name in ("type", "min_price", "max_price", "start_date_time", "end_date_time")
    },
    "elements": _elements_down,
    "energy_mix": energy_mix("down"),
    "last_updated": same(),
}


def tariff_up_data(tariff: v211.Tariff, path: str, t: Translation[Any], ctx: Ctx) -> dict[str, Any]:
    owner_defaulted(t, path)
    return {
        "country_code": ctx.country_code,
        "party_id": ctx.party_id,
        **apply(TARIFF_UP, tariff, path, t, ctx),
    }


def tariff_up(t211: v211.Tariff, *, country_code: str, party_id: str) -> Translation[v221.Tariff]:
    """§5 Tariff (ingress): owner fields from the connection; ``24:00`` restriction times as ``00:00``.
    A 2.1.1 Tariff PATCH has no 2.2.1 counterpart: translate it with :func:`patch_up`, apply it to
    the stored Tariff and PUT the result."""
    t: Translation[Any] = Translation(None)
    t.value = build(v221.Tariff, tariff_up_data(t211, "", t, Ctx(country_code, party_id)), "")
    return t


def tariff_down(t221: v221.Tariff) -> Translation[v211.Tariff]:
    """§5 Tariff (egress): drops type, min/max_price, vat, start/end_date_time and the current and
    reservation restrictions, each noted; a tariff with nothing left is a MappingError."""
    t: Translation[Any] = Translation(None)
    t.value = build(v211.Tariff, apply(TARIFF_DOWN, t221, "", t, Ctx()), "")
    return t
