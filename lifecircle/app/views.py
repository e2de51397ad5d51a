"""What the page draws, in WGS84: population cells, facilities, kinds, the study area, the
offline basemap, and per kind the catchments and service circles of the session's facilities."""

from __future__ import annotations

import threading
from html import escape
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from lifecircle.config import RunConfig
from lifecircle.coverage import circles
from lifecircle.coverage.catchments import POLYGON_COLUMNS, catchment_polygons
from lifecircle.coverage.engine import NodeIndex
from lifecircle.coverage.walk import KindAccess
from lifecircle.layers.study import Study
from lifecircle.maps.geojson import feature_collection, to_wgs84
from lifecircle.seeds import load_standards


def layers_view(study: Study, config: RunConfig) -> dict[str, Any]:
    """Cells (south, west, north, east and population), the measured kinds with thresholds and
    labels, and the study area's bounds."""
    cells = study.population.cell_polygons().to_crs("EPSG:4326")
    bounds = np.round(cells.bounds.to_numpy(), 6)
    kinds = load_standards()["kinds"]
    area = _wgs84_bounds(study)
    return {
        "cells": [[s, w, n, e] for w, s, e, n in bounds.tolist()],
        "population": np.round(study.population.population, 2).tolist(),
        "kinds": {k: {"label_zh": kinds[k]["label_zh"], "label_en": kinds[k]["label_en"],
                      "threshold_m": config.threshold(k)} for k in config.measured_kinds()},
        "bounds": area,
    }


def facilities_view(study: Study) -> list[dict[str, Any]]:
    """Every facility: id, kind, name, source, capacity, size (m², polygons) and a WGS84 point
    on it (a move re-adds it with these)."""
    frame = study.facilities
    points = frame.geometry.representative_point().to_crs("EPSG:4326")
    polygonal = np.isin(shapely.get_type_id(frame.geometry.values), [3, 6])
    size = np.where(polygonal, shapely.area(frame.geometry.values), np.nan)
    capacity = frame["capacity"].to_numpy(dtype=np.float64)
    return [{"id": fid, "kind": kind, "name": name if isinstance(name, str) else "",
             "source": source, "lon": round(p.x, 6), "lat": round(p.y, 6),
             "capacity": None if np.isnan(c) else float(c),
             "size_m2": None if np.isnan(s) else round(float(s), 1)}
            for fid, kind, name, source, p, c, s in zip(
                frame["fid"], frame["kind"], frame["name"], frame["source"], points, capacity,
                size, strict=True)]


def catchments_view(study: Study, access: KindAccess) -> dict[str, Any]:
    """The kind's nearest-facility catchments (cells dissolved per facility, as the run draws
    them) as GeoJSON with each facility's id, name and residents."""
    of_kind = study.facilities[study.facilities["kind"] == access.kind]
    pop = study.population
    nearest = np.where(np.isfinite(access.nearest.distance_m), access.nearest.facility, -1)
    residents = np.bincount(nearest[nearest >= 0], weights=pop.population[nearest >= 0],
                            minlength=len(of_kind))
    table = pd.DataFrame({"kind": access.kind, "fid": of_kind["fid"].to_numpy(),
                          "name": of_kind["name"].fillna("").to_numpy(),
                          "population": residents}).reindex(columns=POLYGON_COLUMNS)
    polygons = catchment_polygons(pop, nearest, table)
    props = [{"id": f, "name": n, "population": round(float(p), 1)}
             for f, n, p in zip(polygons["fid"], polygons["name"], polygons["population"],
                                strict=True)]
    return feature_collection(to_wgs84(polygons.geometry, "catchments"), props)


class CircleCache:
    """Service circles (:func:`lifecircle.coverage.circles.service_circles`) at a kind's
    threshold, computed once per facility (its id and geometry) and shared by every session: a
    baseline facility's circle never changes, an added one is drawn once."""

    def __init__(self, study: Study, index: NodeIndex, max_snap_m: float) -> None:
        self.study, self.index, self.max_snap_m = study, index, max_snap_m
        self._circles: dict[tuple[str, bytes, float], dict[str, Any] | None] = {}
        self._strokes = None
        self._lock = threading.Lock()  # one drawing at a time; sessions share the results

    def view(self, facilities: gpd.GeoDataFrame, threshold_m: float) -> dict[str, Any]:
        """GeoJSON of the circles of ``facilities`` (one kind) with their ids."""
        keys = [(f, shapely.to_wkb(g), threshold_m)
                for f, g in zip(facilities["fid"], facilities.geometry.values, strict=True)]
        with self._lock:
            todo = [i for i, key in enumerate(keys) if key not in self._circles]
            if todo:
                if self._strokes is None:
                    self._strokes = circles.street_strokes(self.study.network)
                drawn = circles.service_circles(
                    self.study.network, self.index, facilities.geometry.values[todo],
                    [threshold_m], max_snap_m=self.max_snap_m, strokes=self._strokes,
                    cost=self.study.cost)  # as the run draws them (slopes, compounds)
                shapes = to_wgs84(gpd.GeoSeries(drawn.geometry.values, crs=self.study.crs),
                                  "service_circles")
                for i, shape in zip(todo, shapes.values, strict=True):
                    self._circles[keys[i]] = (None if shape.is_empty
                                              else shapely.geometry.mapping(shape))
            found = [(key[0], self._circles[key]) for key in keys]
        return {"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"id": fid}, "geometry": shape}
            for fid, shape in found if shape is not None]}


def basemap_view(config: RunConfig, study: Study) -> dict[str, Any]:
    """The offline basemap of the study's OSM file (:func:`lifecircle.layers.basemap
    .basemap_layers`, as ``map.html`` draws it): water areas and lines, railways, streets by
    class with their styles, and street and place labels; empty without an OSM file."""
    if config.osm is None:
        return {}
    from lifecircle.layers.basemap import basemap_layers
    from lifecircle.layers.crs import reproject_geometry
    from lifecircle.maps import styles
    from lifecircle.maps.basemap import PLACE_SIZES, display_names, street_labels

    area = reproject_geometry(study.area.buffer(500.0), study.crs, "EPSG:4326")
    layers = {name: to_wgs84(frame.geometry, name).to_frame().join(frame.drop(columns="geometry"))
              for name, frame in basemap_layers(config.osm, clip=area).items()}
    out: dict[str, Any] = {"styles": {
        "water": styles.WATER_COLOUR, "water_line": styles.WATER_LINE_COLOUR,
        "rail": styles.RAIL_COLOUR,
        "streets": {c: {"colour": s.colour, "weight": s.weight}
                    for c, s in styles.STREET_STYLES.items()}},
        "labels_zh": [], "labels_en": []}
    if "base_water" in layers:
        water = layers["base_water"].geometry
        area_rows = water.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
        out["water_areas"] = feature_collection(water[area_rows])
        out["water_lines"] = feature_collection(water[~area_rows])
    if "base_rail" in layers:
        out["rail"] = feature_collection(layers["base_rail"].geometry)
    if "base_streets" in layers:
        frame = layers["base_streets"]
        classes = frame["class"].astype(str).to_numpy()
        out["streets"] = {c: feature_collection(frame.geometry[classes == c])
                          for c in styles.STREET_STYLES if (classes == c).any()}
        for lang in ("zh", "en"):  # names escaped for the labels' HTML, as map.html's
            out[f"labels_{lang}"] += street_labels(frame.geometry, display_names(frame, lang),
                                                   classes)
    if "base_places" in layers:
        frame = layers["base_places"]
        for lang in ("zh", "en"):
            for point, name, place in zip(frame.geometry, display_names(frame, lang),
                                          frame["place"].astype(str), strict=True):
                if name and place in PLACE_SIZES:
                    size = PLACE_SIZES[place]
                    out[f"labels_{lang}"].append([round(point.y, 6), round(point.x, 6),
                                                  escape(name), size, size == "s"])
    return out


def _wgs84_bounds(study: Study) -> list[float]:
    w, s, e, n = gpd.GeoSeries([study.area], crs=study.crs).to_crs("EPSG:4326").total_bounds
    return [float(s), float(w), float(n), float(e)]
