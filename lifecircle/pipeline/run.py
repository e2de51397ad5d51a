"""One run: a loaded study -> typed metrics, layers, tables and scored targets (DESIGN §4)."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

import geopandas as gpd
import numpy as np

from lifecircle.config import RunConfig
from lifecircle.coverage import catchments as catchment
from lifecircle.coverage.engine import node_index as shared_index
from lifecircle.coverage.walk import KindAccess, kind_access
from lifecircle.forked import start_beside
from lifecircle.layers.regions import regions_at
from lifecircle.layers.study import Study
from lifecircle.layers.walking import compounds_layer
from lifecircle.metrics import Metric, kind_label
from lifecircle.notes import REGION_UNKNOWN
from lifecircle.pipeline.data_check import data_coverage
from lifecircle.pipeline.result import RunResult
from lifecircle.pipeline.stages import (
    StageOutput,
    as_metric,
    catchment_kinds,
    circle_stage,
    completeness_stage,
    kind_records,
    park_stage,
)
from lifecircle.seeds import kind_names
from lifecircle.seeds.demand import demand_region, demand_settings, guess_population_basis
from lifecircle.seeds.targets import NATIONAL, Target, known_regions, load_targets, select_targets

Progress = Callable[[str], None]


def run(study: Study, config: RunConfig | None = None,
        progress: Progress | None = None, *, defer_layers: bool = False,
        while_waiting: Callable[[RunConfig], object] | None = None) -> RunResult:
    """Compute every metric the study's layers allow.

    Parameters
    ----------
    study : the loaded layers (``Study.from_osm``, ``Study.from_frames``, ...)
    config : thresholds, kinds, snapping and targets (default: the study's own configuration)
    progress : called with a short label before each stage
    defer_layers : return while the ``uncovered`` layer (read by nothing the run writes but
        coverage.gpkg) is still computed on a thread: it is in
        :attr:`RunResult.pending_layers` until :meth:`RunResult.settle_layers`, and
        :meth:`RunResult.to_folder` writes it last (the command line's run: a 50x SYNTHETIC
        city's overlays then go on while the other layers are written)
    while_waiting : called with the configuration once the service circles are drawn, while
        this process waits for the catchments and parks computed by a forked process (only when
        they are): the command line imports the map's and report's modules there
        (:func:`~lifecircle.pipeline.result.import_writers`)

    Returns
    -------
    RunResult

    Examples
    --------
    >>> from lifecircle import Study
    >>> from lifecircle.data import sample_path
    >>> study = Study.from_osm(sample_path(), residential_density=400,
    ...                        kinds=["primary_school"])
    >>> result = run(study)
    >>> round(float(result.metrics.loc["walk_coverage.primary_school", "value"]), 3)
    0.146
    """
    config = config or study.config
    say = progress or (lambda _label: None)
    timings: dict[str, float] = {}
    started = time.perf_counter()

    def lap(name: str) -> None:
        timings[name] = time.perf_counter() - started - sum(timings.values())

    say("walking distances per kind")
    index = shared_index(study.network)
    pop = study.population
    cost = study.cost  # slopes and gated compounds; None: flat network distance
    cells = (index.snap(pop.x, pop.y, config.snap_m()) if cost is None
             else cost.snap(index, pop.x, pop.y, config.snap_m()))
    access: dict[str, KindAccess] = {}
    missing: list[str] = []
    for kind in config.measured_kinds():
        if not (study.facilities["kind"] == kind).any() and kind not in study.absent_kinds:
            missing.append(kind)
            continue
        access[kind] = kind_access(index, study.facilities, cells, kind, config.threshold(kind),
                                   config.snap_m(), config.cap_m(), cost=cost)
    if missing:
        names = ", ".join(f"{kind_label(k, config.lang)} ({k})" for k in missing)
        warnings.warn(f"no facilities of kind(s) {names} in the study area: "
                      "reported as missing layers, not as zero coverage", stacklevel=2)
    lap("distances")  # snapping and one multi-source search per kind, the stage benchmarked
    coverage_warnings = data_coverage(study.facilities, pop.total, config.measured_kinds())
    for item in coverage_warnings:
        if item["kind"] not in missing:
            warnings.warn(item["message"], stacklevel=2)
    records: dict[str, Metric] = kind_records(study, access, kind_names())
    lap("coverage_metrics")

    say("catchments, park coverage and service circles")
    targets, regions = run_targets(config, study)
    settings = demand_settings(population_basis=guess_population_basis(pop.source),
                               region=demand_region(regions))
    lap("targets")

    def catchments_and_parks() -> tuple[list[catchment.KindCatchments], StageOutput,
                                        dict[str, float]]:
        own: dict[str, float] = {}
        begun = time.perf_counter()
        kinds = [catchment.kind_catchments(index, study.facilities, pop, cells, access[kind],
                                           config.snap_m(), settings, cost=cost)
                 for kind in catchment_kinds(study, access)]
        own["catchments"] = time.perf_counter() - begun
        parks = park_stage(study, index, config.snap_m())
        own["parks"] = time.perf_counter() - begun - own["catchments"]
        return kinds, parks, own

    # catchments and parks in a process forked beside the service circles (they need only
    # what is computed so far; central Chengdu: 0.6 s each way, on 2 cores); a city's run is
    # too large to fork (forked.can_fork) and computes them here
    with start_beside(catchments_and_parks) as beside:
        if not (beside.forked or defer_layers):
            # before the circles: after them, a 50x SYNTHETIC city's parks took 33 s instead
            # of 26 s (measured twice; the cause, perhaps the heap the circles leave, is not
            # established). With the uncovered layer deferred they run after the circles,
            # beside its overlays on a thread: stages and writing 127 -> 113 s at 50x
            beside.result()
        begun = time.perf_counter()
        stages = [circle_stage(study, index, access, config.snap_m(),
                               per_facility=config.facility_circles,
                               uncovered_later=defer_layers),
                  completeness_stage(access, pop.population, pop.source)]
        circles_s = time.perf_counter() - begun
        if beside.forked and while_waiting is not None:
            while_waiting(config)  # central Chengdu: 0.3 s idle here, on 2 cores
        [(catchments, parks, own)] = beside.result()
    stages.insert(0, parks)
    for result in catchments:
        records.update({k: as_metric(k, v) for k, v in result.metrics.items()})
    lap("stages")  # the three's wall time; each one's own seconds are added to the timings
    own["circles"] = circles_s

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
    pending = {}
    for stage in stages:
        records.update(stage.metrics)
        layers.update(stage.layers)
        pending.update(stage.pending)
        tables.update(stage.tables)
        cell_columns.update(stage.cell_columns)
    layers["population"] = _population_layer(study, access, cells.access_m, cell_columns)
    if cost is not None and cost.compounds is not None:
        layers["compounds"] = compounds_layer(
            cost, index, study.facilities, pop.x, pop.y, pop.population,
            {k: a.nearest.distance_m for k, a in access.items()}, config.snap_m(),
            {k: max(config.cap_m(), a.threshold_m) for k, a in access.items()}, study.crs)
    lap("tables")
    return RunResult(study=study, config=config, access=access, records=records, layers=layers,
                     missing_kinds=missing, timings_s=study.timings_s | timings | own,
                     target_list=targets,
                     tables=tables, regions=regions, data_coverage=coverage_warnings,
                     pending_layers=pending)


def run_targets(config: RunConfig, study: Study) -> tuple[list[Target], list[str]]:
    """The targets a run scores and the regions they come from: those of ``--region`` or, by
    default, of the regions the study area lies in (Chengdu: 四川省 and 全国; never the targets of
    other regions or of places inside its region), narrowed to ``--targets`` ids.

    Raises
    ------
    InputError
        An unknown region or target id.
    """
    catalogue = load_targets(config.targets_file)
    if config.region is not None:  # the catalogue's names of it: 四川 -> 四川省
        regions = list(dict.fromkeys(t.region for t in select_targets(
            catalogue, region=config.region, nested=False, enclosing=False)))
    else:
        found = regions_at(study.area, study.crs, known_regions(catalogue))
        if found is None:
            study.notes.append(REGION_UNKNOWN)
        regions = found or []
    chosen = [t for t in catalogue if t.region == NATIONAL]
    for region in regions:
        chosen += select_targets(catalogue, region=region, nested=False)
    if config.targets is not None:
        wanted = {t.id for t in select_targets(catalogue, ids=config.targets)}
        chosen = [t for t in chosen if t.id in wanted]
    seen = {t.id for t in chosen}
    return [t for t in catalogue if t.id in seen], [*regions, NATIONAL]


def _population_layer(study: Study, access: dict[str, KindAccess], access_m: np.ndarray,
                      extra: dict[str, np.ndarray]) -> gpd.GeoDataFrame:
    pop = study.population
    columns: dict[str, object] = {"population": pop.population, "snap_m": access_m}
    for kind, kind_acc in access.items():
        columns[f"dist_{kind}"] = kind_acc.nearest.distance_m
        columns[f"nearest_{kind}"] = kind_acc.nearest_fid
    columns.update(extra)
    return gpd.GeoDataFrame(columns, geometry=pop.cell_polygons().values, crs=study.crs)
