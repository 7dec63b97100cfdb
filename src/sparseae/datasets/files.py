"""A user's own data: a 2-D array from .npy, .npz or .csv."""

from pathlib import Path

import numpy as np


def load_array(path, key=None):
    """Read a 2-D numeric array (examples x features) from a .npy, .npz or .csv file.

    Parameters
    ----------
    path : str or Path
    key : str, optional
        For an .npz holding several arrays: which one. One array needs no key.

    Returns
    -------
    ndarray
        As stored; nothing is unpickled (``allow_pickle=False``). Validation of shape and values
        is the caller's (the estimator's ``fit`` does it).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"data file {str(path)!r} does not exist")
    if not path.is_file():
        raise ValueError(f"data file {str(path)!r} is not a file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            return np.load(path, allow_pickle=False)
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                names = list(archive.files)
                if key is None:
                    if len(names) != 1:
                        raise ValueError(
                            f"{str(path)!r} holds {len(names)} arrays {names}; say which with key"
                        )
                    key = names[0]
                if key not in names:
                    raise ValueError(f"{str(path)!r} has no array {key!r}; it holds {names}")
                return archive[key]
        if suffix == ".csv":
            return _load_csv(path)
    except (OSError, EOFError) as exc:
        raise ValueError(f"cannot read {str(path)!r}: {exc}") from None
    except ValueError as exc:
        if str(path) in str(exc):
            raise
        raise ValueError(f"cannot read {str(path)!r}: {exc}") from None
    raise ValueError(f"data file {str(path)!r} must end in .npy, .npz or .csv, got {suffix!r}")


def _load_csv(path):
    with open(path, encoding="utf-8") as fh:
        first = fh.readline()
    try:
        [float(v) for v in first.strip().split(",")]
        skip = 0
    except ValueError:
        skip = 1  # a header line
    return np.loadtxt(path, delimiter=",", skiprows=skip, ndmin=2)
