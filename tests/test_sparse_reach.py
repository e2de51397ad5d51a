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
