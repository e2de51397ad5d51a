"""Service circles (the area within a walking distance of each facility, following the streets)
and 15-minute life-circle completeness (DESIGN §3).

A circle is built from what a walker reaches: the reached parts of the network edges, with
partial edges cut at the exact remaining distance, buffered by a street half-width and
dissolved. Polygons therefore follow streets, keep holes inside blocks nobody reaches and never
cross a river where no bridge is mapped. No hull of any kind is taken.

Speed: the edges are chained once per network into *strokes* (:mod:`lifecircle.coverage.strokes`)
laid end to end on one distance axis; the reached pieces of a circle merge into runs along them.
Reached pieces come from the reached (source, node, distance) entries only, and each kind's
covered area from its one multi-source pass (:func:`covered_by_kind`).
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse

from lifecircle.config import minutes_to_metres
from lifecircle.coverage.engine import NodeIndex, per_facility_distances
from lifecircle.coverage.parallel import in_threads
from lifecircle.coverage.strokes import StreetStrokes, street_strokes
from lifecircle.layers.landuse import polygon_parts
from lifecircle.layers.network import WalkNetwork
from lifecircle.seeds import load_standards

# assumption: a walker reaching a street reaches the strip 25 m either side of its centre line
# (the frontage and entrances of the plots along it; half the 50 m node spacing). Not a standard.
STREET_HALF_WIDTH_M = 25.0

# segments per quarter circle of the round caps and joins (GEOS' default)
QUAD_SEGS = 8
#: above this many reached strokes a circle is buffered stroke by stroke, then dissolved
MAX_RUNS_PER_BUFFER = 150

# facilities whose circles are dissolved together (bounds the GEOS work held at once)
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
    """Walking minutes as metres (:func:`lifecircle.config.minutes_to_metres` for each): 5, 10
    and 15 minutes are the standard's circles (300, 500 and 1,000 m, ``circles_m`` of
    standards.yaml: GB 50180-2018 §2.0.2-2.0.4), not a speed; other minutes use
    ``walking.speed_m_per_min`` (an assumption), rounded to the metre; a user's speed converts
    all of them.

    Examples
    --------
    >>> minutes_to_m([5, 10, 15, 20])
    [300.0, 500.0, 1000.0, 1333.0]
    >>> minutes_to_m([5, 10], speed_m_per_min=80)
    [400.0, 800.0]
    """
    return [minutes_to_metres(m, speed_m_per_min) for m in minutes]


def reached_segments(network: WalkNetwork, node_distance_m: np.ndarray | sparse.spmatrix,
                     threshold_m: float | np.ndarray,
                     rates: tuple[np.ndarray, np.ndarray] | None = None) -> ReachedSegments:
    """The parts of the network edges within ``threshold_m`` of a source.

    An edge u-v of length L whose ends are at distances d_u and d_v is reached from u up to
    T - d_u and from v up to T - d_v; it is reached whole when the two sum to L or more. Edges
    are straight, so the cut points are exact.

    With a directed walking cost (slopes, compounds: ``rates``), distances are costs of walking
    from the node to the facility, and a point t metres from u reaches the facility through u at
    cost d_u + t * r_vu (walking toward u, the edge's cost per metre in the v -> u direction):
    the edge is reached from u up to (T - d_u) / r_vu metres and from v up to (T - d_v) / r_uv.
    A circle is then the homes that can walk to the facility within T.

    Parameters
    ----------
    network : the walk network
    node_distance_m : distance of every node from the source: shape (n_nodes,) for one source
        (e.g. ``Nearest.distance_m``), (n_sources, n_nodes) for one row per source, or a sparse
        (n_sources, n_nodes) matrix whose missing entries are unreached (as returned by
        :func:`lifecircle.coverage.engine.per_facility_distances`); columns beyond ``n_nodes``
        (virtual facility nodes) are ignored
    threshold_m : the distance T, one value or one per source row
    rates : per edge, the cost per metre of walking u -> v and v -> u (inf where that step is
        not allowed, e.g. across a compound wall); None: flat, 1 both ways
        (:meth:`lifecircle.layers.walking.WalkCost.edge_rates`)

    Returns
    -------
    ReachedSegments, ordered by source row
    """
    rows = node_distance_m.shape[0] if np.ndim(node_distance_m) == 2 else 1
    limits = np.broadcast_to(np.asarray(threshold_m, dtype=np.float64), (rows,))
    source, node, dist = _reached_entries(node_distance_m, limits, network.n_nodes)
    return ReachedSegments(network, *_pieces(network, source, node, dist, limits, rates))


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
        # GEOS' disjoint-subset union: the clusters of strips that do not touch each other are
        # unioned apart (2.4x faster on a 10x SYNTHETIC city's primary schools, same area to
        # 1e-14; no slower when everything is one cluster)
        out[many] = [shapely.disjoint_subset_union_all(strips[order[a:b]]) for a, b in
                     zip(bounds, ends, strict=True)]
    return out


def service_circles(network: WalkNetwork, node_index: NodeIndex, facilities_geometry: np.ndarray,
                    thresholds_m: Sequence[float], half_width_m: float = STREET_HALF_WIDTH_M,
                    max_snap_m: float | None = None, workers: int = 1,
                    strokes: StreetStrokes | None = None, cost=None) -> gpd.GeoDataFrame:
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
    cost : the study's :class:`~lifecircle.layers.walking.WalkCost` (slopes, compounds): the
        circle is then the homes that can walk to the facility within the threshold (searched
        on the transposed directed graph, edges cut in cost); None: flat network distance

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
    if cost is None:
        access = node_index.facility_access(geometries, max_snap_m)
        distances = per_facility_distances(network, access, limit_m=float(thresholds.max()))
        rates = None
    else:
        access = cost.facility_access(node_index, geometries, max_snap_m)
        distances = per_facility_distances(network, access, limit_m=float(thresholds.max()),
                                           cost_graph=cost.graph)
        rates = cost.edge_rates(network)
    strokes = street_strokes(network) if strokes is None else strokes

    def batch(start: int) -> np.ndarray:
        rows = distances[start:start + _ROW_BATCH]
        nested = None
        circles = []
        for threshold in thresholds:
            area = reached_area(network, reached_segments(network, rows, threshold, rates),
                                rows.shape[0], half_width_m, strokes)
            nested = area if nested is None else shapely.union(area, nested)
            circles.append(nested)
        return np.column_stack(circles)

    blocks = in_threads(batch, range(0, n_fac, _ROW_BATCH), threads=workers)
    table = np.concatenate(blocks) if blocks else np.empty((0, thresholds.size), dtype=object)
    return gpd.GeoDataFrame(
        {"facility": np.repeat(np.arange(n_fac), thresholds.size),
         "threshold_m": np.tile(thresholds, n_fac)},
        geometry=gpd.GeoSeries(table.reshape(-1), crs=network.crs),
        crs=network.crs,
    )


def union_by_kind(circles: gpd.GeoDataFrame, kinds: Sequence[str] | np.ndarray) -> gpd.GeoDataFrame:
    """The area covered by each kind at each threshold: the union of its facilities' circles.

    Unions every circle (slow at city scale); :func:`covered_by_kind` gives the same area from
    the nearest distances.

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


def covered_by_kind(network: WalkNetwork, node_distance_m: Mapping[str, np.ndarray],
                    thresholds_m: Mapping[str, Sequence[float]],
                    half_width_m: float = STREET_HALF_WIDTH_M,
                    strokes: StreetStrokes | None = None, crs=None,
                    rates: tuple[np.ndarray, np.ndarray] | None = None) -> gpd.GeoDataFrame:
    """The area covered by each kind at each threshold, from the kind's ONE multi-source pass.

    A point of an edge u-v lies within T of some facility exactly when it lies within T of the
    nearest one: min over facilities of min(d_f(u) + t, d_f(v) + L - t) is min(D(u) + t,
    D(v) + L - t) with D the nearest distance. So the reached segments of the nearest distances
    are the union of every facility's reached segments, and their one buffer is the union of
    every facility's circle (:func:`union_by_kind`), up to the polygonal approximation of arcs.

    Parameters
    ----------
    network : the walk network
    node_distance_m : per kind, ``Nearest.distance_m`` of every node, searched at least as far
        as the kind's largest threshold (inf where unreached)
    thresholds_m : per kind, its walking distances
    half_width_m : street half-width of the strips (see :data:`STREET_HALF_WIDTH_M`)
    strokes : the network's :func:`street_strokes`, when the caller already has them
    crs : CRS of the result (default the network's)
    rates : per edge, directed cost per metre (see :func:`reached_segments`) when the
        distances are a directed walking cost's; the argument above holds for them too (each
        point's cost to the facility is a minimum over its edge's two ends)

    Returns
    -------
    GeoDataFrame with columns ``kind``, ``threshold_m``, ``area_m2`` and geometry, ordered by
    kind then threshold (the shape of :func:`union_by_kind`)
    """
    strokes = street_strokes(network) if strokes is None else strokes
    jobs = [(kind, float(threshold)) for kind in sorted(node_distance_m)
            for threshold in np.unique(np.asarray(thresholds_m[kind], dtype=np.float64))]

    def area(job: tuple[str, float]) -> shapely.Geometry:
        segments = reached_segments(network, node_distance_m[job[0]], job[1], rates)
        return reached_area(network, segments, 1, half_width_m, strokes)[0]

    crs = network.crs if crs is None else crs
    geometry = np.array(in_threads(area, jobs), dtype=object)
    kinds, limits = [kind for kind, _ in jobs], [threshold for _, threshold in jobs]
    return gpd.GeoDataFrame({"kind": kinds, "threshold_m": limits,
                             "area_m2": shapely.area(geometry) if geometry.size else []},
                            geometry=gpd.GeoSeries(geometry, crs=crs), crs=crs)


def uncovered_by_kind(covered: gpd.GeoDataFrame, study_area: shapely.Geometry,
                      residential: gpd.GeoDataFrame | None = None,
                      threads: int | None = None) -> gpd.GeoDataFrame:
    """The part of the study area, and of its residential land, outside each kind's circles.

    Parameters
    ----------
    covered : from :func:`union_by_kind`
    study_area : polygon in the same CRS
    residential : residential land (dissolved here, clipped to the study area); None to skip
    threads : overlays at once (default: one per core)

    Returns
    -------
    GeoDataFrame with columns ``kind``, ``threshold_m``, ``layer`` ("study_area" or
    "residential"), ``total_m2`` (the layer's area), ``uncovered_m2``, ``uncovered_share`` (NaN
    for an empty layer) and the uncovered geometry
    """
    # one overlay of the whole land with each kind's area: GEOS overlays two large polygons in
    # about (vertices x log vertices); cutting the land into pieces first (split_land of
    # coverage.park_geometry) was 3-8x slower here
    layers = {"study_area": study_area}
    if residential is not None:
        parts = polygon_parts(residential.geometry).to_numpy()
        # only polygons that touch or overlap are unioned (the land is mostly apart blocks):
        # 2.2 -> 0.03 s on the 10x SYNTHETIC city, same area
        layers["residential"] = shapely.intersection(shapely.disjoint_subset_union_all(parts),
                                                     study_area)
    areas = covered.geometry.to_numpy()
    jobs = [(layer, area) for layer in layers.values() for area in areas]
    all_gaps = np.array(in_threads(lambda job: shapely.difference(*job), jobs, threads),
                        dtype=object)
    frames = []
    for i, (name, layer) in enumerate(layers.items()):
        gaps = all_gaps[i * areas.size:(i + 1) * areas.size]
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


def _reached_entries(distance: np.ndarray | sparse.spmatrix, limits: np.ndarray,
                     n_nodes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, node, distance) of every node within its row's limit, from a 1-D or 2-D array or a
    sparse matrix (missing entries unreached); columns beyond ``n_nodes`` are ignored."""
    if sparse.issparse(distance):
        coo = sparse.coo_matrix(distance)
        row, node, dist = coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data
    else:
        dense = np.atleast_2d(np.asarray(distance, dtype=np.float64))[:, :n_nodes]
        row, node = np.nonzero(dense <= limits[:, None])
        dist = dense[row, node]
    ok = (node < n_nodes) & (dist <= limits[row])
    return row[ok], node[ok], dist[ok]


def _incidence(network: WalkNetwork) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per node, its incident edges: (indptr, edge, end) with ``end`` 0 where the node is the
    edge's ``u`` and 1 where it is its ``v`` (CSR layout, cached per network)."""
    found = _INCIDENCE.get(network)
    if found is None:
        u = network.edges["u"].to_numpy()
        v = network.edges["v"].to_numpy()
        node = np.concatenate([u, v])
        order = np.argsort(node, kind="stable")
        indptr = np.zeros(network.n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(node, minlength=network.n_nodes), out=indptr[1:])
        edge = np.concatenate([np.arange(u.size), np.arange(v.size)])[order]
        end = np.concatenate([np.zeros(u.size, np.int8), np.ones(v.size, np.int8)])[order]
        found = _INCIDENCE[network] = (indptr, edge, end)
    return found


_INCIDENCE: weakref.WeakKeyDictionary[WalkNetwork, tuple[np.ndarray, np.ndarray, np.ndarray]] = (
    weakref.WeakKeyDictionary())


def _pieces(network: WalkNetwork, row: np.ndarray, node: np.ndarray, dist: np.ndarray,
            limits: np.ndarray, rates: tuple[np.ndarray, np.ndarray] | None = None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Reached pieces (source, edge, start, end) from the reached (row, node, distance) entries:
    each entry reaches into its node's incident edges (work follows the entries, never
    rows x edges); ``rates`` as in :func:`reached_segments`."""
    indptr, inc_edge, inc_end = _incidence(network)
    length = network.edges["length"].to_numpy()
    degree = indptr[node + 1] - indptr[node]
    entry = np.repeat(np.arange(node.size), degree)
    slot = np.arange(entry.size) - np.repeat(np.cumsum(degree) - degree, degree) + indptr[
        node][entry]
    edge, end = inc_edge[slot], inc_end[slot]
    source = row[entry]
    left = limits[source] - dist[entry]
    if rates is not None:  # walking toward u is the edge's v -> u direction, and back
        rate = np.where(end == 0, rates[1][edge], rates[0][edge])
        with np.errstate(invalid="ignore"):
            left = np.where(np.isinf(rate), 0.0, left / rate)
    reach = np.minimum(left, length[edge])
    # one row per (source, edge), ordered as the former row-major scan: reach from u and from v
    key = source * max(length.size, 1) + edge
    pairs, inverse = np.unique(key, return_inverse=True)
    inverse = inverse.reshape(-1)
    ok_u = np.zeros(pairs.size, dtype=bool)
    ok_v = np.zeros(pairs.size, dtype=bool)
    reach_u = np.zeros(pairs.size)
    reach_v = np.zeros(pairs.size)
    at_u, at_v = end == 0, end == 1
    ok_u[inverse[at_u]], reach_u[inverse[at_u]] = True, reach[at_u]
    ok_v[inverse[at_v]], reach_v[inverse[at_v]] = True, reach[at_v]
    row_of = pairs // max(length.size, 1)
    edge = pairs % max(length.size, 1)
    full = length[edge]
    whole = reach_u + reach_v >= full
    part_u = ~whole & ok_u & (reach_u > 0)
    part_v = ~whole & ok_v & (reach_v > 0)
    source = np.concatenate([row_of[whole], row_of[part_u], row_of[part_v]])
    edges = np.concatenate([edge[whole], edge[part_u], edge[part_v]])
    start = np.concatenate([np.zeros(whole.sum()), np.zeros(part_u.sum()),
                            full[part_v] - reach_v[part_v]])
    end_m = np.concatenate([full[whole], reach_u[part_u], full[part_v]])
    order = np.argsort(source, kind="stable")
    return source[order], edges[order], start[order], end_m[order]

