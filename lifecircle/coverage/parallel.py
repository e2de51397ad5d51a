"""Independent GEOS work spread over the machine's cores.

shapely 2 runs GEOS (buffers, unions, overlays) with the GIL released, so threads overlap the
large overlays of a run (each kind's covered area, each park figure) on every core without the
copies of a process pool.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

#: threads for independent GEOS overlays (GEOS runs without the GIL): one per core
GEOS_THREADS = os.cpu_count() or 1


def in_threads(work: Callable[[Any], Any], jobs: Sequence[Any],
               threads: int | None = None) -> list[Any]:
    """``[work(job) for job in jobs]``, the jobs spread over ``threads`` threads (default
    :data:`GEOS_THREADS`; 1 runs them in the caller's thread).

    For GEOS-bound work (buffers, unions, overlays of large polygons), which shapely runs with
    the GIL released: on 2 cores two kinds' overlays take about the wall time of one.

    Examples
    --------
    >>> import shapely
    >>> in_threads(lambda box: box.area, [shapely.box(0, 0, 1, 1), shapely.box(0, 0, 2, 2)])
    [1.0, 4.0]
    """
    threads = GEOS_THREADS if threads is None else threads
    if threads <= 1 or len(jobs) <= 1:
        return [work(job) for job in jobs]
    with ThreadPoolExecutor(min(threads, len(jobs))) as pool:
        return list(pool.map(work, jobs))


def on_a_thread(work: Callable[..., Any], *args: Any) -> Future:
    """``work(*args)`` started on a daemon thread of its own (named ``lifecircle-later``); the
    returned future gives its result or raises its error.

    For GEOS work whose result is wanted only later (a layer written last): it runs while the
    caller goes on with work that holds the GIL (writing other layers) on the other core. A
    daemon thread, so that a process ending early (Ctrl-C, a failed write) does not first wait
    for work nobody will read (a 50x SYNTHETIC city's uncovered layer: 47 s).

    Examples
    --------
    >>> import shapely
    >>> float(on_a_thread(shapely.area, shapely.box(0, 0, 2, 3)).result())
    6.0
    """
    future: Future = Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(work(*args))
        except BaseException as exc:  # noqa: BLE001 - handed to whoever asks for the result
            future.set_exception(exc)

    threading.Thread(target=run, name="lifecircle-later", daemon=True).start()
    return future
