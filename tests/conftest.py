import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path_factory, monkeypatch):
    """Built data goes to a per-session temporary cache, never the user's home."""
    monkeypatch.setenv("SPARSEAE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
