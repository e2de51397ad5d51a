"""Slope-aware walking: a DEM window, edge elevation profiles and Tobler flat-equivalent costs.

The walk network stays in metres on flat ground: each edge's cost becomes its *flat-equivalent
distance* ``length * v(0) / v(s)`` with Tobler's hiking function
``v(s) = 6 exp(-3.5 |s + 0.05|)`` km/h (Tobler 1993), ``s`` the signed grade in the walking
direction. Uphill and downhill differ, so the cost graph is directed: entry ``[a, b]`` is the
cost of walking from node ``a`` to node ``b``. Searches that start at facilities must run on its
transpose (the walk that counts goes from home to the facility); see
:func:`lifecircle.coverage.engine.nearest_facility` (``cost_graph``).
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import shapely
from pyproj import CRS, Transformer
from scipy import sparse

from lifecircle.errors import InputError
from lifecircle.layers.network import WalkNetwork

if TYPE_CHECKING:  # rasterio (with click, 0.15 s to import) only when a DEM is read
    import rasterio
    from rasterio.transform import Affine
    from rasterio.windows import Window

#: longest horizontal step between elevation samples along an edge (issue 19: "every <= 10 m")
SAMPLE_STEP_M = 10.0
#: margin read around the network so bilinear samples at its edge have four neighbours
#: (assumption: a few cells of any common DEM, SRTM 30 m to survey 1 m)
WINDOW_MARGIN_M = 100.0
#: Tobler's hiking function: v(s) = 6 exp(-3.5 |s + 0.05|) km/h (Tobler 1993)
TOBLER_A, TOBLER_B = 3.5, 0.05
#: minimum grade charged on ``highway=steps`` (assumption). Outdoor steps are built with risers
#: <= 0.15 m on treads >= 0.30 m (GB 50352-2019 §6.7.1, recalled), a 50 % grade per flight;
#: OSM steps ways include landings and short level runs, so their mean grade is lower. 30 % is
#: the floor: steps never cost less than a 30 % slope even when a coarse DEM sees them as flat.
STEPS_MIN_GRADE = 0.30
FEET_M = 0.3048

_FEET_NAMES = {"ft", "foot", "feet", "us survey foot", "us_survey_foot", "ftus", "us-ft",
               "international foot"}
_METRE_NAMES = {"m", "metre", "meter", "metres", "meters"}


@dataclass(frozen=True)
class Dem:
    """An elevation window in the network's CRS.

    Attributes
    ----------
    z : float64 (rows, cols) elevation in metres, NaN where unknown (nodata, holes, outside)
    transform : affine transform of ``z`` (network CRS)
    crs : the network CRS
    source : the file read
    resolution_m : cell size of the source DEM, metres (reprojected to the network CRS)
    units : vertical unit of the file ("metre" or "feet")
    """

    z: np.ndarray
    transform: Affine
    crs: CRS
    source: str
    resolution_m: float
    units: str

    def sample(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Bilinear elevation at points (network CRS); NaN outside or beside a hole."""
        # imported here: scipy.ndimage costs a run without a DEM 0.1 s of start-up
        from scipy.ndimage import map_coordinates

        col, row = ~self.transform * (np.asarray(x, float), np.asarray(y, float))
        # array index i is the centre of cell i: pixel-edge coordinates minus one half
        return map_coordinates(self.z, [np.asarray(row) - 0.5, np.asarray(col) - 0.5], order=1,
                               mode="constant", cval=np.nan, prefilter=False)


def read_dem_window(path: str | Path, bounds: tuple[float, float, float, float],
                    crs: CRS | str, *, units: str | None = None,
                    margin_m: float = WINDOW_MARGIN_M) -> Dem:
    """Read only the part of a DEM covering ``bounds`` (+ margin), in the network CRS.

    Parameters
    ----------
    path : any raster GDAL reads (GeoTIFF SRTM, ASTER, ALOS, a local survey), band 1
    bounds : (minx, miny, maxx, maxy) of the network in ``crs``
    crs : the network's projected CRS
    units : "metre" or "feet" when the file does not declare its vertical unit (``--dem-units``);
        a unit the file declares (vertical CRS axis or band unit) wins
    margin_m : read this much beyond ``bounds``

    Returns
    -------
    Dem, reprojected with bilinear resampling; nodata and holes are NaN.

    Raises
    ------
    InputError
        Missing or unreadable file, no CRS, unknown unit, or a DEM that does not overlap
        ``bounds``.
    """
    import rasterio
    import rasterio.warp
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
    from rasterio.windows import Window

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    target = CRS.from_user_input(crs)
    try:
        with warnings.catch_warnings():
            # a file without georeferencing gets the one-line error below instead
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            src = rasterio.open(path)
    except RasterioIOError as exc:
        raise InputError(path, f"not a raster GDAL can read ({str(exc).splitlines()[0]})") from None
    with src:
        if src.crs is None:
            raise InputError(path, "DEM has no CRS (georeference it, e.g. gdal_edit.py -a_srs)")
        src_crs = CRS.from_user_input(src.crs)
        factor, unit = _vertical_factor(src, src_crs, units, path)
        minx, miny, maxx, maxy = bounds
        want = (minx - margin_m, miny - margin_m, maxx + margin_m, maxy + margin_m)
        src_box = rasterio.warp.transform_bounds(target, src_crs, *want, densify_pts=21)
        window = _window(src, src_box, path)
        band = src.read(1, window=window, masked=True).astype(np.float64)
        z = band.filled(np.nan) * factor
        transform = src.window_transform(window)
        res_x, res_y = abs(transform.a), abs(transform.e)
    if not np.isfinite(z).any():
        raise InputError(path, "every DEM cell over the network is nodata")
    resolution = _resolution_m(transform, z.shape, src_crs, res_x, res_y)
    if src_crs == target:
        return Dem(z, transform, target, str(path), resolution, unit)
    dst_transform, width, height = rasterio.warp.calculate_default_transform(
        src_crs, target, z.shape[1], z.shape[0],
        *rasterio.windows.bounds(Window(0, 0, z.shape[1], z.shape[0]), transform))
    out = np.full((height, width), np.nan)
    rasterio.warp.reproject(z, out, src_transform=transform, src_crs=src_crs, src_nodata=np.nan,
                            dst_transform=dst_transform, dst_crs=target, dst_nodata=np.nan,
                            resampling=rasterio.warp.Resampling.bilinear)
    return Dem(out, dst_transform, target, str(path), resolution, unit)


@dataclass(frozen=True)
class EdgeProfiles:
    """Elevation along every edge of a network, sampled every <= ``SAMPLE_STEP_M``.

    Sub-segments of all edges are stored flat (edge by edge, from ``u`` to ``v``).

    Attributes
    ----------
    sub_edge : edge row per sub-segment
    sub_length : horizontal length of each sub-segment, metres
    sub_grade : signed grade of each sub-segment walked from ``u`` to ``v`` (0 on edges without
        elevation)
    gain_m, loss_m : per edge, climb and descent walking ``u`` -> ``v`` (swapped for
        ``v`` -> ``u``)
    grade : per edge, net grade ``(z_v - z_u) / length`` (0 without elevation)
    has_elevation : per edge, every sample had an elevation
    """

    sub_edge: np.ndarray
    sub_length: np.ndarray
    sub_grade: np.ndarray
    gain_m: np.ndarray
    loss_m: np.ndarray
    grade: np.ndarray
    has_elevation: np.ndarray

    @property
    def missing_share(self) -> float:
        """Share of edges without elevation (treated as flat)."""
        return float(1.0 - self.has_elevation.mean()) if self.has_elevation.size else 0.0


def edge_profiles(network: WalkNetwork, dem: Dem, step_m: float = SAMPLE_STEP_M) -> EdgeProfiles:
    """Sample the DEM along every edge (bilinear, every <= ``step_m``) and sum gain and loss.

    An edge with any sample outside the DEM or in a hole has no elevation: it is treated as flat
    and counted in :attr:`EdgeProfiles.missing_share` (warned when > 0).

    Raises
    ------
    InputError
        When no edge at all has elevation: the DEM does not cover the network.
    """
    edges = network.edges
    u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
    length = edges["length"].to_numpy(dtype=np.float64)
    pieces = np.maximum(np.ceil(length / step_m).astype(np.int64), 1)
    # samples per edge: pieces + 1, at fractions k / pieces
    n_samples = pieces + 1
    sample_edge = np.repeat(np.arange(u.size), n_samples)
    first = np.cumsum(n_samples) - n_samples
    k = np.arange(sample_edge.size) - first[sample_edge]
    frac = k / pieces[sample_edge]
    x0, y0 = network.x[u][sample_edge], network.y[u][sample_edge]
    sx = x0 + frac * (network.x[v][sample_edge] - x0)
    sy = y0 + frac * (network.y[v][sample_edge] - y0)
    z = dem.sample(sx, sy)

    has = np.ones(u.size, dtype=bool)
    has[sample_edge[~np.isfinite(z)]] = False
    if not has.any():
        raise InputError(dem.source, "the DEM does not cover the walk network at all")
    # sub-segment j of an edge joins sample j and j + 1 of that edge
    is_start = k < pieces[sample_edge]
    sub_edge = sample_edge[is_start]
    dz = np.diff(z)[is_start[:-1]] if z.size > 1 else np.empty(0)
    dz = np.where(has[sub_edge], dz, 0.0)
    sub_length = (length / pieces)[sub_edge]
    gain = np.bincount(sub_edge, np.maximum(dz, 0.0), minlength=u.size)
    loss = np.bincount(sub_edge, np.maximum(-dz, 0.0), minlength=u.size)
    net = np.bincount(sub_edge, dz, minlength=u.size)
    profiles = EdgeProfiles(sub_edge=sub_edge, sub_length=sub_length, sub_grade=dz / sub_length,
                            gain_m=gain, loss_m=loss, grade=net / length, has_elevation=has)
    if profiles.missing_share > 0:
        warnings.warn(f"{Path(dem.source).name}: {profiles.missing_share:.1%} of the walk "
                      "network's edges have no elevation (outside the DEM or in nodata holes); "
                      "they are treated as flat", stacklevel=2)
    return profiles


def tobler_factor(grade: np.ndarray | float) -> np.ndarray:
    """``v(0) / v(s)`` for Tobler's hiking function: 1 on flat ground, < 1 on gentle descents."""
    return np.exp(TOBLER_A * (np.abs(np.asarray(grade, float) + TOBLER_B) - TOBLER_B))


@dataclass(frozen=True)
class SlopeCosts:
    """Flat-equivalent walking costs.

    Attributes
    ----------
    graph : directed csr_matrix (n x n), ``graph[a, b]`` the cost of walking a -> b, metres
    forward, backward : per edge row, cost of walking ``u`` -> ``v`` and ``v`` -> ``u``
        (circles can cut edges in cost space with them)
    """

    graph: sparse.csr_matrix
    forward: np.ndarray
    backward: np.ndarray


def tobler_graph(network: WalkNetwork, profiles: EdgeProfiles,
                 steps_mask: np.ndarray | None = None,
                 steps_incline: np.ndarray | None = None) -> SlopeCosts:
    """The directed flat-equivalent cost graph of a network from its edge profiles.

    Each sub-segment costs ``length * v(0) / v(s)``, ``s`` its grade in the walking direction
    (``+g`` from ``u`` to ``v``, ``-g`` back); an edge's cost per direction is the sum.

    Parameters
    ----------
    network : the walk network (its ``edges`` rows are the profiles' edges)
    profiles : from :func:`edge_profiles`
    steps_mask : bool per edge, ``highway=steps``. A steps edge is charged as one uniform slope:
        its grade (``steps_incline`` where given, else the DEM's net grade) raised to at least
        :data:`STEPS_MIN_GRADE` in magnitude, keeping its sign; when the grade is 0 (direction
        unknown) both directions are charged as a descent of that grade, the cheaper side.
    steps_incline : signed grade u -> v per edge from the ``incline`` tag, NaN where not given
        (see :func:`parse_incline`)
    """
    edges = network.edges
    n_edges = len(edges)
    factor_up = tobler_factor(profiles.sub_grade)
    factor_down = tobler_factor(-profiles.sub_grade)
    forward = np.bincount(profiles.sub_edge, profiles.sub_length * factor_up, minlength=n_edges)
    backward = np.bincount(profiles.sub_edge, profiles.sub_length * factor_down,
                           minlength=n_edges)
    length = edges["length"].to_numpy(dtype=np.float64)
    if steps_mask is not None and np.any(steps_mask):
        steps = np.flatnonzero(steps_mask)
        grade = profiles.grade[steps]
        if steps_incline is not None:
            tagged = np.isfinite(steps_incline[steps])
            grade = np.where(tagged, steps_incline[steps], grade)
        steep = np.sign(grade) * np.maximum(np.abs(grade), STEPS_MIN_GRADE)
        # grade 0: direction unknown, both ways charged as the (cheaper) descent
        fwd_grade = np.where(grade == 0, -STEPS_MIN_GRADE, steep)
        bwd_grade = np.where(grade == 0, -STEPS_MIN_GRADE, -steep)
        forward[steps] = length[steps] * tobler_factor(fwd_grade)
        backward[steps] = length[steps] * tobler_factor(bwd_grade)
    n = network.n_nodes
    u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
    # csgraph drops stored zeros; keep coincident-node edges as a tiny positive cost
    graph = sparse.csr_matrix(
        (np.maximum(np.concatenate([forward, backward]), 1e-6),
         (np.concatenate([u, v]), np.concatenate([v, u]))), shape=(n, n))
    return SlopeCosts(graph=graph, forward=forward, backward=backward)


def steps_edges(network: WalkNetwork, step_lines: np.ndarray,
                tolerance_m: float = 0.01) -> np.ndarray:
    """Mask of the edges lying on ``highway=steps`` ways (network CRS lines): an edge whose
    midpoint is within ``tolerance_m`` of a steps line (densified edges split ways exactly)."""
    if len(step_lines) == 0:
        return np.zeros(len(network.edges), dtype=bool)
    u, v = network.edges["u"].to_numpy(), network.edges["v"].to_numpy()
    mid = shapely.points((network.x[u] + network.x[v]) / 2, (network.y[u] + network.y[v]) / 2)
    hit = shapely.STRtree(np.asarray(step_lines, dtype=object)).query(
        mid, predicate="dwithin", distance=tolerance_m)
    mask = np.zeros(u.size, dtype=bool)
    mask[hit[0]] = True
    return mask


def steps_lines_from_ways(walk, crs: CRS | str) -> np.ndarray:
    """The ``highway=steps`` ways of a :class:`~lifecircle.layers.osm_scan.WalkWays` as lines in
    ``crs`` (input of :func:`steps_edges`)."""
    steps_way = np.flatnonzero(np.asarray(walk.highway) == "steps")
    # a line needs two points: ways of one node are dropped
    steps_way = steps_way[np.bincount(walk.way_index, minlength=walk.way_ids.size)[steps_way] > 1]
    keep = np.isin(walk.way_index, steps_way)
    if not keep.any():
        return np.empty(0, dtype=object)
    x, y = Transformer.from_crs("EPSG:4326", CRS.from_user_input(crs),
                                always_xy=True).transform(walk.lon[keep], walk.lat[keep])
    # shapely wants line indices 0..k-1 without gaps
    _, line_of = np.unique(walk.way_index[keep], return_inverse=True)
    return np.asarray(shapely.linestrings(np.column_stack([x, y]), indices=line_of),
                      dtype=object)


_INCLINE = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*(%|°)?\s*$")


def parse_incline(value: object) -> float:
    """Signed grade from an OSM ``incline`` tag along the way's direction: "10%" -> 0.10,
    "-5%" -> -0.05, "8°" -> tan(8°); "up"/"down"/missing -> NaN (no magnitude)."""
    if not isinstance(value, str):
        return float("nan")
    match = _INCLINE.match(value)
    if match is None:
        return float("nan")
    number = float(match.group(1))
    if match.group(2) == "°":
        return math.tan(math.radians(number))
    return number / 100.0


def _vertical_factor(src: rasterio.DatasetReader, src_crs: CRS, option: str | None,
                     path: Path) -> tuple[float, str]:
    """Metres per DEM unit: the file's declared vertical unit wins over ``option``."""
    declared = None
    for axis in src_crs.axis_info:
        if axis.direction in ("up", "down"):
            declared = axis.unit_name
    band_unit = (src.units[0] if src.units else None) or None
    declared = declared or band_unit
    name = (declared or option or "metre").strip().lower()
    unit = _unit(name)
    if unit is None:
        raise InputError(path, f"unknown vertical unit {name!r} (give --dem-units metre or feet)")
    if declared and option and _unit(option.strip().lower()) != unit:
        warnings.warn(f"{path.name}: the file declares its heights in {unit}; --dem-units "
                      f"{option} is ignored", stacklevel=3)
    return (FEET_M if unit == "feet" else 1.0), unit


def _unit(name: str) -> str | None:
    if name in _FEET_NAMES or "foot" in name or "feet" in name:
        return "feet"
    if name in _METRE_NAMES or "metre" in name or "meter" in name:
        return "metre"
    return None


def _window(src: rasterio.DatasetReader, box: tuple[float, float, float, float],
            path: Path) -> Window:
    from rasterio.windows import Window, from_bounds

    exact = from_bounds(*box, transform=src.transform)
    col0, row0 = max(math.floor(exact.col_off), 0), max(math.floor(exact.row_off), 0)
    col1 = min(math.ceil(exact.col_off + exact.width), src.width)
    row1 = min(math.ceil(exact.row_off + exact.height), src.height)
    if col1 <= col0 or row1 <= row0:
        raise InputError(path, "the DEM does not cover the walk network at all")
    return Window(col0, row0, col1 - col0, row1 - row0)


def _resolution_m(transform: Affine, shape: tuple[int, int], src_crs: CRS, res_x: float,
                  res_y: float) -> float:
    """Nominal cell size in metres (degrees converted at the window's centre latitude)."""
    if not src_crs.is_geographic:
        return float((res_x + res_y) / 2)
    lat = transform.f + transform.e * shape[0] / 2
    return float((res_x * 111_320 * math.cos(math.radians(lat)) + res_y * 110_574) / 2)
