"""A user's own data: a 2-D array from .npy, .npz or .csv."""

from pathlib import Path

import numpy as np

from ..errors import DataError, DataFileNotFoundError


def load_array(path, key=None):
    """The array stored in a ``.npy``, ``.npz`` or ``.csv`` file, as stored.

    Nothing is unpickled (an object array is an error), and shape and values are the caller's to
    check (``fit`` does). A CSV may have one header line; an error names the first line that is
    not numbers.

    Parameters
    ----------
    path : str or path-like
        The file; its suffix (``.npy``, ``.npz``, ``.csv``, any case) says how to read it.
    key : str, optional
        The array of a ``.npz`` holding several; not needed when it holds one.

    Returns
    -------
    ndarray
        The array, with the dtype and shape stored (a CSV: float64, 2-D).

    Raises
    ------
    DataFileNotFoundError
        If ``path`` does not exist.
    DataError
        If it is not a file, has another suffix, cannot be read, is a ``.npz`` of several arrays
        and no ``key`` (or a ``key`` it does not hold), or a CSV with a field that is not a number
        or lines of different lengths.

    Examples
    --------
    >>> from pathlib import Path
    >>> from sparseae.datasets import load_array
    >>> _ = Path("x.csv").write_text("a,b\\n1,2\\n3,4\\n")
    >>> load_array("x.csv")
    array([[1., 2.],
           [3., 4.]])
    >>> _ = Path("bad.csv").write_text("1,2\\n3,four\\n")
    >>> load_array("bad.csv")
    Traceback (most recent call last):
    ...
    sparseae.errors.DataError: 'bad.csv', line 2: 'four' is not a number
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
    """A CSV of numbers, with or without a header line; no rows at all is a DataError.

    The first non-blank line is a header when none of its fields is a number and the line after
    it is all numbers (a malformed first row is an error, not a header); an error names the line
    as a text editor counts it (from 1, blank lines included).
    """
    with open(path, encoding="utf-8") as fh:
        first = [(i, line) for (i, line), _ in zip(((i, l) for i, l in enumerate(fh, 1) if l.strip()), range(2))]
    header_line = 0
    if first and not any(_is_number(v) for v in first[0][1].split(",")):
        if len(first) == 1:
            raise DataError(f"{str(path)!r} holds no rows of numbers (empty, or a header alone)")
        if _is_numbers(first[1][1]):
            header_line = first[0][0]
    if not first:
        raise DataError(f"{str(path)!r} holds no rows of numbers (empty, or a header alone)")
    try:
        return np.loadtxt(path, delimiter=",", skiprows=header_line, ndmin=2)
    except ValueError:
        raise DataError(_first_bad_line(path, header_line)) from None


def _first_bad_line(path, header_line):
    """Where a CSV that did not parse goes wrong, by line number."""
    width = None
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if number <= header_line or not line.strip():
                continue
            fields = line.strip().split(",")
            bad = [f for f in fields if not _is_number(f)]
            if bad:
                return f"{str(path)!r}, line {number}: {bad[0].strip()!r} is not a number"
            if width is not None and len(fields) != width:
                return f"{str(path)!r}, line {number}: {len(fields)} values, where the lines before have {width}"
            width = len(fields)
    return f"{str(path)!r} is not a CSV of numbers"


def _is_number(field):
    try:
        float(field)
    except ValueError:
        return False
    return True


def _is_numbers(line):
    return all(_is_number(v) for v in line.strip().split(","))
