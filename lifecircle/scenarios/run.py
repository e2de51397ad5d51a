"""One run: a loaded study -> metrics, layers and the scorecard (DESIGN §4)."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

import lifecircle
from lifecircle.coverage import catchments as catchment
from lifecircle.coverage.engine import node_index as shared_index
from lifecircle.coverage.supply import park_green_per_capita
from lifecircle.coverage.walk import KindAccess, kind_access, walk_coverage_metric
from lifecircle.layers.study import Study
from lifecircle.output import atomic_directory, write_csv, write_json, write_layers
from lifecircle.scenarios.stages import circle_stage, completeness_stage, park_stage
from lifecircle.seeds import kind_names, load_standards
from lifecircle.seeds.targets import Target, load_targets, score_target, select_targets

Progress = Callable[[str], None]


@dataclass
class RunParams:
    """Parameters of a run; every default comes from ``seeds/standards.yaml``."""

    kinds: list[str] | None = None
    thresholds_m: dict[str, float] = field(default_factory=dict)
    max_snap_m: float | None = None
    limit_m: float | None = None
    region: str | None = None
    target_ids: list[str] | None = None
    targets_file: Path | None = None
    park_preset: str | None = None

    def targets(self) -> list[Target]:
        """The targets this run scores: by region and/or id from the packaged or a user
        catalogue; with neither, every target that names a metric."""
        catalogue = load_targets(self.targets_file)
        if self.region is None and self.target_ids is None:
            return [t for t in catalogue if t.metric is not None]
        return select_targets(catalogue, region=self.region, ids=self.target_ids)

    def threshold(self, kind: str) -> float:
        """The walking threshold of a kind: the override, else the standard's."""
        if kind in self.thresholds_m:
            return float(self.thresholds_m[kind])
        return float(load_standards()["kinds"][kind]["threshold_m"])

    def snap_m(self) -> float:
        """Largest straight-line distance from a point to the network."""
        if self.max_snap_m is not None:
            return float(self.max_snap_m)
        return float(load_standards()["snapping"]["max_snap_m"])

    def reach_m(self) -> float:
        """The longest walk any metric counts: largest threshold plus snapping at both ends.

        A region cut this far around an area gives the area the same coverage as the whole
        region would.
        """
        kinds = self.kinds or kind_names()
        return max(self.threshold(k) for k in kinds) + 2 * self.snap_m()

    def cap_m(self) -> float:
        """Dijkstra search bound."""
        if self.limit_m is not None:
            return float(self.limit_m)
        return float(load_standards()["snapping"]["distance_cap_m"])


@dataclass
class RunResult:
    """What a run computed; ``scorecard`` is the JSON contract, ``layers`` the GeoPackage."""

    study: Study
    params: RunParams
    access: dict[str, KindAccess]
    metrics: dict[str, dict[str, Any]]
    layers: dict[str, gpd.GeoDataFrame]
    missing_kinds: list[str]
    timings_s: dict[str, float]
    targets: list[Target] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def scored_targets(self) -> list[dict[str, Any]]:
        """Each target with the run's value, met and gap (DESIGN §4)."""
        scored = []
        for target in self.targets:
            metric = self.metrics.get(target.metric, {}) if target.metric else {}
            # a figure resting on default capacities says so beside its verdict
            scored.append(score_target(target, metric.get("value"))
                          | {"assumed": bool(metric.get("assumed", False))})
        return scored

    def scorecard(self) -> dict[str, Any]:
        """The scorecard.json document (DESIGN §4)."""
        study = self.study
        area_ha = study.area.area / 1e4
        return {
            "study_area": {
                "source": study.area_source,
                "area_ha": area_ha,
                "crs": study.crs.to_string(),
                "network_nodes": study.network.n_nodes,
                "network_length_km": study.network.total_length_m / 1000.0,
                "network_outside_largest_component_share": study.network.outside_largest_share,
            },
            "population": {
                "total": study.population.total,
                "source": study.population.source,
                "cells": study.population.n_cells,
            },
            "metrics": self.metrics,
            "targets": self.scored_targets(),
            "missing_layers": self.missing_kinds,
            "notes": study.notes,
            "inputs": _inputs(study),
            "version": lifecircle.__version__,
        }


def run_study(study: Study, params: RunParams | None = None,
              progress: Progress | None = None) -> RunResult:
    """Compute every metric the study's layers allow.

    Parameters
    ----------
    study : the loaded layers
    params : thresholds, kinds, snapping and targets (defaults from standards.yaml)
    progress : called with a short label before each stage
    """
    params = params or RunParams()
    targets = params.targets()
    say = progress or (lambda _label: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    say("snapping population cells")
    node_index = shared_index(study.network)
    pop = study.population
    cells = node_index.snap(pop.x, pop.y, params.snap_m())

    say("walking distances per kind")
    kinds = params.kinds or kind_names()
    access: dict[str, KindAccess] = {}
    missing: list[str] = []
    for kind in kinds:
        if not (study.facilities["kind"] == kind).any():
            missing.append(kind)
            continue
        access[kind] = kind_access(node_index, study.facilities, cells, kind,
                                   params.threshold(kind), params.snap_m(), params.cap_m())
    if missing:
        warnings.warn(f"no facilities of kind(s) {', '.join(missing)} in the study area: "
                      "reported as missing layers, not as zero coverage", stacklevel=2)
    timings["distances"] = time.perf_counter() - t0

    metrics: dict[str, dict[str, Any]] = {}
    for kind, kind_acc in access.items():
        metrics[f"walk_coverage.{kind}"] = walk_coverage_metric(kind_acc, pop.population,
                                                                pop.source)
    for kind in kind_names():
        metrics[f"facility_count.{kind}"] = {
            "value": int((study.facilities["kind"] == kind).sum()),
            "unit": "count",
            "method": "facilities of the kind in the input layers",
            "denominator": "none",
        }

    say("catchments, demand and capacity")
    settings = catchment.demand_settings(
        population_basis=catchment.guess_population_basis(pop.source))
    catchments = [catchment.kind_catchments(node_index, study.facilities, pop, cells,
                                            access[kind], params.snap_m(), settings)
                  for kind in catchment.CATCHMENT_KINDS if kind in access]
    for result in catchments:
        metrics.update(result.metrics)
    timings["catchments"] = time.perf_counter() - t0 - timings["distances"]

    say("park service-radius coverage")
    stages = [park_stage(study, node_index, params.snap_m(), params.park_preset)]
    say("service circles")
    stages.append(circle_stage(study, node_index, access, params.snap_m()))
    stages.append(completeness_stage(access, pop.population, pop.source))
    timings["parks_circles"] = time.perf_counter() - t0 - timings["distances"] - \
        timings["catchments"]

    metrics["park_green_per_capita_m2"] = park_green_per_capita(
        study.facilities.geometry.values[(study.facilities["kind"] == "park").to_numpy()],
        study.area, pop.total,
    )
    cell_columns: dict[str, np.ndarray] = {}
    for result in catchments:
        cell_columns.update(result.cell_columns())
    tables = {"facilities.csv": catchment.facilities_table(catchments)}
    layers = {
        "study_area": gpd.GeoDataFrame({"source": [study.area_source]}, geometry=[study.area],
                                       crs=study.crs),
        "catchments": catchment.catchments_layer(catchments),
        "facilities": study.facilities,
    }
    for stage in stages:
        metrics.update(stage.metrics)
        layers.update(stage.layers)
        tables.update(stage.tables)
        cell_columns.update(stage.cell_columns)
    layers["population"] = _population_layer(study, access, cells.access_m, cell_columns)
    timings["total"] = time.perf_counter() - t0
    return RunResult(study=study, params=params, access=access, metrics=metrics, layers=layers,
                     missing_kinds=missing, timings_s=timings, targets=targets, tables=tables)


def write_run(result: RunResult, out: str | Path, lang: str = "zh",
              figures: bool = True) -> Path:
    """Write a run's output folder atomically into ``out``: scorecard, GeoPackage, tables,
    ``map.html`` and (unless ``figures`` is false) ``figures/*.png``."""
    with atomic_directory(out) as staging:
        write_run_files(result, staging, lang, figures)
    return Path(out)


def write_run_files(result: RunResult, folder: Path, lang: str = "zh",
                    figures: bool = True) -> None:
    """Write scorecard.json, coverage.gpkg, the tables and the map into ``folder``."""
    from lifecircle.maps import write_figures, write_map

    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / "scorecard.json", result.scorecard())
    write_layers(folder / "coverage.gpkg", result.layers)
    for name, table in result.tables.items():
        if not table.empty:
            write_csv(folder / name, table)
    write_map(folder, lang=lang)
    if figures:
        write_figures(folder, lang=lang)


def _population_layer(study: Study, access: dict[str, KindAccess], access_m: np.ndarray,
                      extra: dict[str, np.ndarray]) -> gpd.GeoDataFrame:
    pop = study.population
    columns: dict[str, Any] = {"population": pop.population, "snap_m": access_m}
    for kind, kind_acc in access.items():
        columns[f"dist_{kind}"] = kind_acc.nearest.distance_m
        columns[f"nearest_{kind}"] = kind_acc.nearest_fid
    columns.update(extra)
    return gpd.GeoDataFrame(columns, geometry=pop.cell_polygons().values, crs=study.crs)


def _inputs(study: Study) -> dict[str, Any]:
    inputs = study.inputs
    return {
        "osm": _name(inputs.osm),
        "graphml": _name(inputs.graphml),
        "place": inputs.place,
        "population": _name(inputs.population),
        "population_total": inputs.population_total,
        "residential_density_per_ha": inputs.residential_density,
        "boundary": _name(inputs.boundary),
        "facilities": [Path(p).name for p in inputs.facilities],
        "coords": inputs.coords,
    }


def _name(path: Path | None) -> str | None:
    return Path(path).name if path is not None else None
