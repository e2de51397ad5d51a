"""One figure, the common case: walk coverage of one kind from the user's own GeoDataFrames."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from lifecircle.config import RunConfig
from lifecircle.coverage.engine import node_index
from lifecircle.coverage.walk import kind_access
from lifecircle.layers.study import Study


def walk_coverage(streets: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame,
                  population: gpd.GeoDataFrame | str | Path, kind: str,
                  threshold_m: float | None = None, max_snap_m: float | None = None) -> float:
    """Share of people whose walk to the nearest facility of ``kind`` is within the threshold.

    Parameters
    ----------
    streets : walkable LineStrings (lines join where they share a vertex)
    facilities : points or polygons with a ``kind`` column
    population : points with a ``population`` column, or a raster path
    kind : the facility kind (a kind of standards.yaml, e.g. ``primary_school``)
    threshold_m : walking threshold (default: the standard's for the kind)
    max_snap_m : farthest straight-line access to a street (default 300 m)

    Returns
    -------
    float, the covered share (NaN without population)

    Examples
    --------
    >>> from shapely import LineString, Point
    >>> crs = "EPSG:32648"
    >>> streets = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (1000, 0)])], crs=crs)
    >>> school = gpd.GeoDataFrame({"kind": ["primary_school"]}, geometry=[Point(0, 0)], crs=crs)
    >>> homes = gpd.GeoDataFrame({"population": [100.0, 50.0]},
    ...                          geometry=[Point(400, 30), Point(900, 0)], crs=crs)
    >>> walk_coverage(streets, school, homes, "primary_school")  # 400 + 30 m <= 500 m
    0.6666666666666666
    """
    config = RunConfig(thresholds_m={kind: threshold_m} if threshold_m else {},
                       max_snap_m=max_snap_m)
    study = Study.from_frames(streets, facilities, population, **config.model_dump(
        include={"thresholds_m", "max_snap_m"}))
    index = node_index(study.network)
    pop = study.population
    cells = index.snap(pop.x, pop.y, config.snap_m())
    access = kind_access(index, study.facilities, cells, kind, config.threshold(kind),
                         config.snap_m(), config.cap_m())
    total = float(pop.population.sum())
    covered = float(pop.population[access.nearest.distance_m <= access.threshold_m].sum())
    return covered / total if total > 0 else float("nan")
