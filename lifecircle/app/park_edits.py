"""A park added in the workbench updates the park figures without re-running the park stage.

Each park figure is a share of residential land (or of people) covered by the union of the
parks' zones: straight-line tier buffers (the official and the activity-space figures), walking
zones (the walking figure), cells within a park's tier radius by walking (the population
figure). A zone depends on its park alone, so adding a park measures the new park alone
(:func:`lifecircle.pipeline.stages.park_figures` on its one row) and adds to the covered land
what its zone covers of the land still uncovered; the population figure ORs the cells. The
result equals the full stage to rounding (tests: 1e-9; measured 1e-16 on central Chengdu).

A close has no such inverse (the union must be rebuilt from the remaining parks): closes, undo
and any other change re-run the park figures in full.
"""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from lifecircle.coverage.engine import NodeIndex
from lifecircle.coverage.parks import ParkCoverage, ParkPopulationCoverage
from lifecircle.layers.study import Study
from lifecircle.pipeline.stages import ParkFigures, park_figures


def add_park(figures: ParkFigures, study: Study, row: gpd.GeoDataFrame, index: NodeIndex,
             max_snap_m: float) -> ParkFigures:
    """The park figures after adding the park ``row`` (one row of ``study.facilities``, the
    study after the add).

    Parameters
    ----------
    figures : the figures before the add (of the study's other parks)
    study : the study after the add
    row : the new park (a one-row frame, network CRS)
    index : snapping index of the walk network
    max_snap_m : snapping distance of the run

    Returns
    -------
    ParkFigures. Their per-park tables list the new park with its own covered area; the
    ``unique_m2`` of the parks it overlaps are not updated (the workbench shows no park table).
    """
    one = park_figures(study, index, max_snap_m, park_rows=row, osm_spaces=False)
    people = study.population.population
    return ParkFigures(
        standard=_union(figures.standard, one.standard),
        walk=_union(figures.walk, one.walk),
        people=_either(figures.people, one.people, people),
        activity=_union(figures.activity, one.activity),
        n_spaces=figures.n_spaces + int(one.n_spaces))


def _union(old: ParkCoverage, new: ParkCoverage) -> ParkCoverage:
    """Coverage of the union of two park sets' zones on the same residential land: the old
    covered land plus what the new zone covers of the old uncovered land."""
    parts = old.residential
    uncovered = parts.geometry.values[~parts["covered"].to_numpy()]
    gained = shapely.intersection(uncovered, new.zone)
    left = shapely.difference(uncovered, new.zone)
    total = old.residential_ha * 1e4
    covered = old.covered_ha * 1e4 + float(shapely.area(gained).sum())
    geometry = np.concatenate([parts.geometry.values[parts["covered"].to_numpy()], gained, left])
    flags = np.repeat([True, True, False], [len(geometry) - 2 * uncovered.size, uncovered.size,
                                            uncovered.size])
    keep = shapely.area(geometry) > 0
    residential = gpd.GeoDataFrame({"covered": flags[keep], "area_m2": shapely.area(
        geometry[keep])}, geometry=gpd.GeoSeries(geometry[keep], crs=parts.crs), crs=parts.crs)
    return dataclasses.replace(
        old, value=covered / total if total > 0 else old.value, covered_ha=covered / 1e4,
        uncovered_ha=(total - covered) / 1e4, tier_counts=_counts(old.tier_counts,
                                                                  new.tier_counts),
        residential=residential, parks=pd.concat([old.parks, new.parks], ignore_index=True),
        zone=shapely.union(old.zone, new.zone))


def _either(old: ParkPopulationCoverage, new: ParkPopulationCoverage, weight: np.ndarray
            ) -> ParkPopulationCoverage:
    """Population within the radius of a park of either set."""
    within = old.within | new.within
    covered = float(weight[within].sum())
    total = old.population_total
    return dataclasses.replace(
        old, value=covered / total if total > 0 else old.value, population_covered=covered,
        within=within, tier_counts=_counts(old.tier_counts, new.tier_counts))


def _counts(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {k: a.get(k, 0) + b.get(k, 0) for k in dict.fromkeys([*a, *b])}
