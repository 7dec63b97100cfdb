"""What a run folder records to be resumed: ``run.json`` (the command, its settings and the
data files' sizes) beside the checkpoint, and ``--resume RUN_DIR``'s checks (``sparseae train``
and ``sparseae stack``), all made before anything is written, so a run that cannot be resumed is
left as it was.

A run with ``--checkpoint-every N`` exists from its start: its folder holds ``run.json`` and,
every N iterations, ``checkpoint.safetensors``; its results (model, pictures, ``metrics.json``
last) appear when it stops. ``--resume`` reads the settings back, checks the data (the files'
sizes here, a checksum of the first rows in the checkpoint), and goes on where it stopped.
"""

import os
from pathlib import Path

from .._io import read_json_object
from ..checkpoint import read_checkpoint
from ..errors import DataChangedError, DataError
from .parser import UsageError
from .run_folder import FolderLock, in_use, write_json

CHECKPOINT, RECORD = "checkpoint.safetensors", "run.json"
#: 1: train only, one "data_file"; 2: "command" and "data_files" (every file the run reads).
RECORD_VERSION = 2
#: Flags that say how to run this command, not what the run is.
_NOT_RECORDED = ("command", "out", "overwrite", "quiet", "resume")
#: The flags that name data, by command, and the names that are built-in data, not files.
_DATA_FLAGS = {"train": ("data",), "stack": ("data", "labels", "mnist")}
_BUILT_IN = ("natural", "digits")


def record_run(folder, args):
    """Write ``run.json`` into ``folder``: the command, the settings of ``args`` (data paths made
    absolute) and the size of every data file they name (a folder's: each file in it)."""
    from .. import __version__

    settings = {k: v for k, v in vars(args).items() if k not in _NOT_RECORDED}
    files = []
    for flag in _DATA_FLAGS[args.command]:
        if settings.get(flag) in (None, *_BUILT_IN) or not Path(settings[flag]).exists():
            continue
        path = Path(settings[flag]).resolve()
        settings[flag] = str(path)
        for f in sorted(path.iterdir()) if path.is_dir() else [path]:
            if f.is_file():
                files.append({"path": str(f), "size": f.stat().st_size})
    write_json({"format_version": RECORD_VERSION, "sparseae": __version__, "command": args.command,
                "settings": settings, "data_files": files}, Path(folder) / RECORD)


class ResumedRun:
    """An existing run folder being resumed: written in place, file by file (each atomically),
    under the folder's lock."""

    committed = True

    def __init__(self, folder, checkpoint, lock):
        self.final = self.path = folder
        self.n_iter, self.stage = checkpoint.n_iter, checkpoint.stage
        self.lock = lock

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.lock.release()
        return False


def open_resumed_run(args):
    """Check ``--resume RUN_DIR`` and set ``args`` to the run's recorded settings: a ResumedRun."""
    from .parser import build_parser

    command = args.command
    defaults = vars(build_parser().parse_args([command]))
    given = [k for k, v in vars(args).items() if k not in _NOT_RECORDED and v != defaults.get(k)]
    if given:
        flag = "--" + given[0].replace("_", "-")
        raise UsageError(f"--resume continues a run with its recorded settings; drop {flag}")
    folder = Path(args.resume)
    if not folder.is_dir():
        raise DataError(f"--resume {str(folder)!r}: no such run folder")
    lock = FolderLock(Path(os.path.realpath(folder)))
    if not lock.acquire():
        raise UsageError(in_use("--resume", folder, lock))
    try:
        run = _check_resumable(args, command, defaults, folder)
    except BaseException:
        lock.release()
        raise
    return ResumedRun(folder, run, lock)


def _check_resumable(args, command, defaults, folder):
    """The run's checkpoint, once every check passed and ``args`` holds the recorded settings."""
    try:
        record = read_json_object(folder / RECORD)
        version, settings = record["format_version"], record["settings"]
    except FileNotFoundError:
        raise DataError(
            f"--resume {str(folder)!r} is not a sparseae run folder (it has no {RECORD})"
        ) from None
    except (KeyError, TypeError) as exc:
        raise DataError(f"--resume {str(folder)!r}: its {RECORD} is damaged ({exc!r})") from None
    if not isinstance(settings, dict):
        raise DataError(f"--resume {str(folder)!r}: its {RECORD} is damaged (its settings are not an object)")
    if not isinstance(version, int) or version > RECORD_VERSION:
        raise DataError(f"--resume {str(folder)!r}: its {RECORD} is of version {version!r}, newer than this "
                        f"sparseae reads (up to {RECORD_VERSION}); upgrade sparseae")
    recorded = record.get("command", "train")
    if recorded != command:
        raise DataError(f"--resume {str(folder)!r} is a run of sparseae {recorded}; resume it with "
                        f"sparseae {recorded} --resume")
    if not (folder / CHECKPOINT).exists():
        raise DataError(f"--resume {str(folder)!r}: the run has no {CHECKPOINT} to resume from "
                        f"(train with --checkpoint-every N to write one)")
    _refuse_completed(folder)
    checkpoint = read_checkpoint(folder / CHECKPOINT)
    unknown = sorted(set(settings) - set(defaults))
    if unknown:
        raise DataError(f"--resume {str(folder)!r}: its {RECORD} has settings this sparseae does not "
                        f"know: {unknown}")
    files = record.get("data_files", [record["data_file"]] if record.get("data_file") else [])
    for data_file in files:
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
    return checkpoint


def _refuse_completed(folder):
    try:
        stopped = read_json_object(folder / "metrics.json").get("stopped")
    except (OSError, DataError):
        return  # no results yet (the run was killed), or unreadable ones: resume writes them anew
    if stopped == "completed":
        raise DataError(f"--resume {str(folder)!r}: the run already completed; nothing to resume")
