"""New parks for the park indicators (公园绿地服务半径覆盖率 and the activity-space indicator,
DESIGN §3): residential land cut into pieces, candidate parks' straight-line coverage of them,
and the official figure recomputed on exact geometry as parks are added.

The tiers are the indicator's own (:class:`lifecircle.coverage.parks.ParkTiers`); the models are
the generic coverage models of :mod:`lifecircle.coverage.optimize`.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from scipy import sparse

from lifecircle.coverage.optimize import (
    TARGET_TOL,
    CoverageResult,
    SolveOptions,
    TargetResult,
    mclp,
    share,
    target_mode,
)
from lifecircle.coverage.parks import BUFFER_QUAD_SEGS, ParkTiers, park_tiers
from lifecircle.layers.landuse import dissolve


def tier_radius(size_m2: np.ndarray, tiers: ParkTiers) -> np.ndarray:
    """Service radius per new park from its area (0 where the park is below every tier).

    New parks are not in a historic district: historic-only tiers do not apply.

    Parameters
    ----------
    size_m2 : park areas
    tiers : the indicator's tiers (:func:`lifecircle.coverage.parks.park_tiers`)
    """
    size = np.nan_to_num(np.asarray(size_m2, dtype=np.float64), nan=0.0)
    return tiers.assign(size, np.zeros(size.size, dtype=bool))[1]


def residential_pieces(residential: gpd.GeoDataFrame, zone: shapely.Geometry | None,
                       piece_m: float = 50.0) -> gpd.GeoDataFrame:
    """Residential land cut into pieces of at most ``piece_m`` square, each wholly inside or
    wholly outside the existing parks' service zone (DESIGN §3).

    The covered pieces sum exactly to the official figure's numerator; new parks cover an
    uncovered piece when its centroid is within their radius (:func:`park_cover_pairs`).

    Parameters
    ----------
    residential : residential land polygons in a metric CRS (dissolved here)
    zone : union of the existing parks' straight-line service zones, e.g.
        ``park_service_radius_coverage(...).zone`` from :mod:`lifecircle.coverage.parks`
        (None or empty: no park counts)
    piece_m : side of the cutting grid in metres

    Returns
    -------
    GeoDataFrame with ``area_m2`` and ``covered`` (inside ``zone``)
    """
    pieces = _grid_pieces(dissolve(residential.geometry).to_numpy(), piece_m)
    zone = shapely.Polygon() if zone is None else zone
    shapely.prepare(zone)
    inside = shapely.covers(zone, pieces)
    edge = ~inside & shapely.intersects(zone, pieces)
    outside = ~inside & ~edge
    geoms = np.concatenate([pieces[inside], shapely.intersection(pieces[edge], zone),
                            pieces[outside], shapely.difference(pieces[edge], zone)])
    covered = np.repeat([True, True, False, False],
                        [inside.sum(), edge.sum(), outside.sum(), edge.sum()])
    area = shapely.area(geoms)
    keep = area > 0
    return gpd.GeoDataFrame({"area_m2": area[keep], "covered": covered[keep]},
                            geometry=geoms[keep], crs=residential.crs)


def park_cover_pairs(residential_pieces: gpd.GeoDataFrame, candidates: gpd.GeoDataFrame,
                     tiers: ParkTiers | None = None) -> sparse.csr_matrix:
    """Which candidate parks would cover which residential pieces, by straight-line distance.

    A piece is covered when its centroid lies within the candidate's tier radius (from
    ``size_m2``) of the candidate's geometry (polygon or point).

    Parameters
    ----------
    residential_pieces : from :func:`residential_pieces` (any polygons in the same CRS)
    candidates : candidate sites with ``size_m2`` and geometry
    tiers : the indicator's tiers

    Returns
    -------
    csr_matrix bool (pieces x candidates)
    """
    centres = shapely.centroid(np.asarray(residential_pieces.geometry.values, dtype=object))
    radius = tier_radius(candidates["size_m2"].to_numpy(), park_tiers(tiers))
    counted = np.flatnonzero(radius > 0)
    sites = np.asarray(candidates.geometry.values, dtype=object)[counted]
    site, piece = shapely.STRtree(centres).query(sites, predicate="dwithin",
                                                 distance=radius[counted])
    return sparse.csr_matrix((np.ones(piece.size, dtype=bool), (piece, counted[site])),
                             shape=(centres.size, len(candidates)))


@dataclass(frozen=True)
class ParkSiting:
    """New parks for the official park figure (公园绿地服务半径覆盖率, DESIGN §3).

    Attributes
    ----------
    chosen : candidate rows (positions in ``candidates``), in the order the figure climbs
    official_before : the official figure with the existing parks (exact geometry)
    official_path : the official figure after each chosen park (exact geometry, straight-line
        buffers of the tier radius)
    coverage : the model's answer (shares from residential pieces; its ``solve`` says what the
        solver proved)
    target : the fewest-sites answer when sited to a target, else None
    target_share : the target asked for (None for a fixed number of parks)
    pieces : the residential pieces the model used (``area_m2``, ``covered``)
    """

    chosen: np.ndarray
    official_before: float
    official_path: np.ndarray
    coverage: CoverageResult
    target: TargetResult | None
    target_share: float | None
    pieces: gpd.GeoDataFrame

    @property
    def official_after(self) -> float:
        """The official figure with every chosen park built."""
        return float(self.official_path[-1]) if self.official_path.size else self.official_before

    @property
    def reached(self) -> bool | None:
        """Whether the official figure reaches the target (None without a target)."""
        if self.target_share is None:
            return None
        return self.official_after >= self.target_share - TARGET_TOL


def park_siting(residential: gpd.GeoDataFrame, zone: shapely.Geometry | None,
                candidates: gpd.GeoDataFrame, *, k: int | None = None,
                target_share: float | None = None, piece_m: float = 50.0,
                tiers: ParkTiers | None = None,
                options: SolveOptions | None = None) -> ParkSiting:
    """The best ``k`` new parks, or the fewest new parks lifting the official park figure to
    ``target_share``, with the exact figure after each added park.

    The model covers a residential piece when its centroid is within a new park's radius
    (:func:`park_cover_pairs`); the figures reported are recomputed on exact geometry. When the
    exact figure of the fewest-sites answer falls short of the target by a hair (pieces cut by
    a buffer's edge), the model's target is raised by the shortfall and solved again (at most
    three more times).

    Parameters
    ----------
    residential : residential land polygons (metric CRS)
    zone : union of the existing parks' service zones (``ParkCoverage.zone``)
    candidates : candidate sites (:mod:`lifecircle.coverage.candidates`) with ``size_m2``
    k : number of new parks (MCLP); give this or ``target_share``
    target_share : the official figure to reach, 0..1
    piece_m : side of the grid cutting residential land into pieces
    tiers : the indicator's tiers new parks get (default: standards.yaml's default preset)
    options : solver choice, time limit and gap

    Returns
    -------
    ParkSiting
    """
    if (k is None) == (target_share is None):
        raise ValueError("give exactly one of k or target_share")
    tiers = park_tiers(tiers)
    pieces = residential_pieces(residential, zone, piece_m)
    cover = park_cover_pairs(pieces, candidates, tiers)
    weights, already = pieces["area_m2"].to_numpy(), pieces["covered"].to_numpy()
    target = None
    if k is not None:
        coverage = mclp(weights, cover, already, k, options)
    else:
        asked = target_share
        for _ in range(4):
            target = target_mode(weights, cover, already, asked, options)
            coverage = target.sites
            before, path = park_figure_path(residential, zone, candidates.iloc[coverage.chosen],
                                            tiers)
            short = target_share - (path[-1] if path.size else before)
            if not target.reached or short <= TARGET_TOL or asked >= 1.0:
                break
            asked = min(asked + short, 1.0)
    before, path = park_figure_path(residential, zone, candidates.iloc[coverage.chosen],
                                    tiers)
    return ParkSiting(chosen=coverage.chosen, official_before=before, official_path=path,
                      coverage=coverage, target=target, target_share=target_share,
                      pieces=pieces)


def park_figure_path(residential: gpd.GeoDataFrame, zone: shapely.Geometry | None,
                     new_parks: gpd.GeoDataFrame | None = None,
                     tiers: ParkTiers | None = None) -> tuple[float, np.ndarray]:
    """The official park figure on exact geometry as new parks are added one after another:
    residential area inside the service zone / residential area.

    Parameters
    ----------
    residential : residential land polygons (overlaps count once)
    zone : union of the existing parks' service zones (``ParkCoverage.zone``)
    new_parks : parks added in order (``size_m2`` sets the tier radius, geometry the buffer)
    tiers : the indicator's tiers new parks get

    Returns
    -------
    (figure with existing parks, figure after each new park)
    """
    land = shapely.union_all(np.asarray(residential.geometry.values, dtype=object))
    total = shapely.area(land)
    served = shapely.Polygon() if zone is None else zone
    covered = shapely.area(shapely.intersection(land, served))
    before = share(covered, total)
    if new_parks is None or new_parks.empty:
        return before, np.empty(0)
    rings = shapely.buffer(np.asarray(new_parks.geometry.values, dtype=object),
                           tier_radius(new_parks["size_m2"].to_numpy(), park_tiers(tiers)),
                           quad_segs=BUFFER_QUAD_SEGS)
    path = []
    for ring in rings:                                  # one step per new park
        covered += shapely.area(shapely.intersection(shapely.difference(ring, served), land))
        served = shapely.union(served, ring)
        path.append(covered)
    return before, share(np.asarray(path), total)


def _grid_pieces(land: np.ndarray, piece_m: float) -> np.ndarray:
    """``land`` intersected with the squares of a ``piece_m`` grid that touch its bounds."""
    if land.size == 0:
        return np.empty(0, dtype=object)
    bounds = shapely.bounds(land)
    lo = np.floor(bounds[:, :2] / piece_m).astype(np.int64)
    hi = np.maximum(np.ceil(bounds[:, 2:] / piece_m).astype(np.int64), lo + 1)
    nx, ny = hi[:, 0] - lo[:, 0], hi[:, 1] - lo[:, 1]
    owner = np.repeat(np.arange(land.size), nx * ny)
    step = np.arange(owner.size) - np.repeat(np.cumsum(nx * ny) - nx * ny, nx * ny)
    ix = lo[owner, 0] + step % nx[owner]
    iy = lo[owner, 1] + step // nx[owner]
    squares = shapely.box(ix * piece_m, iy * piece_m, (ix + 1) * piece_m, (iy + 1) * piece_m)
    shapely.prepare(land)
    hit = shapely.intersects(land[owner], squares)
    pieces = shapely.intersection(land[owner[hit]], squares[hit])
    return pieces[shapely.area(pieces) > 0]
