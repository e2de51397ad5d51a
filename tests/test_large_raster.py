"""A population raster far larger than memory (a VRT mosaic of 10^10 cells) is read window by
window inside the study area, with bounded memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import rasterio
import shapely
from pyproj import CRS
from rasterio.transform import from_origin

from lifecircle.layers.population import population_from_raster

CELL = 0.000833333
WEST, NORTH = 73.0, 54.0  # a China-wide mosaic
SIZE = 100_000  # 100,000 x 100,000 cells: 80 GB as float64


def _tile(path, west, north, values):
    with rasterio.open(path, "w", driver="GTiff", height=values.shape[0], width=values.shape[1],
                       count=1, dtype="float32", crs="EPSG:4326", nodata=-99999.0,
                       transform=from_origin(west, north, CELL, CELL)) as dst:
        dst.write(values.astype(np.float32), 1)


def _vrt(path, tile_path, col, row, rows, cols):
    path.write_text(f"""<VRTDataset rasterXSize="{SIZE}" rasterYSize="{SIZE}">
  <SRS>EPSG:4326</SRS>
  <GeoTransform>{WEST}, {CELL}, 0, {NORTH}, 0, -{CELL}</GeoTransform>
  <VRTRasterBand dataType="Float32" band="1">
    <NoDataValue>-99999</NoDataValue>
    <SimpleSource>
      <SourceFilename relativeToVRT="1">{tile_path.name}</SourceFilename>
      <SourceBand>1</SourceBand>
      <SrcRect xOff="0" yOff="0" xSize="{cols}" ySize="{rows}"/>
      <DstRect xOff="{col}" yOff="{row}" xSize="{cols}" ySize="{rows}"/>
    </SimpleSource>
  </VRTRasterBand>
</VRTDataset>""", encoding="utf-8")


def test_vrt_mosaic_read_with_bounded_memory(tmp_path):
    rows = cols = 300
    col, row = 37_000, 28_000  # around 103.8 E, 30.7 N
    west, north = WEST + col * CELL, NORTH - row * CELL
    rng = np.random.default_rng(3)
    values = rng.uniform(0, 50, (rows, cols))
    _tile(tmp_path / "tile.tif", west, north, values)
    _vrt(tmp_path / "china.vrt", tmp_path / "tile.tif", col, row, rows, cols)

    area = shapely.box(west + 50 * CELL, north - 250 * CELL, west + 250 * CELL, north - 50 * CELL)
    tracemalloc.start()
    grid = population_from_raster(tmp_path / "china.vrt", area, "EPSG:4326",
                                  CRS.from_epsg(32648), chunk_cells=10_000)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    expected = values.astype(np.float32).astype(np.float64)[50:250, 50:250].sum()
    assert grid.total == pytest.approx(expected, rel=1e-6)
    assert peak < 64 * 2**20  # bytes: the window, never the mosaic

