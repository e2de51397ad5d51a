"""The SYNTHETIC OSM city of benchmarks/synthetic_city.py reads as a city: walk network,
facilities of every kind it writes, residential land; same seed, same city."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from synthetic_city import FACILITIES_AT_1, write_city  # noqa: E402


def test_small_synthetic_city_reads_back(tmp_path):
    from lifecircle.layers.facilities import facilities_from_osm
    from lifecircle.layers.network import network_from_extract
    from lifecircle.layers.osm import read_osm

    scale = 0.1
    a, b = tmp_path / "SYNTHETIC_a.osm.pbf", tmp_path / "SYNTHETIC_b.osm.pbf"
    counts = write_city(scale, a)
    write_city(scale, b)
    extract = read_osm(a)
    network = network_from_extract(extract)
    facilities, _ = facilities_from_osm(extract.features, network.crs)
    wanted = sum(max(int(round(v * scale)), 1) for v in FACILITIES_AT_1.values())
    assert counts["facilities"] == wanted
    # scale 1 is about 22k densified nodes; the node count follows the grid's area
    side = round(49 * np.sqrt(scale))
    assert 0.6 * 22_000 * (side / 49) ** 2 < network.n_nodes < 1.4 * 22_000 * (side / 49) ** 2
    kinds = set(facilities["kind"])
    assert {"kindergarten", "primary_school", "middle_school", "health_station", "hospital",
            "park", "market", "sports"} <= kinds
    again = read_osm(b)
    assert network_from_extract(again).n_nodes == network.n_nodes
