"""The sparse autoencoder objective J_sparse(W, b) and its gradient by backpropagation.

Every term of the notes' cost lives here, in one place:

.. math::

    J_{\\text{sparse}}(W, b) =
        \\underbrace{\\frac{1}{m} \\sum_{i=1}^m \\tfrac12 \\lVert h_{W,b}(x^{(i)}) - y^{(i)} \\rVert^2}_{\\text{squared error}}
      + \\underbrace{\\frac{\\lambda}{2} \\sum_l \\sum_{i,j} (W^{(l)}_{ji})^2}_{\\text{weight decay}}
      + \\underbrace{\\beta \\sum_j \\mathrm{KL}(\\rho \\,\\Vert\\, \\hat\\rho_j)}_{\\text{sparsity}}

(notes eq. 8 and §3). The gradient is vectorised backpropagation over all m examples at once
(notes §2.2): one matrix product per layer forward, two per layer backward, no loop over
examples.
"""

import numpy as np

from ._parallel import single_threaded_blas
from .backend import NumpyBackend
from .backprop import Passes
from .network import Layout
from .rows import ArrayRows, NpyRows
from .validation import check_hyperparameters


def kl_divergence(rho, rho_hat):
    r"""KL(ρ ‖ ρ̂) between Bernoulli variables of means ρ and ρ̂, elementwise.

    .. math:: \mathrm{KL}(\rho \Vert \hat\rho) = \rho \log\frac{\rho}{\hat\rho}
              + (1-\rho) \log\frac{1-\rho}{1-\hat\rho}
    """
    return rho * np.log(rho / rho_hat) + (1.0 - rho) * np.log((1.0 - rho) / (1.0 - rho_hat))


def kl_divergence_derivative(rho, rho_hat):
    r"""dKL(ρ ‖ ρ̂)/dρ̂ = -ρ/ρ̂ + (1-ρ)/(1-ρ̂), the notes' extra δ term before β."""
    return -rho / rho_hat + (1.0 - rho) / (1.0 - rho_hat)


def rho_hat_from_sum(a_sum, m, activation):
    """ρ̂ from the sparse layer's column sums over m examples, and dρ̂_j/da_ij · m.

    For tanh units (inactive at -1) ρ̂ is the mean of (a + 1)/2.
    """
    mean = np.asarray(a_sum, dtype=np.float64) / m
    if activation == "tanh":
        return (mean + 1.0) / 2.0, 0.5
    return mean, 1.0


def sparsity_term(rho, beta, rho_hat, drho_da, m):
    """β Σ_j KL(ρ ‖ ρ̂_j) and the per-example δ term it adds, β·KL'(ρ̂)·dρ̂/da (host float64).

    ρ̂ is clipped to [ε, 1 - ε] (ε the float64 machine epsilon) so both stay finite.
    """
    eps = np.finfo(np.float64).eps
    clipped = np.clip(rho_hat, eps, 1.0 - eps)
    penalty = beta * float(kl_divergence(rho, clipped).sum())
    return penalty, (beta * drho_da / m) * kl_divergence_derivative(rho, clipped)


class ObjectiveBase:
    """What every J_sparse evaluator shares: θ's layout, the weight decay term, the terms.

    Subclasses set ``layout``, ``backend``, ``lam``, ``_m`` and define ``evaluate(theta)``.
    """

    @property
    def size(self):
        """Length of θ."""
        return self.layout.size

    @property
    def n_examples(self):
        """m."""
        return self._m

    def _decay(self, Ws, gWs):
        """(λ/2) Σ W² and ∇W += λ W on the host's float64 θ and gradient; biases not decayed."""
        if not self.lam:
            return 0.0
        for W, gW in zip(Ws, gWs):
            gW += self.lam * W
        return 0.5 * self.lam * sum(float(np.vdot(W, W)) for W in Ws)

    @staticmethod
    def _terms(sse, m, decay, sparsity, rho_hat):
        terms = {
            "squared_error": 0.5 * sse / m,
            "weight_decay": decay,
            "sparsity": sparsity,
            "rho_hat": rho_hat,
        }
        terms["cost"] = terms["squared_error"] + terms["weight_decay"] + terms["sparsity"]
        return terms

    def terms(self, theta):
        """Each term of J_sparse at θ, their sum ``cost``, and ``rho_hat``."""
        return self.evaluate(theta)[0]

    def __call__(self, theta):
        """``(J_sparse(θ), ∇J_sparse(θ))``, the gradient as a new float64 array."""
        terms, grad = self.evaluate(theta)
        return terms["cost"], grad


class SparseObjective(ObjectiveBase):
    r"""J_sparse(θ) and ∇J_sparse(θ) for a feedforward network on fixed data.

    Call it as ``cost, grad = objective(theta)``; θ is the flat float64 vector of
    :class:`Layout`. This is the function that the optimizers and :func:`check_gradient` take.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``[s_1, ..., s_nl]``; ``s_1`` must equal X's columns and ``s_nl`` Y's.
    X : array of shape (m, s_1)
        Inputs, one example per row: a NumPy array (float64 or float32; the arithmetic is done
        in X's dtype) or a PyTorch tensor (then ``backend`` must be a TorchBackend).
    Y : array of shape (m, s_nl), optional
        Targets. Defaults to X: the autoencoder, y = x (notes §3).
    activation : {"sigmoid", "tanh"}
        f of the hidden layers.
    output_activation : {"sigmoid", "tanh", "linear"}
        f of the output layer; "linear" is UFLDL's linear decoder.
    weight_decay : float
        λ ≥ 0. Biases are not decayed.
    sparsity_target : float
        ρ in (0, 1).
    sparsity_weight : float
        β ≥ 0; 0 switches the sparsity term off.
    sparse_layer : int
        Which layer (notes' numbering, input = 1) carries the sparsity penalty; a hidden layer.
    backend : NumpyBackend or TorchBackend, optional
        Where the arithmetic runs; by default NumPy in X's dtype.
    batch_size : int, optional
        Evaluate in chunks of this many rows, with the notes' two passes (below). X may then
        also be a :class:`sparseae.rows.NpyRows` reading a file larger than memory. Default:
        all rows at once.

    Notes
    -----
    ρ̂_j is the mean activation of unit j of the sparse layer over the m examples. With a
    tanh hidden layer, whose units are inactive near -1 (notes' footnote 3), ρ̂_j is the mean of
    (a_j + 1)/2, so that ρ and ρ̂ are both in (0, 1) whichever activation is used.

    The sparsity term enters backpropagation at the sparse layer k as

    .. math:: \delta^{(k)} = \left( (W^{(k)})^T \delta^{(k+1)}
              + \beta \left( -\frac{\rho}{\hat\rho} + \frac{1-\rho}{1-\hat\rho} \right)
              \right) \odot f'(z^{(k)}),

    i.e. the extra term is added *before* multiplying by f'(z), which is what the exact
    derivative of J_sparse requires (the gradient checks in the test suite confirm it).

    To keep the cost finite when a unit's ρ̂_j reaches 0 or 1 (every example saturating it),
    ρ̂ is clipped to [ε, 1 - ε] with ε the machine epsilon of float64 before KL and its
    derivative are taken. Inside that interval the penalty is exact; at the clip the penalty
    is at most about log(1/ε) ≈ 36 per unit, and its gradient stays finite, so an optimizer is
    pushed back towards ρ rather than handed an infinity.

    The activations of all m examples are computed once per evaluation into buffers that are
    reused across evaluations (the notes' in-memory method), so an evaluation allocates
    nothing of size m beyond two (m, s_l) buffers per layer.

    With ``batch_size`` smaller than m, an evaluation makes the notes' two passes over the data
    instead: pass 1 runs the forward pass chunk by chunk up to the sparse layer and sums its
    activations into ρ̂; pass 2 runs the forward pass again and backpropagates each chunk with
    ρ̂ known, adding into one gradient. Memory is then bounded by the chunk, not by m; cost and
    gradient equal the one-pass ones to rounding (the sums are only grouped differently).
    """

    def __init__(
        self,
        layer_sizes,
        X,
        Y=None,
        *,
        activation="sigmoid",
        output_activation="sigmoid",
        weight_decay=0.0,
        sparsity_target=0.01,
        sparsity_weight=0.0,
        sparse_layer=2,
        backend=None,
        batch_size=None,
    ):
        self.layout = Layout(layer_sizes)
        check_hyperparameters(
            activation=activation,
            output_activation=output_activation,
            weight_decay=weight_decay,
            sparsity_target=sparsity_target,
            sparsity_weight=sparsity_weight,
        )
        sizes = self.layout.layer_sizes
        if sparsity_weight > 0 and not 2 <= sparse_layer <= len(sizes) - 1:
            raise ValueError(
                f"sparse_layer must be a hidden layer, 2 to {len(sizes) - 1} for layer sizes "
                f"{list(sizes)}, got {sparse_layer}"
            )
        out_of_core = isinstance(X, (NpyRows, ArrayRows))
        shape = X.shape
        Y = X if Y is None else Y
        if len(shape) != 2 or shape[1] != sizes[0]:
            raise ValueError(f"X must have shape (m, {sizes[0]}), got {tuple(shape)}")
        if Y is not X and (Y.ndim != 2 or tuple(Y.shape) != (shape[0], sizes[-1])):
            raise ValueError(f"Y must have shape ({shape[0]}, {sizes[-1]}), got {tuple(Y.shape)}")
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
        self.backend = backend if backend is not None else NumpyBackend(
            np.float32 if X.dtype == np.float32 else np.float64
        )
        self.batch_size = shape[0] if batch_size is None else min(batch_size, shape[0])
        if out_of_core or self.batch_size < shape[0]:
            if Y is not X:
                raise ValueError("chunked (out-of-core) evaluation is for autoencoders: Y must be None")
            self.source = X if out_of_core else ArrayRows(X)
            self.X = self.Y = None
        else:
            self.source = None
            self.X = self.backend.from_host(X)
            self.Y = self.X if Y is X else self.backend.from_host(Y)
        self._m = shape[0]
        self.activation = activation
        self.output_activation = output_activation
        self.lam = float(weight_decay)
        self.rho = float(sparsity_target)
        self.beta = float(sparsity_weight)
        self.sparse_layer = int(sparse_layer)
        self._row_passes = None

    # -- the pieces of one evaluation --------------------------------------------------------

    def _passes(self):
        """The passes over rows and their reused buffers (backprop.Passes), made on first use."""
        if self._row_passes is None:
            self._row_passes = Passes(
                self.layout, self.backend, self.activation, self.output_activation,
                self.sparse_layer if self.beta > 0 else None, self.batch_size,
            )  # fmt: skip
        return self._row_passes

    def _rho_hat(self, a_sum, m):
        return rho_hat_from_sum(a_sum, m, self.activation)

    def _sparsity(self, rho_hat, drho_da, m):
        """β Σ KL(ρ ‖ ρ̂) and the δ term it adds at the sparse layer, on the backend."""
        penalty, delta_term = sparsity_term(self.rho, self.beta, rho_hat, drho_da, m)
        return penalty, self.backend.from_host(delta_term)

    def _finish(self, theta, passes, sse, m, sparsity, rho_hat):
        """The terms and the gradient, weight decay added on the host in float64."""
        grad = passes.gradient()
        decay = self._decay(self.layout.unpack(theta)[0], self.layout.unpack(grad)[0])
        return self._terms(sse, m, decay, sparsity, rho_hat), grad

    # -- the two passes as separate steps, for a map-reduce over chunks on other machines ---

    def hidden_sums(self, theta):
        """Pass 1 on this object's rows: the sparse layer's column sums (host float64)."""
        Ws, bs = self.layout.unpack(self.backend.from_host(theta))
        with single_threaded_blas():
            return self._passes().hidden_sums(Ws, bs, self.X)

    def data_gradient(self, theta, sparsity_delta, m):
        """Pass 2 on this object's rows, with the whole data's δ term and m.

        Returns ``(sse, grad)``: Σ ½‖h(x) - y‖² over these rows, and their share of the
        gradient of the squared error and sparsity terms (weight decay not included).
        """
        passes = self._passes()
        Ws, bs = self.layout.unpack(self.backend.from_host(theta))
        delta_term = None if sparsity_delta is None else self.backend.from_host(sparsity_delta)
        passes.zero_gradient()
        with single_threaded_blas():
            sse = passes.backpropagate(Ws, bs, self.X, self.Y, m, delta_term, kept=False)
        return sse, passes.gradient()

    def evaluate(self, theta):
        """All terms of J_sparse at θ and the gradient: ``(terms, grad)``.

        ``terms`` has ``squared_error``, ``weight_decay``, ``sparsity`` (β Σ KL), ``cost``
        (their sum) and ``rho_hat`` (host array; None when β = 0); ``grad`` is float64.
        """
        theta = np.asarray(theta, dtype=np.float64)
        with single_threaded_blas():
            if self.source is not None:
                return self._evaluate_in_two_passes(theta)
            return self._one_pass(theta, self.X, self.Y)

    def _chunks(self):
        """(start, rows) over the data in batch_size chunks, in the compute dtype/backend."""
        self.source.check_unchanged()
        for start in range(0, self._m, self.batch_size):
            yield start, self.backend.from_host(self.source.rows(start, start + self.batch_size))

    def _evaluate_in_two_passes(self, theta):
        passes = self._passes()
        Ws, bs = self.layout.unpack(self.backend.from_host(theta))
        m = self.n_examples
        passes.zero_gradient()

        # Pass 1: ρ̂ from the sparse layer's activations, chunk by chunk, then discarded.
        rho_hat, sparsity_delta, sparsity = None, None, 0.0
        if self.beta > 0:
            total = np.zeros(self.layout.layer_sizes[self.sparse_layer - 1])
            for _, chunk in self._chunks():
                total += passes.hidden_sums(Ws, bs, chunk)
            rho_hat, drho_da = self._rho_hat(total, m)
            sparsity, sparsity_delta = self._sparsity(rho_hat, drho_da, m)

        # Pass 2: forward again and backpropagate each chunk with ρ̂ known.
        sse = 0.0
        for _, chunk in self._chunks():
            sse += passes.backpropagate(Ws, bs, chunk, chunk, m, sparsity_delta, kept=False)
        return self._finish(theta, passes, sse, m, sparsity, rho_hat)

    def evaluate_batch(self, theta, rows, rho_hat_average=None, momentum=0.1):
        """Cost and gradient on one minibatch, for the streaming solver.

        The sparsity term uses ρ̂ tracked across minibatches as an exponential moving average,
        ``ρ̂ ← (1 - momentum) ρ̂ + momentum ρ̂_batch`` (just ρ̂_batch on the first batch), in place
        of the whole data's ρ̂, which a minibatch cannot see. Its δ term β·KL'(ρ̂) is then the
        full-batch one evaluated at the running estimate: the gradient is not that of
        KL(ρ ‖ ρ̂_batch), whose noise would dominate for small batches, and it equals the exact
        gradient's expectation only as far as the average tracks the true ρ̂.

        Returns
        -------
        terms : dict
            The batch's terms (squared error over the batch's own m).
        grad : ndarray, float64
        rho_hat : ndarray or None
            The updated average, to pass to the next call.
        """
        if len(rows) > self.batch_size:
            raise ValueError(f"a minibatch has {len(rows)} rows, more than batch_size={self.batch_size}")
        chunk = self.backend.from_host(rows)
        with single_threaded_blas():
            terms, grad = self._one_pass(np.asarray(theta, dtype=np.float64), chunk, chunk,
                                         rho_hat_average, momentum)  # fmt: skip
        return terms, grad, terms["rho_hat"]

    def _one_pass(self, theta, X, Y, rho_hat_average=None, momentum=0.1):
        """The notes' in-memory method on rows X (targets Y): a(2) .. a(k) kept between passes.

        ρ̂ is the rows' own mean activation, or, given ``rho_hat_average``, that average moved
        towards it by ``momentum`` (the streaming solver's estimate).
        """
        passes = self._passes()
        Ws, bs = self.layout.unpack(self.backend.from_host(theta))
        m = X.shape[0]
        passes.zero_gradient()
        rho_hat, sparsity_delta, sparsity = None, None, 0.0
        if self.beta > 0:
            rho_hat, drho_da = self._rho_hat(passes.hidden_sums(Ws, bs, X), m)
            if rho_hat_average is not None:
                rho_hat = (1.0 - momentum) * rho_hat_average + momentum * rho_hat
            sparsity, sparsity_delta = self._sparsity(rho_hat, drho_da, m)
        sse = passes.backpropagate(Ws, bs, X, Y, m, sparsity_delta, kept=True)
        return self._finish(theta, passes, sse, m, sparsity, rho_hat)
