"""Held-out rows during fit (scikit-learn's MLP conventions): validation scores, early stopping
with the best iteration kept, warm starts, and a callback each iteration."""


import numpy as np
import pytest

from sparseae import ParameterError, SparseAutoencoder, SparseObjective

pytestmark = pytest.mark.unconverged

KW = dict(n_hidden=5, sparsity_target=0.05, weight_decay=1e-4, random_state=0)


@pytest.fixture
def X(rng):
    return rng.uniform(0.05, 0.95, size=(200, 10))


def held_out_cost(model, X, theta=None):
    rows = X[model.validation_rows_]
    objective = SparseObjective([10, model.n_hidden, 10], rows, weight_decay=model.weight_decay,
                                sparsity_target=0.05, sparsity_weight=3.0)
    return objective(model.theta_ if theta is None else theta)[0]


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_validation_scores_are_the_held_out_cost_after_each_iteration(X, solver):
    model = SparseAutoencoder(**KW, solver=solver, max_iter=12, validation_fraction=0.25).fit(X)
    assert len(model.validation_rows_) == 50 and len(model.validation_scores_) == model.n_iter_ == 12
    assert model.validation_scores_[-1] == pytest.approx(held_out_cost(model, X), rel=1e-12)
    assert model.best_validation_score_ == min(model.validation_scores_)
    trained_on = np.setdiff1d(np.arange(200), model.validation_rows_)
    alone = SparseAutoencoder(**KW, solver=solver, max_iter=12).fit(X[trained_on])
    np.testing.assert_array_equal(model.theta_, alone.theta_)  # the held-out rows were not trained on


def test_no_validation_fraction_changes_nothing(X):
    plain = SparseAutoencoder(**KW, max_iter=8).fit(X)
    explicit = SparseAutoencoder(**KW, max_iter=8, validation_fraction=0.0).fit(X)
    np.testing.assert_array_equal(plain.theta_, explicit.theta_)


def test_early_stopping_stops_and_keeps_the_best_iteration(X):
    noisy = X.copy()
    noisy[:, :5] = np.random.default_rng(1).uniform(0.05, 0.95, size=(200, 5))  # nothing to learn there
    settings = {**KW, "n_hidden": 9, "weight_decay": 0.0}
    model = SparseAutoencoder(**settings, max_iter=400, validation_fraction=0.5, early_stopping=True,
                                  n_iter_no_change=3).fit(noisy)
    scores = model.validation_scores_
    best = int(np.argmin(scores))
    assert len(scores) == best + 1 + 3 < 400  # stopped three iterations after the best
    assert held_out_cost(model, noisy) == pytest.approx(scores[best], rel=1e-12)  # and kept it


def test_warm_start_continues_where_fit_stopped(X):
    warm = SparseAutoencoder(**KW, max_iter=5, warm_start=True).fit(X)
    first = warm.theta_.copy()
    warm.fit(X)
    assert warm.n_iter_ == 10 and len(warm.loss_curve_) == 10 and warm.loss_ < warm.loss_curve_[4]
    cold = SparseAutoencoder(**KW, max_iter=5).fit(X)
    np.testing.assert_array_equal(cold.theta_, first)  # the first half was an ordinary fit
    warm.set_params(n_hidden=4).fit(X)  # another shape cannot continue: it starts afresh
    assert warm.n_iter_ == 5 and warm.coefs_[0].shape == (10, 4)


def test_callback_sees_each_iteration_and_can_stop(X):
    seen = []

    def watch(state):
        seen.append((state.n_iter, state.loss, state.validation_score))
        return state.n_iter == 4

    model = SparseAutoencoder(**KW, max_iter=50, validation_fraction=0.2, callback=watch).fit(X)
    assert [s[0] for s in seen] == [1, 2, 3, 4] and model.n_iter_ == 4
    assert [s[2] for s in seen] == model.validation_scores_


@pytest.mark.parametrize("params, match", [
    (dict(validation_fraction=1.0), "'validation_fraction' parameter"),
    (dict(validation_fraction=0.99), r"leaving 2 to train 5 hidden units"),
    (dict(early_stopping=True), "early_stopping needs held-out rows"),
])
def test_bad_settings_are_named(X, params, match):
    with pytest.raises(ParameterError, match=match):
        SparseAutoencoder(**KW, **params).fit(X)


def test_a_later_fit_without_held_out_rows_forgets_the_earlier_scores(X):
    model = SparseAutoencoder(**KW, max_iter=5, validation_fraction=0.2).fit(X)
    assert hasattr(model, "validation_scores_")
    model.set_params(validation_fraction=0.0).fit(X)
    assert not hasattr(model, "validation_scores_") and not hasattr(model, "validation_rows_")


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_the_progress_bar_shows_the_held_out_cost_and_the_time_left(X, solver, capsys):
    SparseAutoencoder(**KW, solver=solver, max_iter=6, validation_fraction=0.25, verbose=1).fit(X)
    bar = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()[-1]
    assert "6/6" in bar and "cost=" in bar and "held-out=" in bar and "<" in bar  # elapsed<left


def test_training_parameters_the_solver_does_not_use_are_said_never_silently_ignored(X, tmp_path, capsys):
    from sparseae.cli import main

    with pytest.warns(UserWarning, match=r"solver='lbfgs' does not use learning_rate=0.5 or beta_1=0.5; it is ignored"):
        SparseAutoencoder(4, max_iter=2, learning_rate=0.5, beta_1=0.5).fit(X)
    with pytest.warns(UserWarning, match=r"solver='adam' does not use lbfgs_memory=5; it is ignored"):
        SparseAutoencoder(4, max_iter=2, solver="adam", lbfgs_memory=5).fit(X)
    with pytest.warns(UserWarning, match=r"n_iter_no_change=3 counts only with early_stopping=True"):
        SparseAutoencoder(4, max_iter=2, n_iter_no_change=3).fit(X)
    assert main(["train", "--data", "digits", "--n-hidden", "4", "--max-iter", "2", "--quiet", "--learning-rate",
                 "0.3", "--out", str(tmp_path / "run")]) == 0
    assert "note: solver='lbfgs' does not use learning_rate=0.3; it is ignored" in capsys.readouterr().err
