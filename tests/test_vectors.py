"""engine/vectors.py: the optimizer's vector operations, on the host (one core or all) and on a
PyTorch device, give the same numbers."""

import numpy as np
import pytest

from sparseae.engine import parallel, vectors
from sparseae.engine.vectors import BLOCK, COMPILED_FROM, Composed, HostVectors, host_copy

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


@pytest.fixture
def compiled(monkeypatch):
    """sparseae.engine._history's passes, turned on (a run may have turned the extensions off)."""
    if vectors._history is None:
        pytest.skip("sparseae.engine._history is not built here (no C compiler at install)")
    monkeypatch.setenv("SPARSEAE_FUSED", "1")


def _history(rng, m, n):
    """A history of m pairs (2m rows, the last slot's to be written) and the vectors of an iteration."""
    rows = rng.normal(size=(2 * m, n))
    d, g_new, g, theta = (rng.normal(size=n) for _ in range(4))
    used = np.concatenate([np.arange(m), m + np.arange(m)])
    return rows, used, d, g_new, g, theta


def _passes(vectors_, rows, used, d, g_new, g, theta, coefficients):
    rows = rows.copy()
    pair = vectors_.pair_into(rows, used, len(used) // 2 - 1, len(used) - 1, 0.7, d, g_new, g)
    out, trial = np.empty_like(d), np.empty_like(d)
    gd = vectors_.direction_into(out, coefficients, rows, used, -0.4, g, theta, trial)
    return rows, pair, out, trial, gd


@pytest.mark.parametrize("m, n", [(3, 1000), (15, 40000)])  # BLAS's passes, and the compiled ones
def test_an_iterations_history_passes_do_what_their_steps_do(rng, m, n):
    rows, used, d, g_new, g, theta = _history(rng, m, n)
    c = rng.normal(size=2 * m)
    got_rows, (products, sy, yy, g_max), out, trial, gd = _passes(HostVectors(), rows, used, d, g_new, g, theta, c)
    s, y = 0.7 * d, g_new - g
    expected = rows.copy()
    expected[m - 1], expected[2 * m - 1] = s, y
    np.testing.assert_array_equal(got_rows, expected)
    np.testing.assert_allclose(products, expected @ g_new, rtol=1e-12, atol=1e-12)
    assert sy == pytest.approx(s @ y, rel=1e-12) and yy == pytest.approx(y @ y, rel=1e-12)
    assert g_max == np.abs(g_new).max()
    np.testing.assert_allclose(out, c @ expected - 0.4 * g, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(trial, theta + out)
    assert gd == pytest.approx(g @ out, rel=1e-12)


def _assert_same(a, b):
    """The same bits, through tuples."""
    if isinstance(a, tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    else:
        np.testing.assert_array_equal(a, b)


def _lanes_dot(a, b):
    """_history.c's dot product of one block, step by step: lane j % 16, then the lanes' tree."""
    acc, products = np.zeros(16), a * b
    full = len(products) // 16 * 16
    for chunk in products[:full].reshape(-1, 16):
        acc = acc + chunk
    acc[:len(products) - full] += products[full:]
    for width in (8, 4, 2, 1):
        acc[:width] = acc[:width] + acc[width:2 * width]
    return acc[0]


def _blocks_dot(a, b):
    total = 0.0
    for lo in range(0, len(a), BLOCK):
        total = total + _lanes_dot(a[lo:lo + BLOCK], b[lo:lo + BLOCK])
    return total


def test_the_compiled_passes_sum_in_their_documented_order_on_any_number_of_cores(rng, monkeypatch, compiled):
    # The bits do not depend on the instruction set the CPU offers (no FMA, fixed lanes) nor on
    # how the blocks are shared among cores: each sum equals the order written down in Python
    m, n = 8, COMPILED_FROM // 16 + 37  # a last block that is not whole, nor a whole number of lanes
    rows, used, d, g_new, g, theta = _history(rng, m, n)
    c = rng.normal(size=2 * m)
    runs = {}
    for cores in (1, 2, 3):
        monkeypatch.setattr(parallel, "n_cores", lambda cores=cores: cores)
        runs[cores] = _passes(HostVectors(), rows, used, d, g_new, g, theta, c)
    got_rows, (products, sy, yy, _), out, _, gd = runs[1]
    for other in (2, 3):
        _assert_same(runs[1], runs[other])
    assert list(products) == [_blocks_dot(got_rows[q], g_new) for q in used]
    s, y = got_rows[m - 1], got_rows[2 * m - 1]
    assert sy == _blocks_dot(s, y) and yy == _blocks_dot(y, y)
    expected = -0.4 * g
    for q in range(2 * m):
        expected = expected + c[q] * got_rows[used[q]]
    np.testing.assert_array_equal(out, expected)
    assert gd == _blocks_dot(g, out)
    for x in rng.normal(size=(6, n)):  # more x·out: an order that differs shows in most of them
        assert HostVectors().direction_into(out, c, got_rows, used, 0.3, x) == _blocks_dot(x, out)


def test_the_compiled_pair_pass_reports_a_nan_gradient(rng, compiled):
    rows, used, d, g_new, g, _ = _history(rng, 8, COMPILED_FROM // 16)
    g_new[12345] = np.nan
    assert np.isnan(HostVectors().pair_into(rows, used, 7, 15, 0.5, d, g_new, g)[3])


class Steps(HostVectors):
    """The host's vectors with BLAS's and NumPy's passes whatever the history's size."""

    pair_into, direction_into = Composed.pair_into, Composed.direction_into


def test_sparseae_fused_0_takes_blas_passes(rng, monkeypatch):
    monkeypatch.setenv("SPARSEAE_FUSED", "0")
    rows, used, d, g_new, g, theta = _history(rng, 15, 40000)
    c = rng.normal(size=30)
    _assert_same(_passes(HostVectors(), rows, used, d, g_new, g, theta, c),
                 _passes(Steps(), rows, used, d, g_new, g, theta, c))


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


def test_the_compiled_passes_refuse_rows_and_blocks_outside_the_history(rng, compiled):
    rows, _, d, g_new, g, theta = _history(rng, 2, 5000)
    partials = np.empty((3, 4))
    with pytest.raises(IndexError, match="outside the history"):
        vectors._history.pair(rows, np.array([0, 4]), 0, 2, 0.5, d, g_new, g, 0, 3, partials)
    with pytest.raises(IndexError, match="two rows"):
        vectors._history.pair(rows, np.array([0]), 0, 0, 0.5, d, g_new, g, 0, 3, partials)
    with pytest.raises(ValueError, match="outside the 3 blocks"):
        vectors._history.pair(rows, np.array([0]), 0, 2, 0.5, d, g_new, g, 0, 4, partials)
    with pytest.raises(TypeError, match="g_new"):
        vectors._history.pair(rows, np.array([0]), 0, 2, 0.5, d, g_new[:-1], g, 0, 3, partials)
    with pytest.raises(TypeError, match="partials"):
        vectors._history.direction(rows, np.array([0]), np.ones(1), 1.0, g, d, None, None, 0, 3, np.empty(2))
