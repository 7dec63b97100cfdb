"""RICA: its objective against the formula and central differences, every place it runs, its
filters on natural images, its files and its errors."""

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline

from sparseae import (
    RICA,
    DataError,
    ParameterError,
    ZCAWhitening,
    check_gradient,
    edge_score,
    load,
    save,
)
from sparseae.reconstruction_ica import FilterLayout, RicaObjective

pytestmark = pytest.mark.unconverged


def formula(W, X, lam, eps):
    """J(W) written out as the paper writes it, one example (column) at a time."""
    total = 0.0
    for x in X:
        z = W @ x
        total += lam * np.sum(np.sqrt(z**2 + eps)) + 0.5 * np.sum((W.T @ z - x) ** 2)
    return total / len(X)


@pytest.fixture
def X(rng):
    return rng.standard_normal((60, 7))


@pytest.mark.parametrize("k", [4, 7, 11])  # under-, exactly and overcomplete
@pytest.mark.parametrize("lam, eps", [(0.3, 0.01), (0.05, 1.0), (0.0, 0.1)])
def test_cost_is_the_formula_and_the_gradient_checks(X, rng, k, lam, eps):
    objective = RicaObjective(X, k, sparsity_weight=lam, epsilon=eps)
    theta = 0.5 * rng.standard_normal(k * 7)
    cost, _ = objective(theta)
    assert cost == pytest.approx(formula(theta.reshape(k, 7), X, lam, eps), rel=1e-13)
    # the reconstruction term is quartic in W: at the notes' step 1e-4 its third derivative
    # leaves ~1e-9 of truncation error, at 1e-5 ~1e-11
    assert check_gradient(objective, theta, epsilon=1e-5) < 1e-9


def test_gradient_matches_pytorch_autograd(X, rng):
    torch = pytest.importorskip("torch", reason="PyTorch not installed (optional extra)")
    theta = 0.5 * rng.standard_normal(9 * 7)
    cost, grad = RicaObjective(X, 9, sparsity_weight=0.2, epsilon=0.01)(theta)
    W = torch.tensor(theta.reshape(9, 7), requires_grad=True)
    x = torch.tensor(X)
    Z = x @ W.T
    J = (0.2 * torch.sqrt(Z**2 + 0.01).sum() + 0.5 * ((Z @ W - x) ** 2).sum()) / len(X)
    J.backward()
    assert cost == pytest.approx(J.item(), rel=1e-14)
    np.testing.assert_allclose(grad, W.grad.numpy().reshape(-1), rtol=1e-12, atol=1e-14)


def test_chunks_a_file_and_the_torch_backend_give_the_same_objective(X, rng, tmp_path):
    from sparseae.rows import NpyRows

    theta = rng.standard_normal(5 * 7)
    c0, g0 = RicaObjective(X, 5)(theta)
    np.save(tmp_path / "x.npy", X)
    others = [RicaObjective(X, 5, chunk_size=13), RicaObjective(NpyRows(tmp_path / "x.npy"), 5, chunk_size=17)]
    for objective in others:
        c, g = objective(theta)
        assert c == pytest.approx(c0, rel=1e-13)
        np.testing.assert_allclose(g, g0, rtol=1e-12, atol=1e-14)


def test_the_torch_backend_gives_the_same_objective_and_fit(X, rng, torch_device):
    pytest.importorskip("torch", reason="PyTorch not installed (optional extra)")
    from sparseae.engine import get_backend

    theta = rng.standard_normal(5 * 7)
    c0, g0 = RicaObjective(X, 5)(theta)
    c, g = RicaObjective(X, 5, backend=get_backend(torch_device))(theta)
    assert c == pytest.approx(c0, rel=1e-13)
    np.testing.assert_allclose(g, g0, rtol=1e-12, atol=1e-14)
    a = RICA(5, max_iter=15, random_state=0).fit(X)
    b = RICA(5, max_iter=15, random_state=0, device=torch_device).fit(X)
    np.testing.assert_allclose(b.components_, a.components_, rtol=1e-8, atol=1e-10)


def test_fit_from_a_file_equals_the_fit_in_memory(rng, tmp_path):
    X = rng.standard_normal((400, 9))
    np.save(tmp_path / "x.npy", X)
    a = RICA(6, max_iter=30, random_state=0).fit(X)
    b = RICA(6, max_iter=30, random_state=0, batch_size=150).fit(tmp_path / "x.npy")
    np.testing.assert_allclose(b.components_, a.components_, rtol=1e-9, atol=1e-12)
    assert b.n_features_in_ == 9


def test_same_random_state_same_filters_and_float32_close(rng):
    X = rng.standard_normal((300, 8))
    a, b = (RICA(5, max_iter=25, random_state=3).fit(X) for _ in range(2))
    np.testing.assert_array_equal(a.components_, b.components_)
    single = RICA(5, max_iter=25, random_state=3, dtype="float32").fit(X)
    assert single.loss_ == pytest.approx(a.loss_, rel=1e-3)


def test_adam_minibatches_lower_the_cost(rng):
    X = rng.standard_normal((500, 8))
    start = RICA(6, max_iter=1, random_state=0, solver="adam").fit(X).loss_curve_[0]
    model = RICA(6, max_iter=15, random_state=0, solver="adam", batch_size=50).fit(X)
    assert model.loss_ < 0.8 * start


def test_filters_on_whitened_natural_patches_are_edges():
    """Le et al.'s result, and the notes' §4 for the autoencoder: localised oriented filters; the
    edge score (orientation selectivity) of random filters is about 0.15."""
    from sparseae.datasets import natural_images, sample_patches

    X = sample_patches(natural_images(), 5000, 8, random_state=0)
    zca = ZCAWhitening(0.01).fit(X)
    model = RICA(49, sparsity_weight=0.5, max_iter=150, random_state=0).fit(zca.transform(X))
    initial = RICA(49, random_state=0)._initial_theta(FilterLayout(64, 49)).reshape(49, 64)
    assert edge_score(model.components_) > 0.5
    assert edge_score(model.components_) > 2.5 * edge_score(initial)


def test_transform_inverse_score_and_files(rng, tmp_path):
    X = rng.standard_normal((200, 6))
    model = RICA(4, max_iter=20, random_state=0).fit(X)
    Z = model.transform(X)
    np.testing.assert_allclose(Z, X @ model.components_.T)
    np.testing.assert_allclose(model.inverse_transform(Z), Z @ model.components_)
    assert model.score(X) == pytest.approx(-formula(model.components_, X, 0.1, 0.01), rel=1e-12)
    assert list(model.get_feature_names_out()) == ["rica0", "rica1", "rica2", "rica3"]
    back = load(model.save(tmp_path / "rica.safetensors"))
    np.testing.assert_array_equal(back.transform(X), Z)
    pipe = make_pipeline(ZCAWhitening(0.1), RICA(4, max_iter=10, random_state=0)).fit(X)
    again = load(save(pipe, tmp_path / "pipe.safetensors"))
    np.testing.assert_array_equal(again.transform(X), pipe.transform(X))


def test_bad_parameters_and_data_are_named(rng):
    X = rng.standard_normal((50, 4))
    with pytest.raises(ParameterError, match="n_components"):
        RICA(0).fit(X)
    with pytest.raises(ParameterError, match="epsilon"):
        RICA(3, epsilon=0.0).fit(X)
    with pytest.raises(ParameterError, match="sparsity_weight"):
        RicaObjective(X, 3, sparsity_weight=-1.0)
    bad = X.copy()
    bad[7, 2] = np.nan
    with pytest.raises(DataError, match="row 7"):
        RICA(3).fit(bad)
    model = RICA(3, max_iter=5, random_state=0).fit(X)
    with pytest.raises(DataError, match="3 filters"):
        model.inverse_transform(np.zeros((2, 5)))


class _Killed(Exception):
    pass


def _kill_at(n):
    def callback(state):
        if state.n_iter == n:
            raise _Killed
    return callback


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_a_killed_fit_resumes_from_its_checkpoint_bit_for_bit(rng, tmp_path, solver):
    """RICA takes the training layer's checkpoints as the autoencoder does: killed after
    iteration 13 with a checkpoint every 5, then resumed, it ends where the whole fit ends."""
    X = rng.standard_normal((200, 9))
    params = dict(solver=solver, max_iter=23, random_state=0, validation_fraction=0.25)
    whole = RICA(6, **params).fit(X)
    path = tmp_path / "rica.safetensors"
    with pytest.raises(_Killed):
        RICA(6, callback=_kill_at(13), **params).fit(X, checkpoint=path, checkpoint_every=5)
    resumed = RICA(6, **params).fit(X, resume_from=path)
    np.testing.assert_array_equal(resumed.components_, whole.components_)
    assert resumed.loss_curve_ == whole.loss_curve_ and resumed.n_iter_ == whole.n_iter_ == 23
    assert resumed.validation_scores_ == whole.validation_scores_
    with pytest.raises(ParameterError, match="n_components=6, not 5"):
        RICA(5, **params).fit(X, resume_from=path)  # another model's checkpoint


def test_early_stopping_keeps_the_filters_of_the_best_held_out_cost(rng):
    X = rng.standard_normal((300, 9))
    model = RICA(12, solver="adam", learning_rate=0.05, max_iter=200, random_state=0, validation_fraction=0.3,
                 early_stopping=True, n_iter_no_change=3).fit(X)
    scores = model.validation_scores_
    assert model.n_iter_ == len(scores) < 200  # it stopped early ...
    best = int(np.argmin(scores))
    assert best == len(scores) - 1 - 3  # ... 3 iterations after its best held-out cost
    held_out = RicaObjective(X[model.validation_rows_], 12, sparsity_weight=model.sparsity_weight,
                             epsilon=model.epsilon)
    assert held_out.terms(model.theta_)["cost"] == pytest.approx(model.best_validation_score_, rel=1e-12)
    assert model.best_validation_score_ == min(scores)
