"""Service circles (the area within a walking distance of each facility, following the streets)
and 15-minute life-circle completeness (DESIGN §3).

A circle is built from what a walker reaches: the reached parts of the network edges, with
partial edges cut at the exact remaining distance, buffered by a street half-width and
dissolved. Polygons therefore follow streets, keep holes inside blocks nobody reaches and never
cross a river where no bridge is mapped. No hull of any kind is taken.

Speed: the edges are chained once per network into *strokes* (edges continuing each other
straight through junctions) laid end to end on one distance axis. The reached pieces of a circle
become intervals of that axis, touching intervals merge into runs, and GEOS buffers a few dozen
long polylines per circle instead of hundreds of 50 m pieces (about 50 times faster on central
Chengdu, see benchmarks/bench_circles.py).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from lifecircle.coverage.engine import NodeIndex, per_facility_distances
from lifecircle.layers.landuse import dissolve
from lifecircle.layers.network import WalkNetwork
from lifecircle.seeds import load_standards

# assumption: a walker reaching a street reaches the strip 25 m either side of its centre line
# (the frontage and entrances of the plots along it; half the 50 m node spacing). Not a standard.
STREET_HALF_WIDTH_M = 25.0

# segments per quarter circle of the round caps and joins (GEOS' default)
QUAD_SEGS = 8
#: above this many reached strokes a circle is buffered stroke by stroke, then dissolved
MAX_RUNS_PER_BUFFER = 150

# assumption: at a junction a street continues along the edge within 45° of straight ahead
_STROKE_MAX_TURN_RAD = np.radians(45.0)

# vertices this close to the line through their neighbours are dropped before buffering
_COLLINEAR_TOL_M = 1e-6

# strokes lie end to end on one axis with this gap, so runs never join across strokes
_STROKE_GAP_M = 1.0

# pieces closer than this along a stroke touch (one run); also the edge-to-stroke match distance
_TOUCH_M = 1e-6

# rows of a distance matrix expanded to dense scratch at a time (memory: rows x nodes floats)
_ROW_BATCH = 128


@dataclass(frozen=True)
class ReachedSegments:
    """The reached parts of network edges, one straight piece per row.

    Attributes
    ----------
    network : the network the pieces lie on
    source : row of the distance array each piece belongs to (0 for a 1-D array)
    edge : row of ``network.edges`` the piece lies on
    start_m, end_m : the piece, as distances from the edge's ``u`` end (0 <= start < end <= length)
    """

    network: WalkNetwork = field(repr=False, compare=False)
    source: np.ndarray
    edge: np.ndarray
    start_m: np.ndarray
    end_m: np.ndarray

    @property
    def length_m(self) -> np.ndarray:
        """Length of each piece, metres."""
        return self.end_m - self.start_m

    @cached_property
    def geometry(self) -> np.ndarray:
        """The pieces as shapely LineStrings (the edge's own node coordinates at its ends)."""
        edges = self.network.edges
        u = edges["u"].to_numpy()[self.edge]
        v = edges["v"].to_numpy()[self.edge]
        length = edges["length"].to_numpy()[self.edge]
        xy_u = np.column_stack([self.network.x[u], self.network.y[u]])
        xy_v = np.column_stack([self.network.x[v], self.network.y[v]])

        def at(t: np.ndarray) -> np.ndarray:
            inner = xy_u + (t / length)[:, None] * (xy_v - xy_u)
            return np.where((t <= 0)[:, None], xy_u,
                            np.where((t >= length)[:, None], xy_v, inner))

        return shapely.linestrings(np.stack([at(self.start_m), at(self.end_m)], axis=1))


@dataclass(frozen=True)
class StreetStrokes:
    """The network's edges chained into strokes, each a polyline with a distance axis.

    Strokes are laid end to end on one axis (a 1 m gap between them), so a reached piece of an
    edge is an interval of the axis, and touching pieces of one stroke merge into one run.

    Attributes
    ----------
    label : stroke per edge
    u_at : axis position of each edge's ``u`` end
    forward : per edge, whether the axis runs from ``u`` to ``v``
    vertex_xy : (V, 2) vertices of the stroke polylines (collinear vertices dropped)
    vertex_at : axis position of each vertex, increasing
    """

    label: np.ndarray
    u_at: np.ndarray
    forward: np.ndarray
    vertex_xy: np.ndarray
    vertex_at: np.ndarray

    def point_at(self, position: np.ndarray) -> np.ndarray:
        """(n, 2) coordinates of axis positions (each inside a stroke)."""
        k = np.clip(np.searchsorted(self.vertex_at, position, side="right") - 1, 0,
                    max(self.vertex_at.size - 2, 0))
        k1 = np.minimum(k + 1, self.vertex_at.size - 1)
        span = self.vertex_at[k1] - self.vertex_at[k]
        t = np.where(position > self.vertex_at[k],
                     (position - self.vertex_at[k]) / np.where(span > 0, span, 1.0), 0.0)
        return self.vertex_xy[k] + t[:, None] * (self.vertex_xy[k1] - self.vertex_xy[k])

    def runs(self, segments: ReachedSegments) -> tuple[np.ndarray, np.ndarray]:
        """Pieces merged into runs: maximal stretches of one stroke reached from one source.

        Returns
        -------
        (source, lines): the source row and the LineString of each run, ordered by source
        """
        u_at = self.u_at[segments.edge]
        forward = self.forward[segments.edge]
        low = np.where(forward, u_at + segments.start_m, u_at - segments.end_m)
        high = np.where(forward, u_at + segments.end_m, u_at - segments.start_m)
        # sources side by side on one line, so one running maximum serves them all
        offset = segments.source * (self.vertex_at[-1] + 2 * _STROKE_GAP_M)
        order = np.argsort(low + offset, kind="stable")
        reach = np.maximum.accumulate((high + offset)[order])
        first = np.flatnonzero(np.r_[True, (low + offset)[order][1:] > reach[:-1] + _TOUCH_M])
        run_low = low[order][first]
        run_high = np.maximum.reduceat(high[order], first)
        return segments.source[order][first], self._lines(run_low, run_high)

    def _lines(self, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """LineStrings along the strokes from ``low`` to ``high`` (axis positions)."""
        inner_from = np.searchsorted(self.vertex_at, low, side="right")
        inner_to = np.searchsorted(self.vertex_at, high, side="left")
        count = inner_to - inner_from + 2
        run = np.repeat(np.arange(low.size), count)
        last = np.cumsum(count) - 1
        k = np.arange(run.size) - (last - count + 1)[run]
        inner = (k > 0) & (k < count[run] - 1)
        xy = np.empty((run.size, 2))
        xy[last - count + 1] = self.point_at(low)
        xy[last] = self.point_at(high)
        xy[inner] = self.vertex_xy[(inner_from[run] + k - 1)[inner]]
        return shapely.linestrings(xy, indices=run)


@dataclass(frozen=True)
class Completeness:
    """15-minute life-circle completeness over population cells.

    Attributes
    ----------
    value : population share reaching every counted kind within its threshold (NaN when
        undefined, see ``reason``)
    kinds : the counted kinds; bit ``i`` of ``missing`` stands for ``kinds[i]``
    missing_layers : kinds of the set with no facility data, excluded (not counted as zero)
    kinds_reached : per cell, the number of counted kinds reached
    missing : per cell, bitmask of the counted kinds not reached
    reason : why ``value`` is undefined, else None
    """

    value: float
    kinds: tuple[str, ...]
    missing_layers: tuple[str, ...]
    kinds_reached: np.ndarray
    missing: np.ndarray
    reason: str | None = None

    def missing_names(self) -> np.ndarray:
        """Per cell, the missing kinds as a comma-separated string ("" when complete)."""
        masks, inverse = np.unique(self.missing, return_inverse=True)
        names = np.array([",".join(k for i, k in enumerate(self.kinds) if m >> i & 1)
                          for m in masks.tolist()], dtype=object)
        return names[inverse.reshape(-1)] if masks.size else np.empty(0, dtype=object)


def minutes_to_m(minutes: Iterable[float], speed_m_per_min: float | None = None) -> list[float]:
    """Walking minutes as metres: 5, 10 and 15 minutes are the standard's circles (300, 500 and
    1,000 m, ``circles_m`` of standards.yaml: GB 50180-2018 §2.0.2-2.0.4), not a speed; other
    minutes use ``walking.speed_m_per_min`` (an assumption), rounded to the metre.

    Examples
    --------
    >>> minutes_to_m([5, 10, 15, 20])
    [300.0, 500.0, 1000.0, 1333.0]
    """
    standards = load_standards()
    circles = {float(k): float(v) for k, v in standards["circles_m"].items()
               if str(k).isdigit()}
    speed = (float(standards["walking"]["speed_m_per_min"]) if speed_m_per_min is None
             else float(speed_m_per_min))
    return [circles.get(float(m), float(round(m * speed))) for m in minutes]


def reached_segments(network: WalkNetwork, node_distance_m: np.ndarray | sparse.spmatrix,
                     threshold_m: float | np.ndarray) -> ReachedSegments:
    """The parts of the network edges within ``threshold_m`` of a source.

    An edge u-v of length L whose ends are at distances d_u and d_v is reached from u up to
    T - d_u and from v up to T - d_v; it is reached whole when the two sum to L or more. Edges
    are straight, so the cut points are exact.

    Parameters
    ----------
    network : the walk network
    node_distance_m : distance of every node from the source: shape (n_nodes,) for one source
        (e.g. ``Nearest.distance_m``), (n_sources, n_nodes) for one row per source, or a sparse
        (n_sources, n_nodes) matrix whose missing entries are unreached (as returned by
        :func:`lifecircle.coverage.engine.per_facility_distances`); columns beyond ``n_nodes``
        (virtual facility nodes) are ignored
    threshold_m : the distance T, one value or one per source row

    Returns
    -------
    ReachedSegments, ordered by source row
    """
    rows = node_distance_m.shape[0] if np.ndim(node_distance_m) == 2 else 1
    limits = np.broadcast_to(np.asarray(threshold_m, dtype=np.float64), (rows,))
    parts = [
        _pieces(network, _dense_rows(node_distance_m, start, min(start + _ROW_BATCH, rows),
                                     network.n_nodes),
                limits[start:start + _ROW_BATCH], start)
        for start in range(0, rows, _ROW_BATCH)
    ]
    source, edge, start_m, end_m = (np.concatenate(column) for column in zip(*parts, strict=True))
    return ReachedSegments(network, source, edge, start_m, end_m)


def street_strokes(network: WalkNetwork) -> StreetStrokes:
    """Chain the edges into strokes: edges that continue each other through nodes.

    At a node of degree 2 the two edges always continue each other; at a junction two edges
    continue each other when each is the other's straightest continuation, within 45° of
    straight ahead. Strokes only group edges so that circles dissolve fewer, longer strips; they
    do not change any polygon beyond the polygonal approximation of round joins.

    Returns
    -------
    StreetStrokes of the network (computed once, reused for every circle)
    """
    label = _stroke_labels(network)
    edges = network.edges
    geoms = edges.geometry.to_numpy()
    by_label = np.argsort(label, kind="stable")
    merged = shapely.line_merge(shapely.multilinestrings(geoms[by_label],
                                                         indices=label[by_label]))
    parts, part_stroke = shapely.get_parts(merged, return_index=True)
    # each edge on the merged polyline of its stroke (the only one, but for rare split strokes)
    mid = shapely.line_interpolate_point(geoms, 0.5, normalized=True)
    n_parts = np.bincount(part_stroke, minlength=label.max(initial=-1) + 1)
    part = (np.cumsum(n_parts) - n_parts)[label]
    split = np.flatnonzero(n_parts[label] > 1)
    hit_edge, hit_part = shapely.STRtree(parts).query(mid[split], predicate="dwithin",
                                                      distance=_TOUCH_M)
    own = part_stroke[hit_part] == label[split][hit_edge]
    found, first = np.unique(hit_edge[own], return_index=True)
    part[split[found]] = hit_part[own][first]
    lonely = np.setdiff1d(split, split[found])  # never expected: such an edge is its own stroke
    part[lonely] = parts.size + np.arange(lonely.size)
    parts = np.concatenate([parts, geoms[lonely]])
    length = edges["length"].to_numpy()
    centre = shapely.line_locate_point(parts[part], mid)
    # (a negative distance would count from the far end)
    start = shapely.line_interpolate_point(parts[part], np.maximum(centre - length / 2, 0.0))
    start_xy = shapely.get_coordinates(start)
    u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
    forward = (np.hypot(start_xy[:, 0] - network.x[u], start_xy[:, 1] - network.y[u])
               <= np.hypot(start_xy[:, 0] - network.x[v], start_xy[:, 1] - network.y[v]))
    base = np.cumsum(shapely.length(parts) + _STROKE_GAP_M) - shapely.length(parts) - _STROKE_GAP_M
    # drop the collinear vertices densification inserted: same lines, fewer vertices to offset
    lines = shapely.simplify(parts, _COLLINEAR_TOL_M, preserve_topology=False)
    collapsed = shapely.get_num_coordinates(lines) < 2
    lines[collapsed] = parts[collapsed]
    xy, vertex_part = shapely.get_coordinates(lines, return_index=True)
    starts = np.r_[True, vertex_part[1:] != vertex_part[:-1]]
    step = np.r_[0.0, np.hypot(*np.diff(xy, axis=0).T)]
    step[starts] = 0.0
    along = np.cumsum(step)
    along -= along[np.flatnonzero(starts)][np.cumsum(starts) - 1]
    return StreetStrokes(
        label=label,
        u_at=base[part] + np.where(forward, centre - length / 2, centre + length / 2),
        forward=forward,
        vertex_xy=xy,
        vertex_at=base[vertex_part] + along,
    )


def _stroke_labels(network: WalkNetwork) -> np.ndarray:
    """Stroke label per edge (see :func:`street_strokes`)."""
    u = network.edges["u"].to_numpy()
    v = network.edges["v"].to_numpy()
    n_edges = u.size
    if n_edges == 0:
        return np.empty(0, dtype=np.int64)
    # half-edges leaving each node, grouped by node
    node = np.concatenate([u, v])
    far = np.concatenate([v, u])
    edge = np.concatenate([np.arange(n_edges), np.arange(n_edges)])
    order = np.argsort(node, kind="stable")
    node, far, edge = node[order], far[order], edge[order]
    bearing = np.arctan2(network.y[far] - network.y[node], network.x[far] - network.x[node])
    degree = np.bincount(node, minlength=network.n_nodes)
    first = np.cumsum(degree) - degree
    pair_a, pair_b = _pairs_at_nodes(degree, first)
    turn = np.pi - np.abs(np.angle(np.exp(1j * (bearing[pair_a] - bearing[pair_b]))))
    two = degree[node[pair_a]] == 2
    ok = two | (turn <= _STROKE_MAX_TURN_RAD)
    pair_a, pair_b, turn = pair_a[ok], pair_b[ok], np.where(two[ok], 0.0, turn[ok])
    # each half-edge's straightest partner; link the mutual ones (a matching at every node)
    this = np.concatenate([pair_a, pair_b])
    other = np.concatenate([pair_b, pair_a])
    rank = np.lexsort((np.concatenate([turn, turn]), this))
    best = np.full(node.size, -1, dtype=np.int64)
    is_first = np.r_[True, this[rank][1:] != this[rank][:-1]]
    best[this[rank][is_first]] = other[rank][is_first]
    half = np.flatnonzero(best >= 0)
    mutual = half[(best[best[half]] == half) & (half < best[half])]
    links = sparse.coo_matrix((np.ones(mutual.size), (edge[mutual], edge[best[mutual]])),
                              shape=(n_edges, n_edges))
    return csgraph.connected_components(links, directed=False)[1]


def reached_area(network: WalkNetwork, segments: ReachedSegments, n_sources: int,
                 half_width_m: float = STREET_HALF_WIDTH_M,
                 strokes: StreetStrokes | None = None) -> np.ndarray:
    """Reached pieces turned into area: buffered by the street half-width and dissolved per source.

    Parameters
    ----------
    network : the walk network the pieces lie on
    segments : from :func:`reached_segments`
    n_sources : number of source rows (the output length)
    half_width_m : strip a walker reaches either side of a reached street (round caps and joins)
    strokes : :func:`street_strokes` of the network, when already computed

    Returns
    -------
    object array of n_sources (Multi)Polygons; an empty Polygon where nothing is reached
    """
    out = np.array([shapely.Polygon()] * n_sources, dtype=object)
    if segments.source.size == 0:
        return out
    strokes = street_strokes(network) if strokes is None else strokes
    run_source, runs = strokes.runs(segments)
    counts = np.bincount(run_source, minlength=n_sources)
    # GEOS buffers a multi-line of a few long strokes fast, but slows sharply on hundreds of
    # short overlapping pieces (dense footway networks): those are buffered one by one and
    # dissolved with a cascaded union instead. Both give the same area.
    few = counts[run_source] <= MAX_RUNS_PER_BUFFER
    lines = shapely.multilinestrings(runs[few], indices=run_source[few],
                                     out=np.full(n_sources, None, dtype=object))
    simple = np.flatnonzero((counts > 0) & (counts <= MAX_RUNS_PER_BUFFER))
    out[simple] = shapely.buffer(lines[simple], half_width_m, quad_segs=QUAD_SEGS)
    many = np.flatnonzero(counts > MAX_RUNS_PER_BUFFER)
    if many.size:
        strips = shapely.buffer(runs[~few], half_width_m, quad_segs=QUAD_SEGS)
        owner = run_source[~few]
        order = np.argsort(owner, kind="stable")
        bounds = np.searchsorted(owner[order], many)
        ends = np.searchsorted(owner[order], many, side="right")
        out[many] = [shapely.union_all(strips[order[a:b]]) for a, b in
                     zip(bounds, ends, strict=True)]
    return out


def service_circles(network: WalkNetwork, node_index: NodeIndex, facilities_geometry: np.ndarray,
                    thresholds_m: Sequence[float], half_width_m: float = STREET_HALF_WIDTH_M,
                    max_snap_m: float | None = None, workers: int = 1,
                    strokes: StreetStrokes | None = None) -> gpd.GeoDataFrame:
    """Service circles of every facility at every threshold.

    One bounded Dijkstra per facility (from its access points, at the largest threshold); the
    reached parts of edges are buffered by ``half_width_m`` and dissolved. Each circle contains
    the circles of the same facility at smaller thresholds (they are unioned into it), so nested
    circles never cross even where polygon arcs are approximated.

    Parameters
    ----------
    network : the walk network
    node_index : its snapping index
    facilities_geometry : points or polygons in the network CRS, one per facility
    thresholds_m : walking distances, e.g. ``minutes_to_m([5, 10, 15])``
    half_width_m : street half-width of the strips (see :data:`STREET_HALF_WIDTH_M`)
    max_snap_m : facilities farther from the network are unreachable (default standards.yaml)
    workers : threads dissolving circles (GEOS releases the GIL); 1 runs in the caller's thread
    strokes : the network's :func:`street_strokes`, when the caller already has them

    Returns
    -------
    GeoDataFrame with columns ``facility`` (row of ``facilities_geometry``), ``threshold_m`` and
    geometry, one row per facility and threshold, ordered by facility then threshold; an empty
    Polygon where a facility is unreachable or reaches nothing
    """
    geometries = np.asarray(facilities_geometry, dtype=object)
    thresholds = np.unique(np.asarray(thresholds_m, dtype=np.float64))
    if thresholds.size == 0:
        raise ValueError("service_circles: give at least one threshold")
    n_fac = geometries.size
    if max_snap_m is None:
        max_snap_m = float(load_standards()["snapping"]["max_snap_m"])
    access = node_index.facility_access(geometries, max_snap_m)
    distances = per_facility_distances(network, access, limit_m=float(thresholds.max()))
    strokes = street_strokes(network) if strokes is None else strokes

    def batch(start: int) -> np.ndarray:
        rows = distances[start:start + _ROW_BATCH]
        nested = None
        circles = []
        for threshold in thresholds:
            area = reached_area(network, reached_segments(network, rows, threshold),
                                rows.shape[0], half_width_m, strokes)
            nested = area if nested is None else shapely.union(area, nested)
            circles.append(nested)
        return np.column_stack(circles)

    starts = range(0, n_fac, _ROW_BATCH)
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            blocks = list(pool.map(batch, starts))
    else:
        blocks = [batch(start) for start in starts]
    table = np.concatenate(blocks) if blocks else np.empty((0, thresholds.size), dtype=object)
    return gpd.GeoDataFrame(
        {"facility": np.repeat(np.arange(n_fac), thresholds.size),
         "threshold_m": np.tile(thresholds, n_fac)},
        geometry=gpd.GeoSeries(table.reshape(-1), crs=network.crs),
        crs=network.crs,
    )


def union_by_kind(circles: gpd.GeoDataFrame, kinds: Sequence[str] | np.ndarray) -> gpd.GeoDataFrame:
    """The area covered by each kind at each threshold: the union of its facilities' circles.

    Parameters
    ----------
    circles : from :func:`service_circles`
    kinds : the kind of every facility, indexed by ``circles["facility"]``

    Returns
    -------
    GeoDataFrame with columns ``kind``, ``threshold_m``, ``area_m2`` and geometry
    """
    kind = np.asarray(kinds, dtype=object)[circles["facility"].to_numpy()]
    frame = pd.DataFrame({"kind": kind, "threshold_m": circles["threshold_m"].to_numpy(),
                          "geometry": circles.geometry.to_numpy()})
    groups = frame.groupby(["kind", "threshold_m"], sort=True)["geometry"]
    union = groups.agg(lambda g: shapely.union_all(g.to_numpy())).reset_index()
    geometry = gpd.GeoSeries(union["geometry"].to_numpy(), crs=circles.crs)
    return gpd.GeoDataFrame({"kind": union["kind"], "threshold_m": union["threshold_m"],
                             "area_m2": shapely.area(geometry.to_numpy())},
                            geometry=geometry, crs=circles.crs)


def uncovered_by_kind(covered: gpd.GeoDataFrame, study_area: shapely.Geometry,
                      residential: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """The part of the study area, and of its residential land, outside each kind's circles.

    Parameters
    ----------
    covered : from :func:`union_by_kind`
    study_area : polygon in the same CRS
    residential : residential land (dissolved here, clipped to the study area); None to skip

    Returns
    -------
    GeoDataFrame with columns ``kind``, ``threshold_m``, ``layer`` ("study_area" or
    "residential"), ``total_m2`` (the layer's area), ``uncovered_m2``, ``uncovered_share`` (NaN
    for an empty layer) and the uncovered geometry
    """
    layers = {"study_area": study_area}
    if residential is not None:
        land = dissolve(residential.geometry)
        layers["residential"] = shapely.intersection(
            shapely.union_all(land.to_numpy()), study_area)
    frames = []
    for name, layer in layers.items():
        gaps = shapely.difference(layer, covered.geometry.to_numpy())
        total = float(shapely.area(layer))
        uncovered = shapely.area(gaps)
        frames.append(pd.DataFrame({
            "kind": covered["kind"].to_numpy(), "threshold_m": covered["threshold_m"].to_numpy(),
            "layer": name, "total_m2": total, "uncovered_m2": uncovered,
            "uncovered_share": uncovered / total if total > 0 else np.nan, "geometry": gaps,
        }))
    table = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(table, geometry="geometry", crs=covered.crs)


def life_circle_completeness(distances: Mapping[str, np.ndarray],
                             thresholds: Mapping[str, float] | None,
                             population: np.ndarray,
                             life_circle_set: Sequence[str] | None = None) -> Completeness:
    """Share of population reaching every kind of the life-circle set within its threshold.

    Parameters
    ----------
    distances : per kind, the walking distance from every cell to the nearest facility
    thresholds : per kind, the threshold in metres (default: ``threshold_m`` of standards.yaml)
    population : people (weight) per cell
    life_circle_set : the kinds required (default: ``life_circle_sets["15min"]`` of
        standards.yaml)

    Returns
    -------
    Completeness. A kind of the set without data (absent from ``distances``, or infinite for
    every cell because its layer is empty) is a missing layer: excluded with a warning, never
    counted as zero coverage.
    """
    standards = load_standards()
    wanted = list(standards["life_circle_sets"]["15min"] if life_circle_set is None
                  else life_circle_set)
    limits = {k: float(v["threshold_m"]) for k, v in standards["kinds"].items()}
    limits.update({k: float(v) for k, v in (thresholds or {}).items()})
    weight = np.asarray(population, dtype=np.float64)
    missing_layers = tuple(k for k in wanted if k not in distances
                           or not np.isfinite(np.asarray(distances[k])).any())
    kinds = tuple(k for k in wanted if k not in missing_layers)
    if missing_layers:
        warnings.warn(f"life-circle completeness: no facility data for {', '.join(missing_layers)}"
                      "; these kinds are excluded (missing layers, not zero coverage)",
                      stacklevel=2)
    if len(kinds) > 62:
        raise ValueError("life_circle_completeness: at most 62 kinds fit the per-cell bitmask")
    reached = np.zeros((len(kinds), weight.size), dtype=bool)
    for i, kind in enumerate(kinds):
        reached[i] = np.asarray(distances[kind]) <= limits[kind]
    bits = np.left_shift(np.int64(1), np.arange(len(kinds), dtype=np.int64))
    missing = (~reached * bits[:, None]).sum(axis=0).astype(np.int64)
    total = float(weight.sum())
    reason = None
    if not kinds:
        reason = "undefined: no kind of the life-circle set has facility data"
    elif total <= 0:
        reason = "undefined: no population"
    value = float("nan") if reason else float(weight[missing == 0].sum() / total)
    return Completeness(value=value, kinds=kinds, missing_layers=missing_layers,
                        kinds_reached=reached.sum(axis=0), missing=missing, reason=reason)


def _dense_rows(distance: np.ndarray | sparse.spmatrix, start: int, stop: int,
                n_nodes: int) -> np.ndarray:
    """Rows ``start:stop`` of a distance array or sparse matrix as dense (rows, n_nodes), inf
    where unreached."""
    if sparse.issparse(distance):
        block = sparse.csr_matrix(distance[start:stop, :n_nodes])
        dense = np.full((stop - start, n_nodes), np.inf)
        rows = np.repeat(np.arange(block.shape[0]), np.diff(block.indptr))
        dense[rows, block.indices] = block.data
        return dense
    return np.atleast_2d(np.asarray(distance, dtype=np.float64))[start:stop, :n_nodes]


def _pieces(network: WalkNetwork, dist: np.ndarray, limits: np.ndarray,
            row0: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Reached pieces (source, edge, start, end) of one block of distance rows."""
    u = network.edges["u"].to_numpy()
    v = network.edges["v"].to_numpy()
    length = network.edges["length"].to_numpy()
    limit = limits[:, None]
    from_u = dist[:, u] <= limit
    from_v = dist[:, v] <= limit
    row, edge = np.nonzero(from_u | from_v)
    full = length[edge]
    ok_u, ok_v = from_u[row, edge], from_v[row, edge]
    reach_u = np.where(ok_u, np.minimum(limits[row] - dist[row, u[edge]], full), 0.0)
    reach_v = np.where(ok_v, np.minimum(limits[row] - dist[row, v[edge]], full), 0.0)
    whole = reach_u + reach_v >= full
    part_u = ~whole & ok_u & (reach_u > 0)
    part_v = ~whole & ok_v & (reach_v > 0)
    source = np.concatenate([row[whole], row[part_u], row[part_v]]) + row0
    edges = np.concatenate([edge[whole], edge[part_u], edge[part_v]])
    start = np.concatenate([np.zeros(whole.sum()), np.zeros(part_u.sum()),
                            full[part_v] - reach_v[part_v]])
    end = np.concatenate([full[whole], reach_u[part_u], full[part_v]])
    order = np.argsort(source, kind="stable")
    return source[order], edges[order], start[order], end[order]


def _pairs_at_nodes(degree: np.ndarray, first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All pairs of half-edges sharing a node (positions in the node-grouped half-edge arrays)."""
    node = np.repeat(np.arange(degree.size), degree)
    later = degree[node] - 1 - (np.arange(node.size) - first[node])  # half-edges after this one
    a = np.repeat(np.arange(node.size), later)
    b = a + 1 + np.arange(a.size) - np.repeat(np.cumsum(later) - later, later)
    return a, b
