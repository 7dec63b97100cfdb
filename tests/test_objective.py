"""J_sparse's value: hand-worked numbers, each term, finiteness at saturation."""

import math

import numpy as np
import pytest

from sparseae import DataError, Layout, ParameterError, SparseObjective
from sparseae.rows import NpyRows

KW = dict(weight_decay=1e-3, sparsity_target=0.05, sparsity_weight=3.0)


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
        (dict(sparsity_target=0.0, sparsity_weight=1.0), r"'sparsity_target' parameter of SparseObjective"),
        (dict(sparsity_target=1.5), r"'sparsity_target' .* range \(0.0, 1.0\)\. Got 1.5"),
        (dict(weight_decay=-1.0), r"'weight_decay' .* range \[0.0, inf\)"),
        (dict(sparsity_weight=-0.1), "'sparsity_weight'"),
        (dict(activation="softplus"), r"'activation' .* among \{'sigmoid', 'tanh', 'relu'\}\. Got 'softplus'"),
        (dict(activation="linear"), r"'activation' .* Got 'linear'"),  # an output-only f
        (dict(output_activation="softplus"), "'output_activation'"),
        (dict(output_activation="softmax"), "'softmax' and loss='squared_error' do not go together"),
        (dict(loss="cross_entropy"), "'sigmoid' and loss='cross_entropy' do not go together"),
        (dict(loss="hinge"), r"'loss' .* among \{'squared_error', 'cross_entropy'\}"),
        (dict(weight_decay=(0.1, -1.0)), r"'weight_decay' .* Got -1.0"),
        (dict(weight_decay=(0.1, 0.1, 0.1)), r"weight_decay needs one value per weight matrix \(2\), got 3"),
        (dict(sparsity="l2"), r"'sparsity' .* among \{'kl', 'l1', 'topk', 'jumprelu', 'batchtopk'\}"),
        (dict(sparsity="topk"), "needs k"),
        (dict(sparsity="topk", top_k=5), r"k must be a whole number from 1 to 1 \(fewer than the 2 units"),
        (dict(decoder_norm="l2"), "decoder_norm must be None or 'unit'"),
        (dict(sparsity_weight=1.0, sparse_layer=3), "sparse_layer must be a hidden layer"),
    ],
)
def test_bad_hyperparameters(rng, kwargs, match):
    X = rng.uniform(size=(3, 4))
    with pytest.raises(ParameterError, match=match):
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


def test_float32_objective_agrees_with_float64(rng):
    X = rng.uniform(0.1, 0.9, size=(500, 20))
    kwargs = dict(weight_decay=1e-3, sparsity_target=0.05, sparsity_weight=3.0)
    theta = Layout([20, 8, 20]).initial_theta(0)
    c64, g64 = SparseObjective([20, 8, 20], X, **kwargs)(theta)
    c32, g32 = SparseObjective([20, 8, 20], X.astype(np.float32), **kwargs)(theta)
    assert g32.dtype == np.float64  # what the optimizer sees is always float64
    assert c32 == pytest.approx(c64, rel=1e-5)
    assert np.linalg.norm(g32 - g64) / np.linalg.norm(g64) < 1e-4


def rel(a, b):
    return abs(a - b) / abs(b)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
@pytest.mark.parametrize("chunk_size", [1, 137, 999])
def test_chunked_objective_equals_in_memory(data, activation, chunk_size):
    X, path = data
    theta = Layout([20, 7, 20]).initial_theta(0) + 0.01
    reference = SparseObjective([20, 7, 20], X, activation=activation, **KW)
    c0, g0 = reference(theta)
    for source in (X, NpyRows(path), NpyRows(np.load(path, mmap_mode="r"))):
        objective = SparseObjective(
            [20, 7, 20], source, activation=activation, chunk_size=chunk_size, **KW
        )
        c, g = objective(theta)
        assert rel(c, c0) < 1e-12
        assert np.linalg.norm(g - g0) / np.linalg.norm(g0) < 1e-12
        terms = objective.terms(theta)
        np.testing.assert_allclose(terms["rho_hat"], reference.terms(theta)["rho_hat"], rtol=1e-12)


@pytest.fixture
def X(rng):
    return rng.uniform(0.05, 0.95, size=(600, 16))


def test_minibatch_gradient_with_batch_rho_hat_is_exact(X):
    """With ρ̂ from the batch itself, evaluate_batch is the full objective on those rows."""
    from sparseae import check_gradient

    objective = SparseObjective([16, 6, 16], X, chunk_size=50, **KW)
    rows = X[100:150]
    theta = objective.layout.initial_theta(0)
    terms, grad, rho_hat = objective.evaluate_batch(theta, rows)
    reference = SparseObjective([16, 6, 16], rows, **KW)
    c, g = reference(theta)
    assert terms["cost"] == pytest.approx(c, rel=1e-12)
    np.testing.assert_allclose(grad, g, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(rho_hat, reference.terms(theta)["rho_hat"], rtol=1e-12)

    def fun(t):
        batch_terms, batch_grad, _ = objective.evaluate_batch(t, rows)
        return batch_terms["cost"], batch_grad

    assert check_gradient(fun, theta, 1e-5) < 1e-9


def test_moving_average_of_rho_hat(X):
    objective = SparseObjective([16, 6, 16], X, chunk_size=50, **KW)
    theta = objective.layout.initial_theta(0)
    _, _, batch = objective.evaluate_batch(theta, X[:50])
    previous = np.full(6, 0.3)
    _, _, averaged = objective.evaluate_batch(theta, X[:50], previous, momentum=0.1)
    np.testing.assert_allclose(averaged, 0.9 * previous + 0.1 * batch)


def test_cross_entropy_needs_rows_of_class_probabilities(rng):
    X = rng.uniform(size=(4, 3))
    with pytest.raises(DataError, match="rows of class probabilities"):
        SparseObjective([3, 2], X, np.full((4, 2), 0.7), output_activation="softmax", loss="cross_entropy")


def test_weight_decay_per_layer(rng):
    X = rng.uniform(0.1, 0.9, size=(6, 4))
    theta = Layout([4, 3, 4]).initial_theta(0)
    Ws = Layout([4, 3, 4]).unpack(theta)[0]
    base = SparseObjective([4, 3, 4], X).terms(theta)["cost"]
    per_layer = SparseObjective([4, 3, 4], X, weight_decay=(0.0, 0.5)).terms(theta)["cost"]
    assert per_layer - base == pytest.approx(0.25 * (Ws[1] ** 2).sum(), rel=1e-12)


@pytest.mark.parametrize("chunk_size", [1, 7, 40])
def test_chunked_fine_tuning_objective_equals_in_memory(rng, chunk_size):
    """A supervised network (the stack's fine-tuning: softmax, cross-entropy) in the notes' two
    passes, chunk by chunk, equals the in-memory evaluation."""
    from sparseae.softmax import one_hot

    X, labels = rng.uniform(0.05, 0.95, size=(97, 9)), np.arange(97) % 3
    kw = dict(output_activation="softmax", loss="cross_entropy", weight_decay=(0.0, 1e-2), sparsity_weight=3.0,
              sparsity_target=0.1)
    theta = Layout([9, 5, 3]).initial_theta(0) + 0.01
    c0, g0 = SparseObjective([9, 5, 3], X, one_hot(labels, 3), **kw)(theta)
    c, g = SparseObjective([9, 5, 3], X, one_hot(labels, 3), chunk_size=chunk_size, **kw)(theta)
    assert c == pytest.approx(c0, rel=1e-12)
    assert np.linalg.norm(g - g0) / np.linalg.norm(g0) < 1e-12
