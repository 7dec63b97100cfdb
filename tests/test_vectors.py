"""engine/vectors.py: the optimizer's vector operations, on the host (one core or all) and on a
PyTorch device, give the same numbers."""

import numpy as np
import pytest

from sparseae.engine.vectors import HostVectors, host_copy

try:
    import torch
except ImportError:  # the optional extra
    torch = None


@pytest.mark.parametrize("k, n", [(6, 1000), (30, 40000)])  # one part, and one per core
def test_history_passes_equal_numpys(rng, k, n):
    rows, x, c = rng.normal(size=(k, n)), rng.normal(size=n), rng.normal(size=k)
    vectors, out = HostVectors(), np.empty(n)
    np.testing.assert_allclose(vectors.products(rows, x), rows @ x, rtol=1e-12, atol=1e-12)
    vectors.combination_into(out, c, rows, -0.5, x)
    np.testing.assert_allclose(out, c @ rows - 0.5 * x, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("values", [[3.0, -7.5, 2.0], [-1.0, 4.0], [np.nan, 1.0], [1.0, -np.nan], [2.0, -np.inf]])
def test_max_abs_is_the_largest_magnitude_and_nan_for_a_nan(values):
    x = np.array(values)
    with np.errstate(invalid="ignore"):
        np.testing.assert_equal(HostVectors().max_abs(x), np.abs(x).max())


def test_zeros_are_zeros():
    np.testing.assert_array_equal(HostVectors().zeros((3, 4)), np.zeros((3, 4)))


def test_host_copy_is_a_new_float64_array():
    a = np.ones(3, dtype=np.float32)
    b = host_copy(a)
    b[0] = 5.0
    assert b.dtype == np.float64 and a[0] == 1.0


@pytest.mark.skipif(torch is None, reason="PyTorch is an optional extra (sparseae[torch])")
def test_torch_vectors_do_what_host_vectors_do(rng, torch_device):
    from sparseae.engine.vectors import TorchVectors

    host, device = HostVectors(), TorchVectors(torch, torch.device(torch_device))
    rows, x, y, c = rng.normal(size=(8, 50)), rng.normal(size=50), rng.normal(size=50), rng.normal(size=8)
    on = {name: device.from_host(v) for name, v in dict(rows=rows, x=x, y=y).items()}
    assert device.transfers == 3
    assert device.dot(on["x"], on["y"]) == pytest.approx(host.dot(x, y), rel=1e-14)
    assert device.max_abs(on["x"]) == host.max_abs(x)
    np.testing.assert_allclose(device.products(on["rows"], on["x"]), host.products(rows, x), rtol=1e-13)
    for op, args in [("add_into", (on["x"], 0.3, on["y"])), ("subtract_into", (on["x"], on["y"])),
                     ("scaled_into", (-2.0, on["x"])), ("combination_into", (c, on["rows"], 0.7, on["x"]))]:
        out, expected = device.zeros(50), np.empty(50)
        getattr(device, op)(out, *args)
        getattr(host, op)(expected, *[host_copy(a) if torch.is_tensor(a) else a for a in args])
        np.testing.assert_allclose(device.to_host(out), expected, rtol=1e-13, atol=1e-15, err_msg=op)
    assert not device.all_finite(device.from_host(np.array([1.0, np.nan])))
