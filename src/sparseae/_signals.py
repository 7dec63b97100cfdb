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


def _interrupt(signum, frame):
    global received
    received = signum
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
