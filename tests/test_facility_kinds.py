"""GB 50180-2018 kinds level by level: the standards table is consistent, and OSM tags, Chinese
names and Amap/Baidu POI types land in the right kind (stations vs centres, day care vs nursing
homes, childcare vs kindergartens, outdoor fitness vs sports grounds)."""

from __future__ import annotations

import copy
import warnings

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from pyproj import CRS

from lifecircle.layers import facilities as facilities_module
from lifecircle.layers.facilities import facilities_from_file, facilities_from_osm
from lifecircle.seeds import load_standards

UTM48 = CRS.from_epsg(32648)


def _features(tag_sets: list[dict[str, str]]) -> gpd.GeoDataFrame:
    """One OSM node per tag set, 1 km apart along a line (no two fall within 30 m)."""
    return gpd.GeoDataFrame(
        {"osm_type": "node", "osm_id": range(1, len(tag_sets) + 1), "tags": tag_sets},
        geometry=[shapely.Point(104.0 + 0.01 * i, 30.6) for i in range(len(tag_sets))],
        crs="EPSG:4326",
    )


def _kinds_by_id(tag_sets: list[dict[str, str]]) -> dict[int, list[str]]:
    table, _ = facilities_from_osm(_features(tag_sets), UTM48)
    ids = table["fid"].str.split("/").str[1].astype(int)
    out: dict[int, list[str]] = {i: [] for i in range(1, len(tag_sets) + 1)}
    for fid, kind in zip(ids, table["kind"], strict=True):
        out[fid].append(kind)
    return {k: sorted(v) for k, v in out.items()}


def test_standards_levels_thresholds_and_sets_agree():
    std = load_standards()
    kinds = std["kinds"]
    circles = std["circles_m"]
    assert circles == {5: 300, 10: 500, 15: 1000}
    assert set(std["level_population"]) == set(circles)
    for name, spec in kinds.items():
        assert spec["label_zh"] and spec["label_en"] and spec["source"], name
        assert spec["level"] in (5, 10, 15, "city"), name
        if spec["level"] != "city":
            # every GB 50180 kind walks its circle's distance
            assert spec["threshold_m"] == circles[spec["level"]], name
        else:
            assert "assumption" in spec, name
    sets = std["life_circle_sets"]
    assert set(sets) == {"5min", "10min", "15min"}
    for circle, wanted in sets.items():
        assert set(wanted) <= set(kinds), circle
        # a circle requires its own level's kinds and those below, never a higher level's
        limit = int(circle.removesuffix("min"))
        assert all(kinds[k]["level"] <= limit for k in wanted), circle
    assert set(sets["5min"]) < set(sets["10min"]) < set(sets["15min"])
    assert {k for k, s in kinds.items() if s["level"] == 15} <= set(sets["15min"])
    assert set(std["life_circle_sets_as_needed"]["5min"]) == {"childcare", "health_station"}


def test_health_stations_centres_and_hospitals_by_name():
    got = _kinds_by_id([
        {"amenity": "clinic", "name": "红星社区卫生服务中心"},       # 1 centre despite the tag
        {"amenity": "clinic", "name": "玉林社区卫生服务站"},         # 2 station
        {"amenity": "clinic"},                                      # 3 generic: station
        {"amenity": "doctors", "name": "张氏诊所"},                  # 4 generic: station
        {"amenity": "clinic", "name": "美好牙科诊所"},               # 5 dental: none
        {"amenity": "hospital", "name": "三河镇卫生院"},             # 6 centre, not a hospital
        {"amenity": "hospital", "name": "成都市第二人民医院"},       # 7 hospital
        {"amenity": "hospital", "name": "成华敬式牙科诊所"},         # 8 mis-tagged dental clinic
        {"healthcare": "centre"},                                   # 9 centre
        {"office": "yes", "name": "草堂社区卫生站"},                 # 10 named station (POI)
    ])
    assert got == {1: ["health_centre"], 2: ["health_station"], 3: ["health_station"],
                   4: ["health_station"], 5: [], 6: ["health_centre"], 7: ["hospital"], 8: [],
                   9: ["health_centre"], 10: ["health_station"]}


def test_generic_clinics_can_be_left_out(monkeypatch):
    std = copy.deepcopy(load_standards())
    std["kinds"]["health_station"]["generic_clinics"] = False
    monkeypatch.setattr(facilities_module, "load_standards", lambda: std)
    got = _kinds_by_id([{"amenity": "clinic", "name": "玉林社区卫生服务站"},
                        {"amenity": "clinic", "name": "张氏诊所"}, {"amenity": "clinic"}])
    assert got == {1: ["health_station"], 2: [], 3: []}


def test_childcare_kindergarten_and_elderly_care_split():
    got = _kinds_by_id([
        {"amenity": "childcare"},                                   # 1
        {"amenity": "childcare", "name": "小太阳幼儿园"},            # 2 name wins: kindergarten
        {"amenity": "kindergarten", "name": "贝贝托育中心"},         # 3 name wins: childcare
        {"amenity": "kindergarten", "name": "六九幼儿园"},           # 4
        {"amenity": "social_facility", "social_facility": "day_care"},  # 5
        {"amenity": "nursing_home", "name": "锦江区第一养老院"},     # 6
        {"amenity": "nursing_home", "name": "府南社区日间照料中心"},  # 7 day care by name
        {"amenity": "social_facility", "social_facility": "assisted_living"},  # 8
        {"social_facility": "group_home"},                          # 9 not elderly by tag alone
    ])
    assert got == {1: ["childcare"], 2: ["kindergarten"], 3: ["childcare"], 4: ["kindergarten"],
                   5: ["elderly_daycare"], 6: ["nursing_home"], 7: ["elderly_daycare"],
                   8: ["nursing_home"], 9: []}


def test_community_culture_fitness_and_sports():
    got = _kinds_by_id([
        {"amenity": "community_centre", "name": "玉林社区服务站"},        # 1
        {"amenity": "community_centre", "name": "望江街道党群服务中心"},  # 2
        {"amenity": "community_centre", "name": "青羊区文化活动中心"},    # 3 culture centre
        {"amenity": "community_centre", "name": "沙河社区老年活动中心"},  # 4 none
        {"amenity": "arts_centre"},                                     # 5 station
        {"amenity": "arts_centre", "name": "四川美术馆"},               # 6 none (museum)
        {"amenity": "arts_centre", "name": "金牛区文化馆"},             # 7 centre
        {"amenity": "community_centre", "name": "草市街综合文化站"},    # 8 station
        {"leisure": "fitness_station"},                                 # 9
        {"leisure": "pitch", "sport": "basketball"},                    # 10
        {"leisure": "fitness_centre", "name": "某某健身房"},            # 11 none (indoor gym)
        {"leisure": "stadium", "name": "成都体育中心"},                 # 12
        {"office": "government", "name": "玉林北路社区居民委员会"},     # 13
    ])
    assert got == {1: ["community_service"], 2: ["community_service"], 3: ["culture_centre"],
                   4: [], 5: ["culture_station"], 6: [], 7: ["culture_centre"],
                   8: ["culture_station"], 9: ["fitness"], 10: ["sports"], 11: [],
                   12: ["sports"], 13: ["community_service"]}


def test_amap_types_and_names_pick_the_level(tmp_path):
    frame = pd.DataFrame({
        "name": ["红星社区卫生服务中心", "玉林社区卫生服务站", "张氏诊所", "某某托育园",
                 "小太阳幼儿园", "滨河健身广场", "某某篮球馆", "三河镇卫生院"],
        "type": ["医疗保健服务;诊所;诊所", "医疗保健服务;诊所;诊所", "医疗保健服务;诊所;诊所",
                 "科教文化服务;学校;幼儿园", "科教文化服务;学校;幼儿园",
                 "体育休闲服务;运动场馆;户外健身场所", "体育休闲服务;运动场馆;篮球场馆",
                 "医疗保健服务;综合医院;卫生院"],
        "typecode": ["090300", "090300", "090300", "141204", "141204", "080108", "080104",
                     "090102"],
        "location": [f"{104.0 + 0.01 * i:.6f},30.600000" for i in range(8)],
    })
    path = tmp_path / "amap.csv"
    frame.to_csv(path, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every row maps: nothing left out
        table = facilities_from_file(path, UTM48)
    assert list(table["kind"]) == ["health_centre", "health_station", "health_station",
                                   "childcare", "kindergarten", "fitness", "sports",
                                   "health_centre"]


@pytest.mark.parametrize("kind", ["health_station", "community_service", "elderly_daycare"])
def test_user_files_accept_the_new_kinds(tmp_path, kind):
    path = tmp_path / "f.csv"
    path.write_text(f"kind,name,lon,lat\n{kind},X,104.06,30.66\n", encoding="utf-8")
    assert list(facilities_from_file(path, UTM48)["kind"]) == [kind]


def test_park_presets_cite_a_clause_or_say_assumption():
    presets = load_standards()["park_tiers"]["presets"]
    for name, preset in presets.items():
        for tier in preset["tiers"]:
            assert tier["clause"], (name, tier["name"])
            if tier.get("assumption"):
                assert tier["assumption_reason"], (name, tier["name"])
    activity = presets["activity-space-2021"]
    assert activity["metric"] == "park_activity_space_coverage"
    rules = {(k, v) for rule in activity["features"] for k, vs in rule.items() for v in vs}
    assert {("leisure", "park"), ("leisure", "garden"), ("leisure", "common"),
            ("leisure", "village_green"), ("place", "square"), ("landuse", "recreation_ground"),
            ("landuse", "village_green")} <= rules
    assert activity["features_all_tags"] == [{"highway": ["pedestrian"], "area": ["yes"]}]
    # "300 米见绿、500 米见园": the radii are the indicator's; every area floor is assumed
    assert sorted(t["radius_m"] for t in activity["tiers"]) == [300, 500]
    assert all(t["assumption"] is True for t in activity["tiers"])
