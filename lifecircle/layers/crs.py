"""Choosing the local metric CRS every layer is projected to; web-map geometries to WGS84."""

from __future__ import annotations

import math

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely.geometry.base import BaseGeometry

from lifecircle.errors import InputError
from lifecircle.layers.chinese_coords import check_system, to_wgs84


def utm_crs(lon: float, lat: float) -> CRS:
    """WGS84 / UTM zone containing a point (EPSG:326xx north, 327xx south)."""
    zone = min(max(int(math.floor((lon + 180.0) / 6.0)) + 1, 1), 60)
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def cgcs2000_gk3_crs(lon: float) -> CRS:
    """CGCS2000 3-degree Gauss-Krüger zone (central meridian nearest ``lon``), EPSG:4534-4554.

    These are the "CM" variants without a zone prefix in the false easting, the ones Chinese
    planning offices use for county-level work (central meridians 75°E to 135°E). Zone CM c
    covers ``c - 1.5 <= lon < c + 1.5``.
    """
    central = math.floor((lon + 1.5) / 3.0) * 3
    if not 75 <= central <= 135:
        raise InputError("--crs cgcs2000", f"longitude {lon:.3f} lies outside China's 3° zones")
    return CRS.from_epsg(4534 + (central - 75) // 3)


def choose_local_crs(lon: float, lat: float, requested: str | None = None) -> CRS:
    """The metric CRS for a study area centred at (lon, lat).

    Parameters
    ----------
    lon, lat : centre of the study area in WGS84 degrees
    requested : ``None`` or ``"utm"`` for the UTM zone of the centre, ``"cgcs2000"`` for the
        CGCS2000 3° Gauss-Krüger zone, or any CRS pyproj understands (``"EPSG:4547"``)

    Returns
    -------
    pyproj.CRS, projected, in metres
    """
    if requested is None or requested.lower() == "utm":
        return utm_crs(lon, lat)
    if requested.lower() == "cgcs2000":
        return cgcs2000_gk3_crs(lon)
    try:
        crs = CRS.from_user_input(requested)
    except CRSError:
        raise InputError(f"--crs {requested}", "is not a CRS pyproj knows") from None
    if not crs.is_projected or crs.axis_info[0].unit_name not in ("metre", "meter"):
        raise InputError(f"--crs {requested}", "is not a projected CRS in metres")
    return crs


def geometry_to_wgs84(geometry: BaseGeometry, system: str) -> BaseGeometry:
    """A geometry in WGS84, GCJ-02 (Amap, Tencent) or BD-09 (Baidu) degrees, in WGS84.

    Every vertex is converted (:func:`lifecircle.layers.chinese_coords.to_wgs84`); the topology is
    kept as it is, so callers make the result valid if they need to.

    Parameters
    ----------
    geometry : shapely geometry
        Longitude/latitude degrees in ``system``.
    system : str
        ``"wgs84"``, ``"gcj02"`` or ``"bd09"``.

    Returns
    -------
    shapely geometry
        The same geometry type, in WGS84 degrees.

    Raises
    ------
    InputError
        If ``system`` is not one of the three.
    """
    key = check_system(system)
    if key == "wgs84":
        return geometry
    return shapely.transform(
        geometry, lambda xy: np.column_stack(to_wgs84(xy[:, 0], xy[:, 1], key))
    )


def reproject_geometry(geom: BaseGeometry, src: CRS | str, dst: CRS | str) -> BaseGeometry:
    """Transform a geometry between CRSs, densified first (200 steps across its extent) so
    straight edges follow the target projection.
    """
    src, dst = CRS.from_user_input(src), CRS.from_user_input(dst)
    if src == dst:
        return geom
    xmin, ymin, xmax, ymax = geom.bounds
    step = max(xmax - xmin, ymax - ymin) / 200.0
    dense = shapely.segmentize(geom, step) if step > 0 else geom
    transformer = Transformer.from_crs(src, dst, always_xy=True)
    return shapely.transform(dense, lambda xy: np.column_stack(transformer.transform(*xy.T)))
