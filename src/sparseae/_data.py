"""What ``fit`` accepts: an in-memory array, a ``.npy`` path or memmap read in chunks, or a
Dask array; each validated once, before training, with errors that name the row."""

import os

import numpy as np

from .errors import DataError
from .rows import ArrayRows, as_rows
from .validation import (
    as_float_matrix,
    check_output_range,
    check_value_range,
    validate_rows,
)

#: Out-of-core chunks are sized so one chunk's data and buffers take about this many bytes.
CHUNK_BYTES = 64 * 2**20
#: Minibatch rows of the streaming solver when batch_size="auto".
ADAM_BATCH = 100


def is_dask_array(X):
    return type(X).__module__.split(".")[0] == "dask" and hasattr(X, "chunks")


def training_source(estimator, X, reset, dtype):
    """``(source, m, n)``: X validated for training, and sets ``n_features_in_`` when reset.

    ``source`` is an array (in memory), a :class:`~sparseae.rows.NpyRows` (out of core) or a
    Dask array. Values are checked for NaN/inf (naming the first bad row) and against the range
    of the output activation.
    """
    if is_dask_array(X):
        from .distributed import validate_dask_array

        X = validate_dask_array(X, estimator.output_activation)
        return _features(estimator, X, X.shape[1], reset), X.shape[0], X.shape[1]
    rows = as_rows(X)
    if rows is None:
        X = validate_rows(estimator, X, reset=reset, dtype=dtype)
        check_output_range(X, estimator.output_activation)
        return X, X.shape[0], X.shape[1]
    m, n = rows.shape
    if m == 0 or n == 0:
        raise DataError(f"X is empty: shape {rows.shape}")
    lo, hi = np.inf, -np.inf
    step = batch_rows(estimator, m, n, out_of_core=True)
    for start in range(0, m, step):
        chunk = as_float_matrix(rows.rows(start, start + step), dtype=dtype, row_offset=start)
        lo, hi = min(lo, float(chunk.min())), max(hi, float(chunk.max()))
    check_value_range(lo, hi, estimator.output_activation)
    return _features(estimator, rows, n, reset), m, n


def _features(estimator, source, n, reset):
    if reset:
        estimator.n_features_in_ = n
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    elif n != estimator.n_features_in_:
        raise DataError(
            f"X has {n} features, but {type(estimator).__name__} is expecting "
            f"{estimator.n_features_in_} features as input"
        )
    return source


def chunk_rows(m, n, n_hidden):
    """Rows per chunk so that data, activations and δs of a chunk take about CHUNK_BYTES."""
    per_row = 8 * (n + 2 * (n + n_hidden))
    return int(max(256, min(m, CHUNK_BYTES // per_row)))


def batch_rows(estimator, m, n, out_of_core=False, minibatch=False):
    """The objective's batch_size: the estimator's, or chosen from the data's size."""
    if estimator.batch_size != "auto":
        return int(min(estimator.batch_size, m))
    if minibatch:
        return min(m, ADAM_BATCH)
    return chunk_rows(m, n, estimator.n_hidden) if out_of_core else None


def minibatches(source, batch, rng):
    """One epoch's minibatches of ``batch`` rows, in a random order drawn from ``rng``.

    In memory the rows are shuffled too (each minibatch a random sample, kept in row order);
    from a file, each minibatch is a run of consecutive rows, so it is one read.
    """
    rows = ArrayRows(source) if isinstance(source, np.ndarray) else source
    m = len(rows)
    starts = np.arange(0, m, batch)
    rng.shuffle(starts)
    order = rng.permutation(m) if isinstance(rows, ArrayRows) else None
    rows.check_unchanged()
    for start in starts:
        if order is not None:
            yield rows.X[np.sort(order[start : start + batch])]
        else:
            yield rows.rows(start, start + batch)


def row_chunks(X, batch_size, name="X"):
    """``(start, rows)`` over X in chunks of ``batch_size``, each checked by ``as_float_matrix``
    (errors name the global row): an array or memmap (sliced), a ``.npy`` path (read a chunk at a
    time), or a Dask array (its chunks brought to this process one by one)."""
    if is_dask_array(X):
        X = X.rechunk({0: batch_size, 1: -1})
        starts = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]])
        for start, block in zip(starts, X.blocks):
            yield int(start), as_float_matrix(np.asarray(block.compute()), name, row_offset=int(start))
        return
    rows = as_rows(X) if isinstance(X, (str, os.PathLike)) else None
    if rows is None and not hasattr(X, "shape"):
        X = as_float_matrix(X, name)
    m = rows.shape[0] if rows is not None else X.shape[0]
    for start in range(0, m, batch_size):
        chunk = rows.rows(start, start + batch_size) if rows is not None else X[start : start + batch_size]
        yield start, as_float_matrix(chunk, name, row_offset=start)
