r"""AuxK (Gao et al. 2024): dead units learn to reconstruct what the live ones miss.

A unit is dead when it has been active on none of the last ``dead_after`` examples the fit has
evaluated (counted across evaluations by :class:`DeadCounter`). For each example the dead units'
``aux_k`` largest pre-activations make an auxiliary code z̃ (ReLU applied, the others 0), which
reconstructs the main reconstruction's residual e = x − h(x) through the decoder without its
bias; J gains

.. math:: \alpha \frac{1}{m} \sum_i \tfrac12 \lVert W^{(2)} \tilde z^{(i)} - e^{(i)} \rVert^2

with α = ``aux_k_weight`` (Gao et al.'s 1/32) and e held fixed (a stop-gradient, as every
implementation does: the live units are not pulled towards a worse reconstruction). Its gradient
reaches only the dead units' encoder rows, biases and decoder columns:

.. math:: g = \frac{\alpha}{m} (W^{(2)} \tilde z - e), \quad
          \nabla W^{(2)}_{:,\,D} \mathrel{+}= g^T \tilde z_D, \quad
          \nabla W^{(1)}_{D} \mathrel{+}= \big((g W^{(2)}_{:,\,D}) \odot [\tilde z_D > 0]\big)^T x.

SAELens's TopK SAEs take the same loss with the dead units' raw pre-activations (no ReLU) and a
scale min(#dead / k_aux, 1); OpenAI's and EleutherAI's keep the ReLU, as here.
"""

import numpy as np


class DeadCounter:
    """Examples since each unit was last active, over the evaluations of a fit; a unit is dead
    once that reaches ``dead_after``."""

    def __init__(self, units, dead_after):
        self.since = np.zeros(units)
        self.dead_after = dead_after

    def dead(self):
        """Indices of the dead units (host int array)."""
        return np.flatnonzero(self.since >= self.dead_after)

    def update(self, active, rows):
        """After an evaluation of ``rows`` examples in which the units ``active`` (a boolean
        mask) fired at least once."""
        self.since += rows
        self.since[np.asarray(active, dtype=bool)] = 0


def aux_term(x, residual, Ws, bs, dead, k_aux, weight, m, backend, grads):
    r"""The AuxK term of one block: adds its gradient into ``grads`` (∇W(1), ∇b(1), ∇W(2) views)
    and returns its Σ_i ½‖W(2) z̃ − e‖² times α (a backend scalar).

    ``x``: the block's rows; ``residual``: e = x − h(x) of those rows (rows, n); ``dead``: the
    dead units' indices (host); ``k_aux``: the dead units each example uses.
    """
    (W1, W2), (b1, _) = Ws, bs
    (gW1, gW2), (gb1, _) = grads
    index = backend.indices(dead)
    z = x @ W1[index].T + b1[index]  # the dead units' pre-activations: (rows, #dead)
    keep = min(k_aux, len(dead))
    if keep < len(dead):
        backend.keep_top_k(z, keep)  # each example's k_aux largest, the others 0
    z *= z > 0  # ReLU
    W2_dead = W2[:, index]  # (n, #dead)
    g = z @ W2_dead.T - residual  # W(2) z̃ − e: (rows, n)
    value = 0.5 * weight * backend.sum_of_squares(g)
    g *= weight / m
    gW2[:, index] += g.T @ z
    dz = (g @ W2_dead) * (z > 0)  # through the ReLU of the kept pre-activations
    gW1[index] += dz.T @ x
    gb1[index] += backend.column_sums(dz)
    return value
