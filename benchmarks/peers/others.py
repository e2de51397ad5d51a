"""pandana and cityseer, configured as their documentation says, on the same graph.

Both start at the access node: neither can carry a facility's straight-line offset to its node.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np

from lifecircle.layers.network import WalkNetwork

from .problem import Problem, cell_shares, prepare


def pandana_network(network: WalkNetwork) -> Any:
    """A ``pandana.Network`` of the same nodes, edges and lengths (building it computes the
    contraction hierarchies).

    Parameters
    ----------
    network : the walk network

    Returns
    -------
    pandana.Network
        Node ids ``0..n-1`` are the network's node indices; edges are two-way.
    """
    import pandana
    import pandas as pd

    nodes = pd.RangeIndex(network.n_nodes)
    edges = network.edges
    return pandana.Network(
        pd.Series(network.x, index=nodes), pd.Series(network.y, index=nodes),
        edges["u"].to_numpy(), edges["v"].to_numpy(), edges[["length"]], twoway=True,
    )


def pandana_recipe(problem: Problem, net: Any, bound: str = "threshold") -> dict[str, float]:
    """pandana's recipe: POIs at the access nodes (``set_pois`` maps each to its nearest node),
    then ``nearest_pois`` within the bound for every node.

    Parameters
    ----------
    problem : the coverage question
    net : from :func:`pandana_network`
    bound : ``"threshold"`` (as its docs' examples do) or ``"cap"`` (lifecircle's bound)

    Returns
    -------
    dict
        Population share within the threshold, per kind.
    """
    import pandas as pd

    prepared = prepare(problem)
    node_distance = {}
    for kind, threshold in problem.thresholds_m.items():
        nodes = prepared.sources(kind)
        reach = problem.bound(threshold, bound)
        net.set_pois(category=kind, maxdist=reach, maxitems=1,
                     x_col=pd.Series(problem.network.x[nodes]),
                     y_col=pd.Series(problem.network.y[nodes]))
        nearest = net.nearest_pois(reach, kind, num_pois=1, max_distance=np.inf)
        node_distance[kind] = nearest[1].to_numpy(dtype=np.float64)
    return cell_shares(problem, prepared.cells, node_distance)


# -- 4. cityseer ---------------------------------------------------------------------------------

def cityseer_structure(network: WalkNetwork) -> Any:
    """A cityseer ``NetworkStructure`` of the same nodes and straight edges, one each way, built
    the way ``cityseer.tools.io.network_structure_from_gpd`` builds one.

    Parameters
    ----------
    network : the walk network

    Returns
    -------
    cityseer.rustalgos.graph.NetworkStructure
        Node keys are ``str(i)`` for network node ``i``.
    """
    import shapely
    from cityseer import rustalgos

    structure = rustalgos.graph.NetworkStructure()
    for i, (x, y) in enumerate(zip(network.x.tolist(), network.y.tolist(), strict=True)):
        structure.add_street_node(str(i), x, y, True, 1.0)
    geometry = network.edges.geometry.values
    forward = shapely.to_wkt(geometry, rounding_precision=-1).tolist()
    backward = shapely.to_wkt(shapely.reverse(geometry), rounding_precision=-1).tolist()
    u, v = network.edges["u"].tolist(), network.edges["v"].tolist()
    for a, b, fw, bw in zip(u, v, forward, backward, strict=True):
        structure.add_street_edge(a, b, 0, str(a), str(b), fw, 1.0)
        structure.add_street_edge(b, a, 0, str(b), str(a), bw, 1.0)
    structure.validate()
    structure.build_edge_rtree()
    return structure


def cityseer_recipe(problem: Problem, structure: Any, bound: str = "threshold"
                    ) -> dict[str, float]:
    """cityseer's recipe: data points at the access nodes, labelled by kind, and one
    ``layers.compute_accessibilities`` call for all kinds up to the largest bound; its
    ``cc_<kind>_nearest_max_<d>`` columns give the nearest distance per node.

    Parameters
    ----------
    problem : the coverage question
    structure : from :func:`cityseer_structure`
    bound : ``"threshold"`` (the largest threshold) or ``"cap"`` (lifecircle's bound)

    Returns
    -------
    dict
        Population share within the threshold, per kind.
    """
    import shapely
    from cityseer.metrics import layers

    prepared = prepare(problem)
    net = problem.network
    kinds = list(problem.thresholds_m)
    sources = [prepared.sources(kind) for kind in kinds]
    nodes = np.concatenate(sources)
    data = gpd.GeoDataFrame(
        {"kind": np.repeat(np.array(kinds, dtype=object), [s.size for s in sources])},
        geometry=shapely.points(net.x[nodes], net.y[nodes]), crs=net.crs,
    )
    keys = np.arange(net.n_nodes).astype(str)
    nodes_gdf = gpd.GeoDataFrame({"x": net.x, "y": net.y, "live": True, "weight": 1.0},
                                 geometry=shapely.points(net.x, net.y), index=keys, crs=net.crs)
    reach = int(np.ceil(max(problem.bound(t, bound) for t in problem.thresholds_m.values())))
    out = layers.compute_accessibilities(
        data, landuse_column_label="kind", accessibility_keys=kinds, nodes_gdf=nodes_gdf,
        network_structure=structure, distances=[reach], decay_fn="1",
    )
    node_distance = {}
    for kind in kinds:
        column = out[f"cc_{kind}_nearest_max_{reach}"].to_numpy(dtype=np.float64)
        node_distance[kind] = np.where(np.isfinite(column), column, np.inf)
    return cell_shares(problem, prepared.cells, node_distance)


# -- measuring -----------------------------------------------------------------------------------
