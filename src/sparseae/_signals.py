"""SIGTERM and SIGHUP (what a scheduler, ``timeout`` or a closed terminal sends) handled as Ctrl-C:
each raises KeyboardInterrupt where the program is, so a fit keeps its last completed iteration
and every file being written is left whole or not at all. :data:`received` says which signal
came, for the exit status (128 + its number) and ``metrics.json``.

A signal that lands while Python runs a finaliser is sent again to the main thread a moment later
(``_unraisable``), and ``deferred()`` holds one back over steps that must not be cut in two.

Imports nothing heavy, so the command's entry point can install it before NumPy loads.
"""

import signal
import sys
import threading
import time
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


def _unraisable(unraisable, previous):
    """``sys.unraisablehook`` while signals are handled: an interrupt raised inside a finaliser (a
    ``__del__``, a weakref callback during garbage collection), where Python can only print
    "Exception ignored" and go on, is sent again to the main thread instead of lost; anything
    else goes to the ``previous`` hook."""
    if isinstance(unraisable.exc_value, Signalled) and received is not None:
        threading.Thread(target=_again, args=(received,), daemon=True).start()
        return
    previous(unraisable)


def _again(signum, after=0.01):
    """``signum`` sent again to the main thread, ``after`` seconds from now (long after the hook
    that asked has returned): as a real signal, which wakes a blocking call the way the first one
    would have, not only a flag for the next instruction."""
    time.sleep(after)
    signal.pthread_kill(threading.main_thread().ident, signum)


class _Hook:
    """:func:`_unraisable` with the hook it falls back on."""

    def __init__(self, previous):
        self.previous = previous

    def __call__(self, unraisable):
        _unraisable(unraisable, self.previous)


def install():
    """Handle every signal of HANDLED as Ctrl-C, and an interrupt lost in a finaliser as one sent
    again (``_unraisable``); returns the handlers it replaced, and under the key
    ``"unraisablehook"`` the hook it replaced."""
    global received
    received = None
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {sig: signal.signal(sig, _interrupt) for sig in HANDLED}
    previous["unraisablehook"] = hook = sys.unraisablehook
    if not isinstance(hook, _Hook):  # (installed once: the entry point's, then the command's)
        sys.unraisablehook = _Hook(hook)
    return previous


@contextmanager
def handled():
    """Within the block, SIGTERM and SIGHUP behave as Ctrl-C; the old handlers come back after."""
    previous = install()
    try:
        yield
    finally:
        hook = previous.pop("unraisablehook", None)
        if hook is not None:
            sys.unraisablehook = hook
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
