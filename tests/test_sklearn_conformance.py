"""scikit-learn's own estimator checks, and life inside sklearn's tooling."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from sparseae import (
    RICA,
    PatchNormalizer,
    PCAWhitening,
    SoftmaxRegression,
    SparseAutoencoder,
    StackedSparseAutoencoder,
    ZCAWhitening,
)

pytestmark = pytest.mark.unconverged

# A sigmoid output layer only produces values in [0, 1], so the default estimator refuses data
# outside that range with a clear error (issue: "never a silently wrong model"). These checks
# feed it standard-normal or shifted data, so they fail for that one reason; the same checks
# pass on the linear decoder below, which accepts any real data.
OUT_OF_RANGE = "feeds data outside [0, 1], which a sigmoid output layer refuses by design"
SIGMOID_EXPECTED_FAILURES = {
    name: OUT_OF_RANGE
    for name in [
        "check_dict_unchanged",
        "check_dont_overwrite_parameters",
        "check_estimators_dtypes",
        "check_estimators_fit_returns_self",
        "check_estimators_overwrite_params",
        "check_estimators_pickle",
        "check_f_contiguous_array_estimator",
        "check_fit2d_1feature",
        "check_fit2d_1sample",
        "check_fit2d_predict1d",
        "check_fit_check_is_fitted",
        "check_fit_idempotent",
        "check_methods_sample_order_invariance",
        "check_methods_subset_invariance",
        "check_n_features_in",
        "check_n_features_in_after_fitting",
        "check_pipeline_consistency",
        "check_positive_only_tag_during_fit",
        "check_readonly_memmap_input",
        "check_transformer_data_not_an_array",
        "check_transformer_general",
        "check_transformer_n_iter",
        "check_transformer_preserve_dtypes",
    ]
}


# The stack takes any finite X (its first decoder is linear when X leaves the sigmoid's range),
# so only these remain, each for the reason given.
STACK_EXPECTED_FAILURES = {}


def _expected_failures(estimator):
    if isinstance(estimator, StackedSparseAutoencoder):
        return STACK_EXPECTED_FAILURES
    sigmoid = getattr(estimator, "output_activation", None) == "sigmoid"
    return SIGMOID_EXPECTED_FAILURES if sigmoid else {}


@parametrize_with_checks(
    [
        SparseAutoencoder(output_activation="linear", max_iter=20, random_state=0),
        SparseAutoencoder(max_iter=20, random_state=0),
        PatchNormalizer(),
        PCAWhitening(),
        ZCAWhitening(),
        RICA(5, max_iter=20, random_state=0),
        SoftmaxRegression(max_iter=50, random_state=0),
        StackedSparseAutoencoder((5,), weight_decay=1e-4, pretrain_iter=10, finetune_iter=10, random_state=0),
    ],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture
def data(rng):
    X = rng.uniform(0.05, 0.95, size=(80, 16))
    y = (X[:, :8].sum(axis=1) > X[:, 8:].sum(axis=1)).astype(int)
    return X, y


def test_fit_transform_equals_fit_then_transform(data):
    X, _ = data
    a = SparseAutoencoder(5, max_iter=10, random_state=0).fit_transform(X)
    model = SparseAutoencoder(5, max_iter=10, random_state=0).fit(X)
    np.testing.assert_array_equal(a, model.transform(X))


def test_feature_names_and_pandas_output(data):
    pd = pytest.importorskip("pandas", reason="pandas is needed for set_output(transform='pandas')")
    X, _ = data
    model = SparseAutoencoder(3, max_iter=5, random_state=0).fit(X)
    names = list(model.get_feature_names_out())
    assert names == ["sparseautoencoder0", "sparseautoencoder1", "sparseautoencoder2"]
    frame = model.set_output(transform="pandas").transform(X)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == names


def test_clone_params_and_score(data):
    X, _ = data
    model = SparseAutoencoder(4, sparsity_target=0.05, random_state=1)
    twin = clone(model)
    assert twin.get_params() == model.get_params()
    twin.set_params(n_hidden=7)
    assert twin.n_hidden == 7 and model.n_hidden == 4
    fitted = twin.fit(X)
    assert fitted.score(X) == pytest.approx(-np.mean((fitted.reconstruct(X) - X) ** 2))
    assert fitted.score(X) < 0


def test_pipeline_and_grid_search(data):
    X, y = data
    pipe = make_pipeline(
        MinMaxScaler(),
        SparseAutoencoder(4, max_iter=15, random_state=0),
        LogisticRegression(max_iter=500),
    )
    search = GridSearchCV(pipe, {"sparseautoencoder__n_hidden": [3, 6]}, cv=2)
    search.fit(X, y)
    assert search.best_params_["sparseautoencoder__n_hidden"] in (3, 6)
    assert search.predict(X).shape == (80,)


def test_pickle_for_sklearn_tooling(data):
    X, _ = data
    model = SparseAutoencoder(4, max_iter=5, random_state=0).fit(X)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.transform(X), model.transform(X))


def test_classifiers_in_pipelines_grid_search_and_cross_validation(data):
    from sklearn.model_selection import cross_val_score

    X, y = data
    scores = cross_val_score(SoftmaxRegression(max_iter=50, random_state=0), X, y, cv=3)
    search = GridSearchCV(SoftmaxRegression(max_iter=50, random_state=0),
                          {"weight_decay": [1e-4, 1e-1]}, cv=3).fit(X, y)
    pipe = make_pipeline(MinMaxScaler(), StackedSparseAutoencoder((6,), weight_decay=1e-4, pretrain_iter=20,
                                                                  finetune_iter=20, random_state=0))
    pipe.fit(X * 10 - 3, y)  # any range: the scaler brings it into [0, 1]
    assert len(scores) == 3 and search.best_params_["weight_decay"] in (1e-4, 1e-1)
    assert pipe.score(X * 10 - 3, y) > 0.6
