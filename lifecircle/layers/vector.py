"""Reading user vector layers (shapefile, GeoJSON, GeoPackage) with a CRS check."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError

from lifecircle.errors import InputError


def read_vector(path: str | Path, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a vector file into a GeoDataFrame that has a CRS and at least one feature.

    Raises
    ------
    InputError
        Missing file, not a vector file, no CRS, or no features.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    try:
        frame = pyogrio.read_dataframe(path, layer=layer)
    except (DataSourceError, DataLayerError) as exc:
        if _is_sqlite(path):
            raise InputError(path, "not a vector file GDAL can read (a GeoPackage with no "
                                   "layers, or not a GeoPackage)") from None
        reason = str(exc).splitlines()[0].split(";")[0].strip() or type(exc).__name__
        raise InputError(path, f"not a vector file GDAL can read ({reason})") from None
    except IndexError:  # GDAL opened it (a folder, say) but found no layers in it
        raise InputError(path, "not a vector file GDAL can read (no layers)") from None
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.isna().all():
        raise InputError(path, "has no geometry")
    if frame.crs is None:
        raise InputError(path, "has no CRS (add a .prj or save it with its coordinate system)")
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    if frame.empty:
        raise InputError(path, "has no features")
    # GEOS fails on NaN or infinite coordinates deep inside a later step: name the feature now
    xy, owner = shapely.get_coordinates(frame.geometry.values, return_index=True)
    bad = ~np.isfinite(xy).all(axis=1)
    if bad.any():
        raise InputError(path, f"feature {frame.index[owner[bad][0]] + 1} has a NaN or infinite "
                               "coordinate")
    return frame


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False
