"""AuxK: dead units reconstruct the residual with their k_aux largest pre-activations. The term
is the formula computed plainly, its gradient is that formula's with the residual held fixed
(central differences), it agrees with SAELens's TopK auxiliary loss under autograd, and in
training it leaves fewer dead units than no AuxK at the same L0."""

import warnings

import numpy as np
import pytest

import sparseae
from sparseae import ParameterError
from sparseae.gradcheck import numerical_gradient
from sparseae.objective import SparseObjective

pytestmark = pytest.mark.unconverged
N, S, K, K_AUX, ALPHA = 6, 12, 2, 3, 0.25
DEAD = np.array([0, 3, 4, 7, 9])


def _objective(X, aux=True, **params):
    kw = dict(aux_k=K_AUX, aux_k_weight=ALPHA) if aux else {}
    objective = SparseObjective([N, S, N], X, activation="relu", output_activation="linear", sparsity="topk",
                                top_k=K, **kw, **params)
    if aux:  # these units dead, whatever the rows say
        objective._count_active = lambda active, m: setattr(objective, "_dead", DEAD)
    return objective


def _theta(objective):
    theta = objective.layout.initial_theta(0) + np.random.default_rng(1).normal(scale=0.1, size=objective.size)
    objective.layout.unpack(theta)[1][0][DEAD] += 0.3  # the dead units' pre-activations mostly positive
    return theta


def _plain_aux(theta, layout, X, residual):
    (W1, W2), (b1, _) = layout.unpack(theta)
    z = X @ W1[DEAD].T + b1[DEAD]
    np.put_along_axis(z, np.argsort(z, axis=1)[:, :-K_AUX], 0.0, axis=1)
    z = np.maximum(z, 0)
    return ALPHA * 0.5 * ((z @ W2[:, DEAD].T - residual) ** 2).sum() / len(X)


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).normal(size=(50, N))


def test_the_term_is_the_formula_computed_plainly(X):
    objective = _objective(X)
    theta = _theta(objective)
    terms = objective.terms(theta)
    residual = X - sparseae.network.forward(*objective.layout.unpack(theta), X, "relu", "linear", top_k=K)[-1]
    assert terms["auxk"] == pytest.approx(_plain_aux(theta, objective.layout, X, residual), rel=1e-12)
    assert terms["cost"] == pytest.approx(_objective(X, aux=False).terms(theta)["cost"] + terms["auxk"], rel=1e-13)


@pytest.mark.parametrize("chunk_size", [None, 9])
def test_its_gradient_is_the_formulas_with_the_residual_held_fixed(X, chunk_size):
    objective = _objective(X, chunk_size=chunk_size)
    theta = _theta(objective)
    residual = X - sparseae.network.forward(*objective.layout.unpack(theta), X, "relu", "linear", top_k=K)[-1]
    analytic = objective(theta)[1] - _objective(X, aux=False)(theta)[1]
    numeric = numerical_gradient(lambda t: _plain_aux(t, objective.layout, X, residual), theta, 1e-6)
    assert np.abs(numeric).max() > 0
    assert np.linalg.norm(analytic - numeric) / np.linalg.norm(analytic + numeric) < 1e-8


def test_it_agrees_with_saelens_topk_auxiliary_loss_under_autograd(X):
    torch = pytest.importorskip("torch", reason="the cross-check runs SAELens under PyTorch")
    pytest.importorskip("sae_lens", reason="sae-lens is not installed (pip install sae-lens)")
    from sae_lens.saes.sae import TrainStepInput
    from sae_lens.saes.topk_sae import TopKTrainingSAE, TopKTrainingSAEConfig

    objective = _objective(X)  # k_aux = d_in // 2 = 3, as SAELens fixes it; 5 dead: its scale is 1
    theta = _theta(objective)
    (W1, W2), (b1, b2) = objective.layout.unpack(theta)
    b1[DEAD] += 3.0  # SAELens keeps no ReLU on the dead units' pre-activations: equal when they are positive
    assert K_AUX == N // 2
    terms, grad = objective.evaluate(theta)
    (gW1, gW2), (gb1, gb2) = objective.layout.unpack(grad)
    sae = TopKTrainingSAE(TopKTrainingSAEConfig(d_in=N, d_sae=S, k=K, dtype="float64", apply_b_dec_to_input=False,
                                                aux_loss_coefficient=ALPHA, decoder_init_norm=None,
                                                rescale_acts_by_decoder_norm=False))
    with torch.no_grad():
        for param, value in ((sae.W_enc, W1.T), (sae.b_enc, b1), (sae.W_dec, W2.T), (sae.b_dec, b2)):
            param.copy_(torch.tensor(value))
    mask = torch.zeros(S, dtype=torch.bool)
    mask[DEAD] = True
    out = sae.training_forward_pass(TrainStepInput(sae_in=torch.tensor(X), coefficients={}, dead_neuron_mask=mask,
                                                   n_training_steps=0, is_logging_step=False))
    assert np.all(X @ W1[DEAD].T + b1[DEAD] > 0)
    out.loss.backward()
    assert out.losses["auxiliary_reconstruction_loss"].item() > 0
    assert 2 * terms["cost"] == pytest.approx(out.loss.detach().item(), rel=1e-10)
    for theirs, mine in ((sae.W_enc.grad, gW1.T), (sae.b_enc.grad, gb1), (sae.W_dec.grad, gW2.T),
                         (sae.b_dec.grad, gb2)):
        np.testing.assert_allclose(theirs.numpy(), 2 * mine, rtol=1e-9, atol=1e-12)


def test_fewer_dead_units_at_the_same_l0():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(2000, 16)) @ rng.normal(size=(16, 16))
    train, test = X[:1500], X[1500:]
    found = {}
    # UFLDL's start, from which units die here (TopK's start under Adam, tied from the mean, loses fewer)
    start = dict(init="uniform", decoder_bias_init="zeros")
    for name, extra in (("none", {}), ("auxk", dict(aux_k=8))):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = sparseae.SparseAutoencoder(96, activation="relu", output_activation="linear", sparsity="topk",
                                               k=4, solver="adam", max_iter=10, weight_decay=0.0, random_state=0,
                                               **start, **extra).fit(train)
        found[name] = sparseae.reconstruction_metrics(model, test)
    assert found["auxk"]["l0"] == pytest.approx(found["none"]["l0"], abs=0.5)
    assert len(found["auxk"]["dead_units"]) < len(found["none"]["dead_units"]), found


def test_bad_aux_k_is_a_one_line_error(X, tmp_path):
    relu = dict(activation="relu", output_activation="linear", max_iter=2)
    for params, says in [(dict(sparsity="l1", aux_k=4), "aux_k is AuxK's, for sparsity 'topk' or 'batchtopk'"),
                         (dict(sparsity="topk", k=2, aux_k=4, matryoshka=(4, 8)), "aux_k with matryoshka"),
                         (dict(sparsity="topk", k=2, aux_k=0), "'aux_k' parameter"),
                         (dict(sparsity="topk", k=2, aux_k=2, aux_k_weight=0.0), "'aux_k_weight' parameter")]:
        with pytest.raises(ParameterError, match=says):
            sparseae.SparseAutoencoder(8, **relu, **params).fit(X)


class Killed(Exception):
    pass


@pytest.mark.parametrize("solver, dead_after", [("adam", 1000), ("lbfgs", 100_000)])
@pytest.mark.parametrize("validation_fraction", [0.0, 0.25])
def test_a_fit_with_auxk_resumes_from_its_checkpoint_bit_for_bit(tmp_path, solver, dead_after, validation_fraction):
    """The dead-unit counts are in the checkpoint (they decide which units take the AuxK term):
    a fit killed after iteration 13 and resumed ends where the whole fit does. ``dead_after``
    above one pass over the rows, so that the counts carry across iterations."""
    rng = np.random.default_rng(6)
    X = rng.normal(size=(400, 16)) @ rng.normal(size=(16, 16))
    params = dict(activation="relu", output_activation="linear", sparsity="topk", k=3, aux_k=4,
                  dead_after=dead_after, solver=solver, max_iter=23, random_state=0,
                  validation_fraction=validation_fraction)

    def make(**extra):
        return sparseae.SparseAutoencoder(40, **params, **extra)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = make().fit(X)
        path = tmp_path / "c.safetensors"

        def kill(state):
            if state.n_iter == 13:
                raise Killed

        with pytest.raises(Killed):
            make(callback=kill).fit(X, checkpoint=path, checkpoint_every=5)
        saved = sparseae.checkpoint.read_checkpoint(path)
        assert saved.n_iter == 10 and saved.state["objective.aux_since"].shape == (40,)
        assert saved.state["objective.aux_since"].max() > 0  # some unit has not fired lately
        resumed = make().fit(X, resume_from=path)
    np.testing.assert_array_equal(resumed.theta_, whole.theta_)
    assert resumed.loss_curve_ == whole.loss_curve_
    if validation_fraction:
        assert resumed.validation_scores_ == whole.validation_scores_


def test_partial_fit_carries_the_dead_unit_counts_from_call_to_call():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(300, 16)) @ rng.normal(size=(16, 16))
    model = sparseae.SparseAutoencoder(200, activation="relu", output_activation="linear", sparsity="topk", k=1,
                                       aux_k=4, dead_after=10_000, random_state=0)
    model.partial_fit(X)
    first = model._minibatch.state_dict()["objective.aux_since"].copy()
    model.partial_fit(X)
    second = model._minibatch.state_dict()["objective.aux_since"]
    idle = second >= len(X)  # units that did not fire in the second call's epoch...
    assert (first[idle] > 0).any() and (second[idle] == first[idle] + len(X)).all()  # ...count on from the first
    # call's counts


@pytest.mark.parametrize("penalty", ["topk", "batchtopk"])
def test_held_out_metrics_of_an_auxk_model_report_js_own_terms(X, penalty):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = sparseae.SparseAutoencoder(12, activation="relu", output_activation="linear", sparsity=penalty, k=2,
                                           aux_k=3, solver="adam", max_iter=2, random_state=0).fit(X)
    assert "auxk" in model.loss_terms_
    terms = sparseae.reconstruction_metrics(model, X)["terms"]
    assert "auxk" not in terms
    assert terms["cost"] == pytest.approx(terms["squared_error"] + terms["weight_decay"] + terms["sparsity"])
