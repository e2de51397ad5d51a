"""The RESULTS.md section of the peer benchmark."""

from __future__ import annotations

import os

from .measure import ROUNDS, SLOW_ROUNDS, Contender, max_pp, offsets_summary, version
from .problem import Problem


def _pp(value: float) -> str:
    return "0 pp (identical)" if value == 0 else f"{value:.1e} pp"


def _load(values: tuple[float, float, float]) -> str:
    return " / ".join(f"{x:.2f}" for x in values)


def _find(measured: list[Contender], method: str, bound: str | None) -> Contender | None:
    return next((c for c in measured if c.method == method and c.bound == bound
                 and c.seconds), None)


#: for each query, the build it needs (its "incl. build" row)
BUILDS = {"networkx fair on nx.Graph": "networkx: build nx.Graph",
          "networkx fair on osmnx MultiDiGraph":
              "networkx: build osmnx MultiDiGraph (graph_from_gdfs)",
          "networkx naive: one search per access node":
              "networkx: build osmnx MultiDiGraph (graph_from_gdfs)",
          "pandana: set_pois + nearest_pois": "pandana: build (contraction hierarchies)",
          "cityseer: compute_accessibilities": "cityseer: build NetworkStructure"}


def report(problem: Problem, measured: list[Contender], breakdown: dict[str, float],
           zero_offset: dict[str, float], load_before: tuple[float, float, float]) -> None:
    """Print the Markdown section.

    Parameters
    ----------
    problem : the coverage question measured
    measured : from :func:`peers.measure.interleaved`
    breakdown : best seconds per step of lifecircle's stage
    zero_offset : from :func:`peers.measure.zero_offset_shares`
    load_before : ``os.getloadavg()`` before measuring
    """
    net = problem.network
    lc = {b: _find(measured, "lifecircle coverage stage", b) for b in ("cap", "threshold")}
    index = _find(measured, "lifecircle: network index build", None)
    floor = _find(measured, "floor: bare csgraph.dijkstra per kind", "cap")
    missing = (f"; no facilities of {', '.join(problem.missing_kinds)} (skipped, as a run does)"
               if problem.missing_kinds else "")
    print("## Peers on central Chengdu (real OSM, modelled population)\n")
    print(f"{net.n_nodes:,} network nodes, {net.edges.shape[0]:,} edges, {problem.x.size:,} "
          f"population cells (400 /ha on residential land), {len(problem.thresholds_m)} kinds "
          f"with facilities ({len(problem.facilities):,} facilities){missing}. "
          f"{offsets_summary(problem)}.\n")
    print("Every method computes the nearest walking distance from every population cell to "
          "every kind, then the population share within the kind's threshold. The peers get "
          "lifecircle's snapping (cells and facility access points, timed inside each of them) "
          "so that all see the same nodes.\n")
    print("**How it is measured.** All methods run in ONE process, in interleaved rounds: "
          f"each round runs every method once, in an order rotated every round, so that all "
          f"meet the same machine load; a method's time is the MEDIAN of its rounds ({ROUNDS} "
          f"rounds; {SLOW_ROUNDS} for the naive recipe and the graph builds, 1 for cityseer's "
          "build and its search to the cap). Each method is searched to the SAME bound as the "
          f"lifecircle row it is compared with: **cap** = lifecircle's own bound (the "
          f"{problem.limit_m:g} m distance cap that a run uses, so that its distances also serve "
          "the maps and catchments), **threshold** = the kind's threshold, all that a coverage "
          "share needs (lifecircle run with the same bound for the comparison). Shares are "
          "identical at both bounds.\n")
    print("**What a ratio means.** *ratio* = the method's median seconds / lifecircle's "
          "median seconds at the same bound (for builds: / lifecircle's network index build; "
          "for *incl. build*: / lifecircle incl. its index build). A ratio of 3 means lifecircle "
          "answers the same question 3 times as fast on this network; it is a ratio of wall "
          "times on 2 shared cores, not of CPU work. The *fair* networkx recipe is what an "
          "experienced user writes (one `multi_source_dijkstra_path_length` per kind from "
          "virtual facility nodes, the same offsets as lifecircle); the *naive* row is the "
          "common per-facility recipe (one search per access node, as `nx.ego_graph` per "
          "facility does), shown for reference only.\n")
    print("| method | bound | median s | rounds | ratio to lifecircle | max coverage difference "
          "(pp) | note |")
    print("|---|---|---:|---:|---:|---:|---|")
    for c in measured:
        if not c.seconds:
            continue
        base = index if c.bound is None else lc[c.bound]
        diff = f"{max_pp(c.shares, lc['cap'].shares):.3f}" if c.shares is not None else "—"
        print(f"| {c.method} | {c.bound or 'build'} | {c.median_s:.3f} | {len(c.seconds)} | "
              f"{c.median_s / base.median_s:.2f} | {diff} | {c.note} |")
    for c in measured:
        build = _find(measured, BUILDS.get(c.method, ""), None)
        if build is None or c.bound is None or not c.seconds:
            continue
        total = c.median_s + build.median_s
        base = lc[c.bound].median_s + index.median_s
        print(f"| {c.method} incl. build | {c.bound} | {total:.3f} | — | {total / base:.2f} | "
              f"— | / lifecircle incl. index build ({base:.3f} s) |")
    for name, why in (("pandana", "not installed (`pip install pandana` failed)"),
                      ("cityseer", "not installed (`pip install cityseer` failed)")):
        if not version(name):
            print(f"| {name} | — | — | — | — | — | {why} |")
    print("| r5py | — | — | — | — | — | not measured: see below |")

    offset_free = [c for c in measured if c.key in ("pandana", "cityseer")]
    print(f"\nAgreement: the offset-free methods differ from lifecircle by up to "
          f"{max_pp(floor.shares, lc['cap'].shares):.2f} pp because a facility is reached at its "
          "node, not at the facility: they miss the straight-line walk from the facility to "
          "the street (up to the 300 m snapping distance), so they over-count. With every "
          "offset set to zero, lifecircle's engine matches the floor within "
          f"{_pp(max_pp(zero_offset, floor.shares))} on every kind"
          + ("" if not offset_free else ", and "
             + ", ".join(f"{c.key} matches it within {_pp(max_pp(c.shares, floor.shares))}"
                         for c in offset_free))
          + ": the searches agree; only the access model differs. The networkx recipes carry "
          "the offsets and match lifecircle.\n")

    keyed = [c for c in measured if c.key is not None and c.shares is not None]
    print("Coverage share per kind (population within the threshold):\n")
    print("| kind | threshold (m) | " + " | ".join(c.key for c in keyed) + " |")
    print("|---|---:|" + "---:|" * len(keyed))
    for kind, threshold in problem.thresholds_m.items():
        values = " | ".join(f"{c.shares[kind]:.2%}" for c in keyed)
        print(f"| {kind} | {threshold:g} | {values} |")

    ratio = lc["cap"].median_s / floor.median_s
    print(f"\nFloor: lifecircle / bare csgraph floor (both to the cap) = {ratio:.2f}x "
          f"(target <= 3x: {'met' if ratio <= 3 else 'NOT met'}).\n")
    total = sum(breakdown.values())
    print(f"Where lifecircle's stage goes (its steps timed one by one, best of {ROUNDS} "
          f"interleaved rounds each, summed over kinds; total {total * 1000:.1f} ms):\n")
    print("| step | ms | share |")
    print("|---|---:|---:|")
    for step, seconds in sorted(breakdown.items(), key=lambda kv: -kv[1]):
        print(f"| {step} | {seconds * 1000:.1f} | {seconds / total:.0%} |")
    print(f"\n{R5PY_NOTE}\n")
    installed = ", ".join(f"{d} {version(d)}" for d in ("pandana", "cityseer", "networkx",
                                                        "osmnx", "scipy") if version(d))
    print(f"Versions: {installed}. Load average (1 / 5 / 15 min, {os.cpu_count()} cores) "
          f"before: {_load(load_before)}; after: {_load(os.getloadavg())} — other processes "
          "shared the machine when the load exceeds the core count.")


R5PY_NOTE = ("r5py: not measured. `pip install r5py` works here (r5py 1.1.7, checked "
             "2026-11-30) and a JVM exists (Debian openjdk 17), but r5py downloads its R5 engine "
             "(r5-v7.5.1-r5py-all.jar) from github.com on first use, which this offline machine "
             "cannot reach (NameResolutionError), and R5 v7 needs Java 21, not Debian bookworm's "
             "17. r5py is also a transit router (it answers travel times between origins and "
             "destinations), not a nearest-facility search: a fair row would be its walking-only "
             "`TravelTimeMatrix` from every cell to every facility, bounded by the threshold.")
