"""``optimizer_dtype="float32"``: θ and Adam's moments kept in float32 for a float32 model, as
PyTorch trains one. Its steps are NumPy's float32 steps (the extension's one-pass passes give their
bits: Adam's in tests/test_adam.py), the fit is reproducible and resumes bit for bit, it lands
where the float64 copy of θ lands to float32's precision, and it is refused where it cannot apply."""

import numpy as np
import pytest

import sparseae
from sparseae import SparseAutoencoder
from sparseae.checkpoint import read_checkpoint
from sparseae.cli import main
from sparseae.engine import fused
from sparseae.errors import ParameterError
from sparseae.optim.adam import Adam

needs_extension = pytest.mark.skipif(not fused.available(),
                                     reason="the compiled extension is not built here (no C compiler at install)")

RELU = dict(activation="relu", output_activation="linear", weight_decay=0.0, dtype="float32", solver="adam",
            batch_size=50)
ARCHITECTURES = {
    "l1": dict(sparsity="l1", sparsity_weight=0.05, decoder_norm="unit", center_encoder=True),
    "topk": dict(sparsity="topk", k=4, resample_dead=2),
    "batchtopk": dict(sparsity="batchtopk", k=4),
    "jumprelu": dict(sparsity="jumprelu", sparsity_weight=0.01, jumprelu_bandwidth=0.05),
}


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(0)
    return (rng.normal(size=(600, 6)) @ rng.normal(size=(6, 20)) + 0.1 * rng.normal(size=(600, 20)))


def test_float32_values_decaying_to_zero_are_flushed_before_they_are_subnormal():
    theta = np.array([1e-35, 1.0, -1e-31, 1e-29], dtype=np.float32)
    adam = Adam(4, dtype=np.float32)
    adam.m[...] = [0.5, 1e-33, 0.0, 1.0]
    adam.flush_subnormal(theta)
    np.testing.assert_array_equal(theta, np.array([0.0, 1.0, 0.0, 1e-29], dtype=np.float32))
    np.testing.assert_array_equal(adam.m, np.array([0.5, 0.0, 0.0, 1.0], dtype=np.float32))


@needs_extension
def test_the_float32_column_corrections_are_numpys_float32_broadcast_steps():
    """(Skipped with ``SPARSEAE_FUSED=0``: then the steps are the only path.)"""
    rng = np.random.default_rng(12)
    g, W = (rng.normal(size=(37, 23)).astype(np.float32) for _ in range(2))
    p, n = rng.normal(size=23).astype(np.float32), rng.uniform(0.1, 3.0, 23).astype(np.float32)
    x = rng.normal(size=37).astype(np.float32)
    ours = g.copy()
    assert fused.project_columns(ours, W, p, n)
    np.testing.assert_array_equal(ours, (g - W * p) / n)
    ours = g.copy()
    assert fused.subtract_outer(ours, x, p)
    np.testing.assert_array_equal(ours, g - x[:, None] * p[None, :])
    assert not fused.project_columns(g, W.astype(np.float64), p, n)  # dtypes that differ: the steps


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_a_float32_optimizer_keeps_theta_and_moments_in_float32_and_lands_where_float64_does(X, tmp_path, name):
    """Same seed, same bits; the moments saved are float32; held-out explained variance and L0
    within float32's reach of the float64 copy's fit (they differ: θ is rounded each step)."""
    params = dict(RELU, n_hidden=24, max_iter=6, random_state=0, **ARCHITECTURES[name])
    fits = {}
    for dtype in ("float64", "float32"):
        path = tmp_path / f"{dtype}.safetensors"
        fits[dtype] = SparseAutoencoder(optimizer_dtype=dtype, **params).fit(X[:500], checkpoint=path,
                                                                            checkpoint_every=3)
        assert read_checkpoint(path).state["m"].dtype == np.dtype(dtype)
    again = SparseAutoencoder(optimizer_dtype="float32", **params).fit(X[:500])
    np.testing.assert_array_equal(again.theta_, fits["float32"].theta_)
    assert not np.array_equal(fits["float64"].theta_, fits["float32"].theta_)
    scores = {d: sparseae.reconstruction_metrics(m, X[500:]) for d, m in fits.items()}
    assert scores["float32"]["explained_variance"] == pytest.approx(scores["float64"]["explained_variance"],
                                                                    abs=2e-3)
    assert scores["float32"]["l0"] == pytest.approx(scores["float64"]["l0"], rel=0.05)


def test_a_float32_optimizer_resumes_bit_for_bit_and_a_float64_checkpoint_names_its_dtype(X, tmp_path):
    class Killed(Exception):
        pass

    def kill(state):
        if state.n_iter == 5:
            raise Killed

    params = dict(RELU, n_hidden=12, max_iter=9, random_state=0, **ARCHITECTURES["jumprelu"])
    whole = SparseAutoencoder(optimizer_dtype="float32", **params).fit(X)
    path = tmp_path / "c.safetensors"
    with pytest.raises(Killed):
        SparseAutoencoder(optimizer_dtype="float32", callback=kill, **params).fit(X, checkpoint=path,
                                                                                 checkpoint_every=2)
    resumed = SparseAutoencoder(optimizer_dtype="float32", **params).fit(X, resume_from=path)
    np.testing.assert_array_equal(resumed.theta_, whole.theta_)
    assert resumed.loss_curve_ == whole.loss_curve_
    with pytest.raises(ParameterError, match="optimizer_dtype"):
        SparseAutoencoder(optimizer_dtype="float64", **params).fit(X, resume_from=path)


def test_partial_fit_steps_in_float32(X):
    model = SparseAutoencoder(**dict(RELU, n_hidden=8, random_state=0, optimizer_dtype="float32",
                                     **ARCHITECTURES["topk"]))
    first = model.partial_fit(X).theta_.copy()
    model.partial_fit(X)
    assert not np.array_equal(first, model.theta_) and model.theta_.dtype == np.float64


@pytest.mark.parametrize("params, message", [
    (dict(dtype="float64", solver="adam"), "optimizer_dtype='float32' needs dtype='float32'"),
    (dict(dtype="float32", solver="lbfgs"), "optimizer_dtype='float32' is for a minibatch solver"),
])
def test_float32_parameters_without_float32_arithmetic_or_a_minibatch_solver_are_refused(X, params, message):
    with pytest.raises(ParameterError, match=message):
        SparseAutoencoder(4, optimizer_dtype="float32", **params).fit(X)


def test_an_unknown_optimizer_dtype_is_a_one_line_error_naming_it(X):
    with pytest.raises(ParameterError, match="optimizer_dtype") as info:
        SparseAutoencoder(4, optimizer_dtype="float16").fit(X)
    assert "\n" not in str(info.value)


def test_train_takes_optimizer_dtype(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--solver", "adam", "--max-iter", "2", "--dtype", "float32", "--optimizer-dtype",
                 "float32", "--patches", "600", "--out", str(out), "--quiet"])
    assert code == 0, capsys.readouterr().err
    assert sparseae.load(out / "model.safetensors").optimizer_dtype == "float32"
    code = main(["train", "--solver", "adam", "--optimizer-dtype", "float32", "--out", str(tmp_path / "bad"),
                 "--quiet"])
    assert code == 2 and "--optimizer-dtype float32 needs --dtype float32" in capsys.readouterr().err


def test_a_float32_optimizer_drives_pytorchs_objective_too(X):
    """θ stays on the host in float32 and the device's gradient comes back in float32: the same
    fit as NumPy's to float32's precision (``device="cpu"``: the GPU's code path, without a GPU)."""
    pytest.importorskip("torch", reason="the PyTorch backend needs the torch extra")
    params = dict(RELU, n_hidden=8, max_iter=3, random_state=0, optimizer_dtype="float32", **ARCHITECTURES["l1"])
    on_torch = SparseAutoencoder(device="cpu", **params).fit(X)
    on_numpy = SparseAutoencoder(**params).fit(X)
    np.testing.assert_allclose(on_torch.theta_, on_numpy.theta_, rtol=0, atol=1e-5)
    assert on_torch.loss_ == pytest.approx(on_numpy.loss_, rel=1e-5)
