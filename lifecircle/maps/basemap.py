"""The offline basemap of ``map.html``: streets by class, water, railways and names, drawn as
light vector layers under the analysis from the folder's ``base_*`` layers (no tiles, no network).

Labels are Leaflet markers with a text-only ``divIcon`` in their own pane between the drawn
layers (z 400) and the facility markers (z 600), so they stay readable without hiding data.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from jinja2 import Template

from lifecircle.maps import rastertiles
from lifecircle.maps.geojson import feature_collection
from lifecircle.maps.rastertiles import Paint
from lifecircle.maps.styles import (
    RAIL_COLOUR,
    STREET_STYLES,
    WATER_COLOUR,
    WATER_LINE_COLOUR,
)

#: Layer-control names of the basemap groups.
NAMES = {
    "water": {"zh": "水系", "en": "Water"},
    "rail": {"zh": "铁路", "en": "Railways"},
    "streets": {"zh": "街道", "en": "Streets"},
    "labels": {"zh": "路名与地名", "en": "Street and place names"},
}
#: Place types labelled, with their label size class (larger places in larger type).
PLACE_SIZES = {"city": "l", "town": "l", "district": "l", "county": "l", "suburb": "m",
               "quarter": "m", "village": "s", "neighbourhood": "s", "hamlet": "s"}

LABEL_CSS = """
.lc-label { background: none; border: none; }
.lc-label span { position: absolute; transform: translate(-50%, -50%); white-space: nowrap;
  color: #4d4d4d; font: 11px/1.2 "Noto Sans CJK SC", "Noto Sans SC", sans-serif;
  text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff; pointer-events: none; }
.lc-label-street span { color: #7a5a2e; font-size: 11px; }
.lc-label-l span { font-size: 16px; font-weight: bold; color: #333; }
.lc-label-m span { font-size: 13px; font-weight: bold; color: #555; }
.lc-label-s span { font-size: 10.5px; color: #666; }
.lc-label-near { display: none; }
.lc-near .lc-label-near { display: block; }
"""

#: Zoom from which the minor labels (short streets, neighbourhoods) show: below it they would
#: overlap each other at a district's extent (assumption, checked on the Chengdu screenshots).
NEAR_ZOOM = 15
#: Streets labelled at every zoom: the longest named major streets (by mapped length).
ALWAYS_LABELLED = 25


class _Labels(MacroElement):
    """Text labels added to a feature group, in a pane of their own."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
          var map = {{ this._parent.get_name() }};
          if (!map.getPane("lcLabels")) {
            var pane = map.createPane("lcLabels");
            pane.style.zIndex = 450;
            pane.style.pointerEvents = "none";
          }
          var group = {{ this.group.get_name() }};
          var near = function () {
            map.getContainer().classList.toggle("lc-near", map.getZoom() >= {{ this.near_zoom }});
          };
          map.on("zoomend", near);
          near();
          {{ this.labels }}.forEach(function (l) {
            L.marker([l[0], l[1]], {interactive: false, keyboard: false, pane: "lcLabels",
              icon: L.divIcon({className: "lc-label lc-label-" + l[3] +
                                          (l[4] ? " lc-label-near" : ""), iconSize: null,
                               html: "<span>" + l[2] + "</span>"})}).addTo(group);
          });
        })();
        {% endmacro %}
    """)

    def __init__(self, group: folium.FeatureGroup, labels: list[list[Any]]) -> None:
        super().__init__()
        self.group = group
        self.near_zoom = NEAR_ZOOM
        self.labels = json.dumps(labels, ensure_ascii=False).replace("</", "<\\/")


def draw_basemap(m: folium.Map, layers: dict[str, gpd.GeoDataFrame],
                 wgs84: dict[str, gpd.GeoSeries], lang: str, show: bool = True
                 ) -> dict[str, folium.FeatureGroup]:
    """Add the basemap groups the folder has (water, rail, streets, labels), bottom to top.

    Parameters
    ----------
    m : folium.Map
    layers : the folder's layers (``base_*`` among them, any CRS)
    wgs84 : the same layers' geometries in WGS84
    lang : "zh" or "en" (``name_en`` when present, else ``name``)
    show : shown on opening (False over online tiles, which draw their own streets and names)

    Returns
    -------
    dict of str to folium.FeatureGroup
        By id ("water", "rail", "streets", "labels"), for ``window.lifecircle.base``.
    """
    groups: dict[str, folium.FeatureGroup] = {}

    def group(key: str) -> folium.FeatureGroup:
        groups[key] = folium.FeatureGroup(name=NAMES[key][lang], show=show).add_to(m)
        return groups[key]

    if "base_water" in layers:
        frame, geometry = layers["base_water"], wgs84["base_water"]
        target = group("water")
        area = frame.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
        if rastertiles.too_heavy(geometry):  # city scale: tiles (see rastertiles)
            merc = rastertiles.to_mercator(geometry)
            # areas need no street-sharp pixels: zoom 14 at most, as residential land
            _tiles(m, target, [Paint(merc[area], WATER_COLOUR, 0.75),
                               Paint(merc[~area], WATER_LINE_COLOUR, 0.9, "line", 2)], 1,
                   rastertiles.ANALYSIS_PIXEL_M)
        else:
            _lines(geometry[area], {"color": WATER_COLOUR, "weight": 0,
                                    "fillColor": WATER_COLOUR, "fillOpacity": 0.75}, target)
            _lines(geometry[~area], {"color": WATER_LINE_COLOUR, "weight": 2, "opacity": 0.9},
                   target)
    if "base_rail" in layers:
        if rastertiles.too_heavy(wgs84["base_rail"]):
            _tiles(m, group("rail"), [Paint(rastertiles.to_mercator(wgs84["base_rail"]),
                                            RAIL_COLOUR, 0.9, "line", 1.6)], 2)
        else:
            _lines(wgs84["base_rail"], {"color": RAIL_COLOUR, "weight": 1.6, "dashArray": "6 4",
                                        "opacity": 0.9}, group("rail"))
    labels: list[list[Any]] = []
    if "base_streets" in layers:
        frame, geometry = layers["base_streets"], wgs84["base_streets"]
        target = group("streets")
        names = display_names(frame, lang)
        classes = frame["class"].astype(str).to_numpy()
        if rastertiles.too_heavy(geometry):
            # city scale: streets as tiles, by class bottom to top in their web weights (the
            # names stay as labels; no per-street tooltip)
            merc = rastertiles.to_mercator(geometry)
            _tiles(m, target, [Paint(merc[classes == cls], style.colour, 0.9, "line",
                                     style.weight) for cls, style in STREET_STYLES.items()], 3)
        else:
            for cls, style in STREET_STYLES.items():
                rows = classes == cls
                css = {"color": style.colour, "weight": style.weight, "opacity": 0.9,
                       "lineCap": "round"}
                if cls in ("major", "secondary"):
                    named = rows & (names != "")
                    _lines(geometry[rows & ~named], css, target)
                    _lines(geometry[named], css, target, [{"n": escape(n)} for n in names[named]])
                else:
                    _lines(geometry[rows], css, target)
        labels += street_labels(geometry, names, classes)
    if "base_places" in layers:
        frame, geometry = layers["base_places"], wgs84["base_places"]
        names = display_names(frame, lang)
        for point, name, place in zip(geometry, names, frame["place"].astype(str), strict=True):
            if name and place in PLACE_SIZES:
                size = PLACE_SIZES[place]
                labels.append([round(point.y, 6), round(point.x, 6), escape(name), size,
                               size == "s"])
    if labels:
        target = group("labels")
        m.get_root().header.add_child(folium.Element(f"<style>{LABEL_CSS}</style>"),
                                      name="lifecircle_label_css")
        m.add_child(_Labels(target, labels))
    return groups


def display_names(frame: gpd.GeoDataFrame, lang: str) -> np.ndarray:
    """Per row: ``name_en`` in English when present, else ``name``; "" when unnamed."""
    name = frame["name"] if "name" in frame.columns else pd.Series("", index=frame.index)
    if lang == "en" and "name_en" in frame.columns:
        name = frame["name_en"].where(frame["name_en"].notna() & (frame["name_en"] != ""), name)
    return name.fillna("").astype(str).to_numpy()


def street_labels(geometry: gpd.GeoSeries, names: np.ndarray, classes: np.ndarray
                  ) -> list[list[Any]]:
    """One label per named major street: at the middle of its longest way (a street is mapped as
    many ways; one label each would stack copies along it). Labels after the
    :data:`ALWAYS_LABELLED` longest streets are marked to show only from :data:`NEAR_ZOOM`."""
    rows = np.flatnonzero((classes == "major") & (names != ""))
    if rows.size == 0:
        return []
    geoms = geometry.to_numpy()[rows]
    length = shapely.length(geoms)  # degrees: only compared among ways of one street
    order = np.lexsort((-length, names[rows]))
    first = order[np.r_[True, names[rows][order][1:] != names[rows][order][:-1]]]
    middle = shapely.line_interpolate_point(geoms[first], 0.5, normalized=True)
    labelled = names[rows][first]
    total = pd.Series(length).groupby(names[rows]).sum().sort_values(ascending=False)
    rank = dict(zip(total.index, range(len(total)), strict=True))
    return [[round(float(p.y), 6), round(float(p.x), 6), escape(n), "street",
             rank[n] >= ALWAYS_LABELLED]
            for p, n in zip(middle, labelled, strict=True)]


def _tiles(m: folium.Map, group: folium.FeatureGroup, paints: list[Paint], z_index: int,
           pixel_m: float = 0.0) -> None:
    """``paints`` as an inlined tile pyramid in ``group``, in Leaflet's tile pane (under the
    analysis layers); ``pixel_m``: smallest pixel (see ``rastertiles.render_tiles``)."""
    rastertiles.tile_layer(paints, m.get_name(), z_index=z_index, pixel_m=pixel_m).add_to(group)


def _lines(geometry: gpd.GeoSeries, style: dict[str, Any], group: folium.FeatureGroup,
           props: list[dict[str, Any]] | None = None) -> None:
    """One GeoJson layer (constant style, not interactive unless it carries names)."""
    if len(geometry) == 0:
        return
    style = {**style, "interactive": props is not None}
    layer = folium.GeoJson(feature_collection(geometry, props), style_function=lambda _f: style,
                           control=False)
    if props is not None:
        folium.GeoJsonTooltip(fields=["n"], labels=False, sticky=True).add_to(layer)
    layer.add_to(group)
