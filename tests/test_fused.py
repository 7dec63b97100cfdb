"""The compiled fused passes (sparseae.engine.fused) against the steps they replace.

Each pass must compute what sparseae.activations, sparseae.losses and sparseae.backprop compute
step by step, to a few units in the last place (the sigmoid's exp is glibc's vector exp, the sums
are added in another order), for every activation and both dtypes; and a whole evaluation must
be the same J and gradient with the extension on and off (``SPARSEAE_FUSED``).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import sparseae
from sparseae import activations
from sparseae.engine import fused, get_backend

needs_extension = pytest.mark.skipif(
    fused._fused is None, reason="sparseae.engine._fused is not built here (no C compiler at install, or not "
                                  "x86-64 Linux): the NumPy steps are then the only path, tested everywhere else")

ACTS = activations.ACTIVATIONS
RTOL = {np.float64: 1e-13, np.float32: 2e-6}


def _block(rng, rows, cols, dtype, low=-3.0, high=3.0):
    return rng.uniform(low, high, (rows, cols)).astype(dtype)


@needs_extension
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ["sigmoid", "relu", "linear"])
@pytest.mark.parametrize("with_bias", [True, False])
def test_activate_is_f_of_z_plus_b(name, dtype, with_bias):
    rng = np.random.default_rng(0)
    z = _block(rng, 37, 19, dtype)
    b = rng.uniform(-1, 1, 19).astype(dtype) if with_bias else None
    expected = ACTS[name].f(z.copy(), b, np)
    got = z.copy()
    assert fused.activate(name, got, b)
    np.testing.assert_allclose(got, expected, rtol=RTOL[dtype], atol=0)


@needs_extension
def test_sigmoid_far_out_is_0_or_1_without_warnings():
    z = np.array([[-800.0, -40.0, 0.0, 40.0, 800.0]])
    with np.errstate(all="raise"):
        assert fused.activate("sigmoid", z, None)
    np.testing.assert_allclose(z, [[0.0, 1 / (1 + np.exp(40.0)), 0.5, 1 / (1 + np.exp(-40.0)), 1.0]], rtol=1e-14)


@needs_extension
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_sigmoid_is_within_a_few_ulps_and_keeps_nan_and_the_limits(dtype):
    """Against 1/(1 + e^-z) in extended precision: within 4 units in the last place (the vector
    exp, and on AVX-512 a reciprocal refined by Newton's steps instead of the division)."""
    rng = np.random.default_rng(6)
    z = rng.uniform(-30, 30, (200, 77)).astype(dtype)
    exact = (1 / (1 + np.exp(-z.astype(np.longdouble)))).astype(dtype)
    a = z.copy()
    assert fused.activate("sigmoid", a, None)
    assert (np.abs(a - exact) / np.spacing(exact)).max() <= 4
    special = np.array([[np.nan, -np.inf, np.inf, 0.0, -1000.0, 1000.0]], dtype=dtype)
    with np.errstate(all="raise"):
        assert fused.activate("sigmoid", special, None)
    assert np.isnan(special[0, 0]) and special[0, 1:].tolist() == [0.0, 1.0, 0.5, 0.0, 1.0]


@needs_extension
def test_relu_keeps_nan_as_the_steps_do():
    """A NaN (a diverged fit) must reach J as it does through NumPy's steps, not become 0."""
    z = np.array([[np.nan, -1.0, 2.0]])
    assert fused.activate("relu", z, None)
    assert np.isnan(z[0, 0]) and z[0, 1:].tolist() == [0.0, 2.0]
    delta, a = np.array([[np.nan, np.nan, 1.0]]), np.array([[0.0, 1.0, 0.0]])
    expected = delta.copy()
    ACTS["relu"].derivative(a.copy(), expected, np)
    assert fused.hidden_delta("relu", delta, a, None, np.zeros(3))
    np.testing.assert_array_equal(delta, expected)  # NaN · 0 is NaN in both


@needs_extension
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "linear"])
def test_output_delta_is_the_squared_errors_steps(name, dtype):
    rng = np.random.default_rng(1)
    z = _block(rng, 41, 23, dtype)
    a = ACTS[name].f(z, None, np)
    y = _block(rng, 41, 23, dtype, 0.0, 1.0)
    m = 1000
    delta = np.empty_like(a)
    value_steps = 0.5 * float(np.vdot((a - y).astype(np.float64).ravel(), (a - y).astype(np.float64).ravel()))
    expected = (a - y) * dtype(1.0 / m)
    ACTS[name].derivative(a.copy(), expected, np)
    bias = np.full(23, 0.25, dtype=dtype)
    value = fused.output_delta("squared_error", name, a, y, delta, 1.0 / m, bias)
    assert value == pytest.approx(value_steps, rel=1e-6 if dtype == np.float32 else 1e-13)
    np.testing.assert_allclose(delta, expected, rtol=RTOL[dtype], atol=0)
    np.testing.assert_allclose(bias, 0.25 + expected.astype(np.float64).sum(axis=0), rtol=RTOL[dtype],
                               atol=1e-6 if dtype == np.float32 else 1e-15)


@needs_extension
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ["sigmoid", "relu", "linear"])
@pytest.mark.parametrize("with_bias", [True, False])
def test_the_output_layers_f_in_deltas_pass_is_f_then_delta_bit_for_bit(name, dtype, with_bias):
    """With ``pending``, a(n_l) is formed row by row inside δ(n_l)'s pass: exactly the two passes'
    result (the same roundings), the product W a left as it was."""
    rng = np.random.default_rng(5)
    product = _block(rng, 43, 29, dtype, -12.0, 12.0)
    product[3, :5] = [np.nan, np.inf, -np.inf, 800.0, -800.0]
    y = _block(rng, 43, 29, dtype, 0.0, 1.0)
    b = rng.uniform(-1, 1, 29).astype(dtype) if with_bias else None
    a = product.copy()
    assert fused.activate(name, a, b)
    expected, expected_bias = np.empty_like(a), np.full(29, 0.5)
    expected_value = fused.output_delta("squared_error", name, a, y, expected, 1e-3, expected_bias)
    kept = product.copy()
    delta, bias = np.empty_like(a), np.full(29, 0.5)
    value = fused.output_delta("squared_error", name, kept, y, delta, 1e-3, bias, pending=(b,))
    np.testing.assert_array_equal(kept, product)
    np.testing.assert_array_equal(delta, expected)
    np.testing.assert_array_equal(bias, expected_bias)
    assert value == expected_value or (np.isnan(value) and np.isnan(expected_value))


@needs_extension
@pytest.mark.parametrize("name", ["sigmoid", "relu", "linear"])
def test_the_output_pass_in_place_in_deltas_buffer_is_the_same(name):
    """W a(n_l − 1) written into δ(n_l)'s own buffer (what sparseae's passes do): the same bits."""
    rng = np.random.default_rng(7)
    product, y, b = _block(rng, 31, 64, np.float64), _block(rng, 31, 64, np.float64, 0, 1), rng.uniform(-1, 1, 64)
    expected, expected_bias = np.empty_like(product), np.zeros(64)
    expected_value = fused.output_delta("squared_error", name, product, y, expected, 0.01, expected_bias,
                                        pending=(b,))
    delta, bias = product.copy(), np.zeros(64)
    value = fused.output_delta("squared_error", name, delta, y, delta, 0.01, bias, pending=(b,))
    np.testing.assert_array_equal(delta, expected)
    np.testing.assert_array_equal(bias, expected_bias)
    assert value == expected_value
    assert all(fused.fuses_output("squared_error", name, dtype) for dtype in (np.float64, np.float32))
    assert not fused.fuses_output("squared_error", "tanh", np.float64)
    with pytest.raises(ValueError, match="overlap"):  # a shifted view of δ: refused, not miscomputed
        fused._fused.output(delta[1:], y[1:], delta[:-1], 1.0, np.zeros(64), np.zeros(64), 1)


@needs_extension
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("pending", [False, True])
def test_softmax_and_the_cross_entropy_in_one_pass_are_the_steps(dtype, pending):
    """Softmax's output under the cross-entropy: δ = (a − y)/m, −Σ y log a (log a floored at the
    dtype's smallest normal number) and ∇b += Σ δ, as the steps of sparseae.activations.softmax
    and sparseae.losses.cross_entropy compute them; a row with a logit gap beyond exp's range costs
    what the steps say, and a NaN makes its row NaN, as there."""
    from sparseae.engine import NumpyBackend
    from sparseae.losses import LOSSES

    rng = np.random.default_rng(8)
    product = _block(rng, 57, 10, dtype, -5.0, 5.0)
    product[4, 3] = 2000.0  # every other class's probability underflows to 0
    y = np.eye(10, dtype=dtype)[rng.integers(0, 10, 57)]
    y[4] = np.eye(10, dtype=dtype)[0]  # ... and the true class is one of them: log a floored
    b = rng.uniform(-1, 1, 10).astype(dtype)
    m = 500
    backend = NumpyBackend(dtype)
    a = ACTS["softmax"].f(product.copy(), b, np)
    expected = np.empty_like(a)
    expected_value = float(LOSSES["cross_entropy"].value_and_delta(a, y, expected, backend))
    expected *= dtype(1.0 / m)
    delta, bias = np.empty_like(a), np.zeros(10)
    if pending:
        delta[...] = product
        value = fused.output_delta("cross_entropy", "softmax", delta, y, delta, 1.0 / m, bias, pending=(b,))
    else:
        value = fused.output_delta("cross_entropy", "softmax", a, y, delta, 1.0 / m, bias)
    rtol = 1e-6 if dtype == np.float32 else 1e-13
    assert value == pytest.approx(expected_value, rel=rtol)
    assert expected_value > -np.log(np.finfo(dtype).tiny)  # the floored row is in it (708 or 87)
    np.testing.assert_allclose(delta, expected, rtol=RTOL[dtype] * 4, atol=1e-7 if dtype == np.float32 else 1e-16)
    np.testing.assert_allclose(bias, expected.astype(np.float64).sum(axis=0), rtol=RTOL[dtype] * 4,
                               atol=1e-6 if dtype == np.float32 else 1e-15)
    with_nan = product.copy()
    with_nan[2, 7] = np.nan
    fused.output_delta("cross_entropy", "softmax", with_nan, y, with_nan, 1.0, np.zeros(10), pending=(b,))
    assert np.isnan(with_nan[2]).all() and not np.isnan(np.delete(with_nan, 2, axis=0)).any()


@needs_extension
def test_softmax_is_fused_only_under_the_cross_entropy_and_only_at_the_output():
    rng = np.random.default_rng(9)
    a, y = _block(rng, 6, 4, np.float64, 0, 1), _block(rng, 6, 4, np.float64, 0, 1)
    assert fused.output_delta("squared_error", "softmax", a, y, np.empty_like(a), 1.0, np.zeros(4)) is None
    assert fused.output_delta("cross_entropy", "sigmoid", a, y, np.empty_like(a), 1.0, np.zeros(4)) is None
    assert fused.fuses_output("cross_entropy", "softmax", np.float32)
    assert not fused.fuses_output("squared_error", "softmax", np.float64)
    assert not fused.hidden_delta("softmax", a.copy(), a, None, np.zeros(4))
    with pytest.raises(ValueError, match="elementwise"):  # the extension itself refuses the code
        fused._fused.hidden(a.copy(), a, None, np.zeros(4), fused.SOFTMAX)
    with pytest.raises(ValueError, match="elementwise"):
        fused._fused.activate(a.copy(), None, fused.SOFTMAX)


@needs_extension
def test_a_pending_output_layer_it_cannot_compute_f_of_is_left_to_the_caller():
    rng = np.random.default_rng(6)
    z, y = _block(rng, 8, 6, np.float64), _block(rng, 8, 6, np.float64)
    delta = np.zeros_like(z)
    assert fused.output_delta("squared_error", "tanh", z, y, delta, 1.0, np.zeros(6), pending=(None,)) is None
    assert not delta.any()  # nothing done: backprop applies tanh, then takes this pass without ``pending``


@needs_extension
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "linear"])
@pytest.mark.parametrize("with_sparsity", [True, False])
def test_hidden_delta_is_the_sparsity_term_then_f_prime(name, dtype, with_sparsity):
    rng = np.random.default_rng(2)
    a = ACTS[name].f(_block(rng, 29, 17, dtype), None, np)
    delta = _block(rng, 29, 17, dtype, -1.0, 1.0)
    s = rng.uniform(-0.1, 0.1, 17).astype(dtype) if with_sparsity else None
    expected = delta + s if with_sparsity else delta.copy()
    ACTS[name].derivative(a.copy(), expected, np)
    bias = np.zeros(17, dtype=dtype)
    assert fused.hidden_delta(name, delta, a, s, bias)
    np.testing.assert_allclose(delta, expected, rtol=RTOL[dtype], atol=0)
    np.testing.assert_allclose(bias, expected.astype(np.float64).sum(axis=0), rtol=RTOL[dtype],
                               atol=1e-6 if dtype == np.float32 else 1e-15)


@needs_extension
def test_what_it_cannot_share_is_left_to_the_steps():
    rng = np.random.default_rng(3)
    a = _block(rng, 8, 6, np.float64)
    assert not fused.activate("sigmoid", np.asfortranarray(a), None)  # not C-contiguous
    assert not fused.activate("softmax", a.copy(), None)  # not elementwise
    assert not fused.activate("tanh", a.copy(), None)  # NumPy's or PyTorch's tanh
    squared = "squared_error"
    assert fused.output_delta(squared, "sigmoid", a, a[:, :5].copy(), np.empty_like(a), 1.0, np.zeros(6)) is None
    y = _block(rng, 8, 6, np.float64, 0.0, 1.0)  # targets it cannot share are copied, not refused
    expected, delta = np.empty_like(a), np.empty_like(a)
    fused.output_delta(squared, "sigmoid", a, y.astype(np.float32).astype(np.float64), expected, 1.0, np.zeros(6))
    assert fused.output_delta(squared, "sigmoid", a, y.astype(np.float32), delta, 1.0, np.zeros(6)) is not None
    np.testing.assert_array_equal(delta, expected)
    assert not fused.hidden_delta("softmax", a.copy(), a, None, np.zeros(6))
    assert not fused.hidden_delta("sigmoid", a.copy(), a, None, np.zeros(5))  # a bias of another width


@needs_extension
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("f,f_out", [("sigmoid", "sigmoid"), ("sigmoid", "linear"), ("relu", "linear"),
                                     ("tanh", "linear")])
def test_an_evaluation_is_the_same_with_the_extension_on_and_off(monkeypatch, f, f_out, dtype):
    rng = np.random.default_rng(4)
    X = rng.uniform(0.05, 0.95, (3000, 20))
    values = {}
    for setting in ("1", "0"):
        monkeypatch.setenv("SPARSEAE_FUSED", setting)
        backend = get_backend(None, dtype)
        assert backend.fused == (setting == "1")
        penalty = dict(sparsity="l1") if f == "relu" else dict(sparsity="kl", sparsity_target=0.1)
        objective = sparseae.SparseObjective([20, 12, 20], X, weight_decay=1e-3, sparsity_weight=0.5,
                                             activation=f, output_activation=f_out, backend=backend, **penalty)
        values[setting] = objective(objective.layout.initial_theta(0))
    (j1, g1), (j0, g0) = values["1"], values["0"]
    rtol = 1e-12 if dtype == "float64" else 1e-5
    assert j1 == pytest.approx(j0, rel=rtol)
    np.testing.assert_allclose(g1, g0, rtol=0, atol=rtol * np.abs(g0).max())


@needs_extension
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_classifiers_evaluation_is_the_same_with_the_extension_on_and_off(monkeypatch, dtype):
    """Fine-tuning's objective (sigmoid layers, softmax output, cross-entropy, decay on the last
    layer alone), whose output pass the extension now takes."""
    rng = np.random.default_rng(10)
    X = rng.uniform(0.0, 1.0, (2500, 30))
    Y = np.eye(7)[rng.integers(0, 7, 2500)]
    sizes = [30, 16, 12, 7]
    values = {}
    for setting in ("1", "0"):
        monkeypatch.setenv("SPARSEAE_FUSED", setting)
        objective = sparseae.SparseObjective(sizes, X, Y, output_activation="softmax", loss="cross_entropy",
                                             weight_decay=(0.0, 0.0, 1e-4), backend=get_backend(None, dtype))
        assert objective._passes().backend.fuses_output(objective.loss, ACTS["softmax"]) == (setting == "1")
        values[setting] = objective(sparseae.Layout(sizes).initial_theta(0))
    (j1, g1), (j0, g0) = values["1"], values["0"]
    rtol = 1e-12 if dtype == "float64" else 1e-5
    assert j1 == pytest.approx(j0, rel=rtol)
    np.testing.assert_allclose(g1, g0, rtol=0, atol=rtol * np.abs(g0).max())


@needs_extension
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_sigmoid_does_not_depend_on_where_the_block_lies(dtype):
    """Bit for bit the same values at every alignment of the block: a vectorised loop that peeled
    its first values off to an aligned address would send them through the scalar exp, whose last
    bits differ, and a fit's bits would then depend on where the allocator put its buffers."""
    rng = np.random.default_rng(5)
    rows, cols = 13, 75
    data = rng.uniform(-8, 8, (rows, cols)).astype(dtype)
    b = rng.uniform(-1, 1, cols).astype(dtype)
    results = []
    memory = np.empty(rows * cols + 16, dtype=dtype)
    for offset in range(16):
        z = memory[offset : offset + rows * cols].reshape(rows, cols)
        z[...] = data
        assert fused.activate("sigmoid", z, b)
        results.append(z.copy())
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])



@needs_extension
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cols", [1, 7, 25, 64, 2049])
def test_a_blocks_sigmoid_is_each_rows_sigmoid_bit_for_bit(dtype, cols):
    """The sigmoid of a block (taken over several rows at once where the vector path allows) has
    the bits of the sigmoid of each row alone, which is how the output layer's pass takes it."""
    rng = np.random.default_rng(7)
    rows = 200 if cols < 100 else 3
    z = _block(rng, rows, cols, dtype, -30.0, 30.0)
    z[0, 0] = np.nan
    b = rng.uniform(-1, 1, cols).astype(dtype)
    block = z.copy()
    assert fused.activate("sigmoid", block, b)
    for i in range(rows):
        row = z[i : i + 1].copy()
        assert fused.activate("sigmoid", row, b)
        np.testing.assert_array_equal(block[i : i + 1], row)


@needs_extension
@pytest.mark.parametrize("name", ["sigmoid", "relu", "linear"])
@pytest.mark.parametrize("shape", [(5, 0), (0, 5), (0, 0)])
def test_empty_blocks_are_left_as_they_are(name, shape):
    z = np.empty(shape)
    assert fused.activate(name, z, None)
    assert z.shape == shape

def _build(tmp_path, compiler):
    """``setup.py build_ext`` on a copy of the project's build files, with ``compiler`` as CC."""
    root = Path(__file__).resolve().parents[1]
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(root / name, tmp_path / name)
    shutil.copytree(root / "src" / "sparseae", tmp_path / "src" / "sparseae",
                    ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    env = {k: v for k, v in os.environ.items() if k not in ("CC", "LDSHARED")}
    env.update(CC=compiler, LDSHARED=f"{compiler} -shared")
    done = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--build-lib", "out", "--build-temp", "tmp"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    return done, list((tmp_path / "out").rglob("_fused*.so"))


@pytest.mark.skipif(shutil.which("gcc") is None, reason="builds the extension with gcc")
def test_the_extension_builds_and_without_a_compiler_the_build_goes_on(tmp_path):
    """What the README promises of ``pip install .``: the extension is compiled where gcc is at hand,
    and where the compiler fails the build still succeeds, without it (setup.py's optional=True)."""
    for folder in ("with", "without"):
        (tmp_path / folder).mkdir()
    built, found = _build(tmp_path / "with", "gcc")
    assert built.returncode == 0 and len(found) == 1, built.stderr
    failed, found = _build(tmp_path / "without", "false")  # a "compiler" that always fails
    assert failed.returncode == 0 and found == [], failed.stderr


@needs_extension
def test_the_reparametrised_gradients_passes_are_numpys_broadcast_steps_bit_for_bit(monkeypatch):
    """The unit-norm decoder's g ← (g − W ⊙ p) / n and the centred encoder's g ← g − x yᵀ, in one
    pass each, round as the broadcast steps do; what they cannot take is left to the steps."""
    monkeypatch.setenv("SPARSEAE_FUSED", "1")  # (the extension itself, whatever the run's setting)
    rng = np.random.default_rng(12)
    g, W = rng.normal(size=(37, 23)), rng.normal(size=(37, 23))
    p, n, x = rng.normal(size=23), rng.uniform(0.1, 3.0, 23), rng.normal(size=37)
    expected, ours = (g - W * p) / n, g.copy()
    assert fused.project_columns(ours, W, p, n)
    np.testing.assert_array_equal(ours, expected)
    expected, ours = g - x[:, None] * p[None, :], g.copy()
    assert fused.subtract_outer(ours, x, p)
    np.testing.assert_array_equal(ours, expected)
    assert not fused.project_columns(g.astype(np.float32), W, p, n)  # two dtypes: the steps
    assert not fused.project_columns(g, W[:, :-1], p, n)  # shapes that differ
    assert not fused.subtract_outer(g, x[:-1], p)
    with pytest.raises(ValueError, match="overlap"):
        fused._fused.columns(g, g, p, n, False)


@needs_extension
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_reparametrised_evaluation_is_the_same_with_the_extension_on_and_off(monkeypatch, dtype):
    """L1 with the unit-norm decoder and the encoder reading x − b2: the gradient taken back to θ."""
    rng = np.random.default_rng(13)
    X, b2 = rng.normal(size=(400, 16)), rng.normal(size=16)
    values = {}
    for setting in ("1", "0"):
        monkeypatch.setenv("SPARSEAE_FUSED", setting)
        objective = sparseae.SparseObjective([16, 9, 16], X, activation="relu", output_activation="linear",
                                             sparsity="l1", sparsity_weight=0.1, decoder_norm="unit",
                                             backend=get_backend(None, dtype)).centered()
        theta = objective.layout.initial_theta(1)
        objective.layout.unpack(theta)[1][-1][...] = b2  # b2 ≠ 0: the centring matters
        values[setting] = objective(theta)
    (j1, g1), (j0, g0) = values["1"], values["0"]
    rtol = 1e-12 if dtype == "float64" else 1e-5
    assert j1 == pytest.approx(j0, rel=rtol)
    np.testing.assert_allclose(g1, g0, rtol=0, atol=rtol * np.abs(g0).max())
