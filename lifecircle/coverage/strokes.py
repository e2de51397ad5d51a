"""Street strokes: the network's edges chained into long polylines with one distance axis.

Service circles (:mod:`lifecircle.coverage.circles`) merge the reached pieces of a circle into
runs along these strokes, so GEOS buffers a few dozen long polylines per circle instead of
hundreds of 50 m pieces (about 50 times faster on central Chengdu, see
benchmarks/bench_circles.py). Strokes only group edges; they change no polygon beyond the
polygonal approximation of round joins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from lifecircle.layers.network import WalkNetwork

if TYPE_CHECKING:
    from lifecircle.coverage.circles import ReachedSegments

# assumption: at a junction a street continues along the edge within 45° of straight ahead
_STROKE_MAX_TURN_RAD = np.radians(45.0)

# vertices this close to the line through their neighbours are dropped before buffering
_COLLINEAR_TOL_M = 1e-6

# strokes lie end to end on one axis with this gap, so runs never join across strokes
_STROKE_GAP_M = 1.0

# pieces closer than this along a stroke touch (one run); also the edge-to-stroke match distance
_TOUCH_M = 1e-6


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
    # each edge on the merged polyline of its stroke (the only one, but for rare split strokes):
    # found by its first segment among the polyline's segments (a sort, not a search along
    # every polyline per edge, which grew with the square of the strokes' length)
    xy, vertex_edge = shapely.get_coordinates(geoms, return_index=True)
    first = np.searchsorted(vertex_edge, np.arange(geoms.size))
    head, second = xy[first], xy[first + 1]
    part, at_head, with_part = _edge_on_part(parts, part_stroke, label, head, second)
    lonely = np.flatnonzero(part < 0)  # never expected: such an edge is its own stroke
    part[lonely] = parts.size + np.arange(lonely.size)
    at_head[lonely] = 0.0
    with_part[lonely] = True
    parts = np.concatenate([parts, geoms[lonely]])
    length = edges["length"].to_numpy()
    u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
    # the axis runs from u to v when the edge's geometry, drawn from u, runs with its polyline
    from_u = (np.hypot(head[:, 0] - network.x[u], head[:, 1] - network.y[u])
              <= np.hypot(head[:, 0] - network.x[v], head[:, 1] - network.y[v]))
    forward = with_part == from_u
    u_at_part = np.where(from_u, at_head, np.where(with_part, at_head + length,
                                                   at_head - length))
    base = np.cumsum(shapely.length(parts) + _STROKE_GAP_M) - shapely.length(parts) - _STROKE_GAP_M
    # drop the collinear vertices densification inserted: same lines, fewer vertices to offset
    lines = shapely.simplify(parts, _COLLINEAR_TOL_M, preserve_topology=False)
    collapsed = shapely.get_num_coordinates(lines) < 2
    lines[collapsed] = parts[collapsed]
    xy, vertex_part = shapely.get_coordinates(lines, return_index=True)
    along = _along(xy, vertex_part)
    return StreetStrokes(
        label=label,
        u_at=base[part] + u_at_part,
        forward=forward,
        vertex_xy=xy,
        vertex_at=base[vertex_part] + along,
    )


def _along(xy: np.ndarray, vertex_part: np.ndarray) -> np.ndarray:
    """Distance of each vertex from the start of its polyline (vertices grouped by polyline)."""
    starts = np.r_[True, vertex_part[1:] != vertex_part[:-1]]
    step = np.r_[0.0, np.hypot(*np.diff(xy, axis=0).T)]
    step[starts] = 0.0
    along = np.cumsum(step)
    return along - along[np.flatnonzero(starts)][np.cumsum(starts) - 1]


def _edge_on_part(parts: np.ndarray, part_stroke: np.ndarray, label: np.ndarray,
                  head: np.ndarray, second: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each edge lies on the merged polylines of its stroke.

    An edge's first segment (its ``head`` vertex to its ``second``) is a segment of exactly one
    polyline of its stroke, drawn one way or the other (line merging keeps coordinates).

    Returns
    -------
    (part, at_head, with_part) per edge: the polyline (-1 where none holds the segment), the
    distance of the edge's head vertex along it, and whether the edge runs the polyline's way
    """
    xy, vertex_part = shapely.get_coordinates(parts, return_index=True)
    along = _along(xy, vertex_part)
    j = np.flatnonzero(vertex_part[:-1] == vertex_part[1:])  # segment j: vertex j to j + 1
    stroke = part_stroke[vertex_part[j]]
    # each segment both ways: (stroke, from, to) -> (part, position of `from`, drawn forward)
    seg_from = np.r_[xy[j], xy[j + 1]]
    seg_to = np.r_[xy[j + 1], xy[j]]
    seg_stroke = np.r_[stroke, stroke]
    seg_part = np.r_[vertex_part[j], vertex_part[j]]
    seg_at = np.r_[along[j], along[j + 1]]
    seg_with = np.r_[np.ones(j.size, bool), np.zeros(j.size, bool)]
    edge, row = _exact_matches((label, head, second), (seg_stroke, seg_from, seg_to))
    # a zero-length edge (line merging drops it) lies at a vertex of its stroke's polyline,
    # pointing into the polyline (never off its end, into the gap to the next stroke)
    lost = np.setdiff1d(np.arange(label.size), edge)
    if lost.size:
        last = np.r_[vertex_part[1:] != vertex_part[:-1], True]
        length = np.zeros(parts.size)
        length[vertex_part[last]] = along[last]
        lost_edge, vertex = _exact_matches((label[lost], head[lost]),
                                           (part_stroke[vertex_part], xy))
        edge = np.r_[edge, lost[lost_edge]]
        seg_part = np.r_[seg_part, vertex_part[vertex]]
        seg_at = np.r_[seg_at, along[vertex]]
        seg_with = np.r_[seg_with, along[vertex] < length[vertex_part[vertex]]]
        row = np.r_[row, seg_from.shape[0] + np.arange(vertex.size)]
    part = np.full(label.size, -1, dtype=np.int64)
    at_head = np.zeros(label.size)
    with_part = np.ones(label.size, dtype=bool)
    part[edge] = seg_part[row]
    at_head[edge] = seg_at[row]
    with_part[edge] = seg_with[row]
    return part, at_head, with_part


def _exact_matches(wanted: tuple[np.ndarray, ...], table: tuple[np.ndarray, ...]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``wanted`` equal, column by column and exactly, to a row of ``table``.

    Each tuple holds an integer column and (n, 2) coordinate columns. Rows are hashed into one
    64-bit key, so the search is one sort, and every hit is checked column by column (a hash
    collision is never taken for a match). A wanted row matching several table rows takes the
    first.

    Returns
    -------
    (wanted_row, table_row) of the matches, ordered by ``wanted_row``
    """
    want_key, table_key = _row_hash(wanted), _row_hash(table)
    if want_key.size == 0 or table_key.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order = np.argsort(table_key, kind="stable")
    at = np.minimum(np.searchsorted(table_key[order], want_key), order.size - 1)
    wanted_row = np.arange(want_key.size)
    table_row = order[at]
    same = table_key[table_row] == want_key
    for want, have in zip(wanted, table, strict=True):
        same &= (want == have[table_row]).reshape(want_key.size, -1).all(axis=1)
    return wanted_row[same], table_row[same]


def _row_hash(columns: tuple[np.ndarray, ...]) -> np.ndarray:
    """One 64-bit hash per row of integer and float columns (their exact bits)."""
    n = columns[0].shape[0]
    key = np.full(n, 0x9E3779B97F4A7C15, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for column in columns:
            bits = np.ascontiguousarray(column).reshape(n, -1)
            bits = bits.view(np.uint64) if bits.dtype.kind == "f" else bits.astype(np.uint64)
            for k in range(bits.shape[1]):
                # splitmix64 finaliser over the running key and the next word
                key = (key ^ bits[:, k]) * np.uint64(0xBF58476D1CE4E5B9)
                key ^= key >> np.uint64(31)
                key *= np.uint64(0x94D049BB133111EB)
                key ^= key >> np.uint64(29)
    return key


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


def _pairs_at_nodes(degree: np.ndarray, first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All pairs of half-edges sharing a node (positions in the node-grouped half-edge arrays)."""
    node = np.repeat(np.arange(degree.size), degree)
    later = degree[node] - 1 - (np.arange(node.size) - first[node])  # half-edges after this one
    a = np.repeat(np.arange(node.size), later)
    b = a + 1 + np.arange(a.size) - np.repeat(np.cumsum(later) - later, later)
    return a, b
