"""Words on the maps and figures, in Chinese (default) or English. Metric names, units and number
formats come from the metric registry (:mod:`lifecircle.metrics`), re-exported here for the maps."""

from __future__ import annotations

import json
import math
from typing import Any

from lifecircle.errors import InputError
from lifecircle.metrics import format_gap, format_value, kind_label
from lifecircle.metrics import label as metric_label

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
    "catalogued": {"zh": "非空间指标", "en": "not spatial"},
    "assumed_status": {"zh": "假设值，不作判定", "en": "assumed — not judged"},
    "no_target": {"zh": "无对应目标", "en": "no target"},
    "not_judged": {"zh": "未判定（假设参数或未测算）",
                   "en": "not judged (assumed or not measured)"},
    "assumed_mark": {"zh": "（假设）", "en": " (assumed)"},
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
    "zh": {"childcare": "托", "kindergarten": "幼", "primary_school": "小", "middle_school": "中",
           "health_station": "站", "health_centre": "卫", "hospital": "医", "park": "园",
           "elderly_daycare": "照", "nursing_home": "老", "community_service": "社",
           "culture_station": "文", "culture_centre": "馆", "fitness": "健", "sports": "体",
           "market": "市"},
    # English glyphs are two letters, named in the legend ("Pr" never reads as parking)
    "en": {"childcare": "Cc", "kindergarten": "Kg", "primary_school": "Pr", "middle_school": "Ms",
           "health_station": "Hs", "health_centre": "HC", "hospital": "H", "park": "Pk",
           "elderly_daycare": "Ed", "nursing_home": "NH", "community_service": "CS",
           "culture_station": "Cs", "culture_centre": "CC", "fitness": "Ft", "sports": "Sp",
           "market": "Mk"},
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


def kind_glyph(kind: str, lang: str) -> str:
    """One or two characters drawn in a facility marker."""
    return _KIND_GLYPHS[lang].get(kind, kind[:1].upper())


def metres(value: float) -> str:
    """``1234.5`` -> ``"1,235 m"``."""
    return f"{value:,.0f} m"


def comparator(symbol: str) -> str:
    """``>=`` -> ``≥``, ``<=`` -> ``≤``; others unchanged."""
    return {">=": "≥", "<=": "≤"}.get(symbol, symbol)


def population_source(source: str, lang: str) -> str:
    """``raster:<file>`` / ``modelled:<method>`` in words."""
    kind, _, detail = source.partition(":")
    if kind == "raster":
        return text("raster", lang, name=detail)
    if kind == "modelled":
        return text("modelled", lang, method=detail)
    return source


__all__ = ["LANGS", "OSM_CREDIT", "check_lang", "comparator", "format_gap", "format_value",
           "kind_glyph", "kind_label", "metres", "metric_label", "population_source", "text"]


def js_string(value: str) -> str:
    """A JavaScript string literal, readable (UTF-8) and safe inside ``<script>``.

    >>> print(js_string("成都</script>"))
    "成都<\\/script>"
    """
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def cell_text(value: Any) -> str:
    """A table cell as text: "" for missing (None, NaN).

    >>> cell_text(float("nan")), cell_text(12)
    ('', '12')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def finite(value: Any) -> float | None:
    """A finite float, else None (missing, NaN, infinite or not a number).

    >>> finite("2.5"), finite(float("inf")), finite(None)
    (2.5, None, None)
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def number_text(value: Any, fmt: str) -> str:
    """A number in ``fmt``, "—" for missing or non-finite.

    >>> number_text(12345.6, ",.0f"), number_text(None, ",.0f")
    ('12,346', '—')
    """
    number = finite(value)
    return "—" if number is None else format(number, fmt)


def facility_ref(fid: Any) -> str:
    """A facility's id as the report and console name an unnamed one: ``OSM way 123`` for an
    OSM object (``way/123``), the id as it is for a row of a user's file (``schools:4``).

    Examples
    --------
    >>> facility_ref("node/4772476122"), facility_ref("schools:4")
    ('OSM node 4772476122', 'schools:4')
    """
    kind, _, number = str(fid).partition("/")
    return f"OSM {kind} {number}" if kind in ("node", "way", "relation") and number else str(fid)
