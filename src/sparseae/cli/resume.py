"""What a run folder records to be resumed: ``run.json`` (the settings of ``sparseae train``
and the data file's size) beside the checkpoint, and ``sparseae train --resume RUN_DIR``'s
checks, all made before anything is written, so a run that cannot be resumed is left as it was.

A run with ``--checkpoint-every N`` exists from its start: its folder holds ``run.json`` and,
every N iterations, ``checkpoint.safetensors``; its results (model, pictures, ``metrics.json``
last) appear when it stops. ``--resume`` reads the settings back, checks the data (the file's
size here, a checksum of its first rows in the checkpoint), and goes on to ``max_iter``.
"""

import json
from pathlib import Path

from ..checkpoint import read_checkpoint
from ..errors import DataChangedError, DataError
from .parser import UsageError
from .run_folder import write_json

CHECKPOINT, RECORD = "checkpoint.safetensors", "run.json"
RECORD_VERSION = 1
#: Flags that say how to run this command, not what the run is.
_NOT_RECORDED = ("command", "out", "overwrite", "quiet", "resume")


def record_run(folder, args):
    """Write ``run.json`` into ``folder``: the settings of ``args`` and the data file's size."""
    from .. import __version__

    settings = {k: v for k, v in vars(args).items() if k not in _NOT_RECORDED}
    data, data_file = Path(args.data), None
    if data.is_file():
        settings["data"] = str(data.resolve())
        data_file = {"path": settings["data"], "size": data.stat().st_size}
    write_json({"format_version": RECORD_VERSION, "sparseae": __version__, "settings": settings,
                "data_file": data_file}, Path(folder) / RECORD)


class ResumedRun:
    """An existing run folder being resumed: written in place, file by file (each atomically)."""

    committed = True

    def __init__(self, folder, n_iter):
        self.final = self.path = folder
        self.n_iter = n_iter

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def open_resumed_run(args):
    """Check ``--resume RUN_DIR`` and set ``args`` to the run's recorded settings: a ResumedRun."""
    from .parser import build_parser

    defaults = vars(build_parser().parse_args(["train"]))
    given = [k for k, v in vars(args).items() if k not in _NOT_RECORDED and v != defaults.get(k)]
    if given:
        flag = "--" + given[0].replace("_", "-")
        raise UsageError(f"--resume continues a run with its recorded settings; drop {flag}")
    folder = Path(args.resume)
    if not folder.is_dir():
        raise DataError(f"--resume {str(folder)!r}: no such run folder")
    try:
        record = json.loads((folder / RECORD).read_text())
        version, settings = record["format_version"], record["settings"]
    except FileNotFoundError:
        raise DataError(
            f"--resume {str(folder)!r} is not a sparseae run folder (it has no {RECORD})"
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"--resume {str(folder)!r}: its {RECORD} is damaged ({exc!r})") from None
    if not isinstance(version, int) or version > RECORD_VERSION:
        raise DataError(f"--resume {str(folder)!r}: its {RECORD} is of version {version!r}, newer than this "
                        f"sparseae reads (up to {RECORD_VERSION}); upgrade sparseae")
    if not (folder / CHECKPOINT).exists():
        raise DataError(f"--resume {str(folder)!r}: the run has no {CHECKPOINT} to resume from "
                        f"(train with --checkpoint-every N to write one)")
    _refuse_completed(folder)
    checkpoint = read_checkpoint(folder / CHECKPOINT)
    unknown = sorted(set(settings) - set(defaults))
    if unknown:
        raise DataError(f"--resume {str(folder)!r}: its {RECORD} has settings this sparseae does not "
                        f"know: {unknown}")
    data_file = record.get("data_file")
    if data_file:
        path = Path(data_file["path"])
        if not path.is_file():
            raise DataError(f"--resume: the run's data file {str(path)!r} is gone")
        size = path.stat().st_size
        if size != data_file["size"]:
            raise DataChangedError(f"--resume: the run's data file {str(path)!r} changed since the run "
                                   f"began ({data_file['size']} bytes then, {size} now)")
    for k, v in {**defaults, **settings}.items():
        if k not in _NOT_RECORDED:
            setattr(args, k, v)
    for partial in folder.glob(".*.tmp"):  # a write that a kill cut short
        partial.unlink(missing_ok=True)
    return ResumedRun(folder, checkpoint.n_iter)


def _refuse_completed(folder):
    try:
        stopped = json.loads((folder / "metrics.json").read_text()).get("stopped")
    except (OSError, ValueError, AttributeError):
        return  # no results yet (the run was killed), or unreadable ones: resume writes them anew
    if stopped == "completed":
        raise DataError(f"--resume {str(folder)!r}: the run already completed; nothing to resume")
