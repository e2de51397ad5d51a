"""A second catalogue of bad inputs, by family (issue 16, part 4): malformed OSM, rasters,
vectors and YAML files (output paths, missing extras and degenerate networks:
``test_bad_input_outputs.py``).

Each bad input goes through the CLI in-process and must end in exit code 2, one stderr line
naming the input and the problem, no traceback and nothing written. Inputs that are valid after
all (unsorted node ids, a Big5 table, a raster in CGCS2000 degrees, facilities in two CRSs) must
give exit 0 and the right answer. Every fixture is generated here, small, in ``tmp_path``.
"""

from __future__ import annotations

import bz2
import gzip
import json
import sqlite3
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from rasterio.transform import Affine, from_origin

from lifecircle.data import sample_path
from tests.bad_input_helpers import (
    _area_box,
    _gdf,
    _node,
    _ok,
    _one_line_error,
    _run,
    _tif,
    _way,
    _write,
    _xml,
)
from tests.osm_fixture import DLAT, DLON, LAT0, LON0, write_small_osm

pytestmark = pytest.mark.bad_input


# --- malformed OSM ----------------------------------------------------------------------------


def _cross(lat1: str = f"{LAT0 + DLAT:.7f}", lon3: str = f"{LON0 + DLON:.7f}") -> list[str]:
    """Two streets crossing at node 2: 1-2-3 north-south and 4-2-5 east-west."""
    return [_node(1, f"{LON0:.7f}", f"{LAT0 - DLAT:.7f}"), _node(2, f"{LON0:.7f}", f"{LAT0:.7f}"),
            _node(3, f"{LON0:.7f}", lat1), _node(4, f"{LON0 - DLON:.7f}", f"{LAT0:.7f}"),
            _node(5, lon3, f"{LAT0:.7f}")]


_WAYS = [_way(100, [1, 2, 3]), _way(101, [4, 2, 5])]
_BOMB_HEAD = ("<!DOCTYPE osm [<!ENTITY a 'aaaaaaaaaa'>"
              + "".join(f"<!ENTITY {c} '{('&' + p + ';') * 10}'>"
                        for p, c in zip("abcdefgh", "bcdefghi", strict=True)) + "]>")
_PBF = sample_path().read_bytes()

OSM_CASES = [
    ("ways_before_nodes", lambda t: _write(t / "a.osm", _xml(*_WAYS, *_cross())),
     ("a.osm", "not sorted")),
    ("nan_coordinates", lambda t: _write(t / "a.osm", _xml(*_cross(lat1="nan", lon3="nan"),
                                                           _way(100, [1, 3]), _way(101, [3, 5]))),
     ("a.osm", "coordinate")),
    ("inf_coordinates", lambda t: _write(t / "a.osm", _xml(*_cross(lat1="inf", lon3="-inf"),
                                                           _way(100, [1, 3]), _way(101, [3, 5]))),
     ("a.osm", "coordinate")),
    ("latitude_beyond_90", lambda t: _write(t / "a.osm", _xml(*_cross(lat1="95", lon3="190"),
                                                              _way(100, [3, 5]))),
     ("a.osm", "coordinate")),
    ("invalid_utf8_tag", lambda t: _write(t / "a.osm", _xml(*_cross(), *_WAYS).encode()
                                          .replace(b"residential", b"resid\xff\xfeential", 1)),
     ("a.osm", "not a readable OSM file")),
    ("tag_value_1mb", lambda t: _write(t / "a.osm", _xml(
        *_cross(), _way(100, [1, 2, 3], "<tag k='highway' v='residential'/><tag k='name' v='"
                        + "长" * 350_000 + "'/>"), _way(101, [4, 2, 5]))),
     ("a.osm", "not a readable OSM file")),
    ("node_id_beyond_int64", lambda t: _write(t / "a.osm", _xml(
        *_cross(), _node(99999999999999999999, "104.06", "30.66"), *_WAYS)),
     ("a.osm", "not a readable OSM file")),
    ("way_id_beyond_int64", lambda t: _write(t / "a.osm", _xml(
        *_cross(), _way("99999999999999999999", [1, 2, 3]))), ("a.osm", "not a readable")),
    ("node_ref_beyond_int64", lambda t: _write(t / "a.osm", _xml(
        *_cross(), _way(100, [1, 2, 99999999999999999999]))), ("a.osm", "not a readable")),
    ("ways_refer_to_missing_nodes", lambda t: _write(t / "a.osm", _xml(
        _node(1, "104.06", "30.66"), _way(100, [7, 8, 9]), _way(101, [1, 8]))),
     ("a.osm", "missing")),
    ("empty_xml_file", lambda t: _write(t / "a.osm", b""), ("a.osm", "empty")),
    ("empty_pbf_file", lambda t: _write(t / "a.osm.pbf", b""), ("a.osm.pbf", "empty")),
    ("truncated_pbf", lambda t: _write(t / "a.osm.pbf", _PBF[: len(_PBF) // 2]),
     ("a.osm.pbf", "not a readable OSM file")),
    ("pbf_header_only", lambda t: _write(t / "a.osm.pbf", _PBF[:300]),
     ("a.osm.pbf", "not a readable OSM file")),
    ("doctype_entity_bomb", lambda t: _write(t / "a.osm", _xml(
        *_cross(), _way(100, [1, 2, 3], "<tag k='highway' v='residential'/>"
                        "<tag k='name' v='&i;'/>"), head=_BOMB_HEAD)),
     ("a.osm", "not a readable OSM file")),
    ("external_entity", lambda t: _write(t / "a.osm", _xml(
        *_cross(), _way(100, [1, 2, 3], "<tag k='highway' v='residential'/>"
                        "<tag k='name' v='&x;'/>"),
        head="<!DOCTYPE osm [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>")),
     ("a.osm", "not a readable OSM file")),
    ("gzip_named_osm", lambda t: _write(t / "a.osm", gzip.compress(_xml(*_cross(), *_WAYS)
                                                                   .encode())),
     ("a.osm", "gzip", "a.osm.gz")),
    ("bzip2_named_osm", lambda t: _write(t / "a.osm", bz2.compress(_xml(*_cross(), *_WAYS)
                                                                   .encode())),
     ("a.osm", "bzip2", "a.osm.bz2")),
    ("pbf_named_osm", lambda t: _write(t / "a.osm", _PBF), ("a.osm", "PBF", "a.osm.pbf")),
    ("xml_named_pbf", lambda t: _write(t / "a.osm.pbf", _xml(*_cross(), *_WAYS)),
     ("a.osm.pbf", "XML", "rename it a.osm")),
    ("only_a_bounds_element", lambda t: _write(t / "a.osm", _xml(
        "<bounds minlat='30.6' minlon='104.0' maxlat='30.7' maxlon='104.1'/>")),
     ("a.osm", "no walkable way")),
]


@pytest.mark.parametrize(("builder", "expected"), [c[1:] for c in OSM_CASES],
                         ids=[c[0] for c in OSM_CASES])
def test_malformed_osm(tmp_path, capsys, builder, expected):
    osm = builder(tmp_path)
    started = time.perf_counter()
    _one_line_error(tmp_path, capsys, _run(osm, tmp_path / "out"), *expected)
    assert time.perf_counter() - started < 20  # no entity or tag expansion


def test_nodes_in_any_id_order_give_the_same_answer(tmp_path):
    """Nodes listed before the ways but in descending id order are valid OSM: same scorecard."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    write_small_osm(a / "area.osm")
    lines = (a / "area.osm").read_text(encoding="utf-8").splitlines()
    nodes = [line for line in lines if line.startswith("<node")]
    rest = [line for line in lines if not line.startswith("<node")]
    first_way = next(i for i, line in enumerate(rest) if line.startswith("<way"))
    (b / "area.osm").write_text("\n".join(rest[:first_way] + nodes[::-1] + rest[first_way:]),
                                encoding="utf-8")
    sorted_card = _ok(a, _run(a / "area.osm", a / "out"))
    shuffled = _ok(b, _run(b / "area.osm", b / "out"))
    assert shuffled["metrics"]["walk_coverage.health_centre"]["value"] == pytest.approx(
        sorted_card["metrics"]["walk_coverage.health_centre"]["value"])
    assert shuffled["population"]["total"] == pytest.approx(sorted_card["population"]["total"])


# --- rasters ----------------------------------------------------------------------------------


def _float32_fill(path: Path) -> Path:
    values = np.full((12, 12), 10.0, dtype=np.float32)
    values[:, 6:] = np.finfo(np.float32).max
    return _tif(path, values, nodata=None, dtype="float32")


def _huge_declared(path: Path) -> Path:
    """A sparse tiled GeoTIFF of 10^6 x 10^6 cells (10^12) over the study area: only the tile
    index is on disk (under 1 MB), every tile is absent."""
    side = 1_000_000
    profile = {"driver": "GTiff", "height": side, "width": side, "count": 1, "dtype": "uint8",
               "crs": "EPSG:4326", "tiled": True, "blockxsize": 8192, "blockysize": 8192,
               "sparse_ok": True, "bigtiff": "YES",
               "transform": from_origin(LON0 - 0.001, LAT0 + 0.009, 1.1e-8, 1.1e-8)}
    with rasterio.open(path, "w", **profile):
        pass
    assert path.stat().st_size < 1_000_000
    return path


RASTER_CASES = [
    ("engineering_crs", lambda t: _tif(t / "pop.tif", np.ones((12, 12)),
                                       crs='LOCAL_CS["site grid",UNIT["metre",1]]'),
     ("pop.tif", "local")),
    ("float32_max_fill_without_nodata", lambda t: _float32_fill(t / "pop.tif"),
     ("pop.tif", "nodata")),
    ("declares_10e12_cells", lambda t: _huge_declared(t / "pop.tif"), ("pop.tif", "cells")),
    ("rotated_transform", lambda t: _tif(t / "pop.tif", np.ones((12, 12)),
                                         transform=Affine(0.00083, 0.0001, LON0 - 0.001, 0.0001,
                                                          -0.00083, LAT0 + 0.008)),
     ("pop.tif", "rotated")),
    ("zero_cell_size", lambda t: _tif(t / "pop.tif", np.ones((12, 12)),
                                      transform=Affine(0.0, 0.0, LON0, 0.0, -0.00083, LAT0)),
     ("pop.tif",)),
    ("metres_labelled_degrees", lambda t: _tif(t / "pop.tif", np.ones((12, 12)),
                                               transform=from_origin(400000, 3400000, 100, 100)),
     ("pop.tif", "does not overlap")),
    ("degrees_far_from_network", lambda t: _tif(t / "pop.tif", np.ones((12, 12)),
                                                transform=from_origin(-70.0, -30.0, 0.00083,
                                                                      0.00083)),
     ("pop.tif", "does not overlap")),
    ("truncated_geotiff", lambda t: _write(t / "pop.tif", _tif(t / "pop.tif", np.ones(
        (200, 200))).read_bytes()[:2000]), ("pop.tif",)),
]


@pytest.mark.parametrize(("builder", "expected"), [c[1:] for c in RASTER_CASES],
                         ids=[c[0] for c in RASTER_CASES])
def test_bad_raster(tmp_path, capsys, builder, expected):
    osm = write_small_osm(tmp_path / "area.osm")
    raster = builder(tmp_path)
    started = time.perf_counter()
    _one_line_error(tmp_path, capsys, _run(osm, tmp_path / "out", "--population", raster),
                    *expected)
    assert time.perf_counter() - started < 20


def test_huge_declared_raster_is_refused_before_any_read(tmp_path, monkeypatch):
    """10^12 declared cells: refused in under 2 s, and no band is ever read."""
    from lifecircle.errors import InputError
    from lifecircle.layers.population import population_from_raster

    raster = _huge_declared(tmp_path / "pop.tif")
    reads = []
    monkeypatch.setattr(rasterio.DatasetReader, "read",
                        lambda *a, **k: reads.append(1) or pytest.fail("read"))
    area = shapely.box(LON0, LAT0, LON0 + 7 * DLON, LAT0 + 7 * DLAT)
    started = time.perf_counter()
    with pytest.raises(InputError, match="cells"):
        population_from_raster(raster, area, "EPSG:4326", "EPSG:32648")
    assert time.perf_counter() - started < 2.0
    assert reads == []


def test_south_up_raster_gives_the_north_up_total(tmp_path):
    """A raster stored bottom row first (positive cell height) holds the same people."""
    from lifecircle.layers.population import population_from_raster

    values = np.arange(144, dtype=np.float64).reshape(12, 12) + 1
    north = _tif(tmp_path / "north.tif", values)
    south = _tif(tmp_path / "south.tif", values[::-1],
                 transform=Affine(0.00083, 0, LON0 - 0.001, 0, 0.00083,
                                  LAT0 + 0.008 - 12 * 0.00083))
    area = shapely.box(LON0, LAT0, LON0 + 7 * DLON, LAT0 + 7 * DLAT)
    a = population_from_raster(north, area, "EPSG:4326", "EPSG:32648")
    b = population_from_raster(south, area, "EPSG:4326", "EPSG:32648")
    assert b.total == pytest.approx(a.total) and a.total > 0


def test_raster_in_cgcs2000_degrees_is_valid(tmp_path):
    """CGCS2000 (EPSG:4490) degrees sit within centimetres of WGS84: the same people."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    values = np.full((12, 12), 7.0)
    osm_a, osm_b = write_small_osm(a / "area.osm"), write_small_osm(b / "area.osm")
    card_a = _ok(a, _run(osm_a, a / "out", "--population", str(_tif(a / "p.tif", values))))
    card_b = _ok(b, _run(osm_b, b / "out", "--population",
                         str(_tif(b / "p.tif", values, crs="EPSG:4490"))))
    assert card_b["population"]["total"] == pytest.approx(card_a["population"]["total"])
    assert card_a["population"]["total"] % 7 == pytest.approx(0)


# --- vectors ----------------------------------------------------------------------------------


def _nan_polygon_gpkg(path: Path) -> Path:
    with np.errstate(invalid="ignore"):  # shapely warns of the NaN this fixture is about
        poly = shapely.Polygon([(LON0, LAT0), (np.nan, LAT0), (LON0 + 0.005, LAT0 + 0.005)])
    return _gdf(path, [poly])


def _shapefile_without(path: Path, suffix: str) -> Path:
    _gdf(path, [_area_box()])
    path.with_suffix(suffix).unlink()
    return path


def _empty_gpkg(path: Path) -> Path:
    """A GeoPackage with its metadata tables and no layer (what a failed export leaves)."""
    _gdf(path, [_area_box()])
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM gpkg_contents")
        db.execute("DELETE FROM gpkg_geometry_columns")
        db.execute("DROP TABLE IF EXISTS " + db.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'gpkg_%' "
            "AND name NOT LIKE 'rtree_%' AND name NOT LIKE 'sqlite_%'").fetchone()[0])
    return path


_CLINIC = f"{LON0 + 2 * DLON:.6f},{LAT0 + 2 * DLAT:.6f}"

VECTOR_CASES = [
    ("csv_nan_coordinates", "--facilities", lambda t: _write(t / "f.csv", "kind,name,lon,lat\n"
                                                             "market,X,nan,30.66\n"),
     ("f.csv", "row 2", "not a valid coordinate")),
    ("csv_inf_coordinates", "--facilities", lambda t: _write(t / "f.csv", "kind,name,lon,lat\n"
                                                             f"market,A,{_CLINIC}\nmarket,X,"
                                                             "104.06,inf\n"),
     ("f.csv", "row 3", "not a valid coordinate")),
    ("geojson_nan_coordinates", "--facilities", lambda t: _write(t / "f.geojson", json.dumps(
        {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {
            "kind": "market", "name": "X"}, "geometry": {"type": "Point",
                                                         "coordinates": [float("nan"), 30.6]}}]})),
     ("f.geojson",)),
    ("boundary_nan_coordinates", "--boundary", lambda t: _nan_polygon_gpkg(t / "b.gpkg"),
     ("b.gpkg", "coordinate")),
    ("parks_as_points_csv", "--facilities", lambda t: _write(
        t / "f.csv", f"kind,name,lon,lat\nmarket,A,{_CLINIC}\npark,点公园,{_CLINIC}\n"),
     ("f.csv", "row 3", "park must be a polygon")),
    ("parks_as_points_gpkg", "--facilities", lambda t: _gdf(
        t / "f.gpkg", [shapely.Point(LON0 + 0.002, LAT0 + 0.002)], kind=["park"], name=["P"]),
     ("f.gpkg", "feature 1", "park must be a polygon")),
    ("csv_big5_or_gbk_ambiguous", "--facilities", lambda t: _write(
        t / "f.csv", b"kind,name,lon,lat\nmarket,\xb0\xa1\xb0\xa2," + _CLINIC.encode() + b"\n"),
     ("f.csv", "GBK", "Big5", "UTF-8")),
    ("csv_shift_jis", "--facilities", lambda t: _write(
        t / "f.csv", "kind,name,lon,lat\nmarket,ｸﾘﾆｯｸ,".encode("shift_jis") + b"\x80\n"),
     ("f.csv", "encoding")),
    ("geojson_not_json", "--facilities", lambda t: _write(t / "f.geojson", "{'type': oops"),
     ("f.geojson", "not a vector file")),
    ("boundary_geojson_not_json", "--boundary", lambda t: _write(t / "b.geojson", "[1, 2"),
     ("b.geojson",)),
    ("shapefile_without_shx", "--boundary", lambda t: _shapefile_without(t / "b.shp", ".shx"),
     ("b.shp", ".shx")),
    ("shapefile_without_prj", "--boundary", lambda t: _shapefile_without(t / "b.shp", ".prj"),
     ("b.shp", "no CRS")),
    ("gpkg_without_layers", "--boundary", lambda t: _empty_gpkg(t / "b.gpkg"),
     ("b.gpkg", "GeoPackage with no layers")),
    ("boundary_is_a_point", "--boundary", lambda t: _gdf(t / "b.gpkg",
                                                         [shapely.Point(LON0, LAT0)]),
     ("b.gpkg", "polygon")),
    ("boundary_empty_collection", "--boundary", lambda t: _write(
        t / "b.geojson", '{"type": "FeatureCollection", "features": []}'), ("b.geojson",)),
]


@pytest.mark.parametrize(("flag", "builder", "expected"), [c[1:] for c in VECTOR_CASES],
                         ids=[c[0] for c in VECTOR_CASES])
def test_bad_vector(tmp_path, capsys, flag, builder, expected):
    osm = write_small_osm(tmp_path / "area.osm")
    _one_line_error(tmp_path, capsys, _run(osm, tmp_path / "out", flag, builder(tmp_path)),
                    *expected)


@pytest.mark.parametrize("encoding", ["big5", "gbk", "utf-8-sig"])
def test_chinese_tables_in_each_encoding_are_read(tmp_path, encoding):
    """A clinic named in traditional (Big5) or simplified (GBK) characters keeps its name."""
    name = "社區衛生服務站" if encoding == "big5" else "社区卫生服务站"
    csv = _write(tmp_path / "f.csv", f"kind,name,lon,lat\nhealth_centre,{name},{_CLINIC}\n"
                 .encode(encoding))
    osm = write_small_osm(tmp_path / "area.osm")
    card = _ok(tmp_path, _run(osm, tmp_path / "out", "--facilities", csv,
                              "--no-osm-facilities"))
    table = pd.read_csv(tmp_path / "out" / "facilities.csv", encoding="utf-8-sig")
    assert list(table["name"]) == [name]
    assert card["metrics"]["walk_coverage.health_centre"]["value"] > 0


def test_facilities_in_two_crs_are_both_counted(tmp_path):
    """One file in Web Mercator, one CSV in WGS84: both reprojected, both clinics kept."""
    mercator = gpd.GeoDataFrame({"kind": ["market"], "name": ["M"]},
                                geometry=[shapely.Point(LON0 + 5 * DLON, LAT0 + 5 * DLAT)],
                                crs="EPSG:4326").to_crs("EPSG:3857")
    mercator.to_file(tmp_path / "m.gpkg")
    csv = _write(tmp_path / "f.csv", f"kind,name,lon,lat\nmarket,W,{_CLINIC}\n")
    osm = write_small_osm(tmp_path / "area.osm")
    _ok(tmp_path, _run(osm, tmp_path / "out", "--no-osm-facilities", "--facilities",
                       tmp_path / "m.gpkg", "--facilities", csv))
    table = gpd.read_file(tmp_path / "out" / "coverage.gpkg", layer="facilities")
    assert sorted(table["name"]) == ["M", "W"]
    lonlat = table.to_crs("EPSG:4326").set_index("name").geometry
    assert lonlat["M"].x == pytest.approx(LON0 + 5 * DLON, abs=1e-7)
    assert lonlat["W"].y == pytest.approx(LAT0 + 2 * DLAT, abs=1e-6)


# --- YAML: configuration (run --config) and scenario files -------------------------------------


def _scenario(tmp: Path, text: str, encoding: str = "utf-8") -> Path:
    write_small_osm(tmp / "area.osm")
    head = "name: 测试\nosm: area.osm\nresidential_density: 100\nkinds: [park, market]\n" \
           "figures: false\n"
    return _write(tmp / "s.yaml", (head + text).encode(encoding))


def _config(tmp: Path, text: str, encoding: str = "utf-8") -> Path:
    write_small_osm(tmp / "area.osm")
    return _write(tmp / "c.yaml", ("osm: area.osm\n" + text).encode(encoding))


_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi",
                                                                 strict=True))

YAML_CASES = [
    ("config_gbk", "config", lambda t: _config(t, "region: 四川\nresidential_density: 100\n",
                                               "gbk"), ("c.yaml", "UTF-8")),
    ("scenario_gbk", "scenario", lambda t: _scenario(t, "description: 新建\n", "gbk"),
     ("s.yaml", "UTF-8")),
    ("config_deeply_nested", "config", lambda t: _config(t, "kinds: " + "[" * 5000 + "]" * 5000),
     ("c.yaml", "nested")),
    ("scenario_deeply_nested", "scenario", lambda t: _scenario(
        t, "interventions:\n" + "".join(" " * i + "- \n" for i in range(0, 4000, 2))),
     ("s.yaml",)),
    ("config_inf_density", "config", lambda t: _config(t, "residential_density: .inf\n"),
     ("c.yaml:2", "residential_density")),
    ("config_nan_snap", "config", lambda t: _config(t, "residential_density: 100\n"
                                                    "max_snap_m: .nan\n"),
     ("c.yaml:3", "max_snap_m")),
    ("config_1e300_total", "config", lambda t: _config(t, "population_total: 1.0e+300\n"),
     ("c.yaml:2", "population_total")),
    ("config_nan_threshold", "config", lambda t: _config(t, "residential_density: 100\n"
                                                         "thresholds_m: {market: .nan}\n"),
     ("c.yaml", "threshold for market")),
    ("scenario_park_without_size", "scenario", lambda t: _scenario(
        t, f"interventions:\n  - add: {{kind: park, name: 新公园, lon: {LON0 + 0.003}, "
           f"lat: {LAT0 + 0.003}}}\n"), ("s.yaml:7", "size_m2")),
    ("scenario_inf_people", "scenario", lambda t: _scenario(
        t, "interventions:\n  - grow: {polygon: [[104.06, 30.66], [104.07, 30.66], "
           "[104.07, 30.67]], people: .inf}\n"), ("s.yaml", "people")),
    ("config_duplicate_key", "config", lambda t: _config(
        t, "residential_density: 100\nresidential_density: 5\n"),
     ("c.yaml:3", "residential_density", "twice")),
    ("scenario_duplicate_key", "scenario", lambda t: _scenario(
        t, "interventions:\n  - add: {kind: market, name: A, name: B, lon: 104.06, "
           "lat: 30.66}\n"), ("s.yaml:7", "name", "twice")),
    ("config_yaml_bomb", "config", lambda t: _config(t, "residential_density: 100\n" + _LAUGHS
                                                     + "kinds: *i\n"), ("c.yaml", "alias")),
    ("scenario_yaml_bomb", "scenario", lambda t: _scenario(t, _LAUGHS + "interventions: *i\n"),
     ("s.yaml", "alias")),
    ("config_is_a_list", "config", lambda t: _write(t / "c.yaml", "- osm: a.osm\n- x\n"),
     ("c.yaml", "expected a mapping")),
    ("scenario_is_a_list", "scenario", lambda t: _write(t / "s.yaml", "- name: x\n"),
     ("s.yaml", "expected a mapping")),
    ("config_empty", "config", lambda t: _write(t / "c.yaml", ""),
     ("c.yaml", "expected a mapping")),
    ("config_python_tag", "config", lambda t: _write(
        t / "c.yaml", "osm: !!python/object/apply:os.system ['touch pwned']\n"),
     ("c.yaml:1", "not valid YAML")),
    ("scenario_interventions_mapping", "scenario", lambda t: _scenario(
        t, "interventions: {add: {kind: market}}\n"), ("s.yaml:6", "interventions")),
]


@pytest.mark.parametrize(("command", "builder", "expected"), [c[1:] for c in YAML_CASES],
                         ids=[c[0] for c in YAML_CASES])
def test_bad_yaml(tmp_path, capsys, monkeypatch, command, builder, expected):
    monkeypatch.chdir(tmp_path)
    path = builder(tmp_path)
    argv = (["run", "--config", path] if command == "config" else ["scenario", path]) + \
        ["--out", tmp_path / "out"]
    started = time.perf_counter()
    _one_line_error(tmp_path, capsys, argv, *expected)
    assert time.perf_counter() - started < 10
    assert not (tmp_path / "pwned").exists()
