"""Stages of a run beyond nearest distances: park coverage, service circles and life-circle
completeness, each turned into typed metrics (:class:`lifecircle.metrics.Metric`), GeoPackage
layers and tables."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from lifecircle.coverage import circles, parks
from lifecircle.coverage.engine import NodeIndex
from lifecircle.coverage.walk import KindAccess
from lifecircle.layers.study import Study
from lifecircle.metrics import ASSUMED, MEASURED, Metric

#: at most this many service circles (facilities x thresholds) are drawn per facility in a run:
#: the map shows them as polygons up to the same count (``maps.webmap.MAX_VECTOR_CIRCLES``,
#: an assumption) and as each kind's covered area above it
MAX_FACILITY_CIRCLES = 2_000

# the presets of the two park indicators (seeds/standards.yaml park_tiers)
OFFICIAL_PRESET = "gbt50563-2010"
ACTIVITY_PRESET = "activity-space-2021"


def as_metric(metric_id: str, entry: dict[str, Any]) -> Metric:
    """A typed metric from a stage's entry: ``value``, ``method``, ``denominator``, ``reason``
    and ``assumed`` become fields, the rest details. A ``unit`` in the entry must agree with the
    registry (units are never guessed)."""
    entry = dict(entry)
    unit = entry.pop("unit", None)
    metric = Metric(metric_id, entry.pop("value"), entry.pop("method"),
                    entry.pop("denominator"),
                    status=ASSUMED if entry.pop("assumed", False) else MEASURED,
                    reason=entry.pop("reason", None), details=entry)
    if unit is not None and unit != metric.unit:
        raise ValueError(f"{metric_id}: produced in {unit}, registered in {metric.unit}")
    return metric


@dataclass
class StageOutput:
    """Metrics, layers and tables one stage adds to a run."""

    metrics: dict[str, Metric] = field(default_factory=dict)
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    cell_columns: dict[str, np.ndarray] = field(default_factory=dict)


def park_stage(study: Study, node_index: NodeIndex, max_snap_m: float) -> StageOutput:
    """The park indicators (DESIGN §3), the covered/uncovered residential land and the per-park
    table.

    - ``park_service_radius_coverage``: 公园绿地服务半径覆盖率, GB/T 50563-2010 tiers over park
      polygons, with its walking and population variants;
    - ``park_activity_space_coverage``: 公园绿化活动场地服务半径覆盖率 (the city-check indicator
      Sichuan's 86 % target names): parks plus squares and green activity spaces, its own tiers
      (an assumption until verified, said in the metric).
    """
    output = StageOutput()
    park_rows = study.facilities[study.facilities["kind"] == "park"]
    if park_rows.empty:
        return output
    land, pop, historic = study.residential, study.population, study.historic
    official = parks.park_tiers(OFFICIAL_PRESET)
    standard = parks.park_service_radius_coverage(park_rows, land, official, historic)
    # walks on the study's directed cost when it has one (slopes, gated compounds)
    walk = parks.park_service_radius_coverage_walk(park_rows, land, study.network, node_index,
                                                   official, historic, max_snap_m=max_snap_m,
                                                   cost=study.cost)
    people = parks.park_service_radius_coverage_population(park_rows, study.network, pop.x,
                                                           pop.y, pop.population, node_index,
                                                           official, historic,
                                                           max_snap_m=max_snap_m,
                                                           cost=study.cost)
    land_note = "residential land (dissolved) in the study area"
    output.metrics["park_service_radius_coverage"] = _park_metric(
        "park_service_radius_coverage", standard,
        f"straight-line buffers of park polygons, radius by park size tier ({standard.tiers}; "
        "GB/T 50563-2010)", land_note)
    activity_tiers = parks.park_tiers(ACTIVITY_PRESET)
    spaces = activity_spaces(study, park_rows)
    activity = parks.park_service_radius_coverage(spaces, land, activity_tiers, historic)
    output.metrics["park_activity_space_coverage"] = _park_metric(
        "park_activity_space_coverage", activity,
        f"straight-line buffers of parks, squares and green activity spaces ({len(spaces)} "
        f"polygons), radius by size tier ({activity.tiers}: 300 m 见绿 / 500 m 见园)", land_note,
        assumption=parks.tier_assumption(activity_tiers))
    output.metrics["park_service_radius_coverage_walk"] = _park_metric(
        "park_service_radius_coverage_walk", walk,
        "walking distance from park entrances within the tier radius (streets, then a "
        f"straight leg of at most {max_snap_m:g} m)", land_note)
    output.metrics["park_service_radius_coverage_population"] = as_metric(
        "park_service_radius_coverage_population", {
            "value": _finite(people.value),
            "method": "population whose walk to a park is within that park's tier radius",
            "denominator": f"population ({pop.source})",
            "population_covered": people.population_covered,
            "population_total": people.population_total,
            "parks_per_tier": people.tier_counts,
            "tiers": people.tiers,
            "reason": people.reason,
        })
    output.layers["residential"] = standard.residential
    output.tables["parks.csv"] = standard.parks.merge(
        walk.parks[["fid", "covered_m2", "unique_m2"]], on="fid", suffixes=("", "_walk"))
    output.cell_columns["park_within_radius"] = people.within
    return output


def activity_spaces(study: Study, park_rows: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Parks plus the squares and green activity spaces the activity-space indicator counts:
    from the OSM file when the study has one, always with the study's own parks."""
    frames = [park_rows[["fid", "name", "geometry"]]]
    if study.extract is not None:
        found = parks.parks_from_features(study.extract.features, study.crs, ACTIVITY_PRESET)
        frames.append(found[~found["fid"].isin(park_rows["fid"])])
    spaces = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry",
                              crs=study.crs)
    return spaces.clip(study.area) if len(spaces) else spaces


def _park_metric(metric_id: str, result: parks.ParkCoverage, method: str,
                 denominator: str, assumption: str | None = None) -> Metric:
    return as_metric(metric_id, {
        "assumed": assumption is not None,
        "value": _finite(result.value),
        "unit": "share",
        "method": method,
        "denominator": denominator,
        "residential_ha": result.residential_ha,
        "covered_ha": result.covered_ha,
        "uncovered_ha": result.uncovered_ha,
        "parks_per_tier": result.tier_counts,
        "tiers": result.tiers,
        "reason": assumption or result.reason,
    })


def circle_stage(study: Study, node_index: NodeIndex, access: dict[str, KindAccess],
                 max_snap_m: float, thresholds: dict[str, list[float]] | None = None,
                 per_facility: bool | None = None) -> StageOutput:
    """Each kind's covered area (``service_areas``) and the uncovered study area and residential
    land per kind, from the kind's one multi-source pass; and, where asked, the service circle
    of every facility (``service_circles``).

    ``per_facility`` None draws the per-facility circles only while the map shows them as
    polygons (at most :data:`MAX_FACILITY_CIRCLES` circles); above that the map draws each
    kind's ``service_areas`` as an image, and the circles would cost one search and one buffer
    per facility for nothing. The ``circles`` command asks for them explicitly.
    """
    output = StageOutput()
    wanted = {k: (thresholds or {}).get(k, [a.threshold_m]) for k, a in access.items()}
    if not access:
        return output
    strokes = circles.street_strokes(study.network)
    if per_facility is None:
        n_circles = sum(int((study.facilities["kind"] == k).sum()) * len(set(wanted[k]))
                        for k in access)
        per_facility = n_circles <= MAX_FACILITY_CIRCLES
    if per_facility:
        frames = []
        for kind in access:
            of_kind = study.facilities[study.facilities["kind"] == kind]
            drawn = circles.service_circles(study.network, node_index, of_kind.geometry.values,
                                            wanted[kind], max_snap_m=max_snap_m,
                                            strokes=strokes)
            drawn.insert(0, "facility_id",
                         of_kind["fid"].to_numpy()[drawn["facility"].to_numpy()])
            drawn.insert(0, "kind", kind)
            frames.append(drawn[~drawn.geometry.is_empty].drop(columns="facility"))
        output.layers["service_circles"] = gpd.GeoDataFrame(
            pd.concat(frames, ignore_index=True), geometry="geometry", crs=study.crs)
    # each kind's covered area from its one multi-source pass, not from unioning every circle
    union = circles.covered_by_kind(
        study.network, {k: a.node_distance_m for k, a in access.items()}, wanted,
        strokes=strokes, crs=study.crs)
    output.layers["service_areas"] = union
    output.layers["uncovered"] = circles.uncovered_by_kind(union, study.area,
                                                           study.residential)
    return output


def completeness_stage(access: dict[str, KindAccess], population: np.ndarray,
                       population_source: str, life_circle_set: list[str]) -> StageOutput:
    """``life_circle_15min_complete`` and, per cell, the kinds reached and missing.

    The share is computed only when every kind of the set was measured with data; otherwise it
    is "not measured" and says which kinds are missing (a partial set would inflate it)."""
    output = StageOutput()
    with warnings.catch_warnings():
        # the run has already warned about kinds without facilities; the metric lists them
        warnings.simplefilter("ignore", UserWarning)
        result = circles.life_circle_completeness(
            {k: a.nearest.distance_m for k, a in access.items()},
            {k: a.threshold_m for k, a in access.items()}, population, life_circle_set)
    unmeasured = [k for k in life_circle_set if k not in access]
    missing = list(dict.fromkeys([*unmeasured, *result.missing_layers]))
    reason = result.reason
    if missing:
        reason = ("not measured: the 15-minute set needs every kind of GB 50180-2018 附录B; no "
                  f"data for {', '.join(missing)}")
    output.metrics["life_circle_15min_complete"] = as_metric("life_circle_15min_complete", {
        "value": None if missing else _finite(result.value),
        "unit": "share",
        "method": "population reaching every kind of the life-circle set within each kind's "
                  "walking threshold",
        "denominator": f"population ({population_source})",
        "kinds": list(result.kinds),
        "missing_layers": missing,
        "set": list(life_circle_set),
        "reason": reason,
    })
    output.cell_columns["kinds_reached"] = result.kinds_reached
    output.cell_columns["missing_kinds"] = result.missing_names()
    return output


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
