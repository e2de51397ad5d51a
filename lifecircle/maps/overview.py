"""One overview map of a batch: every area coloured by a headline metric, all figures in its
popup. A folium map drawn like a run's map (Leaflet inlined, so it opens offline)."""

from __future__ import annotations

from html import escape
from pathlib import Path

import folium
import geopandas as gpd
import pandas as pd

from lifecircle.maps.assets import inline_head
from lifecircle.maps.labels import OSM_CREDIT, format_value, metric_label
from lifecircle.maps.page import raw_element, render_page
from lifecircle.maps.webmap import OfflineMap
from lifecircle.metrics import unit_of
from lifecircle.output import atomic_file

# red (far from any target) to green, in fifths of the share
_COLOURS = ["#b2182b", "#ef8a62", "#fddbc7", "#a6dba0", "#1b7837"]
_NO_DATA = "#bdbdbd"


def write_overview(out_dir: str | Path, areas: gpd.GeoDataFrame, summary: pd.DataFrame,
                   colour_by: str, lang: str = "zh") -> Path:
    """Write ``out_dir/overview.html``: the areas coloured by ``colour_by`` (a share metric).

    Parameters
    ----------
    out_dir : the batch folder
    areas : area polygons with a ``name`` column (any CRS)
    summary : one row per area: ``name``, headline metric columns, ``error``
    colour_by : the summary column that colours the areas
    lang : "zh" or "en" labels
    """
    table = summary.set_index("name")
    shapes = areas.to_crs("EPSG:4326")[["name", "geometry"]].copy()
    shapes["popup"] = [_popup(name, table.loc[name], lang) for name in shapes["name"]]
    shapes["colour"] = [_colour(table.loc[name].get(colour_by)) for name in shapes["name"]]
    west, south, east, north = shapes.total_bounds
    m = OfflineMap(location=[(south + north) / 2, (west + east) / 2], tiles=None,
                   control_scale=True)
    m.get_root().header.add_child(raw_element(inline_head()), name="leaflet")
    group = folium.FeatureGroup(name=metric_label(colour_by, lang)).add_to(m)
    for row in shapes.itertuples():  # one layer per area: its popup is HTML, names kept as text
        colour = row.colour
        folium.GeoJson(row.geometry.__geo_interface__,
                       style_function=lambda _f, c=colour: {"color": "#333333", "weight": 1,
                                                            "fillOpacity": 0.7, "fillColor": c},
                       ).add_child(folium.Popup(row.popup)).add_to(group)
    m.fit_bounds([[south, west], [north, east]])
    legend = "<br>".join(f'<span style="background:{c}">&nbsp;&nbsp;&nbsp;&nbsp;</span> '
                         f"{i * 20}–{(i + 1) * 20} %" for i, c in enumerate(_COLOURS))
    m.get_root().html.add_child(raw_element(
        f'<div style="position:fixed;bottom:24px;left:12px;z-index:1000;background:#fff;'
        f'padding:6px 10px;font:13px sans-serif"><b>{escape(metric_label(colour_by, lang))}'
        f"</b><br>{legend}<br><small>{escape(OSM_CREDIT)}</small></div>"))
    page = render_page(m)
    return atomic_file(Path(out_dir) / "overview.html",
                       lambda tmp: tmp.write_text(page, encoding="utf-8"))


def _popup(name: str, row: pd.Series, lang: str) -> str:
    lines = [f"<b>{escape(str(name))}</b>"]
    if isinstance(row.get("error"), str):
        lines.append(escape(row["error"]))
    for column, cell in row.items():
        if column in ("error", "name") or pd.isna(cell):
            continue
        unit = "persons" if column == "population" else (unit_of(str(column)) or "share")
        lines.append(f"{escape(metric_label(str(column), lang))}: "
                     f"{format_value(float(cell), unit, lang)}")
    return "<br>".join(lines)


def _colour(share: object) -> str:
    if share is None or pd.isna(share):
        return _NO_DATA
    return _COLOURS[min(int(float(share) * len(_COLOURS)), len(_COLOURS) - 1)]
