"""Gated compounds: a compound with a gate and a school across its wall, by hand."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import shapely
from pyproj import CRS

from lifecircle.coverage.engine import at_points, nearest_facility, node_index
from lifecircle.errors import InputError
from lifecircle.layers.compounds import compound_graph, compound_report
from lifecircle.layers.network import _assemble

UTM = CRS.from_epsg(32648)
X0, Y0 = 400_000.0, 3_390_000.0
#: the compound's wall: 10 m inside the street ring
WALL = shapely.box(X0 + 10, Y0 + 10, X0 + 190, Y0 + 190)
WEST_GATE = shapely.Point(X0 + 10, Y0 + 100)
EAST_GATE = shapely.Point(X0 + 190, Y0 + 100)


def block(path_to_streets: bool = True):
    """A 200 m street ring around the compound and an east-west path through it at y = 100.

    Nodes: 0 (0,0), 1 (200,0), 2 (200,200), 3 (0,200), 4 (0,100) west street, 5 (200,100) east
    street (relative to X0, Y0). The path joins 4 and 5 (or, without ``path_to_streets``, runs
    only inside the wall, from 6 (50,100) to 7 (150,100)). Edges densify to <= 50 m.
    """
    x = np.array([0, 200, 200, 0, 0, 200, 50, 150], float) + X0
    y = np.array([0, 0, 200, 200, 100, 100, 100, 100], float) + Y0
    u = [0, 1, 5, 2, 3, 4]
    v = [1, 5, 2, 3, 4, 0]
    if path_to_streets:
        u, v = u + [4, 6, 7], v + [6, 7, 5]
    else:
        u, v = u + [6], v + [7]
    return _assemble(np.arange(8, dtype=np.int64), x, y, np.array(u), np.array(v), UTM, 50.0)


def distances(network, gates, cells_x, cells_y, facility=(200, 100), private=False,
              compounds=(WALL,), gated=None):
    """Walking distance from each cell to the facility, with the compounds and gates given."""
    cg = compound_graph(network, np.array(compounds, dtype=object),
                        np.array(gates, dtype=object), gated=gated)
    geoms = np.array([shapely.Point(X0 + facility[0], Y0 + facility[1])], dtype=object)
    access = cg.facility_access(node_index(network).facility_access(geoms, 100.0), geoms,
                                100.0, private=private)
    near = nearest_facility(network, access, cost_graph=cg.graph)
    snap = cg.snap(X0 + np.asarray(cells_x, float), Y0 + np.asarray(cells_y, float), 200.0)
    return cg.at_cells(near, snap).distance_m


# a resident at the compound's centre, one near its north wall, an outsider on the west street
CELLS_X, CELLS_Y = [100, 100, -5], [100, 170, 100]


def test_open_network_reference():
    network = block()
    geoms = np.array([shapely.Point(X0 + 200, Y0 + 100)], dtype=object)
    near = nearest_facility(network, node_index(network).facility_access(geoms, 100.0))
    snap = node_index(network).snap(X0 + np.array(CELLS_X, float),
                                    Y0 + np.array(CELLS_Y, float), 200.0)
    # across the path: 100; the north resident snaps to the street (30 m) then 100 + 100
    np.testing.assert_allclose(at_points(near, snap).distance_m, [100, 230, 205])


def test_residents_walk_through_their_gate():
    network = block()
    d = distances(network, [WEST_GATE], CELLS_X, CELLS_Y)
    # centre: 100 west to the gate path's street node, 100 north, 200 east, 100 south = 500;
    # north resident snaps inside (70 m to the path), not to the street 30 m away: 70 + 500;
    # the outsider cannot cut through the compound: around the block, 5 + 400
    np.testing.assert_allclose(d, [500, 570, 405], atol=1e-9)


def test_report_per_compound():
    network = block()
    cg = compound_graph(network, np.array([WALL], dtype=object),
                        np.array([WEST_GATE], dtype=object))
    gated = distances(network, [WEST_GATE], CELLS_X, CELLS_Y)
    opened = np.array([100.0, 230.0, 205.0])
    pop = np.array([30.0, 10.0, 99.0])  # the third cell is outside the compound
    report = compound_report(cg, X0 + np.array(CELLS_X, float), Y0 + np.array(CELLS_Y, float),
                             pop, {"school": opened}, {"school": gated})
    row = report.loc[0]
    assert row["gates"] == 1 and row["population"] == 40
    assert row["school_open_m"] == pytest.approx((30 * 100 + 10 * 230) / 40)
    assert row["school_gated_m"] == pytest.approx((30 * 500 + 10 * 570) / 40)
    assert row["school_growth_m"] == pytest.approx((30 * 400 + 10 * 340) / 40)


def test_opening_a_second_gate():
    network = block()
    d = distances(network, [WEST_GATE, EAST_GATE], CELLS_X, CELLS_Y)
    # residents now leave by the east gate: 100 and 70 + 100; the outsider may enter by the
    # west gate but never leave by the east one: still 405
    np.testing.assert_allclose(d, [100, 170, 405], atol=1e-9)


def test_no_through_traffic_even_with_gates_both_sides():
    network = block()
    open_d = distances(network, [], [-5], [100], compounds=(), gated=np.zeros(0, bool))
    gated_d = distances(network, [WEST_GATE, EAST_GATE], [-5], [100])
    assert open_d[0] == pytest.approx(205)
    assert gated_d[0] == pytest.approx(405)


def test_compound_kindergarten_public_and_private():
    network = block()
    # kindergarten at the compound's centre; an outsider on the west street, a resident east
    cells_x, cells_y = [-5, 150], [100, 100]
    public = distances(network, [WEST_GATE], cells_x, cells_y, facility=(100, 100))
    np.testing.assert_allclose(public, [105, 50], atol=1e-9)  # in by the west gate
    private = distances(network, [WEST_GATE], cells_x, cells_y, facility=(100, 100),
                        private=True)
    assert np.isinf(private[0])
    assert private[1] == pytest.approx(50)


def test_gate_with_no_mapped_path_joins_nearest_nodes():
    network = block(path_to_streets=False)
    # the inside path (50..150, 100) touches no street: the gate joins (50,100) to (0,100)
    # through the gate point: 40 + 10 m, then 400 m round the block
    d = distances(network, [WEST_GATE], [100], [100])
    np.testing.assert_allclose(d, [50 + 50 + 400], atol=1e-9)


def test_far_gate_and_gateless_compound_warn_and_stay_open():
    network = block()
    far_gate = shapely.Point(X0 + 100, Y0 - 100)  # 110 m from the wall
    with pytest.warns(UserWarning) as record:
        d = distances(network, [far_gate], CELLS_X[:1], CELLS_Y[:1])
    messages = " | ".join(str(w.message) for w in record)
    assert "1 gate(s) farther than 30 m" in messages
    assert "with no gate (rows 0) are treated as open" in messages
    np.testing.assert_allclose(d, [100])  # open: straight along the path


def test_open_compound_flag_changes_nothing():
    network = block()
    d = distances(network, [WEST_GATE], CELLS_X, CELLS_Y, gated=np.array([False]))
    np.testing.assert_allclose(d, [100, 230, 205])


def test_overlapping_compounds_are_an_input_error():
    network = block()
    other = shapely.box(X0 + 100, Y0 + 100, X0 + 300, Y0 + 300)
    with pytest.raises(InputError, match="compounds 0 and 1 overlap"):
        compound_graph(network, np.array([WALL, other], dtype=object),
                       np.array([WEST_GATE], dtype=object))
    # sharing a wall is not an overlap
    beside = shapely.box(X0 + 190, Y0 + 10, X0 + 300, Y0 + 190)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compound_graph(network, np.array([WALL, beside], dtype=object),
                       np.array([WEST_GATE], dtype=object))


def test_symmetric_engine_unchanged_by_an_empty_transformation():
    network = block()
    cg = compound_graph(network, np.empty(0, dtype=object), np.empty(0, dtype=object))
    geoms = np.array([shapely.Point(X0 + 200, Y0 + 100)], dtype=object)
    access = node_index(network).facility_access(geoms, 100.0)
    a = nearest_facility(network, access)
    b = nearest_facility(network, cg.facility_access(access, geoms, 100.0), cost_graph=cg.graph)
    np.testing.assert_array_equal(a.distance_m, b.distance_m)


def test_gated_compound_on_a_slope(tmp_path):
    """Compounds transform the slope graph: the resident's walk through the west gate on the
    5 % plane (z rising eastwards) costs its legs at Tobler's factors."""
    import rasterio
    from rasterio.transform import from_origin

    from lifecircle.layers.dem import edge_profiles, read_dem_window, tobler_graph

    network = block()
    xc = X0 - 500 + (np.arange(140) + 0.5) * 10.0
    with rasterio.open(tmp_path / "plane.tif", "w", driver="GTiff", width=140, height=140,
                       count=1, dtype="float64", crs=UTM,
                       transform=from_origin(X0 - 500, Y0 + 900, 10.0, 10.0)) as dst:
        dst.write(np.tile(100 + 0.05 * (xc - X0), (140, 1)), 1)
    dem = read_dem_window(tmp_path / "plane.tif", network.edges.total_bounds, UTM)
    slope = tobler_graph(network, edge_profiles(network, dem)).graph
    cg = compound_graph(network, np.array([WALL], dtype=object),
                        np.array([WEST_GATE], dtype=object), cost_graph=slope)
    geoms = np.array([shapely.Point(X0 + 200, Y0 + 100)], dtype=object)
    access = cg.facility_access(node_index(network).facility_access(geoms, 100.0), geoms, 100.0)
    near = nearest_facility(network, access, cost_graph=cg.graph)
    d = cg.at_cells(near, cg.snap(np.array([X0 + 100]), np.array([Y0 + 100]), 50.0)).distance_m
    # 100 m west downhill, 100 m north flat, 200 m east uphill, 100 m south flat
    hand = 100 * np.exp(-0.175) + 100 + 200 * np.exp(0.175) + 100
    assert d[0] == pytest.approx(hand, abs=1e-6)


def test_chengdu_fifty_compounds(chengdu_network):
    """Fifty gated compounds on Chengdu: every one gated, no walk cut through. Their cost in
    seconds is measured by benchmarks/bench_walking.py, not asserted here (a timed test)."""
    network = chengdu_network
    minx, miny, maxx, maxy = network.edges.total_bounds
    # 300 m compounds in the 50 densest 400 m squares of the network (so each holds paths)
    bins = [np.arange(minx, maxx + 400, 400), np.arange(miny, maxy + 400, 400)]
    count, ex, ey = np.histogram2d(network.x, network.y, bins=bins)
    ix, iy = np.unravel_index(np.argsort(count, axis=None)[-50:], count.shape)
    gx, gy = (ex[ix] + ex[ix + 1]) / 2, (ey[iy] + ey[iy + 1]) / 2
    polys = shapely.box(gx - 150, gy - 150, gx + 150, gy + 150)
    gates = shapely.points(np.concatenate([gx, gx]), np.concatenate([gy - 150, gy + 150]))
    rng = np.random.default_rng(2)
    pick = rng.choice(np.flatnonzero(network.in_largest), 40, replace=False)
    geoms = shapely.points(network.x[pick], network.y[pick])
    access = node_index(network).facility_access(geoms, 100.0)
    cells = np.column_stack([np.repeat(gx, 400), np.repeat(gy, 400)]) + \
        rng.uniform(-200, 200, (20_000, 2))
    flat_snap = node_index(network).snap(cells[:, 0], cells[:, 1], 200.0)
    flat = at_points(nearest_facility(network, access, 1000.0), flat_snap)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cg = compound_graph(network, polys, gates)
    near = nearest_facility(network, cg.facility_access(access, geoms, 100.0), 1000.0,
                            cost_graph=cg.graph)
    snap = cg.snap(cells[:, 0], cells[:, 1], 200.0)
    gated = cg.at_cells(near, snap)
    inside = cg.compound_at(cells[:, 0], cells[:, 1]) >= 0
    assert cg.gated.sum() == 50 and inside.any()
    # an outsider's walk to a facility outside every compound stays outside (no cut-through),
    # so from the same node it is never shorter than the open walk. (Walks into a compound
    # through a gate joined by a connector may be: the gate is a new passage.)
    fac_inside = cg.compound_at(network.x[pick], network.y[pick]) >= 0
    out = (flat_snap.node == snap.node) & ~inside & (gated.facility >= 0)
    out[out] = ~fac_inside[gated.facility[out]]
    assert out.sum() > 1000
    assert np.all(gated.distance_m[out] >= flat.distance_m[out] - 1e-6)
    assert (gated.distance_m[out] > flat.distance_m[out] + 1).any()


def test_circle_through_the_gate_only():
    """The circle of a school on the east street, west gate only: residents' homes inside are
    400 m + their walk to the west gate away, so a 290 m circle holds the east street and the
    north and south streets down to x = 10 (200 + 2 x 190 m), nothing inside the wall; the flat
    circle crosses the wall along the path."""
    from lifecircle.coverage.circles import reached_segments
    from lifecircle.layers.walking import WalkCost

    network = block()
    cg = compound_graph(network, np.array([WALL], dtype=object),
                        np.array([WEST_GATE], dtype=object))
    cost = WalkCost(graph=cg.graph, n_network_nodes=network.n_nodes, compounds=cg)
    geoms = np.array([shapely.Point(X0 + 200, Y0 + 100)], dtype=object)
    access = cg.facility_access(node_index(network).facility_access(geoms, 100.0), geoms, 100.0)
    near = nearest_facility(network, access, cost_graph=cost.graph)
    seg = reached_segments(network, near.distance_m[:network.n_nodes], 290.0,
                           cost.edge_rates(network))
    assert seg.length_m.sum() == pytest.approx(200 + 2 * 190, abs=1e-6)
    assert not shapely.intersects(WALL, seg.geometry).any()
    flat = reached_segments(network, nearest_facility(
        network, node_index(network).facility_access(geoms, 100.0)).distance_m, 290.0)
    assert shapely.intersects(WALL, flat.geometry).any()
