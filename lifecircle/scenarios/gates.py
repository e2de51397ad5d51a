"""Where new gates in gated compounds (封闭小区) bring residents within reach: ``lifecircle site
--kind KIND --gates-add K`` (issue 19).

Opening a gate is a real and cheap intervention. Candidates are points on each gated compound's
wall where a public street can be reached: where a mapped path crosses the wall, and every
:data:`GATE_SPACING_M` along the wall within :data:`~lifecircle.layers.compounds.GATE_REACH_M`
of a street outside. Each candidate is evaluated exactly on its own (one new gate adds one way
out, ``inside -> outside``, and one way in, ``outside -> entered copy``; a shortest walk uses at
most one of them, so the new distance of every node is the smaller of its old one and the walk
through the gate, from two bounded searches). The best K are chosen with the coverage model of
:mod:`lifecircle.coverage.optimize` (MCLP, HiGHS) over these single-gate covers; the figure after
each chosen gate is then recomputed exactly with all the gates before it (a walk leaving by one
new gate and entering another compound by a second one is counted there, not in the model).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from lifecircle.config import RunConfig
from lifecircle.coverage import optimize
from lifecircle.coverage.engine import NodeIndex, Snap, nearest_facility, node_index
from lifecircle.errors import InputError
from lifecircle.layers.compounds import GATE_REACH_M, gate_links
from lifecircle.layers.study import Study
from lifecircle.layers.walking import WalkCost, with_gate

#: candidate gates along a wall (assumption: a compound gate every 50 m of wall is as dense as
#: planners would consider; GB 50180-2018 sets no spacing)
GATE_SPACING_M = 50.0
#: candidates evaluated per csgraph call (bounds the dense rows held at once)
_BATCH = 64


def gate_candidates(cost: WalkCost, network, spacing_m: float = GATE_SPACING_M
                    ) -> gpd.GeoDataFrame:
    """Candidate gates of every gated compound, in the network CRS.

    Where a mapped path crosses the wall (source ``crossing``), then points every ``spacing_m``
    along the wall within :data:`GATE_REACH_M` of a street outside every compound (source
    ``wall``), those closer than half the spacing to a crossing point dropped. Compounds treated
    as open (no gate given) get none: a first gate would close them.

    Returns
    -------
    GeoDataFrame with ``candidate_id``, ``source``, ``size_m2`` (0), ``compound`` (row of the
    compounds layer) and the points
    """
    cg = cost.compounds
    gated = np.flatnonzero(cg.gated)
    walls = shapely.boundary(cg.polygons[gated])
    edges = network.edges
    eu, ev = edges["u"].to_numpy(), edges["v"].to_numpy()
    comp = cg.compound_of
    lines = edges.geometry.to_numpy()
    # crossing points: a path of the compound cut by its wall
    cross = np.flatnonzero((comp[eu] != comp[ev]) & ((comp[eu] >= 0) | (comp[ev] >= 0)))
    w_i, e_j = shapely.STRtree(lines[cross]).query(walls, predicate="intersects")
    owner = gated[w_i]
    mine = (comp[eu[cross[e_j]]] == owner) | (comp[ev[cross[e_j]]] == owner)
    hits = shapely.intersection(walls[w_i[mine]], lines[cross[e_j[mine]]])
    crossing_pt = shapely.point_on_surface(hits)
    crossing_comp = owner[mine]
    # wall points every spacing_m near a street outside the compounds
    length = shapely.length(walls)
    count = np.maximum(np.floor(length / spacing_m).astype(np.int64), 1)
    wall_of = np.repeat(np.arange(walls.size), count)
    offset = (np.arange(wall_of.size) - np.repeat(np.cumsum(count) - count, count)) * spacing_m
    wall_pt = shapely.line_interpolate_point(walls[wall_of], offset)
    streets = lines[(comp[eu] < 0) & (comp[ev] < 0)]
    near = np.zeros(wall_pt.size, dtype=bool)
    if streets.size and wall_pt.size:
        near[np.unique(shapely.STRtree(streets).query(wall_pt, predicate="dwithin",
                                                      distance=GATE_REACH_M)[0])] = True
    if crossing_pt.size and wall_pt.size:
        gap, _ = cKDTree(shapely.get_coordinates(crossing_pt)).query(
            shapely.get_coordinates(wall_pt))
        near &= gap >= spacing_m / 2
    points = np.concatenate([crossing_pt, wall_pt[near]])
    compound = np.concatenate([crossing_comp, gated[wall_of[near]]])
    source = np.array(["crossing"] * crossing_pt.size + ["wall"] * int(near.sum()), dtype=object)
    ids = np.array([f"gate-{cost.inputs.ids[c]}-{i}" for i, c in enumerate(compound)],
                   dtype=object)
    return gpd.GeoDataFrame({"candidate_id": ids, "source": source,
                             "size_m2": np.zeros(points.size), "compound": compound},
                            geometry=gpd.GeoSeries(points, crs=network.crs), crs=network.crs)


def gate_cover(cost: WalkCost, index: NodeIndex, facilities: np.ndarray, cells: Snap,
               threshold_m: float, max_snap_m: float, candidates: gpd.GeoDataFrame
               ) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
    """Which cells each candidate gate, opened alone, brings within ``threshold_m``.

    Parameters
    ----------
    cost : the study's walking cost, with compounds
    index : snapping index of the walk network
    facilities : the kind's facility geometries (network CRS)
    cells : population cells snapped with ``cost.snap``
    threshold_m : the kind's walking threshold
    max_snap_m : facilities farther from the network are unreachable
    candidates : from :func:`gate_candidates`

    Returns
    -------
    (cover, already, distance): sparse bool (cells x candidates), True where the cell is within
    the threshold with that gate; bool per cell within it already; each cell's distance now
    """
    network = index.network
    cg = cost.compounds
    access = cost.facility_access(index, facilities, max_snap_m)
    base = nearest_facility(network, access, limit_m=threshold_m,
                            cost_graph=cost.graph).distance_m
    now = cost.at_cells(_nearest(base), cells).distance_m
    pts = candidates.geometry.to_numpy()
    links = gate_links(network, cg.compound_of, candidates["compound"].to_numpy(), pts)
    leave, enter = _link_costs(cost, network, links)
    a, b = links.inside, links.outside
    valid = a >= 0
    entered = np.where(valid, cg.entered[np.maximum(a, 0)], -1)
    # what lies beyond the new gate: the street node's distance (leaving), the inside node's
    # entered copy's (coming in to a facility inside)
    beyond_out = np.where(valid, base[np.maximum(b, 0)] + leave, np.inf)
    beyond_in = np.where(entered >= 0, base[np.maximum(entered, 0)] + enter, np.inf)
    ok = np.flatnonzero(cells.reachable)
    nodes, reach_m = cells.node[ok], cells.access_m[ok]
    transposed = cost.graph.T.tocsr()
    columns = []
    for start in range(0, candidates.shape[0], _BATCH):
        part = np.arange(start, min(start + _BATCH, candidates.shape[0]))
        best = np.full((part.size, ok.size), np.inf)
        for src, beyond in ((a, beyond_out), (b, beyond_in)):
            use = part[np.isfinite(beyond[part]) & (beyond[part] < threshold_m)]
            if use.size == 0:
                continue
            to_gate = csgraph.dijkstra(transposed, directed=True, indices=src[use],
                                       limit=threshold_m)
            rows = np.searchsorted(part, use)
            best[rows] = np.minimum(best[rows], to_gate[:, nodes] + beyond[use][:, None])
        columns.append(sparse.csc_matrix((best + reach_m[None, :] <= threshold_m).T))
    cover = sparse.csr_matrix((cells.node.size, 0), dtype=bool)
    if columns:
        inner = sparse.hstack(columns).tocsr()
        cover = sparse.csr_matrix((np.ones(inner.nnz, bool),
                                   (ok[inner.tocoo().row], inner.tocoo().col)),
                                  shape=(cells.node.size, candidates.shape[0]))
    return cover, now <= threshold_m, now


def site_gates(study: Study, config: RunConfig, kind: str, k: int,
               spacing_m: float = GATE_SPACING_M):
    """The best ``k`` new gates for ``walk_coverage.<kind>``.

    Returns
    -------
    :class:`lifecircle.scenarios.site.SitingReport` (sites = the gates in order, the exact
    figure after each)

    Raises
    ------
    InputError
        No compounds, a park (sited by area, not by gates), or no candidate gate.
    """
    from lifecircle.scenarios.site import SitingReport

    if study.cost is None or study.cost.compounds is None:
        raise InputError("--gates-add", "needs the study's gated compounds (--compounds FILE "
                                        "and --gates FILE)")
    if kind == "park":
        raise InputError("--gates-add", "parks are sited by their service-radius area; give a "
                                        "walking kind, e.g. primary_school")
    if not 1 <= k <= 500:
        raise InputError(f"--gates-add {k}", "must be between 1 and 500")
    index = node_index(study.network)
    pop, threshold, snap_m = study.population, config.threshold(kind), config.snap_m()
    geoms = study.facilities.geometry.to_numpy()[(study.facilities["kind"] == kind).to_numpy()]
    if geoms.size == 0:
        raise InputError(f"--kind {kind}", "no facility of this kind in the study area")
    candidates = gate_candidates(study.cost, study.network, spacing_m)
    if candidates.empty:
        raise InputError("--gates-add", "no gated compound wall lies near a street")
    cells = study.cost.snap(index, pop.x, pop.y, snap_m)
    cover, already, _ = gate_cover(study.cost, index, geoms, cells, threshold, snap_m,
                                   candidates)
    result = optimize.mclp(pop.population, cover, already, k)
    chosen = candidates.iloc[result.chosen].reset_index(drop=True)
    # exact figures: the gates opened one after the other, all kept
    total = float(pop.population.sum())
    cost, path, ids = study.cost, [], study.cost.inputs.ids
    new_site = np.zeros(pop.n_cells, dtype=np.int64)
    covered = already.copy()
    for order, (point, comp) in enumerate(zip(chosen.geometry, chosen["compound"],
                                              strict=True), start=1):
        cost = with_gate(cost, study.network, ids[comp], point.x, point.y, "--gates-add")
        now = _distances(cost, index, geoms, pop, snap_m, threshold) <= threshold
        new_site[now & ~covered] = order
        covered |= now
        path.append(float(pop.population[now].sum() / total) if total > 0 else float("nan"))
    solve = result.solve.as_dict() | {
        "model": "MCLP over single-gate covers (each evaluated exactly); figures after each "
                 "gate recomputed with all gates before it"}
    return SitingReport(kind=kind, metric=f"walk_coverage.{kind}",
                        before=float(result.share_before), path=path,
                        sites=chosen.drop(columns="compound").assign(
                            compound=study.cost.inputs.ids[chosen["compound"].to_numpy()]),
                        solve=solve, target=None, reached=None, candidates=len(candidates),
                        new_site=new_site)


def _distances(cost: WalkCost, index: NodeIndex, geoms: np.ndarray, pop, snap_m: float,
               limit_m: float) -> np.ndarray:
    access = cost.facility_access(index, geoms, snap_m)
    near = nearest_facility(index.network, access, limit_m=limit_m, cost_graph=cost.graph)
    return cost.at_cells(near, cost.snap(index, pop.x, pop.y, snap_m)).distance_m


def _nearest(distance: np.ndarray):
    from lifecircle.coverage.engine import Nearest

    return Nearest(distance_m=distance, facility=np.where(np.isfinite(distance), 0, -1))


def _link_costs(cost: WalkCost, network, links) -> tuple[np.ndarray, np.ndarray]:
    """Cost of each gate's step out (inside -> street) and in, as the compound graph charges
    them: the crossing edge's directed cost (slopes) or the connector's length both ways."""
    leave = links.length.copy()
    enter = links.length.copy()
    on_edge = np.flatnonzero(links.edge >= 0)
    if cost.slope is not None and on_edge.size:
        edge = links.edge[on_edge]
        from_u = network.edges["u"].to_numpy()[edge] == links.inside[on_edge]
        fwd, bwd = cost.slope.forward[edge], cost.slope.backward[edge]
        leave[on_edge] = np.where(from_u, fwd, bwd)
        enter[on_edge] = np.where(from_u, bwd, fwd)
    return leave, enter
