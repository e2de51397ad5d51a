"""The ``lifecircle`` console script: :func:`lifecircle.cli.main`, then an exit that skips
tearing the interpreter down.

After a run the process holds a city's worth of Python objects (GeoDataFrames, shapely
geometries, matplotlib and folium modules). ``sys.exit`` would free them one by one and clear
every module before the process ends: measured on central Chengdu, 0.6-1.5 s after the last
file was written, for memory the operating system takes back at once. Here the shutdown work
that matters still runs (other threads are joined, ``atexit`` handlers run, the standard
streams are flushed) and the process then ends with ``os._exit``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from typing import NoReturn


def command() -> NoReturn:
    """Entry point of the ``lifecircle`` console script (``[project.scripts]``)."""
    from lifecircle import startup
    from lifecircle.cli import main

    startup.ONE_COMMAND = True  # its imports are frozen once loaded (lifecircle.startup)

    exit_quickly(main())


def exit_quickly(code: int) -> NoReturn:
    """End the process with ``code`` as ``sys.exit`` would, without the interpreter's
    teardown: non-daemon threads are joined, ``atexit`` handlers run (logging, executors,
    multiprocessing), stdout and stderr are flushed, then ``os._exit``."""
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if run_exit_handlers is not None:  # CPython; elsewhere only the streams are flushed
        run_exit_handlers()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed pipe (lifecircle ... | head)
            stream.flush()
    os._exit(code)
