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
