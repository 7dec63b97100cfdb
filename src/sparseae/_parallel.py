"""Threads for the objective: BLAS's, and row blocks for the elementwise work.

On small problems (the notes' exercise: 10,000 x 64 -> 25) each matrix product takes about a
millisecond, and waking a second BLAS thread for it costs more than it saves: measured here on
2 cores, the L-BFGS fit went from 3.7 s to 2.0 s per 60 iterations single-threaded, because the
multi-threaded run had 100 ms stalls. Larger products (10,000 x 784 -> 196 and up) gain from
every core.

The elementwise work (the sigmoid's exp above all) is single-threaded in NumPy, and on the
exercise it costs more than the matrix products. NumPy releases the GIL inside ufuncs, so
:func:`map_rows` splits an array's rows into one block per core and runs the same function on
each block in a thread pool.
"""

import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import numpy as np
from threadpoolctl import threadpool_limits

#: Below this many multiply-adds per matrix product, BLAS runs single-threaded.
SMALL_PRODUCT = 5e7
#: Below this many elements, an elementwise step runs in the calling thread.
SMALL_ELEMENTWISE = 1 << 16

_pool = None


def n_cores():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def blas_threads(m, layer_sizes):
    """A context limiting BLAS to one thread when the largest product is small, else a no-op."""
    largest = max(a * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:])) * m
    return threadpool_limits(1, user_api="blas") if largest < SMALL_PRODUCT else nullcontext()


def map_rows(fn, *arrays):
    """``fn(*blocks)`` on row blocks of equally tall arrays, in parallel; the results as a list.

    Arrays of other kinds than NumPy's (PyTorch tensors) and small arrays are passed whole.
    """
    global _pool
    first = arrays[0]
    cores = n_cores()
    if cores < 2 or not isinstance(first, np.ndarray) or first.size < SMALL_ELEMENTWISE:
        return [fn(*arrays)]
    if _pool is None:
        _pool = ThreadPoolExecutor(cores, thread_name_prefix="sparseae")
    m = first.shape[0]
    bounds = [m * k // cores for k in range(cores + 1)]
    blocks = [
        [a[lo:hi] if getattr(a, "ndim", 0) == 2 and a.shape[0] == m else a for a in arrays]
        for lo, hi in zip(bounds[:-1], bounds[1:])
    ]
    return list(_pool.map(lambda args: fn(*args), blocks))
