"""Borrowed kernels: which activations take PyTorch's on NumPy arrays, and when they cannot."""

import builtins

import numpy as np
import pytest
from scipy.special import expit

from sparseae.engine import kernels


@pytest.fixture
def torch(monkeypatch):
    torch = pytest.importorskip("torch", reason="PyTorch not installed (optional extra)")
    monkeypatch.setattr(kernels, "_torch", torch)
    return torch


@pytest.mark.parametrize("vectorised, expected", [(False, {"sigmoid": "sigmoid_", "tanh": "tanh_"}),
                                                   (True, {"sigmoid": "sigmoid_", "tanh": None})])
def test_choice_follows_the_cpu(monkeypatch, vectorised, expected):
    """sigmoid is borrowed on every CPU measured; tanh only where NumPy lacks AVX-512."""
    monkeypatch.setattr(kernels, "_torch", object())  # "PyTorch is there"
    monkeypatch.setattr(kernels, "numpy_is_vectorised", lambda: vectorised)
    assert {name: kernels.borrowed_for_numpy(name) for name in expected} == expected
    assert kernels.borrowed_for_numpy("linear") is None


def test_nothing_is_borrowed_without_pytorch(monkeypatch):
    monkeypatch.setattr(kernels, "_torch", False)
    assert kernels.borrowed_for_numpy("sigmoid") is None


def test_arrays_that_cannot_be_shared_are_left_to_numpy(rng, torch):
    view = rng.normal(size=(40, 30))[:, ::2]  # not contiguous
    assert not kernels.apply_to_numpy("sigmoid_", view, None)
    assert not kernels.apply_to_numpy("sigmoid_", np.zeros(5), None)  # 1-d
    swapped = np.zeros((3, 4), dtype=">f8" if np.little_endian else "<f8")  # foreign byte order
    assert not kernels.apply_to_numpy("sigmoid_", swapped, None)
    readonly = np.zeros((3, 4))
    readonly.flags.writeable = False
    assert not kernels.apply_to_numpy("sigmoid_", readonly, None)


def test_shared_arrays_are_computed_in_place(rng, torch, monkeypatch):
    monkeypatch.setattr(kernels, "SMALL", 1000)
    z, b = rng.normal(size=(101, 10)), rng.normal(size=10)
    expected = expit(z + b)
    assert kernels.apply_to_numpy("sigmoid_", z, b)
    np.testing.assert_allclose(z, expected, rtol=4e-16)


def test_small_arrays_stay_with_numpys_kernel(rng, torch):
    z = rng.normal(size=(100, 25))  # an Adam minibatch's hidden layer: 2,500 values
    before = z.copy()
    assert z.size < kernels.SMALL and not kernels.apply_to_numpy("sigmoid_", z, None)
    np.testing.assert_array_equal(z, before)  # untouched: the caller computes it


def test_a_broken_pytorch_falls_back_to_numpy_with_a_warning(monkeypatch):
    real_import = builtins.__import__

    def failing_import(name, *args, **kwargs):
        if name == "torch":
            raise OSError("libcudart.so.12: cannot open shared object file")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", failing_import)
    monkeypatch.setattr(kernels, "_torch", None)
    with pytest.warns(RuntimeWarning, match="PyTorch is installed but failed to import"):
        assert kernels.torch_module() is False


def test_environment_switches_borrowing_off(monkeypatch):
    monkeypatch.setenv("SPARSEAE_TORCH_KERNELS", "0")
    monkeypatch.setattr(kernels, "_torch", None)
    assert kernels.torch_module() is False


def test_the_lent_top_k_keeps_what_numpy_keeps(rng, monkeypatch):
    """PyTorch's topk, lent for TopK's selection, keeps the k largest values of each row, as
    NumPy's argpartition does (ties: other equal columns, the same values)."""
    pytest.importorskip("torch", reason="PyTorch not installed (optional extra)")
    a = np.round(rng.standard_normal((64, 300)), 1)  # many ties
    lent = kernels.top_k_indices(a, 7)
    monkeypatch.setattr(kernels, "_torch", False)
    own = kernels.top_k_indices(a, 7)
    np.testing.assert_array_equal(np.sort(np.take_along_axis(a, lent, 1), axis=1),
                                  np.sort(np.take_along_axis(a, own, 1), axis=1))


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("dtype, ulps", [(np.float64, 4e-16), (np.float32, 2e-7)])
def test_fused_derivatives_equal_the_notes_steps(rng, torch, name, dtype, ulps):
    """PyTorch's one-pass δ ⊙ f'(z) on NumPy memory equals sparseae.activations' steps (relu's
    at z = 0 too: 0, a subgradient)."""
    from sparseae.activations import ACTIVATIONS

    activation = ACTIVATIONS[name]
    z = rng.normal(size=(300, 40)).astype(dtype)
    z[0, :5] = 0.0
    a = activation.f(z.copy(), None, np)
    delta = rng.normal(size=z.shape).astype(dtype)
    expected = delta.copy()
    activation.derivative(a.copy(), expected, np)
    backward = kernels.backward_for_numpy(name)
    assert kernels.derivative_to_numpy(backward, a, delta)
    np.testing.assert_allclose(delta, expected, rtol=2 * ulps, atol=2 * ulps * np.abs(expected).max())
    if name == "relu":
        assert np.all(delta[0, :5] == 0.0)


def test_fused_derivatives_leave_what_they_cannot_share_to_numpy(rng, torch):
    backward = kernels.backward_for_numpy("sigmoid")
    assert kernels.backward_for_numpy("linear") is None
    a, delta = rng.uniform(size=(200, 50)), rng.normal(size=(200, 50))
    before = delta.copy()
    assert not kernels.derivative_to_numpy(backward, a[:, ::2], delta[:, ::2])  # not contiguous
    assert not kernels.derivative_to_numpy(backward, a.astype(np.float32), delta)  # mixed dtypes
    assert not kernels.derivative_to_numpy(backward, a[:10, :10].copy(), delta[:10, :10].copy())  # small
    readonly = delta.copy()
    readonly.flags.writeable = False
    assert not kernels.derivative_to_numpy(backward, a, readonly)
    np.testing.assert_array_equal(delta, before)


def test_the_backends_use_the_fused_derivative(rng, torch, monkeypatch):
    """NumPy arrays and tensors both take the one-pass kernel when it is there, and the generic
    steps when it is not (an activation without one)."""
    from sparseae.activations import ACTIVATIONS
    from sparseae.engine import get_backend

    calls = []
    real = kernels.backward_operator
    monkeypatch.setattr(kernels, "backward_operator",
                        lambda name, xp: (lambda d, a: calls.append(name) or real(name, xp)(d, a))
                        if real(name, xp) else None)
    a, delta = rng.uniform(size=(200, 50)), rng.normal(size=(200, 50))
    for backend, arrays in ((get_backend(None), (a.copy(), delta.copy())),
                            (get_backend("cpu"), (torch.from_numpy(a.copy()), torch.from_numpy(delta.copy())))):
        backend.derivative(ACTIVATIONS["sigmoid"], *arrays)
        backend.derivative(ACTIVATIONS["linear"], *arrays)
    assert calls == ["sigmoid", "sigmoid"]
