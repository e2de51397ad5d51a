"""Work proportional to what is reached: the tiled per-facility search, the sparse reached
segments, the per-kind covered area from one multi-source pass and the rasterised catchment
polygons give the same answers as the dense computations they replaced (kept here as the
independent reference)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS
from scipy import sparse
from scipy.sparse import csgraph

from lifecircle.coverage.engine import (
    FacilityAccess,
    NodeIndex,
    augmented_graph,
    nearest_facility,
    per_facility_distances,
)
from lifecircle.layers.network import _assemble


def dense_per_facility(network, access, limit_m, batch=256):
    """The former implementation: dense (batch x n_nodes) rows over the whole graph."""
    n = network.n_nodes
    if access.node.size == 0:
        return sparse.csr_matrix((access.n_facilities, n))
    graph, sources = augmented_graph(network, access)
    rows, cols, vals = [], [], []
    for start in range(0, sources.size, batch):
        stop = min(start + batch, sources.size)
        dist = csgraph.dijkstra(graph, directed=True, indices=np.arange(n + start, n + stop),
                                limit=limit_m)[:, :n]
        r, c = np.nonzero(np.isfinite(dist))
        rows.append(sources[start + r])
        cols.append(c)
        vals.append(np.maximum(dist[r, c], 1e-9))
    return sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(access.n_facilities, n))


def assert_same_matrix(new, old, atol=1e-9):
    new, old = new.tocsr(), old.tocsr()
    new.sort_indices()
    old.sort_indices()
    np.testing.assert_array_equal(new.indptr, old.indptr)
    np.testing.assert_array_equal(new.indices, old.indices)
    np.testing.assert_allclose(new.data, old.data, rtol=0, atol=atol)


@pytest.mark.parametrize("limit_m", [300.0, 1000.0, 2000.0])
def test_tiled_search_equals_dense_on_chengdu(chengdu_network, chengdu_facilities, limit_m):
    facilities, _ = chengdu_facilities
    access = NodeIndex(chengdu_network).facility_access(facilities.geometry.values, 300.0)
    assert_same_matrix(per_facility_distances(chengdu_network, access, limit_m),
                       dense_per_facility(chengdu_network, access, limit_m))


def random_network(seed, n_side, drop):
    rng = np.random.default_rng(seed)
    col, row = np.meshgrid(np.arange(n_side), np.arange(n_side))
    x = col.ravel() * 60.0 + rng.uniform(-25, 25, col.size)
    y = row.ravel() * 60.0 + rng.uniform(-25, 25, col.size)
    idx = np.arange(col.size).reshape(n_side, n_side)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel(), idx[:-1, :-1].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel(), idx[1:, 1:].ravel()])
    keep = rng.random(u.size) >= drop
    return _assemble(np.arange(col.size), x, y, u[keep], v[keep], CRS.from_epsg(32648), 1e9), rng


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n_side=st.integers(2, 25), drop=st.floats(0, 0.6),
       n_fac=st.integers(1, 30), limit=st.floats(1.0, 2500.0), batch=st.integers(1, 9))
def test_tiled_search_equals_dense_on_random_graphs(seed, n_side, drop, n_fac, limit, batch):
    net, rng = random_network(seed, n_side, drop)
    n_points = n_fac + rng.integers(0, 2 * n_fac + 1)  # several access points per facility
    facility = np.r_[np.arange(n_fac), rng.integers(0, n_fac, n_points - n_fac)]
    node = rng.integers(0, net.n_nodes, n_points)
    offset = rng.choice([0.0, 0.0, 10.0, 150.0, 5000.0], n_points)
    access = FacilityAccess(facility, node, offset, n_fac + 2)  # two facilities never reached
    assert_same_matrix(per_facility_distances(net, access, limit, batch=batch),
                       dense_per_facility(net, access, limit))


def test_unbounded_search_equals_dense():
    net, rng = random_network(3, 12, 0.2)
    access = FacilityAccess(np.arange(5), rng.integers(0, net.n_nodes, 5), np.zeros(5), 5)
    assert_same_matrix(per_facility_distances(net, access, np.inf),
                       dense_per_facility(net, access, np.inf))


def dense_pieces(network, dist, limits):
    """The former reached-segment scan: dense (rows x edges) comparisons."""
    u = network.edges["u"].to_numpy()
    v = network.edges["v"].to_numpy()
    length = network.edges["length"].to_numpy()
    from_u = dist[:, u] <= limits[:, None]
    from_v = dist[:, v] <= limits[:, None]
    row, edge = np.nonzero(from_u | from_v)
    full = length[edge]
    ok_u, ok_v = from_u[row, edge], from_v[row, edge]
    reach_u = np.where(ok_u, np.minimum(limits[row] - dist[row, u[edge]], full), 0.0)
    reach_v = np.where(ok_v, np.minimum(limits[row] - dist[row, v[edge]], full), 0.0)
    whole = reach_u + reach_v >= full
    part_u = ~whole & ok_u & (reach_u > 0)
    part_v = ~whole & ok_v & (reach_v > 0)
    source = np.concatenate([row[whole], row[part_u], row[part_v]])
    edges = np.concatenate([edge[whole], edge[part_u], edge[part_v]])
    start = np.concatenate([np.zeros(whole.sum()), np.zeros(part_u.sum()),
                            full[part_v] - reach_v[part_v]])
    end = np.concatenate([full[whole], reach_u[part_u], full[part_v]])
    order = np.argsort(source, kind="stable")
    return source[order], edges[order], start[order], end[order]


def test_sparse_segments_equal_dense_scan_on_chengdu(chengdu_network, chengdu_facilities):
    from lifecircle.coverage.circles import reached_segments

    facilities, _ = chengdu_facilities
    access = NodeIndex(chengdu_network).facility_access(facilities.geometry.values[:120], 300.0)
    matrix = per_facility_distances(chengdu_network, access, 1000.0)
    limits = np.random.default_rng(0).choice([300.0, 500.0, 1000.0], matrix.shape[0])
    dense = np.full(matrix.shape, np.inf)
    coo = matrix.tocoo()
    dense[coo.row, coo.col] = coo.data
    want = dense_pieces(chengdu_network, dense, limits)
    got = reached_segments(chengdu_network, matrix, limits)
    for a, b in zip((got.source, got.edge, got.start_m, got.end_m), want, strict=True):
        np.testing.assert_array_equal(a, b)
    # a 1-D distance array (nearest distances) gives the same pieces as its dense scan
    nearest = nearest_facility(chengdu_network, access, 1000.0).distance_m
    one = reached_segments(chengdu_network, nearest, 500.0)
    ref = dense_pieces(chengdu_network, nearest[None, :], np.array([500.0]))
    np.testing.assert_array_equal(one.edge, ref[1])
    np.testing.assert_array_equal(one.end_m, ref[3])


@pytest.mark.parametrize(("kind", "threshold"), [("kindergarten", 300.0), ("hospital", 1000.0),
                                                  ("park", 500.0)])
def test_covered_area_from_nearest_equals_union_of_circles(chengdu_network, chengdu_facilities,
                                                           kind, threshold):
    from lifecircle.coverage.circles import covered_by_kind, service_circles, union_by_kind

    facilities, _ = chengdu_facilities
    geoms = facilities.loc[facilities["kind"] == kind].geometry.values
    index = NodeIndex(chengdu_network)
    circles = service_circles(chengdu_network, index, geoms, [threshold], max_snap_m=300.0)
    old = union_by_kind(circles, np.full(geoms.size, kind, dtype=object))
    nearest = nearest_facility(chengdu_network, index.facility_access(geoms, 300.0), threshold)
    new = covered_by_kind(chengdu_network, {kind: nearest.distance_m}, {kind: [threshold]})
    assert new["kind"].tolist() == [kind] and new["threshold_m"].tolist() == [threshold]
    a_old, a_new = float(old["area_m2"].iloc[0]), float(new["area_m2"].iloc[0])
    assert a_new == pytest.approx(a_old, rel=1e-4)
    # the same area, not only the same amount: the symmetric difference is arc round-off
    diff = shapely.area(shapely.symmetric_difference(old.geometry.iloc[0], new.geometry.iloc[0]))
    assert diff <= 1e-4 * a_old


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rasterised_catchments_equal_dissolved_squares(seed):
    import geopandas as gpd
    import pandas as pd

    from lifecircle.coverage.catchments import POLYGON_COLUMNS, catchment_polygons
    from lifecircle.layers.population import PopulationGrid

    rng = np.random.default_rng(seed)
    size = 100.0
    col, row = np.meshgrid(np.arange(40), np.arange(30))
    keep = rng.random(col.size) < 0.8  # holes and gaps, as cells without people
    x = 400_050.0 + col.ravel()[keep] * size
    y = 3_380_050.0 + row.ravel()[keep] * size
    # nearest-facility labels in patches (Voronoi of 12 seeds), some cells unreached
    sx, sy = rng.uniform(x.min(), x.max(), 12), rng.uniform(y.min(), y.max(), 12)
    label = np.argmin(np.hypot(x[:, None] - sx, y[:, None] - sy), axis=1)
    label[rng.random(label.size) < 0.1] = -1
    grid = PopulationGrid(x, y, np.ones(x.size), size, CRS.from_epsg(32648), "modelled:test")
    table = pd.DataFrame({c: np.arange(12) for c in POLYGON_COLUMNS})
    got = catchment_polygons(grid, label, table)
    squares = gpd.GeoDataFrame({"row": label[label >= 0]},
                               geometry=grid.cell_polygons().values[label >= 0])
    want = squares.dissolve(by="row")
    np.testing.assert_array_equal(got["fid"].to_numpy(), want.index.to_numpy())
    np.testing.assert_allclose(shapely.area(got.geometry.values),
                               shapely.area(want.geometry.values), rtol=1e-12)
    assert shapely.area(shapely.symmetric_difference(got.geometry.values,
                                                     want.geometry.values)).max() < 1e-6
    # cells counted by area: each catchment is its cells' squares
    np.testing.assert_allclose(shapely.area(got.geometry.values),
                               np.bincount(label[label >= 0], minlength=12)[want.index] * size**2)
