"""How an estimator runs a full-batch solver on an objective, written once for every estimator:
a progress bar, BLAS held to one thread, and on a divergence or Ctrl-C the last good parameters
set on the estimator before the error goes on (with a warning saying so for Ctrl-C)."""

import warnings
from types import SimpleNamespace

import numpy as np

from .engine.parallel import single_threaded_blas
from .engine.vectors import host_copy
from .errors import FitInterrupted, NonFiniteCostError
from .optim import minimize
from .progress import Progress


def auto_lbfgs_memory(m, layout):
    """L-BFGS corrections for ``lbfgs_memory="auto"``: 100 (as UFLDL's minFunc), or fewer, at least
    10, so the history (2 θ-sized vectors a correction) is no larger than the data's activations."""
    return int(min(100, max(10, m * sum(layout.layer_sizes[1:]) // (2 * layout.size))))


def fit_full_batch(estimator, objective, theta0, *, solver, max_iter, tol, learning_rate, lbfgs_memory,
                   monitor=None, state=None):  # fmt: skip
    """``minimize`` ``objective`` from ``theta0``, then ``estimator._set_parameters(objective,
    theta, n_iter, loss_curve)``, also with the last good θ when the solver fails.
    ``monitor(iteration, cost, theta)`` after each iteration stops the solver by returning True;
    the solver's state (L-BFGS's history) is in ``monitor.solver_state`` for checkpoints, and a
    saved one comes back as ``state``."""
    with Progress(max_iter, enabled=estimator.verbose > 0) as progress, single_threaded_blas():

        def each_iteration(iteration, cost, theta):
            stop = monitor is not None and monitor(iteration, cost, theta)
            progress.update(iteration, cost, monitor.last_score if monitor is not None else None)
            return stop

        try:
            result = minimize(objective, theta0, solver=solver, max_iter=max_iter, tol=tol,
                              learning_rate=learning_rate, lbfgs_memory=lbfgs_memory,
                              callback=each_iteration, vectors=getattr(objective, "vectors", None),
                              state=state,
                              state_box=None if monitor is None else monitor.solver_state)  # fmt: skip
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


class Monitor:
    """What a fit watches after each iteration: the cost on held-out rows (``scores``; the best
    θ kept), early stopping after ``patience`` iterations without a better score, a user's
    ``callback(state)``, whose True also stops the fit, and checkpoints.

    ``state`` has ``n_iter``, ``loss``, ``validation_score`` (None without held-out rows) and
    ``theta`` (read-only; a host copy when the solver keeps θ on a device). ``n_done`` and
    ``loss_curve`` are the iterations of the fit before this solver run (a resumed or
    warm-started one): ``n_iter`` counts from its start.
    ``checkpoint(n_iter, theta, monitor)`` is called after every ``checkpoint_every``-th iteration.
    """

    def __init__(self, held_out_objective=None, early_stopping=False, patience=10, callback=None, *,
                 n_done=0, loss_curve=(), checkpoint=None, checkpoint_every=None):  # fmt: skip
        self.objective, self.early_stopping, self.patience = held_out_objective, early_stopping, patience
        self.callback, self.checkpoint, self.checkpoint_every = callback, checkpoint, checkpoint_every
        self.n_done, self.loss_curve = n_done, list(loss_curve)
        self.scores, self.best_theta, self.best, self.since_best = [], None, np.inf, 0
        self.solver_state = {}  # "lbfgs": a function returning L-BFGS's history, set by the solver

    def restore(self, validation):
        """Continue from a checkpoint's held-out record (:class:`sparseae.checkpoint.Checkpoint`)."""
        self.scores, self.best, self.since_best = list(validation["scores"]), validation["best"], \
            validation["since_best"]  # fmt: skip
        self.best_theta = validation["best_theta"]

    @property
    def last_score(self):
        """The held-out cost of the latest iteration, or None."""
        return self.scores[-1] if self.scores else None

    def __call__(self, iteration, cost, theta):
        n_iter = self.n_done + iteration
        self.loss_curve.append(float(cost))
        score = None
        if self.objective is not None:
            score = float(self.objective.terms(theta)["cost"])
            self.scores.append(score)
            if score < self.best:
                self.best, self.best_theta, self.since_best = score, host_copy(theta), 0
            else:
                self.since_best += 1
        stop = self.early_stopping and self.since_best >= self.patience
        if self.callback is not None:
            host = theta if isinstance(theta, np.ndarray) else host_copy(theta)
            state = SimpleNamespace(n_iter=n_iter, loss=float(cost), validation_score=score, theta=host)
            stop = self.callback(state) is True or stop
        if self.checkpoint is not None and n_iter % self.checkpoint_every == 0:
            self.checkpoint(n_iter, theta, self)
        return stop
