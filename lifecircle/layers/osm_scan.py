"""One pass over an OSM file (PBF or XML, read by pyosmium) into plain arrays and lists.

Only numpy and pyosmium are needed here, so a process started to read the file ahead
(:mod:`lifecircle.layers.readahead`) reads it without importing pandas or geopandas;
:func:`lifecircle.layers.osm.read_osm` builds the tables from the scan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import osmium

from lifecircle.errors import InputError
from lifecircle.seeds import load_standards

OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".xml", ".osm.xml", ".osm.bz2", ".osm.gz")

# keys whose nodes and areas may be facilities, parks, land use or buildings
FEATURE_KEYS = (
    "amenity",
    "leisure",
    "landuse",
    "building",
    "healthcare",
    "shop",
    "social_facility",
    "sport",
    "place",
    "historic",
)


@dataclass(frozen=True)
class WalkWays:
    """Walkable ways as a flat node sequence (WGS84).

    Attributes
    ----------
    way_index : int array, which way each entry belongs to (entries of a way are contiguous)
    node_ref : int64 array, OSM node id of each entry
    lon, lat : float arrays, coordinates of each entry
    way_ids : int64 array, OSM way id per way
    highway : str array, highway value per way
    """

    way_index: np.ndarray
    node_ref: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    way_ids: np.ndarray
    highway: np.ndarray


@dataclass(frozen=True)
class OsmScan:
    """What one pass over an OSM file found, before any table is built (light to send from
    the process that read it ahead, :mod:`lifecircle.layers.readahead`).

    Attributes
    ----------
    source : the file read
    walk : the walkable ways
    feature_type, feature_id, feature_tags, feature_wkb : per feature node or area: "node",
        "way" or "relation", its OSM id, its tags and its WGS84 geometry as WKB
    bounds : (min lon, min lat, max lon, max lat) the file declares, or None
    """

    source: Path
    walk: WalkWays
    feature_type: list[str]
    feature_id: list[int]
    feature_tags: list[dict[str, str]]
    feature_wkb: list[bytes]
    bounds: tuple[float, float, float, float] | None


@lru_cache(maxsize=1)
def walk_filter() -> tuple[tuple[str, re.Pattern[str] | None], ...]:
    """Parse the walk filter of ``standards.yaml`` (Overpass QL, osmnx's "walk").

    Returns
    -------
    tuple of (key, pattern): ``pattern is None`` means the key must exist; otherwise the way is
    excluded when its value for ``key`` matches ``pattern`` (unanchored, as Overpass ``!~``).
    """
    text = load_standards()["network"]["walk_filter"]
    clauses = []
    for key, pattern in re.findall(r'\["([^"]+)"(?:!~"([^"]*)")?\]', text):
        clauses.append((key, re.compile(pattern) if pattern else None))
    return tuple(clauses)


def is_walkable(tags: dict[str, str]) -> bool:
    """Whether a way with these tags is walkable under the walk filter and the trunk rule."""
    for key, pattern in walk_filter():
        value = tags.get(key)
        if pattern is None:
            if value is None:
                return False
        elif value is not None and pattern.search(value):
            return False
    rule = load_standards()["network"]["exclude_without_sidewalk"]
    return not (
        tags["highway"] in rule["highway"] and tags.get("sidewalk") in rule["sidewalk_values"]
    )


@lru_cache(maxsize=1)
def walk_keys() -> tuple[str, ...]:
    """Every tag key :func:`is_walkable` reads: ways agreeing on these get the same verdict."""
    keys = [key for key, _ in walk_filter()] + ["highway", "sidewalk"]
    return tuple(dict.fromkeys(keys))


def _check_path(path: Path) -> None:
    if not path.exists():
        raise InputError(path, "file not found")
    if not path.is_file():
        raise InputError(path, "is not a file")
    name = path.name.lower()
    if not name.endswith(OSM_SUFFIXES):
        raise InputError(path, f"not an OSM file (expected one of {', '.join(OSM_SUFFIXES)})")
    try:
        with path.open("rb") as handle:
            head = handle.read(64)
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror})") from None
    _check_content(path, name, head)


def _check_content(path: Path, name: str, head: bytes) -> None:
    """Refuse a file whose first bytes contradict its name: osmium picks the reader (XML, PBF,
    gzip, bzip2) by the suffix alone and its parse error would not say why."""
    if not head:
        raise InputError(path, "is empty")
    if head.startswith(b"\x1f\x8b") and not name.endswith(".gz"):
        raise InputError(path, f"is gzip-compressed OSM: rename it {path.name}.gz")
    if head.startswith(b"BZh") and not name.endswith(".bz2"):
        raise InputError(path, f"is bzip2-compressed OSM: rename it {path.name}.bz2")
    if name.endswith((".gz", ".bz2")):
        return
    is_pbf = b"OSMHeader" in head[:16]
    if is_pbf and not name.endswith(".pbf"):
        raise InputError(path, f"is a PBF file: rename it {path.stem}.osm.pbf")
    if name.endswith(".pbf") and head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        raise InputError(path, "is OSM XML, not PBF: rename it "
                               f"{name.removesuffix('.pbf').removesuffix('.osm')}.osm")


def scan_osm(path: str | Path) -> OsmScan:
    """The one pass of :func:`lifecircle.layers.osm.read_osm`: walkable ways and feature
    nodes/areas of an OSM PBF or XML file, as plain arrays and lists.

    Raises
    ------
    InputError
        When the file is missing, unreadable, not OSM, or holds no walkable way.

    Examples
    --------
    >>> from lifecircle.data import sample_path
    >>> scan = scan_osm(sample_path())  # central Chengdu
    >>> scan.walk.way_ids.size, len(scan.feature_wkb), scan.bounds
    (2243, 1697, (104.0421, 30.6528, 104.1296, 30.7279))
    """
    path = Path(path)
    _check_path(path)
    wkb = osmium.geom.WKBFactory()
    way_index: list[int] = []
    node_ref: list[int] = []
    lon: list[float] = []
    lat: list[float] = []
    way_ids: list[int] = []
    highway: list[str] = []
    feat_type: list[str] = []
    feat_id: list[int] = []
    feat_tags: list[dict[str, str]] = []
    feat_wkb: list[str] = []

    # filters run in C++ ahead of the loop, so the untagged nodes (most of a file) and the ways
    # without a highway never cross into Python; the location and area handlers still see all
    processor = (
        osmium.FileProcessor(str(path))
        .with_locations()
        .with_areas(osmium.filter.KeyFilter(*FEATURE_KEYS))
        .with_filter(osmium.filter.EntityFilter(osmium.osm.NODE | osmium.osm.WAY
                                                | osmium.osm.AREA))
        .with_filter(osmium.filter.KeyFilter(*FEATURE_KEYS)
                     .enable_for(osmium.osm.NODE | osmium.osm.AREA))
        .with_filter(osmium.filter.KeyFilter("highway").enable_for(osmium.osm.WAY))
    )
    lost_refs: list[int] = []  # way nodes with no location: missing, after the way, off Earth
    # a city's ways share a few dozen combinations of the keys the walk filter reads
    verdicts: dict[tuple[str | None, ...], bool] = {}
    keys = walk_keys()
    try:
        for obj in processor:
            if obj.is_way():
                tags = dict(obj.tags)
                combination = tuple(map(tags.get, keys))
                walkable = verdicts.get(combination)
                if walkable is None:
                    walkable = verdicts[combination] = is_walkable(tags)
                if not walkable:
                    continue
                k = len(way_ids)
                first = len(node_ref)
                for n in obj.nodes:
                    loc = n.location
                    if loc.valid():
                        node_ref.append(n.ref)
                        lon.append(loc.lon)
                        lat.append(loc.lat)
                    else:
                        lost_refs.append(n.ref)
                count = len(node_ref) - first
                if count < 2:
                    del node_ref[first:], lon[first:], lat[first:]
                    continue
                way_ids.append(obj.id)
                highway.append(tags["highway"])
                way_index.extend([k] * count)
            elif obj.is_node():
                feat_type.append("node")
                feat_id.append(obj.id)
                feat_tags.append(dict(obj.tags))
                feat_wkb.append(wkb.create_point(obj))
            else:  # an area (the filters pass nothing else)
                try:
                    geom = wkb.create_multipolygon(obj)
                except RuntimeError:
                    continue  # an unclosable ring: osmium could not assemble it
                feat_type.append("way" if obj.from_way() else "relation")
                feat_id.append(obj.orig_id())
                feat_tags.append(dict(obj.tags))
                feat_wkb.append(geom)
    except (RuntimeError, ValueError, osmium.InvalidLocationError) as exc:
        # osmium raises ValueError for malformed content (a coordinate "nan", an id
        # beyond int64, a tag value over 1024 characters) and RuntimeError for broken files
        raise InputError(path, f"not a readable OSM file ({_first_line(exc)})") from None

    lost_nodes = len(lost_refs)
    # a node missing when its way was read but located once the whole file was: it came after
    # the way (a hand-made XML file), which osmium's one pass cannot resolve
    unsorted = lost_nodes > 0 and _located_later(processor.node_location_storage, lost_refs)
    if unsorted:
        raise InputError(path, "is not sorted (nodes must come before ways; fix it with "
                               "`osmium sort FILE -o SORTED.osm.pbf`)")
    if not way_ids and lost_nodes:
        raise InputError(path, f"holds no usable walkable way: {lost_nodes} of their nodes are "
                               "missing from the file or have coordinates beyond ±90/±180")
    if not way_ids:
        raise InputError(path, "holds no walkable way (no highway usable on foot)")

    walk = WalkWays(
        way_index=np.asarray(way_index, dtype=np.int64),
        node_ref=np.asarray(node_ref, dtype=np.int64),
        lon=np.asarray(lon, dtype=np.float64),
        lat=np.asarray(lat, dtype=np.float64),
        way_ids=np.asarray(way_ids, dtype=np.int64),
        highway=np.asarray(highway, dtype=object),
    )
    return OsmScan(source=path, walk=walk, feature_type=feat_type, feature_id=feat_id,
                   feature_tags=feat_tags, feature_wkb=feat_wkb, bounds=_declared_bounds(path))


def _located_later(store: osmium.index.LocationTable, refs: list[int]) -> bool:
    """Whether any of these node ids has a valid location in the store filled by the pass
    (osmium's store keeps positive ids only: a negative id, as in an unsaved JOSM file, is
    never located, sorted or not)."""
    for ref in refs:
        if ref < 0:
            continue
        try:
            if store.get(ref).valid():
                return True
        except KeyError:
            continue
    return False


def _declared_bounds(path: Path) -> tuple[float, float, float, float] | None:
    """The bounding box in the file header (``<bounds>`` in XML), when there is one."""
    try:
        with osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING) as reader:
            box = reader.header().box()
    except (RuntimeError, ValueError) as exc:
        raise InputError(path, f"not a readable OSM file ({_first_line(exc)})") from None
    if not box.valid():
        return None
    return (box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
