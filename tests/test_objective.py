"""J_sparse's value: hand-worked numbers, each term, finiteness at saturation."""

import math

import numpy as np
import pytest

from sparseae import Layout, SparseObjective, kl_divergence


def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def test_hand_worked_one_unit_network():
    X = np.array([[0.5], [0.25]])
    objective = SparseObjective(
        [1, 1, 1], X, weight_decay=0.1, sparsity_target=0.2, sparsity_weight=2.0
    )
    theta = np.array([1.0, 0.0, 2.0, -1.0])  # W1, b1, W2, b2
    a2 = [sigmoid(0.5), sigmoid(0.25)]
    a3 = [sigmoid(2 * a - 1) for a in a2]
    squared_error = (0.5 * (a3[0] - 0.5) ** 2 + 0.5 * (a3[1] - 0.25) ** 2) / 2
    weight_decay = 0.05 * (1.0 + 4.0)
    rho_hat = sum(a2) / 2
    sparsity = 2.0 * (0.2 * math.log(0.2 / rho_hat) + 0.8 * math.log(0.8 / (1 - rho_hat)))
    terms = objective.terms(theta)
    assert terms["squared_error"] == pytest.approx(squared_error, rel=1e-14)
    assert terms["weight_decay"] == pytest.approx(weight_decay, rel=1e-14)
    assert terms["sparsity"] == pytest.approx(sparsity, rel=1e-14)
    assert terms["rho_hat"] == pytest.approx([rho_hat], rel=1e-14)
    cost, _ = objective(theta)
    assert cost == pytest.approx(squared_error + weight_decay + sparsity, rel=1e-14)
    assert terms["cost"] == pytest.approx(cost, rel=1e-14)


def test_biases_are_not_decayed(rng):
    X = rng.uniform(0.1, 0.9, size=(5, 4))
    with_decay = SparseObjective([4, 3, 4], X, weight_decay=0.5)
    without = SparseObjective([4, 3, 4], X)
    theta = Layout([4, 3, 4]).initial_theta(1)
    mask = Layout([4, 3, 4]).weight_mask()
    _, g1 = with_decay(theta)
    _, g0 = without(theta)
    np.testing.assert_allclose(g1[~mask], g0[~mask], rtol=0, atol=0)
    np.testing.assert_allclose(g1[mask] - g0[mask], 0.5 * theta[mask], rtol=1e-12, atol=1e-15)


def test_kl_is_zero_at_target_and_grows():
    assert kl_divergence(0.2, 0.2) == 0.0
    values = kl_divergence(0.2, np.array([0.2, 0.3, 0.5, 0.9]))
    assert np.all(np.diff(values) > 0)


def test_cost_stays_finite_when_units_saturate():
    X = np.full((4, 3), 0.5)
    objective = SparseObjective([3, 2, 3], X, sparsity_target=0.01, sparsity_weight=3.0)
    theta = np.zeros(objective.size)
    Ws, bs = objective.layout.unpack(theta)
    bs[0][:] = [-1000.0, 1000.0]  # unit 1 never fires (rho_hat = 0), unit 2 always (= 1)
    cost, grad = objective(theta)
    assert np.isfinite(cost) and np.all(np.isfinite(grad))
    assert cost > 3.0 * 2 * 0.01 * math.log(0.01 / 1e-15)  # both units heavily penalised


def test_tanh_rho_hat_is_rescaled_to_unit_interval(rng):
    X = rng.uniform(0.1, 0.9, size=(20, 4))
    objective = SparseObjective(
        [4, 3, 4], X, activation="tanh", sparsity_target=0.1, sparsity_weight=1.0
    )
    theta = objective.layout.initial_theta(0)
    Ws, bs = objective.layout.unpack(theta)
    a2 = np.tanh(X @ Ws[0].T + bs[0])
    np.testing.assert_allclose(objective.terms(theta)["rho_hat"], (a2.mean(axis=0) + 1) / 2)


def test_supervised_targets_are_used(rng):
    X = rng.uniform(0.1, 0.9, size=(6, 4))
    Y = rng.uniform(0.1, 0.9, size=(6, 2))
    objective = SparseObjective([4, 3, 2], X, Y)
    theta = objective.layout.initial_theta(0)
    out = objective.terms(theta)
    Ws, bs = objective.layout.unpack(theta)
    h = 1 / (1 + np.exp(-((1 / (1 + np.exp(-(X @ Ws[0].T + bs[0])))) @ Ws[1].T + bs[1])))
    assert out["squared_error"] == pytest.approx(0.5 * ((h - Y) ** 2).sum() / 6, rel=1e-13)


def test_gradient_does_not_depend_on_the_previous_call(rng):
    X = rng.uniform(0.1, 0.9, size=(6, 4))
    objective = SparseObjective([4, 3, 4], X, weight_decay=1e-3, sparsity_weight=3.0)
    t1 = objective.layout.initial_theta(1)
    t2 = objective.layout.initial_theta(2)
    c1, g1 = objective(t1)
    objective(t2)
    c1b, g1b = objective(t1)
    assert c1 == c1b
    np.testing.assert_array_equal(g1, g1b)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(sparsity_target=0.0, sparsity_weight=1.0), "sparsity_target must be in \\(0, 1\\)"),
        (dict(sparsity_target=1.5), "sparsity_target must be in \\(0, 1\\), got 1.5"),
        (dict(weight_decay=-1.0), "weight_decay must be in \\[0, inf\\]"),
        (dict(sparsity_weight=-0.1), "sparsity_weight"),
        (dict(activation="relu"), "activation must be one of 'sigmoid', 'tanh', got 'relu'"),
        (dict(output_activation="softmax"), "output_activation must be one of"),
        (dict(sparsity_weight=1.0, sparse_layer=3), "sparse_layer must be a hidden layer"),
    ],
)
def test_bad_hyperparameters(rng, kwargs, match):
    X = rng.uniform(size=(3, 4))
    with pytest.raises(ValueError, match=match):
        SparseObjective([4, 2, 4], X, **kwargs)


def test_bad_shapes(rng):
    X = rng.uniform(size=(3, 4))
    with pytest.raises(ValueError, match=r"X must have shape \(m, 5\), got \(3, 4\)"):
        SparseObjective([5, 2, 5], X)
    with pytest.raises(ValueError, match=r"Y must have shape \(3, 2\)"):
        SparseObjective([4, 2, 2], X, np.zeros((3, 3)))
    objective = SparseObjective([4, 2, 4], X)
    with pytest.raises(ValueError, match=r"theta must have shape \(22,\)"):
        objective(np.zeros(5))


@pytest.mark.parametrize("sparse_layer", [2, 3])
def test_ranges_and_blocks_do_not_change_the_result(rng, monkeypatch, sparse_layer):
    """Rows split over 3 threads in blocks of 7 (the last one partial) give the one-block result."""
    import sparseae._parallel as parallel

    X = rng.uniform(0.1, 0.9, size=(2000, 30))
    kwargs = dict(weight_decay=1e-3, sparsity_target=0.05, sparsity_weight=3.0, sparse_layer=sparse_layer)
    sizes = [30, 12, 9, 30]
    theta = Layout(sizes).initial_theta(0)
    monkeypatch.setattr(parallel, "MIN_ROWS_PER_CORE", 10**9)
    monkeypatch.setattr(parallel, "BLOCK_BYTES", 10**12)
    single = SparseObjective(sizes, X, **kwargs)(theta)
    monkeypatch.setattr(parallel, "n_cores", lambda: 3)
    monkeypatch.setattr(parallel, "MIN_ROWS_PER_CORE", 1)
    monkeypatch.setattr(parallel, "BLOCK_BYTES", 1)
    monkeypatch.setattr(parallel, "MIN_BLOCK_ROWS", 7)
    objective = SparseObjective(sizes, X, **kwargs)
    split = objective(theta)
    assert len(parallel.row_ranges(2000)) == 3 and objective._passes().block == 7
    assert split[0] == pytest.approx(single[0], rel=1e-13)
    np.testing.assert_allclose(split[1], single[1], rtol=1e-11, atol=1e-16)
    again = SparseObjective(sizes, X, **kwargs)(theta)  # same split: bit for bit
    assert again[0] == split[0] and np.array_equal(again[1], split[1])


def test_float32_objective_agrees_with_float64(rng):
    X = rng.uniform(0.1, 0.9, size=(500, 20))
    kwargs = dict(weight_decay=1e-3, sparsity_target=0.05, sparsity_weight=3.0)
    theta = Layout([20, 8, 20]).initial_theta(0)
    c64, g64 = SparseObjective([20, 8, 20], X, **kwargs)(theta)
    c32, g32 = SparseObjective([20, 8, 20], X.astype(np.float32), **kwargs)(theta)
    assert g32.dtype == np.float64  # what the optimizer sees is always float64
    assert c32 == pytest.approx(c64, rel=1e-5)
    assert np.linalg.norm(g32 - g64) / np.linalg.norm(g64) < 1e-4


def test_over_rows_waits_for_every_range_when_the_calling_thread_raises():
    """Ctrl-C in the calling thread's range: the other ranges finish before the error surfaces,
    so no thread is still writing into buffers the next evaluation reuses."""
    import threading
    import time

    from sparseae._parallel import over_rows

    finished = []

    def fn(i, lo, hi):
        if i == 0:
            raise KeyboardInterrupt
        time.sleep(0.2)
        finished.append(threading.current_thread().name)

    with pytest.raises(KeyboardInterrupt):
        over_rows(fn, [(0, 1), (1, 2)])
    assert len(finished) == 1
