"""China's obfuscated web-map coordinates: GCJ-02 (Amap, Tencent) and BD-09 (Baidu) <-> WGS84.

Every function takes longitude and latitude in degrees as numpy arrays (or anything
``numpy.asarray`` accepts, scalars included) and returns a ``(lon, lat)`` pair of float64 arrays
of the broadcast shape.

GCJ-02 is the published transform (Krasovsky 1940 ellipsoid, a = 6378245.0 m,
e² = 0.00669342162296594323). Like the published algorithm it leaves points outside China's
rough bounding rectangle unchanged (:func:`out_of_china`). Its inverse has no closed form: it is
solved by fixed-point iteration over all points at once until the forward transform of the
estimate lies within ``tol_m`` metres of the input.

BD-09 adds Baidu's rotation and shift to GCJ-02 (x_pi = pi * 3000 / 180); it is applied
everywhere, without the China test, as the published formula and its reference implementations
do. Its inverse is solved exactly in the same way, starting from the published closed-form
approximation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lifecircle.errors import InputError

Coords = tuple[NDArray[np.float64], NDArray[np.float64]]

KRASOVSKY_A = 6378245.0
KRASOVSKY_EE = 0.00669342162296594323
X_PI = np.pi * 3000.0 / 180.0
SYSTEMS = ("wgs84", "gcj02", "bd09")

_METRES_PER_DEGREE = 111_320.0


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> Coords:
    """Broadcast ``lon`` and ``lat`` to float64 arrays of one shape (copies, never views)."""
    lon_a, lat_a = np.broadcast_arrays(
        np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    )
    return lon_a.copy(), lat_a.copy()


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Whether points lie outside the rectangle where GCJ-02 applies.

    Parameters
    ----------
    lon, lat : array_like
        Degrees.

    Returns
    -------
    numpy.ndarray of bool
        True where ``lon < 72.004 or lon > 137.8347 or lat < 0.8293 or lat > 55.8271``.
    """
    lon_a, lat_a = _as_arrays(lon, lat)
    return (lon_a < 72.004) | (lon_a > 137.8347) | (lat_a < 0.8293) | (lat_a > 55.8271)


def _gcj_offset(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> Coords:
    """The published GCJ-02 offset (degrees) at WGS84 points, ignoring the China test."""
    x = lon - 105.0
    y = lat - 35.0
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
    d_lat += common
    d_lat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    d_lat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
    d_lon += common
    d_lon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    d_lon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - KRASOVSKY_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * np.pi)
    d_lon = (d_lon * 180.0) / (KRASOVSKY_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return d_lon, d_lat


def _invert(
    forward: Callable[[ArrayLike, ArrayLike], Coords],
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    start: Coords,
    tol_m: float,
    max_iter: int,
) -> Coords:
    """Solve ``forward(x, y) == (lon, lat)`` by fixed-point iteration from ``start``.

    Each step subtracts the current residual ``forward(estimate) - target``; the offsets vary by
    well under a metre per kilometre, so every step shrinks the error about a thousandfold. Only
    points not yet within ``tol_m`` metres are iterated again.
    """
    x, y = start[0].copy(), start[1].copy()
    todo = np.arange(x.size)
    xf, yf, lonf, latf = x.reshape(-1), y.reshape(-1), lon.reshape(-1), lat.reshape(-1)
    for _ in range(max_iter):
        fx, fy = forward(xf[todo], yf[todo])
        rx = fx - lonf[todo]
        ry = fy - latf[todo]
        xf[todo] -= rx
        yf[todo] -= ry
        err_m = _METRES_PER_DEGREE * np.hypot(rx * np.cos(np.radians(latf[todo])), ry)
        todo = todo[err_m >= tol_m]
        if todo.size == 0:
            break
    return xf.reshape(lon.shape), yf.reshape(lon.shape)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> Coords:
    """WGS84 to GCJ-02 (the published transform; unchanged outside China).

    Parameters
    ----------
    lon, lat : array_like
        WGS84 degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        GCJ-02 degrees.
    """
    lon_a, lat_a = _as_arrays(lon, lat)
    inside = ~out_of_china(lon_a, lat_a)
    d_lon, d_lat = _gcj_offset(lon_a[inside], lat_a[inside])
    lon_a[inside] += d_lon
    lat_a[inside] += d_lat
    return lon_a, lat_a


def gcj02_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, tol_m: float = 0.001, max_iter: int = 30
) -> Coords:
    """GCJ-02 to WGS84, the exact inverse of :func:`wgs84_to_gcj02` by iteration.

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 degrees.
    tol_m : float
        Stop once ``wgs84_to_gcj02`` of every estimate lies within this many metres of the input.
    max_iter : int
        Guard on the number of iterations (three or four suffice inside China).

    Returns
    -------
    lon, lat : numpy.ndarray
        WGS84 degrees. Points outside China are returned unchanged.
    """
    lon_a, lat_a = _as_arrays(lon, lat)
    return _invert(wgs84_to_gcj02, lon_a, lat_a, (lon_a, lat_a), tol_m, max_iter)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> Coords:
    """GCJ-02 to BD-09 (Baidu's published transform).

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        BD-09 degrees.
    """
    x, y = _as_arrays(lon, lat)
    z = np.hypot(x, y) + 0.00002 * np.sin(y * X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(
    lon: ArrayLike, lat: ArrayLike, tol_m: float = 0.001, max_iter: int = 30
) -> Coords:
    """BD-09 to GCJ-02, the exact inverse of :func:`gcj02_to_bd09` by iteration.

    The published closed-form inverse (errors of a few centimetres) is the starting point.

    Parameters
    ----------
    lon, lat : array_like
        BD-09 degrees.
    tol_m : float
        Stop once ``gcj02_to_bd09`` of every estimate lies within this many metres of the input.
    max_iter : int
        Guard on the number of iterations.

    Returns
    -------
    lon, lat : numpy.ndarray
        GCJ-02 degrees.
    """
    lon_a, lat_a = _as_arrays(lon, lat)
    x = lon_a - 0.0065
    y = lat_a - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * X_PI)
    start = (z * np.cos(theta), z * np.sin(theta))
    return _invert(gcj02_to_bd09, lon_a, lat_a, start, tol_m, max_iter)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> Coords:
    """WGS84 to BD-09 (through GCJ-02).

    Parameters
    ----------
    lon, lat : array_like
        WGS84 degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        BD-09 degrees.
    """
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> Coords:
    """BD-09 to WGS84 (through GCJ-02, both steps solved exactly).

    Parameters
    ----------
    lon, lat : array_like
        BD-09 degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        WGS84 degrees.
    """
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def check_system(system: str) -> str:
    """The lower-case key of a coordinate system name.

    Parameters
    ----------
    system : str
        ``"wgs84"``, ``"gcj02"`` or ``"bd09"``, in any case.

    Returns
    -------
    str
        ``system`` in lower case.

    Raises
    ------
    InputError
        If ``system`` is not one of the three.
    """
    key = system.lower()
    if key not in SYSTEMS:
        raise InputError(f"coordinate system {system!r}", f"is not one of {', '.join(SYSTEMS)}")
    return key


def to_wgs84(lon: ArrayLike, lat: ArrayLike, system: str) -> Coords:
    """Coordinates in a named system to WGS84.

    Parameters
    ----------
    lon, lat : array_like
        Degrees in ``system``.
    system : str
        ``"wgs84"``, ``"gcj02"`` or ``"bd09"`` (case-insensitive).

    Returns
    -------
    lon, lat : numpy.ndarray
        WGS84 degrees.

    Raises
    ------
    InputError
        If ``system`` is not one of the three.
    """
    key = check_system(system)
    if key == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if key == "bd09":
        return bd09_to_wgs84(lon, lat)
    return _as_arrays(lon, lat)
