"""Minimising J(θ): the notes' batch gradient descent, and L-BFGS / conjugate gradient (§2.3).

Each solver needs only ``fun(theta) -> (cost, gradient)``. L-BFGS and conjugate gradient come
from :func:`scipy.optimize.minimize`; gradient descent is the notes' update θ := θ - α ∇J(θ).
"""

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize as scipy_minimize
from sklearn.exceptions import ConvergenceWarning

from .validation import check_hyperparameters


class NonFiniteCostError(FloatingPointError):
    """The cost or its gradient became NaN or infinite during training.

    Attributes
    ----------
    theta : ndarray
        The parameters after the last iteration whose cost was finite (the start if none).
    n_iter : int
        Iterations completed before the failure.
    """

    def __init__(self, message, theta, n_iter):
        super().__init__(message)
        self.theta = theta
        self.n_iter = n_iter


class FitInterrupted(KeyboardInterrupt):
    """Ctrl-C during a fit; carries the parameters of the last completed iteration."""

    def __init__(self, theta, n_iter, loss_curve):
        super().__init__(f"interrupted after {n_iter} completed iterations")
        self.theta = theta
        self.n_iter = n_iter
        self.loss_curve = loss_curve


@dataclass
class OptimizeResult:
    """What a solver returns: the final θ, its cost, and how it got there."""

    theta: np.ndarray
    cost: float
    n_iter: int
    converged: bool
    message: str
    loss_curve: list = field(default_factory=list)


class _Tracker:
    """Wraps ``fun`` to reject non-finite values and records each completed iteration."""

    def __init__(self, fun, theta0, callback):
        self.fun = fun
        self.callback = callback
        self.theta = theta0.copy()  # last completed iterate
        self.loss_curve = []

    def evaluate(self, theta):
        with np.errstate(over="ignore", invalid="ignore"):  # reported below, in one message
            cost, grad = self.fun(theta)
        if not np.isfinite(cost) or not np.isfinite(grad).all():
            what = "cost" if not np.isfinite(cost) else "gradient"
            raise NonFiniteCostError(
                f"the {what} became non-finite after {len(self.loss_curve)} iterations "
                f"(diverging: lower the learning rate, or check the data's scale); "
                f"the parameters of the last finite iteration are kept",
                self.theta.copy(),
                len(self.loss_curve),
            )
        return cost, grad

    def iteration_done(self, theta, cost):
        self.theta[...] = theta
        self.loss_curve.append(float(cost))
        if self.callback is not None:
            self.callback(len(self.loss_curve), float(cost))


def gradient_descent(tracker, theta0, *, learning_rate=0.1, max_iter=400, tol=1e-5):
    """Batch gradient descent: θ := θ - α ∇J(θ), until max |∇J| ≤ tol or max_iter steps."""
    theta = theta0.copy()
    cost, grad = tracker.evaluate(theta)
    converged = np.abs(grad).max() <= tol
    n_iter = 0
    while not converged and n_iter < max_iter:
        theta -= learning_rate * grad
        cost, grad = tracker.evaluate(theta)
        n_iter += 1
        tracker.iteration_done(theta, cost)
        converged = np.abs(grad).max() <= tol
    message = (
        f"max |gradient| <= tol = {tol:g}" if converged else f"reached max_iter = {max_iter}"
    )
    return OptimizeResult(theta, float(cost), n_iter, bool(converged), message, tracker.loss_curve)


def minimize(
    fun,
    theta0,
    *,
    solver="lbfgs",
    max_iter=400,
    tol=1e-5,
    learning_rate=0.1,
    lbfgs_memory=10,
    callback=None,
):
    """Minimise ``fun`` from ``theta0`` with the chosen solver.

    Parameters
    ----------
    fun : callable
        ``fun(theta) -> (cost, gradient)``.
    theta0 : ndarray of shape (n,)
        Start; not modified.
    solver : {"lbfgs", "cg", "gd"}
        L-BFGS (scipy's L-BFGS-B, unbounded), nonlinear conjugate gradient (scipy's CG), or the
        notes' batch gradient descent with step ``learning_rate``.
    max_iter : int
        Most iterations.
    tol : float
        Stop when the largest gradient component is at most ``tol`` (scipy's ``gtol``).
        L-BFGS also stops, as converged, when an iteration barely reduces the cost.
    learning_rate : float
        α, for ``solver="gd"`` only.
    lbfgs_memory : int
        Corrections L-BFGS keeps (scipy's ``maxcor``).
    callback : callable, optional
        ``callback(iteration, cost)`` after each iteration.

    Returns
    -------
    OptimizeResult

    Raises
    ------
    NonFiniteCostError
        If the cost or gradient becomes non-finite; it carries the last finite iterate.

    Warns
    -----
    ConvergenceWarning
        When the solver stops without converging (max_iter reached, or a scipy stop that is not
        convergence), carrying the solver's message.
    """
    check_hyperparameters(solver=solver, max_iter=max_iter, tol=tol, learning_rate=learning_rate)
    if solver == "adam":
        raise ValueError("solver 'adam' works on minibatches: use SparseAutoencoder(solver='adam')")
    theta0 = np.asarray(theta0)
    tracker = _Tracker(fun, theta0, callback)
    try:
        result = _minimize(tracker, theta0, solver, max_iter, tol, learning_rate, lbfgs_memory)
    except KeyboardInterrupt:
        raise FitInterrupted(tracker.theta.copy(), len(tracker.loss_curve), tracker.loss_curve) from None
    if not result.converged:
        warnings.warn(
            f"solver {solver!r} stopped after {result.n_iter} iterations without converging: "
            f"{result.message}",
            ConvergenceWarning,
            stacklevel=2,
        )
    return result


def _minimize(tracker, theta0, solver, max_iter, tol, learning_rate, lbfgs_memory):
    if solver == "gd":
        return gradient_descent(
            tracker, theta0, learning_rate=learning_rate, max_iter=max_iter, tol=tol
        )
    options = {"maxiter": max_iter, "gtol": tol}
    if solver == "lbfgs":
        options.update(maxcor=lbfgs_memory, maxfun=max(15000, 20 * max_iter))
    res = scipy_minimize(
        tracker.evaluate,
        theta0.astype(np.float64),
        jac=True,
        method="L-BFGS-B" if solver == "lbfgs" else "CG",
        options=options,
        callback=lambda intermediate_result: tracker.iteration_done(
            intermediate_result.x, intermediate_result.fun
        ),
    )
    message = res.message if isinstance(res.message, str) else str(res.message)
    return OptimizeResult(
        res.x.astype(theta0.dtype, copy=False),
        float(res.fun),
        int(res.nit),
        bool(res.success),
        message,
        tracker.loss_curve,
    )
