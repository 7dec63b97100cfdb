r"""Losses: the data term of J and the δ it starts backpropagation with (notes §2.2).

A :class:`Loss` gives, for a block of outputs a(n_l) and targets y, the block's sum of the
per-example loss and its ∂/∂a(n_l) in a δ buffer; backpropagation multiplies that by
f'(z(n_l)) (unless the loss has) and divides by m. J's data term is the sum over m, over m.

To add a loss: write its function and :func:`register` it here; the gradient-check tests
iterate over :data:`LOSSES`, so it is checked at once. (Softmax cross-entropy with a softmax
output is next: its ∂/∂z(n_l) = a(n_l) - y, so it sets ``includes_output_derivative``.)
"""

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Loss:
    """``value_and_delta(a, y, delta, backend)`` writes ∂ℓ/∂a into ``delta`` and returns
    Σ_i ℓ(a_i, y_i) over the block (a backend scalar); ``includes_output_derivative``: δ is
    already ∂ℓ/∂z(n_l), so f'(z(n_l)) must not be applied again."""

    name: str
    value_and_delta: Callable
    includes_output_derivative: bool = False


LOSSES = {}


def register(loss):
    LOSSES[loss.name] = loss
    return loss


def squared_error(a, y, delta, backend):
    r"""The notes' squared error (eq. 8), summed over the block's examples:

    .. math:: \sum_i \tfrac12 \lVert h_{W,b}(x^{(i)}) - y^{(i)} \rVert^2, \qquad
              \frac{\partial}{\partial a^{(n_l)}} = a^{(n_l)} - y
    """
    backend.xp.subtract(a, y, out=delta)  # (rows, s_nl)
    return 0.5 * backend.sum_of_squares(delta)


register(Loss("squared_error", squared_error))
