"""Patches from images, and UFLDL's patch normalisation."""

import numbers

import numpy as np
from sklearn.utils import check_random_state

from ..errors import DataError, ParameterError


def sample_patches(images, n_patches=10000, patch_size=8, random_state=None):
    """Square patches of ``images`` ((k, H, W), or (k, H, W, C) for colour) at uniformly random images
    and positions: an (n_patches, patch_size² [· C]) array, each row a patch flattened in C order
    (reshape a row to (p, p[, C]) to view it).
    """
    images = np.asarray(images)
    if images.ndim not in (3, 4) or images.shape[0] == 0:
        raise DataError(f"images must have shape (k, H, W) or (k, H, W, C), got {images.shape}")
    for name, value in (("n_patches", n_patches), ("patch_size", patch_size)):
        if not isinstance(value, numbers.Integral) or value < 1:
            raise ParameterError(f"{name} must be a positive integer, got {value!r}")
    k, h, w = images.shape[:3]
    if patch_size > min(h, w):
        raise ParameterError(f"patch_size {patch_size} is larger than the images ({h} x {w})")
    rng = check_random_state(random_state)
    which = rng.randint(k, size=n_patches)
    top = rng.randint(h - patch_size + 1, size=n_patches)
    left = rng.randint(w - patch_size + 1, size=n_patches)
    offsets = np.arange(patch_size)
    rows = top[:, None, None] + offsets[None, :, None]  # (n, p, 1)
    cols = left[:, None, None] + offsets[None, None, :]  # (n, 1, p)
    patches = images[which[:, None, None], rows, cols]  # (n, p, p[, C])
    return patches.reshape(n_patches, -1).astype(np.float64, copy=False)


def normalize_patches(X, limit=None):
    """UFLDL's normalisation of patches (rows of X) for a sigmoid output layer: remove each patch's
    mean, truncate to ±3 standard deviations of all the values, and map [-3σ, 3σ] linearly to
    [0.1, 0.9]. Returns a new float64 array. ``limit``: 3σ measured elsewhere (a stream's first
    chunk) instead of on X.
    """
    return _normalize(X, limit)[0]


def _normalize(X, limit=None):
    """:func:`~sparseae.datasets.normalize_patches` and the 3σ it used."""
    X = np.array(X, dtype=np.float64)
    if X.ndim != 2 or X.size == 0:
        raise DataError(f"X must be a non-empty 2-D array of patches, got shape {X.shape}")
    X -= X.mean(axis=1, keepdims=True)
    limit = 3.0 * X.std() if limit is None else limit
    if limit == 0.0:
        return np.full_like(X, 0.5), limit  # every patch is flat: all map to the middle
    np.clip(X, -limit, limit, out=X)
    X /= limit
    return (X + 1.0) * 0.4 + 0.1, limit


def patch_limit(X):
    """3σ of the patches (rows of X) once each patch's mean is removed: what
    :func:`~sparseae.datasets.normalize_patches` truncates at."""
    return _normalize(X)[1]


def patch_stream(images, n_patches, patch_size=8, chunk=10000, normalize=True, random_state=None,
                 limit=None):
    """``n_patches`` patches of ``images`` sampled on the fly, yielded ``chunk`` rows at a time, so
    a stream of any length holds one chunk in memory. ``normalize``: UFLDL's normalisation with
    one 3σ for every chunk (a stream has no "all the values" to measure): ``limit``, or the first
    chunk's."""
    if not isinstance(chunk, numbers.Integral) or chunk < 1:
        raise ParameterError(f"chunk must be a positive integer, got {chunk!r}")
    if not isinstance(n_patches, numbers.Integral) or n_patches < 1:
        raise ParameterError(f"n_patches must be a positive integer, got {n_patches!r}")
    rng = check_random_state(random_state)
    for start in range(0, n_patches, chunk):
        X = sample_patches(images, min(chunk, n_patches - start), patch_size, rng)
        if normalize:
            X, limit = _normalize(X, limit)
        yield X
