"""Central Chengdu: lifecircle's coverage stage against the tools planners would use instead.

Issue "Benchmarks against the tools planners would use instead". Same data (the real central
Chengdu walk network and its modelled population grid), same machine, one process; every method
answers the same question: the walking distance from every population cell to the nearest
facility of every kind, and the population share within the kind's threshold.

1. lifecircle's coverage stage: ``NodeIndex`` + ``kind_access`` for every kind (snapping
   included, file reading excluded).
2. The common osmnx recipe: a networkx ``MultiDiGraph`` of the same nodes, edges and lengths
   and one bounded ``single_source_dijkstra_path_length(cutoff=threshold)`` per facility access
   node (the search inside ``nx.ego_graph``, without building the subgraph).
3. pandana: contraction hierarchies, then ``set_pois`` / ``nearest_pois`` per kind.
4. cityseer: ``layers.compute_accessibilities`` on a ``NetworkStructure`` of the same graph.
5. The floor: one bare ``scipy.sparse.csgraph.dijkstra(min_only=True)`` per kind from the
   access nodes (no virtual nodes, no bookkeeping).

The peers (2-4) are given lifecircle's own snapping (cells and facility access points, timed
inside each of them), so they all start from the same nodes. Only the networkx recipe can carry
a facility's straight-line offset to its access node (as a reduced cutoff); pandana, cityseer and
the floor start at the node, and the section shows that this is their whole difference.

Floors: lifecircle <= 3x the bare csgraph floor; >= 20x faster than the osmnx recipe; >= 50x
faster than pandana including its build.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import geopandas as gpd
import networkx as nx
import numpy as np
from scipy.sparse import csgraph

from lifecircle.coverage.engine import (
    FacilityAccess,
    Nearest,
    NodeIndex,
    Snap,
    at_points,
    augmented_graph,
    coverage_share,
    nearest_facility,
    node_index,
)
from lifecircle.coverage.walk import kind_access
from lifecircle.layers.network import WalkNetwork
from lifecircle.seeds import kind_names, load_standards

REPO = Path(__file__).resolve().parents[1]
CHENGDU = REPO.parent / "shared" / "data" / "chengdu-central" / "chengdu_central.osm.pbf"
#: repeats (best kept) for the methods that take well under a second, and for the breakdown
FAST_REPEATS = 20
#: repeats (best kept) for networkx and pandana (a few seconds each); cityseer runs once
SLOW_REPEATS = 3

T = TypeVar("T")


@dataclass(frozen=True)
class Problem:
    """One coverage question: a network, facilities and weighted cells.

    Attributes
    ----------
    network : the walk network
    facilities : facilities table with ``fid``, ``kind`` and geometry, in the network CRS
    x, y : population cell centres, network CRS
    population : weight per cell
    thresholds_m : walking threshold per kind, for the kinds that have facilities
    missing_kinds : kinds without any facility (skipped, as ``lifecircle.run`` does)
    max_snap_m : snapping distance of cells and facilities
    limit_m : Dijkstra bound of lifecircle and of the floor (distances beyond are inf)
    """

    network: WalkNetwork
    facilities: gpd.GeoDataFrame
    x: np.ndarray
    y: np.ndarray
    population: np.ndarray
    thresholds_m: dict[str, float]
    missing_kinds: list[str]
    max_snap_m: float
    limit_m: float


@dataclass(frozen=True)
class Prepared:
    """lifecircle's snapping, shared by the peers so that they all see the same nodes.

    Attributes
    ----------
    cells : population cells snapped to the network
    access : per kind, the facilities' access points (node and straight-line offset)
    """

    cells: Snap
    access: dict[str, FacilityAccess]

    def sources(self, kind: str) -> np.ndarray:
        """Distinct access nodes of a kind (where the peers start their searches)."""
        return np.unique(self.access[kind].node)


def make_problem(network: WalkNetwork, facilities: gpd.GeoDataFrame, x: np.ndarray,
                 y: np.ndarray, population: np.ndarray,
                 kinds: list[str] | None = None) -> Problem:
    """A :class:`Problem` with thresholds, snapping distance and bound from standards.yaml.

    Parameters
    ----------
    network, facilities : the walk network and the facilities table (``kind``, ``fid``)
    x, y, population : population cells
    kinds : kinds to measure (default: every kind of standards.yaml); kinds without a facility
        are listed in ``missing_kinds`` and skipped

    Returns
    -------
    Problem
    """
    standards = load_standards()
    present = set(facilities["kind"].astype(str))
    kinds = kinds or kind_names()
    return Problem(
        network=network, facilities=facilities, x=np.asarray(x), y=np.asarray(y),
        population=np.asarray(population, dtype=np.float64),
        thresholds_m={k: float(standards["kinds"][k]["threshold_m"]) for k in kinds
                      if k in present},
        missing_kinds=[k for k in kinds if k not in present],
        max_snap_m=float(standards["snapping"]["max_snap_m"]),
        limit_m=float(standards["snapping"]["distance_cap_m"]),
    )


def prepare(problem: Problem) -> Prepared:
    """Snap cells and facilities with lifecircle's ``NodeIndex``, as ``kind_access`` does.

    Parameters
    ----------
    problem : the coverage question

    Returns
    -------
    Prepared
        Snapped cells and per-kind facility access points.
    """
    index = NodeIndex(problem.network)
    cells = index.snap(problem.x, problem.y, problem.max_snap_m)
    kinds = problem.facilities["kind"].to_numpy()
    access = {kind: index.facility_access(problem.facilities.geometry.values[kinds == kind],
                                          problem.max_snap_m)
              for kind in problem.thresholds_m}
    return Prepared(cells=cells, access=access)


def cell_shares(problem: Problem, cells: Snap,
                node_distance: dict[str, np.ndarray]) -> dict[str, float]:
    """Coverage share per kind from per-node distances, as ``at_points`` + ``coverage_share``.

    Parameters
    ----------
    problem : the coverage question (thresholds, population weights)
    cells : snapped cells; a cell's distance is its node's plus its straight-line access, and
        unsnapped cells are never covered
    node_distance : per kind, walking distance per network node (inf where not reached)

    Returns
    -------
    dict
        Population share within the threshold, per kind.
    """
    ok = cells.reachable
    shares = {}
    for kind, threshold in problem.thresholds_m.items():
        distance = np.full(cells.node.size, np.inf)
        distance[ok] = node_distance[kind][cells.node[ok]] + cells.access_m[ok]
        shares[kind] = coverage_share(distance, problem.population, threshold)
    return shares


# -- 1. lifecircle -------------------------------------------------------------------------------

def index_build(network: WalkNetwork) -> NodeIndex:
    """What ``node_index`` builds once per network: the KD-tree and the node points."""
    index = NodeIndex(network)
    index._points()  # noqa: SLF001 - built on first polygon facility; timed here
    return index


def lifecircle_coverage(problem: Problem) -> dict[str, float]:
    """lifecircle's coverage stage: cell snapping on the network's index (built once per
    network, timed apart as the index build, like pandana's), then ``kind_access`` (one
    multi-source Dijkstra over virtual facility nodes) for every kind.

    Parameters
    ----------
    problem : the coverage question

    Returns
    -------
    dict
        Population share within the threshold, per kind.
    """
    index = node_index(problem.network)
    cells = index.snap(problem.x, problem.y, problem.max_snap_m)
    shares = {}
    for kind, threshold in problem.thresholds_m.items():
        access = kind_access(index, problem.facilities, cells, kind, threshold,
                             problem.max_snap_m, problem.limit_m)
        shares[kind] = coverage_share(access.nearest.distance_m, problem.population, threshold)
    return shares


# -- 2. the osmnx / networkx recipe --------------------------------------------------------------

def networkx_graph(network: WalkNetwork) -> nx.MultiDiGraph:
    """The walk network as an osmnx-style ``MultiDiGraph``.

    Parameters
    ----------
    network : the walk network

    Returns
    -------
    networkx.MultiDiGraph
        Node ``i`` is network node ``i`` (with ``x``, ``y``); one edge each way per street
        segment, with its ``length`` in metres.
    """
    graph = nx.MultiDiGraph(crs=network.crs)
    graph.add_nodes_from((i, {"x": x, "y": y}) for i, (x, y) in
                         enumerate(zip(network.x.tolist(), network.y.tolist(), strict=True)))
    edges = network.edges
    u, v = edges["u"].tolist(), edges["v"].tolist()
    length = edges["length"].tolist()
    graph.add_edges_from((a, b, {"length": w}) for a, b, w in zip(u, v, length, strict=True))
    graph.add_edges_from((b, a, {"length": w}) for a, b, w in zip(u, v, length, strict=True))
    return graph


def networkx_recipe(problem: Problem, graph: nx.MultiDiGraph) -> dict[str, float]:
    """The osmnx recipe: for each facility access node, a networkx Dijkstra bounded by the
    threshold less the access point's offset; a node keeps its smallest offset + distance.

    Parameters
    ----------
    problem : the coverage question
    graph : from :func:`networkx_graph`

    Returns
    -------
    dict
        Population share within the threshold, per kind.
    """
    prepared = prepare(problem)
    n = problem.network.n_nodes
    node_distance = {}
    for kind, threshold in problem.thresholds_m.items():
        best = np.full(n, np.inf)
        access = prepared.access[kind]
        for node, offset in zip(access.node.tolist(), access.offset_m.tolist(), strict=True):
            if offset > threshold:
                continue
            reached = nx.single_source_dijkstra_path_length(graph, node, cutoff=threshold - offset,
                                                            weight="length")
            nodes = np.fromiter(reached.keys(), dtype=np.int64, count=len(reached))
            dist = np.fromiter(reached.values(), dtype=np.float64, count=len(reached)) + offset
            best[nodes] = np.minimum(best[nodes], dist)
        node_distance[kind] = best
    return cell_shares(problem, prepared.cells, node_distance)


# -- 5. the floor --------------------------------------------------------------------------------

def csgraph_floor(problem: Problem, sources: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The floor: one bare ``csgraph.dijkstra(min_only=True)`` per kind from its access nodes
    on the walk graph, bounded like lifecircle's pass. Offsets are not representable without
    virtual nodes.

    Parameters
    ----------
    problem : the coverage question
    sources : per kind, the distinct access nodes

    Returns
    -------
    dict
        Per kind, the distance from every node to the nearest source (inf beyond the bound).
    """
    return {kind: csgraph.dijkstra(problem.network.graph, directed=True, indices=sources[kind],
                                   min_only=True, limit=max(problem.limit_m, threshold))
            for kind, threshold in problem.thresholds_m.items()}


# -- 3. pandana ----------------------------------------------------------------------------------

def pandana_network(network: WalkNetwork) -> Any:
    """A ``pandana.Network`` of the same nodes, edges and lengths (building it computes the
    contraction hierarchies).

    Parameters
    ----------
    network : the walk network

    Returns
    -------
    pandana.Network
        Node ids ``0..n-1`` are the network's node indices; edges are two-way.
    """
    import pandana
    import pandas as pd

    nodes = pd.RangeIndex(network.n_nodes)
    edges = network.edges
    return pandana.Network(
        pd.Series(network.x, index=nodes), pd.Series(network.y, index=nodes),
        edges["u"].to_numpy(), edges["v"].to_numpy(), edges[["length"]], twoway=True,
    )


def pandana_recipe(problem: Problem, net: Any) -> dict[str, float]:
    """pandana's recipe: POIs at the access nodes (``set_pois`` maps each to its nearest node),
    then ``nearest_pois`` within the kind's threshold for every node.

    Parameters
    ----------
    problem : the coverage question
    net : from :func:`pandana_network`

    Returns
    -------
    dict
        Population share within the threshold, per kind.
    """
    import pandas as pd

    prepared = prepare(problem)
    node_distance = {}
    for kind, threshold in problem.thresholds_m.items():
        nodes = prepared.sources(kind)
        net.set_pois(category=kind, maxdist=threshold, maxitems=1,
                     x_col=pd.Series(problem.network.x[nodes]),
                     y_col=pd.Series(problem.network.y[nodes]))
        nearest = net.nearest_pois(threshold, kind, num_pois=1, max_distance=np.inf)
        node_distance[kind] = nearest[1].to_numpy(dtype=np.float64)
    return cell_shares(problem, prepared.cells, node_distance)


# -- 4. cityseer ---------------------------------------------------------------------------------

def cityseer_structure(network: WalkNetwork) -> Any:
    """A cityseer ``NetworkStructure`` of the same nodes and straight edges, one each way, built
    the way ``cityseer.tools.io.network_structure_from_gpd`` builds one.

    Parameters
    ----------
    network : the walk network

    Returns
    -------
    cityseer.rustalgos.graph.NetworkStructure
        Node keys are ``str(i)`` for network node ``i``.
    """
    import shapely
    from cityseer import rustalgos

    structure = rustalgos.graph.NetworkStructure()
    for i, (x, y) in enumerate(zip(network.x.tolist(), network.y.tolist(), strict=True)):
        structure.add_street_node(str(i), x, y, True, 1.0)
    geometry = network.edges.geometry.values
    forward = shapely.to_wkt(geometry, rounding_precision=-1).tolist()
    backward = shapely.to_wkt(shapely.reverse(geometry), rounding_precision=-1).tolist()
    u, v = network.edges["u"].tolist(), network.edges["v"].tolist()
    for a, b, fw, bw in zip(u, v, forward, backward, strict=True):
        structure.add_street_edge(a, b, 0, str(a), str(b), fw, 1.0)
        structure.add_street_edge(b, a, 0, str(b), str(a), bw, 1.0)
    structure.validate()
    structure.build_edge_rtree()
    return structure


def cityseer_recipe(problem: Problem, structure: Any) -> dict[str, float]:
    """cityseer's recipe: data points at the access nodes, labelled by kind, and one
    ``layers.compute_accessibilities`` call for all kinds up to the largest threshold; its
    ``cc_<kind>_nearest_max_<d>`` columns give the nearest distance per node.

    Parameters
    ----------
    problem : the coverage question
    structure : from :func:`cityseer_structure`

    Returns
    -------
    dict
        Population share within the threshold, per kind.
    """
    import shapely
    from cityseer.metrics import layers

    prepared = prepare(problem)
    net = problem.network
    kinds = list(problem.thresholds_m)
    sources = [prepared.sources(kind) for kind in kinds]
    nodes = np.concatenate(sources)
    data = gpd.GeoDataFrame(
        {"kind": np.repeat(np.array(kinds, dtype=object), [s.size for s in sources])},
        geometry=shapely.points(net.x[nodes], net.y[nodes]), crs=net.crs,
    )
    keys = np.arange(net.n_nodes).astype(str)
    nodes_gdf = gpd.GeoDataFrame({"x": net.x, "y": net.y, "live": True, "weight": 1.0},
                                 geometry=shapely.points(net.x, net.y), index=keys, crs=net.crs)
    reach = int(np.ceil(max(problem.thresholds_m.values())))
    out = layers.compute_accessibilities(
        data, landuse_column_label="kind", accessibility_keys=kinds, nodes_gdf=nodes_gdf,
        network_structure=structure, distances=[reach], decay_fn="1",
    )
    node_distance = {}
    for kind in kinds:
        column = out[f"cc_{kind}_nearest_max_{reach}"].to_numpy(dtype=np.float64)
        node_distance[kind] = np.where(np.isfinite(column), column, np.inf)
    return cell_shares(problem, prepared.cells, node_distance)


# -- measuring -----------------------------------------------------------------------------------

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


@dataclass
class Row:
    """One line of the results table."""

    method: str
    seconds: float | None
    shares: dict[str, float] | None = None
    note: str = ""
    key: str | None = None


def chengdu_problem() -> Problem:
    """The real central Chengdu network, facilities and modelled population (400 /ha)."""
    from lifecircle.config import RunConfig
    from lifecircle.layers.study import load_study

    study = load_study(RunConfig(osm=CHENGDU, residential_density=400))
    pop = study.population
    return make_problem(study.network, study.facilities, pop.x, pop.y, pop.population)


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


def measure(problem: Problem) -> tuple[list[Row], dict[str, float]]:
    """Run every method on one problem.

    Parameters
    ----------
    problem : the coverage question

    Returns
    -------
    (rows, breakdown)
        The table's rows, lifecircle first and the floor last (``key`` marks the rows whose
        shares go in the per-kind table), and the best seconds per step of lifecircle's stage.
    """
    fast = fast_rounds(problem, FAST_REPEATS)
    index_s, _ = timed(lambda: index_build(problem.network), FAST_REPEATS)
    rows = [Row("lifecircle coverage stage (snapping + kind_access, every kind)",
                fast.lifecircle_s, fast.lifecircle, key="lifecircle"),
            Row("lifecircle: network index build (KD-tree + node points, once per network)",
                index_s, None),
            Row("lifecircle incl. index build", index_s + fast.lifecircle_s, fast.lifecircle)]

    nx_build_s, graph = timed(lambda: networkx_graph(problem.network), SLOW_REPEATS)
    nx_s, nx_shares = timed(lambda: networkx_recipe(problem, graph), SLOW_REPEATS)
    rows.append(Row("osmnx recipe: networkx bounded Dijkstra per access node", nx_s, nx_shares,
                    "offsets honoured (cutoff = threshold - offset); graph build excluded",
                    key="osmnx recipe"))
    rows.append(Row("osmnx recipe incl. building the networkx graph", nx_build_s + nx_s,
                    nx_shares, f"graph build {nx_build_s:.2f} s"))

    if version("pandana"):
        with quiet():
            pd_build_s, pd_net = timed(lambda: pandana_network(problem.network), SLOW_REPEATS)
            pd_s, pd_shares = timed(lambda: pandana_recipe(problem, pd_net), SLOW_REPEATS)
        rows.append(Row("pandana: build (contraction hierarchies)", pd_build_s, None))
        rows.append(Row("pandana: set_pois + nearest_pois", pd_s, pd_shares, _OFFSET_NOTE,
                        key="pandana"))
        rows.append(Row("pandana incl. build", pd_build_s + pd_s, pd_shares, _OFFSET_NOTE))
    else:
        rows.append(Row("pandana", None, None, "not installed (`pip install pandana` failed)"))

    if version("cityseer"):
        os.environ.setdefault("CITYSEER_QUIET_MODE", "1")
        with quiet():
            cs_build_s, structure = timed(lambda: cityseer_structure(problem.network))
            cs_s, cs_shares = timed(lambda: cityseer_recipe(problem, structure))
        rows.append(Row("cityseer: build NetworkStructure", cs_build_s, None))
        rows.append(Row("cityseer: compute_accessibilities", cs_s, cs_shares, _OFFSET_NOTE,
                        key="cityseer"))
        rows.append(Row("cityseer incl. build", cs_build_s + cs_s, cs_shares, _OFFSET_NOTE))
    else:
        rows.append(Row("cityseer", None, None, "not installed (`pip install cityseer` failed)"))

    rows.append(Row("floor: bare csgraph.dijkstra(min_only=True) per kind", fast.floor_s,
                    fast.floor, "Dijkstra calls only; " + _OFFSET_NOTE, key="floor"))
    return rows, fast.breakdown


_OFFSET_NOTE = ("starts at the access node: no facility-to-node straight-line offset "
                "(lifecircle adds it)")


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


def _pp(value: float) -> str:
    return "0 pp (identical)" if value == 0 else f"{value:.1e} pp"


def _load(values: tuple[float, float, float]) -> str:
    return " / ".join(f"{x:.2f}" for x in values)


def report(problem: Problem, rows: list[Row], breakdown: dict[str, float],
           zero_offset: dict[str, float], load_before: tuple[float, float, float]) -> None:
    """Print the Markdown section.

    Parameters
    ----------
    problem : the coverage question measured
    rows : from :func:`measure`
    breakdown : from :func:`stage_breakdown`
    zero_offset : from :func:`zero_offset_shares`
    load_before : ``os.getloadavg()`` before measuring
    """
    net = problem.network
    lc, floor = rows[0], rows[-1]
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
          f"so that all see the same nodes. Best of {FAST_REPEATS} runs for lifecircle and the "
          f"floor, of {SLOW_REPEATS} for networkx and pandana, one run of cityseer. lifecircle "
          f"and the floor search to the {problem.limit_m:g} m distance cap; networkx, pandana "
          "and cityseer only to the threshold, which favours them.\n")
    print("| method | seconds | ratio to lifecircle | max coverage difference (pp) | note |")
    print("|---|---:|---:|---:|---|")
    for row in rows:
        if row.seconds is None:
            print(f"| {row.method} | — | — | — | {row.note} |")
            continue
        diff = f"{max_pp(row.shares, lc.shares):.3f}" if row.shares is not None else "—"
        print(f"| {row.method} | {row.seconds:.3f} | {row.seconds / lc.seconds:.2f} "
              f"| {diff} | {row.note} |")
    print(f"\nAgreement: the offset-free methods differ from lifecircle by up to "
          f"{max_pp(floor.shares, lc.shares):.2f} pp because a facility is reached at its node, "
          "not at the facility: they miss the straight-line walk from the facility to the "
          "street (up to the 300 m snapping distance), so they over-count. With every offset "
          "set to zero, lifecircle's engine matches the floor within "
          f"{_pp(max_pp(zero_offset, floor.shares))} on every kind, and pandana and cityseer "
          "match the floor within "
          + ", ".join(f"{_pp(max_pp(r.shares, floor.shares))} ({r.key})" for r in rows
                      if r.key in ("pandana", "cityseer"))
          + ": the searches agree; only the access model differs.\n")

    keyed = [r for r in rows if r.key is not None and r.shares is not None]
    print("Coverage share per kind (population within the threshold):\n")
    print("| kind | threshold (m) | " + " | ".join(r.key for r in keyed) + " |")
    print("|---|---:|" + "---:|" * len(keyed))
    for kind, threshold in problem.thresholds_m.items():
        values = " | ".join(f"{r.shares[kind]:.2%}" for r in keyed)
        print(f"| {kind} | {threshold:g} | {values} |")

    print("\nFloors:\n")
    print("| floor | measured | target | met |")
    print("|---|---:|---:|---|")
    ratio = lc.seconds / floor.seconds
    print(f"| lifecircle / bare csgraph floor | {ratio:.2f}x | <= 3x | "
          f"{'yes' if ratio <= 3 else 'NO'} |")
    by_name = {r.method: r for r in rows}
    for name, target in (("osmnx recipe: networkx bounded Dijkstra per access node", 20.0),
                         ("osmnx recipe incl. building the networkx graph", 20.0),
                         ("pandana incl. build", 50.0), ("cityseer incl. build", None)):
        row = by_name.get(name)
        if row is None or row.seconds is None:
            continue
        # builds are compared with builds: pandana's CH and networkx's graph with lifecircle's index
        base = by_name["lifecircle incl. index build"] if "incl." in name else lc
        speedup = row.seconds / base.seconds
        met = "—" if target is None else ("yes" if speedup >= target else "NO")
        goal = "—" if target is None else f">= {target:g}x"
        who = "lifecircle incl. index build" if "incl." in name else "lifecircle"
        print(f"| {who} faster than {name} | {speedup:.1f}x | {goal} | {met} |")

    total = sum(breakdown.values())
    print(f"\nWhere lifecircle's stage goes (its steps timed one by one in the same rounds as "
          f"the stage, best of {FAST_REPEATS} each, summed over kinds; total "
          f"{total * 1000:.1f} ms vs the floor's {floor.seconds * 1000:.1f} ms):\n")
    print("| step | ms | share |")
    print("|---|---:|---:|")
    for step, seconds in sorted(breakdown.items(), key=lambda kv: -kv[1]):
        print(f"| {step} | {seconds * 1000:.1f} | {seconds / total:.0%} |")
    installed = ", ".join(f"{d} {version(d)}" for d in ("pandana", "cityseer", "networkx",
                                                        "scipy") if version(d))
    print(f"\nVersions: {installed}. Load average (1 / 5 / 15 min, {os.cpu_count()} cores) "
          f"before: {_load(load_before)}; after: {_load(os.getloadavg())} — other processes "
          "shared the machine when the load exceeds the core count.")


def main() -> None:
    """Measure on central Chengdu and print the section (skipped without the data)."""
    if not CHENGDU.exists():
        print(f"## bench_peers\n\nskipped: {CHENGDU} not found\n")
        return
    problem = chengdu_problem()
    load_before = os.getloadavg()
    rows, breakdown = measure(problem)
    report(problem, rows, breakdown, zero_offset_shares(problem), load_before)


if __name__ == "__main__":
    main()
