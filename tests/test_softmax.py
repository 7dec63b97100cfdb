"""Softmax regression: the cost by hand and by gradient check, any labels, stable probabilities."""


import numpy as np
import pytest
from scipy.special import logsumexp

import sparseae
from sparseae import DataError, SoftmaxRegression, SparseObjective, check_gradient
from sparseae.softmax import one_hot

pytestmark = pytest.mark.unconverged


@pytest.fixture
def problem(rng):
    centres = rng.normal(0, 3, size=(3, 5))
    y = np.repeat(["cat", "dog", "eel"], 40)
    X = centres[np.repeat(np.arange(3), 40)] + rng.normal(size=(120, 5))
    return X, y


def test_cost_is_the_mean_negative_log_likelihood_plus_decay(rng):
    X, idx = rng.normal(size=(7, 4)), np.array([0, 1, 2, 1, 0, 2, 2])
    objective = SparseObjective([4, 3], X, one_hot(idx, 3), output_activation="softmax",
                                loss="cross_entropy", weight_decay=0.3)
    theta = rng.normal(size=objective.size)
    (W,), (b,) = objective.layout.unpack(theta)
    logits = X @ W.T + b
    expected = -np.mean(logits[np.arange(7), idx] - logsumexp(logits, axis=1)) + 0.15 * (W**2).sum()
    assert objective(theta)[0] == pytest.approx(expected, rel=1e-13)


def test_gradient_check_of_the_softmax_cost_at_the_notes_epsilon(rng):
    X, idx = rng.normal(size=(20, 6)), rng.integers(0, 4, size=20)
    objective = SparseObjective([6, 4], X, one_hot(idx, 4), output_activation="softmax",
                                loss="cross_entropy", weight_decay=1e-2)
    assert check_gradient(objective, rng.normal(0, 0.5, size=objective.size), epsilon=1e-4) < 1e-9


def test_fits_any_hashable_labels_and_predicts_them(problem):
    X, y = problem
    model = SoftmaxRegression(random_state=0).fit(X, y)
    assert list(model.classes_) == ["cat", "dog", "eel"] and model.coef_.shape == (3, 5)
    assert model.score(X, y) > 0.95 and set(model.predict(X)) <= {"cat", "dog", "eel"}
    assert model.loss_curve_[-1] == pytest.approx(model.loss_) and model.n_iter_ == len(model.loss_curve_)


def test_probabilities_are_rows_of_a_distribution_even_for_huge_inputs(problem):
    X, y = problem
    model = SoftmaxRegression(random_state=0).fit(X, y)
    P = model.predict_proba(np.vstack([X[:3], np.full((2, 5), 1e4), np.full((1, 5), -1e4)]))
    assert np.isfinite(P).all() and (P >= 0).all()
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-14)


def test_same_seed_same_weights(problem):
    X, y = problem
    a = SoftmaxRegression(max_iter=5, random_state=3).fit(X, y)
    b = SoftmaxRegression(max_iter=5, random_state=3).fit(X, y)
    np.testing.assert_array_equal(a.theta_, b.theta_)


@pytest.mark.parametrize("labels", [np.repeat(["cat", "dog", "eel"], 40), np.repeat([3, 7, 11], 40)])
def test_saves_and_loads_with_its_labels(tmp_path, problem, labels):
    X, _ = problem
    model = SoftmaxRegression(max_iter=20, random_state=0).fit(X, labels)
    loaded = sparseae.load(model.save(tmp_path / "softmax.safetensors"))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded.classes_.tolist() == model.classes_.tolist()


@pytest.mark.parametrize("y, match", [
    (np.zeros(120), r"y holds one class \(np.float64\(0.0\)\)|y holds one class"),
    (np.arange(119) % 3, "X has 120 rows but y has 119 labels"),
    (np.where(np.arange(120) == 5, np.nan, np.arange(120) % 3), r"y has 1 NaN or infinite labels \(first at row 5\)"),
    (np.linspace(0, 1, 120), "y: Unknown label type"),
])
def test_bad_labels_are_named(problem, y, match):
    X, _ = problem
    with pytest.raises(DataError, match=match):
        SoftmaxRegression().fit(X, y)


def test_predict_checks_the_feature_count(problem):
    X, y = problem
    model = SoftmaxRegression(max_iter=5, random_state=0).fit(X, y)
    with pytest.raises(DataError, match="X has 4 features, but SoftmaxRegression is expecting 5"):
        model.predict(X[:, :4])


def test_score_with_labels_of_another_kind_or_count_is_named(problem):
    X, y = problem
    model = SoftmaxRegression(max_iter=5, random_state=0).fit(X, np.arange(120) % 3)
    with pytest.raises(DataError, match="y: Mix of label input types"):
        model.score(X, y)  # strings for a model of numbers
    with pytest.raises(DataError, match="inconsistent numbers of samples"):
        model.score(X, np.arange(119) % 3)
