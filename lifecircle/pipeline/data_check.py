"""Do the facility layers look complete? GB 50180-2018 sizes each life circle by the residents it
serves (表 3.0.4: 5-minute 5,000-12,000, 10-minute 15,000-25,000, 15-minute 50,000-100,000), so a
study's population implies a least number of facilities of each kind; fewer found means the data
(OSM, often) maps few of them, and the kind's figures understate what exists."""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd

from lifecircle.seeds import load_standards


def data_coverage(facilities: gpd.GeoDataFrame, population: float,
                  kinds: list[str]) -> list[dict[str, Any]]:
    """One warning per kind whose facilities are fewer than the standard implies.

    Parameters
    ----------
    facilities : the study's facilities (``kind`` column)
    population : residents of the study area
    kinds : the kinds measured

    Returns
    -------
    list of ``{kind, found, expected_at_least, level, message}`` (empty when all look complete)

    Examples
    --------
    >>> import geopandas as gpd
    >>> table = gpd.GeoDataFrame({"kind": ["kindergarten"] * 9}, geometry=[None] * 9)
    >>> data_coverage(table, 227_000, ["kindergarten"])[0]["expected_at_least"]
    18
    """
    standards = load_standards()
    sizes = standards["level_population"]
    counts = facilities["kind"].value_counts()
    warnings = []
    for kind in kinds:
        spec = standards["kinds"][kind]
        level = spec.get("level")
        if level not in sizes:
            continue
        serves = float(sizes[level]["max"])
        expected = math.floor(population / serves)
        found = int(counts.get(kind, 0))
        if found >= expected or expected == 0:
            continue
        warnings.append({
            "kind": kind, "found": found, "expected_at_least": expected, "level": level,
            "message": (f"{found} {spec['label_zh']} ({kind}) for {population:,.0f} residents: "
                        f"GB 50180-2018 表 3.0.4 implies at least {expected} (one per "
                        f"{serves:,.0f} residents at the {level}-minute level); the data likely "
                        f"maps few of them (OSM coverage in China: "
                        f"{spec.get('osm_coverage', 'unknown')}): supply an Amap/Baidu export or a "
                        "facility list"),
        })
    return warnings
