"""Dead units brought back: what resampling writes, that it leaves the live units alone, that it
revives units a fit would lose, and that Adam's moments of dead weights never turn subnormal."""

import warnings

import numpy as np
import pytest

import sparseae
from sparseae.network import Layout, forward
from sparseae.optim.adam import Adam
from sparseae.resample import FIRING, dead_units, resample
from sparseae.training.minibatch import run_epoch

pytestmark = pytest.mark.unconverged


def test_dead_units_are_those_never_active():
    assert dead_units(np.array([0.2, 0.0, 1e-300, 0.0])).tolist() == [1, 3]


@pytest.mark.parametrize("penalty", [dict(sparsity="l1", sparsity_weight=0.1, decoder_norm="unit"),
                                     dict(sparsity="topk", top_k=2), dict(sparsity="batchtopk", top_k=2)])
@pytest.mark.parametrize("chunk_size", [None, 70])
@pytest.mark.parametrize("centred", [False, True])
def test_the_dead_units_found_from_one_pass_are_those_js_rho_hat_finds(rng, penalty, chunk_size, centred):
    """The resampler finds dead units from pass 1's sums (BatchTopK: its selection pass) without
    the gradient: the same units as J's ρ̂ over all the rows, in memory or chunk by chunk."""
    from sparseae import SparseObjective
    from sparseae.training.resampling import Resampler

    X = rng.normal(size=(300, 12))
    objective = SparseObjective([12, 8, 12], X, activation="relu", output_activation="linear", chunk_size=chunk_size,
                                **penalty)
    objective = objective.centered() if centred else objective
    theta = objective.layout.initial_theta(3)
    Ws, bs = objective.layout.unpack(theta)
    bs[0][[1, 5]] = -1e3  # off on every row
    bs[0][6] = 1e3  # on for every row: BatchTopK keeps it everywhere, and so no other unit for many rows
    found = Resampler(objective, X, None).dead(theta)
    assert {1, 5} <= set(found.tolist())
    np.testing.assert_array_equal(found, dead_units(objective.terms(theta)["rho_hat"]))


@pytest.mark.parametrize("penalty", [dict(sparsity="jumprelu", sparsity_weight=0.01),
                                     dict(sparsity="batchtopk", top_k=2)])
def test_a_thresholded_layer_has_no_pass_1_to_sum(rng, penalty):
    """Its units' sums come from pass 2; pass 1 alone would sum the wrong layer: refused, naming it."""
    from sparseae import SparseObjective
    from sparseae.errors import ParameterError

    objective = SparseObjective([12, 8, 12], rng.normal(size=(30, 12)), activation="relu",
                                output_activation="linear", **penalty)
    with pytest.raises(ParameterError, match=f"sparsity='{penalty['sparsity']}' has no pass 1"):
        objective.hidden_sums(objective.layout.initial_theta(0))


def test_a_resampled_unit_fires_on_a_badly_reconstructed_example_and_on_few_others(rng):
    X = rng.uniform(0.1, 0.9, size=(2000, 16))
    layout = Layout([16, 6, 16])
    theta = layout.initial_theta(0)
    Ws, bs = layout.unpack(theta)
    Ws[0][[1, 4]] = 0.0
    bs[0][[1, 4]] = -1.0  # units 1 and 4: off on every row
    before = theta.copy()
    changed = resample(layout, theta, np.array([1, 4]), X, "relu", "linear", None, np.random.RandomState(0))
    mask_W, mask_b = layout.unpack(changed)
    assert mask_W[0][[1, 4]].all() and mask_b[0][[1, 4]].all() and mask_W[1][:, [1, 4]].all()
    np.testing.assert_array_equal(theta[~changed], before[~changed])  # the live units as they were
    a = forward(*layout.unpack(theta), X, "relu", "linear")[1]
    firing = (a[:, [1, 4]] > 0).mean(axis=0)
    np.testing.assert_allclose(firing, FIRING, atol=0.01)
    np.testing.assert_allclose(np.linalg.norm(layout.unpack(theta)[0][1][:, [1, 4]], axis=0),
                               np.linalg.norm(Ws[1][:, [0, 2, 3, 5]], axis=0).mean())


@pytest.mark.parametrize("solver, window", [("lbfgs", 50), ("adam", 5)])
def test_resampling_revives_units_an_l1_fit_loses(solver, window):
    from sparseae.datasets import natural_images, normalize_patches, sample_patches

    X = normalize_patches(sample_patches(natural_images(), 3000, 8, random_state=0))
    params = dict(activation="relu", output_activation="linear", sparsity="l1", sparsity_weight=0.1,
                  decoder_norm="unit", solver=solver, max_iter=200 if solver == "lbfgs" else 60, random_state=0,
                  init="uniform", decoder_bias_init="zeros",  # (UFLDL's start, which loses units; Adam's is tied)
                  center_encoder=False)  # (the encoder reading x - b2 loses 2 units here, not 8: nothing to revive)
    plain = sparseae.SparseAutoencoder(32, **params).fit(X)
    revived = sparseae.SparseAutoencoder(32, resample_dead=window, **params).fit(X)
    lost = len(sparseae.reconstruction_metrics(plain, X)["dead_units"])
    kept = len(sparseae.reconstruction_metrics(revived, X)["dead_units"])
    assert plain.n_resampled_ == 0 and revived.n_resampled_ > 0
    assert lost >= 8 and kept < lost / 2, (lost, kept)
    assert revived.n_iter_ == len(revived.loss_curve_)


def test_adam_flushes_weights_and_moments_decaying_towards_subnormal_numbers():
    theta = np.array([1e-250, 0.5, -1e-230, 2.0])
    adam = Adam(4)
    adam.m[:] = [1e-260, 0.1, 0.0, 1e-300]
    run_epoch([lambda t: (1.0, np.zeros(4))], theta, adam, 0.0)
    assert theta[0] == 0.0 and theta[2] == 0.0 and theta[1] == 0.5 and theta[3] == 2.0
    assert adam.m[0] == 0.0 and adam.m[3] == 0.0 and adam.m[1] != 0.0


def test_a_windowed_fit_that_does_not_converge_warns_once_with_the_whole_fits_iterations(rng):
    from sklearn.exceptions import ConvergenceWarning

    X = rng.uniform(0.0, 1.0, size=(300, 12))
    params = dict(activation="relu", output_activation="linear", sparsity="l1", sparsity_weight=0.1,
                  max_iter=25, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = sparseae.SparseAutoencoder(8, resample_dead=10, **params).fit(X)
    convergence = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert model.n_iter_ == 25
    assert len(convergence) == 1, convergence
    assert "in its last window of resample_dead=10; 25 iterations in all" in convergence[0]
