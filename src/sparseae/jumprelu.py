r"""JumpReLU units (Rajamanoharan et al. 2024): a learned threshold θ_j > 0 per hidden unit, an
L0 penalty, and the straight-through pseudo-gradients that train them.

.. math::

    a_j(z) = z_j\, H(z_j - \theta_j), \qquad
    J = \frac{1}{m}\sum_i \tfrac12 \lVert h(x^{(i)}) - x^{(i)} \rVert^2
        + \beta\, \frac{1}{m} \sum_i \sum_j H(z^{(i)}_j - \theta_j) + \frac{\lambda}{2} \sum W^2

with z = W(1) x + b(1) and H the step (H(u) = 1 for u > 0). Since θ_j > 0, a_j is also
relu(z_j) H(z_j − θ_j): a ReLU unit that stays off below its threshold.

Away from a jump, a_j is z_j or 0, so ∂a/∂z = H(z − θ) and the gradients in W and b are J's
own (the L0 term is piecewise constant in them: its true gradient there is 0, and none is
sent). In θ, J is piecewise constant too; the pseudo-gradients replace the derivative of H by
the rectangle kernel K(u/ε)/ε, with K(u) = 1 on \|u\| < 1/2 and ε = ``jumprelu_bandwidth``:

.. math::

    \frac{\partial a_j}{\partial \theta_j} \approx -\frac{\theta_j}{\varepsilon}
        K\Big(\frac{z_j - \theta_j}{\varepsilon}\Big), \qquad
    \frac{\partial H(z_j - \theta_j)}{\partial \theta_j} \approx -\frac{1}{\varepsilon}
        K\Big(\frac{z_j - \theta_j}{\varepsilon}\Big).

θ holds log θ_j (so θ_j stays positive under any step), and ∂J/∂log θ_j = θ_j ∂J/∂θ_j. These are
the estimators of SAELens's ``JumpReLUTrainingSAE`` with ``jumprelu_ste_to_input=False``
(DeepMind's); tests/test_jumprelu.py checks them against it under PyTorch autograd.
"""

import numpy as np

#: Rajamanoharan et al.'s bandwidth ε (every θ_j starts at their 0.001 too:
#: :meth:`sparseae.Layout.initial_theta`).
BANDWIDTH = 1e-3


class JumpReLU:
    """The thresholded layer of one evaluation: θ (exp of θ's log θ_j, computed in float64) put
    on ``backend``, the bandwidth ε and the L0 penalty's β. :meth:`forward` is the layer's f in
    the forward pass, :meth:`backward` its f′ in backpropagation (adding the pseudo-gradient in
    log θ); a :class:`Record` carries what one block's forward leaves for its backward."""

    def __init__(self, threshold, backend, bandwidth=BANDWIDTH, beta=0.0):
        self.backend = backend
        self.threshold = backend.from_host(threshold)
        self.bandwidth, self.beta = float(bandwidth), float(beta)

    def forward(self, z, b=None, record=None):
        r"""z ← (z + b) ⊙ H(z + b − θ) in place; with ``record``, the block's kernel window
        K((z − θ)/ε), and its per-unit counts Σ_i H and sums Σ_i a added up."""
        if b is not None:
            z += b
        if record is not None:
            record.window[: z.shape[0]] = self.backend.xp.abs(z - self.threshold) < 0.5 * self.bandwidth
        on = z > self.threshold
        z *= on
        if record is not None:
            record.add(self.backend, on, z)
        return z

    def backward(self, delta, a, m, record):
        r"""δ ← δ ⊙ H(z − θ) in place, with ``delta`` = ∂J/∂a(k) of the block's rows on entry; adds
        the block's pseudo-gradient in log θ to ``record.grad``:

        .. math:: \theta_j \Big( -\frac{\theta_j}{\varepsilon} \sum_i K_{ij}\, \frac{\partial J}{\partial a_{ij}}
                  - \frac{\beta}{m \varepsilon} \sum_i K_{ij} \Big)
        """
        backend, window = self.backend, record.window[: delta.shape[0]]
        through_a = backend.column_sums(window * delta)
        through_l0 = backend.column_sums(window)
        g = (-self.threshold / self.bandwidth) * through_a - (self.beta / (m * self.bandwidth)) * through_l0
        record.grad += self.threshold * g
        delta *= a != 0  # a = z > θ > 0 where on, exactly 0 where off
        return delta


class Record:
    """One worker's buffers for a thresholded layer: the kernel window of its current block
    (``rows`` × units, in the backend's dtype), the per-unit counts Σ H and sums Σ a over its
    blocks (host float64), and ``grad``, the log θ view of its gradient buffer."""

    def __init__(self, backend, rows, units, grad):
        self.window = backend.zeros((rows, units)) if grad is not None else None  # BatchTopK needs none
        self.grad = grad
        self.counts, self.sums = np.zeros(units), np.zeros(units)

    def add(self, backend, on, a):
        self.counts += backend.to_host(backend.column_sums(backend.as_values(on)))
        self.sums += backend.to_host(backend.column_sums(a))

    def zero(self):
        self.counts[...] = 0
        self.sums[...] = 0
