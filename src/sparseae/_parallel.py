"""Threads for the objective: BLAS's, and row blocks for the elementwise work.

Two OpenBLAS libraries are loaded, NumPy's and SciPy's (which L-BFGS-B uses for its own vector
work). Left at their defaults, each keeps its threads spinning after a call, and they steal the
cores from each other and from the elementwise work: measured here on 2 cores, an L-BFGS fit of
the notes' exercise had 100 ms stalls and ran at half speed. So a fit runs with every BLAS at
one thread (:func:`single_threaded_blas`), and the objective raises NumPy's BLAS to all cores
only around an evaluation whose products are large enough to gain from them
(:func:`blas_threads`): the exercise's products (10,000 x 64 x 25) are not, MNIST-sized ones
(10,000 x 784 x 196) are.

The elementwise work (the sigmoid's exp above all) is single-threaded in NumPy, and on the
exercise it costs more than the matrix products. NumPy releases the GIL inside ufuncs, so
:func:`map_rows` splits an array's rows into one block per core and runs the same function on
each block in a thread pool.
"""

import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import numpy as np
from threadpoolctl import ThreadpoolController

#: Below this many multiply-adds per matrix product, BLAS runs single-threaded.
SMALL_PRODUCT = 5e7
#: Below this many elements, an elementwise step runs in the calling thread.
SMALL_ELEMENTWISE = 1 << 16

_pool = None
_controller = None


def n_cores():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _blas():
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller


def single_threaded_blas():
    """A context in which every loaded BLAS runs one thread (around a whole fit)."""
    return _blas().limit(limits=1, user_api="blas")


def blas_threads(m, layer_sizes):
    """A context giving BLAS every core when the largest product is large, else a no-op."""
    largest = max(a * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:])) * m
    if largest < SMALL_PRODUCT:
        return nullcontext()
    return _blas().limit(limits=n_cores(), user_api="blas")


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
