"""Demand and capacity parameters of the catchment analysis, from ``seeds/demand.yaml``.

Census age shares (who needs a school place, a kindergarten place, a bed) and default capacities
per kind; a run may override both. Read here, passed to :mod:`lifecircle.coverage.catchments`
as :class:`DemandSettings` (the engine reads no files).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from lifecircle.seeds import parse_yaml

_ADULT_SOURCE = re.compile(r"20\s*plus|age\s*20|20\+|adult", re.IGNORECASE)


@dataclass(frozen=True)
class KindDemand:
    """Demand and capacity parameters of one kind.

    Attributes
    ----------
    share : share of the total population that needs the kind (school ages, or 1)
    ages : the ages in need, inclusive (None: every age)
    capacity_unit : what ``capacity`` counts: places, seats or beds
    default_capacity : capacity of a facility whose own is unknown
    served_per_unit : people one unit of capacity serves (1 per seat; residents per bed)
    share_source, capacity_source : where the figures come from
    """

    share: float
    ages: tuple[int, int] | None
    capacity_unit: str
    default_capacity: float
    served_per_unit: float
    share_source: str
    capacity_source: str


@dataclass(frozen=True)
class DemandSettings:
    """Demand parameters of a run.

    Attributes
    ----------
    kinds : parameters per kind
    population_basis : what the population grid counts: ``total`` or ``adults_20plus``
    to_total : factor from the grid's population to the total population it stands for
    """

    kinds: Mapping[str, KindDemand]
    population_basis: str
    to_total: float

    def of(self, kind: str) -> KindDemand:
        """The parameters of ``kind``.

        Raises
        ------
        ValueError
            When the kind has no catchment parameters.
        """
        if kind not in self.kinds:
            raise ValueError(f"no catchment demand defined for kind {kind!r}; "
                             f"kinds with catchments: {', '.join(self.kinds)}")
        return self.kinds[kind]


@lru_cache(maxsize=1)
def demand_seed() -> dict[str, Any]:
    """The parsed ``seeds/demand.yaml`` (read-only by convention).

    Returns
    -------
    dict with ``census``, ``population_basis`` (factor per basis) and ``kinds``
    """
    text = resources.files("lifecircle.seeds").joinpath("demand.yaml").read_text(encoding="utf-8")
    return parse_yaml(text)


def demand_settings(population_basis: str = "total", shares: Mapping[str, float] | None = None,
                    capacities: Mapping[str, float] | None = None,
                    region: str | None = None) -> DemandSettings:
    """Demand parameters: the defaults of ``seeds/demand.yaml`` with a run's overrides.

    Parameters
    ----------
    population_basis : what the population grid counts: ``total`` (every age) or
        ``adults_20plus`` (e.g. a WorldPop age-20+ raster; scaled to a total with the census ratio,
        with a warning when demand is computed)
    shares : share of the total population per kind, replacing the census defaults
    capacities : default capacity per kind (places, seats, beds) for facilities without their own
    region : a region of ``regions`` in demand.yaml (成都市, 四川省, 重庆市, 全国) whose census age
        shares replace the national ones

    Examples
    --------
    >>> demand_settings(region="成都市").of("primary_school").share
    0.0557
    >>> demand_settings().of("primary_school").share
    0.0754

    Raises
    ------
    ValueError
        For an unknown basis or kind, a share outside 0..1 or a capacity that is not >= 0.
    """
    seed = demand_seed()
    if population_basis not in seed["population_basis"]:
        raise ValueError(f"unknown population basis {population_basis!r}; "
                         f"known: {', '.join(seed['population_basis'])}")
    shares, capacities = dict(shares or {}), dict(capacities or {})
    regional = seed["regions"].get(region, {}) if region else {}
    regional_shares = {k: v for k, v in regional.get("shares", {}).items() if k not in shares}
    unknown = sorted((set(shares) | set(capacities)) - set(seed["kinds"]))
    if unknown:
        raise ValueError(f"no catchment demand defined for kind(s) {', '.join(unknown)}")
    kinds = {}
    for kind, spec in seed["kinds"].items():
        share = float(shares.get(kind, regional_shares.get(kind, spec["share"])))
        capacity = float(capacities.get(kind, spec["default_capacity"]))
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"{kind}: demand share must be within 0..1, got {share}")
        if not (np.isfinite(capacity) and capacity >= 0):
            raise ValueError(f"{kind}: default capacity must be a number >= 0, got {capacity}")
        kinds[kind] = KindDemand(
            share=share,
            ages=tuple(spec["ages"]) if spec.get("ages") else None,
            capacity_unit=spec["capacity_unit"],
            default_capacity=capacity,
            served_per_unit=float(spec["served_per_unit"]),
            share_source=("run parameter" if kind in shares else
                          f"{region}: {regional['shares_source']}; {regional['source']}"
                          if kind in regional_shares else spec["share_source"]),
            capacity_source=(spec["capacity_source"] if kind not in capacities
                             else "run parameter"),
        )
    return DemandSettings(kinds=kinds, population_basis=population_basis,
                          to_total=float(seed["population_basis"][population_basis]))


def guess_population_basis(source: str) -> str:
    """``adults_20plus`` when a population source label names an adults-only raster (such as
    WorldPop's ``..._age20plus_...``), else ``total``."""
    return "adults_20plus" if _ADULT_SOURCE.search(source) else "total"


def demand_region(regions: list[str]) -> str | None:
    """The most specific of ``regions`` that demand.yaml has census shares for (a city before
    its province, a province before 全国), or None.

    Examples
    --------
    >>> demand_region(["四川省", "成都市", "全国"])
    '成都市'
    >>> demand_region(["渠县", "四川省", "全国"])
    '四川省'
    """
    table = demand_seed()["regions"]

    def depth(name: str) -> int:
        parent = table[name].get("parent")
        return 0 if parent is None else 1 + depth(parent)

    known = [r for r in regions if r in table]
    return max(known, key=depth) if known else None
