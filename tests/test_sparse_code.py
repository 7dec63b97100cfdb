"""TopK's and BatchTopK's sparse-code evaluation (sparseae.sparse_code) against the dense one: the
same J and gradient to 1e-12 in float64, in memory, in chunks and on minibatches; chosen only where
it applies."""

import numpy as np
import pytest

from sparseae import Layout, SparseAutoencoder, SparseObjective, check_gradient, sparse_code

pytestmark = pytest.mark.unconverged
SIZES = [12, 64, 12]
#: k / width for the exactness tests' k = 4 of 64: the sparse path is taken above its measured
#: MAX_DENSITY here (where it is chosen is test_chosen_only_where_it_applies's).
DENSITY = 1 / 16


@pytest.fixture
def X(rng):
    return rng.standard_normal((400, 12))


@pytest.mark.parametrize("sparsity, activation", [("topk", "relu"), ("topk", "sigmoid"), ("batchtopk", "relu")])
@pytest.mark.parametrize("chunk_size", [None, 130])
def test_equal_to_the_dense_evaluation(X, monkeypatch, sparsity, activation, chunk_size):
    monkeypatch.setattr(sparse_code, "MAX_DENSITY", DENSITY)
    kw = dict(activation=activation, output_activation="linear", sparsity=sparsity, top_k=4, weight_decay=1e-3,
              chunk_size=chunk_size)
    theta = Layout(SIZES).initial_theta(0)
    dense, sparse = SparseObjective(SIZES, X, **kw), SparseObjective(SIZES, X, **kw)
    dense.sparse_code = False
    assert sparse.sparse_code
    (c0, g0), (c1, g1) = dense(theta), sparse(theta)
    assert abs(c1 - c0) <= 1e-12 * abs(c0)
    assert np.max(np.abs(g1 - g0)) <= 1e-12 * np.max(np.abs(g0))
    t0, gb0, _ = dense.evaluate_batch(theta, X[:100])
    t1, gb1, _ = sparse.evaluate_batch(theta, X[:100])
    assert abs(t1["cost"] - t0["cost"]) <= 1e-12 * abs(t0["cost"])
    assert np.max(np.abs(gb1 - gb0)) <= 1e-12 * np.max(np.abs(gb0))
    moved = theta + np.random.default_rng(1).normal(0, 0.1, theta.size)  # a point with no ties at k
    assert check_gradient(sparse, moved) < 1e-9


def test_chosen_only_where_it_applies(X):
    kw = dict(activation="relu", output_activation="linear")
    SIZES = [12, 256, 12]  # k = 4: 1/64 of the width, below MAX_DENSITY (1/48); k = 16: 1/16, above
    assert SparseObjective(SIZES, X, sparsity="topk", top_k=4, **kw).sparse_code
    assert not SparseObjective(SIZES, X, sparsity="topk", top_k=16, **kw).sparse_code
    assert not SparseObjective(SIZES, X, sparsity="l1", sparsity_weight=0.1, **kw).sparse_code
    assert not SparseObjective(SIZES, X, sparsity="topk", top_k=4, aux_k=8, **kw).sparse_code
    assert not SparseObjective(SIZES, X, sparsity="topk", top_k=4, nested=(64, 256), **kw).sparse_code
    assert not SparseObjective([12, 256, 20, 12], X, sparsity="topk", top_k=4, **kw).sparse_code
    assert SparseObjective(SIZES, X, sparsity="batchtopk", top_k=4, **kw).sparse_code
    assert not SparseObjective(SIZES, X, sparsity="batchtopk", top_k=16, **kw).sparse_code
    assert not SparseObjective(SIZES, X, sparsity="jumprelu", sparsity_weight=0.1, **kw).sparse_code


@pytest.mark.parametrize("sparsity", ["topk", "batchtopk"])
def test_a_fit_takes_it_and_matches_the_dense_fit(X, monkeypatch, sparsity):
    from sparseae import objective

    monkeypatch.setattr(sparse_code, "MAX_DENSITY", DENSITY)
    kw = dict(sparsity=sparsity, k=4, activation="relu", output_activation="linear", solver="adam", max_iter=3,
              random_state=0)
    sparse = SparseAutoencoder(64, **kw).fit(X)
    monkeypatch.setattr(objective, "applies", lambda *args: False)
    dense = SparseAutoencoder(64, **kw).fit(X)
    np.testing.assert_allclose(sparse.coefs_[0], dense.coefs_[0], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("sparsity", ["topk", "batchtopk"])
def test_the_same_with_the_fused_output_pass_and_without(X, monkeypatch, sparsity):
    """The decoder's f, the loss and δ(3) in the compiled pass where it is built, or NumPy's steps."""
    monkeypatch.setattr(sparse_code, "MAX_DENSITY", DENSITY)
    theta = Layout(SIZES).initial_theta(0)
    values = {}
    for setting in ("1", "0"):
        monkeypatch.setenv("SPARSEAE_FUSED", setting)
        objective = SparseObjective(SIZES, X, activation="relu", output_activation="linear", sparsity=sparsity,
                                    top_k=4, weight_decay=1e-3)
        assert objective.sparse_code
        values[setting] = objective(theta)
    (c1, g1), (c0, g0) = values["1"], values["0"]
    assert abs(c1 - c0) <= 1e-12 * abs(c0)
    assert np.max(np.abs(g1 - g0)) <= 1e-12 * np.max(np.abs(g0))
