"""Runs with slopes (--dem) and gated compounds (--compounds, --gates), against hand computations
on the small fixture grid (100 m blocks, tests/osm_fixture.py)."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin
from scipy import sparse
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from lifecircle.cli import main
from lifecircle.config import RunConfig
from lifecircle.coverage.engine import at_points, nearest_facility, node_index
from lifecircle.layers.crs import reproject_geometry
from lifecircle.layers.study import load_study
from lifecircle.pipeline import run
from lifecircle.scenarios.apply import apply_interventions
from lifecircle.scenarios.spec import Intervention
from tests.osm_fixture import DLAT, DLON, LAT0, LON0, write_small_osm

UTM = "EPSG:32648"  # the fixture's local CRS (UTM 48N, lifecircle's default "utm")
GRADE_X, GRADE_Y = 0.05, -0.02  # the synthetic DEM: a plane rising 5 % east, falling 2 % north


def _ll(i: float, j: float) -> tuple[float, float]:
    return LON0 + i * DLON, LAT0 + j * DLAT


def _write_dem(path, study, grade_x=GRADE_X, grade_y=GRADE_Y, shift_m=0.0, cell=10.0):
    """A plane z = 500 + grade_x x + grade_y y (metres, UTM) over the network + 300 m; shifted
    east by ``shift_m`` to cover only part of it."""
    minx, miny, maxx, maxy = study.network.extent().bounds
    west, north = minx - 300 + shift_m, maxy + 300
    cols, rows = int((maxx - minx + 600) / cell), int((maxy - miny + 600) / cell)
    xs = west + (np.arange(cols) + 0.5) * cell
    ys = north - (np.arange(rows) + 0.5) * cell
    z = 500 + grade_x * (xs[None, :] - minx) + grade_y * (ys[:, None] - miny)
    with rasterio.open(path, "w", driver="GTiff", width=cols, height=rows, count=1,
                       dtype="float64", crs=UTM, transform=from_origin(west, north, cell, cell),
                       nodata=-9999) as dst:
        dst.write(z, 1)
    return path


@pytest.fixture()
def area(tmp_path):
    osm = write_small_osm(tmp_path / "small.osm")
    config = RunConfig(osm=osm, residential_density=100, figures=False, report=False)
    return tmp_path, config, load_study(config)


def _tobler(grade):
    # v(0)/v(s), v(s) = 6 exp(-3.5 |s + 0.05|) (Tobler 1993), written out again here
    return np.exp(3.5 * np.abs(grade + 0.05)) / np.exp(3.5 * 0.05)


def _hand_cost_graph(study):
    """Each straight edge on the plane has one grade: cost = length x v(0)/v(grade)."""
    net = study.network
    u, v = net.edges["u"].to_numpy(), net.edges["v"].to_numpy()
    length = net.edges["length"].to_numpy()
    dz = GRADE_X * (net.x[v] - net.x[u]) + GRADE_Y * (net.y[v] - net.y[u])
    grade = dz / length
    data = np.concatenate([length * _tobler(grade), length * _tobler(-grade)])
    return sparse.csr_matrix((data, (np.concatenate([u, v]), np.concatenate([v, u]))),
                             shape=(net.n_nodes, net.n_nodes))


def _hand_distances(study, kind, graph, snap_m=300.0):
    index = node_index(study.network)
    of_kind = study.facilities[study.facilities["kind"] == kind].geometry.to_numpy()
    access = index.facility_access(of_kind, snap_m)
    nodes = nearest_facility(study.network, access, limit_m=5000, cost_graph=graph)
    return at_points(nodes, index.snap(study.population.x, study.population.y, snap_m)).distance_m


def test_dem_run_equals_hand_tobler(area):
    tmp_path, config, flat = area
    dem = _write_dem(tmp_path / "dem.tif", flat)
    out = tmp_path / "out"
    assert main(["run", "--osm", str(config.osm), "--residential-density", "100", "--dem",
                 str(dem), "--no-figures", "--no-report", "--out", str(out)]) == 0
    card = json.loads((out / "scorecard.json").read_text(encoding="utf-8"))
    assert card["walking"]["method"] == "Tobler flat-equivalent distance from DEM dem.tif (10 m)"
    assert card["walking"]["dem"]["edges_without_elevation_share"] == 0
    cells = gpd.read_file(out / "coverage.gpkg", layer="population")
    hand_graph = _hand_cost_graph(flat)
    pop = flat.population.population
    for kind in ("primary_school", "health_centre", "kindergarten"):
        hand = _hand_distances(flat, kind, hand_graph)
        np.testing.assert_allclose(cells[f"dist_{kind}"], hand, rtol=0, atol=1e-6)
        share = pop[hand <= config.threshold(kind)].sum() / pop.sum()
        # scorecard.json keeps 10 decimals
        assert card["metrics"][f"walk_coverage.{kind}"]["value"] == pytest.approx(share,
                                                                                  abs=1e-9)
    # slopes only lengthen walks here (grades of 2 % and 5 %; Tobler is cheapest at -5 %)
    flat_d = _hand_distances(flat, "health_centre", None)
    assert not np.allclose(flat_d, _hand_distances(flat, "health_centre", hand_graph))


def test_flat_dem_and_open_compounds_change_no_figure(area):
    tmp_path, config, flat = area
    base = run(flat, config).scorecard()
    assert base["walking"]["method"] == "flat network distance"
    dem = _write_dem(tmp_path / "flat.tif", flat, grade_x=0.0, grade_y=0.0)
    square = shapely.Polygon([_ll(3.2, 3.2), _ll(4.8, 3.2), _ll(4.8, 4.8), _ll(3.2, 4.8)])
    gpd.GeoDataFrame({"gated": ["no"]}, geometry=[square], crs="EPSG:4326").to_file(
        tmp_path / "open.gpkg")
    for extra in ({"dem": dem}, {"compounds": tmp_path / "open.gpkg"}):
        with_cost = config.model_copy(update=extra)
        card = run(load_study(with_cost), with_cost).scorecard()
        for metric, entry in base["metrics"].items():
            assert card["metrics"][metric]["value"] == pytest.approx(entry["value"], abs=1e-9)


def _compound_files(tmp_path, gates=((3.2, 4.0),)):
    square = shapely.Polygon([_ll(3.2, 3.2), _ll(4.8, 3.2), _ll(4.8, 4.8), _ll(3.2, 4.8)])
    gpd.GeoDataFrame({"id": ["C1"], "name": ["锦绣花园"]}, geometry=[square],
                     crs="EPSG:4326").to_file(tmp_path / "compounds.gpkg")
    gpd.GeoDataFrame(geometry=[shapely.Point(_ll(*g)) for g in gates], crs="EPSG:4326").to_file(
        tmp_path / "gates.gpkg")
    return tmp_path / "compounds.gpkg", tmp_path / "gates.gpkg"


def _hand_compound(study, kind, gates, snap_m=300.0):
    """Walks with the compound: outsiders use only streets outside it; residents walk its inside
    paths to a gate, cross the wall on the crossing street nearest the gate, then go on as
    outsiders. ``gates``: grid coordinates of the gates."""
    net = study.network
    square = reproject_geometry(shapely.Polygon([_ll(3.2, 3.2), _ll(4.8, 3.2), _ll(4.8, 4.8),
                                                 _ll(3.2, 4.8)]), "EPSG:4326", study.crs)
    inner = shapely.contains_xy(square, net.x, net.y)
    u, v = net.edges["u"].to_numpy(), net.edges["v"].to_numpy()

    def induced(mask):
        d = sparse.diags(mask.astype(float))
        graph = (d @ net.graph @ d).tocsr()
        graph.eliminate_zeros()
        return graph

    index = node_index(net)
    of_kind = study.facilities[study.facilities["kind"] == kind].geometry.to_numpy()
    access = index.facility_access(of_kind, snap_m)
    access = access.subset(~inner[access.node])  # the clinic lies outside: no access inside
    d_out = nearest_facility(net, access, limit_m=5000, cost_graph=induced(~inner)).distance_m
    # residents: inside paths to the gate's crossing street, across it, then outside
    d_in = dijkstra(induced(inner), indices=np.flatnonzero(inner))
    crossing = np.flatnonzero(inner[u] != inner[v])
    leave = np.full(net.n_nodes, np.inf)
    for gx, gy in gates:
        gate = reproject_geometry(shapely.Point(_ll(gx, gy)), "EPSG:4326", study.crs)
        edge = crossing[np.argmin(shapely.distance(gate, net.edges.geometry.values[crossing]))]
        a, b = (u[edge], v[edge]) if inner[u[edge]] else (v[edge], u[edge])
        through = d_in[:, a]  # rows: the inside nodes in order
        leave[inner] = np.minimum(leave[inner], through + net.graph[a, b] + d_out[b])
    x, y = study.population.x, study.population.y
    home_inside = shapely.contains_xy(square, x, y)
    out = np.full(x.size, np.inf)
    for where, nodes, dist in ((home_inside, inner, leave),
                               (~home_inside, ~inner & net.in_largest, d_out)):
        pick = np.flatnonzero(nodes)
        gap, pos = cKDTree(np.column_stack([net.x[pick], net.y[pick]])).query(
            np.column_stack([x[where], y[where]]))
        out[where] = np.where(gap <= snap_m, gap + dist[pick[pos]], np.inf)
    return out, home_inside


def test_compound_with_one_gate_and_a_scenario_gate(area):
    tmp_path, config, _ = area
    compounds, gates = _compound_files(tmp_path)
    out = tmp_path / "out"
    assert main(["run", "--osm", str(config.osm), "--residential-density", "100",
                 "--compounds", str(compounds), "--gates", str(gates), "--no-figures",
                 "--no-report", "--out", str(out)]) == 0
    card = json.loads((out / "scorecard.json").read_text(encoding="utf-8"))
    assert card["walking"]["method"] == "gated compounds: 1, gates 1"
    cells = gpd.read_file(out / "coverage.gpkg", layer="population")
    study = load_study(config.model_copy(update={"compounds": compounds, "gates": gates}))
    hand, inside = _hand_compound(study, "health_centre", gates=[(3.2, 4.0)])
    assert inside.any()
    np.testing.assert_allclose(cells["dist_health_centre"], hand, rtol=0, atol=1e-6)
    report = gpd.read_file(out / "coverage.gpkg", layer="compounds")
    assert report.loc[0, "id"] == "C1" and report.loc[0, "gates"] == 1
    pop = study.population.population
    assert report.loc[0, "population"] == pytest.approx(pop[inside].sum())
    assert report.loc[0, "health_centre_growth_m"] > 0  # the clinic lies north-east, gate west

    # a second gate on the east wall, by scenario: residents may now leave east
    lon, lat = _ll(4.8, 4.0)
    gate = Intervention.model_validate({"gate": {"compound": "锦绣花园", "lon": lon,
                                                 "lat": lat}})
    opened = apply_interventions(study, [gate])
    assert study.cost.compounds.n_gates.sum() == 1  # the baseline is untouched
    result = run(opened, study.config)
    hand2, _ = _hand_compound(study, "health_centre", gates=[(3.2, 4.0), (4.8, 4.0)])
    np.testing.assert_allclose(result.cells["dist_health_centre"], hand2, rtol=0, atol=1e-6)
    assert (hand2[inside] < hand[inside]).all()
    assert result.scorecard()["walking"]["compounds"]["gates"] == 2


def _bad(tmp_path, capsys, *flags):
    out = tmp_path / f"bad{len(list(tmp_path.glob('bad*')))}"
    code = main(["run", "--osm", str(tmp_path / "small.osm"), "--residential-density", "100",
                 "--no-figures", "--no-report", "--out", str(out), *flags])
    return code, capsys.readouterr().err, out


def test_bad_inputs(area, capsys):
    tmp_path, config, study = area
    far = _write_dem(tmp_path / "far.tif", study, shift_m=50_000)
    code, err, out = _bad(tmp_path, capsys, "--dem", str(far))
    assert code == 2 and not out.exists()
    assert "does not cover the walk network at all" in err and len(err.strip().splitlines()) == 1

    part = _write_dem(tmp_path / "part.tif", study, shift_m=700)  # the west part uncovered
    code, err, out = _bad(tmp_path, capsys, "--dem", str(part))
    assert code == 0 and "of the walk network's edges have no elevation" in err

    a = shapely.Polygon([_ll(1.2, 1.2), _ll(3.8, 1.2), _ll(3.8, 3.8), _ll(1.2, 3.8)])
    b = shapely.Polygon([_ll(3.2, 3.2), _ll(4.8, 3.2), _ll(4.8, 4.8), _ll(3.2, 4.8)])
    gpd.GeoDataFrame(geometry=[a, b], crs="EPSG:4326").to_file(tmp_path / "overlap.gpkg")
    code, err, out = _bad(tmp_path, capsys, "--compounds", str(tmp_path / "overlap.gpkg"))
    assert code == 2 and not out.exists() and "overlap" in err
    assert len(err.strip().splitlines()) == 1

    compounds, gates = _compound_files(tmp_path, gates=((4.0, 4.0),))  # 80 m from every wall
    code, err, out = _bad(tmp_path, capsys, "--compounds", str(compounds), "--gates", str(gates))
    assert code == 0
    assert "1 gate(s) farther than 30 m" in err and "with no gate (rows 0)" in err


def test_circles_command_walks_the_slope(area):
    """`lifecircle circles` with --dem draws the slope-aware circles (the run's cost), not the
    flat ones."""
    tmp_path, config, flat = area
    dem = _write_dem(tmp_path / "dem.tif", flat)
    common = ["circles", "--kind", "health_centre", "--metres", "300", "--osm", str(config.osm),
              "--residential-density", "100"]
    assert main([*common, "--out", str(tmp_path / "flat")]) == 0
    assert main([*common, "--dem", str(dem), "--out", str(tmp_path / "dem")]) == 0
    shapes = [gpd.read_file(tmp_path / d / "circles.gpkg", layer="service_circles")
              .geometry.union_all() for d in ("flat", "dem")]
    assert shapely.area(shapely.symmetric_difference(*shapes)) > 1000
    from lifecircle.coverage.circles import service_circles

    study = load_study(config.model_copy(update={"dem": dem}))
    clinics = study.facilities[study.facilities["kind"] == "health_centre"].geometry.to_numpy()
    direct = service_circles(study.network, node_index(study.network), clinics, [300.0],
                             max_snap_m=300.0, cost=study.cost).geometry.union_all()
    assert shapely.area(shapely.symmetric_difference(shapes[1], direct)) < 1.0
