"""A small run's map is drawn from its layers in memory (:mod:`lifecircle.maps.as_written`) by a
process forked as writing starts: the same page, byte for byte, as ``lifecircle map DIR``
draws from the folder written, and the same layers as a read of coverage.gpkg gives."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import LineString, MultiPolygon, Point, box
from shapely.geometry import Polygon

import lifecircle
from lifecircle import forked
from lifecircle.cli import main
from lifecircle.data import sample_path
from lifecircle.maps import as_written, write_map
from lifecircle.maps.as_written import as_read_back, folder_as_written
from lifecircle.maps.folder import read_folder
from lifecircle.output import json_text, write_layers


def same_layers(made: dict[str, gpd.GeoDataFrame], read: dict[str, gpd.GeoDataFrame]) -> None:
    """The layers of :func:`folder_as_written` are those read back: names and order, columns,
    dtypes, CRS, index, geometry types, WKB and values (NaN where NaN)."""
    assert list(made) == list(read)
    for name, back in read.items():
        frame = made[name]
        assert list(frame.columns) == list(back.columns), name
        assert list(frame.dtypes.astype(str)) == list(back.dtypes.astype(str)), name
        assert frame.crs == back.crs and frame.crs.srs == back.crs.srs, name
        assert frame.index.equals(back.index), name
        assert list(frame.geom_type) == list(back.geom_type), name
        assert (frame.geometry.to_wkb() == back.geometry.to_wkb()).all(), name
        pd.testing.assert_frame_equal(frame.drop(columns=frame.geometry.name),
                                      back.drop(columns=back.geometry.name), check_exact=True)


@pytest.mark.parametrize("lang, flags", [("zh", []), ("en", ["--facility-circles"])])
def test_the_map_drawn_from_memory_is_the_map_of_the_folder(tmp_path, monkeypatch, lang, flags):
    monkeypatch.setattr(forked, "MAX_FORK_RESIDENT_BYTES", 1 << 50)  # a small run at any size
    made = []
    real = as_written.folder_as_written
    monkeypatch.setattr(as_written, "folder_as_written",
                        lambda *args: made.append(real(*args)) or made[-1])
    out = tmp_path / "out"
    assert main(["run", "--osm", str(sample_path()), "--residential-density", "400",
                 "--region", "四川", "--lang", lang, "--no-figures", "--out", str(out),
                 *flags]) == 0
    assert len(made) == 1 and made[0] is not None, "the map was drawn from memory"
    drawn = (out / "map.html").read_bytes()
    assert write_map(out, lang=lang).read_bytes() == drawn
    if flags:
        assert "service_circles" in made[0].layers


def test_the_layers_in_memory_are_the_layers_read_back(tmp_path):
    study = lifecircle.Study.from_osm(sample_path(), residential_density=400)
    result = lifecircle.run(study)
    layers = result._gpkg_layers()  # the analysis and basemap layers written to coverage.gpkg
    out = result.to_folder(tmp_path / "out", figures=False)
    card = (out / "scorecard.json").read_text(encoding="utf-8")
    assert card == json_text(result.scorecard())
    made, read = folder_as_written(out, card, layers), read_folder(out)
    assert made.scorecard == read.scorecard
    same_layers(made.layers, read.layers)


def test_every_round_trip_rule_matches_a_written_geopackage(tmp_path):
    """Single and multi polygons mixed, empty and missing geometries, a scrambled index, ``fid``,
    and each column dtype the rules keep or turn to text."""
    polygons = [box(0, 0, 1, 1), MultiPolygon([box(2, 2, 3, 3), box(4, 4, 5, 5)]), Polygon(),
                None, box(6, 6, 7, 7)]
    mixed = gpd.GeoDataFrame({
        "fid": ["w1", "w2", "w3", "w4", "n5"],
        "kind": pd.Categorical(["park", "park", "school", "park", "park"]),
        "name": ["人民公园", None, "x", "y", None],
        "nothing": pd.Series([None] * 5, dtype=object),
        "count": np.arange(5, dtype=np.int32),
        "big": np.arange(5, dtype=np.int64) * 10**12,
        "share": np.array([0.5, np.nan, 1.0, 0.25, 0.125], dtype=np.float32),
        "metres": [1.5, np.inf, np.nan, -0.0, 3.0],
        "covered": [True, False, True, True, False],
    }, geometry=polygons, index=[9, 3, 7, 1, 5], crs=32648)
    lines = gpd.GeoDataFrame({"class": ["primary", "residential"]}, crs=4326,
                             geometry=[LineString([(104.0, 30.6), (104.1, 30.7)]),
                                       LineString([(104.0, 30.6), (104.0, 30.7)])])
    points = gpd.GeoDataFrame({"name": ["成都"]}, geometry=[Point(104.06, 30.66)],
                              crs=4326).rename_geometry("geom")
    layers = {"residential": mixed, "base_streets": lines, "base_places": points,
              "catchments": mixed.iloc[:0]}
    card = json_text({"metrics": {"m": {"value": float("nan")}}, "population": {},
                      "study_area": {}})
    (tmp_path / "scorecard.json").write_text(card, encoding="utf-8")
    write_layers(tmp_path / "coverage.gpkg", layers)
    made, read = folder_as_written(tmp_path, card, layers), read_folder(tmp_path)
    assert made.scorecard == read.scorecard == json.loads(card)
    same_layers(made.layers, read.layers)
    assert list(made.layers["residential"].geom_type) == ["MultiPolygon"] * 3


def test_what_is_not_emulated_is_read_back_instead():
    when = gpd.GeoDataFrame({"at": pd.to_datetime(["2026-11-30"])}, geometry=[Point(0, 0)],
                            crs=32648)
    assert as_read_back(when) is None
    mixed = gpd.GeoDataFrame({"v": pd.Series([1, "a"], dtype=object)}, crs=32648,
                             geometry=[Point(0, 0), Point(1, 1)])
    assert as_read_back(mixed) is None
    custom = gpd.GeoDataFrame({"v": [1]}, geometry=[Point(0, 0)],
                              crs="+proj=tmerc +lon_0=104.1 +k=1 +x_0=500000 +ellps=GRS80")
    assert as_read_back(custom) is None
    card = json_text({"metrics": {}, "population": {}, "study_area": {}})
    assert folder_as_written("out", card, {"facilities": when}) is None
