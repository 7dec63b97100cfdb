"""Every registered loss: its value and the δ it starts backpropagation with."""

import numpy as np
import pytest

from sparseae.activations import ACTIVATIONS
from sparseae.engine import NumpyBackend
from sparseae.losses import LOSSES


def test_squared_error_is_half_the_sum_of_squares(rng):
    a, y = rng.uniform(size=(5, 3)), rng.uniform(size=(5, 3))
    delta = np.empty_like(a)
    value = LOSSES["squared_error"].value_and_delta(a, y, delta, NumpyBackend())
    assert value == pytest.approx(0.5 * ((a - y) ** 2).sum(), rel=1e-15)
    np.testing.assert_array_equal(delta, a - y)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_delta_is_the_derivative_of_the_value(rng, name):
    """δ against central differences: in a(n_l), or in z(n_l) through the loss's own output f."""
    loss = LOSSES[name]
    z = rng.normal(size=(4, 3))
    y = np.eye(3)[[0, 2, 1, 2]] if loss.check_targets else rng.uniform(0.1, 0.9, size=(4, 3))
    through = ACTIVATIONS[loss.output_activation] if loss.includes_output_derivative else None

    def value(v):
        a = v if through is None else NumpyBackend().activate(through, v.copy())
        return loss.value_and_delta(a, y, np.empty_like(a), NumpyBackend())

    a = z if through is None else NumpyBackend().activate(through, z.copy())
    delta = np.empty_like(a)
    loss.value_and_delta(a, y, delta, NumpyBackend())
    h, numeric = 1e-6, np.empty_like(z)
    for index in np.ndindex(z.shape):
        plus, minus = z.copy(), z.copy()
        plus[index] += h
        minus[index] -= h
        numeric[index] = (value(plus) - value(minus)) / (2 * h)
    np.testing.assert_allclose(delta, numeric, rtol=1e-7, atol=1e-9)


def test_cross_entropy_is_minus_the_log_probability_of_the_true_class():
    a = np.array([[0.7, 0.2, 0.1], [0.25, 0.25, 0.5]])
    y = np.array([[1.0, 0, 0], [0, 0, 1.0]])
    value = LOSSES["cross_entropy"].value_and_delta(a, y, np.empty_like(a), NumpyBackend())
    assert value == pytest.approx(-np.log(0.7) - np.log(0.5), rel=1e-15)
    tiny = np.array([[0.0, 1.0]])  # the true class's probability underflowed: bounded, not inf
    assert LOSSES["cross_entropy"].value_and_delta(tiny, np.array([[1.0, 0]]), np.empty((1, 2)),
                                                   NumpyBackend()) == pytest.approx(-np.log(np.finfo(float).tiny))
