"""input_scaling="unit_mean_squared_norm": the fit sees c·x with E‖c x‖² = n, and the fitted model
takes raw rows: it is, bit for bit, the model fitted on c·X with c folded into its weights; from a
.npy file read in chunks it is the same model; the model file keeps c; what cannot apply is refused."""

import warnings

import numpy as np
import pytest

import sparseae
from sparseae import ParameterError
from sparseae.input_scaling import fold

pytestmark = pytest.mark.unconverged
KW = dict(activation="relu", output_activation="linear", max_iter=20, random_state=0)


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).normal(size=(500, 8)) * 40 + 3  # far from unit scale


def _fit(X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sparseae.SparseAutoencoder(16, **KW, **params).fit(X)


@pytest.mark.parametrize("penalty", [dict(sparsity="topk", k=3), dict(sparsity="batchtopk", k=3),
                                     dict(sparsity="jumprelu", sparsity_weight=0.01, solver="adam")],
                         ids=["topk", "batchtopk", "jumprelu"])
def test_the_model_is_the_one_fitted_on_scaled_rows_with_the_scale_folded_in(X, penalty):
    scaled = _fit(X, input_scaling="unit_mean_squared_norm", **penalty)
    c = scaled.input_scale_
    assert np.mean(((X * c) ** 2).sum(axis=1)) == pytest.approx(X.shape[1], rel=1e-12)
    plain = _fit(X * c, **penalty)
    np.testing.assert_array_equal(fold(plain._layout(8), plain.theta_.copy(), c), scaled.theta_)
    assert scaled.loss_ == plain.loss_  # J on the scaled rows
    np.testing.assert_allclose(scaled.transform(X), plain.transform(X * c), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(scaled.reconstruct(X), plain.reconstruct(X * c) / c, rtol=1e-12, atol=1e-10)


def test_a_npy_file_the_model_file_and_a_warm_start(X, tmp_path):
    scaled = _fit(X, input_scaling="unit_mean_squared_norm", sparsity="topk", k=3)
    np.save(tmp_path / "x.npy", X)
    chunked = _fit(str(tmp_path / "x.npy"), input_scaling="unit_mean_squared_norm", sparsity="topk", k=3,
                   batch_size=70)
    assert chunked.input_scale_ == scaled.input_scale_
    np.testing.assert_allclose(chunked.theta_, scaled.theta_, rtol=1e-9, atol=1e-12)
    scaled.save(tmp_path / "m.safetensors")
    back = sparseae.load(tmp_path / "m.safetensors")
    assert back.input_scale_ == scaled.input_scale_
    np.testing.assert_array_equal(back.transform(X), scaled.transform(X))
    # a warm start goes on from the scaled rows' model: 20 then 20 more iterations
    warm = _fit(X, input_scaling="unit_mean_squared_norm", sparsity="topk", k=3, warm_start=True)
    warm.set_params(max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warm.fit(X)
    assert warm.n_iter_ == 25 and warm.input_scale_ == scaled.input_scale_
    assert sparseae.reconstruction_metrics(warm, X)["fvu"] <= sparseae.reconstruction_metrics(scaled, X)["fvu"] + 1e-9


def test_what_cannot_apply_is_refused_in_one_line(X):
    with pytest.raises(ParameterError, match="input_scaling needs output_activation='linear'"):
        sparseae.SparseAutoencoder(4, input_scaling="unit_mean_squared_norm", max_iter=2).fit(np.clip(X, 0, 1))
    model = sparseae.SparseAutoencoder(4, input_scaling="unit_mean_squared_norm", sparsity="topk", k=2, **KW)
    with pytest.raises(ParameterError, match="which partial_fit does not see at once"):
        model.partial_fit(X)
    with pytest.raises(ParameterError, match="'input_scaling' parameter"):
        sparseae.SparseAutoencoder(4, input_scaling="standard", sparsity="topk", k=2, **KW).fit(X)
    with pytest.raises(sparseae.DataError, match="rows that are not all zero"):
        sparseae.SparseAutoencoder(4, input_scaling="unit_mean_squared_norm", sparsity="topk", k=2,
                                   **KW).fit(np.zeros((50, 8)))


def test_the_new_flags_on_the_command_line(X, tmp_path):
    from sparseae.cli import main

    np.save(tmp_path / "x.npy", X)
    assert main(["train", "--data", str(tmp_path / "x.npy"), "--activation", "relu", "--output-activation", "linear",
                 "--sparsity", "topk", "--k", "3", "--aux-k", "4", "--aux-k-weight", "0.05", "--dead-after", "100",
                 "--input-scaling", "unit_mean_squared_norm", "--n-hidden", "16", "--max-iter", "5", "--quiet",
                 "--out", str(tmp_path / "run")]) == 0
    model = sparseae.load(tmp_path / "run" / "model.safetensors")
    assert (model.aux_k, model.aux_k_weight, model.dead_after) == (4, 0.05, 100)
    assert model.input_scale_ == pytest.approx(np.sqrt(8 / np.mean((X ** 2).sum(axis=1))), rel=1e-12)
