"""How an estimator runs a full-batch solver on an objective, written once for every estimator:
a progress bar, BLAS held to one thread, and on a divergence or Ctrl-C the last good parameters
set on the estimator before the error goes on (with a warning saying so for Ctrl-C)."""

import warnings

from .engine.parallel import single_threaded_blas
from .errors import FitInterrupted, NonFiniteCostError
from .optim import minimize
from .progress import Progress


def auto_lbfgs_memory(m, layout):
    """L-BFGS corrections for ``lbfgs_memory="auto"``: 100 (as UFLDL's minFunc), or fewer, at least
    10, so the history (2 θ-sized vectors a correction) is no larger than the data's activations."""
    return int(min(100, max(10, m * sum(layout.layer_sizes[1:]) // (2 * layout.size))))


def fit_full_batch(estimator, objective, theta0, *, solver, max_iter, tol, learning_rate, lbfgs_memory):
    """``minimize`` ``objective`` from ``theta0``, then ``estimator._set_parameters(objective,
    theta, n_iter, loss_curve)``, also with the last good θ when the solver fails."""
    with Progress(max_iter, enabled=estimator.verbose > 0) as progress, single_threaded_blas():
        try:
            result = minimize(objective, theta0, solver=solver, max_iter=max_iter, tol=tol,
                              learning_rate=learning_rate, lbfgs_memory=lbfgs_memory,
                              callback=progress.update)  # fmt: skip
        except NonFiniteCostError as exc:
            estimator._set_parameters(objective, exc.theta, exc.n_iter, [])
            raise
        except FitInterrupted as exc:
            estimator._set_parameters(objective, exc.theta, exc.n_iter, exc.loss_curve)
            warn_interrupted(exc.n_iter)
            raise
    estimator._set_parameters(objective, result.theta, result.n_iter, result.loss_curve)
    return estimator


def warn_interrupted(n_iter, unit="iteration"):
    warnings.warn(f"fit interrupted after {n_iter} iterations; the estimator keeps the parameters of "
                  f"the last completed {unit}", UserWarning, stacklevel=4)  # fmt: skip
