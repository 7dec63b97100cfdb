"""JumpReLU: a(z) = z H(z - θ) with learned log θ in θ, the L0 penalty, and the straight-through
pseudo-gradients. What has a true gradient (W, b) is checked by finite differences; the pseudo-
gradients in log θ against SAELens's JumpReLUTrainingSAE under PyTorch autograd (when installed);
the terms against a plain NumPy computation; and training shows the thresholds move."""

import warnings

import numpy as np
import pytest

import sparseae
from sparseae import ParameterError
from sparseae.objective import SparseObjective

pytestmark = pytest.mark.unconverged
N, S = 7, 11


def _objective(X, beta=0.05, dtype=np.float64, **params):
    backend = sparseae.engine.NumpyBackend(dtype)
    return SparseObjective([N, S, N], X, activation="relu", output_activation="linear", sparsity="jumprelu",
                           sparsity_weight=beta, weight_decay=1e-3, backend=backend, **params)


def _theta(objective, rng, scale=0.2):
    theta = objective.layout.initial_theta(0)
    Ws, bs = objective.layout.unpack(theta)
    bs[0][...] = rng.normal(scale=0.1, size=S)
    bs[1][...] = rng.normal(scale=0.1, size=N)
    objective.layout.log_thresholds(theta)[...] = np.log(rng.uniform(0.05, scale, size=S))
    return theta


@pytest.fixture
def rows():
    rng = np.random.default_rng(3)
    return rng.normal(size=(60, N)), rng


def test_terms_are_the_formula_computed_plainly(rows):
    X, rng = rows
    objective = _objective(X, beta=0.05, jumprelu_bandwidth=0.01)
    theta = _theta(objective, rng)
    Ws, bs = objective.layout.unpack(theta)
    threshold = np.exp(objective.layout.log_thresholds(theta))
    z = X @ Ws[0].T + bs[0]
    a = z * (z > threshold)
    h = a @ Ws[1].T + bs[1]
    terms = objective.terms(theta)
    assert terms["squared_error"] == pytest.approx(0.5 * ((h - X) ** 2).sum() / len(X), rel=1e-13)
    assert terms["sparsity"] == pytest.approx(0.05 * (z > threshold).sum() / len(X), rel=1e-13)
    assert terms["weight_decay"] == pytest.approx(0.5e-3 * ((Ws[0] ** 2).sum() + (Ws[1] ** 2).sum()), rel=1e-13)
    np.testing.assert_allclose(terms["rho_hat"], a.mean(axis=0), rtol=1e-13)


def test_the_gradient_in_W_and_b_is_exact(rows):
    """J is smooth in W and b away from the jumps (no pre-activation within a step of θ), and the
    L0 term is flat there: central differences on every W and b entry agree below 1e-9."""
    X, rng = rows
    objective = _objective(X)
    theta = _theta(objective, rng)
    _, grad = objective(theta)
    mask = np.ones(objective.size, dtype=bool)
    mask[-S:] = False  # log θ: the pseudo-gradient, checked against SAELens below
    eps, numeric = 1e-6, []
    for i in np.flatnonzero(mask):
        step = np.zeros_like(theta)
        step[i] = eps
        numeric.append((objective(theta + step)[0] - objective(theta - step)[0]) / (2 * eps))
    numeric = np.array(numeric)
    error = np.linalg.norm(numeric - grad[mask]) / np.linalg.norm(numeric + grad[mask])
    assert error < 1e-9


@pytest.mark.parametrize("chunk_size", [None, 13])
def test_chunked_and_threaded_evaluations_agree_with_one_block(rows, chunk_size):
    X, rng = rows
    whole = _objective(X)
    theta = _theta(whole, rng)
    cost, grad = whole(theta)
    other_cost, other_grad = _objective(X, chunk_size=chunk_size)(theta)
    assert other_cost == pytest.approx(cost, rel=1e-13)
    np.testing.assert_allclose(other_grad, grad, rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-6), (np.float32, 1e-4)])
def test_pseudo_gradients_agree_with_saelens_under_autograd(rows, dtype, tol):
    torch = pytest.importorskip("torch", reason="the cross-check runs SAELens under PyTorch")
    pytest.importorskip("sae_lens", reason="sae-lens is not installed (pip install sae-lens)")
    from sae_lens.saes.jumprelu_sae import JumpReLUTrainingSAE, JumpReLUTrainingSAEConfig
    from sae_lens.saes.sae import TrainStepInput

    X, rng = rows
    X = X.astype(dtype)
    beta, bandwidth = 0.05, 0.05  # wide enough that many pre-activations fall in the window
    objective = SparseObjective([N, S, N], X, activation="relu", output_activation="linear", sparsity="jumprelu",
                                sparsity_weight=beta, jumprelu_bandwidth=bandwidth,
                                backend=sparseae.engine.NumpyBackend(dtype))
    theta = _theta(objective, rng)
    terms, grad = objective.evaluate(theta)
    Ws, bs = objective.layout.unpack(theta)
    gWs, gbs = objective.layout.unpack(grad)
    threshold = np.exp(objective.layout.log_thresholds(theta))
    name = {np.float64: "float64", np.float32: "float32"}[dtype]
    cfg = JumpReLUTrainingSAEConfig(d_in=N, d_sae=S, dtype=name, apply_b_dec_to_input=False,
                                    jumprelu_bandwidth=bandwidth, l0_coefficient=2 * beta, decoder_init_norm=None)
    sae = JumpReLUTrainingSAE(cfg)
    torch_dtype = getattr(torch, name)
    with torch.no_grad():
        for param, value in ((sae.W_enc, Ws[0].T), (sae.b_enc, bs[0]), (sae.W_dec, Ws[1].T), (sae.b_dec, bs[1])):
            param.copy_(torch.tensor(value))
    sae.threshold = torch.nn.Parameter(torch.tensor(threshold, dtype=torch_dtype))
    x = torch.tensor(X)
    out = sae.training_forward_pass(TrainStepInput(sae_in=x, coefficients={"l0": 2 * beta}, dead_neuron_mask=None,
                                                   n_training_steps=0, is_logging_step=False))
    out.loss.backward()
    # SAELens's J is Σ‖·‖² (not ½) plus its coefficient times L0: twice ours.
    ours = 2 * terms["cost"]
    assert ours == pytest.approx(out.loss.detach().item(), rel=tol)

    def close(theirs, mine):
        theirs = theirs.detach().double().numpy()
        assert np.abs(theirs - mine).max() <= tol * np.abs(theirs).max(), (theirs, mine)

    close(sae.W_enc.grad, 2 * gWs[0].T)  # this objective has no weight decay
    close(sae.b_enc.grad, 2 * gbs[0])
    close(sae.W_dec.grad, 2 * gWs[1].T)
    close(sae.b_dec.grad, 2 * gbs[1])
    # ∂J/∂log θ = θ ∂J/∂θ; the L0 part alone would pass a test that ignored the kernel's θ/ε term
    assert np.count_nonzero(sae.threshold.grad.numpy()) >= S // 2
    close(sae.threshold.grad * torch.tensor(threshold), 2 * objective.layout.log_thresholds(grad))


def _fit(X, beta, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sparseae.SparseAutoencoder(30, activation="relu", output_activation="linear", sparsity="jumprelu",
                                          sparsity_weight=beta, weight_decay=0.0, random_state=0, **params).fit(X)


@pytest.fixture(scope="module")
def correlated():
    rng = np.random.default_rng(0)
    return rng.normal(size=(1000, 10)) @ rng.normal(size=(10, 10)) * 0.3


@pytest.mark.parametrize("params", [dict(solver="adam", learning_rate=0.01, max_iter=200),
                                    dict(solver="adam", learning_rate=0.01, max_iter=200, dtype="float32"),
                                    dict(solver="lbfgs", max_iter=200)],
                         ids=["adam", "adam-float32", "lbfgs"])
def test_thresholds_move_and_l0_falls_as_beta_rises(correlated, params):
    l0s = []
    for beta in (1e-3, 1e-2, 1e-1):
        model = _fit(correlated, beta, **params)
        assert not np.allclose(model.threshold_, 1e-3, rtol=1e-6, atol=0)  # they started at 0.001
        l0s.append(sparseae.reconstruction_metrics(model, correlated)["l0"])
    assert l0s[0] > l0s[1] > l0s[2], l0s
    if params["solver"] == "adam":  # under Adam they move far: log θ takes steps of about its step size
        assert np.median(model.threshold_) > 0.01


def test_under_adam_thresholds_stepped_in_their_logs_stay_at_their_start_and_stepped_in_value_move(correlated):
    """On rows whose pre-activations are O(1), as MNIST's are, 30 epochs: log θ_j takes steps of
    about the step size, so θ_j = 0.001 moves by a few percent and β changes nothing; stepped in
    θ_j (the default), the thresholds move tenfold and more and L0 falls as β rises. (Adam's
    gradient unclipped: the steps' own effect; test_adam covers the clipping.)"""
    X = 5 * correlated
    moved = {}
    for steps in ("threshold", "log"):
        l0s, medians = [], []
        for beta in (0.01, 0.1, 1.0):
            model = _fit(X, beta, solver="adam", max_iter=30, jumprelu_steps=steps, max_grad_norm=None)
            l0s.append(sparseae.reconstruction_metrics(model, X)["l0"])
            medians.append(np.median(model.threshold_))
        moved[steps] = (l0s, medians)
    l0s, medians = moved["threshold"]
    assert l0s[0] > l0s[1] > l0s[2] and min(medians) > 0.02, moved
    l0s, medians = moved["log"]
    assert max(medians) < 0.0012 and max(l0s) - min(l0s) < 1e-3, moved


def test_transform_applies_the_thresholds_and_the_model_file_keeps_them(correlated, tmp_path):
    model = _fit(correlated, 1e-2, solver="adam", learning_rate=0.01, max_iter=20)
    z = correlated @ model.coefs_[0] + model.intercepts_[0]
    np.testing.assert_array_equal(model.transform(correlated), z * (z > model.threshold_))
    model.save(tmp_path / "m.safetensors")
    back = sparseae.load(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(back.theta_, model.theta_)
    np.testing.assert_array_equal(back.threshold_, model.threshold_)
    np.testing.assert_array_equal(back.transform(correlated), model.transform(correlated))


def test_bad_jumprelu_parameters_are_one_line_errors(correlated):
    base = dict(sparsity="jumprelu", output_activation="linear", max_iter=2)
    for params, says in [(dict(activation="sigmoid"), "defined on 'relu' units, not activation='sigmoid'"),
                         (dict(activation="tanh"), "not activation='tanh'"),
                         (dict(activation="relu", jumprelu_bandwidth=0.0), "jumprelu_bandwidth"),
                         (dict(activation="relu", jumprelu_bandwidth=-1.0), "jumprelu_bandwidth"),
                         (dict(activation="relu", resample_dead=5), "resample_dead=5 does not apply"),
                         (dict(activation="relu", jumprelu_steps="value"), "jumprelu_steps")]:
        with pytest.raises(ParameterError, match=says):
            sparseae.SparseAutoencoder(8, **base, **params).fit(correlated)
    with pytest.warns(UserWarning, match="does not use jumprelu_bandwidth=0.01"):
        sparseae.SparseAutoencoder(8, activation="relu", output_activation="linear", sparsity="l1",
                                   jumprelu_bandwidth=0.01, max_iter=2).fit(correlated)
    with pytest.warns(UserWarning, match="does not use jumprelu_steps='log'"):
        sparseae.SparseAutoencoder(8, activation="relu", output_activation="linear", sparsity="l1",
                                   jumprelu_steps="log", max_iter=2).fit(correlated)
