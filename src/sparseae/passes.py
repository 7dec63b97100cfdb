"""The two passes of :mod:`sparseae.backprop` over many rows: buffers, blocks, cores.

When the rows are in memory, pass 1 keeps a(2) .. a(k) and pass 2 starts from them (the notes'
in-memory method); otherwise pass 2 recomputes them (the two-pass method). Either way the layers
above k and every δ exist for one block of rows at a time, in buffers reused across evaluations.
The backend splits the rows into ranges (one per core on NumPy) and sizes the blocks; each range
adds into its own gradient buffer, summed in a fixed order, so threads do not change the result.
"""

import numpy as np

from . import backprop, sparse_code
from .auxk import aux_term
from .batchtopk import keep_largest
from .engine.parallel import blocks
from .engine.vectors import on_host as is_host_array
from .jumprelu import Record


class RowPasses:
    """Buffers and passes for batches of at most ``rows`` examples of a network with ``layout``,
    activations ``f`` and ``f_out`` and ``loss``; ``sparse_layer`` (k) is the layer whose activations pass 1
    sums (None without a sparsity term: then pass 2 alone is the whole evaluation).
    """

    def __init__(self, layout, backend, f, f_out, loss, sparse_layer, rows, select=None, nested=None,
                 sparse_code=False, top_k=None):
        self.layout, self.backend = layout, backend
        self.top_k = top_k  # TopK's k, for the sparse code
        self.sparse_code = sparse_code  # pass 2 on the sparse code (:mod:`sparseae.sparse_code`)
        self.nested = nested  # a Matryoshka autoencoder's prefix widths, or None
        self.f, self.f_out, self.loss, self.sparse_layer = f, f_out, loss, sparse_layer
        self.select = select  # fn(a) changing a(k) in place (TopK), or None
        self.kept_layers = sparse_layer or 1
        sizes = layout.layer_sizes
        # Each row of a block holds its a(l) and δ(l) for l ≥ 2, and its x.
        self.block = backend.block_rows(2 * sum(sizes[1:]) + sizes[0], rows)
        self.kept = [backend.empty((rows, s)) for s in sizes[1 : self.kept_layers]]
        self.rows, self._selected = rows, None  # BatchTopK's a(2) from its selection pass, for pass 2
        self._scratch = {}
        backend.prepare([f, f_out])

    def _workspace(self, i):
        """Range i's block buffers: a(l) and δ(l) for l ≥ 2, and its share of the gradient."""
        if i not in self._scratch:
            sizes = self.layout.layer_sizes[1:]
            grad = self.backend.zeros((self.layout.size,))
            self._scratch[i] = {
                "a": [self.backend.empty((self.block, s)) for s in sizes],
                "delta": [self.backend.empty((self.block, s)) for s in sizes],
                "grad": grad,
                "grads": self.layout.unpack(grad),  # its views ∇W(l), ∇b(l), made once
            }
        return self._scratch[i]

    def _over_rows(self, run, m):
        return self.backend.over_rows(run, self.backend.row_ranges(m))

    def hidden_sums(self, Ws, bs, X):
        """Pass 1: a(2) .. a(k) of X's rows into the kept buffers; Σ of a(k) (host float64)."""
        k = self.kept_layers

        def run(i, lo, hi):
            total = np.zeros(self.layout.layer_sizes[k - 1])
            for start, stop in blocks(lo, hi, self.block):
                out = [buffer[start:stop] for buffer in self.kept]
                rows = X[start:stop]
                block_sum = backprop.hidden_sums(Ws, bs, rows, self.f, self.f_out, k, self.backend, out,
                                                 self._select_at(1))
                total += self.backend.to_host(block_sum)
            return total

        parts = self._over_rows(run, X.shape[0])
        return parts[0] if len(parts) == 1 else np.sum(parts, axis=0)

    def largest(self, Ws, bs, X, layer, count, keep=False):
        """The selection pass of BatchTopK: the ``count`` largest a(layer) of X's rows (a host
        float64 vector; all of them when fewer), exact whatever the blocks and cores, and each
        unit's largest a(layer) over the rows (host; for which units the selection keeps).

        ``keep``: a(2) of X's rows stays in a buffer of the chunk's size, and the next
        :meth:`backpropagate` of the same rows with ``kept=True`` on the sparse code gates it
        instead of computing it again (one product X W(1)ᵀ fewer)."""
        if keep and self._selected is None:
            self._selected = self.backend.empty((self.rows, self.layout.layer_sizes[1]))

        def run(i, lo, hi):
            out = self._workspace(i)["a"]
            best, top = np.zeros(0), np.full(self.layout.layer_sizes[layer - 1], -np.inf)
            for start, stop in blocks(lo, hi, self.block):
                a = backprop.forward(Ws, bs, X[start:stop], self.f, self.f_out, self.backend, n_layers=layer,
                                     out=[self._selected[start:stop]] if keep else out)[-1]
                top = np.maximum(top, self.backend.to_host(self.backend.column_max(a)))
                if best.size == count:  # only values ≥ the count-th largest so far can be among the count largest
                    a = a[a >= best.min()]
                best = keep_largest(np.concatenate([best, self.backend.largest(a, count)]), count)
            return best, top

        parts = self._over_rows(run, X.shape[0])
        return (keep_largest(np.concatenate([p[0] for p in parts]), count),
                np.max([p[1] for p in parts], axis=0))

    def _select_at(self, first):
        """``select`` for a forward pass that starts from layer ``first``: a(k) counted from there;
        None when a(k) is its input (selected already) or there is no selection."""
        if self.select is None or self.sparse_layer - first + 1 < 2:
            return None
        return (self.sparse_layer - first + 1, self.select)

    def _sparse_block(self, workspace, Ws, bs, x, y, m, k, start, stop, gate, kept, decoder):
        """Pass 2 of one block on the sparse code: a(2) from the kept buffer (or from BatchTopK's
        selection pass when ``kept``, through its ``gate``; or computed), then
        :func:`sparseae.sparse_code.backpropagate` (``decoder``: its W(2)ᵀ rows)."""
        rows = stop - start
        if k >= 2:
            a = self.kept[0][start:stop]
        elif gate is not None and kept:  # BatchTopK's a(2), left by its selection pass: gated in place
            a = gate[1](self._selected[start:stop], None)
        else:
            a = backprop.forward(Ws, bs, x, self.f, self.f_out, self.backend, n_layers=2, out=workspace["a"],
                                 select=self._select_at(1), gate=gate)[-1]
        out, delta = workspace["a"][1][:rows], workspace["delta"][1][:rows]
        value = sparse_code.backpropagate(Ws, bs, x, a, y, m, self.f, self.f_out, self.loss, self.backend,
                                          workspace["grads"], out, delta, None if gate else self.top_k, decoder)
        return self.backend.scalar(value)

    def zero_gradient(self):
        for workspace in self._scratch.values():
            workspace["grad"][...] = 0
            workspace["aux"] = 0.0
            if "record" in workspace:
                workspace["record"].zero()

    def _record(self, workspace, layer):
        """The workspace's :class:`~sparseae.jumprelu.Record` for thresholded layer ``layer``."""
        if "record" not in workspace:
            units = self.layout.layer_sizes[layer - 1]
            workspace["record"] = Record(self.backend, self.block, units,
                                         self.layout.log_thresholds(workspace["grad"]))  # None: BatchTopK
        return workspace["record"]

    def aux_sum(self):
        """The AuxK term's sum over the rows of the passes since :meth:`zero_gradient` (host float)."""
        return sum(self.backend.scalar(self._scratch[i].get("aux", 0.0)) for i in sorted(self._scratch))

    def gate_sums(self):
        """Σ H(z - θ) and Σ a over the rows of the passes since :meth:`zero_gradient`, per unit of
        the thresholded layer (host float64, added in the workers' order)."""
        records = [self._scratch[i]["record"] for i in sorted(self._scratch) if "record" in self._scratch[i]]
        return sum(r.counts for r in records), sum(r.sums for r in records)

    def gradient(self, on_host=True, dtype=np.float64):
        """The gradient added up since :meth:`zero_gradient`, as a new vector: a host array in
        ``dtype`` (float64, or θ's float32), or (``on_host=False``) a float64 one in the backend's
        ``vectors``."""
        parts = [self._scratch[i]["grad"] for i in sorted(self._scratch)]
        if on_host and dtype != np.float64:
            if len(parts) == 1 and is_host_array(parts[0]):
                return np.array(parts[0], dtype=dtype)
            return self.gradient().astype(dtype)  # (the parts added in float64)
        if not on_host:
            total = self.backend.vectors.from_host(parts[0])
            for part in parts[1:]:
                total += part
            return total
        if len(parts) > 1 and all(is_host_array(part) for part in parts):  # the first two added in one pass
            total = np.add(parts[0], parts[1], dtype=np.float64)
            for part in parts[2:]:
                total += part
            return total
        total = self.backend.to_host(parts[0])
        for part in parts[1:]:
            total += self.backend.to_host(part)
        return total

    def backpropagate(self, Ws, bs, X, Y, m, sparsity_delta, kept, gate=None, aux=None):
        """Pass 2 over X's rows (targets Y); returns Σ of their loss (host float).

        Adds their share of the gradient of the loss and sparsity terms to the gradient
        buffers. ``kept``: whether pass 1 has just put these rows' a(2) .. a(k) in the kept
        buffers. ``gate``: ``(l, JumpReLU)`` for a thresholded layer l (no kept layers then):
        its forward and backward, with each worker's :class:`~sparseae.jumprelu.Record`.
        ``aux``: ``(dead, k_aux, weight)``, the AuxK term of :mod:`sparseae.auxk` on each block.
        """
        k = self.kept_layers if kept else 1
        f, f_out, backend = self.f, self.f_out, self.backend
        decoder = sparse_code.decoder_rows(Ws) if self.sparse_code else None
        # The output layer's f and its δ in one pass where the backend fuses them;
        # then W a(n_l - 1) is written straight into δ(n_l)'s buffer and that pass runs in place.
        defer = self.nested is None and self.loss.fusable
        in_place = defer and backend.fuses_output(self.loss, f_out)

        def run(i, lo, hi):
            workspace = self._workspace(i)
            grads = workspace["grads"]
            gates = (None, None)
            if gate is not None:
                layer, jump = gate
                record = self._record(workspace, layer)
                gates = ((layer, lambda z, b: jump.forward(z, b, record)),
                         (layer, lambda d, a: jump.backward(d, a, m, record)))
            total = 0.0
            for start, stop in blocks(lo, hi, self.block):
                if self.sparse_code:
                    total += self._sparse_block(workspace, Ws, bs, X[start:stop], Y[start:stop], m, k, start, stop,
                                                gates[0], kept, decoder)
                    continue
                a = [X[start:stop]] + [buffer[start:stop] for buffer in self.kept[: k - 1]]
                out = workspace["a"][k - 1 :]
                if in_place:
                    out = out[:-1] + [workspace["delta"][-1]]
                a += backprop.forward(Ws[k - 1 :], bs[k - 1 :], a[-1], f, f_out, backend, out=out,
                                      select=self._select_at(k), gate=gates[0], defer_output=defer)[1:]
                deltas = [delta[: stop - start] for delta in workspace["delta"]]
                value = backprop.backpropagate(Ws, a, Y[start:stop], m, f, f_out, self.loss, backend,
                                      grads, deltas, self.sparse_layer, sparsity_delta, gate=gates[1],
                                      nested=self.nested, pending=(bs[-1],) if defer else None)
                total += backend.scalar(value)
                if aux is not None:  # e = x - h(x) = -m δ(n_l), left in δ(n_l)'s buffer by pass 2
                    residual = deltas[-1] * (-float(m))
                    workspace["aux"] = workspace.get("aux", 0.0) + aux_term(
                        X[start:stop], residual, Ws, bs, aux[0], aux[1], aux[2], m, backend, grads)
            return total

        return sum(self._over_rows(run, X.shape[0]))
