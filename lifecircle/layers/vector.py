"""Reading user vector layers (shapefile, GeoJSON, GeoPackage) with a CRS check."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
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
    return frame
