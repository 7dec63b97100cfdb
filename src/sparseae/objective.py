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
"""

import numpy as np

from .activations import ACTIVATIONS
from .backprop import weight_decay
from .engine import NumpyBackend
from .engine.vectors import on_host
from .errors import DataError, ParameterError
from .losses import LOSSES
from .network import Layout
from .passes import RowPasses
from .penalties import PENALTIES, check_activation, mean_activation, sparsity_terms
from .rows import ArrayRows, NpyRows
from .validation import check_parameters


def compatible(f_out, loss):
    """Whether output activation ``f_out`` and ``loss`` make an objective: a loss may require an
    output, and an output that couples a row's units needs a loss that gives δ(n_l) itself."""
    required = loss.output_activation in (None, f_out.name)
    return required and (f_out.elementwise or loss.includes_output_derivative)


def _weight_decay(weight_decay, n_weights, caller):
    """λ as a float, or one λ per weight matrix W(1) .. W(n_l - 1) (a tuple)."""
    if np.ndim(weight_decay) == 0:
        check_parameters({"weight_decay": weight_decay}, caller)
        return float(weight_decay)
    for lam in weight_decay:
        check_parameters({"weight_decay": lam}, caller)
    if len(weight_decay) != n_weights:
        raise ParameterError(
            f"weight_decay needs one value per weight matrix ({n_weights}), got {len(weight_decay)}"
        )
    return tuple(float(lam) for lam in weight_decay)


class ObjectiveBase:
    """The model an objective evaluates, and the evaluation every driver shares."""

    def _set_model(self, layer_sizes, caller, *, sparse_layer, weight_decay, top_k=None, decoder_norm=None,
                   **params):
        check_parameters(params, caller)
        self.layout = Layout(layer_sizes)
        self.params = dict(params, sparse_layer=sparse_layer, weight_decay=weight_decay, top_k=top_k)
        if decoder_norm not in (None, "unit"):
            raise ParameterError(f"decoder_norm must be None or 'unit', got {decoder_norm!r}")
        self.decoder_norm = decoder_norm
        sizes = self.layout.layer_sizes
        self.lam = _weight_decay(weight_decay, len(sizes) - 1, caller)
        self.f, self.f_out = ACTIVATIONS[params["activation"]], ACTIVATIONS[params["output_activation"]]
        self.loss, self.penalty = LOSSES[params["loss"]], PENALTIES[params["sparsity"]]
        if not compatible(self.f_out, self.loss):
            raise ParameterError(
                f"output_activation={self.f_out.name!r} and loss={self.loss.name!r} do not go together: "
                f"softmax outputs need loss='cross_entropy', and it needs them"
            )
        self.rho, self.beta = float(params["sparsity_target"]), float(params["sparsity_weight"])
        self.sparse_layer = None  # the hidden layer that carries the penalty (notes' numbering)
        self.top_k = None
        selecting = self.penalty.select is not None
        if self.beta > 0 or selecting:
            if not (isinstance(sparse_layer, int) and 2 <= sparse_layer <= len(sizes) - 1):
                raise ParameterError(
                    f"sparse_layer must be a hidden layer, 2 to {len(sizes) - 1} for layer sizes "
                    f"{list(sizes)}, got {sparse_layer!r}"
                )
            check_activation(self.penalty, self.f)
            self.sparse_layer = sparse_layer
        if selecting:
            units = sizes[sparse_layer - 1]
            if top_k is None:
                raise ParameterError(f"sparsity={self.penalty.name!r} needs k, the units each example keeps")
            whole = isinstance(top_k, (int, np.integer)) and not isinstance(top_k, bool)
            if not (whole and 1 <= top_k < units):
                raise ParameterError(f"k must be a whole number from 1 to {units - 1} (fewer than the "
                                     f"{units} units of the sparse layer), got {top_k!r}")
            self.top_k = int(top_k)

    @property
    def size(self):
        """Length of θ."""
        return self.layout.size

    @property
    def n_examples(self):
        """m."""
        return self._m

    def evaluate_passes(self, theta, m, pass1, pass2, rho_hat_average=None, momentum=0.1):
        """One evaluation from its two passes, whoever runs them: ``(terms, grad)``.

        ``pass1()`` returns Σ a(k) over the m rows (host); ``pass2(sparsity_delta)`` returns
        Σ of the loss over them and the gradient of the loss and sparsity terms (host float64).
        Given ``rho_hat_average``, ρ̂ is that average moved towards the rows' own by ``momentum``.
        """
        rho_hat, sparsity_delta, sparsity = None, None, 0.0
        if self.sparse_layer is not None:
            rho_hat, drho_da = mean_activation(pass1(), m, self.f)
            if rho_hat_average is not None:
                rho_hat = (1.0 - momentum) * rho_hat_average + momentum * rho_hat
            if self.penalty.value is not None and self.beta > 0:
                sparsity, sparsity_delta = sparsity_terms(
                    self.penalty, self.rho, self.beta, rho_hat, drho_da, m
                )
        loss_sum, grad = pass2(sparsity_delta)
        vdot = np.vdot if on_host(theta) else self.backend.vdot
        decay = weight_decay(self.layout.weights(theta), self.layout.weights(grad), self.lam, vdot)
        terms = {self.loss.name: loss_sum / m, "weight_decay": decay, "sparsity": sparsity,
                 "rho_hat": rho_hat}
        terms["cost"] = terms[self.loss.name] + decay + sparsity
        return terms, grad

    @property
    def vectors(self):
        """Where an optimizer may keep θ for this objective (:mod:`sparseae.engine.vectors`):
        given θ there, the objective returns the gradient there."""
        return self.backend.vectors

    def effective_theta(self, theta):
        """θ as the network uses it: with ``decoder_norm="unit"``, a copy whose output layer's
        W has each column (one per unit of the layer below) divided by its norm; else θ."""
        if self.decoder_norm is None:
            return theta
        theta = self._copy(theta)
        self._unit_decoder(theta)
        return theta

    def _on_device(self, theta):
        """Whether θ is a tensor on the backend's device (else anything NumPy takes)."""
        return not on_host(theta) and self.backend.vectors.holds(theta)

    def _copy(self, theta):
        """A float64 copy of θ where θ is: the host, or the backend's device."""
        if self._on_device(theta):
            return self.backend.vectors.from_host(theta)
        return np.array(theta, dtype=np.float64)

    def _unit_decoder(self, theta):
        """Normalise θ's decoder columns in place; their norms before."""
        xp = np if on_host(theta) else self.backend.xp
        W = self.layout.unpack(theta)[0][-1]  # (s_nl, s_{nl-1})
        norms = xp.clip(xp.sqrt(xp.einsum("ij,ij->j", W, W)), np.finfo(np.float64).tiny, None)
        W /= norms
        return norms

    def _reparametrised(self, theta, evaluate):
        r"""``evaluate(θ)``, through the unit-norm decoder when ``decoder_norm="unit"``: the network
        uses :math:`\hat w_j = v_j / \lVert v_j \rVert` for θ's decoder column :math:`v_j`, and
        the gradient in :math:`v_j` is
        :math:`(g_j - \hat w_j (\hat w_j \cdot g_j)) / \lVert v_j \rVert`, g the gradient in
        :math:`\hat w`. θ stays unconstrained, so L-BFGS needs nothing else."""
        if self.decoder_norm is None:
            return evaluate(theta)
        effective = self._copy(theta)
        norms = self._unit_decoder(effective)
        terms, grad = evaluate(effective)
        xp = np if on_host(grad) else self.backend.xp
        W, g = self.layout.unpack(effective)[0][-1], self.layout.unpack(grad)[0][-1]
        g -= W * xp.einsum("ij,ij->j", W, g)
        g /= norms
        return terms, grad

    def terms(self, theta):
        """Each term of J_sparse at θ, their sum ``cost``, and ``rho_hat`` (None when β = 0)."""
        return self.evaluate(theta)[0]

    def __call__(self, theta):
        """``(J_sparse(θ), ∇J_sparse(θ))``, the gradient as a new float64 vector where θ is: a
        host array, or a tensor on the backend's device (:attr:`vectors`)."""
        terms, grad = self.evaluate(theta)
        return terms["cost"], grad


class SparseObjective(ObjectiveBase):
    r"""J_sparse(θ) and ∇J_sparse(θ) for a feedforward network on fixed data.

    Call it as ``cost, grad = objective(theta)``; θ is the flat float64 vector of
    :class:`~sparseae.network.Layout`. This is the function the optimizers and
    :func:`~sparseae.gradcheck.check_gradient` take. The math is in :mod:`sparseae.backprop`.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``[s_1, ..., s_nl]``; ``s_1`` must equal X's columns and ``s_nl`` Y's.
    X : array of shape (m, s_1)
        One example per row: a NumPy array (the arithmetic is done in its dtype, float64 or
        float32), a PyTorch tensor (with a TorchBackend), or a :class:`sparseae.rows.NpyRows`.
    Y : array of shape (m, s_nl), optional
        Targets; by default X: the autoencoder, y = x (notes §3).
    activation, output_activation : str, default "sigmoid"
        f of the hidden layers and of the output layer (:mod:`sparseae.activations`).
    loss : str, default "squared_error"
        The data term (:mod:`sparseae.losses`), the notes' ½‖h(x) - y‖².
    sparsity : {"kl", "l1", "topk"}, default "kl"
        The sparsity penalty (:mod:`sparseae.penalties`): the notes' KL(ρ ‖ ρ̂_j), L1 of the
        activations, or TopK (``top_k`` units kept per example).
    weight_decay, sparsity_target, sparsity_weight : float
        λ ≥ 0 (biases are not decayed), ρ in (0, 1), β ≥ 0 (0: no sparsity term).
    sparse_layer : int
        The hidden layer (notes' numbering, input = 1) that carries the sparsity penalty.
    top_k : int, optional
        For ``sparsity="topk"``: the units of the sparse layer each example keeps.
    decoder_norm : {None, "unit"}
        "unit": the output layer's W is used with each column at unit norm (θ holds it unscaled;
        :meth:`effective_theta` gives the W used), so L1 cannot shrink the code and grow the decoder.
    backend : NumpyBackend or TorchBackend, optional
        Where the arithmetic runs; by default NumPy in X's dtype.
    chunk_size : int, optional
        Evaluate in chunks of this many rows, with the notes' two passes (memory bounded by the
        chunk; cost and gradient equal to rounding). Default: all rows at once.
    """

    def __init__(self, layer_sizes, X, Y=None, *, activation="sigmoid", output_activation="sigmoid",
                 loss="squared_error", sparsity="kl", weight_decay=0.0, sparsity_target=0.01,
                 sparsity_weight=0.0, sparse_layer=2, top_k=None, decoder_norm=None, backend=None,
                 chunk_size=None):
        self._set_model(
            layer_sizes, "SparseObjective", activation=activation,
            output_activation=output_activation, loss=loss, sparsity=sparsity,
            weight_decay=weight_decay, sparsity_target=sparsity_target,
            sparsity_weight=sparsity_weight, sparse_layer=sparse_layer, top_k=top_k,
            decoder_norm=decoder_norm,
        )
        sizes = self.layout.layer_sizes
        out_of_core = isinstance(X, (NpyRows, ArrayRows))
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
            self.X = self.backend.from_host(X)
            self.Y = self.X if Y is None else self.backend.from_host(Y)
        self._row_passes = None

    def _passes(self):
        """The passes over rows and their reused buffers, made on first use."""
        if self._row_passes is None:
            select = None
            if self.top_k is not None:
                top_k, backend, penalty = self.top_k, self.backend, self.penalty
                select = lambda a: penalty.select(a, top_k, backend)  # noqa: E731
            self._row_passes = RowPasses(self.layout, self.backend, self.f, self.f_out, self.loss,
                                         self.sparse_layer, self.chunk_size, select)
        return self._row_passes

    def _start(self, theta):
        """θ as float64 (on the host, or a tensor on the backend's device, as given), its W and b
        on the backend, and the gradient zeroed."""
        if not self._on_device(theta):
            theta = np.asarray(theta, dtype=np.float64)
        passes = self._passes()
        passes.zero_gradient()
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

    def _evaluate_rows(self, theta, X, Y, rho_hat_average=None, momentum=0.1):
        """In memory: pass 1 keeps a(2) .. a(k) of X's rows, and pass 2 starts from them."""
        theta, passes, (Ws, bs) = self._start(theta)

        def pass2(sparsity_delta):
            loss_sum = passes.backpropagate(Ws, bs, X, Y, X.shape[0], self._delta(sparsity_delta), kept=True)
            return loss_sum, passes.gradient(on_host=on_host(theta))

        return self.evaluate_passes(theta, X.shape[0], lambda: passes.hidden_sums(Ws, bs, X), pass2,
                                    rho_hat_average, momentum)

    def _chunks(self):
        """``(x, y)``: the rows in chunks of chunk_size, in the backend's dtype and place (y is x
        for an autoencoder)."""
        self.source.check_unchanged()
        for start in range(0, self._m, self.chunk_size):
            stop = start + self.chunk_size
            x = self.backend.from_host(self.source.rows(start, stop))
            y = x if self.targets is None else self.backend.from_host(self.targets.rows(start, stop))
            yield x, y

    def _evaluate_chunks(self, theta):
        """The notes' two passes, chunk by chunk: pass 2 recomputes the forward pass."""
        theta, passes, (Ws, bs) = self._start(theta)
        m = self._m

        def pass1():
            total = np.zeros(self.layout.layer_sizes[self.sparse_layer - 1])
            for x, _ in self._chunks():
                total += passes.hidden_sums(Ws, bs, x)
            return total

        def pass2(sparsity_delta):
            delta, loss_sum = self._delta(sparsity_delta), 0.0
            for x, y in self._chunks():
                loss_sum += passes.backpropagate(Ws, bs, x, y, m, delta, kept=False)
            return loss_sum, passes.gradient(on_host=on_host(theta))

        return self.evaluate_passes(theta, m, pass1, pass2)

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
        chunk = self.backend.from_host(rows)
        targets = chunk if y is None else self.backend.from_host(y)

        def evaluate(theta):
            with self.backend.computing():
                return self._evaluate_rows(theta, chunk, targets, rho_hat_average, momentum)

        terms, grad = self._reparametrised(theta, evaluate)
        return terms, grad, terms["rho_hat"]

    # -- the two passes as separate steps, for a map-reduce over chunks on other machines ---

    def hidden_sums(self, theta):
        """Pass 1 on this object's rows: the sparse layer's column sums (host float64)."""
        _, passes, (Ws, bs) = self._start(theta)
        with self.backend.computing():
            return passes.hidden_sums(Ws, bs, self.X)

    def data_gradient(self, theta, sparsity_delta, m):
        """Pass 2 on this object's rows, with the whole data's δ term and m: ``(loss_sum, grad)``."""
        _, passes, (Ws, bs) = self._start(theta)
        with self.backend.computing():
            delta = self._delta(sparsity_delta)
            loss_sum = passes.backpropagate(Ws, bs, self.X, self.Y, m, delta, kept=False)
        return loss_sum, passes.gradient()
