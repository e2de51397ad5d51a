"""What the map, the figures and the report add to a run on central Chengdu (issue 17).

Measures once the analysis (``run``) and the files every run writes (scorecard.json,
coverage.gpkg with the basemap layers, CSV tables), then each optional writer ``ROUNDS`` times on
that folder: ``write_map`` (map.html), ``write_figures`` (figures/*.png), ``write_report`` without
and with the PDF (headless Chromium). Wall seconds, and CPU seconds of this process (every thread)
plus its children (Chromium printing the PDF). Median of the rounds.

    python benchmarks/bench_outputs.py [--rounds 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(step: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds of one call."""
    cpu, wall = _cpu(), time.perf_counter()
    step()
    return time.perf_counter() - wall, _cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    import warnings

    from lifecircle.config import RunConfig
    from lifecircle.data import sample_path
    from lifecircle.layers.study import load_study
    from lifecircle.maps import write_figures, write_map
    from lifecircle.pipeline import run
    from lifecircle.report import write_report

    warnings.simplefilter("ignore")  # the run's data-coverage warnings are not measured here
    config = RunConfig(osm=sample_path(), residential_density=400, region="四川",
                       figures=False, report=False)
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "chengdu"
        study: list = []
        outcome: list = []
        wall, cpu = timed(lambda: study.append(load_study(config)))
        results["load study"] = {"wall_s": wall, "cpu_s": cpu}
        wall, cpu = timed(lambda: outcome.append(run(study[0], config)))
        results["analysis (run)"] = {"wall_s": wall, "cpu_s": cpu}
        # the core files without map, figures and report: write_files then drop the map's share
        folder.mkdir()
        core_wall, core_cpu = timed(lambda: outcome[0].write_files(folder))
        map_wall, map_cpu = timed(lambda: write_map(folder))
        results["core files (scorecard, gpkg + basemap, CSV)"] = {
            "wall_s": core_wall - map_wall, "cpu_s": core_cpu - map_cpu}
        steps = {
            "map.html": lambda: write_map(folder),
            "figures/*.png": lambda: write_figures(folder),
            "report.html": lambda: write_report(folder, pdf=False),
            "report.html + report.pdf": lambda: write_report(folder, pdf=True),
        }
        for name, step in steps.items():
            rounds = [timed(step) for _ in range(args.rounds)]
            results[name] = {"wall_s": statistics.median(r[0] for r in rounds),
                             "cpu_s": statistics.median(r[1] for r in rounds)}
        sizes = {"map.html": (folder / "map.html").stat().st_size,
                 "figures": sum(p.stat().st_size for p in (folder / "figures").glob("*.png")),
                 "report.pdf": (folder / "report.pdf").stat().st_size
                 if (folder / "report.pdf").exists() else 0}
    width = max(map(len, results))
    print(f"{'step':<{width}}  wall s   CPU s")
    for name, row in results.items():
        print(f"{name:<{width}}  {row['wall_s']:6.2f}  {row['cpu_s']:6.2f}")
    print("sizes (bytes):", sizes)
    if args.json:
        args.json.write_text(json.dumps({"steps": results, "sizes": sizes}, indent=2))


if __name__ == "__main__":
    main()
