"""Activation functions f and their derivatives f', written in terms of f's output.

Notes §2: for the sigmoid f(z) = 1 / (1 + exp(-z)), f'(z) = f(z) (1 - f(z)); for tanh,
f'(z) = 1 - f(z)^2. Backpropagation only ever needs f' at the activations a = f(z) that the
forward pass already holds, so each derivative here takes ``a`` rather than ``z``.

Adding an activation is two functions and two dict entries.
"""

import numpy as np


def sigmoid(z):
    r"""Logistic sigmoid, in place (a NumPy array or a PyTorch tensor).

    .. math:: f(z) = \frac{1}{1 + e^{-z}}
    """
    if isinstance(z, np.ndarray):
        # exp(-z) → ∞ for z < -709 gives 1/∞ = 0, as it should. Bit for bit what scipy's
        # expit computes, in four in-place steps that together take less time than it.
        with np.errstate(over="ignore"):
            np.exp(np.negative(z, out=z), out=z)
            z += 1.0
            return np.reciprocal(z, out=z)
    return z.sigmoid_()


def tanh(z):
    r"""Hyperbolic tangent, in place (a NumPy array or a PyTorch tensor).

    .. math:: f(z) = \tanh(z)
    """
    if isinstance(z, np.ndarray):
        return np.tanh(z, out=z)
    return z.tanh_()


def identity(z):
    """The linear output of a linear decoder: f(z) = z."""
    return z


def inplace_sigmoid_derivative(a, delta):
    """delta *= f'(z) with f'(z) = a (1 - a)."""
    delta *= a
    delta *= 1.0 - a


def inplace_tanh_derivative(a, delta):
    """delta *= f'(z) with f'(z) = 1 - a^2."""
    delta *= 1.0 - a * a


def inplace_identity_derivative(a, delta):
    """f'(z) = 1: delta is unchanged."""


ACTIVATIONS = {"sigmoid": sigmoid, "tanh": tanh, "linear": identity}
DERIVATIVES = {
    "sigmoid": inplace_sigmoid_derivative,
    "tanh": inplace_tanh_derivative,
    "linear": inplace_identity_derivative,
}
#: The interval each activation's output lies in: targets outside it cannot be reproduced.
OUTPUT_RANGES = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "linear": (-np.inf, np.inf)}
HIDDEN_ACTIVATIONS = ("sigmoid", "tanh")
