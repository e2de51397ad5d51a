"""Park service-radius coverage (公园绿地服务半径覆盖率) against the plans' targets (DESIGN §3).

Three figures share one denominator, the dissolved residential land:

- ``park_service_radius_coverage``: the official figure. Residential land inside the union of
  straight-line buffers of the park polygons, the radius set by the park's area tier.
- ``park_service_radius_coverage_walk``: residential land a walk from the park reaches within
  its radius: along the streets from its access points, then straight from the last node (at
  most the snapping distance, as population cells join the network), clipped to the park's
  straight-line buffer since no walk is shorter than the straight line.
- ``park_service_radius_coverage_population``: the population share within the radius by
  walking.

Tiers come from ``park_tiers`` in standards.yaml (presets ``gbt50563-2010`` and
``activity-space-2021``) or from the caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from lifecircle.coverage import park_geometry
from lifecircle.coverage.engine import (
    FacilityAccess,
    Nearest,
    NodeIndex,
    at_points,
    nearest_facility,
    per_facility_distances,
)
from lifecircle.coverage.engine import node_index as shared_index
from lifecircle.errors import InputError
from lifecircle.layers.landuse import polygon_parts
from lifecircle.layers.network import WalkNetwork
from lifecircle.layers.osm import tag_column
from lifecircle.seeds import load_standards

if TYPE_CHECKING:
    from lifecircle.layers.walking import WalkCost

NOT_COUNTED = "not_counted"
#: Segments per quarter circle of the straight-line service zones: with 64, a buffer's area is
#: within 0.01 % of the exact round buffer (GEOS' default 8 loses about 0.6 % of a disc, which
#: moved the official figure by 0.14 pp on a constructed town with a known answer).
BUFFER_QUAD_SEGS = 64
UNDEFINED_NO_RESIDENTIAL = "undefined: no residential land"


@dataclass(frozen=True)
class ParkTier:
    """One size class of parks and its service radius.

    Attributes
    ----------
    name : label used in tables and counts
    min_area_m2, max_area_m2 : area bounds, min inclusive, max exclusive (inf: no bound)
    radius_m : service radius
    historic_only : applies only to parks inside a historic district
    clause : the document clause the tier follows
    assumption : why the tier is an assumption (not verified against its source), else None
    """

    name: str
    min_area_m2: float
    max_area_m2: float
    radius_m: float
    historic_only: bool = False
    clause: str = ""
    assumption: str | None = None


@dataclass(frozen=True)
class ParkTiers:
    """A tier set: which polygons count as parks and the radius each gets.

    Attributes
    ----------
    name : preset name (or a caller's label)
    title : the document it follows
    tiers : the size classes
    features : OSM tag rules (any matches) selecting the polygons this preset counts
    """

    name: str
    title: str
    tiers: tuple[ParkTier, ...]
    features: tuple[dict[str, list[str]], ...] = ()

    @property
    def max_radius_m(self) -> float:
        """The largest radius of the set."""
        return max(t.radius_m for t in self.tiers)

    def assign(self, area_m2: np.ndarray, historic: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Tier and radius of parks by area: the largest radius among the tiers a park meets.

        Parameters
        ----------
        area_m2 : park areas
        historic : bool per park, inside a historic district

        Returns
        -------
        (tier, radius_m): tier index per park (-1: not counted) and radius (0 when not counted)
        """
        area = np.asarray(area_m2, dtype=np.float64)[:, None]
        low = np.array([t.min_area_m2 for t in self.tiers])
        high = np.array([t.max_area_m2 for t in self.tiers])
        radius = np.array([t.radius_m for t in self.tiers])
        only_historic = np.array([t.historic_only for t in self.tiers])
        meets = (area >= low) & (area < high) & (~only_historic | np.asarray(historic)[:, None])
        offered = np.where(meets, radius, 0.0)
        counted = meets.any(axis=1)
        tier = np.where(counted, offered.argmax(axis=1), -1)
        return tier, np.where(counted, offered.max(axis=1), 0.0)


@dataclass(frozen=True)
class ParkCoverage:
    """Park service-radius coverage of residential land (standard or walking).

    Attributes
    ----------
    method : "standard" (straight-line buffers) or "walk"
    tiers : name of the tier set used
    value : covered / total residential area (NaN when undefined, see ``reason``)
    reason : why ``value`` is undefined, else None
    residential_ha, covered_ha, uncovered_ha : areas in hectares
    target_share : the target asked for (None when none was given)
    to_target_ha : residential hectares still to cover to reach ``target_share`` (0 when met)
    tier_counts : parks per tier name, and ``not_counted``
    residential : the residential land cut into covered and uncovered parts (columns
        ``covered`` bool and ``area_m2``)
    parks : per park: ``fid``, ``name``, ``area_m2``, ``tier``, ``radius_m``, ``covered_m2``
        (residential land its zone covers), ``unique_m2`` (covered by it and no other park)
    zone : union of the counting parks' service zones
    """

    method: str
    tiers: str
    value: float
    reason: str | None
    residential_ha: float
    covered_ha: float
    uncovered_ha: float
    target_share: float | None
    to_target_ha: float | None
    tier_counts: dict[str, int]
    residential: gpd.GeoDataFrame
    parks: pd.DataFrame
    zone: shapely.Geometry = field(repr=False)


@dataclass(frozen=True)
class ParkPopulationCoverage:
    """Population share within the park radius by walking.

    Attributes
    ----------
    value : covered / total population (NaN when undefined, see ``reason``)
    reason : why ``value`` is undefined, else None
    population_covered, population_total : people
    within : bool per cell, within the radius of some counting park
    tier_counts : parks per tier name, and ``not_counted``
    tiers : name of the tier set used
    """

    value: float
    reason: str | None
    population_covered: float
    population_total: float
    within: np.ndarray
    tier_counts: dict[str, int]
    tiers: str


def park_tiers(preset: str | ParkTiers | None = None) -> ParkTiers:
    """A tier set from ``park_tiers`` of standards.yaml.

    Parameters
    ----------
    preset : preset name (default: the file's ``default``), or a ParkTiers returned as is

    Raises
    ------
    InputError
        When the preset is not in standards.yaml.
    """
    if isinstance(preset, ParkTiers):
        return preset
    spec = load_standards()["park_tiers"]
    name = spec["default"] if preset is None else preset
    if name not in spec["presets"]:
        raise InputError(f"park tiers {name!r}",
                         f"unknown preset (known: {', '.join(spec['presets'])})")
    chosen = spec["presets"][name]
    tiers = tuple(
        ParkTier(name=t["name"], min_area_m2=float(t["min_area_m2"]),
                 max_area_m2=float(t.get("max_area_m2", np.inf)), radius_m=float(t["radius_m"]),
                 historic_only=bool(t.get("historic_only", False)), clause=t.get("clause", ""),
                 assumption=(str(t.get("assumption_reason", "assumption")) if t.get("assumption")
                             else None))
        for t in chosen["tiers"]
    )
    return ParkTiers(name=name, title=chosen["title"], tiers=tiers,
                     features=tuple(chosen.get("features", ())))


def tier_rules(preset: str | ParkTiers | None = None) -> dict[str, str]:
    """Each tier of a set as a rule a planner reads, e.g. ``{"park_5000": "≥ 5,000 m² → 500 m"}``.

    Examples
    --------
    >>> tier_rules("gbt50563-2010")["park_2000"]
    '2,000–5,000 m² → 300 m'
    """
    rules = {}
    for tier in park_tiers(preset).tiers:
        size = (f"≥ {tier.min_area_m2:,.0f} m²" if not np.isfinite(tier.max_area_m2) else
                f"{tier.min_area_m2:,.0f}–{tier.max_area_m2:,.0f} m²")
        where = " (历史文化街区)" if tier.historic_only else ""
        rules[tier.name] = f"{size}{where} → {tier.radius_m:,.0f} m"
    return rules


def tier_assumption(tiers: ParkTiers) -> str | None:
    """What is assumed in a tier set ("assumption: ..." for scorecards), or None when every
    tier cites its source."""
    reasons = [f"{t.name}: {t.assumption}" for t in tiers.tiers if t.assumption]
    return f"assumption: {'; '.join(reasons)}" if reasons else None


def parks_from_features(features: gpd.GeoDataFrame, crs: CRS | str,
                        tiers: str | ParkTiers | None = None) -> gpd.GeoDataFrame:
    """The OSM polygons a tier set counts as parks (e.g. squares too for activity spaces).

    Parameters
    ----------
    features : ``OsmExtract.features`` (WGS84)
    crs : the metric CRS of the run
    tiers : preset name or ParkTiers (its ``features`` rules select the polygons)

    Returns
    -------
    GeoDataFrame with ``fid``, ``name`` and geometry in ``crs``; polygons tagged
    ``access=private``/``no`` are left out
    """
    rules = park_tiers(tiers).features
    polygonal = features[features.geom_type.isin(["Polygon", "MultiPolygon"])]
    chosen = pd.Series(False, index=polygonal.index)
    for rule in rules:
        for key, values in rule.items():
            chosen |= tag_column(polygonal, key).isin(values)
    chosen &= ~tag_column(polygonal, "access").isin(["private", "no"])
    picked = polygonal[chosen]
    names = picked["tags"].map(lambda t: t.get("name:zh") or t.get("name") or "")
    return gpd.GeoDataFrame(
        {"fid": (picked["osm_type"] + "/" + picked["osm_id"].astype(str)).to_numpy(),
         "name": names.to_numpy(dtype=object)},
        geometry=picked.geometry.to_crs(crs).to_numpy(), crs=crs,
    )


def classify_parks(parks: gpd.GeoDataFrame, tiers: str | ParkTiers | None = None,
                   historic: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Valid park polygons with their area, tier and radius.

    Parameters
    ----------
    parks : park polygons in a metric CRS; ``fid`` and ``name`` columns are used when present
    tiers : preset name or ParkTiers
    historic : historic districts (历史文化街区); a park is inside when its representative
        point is

    Returns
    -------
    GeoDataFrame, one row per input park in input order: ``fid``, ``name``, ``area_m2`` (of the
    valid geometry), ``historic``, ``tier`` (name, or ``not_counted``), ``radius_m`` (0 when not
    counted) and the valid (Multi)Polygon geometry (empty when nothing polygonal is left)
    """
    spec = park_tiers(tiers)
    geoms = _valid_polygons(parks.geometry.to_numpy())
    area = shapely.area(geoms)
    inside = np.zeros(geoms.size, dtype=bool)
    if historic is not None and len(historic):
        districts = shapely.union_all(_valid_polygons(_to(historic, parks.crs).geometry
                                                      .to_numpy()))
        inside = shapely.contains(districts, shapely.point_on_surface(geoms)) & (area > 0)
    tier, radius = spec.assign(area, inside)
    names = np.array([t.name for t in spec.tiers] + [NOT_COUNTED], dtype=object)  # -1: last
    fid = parks["fid"].astype(str).to_numpy() if "fid" in parks else \
        parks.index.astype(str).to_numpy()
    name = parks["name"].fillna("").to_numpy(dtype=object) if "name" in parks else \
        np.full(geoms.size, "", dtype=object)
    return gpd.GeoDataFrame(
        {"fid": fid, "name": name, "area_m2": area, "historic": inside, "tier": names[tier],
         "radius_m": radius},
        geometry=gpd.GeoSeries(geoms, crs=parks.crs), crs=parks.crs,
    )


def park_service_radius_coverage(parks: gpd.GeoDataFrame, residential: gpd.GeoDataFrame,
                                 tiers: str | ParkTiers | None = None,
                                 historic: gpd.GeoDataFrame | None = None,
                                 target_share: float | None = None) -> ParkCoverage:
    """The official figure: residential land within straight-line tier radii of parks.

    Parameters
    ----------
    parks : park polygons (made valid here); reprojected to the residential land's CRS
    residential : residential land in a metric CRS (dissolved here: no area counts twice)
    tiers : preset name or ParkTiers (default: standards.yaml's default preset)
    historic : historic districts for the historic-only tiers
    target_share : a target (e.g. 0.86) to report the hectares still to cover

    Returns
    -------
    ParkCoverage with method "standard"
    """
    land, parks = _common_crs(residential, parks)
    table = classify_parks(parks, tiers, historic)
    zones = _straight_zones(table)
    return _result("standard", park_tiers(tiers), table, zones, shapely.union_all(zones), land,
                   target_share)


def park_service_radius_coverage_walk(parks: gpd.GeoDataFrame, residential: gpd.GeoDataFrame,
                                      network: WalkNetwork, node_index: NodeIndex | None = None,
                                      tiers: str | ParkTiers | None = None,
                                      historic: gpd.GeoDataFrame | None = None,
                                      target_share: float | None = None,
                                      max_snap_m: float | None = None,
                                      cost: WalkCost | None = None) -> ParkCoverage:
    """Residential land within each park's tier radius by walking.

    A point of residential land is covered when a walk from the park reaches it within the
    park's radius: along the streets from the park's access points to a node, then straight
    from that node to the point (at most ``max_snap_m``), the same access rule population cells
    get. Per park the zone is the union of discs of radius (radius - walked distance) around
    the nodes it reaches, clipped to its straight-line buffer (no walk is shorter than the
    straight line). One bounded Dijkstra per park gives both the per-park table and the union.

    Parameters
    ----------
    parks, residential, tiers, historic, target_share : as :func:`park_service_radius_coverage`
    network : the walk network (parks and residential land are reprojected to its CRS)
    node_index : its snapping index (built when None)
    max_snap_m : the longest straight leg from a street, and farther parks are unreachable
        (default standards.yaml)
    cost : the study's directed walking cost (slopes, gated compounds;
        :attr:`lifecircle.layers.study.Study.cost`): walks are then measured from home to the
        park on it, and a gated compound's land is reached only from its own inside paths.
        None: flat network distance

    Returns
    -------
    ParkCoverage with method "walk"
    """
    node_index = shared_index(network) if node_index is None else node_index
    land, parks = _common_crs(residential, parks, network.crs)
    table = classify_parks(parks, tiers, historic)
    straight = _straight_zones(table)
    radius = table["radius_m"].to_numpy()
    access = _access(node_index, table, max_snap_m, cost)
    zones = np.array([shapely.Polygon()] * len(table), dtype=object)
    if access.node.size:
        per_park = per_facility_distances(network, access, limit_m=float(radius.max()),
                                          cost_graph=None if cost is None else cost.graph)
        discs = park_geometry.walk_zones(network, per_park, radius, _max_snap(max_snap_m), cost)
        zones = shapely.intersection(discs, straight)
    union = shapely.union_all(zones)
    return _result("walk", park_tiers(tiers), table, zones, union, land, target_share)


def park_service_radius_coverage_population(parks: gpd.GeoDataFrame, network: WalkNetwork,
                                            x: np.ndarray, y: np.ndarray, weight: np.ndarray,
                                            node_index: NodeIndex | None = None,
                                            tiers: str | ParkTiers | None = None,
                                            historic: gpd.GeoDataFrame | None = None,
                                            max_snap_m: float | None = None,
                                            cost: WalkCost | None = None
                                            ) -> ParkPopulationCoverage:
    """Population share within each park's tier radius by walking.

    Cells snap to their nearest node (straight-line access added); one multi-source Dijkstra
    with per-park offsets, as :func:`park_service_radius_coverage_walk`.

    Parameters
    ----------
    parks, tiers, historic : as :func:`park_service_radius_coverage`
    network : the walk network (parks are reprojected to its CRS)
    x, y, weight : population cell centres (network CRS) and people per cell
    node_index : the network's snapping index (built when None)
    max_snap_m : farther cells and parks are unreachable (default standards.yaml)
    cost : the study's directed walking cost (see :func:`park_service_radius_coverage_walk`)

    Returns
    -------
    ParkPopulationCoverage
    """
    node_index = shared_index(network) if node_index is None else node_index
    table = classify_parks(_to(parks, network.crs), tiers, historic)
    radius = table["radius_m"].to_numpy()
    weight = np.asarray(weight, dtype=np.float64)
    access = _access(node_index, table, max_snap_m, cost)
    within = np.zeros(weight.size, dtype=bool)
    if access.node.size:
        nearest = _nearest_within_own_radius(network, access, radius, cost)
        if cost is None:
            cells = at_points(nearest, node_index.snap(x, y, _max_snap(max_snap_m)))
        else:
            cells = cost.at_cells(nearest, cost.snap(node_index, x, y, _max_snap(max_snap_m)))
        within = cells.distance_m <= radius.max()
    total = float(weight.sum())
    spec = park_tiers(tiers)
    return ParkPopulationCoverage(
        value=float(weight[within].sum()) / total if total > 0 else float("nan"),
        reason=None if total > 0 else "undefined: no population",
        population_covered=float(weight[within].sum()), population_total=total, within=within,
        tier_counts=_tier_counts(table, spec), tiers=spec.name,
    )


def _result(method: str, spec: ParkTiers, table: gpd.GeoDataFrame, zones: np.ndarray,
            union: shapely.Geometry, land: np.ndarray, target_share: float | None) -> ParkCoverage:
    """Assemble a ParkCoverage from the parks' zones, their union and the dissolved land."""
    total = float(shapely.area(land).sum())
    covered_parts, uncovered_parts = park_geometry.split_land(land, union)
    parts = np.concatenate([covered_parts, uncovered_parts])
    flags = np.repeat([True, False], land.size)
    keep = shapely.area(parts) > 0
    residential = gpd.GeoDataFrame(
        {"covered": flags[keep], "area_m2": shapely.area(parts[keep])},
        geometry=gpd.GeoSeries(parts[keep], crs=table.crs), crs=table.crs,
    )
    covered = float(shapely.area(covered_parts).sum())
    per_zone, unique = _zone_areas(zones, land)
    parks = pd.DataFrame({
        "fid": table["fid"].to_numpy(), "name": table["name"].to_numpy(),
        "area_m2": table["area_m2"].to_numpy(), "tier": table["tier"].to_numpy(),
        "radius_m": table["radius_m"].to_numpy(), "covered_m2": per_zone, "unique_m2": unique,
    })
    defined = total > 0
    return ParkCoverage(
        method=method, tiers=spec.name,
        value=covered / total if defined else float("nan"),
        reason=None if defined else UNDEFINED_NO_RESIDENTIAL,
        residential_ha=total / 1e4, covered_ha=covered / 1e4, uncovered_ha=(total - covered) / 1e4,
        target_share=target_share,
        to_target_ha=(max(0.0, target_share * total - covered) / 1e4
                      if target_share is not None and defined else None),
        tier_counts=_tier_counts(table, spec), residential=residential, parks=parks, zone=union,
    )


def _zone_areas(zones: np.ndarray, land: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per zone, the land it covers and the land only it covers.

    The zones' boundaries are noded and polygonized into faces; a face inside exactly one zone
    belongs to that zone alone.
    """
    covered = np.zeros(zones.size)
    unique = np.zeros(zones.size)
    filled = np.flatnonzero(~shapely.is_empty(zones))
    if filled.size == 0 or land.size == 0:
        return covered, unique
    land_tree = shapely.STRtree(land)
    covered[filled] = _land_in(zones[filled], land, land_tree, filled.size)
    faces = shapely.get_parts(shapely.polygonize(
        shapely.get_parts(shapely.union_all(shapely.boundary(zones[filled])))))
    face, zone = shapely.STRtree(zones[filled]).query(shapely.point_on_surface(faces),
                                                      predicate="within")
    alone = np.bincount(face, minlength=faces.size)[face] == 1
    owner = np.full(faces.size, -1)
    owner[face[alone]] = zone[alone]
    solo = np.flatnonzero(owner >= 0)
    per_face = _land_in(faces[solo], land, land_tree, solo.size)
    unique[filled] = np.bincount(owner[solo], weights=per_face, minlength=filled.size)
    return covered, unique


def _land_in(polygons: np.ndarray, land: np.ndarray, land_tree: shapely.STRtree,
             n: int) -> np.ndarray:
    """Area of ``land`` inside each polygon."""
    poly, part = land_tree.query(polygons, predicate="intersects")
    areas = shapely.area(shapely.intersection(polygons[poly], land[part]))
    return np.bincount(poly, weights=areas, minlength=n)


def _tier_counts(table: gpd.GeoDataFrame, spec: ParkTiers) -> dict[str, int]:
    """Parks per tier name (every tier of the set, zeros included) and ``not_counted``."""
    counts = table["tier"].value_counts()
    return {name: int(counts.get(name, 0))
            for name in [t.name for t in spec.tiers] + [NOT_COUNTED]}


def _valid_polygons(geoms: np.ndarray) -> np.ndarray:
    """One valid (Multi)Polygon per geometry (make_valid, polygonal parts; empty if none)."""
    parts = polygon_parts(gpd.GeoSeries(geoms))
    out = np.full(len(geoms), None, dtype=object)
    if len(parts):
        shapely.multipolygons(parts.to_numpy(), indices=parts.index.to_numpy(), out=out)
    out[np.equal(out, None)] = shapely.Polygon()
    return out


def _straight_zones(table: gpd.GeoDataFrame) -> np.ndarray:
    """Straight-line buffer of each counting park by its radius (empty for the others)."""
    radius = table["radius_m"].to_numpy()
    zones = np.array([shapely.Polygon()] * len(table), dtype=object)
    counted = radius > 0
    zones[counted] = shapely.buffer(table.geometry.to_numpy()[counted], radius[counted],
                                    quad_segs=BUFFER_QUAD_SEGS)
    return zones


def _common_crs(residential: gpd.GeoDataFrame | None, parks: gpd.GeoDataFrame,
                crs: CRS | str | None = None) -> tuple[np.ndarray, gpd.GeoDataFrame]:
    """Dissolved residential polygons and the parks, both in ``crs`` (default: the residential
    land's CRS), which must be metric."""
    if residential is not None and not residential.empty:
        crs = residential.crs if crs is None else crs
        if crs is not None and CRS.from_user_input(crs).is_geographic:
            raise InputError("residential land", "is in degrees; project it to a metric CRS first")
        residential = _to(residential, crs)
        land = park_geometry.dissolve_land(residential.geometry)
    else:
        land = np.empty(0, dtype=object)
    return land, _to(parks, crs)


def _to(frame: gpd.GeoDataFrame, crs: CRS | str | None) -> gpd.GeoDataFrame:
    """``frame`` in ``crs`` (unchanged when either has no CRS)."""
    if crs is None or frame.crs is None or frame.crs == crs:
        return frame
    return frame.to_crs(crs)


def _max_snap(max_snap_m: float | None) -> float:
    return float(load_standards()["snapping"]["max_snap_m"]) if max_snap_m is None \
        else float(max_snap_m)


def _access(node_index: NodeIndex, table: gpd.GeoDataFrame, max_snap_m: float | None,
            cost: WalkCost | None = None) -> FacilityAccess:
    """Access points of the counting parks (nodes within 20 m of the boundary, or nearest;
    through gates into compounds when ``cost`` has them)."""
    counted = table["radius_m"].to_numpy() > 0
    geoms = table.geometry.to_numpy()
    access = (node_index.facility_access(geoms, _max_snap(max_snap_m)) if cost is None else
              cost.facility_access(node_index, geoms, _max_snap(max_snap_m)))
    return access.subset(counted)


def _nearest_within_own_radius(network: WalkNetwork, access: FacilityAccess,
                               radius: np.ndarray, cost: WalkCost | None = None) -> Nearest:
    """One Dijkstra in which "distance <= largest radius" means "within the park's own radius":
    each park starts at an offset of (largest radius - its radius). On the directed cost graph
    when given (searched on its transpose: home -> park)."""
    largest = float(radius.max())
    return nearest_facility(network, access.with_extra_offset(largest - radius), limit_m=largest,
                            cost_graph=None if cost is None else cost.graph)
