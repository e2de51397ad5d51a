"""Local CRS choice and the GCJ-02 / BD-09 <-> WGS84 conversions."""

from __future__ import annotations

import time

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS, Geod

from lifecircle.errors import InputError
from lifecircle.layers import chinese_coords as cc
from lifecircle.layers.crs import cgcs2000_gk3_crs, choose_local_crs, geometry_to_wgs84, utm_crs

GEOD = Geod(ellps="WGS84")


def distance_m(a: tuple, b: tuple) -> np.ndarray:
    """Geodesic distance in metres between (lon, lat) arrays ``a`` and ``b``."""
    lon_a, lat_a = np.broadcast_arrays(*map(np.asarray, a))
    lon_b, lat_b = np.broadcast_arrays(*map(np.asarray, b))
    return GEOD.inv(lon_a, lat_a, lon_b, lat_b)[2]


def central_meridian(crs: CRS) -> float:
    """The longitude of origin of a transverse Mercator CRS, read from pyproj."""
    params = {p.name: p.value for p in crs.coordinate_operation.params}
    return params["Longitude of natural origin"]


# --- published test points --------------------------------------------------------------------
# (function, input lon/lat, expected lon/lat, where the pair is published)
PUBLISHED = [
    # googollee/eviltransform python/test.py and go/transform_test.go (WGS84 -> GCJ-02)
    ("wgs84_to_gcj02", (121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),
    ("wgs84_to_gcj02", (113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),
    ("wgs84_to_gcj02", (116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),
    ("gcj02_to_wgs84", (121.531541859215, 31.17530398364597), (121.5272106, 31.1774276)),
    ("gcj02_to_wgs84", (113.9171764808363, 22.540796131694766), (113.912316, 22.543847)),
    ("gcj02_to_wgs84", (116.38404722455657, 39.91334545536069), (116.377817, 39.911954)),
    # wandergis/coordtransform test/app.js (the "//result" block)
    ("bd09_to_gcj02", (116.404, 39.915), (116.39762729119315, 39.90865673957631)),
    ("gcj02_to_bd09", (116.404, 39.915), (116.41036949371029, 39.92133699351021)),
    ("wgs84_to_gcj02", (116.404, 39.915), (116.41024449916938, 39.91640428150164)),
    ("gcj02_to_wgs84", (116.404, 39.915), (116.39775550083061, 39.91359571849836)),
    # hujiulong/gcoord test/unit/crs/{WGS84,GCJ02,BD09}.spec.ts
    ("wgs84_to_gcj02", (123.0, 45.0), (123.00607541, 45.00197815)),
    ("wgs84_to_bd09", (123.0, 45.0), (123.0124491, 45.0083293)),
    ("gcj02_to_wgs84", (123.0, 45.0), (122.99395597, 44.99804071)),
    ("gcj02_to_bd09", (123.0, 45.0), (123.00636499, 45.00636899)),
    ("bd09_to_gcj02", (123.0, 45.0), (122.99363304, 44.99365430)),
    ("bd09_to_wgs84", (123.0, 45.0), (122.98762210, 44.99171540)),
]


@pytest.mark.parametrize(("name", "given_xy", "expected"), PUBLISHED)
def test_published_points(name: str, given_xy: tuple, expected: tuple) -> None:
    got = getattr(cc, name)(*given_xy)
    assert distance_m(got, expected) < 0.5


def test_published_points_vectorised() -> None:
    """The same pairs through one array call per function give the same answers."""
    for name in {row[0] for row in PUBLISHED}:
        rows = [row for row in PUBLISHED if row[0] == name]
        lon, lat = np.array([r[1] for r in rows]).T
        got = getattr(cc, name)(lon, lat)
        want = np.array([r[2] for r in rows]).T
        assert np.all(distance_m(got, tuple(want)) < 0.5), name


# --- round trips over China's rectangle ---------------------------------------------------------
# The GCJ-02 offset is at most 0.011° (measured over the whole rectangle), so points 0.02° inside
# its edges stay inside after the offset. Closer to the edge the forward transform is not
# one-to-one (a point just outside is left unchanged while a point just inside is moved onto it),
# so no inverse can round-trip there.
china_lon = st.floats(72.004 + 0.02, 137.8347 - 0.02)
china_lat = st.floats(0.8293 + 0.02, 55.8271 - 0.02)


@settings(max_examples=500, deadline=None)
@given(china_lon, china_lat)
def test_gcj02_round_trip(lon: float, lat: float) -> None:
    gcj = cc.wgs84_to_gcj02(lon, lat)
    assert distance_m(cc.gcj02_to_wgs84(*gcj), (lon, lat)) < 0.01


@settings(max_examples=500, deadline=None)
@given(china_lon, china_lat)
def test_bd09_round_trips(lon: float, lat: float) -> None:
    assert distance_m(cc.bd09_to_wgs84(*cc.wgs84_to_bd09(lon, lat)), (lon, lat)) < 0.01
    assert distance_m(cc.bd09_to_gcj02(*cc.gcj02_to_bd09(lon, lat)), (lon, lat)) < 0.01


def test_outside_china_unchanged() -> None:
    lon = np.array([2.3522, -74.006, 151.2093, 137.9, 100.0])
    lat = np.array([48.8566, 40.7128, -33.8688, 35.0, 0.5])
    for fn in (cc.wgs84_to_gcj02, cc.gcj02_to_wgs84):
        out_lon, out_lat = fn(lon, lat)
        np.testing.assert_array_equal(out_lon, lon)
        np.testing.assert_array_equal(out_lat, lat)
    assert cc.out_of_china(lon, lat).all()
    assert not cc.out_of_china(104.08, 30.69)


def test_shapes_and_inputs_kept() -> None:
    lon = np.full((3, 4), 104.08)
    lat = np.full((3, 4), 30.69)
    out = cc.gcj02_to_wgs84(lon, lat)
    assert out[0].shape == (3, 4) and out[1].shape == (3, 4)
    assert np.all(lon == 104.08)  # inputs are not modified in place
    scalar = cc.wgs84_to_gcj02(104.08, 30.69)
    assert scalar[0].shape == () and float(scalar[0]) != 104.08


def test_iteration_guard() -> None:
    """One step is not enough for the centimetre target; the guard still returns finite values."""
    wgs = (np.array([104.08]), np.array([30.69]))
    gcj = cc.wgs84_to_gcj02(*wgs)
    one_step = cc.gcj02_to_wgs84(*gcj, max_iter=1)
    assert np.all(np.isfinite(one_step))
    assert distance_m(one_step, wgs)[0] > 0.01
    assert distance_m(cc.gcj02_to_wgs84(*gcj), wgs)[0] < 0.01


def test_vectorised_speed() -> None:
    rng = np.random.default_rng(0)
    lon = rng.uniform(73.5, 135.0, 100_000)
    lat = rng.uniform(18.0, 53.5, 100_000)
    gcj = cc.wgs84_to_gcj02(lon, lat)
    bd = cc.gcj02_to_bd09(*gcj)
    for fn, args in ((cc.wgs84_to_gcj02, (lon, lat)), (cc.gcj02_to_wgs84, gcj),
                     (cc.bd09_to_wgs84, bd)):  # fmt: skip
        start = time.perf_counter()
        fn(*args)
        assert time.perf_counter() - start < 1.0, fn.__name__
    back = cc.bd09_to_wgs84(*bd)
    assert distance_m(back, (lon, lat)).max() < 0.01


def test_to_wgs84_systems() -> None:
    wgs = (104.08, 30.69)
    assert distance_m(cc.to_wgs84(*cc.wgs84_to_gcj02(*wgs), "GCJ02"), wgs) < 0.01
    assert distance_m(cc.to_wgs84(*cc.wgs84_to_bd09(*wgs), "bd09"), wgs) < 0.01
    np.testing.assert_array_equal(cc.to_wgs84(*wgs, "wgs84"), wgs)
    with pytest.raises(InputError, match="gcj-02"):
        cc.to_wgs84(*wgs, "gcj-02")


def test_geometry_to_wgs84() -> None:
    ring = np.array([[104.0, 30.6], [104.2, 30.6], [104.2, 30.8], [104.0, 30.8], [104.0, 30.6]])
    polygon = shapely.Polygon(ring)
    moved = geometry_to_wgs84(polygon, "gcj02")
    want = np.column_stack(cc.gcj02_to_wgs84(ring[:, 0], ring[:, 1]))
    np.testing.assert_allclose(shapely.get_coordinates(moved), want, rtol=0, atol=1e-12)
    assert geometry_to_wgs84(polygon, "wgs84") is polygon
    with pytest.raises(InputError):
        geometry_to_wgs84(shapely.Point(), "mars")


# --- local CRS ----------------------------------------------------------------------------------
def test_cgcs2000_zones_match_pyproj() -> None:
    """Every EPSG:4534-4554 zone is chosen for the longitudes nearest its central meridian."""
    for epsg in range(4534, 4555):
        cm = central_meridian(CRS.from_epsg(epsg))
        for lon in (cm - 1.5, cm - 0.7, cm, cm + 1.49):
            crs = cgcs2000_gk3_crs(lon)
            assert crs.to_epsg() == epsg, lon
            assert central_meridian(crs) == cm
    assert cgcs2000_gk3_crs(73.5).to_epsg() == 4534  # China's western tip (Pamirs)
    with pytest.raises(InputError):
        cgcs2000_gk3_crs(60.0)
    with pytest.raises(InputError):
        cgcs2000_gk3_crs(137.0)


def test_choose_local_crs() -> None:
    chengdu = choose_local_crs(104.08, 30.69, "cgcs2000")
    assert chengdu.to_epsg() == 4544
    assert central_meridian(chengdu) == 105.0
    assert choose_local_crs(114.3, 30.6, "EPSG:4547").to_epsg() == 4547
    assert choose_local_crs(104.08, 30.69) == utm_crs(104.08, 30.69) == CRS.from_epsg(32648)
    assert choose_local_crs(104.08, 30.69, "UTM").to_epsg() == 32648
    for geographic in ("EPSG:4326", "EPSG:4490"):
        with pytest.raises(InputError, match="projected"):
            choose_local_crs(104.08, 30.69, geographic)
    with pytest.raises(InputError, match="not a CRS"):
        choose_local_crs(104.08, 30.69, "no such crs")
