"""Snapping and multi-source bounded Dijkstra: nearest walking distance for every node and cell.

One ``scipy.sparse.csgraph.dijkstra(min_only=True)`` pass per facility kind. Each facility is a
virtual node with directed edges to its access nodes (weight = straight-line access distance plus
an optional per-facility offset), so a single pass yields, for every node, the distance to the
nearest facility and which facility it is. Virtual edges only leave facilities, so no walk can
shortcut through a facility.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from lifecircle.layers.network import WalkNetwork

# csgraph ignores explicitly stored zeros; a facility standing on a node still needs an edge
_MIN_EDGE_M = 1e-9


@dataclass(frozen=True)
class Snap:
    """Where points join the network.

    Attributes
    ----------
    node : node index per point (-1 where the point is farther than ``max_snap_m``)
    access_m : straight-line distance to that node (inf where unreachable)
    """

    node: np.ndarray
    access_m: np.ndarray

    @property
    def reachable(self) -> np.ndarray:
        """Mask of points within the snapping distance."""
        return self.node >= 0


@dataclass(frozen=True)
class FacilityAccess:
    """Access points of facilities on the network (several per polygon facility).

    Attributes
    ----------
    facility : facility row index per access point
    node : node index per access point
    offset_m : walking distance from the facility to the node (straight-line access)
    n_facilities : number of facilities (rows) the indices refer to
    """

    facility: np.ndarray
    node: np.ndarray
    offset_m: np.ndarray
    n_facilities: int

    def with_extra_offset(self, per_facility_m: np.ndarray) -> FacilityAccess:
        """A copy with a per-facility distance added to every access point of that facility."""
        return FacilityAccess(self.facility, self.node,
                              self.offset_m + per_facility_m[self.facility], self.n_facilities)

    def subset(self, keep: np.ndarray) -> FacilityAccess:
        """Only the access points of facilities where ``keep`` (bool per facility) is true."""
        mask = keep[self.facility]
        return FacilityAccess(self.facility[mask], self.node[mask], self.offset_m[mask],
                              self.n_facilities)


@dataclass(frozen=True)
class Nearest:
    """Nearest facility per node or per cell.

    Attributes
    ----------
    distance_m : walking distance to the nearest facility (inf beyond the search limit)
    facility : row index of that facility (-1 where none was reached)
    """

    distance_m: np.ndarray
    facility: np.ndarray


class NodeIndex:
    """KD-tree over the network nodes that points may snap to."""

    def __init__(self, network: WalkNetwork, largest_only: bool = True) -> None:
        self.network = network
        nodes = np.flatnonzero(network.in_largest) if largest_only else np.arange(network.n_nodes)
        self._nodes = nodes
        self._tree = cKDTree(np.column_stack([network.x[nodes], network.y[nodes]]))
        self._node_points: np.ndarray | None = None

    def _near(self, polygons: np.ndarray, reach_m: float) -> tuple[np.ndarray, np.ndarray,
                                                                     np.ndarray]:
        """Pairs (polygon, node) with the node within ``reach_m`` of the polygon, and their
        distance. Candidates come from the KD-tree (a disc around each polygon's centroid that
        contains the polygon plus ``reach_m``); GEOS then measures only those pairs."""
        centres = shapely.centroid(polygons)
        cx, cy = shapely.get_x(centres), shapely.get_y(centres)
        xy, owner = shapely.get_coordinates(polygons, return_index=True)
        spread = np.zeros(polygons.size)
        np.maximum.at(spread, owner, np.hypot(xy[:, 0] - cx[owner], xy[:, 1] - cy[owner]))
        hits = self._tree.query_ball_point(np.column_stack([cx, cy]), spread + reach_m)
        counts = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
        poly = np.repeat(np.arange(polygons.size), counts)
        pos = np.concatenate(hits).astype(np.int64) if counts.sum() else np.empty(0, np.int64)
        dist = shapely.distance(polygons[poly], self._points()[pos])
        near = dist <= reach_m
        return poly[near], self._nodes[pos[near]], dist[near]

    def _points(self) -> np.ndarray:
        """Shapely points of the snappable nodes, made once on first use."""
        if self._node_points is None:
            self._node_points = shapely.points(self.network.x[self._nodes],
                                               self.network.y[self._nodes])
        return self._node_points

    def _polygon_access(self, polygons: np.ndarray, max_snap_m: float,
                        tolerance_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Entrances of polygons: every node within ``tolerance_m`` (offset 0); a polygon with
        none enters at its nearest node within ``max_snap_m`` (offset = that distance)."""
        poly, node, _ = self._near(polygons, tolerance_m)
        lonely = np.setdiff1d(np.arange(polygons.size), poly)
        # only polygons with no entrance search as far as the snapping distance
        l_poly, l_node, l_dist = self._near(polygons[lonely], max_snap_m)
        order = np.lexsort((l_dist, l_poly))
        l_poly, l_node, l_dist = l_poly[order], l_node[order], l_dist[order]
        first = np.ones(l_poly.size, dtype=bool)
        first[1:] = l_poly[1:] != l_poly[:-1]
        return (np.concatenate([poly, lonely[l_poly[first]]]),
                np.concatenate([node, l_node[first]]),
                np.concatenate([np.zeros(poly.size), l_dist[first]]))

    def snap(self, x: np.ndarray, y: np.ndarray, max_snap_m: float) -> Snap:
        """Snap points to their nearest node within ``max_snap_m``.

        Parameters
        ----------
        x, y : point coordinates in the network CRS
        max_snap_m : farther points are unreachable (node -1, access inf)
        """
        x = np.asarray(x, dtype=np.float64)
        if x.size == 0:
            return Snap(np.empty(0, np.int64), np.empty(0))
        dist, pos = self._tree.query(np.column_stack([x, np.asarray(y, dtype=np.float64)]),
                                     distance_upper_bound=max_snap_m)
        ok = np.isfinite(dist)
        node = np.full(x.size, -1, dtype=np.int64)
        node[ok] = self._nodes[pos[ok]]
        return Snap(node=node, access_m=np.where(ok, dist, np.inf))

    def facility_access(self, geometries: np.ndarray, max_snap_m: float,
                        boundary_tolerance_m: float = 20.0) -> FacilityAccess:
        """Access points of facilities: points snap to their nearest node; polygons reach the
        network wherever a node lies inside them or within ``boundary_tolerance_m`` of their
        boundary (offset 0), else at their nearest node (offset = distance, if <= max_snap_m).

        Parameters
        ----------
        geometries : shapely geometries in the network CRS, one per facility
        max_snap_m : farther facilities get no access point (unreachable)
        boundary_tolerance_m : how close a walkable node must be to count as an entrance
        """
        geometries = np.asarray(geometries, dtype=object)
        n = geometries.size
        polygonal = np.isin(shapely.get_type_id(geometries), [3, 6])  # Polygon, MultiPolygon
        facility_parts, node_parts, offset_parts = [], [], []

        if polygonal.any():
            poly_idx = np.flatnonzero(polygonal)
            parts = self._polygon_access(geometries[poly_idx], max_snap_m, boundary_tolerance_m)
            facility_parts.append(poly_idx[parts[0]])
            node_parts.append(parts[1])
            offset_parts.append(parts[2])

        point_idx = np.flatnonzero(~polygonal)
        if point_idx.size:
            centres = shapely.centroid(geometries[point_idx])
            snap = self.snap(shapely.get_x(centres), shapely.get_y(centres), max_snap_m)
            ok = snap.reachable
            facility_parts.append(point_idx[ok])
            node_parts.append(snap.node[ok])
            offset_parts.append(snap.access_m[ok])

        if not facility_parts:
            return FacilityAccess(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), n)
        return FacilityAccess(
            facility=np.concatenate(facility_parts).astype(np.int64),
            node=np.concatenate(node_parts).astype(np.int64),
            offset_m=np.concatenate(offset_parts).astype(np.float64),
            n_facilities=n,
        )


#: attribute of a WalkNetwork holding its NodeIndex
_INDEX_ATTRIBUTE = "_node_index"


def node_index(network: WalkNetwork) -> NodeIndex:
    """The network's snapping index (largest component), built once per network and shared by
    every stage of a run: like a contraction-hierarchy build, it belongs to the network.

    The index is kept on the network (as ``functools.cached_property`` keeps a value), not in
    a table keyed by the network: the index refers to its network, so such a table would keep
    every network ever indexed alive; the network-index pair is freed with the network.

    Examples
    --------
    >>> import networkx as nx
    >>> from lifecircle.layers.network import network_from_nx
    >>> graph = nx.MultiDiGraph(crs="EPSG:4326")
    >>> graph.add_node(1, x=104.060, y=30.660); graph.add_node(2, x=104.061, y=30.660)
    >>> _ = graph.add_edge(1, 2, length=96.0)
    >>> network = network_from_nx(graph)
    >>> node_index(network) is node_index(network)
    True
    """
    index = network.__dict__.get(_INDEX_ATTRIBUTE)
    if index is None:
        # the network is a frozen dataclass: written to its __dict__ as cached_property does
        index = network.__dict__[_INDEX_ATTRIBUTE] = NodeIndex(network)
    return index


def augmented_graph(network: WalkNetwork | _SubNetwork, access: FacilityAccess,
                    cost_graph: sparse.csr_matrix | None = None) -> tuple[sparse.csr_matrix,
                                                                          np.ndarray]:
    """The walk graph plus one virtual node per reachable facility (directed edges out to its
    access points only).

    ``cost_graph`` (optional): a directed N x N graph, ``[a, b]`` the cost of walking a -> b
    (slopes, gated compounds; N >= the network's nodes when compounds add node copies). The
    walk that counts goes from home to the facility, so searches from facilities run on its
    transpose. Without it the symmetric walk graph is used unchanged.

    Returns
    -------
    (graph, sources): the (n + k) x (n + k) CSR graph and the facility row index of each virtual
    node ``n + i``
    """
    base = network.graph if cost_graph is None else cost_graph.T.tocsr()
    n = base.shape[0]
    sources, virtual = np.unique(access.facility, return_inverse=True)
    k = sources.size
    links = _min_duplicates(virtual, access.node, access.offset_m, k, n + k)
    # stacking the CSR arrays directly: the walk graph's rows, then one row per facility
    graph = sparse.csr_matrix(
        (np.concatenate([base.data, links.data]),
         np.concatenate([base.indices, links.indices]),
         np.concatenate([base.indptr, base.indptr[-1] + links.indptr[1:]])),
        shape=(n + k, n + k),
    )
    return graph, sources


def nearest_facility(network: WalkNetwork, access: FacilityAccess,
                     limit_m: float = np.inf,
                     cost_graph: sparse.csr_matrix | None = None) -> Nearest:
    """Walking distance from every node to its nearest facility, in one Dijkstra pass.

    Parameters
    ----------
    network : the walk network
    access : the facilities' access points
    limit_m : search bound; nodes beyond it get inf and facility -1
    cost_graph : optional directed cost graph (see :func:`augmented_graph`): distances are then
        walks from each node to its nearest facility

    Returns
    -------
    Nearest, per network node (per node of ``cost_graph`` when given)
    """
    n = network.n_nodes if cost_graph is None else cost_graph.shape[0]
    if access.node.size == 0:
        return Nearest(np.full(n, np.inf), np.full(n, -1, dtype=np.int64))
    graph, sources = augmented_graph(network, access, cost_graph)
    dist, _, origin = csgraph.dijkstra(
        graph, directed=True, indices=np.arange(n, n + sources.size), limit=limit_m,
        min_only=True, return_predecessors=True,
    )
    reached = origin[:n] >= 0
    facility = np.full(n, -1, dtype=np.int64)
    facility[reached] = sources[origin[:n][reached] - n]
    return Nearest(distance_m=dist[:n], facility=facility)


def per_facility_distances(network: WalkNetwork, access: FacilityAccess, limit_m: float,
                           batch: int = 256,
                           cost_graph: sparse.csr_matrix | None = None) -> sparse.csr_matrix:
    """Walking distance from each facility to every node within ``limit_m``, as a sparse
    (n_facilities x n_nodes) matrix: only reached pairs are stored.

    Work follows what is reached: a walk is never shorter than ``rho`` times the straight line
    (``rho`` = the smallest edge cost per straight metre, 1 on a flat network), so every node a
    facility reaches, and every node on the way, lies within ``(limit_m - offset) / rho`` of one
    of its access points. Facilities are grouped in square tiles of side ``limit_m``; each tile's
    facilities are searched together (one csgraph call, at most ``batch`` sources) on the
    subgraph of the nodes inside the disc holding all their reach discs. Distances equal those
    on the whole graph: the subgraph contains every path of length <= ``limit_m``.

    A reached node at distance 0 is stored as 1e-9 m (a stored zero would be dropped).
    ``cost_graph``: as in :func:`nearest_facility` (walks from each node to the facility).
    """
    if cost_graph is not None:  # slopes or compounds: the directed graph, searched whole
        return _search_whole(access, limit_m, batch, cost_graph)
    n = network.n_nodes
    usable = access.offset_m <= limit_m
    if not usable.any():
        return sparse.csr_matrix((access.n_facilities, n))
    usable = np.flatnonzero(usable)
    if not np.isfinite(limit_m):
        blocks = [(np.arange(n), usable)]
    else:
        blocks = _tiles(network, access, usable, limit_m)
    parts = [_search_block(network.graph, nodes, access, points, limit_m, batch)
             for nodes, points in blocks]
    rows, cols, vals = (np.concatenate(column) for column in zip(*parts, strict=True))
    return sparse.csr_matrix((vals, (rows, cols)), shape=(access.n_facilities, n))


def _search_whole(access: FacilityAccess, limit_m: float, batch: int,
                  cost_graph: sparse.csr_matrix) -> sparse.csr_matrix:
    """Per-facility distances on a whole directed cost graph (walks toward the facility, so
    searched on its transpose): its node copies have no coordinates to tile by."""
    n = cost_graph.shape[0]
    usable = np.flatnonzero(access.offset_m <= limit_m)
    if usable.size == 0:
        return sparse.csr_matrix((access.n_facilities, n))
    rows, cols, vals = _search_block(cost_graph.T.tocsr(), np.arange(n), access, usable,
                                     limit_m, batch)
    return sparse.csr_matrix((vals, (rows, cols)), shape=(access.n_facilities, n))


_TREES: weakref.WeakKeyDictionary[WalkNetwork, tuple[cKDTree, float]] = (
    weakref.WeakKeyDictionary())


def _tree_and_rho(network: WalkNetwork) -> tuple[cKDTree, float]:
    """KD-tree over all nodes and the smallest edge cost per straight metre (cached)."""
    found = _TREES.get(network)
    if found is None:
        graph = network.graph.tocoo()
        straight = np.hypot(network.x[graph.row] - network.x[graph.col],
                            network.y[graph.row] - network.y[graph.col])
        ok = straight > 0
        rho = float(np.min(graph.data[ok] / straight[ok])) if ok.any() else 1.0
        # never above 1: a bound from below may be loose, never too tight
        found = _TREES[network] = (cKDTree(np.column_stack([network.x, network.y])),
                                   min(rho, 1.0))
    return found


def _tiles(network: WalkNetwork, access: FacilityAccess, usable: np.ndarray,
           limit_m: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """(nodes, access points) per tile: the access points (of ``usable``) of the facilities
    whose first one falls in a square of side ``limit_m``, and every node within reach of any
    of them."""
    tree, rho = _tree_and_rho(network)
    facility, node = access.facility[usable], access.node[usable]
    reach = (limit_m - access.offset_m[usable]) / rho
    x, y = network.x[node], network.y[node]
    side = max(limit_m, 1.0)
    # a facility belongs to the tile of its first usable access point
    first = np.unique(facility, return_index=True)[1]
    key = np.full(access.n_facilities, -1, dtype=np.int64)
    tx, ty = np.floor(x[first] / side), np.floor(y[first] / side)
    _, tile_of_first = np.unique(np.column_stack([tx, ty]), axis=0, return_inverse=True)
    key[facility[first]] = tile_of_first.reshape(-1)
    tile = key[facility]
    order = np.argsort(tile, kind="stable")
    bounds = np.flatnonzero(np.r_[True, tile[order][1:] != tile[order][:-1], True])
    out = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        members = order[a:b]
        cx, cy = x[members].mean(), y[members].mean()
        radius = float(np.max(np.hypot(x[members] - cx, y[members] - cy) + reach[members]))
        nodes = np.sort(np.asarray(tree.query_ball_point([cx, cy], radius * (1 + 1e-12) + 1e-9),
                                   dtype=np.int64))
        out.append((nodes, usable[members]))
    return out


def _search_block(graph: sparse.csr_matrix, nodes: np.ndarray, access: FacilityAccess,
                  points: np.ndarray, limit_m: float,
                  batch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(facility, node, distance) reached within ``limit_m`` from the access points ``points``,
    searched on the subgraph of ``nodes`` (sorted, holding every point) with one virtual source
    per facility."""
    m = nodes.size
    sub_access = FacilityAccess(access.facility[points],
                                np.searchsorted(nodes, access.node[points]),
                                access.offset_m[points], access.n_facilities)
    aug, sources = augmented_graph(_SubNetwork(_induced(graph, nodes), m), sub_access)
    rows, cols, vals = [np.empty(0, np.int64)], [np.empty(0, np.int64)], [np.empty(0)]
    for start in range(0, sources.size, batch):
        stop = min(start + batch, sources.size)
        dist = csgraph.dijkstra(aug, directed=True, indices=np.arange(m + start, m + stop),
                                limit=limit_m)[:, :m]
        r, c = np.nonzero(np.isfinite(dist))
        rows.append(sources[start + r])
        cols.append(nodes[c])
        vals.append(np.maximum(dist[r, c], _MIN_EDGE_M))
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)


def _induced(graph: sparse.csr_matrix, nodes: np.ndarray) -> sparse.csr_matrix:
    """The subgraph on ``nodes`` (sorted), sliced from the CSR arrays directly (scipy's fancy
    indexing costs more than the search itself on small tiles)."""
    start, stop = graph.indptr[nodes], graph.indptr[nodes + 1]
    count = stop - start
    entry = np.repeat(start - (np.cumsum(count) - count), count) + np.arange(count.sum())
    cols = graph.indices[entry]
    pos = np.minimum(np.searchsorted(nodes, cols), nodes.size - 1)
    inside = nodes[pos] == cols
    row = np.repeat(np.arange(nodes.size), count)[inside]
    indptr = np.zeros(nodes.size + 1, dtype=np.int64)
    np.cumsum(np.bincount(row, minlength=nodes.size), out=indptr[1:])
    return sparse.csr_matrix((graph.data[entry][inside], pos[inside], indptr),
                             shape=(nodes.size, nodes.size))


@dataclass(frozen=True)
class _SubNetwork:
    """The two attributes of a network :func:`augmented_graph` reads, for a subgraph."""

    graph: sparse.csr_matrix
    n_nodes: int


def at_points(nearest_nodes: Nearest, snap: Snap) -> Nearest:
    """Nearest facility for snapped points: node distance plus the point's access distance."""
    ok = snap.reachable
    distance = np.full(snap.node.size, np.inf)
    facility = np.full(snap.node.size, -1, dtype=np.int64)
    distance[ok] = nearest_nodes.distance_m[snap.node[ok]] + snap.access_m[ok]
    facility[ok] = nearest_nodes.facility[snap.node[ok]]
    facility[~np.isfinite(distance)] = -1
    return Nearest(distance_m=distance, facility=facility)


def coverage_share(distance_m: np.ndarray, weight: np.ndarray, threshold_m: float) -> float:
    """Weighted share of points within ``threshold_m`` (NaN when the total weight is zero)."""
    total = float(weight.sum())
    if total <= 0:
        return float("nan")
    return float(weight[distance_m <= threshold_m].sum() / total)


def _min_duplicates(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, n_rows: int,
                    n_cols: int) -> sparse.csr_matrix:
    """CSR matrix keeping the smallest value of repeated (row, col) pairs (csr would sum them),
    built from its arrays directly."""
    order = np.lexsort((values, cols, rows))
    rows, cols, values = rows[order], cols[order], values[order]
    first = np.ones(rows.size, dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    rows = rows[first]
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    return sparse.csr_matrix((np.maximum(values[first], _MIN_EDGE_M), cols[first], indptr),
                             shape=(n_rows, n_cols))


def cost_pairs(node_index: NodeIndex, geometries: np.ndarray, cells: Snap, limit_m: float,
               max_snap_m: float, cost=None) -> sparse.csr_matrix:
    """Walking distance from every cell to every facility within ``limit_m``, sparse.

    A pair's distance is the network distance from the facility to the cell's snapped node plus
    the cell's straight-line access distance (as :func:`lifecircle.coverage.engine.at_points`), so
    each row's minimum is the cell's nearest-facility distance when that is within the limit.

    Parameters
    ----------
    node_index : snapping index of the walk network
    geometries : facility geometries (network CRS), one per column
    cells : the population cells snapped to the network
    limit_m : pairs farther apart are not stored
    max_snap_m : facilities farther than this from any walkable node reach no cell
    cost : a :class:`lifecircle.layers.walking.WalkCost` (slopes, compounds): its facility
        access and directed graph are searched, ``cells`` snapped with its ``snap``

    Returns
    -------
    csr_matrix (n_cells x n_facilities) of distances in metres (a zero distance is stored as 1e-9)
    """
    geometries = np.asarray(geometries, dtype=object)
    if cost is None:
        access = node_index.facility_access(geometries, max_snap_m)
        by_node = per_facility_distances(node_index.network, access, limit_m)
    else:  # a compound cell's origin copy reaches all its entered copy does: no min needed
        access = cost.facility_access(node_index, geometries, max_snap_m)
        by_node = per_facility_distances(node_index.network, access, limit_m,
                                         cost_graph=cost.graph)
    return cell_pairs(by_node, cells, limit_m)


def cell_pairs(by_node: sparse.csr_matrix, cells: Snap, limit_m: float) -> sparse.csr_matrix:
    """Cell-facility walking distances within ``limit_m`` (n_cells x n_facilities) from the
    facilities' node distances (:func:`per_facility_distances`): the distance to the cell's node
    plus its straight access leg."""
    ok = np.flatnonzero(cells.reachable)
    sub = by_node[:, cells.node[ok]].tocoo()
    cost = sub.data + cells.access_m[ok][sub.col]
    keep = cost <= limit_m
    return sparse.csr_matrix((cost[keep], (ok[sub.col[keep]], sub.row[keep])),
                             shape=(cells.node.size, by_node.shape[0]))


def reached_row(node_distance_m: np.ndarray, limit_m: float) -> sparse.csr_matrix:
    """One facility's node distances (a single-source search) as the 1 x n_nodes row
    :func:`per_facility_distances` stores: nodes within ``limit_m``, a zero as 1e-9 m.

    Examples
    --------
    >>> reached_row(np.array([0.0, 5.0, np.inf]), 10.0).toarray()
    array([[1.e-09, 5.e+00, 0.e+00]])
    """
    near = np.flatnonzero(node_distance_m <= limit_m)
    values = np.maximum(node_distance_m[near], _MIN_EDGE_M)
    return sparse.csr_matrix((values, (np.zeros(near.size, dtype=np.int64), near)),
                             shape=(1, node_distance_m.size))
