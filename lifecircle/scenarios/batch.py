"""Many areas (counties, districts) in one go on Dask: one task per area.

The region's OSM file is read once; each area's cut (its polygon buffered by the longest walk
any metric looks at) travels to a worker, which builds that area's network, runs every metric
counting only the area's own population and land, and writes the area's output folder. The
cuts are made as workers free up (two per worker thread in flight), so neither the driver nor
the scheduler holds a province's cuts at once, and the first area starts after one cut.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from lifecircle.config import RunConfig
from lifecircle.errors import InputError
from lifecircle.layers.crs import choose_local_crs, reproject_geometry
from lifecircle.layers.osm import OsmExtract, clip_extract, read_osm
from lifecircle.layers.study import load_study
from lifecircle.layers.vector import read_vector
from lifecircle.maps.overview import write_overview
from lifecircle.output import atomic_directory, write_csv, write_layers
from lifecircle.pipeline import run

HEADLINE = (
    "walk_coverage.primary_school",
    "walk_coverage.middle_school",
    "walk_coverage.clinic",
    "life_circle_15min_complete",
    "park_service_radius_coverage",
)


@dataclass(frozen=True)
class AreaTask:
    """One area of a batch: its name, WGS84 polygon and the region cut around it."""

    name: str
    polygon: shapely.Geometry
    extract: OsmExtract


def read_areas(path: str | Path, name_column: str | None = None) -> gpd.GeoDataFrame:
    """Areas (WGS84) with a ``name`` column, from any vector file."""
    frame = read_vector(path).to_crs("EPSG:4326")
    column = name_column or next((c for c in ("name", "NAME", "名称", "county", "区县")
                                  if c in frame.columns), None)
    if column is None or column not in frame.columns:
        raise InputError(path, "needs a name column (name, NAME, 名称) or --name-column")
    names = frame[column].astype(str)
    if names.duplicated().any():
        raise InputError(path, f"area names repeat: {', '.join(names[names.duplicated()])}")
    frame = frame.assign(name=names)[["name", "geometry"]]
    frame["geometry"] = shapely.make_valid(frame.geometry.values)
    return frame.reset_index(drop=True)


def area_tasks(areas: gpd.GeoDataFrame, extract: OsmExtract, buffer_m: float,
               ) -> Iterator[AreaTask]:
    """Cut the region once per area, with the area buffered by ``buffer_m`` metres; each cut
    is made when the next task is asked for."""
    for name, polygon in zip(areas["name"], areas.geometry.values, strict=True):
        centre = polygon.centroid
        local = choose_local_crs(centre.x, centre.y)
        buffered = reproject_geometry(
            reproject_geometry(polygon, "EPSG:4326", local).buffer(buffer_m), local, "EPSG:4326"
        )
        yield AreaTask(name=name, polygon=polygon, extract=clip_extract(extract, buffered))


def run_area(task: AreaTask, config: RunConfig, out_dir: Path,
             region_kinds: tuple[str, ...] = ()) -> dict:
    """Run one area and write its folder; returns its headline row (``error`` on failure),
    with the Dask worker that ran it (None outside a cluster) and its seconds."""
    row: dict[str, Any] = {"name": task.name}
    started = time.perf_counter()
    try:
        study = load_study(config, extract=task.extract, area=(task.polygon, f"area:{task.name}"))
        # a kind the region has but this area's cut lacks is a zero here, not a missing layer
        here = set(study.facilities["kind"])
        study = dataclasses.replace(study, absent_kinds=tuple(k for k in region_kinds
                                                              if k not in here))
        result = run(study, config)
        del study  # held by the result only, which lets go of its streets once they are written
        result.write_files(out_dir / "areas" / safe_name(task.name), figures=False,
                           keep_layers=False)
    except InputError as exc:
        return row | {"error": f"{task.name}: {exc}"} | _where(started)
    except Exception as exc:  # noqa: BLE001 - one area's failure must not stop the others
        return row | {"error": f"{task.name}: internal error {type(exc).__name__}: {exc}"} \
            | _where(started)
    row["population"] = result.study.population.total
    for metric_id in HEADLINE:
        row[metric_id] = result.value(metric_id)
    row["error"] = None
    return row | _where(started)


def _where(started: float) -> dict[str, Any]:
    """Which worker ran an area and for how long: a slow county or a lost machine shows in
    summary.csv without the dashboard."""
    try:
        from distributed import get_worker

        worker = get_worker().address
    except (ImportError, ValueError):  # ValueError: not running inside a Dask worker
        worker = None
    return {"worker": worker, "seconds": round(time.perf_counter() - started, 3)}


def batch_tasks(areas_path: str | Path, config: RunConfig, name_column: str | None = None,
                ) -> tuple[gpd.GeoDataFrame, Iterator[AreaTask], tuple[str, ...]]:
    """Read the areas and the region once and cut every area's task.

    Returns
    -------
    areas : the areas (WGS84, ``name`` column)
    tasks : one :class:`AreaTask` per area, in the areas' order, cut as it is iterated
    region_kinds : facility kinds the region has (an area lacking one scores zero for it)
    """
    if config.osm is None:
        raise InputError("batch", "needs --osm REGION.pbf")
    areas = read_areas(areas_path, name_column)
    extract = read_osm(config.osm)
    tasks = area_tasks(areas, extract, buffer_m=config.reach_m())
    region_kinds: tuple[str, ...] = ()
    if config.osm_facilities:
        from lifecircle.layers.facilities import facilities_from_osm

        found, _ = facilities_from_osm(extract.features, extract.features.estimate_utm_crs())
        region_kinds = tuple(sorted(set(found["kind"])))
    return areas, tasks, region_kinds


def run_batch(areas_path: str | Path, config: RunConfig, out: str | Path,
              scheduler: str | None = None, workers: int = 2, name_column: str | None = None,
              progress: Any = None) -> pd.DataFrame:
    """Run every area of ``areas_path`` as one Dask task each and write ``out`` atomically.

    Parameters
    ----------
    areas_path : vector file of areas with a name column
    config : the region's configuration (``config.osm`` is the region's OSM file), shared by
        every area
    out : output folder: ``areas/<name>/`` per area, ``summary.csv`` and ``areas.gpkg``
    scheduler : address of a running dask scheduler; None starts a LocalCluster
    workers : LocalCluster worker processes
    name_column : the areas' name column (default: name, NAME or 名称)
    progress : called with (done, total, name) as areas finish

    Returns
    -------
    The summary table, one row per area (failed areas carry their error and no figures).
    """
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise InputError("batch", "needs dask: pip install 'lifecircle[dask]'") from None

    areas, tasks, region_kinds = batch_tasks(areas_path, config, name_column)
    with atomic_directory(out, inputs=[*config.input_paths(), Path(areas_path)]) as staging:
        cluster = None if scheduler else LocalCluster(n_workers=workers, threads_per_worker=1,
                                                       processes=True, dashboard_address=None)
        with Client(scheduler or cluster) as client:
            # keys unique to this batch: two batches may share a long-running cluster
            token = uuid.uuid4().hex[:12]
            pending = enumerate(tasks)
            running = as_completed()

            def top_up() -> None:
                # two areas per worker thread in flight (one running, one waiting), so workers
                # never wait for the driver's next cut; workers joining later widen the window
                room = max(2 * sum(client.nthreads().values()), 2) - running.count()
                for i, task in itertools.islice(pending, max(room, 0)):
                    running.add(client.submit(run_area, task, config, staging, region_kinds,
                                              pure=False, key=f"area-{i}-{token}"))

            top_up()
            rows = []
            for future in running:
                rows.append(future.result())
                future.release()
                if progress:
                    progress(len(rows), len(areas), rows[-1]["name"])
                top_up()
        if cluster is not None:
            cluster.close()
        order = {name: i for i, name in enumerate(areas["name"])}
        summary = pd.DataFrame(rows).sort_values("name", key=lambda s: s.map(order))
        summary = summary.reset_index(drop=True)
        write_csv(staging / "summary.csv", summary)
        # the overview's popups show measures; who ran an area and how long stay in the CSV
        write_overview(staging, areas, summary.drop(columns=["worker", "seconds"]),
                       colour_by=HEADLINE[0])
        write_layers(staging / "areas.gpkg", {
            "areas": gpd.GeoDataFrame(summary.drop(columns=["error"]).assign(
                error=summary["error"].fillna("")),
                geometry=areas.set_index("name").loc[summary["name"]].geometry.values,
                crs="EPSG:4326"),
        })
    return summary


def safe_name(name: str) -> str:
    """A folder name for an area (Chinese kept; path separators, controls and leading dots
    replaced, so ``..`` or ``.hidden`` never leave or hide in the batch folder).

    Examples
    --------
    >>> safe_name("渠县"), safe_name(".."), safe_name("a/b")
    ('渠县', '_.', 'a_b')
    """
    name = re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", name).strip()
    name = re.sub(r"^\.", "_", name)
    return name[:120] or "area"
