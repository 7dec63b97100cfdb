"""Every registered sparsity penalty, ρ̂ from column sums, and the clip at saturation."""

import numpy as np
import pytest

from sparseae import SparseObjective, kl_divergence
from sparseae.activations import ACTIVATIONS, hidden_activations
from sparseae.engine import NumpyBackend
from sparseae.errors import ParameterError
from sparseae.penalties import PENALTIES, check_activation, mean_activation, sparsity_terms


def test_kl_is_zero_at_target_and_grows():
    assert kl_divergence(0.2, 0.2) == 0.0
    values = kl_divergence(0.2, np.array([0.2, 0.3, 0.5, 0.9]))
    assert np.all(np.diff(values) > 0)


@pytest.mark.parametrize("name", sorted(n for n in PENALTIES if PENALTIES[n].value is not None))
def test_derivative_matches_central_differences(name):
    penalty = PENALTIES[name]
    rho_hat, h = np.array([0.01, 0.1, 0.4, 0.9]), 1e-7
    numeric = (penalty.value(0.05, rho_hat + h) - penalty.value(0.05, rho_hat - h)) / (2 * h)
    np.testing.assert_allclose(penalty.derivative(0.05, rho_hat), numeric, rtol=1e-6)


@pytest.mark.parametrize("name", [n for n in hidden_activations() if np.isfinite(ACTIVATIONS[n].output_range[1])])
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


def test_rho_hat_of_a_relu_is_its_plain_mean(rng):
    a = rng.uniform(0, 7, size=(50, 4))
    rho_hat, drho_da = mean_activation(a.sum(axis=0), 50, ACTIVATIONS["relu"])
    np.testing.assert_allclose(rho_hat, a.mean(axis=0), rtol=1e-14)
    assert drho_da == 1.0


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_l1_is_beta_times_the_mean_absolute_activation(rng, activation):
    X = rng.uniform(0.05, 0.95, size=(30, 8))
    l1 = SparseObjective([8, 5, 8], X, activation=activation, sparsity="l1", sparsity_weight=0.7)
    theta = l1.layout.initial_theta(0)
    Ws, bs = l1.layout.unpack(theta)
    a = ACTIVATIONS[activation].f(X @ Ws[0].T, bs[0], np)
    assert l1.terms(theta)["sparsity"] == pytest.approx(0.7 * np.abs(a).sum() / 30, rel=1e-13)
    with pytest.raises(ParameterError, match="L1|off at 0"):
        check_activation(PENALTIES["l1"], ACTIVATIONS["tanh"])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_keep_top_k_keeps_each_rows_k_largest(rng, dtype):
    a = rng.uniform(0, 1, size=(200, 9)).astype(dtype)
    kept = a.copy()
    NumpyBackend(dtype).keep_top_k(kept, 3)
    assert (np.count_nonzero(kept, axis=1) == 3).all()
    threshold = np.sort(a, axis=1)[:, -3:-2]
    np.testing.assert_array_equal(kept, np.where(a >= threshold, a, 0))


@pytest.mark.unconverged
def test_topk_keeps_k_units_in_the_objective_and_in_transform(rng):
    import sparseae

    X = rng.uniform(0.05, 0.95, size=(60, 8))
    model = sparseae.SparseAutoencoder(5, sparsity="topk", k=2, max_iter=20, random_state=0)
    model.fit(X)
    H = model.transform(X)
    assert (np.count_nonzero(H, axis=1) <= 2).all()
    objective = model._objective(X, 60, 8)
    assert objective.terms(model.theta_)["cost"] == pytest.approx(model.loss_, rel=1e-12)
    assert 0.5 * ((model.reconstruct(X) - X) ** 2).sum() / 60 == pytest.approx(
        model.loss_terms_["squared_error"], rel=1e-10)


def _active_sets(objective, theta, X):
    Ws, bs = objective.layout.unpack(theta)
    a = ACTIVATIONS["sigmoid"].f(X @ Ws[0].T, bs[0], np)
    return np.argsort(-a, axis=1, kind="stable")[:, : objective.top_k]


def test_topk_gradient_check_holds_its_active_set_fixed(rng):
    """The central differences behind TopK's gradient check see one active set: at the checked θ
    every perturbation ±EPSILON of every component keeps each example's k units (so the check
    tests the gradient of one smooth function, the one TopK's backpropagation differentiates)."""
    from sparseae import check_gradient

    X = rng.uniform(0.05, 0.95, size=(10, 8))
    objective = SparseObjective([8, 5, 8], X, sparsity="topk", top_k=2, weight_decay=1e-3)
    theta = objective.layout.initial_theta(0) + rng.normal(0, 0.01, size=objective.size)
    eps = 1e-5
    at = np.sort(_active_sets(objective, theta, X), axis=1)
    for i in range(objective.size):
        for sign in (1, -1):
            moved = theta.copy()
            moved[i] += sign * eps
            np.testing.assert_array_equal(np.sort(_active_sets(objective, moved, X), axis=1), at)
    assert check_gradient(objective, theta, eps) < 1e-9


@pytest.mark.parametrize("sparsity, activation, extra", [
    ("l1", "relu", {}), ("topk", "relu", {"top_k": 2}), ("topk", "sigmoid", {"top_k": 3}),
    ("l1", "sigmoid", {"decoder_norm": "unit"}), ("kl", "sigmoid", {"decoder_norm": "unit"}),
])
def test_in_chunks_equals_in_memory_for_every_penalty(rng, sparsity, activation, extra):
    """The two-pass method recomputes the forward pass from layer 1 (TopK's selection included),
    the in-memory one starts from the kept a(k): the same J and gradient."""
    X = rng.uniform(0.05, 0.95, size=(37, 8))
    kw = dict(activation=activation, sparsity=sparsity, weight_decay=1e-3, sparsity_target=0.1,
              sparsity_weight=0.5, **extra)
    whole = SparseObjective([8, 5, 8], X, **kw)
    chunked = SparseObjective([8, 5, 8], X, chunk_size=6, **kw)
    theta = whole.layout.initial_theta(1) + rng.normal(0, 0.01, size=whole.size)
    (c1, g1), (c2, g2) = whole(theta), chunked(theta)
    assert c2 == pytest.approx(c1, rel=1e-12)
    np.testing.assert_allclose(g2, g1, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("rho, rho_hat, error, match", [
    (1.5, 0.2, "ParameterError", r"rho must be in \(0, 1\), got 1.5"),
    (0.0, 0.2, "ParameterError", r"rho must be in \(0, 1\)"),
    (0.2, [0.5, 0.0, 1.0], "DataError", r"rho_hat must be in \(0, 1\), got 0.0 \(2 value\(s\) outside\)"),
])
def test_kl_divergence_refuses_values_outside_its_domain(rho, rho_hat, error, match):
    import sparseae

    with pytest.raises(getattr(sparseae, error), match=match):
        kl_divergence(rho, rho_hat)
