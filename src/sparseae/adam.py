"""The streaming solver: Adam on minibatches, for data that arrives in pieces or is too big
for many full passes.

Each epoch visits the data's minibatches in a random order (rows shuffled too, when the data is
in memory); each step is Adam's update (Kingma & Ba, 2015) on the minibatch gradient of
:meth:`SparseObjective.evaluate_batch`, whose sparsity term uses ρ̂ tracked as an exponential
moving average across minibatches. The state (moments, step count, ρ̂ average) persists
between calls, so ``partial_fit`` can feed one piece of data at a time.

One choice differs from textbook Adam: ``fit`` holds the step for the first half of
``max_iter`` epochs and then lowers it linearly to zero at the last epoch
(:func:`step_schedule`), so that the minibatch noise settles instead of keeping the iterate
hovering. On the notes' exercise (minibatches of 100, step 0.002) a constant step ended 10.6 %
above L-BFGS's cost after 800 epochs; with the decay, 5.2 % after 600 epochs, 2.6 % after 1500
and 1.2 % after 2500 (benchmarks/RESULTS.md). ``partial_fit`` has no last epoch and keeps the
step constant.
"""

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.utils import check_random_state

from ._data import as_row_source, batch_rows, chunk_rows, is_dask_array, training_source
from .network import Layout
from .progress import Progress


@dataclass
class AdamState:
    theta: np.ndarray
    m: np.ndarray = None
    v: np.ndarray = None
    t: int = 0
    rho_hat: np.ndarray = None

    def __post_init__(self):
        if self.m is None:
            self.m = np.zeros_like(self.theta)
            self.v = np.zeros_like(self.theta)


def step_schedule(learning_rate, epoch, epochs):
    """The step of ``fit``'s epoch ``epoch`` (0-based) of ``epochs``: held for the first half,
    then lowered linearly towards zero (2/epochs of it in the last epoch)."""
    return learning_rate * min(1.0, 2.0 * (1.0 - epoch / epochs))


def adam_epoch(objective, rows_source, state, rng, learning_rate, beta1=0.9, beta2=0.999,
               eps=1e-8, momentum=0.1, shuffle_rows=True):  # fmt: skip
    """One pass over ``rows_source`` (ArrayRows or NpyRows) in minibatches; returns the mean
    minibatch cost. ``state`` is updated in place."""
    m, batch = len(rows_source), objective.batch_size
    starts = np.arange(0, m, batch)
    rng.shuffle(starts)
    order = rng.permutation(m) if shuffle_rows and hasattr(rows_source, "X") else None
    rows_source.check_unchanged()
    costs = []
    for start in starts:
        if order is not None:
            rows = rows_source.X[np.sort(order[start : start + batch])]
        else:
            rows = rows_source.rows(start, start + batch)
        terms, grad, state.rho_hat = objective.evaluate_batch(
            state.theta, rows, state.rho_hat, momentum
        )
        if not np.isfinite(terms["cost"]) or not np.isfinite(grad).all():
            raise FloatingPointError("the minibatch cost became non-finite; lower learning_rate")
        state.t += 1
        state.m *= beta1
        state.m += (1 - beta1) * grad
        state.v *= beta2
        state.v += (1 - beta2) * grad * grad
        step = learning_rate * np.sqrt(1 - beta2**state.t) / (1 - beta1**state.t)
        state.theta -= step * state.m / (np.sqrt(state.v) + eps)
        costs.append(terms["cost"])
    return float(np.mean(costs))


class StreamingMixin:
    """``partial_fit`` and ``solver="adam"`` for :class:`SparseAutoencoder`.

    Uses the estimator's ``_objective``, ``_learning_rate``, ``_set_parameters`` and
    hyperparameters; keeps Adam's state in ``_adam_state`` and ``_adam_rng`` between calls.
    """

    def partial_fit(self, X, y=None):
        """One epoch of the streaming solver (Adam) over X; call again with more data.

        The first call initialises the weights from ``random_state``; later calls continue
        from where the last one stopped (Adam's moments and the ρ̂ average included). Works
        whatever ``solver`` says. X as for :meth:`fit` (not a Dask array).
        """
        first = not hasattr(self, "_adam_state")
        if first:
            self._check_params()
        source, m, n = training_source(self, X, reset=first, dtype=np.dtype(self.dtype))
        if first:
            self._start_stream(Layout([n, self.n_hidden, n]).initial_theta(self.random_state))
        return self._adam_epochs(source, m, n, 1, decay=False)

    def _start_stream(self, theta0):
        self._adam_state = AdamState(theta0.copy())
        self._adam_rng = check_random_state(self.random_state)
        self.loss_curve_, self.n_iter_ = [], 0

    def _fit_adam(self, source, m, n, theta0, epochs):
        if is_dask_array(source):
            raise ValueError("solver='adam' does not take a Dask array; use a full-batch solver")
        self._start_stream(theta0)
        return self._adam_epochs(source, m, n, epochs, decay=True)

    def _adam_epochs(self, source, m, n, epochs, decay):
        objective = self._objective(source, m, n, batch_rows(self, m, n, minibatch=True))
        rows = as_row_source(source)
        state, curve, done = self._adam_state, list(self.loss_curve_), self.n_iter_
        rate = self._learning_rate()
        with Progress(epochs, enabled=self.verbose > 0, description="epochs") as progress:
            try:
                for epoch in range(epochs):
                    step = step_schedule(rate, epoch, epochs) if decay else rate
                    curve.append(adam_epoch(objective, rows, state, self._adam_rng, step))
                    progress.update(epoch + 1, curve[-1])
            except KeyboardInterrupt:
                self._set_parameters(
                    self._full_objective(source, m, n), state.theta.copy(),
                    done + len(curve) - len(self.loss_curve_), curve,
                )  # fmt: skip
                warnings.warn(
                    "fit interrupted; the estimator keeps the parameters of the last completed "
                    "minibatch", UserWarning, stacklevel=2,
                )  # fmt: skip
                raise
        full = self._full_objective(source, m, n)
        self._set_parameters(full, state.theta.copy(), done + epochs, curve)
        return self

    def _full_objective(self, source, m, n):
        """The exact J_sparse on the data, for loss_ (two passes if the data is out of core)."""
        in_memory = isinstance(source, np.ndarray)
        return self._objective(source, m, n, None if in_memory else chunk_rows(m, n, self.n_hidden))

