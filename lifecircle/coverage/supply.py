"""Supply per person: green space and facility counts against the population they serve."""

from __future__ import annotations

import numpy as np
import shapely


def park_green_per_capita(parks: np.ndarray, area: shapely.Geometry,
                          population: float) -> dict:
    """Park green area per resident (人均公园绿地面积), m² per person.

    Park polygons are made valid, dissolved (overlaps count once) and clipped to the study area.

    Parameters
    ----------
    parks : park polygons in the local metric CRS
    area : the study area
    population : residents of the study area
    """
    polygons = np.asarray(parks, dtype=object)
    polygonal = polygons[np.isin(shapely.get_type_id(polygons), [3, 6])]
    green = shapely.intersection(shapely.union_all(shapely.make_valid(polygonal)), area)
    park_m2 = float(shapely.area(green)) if polygonal.size else 0.0
    return {
        "value": park_m2 / population if population > 0 else None,
        "unit": "m2_per_person",
        "method": "dissolved park polygons (OSM leisure=park/garden, landuse=recreation_ground "
                  "and user parks) inside the study area / population",
        "denominator": "population",
        "park_area_m2": park_m2,
    }
