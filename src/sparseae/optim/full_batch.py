"""The full-batch solvers (notes §2.2, §2.3): the notes' batch gradient descent, and L-BFGS and
nonlinear conjugate gradient from :func:`scipy.optimize.minimize`, behind one tracker that
rejects non-finite values and records each completed iteration."""

import inspect
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize as scipy_minimize

from ..engine.vectors import HostVectors
from ..errors import NonFiniteCostError


@dataclass
class OptimizeResult:
    """What a solver returns: the final θ, its cost, and how it got there.

    Parameters
    ----------
    theta : ndarray
        The final θ.
    cost : float
        J at ``theta``.
    n_iter : int
        The iterations completed.
    converged : bool
        Whether the solver met its tolerance (False when it stopped at ``max_iter`` or was
        stopped by a callback).
    message : str
        The solver's own word on why it stopped.
    loss_curve : list of float
        The cost after each iteration.

    Raises
    ------
    TypeError
        If a field is missing (it is a dataclass).

    Examples
    --------
    >>> import numpy as np
    >>> import sparseae
    >>> result = sparseae.minimize(lambda x: (float(x @ x), 2 * x), np.ones(3))
    >>> type(result).__name__, result.converged, float(result.cost) < 1e-10
    ('OptimizeResult', True, True)
    """

    theta: np.ndarray
    cost: float
    n_iter: int
    converged: bool
    message: str
    loss_curve: list = field(default_factory=list)


class Tracker:
    """Wraps ``fun`` to reject non-finite values and records each completed iteration.

    ``vectors`` (:mod:`sparseae.engine.vectors`) is where θ and the gradient live: the host by
    default; a device's for a solver that keeps them there (``fun`` then takes and returns
    tensors). ``n_evaluations`` counts the calls of ``fun``.
    """

    def __init__(self, fun, theta0, callback, vectors=None):
        self.fun = fun
        self.callback = callback
        self.vectors = HostVectors() if vectors is None else vectors
        self._with_theta = callback is not None and len(inspect.signature(callback).parameters) >= 3
        self.theta = self.vectors.from_host(theta0)  # last completed iterate
        self.loss_curve = []
        self.n_evaluations = 0
        self.stopped = False  # by the callback

    def last_theta(self):
        """The last completed iterate, as a new host float64 array."""
        return self.vectors.to_host(self.theta)

    def evaluate(self, theta):
        self.n_evaluations += 1
        with np.errstate(over="ignore", invalid="ignore"):  # reported below, in one message
            cost, grad = self.fun(theta)
        if not np.isfinite(cost) or not self.vectors.all_finite(grad):
            what = "cost" if not np.isfinite(cost) else "gradient"
            raise NonFiniteCostError(
                f"the {what} became non-finite after {len(self.loss_curve)} iterations "
                f"(diverging: lower the learning rate, or check the data's scale)",
                self.last_theta(),
                len(self.loss_curve),
            )
        return cost, grad

    def iteration_done(self, theta, cost, *, held=False):
        """Record a completed iterate; a callback that returns True stops the solver there.

        ``held``: the solver leaves ``theta`` as it is until its next call here (L-BFGS's iterate,
        whose line search writes another vector), so it is kept by reference, not copied."""
        if held:
            self.theta = theta
        else:
            self.vectors.copy_into(self.theta, theta)
        self.loss_curve.append(float(cost))
        if self.callback is not None:
            extra = (self.theta,) if self._with_theta else ()
            if self.callback(len(self.loss_curve), float(cost), *extra) is True:
                self.stopped = True
                raise StopIteration  # SciPy's solvers end on it; gradient_descent too


def gradient_descent(tracker, theta0, *, learning_rate=0.1, max_iter=400, tol=1e-5):
    r"""Batch gradient descent until max |∇J| ≤ tol or max_iter steps.

    .. math:: \theta := \theta - \alpha \nabla_\theta J(\theta)
    """
    theta = np.array(theta0, dtype=np.float64)
    cost, grad = tracker.evaluate(theta)
    converged = np.abs(grad).max() <= tol
    n_iter = 0
    while not converged and n_iter < max_iter:
        theta -= learning_rate * grad
        cost, grad = tracker.evaluate(theta)
        n_iter += 1
        try:
            tracker.iteration_done(theta, cost)
        except StopIteration:
            break
        converged = np.abs(grad).max() <= tol
    message = f"max |gradient| <= tol = {tol:g}" if converged else f"reached max_iter = {max_iter}"
    return OptimizeResult(theta, float(cost), n_iter, bool(converged), message, tracker.loss_curve)


def scipy_lbfgs_b(tracker, theta0, *, max_iter, tol, lbfgs_memory=10):
    """SciPy's L-BFGS-B, unbounded, with ``lbfgs_memory`` corrections, on the tracked function."""
    return _scipy(tracker, theta0, "L-BFGS-B", max_iter, tol, lbfgs_memory)


def conjugate_gradient(tracker, theta0, *, max_iter, tol):
    """SciPy's nonlinear conjugate gradient on the tracked function."""
    return _scipy(tracker, theta0, "CG", max_iter, tol)


def _scipy(tracker, theta0, method, max_iter, tol, lbfgs_memory=10):
    options = {"maxiter": max_iter, "gtol": tol}
    if method == "L-BFGS-B":
        options.update(maxcor=lbfgs_memory, maxfun=max(15000, 20 * max_iter))
    res = scipy_minimize(
        tracker.evaluate,
        np.asarray(theta0, dtype=np.float64),
        jac=True,
        method=method,
        options=options,
        callback=lambda intermediate_result: tracker.iteration_done(
            intermediate_result.x, intermediate_result.fun
        ),
    )
    message = res.message if isinstance(res.message, str) else str(res.message)
    return OptimizeResult(res.x, float(res.fun), int(res.nit), bool(res.success), message,
                          tracker.loss_curve)
