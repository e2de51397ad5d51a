"""One overview map of a batch: every area coloured by a headline metric, all figures in its
popup. Plain Leaflet, inlined, so it opens offline like every other map."""

from __future__ import annotations

import html
import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from lifecircle.maps.assets import inline_head
from lifecircle.maps.labels import metric_label
from lifecircle.output import atomic_file

# red (far from any target) to green, in fifths of the share
_COLOURS = ["#b2182b", "#ef8a62", "#fddbc7", "#a6dba0", "#1b7837"]
_OSM = ('© <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors')


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
    shapes = areas.to_crs("EPSG:4326")
    features = []
    for name, geom in zip(shapes["name"], shapes.geometry.values, strict=True):
        row = table.loc[name]
        value = row.get(colour_by)
        lines = [f"<b>{html.escape(str(name))}</b>"]
        if isinstance(row.get("error"), str):
            lines.append(html.escape(row["error"]))
        for column, cell in row.items():
            if column in ("error", "name") or pd.isna(cell):
                continue
            shown = f"{cell:.1%}" if column != "population" else f"{cell:,.0f}"
            lines.append(f"{html.escape(metric_label(str(column), lang))}: {shown}")
        features.append({
            "type": "Feature",
            "geometry": json.loads(shapely.to_geojson(shapely.set_precision(geom, 1e-6))),
            "properties": {"popup": "<br>".join(lines),
                           "colour": _colour(None if pd.isna(value) else float(value))},
        })
    title = html.escape(metric_label(colour_by, lang))
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
{inline_head()}
<style>html,body,#map{{height:100%;margin:0;background:#f2efe9}}
.legend{{background:#fff;padding:6px 10px;font:13px sans-serif}}</style></head>
<body><div id="map"></div><script>
var data = {json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)};
var map = L.map("map", {{attributionControl: true}});
var layer = L.geoJSON(data, {{
  style: function (f) {{ return {{color: "#333", weight: 1, fillColor: f.properties.colour,
                                 fillOpacity: 0.7}}; }},
  onEachFeature: function (f, l) {{ l.bindPopup(f.properties.popup); }}
}}).addTo(map);
map.fitBounds(layer.getBounds());
map.attributionControl.addAttribution({json.dumps(_OSM)});
L.control.scale().addTo(map);
var legend = L.control({{position: "bottomleft"}});
legend.onAdd = function () {{ var d = L.DomUtil.create("div", "legend");
  d.innerHTML = "<b>{title}</b><br>" + {json.dumps(_legend_rows())}; return d; }};
legend.addTo(map);
</script></body></html>
"""
    target = Path(out_dir) / "overview.html"
    return atomic_file(target, lambda tmp: tmp.write_text(page, encoding="utf-8"))


def _colour(share: float | None) -> str:
    if share is None:
        return "#bdbdbd"
    return _COLOURS[min(int(share * len(_COLOURS)), len(_COLOURS) - 1)]


def _legend_rows() -> str:
    step = 100 // len(_COLOURS)
    return "<br>".join(f'<span style="background:{c}">&nbsp;&nbsp;&nbsp;&nbsp;</span> '
                       f"{i * step}–{(i + 1) * step} %" for i, c in enumerate(_COLOURS))
