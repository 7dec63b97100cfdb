"""The encoder reading x − b2 in training (``center_encoder``): a reparametrisation of the
autoencoder, so every way θ enters a fit (a start, a warm start, a checkpoint, a resampled unit)
and leaves it (the fitted network, its J) must go through it."""

import warnings

import numpy as np
import pytest

import sparseae
from sparseae import SparseObjective
from sparseae.initialisation import resolved_center_encoder
from sparseae.network import Layout, forward
from sparseae.resample import FIRING, resample

pytestmark = pytest.mark.unconverged

RELU = dict(activation="relu", output_activation="linear", weight_decay=0.0)


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(0)
    return rng.normal(size=(600, 12)) + 3.0  # a mean far from 0, so x and x − b2 differ


def test_auto_centres_l1_topk_and_batchtopk_under_adam_only():
    for sparsity in ("l1", "topk", "batchtopk"):
        assert resolved_center_encoder("auto", sparsity, minibatch=True)
        assert not resolved_center_encoder("auto", sparsity, minibatch=False)
    assert not resolved_center_encoder("auto", "kl", minibatch=True)
    assert not resolved_center_encoder("auto", "jumprelu", minibatch=True)
    assert resolved_center_encoder(True, "kl") and not resolved_center_encoder(False, "topk", minibatch=True)


@pytest.mark.parametrize("sparsity, extra", [("topk", dict(k=3)),
                                             ("l1", dict(sparsity_weight=0.1, decoder_norm="unit")),
                                             ("jumprelu", dict(sparsity_weight=0.01, jumprelu_bandwidth=0.05))])
def test_the_fitted_model_is_the_network_and_its_loss_is_that_networks_j(X, sparsity, extra):
    model = sparseae.SparseAutoencoder(8, sparsity=sparsity, solver="adam", max_iter=3, random_state=0,
                                       center_encoder=True, **RELU, **extra).fit(X)
    plain = SparseObjective([12, 8, 12], X, sparsity=sparsity, activation="relu", output_activation="linear",
                            sparsity_weight=model.sparsity_weight if sparsity != "topk" else 0.0,
                            top_k=model.k, jumprelu_bandwidth=model.jumprelu_bandwidth)
    assert model.loss_ == pytest.approx(plain(model.theta_)[0], rel=1e-12)
    W1, b1 = model.coefs_[0].T, model.intercepts_[0]
    H = np.maximum(X @ W1.T + b1, 0.0)
    if sparsity == "topk":
        H[H < np.sort(H, axis=1)[:, [-3]]] = 0.0
    if sparsity == "jumprelu":
        H[H <= model.threshold_] = 0.0
    np.testing.assert_allclose(model.transform(X), H, rtol=1e-12, atol=1e-12)


def test_centring_changes_the_fit_but_not_a_start_that_is_not_trained(X):
    params = dict(sparsity="topk", k=3, solver="adam", random_state=0, **RELU)
    start = {c: sparseae.SparseAutoencoder(8, max_iter=1, learning_rate=1e-300, center_encoder=c, **params).fit(X)
             for c in (False, True)}
    np.testing.assert_allclose(start[True].theta_, start[False].theta_, rtol=1e-12, atol=1e-12)
    fitted = {c: sparseae.SparseAutoencoder(8, max_iter=3, center_encoder=c, **params).fit(X) for c in (False, True)}
    assert not np.allclose(fitted[True].theta_, fitted[False].theta_)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_a_warm_start_goes_on_from_the_fitted_network(X, solver):
    model = sparseae.SparseAutoencoder(8, sparsity="l1", sparsity_weight=0.1, decoder_norm="unit", solver=solver,
                                       max_iter=4, random_state=0, center_encoder=True, **RELU).fit(X)
    before = model.theta_.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.set_params(warm_start=True, max_iter=1, learning_rate=1e-300) if solver == "adam" else None
        if solver == "lbfgs":
            model.set_params(warm_start=True, max_iter=1, tol=1e300)  # converged at once: θ0 adopted
        model.fit(X)
    np.testing.assert_allclose(model.theta_, before, rtol=1e-12, atol=1e-12)


def test_a_resampled_units_bias_is_for_the_rows_the_encoder_reads(rng):
    X = rng.uniform(0.1, 0.9, size=(2000, 16)) + 2.0
    layout = Layout([16, 6, 16])
    theta = layout.initial_theta(0)
    Ws, bs = layout.unpack(theta)
    bs[1][...] = X.mean(axis=0)
    Ws[0][[1, 4]] = 0.0
    resample(layout, theta, np.array([1, 4]), X, "relu", "linear", None, np.random.RandomState(0),
             centered_at=bs[1])
    network = theta.copy()
    (W1, _), (b1, b2) = layout.unpack(network)
    b1 -= W1 @ b2  # θ's b1 is the centred encoder's: the network's is b1 − W1 b2
    a = forward(*layout.unpack(network), X, "relu", "linear")[1]
    np.testing.assert_allclose((a[:, [1, 4]] > 0).mean(axis=0), FIRING, atol=0.01)


def test_lbfgs_windows_that_resample_keep_the_centred_coordinates(X):
    params = dict(sparsity="l1", sparsity_weight=0.3, decoder_norm="unit", solver="lbfgs", max_iter=40,
                  random_state=0, resample_dead=10, center_encoder=True, **RELU)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = sparseae.SparseAutoencoder(16, **params).fit(X)
    plain = SparseObjective([12, 16, 12], X, sparsity="l1", sparsity_weight=0.3, decoder_norm="unit",
                            activation="relu", output_activation="linear")
    assert model.loss_ == pytest.approx(plain(model.theta_)[0], rel=1e-12)
    assert model.loss_ <= model.loss_curve_[0]


def test_bad_values_are_refused_by_name(X):
    with pytest.raises(sparseae.ParameterError, match="center_encoder"):
        sparseae.SparseAutoencoder(4, center_encoder="yes").fit(X / 10)
