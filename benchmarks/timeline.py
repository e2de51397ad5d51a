"""Where a whole `lifecircle demo` spends its wall time, process by process: a timeline.

The run is started in a fresh process whose named functions and imports are wrapped to record
when they start and end, in that process and in every process it forks (the read-ahead, the
forked stages, the map, the figure workers); each process writes its records when it exits.
The timeline prints one line per record that took at least ``--min`` seconds, ordered by start:
process (P0 the run, P1... in order of appearance), start and end seconds from the run's
start, duration, name. What it shows is what bench_run.py's laps cannot: which side of each
fork is the longer one, and what the other core does meanwhile. The wrappers cost a little
(about 0.1 s over a run); compare timelines with each other, not with bench_run.py's walls.

    python benchmarks/timeline.py [--min 0.01] [-- demo flags, e.g. --no-figures]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

#: the functions wrapped, by module: the run's stages and every writer
FUNCTIONS = {
    "lifecircle.pipeline.run": ["run"],
    "lifecircle.pipeline.stages": ["circle_stage", "park_stage"],
    "lifecircle.coverage.catchments": ["kind_catchments"],
    "lifecircle.layers.study": ["load_study"],
    "lifecircle.pipeline.result": ["RunResult.write_files", "RunResult._write_layers",
                                   "RunResult._write_figures_and_report", "import_writers"],
    "lifecircle.maps.as_written": ["folder_as_written"],
    "lifecircle.maps.webmap": ["write_folder_map", "build_map"],
    "lifecircle.maps.folder": ["read_folder"],
    "lifecircle.maps.figures": ["start_figures", "_draw_and_save"],
    "lifecircle.report": ["write_report", "start_printer"],
    "lifecircle.report.pdf": ["Printer.print"],
}
#: the imports timed (the libraries that weigh)
IMPORTS = ("numpy", "pandas", "geopandas", "shapely", "pyogrio", "osmium", "scipy.sparse.csgraph",
           "scipy.optimize", "rasterio", "folium", "matplotlib", "playwright.sync_api")

#: the code run in the fresh process: wrappers installed, then the console script's entry
CHILD = r'''
import functools, importlib.abc, importlib.util, json, os, sys, time
FUNCTIONS, IMPORTS = json.loads(sys.argv.pop(1)), set(json.loads(sys.argv.pop(1)))
OUT = sys.argv.pop(1)
records = [(os.getpid(), "start", time.time(), time.time())]

def timed(function, name):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        begun = time.time()
        try:
            return function(*args, **kwargs)
        finally:
            records.append((os.getpid(), name, begun, time.time()))
    return wrapper

def wrap(module):
    for path in FUNCTIONS.get(module.__name__, []):
        owner, _, name = path.rpartition(".")
        target = getattr(module, owner) if owner else module
        raw = target.__dict__.get(name)
        if isinstance(raw, (classmethod, staticmethod)):
            setattr(target, name, type(raw)(timed(raw.__func__, path)))
        elif raw is not None:
            setattr(target, name, timed(raw, path))

class Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name not in FUNCTIONS and name not in IMPORTS:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        load = spec.loader.exec_module
        def exec_module(module):
            begun = time.time()
            load(module)
            wrap(module)
            records.append((os.getpid(), "import " + name, begun, time.time()))
        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, Finder())

def write():
    with open(f"{OUT}/{os.getpid()}.json", "w") as f:
        json.dump(records, f)

fork, exit_now = os.fork, os._exit
def forked():
    begun, pid = time.time(), fork()
    if pid == 0:
        records.clear()
        records.append((os.getpid(), "forked", begun, time.time()))
    return pid
def exiting(code):
    write()
    exit_now(code)
os.fork, os._exit = forked, exiting
import atexit
atexit.register(write)
sys.argv = ["lifecircle", *sys.argv[1:]]
from lifecircle.cli_main import command
command()
'''


def timeline(flags: list[str], shortest_s: float) -> list[str]:
    """The timeline's lines for ``lifecircle demo FLAGS`` (see the module docstring)."""
    with tempfile.TemporaryDirectory() as tmp:
        records_dir = Path(tmp) / "records"
        records_dir.mkdir()
        subprocess.run([sys.executable, "-c", CHILD, json.dumps(FUNCTIONS), json.dumps(IMPORTS),
                        str(records_dir), "demo", *flags, "--out", f"{tmp}/out"],
                       check=True, capture_output=True)
        records = [r for f in sorted(records_dir.glob("*.json"))
                   for r in json.loads(f.read_text(encoding="utf-8"))]
    origin = min(r[2] for r in records)
    processes: dict[int, int] = {}
    lines = []
    for pid, name, begun, ended in sorted(records, key=lambda r: r[2]):
        number = processes.setdefault(pid, len(processes))
        if ended - begun >= shortest_s or name in ("start", "forked"):
            lines.append(f"P{number:<2} {begun - origin:7.3f} {ended - origin:7.3f} "
                         f"{ended - begun:6.3f}  {name}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min", type=float, default=0.01, help="shortest record shown, s")
    parser.add_argument("flags", nargs=argparse.REMAINDER, help="lifecircle demo's flags")
    args = parser.parse_args()
    flags = [f for f in args.flags if f != "--"]
    print("process  start    end   took  what")
    print("\n".join(timeline(flags, args.min)))


if __name__ == "__main__":
    main()
