"""Siting (MCLP, fewest sites to a target, p-median) against PySAL spopt and brute force, its
invariants (hypothesis), the park pieces and pairs, candidate sites, and a Chengdu case."""

from __future__ import annotations

import itertools
import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from scipy.optimize import linprog

from lifecircle.coverage.candidates import (
    CANDIDATE_LAND,
    combine_candidates,
    grid_candidates,
    land_candidates,
    user_candidates,
)
from lifecircle.coverage.engine import NodeIndex, at_points, nearest_facility
from lifecircle.coverage.engine import cost_pairs as walk_cost_pairs
from lifecircle.coverage.optimize import (
    SolveOptions,
    covered_share,
    mclp,
    p_median,
    split_cover,
    target_mode,
)
from lifecircle.coverage.park_siting import (
    park_cover_pairs,
    park_figure_path,
    park_siting,
    residential_pieces,
    tier_radius,
)
from lifecircle.coverage.parks import BUFFER_QUAD_SEGS, park_tiers

EXACT = SolveOptions(mip_rel_gap=0.0)
GREEDY = SolveOptions(method="greedy")
CRS = "EPSG:32648"


def random_instance(seed: int, n_cells: int = 40, n_sites: int = 10, n_existing: int = 2,
                    radius: float = 300.0):
    """Random points in a 1 km square: weights, dense distances (cells x sites), existing mask."""
    rng = np.random.default_rng(seed)
    cells = rng.random((n_cells, 2)) * 1000
    sites = rng.random((n_sites, 2)) * 1000
    dist = np.hypot(*(cells[:, None, :] - sites[None, :, :]).transpose(2, 0, 1)) + 1.0
    weights = rng.integers(1, 20, n_cells).astype(float)
    existing = np.arange(n_sites) < n_existing
    return weights, dist, existing, radius


def coverage_inputs(dist: np.ndarray, existing: np.ndarray, radius: float):
    return split_cover(sparse.csr_matrix(dist), existing, radius)


def brute_mclp(weights, cover, already, k) -> float:
    dense = cover.toarray()
    best = 0.0
    for subset in itertools.combinations(range(dense.shape[1]), k):
        hit = already | dense[:, list(subset)].any(axis=1)
        best = max(best, weights[hit].sum())
    return best


def brute_p_median(demand, dist, existing, k, capacities=None) -> float:
    """Best over all k-subsets of the candidates; capacitated: a transport LP per subset."""
    candidates = np.flatnonzero(~existing)
    best = math.inf
    for subset in itertools.combinations(candidates, k):
        open_site = existing.copy()
        open_site[list(subset)] = True
        if capacities is None:
            best = min(best, float(demand @ dist[:, open_site].min(axis=1)))
        else:
            best = min(best, _transport(demand, dist[:, open_site], capacities[open_site]))
    return best


def _transport(demand, dist, capacity) -> float:
    n, m = dist.shape
    rows = sparse.kron(sparse.identity(n), np.ones((1, m)))          # each cell served once
    caps = sparse.kron(demand[None, :], sparse.identity(m))          # site loads
    res = linprog((demand[:, None] * dist).ravel(), A_ub=caps, b_ub=capacity, A_eq=rows,
                  b_eq=np.ones(n), bounds=(0, 1), method="highs")
    return res.fun if res.status == 0 else math.inf


# ---------------------------------------------------------------------------------------------
# against PySAL spopt


@pytest.fixture(scope="module")
def spopt_solver():
    pytest.importorskip("spopt")
    pulp = pytest.importorskip("pulp")
    # CBC, the binary pulp[cbc] installs (PULP_CBC_CMD; COIN_CMD looks for a cbc on the PATH,
    # which this fixture found nowhere, so it fell back to HiGHS, lifecircle's own solver)
    solver = pulp.PULP_CBC_CMD(msg=False)
    if not solver.available():
        pytest.skip("no CBC for spopt (pip install pulp[cbc])")
    return solver


# spopt builds its models with PuLP calls that PuLP 3 deprecates
spopt_warnings = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@spopt_warnings
@pytest.mark.parametrize("seed", range(4))
def test_mclp_equals_spopt(seed, spopt_solver):
    import pulp
    from spopt.locate import MCLP

    weights, dist, existing, radius = random_instance(seed)
    cover, already = coverage_inputs(dist, existing, radius)
    k = 3
    theirs = MCLP.from_cost_matrix(dist, weights, service_radius=radius,
                                   p_facilities=k + int(existing.sum()),
                                   predefined_facilities_arr=existing.astype(int))
    theirs.solve(spopt_solver)
    ours = mclp(weights, cover, already, k, EXACT)
    assert ours.solve.proven_optimal
    assert ours.covered_before + ours.solve.objective == pytest.approx(
        pulp.value(theirs.problem.objective), rel=1e-9)


@spopt_warnings
@pytest.mark.parametrize("seed", range(4))
def test_p_median_equals_spopt(seed, spopt_solver):
    import pulp
    from spopt.locate import PMedian

    weights, dist, existing, _ = random_instance(seed, n_cells=30, n_sites=8)
    k = 2
    theirs = PMedian.from_cost_matrix(dist, weights, p_facilities=k + int(existing.sum()),
                                      predefined_facilities_arr=existing.astype(int))
    theirs.solve(spopt_solver)
    ours = p_median(weights, sparse.csr_matrix(dist), existing, k, options=EXACT)
    assert ours.solve.proven_optimal
    assert ours.solve.objective == pytest.approx(pulp.value(theirs.problem.objective), rel=1e-9)
    assert ours.total_cost == pytest.approx(ours.solve.objective, rel=1e-9)
    assert ours.unassigned.sum() == 0


# ---------------------------------------------------------------------------------------------
# against brute force over all k-subsets


@pytest.mark.parametrize("seed", range(6))
def test_mclp_equals_brute_force_and_greedy_is_bounded(seed):
    weights, dist, existing, radius = random_instance(seed, n_sites=11)
    cover, already = coverage_inputs(dist, existing, radius)
    k = 3
    best = brute_mclp(weights, cover, already, k)
    exact = mclp(weights, cover, already, k, EXACT)
    assert exact.covered_before + exact.solve.objective == pytest.approx(best)
    assert exact.covered_before + exact.gain.sum() == pytest.approx(best)
    share = covered_share(weights, cover, already, exact.chosen)
    assert share == pytest.approx(exact.share_after)
    # greedy <= optimum, >= (1 - 1/e) optimum, and its bound is a true upper bound
    greedy = mclp(weights, cover, already, k, GREEDY)
    new_best = best - exact.covered_before
    assert (1 - 1 / math.e) * new_best - 1e-9 <= greedy.solve.objective <= new_best + 1e-9
    assert greedy.solve.bound >= new_best - 1e-6
    assert greedy.solve.gap == pytest.approx(
        (greedy.solve.bound - greedy.solve.objective) / greedy.solve.objective)


@pytest.mark.parametrize("seed", range(4))
def test_p_median_sparse_pairs_equals_brute_force(seed):
    weights, dist, existing, _ = random_instance(seed, n_cells=30, n_sites=9)
    limit = 600.0
    pairs = sparse.csr_matrix(np.where(dist <= limit, dist, 0.0))
    far = 5000.0
    dense = np.where(dist <= limit, dist, far)     # a missing pair costs the penalty
    ours = p_median(weights, pairs, existing, 2, unassigned_cost=far, options=EXACT)
    assert ours.solve.objective == pytest.approx(brute_p_median(weights, dense, existing, 2))
    greedy = p_median(weights, pairs, existing, 2, unassigned_cost=far, options=GREEDY)
    assert greedy.solve.bound <= ours.solve.objective + 1e-6 <= greedy.solve.objective + 2e-6


@pytest.mark.parametrize("seed", range(3))
def test_capacitated_p_median_equals_brute_force(seed):
    weights, dist, existing, _ = random_instance(seed, n_cells=20, n_sites=7)
    capacities = np.full(dist.shape[1], weights.sum() / 3.5)
    ours = p_median(weights, sparse.csr_matrix(dist), existing, 2, capacities=capacities,
                    options=EXACT)
    assert ours.solve.objective == pytest.approx(
        brute_p_median(weights, dist, existing, 2, capacities), rel=1e-7)
    load = ours.load
    assert (load <= capacities + 1e-6).all()
    assert ours.unassigned.sum() == pytest.approx(0, abs=1e-6)
    assert ours.chosen.size == 2 and not existing[ours.chosen].any()


def test_capacity_shortfall_is_reported_as_unassigned():
    demand = np.array([100.0, 100.0, 100.0])
    dist = sparse.csr_matrix(np.array([[10.0, 20.0], [10.0, 20.0], [10.0, 20.0]]))
    result = p_median(demand, dist, np.array([True, False]), 1,
                      capacities=np.array([120.0, 100.0]), options=EXACT)
    assert result.chosen.tolist() == [1]
    assert result.unassigned.sum() == pytest.approx(80.0)
    assert result.load.tolist() == pytest.approx([120.0, 100.0])
    assert result.solve.objective == pytest.approx(
        result.total_cost + 80.0 * result.unassigned_cost)


# ---------------------------------------------------------------------------------------------
# fewest sites to a target: a constructed park case with a known minimum


@pytest.fixture(scope="module")
def strip_case():
    """A 2 km residential strip with extra land under its middle; three candidate parks of
    6,000 m² (500 m radius): West (x=500) and East (x=1500) together cover everything;
    Middle (x=1000) covers the most on its own, so greedy takes it first and then needs both
    ends (3 parks) while the minimum is 2."""
    land = shapely.union(shapely.box(0, 0, 2000, 100), shapely.box(600, -100, 1400, 0))
    residential = gpd.GeoDataFrame(geometry=[land], crs=CRS)
    pieces = residential_pieces(residential, None)
    candidates = gpd.GeoDataFrame(
        {"candidate_id": ["west", "east", "middle"], "source": "user", "size_m2": 6000.0},
        geometry=shapely.points([(500, 50), (1500, 50), (1000, 0)]), crs=CRS)
    return pieces, park_cover_pairs(pieces, candidates)


def test_target_mode_returns_known_minimum(strip_case):
    pieces, cover = strip_case
    weights, already = pieces["area_m2"].to_numpy(), pieces["covered"].to_numpy()
    assert not already.any() and weights.sum() == pytest.approx(2000 * 100 + 800 * 100)
    result = target_mode(weights, cover, already, 1.0, EXACT)
    assert result.reached and result.min_sites == 2
    assert sorted(result.sites.chosen.tolist()) == [0, 1]
    assert result.sites.share_path[-1] == pytest.approx(1.0)
    assert np.all(np.diff(result.sites.share_path) > 0)
    assert result.count_solve.objective == 2 and result.count_solve.proven_optimal
    greedy = target_mode(weights, cover, already, 1.0, GREEDY)
    assert greedy.sites.chosen.tolist()[0] == 2 and len(greedy.sites.chosen) == 3
    assert greedy.min_sites <= 2


def test_park_siting_on_the_strip():
    land = shapely.union(shapely.box(0, 0, 2000, 100), shapely.box(600, -100, 1400, 0))
    residential = gpd.GeoDataFrame(geometry=[land], crs=CRS)
    zone = shapely.buffer(shapely.box(-60, 0, 0, 40), 300.0)         # an existing small park
    candidates = gpd.GeoDataFrame(
        {"candidate_id": ["west", "east", "middle"], "source": "user", "size_m2": 6000.0},
        geometry=shapely.points([(500, 50), (1500, 50), (1000, 0)]), crs=CRS)
    result = park_siting(residential, zone, candidates, target_share=0.95, options=EXACT)
    assert sorted(result.chosen.tolist()) == [0, 1] and result.reached
    before, path = park_figure_path(residential, zone, candidates.iloc[result.chosen])
    assert result.official_before == pytest.approx(before) and before > 0
    assert result.official_path.tolist() == pytest.approx(path.tolist())
    assert 0.95 <= path[-1] < 1.0       # buffer corners miss the strip's far corners
    with pytest.raises(ValueError, match="exactly one"):
        park_siting(residential, zone, candidates)


def test_target_mode_unreachable_reports_best_share(strip_case):
    pieces, cover = strip_case
    weights, already = pieces["area_m2"].to_numpy(), pieces["covered"].to_numpy()
    only_middle = cover[:, [2]]
    result = target_mode(weights, only_middle, already, 0.95, EXACT)
    assert not result.reached
    assert result.reachable_share == pytest.approx(result.sites.share_after)
    assert result.reachable_share < 0.95 and result.sites.chosen.tolist() == [0]
    met = target_mode(weights, cover, np.ones(weights.size, dtype=bool), 0.9, EXACT)
    assert met.reached and met.sites.chosen.size == 0 and met.min_sites == 0


# ---------------------------------------------------------------------------------------------
# invariants


@st.composite
def cover_instances(draw):
    n_cells = draw(st.integers(1, 25))
    n_cand = draw(st.integers(1, 8))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    cover = sparse.csr_matrix(rng.random((n_cells, n_cand)) < draw(st.floats(0.05, 0.6)))
    weights = rng.integers(0, 10, n_cells).astype(float)
    already = rng.random(n_cells) < draw(st.floats(0.0, 0.5))
    chosen = np.flatnonzero(rng.random(n_cand) < 0.5)
    extra = draw(st.integers(0, n_cand - 1))
    return weights, cover, already, chosen, extra


@settings(max_examples=60, deadline=None)
@given(cover_instances())
def test_adding_a_site_never_lowers_coverage(instance):
    weights, cover, already, chosen, extra = instance
    before = covered_share(weights, cover, already, chosen)
    after = covered_share(weights, cover, already, np.union1d(chosen, [extra]))
    assert np.isnan(before) or after >= before


@settings(max_examples=25, deadline=None)
@given(cover_instances())
def test_mclp_optimum_never_falls_with_k(instance):
    weights, cover, already, _, _ = instance
    values = [mclp(weights, cover, already, k, EXACT).solve.objective for k in range(3)]
    assert values[0] == 0 and values[1] <= values[2] + 1e-9


# ---------------------------------------------------------------------------------------------
# park pieces and pairs


def test_tier_radius_gbt_50563():
    sizes = np.array([500.0, 1999.0, 2000.0, 4999.0, 5000.0, 90000.0, np.nan])
    assert tier_radius(sizes, park_tiers("gbt50563-2010")).tolist() == \
        [0, 0, 300, 300, 500, 500, 0]


def test_residential_pieces_match_the_official_figure():
    residential = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1000, 600),
                                             shapely.box(900, 500, 1100, 700)], crs=CRS)
    zone = shapely.buffer(shapely.box(-100, -100, 0, 0), 500.0)
    pieces = residential_pieces(residential, zone, piece_m=50.0)
    land = shapely.union_all(residential.geometry.values)          # the overlap counts once
    assert pieces["area_m2"].sum() == pytest.approx(land.area)
    assert pieces.loc[pieces["covered"], "area_m2"].sum() == pytest.approx(
        shapely.intersection(land, zone).area)
    assert pieces["area_m2"].max() <= 50 * 50 + 1e-6
    assert residential_pieces(residential, None)["covered"].sum() == 0


def test_park_cover_pairs_by_tier_radius():
    pieces = gpd.GeoDataFrame(geometry=[shapely.box(x, 0, x + 50, 50) for x in range(0, 1000, 50)],
                              crs=CRS)
    candidates = gpd.GeoDataFrame(
        {"candidate_id": ["big", "small", "tiny"], "source": "user",
         "size_m2": [6000.0, 3000.0, 1000.0]},
        geometry=shapely.points([(0, 25), (0, 25), (0, 25)]), crs=CRS)
    pairs = park_cover_pairs(pieces, candidates, park_tiers()).toarray()
    centres = np.arange(25, 1000, 50)
    assert pairs[:, 0].tolist() == (centres <= 500).tolist()
    assert pairs[:, 1].tolist() == (centres <= 300).tolist()
    assert not pairs[:, 2].any()


# ---------------------------------------------------------------------------------------------
# candidates


def test_user_candidates_sizes_and_ids():
    frame = gpd.GeoDataFrame({"name": ["a", "b"]},
                             geometry=[shapely.Point(104.06, 30.66),
                                       shapely.box(104.07, 30.67, 104.0705, 30.6705)],
                             crs="EPSG:4326")
    out = user_candidates(frame, CRS, size_m2=5000.0)
    assert out["candidate_id"].tolist() == ["user:0", "user:1"]
    assert out["size_m2"].iloc[0] == 5000.0
    assert 2000 < out["size_m2"].iloc[1] < 3000      # ~48 m x ~55 m
    with pytest.raises(ValueError, match="size_m2"):
        user_candidates(frame, CRS)


def test_grid_candidates_inside_area_and_near_network(chengdu_network):
    area = shapely.buffer(shapely.Point(chengdu_network.x.mean(), chengdu_network.y.mean()),
                          1500)
    grid = grid_candidates(area, 250.0, 5000.0, chengdu_network.crs)
    assert grid.geometry.within(area).all() and (grid["size_m2"] == 5000.0).all()
    assert len(grid) == pytest.approx(area.area / 250**2, rel=0.1)
    near = grid_candidates(area, 250.0, 5000.0, chengdu_network.crs, network=chengdu_network,
                           near_network_m=60.0)
    assert 0 < len(near) < len(grid)


def test_land_candidates_for_parks(chengdu_extract, chengdu_network, chengdu_facilities):
    facilities, _ = chengdu_facilities
    parks = facilities.loc[facilities["kind"] == "park"].geometry.values
    land = land_candidates(chengdu_extract.features, chengdu_network.crs, "park", exclude=parks)
    assert len(land) > 0
    assert (land["size_m2"] >= CANDIDATE_LAND["park"].min_size_m2).all()
    assert land["source"].str.match(r"osm:(landuse|amenity)=").all()
    inside = gpd.GeoSeries(shapely.point_on_surface(land.geometry.values), crs=land.crs)
    assert not inside.apply(lambda p: any(shapely.within(p, parks))).any()
    with pytest.raises(ValueError, match="no candidate-land rule"):
        land_candidates(chengdu_extract.features, chengdu_network.crs, "airport")


# ---------------------------------------------------------------------------------------------
# Chengdu


def test_walk_cost_pairs_agree_with_the_engine(chengdu_network, chengdu_facilities):
    facilities, _ = chengdu_facilities
    schools = facilities.loc[facilities["kind"] == "primary_school"].geometry.values
    index = NodeIndex(chengdu_network)
    rng = np.random.default_rng(3)
    pick = rng.choice(np.flatnonzero(chengdu_network.in_largest), 400, replace=False)
    cells = index.snap(chengdu_network.x[pick] + rng.uniform(-80, 80, pick.size),
                       chengdu_network.y[pick] + rng.uniform(-80, 80, pick.size), 300.0)
    pairs = walk_cost_pairs(index, schools, cells, 1500.0, 300.0)
    nearest = at_points(nearest_facility(chengdu_network, index.facility_access(schools, 300.0),
                                         1500.0), cells)
    ours = np.full(pick.size, np.inf)
    coo = pairs.tocoo()
    np.minimum.at(ours, coo.row, coo.data)
    expected = np.where(nearest.distance_m <= 1500.0, nearest.distance_m, np.inf)
    np.testing.assert_allclose(ours, expected, atol=1e-6)
    cover, already = split_cover(pairs, np.ones(schools.size, dtype=bool), 500.0)
    assert cover.shape == (pick.size, 0)
    assert (already == (expected <= 500.0)).all()


@pytest.fixture(scope="module")
def chengdu_parks(chengdu_extract, chengdu_network):
    """Residential land, the official figure of the existing parks (lifecircle.coverage.parks)
    and a 250 m grid of 5,000 m² candidate parks over the study area."""
    from lifecircle.coverage.parks import park_service_radius_coverage, parks_from_features
    from lifecircle.layers.landuse import residential_land

    crs = chengdu_network.crs
    residential = residential_land(chengdu_extract.features, crs)
    official = park_service_radius_coverage(parks_from_features(chengdu_extract.features, crs),
                                            residential)
    grid = grid_candidates(chengdu_network.hull(), 250.0, 5000.0, crs)
    return residential, official, combine_candidates(grid)


@pytest.fixture(scope="module")
def chengdu_five(chengdu_parks):
    residential, official, candidates = chengdu_parks
    return park_siting(residential, official.zone, candidates, k=5,
                       options=SolveOptions(time_limit_s=20.0))


def test_chengdu_five_new_parks_from_a_250m_grid(chengdu_parks, chengdu_five):
    residential, official, candidates = chengdu_parks
    result = chengdu_five
    coverage = result.coverage
    assert len(result.chosen) == 5 and coverage.solve.gap <= 1e-4
    assert coverage.share_after > coverage.share_before + 0.1
    assert np.all(np.diff(np.r_[coverage.share_before, coverage.share_path]) > 0)
    assert result.reached is None
    # the baseline is the official figure; pieces are exact at baseline
    assert result.official_before == pytest.approx(official.value)
    assert coverage.share_before == pytest.approx(official.value)
    # the figure with the new parks recomputed independently on exact geometry
    new = shapely.buffer(candidates.geometry.values[result.chosen], 500.0,
                         quad_segs=BUFFER_QUAD_SEGS)
    land = shapely.union_all(residential.geometry.values)
    served = shapely.union(official.zone, shapely.union_all(new))
    after = shapely.area(shapely.intersection(land, served)) / shapely.area(land)
    assert result.official_after == pytest.approx(after)
    np.testing.assert_allclose(result.official_path, coverage.share_path, atol=0.01)


def test_chengdu_target_is_met_on_exact_geometry(chengdu_parks, chengdu_five):
    """A target set at the model's own figure after three parks: the exact figure, a hair
    lower, makes park_siting raise the model's target until the exact figure reaches it."""
    residential, official, candidates = chengdu_parks
    target = float(chengdu_five.coverage.share_path[2])
    result = park_siting(residential, official.zone, candidates, target_share=target,
                         options=SolveOptions(time_limit_s=20.0))
    assert result.reached and result.official_after >= target
    assert result.target.min_sites <= len(result.chosen) <= 5
    assert np.all(np.diff(np.r_[result.official_before, result.official_path]) > 0)


def test_chengdu_new_primary_schools(chengdu_extract, chengdu_network, chengdu_facilities):
    """k new primary schools on walking distance: MCLP at 500 m and p-median, existing fixed."""
    from lifecircle.layers.landuse import residential_land
    from lifecircle.layers.population import modelled_population

    facilities, _ = chengdu_facilities
    residential = residential_land(chengdu_extract.features, chengdu_network.crs)
    people = modelled_population(residential, None, chengdu_network.crs, density_per_ha=400)
    schools = facilities.loc[facilities["kind"] == "primary_school"].geometry.values
    grid = grid_candidates(chengdu_network.hull(), 500.0, 10_000.0, chengdu_network.crs,
                           network=chengdu_network, near_network_m=100.0)
    index = NodeIndex(chengdu_network)
    cells = index.snap(people.x, people.y, 300.0)
    sites = np.concatenate([schools, grid.geometry.values])
    existing = np.arange(sites.size) < schools.size
    cost = walk_cost_pairs(index, sites, cells, limit_m=1500.0, max_snap_m=300.0)
    cover, already = split_cover(cost, existing, 500.0)

    best = mclp(people.population, cover, already, 3)
    assert best.solve.gap <= 1e-4 and best.share_after > best.share_before
    before = p_median(people.population, cost, existing, 0)
    after = p_median(people.population, cost, existing, 3)
    greedy = p_median(people.population, cost, existing, 3, options=GREEDY)
    assert after.chosen.size == 3 and not existing[after.chosen].any()
    assert after.solve.objective < before.solve.objective
    assert after.solve.objective <= greedy.solve.objective + 1e-6
    assert greedy.solve.bound <= after.solve.objective + 1e-6
    assert after.unassigned.sum() <= before.unassigned.sum()
