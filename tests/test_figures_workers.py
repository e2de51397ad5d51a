"""Figures drawn in forked workers and written by lifecircle's own PNG encoder."""

from __future__ import annotations

import io
import os
import time
import warnings
from functools import partial

import numpy as np
import pytest
from PIL import Image

from lifecircle import forked
from lifecircle.maps.png import png_bytes, write_png


def _warn_and_return(value: int) -> int:
    warnings.warn(f"job {value} warns", UserWarning, stacklevel=1)
    return value * 10


def _pid() -> int:
    import os

    return os.getpid()


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (257, 123)])
def test_png_round_trips_through_pillow(shape, tmp_path):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    decoded = np.asarray(Image.open(io.BytesIO(png_bytes(image))))
    assert decoded.dtype == np.uint8 and np.array_equal(decoded, image)
    path = write_png(tmp_path / "x.png", image)
    with Image.open(path) as opened:
        assert opened.mode == "RGB" and opened.size == (shape[1], shape[0])
        opened.verify()  # chunk CRCs


def test_png_takes_a_strided_view_and_refuses_other_layouts():
    rgba = np.zeros((4, 6, 4), dtype=np.uint8)
    rgba[..., 0] = np.arange(6, dtype=np.uint8)
    decoded = np.asarray(Image.open(io.BytesIO(png_bytes(rgba[..., :3]))))
    assert np.array_equal(decoded, rgba[..., :3])
    with pytest.raises(ValueError):
        png_bytes(rgba)
    with pytest.raises(ValueError):
        png_bytes(np.zeros((4, 6, 3), dtype=float))


@pytest.mark.skipif(not forked.can_fork(), reason="this platform does not fork")
def test_jobs_run_in_other_processes_in_order_and_their_warnings_reach_the_parent(monkeypatch):
    import os

    monkeypatch.setattr(forked, "MAX_FORK_RESIDENT_BYTES", 1 << 50)  # the test process' size

    jobs = [partial(_warn_and_return, n) for n in range(5)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert forked.run_jobs(jobs, workers=2) == [0, 10, 20, 30, 40]
    assert sorted(str(w.message) for w in caught) == [f"job {n} warns" for n in range(5)]
    pids = forked.run_jobs([_pid] * 4, workers=2)
    assert os.getpid() not in pids
    assert forked._JOBS == ()  # nothing held after the pool


def test_one_worker_or_no_fork_runs_threads(monkeypatch):
    import os

    assert forked.run_jobs([_pid], workers=2) == [os.getpid()]  # one job: no process
    monkeypatch.setattr(forked, "can_fork", lambda: False)
    assert forked.run_jobs([_pid] * 3, workers=2) == [os.getpid()] * 3


def test_a_process_holding_a_city_runs_threads(monkeypatch):
    import os

    resident = forked._resident_bytes()
    assert 10 << 20 < resident < 64 << 30  # this process: tens of MB at least, never 64 GiB
    monkeypatch.setattr(forked, "MAX_FORK_RESIDENT_BYTES", resident // 2)
    assert not forked.can_fork()
    assert forked.run_jobs([_pid] * 3, workers=2) == [os.getpid()] * 3
    with forked.start_beside(_pid) as beside:
        assert not beside.forked  # run when asked, in this process
        assert beside.result() == [os.getpid()]


def test_a_daemonic_process_runs_threads(monkeypatch):
    import os
    from types import SimpleNamespace

    monkeypatch.setattr(forked, "MAX_FORK_RESIDENT_BYTES", 1 << 50)
    assert forked.can_fork()
    # a Dask worker process is daemonic: multiprocessing refuses it children
    monkeypatch.setattr(forked.multiprocessing, "current_process",
                        lambda: SimpleNamespace(daemon=True))
    assert not forked.can_fork()
    assert forked.run_jobs([_pid] * 3, workers=2) == [os.getpid()] * 3


def test_a_failing_job_fails_the_call():
    with pytest.raises(ZeroDivisionError):
        forked.run_jobs([partial(divmod, 1, 1), partial(divmod, 1, 0)], workers=2)


def _sleep_then(value: int) -> int:
    import time

    time.sleep(0.2)
    return value


@pytest.mark.skipif(not forked.can_fork(), reason="this platform does not fork")
def test_started_jobs_run_while_the_parent_works_and_leave_no_worker():
    import multiprocessing

    with forked.start_jobs([partial(_sleep_then, n) for n in range(4)], workers=2) as pending:
        assert forked._JOBS == ()  # the workers have forked: the parent holds nothing
        assert pending.forked and len(multiprocessing.active_children()) == 2
        assert pending.result() == [0, 1, 2, 3]
        assert pending.result() == [0, 1, 2, 3]  # asked twice: the same, not run again
    assert multiprocessing.active_children() == []


def test_threads_run_the_jobs_inside_the_given_context(monkeypatch):
    import contextlib

    entered = []

    @contextlib.contextmanager
    def context():
        entered.append(True)
        yield

    monkeypatch.setattr(forked, "can_fork", lambda: False)
    pending = forked.start_jobs([partial(divmod, 9, 4)] * 2, workers=2, context=context)
    assert entered == []  # threads run when the result is asked, inside the context
    assert pending.result() == [(2, 1), (2, 1)] and entered == [True]


def _write_marker(path) -> None:
    path.write_text("prepared", encoding="utf-8")


def test_a_gated_job_prepares_in_its_worker_then_waits_for_the_gate(tmp_path):
    """The map's worker forks before the layers are written: it prepares (imports) at once,
    runs only once opened, in another process."""
    marker = tmp_path / "prepared"
    job = forked.Gated(_pid, prepare=partial(_write_marker, marker))
    with forked.start_beside(job) as pending:
        for _ in range(200):  # the worker prepares while the parent goes on
            if marker.exists():
                break
            time.sleep(0.01)
        assert marker.read_text(encoding="utf-8") == "prepared"
        job.open()
        (worker,) = pending.result()
    assert worker != os.getpid()


def test_a_gated_job_closed_by_a_failure_ends_without_running(tmp_path):
    ran = tmp_path / "ran"
    job = forked.Gated(partial(_write_marker, ran))
    with (pytest.raises(RuntimeError, match="layers failed"), forked.start_beside(job),
          job.dropped_on_error()):
        raise RuntimeError("layers failed")
    assert not ran.exists()  # and leaving the block did not wait forever


def test_without_fork_a_gated_job_runs_on_the_callers_thread(monkeypatch):
    monkeypatch.setattr(forked, "can_fork", lambda: False)
    job = forked.Gated(_pid)
    with forked.start_beside(job) as pending:
        job.open()
        assert pending.result() == [os.getpid()]


def test_workers_write_the_print_copies_the_report_would_make(tmp_path):
    """The JPEGs report.pdf prints, written by the figure workers from their pixels, are the
    bytes a copy of each PNG gives; the report then prints them instead of copying."""
    from lifecircle.maps.figures import start_figures
    from lifecircle.maps.png import write_print_jpeg
    from lifecircle.report import _jpeg_copies
    from tests.test_maps import run_chengdu

    class Factory:  # run_chengdu's tmp_path_factory: the session's run, read only here
        def getbasetemp(self):
            return tmp_path

    out = run_chengdu(Factory())
    copies = tmp_path / "copies"
    copies.mkdir()
    pngs = start_figures(out, "en", print_copies=copies).result()
    assert sorted(p.stem for p in copies.iterdir()) == sorted(p.stem for p in pngs)
    for png in pngs:
        with Image.open(png) as image:
            again = write_print_jpeg(tmp_path / "again.jpg", np.asarray(image.convert("RGB")))
        assert (copies / f"{png.stem}.jpg").read_bytes() == again.read_bytes()
    assert _jpeg_copies(pngs, tmp_path, made=copies) == [copies / f"{p.stem}.jpg" for p in pngs]
