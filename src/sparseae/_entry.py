"""The installed ``sparseae`` command: SIGINT, SIGTERM and SIGHUP are handled before anything
heavy loads, so a signal at any instant, start-up included, ends in one line and an exit
status of 128 + the signal, never a traceback."""

import sys

from . import _signals


def run():
    _signals.install()
    try:
        from .cli import main
    except (KeyboardInterrupt, ImportError) as exc:
        if not _signals.was_interrupt(exc):
            raise
        print(f"sparseae: interrupted ({_signals.name()}) while starting; nothing was written", file=sys.stderr)
        sys.exit(_signals.exit_status())
    try:
        status = main()
    except KeyboardInterrupt:  # on main's edges, outside its own handling (entering or leaving it)
        print(f"sparseae: interrupted ({_signals.name()})", file=sys.stderr)
        status = _signals.exit_status()
    sys.exit(status)
