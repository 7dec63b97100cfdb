"""Patches from images, and UFLDL's patch normalisation."""

import numbers

import numpy as np
from sklearn.utils import check_random_state

from ..errors import DataError, ParameterError


def sample_patches(images, n_patches=10000, patch_size=8, random_state=None):
    """Square patches of images at uniformly random images and positions, one patch a row.

    Parameters
    ----------
    images : array-like of shape (k, H, W) or (k, H, W, C)
        Grey images, or colour images with C channels.
    n_patches : int, default 10000
        How many patches (drawn with replacement).
    patch_size : int, default 8
        Their side p, at most the images' smaller side.
    random_state : int, RandomState instance or None, default None
        Chooses the images and positions.

    Returns
    -------
    ndarray of shape (n_patches, p²) or (n_patches, p²·C), float64
        Each row a patch flattened in C order (reshape a row to (p, p) or (p, p, C) to view it).

    Raises
    ------
    DataError
        If ``images`` is not a non-empty stack of 2-D (or 2-D colour) images.
    ParameterError
        If ``n_patches`` or ``patch_size`` is not a positive integer, or ``patch_size`` is larger
        than the images.

    Examples
    --------
    >>> import numpy as np
    >>> from sparseae.datasets import sample_patches
    >>> images = np.arange(2 * 10 * 10, dtype=float).reshape(2, 10, 10)
    >>> X = sample_patches(images, n_patches=5, patch_size=3, random_state=0)
    >>> X.shape
    (5, 9)
    >>> patch = X[0].reshape(3, 3)          # a window of one image: rows step by 10, columns by 1
    >>> np.diff(patch, axis=0).tolist()[0], np.diff(patch, axis=1).tolist()[0]
    ([10.0, 10.0, 10.0], [1.0, 1.0])
    >>> sample_patches(images, patch_size=12)
    Traceback (most recent call last):
    ...
    sparseae.errors.ParameterError: patch_size 12 is larger than the images (10 x 10)
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
    """UFLDL's normalisation of patches for a sigmoid output layer.

    Remove each patch's mean, truncate to ±3σ (σ the standard deviation of all the values once
    the means are removed), and map [-3σ, 3σ] linearly to [0.1, 0.9], inside the sigmoid's range.
    A set of flat patches (σ = 0) maps to 0.5.

    Parameters
    ----------
    X : array-like of shape (m, n)
        The patches, one a row.
    limit : float, optional
        3σ measured elsewhere (:func:`patch_limit` of a stream's first chunk) instead of on ``X``.

    Returns
    -------
    ndarray of shape (m, n), float64
        A new array in [0.1, 0.9].

    Raises
    ------
    DataError
        If ``X`` is not a non-empty 2-D array.

    Examples
    --------
    >>> import numpy as np
    >>> from sparseae.datasets import normalize_patches
    >>> X = np.random.default_rng(0).normal(size=(100, 64))
    >>> Y = normalize_patches(X)
    >>> float(Y.min()) >= 0.1, float(Y.max()) <= 0.9, round(float(Y.mean()), 3)
    (True, True, 0.5)
    >>> normalize_patches(np.zeros(5))
    Traceback (most recent call last):
    ...
    sparseae.errors.DataError: X must be a non-empty 2-D array of patches, got shape (5,)
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
    """3σ of patches once each patch's mean is removed: where normalize_patches truncates.

    Parameters
    ----------
    X : array-like of shape (m, n)
        The patches, one a row.

    Returns
    -------
    float
        Three times the standard deviation of all the values of ``X`` less its rows' means.

    Raises
    ------
    DataError
        If ``X`` is not a non-empty 2-D array.

    Examples
    --------
    >>> import numpy as np
    >>> from sparseae.datasets import normalize_patches, patch_limit
    >>> X = np.random.default_rng(0).normal(size=(100, 64))
    >>> limit = patch_limit(X[:50])                     # measured on a first chunk ...
    >>> Y = normalize_patches(X[50:], limit=limit)      # ... and applied to the next
    >>> bool(np.all((Y >= 0.1) & (Y <= 0.9)))
    True
    """
    return _normalize(X)[1]


def patch_stream(images, n_patches, patch_size=8, chunk=10000, normalize=True, random_state=None,
                 limit=None):
    """Patches of images sampled on the fly, a chunk at a time, for training on a stream.

    A stream of any length holds one chunk in memory; pass it to ``partial_fit`` chunk by chunk,
    or to ``fit`` as an iterable.

    Parameters
    ----------
    images : array-like of shape (k, H, W) or (k, H, W, C)
        As for :func:`sample_patches`.
    n_patches : int
        How many patches in all.
    patch_size : int, default 8
        Their side.
    chunk : int, default 10000
        Rows per yielded array (the last may be shorter).
    normalize : bool, default True
        UFLDL's normalisation (:func:`normalize_patches`) with one 3σ for every chunk, since a
        stream has no "all the values" to measure: ``limit``, else the first chunk's.
    random_state : int, RandomState instance or None, default None
        Chooses every chunk's images and positions, from one generator.
    limit : float, optional
        The 3σ to normalise with.

    Yields
    ------
    ndarray of shape (chunk, p²[·C]), float64
        The next rows of the stream.

    Raises
    ------
    ParameterError
        If ``chunk`` or ``n_patches`` is not a positive integer (raised at the first ``next``), or
        as :func:`sample_patches`.

    Examples
    --------
    >>> import numpy as np
    >>> from sparseae.datasets import natural_images, patch_stream
    >>> chunks = patch_stream(natural_images(64, cache=False), 2500, chunk=1000, random_state=0)
    >>> [X.shape for X in chunks]
    [(1000, 64), (1000, 64), (500, 64)]
    """
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
