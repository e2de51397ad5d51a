"""Independent jobs on every core: forked worker processes where the platform forks safely
(Linux), else threads. The run's catchments and parks beside its service circles, the map
drawn while the layers are written, the figures, and the OSM and basemap readers started
ahead all go through here (:func:`can_fork` decides for each of them).

Drawing a matplotlib figure holds the GIL (text layout, artists, transforms), so threads draw
one figure at a time and only overlap the PNG encoding. Forked workers inherit the parent's
memory (the read folder, the basemap image drawn once, rcParams) without pickling it, and draw
in parallel, also while the parent goes on with other work (:func:`start_jobs`). A job runs in
a child, so what it returns must pickle; the warnings it raises are raised again in the parent
(the command line prints them as one line each).
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any, Generic, TypeVar

T = TypeVar("T")

#: the jobs of the pool being forked, inherited by its workers (set in the parent only while
#: they fork; a worker reads it, never pickles it)
_JOBS: Sequence[Callable[[], Any]] = ()


#: above this resident size the jobs run on threads instead (assumption: a worker copies
#: every page of the parent it reads, since Python writes reference counts even to read, so
#: forking a process that holds a city's layers would hold them once more per worker; central
#: Chengdu's run holds about 0.4 GiB, a 50x SYNTHETIC city's about 3 GiB)
MAX_FORK_RESIDENT_BYTES = 1 << 30


def can_fork() -> bool:
    """Whether jobs run in forked processes here: Linux only (macOS' system frameworks are not
    fork-safe, and Python's default there is spawn; Windows cannot fork), not in a daemonic
    process (a Dask worker's: it may not have children), and only while this process is
    smaller than :data:`MAX_FORK_RESIDENT_BYTES`."""
    return (sys.platform.startswith("linux")
            and "fork" in multiprocessing.get_all_start_methods()
            and not multiprocessing.current_process().daemon  # a Dask worker may have no child
            and _resident_bytes() < MAX_FORK_RESIDENT_BYTES)


def _resident_bytes() -> int:
    """This process' resident memory (Linux ``/proc/self/statm``: pages)."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Pending(Generic[T]):
    """Jobs started by :func:`start_jobs`: :meth:`result` waits for them. As a context manager,
    leaving the block before :meth:`result` cancels the jobs not yet started and waits for the
    running ones (a failure elsewhere leaves no worker behind)."""

    def __init__(self, jobs: Sequence[Callable[[], T]], workers: int,
                 context: Callable[[], AbstractContextManager[Any]]) -> None:
        self._jobs, self._workers, self._context = jobs, workers, context
        self._pool: ProcessPoolExecutor | None = None
        self._futures: list[Future] = []
        self._done: list[T] | None = None

    def _fork(self) -> None:
        global _JOBS
        _JOBS = self._jobs
        # the parent's objects are left out of the workers' garbage collections: a collection
        # would visit (and so copy, page by page) memory the workers share with the parent.
        # Objects frozen before (the command line's imports: lifecircle.startup) stay frozen
        frozen_before = gc.get_freeze_count() > 0
        gc.freeze()
        try:
            with self._context(), interrupts_held():
                # fork (not spawn): the workers start from this process' memory and imports;
                # all of them fork in the first submit (ProcessPoolExecutor with fork)
                self._pool = ProcessPoolExecutor(max_workers=self._workers,
                                                 mp_context=multiprocessing.get_context("fork"),
                                                 initializer=_worker_start,
                                                 initargs=(os.getpid(),))
                self._futures = [self._pool.submit(_run, i) for i in range(len(self._jobs))]
        except BaseException:  # Ctrl-C raised once the workers forked: none is left behind
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            if not frozen_before:
                gc.unfreeze()
            _JOBS = ()

    @property
    def forked(self) -> bool:
        """Whether the jobs run in forked processes (else they run when :meth:`result` is
        first asked, in this process)."""
        return self._pool is not None

    def result(self) -> list[T]:
        """The jobs' results in their order (the first failure is raised)."""
        if self._done is not None:
            return self._done
        if self._pool is None:  # not forked: run now, in the caller's context
            with self._context():
                if self._workers == 1:
                    # on this thread: glibc gives each thread its own malloc arena, and memory
                    # this thread freed (a city's layers) is reused only by this thread (a
                    # 50x SYNTHETIC city's map drawn on another thread peaked 0.5 GiB higher)
                    self._done = [job() for job in self._jobs]
                else:
                    with ThreadPoolExecutor(max_workers=self._workers) as pool:
                        self._done = list(pool.map(lambda job: job(), self._jobs))
            return self._done
        try:
            done = [future.result() for future in self._futures]
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
        results = []
        for result, caught in done:
            for message, category in caught:
                warnings.warn(message, category, stacklevel=2)
            results.append(result)
        self._done = results
        return results

    def __enter__(self) -> Pending[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def start_jobs(jobs: Sequence[Callable[[], T]], workers: int,
               context: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext
               ) -> Pending[T]:
    """Start ``jobs`` on ``workers`` forked processes and return at once; where
    :func:`can_fork` is false (or for one worker) they run on threads when the result is asked.

    Parameters
    ----------
    jobs : callables taking no argument; their results must pickle when processes are used
    workers : processes (or threads) at most
    context : a context manager factory the jobs run inside (e.g. ``matplotlib.rc_context``):
        entered while the workers fork, or around the threads

    Returns
    -------
    Pending
        ``.result()`` is ``[job() for job in jobs]``.

    Examples
    --------
    >>> from functools import partial
    >>> start_jobs([partial(pow, 2, n) for n in range(4)], workers=2).result()
    [1, 2, 4, 8]
    """
    workers = max(1, min(workers, len(jobs)))
    pending = Pending(jobs, workers, context)
    if workers > 1 and can_fork():
        pending._fork()
    return pending


def start_beside(job: Callable[[], T]) -> Pending[T]:
    """Start one job in a forked process and return at once, so that the caller does other
    work meanwhile (e.g. the report while the map is written); where :func:`can_fork` is false
    the job runs in the caller's thread when the result is asked. ``.result()`` of the
    returned :class:`Pending` is ``[job()]``.

    Examples
    --------
    >>> from functools import partial
    >>> with start_beside(partial(sum, range(10))) as pending:
    ...     pending.result()
    [45]
    """
    pending = Pending([job], 1, contextlib.nullcontext)
    if can_fork():
        pending._fork()
    return pending


class Gated(Generic[T]):
    """A job for :func:`start_beside` that can be forked before its input exists: it runs
    ``prepare`` (e.g. its imports) at once, then waits until :meth:`open` lets it go on, or
    returns None without running when the gate is opened with ``go=False`` (the caller failed).

    Examples
    --------
    >>> from functools import partial
    >>> job = Gated(partial(sum, range(10)))
    >>> with start_beside(job) as pending:
    ...     job.open()
    ...     pending.result()
    [45]
    """

    def __init__(self, job: Callable[[], T], prepare: Callable[[], object] = lambda: None
                 ) -> None:
        self._job, self._prepare = job, prepare
        # shared with a forked worker through inheritance (the job is inherited, not pickled)
        self._opened, self._go = multiprocessing.Event(), multiprocessing.Value("b", 0)

    def __call__(self) -> T | None:
        self._prepare()
        self._opened.wait()  # a worker whose parent dies meanwhile is killed (end_with_parent)
        return self._job() if self._go.value else None

    def open(self, go: bool = True) -> None:
        """Let the job go on (``go``) or end without running."""
        self._go.value = int(go)
        self._opened.set()

    @contextlib.contextmanager
    def dropped_on_error(self) -> Iterator[None]:
        """Inside the block, a failure ends the job unrun (so that waiting for it ends)."""
        try:
            yield
        except BaseException:
            self.open(go=False)
            raise


def run_jobs(jobs: Sequence[Callable[[], T]], workers: int,
             context: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext
             ) -> list[T]:
    """:func:`start_jobs` and wait: the results in the order of ``jobs``.

    Examples
    --------
    >>> from functools import partial
    >>> run_jobs([partial(divmod, 7, n) for n in (1, 2, 3)], workers=2)
    [(7, 0), (3, 1), (2, 1)]
    """
    with start_jobs(jobs, workers, context) as pending:
        return pending.result()


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) back while processes fork in the block: it is raised after it.

    Forking runs the interpreter's at-fork hooks (logging's and concurrent.futures' take and
    release their locks around the fork). A KeyboardInterrupt raised inside one of them is
    dropped by Python as "unraisable" and leaves its lock held: the Ctrl-C was lost and the run
    hung at the next log call of another thread (seen: Ctrl-C while the figure workers forked;
    Chromium's starting thread then waited on logging's lock forever). Inside the block the
    SIGINT handler only records the signal (whichever thread the kernel gave it to, Python
    runs handlers on the main thread); the previous handler is put back and called after.
    Processes forked inside put it back too (:func:`restore_interrupts`). Signal handlers
    belong to the main thread: elsewhere the block runs as it is.

    Examples
    --------
    >>> import os, signal
    >>> try:
    ...     with interrupts_held():
    ...         os.kill(os.getpid(), signal.SIGINT)  # recorded, not raised, in the block
    ...         inside = "still running"
    ... except KeyboardInterrupt:
    ...     print(inside, "then interrupted")
    still running then interrupted
    """
    global _PARENT_SIGINT
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[Any] = []
    previous = signal.signal(signal.SIGINT, lambda _signum, frame: caught.append(frame))
    _PARENT_SIGINT = previous
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _PARENT_SIGINT = None
        if caught and callable(previous):
            previous(signal.SIGINT, caught[0])  # Python's default: raise KeyboardInterrupt
        elif caught and previous == signal.SIG_DFL:
            signal.raise_signal(signal.SIGINT)


#: the SIGINT handler before :func:`interrupts_held`, while its block runs (a process forked
#: there puts it back)
_PARENT_SIGINT: Any = None


def restore_interrupts() -> None:
    """In a process forked inside :func:`interrupts_held`: the parent's SIGINT handler again
    (the handler that only records is inherited)."""
    if _PARENT_SIGINT is not None:
        signal.signal(signal.SIGINT, _PARENT_SIGINT)


def _worker_start(parent: int) -> None:
    """A forked pool worker's initializer: Ctrl-C as in the parent, killed with the parent."""
    restore_interrupts()
    end_with_parent(parent)


def end_with_parent(parent: int) -> None:
    """In a child process: be killed when the parent ``parent`` (its pid) dies (Linux
    ``prctl(PR_SET_PDEATHSIG)``; nothing elsewhere). A pool's worker inherits both ends of its
    job queue's pipe, so when the parent is killed (kill -9) it would wait for its next job
    forever."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _run(index: int) -> tuple[Any, list[tuple[str, type[Warning]]]]:
    """In a worker: job ``index`` and the warnings it raised (to raise again in the parent:
    the parent's warning printer may hold locks that were copied held into the child)."""
    with warnings.catch_warnings(record=True) as caught:
        result = _JOBS[index]()
    return result, [(str(w.message), w.category) for w in caught]
