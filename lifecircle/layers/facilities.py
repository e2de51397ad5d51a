"""Facilities by kind: from OSM tags (mapping in ``seeds/standards.yaml``) or from user files.

A Facilities table is a GeoDataFrame in the local CRS with the columns ``fid`` (stable id),
``kind``, ``name``, ``capacity`` (seats or beds, NaN when unknown), ``source`` and geometry
(point or polygon). A school that serves two levels appears once per kind.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from lifecircle.errors import InputError
from lifecircle.layers.osm import tag_column
from lifecircle.layers.poi import is_poi_export, kinds_from_poi_types
from lifecircle.notes import UNCLASSIFIED_SCHOOLS
from lifecircle.seeds import kind_names, load_standards

COLUMNS = ["fid", "kind", "name", "capacity", "source", "geometry"]
LOCATION_COLUMNS = ("location", "经纬度", "坐标", "lnglat")
LON_COLUMNS = ("lon", "lng", "longitude", "x", "经度", "wgs84_lng", "gcj02_lng")
LAT_COLUMNS = ("lat", "latitude", "y", "纬度", "wgs84_lat", "gcj02_lat")
CAPACITY_TAGS = ("capacity", "capacity:persons", "beds", "capacity:beds", "student_count")


@dataclass
class FacilityReport:
    """What classification did: counts per kind and the notes a user should read."""

    counts: dict[str, int] = field(default_factory=dict)
    unclassified_schools: int = 0
    duplicates_dropped: int = 0
    notes: list[str] = field(default_factory=list)


def facilities_from_osm(features: gpd.GeoDataFrame, crs: CRS) -> tuple[gpd.GeoDataFrame,
                                                                      FacilityReport]:
    """Classify OSM feature nodes and areas into the product's kinds.

    Parameters
    ----------
    features : ``OsmExtract.features`` (WGS84)
    crs : the local metric CRS

    Returns
    -------
    (facilities, report): the Facilities table in ``crs`` and what classification did
    """
    standards = load_standards()
    names = _names(features)
    frames = []
    is_poi = _is_poi(features)
    for kind, spec in standards["kinds"].items():
        mask = _kind_mask(features, names, is_poi, spec)
        if kind == "park":
            mask &= _is_polygonal(features)  # a park needs an area for its service-radius tier
        frames.append(_rows(features[mask], names[mask], kind))

    schools, unclassified = _classify_schools(features, names, standards["school_levels"])
    frames.append(schools)
    table = pd.concat(frames, ignore_index=True)
    table = gpd.GeoDataFrame(table, geometry="geometry", crs="EPSG:4326").to_crs(crs)
    table, dropped = drop_duplicates(table)
    table = table.sort_values(["kind", "fid"], kind="stable").reset_index(drop=True)

    report = FacilityReport(
        counts={k: int((table["kind"] == k).sum()) for k in kind_names()},
        unclassified_schools=unclassified,
        duplicates_dropped=dropped,
    )
    if unclassified:
        report.notes.append(UNCLASSIFIED_SCHOOLS.format(count=unclassified))
    return table[COLUMNS], report


def drop_duplicates(table: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, int]:
    """Drop a point facility that lies inside (or within 30 m of) a polygon of the same kind,
    and exact repeats of the same kind, name and location: one place mapped twice.

    Returns
    -------
    (table, number dropped)
    """
    polygonal = _is_polygonal_geom(table.geometry.values)
    drop = np.zeros(len(table), dtype=bool)
    for kind in table["kind"].unique():
        of_kind = (table["kind"] == kind).to_numpy()
        polys = table.geometry.values[of_kind & polygonal]
        points_idx = np.flatnonzero(of_kind & ~polygonal)
        if polys.size and points_idx.size:
            tree = shapely.STRtree(polys)
            hit_point, _ = tree.query(table.geometry.values[points_idx], predicate="dwithin",
                                      distance=30.0)
            drop[points_idx[np.unique(hit_point)]] = True
    wkb = shapely.to_wkb(shapely.set_precision(table.geometry.values, 1.0))
    repeats = pd.DataFrame({"k": table["kind"].to_numpy(), "n": table["name"].fillna(""),
                            "g": wkb}).duplicated().to_numpy()
    drop |= repeats
    return table.loc[~drop].reset_index(drop=True), int(drop.sum())


def facilities_from_file(path: str | Path, crs: CRS, coords: str = "wgs84",
                         capacity_field: str = "capacity") -> gpd.GeoDataFrame:
    """Read user facilities from CSV (lon/lat columns) or any vector file (GeoJSON, GeoPackage,
    shapefile).

    Parameters
    ----------
    path : the file; columns ``kind`` and ``name`` required, ``capacity`` optional; a CSV needs
        ``lon``/``lat`` (or ``lng``/``longitude``/``latitude``, or ``location`` as "lng,lat")
    crs : the local metric CRS
    coords : the CSV's coordinate system: "wgs84", "gcj02" (Amap) or "bd09" (Baidu)
    capacity_field : the column holding seats or beds

    Returns
    -------
    Facilities table in ``crs``
    """
    from lifecircle.layers.tables import read_table
    from lifecircle.layers.vector import read_vector

    path = Path(path)
    if path.suffix.lower() in (".csv", ".txt", ".xlsx", ".xls"):
        frame = read_table(path)
        if is_poi_export(frame):
            frame, left_out = kinds_from_poi_types(frame, path)
            if left_out:
                listed = ", ".join(f"{t} ({n})" for t, n in list(left_out.items())[:8])
                warnings.warn(f"{path.name}: {sum(left_out.values())} POIs of types outside the "
                              f"kinds were left out: {listed}", stacklevel=2)
            if frame.empty:
                raise InputError(path, "no POI has a type that maps to a kind "
                                       "(see poi_types in seeds/standards.yaml)")
        lon, lat = _lonlat_columns(frame, path)
        if coords != "wgs84":
            from lifecircle.layers.chinese_coords import to_wgs84

            lon, lat = to_wgs84(lon, lat, coords)
        table = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    else:
        table = read_vector(path)
    missing = {"kind", "name"} - set(table.columns)
    if missing:
        raise InputError(path, f"missing column(s) {', '.join(sorted(missing))}")
    unknown = sorted(set(table["kind"].astype(str)) - set(kind_names()))
    if unknown:
        raise InputError(path, f"unknown kind(s) {', '.join(unknown)}; "
                               f"known: {', '.join(kind_names())}")
    if capacity_field != "capacity" and capacity_field not in table.columns:
        raise InputError(path, f"has no capacity column {capacity_field!r}")
    capacity = pd.to_numeric(table.get(capacity_field, pd.Series(np.nan, index=table.index)),
                             errors="coerce")
    _check_park_areas(table, path)
    out = gpd.GeoDataFrame(
        {
            "fid": [f"{path.stem}:{i}" for i in range(len(table))],
            "kind": table["kind"].astype(str).to_numpy(),
            "name": table["name"].astype(str).to_numpy(),
            "capacity": capacity.to_numpy(dtype=np.float64),
            "source": f"file:{path.name}",
        },
        geometry=table.geometry.to_crs(crs).values,
        crs=crs,
    )
    return out[COLUMNS]


def _check_park_areas(table: gpd.GeoDataFrame, path: Path) -> None:
    """Refuse parks given as points: a park's area sets its service radius (GB/T 50563-2010
    tiers), so a point park cannot be measured and guessing a size would invent the figure."""
    park = table["kind"].astype(str).eq("park").to_numpy()
    point = ~np.isin(shapely.get_type_id(table.geometry.values), [3, 6])
    bad = np.flatnonzero(park & point)
    if bad.size:
        row = f"row {bad[0] + 2}" if path.suffix.lower() in (".csv", ".txt") else \
            f"feature {bad[0] + 1}"
        raise InputError(path, f"{row}: a park must be a polygon, not a point (its area sets its "
                               "service radius, GB/T 50563-2010): give park outlines in a "
                               "GeoJSON or GeoPackage")


def _lonlat_columns(frame: pd.DataFrame, path: Path) -> tuple[np.ndarray, np.ndarray]:
    lower = {str(c).strip().lower(): c for c in frame.columns}
    location = next((lower[k] for k in LOCATION_COLUMNS if k in lower), None)
    if location is not None:
        parts = frame[location].astype(str).str.split("[,，]", n=1, expand=True, regex=True)
        if parts.shape[1] != 2:
            raise InputError(path, f"column {location} is not 'lng,lat'")
        lon_s, lat_s = parts[0], parts[1]
    else:
        lon_key = next((lower[k] for k in LON_COLUMNS if k in lower), None)
        lat_key = next((lower[k] for k in LAT_COLUMNS if k in lower), None)
        if lon_key is None or lat_key is None:
            raise InputError(path, "needs lon/lat columns (or location as 'lng,lat')")
        lon_s, lat_s = frame[lon_key], frame[lat_key]
    lon = pd.to_numeric(lon_s, errors="coerce").to_numpy(dtype=np.float64)
    lat = pd.to_numeric(lat_s, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~(np.isfinite(lon) & np.isfinite(lat)) | (np.abs(lon) > 180) | (np.abs(lat) > 90)
    if bad.any():
        raise InputError(path, f"row {int(np.flatnonzero(bad)[0]) + 2}: lon/lat is not a valid "
                               "coordinate")
    return lon, lat


def _names(features: gpd.GeoDataFrame) -> pd.Series:
    tags = features["tags"]
    return tags.map(lambda t: t.get("name:zh") or t.get("name") or t.get("name:en") or "")


def _matches_any(features: gpd.GeoDataFrame, rules: list[dict[str, list[str]]]) -> pd.Series:
    mask = pd.Series(False, index=features.index)
    for rule in rules:
        for key, values in rule.items():
            mask |= tag_column(features, key).isin(values)
    return mask


def _kind_mask(features: gpd.GeoDataFrame, names: pd.Series, is_poi: pd.Series,
               spec: dict) -> pd.Series:
    """Features of one kind: a tag rule matches, or a POI's name matches the kind's names; minus
    those whose name names a sibling kind (``exclude_names``) and not this one, and those whose
    name says they are never of the kind (``not_names``: a dental 诊所, a 美术馆).

    The name decides between siblings that share tags: an ``amenity=clinic`` named
    社区卫生服务中心 is a health centre, not a station; ``amenity=childcare`` named 幼儿园 is a
    kindergarten. A health station counts generic clinics (诊所, unnamed) only while
    ``generic_clinics`` is true (an assumption documented in standards.yaml).
    """
    own = _name_matches(names, spec.get("names"))
    mask = _matches_any(features, spec.get("osm", []))
    if spec.get("generic_clinics") is False:
        # only stations named as such: tags alone, or 诊所/门诊部, no longer qualify
        mask &= _name_matches(names, spec.get("station_names"))
        own = _name_matches(names, spec.get("station_names"))
    mask |= own & is_poi
    mask &= ~(_name_matches(names, spec.get("exclude_names")) & ~own)
    mask &= ~_name_matches(names, spec.get("not_names"))
    return mask


def _name_matches(names: pd.Series, patterns: list[str] | str | None) -> pd.Series:
    """Names containing any of the patterns (regular expressions); False for no name."""
    found = pd.Series(False, index=names.index)
    if not patterns:
        return found
    pattern = patterns if isinstance(patterns, str) else "|".join(patterns)
    # only named features are searched: most mapped features of a city have no name, and the
    # regex runs once per kind over all of them
    named = names.notna().to_numpy() & (names.to_numpy(dtype=object) != "")
    found[named] = names[named].str.contains(pattern, regex=True).to_numpy(dtype=bool)
    return found


def _is_poi(features: gpd.GeoDataFrame) -> pd.Series:
    """Features that are places people visit (not land use, not plain buildings). ``office``
    brings in residents' committees (居委会) and service stations mapped as offices."""
    keys = ("amenity", "healthcare", "social_facility", "shop", "leisure", "office")
    return features["tags"].map(lambda t: any(k in t for k in keys))


def _is_polygonal_geom(geoms: np.ndarray) -> np.ndarray:
    return np.isin(shapely.get_type_id(geoms), [3, 6])


def _is_polygonal(features: gpd.GeoDataFrame) -> pd.Series:
    return pd.Series(_is_polygonal_geom(features.geometry.values), index=features.index)


def _rows(features: gpd.GeoDataFrame, names: pd.Series, kind: str) -> pd.DataFrame:
    capacity = features["tags"].map(_capacity)
    return pd.DataFrame({
        "fid": features["osm_type"] + "/" + features["osm_id"].astype(str),
        "kind": kind,
        "name": names.to_numpy(),
        "capacity": capacity.to_numpy(dtype=np.float64),
        "source": "osm",
        "geometry": features.geometry.to_numpy(),
    })


def _capacity(tags: dict[str, str]) -> float:
    for key in CAPACITY_TAGS:
        value = tags.get(key)
        if value:
            match = re.match(r"\s*(\d+(?:\.\d+)?)", value)
            if match:
                return float(match.group(1))
    return float("nan")


def _classify_schools(features: gpd.GeoDataFrame, names: pd.Series,
                      spec: dict) -> tuple[pd.DataFrame, int]:
    """Schools by level: isced:level, school:level, then the Chinese name; else both levels."""
    is_school = _matches_any(features, [spec["osm_tag"]]) & \
        ~_name_matches(names, spec["exclude_names"])
    schools = features[is_school]
    school_names = names[is_school]
    kinds_per_school: list[list[str]] = []
    unclassified = 0
    for tags, name in zip(schools["tags"], school_names, strict=True):
        kinds = _school_kinds(tags, name, spec)
        if not kinds:
            unclassified += 1
            kinds = list(spec["unclassified_kinds"])
        kinds_per_school.append(kinds)
    frames = []
    for kind in ("kindergarten", "primary_school", "middle_school"):
        take = np.array([kind in k for k in kinds_per_school], dtype=bool)
        frames.append(_rows(schools[take], school_names[take], kind))
    return pd.concat(frames, ignore_index=True), unclassified


def _school_kinds(tags: dict[str, str], name: str, spec: dict) -> list[str]:
    kinds: list[str] = []
    for level in re.split(r"[;,]", tags.get("isced:level", "")):
        kinds += spec["isced"].get(level.strip(), [])
    for level in re.split(r"[;,]", tags.get("school:level", "")):
        kinds += spec["school_level"].get(level.strip(), [])
    if not kinds:
        for rule in spec["names"]:
            if re.search(rule["pattern"], name):
                kinds = list(rule["kinds"])
                break
    return sorted(set(kinds))
