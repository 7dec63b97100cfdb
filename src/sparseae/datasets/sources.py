"""One name for every kind of training data the command line accepts with ``--data``."""

from pathlib import Path

import numpy as np

from .digits import load_digits
from .files import load_array
from .idx import read_idx
from .image_folder import load_image_folder
from .natural_images import natural_images
from .patches import normalize_patches, sample_patches


def _open_npy(path):
    if not path.is_file():
        raise FileNotFoundError(f"data file {str(path)!r} does not exist")
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read {str(path)!r}: {exc}") from None


def _is_idx(path):
    name = path.name.lower()
    return "idx" in name or name.endswith(("-ubyte", "-ubyte.gz"))


def load_training_data(source="natural", *, n_patches=10000, patch_size=8, colour=False,
                       normalize=None, random_state=None):
    """Training examples (one per row) from a named source, and a description of them.

    Parameters
    ----------
    source : str
        ``"natural"``: patches of the built-in whitened images; ``"digits"``: scikit-learn's
        8x8 digits; a folder: patches of its PNG/JPEG images; an IDX file (MNIST): its images
        as rows in [0, 1]; a ``.npy``, ``.npz`` or ``.csv`` file: its 2-D array (a ``.npy``
        comes memory-mapped unless normalised, so that ``fit`` can read it in chunks).
    n_patches, patch_size, colour : for the image sources.
    normalize : bool, optional
        Apply UFLDL's patch normalisation. Default: on for patches of images (natural or a
        folder), off otherwise.

    Returns
    -------
    X : ndarray of shape (m, n)
    description : str
    """
    path = Path(source)
    if source == "natural":
        X = sample_patches(natural_images(), n_patches, patch_size, random_state)
        what, patches = f"{n_patches} {patch_size}x{patch_size} patches of the built-in images", True
    elif source == "digits":
        X, what, patches = load_digits()[0], "scikit-learn's 8x8 digits", False
    elif path.is_dir():
        X = sample_patches(load_image_folder(path, colour), n_patches, patch_size, random_state)
        kind = "colour" if colour else "grey"
        what, patches = f"{n_patches} {patch_size}x{patch_size} {kind} patches of {source}", True
    elif _is_idx(path):
        images = read_idx(path)
        if images.ndim < 2:
            raise ValueError(f"{source!r} holds labels (shape {images.shape}), not images")
        X, what, patches = images.reshape(len(images), -1) / 255.0, f"IDX images {source}", False
    elif path.suffix.lower() == ".npy" and not normalize:
        # Memory-mapped: fit reads it in chunks, so it may be larger than memory.
        X, what, patches = _open_npy(path), f"file {source}", False
    else:
        X, what, patches = load_array(path), f"file {source}", False
    if normalize if normalize is not None else patches:
        X = normalize_patches(X)
        what += " (normalised)"
    return X, what
