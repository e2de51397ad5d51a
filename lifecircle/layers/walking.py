"""How people walk in a run: slopes from a DEM and gated residential compounds (issue 19).

A :class:`WalkCost` holds the directed cost graph the engine searches instead of the flat walk
graph, and what the scorecard says about it. It is built once per study by
:func:`walk_cost` from ``--dem``, ``--compounds`` and ``--gates``; without them a study has no
cost and every search runs on the flat network exactly as before.

Directions: ``graph[a, b]`` is the cost of walking a -> b from home toward the facility; the
engine searches its transpose from the facilities (see
:func:`lifecircle.coverage.engine.nearest_facility`).
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse

from lifecircle.coverage.engine import (
    FacilityAccess,
    Nearest,
    NodeIndex,
    Snap,
    at_points,
    nearest_facility,
)
from lifecircle.errors import InputError
from lifecircle.layers.compounds import CompoundGraph, compound_graph, compound_report
from lifecircle.layers.dem import (
    SlopeCosts,
    edge_profiles,
    read_dem_window,
    steps_edges,
    steps_lines_from_ways,
    tobler_graph,
)
from lifecircle.layers.network import WalkNetwork

#: values of a compounds file's ``gated`` column read as "not gated" (anything else, or an
#: empty value, is gated: the column marks the exceptions)
_OPEN_WORDS = {"0", "no", "n", "false", "f", "open", "否"}


@dataclass(frozen=True)
class CompoundInputs:
    """The compound layers a cost was built from (network CRS), kept to rebuild it with a new
    gate (scenario ``gate``)."""

    polygons: np.ndarray
    gated: np.ndarray
    gates: np.ndarray
    ids: np.ndarray
    names: np.ndarray
    source: str
    private: bool


@dataclass(frozen=True)
class WalkCost:
    """The walking cost of a study when it is not flat network distance.

    Attributes
    ----------
    graph : forward directed csr_matrix the engine searches (N x N; N > network nodes when
        compounds add entered copies of their interior nodes)
    n_network_nodes : nodes of the walk network (the first of ``graph``'s nodes)
    slope : Tobler costs from the DEM (None without ``--dem``)
    compounds : the gated-compound graph (None without ``--compounds``)
    inputs : the compound layers (None without ``--compounds``)
    dem_source, dem_resolution_m, dem_units : the DEM read
    missing_share : share of the network's edges without elevation (treated as flat)
    messages : the input warnings issued while building it
    """

    graph: sparse.csr_matrix
    n_network_nodes: int
    slope: SlopeCosts | None = None
    compounds: CompoundGraph | None = None
    inputs: CompoundInputs | None = None
    dem_source: str | None = None
    dem_resolution_m: float | None = None
    dem_units: str | None = None
    missing_share: float = 0.0
    messages: tuple[str, ...] = ()

    @property
    def open_graph(self) -> sparse.csr_matrix | None:
        """The cost graph without compounds (the slope graph, or None: the flat network)."""
        return None if self.slope is None else self.slope.graph

    def snap(self, index: NodeIndex, x: np.ndarray, y: np.ndarray, max_snap_m: float) -> Snap:
        """Snap population cells: into their compound's interior when inside one."""
        if self.compounds is not None:
            return self.compounds.snap(x, y, max_snap_m)
        return index.snap(x, y, max_snap_m)

    def facility_access(self, index: NodeIndex, geometries: np.ndarray,
                        max_snap_m: float) -> FacilityAccess:
        """Facilities' access points on :attr:`graph` (through gates into compounds)."""
        geometries = np.asarray(geometries, dtype=object)
        access = index.facility_access(geometries, max_snap_m)
        if self.compounds is None:
            return access
        return self.compounds.facility_access(access, geometries, max_snap_m,
                                              private=self.inputs.private)

    def at_cells(self, nearest: Nearest, cells: Snap) -> Nearest:
        """Per snapped cell, its node's distance plus the cell's access distance."""
        if self.compounds is not None:
            return self.compounds.at_cells(nearest, cells)
        return at_points(nearest, cells)

    def edge_rates(self, network: WalkNetwork) -> tuple[np.ndarray, np.ndarray]:
        """Per edge of ``network``, the cost per metre of walking it u -> v and v -> u, for
        cutting service circles in cost (:func:`lifecircle.coverage.circles.reached_segments`).

        Slopes give each direction its own cost; an edge the compound graph does not carry
        between network nodes in a direction (a wall without a gate) costs inf that way. Edges
        are costed uniformly along their length (a bent profile is cut at its mean rate).
        """
        edges = network.edges
        u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
        length = edges["length"].to_numpy(dtype=np.float64)
        forward = length.copy() if self.slope is None else self.slope.forward.copy()
        backward = length.copy() if self.slope is None else self.slope.backward.copy()
        if self.compounds is not None:
            forward[np.asarray(self.graph[u, v]).ravel() <= 0] = np.inf
            backward[np.asarray(self.graph[v, u]).ravel() <= 0] = np.inf
        with np.errstate(invalid="ignore", divide="ignore"):
            flat = length <= 0  # coincident nodes: nothing to cut
            return (np.where(flat, 1.0, forward / length), np.where(flat, 1.0, backward / length))

    def method(self) -> str:
        """One line for the scorecard: the distance every metric measures."""
        parts = []
        if self.slope is not None:
            parts.append(f"Tobler flat-equivalent distance from DEM {Path(self.dem_source).name} "
                         f"({self.dem_resolution_m:.0f} m)")
        if self.compounds is not None:
            parts.append(f"gated compounds: {int(self.compounds.gated.sum())}, gates "
                         f"{int(self.compounds.n_gates.sum())}")
        return "; ".join(parts)

    def describe(self) -> dict:
        """The scorecard's ``walking`` section."""
        out: dict = {"method": self.method()}
        if self.slope is not None:
            out["dem"] = {"file": Path(self.dem_source).name,
                          "resolution_m": self.dem_resolution_m, "units": self.dem_units,
                          "edges_without_elevation_share": self.missing_share,
                          "formula": "length x v(0)/v(s), v(s) = 6 exp(-3.5 |s + 0.05|) km/h "
                                     "(Tobler 1993), s the grade walking home -> facility"}
        if self.compounds is not None:
            cg = self.compounds
            out["compounds"] = {"file": self.inputs.source, "count": int(cg.polygons.size),
                                "gated": int(cg.gated.sum()), "gates": int(cg.n_gates.sum()),
                                "facilities": "private" if self.inputs.private else "public"}
        out["warnings"] = list(self.messages)
        return out


def walking_section(cost: WalkCost | None, config=None) -> dict:
    """The scorecard's ``walking`` section (flat network distance without a cost); with a
    :class:`~lifecircle.config.RunConfig`, its ``minutes``: the speed and conversion that turned
    minutes into metres, and the thresholds given in minutes."""
    out = {"method": "flat network distance"} if cost is None else cost.describe()
    if config is not None:
        out["minutes"] = config.minutes_section()
    return out


def walk_cost(network: WalkNetwork, *, dem: str | Path | None = None,
              dem_units: str | None = None, extract=None,
              compounds: gpd.GeoDataFrame | None = None,
              gates: gpd.GeoDataFrame | None = None, compounds_source: str = "compounds",
              private: bool = False) -> WalkCost | None:
    """Build the walking cost of a network (None when neither a DEM nor compounds are given).

    Parameters
    ----------
    network : the walk network
    dem : DEM raster; ``dem_units`` its vertical unit when the file declares none
    extract : the OSM extract (``highway=steps`` ways get the steps penalty)
    compounds : compound polygons in the network CRS (optional ``gated``, ``id``, ``name``)
    gates : gate points in the network CRS
    compounds_source : the compounds file's name, for messages
    private : facilities inside compounds serve only their residents

    Raises
    ------
    InputError
        A DEM that does not cover the network, overlapping compounds, non-polygon compounds,
        gates without compounds.
    """
    if dem is None and compounds is None:
        if gates is not None:
            raise InputError("--gates", "gates need --compounds (the compounds they open)")
        return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        slope = profiles = resolution = units = None
        if dem is not None:
            window = read_dem_window(dem, network.extent().bounds, network.crs,
                                     units={"m": "metre"}.get(dem_units, dem_units))
            profiles = edge_profiles(network, window)
            steps = (steps_edges(network, steps_lines_from_ways(extract.walk, network.crs))
                     if extract is not None else None)
            slope = tobler_graph(network, profiles, steps_mask=steps)
            resolution, units = window.resolution_m, window.units
        inputs = cg = None
        if compounds is not None:
            inputs = _compound_inputs(compounds, gates, compounds_source, private)
            cg = _build(network, inputs, slope)
    # input warnings are kept for the scorecard; all are issued again outside the recorder
    # (a library's deprecation notice keeps its category, so the usual filters apply)
    messages = tuple(str(w.message) for w in caught if w.category is UserWarning)
    for item in caught:
        warnings.warn(str(item.message), item.category, stacklevel=2)
    graph = cg.graph if cg is not None else slope.graph
    return WalkCost(graph=graph, n_network_nodes=network.n_nodes, slope=slope, compounds=cg,
                    inputs=inputs, dem_source=None if dem is None else str(dem),
                    dem_resolution_m=resolution, dem_units=units,
                    missing_share=0.0 if profiles is None else profiles.missing_share,
                    messages=messages)


def _build(network: WalkNetwork, inputs: CompoundInputs,
           slope: SlopeCosts | None) -> CompoundGraph:
    return compound_graph(network, inputs.polygons, inputs.gates, inputs.gated,
                          cost_graph=None if slope is None else slope.graph,
                          source=inputs.source)


def _compound_inputs(compounds: gpd.GeoDataFrame, gates: gpd.GeoDataFrame | None, source: str,
                     private: bool) -> CompoundInputs:
    polygons = compounds.geometry.to_numpy()
    if "gated" in compounds:
        words = compounds["gated"].astype(str).str.strip().str.lower()
        gated = ~words.isin(_OPEN_WORDS).to_numpy() | compounds["gated"].isna().to_numpy()
    else:
        gated = np.ones(len(compounds), dtype=bool)
    points = np.empty(0, dtype=object) if gates is None else gates.geometry.to_numpy()
    if points.size and not (shapely.get_type_id(points) == 0).all():
        raise InputError("--gates", "every gate must be a point")
    ids = (compounds["id"].astype(str).to_numpy() if "id" in compounds
           else np.arange(len(compounds)).astype(str))
    names = (compounds["name"].astype(str).to_numpy() if "name" in compounds
             else np.full(len(compounds), "", dtype=object))
    return CompoundInputs(polygons=polygons, gated=gated, gates=points, ids=ids, names=names,
                          source=source, private=private)


def with_gate(cost: WalkCost | None, network: WalkNetwork, compound: str, x: float, y: float,
              label: str = "gate") -> WalkCost:
    """The cost with one more gate on a compound's wall (a scenario's ``gate``).

    The point (network CRS) is moved to the nearest point of the compound's wall.

    Raises
    ------
    InputError
        The study has no compounds, or no compound has that id, name or row number.
    """
    if cost is None or cost.inputs is None:
        raise InputError(label, "a gate needs the study's compounds (--compounds FILE)")
    inputs = cost.inputs
    match = (inputs.ids == str(compound)) | (inputs.names == str(compound))
    if not match.any() and str(compound).isdigit() and int(compound) < inputs.polygons.size:
        match = np.arange(inputs.polygons.size) == int(compound)
    if not match.any():
        raise InputError(label, f"no compound has id or name {compound!r}")
    wall = shapely.boundary(inputs.polygons[np.flatnonzero(match)[0]])
    point = shapely.line_interpolate_point(wall, shapely.line_locate_point(
        wall, shapely.Point(x, y)))
    new = dataclasses.replace(inputs, gates=np.append(inputs.gates, point).astype(object))
    cg = _build(network, new, cost.slope)
    return dataclasses.replace(cost, graph=cg.graph, compounds=cg, inputs=new)


def compounds_layer(cost: WalkCost, index: NodeIndex, facilities: gpd.GeoDataFrame,
                    x: np.ndarray, y: np.ndarray, population: np.ndarray,
                    gated_m: dict[str, np.ndarray], max_snap_m: float,
                    limit_m: dict[str, float], crs) -> gpd.GeoDataFrame:
    """The per-compound report (population, gates, each kind's distance growth against the
    open case) as a layer of compound polygons.

    The open case is the same walk (with slopes when a DEM is given) without compounds: one more
    multi-source search per kind.
    """
    cells = index.snap(x, y, max_snap_m)
    kinds = facilities["kind"].to_numpy()
    geometries = facilities.geometry.to_numpy()
    open_m = {}
    for kind in gated_m:
        access = index.facility_access(geometries[kinds == kind], max_snap_m)
        nodes = nearest_facility(index.network, access, limit_m=limit_m[kind],
                                 cost_graph=cost.open_graph)
        open_m[kind] = at_points(nodes, cells).distance_m
    table = compound_report(cost.compounds, x, y, population, open_m, gated_m)
    table.insert(0, "name", cost.inputs.names)
    table.insert(0, "id", cost.inputs.ids)
    return gpd.GeoDataFrame(pd.DataFrame(table).reset_index(drop=True),
                            geometry=list(cost.compounds.polygons), crs=crs)
