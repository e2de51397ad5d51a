"""The command line's start: the OSM file read ahead on the other core while the pipeline's
libraries are imported, with Python's cyclic garbage collector paused meanwhile.

Importing numpy, pandas, geopandas, scipy, shapely and pyogrio (and folium, jinja2 and
matplotlib for writing) allocates hundreds of thousands of objects that live until the process
ends; the collector, run every few hundred allocations, traverses them again and again as they
accumulate (central Chengdu's imports: 1.15 -> 0.98 s with it paused, median of 5 interleaved).
Paused only, it would traverse them all at once when it resumes (measured: the study that
follows 0.26 -> 0.43 s); so they are frozen first (``gc.freeze``: left out of every later
collection). Nothing an import allocates is garbage, but a freeze also keeps whatever else the
process holds at that moment out of collection: it is done only in a process that ends after
its one command (:data:`ONE_COMMAND`), never in a notebook or a test session calling
:func:`lifecircle.cli.main`.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: set by the console script (and ``python -m lifecircle.cli``): this process runs one command
#: and ends, so :func:`collector_paused` may freeze what it holds
ONE_COMMAND = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """In a one-command process (:data:`ONE_COMMAND`): Python's cyclic garbage collector
    paused inside the block, then every object tracked until then frozen (left out of later
    collections) and the collector as it was. For imports: what they allocate lives as long
    as the process. Elsewhere the block runs as it is.

    Examples
    --------
    >>> import gc
    >>> with collector_paused():  # in this process (not one command): as it is
    ...     gc.isenabled()
    True
    """
    if not ONE_COMMAND:
        yield
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def pipeline_imported(osm: str | Path | None) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """Start reading ``osm`` ahead (:func:`lifecircle.layers.readahead.read_osm_ahead`), then
    import the pipeline with the collector paused: ``(run, import_writers)``.

    Examples
    --------
    >>> run, import_writers = pipeline_imported(None)
    >>> run.__module__, import_writers.__module__
    ('lifecircle.pipeline.run', 'lifecircle.pipeline.result')
    """
    from lifecircle.layers.readahead import read_osm_ahead

    read_osm_ahead(osm)  # forked before the imports, which it then runs beside
    with collector_paused():
        from lifecircle.pipeline import import_writers, run
    return run, import_writers
