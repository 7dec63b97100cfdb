r"""Activation functions f and their derivatives f', registered together (notes §2).

Each :class:`Activation` holds f, applied in place to z + b, and f' written in terms of f's
output a = f(z): backpropagation only needs f' where the forward pass already holds a (notes
§2.2, implementation note), so

.. math:: \text{sigmoid: } f'(z) = a (1 - a), \qquad \text{tanh: } f'(z) = 1 - a^2.

Both are written once against an array namespace ``xp`` (NumPy, or PyTorch: the backend passes
the one its arrays belong to) and work in place: f overwrites z, and f' multiplies δ by f'(z)
and overwrites a, which backpropagation no longer needs once it has used a in ∇W.

To add an activation: write f and f', and :func:`register` them here. The gradient-check tests
iterate over :data:`ACTIVATIONS`, so the new one is checked at once.
"""

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .errors import ParameterError


@dataclass(frozen=True)
class Activation:
    """``f(z, b, xp)``: z ← f(z + b) in place (b broadcast over rows, or None), returns z;
    ``derivative(a, delta, xp)``: δ ← δ ⊙ f'(z) in place given a = f(z), a overwritten;
    ``output_range``: where f's values lie (targets outside it cannot be reproduced; ρ̂ is
    measured on it, notes footnote 3); ``hidden``: whether a hidden layer may use it;
    ``elementwise``: False when f couples a row's units (softmax), so that δ(n_l) must come
    from a loss that gives ∂/∂z(n_l) itself."""

    name: str
    f: Callable
    derivative: Callable
    output_range: tuple
    hidden: bool = True
    elementwise: bool = True


#: Every activation by name: what ``activation=`` and ``output_activation=`` accept.
ACTIVATIONS = {}


def register(activation):
    """Make ``activation`` available by name everywhere (estimator, objective, CLI, tests)."""
    ACTIVATIONS[activation.name] = activation
    return activation


def sigmoid(z, b, xp):
    r""".. math:: f(z) = \frac{1}{1 + e^{-z}}"""
    if b is None:
        xp.negative(z, out=z)
    else:
        xp.subtract(-b, z, out=z)  # -(z + b) in one step
    xp.exp(z, out=z)  # exp(-z) = inf for z < -709: 1/inf = 0, as it should
    z += 1.0
    return xp.reciprocal(z, out=z)


def sigmoid_derivative(a, delta, xp):
    r""".. math:: \delta \leftarrow \delta \odot a (1 - a)"""
    delta *= a
    xp.subtract(1.0, a, out=a)
    delta *= a


def tanh(z, b, xp):
    r""".. math:: f(z) = \tanh(z) = \frac{e^z - e^{-z}}{e^z + e^{-z}}"""
    if b is not None:
        z += b
    return xp.tanh(z, out=z)


def tanh_derivative(a, delta, xp):
    r""".. math:: \delta \leftarrow \delta \odot (1 - a^2)"""
    a *= a
    xp.subtract(1.0, a, out=a)
    delta *= a


def relu(z, b, xp):
    r""".. math:: f(z) = \max(0, z)"""
    if b is not None:
        z += b
    return xp.clip(z, 0.0, None, out=z)


def relu_derivative(a, delta, xp):
    r""".. math:: \delta \leftarrow \delta \odot [a > 0]

    (0 at z = 0 itself: a subgradient; a unit a TopK penalty switched off has a = 0 too, so no
    gradient reaches it through f')."""
    delta *= a > 0


def identity(z, b, xp):
    r"""UFLDL's linear decoder: .. math:: f(z) = z"""
    if b is not None:
        z += b
    return z


def identity_derivative(a, delta, xp):
    """f'(z) = 1: δ is unchanged."""


def softmax(z, b, xp):
    r"""Each row's class probabilities, stably (the row's largest z subtracted first):

    .. math:: f(z)_j = \frac{e^{z_j}}{\sum_{j'} e^{z_{j'}}}
    """
    if b is not None:
        z += b
    z -= xp.amax(z, axis=1, keepdims=True)  # no overflow for any z; the largest term is e^0
    xp.exp(z, out=z)
    z /= xp.sum(z, axis=1, keepdims=True)
    return z


def softmax_derivative(a, delta, xp):
    """Not elementwise: the cross-entropy loss gives δ(n_l) = a - y directly (see losses.py)."""
    raise ParameterError("softmax's derivative couples a row's units; pair it with loss='cross_entropy'")


register(Activation("sigmoid", sigmoid, sigmoid_derivative, (0.0, 1.0)))
register(Activation("tanh", tanh, tanh_derivative, (-1.0, 1.0)))
register(Activation("relu", relu, relu_derivative, (0.0, np.inf)))
register(Activation("linear", identity, identity_derivative, (-np.inf, np.inf), hidden=False))
register(Activation("softmax", softmax, softmax_derivative, (0.0, 1.0), hidden=False, elementwise=False))


def hidden_activations():
    """Names of the activations a hidden layer may use."""
    return tuple(name for name, act in ACTIVATIONS.items() if act.hidden)
