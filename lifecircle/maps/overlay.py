"""Polygons drawn as one PNG image overlay instead of GeoJSON, for maps at city scale.

A city's population grid (hundreds of thousands of cells) or its thousands of service circles
inlined as GeoJSON make a map.html of hundreds of MB that a browser needs minutes to open; one
image of the same colours opens at once. The image is rasterised in Web Mercator (EPSG:3857),
the projection Leaflet stretches an image overlay in, so pixels land where the polygons are.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import folium
import geopandas as gpd
import numpy as np

from lifecircle.maps.scanfill import Rings, fill_rings

#: largest side of an overlay image, pixels (assumption: 4,096 keeps a 50x city's PNG at a few
#: MB and within every browser's canvas limits)
MAX_SIDE_PX = 4096
#: value of pixels no polygon covers
_EMPTY = 255


def image_overlay(geometry: gpd.GeoSeries, classes: np.ndarray, colours: list[str],
                  opacity: float, pixel_m: float | None, name: str | None = None
                  ) -> folium.raster_layers.ImageOverlay:
    """One PNG overlay painting each polygon with its class's colour.

    Parameters
    ----------
    geometry : polygons, any CRS
    classes : class index (0..len(colours)-1) per polygon; where polygons of different
        classes overlap, the higher class is drawn
    colours : CSS hex colour per class
    opacity : alpha of painted pixels (0..1)
    pixel_m : wanted pixel size in metres of Web Mercator (enlarged if the image would exceed
        :data:`MAX_SIDE_PX`); None: half the median side of the polygons (grid cells, see
        :func:`cell_pixel_m`)
    name : overlay name (layer control)

    Returns
    -------
    folium.raster_layers.ImageOverlay
        The image inlined as a data URL, on the polygons' bounds.
    """
    from PIL import Image, ImageColor
    from rasterio import transform

    # the rings' vertices reprojected, not the geometries (the same numbers as to_crs without
    # rebuilding a city's polygons)
    rings = Rings.of(np.asarray(geometry.values), np.asarray(classes, dtype=np.uint8))
    rings.xy = _to_mercator(rings.xy, geometry.crs)
    x0, y0 = rings.xy.min(axis=0)
    x1, y1 = rings.xy.max(axis=0)
    if pixel_m is None:
        pixel_m = _median_half_side(rings)
    pixel = max(pixel_m, (x1 - x0) / MAX_SIDE_PX, (y1 - y0) / MAX_SIDE_PX)
    width, height = max(1, int(np.ceil((x1 - x0) / pixel))), max(1,
                                                                 int(np.ceil((y1 - y0) / pixel)))
    affine = transform.from_origin(x0, y1, pixel, pixel)
    # GDAL's pixel-centre fill in numpy (scanfill: rasterio's lists cost more than the fill)
    grid = fill_rings(rings, (height, width), affine, _EMPTY)
    # a palette image (one byte a pixel, not four): the same RGBA pixels, a fraction of the
    # encoding; index 255 stays transparent black
    palette = np.zeros((256, 3), dtype=np.uint8)
    alphas = np.zeros(256, dtype=np.uint8)
    for i, colour in enumerate(colours):
        palette[i] = ImageColor.getrgb(colour)[:3]
        alphas[i] = int(round(255 * opacity))
    image = Image.fromarray(grid, mode="P")
    image.putpalette(palette.tobytes())
    buffer = io.BytesIO()
    # zlib level 1, as the tiles: a 50x SYNTHETIC city's ten images encode in a third of the
    # time of level 6 for 1.6 MB more PNG (3.9 MB in all)
    image.save(buffer, format="PNG", transparency=alphas.tobytes(), compress_level=1)
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    # corners back to WGS84: Leaflet places the image between these (linear in Mercator)
    corners = gpd.GeoSeries(gpd.points_from_xy([x0, x0 + width * pixel],
                                               [y1 - height * pixel, y1]), crs=3857).to_crs(4326)
    south, north = float(corners.y.iloc[0]), float(corners.y.iloc[1])
    west, east = float(corners.x.iloc[0]), float(corners.x.iloc[1])
    kwargs: dict[str, Any] = {"name": name} if name else {}
    return folium.raster_layers.ImageOverlay(url, bounds=[[south, west], [north, east]],
                                             interactive=False, zindex=1,
                                             className="lifecircle-overlay", **kwargs)


def cell_pixel_m(geometry: gpd.GeoSeries) -> float:
    """Half the median side of the cells in Web Mercator metres (two pixels per cell side, so
    each cell's edge lands within half a pixel).

    Examples
    --------
    >>> import shapely
    >>> cells = gpd.GeoSeries([shapely.box(0, 0, 100, 100), shapely.box(0, 0, 50, 60)],
    ...                       crs=3857)
    >>> cell_pixel_m(cells)
    37.5
    """
    merc = geometry.to_crs(3857)
    b = merc.bounds
    side = np.minimum((b["maxx"] - b["minx"]).to_numpy(), (b["maxy"] - b["miny"]).to_numpy())
    return _half_median(side)


def _median_half_side(rings: Rings) -> float:
    """:func:`cell_pixel_m` from rings in Web Mercator (each geometry's vertices are
    consecutive: its bounds are the extremes of its run)."""
    if rings.xy.size == 0:
        return _half_median(np.zeros(0))
    owner = rings.owner[rings.group[rings.ring]]
    starts = np.r_[0, np.flatnonzero(owner[1:] != owner[:-1]) + 1]
    x, y = rings.xy[:, 0], rings.xy[:, 1]
    side = np.minimum(np.maximum.reduceat(x, starts) - np.minimum.reduceat(x, starts),
                      np.maximum.reduceat(y, starts) - np.minimum.reduceat(y, starts))
    return _half_median(side)


def _half_median(side: np.ndarray) -> float:
    side = side[np.isfinite(side) & (side > 0)]
    return float(np.median(side)) / 2.0 if side.size else 50.0


def _to_mercator(xy: np.ndarray, crs: Any) -> np.ndarray:
    """Coordinates to EPSG:3857 as ``GeoSeries.to_crs`` computes them (always_xy; none when
    the CRS is already it)."""
    from pyproj import CRS, Transformer

    target = CRS.from_epsg(3857)
    if crs is None:
        raise ValueError("overlay geometry has no CRS")
    if CRS.from_user_input(crs).is_exact_same(target) or len(xy) == 0:
        return xy
    x, y = Transformer.from_crs(crs, target, always_xy=True).transform(xy[:, 0], xy[:, 1])
    return np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])
