r"""Input scaling (``input_scaling="unit_mean_squared_norm"``): the fit sees c·x, with c chosen so
that E‖c x‖² = n (one per feature on average, whatever the data's units), and the fitted model
takes raw rows again, c folded into its weights.

An autoencoder with the linear decoder trained on c·x reconstructs it as W2 a + b2 from
a = f(W1 (c x) + b1); so on raw x the same code comes from W1' = c W1 and the reconstruction of
x from W2' = W2 / c, b2' = b2 / c (a JumpReLU or BatchTopK threshold acts on W1 (c x) + b1 and
stays as it is). ``loss_``, ``loss_curve_`` and ``loss_terms_`` are J on the scaled rows, where
the training ran.
"""

import numpy as np

from ._data import chunk_rows, in_memory, is_dask_array
from .errors import DataError


def scale_for(source):
    """c = √(n / mean_i ‖x_i‖²) over a training source's rows: an array, a row source (chunk by
    chunk) or a Dask array (on the cluster)."""
    m, n = source.shape
    if in_memory(source):
        total = float(np.einsum("ij,ij->", source, source, dtype=np.float64))
    elif is_dask_array(source):
        total = float((source.astype(np.float64) ** 2).sum().compute())
    else:
        total, step = 0.0, chunk_rows(m, n)
        for start in range(0, m, step):
            chunk = np.asarray(source.rows(start, start + step), dtype=np.float64)
            total += float(np.einsum("ij,ij->", chunk, chunk))
    if not total > 0:
        raise DataError("input_scaling='unit_mean_squared_norm' needs rows that are not all zero")
    return float(np.sqrt(n * m / total))


def fold(layout, theta, c, inverse=False):
    """θ of a model trained on c·x as the model of raw x, in place (``inverse``: back)."""
    (W1, W2), (_, b2) = layout.unpack(theta)
    factor = c if not inverse else 1.0 / c
    W1 *= factor
    W2 /= factor
    b2 /= factor
    return theta
