"""Many areas on a Dask LocalCluster: the batch equals running each area alone."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from lifecircle.cli import main
from tests.conftest import CHENGDU_PBF

pytest.importorskip("dask.distributed")
# each test here runs whole Chengdu batches or runs: 20-85 s apiece on the shared 2-core machine
pytestmark = pytest.mark.slow

# four quadrants of central Chengdu (the extract spans 104.0421-104.1296 E, 30.6528-30.7279 N)
W, S, E, N = 104.0421, 30.6528, 104.1296, 30.7279
MX, MY = (W + E) / 2, (S + N) / 2
QUADRANTS = {
    "西北": shapely.box(W, MY, MX, N),
    "东北": shapely.box(MX, MY, E, N),
    "西南": shapely.box(W, S, MX, MY),
    "东南": shapely.box(MX, S, E, MY),
}


@pytest.fixture(scope="module")
def areas_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("areas") / "areas.gpkg"
    gpd.GeoDataFrame({"name": list(QUADRANTS)}, geometry=list(QUADRANTS.values()),
                     crs="EPSG:4326").to_file(path)
    return path


@pytest.fixture(scope="module")
def batch_out(tmp_path_factory, areas_file):
    out = tmp_path_factory.mktemp("batch") / "out"
    code = main(["batch", str(areas_file), "--osm", str(CHENGDU_PBF),
                 "--residential-density", "400", "--workers", "2", "--out", str(out)])
    assert code == 0
    return out


def test_batch_writes_every_area_and_the_summary(batch_out):
    summary = pd.read_csv(batch_out / "summary.csv", encoding="utf-8-sig")
    assert list(summary["name"]) == list(QUADRANTS)
    assert summary["error"].isna().all()
    for name in QUADRANTS:
        assert (batch_out / "areas" / name / "scorecard.json").exists()
    assert len(gpd.read_file(batch_out / "areas.gpkg", layer="areas")) == 4
    overview = (batch_out / "overview.html").read_text(encoding="utf-8")
    assert all(name in overview for name in QUADRANTS)
    assert "OpenStreetMap" in overview and "https://unpkg" not in overview


def test_batch_equals_each_area_alone(batch_out, tmp_path):
    """The cut-with-buffer network gives each area the figures of the whole region."""
    name, polygon = "东南", QUADRANTS["东南"]
    boundary = tmp_path / "b.gpkg"
    gpd.GeoDataFrame({"name": [name]}, geometry=[polygon], crs="EPSG:4326").to_file(boundary)
    alone = tmp_path / "alone"
    assert main(["run", "--osm", str(CHENGDU_PBF), "--residential-density", "400",
                 "--boundary", str(boundary), "--out", str(alone)]) == 0
    a = json.loads((alone / "scorecard.json").read_text(encoding="utf-8"))
    b = json.loads((batch_out / "areas" / name / "scorecard.json").read_text(encoding="utf-8"))
    assert b["population"]["total"] == pytest.approx(a["population"]["total"], rel=1e-9)
    shares = [k for k, v in a["metrics"].items() if v.get("unit") == "share"]
    assert shares
    # every kind the region has is measured in the area (a zero, not a missing layer) ...
    assert {k for k in shares if k.startswith("walk_coverage.")} <= set(b["metrics"])
    # ... but a kind whose only facility lies beyond the cut has no catchment there: the
    # catchment figures are compared where both runs have them
    for metric_id in (m for m in shares if m in b["metrics"]):
        assert b["metrics"][metric_id]["value"] == pytest.approx(a["metrics"][metric_id]["value"],
                                                                 abs=1e-9), metric_id


def test_population_adds_up_over_areas(batch_out, tmp_path):
    """The four quadrants tile the extract's box: their populations add up to the box's."""
    whole = tmp_path / "whole"
    boundary = tmp_path / "box.gpkg"
    gpd.GeoDataFrame({"name": ["box"]}, geometry=[shapely.box(W, S, E, N)],
                     crs="EPSG:4326").to_file(boundary)
    assert main(["run", "--osm", str(CHENGDU_PBF), "--residential-density", "400",
                 "--boundary", str(boundary), "--out", str(whole)]) == 0
    card = json.loads((whole / "scorecard.json").read_text(encoding="utf-8"))
    summary = pd.read_csv(batch_out / "summary.csv", encoding="utf-8-sig")
    assert summary["population"].sum() == pytest.approx(card["population"]["total"], rel=1e-6)


def test_a_failing_area_is_reported_and_the_others_finish(tmp_path):
    areas = tmp_path / "areas.gpkg"
    gpd.GeoDataFrame({"name": ["东南", "海上"]},
                     geometry=[QUADRANTS["东南"], shapely.box(120.0, 20.0, 120.1, 20.1)],
                     crs="EPSG:4326").to_file(areas)
    out = tmp_path / "out"
    assert main(["batch", str(areas), "--osm", str(CHENGDU_PBF),
                 "--residential-density", "400", "--workers", "1", "--out", str(out)]) == 0
    summary = pd.read_csv(out / "summary.csv", encoding="utf-8-sig").set_index("name")
    assert pd.isna(summary.loc["东南", "error"])
    assert summary.loc["东南", "population"] > 0
    assert summary.loc["海上", "error"].startswith("海上: ")
    assert "no walkable way" in summary.loc["海上", "error"]
