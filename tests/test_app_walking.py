"""The workbench on a study with slopes and gated compounds: every figure after an edit equals a
run on the same interventions (the run walks the directed cost; so must the workbench)."""

from __future__ import annotations

import warnings

import pytest

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from lifecircle.app.server import Workbench, create_app  # noqa: E402
from lifecircle.config import RunConfig  # noqa: E402
from lifecircle.layers.study import load_study  # noqa: E402
from lifecircle.pipeline import run  # noqa: E402
from lifecircle.scenarios.apply import apply_interventions  # noqa: E402
from lifecircle.scenarios.spec import Intervention  # noqa: E402
from tests.osm_fixture import write_small_osm  # noqa: E402
from tests.test_walking_runs import _compound_files, _ll, _write_dem  # noqa: E402


@pytest.fixture(params=["dem", "compounds"])
def walked(request, tmp_path):
    """The small fixture grid (tests/osm_fixture.py) with a tilted DEM or a gated compound."""
    config = RunConfig(osm=write_small_osm(tmp_path / "small.osm"), residential_density=100,
                       figures=False, report=False)
    study = load_study(config)
    if request.param == "dem":
        update = {"dem": _write_dem(tmp_path / "dem.tif", study)}
    else:
        compounds, gates = _compound_files(tmp_path)
        update = {"compounds": compounds, "gates": gates}
    config = config.model_copy(update=update)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = load_study(config)
        bench = Workbench(study, config)
    assert study.cost is not None and bench.engine.cost is study.cost
    return study, config, bench


def _adds() -> list[dict]:
    return [{"add": {"kind": "kindergarten", "name": "新幼儿园", "lon": lon, "lat": lat}}
            for lon, lat in (_ll(3.5, 4.5), _ll(0.5, 5.5))] + [
        {"add": {"kind": "park", "name": "新公园", "lon": _ll(4.5, 0.5)[0],
                 "lat": _ll(4.5, 0.5)[1], "size_m2": 6000}}]


def test_edits_on_a_directed_cost_equal_a_run(walked):
    study, config, bench = walked
    client = TestClient(create_app(bench))
    items = _adds()
    for n in range(1, len(items) + 1):  # one add at a time: the path a click takes
        response = client.post("/api/scenario", json={"interventions": items[:n]})
        assert response.status_code == 200, response.text
    answer = response.json()["metrics"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = run(apply_interventions(
            study, [Intervention.model_validate(i) for i in items], source="workbench"),
            config).scorecard()["metrics"]
    got = {k: m["value"] for k, m in answer.items() if m["value"] is not None}
    want = {k: m["value"] for k, m in expected.items() if m.get("value") is not None}
    assert set(got) == set(want)
    for metric, value in want.items():
        assert got[metric] == pytest.approx(value, abs=1e-9, rel=0), metric
    # the edits moved the kindergarten figure: the comparison is not of two unchanged baselines
    base = bench.baseline.scorecard()["metrics"]["walk_coverage.kindergarten"]["value"]
    assert got["walk_coverage.kindergarten"] != pytest.approx(base, abs=1e-9)
