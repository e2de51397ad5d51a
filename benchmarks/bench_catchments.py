"""Catchments + E2SFCA for every school kind on central Chengdu, against a 3 s floor.

Run from the repository root::

    python benchmarks/bench_catchments.py [--repeat 5]

After the layers are read once (not timed), each repeat times: snapping the population cells,
the nearest-facility Dijkstra of each school kind (``kind_access``) and ``kind_catchments``
(cost pairs, demand and capacity, dissolved polygons, the capacity-constrained LP, 2SFCA and
E2SFCA) for kindergarten, primary_school and middle_school. It also times the LP alone on the
dense worst case (every cell-school pair within 10 km) and, when PySAL ``access`` is installed,
its E2SFCA on the same cost pairs. Exits 1 when the median exceeds the floor.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lifecircle.coverage import catchments as cat  # noqa: E402
from lifecircle.coverage.engine import NodeIndex, cost_pairs  # noqa: E402
from lifecircle.coverage.walk import kind_access  # noqa: E402
from lifecircle.seeds import threshold_m  # noqa: E402
from lifecircle.seeds.demand import demand_settings  # noqa: E402

PBF = REPO.parent / "shared" / "data" / "chengdu-central" / "chengdu_central.osm.pbf"
SCHOOLS = ("kindergarten", "primary_school", "middle_school")
FLOOR_S = 3.0
MAX_SNAP_M = 300.0
CAP_M = 5000.0


def load():
    """The Chengdu network, facilities and a modelled grid (400 people per residential ha)."""
    from lifecircle.layers.facilities import facilities_from_osm
    from lifecircle.layers.landuse import buildings, residential_land
    from lifecircle.layers.network import network_from_extract
    from lifecircle.layers.osm import read_osm
    from lifecircle.layers.population import modelled_population

    extract = read_osm(PBF)
    network = network_from_extract(extract)
    facilities, _ = facilities_from_osm(extract.features, network.crs)
    grid = modelled_population(residential_land(extract.features, network.crs),
                               buildings(extract.features, network.crs), network.crs,
                               density_per_ha=400.0)
    return network, facilities, grid


def run_once(network, facilities, grid) -> dict[str, cat.KindCatchments]:
    """Snapping, nearest facilities and catchments + E2SFCA of every school kind."""
    index = NodeIndex(network)
    cells = index.snap(grid.x, grid.y, MAX_SNAP_M)
    out = {}
    for kind in SCHOOLS:
        access = kind_access(index, facilities, cells, kind, threshold_m(kind), MAX_SNAP_M, CAP_M)
        out[kind] = cat.kind_catchments(index, facilities, grid, cells, access, MAX_SNAP_M,
                                        demand_settings())
    return out


def time_dense_lp(network, facilities, grid) -> tuple[float, int]:
    """The LP alone with every primary-school pair within 10 km (the dense worst case)."""
    index = NodeIndex(network)
    cells = index.snap(grid.x, grid.y, MAX_SNAP_M)
    schools = facilities[facilities["kind"] == "primary_school"]
    pairs = cost_pairs(index, schools.geometry.values, cells, 10_000.0, MAX_SNAP_M)
    demand = cat.cell_demand(grid.population, "primary_school", demand_settings())
    capacity = np.full(len(schools), 1080.0)
    t0 = time.perf_counter()
    cat.capacitated_assignment(pairs, demand, capacity)
    return time.perf_counter() - t0, pairs.nnz


def time_pysal(result: cat.KindCatchments, network, facilities, grid) -> float | None:
    """PySAL access's E2SFCA on the primary-school cost pairs (None when not installed)."""
    try:
        import access
        import pandas as pd
    except ImportError:
        return None
    index = NodeIndex(network)
    cells = index.snap(grid.x, grid.y, MAX_SNAP_M)
    schools = facilities[facilities["kind"] == "primary_school"]
    coo = cost_pairs(index, schools.geometry.values, cells, 500.0, MAX_SNAP_M).tocoo()
    t0 = time.perf_counter()
    model = access.Access(
        demand_df=pd.DataFrame({"cell": np.arange(grid.n_cells),
                                "demand": result.cells["demand"].to_numpy()}),
        demand_index="cell", demand_value="demand",
        supply_df=pd.DataFrame({"f": np.arange(len(schools)),
                                "supply": result.table["capacity"].to_numpy()}),
        supply_index="f", supply_value="supply",
        cost_df=pd.DataFrame({"o": coo.row, "d": coo.col, "c": coo.data}),
        cost_origin="o", cost_dest="d", cost_name="c",
    )
    model.enhanced_two_stage_fca(name="e", max_cost=500.0, weight_fn=access.weights.gaussian(250))
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not PBF.exists():
        print(f"shared data not found at {PBF}", file=sys.stderr)
        return 2
    network, facilities, grid = load()
    run_once(network, facilities, grid)  # warm-up (imports, caches)
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        results = run_once(network, facilities, grid)
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    print(f"central Chengdu: {grid.n_cells} cells, {network.n_nodes} nodes, schools: "
          + ", ".join(f"{k} {len(r.table)}" for k, r in results.items()))
    print(f"catchments + 2SFCA + E2SFCA + LP, all school kinds: median {median:.3f} s, "
          f"min {min(times):.3f} s over {args.repeat} runs (floor {FLOOR_S:g} s)")
    for kind, result in results.items():
        over = result.metrics[f"catchment.{kind}.over_capacity_demand_share"]
        beyond = result.metrics[f"catchment.{kind}.beyond_threshold_demand_share"]
        print(f"  {kind}: over-capacity share {over['value']:.3f}, beyond-threshold share "
              f"{beyond['value']:.3f}, unplaced demand {over['unplaced_demand']:.0f} of "
              f"{over['demand_total']:.0f}")
    dense_s, nnz = time_dense_lp(network, facilities, grid)
    print(f"capacity-constrained LP, dense worst case ({nnz} pairs within 10 km): {dense_s:.3f} s")
    pysal_s = time_pysal(results["primary_school"], network, facilities, grid)
    if pysal_s is not None:
        print(f"PySAL access E2SFCA on the primary-school pairs alone: {pysal_s:.3f} s")
    return 0 if median <= FLOOR_S else 1


if __name__ == "__main__":
    sys.exit(main())
