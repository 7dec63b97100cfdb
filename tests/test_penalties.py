"""Every registered sparsity penalty, ρ̂ from column sums, and the clip at saturation."""

import numpy as np
import pytest

from sparseae import kl_divergence
from sparseae.activations import ACTIVATIONS, hidden_activations
from sparseae.penalties import PENALTIES, mean_activation, sparsity_terms


def test_kl_is_zero_at_target_and_grows():
    assert kl_divergence(0.2, 0.2) == 0.0
    values = kl_divergence(0.2, np.array([0.2, 0.3, 0.5, 0.9]))
    assert np.all(np.diff(values) > 0)


@pytest.mark.parametrize("name", sorted(PENALTIES))
def test_derivative_matches_central_differences(name):
    penalty = PENALTIES[name]
    rho_hat, h = np.array([0.01, 0.1, 0.4, 0.9]), 1e-7
    numeric = (penalty.value(0.05, rho_hat + h) - penalty.value(0.05, rho_hat - h)) / (2 * h)
    np.testing.assert_allclose(penalty.derivative(0.05, rho_hat), numeric, rtol=1e-6)


@pytest.mark.parametrize("name", hidden_activations())
def test_rho_hat_is_measured_on_the_activations_interval(rng, name):
    """0 is inactive and 1 fully active whatever f is: for tanh, the mean of (a + 1)/2."""
    lo, hi = ACTIVATIONS[name].output_range
    a = rng.uniform(lo, hi, size=(50, 4))
    rho_hat, drho_da = mean_activation(a.sum(axis=0), 50, ACTIVATIONS[name])
    np.testing.assert_allclose(rho_hat, ((a - lo) / (hi - lo)).mean(axis=0), rtol=1e-14)
    assert drho_da == 1.0 / (hi - lo)


def test_terms_stay_finite_at_saturation():
    value, delta = sparsity_terms(PENALTIES["kl"], 0.01, 3.0, np.array([0.0, 1.0]), 1.0, 4)
    assert np.isfinite(value) and np.isfinite(delta).all()
    assert value > 3.0 * 0.01 * np.log(0.01 / 1e-15)
    assert delta[0] < 0 < delta[1]  # pushes the silent unit up and the saturated one down
