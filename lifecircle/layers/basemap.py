"""Light basemap layers (streets, water, railways, place names) from the run's OSM file.

A second, filtered pyosmium pass over the file: on the central Chengdu extract it costs about a
third of :func:`lifecircle.layers.osm.read_osm` (see ``docs/basemap.md``), and it keeps the walk
reader's tables (and every metric built on them) untouched. Everything is WGS84, simplified to
about :data:`SIMPLIFY_M` metres, for drawing only: no metric reads these layers.

Layers (names as written into ``coverage.gpkg``):

Each layer has ``osm_id`` (the way, node, or for areas the way or relation id).

- ``base_streets``: every highway way (motorways and trunks too, which the walk network leaves
  out), with ``class`` (major, secondary, minor, path), ``highway``, ``name`` (``name:zh``, else
  ``name``) and ``name_en`` (``name:en``);
- ``base_water``: water areas (natural=water, waterway=riverbank, landuse=reservoir) and river
  and canal lines (``form`` column: "area" or "line");
- ``base_rail``: railway=rail/subway/light_rail lines (abandoned/disused are other values of the
  railway key, so they are left out by the value filter);
- ``base_places``: named place=* nodes, with ``place``, ``name`` and ``name_en``.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import shapely
from pyproj import Transformer

from lifecircle.errors import InputError
from lifecircle.layers import readahead
from lifecircle.layers.crs import utm_crs
from lifecircle.layers.readahead import SPAWN_MIN_BYTES

#: Simplification tolerance in metres: below a screen pixel at zoom 16 (~2.4 m), so the drawing
#: does not change while the vertex count drops (assumption, checked by eye on Chengdu).
SIMPLIFY_M = 2.0

#: highway value -> drawing class. China's urban road grades (CJJ 37-2012 §1.0.4: 快速路, 主干路,
#: 次干路, 支路) map onto OSM as motorway/trunk ~ 快速路, primary ~ 主干路, secondary ~ 次干路;
#: tertiary and below are drawn as minor streets (assumption: OSM China tagging practice).
STREET_CLASSES: dict[str, str] = {
    **dict.fromkeys(("motorway", "motorway_link", "trunk", "trunk_link", "primary",
                     "primary_link"), "major"),
    **dict.fromkeys(("secondary", "secondary_link"), "secondary"),
    **dict.fromkeys(("tertiary", "tertiary_link", "residential", "unclassified",
                     "living_street", "service", "road", "busway"), "minor"),
    **dict.fromkeys(("footway", "path", "pedestrian", "steps", "cycleway", "track",
                     "bridleway", "corridor"), "path"),
}
#: Classes in drawing order (bottom to top).
CLASS_ORDER = ("path", "minor", "secondary", "major")

WATER_AREAS = (("natural", "water"), ("waterway", "riverbank"), ("landuse", "reservoir"))
WATER_LINES = ("river", "canal")
RAIL_VALUES = ("rail", "subway", "light_rail")

BASE_LAYERS = ("base_water", "base_rail", "base_streets", "base_places")


def basemap_layers(osm: str | Path, clip: shapely.Geometry | None = None,
                   simplify_m: float = SIMPLIFY_M) -> dict[str, gpd.GeoDataFrame]:
    """Read the basemap layers of an OSM file (one filtered pyosmium pass), in WGS84.

    Parameters
    ----------
    osm : str or Path
        The run's ``.osm.pbf`` / ``.osm`` file.
    clip : shapely geometry or None
        A WGS84 polygon: keep only features intersecting it (streets and lines whole, not cut).
    simplify_m : float
        Douglas-Peucker tolerance in metres (applied in the local UTM zone).

    Returns
    -------
    dict of str to GeoDataFrame
        The non-empty layers among :data:`BASE_LAYERS`, each EPSG:4326.

    Raises
    ------
    InputError
        When the file cannot be read.
    """
    path = Path(osm)
    layers = readahead.take(readahead.BASEMAP_READER, path)  # read ahead by the command line
    if layers is None:
        layers = read_basemap(path)
    if clip is not None:
        layers = {name: frame[frame.intersects(clip)].reset_index(drop=True)
                  for name, frame in layers.items()}
    return {name: _simplify(frame, simplify_m) for name, frame in layers.items()
            if not frame.empty}


def read_basemap(path: Path) -> dict[str, gpd.GeoDataFrame]:
    """The basemap features of one filtered pass over the file, unclipped and unsimplified
    (what :func:`basemap_layers` clips and simplifies)."""
    reader = _Reader()
    keys = osmium.filter.KeyFilter("highway", "waterway", "railway", "place", "natural",
                                   "landuse")
    processor = (osmium.FileProcessor(str(path)).with_locations()
                 .with_areas(osmium.filter.TagFilter(*WATER_AREAS)).with_filter(keys))
    try:
        for obj in processor:
            reader.add(obj)
    except RuntimeError as exc:
        raise InputError(path, f"not a readable OSM file ({exc})") from None
    return reader.frames()


def prefetch_basemap(osm: str | Path | None, min_bytes: int = SPAWN_MIN_BYTES) -> None:
    """Start reading the basemap of ``osm`` in another process and return at once
    (:func:`lifecircle.layers.readahead.start`): :func:`basemap_layers` then takes the read
    instead of reading again. Where this process may fork, every file is read ahead; where the
    reader must be spawned, files from ``min_bytes`` up. Nothing happens for None or a
    missing file.

    Examples
    --------
    >>> from lifecircle.data import sample_path
    >>> prefetch_basemap(sample_path(), min_bytes=0)
    >>> sorted(basemap_layers(sample_path()))
    ['base_places', 'base_rail', 'base_streets', 'base_water']
    """
    if osm is not None:
        readahead.start((readahead.BASEMAP_READER,), osm, spawn_min_bytes=min_bytes)


class _Reader:
    """Collects the basemap features of one pass as WKB and attribute lists."""

    def __init__(self) -> None:
        self.wkb = osmium.geom.WKBFactory()
        self.rows: dict[str, list[dict[str, object]]] = {name: [] for name in BASE_LAYERS}

    def add(self, obj: osmium.osm.OSMObject) -> None:
        tags = obj.tags
        if obj.is_way():
            self._way(obj, tags)
        elif obj.is_area():
            # the area filter above does not stop the assembler handing over every other closed
            # way the key filter lets through (residential land, woods...): only water is water
            if not any(tags.get(key) == value for key, value in WATER_AREAS):
                return
            try:
                geom = self.wkb.create_multipolygon(obj)
            except RuntimeError:
                return  # a ring osmium could not close
            self.rows["base_water"].append({"osm_id": obj.orig_id(), "form": "area",
                                            "name": _name(tags),
                                            "name_en": tags.get("name:en"), "wkb": geom})
        elif obj.is_node() and "place" in tags and _name(tags):
            self.rows["base_places"].append({
                "osm_id": obj.id, "place": tags["place"], "name": _name(tags),
                "name_en": tags.get("name:en"), "wkb": self.wkb.create_point(obj)})

    def _way(self, way: osmium.osm.Way, tags: osmium.osm.TagList) -> None:
        highway = tags.get("highway")
        layer, row = None, {}
        if highway in STREET_CLASSES and tags.get("area") != "yes":
            layer = "base_streets"
            row = {"class": STREET_CLASSES[highway], "highway": highway, "name": _name(tags),
                   "name_en": tags.get("name:en")}
        elif tags.get("waterway") in WATER_LINES:
            layer = "base_water"
            row = {"form": "line", "name": _name(tags), "name_en": tags.get("name:en")}
        elif tags.get("railway") in RAIL_VALUES:
            layer = "base_rail"
            row = {"railway": tags["railway"], "name": _name(tags)}
        if layer is None:
            return
        try:
            row["wkb"] = self.wkb.create_linestring(way)
        except RuntimeError:
            return  # fewer than two located nodes (cut at the extract's edge)
        self.rows[layer].append({"osm_id": way.id, **row})

    def frames(self) -> dict[str, gpd.GeoDataFrame]:
        out = {}
        for name, rows in self.rows.items():
            table = pd.DataFrame(rows)
            if table.empty:
                continue
            geometry = shapely.from_wkb(table.pop("wkb").to_numpy(dtype=object))
            out[name] = gpd.GeoDataFrame(table, geometry=geometry, crs="EPSG:4326")
        return out


def _name(tags: osmium.osm.TagList) -> str | None:
    """The Chinese name: ``name:zh`` when tagged, else ``name``."""
    return tags.get("name:zh") or tags.get("name")


def _simplify(frame: gpd.GeoDataFrame, tolerance_m: float) -> gpd.GeoDataFrame:
    """Simplify in metres (local UTM zone), topology-preserving so no area turns invalid."""
    if tolerance_m <= 0 or not frame.geom_type.isin(
            ["LineString", "MultiLineString", "Polygon", "MultiPolygon"]).any():
        return frame
    x0, y0, x1, y1 = frame.total_bounds
    local = utm_crs((x0 + x1) / 2, (y0 + y1) / 2)
    forward = Transformer.from_crs("EPSG:4326", local, always_xy=True)
    back = Transformer.from_crs(local, "EPSG:4326", always_xy=True)
    geoms = frame.geometry.to_numpy()
    projected = shapely.transform(geoms, lambda xy: np.column_stack(forward.transform(*xy.T)))
    simple = shapely.simplify(projected, tolerance_m, preserve_topology=True)
    out = frame.copy()
    out.geometry = shapely.transform(simple, lambda xy: np.column_stack(back.transform(*xy.T)))
    return out
