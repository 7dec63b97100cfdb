"""A user's own data: a 2-D array from .npy, .npz or .csv."""

from pathlib import Path

import numpy as np

from ..errors import DataError, DataFileNotFoundError


def load_array(path, key=None):
    """The array stored in a .npy, .npz (``key`` names one of several arrays) or .csv file, as stored:
    nothing is unpickled, and shape and values are the caller's to check (``fit`` does).
    """
    path = Path(path)
    if not path.exists():
        raise DataFileNotFoundError(f"data file {str(path)!r} does not exist")
    if not path.is_file():
        raise DataError(f"data file {str(path)!r} is not a file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            return np.load(path, allow_pickle=False)
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                names = list(archive.files)
                if key is None:
                    if len(names) != 1:
                        raise DataError(
                            f"{str(path)!r} holds {len(names)} arrays {names}; say which with key (--key)"
                        )
                    key = names[0]
                if key not in names:
                    raise DataError(f"{str(path)!r} has no array {key!r}; it holds {names}")
                return archive[key]
        if suffix == ".csv":
            return _load_csv(path)
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read {str(path)!r}: {exc}") from None
    except ValueError as exc:
        if str(path) in str(exc):
            raise
        raise DataError(f"cannot read {str(path)!r}: {exc}") from None
    raise DataError(f"data file {str(path)!r} must end in .npy, .npz or .csv, got {suffix!r}")


def _load_csv(path):
    """A CSV of numbers, with or without a header line; no rows at all is a DataError."""
    with open(path, encoding="utf-8") as fh:
        first = [line for line, _ in zip((line for line in fh if line.strip()), range(2))]
    header = bool(first) and not _is_numbers(first[0])
    if len(first) <= header:
        raise DataError(f"{str(path)!r} holds no rows of numbers (empty, or a header alone)")
    return np.loadtxt(path, delimiter=",", skiprows=int(header), ndmin=2)


def _is_numbers(line):
    try:
        [float(v) for v in line.strip().split(",")]
    except ValueError:
        return False
    return True
