"""Population grids: windowed raster reads (WorldPop Wuhan, generated rasters), modelled grids."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import rasterio.features
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS, Transformer

from lifecircle.errors import InputError
from lifecircle.layers.population import (
    PopulationGrid,
    modelled_population,
    population_from_raster,
    write_population_geotiff,
)
from tests.conftest import WUHAN_BOUNDARY, WUHAN_TIF

UTM50 = CRS.from_epsg(32650)
# a metric origin in central Wuhan on multiples of 100 m, so local shapes align with grid cells
X0, Y0 = 740_000.0, 3_387_000.0
NODATA = -99999.0


def local_box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


# --- generated rasters ------------------------------------------------------------------------


def small_values() -> np.ndarray:
    """10 × 10 people per cell with nodata, NaN and negative cells sprinkled in."""
    data = np.arange(100, dtype=np.float32).reshape(10, 10) + 1.0
    data[6, 1] = NODATA
    data[7, 2] = np.nan
    data[8, 3] = -5.0
    data[0, 0] = NODATA
    return data


def write_raster(path: Path, data: np.ndarray, crs: CRS | None = UTM50,
                 nodata: float | None = NODATA) -> Path:
    """A GeoTIFF of 100 m cells whose top-left corner is (X0, Y0 + 1000)."""
    profile = {"driver": "GTiff", "width": data.shape[1], "height": data.shape[0], "count": 1,
               "dtype": data.dtype.name, "nodata": nodata,
               "transform": rasterio.Affine(100, 0, X0, 0, -100, Y0 + 1000)}
    if crs is not None:
        profile["crs"] = crs.to_wkt()
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return path


def expected_small_total() -> float:
    """Cells of ``small_values`` centred in AREA: rows 6-8, columns 1-5, bad cells as 0."""
    block = small_values()[6:9, 1:6].astype(np.float64)
    return float(np.where(np.isfinite(block) & (block > 0), block, 0.0).sum())


AREA = local_box(120, 120, 620, 420)  # centres x = 150..550, y = 150..350


def test_small_raster_cells_centred_in_area(tmp_path):
    grid = population_from_raster(write_raster(tmp_path / "p.tif", small_values()), AREA,
                                  UTM50, UTM50)
    assert grid.source == "raster:p.tif"
    assert grid.total == pytest.approx(expected_small_total(), rel=1e-12)
    assert grid.n_cells == 15 - 3  # nodata, NaN and negative cells dropped
    assert np.all(grid.population > 0)
    assert grid.cell_size == pytest.approx(100.0)
    assert set(np.round(grid.x - X0)) == {150, 250, 350, 450, 550}
    assert set(np.round(grid.y - Y0)) == {150, 250, 350}


def test_nan_nodata_and_reprojected_centres_conserve_total(tmp_path):
    data = small_values()
    data[data == NODATA] = np.nan
    path = write_raster(tmp_path / "nan.tif", data, nodata=float("nan"))
    cgcs = CRS.from_epsg(4547)  # CGCS2000 3° Gauss-Krüger, CM 114°E
    grid = population_from_raster(path, AREA, UTM50, cgcs)
    assert grid.crs == cgcs
    assert grid.total == pytest.approx(expected_small_total(), rel=1e-12)
    assert grid.cell_size == pytest.approx(100.0, rel=0.01)
    back_x, _ = Transformer.from_crs(cgcs, UTM50, always_xy=True).transform(grid.x, grid.y)
    assert set(np.round(back_x - X0, 3)) == {150, 250, 350, 450, 550}


def test_tiled_read_equals_single_read(tmp_path):
    path = write_raster(tmp_path / "p.tif", small_values())
    area = local_box(-50, -50, 1050, 1050)
    whole = population_from_raster(path, area, UTM50, UTM50)
    tiled = population_from_raster(path, area, UTM50, UTM50, chunk_cells=6)
    assert tiled.total == pytest.approx(whole.total, rel=1e-12)
    assert sorted(zip(tiled.x, tiled.y, strict=True)) == sorted(zip(whole.x, whole.y, strict=True))


def test_raster_errors(tmp_path):
    with pytest.raises(InputError, match=r"missing\.tif: file not found"):
        population_from_raster(tmp_path / "missing.tif", AREA, UTM50, UTM50)
    text = tmp_path / "notes.tif"
    text.write_text("not a raster")
    with pytest.raises(InputError, match=r"notes\.tif: not a raster"):
        population_from_raster(text, AREA, UTM50, UTM50)
    no_crs = write_raster(tmp_path / "nocrs.tif", small_values(), crs=None)
    with pytest.raises(InputError, match=r"nocrs\.tif: raster has no CRS"):
        population_from_raster(no_crs, AREA, UTM50, UTM50)
    path = write_raster(tmp_path / "p.tif", small_values())
    with pytest.raises(InputError, match=r"p\.tif: the study area does not overlap"):
        population_from_raster(path, local_box(5000, 5000, 6000, 6000), UTM50, UTM50)
    empty = write_raster(tmp_path / "empty.tif", np.where(small_values() > 50, 0, NODATA)
                         .astype(np.float32))
    with pytest.raises(InputError, match=r"empty\.tif: every cell .* nodata or zero"):
        population_from_raster(empty, AREA, UTM50, UTM50)


def test_error_message_is_one_line(tmp_path):
    text = tmp_path / "bad.tif"
    text.write_bytes(b"II*\x00garbage\n\nmore")
    with pytest.raises(InputError) as info:
        population_from_raster(text, AREA, UTM50, UTM50)
    assert "\n" not in str(info.value)


# --- WorldPop Wuhan ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wuhan_tif() -> Path:
    if not WUHAN_TIF.is_file():
        pytest.skip(f"shared WorldPop Wuhan raster not found at {WUHAN_TIF}")
    return WUHAN_TIF


def central_wuhan_box() -> shapely.Polygon:
    """A 10 km square in UTM 50N around 114.30°E, 30.59°N (Hankou / Wuchang)."""
    cx, cy = Transformer.from_crs("EPSG:4326", UTM50, always_xy=True).transform(114.30, 30.59)
    return shapely.box(cx - 5000, cy - 5000, cx + 5000, cy + 5000)


def independent_total(path: Path, area_utm: shapely.Polygon) -> float:
    """Full read, nodata -> 0, cells centred in the area (rasterio's geometry_mask)."""
    dense = shapely.segmentize(area_utm, 50.0)
    to_wgs = Transformer.from_crs(UTM50, "EPSG:4326", always_xy=True)
    area_wgs = shapely.transform(dense, lambda xy: np.column_stack(to_wgs.transform(*xy.T)))
    with rasterio.open(path) as src:
        data = src.read(1).astype(np.float64)
        inside = rasterio.features.geometry_mask([area_wgs], data.shape, src.transform,
                                                 invert=True)
        valid = (data != src.nodata) & np.isfinite(data) & (data > 0)
    return float(data[inside & valid].sum())


def test_wuhan_window_conserves_total(wuhan_tif, monkeypatch):
    read_cells = []
    original = rasterio.io.DatasetReader.read

    def counting_read(self, *args, **kwargs):
        window = kwargs["window"]
        read_cells.append(window.width * window.height)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(rasterio.io.DatasetReader, "read", counting_read)
    area = central_wuhan_box()
    grid = population_from_raster(wuhan_tif, area, UTM50, UTM50)
    monkeypatch.undo()

    reference = independent_total(wuhan_tif, area)
    assert reference > 500_000  # central Wuhan is dense
    assert grid.total == pytest.approx(reference, rel=1e-3)
    # only the window was read: ~10 km / ~0.00083° is about 105 × 125 cells of 1662 × 1668
    assert 0 < sum(read_cells) < 140 * 140
    assert 75 < grid.cell_size < 95  # 0.000833° at 30.6°N
    assert shapely.contains_xy(area, grid.x, grid.y).all()


def test_wuhan_whole_boundary_total(wuhan_tif):
    if not WUHAN_BOUNDARY.is_file():
        pytest.skip(f"shared Wuhan boundary not found at {WUHAN_BOUNDARY}")
    boundary = gpd.read_file(WUHAN_BOUNDARY)
    grid = population_from_raster(wuhan_tif, boundary.geometry.iloc[0], boundary.crs, UTM50,
                                  chunk_cells=65_536)
    assert grid.total == pytest.approx(9_491_334, rel=1e-3)  # SOURCE.md
    assert np.isfinite(grid.population).all() and (grid.population > 0).all()


def test_wuhan_outside_study_area(wuhan_tif):
    beijing = shapely.box(400_000, 4_400_000, 410_000, 4_410_000)  # UTM 50N, near 115.8°E 39.7°N
    with pytest.raises(InputError, match="does not overlap the raster"):
        population_from_raster(wuhan_tif, beijing, UTM50, UTM50)


# --- modelled grids ---------------------------------------------------------------------------


def two_blocks() -> gpd.GeoDataFrame:
    """Residential land: R1 200 × 100 m (cells 0 and 1), R2 100 × 100 m (cell 3)."""
    return gpd.GeoDataFrame(geometry=[local_box(0, 0, 200, 100), local_box(300, 0, 400, 100)],
                            crs=UTM50)


def some_buildings() -> gpd.GeoDataFrame:
    geoms = [
        local_box(10, 10, 60, 60),     # 2,500 m² in cell 0
        local_box(30, 10, 60, 60),     # inside the first: dissolved, adds nothing
        local_box(80, 10, 120, 60),    # 1,000 m² in cell 0, 1,000 m² in cell 1
        local_box(190, 50, 250, 70),   # only 10 × 20 m on R1 (cell 1)
        local_box(120, 70, 180, 90),   # a school: carries nobody
        local_box(500, 0, 550, 50),    # off residential land
    ]
    residential = [True, True, True, True, False, True]
    return gpd.GeoDataFrame({"residential": residential}, geometry=geoms, crs=UTM50)


def cells(grid: PopulationGrid) -> dict[tuple[int, int], float]:
    return {(round(x - X0), round(y - Y0)): p
            for x, y, p in zip(grid.x, grid.y, grid.population, strict=True)}


def test_modelled_by_buildings_by_hand():
    grid = modelled_population(two_blocks(), some_buildings(), UTM50, total=1200.0)
    # R1 gets 800 (2/3 of the land), R2 400; R1 by footprint: cell 0 3,500 m², cell 1 1,200 m²
    assert grid.source == "modelled:dasymetric-buildings"
    assert grid.cell_size == 100.0
    got = cells(grid)
    assert set(got) == {(50, 50), (150, 50), (350, 50)}
    assert got[(50, 50)] == pytest.approx(800 * 3500 / 4700, rel=1e-9)
    assert got[(150, 50)] == pytest.approx(800 * 1200 / 4700, rel=1e-9)
    assert got[(350, 50)] == pytest.approx(400, rel=1e-9)
    assert grid.total == pytest.approx(1200.0, rel=1e-12)


def test_modelled_by_land_area_and_density():
    grid = modelled_population(two_blocks(), None, UTM50, density_per_ha=400.0)
    assert grid.source == "modelled:residential-area"
    assert grid.total == pytest.approx(400.0 * 3.0, rel=1e-12)  # 3 ha
    assert cells(grid) == pytest.approx({(50, 50): 400.0, (150, 50): 400.0, (350, 50): 400.0})
    fine = modelled_population(two_blocks(), None, UTM50, density_per_ha=400.0, cell_size=50.0)
    assert fine.n_cells == 12
    assert fine.population == pytest.approx(np.full(12, 100.0))


def test_modelled_overlapping_land_counts_once():
    overlapping = gpd.GeoDataFrame(geometry=[local_box(0, 0, 200, 100), local_box(0, 0, 100, 100)],
                                   crs=UTM50)
    grid = modelled_population(overlapping, None, UTM50, density_per_ha=100.0)
    assert grid.total == pytest.approx(200.0, rel=1e-12)


def test_modelled_errors():
    with pytest.raises(InputError, match="exactly one"):
        modelled_population(two_blocks(), None, UTM50)
    with pytest.raises(InputError, match="exactly one"):
        modelled_population(two_blocks(), None, UTM50, total=10.0, density_per_ha=5.0)
    with pytest.raises(InputError, match="total must be"):
        modelled_population(two_blocks(), None, UTM50, total=-1.0)
    with pytest.raises(InputError, match="cell size"):
        modelled_population(two_blocks(), None, UTM50, total=1.0, cell_size=0.0)
    with pytest.raises(InputError, match="residential land: none"):
        modelled_population(gpd.GeoDataFrame(geometry=[], crs=UTM50), None, UTM50, total=1.0)


def test_grid_views_and_geotiff_round_trip(tmp_path):
    grid = modelled_population(two_blocks(), some_buildings(), UTM50, total=1200.0)
    squares = grid.cell_polygons()
    assert squares.crs == UTM50
    assert np.allclose(squares.area, 100.0 * 100.0)
    frame = grid.to_geodataframe()
    assert list(frame.columns) == ["x", "y", "population", "geometry"]
    assert set(grid.to_geodataframe(points=True).geom_type) == {"Point"}
    east = grid.subset(grid.x > X0 + 200)
    assert east.n_cells == 1 and east.total == pytest.approx(400.0)

    path = write_population_geotiff(grid, tmp_path / "modelled.tif")
    assert [p.name for p in tmp_path.iterdir()] == ["modelled.tif"]  # no temp file left
    with rasterio.open(path) as src:
        assert src.res == (100.0, 100.0)
        assert src.tags()["source"] == "modelled:dasymetric-buildings"
    back = population_from_raster(path, local_box(-500, -500, 900, 600), UTM50, UTM50)
    assert cells(back) == pytest.approx(cells(grid))

    reprojected = PopulationGrid(grid.x + 1.0, grid.y, grid.population, 100.0, UTM50, "x")
    with pytest.raises(ValueError, match="aligned"):
        write_population_geotiff(reprojected, tmp_path / "bad.tif")


rectangle = st.tuples(
    st.floats(-2000, 2000), st.floats(-2000, 2000), st.floats(1, 600), st.floats(1, 600)
).map(lambda r: local_box(r[0], r[1], r[0] + r[2], r[1] + r[3]))


@settings(max_examples=40, deadline=None)
@given(
    land=st.lists(rectangle, min_size=1, max_size=5),
    houses=st.lists(rectangle, max_size=6),
    amount=st.floats(0.5, 1e7),
    by_density=st.booleans(),
    cell_size=st.sampled_from([30.0, 100.0, 250.0]),
)
def test_modelled_total_conserved(land, houses, amount, by_density, cell_size):
    residential = gpd.GeoDataFrame(geometry=land, crs=UTM50)
    built = gpd.GeoDataFrame(geometry=houses, crs=UTM50) if houses else None
    if by_density:
        grid = modelled_population(residential, built, UTM50, density_per_ha=amount,
                                   cell_size=cell_size)
        expected = amount * shapely.union_all(land).area / 10_000
    else:
        grid = modelled_population(residential, built, UTM50, total=amount, cell_size=cell_size)
        expected = amount
    assert grid.total == pytest.approx(expected, rel=1e-6)
    assert (grid.population > 0).all()
    offsets = (grid.x / cell_size - 0.5, grid.y / cell_size - 0.5)
    assert all(np.allclose(o, np.round(o)) for o in offsets)


# --- Chengdu OSM ------------------------------------------------------------------------------


def test_chengdu_modelled_density(chengdu_extract):
    from lifecircle.layers.landuse import buildings, residential_land

    extract = chengdu_extract
    crs = CRS.from_epsg(32648)
    land = residential_land(extract.features, crs)
    hectares = land["area_m2"].sum() / 10_000
    assert 500 < hectares < 650  # SOURCE.md: about 5.7 km²
    grid = modelled_population(land, buildings(extract.features, crs), crs, density_per_ha=400.0)
    assert grid.total == pytest.approx(400.0 * hectares, rel=1e-6)
    assert grid.source == "modelled:dasymetric-buildings"
    assert math.isclose(grid.cell_size, 100.0)
