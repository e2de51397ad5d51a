"""The analysis layers of map.html as they are drawn at city scale: residential land as tiles,
catchment numbers on the facility popups (the catchments themselves become tiles).

Used by :mod:`lifecircle.maps.webmap` when a layer's GeoJSON would exceed
:data:`lifecircle.maps.rastertiles.MAX_VECTOR_BYTES`.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np

from lifecircle.maps import rastertiles
from lifecircle.maps.labels import number_text
from lifecircle.maps.rastertiles import Paint
from lifecircle.maps.styles import COVERED_COLOUR, UNCOVERED_COLOUR

#: Facility popup labels of the catchment numbers.
CATCHMENT_ALIASES = {"zh": ("服务范围人口", "服务范围需求"),
                     "en": ("Catchment population", "Catchment demand")}


def residential_paints(geometry: gpd.GeoSeries, covered: np.ndarray) -> list[Paint]:
    """Residential land as the vector map draws it: covered parts filled light green with a thin
    outline, uncovered parts a faint magenta fill, magenta stripes (the hatching) and a magenta
    outline (colours, opacities and weights of ``webmap._residential_vector`` and the
    ``lc-hatch`` pattern of ``panels.HATCH_DEFS``)."""
    merc = rastertiles.to_mercator(geometry)
    # one array per part: the fill and the hatching of the uncovered land share one
    # rasterisation (rastertiles._fills)
    inside, outside = merc[covered], merc[~covered]
    return [Paint(inside, COVERED_COLOUR, 0.3),
            Paint(inside, COVERED_COLOUR, 1.0, "line", 0.6),
            Paint(outside, UNCOVERED_COLOUR, 0.18),
            Paint(outside, UNCOVERED_COLOUR, 1.0, hatch=True),
            Paint(outside, UNCOVERED_COLOUR, 1.0, "line", 1.2)]


def catchment_numbers(catchments: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame,
                      props: list[dict[str, Any]]) -> bool:
    """Add each facility's catchment population (``c_pop``) and demand (``c_demand``), as the
    catchment popup formats them, to its popup's ``props`` (one dict per facility row); a
    facility is matched by ``facility_id`` and, when both layers have it, ``kind``.

    Returns False (``props`` unchanged) when either layer has no ``facility_id``.

    Examples
    --------
    >>> catch = gpd.GeoDataFrame({"facility_id": ["a"], "population": [1234.4],
    ...                           "demand": [88.0]}, geometry=[None])
    >>> fac = gpd.GeoDataFrame({"facility_id": ["a", "b"]}, geometry=[None, None])
    >>> props = [{}, {}]
    >>> catchment_numbers(catch, fac, props), props
    (True, [{'c_pop': '1,234', 'c_demand': '88'}, {'c_pop': '—', 'c_demand': '—'}])
    """
    if "facility_id" not in catchments.columns or "facility_id" not in facilities.columns:
        return False
    # one place can be a facility of several kinds (a school with a kindergarten): match on
    # the kind too when both layers say it
    by_kind = "kind" in catchments.columns and "kind" in facilities.columns
    columns = [c for c in ("kind", "facility_id", "population", "demand")
               if c in catchments.columns]
    numbers = {(str(row.get("kind")) if by_kind else "", str(row["facility_id"])): row
               for row in catchments[columns].to_dict("records")}
    kinds = facilities["kind"].astype(str) if by_kind else [""] * len(facilities)
    for prop, kind, fid in zip(props, kinds, facilities["facility_id"], strict=True):
        row = numbers.get((kind, str(fid)), {})
        prop["c_pop"] = number_text(row.get("population"), ",.0f")
        prop["c_demand"] = number_text(row.get("demand"), ",.0f")
    return True
