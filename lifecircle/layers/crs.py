"""Choosing the local metric CRS every layer is projected to."""

from __future__ import annotations

import math

from pyproj import CRS
from pyproj.exceptions import CRSError

from lifecircle.errors import InputError


def utm_crs(lon: float, lat: float) -> CRS:
    """WGS84 / UTM zone containing a point (EPSG:326xx north, 327xx south)."""
    zone = min(max(int(math.floor((lon + 180.0) / 6.0)) + 1, 1), 60)
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def cgcs2000_gk3_crs(lon: float) -> CRS:
    """CGCS2000 3-degree Gauss-Krüger zone (central meridian nearest ``lon``), EPSG:4534-4554.

    These are the "CM" variants without a zone prefix in the false easting, the ones Chinese
    planning offices use for county-level work (central meridians 75°E to 135°E).
    """
    central = round(lon / 3.0) * 3
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
