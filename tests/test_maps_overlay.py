"""overlay.image_overlay: the rings' vertices reprojected (not the geometries) give the image
that reprojecting the geometries and filling them gives, pixel for pixel."""

import base64
import io

import geopandas as gpd
import numpy as np
import shapely
from PIL import Image
from rasterio.transform import from_origin

from lifecircle.maps.overlay import (
    _median_half_side,
    _to_mercator,
    cell_pixel_m,
    image_overlay,
)
from lifecircle.maps.scanfill import Rings, fill_polygons


def _cells() -> gpd.GeoSeries:
    """100 m cells near Chengdu (UTM 48N), a few cut into two parts, one with a hole."""
    rng = np.random.default_rng(4)
    xs, ys = np.meshgrid(np.arange(404_000, 406_000, 100.0), np.arange(3_390_000, 3_391_500, 100.0))
    cells = list(shapely.box(xs.ravel(), ys.ravel(), xs.ravel() + 100, ys.ravel() + 100))
    keep = rng.random(len(cells)) > 0.2
    cells = [c for c, k in zip(cells, keep, strict=True) if k]
    cells[3] = shapely.difference(cells[3], shapely.box(cells[3].bounds[0] + 40, 0, 1e7, 1e9)
                                  ).union(shapely.box(cells[3].bounds[0] + 60, cells[3].bounds[1],
                                                      cells[3].bounds[2], cells[3].bounds[3]))
    cells[5] = cells[5].difference(cells[5].centroid.buffer(20))
    return gpd.GeoSeries(cells, crs=32648)


def test_pixel_size_from_rings_is_the_cells_one():
    cells = _cells()
    assert cells.geom_type.isin(["MultiPolygon"]).any()
    rings = Rings.of(np.asarray(cells.values), np.zeros(len(cells), dtype=np.uint8))
    rings.xy = _to_mercator(rings.xy, cells.crs)
    assert _median_half_side(rings) == cell_pixel_m(cells)


def test_image_is_the_reprojected_polygons_filled():
    cells = _cells()
    classes = np.arange(len(cells), dtype=np.uint8) % 3
    overlay = image_overlay(cells, classes, ["#ff0000", "#00ff00", "#0000ff"], 0.5, None)
    png = base64.b64decode(overlay.url.split(",", 1)[1])
    got = np.asarray(Image.open(io.BytesIO(png)))  # palette indices: the classes, 255 empty
    merc = cells.to_crs(3857)
    x0, y0, x1, y1 = merc.total_bounds
    pixel = cell_pixel_m(cells)
    shape = (int(np.ceil((y1 - y0) / pixel)), int(np.ceil((x1 - x0) / pixel)))
    expected = fill_polygons(np.asarray(merc.values), classes, shape,
                             from_origin(x0, y1, pixel, pixel), 255)
    assert got.shape == expected.shape
    assert (got == expected).all()
    assert set(np.unique(got).tolist()) == {0, 1, 2, 255}
    corners = gpd.GeoSeries(gpd.points_from_xy([x0, x0 + shape[1] * pixel],
                                               [y1 - shape[0] * pixel, y1]), crs=3857).to_crs(4326)
    assert overlay.bounds == [[float(corners.y.iloc[0]), float(corners.x.iloc[0])],
                              [float(corners.y.iloc[1]), float(corners.x.iloc[1])]]


def test_wgs84_bounds_are_those_of_the_reprojected_geometries():
    from lifecircle.maps.geojson import wgs84_bounds

    cells = _cells()
    assert (wgs84_bounds(cells) == cells.to_crs(4326).total_bounds).all()
    assert (wgs84_bounds(cells.iloc[5:9]) == cells.iloc[5:9].to_crs(4326).total_bounds).all()
