"""scanfill.fill_polygons against rasterio (GDAL's own fill), pixel for pixel."""

import numpy as np
import pytest
import shapely
from rasterio import features
from rasterio.transform import from_origin

from lifecircle.maps.scanfill import fill_polygons


def _gdal(geoms, values, shape, affine, fill=0):
    """rasterio with one shape per geometry, burnt in ascending value order."""
    order = np.argsort(values, kind="stable")
    return features.rasterize(zip(np.asarray(geoms, dtype=object)[order],
                                  np.asarray(values)[order].tolist(), strict=True),
                              out_shape=shape, transform=affine, fill=fill, dtype="uint8")


def test_overlapping_boxes_and_a_hole_burn_as_gdal():
    rng = np.random.default_rng(0)
    boxes = [shapely.box(x, y, x + w, y + h)
             for x, y, w, h in rng.uniform(0, 100, (500, 4)) * [1, 1, 0.2, 0.2]]
    holed = shapely.Polygon([(0, 0), (50, 0), (50, 50), (0, 50)],
                            [[(10, 10), (40, 10), (40, 40), (10, 40)]])
    geoms = np.array([*boxes, holed])
    values = rng.integers(1, 5, len(geoms))
    values[-1] = 9
    affine = from_origin(0, 100, 0.5, 0.5)
    got = fill_polygons(geoms, values, (200, 200), affine)
    assert (got == _gdal(geoms, values, (200, 200), affine)).all()
    assert got[150, 50] != 9 and got[190, 10] == 9  # the hole is not filled, the ring is


def test_a_polygon_with_thousands_of_holes_and_curved_rings():
    """A service area's shape: a union of circles less many small circles (holes), partly
    off the canvas, on a grid with an odd pixel size."""
    rng = np.random.default_rng(1)
    disks = shapely.buffer(shapely.points(rng.uniform(0, 1000, (60, 2))), 120, quad_segs=16)
    holes = shapely.buffer(shapely.points(rng.uniform(0, 1000, (3000, 2))), 4, quad_segs=4)
    area = shapely.difference(shapely.union_all(disks), shapely.union_all(holes))
    assert shapely.get_num_interior_rings(shapely.get_parts(area)).sum() > 1000
    affine = from_origin(37.3, 1013.7, 3.17, 3.17)  # the area overhangs the canvas
    shape = (300, 290)
    got = fill_polygons([area], [1], shape, affine, fill=255)
    expected = _gdal([area], [1], shape, affine, fill=255)
    assert (got == expected).all()
    assert 10_000 < (got == 1).sum() < got.size


def test_multipolygons_other_geometries_and_nothing():
    affine = from_origin(0, 10, 1, 1)
    multi = shapely.MultiPolygon([shapely.box(0, 0, 3, 3), shapely.box(5, 5, 9, 9)])
    geoms = [multi, shapely.LineString([(0, 0), (9, 9)]), shapely.Point(4, 4)]
    got = fill_polygons(geoms, [2, 5, 6], (10, 10), affine)
    assert (got == _gdal([multi], [2], (10, 10), affine)).all()
    assert set(np.unique(got).tolist()) == {0, 2}
    assert (fill_polygons([], [], (4, 5), affine, fill=7) == 7).all()


@pytest.mark.parametrize("ccw", [True, False])
def test_edges_on_pixel_centres_and_corners(ccw):
    """Vertices and horizontal edges exactly on pixel centres or corners: GDAL's tie rules."""
    affine = from_origin(0, 20, 1, 1)
    shapes = [shapely.box(2.5, 2.5, 7.5, 7.5, ccw=ccw), shapely.box(10, 10, 15, 15, ccw=ccw),
              shapely.Polygon([(1.5, 12.5), (6.5, 12.5), (4, 18.5)]),
              shapely.Polygon([(12.5, 1.5), (18.5, 1.5), (18.5, 6.5)][::1 if ccw else -1])]
    got = fill_polygons(shapes, [1, 2, 3, 4], (20, 20), affine)
    assert (got == _gdal(shapes, [1, 2, 3, 4], (20, 20), affine)).all()
    assert (got == 2).sum() == 25  # a 5 x 5 box on pixel corners: 25 pixels


def test_random_polygons_on_pixel_centres_and_corners():
    """Polygons with vertices on half pixels (centres and corners), holes, rings running
    either way: the ties GDAL breaks its own way, on 400 random cases."""
    rng = np.random.default_rng(3)
    affine = from_origin(0, 20, 1, 1)
    for _ in range(400):
        shell = shapely.make_valid(shapely.Polygon(rng.integers(0, 40, (6, 2)) / 2.0))
        lo, hi = np.sort(rng.integers(0, 40, (2, 2)) / 2.0, axis=0)
        cut = shapely.symmetric_difference(shell, shapely.box(lo[0], lo[1], hi[0], hi[1]))
        parts = shapely.get_parts(cut)
        polygons = []
        for p in parts[shapely.get_type_id(parts) == 3]:
            flip = rng.integers(0, 2, 1 + len(p.interiors)) * 2 - 1
            rings = [list(r.coords)[::f] for r, f in zip([p.exterior, *p.interiors], flip,
                                                        strict=True)]
            polygons.append(shapely.Polygon(rings[0], rings[1:]))
        if not polygons:
            continue
        values = np.arange(1, len(polygons) + 1)
        got = fill_polygons(polygons, values, (20, 20), affine)
        assert (got == _gdal(polygons, values, (20, 20), affine)).all()


def test_many_small_cells_in_many_paint_steps(monkeypatch):
    """Cells of a grid with one value each, painted in steps of a few pixels."""
    from lifecircle.maps import scanfill

    monkeypatch.setattr(scanfill, "PAINT_CHUNK", 7)
    rng = np.random.default_rng(2)
    xs, ys = np.meshgrid(np.arange(0, 200, 10.0), np.arange(0, 200, 10.0))
    grid = shapely.box(xs.ravel(), ys.ravel(), xs.ravel() + 10, ys.ravel() + 10)
    values = rng.integers(0, 4, grid.size)
    affine = from_origin(-3.1, 203.3, 2.9, 2.9)
    got = fill_polygons(grid, values, (72, 71), affine, fill=255)
    assert (got == _gdal(grid, values, (72, 71), affine, fill=255)).all()
    assert set(np.unique(got).tolist()) == {0, 1, 2, 3, 255}


def test_a_grid_whose_edges_all_lie_on_pixel_centres():
    """Every cell edge on a row or column of pixel centres, rings either way round: GDAL's
    tie rules on every cell at once."""
    xs, ys = np.meshgrid(np.arange(0, 60, 6.0), np.arange(0, 60, 6.0))
    grid = shapely.box(xs.ravel(), ys.ravel(), xs.ravel() + 6, ys.ravel() + 6,
                       ccw=True)
    grid[::3] = shapely.reverse(grid[::3])
    grid[1::7] = [shapely.Polygon(g.exterior, [shapely.box(*g.buffer(-2).bounds).exterior])
                  for g in grid[1::7]]
    values = np.arange(grid.size) % 5
    affine = from_origin(-0.5, 60.5, 1, 1)  # x = 0, 6, ... and y = 60, 54, ... on centres
    got = fill_polygons(grid, values, (61, 61), affine, fill=255)
    assert (got == _gdal(grid, values, (61, 61), affine, fill=255)).all()
