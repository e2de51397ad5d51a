"""The catchments and park stages run in a process forked beside the service circles (small
runs): the same metrics, layers and tables as one process computing them one after another."""

from __future__ import annotations

import importlib
import multiprocessing
import os
import sys

import pandas as pd
import pytest

import lifecircle
from lifecircle import forked
from lifecircle.data import sample_path

# the module (lifecircle.pipeline re-exports its function under the same name)
run_module = importlib.import_module("lifecircle.pipeline.run")


@pytest.fixture(scope="module")
def study():
    return lifecircle.Study.from_osm(sample_path(), residential_density=400)


def _run(study, monkeypatch, fork: bool) -> tuple[lifecircle.RunResult, list[int]]:
    """One run with the stages beside the circles (``fork``) or not, and the processes the
    catchments-and-parks job ran in."""
    if fork:
        monkeypatch.setattr(forked, "MAX_FORK_RESIDENT_BYTES", 1 << 50)  # the test's size
    else:
        monkeypatch.setattr(forked, "can_fork", lambda: False)
    pids = multiprocessing.get_context("fork").SimpleQueue()  # inherited by a forked job
    started = run_module.start_beside

    def recording(job):
        def where():
            pids.put(os.getpid())
            return job()
        return started(where)

    monkeypatch.setattr(run_module, "start_beside", recording)
    result = lifecircle.run(study)
    monkeypatch.undo()
    ran_in = []
    while not pids.empty():
        ran_in.append(pids.get())
    return result, ran_in


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forks on Linux only")
def test_stages_beside_the_circles_give_what_one_process_gives(study, monkeypatch):
    beside, beside_pids = _run(study, monkeypatch, fork=True)
    serial, serial_pids = _run(study, monkeypatch, fork=False)
    assert beside_pids and os.getpid() not in beside_pids  # computed in another process
    assert serial_pids == [os.getpid()]
    assert beside.records.keys() == serial.records.keys()
    for metric_id, record in serial.records.items():
        assert beside.records[metric_id] == record, metric_id
    assert beside.layers.keys() == serial.layers.keys()
    for name, layer in serial.layers.items():
        pd.testing.assert_frame_equal(beside.layers[name].to_wkb(), layer.to_wkb(),
                                      check_exact=True, obj=name)
    assert beside.tables.keys() == serial.tables.keys()
    for name, table in serial.tables.items():
        pd.testing.assert_frame_equal(beside.tables[name], table, check_exact=True, obj=name)
    timed = beside.timings_s
    assert timed["stages"] >= max(timed["catchments"], timed["parks"], timed["circles"])
