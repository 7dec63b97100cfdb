"""Adam, the streaming solver's optimizer: it sees θ and gradients, nothing else."""

import numpy as np
import pytest

from sparseae import NonFiniteCostError, SparseAutoencoder
from sparseae.optim.adam import Adam, run_epoch, step_schedule

KW = dict(weight_decay=1e-3, sparsity_target=0.05, sparsity_weight=3.0)


def test_first_step_moves_each_coordinate_by_the_step_size():
    """With bias correction, Adam's first step is α · sign(g) (up to ε)."""
    theta, grad = np.zeros(3), np.array([2.0, -0.5, 1e-2])
    Adam(3).step(theta, grad, 0.01)
    np.testing.assert_allclose(theta, [-0.01, 0.01, -0.01], rtol=1e-4)


def test_an_epoch_of_quadratics_walks_downhill():
    target = np.array([1.0, -2.0])

    def fun(theta):
        return float(((theta - target) ** 2).sum()), 2 * (theta - target)

    theta, adam = np.zeros(2), Adam(2)
    costs = [run_epoch([fun] * 100, theta, adam, 0.05) for _ in range(20)]
    assert costs[-1] < 1e-3 * costs[0] and adam.t == 2000


def test_a_non_finite_minibatch_keeps_theta_before_it():
    calls = []

    def fun(theta):
        calls.append(1)
        return (float("nan"), theta) if len(calls) == 3 else (1.0, np.ones_like(theta))

    theta = np.zeros(2)
    with pytest.raises(NonFiniteCostError, match="non-finite") as info:
        run_epoch([fun] * 5, theta, Adam(2), 0.1)
    np.testing.assert_array_equal(info.value.theta, theta)  # two steps taken, not the third
    assert theta[0] < 0


def test_step_schedule_holds_then_decays_linearly():
    steps = [step_schedule(0.004, epoch, 8) for epoch in range(8)]
    np.testing.assert_allclose(steps, [0.004] * 5 + [0.003, 0.002, 0.001])


def test_fit_decays_the_step_over_the_second_half_and_partial_fit_does_not(rng, monkeypatch):
    import sparseae.estimator as estimator

    X = rng.uniform(0.1, 0.9, size=(300, 16))
    steps = []
    original = estimator.run_epoch

    def recording(functions, theta, optimizer, learning_rate):
        steps.append(learning_rate)
        return original(functions, theta, optimizer, learning_rate)

    monkeypatch.setattr(estimator, "run_epoch", recording)
    SparseAutoencoder(6, solver="adam", max_iter=8, learning_rate=0.004, random_state=0, **KW).fit(X)
    np.testing.assert_allclose(steps, [0.004] * 5 + [0.003, 0.002, 0.001])
    steps.clear()
    model = SparseAutoencoder(6, learning_rate=0.004, random_state=0, **KW)
    for _ in range(3):
        model.partial_fit(X)
    assert steps == [0.004] * 3
