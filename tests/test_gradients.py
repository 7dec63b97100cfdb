"""Gradient checks (notes §2.3) for every term alone and together, every activation, depth."""

import numpy as np
import pytest

from sparseae import SparseObjective, check_gradient, numerical_gradient


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


# Central differences have their own error, O(EPSILON^2) times the third derivative: at the
# notes' EPSILON = 1e-4 it is about 1.5e-9 relative on tanh layers here (and it shrinks 100x per
# 10x smaller EPSILON, test_difference_is_truncation_error). The network checks use 1e-5, where
# that truncation error is about 5e-11 and round-off is still smaller, so 1e-9 tests our math.
EPSILON = 1e-5


def _problem(rng, layer_sizes=(8, 5, 8), m=10, supervised=False, **kwargs):
    X = rng.uniform(0.05, 0.95, size=(m, layer_sizes[0]))
    Y = rng.uniform(0.05, 0.95, size=(m, layer_sizes[-1])) if supervised else None
    objective = SparseObjective(list(layer_sizes), X, Y, **kwargs)
    theta = objective.layout.initial_theta(0)
    theta += rng.normal(0.0, 0.01, size=theta.shape)  # biases off zero, so b's gradient is tested
    return objective, theta


def _difference(a, b):
    """The objective a - b: isolates one term of J_sparse, gradient included."""

    def fun(theta):
        ca, ga = a(theta)
        cb, gb = b(theta)
        return ca - cb, ga - gb

    return fun


ACTIVATION_PAIRS = [
    (hidden, output) for hidden in ("sigmoid", "tanh") for output in ("sigmoid", "tanh", "linear")
]
TERMS = {
    "squared_error": dict(weight_decay=0.0, sparsity_weight=0.0),
    "weight_decay": dict(weight_decay=0.1, sparsity_weight=0.0),
    "sparsity": dict(weight_decay=0.0, sparsity_weight=3.0, sparsity_target=0.1),
}


@pytest.mark.parametrize("activation, output_activation", ACTIVATION_PAIRS)
@pytest.mark.parametrize("term", sorted(TERMS))
def test_each_term_alone(rng, term, activation, output_activation):
    acts = dict(activation=activation, output_activation=output_activation)
    full, theta = _problem(rng, **acts, **TERMS[term])
    if term == "squared_error":
        fun = full
    else:
        base = SparseObjective([8, 5, 8], full.X, **acts)
        fun = _difference(full, base)
    cost, _ = fun(theta)
    assert cost > 0  # the term is really there
    assert check_gradient(fun, theta, EPSILON) < 1e-9


@pytest.mark.parametrize("activation, output_activation", ACTIVATION_PAIRS)
def test_all_terms_together_autoencoder(rng, activation, output_activation, elementwise_kernels):
    objective, theta = _problem(
        rng,
        activation=activation,
        output_activation=output_activation,
        weight_decay=1e-3,
        sparsity_target=0.1,
        sparsity_weight=3.0,
    )
    assert check_gradient(objective, theta, EPSILON) < 1e-9


@pytest.mark.parametrize("sparse_layer", [2, 3])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_four_layer_supervised_network(rng, activation, sparse_layer, elementwise_kernels):
    objective, theta = _problem(
        rng,
        layer_sizes=(6, 5, 4, 3),
        supervised=True,
        activation=activation,
        weight_decay=1e-2,
        sparsity_target=0.2,
        sparsity_weight=1.0,
        sparse_layer=sparse_layer,
    )
    assert check_gradient(objective, theta, EPSILON) < 1e-9


def test_difference_is_truncation_error(rng):
    """The residual at EPSILON = 1e-4 falls as EPSILON^2: it is the difference formula's."""
    objective, theta = _problem(rng, activation="tanh", output_activation="tanh")
    coarse = check_gradient(objective, theta, 1e-3)
    fine = check_gradient(objective, theta, 1e-4)
    assert 50 < coarse / fine < 200


def test_sparsity_delta_goes_inside_the_derivative(rng):
    """The notes print the β term outside f'(z); the exact gradient needs it inside."""
    objective, theta = _problem(rng, sparsity_weight=3.0, sparsity_target=0.1)
    cost, grad = objective(theta)
    Ws, bs = objective.layout.unpack(theta)
    # Rebuild ∇b1 with the β term added after the f' product, as printed in the notes.
    X, m = objective.X, objective.X.shape[0]
    a2 = 1 / (1 + np.exp(-(X @ Ws[0].T + bs[0])))
    a3 = 1 / (1 + np.exp(-(a2 @ Ws[1].T + bs[1])))
    d3 = (a3 - X) * a3 * (1 - a3)
    rho, rho_hat = 0.1, a2.mean(axis=0)
    sparse = 3.0 * (-rho / rho_hat + (1 - rho) / (1 - rho_hat))
    printed = ((d3 @ Ws[1]) * a2 * (1 - a2) + sparse).sum(axis=0) / m
    exact = ((d3 @ Ws[1] + sparse) * a2 * (1 - a2)).sum(axis=0) / m
    _, gbs = objective.layout.unpack(grad)
    np.testing.assert_allclose(gbs[0], exact, rtol=1e-10)
    assert not np.allclose(gbs[0], printed, rtol=1e-3)
