"""`lifecircle batch` on a 4-area split of central Chengdu: 1 worker against 2 (LocalCluster),
wall time and the peak memory of each worker process."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import geopandas as gpd
import shapely

REPO = Path(__file__).resolve().parents[1]
CHENGDU = REPO.parent / "shared" / "data" / "chengdu-central" / "chengdu_central.osm.pbf"
W, S, E, N = 104.0421, 30.6528, 104.1296, 30.7279


def quadrants(path: Path) -> Path:
    """Write the four quadrants of the extract's box as an areas file."""
    mx, my = (W + E) / 2, (S + N) / 2
    boxes = {"西北": (W, my, mx, N), "东北": (mx, my, E, N), "西南": (W, S, mx, my),
             "东南": (mx, S, E, my)}
    gpd.GeoDataFrame({"name": list(boxes)}, geometry=[shapely.box(*b) for b in boxes.values()],
                     crs="EPSG:4326").to_file(path)
    return path


def timed_batch(areas: Path, workers: int, out: Path) -> tuple[float, list[float]]:
    """Wall seconds of one batch and the peak RSS (MiB) of each worker."""
    from dask.distributed import Client, LocalCluster

    from lifecircle.config import RunConfig
    from lifecircle.scenarios.batch import run_batch

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        start = time.perf_counter()
        run_batch(areas, RunConfig(osm=CHENGDU, residential_density=400), out,
                  scheduler=cluster.scheduler_address)
        wall = time.perf_counter() - start
        with Client(cluster) as client:
            peaks = client.run(_peak_mib)
    return wall, sorted(peaks.values())


def _peak_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    if not CHENGDU.exists():
        print(f"## bench_batch\n\nskipped: {CHENGDU} not found\n")
        return
    with tempfile.TemporaryDirectory() as tmp:
        areas = quadrants(Path(tmp) / "areas.gpkg")
        rows = [(w, *timed_batch(areas, w, Path(tmp) / f"out{w}")) for w in (1, 2)]
    one = rows[0][1]
    print("## Batch on Dask: central Chengdu split into 4 areas (real OSM, modelled population)\n")
    print("Each area: network cut with a buffer, every metric, map; figures off. Wall time "
          "includes reading the region once and the cluster's task traffic, not its start-up.\n")
    print("| workers | wall | speed-up | peak memory per worker |")
    print("|---:|---:|---:|---|")
    for workers, wall, peaks in rows:
        print(f"| {workers} | {wall:.1f} s | {one / wall:.2f}x | "
              f"{', '.join(f'{p:.0f} MiB' for p in peaks)} |")


if __name__ == "__main__":
    main()
