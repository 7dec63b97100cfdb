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
    read it in chunks), a folder of shards with their manifest (read shard by shard), an IDX
    file's images in [0, 1], or a ``.npz`` (array ``key``)/``.csv``."""
    from ..shards import ShardRows, is_shard_folder

    path = Path(path)
    if is_shard_folder(path):
        if key is not None:
            raise ParameterError(f"key={key!r} names one array of a .npz file; {str(path)!r} is a folder of "
                                 f"shards, so drop key (--key)")
        return ShardRows(path)
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
    """Training examples, one per row, from any source ``sparseae train --data`` takes.

    Parameters
    ----------
    source : str or path-like, default "natural"
        One of:

        - ``"natural"``: patches of the built-in whitened images (:func:`natural_images`);
        - ``"digits"``: scikit-learn's 8x8 digits (:func:`load_digits`);
        - a folder of shards with their manifest (a transformer's activations,
          :func:`transformer_activations`), read in chunks;
        - any other folder: patches of its PNG/JPEG images (:func:`load_image_folder`);
        - an IDX file: MNIST's images as rows in [0, 1];
        - a ``.npy`` (memory-mapped unless normalised, so that ``fit`` reads it in chunks),
          ``.npz`` or ``.csv`` file.
    key : str, optional
        The array of a ``.npz`` holding several.
    n_patches : int, default 10000
        Patches to sample from images.
    patch_size : int, default 8
        Their side.
    colour : bool, default False
        Sample RGB patches from a folder of images.
    normalize : bool, optional
        UFLDL's patch normalisation (:func:`normalize_patches`); by default on for patches of
        images and off otherwise.
    random_state : int, RandomState instance or None, default None
        Chooses the patches.

    Returns
    -------
    X : ndarray, memory map or ShardRows of shape (m, n)
        The examples.
    description : str
        What they are, in words, for a run's log (e.g. "10000 8x8 patches of the built-in images
        (normalised)").

    Raises
    ------
    DataFileNotFoundError
        If a named file or folder does not exist.
    DataError
        If the file cannot be read (truncated, not a known format, a folder without images).
    ParameterError
        If ``key`` is given for a file that is not a ``.npz``, or a patch setting is invalid.

    Examples
    --------
    >>> from sparseae.datasets import load_training_data
    >>> X, what = load_training_data("natural", n_patches=100, random_state=0)
    >>> X.shape, what
    ((100, 64), '100 8x8 patches of the built-in images (normalised)')
    >>> load_training_data("digits")[0].shape
    (1797, 64)
    >>> load_training_data("acts.npy")
    Traceback (most recent call last):
    ...
    sparseae.errors.DataFileNotFoundError: data file 'acts.npy' does not exist
    """
    path = Path(source)
    if source == "natural":
        X = sample_patches(natural_images(), n_patches, patch_size, random_state)
        what, patches = f"{n_patches} {patch_size}x{patch_size} patches of the built-in images", True
    elif source == "digits":
        X, what, patches = load_digits()[0], "scikit-learn's 8x8 digits", False
    elif path.is_dir() and (path / "manifest.json").is_file():
        X = load_rows(path, key)
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
