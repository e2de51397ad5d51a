"""The offline basemap: layers read from the OSM file, drawn under map.html (checked in headless
Chromium against the GeoPackage) and under the static figures."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from matplotlib.collections import LineCollection, PathCollection

from lifecircle.layers.basemap import STREET_CLASSES, basemap_layers
from lifecircle.layers.osm import read_osm
from lifecircle.maps import write_map
from lifecircle.maps.basemap import ALWAYS_LABELLED, NEAR_ZOOM, PLACE_SIZES
from lifecircle.maps.folder import read_folder
from lifecircle.maps.styles import STREET_STYLES
from lifecircle.output import write_layers
from tests.browser_helpers import count_layers_js, opened
from tests.test_maps import CHENGDU_PBF, run_chengdu

# 1 m of latitude in degrees (mean meridian degree 111,320 m; enough for a 2 m tolerance test)
M = 1 / 111_320.0

FIXTURE = f"""<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="test">
  <node id="1" lat="30.0" lon="104.0"/>
  <node id="2" lat="{30.0 + 1 * M:.9f}" lon="104.001"/>
  <node id="3" lat="30.0" lon="104.002"/>
  <node id="4" lat="30.001" lon="104.0"/>
  <node id="5" lat="{30.001 + 5 * M:.9f}" lon="104.001"/>
  <node id="6" lat="30.001" lon="104.002"/>
  <node id="7" lat="30.002" lon="104.0"/>
  <node id="8" lat="30.002" lon="104.002"/>
  <node id="9" lat="30.003" lon="104.002"/>
  <node id="10" lat="30.003" lon="104.0"/>
  <node id="20" lat="30.0015" lon="104.001">
    <tag k="place" v="city"/><tag k="name" v="成都市"/><tag k="name:en" v="Chengdu"/>
  </node>
  <node id="21" lat="30.0016" lon="104.001"><tag k="place" v="neighbourhood"/></node>
  <way id="100"><nd ref="1"/><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="motorway"/><tag k="name" v="绕城高速"/></way>
  <way id="101"><nd ref="4"/><nd ref="5"/><nd ref="6"/>
    <tag k="highway" v="residential"/><tag k="name" v="Local"/><tag k="name:zh" v="红星路"/>
    <tag k="name:en" v="Hongxing Road"/></way>
  <way id="102"><nd ref="7"/><nd ref="8"/><tag k="highway" v="footway"/></way>
  <way id="103"><nd ref="7"/><nd ref="8"/><tag k="highway" v="proposed"/></way>
  <way id="104"><nd ref="7"/><nd ref="8"/><nd ref="9"/><nd ref="10"/><nd ref="7"/>
    <tag k="natural" v="water"/><tag k="name" v="湖"/></way>
  <way id="105"><nd ref="1"/><nd ref="4"/><tag k="waterway" v="river"/></way>
  <way id="106"><nd ref="3"/><nd ref="6"/><tag k="waterway" v="stream"/></way>
  <way id="107"><nd ref="1"/><nd ref="7"/><tag k="railway" v="subway"/></way>
  <way id="108"><nd ref="3"/><nd ref="8"/><tag k="railway" v="abandoned"/></way>
  <way id="109"><nd ref="2"/><nd ref="5"/><tag k="highway" v="trunk_link"/></way>
</osm>
"""


@pytest.fixture(scope="module")
def fixture_layers(tmp_path_factory) -> dict[str, gpd.GeoDataFrame]:
    path = tmp_path_factory.mktemp("basemap") / "tiny.osm"
    path.write_text(FIXTURE, encoding="utf-8")
    return basemap_layers(path)


def test_layers_hold_the_hand_listed_features(fixture_layers):
    layers = fixture_layers
    assert set(layers) == {"base_streets", "base_water", "base_rail", "base_places"}
    streets = layers["base_streets"].set_index("osm_id")
    # motorway and trunk are drawn although nobody walks on them; "proposed" is not a street
    assert sorted(streets.index) == [100, 101, 102, 109]
    assert streets["class"].to_dict() == {100: "major", 101: "minor", 102: "path", 109: "major"}
    assert streets.loc[101, "name"] == "红星路" and streets.loc[101, "name_en"] == "Hongxing Road"
    assert streets.loc[100, "name"] == "绕城高速"
    water = layers["base_water"].set_index("osm_id")
    assert water["form"].to_dict() == {104: "area", 105: "line"}  # a stream is not a river
    assert water.loc[104].geometry.geom_type in ("Polygon", "MultiPolygon")
    assert layers["base_rail"]["osm_id"].tolist() == [107]  # the abandoned line is left out
    places = layers["base_places"]
    assert places[["name", "name_en", "place"]].values.tolist() == [["成都市", "Chengdu", "city"]]
    assert all(frame.crs.to_epsg() == 4326 for frame in layers.values())


def test_bends_under_two_metres_are_simplified_away(fixture_layers):
    streets = fixture_layers["base_streets"].set_index("osm_id")
    # way 100 bends 1 m (below the 2 m tolerance): its middle node goes; way 101 bends 5 m: kept
    assert shapely.get_num_coordinates(streets.loc[100].geometry) == 2
    assert shapely.get_num_coordinates(streets.loc[101].geometry) == 3


def test_chengdu_streets_include_every_walkable_way():
    pbf = CHENGDU_PBF
    streets = basemap_layers(pbf)["base_streets"]
    walk = read_osm(pbf).walk
    assert set(walk.way_ids) <= set(streets["osm_id"])
    assert streets["osm_id"].is_unique
    assert set(streets["highway"]) <= set(STREET_CLASSES)
    # the motorways the walk network leaves out are on the basemap
    assert "motorway" in set(streets["highway"]) - set(walk.highway)
    assert len(streets) > walk.way_ids.size


# -- drawn ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base_folder(tmp_path_factory) -> Path:
    """The Chengdu run folder with the basemap layers written as the pipeline writes them."""
    out = tmp_path_factory.mktemp("basemap-run") / "run"
    shutil.copytree(run_chengdu(tmp_path_factory), out)
    write_layers(out / "coverage.gpkg", basemap_layers(CHENGDU_PBF))
    return out


def test_folder_reads_the_base_layers(base_folder):
    folder = read_folder(base_folder)
    assert {"base_streets", "base_water", "base_rail", "base_places"} <= set(folder.layers)


def test_figures_draw_streets_by_class_and_parks_as_polygons(base_folder):
    from matplotlib.path import Path as MplPath

    from lifecircle.maps import figures

    folder = read_folder(base_folder)
    base = figures._Basemap(folder)
    widths = {s.linewidth: cls for cls, s in STREET_STYLES.items()}
    # streets are stroked, unfilled compound paths (one subpath per way) in the street zorders,
    # 0.4 to 0.5, drawn once under every map figure
    drawn = {widths[style["linewidth"]]: sum(int((p.codes == MplPath.MOVETO).sum())
                                             for p in paths)
             for paths, style in base.parts if 0.4 <= style["zorder"] < 0.5}
    streets = folder.layers["base_streets"]
    expected = streets["class"].value_counts().to_dict()  # every way is one LineString here
    assert drawn == expected
    assert all(style["facecolor"] == "none" for paths, style in base.parts
               if 0.4 <= style["zorder"] < 0.5)
    fig = figures._coverage_figure(folder, "park", "en", figures._Shared(folder))
    ax = fig.axes[0]
    assert not [c for c in ax.collections if isinstance(c, LineCollection | PathCollection)
                and c.get_zorder() < 1], "the basemap is the figure's backdrop image"
    facilities = folder.layers["facilities"]
    parks = facilities[facilities["kind"] == "park"]
    polygons = parks[parks.geom_type.isin(["Polygon", "MultiPolygon"])]
    n_parts = int(shapely.get_num_geometries(polygons.geometry.values).sum())
    park_paths = [c for c in ax.collections if isinstance(c, PathCollection)
                  and c.get_zorder() == 4]
    assert len(park_paths) == 1 and len(park_paths[0].get_paths()) == n_parts
    # framed on the populated cells, not on the basemap's larger extent
    cells_box = folder.layers["population"].total_bounds
    x0, x1 = ax.get_xlim()
    assert x0 <= cells_box[0] and x1 >= cells_box[2]
    assert x1 - x0 < 1.1 * max(cells_box[2] - cells_box[0], cells_box[3] - cells_box[1])


def test_write_figures_with_a_basemap(base_folder):
    from PIL import Image

    from lifecircle.maps import write_figures

    written = write_figures(base_folder)
    png = base_folder / "figures" / "coverage_park.png"
    assert png in written
    with Image.open(png) as image:
        pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    major = np.array([int(STREET_STYLES["major"].colour[i:i + 2], 16) for i in (1, 3, 5)])
    assert (np.abs(pixels.astype(int) - major).sum(axis=1) < 12).sum() > 500


# -- in the browser ---------------------------------------------------------------------------

VIEW_JS = """() => {
  const out = {};
  const b = window.lifecircle.map.getBounds();
  out.view = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()];
  out.zoom = window.lifecircle.map.getZoom();
  out.visible = Array.from(document.querySelectorAll(".lc-label"))
    .filter(e => getComputedStyle(e).display !== "none").length;
  out.texts = Array.from(document.querySelectorAll(".lc-label span")).map(e => e.textContent);
  return out;
}"""


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_map_draws_every_street_offline(base_folder, tmp_path, lang):
    folder = tmp_path / "run"
    shutil.copytree(base_folder, folder)
    write_map(folder, lang=lang)
    layers = read_folder(folder).layers
    with opened(folder / "map.html") as state:
        counts = state.page.evaluate(count_layers_js("base")) | state.page.evaluate(VIEW_JS)
        docs = Path(__file__).resolve().parent.parent / "docs"
        state.page.screenshot(path=str(docs / f"map-basemap-{lang}.png"))
    errors, requests = state.errors, state.requests
    assert errors == []
    assert [u for u in requests if not u.startswith(("file://", "data:"))] == []
    assert counts["streets"] == {"markers": 0, "paths": len(layers["base_streets"]), "shown": True}
    assert counts["water"]["paths"] == len(layers["base_water"])
    assert counts["rail"]["paths"] == len(layers["base_rail"])
    streets, places = layers["base_streets"], layers["base_places"]
    names = streets["name_en"].fillna(streets["name"]) if lang == "en" else streets["name"]
    major_names = names[(streets["class"] == "major") & names.notna()]
    labelled = places[places["place"].isin(list(PLACE_SIZES)) & places["name"].notna()]
    assert counts["labels"]["markers"] == major_names.nunique() + len(labelled)
    # zoomed out, only the longest streets and the larger places are labelled (no clutter)
    large = places["place"].map(PLACE_SIZES).isin(["l", "m"]) & places["name"].notna()
    assert counts["zoom"] < NEAR_ZOOM
    assert counts["visible"] == min(ALWAYS_LABELLED, major_names.nunique()) + int(large.sum())
    if lang == "en":  # English names where OSM has them, Chinese otherwise
        assert "Chengdu" in counts["texts"] and "成都市" not in counts["texts"]
    else:
        assert "成都市" in counts["texts"] and "Chengdu" not in counts["texts"]
    # the page opens on the populated cells (inside the window), not on the whole basemap
    cells = layers["population"]
    populated = cells[cells["population"] > 0].to_crs(4326).total_bounds
    west, south, east, north = counts["view"]
    assert west <= populated[0] and south <= populated[1]
    assert east >= populated[2] and north >= populated[3]
    assert (east - west) < 2 * (streets.total_bounds[2] - streets.total_bounds[0])


def test_chengdu_water_areas_are_water_and_all_of_it():
    import osmium

    from lifecircle.layers.basemap import WATER_AREAS

    # independently: every closed way and multipolygon relation tagged as water in the file
    tagged = set()
    for obj in osmium.FileProcessor(str(CHENGDU_PBF)):
        if not obj.is_node() and any(obj.tags.get(k) == v for k, v in WATER_AREAS):
            tagged.add(obj.id)
    water = basemap_layers(CHENGDU_PBF)["base_water"]
    areas = set(water.loc[water["form"] == "area", "osm_id"])
    # residential land, woods or shops assembled as areas are not water (they were drawn blue)
    assert areas and areas <= tagged
    assert len(areas) >= 0.9 * len(tagged)  # the few left out: rings osmium could not close


def _same_layers(got: dict[str, gpd.GeoDataFrame], want: dict[str, gpd.GeoDataFrame]) -> None:
    assert list(got) == list(want)
    for name in want:
        assert got[name].drop(columns="geometry").equals(want[name].drop(columns="geometry"))
        assert shapely.equals_exact(got[name].geometry.values, want[name].geometry.values,
                                    tolerance=0).all()


def test_a_prefetched_read_is_the_read_in_place(tmp_path):
    from lifecircle.layers import basemap, readahead

    copy = Path(shutil.copy(CHENGDU_PBF, tmp_path / "city.osm.pbf")).resolve()
    clip = shapely.box(104.06, 30.66, 104.09, 30.69)
    want = basemap_layers(copy, clip=clip)
    basemap.prefetch_basemap(copy, min_bytes=0)
    assert readahead.pending(readahead.BASEMAP_READER, copy)  # read in another process
    received = readahead._AHEAD[(readahead.BASEMAP_READER, copy)][2]
    # taken from the process (and the process joined) before anything asks for it
    assert pickle.loads(received.result(timeout=120)).keys() == want.keys()
    _same_layers(basemap_layers(copy, clip=clip), want)
    assert not readahead.pending(readahead.BASEMAP_READER, copy)  # taken once


def test_a_small_file_is_read_ahead_only_where_the_reader_forks(tmp_path, monkeypatch):
    from lifecircle import forked
    from lifecircle.layers import basemap, readahead

    copy = Path(shutil.copy(CHENGDU_PBF, tmp_path / "city.osm.pbf")).resolve()
    monkeypatch.setattr(forked, "can_fork", lambda: False)  # spawned: imports cost 0.5-1 s
    basemap.prefetch_basemap(copy)  # central Chengdu's 0.3 MB are read in place
    assert not readahead.pending(readahead.BASEMAP_READER, copy)
    monkeypatch.setattr(forked, "can_fork", lambda: True)  # forked: milliseconds
    basemap.prefetch_basemap(copy)
    assert readahead.pending(readahead.BASEMAP_READER, copy)
    got = basemap_layers(copy)  # the forked read
    assert not readahead.pending(readahead.BASEMAP_READER, copy)
    _same_layers(got, basemap_layers(copy))  # against a read in place


def test_a_prefetched_read_of_a_changed_or_bad_file_is_not_used(tmp_path):
    from lifecircle.errors import InputError
    from lifecircle.layers import basemap

    path = tmp_path / "city.osm"
    shutil.copy(CHENGDU_PBF, tmp_path / "city.osm.pbf")
    path.write_text(FIXTURE, encoding="utf-8")
    basemap.prefetch_basemap(path, min_bytes=0)
    path.write_text(FIXTURE.replace("绕城高速", "三环路"), encoding="utf-8")  # changed since
    assert basemap_layers(path)["base_streets"]["name"].tolist()[0] == "三环路"
    path.write_text("not OSM", encoding="utf-8")
    basemap.prefetch_basemap(path, min_bytes=0)
    with pytest.raises(InputError, match="city.osm"):  # the error of a read in place
        basemap_layers(path)
