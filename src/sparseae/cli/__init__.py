"""The ``sparseae`` command: train, report, encode, show, stack, predict, export, gradcheck, selftaught,
conv, activations.

``main(argv) -> int``, so tests call it in process. A failure is one line on stderr,
``sparseae COMMAND: error: ...``, in the command line's words and never a traceback, and the
exit status says its kind, mapped here from :mod:`sparseae.errors` in one place: 2 a usage
error (a flag or value: ParameterError), 1 anything else sparseae raises on purpose (data,
files, model files, numerical failure, devices: SparseaeError) and file-system errors, 130
Ctrl-C (128 + the signal for SIGTERM and SIGHUP, which stop a command as Ctrl-C does:
:mod:`sparseae._signals`). Warnings become ``note:`` lines after a success, and are dropped after a failure.
"""

import sys
import warnings

from .. import _signals
from ..errors import ParameterError, SparseaeError
from .classify import predict, stack
from .commands import activations, encode, export, gradcheck, report, selftaught, show
from .convolution import conv
from .parser import build_parser, in_flags
from .train import train

COMMANDS = {"train": train, "encode": encode, "show": show, "gradcheck": gradcheck, "selftaught": selftaught,
            "stack": stack, "predict": predict, "report": report, "export": export,
            "conv": conv, "activations": activations}


def _one_line(exc):
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    if isinstance(exc, OSError) and exc.filename:
        text = f"{exc.filename}: {text}"
    return in_flags(" ".join(text.split()) or type(exc).__name__)


def main(argv=None):
    """Run the command line; returns the exit status."""
    prog = "sparseae"
    with warnings.catch_warnings(record=True) as caught, _signals.handled():
        warnings.simplefilter("always")
        try:
            args = build_parser().parse_args(argv)
            prog = f"sparseae {args.command}"
            status = COMMANDS[args.command](args)
        except (KeyboardInterrupt, ImportError) as exc:
            if not _signals.was_interrupt(exc):
                raise
            print(f"{prog}: interrupted ({_signals.name()}); nothing was left half-written", file=sys.stderr)
            return _signals.exit_status()
        except ParameterError as exc:
            print(f"{getattr(exc, 'prog', prog)}: error: {_one_line(exc)}", file=sys.stderr)
            return 2
        except (SparseaeError, OSError) as exc:
            print(f"{prog}: error: {_one_line(exc)}", file=sys.stderr)
            return 1
    if status == 0:
        for note in dict.fromkeys(" ".join(str(w.message).split()) for w in caught):
            print(f"{prog}: note: {note}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
