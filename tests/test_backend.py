"""The PyTorch backend runs the same objective code; its logic is tested on the CPU."""

import sys
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sparseae import Layout, SparseAutoencoder, SparseObjective
from sparseae.backend import NumpyBackend, get_backend


def test_numpy_backend_hands_out_copies():
    backend = NumpyBackend()
    buffer = np.ones(3)
    out = backend.to_host(buffer)
    buffer[0] = 5.0
    assert out[0] == 1.0


def test_missing_torch_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match=r"pip install 'sparseae\[torch\]'"):
        get_backend("cuda")


def test_bad_device_and_dtype():
    with pytest.raises(ValueError, match="device must be None or a string"):
        get_backend(3)
    with pytest.raises(ValueError, match="dtype must be one of 'float64', 'float32', got 'float16'"):
        SparseAutoencoder(dtype="float16").fit(np.full((3, 2), 0.5))


try:
    import torch
except ImportError:
    torch = None
needs_torch = pytest.mark.skipif(
    torch is None, reason="PyTorch is not installed; the torch backend needs it"
)


@needs_torch
@pytest.mark.parametrize("activation, output_activation", [("sigmoid", "sigmoid"), ("tanh", "linear")])
def test_torch_backend_matches_numpy(rng, activation, output_activation):
    X = rng.uniform(0.1, 0.9, size=(200, 12))
    kwargs = dict(
        activation=activation, output_activation=output_activation,
        weight_decay=1e-3, sparsity_target=0.05, sparsity_weight=3.0,
    )  # fmt: skip
    theta = Layout([12, 5, 12]).initial_theta(0)
    ref_cost, ref_grad = SparseObjective([12, 5, 12], X, **kwargs)(theta)
    objective = SparseObjective([12, 5, 12], X, backend=get_backend("cpu"), **kwargs)
    assert isinstance(objective.X, torch.Tensor)
    cost, grad = objective(theta)
    assert isinstance(grad, np.ndarray) and grad.dtype == np.float64
    assert cost == pytest.approx(ref_cost, rel=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-9, atol=1e-15)


@needs_torch
def test_estimator_on_torch_device_matches_numpy(rng):
    X = rng.uniform(0.1, 0.9, size=(100, 9))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = SparseAutoencoder(4, max_iter=15, random_state=0).fit(X)
        b = SparseAutoencoder(4, max_iter=15, random_state=0, device="cpu").fit(X)
    assert b.loss_ == pytest.approx(a.loss_, rel=1e-8)
    np.testing.assert_allclose(b.transform(X), a.transform(X), rtol=1e-6)


@needs_torch
def test_cuda_without_a_gpu_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: this test is for machines without one")
    with pytest.raises(ValueError, match="PyTorch sees no CUDA device"):
        get_backend("cuda")
