"""The command line, called in process through main(argv)."""

import json

import numpy as np
import pytest

import sparseae
from sparseae import SparseObjective, localisation, orientation_selectivity
from sparseae.cli import main


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """`sparseae train` with no model flags: the notes' exercise, run once for this module."""
    out = tmp_path_factory.mktemp("run")
    assert main(["train", "--out", str(out), "--quiet"]) == 0
    return out


def test_default_run_writes_the_run_folder(default_run):
    names = {p.name for p in default_run.iterdir()}
    assert names == {"model.safetensors", "features.png", "cost.png", "metrics.json", "run.json", "report.html",
                     "report_data.safetensors"}
    metrics = json.loads((default_run / "metrics.json").read_text())
    assert metrics["layer_sizes"] == [64, 25, 64]
    assert metrics["n_examples"] == 10000
    assert metrics["n_iter"] == 400
    assert metrics["cost"] == pytest.approx(
        metrics["squared_error"] + metrics["weight_decay"] + metrics["sparsity"]
    )
    # README and getting started: "its final cost is about 0.373" (the last digits move with the
    # BLAS, the kernels and the CPU: 0.373238-0.373295 on one Xeon, benchmarks/RESULTS.md)
    assert metrics["cost"] == pytest.approx(0.373, abs=5e-4)
    model = sparseae.load(default_run / "model.safetensors")
    rho_hat = model.loss_terms_["rho_hat"]
    assert [metrics[f"rho_hat_{k}"] for k in ("min", "mean", "max")] == pytest.approx(
        [rho_hat.min(), rho_hat.mean(), rho_hat.max()], rel=1e-12)
    assert abs(metrics["rho_hat_mean"] - 0.01) < 0.005  # the sparsity target is met
    X, _ = sparseae.datasets.load_training_data("natural", random_state=0)  # the run's data
    assert metrics["reconstruction_mse"] == pytest.approx(-model.score(X), rel=1e-9)


def test_default_run_learns_localised_oriented_edges(default_run):
    """Notes §4: edge detectors. Measured, against the random initial weights of the run."""
    model = sparseae.load(default_run / "model.safetensors")
    learned = model.components_
    initial = sparseae.Layout([64, 25, 64]).initial_theta(0)[: 25 * 64].reshape(25, 64)
    osi_learned = orientation_selectivity(learned)
    osi_initial = orientation_selectivity(initial)
    # Oriented: most filters put over half their spectral power along one orientation, where
    # the random start puts about an eighth.
    assert np.median(osi_learned) > 0.5
    assert osi_learned.mean() > 3 * osi_initial.mean()
    # Localised: the energy is more concentrated in space than in the uniform random start.
    assert localisation(learned).mean() > localisation(initial).mean() + 0.05
    metrics = json.loads((default_run / "metrics.json").read_text())
    assert metrics["edge_score"] == pytest.approx(osi_learned.mean())
    assert metrics["edge_score_initial"] == pytest.approx(osi_initial.mean())


def test_train_on_a_users_file(tmp_path, capsys):
    X = np.random.default_rng(0).normal(size=(200, 16))
    np.save(tmp_path / "x.npy", X)
    out = tmp_path / "run"
    args = ["train", "--data", str(tmp_path / "x.npy"), "--out", str(out), "--quiet"]
    assert main(args + ["--n-hidden", "4", "--max-iter", "5"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "outside [0, 1]" in err
    assert main(args + ["--normalize", "--n-hidden", "4", "--max-iter", "5"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["layer_sizes"] == [16, 4, 16] and metrics["n_examples"] == 200
    assert (out / "features.png").exists()


def test_default_out_is_a_new_folder_under_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["train", "--patches", "300", "--n-hidden", "4", "--max-iter", "3", "--quiet"]
    assert main(args) == 0
    assert main(args) == 0
    runs = sorted((tmp_path / "runs").iterdir())
    assert len(runs) == 2
    assert all((r / "metrics.json").exists() for r in runs)


def test_gradcheck_passes(capsys):
    assert main(["gradcheck"]) == 0
    assert "gradient check passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--n-hidden", "0"], "--n-hidden must be an int in the range [1, inf). Got 0"),
        (["train", "--sparsity-target", "2"], "--sparsity-target must be a float in the range (0.0, 1.0). Got 2.0"),
        (["train", "--solver", "newton"], "--solver must be a str among {'lbfgs', 'l-bfgs-b', 'cg', 'gd', 'adam'}"),
        (["train", "--bogus"], "unrecognized arguments: --bogus"),
        (["train", "--max-iter", "many"], "expected a whole number >= 1 or auto, got 'many'"),
        ([], "required: COMMAND"),
    ],
)
def test_usage_errors_exit_2_with_one_line(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "does not exist"),
        (b"garbage", "cannot read"),
    ],
)
def test_data_errors_exit_1_with_one_line(tmp_path, capsys, content, message):
    path = tmp_path / "x.npy"
    if content is not None:
        path.write_bytes(content)
    assert main(["train", "--data", str(path), "--quiet", "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_nan_in_user_data_exits_1(tmp_path, capsys):
    X = np.full((10, 4), 0.5)
    X[3, 2] = np.nan
    np.save(tmp_path / "x.npy", X)
    assert main(["train", "--data", str(tmp_path / "x.npy"), "--quiet"]) == 1
    assert "1 NaN or infinite values (first at row 3, column 2)" in capsys.readouterr().err


def test_command_line_trains_from_a_npy_in_chunks(tmp_path, data, row_reads):
    """`sparseae train --data big.npy --batch-size N` reads the file in chunks, never whole."""
    import json

    from sparseae.cli import main

    X, path = data
    out = tmp_path / "run"
    argv = ["train", "--data", str(path), "--batch-size", "250", "--n-hidden", "7",
            "--max-iter", "5", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    assert row_reads and max(row_reads) == 250
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_examples"] == 1000 and metrics["layer_sizes"] == [20, 7, 20]
    exact = SparseObjective([20, 7, 20], X, weight_decay=1e-4, sparsity_target=0.01,
                            sparsity_weight=3.0)
    model = __import__("sparseae").load(out / "model.safetensors")
    assert metrics["cost"] == pytest.approx(exact(model.theta_)[0], rel=1e-12)


def test_command_line_streaming_solver(tmp_path, data):
    from sparseae.cli import main

    _, path = data
    out = tmp_path / "run"
    argv = ["train", "--data", str(path), "--solver", "adam", "--batch-size", "100",
            "--n-hidden", "7", "--max-iter", "3", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    assert (out / "model.safetensors").exists()


def test_train_with_held_out_rows_reports_on_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ["train", "--patches", "600", "--n-hidden", "6", "--max-iter", "30", "--quiet", "--out", "run",
            "--validation-fraction", "0.25", "--early-stopping", "--n-iter-no-change", "5"]
    assert main(argv) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    validation = metrics["validation"]
    assert validation["n_examples"] == 150 and metrics["n_examples"] == 600
    assert validation["best_score"] == min(validation["scores"]) == pytest.approx(validation["terms"]["cost"])
    assert set(validation) >= {"fvu", "mse", "l0", "dead_units", "dense_units", "rho_hat", "terms"}
    assert len(validation["rho_hat"]) == 6


def test_every_flag_has_help_that_shows_its_default():
    import argparse
    import re

    from sparseae.cli.parser import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    for command, sub in commands.items():
        for action in sub._actions:
            if not action.option_strings or action.dest == "help":
                continue
            flag = f"sparseae {command} {action.option_strings[-1]}"
            assert action.help, f"{flag} has no help"
            default = action.default
            if default is None or default is False:
                continue
            if isinstance(default, (int, float)):
                numbers = [float(t) for t in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", action.help)]
                assert float(default) in numbers, f"{flag}'s help does not show its default {default}"
            else:
                shown = " ".join(map(str, default)) if isinstance(default, list) else str(default)
                assert shown in action.help, f"{flag}'s help does not show its default {shown}"


def test_adams_clipping_and_the_tied_starts_norm_from_the_command_line(tmp_path, capsys):
    X = np.random.default_rng(0).normal(size=(200, 16))
    np.save(tmp_path / "x.npy", X)
    base = ["train", "--data", str(tmp_path / "x.npy"), "--sparsity", "topk", "--k", "2", "--n-hidden", "8",
            "--solver", "adam", "--max-iter", "2", "--activation", "relu", "--output-activation", "linear", "--quiet"]
    for flags, clip, norm in (([], "auto", "auto"), (["--max-grad-norm", "none", "--decoder-init-norm", "0.2"],
                                                      None, 0.2),
                              (["--max-grad-norm", "3"], 3.0, "auto")):
        out = tmp_path / f"run{len(flags)}"
        assert main(base + flags + ["--out", str(out)]) == 0
        model = sparseae.load(out / "model.safetensors")
        assert (model.max_grad_norm, model.decoder_init_norm) == (clip, norm)
    assert main(base + ["--max-grad-norm", "0", "--out", str(tmp_path / "bad")]) == 2
    assert "--max-grad-norm: expected a positive number or auto or none, got '0'" in capsys.readouterr().err


def test_the_centred_encoder_from_the_command_line(tmp_path, capsys):
    X = np.random.default_rng(0).normal(size=(200, 16))
    np.save(tmp_path / "x.npy", X)
    base = ["train", "--data", str(tmp_path / "x.npy"), "--sparsity", "topk", "--k", "2", "--n-hidden", "8",
            "--solver", "adam", "--max-iter", "2", "--activation", "relu", "--output-activation", "linear", "--quiet"]
    for flags, centred in (([], "auto"), (["--center-encoder", "false"], False), (["--center-encoder", "yes"], True)):
        out = tmp_path / f"run{len(flags)}{centred}"
        assert main(base + flags + ["--out", str(out)]) == 0
        assert sparseae.load(out / "model.safetensors").center_encoder == centred
    assert main(base + ["--center-encoder", "maybe", "--out", str(tmp_path / "bad")]) == 2
    assert "--center-encoder: expected auto, true or false, got 'maybe'" in capsys.readouterr().err
