"""`site --gates-add K`: candidate gates on compound walls and the best ones, against hand
computations and a brute force over every candidate."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely

from lifecircle.cli import main
from lifecircle.coverage import optimize
from lifecircle.coverage.engine import nearest_facility, node_index
from lifecircle.layers.study import load_study
from lifecircle.layers.walking import walk_cost, with_gate
from lifecircle.scenarios.gates import gate_candidates, gate_cover
from tests.test_compounds import UTM, WALL, WEST_GATE, X0, Y0, block
from tests.test_walking_runs import _compound_files, area  # noqa: F401  (fixture)


def _block_cost(gates=(WEST_GATE,)):
    network = block()
    cost = walk_cost(network, compounds=gpd.GeoDataFrame({"id": ["A"]}, geometry=[WALL],
                                                         crs=UTM),
                     gates=gpd.GeoDataFrame(geometry=list(gates), crs=UTM))
    return network, cost


def _cell_distances(cost, network, school, x, y, limit=1e9):
    index = node_index(network)
    access = cost.facility_access(index, school, 100.0)
    near = nearest_facility(network, access, limit_m=limit, cost_graph=cost.graph)
    return cost.at_cells(near, cost.snap(index, x, y, 200.0)).distance_m


def test_candidates_and_single_gate_covers_by_hand():
    network, cost = _block_cost()
    cands = gate_candidates(cost, network)
    xy = shapely.get_coordinates(cands.geometry.to_numpy())
    crossing = xy[cands["source"].to_numpy() == "crossing"]
    # the inside path meets the wall at its west and east ends
    np.testing.assert_allclose(crossing[np.argsort(crossing[:, 0])],
                               [[X0 + 10, Y0 + 100], [X0 + 190, Y0 + 100]])
    # wall points every 50 m (the wall is 10 m from the ring street: all near a street), none
    # within 25 m of a crossing point
    walls = xy[cands["source"].to_numpy() == "wall"]
    assert shapely.length(shapely.boundary(WALL)) == 720 and 10 <= len(walls) <= 14
    assert all(np.hypot(*(walls - c).T).min() >= 25 for c in crossing)

    school = np.array([shapely.Point(X0 + 200, Y0 + 100)], dtype=object)
    x = X0 + np.array([100.0, 60.0, 150.0, -5.0])
    y = Y0 + np.array([100.0, 150.0, 170.0, 100.0])
    threshold = 250.0
    index = node_index(network)
    cells = cost.snap(index, x, y, 200.0)
    cover, already, now = gate_cover(cost, index, school, cells, threshold, 100.0, cands)
    # by hand: the centre resident walks 100 west to the gate path, around the block: 500
    assert _cell_distances(cost, network, school, x, y)[0] == pytest.approx(500.0)
    assert not already[0] and np.isinf(now[0])  # searched only as far as the threshold
    east = int(np.flatnonzero((np.abs(xy[:, 0] - (X0 + 190)) < 1e-6)
                              & (np.abs(xy[:, 1] - (Y0 + 100)) < 1e-6))[0])
    # opening the east end of the path: 100 m straight to the school
    assert cover[0, east]
    # every candidate's cover equals a rebuild of the compound graph with that gate
    dense = cover.toarray()
    for j, point in enumerate(cands.geometry):
        opened = with_gate(cost, network, "A", point.x, point.y)
        exact = _cell_distances(opened, network, school, x, y)
        np.testing.assert_array_equal(dense[:, j], exact <= threshold, err_msg=str(j))
    # within 120 m only the east crossing serves the centre (100 m, by hand; the nearest wall
    # gate beside it, at (190, 150), joins (150, 100) and (200, 150): 50 + 64 + 10 + 50 = 174)
    # and the coverage model picks it
    near, already_near, _ = gate_cover(cost, index, school, cells, 120.0, 100.0, cands)
    assert np.flatnonzero(near.toarray()[0]).tolist() == [east]
    weight = np.array([10.0, 1.0, 1.0, 1.0])
    assert optimize.mclp(weight, near, already_near, 1).chosen.tolist() == [east]


def test_site_proposes_the_best_gate(area, tmp_path):  # noqa: F811
    _, config, _ = area
    compounds, gates = _compound_files(tmp_path)
    out = tmp_path / "sites"
    argv = ["site", "--kind", "health_centre", "--gates-add", "1", "--osm", str(config.osm),
            "--residential-density", "100", "--compounds", str(compounds), "--gates",
            str(gates), "--threshold", "health_centre=500", "--out", str(out)]
    assert main(argv) == 0
    report = json.loads((out / "sites.json").read_text(encoding="utf-8"))
    assert len(report["sites"]) == 1 and report["sites"][0]["source"] in ("crossing", "wall")
    after = report["after_each_site"][0]
    assert after > report["before"]
    # brute force: no candidate gate does better, and the figure is that of a rebuilt run
    study = load_study(config.model_copy(update={"compounds": compounds, "gates": gates}))
    pop = study.population
    geoms = study.facilities.geometry.to_numpy()[
        (study.facilities["kind"] == "health_centre").to_numpy()]
    threshold = 500.0  # the residents walk 555 m through the west gate (test_walking_runs)
    best = 0.0
    for point in gate_candidates(study.cost, study.network).geometry:
        opened = with_gate(study.cost, study.network, "C1", point.x, point.y)
        d = _cell_distances(opened, study.network, geoms, pop.x, pop.y)
        best = max(best, pop.population[d <= threshold].sum() / pop.population.sum())
    assert after == pytest.approx(best, abs=1e-9)
    newly = gpd.read_file(out / "sites.gpkg", layer="newly_covered")
    assert len(newly) > 0 and (newly["site"] == 1).all()


def test_gates_need_compounds(area, capsys):  # noqa: F811
    tmp_path, config, _ = area
    code = main(["site", "--kind", "health_centre", "--gates-add", "1", "--osm",
                 str(config.osm), "--residential-density", "100", "--out",
                 str(tmp_path / "none")])
    assert code == 2
    assert "--compounds" in capsys.readouterr().err
