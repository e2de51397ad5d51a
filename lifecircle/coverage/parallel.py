"""Independent GEOS work spread over the machine's cores.

shapely 2 runs GEOS (buffers, unions, overlays) with the GIL released, so threads overlap the
large overlays of a run (each kind's covered area, each park figure) on every core without the
copies of a process pool.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

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


@contextmanager
def beside(work: Callable[[], T]) -> Iterator[Future[T]]:
    """Run ``work()`` in one thread while the ``with`` block runs; the block takes its value
    with ``future.result()`` (which re-raises its error). Leaving the block waits for it.

    For work that holds the GIL on one core (HiGHS solving the catchments) beside GEOS-bound
    work that releases it (the park and circle overlays): the second core is no longer idle
    while the first solves.

    Examples
    --------
    >>> with beside(lambda: sum(range(10))) as total:
    ...     other = max(range(10))
    ...     (total.result(), other)
    (45, 9)
    """
    with ThreadPoolExecutor(1) as pool:
        yield pool.submit(work)
