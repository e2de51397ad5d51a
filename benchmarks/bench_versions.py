"""This tree against an earlier revision on central Chengdu: the distance stage and the whole run.

Both versions run in fresh processes, interleaved round by round (old, new, old, new...), so a
load change on the machine hits both alike; medians are reported with their ratio new / old
(below 1: the new code is faster). CPU seconds (user + system of the child) are reported beside
wall seconds because the machine is shared.

Usage: ``python benchmarks/bench_versions.py [REV] [--rounds N]`` (default REV: 518272d, the code
before the configuration model, the metric registry and the pipeline package).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PBF = REPO / "lifecircle" / "data" / "chengdu_central.osm.pbf"

# the distance stage in-process on the kinds both versions have, with either code's API (the old
# one had StudyInputs/RunParams and nine kinds; the new one measures sixteen)
KINDS = ["kindergarten", "primary_school", "middle_school", "hospital", "park", "sports", "market"]
STAGE = """
import json, sys, time
pbf, kinds = sys.argv[1], sys.argv[2].split(",")
try:
    from lifecircle.config import RunConfig
    from lifecircle.layers.study import load_study
    from lifecircle.pipeline import run
    study = load_study(RunConfig(osm=pbf, residential_density=400, kinds=kinds))
    result = run(study)
except ImportError:
    from lifecircle.layers.study import StudyInputs, load_study
    from lifecircle.scenarios.run import RunParams, run_study
    study = load_study(StudyInputs(osm=pbf, residential_density=400))
    result = run_study(study, RunParams(kinds=kinds))
print(json.dumps({"distances": result.timings_s["distances"]}))
"""


def checkout(rev: str, into: Path) -> Path:
    """The package of ``rev`` exported (git archive) into ``into``."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "lifecircle"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def whole_run(code: Path, extra: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of `lifecircle run` without figures, code on PYTHONPATH."""
    with tempfile.TemporaryDirectory() as tmp:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "lifecircle.cli", "run", "--osm", str(PBF),
                        "--residential-density", "400", "--no-figures", *extra, "--out",
                        f"{tmp}/out"], check=True, capture_output=True, cwd=tmp,
                       env={"PYTHONPATH": str(code), "PATH": "/usr/bin:/bin"})
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def stage(code: Path) -> float:
    """Seconds of the distance stage (snapping + one Dijkstra per kind), in a fresh process."""
    done = subprocess.run([sys.executable, "-c", STAGE, str(PBF), ",".join(KINDS)], check=True,
                          capture_output=True, text=True, env={"PYTHONPATH": str(code)})
    return json.loads(done.stdout.strip().splitlines()[-1])["distances"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("rev", nargs="?", default="518272d")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old = checkout(args.rev, Path(tmp))
        rows: dict[str, list[tuple[float, float, float]]] = {"old": [], "new": []}
        for _ in range(args.rounds):
            for label, code, extra in (("old", old, []), ("new", REPO, ["--no-report"])):
                wall, cpu = whole_run(code, extra)
                rows[label].append((wall, cpu, stage(code)))
    med = {k: [statistics.median(v[i] for v in rows[k]) for i in range(3)] for k in rows}
    print(f"## This tree against {args.rev} on central Chengdu\n")
    print(f"Median of {args.rounds} interleaved rounds, fresh processes; the whole run without "
          "figures (the new one also writes the offline basemap layers; its report is off, the "
          "old code had none). Ratio new / old: below 1 is faster.\n")
    print("| measure | old | new | new / old |")
    print("|---|---:|---:|---:|")
    names = ("whole run, wall s", "whole run, CPU s",
             f"distance stage ({len(KINDS)} kinds both have), s")
    for i, name in enumerate(names):
        print(f"| {name} | {med['old'][i]:.3f} | {med['new'][i]:.3f} | "
              f"{med['new'][i] / med['old'][i]:.2f} |")


if __name__ == "__main__":
    main()
