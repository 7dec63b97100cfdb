"""f and f' of every registered activation (notes §2), on NumPy and on PyTorch tensors."""

import numpy as np
import pytest
from scipy.special import expit, softmax

from sparseae.activations import ACTIVATIONS, Activation, hidden_activations, register
from sparseae.engine import NumpyBackend

#: An independent reference for each activation. A newly registered activation fails
#: test_every_activation_has_a_reference until it gets one here.
REFERENCE = {"sigmoid": expit, "tanh": np.tanh, "linear": lambda z: z, "relu": lambda z: np.maximum(z, 0.0),
             "softmax": lambda z: softmax(z, axis=1)}
#: Two code paths for the same f (NumPy's vectorised exp on AVX-512, its scalar exp elsewhere,
#: scipy's expit, PyTorch's kernels) agree to a few units in the last place, not bit for bit.
MAX_ULP = 4


def _inputs(rng, dtype, rows=3000, cols=37):
    """Rows not a multiple of a kernel chunk, and values out to where exp overflows."""
    z = rng.normal(0.0, 4.0, size=(rows, cols))
    z[0, :4] = [-1000.0, -745.0, 710.0, 1000.0]
    return z.astype(dtype), rng.normal(0.0, 1.0, size=cols).astype(dtype)


def test_every_activation_has_a_reference():
    assert set(REFERENCE) == set(ACTIVATIONS)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_f_of_z_plus_b_in_place(rng, name, dtype, elementwise_kernels):
    z, b = _inputs(rng, dtype)
    # The exact f of the z + b that the dtype holds; the test config turns any overflow
    # warning (z far from 0) into an error.
    expected = REFERENCE[name]((z + b).astype(np.float64))
    out = NumpyBackend(dtype).activate(ACTIVATIONS[name], z, b)
    assert out is z and out.dtype == dtype
    # float64: within a few units in the last place; float32: within a few of its own. A function
    # of a whole row (softmax) sums the row first: its rounding grows with the row's length.
    eps = np.finfo(dtype).eps
    rtol = (4 if ACTIVATIONS[name].elementwise else z.shape[1] + 4) * eps
    atol = 1e-300 if dtype == np.float64 else 1e-38
    np.testing.assert_allclose(out, expected, rtol=rtol, atol=atol)


def test_numpy_sigmoid_agrees_with_expit_to_a_few_ulps(monkeypatch):
    from sparseae.engine import kernels

    monkeypatch.setattr(kernels, "_torch", False)
    z = np.random.default_rng(0).normal(0, 5, size=(50, 20))
    b = np.random.default_rng(1).normal(size=20)
    out = NumpyBackend().activate(ACTIVATIONS["sigmoid"], z.copy(), b)
    np.testing.assert_array_max_ulp(out, expit(z + b), maxulp=MAX_ULP)


def test_sigmoid_saturates_exactly(elementwise_kernels):
    z = np.array([[-1000.0, -40.0, 0.0, 40.0, 1000.0]])
    out = NumpyBackend().activate(ACTIVATIONS["sigmoid"], z.copy())
    assert out[0, 0] == 0.0 and out[0, 2] == 0.5 and out[0, -1] == 1.0
    assert out[0, 1] == pytest.approx(np.exp(-40.0), rel=1e-15)  # no cancellation near 0


@pytest.mark.parametrize("name", sorted(n for n, act in ACTIVATIONS.items() if act.elementwise))
def test_derivative_from_the_output_matches_central_differences(rng, name):
    """δ ← δ ⊙ f'(z), given only a = f(z), against (f(z + h) - f(z - h)) / 2h."""
    act = ACTIVATIONS[name]
    z = rng.normal(0.0, 1.5, size=(20, 7))
    delta = rng.normal(size=z.shape)
    h = 1e-6

    def f(values):
        return act.f(values.copy(), None, np)

    numeric = delta * (f(z + h) - f(z - h)) / (2 * h)
    a = f(z)
    act.derivative(a, delta, np)
    np.testing.assert_allclose(delta, numeric, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_the_same_code_runs_on_torch_tensors(rng, name):
    torch = pytest.importorskip("torch", reason="PyTorch not installed (optional extra)")
    act = ACTIVATIONS[name]
    z, b = rng.normal(size=(30, 6)), rng.normal(size=6)
    expected = act.f(z.copy(), b, np)
    out = act.f(torch.from_numpy(z.copy()), torch.from_numpy(b), torch)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-15, atol=1e-300)
    if not act.elementwise:
        return  # its δ comes from its loss (test_losses.py)
    delta = rng.normal(size=z.shape)
    expected_delta = delta.copy()
    act.derivative(expected.copy(), expected_delta, np)
    torch_delta = torch.from_numpy(delta.copy())
    act.derivative(torch.from_numpy(expected.copy()), torch_delta, torch)
    np.testing.assert_allclose(torch_delta.numpy(), expected_delta, rtol=1e-15, atol=1e-300)


def _softsign(z, b, xp):
    if b is not None:
        z += b
    z /= 1 + abs(z)
    return z


def _softsign_derivative(a, delta, xp):
    delta *= (1 - abs(a)) ** 2  # f'(z) = 1 / (1 + |z|)^2 = (1 - |a|)^2


def test_one_registration_makes_an_activation_usable_and_checked():
    """Registered here alone: the parameter table, the objective and the CLI's gradcheck see it."""
    from sparseae import SparseObjective, check_gradient
    from sparseae.validation import check_parameters

    register(Activation("softsign", _softsign, _softsign_derivative, (-1.0, 1.0)))
    try:
        assert "softsign" in hidden_activations()
        check_parameters({"activation": "softsign"}, "test")
        X = np.random.default_rng(0).uniform(0.1, 0.9, size=(6, 4))
        objective = SparseObjective([4, 3, 4], X, activation="softsign", weight_decay=1e-3,
                                    sparsity_target=0.2, sparsity_weight=1.0)
        theta = objective.layout.initial_theta(0)
        assert check_gradient(objective, theta, 1e-5) < 1e-9
    finally:
        del ACTIVATIONS["softsign"]


def test_softmax_rows_are_distributions_without_overflow(elementwise_kernels):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [710.0, 709.0, -5.0]])
    a = NumpyBackend().activate(ACTIVATIONS["softmax"], z.copy())
    assert np.isfinite(a).all()
    np.testing.assert_allclose(a.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(a[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(a[1], 1 / 3)
