"""An OSM file (PBF or XML) as the plain tables a run is built from.

Everything downstream (walk network, facilities, parks, residential land, buildings) is built
from an :class:`OsmExtract`, so the file is read once per run whatever is asked of it (one
pass: :mod:`lifecircle.layers.osm_scan`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from lifecircle.layers import readahead
from lifecircle.layers.osm_scan import OsmScan, WalkWays, scan_osm


@dataclass(frozen=True)
class OsmExtract:
    """What a run needs from one OSM file, in WGS84.

    Attributes
    ----------
    source : the file read
    walk : the walkable ways (osmnx "walk" semantics, see ``seeds/standards.yaml``)
    features : GeoDataFrame of nodes and areas carrying one of :data:`FEATURE_KEYS`, with
        columns ``osm_type`` ("node", "way", "relation"), ``osm_id``, ``tags`` (dict), geometry
    bounds : (min lon, min lat, max lon, max lat) the file declares, or None
    """

    source: Path
    walk: WalkWays
    features: gpd.GeoDataFrame
    bounds: tuple[float, float, float, float] | None = None


def read_osm(path: str | Path) -> OsmExtract:
    """Read walkable ways and feature nodes/areas from an OSM PBF or XML file.

    The pass over the file (:func:`~lifecircle.layers.osm_scan.scan_osm`) is taken from a
    process that read it ahead when there is one (the command line starts it), else made here.

    Parameters
    ----------
    path : an ``.osm.pbf`` or ``.osm`` (XML) file

    Returns
    -------
    OsmExtract

    Raises
    ------
    InputError
        When the file is missing, unreadable, not OSM, or holds no walkable way.
    """
    scan = readahead.take(readahead.OSM_READER, path)
    return extract_from_scan(scan if scan is not None else scan_osm(path))


def extract_from_scan(scan: OsmScan) -> OsmExtract:
    """The tables of one pass: the walk ways as they are, the features as a GeoDataFrame.

    Examples
    --------
    >>> from lifecircle.data import sample_path
    >>> from lifecircle.layers.osm_scan import scan_osm
    >>> extract = extract_from_scan(scan_osm(sample_path()))
    >>> len(extract.features), extract.features.crs.to_string()
    (1697, 'EPSG:4326')
    """
    geometry = (shapely.from_wkb(np.asarray(scan.feature_wkb, dtype=object))
                if scan.feature_wkb else [])
    features = gpd.GeoDataFrame(
        {
            "osm_type": pd.Series(scan.feature_type, dtype=object),
            "osm_id": pd.Series(scan.feature_id, dtype=np.int64),
            "tags": pd.Series(scan.feature_tags, dtype=object),
        },
        geometry=gpd.GeoSeries(geometry, crs="EPSG:4326"),
        crs="EPSG:4326",
    )
    return OsmExtract(source=scan.source, walk=scan.walk, features=features, bounds=scan.bounds)


def tag_column(features: pd.DataFrame, key: str) -> pd.Series:
    """The value of one tag for every feature (missing where absent: NaN in a column of
    strings, ``None`` in an object column).

    Examples
    --------
    >>> frame = pd.DataFrame({"tags": [{"landuse": "residential"}, {}]})
    >>> tag_column(frame, "landuse").tolist()
    ['residential', nan]
    """
    tags = features["tags"]
    # one list comprehension: as Series.map, without a Python call per feature
    return pd.Series([t.get(key) for t in tags.to_numpy()], index=tags.index, name=tags.name)


def clip_extract(extract: OsmExtract, polygon: shapely.Geometry) -> OsmExtract:
    """The part of an extract that touches a WGS84 polygon: walkable ways with a node inside
    (kept whole, so no street is cut short) and features intersecting it.

    Used to cut one area's network out of a region, with the polygon buffered by the caller.
    """
    walk = extract.walk
    inside = shapely.contains_xy(polygon, walk.lon, walk.lat)
    ways = np.unique(walk.way_index[inside])
    keep = np.isin(walk.way_index, ways)
    renumber = np.full(walk.way_ids.size, -1, dtype=np.int64)
    renumber[ways] = np.arange(ways.size)
    clipped = WalkWays(
        way_index=renumber[walk.way_index[keep]], node_ref=walk.node_ref[keep],
        lon=walk.lon[keep], lat=walk.lat[keep], way_ids=walk.way_ids[ways],
        highway=walk.highway[ways],
    )
    features = extract.features[extract.features.intersects(polygon)].reset_index(drop=True)
    return OsmExtract(source=extract.source, walk=clipped, features=features, bounds=None)
