"""What a run watches after each iteration: held-out scores, early stopping, the user's
callback, and checkpoints."""

from types import SimpleNamespace

import numpy as np

from ..engine.vectors import host_copy, host_view


class Monitor:
    """Called by a driver after each iteration (epoch) as ``monitor(iteration, cost, theta)``;
    its True stops the run.

    It records the cost on held-out rows (``scores``; the best θ kept in ``best_theta``), asks to
    stop after ``patience`` iterations without a better score when ``early_stopping``, calls the
    user's ``callback(state)`` (whose True also stops the run) and, every ``checkpoint_every``
    iterations, ``checkpoint(n_iter, theta, monitor)``.

    ``state`` has ``n_iter``, ``loss``, ``validation_score`` (None without held-out rows) and
    ``theta`` (read-only; a host copy when the solver keeps θ on a device). ``n_done`` and
    ``loss_curve`` are the iterations of the fit before this run (a resumed or warm-started one):
    ``n_iter`` counts from the fit's start. The driver gives the monitor its ``state_dict``
    (:meth:`watch`) so that a checkpoint holds the optimizer's state of the same instant.
    """

    def __init__(self, held_out_objective=None, early_stopping=False, patience=10, callback=None, *,
                 n_done=0, loss_curve=(), checkpoint=None, checkpoint_every=None):
        self.objective, self.early_stopping, self.patience = held_out_objective, early_stopping, patience
        self.callback, self.checkpoint, self.checkpoint_every = callback, checkpoint, checkpoint_every
        self.n_done, self.loss_curve = n_done, list(loss_curve)
        self.scores, self.best_theta, self.best, self.since_best = [], None, np.inf, 0
        self.driver_state = dict

    def watch(self, state_dict):
        """``state_dict()``: the running driver's state, for checkpoints."""
        self.driver_state = state_dict

    def state_dict(self):
        """The held-out record (None without held-out rows): ``scores``, ``best``,
        ``since_best``, ``best_theta``."""
        if self.objective is None:
            return None
        return {"scores": list(self.scores), "best": self.best, "since_best": self.since_best,
                "best_theta": self.best_theta}

    def load_state_dict(self, state):
        """Continue from :meth:`state_dict`'s record (a checkpoint's)."""
        self.scores, self.best, self.since_best = list(state["scores"]), state["best"], state["since_best"]
        self.best_theta = state["best_theta"]

    @property
    def last_score(self):
        """The held-out cost of the latest iteration, or None."""
        return self.scores[-1] if self.scores else None

    @property
    def patience_spent(self):
        """Whether early stopping asks to stop now."""
        return self.early_stopping and self.since_best >= self.patience

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
        stop = self.patience_spent
        if self.callback is not None:
            host = host_view(theta)
            state = SimpleNamespace(n_iter=n_iter, loss=float(cost), validation_score=score, theta=host)
            stop = self.callback(state) is True or stop
        if self.checkpoint is not None and n_iter % self.checkpoint_every == 0:
            self.checkpoint(n_iter, theta, self)
        return stop
