"""Per-facility service circles only where a per-facility output asks for them (issue 20): a run
draws them while its map shows them as polygons; above that count it writes each kind's covered
area (``service_areas``) and the map draws that as an image. The ``circles`` command always
draws them."""

from __future__ import annotations

import re

import numpy as np
import pytest
import shapely

from lifecircle.config import RunConfig
from lifecircle.layers.study import load_study
from lifecircle.pipeline import run, stages
from lifecircle.pipeline.tools import kind_circles
from tests.osm_fixture import write_small_osm


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("on-demand")
    config = RunConfig(osm=write_small_osm(folder / "small.osm"), residential_density=100,
                       figures=False, report=False)
    return folder, config, load_study(config)


def test_small_run_draws_every_circle_and_the_areas_agree(small):
    _, config, study = small
    with pytest.warns(UserWarning):
        result = run(study, config)
    circles, areas = result.layers["service_circles"], result.layers["service_areas"]
    assert len(circles) <= stages.MAX_FACILITY_CIRCLES
    # each kind's covered area is the union of its circles (arcs are polygons: 0.5 %)
    for row in areas.itertuples():
        mine = circles[(circles["kind"] == row.kind) & (circles["threshold_m"] == row.threshold_m)]
        union = shapely.union_all(mine.geometry.to_numpy())
        assert row.area_m2 == pytest.approx(union.area, rel=5e-3)


def test_above_the_map_limit_a_run_draws_no_circle_and_the_map_its_areas(small, monkeypatch):
    folder, config, study = small
    monkeypatch.setattr(stages, "MAX_FACILITY_CIRCLES", 0)
    with pytest.warns(UserWarning):
        result = run(study, config)
    assert "service_circles" not in result.layers
    assert len(result.layers["service_areas"]) == len(result.access)
    out = result.to_folder(folder / "out")
    html = (out / "map.html").read_text(encoding="utf-8")
    # one image for each kind's covered area (and none for the cells: few of them here)
    images = re.findall(r"L\.imageOverlay\(", html)
    kinds = result.layers["service_areas"]["kind"].nunique()
    assert len(images) == kinds


def test_the_circles_command_always_draws_them(small, monkeypatch):
    _, config, study = small
    monkeypatch.setattr(stages, "MAX_FACILITY_CIRCLES", 0)
    kind = study.facilities["kind"].iloc[0]
    stage = kind_circles(study, config.model_copy(update={"kinds": [kind]}), kind, [300.0, 500.0])
    drawn = stage.layers["service_circles"]
    n = int((study.facilities["kind"] == kind).sum())
    assert set(drawn["threshold_m"]) <= {300.0, 500.0} and len(drawn) <= 2 * n
    assert np.all(drawn["kind"] == kind)
