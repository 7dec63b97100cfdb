"""How many BLAS threads an evaluation of J_sparse should use.

On small problems (the notes' exercise: 10,000 x 64 -> 25) each matrix product takes about a
millisecond, and waking a second BLAS thread for it costs more than it saves: measured here on
2 cores, one evaluation drops from 33 ms to 31 ms median, and the L-BFGS fit from 3.7 s to
2.0 s per 60 iterations because the multi-threaded run has 100 ms stalls. Larger products
(10,000 x 784 -> 196 and up) gain from every core.
"""

from contextlib import nullcontext

from threadpoolctl import threadpool_limits

#: Below this many multiply-adds per matrix product, BLAS runs single-threaded.
SMALL_PRODUCT = 5e7


def blas_threads(m, layer_sizes):
    """A context limiting BLAS to one thread when the largest product is small, else a no-op."""
    largest = max(a * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:])) * m
    return threadpool_limits(1, user_api="blas") if largest < SMALL_PRODUCT else nullcontext()
