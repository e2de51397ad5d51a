"""The whole `lifecircle demo` on central Chengdu against the issue's targets and its floor.

Targets (issue 20): the whole run <= 2.5 s with map.html and report.html (``--no-figures``),
<= 4 s with the figures and report.pdf, on 2 cores. A third run draws the figures without
report.pdf, as an installation without playwright does (the README's ``pip install``): what the
PDF costs on top of the figures. Each run is a fresh process started as the
console script starts it (``lifecircle.cli_main.command``); wall seconds, CPU seconds of the
process tree (the forked map and figure workers, Chromium printing the PDF) and the stage laps
of its ``timings.json``, median of ``--rounds`` runs taken in turn.

Beside the floor: the CPU seconds of a fresh interpreter importing every module a run imports
(``RUN_IMPORTS``): how much of a run's CPU is loading libraries rather than its work.

The floor is what any tool doing this work pays (the issue's list): the interpreter with the
imports of numpy, scipy.sparse.csgraph, osmium, shapely, pyproj, pandas, geopandas and pyogrio
(a fresh process), one pass over the PBF (``osmium.FileProcessor``, every object), the run's own
distance stage (snapping + one Dijkstra per kind) and one GeoPackage write of its layers.

    python benchmarks/bench_run.py [--rounds 5] [--against DIR]

``--against DIR`` runs another tree's package (a checkout or ``git archive REV | tar -x -C
DIR``) in turn with this one and prints the before/after ratios.

Every module a run imports must have its bytecode compiled, as a user's ``pip install`` leaves
it (uv installs without it, and this machine sets PYTHONDONTWRITEBYTECODE=1, so nothing is
cached by running): otherwise each run compiles those modules again and the benchmark measures
the compiler (playwright alone: 0.35-0.75 s of a run). The benchmark stops and names them.

Prints a Markdown section for RESULTS.md (``python benchmarks/run.py run``).
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
sys.path.insert(0, str(REPO))

from lifecircle.data import sample_path  # noqa: E402

ENTRY = "from lifecircle.cli_main import command; command()"
FLOOR_IMPORTS = ("import numpy, scipy.sparse.csgraph, osmium, shapely, pyproj, pandas, "
                 "geopandas, pyogrio")
#: every module a --no-figures run imports, in its processes together (the CLI, the pipeline,
#: the forked stages' LP and raster modules, the map's and report's writers)
RUN_IMPORTS = ("import lifecircle.cli_main, lifecircle.cli, lifecircle.pipeline.run, "
               "lifecircle.layers.osm_scan, lifecircle.layers.basemap, osmium, "
               "lifecircle.coverage.catchments, scipy.optimize, rasterio, "
               "lifecircle.maps.webmap, lifecircle.report")
#: and what figures and report.pdf add
FIGURE_IMPORTS = "import lifecircle.maps.figures, playwright.sync_api"
#: an installation without playwright (found by nothing: the run writes no report.pdf)
NO_PLAYWRIGHT = "import sys; sys.modules['playwright'] = None; "
NO_PDF = "map + figures + report.html, no report.pdf (an install without playwright)"
TARGETS_S = {"map + report.html (--no-figures)": 2.5, "map + figures + report.pdf": 4.0,
             NO_PDF: 4.0}


def missing_bytecode(code: Path | None = None) -> list[str]:
    """The modules a whole run imports (with ``code``: from that tree) whose compiled bytecode
    is missing or older than their source, found in a fresh process."""
    probe = r'''
import importlib.util, os, sys
import lifecircle.pipeline.result, lifecircle.maps.webmap, lifecircle.maps.figures
import lifecircle.report
if importlib.util.find_spec("playwright"):
    import playwright.sync_api
for name, module in sorted(sys.modules.items()):
    spec = getattr(module, "__spec__", None)
    origin = getattr(spec, "origin", None) or ""
    if spec is None or not spec.cached or not origin.endswith(".py"):
        continue
    cached = importlib.util.cache_from_source(origin)
    if not os.path.exists(cached) or os.path.getmtime(cached) < os.path.getmtime(origin):
        print(name)
'''
    if code is not None:
        probe = f"import sys; sys.path.insert(0, {str(code)!r})\n{probe}"
    return subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                          text=True).stdout.split()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def whole_run(flags: list[str], code: Path | None = None, prefix: str = ""
              ) -> tuple[float, float, dict[str, float]]:
    """Wall and CPU seconds of ``lifecircle demo FLAGS`` in a fresh process, and its laps; with
    ``code``, the ``lifecircle`` package in that folder is run instead of the installed one;
    ``prefix``: statements run first (e.g. :data:`NO_PLAYWRIGHT`)."""
    entry = prefix + (ENTRY if code is None else
                      f"import sys; sys.path.insert(0, {str(code)!r}); {ENTRY}")
    with tempfile.TemporaryDirectory() as tmp:
        cpu, start = _children_cpu(), time.perf_counter()
        subprocess.run([sys.executable, "-c", entry, "demo", *flags, "--out", f"{tmp}/cd"],
                       check=True, capture_output=True)
        wall = time.perf_counter() - start
        laps = json.loads(Path(f"{tmp}/cd/timings.json").read_text(encoding="utf-8"))
    return wall, _children_cpu() - cpu, laps


def imports_cpu(statement: str) -> float:
    """CPU seconds of a fresh interpreter running ``statement`` (imports), less a bare one's."""
    def cpu_of(code: str) -> float:
        before = _children_cpu()
        subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
        return _children_cpu() - before

    return cpu_of(statement) - cpu_of("pass")


def imports_floor() -> float:
    """Wall seconds of a fresh interpreter importing the libraries the work needs."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", FLOOR_IMPORTS], check=True)
    return time.perf_counter() - start


def pbf_pass() -> float:
    """Seconds of one pass over the sample PBF, every object (osmium's C++ reader)."""
    import osmium

    start = time.perf_counter()
    count = sum(1 for _ in osmium.FileProcessor(str(sample_path())))
    assert count > 0
    return time.perf_counter() - start


def distance_and_write() -> tuple[float, float]:
    """The run's distance stage and one GeoPackage write of its layers (seconds)."""
    import warnings

    from lifecircle.config import RunConfig
    from lifecircle.layers.study import load_study
    from lifecircle.output import write_layers
    from lifecircle.pipeline import run

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the sample's data-coverage warnings
        result = run(load_study(RunConfig(osm=sample_path(), residential_density=400,
                                          region="四川")))
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        write_layers(Path(tmp) / "coverage.gpkg", result.layers)
        write = time.perf_counter() - start
    return result.timings_s["distances"], write


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--against", type=Path, metavar="DIR",
                        help="another tree's lifecircle (e.g. `git archive REV | tar -x -C DIR`),"
                             " run in turn with this one: the before/after ratios")
    args = parser.parse_args()
    for tree in (None, args.against):
        if missing := missing_bytecode(tree):
            sys.exit(f"bytecode missing for {len(missing)} modules ({', '.join(missing[:6])}"
                     f"{', ...' if len(missing) > 6 else ''}): compile them first (python -m "
                     "compileall -q <site-packages> <tree>/lifecircle); a user's pip install "
                     "compiles them, uv does not")
    variants = {"map + report.html (--no-figures)": (["--no-figures"], ""),
                "map + figures + report.pdf": ([], ""), NO_PDF: ([], NO_PLAYWRIGHT)}
    runs: dict[str, list[tuple[float, float, dict[str, float]]]] = {v: [] for v in variants}
    before: dict[str, list[float]] = {v: [] for v in variants}
    for _ in range(args.rounds):  # in turn, so that both (and both trees) meet the same load
        for name, (flags, prefix) in variants.items():
            runs[name].append(whole_run(flags, prefix=prefix))
            if args.against is not None:
                before[name].append(whole_run(flags, args.against, prefix)[0])
    imports = statistics.median(imports_floor() for _ in range(args.rounds))
    scan = statistics.median(pbf_pass() for _ in range(args.rounds))
    distances, write = distance_and_write()
    floor = imports + scan + distances + write
    loading = statistics.median(imports_cpu(RUN_IMPORTS) for _ in range(args.rounds))
    loading_figures = statistics.median(imports_cpu(f"{RUN_IMPORTS}; {FIGURE_IMPORTS}")
                                        for _ in range(args.rounds))
    print("## Whole run on central Chengdu against its floor (real OSM, modelled population)\n")
    print(f"`lifecircle demo` in a fresh process (the console script's entry), median of "
          f"{args.rounds} runs each, taken in turn; CPU includes the forked map and figure "
          "workers and Chromium.\n")
    print("| run | wall | CPU | target | wall / target | wall / floor |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, measured in runs.items():
        wall = statistics.median(m[0] for m in measured)
        cpu = statistics.median(m[1] for m in measured)
        target = TARGETS_S[name]
        print(f"| {name} | {wall:.2f} s | {cpu:.2f} s | {target:.1f} s | {wall / target:.2f} "
              f"| {wall / floor:.1f} |")
    libraries = FLOOR_IMPORTS.removeprefix("import ")
    print(f"\nFloor {floor:.2f} s = imports {imports:.2f} s ({libraries}, fresh interpreter) "
          f"+ one PBF pass {scan:.2f} s + distance stage {distances:.2f} s + GeoPackage write "
          f"{write:.2f} s; the 2.5 s target is {2.5 / floor:.1f}x it.\n")
    cpu = {name: statistics.median(m[1] for m in measured) for name, measured in runs.items()}
    plain, printed = cpu["map + report.html (--no-figures)"], cpu["map + figures + report.pdf"]
    print(f"Loading libraries: a fresh interpreter importing every module a --no-figures run "
          f"imports takes {loading:.2f} CPU s, {loading / plain:.0%} of that run's {plain:.2f} "
          f"CPU s (with the figures' and the PDF's modules: {loading_figures:.2f} of "
          f"{printed:.2f} CPU s). On 2 cores a run takes at least half its CPU seconds: "
          f"{plain / 2:.2f} s and {printed / 2:.2f} s.\n")
    print("Median laps (s) of each run's timings.json (`stages` is the wall time of "
          "catchments, parks and circles, which a small run computes in two processes side by "
          "side: their own seconds overlap it; the map is drawn by a forked process beside the "
          "figures and report, `write_map` is the wait for it afterwards):\n")
    for name, measured in runs.items():
        keys = measured[0][2].keys()
        laps = {k: statistics.median(m[2][k] for m in measured) for k in keys}
        print(f"- {name}: " + ", ".join(f"{k} {v:.2f}" for k, v in laps.items()))
    if args.against is not None:
        print(f"\nAgainst {args.against} (its `lifecircle demo` started the same way, in turn with "
              "this tree's; ratio = this tree's median wall / its median wall: below 1 is "
              "faster):\n")
        print("| run | this tree | against | ratio |")
        print("|---|---:|---:|---:|")
        for name, measured in runs.items():
            now = statistics.median(m[0] for m in measured)
            then = statistics.median(before[name])
            print(f"| {name} | {now:.2f} s | {then:.2f} s | {now / then:.2f} |")


if __name__ == "__main__":
    main()
