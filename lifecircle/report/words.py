"""Words of the printable report, in Chinese (default) or English."""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "title": {"zh": "{name} 步行可达性与规划目标评估",
              "en": "{name}: walking access and plan targets"},
    "subtitle": {"zh": "15 分钟生活圈 · 公园绿地服务半径 · 设施服务范围",
                 "en": "15-minute life circles · park service radii · facility catchments"},
    "study_area": {"zh": "研究范围", "en": "Study area"},
    "area_line": {"zh": "面积 {area} km² · 步行路网 {network} km · 范围来源：{source}",
                  "en": "Area {area} km² · walk network {network} km · boundary: {source}"},
    "sources": {"zh": "数据来源与完整性", "en": "Data sources and completeness"},
    "osm_file": {"zh": "OpenStreetMap 数据", "en": "OpenStreetMap data"},
    "population": {"zh": "人口", "en": "Population"},
    "population_line": {"zh": "{total} 人 · {cells} 个网格 · {source}",
                        "en": "{total} people · {cells} cells · {source}"},
    "facilities": {"zh": "设施（按类型）", "en": "Facilities by kind"},
    "missing": {"zh": "缺少的数据层", "en": "Missing layers"},
    "none": {"zh": "无", "en": "none"},
    "notes": {"zh": "说明", "en": "Notes"},
    "scorecard": {"zh": "规划目标对照", "en": "Scorecard against plan targets"},
    "indicator": {"zh": "指标", "en": "Indicator"},
    "value": {"zh": "现状", "en": "Value"},
    "target": {"zh": "目标", "en": "Target"},
    "gap": {"zh": "差距", "en": "Gap"},
    "plan": {"zh": "规划文件与条款", "en": "Plan and clause"},
    "status": {"zh": "结论", "en": "Status"},
    "met": {"zh": "达标", "en": "met"},
    "not met": {"zh": "未达标", "en": "not met"},
    "not measured": {"zh": "未测算", "en": "not measured"},
    "assumed — not judged": {"zh": "按假设估算，不作判定", "en": "assumed — not judged"},
    "catalogued, not measured": {"zh": "已收录，无法用空间数据测算",
                                 "en": "catalogued, not measured"},
    "assumed": {"zh": "含估算", "en": "assumed"},
    "area_osm_bounds": {"zh": "OSM 文件声明的范围", "en": "bounds declared by the OSM file"},
    "area_extent": {"zh": "数据范围（文件中带标签要素的外包框）",
                    "en": "extent of the data (the box of the file's tagged points)"},
    "area_boundary": {"zh": "边界文件 {value}", "en": "boundary file {value}"},
    "area_adcode": {"zh": "行政区划代码 {value}", "en": "administrative code {value}"},
    "area_county": {"zh": "县（区）{value}", "en": "county {value}"},
    "approximate": {"zh": "近似", "en": "approximate"},
    "no_targets": {"zh": "本次运行未评估规划目标。", "en": "No plan targets in this run."},
    "maps": {"zh": "分类型步行覆盖图", "en": "Walking coverage by kind"},
    "no_figures": {"zh": "本次运行未绘制静态图件（--no-figures）；各类设施的步行覆盖见同一"
                         "文件夹中的 map.html，去掉 --no-figures 重新运行可在报告中附图。",
                   "en": "No static figures were drawn in this run (--no-figures); the walking "
                         "coverage of every kind is in map.html in the same folder. Run again "
                         "without --no-figures to have them in the report."},
    "metrics_chart": {"zh": "指标与目标", "en": "Metrics and targets"},
    "parks": {"zh": "公园绿地", "en": "Parks"},
    "park_coverage": {"zh": "公园绿地服务半径覆盖率", "en": "Park service-radius coverage"},
    "park_per_capita": {"zh": "人均公园绿地面积", "en": "Park green per resident"},
    "park_ha": {"zh": "居住用地 {total} ha，其中覆盖 {covered} ha",
                "en": "Residential land {total} ha, {covered} ha covered"},
    "park_to_target": {"zh": "目标（{plan}）：{indicator} {target}；现状 {value}，还需覆盖居住用地 "
                             "{hectares} ha",
                       "en": "Target ({plan}): {indicator} {target}; now {value}, {hectares} ha "
                             "more residential land to cover"},
    "park_name": {"zh": "公园", "en": "Park"},
    "park_area": {"zh": "面积 (m²)", "en": "Area (m²)"},
    "park_tier": {"zh": "服务半径", "en": "Service radius"},
    "park_covered": {"zh": "半径内居住用地 (m²)", "en": "Residential land in radius (m²)"},
    "not_counted": {"zh": "不计入（面积不足）", "en": "not counted (too small)"},
    "unnamed_park": {"zh": "未命名公园（{ref}）", "en": "Unnamed park ({ref})"},
    "unnamed_facility": {"zh": "未命名（{ref}）", "en": "Unnamed ({ref})"},
    "tier_rule": {"zh": "≥ {area} m² → {radius} m", "en": "≥ {area} m² → {radius} m"},
    "catchments": {"zh": "超容量的服务范围", "en": "Over-capacity catchments"},
    "catchments_intro": {"zh": "需求超过容量（负荷率 > 1）的设施，按负荷率排序。",
                         "en": "Facilities whose demand exceeds capacity (load ratio > 1), "
                               "by load ratio."},
    "no_over_capacity": {"zh": "没有超容量的设施。", "en": "No facility is over capacity."},
    "kind": {"zh": "类型", "en": "Kind"},
    "name": {"zh": "名称", "en": "Name"},
    "capacity": {"zh": "容量", "en": "Capacity"},
    "people": {"zh": "服务人口", "en": "Population"},
    "demand": {"zh": "需求", "en": "Demand"},
    "load_ratio": {"zh": "负荷率", "en": "Load ratio"},
    "capacity_assumed": {"zh": "*按标准估算", "en": "*assumed from the standard"},
    "credits": {"zh": "数据署名", "en": "Credits"},
    "generated": {"zh": "由 lifecircle {version} 生成", "en": "Made with lifecircle {version}"},
}


def word(key: str, lang: str, **fields: object) -> str:
    """A report string in ``lang`` with ``{fields}`` filled in."""
    return WORDS[key][lang].format(**fields)
