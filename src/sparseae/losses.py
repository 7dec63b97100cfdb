r"""Losses: the data term of J and the δ it starts backpropagation with (notes §2.2).

A :class:`Loss` gives, for a block of outputs a(n_l) and targets y, the block's sum of the
per-example loss and its ∂/∂a(n_l) in a δ buffer; backpropagation multiplies that by
f'(z(n_l)) (unless the loss has) and divides by m. J's data term is the sum over m, over m.

To add a loss: write its function and :func:`register` it here; the gradient-check tests
iterate over :data:`LOSSES`, so it is checked at once. Softmax cross-entropy, with a softmax
output, gives ∂/∂z(n_l) = a(n_l) - y directly, so it sets ``includes_output_derivative``.
"""

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .errors import DataError


@dataclass(frozen=True)
class Loss:
    """``value_and_delta(a, y, delta, backend)`` writes ∂ℓ/∂a into ``delta`` and returns
    Σ_i ℓ(a_i, y_i) over the block (a backend scalar); ``includes_output_derivative``: δ is
    already ∂ℓ/∂z(n_l), so f'(z(n_l)) must not be applied again; ``fusable``: a backend's
    ``output_delta`` may compute this loss's δ(n_l) by its name, fused with the output layer's f,
    the 1/m, f'(z(n_l)) and Σ_i δ (``sparseae.engine.fused``: the squared error, and the
    cross-entropy after a softmax)."""

    name: str
    value_and_delta: Callable
    includes_output_derivative: bool = False
    output_activation: str = None  # the output layer it requires, if any
    check_targets: Callable = None  # raises DataError for targets it cannot take
    fusable: bool = False  # a backend may compute δ(n_l), /m and f' in one pass, by the loss's name


#: Every loss by name: what ``loss=`` accepts.
LOSSES = {}


def register(loss):
    """Make ``loss`` available by name everywhere (objective, estimators, tests)."""
    LOSSES[loss.name] = loss
    return loss


def squared_error(a, y, delta, backend):
    r"""The notes' squared error (eq. 8), summed over the block's examples:

    .. math:: \sum_i \tfrac12 \lVert h_{W,b}(x^{(i)}) - y^{(i)} \rVert^2, \qquad
              \frac{\partial}{\partial a^{(n_l)}} = a^{(n_l)} - y
    """
    backend.xp.subtract(a, y, out=delta)  # (rows, s_nl)
    return 0.5 * backend.sum_of_squares(delta)


register(Loss("squared_error", squared_error, fusable=True))


def cross_entropy(a, y, delta, backend):
    r"""Softmax regression's cost (UFLDL), summed over the block's examples, for softmax outputs
    a = p(j | x) and one-hot targets y:

    .. math:: -\sum_i \sum_j 1\{y^{(i)} = j\} \log p(j \mid x^{(i)}), \qquad
              \frac{\partial}{\partial z^{(n_l)}} = a^{(n_l)} - y

    The probabilities come from the max-subtracted softmax, so no exponential overflows; a
    log p is floored at the dtype's smallest normal number, so a true class whose probability
    underflows (a logit gap beyond ~700) costs about 708 rather than infinity.
    """
    xp = backend.xp
    log_a = xp.log(xp.clip(a, backend.tiny, None))  # (rows, classes)
    xp.subtract(a, y, out=delta)
    return -backend.vdot(y, log_a)


def _probability_rows(Y):
    """δ(n_l) = a - y is the gradient only when each target row is a distribution."""
    if Y.ndim != 2 or (Y < 0).any() or not np.allclose(Y.sum(axis=1), 1.0, atol=1e-6):
        raise DataError("cross-entropy targets must be rows of class probabilities (one-hot labels): "
                        "non-negative, each row summing to 1")


register(Loss("cross_entropy", cross_entropy, includes_output_derivative=True, output_activation="softmax",
              check_targets=_probability_rows, fusable=True))
