"""lifecircle from Python, as in a notebook: a Study from one's own GeoDataFrames, then the sample.

Run: ``python examples/notebook.py`` (CI runs it). Each block is what a notebook cell would hold.
"""

# %% A small town of one's own: streets, two schools, a park and homes, in a metric CRS.
import geopandas as gpd
import numpy as np
from shapely import LineString, Point, box

import lifecircle

CRS = "EPSG:32648"  # UTM 48N, central Sichuan
# a street grid of 200 m blocks, one line per block side: lines join at shared vertices
streets = gpd.GeoDataFrame(geometry=[LineString([(x, y), (x + 200, y)])
                                     for x in range(0, 1200, 200) for y in range(0, 1201, 200)]
                           + [LineString([(x, y), (x, y + 200)])
                              for x in range(0, 1201, 200) for y in range(0, 1200, 200)],
                           crs=CRS)
facilities = gpd.GeoDataFrame(
    {"kind": ["primary_school", "primary_school", "park"],
     "name": ["东小学", "西小学", "中心公园"], "capacity": [1080, 900, np.nan]},
    geometry=[Point(210, 200), Point(1000, 990), box(500, 500, 700, 700)], crs=CRS)
rng = np.random.default_rng(7)
homes = gpd.GeoDataFrame({"population": rng.integers(50, 400, 144).astype(float)},
                         geometry=[Point(x, y) for x in range(50, 1200, 100)
                                   for y in range(50, 1200, 100)], crs=CRS)
residential = gpd.GeoDataFrame(geometry=[box(0, 0, 1200, 1200).difference(
    box(500, 500, 700, 700))], crs=CRS)

# %% One figure: the share of residents within 500 m of a primary school by walking.
share = lifecircle.walk_coverage(streets, facilities, homes, "primary_school")
print(f"primary-school walk coverage: {share:.1%}")

# %% The whole run on the same frames: every metric the layers allow, as a DataFrame.
study = lifecircle.Study.from_frames(streets, facilities, homes, residential=residential)
result = lifecircle.run(study)
print(result.metrics[["value", "unit", "label"]].dropna(subset=["value"]).to_string())
assert abs(result.metrics.loc["walk_coverage.primary_school", "value"] - share) < 1e-12

# %% Per-cell distances are a GeoDataFrame: the homes farthest from a school.
cells = result.cells
print(cells.nlargest(3, "dist_primary_school")[["population", "dist_primary_school"]])

# %% The packaged central Chengdu sample (© OpenStreetMap contributors, ODbL).
from lifecircle.data import sample_path  # noqa: E402

chengdu = lifecircle.run(lifecircle.Study.from_osm(
    sample_path(), residential_density=400, kinds=["primary_school", "park"]))
print(chengdu.metrics.loc[["walk_coverage.primary_school", "park_service_radius_coverage"],
                          ["value", "label"]])
