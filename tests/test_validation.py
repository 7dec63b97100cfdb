"""Parameters checked from one table; data checked with errors that say what and where."""

import numpy as np
import pytest

from sparseae import DataError, ParameterError, SparseAutoencoder
from sparseae.errors import DataTypeError
from sparseae.validation import (
    CONSTRAINTS,
    as_float_matrix,
    check_parameters,
    validate_rows,
)


def test_every_parameter_of_the_estimator_is_in_the_table():
    assert set(SparseAutoencoder().get_params()) <= set(CONSTRAINTS)
    own = SparseAutoencoder._parameter_constraints
    special = ("output_activation", "max_iter")  # narrowed, and widened with "auto"
    assert {k: v for k, v in own.items() if k not in special} == {
        k: CONSTRAINTS[k] for k in SparseAutoencoder().get_params() if k not in special}
    assert own["max_iter"][:-1] == CONSTRAINTS["max_iter"] and own["max_iter"][-1].options == ["auto"]
    assert own["output_activation"][0].options == ["sigmoid", "tanh", "relu", "linear"]  # no softmax


def test_choices_are_listed_in_their_own_order_every_time():
    with pytest.raises(ParameterError, match=r"among \{'lbfgs', 'l-bfgs-b', 'cg', 'gd', 'adam'\}\. Got 'x'"):
        check_parameters({"solver": "x"}, "caller")


@pytest.mark.parametrize("X, error, match", [
    (np.array([[1 + 2j]]), DataTypeError, "complex numbers"),
    (np.array([["a", "b"]]), DataTypeError, "must hold numbers"),
    (np.zeros(4), DataError, r"got 1-D; Reshape your data"),
    (np.zeros((0, 3)), DataError, r"0 sample\(s\)"),
    (np.zeros((3, 0)), DataError, r"0 feature\(s\)"),
    ([[1.0, 2.0], [3.0]], DataError, "cannot be read as a numeric array"),
    (np.array([[1e300]]), None, None),
    (np.array([[np.inf, 1.0], [2.0, np.nan]]), DataError, r"2 NaN or infinite values \(first at row 0, column 0\)"),
])
def test_bad_data_is_named(X, error, match):
    if error is None:
        with pytest.raises(DataError, match=r"1 NaN or infinite values"):
            as_float_matrix(X, dtype=np.float32)  # overflows float32: named, not warned
        return
    with pytest.raises(error, match=match):
        as_float_matrix(X)


def test_sparse_input_is_a_type_error_that_says_what_to_do():
    scipy_sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(DataTypeError, match=r"dense array \(X.toarray\(\)\)"):
        as_float_matrix(scipy_sparse.csr_matrix(np.eye(3)))


def test_dataframe_column_names_are_kept_and_checked():
    pd = pytest.importorskip("pandas", reason="pandas is needed for DataFrame input")
    df = pd.DataFrame(np.full((4, 3), 0.5), columns=["a", "b", "c"])
    model = SparseAutoencoder()
    validate_rows(model, df, reset=True)
    assert list(model.feature_names_in_) == ["a", "b", "c"] and model.n_features_in_ == 3
    with pytest.raises(DataError, match="feature names should match"):
        validate_rows(model, df.rename(columns={"c": "z"}), reset=False)
