"""Checks on parameters and data that fail early, with a message a person can act on.

Parameters are checked against one table, :data:`CONSTRAINTS`, in scikit-learn's
``_parameter_constraints`` form: the estimator validates its own in ``fit``, the objective
those it takes, and both raise :class:`~sparseae.errors.ParameterError` with scikit-learn's
standard message (the parameter, what is allowed, the value received). Data errors say what and
where: ``X has 3 NaN or infinite values (first at row 17, column 4)``.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import (
    Hidden,
    Interval,
    InvalidParameterError,
    Options,
    validate_parameter_constraints,
)
from sklearn.utils.validation import validate_data

from .activations import ACTIVATIONS
from .errors import DataError, DataTypeError, ParameterError
from .losses import LOSSES
from .penalties import PENALTIES
from .solvers import registered


class Names(Options):
    """A string among ``names`` (a registry's keys are read when the check runs, so a name
    registered later is valid too), listed in their own order in the message."""

    def __init__(self, names, keep=lambda item: True):
        self._names, self._keep = names, keep
        self.type, self.deprecated, self.hidden = str, set(), False

    @property
    def options(self):
        names = self._names() if callable(self._names) else self._names
        if isinstance(names, dict):
            return [name for name, item in names.items() if self._keep(item)]
        return list(names)


_NON_NEGATIVE = Interval(Real, 0, np.inf, closed="left")
FLOAT_DTYPES = {np.dtype(np.float64), np.dtype(np.float32)}

#: Every parameter sparseae takes by name, and what it may be.
CONSTRAINTS = {
    "n_hidden": [Interval(Integral, 1, None, closed="left")],
    "sparsity": [Names(PENALTIES)],
    "sparsity_target": [Interval(Real, 0, 1, closed="neither")],
    "sparsity_weight": [_NON_NEGATIVE],
    "weight_decay": [_NON_NEGATIVE],
    "activation": [Names(ACTIVATIONS, lambda act: act.hidden)],
    "output_activation": [Names(ACTIVATIONS)],
    "loss": [Names(LOSSES)],
    "solver": [Names(registered)],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "tol": [_NON_NEGATIVE],
    "learning_rate": [Interval(Real, 0, np.inf, closed="neither"), Names(("auto",))],
    "beta_1": [Interval(Real, 0, 1, closed="left"), Names(("auto",))],
    "max_grad_norm": [Interval(Real, 0, np.inf, closed="neither"), Names(("auto",)), None],
    "batch_size": [Interval(Integral, 1, None, closed="left"), Names(("auto",))],
    "lbfgs_memory": [Interval(Integral, 1, None, closed="left"), Names(("auto",))],
    "dtype": [Names(("float64", "float32")), Hidden(Options(type, {np.float64, np.float32})),
              Hidden(Options(np.dtype, FLOAT_DTYPES))],
    "optimizer_dtype": [Names(("float64", "float32"))],
    "device": [None, str],
    "validation_fraction": [Interval(Real, 0, 1, closed="left")],
    "early_stopping": ["boolean"],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    "k": [Interval(Integral, 1, None, closed="left"), None],
    "decoder_norm": [Names(("unit",)), None],
    "jumprelu_bandwidth": [Interval(Real, 0, np.inf, closed="neither")],
    "jumprelu_steps": [Names(("threshold", "log"))],
    "matryoshka": [list, tuple, None],
    "aux_k": [Interval(Integral, 1, None, closed="left"), None],
    "aux_k_weight": [Interval(Real, 0, np.inf, closed="neither")],
    "dead_after": [Interval(Integral, 1, None, closed="left"), None],
    "input_scaling": [Names(("unit_mean_squared_norm",)), None],
    "init": [Names(("auto", "uniform", "tied"))],
    "decoder_bias_init": [Names(("auto", "zeros", "mean", "geometric_median"))],
    "decoder_init_norm": [Interval(Real, 0, np.inf, closed="neither"), Names(("auto",))],
    "center_encoder": ["boolean", Names(("auto",))],
    "resample_dead": [Interval(Integral, 0, None, closed="left")],
    "checkpoint_every": [Interval(Integral, 1, None, closed="left")],
    "warm_start": ["boolean"],
    "callback": [callable, None],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}


def check_parameters(params, caller_name):
    """Raise ParameterError naming the first of ``params`` (a dict) outside :data:`CONSTRAINTS`."""
    try:
        validate_parameter_constraints({k: CONSTRAINTS[k] for k in params}, params, caller_name)
    except InvalidParameterError as exc:
        raise ParameterError(str(exc)) from None


def check_finite(X, name="X", row_offset=0):
    """Raise DataError if X holds NaN or infinite values: how many, and where the first is."""
    bad = ~np.isfinite(X)
    n_bad = int(np.count_nonzero(bad))
    if n_bad:
        where = np.unravel_index(int(np.flatnonzero(bad)[0]), X.shape)
        place = (
            f"row {where[0] + row_offset}, column {where[1]}"
            if X.ndim == 2
            else f"index {tuple(int(i) for i in where)}"
        )
        raise DataError(f"{name} has {n_bad} NaN or infinite values (first at {place})")


def as_float_matrix(X, name="X", dtype=np.float64, row_offset=0):
    """X as a 2-D float array with at least one row and one column, all values finite.

    Float32 input stays float32 when ``dtype`` is None; everything else becomes ``dtype``
    (float64 by default). ``row_offset`` is added to the row named in a NaN error, for chunks.
    """
    if hasattr(X, "toarray") or hasattr(X, "tocsr"):
        raise DataTypeError(f"{name} is a sparse matrix; sparseae needs a dense array (X.toarray())")
    try:
        X = np.asarray(X)
    except Exception as exc:  # ragged lists and the like
        raise DataError(f"{name} cannot be read as a numeric array: {exc}") from None
    if X.dtype == object or X.dtype.kind in "USV":
        try:
            X = X.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise DataTypeError(f"{name} must hold numbers ({exc})") from None
    if X.dtype.kind == "c":
        raise DataTypeError(f"Complex data not supported: {name} holds complex numbers")
    if X.dtype.kind not in "biuf":
        raise DataTypeError(f"{name} must hold numbers, got dtype {X.dtype}")
    if X.ndim != 2:
        hint = (
            "; Reshape your data: X.reshape(-1, 1) for one feature, X.reshape(1, -1) for one example"
            if X.ndim == 1
            else ""
        )
        raise DataError(f"{name} must be 2-D (examples x features), got {X.ndim}-D{hint}")
    for axis, what in ((0, "sample"), (1, "feature")):
        if X.shape[axis] == 0:
            raise DataError(
                f"{name} is empty: 0 {what}(s) (shape={X.shape}) while a minimum of 1 is required."
            )
    if dtype is None:
        dtype = np.float32 if X.dtype == np.float32 else np.float64
    with np.errstate(over="ignore"):  # float64 values beyond float32's range: reported below
        X = np.asarray(X, dtype=dtype)
    check_finite(X, name, row_offset)
    return X


def check_output_range(Y, output_activation, name="X"):
    """Targets must lie in the range of the output activation, or they cannot be reproduced."""
    check_value_range(float(Y.min()), float(Y.max()), output_activation, name)


def check_value_range(y_min, y_max, output_activation, name="X"):
    """:func:`check_output_range` from a minimum and maximum found chunk by chunk."""
    low, high = ACTIVATIONS[output_activation].output_range
    slack = 1e-8  # rounding in a scaler (MinMaxScaler gives 1 + 2e-16) is not out of range
    if y_min < low - slack or y_max > high + slack:
        raise DataError(
            f"{name} has values in [{y_min:.6g}, {y_max:.6g}], outside [{low:g}, {high:g}] that a "
            f"{output_activation} output layer can produce; rescale it (e.g. "
            f"sparseae.datasets.normalize_patches or sklearn's MinMaxScaler) or use a linear "
            f"output layer (output_activation='linear')"
        )


def validate_params(estimator):
    """Check an estimator's parameters against its ``_parameter_constraints`` (in ``fit``)."""
    try:
        estimator._validate_params()
    except InvalidParameterError as exc:
        raise ParameterError(str(exc)) from None


def validate_rows(estimator, X, reset, dtype=np.float64):
    """X as :func:`as_float_matrix` makes it, with scikit-learn's bookkeeping on the estimator:
    ``n_features_in_`` and, for a DataFrame, ``feature_names_in_`` set when ``reset``, and
    checked against later calls otherwise."""
    checked = as_float_matrix(X, dtype=dtype)
    try:
        validate_data(estimator, X, reset=reset, skip_check_array=True)
    except ValueError as exc:
        raise DataError(str(exc).strip().replace("\n", " ")) from None
    return checked


def validate_labels(y, m):
    """``(classes, indices)``: y as m class labels of any hashable kind, and each one's class index."""
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import column_or_1d

    require_labels(y)
    try:
        y = column_or_1d(np.asarray(y), warn=True)
        if y.dtype.kind in "fc" and not np.isfinite(y).all():
            bad = np.flatnonzero(~np.isfinite(y))
            raise DataError(f"y has {len(bad)} NaN or infinite labels (first at row {bad[0]})")
        check_classification_targets(y)
        classes, indices = np.unique(y, return_inverse=True)
    except DataError:
        raise
    except (ValueError, TypeError) as exc:
        raise DataError(f"y: {' '.join(str(exc).split())}") from None
    if len(y) != m:
        raise DataError(f"X has {m} rows but y has {len(y)} labels")
    if len(classes) < 2:
        raise DataError(f"y holds one class ({classes[0]!r}); a classifier needs at least 2")
    return classes, indices


def require_labels(y):
    """A classifier's fit without labels is a DataError (scikit-learn's words for it)."""
    if y is None:
        raise DataError("a classifier needs labels: requires y to be passed, but the target y is None")
