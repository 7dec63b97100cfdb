"""MNIST's IDX files, raw or gzipped: magic number, dimensions and size all checked.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
one big-endian 32-bit size per dimension, then the values in C order, big-endian.
"""

import gzip
import math
from pathlib import Path

import numpy as np

from ..errors import DataError, DataFileNotFoundError

_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """The array stored in an IDX file, raw or gzipped.

    The magic number (two zero bytes, a type code, the number of dimensions), the sizes and the
    length are all checked before anything is read as numbers.

    Parameters
    ----------
    path : str or path-like
        An IDX file (MNIST's ``*-ubyte``), or the same gzipped (``*-ubyte.gz``; told by its first
        two bytes, not its name).

    Returns
    -------
    ndarray
        Of the file's shape, in its type (uint8 for MNIST) in native byte order.

    Raises
    ------
    DataFileNotFoundError
        If the file is missing (a FileNotFoundError).
    DataError
        For a foreign file (wrong magic number), a broken gzip stream, or a file whose size does not
        match its header (truncated, or with trailing bytes); a ValueError.

    Examples
    --------
    >>> from pathlib import Path
    >>> from sparseae.datasets import read_idx
    >>> header = bytes([0, 0, 0x08, 2]) + (2).to_bytes(4, "big") + (3).to_bytes(4, "big")
    >>> _ = Path("small-idx2-ubyte").write_bytes(header + bytes(range(6)))
    >>> read_idx("small-idx2-ubyte")
    array([[0, 1, 2],
           [3, 4, 5]], dtype=uint8)
    >>> _ = Path("short-idx2-ubyte").write_bytes(header + bytes(range(5)))
    >>> read_idx("short-idx2-ubyte")
    Traceback (most recent call last):
    ...
    sparseae.errors.DataError: 'short-idx2-ubyte' is truncated: header says shape (2, 3) (18 bytes), file has 17 bytes
    """
    path = Path(path)
    if not path.is_file():
        raise DataFileNotFoundError(f"IDX file {str(path)!r} does not exist")
    with open(path, "rb") as fh:
        gzipped = fh.read(2) == b"\x1f\x8b"
    try:
        if gzipped:
            with gzip.open(path, "rb") as fh:
                raw = fh.read()
        else:
            raw = path.read_bytes()
    except (OSError, EOFError) as exc:
        raise DataError(f"{str(path)!r} is not a readable gzip file (truncated?): {exc}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _TYPES or raw[3] == 0:
        magic = int.from_bytes(raw[:4].ljust(4, b"\0"), "big")
        raise DataError(
            f"{str(path)!r} is not an IDX file: magic number {magic} (0x{magic:08x}); "
            f"MNIST images have 2051, labels 2049"
        )
    dtype, ndim = np.dtype(_TYPES[raw[2]]), raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{str(path)!r} is truncated inside its header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + dtype.itemsize * math.prod(shape)  # Python ints: no overflow to 0
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "longer than its header says"
        raise DataError(
            f"{str(path)!r} is {what}: header says shape {shape} ({expected} bytes), "
            f"file has {len(raw)} bytes"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def read_idx_images(path):
    """The images of an IDX file as rows scaled to [0, 1] (pixels / 255)."""
    images = read_idx(path)
    if images.ndim < 2:
        raise DataError(f"{str(path)!r} holds labels (shape {images.shape}), not images")
    return images.reshape(len(images), -1) / 255.0


def is_idx_path(path):
    """Whether a file name looks like an IDX file (MNIST's ``*-idx3-ubyte[.gz]``)."""
    name = Path(path).name.lower()
    return "idx" in name or name.endswith(("-ubyte", "-ubyte.gz"))


def load_mnist(folder, subset="t10k"):
    """MNIST's images as rows in [0, 1] and their labels, from the IDX files in a folder.

    Parameters
    ----------
    folder : str or path-like
        Holding ``{subset}-images-idx3-ubyte`` and ``{subset}-labels-idx1-ubyte``, each raw or
        gzipped (``.gz``), as MNIST's site distributes them.
    subset : {"t10k", "train"}, default "t10k"
        The 10,000 test images or the 60,000 training images (any prefix the files have).

    Returns
    -------
    X : ndarray of shape (m, 784), float64
        Each image a row, pixels / 255, in C order (reshape a row to (28, 28) to view it).
    y : ndarray of shape (m,), int64
        The digit of each row.

    Raises
    ------
    DataFileNotFoundError
        If either file is absent (its name is given).
    DataError
        If a file is not IDX, is truncated, or the images and labels differ in count.

    Examples
    --------
    >>> from pathlib import Path
    >>> from sparseae.datasets import load_mnist
    >>> def idx(code, *shape):
    ...     return bytes([0, 0, 0x08, code]) + b"".join(n.to_bytes(4, "big") for n in shape)
    >>> _ = Path("t10k-images-idx3-ubyte").write_bytes(idx(3, 2, 28, 28) + bytes(2 * 784))
    >>> _ = Path("t10k-labels-idx1-ubyte").write_bytes(idx(1, 2) + bytes([7, 2]))
    >>> X, y = load_mnist(".")
    >>> X.shape, y.tolist()
    ((2, 784), [7, 2])
    >>> load_mnist(".", subset="train")
    Traceback (most recent call last):
    ...
    sparseae.errors.DataFileNotFoundError: no train-images-idx3-ubyte[.gz] in '.'
    """
    folder = Path(folder)
    files = {}
    for kind, code in (("images", "idx3"), ("labels", "idx1")):
        stem = f"{subset}-{kind}-{code}-ubyte"
        candidates = [folder / stem, folder / f"{stem}.gz"]
        found = [c for c in candidates if c.is_file()]
        if not found:
            raise DataFileNotFoundError(f"no {stem}[.gz] in {str(folder)!r}")
        files[kind] = found[0]
    images = read_idx_images(files["images"])
    labels = read_idx(files["labels"])
    if labels.ndim != 1 or len(images) != len(labels):
        raise DataError(
            f"MNIST files in {str(folder)!r} do not match: images {images.shape}, labels {labels.shape}"
        )
    return images, labels.astype(np.int64)
