"""The walk network from real OSM data (PBF and XML) and its invariants."""

from __future__ import annotations

from types import SimpleNamespace

import networkx as nx
import numpy as np
import osmnx as ox
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecircle.errors import InputError
from lifecircle.layers.network import WalkNetwork, network_from_extract, network_from_graphml
from lifecircle.layers.osm import read_osm
from lifecircle.layers.osm_scan import is_walkable
from lifecircle.seeds import load_standards


def test_walk_filter_is_osmnx_own():
    """The filter in standards.yaml is exactly osmnx's current "walk" filter."""
    assert load_standards()["network"]["walk_filter"] == ox._overpass._get_network_filter("walk")


@pytest.mark.parametrize(
    ("tags", "walkable"),
    [
        ({"highway": "residential"}, True),
        ({"highway": "footway"}, True),
        ({"highway": "motorway"}, False),
        ({"highway": "motorway_link"}, False),
        ({"highway": "cycleway"}, False),
        ({"highway": "service", "service": "private"}, False),
        ({"highway": "primary", "access": "private"}, False),
        ({"highway": "primary", "foot": "no"}, False),
        ({"highway": "trunk"}, True),
        ({"highway": "trunk", "sidewalk": "no"}, False),
        ({"highway": "footway", "area": "yes"}, False),
    ],
)
def test_walk_semantics(tags, walkable):
    assert is_walkable(tags) is walkable


def test_chengdu_network_loads(chengdu_network):
    net = chengdu_network
    assert net.crs.to_epsg() == 32648  # UTM 48N for Chengdu (104.08 E)
    assert 15_000 < net.n_nodes < 40_000
    assert 700 < net.total_length_m / 1000 < 1100  # km of walkable ways
    assert (net.graph != net.graph.T).nnz == 0  # symmetric
    assert net.edges["length"].max() <= load_standards()["snapping"]["densify_m"] + 1e-6
    # edge lengths equal their geometry
    np.testing.assert_allclose(net.edges.geometry.length, net.edges["length"], atol=1e-5)
    assert 0 <= net.outside_largest_share < 0.1


def test_pbf_and_xml_give_the_same_network(chengdu_network, chengdu_xml):
    xml = network_from_extract(read_osm(chengdu_xml))
    assert xml.n_nodes == chengdu_network.n_nodes
    assert xml.total_length_m == pytest.approx(chengdu_network.total_length_m, rel=1e-9)


def test_explicit_crs(chengdu_extract):
    """CGCS2000 / 3-degree Gauss-Kruger CM 105E: lengths agree with UTM 48N (scale < 1e-3)."""
    net = network_from_extract(chengdu_extract, crs="EPSG:4544")
    assert net.crs.to_epsg() == 4544
    utm = network_from_extract(chengdu_extract)
    assert net.total_length_m == pytest.approx(utm.total_length_m, rel=1e-3)


def test_graphml_round_trip(tmp_path, chengdu_network):
    """An osmnx GraphML of a small hand graph keeps its lengths."""
    graph = nx.MultiDiGraph(crs="EPSG:4326")
    graph.add_node(1, x=104.0, y=30.0)
    graph.add_node(2, x=104.001, y=30.0)
    graph.add_node(3, x=104.001, y=30.001)
    for u, v in ((1, 2), (2, 3)):
        graph.add_edge(u, v, key=0, length=1.0)
        graph.add_edge(v, u, key=0, length=1.0)
    path = tmp_path / "g.graphml"
    ox.save_graphml(graph, path)
    net = network_from_graphml(path)
    expected = 96.3 + 110.9  # 0.001° of longitude and latitude at 30° N, metres
    assert net.total_length_m == pytest.approx(expected, rel=5e-3)
    assert net.n_nodes >= 3


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"not an osm file at all", "not a readable OSM file"), (b"", "is empty")],
)
def test_not_osm(tmp_path, content, problem):
    path = tmp_path / "broken.osm"
    path.write_bytes(content)
    with pytest.raises(InputError, match=problem):
        read_osm(path)


def test_osm_without_walkable_ways(tmp_path):
    path = tmp_path / "nowalk.osm"
    path.write_text(
        "<?xml version='1.0' encoding='UTF-8'?><osm version='0.6'>"
        "<node id='1' lat='30.0' lon='104.0'/><node id='2' lat='30.001' lon='104.0'/>"
        "<way id='5'><nd ref='1'/><nd ref='2'/><tag k='highway' v='motorway'/></way></osm>"
    )
    with pytest.raises(InputError, match="no walkable way"):
        read_osm(path)


def test_hull_contains_nodes(chengdu_network):
    hull = chengdu_network.hull()
    inside = shapely.contains_xy(shapely.buffer(hull, 1e-3), chengdu_network.x, chengdu_network.y)
    assert inside.all()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(-50, 50), st.integers(-50, 50)), min_size=2, max_size=40))
def test_the_hull_through_one_line_is_the_hull_of_the_points(points):
    """WalkNetwork.hull builds one line through every node: its hull is the points' hull,
    also for repeated and collinear points (the hull is then a line or a point)."""
    xy = np.asarray(points, dtype=np.float64)
    network = SimpleNamespace(x=xy[:, 0], y=xy[:, 1])
    got = WalkNetwork.hull(network)
    assert got.equals(shapely.convex_hull(shapely.multipoints(xy)))
