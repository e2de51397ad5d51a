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

import os
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import shapely
from pyproj import Transformer

from lifecircle.errors import InputError
from lifecircle.layers.crs import utm_crs

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
    layers = _take_prefetched(path)
    if layers is None:
        layers = _read(path)
    if clip is not None:
        layers = {name: frame[frame.intersects(clip)].reset_index(drop=True)
                  for name, frame in layers.items()}
    return {name: _simplify(frame, simplify_m) for name, frame in layers.items()
            if not frame.empty}


def _read(path: Path) -> dict[str, gpd.GeoDataFrame]:
    """The basemap features of one filtered pass over the file, unclipped and unsimplified."""
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


#: where the reader must be spawned, files from this size up are read ahead (assumption: from
#: 0.5 MB a read takes longer than the 0.5-1 s of starting that process; central Chengdu's
#: 0.3 MB, read in 0.1-0.2 s, is then read in place)
PREFETCH_MIN_BYTES = 500_000
#: reads started by :func:`prefetch_basemap`: file -> (its size and mtime, the read to come)
_PREFETCHED: dict[Path, tuple[tuple[int, int], Future]] = {}


def prefetch_basemap(osm: str | Path | None, min_bytes: int = PREFETCH_MIN_BYTES) -> None:
    """Start reading the basemap of ``osm`` in another process and return at once.

    The command line calls this before it loads the study: loading is one core of Python
    (pyosmium's handlers), so on a second core the basemap's own pass over the file (6 s of a
    50x SYNTHETIC city, 0.1 s of central Chengdu) is done by the time the map needs it.
    :func:`basemap_layers` then takes the read instead of reading again; if the file changed,
    or the read failed, it reads the file itself (and raises the error there). Nothing happens
    for ``None`` or a missing file.

    Where this process may fork (:func:`lifecircle.maps.forked.can_fork`; called before the
    study is loaded, it is small) the reader is forked, which costs milliseconds, and every
    file is read ahead. Elsewhere it is spawned, which imports osmium, shapely and geopandas
    again (0.5-1 s), and only files from ``min_bytes`` up are read ahead.

    Examples
    --------
    >>> from lifecircle.data import sample_path
    >>> prefetch_basemap(sample_path(), min_bytes=0)
    >>> sorted(basemap_layers(sample_path()))
    ['base_places', 'base_rail', 'base_streets', 'base_water']
    """
    if osm is None:
        return
    path = Path(osm).resolve()
    try:
        stamp = path.stat()
    except OSError:
        return
    if path in _PREFETCHED:
        return
    import multiprocessing

    from lifecircle.maps.forked import can_fork

    if can_fork():
        # forked before the console's spinner or any pool starts a thread (a fork copies only
        # the calling thread: a lock held by another one would stay held in the child)
        context = multiprocessing.get_context("fork")
    elif stamp.st_size >= min_bytes:
        context = multiprocessing.get_context("spawn")
    else:
        return
    receiver, sender = context.Pipe(duplex=False)
    # a daemon, so a run that stops early does not wait for it
    process = context.Process(target=_send_read, args=(path, sender, os.getpid()), daemon=True)
    process.start()
    sender.close()
    # taken as soon as it is sent, so the process (imports, osmium's buffers: 0.4 GiB at 50x)
    # ends then, not when the map needs the layers minutes later
    received: Future[dict[str, gpd.GeoDataFrame] | None] = Future()
    threading.Thread(target=_receive, args=(process, receiver, received), daemon=True).start()
    _PREFETCHED[path] = ((stamp.st_size, stamp.st_mtime_ns), received)


def _send_read(path: Path, sender: Any, parent: int) -> None:
    """The prefetching process: the read, or None when it failed (the parent then reads the
    file itself and reports the error as usual). Ctrl-C is the parent's to handle; it ends
    with the parent (killed) as well."""
    import signal

    from lifecircle.maps.forked import end_with_parent

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    end_with_parent(parent)
    try:
        layers = _read(path)
    except Exception:  # noqa: BLE001 - the parent's own read raises it
        layers = None
    sender.send(layers)
    sender.close()


def _receive(process: Any, receiver: Any, received: Future) -> None:
    """The prefetched layers into ``received`` (None when the process died without sending)."""
    try:
        layers = receiver.recv()
    except EOFError:
        layers = None
    finally:
        receiver.close()
        process.join()
    received.set_result(layers)


def _take_prefetched(path: Path) -> dict[str, gpd.GeoDataFrame] | None:
    """The prefetched read of ``path`` when there is one and the file is unchanged, else None."""
    entry = _PREFETCHED.pop(path.resolve(), None)
    if entry is None:
        return None
    stamp, received = entry
    layers = received.result()
    now = path.stat()
    return layers if (now.st_size, now.st_mtime_ns) == stamp else None


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
