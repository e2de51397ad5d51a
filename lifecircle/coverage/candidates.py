"""Candidate sites for new facilities: a user's list, land in OSM that could host the kind, or a
regular grid over the study area.

Every function returns a GeoDataFrame in the local metric CRS with the columns of
:data:`COLUMNS`: ``candidate_id`` (unique text), ``source`` (``user``, ``osm:<tag>=<value>``,
``grid``), ``size_m2`` (land area the site offers; for parks it sets the service-radius tier)
and geometry (polygon or point).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from lifecircle.coverage.engine import node_index
from lifecircle.layers.network import WalkNetwork

COLUMNS = ["candidate_id", "source", "size_m2", "geometry"]


@dataclass(frozen=True)
class LandRule:
    """Which OSM land could host a new facility of a kind.

    Attributes
    ----------
    tags : (key, values) pairs; an area matching any of them is a candidate
    min_size_m2 : smaller areas are dropped
    source : where ``min_size_m2`` comes from ("assumption:" when no standard fixes it)
    """

    tags: tuple[tuple[str, tuple[str, ...]], ...]
    min_size_m2: float
    source: str


# Land that is open or awaiting use. OSM has no "vacant" landuse in its wiki, but it is mapped.
_OPEN_LAND = ("brownfield", "greenfield", "vacant", "construction")

#: Candidate land per kind. Override a rule by passing ``rule=`` to :func:`land_candidates`.
CANDIDATE_LAND: dict[str, LandRule] = {
    "park": LandRule(
        tags=(("landuse", ("grass", "meadow", "village_green", *_OPEN_LAND)),
              ("amenity", ("parking",))),
        min_size_m2=2_000.0,
        source="GB/T 50563-2010: parks under 2,000 m² earn no service-radius tier (2,000-5,000 "
               "m² -> 300 m; >= 5,000 m² -> 500 m); surface car parks count as convertible land "
               "(assumption)",
    ),
    "kindergarten": LandRule(
        tags=(("landuse", _OPEN_LAND),),
        min_size_m2=2_500.0,
        source="assumption: a 6-class kindergarten with its outdoor play space needs about "
               "0.25 ha; local 幼儿园 land standards range about 0.2-0.4 ha",
    ),
    "primary_school": LandRule(
        tags=(("landuse", _OPEN_LAND),),
        min_size_m2=10_000.0,
        source="assumption: a 12-24-class urban primary school with a 200 m running track "
               "needs about 1 ha; local 中小学校用地 standards range about 0.9-2 ha",
    ),
    "middle_school": LandRule(
        tags=(("landuse", _OPEN_LAND),),
        min_size_m2=15_000.0,
        source="assumption: a 18-30-class junior middle school with a 300 m track needs about "
               "1.5 ha; local standards range about 1.5-3 ha",
    ),
    "health_centre": LandRule(
        tags=(("landuse", _OPEN_LAND),),
        min_size_m2=1_500.0,
        source="assumption: a community health service centre (社区卫生服务中心) of about "
               "2,000 m² floor area stands on about 0.15-0.3 ha",
    ),
    "elderly_daycare": LandRule(
        tags=(("landuse", _OPEN_LAND),),
        min_size_m2=300.0,
        source="assumption: a day-care centre for the elderly (老年人日间照料中心) of about "
               "300 m² floor area, often in a ground floor",
    ),
    "nursing_home": LandRule(
        tags=(("landuse", _OPEN_LAND),),
        min_size_m2=1_000.0,
        source="assumption: a small care home (养老院) needs about 0.1 ha of land",
    ),
    "sports": LandRule(
        tags=(("landuse", ("grass", "meadow", *_OPEN_LAND)),),
        min_size_m2=3_000.0,
        source="assumption: a multi-purpose sports ground (大型多功能运动场地) with a few courts "
               "needs about 0.3 ha",
    ),
    "market": LandRule(
        tags=(("landuse", _OPEN_LAND), ("amenity", ("parking",))),
        min_size_m2=1_000.0,
        source="assumption: a neighbourhood fresh market (菜市场) of about 1,000 m² floor "
               "area on a single storey",
    ),
}

_POLYGONAL = ("Polygon", "MultiPolygon")
# car parks that are not open land on the surface
_NOT_SURFACE_PARKING = ("underground", "multi-storey", "rooftop")


def user_candidates(frame: gpd.GeoDataFrame, crs: CRS | str,
                    size_m2: float | None = None) -> gpd.GeoDataFrame:
    """A user's list of sites.

    Parameters
    ----------
    frame : sites (points or polygons) with a CRS; optional columns ``candidate_id`` and
        ``size_m2`` are kept
    crs : the local metric CRS
    size_m2 : size of sites without a ``size_m2`` value (points); polygons default to their area

    Returns
    -------
    GeoDataFrame with :data:`COLUMNS` (ids ``user:<row>`` unless given)

    Raises
    ------
    ValueError
        When the frame has no CRS, or a point site has no size.
    """
    if frame.crs is None:
        raise ValueError("candidate sites have no CRS")
    frame = frame[~(frame.geometry.isna() | frame.geometry.is_empty)].to_crs(crs)
    geoms = shapely.make_valid(np.asarray(frame.geometry.values, dtype=object))
    area = shapely.area(geoms)
    size = (frame["size_m2"].to_numpy(dtype=np.float64, copy=True) if "size_m2" in frame
            else np.full(len(frame), np.nan))
    size[np.isnan(size) & (area > 0)] = area[np.isnan(size) & (area > 0)]
    if size_m2 is not None:
        size[np.isnan(size)] = size_m2
    if np.isnan(size).any():
        raise ValueError(f"{int(np.isnan(size).sum())} candidate sites are points without "
                         "size_m2: add a size_m2 column or pass size_m2")
    ids = (frame["candidate_id"].astype(str).to_numpy() if "candidate_id" in frame
           else np.char.add("user:", np.arange(len(frame)).astype(str)))
    return _frame(ids, np.full(len(frame), "user"), size, geoms, crs)


def land_candidates(features: gpd.GeoDataFrame, crs: CRS | str, kind: str,
                    area: shapely.Geometry | None = None, exclude: np.ndarray | None = None,
                    rule: LandRule | None = None) -> gpd.GeoDataFrame:
    """OSM areas that could host a new facility of ``kind`` (see :data:`CANDIDATE_LAND`).

    Parameters
    ----------
    features : :attr:`lifecircle.layers.osm.OsmExtract.features` (WGS84, ``tags`` dicts)
    crs : the local metric CRS
    kind : a key of :data:`CANDIDATE_LAND` (unless ``rule`` is given)
    area : keep only land whose representative point lies in the study area
    exclude : geometries (e.g. existing parks) whose land is not available: land whose
        representative point lies inside one of them is dropped
    rule : the tags and minimum size to use instead of ``CANDIDATE_LAND[kind]``

    Returns
    -------
    GeoDataFrame with :data:`COLUMNS`, ids ``osm:<type>/<id>``, sorted by size (largest first)
    """
    if rule is None:
        if kind not in CANDIDATE_LAND:
            raise ValueError(f"no candidate-land rule for {kind!r}; known: "
                             f"{', '.join(CANDIDATE_LAND)} (or pass rule=)")
        rule = CANDIDATE_LAND[kind]
    areas = features[features.geom_type.isin(_POLYGONAL)]
    label = areas["tags"].map(lambda tags: _matching_tag(tags, rule.tags))
    areas, label = areas[label.notna()], label[label.notna()]
    geoms = shapely.make_valid(np.asarray(areas.geometry.to_crs(crs).values, dtype=object))
    size = shapely.area(geoms)
    inside = shapely.point_on_surface(geoms)
    keep = size >= rule.min_size_m2
    if area is not None:
        keep &= shapely.contains_xy(area, shapely.get_x(inside), shapely.get_y(inside))
    if exclude is not None and len(exclude):
        taken = shapely.STRtree(np.asarray(exclude, dtype=object))
        keep[taken.query(inside, predicate="within")[0]] = False
    ids = ("osm:" + areas["osm_type"].astype(str) + "/" + areas["osm_id"].astype(str)).to_numpy()
    order = np.argsort(-size[keep], kind="stable")
    return _frame(ids[keep][order], label.to_numpy()[keep][order], size[keep][order],
                  geoms[keep][order], crs)


def grid_candidates(area: shapely.Geometry, spacing_m: float, size_m2: float, crs: CRS | str,
                    network: WalkNetwork | None = None,
                    near_network_m: float | None = None) -> gpd.GeoDataFrame:
    """Points of a regular grid inside the study area, each standing for a site of ``size_m2``.

    Parameters
    ----------
    area : the study area (metric CRS)
    spacing_m : grid step in metres
    size_m2 : the size each site would have (e.g. a standard park of 5,000 m²)
    crs : the CRS of ``area``
    network : with ``near_network_m``, keep only points that close to a network node (of the
        largest component)
    near_network_m : see ``network``

    Returns
    -------
    GeoDataFrame with :data:`COLUMNS`, ids ``grid:<row>``
    """
    xmin, ymin, xmax, ymax = area.bounds
    xs = np.arange(np.floor(xmin / spacing_m), np.ceil(xmax / spacing_m) + 1) * spacing_m
    ys = np.arange(np.floor(ymin / spacing_m), np.ceil(ymax / spacing_m) + 1) * spacing_m
    x, y = (v.ravel() for v in np.meshgrid(xs, ys))
    keep = shapely.contains_xy(area, x, y)
    if network is not None and near_network_m is not None:
        keep &= node_index(network).snap(x, y, near_network_m).reachable
    x, y = x[keep], y[keep]
    return _frame(np.char.add("grid:", np.arange(x.size).astype(str)), np.full(x.size, "grid"),
                  np.full(x.size, float(size_m2)), shapely.points(x, y), crs)


def combine_candidates(*frames: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Candidate tables stacked into one (same CRS), with a fresh index.

    Raises
    ------
    ValueError
        When the tables' CRSs differ or two candidates share an id.
    """
    if any(frame.crs != frames[0].crs for frame in frames):
        raise ValueError("candidate tables are in different CRSs")
    table = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry",
                             crs=frames[0].crs)
    repeated = table["candidate_id"][table["candidate_id"].duplicated()]
    if len(repeated):
        raise ValueError(f"candidate ids repeat: {', '.join(repeated.astype(str)[:5])}")
    return table[COLUMNS]


def _matching_tag(tags: dict[str, str], rules: tuple[tuple[str, tuple[str, ...]], ...]
                  ) -> str | None:
    """``osm:key=value`` of the first rule the tags match, else None."""
    for key, values in rules:
        value = tags.get(key)
        if value in values and not (key == "amenity" and tags.get("parking")
                                    in _NOT_SURFACE_PARKING):
            return f"osm:{key}={value}"
    return None


def _frame(ids: np.ndarray, source: np.ndarray, size: np.ndarray, geoms: np.ndarray,
           crs: CRS | str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"candidate_id": np.asarray(ids, dtype=object),
                             "source": np.asarray(source, dtype=object),
                             "size_m2": np.asarray(size, dtype=np.float64)},
                            geometry=gpd.GeoSeries(np.asarray(geoms, dtype=object), crs=crs),
                            crs=crs)
