"""Gated residential compounds (封闭小区) as a graph transformation, so coverage stays one Dijkstra.

Directions: the graph built here is a FORWARD graph, ``[a, b]`` the cost of walking a -> b in
the direction that counts, from home to the facility. The engine searches from facilities on
its transpose (``nearest_facility(..., cost_graph=compound.graph)``).

Every network node strictly inside a gated compound gets two copies:

- its *origin* copy (the node's own index): walks that START inside the compound (residents).
  Origin copies move along the compound's paths and may leave through a gate.
- its *entered* copy (index ``n + k``): walks that came in from outside through a gate. Entered
  copies move along the compound's paths but can never leave, so nobody walks through a compound
  (no through-traffic), while an outsider can still walk in to a facility inside (a compound
  kindergarten) unless facilities are private (then only origin copies reach them).

Edges crossing a gated compound's wall are cut, except at gates: a gate opens the nearest
crossing edge of its compound (within ``gate_reach_m``), or, where no mapped path crosses the
wall near it, joins the nearest inside and outside nodes through the gate point. An open
crossing edge leaves from an origin copy (or an outside node) and arrives at an entered copy (or
an outside node).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.spatial import cKDTree

from lifecircle.coverage.engine import FacilityAccess, Nearest, Snap
from lifecircle.errors import InputError
from lifecircle.layers.network import WalkNetwork

#: a gate farther than this from every gated compound's wall is ignored, and a gate opens only a
#: crossing path within this distance (assumption: a gate point digitised from a map-service POI
#: or a survey lies within a few metres of the wall; 30 m allows for the POI's offset)
GATE_REACH_M = 30.0
#: two compounds sharing more than this area overlap (assumption: slivers below 1 m² are
#: digitising noise along a shared wall)
OVERLAP_TOLERANCE_M2 = 1.0
# separates compounds in the snapping tree's third coordinate: far beyond any snapping distance
_KEY_M = 1e8


@dataclass(frozen=True)
class CompoundGraph:
    """The walk graph with gated compounds, ready for the engine.

    Attributes
    ----------
    graph : forward directed csr_matrix (N x N), N = n + number of interior nodes
    node_of : original network node of each expanded node (copies map back)
    compound_of : per original node, the gated compound containing it (-1 outside)
    entered : per original node, the index of its entered copy (-1 outside compounds)
    gated : per compound, whether it was treated as gated (False: no gate or no inside path)
    n_gates : per compound, gates used
    polygons : the compound polygons (network CRS)
    """

    graph: sparse.csr_matrix
    node_of: np.ndarray
    compound_of: np.ndarray
    entered: np.ndarray
    gated: np.ndarray
    n_gates: np.ndarray
    polygons: np.ndarray
    _tree: cKDTree
    _tree_nodes: np.ndarray

    @property
    def n_nodes(self) -> int:
        """Nodes of the expanded graph."""
        return int(self.graph.shape[0])

    def compound_at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The gated compound containing each point (-1 outside every gated compound)."""
        return _containing(self.polygons, self.gated, shapely.points(x, y))

    def snap(self, x: np.ndarray, y: np.ndarray, max_snap_m: float) -> Snap:
        """Snap points (population cells) to nodes: a point inside a gated compound snaps only to
        that compound's interior nodes (origin copies), a point outside only to outside nodes.

        Returns
        -------
        Snap in the expanded graph's node indices
        """
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if x.size == 0:
            return Snap(np.empty(0, np.int64), np.empty(0))
        key = (self.compound_at(x, y) + 1) * _KEY_M
        dist, pos = self._tree.query(np.column_stack([x, y, key]),
                                     distance_upper_bound=max_snap_m)
        ok = np.isfinite(dist)
        node = np.full(x.size, -1, dtype=np.int64)
        node[ok] = self._tree_nodes[pos[ok]]
        return Snap(node=node, access_m=np.where(ok, dist, np.inf))

    def at_cells(self, nearest: Nearest, snap: Snap) -> Nearest:
        """Distance per snapped cell: the smaller over its node's copies, plus access.

        The origin copy can do everything the entered copy can (same inside paths, and it may
        also leave), so the minimum is the origin copy's; taken explicitly all the same.
        """
        ok = snap.reachable
        node = snap.node[ok]
        dist = nearest.distance_m[node]
        fac = nearest.facility[node]
        copy = self.entered[self.node_of[node]]
        has = copy >= 0
        better = np.zeros(node.size, dtype=bool)
        better[has] = nearest.distance_m[copy[has]] < dist[has]
        dist = np.where(better, nearest.distance_m[np.maximum(copy, 0)], dist)
        fac = np.where(better, nearest.facility[np.maximum(copy, 0)], fac)
        distance = np.full(snap.node.size, np.inf)
        facility = np.full(snap.node.size, -1, dtype=np.int64)
        distance[ok] = dist + snap.access_m[ok]
        facility[ok] = fac
        facility[~np.isfinite(distance)] = -1
        return Nearest(distance_m=distance, facility=facility)

    def facility_access(self, access: FacilityAccess, geometries: np.ndarray,
                        max_snap_m: float, private: bool = False) -> FacilityAccess:
        """Move facilities' access points onto the expanded graph.

        A facility outside every gated compound keeps only its access points outside compounds
        (none across a wall); a facility inside a compound keeps only that compound's interior
        nodes, as origin copy (residents) and entered copy (outsiders through a gate; dropped
        when ``private``). A facility left with no access point snaps its representative point
        with :meth:`snap`.

        Parameters
        ----------
        access : from :meth:`lifecircle.coverage.engine.NodeIndex.facility_access`
        geometries : the facilities' geometries (same rows as ``access``)
        max_snap_m : snapping distance for facilities re-snapped here
        private : facilities inside compounds serve only their residents
        """
        inside = shapely.point_on_surface(np.asarray(geometries, dtype=object))
        fac_compound = self.compound_at(shapely.get_x(inside), shapely.get_y(inside))
        keep = self.compound_of[access.node] == fac_compound[access.facility]
        facility, node, offset = access.facility[keep], access.node[keep], access.offset_m[keep]
        lost = np.setdiff1d(np.arange(access.n_facilities), facility)
        lost = lost[np.isin(lost, access.facility)]
        if lost.size:
            snap = self.snap(shapely.get_x(inside[lost]), shapely.get_y(inside[lost]),
                             max_snap_m)
            ok = snap.reachable
            facility = np.concatenate([facility, lost[ok]])
            node = np.concatenate([node, snap.node[ok]])
            offset = np.concatenate([offset, snap.access_m[ok]])
        if not private:
            copy = self.entered[node]
            has = copy >= 0
            facility = np.concatenate([facility, facility[has]])
            node = np.concatenate([node, copy[has]])
            offset = np.concatenate([offset, offset[has]])
        return FacilityAccess(facility.astype(np.int64), node.astype(np.int64),
                              offset.astype(np.float64), access.n_facilities)


def compound_graph(network: WalkNetwork, polygons: np.ndarray, gates: np.ndarray,
                   gated: np.ndarray | None = None, cost_graph: sparse.csr_matrix | None = None,
                   gate_reach_m: float = GATE_REACH_M, source: str = "compounds") -> CompoundGraph:
    """Build the gated-compound graph of a network.

    Parameters
    ----------
    network : the walk network
    polygons : compound polygons in the network CRS
    gates : gate points in the network CRS
    gated : bool per compound (default all gated); open compounds change nothing
    cost_graph : forward directed costs to transform (a slope graph); default the walk graph
    gate_reach_m : see :data:`GATE_REACH_M`
    source : name of the compounds input, for messages

    Raises
    ------
    InputError
        Non-polygonal compounds, or gated compounds that overlap.
    """
    polygons = np.asarray(polygons, dtype=object)
    gates = np.asarray(gates, dtype=object)
    gated = np.ones(polygons.size, bool) if gated is None else np.asarray(gated, bool).copy()
    if polygons.size and not np.isin(shapely.get_type_id(polygons), [3, 6]).all():
        raise InputError(source, "every compound must be a polygon")
    _check_overlaps(polygons, gated, source)
    n = network.n_nodes
    points = shapely.points(network.x, network.y)
    comp = _containing(polygons, gated, points)

    # gates: each to the nearest gated compound's wall within reach
    gate_comp, gate_pt = _place_gates(polygons, gated, gates, gate_reach_m, source)
    n_gates = np.bincount(gate_comp, minlength=polygons.size)
    n_inside = np.bincount(comp[comp >= 0], minlength=polygons.size)
    no_gate = gated & (n_gates == 0)
    empty = gated & (n_gates > 0) & (n_inside == 0)
    if no_gate.any():
        warnings.warn(f"{source}: {int(no_gate.sum())} gated compound(s) with no gate (rows "
                      f"{_rows(no_gate)}) are treated as open", stacklevel=2)
    if empty.any():
        warnings.warn(f"{source}: {int(empty.sum())} gated compound(s) with no walkable path "
                      f"inside (rows {_rows(empty)}) are treated as open", stacklevel=2)
    if (no_gate | empty).any():
        gated = gated & ~no_gate & ~empty
        comp = _containing(polygons, gated, points)
        keep_gate = gated[gate_comp]
        gate_comp, gate_pt = gate_comp[keep_gate], gate_pt[keep_gate]
        n_gates = np.bincount(gate_comp, minlength=polygons.size)

    interior = np.flatnonzero(comp >= 0)
    entered = np.full(n, -1, dtype=np.int64)
    entered[interior] = n + np.arange(interior.size)

    edges = network.edges
    eu, ev = edges["u"].to_numpy(), edges["v"].to_numpy()
    crossing = comp[eu] != comp[ev]
    open_u, open_v, connectors = _open_gates(network, comp, eu, ev, crossing, gate_comp, gate_pt,
                                             gate_reach_m)

    base = (network.graph if cost_graph is None else cost_graph).tocoo()
    a, b, w = base.row.astype(np.int64), base.col.astype(np.int64), base.data
    ca, cb = comp[a], comp[b]
    # an undirected edge is open when every gated end was opened by its compound's gate
    end_open = (open_u | (comp[eu] < 0)) & (open_v | (comp[ev] < 0))
    pair_open = _pair_lookup(eu[crossing], ev[crossing], end_open[crossing], a, b, n)
    same = ca == cb
    inside = same & (ca >= 0)
    cross = ~same & pair_open
    rows = [a[same], entered[a[inside]], a[cross]]
    cols = [b[same], entered[b[inside]], np.where(cb[cross] >= 0, entered[b[cross]], b[cross])]
    vals = [w[same], w[inside], w[cross]]
    if connectors is not None:
        cin, cout, clen = connectors
        rows += [cin, cout]  # leaving from the origin copy; entering to the entered copy
        cols += [cout, entered[cin]]
        vals += [clen, clen]
    size = n + interior.size
    graph = _min_csr(np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), size)

    outside = np.flatnonzero((comp < 0) & network.in_largest)
    tree_nodes = np.concatenate([outside, interior])
    key = (comp[tree_nodes] + 1) * _KEY_M
    tree = cKDTree(np.column_stack([network.x[tree_nodes], network.y[tree_nodes], key]))
    node_of = np.concatenate([np.arange(n), interior])
    return CompoundGraph(graph=graph, node_of=node_of, compound_of=comp, entered=entered,
                         gated=gated, n_gates=n_gates, polygons=polygons, _tree=tree,
                         _tree_nodes=tree_nodes)


def compound_report(cg: CompoundGraph, x: np.ndarray, y: np.ndarray, population: np.ndarray,
                    open_m: dict[str, np.ndarray],
                    gated_m: dict[str, np.ndarray]) -> pd.DataFrame:
    """Per compound: residents, gates, and how much each kind's walk grew against the open case.

    Parameters
    ----------
    cg : the compound graph
    x, y : population cell centres; population : people per cell
    open_m, gated_m : per kind, each cell's distance without and with the compounds

    Returns
    -------
    DataFrame, one row per compound: ``gated``, ``gates``, ``population``, and per kind
    ``<kind>_open_m``, ``<kind>_gated_m`` (population-weighted means over the residents reached
    in both cases) and ``<kind>_growth_m`` (their difference)
    """
    k = cg.polygons.size
    where = _containing(cg.polygons, np.ones(k, bool), shapely.points(x, y))
    inside = where >= 0
    comp, pop = where[inside], np.asarray(population, float)[inside]
    table = {"gated": cg.gated, "gates": cg.n_gates,
             "population": np.bincount(comp, pop, minlength=k)}
    for kind in open_m:
        before, after = open_m[kind][inside], gated_m[kind][inside]
        both = np.isfinite(before) & np.isfinite(after)
        weight = np.bincount(comp[both], pop[both], minlength=k)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_open = np.bincount(comp[both], (pop * before)[both], minlength=k) / weight
            mean_gated = np.bincount(comp[both], (pop * after)[both], minlength=k) / weight
        table[f"{kind}_open_m"] = mean_open
        table[f"{kind}_gated_m"] = mean_gated
        table[f"{kind}_growth_m"] = mean_gated - mean_open
    return pd.DataFrame(table).rename_axis("compound")


def _containing(polygons: np.ndarray, gated: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Index of the gated polygon strictly containing each point, -1 where none."""
    out = np.full(len(points), -1, dtype=np.int64)
    idx = np.flatnonzero(gated)
    if idx.size == 0 or len(points) == 0:
        return out
    hit = shapely.STRtree(polygons[idx]).query(points, predicate="within")
    out[hit[0]] = idx[hit[1]]
    return out


def _check_overlaps(polygons: np.ndarray, gated: np.ndarray, source: str) -> None:
    idx = np.flatnonzero(gated)
    if idx.size < 2:
        return
    sub = polygons[idx]
    left, right = shapely.STRtree(sub).query(sub, predicate="intersects")
    pair = left < right
    left, right = left[pair], right[pair]
    area = shapely.area(shapely.intersection(sub[left], sub[right]))
    bad = area > OVERLAP_TOLERANCE_M2
    if bad.any():
        i, j = idx[left[bad][0]], idx[right[bad][0]]
        raise InputError(source, f"compounds {i} and {j} overlap ({area[bad][0]:.0f} m²; "
                         f"{int(bad.sum())} overlapping pair(s)): a home must lie in one compound")


def _place_gates(polygons: np.ndarray, gated: np.ndarray, gates: np.ndarray, reach: float,
                 source: str) -> tuple[np.ndarray, np.ndarray]:
    """Compound and point on its wall of every gate within ``reach`` of a gated compound's wall;
    the others are warned about and ignored."""
    idx = np.flatnonzero(gated)
    if gates.size == 0 or idx.size == 0:
        return np.empty(0, np.int64), np.empty(0, dtype=object)
    walls = shapely.boundary(polygons[idx])
    found = shapely.STRtree(walls).query_nearest(gates, max_distance=reach, all_matches=False)
    gate_i, wall_i = found[0], found[1]
    far = gates.size - np.unique(gate_i).size
    if far:
        warnings.warn(f"{source}: {far} gate(s) farther than {reach:.0f} m from every gated "
                      "compound's wall are ignored", stacklevel=3)
    wall = walls[wall_i]
    on_wall = shapely.line_interpolate_point(wall, shapely.line_locate_point(wall, gates[gate_i]))
    return idx[wall_i], on_wall


@dataclass(frozen=True)
class GateLinks:
    """How each gate joins its compound's inside to the street: the crossing edge it opens
    (``edge`` >= 0), or, with no crossing path within reach, a connector from the nearest
    inside node to the nearest outside node through the gate point (``edge`` = -1; ``length``
    the two straight legs). ``inside``/``outside``: the two nodes (-1 where no connector could
    be made)."""

    edge: np.ndarray
    inside: np.ndarray
    outside: np.ndarray
    length: np.ndarray


def gate_links(network: WalkNetwork, comp: np.ndarray, gate_comp: np.ndarray,
               gate_pt: np.ndarray, reach: float = GATE_REACH_M) -> GateLinks:
    """Per gate (on the wall of compound ``gate_comp``), what it opens (see :class:`GateLinks`).

    Parameters
    ----------
    network : the walk network
    comp : per network node, the gated compound containing it (-1 outside)
    gate_comp, gate_pt : per gate, its compound and its point on the wall
    reach : a gate opens only a crossing path within this distance
    """
    eu, ev = network.edges["u"].to_numpy(), network.edges["v"].to_numpy()
    n_gates = gate_comp.size
    out = GateLinks(np.full(n_gates, -1, np.int64), np.full(n_gates, -1, np.int64),
                    np.full(n_gates, -1, np.int64), np.full(n_gates, np.nan))
    if n_gates == 0:
        return out
    cross = np.flatnonzero(comp[eu] != comp[ev])
    geoms = network.edges.geometry.to_numpy()[cross]
    g_i, e_j = shapely.STRtree(geoms).query(gate_pt, predicate="dwithin", distance=reach) \
        if cross.size else (np.empty(0, np.int64), np.empty(0, np.int64))
    edge = cross[e_j]
    mine = (comp[eu[edge]] == gate_comp[g_i]) | (comp[ev[edge]] == gate_comp[g_i])
    g_i, edge = g_i[mine], edge[mine]
    dist = shapely.distance(gate_pt[g_i], network.edges.geometry.to_numpy()[edge])
    order = np.lexsort((dist, g_i))
    g_i, edge = g_i[order], edge[order]
    first = np.ones(g_i.size, dtype=bool)
    first[1:] = g_i[1:] != g_i[:-1]
    g_i, edge = g_i[first], edge[first]
    out.edge[g_i] = edge
    u_in = comp[eu[edge]] == gate_comp[g_i]
    out.inside[g_i] = np.where(u_in, eu[edge], ev[edge])
    out.outside[g_i] = np.where(u_in, ev[edge], eu[edge])
    out.length[g_i] = network.edges["length"].to_numpy()[edge]

    # gates with no crossing path within reach: connect nearest inside and outside nodes
    lone = np.setdiff1d(np.arange(n_gates), g_i)
    if lone.size == 0:
        return out
    gx, gy = shapely.get_x(gate_pt[lone]), shapely.get_y(gate_pt[lone])
    outside = np.flatnonzero((comp < 0) & network.in_largest)
    out_d, out_p = cKDTree(np.column_stack([network.x[outside], network.y[outside]])).query(
        np.column_stack([gx, gy]))
    inner = np.flatnonzero(comp >= 0)
    key = comp[inner] * _KEY_M
    in_d, in_p = cKDTree(np.column_stack([network.x[inner], network.y[inner], key])).query(
        np.column_stack([gx, gy, gate_comp[lone] * _KEY_M]), distance_upper_bound=_KEY_M / 2)
    ok = np.isfinite(in_d) & np.isfinite(out_d)
    out.inside[lone[ok]] = inner[in_p[ok]]
    out.outside[lone[ok]] = outside[out_p[ok]]
    out.length[lone[ok]] = in_d[ok] + out_d[ok]
    return out


def _open_gates(network: WalkNetwork, comp: np.ndarray, eu: np.ndarray, ev: np.ndarray,
                crossing: np.ndarray, gate_comp: np.ndarray, gate_pt: np.ndarray,
                reach: float) -> tuple[np.ndarray, np.ndarray, tuple | None]:
    """Which ends of crossing edges gates open, and connectors for gates with no path nearby.

    Returns (open_u, open_v, connectors): per edge, the ``u`` (``v``) end's compound opened it;
    connectors = (inside node, outside node, length through the gate) or None.
    """
    open_u = np.zeros(eu.size, dtype=bool)
    open_v = np.zeros(eu.size, dtype=bool)
    links = gate_links(network, comp, gate_comp, gate_pt, reach)
    by_edge = links.edge >= 0
    edge, g_comp = links.edge[by_edge], gate_comp[by_edge]
    open_u[edge[comp[eu[edge]] == g_comp]] = True
    open_v[edge[comp[ev[edge]] == g_comp]] = True
    lone = ~by_edge & (links.inside >= 0)
    if not lone.any():
        return open_u, open_v, None
    return open_u, open_v, (links.inside[lone], links.outside[lone], links.length[lone])


def _pair_lookup(u: np.ndarray, v: np.ndarray, value: np.ndarray, a: np.ndarray, b: np.ndarray,
                 n: int) -> np.ndarray:
    """``value`` of the undirected pair (u, v) for each directed (a, b); False where absent."""
    key = np.concatenate([u * n + v, v * n + u])
    val = np.concatenate([value, value])
    order = np.argsort(key)
    key, val = key[order], val[order]
    if key.size == 0:
        return np.zeros(a.size, dtype=bool)
    query = a * n + b
    pos = np.minimum(np.searchsorted(key, query), key.size - 1)
    return (key[pos] == query) & val[pos]


def _min_csr(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, size: int) -> sparse.csr_matrix:
    """CSR keeping the smallest of repeated (row, col) entries (a connector beside an edge)."""
    order = np.lexsort((vals, cols, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    first = np.ones(rows.size, dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    return sparse.csr_matrix((np.maximum(vals[first], 1e-9), (rows[first], cols[first])),
                             shape=(size, size))


def _rows(mask: np.ndarray, most: int = 5) -> str:
    rows = np.flatnonzero(mask)
    text = ", ".join(str(r) for r in rows[:most])
    return text + (", ..." if rows.size > most else "")
