r"""A TopK or BatchTopK autoencoder's evaluation at the cost of k: the decoder's products on the
sparse code.

With TopK, each row of the code a(2) has at most k non-zero values among s_2 units (with
BatchTopK, k on average over the rows), so of the five
products of one evaluation only the encoder's forward one, X W(1)ᵀ, needs every unit. The others
use a(2) as a sparse matrix A (rows of at most k values, scipy's CSR):

.. math::

    h = f_{\text{out}}(A\, W^{(2)T} + b^{(2)}), \qquad
    \nabla_{W^{(2)}} \mathrel{+}= (A^T \delta^{(3)})^T, \\
    \delta^{(2)}_{ij} = \big(\delta^{(3)}_i \cdot W^{(2)}_{:,j}\big)\, f'(z^{(2)}_{ij})
        \text{ only where } a_{ij} \ne 0, \qquad
    \nabla_{W^{(1)}} \mathrel{+}= \Delta^T X, \quad \nabla_{b^{(1)}} \mathrel{+}= \textstyle\sum_i \Delta_{i,:}

(Δ the sparse δ(2) on A's pattern) — each m·k·n, not m·s_2·n. It is the dense backpropagation of
:mod:`sparseae.backprop` exactly, not an approximation: where a_ij = 0 the dense δ(2) is 0 too,
since TopK needs an activation whose f' is 0 at its floor (f'(0) = 0 for the ReLU as
:mod:`sparseae.activations` defines it, a(1 - a) = 0 for the sigmoid) and BatchTopK's gate passes
δ only where a_ij ≠ 0, and the sums are the same sums in another order (equal to rounding).
:class:`~sparseae.passes.RowPasses` uses it for a three-layer TopK or BatchTopK autoencoder on
NumPy whose density k/s_2 is at most :data:`MAX_DENSITY`.
"""

import numpy as np
from scipy import sparse

from . import backprop
from .engine import kernels

#: The largest k / s_2 at which the sparse products are used, measured (benchmarks/RESULTS.md, "The
#: sparse code's crossover"; one Adam epoch, float32, Intel Xeon): at 32 / 16,384 they are 5-10x
#: faster than the dense ones, at 32 / 3,072 1.2x and at 8 / 3,072 1.4x (384-wide rows); at 32 /
#: 1,024 the same; at 8 / 256 the dense ones 1.06x faster and at 32 / 256 1.6x (784-wide MNIST
#: digits in minibatches of 100, where 1/8 had made TopK's fit 5.3 s against 3.3 s).
MAX_DENSITY = 1 / 48
#: Non-zeros whose δ(2) is formed at once (their δ(3) rows and W(2) columns gathered).
GATHER = 2048


def applies(layout, penalty, nested, aux, backend, top_k):
    """Whether an evaluation can take the sparse path: a TopK or BatchTopK autoencoder
    [n, s_2, n] (no Matryoshka prefixes, no AuxK) on NumPy, with k / s_2 ≤ MAX_DENSITY."""
    sizes = layout.layer_sizes
    selects = penalty.select is not None or penalty.batch_k
    return (len(sizes) == 3 and selects and nested is None and aux is None
            and backend.xp is np and top_k is not None and top_k <= MAX_DENSITY * sizes[1])


def _code(a, k):
    """a(2) as a CSR matrix: k values a row (TopK leaves at most k non-zero; a kept value may
    be 0, which adds nothing), or with ``k=None`` (BatchTopK) each row's non-zero values."""
    if k is None:  # the non-zero values in row-major order, found through a mask (10x faster than on a)
        width = a.shape[1]
        flat = np.flatnonzero(a != 0)
        indptr = np.zeros(a.shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(flat // width, minlength=a.shape[0]), out=indptr[1:])
        return sparse.csr_matrix((a.reshape(-1)[flat], flat % width, indptr), shape=a.shape)
    units = np.sort(kernels.top_k_indices(a, k), axis=1)
    values = np.take_along_axis(a, units, axis=1)
    indptr = np.arange(0, units.size + 1, k)
    return sparse.csr_matrix((values.reshape(-1), units.reshape(-1), indptr), shape=a.shape)


def decoder_rows(Ws):
    """W(2)ᵀ as a C-contiguous (s_2, n) array, made once an evaluation and shared by its blocks:
    the rows that the kept units gather, and the decoder's product, read it row by row (from the
    strided view W(2).T the gather is several times slower)."""
    return np.ascontiguousarray(Ws[1].T)


def backpropagate(Ws, bs, X, a, y, m, f, f_out, loss, backend, grads, out, delta, k, W2T=None):
    r"""Pass 2 of a block of inputs ``X`` whose code ``a`` (rows x s_2, TopK-selected: ``k`` a row, or
    BatchTopK's, gated: ``k=None``) is known,
    targets ``y``: the output in ``out`` (a rows x n buffer), δ(3) in ``delta``, the gradient
    added into ``grads`` (``(Ws, bs)`` views); returns the block's Σ loss. ``a`` is unchanged.
    ``W2T``: :func:`decoder_rows` of ``Ws``, when the caller has it."""
    (_, b2) = bs
    W2T = decoder_rows(Ws) if W2T is None else W2T
    (gW1, gW2), (gb1, gb2) = grads
    code = _code(a, k)  # the kept values and their units, row by row
    out[...] = code @ W2T  # A W(2)ᵀ: (rows, n)
    value = backprop.output_delta(out, y, delta, m, f_out, loss, backend, gb2, (b2,))  # f(z(3)), δ(3), Σ_i δ(3)
    gW2 += (code.T @ delta).T  # δ(3)ᵀ A: (n, s_2)
    rows = np.repeat(np.arange(code.shape[0]), np.diff(code.indptr))
    units, kept = code.indices, code.data
    d2 = np.empty_like(kept)
    for start in range(0, len(kept), GATHER):
        part = slice(start, start + GATHER)
        d2[part] = np.einsum("ij,ij->i", delta[rows[part]], W2T[units[part]])  # W(2)ᵀ δ(3) at the kept units
    backend.derivative(f, kept.copy(), d2)  # ⊙ f'(z(2)), from a(2)
    spread = sparse.csr_matrix((d2, units, code.indptr), shape=code.shape)  # Δ, on A's pattern
    gW1 += spread.T @ X  # Δᵀ X: (s_2, n)
    gb1 += np.bincount(units, weights=d2, minlength=code.shape[1]).astype(gb1.dtype, copy=False)
    return value
