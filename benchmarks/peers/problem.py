"""The coverage question every peer answers, and lifecircle's snapping shared by all of them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np

from lifecircle.coverage.engine import FacilityAccess, NodeIndex, Snap, coverage_share
from lifecircle.layers.network import WalkNetwork
from lifecircle.seeds import kind_names, load_standards

REPO = Path(__file__).resolve().parents[2]
CHENGDU = REPO.parent / "shared" / "data" / "chengdu-central" / "chengdu_central.osm.pbf"


@dataclass(frozen=True)
class Problem:
    """One coverage question: a network, facilities and weighted cells.

    Attributes
    ----------
    network : the walk network
    facilities : facilities table with ``fid``, ``kind`` and geometry, in the network CRS
    x, y : population cell centres, network CRS
    population : weight per cell
    thresholds_m : walking threshold per kind, for the kinds that have facilities
    missing_kinds : kinds without any facility (skipped, as ``lifecircle.run`` does)
    max_snap_m : snapping distance of cells and facilities
    limit_m : Dijkstra bound of lifecircle and of the floor (distances beyond are inf)
    """

    network: WalkNetwork
    facilities: gpd.GeoDataFrame
    x: np.ndarray
    y: np.ndarray
    population: np.ndarray
    thresholds_m: dict[str, float]
    missing_kinds: list[str]
    max_snap_m: float
    limit_m: float

    def bound(self, threshold: float, bound: str) -> float:
        """Search bound of a kind: ``"cap"`` is lifecircle's (the distance cap, or the
        threshold if larger), ``"threshold"`` stops at the kind's threshold."""
        if bound == "threshold":
            return threshold
        if bound == "cap":
            return max(self.limit_m, threshold)
        raise ValueError(f"bound must be 'cap' or 'threshold', not {bound!r}")


@dataclass(frozen=True)
class Prepared:
    """lifecircle's snapping, shared by the peers so that they all see the same nodes.

    Attributes
    ----------
    cells : population cells snapped to the network
    access : per kind, the facilities' access points (node and straight-line offset)
    """

    cells: Snap
    access: dict[str, FacilityAccess]

    def sources(self, kind: str) -> np.ndarray:
        """Distinct access nodes of a kind (where the peers start their searches)."""
        return np.unique(self.access[kind].node)


def make_problem(network: WalkNetwork, facilities: gpd.GeoDataFrame, x: np.ndarray,
                 y: np.ndarray, population: np.ndarray,
                 kinds: list[str] | None = None) -> Problem:
    """A :class:`Problem` with thresholds, snapping distance and bound from standards.yaml.

    Parameters
    ----------
    network, facilities : the walk network and the facilities table (``kind``, ``fid``)
    x, y, population : population cells
    kinds : kinds to measure (default: every kind of standards.yaml); kinds without a facility
        are listed in ``missing_kinds`` and skipped

    Returns
    -------
    Problem
    """
    standards = load_standards()
    present = set(facilities["kind"].astype(str))
    kinds = kinds or kind_names()
    return Problem(
        network=network, facilities=facilities, x=np.asarray(x), y=np.asarray(y),
        population=np.asarray(population, dtype=np.float64),
        thresholds_m={k: float(standards["kinds"][k]["threshold_m"]) for k in kinds
                      if k in present},
        missing_kinds=[k for k in kinds if k not in present],
        max_snap_m=float(standards["snapping"]["max_snap_m"]),
        limit_m=float(standards["snapping"]["distance_cap_m"]),
    )


def prepare(problem: Problem) -> Prepared:
    """Snap cells and facilities with lifecircle's ``NodeIndex``, as ``kind_access`` does.

    Parameters
    ----------
    problem : the coverage question

    Returns
    -------
    Prepared
        Snapped cells and per-kind facility access points.
    """
    index = NodeIndex(problem.network)
    cells = index.snap(problem.x, problem.y, problem.max_snap_m)
    kinds = problem.facilities["kind"].to_numpy()
    access = {kind: index.facility_access(problem.facilities.geometry.values[kinds == kind],
                                          problem.max_snap_m)
              for kind in problem.thresholds_m}
    return Prepared(cells=cells, access=access)


def cell_shares(problem: Problem, cells: Snap,
                node_distance: dict[str, np.ndarray]) -> dict[str, float]:
    """Coverage share per kind from per-node distances, as ``at_points`` + ``coverage_share``.

    Parameters
    ----------
    problem : the coverage question (thresholds, population weights)
    cells : snapped cells; a cell's distance is its node's plus its straight-line access, and
        unsnapped cells are never covered
    node_distance : per kind, walking distance per network node (inf where not reached)

    Returns
    -------
    dict
        Population share within the threshold, per kind.
    """
    ok = cells.reachable
    shares = {}
    for kind, threshold in problem.thresholds_m.items():
        distance = np.full(cells.node.size, np.inf)
        distance[ok] = node_distance[kind][cells.node[ok]] + cells.access_m[ok]
        shares[kind] = coverage_share(distance, problem.population, threshold)
    return shares


# -- 1. lifecircle -------------------------------------------------------------------------------


def chengdu_problem() -> Problem:
    """The real central Chengdu network, facilities and modelled population (400 /ha)."""
    from lifecircle.config import RunConfig
    from lifecircle.layers.study import load_study

    study = load_study(RunConfig(osm=CHENGDU, residential_density=400))
    pop = study.population
    return make_problem(study.network, study.facilities, pop.x, pop.y, pop.population)
