"""SYNTHETIC inputs for benchmarks and tests: jittered square road grids, random population cells
and random facilities of every kind.

Nothing here is real data. A grid of ``side x side`` nodes at ``spacing_m`` (100 m) is jittered
and loses a share of its edges at random, so that blocks, dead ends and a few detached pieces
appear; it is built with :func:`lifecircle.layers.network._assemble` with a densification step
longer than any edge, so the network has exactly the grid's nodes.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from lifecircle.layers.network import WalkNetwork, _assemble

#: UTM 48N (Chengdu's zone): any projected metric CRS would do
SYNTHETIC_CRS = CRS.from_epsg(32648)
#: origin of the grid in :data:`SYNTHETIC_CRS`, metres
ORIGIN = (400_000.0, 3_380_000.0)
#: longer than any jittered edge: no node is inserted by densification
NO_DENSIFY_M = 1e9


@dataclass(frozen=True)
class Population:
    """SYNTHETIC population cells: centre coordinates and weights.

    Attributes
    ----------
    x, y : cell centres in :data:`SYNTHETIC_CRS`, metres
    population : weight per cell
    """

    x: np.ndarray
    y: np.ndarray
    population: np.ndarray

    @property
    def n_cells(self) -> int:
        """Number of cells."""
        return int(self.x.size)


def grid_network(n_nodes: int, spacing_m: float = 100.0, jitter_m: float = 15.0,
                 drop_share: float = 0.1, seed: int = 0) -> WalkNetwork:
    """A SYNTHETIC jittered square road grid of about ``n_nodes`` nodes.

    Parameters
    ----------
    n_nodes : target node count; the grid has ``round(sqrt(n_nodes))**2`` nodes
    spacing_m : distance between neighbouring grid nodes before jitter
    jitter_m : each node moves by up to this much in x and in y (uniform)
    drop_share : share of the grid's edges removed at random
    seed : random seed

    Returns
    -------
    WalkNetwork
        Built by ``_assemble`` without densification: node ``i`` is grid node ``i``.
    """
    rng = np.random.default_rng(seed)
    side = max(int(round(np.sqrt(n_nodes))), 2)
    col, row = np.meshgrid(np.arange(side), np.arange(side))
    col, row = col.ravel(), row.ravel()
    x = ORIGIN[0] + col * spacing_m + rng.uniform(-jitter_m, jitter_m, col.size)
    y = ORIGIN[1] + row * spacing_m + rng.uniform(-jitter_m, jitter_m, col.size)
    index = np.arange(col.size).reshape(side, side)
    u = np.concatenate([index[:, :-1].ravel(), index[:-1, :].ravel()])
    v = np.concatenate([index[:, 1:].ravel(), index[1:, :].ravel()])
    keep = rng.random(u.size) >= drop_share
    return _assemble(np.arange(col.size, dtype=np.int64), x, y, u[keep], v[keep],
                     SYNTHETIC_CRS, NO_DENSIFY_M)


def random_population(network: WalkNetwork, n_cells: int, seed: int = 1) -> Population:
    """SYNTHETIC population: ``n_cells`` uniform random points in the network's bounding box,
    with random weights (exponential, mean 50).

    Parameters
    ----------
    network : the grid the cells fall in
    n_cells : number of cells
    seed : random seed
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(network.x.min(), network.x.max(), n_cells)
    y = rng.uniform(network.y.min(), network.y.max(), n_cells)
    return Population(x=x, y=y, population=rng.exponential(50.0, n_cells))


def random_facilities(network: WalkNetwork, kinds: list[str], nodes_per_facility: int = 2000,
                      polygon_kinds: tuple[str, ...] = ("park", "sports"),
                      seed: int = 2) -> gpd.GeoDataFrame:
    """SYNTHETIC facilities: for every kind, one per ``nodes_per_facility`` nodes (at least one)
    at uniform random places in the bounding box; kinds in ``polygon_kinds`` are squares of
    40-300 m a side (polygon facilities reach the network at several nodes), the others points.

    Parameters
    ----------
    network : the grid the facilities fall in
    kinds : facility kinds, e.g. ``lifecircle.seeds.kind_names()``
    nodes_per_facility : network nodes per facility of each kind
    polygon_kinds : kinds given as polygons
    seed : random seed

    Returns
    -------
    GeoDataFrame
        Columns ``fid``, ``kind`` and geometry, in the network CRS.
    """
    rng = np.random.default_rng(seed)
    per_kind = max(network.n_nodes // nodes_per_facility, 1)
    frames = []
    for kind in kinds:
        x = rng.uniform(network.x.min(), network.x.max(), per_kind)
        y = rng.uniform(network.y.min(), network.y.max(), per_kind)
        if kind in polygon_kinds:
            half = rng.uniform(20.0, 150.0, per_kind)
            geometry = shapely.box(x - half, y - half, x + half, y + half)
        else:
            geometry = shapely.points(x, y)
        frames.append((kind, geometry))
    return _facility_frame(frames, network)


def facilities_on_nodes(network: WalkNetwork, kinds: list[str], per_kind: int,
                        polygon_kinds: tuple[str, ...] = ("park",),
                        seed: int = 3) -> gpd.GeoDataFrame:
    """SYNTHETIC facilities whose every access point has a zero access distance.

    Points stand exactly on nodes of the largest component; polygons (``polygon_kinds``) are
    250 m squares centred on such nodes, so every access node lies inside or within 20 m. With
    no straight-line offset to add, a bare Dijkstra from the access nodes, a networkx search
    and lifecircle's virtual-node pass must agree exactly.

    Parameters
    ----------
    network : the grid
    kinds : facility kinds
    per_kind : facilities of each kind
    polygon_kinds : kinds given as polygons
    seed : random seed
    """
    rng = np.random.default_rng(seed)
    candidates = np.flatnonzero(network.in_largest)
    frames = []
    for kind in kinds:
        node = rng.choice(candidates, size=per_kind, replace=False)
        x, y = network.x[node], network.y[node]
        geometry = (shapely.box(x - 125.0, y - 125.0, x + 125.0, y + 125.0)
                    if kind in polygon_kinds else shapely.points(x, y))
        frames.append((kind, geometry))
    return _facility_frame(frames, network)


def _facility_frame(frames: list[tuple[str, np.ndarray]],
                    network: WalkNetwork) -> gpd.GeoDataFrame:
    kind = np.concatenate([np.full(g.size, k, dtype=object) for k, g in frames])
    fid = np.array([f"synthetic/{k}/{i}" for k, g in frames for i in range(g.size)], dtype=object)
    return gpd.GeoDataFrame({"fid": fid, "kind": kind},
                            geometry=np.concatenate([g for _, g in frames]), crs=network.crs)
