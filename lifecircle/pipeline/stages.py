"""Stages of a run beyond nearest distances: park coverage, service circles and life-circle
completeness, each turned into typed metrics (:class:`lifecircle.metrics.Metric`), GeoPackage
layers and tables."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from lifecircle.coverage import circles, parks
from lifecircle.coverage.catchments import CATCHMENT_KINDS
from lifecircle.coverage.engine import NodeIndex
from lifecircle.coverage.parallel import in_threads, on_a_thread
from lifecircle.coverage.supply import park_green_per_capita
from lifecircle.coverage.walk import KindAccess, walk_coverage_metric
from lifecircle.layers.study import Study
from lifecircle.metrics import ASSUMED, MEASURED, Metric
from lifecircle.seeds import load_standards

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


def kind_records(study: Study, access: dict[str, KindAccess], kinds: Iterable[str]
                 ) -> dict[str, Metric]:
    """``facility_count.<kind>`` of each kind and ``walk_coverage.<kind>`` of those measured
    (in ``access``)."""
    pop, frame = study.population, study.facilities
    records = {}
    for kind in kinds:
        if kind in access:
            records[f"walk_coverage.{kind}"] = as_metric(
                f"walk_coverage.{kind}",
                walk_coverage_metric(access[kind], pop.population, pop.source))
        records[f"facility_count.{kind}"] = Metric(
            f"facility_count.{kind}", int((frame["kind"] == kind).sum()),
            "facilities of the kind in the input layers", "none")
    return records


def catchment_kinds(study: Study, access: dict[str, KindAccess]) -> list[str]:
    """The kinds whose catchments a run measures: catchment kinds measured with facilities."""
    return [k for k in CATCHMENT_KINDS if k in access and k not in study.absent_kinds]


@dataclass
class StageOutput:
    """Metrics, layers and tables one stage adds to a run (``pending``: layers still being
    computed on a thread, see :func:`settle_layers`)."""

    metrics: dict[str, Metric] = field(default_factory=dict)
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    cell_columns: dict[str, np.ndarray] = field(default_factory=dict)
    pending: dict[str, Future] = field(default_factory=dict)


def settle_layers(pending: dict[str, Future], layers: dict[str, gpd.GeoDataFrame]) -> None:
    """Move each pending layer into ``layers`` once computed (waits for it; a failure of its
    work is raised here).

    Examples
    --------
    >>> from concurrent.futures import Future
    >>> done, layers = Future(), {}
    >>> done.set_result("the layer")
    >>> pending = {"uncovered": done}
    >>> settle_layers(pending, layers)
    >>> pending, layers
    ({}, {'uncovered': 'the layer'})
    """
    for name in list(pending):
        layers[name] = pending[name].result()
        del pending[name]


@dataclass
class ParkFigures:
    """The four park coverages a run measures (before they become metrics): the official
    figure, its walking and population variants, and the activity-space figure over
    ``n_spaces`` polygons."""

    standard: parks.ParkCoverage
    walk: parks.ParkCoverage
    people: parks.ParkPopulationCoverage
    activity: parks.ParkCoverage
    n_spaces: int


def park_figures(study: Study, node_index: NodeIndex, max_snap_m: float,
                 park_rows: gpd.GeoDataFrame | None = None, osm_spaces: bool = True
                 ) -> ParkFigures | None:
    """The park coverages of ``park_rows`` (default: the study's parks); None without parks.
    ``osm_spaces=False``: the activity-space figure of the parks alone, without the OSM file's
    squares and green spaces.

    - ``park_service_radius_coverage``: 公园绿地服务半径覆盖率, GB/T 50563-2010 tiers over park
      polygons, with its walking and population variants;
    - ``park_activity_space_coverage``: 公园绿化活动场地服务半径覆盖率 (the city-check indicator
      Sichuan's 86 % target names): parks plus squares and green activity spaces, its own tiers
      (an assumption until verified, said in the metric).
    """
    if park_rows is None:
        park_rows = study.facilities[study.facilities["kind"] == "park"]
    if park_rows.empty:
        return None
    land, pop, historic = study.residential, study.population, study.historic
    official = parks.park_tiers(OFFICIAL_PRESET)
    spaces = activity_spaces(study, park_rows, osm_spaces)
    # four independent figures, each mostly GEOS overlays: one thread per core
    figures = in_threads(lambda figure: figure(), [
        lambda: parks.park_service_radius_coverage(park_rows, land, official, historic),
        lambda: parks.park_service_radius_coverage_walk(
            park_rows, land, study.network, node_index, official, historic,
            max_snap_m=max_snap_m, cost=study.cost),
        lambda: parks.park_service_radius_coverage_population(
            park_rows, study.network, pop.x, pop.y, pop.population, node_index, official,
            historic, max_snap_m=max_snap_m, cost=study.cost),
        lambda: parks.park_service_radius_coverage(spaces, land, parks.park_tiers(
            ACTIVITY_PRESET), historic)])
    standard, walk, people, activity = figures
    return ParkFigures(standard=standard, walk=walk, people=people, activity=activity,
                       n_spaces=len(spaces))


def park_metrics(figures: ParkFigures | None, study: Study, max_snap_m: float
                 ) -> dict[str, Metric]:
    """The park metrics of a study from its :class:`ParkFigures` (DESIGN §3), and the park green
    area per resident."""
    park_rows = study.facilities[study.facilities["kind"] == "park"]
    metrics = {"park_green_per_capita_m2": as_metric(
        "park_green_per_capita_m2", park_green_per_capita(park_rows.geometry.values, study.area,
                                                          study.population.total))}
    if figures is None:
        return metrics
    standard, activity, walk, people = (figures.standard, figures.activity, figures.walk,
                                        figures.people)
    land_note = "residential land (dissolved) in the study area"
    metrics["park_service_radius_coverage"] = _park_metric(
        "park_service_radius_coverage", standard,
        f"straight-line buffers of park polygons, radius by park size tier ({standard.tiers}; "
        "GB/T 50563-2010)", land_note)
    metrics["park_activity_space_coverage"] = _park_metric(
        "park_activity_space_coverage", activity,
        f"straight-line buffers of parks, squares and green activity spaces ({figures.n_spaces} "
        f"polygons), radius by size tier ({activity.tiers}: 300 m 见绿 / 500 m 见园)", land_note,
        assumption=parks.tier_assumption(parks.park_tiers(ACTIVITY_PRESET)))
    metrics["park_service_radius_coverage_walk"] = _park_metric(
        "park_service_radius_coverage_walk", walk,
        "walking distance from park entrances within the tier radius (streets, then a "
        f"straight leg of at most {max_snap_m:g} m)", land_note)
    metrics["park_service_radius_coverage_population"] = as_metric(
        "park_service_radius_coverage_population", {
            "value": _finite(people.value),
            "method": "population whose walk to a park is within that park's tier radius",
            "denominator": f"population ({study.population.source})",
            "population_covered": people.population_covered,
            "population_total": people.population_total,
            "parks_per_tier": people.tier_counts,
            "tiers": people.tiers,
            "reason": people.reason,
        })
    return metrics


def park_stage(study: Study, node_index: NodeIndex, max_snap_m: float) -> StageOutput:
    """The park indicators (:func:`park_figures`, :func:`park_metrics`), the covered/uncovered
    residential land and the per-park table."""
    output = StageOutput()
    figures = park_figures(study, node_index, max_snap_m)
    output.metrics.update(park_metrics(figures, study, max_snap_m))
    if figures is None:
        return output
    output.layers["residential"] = figures.standard.residential
    output.tables["parks.csv"] = figures.standard.parks.merge(
        figures.walk.parks[["fid", "covered_m2", "unique_m2"]], on="fid", suffixes=("", "_walk"))
    output.cell_columns["park_within_radius"] = figures.people.within
    return output


def activity_spaces(study: Study, park_rows: gpd.GeoDataFrame, osm_spaces: bool = True
                    ) -> gpd.GeoDataFrame:
    """Parks plus the squares and green activity spaces the activity-space indicator counts:
    from the OSM file when the study has one (and ``osm_spaces``), always with the study's own
    parks; clipped to the study area."""
    frames = [park_rows[["fid", "name", "geometry"]]]
    if study.extract is not None and osm_spaces:
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
                 per_facility: bool = False, uncovered_later: bool = False) -> StageOutput:
    """Each kind's covered area (``service_areas``) and the uncovered study area and residential
    land per kind, from the kind's one multi-source pass (with the study's walking cost when it has
    one: the homes that can walk to the facility); and, with ``per_facility``, the service
    circle of every facility (``service_circles``: one search and one buffer per facility, what
    ``lifecircle circles`` and ``run --facility-circles`` ask for).

    With ``uncovered_later`` the ``uncovered`` layer is computed on a thread and left in
    ``pending`` (:meth:`StageOutput.settle` waits for it): no metric, map, figure or report reads
    it, so a run's output folder writes it last, while its overlays go on beside the writing.
    """
    output = StageOutput()
    wanted = {k: (thresholds or {}).get(k, [a.threshold_m]) for k, a in access.items()}
    if not access:
        return output
    strokes = circles.street_strokes(study.network)
    if per_facility:
        def draw(kind: str) -> gpd.GeoDataFrame:
            of_kind = study.facilities[study.facilities["kind"] == kind]
            drawn = circles.service_circles(study.network, node_index, of_kind.geometry.values,
                                            wanted[kind], max_snap_m=max_snap_m,
                                            strokes=strokes, cost=study.cost)
            drawn.insert(0, "facility_id",
                         of_kind["fid"].to_numpy()[drawn["facility"].to_numpy()])
            drawn.insert(0, "kind", kind)
            return drawn[~drawn.geometry.is_empty].drop(columns="facility")

        frames = in_threads(draw, list(access))  # kinds side by side, one per core
        output.layers["service_circles"] = gpd.GeoDataFrame(
            pd.concat(frames, ignore_index=True), geometry="geometry", crs=study.crs)
    # each kind's covered area from its one multi-source pass, not from unioning every circle
    union = circles.covered_by_kind(
        study.network, {k: a.node_distance_m for k, a in access.items()}, wanted,
        strokes=strokes, crs=study.crs,
        rates=None if study.cost is None else study.cost.edge_rates(study.network))
    output.layers["service_areas"] = union
    if uncovered_later:
        # one overlay at a time, beside the writing on the other core: a 50x SYNTHETIC city's
        # 18 overlays take 28 s on 2 threads; two at once beside the writing peaked at 4.34 GiB
        output.pending["uncovered"] = on_a_thread(circles.uncovered_by_kind, union, study.area,
                                                  study.residential, 1)
    else:
        output.layers["uncovered"] = circles.uncovered_by_kind(union, study.area,
                                                               study.residential)
    return output


def completeness_stage(access: dict[str, KindAccess], population: np.ndarray,
                       population_source: str, life_circle_set: list[str] | None = None
                       ) -> StageOutput:
    """``life_circle_15min_complete`` and, per cell, the kinds reached and missing (default set:
    the 15-minute life circle of seeds/standards.yaml).

    The share is computed only when every kind of the set was measured with data; otherwise it
    is "not measured" and says which kinds are missing (a partial set would inflate it)."""
    output = StageOutput()
    if life_circle_set is None:
        life_circle_set = load_standards()["life_circle_sets"]["15min"]
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
