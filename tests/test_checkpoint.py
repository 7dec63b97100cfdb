"""Checkpoints that resume: a fit killed after a checkpoint goes on from it to where the
uninterrupted fit ends (L-BFGS, Adam and gradient descent bit for bit; SciPy's L-BFGS-B and CG
within 0.5 % of the cost), in the estimator and in ``sparseae train --resume`` after a real SIGKILL; and every
checkpoint or run that cannot be resumed says why in one line, leaving the run as it was."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import sparseae
from sparseae.checkpoint import read_checkpoint, write_checkpoint
from sparseae.cli import main
from sparseae.errors import DataChangedError, ModelFileError, ParameterError


class Killed(Exception):
    """Stands for the process dying after iteration ``at``."""


def _killer(at):
    def callback(state):
        if state.n_iter == at:
            raise Killed

    return callback


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).uniform(0.05, 0.95, size=(400, 16))


def _fit_killed_then_resumed(X, path, kill_at, every=5, **params):
    with pytest.raises(Killed):
        sparseae.SparseAutoencoder(4, callback=_killer(kill_at), **params).fit(
            X, checkpoint=path, checkpoint_every=every)
    saved = read_checkpoint(path)
    assert saved.n_iter == (kill_at - 1) // every * every and len(saved.loss_curve) == saved.n_iter
    return sparseae.SparseAutoencoder(4, **params).fit(X, resume_from=path)


@pytest.mark.unconverged
@pytest.mark.parametrize("solver", ["lbfgs", "adam", "gd"])
@pytest.mark.parametrize("validation_fraction", [0.0, 0.25])
def test_lbfgs_adam_and_gd_resume_bit_for_bit(X, tmp_path, solver, validation_fraction):
    params = dict(solver=solver, max_iter=23, random_state=0, validation_fraction=validation_fraction)
    whole = sparseae.SparseAutoencoder(4, **params).fit(X)
    resumed = _fit_killed_then_resumed(X, tmp_path / "c.safetensors", kill_at=13, **params)
    np.testing.assert_array_equal(resumed.theta_, whole.theta_)
    assert resumed.loss_curve_ == whole.loss_curve_ and resumed.n_iter_ == whole.n_iter_ == 23
    if validation_fraction:
        np.testing.assert_array_equal(resumed.validation_rows_, whole.validation_rows_)
        assert resumed.validation_scores_ == whole.validation_scores_


@pytest.mark.unconverged
@pytest.mark.parametrize("solver", ["l-bfgs-b", "cg"])
def test_scipys_lbfgs_b_and_cg_restart_from_the_saved_theta_and_end_within_half_a_percent(X, tmp_path, solver):
    params = dict(solver=solver, max_iter=120, random_state=0)
    whole = sparseae.SparseAutoencoder(4, **params).fit(X)
    resumed = _fit_killed_then_resumed(X, tmp_path / "c.safetensors", kill_at=47, every=10, **params)
    assert resumed.loss_curve_[:40] == whole.loss_curve_[:40]  # the checkpoint's history is kept
    assert resumed.n_iter_ == len(resumed.loss_curve_) <= 120
    assert resumed.loss_ == pytest.approx(whole.loss_, rel=5e-3)


@pytest.mark.unconverged
def test_early_stopping_resumes_with_its_best_iteration_and_patience(X, tmp_path):
    params = dict(solver="adam", learning_rate=0.05, max_iter=60, random_state=0, validation_fraction=0.25,
                  early_stopping=True, n_iter_no_change=3)
    whole = sparseae.SparseAutoencoder(4, **params).fit(X)
    resumed = _fit_killed_then_resumed(X, tmp_path / "c.safetensors", kill_at=whole.n_iter_, every=1,
                                       **params)
    assert resumed.n_iter_ == whole.n_iter_ < 60  # it did stop early, at the same iteration
    np.testing.assert_array_equal(resumed.theta_, whole.theta_)


def _a_checkpoint(X, path, **params):
    params = dict(solver="gd", max_iter=5, random_state=0, **params)
    sparseae.SparseAutoencoder(4, **params).fit(X, checkpoint=path, checkpoint_every=5)
    return params


@pytest.mark.unconverged
def test_resuming_with_other_parameters_or_data_is_refused(X, tmp_path):
    path = tmp_path / "c.safetensors"
    params = _a_checkpoint(X, path)
    with pytest.raises(ParameterError, match="written by a fit with n_hidden=4, not 5"):
        sparseae.SparseAutoencoder(5, **params).fit(X, resume_from=path)
    with pytest.raises(ParameterError, match="weight_decay=0.0001, not 0.1"):
        sparseae.SparseAutoencoder(4, **{**params, "weight_decay": 0.1}).fit(X, resume_from=path)
    with pytest.raises(DataChangedError, match="399 rows x 16 columns, the checkpointed fit had 400 x 16"):
        sparseae.SparseAutoencoder(4, **params).fit(X[1:], resume_from=path)
    changed = X.copy()
    changed[0, 0] = 0.5
    with pytest.raises(DataChangedError, match="first rows differ"):
        sparseae.SparseAutoencoder(4, **params).fit(changed, resume_from=path)
    longer = sparseae.SparseAutoencoder(4, **{**params, "max_iter": 9}).fit(X, resume_from=path)
    assert longer.n_iter_ == 9  # max_iter may grow: the fit goes on to it


@pytest.mark.unconverged
def test_bad_checkpoints_are_one_line_model_file_errors(X, tmp_path):
    path = tmp_path / "c.safetensors"
    params = _a_checkpoint(X, path)
    model = sparseae.SparseAutoencoder(4, **params)
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    (tmp_path / "flipped.safetensors").write_bytes(bytes(data))
    (tmp_path / "cut.safetensors").write_bytes(bytes(data[: len(data) // 2]))
    newer = read_checkpoint(path)
    import sparseae.checkpoint as ckpt_module

    for name, match in [("flipped", "corrupt"), ("cut", "corrupt or truncated"), ("missing", "does not exist")]:
        with pytest.raises(ModelFileError, match=match):
            model.fit(X, resume_from=tmp_path / f"{name}.safetensors")
    ckpt_module.CHECKPOINT_VERSION += 1
    try:
        write_checkpoint(tmp_path / "newer.safetensors", newer)
    finally:
        ckpt_module.CHECKPOINT_VERSION -= 1
    with pytest.raises(ModelFileError, match="newer than this sparseae reads"):
        model.fit(X, resume_from=tmp_path / "newer.safetensors")
    fitted = sparseae.SparseAutoencoder(4, **params).fit(X)
    fitted.save(tmp_path / "model.safetensors")
    with pytest.raises(ModelFileError, match="not a training checkpoint"):
        model.fit(X, resume_from=tmp_path / "model.safetensors")
    with pytest.raises(ModelFileError, match="is a training checkpoint, not a model"):
        sparseae.load(path)


@pytest.mark.unconverged
def test_a_write_that_dies_leaves_the_previous_checkpoint_whole(X, tmp_path, monkeypatch):
    path = tmp_path / "c.safetensors"
    _a_checkpoint(X, path)
    before = path.read_bytes()
    import safetensors.numpy

    def dies_half_way(tensors, filename, metadata=None):
        with open(filename, "wb") as f:
            f.write(b"\0" * 100)
        raise OSError("killed while writing")

    monkeypatch.setattr(safetensors.numpy, "save_file", dies_half_way)
    with pytest.raises(OSError, match="killed while writing"):
        write_checkpoint(path, read_checkpoint(path))
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["c.safetensors"]


# -- the command line, with a real SIGKILL -------------------------------------------------------


def _kill_after_first_checkpoint(argv, cwd, ready=lambda checkpoint: checkpoint.exists(), sig=signal.SIGKILL):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "sparseae", *argv], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    checkpoint = cwd / "run" / "checkpoint.safetensors"
    deadline = time.monotonic() + 120
    while not ready(checkpoint) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    expected = -signal.SIGKILL if sig == signal.SIGKILL else 130  # SIGINT: sparseae's Ctrl-C exit
    assert proc.returncode == expected, f"the run ended before it could be killed: {err.decode()}"
    return err.decode()


@pytest.mark.skipif(os.name != "posix", reason="sends SIGKILL to a child process")
@pytest.mark.unconverged
@pytest.mark.parametrize("solver, max_iter, every", [("lbfgs", 300, 5), ("adam", 12, 2)])
def test_train_killed_with_sigkill_resumes_to_the_uninterrupted_result(tmp_path, solver, max_iter, every):
    common = ["--solver", solver, "--max-iter", str(max_iter), "--patches", "4000", "--quiet"]
    assert main(["train", *common, "--out", str(tmp_path / "whole")]) == 0
    _kill_after_first_checkpoint(["train", *common, "--checkpoint-every", str(every), "--out", "run"], tmp_path)
    run = tmp_path / "run"
    assert not (run / "metrics.json").exists()  # killed: no results yet, but a checkpoint
    killed_at = read_checkpoint(run / "checkpoint.safetensors").n_iter
    assert 0 < killed_at < max_iter
    assert main(["train", "--resume", str(run), "--quiet"]) == 0
    whole = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    resumed = json.loads((run / "metrics.json").read_text())
    assert resumed["stopped"] == "completed" and resumed["resumed_from_iteration"] == killed_at
    a, b = sparseae.load(tmp_path / "whole" / "model.safetensors"), sparseae.load(run / "model.safetensors")
    np.testing.assert_array_equal(a.theta_, b.theta_)  # L-BFGS's history is in the checkpoint too
    assert resumed["cost"] == whole["cost"]
    assert not [f for f in os.listdir(run) if f.endswith(".tmp")]  # a write the kill cut short is gone


def _refuser(folder, capsys):
    """``fails(argv, code, message)``: the command exits ``code`` saying ``message`` in one line,
    and every file under ``folder`` is byte for byte as it was."""

    def fails(argv, code, message):
        before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
        assert main(argv) == code
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
        assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before

    return fails


def test_resume_refuses_what_it_cannot_resume_and_leaves_the_run_as_it_was(tmp_path, capsys):
    fails = _refuser(tmp_path, capsys)

    X = np.random.default_rng(0).uniform(0, 1, size=(300, 16))
    np.save(tmp_path / "x.npy", X)
    argv = ["train", "--data", str(tmp_path / "x.npy"), "--n-hidden", "4", "--max-iter", "8", "--quiet"]
    assert main([*argv, "--out", str(tmp_path / "plain")]) == 0
    assert main([*argv, "--checkpoint-every", "4", "--out", str(tmp_path / "done")]) == 0
    assert main([*argv, "--checkpoint-every", "4", "--out", str(tmp_path / "run")]) == 0
    (tmp_path / "run" / "metrics.json").unlink()  # as if killed before its results were written
    capsys.readouterr()
    fails(["train", "--resume", str(tmp_path / "nowhere")], 1, "no such run folder")
    fails(["train", "--resume", str(tmp_path)], 1, "not a sparseae run folder (it has no run.json)")
    fails(["train", "--resume", str(tmp_path / "plain")], 1, "train with --checkpoint-every N")
    fails(["train", "--resume", str(tmp_path / "done")], 1, "the run already completed")
    fails(["train", "--resume", str(tmp_path / "run"), "--n-hidden", "5"], 2, "drop --n-hidden")
    np.save(tmp_path / "x.npy", X[:-1])  # the data file changed: another size
    fails(["train", "--resume", str(tmp_path / "run")], 1, "changed since the run began")
    changed = X.copy()
    changed[0, 0] = 0.5
    np.save(tmp_path / "x.npy", changed)  # same size, other values
    fails(["train", "--resume", str(tmp_path / "run")], 1, "its first rows differ")
    np.save(tmp_path / "x.npy", X)
    checkpoint = tmp_path / "run" / "checkpoint.safetensors"
    good = checkpoint.read_bytes()
    checkpoint.write_bytes(good[:-10] + bytes(10))
    fails(["train", "--resume", str(tmp_path / "run")], 1, "is corrupt")
    checkpoint.write_bytes(good)
    record = tmp_path / "run" / "run.json"
    saved = record.read_text()
    record.write_text(saved.replace('"format_version": 2', '"format_version": 99'))
    fails(["train", "--resume", str(tmp_path / "run")], 1, "newer than this sparseae reads")
    record.write_text(saved)
    assert main(["train", "--resume", str(tmp_path / "run"), "--quiet"]) == 0
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["n_iter"] == 8


STACK = ["--hidden", "20", "12", "--weight-decay", "1e-4", "--pretrain-iter", "60", "--finetune-iter", "40",
         "--quiet"]


@pytest.fixture(scope="module")
def digits_file(tmp_path_factory):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    path = tmp_path_factory.mktemp("digits") / "digits.npz"
    np.savez(path, X=X[:600] / 16.0, y=y[:600])
    return path


def _in_second_stage(checkpoint):
    try:
        saved = read_checkpoint(checkpoint)
    except (FileNotFoundError, ModelFileError):
        return False
    return saved.stage == 1 and saved.n_iter > 0


@pytest.mark.skipif(os.name != "posix", reason="sends SIGKILL to a child process")
@pytest.mark.unconverged
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_stack_killed_mid_stage_resumes_to_the_uninterrupted_result(tmp_path, digits_file, sig):
    common = ["stack", "--data", str(digits_file), *STACK]
    assert main([*common, "--out", str(tmp_path / "whole")]) == 0
    err = _kill_after_first_checkpoint([*common, "--checkpoint-every", "5", "--out", "run"], tmp_path,
                                       ready=_in_second_stage, sig=sig)
    if sig == signal.SIGINT:
        assert "interrupted in stage 'autoencoder 2'" in err and "go on with sparseae stack --resume run" in err
    run = tmp_path / "run"
    # a write the kill cut short: ours (.NAME.XXXX.tmp), or safetensors' own temporary file inside
    # it (.tmpXXXXXX, Rust's tempfile naming), never a final name
    kept = sorted(p.name for p in run.iterdir() if not (p.name.endswith(".tmp") or p.name.startswith(".tmp")))
    assert kept == ["checkpoint.safetensors", "run.json"]
    saved = read_checkpoint(run / "checkpoint.safetensors")
    assert saved.stage == 1 and 0 < saved.n_iter < 60 and len(saved.stages) == 1
    assert main(["stack", "--resume", str(run), "--quiet"]) == 0
    whole = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    resumed = json.loads((run / "metrics.json").read_text())
    assert resumed["resumed_from"] == {"stage": "autoencoder 2", "iteration": saved.n_iter}
    a, b = sparseae.load(tmp_path / "whole" / "model.safetensors"), sparseae.load(run / "model.safetensors")
    np.testing.assert_array_equal(a.theta_, b.theta_)
    for x, y in zip(a.autoencoders_, b.autoencoders_):
        np.testing.assert_array_equal(x.theta_, y.theta_)
    assert resumed["accuracy"] == whole["accuracy"] and resumed["cost"] == whole["cost"]
    assert not [p.name for p in run.iterdir() if p.name.endswith((".tmp", ".lock"))]


def test_stack_resume_refuses_a_train_run_changed_flags_and_changed_data(tmp_path, digits_file, capsys):
    local = tmp_path / "digits.npz"
    local.write_bytes(digits_file.read_bytes())
    small = ["--hidden", "6", "--pretrain-iter", "4", "--finetune-iter", "4", "--quiet"]
    assert main(["stack", "--data", str(local), *small, "--checkpoint-every", "2", "--out",
                 str(tmp_path / "run")]) == 0
    assert main(["train", "--n-hidden", "4", "--max-iter", "4", "--patches", "500", "--quiet",
                 "--checkpoint-every", "2", "--out", str(tmp_path / "trained")]) == 0
    for name in ("run", "trained"):
        (tmp_path / name / "metrics.json").unlink()  # as if killed before the results were written
    capsys.readouterr()
    fails = _refuser(tmp_path, capsys)

    fails(["stack", "--resume", str(tmp_path / "trained")], 1, "a run of sparseae train; resume it with "
          "sparseae train --resume")
    fails(["train", "--resume", str(tmp_path / "run")], 1, "a run of sparseae stack")
    fails(["stack", "--resume", str(tmp_path / "run"), "--hidden", "7"], 2, "drop --hidden")
    data = local.read_bytes()
    local.write_bytes(data + b"\0")
    fails(["stack", "--resume", str(tmp_path / "run")], 1, "changed since the run began")
    local.write_bytes(data)
    assert main(["stack", "--resume", str(tmp_path / "run"), "--quiet"]) == 0
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["stopped"] == "completed"
    fails(["stack", "--resume", str(tmp_path / "run")], 1, "the run already completed")


def test_a_version_1_run_record_still_resumes(tmp_path):
    X = np.random.default_rng(0).uniform(0, 1, size=(300, 16))
    np.save(tmp_path / "x.npy", X)
    argv = ["train", "--data", str(tmp_path / "x.npy"), "--n-hidden", "4", "--max-iter", "8", "--quiet"]
    assert main([*argv, "--checkpoint-every", "4", "--out", str(tmp_path / "run")]) == 0
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    old = {"format_version": 1, "sparseae": record["sparseae"], "settings": record["settings"],
           "data_file": record["data_files"][0]}  # what sparseae wrote before run.json's version 2
    (tmp_path / "run" / "run.json").write_text(json.dumps(old))
    (tmp_path / "run" / "metrics.json").unlink()
    assert main(["train", "--resume", str(tmp_path / "run"), "--quiet"]) == 0
    np.save(tmp_path / "x.npy", X[:-1])
    (tmp_path / "run" / "metrics.json").unlink()
    with pytest.raises(sparseae.errors.DataChangedError, match="changed since the run began"):
        from sparseae.cli.parser import build_parser
        from sparseae.cli.resume import open_resumed_run

        open_resumed_run(build_parser().parse_args(["train", "--resume", str(tmp_path / "run")]))


def _write_older_version(path, saved, version):
    """``saved`` (a read Checkpoint) in the layout versions 1 and 2 wrote: L-BFGS's history and
    Adam's state in fields of their own (version 1: no history at all)."""
    from sparseae.persistence import write_document

    arrays = {"theta": saved.theta}
    config = {"kind": "Checkpoint", "checkpoint_version": version, "params": saved.params,
              "n_features": saved.n_features, "n_iter": saved.n_iter, "loss_curve": saved.loss_curve,
              "data": saved.data}
    state = saved.state
    if version == 2 and "sy" in state:
        arrays.update({f"lbfgs_{name}": state[name] for name in ("rows", "sy", "yy", "rows_g")})
        config["lbfgs"] = {"order": list(state["order"])}
    if version == 2 and "m" in state:
        arrays.update(adam_m=state["m"], adam_v=state["v"], rng_keys=state["rng_keys"])
        if "rho_hat" in state:
            arrays["rho_hat"] = state["rho_hat"]
        config["adam"] = {"t": state["t"], "rng": [state["rng_pos"], state["rng_has_gauss"], state["rng_gauss"]]}
    write_document(path, config, arrays)


@pytest.mark.unconverged
@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_version_1_and_2_checkpoints_still_resume_and_a_damaged_history_is_refused(X, tmp_path, solver):
    from sparseae.checkpoint import Checkpoint

    path = tmp_path / "c.safetensors"
    params = dict(solver=solver, random_state=0)
    whole = sparseae.SparseAutoencoder(4, max_iter=20, **params).fit(X)
    stop_at_10 = lambda state: state.n_iter == 10  # noqa: E731 (the checkpoint of iteration 10 is written)
    sparseae.SparseAutoencoder(4, max_iter=20, callback=stop_at_10, **params).fit(X, checkpoint=path,
                                                                                checkpoint_every=10)
    saved = read_checkpoint(path)
    assert saved.n_iter == 10
    if solver == "lbfgs":
        memory = sparseae.fitting.auto_lbfgs_memory(400, sparseae.Layout([16, 4, 16]))  # 27 here
        assert saved.state["rows"].shape == (2 * memory, saved.theta.size)
    # version 2's layout: the same state, so the resumed fit is the uninterrupted one
    _write_older_version(path, saved, 2)
    assert read_checkpoint(path).state.keys() == saved.state.keys()
    resumed = sparseae.SparseAutoencoder(4, max_iter=20, **params).fit(X, resume_from=path)
    np.testing.assert_array_equal(resumed.theta_, whole.theta_)
    if solver == "adam":
        return
    # version 1: no history; L-BFGS then restarts from θ
    _write_older_version(path, saved, 1)
    assert read_checkpoint(path).state == {}
    assert sparseae.SparseAutoencoder(4, max_iter=20, **params).fit(X, resume_from=path).n_iter_ == 20
    # a history whose slots do not fit it
    damaged = {**saved.state, "order": [0, 99]}
    write_checkpoint(path, Checkpoint(**{**saved.__dict__, "state": damaged}))
    with pytest.raises(ModelFileError, match="history is not consistent: it names slots"):
        sparseae.SparseAutoencoder(4, max_iter=20, **params).fit(X, resume_from=path)
    # a history of another size than lbfgs_memory's
    short = {**saved.state, "rows": saved.state["rows"][:10]}
    write_checkpoint(path, Checkpoint(**{**saved.__dict__, "state": short}))
    with pytest.raises(ModelFileError, match="saved L-BFGS history holds 5 corrections"):
        sparseae.SparseAutoencoder(4, max_iter=20, **params).fit(X, resume_from=path)


@pytest.mark.unconverged
def test_adam_checkpoints_keep_beta_1_and_older_ones_resume_with_0_9(X, tmp_path, monkeypatch):
    import sparseae.checkpoint as checkpoint

    path = tmp_path / "c.safetensors"
    params = dict(solver="adam", max_iter=6, random_state=0)
    sparseae.SparseAutoencoder(4, **params).fit(X, checkpoint=path, checkpoint_every=3)
    refused = r"Adam's beta_1=0\.3, not 0\.9 \(beta_1=0\.9\); resume with beta_1=0\.3"
    with pytest.raises(ParameterError, match=refused):
        sparseae.SparseAutoencoder(4, **{**params, "beta_1": 0.9}).fit(X, resume_from=path)
    explicit = sparseae.SparseAutoencoder(4, **{**params, "beta_1": 0.3}).fit(X, resume_from=path)
    assert explicit.n_iter_ == 6  # "auto" and the value it stands for are the same β₁
    # A checkpoint written before beta_1 existed: those fits used 0.9.
    saved = read_checkpoint(path)
    old_params = {k: v for k, v in saved.params.items() if k != "beta_1"}
    write_checkpoint(path, checkpoint.Checkpoint(**{**saved.__dict__, "params": old_params}))
    with pytest.raises(ParameterError, match=r"resume with beta_1=0\.9"):
        sparseae.SparseAutoencoder(4, **params).fit(X, resume_from=path)
    assert sparseae.SparseAutoencoder(4, **{**params, "beta_1": 0.9}).fit(X, resume_from=path).n_iter_ == 6
    # β₁ does not matter to the other solvers: an old L-BFGS checkpoint resumes with "auto"
    sparseae.SparseAutoencoder(4, max_iter=6, random_state=0).fit(X, checkpoint=path, checkpoint_every=3)
    saved = read_checkpoint(path)
    old_params = {k: v for k, v in saved.params.items() if k != "beta_1"}
    write_checkpoint(path, checkpoint.Checkpoint(**{**saved.__dict__, "params": old_params}))
    assert sparseae.SparseAutoencoder(4, max_iter=9, random_state=0).fit(X, resume_from=path).n_iter_ == 9


@pytest.mark.unconverged
def test_a_checkpoint_from_before_a_parameter_existed_resumes_at_its_default(X, tmp_path):
    """jumprelu_bandwidth came later than the checkpoint format: a checkpoint without it was
    written by a fit at the default, so it resumes; a changed value is still refused."""
    import sparseae.checkpoint as checkpoint

    path = tmp_path / "c.safetensors"
    sparseae.SparseAutoencoder(4, max_iter=6, random_state=0).fit(X, checkpoint=path, checkpoint_every=3)
    saved = read_checkpoint(path)
    old_params = {k: v for k, v in saved.params.items() if k != "jumprelu_bandwidth"}
    write_checkpoint(path, checkpoint.Checkpoint(**{**saved.__dict__, "params": old_params}))
    assert sparseae.SparseAutoencoder(4, max_iter=9, random_state=0).fit(X, resume_from=path).n_iter_ == 9
    changed = sparseae.SparseAutoencoder(4, max_iter=9, random_state=0, jumprelu_bandwidth=0.01)
    with pytest.warns(UserWarning, match="does not use jumprelu_bandwidth"), \
            pytest.raises(ParameterError, match="jumprelu_bandwidth=0.001, not 0.01"):
        changed.fit(X, resume_from=path)


@pytest.mark.unconverged
def test_jumprelu_under_adam_resumes_bit_for_bit_and_older_checkpoints_name_their_log_steps(X, tmp_path):
    """Adam's moments of thresholds stepped in value are saved and resumed like any other; a
    checkpoint from before ``jumprelu_steps`` existed stepped them in their logs, and a resume
    that would step them otherwise is refused, naming the value to resume with."""
    import sparseae.checkpoint as checkpoint

    params = dict(sparsity="jumprelu", sparsity_weight=0.01, activation="relu", output_activation="linear",
                  solver="adam", max_iter=23, random_state=0)
    whole = sparseae.SparseAutoencoder(4, **params).fit(X)
    path = tmp_path / "c.safetensors"
    resumed = _fit_killed_then_resumed(X, path, kill_at=13, **params)
    np.testing.assert_array_equal(resumed.theta_, whole.theta_)
    assert resumed.loss_curve_ == whole.loss_curve_
    saved = read_checkpoint(path)
    old_params = {k: v for k, v in saved.params.items() if k != "jumprelu_steps"}
    write_checkpoint(path, checkpoint.Checkpoint(**{**saved.__dict__, "params": old_params}))
    with pytest.raises(ParameterError, match="jumprelu_steps='log', not 'threshold'"):
        sparseae.SparseAutoencoder(4, **params).fit(X, resume_from=path)
    assert sparseae.SparseAutoencoder(4, **params, jumprelu_steps="log").fit(X, resume_from=path).n_iter_ == 23
    # L-BFGS does not read it: the same old checkpoint's parameters resume an L-BFGS fit
    lbfgs = dict(params, solver="lbfgs", max_iter=6)
    sparseae.SparseAutoencoder(4, **lbfgs).fit(X, checkpoint=path, checkpoint_every=3)
    saved = read_checkpoint(path)
    old_params = {k: v for k, v in saved.params.items() if k != "jumprelu_steps"}
    write_checkpoint(path, checkpoint.Checkpoint(**{**saved.__dict__, "params": old_params}))
    assert sparseae.SparseAutoencoder(4, **dict(lbfgs, max_iter=9)).fit(X, resume_from=path).n_iter_ == 9


@pytest.mark.unconverged
def test_a_checkpoint_from_before_max_grad_norm_resumes_unclipped(X, tmp_path):
    """Adam's gradient was never clipped before ``max_grad_norm``: such a TopK checkpoint resumes
    with max_grad_norm=None, and "auto" (0.5 for TopK) is refused with the value to give; a KL
    one resumes with "auto", which is None for KL."""
    import sparseae.checkpoint as checkpoint

    path = tmp_path / "c.safetensors"
    for params, refused in ((dict(sparsity="topk", k=2, activation="relu"), True), ({}, False)):
        params = dict(solver="adam", max_iter=6, random_state=0, **params)
        sparseae.SparseAutoencoder(4, **params).fit(X, checkpoint=path, checkpoint_every=3)
        saved = read_checkpoint(path)
        old_params = {k: v for k, v in saved.params.items() if k != "max_grad_norm"}
        write_checkpoint(path, checkpoint.Checkpoint(**{**saved.__dict__, "params": old_params}))
        if refused:
            with pytest.raises(ParameterError, match=r"max_grad_norm=None, not 0\.5 .*resume with max_grad_norm=None"):
                sparseae.SparseAutoencoder(4, **params).fit(X, resume_from=path)
            params["max_grad_norm"] = None
        assert sparseae.SparseAutoencoder(4, **params).fit(X, resume_from=path).n_iter_ == 6


@pytest.mark.unconverged
@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_a_centred_encoder_resumes_bit_for_bit(X, tmp_path, solver):
    """θ in a checkpoint is in the centred encoder's coordinates (b1 + W1 b2): it resumes as it is,
    not converted again as a start is."""
    params = dict(solver=solver, max_iter=23, random_state=0, sparsity="topk", k=2, activation="relu",
                  output_activation="linear", center_encoder=True)
    whole = sparseae.SparseAutoencoder(4, **params).fit(X)
    resumed = _fit_killed_then_resumed(X, tmp_path / "c.safetensors", kill_at=13, **params)
    np.testing.assert_array_equal(resumed.theta_, whole.theta_)
    assert resumed.loss_curve_ == whole.loss_curve_


def test_a_checkpoint_from_before_center_encoder_resumes_with_the_encoder_reading_x(X, tmp_path):
    """Before ``center_encoder`` the encoder read x: such a TopK Adam checkpoint is refused with
    "auto" (True there), naming center_encoder=False, and resumes with it."""
    import sparseae.checkpoint as checkpoint

    path = tmp_path / "c.safetensors"
    params = dict(solver="adam", max_iter=6, random_state=0, sparsity="topk", k=2, activation="relu",
                  output_activation="linear", center_encoder=False)
    sparseae.SparseAutoencoder(4, **params).fit(X, checkpoint=path, checkpoint_every=3)
    saved = read_checkpoint(path)
    old_params = {k: v for k, v in saved.params.items() if k != "center_encoder"}
    write_checkpoint(path, checkpoint.Checkpoint(**{**saved.__dict__, "params": old_params}))
    auto = dict(params, center_encoder="auto")
    with pytest.raises(ParameterError, match=r"center_encoder=False, not True .*resume with center_encoder=False"):
        sparseae.SparseAutoencoder(4, **auto).fit(X, resume_from=path)
    assert sparseae.SparseAutoencoder(4, **params).fit(X, resume_from=path).n_iter_ == 6
