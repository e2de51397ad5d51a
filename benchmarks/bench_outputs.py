"""What the map, the figures and the report add to a run on central Chengdu (issue 17).

Measures once the analysis (``run``) and the files every run writes (scorecard.json,
coverage.gpkg with the basemap layers, CSV tables), then each optional writer ``ROUNDS`` times on
that folder: ``write_map`` (map.html), ``write_figures`` (figures/*.png), ``write_report`` without
and with the PDF (headless Chromium). Wall seconds, and CPU seconds of this process (every thread)
plus its children (Chromium printing the PDF). Median of the rounds.

    python benchmarks/bench_outputs.py [--rounds 3] [--json out.json]

Prints a Markdown section for RESULTS.md (``python benchmarks/run.py outputs``).
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
    parser.add_argument("--json", type=Path, help="also save the figures as JSON")
    parser.add_argument("--from-json", type=Path, help="print the section of a saved JSON")
    args = parser.parse_args()
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        print(markdown(saved["steps"], saved["sizes"], args.rounds))
        return

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
    print(markdown(results, sizes, args.rounds))
    if args.json:
        args.json.write_text(json.dumps({"steps": results, "sizes": sizes}, indent=2))


def markdown(results: dict[str, dict[str, float]], sizes: dict[str, int], rounds: int) -> str:
    """The RESULTS.md section."""
    optional = ("map.html", "figures/*.png", "report.html + report.pdf")
    base = ("load study", "analysis (run)", "core files (scorecard, gpkg + basemap, CSV)")
    lines = ["## What the map, the figures and the report add to a run (central Chengdu)", "",
             "216,383 modelled residents, 1,262 cells, 16 kinds, region 四川; each output "
             f"writer timed on the run's folder (median of {rounds}). CPU = this process "
             "(all threads) + its children (Chromium printing the PDF). The core files' time is "
             "write_files minus one map.", "",
             "| step | wall s | CPU s |", "|---|---:|---:|"]
    lines += [f"| {name} | {row['wall_s']:.2f} | {row['cpu_s']:.2f} |"
              for name, row in results.items()]
    for label, names in (("study + analysis + core files", base), ("map + figures + report "
                                                                    "(PDF)", optional)):
        lines.append(f"| **{label}** | {sum(results[n]['wall_s'] for n in names):.2f} | "
                     f"{sum(results[n]['cpu_s'] for n in names):.2f} |")
    lines += ["", f"Sizes: map.html {sizes['map.html'] / 2**20:.1f} MiB, figures "
              f"{sizes['figures'] / 2**20:.1f} MiB, report.pdf {sizes['report.pdf'] / 2**20:.1f}"
              " MiB."]
    return "\n".join(lines)

if __name__ == "__main__":
    main()
