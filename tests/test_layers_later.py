"""The ``uncovered`` layer computed on a thread and written last (``run(..., defer_layers=True)``,
what the command line asks): the same layer as a run that computes it in turn, in the result
once settled and in coverage.gpkg, also where the map is drawn in this process (a city's run)."""

from __future__ import annotations

import json
from concurrent.futures import Future

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest

import lifecircle
from lifecircle import forked
from lifecircle.data import sample_path

# the sample maps fewer kindergartens than GB 50180-2018 implies: warned by every run
pytestmark = pytest.mark.filterwarnings("ignore:.*表 3.0.4:UserWarning")


@pytest.fixture(scope="module")
def study():
    return lifecircle.Study.from_osm(sample_path(), residential_density=400,
                                     kinds=["primary_school", "kindergarten", "park"])


@pytest.fixture(scope="module")
def in_turn(study):
    return lifecircle.run(study)


def _same(left: gpd.GeoDataFrame, right: gpd.GeoDataFrame) -> None:
    pd.testing.assert_frame_equal(left.to_wkb().reset_index(drop=True),
                                  right.to_wkb().reset_index(drop=True), check_exact=True)


def test_deferred_layer_is_pending_then_the_same(study, in_turn):
    later = lifecircle.run(study, defer_layers=True)
    assert "uncovered" not in later.layers
    assert isinstance(later.pending_layers["uncovered"], Future)
    assert later.settle_layers() is later and later.pending_layers == {}
    assert len(in_turn.layers["uncovered"]) == 2 * 3  # study area and residential, 3 kinds
    _same(later.layers["uncovered"], in_turn.layers["uncovered"])


@pytest.mark.parametrize("fork", [True, False], ids=["map forked", "map in this process"])
def test_folder_writes_the_deferred_layer(study, in_turn, tmp_path, monkeypatch, fork):
    # a city's run cannot fork: its map is drawn in this process and the layer written last
    monkeypatch.setattr(forked, "MAX_FORK_RESIDENT_BYTES", 1 << 50 if fork else 0)
    later = lifecircle.run(study, defer_layers=True)
    later.config = later.config.model_copy(update={"figures": False})
    later.to_folder(tmp_path / "out", keep_layers=False)
    written = gpd.read_file(tmp_path / "out" / "coverage.gpkg", layer="uncovered")
    expected = in_turn.layers["uncovered"]
    assert written["kind"].tolist() == expected["kind"].tolist()
    assert written["uncovered_m2"].to_numpy() == pytest.approx(expected["uncovered_m2"], rel=1e-9)
    assert written.geometry.area.to_numpy() == pytest.approx(
        expected.geometry.area.to_numpy(), rel=1e-9)
    layers = [name for name, _ in pyogrio.list_layers(tmp_path / "out" / "coverage.gpkg")]
    timings = json.loads((tmp_path / "out" / "timings.json").read_text(encoding="utf-8"))
    if fork:  # settled before the map's process forks, written with the others
        assert "write_pending" not in timings
        assert layers.index("uncovered") < layers.index("base_streets")
    else:  # written after the map, report and basemap
        assert timings["write_pending"] >= 0
        assert layers[-1] == "uncovered"
    assert later.pending_layers == {} and later.layers == {}


def test_deferred_work_never_holds_up_the_exit_and_its_error_reaches_the_caller():
    import threading

    from lifecircle.coverage.parallel import on_a_thread

    started, release = threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        release.wait(10)
        return "done"

    future = on_a_thread(slow)
    assert started.wait(10)
    # a daemon: the console script's exit (lifecircle.cli_main.exit_quickly) joins only
    # non-daemon threads, so Ctrl-C or a failed write does not wait for the overlays
    later = [t for t in threading.enumerate() if t.name == "lifecircle-later"]
    assert later and all(t.daemon for t in later) and not future.done()
    release.set()
    assert future.result(10) == "done"

    def broken() -> None:
        raise ValueError("TopologyException: side location conflict")

    with pytest.raises(ValueError, match="side location conflict"):
        on_a_thread(broken).result(10)
