"""Input files read ahead by another process while this one goes on.

A run reads its OSM file twice: the walk network and features first (:func:`lifecircle.layers.
osm.read_osm`), the basemap last (:func:`lifecircle.layers.basemap.basemap_layers`). Both reads
are one core of Python (pyosmium's handlers), and the command line has a second core with
nothing to do while it imports the pipeline (about 0.6 s) and loads the study. So it starts
the first pass before those imports (:func:`read_osm_ahead`) and the basemap's before the study
loads (:func:`lifecircle.layers.basemap.prefetch_basemap`); each reader then takes its read
(:func:`take`) instead of reading again, and reads the file itself when the file changed since
or the read failed (raising the error there, as a read in place does).

This module imports nothing heavy: it is called before numpy, pandas or geopandas are loaded,
and names readers as ``"module:function"``, imported by the process that reads.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import pickle
import signal
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

#: the readers this module starts
OSM_READER = "lifecircle.layers.osm_scan:scan_osm"
BASEMAP_READER = "lifecircle.layers.basemap:read_basemap"

#: OSM files up to this size are read ahead (assumption: the pass over central Chengdu's 0.3
#: MB PBF takes 0.2 s and sending it back 0.01 s, all hidden behind the imports; a 10x
#: SYNTHETIC city's 0.6 MB take 2.5 s and 0.15 s, of which ~1 s is hidden; a city-size file
#: gains no more than that second, while the pass' tables would be held twice as they are sent)
OSM_AHEAD_MAX_BYTES = 1_000_000
#: where the reader must be spawned (not forked), files from this size up are read ahead
#: (assumption: from 0.5 MB a basemap read takes longer than the 0.5-1 s of the new process'
#: imports; central Chengdu's 0.3 MB, read in 0.1-0.2 s, is then read in place)
SPAWN_MIN_BYTES = 500_000

#: reads started: (reader, file) -> (the process that started it, the file's size and mtime,
#: the read to come)
_AHEAD: dict[tuple[str, Path], tuple[int, tuple[int, int], Future]] = {}


def read_osm_ahead(osm: str | Path | None) -> None:
    """Start the pass over a run's OSM file (:func:`~lifecircle.layers.osm_scan.scan_osm`) in
    a forked process and return at once: nothing for None, for files above
    :data:`OSM_AHEAD_MAX_BYTES`, or where this process may not fork (a spawned process would
    take longer to import than the pass).

    The pass needs only numpy and pyosmium, so it is sent back while this process imports the
    pipeline (the command line calls this first); :func:`lifecircle.layers.osm.read_osm`
    takes it.

    Examples
    --------
    >>> from lifecircle.data import sample_path
    >>> read_osm_ahead(sample_path())
    >>> from lifecircle.layers.osm import read_osm
    >>> read_osm(sample_path()).walk.way_ids.size > 0  # the read ahead, taken
    True
    """
    if osm is None:
        return
    path = Path(osm)
    if path.is_file() and path.stat().st_size <= OSM_AHEAD_MAX_BYTES:
        start((OSM_READER,), path, spawn_min_bytes=None)


def start(readers: tuple[str, ...], path: str | Path, spawn_min_bytes: int | None) -> None:
    """Start ``reader(path)`` for each reader, one after another, in one other process, and
    return at once.

    Parameters
    ----------
    readers : ``"module:function"`` each, a function of one path
    path : the file (nothing happens for a missing file, or for readers already reading it)
    spawn_min_bytes : where this process may not fork (:func:`lifecircle.forked.
        can_fork`), spawn the reader for files from this size up (its imports cost 0.5-1 s);
        None: never spawn. A forked reader costs milliseconds and starts for any size.

    Examples
    --------
    >>> from lifecircle.data import sample_path
    >>> start((BASEMAP_READER,), sample_path(), spawn_min_bytes=0)
    >>> layers = take(BASEMAP_READER, sample_path())  # waits for it
    >>> sorted(layers)
    ['base_places', 'base_rail', 'base_streets', 'base_water']
    """
    from lifecircle.forked import can_fork, interrupts_held

    keys = [(reader, Path(path).resolve()) for reader in readers]
    try:
        stamp = keys[0][1].stat()
    except OSError:
        return
    if any(key in _AHEAD for key in keys):
        return
    if can_fork():
        # called before the console's spinner or any pool starts a thread (a fork copies only
        # the calling thread: a lock held by another one would stay held in the child)
        context = multiprocessing.get_context("fork")
    elif spawn_min_bytes is not None and stamp.st_size >= spawn_min_bytes:
        context = multiprocessing.get_context("spawn")
    else:
        return
    receiver, sender = context.Pipe(duplex=False)
    # a daemon, so a run that stops early does not wait for it
    process = context.Process(target=_send_reads,
                              args=(readers, Path(path), sender, os.getpid()), daemon=True)
    with interrupts_held():  # Ctrl-C in an at-fork hook would be lost (forked.py)
        process.start()
    sender.close()
    # each read is taken as soon as it is sent, so the process (osmium's buffers: 0.4 GiB at
    # 50x) ends then, not when the run asks for the reads, minutes later
    received: list[Future[bytes | None]] = [Future() for _ in readers]
    threading.Thread(target=_receive, args=(process, receiver, received), daemon=True).start()
    for key, future in zip(keys, received, strict=True):
        _AHEAD[key] = (os.getpid(), (stamp.st_size, stamp.st_mtime_ns), future)


def take(reader: str, path: str | Path) -> Any | None:
    """The read of ``path`` by ``reader`` started by :func:`start`, when there is one and the
    file is unchanged since (size and modification time), else None; taken once, and only by
    the process that started it (a forked child inherits the entry, not the thread that
    receives the read).

    Examples
    --------
    >>> take(OSM_READER, "never-started.osm.pbf") is None  # the caller then reads in place
    True
    """
    entry = _AHEAD.pop((reader, Path(path).resolve()), None)
    if entry is None or entry[0] != os.getpid():
        return None
    _, stamp, received = entry
    pickled = received.result()
    try:
        now = Path(path).stat()
    except OSError:  # gone since: the caller's own read says so, as for any missing file
        return None
    if pickled is None or (now.st_size, now.st_mtime_ns) != stamp:
        return None
    return pickle.loads(pickled)


def pending(reader: str, path: str | Path) -> bool:
    """Whether a read of ``path`` by ``reader`` was started and not taken yet.

    Examples
    --------
    >>> pending(BASEMAP_READER, "never-started.osm.pbf")
    False
    """
    return (reader, Path(path).resolve()) in _AHEAD


def _send_reads(readers: tuple[str, ...], path: Path, sender: Any, parent: int) -> None:
    """The reading process: each read as soon as it is done, or None for one that failed (the
    parent then reads the file itself and reports the error as usual). Ctrl-C is the
    parent's to handle; it ends with the parent (killed) as well."""
    from lifecircle.forked import end_with_parent

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    end_with_parent(parent)
    for reader in readers:
        module, name = reader.split(":")
        try:
            read = getattr(importlib.import_module(module), name)(path)
        except Exception:  # noqa: BLE001 - the parent's own read raises it
            read = None
        sender.send(read)
    sender.close()


def _receive(process: Any, receiver: Any, received: list[Future]) -> None:
    """Each read, pickled, into its future (None for those the process did not send).

    Unpickled by :func:`take`, not here: unpickling imports the read's modules (geopandas),
    which this process may be importing on its main thread at the same moment, and two
    threads importing one package can see it half initialised (an ImportError in 1 of 4
    command-line runs)."""
    try:
        for future in received:
            try:
                future.set_result(receiver.recv_bytes())
            except EOFError:
                break
    finally:
        for future in received:
            if not future.done():
                future.set_result(None)
        receiver.close()
        process.join()
