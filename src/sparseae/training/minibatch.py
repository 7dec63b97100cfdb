"""The minibatch driver: a minibatch solver (Adam) over epochs, for ``fit`` (with the schedules
of ``sparseae.training.schedules``), ``partial_fit`` (one epoch a call, constant step) and ``fit_stream`` (one
epoch a chunk, the schedules spread over the chunks).

Its state between runs is θ, the optimizer's state, the random generator that orders the
minibatches, and ρ̂'s moving average (``SparseObjective.evaluate_batch``);
:meth:`Minibatch.state_dict` hands all of it to a checkpoint, so a resumed fit is the
uninterrupted one bit for bit.
"""

import numpy as np

from .._data import minibatches
from ..engine.parallel import single_threaded_blas
from ..errors import ModelFileError, NonFiniteCostError
from ..progress import Progress
from .checkpoints import carried, restore
from .result import FitResult
from .schedules import step_schedule, target_schedule

#: Resampling stops after this fraction of a scheduled fit's epochs, so the last ones settle.
RESAMPLE_UNTIL = 0.9


def run_epoch(functions, theta, optimizer, learning_rate):
    """One step of ``optimizer`` per function ``fun(theta) -> (cost, grad)`` in ``functions``;
    θ updated in place. Returns the mean minibatch cost. Raises NonFiniteCostError (with θ as it
    was before the bad minibatch) when a cost or gradient is not finite."""
    costs = []
    for fun in functions:
        cost, grad = fun(theta)
        squares = sum_of_squares(grad)
        if not (np.isfinite(cost) and np.isfinite(squares)):
            raise NonFiniteCostError("the minibatch cost or gradient became non-finite (diverging: lower "
                                     "learning_rate); the parameters before that minibatch are kept", theta.copy(), 0)
        optimizer.step(theta, grad, learning_rate, squares=squares)
        costs.append(cost)
    optimizer.flush_subnormal(theta)
    return float(np.mean(costs))


def sum_of_squares(values):
    """Σ v² of a float vector in one pass in BLAS (in its dtype), without overflow warnings: not
    finite when a value is ±inf or NaN, or the vector's norm exceeds about 1.3e154 in float64
    (1.8e19 in float32: a fit that diverges, whose clipping could not scale it either). One read
    gives run_epoch its check and Adam's clipping its norm, where ``np.isfinite(g).all()`` wrote a
    boolean array and the clipping read g again."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.dot(values, values)


class Minibatch:
    """A minibatch solver's run state: θ (on the host, in ``settings.optimizer_dtype``, updated in
    place), the optimizer (``settings.solver.run(size, beta_1, ...)``, its state in that dtype), the
    generator ``rng`` and ρ̂'s moving average."""

    def __init__(self, settings, theta0, rng, state=None):
        self.settings = settings
        dtype = np.dtype(settings.optimizer_dtype)
        self.theta = np.array(theta0, dtype=dtype)
        self.optimizer = settings.solver.run(self.theta.size, settings.beta_1, values=settings.values,
                                               max_grad_norm=settings.max_grad_norm, dtype=dtype)
        self.rng, self.rho_hat = rng, None
        self._objective, self._carried = None, {}
        if state:
            self.load_state_dict(state)

    def state_dict(self):
        """The optimizer's state, the generator's, ρ̂'s average and what the objective carries
        between minibatches (``training.checkpoints.carried``), by name."""
        _, keys, pos, has_gauss, gauss = self.rng.get_state()
        state = {**self.optimizer.state_dict(), "rng_keys": keys, "rng_pos": int(pos),
                 "rng_has_gauss": int(has_gauss), "rng_gauss": float(gauss), **carried(self._objective)}
        if self.rho_hat is not None:
            state["rho_hat"] = np.asarray(self.rho_hat, dtype=np.float64)
        return state

    def load_state_dict(self, state):
        try:
            self.optimizer.load_state_dict(state)
            rng = np.random.RandomState()
            rng.set_state(("MT19937", np.asarray(state["rng_keys"], dtype=np.uint32), int(state["rng_pos"]),
                           int(state["rng_has_gauss"]), float(state["rng_gauss"])))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"the saved minibatch state is incomplete or damaged: {exc!r}") from None
        self.rng, self.rho_hat = rng, state.get("rho_hat")
        self._carried = state

    def run(self, objective, data, epochs, monitor=None, *, first=0, total=None, schedule=True,
            resampler=None):
        """``epochs`` epochs over ``data`` (``(rows, targets)``: an array or row source, and the
        targets or None) on ``objective`` (made with chunks of a minibatch): a FitResult.

        ``schedule``: ``fit``'s step and target schedules, on which these are epochs ``first``,
        ``first + 1``, ... of ``total`` (default ``first + epochs``); else a constant step.
        """
        s = self.settings
        # the objective goes on from the last run's (partial_fit's previous call) or a checkpoint's
        restore(objective, self._carried if self._objective is None else carried(self._objective))
        self._objective = objective
        total = first + epochs if total is None else total
        rows, targets = data
        rho = objective.rho
        uses_target = objective.penalty.uses_target and objective.sparse_layer is not None
        curve, resampled = [], 0
        if monitor is not None:
            monitor.watch(self.state_dict)

        def minibatch(batch):
            x, y = batch

            def fun(theta):
                terms, grad, self.rho_hat = objective.evaluate_batch(theta, x, self.rho_hat, y=y)
                return terms["cost"], grad

            return fun

        with Progress(first + epochs, enabled=s.verbose, description=s.description, initial=first) as progress, \
                single_threaded_blas():
            try:
                for epoch in range(epochs):
                    step = step_schedule(s.learning_rate, first + epoch, total) if schedule else s.learning_rate
                    if schedule and uses_target:
                        objective.rho = target_schedule(rho, first + epoch, total)
                    functions = map(minibatch, minibatches(rows, s.batch_size, self.rng, targets))
                    curve.append(run_epoch(functions, self.theta, self.optimizer, step))
                    done = first + epoch + 1
                    window_ends = s.resample_every and done % s.resample_every == 0
                    if resampler is not None and window_ends and (not schedule or done <= RESAMPLE_UNTIL * total):
                        resampled += self._resample(resampler, objective)
                    stop = monitor is not None and monitor(len(curve), curve[-1], self.theta)
                    progress.update(done, curve[-1], monitor.last_score if monitor is not None else None)
                    if stop:
                        return self._result(self.theta.copy(), curve, "stopped", resampled)
            except KeyboardInterrupt:
                return self._result(self.theta.copy(), curve, "interrupted", resampled)
            except NonFiniteCostError as exc:
                message = f"{exc} (after {first + len(curve)} epochs)"
                return self._result(exc.theta, curve, "diverged", resampled, message)
            finally:
                objective.rho = rho
        return self._result(self.theta.copy(), curve, "max_iter", resampled)

    def _result(self, theta, curve, stopped, resampled, message=""):
        state = {k: np.copy(v) if hasattr(v, "shape") else v for k, v in self.state_dict().items()}
        return FitResult(theta, len(curve), curve, stopped, message, state, resampled)

    def _resample(self, resampler, objective):
        """The dead units (on all the rows) resampled, their first moments reset (the second
        ones kept: measured, a reset v gives the new units steps large enough to kill them again)."""
        dead = resampler.dead(self.theta)
        if not dead.size:
            return 0
        count, changed = resampler.resample(self.theta, dead, self.rng, objective.effective_theta(self.theta))
        self.optimizer.reset_first_moment(changed)
        return count
