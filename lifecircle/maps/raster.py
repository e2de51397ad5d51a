"""What the map figures share, drawn once per run at the figures' own pixel grid.

Every map figure of a run has the same size, DPI and frame, so the same axes land on the same
pixels. What they all show is therefore drawn once: the basemap as one RGB image of the whole
figure (on the same Agg canvas the figures use), the population cells as a grid holding, per
pixel, the row of the cell under the pixel's centre (each kind's figure is then a colour lookup
and one alpha blend). Figures place the image under their axes with ``Figure.figimage``: one
image pixel per figure pixel, no resampling. Facilities, outlines, legends and labels stay vector.

Layers with many features are drawn as one compound path per style, built with shapely's
vectorised accessors, not as one matplotlib path per feature.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from affine import Affine
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.path import Path as MplPath

#: features per compound path (assumption: keeps each Agg fill well under Agg's cell-block limit,
#: which a single path of a whole city's polygons can exceed)
PATH_CHUNK = 20_000


@dataclass(frozen=True)
class PixelGrid:
    """The pixels of a map figure and where the data lie on them.

    Pixel ``(row, col)`` covers display x from ``col`` to ``col + 1`` and display y from
    ``height - row - 1`` to ``height - row`` (row 0 at the top, as in a PNG).

    Attributes
    ----------
    width, height : the figure in pixels
    scale : display pixels per data unit in x and y (equal: the map axes have equal aspect)
    offset : display coordinates of the data origin
    clip : ``(col0, row0, col1, row1)``, the axes' clip box as Agg rounds it (end exclusive)
    """

    width: int
    height: int
    scale: tuple[float, float]
    offset: tuple[float, float]
    clip: tuple[int, int, int, int]

    @classmethod
    def of(cls, ax: Any) -> PixelGrid:
        """The grid of an axes whose limits are set (its aspect is applied here).

        Examples
        --------
        >>> from matplotlib.figure import Figure
        >>> fig = Figure(figsize=(2, 2), dpi=100)
        >>> ax = fig.add_axes((0, 0, 1, 1)); _ = ax.set_xlim(0, 10); _ = ax.set_ylim(0, 10)
        >>> grid = PixelGrid.of(ax)
        >>> grid.width, grid.height, grid.scale, grid.clip
        (200, 200, (20.0, 20.0), (0, 0, 200, 200))
        """
        fig = ax.get_figure(root=True)
        ax.apply_aspect()
        width, height = (int(round(v)) for v in fig.bbox.size)
        m = ax.transData.get_matrix()
        if abs(m[0, 1]) > 0 or abs(m[1, 0]) > 0:
            raise ValueError("map axes must be linear and unrotated")
        box = ax.bbox
        # Agg's clip rectangle: edges rounded to the nearest pixel (RendererAgg.set_clipbox)
        clip = (max(int(np.floor(box.x0 + 0.5)), 0), max(int(np.floor(height - box.y1 + 0.5)), 0),
                min(int(np.floor(box.x1 + 0.5)), width),
                min(int(np.floor(height - box.y0 + 0.5)), height))
        return cls(width, height, (float(m[0, 0]), float(m[1, 1])),
                   (float(m[0, 2]), float(m[1, 2])), clip)

    def transform(self) -> Affine:
        """The affine from pixel (col, row) corners to data coordinates (rasterio's order)."""
        sx, sy = self.scale
        ox, oy = self.offset
        return Affine(1 / sx, 0.0, -ox / sx, 0.0, -1 / sy, (self.height - oy) / sy)

    def inside(self) -> np.ndarray:
        """Boolean ``(height, width)`` mask of the pixels inside the axes' clip box."""
        c0, r0, c1, r1 = self.clip
        mask = np.zeros((self.height, self.width), dtype=bool)
        mask[r0:r1, c0:c1] = True
        return mask


def render_rgba(fig: Figure) -> np.ndarray:
    """The figure drawn by Agg at its own DPI, as a ``(height, width, 4)`` uint8 array."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


class Backdrop(Artist):
    """An RGBA image of a whole figure, drawn pixel for pixel under everything else.

    ``Figure.figimage`` would resample the image through matplotlib's image pipeline (a
    quarter of a second per 8-inch figure at 150 DPI); the renderer takes it as it is. The image
    must have the size of the figure at the DPI it is saved with.

    Examples
    --------
    >>> fig = Figure(figsize=(1, 1), dpi=10)
    >>> image = np.zeros((10, 10, 4), dtype=np.uint8); image[0, :, 0] = image[..., 3] = 255
    >>> _ = fig.add_artist(Backdrop(image))
    >>> drawn = render_rgba(fig)
    >>> drawn[0, 0].tolist(), drawn[9, 0].tolist()
    ([255, 0, 0, 255], [0, 0, 0, 255])
    """

    def __init__(self, rgba: np.ndarray) -> None:
        super().__init__()
        self.rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
        self.set_zorder(-1)

    def draw(self, renderer: Any) -> None:  # noqa: D102 (Artist API)
        height, width = self.rgba.shape[:2]
        if (width, height) != (int(round(renderer.width)), int(round(renderer.height))):
            raise ValueError(f"backdrop of {width}x{height} pixels on a canvas of "
                             f"{renderer.width}x{renderer.height}: save at the DPI it was drawn")
        gc = renderer.new_gc()
        renderer.draw_image(gc, 0, 0, self.rgba[::-1])
        gc.restore()


def rgb(colour: Any) -> np.ndarray:
    """A matplotlib colour as float RGB in 0..255.

    Examples
    --------
    >>> rgb("#ff8000").tolist()
    [255.0, 128.0, 0.0]
    """
    return np.round(np.asarray(to_rgb(colour)) * 255.0)


class CellBlend:
    """Colours painted with one alpha over fixed pixels of a fixed image, many times.

    The image's share of each blended pixel is computed once; a call adds its palette's share
    per pixel class. Integer arithmetic in 8-bit alpha, as Agg blends (``alpha`` is rounded to
    n/255).

    Parameters
    ----------
    base : (height, width, 4) uint8 RGBA image
    pixels : flat indices (row-major) of the pixels to paint
    alpha : opacity of the colours

    Examples
    --------
    >>> base = np.full((1, 2, 4), 255, dtype=np.uint8)
    >>> over = CellBlend(base, np.array([0]), 0.5)
    >>> over(np.array([[0, 0, 0], [0, 0, 255]]), np.array([0]))[0].tolist()
    [[127, 127, 127, 255], [255, 255, 255, 255]]
    """

    def __init__(self, base: np.ndarray, pixels: np.ndarray, alpha: float) -> None:
        self.alpha = int(round(alpha * 255))
        self.base = base
        self.pixels = pixels
        # the image's share, plus 127 so that the integer division below rounds
        self._under = base.reshape(-1, 4)[pixels, :3].astype(np.uint16) * np.uint16(
            255 - self.alpha) + np.uint16(127)

    def __call__(self, palette: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """A copy of the image with pixel ``i`` painted in ``palette[classes[i]]``.

        ``palette`` holds RGB rows in 0..255; ``classes`` one index per pixel of ``pixels``.
        """
        out = self.base.copy()
        share = np.rint(np.asarray(palette, dtype=float)).astype(np.uint16) * np.uint16(self.alpha)
        mixed = share[classes]
        mixed += self._under
        mixed //= np.uint16(255)
        out.reshape(-1, 4)[self.pixels, :3] = mixed.astype(np.uint8)
        return out


def cell_rows(geometries: Any, grid: PixelGrid) -> np.ndarray:
    """Per pixel of the grid, the row of the polygon under the pixel's centre, else -1.

    Axis-aligned rectangles (population cells are grid squares) are painted with numpy, work
    proportional to cells plus pixels; any other polygon (a cell cut by the study area) is
    burned with ``rasterio.features.rasterize``, which uses the same pixel-centre rule. Only
    pixels inside the axes' clip box are set.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> fig = Figure(figsize=(1, 1), dpi=10)
    >>> ax = fig.add_axes((0, 0, 1, 1)); _ = ax.set_xlim(0, 10); _ = ax.set_ylim(0, 10)
    >>> squares = [shapely.box(0, 0, 5, 5), shapely.Polygon([(5, 5), (10, 5), (10, 10)])]
    >>> cell_rows(np.array(squares), PixelGrid.of(ax))[[0, 2, 7, 9], :][:, [0, 6, 9]].tolist()
    [[-1, -1, -1], [-1, -1, 1], [0, -1, -1], [0, -1, -1]]
    """
    geoms = np.asarray(geometries, dtype=object)
    rows = np.full((grid.height, grid.width), -1, dtype=np.int32)
    if geoms.size == 0:
        return rows
    valid = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    bounds = shapely.bounds(np.where(valid, geoms, None))
    area = shapely.area(geoms)
    box_area = (bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1])
    rect = valid & (shapely.get_type_id(geoms) == 3) & (shapely.get_num_coordinates(geoms) == 5) \
        & np.isclose(area, box_area, rtol=1e-9, atol=0.0)
    _paint_rectangles(rows, bounds[rect], np.flatnonzero(rect), grid)
    other = np.flatnonzero(valid & ~rect)
    if other.size:
        from rasterio.features import rasterize

        burned = rasterize(zip(geoms[other], other.astype(np.int32), strict=True),
                           out_shape=rows.shape, transform=grid.transform(), fill=-1,
                           dtype="int32")
        rows = np.where(burned >= 0, burned, rows)
    rows[~grid.inside()] = -1
    return rows


def _paint_rectangles(rows: np.ndarray, bounds: np.ndarray, ids: np.ndarray,
                      grid: PixelGrid) -> None:
    """Write ``ids`` into the pixels whose centres lie in the rectangles ``bounds``."""
    if ids.size == 0:
        return
    sx, sy = grid.scale
    ox, oy = grid.offset
    # pixel-corner coordinates; a pixel is inside when its centre (index + 0.5) is
    cols = bounds[:, [0, 2]] * sx + ox
    lines = grid.height - (bounds[:, [3, 1]] * sy + oy)
    c0, r0, c1, r1 = grid.clip
    col_a = np.clip(np.ceil(cols[:, 0] - 0.5), c0, c1).astype(np.int64)
    col_b = np.clip(np.ceil(cols[:, 1] - 0.5), c0, c1).astype(np.int64)
    row_a = np.clip(np.ceil(lines[:, 0] - 0.5), r0, r1).astype(np.int64)
    row_b = np.clip(np.ceil(lines[:, 1] - 0.5), r0, r1).astype(np.int64)
    w = np.maximum(col_b - col_a, 0)
    h = np.maximum(row_b - row_a, 0)
    n = w * h
    keep = n > 0
    w, h, n, col_a, row_a, ids = w[keep], h[keep], n[keep], col_a[keep], row_a[keep], ids[keep]
    if n.size == 0:
        return
    # every covered pixel once: its rectangle, then its offset inside the rectangle
    owner = np.repeat(np.arange(n.size), n)
    k = np.arange(owner.size) - np.repeat(np.cumsum(n) - n, n)
    r = row_a[owner] + k // w[owner]
    c = col_a[owner] + k % w[owner]
    rows[r, c] = ids[owner]


def line_paths(geometries: Iterable[Any]) -> list[MplPath]:
    """Lines (and multiline parts) as compound matplotlib paths of up to ``PATH_CHUNK`` lines.

    Examples
    --------
    >>> [p.codes.tolist() for p in line_paths([shapely.LineString([(0, 0), (1, 1), (2, 0)])])]
    [[1, 2, 2]]
    """
    parts = _parts(geometries)
    parts = parts[shapely.get_type_id(parts) == 1] if parts.size else parts
    return [_compound(chunk, closed=False) for chunk in _chunks(parts)]


def polygon_paths(geometries: Iterable[Any]) -> list[MplPath]:
    """Polygons (and multipolygon parts) as compound paths of up to ``PATH_CHUNK`` polygons.

    Rings are oriented (exteriors counter-clockwise, holes clockwise) so that Agg's non-zero
    fill keeps holes open and overlapping polygons filled, as one path per polygon would.

    Examples
    --------
    >>> ring = shapely.box(0, 0, 4, 4, ccw=False).difference(shapely.box(1, 1, 2, 2))
    >>> path = polygon_paths([ring, shapely.box(5, 5, 6, 6)])[0]
    >>> path.codes.tolist()  # exterior, hole, second polygon
    [1, 2, 2, 2, 79, 1, 2, 2, 2, 79, 1, 2, 2, 2, 79]
    >>> [bool(shapely.is_ccw(shapely.LinearRing(path.vertices[i:i + 5]))) for i in (0, 5)]
    [True, False]
    """
    parts = _parts(geometries)
    parts = parts[shapely.get_type_id(parts) == 3] if parts.size else parts
    parts = shapely.orient_polygons(parts) if parts.size else parts
    return [_compound(shapely.get_rings(chunk), closed=True) for chunk in _chunks(parts)]


def _parts(geometries: Iterable[Any]) -> np.ndarray:
    """The single parts of geometries (a list, a GeoSeries or a geometry array), missing and
    empty ones dropped."""
    geoms = np.asarray(geometries if hasattr(geometries, "__array__") else list(geometries),
                       dtype=object).ravel()
    if geoms.size == 0:
        return geoms
    return shapely.get_parts(geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))])


def _chunks(parts: np.ndarray) -> list[np.ndarray]:
    return [parts[i:i + PATH_CHUNK] for i in range(0, parts.size, PATH_CHUNK)]


def _compound(pieces: np.ndarray, *, closed: bool) -> MplPath:
    """One path of many lines or rings: MOVETO at each start, CLOSEPOLY at each ring's end."""
    xy, index = shapely.get_coordinates(pieces, return_index=True)
    codes = np.full(len(index), MplPath.LINETO, dtype=MplPath.code_type)
    starts = np.ones(len(index), dtype=bool)
    starts[1:] = index[1:] != index[:-1]
    codes[starts] = MplPath.MOVETO
    if closed:
        ends = np.ones(len(index), dtype=bool)
        ends[:-1] = starts[1:]
        codes[ends] = MplPath.CLOSEPOLY
    return MplPath(xy, codes)
