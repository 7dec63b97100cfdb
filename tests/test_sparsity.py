"""The penalties beyond the notes in the estimator: L1 and TopK on sigmoid or ReLU units, the
unit-norm decoder, what is refused and what is warned about, and that they save and load."""

import numpy as np
import pytest

import sparseae
from sparseae.cli import main

pytestmark = pytest.mark.unconverged


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).uniform(0.05, 0.95, size=(300, 16))


@pytest.mark.parametrize("params, unused", [
    (dict(sparsity="l1", sparsity_target=0.05), "sparsity_target=0.05"),
    (dict(sparsity="topk", k=3, sparsity_weight=1.0), "sparsity_weight=1.0"),
    (dict(sparsity="topk", k=3, sparsity_target=0.2), "sparsity_target=0.2"),
    (dict(sparsity="kl", k=3), "k=3"),
])
def test_a_setting_the_penalty_does_not_use_is_a_warning_naming_it(X, params, unused):
    with pytest.warns(UserWarning, match=f"sparsity='{params['sparsity']}' does not use {unused}"):
        sparseae.SparseAutoencoder(6, max_iter=2, random_state=0, **params).fit(X)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_l1_makes_codes_sparser_as_its_weight_grows(X, activation):
    l0 = []
    for beta in (0.0, 0.3, 3.0):
        model = sparseae.SparseAutoencoder(8, sparsity="l1", sparsity_weight=beta, activation=activation,
                                           output_activation="linear", max_iter=150, random_state=0).fit(X)
        l0.append(np.mean(np.abs(model.transform(X))))
    assert l0[0] > l0[1] > l0[2]


def test_unit_decoder_keeps_the_fitted_decoder_columns_at_unit_norm_and_loads_back(X, tmp_path):
    model = sparseae.SparseAutoencoder(8, sparsity="l1", sparsity_weight=0.5, activation="relu",
                                       output_activation="linear", decoder_norm="unit", max_iter=60,
                                       random_state=0).fit(X)
    np.testing.assert_allclose(np.linalg.norm(model.coefs_[1], axis=1), 1.0, rtol=1e-12)  # W2's columns
    objective = model._objective(X, *X.shape)
    assert objective.terms(model.theta_)["cost"] == pytest.approx(model.loss_, rel=1e-12)
    model.save(tmp_path / "m.safetensors")
    loaded = sparseae.load(tmp_path / "m.safetensors")
    assert loaded.decoder_norm == "unit"
    np.testing.assert_array_equal(loaded.reconstruct(X), model.reconstruct(X))


def test_topk_saves_its_k_and_encodes_the_same_after_loading(X, tmp_path):
    model = sparseae.SparseAutoencoder(8, sparsity="topk", k=3, activation="relu", output_activation="linear",
                                       max_iter=40, random_state=0).fit(X)
    model.save(tmp_path / "m.safetensors")
    loaded = sparseae.load(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))
    assert (np.count_nonzero(loaded.transform(X), axis=1) <= 3).all()
    assert sparseae.reconstruction_metrics(model, X)["l0"] <= 3


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_every_penalty_trains_with_every_solver_and_the_metrics_count_its_dead_units(X, solver):
    for params in (dict(sparsity="kl"), dict(sparsity="l1", sparsity_weight=0.1, activation="relu"),
                   dict(sparsity="topk", k=2, activation="relu")):
        model = sparseae.SparseAutoencoder(6, output_activation="linear", solver=solver, max_iter=15,
                                           random_state=0, **params).fit(X)
        start = model._objective(X, *X.shape).terms(sparseae.Layout([16, 6, 16]).initial_theta(0))["cost"]
        assert np.isfinite(model.loss_) and model.loss_ < start
        metrics = sparseae.reconstruction_metrics(model, X)
        never = np.flatnonzero((model.transform(X) > (0.5 if params.get("activation") is None else 0)).sum(0) == 0)
        assert metrics["dead_units"] == never.tolist()


def test_train_command_takes_the_new_penalties(tmp_path, capsys):
    argv = ["train", "--patches", "2000", "--max-iter", "20", "--quiet", "--activation", "relu",
            "--output-activation", "linear", "--sparsity", "topk", "--k", "4", "--resample-dead", "5"]
    assert main([*argv, "--out", str(tmp_path / "run")]) == 0
    model = sparseae.load(tmp_path / "run" / "model.safetensors")
    assert (model.sparsity, model.k, model.activation, model.resample_dead) == ("topk", 4, "relu", 5)
    assert main(["train", "--sparsity", "topk", "--out", str(tmp_path / "bad")]) == 2
    assert "--sparsity topk needs k" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
