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
                 "--kind", "health_centre", "--minutes", "5", "10", "15", "--out", str(out)]) == 0
    circles = gpd.read_file(out / "circles.gpkg", layer="service_circles")
    assert sorted(circles["threshold_m"].unique()) == [300.0, 500.0, 1000.0]
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
    printed = capsys.readouterr().out
    assert "公园绿地服务半径覆盖率: " in printed            # the registry's label, not the key
    assert "≥ 5,000 m² → 500 m" in printed and "park_5000" not in printed


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


def test_site_parks_to_a_target_on_chengdu(tmp_path):
    import json

    from tests.conftest import CHENGDU_PBF

    out = tmp_path / "site"
    assert main(["site", "--osm", str(CHENGDU_PBF), "--residential-density", "400",
                 "--kind", "park", "--target", "park_service_radius_coverage=0.86",
                 "--out", str(out)]) == 0
    report = json.loads((out / "sites.json").read_text(encoding="utf-8"))
    path = report["after_each_site"]
    # the figure before is the official one of `lifecircle run` on the same study area (40.9 %)
    assert report["before"] == pytest.approx(0.4089, abs=0.001)
    assert all(b > a for a, b in zip([report["before"], *path], path, strict=False))
    assert report["reached"] is True and path[-1] >= 0.86 > path[-2]
    assert report["solve"]["status"] == "Optimal"


def test_site_schools_add_k(tmp_path, small_osm):
    out = tmp_path / "site"
    assert main(["site", "--osm", str(small_osm), "--residential-density", "100",
                 "--kind", "primary_school", "--add", "2", "--spacing", "150",
                 "--out", str(out)]) == 0
    sites = pd.read_csv(out / "sites.csv", encoding="utf-8-sig")
    assert len(sites) == 2
    assert sites["figure_after"].is_monotonic_increasing


@pytest.mark.bad_input
@pytest.mark.parametrize(("extra", "message"), [
    (["--target", "walk_coverage.park=0.86"], "the target is park_service_radius_coverage"),
    (["--target", "park_service_radius_coverage=86"], "86 % is 0.86"),
    (["--add", "0"], "between 1 and 500"),
])
def test_site_bad_arguments(tmp_path, small_osm, capsys, extra, message):
    assert main(["site", "--osm", str(small_osm), "--residential-density", "100",
                 "--kind", "park", *extra, "--out", str(tmp_path / "o")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_site_schools_p_median(tmp_path, small_osm):
    import json

    out = tmp_path / "median"
    assert main(["site", "--osm", str(small_osm), "--residential-density", "100",
                 "--kind", "primary_school", "--add", "1", "--objective", "median",
                 "--spacing", "150", "--out", str(out)]) == 0
    report = json.loads((out / "sites.json").read_text(encoding="utf-8"))
    assert report["metric"] == "mean_walk_m.primary_school"
    assert report["after_each_site"][0] < report["before"]  # a second school shortens walks


def test_historic_district_lets_a_small_park_count(tmp_path):
    """A 1,500 m² park counts (300 m) only inside a historic district (GB/T 50563-2010)."""
    import json

    import shapely

    from tests.osm_fixture import DLAT, DLON, LAT0, LON0

    osm = write_small_osm(tmp_path / "area.osm")
    # a user park of about 40 m x 36 m (1,440 m²); OSM facilities are left out
    park = shapely.box(LON0 + 2.1 * DLON, LAT0 + 2.1 * DLAT, LON0 + 2.5 * DLON, LAT0 + 2.5 * DLAT)
    parks = tmp_path / "parks.geojson"
    gpd.GeoDataFrame({"kind": ["park"], "name": ["小游园"]}, geometry=[park],
                     crs="EPSG:4326").to_file(parks)
    district = tmp_path / "historic.gpkg"
    gpd.GeoDataFrame({"name": ["历史街区"]}, geometry=[park.buffer(0.002)],
                     crs="EPSG:4326").to_file(district)
    cards = {}
    for name, extra in (("plain", []), ("historic", ["--historic", str(district)])):
        out = tmp_path / name
        assert main(["run", "--osm", str(osm), "--residential-density", "100",
                     "--no-osm-facilities", "--facilities", str(parks), "--no-figures",
                     *extra, "--out", str(out)]) == 0
        cards[name] = json.loads((out / "scorecard.json").read_text(encoding="utf-8"))
    plain = cards["plain"]["metrics"]["park_service_radius_coverage"]
    historic = cards["historic"]["metrics"]["park_service_radius_coverage"]
    assert plain["value"] == 0.0 and plain["parks_per_tier"]["not_counted"] == 1
    assert historic["value"] > 0.0 and historic["parks_per_tier"]["historic_1000"] == 1
