"""The whole `lifecircle run` on central Chengdu, and its distance stage.

Floors (issue "Foundation"): the run <= 20 s wall on 2 cores; the distance stage <= 1 s.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHENGDU = REPO.parent / "shared" / "data" / "chengdu-central" / "chengdu_central.osm.pbf"


def whole_run() -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of the CLI run in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "lifecircle.cli", "run", "--osm", str(CHENGDU),
                        "--residential-density", "400", "--out", f"{tmp}/cd"],
                       check=True, capture_output=True)
        wall = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) / 1024


def distance_stage() -> tuple[float, int, int]:
    """Seconds for snapping + one multi-source Dijkstra per kind, every kind."""
    from lifecircle.config import RunConfig
    from lifecircle.layers.study import load_study
    from lifecircle.pipeline import run

    study = load_study(RunConfig(osm=CHENGDU, residential_density=400))
    result = run(study)
    return result.timings_s["distances"], study.network.n_nodes, study.population.n_cells


def main() -> None:
    if not CHENGDU.exists():
        print(f"## bench_run\n\nskipped: {CHENGDU} not found\n")
        return
    wall, peak = whole_run()
    stage, nodes, cells = distance_stage()
    print("## Whole run on central Chengdu (real OSM, modelled population)\n")
    print(f"{nodes:,} network nodes, {cells:,} population cells, all kinds.\n")
    print("| measure | value | floor | ratio to floor |")
    print("|---|---:|---:|---:|")
    print(f"| `lifecircle run` wall (fresh process, incl. imports and writing) | {wall:.2f} s "
          f"| 20 s | {wall / 20:.2f} |")
    print(f"| distance stage (snapping + one Dijkstra per kind) | {stage * 1000:.0f} ms "
          f"| 1 s | {stage:.3f} |")
    print(f"| peak memory of the run | {peak:.0f} MiB | — | — |")


if __name__ == "__main__":
    main()
