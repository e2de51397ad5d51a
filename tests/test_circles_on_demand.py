"""Per-facility service circles only where a per-facility output asks for them (issue 20): a run
writes each kind's covered area (``service_areas``, from one search per kind) and draws every
facility's circle only with ``facility_circles`` (``--facility-circles``); the ``circles``
command always draws them. The map outlines the covered areas as polygons while they are small
and draws them as images above ``MAX_VECTOR_AREA_COORDS``."""

from __future__ import annotations

import re

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from lifecircle.config import RunConfig
from lifecircle.layers.study import load_study
from lifecircle.maps import webmap
from lifecircle.pipeline import run
from lifecircle.pipeline.tools import kind_circles
from tests.osm_fixture import write_small_osm
from tests.test_maps import geojson_blocks


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("on-demand")
    config = RunConfig(osm=write_small_osm(folder / "small.osm"), residential_density=100,
                       figures=False, report=False)
    return folder, config, load_study(config)


def test_asked_for_a_run_draws_every_circle_and_the_areas_agree(small):
    _, config, study = small
    with pytest.warns(UserWarning):
        result = run(study, config.model_copy(update={"facility_circles": True}))
    circles, areas = result.layers["service_circles"], result.layers["service_areas"]
    assert set(circles["facility_id"]) <= set(study.facilities["fid"])
    # each kind's covered area is the union of its circles (arcs are polygons: 0.5 %)
    for row in areas.itertuples():
        mine = circles[(circles["kind"] == row.kind) & (circles["threshold_m"] == row.threshold_m)]
        union = shapely.union_all(mine.geometry.to_numpy())
        assert row.area_m2 == pytest.approx(union.area, rel=5e-3)


def test_by_default_a_run_draws_no_circle_and_the_map_outlines_its_areas(small):
    folder, config, study = small
    with pytest.warns(UserWarning):
        result = run(study, config)
    assert "service_circles" not in result.layers
    areas = result.layers["service_areas"]
    assert len(areas) == len(result.access)
    out = result.to_folder(folder / "out")
    html = (out / "map.html").read_text(encoding="utf-8")
    assert not re.findall(r"L\.imageOverlay\(", html)
    # every kind's area is a GeoJSON polygon on the page, within 1 % of its area (simplified)
    drawn, _ = geojson_blocks(html)
    polygons = [f for fc in drawn for f in fc["features"]
                if f["geometry"]["type"] in ("Polygon", "MultiPolygon") and not f["properties"]]
    on_page = sorted(round(shapely.area(shape(f["geometry"])), 12) for f in polygons)
    assert len(polygons) >= len(areas)
    wgs84 = sorted(round(float(a), 12) for a in shapely.area(areas.to_crs(4326).geometry.values))
    for expected in wgs84:
        assert any(abs(a - expected) <= 0.01 * expected for a in on_page)


def test_above_the_vertex_limit_the_map_draws_the_areas_as_images(small, monkeypatch):
    folder, config, study = small
    monkeypatch.setattr(webmap, "MAX_VECTOR_AREA_COORDS", 0)
    with pytest.warns(UserWarning):
        result = run(study, config)
    out = result.to_folder(folder / "out-images")
    html = (out / "map.html").read_text(encoding="utf-8")
    # one image for each kind's covered area (and none for the cells: few of them here)
    images = re.findall(r"L\.imageOverlay\(", html)
    assert len(images) == result.layers["service_areas"]["kind"].nunique()


def test_the_circles_command_always_draws_them(small):
    _, config, study = small
    kind = study.facilities["kind"].iloc[0]
    stage = kind_circles(study, config.model_copy(update={"kinds": [kind]}), kind, [300.0, 500.0])
    drawn = stage.layers["service_circles"]
    n = int((study.facilities["kind"] == kind).sum())
    assert set(drawn["threshold_m"]) <= {300.0, 500.0} and len(drawn) <= 2 * n
    assert np.all(drawn["kind"] == kind)
