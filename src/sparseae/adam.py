"""The streaming solver: Adam on minibatches, for data that arrives in pieces or is too big
for many full passes.

Each epoch visits the data's minibatches in a random order (rows shuffled too, when the data is
in memory); each step is Adam's update (Kingma & Ba, 2015) on the minibatch gradient of
:meth:`SparseObjective.evaluate_batch`, whose sparsity term uses ρ̂ tracked as an exponential
moving average across minibatches. The state (moments, step count, ρ̂ average) persists
between calls, so ``partial_fit`` can feed one piece of data at a time.
"""

from dataclasses import dataclass

import numpy as np


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
