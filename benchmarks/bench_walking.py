"""Slopes and gated compounds on central Chengdu: figures with and without each, and the time
they add (issue 19: a DEM at most +1 s, compounds at most +0.5 s).

Run from the repository root::

    python benchmarks/bench_walking.py [--repeat 2]

The study (network, facilities, 400 people per residential hectare) is loaded once, not timed.
Synthetic inputs, so the figures show the mechanism, not Chengdu's real terrain:

- a DEM tilted 5 % rising east (a plane, 30 m cells like SRTM, written as a GeoTIFF);
- 30 compounds: 200 m squares centred on the most populated cells at least 400 m apart, each
  with two gates (middle of its west and east walls).

Each variant times building the cost (DEM window, edge profiles, Tobler graph, compound graph)
plus the whole run (every metric); the best of ``--repeat`` runs is kept.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from rasterio.transform import from_origin

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lifecircle.config import RunConfig  # noqa: E402
from lifecircle.data import sample_path  # noqa: E402
from lifecircle.layers.study import load_study  # noqa: E402
from lifecircle.layers.walking import walk_cost  # noqa: E402
from lifecircle.pipeline import run  # noqa: E402

GRADE = 0.05  # the synthetic tilt
N_COMPOUNDS, SIDE_M, SPACING_M = 30, 200.0, 400.0
KINDS = ("kindergarten", "primary_school", "middle_school", "health_centre", "park")


def write_dem(path: Path, study, cell: float = 30.0) -> Path:
    """A plane rising ``GRADE`` eastward over the network + 1 km, in the study CRS."""
    minx, miny, maxx, maxy = study.network.extent().bounds
    west, north = minx - 1000, maxy + 1000
    cols, rows = int((maxx - minx + 2000) / cell), int((maxy - miny + 2000) / cell)
    xs = west + (np.arange(cols) + 0.5) * cell
    z = np.broadcast_to(400 + GRADE * (xs - west), (rows, cols)).astype(np.float32)
    with rasterio.open(path, "w", driver="GTiff", width=cols, height=rows, count=1,
                       dtype="float32", crs=study.crs,
                       transform=from_origin(west, north, cell, cell)) as dst:
        dst.write(z, 1)
    return path


def compounds(study) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Squares on the most populated cells, kept apart so they never overlap."""
    pop = study.population
    order = np.argsort(-pop.population)
    centres: list[tuple[float, float]] = []
    for i in order:
        x, y = pop.x[i], pop.y[i]
        if all(np.hypot(x - cx, y - cy) >= SPACING_M for cx, cy in centres):
            centres.append((x, y))
        if len(centres) == N_COMPOUNDS:
            break
    half = SIDE_M / 2
    squares = [shapely.box(x - half, y - half, x + half, y + half) for x, y in centres]
    gates = [shapely.Point(x + dx, y) for x, y in centres for dx in (-half, half)]
    return (gpd.GeoDataFrame({"id": [f"C{i}" for i in range(len(squares))]}, geometry=squares,
                             crs=study.crs),
            gpd.GeoDataFrame(geometry=gates, crs=study.crs))


def timed(study, repeat: int, **inputs) -> tuple[float, float, object, object]:
    """Best (cost build s, run s) over ``repeat``, with the last result and cost."""
    best_cost = best_run = np.inf
    for _ in range(repeat):
        started = time.perf_counter()
        cost = walk_cost(study.network, extract=study.extract, **inputs) if inputs else None
        built = time.perf_counter()
        result = run(dataclasses.replace(study, cost=cost))
        done = time.perf_counter()
        best_cost, best_run = min(best_cost, built - started), min(best_run, done - built)
    return best_cost, best_run, result, cost


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    study = load_study(RunConfig(osm=sample_path(), residential_density=400,
                                 kinds=list(KINDS), figures=False, report=False))
    folder = Path(tempfile.mkdtemp())
    dem = write_dem(folder / "tilt5.tif", study)
    polys, gates = compounds(study)
    variants = {
        "flat network": {},
        "DEM 5 % tilt": {"dem": dem},
        "30 gated compounds": {"compounds": polys, "gates": gates},
        "DEM + compounds": {"dem": dem, "compounds": polys, "gates": gates},
    }
    rows, base_total, report = [], None, None
    for name, inputs in variants.items():
        cost_s, run_s, result, cost = timed(study, args.repeat, **inputs)
        total = cost_s + run_s
        base_total = total if base_total is None else base_total
        values = [result.value(f"walk_coverage.{k}") for k in KINDS]
        rows.append((name, values, cost_s, run_s, total - base_total))
        if name == "30 gated compounds":
            report = result.layers["compounds"]
            in_comp = float(report["population"].sum())
    print("## Slopes and gated compounds on central Chengdu (synthetic DEM and compounds)\n")
    print(f"{study.network.n_nodes:,} nodes, {study.population.n_cells:,} cells, "
          f"{study.population.total:,.0f} people (400 per residential ha). DEM: a plane rising "
          f"{GRADE:.0%} east, 30 m cells. Compounds: {len(polys)} squares of {SIDE_M:.0f} m on "
          f"the most populated cells, 2 gates each (west and east walls), {in_comp:,.0f} "
          "residents inside. Best of "
          f"{args.repeat} runs; 'cost' is building the walking cost, 'run' every metric.\n")
    head = " | ".join(f"{k}" for k in KINDS)
    print(f"| variant | {head} | cost | run | added |")
    print("|---|" + "---:|" * (len(KINDS) + 3))
    for name, values, cost_s, run_s, added in rows:
        cells = " | ".join("—" if v is None else f"{v:.1%}" for v in values)
        print(f"| {name} | {cells} | {cost_s:.2f} s | {run_s:.2f} s | {added:+.2f} s |")
    weight = report["population"].to_numpy() + 1e-9
    growth = [f"{c.removesuffix('_growth_m')} "
              f"{np.average(report[c].fillna(0), weights=weight):+.0f}"
              for c in report.columns if c.endswith("_growth_m")]
    print("\nMean growth of the walk from inside the compounds against the open case "
          f"(population-weighted, metres): {', '.join(growth)}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
