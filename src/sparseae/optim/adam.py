r"""Adam (Kingma & Ba, 2015), the streaming solver's optimizer: it sees θ and a gradient.

:func:`run_epoch` takes one function ``fun(theta) -> (cost, grad)`` per minibatch and steps θ
in place after each; what a minibatch is, and how ρ̂ is estimated on it, is the caller's
business (:meth:`sparseae.objective.SparseObjective.evaluate_batch`). Unlike textbook Adam, a
fit holds the step for half its epochs, then lowers it linearly to zero (:func:`step_schedule`),
so the minibatch noise settles, and it lowers the KL penalty's target gradually over the first
30 % (:func:`target_schedule`), so the units do not all turn off at once; and with the KL penalty
the estimator's β₁ is 0.3 rather than 0.9 (all measured in benchmarks/RESULTS.md).
"""

import numpy as np

from ..errors import NonFiniteCostError


class Adam:
    r"""Adam's moments and step count for a flat θ of ``size`` values.

    .. math:: m \leftarrow \beta_1 m + (1 - \beta_1) g, \quad
              v \leftarrow \beta_2 v + (1 - \beta_2) g^2, \quad
              \theta \leftarrow \theta - \alpha \frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t}
              \frac{m}{\sqrt{v} + \epsilon}
    """

    def __init__(self, size, beta1=0.9, beta2=0.999, eps=1e-8):
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m = np.zeros(size)
        self.v = np.zeros(size)
        self.t = 0
        self._step, self._scaled = np.empty(size), np.empty(size)  # scratch: the step, in place

    def flush_subnormal(self, theta, below=1e-200):
        """Set to 0 the values of θ and of the moments that are decaying towards 0 (a dead unit's
        weights, which only weight decay moves) before they become subnormal numbers, on which
        every matrix product runs many times slower (measured: a fit with dead ReLU units took
        86 s instead of 14 s, 70 % of it in products with subnormal weights)."""
        for values in (theta, self.m, self.v):
            values[np.abs(values) < below] = 0.0

    def step(self, theta, grad, learning_rate):
        """θ ← θ - step, in place."""
        self.t += 1
        step = self._step
        self.m *= self.beta1
        np.multiply(grad, 1 - self.beta1, out=step)
        self.m += step
        self.v *= self.beta2
        np.multiply(grad, 1 - self.beta2, out=step)
        step *= grad
        self.v += step
        alpha = learning_rate * np.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t)
        np.sqrt(self.v, out=step)
        step += self.eps
        np.multiply(self.m, alpha, out=self._scaled)
        np.divide(self._scaled, step, out=step)
        theta -= step


def step_schedule(learning_rate, epoch, epochs):
    """The step of epoch ``epoch`` (0-based) of ``epochs``: held for the first half, then lowered
    linearly towards zero (2/epochs of it in the last epoch)."""
    return learning_rate * min(1.0, 2.0 * (1.0 - epoch / epochs))


def target_schedule(rho, epoch, epochs, start=0.5, warmup=0.3):
    """The KL penalty's target ρ in epoch ``epoch`` (0-based) of ``epochs``: from ``start``
    geometrically down to ``rho`` over the first ``warmup`` of the epochs, then ``rho``.

    At the initial weights every ρ̂ is about 0.5. With the target at ρ = 0.01 from the start,
    the penalty's gradient swamps the reconstruction's and turns every unit off within an epoch;
    minibatch gradients then take hundreds of epochs to leave that plateau (J ≈ 0.477 on the
    notes' exercise). Lowering the target gradually lets the units learn features while they
    become sparse (benchmarks/RESULTS.md, "The streaming solver").
    """
    if rho >= start:
        return rho
    fraction = min(1.0, epoch / max(1.0, warmup * epochs))
    return float(start * (rho / start) ** fraction)


def run_epoch(functions, theta, optimizer, learning_rate):
    """One step of ``optimizer`` per function in ``functions``; θ updated in place.

    Returns the mean minibatch cost. Raises :class:`~sparseae.errors.NonFiniteCostError`
    (with θ as it was before the bad minibatch) when a cost or gradient is not finite.
    """
    costs = []
    for fun in functions:
        cost, grad = fun(theta)
        if not np.isfinite(cost) or not np.isfinite(grad).all():
            raise NonFiniteCostError(
                "the minibatch cost became non-finite (diverging: lower learning_rate); the "
                "parameters before that minibatch are kept", theta.copy(), 0,
            )  # fmt: skip
        optimizer.step(theta, grad, learning_rate)
        costs.append(cost)
    optimizer.flush_subnormal(theta)
    return float(np.mean(costs))
