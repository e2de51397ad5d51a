"""Walking distance from every population cell to the nearest facility of each kind, and the
``walk_coverage.<kind>`` metrics (DESIGN §3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np

from lifecircle.coverage.engine import Nearest, NodeIndex, Snap, at_points, nearest_facility

if TYPE_CHECKING:
    from lifecircle.layers.walking import WalkCost


@dataclass(frozen=True)
class KindAccess:
    """Per-cell nearest facility of one kind.

    Attributes
    ----------
    kind : the facility kind
    threshold_m : walking threshold of the kind
    nearest : per-cell distance (m) and facility row (in ``facilities`` of that kind)
    facility_ids : ``fid`` of the kind's facilities, indexed by ``nearest.facility``
    unreachable_facilities : facilities farther than the snapping distance from any street
    node_distance_m : walking distance from every network node to the nearest facility (the
        one multi-source pass; the kind's covered area is drawn from it)
    """

    kind: str
    threshold_m: float
    nearest: Nearest
    facility_ids: np.ndarray
    unreachable_facilities: int
    node_distance_m: np.ndarray | None = None

    @property
    def nearest_fid(self) -> np.ndarray:
        """``fid`` of each cell's nearest facility ("" where none was reached)."""
        out = np.full(self.nearest.facility.size, "", dtype=object)
        ok = self.nearest.facility >= 0
        out[ok] = self.facility_ids[self.nearest.facility[ok]]
        return out


def kind_access(node_index: NodeIndex, facilities: gpd.GeoDataFrame, cells: Snap, kind: str,
                threshold_m: float, max_snap_m: float, limit_m: float,
                cost: WalkCost | None = None) -> KindAccess:
    """Nearest facility of ``kind`` for every snapped cell: one multi-source Dijkstra.

    Parameters
    ----------
    node_index : snapping index of the walk network
    facilities : the Facilities table (all kinds; rows of ``kind`` are used)
    cells : the population cells snapped to the network
    kind, threshold_m : the kind and its walking threshold
    max_snap_m : facilities farther than this from any walkable node are unreachable
    limit_m : Dijkstra search bound (distances beyond are inf)
    cost : slopes and compounds (:attr:`lifecircle.layers.study.Study.cost`); ``cells`` must
        then be snapped with ``cost.snap``. None: flat network distance
    """
    # plain numpy masks: selecting GeoDataFrame rows per kind costs more than the Dijkstra
    mask = facilities["kind"].to_numpy() == kind
    geometries = facilities.geometry.to_numpy()[mask]
    limit = max(limit_m, threshold_m)
    if cost is None:
        access = node_index.facility_access(geometries, max_snap_m)
        nodes = nearest_facility(node_index.network, access, limit_m=limit)
        nearest = at_points(nodes, cells)
    else:
        access = cost.facility_access(node_index, geometries, max_snap_m)
        nodes = nearest_facility(node_index.network, access, limit_m=limit,
                                 cost_graph=cost.graph)
        nearest = cost.at_cells(nodes, cells)
    reached = np.zeros(geometries.size, dtype=bool)
    reached[access.facility] = True
    return KindAccess(
        kind=kind,
        threshold_m=threshold_m,
        nearest=nearest,
        facility_ids=facilities["fid"].to_numpy(dtype=object)[mask],
        unreachable_facilities=int((~reached).sum()),
        # network nodes only: compounds' entered copies follow them and have no place on a map
        node_distance_m=nodes.distance_m[:node_index.network.n_nodes],
    )


def walk_coverage_metric(access: KindAccess, population: np.ndarray,
                         population_source: str) -> dict:
    """The ``walk_coverage.<kind>`` metric entry of scorecard.json."""
    total = float(population.sum())
    covered = float(population[access.nearest.distance_m <= access.threshold_m].sum())
    reachable = np.isfinite(access.nearest.distance_m)
    mean = (float(np.average(access.nearest.distance_m[reachable], weights=population[reachable]))
            if population[reachable].sum() > 0 else None)
    return {
        "value": covered / total if total > 0 else None,
        "unit": "share",
        "method": f"walking network distance to the nearest {access.kind} <= "
                  f"{access.threshold_m:g} m (multi-source Dijkstra, straight-line access added)",
        "denominator": f"population ({population_source})",
        "threshold_m": access.threshold_m,
        "population_covered": covered,
        "population_total": total,
        "facilities": int(access.facility_ids.size),
        "facilities_unreachable": access.unreachable_facilities,
        "mean_distance_m": mean,
    }
