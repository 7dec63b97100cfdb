"""Threads for the objective: BLAS single-threaded, the rows split over the cores by sparseae.

NumPy and SciPy each load an OpenBLAS whose idle threads spin after a call and steal the cores
from each other and from the elementwise work. So during a fit BLAS runs single-threaded
(:func:`single_threaded_blas`; PyTorch's too, when its products or kernels are borrowed), and
the objective spreads its work over the cores itself,
coarsely: :func:`over_rows` gives each core one range of rows for a whole pass (the pool wakes
twice an evaluation, not once per product), walked in :func:`blocks` of a few MiB (bounded
memory, yet big enough that the NumPy calls cost little next to the arithmetic). NumPy and BLAS
release the GIL, so Python threads suffice. The measurements are in benchmarks/RESULTS.md.
"""

import contextlib
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, wait

from threadpoolctl import ThreadpoolController

#: Below this many rows per core, a pass runs in the calling thread alone.
MIN_ROWS_PER_CORE = 512
#: Bytes of one block's buffers in float64 (its rows of every layer's activations and δ, and X):
#: enough that a narrow network's range of rows is one block. Each block costs a few dozen calls,
#: and with two or more threads each call hands the GIL over: on the notes' exercise (2 cores,
#: 5,000 rows a core) 4 MiB blocks took 7.7 ms an evaluation with NumPy's kernels and 8.3 ms with
#: PyTorch's borrowed ones, 16 MiB blocks 6.8 and 5.6 ms (benchmarks/RESULTS.md, issue 26).
BLOCK_BYTES = 1 << 24
#: The fewest rows in a block, so that the block's products stay efficient in BLAS.
MIN_BLOCK_ROWS = 1024

_pool = None
_controller = None
_depth = 0  # how deep inside single_threaded_blas the process is
_worker = threading.local()  # a pool thread's ``pinned``: the torch module it has set to one thread


def n_cores():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _threads():
    """The one thread pool, one worker per core beyond the calling thread, made on first use."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max(1, n_cores() - 1), thread_name_prefix="sparseae")
    return _pool


@contextlib.contextmanager
def single_threaded_blas():
    """A context in which every loaded BLAS runs one thread (around a whole fit). Re-entered
    inside itself (an evaluation inside a fit) it does nothing: asking threadpoolctl again for
    every minibatch cost a tenth of Adam's time on the notes' exercise."""
    global _controller, _depth
    if _depth:
        _depth += 1
        try:
            yield
        finally:
            _depth -= 1
        return
    if _controller is None:
        _controller = ThreadpoolController()
    from .kernels import torch_module

    torch = torch_module()  # PyTorch's BLAS (MKL, in its CPU wheel) is not one threadpoolctl sees
    threads = torch.get_num_threads() if torch else None
    with _controller.limit(limits=1, user_api="blas"):
        _depth += 1
        if torch:
            torch.set_num_threads(1)
        try:
            yield
        finally:
            _depth -= 1
            if torch:
                torch.set_num_threads(threads)


def row_ranges(m, parallel=True):
    """[lo, hi) ranges covering m rows: one per core, or one in all for small m (or serial)."""
    if not parallel or m < 2 * MIN_ROWS_PER_CORE:  # (an Adam minibatch: skip asking the OS)
        return [(0, m)]
    parts = max(1, min(n_cores(), m // MIN_ROWS_PER_CORE))
    return [(m * k // parts, m * (k + 1) // parts) for k in range(parts)]


def over_rows(fn, ranges):
    """``[fn(i, lo, hi) for i, (lo, hi) in enumerate(ranges)]``, the ranges run in parallel.

    The calling thread runs the first range itself, so a pass wakes one thread fewer. Returns
    only when every range has finished.
    """
    if len(ranges) == 1:
        return [fn(0, *ranges[0])]
    futures = [_threads().submit(_in_worker, fn, i, lo, hi) for i, (lo, hi) in enumerate(ranges) if i]
    try:
        first = fn(0, *ranges[0])
    finally:
        # Even when the calling thread's range raised (Ctrl-C included), no range may still be
        # writing into the shared buffers when this returns.
        wait(futures)
    return [first] + [f.result() for f in futures]


def _in_worker(fn, i, lo, hi):
    """``fn(i, lo, hi)`` in a pool thread whose PyTorch computes in that thread alone during a fit.

    ``torch.set_num_threads`` in :func:`single_threaded_blas` sets the calling thread's OpenMP
    count, which MKL follows; a pool thread keeps the count it first had, which depended on what
    the process had run before (2 after some histories, 1 after others), and MKL's product with two
    threads adds in another order: the same fit gave other bits (a run resumed in a fresh process
    differed from the whole one). So each pool thread sets its own count to 1, once, inside a fit
    (where the process-wide count is 1 already, so nothing else changes)."""
    torch = sys.modules.get("torch")
    if _depth and torch is not None and getattr(_worker, "pinned", None) is not torch:
        torch.set_num_threads(1)
        _worker.pinned = torch
    return fn(i, lo, hi)


def block_rows(width):
    """Rows per block when each example has ``width`` values in the block's buffers (counted
    as float64: a float32 block has the same rows in half the bytes)."""
    return max(MIN_BLOCK_ROWS, BLOCK_BYTES // max(1, width * 8))


def blocks(lo, hi, step):
    """``(start, stop)`` blocks of at most ``step`` rows covering [lo, hi)."""
    for start in range(lo, hi, step):
        yield start, min(hi, start + step)
