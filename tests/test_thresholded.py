"""JumpReLU and BatchTopK wherever the other penalties run: out of core (a .npy file read in
chunks), in float32, on the PyTorch backend, and from the command line."""

import json
import warnings

import numpy as np
import pytest

import sparseae
from sparseae.cli import main

pytestmark = pytest.mark.unconverged
PENALTIES = {"jumprelu": dict(sparsity="jumprelu", sparsity_weight=0.01, jumprelu_bandwidth=0.05),
             "batchtopk": dict(sparsity="batchtopk", k=3)}


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(5)
    return rng.normal(size=(600, 8)) @ rng.normal(size=(8, 8)) * 0.3


def _fit(X, penalty, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sparseae.SparseAutoencoder(16, activation="relu", output_activation="linear", random_state=0,
                                          **PENALTIES[penalty], **params).fit(X)


@pytest.mark.parametrize("penalty", PENALTIES)
def test_a_npy_file_read_in_chunks_trains_the_in_memory_model(X, tmp_path, penalty):
    np.save(tmp_path / "x.npy", X)
    memory = _fit(X, penalty, max_iter=15)
    chunked = _fit(str(tmp_path / "x.npy"), penalty, max_iter=15, batch_size=70)
    np.testing.assert_allclose(chunked.theta_, memory.theta_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(chunked.threshold_, memory.threshold_, rtol=1e-9)


@pytest.mark.parametrize("penalty", PENALTIES)
def test_float32_and_the_pytorch_backend(X, penalty):
    pytest.importorskip("torch", reason="the PyTorch backend needs torch")
    numpy64 = _fit(X, penalty, solver="adam", max_iter=3)
    torch64 = _fit(X, penalty, solver="adam", max_iter=3, device="cpu")
    np.testing.assert_allclose(torch64.theta_, numpy64.theta_, rtol=1e-9, atol=1e-12)
    single = _fit(X, penalty, solver="adam", max_iter=3, dtype="float32")
    np.testing.assert_allclose(single.theta_, numpy64.theta_, rtol=1e-3, atol=1e-4)
    l0 = sparseae.reconstruction_metrics(single, X)["l0"]
    assert 0 < l0 < 16


@pytest.mark.parametrize("penalty", PENALTIES)
def test_sparseae_train_and_export_on_the_command_line(X, tmp_path, penalty):
    np.save(tmp_path / "x.npy", X)
    flags = {"jumprelu": ["--sparsity", "jumprelu", "--sparsity-weight", "0.01", "--jumprelu-bandwidth", "0.05"],
             "batchtopk": ["--sparsity", "batchtopk", "--k", "3"]}[penalty]
    assert main(["train", "--data", str(tmp_path / "x.npy"), "--activation", "relu", "--output-activation",
                 "linear", "--n-hidden", "16", "--max-iter", "10", "--quiet", "--out", str(tmp_path / "run"),
                 *flags]) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert 0 < metrics["training"]["l0"] < 16
    model = sparseae.load(tmp_path / "run" / "model.safetensors")
    assert model.sparsity == penalty and model.threshold_ is not None
    assert main(["export", "--saelens", str(tmp_path / "run" / "model.safetensors"), str(tmp_path / "sae")]) == 0
    imported = sparseae.import_saelens(tmp_path / "sae")
    np.testing.assert_allclose(imported.transform(X), model.transform(X), rtol=1e-5,
                               atol=1e-5 * np.abs(model.transform(X)).max())
