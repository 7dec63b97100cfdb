"""Gradient checking by central differences (notes §2.3), on functions with known gradients."""

import numpy as np
import pytest

from sparseae import check_gradient, numerical_gradient


def h(x):
    """h(x) = x1^2 + 3 x1 x2, with its exact gradient."""
    return x[0] ** 2 + 3 * x[0] * x[1], np.array([2 * x[0] + 3 * x[1], 3 * x[0]])


def test_simple_function_at_4_10():
    assert check_gradient(h, [4.0, 10.0]) < 1e-10


def test_numerical_gradient_values():
    np.testing.assert_allclose(numerical_gradient(lambda x: h(x)[0], [4.0, 10.0]), [38.0, 12.0])


def test_check_gradient_catches_a_wrong_gradient():
    def wrong(x):
        cost, grad = h(x)
        return cost, grad * 1.01

    assert check_gradient(wrong, [4.0, 10.0]) > 1e-3


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="epsilon must be positive"):
        numerical_gradient(lambda x: 0.0, [1.0], epsilon=0.0)
    with pytest.raises(ValueError, match="epsilon must be positive"):
        numerical_gradient(lambda x: 0.0, [1.0], epsilon=float("nan"))
    with pytest.raises(ValueError, match="theta must be a 1-D vector"):
        numerical_gradient(lambda x: 0.0, [[1.0]])
    with pytest.raises(ValueError, match=r"gradient of shape \(3,\) for theta of shape \(2,\)"):
        check_gradient(lambda x: (0.0, np.zeros(3)), [1.0, 2.0])
