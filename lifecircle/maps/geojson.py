"""Layers as light GeoJSON for the web map: simplified, in WGS84, coordinates rounded."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from lifecircle.errors import InputError

#: Coordinates are written with 6 decimals of a degree (about 0.1 m).
DECIMALS = 6

#: Simplification tolerance in metres (in the run's projected CRS, before reprojecting).
TOLERANCE_M = 1.0


def to_wgs84(geometry: gpd.GeoSeries, name: str, simplify: bool = True) -> gpd.GeoSeries:
    """Simplify in the projected CRS, reproject to WGS84 and round coordinates.

    Parameters
    ----------
    geometry : GeoSeries
        A layer's geometries in the run's projected CRS.
    name : str
        The layer's name, for the error message.
    simplify : bool
        False: no simplification (layers drawn as images, where a topology-preserving
        simplification of a city-wide polygon costs minutes and changes no pixel).

    Returns
    -------
    GeoSeries
        In EPSG:4326, coordinates rounded to ``DECIMALS`` decimals; same index.

    Raises
    ------
    InputError
        When the layer has no CRS.
    """
    if geometry.crs is None:
        raise InputError(f"coverage.gpkg layer {name}", "has no coordinate reference system")
    if geometry.crs.is_projected and simplify:
        geometry = geometry.simplify(TOLERANCE_M, preserve_topology=True)
    wgs84 = geometry.to_crs(4326)
    rounded = shapely.transform(wgs84.values, lambda xy: np.round(xy, DECIMALS))
    return gpd.GeoSeries(rounded, index=wgs84.index, crs=wgs84.crs)


def wgs84_bounds(geometry: gpd.GeoSeries) -> np.ndarray:
    """``geometry.to_crs(4326).total_bounds`` from each distinct vertex reprojected once,
    without rebuilding the geometries (a city's population cells share their corners: a fifth
    of the work). The same numbers: PROJ transforms each point on its own, and the bounds of
    polygons are those of their vertices.

    Examples
    --------
    >>> cells = gpd.GeoSeries([shapely.box(500000, 0, 500100, 100),
    ...                        shapely.box(500100, 0, 500200, 100)], crs=32648)
    >>> bool((wgs84_bounds(cells) == cells.to_crs(4326).total_bounds).all())
    True
    """
    from pyproj import Transformer

    if geometry.crs is None:
        raise InputError("map layer", "has no coordinate reference system")
    xy = shapely.get_coordinates(np.asarray(geometry.values))
    if len(xy) == 0:
        return np.full(4, np.nan)
    # distinct points by one sort of (x, y) as complex numbers (np.unique's hashing of complex
    # values measured twice as slow)
    points = np.sort(np.ascontiguousarray(xy).view(np.complex128).ravel())
    unique = points[np.r_[True, points[1:] != points[:-1]]]
    # always_xy, as geopandas' to_crs builds its transformer
    x, y = Transformer.from_crs(geometry.crs, 4326, always_xy=True).transform(unique.real,
                                                                              unique.imag)
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return np.array([np.nanmin(x), np.nanmin(y), np.nanmax(x), np.nanmax(y)])


def feature_collection(geometry: gpd.GeoSeries,
                       properties: Sequence[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A GeoJSON FeatureCollection; feature ``id`` is the row number as a string.

    Parameters
    ----------
    geometry : GeoSeries
        WGS84 geometries (see ``to_wgs84``).
    properties : sequence of dict, optional
        One dict per geometry, JSON-ready values only.
    """
    props = properties if properties is not None else [{}] * len(geometry)
    if len(props) != len(geometry):
        raise ValueError("one properties dict per geometry")
    texts = shapely.to_geojson(np.asarray(geometry.values))
    page = _PAGE_GEOMETRIES.get()
    if page is not None:  # a page being built: GEOS' text goes into it as it is
        first = len(page)
        page.extend(texts)
        geoms: list[Any] = [{"type": _PLACEHOLDER.format(first + i)} for i in range(len(texts))]
    else:
        # GEOS writes the geometries (shapely.to_geojson) and one json.loads reads them all
        # back: shapely's per-vertex ``mapping`` was most of a city map's writing time; the
        # doubles round-trip exactly, so the numbers are the rounded ones
        geoms = json.loads("[" + ",".join(texts) + "]")
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": str(i), "properties": prop, "geometry": geom}
            for i, (geom, prop) in enumerate(zip(geoms, props, strict=True))
        ],
    }


#: the GeoJSON texts of the page being built (:func:`page_geometries`), in order of use
_PAGE_GEOMETRIES: ContextVar[list[str] | None] = ContextVar("page_geometries", default=None)
_PLACEHOLDER = "@@lifecircle-geometry-{}@@"
#: a placeholder geometry as folium's ``tojson`` writes it
_PLACED = re.compile(r'\{"type": "@@lifecircle-geometry-(\d+)@@"\}')


@contextmanager
def page_geometries() -> Iterator[list[str]]:
    """While a page is built and rendered inside the block, :func:`feature_collection` gives
    each geometry as a placeholder and keeps GEOS' GeoJSON text aside; :func:`put_geometries`
    then puts the texts in the rendered page. The page is the same but for the geometries'
    spacing and key order, without parsing GEOS' text into dicts for folium to write back
    (central Chengdu's map: a quarter of its drawing time). Outside a block (a map shown in
    Jupyter) the geometries are plain dicts.

    Examples
    --------
    >>> series = gpd.GeoSeries([shapely.Point(104.06, 30.66)])
    >>> with page_geometries() as texts:
    ...     page = json.dumps(feature_collection(series), sort_keys=True)
    >>> json.loads(put_geometries(page, texts)) == feature_collection(series)
    True
    """
    texts: list[str] = []
    token = _PAGE_GEOMETRIES.set(texts)
    try:
        yield texts
    finally:
        _PAGE_GEOMETRIES.reset(token)


def put_geometries(page: str, texts: Sequence[str]) -> str:
    """The rendered ``page`` with each placeholder of :func:`page_geometries` replaced by its
    GeoJSON text (numbers, brackets and ASCII names only: safe inside ``<script>``).

    Raises
    ------
    RuntimeError
        When a geometry of the block is not found as folium's ``tojson`` writes it (a folium or
        Jinja release writing JSON otherwise): never a page with empty geometries.
    """
    page, placed = _PLACED.subn(lambda match: texts[int(match[1])], page)
    if placed != len(texts):
        raise RuntimeError(f"map page: {len(texts) - placed} of {len(texts)} geometries not "
                           "found in the rendered page")
    return page


class LazyWgs84(dict):
    """Each layer's geometry for GeoJSON (:func:`to_wgs84`), made on first use: a layer drawn
    as tiles or an image never needs its simplified WGS84 copy (simplifying a city's layers
    costs seconds). ``service_areas`` are not simplified (drawn as images).

    Examples
    --------
    >>> frame = gpd.GeoDataFrame(geometry=[shapely.Point(500000, 0)], crs=32648)
    >>> lazy = LazyWgs84({"facilities": frame})
    >>> "facilities" in lazy, len(dict.items(lazy))
    (True, 0)
    >>> round(float(lazy["facilities"].x.iloc[0]), 6)
    105.0
    """

    def __init__(self, layers: dict[str, gpd.GeoDataFrame]) -> None:
        super().__init__()
        self.layers = layers

    def __missing__(self, name: str) -> gpd.GeoSeries:
        self[name] = to_wgs84(self.layers[name].geometry, name,
                              simplify=name != "service_areas")
        return self[name]

    def __contains__(self, name: object) -> bool:
        return name in self.layers

    def items(self):  # type: ignore[override]
        """Every layer's geometry, each made when reached."""
        return ((name, self[name]) for name in self.layers)
