"""lifecircle's coverage stage, the networkx recipes and the bare csgraph floor.

Every function answers the :class:`~peers.problem.Problem`: the population share within each
kind's threshold, from the nearest walking distance to the kind. ``bound`` is the search bound:
``"cap"`` (lifecircle's: the 5,000 m distance cap) or ``"threshold"`` (the kind's threshold, all a
coverage share needs); both give the same shares, only the work differs.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from scipy.sparse import csgraph

from lifecircle.coverage.engine import NodeIndex, coverage_share, node_index
from lifecircle.coverage.walk import kind_access
from lifecircle.layers.network import WalkNetwork

from .problem import Prepared, Problem, cell_shares, prepare

# -- lifecircle ----------------------------------------------------------------------------------


def index_build(network: WalkNetwork) -> NodeIndex:
    """What ``node_index`` builds once per network: the KD-tree and the node points."""
    index = NodeIndex(network)
    index._points()  # noqa: SLF001 - built on first polygon facility; timed here
    return index


def lifecircle_coverage(problem: Problem, bound: str = "cap") -> dict[str, float]:
    """lifecircle's coverage stage: cell snapping on the network's index (built once per
    network, timed apart as the index build, like pandana's), then ``kind_access`` (one
    multi-source Dijkstra over virtual facility nodes) for every kind.

    Parameters
    ----------
    problem : the coverage question
    bound : ``"cap"`` (what a run does) or ``"threshold"``

    Returns
    -------
    dict
        Population share within the threshold, per kind.
    """
    index = node_index(problem.network)
    cells = index.snap(problem.x, problem.y, problem.max_snap_m)
    shares = {}
    for kind, threshold in problem.thresholds_m.items():
        # kind_access searches to max(limit, threshold): a zero limit stops at the threshold
        limit = problem.bound(threshold, bound) if bound == "cap" else 0.0
        access = kind_access(index, problem.facilities, cells, kind, threshold,
                             problem.max_snap_m, limit)
        shares[kind] = coverage_share(access.nearest.distance_m, problem.population, threshold)
    return shares


# -- networkx ------------------------------------------------------------------------------------

def networkx_graph(network: WalkNetwork) -> nx.MultiDiGraph:
    """The walk network as osmnx's ``MultiDiGraph`` (``osmnx.convert.graph_from_gdfs``).

    Parameters
    ----------
    network : the walk network

    Returns
    -------
    networkx.MultiDiGraph
        Node ``i`` is network node ``i`` (with ``x``, ``y``); one edge each way per street
        segment (parallel segments keyed 0, 1, ...), with its ``length`` in metres.
    """
    import geopandas as gpd
    import osmnx as ox
    import pandas as pd
    import shapely

    nodes = gpd.GeoDataFrame({"x": network.x, "y": network.y},
                             geometry=shapely.points(network.x, network.y),
                             index=pd.RangeIndex(network.n_nodes, name="osmid"), crs=network.crs)
    edges = network.edges
    u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
    both = pd.DataFrame({"u": np.concatenate([u, v]), "v": np.concatenate([v, u]),
                         "length": np.tile(edges["length"].to_numpy(dtype=np.float64), 2)})
    both["key"] = both.groupby(["u", "v"]).cumcount()
    geometry = edges.geometry.values
    both = gpd.GeoDataFrame(both, geometry=np.concatenate([geometry, shapely.reverse(geometry)]),
                            crs=network.crs).set_index(["u", "v", "key"])
    return ox.convert.graph_from_gdfs(nodes, both)


def networkx_simple_graph(network: WalkNetwork) -> nx.Graph:
    """The walk network as an undirected ``nx.Graph``: one edge per node pair, the shortest of
    any parallel segments (what a search needs; streets here are walkable both ways)."""
    edges = network.edges
    length = edges["length"].to_numpy(dtype=np.float64)
    order = np.argsort(-length, kind="stable")  # the last write of a pair wins: the shortest
    u, v = edges["u"].to_numpy()[order].tolist(), edges["v"].to_numpy()[order].tolist()
    graph = nx.Graph()
    graph.add_nodes_from(range(network.n_nodes))
    graph.add_weighted_edges_from(zip(u, v, length[order].tolist(), strict=True),
                                  weight="length")
    return graph


def networkx_fair(problem: Problem, graph: nx.Graph | nx.MultiDiGraph, bound: str = "cap",
                  prepared: Prepared | None = None) -> dict[str, float]:
    """The fair networkx recipe: per kind, one virtual node per facility joined to its access
    nodes by an edge as long as the straight-line offset, and ONE
    ``nx.multi_source_dijkstra_path_length`` from the virtual nodes (what lifecircle does with
    csgraph).

    On an undirected graph a path could pass through a virtual node, but never shorter than
    starting there (it is a source at 0 m), so distances are unchanged.

    Parameters
    ----------
    problem : the coverage question
    graph : from :func:`networkx_simple_graph` or :func:`networkx_graph`; the virtual nodes
        are added and removed again inside the call
    bound : ``"cap"`` or ``"threshold"``
    prepared : snapping to reuse (default: done inside, and timed)

    Returns
    -------
    dict
        Population share within the threshold, per kind.
    """
    prepared = prepared or prepare(problem)
    n = problem.network.n_nodes
    node_distance = {}
    for kind, threshold in problem.thresholds_m.items():
        access = prepared.access[kind]
        # largest offset first: on nx.Graph a repeated pair keeps its last (smallest) offset
        order = np.argsort(-access.offset_m, kind="stable")
        virtual = (n + access.facility[order]).tolist()
        graph.add_weighted_edges_from(zip(virtual, access.node[order].tolist(),
                                          access.offset_m[order].tolist(), strict=True),
                                      weight="length")
        sources = set(virtual)
        try:
            reached = nx.multi_source_dijkstra_path_length(
                graph, sources, cutoff=problem.bound(threshold, bound), weight="length")
        finally:
            graph.remove_nodes_from(sources)
        nodes = np.fromiter(reached.keys(), dtype=np.int64, count=len(reached))
        dist = np.fromiter(reached.values(), dtype=np.float64, count=len(reached))
        keep = nodes < n
        best = np.full(n, np.inf)
        best[nodes[keep]] = dist[keep]
        node_distance[kind] = best
    return cell_shares(problem, prepared.cells, node_distance)


def networkx_naive(problem: Problem, graph: nx.MultiDiGraph,
                   bound: str = "threshold") -> dict[str, float]:
    """The naive recipe (one search per access node, as ``nx.ego_graph`` per facility does):
    for each facility access node, a networkx Dijkstra bounded by the bound less the access
    point's offset; a node keeps its smallest offset + distance.

    Parameters
    ----------
    problem : the coverage question
    graph : from :func:`networkx_graph`
    bound : ``"threshold"`` (as such a recipe is written) or ``"cap"``

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
        cutoff = problem.bound(threshold, bound)
        for node, offset in zip(access.node.tolist(), access.offset_m.tolist(), strict=True):
            if offset > cutoff:
                continue
            reached = nx.single_source_dijkstra_path_length(graph, node, cutoff=cutoff - offset,
                                                            weight="length")
            nodes = np.fromiter(reached.keys(), dtype=np.int64, count=len(reached))
            dist = np.fromiter(reached.values(), dtype=np.float64, count=len(reached)) + offset
            best[nodes] = np.minimum(best[nodes], dist)
        node_distance[kind] = best
    return cell_shares(problem, prepared.cells, node_distance)


#: the former name of the naive recipe
networkx_recipe = networkx_naive


# -- the floor -----------------------------------------------------------------------------------

def csgraph_floor(problem: Problem, sources: dict[str, np.ndarray],
                  bound: str = "cap") -> dict[str, np.ndarray]:
    """The floor: one bare ``csgraph.dijkstra(min_only=True)`` per kind from its access nodes
    on the walk graph. Offsets are not representable without virtual nodes.

    Parameters
    ----------
    problem : the coverage question
    sources : per kind, the distinct access nodes
    bound : ``"cap"`` or ``"threshold"``

    Returns
    -------
    dict
        Per kind, the distance from every node to the nearest source (inf beyond the bound).
    """
    return {kind: csgraph.dijkstra(problem.network.graph, directed=True, indices=sources[kind],
                                   min_only=True, limit=problem.bound(threshold, bound))
            for kind, threshold in problem.thresholds_m.items()}
