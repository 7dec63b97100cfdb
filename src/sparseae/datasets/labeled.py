"""Examples with their labels, for the classifiers: one loader for every way they come."""

from pathlib import Path

import numpy as np

from ..errors import DataError, ParameterError
from .files import load_array
from .idx import is_idx_path, read_idx, read_idx_images
from .sources import load_rows


def load_labeled(data, labels=None):
    """``(X, y)`` from ``data`` and, where they are apart, ``labels``.

    - an ``.npz`` holding arrays ``X`` and ``y``;
    - a ``.csv`` whose last column is the label (``labels`` not given);
    - images and labels in two files: IDX (MNIST's ``*-images-idx3-ubyte[.gz]`` and
      ``*-labels-idx1-ubyte[.gz]``), or ``.npy``/``.npz``/``.csv`` arrays.
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
