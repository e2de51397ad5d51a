"""Catchments, demand against capacity, the capacity-constrained assignment and 2SFCA / E2SFCA.

2SFCA and E2SFCA are checked against PySAL ``access`` (pip name ``access``) on the same cost
pairs, and against a dense numpy implementation written here; the assignment against networkx's
max-flow-min-cost on small cases.
"""

from __future__ import annotations

import warnings

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from lifecircle.coverage import catchments as cat
from lifecircle.coverage.engine import NodeIndex, cost_pairs
from lifecircle.coverage.walk import kind_access
from lifecircle.seeds import threshold_m
from lifecircle.seeds.demand import demand_seed, demand_settings, guess_population_basis
from tests.conftest import WUHAN_TIF

MAX_SNAP_M = 300.0
SCHOOLS = ("kindergarten", "primary_school", "middle_school")


# --- Chengdu fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chengdu_grid(chengdu_extract, chengdu_network):
    from lifecircle.layers.landuse import buildings, residential_land
    from lifecircle.layers.population import modelled_population

    crs = chengdu_network.crs
    return modelled_population(residential_land(chengdu_extract.features, crs),
                               buildings(chengdu_extract.features, crs), crs,
                               density_per_ha=400.0)


@pytest.fixture(scope="module")
def chengdu_setup(chengdu_network, chengdu_facilities, chengdu_grid):
    index = NodeIndex(chengdu_network)
    cells = index.snap(chengdu_grid.x, chengdu_grid.y, MAX_SNAP_M)
    return index, chengdu_facilities[0], cells


@pytest.fixture(scope="module")
def chengdu_results(chengdu_setup, chengdu_grid):
    index, facilities, cells = chengdu_setup
    results = {}
    for kind in cat.CATCHMENT_KINDS:
        access = kind_access(index, facilities, cells, kind, threshold_m(kind), MAX_SNAP_M, 5000.0)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a total-population grid: no basis warning
            results[kind] = (access, cat.kind_catchments(index, facilities, chengdu_grid, cells,
                                                         access, MAX_SNAP_M, demand_settings()))
    return results


def _pairs(chengdu_setup, kind: str, limit_m: float) -> sparse.csr_matrix:
    index, facilities, cells = chengdu_setup
    of_kind = facilities[facilities["kind"] == kind]
    return cost_pairs(index, of_kind.geometry.values, cells, limit_m, MAX_SNAP_M)


# --- catchments on central Chengdu ---------------------------------------------------------------


@pytest.mark.parametrize("kind", cat.CATCHMENT_KINDS)
def test_population_is_conserved(chengdu_results, chengdu_grid, kind):
    access, result = chengdu_results[kind]
    reached = access.nearest.facility >= 0
    expected = chengdu_grid.population[reached].sum()
    assert result.table["population"].sum() == pytest.approx(expected, rel=1e-12)
    assert result.polygons["population"].sum() == pytest.approx(expected, rel=1e-12)
    assert result.table["demand"].sum() == pytest.approx(result.cells["demand"][reached].sum(),
                                                         rel=1e-12)
    assert result.table["cells"].sum() == reached.sum()


def test_primary_school_catchments_on_chengdu(chengdu_results, chengdu_grid):
    access, result = chengdu_results["primary_school"]
    nearest = access.nearest.facility[access.nearest.facility >= 0]
    # a catchment for every school that is the nearest of at least one cell, and none other
    assert sorted(result.polygons["fid"]) == sorted(access.facility_ids[np.unique(nearest)])
    assert result.polygons.geometry.is_valid.all()
    cell_area = chengdu_grid.cell_size ** 2
    np.testing.assert_allclose(result.polygons.geometry.area,
                               result.table.set_index("fid").loc[result.polygons["fid"], "cells"]
                               * cell_area, rtol=1e-9)
    table = result.table
    assert list(table.columns) == cat.FACILITY_COLUMNS
    assert table["capacity_assumed"].all()  # OSM has no capacities in central Chengdu
    assert (table["capacity"] == 24 * 45).all()
    np.testing.assert_allclose(table["load_ratio"], table["demand"] / table["capacity"])
    np.testing.assert_array_equal(table["over_capacity"], table["load_ratio"] > 1)
    for metric_id in ("catchment.primary_school.over_capacity_demand_share",
                      "catchment.primary_school.beyond_threshold_demand_share"):
        metric = result.metrics[metric_id]
        assert 0.0 <= metric["value"] <= 1.0
        # only the capacity figure rests on the defaulted capacities
        assert metric.get("assumed", False) is metric_id.endswith("over_capacity_demand_share")
        assert metric["unit"] == "share"
        assert metric["facilities"] == len(table)


@pytest.mark.parametrize("kind", cat.CATCHMENT_KINDS)
def test_metrics_of_every_kind(chengdu_results, chengdu_grid, kind):
    access, result = chengdu_results[kind]
    metrics = result.metrics
    over = metrics[f"catchment.{kind}.over_capacity_demand_share"]
    beyond = metrics[f"catchment.{kind}.beyond_threshold_demand_share"]
    for metric in (over, beyond):
        assert 0.0 <= metric["value"] <= 1.0
    # capacities are defaulted wherever a facility exists; distances assume nothing
    assert over["assumed"] is (over["facilities"] > 0) and "assumed" not in beyond
    demand = result.cells["demand"].to_numpy()
    far = ~(access.nearest.distance_m <= access.threshold_m)
    assert beyond["value"] == pytest.approx(demand[far].sum() / demand.sum())
    assert 0.0 <= over["unplaced_demand_share"] <= 1.0
    if kind in cat.PER_1000_METRICS:
        metric_id, _ = cat.PER_1000_METRICS[kind]
        expected = result.table["capacity"].sum() / chengdu_grid.total * 1000.0
        assert metrics[metric_id]["value"] == pytest.approx(expected)


def test_capacitated_assignment_on_chengdu(chengdu_results):
    _, result = chengdu_results["primary_school"]
    table, assignment = result.table, result.assignment
    placed = assignment.placed
    assert (placed <= table["capacity"] * (1 + 1e-9) + 1e-9).all()
    demand = result.cells["demand"].to_numpy()
    np.testing.assert_allclose(np.asarray(assignment.flow.sum(axis=1)).ravel()
                               + assignment.unplaced, demand, rtol=1e-9, atol=1e-9)
    # within the threshold: no more can be placed than the cells within reach hold
    assert assignment.total_unplaced >= demand.sum() - table["capacity"].sum() - 1e-6


def test_cost_pairs_agree_with_nearest_facility(chengdu_results, chengdu_setup):
    access, _ = chengdu_results["hospital"]
    limit = 2000.0
    pairs = _pairs(chengdu_setup, "hospital", limit)
    assert pairs.data.max() <= limit
    within = access.nearest.distance_m <= limit
    has_pair = pairs.getnnz(axis=1) > 0
    np.testing.assert_array_equal(has_pair, within)
    row_min = np.full(pairs.shape[0], np.inf)
    coo = pairs.tocoo()
    np.minimum.at(row_min, coo.row, coo.data)
    np.testing.assert_allclose(row_min[within], access.nearest.distance_m[within], atol=1e-6)


# --- 2SFCA / E2SFCA ------------------------------------------------------------------------------


def _dense_fca(pairs: sparse.csr_matrix, demand: np.ndarray, supply: np.ndarray,
               catchment_m: float, sigma_m: float | None) -> np.ndarray:
    """Straightforward dense 2SFCA / E2SFCA, independent of the sparse implementation."""
    cost = np.full(pairs.shape, np.inf)
    coo = pairs.tocoo()
    cost[coo.row, coo.col] = coo.data
    inside = cost <= catchment_m
    weight = inside * (1.0 if sigma_m is None else np.exp(-np.where(inside, cost, 0) ** 2
                                                          / (2 * sigma_m ** 2)))
    ratio = np.zeros(pairs.shape[1])
    for j in range(pairs.shape[1]):
        reached = (weight[:, j] * demand).sum()
        if reached > 0:
            ratio[j] = supply[j] / reached
    return np.array([(weight[i] * ratio).sum() for i in range(pairs.shape[0])])


def _fca_case(chengdu_setup, chengdu_grid):
    pairs = _pairs(chengdu_setup, "hospital", 2000.0)
    demand = chengdu_grid.population
    supply = np.random.default_rng(3).integers(50, 900, pairs.shape[1]).astype(float)
    return pairs, demand, supply


@pytest.mark.parametrize("sigma_m", [None, 600.0])
def test_fca_equals_dense_numpy(chengdu_setup, chengdu_grid, sigma_m):
    pairs, demand, supply = _fca_case(chengdu_setup, chengdu_grid)
    ours = (cat.two_sfca(pairs, demand, supply, 1500.0) if sigma_m is None
            else cat.e2sfca(pairs, demand, supply, 1500.0, sigma_m))
    np.testing.assert_allclose(ours, _dense_fca(pairs, demand, supply, 1500.0, sigma_m),
                               rtol=1e-9, atol=0)


@pytest.mark.filterwarnings("ignore:The inplace keyword:Warning")  # inside PySAL access
def test_fca_equals_pysal_access(chengdu_setup, chengdu_grid):
    access = pytest.importorskip("access", reason="PySAL access not installed (pip install access)")
    pairs, demand, supply = _fca_case(chengdu_setup, chengdu_grid)
    coo = pairs.tocoo()
    model = access.Access(
        demand_df=pd.DataFrame({"cell": np.arange(demand.size), "demand": demand}),
        demand_index="cell", demand_value="demand",
        supply_df=pd.DataFrame({"facility": np.arange(supply.size), "supply": supply}),
        supply_index="facility", supply_value="supply",
        cost_df=pd.DataFrame({"origin": coo.row, "dest": coo.col, "cost": coo.data}),
        cost_origin="origin", cost_dest="dest", cost_name="cost",
    )
    catchment, sigma = 1500.0, 600.0
    theirs_2 = model.two_stage_fca(name="t", max_cost=catchment)["t_supply"]
    theirs_e = model.enhanced_two_stage_fca(name="e", max_cost=catchment,
                                            weight_fn=access.weights.gaussian(sigma))["e_supply"]
    for ours, theirs in ((cat.two_sfca(pairs, demand, supply, catchment), theirs_2),
                         (cat.e2sfca(pairs, demand, supply, catchment, sigma), theirs_e)):
        theirs = theirs.reindex(np.arange(demand.size)).to_numpy()
        known = np.isfinite(theirs)  # PySAL leaves cells that reach nothing out (NaN); ours is 0
        assert known.sum() > 100
        np.testing.assert_allclose(ours[known], theirs[known], rtol=1e-9, atol=0)
        assert (ours[~known] == 0).all()


def test_fca_supply_is_conserved():
    """Every unit of supply with demand in reach is handed out: Σ_i D_i A_i = Σ_j S_j (2SFCA)."""
    pairs = sparse.csr_matrix(np.array([[100.0, 0, 700], [200, 300, 0], [0, 50, 0]]))
    demand, supply = np.array([10.0, 20.0, 5.0]), np.array([3.0, 4.0, 8.0])
    scores = cat.two_sfca(pairs, demand, supply, 500.0)
    assert scores @ demand == pytest.approx(supply[:2].sum())  # facility 2 is out of reach


# --- capacity-constrained assignment -------------------------------------------------------------


def _networkx_optimum(cost: np.ndarray, demand: np.ndarray,
                      capacity: np.ndarray) -> tuple[int, int]:
    """Most demand placeable and its least cost, by networkx max-flow-min-cost."""
    graph = nx.DiGraph()
    for i, d in enumerate(demand.tolist()):
        graph.add_edge("s", ("cell", i), capacity=d, weight=0)
    for j, c in enumerate(capacity.tolist()):
        graph.add_edge(("fac", j), "t", capacity=c, weight=0)
    for i, j in zip(*np.nonzero(cost > 0), strict=True):
        graph.add_edge(("cell", int(i)), ("fac", int(j)), weight=int(cost[i, j]))
    flow = nx.max_flow_min_cost(graph, "s", "t")
    return sum(flow["s"].values()), nx.cost_of_flow(graph, flow)


def _check_against_networkx(cost: np.ndarray, demand: np.ndarray, capacity: np.ndarray) -> None:
    result = cat.capacitated_assignment(sparse.csr_matrix(cost), demand.astype(float),
                                        capacity.astype(float))
    placed, least_cost = _networkx_optimum(cost, demand, capacity)
    assert (result.placed <= capacity + 1e-9).all()
    assert (result.flow.data >= 0).all() and (result.unplaced >= -1e-9).all()
    assert demand.sum() - result.total_unplaced == pytest.approx(placed, abs=1e-6)
    assert result.cost == pytest.approx(least_cost, abs=1e-6)
    np.testing.assert_allclose(np.asarray(result.flow.sum(axis=1)).ravel() + result.unplaced,
                               demand, atol=1e-9)
    assert (result.flow.toarray()[cost == 0] == 0).all()  # only stored pairs carry demand


def test_assignment_equals_networkx_on_a_small_case():
    cost = np.array([[120, 400, 0], [300, 0, 250], [0, 90, 480], [450, 200, 0], [60, 0, 0],
                     [0, 0, 0]])
    demand = np.array([40, 25, 30, 50, 20, 15])  # the last cell reaches nothing
    capacity = np.array([50, 45, 30])
    _check_against_networkx(cost, demand, capacity)
    result = cat.capacitated_assignment(sparse.csr_matrix(cost), demand.astype(float),
                                        capacity.astype(float))
    assert result.unplaced[5] == 15
    assert result.placed.sum() == pytest.approx(capacity.sum())  # demand exceeds capacity


def test_the_solver_prints_nothing(capfd):
    """HiGHS writes its licence banner and log to the process' stdout (the console) unless
    silenced before its first call; no byte of either may reach the console."""
    cost = sparse.csr_matrix(np.array([[120.0, 400.0], [300.0, 90.0]]))
    result = cat.capacitated_assignment(cost, np.array([40.0, 25.0]), np.array([30.0, 50.0]))
    assert result.total_unplaced == pytest.approx(0.0)
    assert capfd.readouterr() == ("", "")


def test_assignment_limit_drops_far_pairs():
    cost = sparse.csr_matrix(np.array([[100.0, 900.0]]))
    far = cat.capacitated_assignment(cost, np.array([10.0]), np.array([5.0, 100.0]))
    near = cat.capacitated_assignment(cost, np.array([10.0]), np.array([5.0, 100.0]), limit_m=500)
    assert far.total_unplaced == pytest.approx(0.0)
    assert near.total_unplaced == pytest.approx(5.0)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6).flatmap(lambda n: st.tuples(
    st.lists(st.lists(st.sampled_from([0, 0, 5, 80, 150, 320, 499]), min_size=3, max_size=3),
             min_size=n, max_size=n),
    st.lists(st.integers(0, 40), min_size=n, max_size=n),
    st.lists(st.integers(0, 60), min_size=3, max_size=3),
)))
def test_assignment_equals_networkx_on_random_cases(case):
    cost, demand, capacity = (np.array(part) for part in case)
    _check_against_networkx(cost, demand, capacity)


# --- invariants (hypothesis) ---------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 8).flatmap(lambda n_fac: st.tuples(
    st.just(n_fac),
    st.lists(st.tuples(st.integers(-1, n_fac - 1), st.floats(0, 5000),
                       st.floats(0.001, 1e4)), min_size=1, max_size=60),
    st.lists(st.floats(1, 5000), min_size=n_fac, max_size=n_fac),
)))
def test_population_conserved_and_load_consistent(case):
    n_fac, cells, capacity = case
    facility = np.array([c[0] for c in cells])
    distance = np.where(facility >= 0, [c[1] for c in cells], np.inf)
    population = np.array([c[2] for c in cells])
    demand = population * 0.0754
    sums = cat.catchment_sums(facility, distance, population, demand, 500.0, n_fac)
    reached = facility >= 0
    assert sums.population.sum() == pytest.approx(population[reached].sum(), rel=1e-12)
    assert sums.demand.sum() == pytest.approx(demand[reached].sum(), rel=1e-12)
    assert sums.cells.sum() == reached.sum()
    assert sums.demand_beyond.sum() == pytest.approx(demand[reached & (distance > 500)].sum(),
                                                     rel=1e-12, abs=1e-12)
    capacity = np.array(capacity)
    ratio = cat.load_ratio(sums.demand, capacity, 208.333)
    np.testing.assert_allclose(ratio * capacity * 208.333, sums.demand, rtol=1e-12)
    assert ((ratio > 1) == (sums.demand > capacity * 208.333)).all()


def test_load_ratio_edges():
    ratio = cat.load_ratio(np.array([0.0, 5.0, 0.0]), np.array([0.0, 0.0, 10.0]), 1.0)
    assert ratio[0] == 0 and np.isinf(ratio[1]) and ratio[2] == 0


# --- demand and capacity parameters --------------------------------------------------------------


def test_seed_shares_follow_from_the_census_figures():
    seed = demand_seed()
    census, kinds = seed["census"], seed["kinds"]
    assert census["age_0_4"] + census["age_5_9"] == pytest.approx(
        census["age_0_14"] - census["age_10_14"], abs=10_000)
    primary = (0.8 * census["age_5_9"] + 0.4 * census["age_10_14"]) / census["total"]
    middle = 0.6 * census["age_10_14"] / census["total"]
    assert kinds["primary_school"]["share"] == pytest.approx(primary, abs=5e-5)
    assert kinds["middle_school"]["share"] == pytest.approx(middle, abs=5e-5)
    ages_3_4 = (1786 + 1723) / (1786 + 1723 + 1523 + 1465 + 1200) * census["age_0_4"]
    kindergarten = (ages_3_4 + 0.2 * census["age_5_9"]) / census["total"]
    assert kinds["kindergarten"]["share"] == pytest.approx(kindergarten, abs=5e-5)
    adults = census["total"] - census["age_0_14"] - census["age_15_19"]
    assert seed["population_basis"]["adults_20plus"] == pytest.approx(census["total"] / adults,
                                                                      abs=1e-6)
    assert kinds["primary_school"]["default_capacity"] == 24 * 45
    assert kinds["kindergarten"]["default_capacity"] == 9 * 30
    assert kinds["middle_school"]["default_capacity"] == 24 * 50
    for spec in kinds.values():
        assert spec["share_source"] and spec["capacity_source"]


def test_demand_from_shares_and_overrides():
    population = np.array([1000.0, 250.0])
    defaults = demand_settings()
    np.testing.assert_allclose(cat.cell_demand(population, "primary_school", defaults),
                               population * 0.0754)
    np.testing.assert_allclose(cat.cell_demand(population, "hospital", defaults), population)
    custom = demand_settings(shares={"primary_school": 0.1}, capacities={"hospital": 500})
    np.testing.assert_allclose(cat.cell_demand(population, "primary_school", custom),
                               population * 0.1)
    assert custom.of("primary_school").share_source == "run parameter"
    capacity, assumed = cat.facility_capacity(np.array([np.nan, 120.0, -1.0, 0.0]), "hospital",
                                              custom)
    np.testing.assert_array_equal(capacity, [500.0, 120.0, 500.0, 0.0])
    np.testing.assert_array_equal(assumed, [True, False, True, False])


def test_adult_population_grid_is_scaled_with_a_warning():
    assert guess_population_basis(f"raster:{WUHAN_TIF.name}") == "adults_20plus"
    assert guess_population_basis("modelled:dasymetric-buildings") == "total"
    adults = demand_settings(population_basis="adults_20plus")
    with pytest.warns(UserWarning, match="adults_20plus"):
        demand = cat.cell_demand(np.array([1000.0]), "primary_school", adults)
    assert demand[0] == pytest.approx(1000.0 * 1.300881 * 0.0754)


@pytest.mark.parametrize("kwargs, message", [
    ({"population_basis": "children"}, "unknown population basis"),
    ({"shares": {"park": 0.5}}, "no catchment demand"),
    ({"shares": {"primary_school": 1.5}}, "within 0..1"),
    ({"capacities": {"hospital": -3}}, ">= 0"),
])
def test_bad_demand_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        demand_settings(**kwargs)


def test_empty_results_give_empty_tables():
    assert cat.facilities_table([]).columns.tolist() == cat.FACILITY_COLUMNS
    assert cat.catchments_layer([]).empty
