"""``sites.html``: the map of a siting run (``lifecircle site``), offline like ``map.html``.

Draws what ``sites.gpkg`` holds, computing nothing: the proposed sites numbered in order, each
site's service radius, the kind's existing facilities, the population cells covered only with the
new sites (``newly_covered``, computed in :mod:`lifecircle.scenarios.site`), the study area and
the offline basemap (``base_*`` layers, :mod:`lifecircle.maps.basemap`).
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pyogrio

from lifecircle.errors import InputError
from lifecircle.maps.assets import inline_head
from lifecircle.maps.basemap import draw_basemap
from lifecircle.maps.geojson import feature_collection, to_wgs84
from lifecircle.maps.labels import (
    OSM_CREDIT,
    check_lang,
    format_value,
    kind_glyph,
    kind_label,
    metres,
    metric_label,
)
from lifecircle.maps.page import raw_element, render_page
from lifecircle.maps.panels import PAGE_CSS, LegendSection, fac_badge, legend_html
from lifecircle.maps.styles import STUDY_AREA_COLOUR
from lifecircle.maps.tiles import OSM_CREDIT_HTML, add_tiles, check_tiles
from lifecircle.maps.webmap import SCORECARD_PX, OfflineMap, _PageScript
from lifecircle.metrics import unit_of
from lifecircle.output import atomic_file

#: Colour of the proposed sites and their radii, and of the cells they newly cover.
SITE_COLOUR = "#6a3d9a"
NEW_COLOUR = "#33a02c"

_TEXT = {
    "title": {"zh": "新增{kind}选址", "en": "Proposed {kind} sites"},
    "sites": {"zh": "拟建设施（按选址顺序编号）", "en": "Proposed sites (numbered in order)"},
    "radius": {"zh": "服务半径", "en": "Service radius"},
    "existing": {"zh": "现有{kind}", "en": "Existing {kind}"},
    "newly": {"zh": "新增覆盖人口网格", "en": "Population cells newly covered"},
    "newly_line": {"zh": "新增覆盖人口 {people}", "en": "Newly covered: {people} people"},
    "figure": {"zh": "{metric}：{before} → {after}", "en": "{metric}: {before} → {after}"},
    "site": {"zh": "选址 {n}", "en": "Site {n}"},
    "people": {"zh": "人口", "en": "Population"},
    "after": {"zh": "建成后指标", "en": "Figure after"},
    "study_area": {"zh": "研究范围", "en": "Study area"},
    "legend": {"zh": "图例", "en": "Legend"},
}

SITES_CSS = """
#lc-sites-card { top: 10px; left: 54px; width: 340px; max-height: calc(40% - 20px); }
#lc-legend { max-height: calc(60% - 50px); }
div.lc-site { width: 24px; height: 24px; border-radius: 50%; background: #6a3d9a; color: #fff;
  display: flex; align-items: center; justify-content: center; font: bold 13px/1 sans-serif;
  border: 2px solid #fff; box-shadow: 0 0 3px rgba(0,0,0,0.7); box-sizing: border-box; }
"""


def _t(key: str, lang: str, **fields: object) -> str:
    return _TEXT[key][lang].format(**fields)


def write_sites_map(out_dir: str | Path, lang: str = "zh", tiles: str = "none") -> Path:
    """Write ``out_dir/sites.html`` from ``sites.json`` and ``sites.gpkg`` (atomically).

    Parameters
    ----------
    out_dir : folder written by ``lifecircle site`` (or its staging folder)
    lang : ``"zh"`` or ``"en"``
    tiles : ``"none"`` (offline), ``"osm"`` or ``"tianditu"`` (:mod:`lifecircle.maps.tiles`)

    Returns
    -------
    Path
        ``out_dir/sites.html``.

    Raises
    ------
    InputError
        The folder has no ``sites.json`` / ``sites.gpkg``.
    """
    lang = check_lang(lang)
    check_tiles(tiles)
    folder = Path(out_dir)
    gpkg, summary_path = folder / "sites.gpkg", folder / "sites.json"
    if not summary_path.exists():
        raise InputError(summary_path, "not found: not a folder written by lifecircle site")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    layers: dict[str, gpd.GeoDataFrame] = {}
    if gpkg.exists():
        for name, _ in pyogrio.list_layers(gpkg):
            layers[str(name)] = gpd.read_file(gpkg, layer=str(name), engine="pyogrio")
    html = render_page(build_sites_map(summary, layers, lang, tiles))
    return atomic_file(folder / "sites.html", lambda tmp: tmp.write_text(html, encoding="utf-8"))


def build_sites_map(summary: dict[str, Any], layers: dict[str, gpd.GeoDataFrame],
                    lang: str, tiles: str = "none") -> folium.Map:
    """The folium map of a siting run; ``window.lifecircle.layers`` holds ``sites``,
    ``service_radius``, ``existing``, ``newly_covered`` and ``study_area`` when present."""
    kind = str(summary["kind"])
    wgs84 = {name: to_wgs84(frame.geometry, name) for name, frame in layers.items()
             if frame.crs is not None}
    focus = [wgs84[n] for n in ("service_radius", "newly_covered", "sites") if n in wgs84]
    if not focus:
        focus = [s for n, s in wgs84.items() if not n.startswith("base_")]
    if not focus:
        raise InputError("sites.gpkg", "has no layer to draw")
    boxes = np.array([s.total_bounds for s in focus if len(s)])
    south, west = float(boxes[:, 1].min()), float(boxes[:, 0].min())
    north, east = float(boxes[:, 3].max()), float(boxes[:, 2].max())
    m = OfflineMap(location=[(south + north) / 2, (west + east) / 2], zoom_start=13, tiles=None,
                   zoom_snap=0.25)
    root = m.get_root()
    root.title = f"lifecircle · {_t('title', lang, kind=kind_label(kind, lang))}"
    root.header.add_child(raw_element(inline_head()), name="leaflet")
    root.header.add_child(raw_element(f"<style>{PAGE_CSS}{SITES_CSS}</style>"),
                          name="lifecircle_css")
    online = add_tiles(m, tiles, lang, page="sites.html")
    base = draw_basemap(m, layers, wgs84, lang, show=not online)
    groups: dict[str, folium.FeatureGroup] = {}
    legend: list[LegendSection] = []

    def group(key: str, name: str) -> folium.FeatureGroup:
        groups[key] = folium.FeatureGroup(name=escape(name), show=True).add_to(m)
        return groups[key]

    if "study_area" in wgs84:
        style = {"color": STUDY_AREA_COLOUR, "weight": 2, "dashArray": "6 4", "fill": False,
                 "interactive": False}
        _geojson(feature_collection(wgs84["study_area"]), style).add_to(
            group("study_area", _t("study_area", lang)))
        section = LegendSection(_t("study_area", lang), ["study_area"])
        section.add_dashed(STUDY_AREA_COLOUR, _t("study_area", lang))
        legend.append(section)
    if "newly_covered" in wgs84:
        frame = layers["newly_covered"]
        props = [{"s": _t("site", lang, n=int(s)), "p": f"{float(p):,.0f}"}
                 for s, p in zip(frame["site"], frame["population"], strict=True)]
        layer = _geojson(feature_collection(wgs84["newly_covered"], props),
                         {"color": NEW_COLOUR, "weight": 0, "fillColor": NEW_COLOUR,
                          "fillOpacity": 0.55})
        folium.GeoJsonTooltip(fields=["s", "p"], aliases=["", _t("people", lang)]).add_to(layer)
        layer.add_to(group("newly_covered", _t("newly", lang)))
        section = LegendSection(_t("newly", lang), ["newly_covered"])
        section.add_fill(NEW_COLOUR, _t("newly", lang))
        legend.append(section)
    if "service_radius" in wgs84:
        frame = layers["service_radius"]
        radii = sorted({float(r) for r in frame["radius_m"]})
        label = f"{_t('radius', lang)} {'/'.join(metres(r) for r in radii)}"
        style = {"color": SITE_COLOUR, "weight": 1.5, "dashArray": "5 4", "fillColor": SITE_COLOUR,
                 "fillOpacity": 0.06, "interactive": False}
        _geojson(feature_collection(wgs84["service_radius"]), style).add_to(
            group("service_radius", label))
        section = LegendSection(_t("radius", lang), ["service_radius"])
        section.add_outlined(SITE_COLOUR, label, "service_radius")
        legend.append(section)
    if "existing" in wgs84 and len(wgs84["existing"]):
        frame = layers["existing"]
        points = to_wgs84(frame.geometry.representative_point(), "existing")
        names = (frame["name"] if "name" in frame.columns else [""] * len(frame))
        props = [{"n": escape(str(n)) if isinstance(n, str) and n else "—"} for n in names]
        icon = folium.DivIcon(html=fac_badge(kind, kind_glyph(kind, lang), marker=True),
                              icon_size=(20, 20), icon_anchor=(10, 10), class_name="lc-divicon")
        markers = folium.GeoJson(feature_collection(points, props),
                                 marker=folium.Marker(icon=icon), control=False)
        folium.GeoJsonTooltip(fields=["n"], labels=False).add_to(markers)
        name = _t("existing", lang, kind=kind_label(kind, lang))
        markers.add_to(group("existing", name))
        section = LegendSection(name, ["existing"])
        section.rows.append((fac_badge(kind, kind_glyph(kind, lang)), name, None))
        legend.append(section)
    sites = summary.get("sites") or []
    if sites:
        target = group("sites", _t("sites", lang))
        unit = unit_of(str(summary.get("metric"))) or ""
        for site in sites:
            order = int(site["order"])
            icon = folium.DivIcon(html=f'<div class="lc-site" data-order="{order}">{order}</div>',
                                  icon_size=(24, 24), icon_anchor=(12, 12),
                                  class_name="lc-divicon")
            tip = (f"{_t('site', lang, n=order)} · {escape(str(site.get('candidate_id', '')))}"
                   f"<br>{_t('after', lang)}: "
                   f"{escape(format_value(site.get('figure_after'), unit, lang))}")
            folium.Marker([site["lat"], site["lon"]], icon=icon, tooltip=tip).add_to(target)
        section = LegendSection(_t("sites", lang), ["sites"])
        section.rows.append(('<span class="lc-fac" style="background:#6a3d9a">1</span>',
                             _t("sites", lang), None))
        legend.append(section)
    folium.LayerControl(collapsed=True).add_to(m)
    m.fit_bounds([[south, west], [north, east]], padding_top_left=(SCORECARD_PX - 100, 10),
                 padding_bottom_right=(10, 10))
    m.add_child(_PageScript(groups, [OSM_CREDIT_HTML], base))
    root.html.add_child(raw_element(_card(summary, kind, lang)), name="lifecircle_card")
    root.html.add_child(raw_element(legend_html(legend, lang)), name="lifecircle_legend")
    return m


def _card(summary: dict[str, Any], kind: str, lang: str) -> str:
    """The summary panel: what was sited, the figure before and after, the people newly
    covered (every number from sites.json)."""
    metric = str(summary.get("metric", ""))
    unit = unit_of(metric) or ""
    after = (summary.get("after_each_site") or [summary.get("before")])[-1]
    lines = [_t("figure", lang, metric=metric_label(metric, lang),
                before=format_value(summary.get("before"), unit, lang),
                after=format_value(after, unit, lang))]
    people = summary.get("newly_covered_population")
    if people is not None:
        lines.append(_t("newly_line", lang, people=f"{float(people):,.0f}"))
    body = "".join(f'<div class="lc-sub">{escape(line)}</div>' for line in lines)
    title = _t("title", lang, kind=kind_label(kind, lang))
    return (f'<div id="lc-sites-card" class="lc-panel"><h1>{escape(title)} · '
            f"{len(summary.get('sites') or [])}</h1>{body}"
            f'<div class="lc-sub">{escape(OSM_CREDIT)}</div></div>')


def _geojson(data: dict[str, Any], style: dict[str, Any]) -> folium.GeoJson:
    return folium.GeoJson(data, style_function=lambda _f: style, control=False)
