"""The full-batch driver: gd, lbfgs, l-bfgs-b or cg (:data:`sparseae.solvers.SOLVERS`) on the
exact J(θ), with dead units resampled between windows of iterations."""

import warnings

from sklearn.exceptions import ConvergenceWarning

from ..engine.parallel import single_threaded_blas
from ..errors import FitInterrupted, NonFiniteCostError
from ..optim import minimize
from ..progress import Progress
from .checkpoints import carried, restore
from .result import FitResult


class FullBatch:
    """Runs a full-batch solver; ``state`` (a state dict a checkpoint saved at θ0) continues
    the solver's history, for the solvers that have one (L-BFGS)."""

    def __init__(self, settings, state=None):
        self.settings, self._state, self._box = settings, state or None, {}
        self._objective = None

    def state_dict(self):
        """The solver's state now: L-BFGS's history (host arrays), or nothing; and what the
        objective carries between evaluations (``training.checkpoints.carried``)."""
        history = self._box.get("lbfgs")
        return {**(history() if history is not None else {}), **carried(self._objective)}

    def run(self, objective, theta0, monitor, resampler=None):
        """Minimise ``objective`` from ``theta0`` for ``settings.max_iter`` iterations: a FitResult.

        With a ``resampler`` (:class:`~sparseae.training.resampling.Resampler`), in windows of
        ``settings.resample_every`` iterations, the solver's history restarting after each."""
        s, self._monitor = self.settings, monitor
        self._state, self._objective = restore(objective, self._state) or None, objective
        monitor.watch(self.state_dict)
        start = self._start = monitor.n_done  # a resumed fit's iterations count toward max_iter
        with Progress(start + s.max_iter, enabled=s.verbose, description=s.description, initial=start) as progress, \
                single_threaded_blas():
            def each_iteration(iteration, cost, theta):
                stop = monitor(iteration, cost, theta)
                progress.update(monitor.n_done + iteration, cost, monitor.last_score)
                return stop

            if resampler is None or not s.resample_every:
                return self._solve(objective, theta0, s.max_iter, each_iteration, self._state)
            return self._windows(objective, theta0, monitor, resampler, each_iteration)

    def _solve(self, objective, theta0, max_iter, callback, state=None):
        s = self.settings
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                result = minimize(objective, theta0, solver=s.solver.name, max_iter=max_iter, tol=s.tol,
                                  learning_rate=s.learning_rate, lbfgs_memory=s.lbfgs_memory, callback=callback,
                                  vectors=objective.vectors, state=state, state_box=self._box)
            for w in caught:
                self._rewarn(w, result)
        except NonFiniteCostError as exc:
            curve = self._monitor.loss_curve[len(self._monitor.loss_curve) - exc.n_iter:] if exc.n_iter else []
            return FitResult(exc.theta, exc.n_iter, curve, "diverged", str(exc))
        except FitInterrupted as exc:
            return FitResult(exc.theta, exc.n_iter, list(exc.loss_curve), "interrupted")
        stopped = "converged" if result.converged else "max_iter" if result.n_iter >= max_iter else "stopped"
        if not result.converged and result.message.startswith("the line search failed"):
            stopped = "failed"
        return FitResult(result.theta, result.n_iter, list(result.loss_curve), stopped, result.message,
                         self.state_dict())

    def _rewarn(self, w, result):
        """A warning of minimize, again; its ConvergenceWarning counting the iterations before
        this run too (a resumed fit asked for max_iter in all)."""
        message = str(w.message)
        if issubclass(w.category, ConvergenceWarning) and self._start and self.settings.resample_every == 0:
            done, asked = self._start + result.n_iter, self._start + self.settings.max_iter
            message = (message.replace(f"after {result.n_iter} iterations", f"after {done} iterations")
                       .replace(f"max_iter = {self.settings.max_iter}", f"max_iter = {asked}"))
        warnings.warn_explicit(message, w.category, w.filename, w.lineno)

    def _windows(self, objective, theta, monitor, resampler, callback):
        """``resample_every`` iterations at a time, dead units resampled between windows."""
        s, curve, done, start, unconverged, n_resampled = self.settings, [], 0, monitor.n_done, None, 0
        result = None
        while done < s.max_iter:
            window = min(s.resample_every, s.max_iter - done)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                result = self._solve(objective, theta, window, callback)
            unconverged = None  # only the last window's says how the fit ended
            for w in caught:
                if issubclass(w.category, ConvergenceWarning):
                    unconverged = w.message
                else:
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            curve += result.loss_curve
            done += result.n_iter
            monitor.n_done = start + done
            if result.stopped in ("diverged", "interrupted"):
                break
            # the next window goes on from the network (θ's decoder scale dropped), in θ's coordinates
            network = objective.effective_theta(result.theta)
            theta = objective.parameters_of(network)
            dead = resampler.dead(theta)
            if result.n_iter == 0 or (result.n_iter < window and (dead.size == 0 or monitor.patience_spent)):
                break  # no progress (a failed line search), or converged with every unit alive, or stopped
            if dead.size and done < s.max_iter:
                n_resampled += resampler.resample(theta, dead, network_theta=network)[0]
        monitor.n_done = start
        if unconverged is not None:  # counted in its window: say the whole fit's iterations too
            warnings.warn(f"{unconverged} (in its last window of resample_dead={s.resample_every}; "
                          f"{done} iterations in all)", ConvergenceWarning, stacklevel=4)
        stopped = result.stopped
        theta = result.theta if stopped in ("diverged", "interrupted") else theta
        return FitResult(theta, done, curve, stopped, result.message, self.state_dict(), n_resampled)
