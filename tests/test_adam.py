"""Adam, the streaming solver's optimizer: it sees θ and gradients, nothing else."""

import numpy as np
import pytest

from sparseae import NonFiniteCostError, SparseAutoencoder
from sparseae.optim.adam import Adam
from sparseae.training.minibatch import run_epoch
from sparseae.training.schedules import step_schedule

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
    import sparseae.training.minibatch as minibatch

    X = rng.uniform(0.1, 0.9, size=(300, 16))
    steps = []
    original = minibatch.run_epoch

    def recording(functions, theta, optimizer, learning_rate):
        steps.append(learning_rate)
        return original(functions, theta, optimizer, learning_rate)

    monkeypatch.setattr(minibatch, "run_epoch", recording)
    SparseAutoencoder(6, solver="adam", max_iter=8, learning_rate=0.004, random_state=0, **KW).fit(X)
    np.testing.assert_allclose(steps, [0.004] * 5 + [0.003, 0.002, 0.001])
    steps.clear()
    model = SparseAutoencoder(6, learning_rate=0.004, random_state=0, **KW)
    for _ in range(3):
        model.partial_fit(X)
    assert steps == [0.004] * 3


@pytest.mark.parametrize(
    "params, expected",
    [({}, 0.3), (dict(beta_1=0.6), 0.6), (dict(sparsity="l1", activation="relu"), 0.9),
     (dict(sparsity="topk", k=2, activation="relu"), 0.9), (dict(beta_1=0.0, sparsity="l1"), 0.0)],
)
def test_beta_1_auto_is_short_for_kl_and_kingma_and_bas_for_l1_and_topk(rng, monkeypatch, params, expected):
    from dataclasses import replace

    from sparseae.solvers import SOLVERS

    made = []
    recording = replace(SOLVERS["adam"], run=lambda size, beta1: made.append(beta1) or Adam(size, beta1))
    monkeypatch.setitem(SOLVERS, "adam", recording)
    X = rng.uniform(0.1, 0.9, size=(200, 8))
    kw = {k: v for k, v in KW.items() if params.get("sparsity", "kl") == "kl" or k == "weight_decay"}
    model = SparseAutoencoder(4, solver="adam", max_iter=2, random_state=0, **kw, **params).fit(X)
    model.partial_fit(X)  # continues with the same Adam
    assert made == [expected]


def test_every_penalty_has_its_beta_1_in_every_minibatch_solver():
    from sparseae.penalties import PENALTIES
    from sparseae.solvers import SOLVERS

    minibatch = [s for s in SOLVERS.values() if s.minibatch]
    assert minibatch
    for solver in minibatch:
        assert set(solver.beta_1) == set(PENALTIES) | {"none"}, solver.name


def test_beta_1_is_adams_momentum(rng):
    """β₁ = 0: the first step of each coordinate is α · sign(g), and so is every later one when
    v has not moved (RMSProp-like); β₁ = 0.9 averages, so a sign flip is damped."""
    grads = [np.array([1.0, 1.0]), np.array([-1.0, 1.0])]
    for beta1, second_step in ((0.0, [0.01, -0.01]), (0.9, None)):
        theta, adam = np.zeros(2), Adam(2, beta1)
        adam.step(theta, grads[0], 0.01)
        before = theta.copy()
        adam.step(theta, grads[1], 0.01)
        if second_step is not None:
            np.testing.assert_allclose(theta - before, second_step, rtol=1e-3)
        else:  # m = 0.09·1 - 0.1·1 < 0 in the first coordinate, tiny next to 0.19 in the second
            step = theta - before
            assert abs(step[0]) < 0.1 * abs(step[1])


@pytest.mark.parametrize("beta_1", [1.0, -0.1, "fast"])
def test_a_bad_beta_1_is_a_one_line_error_naming_it(rng, beta_1):
    from sparseae import ParameterError

    with pytest.raises(ParameterError, match="beta_1"):
        SparseAutoencoder(4, solver="adam", beta_1=beta_1).fit(rng.uniform(0.1, 0.9, size=(50, 8)))
