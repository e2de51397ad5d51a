"""Population as points on a grid: a raster read windowed to the study area, or a modelled grid.

Raster cells keep their values: only their centres are reprojected, so the total inside the
study area is conserved (DESIGN §2). A modelled grid spreads a census total (or a density) over
residential land, weighted by residential building footprints where they are mapped.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError, ProjError

from lifecircle.coverage.parallel import GEOS_THREADS, in_threads
from lifecircle.errors import InputError
from lifecircle.layers.crs import reproject_geometry
from lifecircle.layers.landuse import dissolve, polygon_parts
from lifecircle.output import atomic_file

if TYPE_CHECKING:  # rasterio (with click, 0.15 s to import) only when a raster is read
    import rasterio
    from rasterio.windows import Window

# cells read at once from a raster (float64: 32 MiB); larger windows are read tile by tile
CHUNK_CELLS = 4_194_304

# most cells a study area's window may span (assumption: 100 m cells over 2,000,000 km², more
# than any province; a 30 m raster over a 400 km square): a file declaring more is refused
# before any read, as it would be read for minutes
MAX_WINDOW_CELLS = 200_000_000


@dataclass(frozen=True)
class PopulationGrid:
    """People per cell, as cell centres in a projected CRS.

    Attributes
    ----------
    x, y : float64 arrays, cell centres in metres (``crs``)
    population : float64 array, people per cell (no zero cells)
    cell_size : nominal cell side in metres
    crs : the projected CRS of ``x`` and ``y``
    source : ``raster:<file name>`` or ``modelled:<method>``
    """

    x: np.ndarray
    y: np.ndarray
    population: np.ndarray
    cell_size: float
    crs: CRS
    source: str

    @property
    def total(self) -> float:
        """Total population of the grid."""
        return float(self.population.sum())

    @property
    def n_cells(self) -> int:
        """Number of cells."""
        return int(self.population.size)

    def cell_polygons(self) -> gpd.GeoSeries:
        """Squares of side ``cell_size`` around the cell centres, for maps and GeoPackages."""
        half = self.cell_size / 2.0
        boxes = shapely.box(self.x - half, self.y - half, self.x + half, self.y + half)
        return gpd.GeoSeries(boxes, crs=self.crs)

    def to_geodataframe(self, points: bool = False) -> gpd.GeoDataFrame:
        """The grid as a GeoDataFrame with columns ``x``, ``y``, ``population``.

        Parameters
        ----------
        points : geometry as cell-centre points instead of cell squares
        """
        geometry = (gpd.GeoSeries(gpd.points_from_xy(self.x, self.y), crs=self.crs) if points
                    else self.cell_polygons())
        return gpd.GeoDataFrame({"x": self.x, "y": self.y, "population": self.population},
                                geometry=geometry, crs=self.crs)

    def subset(self, mask: np.ndarray) -> PopulationGrid:
        """The cells selected by a boolean mask or an index array, same CRS, size and source."""
        return PopulationGrid(self.x[mask], self.y[mask], self.population[mask], self.cell_size,
                              self.crs, self.source)


def population_from_raster(
    path: str | Path,
    study_area: shapely.Geometry,
    area_crs: CRS | str,
    target_crs: CRS | str,
    *,
    chunk_cells: int = CHUNK_CELLS,
) -> PopulationGrid:
    """Read the cells of a population raster (people per cell) whose centre is in the study area.

    Only the window covering the study area is read, tile by tile, so a raster larger than memory
    (a national mosaic, a VRT) costs memory in proportion to the study area's populated cells.

    Parameters
    ----------
    path : a GeoTIFF (or any raster GDAL reads) of people per cell, band 1
    study_area : polygon in ``area_crs``
    area_crs : CRS of ``study_area``
    target_crs : the projected CRS of the run; cell centres are reprojected, values unchanged
    chunk_cells : most cells read at once

    Returns
    -------
    PopulationGrid with nodata, NaN, negative and zero cells dropped; source ``raster:<name>``.

    Raises
    ------
    InputError
        When the file is missing or not a raster, the raster has no CRS, the study area does not
        overlap it, or every cell inside the study area is nodata or zero.
    """
    import rasterio
    from rasterio.errors import RasterioIOError

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    try:
        src = rasterio.open(path)
    except RasterioIOError as exc:
        raise InputError(path, f"not a raster GDAL can read ({_first_line(exc)})") from None
    target = CRS.from_user_input(target_crs)
    with src:
        if src.crs is None:
            raise InputError(path, "raster has no CRS (georeference it, e.g. gdal_edit.py -a_srs)")
        raster_crs = _earth_crs(src, path)
        if src.transform.b != 0 or src.transform.d != 0:
            raise InputError(path, "the raster is rotated or sheared: warp it north-up first "
                                   "(gdalwarp)")
        try:
            area = reproject_geometry(study_area, CRS.from_user_input(area_crs), raster_crs)
        except ProjError as exc:
            raise InputError(path, f"its CRS cannot be reached ({_first_line(exc)})") from None
        window = _window(src, area, path)
        try:
            x, y, people = _read_cells(src, window, area, chunk_cells)
        except RasterioIOError as exc:
            raise InputError(path, f"cannot be read ({_first_line(exc)})") from None
        cell_size = _nominal_cell_size(src.transform, window, raster_crs, target)
    _check_fill(people, path)
    if people.size == 0:
        raise InputError(path, "every cell inside the study area is nodata or zero")
    tx, ty = Transformer.from_crs(raster_crs, target, always_xy=True).transform(x, y)
    return PopulationGrid(np.asarray(tx, dtype=np.float64), np.asarray(ty, dtype=np.float64),
                          people, cell_size, target, f"raster:{path.name}")


def modelled_population(
    residential: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame | None,
    crs: CRS | str,
    total: float | None = None,
    density_per_ha: float | None = None,
    cell_size: float = 100.0,
) -> PopulationGrid:
    """Spread people over residential land (dasymetric) and sum them into a regular grid.

    Each residential polygon gets people in proportion to its area (or ``density_per_ha`` × its
    hectares). Inside a polygon, people go to the residential building footprints within it, by
    footprint area; a polygon with no such building spreads them over its land area.

    Parameters
    ----------
    residential : residential land polygons (as from
        :func:`lifecircle.layers.landuse.residential_land`); dissolved again so no overlap counts
        twice
    buildings : footprints (e.g. :func:`lifecircle.layers.landuse.buildings`) or ``None``; rows
        with ``residential`` False are ignored
    crs : projected CRS of the grid (metres)
    total : people to spread; give this or ``density_per_ha``
    density_per_ha : people per hectare of residential land
    cell_size : grid cell side in metres; cells are aligned to multiples of it

    Returns
    -------
    PopulationGrid whose total equals ``total`` (or density × hectares); source
    ``modelled:dasymetric-buildings`` when any building carries people, else
    ``modelled:residential-area``.

    Raises
    ------
    InputError
        When not exactly one of ``total`` and ``density_per_ha`` is given, either is negative or
        not finite, ``cell_size`` is not positive, or there is no residential land.
    """
    _check_model_args(total, density_per_ha, cell_size)
    land = dissolve(residential.geometry.to_crs(crs))
    land_area = shapely.area(land.values)
    if land.empty or land_area.sum() <= 0:
        raise InputError("residential land", "none in the study area: cannot model population")
    if total is None:
        total = density_per_ha * land_area.sum() / 10_000.0
    land_people = total * land_area / land_area.sum()
    carriers, carrier_people, used_buildings = _carriers(land, land_people, buildings, crs)
    x, y, people = _to_grid(carriers, carrier_people, cell_size)
    method = "dasymetric-buildings" if used_buildings else "residential-area"
    return PopulationGrid(x, y, people, float(cell_size), CRS(crs), f"modelled:{method}")


def write_population_geotiff(grid: PopulationGrid, path: str | Path) -> Path:
    """Write a grid aligned to multiples of its cell size (a modelled grid) as a GeoTIFF.

    The file appears complete or not at all: it is written beside ``path`` and then renamed.

    Parameters
    ----------
    grid : a grid whose centres lie at ``(k + 0.5) × cell_size``
    path : the GeoTIFF to write (replaced if it exists)

    Returns
    -------
    Path of the file written. Cells outside the grid hold 0.

    Raises
    ------
    ValueError
        When the grid is empty or its centres are not on the aligned lattice.
    """
    import rasterio

    path = Path(path)
    cs = grid.cell_size
    col = grid.x / cs - 0.5
    row = grid.y / cs - 0.5
    off_lattice = max(np.abs(col - np.round(col)).max(initial=0.0),
                      np.abs(row - np.round(row)).max(initial=0.0))
    if grid.n_cells == 0 or off_lattice > 1e-6:
        raise ValueError("only a non-empty grid aligned to multiples of cell_size can be written")
    col, row = np.round(col).astype(np.int64), np.round(row).astype(np.int64)
    width, height = int(col.max() - col.min() + 1), int(row.max() - row.min() + 1)
    data = np.zeros((height, width), dtype=np.float64)
    np.add.at(data, (row.max() - row, col - col.min()), grid.population)
    profile = {
        "driver": "GTiff", "width": width, "height": height, "count": 1, "dtype": "float64",
        "crs": grid.crs.to_wkt(), "compress": "deflate",
        "transform": rasterio.Affine(cs, 0.0, col.min() * cs, 0.0, -cs, (row.max() + 1) * cs),
    }
    def write(tmp: Path) -> None:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(data, 1)
            dst.update_tags(source=grid.source)

    atomic_file(path, write)
    return path


# --- raster reading -------------------------------------------------------------------------


def _earth_crs(src: rasterio.DatasetReader, path: Path) -> CRS:
    """The raster's CRS, when it places cells on the Earth (geographic or projected)."""
    try:
        crs = CRS.from_user_input(src.crs)
    except CRSError as exc:
        raise InputError(path, f"its CRS is not understood ({_first_line(exc)})") from None
    if not (crs.is_geographic or crs.is_projected):
        raise InputError(path, f"its CRS is a local ({crs.type_name.lower()}) one that is not "
                               "placed on the Earth: georeference it (gdalwarp -t_srs)")
    return crs


def _window(src: rasterio.DatasetReader, area: shapely.Geometry, path: Path) -> Window:
    """The raster window covering ``area``, rounded out to whole cells and clipped to the raster.

    The area's corners go through the inverse transform, so south-up rasters (positive cell
    height) work as north-up ones. A window of more than :data:`MAX_WINDOW_CELLS` is refused
    before anything is read.
    """
    from rasterio.windows import Window

    if src.transform.a == 0 or src.transform.e == 0:
        raise InputError(path, "the raster has a zero cell size")
    if not area.intersects(shapely.box(*src.bounds)):
        raise InputError(path, "the study area does not overlap the raster")
    x0, y0, x1, y1 = area.bounds
    cols, rows = ~src.transform * (np.array([x0, x1, x0, x1]), np.array([y0, y0, y1, y1]))
    col0, row0 = max(math.floor(cols.min()), 0), max(math.floor(rows.min()), 0)
    col1, row1 = min(math.ceil(cols.max()), src.width), min(math.ceil(rows.max()), src.height)
    if col1 <= col0 or row1 <= row0:
        raise InputError(path, "the study area does not overlap the raster")
    cells = (col1 - col0) * (row1 - row0)
    if cells > MAX_WINDOW_CELLS:
        raise InputError(path, f"the study area spans {cells:.3g} cells of it (more than "
                               f"{MAX_WINDOW_CELLS:.0e}): resample it to coarser cells first")
    return Window(col0, row0, col1 - col0, row1 - row0)


def _check_fill(people: np.ndarray, path: Path) -> None:
    """Refuse a float fill value (float32's or float64's largest number) read as people: not
    declared as nodata, it would count as 3.4e38 people per cell."""
    fills = [float(np.finfo(np.float32).max), float(np.finfo(np.float64).max)]
    found = next((f for f in fills if np.any(people >= f)), None)
    if found is not None:
        raise InputError(path, f"cells hold {found:.8g}, a fill value, not declared as nodata: "
                               f"declare it (gdal_edit.py -a_nodata {found:.8g} FILE)")


def _tiles(window: Window, block: tuple[int, int], chunk_cells: int) -> Iterator[Window]:
    """Sub-windows of ``window`` of at most about ``chunk_cells`` cells, block-aligned in size."""
    from rasterio.windows import Window

    block_h, block_w = block
    side = max(int(math.sqrt(chunk_cells)), 1)
    tile_w = min(max(side // block_w, 1) * block_w, window.width)
    tile_h = min(max(chunk_cells // tile_w, 1), window.height)
    if tile_h > block_h:
        tile_h -= tile_h % block_h
    for r in range(window.row_off, window.row_off + window.height, tile_h):
        for c in range(window.col_off, window.col_off + window.width, tile_w):
            yield Window(c, r, min(tile_w, window.col_off + window.width - c),
                         min(tile_h, window.row_off + window.height - r))


def _read_cells(src: rasterio.DatasetReader, window: Window, area: shapely.Geometry,
                chunk_cells: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centres (raster CRS) and values of the positive cells of ``window`` centred in ``area``."""
    shapely.prepare(area)
    xs, ys, values = [], [], []
    for tile in _tiles(window, src.block_shapes[0], chunk_cells):
        if not area.intersects(_tile_box(src.transform, tile)):
            continue
        data = src.read(1, window=tile, masked=True).astype(np.float64).filled(0.0)
        rows, cols = np.nonzero(np.isfinite(data) & (data > 0))
        x, y = src.transform @ (cols + tile.col_off + 0.5, rows + tile.row_off + 0.5)
        inside = shapely.intersects_xy(area, x, y)  # a centre on the boundary counts
        xs.append(x[inside])
        ys.append(y[inside])
        values.append(data[rows[inside], cols[inside]])
    if not values:
        return np.empty(0), np.empty(0), np.empty(0)
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(values)


def _tile_box(transform: rasterio.Affine, tile: Window) -> shapely.Polygon:
    """The rectangle a window covers, in the raster CRS (north-up or not)."""
    x0, y0 = transform @ (tile.col_off, tile.row_off)
    x1, y1 = transform @ (tile.col_off + tile.width, tile.row_off + tile.height)
    return shapely.box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def _nominal_cell_size(transform: rasterio.Affine, window: Window, src: CRS, dst: CRS) -> float:
    """Side in metres of the square with the area of the window's central cell in ``dst``."""
    col = window.col_off + window.width // 2
    row = window.row_off + window.height // 2
    corners = np.array([(0, 0), (1, 0), (1, 1), (0, 1)], dtype=np.float64)
    x, y = transform @ (corners[:, 0] + col, corners[:, 1] + row)
    tx, ty = Transformer.from_crs(src, dst, always_xy=True).transform(x, y)
    return float(math.sqrt(shapely.area(shapely.polygons(np.column_stack([tx, ty])))))


# --- modelled grid --------------------------------------------------------------------------


def _check_model_args(total: float | None, density: float | None, cell_size: float) -> None:
    if (total is None) == (density is None):
        raise InputError("population", "give exactly one of a total or a density per hectare")
    given = total if total is not None else density
    name = "total" if total is not None else "density per hectare"
    if not math.isfinite(given) or given < 0:
        raise InputError("population", f"{name} must be a finite number >= 0, got {given}")
    if not (math.isfinite(cell_size) and cell_size > 0):
        raise InputError("population", f"cell size must be positive metres, got {cell_size}")


def _carriers(land: gpd.GeoSeries, land_people: np.ndarray, buildings: gpd.GeoDataFrame | None,
              crs: CRS | str) -> tuple[np.ndarray, np.ndarray, bool]:
    """Polygons that carry people and the people on each.

    A land polygon with residential building footprint inside it passes its people to those
    footprints (clipped to it, overlaps dissolved) by area; otherwise it carries them itself.
    """
    land_geoms = np.asarray(land.values, dtype=object)
    footprint = _residential_footprint(buildings, crs)
    if footprint.size == 0:
        return land_geoms, land_people, False
    tree = shapely.STRtree(footprint)
    land_idx, foot_idx = tree.query(land_geoms, predicate="intersects")
    # a footprint well inside its land polygon (most of them) is its own piece: only those
    # crossing a land boundary need the overlay
    shapely.prepare(land_geoms)
    pieces = footprint[foot_idx]
    cut = ~shapely.contains_properly(land_geoms[land_idx], pieces)
    pieces[cut] = shapely.intersection(land_geoms[land_idx[cut]], pieces[cut])
    parts = polygon_parts(gpd.GeoSeries(pieces))
    owner = land_idx[parts.index.to_numpy()]
    part_area = shapely.area(parts.values)
    built = np.bincount(owner, weights=part_area, minlength=land_geoms.size)
    has_built = built > 0
    part_people = land_people[owner] * part_area / built[owner]
    bare = ~has_built
    return (np.concatenate([np.asarray(parts.values, dtype=object), land_geoms[bare]]),
            np.concatenate([part_people, land_people[bare]]), bool(has_built.any()))


def _residential_footprint(buildings: gpd.GeoDataFrame | None, crs: CRS | str) -> np.ndarray:
    """Dissolved residential building footprints in ``crs`` as an array of polygons."""
    if buildings is None or buildings.empty:
        return np.empty(0, dtype=object)
    lived_in = buildings
    if "residential" in buildings.columns:
        lived_in = buildings[buildings["residential"].astype(bool)]
    return np.asarray(dissolve(lived_in.geometry.to_crs(crs)).values, dtype=object)


def _to_grid(polys: np.ndarray, people: np.ndarray,
             cell_size: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum people carried by polygons into cells aligned to multiples of ``cell_size``.

    Each polygon's people are split by the area of its intersection with each cell and
    renormalised over its pieces, so every polygon hands on exactly what it carries.
    """
    bounds = shapely.bounds(polys)
    ix0 = np.floor(bounds[:, 0] / cell_size).astype(np.int64)
    iy0 = np.floor(bounds[:, 1] / cell_size).astype(np.int64)
    nx = np.maximum(np.ceil(bounds[:, 2] / cell_size).astype(np.int64) - ix0, 1)
    ny = np.maximum(np.ceil(bounds[:, 3] / cell_size).astype(np.int64) - iy0, 1)
    count = nx * ny
    poly = np.repeat(np.arange(polys.size), count)
    local = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    ix = ix0[poly] + local % nx[poly]
    iy = iy0[poly] + local // nx[poly]
    # a polygon within one cell hands it everything (share 1): only the others are cut
    cut = (count > 1)[poly]
    overlap = shapely.area(polys[poly])
    cells = shapely.box(ix[cut] * cell_size, iy[cut] * cell_size, (ix[cut] + 1) * cell_size,
                        (iy[cut] + 1) * cell_size)
    pieces = polys[poly[cut]]
    # one GEOS overlay per pair, the pairs split over the cores (GEOS runs without the GIL)
    overlap[cut] = np.concatenate(in_threads(
        lambda part: shapely.area(shapely.intersection(pieces[part], cells[part])),
        np.array_split(np.arange(pieces.size), GEOS_THREADS)))
    covered = np.bincount(poly, weights=overlap, minlength=polys.size)
    share = np.divide(overlap, covered[poly], out=np.zeros_like(overlap),
                      where=covered[poly] > 0)
    keys, cell_of = np.unique(np.column_stack([ix, iy]), axis=0, return_inverse=True)
    cell_people = np.bincount(cell_of.ravel(), weights=people[poly] * share, minlength=len(keys))
    keep = cell_people > 0
    return ((keys[keep, 0] + 0.5) * cell_size, (keys[keep, 1] + 0.5) * cell_size,
            cell_people[keep])


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
