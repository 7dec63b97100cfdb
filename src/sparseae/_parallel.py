"""Threads for the objective: BLAS's, and row blocks for the elementwise work.

Two OpenBLAS libraries are loaded, NumPy's and SciPy's (which L-BFGS-B uses for its own vector
work). Left at their defaults, each keeps its threads spinning for a while after a call, and
they steal the cores from each other and from the elementwise work: measured here on 2 cores,
an L-BFGS fit of the notes' exercise had 100 ms stalls and ran at half speed, and on MNIST-sized
data the elementwise steps ran 3x slower right after a multi-threaded product. So BLAS always
runs single-threaded in the calling thread (:func:`single_threaded_blas`), and sparseae spreads
the work over the cores itself: :func:`matmul` and :func:`matmul_tn` split a product's rows
over a thread pool (the backward products' partial sums are added up), and :func:`map_rows`
does the same for the elementwise steps.

The elementwise work (the sigmoid's exp above all) is single-threaded in NumPy, and on the
exercise it costs more than the matrix products. NumPy releases the GIL inside ufuncs, so
:func:`map_rows` splits an array's rows into one range per core and runs the same function in a
thread pool; each thread walks its range in blocks of about BLOCK_ELEMENTS values, so that
the several elementwise steps of one function (add the bias, apply f; or multiply by f'(z)
in two steps) run on a block that is still in the core's cache instead of streaming the whole
array through memory once per step.
"""

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import ThreadpoolController

#: Below this many multiply-adds, a matrix product runs in the calling thread alone.
SMALL_PRODUCT = 1e6
#: Below this many elements, an elementwise step runs in the calling thread.
SMALL_ELEMENTWISE = 1 << 16
#: Values per cache block (256 KiB of float64).
BLOCK_ELEMENTS = 1 << 15

_pool = None
_controller = None


def n_cores():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _threads():
    """The one thread pool, one worker per core, made on first use."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(n_cores(), thread_name_prefix="sparseae")
    return _pool


def _blas():
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller


def single_threaded_blas():
    """A context in which every loaded BLAS runs one thread (around a whole fit)."""
    return _blas().limit(limits=1, user_api="blas")





def map_rows(fn, *arrays):
    """``fn(*blocks)`` on row blocks of equally tall arrays, in parallel; the results as a list.

    Arrays of other kinds than NumPy's (PyTorch tensors) and small arrays are passed whole.
    """
    first = arrays[0]
    cores = n_cores()
    if not isinstance(first, np.ndarray) or first.size < SMALL_ELEMENTWISE:
        return [fn(*arrays)]
    m = first.shape[0]
    step = max(1, BLOCK_ELEMENTS // max(1, first.shape[1] if first.ndim == 2 else 1))

    def run(lo, hi):
        out = []
        for start in range(lo, hi, step):
            stop = min(hi, start + step)
            out.append(fn(*[a[start:stop] if _is_rows(a, m) else a for a in arrays]))
        return out

    if cores < 2:
        return run(0, m)
    bounds = [m * k // cores for k in range(cores + 1)]
    results = _threads().map(lambda b: run(*b), zip(bounds[:-1], bounds[1:]))
    return [r for part in results for r in part]


def _is_rows(a, m):
    return getattr(a, "ndim", 0) == 2 and a.shape[0] == m


def _split(m):
    cores = n_cores()
    return [(m * k // cores, m * (k + 1) // cores) for k in range(cores)]


def _parallel_worth_it(a, b):
    return (
        isinstance(a, np.ndarray)
        and n_cores() > 1
        and a.shape[0] * a.shape[1] * b.shape[-1] >= SMALL_PRODUCT
    )


def matmul(a, b, out):
    """out = a @ b, the rows of a split over the cores, each part on single-threaded BLAS."""
    if not _parallel_worth_it(a, b):
        return np.matmul(a, b, out=out) if isinstance(out, np.ndarray) else _torch_matmul(a, b, out)
    list(_threads().map(lambda r: np.matmul(a[r[0] : r[1]], b, out=out[r[0] : r[1]]), _split(a.shape[0])))
    return out


def matmul_tn(a, b, out, accumulate=False):
    """out = aᵀ b (or out += aᵀ b): a sum over rows, split over the cores and added up."""
    if not _parallel_worth_it(a, b):
        if not isinstance(out, np.ndarray):
            return _torch_matmul(a.T, b, out, accumulate)
        if accumulate:
            out += a.T @ b
        else:
            np.matmul(a.T, b, out=out)
        return out
    parts = list(_threads().map(lambda r: a[r[0] : r[1]].T @ b[r[0] : r[1]], _split(a.shape[0])))
    if accumulate:
        out += parts[0]
    else:
        out[...] = parts[0]
    for part in parts[1:]:
        out += part
    return out


def _torch_matmul(a, b, out, accumulate=False):
    import torch

    if accumulate:
        out += a @ b
    else:
        torch.matmul(a, b, out=out)
    return out
