"""The one-purpose commands: circles, parks, targets, catchments."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

from lifecircle.cli import main
from tests.osm_fixture import write_small_osm


@pytest.fixture
def small_osm(tmp_path):
    return write_small_osm(tmp_path / "area.osm")


def test_circles_nested_minutes(tmp_path, small_osm, capsys):
    out = tmp_path / "circ"
    assert main(["circles", "--osm", str(small_osm), "--residential-density", "100",
                 "--kind", "clinic", "--minutes", "5", "10", "15", "--out", str(out)]) == 0
    circles = gpd.read_file(out / "circles.gpkg", layer="service_circles")
    assert sorted(circles["threshold_m"].unique()) == [333.0, 667.0, 1000.0]
    areas = circles.sort_values("threshold_m").geometry.area.to_numpy()
    assert (areas[1:] >= areas[:-1]).all()
    assert circles.geometry.is_valid.all()
    assert "uncovered share" in capsys.readouterr().out


@pytest.mark.bad_input
def test_circles_of_a_kind_with_no_facility(tmp_path, small_osm, capsys):
    assert main(["circles", "--osm", str(small_osm), "--residential-density", "100",
                 "--kind", "hospital", "--out", str(tmp_path / "c")]) == 2
    assert "no facility of this kind" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()


def test_parks_table(tmp_path, small_osm, capsys):
    out = tmp_path / "parks"
    assert main(["parks", "--osm", str(small_osm), "--residential-density", "100",
                 "--out", str(out)]) == 0
    table = pd.read_csv(out / "parks.csv", encoding="utf-8-sig")
    assert table.loc[0, "name"] == "测试公园"
    assert table.loc[0, "tier"] == "park_5000"  # 80 m x 72 m
    assert "park_service_radius_coverage:" in capsys.readouterr().out


def test_targets_listing(capsys):
    assert main(["targets", "--region", "渠县"]) == 0
    text = capsys.readouterr().out
    assert "qu_county_hospital_beds_per_1000_2025" in text.replace("\n", "").replace("│", "") \
        or "13.34" in text


def test_catchments_command(tmp_path, small_osm):
    out = tmp_path / "c"
    assert main(["catchments", "--osm", str(small_osm), "--residential-density", "100",
                 "--kind", "primary_school", "--out", str(out)]) == 0
    table = pd.read_csv(out / "facilities.csv", encoding="utf-8-sig")
    assert list(table["name"]) == ["测试小学"]
    assert bool(table.loc[0, "capacity_assumed"])
    layer = gpd.read_file(out / "coverage.gpkg", layer="catchments")
    assert layer["population"].sum() > 0
