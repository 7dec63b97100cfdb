"""Ctrl-C at any instant loses nothing: a real `sparseae train` or `sparseae encode` process gets
SIGINT at a random moment (start-up, reading, fitting, writing, or after it finished), and
leaves either a complete, consistent result under its final name, or nothing at all."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import sparseae
from sparseae.datasets import load_training_data

pytestmark = pytest.mark.skipif(os.name != "posix", reason="sends POSIX SIGINT to a child process")
INTERRUPTED = (130, -signal.SIGINT)  # handled by sparseae, or during Python's own start-up


def _run_and_interrupt(argv, cwd, delay):
    env = dict(os.environ, SPARSEAE_TORCH_KERNELS="0", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "sparseae", *argv], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


@pytest.mark.parametrize("seed, solver", [(0, "gd"), (1, "lbfgs"), (2, "adam"), (3, "gd"), (4, "lbfgs")])
def test_train_leaves_a_whole_run_of_the_last_completed_iteration_or_nothing(tmp_path, seed, solver):
    delay = random.Random(seed).uniform(0.3, 3.5)
    argv = ["train", "--data", "digits", "--n-hidden", "16", "--solver", solver, "--max-iter", "1000000",
            "--tol", "0", "--out", "run", "--quiet"]
    code, err = _run_and_interrupt(argv, tmp_path, delay)
    assert sorted(os.listdir(tmp_path)) in ([], ["run"]), os.listdir(tmp_path)  # no partial folder
    run = tmp_path / "run"
    if not run.exists():
        assert code in INTERRUPTED, err
        return
    assert code in (0, *INTERRUPTED), err
    assert sorted(os.listdir(run)) == ["cost.png", "features.png", "metrics.json", "model.safetensors", "report.html",
                                    "report_data.safetensors", "run.json"]
    metrics = json.loads((run / "metrics.json").read_text())
    model = sparseae.load(run / "model.safetensors")
    assert metrics["stopped"] in (("completed",) if code == 0 else ("interrupted", "completed"))
    assert metrics["n_iter"] == model.n_iter_ == len(model.loss_curve_) >= 1
    X, _ = load_training_data("digits")
    objective = sparseae.SparseObjective([64, 16, 64], X, weight_decay=1e-4, sparsity_target=0.01,
                                         sparsity_weight=3.0)
    cost = objective(model.theta_)[0]
    assert metrics["cost"] == pytest.approx(cost, rel=1e-10)
    if solver != "adam":  # the curve holds the cost of each completed iterate: the saved one is the last
        assert model.loss_curve_[-1] == pytest.approx(cost, rel=1e-10)


@pytest.fixture(scope="module")
def encode_inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("encode")
    X = np.random.default_rng(0).uniform(0, 1, size=(100_000, 64))
    np.save(d / "x.npy", X)
    model = sparseae.SparseAutoencoder(16, max_iter=2, random_state=0)
    with pytest.warns(Warning):
        model.fit(X[:500])
    model.save(d / "model.safetensors")
    return d, X, model


@pytest.mark.parametrize("seed", range(4))
def test_encode_leaves_the_whole_output_or_nothing(tmp_path, encode_inputs, seed):
    d, X, model = encode_inputs
    delay = random.Random(100 + seed).uniform(0.2, 3.5)
    argv = ["encode", str(d / "model.safetensors"), str(d / "x.npy"), "-o", "features.npy", "--batch-size", "20"]
    code, err = _run_and_interrupt(argv, tmp_path, delay)
    if code != 0:
        assert code in INTERRUPTED, err
    # whichever instant the signal lands: no temporary file, and the output whole or absent (a
    # signal just after the rename interrupts a command whose output is already complete)
    if os.listdir(tmp_path):
        assert os.listdir(tmp_path) == ["features.npy"]
        features = np.load(tmp_path / "features.npy")
        assert features.shape == (100_000, 16)
        rows = [0, 54_321, 99_999]
        np.testing.assert_allclose(features[rows], model.transform(X[rows]), rtol=1e-12)



@pytest.mark.parametrize("command", ["train", "stack"])
def test_a_signal_just_as_the_run_folder_is_made_leaves_nothing(tmp_path, monkeypatch, command):
    """The folder was made, then entered a line later: a SIGINT in between left its
    ``.run.partial-XXXX`` and ``.run.lock`` behind (seen once in CI's random-instant test)."""
    from sklearn.datasets import load_digits

    from sparseae.cli import main
    from sparseae.cli.run_folder import RunFolder

    X, y = load_digits(return_X_y=True)
    data = tmp_path.parent / f"{tmp_path.name}-digits.npz"
    np.savez(data, X=X[:200] / 16.0, y=y[:200])
    argv = {"train": ["train", "--data", str(data), "--n-hidden", "4", "--max-iter", "2"],
            "stack": ["stack", "--data", str(data), "--hidden", "4", "--pretrain-iter", "2", "--finetune-iter", "2"]}

    made = RunFolder.__init__

    def make_then_interrupt(self, *args, **kwargs):
        made(self, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)  # lands as the constructor returns

    monkeypatch.setattr(RunFolder, "__init__", make_then_interrupt)
    monkeypatch.chdir(tmp_path)
    assert main([*argv[command], "--out", "run", "--quiet"]) == 130
    assert os.listdir(tmp_path) == []
