"""A run's output folder as :func:`lifecircle.maps.folder.read_folder` will read it back, made
from the scorecard and layers still in memory.

A small run's map is drawn by a process forked as writing starts, beside the GeoPackage being
written, instead of after it from a read of the file (central Chengdu: the write, 0.3 s, and
the read, 0.15-0.2 s, were both ahead of the map's own 0.3 s); the report and the figures use
the same folder. What the GeoPackage round trip changes (pyogrio writing, ``read_folder``
reading) is done here, so the map is the page ``lifecircle map DIR`` draws from the folder,
byte for byte (tested):

- the ``fid`` column is named ``facility_id`` (:func:`lifecircle.output.write_layers`), the
  geometry column ``geometry``;
- rows without a geometry or with an empty one are dropped, the index renumbered, empty layers
  left out, the layers in :data:`~lifecircle.maps.folder.LAYERS` order;
- a layer mixing single and multi geometries of one family is all multi (pyogrio promotes them
  for a GeoPackage layer, which has one geometry type);
- text columns (object or categorical) come back as pandas' ``str`` dtype, missing values
  missing (a column with no value at all: object, every value None);
- the CRS is the EPSG code it is stored under.

Anything else (another column dtype, a CRS without an EPSG code) is not emulated: then None is
returned and the caller reads the folder back as before.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from lifecircle.maps.folder import LAYERS, OutputFolder, check_scorecard

#: column dtypes a GeoPackage gives back unchanged (pyogrio: bool, Integer, Integer64, Real
#: with its float32 subtype)
_KEPT = {np.dtype(t) for t in ("bool", "int32", "int64", "float32", "float64")}
_TYPE = shapely.GeometryType
#: single geometry type -> its multi type and the shapely function that wraps one part
_MULTI = {_TYPE.POINT: (_TYPE.MULTIPOINT, shapely.multipoints),
          _TYPE.LINESTRING: (_TYPE.MULTILINESTRING, shapely.multilinestrings),
          _TYPE.POLYGON: (_TYPE.MULTIPOLYGON, shapely.multipolygons)}


def folder_as_written(path: str | Path, scorecard_json: str,
                      layers: dict[str, gpd.GeoDataFrame]) -> OutputFolder | None:
    """The :class:`~lifecircle.maps.folder.OutputFolder` that reading ``path`` will give once
    ``scorecard_json`` (the text of scorecard.json) and ``layers`` (as passed to
    :func:`lifecircle.output.write_layers`) are written there; None when a layer holds
    something whose round trip is not emulated (see the module docstring).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point, box
    >>> parks = gpd.GeoDataFrame({"fid": ["w1", "w2"], "kind": ["park", "park"]},
    ...     geometry=[box(0, 0, 1, 1), box(2, 2, 3, 3).union(box(4, 4, 5, 5))], crs=4547)
    >>> card = '{"metrics": {}, "population": {}, "study_area": {}}'
    >>> folder = folder_as_written("out", card, {"facilities": parks})
    >>> facilities = folder.layers["facilities"]
    >>> list(facilities.columns), list(facilities.geom_type), facilities.crs.to_epsg()
    (['facility_id', 'kind', 'geometry'], ['MultiPolygon', 'MultiPolygon'], 4547)
    """
    scorecard = json.loads(scorecard_json)
    check_scorecard(scorecard, Path(path) / "scorecard.json")
    written = {}
    for name in LAYERS:
        frame = layers.get(name)
        if frame is None or frame.empty:
            continue
        frame = as_read_back(frame)
        if frame is None:
            return None
        if not frame.empty:
            written[name] = frame
    return OutputFolder(path=Path(path), scorecard=scorecard, layers=written)


def as_read_back(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame | None:
    """One layer as written to a GeoPackage and read back by ``read_folder`` (None: not
    emulated).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, Point
    >>> streets = gpd.GeoDataFrame({"class": ["primary", None]}, index=[7, 9], crs=4326,
    ...     geometry=[LineString([(0, 0), (1, 1)]), Point(0, 0).buffer(0).boundary])
    >>> back = as_read_back(streets)  # the empty line dropped, the index renumbered
    >>> back.index.tolist(), back["class"].tolist(), str(back["class"].dtype)
    ([0], ['primary'], 'str')
    """
    epsg = frame.crs.to_epsg() if frame.crs is not None else None
    if frame.crs is not None and epsg is None:
        return None
    frame = frame.rename(columns={"fid": "facility_id"})
    if frame.geometry.name != "geometry":  # the name a GeoPackage layer is read back with
        frame = frame.rename_geometry("geometry")
    columns: dict[str, pd.Series] = {}
    for name in frame.columns:
        if name == frame.geometry.name:
            continue
        column = frame[name]
        if column.dtype in _KEPT:
            continue
        if not _text(column):
            return None
        # pandas infers its str dtype from the strings read; a column of none stays object
        columns[name] = column.astype("str") if column.notna().any() else \
            pd.Series(None, index=column.index, dtype=object)
    geometry = _promoted(frame.geometry.values)
    columns[frame.geometry.name] = gpd.GeoSeries(
        geometry, index=frame.index, crs=None if epsg is None else f"EPSG:{epsg}")
    drawn = ~(shapely.is_missing(geometry) | shapely.is_empty(geometry))
    back = gpd.GeoDataFrame(frame.assign(**columns), geometry=frame.geometry.name)
    return back[drawn].reset_index(drop=True)


def _text(column: pd.Series) -> bool:
    """Whether a column is text that a GeoPackage stores as TEXT (strings, missing values)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return pd.api.types.infer_dtype(column.cat.categories, skipna=True) in ("string",
                                                                                "empty")
    if column.dtype == object or isinstance(column.dtype, pd.StringDtype):
        return pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty")
    return False


def _promoted(geometry: Any) -> np.ndarray:
    """The geometries as pyogrio writes them to one GeoPackage layer: where the layer's types
    are exactly one single type and its multi type, the single ones wrapped as multi."""
    geometry = np.asarray(geometry, dtype=object)
    types = shapely.get_type_id(geometry)
    present = set(np.unique(types[types >= 0]).tolist())  # missing geometries are -1
    for single, (multi, wrap) in _MULTI.items():
        if present == {single, multi}:
            singles = types == single
            geometry = geometry.copy()
            geometry[singles] = [wrap([part]) for part in geometry[singles]]
    return geometry
