r"""J_sparse(θ) and its gradient, evaluated by drivers that share one skeleton.

Every driver makes the same evaluation (:meth:`ObjectiveBase.evaluate_passes`): pass 1 gives the
sparse layer's column sums, hence ρ̂ and the penalty's δ term (:mod:`sparseae.penalties`); pass 2
gives the loss and the gradient (:mod:`sparseae.backprop`); weight decay is added last. They
differ only in where the rows are and who runs the passes:

- in memory: one pass 1 that keeps a(2) .. a(k), one pass 2 that starts from them;
- chunked (``chunk_size`` < m, or a file larger than memory): the notes' two passes, chunk by
  chunk, recomputing the forward pass in pass 2;
- minibatch (:meth:`SparseObjective.evaluate_batch`): one minibatch, ρ̂ tracked as a moving
  average across minibatches;
- Dask (:class:`sparseae.distributed.DaskObjective`): both passes as a map-reduce over the row
  chunks of a cluster.

A thresholded sparse layer (JumpReLU, BatchTopK) has no pass 1: its counts and sums come out of
pass 2; BatchTopK's threshold comes from a selection pass before it.
"""

import numpy as np

from .batchtopk import BatchTopK, thresholds
from .engine import NumpyBackend
from .engine.vectors import host_dtype, on_host
from .errors import DataError, ParameterError
from .jumprelu import BANDWIDTH
from .objective_base import ObjectiveBase, compatible
from .passes import RowPasses
from .rows import ArrayRows, RowSource
from .sparse_code import applies

__all__ = ["ObjectiveBase", "SparseObjective", "compatible"]


class SparseObjective(ObjectiveBase):
    """J_sparse(θ) and ∇J_sparse(θ) for a feedforward network on fixed data.

    Call it as ``cost, grad = objective(theta)``; θ is the flat float64 vector of
    :class:`~sparseae.network.Layout`. This is the function the optimizers and
    :func:`~sparseae.check_gradient` take. The math is in :mod:`sparseae.backprop`.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``[s_1, ..., s_nl]``; ``s_1`` must equal X's columns and ``s_nl`` Y's.
    X : array of shape (m, s_1)
        One example per row: a NumPy array (the arithmetic is done in its dtype, float64 or
        float32), a PyTorch tensor (with a TorchBackend), or a ``sparseae.rows.NpyRows``.
    Y : array of shape (m, s_nl), optional
        Targets; by default X: the autoencoder, y = x (notes §3).
    activation, output_activation : str, default "sigmoid"
        f of the hidden layers and of the output layer (:mod:`sparseae.activations`).
    loss : str, default "squared_error"
        The data term (:mod:`sparseae.losses`), the notes' ½‖h(x) - y‖².
    sparsity : {"kl", "l1", "topk", "jumprelu", "batchtopk"}, default "kl"
        The sparsity penalty (:mod:`sparseae.penalties`): the notes' KL(ρ ‖ ρ̂_j), L1 of the
        activations, TopK (``top_k`` units kept per example), JumpReLU's L0 on ReLU units with
        learned thresholds (their logs at the end of θ: :mod:`sparseae.jumprelu`), or BatchTopK
        (``top_k`` · m activations kept over all m rows: :mod:`sparseae.batchtopk`).
    weight_decay, sparsity_target, sparsity_weight : float
        λ ≥ 0 (biases are not decayed), ρ in (0, 1), β ≥ 0 (0: no sparsity term).
    sparse_layer : int
        The hidden layer (notes' numbering, input = 1) that carries the sparsity penalty.
    top_k : int, optional
        For ``sparsity="topk"``: the units of the sparse layer each example keeps.
    decoder_norm : {None, "unit"}
        "unit": the output layer's W is used with each column at unit norm (θ holds it unscaled;
        ``effective_theta(theta)`` gives the W used), so L1 cannot shrink the code and grow the decoder.
    jumprelu_bandwidth : float, default 0.001
        ε of JumpReLU's pseudo-gradients (Rajamanoharan et al.'s), for ``sparsity="jumprelu"``.
    aux_k, aux_k_weight, dead_after : int, float, int, optional
        AuxK (:mod:`sparseae.auxk`), for the TopK penalties: units inactive on the last
        ``dead_after`` examples (default: 10,000,000 or m, the fewer) reconstruct the residual with
        their ``aux_k`` largest pre-activations, weighted by ``aux_k_weight`` (1/32).
    nested : tuple of int, optional
        Matryoshka prefix widths m_1 < ... < s_{n_l - 1} (:mod:`sparseae.matryoshka`): the data
        term sums every prefix's reconstruction (linear output, squared error).
    center_encoder : bool, default False
        An autoencoder's encoder reads x − b2 (SAELens's ``apply_b_dec_to_input``): θ holds
        b̃1 = b1 + W1 b2, and b2 learns through the encoder too (``effective_theta(theta)`` gives
        the network's b1; ``parameters_of(network)`` the θ of a network).
    input_scale : float, optional
        Every row is multiplied by it as it is read (:mod:`sparseae.input_scaling`).
    backend : NumpyBackend or TorchBackend, optional
        Where the arithmetic runs; by default NumPy in X's dtype.
    chunk_size : int, optional
        Evaluate in chunks of this many rows, with the notes' two passes (memory bounded by the
        chunk; cost and gradient equal to rounding). Default: all rows at once.

    Raises
    ------
    ParameterError
        If a parameter is out of its range or contradicts another (KL on ReLU units, TopK on
        tanh, ``top_k`` without TopK, ...), or θ does not have the layout's size when called.
    DataError
        If X or Y does not match ``layer_sizes``, or holds NaN or infinite values.

    Examples
    --------
    >>> import numpy as np
    >>> import sparseae
    >>> X = np.random.default_rng(0).uniform(size=(10, 8))
    >>> objective = sparseae.SparseObjective([8, 5, 8], X, sparsity_target=0.1, sparsity_weight=3.0,
    ...                                      weight_decay=1e-4)
    >>> theta = sparseae.Layout([8, 5, 8]).initial_theta(0)
    >>> cost, grad = objective(theta)
    >>> grad.shape == theta.shape, bool(sparseae.check_gradient(objective, theta) < 1e-8)
    (True, True)
    """

    def __init__(self, layer_sizes, X, Y=None, *, activation="sigmoid", output_activation="sigmoid",
                 loss="squared_error", sparsity="kl", weight_decay=0.0, sparsity_target=0.01,
                 sparsity_weight=0.0, sparse_layer=2, top_k=None, decoder_norm=None,
                 jumprelu_bandwidth=BANDWIDTH, nested=None, aux_k=None, aux_k_weight=1 / 32, dead_after=None,
                 center_encoder=False, input_scale=None, backend=None, chunk_size=None):
        self._set_model(
            layer_sizes, "SparseObjective", activation=activation,
            output_activation=output_activation, loss=loss, sparsity=sparsity,
            weight_decay=weight_decay, sparsity_target=sparsity_target,
            sparsity_weight=sparsity_weight, sparse_layer=sparse_layer, top_k=top_k,
            decoder_norm=decoder_norm, jumprelu_bandwidth=jumprelu_bandwidth, nested=nested, aux_k=aux_k,
            aux_k_weight=aux_k_weight, dead_after=dead_after, center_encoder=center_encoder,
        )
        sizes = self.layout.layer_sizes
        self.input_scale = None if input_scale is None else float(input_scale)
        if self.input_scale is not None:
            self.params["input_scale"] = self.input_scale  # (for Dask's workers)
        out_of_core = isinstance(X, RowSource)
        shape = tuple(X.shape)
        if len(shape) != 2 or shape[1] != sizes[0]:
            raise DataError(f"X must have shape (m, {sizes[0]}), got {shape}")
        if Y is not None and (Y.ndim != 2 or tuple(Y.shape) != (shape[0], sizes[-1])):
            raise DataError(f"Y must have shape ({shape[0]}, {sizes[-1]}), got {tuple(Y.shape)}")
        if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
            raise ParameterError(f"chunk_size must be a positive integer or None, got {chunk_size!r}")
        self.backend = backend if backend is not None else NumpyBackend(
            np.float32 if X.dtype == np.float32 else np.float64
        )
        self._m = shape[0]
        self.chunk_size = self._m if chunk_size is None else min(chunk_size, self._m)
        self.source = self.targets = self.X = self.Y = None
        if Y is not None and self.loss.check_targets is not None:
            self.loss.check_targets(np.asarray(Y))
        if out_of_core or self.chunk_size < self._m:
            self.source = X if out_of_core else ArrayRows(X)
            self.targets = None if Y is None else ArrayRows(np.asarray(Y))  # small: kept in memory
        else:
            self.X = self._scaled(self.backend.from_host(X))
            self.Y = self.X if Y is None else self.backend.from_host(Y)
        self._row_passes = None
        #: Whether pass 2 runs on TopK's sparse code (``sparseae.sparse_code``): chosen when it
        #: applies (k small against the width); may be set before the first evaluation.
        self.sparse_code = applies(self.layout, self.penalty, self.nested, self.aux, self.backend, self.top_k)

    def _scaled(self, x):
        """The rows as the objective sees them: times ``input_scale`` (a new array), or as given."""
        return x if self.input_scale is None else x * self.input_scale

    def _passes(self):
        """The passes over rows and their reused buffers, made on first use."""
        if self._row_passes is None:
            select = None
            if self.penalty.select is not None:
                top_k, backend, penalty = self.top_k, self.backend, self.penalty
                select = lambda a: penalty.select(a, top_k, backend)  # noqa: E731
            pass1_layer = None if self.thresholded else self.sparse_layer  # a thresholded layer: no pass 1
            self._row_passes = RowPasses(self.layout, self.backend, self.f, self.f_out, self.loss,
                                         pass1_layer, self.chunk_size, select, self.nested, self.sparse_code,
                                         self.top_k)
        return self._row_passes

    def _start(self, theta):
        """θ (on the host, float64 or a float32 array as given; or a float64 tensor on the
        backend's device), its W and b on the backend, and the gradient zeroed; the thresholded
        layer's gate is ``self._gated``."""
        if not self._on_device(theta):
            theta = np.asarray(theta, dtype=host_dtype(theta))
        passes = self._passes()
        passes.zero_gradient()
        self._gated = self._gate(theta)
        return theta, passes, self.layout.unpack(self.backend.from_host(theta))

    def _delta(self, sparsity_delta):
        return None if sparsity_delta is None else self.backend.from_host(sparsity_delta)

    def evaluate(self, theta):
        """All terms of J_sparse at θ and the gradient: ``(terms, grad)``.

        ``terms`` has the loss (``squared_error``), ``weight_decay``, ``sparsity``, ``cost``
        (their sum) and ``rho_hat`` (host array; None when β = 0); ``grad`` is float64.
        """
        def evaluate(theta):
            with self.backend.computing():
                if self.source is not None:
                    return self._evaluate_chunks(theta)
                return self._evaluate_rows(theta, self.X, self.Y)

        return self._reparametrised(theta, evaluate)

    def _select_batch(self, passes, Ws, bs, parts, m, keep=False):
        """BatchTopK's t over the rows of ``parts`` (arrays of rows), m in all: the gate of pass 2
        (kept as :attr:`batch_threshold`), and ``transform``'s threshold from the same selection
        (:attr:`inference_threshold`, :func:`sparseae.batchtopk.thresholds`). ``keep``: one part,
        whose a(2) pass 2 on the sparse code takes from the selection pass."""
        count, top = self.top_k * m, None

        def each():
            nonlocal top
            for x in parts:
                values, column_max = passes.largest(Ws, bs, x, self.sparse_layer, count + 1, keep=keep)
                top = column_max if top is None else np.maximum(top, column_max)
                yield values

        t, self.inference_threshold = thresholds(each(), count)
        self.batch_threshold = t
        self._batch_active = top >= t if t > 0 else top > 0  # the units the selection keeps somewhere
        self._gated = (self.sparse_layer, BatchTopK(t, self.backend))

    def _evaluate_rows(self, theta, X, Y, rho_hat_average=None, momentum=0.1):
        """In memory: pass 1 keeps a(2) .. a(k) of X's rows, and pass 2 starts from them."""
        theta, passes, (Ws, bs) = self._start(theta)
        if self.penalty.batch_k:
            self._select_batch(passes, Ws, bs, [X], X.shape[0], keep=passes.sparse_code)

        def pass2(sparsity_delta):
            loss_sum = passes.backpropagate(Ws, bs, X, Y, X.shape[0], self._delta(sparsity_delta), kept=True,
                                            gate=self._gated, aux=self._aux_args())
            return loss_sum, passes.gradient(on_host=on_host(theta), dtype=host_dtype(theta))

        return self.evaluate_passes(theta, X.shape[0], lambda: passes.hidden_sums(Ws, bs, X), pass2,
                                    rho_hat_average, momentum, passes.gate_sums, passes.aux_sum)

    def _chunks(self):
        """``(x, y)``: the rows in chunks of chunk_size, in the backend's dtype and place (y is x
        for an autoencoder)."""
        self.source.check_unchanged()
        for start in range(0, self._m, self.chunk_size):
            stop = start + self.chunk_size
            x = self._scaled(self.backend.from_host(self.source.rows(start, stop)))
            y = x if self.targets is None else self.backend.from_host(self.targets.rows(start, stop))
            yield x, y

    def _evaluate_chunks(self, theta):
        """The notes' two passes, chunk by chunk: pass 2 recomputes the forward pass."""
        theta, passes, (Ws, bs) = self._start(theta)
        m = self._m
        if self.penalty.batch_k:
            self._select_batch(passes, Ws, bs, (x for x, _ in self._chunks()), m)

        def pass1():
            total = np.zeros(self.layout.layer_sizes[self.sparse_layer - 1])
            for x, _ in self._chunks():
                total += passes.hidden_sums(Ws, bs, x)
            return total

        def pass2(sparsity_delta):
            delta, loss_sum = self._delta(sparsity_delta), 0.0
            for x, y in self._chunks():
                loss_sum += passes.backpropagate(Ws, bs, x, y, m, delta, kept=False, gate=self._gated,
                                                 aux=self._aux_args())
            return loss_sum, passes.gradient(on_host=on_host(theta), dtype=host_dtype(theta))

        return self.evaluate_passes(theta, m, pass1, pass2, gate_sums=passes.gate_sums, aux_sum=passes.aux_sum)

    def evaluate_batch(self, theta, rows, rho_hat_average=None, momentum=0.1, y=None):
        """Cost and gradient on one minibatch ``rows`` (targets ``y``; by default the rows, an
        autoencoder's), for a minibatch solver: ``(terms, grad, rho_hat)``.

        A minibatch cannot see the whole data's ρ̂, so ρ̂ is tracked across minibatches as the
        moving average ``ρ̂ ← (1 - momentum) ρ̂ + momentum ρ̂_batch`` (ρ̂_batch on the first), and
        the δ term is the full-batch one at that estimate: exact only as far as the average
        tracks the true ρ̂. Pass the returned ``rho_hat`` to the next call.
        """
        if len(rows) > self.chunk_size:
            raise ParameterError(f"a minibatch has {len(rows)} rows, more than chunk_size={self.chunk_size}")
        chunk = self._scaled(self.backend.from_host(rows))
        targets = chunk if y is None else self.backend.from_host(y)

        def evaluate(theta):
            with self.backend.computing():
                return self._evaluate_rows(theta, chunk, targets, rho_hat_average, momentum)

        terms, grad = self._reparametrised(theta, evaluate)
        return terms, grad, terms["rho_hat"]

    # -- the two passes as separate steps, for a map-reduce over chunks on other machines ---

    def hidden_sums(self, theta):
        """Pass 1 alone on this object's rows (in memory, or chunk by chunk from its source): the
        sparse layer's column sums (host float64) at the network's θ. A thresholded layer has no
        pass 1 (its sums come from pass 2: :meth:`data_gradient`'s ``gate_sums``)."""
        if self.thresholded:
            raise ParameterError(f"sparsity={self.penalty.name!r} has no pass 1: its units' sums come from pass 2 "
                                 f"(data_gradient's gate_sums)")
        _, passes, (Ws, bs) = self._start(theta)
        with self.backend.computing():
            if self.source is None:
                return passes.hidden_sums(Ws, bs, self.X)
            return sum(passes.hidden_sums(Ws, bs, x) for x, _ in self._chunks())

    def batch_active(self, theta):
        """BatchTopK's selection pass alone over all this object's rows, at the network's θ: a
        boolean per unit, whether the selection keeps it on some row (the others are dead)."""
        _, passes, (Ws, bs) = self._start(theta)
        with self.backend.computing():
            parts = [self.X] if self.source is None else (x for x, _ in self._chunks())
            self._select_batch(passes, Ws, bs, parts, self._m)
        return self._batch_active

    def data_gradient(self, theta, sparsity_delta, m, batch_threshold=None):
        """Pass 2 on this object's rows, with the whole data's δ term and m: ``(loss_sum, grad)``;
        for a thresholded layer also its ``gate_sums`` (BatchTopK's t: ``batch_threshold``)."""
        _, passes, (Ws, bs) = self._start(theta)
        if self.penalty.batch_k:
            self._gated = (self.sparse_layer, BatchTopK(batch_threshold, self.backend))
        with self.backend.computing():
            delta = self._delta(sparsity_delta)
            loss_sum = passes.backpropagate(Ws, bs, self.X, self.Y, m, delta, kept=False, gate=self._gated)
        if self.thresholded:
            return loss_sum, passes.gradient(), passes.gate_sums()
        return loss_sum, passes.gradient()

    def largest(self, theta, count):
        """BatchTopK's selection pass on this object's rows: their ``count`` largest activations,
        and each unit's largest."""
        _, passes, (Ws, bs) = self._start(theta)
        with self.backend.computing():
            return passes.largest(Ws, bs, self.X, self.sparse_layer, count)
