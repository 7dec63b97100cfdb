"""The backends: NumPy's operations, and the PyTorch backend running the same objective code
(its logic tested on the CPU)."""

import sys

import numpy as np
import pytest

from sparseae import (
    DeviceError,
    Layout,
    ParameterError,
    SparseAutoencoder,
    SparseObjective,
)
from sparseae.engine import NumpyBackend, get_backend

pytestmark = pytest.mark.unconverged


def test_numpy_backend_hands_out_copies():
    backend = NumpyBackend()
    buffer = np.ones(3)
    out = backend.to_host(buffer)
    buffer[0] = 5.0
    assert out[0] == 1.0


def test_missing_torch_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(DeviceError, match=r"pip install 'sparseae\[torch\]'"):
        get_backend("cuda")


def test_bad_device_and_dtype():
    with pytest.raises(ParameterError, match="device must be None or a string"):
        get_backend(3)
    with pytest.raises(ParameterError, match="dtype must be float64 or float32"):
        get_backend(None, "float16")
    with pytest.raises(ParameterError, match="'dtype' parameter of SparseAutoencoder must be"):
        SparseAutoencoder(dtype="float16").fit(np.full((3, 2), 0.5))


def test_column_sums_and_sum_of_squares(rng):
    backend = NumpyBackend()
    for rows in (3, 50, 7):  # the ones vector grows and shrinks with the blocks
        x = rng.normal(size=(rows, 4))
        np.testing.assert_allclose(backend.column_sums(x), x.sum(axis=0), rtol=1e-13)
    assert backend.sum_of_squares(x) == pytest.approx((x**2).sum(), rel=1e-14)


try:
    import torch
except ImportError:
    torch = None
needs_torch = pytest.mark.skipif(
    torch is None, reason="PyTorch is not installed; the torch backend needs it"
)


@needs_torch
@pytest.mark.parametrize("activation, output_activation", [("sigmoid", "sigmoid"), ("tanh", "linear")])
def test_torch_backend_matches_numpy(rng, activation, output_activation, torch_device):
    X = rng.uniform(0.1, 0.9, size=(200, 12))
    kwargs = dict(
        activation=activation, output_activation=output_activation,
        weight_decay=1e-3, sparsity_target=0.05, sparsity_weight=3.0,
    )
    theta = Layout([12, 5, 12]).initial_theta(0)
    ref_cost, ref_grad = SparseObjective([12, 5, 12], X, **kwargs)(theta)
    objective = SparseObjective([12, 5, 12], X, backend=get_backend(torch_device), **kwargs)
    assert isinstance(objective.X, torch.Tensor)
    cost, grad = objective(theta)
    assert isinstance(grad, np.ndarray) and grad.dtype == np.float64
    assert cost == pytest.approx(ref_cost, rel=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-9, atol=1e-15)


@needs_torch
def test_estimator_on_torch_device_matches_numpy(rng, torch_device):
    X = rng.uniform(0.1, 0.9, size=(100, 9))
    a = SparseAutoencoder(4, max_iter=15, random_state=0).fit(X)
    b = SparseAutoencoder(4, max_iter=15, random_state=0, device=torch_device).fit(X)
    assert b.loss_ == pytest.approx(a.loss_, rel=1e-8)
    np.testing.assert_allclose(b.transform(X), a.transform(X), rtol=1e-6)


@needs_torch
def test_cuda_without_a_gpu_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: this test is for machines without one")
    with pytest.raises(DeviceError, match="device='cuda' cannot be used by PyTorch"):
        get_backend("cuda")


@needs_torch
@pytest.mark.parametrize("device", ["mps", "tpu", "meta", "cuda:99", "not-a-device"])
def test_devices_pytorch_cannot_compute_on_are_one_clear_error(device):
    if device == "mps" and torch.backends.mps.is_available():
        pytest.skip("an MPS device is present")
    if device == "cuda:99" and torch.cuda.device_count() > 99:
        pytest.skip("100 GPUs")
    with pytest.raises(DeviceError, match=f"device='{device}' cannot be used by PyTorch: "):
        get_backend(device)
