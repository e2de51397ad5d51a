"""map.html at city scale: above a GeoJSON size budget the streets, water, railways, residential
land and catchments are an inlined raster tile pyramid (lifecircle.maps.rastertiles), and each
facility's catchment numbers move to its popup. Forced here on the Chengdu run by lowering the
budget; below it (the default on Chengdu) nothing is tiled."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from PIL import Image, ImageColor
from rasterio import features
from rasterio.transform import from_origin

from lifecircle.maps import rastertiles, write_map
from lifecircle.maps.basemap import NAMES
from lifecircle.maps.labels import kind_label
from lifecircle.maps.rastertiles import Paint, burn_lines, render_tiles, tile_transform
from lifecircle.maps.styles import STREET_STYLES
from tests.browser_helpers import opened
from tests.test_maps import run_chengdu

TILES = re.compile(r"var (lifecircle_tiles_\d+) = new L\.LifecircleTiles\((\{.*?\}), (\{.*?\})\);"
                   r"\s*\1\.addTo\((\w+)\);")
REGISTRY = re.compile(r"window\.lifecircle = \{map: \w+, layers: \{(.*?)\}, base: \{(.*?)\}\};",
                      re.DOTALL)


@pytest.fixture(scope="module")
def tiled(tmp_path_factory) -> Path:
    """A copy of the Chengdu run whose map was written with the vector budget at 1 byte."""
    folder = tmp_path_factory.mktemp("tiled") / "run"
    shutil.copytree(run_chengdu(tmp_path_factory), folder)
    (folder / "map.html").unlink(missing_ok=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rastertiles, "MAX_VECTOR_BYTES", 1)
        write_map(folder)
    return folder


def _tile_layers(html: str) -> dict[str, tuple[dict[str, str], dict]]:
    """Tile layers of the page by the registry id of the group holding them."""
    layers, base = REGISTRY.search(html).groups()
    group_ids = {var: key for key, var in re.findall(r'"([^"]+)": (\w+),', layers + base)}
    base_ids = {var for _key, var in re.findall(r'"([^"]+)": (\w+),', base)}
    out = {}
    for _name, tiles, options, group in TILES.findall(html):
        key = ("base:" if group in base_ids else "") + group_ids[group]
        out[key] = (json.loads(tiles), json.loads(options))
    return out


def test_heavy_layers_become_tiles(tiled):
    html = (tiled / "map.html").read_text(encoding="utf-8")
    layers = _tile_layers(html)
    catchments = gpd.read_file(tiled / "coverage.gpkg", layer="catchments")
    expected = {"base:water", "base:rail", "base:streets", "residential",
                *(f"catchments:{k}" for k in catchments["kind"].unique())}
    assert set(layers) == expected
    for tiles, options in layers.values():
        assert tiles and options["maxNativeZoom"] - options["minNativeZoom"] == 4
        assert all(re.fullmatch(r"\d+/\d+/\d+", key) for key in tiles)
    # the street names stay as labels, the streets' and catchments' GeoJSON is gone
    assert '"n":' not in html and '"demand":' not in html


def test_chengdu_keeps_its_vectors_below_the_budget(tmp_path_factory):
    html = (run_chengdu(tmp_path_factory) / "map.html").read_text(encoding="utf-8")
    assert "new L.LifecircleTiles(" not in html


def test_street_pixels_lie_on_the_streets(tiled):
    """In the deepest zoom's busiest street tile, the painted pixels are the street colours,
    every pixel rasterio burns for the same lines is painted, and every painted pixel is within
    the widest street's half width (plus a pixel) of a street."""
    tiles, options = _tile_layers((tiled / "map.html").read_text(encoding="utf-8"))[
        "base:streets"]
    z = options["maxNativeZoom"]
    deepest = {k: v for k, v in tiles.items() if k.startswith(f"{z}/")}
    def painted_pixels(key: str) -> np.ndarray:
        image = Image.open(io.BytesIO(base64.b64decode(tiles[key])))
        return np.asarray(image.convert("RGBA"))[..., 3] > 0

    # the busiest tile by painted pixels (not by PNG size, which depends on the encoder)
    key = max(deepest, key=lambda k: int(painted_pixels(k).sum()))
    _z, x, y = map(int, key.split("/"))
    image = Image.open(io.BytesIO(base64.b64decode(tiles[key])))
    rgba = np.asarray(image.convert("RGBA"))
    painted = rgba[..., 3] > 0
    streets = gpd.read_file(tiled / "coverage.gpkg", layer="base_streets").to_crs(3857)
    affine, pixel = tile_transform(z, x, y)
    burnt = features.rasterize(((g, 1) for g in streets.geometry), out_shape=(256, 256),
                               transform=affine, fill=0, dtype="uint8") > 0
    assert burnt.sum() > 500  # a busy tile: the comparison means something
    assert (painted[burnt]).mean() > 0.99
    rows, cols = np.nonzero(painted)
    centres = shapely.points(affine.c + (cols + 0.5) * pixel, affine.f - (rows + 0.5) * pixel)
    tree = shapely.STRtree(streets.geometry.values)
    _pairs, distance = tree.query_nearest(centres, return_distance=True, all_matches=False)
    widest = max(s.weight for s in STREET_STYLES.values())
    assert distance.max() <= (widest / 2 + 1.5) * pixel
    colours = {ImageColor.getrgb(s.colour)[:3] for s in STREET_STYLES.values()}
    assert {tuple(c) for c in rgba[painted][:, :3]} <= colours


def test_catchment_numbers_are_in_the_facility_popups(tiled):
    html = (tiled / "map.html").read_text(encoding="utf-8")
    catchments = gpd.read_file(tiled / "coverage.gpkg", layer="catchments")
    # folium writes each feature's properties with sorted keys
    popups = {(p["kind"], p["id"]): p
              for p in map(json.loads, re.findall(r'\{"c_demand": [^{}]*\}', html))}
    assert len(popups) >= len(catchments)
    for row in catchments.itertuples():
        popup = popups[(kind_label(row.kind, "zh"), row.facility_id)]
        assert popup["c_pop"] == f"{row.population:,.0f}"
        assert popup["c_demand"] == f"{row.demand:,.0f}"
    # the popups show the fields, with their labels
    fields = re.findall(r"let fields = (\[[^\]]*\]);\s*let aliases = (\[[^\]]*\]);", html)
    shown = [(json.loads(f), json.loads(a)) for f, a in fields if "c_pop" in f]
    assert shown and all(dict(zip(f, a, strict=True))["c_pop"] == "服务范围人口"
                         for f, a in shown)


def test_render_tiles_draws_a_hand_placed_line_and_fill():
    """A horizontal line at y = 100 m and a 600 m square at zoom 16 (2.39 m pixels): the line
    is one row of the first tile, the square fills exactly the pixels whose centres it holds."""
    line = np.array([shapely.LineString([(10, 100), (500, 100)])])
    square = np.array([shapely.box(-600, -600, 0, 0)])
    out = render_tiles([Paint(square, "#00ff00"), Paint(line, "#ff0000", stroke="line")],
                       range(16, 17))
    tiles = {k: np.asarray(Image.open(io.BytesIO(base64.b64decode(v))).convert("RGBA"))
             for k, v in out["tiles"].items()}
    affine, pixel = tile_transform(16, 32768, 32767)
    above = tiles["16/32768/32767"]
    red = np.all(above == (255, 0, 0, 255), axis=-1)
    row = int((affine.f - 100) // pixel)
    assert np.flatnonzero(red.any(axis=1)).tolist() == [row]
    assert np.flatnonzero(red[row]).tolist() == list(range(int(10 // pixel),
                                                          int(500 // pixel) + 1))
    below = tiles["16/32767/32768"]  # the square, south-west of the origin
    green = np.all(below == (0, 255, 0, 255), axis=-1)
    affine, _ = tile_transform(16, 32767, 32768)
    centres_x = affine.c + (np.arange(256) + 0.5) * pixel
    centres_y = affine.f - (np.arange(256) + 0.5) * pixel
    inside = (centres_y[:, None] > -600) & (centres_x[None, :] > -600)
    assert (green == inside).all()


def test_burn_lines_widths():
    canvas = np.zeros((9, 9), dtype=np.uint8)
    line = np.array([shapely.LineString([(0, -4.5), (9, -4.5)])])
    from rasterio.transform import from_origin

    burn_lines(canvas, line, np.array([1], dtype=np.uint8), from_origin(0, 0, 1, 1), width=3)
    assert np.flatnonzero(canvas.any(axis=1)).tolist() == [3, 4, 5]


@pytest.mark.browser
def test_tiled_map_opens_in_chromium(tiled):
    with opened(tiled / "map.html") as state:
        page = state.page
        page.wait_for_function(
            "() => [...document.querySelectorAll('.lifecircle-tiles img')].some(i => i.complete)")
        widths = page.eval_on_selector_all(
            ".lifecircle-tiles img", "imgs => imgs.map(i => i.complete ? i.naturalWidth : -1)")
        labels = page.eval_on_selector_all(
            ".leaflet-control-layers-overlays label", "ls => ls.map(l => l.textContent.trim())")
        shown = page.evaluate("() => window.lifecircle.map.hasLayer(window.lifecircle.base"
                              ".streets)")
    assert state.errors == []
    assert state.outside_requests() == []
    assert widths and all(w == 256 for w in widths)
    assert shown
    for key in ("water", "rail", "streets", "labels"):
        assert NAMES[key]["zh"] in labels
    assert any("服务范围" in label for label in labels)


@pytest.mark.parametrize(("row", "width", "rows"), [
    (3.0, 2, [2, 3]),      # on the line between two pixel rows: one row either side
    (2.5, 1, [2]),         # through a row's centres
    (2.3, 3, [1, 2, 3]),   # the three rows whose centres are nearest
    (4.0, 4, [2, 3, 4, 5]),
])
def test_lines_are_centred_whatever_their_width(row, width, rows):
    canvas = np.zeros((8, 10), dtype=np.uint8)
    line = np.array([shapely.LineString([(0.2, -row), (9.8, -row)])])
    burn_lines(canvas, line, np.array([5], dtype=np.uint8), from_origin(0, 0, 1, 1), width)
    assert np.flatnonzero(canvas.any(axis=1)).tolist() == rows
    assert (canvas[rows] == 5).all()  # the whole width, along the whole line


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_one_colour_lines_burn_the_pixels_of_every_sample(width):
    """Lines of one colour (marked once, then widened) set exactly the pixels that writing each
    sample's width x width block sets (the way lines of several colours are drawn), lines
    running off the canvas included."""
    rng = np.random.default_rng(width)
    lines = shapely.linestrings(rng.uniform(-8, 48, (12, 3, 2)))
    affine = from_origin(0, 0, 1, -1)  # row = y, col = x
    one = np.zeros((40, 41), dtype=np.uint8)
    burn_lines(one, lines, np.full(len(lines), 3, dtype=np.uint8), affine, width)
    # the same lines, every other one in a second colour, then recoloured: the general path
    two = np.zeros_like(one)
    codes = np.where(np.arange(len(lines)) % 2, 3, 4).astype(np.uint8)
    burn_lines(two, lines, codes, affine, width)
    assert ((two > 0) == (one > 0)).all()
    assert set(np.unique(one).tolist()) == {0, 3}
    assert 0 < (one > 0).sum() < one.size


def test_paints_sharing_a_geometry_array_share_one_fill():
    """A fill and its hatching over the same array give the tiles they give over copies."""
    rng = np.random.default_rng(7)
    blocks = shapely.buffer(shapely.points(rng.uniform(0, 3000, (40, 2))), 120.0)
    shared = [Paint(blocks, "#ff00ff", 0.18), Paint(blocks, "#ff00ff", 1.0, hatch=True),
              Paint(blocks, "#ff00ff", 1.0, "line", 1.2)]
    copies = [Paint(blocks.copy(), "#ff00ff", 0.18), Paint(blocks.copy(), "#ff00ff", 1.0,
                                                             hatch=True),
              Paint(blocks.copy(), "#ff00ff", 1.0, "line", 1.2)]
    one, two = render_tiles(shared, range(14, 17)), render_tiles(copies, range(14, 17))
    assert one["tiles"] == two["tiles"] and len(one["tiles"]) > 3
