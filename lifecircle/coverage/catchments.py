"""School and clinic catchments: who each facility serves, demand against capacity, 2SFCA.

DESIGN §3 "catchments". Every population cell belongs to the catchment of its nearest facility of
a kind by walking distance (the network Voronoi of :func:`lifecircle.coverage.walk.kind_access`).
Demand is the cell's population times the share of the population in the kind's ages (census
2020, ``seeds/demand.yaml``) or the whole population for clinics and hospitals. Capacity comes from
the facilities' ``capacity`` column, else a documented default per kind, always flagged
``capacity_assumed``. Beside the nearest-facility catchments:

- a capacity-constrained assignment (a transportation LP solved by HiGHS) that places demand within
  a walking limit without exceeding any capacity at the least total walking distance, and reports
  the demand it cannot place;
- 2SFCA and E2SFCA accessibility scores per cell, in the formulation of PySAL ``access``.

All of them work on sparse cell-facility walking distances within a limit (:func:`cost_pairs`),
never on a dense cells x facilities matrix.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse

from lifecircle.coverage.engine import NodeIndex, Snap, cost_pairs
from lifecircle.coverage.walk import KindAccess
from lifecircle.layers.population import PopulationGrid
from lifecircle.seeds.demand import DemandSettings, KindDemand

#: Kinds with a catchment analysis, in the order of ``seeds/demand.yaml``.
CATCHMENT_KINDS = ("childcare", "kindergarten", "primary_school", "middle_school",
                   "health_centre", "hospital")

#: Metric id of the capacity per 1,000 residents of the study area, per kind that has one.
PER_1000_METRICS = {
    "kindergarten": ("places_per_1000.kindergarten", "places_per_1000"),
    "childcare": ("places_per_1000.childcare", "places_per_1000"),
    "health_centre": ("beds_per_1000.health_centre", "beds_per_1000"),
    "hospital": ("beds_per_1000.hospital", "beds_per_1000"),
}


FACILITY_COLUMNS = [
    "kind", "fid", "name", "capacity", "capacity_unit", "capacity_assumed", "served_per_unit",
    "cells", "population", "demand", "demand_beyond_threshold", "load_ratio", "over_capacity",
    "capacity_per_1000", "assigned_demand", "cells_within_threshold",
]
POLYGON_COLUMNS = ["kind", "fid", "name", "population", "demand", "capacity", "capacity_assumed",
                   "load_ratio", "over_capacity"]


# --- demand and capacity parameters --------------------------------------------------------------


def cell_demand(population: np.ndarray, kind: str, settings: DemandSettings) -> np.ndarray:
    """Demand per cell: population (as a total) times the kind's share.

    Warns when the grid is not a total-population grid: the census shares are shares of the total
    population, so demand is then an estimate through the census ratio of total to adults.
    """
    if settings.population_basis != "total":
        warnings.warn(f"the population grid counts {settings.population_basis}, not every age: "
                      f"{kind} demand is estimated as population × {settings.to_total:g} "
                      "(census ratio of total to that basis) × the age share", stacklevel=2)
    return np.asarray(population, dtype=np.float64) * settings.to_total * settings.of(kind).share


def facility_capacity(capacity: np.ndarray, kind: str,
                      settings: DemandSettings) -> tuple[np.ndarray, np.ndarray]:
    """Each facility's capacity: its own where known (finite, >= 0), else the kind's default.

    Returns
    -------
    (capacity, assumed): float capacities and a mask of those that were defaulted
    """
    capacity = np.asarray(capacity, dtype=np.float64)
    assumed = ~(np.isfinite(capacity) & (capacity >= 0))
    return np.where(assumed, settings.of(kind).default_capacity, capacity), assumed


# --- nearest-facility catchments -----------------------------------------------------------------


@dataclass(frozen=True)
class CatchmentSums:
    """Per-facility sums over the cells of each catchment (arrays indexed by facility row)."""

    cells: np.ndarray
    population: np.ndarray
    demand: np.ndarray
    demand_beyond: np.ndarray


def catchment_sums(facility: np.ndarray, distance_m: np.ndarray, population: np.ndarray,
                   demand: np.ndarray, threshold_m: float, n_facilities: int) -> CatchmentSums:
    """Sum cells, population and demand per nearest facility.

    Parameters
    ----------
    facility : nearest facility row per cell (-1 where none was reached)
    distance_m : walking distance to it (inf where none)
    population, demand : per cell
    threshold_m : demand farther than this is also summed as ``demand_beyond``
    n_facilities : number of facilities (length of the results)
    """
    ok = facility >= 0
    beyond = ok & (distance_m > threshold_m)
    return CatchmentSums(
        cells=np.bincount(facility[ok], minlength=n_facilities),
        population=np.bincount(facility[ok], weights=population[ok], minlength=n_facilities),
        demand=np.bincount(facility[ok], weights=demand[ok], minlength=n_facilities),
        demand_beyond=np.bincount(facility[beyond], weights=demand[beyond],
                                  minlength=n_facilities),
    )


def load_ratio(demand: np.ndarray, capacity: np.ndarray, served_per_unit: float) -> np.ndarray:
    """Demand over the people the capacity serves (``capacity × served_per_unit``); 0 without
    demand, inf with demand and no capacity. Above 1 a facility is over capacity."""
    served = np.asarray(capacity, dtype=np.float64) * served_per_unit
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(demand > 0, demand / served, 0.0)


# --- 2SFCA / E2SFCA ------------------------------------------------------------------------------


def gaussian_weight(sigma_m: float) -> Callable[[np.ndarray], np.ndarray]:
    """PySAL ``access.weights.gaussian``: ``exp(-d² / (2σ²))``, 1 at distance 0."""
    if sigma_m <= 0:
        raise ValueError(f"sigma must be positive metres, got {sigma_m}")
    return lambda d: np.exp(-d * d / (2.0 * sigma_m * sigma_m))


def floating_catchment(pairs: sparse.csr_matrix, demand: np.ndarray, supply: np.ndarray,
                       catchment_m: float,
                       weight: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """Two-step floating catchment scores (Luo & Wang 2003; weighted: Luo & Qi 2009).

    Step 1, per facility j: ``R_j = S_j / Σ_i w(d_ij) D_i`` over cells i with ``d_ij <=
    catchment_m``. Step 2, per cell i: ``A_i = Σ_j w(d_ij) R_j``. Without ``weight`` every pair
    weighs 1 (2SFCA). As PySAL ``access`` ``two_stage_fca``, the weight applies in both steps.

    Parameters
    ----------
    pairs : csr (n_cells x n_facilities) walking distances (from :func:`cost_pairs`)
    demand : per cell (people in need)
    supply : per facility (places, seats, beds)
    catchment_m : pairs farther apart do not count
    weight : distance decay, e.g. :func:`gaussian_weight`

    Returns
    -------
    Score per cell: supply per person within reach (0 where no facility is within reach). A
    facility with no demand within reach has ratio 0.
    """
    coo = pairs.tocoo()
    near = coo.data <= catchment_m
    cost = coo.data[near]
    w = np.ones_like(cost) if weight is None else weight(cost)
    weights = sparse.csr_matrix((w, (coo.row[near], coo.col[near])), shape=pairs.shape)
    reached = weights.T @ np.asarray(demand, dtype=np.float64)
    ratio = np.divide(np.asarray(supply, dtype=np.float64), reached,
                      out=np.zeros(pairs.shape[1]), where=reached > 0)
    return weights @ ratio


def two_sfca(pairs: sparse.csr_matrix, demand: np.ndarray, supply: np.ndarray,
             catchment_m: float) -> np.ndarray:
    """2SFCA score per cell: every pair within ``catchment_m`` weighs 1.

    Parameters
    ----------
    pairs, demand, supply, catchment_m : as for :func:`floating_catchment`

    Returns
    -------
    Supply per person within reach, per cell.
    """
    return floating_catchment(pairs, demand, supply, catchment_m)


def e2sfca(pairs: sparse.csr_matrix, demand: np.ndarray, supply: np.ndarray, catchment_m: float,
           sigma_m: float | None = None) -> np.ndarray:
    """E2SFCA score per cell with Gaussian decay ``exp(-d²/(2σ²))`` (PySAL ``access``).

    Parameters
    ----------
    pairs, demand, supply, catchment_m : as for :func:`floating_catchment`
    sigma_m : width of the decay; default (an assumption) half the catchment distance, so a pair
        at the catchment edge weighs exp(-2) ≈ 0.14

    Returns
    -------
    Distance-weighted supply per person within reach, per cell.
    """
    sigma = catchment_m / 2.0 if sigma_m is None else sigma_m
    return floating_catchment(pairs, demand, supply, catchment_m, gaussian_weight(sigma))


# --- capacity-constrained assignment -------------------------------------------------------------


@dataclass(frozen=True)
class Assignment:
    """Demand placed on facilities within capacity at the least total walking distance.

    Attributes
    ----------
    flow : csr (n_cells x n_facilities): demand of each cell placed on each facility
    unplaced : demand per cell that no facility within the limit has room for
    cost : total walking distance of the placed demand (people × metres)
    """

    flow: sparse.csr_matrix
    unplaced: np.ndarray
    cost: float

    @property
    def placed(self) -> np.ndarray:
        """Demand placed per facility."""
        return np.asarray(self.flow.sum(axis=0)).ravel()

    @property
    def total_unplaced(self) -> float:
        """Demand placed nowhere."""
        return float(self.unplaced.sum())


def capacitated_assignment(pairs: sparse.csr_matrix, demand: np.ndarray, capacity: np.ndarray,
                           limit_m: float | None = None) -> Assignment:
    """Place as much demand as capacity allows within ``limit_m``, at the least people × metres.

    A transportation LP over the sparse pairs, solved by HiGHS (``scipy.optimize.linprog``):
    minimise ``Σ d_ij x_ij + M Σ u_i`` subject to ``Σ_j x_ij + u_i = D_i`` per cell and
    ``Σ_i x_ij <= C_j`` per facility, ``x, u >= 0``. The penalty ``M`` on unplaced demand ``u``
    exceeds any augmenting path's distance (facilities + 1 times the longest pair), so the most
    demand is placed first and the walking distance is least among such placements.

    Parameters
    ----------
    pairs : csr (n_cells x n_facilities) walking distances (from :func:`cost_pairs`)
    demand : per cell
    capacity : per facility, in the same unit as demand (people)
    limit_m : pairs farther apart are not used (default: every stored pair)

    Raises
    ------
    RuntimeError
        When HiGHS reports no optimum (it should not: the LP is always feasible).
    """
    # imported here (scipy.optimize: 0.1 s), so a run imports it where the catchments are
    # computed: in the process forked beside the service circles
    from scipy.optimize import linprog

    demand = np.asarray(demand, dtype=np.float64)
    n_cells, n_fac = pairs.shape
    limit = np.inf if limit_m is None else limit_m
    coo = pairs.tocoo()
    use = (demand[coo.row] > 0) & (coo.data <= limit)
    rows, cols, cost = coo.row[use], coo.col[use], coo.data[use]
    active, local = np.unique(rows, return_inverse=True)
    unplaced = demand.copy()
    if active.size == 0:
        return Assignment(sparse.csr_matrix((n_cells, n_fac)), unplaced, 0.0)
    n_x, n_u = cost.size, active.size
    penalty = (n_fac + 1) * max(float(cost.max()), 1.0)
    a_eq = sparse.csr_matrix(
        (np.ones(n_x + n_u), (np.concatenate([local, np.arange(n_u)]),
                              np.arange(n_x + n_u))), shape=(n_u, n_x + n_u))
    a_ub = sparse.csr_matrix((np.ones(n_x), (cols, np.arange(n_x))), shape=(n_fac, n_x + n_u))
    result = linprog(np.concatenate([cost, np.full(n_u, penalty)]), A_ub=a_ub,
                     b_ub=np.asarray(capacity, dtype=np.float64), A_eq=a_eq,
                     b_eq=demand[active], bounds=(0, None), method="highs")
    if result.status != 0:
        raise RuntimeError(f"capacity-constrained assignment: HiGHS found no optimum "
                           f"({result.message})")
    x = np.maximum(result.x[:n_x], 0.0)
    unplaced[active] = np.maximum(result.x[n_x:], 0.0)
    flow = sparse.csr_matrix((x, (rows, cols)), shape=(n_cells, n_fac))
    flow.eliminate_zeros()
    return Assignment(flow=flow, unplaced=unplaced, cost=float(x @ cost))


# --- one kind, end to end ------------------------------------------------------------------------


@dataclass(frozen=True)
class KindCatchments:
    """The catchment analysis of one kind.

    Attributes
    ----------
    kind : the facility kind
    threshold_m : its walking threshold
    table : one row per facility of the kind (``FACILITY_COLUMNS``), ready for CSV:
        ``capacity`` in ``capacity_unit`` (own or default, ``capacity_assumed``), ``cells``,
        ``population`` (as the grid counts it) and ``demand`` of its nearest-facility catchment,
        ``demand_beyond_threshold`` of it, ``load_ratio`` = demand / (capacity ×
        ``served_per_unit``), ``over_capacity`` (load ratio > 1), ``capacity_per_1000``
        residents of the catchment (beds, places or seats), ``assigned_demand`` (what the
        capacity-constrained assignment places on it) and ``cells_within_threshold``
    cells : one row per population cell: ``demand``, ``sfca``, ``e2sfca``, ``unplaced``
    polygons : one dissolved catchment per facility nearest to at least one cell
    assignment : the capacity-constrained assignment within the threshold
    metrics : scorecard entries by metric id
    """

    kind: str
    threshold_m: float
    table: pd.DataFrame
    cells: pd.DataFrame
    polygons: gpd.GeoDataFrame
    assignment: Assignment
    metrics: dict[str, dict[str, Any]]

    def cell_columns(self) -> dict[str, np.ndarray]:
        """Per-cell columns for the population layer: ``<column>_<kind>``."""
        return {f"{name}_{self.kind}": self.cells[name].to_numpy() for name in self.cells}


def kind_catchments(node_index: NodeIndex, facilities: gpd.GeoDataFrame, grid: PopulationGrid,
                    cells: Snap, access: KindAccess, max_snap_m: float,
                    settings: DemandSettings, catchment_m: float | None = None,
                    sigma_m: float | None = None, cost=None,
                    pairs: sparse.csr_matrix | None = None, layers: bool = True
                    ) -> KindCatchments:
    """Catchments, demand against capacity, constrained assignment and 2SFCA for one kind.

    Parameters
    ----------
    node_index : snapping index of the walk network
    facilities : the Facilities table (all kinds; rows of ``access.kind`` are used, in order)
    grid : the population grid ``cells`` were snapped from
    cells : the snapped cells
    access : the kind's nearest-facility result (:func:`lifecircle.coverage.walk.kind_access`)
    max_snap_m : snapping distance (as for ``access``)
    settings : demand parameters (:func:`lifecircle.seeds.demand.demand_settings`)
    catchment_m : 2SFCA / E2SFCA catchment distance (default: the kind's threshold)
    sigma_m : E2SFCA Gaussian width (default: half the catchment distance)
    cost : the study's :class:`lifecircle.layers.walking.WalkCost` (slopes, compounds), or None
    pairs : the cell-facility walking distances within ``max(threshold, catchment_m)`` when
        already known (as :func:`~lifecircle.coverage.engine.cost_pairs` gives them)
    layers : False: the figures only (table, assignment, metrics), without the 2SFCA columns
        and catchment polygons (the workbench's edits)

    Returns
    -------
    KindCatchments: the facility table, per-cell columns, polygons, assignment and metrics
    """
    kind, threshold = access.kind, access.threshold_m
    spec = settings.of(kind)
    of_kind = facilities[facilities["kind"] == kind]
    if not np.array_equal(of_kind["fid"].to_numpy(dtype=object), access.facility_ids):
        raise ValueError(f"{kind}: facilities differ from those the access was computed for")
    catchment_m = threshold if catchment_m is None else float(catchment_m)

    demand = cell_demand(grid.population, kind, settings)
    capacity, assumed = facility_capacity(of_kind["capacity"].to_numpy(), kind, settings)
    if pairs is None:
        pairs = cost_pairs(node_index, of_kind.geometry.values, cells,
                           max(threshold, catchment_m), max_snap_m, cost=cost)
    sums = catchment_sums(access.nearest.facility, access.nearest.distance_m, grid.population,
                          demand, threshold, len(of_kind))
    assignment = capacitated_assignment(pairs, demand, capacity * spec.served_per_unit, threshold)
    table = _facility_table(of_kind, sums, capacity, assumed, spec, settings, assignment,
                            _cells_within(pairs, threshold))
    columns = {"demand": demand}
    if layers:
        columns |= {"sfca": two_sfca(pairs, demand, capacity, catchment_m),
                    "e2sfca": e2sfca(pairs, demand, capacity, catchment_m, sigma_m)}
    columns["unplaced"] = assignment.unplaced
    return KindCatchments(
        kind=kind,
        threshold_m=threshold,
        table=table,
        cells=pd.DataFrame(columns),
        polygons=(catchment_polygons(grid, access.nearest.facility, table) if layers
                  else gpd.GeoDataFrame(geometry=[], crs=grid.crs)),
        assignment=assignment,
        metrics=catchment_metrics(kind, threshold, table, demand, access.nearest.distance_m,
                                  assignment, grid, settings),
    )


def _facility_table(of_kind: gpd.GeoDataFrame, sums: CatchmentSums, capacity: np.ndarray,
                    assumed: np.ndarray, spec: KindDemand, settings: DemandSettings,
                    assignment: Assignment, within: np.ndarray) -> pd.DataFrame:
    ratio = load_ratio(sums.demand, capacity, spec.served_per_unit)
    residents = sums.population * settings.to_total
    with np.errstate(divide="ignore", invalid="ignore"):
        per_1000 = np.where(residents > 0, capacity / residents * 1000.0, np.nan)
    return pd.DataFrame({
        "kind": of_kind["kind"].to_numpy(),
        "fid": of_kind["fid"].to_numpy(),
        "name": of_kind["name"].to_numpy(),
        "capacity": capacity,
        "capacity_unit": spec.capacity_unit,
        "capacity_assumed": assumed,
        "served_per_unit": spec.served_per_unit,
        "cells": sums.cells,
        "population": sums.population,
        "demand": sums.demand,
        "demand_beyond_threshold": sums.demand_beyond,
        "load_ratio": ratio,
        "over_capacity": ratio > 1.0,
        "capacity_per_1000": per_1000,
        "assigned_demand": assignment.placed,
        "cells_within_threshold": within,
    }, columns=FACILITY_COLUMNS)


def _cells_within(pairs: sparse.csr_matrix, limit_m: float) -> np.ndarray:
    """Number of cells within ``limit_m`` of each facility (column)."""
    coo = pairs.tocoo()
    return np.bincount(coo.col[coo.data <= limit_m], minlength=pairs.shape[1])


def catchment_polygons(grid: PopulationGrid, facility: np.ndarray,
                       table: pd.DataFrame) -> gpd.GeoDataFrame:
    """Catchments for drawing: each facility's cells as one polygon.

    Where the cell centres lie on one lattice of ``cell_size`` (modelled population), the
    facility labels are burnt into a raster and polygonised (``rasterio.features.shapes``),
    which is the dissolve of the cell squares without any GEOS union; otherwise (a raster
    reprojected to the run's CRS) the squares are dissolved.

    Parameters
    ----------
    grid : the population grid
    facility : nearest facility row (of ``table``) per cell, -1 for none
    table : the kind's facility table

    Returns
    -------
    GeoDataFrame (``POLYGON_COLUMNS``, geometry) with one row per facility that has cells,
    ordered by facility row
    """
    ok = facility >= 0
    lattice = _lattice(grid.x[ok], grid.y[ok], grid.cell_size)
    if lattice is None:
        squares = gpd.GeoDataFrame({"row": facility[ok]},
                                   geometry=grid.cell_polygons().values[ok], crs=grid.crs)
        dissolved = squares.dissolve(by="row")
        rows = dissolved.index.to_numpy(dtype=np.int64)
        geometry = dissolved.geometry.values
    else:
        rows, geometry = _polygonise(facility[ok], *lattice, grid.cell_size)
    attributes = table.iloc[rows][POLYGON_COLUMNS].reset_index(drop=True)
    return gpd.GeoDataFrame(attributes, geometry=geometry, crs=grid.crs)


def _lattice(x: np.ndarray, y: np.ndarray,
             size: float) -> tuple[np.ndarray, np.ndarray, float, float] | None:
    """(column, row, west, north) of cell centres on a lattice of spacing ``size``, or None."""
    if x.size == 0 or not size > 0:
        return None
    west, north = x.min() - size / 2, y.max() + size / 2
    col_f, row_f = (x - west) / size - 0.5, (north - y) / size - 0.5
    col, row = np.rint(col_f).astype(np.int64), np.rint(row_f).astype(np.int64)
    # assumption: centres within 1e-6 of a cell of the lattice are on it (float round-off)
    if (np.abs(col_f - col).max() > 1e-6 or np.abs(row_f - row).max() > 1e-6
            or (col.max() + 1) * (row.max() + 1) > 2**31 - 1):
        return None
    return col, row, west, north


def _polygonise(label: np.ndarray, col: np.ndarray, row: np.ndarray, west: float, north: float,
                size: float) -> tuple[np.ndarray, np.ndarray]:
    """Polygons of equal labels on a lattice: (labels, one (Multi)Polygon each)."""
    from affine import Affine
    from rasterio import features
    from shapely.geometry import shape

    raster = np.full((row.max() + 1, col.max() + 1), -1, dtype=np.int32)
    raster[row, col] = label
    transform = Affine(size, 0.0, west, 0.0, -size, north)
    pieces = [(shape(geom), int(value)) for geom, value in features.shapes(
        raster, mask=raster >= 0, connectivity=4, transform=transform)]
    geoms = np.array([p[0] for p in pieces], dtype=object)
    values = np.array([p[1] for p in pieces], dtype=np.int64)
    order = np.argsort(values, kind="stable")
    rows, first = np.unique(values[order], return_index=True)
    # pieces of one facility touch at most at corners: their union is a plain collection
    parts = np.split(geoms[order], first[1:])
    return rows, np.array([p[0] if len(p) == 1 else shapely.union_all(p) for p in parts],
                          dtype=object)


# --- metrics -------------------------------------------------------------------------------------


def catchment_metrics(kind: str, threshold_m: float, table: pd.DataFrame, demand: np.ndarray,
                      distance_m: np.ndarray, assignment: Assignment, grid: PopulationGrid,
                      settings: DemandSettings) -> dict[str, dict[str, Any]]:
    """Scorecard entries of one kind (DESIGN §4 format).

    ``catchment.<kind>.over_capacity_demand_share``: share of the study area's demand living in
    catchments whose load ratio exceeds 1; ``catchment.<kind>.beyond_threshold_demand_share``:
    share of demand whose nearest facility is farther than the threshold (or none is reached);
    and, per kind, ``places_per_1000.kindergarten`` or ``beds_per_1000.<kind>``. Each carries
    ``assumed``: true when any capacity of the kind was defaulted.
    """
    spec = settings.of(kind)
    total = float(demand.sum())
    assumed = bool(table["capacity_assumed"].any())
    over = float(table.loc[table["over_capacity"], "demand"].sum())
    beyond = float(demand[~(distance_m <= threshold_m)].sum())
    denominator = (f"{_demand_label(kind, spec)} in the study area (population "
                   f"{grid.source}, basis {settings.population_basis})")
    common = {
        "facilities": len(table),
        "facilities_capacity_assumed": int(table["capacity_assumed"].sum()),
        "demand_total": total,
        "demand_share_of_population": spec.share,
        "demand_source": spec.share_source,
        "population_basis": settings.population_basis,
    }
    metrics = {
        f"catchment.{kind}.over_capacity_demand_share": {
            "value": over / total if total > 0 else None,
            "unit": "share",
            "method": f"each cell's demand goes to its nearest {kind} by walking distance "
                      "(network Voronoi); a catchment is over capacity when its demand exceeds "
                      f"its {spec.capacity_unit} × {spec.served_per_unit:g} people each",
            "denominator": denominator,
            **common,
            "assumed": assumed,
            "facilities_over_capacity": int(table["over_capacity"].sum()),
            "demand_over_capacity": over,
            "capacity_source": spec.capacity_source,
            "unplaced_demand": assignment.total_unplaced,
            "unplaced_demand_share": assignment.total_unplaced / total if total > 0 else None,
            "unplaced_method": f"capacity-constrained assignment within {threshold_m:g} m "
                               "walking, least people × metres (transportation LP, HiGHS)",
        },
        f"catchment.{kind}.beyond_threshold_demand_share": {
            "value": beyond / total if total > 0 else None,
            "unit": "share",
            "method": f"demand whose nearest {kind} is farther than {threshold_m:g} m walking "
                      "(or out of reach)",
            "denominator": denominator,
            **common,
            "threshold_m": threshold_m,
            "demand_beyond_threshold": beyond,
        },
    }
    if kind in PER_1000_METRICS:
        metric_id, unit = PER_1000_METRICS[kind]
        residents = grid.total * settings.to_total
        capacity = float(table["capacity"].sum())
        metrics[metric_id] = {
            "value": capacity / residents * 1000.0 if residents > 0 else None,
            "unit": unit,
            "method": f"{spec.capacity_unit} of every {kind} in the study area per 1,000 "
                      "residents (defaults where a facility's capacity is unknown)",
            "denominator": f"residents (population {grid.source}, basis "
                           f"{settings.population_basis})",
            "assumed": assumed,
            "facilities": len(table),
            "facilities_capacity_assumed": int(table["capacity_assumed"].sum()),
            f"{spec.capacity_unit}_total": capacity,
            "residents": residents,
            "capacity_source": spec.capacity_source,
        }
    return metrics


def _demand_label(kind: str, spec: KindDemand) -> str:
    ages = spec.ages
    return f"children aged {ages[0]}-{ages[1]}" if ages else "residents"


# --- tables across kinds -------------------------------------------------------------------------


def catchments_layer(results: Iterable[KindCatchments]) -> gpd.GeoDataFrame:
    """The ``catchments`` layer of coverage.gpkg: every kind's polygons in one GeoDataFrame."""
    frames = [r.polygons for r in results]
    if not frames:
        return gpd.GeoDataFrame(columns=[*POLYGON_COLUMNS, "geometry"], geometry="geometry")
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry",
                            crs=frames[0].crs)


def facilities_table(results: Iterable[KindCatchments]) -> pd.DataFrame:
    """One row per facility of every kind analysed (``FACILITY_COLUMNS``), for CSV."""
    frames = [r.table for r in results]
    if not frames:
        return pd.DataFrame(columns=FACILITY_COLUMNS)
    return pd.concat(frames, ignore_index=True)
