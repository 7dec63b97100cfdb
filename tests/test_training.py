"""The training layer as every model uses it: the stack and the softmax get what the autoencoder
has (every input fit accepts, a minibatch solver, held-out rows and early stopping, checkpoints
and resume), through the same drivers; and the drivers and registry on their own."""


import numpy as np
import pytest
from sklearn.datasets import load_digits

import sparseae
from sparseae import ModelFileError, ParameterError, SoftmaxRegression, StackedSparseAutoencoder
from sparseae.checkpoint import read_checkpoint
from sparseae.errors import DataChangedError
from sparseae.solvers import FULL_BATCH, MINIBATCH, SOLVERS, Solver, register

pytestmark = pytest.mark.unconverged

SMALL = dict(hidden_layer_sizes=(12,), weight_decay=1e-4, pretrain_iter=15, finetune_iter=15, random_state=0)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    return X[order][:300] / 16.0, y[order][:300]


@pytest.mark.parametrize("model", ["stack", "softmax"])
@pytest.mark.parametrize("form", ["path", "memmap", "dask"])
def test_every_model_trains_from_every_input_fit_accepts_as_from_memory(tmp_path, digits, model, form):
    X, y = digits
    np.save(tmp_path / "x.npy", X)
    make = (lambda: StackedSparseAutoencoder(**SMALL)) if model == "stack" else \
        (lambda: SoftmaxRegression(max_iter=20, random_state=0))
    if form == "dask":
        da = pytest.importorskip("dask.array", reason="dask is an optional extra")
        distributed = pytest.importorskip("dask.distributed", reason="dask.distributed is an optional extra")
        with distributed.Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None):
            other = make().fit(da.from_array(X, chunks=(100, -1)), y)
    else:
        other = make().fit(str(tmp_path / "x.npy") if form == "path" else np.load(tmp_path / "x.npy",
                                                                                          mmap_mode="r"), y)
    in_memory = make().fit(X, y)
    np.testing.assert_allclose(other.theta_, in_memory.theta_, rtol=1e-7, atol=1e-9)
    assert np.mean(other.predict(X) == y) == np.mean(in_memory.predict(X) == y)


@pytest.mark.parametrize("model", ["stack", "softmax"])
def test_a_minibatch_solver_trains_every_model_and_learns(digits, model):
    X, y = digits
    if model == "stack":
        fitted = StackedSparseAutoencoder(**{**SMALL, "pretrain_iter": 20, "finetune_iter": 20},
                                                solver="adam", batch_size=50).fit(X, y)
        parts = [*fitted.autoencoders_, fitted.softmax_]
        assert all(p.solver == "adam" and p.n_iter_ == 20 for p in parts)
    else:
        fitted = SoftmaxRegression(solver="adam", max_iter=30, batch_size=50, random_state=0).fit(X, y)
    assert fitted.n_iter_ == (20 if model == "stack" else 30)
    assert fitted.loss_curve_[-1] < fitted.loss_curve_[0]
    assert np.mean(fitted.predict(X) == y) > 0.5  # ten classes: chance is 0.1


@pytest.mark.parametrize("model", ["stack", "softmax"])
def test_held_out_rows_and_early_stopping_for_every_model(digits, model):
    X, y = digits
    params = dict(validation_fraction=0.2, early_stopping=True, n_iter_no_change=3)
    if model == "stack":
        fitted = StackedSparseAutoencoder(**{**SMALL, "finetune_iter": 200}, **params).fit(X, y)
    else:
        fitted = SoftmaxRegression(max_iter=400, weight_decay=0.0, random_state=0, **params).fit(X, y)
    assert len(fitted.validation_rows_) == 60
    assert len(fitted.validation_scores_) == fitted.n_iter_
    assert fitted.best_validation_score_ == min(fitted.validation_scores_)
    # stopped when the held-out cost stalled, before max_iter
    assert fitted.n_iter_ < (200 if model == "stack" else 400)
    best = int(np.argmin(fitted.validation_scores_))
    assert fitted.n_iter_ - 1 - best >= 3


@pytest.mark.parametrize("model", ["stack", "softmax"])
@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_every_model_resumes_a_killed_fit_bit_for_bit(tmp_path, digits, model, solver):
    X, y = digits
    path = tmp_path / "c.safetensors"

    def make(**extra):
        if model == "stack":
            return StackedSparseAutoencoder(**SMALL, solver=solver, **extra)
        return SoftmaxRegression(max_iter=20, solver=solver, random_state=0, **extra)

    whole = make().fit(X, y)

    class Killed(Exception):
        pass

    stage_iterations = {"n": 0}

    def kill(state):  # the softmax's (or the stack's second stage's) 8th iteration
        stage_iterations["n"] += 1
        if stage_iterations["n"] == (15 + 8 if model == "stack" else 8):
            raise Killed

    killed = make()
    if model == "stack":
        killed.set_params(verbose=0)
        # the stack has no callback of its own: kill inside its softmax stage through the monitor
        import sparseae.training.monitor as monitor_module

        original = monitor_module.Monitor.__call__

        def counting(self, iteration, cost, theta):
            stop = original(self, iteration, cost, theta)
            kill(None)
            return stop

        monitor_module.Monitor.__call__ = counting
        try:
            with pytest.raises(Killed):
                killed.fit(X, y, checkpoint=path, checkpoint_every=4)
        finally:
            monitor_module.Monitor.__call__ = original
        saved = read_checkpoint(path)
        assert (saved.stage, saved.n_iter, len(saved.stages)) == (1, 8, 1)
    else:
        killed.set_params(callback=kill)
        with pytest.raises(Killed):
            killed.fit(X, y, checkpoint=path, checkpoint_every=4)
        assert read_checkpoint(path).n_iter == 4  # killed in iteration 8's callback, before its checkpoint
    resumed = make().fit(X, y, resume_from=path)
    np.testing.assert_array_equal(resumed.theta_, whole.theta_)
    assert resumed.loss_curve_ == whole.loss_curve_


def test_resume_refuses_another_model_changed_parameters_and_other_data(tmp_path, digits):
    X, y = digits
    path = tmp_path / "c.safetensors"
    SoftmaxRegression(max_iter=8, random_state=0).fit(X, y, checkpoint=path, checkpoint_every=4)
    with pytest.raises(ModelFileError, match="a checkpoint of a SoftmaxRegression, not of a StackedSparse"):
        StackedSparseAutoencoder(**SMALL).fit(X, y, resume_from=path)
    with pytest.raises(ModelFileError, match="a checkpoint of a SoftmaxRegression, not of a SparseAutoencoder"):
        sparseae.SparseAutoencoder(4).fit(X, resume_from=path)
    with pytest.raises(ParameterError, match="weight_decay=0.0001, not 0.5; resume with the same parameters"):
        SoftmaxRegression(0.5, max_iter=8, random_state=0).fit(X, y, resume_from=path)
    with pytest.raises(DataChangedError, match="its first rows differ"):
        SoftmaxRegression(max_iter=8, random_state=0).fit(X[::-1], y[::-1], resume_from=path)


def test_the_registry_is_what_every_reader_of_solver_names_reads(monkeypatch, digits):
    """A solver registered once is valid in the estimators, the command line and minimize."""
    from sparseae.cli.parser import build_parser
    from sparseae.optim import Adam
    from sparseae.optim.full_batch import gradient_descent

    monkeypatch.setitem(SOLVERS, "slow-gd", Solver("slow-gd", FULL_BATCH, gradient_descent, "gd, smaller steps",
                                                   learning_rate=0.01, options=("learning_rate",)))
    monkeypatch.setitem(SOLVERS, "adam-2", Solver("adam-2", MINIBATCH, Adam, "Adam again", max_iter=3,
                                                  learning_rate=0.01, beta_1=SOLVERS["adam"].beta_1))
    X, _ = digits
    model = sparseae.SparseAutoencoder(4, solver="slow-gd", max_iter=3, random_state=0)
    model.fit(X)
    assert model.n_iter_ == 3
    streamed = sparseae.SparseAutoencoder(4, solver="adam-2", random_state=0).fit(X)
    assert streamed.n_iter_ == 3  # its own max_iter "auto"
    help_text = build_parser()._subparsers._group_actions[0].choices["train"].format_help()
    assert "slow-gd" in help_text and "adam-2" in help_text
    with pytest.raises(ParameterError, match="works on minibatches"):
        sparseae.minimize(lambda t: (float(t @ t), 2 * t), np.ones(3), solver="adam-2")
    with pytest.raises(ParameterError, match="kind"):
        register(Solver("odd", "sideways", None, "no kind"))
