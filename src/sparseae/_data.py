"""What ``fit`` accepts: an in-memory array, a ``.npy`` path or memmap read in chunks, or a
Dask array; each validated once, before training, with errors that name the row."""

import os
from pathlib import Path

import numpy as np

from .errors import DataError
from .rows import ArrayRows, NpyRows, RowSource
from .shards import ShardRows, is_shard_folder
from .validation import as_float_matrix, check_output_range, check_value_range

#: Out-of-core chunks are sized so one chunk's data and buffers take about this many bytes.
CHUNK_BYTES = 64 * 2**20
#: Minibatch rows of a minibatch solver when batch_size="auto".
MINIBATCH_ROWS = 100


def as_rows(X):
    """A row source for a path (a ``.npy`` file, or a folder of shards with its manifest), a
    memmap or a row source; else None (the caller treats X as an in-memory array)."""
    if isinstance(X, RowSource):
        return X
    if isinstance(X, (str, os.PathLike)) and Path(X).is_dir():
        if is_shard_folder(X):
            return ShardRows(X)
        raise DataError(f"{str(X)!r} is a folder without a shard manifest; give a .npy file or a folder that "
                        f"transformer_activations wrote")
    if isinstance(X, np.memmap) or isinstance(X, (str, os.PathLike)):
        return NpyRows(X)
    return None


def is_dask_array(X):
    return type(X).__module__.split(".")[0] == "dask" and hasattr(X, "chunks")


def in_memory(source):
    """Whether a training source is an array in memory (else a row source or a Dask array)."""
    return isinstance(source, np.ndarray)


def training_source(X, *, output_activation, dtype, chunk_size=None):
    """``(source, m, n)``: X validated for training.

    ``source`` is an array (in memory), a :class:`~sparseae.rows.NpyRows` (out of core, read
    ``chunk_size`` rows at a time to be checked; default about :data:`CHUNK_BYTES`) or a Dask
    array. Values are checked for NaN/inf (naming the first bad row) and against the range of
    ``output_activation`` (None: any finite value).
    """
    if is_dask_array(X):
        from .distributed import validate_dask_array

        X = validate_dask_array(X, output_activation)
        return X, X.shape[0], X.shape[1]
    rows = as_rows(X)
    if rows is None:
        X = as_float_matrix(X, dtype=dtype)
        if output_activation is not None:
            check_output_range(X, output_activation)
        return X, X.shape[0], X.shape[1]
    m, n = rows.shape
    if m == 0 or n == 0:
        raise DataError(f"X is empty: shape {rows.shape}")
    lo, hi = np.inf, -np.inf
    step = chunk_size or chunk_rows(m, n)
    for start in range(0, m, step):
        chunk = as_float_matrix(rows.rows(start, start + step), dtype=dtype, row_offset=start)
        lo, hi = min(lo, float(chunk.min())), max(hi, float(chunk.max()))
    if output_activation is not None:
        check_value_range(lo, hi, output_activation)
    return rows, m, n


def value_range(source):
    """``(min, max)`` of a training source's values: an array, a row source (chunk by chunk)
    or a Dask array (on the cluster)."""
    if in_memory(source):
        return float(source.min()), float(source.max())
    if is_dask_array(source):
        import dask

        lo, hi = dask.compute(source.min(), source.max())
        return float(lo), float(hi)
    m, n = source.shape
    lo, hi, step = np.inf, -np.inf, chunk_rows(m, n)
    for start in range(0, m, step):
        chunk = source.rows(start, start + step)
        lo, hi = min(lo, float(np.min(chunk))), max(hi, float(np.max(chunk)))
    return lo, hi


def chunk_rows(m, n, width=0):
    """Rows per chunk so that the data, activations and δs of a chunk of a network n → width → n
    take about CHUNK_BYTES."""
    per_row = 8 * (n + 2 * (n + width))
    return int(max(256, min(m, CHUNK_BYTES // per_row)))


def minibatches(source, batch, rng, targets=None):
    """One epoch's minibatches ``(x, y)`` of ``batch`` rows, in a random order drawn from
    ``rng``; ``y`` the same rows of ``targets`` (an array), or None without targets.

    In memory the rows are shuffled too (each minibatch a random sample, kept in row order);
    from a file, each minibatch is a run of consecutive rows, so it is one read.
    """
    rows = ArrayRows(source) if in_memory(source) else source
    m = len(rows)
    starts = np.arange(0, m, batch)
    rng.shuffle(starts)
    order = rng.permutation(m) if isinstance(rows, ArrayRows) else None
    rows.check_unchanged()
    for start in starts:
        if order is not None:
            index = np.sort(order[start : start + batch])
            yield rows.X[index], None if targets is None else targets[index]
        else:
            y = None if targets is None else targets[start : start + batch]
            yield rows.rows(start, start + batch), y


def row_chunks(X, batch_size, name="X"):
    """``(start, rows)`` over X in chunks of ``batch_size``, each checked by ``as_float_matrix``
    (errors name the global row): an array or memmap (sliced), a ``.npy`` path or a row source
    such as a folder of shards (read a chunk at a time), or a Dask array (its chunks brought to
    this process one by one)."""
    if is_dask_array(X):
        X = X.rechunk({0: batch_size, 1: -1})
        starts = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]])
        for start, block in zip(starts, X.blocks):
            yield int(start), as_float_matrix(np.asarray(block.compute()), name, row_offset=int(start))
        return
    rows = as_rows(X) if isinstance(X, (str, os.PathLike)) else X if isinstance(X, RowSource) else None
    if rows is None and not hasattr(X, "shape"):
        X = as_float_matrix(X, name)
    m = rows.shape[0] if rows is not None else X.shape[0]
    for start in range(0, m, batch_size):
        chunk = rows.rows(start, start + batch_size) if rows is not None else X[start : start + batch_size]
        yield start, as_float_matrix(chunk, name, row_offset=start)
