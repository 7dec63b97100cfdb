"""Where a fit starts: tied weights with unit decoder columns, a decoder bias at the rows' mean
or geometric median with the encoder's bias folding it out of the input, "auto" as measured,
and the same seed giving the same start."""

import numpy as np
import pytest
from scipy.optimize import minimize

import sparseae
from sparseae import ParameterError
from sparseae.initialisation import geometric_median


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(2)
    return rng.normal(size=(300, 6)) + np.array([3.0, -1, 0, 0, 2, 5])


def _start(X, **params):
    model = sparseae.SparseAutoencoder(10, **{"activation": "relu", "output_activation": "linear", "random_state": 4,
                                              **params})
    model._validate()
    return model._layout(X.shape[1]).unpack(model._initial_theta(X.shape[1], X))


def test_tied_weights_have_unit_decoder_columns_and_the_encoder_their_transpose(X):
    (W1, W2), _ = _start(X, sparsity="topk", k=3, init="tied")
    np.testing.assert_array_equal(W1, W2.T)
    np.testing.assert_allclose(np.linalg.norm(W2, axis=0), 1.0, rtol=1e-14)
    (U1, U2), _ = _start(X, sparsity="topk", k=3, init="tied")
    np.testing.assert_array_equal(U2, W2)  # the same random_state, the same start, bit for bit


def test_the_tied_decoder_columns_take_decoder_init_norm_and_auto_is_0_3_for_the_relu_family_under_adam(X):
    for params, norm in ((dict(sparsity="topk", k=3, solver="adam"), 0.3),
                         (dict(sparsity="topk", k=3, init="tied"), 1.0),  # L-BFGS: not measured, 1
                         (dict(sparsity="batchtopk", k=3), 1.0),
                         (dict(sparsity="batchtopk", k=3, solver="adam"), 0.3),
                         (dict(sparsity="jumprelu", solver="adam"), 0.3),
                         (dict(sparsity="l1", decoder_norm="unit", solver="adam"), 0.3),
                         (dict(sparsity="l1", init="tied"), 1.0),
                         (dict(sparsity="batchtopk", k=3, solver="adam", decoder_init_norm=0.1), 0.1)):
        (W1, W2), _ = _start(X, **params)
        np.testing.assert_array_equal(W1, W2.T)
        np.testing.assert_allclose(np.linalg.norm(W2, axis=0), norm, rtol=1e-14)
    with pytest.warns(UserWarning, match=r"decoder_init_norm=0\.1 is the tied start's; init='uniform'"):
        _start(X, sparsity="topk", k=3, init="uniform", decoder_init_norm=0.1)


def test_the_decoder_bias_is_folded_out_of_the_encoders_input(X):
    (W1, _), (b1, b2) = _start(X, sparsity="topk", k=3, init="tied", decoder_bias_init="mean")
    np.testing.assert_allclose(b2, X.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(X @ W1.T + b1, (X - b2) @ W1.T, rtol=1e-12, atol=1e-12)
    _, (_, zeros) = _start(X, sparsity="topk", k=3, decoder_bias_init="zeros")
    assert not zeros.any()


def test_the_geometric_median_minimises_the_summed_distance(X):
    heavy = np.vstack([X, np.full((30, 6), 40.0)])  # outlying rows drag the mean, not the median
    y = geometric_median(heavy)
    best = minimize(lambda v: np.linalg.norm(heavy - v, axis=1).sum(), heavy.mean(axis=0), method="Nelder-Mead",
                    options=dict(xatol=1e-10, fatol=1e-12, maxiter=20000, maxfev=40000))
    total = np.linalg.norm(heavy - y, axis=1).sum()
    assert total <= best.fun + 1e-8
    assert np.linalg.norm(y - X.mean(axis=0)) < np.linalg.norm(heavy.mean(axis=0) - X.mean(axis=0))
    _, (_, b2) = _start(heavy, sparsity="topk", k=3, decoder_bias_init="geometric_median")
    np.testing.assert_allclose(b2, y, rtol=1e-12)


def test_auto_is_tied_from_the_mean_for_batchtopk_and_for_the_relu_family_under_adam_uniform_from_zero_otherwise(X):
    tied = [dict(sparsity="batchtopk", k=3), dict(sparsity="batchtopk", k=3, solver="adam"),
            dict(sparsity="jumprelu", solver="adam"), dict(sparsity="topk", k=3, solver="adam"),
            dict(sparsity="l1", solver="adam")]
    for penalty in tied:
        (W1, W2), (_, b2) = _start(X, **penalty)
        np.testing.assert_array_equal(W1, W2.T)
        np.testing.assert_allclose(b2, X.mean(axis=0), rtol=1e-14)
    # (the KL penalty keeps UFLDL's start under Adam too, as the README says)
    for penalty in (dict(sparsity="topk", k=3), dict(sparsity="jumprelu"), dict(sparsity="l1"),
                    dict(sparsity="kl", solver="adam", activation="sigmoid")):
        (W1, W2), (_, b2) = _start(X, **penalty)
        assert not np.array_equal(W1, W2.T) and not b2.any()
        assert np.abs(W1).max() <= np.sqrt(6) / np.sqrt(6 + 10 + 1)  # UFLDL's U(±r)
    # partial_fit trains with Adam whatever ``solver`` says, and starts as Adam's fit does
    model = sparseae.SparseAutoencoder(10, activation="relu", output_activation="linear", sparsity="jumprelu",
                                       random_state=4, weight_decay=0.0)
    model._validate()
    (W1, W2), _ = model._layout(X.shape[1]).unpack(model._minibatch_theta(X.shape[1], X))
    np.testing.assert_array_equal(W1, W2.T)


def test_bad_initialisations_are_named():
    for params, says in [(dict(init="xavier"), "'init' parameter"),
                         (dict(decoder_bias_init="median"), "'decoder_bias_init' parameter"),
                         (dict(decoder_init_norm=0.0), "'decoder_init_norm' parameter")]:
        with pytest.raises(ParameterError, match=says):
            sparseae.SparseAutoencoder(4, **params).fit(np.random.default_rng(0).uniform(size=(20, 5)))
