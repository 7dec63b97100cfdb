"""One name for every kind of training data the command line accepts with ``--data``."""

import math
from pathlib import Path

import numpy as np

from ..errors import DataError, DataFileNotFoundError, ParameterError
from ..rows import read_npy_header
from .digits import load_digits
from .files import load_array
from .idx import is_idx_path, read_idx_images
from .image_folder import load_image_folder
from .natural_images import natural_images
from .patches import normalize_patches, sample_patches


def load_rows(path, key=None):
    """The examples in a file, one per row: a ``.npy`` memory-mapped (so ``fit`` and ``encode``
    read it in chunks), an IDX file's images in [0, 1], or a ``.npz`` (array ``key``)/``.csv``."""
    path = Path(path)
    if key is not None and path.suffix.lower() != ".npz":
        raise ParameterError(f"key={key!r} names one array of a .npz file; {str(path)!r} is not one (it holds "
                             f"one array), so drop key (--key)")
    if path.suffix.lower() == ".npy":
        return _open_npy(path)
    if is_idx_path(path):
        return read_idx_images(path)
    return load_array(path, key)


def _open_npy(path):
    if not path.is_file():
        raise DataFileNotFoundError(f"data file {str(path)!r} does not exist")
    shape, dtype, _, offset = read_npy_header(path)
    expected, size = offset + math.prod(shape) * dtype.itemsize, path.stat().st_size
    if size < expected:
        raise DataError(f"{str(path)!r} is truncated: its header says shape {shape} ({expected} bytes), "
                        f"the file has {size} bytes")
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"cannot read {str(path)!r} as .npy: {exc or 'the file is empty'}") from None


def load_training_data(source="natural", *, key=None, n_patches=10000, patch_size=8, colour=False,
                       normalize=None, random_state=None):
    """``(X, description)``: training examples (one per row) from a named source.

    ``source``: "natural" (patches of the built-in whitened images), "digits" (scikit-learn's 8x8
    digits), a folder of shards with their manifest (``sparseae.shards``, e.g. a transformer's
    activations; read in chunks), a folder (patches of its PNG/JPEG images; ``colour`` for RGB),
    an IDX file (MNIST, rows
    in [0, 1]), or a ``.npy``/``.npz`` (array ``key``)/``.csv`` file (a ``.npy`` memory-mapped unless
    normalised, so that ``fit`` reads it in chunks). ``normalize``: UFLDL's patch normalisation,
    by default on for patches of images and off otherwise.
    """
    path = Path(source)
    if source == "natural":
        X = sample_patches(natural_images(), n_patches, patch_size, random_state)
        what, patches = f"{n_patches} {patch_size}x{patch_size} patches of the built-in images", True
    elif source == "digits":
        X, what, patches = load_digits()[0], "scikit-learn's 8x8 digits", False
    elif path.is_dir() and (path / "manifest.json").is_file():
        from ..shards import ShardRows

        X = ShardRows(path)
        what, patches = f"{X.shape[0]} rows of the shards in {source}", False
    elif path.is_dir():
        X = sample_patches(load_image_folder(path, colour), n_patches, patch_size, random_state)
        kind = "colour" if colour else "grey"
        what, patches = f"{n_patches} {patch_size}x{patch_size} {kind} patches of {source}", True
    elif is_idx_path(path):
        X, what, patches = read_idx_images(path), f"IDX images {source}", False
    else:
        X, what, patches = load_rows(path, key), f"file {source}", False
    if normalize if normalize is not None else patches:
        X = normalize_patches(X)
        what += " (normalised)"
    return X, what
