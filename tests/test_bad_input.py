"""The catalogue of bad inputs: each through the CLI, each a one-line error with exit code 2 and
no output folder left behind; plus the inputs that are handled (reported, not errors)."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from lifecircle.cli import main
from tests.osm_fixture import DLAT, DLON, LAT0, LON0, write_small_osm

pytestmark = pytest.mark.bad_input


def _raster(path, values, crs="EPSG:4326", origin=(LON0 - 0.001, LAT0 + 0.008), nodata=-99999.0):
    values = np.asarray(values, dtype=np.float64)
    profile = {"driver": "GTiff", "height": values.shape[0], "width": values.shape[1],
               "count": 1, "dtype": "float64", "nodata": nodata,
               "transform": from_origin(origin[0], origin[1], 0.00083, 0.00083)}
    if crs:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values, 1)
    return path


def _boundary(path, geom, crs="EPSG:4326"):
    gpd.GeoDataFrame({"name": ["area"]}, geometry=[geom], crs=crs).to_file(path)
    return path


def _area_box():
    return shapely.box(LON0 - 0.0005, LAT0 - 0.0005, LON0 + 7 * DLON, LAT0 + 7 * DLAT)


# each case: (id, builder(tmp) -> extra argv, expected text in the error line)
def _osm(tmp):
    return write_small_osm(tmp / "area.osm")


CASES = [
    ("missing_osm", lambda t: ["--osm", str(t / "none.osm.pbf"), "--residential-density", "100"],
     "none.osm.pbf: file not found"),
    ("osm_is_folder", lambda t: ["--osm", str(_mkdir(t / "dir.osm")), "--residential-density",
                                 "100"], "dir.osm: is not a file"),
    ("not_osm_suffix", lambda t: ["--osm", str(_text(t / "roads.txt", "x")),
                                  "--residential-density", "100"], "roads.txt: not an OSM file"),
    ("garbage_osm", lambda t: ["--osm", str(_text(t / "bad.osm", "hello")),
                               "--residential-density", "100"], "bad.osm: not a readable OSM"),
    ("garbage_pbf", lambda t: ["--osm", str(_text(t / "bad.osm.pbf", "hello")),
                               "--residential-density", "100"], "bad.osm.pbf: not a readable"),
    ("no_walkable_ways", lambda t: ["--osm", str(_text(t / "motorway.osm", _MOTORWAY_ONLY)),
                                    "--residential-density", "100"], "no walkable way"),
    ("no_network", lambda t: ["--residential-density", "100"], "give exactly one of --osm"),
    ("two_networks", lambda t: ["--osm", str(_osm(t)), "--place", "渠县",
                                "--residential-density", "100"], "give exactly one of --osm"),
    ("no_population", lambda t: ["--osm", str(_osm(t))], "give exactly one of --population"),
    ("two_populations", lambda t: ["--osm", str(_osm(t)), "--residential-density", "100",
                                   "--population-total", "5"], "give exactly one of --population"),
    ("missing_raster", lambda t: ["--osm", str(_osm(t)), "--population", str(t / "pop.tif")],
     "pop.tif: file not found"),
    ("not_a_raster", lambda t: ["--osm", str(_osm(t)), "--population",
                                str(_text(t / "pop.tif", "not a tiff"))], "pop.tif: not a raster"),
    ("raster_without_crs", lambda t: ["--osm", str(_osm(t)), "--population",
                                      str(_raster(t / "pop.tif", np.ones((10, 10)), crs=None))],
     "pop.tif: raster has no CRS"),
    ("raster_elsewhere", lambda t: ["--osm", str(_osm(t)), "--population",
                                    str(_raster(t / "pop.tif", np.ones((10, 10)),
                                                origin=(114.0, 30.6)))],
     "pop.tif: "),
    ("raster_all_nodata", lambda t: ["--osm", str(_osm(t)), "--population",
                                     str(_raster(t / "pop.tif", np.full((10, 10), -99999.0)))],
     "pop.tif: every cell inside the study area is nodata or zero"),
    ("negative_density", lambda t: ["--osm", str(_osm(t)), "--residential-density", "-5"],
     "--residential-density -5: must be a positive number"),
    ("boundary_missing", lambda t: ["--osm", str(_osm(t)), "--residential-density", "100",
                                    "--boundary", str(t / "b.gpkg")], "file not found"),
    ("boundary_not_vector", lambda t: ["--osm", str(_osm(t)), "--residential-density", "100",
                                       "--boundary", str(_text(t / "b.geojson", "{oops"))],
     "b.geojson: "),
    ("boundary_elsewhere", lambda t: ["--osm", str(_osm(t)), "--residential-density", "100",
                                      "--boundary", str(_boundary(t / "b.gpkg",
                                                                  shapely.box(114, 30, 114.1,
                                                                              30.1)))],
     "does not overlap"),
    ("negative_threshold", lambda t: ["--osm", str(_osm(t)), "--residential-density", "100",
                                      "--threshold", "market=-100"], "between 0 and 20,000 m"),
    ("absurd_threshold", lambda t: ["--osm", str(_osm(t)), "--residential-density", "100",
                                    "--threshold", "market=1e9"], "between 0 and 20,000 m"),
    ("unknown_kind", lambda t: ["--osm", str(_osm(t)), "--residential-density", "100",
                                "--kinds", "casino"], "--kinds casino: unknown kind"),
    ("bad_crs", lambda t: ["--osm", str(_osm(t)), "--residential-density", "100",
                           "--crs", "EPSG:999999"], "is not a CRS"),
    ("geographic_crs", lambda t: ["--osm", str(_osm(t)), "--residential-density", "100",
                                  "--crs", "EPSG:4326"], "not a projected CRS"),
    ("csv_wrong_columns", lambda t: ["--osm", str(_osm(t)), "--residential-density", "100",
                                     "--facilities", str(_text(t / "f.csv", "a,b\n1,2\n"))],
     "f.csv: "),
    ("csv_unknown_kind", lambda t: ["--osm", str(_osm(t)), "--residential-density", "100",
                                    "--facilities",
                                    str(_text(t / "f.csv", "kind,name,lon,lat\nbar,X,104.06,"
                                                           "30.66\n"))],
     "f.csv: unknown kind(s) bar"),
    ("csv_bad_encoding", lambda t: ["--osm", str(_osm(t)), "--residential-density", "100",
                                    "--facilities", str(_bytes(t / "f.csv",
                                                               "kind,name\n".encode("utf-16")))],
     "f.csv: "),
    ("csv_bad_coordinates", lambda t: ["--osm", str(_osm(t)), "--residential-density", "100",
                                       "--facilities",
                                       str(_text(t / "f.csv", "kind,name,lon,lat\nmarket,X,abc,"
                                                              "30.66\n"))],
     "row 2: lon/lat is not a valid coordinate"),
    ("unwritable_output", lambda t: ["--osm", str(_osm(t)), "--residential-density", "100",
                                     "--out", str(_text(t / "file", "x") / "sub")],
     "cannot be written"),
    ("bad_option", lambda t: ["--osm", str(_osm(t)), "--residential-density", "many"],
     "--residential-density many: is not a number"),
]


def _mkdir(path):
    path.mkdir()
    return path


def _text(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def _bytes(path, data):
    path.write_bytes(data)
    return path


_MOTORWAY_ONLY = (
    "<?xml version='1.0' encoding='UTF-8'?><osm version='0.6'>"
    "<node id='1' lat='30.0' lon='104.0'/><node id='2' lat='30.001' lon='104.0'/>"
    "<way id='5'><nd ref='1'/><nd ref='2'/><tag k='highway' v='motorway'/></way></osm>"
)


@pytest.mark.parametrize(("builder", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_input(tmp_path, capsys, builder, expected):
    argv = ["run", *builder(tmp_path)]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "out")]
    before = set(tmp_path.rglob("*"))
    code = main(argv)
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if "error:" in line]
    assert code == 2, captured.err
    assert len(errors) == 1, captured.err
    assert expected in errors[0]
    assert "Traceback" not in captured.err
    assert not (tmp_path / "out").exists()
    assert set(tmp_path.rglob("*")) == before  # no partial or staging folder


def test_catalogue_size():
    assert len(CASES) >= 25


def _run(tmp_path, *extra):
    osm = write_small_osm(tmp_path / "area.osm")
    out = tmp_path / "out"
    code = main(["run", "--osm", str(osm), "--out", str(out), *extra])
    assert code == 0
    return json.loads((out / "scorecard.json").read_text(encoding="utf-8"))


def test_nan_and_negative_population_count_as_zero(tmp_path):
    values = np.full((12, 12), 10.0)
    values[0, 0], values[1, 1], values[2, 2] = np.nan, -50.0, -99999.0
    card = _run(tmp_path, "--population", str(_raster(tmp_path / "pop.tif", values,
                                                      nodata=-99999.0)))
    assert card["population"]["total"] > 0
    assert card["population"]["total"] % 10 == pytest.approx(0)


def test_boundary_in_another_crs_is_reprojected(tmp_path):
    a = tmp_path / "a"
    a.mkdir()
    b = tmp_path / "b"
    b.mkdir()
    wgs = _boundary(a / "b.gpkg", _area_box())
    card_wgs = _run(a, "--residential-density", "100", "--boundary", str(wgs))
    mercator = gpd.read_file(wgs).to_crs("EPSG:3857")
    mercator.to_file(b / "b.gpkg")
    card_merc = _run(b, "--residential-density", "100", "--boundary", str(b / "b.gpkg"))
    assert card_merc["population"]["total"] == pytest.approx(card_wgs["population"]["total"],
                                                             rel=1e-6)
    assert card_merc["study_area"]["area_ha"] == pytest.approx(card_wgs["study_area"]["area_ha"],
                                                               rel=1e-4)


def test_self_intersecting_boundary_is_repaired(tmp_path, capsys):
    x0, y0 = LON0, LAT0
    bowtie = shapely.Polygon([(x0, y0), (x0 + 0.007, y0 + 0.006), (x0 + 0.007, y0),
                              (x0, y0 + 0.006)])
    assert not bowtie.is_valid
    card = _run(tmp_path, "--residential-density", "100", "--boundary",
                str(_boundary(tmp_path / "b.gpkg", bowtie)))
    assert card["study_area"]["area_ha"] > 0


def test_facilities_far_from_streets_are_unreachable_not_errors(tmp_path):
    csv = _text(tmp_path / "f.csv", "kind,name,lon,lat\nmarket,远处,104.2,30.8\n")
    card = _run(tmp_path, "--residential-density", "100", "--facilities", str(csv))
    metric = card["metrics"]["walk_coverage.market"]
    assert metric["facilities_unreachable"] == 1
    assert metric["value"] == 0.0


def test_duplicate_facilities_are_dropped(tmp_path):
    from lifecircle.layers.facilities import drop_duplicates

    frame = gpd.GeoDataFrame(
        {"fid": ["a", "b", "c"], "kind": ["health_centre"] * 3, "name": ["X", "X", "Y"]},
        geometry=[shapely.Point(0, 0), shapely.Point(0, 0), shapely.Point(500, 0)],
        crs="EPSG:32648",
    )
    kept, dropped = drop_duplicates(frame)
    assert dropped == 1 and list(kept["fid"]) == ["a", "c"]


def test_disconnected_network_reports_its_share(tmp_path):
    card = _run(tmp_path, "--residential-density", "100")
    assert card["study_area"]["network_outside_largest_component_share"] >= 0.0


def test_place_query_offline_is_one_clear_line(tmp_path, capsys, monkeypatch):
    """--place needs Overpass; without the internet it fails with one line (no request made:
    osmnx's query is replaced by one that fails as an offline machine does)."""
    import osmnx

    def offline(*_args, **_kwargs):
        raise ConnectionError("Max retries exceeded with url: nominatim")

    monkeypatch.setattr(osmnx, "graph_from_place", offline)
    code = main(["run", "--place", "渠县, 达州市, 四川省", "--residential-density", "100",
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert "--place 渠县, 达州市, 四川省: could not be fetched" in err
    assert "offline, pass --osm" in err
    assert not (tmp_path / "out").exists()
