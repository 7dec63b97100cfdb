"""SAELens interchange: a sparseae model exported as a SAELens SAE folder encodes and decodes
in SAELens as it transforms and reconstructs here (within 1e-5 relative in float32), an SAE
made by SAELens imports as a SparseAutoencoder, and what has no counterpart is refused in one
line. The tests that need sae-lens itself run when it is installed (.ci/run installs it)."""

import json

import numpy as np
import pytest

import sparseae
from sparseae import ModelFileError, ParameterError, export_saelens, import_saelens
from sparseae.cli import main

pytestmark = pytest.mark.unconverged
ARCHITECTURES = [dict(sparsity="l1", sparsity_weight=1e-3), dict(sparsity="topk", k=4),
                 dict(sparsity="jumprelu", sparsity_weight=1e-2, jumprelu_bandwidth=0.1, solver="adam",
                      learning_rate=0.01)]
KINDS = {"l1": "standard", "topk": "topk", "jumprelu": "jumprelu"}


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).normal(size=(400, 16))


def _relu_model(X, **penalty):
    return sparseae.SparseAutoencoder(24, activation="relu", output_activation="linear", max_iter=30,
                                      random_state=0, **penalty).fit(X)


@pytest.mark.parametrize("penalty", ARCHITECTURES, ids=list(KINDS.values()))
def test_export_then_import_gives_the_same_model(X, tmp_path, penalty):
    model = _relu_model(X, **penalty)
    folder = export_saelens(model, tmp_path / "sae", dtype="float64")
    cfg = json.loads((folder / "cfg.json").read_text())
    assert cfg["architecture"] == KINDS[model.sparsity]
    assert (cfg["d_in"], cfg["d_sae"], cfg["apply_b_dec_to_input"]) == (16, 24, False)
    back = import_saelens(folder)
    np.testing.assert_array_equal(back.transform(X), model.transform(X))
    if model.sparsity == "jumprelu":  # the thresholds went out and came back, and they zero units
        np.testing.assert_allclose(back.threshold_, model.threshold_, rtol=1e-15)
        assert 0 < np.mean(back.transform(X) > 0) < np.mean(X @ model.coefs_[0] + model.intercepts_[0] > 0)
    np.testing.assert_array_equal(back.reconstruct(X), model.reconstruct(X))
    assert back.sparsity == model.sparsity and np.isfinite(back.score(X))


BATCH_K = [dict(sparsity="batchtopk", k=4, solver="adam", learning_rate=0.01),
           dict(sparsity="batchtopk", k=4, solver="adam", learning_rate=0.01, matryoshka=(6, 12, 24))]


@pytest.mark.parametrize("penalty", ARCHITECTURES + BATCH_K, ids=[*KINDS.values(), "batchtopk", "matryoshka"])
def test_saelens_loads_the_export_and_encodes_and_decodes_as_sparseae(X, tmp_path, penalty):
    torch = pytest.importorskip("torch", reason="sae-lens needs PyTorch")
    sae_lens = pytest.importorskip("sae_lens", reason="sae-lens is not installed (pip install sae-lens)")
    model = _relu_model(X, **penalty)
    export_saelens(model, tmp_path / "sae")
    sae = sae_lens.SAE.load_from_disk(str(tmp_path / "sae"))
    # (BatchTopK, nested or not, as SAELens saves its own: a JumpReLU SAE. Its threshold lies between
    # the training rows' kept and left-out values: on the smallest kept one, as it once did, float32's
    # rounding turned that unit on in SAELens, 0.29 of the largest activation off, in the nested case.)
    kind = {"l1": "StandardSAE", "topk": "TopKSAE", "jumprelu": "JumpReLUSAE", "batchtopk": "JumpReLUSAE"}
    assert type(sae).__name__ == kind[model.sparsity]
    x = torch.tensor(X, dtype=torch.float32)
    with torch.no_grad():
        encoded = sae.encode(x).numpy()
        decoded = sae.decode(sae.encode(x)).numpy()
    H, R = model.transform(X), model.reconstruct(X)
    assert np.abs(encoded - H).max() <= 1e-5 * np.abs(H).max()
    assert np.abs(decoded - R).max() <= 1e-5 * np.abs(R).max()


def test_an_sae_made_by_saelens_imports_with_its_input_bias_folded(X, tmp_path):
    torch = pytest.importorskip("torch", reason="sae-lens needs PyTorch")
    sae_lens = pytest.importorskip("sae_lens", reason="sae-lens is not installed (pip install sae-lens)")
    from sae_lens.saes.standard_sae import StandardSAE, StandardSAEConfig

    torch.manual_seed(0)
    sae = StandardSAE(StandardSAEConfig(d_in=16, d_sae=24, dtype="float32", apply_b_dec_to_input=True))
    with torch.no_grad():
        for p in (sae.W_enc, sae.b_enc, sae.W_dec, sae.b_dec):
            p.copy_(torch.randn_like(p) * 0.3)
    sae.save_model(str(tmp_path / "theirs"))
    model = import_saelens(tmp_path / "theirs")
    x = torch.tensor(X, dtype=torch.float32)
    with torch.no_grad():
        encoded, decoded = sae.encode(x).numpy(), sae.decode(sae.encode(x)).numpy()
    assert np.abs(model.transform(X) - encoded).max() <= 1e-5 * np.abs(encoded).max()
    assert np.abs(model.reconstruct(X) - decoded).max() <= 1e-5 * np.abs(decoded).max()
    assert sae_lens.__version__  # the version the folder was written with


def test_a_jumprelu_sae_made_by_saelens_imports_with_its_thresholds(X, tmp_path):
    torch = pytest.importorskip("torch", reason="sae-lens needs PyTorch")
    pytest.importorskip("sae_lens", reason="sae-lens is not installed (pip install sae-lens)")
    from sae_lens.saes.jumprelu_sae import JumpReLUSAE, JumpReLUSAEConfig

    torch.manual_seed(0)
    sae = JumpReLUSAE(JumpReLUSAEConfig(d_in=16, d_sae=24, dtype="float32", apply_b_dec_to_input=True))
    with torch.no_grad():
        for p in (sae.W_enc, sae.b_enc, sae.W_dec, sae.b_dec):
            p.copy_(torch.randn_like(p) * 0.3)
        sae.threshold.copy_(torch.rand(24) * 0.8 + 0.1)  # thresholds that zero many active units
    sae.save_model(str(tmp_path / "theirs"))
    model = import_saelens(tmp_path / "theirs")
    assert model.sparsity == "jumprelu"
    np.testing.assert_allclose(model.threshold_, sae.threshold.detach().numpy(), rtol=1e-7)
    x = torch.tensor(X, dtype=torch.float32)
    with torch.no_grad():
        encoded, decoded = sae.encode(x).numpy(), sae.decode(sae.encode(x)).numpy()
        relu = torch.relu(sae.hook_sae_acts_pre((x - sae.b_dec) @ sae.W_enc + sae.b_enc)).numpy()
    assert np.count_nonzero(encoded) < 0.8 * np.count_nonzero(relu)
    H = model.transform(X)
    assert np.array_equal(H > 0, encoded > 0) or np.mean((H > 0) != (encoded > 0)) < 1e-3  # float32 ties
    assert np.abs(H - encoded).max() <= 1e-5 * np.abs(encoded).max()
    assert np.abs(model.reconstruct(X) - decoded).max() <= 1e-5 * np.abs(decoded).max()


def test_what_has_no_saelens_counterpart_is_refused_in_one_line(X, tmp_path):
    kl = sparseae.SparseAutoencoder(4, max_iter=2, random_state=0).fit(np.clip(X, 0, 1))
    with pytest.raises(ParameterError, match="sparsity='kl', activation='sigmoid' and output_activation='sigmoid' "
                                             "has no SAELens counterpart"):
        export_saelens(kl, tmp_path / "kl")
    with pytest.raises(Exception, match="not fitted"):
        export_saelens(sparseae.SparseAutoencoder(4, activation="relu", output_activation="linear"), tmp_path / "u")
    assert not (tmp_path / "kl").exists() and not (tmp_path / "u").exists()


def test_folders_that_are_not_saelens_saes_are_model_file_errors(X, tmp_path):
    with pytest.raises(ModelFileError, match="is not a SAELens SAE folder"):
        import_saelens(tmp_path)
    folder = export_saelens(_relu_model(X, sparsity="l1"), tmp_path / "sae")
    cfg = json.loads((folder / "cfg.json").read_text())
    for change, says in [({"architecture": "gated"}, "architecture 'gated' is not one sparseae reads"),
                         ({"architecture": "jumprelu"}, "a jumprelu SAE needs a positive threshold per unit"),
                         ({"normalize_activations": "layer_norm"}, "normalize_activations='layer_norm' is not"),
                         ({"metadata": {"sae_lens_version": "5.9.0"}}, "is from SAELens 5.9.0")]:
        (folder / "cfg.json").write_text(json.dumps({**cfg, **change}))
        with pytest.raises(ModelFileError, match=says):
            import_saelens(folder)
    (folder / "cfg.json").write_text("[]")
    with pytest.raises(sparseae.DataError, match="not an object"):
        import_saelens(folder)


def test_sparseae_export_saelens_on_the_command_line(X, tmp_path, capsys):
    model = _relu_model(X, sparsity="topk", k=4)
    model.save(tmp_path / "m.safetensors")
    assert main(["export", "--saelens", str(tmp_path / "m.safetensors"), str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["cfg.json", "sae_weights.safetensors"]
    np.testing.assert_allclose(import_saelens(tmp_path / "out").transform(X), model.transform(X), rtol=1e-5,
                               atol=1e-5 * np.abs(model.transform(X)).max())
    assert main(["export", "--saelens", str(tmp_path / "m.safetensors"), str(tmp_path / "out")]) == 2
    sparseae.SparseAutoencoder(4, max_iter=2, random_state=0).fit(np.clip(X, 0, 1)).save(tmp_path / "kl.safetensors")
    capsys.readouterr()
    assert main(["export", "--saelens", str(tmp_path / "kl.safetensors"), str(tmp_path / "kl")]) == 2
    err = capsys.readouterr().err
    assert "has no SAELens counterpart" in err and err.count("\n") == 1 and not (tmp_path / "kl").exists()
