"""Checks on parameters and data that fail early, with a message a person can act on.

Each message names the parameter or the data problem, the value received and what is allowed,
so that no error surfaces from deep inside NumPy and no model is silently wrong.
"""

import numbers

import numpy as np

from .activations import ACTIVATIONS, HIDDEN_ACTIVATIONS, OUTPUT_RANGES

SOLVERS = ("lbfgs", "cg", "gd", "adam")


def _check_choice(name, value, allowed):
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")


def _check_real(name, value, low=None, high=None, low_open=False, high_open=False):
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise ValueError(f"{name} must be in {left}{lo}, {hi}{right}, got {value!r}")


def _check_int(name, value, low):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def check_hyperparameters(
    *,
    activation=None,
    output_activation=None,
    weight_decay=None,
    sparsity_target=None,
    sparsity_weight=None,
    n_hidden=None,
    solver=None,
    max_iter=None,
    tol=None,
    learning_rate=None,
    lbfgs_memory=None,
    dtype=None,
    device=None,
):
    """Raise ValueError naming the first hyperparameter that is out of range (None: unchecked)."""
    if n_hidden is not None:
        _check_int("n_hidden", n_hidden, 1)
    if activation is not None:
        _check_choice("activation", activation, HIDDEN_ACTIVATIONS)
    if output_activation is not None:
        _check_choice("output_activation", output_activation, tuple(ACTIVATIONS))
    if weight_decay is not None:
        _check_real("weight_decay", weight_decay, low=0)
    if sparsity_target is not None:
        _check_real("sparsity_target", sparsity_target, 0, 1, low_open=True, high_open=True)
    if sparsity_weight is not None:
        _check_real("sparsity_weight", sparsity_weight, low=0)
    if solver is not None:
        _check_choice("solver", solver, SOLVERS)
    if max_iter is not None:
        _check_int("max_iter", max_iter, 1)
    if tol is not None:
        _check_real("tol", tol, low=0)
    if learning_rate is not None and learning_rate != "auto":
        _check_real("learning_rate", learning_rate, low=0, low_open=True)
    if lbfgs_memory is not None and lbfgs_memory != "auto":
        _check_int("lbfgs_memory", lbfgs_memory, 1)
    if dtype is not None:
        _check_choice("dtype", dtype, ("float64", "float32"))
    if device is not None and not isinstance(device, str):
        raise ValueError(f"device must be None or a string such as 'cuda', got {device!r}")


def check_finite(X, name="X", row_offset=0):
    """Raise ValueError if X holds NaN or infinite values: how many, and where the first is."""
    bad = ~np.isfinite(X)
    n_bad = int(np.count_nonzero(bad))
    if n_bad:
        where = np.unravel_index(int(np.flatnonzero(bad)[0]), X.shape)
        place = (
            f"row {where[0] + row_offset}, column {where[1]}"
            if X.ndim == 2
            else f"index {tuple(int(i) for i in where)}"
        )
        raise ValueError(f"{name} has {n_bad} NaN or infinite values (first at {place})")


def as_float_matrix(X, name="X", dtype=np.float64, row_offset=0):
    """X as a 2-D float array with at least one row and one column, all values finite.

    Float32 input stays float32 when ``dtype`` is None; everything else becomes ``dtype``
    (float64 by default). ``row_offset`` is added to the row named in a NaN error, for chunks.
    """
    if hasattr(X, "toarray") or hasattr(X, "tocsr"):
        raise TypeError(f"{name} is a sparse matrix; sparseae needs a dense array (X.toarray())")
    try:
        X = np.asarray(X)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name} cannot be read as a numeric array: {exc}") from None
    if X.dtype == object or X.dtype.kind in "USV":
        try:
            X = X.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{name} must hold numbers ({exc})") from None
    if X.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} holds complex numbers")
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold numbers, got dtype {X.dtype}")
    if X.ndim != 2:
        hint = (
            "; Reshape your data: X.reshape(-1, 1) for one feature, X.reshape(1, -1) for one example"
            if X.ndim == 1
            else ""
        )
        raise ValueError(f"{name} must be 2-D (examples x features), got {X.ndim}-D{hint}")
    if X.shape[0] == 0:
        raise ValueError(
            f"{name} is empty: 0 sample(s) (shape={X.shape}) while a minimum of 1 is required."
        )
    if X.shape[1] == 0:
        raise ValueError(
            f"{name} is empty: 0 feature(s) (shape={X.shape}) while a minimum of 1 is required."
        )
    if dtype is None:
        dtype = np.float32 if X.dtype == np.float32 else np.float64
    X = np.asarray(X, dtype=dtype)
    check_finite(X, name, row_offset)
    return X


def check_output_range(Y, output_activation, name="X"):
    """Targets must lie in the range of the output activation, or they cannot be reproduced."""
    check_value_range(float(Y.min()), float(Y.max()), output_activation, name)


def check_value_range(y_min, y_max, output_activation, name="X"):
    """:func:`check_output_range` from a minimum and maximum found chunk by chunk."""
    low, high = OUTPUT_RANGES[output_activation]
    slack = 1e-8  # rounding in a scaler (MinMaxScaler gives 1 + 2e-16) is not out of range
    if y_min < low - slack or y_max > high + slack:
        raise ValueError(
            f"{name} has values in [{y_min:.6g}, {y_max:.6g}], outside [{low:g}, {high:g}] that a "
            f"{output_activation} output layer can produce; rescale it (e.g. "
            f"sparseae.datasets.normalize_patches or sklearn's MinMaxScaler) or use "
            f"output_activation='linear'"
        )
