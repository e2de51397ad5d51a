"""A study from a user's own GeoDataFrames: streets, facilities, population points.

The notebook path of the API (``Study.from_frames``): no OSM file, no CLI. Streets are joined
where their lines share a vertex, as OSM ways share nodes; everything is projected to one local
metric CRS (the streets' own when it is projected).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy.spatial import cKDTree

from lifecircle.config import RunConfig
from lifecircle.errors import InputError
from lifecircle.layers.crs import choose_local_crs
from lifecircle.layers.facilities import COLUMNS, FacilityReport
from lifecircle.layers.network import WalkNetwork, _assemble
from lifecircle.layers.population import PopulationGrid, population_from_raster
from lifecircle.layers.study import Study
from lifecircle.seeds import kind_names, load_standards

# vertices closer than this are one node (lines "share a vertex")
_SAME_VERTEX_M = 1e-3


def study_from_frames(config: RunConfig, streets: gpd.GeoDataFrame,
                      facilities: gpd.GeoDataFrame, population: gpd.GeoDataFrame | str | Path,
                      residential: gpd.GeoDataFrame | None = None,
                      parks: gpd.GeoDataFrame | None = None,
                      boundary: gpd.GeoDataFrame | shapely.Geometry | None = None) -> Study:
    """Build a :class:`~lifecircle.layers.study.Study` from GeoDataFrames.

    Parameters
    ----------
    config : parameters of the run (``crs`` chooses the local CRS)
    streets, facilities, population, residential, parks, boundary : see ``Study.from_frames``

    Raises
    ------
    InputError
        A frame without a CRS, streets without lines, an unknown kind, population points without
        a ``population`` column.
    """
    crs = _local_crs(streets, config.crs)
    network = network_from_lines(streets, crs)
    area, area_source = _area(boundary, streets, network)
    table = facilities_from_frame(facilities, crs)
    if parks is not None and len(parks):
        table = pd.concat([table, facilities_from_frame(parks.assign(kind="park"), crs,
                                                        prefix="park")], ignore_index=True)
    table = gpd.GeoDataFrame(table, geometry="geometry", crs=crs)
    land = (_projected(residential, "residential", crs).clip(area) if residential is not None
            else gpd.GeoDataFrame({"area_m2": []}, geometry=[], crs=crs))
    land = land[~land.geometry.is_empty].reset_index(drop=True)
    land["area_m2"] = land.geometry.area
    if isinstance(population, str | Path):
        grid = population_from_raster(population, area, crs, crs)
    else:
        grid = population_from_points(_projected(population, "population", crs))
    report = FacilityReport(counts=table["kind"].value_counts().to_dict())
    return Study(config=config, network=network, area=area, area_source=area_source,
                 facilities=table, facility_report=report, residential=land, population=grid)


def network_from_lines(streets: gpd.GeoDataFrame, crs: CRS) -> WalkNetwork:
    """The walk network of street lines: vertices become nodes, shared vertices join lines.

    Parameters
    ----------
    streets : LineStrings or MultiLineStrings with a CRS
    crs : the local metric CRS

    Examples
    --------
    >>> from shapely import LineString
    >>> lines = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (100, 0)]),
    ...                                    LineString([(100, 0), (100, 80)])], crs="EPSG:32648")
    >>> network_from_lines(lines, lines.crs).total_length_m
    180.0
    """
    lines = _projected(streets, "streets", crs)
    parts = shapely.get_parts(lines.geometry.to_numpy())
    parts = parts[np.isin(shapely.get_type_id(parts), [1, 2])]  # LineString, LinearRing
    if parts.size == 0:
        raise InputError("streets", "holds no line")
    xy, part = shapely.get_coordinates(parts, return_index=True)
    if not np.isfinite(xy).all():
        raise InputError("streets", "has coordinates that are not numbers")
    # one node per location: vertices within a millimetre are the same node
    tree = cKDTree(xy)
    pairs = tree.query_pairs(_SAME_VERTEX_M, output_type="ndarray")
    label = np.arange(len(xy))
    if pairs.size:
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        links = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])),
                           shape=(len(xy), len(xy)))
        label = connected_components(links, directed=False)[1]
    nodes, first, inverse = np.unique(label, return_index=True, return_inverse=True)
    same = part[1:] == part[:-1]
    u, v = inverse[:-1][same], inverse[1:][same]
    keep = u != v
    densify = float(load_standards()["snapping"]["densify_m"])
    return _assemble(np.arange(nodes.size, dtype=np.int64), xy[first, 0], xy[first, 1],
                     u[keep], v[keep], crs, densify)


def facilities_from_frame(frame: gpd.GeoDataFrame, crs: CRS,
                          prefix: str = "frame") -> gpd.GeoDataFrame:
    """A Facilities table (``fid, kind, name, capacity, source``) from a user's GeoDataFrame.

    Raises
    ------
    InputError
        No ``kind`` column, or a kind that is not one of standards.yaml.
    """
    if "kind" not in frame.columns:
        raise InputError("facilities", "needs a 'kind' column (e.g. primary_school, park)")
    unknown = sorted(set(frame["kind"].astype(str)) - set(kind_names()))
    if unknown:
        raise InputError("facilities", f"unknown kind {unknown[0]!r}; known: "
                                       f"{', '.join(kind_names())}")
    frame = _projected(frame, "facilities", crs)
    n = len(frame)
    return gpd.GeoDataFrame({
        "fid": (frame["fid"].astype(str).to_numpy() if "fid" in frame
                else np.char.add(f"{prefix}/", np.arange(n).astype(str))),
        "kind": frame["kind"].astype(str).to_numpy(),
        "name": frame["name"].fillna("").astype(str).to_numpy() if "name" in frame
        else np.full(n, "", dtype=object),
        "capacity": pd.to_numeric(frame["capacity"], errors="coerce").to_numpy(dtype=float)
        if "capacity" in frame else np.full(n, np.nan),
        "source": np.full(n, prefix, dtype=object),
    }, geometry=frame.geometry.to_numpy(), crs=crs)[COLUMNS]


def population_from_points(points: gpd.GeoDataFrame,
                           column: str = "population") -> PopulationGrid:
    """A population grid from points carrying people (cell size: median spacing of the points).

    Raises
    ------
    InputError
        No ``population`` column or negative counts.
    """
    if column not in points.columns:
        raise InputError("population", f"needs a '{column}' column of people per point")
    people = pd.to_numeric(points[column], errors="coerce").fillna(0.0).to_numpy(dtype=float)
    if (people < 0).any():
        raise InputError("population", "has negative counts")
    centres = shapely.centroid(points.geometry.to_numpy())
    x, y = shapely.get_x(centres), shapely.get_y(centres)
    size = 100.0
    if x.size > 1:
        spacing, _ = cKDTree(np.column_stack([x, y])).query(np.column_stack([x, y]), k=2)
        size = float(np.median(spacing[:, 1])) or size
    return PopulationGrid(x=x, y=y, population=people, cell_size=size, crs=points.crs,
                          source="points:population")


def _local_crs(streets: gpd.GeoDataFrame, requested: str | None) -> CRS:
    if streets.crs is None:
        raise InputError("streets", "have no CRS (set one with .set_crs)")
    if requested is None and not CRS.from_user_input(streets.crs).is_geographic:
        return CRS.from_user_input(streets.crs)
    lon, lat = shapely.get_coordinates(
        shapely.centroid(shapely.union_all(streets.to_crs("EPSG:4326").geometry.to_numpy())))[0]
    return choose_local_crs(float(lon), float(lat), requested)


def _projected(frame: gpd.GeoDataFrame, name: str, crs: CRS) -> gpd.GeoDataFrame:
    if frame.crs is None:
        raise InputError(name, "has no CRS (set one with .set_crs)")
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    return frame.to_crs(crs).reset_index(drop=True)


def _area(boundary: gpd.GeoDataFrame | shapely.Geometry | None, streets: gpd.GeoDataFrame,
          network: WalkNetwork) -> tuple[shapely.Geometry, str]:
    if boundary is None:
        return network.hull(), "convex hull of the streets"
    if isinstance(boundary, gpd.GeoDataFrame | gpd.GeoSeries):
        polygon = shapely.union_all(_projected(gpd.GeoDataFrame(geometry=boundary.geometry),
                                               "boundary", network.crs).geometry.to_numpy())
    else:  # a bare geometry is taken in the streets' CRS
        polygon = gpd.GeoSeries([boundary], crs=streets.crs).to_crs(network.crs).iloc[0]
    return shapely.make_valid(polygon), "boundary given"
