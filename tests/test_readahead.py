"""The command line reads its OSM file and basemap ahead in other processes (lifecircle.layers.
readahead): what the run takes is what a read in place gives, a changed or bad file is read in
place (and its error raised there), and a read is taken once, by the process that started it."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lifecircle import forked
from lifecircle.errors import InputError
from lifecircle.layers import readahead
from lifecircle.layers.osm import read_osm
from tests.test_maps import CHENGDU_PBF

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="read ahead by a forked process on Linux only")


@pytest.fixture
def chengdu(tmp_path, monkeypatch) -> Path:
    monkeypatch.setattr(forked, "MAX_FORK_RESIDENT_BYTES", 1 << 50)  # the test process' size
    return Path(shutil.copy(CHENGDU_PBF, tmp_path / "city.osm.pbf")).resolve()


def _same_extract(got, want) -> None:
    for field in ("way_index", "node_ref", "lon", "lat", "way_ids", "highway"):
        np.testing.assert_array_equal(getattr(got.walk, field), getattr(want.walk, field))
    pd.testing.assert_frame_equal(got.features.to_wkb(), want.features.to_wkb())
    assert got.bounds == want.bounds and got.source == want.source


def test_the_osm_file_read_ahead_is_the_read_in_place(chengdu):
    readahead.read_osm_ahead(chengdu)
    assert readahead.pending(readahead.OSM_READER, chengdu)
    received = readahead._AHEAD[(readahead.OSM_READER, chengdu)][2]
    got = read_osm(chengdu)
    assert received.done() and not readahead.pending(readahead.OSM_READER, chengdu)  # taken
    _same_extract(got, read_osm(chengdu))  # nothing read ahead now: read in place


def test_a_large_osm_file_is_read_in_place(chengdu, monkeypatch):
    monkeypatch.setattr(readahead, "OSM_AHEAD_MAX_BYTES", chengdu.stat().st_size - 1)
    readahead.read_osm_ahead(chengdu)
    assert not readahead.pending(readahead.OSM_READER, chengdu)


def test_a_changed_or_bad_osm_file_is_read_in_place(chengdu):
    readahead.start((readahead.OSM_READER,), chengdu, spawn_min_bytes=None)
    chengdu.write_bytes(b"not OSM")  # changed since the read started
    with pytest.raises(InputError, match="city.osm.pbf"):  # the error of a read in place
        read_osm(chengdu)
    readahead.start((readahead.OSM_READER,), chengdu, spawn_min_bytes=None)  # a bad file ahead
    with pytest.raises(InputError, match="city.osm.pbf"):
        read_osm(chengdu)


def test_a_file_removed_since_is_reported_as_missing(chengdu):
    readahead.start((readahead.OSM_READER,), chengdu, spawn_min_bytes=None)
    chengdu.unlink()
    with pytest.raises(InputError, match="file not found"):
        read_osm(chengdu)


def test_a_read_is_taken_only_by_the_process_that_started_it(chengdu, monkeypatch):
    readahead.start((readahead.OSM_READER,), chengdu, spawn_min_bytes=None)
    started_by = readahead._AHEAD[(readahead.OSM_READER, chengdu)][0]
    monkeypatch.setattr(readahead.os, "getpid", lambda: started_by + 1)  # a forked child
    assert readahead.take(readahead.OSM_READER, chengdu) is None  # would wait forever there


def test_without_fork_the_osm_file_is_not_read_ahead(chengdu, monkeypatch):
    monkeypatch.setattr(forked, "can_fork", lambda: False)  # a spawned reader: 0.5-1 s
    readahead.read_osm_ahead(chengdu)  # of imports, more than the pass over 0.3 MB
    assert not readahead.pending(readahead.OSM_READER, chengdu)
