"""Amap/Baidu POI exports: GBK CSVs with Chinese columns, GCJ-02/BD-09 coordinates, type codes;
and the Chengdu figures with GCJ-02 facilities equal those with WGS84 ones."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS

from lifecircle.cli import main
from lifecircle.errors import InputError
from lifecircle.layers.chinese_coords import wgs84_to_bd09, wgs84_to_gcj02
from lifecircle.layers.facilities import facilities_from_file
from lifecircle.layers.tables import read_table
from tests.conftest import CHENGDU_PBF

UTM48 = CRS.from_epsg(32648)


def test_gbk_amap_csv_with_chinese_columns(tmp_path):
    lon, lat = np.array([104.07, 104.08, 104.09]), np.array([30.67, 30.68, 30.69])
    glon, glat = wgs84_to_gcj02(lon, lat)
    frame = pd.DataFrame({
        "名称": ["锦江区第一小学", "红星社区卫生服务中心", "工商银行"],
        "类型": ["科教文化服务;学校;小学", "医疗保健服务;医疗保健服务场所;社区卫生服务中心",
                 "金融保险服务;银行;中国工商银行"],
        "类型编码": ["141203", "090102", "160105"],
        "经纬度": [f"{x:.6f},{y:.6f}" for x, y in zip(glon, glat, strict=True)],
    })
    path = tmp_path / "amap.csv"
    frame.to_csv(path, index=False, encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        path.read_text(encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = facilities_from_file(path, UTM48, coords="gcj02")
    assert list(table["kind"]) == ["primary_school", "health_centre"]
    assert list(table["name"]) == ["锦江区第一小学", "红星社区卫生服务中心"]
    assert any("工商银行" in str(w.message) for w in caught)  # listed, not dropped silently
    expected = shapely.points(*_utm(lon[:2], lat[:2]))
    assert shapely.distance(table.geometry.values, expected).max() < 0.5  # metres


def test_baidu_bd09_columns(tmp_path):
    lon, lat = np.array([104.07]), np.array([30.67])
    blon, blat = wgs84_to_bd09(lon, lat)
    path = tmp_path / "baidu.csv"
    pd.DataFrame({"name": ["某菜市场"], "tag": ["购物;菜市场"], "lng": blon, "lat": blat}).to_csv(
        path, index=False, encoding="utf-8-sig")
    table = facilities_from_file(path, UTM48, coords="bd09")
    assert list(table["kind"]) == ["market"]
    assert shapely.distance(table.geometry.values[0],
                            shapely.Point(*_utm(lon, lat))) < 0.5


def test_poi_export_with_no_known_type(tmp_path):
    path = tmp_path / "banks.csv"
    pd.DataFrame({"name": ["银行"], "type": ["金融保险服务;银行"], "location": ["104.0,30.6"]}) \
        .to_csv(path, index=False)
    with pytest.raises(InputError, match="no POI has a type"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        facilities_from_file(path, UTM48)


def test_read_table_gbk_and_utf8_bom(tmp_path):
    for encoding in ("gbk", "utf-8-sig", "utf-8"):
        path = tmp_path / f"{encoding}.csv"
        pd.DataFrame({"名称": ["小学"]}).to_csv(path, index=False, encoding=encoding)
        assert read_table(path).columns.tolist() == ["名称"]


def _utm(lon, lat):
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:4326", UTM48, always_xy=True).transform(lon, lat)


def test_chengdu_gcj02_facilities_give_the_wgs84_figures(tmp_path, chengdu_facilities):
    """Facilities exported in GCJ-02 (as from Amap) and converted back score within 0.1 pp."""
    facilities, _ = chengdu_facilities
    wanted = facilities[facilities["kind"].isin(["primary_school", "health_station", "market"])]
    points = wanted.geometry.to_crs("EPSG:4326").representative_point()
    lon, lat = points.x.to_numpy(), points.y.to_numpy()
    glon, glat = wgs84_to_gcj02(lon, lat)
    base = pd.DataFrame({"kind": wanted["kind"].to_numpy(), "name": wanted["name"].to_numpy()})
    base.assign(lon=lon, lat=lat).to_csv(tmp_path / "wgs.csv", index=False)
    base.assign(lon=glon, lat=glat).to_csv(tmp_path / "gcj.csv", index=False, encoding="gbk")
    cards = {}
    for name, coords in (("wgs", "wgs84"), ("gcj", "gcj02")):
        out = tmp_path / f"out_{name}"
        assert main(["run", "--osm", str(CHENGDU_PBF), "--residential-density", "400",
                     "--no-osm-facilities", "--facilities", str(tmp_path / f"{name}.csv"),
                     "--coords", coords, "--kinds", "primary_school", "health_station", "market",
                     "--out", str(out)]) == 0
        cards[name] = json.loads((out / "scorecard.json").read_text(encoding="utf-8"))
    for kind in ("primary_school", "health_station", "market"):
        a = cards["wgs"]["metrics"][f"walk_coverage.{kind}"]["value"]
        b = cards["gcj"]["metrics"][f"walk_coverage.{kind}"]["value"]
        assert abs(a - b) <= 0.001, kind
    # and untreated GCJ-02 (a 300-600 m shift) would not have
    raw = tmp_path / "out_raw"
    main(["run", "--osm", str(CHENGDU_PBF), "--residential-density", "400",
          "--no-osm-facilities", "--facilities", str(tmp_path / "gcj.csv"),
          "--kinds", "primary_school", "--out", str(raw)])
    shifted = json.loads((raw / "scorecard.json").read_text(encoding="utf-8"))
    assert abs(shifted["metrics"]["walk_coverage.primary_school"]["value"]
               - cards["wgs"]["metrics"]["walk_coverage.primary_school"]["value"]) > 0.001
