"""`sparseae stack` and `sparseae predict`: a run folder with the model, features, confusion
matrix and metrics; labels for new data; the stack's layers drawn by `sparseae show`."""

import json

import numpy as np
import pytest
from sklearn.datasets import load_digits

import sparseae
from sparseae.cli import main

SMALL = ["--hidden", "20", "12", "--weight-decay", "1e-4", "--pretrain-iter", "30", "--finetune-iter", "30",
         "--quiet"]


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    d = tmp_path_factory.mktemp("digits")
    X, y = load_digits(return_X_y=True)
    X, y = X[:600] / 16.0, y[:600]
    np.savez(d / "digits.npz", X=X, y=y)
    np.savetxt(d / "digits.csv", np.column_stack([X, y]), delimiter=",")
    np.save(d / "X.npy", X)
    np.save(d / "y.npy", y)
    return d, X, y


def test_stack_writes_a_run_folder_that_reports_on_held_out_rows(tmp_path, digits):
    d, X, y = digits
    out = tmp_path / "run"
    assert main(["stack", "--data", str(d / "digits.npz"), "--out", str(out), *SMALL]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "confusion.png", "features.png", "features_layer2.png", "metrics.json", "model.safetensors", "run.json"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_train"] == 300 and metrics["n_test"] == 300 and metrics["layer_sizes"] == [64, 20, 12, 10]
    assert set(metrics["seconds_per_stage"]) == {"autoencoder 1", "autoencoder 2", "softmax", "fine-tuning"}
    model = sparseae.load(out / "model.safetensors")
    test = np.sort(np.random.default_rng(0).permutation(600)[300:])  # the split of --seed 0 and the benchmark
    assert metrics["accuracy"] == pytest.approx(model.score(X[test], y[test]))
    per_class = metrics["per_class_accuracy"]
    assert set(per_class) == {str(c) for c in range(10)}
    expected = np.mean([np.mean(model.predict(X[test][y[test] == c]) == c) for c in range(10)])
    assert np.mean(list(per_class.values())) == pytest.approx(expected)


@pytest.mark.parametrize("source", [["--data", "digits.csv"], ["--data", "X.npy", "--labels", "y.npy"]])
def test_stack_reads_labels_from_a_csv_column_or_their_own_file(tmp_path, digits, source):
    d, _, _ = digits
    argv = ["stack", *[str(d / a) if a.endswith((".csv", ".npy")) else a for a in source]]
    assert main([*argv, "--out", str(tmp_path / "run"), "--test-fraction", "0.25", *SMALL]) == 0
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["n_test"] == 150


def test_predict_writes_the_models_labels_and_show_draws_each_layer(tmp_path, digits):
    d, X, _ = digits
    assert main(["stack", "--data", str(d / "digits.npz"), "--out", str(tmp_path / "run"), *SMALL]) == 0
    model_path = tmp_path / "run" / "model.safetensors"
    assert main(["predict", str(model_path), str(d / "X.npy"), "-o", str(tmp_path / "labels.csv"),
                 "--batch-size", "64"]) == 0
    lines = (tmp_path / "labels.csv").read_text().splitlines()
    assert lines[0] == "label" and len(lines) == 601
    np.testing.assert_array_equal(np.array(lines[1:], dtype=int), sparseae.load(model_path).predict(X))
    assert main(["show", str(model_path), "-o", str(tmp_path / "tiles.png")]) == 0
    assert (tmp_path / "tiles.png").exists() and (tmp_path / "tiles_layer2.png").exists()
