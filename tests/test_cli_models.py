"""sparseae encode, show and selftaught."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.pipeline import make_pipeline

import sparseae
from sparseae import SparseAutoencoder, ZCAWhitening
from sparseae.cli import main

pytestmark = pytest.mark.unconverged

MNIST = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist"


@pytest.fixture
def saved(tmp_path, rng):
    X = rng.uniform(0.05, 0.95, size=(120, 16))
    model = SparseAutoencoder(6, max_iter=10, random_state=0).fit(X)
    return model.save(tmp_path / "m.safetensors"), model, X


def test_encode_in_chunks_equals_transform(tmp_path, saved, capsys):
    path, model, X = saved
    np.save(tmp_path / "x.npy", X)
    out = tmp_path / "f.npy"
    assert main(["encode", str(path), str(tmp_path / "x.npy"), "-o", str(out), "--batch-size", "7"]) == 0
    # Chunks of 7 rows go through other BLAS kernels than 120: equal to the last few bits.
    np.testing.assert_allclose(np.load(out), model.transform(X), rtol=1e-12, atol=0)
    assert "120 rows" in capsys.readouterr().out


def test_encode_names_the_global_row_of_bad_data(tmp_path, saved, capsys):
    path, _, X = saved
    X = X.copy()
    X[45, 3] = np.nan
    np.save(tmp_path / "x.npy", X)
    out = tmp_path / "f.npy"
    assert main(["encode", str(path), str(tmp_path / "x.npy"), "-o", str(out), "--batch-size", "20"]) == 1
    assert "first at row 45, column 3" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob(".*tmp"))  # nothing half-written


def test_encode_wrong_width_and_bad_model(tmp_path, saved, capsys):
    path, _, X = saved
    np.save(tmp_path / "x.npy", X[:, :10])
    assert main(["encode", str(path), str(tmp_path / "x.npy"), "-o", str(tmp_path / "f.npy")]) == 1
    assert "X has 10 features, but SparseAutoencoder is expecting 16" in capsys.readouterr().err
    (tmp_path / "bad.safetensors").write_bytes(b"junk")
    assert main(["encode", str(tmp_path / "bad.safetensors"), str(tmp_path / "x.npy"), "-o", "o.npy"]) == 1
    assert "corrupt or truncated" in capsys.readouterr().err


def test_show_writes_tiles_of_a_model_and_a_pipeline(tmp_path, saved, rng):
    path, model, X = saved
    out = tmp_path / "tiles.png"
    assert main(["show", str(path), "-o", str(out)]) == 0
    with Image.open(out) as image:
        assert image.size == ((3 * 5 + 1) * 8, (2 * 5 + 1) * 8)  # 6 tiles of 4x4, 3 per row
    pipe = make_pipeline(ZCAWhitening(), SparseAutoencoder(4, output_activation="linear", max_iter=5))
    pipe.fit(X)
    sparseae.save(pipe, tmp_path / "p.safetensors")
    before = out.read_bytes()
    assert main(["show", str(tmp_path / "p.safetensors"), "-o", str(out)]) == 2  # no silent overwrite
    assert out.read_bytes() == before
    assert main(["show", str(tmp_path / "p.safetensors"), "-o", str(out), "--overwrite"]) == 0
    assert main(["show", str(path), "-o", str(out), "--overwrite", "--patch-shape", "3", "5"]) == 2


def test_show_draws_rica_filters_through_the_whitening_and_inside_convolutional_features(tmp_path, rng):
    from sparseae import RICA, ConvolutionalFeatures
    from sparseae.visualize import feature_tiles

    X = rng.standard_normal((200, 16))
    pipe = make_pipeline(ZCAWhitening(0.1), RICA(5, max_iter=5, random_state=0)).fit(X)
    conv = ConvolutionalFeatures(pipe, patch_shape=4).fit(rng.uniform(size=(2, 6, 6)))
    expected = feature_tiles(pipe[-1].components_ @ pipe[0]._matrix(-0.5))
    for i, model in enumerate((pipe, conv)):
        path, out = sparseae.save(model, tmp_path / f"m{i}.safetensors"), tmp_path / f"t{i}.png"
        assert main(["show", str(path), "-o", str(out)]) == 0
        with Image.open(out) as image:
            assert image.size == (expected.shape[1] * 8, expected.shape[0] * 8)


def test_train_on_digits_and_encode_idx(tmp_path):
    out = tmp_path / "run"
    args = ["train", "--data", "digits", "--n-hidden", "9", "--max-iter", "5", "--quiet"]
    assert main(args + ["--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["layer_sizes"] == [64, 9, 64] and metrics["n_examples"] == 1797


@pytest.mark.skipif(
    not (MNIST / "t10k-images-idx3-ubyte.gz").is_file(),
    reason=f"the MNIST test set is not at {MNIST}",
)
def test_selftaught_small_run_beats_chance_widely(tmp_path, capsys):
    """A smaller self-taught run: the pieces connect, and features carry the digit identity."""
    out = tmp_path / "st"
    argv = ["selftaught", "--mnist", str(MNIST), "--n-hidden", "50", "--max-iter", "60",
            "--n-unlabeled", "1500", "--n-labeled", "1200", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    result = json.loads((out / "results.json").read_text())
    assert result["n_unlabeled"] == 1500 and result["n_train"] == 600 and result["n_test"] == 600
    assert result["chance"] < 0.3
    assert result["accuracy_features"] > 0.85  # chance is about 0.2
    assert result["accuracy_raw"] > 0.85
    model = sparseae.load(out / "model.safetensors")
    assert model.components_.shape == (50, 784)
    assert (out / "features.png").exists()
    assert "learned features" in capsys.readouterr().out


@pytest.mark.skipif(
    not (MNIST / "t10k-images-idx3-ubyte.gz").is_file(),
    reason=f"the MNIST test set is not at {MNIST}",
)
def test_conv_small_run_writes_its_folder_and_learned_features_beat_raw_pixels(tmp_path, capsys):
    """A small convolution experiment: every pipeline runs, the folder holds what the issue
    names, and convolved, pooled learned features classify far better than raw pixels."""
    out = tmp_path / "conv"
    argv = ["conv", "--mnist", str(MNIST), "--n-train", "600", "--n-test", "600", "--n-patches", "3000",
            "--max-iter", "40", "--no-mlp", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    result = json.loads((out / "results.json").read_text())
    assert result["n_train"] == 600 and result["n_test"] == 600
    accuracy = {r["name"]: r["accuracy"] for r in result["results"]}
    assert len(accuracy) == 10  # RICA and 3 random controls at 2 poolings, the autoencoder, raw softmax
    assert accuracy["RICA + convolution, 4 x 4 pooling"] > accuracy["softmax on raw pixels"] + 0.03
    assert accuracy["RICA + convolution, 10 x 10 pooling"] > max(
        v for k, v in accuracy.items() if k.startswith("random") and "10 x 10" in k)
    for r in result["results"]:
        assert all(v >= 0 for v in r["seconds"].values())
    for name in ("confusion.png", "rica_filters.png", "autoencoder_filters.png", "pooled_maps.png", "digit.png"):
        with Image.open(out / name) as image:
            assert image.size[0] > 10
    features = sparseae.load(out / "features.safetensors")
    digits = sparseae.datasets.load_mnist(MNIST)[0][:3].reshape(3, 28, 28)
    assert features.transform(digits).shape == (3, 32 * 25)
    assert "RICA + convolution" in capsys.readouterr().out
