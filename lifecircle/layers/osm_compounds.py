"""Gated compounds and their gates from the OSM file, where they are mapped (``--osm-compounds``).

OSM rarely maps compound walls in China (central Chengdu's extract has none and 31 gate or
entrance nodes), so a user's layer (``--compounds FILE``) is the usual source; where the walls
are mapped they are read here:

- compounds: closed ways tagged ``barrier=wall`` or ``barrier=fence`` enclosing residential land,
  and closed ``landuse=residential`` ways tagged ``access=private`` or ``access=no``;
- gates: nodes tagged ``barrier=gate`` (and the other gate-like barrier values below) or
  ``entrance=*``, except those tagged ``access=no`` (a locked gate opens nothing).

One extra pass over the file with a key filter (tens of milliseconds on central Chengdu).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import shapely

from lifecircle.errors import InputError
from lifecircle.layers.compounds import OVERLAP_TOLERANCE_M2

#: barrier values that enclose a compound (issue 19: walls and fences)
WALL_VALUES = frozenset({"wall", "fence"})
#: barrier values of a node a pedestrian passes (OSM wiki, Key:barrier, "access control on
#: linear barriers"); entrance=* nodes count too
GATE_VALUES = frozenset({"gate", "lift_gate", "swing_gate", "sliding_gate", "turnstile",
                         "full-height_turnstile", "kissing_gate", "wicket_gate", "entrance"})
#: access values making a residential landuse polygon a gated compound
PRIVATE_VALUES = frozenset({"private", "no"})
#: smallest ring taken as a compound (assumption: a 居住街坊 of GB 50180-2018 表 3.0.4 houses
#: 1,000-3,000 residents on 2-4 ha; rings under 2,000 m² are yards, courts or plots)
MIN_COMPOUND_M2 = 2000.0
#: share of a wall ring's area that must be residential land (assumption: a walled school or
#: factory is not a residential compound)
MIN_RESIDENTIAL_SHARE = 0.5


def compounds_from_osm(path: str | Path, crs, residential: gpd.GeoDataFrame | None = None
                       ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Compounds and gates mapped in an OSM file, in ``crs``.

    Parameters
    ----------
    path : the OSM file (PBF or XML)
    crs : the study's local CRS (metres)
    residential : residential land in ``crs``; wall and fence rings are kept only where at
        least :data:`MIN_RESIDENTIAL_SHARE` of their area is residential (None: all kept)

    Returns
    -------
    (compounds, gates): compounds with ``id`` (``w<way id>``), ``name``, ``source``
    ("barrier" or "landuse") and polygons; gates with ``osm_id`` and points. Rings overlapping
    a larger one kept are dropped (the outer wall counts), so the compounds never overlap.

    Raises
    ------
    InputError
        The file cannot be read.
    """
    rings: list[np.ndarray] = []
    ids: list[int] = []
    names: list[str] = []
    sources: list[str] = []
    gate_xy: list[tuple[float, float]] = []
    gate_ids: list[int] = []
    processor = (osmium.FileProcessor(str(path)).with_locations()
                 .with_filter(osmium.filter.KeyFilter("barrier", "entrance", "access")))
    try:
        for obj in processor:
            tags = obj.tags
            if obj.is_node():
                if ((tags.get("barrier") in GATE_VALUES or "entrance" in tags)
                        and tags.get("access") != "no"):
                    gate_xy.append((obj.location.lon, obj.location.lat))
                    gate_ids.append(obj.id)
                continue
            if not obj.is_way():
                continue
            source = ("barrier" if tags.get("barrier") in WALL_VALUES else
                      "landuse" if tags.get("landuse") == "residential"
                      and tags.get("access") in PRIVATE_VALUES else None)
            nodes = obj.nodes
            if source is None or len(nodes) < 4 or nodes[0].ref != nodes[-1].ref:
                continue
            if not all(n.location.valid() for n in nodes):
                continue
            rings.append(np.array([(n.location.lon, n.location.lat) for n in nodes]))
            ids.append(obj.id)
            names.append(tags.get("name", ""))
            sources.append(source)
    except (RuntimeError, ValueError, osmium.InvalidLocationError) as exc:
        raise InputError(path, f"not a readable OSM file ({str(exc).splitlines()[0]})") from None
    polygons = gpd.GeoSeries(shapely.make_valid(shapely.polygons(
        [shapely.linearrings(r) for r in rings])) if rings else [], crs="EPSG:4326").to_crs(crs)
    compounds = gpd.GeoDataFrame({"id": [f"w{i}" for i in ids], "name": names,
                                  "source": sources}, geometry=polygons, crs=crs)
    compounds = _keep_compounds(compounds, residential)
    gates = gpd.GeoDataFrame({"osm_id": np.asarray(gate_ids, dtype=np.int64)},
                             geometry=gpd.GeoSeries(shapely.points(gate_xy) if gate_xy else [],
                                                    crs="EPSG:4326").to_crs(crs), crs=crs)
    return compounds, gates


def _keep_compounds(compounds: gpd.GeoDataFrame,
                    residential: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """Polygons large enough, wall rings on residential land, and no overlap: the largest of
    overlapping rings is kept (the outer wall)."""
    geometry = compounds.geometry.to_numpy()
    area = shapely.area(geometry)
    keep = np.isin(shapely.get_type_id(geometry), [3, 6]) & (area >= MIN_COMPOUND_M2)
    walls = compounds["source"].to_numpy() == "barrier"
    if residential is not None and walls.any():
        land = shapely.union_all(residential.geometry.to_numpy())
        with np.errstate(invalid="ignore", divide="ignore"):
            share = shapely.area(shapely.intersection(geometry, land)) / area
        keep &= ~walls | (share >= MIN_RESIDENTIAL_SHARE)
    order = np.flatnonzero(keep)[np.argsort(-area[keep], kind="stable")]
    kept: list[int] = []
    for i in order:  # per compound (hundreds at most), not per node
        if kept and (shapely.area(shapely.intersection(geometry[i], geometry[kept]))
                     > OVERLAP_TOLERANCE_M2).any():
            continue
        kept.append(i)
    return compounds.iloc[sorted(kept)].reset_index(drop=True)
