"""Matryoshka dictionaries: J's data term is the sum of every prefix's reconstruction, its
gradient is exact (central differences), and the first m_1 units trained this way reconstruct
better on their own than the first m_1 units of the same model trained unnested."""

import warnings

import numpy as np
import pytest

import sparseae
from sparseae import ParameterError, check_gradient
from sparseae.objective import SparseObjective

pytestmark = pytest.mark.unconverged
WIDTHS = (2, 5, 9)


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).normal(size=(40, 6))


def _objective(X, **penalty):
    return SparseObjective([6, 9, 6], X, activation="relu", output_activation="linear", nested=WIDTHS,
                           weight_decay=1e-3, **penalty)


def _theta(objective):
    return objective.layout.initial_theta(0) + np.random.default_rng(1).normal(scale=0.05, size=objective.size)


def test_the_data_term_sums_every_prefix(X):
    objective = _objective(X, sparsity="topk", top_k=3)
    theta = _theta(objective)
    Ws, bs = objective.layout.unpack(theta)
    a = np.maximum(X @ Ws[0].T + bs[0], 0)
    np.put_along_axis(a, np.argsort(a, axis=1)[:, :-3], 0.0, axis=1)
    expected = sum(0.5 * ((a[:, :w] @ Ws[1][:, :w].T + bs[1] - X) ** 2).sum() for w in WIDTHS) / len(X)
    assert objective.terms(theta)["squared_error"] == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize("penalty", [dict(sparsity="topk", top_k=3), dict(sparsity="batchtopk", top_k=3),
                                     dict(sparsity="l1", sparsity_weight=0.1)], ids=["topk", "batchtopk", "l1"])
@pytest.mark.parametrize("chunk_size", [None, 7])
def test_the_gradient_is_exact_in_memory_and_in_chunks(X, penalty, chunk_size):
    objective = _objective(X, chunk_size=chunk_size, **penalty)
    assert check_gradient(objective, _theta(objective), 1e-5) < 1e-9


def test_the_first_prefix_alone_reconstructs_better_than_an_unnested_models_first_units():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(2000, 20)) * np.geomspace(3, 0.1, 20) @ np.linalg.qr(rng.normal(size=(20, 20)))[0]
    train, test = X[:1500], X[1500:]

    def fvu(model, n_units):
        return ((model.reconstruct(test, n_units=n_units) - test) ** 2).sum() / ((test - test.mean(0)) ** 2).sum()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kw = dict(activation="relu", output_activation="linear", sparsity="batchtopk", k=4, solver="adam",
                  max_iter=15, weight_decay=0.0, random_state=0)
        nested = sparseae.SparseAutoencoder(40, matryoshka=(4, 12, 40), **kw).fit(train)
        plain = sparseae.SparseAutoencoder(40, **kw).fit(train)
    assert fvu(nested, 4) < 0.8 * fvu(plain, 4), (fvu(nested, 4), fvu(plain, 4))
    assert fvu(nested, 40) < 1.0  # the whole dictionary still reconstructs


def test_bad_matryoshka_widths_are_one_line_errors(X):
    base = dict(activation="relu", sparsity="topk", k=2, max_iter=2)
    for params, says in [(dict(matryoshka=(4, 3, 8), output_activation="linear"), "must be increasing"),
                         (dict(matryoshka=(2, 4), output_activation="linear"), "must end at n_hidden=8"),
                         (dict(matryoshka=(0, 8), output_activation="linear"), "must be increasing"),
                         (dict(matryoshka=(2, 8), output_activation="sigmoid"), "needs output_activation='linear'")]:
        with pytest.raises(ParameterError, match=says):
            sparseae.SparseAutoencoder(8, **base, **params).fit(np.clip(X, 0, 1))
    with pytest.raises(ParameterError, match="n_units must be a whole number from 1 to 8"):
        sparseae.SparseAutoencoder(8, output_activation="linear", **base).fit(X).reconstruct(X, n_units=9)


def test_sparseae_train_matryoshka_on_the_command_line(tmp_path, capsys):
    from sparseae.cli import main

    X = np.random.default_rng(4).normal(size=(300, 8))
    np.save(tmp_path / "x.npy", X)
    common = ["train", "--data", str(tmp_path / "x.npy"), "--activation", "relu", "--output-activation", "linear",
              "--sparsity", "batchtopk", "--k", "2", "--n-hidden", "16", "--max-iter", "5", "--quiet"]
    assert main([*common, "--matryoshka", "4,16", "--out", str(tmp_path / "run")]) == 0
    model = sparseae.load(tmp_path / "run" / "model.safetensors")
    assert list(model.matryoshka) == [4, 16] and model.init == "auto"
    assert main([*common, "--matryoshka", "4,x", "--out", str(tmp_path / "bad")]) == 2
    assert main([*common, "--matryoshka", "4,12", "--out", str(tmp_path / "bad")]) == 2
    assert "must end at n_hidden=16" in capsys.readouterr().err and not (tmp_path / "bad").exists()


def test_a_matryoshka_batchtopk_model_exports_as_saelens_saves_its_own(tmp_path):
    """SAELens saves a Matryoshka-BatchTopK SAE as a JumpReLU SAE (the nesting is training only)."""
    X = np.random.default_rng(5).normal(size=(400, 8))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = sparseae.SparseAutoencoder(16, activation="relu", output_activation="linear", sparsity="batchtopk",
                                           k=3, matryoshka=(4, 16), solver="adam", max_iter=3,
                                           random_state=0).fit(X)
    folder = sparseae.export_saelens(model, tmp_path / "sae", dtype="float64")
    np.testing.assert_allclose(sparseae.import_saelens(folder).transform(X), model.transform(X), rtol=1e-12,
                               atol=1e-12)
    torch = pytest.importorskip("torch", reason="sae-lens needs PyTorch")
    sae_lens = pytest.importorskip("sae_lens", reason="sae-lens is not installed (pip install sae-lens)")
    sae = sae_lens.SAE.load_from_disk(str(folder))
    assert type(sae).__name__ == "JumpReLUSAE"
    with torch.no_grad():
        np.testing.assert_allclose(sae.encode(torch.tensor(X)).numpy(), model.transform(X), rtol=1e-12, atol=1e-12)
