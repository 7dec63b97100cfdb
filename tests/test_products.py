"""The NumPy backend's products on the faster BLAS of the process (sparseae.engine.products):
the same values as NumPy's to a few ulps, choices measured once and kept for the machine, sums
never overwritten by a measurement, and the switches."""

import json

import numpy as np
import pytest

from sparseae import SparseAutoencoder
from sparseae.engine import get_backend, kernels, parallel, products
from sparseae.engine.products import Products
from sparseae.network import Layout
from sparseae.objective import SparseObjective

torch = pytest.importorskip("torch", reason="PyTorch not installed: the products are NumPy's alone")


@pytest.fixture
def chooser(monkeypatch):
    """A fresh chooser with PyTorch borrowable (whatever the environment says)."""
    monkeypatch.setattr(kernels, "_torch", torch)
    monkeypatch.delenv("SPARSEAE_TORCH_PRODUCTS", raising=False)
    return Products()


def operands(rng, dtype, m=300, k=120, n=90):
    return rng.normal(size=(m, k)).astype(dtype), rng.normal(size=(k, n)).astype(dtype)


@pytest.mark.parametrize("dtype, ulps", [(np.float64, 1e-13), (np.float32, 1e-5)])
def test_torch_products_agree_with_numpy(chooser, monkeypatch, rng, dtype, ulps):
    a, b = operands(rng, dtype)
    monkeypatch.setenv("SPARSEAE_TORCH_PRODUCTS", "1")
    for left, right in ((a, b), (a.T.copy().T, b), (a, b.T.copy().T)):  # C and F operands
        out = np.empty((a.shape[0], b.shape[1]), dtype)
        chooser.matmul_into(left, right, out)
        reference = left @ right
        assert np.max(np.abs(out - reference)) <= ulps * np.max(np.abs(reference))
    total = np.ones((a.shape[0], b.shape[1]), dtype)
    chooser.matmul_add(a, b, total)
    np.testing.assert_allclose(total, 1 + a @ b, rtol=0, atol=ulps * np.max(np.abs(a @ b)))


def test_measuring_a_sum_does_not_overwrite_it(chooser, tmp_path, monkeypatch, rng):
    """The first product of a class is timed: into scratch, never into the running sum."""
    monkeypatch.setenv("SPARSEAE_CACHE_DIR", str(tmp_path))
    a, b = operands(rng, np.float64)
    total = np.full((a.shape[0], b.shape[1]), 2.0)
    chooser.matmul_add(a, b, total)
    np.testing.assert_allclose(total, 2.0 + a @ b, rtol=1e-13, atol=1e-12)


def test_a_choice_is_measured_once_and_kept_for_the_machine(chooser, tmp_path, monkeypatch, rng):
    monkeypatch.setenv("SPARSEAE_CACHE_DIR", str(tmp_path))
    measured = []
    monkeypatch.setattr(Products, "_measure", staticmethod(lambda *args: measured.append(1) or "torch"))
    a, b = operands(rng, np.float64)
    out = np.empty((a.shape[0], b.shape[1]))
    chooser.matmul_into(a, b, out)
    chooser.matmul_into(a, b, out)
    assert len(measured) == 1
    saved = json.loads((tmp_path / products.FILE).read_text())
    assert saved["format_version"] == 1
    assert saved["machines"][products.machine_key()] == {products.shape_class(a, b): "torch"}
    # A later process reads the machine's choice instead of measuring again.
    monkeypatch.setattr(Products, "_measure", staticmethod(lambda *args: pytest.fail("measured again")))
    later = Products()
    later.matmul_into(a, b, out)
    assert later._choices == {products.shape_class(a, b): "torch"}


def test_another_process_s_choice_wins_the_race(chooser, tmp_path, monkeypatch, rng):
    """Two processes measuring one class at once: the one written first holds for both."""
    monkeypatch.setenv("SPARSEAE_CACHE_DIR", str(tmp_path))
    a, b = operands(rng, np.float64)
    chooser._load()  # this process read the (empty) file before the other wrote
    other = {"format_version": 1, "machines": {products.machine_key(): {products.shape_class(a, b): "numpy"}}}
    (tmp_path / products.FILE).write_text(json.dumps(other))
    monkeypatch.setattr(Products, "_measure", staticmethod(lambda *args: "torch"))
    chooser.matmul_into(a, b, np.empty((a.shape[0], b.shape[1])))
    assert chooser._choices[products.shape_class(a, b)] == "numpy"


@pytest.mark.parametrize("content", ["{not json", '{"machines": []}', '["a list"]'])
def test_a_damaged_choices_file_is_measured_again_and_rewritten(chooser, tmp_path, monkeypatch, rng, content):
    monkeypatch.setenv("SPARSEAE_CACHE_DIR", str(tmp_path))
    (tmp_path / products.FILE).write_text(content)
    a, b = operands(rng, np.float64)
    chooser.matmul_into(a, b, np.empty((a.shape[0], b.shape[1])))
    saved = json.loads((tmp_path / products.FILE).read_text())
    assert products.shape_class(a, b) in saved["machines"][products.machine_key()]


def test_a_read_only_cache_is_no_error(chooser, tmp_path, monkeypatch, rng):
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setenv("SPARSEAE_CACHE_DIR", str(blocked / "cache"))  # under a file: cannot be made
    a, b = operands(rng, np.float64)
    out = np.empty((a.shape[0], b.shape[1]))
    chooser.matmul_into(a, b, out)
    np.testing.assert_allclose(out, a @ b, rtol=1e-12)


def test_read_only_operands_stay_on_numpy_without_a_warning(chooser, monkeypatch, rng):
    monkeypatch.setenv("SPARSEAE_TORCH_PRODUCTS", "1")
    a, b = operands(rng, np.float64)
    a.flags.writeable = False  # a memory-mapped file's rows
    out = np.empty((a.shape[0], b.shape[1]))
    chooser.matmul_into(a, b, out)  # (pytest turns PyTorch's non-writable warning into an error)
    np.testing.assert_array_equal(out, np.matmul(a, b))


@pytest.mark.parametrize("switch", [("SPARSEAE_TORCH_PRODUCTS", "0"), ("SPARSEAE_TORCH_KERNELS", "0")])
def test_the_switches_keep_every_product_on_numpy(monkeypatch, rng, switch):
    monkeypatch.setenv(*switch)
    monkeypatch.setattr(kernels, "_torch", None)  # looked for again, under the switch
    monkeypatch.setattr(Products, "_measure", staticmethod(lambda *args: pytest.fail("measured")))
    monkeypatch.setattr(torch, "mm", lambda *args, **kwargs: pytest.fail("PyTorch's product used"))
    a, b = operands(rng, np.float64)
    out = np.empty((a.shape[0], b.shape[1]))
    Products().matmul_into(a, b, out)
    np.testing.assert_array_equal(out, np.matmul(a, b))


@pytest.mark.parametrize("dtype, tolerance", [("float64", 1e-13), ("float32", 1e-5)])
def test_an_evaluation_on_either_blas_is_the_same(monkeypatch, rng, dtype, tolerance):
    monkeypatch.setattr(kernels, "_torch", torch)
    X = rng.uniform(0.05, 0.95, size=(3000, 64))
    theta = Layout([64, 40, 64]).initial_theta(0)
    results = {}
    for setting in ("0", "1"):
        monkeypatch.setenv("SPARSEAE_TORCH_PRODUCTS", setting)
        objective = SparseObjective([64, 40, 64], X, backend=get_backend(None, dtype), sparsity_target=0.05,
                                    sparsity_weight=3.0, weight_decay=1e-3)
        with parallel.single_threaded_blas():
            results[setting] = objective(theta)
    (c0, g0), (c1, g1) = results["0"], results["1"]
    assert abs(c1 - c0) <= tolerance * abs(c0)
    assert np.linalg.norm(g1 - g0) <= tolerance * np.linalg.norm(g0)


@pytest.mark.unconverged
def test_the_same_seed_gives_the_same_weights_on_the_measured_choice(tmp_path, monkeypatch, rng):
    monkeypatch.setattr(kernels, "_torch", torch)
    monkeypatch.delenv("SPARSEAE_TORCH_PRODUCTS", raising=False)
    X = rng.uniform(0.05, 0.95, size=(2000, 64))
    fits = [SparseAutoencoder(32, max_iter=15, tol=0, random_state=3).fit(X) for _ in range(2)]
    np.testing.assert_array_equal(fits[0].theta_, fits[1].theta_)


def test_a_fit_runs_pytorch_single_threaded_and_restores_it(monkeypatch):
    monkeypatch.setattr(kernels, "_torch", torch)
    before = torch.get_num_threads()
    with parallel.single_threaded_blas():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
