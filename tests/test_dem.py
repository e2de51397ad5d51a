"""Slope-aware walking: a street grid on a synthetic DEM plane with a known grade."""

from __future__ import annotations

import warnings

import networkx as nx
import numpy as np
import pytest
import rasterio
import shapely
from pyproj import CRS
from rasterio.transform import from_origin

from lifecircle.coverage.engine import (
    at_points,
    coverage_share,
    nearest_facility,
    node_index,
    per_facility_distances,
)
from lifecircle.errors import InputError
from lifecircle.layers.dem import (
    edge_profiles,
    parse_incline,
    read_dem_window,
    steps_edges,
    steps_lines_from_ways,
    tobler_factor,
    tobler_graph,
)
from lifecircle.layers.network import _assemble

UTM = CRS.from_epsg(32648)
X0, Y0 = 400_000.0, 3_390_000.0
GRADE = 0.05  # z = 100 + 0.05 (x - X0): a 5 % climb eastwards, flat north-south


def grid_network(n: int = 5, spacing: float = 100.0):
    """An n x n street grid (spacing metres) in UTM 48N, densified to 50 m edges."""
    ix, iy = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    x = X0 + ix.ravel() * spacing
    y = Y0 + iy.ravel() * spacing
    idx = np.arange(n * n).reshape(n, n)
    u = np.concatenate([idx[:-1, :].ravel(), idx[:, :-1].ravel()])
    v = np.concatenate([idx[1:, :].ravel(), idx[:, 1:].ravel()])
    return _assemble(np.arange(n * n, dtype=np.int64), x.astype(float), y.astype(float), u, v,
                     UTM, 50.0)


def write_plane(path, crs=UTM, cell=10.0, scale=1.0, unit=None, hole=None, extent=None):
    """A float64 GeoTIFF of z = 100 + GRADE (x - X0) (times ``scale``), cell centres exact."""
    x_min, y_max, cols, rows = extent or (X0 - 500, Y0 + 900, 140, 140)
    transform = from_origin(x_min, y_max, cell, cell)
    xc = x_min + (np.arange(cols) + 0.5) * cell
    z = np.tile(100.0 + GRADE * (xc - X0), (rows, 1)) * scale
    if hole is not None:
        z[hole] = -9999.0
    with rasterio.open(path, "w", driver="GTiff", width=cols, height=rows, count=1,
                       dtype="float64", crs=crs, transform=transform, nodata=-9999.0) as dst:
        dst.write(z, 1)
        if unit:
            dst.set_band_unit(1, unit)
    return path


def slope_costs(network, path, **kwargs):
    dem = read_dem_window(path, network.edges.total_bounds, network.crs, **kwargs)
    return tobler_graph(network, edge_profiles(network, dem))


def expected_costs(network):
    """Formula per edge: length * v(0)/v(s), s = GRADE * dx / length walking u -> v."""
    e = network.edges
    u, v, length = e["u"].to_numpy(), e["v"].to_numpy(), e["length"].to_numpy()
    s = GRADE * (network.x[v] - network.x[u]) / length
    return length * tobler_factor(s), length * tobler_factor(-s)


def test_every_edge_costs_the_tobler_formula(tmp_path):
    network = grid_network()
    costs = slope_costs(network, write_plane(tmp_path / "dem.tif"))
    fwd, bwd = expected_costs(network)
    np.testing.assert_allclose(costs.forward, fwd, rtol=0, atol=1e-6)
    np.testing.assert_allclose(costs.backward, bwd, rtol=0, atol=1e-6)
    # closed form on a 50 m east-west edge: uphill 50 e^{0.175}, downhill 50 e^{-0.175}
    east = network.x[network.edges["v"]] > network.x[network.edges["u"]]
    assert np.allclose(costs.forward[east], 50 * np.exp(0.175), atol=1e-6)
    assert np.allclose(costs.backward[east], 50 * np.exp(-0.175), atol=1e-6)
    # north-south edges are flat: they keep metres both ways
    ns = network.x[network.edges["v"]] == network.x[network.edges["u"]]
    assert np.allclose(costs.forward[ns], 50.0, atol=1e-6)
    assert np.allclose(costs.backward[ns], 50.0, atol=1e-6)
    # uphill != downhill, and the graph holds both directions
    assert np.all(np.abs(costs.forward[east] - costs.backward[east]) > 10)
    g = costs.graph
    u, v = network.edges["u"].to_numpy(), network.edges["v"].to_numpy()
    np.testing.assert_allclose(np.asarray(g[u, v]).ravel(), costs.forward, atol=1e-9)
    np.testing.assert_allclose(np.asarray(g[v, u]).ravel(), costs.backward, atol=1e-9)


def test_profiles_gain_loss_and_grade(tmp_path):
    network = grid_network()
    dem = read_dem_window(write_plane(tmp_path / "d.tif"),
                          network.edges.total_bounds, network.crs)
    prof = edge_profiles(network, dem)
    e = network.edges
    dz = GRADE * (network.x[e["v"]] - network.x[e["u"]])
    np.testing.assert_allclose(prof.gain_m, np.maximum(dz, 0), atol=1e-9)
    np.testing.assert_allclose(prof.loss_m, np.maximum(-dz, 0), atol=1e-9)
    np.testing.assert_allclose(prof.grade, dz / e["length"], atol=1e-12)
    # every sub-segment is at most 10 m
    assert prof.sub_length.max() <= 10.0 + 1e-9
    assert prof.missing_share == 0.0


def test_nearest_facility_walks_home_to_facility(tmp_path):
    """The engine on the cost graph equals networkx Dijkstra on the reversed DiGraph."""
    network = grid_network()
    costs = slope_costs(network, write_plane(tmp_path / "dem.tif"))
    centre = int(np.flatnonzero((network.x == X0 + 200) & (network.y == Y0 + 200))[0])
    corner = int(np.flatnonzero((network.x == X0) & (network.y == Y0 + 400))[0])
    access = node_index(network).facility_access(
        shapely.points([network.x[centre], network.x[corner]],
                       [network.y[centre], network.y[corner]]), 100.0)
    near = nearest_facility(network, access, cost_graph=costs.graph)

    digraph = nx.DiGraph()
    coo = costs.graph.tocoo()
    digraph.add_weighted_edges_from(
        zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True))
    expected = nx.multi_source_dijkstra_path_length(digraph.reverse(), {centre, corner})
    reference = np.array([expected[i] for i in range(network.n_nodes)])
    np.testing.assert_allclose(near.distance_m, reference, rtol=0, atol=1e-6)
    # home to facility, not facility to home: the forward search differs somewhere
    forward = nx.multi_source_dijkstra_path_length(digraph, {centre, corner})
    assert np.abs(reference - np.array([forward[i] for i in range(network.n_nodes)])).max() > 1

    # per-facility catchments (2SFCA) search the same reversed graph
    per = per_facility_distances(network, access, 1e9, cost_graph=costs.graph).toarray()
    for row, node in enumerate((centre, corner)):
        one = nx.single_source_dijkstra_path_length(digraph.reverse(), node)
        ref = np.array([one[i] for i in range(network.n_nodes)])
        np.testing.assert_allclose(np.where(ref == 0, 1e-9, ref), per[row], atol=1e-6)

    # without a cost graph the engine is unchanged; a symmetric cost graph gives the same
    flat = nearest_facility(network, access)
    same = nearest_facility(network, access, cost_graph=network.graph)
    np.testing.assert_array_equal(flat.distance_m, same.distance_m)


def test_coverage_by_hand(tmp_path):
    """On the plane, the cheapest walk from (x, y) to the facility is monotone: |dx| at the
    uphill or downhill factor plus |dy| flat."""
    network = grid_network()
    costs = slope_costs(network, write_plane(tmp_path / "dem.tif"))
    fx, fy = X0 + 200, Y0 + 200
    access = node_index(network).facility_access(shapely.points([fx], [fy]), 10.0)
    rng = np.random.default_rng(19)
    cx = X0 + rng.integers(0, 9, 60) * 50.0
    cy = Y0 + rng.integers(0, 9, 60) * 50.0
    on_street = (cx - X0) % 100 == 0
    cy = np.where(on_street, cy, Y0 + np.round((cy - Y0) / 100) * 100)
    pop = rng.uniform(1, 100, cx.size)
    snap = node_index(network).snap(cx, cy, 1.0)
    dist = at_points(nearest_facility(network, access, cost_graph=costs.graph), snap).distance_m

    dx = fx - cx
    hand = np.where(dx > 0, dx * np.exp(0.175), -dx * np.exp(-0.175)) + np.abs(fy - cy)
    np.testing.assert_allclose(dist, hand, atol=1e-6)
    for threshold in (120.0, 260.0, 330.0):  # no distance falls on them
        by_hand = pop[hand <= threshold].sum() / pop.sum()
        assert coverage_share(dist, pop, threshold) == pytest.approx(by_hand, abs=1e-12)
    # the slope changes the answer against the flat walk
    flat = at_points(nearest_facility(network, access), snap).distance_m
    assert coverage_share(flat, pop, 250.0) != coverage_share(dist, pop, 250.0)


def test_steps_minimum_penalty_and_incline(tmp_path):
    network = grid_network()
    # a flat DEM: steps still cost at least a 30 % grade, both ways as the cheaper descent
    dem = read_dem_window(write_plane(tmp_path / "flat.tif", scale=0.0), network.edges.total_bounds,
                          network.crs)
    prof = edge_profiles(network, dem)
    e = network.edges
    line = shapely.linestrings([[X0, Y0], [X0, Y0 + 100]])
    mask = steps_edges(network, np.array([line], dtype=object))
    assert mask.sum() == 2  # the 100 m way is two 50 m edges
    costs = tobler_graph(network, prof, steps_mask=mask)
    length = e["length"].to_numpy()
    np.testing.assert_allclose(costs.forward[mask], length[mask] * np.exp(3.5 * 0.20))
    np.testing.assert_allclose(costs.backward[mask], length[mask] * np.exp(3.5 * 0.20))
    np.testing.assert_allclose(costs.forward[~mask], length[~mask])
    # an incline tag of 40 % up u -> v: uphill exp(3.5 * 0.40), downhill exp(3.5 * 0.30)
    incline = np.full(len(e), np.nan)
    incline[mask] = 0.40
    costs = tobler_graph(network, prof, steps_mask=mask, steps_incline=incline)
    np.testing.assert_allclose(costs.forward[mask], length[mask] * np.exp(3.5 * 0.40))
    np.testing.assert_allclose(costs.backward[mask], length[mask] * np.exp(3.5 * 0.30))
    assert parse_incline("10%") == pytest.approx(0.10)
    assert parse_incline("-5 %") == pytest.approx(-0.05)
    assert parse_incline("45°") == pytest.approx(1.0)
    assert np.isnan(parse_incline("up"))


def test_steps_edges_from_osm_ways():
    """Edges of a densified ``highway=steps`` way are found from the OSM ways."""
    from lifecircle.layers.network import network_from_ways
    from lifecircle.layers.osm_scan import WalkWays

    # a 3-node footway and a 2-node steps way sharing node 3, about 120 m and 80 m long
    walk = WalkWays(
        way_index=np.array([0, 0, 0, 1, 1]), node_ref=np.array([1, 2, 3, 3, 4]),
        lon=np.array([104.06, 104.0606, 104.0612, 104.0612, 104.0612]),
        lat=np.array([30.65, 30.65, 30.65, 30.65, 30.6507]),
        way_ids=np.array([10, 11]), highway=np.array(["footway", "steps"], dtype=object))
    network = network_from_ways(walk, UTM)
    lines = steps_lines_from_ways(walk, UTM)
    mask = steps_edges(network, lines)
    assert len(lines) == 1
    assert mask.sum() == 2  # ~78 m densified into two edges
    assert network.edges["length"][mask].sum() == pytest.approx(lines[0].length, abs=1e-6)


def test_dem_in_feet(tmp_path):
    network = grid_network()
    ref = slope_costs(network, write_plane(tmp_path / "m.tif"))
    declared = slope_costs(network, write_plane(tmp_path / "ft.tif", scale=1 / 0.3048, unit="ft"))
    np.testing.assert_allclose(declared.forward, ref.forward, atol=1e-6)
    option = slope_costs(network, write_plane(tmp_path / "ft2.tif", scale=1 / 0.3048),
                         units="feet")
    np.testing.assert_allclose(option.forward, ref.forward, atol=1e-6)
    # a declared unit wins over a contradicting option, with a warning
    with pytest.warns(UserWarning, match="declares its heights in feet; --dem-units metre"):
        again = slope_costs(network, tmp_path / "ft.tif", units="metre")
    np.testing.assert_allclose(again.forward, ref.forward, atol=1e-6)
    with pytest.raises(InputError, match="unknown vertical unit 'furlong'"):
        slope_costs(network, tmp_path / "ft2.tif", units="furlong")
    # undeclared and no option: read as metres, so the slope comes out 3.28x too steep
    assert not np.allclose(slope_costs(network, tmp_path / "ft2.tif").forward, ref.forward)


def test_dem_in_degrees_is_reprojected(tmp_path):
    """A geographic DEM (SRTM-like) is reprojected bilinearly: the plane's grade survives."""
    from pyproj import Transformer

    network = grid_network()
    to_ll = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)
    lon0, lat0 = to_ll.transform(X0 - 600, Y0 - 600)
    lon1, lat1 = to_ll.transform(X0 + 1000, Y0 + 1000)
    cell = 1 / 3600
    cols, rows = int((lon1 - lon0) / cell) + 1, int((lat1 - lat0) / cell) + 1
    lon = lon0 + (np.arange(cols) + 0.5) * cell
    lat = lat1 - (np.arange(rows) + 0.5) * cell
    glon, glat = np.meshgrid(lon, lat)
    gx, _ = Transformer.from_crs("EPSG:4326", UTM, always_xy=True).transform(glon, glat)
    z = 100 + GRADE * (gx - X0)
    with rasterio.open(tmp_path / "ll.tif", "w", driver="GTiff", width=cols, height=rows,
                       count=1, dtype="float64", crs="EPSG:4326",
                       transform=from_origin(lon0, lat1, cell, cell)) as dst:
        dst.write(z, 1)
    dem = read_dem_window(tmp_path / "ll.tif", network.edges.total_bounds, UTM)
    assert 20 < dem.resolution_m < 35
    prof = edge_profiles(network, dem)
    e = network.edges
    expected = GRADE * (network.x[e["v"]] - network.x[e["u"]]) / e["length"]
    np.testing.assert_allclose(prof.grade, expected, atol=2e-3)


def test_holes_and_partial_cover_warn_and_count_flat(tmp_path):
    network = grid_network()
    hole = (slice(None), slice(80, None))  # every cell east of X0 + 300 m is nodata
    path = write_plane(tmp_path / "hole.tif", hole=hole)
    dem = read_dem_window(path, network.edges.total_bounds, network.crs)
    with pytest.warns(UserWarning, match=r"% of the walk network's edges have no elevation"):
        prof = edge_profiles(network, dem)
    e = network.edges
    xmax = np.maximum(network.x[e["u"]], network.x[e["v"]])
    # exact beyond doubt: edges west of X0 + 290 m have elevation, east of X0 + 300 m none
    assert prof.has_elevation[xmax <= X0 + 290].all()
    assert not prof.has_elevation[xmax > X0 + 300].any()
    costs = tobler_graph(network, prof)
    flat = ~prof.has_elevation
    np.testing.assert_allclose(costs.forward[flat], e["length"].to_numpy()[flat])
    assert 0.25 < prof.missing_share < 0.6


def test_dem_not_covering_is_an_input_error(tmp_path):
    network = grid_network()
    far = write_plane(tmp_path / "far.tif", extent=(X0 + 50_000, Y0 + 50_000, 20, 20))
    with pytest.raises(InputError, match="does not cover the walk network"):
        read_dem_window(far, network.edges.total_bounds, network.crs)
    with pytest.raises(InputError, match="file not found"):
        read_dem_window(tmp_path / "none.tif", network.edges.total_bounds, network.crs)
    (tmp_path / "junk.tif").write_text("not a raster")
    with pytest.raises(InputError, match="not a raster"):
        read_dem_window(tmp_path / "junk.tif", network.edges.total_bounds, network.crs)
    nocrs = tmp_path / "nocrs.tif"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(nocrs, "w", driver="GTiff", width=4, height=4, count=1,
                           dtype="float32") as dst:
            dst.write(np.zeros((4, 4), np.float32), 1)
    with pytest.raises(InputError, match="DEM has no CRS"):
        read_dem_window(nocrs, network.edges.total_bounds, network.crs)
    # every cell nodata
    allhole = write_plane(tmp_path / "allhole.tif", hole=(slice(None), slice(None)))
    with pytest.raises(InputError, match="nodata"):
        read_dem_window(allhole, network.edges.total_bounds, network.crs)


def test_chengdu_dem_adds_under_a_second(chengdu_network, tmp_path):
    """A synthetic 5 % tilted DEM at 10 m over central Chengdu: read + profile + cost graph +
    the directed Dijkstra over the flat run's (at most 1 s: benchmarks/bench_walking.py)."""
    network = chengdu_network
    minx, miny, maxx, maxy = network.edges.total_bounds
    cell = 10.0
    cols, rows = int((maxx - minx + 600) / cell), int((maxy - miny + 600) / cell)
    xc = minx - 300 + (np.arange(cols) + 0.5) * cell
    z = np.tile(500 + 0.05 * (xc - minx), (rows, 1)).astype(np.float32)
    path = tmp_path / "tilt.tif"
    with rasterio.open(path, "w", driver="GTiff", width=cols, height=rows, count=1,
                       dtype="float32", crs=network.crs, tiled=True,
                       transform=from_origin(minx - 300, maxy + 300, cell, cell)) as dst:
        dst.write(z, 1)
    index = node_index(network)
    rng = np.random.default_rng(1)
    pick = rng.choice(network.n_nodes, 40, replace=False)
    access = index.facility_access(shapely.points(network.x[pick], network.y[pick]), 100.0)
    flat = nearest_facility(network, access, limit_m=1000.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        costs = slope_costs(network, path)
    near = nearest_facility(network, access, limit_m=1000.0, cost_graph=costs.graph)
    # its seconds are benchmarks/bench_walking.py's to measure (not a timed test); here: on a
    # 5 % tilt some walks get cheaper, some dearer, and the same nodes stay reached or near it
    reached = np.isfinite(near.distance_m)
    assert reached.any() and (near.distance_m[reached] != flat.distance_m[reached]).any()


def test_circles_follow_the_slope(tmp_path):
    """Service circles with the directed cost: the covered street points are exactly those from
    which the walk to the facility costs at most T (hand formula of test_coverage_by_hand)."""
    from lifecircle.coverage.circles import covered_by_kind, reached_segments, service_circles
    from lifecircle.layers.walking import WalkCost

    network = grid_network()
    costs = slope_costs(network, write_plane(tmp_path / "dem.tif"))
    cost = WalkCost(graph=costs.graph, n_network_nodes=network.n_nodes, slope=costs)
    fx, fy = X0 + 200, Y0 + 200
    index = node_index(network)
    access = index.facility_access(shapely.points([fx], [fy]), 10.0)
    nodes = nearest_facility(network, access, cost_graph=costs.graph).distance_m

    def hand(x, y):
        dx = fx - x
        return np.where(dx > 0, dx * np.exp(0.175), -dx * np.exp(-0.175)) + np.abs(fy - y)

    threshold = 150.0
    seg = reached_segments(network, nodes, threshold, cost.edge_rates(network))
    lines = seg.geometry
    # every cut end (not at a node) lies exactly where the walk costs T
    ends = shapely.get_coordinates(shapely.boundary(lines))
    at_node = _at_node(network, ends)
    np.testing.assert_allclose(hand(ends[~at_node, 0], ends[~at_node, 1]), threshold, atol=1e-6)
    assert (~at_node).sum() >= 8
    # dense samples along every street: covered iff the hand cost is within T
    t = np.linspace(0, 1, 201)
    e = network.edges
    u, v = e["u"].to_numpy(), e["v"].to_numpy()
    px = (network.x[u][:, None] + t * (network.x[v] - network.x[u])[:, None]).ravel()
    py = (network.y[u][:, None] + t * (network.y[v] - network.y[u])[:, None]).ravel()
    cost_here = hand(px, py)
    clear = np.abs(cost_here - threshold) > 1e-3
    covered = shapely.dwithin(shapely.union_all(lines), shapely.points(px, py), 1e-6)
    np.testing.assert_array_equal(covered[clear], cost_here[clear] <= threshold)
    # east (downhill homes) reaches farther than west (uphill homes), by the hand factors
    row = shapely.get_coordinates(lines)
    on_row = row[np.isclose(row[:, 1], fy)]
    assert on_row[:, 0].max() - fx == pytest.approx(threshold * np.exp(0.175), abs=1e-6)
    assert fx - on_row[:, 0].min() == pytest.approx(threshold * np.exp(-0.175), abs=1e-6)

    # the drawn circle and the kind's covered area are these segments' strips
    expected = shapely.buffer(shapely.union_all(lines), 25.0, quad_segs=8)
    circle = service_circles(network, index, shapely.points([fx], [fy]), [threshold],
                             max_snap_m=10.0, cost=cost).geometry.iloc[0]
    union = covered_by_kind(network, {"k": nodes}, {"k": [threshold]},
                            rates=cost.edge_rates(network)).geometry.iloc[0]
    for area in (circle, union):
        assert shapely.area(shapely.symmetric_difference(area, expected)) < 1e-3 * expected.area
    flat = service_circles(network, index, shapely.points([fx], [fy]), [threshold],
                           max_snap_m=10.0).geometry.iloc[0]
    # the slope moves the circle east (homes downhill walk farther), not just its size
    assert shapely.area(shapely.symmetric_difference(flat, circle)) > 1000


def _at_node(network, xy, tol=1e-6):
    from scipy.spatial import cKDTree

    gap, _ = cKDTree(np.column_stack([network.x, network.y])).query(xy)
    return gap <= tol
