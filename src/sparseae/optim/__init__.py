"""Minimising J(θ): the notes' batch gradient descent, L-BFGS and conjugate gradient (§2.2,
§2.3), and Adam for minibatches. Each sees a function of θ and nothing else: the full-batch
solvers ``fun(theta) -> (cost, gradient)``, Adam one such function per minibatch.

To add a full-batch solver: a function ``solver(tracker, theta0, *, max_iter, tol, ...)`` in
:mod:`~sparseae.optim.full_batch` (or a module of its own) returning an :class:`OptimizeResult`,
and its name in :data:`SOLVERS`.
"""

import warnings
from functools import partial

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ..errors import FitInterrupted, ParameterError
from ..validation import check_parameters
from .full_batch import OptimizeResult, Tracker, gradient_descent, scipy_solver
from .lbfgs import lbfgs

#: Full-batch solvers by name: each ``solver(tracker, theta0, *, max_iter, tol, ...)``.
SOLVERS = {
    "lbfgs": lbfgs,
    "l-bfgs-b": partial(scipy_solver, method="L-BFGS-B"),
    "cg": partial(scipy_solver, method="CG"),
    "gd": gradient_descent,
}

__all__ = ["OptimizeResult", "SOLVERS", "minimize"]


def minimize(fun, theta0, *, solver="lbfgs", max_iter=400, tol=1e-5, learning_rate=0.1,
             lbfgs_memory=10, callback=None, vectors=None, state=None, state_box=None):  # fmt: skip
    """Minimise ``fun(theta) -> (cost, gradient)`` from ``theta0`` (not modified): an OptimizeResult.

    ``solver``: "lbfgs" (:mod:`sparseae.optim.lbfgs`: unconstrained, strong-Wolfe steps,
    ``lbfgs_memory`` corrections, its vectors in ``vectors``, where ``fun`` takes and returns
    them: the host's by default, a device's for a PyTorch objective), "l-bfgs-b" (SciPy's
    L-BFGS-B, unbounded, on the host: the reference), "cg" (SciPy's nonlinear conjugate
    gradient) or "gd" (the notes' batch gradient descent with step ``learning_rate``). Stops
    after ``max_iter`` iterations, or when the largest gradient component is at most ``tol``
    (L-BFGS also when an iteration barely reduces the cost). ``callback(iteration, cost)`` is
    called after each iteration (with θ, read-only, as a third argument when it takes three);
    returning True stops the solver there, without a warning. The result's ``n_evaluations``
    counts the calls of ``fun``. For "lbfgs", ``state`` continues a history saved at ``theta0``
    and ``state_box["lbfgs"]`` becomes a function returning the current one (checkpoints).

    Raises NonFiniteCostError (carrying the last finite iterate) if the cost or gradient becomes
    non-finite, and FitInterrupted (carrying the last completed iterate) on Ctrl-C. A stop that is
    not convergence is a ConvergenceWarning carrying the solver's message.
    """
    check_parameters(dict(solver=solver, max_iter=max_iter, tol=tol, learning_rate=learning_rate),
                     "minimize")  # fmt: skip
    if solver not in SOLVERS:
        raise ParameterError(
            f"solver {solver!r} works on minibatches: use SparseAutoencoder(solver={solver!r})"
        )
    options = dict(max_iter=max_iter, tol=tol)
    if solver == "gd":
        options["learning_rate"] = learning_rate
    if solver in ("lbfgs", "l-bfgs-b"):
        options["lbfgs_memory"] = lbfgs_memory
    if solver == "lbfgs":
        options.update(state=state, state_box=state_box)
    tracker = Tracker(fun, theta0, callback, vectors if solver == "lbfgs" else None)
    try:
        result = SOLVERS[solver](tracker, np.asarray(theta0), **options)
    except KeyboardInterrupt:
        raise FitInterrupted(tracker.last_theta(), len(tracker.loss_curve), tracker.loss_curve) from None
    result.n_evaluations = tracker.n_evaluations
    if not result.converged and not tracker.stopped:
        warnings.warn(
            f"solver {solver!r} stopped after {result.n_iter} iterations without converging: "
            f"{result.message}",
            ConvergenceWarning,
            stacklevel=2,
        )
    return result
