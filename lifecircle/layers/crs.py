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


#: Largest scale error of a user-named CRS over the study area (distances within 1 %).
MAX_SCALE_ERROR = 0.01


def choose_local_crs(lon: float, lat: float, requested: str | None = None,
                     extent: tuple[float, float, float, float] | None = None) -> CRS:
    """The metric CRS for a study area centred at (lon, lat).

    Parameters
    ----------
    lon, lat : centre of the study area in WGS84 degrees
    requested : ``None`` or ``"utm"`` for the UTM zone of the centre, ``"cgcs2000"`` for the
        CGCS2000 3° Gauss-Krüger zone, or any CRS pyproj understands (``"EPSG:4544"``)
    extent : (min lon, min lat, max lon, max lat) of the area: a user-named CRS whose scale error
        there exceeds 1 % is refused (Web Mercator, a far UTM zone)

    Returns
    -------
    pyproj.CRS, projected, in metres

    Examples
    --------
    >>> choose_local_crs(104.08, 30.69).to_epsg()
    32648
    >>> choose_local_crs(104.08, 30.69, "EPSG:3857")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lifecircle.errors.InputError: --crs EPSG:3857: distorts distances here by 16.3 % ...
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
    check_scale(crs, requested, extent or (lon, lat, lon, lat))
    return crs


def check_scale(crs: CRS, label: str, extent: tuple[float, float, float, float]) -> None:
    """Refuse a CRS whose scale error at the corners or centre of ``extent`` exceeds 1 %.

    Raises
    ------
    InputError
        Naming the CRS and the distortion measured.
    """
    from pyproj import Proj

    west, south, east, north = extent
    lons = np.array([west, east, west, east, (west + east) / 2])
    lats = np.array([south, south, north, north, (south + north) / 2])
    factors = Proj(crs).get_factors(lons, lats)
    scales = np.concatenate([np.asarray(factors.meridional_scale),
                             np.asarray(factors.parallel_scale)])
    if not np.isfinite(scales).all():
        raise InputError(f"--crs {label}", "is not defined over the study area")
    worst = scales[np.argmax(np.abs(scales - 1.0))]
    if abs(worst - 1.0) > MAX_SCALE_ERROR:
        raise InputError(f"--crs {label}",
                         f"distorts distances here by {abs(worst - 1) * 100:.1f} % (scale "
                         f"{worst:.3f} over the area); choose the UTM zone (default) or cgcs2000")


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
