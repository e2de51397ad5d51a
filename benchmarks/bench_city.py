"""Whole `lifecircle run` on SYNTHETIC OSM cities at several scales: wall time, peak memory,
per-stage seconds (when the scorecard has ``timings_s``), output sizes and the map's opening
time and memory in headless Chromium.

The cities come from :mod:`benchmarks.synthetic_city` (SYNTHETIC, built like central Chengdu;
scale 1 is about 22k walk nodes and 202 facilities). Each measurement records the machine's
load average (other processes share its 2 cores), and results accumulate in
``benchmarks/city_results.json`` under a label (e.g. ``before`` / ``after`` a change) so that
the RESULTS.md section compares them.

Usage: ``python benchmarks/bench_city.py [--label L] [SCALE ...]`` (default scales 1 10).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from run import MARK, machine, previous_sections  # noqa: E402
from synthetic_city import write_city  # noqa: E402

RESULTS_JSON = HERE / "city_results.json"
#: generated cities and run folders (LIFECIRCLE_BENCH_CACHE: a private one on a shared machine)
CACHE = Path(os.environ.get("LIFECIRCLE_BENCH_CACHE",
                            Path(tempfile.gettempdir()) / "lifecircle-bench-city"))
#: the issue's figures (issue 20, measured before any change), for the comparison column
ISSUE_TABLE = {1.0: ("11 s", "0.4 GiB"), 10.0: ("2 min 21 s", "1.9 GiB"),
               25.0: ("8 min 51 s", "4.1 GiB"), 50.0: ("26 min 46 s", "8.1 GiB")}
#: how often the child's memory is sampled, seconds
POLL_S = 0.05


def _tree_rss(proc: psutil.Process) -> int:
    """Resident memory of a process and all its children, bytes (0 once it has exited)."""
    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
    return total


def run_cli(pbf: Path, out: Path, code: Path, extra: tuple[str, ...] = ()) -> dict:
    """Run the whole CLI once (the ``lifecircle`` package found in ``code``); wall time and the
    peak resident memory of its process tree. ``extra``: more CLI flags (e.g. ``--no-figures``)."""
    # the console script's own entry (as `lifecircle run`: it ends without tearing down the
    # interpreter), with the package of ``code`` first on the path
    cmd = [sys.executable, "-c", "from lifecircle.cli_main import command; command()",
           "run", "--osm", str(pbf), "--residential-density", "400", "--out", str(out), *extra]
    load = os.getloadavg()
    log = out.parent / f"{out.name}.log"
    started = time.perf_counter()
    with open(log, "w", encoding="utf-8") as sink:
        child = subprocess.Popen(cmd, cwd=code, stdout=sink, stderr=subprocess.STDOUT)
        watched = psutil.Process(child.pid)
        peak = 0
        while True:
            # wait4 reaps this child only, with its own rusage (ru_maxrss is exact where
            # polling could miss a short spike; polling adds any grandchildren)
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, _tree_rss(watched))
            time.sleep(POLL_S)
    wall = time.perf_counter() - started
    child.returncode = code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"lifecircle run failed ({code}): {log.read_text()[-2000:]}")
    peak = max(peak, usage.ru_maxrss * 1024)
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_rss_bytes": peak, "load_before": load[0],
            "load_after": os.getloadavg()[0]}


def open_map(html: Path) -> dict:
    """Open map.html in headless Chromium: seconds to the load event (plus Leaflet's drawing)
    and the browser's resident memory (all its processes) once drawn."""
    from playwright.sync_api import sync_playwright

    from lifecircle.maps.screenshot import launch_chromium

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        started = time.perf_counter()
        page.goto(html.resolve().as_uri(), wait_until="load", timeout=600_000)
        # one animation frame after load: Leaflet has drawn the initial layers
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => r(null)))")
        seconds = time.perf_counter() - started
        browsers = [p for p in psutil.Process().children(recursive=True)
                    if "chrom" in p.name().lower()]
        memory = sum(p.memory_info().rss for p in browsers)
        # PSS counts each shared page (Chromium's own code, fonts) once over its processes: what
        # the page costs the machine; summed RSS counts them once per process (an empty page
        # alone sums to about 0.9 GiB here)
        shared_once = sum(p.memory_full_info().pss for p in browsers)
        browser.close()
    return {"map_open_s": seconds, "browser_rss_bytes": memory, "browser_pss_bytes": shared_once}


def measure(scale: float, code: Path = HERE.parent, extra: tuple[str, ...] = ()) -> dict:
    """Generate (or reuse) the SYNTHETIC city at ``scale`` and measure one whole run (with the
    CLI flags ``extra``)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    pbf = CACHE / f"SYNTHETIC_city_{scale:g}x.osm.pbf"
    if not pbf.exists():
        write_city(scale, pbf)
    out = CACHE / f"out_{scale:g}x"
    # a fresh folder: the CLI refuses one holding files it did not write (an earlier run's)
    shutil.rmtree(out, ignore_errors=True)
    result = {"scale": scale, **run_cli(pbf, out, code, extra)}
    if extra:
        result["flags"] = " ".join(extra)
    card = json.loads((out / "scorecard.json").read_text(encoding="utf-8"))
    timings = out / "timings.json"  # seconds per stage, written by the run
    result["timings_s"] = (json.loads(timings.read_text(encoding="utf-8")) if timings.exists()
                           else card.get("timings_s"))
    study = card.get("study_area", {})
    result["nodes"] = study.get("network_nodes") or study.get("nodes")
    result["sizes"] = {name: (out / name).stat().st_size for name in ("map.html", "coverage.gpkg")
                       if (out / name).exists()}
    if (out / "map.html").exists():
        result.update(open_map(out / "map.html"))
    result["date"] = time.strftime("%Y-%m-%d %H:%M")
    return result


def _fmt_s(s: float) -> str:
    return f"{s:.1f} s" if s < 60 else f"{int(s // 60)} min {s % 60:.0f} s"


def _gib(b: float) -> str:
    return f"{b / 1024 ** 3:.2f} GiB"


def _pss(r: dict) -> str:
    return f" (PSS {_gib(r['browser_pss_bytes'])})" if "browser_pss_bytes" in r else ""


def section(results: dict[str, dict[str, dict]]) -> str:
    """The Markdown section of RESULTS.md from every stored label and scale."""
    lines = ["## Whole run on SYNTHETIC cities (bench_city)", "",
             "`lifecircle run --osm SYNTHETIC_city_<scale>x.osm.pbf --residential-density 400` as "
             "a subprocess (the console script's entry, `lifecircle.cli_main.command`, since "
             "session 5; before, `python -m lifecircle.cli`, which also tears the interpreter "
             "down); peak memory of its process tree; map opened in headless Chromium "
             "(load event + one frame), browser memory as summed RSS of its processes "
             "(PSS, shared pages counted once, in brackets); CPU = user + system seconds of the "
             "run (steadier than wall on a shared machine). SYNTHETIC cities from "
             "benchmarks/synthetic_city.py "
             "(scale 1 ≈ central Chengdu: about 22k walk nodes, 202 facilities). Load = 1-minute "
             "load average before / after the run (2 cores shared with other work).", "",
             "| label | scale | wall | CPU | peak RSS | map.html | coverage.gpkg | map open | "
             "browser memory | load | issue's figure |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    notes = results.get("_notes", {})
    results = {k: v for k, v in results.items() if k != "_notes"}
    for label, by_scale in results.items():
        for key in sorted(by_scale, key=float):
            r = by_scale[key]
            sizes = r.get("sizes", {})
            issue = ISSUE_TABLE.get(float(r["scale"]), ("", ""))
            lines.append(
                f"| {label}{' (' + r['flags'] + ')' if r.get('flags') else ''} | "
                f"{r['scale']:g}× | {_fmt_s(r['wall_s'])} | "
                f"{_fmt_s(r['cpu_s']) if 'cpu_s' in r else '-'} | "
                f"{_gib(r['peak_rss_bytes'])} | {sizes.get('map.html', 0) / 1e6:.1f} MB | "
                f"{sizes.get('coverage.gpkg', 0) / 1e6:.1f} MB | "
                f"{_fmt_s(r['map_open_s']) if 'map_open_s' in r else '-'} | "
                f"{_gib(r['browser_rss_bytes']) if 'browser_rss_bytes' in r else '-'}"
                f"{_pss(r)} | "
                f"{r['load_before']:.1f} / {r['load_after']:.1f} | "
                f"{' / '.join(x for x in issue if x)} |")
    stages = [(label, r) for label, by in results.items() for r in by.values()
              if r.get("timings_s")]
    lines.append("")
    if stages:
        lines += ["Per-stage seconds (scorecard `timings_s`):", ""]
        for label, r in stages:
            parts = ", ".join(f"{k} {v:.1f}" for k, v in r["timings_s"].items())
            lines.append(f"- {label} {r['scale']:g}×: {parts}")
    else:
        lines.append("Per-stage seconds: the scorecard has no `timings_s` yet, only wall time.")
    labels = list(results)
    if len(labels) >= 2:
        first, last = results[labels[0]], results[labels[-1]]
        common = sorted(set(first) & set(last), key=float)
        if common:
            lines += ["", f"Ratios {labels[-1]} / {labels[0]}:", ""]
            for key in common:
                a, b = first[key], last[key]
                cpu = (f", CPU {b['cpu_s'] / a['cpu_s']:.2f}" if "cpu_s" in a and "cpu_s" in b
                       else "")
                lines.append(f"- {float(key):g}×: wall {b['wall_s'] / a['wall_s']:.2f}{cpu}, "
                             f"peak RSS {b['peak_rss_bytes'] / a['peak_rss_bytes']:.2f}")
    if notes:
        lines += ["", *(f"- **{label}**: {text}" for label, text in notes.items())]
    lines.append("")
    lines.append(f"_Machine: {machine()}._")
    return "\n".join(lines) + "\n"


def write_results(results: dict) -> None:
    """Store the raw results and replace this benchmark's section of RESULTS.md."""
    RESULTS_JSON.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n",
                            encoding="utf-8")
    path = HERE / "RESULTS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    sections = previous_sections()
    head = text.split("<!-- section: ")[0].rstrip() + "\n"
    sections["bench_city"] = section(results)
    path.write_text(head + "".join(f"\n{MARK.format(name)}\n{body}" for name, body in
                                   sorted(sections.items())), encoding="utf-8")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scales", type=float, nargs="*", default=[1.0, 10.0])
    parser.add_argument("--label", default="current", help="results label, e.g. before/after")
    parser.add_argument("--code", type=Path, default=HERE.parent,
                        help="folder holding the lifecircle package to run (e.g. a copy of an "
                             "earlier commit, so edits during a long run cannot leak in)")
    parser.add_argument("--note", help="what the labelled code is (kept in RESULTS.md)")
    parser.add_argument("--no-figures", action="store_true",
                        help="run the CLI with --no-figures (no PNG figures, no report.pdf)")
    parser.add_argument("--render-only", action="store_true",
                        help="rewrite the RESULTS.md section from stored results, run nothing")
    args = parser.parse_args(argv)
    results = (json.loads(RESULTS_JSON.read_text(encoding="utf-8"))
               if RESULTS_JSON.exists() else {})
    if args.note:
        results.setdefault("_notes", {})[args.label] = args.note
    for scale in [] if args.render_only else args.scales:
        print(f"scale {scale:g} ...", file=sys.stderr, flush=True)
        r = measure(scale, args.code.resolve(), ("--no-figures",) if args.no_figures else ())
        print(json.dumps(r), file=sys.stderr, flush=True)
        results.setdefault(args.label, {})[f"{scale:g}"] = r
        write_results(results)
    if args.render_only:
        write_results(results)
    print(section(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
