"""The unconstrained L-BFGS (sparseae.optim.lbfgs): its direction, its strong-Wolfe steps, its
convergence against SciPy's L-BFGS-B, its failures, and θ kept on a PyTorch device."""


import numpy as np
import pytest
from scipy.optimize import rosen, rosen_der
from sklearn.exceptions import ConvergenceWarning

from sparseae import NonFiniteCostError, SparseObjective, minimize
from sparseae.engine.vectors import HostVectors
from sparseae.errors import FitInterrupted
from sparseae.optim.lbfgs import C1, C2, History, cubic_minimum, strong_wolfe

pytestmark = pytest.mark.unconverged

try:
    import torch
except ImportError:  # the optional extra
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is an optional extra (sparseae[torch])")


def two_loop(g, pairs):
    """Nocedal & Wright Algorithm 7.4 with H0 = γI: the textbook -H g, from the oldest pair on."""
    q, alphas = g.copy(), []
    for s, y in reversed(pairs):
        alpha = (s @ q) / (s @ y)
        alphas.append(alpha)
        q -= alpha * y
    s, y = pairs[-1]
    r = (s @ y) / (y @ y) * q
    for (s, y), alpha in zip(pairs, reversed(alphas)):
        r += s * (alpha - (y @ r) / (s @ y))
    return -r


@pytest.mark.parametrize("n_pairs", [1, 3, 5, 9])
def test_the_compact_direction_is_the_two_loop_recursion(rng, n_pairs):
    n, memory = 40, 5
    A = rng.normal(size=(n, n))
    A = A @ A.T + n * np.eye(n)  # pairs from a convex quadratic: s.y > 0
    history, pairs = History(HostVectors(), n, memory), []
    g = rng.normal(size=n)
    for _ in range(n_pairs):
        s = rng.normal(size=n)
        g_new = g + A @ s
        history.add(s, 1.0, g_new, g)
        pairs = (pairs + [(s, g_new - g)])[-memory:]
        g = g_new
    d = np.empty(n)
    history.direction_into(d, g)
    np.testing.assert_allclose(d, two_loop(g, pairs), rtol=1e-11, atol=1e-13)



def test_the_pairs_order_survives_refused_pairs_and_wrapping(rng):
    """R (the upper triangle of SᵀY) and YᵀY, kept in the pairs' order as pairs come and go, are
    the pairs' own products, through a full history wrapping round, pairs refused (s.y = 0) with
    the history full and not, and a cleared history; the direction stays the two-loop
    recursion's."""
    n, memory = 30, 4
    A = rng.normal(size=(n, n))
    A = A @ A.T + n * np.eye(n)
    history, pairs = History(HostVectors(), n, memory), []
    g = rng.normal(size=n)
    for step in range(14):
        s = np.zeros(n) if step in (6, 7) else rng.normal(size=n)  # refused: s.y = 0
        g_new = g + A @ s
        history.add(s, 1.0, g_new, g)
        if step in (6, 7):  # refused; a full history has let its oldest pair go first
            pairs = pairs[1:] if len(pairs) == memory else pairs
        else:
            pairs = (pairs + [(s, g_new - g)])[-memory:]
        if step == 10:
            history.clear()
            pairs = []
        g = g_new
        k = len(history)
        assert k == len(pairs)
        if k:
            S, Y = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
            np.testing.assert_allclose(history.R[:k, :k], np.triu(S @ Y.T), rtol=1e-10, atol=1e-9)
            np.testing.assert_allclose(history.YY[:k, :k], Y @ Y.T, rtol=1e-10, atol=1e-9)
        if k:
            d = np.empty(n)
            history.direction_into(d, g)
            np.testing.assert_allclose(d, two_loop(g, pairs), rtol=1e-11, atol=1e-13)

def test_cubic_minimum_of_a_cubic_and_of_a_quadratic():
    f = lambda x: (x - 1.0) ** 3 - 3.0 * (x - 1.0) + 2  # noqa: E731  minimum at x = 2
    df = lambda x: 3.0 * (x - 1.0) ** 2 - 3.0  # noqa: E731
    assert cubic_minimum((0.5, f(0.5), df(0.5)), (3.0, f(3.0), df(3.0))) == pytest.approx(2.0)
    q, dq = (lambda x: (x - 0.3) ** 2), (lambda x: 2 * (x - 0.3))
    assert cubic_minimum((0.0, q(0.0), dq(0.0)), (1.0, q(1.0), dq(1.0))) == pytest.approx(0.3)
    assert cubic_minimum((1.0, 0.0, 1.0), (1.0, 0.0, 1.0)) is None


@pytest.mark.parametrize("alpha0", [1e-6, 1.0, 40.0])
def test_the_line_search_returns_a_strong_wolfe_step(alpha0):
    # φ(α) = J(θ + α d) on Rosenbrock from (-1.2, 1) along steepest descent: a curved valley
    theta, seen = np.array([-1.2, 1.0]), []
    d = -rosen_der(theta)

    def phi(alpha):
        seen.append(alpha)
        x = theta + alpha * d
        return rosen(x), rosen_der(x), rosen_der(x) @ d

    f0, dphi0 = rosen(theta), rosen_der(theta) @ d
    alpha, f, g, dphi = strong_wolfe(phi, f0, dphi0, alpha0)
    assert f <= f0 + C1 * alpha * dphi0
    assert abs(dphi) <= C2 * abs(dphi0)
    assert alpha == seen[-1]  # the accepted step is the last evaluated
    np.testing.assert_array_equal(g, rosen_der(theta + alpha * d))


def run_logged(fun, theta0, **options):
    """minimize, recording every evaluation and every accepted iterate."""
    evaluations, iterates = {}, [np.array(theta0, dtype=float)]

    def logged(theta):
        f, g = fun(theta)
        evaluations[theta.tobytes()] = (f, np.array(g))
        return f, g

    result = minimize(logged, theta0, callback=lambda it, cost, theta: iterates.append(theta.copy()),
                      **options)
    return result, evaluations, iterates


def assert_every_step_is_strong_wolfe(evaluations, iterates):
    for before, after in zip(iterates, iterates[1:]):
        (f0, g0), (f1, g1) = evaluations[before.tobytes()], evaluations[after.tobytes()]
        s = after - before  # = α d, so both conditions hold for s exactly when for d
        assert f1 <= f0 + C1 * (g0 @ s)
        assert abs(g1 @ s) <= C2 * abs(g0 @ s)


@pytest.mark.parametrize("n", [2, 10])
def test_rosenbrock_converges_with_strong_wolfe_steps(n):
    theta0 = np.tile([-1.2, 1.0], n // 2)
    result, evaluations, iterates = run_logged(lambda x: (rosen(x), rosen_der(x)), theta0,
                                               max_iter=500, tol=1e-8)
    assert result.converged, result.message
    np.testing.assert_allclose(result.theta, np.ones(n), atol=1e-5)
    assert_every_step_is_strong_wolfe(evaluations, iterates)
    assert result.n_evaluations <= 1.5 * result.n_iter + 5


def test_an_ill_conditioned_quadratic_converges(rng):
    n = 60
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    A = Q @ np.diag(np.logspace(0, 6, n)) @ Q.T  # condition number 1e6
    b = rng.normal(size=n)
    fun = lambda x: (0.5 * x @ A @ x - b @ x, A @ x - b)  # noqa: E731
    result, evaluations, iterates = run_logged(fun, np.zeros(n), max_iter=3000, tol=1e-6,
                                               lbfgs_memory=20)
    assert result.converged, result.message  # here on the relative-decrease rule, as L-BFGS-B
    best = fun(np.linalg.solve(A, b))[0]
    assert fun(result.theta)[0] - best <= 1e-5 * abs(best)  # here 1.7e-6 (L-BFGS-B: 1.8e-6)
    assert_every_step_is_strong_wolfe(evaluations, iterates)


def test_a_small_autoencoder_ends_at_least_as_low_as_scipys_l_bfgs_b(rng):
    X = rng.uniform(0.05, 0.95, size=(300, 16))
    objective = SparseObjective([16, 6, 16], X, weight_decay=1e-4, sparsity_target=0.05, sparsity_weight=3.0)
    theta0 = objective.layout.initial_theta(0)
    results = {}
    for solver in ("lbfgs", "l-bfgs-b"):
        results[solver] = run_logged(objective, theta0, solver=solver, max_iter=150, lbfgs_memory=10)
    ours, scipys = results["lbfgs"][0], results["l-bfgs-b"][0]
    assert ours.cost <= scipys.cost * (1 + 1e-3), (ours.cost, scipys.cost)
    assert ours.n_evaluations / ours.n_iter <= scipys.n_evaluations / scipys.n_iter + 0.05
    assert_every_step_is_strong_wolfe(*results["lbfgs"][1:])
    assert ours.cost == pytest.approx(objective(ours.theta)[0], rel=1e-14)


def test_a_line_search_failure_warns_with_the_reason_and_keeps_the_last_good_theta():
    # An anisotropic bowl (three iterations do not reach its minimum) that, once three
    # iterations are done, is higher everywhere else than at the third iterate
    done, weights = [], np.array([1.0, 10.0, 100.0])

    def scaled(theta):
        f = 0.5 * theta @ (weights * theta)
        return f + (1.0 if len(done) >= 3 else 0.0), weights * theta

    with pytest.warns(ConvergenceWarning, match="the line search failed: ") as record:
        result = minimize(scaled, np.ones(3), max_iter=50, tol=1e-12,
                          callback=lambda it, cost, theta: done.append(theta.copy()))
    assert result.n_iter == 3 and not result.converged
    np.testing.assert_array_equal(result.theta, done[-1])
    assert "stopped after 3 iterations" in str(record[0].message)


@pytest.mark.parametrize("failure", [FloatingPointError, KeyboardInterrupt])
def test_a_fit_stopped_inside_a_line_search_carries_the_last_completed_iterate(failure):
    # The tracker holds L-BFGS's iterate by reference, not by copy: the line search's trial
    # point, written into the other vector, must not be what a diverged or interrupted fit keeps
    done, weights = [], np.array([1.0, 10.0, 100.0])
    calls = iter(range(1000))

    def bowl(theta):
        if next(calls) == 6:  # an evaluation after a few iterations: a trial point
            if failure is KeyboardInterrupt:
                raise KeyboardInterrupt
            return np.nan, weights * theta
        return 0.5 * theta @ (weights * theta), weights * theta

    expected = NonFiniteCostError if failure is FloatingPointError else FitInterrupted
    with pytest.raises(expected) as info:
        minimize(bowl, np.ones(3), max_iter=50, tol=1e-12, callback=lambda it, cost, theta: done.append(theta.copy()))
    assert len(done) >= 2 and info.value.n_iter == len(done)
    np.testing.assert_array_equal(info.value.theta, done[-1])


def test_a_flat_cost_ends_the_fit_without_a_traceback():
    with pytest.warns(ConvergenceWarning, match="line search failed"):
        result = minimize(lambda x: (1.0, np.ones_like(x)), np.zeros(4), max_iter=10)
    np.testing.assert_array_equal(result.theta, np.zeros(4))
    assert result.n_iter == 0


@needs_torch
def test_theta_stays_on_the_device_for_the_whole_fit(rng, monkeypatch, torch_device):
    """Every host copy of a θ-sized tensor is counted: the fit makes one in and one out, however
    many iterations it runs (device="cpu" stands in for a GPU, where there is none)."""
    from sparseae.engine import get_backend
    from sparseae.engine.vectors import TorchVectors

    X = rng.uniform(0.1, 0.9, size=(200, 12))
    objective = SparseObjective([12, 5, 12], X, weight_decay=1e-3, sparsity_target=0.05,
                                sparsity_weight=3.0, backend=get_backend(torch_device))
    size, crossings = objective.size, []

    def counting(method):
        def counted(self, x, *args, **kwargs):
            if isinstance(x, np.ndarray) and x.size >= size:
                crossings.append("in")
            return method(self, x, *args, **kwargs)

        return counted

    for cls, name in [(torch.Tensor, "numpy"), (torch.Tensor, "__array__"), (torch.Tensor, "tolist"),
                      (torch.Tensor, "cpu")]:
        original = getattr(cls, name)
        monkeypatch.setattr(cls, name, lambda self, *a, _o=original, **k: (
            crossings.append("out") if self.numel() >= size else None, _o(self, *a, **k))[1])
    monkeypatch.setattr(TorchVectors, "from_host", counting(TorchVectors.from_host))

    counts = {}
    for iterations in (3, 25):
        crossings.clear()
        result = minimize(objective, objective.layout.initial_theta(0), max_iter=iterations,
                          vectors=objective.vectors)
        assert result.n_iter == iterations
        counts[iterations] = list(crossings)
    assert counts[3] == counts[25]  # nothing per iteration
    assert counts[25].count("in") == 1 and counts[25].count("out") == 1  # θ0 and the result
    # and the fit on the device is the fit on the host
    host = minimize(SparseObjective([12, 5, 12], X, weight_decay=1e-3, sparsity_target=0.05,
                                    sparsity_weight=3.0), objective.layout.initial_theta(0), max_iter=25)
    assert result.cost == pytest.approx(host.cost, rel=1e-10)
    np.testing.assert_allclose(result.theta, host.theta, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("on_device", [False, pytest.param(True, marks=needs_torch)])
def test_a_saved_history_continues_the_fit_exactly(rng, on_device, request):
    """What a checkpoint keeps (History.state) restarts L-BFGS where it was, host or device."""
    X = rng.uniform(0.1, 0.9, size=(200, 12))
    backend = None
    if on_device:
        from sparseae.engine import get_backend

        backend = get_backend(request.getfixturevalue("torch_device"))
    objective = SparseObjective([12, 5, 12], X, weight_decay=1e-3, sparsity_target=0.05, sparsity_weight=3.0,
                                backend=backend)
    run = dict(lbfgs_memory=5, vectors=objective.vectors)
    whole = minimize(objective, objective.layout.initial_theta(0), max_iter=30, **run)
    box = {}
    first = minimize(objective, objective.layout.initial_theta(0), max_iter=12, state_box=box, **run)
    state = box["lbfgs"]()
    assert isinstance(state["rows"], np.ndarray) and state["rows"].shape == (10, objective.size)
    rest = minimize(objective, first.theta, max_iter=18, state=state, **run)
    assert first.loss_curve + rest.loss_curve == whole.loss_curve
    np.testing.assert_array_equal(rest.theta, whole.theta)


def test_a_long_history_takes_the_compiled_passes_continues_exactly_and_agrees_with_blas(monkeypatch):
    """A history of COMPILED_FROM values or more takes sparseae.engine._history's passes (where
    built): a resumed fit still goes on exactly, and the fit is BLAS's passes' fit to rounding."""
    from sparseae.engine import vectors

    monkeypatch.setenv("SPARSEAE_FUSED", "1")  # (a run may have turned the extensions off)
    n = vectors.COMPILED_FROM // 10 + 1000  # memory 5: 10 rows
    x0 = np.tile([-1.2, 1.0], n // 2)
    run = dict(lbfgs_memory=5, tol=0.0)
    taken = []
    monkeypatch.setattr(vectors, "_compiled", lambda rows, _c=vectors._compiled: taken.append(_c(rows)) or taken[-1])
    whole = minimize(lambda x: (rosen(x), rosen_der(x)), x0, max_iter=30, **run)
    assert all(taken) == (vectors._history is not None) and taken
    box = {}
    first = minimize(lambda x: (rosen(x), rosen_der(x)), x0, max_iter=12, state_box=box, **run)
    rest = minimize(lambda x: (rosen(x), rosen_der(x)), first.theta, max_iter=18, state=box["lbfgs"](), **run)
    assert first.loss_curve + rest.loss_curve == whole.loss_curve
    np.testing.assert_array_equal(rest.theta, whole.theta)
    monkeypatch.setenv("SPARSEAE_FUSED", "0")
    blas = minimize(lambda x: (rosen(x), rosen_der(x)), x0, max_iter=30, **run)
    np.testing.assert_allclose(whole.loss_curve, blas.loss_curve, rtol=1e-9)
