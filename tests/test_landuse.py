"""Residential land and buildings: validity, dissolving, user layers, the Chengdu extract."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from pyproj import CRS

from lifecircle.errors import InputError
from lifecircle.layers.landuse import (
    buildings,
    dissolve,
    polygon_parts,
    residential_from_file,
    residential_land,
)

UTM50 = CRS.from_epsg(32650)
# a metric origin in central Wuhan, so hand-built shapes sit in a real UTM zone
X0, Y0 = 740_000.0, 3_387_000.0


def _shift(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.affinity.translate(geom, X0, Y0)


def features_from(rows: list[tuple[dict[str, str], shapely.Geometry]]) -> gpd.GeoDataFrame:
    """An OsmExtract-like features table (WGS84) from tags and local-metre geometries."""
    geoms = gpd.GeoSeries([_shift(g) for _, g in rows], crs=UTM50).to_crs("EPSG:4326")
    return gpd.GeoDataFrame(
        {
            "osm_type": ["way"] * len(rows),
            "osm_id": pd.Series(range(1, len(rows) + 1), dtype="int64"),
            "tags": [tags for tags, _ in rows],
        },
        geometry=geoms,
        crs="EPSG:4326",
    )


def test_overlapping_residential_dissolves_to_union_area():
    a = shapely.box(0, 0, 200, 100)
    b = shapely.box(100, 0, 300, 100)  # overlaps a by 100 x 100
    c = shapely.box(1000, 1000, 1100, 1100)  # apart
    features = features_from([
        ({"landuse": "residential"}, a),
        ({"landuse": "residential"}, b),
        ({"landuse": "residential"}, c),
        ({"landuse": "commercial"}, shapely.box(0, 0, 500, 500)),
        ({"landuse": "residential"}, shapely.Point(50, 50)),
    ])
    land = residential_land(features, UTM50)
    assert land.crs == UTM50
    assert len(land) == 2
    assert set(land.geom_type) == {"Polygon"}
    assert land["area_m2"].sum() == pytest.approx(300 * 100 + 100 * 100, rel=1e-6)
    assert land["area_m2"].sum() < a.area + b.area + c.area


def test_bow_tie_is_made_valid():
    bow_tie = shapely.Polygon([(0, 0), (200, 200), (200, 0), (0, 200)])
    assert not bow_tie.is_valid
    land = residential_land(features_from([({"landuse": "residential"}, bow_tie)]), UTM50)
    assert land.geometry.is_valid.all()
    assert len(land) == 2  # two triangles touching at one point
    assert land["area_m2"].sum() == pytest.approx(2 * 100 * 200 / 2, rel=1e-6)


def test_polygon_parts_flattens_collections_and_drops_lines():
    collection = shapely.GeometryCollection([
        shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 0, 3, 1)]),
        shapely.LineString([(0, 0), (5, 5)]),
    ])
    parts = polygon_parts(gpd.GeoSeries([shapely.Point(0, 0), collection], index=[7, 9]))
    assert list(parts.index) == [9, 9]
    assert set(parts.geom_type) == {"Polygon"}
    assert dissolve(gpd.GeoSeries([shapely.LineString([(0, 0), (1, 1)])])).empty


def test_no_residential_land_gives_empty_frame():
    land = residential_land(features_from([({"building": "yes"}, shapely.box(0, 0, 9, 9))]),
                            UTM50)
    assert land.empty
    assert "area_m2" in land.columns


def test_buildings_footprints_and_residential_flag():
    features = features_from([
        ({"building": "apartments"}, shapely.box(0, 0, 20, 10)),
        ({"building": "school"}, shapely.box(50, 0, 60, 10)),
        ({"building": "yes"}, shapely.Polygon([(100, 0), (120, 20), (120, 0), (100, 20)])),
        ({"building": "no"}, shapely.box(200, 0, 210, 10)),
        ({"landuse": "residential"}, shapely.box(0, 0, 500, 500)),
    ])
    built = buildings(features, UTM50)
    assert list(built["building"]) == ["apartments", "school", "yes", "yes"]
    assert list(built["residential"]) == [True, False, True, True]
    assert built["footprint_m2"].tolist() == pytest.approx([200, 100, 100, 100], rel=1e-6)
    assert built.geometry.is_valid.all()
    assert list(built["osm_id"]) == [1, 2, 3, 3]


def test_residential_from_file_reprojects(tmp_path):
    land = gpd.GeoDataFrame(
        {"name": ["a", "b"]},
        geometry=[_shift(shapely.box(0, 0, 100, 100)), _shift(shapely.box(50, 0, 150, 100))],
        crs=UTM50,
    ).to_crs("EPSG:4326")
    path = tmp_path / "residential.gpkg"
    land.to_file(path)
    read = residential_from_file(path, UTM50)
    assert read.crs == UTM50
    assert len(read) == 1
    assert read["area_m2"].sum() == pytest.approx(150 * 100, rel=1e-6)


def test_residential_from_file_errors(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        residential_from_file(tmp_path / "missing.gpkg", UTM50)
    garbage = tmp_path / "land.gpkg"
    garbage.write_text("not a geopackage")
    with pytest.raises(InputError, match=r"land\.gpkg: not a vector file"):
        residential_from_file(garbage, UTM50)
    no_crs = tmp_path / "nocrs.shp"
    with pytest.warns(UserWarning, match="crs"):
        gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)]).to_file(no_crs)
    with pytest.raises(InputError, match=r"nocrs\.shp: has no CRS"):
        residential_from_file(no_crs, UTM50)
    lines = tmp_path / "lines.gpkg"
    gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (1, 1)])], crs=UTM50).to_file(lines)
    with pytest.raises(InputError, match="holds no polygon"):
        residential_from_file(lines, UTM50)


@pytest.fixture(scope="module")
def chengdu(chengdu_extract):
    return chengdu_extract


def test_chengdu_residential_land(chengdu):
    crs = CRS.from_epsg(32648)
    land = residential_land(chengdu.features, crs)
    km2 = land["area_m2"].sum() / 1e6
    assert 5.0 < km2 < 6.5  # SOURCE.md: about 5.7 km² mapped
    assert land.geometry.is_valid.all()
    assert shapely.union_all(land.geometry.values).area == pytest.approx(km2 * 1e6, rel=1e-9)
    built = buildings(chengdu.features, crs)
    assert 700 < len(built) < 900  # SOURCE.md: about 800 buildings
    assert built["residential"].mean() > 0.9
