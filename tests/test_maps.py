"""The map and the figures of an output folder (lifecircle.maps), on central Chengdu.

The run writes the population and facilities layers today; ``augment`` adds the other layers of
the folder contract (service circles, residential land with a covered column, catchments, study
area, a load ratio, scored targets) as small fixtures built from the real layers, so every layer
the maps draw is exercised. The fixture values are stand-ins, not metrics.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

from lifecircle.errors import InputError
from lifecircle.maps import write_figures, write_map
from lifecircle.maps.assets import leaflet_css, leaflet_js
from lifecircle.maps.folder import read_folder
from lifecircle.seeds import load_standards
from tests.conftest import CHENGDU_PBF

PARK_TARGET = {
    "id": "sichuan_park_service_radius_coverage_2028", "metric": "park_service_radius_coverage",
    "target": 0.86, "comparator": ">=", "value": 0.62, "met": False, "gap": 0.24, "unit": "share",
    "source": "四川省深入实施以人为本的新型城镇化战略五年行动计划实施方案 五、(四)",
    "status": "not met", "year": 2028,
}
MET_TARGET = {
    "id": "fixture_hospital_walk", "metric": "walk_coverage.hospital", "target": 0.5,
    "comparator": ">=", "value": 0.6, "met": True, "gap": 0.0, "unit": "share",
    "source": "fixture", "status": "met", "indicator": "医院步行覆盖率",
}
UNMEASURED_TARGET = {
    "id": "sichuan_15min_public_service_circle_2028", "metric": "life_circle_15min_complete",
    "target": 1.0, "comparator": ">=", "value": None, "met": None, "gap": None, "unit": "share",
    "source": "四川省实施方案", "status": "not measured",
}
TARGETS = [PARK_TARGET, MET_TARGET, UNMEASURED_TARGET]
SIMPLE_LAYERS = ("study_area", "population", "residential")
KIND_LAYERS = ("facilities", "service_circles", "catchments")


def run_chengdu(tmp_path_factory) -> Path:
    """``lifecircle run`` on the Chengdu extract with a modelled population, once per session
    (the map tests only read the folder and add map.html to it)."""
    from lifecircle.cli import main

    out = tmp_path_factory.getbasetemp() / "chengdu-run"
    if not (out / "scorecard.json").exists():
        code = main(["run", "--osm", str(CHENGDU_PBF), "--residential-density", "400",
                     "--region", "四川", "--out", str(out)])
        assert code == 0
    return out


def augment(src: Path, dst: Path) -> Path:
    """Copy an output folder; add fixture layers for the parts of the contract it lacks."""
    shutil.copytree(src, dst)
    gpkg = dst / "coverage.gpkg"
    present = {str(name) for name, _ in pyogrio.list_layers(gpkg)}
    cells = gpd.read_file(gpkg, layer="population")
    facilities = gpd.read_file(gpkg, layer="facilities")
    thresholds = {k: float(v["threshold_m"]) for k, v in load_standards()["kinds"].items()}
    area = shapely.convex_hull(cells.geometry.union_all()).buffer(200)
    points = facilities.geometry.representative_point()
    radius = facilities["kind"].map(thresholds)
    circles = gpd.GeoDataFrame(
        {"kind": facilities["kind"], "facility_id": facilities["facility_id"],
         "threshold_m": radius}, geometry=points.buffer(radius.to_numpy()), crs=cells.crs)
    added = {
        "study_area": lambda: gpd.GeoDataFrame({"source": ["fixture"]}, geometry=[area],
                                               crs=cells.crs),
        "service_circles": lambda: circles,
        "residential": lambda: _residential(cells, circles),
        "catchments": lambda: _catchments(facilities, area),
    }
    for name, make in added.items():
        if name not in present:
            make().to_file(gpkg, layer=name, driver="GPKG", engine="pyogrio")
    if "kinds_reached" not in cells.columns:
        cells["kinds_reached"] = 6
        cells["missing_kinds"] = "health_centre,nursing_home"
        cells.to_file(gpkg, layer="population", driver="GPKG", engine="pyogrio")
    if "load_ratio" not in facilities.columns:
        facilities["load_ratio"] = np.where(facilities["kind"] == "primary_school", 1.25, np.nan)
        facilities.to_file(gpkg, layer="facilities", driver="GPKG", engine="pyogrio")

    card = json.loads((dst / "scorecard.json").read_text(encoding="utf-8"))
    card["targets"] = TARGETS
    card["metrics"]["park_service_radius_coverage"] = {
        "value": 0.62, "unit": "share", "method": "fixture", "denominator": "residential land"}
    (dst / "scorecard.json").write_text(json.dumps(card, ensure_ascii=False), encoding="utf-8")
    return dst


def minimal(src: Path, dst: Path) -> Path:
    """Copy an output folder keeping only the population and facilities layers, the distances to
    parks and primary schools, and no targets."""
    dst.mkdir()
    cells = gpd.read_file(src / "coverage.gpkg", layer="population")
    keep = ["population", "dist_park", "dist_primary_school", "geometry"]
    facilities = gpd.read_file(src / "coverage.gpkg", layer="facilities")
    for name, frame in (("population", cells[keep]), ("facilities", facilities)):
        frame.to_file(dst / "coverage.gpkg", layer=name, driver="GPKG", engine="pyogrio")
    card = json.loads((src / "scorecard.json").read_text(encoding="utf-8"))
    card["targets"] = []
    (dst / "scorecard.json").write_text(json.dumps(card, ensure_ascii=False), encoding="utf-8")
    return dst


def _residential(cells: gpd.GeoDataFrame, circles: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    land = cells.geometry.union_all()
    parks = circles[circles["kind"] == "park"].geometry.union_all()
    parts = []
    for covered, geom in ((True, land.intersection(parks)), (False, land.difference(parks))):
        parts += [(covered, g) for g in shapely.get_parts(geom) if g.area > 1.0]
    return gpd.GeoDataFrame({"covered": [c for c, _ in parts]},
                            geometry=[g for _, g in parts], crs=cells.crs)


def _catchments(facilities: gpd.GeoDataFrame, area) -> gpd.GeoDataFrame:
    rows = []
    rng = np.random.default_rng(7)
    for kind in ("primary_school", "health_centre"):
        own = facilities[facilities["kind"] == kind].reset_index(drop=True)
        sites = own.geometry.representative_point()
        voronoi = shapely.voronoi_polygons(shapely.multipoints(sites.values), extend_to=area)
        for poly in shapely.get_parts(voronoi):
            i = int(np.argmax(sites.within(poly).to_numpy()))
            population = float(rng.uniform(500, 9000))
            capacity = float(rng.choice([np.nan, 400.0, 900.0]))
            demand = population * 0.06
            rows.append({"kind": kind, "facility_id": own.loc[i, "facility_id"],
                         "population": population, "demand": demand, "capacity": capacity,
                         "load_ratio": demand / capacity, "over_capacity": demand > capacity,
                         "geometry": poly.intersection(area)})
    return gpd.GeoDataFrame(rows, crs=facilities.crs)


def read_layer(folder: Path, name: str) -> gpd.GeoDataFrame:
    """A GeoPackage layer without its rows of no or empty geometry (nothing to draw)."""
    frame = gpd.read_file(folder / "coverage.gpkg", layer=name)
    return frame[frame.geometry.notna() & ~frame.geometry.is_empty]


def expected_layers(folder: Path) -> dict[str, int]:
    """Layer ids the map should hold, with their feature counts, read from the GeoPackage."""
    present = {str(name) for name, _ in pyogrio.list_layers(folder / "coverage.gpkg")}
    out: dict[str, int] = {}
    for name in SIMPLE_LAYERS:
        if name in present and len(read_layer(folder, name)):
            out[name] = len(read_layer(folder, name))
    for name in KIND_LAYERS:
        # the map's service circles: every facility's when the run drew them, else each kind's
        # covered area (the default)
        layer = "service_areas" if name == "service_circles" and name not in present else name
        if layer in present:
            counts = read_layer(folder, layer)["kind"].value_counts()
            out.update({f"{name}:{kind}": int(n) for kind, n in counts.items()})
    return out


def layer_names(html: str) -> list[str]:
    """Names in the layer control (base layers and overlays), decoded."""
    control = re.search(r"_layers = \{(.*?)\};", html, re.DOTALL)
    assert control, "layer control missing"
    return [json.loads(key) for key in re.findall(r'("(?:[^"\\]|\\.)*") : \w+', control[1])]


def layer_ids(html: str) -> set[str]:
    """The ids in the page's ``window.lifecircle.layers`` registry."""
    registry = re.search(r"window\.lifecircle = \{map: \w+, layers: \{(.*?)\}(?:, base: |\};)",
                         html, re.DOTALL)
    assert registry, "layer registry missing"
    return set(re.findall(r'"([a-z_:]+)": feature_group_\w+', registry[1]))


@pytest.fixture(scope="module")
def chengdu(tmp_path_factory) -> Path:
    return run_chengdu(tmp_path_factory)


@pytest.fixture(scope="module")
def full(chengdu, tmp_path_factory) -> Path:
    return augment(chengdu, tmp_path_factory.mktemp("maps") / "full")


@pytest.fixture(scope="module")
def full_map(full) -> str:
    return write_map(full).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def bare(chengdu, tmp_path_factory) -> Path:
    return minimal(chengdu, tmp_path_factory.mktemp("maps") / "bare")


def test_map_of_the_run(chengdu):
    path = write_map(chengdu)
    assert path == chengdu / "map.html"
    html = path.read_text(encoding="utf-8")
    assert layer_ids(html) == set(expected_layers(chengdu))
    assert "population" in layer_ids(html)
    assert path.stat().st_size <= 15 * 1024 * 1024
    assert "OpenStreetMap<\\/a> contributors" in html
    assert 'addAttribution("人口：按居住用地模拟（dasymetric-buildings）")' in html
    assert 'id="lc-scorecard"' in html
    assert not list(chengdu.glob(".map.html*")), "temporary file left behind"
    # Sichuan's 86 % rests on assumed tiers: shown with its value, never as met or not met
    row = re.search(r'<tr class="lc-target lc-([a-z-]+)" data-target-id='
                    r'"sichuan_park_service_radius_coverage_2028"', html)
    assert row and row[1] == "assumed" and "假设值，不作判定" in html


def test_layers_without_data_are_not_drawn(bare):
    html = write_map(bare).read_text(encoding="utf-8")
    ids = layer_ids(html)
    assert ids == set(expected_layers(bare))
    assert "population" in ids and "facilities:park" in ids
    assert not {i for i in ids if i.split(":")[0] in
                ("study_area", "residential", "service_circles", "catchments")}
    assert 'id="lc-no-targets"' in html and 'id="lc-legend"' in html


def test_map_has_every_contract_layer_legend_and_scorecard(full, full_map):
    assert layer_ids(full_map) == set(expected_layers(full))
    for layer in ("study_area", "residential", "service_circles:park", "catchments:hospital",
                  "facilities:primary_school"):
        assert layer in layer_ids(full_map)
    assert 'id="lc-legend"' in full_map and "lc-hatch" in full_map
    assert "未覆盖居住用地" in full_map
    for target in TARGETS:
        assert f'data-target-id="{target["id"]}"' in full_map
    assert re.search(r'class="lc-target lc-not-met" data-target-id="sichuan_park', full_map)
    assert re.search(r'class="lc-target lc-met" data-target-id="fixture_hospital', full_map)
    assert re.search(r'class="lc-target lc-not-measured" data-target-id="sichuan_15min',
                     full_map)
    assert "公园绿化活动场地服务半径覆盖率" in full_map  # the catalogue's indicator
    assert "86.0%" in full_map and "24.0 个百分点" in full_map
    assert '"load": "1.25"' in full_map  # load ratio in facility popups
    assert '"r": "' in full_map  # life-circle completeness in the cell tooltips


def test_map_is_offline(full_map):
    assert not re.search(r"<script[^>]+src=", full_map)
    assert not re.search(r"<link[^>]+href=", full_map)
    assert leaflet_js() in full_map
    # Leaflet's own comments and strings name a few bug trackers: not requests.
    ours = full_map.replace(leaflet_js(), "").replace(leaflet_css(), "")
    allowed = ("https://tile.openstreetmap.org/", "https://www.openstreetmap.org/copyright",
               "http://www.w3.org/2000/svg")
    urls = set(re.findall(r"https?://[^\s\"'<>)\\]+", ours))
    assert {u for u in urls if not u.startswith(allowed)} == set()


def test_coordinates_are_rounded(full_map):
    decoder = json.JSONDecoder()
    decimals = []
    for match in re.finditer(r"geo_json_\w+_add\(", full_map):
        data, _ = decoder.raw_decode(full_map, match.end())
        coords = np.concatenate([np.asarray(shapely.get_coordinates(
            shapely.geometry.shape(f["geometry"]))).ravel() for f in data["features"]])
        decimals += [len(repr(float(c)).partition(".")[2]) for c in coords]
    assert decimals and max(decimals) <= 6


def test_english_labels(full):
    html = write_map(full, lang="en", kind="park").read_text(encoding="utf-8")
    for label in ("Walking access · Park 500 m", "Plan targets", "Residential land not covered",
                  "Park service-radius coverage", "not met"):
        assert label in html
    names = layer_names(html)
    assert any(name.endswith("Facilities · Primary school") for name in names), names
    assert not any("tiles" in name for name in names)  # no online tiles unless asked
    assert "步行可达性" not in html and "规划目标" not in html
    assert not any(re.search("[\u4e00-\u9fff]", name) for name in names)


def test_bad_arguments(bare, tmp_path):
    with pytest.raises(InputError, match="lang"):
        write_map(bare, lang="fr")
    with pytest.raises(InputError, match="not measured"):
        write_map(bare, kind="nursing_home")
    with pytest.raises(InputError, match="scorecard.json"):
        write_map(tmp_path)


def test_population_credit(bare):
    folder = read_folder(bare)
    assert "dasymetric" in folder.population_credit("en")
    folder.scorecard["population"]["source"] = "raster:chn_ppp_2020_UNadj_constrained.tif"
    assert folder.population_credit("zh") == "人口：WorldPop (CC BY 4.0)"
    folder.scorecard["population"]["source"] = "raster:worldpop_wuhan.tif"
    assert "WorldPop (CC BY 4.0)" in folder.population_credit("en")


def test_figures(full):
    from PIL import Image

    paths = write_figures(full)
    names = {p.name for p in paths}
    kinds = [c.removeprefix("dist_") for c in
             gpd.read_file(full / "coverage.gpkg", layer="population").columns
             if c.startswith("dist_")]
    assert names == {f"coverage_{k}.png" for k in kinds} | {"residential_uncovered.png",
                                                              "metrics_targets.png"}
    for path in paths:
        assert path.parent == full / "figures"
        with Image.open(path) as image:
            assert image.format == "PNG" and min(image.size) >= 400
            colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
            assert len(colours) > 50, f"{path.name} looks blank"


def test_figures_drawn_in_forked_workers_or_in_threads_are_the_same_files(full, tmp_path,
                                                                           monkeypatch):
    import shutil

    from lifecircle import forked

    def draw(name: str) -> dict[str, bytes]:
        folder = shutil.copytree(full, tmp_path / name,
                                 ignore=shutil.ignore_patterns("figures", "*.html"))
        return {p.name: p.read_bytes() for p in write_figures(folder, lang="en")}

    monkeypatch.setattr(forked, "MAX_FORK_RESIDENT_BYTES", 1 << 50)  # whatever pytest holds
    in_workers = draw("forked")
    monkeypatch.setattr(forked, "can_fork", lambda: False)
    in_threads = draw("threads")
    assert len(in_workers) > 3 and in_workers == in_threads


def test_figures_fall_back_to_english_without_cjk_font(chengdu, monkeypatch):
    from lifecircle.maps import fonts

    monkeypatch.setattr(fonts, "cjk_family", lambda: None)
    with pytest.warns(UserWarning, match="no CJK font"):
        lang, rc = fonts.figure_rc("zh")
    assert lang == "en" and rc["font.family"] == ["DejaVu Sans"]


def test_figures_without_targets_or_residential(bare):
    paths = write_figures(bare, lang="en")
    assert [p.name for p in paths] == ["coverage_primary_school.png", "coverage_park.png",
                                       "metrics_targets.png"]
    assert (bare / "figures" / "metrics_targets.png").stat().st_size > 10_000


def test_tiles_are_opt_in(bare):
    """No tile layer unless asked (more in test_tiles.py)."""
    offline = write_map(bare).read_text(encoding="utf-8")
    online = write_map(bare, tiles="osm").read_text(encoding="utf-8")
    assert "L.tileLayer(" not in offline and "tile.openstreetmap.org" not in offline
    tile = re.search(r"var (tile_layer_\w+) = L\.tileLayer\(\s*\"https://tile\.openstreetmap",
                     online)
    assert tile and f"{tile[1]}.addTo(" in online


def test_same_folder_same_page(bare):
    first = write_map(bare).read_bytes()
    assert write_map(bare).read_bytes() == first


def geojson_blocks(page: str) -> tuple[list[dict], str]:
    """The page's inlined GeoJSON objects (decoded) and the page without them."""
    decoder = json.JSONDecoder()
    objects, rest, end = [], [], 0
    for match in re.finditer(r"geo_json_\w+_add\(", page):
        obj, stop = decoder.raw_decode(page, match.end())
        rest.append(page[end:match.end()])
        objects.append(obj)
        end = stop
    rest.append(page[end:])
    return objects, "".join(rest)


def test_geometries_go_into_the_page_as_geos_wrote_them(full, full_map):
    """write_map puts GEOS' GeoJSON text in the page instead of parsing it for folium to write
    back: every GeoJSON object equals the one of a page rendered from parsed dicts (as Jupyter
    shows RunResult.map()), and the rest of the page is the same text."""
    from lifecircle.maps.page import render_page
    from lifecircle.maps.webmap import build_map

    folder = read_folder(full)
    parsed = render_page(build_map(folder, "zh", folder.default_kind()))
    assert "@@lifecircle-geometry" not in full_map and "@@lifecircle-geometry" not in parsed
    placed, placed_rest = geojson_blocks(full_map)
    dicts, dicts_rest = geojson_blocks(parsed)
    assert len(placed) >= 10 and placed == dicts
    assert placed_rest == dicts_rest
    assert len(full_map) < len(parsed)  # GEOS writes without spaces


def test_render_page_is_folium_page_with_stable_names():
    """render_page's shortcuts (no Jinja compile of finished text, the tooltips' and popups'
    style template compiled once) change nothing of the page folium renders itself."""
    import folium

    from lifecircle.maps.page import _FOLIUM_ID, render_page

    def page() -> folium.Map:
        m = folium.Map(location=(30.67, 104.07), tiles=None)
        data = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"n": f"学校 {i}", "p": i},
             "geometry": {"type": "Point", "coordinates": [104.06 + i / 100, 30.66]}}
            for i in range(3)]}
        for fields in (["n"], ["n", "p"]):
            layer = folium.GeoJson(data).add_to(m)
            folium.GeoJsonTooltip(fields=fields).add_to(layer)
            folium.GeoJsonPopup(fields=fields, aliases=["名称", "人"][:len(fields)]).add_to(layer)
        return m

    numbers: dict[str, str] = {}
    plain = _FOLIUM_ID.sub(lambda match: numbers.setdefault(match[1], f"_{len(numbers)}"),
                           page().get_root().render())
    assert render_page(page()) == plain
    assert plain.count("foliumtooltip") >= 2 and "foliumpopup" in plain


def test_a_geometry_missing_from_the_rendered_page_fails_loudly():
    """If folium wrote the placeholders otherwise (another release), the page is refused
    rather than written with empty geometries."""
    from lifecircle.maps.geojson import feature_collection, page_geometries, put_geometries

    points = gpd.GeoSeries([shapely.Point(104.06, 30.66), shapely.Point(104.07, 30.67)])
    with page_geometries() as texts:
        collection = feature_collection(points)
    page = json.dumps(collection, sort_keys=True)
    assert json.loads(put_geometries(page, texts))["features"][1]["geometry"]["coordinates"] \
        == [104.07, 30.67]
    with pytest.raises(RuntimeError, match="1 of 2 geometries not found"):
        put_geometries(json.dumps(collection["features"][0]), texts)


def test_catalogued_targets_are_told_apart_from_unmeasured_ones(tmp_path_factory):
    """A target no spatial metric can measure (a population count) says so; one whose data
    are missing (the 15-minute circle) says "not measured", as the report and console do."""
    out = run_chengdu(tmp_path_factory)
    page = (out / "map.html").read_text(encoding="utf-8")
    targets = json.loads((out / "scorecard.json").read_text(encoding="utf-8"))["targets"]
    by_status: dict[str, list[str]] = {}
    for target in targets:
        by_status.setdefault(target["status"], []).append(target["id"])
    assert by_status["catalogued, not measured"] and by_status["not measured"]

    def state(target_id: str) -> str:
        row = re.search(rf'data-target-id="{re.escape(target_id)}".*?</tr>', page)[0]
        return re.search(r'class="lc-status">([^<]*)<', row)[1]

    assert {state(t) for t in by_status["catalogued, not measured"]} == {"非空间指标"}
    assert {state(t) for t in by_status["not measured"]} == {"未测算"}
