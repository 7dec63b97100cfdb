"""f and f' (notes §2), on NumPy's kernels and on PyTorch's CPU kernels for NumPy arrays."""

import numpy as np
import pytest
from scipy.special import expit

from sparseae import activations
from sparseae.activations import ACTIVATIONS, DERIVATIVES

REFERENCE = {"sigmoid": expit, "tanh": np.tanh, "linear": lambda z: z}


def _inputs(rng, dtype, rows=3000, cols=37):
    """Rows not a multiple of a kernel chunk, and values out to where exp overflows."""
    z = rng.normal(0.0, 4.0, size=(rows, cols))
    z[0, :4] = [-1000.0, -745.0, 710.0, 1000.0]
    return z.astype(dtype), rng.normal(0.0, 1.0, size=cols).astype(dtype)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_f_of_z_plus_b_in_place(rng, name, dtype, elementwise_kernels):
    z, b = _inputs(rng, dtype)
    # The exact f of the z + b that the dtype holds; the test config turns any overflow
    # warning (z far from 0) into an error.
    expected = REFERENCE[name]((z + b).astype(np.float64))
    out = ACTIVATIONS[name](z, b)
    assert out is z and out.dtype == dtype
    # float64: within a few units in the last place; float32: within a few of its own.
    rtol, atol = (4e-16, 1e-300) if dtype == np.float64 else (4e-7, 1e-38)
    np.testing.assert_allclose(out, expected, rtol=rtol, atol=atol)


def test_sigmoid_saturates_exactly(elementwise_kernels):
    z = np.array([[-1000.0, -40.0, 0.0, 40.0, 1000.0]])
    out = ACTIVATIONS["sigmoid"](z.copy())
    assert out[0, 0] == 0.0 and out[0, 2] == 0.5 and out[0, -1] == 1.0
    assert out[0, 1] == pytest.approx(np.exp(-40.0), rel=1e-15)  # no cancellation near 0


#: Two code paths for the same f (NumPy's vectorised exp on AVX-512, its scalar exp elsewhere,
#: scipy's expit, PyTorch's kernels) agree to a few units in the last place, not bit for bit.
MAX_ULP = 4


def test_numpy_kernels_agree_with_expit_to_a_few_ulps():
    z = np.random.default_rng(0).normal(0, 5, size=(50, 20))
    b = np.random.default_rng(1).normal(size=20)
    activations._torch, saved = False, activations._torch
    try:
        out = activations.sigmoid(z.copy(), b)
    finally:
        activations._torch = saved
    np.testing.assert_array_max_ulp(out, expit(z + b), maxulp=MAX_ULP)


def test_torch_kernels_skip_arrays_they_cannot_share(rng, monkeypatch):
    """A non-contiguous or read-only array takes NumPy's path, with the same result."""
    torch = pytest.importorskip("torch", reason="PyTorch not installed (optional extra)")
    monkeypatch.setattr(activations, "_torch", torch)
    base = rng.normal(size=(40, 30))
    view = base[:, ::2]  # not contiguous
    expected = expit(view)
    assert activations.sigmoid(view) is view
    np.testing.assert_array_max_ulp(view, expected, maxulp=MAX_ULP)  # NumPy's path
    assert not activations._torch_inplace(np.zeros(5), None, "sigmoid_")  # 1-d: not chunked
    swapped = np.zeros((3, 4), dtype=">f8" if np.little_endian else "<f8")  # foreign byte order
    assert not activations._torch_inplace(swapped, None, "sigmoid_")
    np.testing.assert_array_equal(activations.sigmoid(swapped), np.full((3, 4), 0.5))


def test_a_broken_pytorch_falls_back_to_numpy_with_a_warning(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def failing_import(name, *args, **kwargs):
        if name == "torch":
            raise OSError("libcudart.so.12: cannot open shared object file")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", failing_import)
    monkeypatch.setattr(activations, "_torch", None)
    with pytest.warns(RuntimeWarning, match="PyTorch is installed but failed to import"):
        assert activations.torch_kernels() is False
    z = np.array([[0.0, 1.0]])
    np.testing.assert_array_max_ulp(activations.sigmoid(z.copy()), expit(z), maxulp=MAX_ULP)


def test_environment_switches_torch_kernels_off(monkeypatch):
    monkeypatch.setenv("SPARSEAE_TORCH_KERNELS", "0")
    monkeypatch.setattr(activations, "_torch", None)
    assert activations.torch_kernels() is False


@pytest.mark.parametrize(
    "name, derivative",
    [("sigmoid", lambda a: a * (1 - a)), ("tanh", lambda a: 1 - a * a), ("linear", lambda a: 1.0)],
)
def test_derivatives_multiply_delta_in_place(rng, name, derivative):
    a = rng.uniform(-0.9, 0.9, size=(20, 7)) if name != "sigmoid" else rng.uniform(size=(20, 7))
    delta = rng.normal(size=a.shape)
    expected = delta * derivative(a)
    DERIVATIVES[name](a.copy(), delta)
    np.testing.assert_allclose(delta, expected, rtol=1e-15, atol=1e-300)
