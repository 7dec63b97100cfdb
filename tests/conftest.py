import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path_factory, monkeypatch):
    """Built data goes to a per-session temporary cache, never the user's home."""
    monkeypatch.setenv("SPARSEAE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(params=["numpy", "torch"])
def elementwise_kernels(request, monkeypatch):
    """Runs a test with NumPy's sigmoid and tanh, and again with PyTorch's CPU kernels."""
    from sparseae import activations

    if request.param == "numpy":
        monkeypatch.setattr(activations, "_torch", False)
    else:
        torch = pytest.importorskip("torch", reason="PyTorch not installed (optional extra)")
        monkeypatch.setattr(activations, "_torch", torch)
    return request.param
