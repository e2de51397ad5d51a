"""Ctrl-C while lifecircle forks its workers is never lost (forked.interrupts_held); the
command line's imports with the collector paused (lifecircle.startup).

A KeyboardInterrupt raised inside one of the interpreter's at-fork hooks is dropped as
"unraisable" and leaves that hook's lock (logging's) held: a run interrupted while its figure
workers forked hung forever. Here the SIGINT arrives inside an at-fork hook of every fork
the job makes: it must reach the caller as a KeyboardInterrupt, and logging must still work
from another thread.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from functools import partial

import pytest

from lifecircle import forked

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forks on Linux")

#: while True, every fork of this process sends it a SIGINT from the at-fork hook
_INTERRUPT_AT_FORK = [False]


def _interrupt_at_fork() -> None:
    if _INTERRUPT_AT_FORK[0]:
        _INTERRUPT_AT_FORK[0] = False
        os.kill(os.getpid(), signal.SIGINT)


os.register_at_fork(before=_interrupt_at_fork)


def _logs_from_a_thread() -> bool:
    """Whether another thread can log within 10 s (logging's lock is free)."""
    done = threading.Event()

    def log() -> None:
        logging.getLogger("lifecircle.test").debug("still logging")
        done.set()

    threading.Thread(target=log, daemon=True).start()
    return done.wait(10)


@pytest.mark.parametrize("start", [partial(forked.start_beside, partial(sum, range(3))),
                                   partial(forked.start_jobs, [partial(abs, -1)] * 3, 2)])
def test_ctrl_c_in_an_at_fork_hook_reaches_the_caller(start, monkeypatch):
    monkeypatch.setattr(forked, "MAX_FORK_RESIDENT_BYTES", 1 << 50)  # fork at the test's size
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # another thread, as a run has (the console's spinner): the kernel may give it the signal
    stop = threading.Event()
    threading.Thread(target=stop.wait, daemon=True).start()
    _INTERRUPT_AT_FORK[0] = True
    try:
        with pytest.raises(KeyboardInterrupt), start() as pending:
            pending.result()
    finally:
        stop.set()
    assert not _INTERRUPT_AT_FORK[0], "the hook ran: a process was forked"
    assert _logs_from_a_thread(), "logging's lock was left held"


def test_the_handler_is_put_back_in_the_parent_and_the_workers(monkeypatch):
    monkeypatch.setattr(forked, "MAX_FORK_RESIDENT_BYTES", 1 << 50)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    handler = partial(signal.getsignal, signal.SIGINT)
    with forked.start_jobs([handler, handler], 2) as pending:
        in_workers = pending.result()
    assert pending.forked
    assert in_workers == [signal.default_int_handler] * 2
    assert handler() is signal.default_int_handler


def test_a_one_command_process_imports_with_the_collector_paused_then_frozen(monkeypatch):
    """lifecircle.startup: in the console script's process the collector is paused while the
    block runs and what it holds is frozen after; anywhere else nothing changes."""
    import gc

    from lifecircle import startup

    assert not startup.ONE_COMMAND  # a test session is not a one-command process
    frozen = gc.get_freeze_count()
    with startup.collector_paused():
        assert gc.isenabled()
    assert gc.get_freeze_count() == frozen
    monkeypatch.setattr(startup, "ONE_COMMAND", True)
    try:
        with startup.collector_paused():
            assert not gc.isenabled()
        assert gc.isenabled() and gc.get_freeze_count() > frozen
    finally:
        gc.unfreeze()  # the test session goes on collecting as before
