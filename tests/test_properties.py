"""Property-based tests of the boundary (Hypothesis): whatever array, of whatever shape, dtype,
values and NaN/inf placement, reaches fit, transform, encode or load, the result is either
correct or an error of sparseae's family (a ValueError or TypeError, or for a diverging fit a
FloatingPointError) whose message names the data problem; and a model file with flipped or
missing bytes is a ModelFileError, never a crash or a silently different model."""

import io
import tempfile
import warnings
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("hypothesis", reason="Hypothesis is in the test extras: pip install '.[test]'")
# Derandomized: every run (CI's included) tries the same examples, so a result is reproducible.
# HYPOTHESIS_WIDE=1 in the environment searches wider: 500 fresh random examples a property.
import os  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import sparseae  # noqa: E402
from sparseae import ModelFileError, NonFiniteCostError, SparseaeError  # noqa: E402
from sparseae.cli import main  # noqa: E402

_WIDE = os.environ.get("HYPOTHESIS_WIDE") == "1"
SETTINGS = settings(max_examples=500 if _WIDE else 60, deadline=None, derandomize=not _WIDE, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
DTYPES = [np.int8, np.int64, np.bool_, np.float16, np.float32, np.float64, np.complex128]
#: What an error about the data names: X, the data, a value, a shape or a type.
NAMES_THE_DATA = ("X", "data", "NaN", "complex", "numbers", "empty", "dtype", "outside", "non-finite")


@st.composite
def arrays(draw, max_rows=12, max_cols=6):
    """A 0- to 3-D array of any of DTYPES (or an object array), values near [0, 1] or anywhere,
    with NaN and inf here and there in the float ones."""
    ndim = draw(st.sampled_from([2, 2, 2, 2, 1, 3, 0]))
    shape = draw(hnp.array_shapes(min_dims=ndim, max_dims=ndim, min_side=0, max_side=max(max_rows, max_cols)))
    if draw(st.booleans()):
        return draw(hnp.arrays(object, shape, elements=st.one_of(st.floats(0, 1), st.integers(0, 1),
                                                                    st.none(), st.text(max_size=2))))
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    if dtype.kind in "fc":
        width = 8 * dtype.itemsize if dtype.kind == "f" else 64
        bound = min(1e6, float(np.finfo(np.float16).max)) if width == 16 else 1e6
        finite = st.floats(-bound, bound, width=width) if draw(st.booleans()) else st.floats(0, 1, width=width)
        elements = st.one_of(finite, finite, finite, st.sampled_from([np.nan, np.inf, -np.inf]))
        return draw(hnp.arrays(dtype, shape, elements=elements))
    return draw(hnp.arrays(dtype, shape))


def _check_outcome(run, check_result):
    """``run()`` either passes ``check_result`` or raises an error of the family naming the data."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning after 2 iterations, and the like
            result = run()
    except (ValueError, TypeError, NonFiniteCostError) as exc:
        assert isinstance(exc, SparseaeError), f"{type(exc).__name__} from outside the family: {exc}"
        assert any(word in str(exc) for word in NAMES_THE_DATA), str(exc)
        return
    check_result(result)


@SETTINGS
@given(X=arrays(), output=st.sampled_from(["sigmoid", "linear"]))
def test_fit_gives_a_model_or_names_the_data_problem(X, output):
    def check(model):
        assert X.ndim == 2 and X.shape[0] >= 1 and X.shape[1] >= 1
        assert np.isfinite(model.loss_) and model.components_.shape == (3, X.shape[1])

    _check_outcome(lambda: sparseae.SparseAutoencoder(3, output_activation=output, max_iter=2,
                                                      random_state=0).fit(X), check)


@pytest.fixture(scope="module")
def fitted():
    X = np.random.default_rng(0).uniform(0.1, 0.9, size=(30, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sparseae.SparseAutoencoder(3, max_iter=5, random_state=0).fit(X)


@SETTINGS
@given(X=arrays(max_cols=5))
def test_transform_gives_features_or_names_the_data_problem(fitted, X):
    def check(H):
        assert X.shape[1:] == (4,) and H.shape == (X.shape[0], 3) and np.isfinite(H).all()

    _check_outcome(lambda: fitted.transform(X), check)


@pytest.fixture(scope="module")
def model_file(fitted, tmp_path_factory):
    return fitted.save(tmp_path_factory.mktemp("model") / "m.safetensors")


@SETTINGS
@given(X=arrays(max_cols=5))
def test_encode_writes_features_or_one_line_and_nothing(model_file, X):
    with tempfile.TemporaryDirectory() as d:
        data, out = Path(d) / "x.npy", Path(d) / "f.npy"
        np.save(data, X, allow_pickle=True)  # an object array is saved pickled; encode must refuse it
        stdout, stderr = io.StringIO(), io.StringIO()
        with redirect_stdout(stdout), redirect_stderr(stderr):
            code = main(["encode", str(model_file), str(data), "-o", str(out)])
        if code == 0:
            np.testing.assert_array_equal(np.load(out).shape, (X.shape[0], 3))
        else:
            assert code == 1 and not out.exists()
            err = stderr.getvalue()
            assert err.count("\n") == 1 and err.startswith("sparseae encode: error: ") and "Traceback" not in err


@SETTINGS
@given(data=st.data())
def test_a_damaged_model_file_is_a_model_file_error_or_the_same_model(fitted, model_file, data):
    raw = bytearray(model_file.read_bytes())
    if data.draw(st.booleans(), label="truncate"):
        raw = raw[: data.draw(st.integers(0, len(raw) - 1), label="length")]
    else:
        for offset in data.draw(st.lists(st.integers(0, len(raw) - 1), min_size=1, max_size=3), label="flips"):
            raw[offset] ^= data.draw(st.integers(1, 255), label="xor")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "damaged.safetensors"
        path.write_bytes(bytes(raw))
        try:
            loaded = sparseae.load(path)
        except ModelFileError:
            return
    # Loading succeeded: then it must be the very model that was saved (a flip the format ignores).
    assert loaded.get_params() == fitted.get_params()
    np.testing.assert_array_equal(loaded.theta_, fitted.theta_)
    assert loaded.loss_curve_ == fitted.loss_curve_
