"""Loading a study in time proportional to the city (issue 20): each shortcut against an
independent plain computation kept here, on central Chengdu, and on hand-built shapes with
exact answers.

The plain computations are the ones the fast paths replaced: one pyosmium pass handing every
object to Python, one ``shapely.union_all`` of every polygon, every land polygon intersected
with every footprint it meets, every carrier intersected with every cell of its box, and
geopandas' clip of every row.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import pytest
import shapely

from lifecircle.coverage.park_geometry import dissolve_land
from lifecircle.errors import InputError
from lifecircle.layers.landuse import buildings, dissolve, polygon_parts
from lifecircle.layers.osm import read_osm, tag_column
from lifecircle.layers.osm_scan import FEATURE_KEYS, is_walkable, walk_keys
from lifecircle.layers.population import modelled_population
from lifecircle.layers.study import _clip
from tests.bad_input_helpers import _node, _way, _write, _xml
from tests.conftest import CHENGDU_PBF

# --- independent computations -------------------------------------------------------------


def plain_read(path) -> tuple[dict, pd.DataFrame]:
    """Every object through Python, tags tested in Python (the reader before the C++ filters)."""
    wkb = osmium.geom.WKBFactory()
    ways = {"way_ids": [], "node_ref": [], "lon": [], "lat": [], "way_index": []}
    rows = []
    for obj in osmium.FileProcessor(str(path)).with_areas():
        if obj.is_way() and "highway" in obj.tags and is_walkable(dict(obj.tags)):
            nodes = [n for n in obj.nodes if n.location.valid()]
            if len(nodes) < 2:
                continue
            k = len(ways["way_ids"])
            ways["way_ids"].append(obj.id)
            for n in nodes:
                ways["way_index"].append(k)
                ways["node_ref"].append(n.ref)
                ways["lon"].append(n.location.lon)
                ways["lat"].append(n.location.lat)
        elif obj.is_node() and any(key in obj.tags for key in FEATURE_KEYS):
            rows.append(("node", obj.id, dict(obj.tags), wkb.create_point(obj)))
        elif obj.is_area() and any(key in obj.tags for key in FEATURE_KEYS):
            try:
                geom = wkb.create_multipolygon(obj)
            except RuntimeError:
                continue
            rows.append(("way" if obj.from_way() else "relation", obj.orig_id(),
                         dict(obj.tags), geom))
    return ways, pd.DataFrame(rows, columns=["osm_type", "osm_id", "tags", "wkb"])


def plain_dissolve(geoms: gpd.GeoSeries) -> np.ndarray:
    """One union of every polygonal part, split into single polygons."""
    parts = np.asarray(polygon_parts(geoms).values, dtype=object)
    return np.asarray(polygon_parts(gpd.GeoSeries([shapely.union_all(parts)])).values,
                      dtype=object)


def plain_grid(land: np.ndarray, footprint: np.ndarray, total: float, cell: float) -> dict:
    """Modelled population by overlays only: land people by area, handed to the footprint
    pieces in each land polygon, every piece cut by every cell of its box."""
    land_people = total * shapely.area(land) / shapely.area(land).sum()
    li, fi = shapely.STRtree(footprint).query(land, predicate="intersects")
    pieces = shapely.intersection(land[li], footprint[fi])
    area = shapely.area(pieces)
    built = np.bincount(li, weights=area, minlength=land.size)
    carriers = list(pieces[area > 0]) + list(land[built == 0])
    people = list(land_people[li[area > 0]] * area[area > 0] / built[li[area > 0]]) + list(
        land_people[built == 0])
    out: dict[tuple[int, int], float] = {}
    for poly, carried in zip(carriers, people, strict=True):
        x0, y0, x1, y1 = poly.bounds
        cells = [(i, j) for i in range(int(np.floor(x0 / cell)), int(np.ceil(x1 / cell)))
                 for j in range(int(np.floor(y0 / cell)), int(np.ceil(y1 / cell)))]
        cut = [poly.intersection(shapely.box(i * cell, j * cell, (i + 1) * cell,
                                             (j + 1) * cell)).area for i, j in cells]
        for key, part in zip(cells, cut, strict=True):
            if part > 0:
                out[key] = out.get(key, 0.0) + carried * part / sum(cut)
    return out


def sorted_areas(geoms) -> np.ndarray:
    return np.sort(shapely.area(np.asarray(geoms, dtype=object)))


# --- reading the OSM file -----------------------------------------------------------------


def test_filtered_read_equals_every_object_through_python(chengdu_extract):
    ways, rows = plain_read(CHENGDU_PBF)
    walk = chengdu_extract.walk
    for key in ("way_ids", "node_ref", "way_index", "lon", "lat"):
        assert np.array_equal(getattr(walk, key), np.asarray(ways[key])), key
    features = chengdu_extract.features
    assert features["osm_type"].tolist() == rows["osm_type"].tolist()
    assert features["osm_id"].tolist() == rows["osm_id"].tolist()
    assert features["tags"].tolist() == rows["tags"].tolist()
    assert shapely.equals_exact(features.geometry.values,
                                shapely.from_wkb(rows["wkb"].to_numpy()), tolerance=0).all()


class _Reads(dict):
    """A tag dict that records every key read from it."""

    def __init__(self, *args):
        super().__init__(*args)
        self.read: set[str] = set()

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)


@pytest.mark.parametrize("tags", [
    {"highway": "footway"}, {"highway": "trunk", "sidewalk": "no"},
    {"highway": "trunk", "sidewalk": "both"}, {"highway": "service", "service": "private"},
    {"highway": "path", "foot": "no", "name": "x"}, {"highway": "cycleway", "area": "yes"},
    {"highway": "residential", "sidewalk:left": "separate", "access": "private"},
])
def test_the_walk_verdict_reads_only_the_cached_keys(tags):
    """read_osm caches verdicts by the values of walk_keys(): is_walkable must read no other."""
    reads = _Reads(tags)
    is_walkable(reads)
    assert reads.read <= set(walk_keys())


def test_tag_column_equals_a_map_over_the_tags(chengdu_extract):
    features = chengdu_extract.features
    for key in ("landuse", "building", "amenity", "name"):
        assert tag_column(features, key).equals(features["tags"].map(lambda t, k=key: t.get(k)))
    subset = features.iloc[::7]
    assert tag_column(subset, "building").index.equals(subset.index)


# --- dissolving ---------------------------------------------------------------------------


@pytest.mark.parametrize("layer", ["residential", "footprints"])
def test_dissolve_equals_one_union_of_everything_on_chengdu(chengdu_extract, chengdu_network,
                                                             layer):
    features = chengdu_extract.features
    crs = chengdu_network.crs
    if layer == "residential":
        polygonal = features[features.geom_type.isin(["Polygon", "MultiPolygon"])]
        geoms = polygonal[tag_column(polygonal, "landuse") == "residential"].geometry.to_crs(crs)
    else:  # Chengdu's footprints overlap in places: the grouped union has work to do
        geoms = buildings(features, crs).geometry
    fast, plain = dissolve(geoms).to_numpy(), plain_dissolve(geoms)
    assert fast.size == plain.size > 100
    assert np.allclose(sorted_areas(fast), sorted_areas(plain), rtol=1e-9, atol=0)
    assert np.allclose(sorted_areas(dissolve_land(geoms)), sorted_areas(plain), rtol=1e-9, atol=0)
    # polygon by polygon: each fast polygon covers the same ground as one plain polygon
    fi, pi = shapely.STRtree(plain).query(fast, predicate="intersects")
    overlap = shapely.area(shapely.intersection(fast[fi], plain[pi]))
    same = overlap > 1e-6 * shapely.area(plain[pi])
    assert np.bincount(fi[same], minlength=fast.size).tolist() == [1] * fast.size
    assert np.allclose(overlap[same], shapely.area(fast[fi[same]]), rtol=1e-9, atol=0)


@pytest.mark.parametrize(("shapes", "areas"), [
    # overlapping: 2 + 2 - 1 (the shared square)
    ([shapely.box(0, 0, 2, 1), shapely.box(1, 0, 3, 1)], [3.0]),
    # sharing an edge: one polygon, as one union of everything gives
    ([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)], [2.0]),
    # touching at one corner: two polygons
    ([shapely.box(0, 0, 1, 1), shapely.box(1, 1, 2, 2)], [1.0, 1.0]),
    # nested: the outer one
    ([shapely.box(0, 0, 4, 4), shapely.box(1, 1, 2, 2)], [16.0]),
    # a ring and the polygon filling its hole: the hole closes
    ([shapely.box(0, 0, 3, 3).difference(shapely.box(1, 1, 2, 2)), shapely.box(1, 1, 2, 2)],
     [9.0]),
    # a chain a-b-c where a and c never meet: one group, one polygon
    ([shapely.box(0, 0, 2, 1), shapely.box(1, 0, 4, 1), shapely.box(3, 0, 5, 1)], [5.0]),
    # a bow-tie (invalid) made valid, beside a square it overlaps
    ([shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)]), shapely.box(10, 0, 11, 1)],
     [1.0, 1.0, 1.0]),
    # far apart, plus a line and a point, which carry no area
    ([shapely.box(0, 0, 1, 1), shapely.box(5, 5, 7, 6), shapely.LineString([(0, 0), (9, 9)]),
      shapely.Point(3, 3)], [1.0, 2.0]),
])
def test_dissolve_hand_built(shapes, areas):
    got = dissolve(gpd.GeoSeries(shapes))
    assert sorted_areas(got.to_numpy()).tolist() == areas
    assert sorted_areas(plain_dissolve(gpd.GeoSeries(shapes))).tolist() == areas
    assert sorted_areas(dissolve_land(gpd.GeoSeries(shapes))).tolist() == areas
    # disjoint interiors: pairwise overlaps have no area
    parts = got.to_numpy()
    i, j = shapely.STRtree(parts).query(parts, predicate="intersects")
    assert shapely.area(shapely.intersection(parts[i[i < j]], parts[j[i < j]])).sum() == 0


# --- clipping -----------------------------------------------------------------------------


def test_clip_equals_geopandas_clip_on_chengdu(chengdu_extract, chengdu_network):
    blds = buildings(chengdu_extract.features, chengdu_network.crs)
    x0, y0, x1, y1 = blds.total_bounds
    # a box through the middle of the city: many footprints cross its edges
    w, h = x1 - x0, y1 - y0
    area = shapely.box(x0 + w / 4, y0 + h / 4, x1 - w / 3, y1 - h / 5)
    fast = _clip(blds, area)
    plain = blds.clip(area)
    plain = plain[~plain.geometry.is_empty]
    assert len(fast) == len(plain) > 100
    crossing = ~shapely.contains_properly(area, blds.geometry.values)
    assert 10 < crossing.sum() < len(blds) - 10
    key = ["osm_id", "footprint_m2"]
    fast_rows = fast.assign(clipped=fast.area).sort_values(key).reset_index(drop=True)
    plain_rows = plain.assign(clipped=plain.area).sort_values(key).reset_index(drop=True)
    assert fast_rows["osm_id"].tolist() == plain_rows["osm_id"].tolist()
    assert np.allclose(fast_rows["clipped"], plain_rows["clipped"], rtol=1e-12, atol=0)


# --- modelled population ------------------------------------------------------------------


def test_modelled_population_hand_built():
    """Land 200 m x 100 m; footprint A (20 x 20) well inside it, footprint B crossing its
    east edge (10 x 20 inside); 600 people: A 400, B 200, in two 100 m cells."""
    crs = "EPSG:32648"
    land = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 200, 100)], crs=crs)
    blds = gpd.GeoDataFrame({"residential": [True, True]},
                            geometry=[shapely.box(10, 10, 30, 30), shapely.box(190, 40, 250, 60)],
                            crs=crs)
    grid = modelled_population(land, blds, crs, total=600.0)
    cells = dict(zip(zip(grid.x.tolist(), grid.y.tolist(), strict=True),
                     grid.population.tolist(), strict=True))
    assert cells == {(50.0, 50.0): 400.0, (150.0, 50.0): 200.0}
    # a footprint over four cells: 60 x 60 centred on a corner, 900 m² in each quarter
    blds = gpd.GeoDataFrame({"residential": [True]}, geometry=[shapely.box(70, 20, 130, 80)],
                            crs=crs)
    grid = modelled_population(land, blds, crs, total=100.0)
    assert grid.population.tolist() == [50.0, 50.0]  # all 20..80 in y: one row of cells


def test_modelled_population_equals_plain_overlays_on_chengdu(chengdu_extract, chengdu_network):
    features, crs = chengdu_extract.features, chengdu_network.crs
    polygonal = features[features.geom_type.isin(["Polygon", "MultiPolygon"])]
    land = polygonal[tag_column(polygonal, "landuse") == "residential"].geometry.to_crs(crs)
    blds = buildings(features, crs)
    grid = modelled_population(gpd.GeoDataFrame(geometry=land), blds, crs, total=216_000.0)
    plain = plain_grid(plain_dissolve(land), plain_dissolve(blds.geometry[blds.residential]),
                       216_000.0, 100.0)
    assert grid.n_cells == len(plain) > 500
    keys = np.array(list(plain))
    got = dict(zip(zip(np.round(grid.x / 100 - 0.5).astype(int).tolist(),
                       np.round(grid.y / 100 - 0.5).astype(int).tolist(), strict=True),
                   grid.population.tolist(), strict=True))
    assert set(got) == {tuple(k) for k in keys.tolist()}
    want = np.array([plain[k] for k in got])
    assert np.allclose(np.array(list(got.values())), want, rtol=1e-9, atol=0)
    assert grid.total == pytest.approx(216_000.0, rel=1e-12)


def _cross_xml(*extra: str, ways_first: bool = False) -> str:
    nodes = [_node(1, "104.0600", "30.6600"), _node(2, "104.0610", "30.6600"),
             _node(3, "104.0620", "30.6600")]
    ways = [_way(100, [1, 2, 3])]
    return _xml(*(ways + nodes if ways_first else nodes + ways), *extra)


def test_sortedness_is_judged_by_the_nodes_a_way_missed(tmp_path):
    """Untagged nodes never reach Python now: a way's missing node found later in the file
    means the file is unsorted; a node missing everywhere means it is missing."""
    unsorted = _write(tmp_path / "unsorted.osm", _cross_xml(ways_first=True))
    with pytest.raises(InputError, match="not sorted"):
        read_osm(unsorted)
    # a tagged point after the ways, and a way whose nodes are absent: missing, not unsorted
    missing = _write(tmp_path / "missing.osm", _cross_xml(
        _way(101, [7, 8, 9]), _node(4, "104.0630", "30.6610", "<tag k='amenity' v='school'/>")))
    extract = read_osm(missing)
    assert extract.walk.way_ids.tolist() == [100]
    assert extract.features["osm_id"].tolist() == [4]
    # untagged nodes after the ways they are not part of: accepted as before
    late = _write(tmp_path / "late.osm", _cross_xml(_node(5, "104.0640", "30.6620")))
    assert read_osm(late).walk.node_ref.tolist() == [1, 2, 3]


def test_clip_hand_built():
    frame = gpd.GeoDataFrame({"area_m2": [1.0, 4.0]},
                             geometry=[shapely.box(1, 1, 2, 2), shapely.box(3, 3, 5, 5)],
                             crs="EPSG:32648")
    assert _clip(frame, shapely.box(0, 0, 10, 10))["area_m2"].tolist() == [1.0, 4.0]
    assert _clip(frame, shapely.box(0, 0, 4, 4))["area_m2"].tolist() == [1.0, 1.0]
    # a square sharing only an edge with the area: as geopandas' clip leaves it
    edge = shapely.box(0, 0, 1, 10)
    assert _clip(frame, edge).geometry.tolist() == frame.clip(edge).geometry.tolist()
    assert _clip(frame, shapely.box(20, 20, 30, 30)).empty
