"""Heavy vector layers as a small raster tile pyramid inlined in map.html, for maps at city scale.

A 50x SYNTHETIC city's streets (265,000 ways), residential land (96,000 polygons) and
catchments, inlined as GeoJSON, made a 108 MB map.html that took Chromium 53 s and 3.7 GiB to
open. Above a size budget each such layer is instead drawn here once per zoom level into Web
Mercator (EPSG:3857) tiles of 256 x 256 pixels, the tiles Leaflet itself asks for: palette PNGs
(Pillow) inlined as base64 in one JavaScript object, served by an ``L.GridLayer`` whose
``createTile`` looks the tile up by ``z/x/y``. Nothing leaves the file; lines keep their width in
screen pixels at every native zoom (each zoom is drawn anew, not scaled), and beyond the deepest
native zoom Leaflet enlarges that zoom's tiles. Empty tiles are not stored.
"""

from __future__ import annotations

import base64
import io
import json
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from branca.element import MacroElement
from jinja2 import Template

from lifecircle.coverage.parallel import GEOS_THREADS
from lifecircle.maps.scanfill import fill_polygons

#: Tile side, pixels (Leaflet's default tile size).
TILE_PX = 256
#: Half the Web Mercator world's width, metres (EPSG:3857).
HALF_WORLD_M = 20037508.342789244
#: Most tiles drawn at the deepest native zoom of one layer (assumption: 1,200 tiles of a
#: street grid are about 10-15 MB of PNG; a 50x SYNTHETIC city, 69 km across, gets zoom 14,
#: 8 m pixels, central Chengdu zoom 16).
MAX_TILES = 1_200
#: Deepest native zoom (assumption: 2.4 m pixels at Chengdu's latitude, finer than any line
#: width drawn; Leaflet enlarges these tiles beyond it).
MAX_NATIVE_ZOOM = 16
#: GeoJSON size above which a layer is drawn as tiles, estimated by :func:`geojson_bytes`
#: (assumption: 1.5 MB; central Chengdu's heaviest such layer, its streets, is 0.4 MB; a 10x
#: SYNTHETIC city's streets are 7 MB, its water 3.3 MB and its catchments 2.7 MB, which
#: kept as GeoJSON made its map take 7.6 s to open in Chromium)
MAX_VECTOR_BYTES = 1_500_000
#: Leaflet pane of the analysis tiles: above the basemap (tilePane, z 200), under the vector
#: layers and images (overlayPane, z 400), so outlines and facilities stay on top.
ANALYSIS_PANE = ("lcTiles", 350)
#: Smallest pixel of the residential land's tiles, Web Mercator metres (assumption: zoom 14,
#: 9.6 m, 8.2 m on the ground at 31 N: blocks are tens of metres across; deeper, Leaflet
#: enlarges the tiles)
ANALYSIS_PIXEL_M = 9.0
#: Smallest pixel of the catchments' tiles (assumption: zoom 13, 19 m: catchments are unions
#: of 100 m population cells, five pixels a side; one pyramid per kind, so a 50x city's
#: catchments at zoom 14 were 5,800 tiles and 11 MB)
CATCHMENT_PIXEL_M = 18.0
#: Native zoom levels below the deepest one (assumption: the map opens 3-4 levels out from the
#: deepest to show the whole city; further out Leaflet shrinks the shallowest level's tiles).
ZOOM_LEVELS = 5


@dataclass(frozen=True)
class Paint:
    """One drawing step of a tile layer: geometries filled or stroked in one colour per row.

    Attributes
    ----------
    geometry : shapely geometries in EPSG:3857
    colours : CSS hex colour per geometry (one string: every geometry)
    opacity : alpha of the painted pixels, 0..1
    stroke : ``"fill"`` (polygon interiors) or ``"line"`` (lines, or polygon outlines)
    width_px : line width in screen pixels (rounded to 1, 2 or 3 pixels)
    hatch : fill only the pixels of diagonal stripes (the map's hatching)
    """

    geometry: np.ndarray
    colours: str | list[str]
    opacity: float = 1.0
    stroke: str = "fill"
    width_px: float = 1.0
    hatch: bool = False


def to_mercator(geometry: gpd.GeoSeries) -> np.ndarray:
    """Geometries in EPSG:3857 as a shapely array (the CRS Leaflet's tiles are in).

    Examples
    --------
    >>> to_mercator(gpd.GeoSeries([shapely.Point(0, 0)], crs=4326))[0].wkt
    'POINT (0 0)'
    """
    return np.asarray(geometry.to_crs(3857).values)


def tile_zoom(bounds: tuple[float, float, float, float]) -> int:
    """The deepest native zoom for Mercator ``bounds``: at most :data:`MAX_TILES` tiles.

    Examples
    --------
    >>> tile_zoom((0, 0, 8_000, 8_000)), tile_zoom((0, 0, 80_000, 80_000))
    (16, 14)
    """
    x0, y0, x1, y1 = bounds
    for z in range(MAX_NATIVE_ZOOM, 0, -1):
        size = 2 * HALF_WORLD_M / 2**z
        count = (math.floor((x1 + HALF_WORLD_M) / size) - math.floor((x0 + HALF_WORLD_M) / size)
                 + 1) * (math.floor((HALF_WORLD_M - y0) / size)
                         - math.floor((HALF_WORLD_M - y1) / size) + 1)
        if count <= MAX_TILES:
            return z
    return 1


def tile_transform(z: int, tx: int, ty: int, tiles: int = 1) -> tuple[Any, float]:
    """Affine transform (rasterio) of tile ``z/tx/ty`` (``tiles`` x ``tiles`` tiles from it) and
    its pixel size in Mercator metres.

    Examples
    --------
    >>> affine, pixel = tile_transform(0, 0, 0)
    >>> round(pixel, 3), round(affine.c), round(affine.f)
    (156543.034, -20037508, 20037508)
    """
    from rasterio.transform import from_origin

    size = 2 * HALF_WORLD_M / 2**z
    pixel = size / TILE_PX
    return from_origin(-HALF_WORLD_M + tx * size, HALF_WORLD_M - ty * size, pixel, pixel), pixel


def render_tiles(paints: list[Paint], zooms: range | None = None, pixel_m: float = 0.0
                 ) -> dict[str, Any]:
    """Draw ``paints`` (bottom to top) into the Web Mercator tiles that hold them.

    Parameters
    ----------
    paints : the drawing steps, in EPSG:3857
    zooms : native zoom levels; default the :data:`ZOOM_LEVELS` levels down from
        :func:`tile_zoom` of the paints' bounds
    pixel_m : smallest pixel wanted, Web Mercator metres: the deepest zoom is no finer (a
        layer of 100 m cells needs no 2 m pixels)

    Returns
    -------
    dict
        ``tiles`` (``"z/x/y"`` to base64 PNG, empty tiles left out), ``min_zoom``, ``max_zoom``
        and ``bounds`` ([[south, west], [north, east]], WGS84).

    Examples
    --------
    >>> line = np.array([shapely.LineString([(0, 0), (1000, 1000)])])
    >>> out = render_tiles([Paint(line, "#ff0000", stroke="line")], range(16, 17))
    >>> sorted(out["tiles"]), out["max_zoom"]
    (['16/32768/32767', '16/32769/32766'], 16)
    """

    geoms = [p.geometry for p in paints if len(p.geometry)]
    if not geoms:
        raise ValueError("nothing to draw")
    bounds = tuple(shapely.total_bounds(np.concatenate(geoms)))
    if zooms is None:
        deepest = tile_zoom(bounds)
        if pixel_m > 0:
            coarse = math.floor(math.log2(2 * HALF_WORLD_M / TILE_PX / pixel_m))
            deepest = max(1, min(deepest, coarse))
        zooms = range(max(1, deepest - ZOOM_LEVELS + 1), deepest + 1)
    palette, alphas, codes = _palette(paints)
    tiles: dict[str, str] = {}
    fills = _fills(paints, codes, bounds, zooms[-1])
    lines = {i: line_vertices(p.geometry, code)
             for i, (p, code) in enumerate(zip(paints, codes, strict=True)) if p.stroke == "line"}
    # zlib runs without the GIL: a zoom's tiles are encoded on every core while the next zoom
    # is drawn; the tiles keep their order (zoom by zoom, row by row)
    pending = []
    with ThreadPoolExecutor(GEOS_THREADS) as pool:
        for z in zooms:
            canvas, tx0, ty0 = _draw_zoom(paints, lines, fills, bounds, z, zooms[-1])
            rows, cols = canvas.shape[0] // TILE_PX, canvas.shape[1] // TILE_PX
            blocks = canvas.reshape(rows, TILE_PX, cols, TILE_PX)
            places = list(zip(*np.nonzero(blocks.any(axis=(1, 3))), strict=True))
            encode = partial(_tile_png, blocks, palette, alphas)
            pending.append((z, tx0, ty0, places, [pool.submit(encode, p) for p in places]))
        for z, tx0, ty0, places, pngs in pending:
            for (r, c), png in zip(places, pngs, strict=True):
                tiles[f"{z}/{tx0 + c}/{ty0 + r}"] = png.result()
    corners = gpd.GeoSeries(gpd.points_from_xy(bounds[0::2], bounds[1::2]), crs=3857).to_crs(4326)
    return {"tiles": tiles, "min_zoom": zooms[0], "max_zoom": zooms[-1],
            "bounds": [[float(corners.y.iloc[0]), float(corners.x.iloc[0])],
                       [float(corners.y.iloc[1]), float(corners.x.iloc[1])]]}


def _tile_png(blocks: np.ndarray, palette: list[int], alphas: bytes,
              place: tuple[int, int]) -> str:
    """One tile of a zoom's canvas (``blocks[row, :, col, :]``) as a base64 palette PNG."""
    from PIL import Image

    image = Image.fromarray(blocks[place[0], :, place[1], :], mode="P")
    image.putpalette(palette)
    buffer = io.BytesIO()
    # zlib level 1: several times faster than level 6 on these flat palette tiles
    image.save(buffer, format="PNG", transparency=alphas, compress_level=1)
    return base64.b64encode(buffer.getvalue()).decode()


def _palette(paints: list[Paint]) -> tuple[list[int], bytes, list[np.ndarray]]:
    """Palette (RGB flat list), alpha per index and each paint's index per geometry; index 0 is
    transparent (no paint)."""
    from PIL import ImageColor

    entries: dict[tuple[str, int], int] = {}
    codes = []
    for paint in paints:
        alpha = int(round(255 * paint.opacity))
        colours = ([paint.colours] * len(paint.geometry) if isinstance(paint.colours, str)
                   else list(paint.colours))
        codes.append(np.array([entries.setdefault((c, alpha), len(entries) + 1)
                               for c in colours], dtype=np.uint8))
    if len(entries) > 255:
        raise ValueError("more than 255 colours in one tile layer")
    palette = [0, 0, 0]
    alphas = [0]
    for (colour, alpha), _index in sorted(entries.items(), key=lambda e: e[1]):
        palette += list(ImageColor.getrgb(colour)[:3])
        alphas.append(alpha)
    return palette, bytes(alphas), codes


def _tile_range(bounds: tuple[float, ...], z: int) -> tuple[int, int, tuple[int, int]]:
    """First tile column and row over Mercator ``bounds`` at zoom ``z`` and the canvas shape of
    every tile over them."""
    size = 2 * HALF_WORLD_M / 2**z
    tx0, tx1 = (int((bounds[0] + HALF_WORLD_M) // size), int((bounds[2] + HALF_WORLD_M) // size))
    ty0, ty1 = (int((HALF_WORLD_M - bounds[3]) // size), int((HALF_WORLD_M - bounds[1]) // size))
    return tx0, ty0, ((ty1 - ty0 + 1) * TILE_PX, (tx1 - tx0 + 1) * TILE_PX)


def _fills(paints: list[Paint], codes: list[np.ndarray], bounds: tuple[float, ...], z: int
           ) -> dict[int, tuple[np.ndarray, int, int]]:
    """Each fill paint's palette codes rasterised once, at the deepest zoom ``z`` (shallower
    zooms sample these pixels: a fill has no width to keep), with the canvas' first tile.

    Paints of one colour over the very same geometry array (a fill and its hatching) share one
    rasterisation, its code replaced: the same pixels."""
    tx0, ty0, shape = _tile_range(bounds, z)
    affine, _pixel = tile_transform(z, tx0, ty0)
    out = {}
    done: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for i, (paint, code) in enumerate(zip(paints, codes, strict=True)):
        keep = ~shapely.is_empty(paint.geometry)
        if paint.stroke != "fill" or not keep.any():
            continue
        code = code[keep]
        same = done.get(id(paint.geometry))
        if same is not None and (same[1] == same[1][0]).all() and (code == code[0]).all():
            recode = np.zeros(256, dtype=np.uint8)
            recode[same[1][0]] = code[0]
            layer = recode[same[0]]
        else:
            layer = fill_polygons(paint.geometry[keep], code, shape, affine)
            done[id(paint.geometry)] = (layer, code)
        out[i] = (layer, tx0, ty0)
    return out


def _sample(fill: tuple[np.ndarray, int, int], deepest: int, z: int, tx0: int, ty0: int,
            shape: tuple[int, int]) -> np.ndarray:
    """The deepest zoom's fill sampled at the pixel centres of zoom ``z``'s canvas (a strided
    view where the two overlap)."""
    layer, dx0, dy0 = fill
    scale = 2 ** (deepest - z)
    out = np.zeros(shape, dtype=np.uint8)
    spans = []
    for axis, first, origin in ((0, ty0, dy0), (1, tx0, dx0)):
        # deepest-zoom pixel under the centre of this zoom's pixel i: start + i * scale
        start = first * TILE_PX * scale + scale // 2 - origin * TILE_PX
        lo = max(0, -(start // scale))
        hi = min(shape[axis], (layer.shape[axis] - 1 - start) // scale + 1)
        spans.append((lo, hi, start))
    (r0, r1, rs), (c0, c1, cs) = spans
    if r1 > r0 and c1 > c0:
        out[r0:r1, c0:c1] = layer[rs + r0 * scale:rs + (r1 - 1) * scale + 1:scale,
                                  cs + c0 * scale:cs + (c1 - 1) * scale + 1:scale]
    return out


def burn_lines(canvas: np.ndarray, geometry: np.ndarray, code: np.ndarray, affine: Any,
               width: int = 1) -> None:
    """Set the pixels of ``canvas`` (transform ``affine``) that lines pass through to their
    palette ``code``, ``width`` pixels wide; polygons give their outlines.

    Each segment is sampled every half pixel (numpy, no per-line Python), so a line burns every
    pixel it crosses but for corner-cutting by under half a pixel.

    Examples
    --------
    >>> from rasterio.transform import from_origin
    >>> canvas = np.zeros((4, 6), dtype=np.uint8)
    >>> line = np.array([shapely.LineString([(0.5, -1.5), (5.5, -1.5)])])
    >>> burn_lines(canvas, line, np.array([7], dtype=np.uint8), from_origin(0, 0, 1, 1))
    >>> canvas[1].tolist(), int(canvas.sum())
    ([7, 7, 7, 7, 7, 7], 42)
    """
    _burn(canvas, *line_vertices(geometry, code), affine, width)


def line_vertices(geometry: np.ndarray, code: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices of lines (polygons: their outlines): coordinates, part number and code per
    vertex; consecutive vertices of one part make a segment."""
    polygonal = np.flatnonzero(shapely.get_type_id(geometry) >= 3)
    if polygonal.size:
        geometry = geometry.copy()
        geometry[polygonal] = shapely.boundary(geometry[polygonal])
    parts, owner = shapely.get_parts(geometry, return_index=True)
    coords, part = shapely.get_coordinates(parts, return_index=True)
    return coords, part, code[owner[part]]


def _burn(canvas: np.ndarray, coords: np.ndarray, part: np.ndarray, value: np.ndarray,
          affine: Any, width: int) -> None:
    if len(coords) < 2:
        return
    col = (coords[:, 0] - affine.c) / affine.a
    row = (coords[:, 1] - affine.f) / affine.e
    segment = np.flatnonzero(part[1:] == part[:-1])
    c0, r0 = col[segment], row[segment]
    dc, dr = col[segment + 1] - c0, row[segment + 1] - r0
    # a sample every half pixel (a pixel when the line is wider than one: its width covers)
    per_px = 2 if width == 1 else 1
    steps = np.ceil(per_px * np.hypot(dc, dr)).astype(np.int64) + 1
    first = np.cumsum(steps) - steps
    # per-segment values repeated per sample (np.repeat: sequential, cheaper than a gather),
    # arithmetic in place (the same operations: c0 + t * dc - half, floored)
    k = np.arange(int(steps.sum()))
    k -= np.repeat(first, steps)
    t = k / np.repeat(np.maximum(steps - 1, 1), steps)
    del k
    # the first of the `width` pixels (across and along) whose centres lie nearest each sample,
    # so an even width is centred on the line too (not widened to one side)
    half = (width - 1) / 2
    c, r = (_along(start, delta, t, steps, half) for start, delta in ((c0, dc), (r0, dr)))
    del t
    values = value[segment]
    if values.size and (values == values[0]).all():
        _burn_one_value(canvas, r, c, values[0], width)
        return
    v = np.repeat(values, steps)
    height, wide = canvas.shape
    flat = canvas.reshape(-1)
    for dy in range(width):
        for dx in range(width):
            rr, cc = r + dy, c + dx
            inside = (rr >= 0) & (rr < height) & (cc >= 0) & (cc < wide)
            flat[(rr * wide + cc)[inside]] = v[inside]


def _along(start: np.ndarray, delta: np.ndarray, t: np.ndarray, steps: np.ndarray,
           half: float) -> np.ndarray:
    """``floor(start + t * delta - half)`` per sample, each segment's values repeated."""
    x = np.repeat(delta, steps)
    x *= t
    x += np.repeat(start, steps)
    x -= half
    np.floor(x, out=x)
    return x.astype(np.int64)


def _burn_one_value(canvas: np.ndarray, r: np.ndarray, c: np.ndarray, value: int,
                    width: int) -> None:
    """Set the ``width`` x ``width`` pixels from each anchor ``(r, c)`` (down and right) to
    one value. Thin lines write each block pixel once per anchor; from 3 pixels wide the anchors
    are marked once and the mask widened by shifting it (measured cheaper on a 50x SYNTHETIC
    city's 71 M pixel canvas); both set the same pixels."""
    height, wide = canvas.shape
    pad = width - 1  # anchors up to `pad` pixels above or left of the canvas still reach it
    if width <= 2:
        flat = canvas.reshape(-1)
        inside_all = (r.min() >= 0 and c.min() >= 0 and r.max() + pad < height
                      and c.max() + pad < wide)
        for dy in range(width):
            for dx in range(width):
                rr, cc = r + dy, c + dx
                index = rr * wide + cc
                if not inside_all:
                    index = index[(rr >= 0) & (rr < height) & (cc >= 0) & (cc < wide)]
                flat[index] = value
        return
    rr, cc = r + pad, c + pad
    if rr.min() < 0 or cc.min() < 0 or rr.max() >= height + pad or cc.max() >= wide + pad:
        inside = (rr >= 0) & (rr < height + pad) & (cc >= 0) & (cc < wide + pad)
        rr, cc = rr[inside], cc[inside]
    mask = np.zeros((height + pad, wide + pad), dtype=bool)
    mask.reshape(-1)[rr * (wide + pad) + cc] = True
    across = mask[:, pad:].copy()  # pixel x is set by the anchors at x - dx, dx < width
    for dx in range(1, width):
        across |= mask[:, pad - dx:pad - dx + wide]
    mask = across[pad:].copy()
    for dy in range(1, width):
        mask |= across[pad - dy:pad - dy + height]
    np.copyto(canvas, np.uint8(value), where=mask)


def _draw_zoom(paints: list[Paint], lines: dict[int, Any], fills: dict[int, Any],
               bounds: tuple[float, ...], z: int, deepest: int) -> tuple[np.ndarray, int, int]:
    """Palette-index canvas of every tile over ``bounds`` at zoom ``z`` and its first tile."""
    tx0, ty0, shape = _tile_range(bounds, z)
    affine, _pixel = tile_transform(z, tx0, ty0)
    canvas = np.zeros(shape, dtype=np.uint8)
    for i, paint in enumerate(paints):
        if paint.stroke == "line" and not paint.hatch:
            # straight onto the canvas: a line's pixels take its codes (never 0) over what is
            # under them, as a layer copied where painted would
            _burn(canvas, *lines[i], affine, int(min(4, max(1, round(paint.width_px)))))
            continue
        if paint.stroke == "line":
            layer = np.zeros(shape, dtype=np.uint8)
            _burn(layer, *lines[i], affine, int(min(4, max(1, round(paint.width_px)))))
        elif i in fills:
            fill = fills[i]
            # the deepest zoom is the fill's own canvas: used as it is (only read here)
            same = z == deepest and fill[0].shape == shape and fill[1:] == (tx0, ty0)
            layer = fill[0] if same else _sample(fill, deepest, z, tx0, ty0, shape)
        else:
            continue
        if paint.hatch:  # a new array: the fill stays as drawn
            layer = layer * _stripes(shape, ty0 * TILE_PX + tx0 * TILE_PX)
        np.copyto(canvas, layer, where=layer > 0)
    return canvas, tx0, ty0


def _stripes(shape: tuple[int, int], offset: int) -> np.ndarray:
    """Diagonal stripes, 2 pixels of every 6 (the hatching), continuous across tiles: pixel
    (r, c) is on a stripe when ``(r + c + offset) % 6 < 2``."""
    line = (np.arange(shape[1] + 6) % 6 < 2).astype(np.uint8)
    out = np.empty(shape, dtype=np.uint8)
    for k in range(6):
        shift = (k + offset) % 6
        out[k::6] = line[shift:shift + shape[1]]
    return out


class TileLayer(MacroElement):
    """An inlined tile pyramid (:func:`render_tiles`) as a Leaflet ``L.GridLayer`` added to its
    parent (a feature group); ``getBounds`` gives the drawn extent."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        {%- if this.pane_z %}
        if (!{{ this.map_name }}.getPane({{ this.pane|tojson }})) {
          {{ this.map_name }}.createPane({{ this.pane|tojson }}).style.zIndex = {{ this.pane_z }};
        }
        {%- endif %}
        if (!L.LifecircleTiles) {
          L.LifecircleTiles = L.GridLayer.extend({
            initialize: function (tiles, options) {
              this._lcTiles = tiles;
              L.GridLayer.prototype.initialize.call(this, options);
            },
            createTile: function (coords) {
              var data = this._lcTiles[coords.z + "/" + coords.x + "/" + coords.y];
              if (!data) return document.createElement("div");
              var img = document.createElement("img");
              img.alt = "";
              img.src = "data:image/png;base64," + data;
              return img;
            },
            getBounds: function () { return L.latLngBounds(this.options.bounds); }
          });
        }
        var {{ this.get_name() }} = new L.LifecircleTiles({{ this.tiles }}, {{ this.options }});
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, pyramid: dict[str, Any], map_name: str,
                 pane: tuple[str, int | None] = ("tilePane", None), z_index: int = 1) -> None:
        super().__init__()
        self._name = "LifecircleTiles"
        self.map_name = map_name
        self.pane, self.pane_z = pane
        self.tiles = json.dumps(pyramid["tiles"], separators=(",", ":"))
        self.options = json.dumps({
            "tileSize": TILE_PX, "minNativeZoom": pyramid["min_zoom"],
            "maxNativeZoom": pyramid["max_zoom"], "bounds": pyramid["bounds"], "pane": pane[0],
            "zIndex": z_index, "className": "lifecircle-tiles", "updateWhenZooming": False,
        })


def tile_layer(paints: list[Paint], map_name: str,
               pane: tuple[str, int | None] = ("tilePane", None), z_index: int = 1,
               pixel_m: float = 0.0) -> TileLayer:
    """The Leaflet layer of ``paints`` drawn as an inlined tile pyramid (see
    :func:`render_tiles`).

    Parameters
    ----------
    paints : the drawing steps, bottom to top, in EPSG:3857
    map_name : the page's variable of the Leaflet map (``folium.Map.get_name()``)
    pane : Leaflet pane and, for a pane the page creates, its CSS z-index (None: Leaflet's own)
    z_index : order among the tile layers of the pane
    pixel_m : smallest pixel wanted, Web Mercator metres (see :func:`render_tiles`)
    """
    return TileLayer(render_tiles(paints, pixel_m=pixel_m), map_name, pane=pane,
                     z_index=z_index)


def too_heavy(*geometry: gpd.GeoSeries) -> bool:
    """Whether layers together would make more than :data:`MAX_VECTOR_BYTES` of GeoJSON (then
    they are drawn as tiles).

    Examples
    --------
    >>> streets = gpd.GeoSeries([shapely.LineString([(0, 0), (1, 1)])] * 20_000)
    >>> too_heavy(streets[:100]), too_heavy(streets)
    (False, True)
    """
    return sum(geojson_bytes(g) for g in geometry) > MAX_VECTOR_BYTES


def geojson_bytes(geometry: gpd.GeoSeries) -> int:
    """Estimated size of a layer's GeoJSON in the page: about 90 bytes per feature (its type,
    id, properties and geometry keys) and 22 per vertex at six decimals (measured on the map of
    a 10x SYNTHETIC city: 52,829 two-vertex streets, 7.0 MB).

    Examples
    --------
    >>> geojson_bytes(gpd.GeoSeries([shapely.LineString([(0, 0), (1, 1)])]))
    134
    """
    vertices = int(shapely.get_num_coordinates(np.asarray(geometry.values)).sum())
    return 90 * len(geometry) + 22 * vertices


