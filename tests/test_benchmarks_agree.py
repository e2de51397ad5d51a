"""The check benchmarks/bench_peers.py makes, kept in the suite on a small SYNTHETIC grid: the
osmnx/networkx recipe, the bare csgraph floor and lifecircle's ``kind_access`` give the same
coverage shares (pandana and cityseer are not required here)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from bench_peers import (  # noqa: E402
    cell_shares,
    csgraph_floor,
    lifecircle_coverage,
    make_problem,
    networkx_fair,
    networkx_graph,
    networkx_recipe,
    networkx_simple_graph,
    prepare,
)
from synthetic import (  # noqa: E402
    facilities_on_nodes,
    grid_network,
    random_facilities,
    random_population,
)

from lifecircle.seeds import kind_names  # noqa: E402

KINDS = kind_names()


@pytest.fixture(scope="module")
def grid():
    """A SYNTHETIC grid of ~3,000 nodes with 5,000 population cells."""
    network = grid_network(3000, seed=11)
    return network, random_population(network, 5000, seed=12)


def test_synthetic_grid_has_no_inserted_nodes(grid):
    network, _ = grid
    assert network.n_nodes == 55 * 55
    assert (network.node_ids >= 0).all()
    assert 0.95 < network.in_largest.mean() <= 1.0


def test_recipe_floor_and_lifecircle_agree_without_offsets(grid):
    """Facilities on nodes (zero straight-line access): all three agree to 1e-9."""
    network, pop = grid
    facilities = facilities_on_nodes(network, KINDS, per_kind=4, polygon_kinds=("park",))
    problem = make_problem(network, facilities, pop.x, pop.y, pop.population)
    assert list(problem.thresholds_m) == KINDS

    ours = lifecircle_coverage(problem)
    recipe = networkx_recipe(problem, networkx_graph(network))
    prepared = prepare(problem)
    assert all((prepared.access[k].offset_m == 0).all() for k in KINDS)
    sources = {kind: prepared.sources(kind) for kind in KINDS}
    floor = cell_shares(problem, prepared.cells, csgraph_floor(problem, sources))

    for kind in KINDS:
        assert 0.0 < ours[kind] < 1.0, kind  # a real test: neither nobody nor everybody
        assert recipe[kind] == pytest.approx(ours[kind], abs=1e-9), kind
        assert floor[kind] == pytest.approx(ours[kind], abs=1e-9), kind


def test_recipe_honours_offsets_like_lifecircle(grid):
    """Facilities off the network: the networkx recipe (cutoff = threshold - offset) still
    agrees to 1e-9; the floor, which cannot carry offsets, only ever over-counts."""
    network, pop = grid
    facilities = random_facilities(network, KINDS, nodes_per_facility=500, seed=13)
    problem = make_problem(network, facilities, pop.x, pop.y, pop.population)

    ours = lifecircle_coverage(problem)
    recipe = networkx_recipe(problem, networkx_graph(network))
    prepared = prepare(problem)
    assert np.concatenate([prepared.access[k].offset_m for k in KINDS]).max() > 0
    sources = {kind: prepared.sources(kind) for kind in KINDS}
    floor = cell_shares(problem, prepared.cells, csgraph_floor(problem, sources))

    for kind in KINDS:
        assert recipe[kind] == pytest.approx(ours[kind], abs=1e-9), kind
        assert floor[kind] >= ours[kind] - 1e-12, kind


@pytest.mark.parametrize("bound", ["cap", "threshold"])
def test_fair_networkx_recipe_agrees_at_both_bounds(grid, bound):
    """The fair recipe (one multi-source search per kind from virtual facility nodes, offsets
    as edges) on nx.Graph and on osmnx's MultiDiGraph gives lifecircle's shares to 1e-9, at the
    cap and at the threshold; the virtual nodes are removed again afterwards."""
    network, pop = grid
    facilities = random_facilities(network, KINDS, nodes_per_facility=500, seed=13)
    problem = make_problem(network, facilities, pop.x, pop.y, pop.population)
    ours = lifecircle_coverage(problem, bound)
    assert ours == lifecircle_coverage(problem)  # the bound changes the work, not the answer
    for graph in (networkx_simple_graph(network), networkx_graph(network)):
        nodes = graph.number_of_nodes()
        fair = networkx_fair(problem, graph, bound)
        assert graph.number_of_nodes() == nodes == network.n_nodes
        for kind in KINDS:
            assert fair[kind] == pytest.approx(ours[kind], abs=1e-9), (type(graph), kind)
