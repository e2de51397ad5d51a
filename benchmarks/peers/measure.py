"""Timing: the peers in interleaved rounds (medians), lifecircle's stage at its best and step by
step, and the facts the report states (offsets, the zero-offset check)."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import numpy as np
from scipy.sparse import csgraph

from lifecircle.coverage.engine import (
    FacilityAccess,
    Nearest,
    at_points,
    augmented_graph,
    coverage_share,
    nearest_facility,
)

from .problem import Problem, cell_shares, prepare
from .recipes import csgraph_floor, index_build, lifecircle_coverage

T = TypeVar("T")


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Send file descriptor 1 to stderr (pandana's C++ prints progress to stdout)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def timed(fn: Callable[[], T], repeats: int = 1) -> tuple[float, T]:
    """Time a call.

    Parameters
    ----------
    fn : the call
    repeats : how many times to make it

    Returns
    -------
    (seconds, result)
        The best wall time of the calls, and the last call's result.
    """
    best, result = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def max_pp(shares: dict[str, float], reference: dict[str, float]) -> float:
    """Largest coverage difference over the kinds of ``reference``, in percentage points."""
    return max(abs(shares[k] - reference[k]) * 100.0 for k in reference)


def version(dist: str) -> str | None:
    """Installed version of a distribution, or None."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def offsets_summary(problem: Problem) -> str:
    """How far facilities stand from their access nodes (what the offset-free methods miss)."""
    prepared = prepare(problem)
    offsets = np.concatenate([prepared.access[k].offset_m for k in problem.thresholds_m])
    return (f"{offsets.size:,} facility access points; straight-line offset from facility to "
            f"node: {(offsets > 0).mean():.0%} non-zero, mean {offsets.mean():.1f} m, "
            f"max {offsets.max():.0f} m")


def zero_offset_shares(problem: Problem) -> dict[str, float]:
    """lifecircle's engine with every facility offset set to zero: what the offset-free methods
    compute, so any remaining difference to them would be the search's.

    Parameters
    ----------
    problem : the coverage question

    Returns
    -------
    dict
        Population share within the threshold, per kind.
    """
    prepared = prepare(problem)
    shares = {}
    for kind, threshold in problem.thresholds_m.items():
        access = prepared.access[kind]
        flat = FacilityAccess(access.facility, access.node, np.zeros_like(access.offset_m),
                              access.n_facilities)
        nodes = nearest_facility(problem.network, flat, max(problem.limit_m, threshold))
        shares[kind] = coverage_share(at_points(nodes, prepared.cells).distance_m,
                                      problem.population, threshold)
    return shares


class _Laps:
    """Wall seconds per named step, each lap measured from the end of the previous one."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}
        self._mark = time.perf_counter()

    def lap(self, step: str) -> None:
        """Charge the time since the previous lap to ``step``."""
        now = time.perf_counter()
        self.spent[step] = self.spent.get(step, 0.0) + now - self._mark
        self._mark = now


def stage_breakdown(problem: Problem) -> dict[str, float]:
    """Seconds per step of lifecircle's coverage stage: the steps of ``kind_access`` and
    ``nearest_facility`` run one by one.

    Parameters
    ----------
    problem : the coverage question

    Returns
    -------
    dict
        Seconds per step, summed over kinds. The "Dijkstra" step is the csgraph call itself,
        comparable to the floor.
    """
    net, n = problem.network, problem.network.n_nodes
    facilities = problem.facilities
    laps = _Laps()
    index = index_build(net)
    laps.lap("network index build (once per network; not in the stage)")
    cells = index.snap(problem.x, problem.y, problem.max_snap_m)
    laps.lap("snap cells")
    kinds = facilities["kind"].to_numpy()
    geometries = facilities.geometry.to_numpy()
    for kind, threshold in problem.thresholds_m.items():
        of_kind = geometries[kinds == kind]
        laps.lap("select the kind's facilities (numpy mask)")
        access = index.facility_access(of_kind, problem.max_snap_m)
        laps.lap("facility access points (KD-tree candidates, GEOS distances)")
        graph, sources = augmented_graph(net, access)
        laps.lap("augmented graph (CSR arrays stacked)")
        dist, _, origin = csgraph.dijkstra(
            graph, directed=True, indices=np.arange(n, n + sources.size),
            limit=max(problem.limit_m, threshold), min_only=True, return_predecessors=True)
        laps.lap("Dijkstra (csgraph call, as in nearest_facility)")
        reached = origin[:n] >= 0
        facility = np.full(n, -1, dtype=np.int64)
        facility[reached] = sources[origin[:n][reached] - n]
        cell = at_points(Nearest(dist[:n], facility), cells)
        coverage_share(cell.distance_m, problem.population, threshold)
        laps.lap("facility ids + per-cell distances (at_points) + share")
    return laps.spent



@dataclass(frozen=True)
class FastRounds:
    """lifecircle's stage, the floor and the stage's breakdown, each at its best.

    Attributes
    ----------
    lifecircle_s, floor_s : best wall seconds of the stage and of the floor
    lifecircle, floor : coverage share per kind of each
    breakdown : best seconds per step of the stage (see :func:`stage_breakdown`)
    """

    lifecircle_s: float
    lifecircle: dict[str, float]
    floor_s: float
    floor: dict[str, float]
    breakdown: dict[str, float]


def fast_rounds(problem: Problem, rounds: int) -> FastRounds:
    """Time lifecircle's stage, the floor and the stage's steps, interleaved round by round so
    that all three meet the same machine load; each keeps its best round.

    Parameters
    ----------
    problem : the coverage question
    rounds : number of rounds

    Returns
    -------
    FastRounds
    """
    prepared = prepare(problem)
    sources = {kind: prepared.sources(kind) for kind in problem.thresholds_m}
    lc_s = floor_s = np.inf
    lc: dict[str, float] = {}
    floor_dist: dict[str, np.ndarray] = {}
    breakdown: dict[str, float] = {}
    for _ in range(rounds):
        seconds, lc = timed(lambda: lifecircle_coverage(problem))
        lc_s = min(lc_s, seconds)
        seconds, floor_dist = timed(lambda: csgraph_floor(problem, sources))
        floor_s = min(floor_s, seconds)
        for step, seconds in stage_breakdown(problem).items():
            breakdown[step] = min(breakdown.get(step, np.inf), seconds)
    return FastRounds(lifecircle_s=lc_s, lifecircle=lc, floor_s=floor_s,
                      floor=cell_shares(problem, prepared.cells, floor_dist), breakdown=breakdown)


# -- interleaved rounds --------------------------------------------------------------------------

@dataclass
class Contender:
    """One method in the interleaved rounds.

    Attributes
    ----------
    method : row label
    call : the timed call; returns coverage shares per kind, or None for a build
    bound : ``"cap"``, ``"threshold"`` or None (builds)
    rounds : how many of the rounds it takes part in (the first ones; slow methods fewer)
    note : shown in the table
    key : column name in the per-kind table (None: not shown there)
    post : turns the call's result into shares, untimed (the floor's distances)
    seconds : wall seconds of each of its rounds (filled by :func:`interleaved`)
    shares : its last result
    """

    method: str
    call: Callable[[], Any]
    bound: str | None
    rounds: int
    note: str = ""
    key: str | None = None
    post: Callable[[Any], dict[str, float]] | None = None
    seconds: list[float] = field(default_factory=list)
    shares: dict[str, float] | None = None

    @property
    def median_s(self) -> float | None:
        """Median wall seconds over its rounds (None when it never ran)."""
        return statistics.median(self.seconds) if self.seconds else None


def interleaved(contenders: list[Contender], rounds: int) -> list[Contender]:
    """Run the contenders round after round, each once per round in an order rotated every
    round, so that all meet the same machine load; fills ``seconds`` and ``shares``.

    Parameters
    ----------
    contenders : the methods (a contender with ``rounds < rounds`` sits out the later ones)
    rounds : number of rounds

    Returns
    -------
    list of Contender
        The same list, measured.
    """
    for r in range(rounds):
        shift = r % len(contenders)
        for c in contenders[shift:] + contenders[:shift]:
            if r >= c.rounds:
                continue
            with quiet():
                start = time.perf_counter()
                result = c.call()
                c.seconds.append(time.perf_counter() - start)
            if c.bound is not None:  # a query (a build returns its structure, not shares)
                c.shares = c.post(result) if c.post else result
    return contenders


#: interleaved rounds of every peer (medians kept); slow contenders take part in fewer
ROUNDS = 5
#: rounds of the slow contenders (the naive recipe, cityseer, the graph builds)
SLOW_ROUNDS = 3


def contenders(problem: Problem) -> list[Contender]:
    """Every method at each bound it is measured at, its structure built once beforehand (the
    builds are contenders of their own).

    Parameters
    ----------
    problem : the coverage question

    Returns
    -------
    list of Contender
        lifecircle first; ``method`` names are unique.
    """
    from .others import cityseer_recipe, cityseer_structure, pandana_network, pandana_recipe
    from .recipes import (
        networkx_fair,
        networkx_graph,
        networkx_naive,
        networkx_simple_graph,
    )

    net = problem.network
    prepared = prepare(problem)
    sources = {kind: prepared.sources(kind) for kind in problem.thresholds_m}
    out = []
    for bound in ("cap", "threshold"):
        out.append(Contender("lifecircle coverage stage", partial(lifecircle_coverage, problem,
                                                                  bound),
                             bound, ROUNDS, key="lifecircle" if bound == "cap" else None))
    out.append(Contender("lifecircle: network index build", partial(index_build, net), None,
                         ROUNDS))
    for bound in ("cap", "threshold"):
        out.append(Contender("floor: bare csgraph.dijkstra per kind",
                             partial(csgraph_floor, problem, sources, bound), bound,
                             ROUNDS, "Dijkstra calls only; " + OFFSET_NOTE,
                             key="floor" if bound == "cap" else None,
                             post=partial(cell_shares, problem, prepared.cells)))
    simple, multi = networkx_simple_graph(net), networkx_graph(net)
    out.append(Contender("networkx: build nx.Graph", partial(networkx_simple_graph, net), None,
                         SLOW_ROUNDS))
    out.append(Contender("networkx: build osmnx MultiDiGraph (graph_from_gdfs)",
                         partial(networkx_graph, net), None, SLOW_ROUNDS))
    for bound in ("cap", "threshold"):
        out.append(Contender("networkx fair on nx.Graph", partial(networkx_fair, problem, simple,
                                                                  bound),
                             bound, ROUNDS, "one multi_source_dijkstra per kind from virtual "
                             "facility nodes (offsets as edges)",
                             key="networkx fair" if bound == "cap" else None))
        out.append(Contender("networkx fair on osmnx MultiDiGraph",
                             partial(networkx_fair, problem, multi, bound), bound, ROUNDS,
                             "as above, on osmnx's graph"))
    out.append(Contender("networkx naive: one search per access node",
                         partial(networkx_naive, problem, multi, "threshold"), "threshold",
                         SLOW_ROUNDS, "osmnx MultiDiGraph; cutoff = threshold - offset; at the "
                         "cap it would be ~1,400 whole-city searches (not run)",
                         key="networkx naive"))
    if version("pandana"):
        with quiet():
            pd_net = pandana_network(net)
        out.append(Contender("pandana: build (contraction hierarchies)",
                             partial(pandana_network, net), None, SLOW_ROUNDS))
        for bound in ("cap", "threshold"):
            out.append(Contender("pandana: set_pois + nearest_pois",
                                 partial(pandana_recipe, problem, pd_net, bound), bound, ROUNDS,
                                 OFFSET_NOTE, key="pandana" if bound == "threshold" else None))
    if version("cityseer"):
        os.environ.setdefault("CITYSEER_QUIET_MODE", "1")
        with quiet():
            structure = cityseer_structure(net)
        out.append(Contender("cityseer: build NetworkStructure",
                             partial(cityseer_structure, net), None, 1))
        out.append(Contender("cityseer: compute_accessibilities",
                             partial(cityseer_recipe, problem, structure, "threshold"),
                             "threshold", SLOW_ROUNDS, OFFSET_NOTE + "; one call up to the "
                             "largest threshold", key="cityseer"))
        out.append(Contender("cityseer: compute_accessibilities",
                             partial(cityseer_recipe, problem, structure, "cap"), "cap", 1,
                             OFFSET_NOTE + "; one call up to the cap (one round: slow)"))
    return out


OFFSET_NOTE = ("starts at the access node: no facility-to-node straight-line offset "
               "(lifecircle adds it)")

