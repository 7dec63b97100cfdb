import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sparseae import NonFiniteCostError, ParameterError, SparseObjective, minimize

A = np.diag([1.0, 4.0, 9.0])
B = np.array([1.0, -2.0, 0.5])


def quadratic(theta):
    """J = ½ θᵀAθ - Bᵀθ, minimised at A⁻¹B."""
    return 0.5 * theta @ A @ theta - B @ theta, A @ theta - B


@pytest.mark.parametrize("solver", ["lbfgs", "cg", "gd"])
def test_solvers_find_the_minimum(solver):
    result = minimize(
        quadratic, np.zeros(3), solver=solver, max_iter=2000, tol=1e-8, learning_rate=0.1
    )
    assert result.converged
    np.testing.assert_allclose(result.theta, np.linalg.solve(A, B), atol=1e-6)
    assert len(result.loss_curve) == result.n_iter


def test_gradient_descent_is_the_notes_update():
    with pytest.warns(ConvergenceWarning):
        result = minimize(quadratic, np.zeros(3), solver="gd", learning_rate=0.1, max_iter=1)
    np.testing.assert_allclose(result.theta, 0.1 * B)  # θ := θ - α∇J(θ), ∇J(0) = -B


def test_callback_sees_every_iteration_and_a_decreasing_cost(rng):
    X = rng.uniform(0.1, 0.9, size=(30, 6))
    objective = SparseObjective([6, 4, 6], X, weight_decay=1e-4, sparsity_weight=3.0)
    seen = []
    with pytest.warns(ConvergenceWarning):
        result = minimize(
            objective,
            objective.layout.initial_theta(0),
            max_iter=15,
            callback=lambda it, cost: seen.append((it, cost)),
        )
    assert [it for it, _ in seen] == list(range(1, result.n_iter + 1))
    costs = [c for _, c in seen]
    assert costs == result.loss_curve
    assert np.all(np.diff(costs) <= 1e-12)  # L-BFGS with line search never goes up
    assert costs[-1] == pytest.approx(objective(result.theta)[0])


def test_max_iter_is_a_convergence_warning_with_the_solvers_message():
    with pytest.warns(ConvergenceWarning, match="reached max_iter = 1"):
        minimize(quadratic, np.zeros(3), solver="lbfgs", max_iter=1, tol=1e-12)
    with pytest.warns(ConvergenceWarning, match="ITERATIONS REACHED LIMIT"):
        minimize(quadratic, np.zeros(3), solver="l-bfgs-b", max_iter=1, tol=1e-12)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        minimize(quadratic, np.zeros(3), solver="gd", max_iter=2, tol=1e-12)


def test_start_is_not_modified():
    theta0 = np.zeros(3)
    minimize(quadratic, theta0, tol=1e-8)
    assert not theta0.any()


def test_divergence_stops_with_the_last_finite_parameters():
    with pytest.raises(NonFiniteCostError, match="non-finite after") as info:
        minimize(quadratic, np.ones(3), solver="gd", learning_rate=1e3, max_iter=500)
    err = info.value
    assert err.n_iter > 0
    assert np.all(np.isfinite(err.theta))
    assert np.isfinite(quadratic(err.theta)[0])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(solver="newton"), r"'solver' parameter of minimize .* Got 'newton'"),
        (dict(solver="adam"), "solver 'adam' works on minibatches"),
        (dict(max_iter=0), r"'max_iter' .* range \[1, inf\)\. Got 0"),
        (dict(tol=-1.0), "'tol' parameter"),
        (dict(learning_rate=0.0), r"'learning_rate' .* range \(0.0, inf\)"),
    ],
)
def test_bad_solver_settings(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        minimize(quadratic, np.zeros(3), **kwargs)


@pytest.mark.parametrize("solver", ["lbfgs", "cg", "gd"])
def test_a_callback_sees_theta_and_can_stop_the_solver_without_a_warning(solver):
    seen = []

    def stop_at_three(iteration, cost, theta):
        seen.append((iteration, cost, theta.copy()))
        return iteration == 3

    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # a requested stop is not a failure
        result = minimize(quadratic, np.zeros(3), solver=solver, max_iter=100, tol=0.0,
                          learning_rate=0.05, callback=stop_at_three)
    assert [s[0] for s in seen] == [1, 2, 3] and len(result.loss_curve) == 3
    assert quadratic(seen[-1][2])[0] == pytest.approx(seen[-1][1])
