"""The distance engine against networkx on the same graph, and its invariants (hypothesis)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from scipy.sparse import csgraph

from lifecircle.coverage.engine import (
    FacilityAccess,
    NodeIndex,
    at_points,
    coverage_share,
    nearest_facility,
)
from lifecircle.layers.network import _assemble


def _networkx_distances(net, access: FacilityAccess) -> dict:
    """Independent computation: networkx Dijkstra from a super source over a DiGraph."""
    graph = nx.DiGraph()
    coo = net.graph.tocoo()
    graph.add_weighted_edges_from(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(),
                                      strict=True))
    for node, offset in zip(access.node.tolist(), access.offset_m.tolist(), strict=True):
        if not graph.has_edge("S", node) or graph["S"][node]["weight"] > offset:
            graph.add_edge("S", node, weight=offset)
    return nx.single_source_dijkstra_path_length(graph, "S")


def test_engine_equals_networkx_on_chengdu(chengdu_network, chengdu_facilities):
    facilities, _ = chengdu_facilities
    net = chengdu_network
    index = NodeIndex(net)
    schools = facilities[facilities["kind"] == "primary_school"]
    access = index.facility_access(schools.geometry.values, max_snap_m=300)
    ours = nearest_facility(net, access)
    expected = _networkx_distances(net, access)

    rng = np.random.default_rng(7)
    sample = rng.choice(np.flatnonzero(net.in_largest), size=500, replace=False)
    theirs = np.array([expected.get(int(n), np.inf) for n in sample])
    np.testing.assert_allclose(ours.distance_m[sample], theirs, atol=1e-6)

    # cells: snapped to their nearest node with the straight-line access distance added
    x = net.x[sample] + rng.uniform(-60, 60, sample.size)
    y = net.y[sample] + rng.uniform(-60, 60, sample.size)
    snap = index.snap(x, y, max_snap_m=300)
    cells = at_points(ours, snap)
    node_xy = np.column_stack([net.x[snap.node], net.y[snap.node]])
    np.testing.assert_allclose(snap.access_m, np.hypot(*(node_xy - np.column_stack([x, y])).T))
    np.testing.assert_allclose(cells.distance_m, ours.distance_m[snap.node] + snap.access_m)
    # the nearest facility named is the one whose own distance is the minimum
    fac = cells.facility[np.isfinite(cells.distance_m)]
    assert fac.min() >= 0 and fac.max() < len(schools)


def test_limit_bounds_the_search(chengdu_network, chengdu_facilities):
    facilities, _ = chengdu_facilities
    index = NodeIndex(chengdu_network)
    parks = facilities[facilities["kind"] == "park"]
    access = index.facility_access(parks.geometry.values, max_snap_m=300)
    full = nearest_facility(chengdu_network, access)
    bounded = nearest_facility(chengdu_network, access, limit_m=500)
    within = full.distance_m <= 500
    np.testing.assert_array_equal(bounded.distance_m[within], full.distance_m[within])
    assert np.isinf(bounded.distance_m[~within]).all()
    assert (bounded.facility[~within] == -1).all()


def test_snapping_beyond_max_is_unreachable(chengdu_network):
    index = NodeIndex(chengdu_network)
    far_x = np.array([chengdu_network.x.max() + 5000.0])
    snap = index.snap(far_x, np.array([chengdu_network.y.mean()]), max_snap_m=300)
    assert snap.node[0] == -1 and np.isinf(snap.access_m[0])


def test_polygon_access_points_are_entrances():
    """A square park touched by a street on one side gets that side's nodes as entrances."""
    x = np.arange(0, 501, 50, dtype=float)
    net = _assemble(np.arange(x.size), x, np.zeros_like(x), np.arange(x.size - 1),
                    np.arange(1, x.size), _crs(), densify_m=50)
    park = shapely.box(100, 5, 200, 105)  # 5 m north of the street
    access = NodeIndex(net).facility_access(np.array([park]), max_snap_m=300)
    assert sorted(net.x[access.node].tolist()) == [100.0, 150.0, 200.0]
    np.testing.assert_array_equal(access.offset_m, 0.0)
    near = nearest_facility(net, access)
    assert near.distance_m[net.x == 400][0] == pytest.approx(200.0)


def _crs():
    from pyproj import CRS

    return CRS.from_epsg(32648)


@st.composite
def random_graphs(draw):
    """Random planar-ish graphs with Euclidean edge lengths."""
    n = draw(st.integers(5, 40))
    xy = np.array(draw(st.lists(st.tuples(st.floats(0, 1000), st.floats(0, 1000)),
                                min_size=n, max_size=n)))
    m = draw(st.integers(n - 1, 3 * n))
    pairs = np.array(draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)),
                                   min_size=m, max_size=m)))
    return xy, pairs


def _graph_net(xy, pairs):
    keep = pairs[:, 0] != pairs[:, 1]
    return _assemble(np.arange(len(xy)), xy[:, 0].copy(), xy[:, 1].copy(), pairs[keep, 0],
                     pairs[keep, 1], _crs(), densify_m=1e9)


@settings(max_examples=60, deadline=None)
@given(random_graphs(), st.data())
def test_network_distance_at_least_straight_line(graph, data):
    xy, pairs = graph
    net = _graph_net(xy, pairs)
    src = data.draw(st.integers(0, net.n_nodes - 1))
    access = FacilityAccess(np.array([0]), np.array([src]), np.array([0.0]), 1)
    dist = nearest_facility(net, access).distance_m
    straight = np.hypot(net.x - net.x[src], net.y - net.y[src])
    finite = np.isfinite(dist)
    assert (dist[finite] >= straight[finite] - 1e-6).all()
    # and equals scipy's own single-source answer
    ref = csgraph.dijkstra(net.graph, directed=False, indices=src)
    np.testing.assert_allclose(dist[finite], ref[finite], atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(random_graphs(), st.data())
def test_adding_a_source_never_increases_distance(graph, data):
    xy, pairs = graph
    net = _graph_net(xy, pairs)
    n = net.n_nodes
    nodes = data.draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=6, unique=True))
    offsets = np.array(data.draw(st.lists(st.floats(0, 200), min_size=len(nodes),
                                          max_size=len(nodes))))
    k = len(nodes)
    fewer = FacilityAccess(np.arange(k - 1), np.array(nodes[:-1]), offsets[:-1], k)
    more = FacilityAccess(np.arange(k), np.array(nodes), offsets, k)
    d_fewer = nearest_facility(net, fewer).distance_m
    d_more = nearest_facility(net, more).distance_m
    assert (d_more <= d_fewer + 1e-9).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 5000), min_size=1, max_size=50), st.data())
def test_coverage_monotone_in_threshold(distances, data):
    dist = np.array(distances)
    weight = np.array(data.draw(st.lists(st.floats(0.1, 100), min_size=dist.size,
                                         max_size=dist.size)))
    t1 = data.draw(st.floats(0, 5000))
    t2 = data.draw(st.floats(t1, 6000))
    low, high = coverage_share(dist, weight, t1), coverage_share(dist, weight, t2)
    assert 0.0 <= low <= high <= 1.0


def test_coverage_of_zero_population_is_undefined():
    assert np.isnan(coverage_share(np.array([1.0]), np.array([0.0]), 10.0))


def test_duplicate_access_pairs_keep_the_shortest():
    x = np.array([0.0, 100.0])
    net = _assemble(np.arange(2), x, np.zeros(2), np.array([0]), np.array([1]), _crs(), 1e9)
    access = FacilityAccess(np.array([0, 0]), np.array([0, 0]), np.array([50.0, 5.0]), 1)
    assert nearest_facility(net, access).distance_m[1] == pytest.approx(105.0)
    assert sparse.issparse(net.graph)


def test_per_facility_distances_match_single_runs(chengdu_network, chengdu_facilities):
    from lifecircle.coverage.engine import per_facility_distances

    facilities, _ = chengdu_facilities
    index = NodeIndex(chengdu_network)
    clinics = facilities[facilities["kind"] == "market"]
    access = index.facility_access(clinics.geometry.values, max_snap_m=300)
    matrix = per_facility_distances(chengdu_network, access, limit_m=1500, batch=7).toarray()
    matrix[matrix == 0] = np.inf
    for f in range(len(clinics)):
        alone = nearest_facility(chengdu_network, access.subset(np.arange(len(clinics)) == f),
                                 limit_m=1500).distance_m
        np.testing.assert_allclose(matrix[f], alone, atol=1e-6)
    # the row-wise minimum is the multi-source answer
    both = nearest_facility(chengdu_network, access, limit_m=1500).distance_m
    np.testing.assert_allclose(matrix.min(axis=0), both, atol=1e-6)
