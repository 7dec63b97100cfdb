"""Examples with their labels, for the classifiers: one loader for every way they come."""

from pathlib import Path

import numpy as np

from ..errors import DataError, ParameterError
from .files import load_array
from .idx import is_idx_path, read_idx, read_idx_images
from .sources import load_rows


def load_labeled(data, labels=None):
    """Examples and their labels, for the classifiers, from one file or two.

    Parameters
    ----------
    data : str or path-like
        One of:

        - an ``.npz`` holding arrays ``X`` and ``y``;
        - a ``.csv`` whose last column is the label (``labels`` not given);
        - the examples alone, with their labels in ``labels``: IDX images (MNIST's
          ``*-images-idx3-ubyte[.gz]``, as rows in [0, 1]) or a ``.npy``/``.npz``/``.csv`` array.
    labels : str or path-like, optional
        The labels when they are apart from ``data``: IDX (``*-labels-idx1-ubyte[.gz]``) or a
        ``.npy``/``.npz``/``.csv`` of one value per example.

    Returns
    -------
    X : ndarray of shape (m, n)
        The examples (a ``.npy`` memory-mapped).
    y : ndarray of shape (m,)
        The labels; whole numbers read as floats (from a CSV) become int64.

    Raises
    ------
    ParameterError
        If ``data`` holds no labels and ``labels`` is not given.
    DataError
        If a file cannot be read, the labels are not one value per example, or examples and labels
        differ in count.

    Examples
    --------
    >>> import numpy as np
    >>> from sparseae.datasets import load_labeled
    >>> np.savez("digits.npz", X=np.eye(3), y=np.array([0, 1, 1]))
    >>> X, y = load_labeled("digits.npz")
    >>> X.shape, y.tolist()
    ((3, 3), [0, 1, 1])
    >>> np.save("x.npy", np.eye(3))
    >>> np.save("y.npy", np.array([0, 1]))
    >>> load_labeled("x.npy", "y.npy")
    Traceback (most recent call last):
    ...
    sparseae.errors.DataError: 'x.npy' holds 3 examples but 'y.npy' holds 2 labels
    """
    data = Path(data)
    if labels is None:
        if data.suffix.lower() == ".npz":
            return load_array(data, "X"), _labels(load_array(data, "y"), data)
        if data.suffix.lower() == ".csv":
            table = load_array(data)
            if table.shape[1] < 2:
                raise DataError(f"{str(data)!r} has {table.shape[1]} column; its last column is the label")
            return table[:, :-1], _labels(table[:, -1], data)
        raise ParameterError(f"{str(data)!r} holds no labels: give the labels file too (--labels)")
    X = read_idx_images(data) if is_idx_path(data) else load_rows(data)
    labels = Path(labels)
    y = read_idx(labels) if is_idx_path(labels) else load_array(labels)
    y = _labels(y, labels)
    if len(y) != X.shape[0]:
        raise DataError(
            f"{str(data)!r} holds {X.shape[0]} examples but {str(labels)!r} holds {len(y)} labels"
        )
    return X, y


def _labels(y, path):
    y = np.asarray(y)
    if y.ndim == 2 and 1 in y.shape:
        y = y.ravel()
    if y.ndim != 1:
        raise DataError(f"{str(path)!r} holds labels of shape {y.shape}; labels are one value per example")
    if y.dtype.kind == "f" and np.all(y == np.round(y)):
        y = y.astype(np.int64)  # whole numbers read from a CSV are class numbers
    return y
