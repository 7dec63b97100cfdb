"""One family of exceptions: every error sparseae raises on purpose is a SparseaeError, with the
builtin scikit-learn and Python callers expect mixed in."""

import ast
from pathlib import Path

import pytest
from sklearn.utils._param_validation import InvalidParameterError

import sparseae
from sparseae import errors

PACKAGE = Path(sparseae.__file__).parent


@pytest.mark.parametrize("cls, also", [
    (errors.ParameterError, (ValueError, TypeError, InvalidParameterError)),
    (errors.DataError, (ValueError,)),
    (errors.DataTypeError, (errors.DataError, TypeError)),
    (errors.DataFileNotFoundError, (errors.DataError, FileNotFoundError)),
    (errors.DataChangedError, (errors.DataError,)),
    (errors.ModelFileError, (errors.DataError,)),
    (errors.NonFiniteCostError, (FloatingPointError,)),
    (errors.DeviceError, (RuntimeError,)),
])
def test_each_error_is_in_the_family_and_what_callers_expect(cls, also):
    assert issubclass(cls, errors.SparseaeError)
    for base in also:
        assert issubclass(cls, base)


def test_ctrl_c_is_never_swallowed_by_except_exception():
    assert issubclass(errors.FitInterrupted, KeyboardInterrupt)
    assert not issubclass(errors.FitInterrupted, Exception)


def test_no_purposeful_raise_of_a_bare_builtin():
    """A raise names a class of sparseae.errors (or re-raises); the protocols of argparse (ArgumentTypeError)
    and of a module's __getattr__ (AttributeError) aside."""
    family = {name for name, obj in vars(errors).items() if isinstance(obj, type)} | {"UsageError"}
    allowed = family | {"ArgumentTypeError", "AttributeError"}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                func = node.exc.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                assert name in allowed, f"{path.name}:{node.lineno} raises {name}"
