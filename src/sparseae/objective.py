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

from .activations import DERIVATIVES
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

    Call it as ``cost, grad = objective(theta)``; θ is the flat vector of :class:`Layout`.
    This is the function that the optimizers and :func:`check_gradient` take.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``[s_1, ..., s_nl]``; ``s_1`` must equal X's columns and ``s_nl`` Y's.
    X : ndarray of shape (m, s_1)
        Inputs, one example per row.
    Y : ndarray of shape (m, s_nl), optional
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
    ρ̂ is clipped to [ε, 1 - ε] with ε the machine epsilon of the data's dtype before KL and
    its derivative are taken. Inside that interval the penalty is exact; at the clip the penalty
    is at most about log(1/ε) ≈ 36 per unit in float64, and its gradient stays finite, so an
    optimizer is pushed back towards ρ rather than handed an infinity.
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
            raise ValueError(f"X must have shape (m, {sizes[0]}), got {X.shape}")
        if Y.ndim != 2 or Y.shape != (X.shape[0], sizes[-1]):
            raise ValueError(f"Y must have shape ({X.shape[0]}, {sizes[-1]}), got {Y.shape}")
        self.X, self.Y = X, Y
        self.activation = activation
        self.output_activation = output_activation
        self.lam = float(weight_decay)
        self.rho = float(sparsity_target)
        self.beta = float(sparsity_weight)
        self.sparse_layer = int(sparse_layer)

    @property
    def size(self):
        """Length of θ."""
        return self.layout.size

    def _rho_hat(self, a):
        """ρ̂ from the sparse layer's activations, and dρ̂_j/da_ij · m (1 or 1/2 for tanh)."""
        if self.activation == "tanh":
            return (a.mean(axis=0) + 1.0) / 2.0, 0.5
        return a.mean(axis=0), 1.0

    def _clipped(self, rho_hat):
        eps = np.finfo(rho_hat.dtype).eps
        return np.clip(rho_hat, eps, 1.0 - eps)

    def _forward(self, theta):
        Ws, bs = self.layout.unpack(theta)
        a = forward(Ws, bs, self.X, self.activation, self.output_activation)
        return Ws, bs, a

    def terms(self, theta):
        """Each term of J_sparse at θ, their sum, and ρ̂.

        Returns
        -------
        dict
            ``squared_error``, ``weight_decay``, ``sparsity`` (β Σ KL, 0 without sparsity),
            ``cost`` (their sum), and ``rho_hat`` (array, None when β = 0).
        """
        Ws, _, a = self._forward(theta)
        m = self.X.shape[0]
        err = a[-1] - self.Y
        out = {
            "squared_error": 0.5 * float(np.vdot(err, err)) / m,
            "weight_decay": 0.5 * self.lam * sum(float(np.vdot(W, W)) for W in Ws),
            "sparsity": 0.0,
            "rho_hat": None,
        }
        if self.beta > 0:
            rho_hat, _ = self._rho_hat(a[self.sparse_layer - 1])
            out["sparsity"] = self.beta * float(kl_divergence(self.rho, self._clipped(rho_hat)).sum())
            out["rho_hat"] = rho_hat
        out["cost"] = out["squared_error"] + out["weight_decay"] + out["sparsity"]
        return out

    def __call__(self, theta):
        """``(J_sparse(θ), ∇J_sparse(θ))``; the gradient has θ's shape and dtype."""
        Ws, bs, a = self._forward(theta)
        grad = np.empty_like(theta)
        gWs, gbs = self.layout.unpack(grad)
        m = self.X.shape[0]

        # Squared error, and the output layer's δ(nl) = (a(nl) - y) ⊙ f'(z(nl)), carrying 1/m.
        delta = a[-1] - self.Y  # (m, s_nl)
        cost = 0.5 * float(np.vdot(delta, delta)) / m
        delta *= 1.0 / m
        DERIVATIVES[self.output_activation](a[-1], delta)

        # Weight decay (λ/2) Σ W², no decay on biases.
        if self.lam:
            cost += 0.5 * self.lam * sum(float(np.vdot(W, W)) for W in Ws)

        # Sparsity β Σ_j KL(ρ ‖ ρ̂_j), and its per-example δ term at the sparse layer.
        if self.beta > 0:
            rho_hat, drho_da = self._rho_hat(a[self.sparse_layer - 1])
            rho_hat = self._clipped(rho_hat)
            cost += self.beta * float(kl_divergence(self.rho, rho_hat).sum())
            sparsity_delta = (self.beta * drho_da / m) * kl_divergence_derivative(self.rho, rho_hat)

        # Backpropagation: ∇W(l) = δ(l+1)ᵀ a(l) / m + λ W(l),  ∇b(l) = Σ δ(l+1) / m.
        for l in range(len(Ws) - 1, -1, -1):
            np.matmul(delta.T, a[l], out=gWs[l])  # (s_{l+1}, s_l)
            if self.lam:
                gWs[l] += self.lam * Ws[l]
            np.sum(delta, axis=0, out=gbs[l])  # (s_{l+1},)
            if l == 0:
                break
            delta = delta @ Ws[l]  # (m, s_l): (W(l))ᵀ δ(l+1), one row per example
            if self.beta > 0 and l == self.sparse_layer - 1:
                delta += sparsity_delta
            DERIVATIVES[self.activation](a[l], delta)
        return cost, grad
