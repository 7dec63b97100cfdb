"""SIGTERM and SIGHUP (what a scheduler, ``timeout`` or a closed terminal sends) handled as Ctrl-C:
each raises KeyboardInterrupt where the program is, so a fit keeps its last completed iteration
and every file being written is left whole or not at all. :data:`received` says which signal
came, for the exit status (128 + its number) and ``metrics.json``.

Imports nothing heavy, so the command's entry point can install it before NumPy loads.
"""

import signal
import threading
from contextlib import contextmanager


class Signalled(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP in a command: a Ctrl-C, so ``except Exception`` never swallows it."""


#: The signals handled, and the last one received (None: none yet).
HANDLED = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
received = None


_deferring = 0  # how many deferred() blocks the main thread is in
_pending = None  # a signal that came during one, raised when the outermost ends


def _interrupt(signum, frame):
    global received, _pending
    received = signum
    if _deferring:
        _pending = signum
        return
    raise Signalled(signal.Signals(signum).name)


@contextmanager
def deferred():
    """Within the block a handled signal waits, and is raised as the block ends: for the few
    steps that must not be cut in two (a temporary file created and its name kept for removal)."""
    global _deferring, _pending
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
        if not _deferring and _pending is not None:
            signum, _pending = _pending, None
            raise Signalled(signal.Signals(signum).name)


def install():
    """Handle every signal of HANDLED as Ctrl-C; returns the handlers it replaced."""
    global received
    received = None
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.signal(sig, _interrupt) for sig in HANDLED}


@contextmanager
def handled():
    """Within the block, SIGTERM and SIGHUP behave as Ctrl-C; the old handlers come back after."""
    previous = install()
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def was_interrupt(exc):
    """Whether ``exc`` is how a handled signal surfaced: a KeyboardInterrupt, or the ImportError
    that a C extension's import (pybind11's, as SciPy's) makes of one."""
    return isinstance(exc, KeyboardInterrupt) or (isinstance(exc, ImportError) and received is not None)


def name():
    """The signal that interrupted, by name ("SIGINT" for a plain Ctrl-C)."""
    return signal.Signals(received).name if received is not None else "SIGINT"


def exit_status():
    """128 + the number of the signal that interrupted (130 for Ctrl-C)."""
    return 128 + (received if received is not None else signal.SIGINT)
