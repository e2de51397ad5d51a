"""Independent GEOS work spread over the machine's cores.

shapely 2 runs GEOS (buffers, unions, overlays) with the GIL released, so threads overlap the
large overlays of a run (each kind's covered area, each park figure) on every core without the
copies of a process pool.
"""

from __future__ import annotations

import os
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
    """``work(*args)`` started on a thread of its own; the returned future gives its result.

    For GEOS work whose result is wanted only later (a layer written last): it runs while the
    caller goes on with work that holds the GIL (writing other layers) on the other core.

    Examples
    --------
    >>> import shapely
    >>> float(on_a_thread(shapely.area, shapely.box(0, 0, 2, 3)).result())
    6.0
    """
    pool = ThreadPoolExecutor(1)
    try:
        return pool.submit(work, *args)
    finally:
        pool.shutdown(wait=False)  # the thread ends with the work; nothing else is submitted
