"""SYNTHETIC road grids of ~100k and ~1M nodes with 1M population cells: lifecircle's coverage
stage for every kind, its peak memory, and the bare csgraph floor on the same graph.

Issue "Benchmarks against the tools planners would use instead". Each size runs in a fresh
subprocess (``python benchmarks/bench_scale.py --child N``) so ``ru_maxrss`` is that size's own
peak. Floors: 1M nodes + 1M cells <= 30 s and <= 4 GB peak on 2 cores.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIZES = (100_000, 1_000_000)
CELLS = 1_000_000
NODES_PER_FACILITY = 2000
FLOOR_SECONDS = 30.0
#: interleaved rounds of stage / floor / breakdown after the first run (best kept)
ROUNDS = 2
FLOOR_PEAK_GB = 4.0


def _maxrss_mb() -> float:
    """Peak resident memory of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(n_nodes: int) -> dict:
    """Measure one size; run in a fresh process so that ``ru_maxrss`` is this size's own.

    Parameters
    ----------
    n_nodes : target node count of the SYNTHETIC grid

    Returns
    -------
    dict
        Sizes; wall seconds of building the inputs, of the first coverage stage, of the best
        stage and of the best floor; peak RSS (MiB) after the inputs and after the first
        stage; coverage shares; the best seconds per step of the stage; the load average.
    """
    sys.path.insert(0, str(HERE))
    from bench_peers import fast_rounds, lifecircle_coverage, make_problem, timed
    from synthetic import grid_network, random_facilities, random_population

    from lifecircle.seeds import kind_names

    start = time.perf_counter()
    network = grid_network(n_nodes)
    population = random_population(network, CELLS)
    facilities = random_facilities(network, kind_names(), NODES_PER_FACILITY)
    build_s = time.perf_counter() - start
    problem = make_problem(network, facilities, population.x, population.y,
                           population.population)
    rss_inputs = _maxrss_mb()
    load_before = os.getloadavg()

    first_s, shares = timed(lambda: lifecircle_coverage(problem))
    rss_stage = _maxrss_mb()
    fast = fast_rounds(problem, ROUNDS)
    return {
        "nodes": network.n_nodes, "edges": int(network.edges.shape[0]),
        "largest_share": float(network.in_largest.mean()),
        "cells": population.n_cells, "facilities": len(facilities),
        "kinds": len(problem.thresholds_m), "build_s": build_s, "first_s": first_s,
        "stage_s": min(first_s, fast.lifecircle_s), "floor_s": fast.floor_s,
        "rss_inputs_mb": rss_inputs, "rss_stage_mb": rss_stage,
        "shares": shares, "breakdown": fast.breakdown,
        "load_before": load_before, "load_after": os.getloadavg(),
    }


def main() -> None:
    """Run every size in its own subprocess and print the section."""
    results = []
    for size in SIZES:
        proc = subprocess.run([sys.executable, __file__, "--child", str(size)],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise SystemExit(f"{size:,}-node child failed: {tail}")
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    print("## SYNTHETIC scale: jittered road grids, 1M population cells\n")
    print("SYNTHETIC data (benchmarks/synthetic.py), not a real city: a square grid at 100 m "
          "spacing, nodes jittered by up to 15 m, 10% of edges removed at random; "
          f"{CELLS:,} population cells at uniform random points (exponential weights); for each "
          f"of the 9 kinds one facility per {NODES_PER_FACILITY:,} nodes at random places "
          "(parks and sports grounds as 40-300 m squares, the rest points). Each size runs in a "
          "fresh process. The coverage stage is lifecircle's snapping + `kind_access` for every "
          "kind (one multi-source Dijkstra per kind, bound 5 km): its first run is the one held "
          f"to the floor; then {ROUNDS} rounds of stage, bare csgraph floor (one "
          "`csgraph.dijkstra(min_only=True)` per kind from the same access nodes) and stage "
          "breakdown, interleaved so that they meet the same load, give the best times and the "
          "ratio. Peak memory is the process's `ru_maxrss` after the first stage (inputs "
          "included).\n")
    print("| nodes | edges | cells | facilities | build inputs (s) | stage, first run (s) "
          f"| stage, best of {ROUNDS + 1} (s) | csgraph floor, best of {ROUNDS} (s) "
          "| stage / floor | peak RSS after inputs (MiB) | peak RSS after stage (MiB) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['nodes']:,} | {r['edges']:,} | {r['cells']:,} | {r['facilities']:,} "
              f"| {r['build_s']:.1f} | {r['first_s']:.2f} | {r['stage_s']:.2f} "
              f"| {r['floor_s']:.2f} | {r['stage_s'] / r['floor_s']:.2f}x "
              f"| {r['rss_inputs_mb']:,.0f} | {r['rss_stage_mb']:,.0f} |")
    big = results[-1]
    peak_gb = big["rss_stage_mb"] * 2**20 / 1e9
    print(f"\nFloors ({big['nodes']:,} nodes + {big['cells']:,} cells, "
          f"{os.cpu_count()} cores):\n")
    print("| floor | measured | target | met |")
    print("|---|---:|---:|---|")
    print(f"| coverage stage wall, first run | {big['first_s']:.2f} s | <= {FLOOR_SECONDS:g} s | "
          f"{'yes' if big['first_s'] <= FLOOR_SECONDS else 'NO'} |")
    print(f"| peak memory (process, inputs included) | {peak_gb:.2f} GB "
          f"({big['rss_stage_mb'] / 1024:.2f} GiB) | <= {FLOOR_PEAK_GB:g} GB "
          f"| {'yes' if peak_gb <= FLOOR_PEAK_GB else 'NO'} |")
    total = sum(big["breakdown"].values())
    print(f"\nWhere the {big['nodes']:,}-node stage goes (its steps timed one by one, best of "
          f"{ROUNDS} each; total {total:.2f} s; the Dijkstra step is what the floor "
          "measures):\n")
    print("| step | s | share |")
    print("|---|---:|---:|")
    for step, seconds in sorted(big["breakdown"].items(), key=lambda kv: -kv[1]):
        print(f"| {step} | {seconds:.2f} | {seconds / total:.0%} |")
    loads = "; ".join(
        f"{r['nodes']:,} nodes: {' / '.join(f'{x:.2f}' for x in r['load_before'])} before, "
        f"{' / '.join(f'{x:.2f}' for x in r['load_after'])} after" for r in results)
    print(f"\nLoad average (1 / 5 / 15 min, {os.cpu_count()} cores): {loads}.")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(child(int(sys.argv[2]))))
    else:
        main()
