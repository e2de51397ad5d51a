"""Map figures drawn on their pixel grid (lifecircle.maps.raster): the basemap and the population
cells are rasterised once per run and must land where the vector drawing would put them.

Hand-built cases check the pieces exactly (rectangles against rasterio's burn, the backdrop
pixel for pixel); on central Chengdu the PNG is checked against the layers through matplotlib's
own data → pixel transform, and against the vector drawing of the same layers.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import shapely
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from PIL import Image
from rasterio.features import rasterize

from lifecircle.maps import figures
from lifecircle.maps.folder import read_folder
from lifecircle.maps.fonts import figure_rc
from lifecircle.maps.raster import Backdrop, PixelGrid, cell_rows, render_rgba
from lifecircle.maps.styles import (
    COVERED_COLOUR,
    DISTANCE_BREAKS,
    DISTANCE_COLOURS,
    STREET_STYLES,
    UNCOVERED_COLOUR,
    UNREACHABLE_COLOUR,
)
from tests.test_maps import run_chengdu

KIND = "primary_school"


def hex_rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])


# -- hand-built ------------------------------------------------------------------------------


def test_rectangles_are_painted_as_rasterio_burns_them():
    grid = PixelGrid(width=300, height=200, scale=(3.7, 3.7), offset=(12.3, 7.9),
                     clip=(5, 4, 290, 195))
    rng = np.random.default_rng(7)
    # the grid spans x -3.3..77.8 and y -2.1..51.9 in data units
    # a grid of 2.345-unit squares (about 8.7 pixels), some missing, past the clip box too
    x, y = np.meshgrid(np.arange(-3, 18) * 2.345 - 4.1, np.arange(-3, 25) * 2.345 - 3.3)
    keep = rng.random(x.size) < 0.8
    squares = shapely.box(x.ravel()[keep], y.ravel()[keep], x.ravel()[keep] + 2.345,
                          y.ravel()[keep] + 2.345)
    # rectangles from a tenth of a pixel to several pixels, apart from one another
    left, bottom = np.meshgrid(np.arange(10) * 3.0 + 42.0137, np.arange(15) * 3.0 + 1.0291)
    size = rng.uniform(0.03, 2.9, (2, left.size))
    small = shapely.box(left.ravel(), bottom.ravel(), left.ravel() + size[0],
                        bottom.ravel() + size[1])
    # and a polygon that is not a rectangle (rasterio's own path)
    geoms = np.concatenate([squares, small, [shapely.Polygon([(72, 5), (77, 6), (74, 40)])]])
    rows = cell_rows(geoms, grid)
    burned = rasterize(zip(geoms, np.arange(len(geoms)), strict=True), out_shape=(200, 300),
                       transform=grid.transform(), fill=-1, dtype="int32")
    burned[~grid.inside()] = -1
    assert (rows >= 0).sum() > 20_000
    assert np.array_equal(rows, burned)


def test_pixel_grid_matches_matplotlib_transform():
    fig = Figure(figsize=(4, 3), dpi=150)
    fig.subplots_adjust(left=0.1, right=0.9, bottom=0.1, top=0.9)
    ax = fig.add_subplot()
    ax.set_aspect("equal")
    ax.set_xlim(1000, 1700)
    ax.set_ylim(-300, 200)
    grid = PixelGrid.of(ax)
    points = np.array([[1000.0, -300.0], [1234.5, 67.8], [1700.0, 200.0]])
    display = ax.transData.transform(points)
    cols, rows = (~grid.transform()) * (points[:, 0], points[:, 1])
    np.testing.assert_allclose(cols, display[:, 0], atol=1e-9)
    np.testing.assert_allclose(rows, grid.height - display[:, 1], atol=1e-9)


def test_backdrop_lands_pixel_for_pixel():
    fig = Figure(figsize=(1.3, 0.9), dpi=100)
    image = np.random.default_rng(3).integers(0, 256, (90, 130, 4), dtype=np.uint8)
    image[..., 3] = 255
    fig.add_artist(Backdrop(image))
    assert np.array_equal(render_rgba(fig), image)
    with pytest.raises(ValueError, match="DPI"):
        fig.set_dpi(50)
        render_rgba(fig)


# -- central Chengdu ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    """The Chengdu run's coverage figure of KIND, drawn from rasters, with its PNG pixels."""
    folder = read_folder(run_chengdu(tmp_path_factory))
    with matplotlib.rc_context(figure_rc("en")[1]):
        shared = figures._Shared(folder)
        fig = figures._coverage_figure(folder, KIND, "en", shared)
        png = figures._save(fig, tmp_path_factory.mktemp("raster") / "figure.png")
    with Image.open(png) as image:
        pixels = np.asarray(image.convert("RGB")).astype(int)
    return folder, shared, fig, pixels


def _pixel_of(fig: Figure, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) of data points, by matplotlib's own transform (independent of PixelGrid)."""
    display = fig.axes[0].transData.transform(xy)
    height = int(round(fig.bbox.height))
    return (height - display[:, 1]).astype(int), display[:, 0].astype(int)


#: a facility marker's radius on the ground, m: 28 pt² scatter markers with a white edge are
#: about 12 px across at 150 dpi, 8 m a pixel on central Chengdu (with a margin)
MARKER_M = 60.0


def _away(points: np.ndarray, folder, metres: float) -> np.ndarray:
    """Points farther than ``metres`` from the basemap and the study area's outline, and farther
    than a marker from the facilities (what may be drawn over or under a cell or a street
    besides itself)."""
    crs = folder.layers["population"].crs
    others = [folder.layers[n].to_crs(crs).geometry.values for n in
              ("base_streets", "base_water", "base_rail") if n in folder.layers]
    others += [shapely.boundary(folder.layers["study_area"].geometry.values)]
    far = np.ones(len(points), dtype=bool)
    for shapes, distance in ((np.concatenate(others), metres),
                             (folder.layers["facilities"].geometry.values, MARKER_M)):
        near = shapely.STRtree(shapes).query(shapely.points(points), predicate="dwithin",
                                             distance=distance)
        far[near[0]] = False
    return far


def _off_furniture(fig: Figure, rows: np.ndarray, cols: np.ndarray, pad: int = 4) -> np.ndarray:
    """Pixels outside the legend and the scale bar."""
    ax = fig.axes[0]
    height = int(round(fig.bbox.height))
    boxes = [ax.get_legend().get_window_extent(), *(a.get_window_extent() for a in ax.lines),
             *(t.get_window_extent() for t in ax.texts)]
    free = np.ones(len(rows), dtype=bool)
    for b in boxes:
        inside = ((cols >= b.x0 - pad) & (cols <= b.x1 + pad)
                  & (height - rows >= b.y0 - pad) & (height - rows <= b.y1 + pad))
        free &= ~inside
    return free


def test_cell_centres_have_their_distance_class_colour(drawn):
    folder, _shared, fig, pixels = drawn
    cells = folder.layers["population"]
    geoms = cells.geometry.values
    full = np.isclose(shapely.area(geoms), 100.0 * 100.0)  # whole 100 m cells (not cut ones)
    centres = shapely.get_coordinates(shapely.centroid(geoms))
    ok = full & _away(centres, folder, 25.0)  # a major street is 11 m wide at 8 m a pixel
    rows, cols = _pixel_of(fig, centres)
    ok &= _off_furniture(fig, rows, cols)
    # the class by hand: edges at multiples of the threshold, a distance on an edge inside it
    threshold = folder.threshold_m(KIND)
    distance = cells[f"dist_{KIND}"].to_numpy(dtype=float)
    palette = np.array([hex_rgb(c) for c in (*DISTANCE_COLOURS, UNREACHABLE_COLOUR)])
    cls = np.where(np.isfinite(distance),
                   (np.nan_to_num(distance)[:, None] > threshold * np.array(DISTANCE_BREAKS))
                   .sum(axis=1), 5)
    # 0.72 over white background, in Agg's 8-bit alpha
    expected = np.rint(palette[cls] * 184 / 255 + 255 * 71 / 255)
    got = pixels[rows[ok], cols[ok]]
    assert ok.sum() > 100, "too few cells away from streets to check"
    assert len(set(cls[ok])) >= 3
    assert np.abs(got - expected[ok]).max() <= 2


def test_streets_are_drawn_where_they_lie_and_background_elsewhere(drawn):
    folder, _shared, fig, pixels = drawn
    cells = folder.layers["population"]
    streets = folder.layers["base_streets"].to_crs(cells.crs)
    major = streets[streets["class"] == "major"].geometry.values
    middle = shapely.get_coordinates(shapely.line_interpolate_point(major, 0.5, normalized=True))
    tree = shapely.STRtree(cells.geometry.values)
    clear = np.ones(len(middle), dtype=bool)
    clear[tree.query(shapely.points(middle), predicate="dwithin", distance=40.0)[0]] = False
    facilities = shapely.STRtree(np.concatenate([
        folder.layers["facilities"].geometry.values,
        shapely.boundary(folder.layers["study_area"].geometry.values)]))
    clear[facilities.query(shapely.points(middle), predicate="dwithin", distance=60.0)[0]] = False
    rows, cols = _pixel_of(fig, middle)
    inside = (rows >= 0) & (rows < pixels.shape[0]) & (cols >= 0) & (cols < pixels.shape[1])
    x0, x1 = fig.axes[0].get_xlim()
    y0, y1 = fig.axes[0].get_ylim()
    framed = (middle[:, 0] > x0) & (middle[:, 0] < x1) & (middle[:, 1] > y0) & (middle[:, 1] < y1)
    clear &= inside & framed
    clear[clear] &= _off_furniture(fig, rows[clear], cols[clear])
    assert clear.sum() > 50
    got = pixels[rows[clear], cols[clear]]
    colour = hex_rgb(STREET_STYLES["major"].colour)
    # the 1.3 pt (2.7 px) line covers its centre pixel: exact colour but at line ends and
    # where another major way crosses at a slant (antialiased edges)
    exact = np.abs(got - colour).max(axis=1) <= 3
    assert exact.mean() > 0.9
    # background: pixels of the frame far from every drawn layer are the figure's white
    rng = np.random.default_rng(5)
    points = np.column_stack([rng.uniform(x0, x1, 4000), rng.uniform(y0, y1, 4000)])
    far = _away(points, folder, 50.0)
    far[tree.query(shapely.points(points), predicate="dwithin", distance=50.0)[0]] = False
    rows, cols = _pixel_of(fig, points)
    far &= _off_furniture(fig, rows, cols)
    assert far.sum() > 100
    assert (pixels[rows[far], cols[far]] == 255).all()


def test_raster_and_vector_drawings_agree(drawn, tmp_path):
    """The figure as drawn against the same figure with the basemap and the cells drawn as
    vectors (the cells one path each, as before the rasters)."""
    folder, shared, fig, pixels = drawn
    with matplotlib.rc_context(figure_rc("en")[1]):
        ref = figures._coverage_figure(folder, KIND, "en", shared)
        ax = ref.axes[0]
        for artist in [a for a in ref.artists if isinstance(a, Backdrop)]:
            artist.remove()
        figures._Basemap(folder).draw(ax)
        cells = folder.layers["population"]
        threshold = folder.threshold_m(KIND)
        distance = cells[f"dist_{KIND}"].to_numpy(dtype=float)
        cls = np.where(np.isfinite(distance), np.searchsorted(
            threshold * np.array(DISTANCE_BREAKS), np.nan_to_num(distance), side="left"), 5)
        colours = np.array([*DISTANCE_COLOURS, UNREACHABLE_COLOUR])
        ax.add_collection(PathCollection(figures._paths(cells.geometry), facecolor=colours[cls],
                                         edgecolor="none", linewidth=0, alpha=0.72))
        png = figures._save(ref, tmp_path / "vector.png")
    with Image.open(png) as image:
        vector = np.asarray(image.convert("RGB")).astype(int)
    diff = np.abs(pixels - vector).max(axis=2)
    # Measured on this extract, for each of the nine kinds: 99.95 % of pixels within 2 levels
    # (90-93 % identical: the rest differ by one level of rounding), 99.97 % within 30. The
    # others are cell edges, which the vector drawing antialiases (a seam of basemap between two
    # cells) and the raster gives wholly to the cell holding the pixel's centre. 99.8 % leaves
    # room for another matplotlib's antialiasing, not for a shifted or mis-coloured layer (one
    # pixel of shift leaves 82 % within 2 levels and 92 % within 30).
    assert (diff <= 2).mean() > 0.998
    assert (diff <= 30).mean() > 0.998


def test_residential_land_is_filled_or_hatched_where_it_lies(drawn, tmp_path):
    folder, shared, _fig, _pixels = drawn
    with matplotlib.rc_context(figure_rc("en")[1]):
        fig = figures._residential_figure(folder, "en", shared)
        png = figures._save(fig, tmp_path / "residential.png")
    with Image.open(png) as image:
        pixels = np.asarray(image.convert("RGB")).astype(int)
    base = shared.base[..., :3].astype(int)
    land = folder.layers["residential"]
    covered = land["covered"].eq(True).to_numpy()
    parts = shapely.get_parts(land.geometry.values)
    owner = np.repeat(covered, shapely.get_num_geometries(land.geometry.values))
    # a point well inside each part: 15 m (2 pixels) from its outline, any other part's and the
    # facilities (parks are drawn over the land)
    inner = shapely.buffer(parts, -15.0)
    thin = shapely.is_empty(inner)
    points = shapely.point_on_surface(np.where(thin, parts, inner))
    others = shapely.STRtree(np.concatenate([
        shapely.boundary(parts), folder.layers["facilities"].geometry.values]))
    near = others.query(points, predicate="dwithin", distance=14.0)
    ok = ~thin & (np.bincount(near[0], minlength=len(points)) == 0)
    rows, cols = _pixel_of(fig, shapely.get_coordinates(points))
    ok &= _off_furniture(fig, rows, cols)
    assert (ok & owner).sum() > 10 and (ok & ~owner).sum() > 10
    # covered land: light green at 0.45 over the basemap (Agg's 8-bit alpha: 115/255)
    r, c = rows[ok & owner], cols[ok & owner]
    green = np.rint(hex_rgb(COVERED_COLOUR) * 115 / 255 + base[r, c] * 140 / 255)
    assert np.abs(pixels[r, c] - green).max() <= 2
    # uncovered land: hatched, so a 7-pixel window holds hatch lines and untouched basemap
    magenta = hex_rgb(UNCOVERED_COLOUR)
    for r, c in zip(rows[ok & ~owner], cols[ok & ~owner], strict=True):
        window = pixels[r - 3:r + 4, c - 3:c + 4].reshape(-1, 3)
        under = base[r - 3:r + 4, c - 3:c + 4].reshape(-1, 3)
        assert (np.abs(window - magenta).max(axis=1) <= 40).any()
        assert (window == under).all(axis=1).any()
