"""Where the next parks, schools or clinics go: candidates from the study, solved with HiGHS.

Parks are sited for the official park figure (straight-line tier radii over residential land);
every other kind for the population within its walking threshold (MCLP), or for the least
walking distance of its demand (p-median).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse

from lifecircle.config import RunConfig
from lifecircle.coverage import candidates as cand
from lifecircle.coverage import optimize, parks
from lifecircle.coverage.engine import cost_pairs, node_index
from lifecircle.coverage.park_siting import park_siting
from lifecircle.errors import InputError
from lifecircle.layers.study import Study
from lifecircle.seeds import load_standards
from lifecircle.seeds.demand import demand_settings, guess_population_basis

DEFAULT_SIZE_M2 = {"park": 5000.0}  # a grid site stands for a park earning the 500 m tier
GRID_SPACING_M = 250.0
NEAR_NETWORK_M = 100.0


@dataclass
class SitingReport:
    """The chosen sites in order, the figure after each, and what the solver proved."""

    kind: str
    metric: str
    before: float
    path: list[float]
    sites: gpd.GeoDataFrame
    solve: dict[str, Any]
    target: float | None
    reached: bool | None
    candidates: int
    #: per population cell: the order (1-based) of the first new site that covers it when no
    #: existing facility does, else 0 (see :func:`newly_covered`)
    new_site: np.ndarray | None = field(default=None, repr=False)
    #: per chosen site: its service radius in metres (walking threshold, or the park tier's)
    radius_m: np.ndarray | None = field(default=None, repr=False)
    #: layers for ``sites.gpkg`` and ``sites.html`` besides the sites (study CRS)
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict, repr=False)
    #: the OSM file of the study, for the basemap of ``sites.html``
    osm: Path | None = None
    lang: str = "zh"
    #: online tiles under ``sites.html`` (``RunConfig.tiles``; the key is never stored here)
    tiles: str = "none"

    def newly_covered_population(self) -> float | None:
        """People in the cells covered only with the new sites (None: not computed)."""
        cells = self.layers.get("newly_covered")
        return None if cells is None else float(cells["population"].sum())

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (sites as WGS84 lon/lat)."""
        wgs = self.sites.to_crs("EPSG:4326").representative_point()
        return {
            "kind": self.kind, "metric": self.metric, "before": self.before,
            "after_each_site": self.path, "target": self.target, "reached": self.reached,
            "candidates": self.candidates, "solve": self.solve,
            "newly_covered_population": self.newly_covered_population(),
            "sites": [{"order": i + 1, "candidate_id": cid, "source": src,
                       "size_m2": size, "lon": p.x, "lat": p.y, "figure_after": fig}
                      for i, (cid, src, size, p, fig) in enumerate(zip(
                          self.sites["candidate_id"], self.sites["source"],
                          self.sites["size_m2"], wgs, self.path, strict=True))],
        }


def study_candidates(study: Study, kind: str, spacing_m: float = GRID_SPACING_M,
                     size_m2: float | None = None) -> gpd.GeoDataFrame:
    """OSM land that could host the kind plus a regular grid near the streets."""
    size = size_m2 if size_m2 is not None else DEFAULT_SIZE_M2.get(kind, 10000.0)
    frames = []
    if study.extract is not None and kind in cand.CANDIDATE_LAND:
        existing = study.facilities.geometry.values[(study.facilities["kind"] == kind).to_numpy()]
        frames.append(cand.land_candidates(study.extract.features, study.crs, kind,
                                           area=study.area, exclude=existing))
    frames.append(cand.grid_candidates(study.area, spacing_m, size, study.crs,
                                       network=study.network, near_network_m=NEAR_NETWORK_M))
    return cand.combine_candidates(*frames)


def site_parks(study: Study, candidates: gpd.GeoDataFrame, k: int | None = None,
               target_share: float | None = None, preset: str | None = None) -> SitingReport:
    """The fewest new parks reaching ``target_share`` of a park indicator, or the best ``k``.

    ``preset`` picks the indicator: ``gbt50563-2010`` (公园绿地服务半径覆盖率, parks) or
    ``activity-space-2021`` (公园绿化活动场地服务半径覆盖率: squares and green activity spaces
    count among the existing ones)."""
    from lifecircle.pipeline.stages import ACTIVITY_PRESET, activity_spaces

    park_rows = study.facilities[study.facilities["kind"] == "park"]
    if study.residential.empty:
        raise InputError("site --kind park", "no residential land: the park figure is undefined")
    tiers = parks.park_tiers(preset)
    existing = activity_spaces(study, park_rows) if tiers.name == ACTIVITY_PRESET else park_rows
    official = parks.park_service_radius_coverage(existing, study.residential, tiers,
                                                  study.historic)
    result = park_siting(study.residential, official.zone, candidates, k=k,
                         target_share=target_share, tiers=tiers)
    solve = (result.target.count_solve if result.target is not None else
             result.coverage.solve).as_dict()
    metric = load_standards()["park_tiers"]["presets"][tiers.name]["metric"]
    chosen = candidates.iloc[result.chosen].reset_index(drop=True)
    # a new site's straight-line zone: its tier radius around its footprint (GB/T 50563-2010
    # 2.0.13, as for the existing parks in lifecircle.coverage.parks)
    _, radius = tiers.assign(chosen["size_m2"].to_numpy(dtype=float), np.zeros(len(chosen), bool))
    zones = shapely.buffer(chosen.geometry.to_numpy(), radius, quad_segs=parks.BUFFER_QUAD_SEGS)
    pop = study.population
    already = shapely.contains_xy(official.zone, pop.x, pop.y)
    within = sparse.csr_matrix(np.column_stack(
        [shapely.contains_xy(z, pop.x, pop.y) for z in zones]) if len(zones) else
        np.zeros((pop.n_cells, 0), bool))
    return SitingReport(kind="park", metric=metric,
                        before=float(result.official_before),
                        path=[float(v) for v in result.official_path],
                        sites=chosen, solve=solve, target=target_share, reached=result.reached,
                        candidates=len(candidates), new_site=newly_covered(within, already),
                        radius_m=np.asarray(radius, dtype=float))


def site_median(study: Study, kind: str, candidates: gpd.GeoDataFrame, k: int,
                max_snap_m: float, limit_m: float = 3000.0,
                threshold_m: float | None = None) -> SitingReport:
    """p-median with capacities: ``k`` new facilities minimising the total walking distance of
    the kind's demand (school-age children for schools), existing facilities fixed, no facility
    above its capacity (defaults flagged as in catchments). The figure is the mean walk of the
    demand placed within ``limit_m``; demand no facility can take is reported in ``solve``.
    Cells newly within ``threshold_m`` (default: the kind's standard) are in ``new_site``."""
    from lifecircle.coverage import catchments as catch

    index = node_index(study.network)
    pop = study.population
    settings = demand_settings(guess_population_basis(pop.source))
    demand = catch.cell_demand(pop.population, kind, settings) \
        if kind in catch.CATCHMENT_KINDS else pop.population
    cells = index.snap(pop.x, pop.y, max_snap_m)
    rows = (study.facilities["kind"] == kind).to_numpy()
    existing = study.facilities.geometry.values[rows]
    sites = np.concatenate([existing, candidates.geometry.values])
    is_existing = np.arange(sites.size) < existing.size
    capacity, _ = catch.facility_capacity(
        np.concatenate([study.facilities["capacity"].to_numpy(dtype=float)[rows],
                        np.full(len(candidates), np.nan)]), kind, settings) \
        if kind in catch.CATCHMENT_KINDS else (None, None)
    costs = cost_pairs(index, sites, cells, limit_m=limit_m, max_snap_m=max_snap_m)
    result = optimize.p_median(demand, costs, is_existing, k, capacities=capacity)
    chosen = result.chosen - existing.size
    path = []
    for i in range(1, chosen.size + 1):
        keep = np.concatenate([np.flatnonzero(is_existing), result.chosen[:i]])
        step = optimize.p_median(demand, costs[:, keep], is_existing[keep], i,
                               capacities=None if capacity is None else capacity[keep])
        path.append(float(step.mean_cost))
    before = optimize.p_median(demand, costs[:, is_existing], is_existing[is_existing], 0,
                             capacities=None if capacity is None else capacity[is_existing])
    solve = result.solve.as_dict() | {"unassigned_demand": float(result.unassigned.sum()),
                                      "demand": float(demand.sum())}
    radius = float(threshold_m if threshold_m is not None
                   else load_standards()["kinds"][kind]["threshold_m"])
    cover, already = optimize.split_cover(costs, is_existing, radius)
    return SitingReport(kind=kind, metric=f"mean_walk_m.{kind}", before=float(before.mean_cost),
                        path=path, sites=candidates.iloc[chosen].reset_index(drop=True),
                        solve=solve, target=None, reached=None, candidates=len(candidates),
                        new_site=newly_covered(cover[:, chosen], already),
                        radius_m=np.full(chosen.size, radius))


def site_facilities(study: Study, kind: str, candidates: gpd.GeoDataFrame, threshold_m: float,
                    max_snap_m: float, k: int | None = None,
                    target_share: float | None = None) -> SitingReport:
    """New facilities of a kind maximising the population within ``threshold_m`` walking (MCLP),
    or the fewest reaching ``target_share`` of ``walk_coverage.<kind>``; existing ones fixed."""
    index = node_index(study.network)
    pop = study.population
    cells = index.snap(pop.x, pop.y, max_snap_m)
    existing = study.facilities.geometry.values[(study.facilities["kind"] == kind).to_numpy()]
    sites = np.concatenate([existing, candidates.geometry.values])
    is_existing = np.arange(sites.size) < existing.size
    costs = cost_pairs(index, sites, cells, limit_m=threshold_m, max_snap_m=max_snap_m)
    cover, already = optimize.split_cover(costs, is_existing, threshold_m)
    if target_share is not None:
        target = optimize.target_mode(pop.population, cover, already, target_share)
        chosen, result = target.sites.chosen, target.sites
        solve, reached = target.count_solve.as_dict(), target.reached
    else:
        result = optimize.mclp(pop.population, cover, already, int(k or 1))
        chosen, solve, reached = result.chosen, result.solve.as_dict(), None
    return SitingReport(kind=kind, metric=f"walk_coverage.{kind}",
                        before=float(result.share_before),
                        path=[float(v) for v in result.share_path],
                        sites=candidates.iloc[chosen].reset_index(drop=True), solve=solve,
                        target=target_share, reached=reached, candidates=len(candidates),
                        new_site=newly_covered(cover[:, chosen], already),
                        radius_m=np.full(len(chosen), float(threshold_m)))


def site(study: Study, config: RunConfig, kind: str, *, target_share: float | None = None,
         add: int | None = None, objective: str = "coverage",
         candidates: gpd.GeoDataFrame | str | Path | None = None,
         spacing_m: float = GRID_SPACING_M,
         size_m2: float | None = None, gates: int | None = None) -> SitingReport:
    """Where new facilities of ``kind`` go: the fewest reaching ``target_share``, or the best
    ``add`` sites, among ``candidates`` (default: OSM land plus a grid near the streets).

    Parameters
    ----------
    study, config : the loaded study and its configuration (thresholds, park indicator)
    kind : the facility kind
    target_share, add : give exactly one
    objective : "coverage" (MCLP; parks: the official figure) or "median" (p-median with
        capacities; needs ``add``)
    candidates : candidate sites (any CRS; ``candidate_id``, ``size_m2``), or a vector file
    spacing_m, size_m2 : the grid of default candidates
    gates : instead of new facilities, the best ``gates`` new gates in the study's gated
        compounds (:func:`lifecircle.scenarios.gates.site_gates`)

    Raises
    ------
    InputError
        No candidate in the study area, or ``objective="median"`` without ``add``.
    """
    if gates is not None:
        from lifecircle.scenarios.gates import site_gates

        report = site_gates(study, config, kind, gates)
        report.layers = map_layers(study, report)
        report.layers["compounds"] = gpd.GeoDataFrame(
            {"id": study.cost.inputs.ids}, geometry=list(study.cost.inputs.polygons),
            crs=study.crs)
        report.osm = Path(config.osm) if config.osm is not None else None
        report.lang = config.lang
        return report
    if candidates is None:
        candidates = study_candidates(study, kind, spacing_m, size_m2)
    else:
        if isinstance(candidates, str | Path):
            from lifecircle.layers.vector import read_vector

            candidates = read_vector(candidates)
        candidates = cand.user_candidates(candidates, study.crs, size_m2)
    if candidates.empty:
        raise InputError("candidates", "no candidate site in the study area")
    if objective == "median":
        if add is None:
            raise InputError("--objective median", "needs --add K")
        report = site_median(study, kind, candidates, add, config.snap_m(),
                             threshold_m=config.threshold(kind))
    elif kind == "park":
        report = site_parks(study, candidates, k=add, target_share=target_share,
                            preset=config.park_preset)
    else:
        report = site_facilities(study, kind, candidates, config.threshold(kind),
                                 config.snap_m(), k=add, target_share=target_share)
    report.layers = map_layers(study, report)
    report.osm = Path(config.osm) if config.osm is not None else None
    report.lang = config.lang
    report.tiles = config.tiles
    return report


def newly_covered(within: sparse.spmatrix, already: np.ndarray) -> np.ndarray:
    """Per cell, the order (1-based) of the first new site covering it when no existing
    facility does, else 0.

    Parameters
    ----------
    within : bool (cells x chosen sites, in their order): the cell is within the site's radius
    already : bool per cell, within the radius of an existing facility

    Examples
    --------
    >>> within = sparse.csr_matrix(np.array([[0, 1], [1, 1], [0, 0], [1, 0]], dtype=bool))
    >>> newly_covered(within, np.array([False, False, False, True])).tolist()
    [2, 1, 0, 0]
    """
    dense = sparse.csr_matrix(within, dtype=bool).toarray()  # cells x k, k small
    if dense.shape[1] == 0:
        return np.zeros(dense.shape[0], dtype=np.int64)
    first = np.where(dense.any(axis=1), dense.argmax(axis=1) + 1, 0)
    return np.where(np.asarray(already, dtype=bool), 0, first).astype(np.int64)


def map_layers(study: Study, report: SitingReport) -> dict[str, gpd.GeoDataFrame]:
    """The layers ``sites.html`` draws besides the sites (study CRS): ``newly_covered`` (cells
    covered only with the new sites: ``population``, ``site`` = order of the first new site
    covering it), ``service_radius`` (each site's radius, straight line), ``existing`` (the
    kind's facilities) and ``study_area``."""
    crs = study.crs
    layers: dict[str, gpd.GeoDataFrame] = {}
    if report.new_site is not None:
        cells = study.population.to_geodataframe()
        new = report.new_site > 0
        layers["newly_covered"] = cells[new].assign(site=report.new_site[new]).reset_index(
            drop=True)
    if report.radius_m is not None and len(report.sites):
        # walking kinds: the threshold around the site (the walk reaches no farther); parks: the
        # tier radius around the footprint, as the official figure counts it
        footprint = (report.sites.geometry if report.kind == "park"
                     else report.sites.geometry.representative_point())
        layers["service_radius"] = gpd.GeoDataFrame(
            {"order": np.arange(1, len(report.sites) + 1), "radius_m": report.radius_m},
            geometry=shapely.buffer(footprint.to_numpy(), report.radius_m,
                                    quad_segs=parks.BUFFER_QUAD_SEGS), crs=crs)
    existing = study.facilities[study.facilities["kind"] == report.kind]
    columns = [c for c in ("facility_id", "name", "kind", "capacity") if c in existing.columns]
    layers["existing"] = existing[[*columns, "geometry"]].reset_index(drop=True)
    layers["study_area"] = gpd.GeoDataFrame(geometry=[study.area], crs=crs)
    return layers


def parse_target(text: str, kind: str) -> tuple[float, str | None]:
    """The share of ``--target METRIC=SHARE`` and, for parks, the indicator's preset; the metric
    must be one ``kind`` is sited for.

    Examples
    --------
    >>> parse_target("park_activity_space_coverage=0.86", "park")
    (0.86, 'activity-space-2021')
    >>> parse_target("walk_coverage.primary_school=0.5", "primary_school")
    (0.5, None)
    """
    metric, _, value = text.partition("=")
    presets = {spec["metric"]: name for name, spec in
               load_standards()["park_tiers"]["presets"].items()}
    expected = list(presets) if kind == "park" else [f"walk_coverage.{kind}"]
    if metric not in expected:
        raise InputError(f"--target {text}", f"for --kind {kind} the target is "
                                             f"{' or '.join(expected)}=SHARE")
    try:
        share = float(value)
    except ValueError:
        raise InputError(f"--target {text}", "expected METRIC=SHARE, e.g. 0.86") from None
    if not 0 < share <= 1:
        raise InputError(f"--target {text}", "a share lies in (0, 1]; 86 % is 0.86")
    return share, presets.get(metric)


def sites_table(report: SitingReport) -> pd.DataFrame:
    """The chosen sites in order, ready to use: WGS84 and GCJ-02 (Amap) lon/lat, the figure after
    each site and the gain each one adds."""
    from lifecircle.layers.chinese_coords import wgs84_to_gcj02

    points = report.sites.to_crs("EPSG:4326").representative_point()
    lon, lat = points.x.to_numpy(), points.y.to_numpy()
    lon_gcj, lat_gcj = wgs84_to_gcj02(lon, lat)
    after = np.asarray(report.path, dtype=float)
    return pd.DataFrame({
        "order": np.arange(1, len(report.sites) + 1),
        "candidate_id": report.sites["candidate_id"].to_numpy(),
        "source": report.sites["source"].to_numpy(), "size_m2": report.sites["size_m2"],
        "lon": lon, "lat": lat, "lon_gcj02": lon_gcj, "lat_gcj02": lat_gcj,
        "figure_after": after, "gain": np.diff(np.r_[report.before, after]),
    })


def write_sites(report: SitingReport, out: str | Path, inputs: list[Path]) -> Path:
    """``sites.json``, ``sites.csv``, ``sites.gpkg`` (sites in order with the figure after each,
    and the layers of :func:`map_layers`, plus the offline basemap when the study has an OSM file)
    and ``sites.html`` (their map), written atomically into ``out``."""
    from lifecircle.maps.sites import write_sites_map
    from lifecircle.output import atomic_directory, write_csv, write_json, write_layers

    with atomic_directory(out, inputs) as staging:
        write_json(staging / "sites.json", report.as_dict())
        write_csv(staging / "sites.csv", sites_table(report))
        write_layers(staging / "sites.gpkg", {
            "sites": report.sites.assign(order=np.arange(1, len(report.sites) + 1),
                                         figure_after=report.path), **report.layers})
        if report.osm is not None and "study_area" in report.layers:
            from lifecircle.layers.basemap import basemap_layers

            area = report.layers["study_area"].buffer(500.0).to_crs("EPSG:4326").union_all()
            write_layers(staging / "sites.gpkg", basemap_layers(report.osm, clip=area))
        write_sites_map(staging, lang=report.lang, tiles=report.tiles)
    return Path(out)
