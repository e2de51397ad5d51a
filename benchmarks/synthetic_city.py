"""A SYNTHETIC OSM city, written as ``.osm.pbf`` with pyosmium, for whole-run scale benchmarks.

Nothing here is real data. The city is built like central Chengdu: a jittered street grid
(primary roads every fifth line, residential streets between, mid-block footways), with schools,
kindergartens, clinics, hospitals, elderly care, parks (polygons of several sizes), markets,
sports grounds, residential land blocks and buildings. At scale 1 it has about 22,000 walk nodes
after the 50 m densification (central Chengdu: 21,822) and 202 facilities; both grow linearly
with the scale factor (the grid's side grows with its square root).

Usage: ``python benchmarks/synthetic_city.py SCALE OUT.osm.pbf`` (deterministic for a seed).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import osmium
from osmium.osm.mutable import Node, Way

#: the SYNTHETIC city's south-west corner (central Chengdu's, so the UTM zone and region match)
ORIGIN_LON, ORIGIN_LAT = 104.02, 30.62
#: metres per degree of latitude (spherical approximation, good enough for a synthetic layout)
M_PER_DEG = 111_320.0
#: assumption: 200 m blocks (central Chengdu's typical block); with 50 m densification and the
#: diagonal footways this gives about 7.5 walk nodes per intersection
BLOCK_M = 200.0
#: grid lines per side at scale 1 (49 x 49 intersections, about 22k densified nodes)
SIDE_AT_1 = 49
#: facilities per kind at scale 1 (202 in all, central Chengdu's order of magnitude)
FACILITIES_AT_1 = {
    "primary": 25, "middle": 25, "kindergarten": 20, "clinic": 30, "hospital": 10,
    "elderly": 7, "park": 40, "market": 25, "sports": 20,
}
_POINT_TAGS = {
    "kindergarten": ({"amenity": "kindergarten"}, "幼儿园"),
    "clinic": ({"amenity": "clinic"}, "社区卫生服务站"),
    "hospital": ({"amenity": "hospital"}, "医院"),
    "elderly": ({"amenity": "nursing_home"}, "日间照料中心"),
    "market": ({"amenity": "marketplace"}, "菜市场"),
    "primary": ({"amenity": "school"}, "小学"),
    "middle": ({"amenity": "school"}, "中学"),
}


class _Writer:
    """Sequential ids and metre-to-degree conversion around the SYNTHETIC city's origin."""

    def __init__(self, path: Path) -> None:
        if path.exists():
            path.unlink()
        self.out = osmium.SimpleWriter(str(path))
        self.next_node = 1
        self.next_way = 1
        self.cos = np.cos(np.radians(ORIGIN_LAT))

    def nodes(self, x: np.ndarray, y: np.ndarray, tags: list[dict] | None = None) -> np.ndarray:
        """Write nodes at metre coordinates; return their ids."""
        lon = ORIGIN_LON + np.asarray(x) / (M_PER_DEG * self.cos)
        lat = ORIGIN_LAT + np.asarray(y) / M_PER_DEG
        ids = np.arange(self.next_node, self.next_node + lon.size)
        for i, (a, b) in enumerate(zip(lon.tolist(), lat.tolist(), strict=True)):
            self.out.add_node(Node(id=int(ids[i]), location=(a, b),
                                   tags=tags[i] if tags else {}))
        self.next_node += lon.size
        return ids

    def way(self, refs: list[int], tags: dict) -> None:
        """Write one way."""
        self.out.add_way(Way(id=self.next_way, nodes=refs, tags=tags))
        self.next_way += 1

    def close(self) -> None:
        self.out.close()


def _ring(w: _Writer, cx: np.ndarray, cy: np.ndarray, hx: np.ndarray, hy: np.ndarray,
          tags: list[dict]) -> None:
    """Closed rectangular ways (areas) centred at (cx, cy) with half-sides (hx, hy)."""
    xs = np.column_stack([cx - hx, cx + hx, cx + hx, cx - hx]).ravel()
    ys = np.column_stack([cy - hy, cy - hy, cy + hy, cy + hy]).ravel()
    ids = w.nodes(xs, ys).reshape(-1, 4)
    for row, tag in zip(ids.tolist(), tags, strict=True):
        w.way([*row, row[0]], tag)


def write_city(scale: float, path: str | Path, seed: int = 0) -> dict[str, int]:
    """Write a SYNTHETIC city at ``scale`` times central Chengdu's size to ``path`` (.osm.pbf).

    Parameters
    ----------
    scale : size factor (1: about 22k walk nodes, 202 facilities)
    path : output file (replaced)
    seed : random seed (same seed and scale, same file)

    Returns
    -------
    dict of counts (intersections, street ways, facilities, residential blocks, buildings)
    """
    rng = np.random.default_rng(seed)
    path = Path(path)
    side = max(int(round(SIDE_AT_1 * np.sqrt(scale))), 4)
    w = _Writer(path)
    # --- nodes: the jittered intersections, then every area's corners and the point facilities
    col, row = np.meshgrid(np.arange(side), np.arange(side))
    gx = col.ravel() * BLOCK_M + rng.uniform(-20.0, 20.0, side * side)
    gy = row.ravel() * BLOCK_M + rng.uniform(-20.0, 20.0, side * side)
    grid = w.nodes(gx, gy).reshape(side, side)
    # footways: a diagonal path through a share of the blocks, corner to corner
    n_blocks = (side - 1) ** 2
    bc, br = np.meshgrid(np.arange(side - 1), np.arange(side - 1))
    bc, br = bc.ravel(), br.ravel()
    foot = rng.random(n_blocks) < 0.35
    counts = {"intersections": side * side, "facilities": 0}

    # areas and points first (all nodes must precede the ways in a PBF)
    fx0, fy0 = BLOCK_M * (bc + 0.5), BLOCK_M * (br + 0.5)

    n_fac = {k: max(int(round(v * scale)), 1) for k, v in FACILITIES_AT_1.items()}
    extent = (side - 1) * BLOCK_M
    point_tags, px, py = [], [], []
    for kind, (tags, suffix) in _POINT_TAGS.items():
        k = n_fac[kind]
        px.append(rng.uniform(0, extent, k))
        py.append(rng.uniform(0, extent, k))
        point_tags += [{**tags, "name": f"SYNTHETIC第{i + 1}{suffix}"} for i in range(k)]
    w.nodes(np.concatenate(px), np.concatenate(py), point_tags)
    counts["facilities"] += len(point_tags)
    # parks: polygons from 1,000 m² to 8 ha (the GB/T 50563 tiers all appear)
    k = n_fac["park"]
    half = np.sqrt(rng.choice([1_000.0, 3_000.0, 6_000.0, 20_000.0, 80_000.0], k)) / 2
    _ring(w, rng.uniform(0, extent, k), rng.uniform(0, extent, k), half, half,
          [{"leisure": "park", "name": f"SYNTHETIC第{i + 1}公园"} for i in range(k)])
    # sports grounds: pitches of 30 x 60 m
    k = n_fac["sports"]
    _ring(w, rng.uniform(0, extent, k), rng.uniform(0, extent, k), np.full(k, 15.0),
          np.full(k, 30.0), [{"leisure": "pitch", "name": f"SYNTHETIC第{i + 1}运动场"}
                             for i in range(k)])
    counts["facilities"] += n_fac["park"] + n_fac["sports"]
    # residential land: 70 % of the blocks, inset from the streets; two buildings in each
    res = rng.random(n_blocks) < 0.7
    rx, ry = fx0[res], fy0[res]
    _ring(w, rx, ry, np.full(rx.size, 80.0), np.full(rx.size, 80.0),
          [{"landuse": "residential"}] * rx.size)
    for dx in (-40.0, 40.0):
        _ring(w, rx + dx, ry, np.full(rx.size, 20.0), np.full(rx.size, 50.0),
              [{"building": "apartments"}] * rx.size)
    counts["residential_blocks"] = int(rx.size)
    counts["buildings"] = int(2 * rx.size)

    # --- ways: streets along the grid lines, split at every intersection; 8 % of the residential
    # segments missing (dead ends and irregular blocks)
    def street(i: int) -> dict:
        return {"highway": "primary" if i % 5 == 0 else "residential"}

    n_ways = 0
    for i in range(side):
        for j in range(side - 1):
            for a, b in ((grid[i, j], grid[i, j + 1]), (grid[j, i], grid[j + 1, i])):
                tags = street(i)
                if tags["highway"] == "residential" and rng.random() < 0.08:
                    continue
                w.way([int(a), int(b)], tags)
                n_ways += 1
    for r, c in zip(br[foot].tolist(), bc[foot].tolist(), strict=True):
        w.way([int(grid[r, c]), int(grid[r + 1, c + 1])], {"highway": "footway"})
    counts["street_ways"] = n_ways
    counts["footways"] = int(foot.sum())
    w.close()
    return counts


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python benchmarks/synthetic_city.py SCALE OUT.osm.pbf")
    print(write_city(float(sys.argv[1]), sys.argv[2]))
