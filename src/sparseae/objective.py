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

from ._parallel import blas_threads, map_rows
from .activations import DERIVATIVES
from .backend import NumpyBackend
from .network import Layout, forward
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


class SparseObjective:
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
        Y = X if Y is None else Y
        if X.ndim != 2 or X.shape[1] != sizes[0]:
            raise ValueError(f"X must have shape (m, {sizes[0]}), got {tuple(X.shape)}")
        if Y.ndim != 2 or tuple(Y.shape) != (X.shape[0], sizes[-1]):
            raise ValueError(f"Y must have shape ({X.shape[0]}, {sizes[-1]}), got {tuple(Y.shape)}")
        self.backend = backend if backend is not None else NumpyBackend(X.dtype)
        self.X = self.backend.from_host(X)
        self.Y = self.X if Y is X else self.backend.from_host(Y)
        self.activation = activation
        self.output_activation = output_activation
        self.lam = float(weight_decay)
        self.rho = float(sparsity_target)
        self.beta = float(sparsity_weight)
        self.sparse_layer = int(sparse_layer)
        self._buffers = None

    @property
    def size(self):
        """Length of θ."""
        return self.layout.size

    @property
    def n_examples(self):
        """m."""
        return self.X.shape[0]

    # -- the pieces of one evaluation --------------------------------------------------------

    def _workspace(self):
        """Reused buffers: a(l) for l ≥ 2, δ(l) for l ≥ 2, and the gradient in compute dtype."""
        if self._buffers is None:
            m, sizes = self.n_examples, self.layout.layer_sizes
            self._buffers = {
                "a": [self.backend.empty((m, s)) for s in sizes[1:]],
                "delta": [self.backend.empty((m, s)) for s in sizes[1:]],
                "grad": self.backend.empty((self.layout.size,)),
            }
        return self._buffers

    def _rho_hat(self, a_sum, m):
        """ρ̂ on the host from the sparse layer's column sums, and dρ̂_j/da_ij · m."""
        mean = self.backend.to_host(a_sum) / m
        if self.activation == "tanh":
            return (mean + 1.0) / 2.0, 0.5
        return mean, 1.0

    def _sparsity(self, rho_hat, drho_da, m):
        """β Σ KL(ρ ‖ ρ̂) and the δ term it adds at the sparse layer (host float64)."""
        if self.beta == 0:
            return 0.0, None
        eps = np.finfo(np.float64).eps
        clipped = np.clip(rho_hat, eps, 1.0 - eps)
        penalty = self.beta * float(kl_divergence(self.rho, clipped).sum())
        delta_term = (self.beta * drho_da / m) * kl_divergence_derivative(self.rho, clipped)
        return penalty, self.backend.from_host(delta_term)

    def _backward(self, Ws, a, Y, m, sparsity_delta, gWs, gbs, accumulate=False):
        """Backpropagate one batch of examples; returns its Σ ½‖h(x) - y‖².

        ∇W(l) += δ(l+1)ᵀ a(l),  ∇b(l) += Σ δ(l+1), with every δ already carrying 1/m
        (m the number of examples in the whole objective, not in the batch).
        """
        xp = self.backend.xp
        buffers = self._workspace()
        rows = a[0].shape[0]
        deltas = [d[:rows] for d in buffers["delta"]]
        out_derivative = DERIVATIVES[self.output_activation]
        hidden_derivative = DERIVATIVES[self.activation]

        # Output layer: δ(nl) = (a(nl) - y) ⊙ f'(z(nl)) / m, and the squared error on the way.
        def output_delta(delta, a_out, y):
            xp.subtract(a_out, y, out=delta)
            sse = xp.vdot(delta.reshape(-1), delta.reshape(-1))
            delta *= 1.0 / m
            out_derivative(a_out, delta)
            return sse

        sse = sum(self.backend.scalar(v) for v in map_rows(output_delta, deltas[-1], a[-1], Y))

        delta = deltas[-1]
        for l in range(len(Ws) - 1, -1, -1):
            if accumulate:
                gWs[l] += delta.T @ a[l]  # (s_{l+1}, s_l)
                gbs[l] += xp.sum(delta, axis=0)
            else:
                xp.matmul(delta.T, a[l], out=gWs[l])  # (s_{l+1}, s_l)
                xp.sum(delta, axis=0, out=gbs[l])  # (s_{l+1},)
            if l == 0:
                break
            previous = deltas[l - 1]
            xp.matmul(delta, Ws[l], out=previous)  # (m, s_l): (W(l))ᵀ δ(l+1), row per example
            extra = sparsity_delta if l == self.sparse_layer - 1 else None

            def hidden_delta(d, a_l, extra=extra):
                if extra is not None:
                    d += extra
                hidden_derivative(a_l, d)

            map_rows(hidden_delta, previous, a[l])
            delta = previous
        return sse

    def _decay(self, Ws, gWs):
        """(λ/2) Σ W² and ∇W += λ W; biases are not decayed."""
        if not self.lam:
            return 0.0
        for W, gW in zip(Ws, gWs):
            gW += self.lam * W
        return 0.5 * self.lam * sum(
            self.backend.scalar(self.backend.xp.vdot(W.reshape(-1), W.reshape(-1))) for W in Ws
        )

    def evaluate(self, theta):
        """All terms of J_sparse at θ and the gradient: ``(terms, grad)``.

        ``terms`` has ``squared_error``, ``weight_decay``, ``sparsity`` (β Σ KL), ``cost``
        (their sum) and ``rho_hat`` (host array; None when β = 0); ``grad`` is float64.
        """
        with blas_threads(self.n_examples, self.layout.layer_sizes):
            return self._evaluate(theta)

    def _evaluate(self, theta):
        buffers = self._workspace()
        theta_c = self.backend.from_host(theta)
        Ws, bs = self.layout.unpack(theta_c)
        grad = buffers["grad"]
        gWs, gbs = self.layout.unpack(grad)
        m = self.n_examples

        a = forward(Ws, bs, self.X, self.activation, self.output_activation, out=buffers["a"])
        rho_hat, sparsity_delta, sparsity = None, None, 0.0
        if self.beta > 0:
            k = self.sparse_layer - 1
            rho_hat, drho_da = self._rho_hat(self.backend.xp.sum(a[k], axis=0), m)
            sparsity, sparsity_delta = self._sparsity(rho_hat, drho_da, m)
        sse = self._backward(Ws, a, self.Y, m, sparsity_delta, gWs, gbs)
        decay = self._decay(Ws, gWs)
        terms = {
            "squared_error": 0.5 * sse / m,
            "weight_decay": decay,
            "sparsity": sparsity,
            "rho_hat": rho_hat,
        }
        terms["cost"] = terms["squared_error"] + terms["weight_decay"] + terms["sparsity"]
        return terms, self.backend.to_host(grad)

    def terms(self, theta):
        """Each term of J_sparse at θ, their sum ``cost``, and ``rho_hat``."""
        return self.evaluate(theta)[0]

    def __call__(self, theta):
        """``(J_sparse(θ), ∇J_sparse(θ))``, the gradient as a new float64 array."""
        terms, grad = self.evaluate(theta)
        return terms["cost"], grad
