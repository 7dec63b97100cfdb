"""reconstruction_metrics: each figure against its formula, the same in chunks and from files,
and dead and dense units on a model built to have them."""


import numpy as np
import pytest

import sparseae
from sparseae import (
    ParameterError,
    SparseAutoencoder,
    SparseObjective,
    reconstruction_metrics,
)

pytestmark = pytest.mark.unconverged


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = rng.uniform(0.05, 0.95, size=(400, 12))
    model = SparseAutoencoder(6, sparsity_target=0.1, max_iter=40, random_state=0).fit(X[:300])
    return model, X[300:]


def test_each_figure_is_its_formula(fitted):
    model, X = fitted
    result = reconstruction_metrics(model, X)
    H = model.transform(X)
    R = model.reconstruct(X)
    assert result["fvu"] == pytest.approx(((R - X) ** 2).sum() / ((X - X.mean(axis=0)) ** 2).sum(), rel=1e-12)
    assert result["mse"] == pytest.approx(((R - X) ** 2).mean(), rel=1e-12)
    assert result["l0"] == pytest.approx((H > 0.5).sum(axis=1).mean())
    np.testing.assert_allclose(result["rho_hat"], H.mean(axis=0), rtol=1e-12)
    objective = SparseObjective([12, 6, 12], X, weight_decay=1e-4, sparsity_target=0.1, sparsity_weight=3.0)
    assert result["terms"]["cost"] == pytest.approx(objective(model.theta_)[0], rel=1e-12)
    assert result["n_examples"] == 100


def test_chunks_and_files_give_the_same_figures(fitted, tmp_path):
    model, X = fitted
    np.save(tmp_path / "x.npy", X)
    whole = reconstruction_metrics(model, X)
    sources = [(X, 7), (str(tmp_path / "x.npy"), 33), (np.load(tmp_path / "x.npy", mmap_mode="r"), 100)]
    for source, batch in sources:
        chunked = reconstruction_metrics(model, source, batch_size=batch)
        for key in ("fvu", "mse", "l0"):
            assert chunked[key] == pytest.approx(whole[key], rel=1e-12)
        assert chunked["terms"]["cost"] == pytest.approx(whole["terms"]["cost"], rel=1e-12)
        assert chunked["dead_units"] == whole["dead_units"] and chunked["dense_units"] == whole["dense_units"]


def test_dead_and_dense_units_and_the_threshold(fitted, tmp_path):
    model, X = fitted
    altered = sparseae.load(model.save(tmp_path / "m.safetensors"))
    altered.intercepts_[0][0] = -50.0  # unit 0 never fires (b is a view into theta_)
    altered.intercepts_[0][1] = 50.0  # unit 1 always does
    result = reconstruction_metrics(altered, X)
    assert 0 in result["dead_units"] and 1 in result["dense_units"]
    assert 1 not in result["dead_units"] and 0 not in result["dense_units"]
    # threshold 0: active is anything above the sigmoid's floor, which every output is
    floor = reconstruction_metrics(altered, X, threshold=0.0)
    assert floor["l0"] == 6 and floor["dead_units"] == [] and floor["dense_units"] == list(range(6))
    with pytest.raises(ParameterError, match="threshold must be in"):
        reconstruction_metrics(model, X, threshold=1.0)


def test_a_file_is_read_once(fitted, tmp_path, row_reads):
    model, X = fitted
    np.save(tmp_path / "x.npy", X)
    reconstruction_metrics(model, str(tmp_path / "x.npy"), batch_size=30)
    assert row_reads == [30, 30, 30, 30]  # 100 rows in one pass: J's terms come from the same sums


def test_explained_variance_is_centred_on_the_feature_means_by_a_hand_worked_example():
    """Rows (1, 10), (3, 10), (5, 16): column means (3, 12). A model that outputs the means for
    every row explains none of the variance: residuals (-2, -2), (0, -2), (2, 4), SSE 32, centred
    total 32, EV = 1 - 32/32 = 0. (About zero instead, as SAELens once computed it, it would
    score 1 - 32/491 = 0.935.)"""
    from sparseae import Layout

    X = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 16.0]])
    model = SparseAutoencoder(1, output_activation="linear", sparsity_weight=0.0, max_iter=1,
                              random_state=0).fit(X)
    theta = model.theta_.copy()
    Ws, bs = Layout([2, 1, 2]).unpack(theta)
    Ws[1][...], bs[1][...] = 0.0, [3.0, 12.0]  # x̂ = (3, 12) whatever x
    model._adopt(model._objective(X, None, None), theta)
    np.testing.assert_array_equal(model.reconstruct(X), [[3.0, 12.0]] * 3)
    result = reconstruction_metrics(model, X)
    assert result["fvu"] == 1.0 and result["explained_variance"] == 0.0
    assert result["mse"] == pytest.approx(32 / 6)
    assert 1 - 32 / (X**2).sum() == pytest.approx(0.935, abs=1e-3)  # the uncentred figure it must not be
    # a reconstruction halfway to each row: residuals halve, SSE 8, EV = 1 - 8/32
    half = SparseAutoencoder(2, output_activation="linear", sparsity_weight=0.0, activation="relu", max_iter=1,
                             random_state=0).fit(X)
    theta = half.theta_.copy()
    Ws, bs = Layout([2, 2, 2]).unpack(theta)
    Ws[0][...], bs[0][...] = np.eye(2), 0.0  # a(2) = relu(x) = x (x > 0)
    Ws[1][...], bs[1][...] = 0.5 * np.eye(2), [1.5, 6.0]  # x̂ = (x + mean) / 2
    half._adopt(half._objective(X, None, None), theta)
    np.testing.assert_allclose(half.reconstruct(X), (X + [3.0, 12.0]) / 2)
    assert reconstruction_metrics(half, X)["explained_variance"] == pytest.approx(0.75, rel=1e-12)
