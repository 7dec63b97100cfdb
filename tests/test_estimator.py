import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sparseae import (
    DataError,
    NonFiniteCostError,
    ParameterError,
    SparseAutoencoder,
    SparseObjective,
)

pytestmark = pytest.mark.unconverged


@pytest.fixture
def X(rng):
    return rng.uniform(0.1, 0.9, size=(60, 9))


def test_fit_sets_attributes_in_mlp_conventions(X):
    model = SparseAutoencoder(4, max_iter=30, random_state=0).fit(X)
    assert [c.shape for c in model.coefs_] == [(9, 4), (4, 9)]
    assert [b.shape for b in model.intercepts_] == [(4,), (9,)]
    np.testing.assert_array_equal(model.components_, model.coefs_[0].T)
    assert model.n_features_in_ == 9
    assert 0 < model.n_iter_ <= 30
    assert len(model.loss_curve_) == model.n_iter_
    assert model.loss_ == pytest.approx(model.loss_curve_[-1])
    terms = model.loss_terms_
    assert model.loss_ == pytest.approx(
        terms["squared_error"] + terms["weight_decay"] + terms["sparsity"]
    )
    assert terms["rho_hat"].shape == (4,)


def test_loss_is_j_sparse_on_the_training_data(X):
    model = SparseAutoencoder(4, max_iter=20, random_state=0).fit(X)
    objective = SparseObjective(
        [9, 4, 9], X, weight_decay=1e-4, sparsity_target=0.01, sparsity_weight=3.0
    )
    assert model.loss_ == pytest.approx(objective(model.theta_)[0], rel=1e-12)


def test_transform_and_inverse_transform(X):
    model = SparseAutoencoder(4, max_iter=50, random_state=0).fit(X)
    H = model.transform(X)
    assert H.shape == (60, 4)
    W1, b1 = model.components_, model.intercepts_[0]
    np.testing.assert_allclose(H, 1 / (1 + np.exp(-(X @ W1.T + b1))))
    R = model.inverse_transform(H)
    W2, b2 = model.coefs_[1].T, model.intercepts_[1]
    np.testing.assert_allclose(R, 1 / (1 + np.exp(-(H @ W2.T + b2))))
    assert model.score(X) == pytest.approx(-np.mean((R - X) ** 2))


def test_training_reduces_reconstruction_error(X):
    short = SparseAutoencoder(6, sparsity_weight=0.0, max_iter=2, random_state=0).fit(X)
    long = SparseAutoencoder(6, sparsity_weight=0.0, max_iter=200, random_state=0).fit(X)
    assert long.score(X) > short.score(X)
    assert long.loss_ < short.loss_


def test_sparsity_pulls_rho_hat_to_target(rng):
    X = rng.uniform(0.1, 0.9, size=(200, 16))
    model = SparseAutoencoder(8, sparsity_target=0.05, sparsity_weight=3.0, random_state=0).fit(X
    )
    np.testing.assert_allclose(model.loss_terms_["rho_hat"], 0.05, atol=0.02)


@pytest.mark.parametrize("solver", ["lbfgs", "cg", "gd"])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_solvers_and_activations_fit(X, solver, activation):
    step = {"learning_rate": 0.5} if solver == "gd" else {}  # the others take no step (a warning if given)
    model = SparseAutoencoder(4, solver=solver, activation=activation, max_iter=20, random_state=0, **step).fit(X)
    assert model.loss_curve_[-1] < model.loss_curve_[0] or model.n_iter_ == 1


def test_linear_decoder_trains_on_unbounded_data(rng):
    X = rng.normal(size=(50, 6)) * 3
    model = SparseAutoencoder(4, output_activation="linear", max_iter=50).fit(X)
    assert model.inverse_transform(model.transform(X)).min() < 0


def test_same_seed_same_weights_bit_for_bit(X):
    a = SparseAutoencoder(4, max_iter=25, random_state=7).fit(X)
    b = SparseAutoencoder(4, max_iter=25, random_state=7).fit(X)
    c = SparseAutoencoder(4, max_iter=25, random_state=8).fit(X)
    np.testing.assert_array_equal(a.theta_, b.theta_)
    assert not np.array_equal(a.theta_, c.theta_)


def test_fit_does_not_modify_X(X):
    before = X.copy()
    SparseAutoencoder(4, max_iter=5).fit(X)
    np.testing.assert_array_equal(X, before)


def test_convergence_warning_when_max_iter_reached(X):
    with pytest.warns(ConvergenceWarning, match="stopped after 3 iterations .* reached max_iter = 3"):
        SparseAutoencoder(4, max_iter=3, random_state=0).fit(X)
    with pytest.warns(ConvergenceWarning, match="TOTAL NO. OF ITERATIONS REACHED LIMIT"):
        SparseAutoencoder(4, max_iter=3, random_state=0, solver="l-bfgs-b").fit(X)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(n_hidden=0), r"'n_hidden' parameter .* an int in the range \[1, inf\)\. Got 0"),
        (dict(n_hidden=None), r"'n_hidden' parameter .* an int in the range \[1, inf\)\. Got None"),
        (dict(sparsity_target=1.5), r"'sparsity_target' .* range \(0.0, 1.0\)\. Got 1.5"),
        (dict(sparsity_target=0.0), r"'sparsity_target' .* range \(0.0, 1.0\)\. Got 0.0"),
        (dict(weight_decay=-1e-4), r"'weight_decay' .* range \[0.0, inf\)\. Got -0.0001"),
        (dict(sparsity_weight=-3), r"'sparsity_weight' .* range \[0.0, inf\)\. Got -3"),
        (dict(sparsity_weight=float("inf")), r"'sparsity_weight' .* Got inf"),
        (dict(activation="softplus"), r"'activation' .* among \{'sigmoid', 'tanh', 'relu'\}\. Got 'softplus'"),
        (dict(output_activation="softplus"), r"'output_activation' .* among \{'sigmoid', 'tanh', 'relu', 'linear'\}"),
        (dict(sparsity="l2"), r"'sparsity' .* among \{'kl', 'l1', 'topk', 'jumprelu', 'batchtopk'\}\. Got 'l2'"),
        (dict(activation="relu"),
         r"sparsity='kl' needs a mean activation in \(0, 1\), and activation='relu' has no ceiling"),
        (dict(activation="tanh", sparsity="l1"), r"sparsity='l1' needs an activation that is off at 0"),
        (dict(sparsity="topk"), r"sparsity='topk' needs k"),
        (dict(sparsity="topk", k=0), r"'k' .* range \[1, inf\)"),
        (dict(sparsity="topk", k=5, n_hidden=5), r"k=5 keeps every one of the n_hidden=5 units"),
        (dict(decoder_norm="l2"), r"'decoder_norm' .* among \{'unit'\} or None"),
        (dict(solver="sgd"), r"'solver' .* among \{'lbfgs', 'l-bfgs-b', 'cg', 'gd', 'adam'\}\. Got 'sgd'"),
        (dict(max_iter=0), r"'max_iter' .* range \[1, inf\)"),
        (dict(tol=float("nan")), r"'tol' .* Got nan"),
        (dict(dtype="float16"), r"'dtype' .* among \{'float64', 'float32'\}\. Got 'float16'"),
        (dict(batch_size=0), r"'batch_size' .* or a str among \{'auto'\}\. Got 0"),
    ],
)
def test_bad_parameters_are_named(X, params, match):
    with pytest.raises(ParameterError, match=match):
        SparseAutoencoder(**params).fit(X)


@pytest.mark.parametrize("dtype", [np.float32, np.dtype(np.float32)])
def test_dtype_takes_numpy_types_as_scikit_learn_users_pass_them(X, dtype):
    model = SparseAutoencoder(5, max_iter=5, dtype=dtype, random_state=0).fit(X)
    reference = SparseAutoencoder(5, max_iter=5, dtype="float32", random_state=0).fit(X)
    in_float64 = SparseAutoencoder(5, max_iter=5, random_state=0).fit(X)
    assert model.loss_ == reference.loss_
    assert model.loss_ != in_float64.loss_  # the type reached the arithmetic: float32 rounds otherwise


def test_nan_reports_count_and_first_place(X):
    X = X.copy()
    X[17, 4] = np.nan
    X[20, 1] = np.inf
    X[30, 2] = np.nan
    with pytest.raises(ValueError, match=r"X has 3 NaN or infinite values \(first at row 17, column 4\)"):
        SparseAutoencoder().fit(X)


@pytest.mark.parametrize(
    "data, match",
    [
        (np.zeros(5), "X must be 2-D .*got 1-D"),
        (np.zeros((0, 4)), r"X is empty: 0 sample\(s\) \(shape=\(0, 4\)\)"),
        (np.zeros((3, 0)), r"X is empty"),
        (np.array([["a", "b"]]), "X must hold numbers"),
        (np.full((4, 3), 2.0), r"outside \[0, 1\] .*output_activation='linear'"),
    ],
)
def test_bad_data_is_named(data, match):
    with pytest.raises(ValueError, match=match):
        SparseAutoencoder().fit(data)


def test_transform_checks_feature_count(X):
    model = SparseAutoencoder(4, max_iter=5).fit(X)
    with pytest.raises(ValueError, match="X has 8 features, but SparseAutoencoder is expecting 9"):
        model.transform(X[:, :8])
    with pytest.raises(ValueError, match="H has 3 columns, but this autoencoder has 4 hidden units"):
        model.inverse_transform(np.zeros((2, 3)))


def test_divergence_keeps_last_finite_parameters(rng):
    X = rng.normal(size=(20, 5)) * 100
    model = SparseAutoencoder(
        3, output_activation="linear", solver="gd", learning_rate=10.0, max_iter=200
    )
    with pytest.raises(NonFiniteCostError, match="non-finite"):
        model.fit(X)
    assert all(np.isfinite(c).all() for c in model.coefs_)
    assert np.isfinite(model.transform(X)).all()


def test_dataframe_columns_are_remembered_and_checked(X):
    pd = pytest.importorskip("pandas", reason="pandas is needed for DataFrame input")
    df = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(X.shape[1])])
    model = SparseAutoencoder(5, max_iter=5, random_state=0).fit(df)
    assert list(model.feature_names_in_) == list(df.columns)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        np.testing.assert_array_equal(model.transform(df), model.transform(X))
    with pytest.raises(DataError, match="feature names should match"):
        model.transform(df.rename(columns={"pixel0": "renamed"}))
