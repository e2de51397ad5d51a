"""Geometry of the park figures at city scale: work proportional to what each piece touches.

At city scale the union of the parks' service zones becomes one polygon of millions of
vertices with thousands of holes, and the residential land tens of thousands of polygons.
Intersecting every land polygon with that union costs (land polygons x union vertices): GEOS
clips each call to the envelopes but still walks the whole union every time. Here the union is
diced once into tiles of bounded size (a quadtree of rectangles, each cut costing the vertices
of the piece being cut), and each land polygon meets only the tiles it overlaps. Tiles do not
overlap, so areas add up exactly; a land polygon spread over several tiles is reassembled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import shapely

from lifecircle.layers.landuse import dissolve
from lifecircle.layers.network import WalkNetwork

if TYPE_CHECKING:
    from lifecircle.layers.walking import WalkCost

#: a zone union with more vertices than this is diced before it meets the land (below it one
#: GEOS call per land polygon is cheap); an assumption tuned on the synthetic cities of
#: benchmarks/bench_city.py, not a standard
MAX_TILE_COORDS = 1_000
#: quadtree depth bound (a 50 km city at depth 16 has tiles under 1 m: never reached in practice)
MAX_DEPTH = 16


def dissolve_land(geoms: gpd.GeoSeries) -> np.ndarray:
    """Residential land as polygons that never overlap: no area counts twice.

    :func:`lifecircle.layers.landuse.dissolve` as an array: each group of intersecting
    polygons is unioned on its own (GEOS' disjoint-subset union), so the work grows with the
    overlaps, not with the city.

    Parameters
    ----------
    geoms : any geometries; lines, points and invalid rings are cleaned by
        :func:`lifecircle.layers.landuse.polygon_parts`

    Returns
    -------
    object array of Polygons with disjoint interiors (they may touch at a point)

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> land = dissolve_land(gpd.GeoSeries([shapely.box(0, 0, 2, 1), shapely.box(1, 0, 3, 1),
    ...                                     shapely.box(5, 0, 6, 1)]))
    >>> sorted(shapely.area(land).tolist())
    [1.0, 3.0]
    """
    return np.asarray(dissolve(geoms).values, dtype=object)


def dice(geometry: shapely.Geometry, bounds: tuple[float, float, float, float],
         max_coords: int = MAX_TILE_COORDS) -> tuple[np.ndarray, np.ndarray]:
    """Cut a polygonal geometry into the tiles of a quadtree over ``bounds``.

    Parameters
    ----------
    geometry : (Multi)Polygon to cut
    bounds : (xmin, ymin, xmax, ymax) the tiles partition (should contain ``geometry``)
    max_coords : a tile holding more vertices than this is split in four

    Returns
    -------
    (rects, pieces): the tile rectangles (they partition ``bounds``) and the part of
    ``geometry`` in each (possibly empty)

    Examples
    --------
    >>> rects, pieces = dice(shapely.Point(0, 0).buffer(10, quad_segs=64), (-10, -10, 10, 10),
    ...                      max_coords=100)
    >>> len(rects) > 1, round(float(shapely.area(pieces).sum()), 6) == round(
    ...     shapely.Point(0, 0).buffer(10, quad_segs=64).area, 6)
    (True, True)
    """
    rects, pieces = [], []
    stack = [(geometry, tuple(map(float, bounds)), 0)]
    while stack:
        piece, (x0, y0, x1, y1), depth = stack.pop()
        if shapely.get_num_coordinates(piece) <= max_coords or depth >= MAX_DEPTH:
            rects.append(shapely.box(x0, y0, x1, y1))
            pieces.append(piece)
            continue
        xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
        quads = [(x0, y0, xm, ym), (xm, y0, x1, ym), (x0, ym, xm, y1), (xm, ym, x1, y1)]
        # intersection, not clip_by_rect: OverlayNG's result is valid, and it clips its inputs
        # to the rectangle's envelope first, so each cut costs about the piece's vertices
        cut = shapely.intersection(piece, shapely.box(*np.array(quads).T))
        stack.extend((c, q, depth + 1) for c, q in zip(cut, quads, strict=True))
    return np.array(rects, dtype=object), np.array(pieces, dtype=object)


def split_land(land: np.ndarray, union: shapely.Geometry,
               max_coords: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each land polygon cut into its part inside ``union`` and its part outside.

    Equal to ``shapely.intersection(land, union)`` and ``shapely.difference(land, union)``
    (areas to floating-point noise), in time proportional to what each land polygon touches.

    Parameters
    ----------
    land : object array of polygons
    union : the covering (Multi)Polygon
    max_coords : see :func:`dice` (default :data:`MAX_TILE_COORDS`); a union this small is
        used whole

    Returns
    -------
    (covered, uncovered): object arrays aligned with ``land``

    Examples
    --------
    >>> inside, outside = split_land(np.array([shapely.box(0, 0, 4, 1)]), shapely.box(1, 0, 2, 1))
    >>> float(inside[0].area), float(outside[0].area)
    (1.0, 3.0)
    """
    land = np.asarray(land, dtype=object)
    max_coords = MAX_TILE_COORDS if max_coords is None else max_coords
    if land.size == 0 or shapely.get_num_coordinates(union) <= max_coords:
        return shapely.intersection(land, union), shapely.difference(land, union)
    lx0, ly0, lx1, ly1 = shapely.total_bounds(land)
    ux0, uy0, ux1, uy1 = shapely.bounds(union)
    # tiles partition a box holding both, so every land polygon is wholly tiled
    rects, pieces = dice(union, (min(lx0, ux0), min(ly0, uy0), max(lx1, ux1), max(ly1, uy1)),
                         max_coords)
    which, tile = shapely.STRtree(rects).query(land, predicate="intersects")
    order = np.lexsort((tile, which))
    which, tile = which[order], tile[order]
    # the cheap cases first: a land polygon inside one tile needs no cut to the tile, a tile
    # the union leaves empty covers nothing, a tile wholly inside the union covers it all
    lx0, ly0, lx1, ly1 = shapely.bounds(land[which]).T
    rx0, ry0, rx1, ry1 = shapely.bounds(rects[tile]).T
    inner = (lx0 >= rx0) & (ly0 >= ry0) & (lx1 <= rx1) & (ly1 <= ry1)
    base = land[which].copy()
    base[~inner] = shapely.intersection(base[~inner], rects[tile[~inner]])
    empty = shapely.is_empty(pieces)[tile]
    full = _full(pieces, rects)[tile]
    inside = np.array([shapely.Polygon()] * which.size, dtype=object)
    outside = inside.copy()
    inside[full] = base[full]
    outside[empty] = base[empty]
    cut = ~(empty | full)
    inside[cut] = shapely.intersection(base[cut], pieces[tile[cut]])
    outside[cut] = shapely.difference(base[cut], pieces[tile[cut]])
    return _regroup(inside, which, land.size), _regroup(outside, which, land.size)


def _full(pieces: np.ndarray, rects: np.ndarray) -> np.ndarray:
    """Tiles whose piece is the whole rectangle (a 5-vertex ring of the rectangle's area)."""
    area = shapely.area(rects)
    return (shapely.get_num_coordinates(pieces) == 5) & (shapely.get_type_id(pieces) == 3) & (
        np.abs(shapely.area(pieces) - area) <= 1e-9 * area)


def _regroup(pieces: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """One geometry per owner from pieces sorted by owner: single pieces as they are, several
    unioned (they come from disjoint tiles, so only their shared edges dissolve)."""
    out = np.array([shapely.Polygon()] * n, dtype=object)
    counts = np.bincount(owner, minlength=n)
    first = np.searchsorted(owner, np.arange(n))
    single = np.flatnonzero(counts == 1)
    out[single] = pieces[first[single]]
    for i in np.flatnonzero(counts > 1):
        out[i] = shapely.union_all(pieces[first[i]:first[i] + counts[i]])
    return out


def walk_zones(network: WalkNetwork, distances, radius: np.ndarray,
                max_leg_m: float, cost: WalkCost | None = None) -> np.ndarray:
    """Per park, the union of discs around the nodes it reaches within its radius, each disc
    the distance left (at most ``max_leg_m``). With gated compounds the graph's node copies sit
    on their original node, and a disc covers only its own side of the compound walls.

    Parameters
    ----------
    network : the walk network (its node coordinates ``x``, ``y``)
    distances : sparse (parks x graph nodes) walking distances, e.g. from
        :func:`lifecircle.coverage.engine.per_facility_distances`
    radius : per park, its service radius
    max_leg_m : the longest straight leg from a node
    cost : the walking cost the distances were measured on (its compounds), or None

    Returns
    -------
    object array, one (Multi)Polygon per park (empty where it reaches nothing)

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from scipy import sparse
    >>> net = SimpleNamespace(x=np.array([0.0, 100.0]), y=np.array([0.0, 0.0]))  # two nodes
    >>> zone = walk_zones(net, sparse.csr_matrix([[10.0, 100.0]]), np.array([150.0]), 30.0)[0]
    >>> zone.bounds  # 30 m around node 0, 30 m around node 1 (150 - 100 = 50, capped at 30)
    (-30.0, -30.0, 130.0, 30.0)
    """
    pairs = distances.tocoo()
    left = radius[pairs.row] - pairs.data
    keep = left > 0
    rows, nodes = pairs.row[keep], pairs.col[keep]
    walls = None if cost is None else cost.compounds
    if walls is not None:
        nodes = walls.node_of[nodes]
    discs = shapely.buffer(shapely.points(network.x[nodes], network.y[nodes]),
                           np.minimum(left[keep], max_leg_m), quad_segs=4)
    if walls is not None:
        discs = own_side(discs, walls.compound_of[nodes], walls.polygons[walls.gated],
                          np.flatnonzero(walls.gated))
    order = np.argsort(rows, kind="stable")
    bounds = np.searchsorted(rows[order], np.arange(radius.size + 1))
    return np.array([shapely.union_all(discs[order[a:b]]) for a, b in
                     zip(bounds[:-1], bounds[1:], strict=True)], dtype=object)


def own_side(discs: np.ndarray, compound: np.ndarray, walls: np.ndarray,
              wall_ids: np.ndarray) -> np.ndarray:
    """Discs kept on their node's side of gated compound walls: inside its compound for a node
    inside one, outside every gated compound for the others (walls only gates cross).

    Parameters
    ----------
    discs : one polygon per node
    compound : per disc, the gated compound id of its node (-1 outside every one)
    walls : the gated compounds' polygons
    wall_ids : the compound id of each of ``walls``

    Returns
    -------
    the discs clipped to their side

    Examples
    --------
    >>> discs = shapely.buffer(shapely.points([0.0, 10.0], [0.0, 0.0]), 5.0)
    >>> kept = own_side(discs, np.array([-1, 0]), np.array([shapely.box(8, -9, 20, 9)]),
    ...                 np.array([0]))
    >>> kept[0].bounds[2] <= 5.0, kept[1].bounds[0] == 8.0
    (True, True)
    """
    out = discs.copy()
    slot = np.full(int(max(compound.max(initial=-1), wall_ids.max(initial=-1))) + 2, -1)
    slot[wall_ids] = np.arange(wall_ids.size)
    inside = compound >= 0
    out[inside] = shapely.intersection(discs[inside], walls[slot[compound[inside]]])
    if walls.size:
        disc, wall = shapely.STRtree(walls).query(discs, predicate="intersects")
        outer = ~inside[disc]
        disc, wall = disc[outer], wall[outer]
        # a disc may meet several compounds: cut one wall per disc per round
        while disc.size:
            first = np.unique(disc, return_index=True)[1]
            out[disc[first]] = shapely.difference(out[disc[first]], walls[wall[first]])
            rest = np.ones(disc.size, dtype=bool)
            rest[first] = False
            disc, wall = disc[rest], wall[rest]
    return out
