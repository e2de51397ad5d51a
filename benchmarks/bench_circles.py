"""Service circles on central Chengdu: 1,000 facilities at 1,000 m against a 5 s floor (2 cores).

Run from the repository root::

    python benchmarks/bench_circles.py [--repeat 3]

Facilities are random network nodes of the largest component (seed 0). After the network is
read once (not timed), each repeat times :func:`service_circles` end to end (access points,
per-facility bounded Dijkstra, reached segments, strips dissolved per circle) for 100, 300 and
1,000 facilities, in one thread and in two. For 1,000 facilities the stages are also timed on
their own, and the strips are dissolved once without street strokes (one strip per edge piece)
(for 100 facilities) to show what
the strokes buy. Exits 1 when the two-thread median for 1,000 exceeds the floor.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import shapely

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lifecircle.coverage import circles  # noqa: E402
from lifecircle.coverage.engine import NodeIndex, per_facility_distances  # noqa: E402

PBF = REPO.parent / "shared" / "data" / "chengdu-central" / "chengdu_central.osm.pbf"
FLOOR_S = 5.0
THRESHOLD_M = 1000.0
COUNTS = (100, 300, 1000)
MAX_SNAP_M = 300.0


def load():
    """The Chengdu walk network."""
    from lifecircle.layers.network import network_from_extract
    from lifecircle.layers.osm import read_osm

    return network_from_extract(read_osm(PBF))


def facilities(network, count: int) -> np.ndarray:
    """``count`` random nodes of the largest component, as points."""
    nodes = np.random.default_rng(0).choice(np.flatnonzero(network.in_largest), count,
                                            replace=False)
    return shapely.points(network.x[nodes], network.y[nodes])


def timed(function, *args, **kwargs) -> tuple[float, float, object]:
    """Wall and CPU seconds of one call, and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return time.perf_counter() - wall, time.process_time() - cpu, result


def stages(network, index: NodeIndex, points: np.ndarray) -> dict[str, float]:
    """Seconds of each stage for one set of facilities, one thread."""
    out = {}
    t_access, _, access = timed(index.facility_access, points, MAX_SNAP_M)
    t_dist, _, dist = timed(per_facility_distances, network, access, THRESHOLD_M)
    out["access points + per-facility Dijkstra"] = t_access + t_dist
    out["street strokes (once per network)"], _, strokes = timed(circles.street_strokes, network)
    out["reached segments (partial edges cut)"], _, seg = timed(circles.reached_segments,
                                                                 network, dist, THRESHOLD_M)
    out["strips merged along strokes, buffered, dissolved"], _, _ = timed(
        circles.reached_area, network, seg, points.size, strokes=strokes)
    return out


def without_strokes(network, index: NodeIndex, points: np.ndarray) -> tuple[float, float]:
    """Seconds to dissolve the circles of ``points`` along strokes, and with one strip per edge
    piece (GEOS buffering the pieces of each circle as one MultiLineString)."""
    dist = per_facility_distances(network, index.facility_access(points, MAX_SNAP_M), THRESHOLD_M)
    seg = circles.reached_segments(network, dist, THRESHOLD_M)
    strokes = circles.street_strokes(network)
    along, _, _ = timed(circles.reached_area, network, seg, points.size, strokes=strokes)
    lines = shapely.multilinestrings(seg.geometry, indices=seg.source)
    plain, _, _ = timed(shapely.buffer, lines, circles.STREET_HALF_WIDTH_M,
                        quad_segs=circles.QUAD_SEGS)
    return along, plain


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not PBF.exists():
        print(f"## bench_circles\n\nskipped: {PBF} not found\n")
        return 0
    network = load()
    index = NodeIndex(network)
    rows, median_1000_two = [], math.inf
    for count in COUNTS:
        points = facilities(network, count)
        for workers in (1, 2):
            runs = [timed(circles.service_circles, network, index, points, [THRESHOLD_M],
                          workers=workers) for _ in range(args.repeat)]
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            area = float(runs[0][2].geometry.area.mean())
            rows.append((count, workers, wall, cpu, area))
            if count == 1000 and workers == 2:
                median_1000_two = wall
    ones = [(c, cpu) for c, k, _, cpu, _ in rows if k == 1]
    slope = np.polyfit(np.log([c for c, _ in ones]), np.log([t for _, t in ones]), 1)[0]

    print("## Service circles on central Chengdu (1,000 m, random facilities)\n")
    print(f"{network.n_nodes:,} nodes, {len(network.edges):,} edges; median of {args.repeat} "
          "runs; street half-width "
          f"{circles.STREET_HALF_WIDTH_M:g} m, {circles.QUAD_SEGS} segments per quarter circle.\n")
    print("| facilities | threads | wall | CPU | per facility (wall) | mean circle area |")
    print("|---:|---:|---:|---:|---:|---:|")
    for count, workers, wall, cpu, area in rows:
        print(f"| {count:,} | {workers} | {wall:.2f} s | {cpu:.2f} s | "
              f"{wall / count * 1000:.1f} ms | {area / 1e6:.3f} km² |")
    print(f"\nGrowth with facilities (one thread, CPU time): ∝ n^{slope:.2f}. Load average "
          f"during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall times above "
          "the CPU times mean other processes held the cores).\n")
    print("Stages for 1,000 facilities (one thread):\n")
    print("| stage | seconds |")
    print("|---|---:|")
    for name, seconds in stages(network, index, facilities(network, 1000)).items():
        print(f"| {name} | {seconds:.2f} |")
    along, plain = without_strokes(network, index, facilities(network, 100))
    print(f"\nDissolving 100 circles: {along:.2f} s with strips merged along strokes, "
          f"{plain:.2f} s with one strip per edge piece.\n")
    print(f"Floor: 1,000 facilities <= {FLOOR_S:g} s on 2 cores; two-thread median "
          f"{median_1000_two:.2f} s (ratio {median_1000_two / FLOOR_S:.2f}).")
    return 0 if median_1000_two <= FLOOR_S else 1


if __name__ == "__main__":
    sys.exit(main())
