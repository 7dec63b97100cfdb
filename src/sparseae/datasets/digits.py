"""scikit-learn's 8x8 digits, scaled to [0, 1]."""

import numpy as np


def load_digits():
    """The 1,797 8x8 digits that scikit-learn ships, as rows in [0, 1], with their labels.

    Returns
    -------
    X : ndarray of shape (1797, 64), float64
        Each row an image in C order, the pixel counts 0..16 divided by 16.
    y : ndarray of shape (1797,), int64
        The digit, 0 to 9.

    Raises
    ------
    ImportError
        Never in an installed sparseae (scikit-learn is a dependency); named for completeness.

    Examples
    --------
    >>> from sparseae.datasets import load_digits
    >>> X, y = load_digits()
    >>> X.shape, float(X.min()), float(X.max()), y[:5].tolist()
    ((1797, 64), 0.0, 1.0, [0, 1, 2, 3, 4])
    """
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    return bunch.data / 16.0, bunch.target.astype(np.int64)
