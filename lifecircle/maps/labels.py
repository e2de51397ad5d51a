"""Words on the maps and figures, in Chinese (default) or English, and how numbers are shown."""

from __future__ import annotations

import math
import re

from lifecircle.errors import InputError
from lifecircle.seeds import load_standards

LANGS = ("zh", "en")

#: The credit OpenStreetMap data requires (ODbL), on every map and map figure.
OSM_CREDIT = "© OpenStreetMap contributors"

_TEXT: dict[str, dict[str, str]] = {
    "title": {"zh": "步行可达性", "en": "Walking access"},
    "study_area": {"zh": "研究范围", "en": "Study area"},
    "population": {"zh": "人口网格 · 至{kind}步行距离", "en": "Population cells · walk to {kind}"},
    "facilities": {"zh": "设施 · {kind}", "en": "Facilities · {kind}"},
    "service_circles": {"zh": "服务圈 · {kind} {radii}", "en": "Service circles · {kind} {radii}"},
    "residential": {"zh": "居住用地 · 公园服务半径覆盖", "en": "Residential land · park coverage"},
    "catchments": {"zh": "服务范围 · {kind}", "en": "Catchments · {kind}"},
    "circles": {"zh": "服务圈（步行可达范围）", "en": "Service circles (reach on foot)"},
    "base_plain": {"zh": "空白底图（离线）", "en": "Plain background (offline)"},
    "base_osm": {"zh": "OpenStreetMap 底图（需联网）", "en": "OpenStreetMap tiles (online)"},
    "legend": {"zh": "图例", "en": "Legend"},
    "walk_to": {"zh": "至{kind}步行距离（服务半径 {radius}）",
                "en": "Walk to {kind} (threshold {radius})"},
    "unreachable": {"zh": "不可达", "en": "unreachable"},
    "within": {"zh": "{range}（覆盖）", "en": "{range} (covered)"},
    "residential_covered": {"zh": "已覆盖居住用地", "en": "Residential land covered"},
    "residential_uncovered": {"zh": "未覆盖居住用地", "en": "Residential land not covered"},
    "load": {"zh": "服务范围负荷（需求/容量）", "en": "Catchment load (demand / capacity)"},
    "load_unknown": {"zh": "容量未知", "en": "capacity unknown"},
    "over_capacity": {"zh": "超容量", "en": "over capacity"},
    "name": {"zh": "名称", "en": "Name"},
    "kind": {"zh": "类型", "en": "Kind"},
    "capacity": {"zh": "容量", "en": "Capacity"},
    "assumed": {"zh": "按标准估算", "en": "assumed from the standard"},
    "load_ratio": {"zh": "负荷率", "en": "Load ratio"},
    "demand": {"zh": "需求", "en": "Demand"},
    "people": {"zh": "人口", "en": "Population"},
    "distance": {"zh": "步行距离", "en": "Walking distance"},
    "kinds_reached": {"zh": "生活圈内设施类型数", "en": "Kinds within reach"},
    "missing_kinds": {"zh": "生活圈内缺少", "en": "Missing within reach"},
    "facility_id": {"zh": "编号", "en": "Id"},
    "targets": {"zh": "规划目标", "en": "Plan targets"},
    "no_targets": {"zh": "本次运行未评估规划目标", "en": "No plan targets in this run"},
    "indicator": {"zh": "指标", "en": "Indicator"},
    "value": {"zh": "现状", "en": "Value"},
    "target": {"zh": "目标", "en": "Target"},
    "gap": {"zh": "差距", "en": "Gap"},
    "met": {"zh": "达标", "en": "met"},
    "not_met": {"zh": "未达标", "en": "not met"},
    "not_measured": {"zh": "未测算", "en": "not measured"},
    "no_target": {"zh": "无对应目标", "en": "no target"},
    "metrics": {"zh": "已测算指标", "en": "Measured metrics"},
    "population_line": {"zh": "人口 {total} · {source}", "en": "Population {total} · {source}"},
    "population_credit": {"zh": "人口：{source}", "en": "Population: {source}"},
    "modelled": {"zh": "按居住用地模拟（{method}）",
                 "en": "modelled on residential land ({method})"},
    "raster": {"zh": "栅格 {name}", "en": "raster {name}"},
    "residential_figure": {"zh": "公园服务半径未覆盖的居住用地",
                           "en": "Residential land outside park service radii"},
    "metrics_figure": {"zh": "指标与规划目标", "en": "Metrics against plan targets"},
    "share_axis": {"zh": "占比", "en": "Share"},
    "no_data": {"zh": "无数据：{kinds}", "en": "No data: {kinds}"},
}

_KIND_GLYPHS = {
    "zh": {"kindergarten": "幼", "primary_school": "小", "middle_school": "中", "clinic": "卫",
           "hospital": "医", "park": "园", "elderly_care": "老", "sports": "体", "market": "市"},
    "en": {"kindergarten": "K", "primary_school": "P", "middle_school": "M", "clinic": "C",
           "hospital": "H", "park": "Pk", "elderly_care": "E", "sports": "S", "market": "Mk"},
}

# Metric ids -> label; "{kind}" is filled from standards.yaml.
_METRICS: dict[str, dict[str, str]] = {
    "walk_coverage.{kind}": {"zh": "{kind}步行覆盖率", "en": "Walk coverage: {kind}"},
    "facility_count.{kind}": {"zh": "{kind}数量", "en": "{kind} count"},
    "catchment.{kind}.over_capacity_demand_share": {
        "zh": "{kind}超容量服务范围需求占比", "en": "{kind}: demand in over-capacity catchments"},
    "catchment.{kind}.beyond_threshold_demand_share": {
        "zh": "{kind}超出服务半径需求占比", "en": "{kind}: demand beyond the threshold"},
    "life_circle_15min_complete": {"zh": "15分钟生活圈完整率",
                                   "en": "15-minute life circle complete"},
    "park_service_radius_coverage": {"zh": "公园绿地服务半径覆盖率",
                                     "en": "Park service-radius coverage"},
    "park_service_radius_coverage_walk": {"zh": "公园绿地服务半径覆盖率（步行）",
                                          "en": "Park service-radius coverage (walking)"},
    "park_service_radius_coverage_population": {"zh": "公园绿地服务半径覆盖率（人口）",
                                                "en": "Park service-radius coverage (population)"},
    "park_green_per_capita_m2": {"zh": "人均公园绿地面积", "en": "Park green per resident"},
    "beds_per_1000.hospital": {"zh": "每千人医院床位", "en": "Hospital beds per 1,000"},
    "beds_per_1000.elderly_care": {"zh": "每千人养老床位", "en": "Elderly-care beds per 1,000"},
    "places_per_1000.kindergarten": {"zh": "每千人幼儿园学位",
                                     "en": "Kindergarten places per 1,000"},
}

_UNITS = {
    "m2_per_person": {"zh": "m²/人", "en": "m²/person"},
    "beds_per_1000": {"zh": "床/千人", "en": "beds per 1,000"},
    "beds_per_1000_elderly": {"zh": "床/千老人", "en": "beds per 1,000 elderly"},
    "places_per_1000": {"zh": "学位/千人", "en": "places per 1,000"},
    "count": {"zh": "个", "en": ""},
    "persons": {"zh": "人", "en": "people"},
    "km": {"zh": "km", "en": "km"},
    "km2": {"zh": "km²", "en": "km²"},
    "percent": {"zh": "%", "en": "%"},
}


def check_lang(lang: str) -> str:
    """Validate a language code.

    Parameters
    ----------
    lang : str
        ``"zh"`` (Chinese) or ``"en"`` (English).

    Returns
    -------
    str
        ``lang`` unchanged.

    Raises
    ------
    InputError
        Any other value.
    """
    if lang not in LANGS:
        raise InputError(f"lang {lang}", f"expected one of {', '.join(LANGS)}")
    return lang


def text(key: str, lang: str, **fields: object) -> str:
    """A user interface string in ``lang`` with ``{fields}`` filled in."""
    return _TEXT[key][lang].format(**fields)


def kind_label(kind: str, lang: str) -> str:
    """A facility kind's name from ``standards.yaml`` (``label_zh`` / ``label_en``)."""
    spec = load_standards()["kinds"].get(kind)
    if spec is None:
        return kind
    return str(spec[f"label_{lang}"])


def kind_glyph(kind: str, lang: str) -> str:
    """One or two characters drawn in a facility marker."""
    return _KIND_GLYPHS[lang].get(kind, kind[:1].upper())


def metric_label(metric_id: str, lang: str) -> str:
    """A readable name for a metric id, e.g. ``walk_coverage.park`` -> 公园步行覆盖率."""
    if metric_id in _METRICS:
        return _METRICS[metric_id][lang]
    for pattern, names in _METRICS.items():
        if "{kind}" not in pattern:
            continue
        regex = re.escape(pattern).replace(re.escape("{kind}"), "(?P<kind>[a-z_]+)")
        match = re.fullmatch(regex, metric_id)
        if match:
            return names[lang].format(kind=kind_label(match["kind"], lang))
    return metric_id


def metres(value: float) -> str:
    """``1234.5`` -> ``"1,235 m"``."""
    return f"{value:,.0f} m"


def format_value(value: float | None, unit: str, lang: str) -> str:
    """A measured or target value in its unit: shares as percentages, others with their unit."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if unit == "share":
        return f"{value * 100:.1f}%"
    if unit == "count":
        return f"{value:,.0f}"
    suffix = _UNITS.get(unit, {}).get(lang, unit)
    number = f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{number} {suffix}".strip()


def comparator(symbol: str) -> str:
    """``>=`` -> ``≥``, ``<=`` -> ``≤``; others unchanged."""
    return {">=": "≥", "<=": "≤"}.get(symbol, symbol)


def format_gap(gap: float | None, unit: str, lang: str) -> str:
    """How far a value is from its target; shares in percentage points."""
    if gap is None or (isinstance(gap, float) and math.isnan(gap)):
        return "—"
    if unit == "share":
        points = "个百分点" if lang == "zh" else "pp"
        return f"{gap * 100:.1f} {points}"
    return format_value(gap, unit, lang)


def population_source(source: str, lang: str) -> str:
    """``raster:<file>`` / ``modelled:<method>`` in words."""
    kind, _, detail = source.partition(":")
    if kind == "raster":
        return text("raster", lang, name=detail)
    if kind == "modelled":
        return text("modelled", lang, method=detail)
    return source
