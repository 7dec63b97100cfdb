"""The math of one evaluation (sparseae.backprop): gradient checks (notes §2.3) of every term
alone and together, for every registered activation, loss and penalty, at several depths."""

import itertools

import numpy as np
import pytest

from sparseae import ParameterError, SparseObjective, check_gradient
from sparseae.activations import ACTIVATIONS, hidden_activations
from sparseae.backprop import weight_decay
from sparseae.losses import LOSSES
from sparseae.objective import compatible
from sparseae.penalties import PENALTIES, unsuited

# Central differences have their own error, O(EPSILON^2) times the third derivative: at the
# notes' EPSILON = 1e-4 it is about 1.5e-9 relative on tanh layers here (and it shrinks 100x per
# 10x smaller EPSILON, test_difference_is_truncation_error). The network checks use 1e-5, where
# that truncation error is about 5e-11 and round-off is still smaller, so 1e-9 tests our math.
EPSILON = 1e-5


def _problem(rng, layer_sizes=(8, 5, 8), m=10, supervised=False, **kwargs):
    X = rng.uniform(0.05, 0.95, size=(m, layer_sizes[0]))
    Y = rng.uniform(0.05, 0.95, size=(m, layer_sizes[-1])) if supervised else None
    if kwargs.get("loss") == "cross_entropy":  # one-hot labels, every class present
        Y = np.eye(layer_sizes[-1])[np.arange(m) % layer_sizes[-1]]
    if PENALTIES[kwargs.get("sparsity", "kl")].gated and "sparsity_weight" in kwargs:
        # JumpReLU's L0 term is constant in W and b (its only gradient, in log θ, is a pseudo-
        # gradient: tests/test_jumprelu.py); at β = 3 it would be most of J, and its size would
        # only add rounding to the central differences of the rest.
        kwargs["sparsity_weight"] *= 0.01
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


#: Every combination a contributor can register: checked the moment one is added.
ACTIVATION_PAIRS = list(itertools.product(hidden_activations(), ACTIVATIONS))
LOSSES_AND_PENALTIES = list(itertools.product(LOSSES, PENALTIES))
#: Those the objective accepts (softmax outputs go with the cross-entropy loss, and only they).
COMBINATIONS = [(h, o, loss, p) for (h, o), (loss, p) in itertools.product(ACTIVATION_PAIRS, LOSSES_AND_PENALTIES)
                if compatible(ACTIVATIONS[o], LOSSES[loss]) and unsuited(PENALTIES[p], ACTIVATIONS[h]) is None]
#: What a penalty needs besides ρ and β.
PENALTY_PARAMS = {"topk": {"top_k": 2}, "batchtopk": {"top_k": 2}}
SQUARED_ERROR_PAIRS = [(h, o) for h, o in ACTIVATION_PAIRS if compatible(ACTIVATIONS[o], LOSSES["squared_error"])]
TERMS = {
    "squared_error": dict(weight_decay=0.0, sparsity_weight=0.0),
    "weight_decay": dict(weight_decay=0.1, sparsity_weight=0.0),
    "sparsity": dict(weight_decay=0.0, sparsity_weight=3.0, sparsity_target=0.1),
}


@pytest.mark.parametrize("activation, output_activation", SQUARED_ERROR_PAIRS)
@pytest.mark.parametrize("term", sorted(TERMS))
def test_each_term_alone(rng, term, activation, output_activation):
    acts = dict(activation=activation, output_activation=output_activation)
    if term == "sparsity":  # the notes' KL where the activation takes it, L1 on a ReLU
        acts["sparsity"] = "kl" if unsuited(PENALTIES["kl"], ACTIVATIONS[activation]) is None else "l1"
    full, theta = _problem(rng, **acts, **TERMS[term])
    if term == "squared_error":
        fun = full
    else:
        base = SparseObjective([8, 5, 8], full.X, **{k: v for k, v in acts.items() if k != "sparsity"})
        fun = _difference(full, base)
    cost, _ = fun(theta)
    assert cost > 0  # the term is really there
    assert check_gradient(fun, theta, EPSILON) < 1e-9


@pytest.mark.parametrize("activation, output_activation, loss, sparsity", COMBINATIONS)
def test_all_terms_together(rng, activation, output_activation, loss, sparsity, elementwise_kernels):
    objective, theta = _problem(
        rng,
        activation=activation,
        output_activation=output_activation,
        loss=loss,
        sparsity=sparsity,
        weight_decay=1e-3,
        sparsity_target=0.1,
        sparsity_weight=3.0,
        **PENALTY_PARAMS.get(sparsity, {}),
    )
    assert check_gradient(objective, theta, EPSILON, where=~objective.pseudo_gradient_mask()) < 1e-9


@pytest.mark.parametrize("activation, sparsity", [(h, p) for h in hidden_activations() for p in PENALTIES
                                                  if unsuited(PENALTIES[p], ACTIVATIONS[h]) is None])
def test_unit_norm_decoder_reparametrisation(rng, activation, sparsity):
    """decoder_norm="unit": the gradient in the unscaled θ through the normalisation, and the
    network uses unit columns."""
    objective, theta = _problem(rng, activation=activation, sparsity=sparsity, weight_decay=1e-3,
                                sparsity_target=0.1, sparsity_weight=3.0, decoder_norm="unit",
                                **PENALTY_PARAMS.get(sparsity, {}))
    W = objective.layout.unpack(objective.effective_theta(theta))[0][-1]
    np.testing.assert_allclose(np.linalg.norm(W, axis=0), 1.0, rtol=1e-14)  # the network's decoder ...
    assert not np.allclose(np.linalg.norm(objective.layout.unpack(theta)[0][-1], axis=0), 1.0)  # not θ's
    assert check_gradient(objective, theta, EPSILON, where=~objective.pseudo_gradient_mask()) < 1e-9
    scaled = theta.copy()
    objective.layout.unpack(scaled)[0][-1][...] *= 3.0  # the cost does not see a column's scale
    assert objective(scaled)[0] == pytest.approx(objective(theta)[0], rel=1e-13)


@pytest.mark.parametrize("decoder_norm", [None, "unit"])
@pytest.mark.parametrize("activation, sparsity", [(h, p) for h in hidden_activations() for p in PENALTIES
                                                  if unsuited(PENALTIES[p], ACTIVATIONS[h]) is None])
def test_centered_encoder_reparametrisation(rng, activation, sparsity, decoder_norm):
    """center_encoder: θ's b1 is b̃1 = b1 + W1 b2 (the encoder reads x − b2), the gradient is J's in
    θ's coordinates (b2's includes its path through the encoder), and J is the network's."""
    params = dict(activation=activation, sparsity=sparsity, weight_decay=1e-3, sparsity_target=0.1,
                  sparsity_weight=3.0, decoder_norm=decoder_norm, **PENALTY_PARAMS.get(sparsity, {}))
    objective, theta = _problem(rng, center_encoder=True, **params)
    objective.layout.unpack(theta)[1][-1][...] += rng.normal(0.0, 0.3, size=8)  # a b2 far from 0
    assert check_gradient(objective, theta, EPSILON, where=~objective.pseudo_gradient_mask()) < 1e-9
    network = objective.effective_theta(theta)
    (W1, _), (b1, b2) = objective.layout.unpack(network)
    np.testing.assert_allclose(b1, objective.layout.unpack(theta)[1][0] - W1 @ b2, rtol=1e-14)
    plain = SparseObjective([8, 5, 8], objective.X, **{**params, "sparsity_weight": objective.beta})
    assert objective(theta)[0] == pytest.approx(plain(network)[0], rel=1e-13)  # the same network's J
    # a network's own θ (a start): the network again (θ's decoder scale aside, which it does not keep)
    np.testing.assert_allclose(objective.effective_theta(objective.parameters_of(network)), network,
                               rtol=1e-13, atol=1e-15)


def test_a_centered_encoder_needs_an_autoencoder(rng):
    X = rng.uniform(size=(6, 4))
    with pytest.raises(ParameterError, match="center_encoder needs an autoencoder"):
        SparseObjective([4, 3, 2], X, np.ones((6, 2)) / 2, center_encoder=True)
    with pytest.raises(ParameterError, match="center_encoder must be True or False"):
        SparseObjective([4, 3, 4], X, center_encoder="yes")


@pytest.mark.parametrize("sparse_layer", [2, 3])
@pytest.mark.parametrize("activation", hidden_activations())
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
        sparsity="kl" if unsuited(PENALTIES["kl"], ACTIVATIONS[activation]) is None else "l1",
    )
    assert check_gradient(objective, theta, EPSILON, where=~objective.pseudo_gradient_mask()) < 1e-9


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


def test_forward_matches_equations_6_7(rng):
    from sparseae.backprop import forward
    from sparseae.engine import NumpyBackend

    Ws = [rng.normal(size=(3, 4)), rng.normal(size=(2, 3))]
    bs = [rng.normal(size=3), rng.normal(size=2)]
    x = rng.normal(size=(5, 4))
    a = forward(Ws, bs, x, ACTIVATIONS["tanh"], ACTIVATIONS["linear"], NumpyBackend())
    a2 = np.tanh(x @ Ws[0].T + bs[0])
    np.testing.assert_allclose(a[1], a2, rtol=1e-14)
    np.testing.assert_allclose(a[2], a2 @ Ws[1].T + bs[1], rtol=1e-14)


def test_weight_decay_leaves_biases_alone(rng):
    Ws = [rng.normal(size=(3, 4))]
    gWs = [np.zeros((3, 4))]
    assert weight_decay(Ws, gWs, 0.5) == pytest.approx(0.25 * (Ws[0] ** 2).sum(), rel=1e-14)
    np.testing.assert_allclose(gWs[0], 0.5 * Ws[0], rtol=1e-15)
    assert weight_decay(Ws, gWs, 0.0) == 0.0
