"""A second catalogue of bad inputs, by family (issue 16, part 4): malformed OSM, rasters,
vectors, YAML, output paths, missing optional dependencies and degenerate networks.

Each bad input goes through the CLI in-process and must end in exit code 2, one stderr line
naming the input and the problem, no traceback and nothing written. Inputs that are valid after
all (unsorted node ids, a Big5 table, a raster in CGCS2000 degrees, facilities in two CRSs) must
give exit 0 and the right answer. Every fixture is generated here, small, in ``tmp_path``.
"""

from __future__ import annotations

import bz2
import gzip
import json
import shutil
import sqlite3
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from rasterio.transform import Affine, from_origin

from lifecircle.cli import main
from lifecircle.data import sample_path
from tests.osm_fixture import DLAT, DLON, LAT0, LON0, write_small_osm

pytestmark = pytest.mark.bad_input

# --- the check every case goes through --------------------------------------------------------


def _snapshot(root: Path) -> dict[str, tuple[bool, int, int]]:
    """Every path under ``root`` with (is a folder, size, mtime): any write changes it."""
    return {str(p.relative_to(root)): (p.is_dir(), p.stat().st_size if p.is_file() else 0,
                                       p.stat().st_mtime_ns if p.is_file() else 0)
            for p in root.rglob("*")}


def _one_line_error(tmp_path: Path, capsys, argv: list[str], *expected: str) -> str:
    """Run the CLI; exit 2, exactly one error line holding every ``expected`` text, no
    traceback, nothing under ``tmp_path`` created, removed or changed."""
    before = _snapshot(tmp_path)
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert code == 2, err
    assert len(errors) == 1, err
    for text in expected:
        assert text in errors[0], err
    assert "Traceback" not in err
    assert _snapshot(tmp_path) == before
    return errors[0]


def _run(osm: Path, out: Path, *extra: str) -> list[str]:
    """Fast run arguments: clinics only, no figures, a modelled population unless given."""
    population = [] if "--population" in extra else ["--residential-density", "100"]
    return ["run", "--osm", str(osm), *population, "--kinds", "clinic", "--no-figures",
            "--out", str(out), *extra]


def _ok(tmp_path: Path, argv: list[str]) -> dict:
    code = main([str(a) for a in argv])
    assert code == 0
    out = Path(argv[argv.index("--out") + 1])
    return json.loads((out / "scorecard.json").read_text(encoding="utf-8"))


# --- malformed OSM ----------------------------------------------------------------------------


def _node(i: int, lon: str, lat: str, tags: str = "") -> str:
    return f"<node id='{i}' lat='{lat}' lon='{lon}'>{tags}</node>"


def _way(i: int | str, refs, tags: str = "<tag k='highway' v='residential'/>") -> str:
    return f"<way id='{i}'>{''.join(f'<nd ref={chr(39)}{r}{chr(39)}/>' for r in refs)}{tags}</way>"


def _cross(lat1: str = f"{LAT0 + DLAT:.7f}", lon3: str = f"{LON0 + DLON:.7f}") -> list[str]:
    """Two streets crossing at node 2: 1-2-3 north-south and 4-2-5 east-west."""
    return [_node(1, f"{LON0:.7f}", f"{LAT0 - DLAT:.7f}"), _node(2, f"{LON0:.7f}", f"{LAT0:.7f}"),
            _node(3, f"{LON0:.7f}", lat1), _node(4, f"{LON0 - DLON:.7f}", f"{LAT0:.7f}"),
            _node(5, lon3, f"{LAT0:.7f}")]


def _xml(*body: str, head: str = "") -> str:
    return ("<?xml version='1.0' encoding='UTF-8'?>" + head + "<osm version='0.6'>"
            + "".join(body) + "</osm>")


def _write(path: Path, data: str | bytes) -> Path:
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


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
    assert shuffled["metrics"]["walk_coverage.clinic"]["value"] == pytest.approx(
        sorted_card["metrics"]["walk_coverage.clinic"]["value"])
    assert shuffled["population"]["total"] == pytest.approx(sorted_card["population"]["total"])


# --- rasters ----------------------------------------------------------------------------------


def _tif(path: Path, values, *, crs="EPSG:4326", transform=None, nodata=-99999.0,
         dtype="float64") -> Path:
    values = np.asarray(values, dtype=dtype)
    profile = {"driver": "GTiff", "height": values.shape[0], "width": values.shape[1],
               "count": 1, "dtype": dtype, "nodata": nodata,
               "transform": transform or from_origin(LON0 - 0.001, LAT0 + 0.008, 0.00083,
                                                     0.00083)}
    if crs:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values, 1)
    return path


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
