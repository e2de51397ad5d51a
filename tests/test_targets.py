"""The plans' target catalogue: validation, spot checks against the plans, scoring, selection."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
import yaml

from lifecircle.errors import InputError
from lifecircle.metrics import REGISTRY, UNITS
from lifecircle.metrics import is_registered as is_known_metric
from lifecircle.seeds.targets import (
    Target,
    load_targets,
    score_target,
    select_targets,
    targets_table,
)

SEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "seeds"
STATE_COUNCIL = "state-council-people-centred-urbanization-5yr-action-plan-2024.txt"
SICHUAN = "sichuan-people-centred-urbanization-5yr-plan-implementation.txt"
SICHUAN_2022 = "sichuan-urbanization-2022-key-tasks.txt"
CHONGQING = "chongqing-people-centred-urbanization-5yr-plan-implementation.txt"
QU = "qu-county-county-seat-urbanization-pilot-plan.txt"

# (id, file, anchor, figure, unit, year evidence, window)
# The figure must follow the anchor within 40 characters of the normalised text. The year evidence
# must contain the target's year and occur within `window` characters before the anchor, or
# anywhere in the document when window is None (a title or the indicator table's header).
# A year evidence of None means the clause gives no year: the note must name the horizon used.
SPOT_CHECKS = [
    ("sichuan_park_service_radius_coverage_2028", SICHUAN,
     "公园绿化活动场地服务半径覆盖率达到", "86%", "share", "到2028年", 40),
    ("sichuan_urbanization_rate_2028", SICHUAN,
     "全省常住人口城镇化率超过", "65%", "share", "到2028年底", 20),
    ("sichuan_cross_region_medical_settlement_share_2028", SICHUAN,
     "协议定点医疗机构数量的", "90%", "share", "到2028年底", 60),
    ("chengdu_metro_urban_population_2028", SICHUAN,
     "成都都市圈城镇常住人口接近", "2400万", "persons", "到2028年底", 20),
    ("national_urbanization_rate_2028", STATE_COUNCIL,
     "常住人口城镇化率提升至接近", "70%", "share", None, None),
    ("chongqing_urbanization_rate_2028", CHONGQING,
     "常住人口城镇化率达到", "76%", "share", None, None),
    ("chongqing_main_new_area_urbanization_rate_2028", CHONGQING,
     "新型工业化主战场,常住人口城镇化率达到", "70%", "share", None, None),
    ("chengdu_park_city_demonstration_areas_2022", SICHUAN_2022,
     "加快建设", "76个公园城市示范片区", "count", "2022年重点任务", None),
    ("sichuan_old_estates_renovation_starts_2022", SICHUAN_2022,
     "新开工改造城镇老旧小区", "5300个", "count", "2022年重点任务", None),
    ("sichuan_affordable_rental_housing_2022", SICHUAN_2022,
     "新筹集保障性租赁住房", "7.8万套", "dwellings", "2022年重点任务", None),
    ("qu_county_park_green_per_capita_table_2025", QU,
     "人均公园绿地面积(平方米)14.27", "16.33", "m2_per_person", "指标名称2022年2025年", None),
    ("qu_county_park_green_per_capita_text_2025", QU,
     "人均公园绿地面积达到", "15.35", "m2_per_person", "到2025年", 40),
    ("qu_county_hospital_beds_per_1000_2025", QU,
     "每千城镇常住人口拥有医疗卫生机构床位达到", "13.34", "beds_per_1000", "到2025年", 60),
    ("qu_county_elderly_beds_per_1000_elderly_2025", QU,
     "每千城镇老年人拥有养老床位(张)39.8", "40", "beds_per_1000_elderly",
     "指标名称2022年2025年", None),
    ("qu_county_elderly_beds_per_1000_text_2025", QU,
     "每千人养老床位达到", "40张以上", "beds_per_1000", None, None),
    ("qu_county_student_teacher_ratio_2025", QU,
     "普通中小学师生比达到", "1:12.5", "students_per_teacher", "到2025年", 20),
    ("qu_county_built_up_green_cover_2025", QU,
     "县城建成区绿化覆盖率(%)36.84", "39.16", "share", "指标名称2022年2025年", None),
    ("sichuan_sponge_city_built_up_area_share_2028", SICHUAN,
     "城市建成区", "65%", "share", "到2028年底", 40),
    ("qu_county_drainage_pump_stations_2025", QU,
     "新建交通闸2座、排涝泵站", "1座", "count", None, None),
    ("qu_county_drainage_gates_2025", QU, "新建交通闸", "2座", "count", None, None),
    ("qu_county_public_toilets_rebuilt_2025", QU, "改建公共厕所", "2座", "count", None, None),
    ("qu_county_geohazard_projects_2025", QU,
     "实施地质灾害治理工程及排危除险项目不低于", "5个", "count", "到2025年", 20),
]  # fmt: skip


def plan_text(name: str) -> str:
    """A plan document, NFKC-normalised, PDF punctuation mapped back, whitespace removed."""
    path = SEEDS / name
    if not path.exists():
        pytest.skip(f"plan documents not found at {SEEDS} (../shared/seeds beside the repo)")
    text = unicodedata.normalize("NFKC", path.read_text(encoding="utf-8"))
    text = text.replace("ꎬ", ",").replace("ꎮ", "。").replace("ꎻ", ";")
    return re.sub(r"\s+", "", text)


def figure_value(figure: str, unit: str, anchor: str) -> float:
    """The number a figure as written stands for, in the catalogue's unit.

    A percentage is written with "%" or sits in an indicator-table row headed "(%)".
    """
    if ":" in figure:  # a ratio written 1:12.5
        return float(figure.split(":")[1])
    number = float(re.match(r"\d+(?:\.\d+)?", figure).group())
    if "万" in figure:
        number *= 10_000
    if unit == "share" and (figure.endswith("%") or "(%)" in anchor):
        number /= 100
    return number


@pytest.fixture(scope="module")
def catalogue() -> list[Target]:
    return load_targets()


@pytest.fixture(scope="module")
def by_id(catalogue: list[Target]) -> dict[str, Target]:
    return {t.id: t for t in catalogue}


def write_catalogue(tmp_path: Path, entries: list[dict]) -> Path:
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump({"targets": entries}, allow_unicode=True), encoding="utf-8")
    return path


def entry(**changes) -> dict:
    base = {
        "id": "demo_park_coverage_2030",
        "plan": "示例规划",
        "clause": "一、(一)",
        "region": "示例市",
        "year": 2030,
        "indicator": "公园绿化活动场地服务半径覆盖率",
        "comparator": ">=",
        "value": 0.9,
        "unit": "share",
        "metric": "park_service_radius_coverage",
    }
    return base | changes


# --- the packaged catalogue ------------------------------------------------------------------


def test_catalogue_validates_with_unique_ids(catalogue):
    ids = [t.id for t in catalogue]
    assert len(catalogue) >= 50
    assert len(ids) == len(set(ids))


def test_every_plan_is_catalogued(catalogue):
    plans = {t.plan for t in catalogue}
    assert len(plans) == 5
    assert "渠县省级县城新型城镇化建设试点实施方案" in plans


def test_metrics_are_known_and_units_match(catalogue):
    measured = [t for t in catalogue if t.metric is not None]
    assert {t.metric for t in measured} >= {
        "park_activity_space_coverage",
        "park_green_per_capita_m2",
        "beds_per_1000.hospital",
        "life_circle_15min_complete",
    }
    for t in catalogue:
        assert t.unit in UNITS
        if t.metric is None:
            assert t.unmeasurable_reason and "\n" not in t.unmeasurable_reason.strip()
        else:
            assert is_known_metric(t.metric), t.id
            assert t.unmeasurable_reason is None


def test_shares_lie_in_unit_interval(catalogue):
    assert all(0 <= t.value <= 1 for t in catalogue if t.unit == "share")


def test_qualitative_targets_explain_their_value(catalogue):
    for t in catalogue:
        if t.qualitative:
            assert t.note, t.id


def test_qu_county_contradictions_kept_with_their_clauses(by_id):
    table = by_id["qu_county_park_green_per_capita_table_2025"]
    text = by_id["qu_county_park_green_per_capita_text_2025"]
    assert (table.value, text.value) == (16.33, 15.35)
    assert table.metric == text.metric == "park_green_per_capita_m2"
    assert "第13项" in table.clause and text.clause.startswith("三、(四)")
    elderly_table = by_id["qu_county_elderly_beds_per_1000_elderly_2025"]
    elderly_text = by_id["qu_county_elderly_beds_per_1000_text_2025"]
    assert elderly_table.metric is None and elderly_table.unit == "beds_per_1000_elderly"
    # no run produces elderly-care beds: catalogued with the reason, never scored from nothing
    assert elderly_text.metric is None and elderly_text.unmeasurable_reason
    assert elderly_text.denominator_note


def test_fifteen_minute_circles_map_to_life_circle_metric(by_id):
    for target_id in (
        "sichuan_15min_public_service_circle_2028",
        "chongqing_15min_quality_life_service_circle_2028",
    ):
        t = by_id[target_id]
        assert t.metric == "life_circle_15min_complete"
        assert (t.comparator, t.value, t.qualitative) == (">=", 1.0, True)


@pytest.mark.parametrize(
    ("target_id", "name", "anchor", "figure", "unit", "year_evidence", "window"),
    SPOT_CHECKS,
    ids=[check[0] for check in SPOT_CHECKS],
)
def test_spot_check_against_plan_text(
    by_id, target_id, name, anchor, figure, unit, year_evidence, window
):
    text = plan_text(name)
    target = by_id[target_id]
    assert target.unit == unit
    assert target.value == pytest.approx(figure_value(figure, unit, anchor))
    starts = [m.start() for m in re.finditer(re.escape(anchor), text)]
    assert starts, f"anchor {anchor!r} not in {name}"
    hits = [s for s in starts if figure in text[s + len(anchor) : s + len(anchor) + 40]]
    assert hits, f"{figure!r} does not follow {anchor!r} in {name}"
    if year_evidence is None:
        assert re.search("horizon|pilot period", target.note or ""), f"{target_id}: year not noted"
        return
    assert str(target.year) in year_evidence
    if window is None:
        assert year_evidence in text
    else:
        assert any(year_evidence in text[max(0, s - window) : s] for s in hits), (
            f"{year_evidence!r} not within {window} characters before {anchor!r}"
        )


# --- metric ids ------------------------------------------------------------------------------


def test_known_metric_patterns():
    assert is_known_metric("walk_coverage.park")
    assert is_known_metric("catchment.primary_school.over_capacity_demand_share")
    assert is_known_metric("facility_count.market")
    assert is_known_metric("park_service_radius_coverage_population")
    assert not is_known_metric("walk_coverage.airport")
    assert not is_known_metric("walk_coverage.")
    assert is_known_metric("beds_per_1000.health_centre")  # produced, so registered
    assert not is_known_metric("beds_per_1000.elderly_care")  # no run produces it
    assert not is_known_metric("urbanization_rate")
    assert "walk_coverage.<kind>" in {m.pattern for m in REGISTRY}


# --- user catalogues -------------------------------------------------------------------------


def test_user_catalogue_loads(tmp_path):
    targets = load_targets(write_catalogue(tmp_path, [entry()]))
    assert [t.id for t in targets] == ["demo_park_coverage_2030"]


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ([entry(), entry(value=0.8)], "demo_park_coverage_2030.id: duplicate id"),
        ([entry(comparator="=>")], "demo_park_coverage_2030.comparator:"),
        ([entry(value=86)], "demo_park_coverage_2030.value: a share must lie in 0..1"),
        ([entry(year=1999)], "demo_park_coverage_2030.year:"),
        ([entry(metric=None)], "demo_park_coverage_2030.unmeasurable_reason: required"),
        ([entry(metric="walk_coverage.airport")], "demo_park_coverage_2030.metric: unknown"),
        ([entry(unit="hectares")], "demo_park_coverage_2030.unit: unknown unit"),
        ([entry(unit="m2_per_person", value=12)], "demo_park_coverage_2030.unit: metric"),
        ([entry(valu=1)], "demo_park_coverage_2030.valu:"),
        ([entry(id="Bad-Id")], "Bad-Id.id:"),
    ],
)
def test_bad_user_catalogue_names_entry_and_field(tmp_path, entries, expected):
    path = write_catalogue(tmp_path, entries)
    with pytest.raises(InputError) as info:
        load_targets(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


def test_unreadable_catalogues_raise_input_error(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        load_targets(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("targets: [unclosed", encoding="utf-8")
    with pytest.raises(InputError, match="not valid YAML"):
        load_targets(bad)
    bad.write_text("- id: x\n", encoding="utf-8")
    with pytest.raises(InputError, match="targets: missing"):
        load_targets(bad)


# --- scoring ---------------------------------------------------------------------------------


def make(**changes) -> Target:
    return Target.model_validate(entry(**changes))


def test_score_at_least():
    target = make(value=0.86)
    short = score_target(target, 0.80)
    assert (short["met"], short["status"]) == (False, "not met")
    assert short["gap"] == pytest.approx(0.06)
    met = score_target(target, 0.9)
    assert (met["met"], met["gap"]) == (True, 0.0)
    assert score_target(target, 0.86)["met"] is True
    assert met["source"] == "示例规划 一、(一)"
    assert set(met) >= {"id", "metric", "target", "comparator", "value", "met", "gap", "unit"}


def test_score_at_most_and_strictly_greater():
    at_most = make(comparator="<=", value=0.2)
    assert score_target(at_most, 0.25)["gap"] == pytest.approx(0.05)
    assert score_target(at_most, 0.25)["met"] is False
    assert (score_target(at_most, 0.1)["met"], score_target(at_most, 0.1)["gap"]) == (True, 0.0)
    greater = make(comparator=">", value=0.65)
    assert score_target(greater, 0.65)["met"] is False
    assert score_target(greater, 0.66)["met"] is True


def test_score_equal_with_tolerance():
    target = make(comparator="==", value=0.45, tolerance=0.02)
    assert score_target(target, 0.46)["met"] is True
    assert score_target(target, 0.40)["gap"] == pytest.approx(0.03)


def test_score_unmeasured_and_catalogued():
    missing = score_target(make(), None)
    assert (missing["status"], missing["met"], missing["gap"]) == ("not measured", None, None)
    assert score_target(make(), float("nan"))["status"] == "not measured"
    catalogued = make(metric=None, unit="persons", value=280000, unmeasurable_reason="statistics")
    scored = score_target(catalogued, None)
    assert (scored["status"], scored["met"]) == ("catalogued, not measured", None)
    with pytest.raises(ValueError, match="names no metric"):
        score_target(catalogued, 1.0)


# --- selection -------------------------------------------------------------------------------


def test_select_by_region_is_forgiving(catalogue):
    sichuan = select_targets(catalogue, region="四川")
    regions = {t.region for t in sichuan}
    assert {"四川省", "成都市", "渠县", "全国"} <= regions
    assert "重庆市" not in regions
    assert select_targets(catalogue, region="四川省") == sichuan
    assert {t.id for t in select_targets(catalogue, region=" 四川 ")} == {t.id for t in sichuan}


def test_select_includes_enclosing_regions_unless_asked_not_to(catalogue):
    qu = select_targets(catalogue, region="渠县")
    regions = {t.region for t in qu}
    assert regions == {"渠县", "四川省", "全国"}
    assert "sichuan_park_service_radius_coverage_2028" in {t.id for t in qu}
    only_qu = select_targets(catalogue, region="渠县", enclosing=False)
    assert {t.region for t in only_qu} == {"渠县"}
    with pytest.raises(InputError, match=r"--region 武汉: unknown region; known: 全国, "):
        select_targets(catalogue, region="武汉")
    # a run on a study area in Sichuan: Sichuan's and the nation's targets, not its places'
    sichuan = {t.region for t in select_targets(catalogue, region="四川", nested=False)}
    assert "四川省" in sichuan and "全国" in sichuan
    assert not sichuan & {"成都市", "渠县", "重庆市"}
    chongqing = {t.region for t in select_targets(catalogue, region="重庆")}
    assert chongqing == {"重庆市", "重庆市主城新区", "重庆市山区库区", "全国"}


def test_select_by_ids(catalogue):
    ids = ["qu_county_hospital_beds_per_1000_2025", "sichuan_park_service_radius_coverage_2028"]
    chosen = select_targets(catalogue, ids=ids)
    assert {t.id for t in chosen} == set(ids)
    assert [t.id for t in select_targets(catalogue, region="重庆", ids=ids)] == []
    with pytest.raises(InputError, match="unknown target id: nope"):
        select_targets(catalogue, ids=["nope"])


def test_targets_table_lists_every_row(catalogue):
    from rich.console import Console

    table = targets_table(catalogue)
    assert table.row_count == len(catalogue)
    console = Console(record=True, width=200)
    beds = select_targets(catalogue, ids=["qu_county_hospital_beds_per_1000_2025"])
    console.print(targets_table(beds))
    out = console.export_text()
    assert "13.34 beds_per_1000" in out and "beds_per_1000.hospital" in out
