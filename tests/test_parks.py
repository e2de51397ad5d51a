"""Park service-radius coverage: hand-computed answers, invalid and overlapping inputs, walking vs
straight-line and monotonicity properties (hypothesis), and central Chengdu."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS

from lifecircle.coverage.engine import NodeIndex
from lifecircle.coverage.parks import (
    BUFFER_QUAD_SEGS,
    NOT_COUNTED,
    UNDEFINED_NO_RESIDENTIAL,
    classify_parks,
    park_service_radius_coverage,
    park_service_radius_coverage_population,
    park_service_radius_coverage_walk,
    park_tiers,
    parks_from_features,
)
from lifecircle.errors import InputError
from lifecircle.layers.network import _assemble

CRS_M = CRS("EPSG:32648")

# residential strip [0, 2000] x [0, 200]; every park spans the strip's full height, so each
# buffer cuts it along a straight line x = const (the round corners fall outside the strip)
STRIP = shapely.box(0, 0, 2000, 200)
PARK_A = shapely.box(-80, 0, -50, 200)        # 6,000 m² -> 500 m: covers x in [0, 450]
PARK_B = shapely.box(1000, 0, 1012.5, 200)    # 2,500 m² -> 300 m: covers x in [700, 1312.5]
PARK_C = shapely.box(1800, 0, 1807.5, 200)    # 1,500 m²: does not count (300 m if historic)
PARK_E = shapely.box(300, 0, 312.5, 200)      # 2,500 m² -> 300 m: covers x in [0, 612.5]


def _frame(geoms, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=list(geoms), crs=CRS_M)


def _parks(*geoms) -> gpd.GeoDataFrame:
    return _frame(geoms, fid=[f"p{i}" for i in range(len(geoms))],
                  name=[f"park {i}" for i in range(len(geoms))])


def test_hand_computed_official_figure():
    result = park_service_radius_coverage(_parks(PARK_A, PARK_B, PARK_C), _frame([STRIP]),
                                          target_share=0.86)
    assert result.value == pytest.approx((450 + 612.5) / 2000, abs=1e-6)
    assert result.covered_ha == pytest.approx(21.25) and result.residential_ha == pytest.approx(40)
    assert result.to_target_ha == pytest.approx((0.86 * 400_000 - 212_500) / 1e4)
    assert result.tier_counts == {"park_5000": 1, "park_2000": 1, "historic_1000": 0,
                                  NOT_COUNTED: 1}
    table = result.parks.set_index("fid")
    assert table["tier"].tolist() == ["park_5000", "park_2000", NOT_COUNTED]
    assert table["radius_m"].tolist() == [500, 300, 0]
    assert table["covered_m2"].tolist() == pytest.approx([90_000, 122_500, 0])
    assert table["unique_m2"].tolist() == pytest.approx([90_000, 122_500, 0])
    parts = result.residential
    assert parts.loc[parts["covered"], "area_m2"].sum() == pytest.approx(212_500)
    assert parts["area_m2"].sum() == pytest.approx(400_000)


def test_historic_district_counts_a_small_park():
    historic = _frame([shapely.box(1700, -100, 1900, 300)])
    result = park_service_radius_coverage(_parks(PARK_A, PARK_B, PARK_C), _frame([STRIP]),
                                          historic=historic)
    assert result.value == pytest.approx((450 + 612.5 + 500) / 2000, abs=1e-6)
    assert result.tier_counts["historic_1000"] == 1


def test_unique_contribution_of_overlapping_parks():
    result = park_service_radius_coverage(_parks(PARK_A, PARK_B, PARK_E), _frame([STRIP]))
    assert result.value == pytest.approx((612.5 + 612.5) / 2000, abs=1e-6)
    table = result.parks
    assert table["covered_m2"].tolist() == pytest.approx([90_000, 122_500, 122_500])
    # A lies wholly inside E's zone; E alone covers x in [450, 612.5]
    assert table["unique_m2"].tolist() == pytest.approx([0, 122_500, 32_500], abs=1e-6)


def test_overlapping_land_and_bow_tie_park_change_nothing_but_the_valid_area():
    overlapping = _frame([shapely.box(0, 0, 1200, 200), shapely.box(800, 0, 2000, 200),
                          shapely.box(100, 50, 300, 150)])
    # a self-intersecting ring: shoelace area 0, valid parts two 1,500 m² triangles -> 300 m
    bow_tie = shapely.Polygon([(-80, 0), (-50, 200), (-50, 0), (-80, 200)])
    assert not bow_tie.is_valid
    repaired = shapely.make_valid(bow_tie)
    result = park_service_radius_coverage(_parks(bow_tie, PARK_B, PARK_C), overlapping)
    reference = park_service_radius_coverage(_parks(repaired, PARK_B, PARK_C), _frame([STRIP]))
    assert result.residential_ha == pytest.approx(40)
    assert result.parks["area_m2"].iloc[0] == pytest.approx(3000)
    assert result.parks["tier"].iloc[0] == "park_2000"
    # the right triangle's vertical side at x = -50 is buffered to x = 250 across the strip
    assert result.value == pytest.approx((250 + 612.5) / 2000, abs=1e-6)
    assert result.value == pytest.approx(reference.value, abs=1e-12)


def test_tier_boundaries():
    spec = park_tiers("gbt50563-2010")
    area = np.array([5000, 4999.9, 2000, 1999.9, 1000, 6000, 999])
    tier, radius = spec.assign(area, np.array([False] * 4 + [True, True, True]))
    names = [spec.tiers[t].name if t >= 0 else NOT_COUNTED for t in tier]
    assert names == ["park_5000", "park_2000", "park_2000", NOT_COUNTED, "historic_1000",
                     "park_5000", NOT_COUNTED]
    assert radius.tolist() == [500, 300, 300, 0, 300, 500, 0]
    with pytest.raises(InputError, match="unknown preset"):
        park_tiers("gbt-1999")


def test_no_residential_land_is_undefined_not_an_error():
    grid = _grid(4, 4, 100.0)
    empty = _frame([])
    for result in (park_service_radius_coverage(_parks(PARK_A), empty),
                   park_service_radius_coverage_walk(_parks(PARK_A), empty, grid)):
        assert math.isnan(result.value) and result.reason == UNDEFINED_NO_RESIDENTIAL
        assert result.residential.empty and result.to_target_ha is None
    people = park_service_radius_coverage_population(_parks(PARK_A), grid, [], [], [])
    assert math.isnan(people.value) and people.reason is not None


def _grid(nx: int, ny: int, spacing: float):
    """A walk network on a regular grid with its origin at (0, 0)."""
    ix, iy = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    node = ix * ny + iy
    right = np.column_stack([node[:-1, :].ravel(), node[1:, :].ravel()])
    up = np.column_stack([node[:, :-1].ravel(), node[:, 1:].ravel()])
    u, v = np.concatenate([right, up]).T
    return _assemble(np.arange(1, nx * ny + 1), ix.ravel() * spacing, iy.ravel() * spacing, u, v,
                     CRS_M, 50.0)


grid_case = st.fixed_dictionaries({
    "n": st.integers(5, 12),
    "spacing": st.sampled_from([60.0, 100.0, 150.0]),
    # parks: a block of the grid (i, j, width, height in blocks) -> access points on its boundary
    "parks": st.lists(st.tuples(st.integers(0, 10), st.integers(0, 10), st.integers(1, 2),
                                st.integers(1, 2)), min_size=1, max_size=3),
    "homes": st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(20, 300),
                                st.floats(20, 300)), min_size=1, max_size=4),
})


def _case(case: dict):
    n, s = case["n"], case["spacing"]
    net = _grid(n, n, s)
    parks = [shapely.box(i * s, j * s, min(i + w, n - 1) * s, min(j + h, n - 1) * s)
             for i, j, w, h in case["parks"] if i < n - 1 and j < n - 1]
    size = (n - 1) * s
    homes = [shapely.box(fx * size, fy * size, fx * size + w, fy * size + h)
             for fx, fy, w, h in case["homes"]]
    return net, parks, _frame(homes)


@settings(max_examples=25, deadline=None)
@given(case=grid_case)
def test_walking_never_covers_more_than_the_straight_line(case):
    net, parks, homes = _case(case)
    if not parks:
        return
    straight = park_service_radius_coverage(_parks(*parks), homes)
    walk = park_service_radius_coverage_walk(_parks(*parks), homes, net)
    assert 0 <= walk.value <= straight.value + 1e-9
    assert np.all(walk.parks["covered_m2"] <= straight.parks["covered_m2"] + 1e-6)


@settings(max_examples=15, deadline=None)
@given(case=grid_case, extra=st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(40, 200)))
def test_adding_a_park_never_lowers_a_figure(case, extra):
    net, parks, homes = _case(case)
    size = (case["n"] - 1) * case["spacing"]
    fx, fy, side = extra
    more = [*parks, shapely.box(fx * size, fy * size, fx * size + side, fy * size + side)]
    centres = shapely.get_coordinates(shapely.centroid(homes.geometry.to_numpy()))
    people = np.full(len(centres), 10.0)
    index = NodeIndex(net)
    before, after = (
        (park_service_radius_coverage(_parks(*p), homes).value,
         park_service_radius_coverage_walk(_parks(*p), homes, net, index).value,
         park_service_radius_coverage_population(_parks(*p), net, centres[:, 0], centres[:, 1],
                                                 people, index).value)
        for p in (parks, more)
    )
    for b, a in zip(before, after, strict=True):
        # walking areas: arcs are polygons, so allow floating-point noise of 1e-9 of the land
        assert a >= b - 1e-9


def test_chengdu_three_figures(chengdu_extract, chengdu_network, chengdu_facilities):
    from lifecircle.layers.landuse import residential_land

    net = chengdu_network
    facilities, _ = chengdu_facilities
    parks = facilities[facilities["kind"] == "park"]
    land = residential_land(chengdu_extract.features, net.crs)
    index = NodeIndex(net)
    standard = park_service_radius_coverage(parks, land, target_share=0.86)
    walk = park_service_radius_coverage_walk(parks, land, net, index, target_share=0.86)
    # population: 100 m cells over the residential land, people in proportion to its area
    cells = _cells_over(land, 100.0)
    people = park_service_radius_coverage_population(
        parks, net, cells[0], cells[1], cells[2], index)
    for value in (standard.value, walk.value, people.value):
        assert 0 < value < 1
    assert walk.value <= standard.value
    assert standard.tier_counts["park_5000"] + standard.tier_counts["park_2000"] > 0
    assert sum(standard.tier_counts.values()) == len(parks)
    assert standard.to_target_ha > 0
    counted = standard.parks["radius_m"] > 0
    assert standard.parks.loc[counted, "covered_m2"].sum() >= standard.covered_ha * 1e4 - 1e-3

    # unique contribution against a brute-force difference, for the three largest contributors
    table = classify_parks(parks)
    zones = shapely.buffer(table.geometry.to_numpy(), table["radius_m"].to_numpy(),
                           quad_segs=BUFFER_QUAD_SEGS)
    everything = shapely.union_all(land.geometry.to_numpy())
    for i in standard.parks["unique_m2"].nlargest(3).index:
        others = shapely.union_all(np.delete(zones[counted.to_numpy()],
                                             np.flatnonzero(np.flatnonzero(counted) == i)))
        alone = shapely.difference(shapely.intersection(zones[i], everything), others)
        assert standard.parks["unique_m2"][i] == pytest.approx(alone.area, rel=1e-6)

    activity = parks_from_features(chengdu_extract.features, net.crs, "activity-space-2021")
    wider = park_service_radius_coverage(activity, land, "activity-space-2021")
    assert len(activity) >= len(parks) and wider.value >= standard.value - 1e-9


def _cells_over(land: gpd.GeoDataFrame, size: float) -> tuple[np.ndarray, ...]:
    """Cell centres of a regular grid over the land with people = land area in the cell."""
    x0, y0, x1, y1 = land.total_bounds
    gx, gy = np.meshgrid(np.arange(x0, x1, size) + size / 2, np.arange(y0, y1, size) + size / 2)
    boxes = shapely.box(gx - size / 2, gy - size / 2, gx + size / 2, gy + size / 2).ravel()
    area = shapely.area(shapely.intersection(boxes, shapely.union_all(land.geometry.to_numpy())))
    keep = area > 0
    return gx.ravel()[keep], gy.ravel()[keep], area[keep]
