"""map.html at city scale: above a size threshold the population cells (and each kind's
covered area) are one PNG image overlay, not GeoJSON. Forced here on the Chengdu run by lowering
the thresholds: the overlay is used, its pixels carry each cell's distance-class colour, and the
page opens in headless Chromium without errors."""

from __future__ import annotations

import base64
import io
import re
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from PIL import Image, ImageColor

from lifecircle.maps import folder as folder_module
from lifecircle.maps import webmap, write_map
from lifecircle.maps.folder import read_folder, shared_reads
from lifecircle.maps.styles import DistanceClasses
from tests.browser_helpers import opened
from tests.test_maps import run_chengdu

OVERLAY = re.compile(r'L\.imageOverlay\(\s*"data:image/png;base64,([^"]+)",\s*'
                     r"\[\[([-\d.e]+),\s*([-\d.e]+)\],\s*\[([-\d.e]+),\s*([-\d.e]+)\]\]")


@pytest.fixture(scope="module")
def scaled(tmp_path_factory) -> Path:
    """A copy of the Chengdu run whose map was written with both thresholds forced to 10."""
    folder = tmp_path_factory.mktemp("scale") / "run"
    shutil.copytree(run_chengdu(tmp_path_factory), folder)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(webmap, "MAX_VECTOR_CELLS", 10)
        mp.setattr(webmap, "MAX_VECTOR_AREA_COORDS", 10)
        write_map(folder)
    return folder


def test_overlays_replace_cell_and_circle_polygons(scaled):
    html = (scaled / "map.html").read_text(encoding="utf-8")
    overlays = OVERLAY.findall(html)
    areas = gpd.read_file(scaled / "coverage.gpkg", layer="service_areas")
    # one for the cells, one per kind's covered area
    assert len(overlays) == 1 + areas["kind"].nunique()
    # no per-cell tooltip fields left: the cells are not GeoJSON features any more
    assert '"d":' not in html


def test_cell_pixels_have_their_distance_class_colour(scaled):
    """At every cell's centre the overlay's pixel is the colour of the cell's distance class
    (primary_school, the map's default kind), computed independently from the GeoPackage."""
    html = (scaled / "map.html").read_text(encoding="utf-8")
    data, south, west, north, east = OVERLAY.findall(html)[0]
    image = np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGBA"))
    cells = gpd.read_file(scaled / "coverage.gpkg", layer="population")
    kind = "primary_school"
    classes = DistanceClasses(read_folder(scaled).threshold_m(kind))
    expected = np.array([ImageColor.getrgb(c)[:3] for c in classes.colours])[
        classes.index(cells[f"dist_{kind}"].to_numpy(dtype=float))]
    box = gpd.GeoSeries(gpd.points_from_xy([float(west), float(east)],
                                           [float(south), float(north)]), crs=4326).to_crs(3857)
    x0, x1 = box.x.to_numpy()
    y0, y1 = box.y.to_numpy()
    centres = cells.geometry.to_crs(3857).centroid
    col = ((centres.x.to_numpy() - x0) / (x1 - x0) * image.shape[1]).astype(int)
    row = ((y1 - centres.y.to_numpy()) / (y1 - y0) * image.shape[0]).astype(int)
    got = image[row, col]
    assert (got[:, 3] == round(255 * 0.62)).all()  # every cell painted, at the map's opacity
    assert (got[:, :3] == expected).all()
    assert (image[..., 3] == 0).any()  # and the land without cells stays transparent


@pytest.mark.browser
def test_overlay_map_opens_in_chromium(scaled):
    with opened(scaled / "map.html") as state:
        # the population image is shown and decoded (a broken data URL has no natural width)
        widths = state.page.eval_on_selector_all(
            "img.leaflet-image-layer", "imgs => imgs.map(i => i.complete ? i.naturalWidth : -1)")
    errors = state.errors
    assert errors == []
    assert widths and all(w > 0 for w in widths)


def test_a_city_shared_read_reads_only_the_drawn_cell_columns(tmp_path_factory):
    """Above MAX_VECTOR_CELLS a run's shared read of its folder reads the population cells
    with only the columns drawn (population, dist_*), and the map is the same page, byte for
    byte, as from a read of every column."""
    folder = tmp_path_factory.mktemp("shared-read") / "run"
    shutil.copytree(run_chengdu(tmp_path_factory), folder)
    every_column = gpd.read_file(folder / "coverage.gpkg", layer="population").columns
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(folder_module, "MAX_VECTOR_CELLS", 10)
        mp.setattr(webmap, "MAX_VECTOR_CELLS", 10)
        full = write_map(folder).read_bytes()  # outside a shared read: every column
        with shared_reads(folder):
            cells = read_folder(folder).layers["population"]
            shared = write_map(folder).read_bytes()
    drawn = {c for c in every_column if c == "population" or c.startswith("dist_")}
    assert set(cells.columns) == drawn | {"geometry"}
    assert len(every_column) > len(cells.columns)  # e.g. nearest_*, demand, scores dropped
    assert shared == full
