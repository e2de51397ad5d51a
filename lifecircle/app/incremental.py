"""The workbench's incremental engine: per-kind nearest distances kept in memory and updated by
the smallest search an edit needs.

- Adding a facility runs ONE Dijkstra from that facility alone (bounded by the run's search
  limit, so the distances equal a full multi-source pass exactly) and takes the element-wise
  minimum with the kind's current cell distances.
- Closing (or undoing an add) recomputes only the kinds whose facility set changed: one
  multi-source Dijkstra each (:func:`lifecircle.coverage.walk.kind_access`).
- Metrics that rest on those distances (``walk_coverage.<kind>``, the catchment figures,
  ``life_circle_15min_complete``) are rebuilt from them with the same functions
  :func:`lifecircle.pipeline.run` uses, so every value equals ``lifecircle scenario`` on the
  same interventions.
- Adding a park adds its zones to the park figures (:mod:`lifecircle.app.park_edits`); other
  park changes re-measure the park figures in full.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from lifecircle.config import RunConfig
from lifecircle.coverage import catchments as catchment
from lifecircle.coverage.engine import (
    Nearest,
    NodeIndex,
    Snap,
    augmented_graph,
    cell_pairs,
    cost_pairs,
    reached_row,
)
from lifecircle.coverage.walk import KindAccess, kind_access
from lifecircle.layers.study import Study
from lifecircle.layers.walking import WalkCost
from lifecircle.metrics import Metric
from lifecircle.pipeline.stages import (
    ParkFigures,
    as_metric,
    catchment_kinds,
    completeness_stage,
    kind_records,
    park_figures,
    park_metrics,
)
from lifecircle.seeds.demand import DemandSettings


def add_to_access(index: NodeIndex, current: KindAccess, geometry: object, fid: str,
                  cells: Snap, max_snap_m: float, limit_m: float
                  ) -> tuple[KindAccess, np.ndarray | None]:
    """A kind's nearest facilities after adding one facility: one bounded single-source search.

    Parameters
    ----------
    index : snapping index of the walk network
    current : the kind's access before the edit
    geometry : the new facility (point or polygon, network CRS)
    fid : its facility id (appended last, as :func:`apply_interventions` appends it)
    cells : the snapped population cells
    max_snap_m : snapping distance
    limit_m : the search bound the run uses for the kind (``max(cap, threshold)``), so cells the
        new facility reaches get exactly the distance a full multi-source pass would give

    Returns
    -------
    (access, node distances from the new facility, or None when it reaches no street)
    """
    position = current.facility_ids.size
    access = index.facility_access(np.array([geometry], dtype=object), max_snap_m)
    distance = current.nearest.distance_m
    facility = current.nearest.facility
    unreachable = current.unreachable_facilities + (0 if access.node.size else 1)
    node_dist = None
    if access.node.size:
        n = index.network.n_nodes
        graph, _ = augmented_graph(index.network, access)
        # one virtual source (row n) with edges to the new facility's access nodes
        node_dist = csgraph.dijkstra(graph, directed=True, indices=n, limit=limit_m)[:n]
        new = np.full(cells.node.size, np.inf)
        ok = cells.reachable
        new[ok] = node_dist[cells.node[ok]] + cells.access_m[ok]
        closer = new < distance
        distance = np.where(closer, new, distance)
        facility = np.where(closer, position, facility)
    return dataclasses.replace(
        current, nearest=Nearest(distance_m=distance, facility=facility),
        facility_ids=np.append(current.facility_ids, np.array([fid], dtype=object)),
        unreachable_facilities=unreachable), node_dist


def add_pairs_column(pairs: sparse.csr_matrix, node_dist: np.ndarray | None, cells: Snap,
                     limit_m: float) -> sparse.csr_matrix:
    """The cell-facility distance pairs with the new facility's column appended, as
    :func:`lifecircle.coverage.engine.cost_pairs` would give them, from the add's own search."""
    if node_dist is None:
        column = sparse.csr_matrix((cells.node.size, 1))
    else:
        column = cell_pairs(reached_row(node_dist, limit_m), cells, limit_m)
    return sparse.hstack([pairs, column], format="csr")


@dataclasses.dataclass
class Engine:
    """What every session shares: the loaded baseline study, its snapped cells and settings."""

    study: Study
    config: RunConfig
    index: NodeIndex
    cells: Snap
    settings: DemandSettings
    regions: list[str]
    #: slopes and gated compounds (:attr:`Study.cost`); None: flat network distance
    cost: WalkCost | None = None

    @property
    def incremental(self) -> bool:
        """Whether an add can take the one-facility search: on a directed cost (slopes,
        compounds) an add re-measures its kind with one multi-source search instead, which is
        exact and still one search."""
        return self.cost is None

    def limit(self, kind: str) -> float:
        """The Dijkstra bound of a kind in a run (:func:`lifecircle.pipeline.run.run`)."""
        return max(self.config.cap_m(), self.config.threshold(kind))

    def measure_kind(self, study: Study, kind: str) -> KindAccess | None:
        """One multi-source Dijkstra for a kind; None when the run would call it missing."""
        if not (study.facilities["kind"] == kind).any() and kind not in study.absent_kinds:
            return None
        return kind_access(self.index, study.facilities, self.cells, kind,
                           self.config.threshold(kind), self.config.snap_m(),
                           self.config.cap_m(), cost=self.cost)

    def pairs(self, study: Study, kind: str) -> sparse.csr_matrix:
        """Cell-facility walking distances of a kind within its threshold (as the catchments
        of a run compute them)."""
        rows = (study.facilities["kind"] == kind).to_numpy()
        return cost_pairs(self.index, study.facilities.geometry.values[rows], self.cells,
                          self.config.threshold(kind), self.config.snap_m(), cost=self.cost)

    def update_records(self, study: Study, access: dict[str, KindAccess],
                       records: dict[str, Metric], kinds: set[str],
                       pairs: dict[str, sparse.csr_matrix], parks: ParkFigures | None = None
                       ) -> tuple[dict[str, Metric], ParkFigures | None]:
        """The records after the facilities of ``kinds`` changed (``access`` already updated;
        ``pairs`` holds the kinds' cell-facility distances already known and is filled in), and
        the park figures after it: ``parks`` when given (already updated, or unchanged when no
        park changed), else measured in full when the parks changed.

        Each figure is rebuilt by the function :func:`lifecircle.pipeline.run` uses; records of
        other kinds are kept.
        """
        records = dict(records)
        for kind in kinds - set(access):
            records.pop(f"walk_coverage.{kind}", None)
        records.update(kind_records(study, access, kinds))
        measured = catchment_kinds(study, access)
        for kind in kinds & set(catchment.CATCHMENT_KINDS):
            for metric_id in [m for m in records if m.split(".")[1:2] == [kind]
                              and m.split(".")[0] in ("catchment", "places_per_1000",
                                                      "beds_per_1000")]:
                del records[metric_id]
            if kind in measured:
                if kind not in pairs:
                    pairs[kind] = self.pairs(study, kind)
                figures = catchment.kind_catchments(
                    self.index, study.facilities, study.population, self.cells, access[kind],
                    self.config.snap_m(), self.settings, cost=self.cost, pairs=pairs[kind],
                    layers=False)
                records.update({k: as_metric(k, v) for k, v in figures.metrics.items()})
        if "park" in kinds:
            for metric_id in [m for m in records if m.startswith("park_")]:
                del records[metric_id]
            if parks is None:
                parks = park_figures(study, self.index, self.config.snap_m())
            records.update(park_metrics(parks, study, self.config.snap_m()))
        pop = study.population
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            records.update(completeness_stage(access, pop.population, pop.source).metrics)
        return records, parks
