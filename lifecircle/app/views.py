"""What the page draws, in WGS84: population cells, facilities, kinds and the study area."""

from __future__ import annotations

from typing import Any

import numpy as np

from lifecircle.config import RunConfig
from lifecircle.layers.study import Study
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
    """Every facility: id, kind, name, source and a WGS84 point on it."""
    frame = study.facilities
    points = frame.geometry.representative_point().to_crs("EPSG:4326")
    return [{"id": fid, "kind": kind, "name": name if isinstance(name, str) else "",
             "source": source, "lon": round(p.x, 6), "lat": round(p.y, 6)}
            for fid, kind, name, source, p in zip(frame["fid"], frame["kind"], frame["name"],
                                                  frame["source"], points, strict=True)]


def _wgs84_bounds(study: Study) -> list[float]:
    import geopandas as gpd

    w, s, e, n = gpd.GeoSeries([study.area], crs=study.crs).to_crs("EPSG:4326").total_bounds
    return [float(s), float(w), float(n), float(e)]
