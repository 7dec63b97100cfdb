"""The two passes over the examples that one evaluation of J_sparse makes (notes §2.2, §3).

Pass 1, :meth:`Passes.hidden_sums`: the forward pass up to the sparse layer k, summing its
activations over the examples (ρ̂ needs all of them before any δ can be formed).

Pass 2, :meth:`Passes.backpropagate`: for each block of examples, the forward pass through the
remaining layers, then backpropagation with ρ̂ known,

.. math:: \\delta^{(n_l)} = (a^{(n_l)} - y) \\odot f'(z^{(n_l)}) / m, \\qquad
          \\delta^{(l)} = \\big( (W^{(l)})^T \\delta^{(l+1)} + [l = k]\\,\\beta\\,
          \\mathrm{KL}'(\\hat\\rho) \\big) \\odot f'(z^{(l)}),

    \\nabla_{W^{(l)}} \\mathrel{+}= \\delta^{(l+1)} (a^{(l)})^T, \\qquad
    \\nabla_{b^{(l)}} \\mathrel{+}= \\textstyle\\sum \\delta^{(l+1)}

(written with examples as rows, so the products appear transposed in the code).

When the data is in memory, pass 1 keeps a(2) .. a(k) and pass 2 starts from them, so nothing
is computed twice (the notes' in-memory method); when it is not (chunks of a file, a Dask
chunk), pass 2 recomputes them (the notes' two-pass method). Either way the layers above k and
every δ exist only for one block of rows at a time, in buffers reused across evaluations.

On NumPy the examples are split into one range per core (:func:`~sparseae._parallel.over_rows`)
and each range is walked in blocks of about 4 MiB (at least 1,024 rows: small enough to bound the
buffers, big enough that a block's NumPy calls cost little next to its arithmetic); each range
adds into its own gradient buffer, and the buffers are added up in a fixed order, so the result
does not depend on thread timing. On PyTorch a pass is one block of all the rows (PyTorch
spreads its own work).
"""

import numpy as np

from ._parallel import block_rows, blocks, over_rows, row_ranges
from .activations import DERIVATIVES, torch_kernels
from .network import forward, matmul_into


class Passes:
    """Buffers and passes for batches of at most ``rows`` examples.

    Parameters
    ----------
    layout : Layout
    backend : NumpyBackend or TorchBackend
    activation, output_activation : str
    sparse_layer : int or None
        k, whose activations pass 1 sums; None when there is no sparsity term (then pass 2
        alone makes the whole evaluation).
    rows : int
        The most examples one pass sees.
    """

    def __init__(self, layout, backend, activation, output_activation, sparse_layer, rows):
        self.layout, self.backend, self.xp = layout, backend, backend.xp
        self.activation, self.output_activation = activation, output_activation
        self.sparse_layer = sparse_layer
        self.kept_layers = sparse_layer or 1
        sizes = layout.layer_sizes
        self.parallel = backend.name == "numpy"
        # The same rows per block in float32 as in float64, so float32 halves the buffers too.
        self.block = min(rows, block_rows(2 * sum(sizes[1:]) + sizes[0])) if self.parallel else rows
        self.kept = [backend.empty((rows, s)) for s in sizes[1 : self.kept_layers]]
        self._scratch = {}
        if self.parallel:  # column sums as a product with ones: BLAS is faster than np.sum here
            self._ones = np.ones(self.block, dtype=backend.dtype)
            torch_kernels()  # look for PyTorch's kernels here, not first in a worker thread

    def _column_sums(self, x):
        if self.parallel:
            return self._ones[: x.shape[0]] @ x
        return self.xp.sum(x, axis=0)

    def _ranges(self, m):
        return row_ranges(m, self.parallel)

    def _workspace(self, i):
        """Range i's block buffers: a(l) and δ(l) for l ≥ 2, and its share of the gradient."""
        if i not in self._scratch:
            sizes = self.layout.layer_sizes[1:]
            self._scratch[i] = {
                "a": [self.backend.empty((self.block, s)) for s in sizes],
                "delta": [self.backend.empty((self.block, s)) for s in sizes],
                "grad": self.backend.empty((self.layout.size,)),
            }
            self._scratch[i]["grad"][...] = 0
        return self._scratch[i]

    # -- pass 1 ------------------------------------------------------------------------------

    def hidden_sums(self, Ws, bs, X):
        """a(2) .. a(k) of X's rows into the kept buffers; Σ over the rows of a(k) (host float64)."""
        k = self.kept_layers
        act = (self.activation, self.output_activation)

        def run(i, lo, hi):
            total = np.zeros(self.layout.layer_sizes[k - 1])
            for start, stop in blocks(lo, hi, self.block):
                out = [buffer[start:stop] for buffer in self.kept]
                a = forward(Ws, bs, X[start:stop], *act, n_layers=k, out=out)
                total += self.backend.to_host(self._column_sums(a[-1]))
            return total

        return np.sum(over_rows(run, self._ranges(X.shape[0])), axis=0)

    # -- pass 2 ------------------------------------------------------------------------------

    def zero_gradient(self):
        for workspace in self._scratch.values():
            workspace["grad"][...] = 0

    def gradient(self):
        """The gradient added up since :meth:`zero_gradient`, as a new host float64 array."""
        parts = [self._scratch[i]["grad"] for i in sorted(self._scratch)]
        total = self.backend.to_host(parts[0])
        for part in parts[1:]:
            total += self.backend.to_host(part)
        return total

    def backpropagate(self, Ws, bs, X, Y, m, sparsity_delta, kept):
        """Pass 2 over X's rows (targets Y); returns their Σ ½‖h(x) - y‖².

        Adds their share of the gradient of the squared error and sparsity terms (every δ
        divided by m, the examples of the whole objective) to the gradient buffers.
        ``kept``: whether pass 1 has just put these rows' a(2) .. a(k) in the kept buffers.
        """
        k = self.kept_layers if kept else 1
        act = (self.activation, self.output_activation)

        def run(i, lo, hi):
            workspace = self._workspace(i)
            gWs, gbs = self.layout.unpack(workspace["grad"])
            sse = 0.0
            for start, stop in blocks(lo, hi, self.block):
                n = stop - start
                a = [X[start:stop]] + [buffer[start:stop] for buffer in self.kept[: k - 1]]
                a += forward(Ws[k - 1 :], bs[k - 1 :], a[-1], *act, out=workspace["a"][k - 1 :])[1:]
                deltas = [delta[:n] for delta in workspace["delta"]]
                sse += self._backpropagate_block(Ws, a, Y[start:stop], m, sparsity_delta, gWs, gbs, deltas)
            return sse

        return sum(over_rows(run, self._ranges(X.shape[0])))

    def _backpropagate_block(self, Ws, a, y, m, sparsity_delta, gWs, gbs, deltas):
        xp = self.xp
        delta = deltas[-1]
        xp.subtract(a[-1], y, out=delta)
        sse = self.backend.scalar(xp.vdot(delta.reshape(-1), delta.reshape(-1)))
        delta *= 1.0 / m
        DERIVATIVES[self.output_activation](a[-1], delta)
        for l in range(len(Ws) - 1, -1, -1):
            gWs[l] += delta.T @ a[l]  # δ(l+1)ᵀ a(l): (s_{l+1}, s_l)
            gbs[l] += self._column_sums(delta)
            if l == 0:
                break
            previous = deltas[l - 1]
            matmul_into(delta, Ws[l], previous)  # (W(l))ᵀ δ(l+1), one row per example
            if sparsity_delta is not None and l == self.sparse_layer - 1:
                previous += sparsity_delta
            DERIVATIVES[self.activation](a[l], previous)
            delta = previous
        return sse
