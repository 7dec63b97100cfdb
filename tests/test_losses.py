"""Every registered loss: its value and the δ it starts backpropagation with."""

import numpy as np
import pytest

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
    loss = LOSSES[name]
    a, y = rng.uniform(0.1, 0.9, size=(4, 3)), rng.uniform(0.1, 0.9, size=(4, 3))
    delta = np.empty_like(a)
    loss.value_and_delta(a, y, delta, NumpyBackend())
    h, numeric = 1e-6, np.empty_like(a)
    for index in np.ndindex(a.shape):
        plus, minus = a.copy(), a.copy()
        plus[index] += h
        minus[index] -= h
        scratch = np.empty_like(a)
        numeric[index] = (loss.value_and_delta(plus, y, scratch, NumpyBackend())
                          - loss.value_and_delta(minus, y, scratch, NumpyBackend())) / (2 * h)  # fmt: skip
    np.testing.assert_allclose(delta, numeric, rtol=1e-7, atol=1e-9)
