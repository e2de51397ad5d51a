"""The park figures' city-scale geometry (issue 20) against the computation it replaced.

The reference below is the earlier code, kept verbatim in spirit: the residential land
dissolved by one ``union_all`` and every land polygon intersected with (and differenced from)
the whole union of zones. The rewrite dices the union and unions only overlapping land; every
Chengdu figure must stay the same: shares to 1e-9, areas to 0.01 %.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from scipy import sparse

from lifecircle.coverage import park_geometry
from lifecircle.coverage.engine import NodeIndex
from lifecircle.coverage.park_geometry import dice, dissolve_land, split_land
from lifecircle.coverage.parks import (
    park_service_radius_coverage,
    park_service_radius_coverage_walk,
    parks_from_features,
)
from lifecircle.layers.landuse import dissolve, residential_land


def _reference(result, land: gpd.GeoDataFrame) -> dict[str, float]:
    """The earlier computation of a ParkCoverage's areas from its zone union."""
    dissolved = dissolve(land.geometry).to_numpy()
    total = float(shapely.area(dissolved).sum())
    covered = float(shapely.area(shapely.intersection(dissolved, result.zone)).sum())
    uncovered = float(shapely.area(shapely.difference(dissolved, result.zone)).sum())
    return {"value": covered / total, "residential_ha": total / 1e4, "covered_ha": covered / 1e4,
            "uncovered_ha": uncovered / 1e4}


def _check(result, land: gpd.GeoDataFrame) -> None:
    ref = _reference(result, land)
    assert result.value == pytest.approx(ref["value"], abs=1e-9)
    for key in ("residential_ha", "covered_ha", "uncovered_ha"):
        assert getattr(result, key) == pytest.approx(ref[key], rel=1e-4)
    layer = result.residential
    assert layer.loc[layer["covered"], "area_m2"].sum() / 1e4 == pytest.approx(
        ref["covered_ha"], rel=1e-4)
    assert layer.loc[~layer["covered"], "area_m2"].sum() / 1e4 == pytest.approx(
        ref["uncovered_ha"], rel=1e-4)


@pytest.fixture(scope="module")
def chengdu(chengdu_extract, chengdu_network, chengdu_facilities):
    facilities, _ = chengdu_facilities
    land = residential_land(chengdu_extract.features, chengdu_network.crs)
    return chengdu_network, facilities[facilities["kind"] == "park"], land


@pytest.mark.parametrize("max_coords", [park_geometry.MAX_TILE_COORDS, 200])
def test_chengdu_park_figures_equal_the_earlier_computation(chengdu, chengdu_extract,
                                                            monkeypatch, max_coords):
    # 200 vertices per tile forces the diced path on the small Chengdu union as well
    monkeypatch.setattr(park_geometry, "MAX_TILE_COORDS", max_coords)
    net, parks, land = chengdu
    index = NodeIndex(net)
    _check(park_service_radius_coverage(parks, land), land)
    _check(park_service_radius_coverage_walk(parks, land, net, index, max_snap_m=300.0), land)
    spaces = parks_from_features(chengdu_extract.features, net.crs, "activity-space-2021")
    _check(park_service_radius_coverage(spaces, land, "activity-space-2021"), land)


def _blobs(seed: int, n: int, size: float = 1000.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(0, size, (2, n))
    return shapely.buffer(shapely.points(x, y), rng.uniform(5, 80, n), quad_segs=16)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_split_land_equals_intersection_and_difference(seed):
    land = _blobs(seed, 300)
    land = dissolve_land(gpd.GeoSeries(land))
    union = shapely.union_all(_blobs(seed + 10, 200))
    inside, outside = split_land(land, union, max_coords=150)
    assert len(inside) == len(outside) == len(land)
    np.testing.assert_allclose(shapely.area(inside),
                               shapely.area(shapely.intersection(land, union)), atol=1e-6)
    np.testing.assert_allclose(shapely.area(outside),
                               shapely.area(shapely.difference(land, union)), atol=1e-6)
    # each land polygon is whole again: its covered and uncovered parts tile it
    np.testing.assert_allclose(shapely.area(inside) + shapely.area(outside), shapely.area(land),
                               atol=1e-6)
    assert shapely.is_valid(inside).all() and shapely.is_valid(outside).all()


def test_dice_partitions_the_geometry():
    shape = shapely.union_all(_blobs(5, 120))
    bounds = shapely.bounds(shape)
    rects, pieces = dice(shape, tuple(bounds), max_coords=100)
    assert rects.size > 4
    assert shapely.get_num_coordinates(pieces).max() <= 100 or rects.size > 50
    # the rectangles tile the box without overlap, and the pieces add up to the shape
    box = shapely.box(*bounds)
    assert shapely.area(rects).sum() == pytest.approx(box.area, rel=1e-12)
    assert shapely.area(shapely.union_all(rects)) == pytest.approx(box.area, rel=1e-12)
    assert shapely.area(pieces).sum() == pytest.approx(shape.area, rel=1e-12)


def test_dissolve_land_counts_no_area_twice():
    squares = [shapely.box(0, 0, 2, 2), shapely.box(1, 1, 3, 3), shapely.box(3, 0, 4, 1),
               shapely.box(10, 10, 11, 11), shapely.box(10, 10, 11, 11)]
    land = dissolve_land(gpd.GeoSeries(squares))
    # 7 (the two overlapping squares) + 1 (touching, kept apart) + 1 (the duplicate, once)
    assert shapely.area(land).sum() == pytest.approx(9.0)
    assert shapely.area(shapely.union_all(land)) == pytest.approx(9.0)
    assert all(g.geom_type == "Polygon" for g in land)


def _cells(land: gpd.GeoDataFrame, size: float = 150.0):
    x0, y0, x1, y1 = land.total_bounds
    gx, gy = np.meshgrid(np.arange(x0, x1, size) + size / 2, np.arange(y0, y1, size) + size / 2)
    keep = shapely.contains_xy(shapely.union_all(land.geometry.to_numpy()), gx, gy)
    return gx[keep], gy[keep], np.ones(int(keep.sum()))


def test_a_cost_equal_to_the_flat_network_changes_no_park_figure(chengdu):
    from lifecircle.coverage.parks import park_service_radius_coverage_population
    from lifecircle.layers.walking import WalkCost

    net, parks, land = chengdu
    index = NodeIndex(net)
    flat = WalkCost(graph=net.graph.tocsr(), n_network_nodes=net.n_nodes)
    x, y, w = _cells(land)
    for cost in (None, flat):
        walk = park_service_radius_coverage_walk(parks, land, net, index, max_snap_m=300.0,
                                                 cost=cost)
        people = park_service_radius_coverage_population(parks, net, x, y, w, index,
                                                         max_snap_m=300.0, cost=cost)
        if cost is None:
            base_walk, base_people = walk, people
    assert walk.value == pytest.approx(base_walk.value, abs=1e-9)
    assert walk.covered_ha == pytest.approx(base_walk.covered_ha, rel=1e-4)
    np.testing.assert_array_equal(people.within, base_people.within)


def test_park_population_walks_on_the_directed_cost(chengdu):
    """Walks costing 1.5x uphill-or-not (a directed graph: a -> b 1.5x, b -> a 1x on half the
    edges) against a brute-force search per park on the reversed graph, from its access nodes."""
    from scipy.sparse.csgraph import dijkstra

    from lifecircle.coverage.parks import classify_parks, park_service_radius_coverage_population
    from lifecircle.layers.walking import WalkCost

    net, parks, land = chengdu
    index = NodeIndex(net)
    coo = net.graph.tocoo()
    factor = np.where(coo.row < coo.col, 1.5, 1.0)
    graph = sparse.csr_matrix((coo.data * factor, (coo.row, coo.col)), shape=coo.shape)
    cost = WalkCost(graph=graph, n_network_nodes=net.n_nodes)
    x, y, w = _cells(land)
    people = park_service_radius_coverage_population(parks, net, x, y, w, index,
                                                     max_snap_m=300.0, cost=cost)
    flat = park_service_radius_coverage_population(parks, net, x, y, w, index,
                                                   max_snap_m=300.0)
    # brute force: each park alone, walks home -> park = searches from the park on graph.T
    table = classify_parks(parks)
    radius = table["radius_m"].to_numpy()
    access = index.facility_access(table.geometry.to_numpy(), 300.0)
    snap = index.snap(x, y, 300.0)
    within = np.zeros(x.size, dtype=bool)
    reversed_graph = graph.T.tocsr()
    for park in np.flatnonzero(radius > 0):
        mine = access.facility == park
        if not mine.any():
            continue
        d = dijkstra(reversed_graph, indices=access.node[mine], limit=radius[park])
        best = (d + access.offset_m[mine][:, None]).min(axis=0)
        ok = snap.node >= 0
        reach = np.full(x.size, np.inf)
        reach[ok] = best[snap.node[ok]] + snap.access_m[ok]
        within |= reach <= radius[park]
    np.testing.assert_array_equal(people.within, within)
    assert people.value <= flat.value and (people.within != flat.within).any()


@pytest.mark.parametrize("max_coords", [park_geometry.MAX_TILE_COORDS, 150])
def test_uncovered_by_kind_equals_the_earlier_overlay(monkeypatch, max_coords):
    """Gaps of residential land and of the study area outside each kind's area, against the
    earlier computation: one union of the land, one difference per kind."""
    import pandas as pd

    from lifecircle.coverage.circles import uncovered_by_kind

    monkeypatch.setattr(park_geometry, "MAX_TILE_COORDS", max_coords)
    area = shapely.box(0, 0, 1000, 1000)
    land = gpd.GeoDataFrame(geometry=list(_blobs(3, 150, 1100)), crs="EPSG:32648")
    covered = gpd.GeoDataFrame(
        {"kind": ["a", "b"], "threshold_m": [300.0, 500.0]},
        geometry=[shapely.union_all(_blobs(seed, 60)) for seed in (7, 8)], crs="EPSG:32648")
    gaps = uncovered_by_kind(covered, area, land)
    whole = shapely.intersection(shapely.union_all(dissolve(land.geometry).to_numpy()), area)
    for layer, total in (("study_area", area), ("residential", whole)):
        rows = gaps[gaps["layer"] == layer].reset_index(drop=True)
        old = shapely.difference(total, covered.geometry.to_numpy())
        np.testing.assert_allclose(rows["total_m2"], total.area, rtol=1e-9)
        np.testing.assert_allclose(rows["uncovered_m2"], shapely.area(old), rtol=1e-9)
        np.testing.assert_allclose(shapely.area(shapely.symmetric_difference(
            shapely.make_valid(rows.geometry.to_numpy()), old)), 0.0, atol=1e-6)
        assert isinstance(rows, pd.DataFrame) and list(rows["kind"]) == ["a", "b"]
