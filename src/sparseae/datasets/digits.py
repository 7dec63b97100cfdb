"""scikit-learn's 8x8 digits, scaled to [0, 1]."""

import numpy as np


def load_digits():
    """The 1,797 8x8 digits that scikit-learn ships: X of shape (1797, 64) in [0, 1], and y."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    return bunch.data / 16.0, bunch.target.astype(np.int64)
