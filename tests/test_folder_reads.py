"""An output folder is read once for all the writers of a run, and again when it changes."""

from __future__ import annotations

import geopandas as gpd
import shapely

from lifecircle.maps.folder import read_folder, shared_reads
from lifecircle.output import write_json, write_layers


def _folder(tmp_path):
    write_json(tmp_path / "scorecard.json", {"metrics": {}, "population": {}, "study_area": {}})
    write_layers(tmp_path / "coverage.gpkg", {"study_area": gpd.GeoDataFrame(
        geometry=[shapely.box(0, 0, 100, 100)], crs="EPSG:32648")})
    return tmp_path


def test_reads_are_shared_inside_the_block_only(tmp_path):
    folder = _folder(tmp_path)
    with shared_reads(folder):
        first = read_folder(folder)
        assert read_folder(folder) is first
        assert read_folder(str(folder / ".." / folder.name)) is first  # same folder, other path
    assert read_folder(folder) is not first
    assert read_folder(folder) is not read_folder(folder)


def test_a_changed_geopackage_is_read_again(tmp_path):
    folder = _folder(tmp_path)
    with shared_reads(folder):
        first = read_folder(folder)
        write_layers(folder / "coverage.gpkg", {"facilities": gpd.GeoDataFrame(
            {"kind": ["park"]}, geometry=[shapely.Point(50, 50)], crs="EPSG:32648")})
        again = read_folder(folder)
    assert again is not first
    assert "facilities" in again.layers and "facilities" not in first.layers
