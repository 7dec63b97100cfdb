"""BatchTopK: each evaluation keeps the k·m largest activations of its m rows over all rows and
units. The selection is the same whatever the chunks, blocks and cores (checked against one
NumPy selection over all the rows), the gradient through the kept units is exact, training
batches keep k per example and held-out rows about k, and the fitted threshold travels with the
model: into its file and into SAELens, which saves BatchTopK as a JumpReLU SAE."""

import warnings

import numpy as np
import pytest

import sparseae
from sparseae import ParameterError, check_gradient
from sparseae.engine import parallel
from sparseae.objective import SparseObjective

pytestmark = pytest.mark.unconverged
N, S, K = 6, 9, 3


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).normal(size=(1500, N))


def _objective(X, **params):
    return SparseObjective([N, S, N], X, activation="relu", output_activation="linear", sparsity="batchtopk",
                           top_k=K, weight_decay=1e-3, **params)


def _theta(objective):
    theta = objective.layout.initial_theta(0)
    theta += np.random.default_rng(1).normal(scale=0.05, size=theta.shape)
    return theta


def test_the_selection_is_one_selection_over_all_rows_and_units(X):
    objective = _objective(X)
    theta = _theta(objective)
    terms = objective.terms(theta)
    Ws, bs = objective.layout.unpack(theta)
    a = np.maximum(X @ Ws[0].T + bs[0], 0)
    t = np.sort(a, axis=None)[-K * len(X)]  # the (k m)-th largest, by a plain sort
    assert objective.batch_threshold == pytest.approx(t, rel=1e-13)  # one product here, row blocks there
    kept = np.where(a >= t, a, 0)
    assert np.count_nonzero(kept) == K * len(X)  # k per example on average, some more, some fewer
    assert len(set(np.count_nonzero(kept, axis=1))) > 1
    h = kept @ Ws[1].T + bs[1]
    assert terms["squared_error"] == pytest.approx(0.5 * ((h - X) ** 2).sum() / len(X), rel=1e-13)
    assert terms["sparsity"] == 0.0


@pytest.mark.parametrize("chunk_size", [7, 100, 1499])
@pytest.mark.parametrize("cores", [1, 3])
def test_chunks_blocks_and_cores_change_nothing(X, monkeypatch, chunk_size, cores):
    whole = _objective(X)
    theta = _theta(whole)
    cost, grad = whole(theta)
    monkeypatch.setattr(parallel, "n_cores", lambda: cores)
    monkeypatch.setattr(parallel, "MIN_ROWS_PER_CORE", 10)
    other = _objective(X, chunk_size=chunk_size)
    other_cost, other_grad = other(theta)
    assert other.batch_threshold == pytest.approx(whole.batch_threshold, rel=1e-13)  # (BLAS on other shapes)
    assert other_cost == pytest.approx(cost, rel=1e-13)
    np.testing.assert_allclose(other_grad, grad, rtol=1e-11, atol=1e-15)


def test_the_gradient_through_the_kept_units_is_exact(X):
    objective = _objective(X[:40])
    assert check_gradient(objective, _theta(objective), 1e-5) < 1e-9


def _fit(X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sparseae.SparseAutoencoder(24, activation="relu", output_activation="linear", sparsity="batchtopk",
                                          k=K, weight_decay=0.0, random_state=0, **params).fit(X)


@pytest.mark.parametrize("params", [dict(solver="lbfgs", max_iter=60), dict(solver="adam", max_iter=20)],
                         ids=["lbfgs", "adam"])
def test_training_batches_keep_k_and_held_out_rows_about_k(X, params):
    model = _fit(X[:1000], **params)
    objective = model._objective(X[:100], None, 100)  # one minibatch of 100 rows, as Adam's
    objective.terms(model.theta_)
    counts, _ = objective._passes().gate_sums()
    assert counts.sum() == K * 100
    # transform on the training rows keeps exactly the selection: k per row on average, not one fewer (the
    # threshold lies between the kept and the left-out values, not on the smallest kept one)
    assert sparseae.reconstruction_metrics(model, X[:1000])["l0"] == K
    assert abs(sparseae.reconstruction_metrics(model, X[1000:])["l0"] - K) <= 0.1 * K
    assert np.all(model.threshold_ == model.threshold_[0]) and model.threshold_[0] > 0


def test_transform_uses_the_threshold_and_the_model_file_and_saelens_keep_it(X, tmp_path):
    model = _fit(X[:1000], solver="lbfgs", max_iter=30)
    z = X @ model.coefs_[0] + model.intercepts_[0]
    np.testing.assert_array_equal(model.transform(X), z * (z > model.threshold_))
    model.save(tmp_path / "m.safetensors")
    back = sparseae.load(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(back.transform(X), model.transform(X))
    folder = sparseae.export_saelens(model, tmp_path / "sae", dtype="float64")
    imported = sparseae.import_saelens(folder)  # as SAELens reads it: a JumpReLU SAE
    assert imported.sparsity == "jumprelu"
    np.testing.assert_allclose(imported.transform(X), model.transform(X), rtol=1e-12, atol=1e-12)
    torch = pytest.importorskip("torch", reason="sae-lens needs PyTorch")
    sae_lens = pytest.importorskip("sae_lens", reason="sae-lens is not installed (pip install sae-lens)")
    sae = sae_lens.SAE.load_from_disk(str(folder))
    with torch.no_grad():
        encoded = sae.encode(torch.tensor(X)).numpy()
    assert type(sae).__name__ == "JumpReLUSAE"
    np.testing.assert_allclose(encoded, model.transform(X), rtol=1e-12, atol=1e-12)


def test_bad_batchtopk_parameters_are_one_line_errors(X):
    base = dict(sparsity="batchtopk", output_activation="linear", max_iter=2)
    for params, says in [(dict(activation="sigmoid", k=2), "defined on 'relu' units, not activation='sigmoid'"),
                         (dict(activation="relu"), "needs k"),
                         (dict(activation="relu", k=8), "k=8 keeps every one of the n_hidden=8 units")]:
        with pytest.raises(ParameterError, match=says):
            sparseae.SparseAutoencoder(8, **base, **params).fit(X)


@pytest.mark.parametrize("case", ["mostly zeros", "few positives", "negatives", "nan", "ties"])
def test_the_count_largest_are_a_full_partitions_whatever_the_values(case):
    """The selection partitions only the positive values (and NaN) when there are enough of
    them; the multiset kept is always a full partition's."""
    from sparseae.engine.backend import largest_values

    rng = np.random.default_rng(8)
    values = rng.normal(size=5000).astype(np.float32)
    if case == "mostly zeros":
        values = np.maximum(values, 0) * (rng.random(5000) < 0.3)
    elif case == "few positives":
        values = -np.abs(values)
        values[:40] = 1.0 + rng.random(40)
    elif case == "nan":
        values[[7, 4000]] = np.nan
    elif case == "ties":
        values = np.round(np.maximum(values, 0), 1)
    count = 120
    expected = np.sort(np.partition(values, values.size - count)[values.size - count:])
    np.testing.assert_array_equal(np.sort(largest_values(values, count)), expected)
    assert largest_values(values[:50], count).size == 50  # fewer than count: all of them


def test_the_inference_threshold_lies_between_the_kept_and_the_left_out_values():
    from sparseae.batchtopk import thresholds

    rng = np.random.default_rng(9)
    values = np.maximum(rng.normal(size=900), 0)
    parts = np.array_split(values, 4)
    ordered = np.sort(values)[::-1]
    count = 100
    t, inference = thresholds((p[np.argsort(p)[-(count + 1):]] for p in parts), count)  # each part's count + 1
    assert t == ordered[count - 1] and inference == (ordered[count - 1] + ordered[count]) / 2
    assert (values > inference).sum() == count == (values >= t).sum()
    assert thresholds([np.array([3.0, 1.0, 0.0])], 2) == (1.0, 0.5)  # what is left out is 0: halfway to it
    assert thresholds([np.array([2.0, 0.0, 0.0])], 2) == (0.0, 0.0)  # fewer than count positive: z > 0
    assert thresholds([], 2) == (0.0, 0.0)
