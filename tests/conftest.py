import os

import numpy as np
import pytest

from sparseae.rows import NpyRows


def pytest_configure(config):
    config.addinivalue_line("markers", "unconverged: the test's fits stop at max_iter on purpose (a few "
                            "iterations are enough for what it checks), so their ConvergenceWarning is "
                            "not an error; pytest.warns still sees it")


def pytest_collection_modifyitems(items):
    """The one place the ConvergenceWarning filter lives: a test (or module) marked unconverged."""
    for item in items:
        if item.get_closest_marker("unconverged"):
            item.add_marker(pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"))


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def torch_device():
    """The PyTorch device of the backend tests: "cpu" (CI has no GPU), or SPARSEAE_TEST_DEVICE
    ("cuda" on a GPU machine, where benchmarks/gpu_check.sh runs them)."""
    return os.environ.get("SPARSEAE_TEST_DEVICE", "cpu")


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path_factory, monkeypatch):
    """Built data goes to a per-session temporary cache, never the user's home."""
    monkeypatch.setenv("SPARSEAE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(params=["numpy", "torch"])
def elementwise_kernels(request, monkeypatch):
    """Runs a test with NumPy's own kernels, and again with PyTorch's borrowed for every
    activation that has one (whatever the CPU would choose)."""
    from sparseae.engine import kernels

    if request.param == "numpy":
        monkeypatch.setattr(kernels, "_torch", False)
    else:
        torch = pytest.importorskip("torch", reason="PyTorch not installed (optional extra)")
        monkeypatch.setattr(kernels, "_torch", torch)
        monkeypatch.setattr(kernels, "numpy_is_vectorised", lambda: False)
    return request.param


@pytest.fixture
def data(tmp_path, rng):
    """1,000 x 20 values in [0.05, 0.95], in memory and in a .npy file."""
    X = rng.uniform(0.05, 0.95, size=(1000, 20))
    path = tmp_path / "x.npy"
    np.save(path, X)
    return X, path


@pytest.fixture
def row_reads(monkeypatch):
    """The sizes of the chunks read from .npy files during the test."""
    reads = []
    original = NpyRows.rows

    def spy(self, start, stop):
        reads.append(stop - start)
        return original(self, start, stop)

    monkeypatch.setattr(NpyRows, "rows", spy)
    return reads
