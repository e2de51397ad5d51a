"""Service circles and life-circle completeness: exact geometry on hand-made networks, invariants
on central Chengdu, and properties of completeness (hypothesis)."""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from pyproj import CRS
from scipy import sparse

from lifecircle.coverage.circles import (
    QUAD_SEGS,
    STREET_HALF_WIDTH_M,
    life_circle_completeness,
    minutes_to_m,
    reached_area,
    reached_segments,
    service_circles,
    street_strokes,
    uncovered_by_kind,
    union_by_kind,
)
from lifecircle.coverage.engine import NodeIndex, coverage_share, per_facility_distances
from lifecircle.layers.network import _assemble

CRS_M = CRS("EPSG:32648")


def _network(points: list[tuple[float, float]], pairs: list[tuple[int, int]],
             densify_m: float = 50.0):
    """A WalkNetwork from hand-placed nodes and straight ways between them."""
    xy = np.asarray(points, dtype=float)
    u, v = np.asarray(pairs).T
    return _assemble(np.arange(1, len(points) + 1), xy[:, 0], xy[:, 1], u, v, CRS_M, densify_m)


def _polygonal_disc_area(w: float) -> float:
    """Area of GEOS' round caps of a segment, together: a regular 4*QUAD_SEGS-gon of radius w."""
    return 2 * QUAD_SEGS * w * w * math.sin(math.pi / (2 * QUAD_SEGS))


@pytest.mark.parametrize("threshold", [1000.0, 1012.3])
def test_single_street_circle_is_a_stadium(threshold):
    net = _network([(0.0, 0.0), (2000.0, 0.0)], [(0, 1)])
    circles = service_circles(net, NodeIndex(net), np.array([shapely.Point(0, 0)]), [threshold])
    w = STREET_HALF_WIDTH_M
    area = circles.geometry.area.iloc[0]
    # the corridor: 2 w T plus the two round caps (a disc), exactly as GEOS draws the caps ...
    assert area == pytest.approx(2 * w * threshold + _polygonal_disc_area(w), rel=1e-9)
    # ... and the true stadium 2 w T + pi w^2 to 1e-3
    assert area == pytest.approx(2 * w * threshold + math.pi * w * w, rel=1e-3)
    minx, miny, maxx, maxy = circles.geometry.iloc[0].bounds
    assert (minx, miny, maxy) == pytest.approx((-w, -w, w))
    assert maxx == pytest.approx(threshold + w, abs=1e-6)


def test_facility_mid_street_reaches_both_ways():
    net = _network([(-3000.0, 0.0), (3000.0, 0.0)], [(0, 1)])
    circles = service_circles(net, NodeIndex(net), np.array([shapely.Point(0, 0)]), [700.0])
    w = STREET_HALF_WIDTH_M
    assert circles.geometry.area.iloc[0] == pytest.approx(
        2 * w * 1400.0 + _polygonal_disc_area(w), rel=1e-9)


def test_partial_edges_cut_at_the_exact_remaining_distance():
    # triangle A(0,0) B(40,0) C(40,30): AB 40, BC 30, CA 50; one edge per side
    net = _network([(0, 0), (40, 0), (40, 30)], [(0, 1), (1, 2), (2, 0)], densify_m=1000)
    dist = np.array([0.0, 40.0, 50.0])
    seg = reached_segments(net, dist, 45.0)
    pieces = {tuple(np.round(shapely.get_coordinates(g).ravel(), 9)) for g in seg.geometry}
    ab = (0.0, 0.0, 40.0, 0.0)
    ac = (0.0, 0.0, 36.0, 27.0)  # 45 of 50 m from A towards C
    bc = (40.0, 0.0, 40.0, 5.0)  # 5 m from B towards C
    normalised = {p if p[:2] <= p[2:] else p[2:] + p[:2] for p in pieces}
    assert normalised == {ab, ac, bc}
    assert sorted(seg.length_m) == pytest.approx([5.0, 40.0, 45.0])


def test_edge_reached_from_both_ends_keeps_its_gap():
    net = _network([(0, 0), (100, 0)], [(0, 1)], densify_m=1000)
    seg = reached_segments(net, np.array([0.0, 70.0]), 80.0)
    pieces = sorted(zip(seg.start_m.tolist(), seg.end_m.tolist(), strict=True))
    # two pieces, the 10 m in the middle unreached; compared flat, since pytest.approx takes no
    # nested data (a TypeError since pytest 9)
    assert len(pieces) == 2
    assert [m for piece in pieces for m in piece] == pytest.approx([0.0, 80.0, 90.0, 100.0])
    whole = reached_segments(net, np.array([0.0, 30.0]), 80.0)
    assert whole.start_m.tolist() == [0.0] and whole.end_m.tolist() == pytest.approx([100.0])


def test_dense_sparse_and_per_row_thresholds_agree():
    net = _network([(0, 0), (100, 0), (100, 100)], [(0, 1), (1, 2)], densify_m=1000)
    dense = np.array([[0.0, 100.0, 200.0], [np.inf, 0.0, 100.0]])
    limits = np.array([150.0, 50.0])
    a = reached_segments(net, dense, limits)
    as_sparse = sparse.csr_matrix(np.where(np.isfinite(dense), np.maximum(dense, 1e-9), 0.0))
    b = reached_segments(net, as_sparse, limits)
    for seg in (a, b):
        assert seg.source.tolist() == [0, 0, 1, 1]
        assert sorted(seg.length_m[seg.source == 0]) == pytest.approx([50.0, 100.0])
        assert sorted(seg.length_m[seg.source == 1]) == pytest.approx([50.0, 50.0])


def test_river_without_bridge_is_not_crossed_and_blocks_keep_holes():
    # two banks 100 m apart joined by one bridge at x=0; a 300 m grid block further on
    net = _network([(0, 0), (2000, 0), (0, 100), (2000, 100)], [(0, 1), (2, 3), (0, 2)])
    circle = service_circles(net, NodeIndex(net), np.array([shapely.Point(1000, 0)]),
                             [600.0]).geometry.iloc[0]
    assert circle.bounds[3] == pytest.approx(STREET_HALF_WIDTH_M)
    assert not circle.intersects(shapely.Point(1000, 100).buffer(STREET_HALF_WIDTH_M))

    grid = _network([(0, 0), (300, 0), (300, 300), (0, 300)], [(0, 1), (1, 2), (2, 3), (3, 0)])
    block = service_circles(grid, NodeIndex(grid), np.array([shapely.Point(0, 0)]),
                            [1200.0]).geometry.iloc[0]
    assert shapely.get_num_interior_rings(block) == 1
    assert not block.contains(shapely.Point(150, 150))


def test_minutes_to_metres():
    # the standard's circles are distances (GB 50180-2018), not a speed
    assert minutes_to_m([5, 10, 15]) == [300.0, 500.0, 1000.0]
    assert minutes_to_m([20]) == [1333.0]
    assert minutes_to_m([12], speed_m_per_min=80) == [960.0]


@pytest.fixture(scope="module")
def chengdu_circles(chengdu_network):
    net = chengdu_network
    rng = np.random.default_rng(3)
    nodes = rng.choice(np.flatnonzero(net.in_largest), 24, replace=False)
    # points beside the streets, so access distances are not zero
    points = shapely.points(net.x[nodes] + rng.uniform(-40, 40, nodes.size),
                            net.y[nodes] + rng.uniform(-40, 40, nodes.size))
    index = NodeIndex(net)
    thresholds = minutes_to_m([5, 10, 15])
    circles = service_circles(net, index, points, thresholds)
    return net, index, points, thresholds, circles


def test_chengdu_circles_are_nested(chengdu_circles):
    _, _, points, thresholds, circles = chengdu_circles
    table = circles.geometry.to_numpy().reshape(points.size, len(thresholds))
    for small, large in ((0, 1), (1, 2)):
        # nothing of the smaller circle outside the larger beyond floating-point slivers
        outside = shapely.area(shapely.difference(table[:, small], table[:, large]))
        assert np.all(outside <= 1e-9 * shapely.area(table[:, large]))
        assert np.all(shapely.area(table[:, small]) <= shapely.area(table[:, large]))
    assert np.all(shapely.area(table[:, 0]) > 0)


def test_chengdu_reached_nodes_lie_inside_their_circle(chengdu_circles):
    net, index, points, thresholds, circles = chengdu_circles
    access = index.facility_access(points, 300)
    dist = per_facility_distances(net, access, limit_m=max(thresholds)).tocoo()
    table = circles.geometry.to_numpy().reshape(points.size, len(thresholds))
    for k, threshold in enumerate(thresholds):
        ok = dist.data <= threshold
        nodes = shapely.points(net.x[dist.col[ok]], net.y[dist.col[ok]])
        assert np.all(shapely.dwithin(table[dist.row[ok], k], nodes, 1e-6))


def test_strokes_do_not_change_the_polygons(chengdu_circles):
    net, index, points, _, _ = chengdu_circles
    access = index.facility_access(points[:4], 300)
    seg = reached_segments(net, per_facility_distances(net, access, 700.0), 700.0)
    merged = reached_area(net, seg, 4, strokes=street_strokes(net))
    # independently: every piece its own strip, dissolved by GEOS per source
    plain = shapely.buffer(shapely.multilinestrings(seg.geometry, indices=seg.source),
                           STREET_HALF_WIDTH_M, quad_segs=QUAD_SEGS)
    # only the polygonal approximation of round joins and caps differs (<= 0.5 m at a corner)
    assert shapely.area(merged) == pytest.approx(shapely.area(plain), rel=1e-4)
    assert np.all(shapely.area(shapely.symmetric_difference(merged, plain))
                  < 1e-3 * shapely.area(merged))
    assert shapely.hausdorff_distance(merged, plain).max() < 0.5


def _stroke_ends(strokes, net):
    """Each edge's two ends read back from the stroke axis, and the nodes they must be."""
    length = net.edges["length"].to_numpy()
    v_at = strokes.u_at + np.where(strokes.forward, length, -length)
    u, v = net.edges["u"].to_numpy(), net.edges["v"].to_numpy()
    return (strokes.point_at(strokes.u_at), strokes.point_at(v_at),
            np.column_stack([net.x[u], net.y[u]]), np.column_stack([net.x[v], net.y[v]]))


def test_strokes_axis_puts_every_edge_between_its_nodes(chengdu_circles):
    net = chengdu_circles[0]
    got_u, got_v, want_u, want_v = _stroke_ends(street_strokes(net), net)
    # 0.1 mm: the axis runs over every stroke end to end (tens of km), summed segment by segment
    assert np.abs(got_u - want_u).max() < 1e-4
    assert np.abs(got_v - want_v).max() < 1e-4


def test_strokes_place_reversed_and_zero_length_edges():
    # a street with a zero-length edge in it (two nodes at one point, drawn 2 -> 1) and a
    # branch at the junction
    net = _network([(0, 0), (100, 0), (100, 0), (200, 0), (100, 100)],
                   [(0, 1), (2, 1), (2, 3), (1, 4)], densify_m=1e9)
    zero = int(np.flatnonzero(net.edges["length"].to_numpy() < 1e-3)[0])
    branch = int(np.flatnonzero(net.edges["v"].to_numpy() == 4)[0])
    strokes = street_strokes(net)
    got_u, got_v, want_u, want_v = _stroke_ends(strokes, net)
    assert np.abs(got_u - want_u).max() < 1e-9
    # (the network gives a zero-length edge a 1e-6 m length, so its far end is 1e-6 m along)
    assert np.abs(got_v - want_v).max() < 2e-6
    # the street is one stroke, the zero-length edge inside it; the branch is another
    street = np.setdiff1d(np.arange(4), [branch])
    assert np.unique(strokes.label[street]).size == 1
    assert strokes.label[zero] != strokes.label[branch]


def test_union_and_uncovered_by_kind(chengdu_circles):
    _, _, points, _, circles = chengdu_circles
    kinds = np.where(np.arange(points.size) % 2 == 0, "health_centre", "market")
    covered = union_by_kind(circles, kinds)
    assert len(covered) == 6 and set(covered["kind"]) == {"health_centre", "market"}
    area = shapely.box(*shapely.total_bounds(circles.geometry.to_numpy()))
    land = area.buffer(-800)
    residential = gpd.GeoDataFrame(geometry=[land, land.buffer(-100)], crs=circles.crs)
    gaps = uncovered_by_kind(covered, area, residential)
    for layer, total in (("study_area", area.area), ("residential", land.area)):
        rows = gaps[gaps["layer"] == layer]
        inside = shapely.area(shapely.intersection(covered.geometry.to_numpy(),
                                                   area if layer == "study_area" else land))
        np.testing.assert_allclose(rows["uncovered_m2"] + inside, total, rtol=1e-9)
        np.testing.assert_allclose(rows["uncovered_share"], rows["uncovered_m2"] / total)


@settings(max_examples=60, deadline=None)
@given(
    data=hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 40)),
                    elements=st.one_of(st.floats(0, 3000), st.just(np.inf))),
    weight_seed=st.integers(0, 2**31 - 1),
)
def test_completeness_never_exceeds_any_kind(data, weight_seed):
    kinds = ["kindergarten", "health_centre", "park", "market"][:data.shape[0]]
    data[:, 0] = 0.0  # every kind has data
    weight = np.random.default_rng(weight_seed).uniform(0, 100, data.shape[1])
    distances = dict(zip(kinds, data, strict=True))
    thresholds = {k: 300.0 + 200 * i for i, k in enumerate(kinds)}
    result = life_circle_completeness(distances, thresholds, weight, kinds)
    per_kind = [coverage_share(distances[k], weight, thresholds[k]) for k in kinds]
    assert result.value <= min(per_kind) + 1e-12
    assert np.all(result.kinds_reached == len(kinds) - np.bitwise_count(result.missing))
    names = result.missing_names()
    assert all((name == "") == (m == 0) for name, m in zip(names, result.missing, strict=True))


def test_missing_layer_is_excluded_with_a_warning():
    d = {"health_centre": np.array([100.0, 2000.0, 50.0]), "park": np.array([10.0, 10.0, 900.0]),
         "market": np.full(3, np.inf)}
    people = np.array([1.0, 2.0, 3.0])
    with pytest.warns(UserWarning, match="market"):
        result = life_circle_completeness(d, {"health_centre": 1000, "park": 500, "market": 500},
                                          people, ["health_centre", "park", "market", "sports"])
    assert result.missing_layers == ("market", "sports")
    assert result.kinds == ("health_centre", "park")
    assert result.value == pytest.approx(1 / 6)
    assert result.kinds_reached.tolist() == [2, 1, 1]
    assert result.missing_names().tolist() == ["", "health_centre", "park"]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        empty = life_circle_completeness({}, None, people, ["health_centre"])
    assert math.isnan(empty.value) and empty.reason.startswith("undefined")


def test_covered_cells_join_the_network_inside_their_kinds_union(chengdu_network,
                                                                 chengdu_facilities):
    """A cell counted as covered (walk <= threshold) joins the network at a node inside the
    union of its kind's circles. (The reverse holds only up to the street half-width: a node
    within 25 m of a reached street may itself be farther by the network.)"""
    from lifecircle.coverage.walk import kind_access

    facilities, _ = chengdu_facilities
    index = NodeIndex(chengdu_network)
    rng = np.random.default_rng(11)
    x = rng.uniform(chengdu_network.x.min(), chengdu_network.x.max(), 3000)
    y = rng.uniform(chengdu_network.y.min(), chengdu_network.y.max(), 3000)
    cells = index.snap(x, y, 300.0)
    for kind in ("primary_school", "market"):
        access = kind_access(index, facilities, cells, kind, 500.0, 300.0, 5000.0)
        geoms = facilities.geometry.values[(facilities["kind"] == kind).to_numpy()]
        drawn = service_circles(chengdu_network, index, geoms, [500.0])
        union = shapely.union_all(drawn.geometry.values)
        node_x = chengdu_network.x[cells.node[cells.reachable]]
        node_y = chengdu_network.y[cells.node[cells.reachable]]
        inside = shapely.intersects_xy(shapely.buffer(union, 1e-6), node_x, node_y)
        covered = access.nearest.distance_m[cells.reachable] <= 500.0
        assert covered.any()
        assert inside[covered].all()
