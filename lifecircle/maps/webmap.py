"""The interactive map ``DIR/map.html``: a folium map of a run's output folder that works offline.

Leaflet is inlined (``assets``); by default no element asks for anything outside the file: the
basemap is drawn from the run's own OSM file. At city scale heavy layers become inlined raster
tiles (``rastertiles``) or images (``overlay``). Online tiles are opt-in (``tiles="osm"`` or
``"tianditu"``, :mod:`lifecircle.maps.tiles`); the browser fetches them, never Python.
"""

from __future__ import annotations

import math
import re
from html import escape
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import MacroElement
from jinja2 import Template

from lifecircle.errors import InputError
from lifecircle.maps import rastertiles
from lifecircle.maps.assets import inline_head
from lifecircle.maps.basemap import draw_basemap
from lifecircle.maps.citylayers import CATCHMENT_ALIASES, catchment_numbers, residential_paints
from lifecircle.maps.folder import MAX_VECTOR_CELLS, OutputFolder, read_folder
from lifecircle.maps.geojson import (
    DECIMALS,
    TOLERANCE_M,
    LazyWgs84,
    feature_collection,
    page_geometries,
    put_geometries,
    to_wgs84,
    wgs84_bounds,
)
from lifecircle.maps.labels import (
    cell_text,
    check_lang,
    finite,
    js_string,
    kind_glyph,
    kind_label,
    metres,
    number_text,
    population_source,
    text,
)
from lifecircle.maps.overlay import image_overlay
from lifecircle.maps.page import raw_element, render_page
from lifecircle.maps.panels import (
    HATCH_DEFS,
    LEGEND_JS,
    PAGE_CSS,
    LegendSection,
    fac_badge,
    legend_html,
    scorecard_html,
)
from lifecircle.maps.rastertiles import (
    ANALYSIS_PANE,
    ANALYSIS_PIXEL_M,
    CATCHMENT_PIXEL_M,
    Paint,
)
from lifecircle.maps.styles import (
    COVERED_COLOUR,
    STUDY_AREA_COLOUR,
    UNCOVERED_COLOUR,
    DistanceClasses,
    kind_colour,
    load_class,
    load_colours,
    load_labels,
)
from lifecircle.maps.tiles import OSM_CREDIT_HTML, add_tiles, check_tiles
from lifecircle.output import atomic_file

#: above this many service circles in all, each kind's circles are one image of their union
#: (assumption: the issue's 1x city has 202 facilities, 10x 2,020)
MAX_VECTOR_CIRCLES = 2_000
#: above this many vertices in all, each kind's covered area (``service_areas``) is an image
#: (assumption: central Chengdu's nine kinds have ~72,000, about 1 MB of GeoJSON once simplified)
MAX_VECTOR_AREA_COORDS = 250_000
#: pixel size of the circles' image, Web Mercator metres (assumption: a tenth of the smallest
#: 300 m radius; enlarged to keep the image within overlay.MAX_SIDE_PX)
CIRCLE_PIXEL_M = 30.0
SCORECARD_PX = 460  # the panels' width and left offset, in CSS pixels


class OfflineMap(folium.Map):
    """folium.Map without CDN links; ``write_map`` inlines Leaflet instead."""

    default_js: list[tuple[str, str]] = []
    default_css: list[tuple[str, str]] = []


class _PageScript(MacroElement):
    """The page's own script, after every layer: ``window.lifecircle`` (the Leaflet map and each
    named layer by id), the scale bar, the credits and the legend's visibility rules."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        window.lifecircle = {map: {{ this._parent.get_name() }}, layers: {
        {%- for key, group in this.groups.items() %}
            {{ key|tojson }}: {{ group.get_name() }},
        {%- endfor %}
        }, base: {
        {%- for key, group in this.base.items() %}
            {{ key|tojson }}: {{ group.get_name() }},
        {%- endfor %}
        }};
        L.control.scale({imperial: false, maxWidth: 160}).addTo({{ this._parent.get_name() }});
        {%- for credit in this.credits %}
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ credit }});
        {%- endfor %}
        {{ this.legend_js }}
        {% endmacro %}
    """)

    def __init__(self, groups: dict[str, folium.FeatureGroup], credits: list[str],
                 base: dict[str, folium.FeatureGroup] | None = None) -> None:
        super().__init__()
        self.groups = groups
        self.base = base or {}
        self.credits = [js_string(c) for c in credits]
        self.legend_js = LEGEND_JS


def write_map(out_dir: str | Path, lang: str = "zh", kind: str | None = None, *,
              tiles: str = "none") -> Path:
    """Write ``out_dir/map.html``, the interactive map of a run's output folder.

    Draws what the folder holds: population cells coloured by walking distance to ``kind`` (blue
    within the threshold, red beyond), facilities by kind, service circles, residential land with
    the parts outside park service radii hatched, catchments, the study area; a legend, a layer
    control, a scale bar, the scorecard panel of plan targets and the OpenStreetMap / population
    credits. The file is self-contained and written atomically (temporary file + ``os.replace``).

    At city scale the page stays light: a layer whose GeoJSON would exceed
    ``rastertiles.MAX_VECTOR_BYTES`` (streets, water, railways, residential land, catchments)
    is an inlined raster tile pyramid instead (:mod:`lifecircle.maps.rastertiles`; catchment
    numbers then sit in the facility popups), and population cells and service circles above
    ``MAX_VECTOR_CELLS`` / ``MAX_VECTOR_CIRCLES`` are images (:mod:`lifecircle.maps.overlay`).

    Parameters
    ----------
    out_dir : str or Path
        A folder written by ``lifecircle run`` (scorecard.json, coverage.gpkg).
    lang : str
        ``"zh"`` (Chinese, default) or ``"en"``.
    kind : str or None
        Facility kind the population cells are coloured by; default ``primary_school`` when
        measured, else the first measured kind.
    tiles : str
        ``"none"`` (default: the page makes no request outside its own file), ``"osm"`` or
        ``"tianditu"``: online tiles under the layers, fetched by the browser
        (:mod:`lifecircle.maps.tiles`; Tianditu's key is read from ``TIANDITU_KEY``).

    Returns
    -------
    Path
        ``out_dir/map.html``.

    Raises
    ------
    InputError
        When the folder is not an output folder, ``lang`` or ``tiles`` is unknown, ``kind`` was
        not measured, or Tianditu's key is missing.
    """
    check_tiles(tiles)  # a missing key fails before the folder is read
    return write_folder_map(read_folder(out_dir), lang, kind, tiles=tiles)


def write_folder_map(folder: OutputFolder, lang: str = "zh", kind: str | None = None, *,
                     tiles: str = "none") -> Path:
    """:func:`write_map` of a folder already read (:func:`~lifecircle.maps.folder.
    read_folder`), or made from a run's layers before they are written (:func:`~lifecircle.
    maps.as_written.folder_as_written`): ``folder.path/map.html``.

    Examples
    --------
    >>> import tempfile
    >>> from lifecircle import Study, run
    >>> from lifecircle.data import sample_path
    >>> study = Study.from_osm(sample_path(), residential_density=400, kinds=["park"])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = run(study).to_folder(Path(tmp) / "out", figures=False)
    ...     write_folder_map(read_folder(out), "en").read_bytes() == write_map(out, "en"
    ...                                                                         ).read_bytes()
    True
    """
    lang = check_lang(lang)
    check_tiles(tiles)
    if kind is not None and kind not in folder.kinds:
        measured = ", ".join(folder.kinds) or "none"
        raise InputError(f"kind {kind}", f"not measured in {folder.path}; measured: {measured}")
    with page_geometries() as texts:
        html = put_geometries(render_page(build_map(folder, lang, kind or folder.default_kind(),
                                                    tiles)), texts)
    return atomic_file(folder.path / "map.html",
                        lambda tmp: tmp.write_text(html, encoding="utf-8"))


def build_map(folder: OutputFolder, lang: str, kind: str | None, tiles: str = "none"
              ) -> folium.Map:
    """The folium map of an output folder (see ``write_map``); ``window.lifecircle`` in the page
    holds the Leaflet map and each named layer, keyed by a stable id such as ``facilities:park``.

    Parameters
    ----------
    folder : OutputFolder
        The folder, read.
    lang : str
        ``"zh"`` or ``"en"``.
    kind : str or None
        Kind the population cells are coloured by (None: no population layer drawn).
    tiles : str
        ``"none"``, ``"osm"`` or ``"tianditu"`` (see ``write_map``).

    Returns
    -------
    folium.Map
    """
    drawer = _Drawer(folder, lang, kind)
    south, west, north, east = drawer.bounds()
    m = OfflineMap(location=[(south + north) / 2, (west + east) / 2], zoom_start=13, tiles=None,
                    zoom_snap=0.25)
    root = m.get_root()
    root.title = f"lifecircle · {text('title', lang)}"
    root.header.add_child(raw_element(inline_head()), name="leaflet")
    root.header.add_child(raw_element(f"<style>{PAGE_CSS}</style>"), name="lifecircle_css")

    online = add_tiles(m, tiles, lang)
    drawer.draw(m, basemap=not online)
    folium.LayerControl(collapsed=True).add_to(m)
    # Keep the data clear of the scorecard and legend panels (left) where the window allows.
    m.fit_bounds([[south, west], [north, east]], padding_top_left=(SCORECARD_PX, 10),
                 padding_bottom_right=(10, 10))

    m.add_child(_PageScript(drawer.groups,
                            [OSM_CREDIT_HTML, escape(folder.population_credit(lang))],
                            drawer.base))

    population = folder.scorecard.get("population", {})
    total = population.get("total")
    population_line = text(
        "population_line", lang,
        total="—" if total is None else f"{float(total):,.0f}",
        source=population_source(str(population.get("source", "")), lang),
    )
    threshold = folder.threshold_m(kind) if kind else None
    root.html.add_child(raw_element(HATCH_DEFS), name="lifecircle_hatch")
    card = scorecard_html(folder.scorecard, kind, threshold, population_line, lang)
    root.html.add_child(raw_element(card), name="lifecircle_card")
    root.html.add_child(raw_element(legend_html(drawer.legend, lang)), name="lifecircle_legend")
    return m


class _Drawer:
    """Turns the folder's layers into named feature groups and legend sections."""

    def __init__(self, folder: OutputFolder, lang: str, kind: str | None) -> None:
        self.folder = folder
        self.lang = lang
        self.kind = kind
        self.groups: dict[str, folium.FeatureGroup] = {}
        self.base: dict[str, folium.FeatureGroup] = {}
        self.legend: list[LegendSection] = []
        # each kind's covered area is drawn as an image (see _circles): not simplified
        self.wgs84 = LazyWgs84(folder.layers)
        catchments = folder.layers.get("catchments")
        #: catchments too heavy for GeoJSON: drawn as tiles, numbers in the facility popups
        self.catchment_tiles = catchments is not None and rastertiles.too_heavy(
            catchments.geometry)

    def bounds(self) -> tuple[float, float, float, float]:
        """South, west, north, east of the populated cells (else the study area, else every
        analysis layer): the map opens on where people live, not on the file's extent."""
        if "population" in self.wgs84:
            # reprojected, not simplified: the bounds of a city's cells need no GeoJSON copy
            cells = self.folder.layers["population"]
            populated = cells.geometry[np.nan_to_num(cells["population"].to_numpy(float)) > 0]
            series = [wgs84_bounds(populated if len(populated) else cells.geometry)]
        elif "study_area" in self.wgs84:
            series = [self.wgs84["study_area"]]
        else:  # every analysis layer (each made only here: the copies are costly at scale)
            series = [s for name, s in self.wgs84.items() if not name.startswith("base_")]
        if not series:
            raise InputError(self.folder.path / "coverage.gpkg", "has no layer to draw")
        # rounded as the GeoJSON's coordinates are (rounding keeps the extremes extreme)
        boxes = np.round(np.array([s if isinstance(s, np.ndarray) else s.total_bounds
                                   for s in series]), DECIMALS)
        return (float(boxes[:, 1].min()), float(boxes[:, 0].min()),
                float(boxes[:, 3].max()), float(boxes[:, 2].max()))

    def draw(self, m: folium.Map, basemap: bool = True) -> None:
        """Add every layer the folder has, bottom to top; the vector basemap hidden (listed in
        the layer control) when ``basemap`` is False, i.e. over online tiles."""
        layers = self.folder.layers
        self.base = draw_basemap(m, layers, self.wgs84, self.lang, show=basemap)
        if "study_area" in layers:
            self._study_area(m)
        if "population" in layers and self.kind is not None:
            self._population(m)
        if "residential" in layers:
            self._residential(m)
        for kind in self._kinds("catchments"):
            self._catchments(m, kind)
        # per-facility circles when the run drew them, else each kind's covered area (city scale)
        circle_layer = "service_circles" if "service_circles" in layers else "service_areas"
        kinds = self._kinds(circle_layer)
        as_image = bool(kinds) and self._circles_as_image(circle_layer)
        for kind in kinds:
            self._circles(m, kind, circle_layer, as_image)
        for kind in self._kinds("facilities"):
            self._facilities(m, kind)

    # -- helpers -------------------------------------------------------------------------------

    def _group(self, m: folium.Map, key: str, name: str, show: bool) -> folium.FeatureGroup:
        group = folium.FeatureGroup(name=name, show=show).add_to(m)
        self.groups[key] = group
        return group

    def _kinds(self, layer: str) -> list[str]:
        frame = self.folder.layers.get(layer)
        if frame is None or "kind" not in frame.columns:
            return []
        present = set(frame["kind"].dropna().astype(str))
        order = [*self.folder.kinds, *sorted(present - set(self.folder.kinds))]
        return [k for k in order if k in present]

    def _rows(self, layer: str, kind: str, wgs84: bool = True
              ) -> tuple[gpd.GeoDataFrame, gpd.GeoSeries]:
        """The layer's rows of ``kind`` and their WGS84 geometry (``wgs84`` False: the
        projected geometry, for layers drawn as tiles or images)."""
        frame = self.folder.layers[layer]
        mask = (frame["kind"].astype(str) == kind).to_numpy()
        return frame[mask], (self.wgs84[layer] if wgs84 else frame.geometry)[mask]

    def _section(self, title: str) -> LegendSection:
        """The legend section with this title, added (empty) on first use."""
        section = next((s for s in self.legend if s.title == title), None)
        if section is None:
            section = LegendSection(title, [])
            self.legend.append(section)
        return section

    def _t(self, key: str, **fields: object) -> str:
        return text(key, self.lang, **fields)

    def _kind_name(self, kind: str) -> str:
        return kind_label(kind, self.lang)

    def _badge_name(self, kind: str, key: str, **fields: object) -> str:
        badge = fac_badge(kind, kind_glyph(kind, self.lang))
        return f"{badge} {escape(self._t(key, kind=self._kind_name(kind), **fields))}"

    # -- layers ----------------------------------------------------------------------------------

    def _study_area(self, m: folium.Map) -> None:
        group = self._group(m, "study_area", escape(self._t("study_area")), show=True)
        style = {"color": STUDY_AREA_COLOUR, "weight": 2, "dashArray": "6 4", "fill": False,
                 "interactive": False}
        _geojson(feature_collection(self.wgs84["study_area"]), style).add_to(group)
        section = LegendSection(self._t("study_area"), ["study_area"])
        section.add_dashed(STUDY_AREA_COLOUR, self._t("study_area"))
        self.legend.append(section)

    def _population(self, m: folium.Map) -> None:
        kind = self.kind
        assert kind is not None
        frame = self.folder.layers["population"]
        threshold = self.folder.threshold_m(kind)
        classes = DistanceClasses(threshold)
        colours = classes.colours
        name = self._t("population", kind=self._kind_name(kind))
        group = self._group(m, "population", escape(name), show=True)
        if len(frame) > MAX_VECTOR_CELLS:  # city scale: one image, no per-cell tooltips
            distance = frame[f"dist_{kind}"].to_numpy(dtype=float)
            # squares: the projected ones (no simplified copy), two pixels a side
            image_overlay(frame.geometry, classes.index(distance), colours, opacity=0.62,
                          pixel_m=None).add_to(group)
        else:
            props, fields, aliases = self._cell_properties(frame, kind, classes)
            layer = _geojson(feature_collection(self.wgs84["population"], props),
                             lambda f: {"fillColor": colours[f["properties"]["c"]], "weight": 0,
                                        "fillOpacity": 0.62})
            folium.GeoJsonTooltip(fields=fields, aliases=aliases).add_to(layer)
            layer.add_to(group)
        section = LegendSection(self._t("walk_to", kind=self._kind_name(kind),
                                        radius=metres(threshold)), ["population"])
        for colour, label in zip(colours, classes.labels(self.lang), strict=True):
            section.add_fill(colour, label)
        self.legend.append(section)

    def _cell_properties(self, frame: gpd.GeoDataFrame, kind: str, classes: DistanceClasses
                         ) -> tuple[list[dict[str, Any]], list[str], list[str]]:
        """Per cell: distance class ``c`` and the tooltip's fields, with their labels."""
        distance = frame[f"dist_{kind}"].to_numpy(dtype=float)
        unreachable = self._t("unreachable")
        props = [{"c": int(c), "d": metres(d) if math.isfinite(d) else unreachable,
                  "p": number_text(p, ",.0f")}
                 for c, d, p in zip(classes.index(distance), distance, frame["population"],
                                    strict=True)]
        fields, aliases = ["d", "p"], [self._t("distance"), self._t("people")]
        if "kinds_reached" in frame.columns:
            for prop, reached in zip(props, frame["kinds_reached"], strict=True):
                prop["r"] = number_text(reached, ",.0f")
            fields.append("r")
            aliases.append(self._t("kinds_reached"))
        if "missing_kinds" in frame.columns:
            for prop, missing in zip(props, frame["missing_kinds"], strict=True):
                kinds = [k for k in re.split(r"[,;\s]+", cell_text(missing)) if k]
                prop["m"] = escape(", ".join(kind_label(k, self.lang) for k in kinds)) or "—"
            fields.append("m")
            aliases.append(self._t("missing_kinds"))
        return props, fields, aliases

    def _residential(self, m: folium.Map) -> None:
        covered = self.folder.residential_covered()
        group = self._group(m, "residential", escape(self._t("residential")),
                            show=self.kind == "park")
        section = LegendSection(self._t("residential"), ["residential"])
        frame = self.folder.layers["residential"]
        if rastertiles.too_heavy(frame.geometry):  # city scale: tiles, no tooltip
            rastertiles.tile_layer(residential_paints(frame.geometry, covered), m.get_name(),
                                   ANALYSIS_PANE, 1, ANALYSIS_PIXEL_M).add_to(group)
        else:
            self._residential_vector(group, covered)
        if covered.any():
            section.add_fill(COVERED_COLOUR, self._t("residential_covered"))
        if (~covered).any():
            section.add_hatch(self._t("residential_uncovered"))
        self.legend.append(section)

    def _residential_vector(self, group: folium.FeatureGroup, covered: np.ndarray) -> None:
        geometry = self.wgs84["residential"]
        if covered.any():
            style = {"color": COVERED_COLOUR, "weight": 0.6, "fillColor": COVERED_COLOUR,
                     "fillOpacity": 0.3}
            layer = _geojson(feature_collection(geometry[covered]), style)
            folium.Tooltip(self._t("residential_covered")).add_to(layer)
            layer.add_to(group)
        if (~covered).any():
            style = {"color": UNCOVERED_COLOUR, "weight": 1.2, "className": "lc-hatch"}
            layer = _geojson(feature_collection(geometry[~covered]), style)
            folium.Tooltip(self._t("residential_uncovered")).add_to(layer)
            layer.add_to(group)

    def _catchments(self, m: folium.Map, kind: str) -> None:
        frame, geometry = self._rows("catchments", kind, wgs84=not self.catchment_tiles)
        names = self._facility_names()
        colours = load_colours()

        assumed = f" ({self._t('assumed')})"
        props = []
        for row in frame.to_dict("records"):
            ratio = row.get("load_ratio")
            name = cell_text(row.get("name")) or names.get(cell_text(row.get("facility_id")), "")
            capacity = number_text(row.get("capacity"), ",.0f")
            if row.get("capacity_assumed") in (True, 1) and capacity != "—":
                capacity += assumed
            props.append({
                "c": load_class(finite(ratio)),
                "name": escape(name) or "—",
                "pop": number_text(row.get("population"), ",.0f"),
                "demand": number_text(row.get("demand"), ",.0f"),
                "cap": capacity,
                "load": number_text(ratio, ".2f"),
            })
        group = self._group(m, f"catchments:{kind}", self._badge_name(kind, "catchments"),
                            show=False)
        outline = kind_colour(kind)
        if self.catchment_tiles:
            # city scale: tiles by load class with the kind's outline; each facility's numbers
            # are in its marker's popup instead (_facilities)
            merc = rastertiles.to_mercator(geometry)
            fills = [colours[p["c"]] for p in props]
            rastertiles.tile_layer([Paint(merc, fills, 0.45), Paint(merc, outline, 1.0, "line")],
                                   m.get_name(), ANALYSIS_PANE, 2, CATCHMENT_PIXEL_M
                                   ).add_to(group)
            self._load_legend(kind, colours)
            return
        layer = _geojson(feature_collection(geometry, props),
                         lambda f: {"color": outline, "weight": 1, "fillOpacity": 0.45,
                                    "fillColor": colours[f["properties"]["c"]]})
        folium.GeoJsonPopup(
            fields=["name", "pop", "demand", "cap", "load"],
            aliases=[self._t(k) for k in ("name", "people", "demand", "capacity", "load_ratio")],
            localize=False,
        ).add_to(layer)
        layer.add_to(group)
        self._load_legend(kind, colours)

    def _load_legend(self, kind: str, colours: list[str]) -> None:
        load = self._section(self._t("load"))
        if not load.rows:
            for colour, label in zip(colours, load_labels(self.lang), strict=True):
                load.add_fill(colour, label)
        load.layers.append(f"catchments:{kind}")

    def _circles_as_image(self, layer: str) -> bool:
        """Whether a circle layer is drawn as images (city scale), not GeoJSON polygons."""
        frame = self.folder.layers[layer]
        if layer == "service_areas":
            vertices = int(shapely.get_num_coordinates(frame.geometry.values).sum())
            return vertices > MAX_VECTOR_AREA_COORDS
        return len(frame) > MAX_VECTOR_CIRCLES

    def _circles(self, m: folium.Map, kind: str, layer: str, image: bool) -> None:
        areas = layer == "service_areas"
        frame, geometry = self._rows(layer, kind, wgs84=not (image or areas))
        if areas and not image:
            # one polygon per kind, simplified without GEOS' topology checks (7x faster on
            # Chengdu's areas; they stay valid and within 0.7 % of the area, as at 1 m with them)
            geometry = to_wgs84(geometry.simplify(TOLERANCE_M, preserve_topology=False), layer,
                                simplify=False)
        radii = sorted({r for r in map(finite, frame.get("threshold_m", [])) if r is not None})
        label = "/".join(f"{r:,.0f}" for r in radii) + " m" if radii else ""
        group = self._group(m, f"service_circles:{kind}",
                            self._badge_name(kind, "service_circles", radii=label),
                            show=kind == self.kind)
        colour = kind_colour(kind)
        style = {"color": colour, "weight": 0.8, "opacity": 0.8, "fillColor": colour,
                 "fillOpacity": 0.12, "interactive": False}
        if image:
            # city scale: the kind's circles as one image of their union (no outlines), not
            # thousands of inlined polygons
            image_overlay(geometry, np.zeros(len(geometry), dtype=np.uint8), [colour],
                          opacity=0.25, pixel_m=CIRCLE_PIXEL_M).add_to(group)
        else:
            _geojson(feature_collection(geometry), style).add_to(group)
        self._section(self._t("circles")).add_outlined(
            colour, f"{self._kind_name(kind)} {label}".strip(), f"service_circles:{kind}")

    def _facilities(self, m: folium.Map, kind: str) -> None:
        frame, simplified = self._rows("facilities", kind)
        points = to_wgs84(frame.geometry.representative_point(), "facilities")
        kind_name = self._kind_name(kind)
        fields = ["name", "kind", "cap"]
        aliases = [self._t("name"), self._t("kind"), self._t("capacity")]
        has_load = "load_ratio" in frame.columns
        if has_load:
            fields.append("load")
            aliases.append(self._t("load_ratio"))
        fields.append("id")
        aliases.append(self._t("facility_id"))
        props = []
        for row in frame.to_dict("records"):
            prop = {"name": escape(cell_text(row.get("name"))) or "—",
                    "kind": escape(kind_name), "cap": number_text(row.get("capacity"), ",.0f"),
                    "id": escape(cell_text(row.get("facility_id")))}
            if has_load:
                prop["load"] = number_text(row.get("load_ratio"), ".2f")
            props.append(prop)
        if self.catchment_tiles and catchment_numbers(self.folder.layers["catchments"], frame,
                                                      props):
            fields[-1:-1] = ["c_pop", "c_demand"]
            aliases[-1:-1] = list(CATCHMENT_ALIASES[self.lang])
        group = self._group(m, f"facilities:{kind}", self._badge_name(kind, "facilities"),
                            show=kind == self.kind)
        colour = kind_colour(kind)
        polygonal = frame.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
        if polygonal.any():
            footprints = simplified[polygonal]
            style = {"color": colour, "weight": 1.2, "fillColor": colour, "fillOpacity": 0.2}
            layer = _geojson(feature_collection(
                footprints, [p for p, keep in zip(props, polygonal, strict=True) if keep]), style)
            folium.GeoJsonPopup(fields=fields, aliases=aliases, localize=False).add_to(layer)
            layer.add_to(group)
        icon = folium.DivIcon(html=fac_badge(kind, kind_glyph(kind, self.lang), marker=True),
                              icon_size=(20, 20), icon_anchor=(10, 10), class_name="lc-divicon")
        markers = folium.GeoJson(feature_collection(points, props), marker=folium.Marker(icon=icon),
                                 control=False)
        folium.GeoJsonPopup(fields=fields, aliases=aliases, localize=False).add_to(markers)
        folium.GeoJsonTooltip(fields=["name"], labels=False).add_to(markers)
        markers.add_to(group)

    def _facility_names(self) -> dict[str, str]:
        frame = self.folder.layers.get("facilities")
        if frame is None or "facility_id" not in frame.columns:
            return {}
        names = frame["name"] if "name" in frame.columns else [""] * len(frame)
        return {cell_text(i): cell_text(n)
                for i, n in zip(frame["facility_id"], names, strict=True)}


def _geojson(data: dict[str, Any], style: Any) -> folium.GeoJson:
    """A GeoJson layer (not in the layer control) with a style dict or style function."""
    function = style if callable(style) else (lambda _feature: style)
    return folium.GeoJson(data, style_function=function, control=False)
