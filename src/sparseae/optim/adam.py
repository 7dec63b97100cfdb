r"""Adam (Kingma & Ba, 2015), the streaming solver's optimizer: it sees θ and a gradient.

What a minibatch is, how ρ̂ is estimated on it and how the step changes over a fit is the
training layer's (:mod:`sparseae.training.minibatch`, ``sparseae.training.schedules``).
"""

import numpy as np

from ..engine import fused, parallel
from ..errors import ModelFileError

#: Values of θ and the moments below which :meth:`Adam.flush_subnormal` sets them to 0, per
#: dtype: far above the smallest normal number (2.2e-308 in float64, 1.2e-38 in float32).
FLUSH_BELOW = {np.dtype(np.float64): 1e-200, np.dtype(np.float32): 1e-30}
#: The smallest value a parameter stepped in its value (:class:`Adam`'s ``values``) is kept at:
#: SAELens clamps its JumpReLU thresholds at 0, whose log θ would be -inf.
VALUE_FLOOR = 1e-8
#: θ's values stepped a piece at a time, so that a piece's passes run in cache, and the pieces
#: over the cores: the same operations on every value as one pass each over all of θ, so the
#: same bits (each operation is correctly rounded), in fewer passes over memory.
PIECE = 1 << 15
#: With the extension's one-pass step, θ is split over the cores only from 4 x this many values a
#: core (about 8 million on two cores), where waking them costs nothing next to the pass.
SPLIT_FUSED = 1 << 20


class Adam:
    r"""Adam's moments and step count for a flat θ of ``size`` values.

    .. math:: m \leftarrow \beta_1 m + (1 - \beta_1) g, \quad
              v \leftarrow \beta_2 v + (1 - \beta_2) g^2, \quad
              \theta \leftarrow \theta - \alpha \frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t}
              \frac{m}{\sqrt{v} + \epsilon}

    ``values``: ``(start, end)`` of θ's entries that hold the logarithms of positive parameters
    (JumpReLU's log θ_j) to be stepped in the parameters themselves: Adam's step moves a
    parameter by about α whatever its scale, so a threshold stepped in its log moves by a factor
    e^α a step at most and, from a small start, barely moves (SAELens's issue #494). For these
    entries the moments are those of ∂J/∂θ_j = (∂J/∂log θ_j) / θ_j, θ_j takes the step, and
    its log is stored back (θ_j kept ≥ :data:`VALUE_FLOOR`, as SAELens keeps its thresholds ≥ 0).

    ``max_grad_norm``: the gradient (in the values stepped) is scaled down to this Euclidean norm
    where it is longer, before it enters the moments (None: never). A long gradient at the start
    of a fit otherwise stays in v for about 1/(1 - β₂) steps and shrinks every later step of the
    parameters it touched: measured on a transformer's activations, JumpReLU then ends at L0 2
    where the clipped run reaches L0 320 from the same start (benchmarks/RESULTS.md, "Adam's
    gradient clipped").

    ``dtype``: the moments' (θ's and the gradient's, given to :meth:`step`, are the caller's: the
    same for the extension's one-pass step). In float32 every step is float32 arithmetic, each
    scalar rounded to float32 first, as PyTorch's Adam steps a float32 model.
    """

    def __init__(self, size, beta1=0.9, beta2=0.999, eps=1e-8, values=None, max_grad_norm=None, dtype=np.float64):
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.max_grad_norm = max_grad_norm
        self.values = None if values is None else slice(*values)
        self.m = np.zeros(size, dtype=dtype)
        self.v = np.zeros(size, dtype=dtype)
        self.t = 0
        self._step, self._scaled = np.empty(size, dtype=dtype), np.empty(size, dtype=dtype)  # scratch: the step

    def state_dict(self):
        """The moments and the step count (the arrays themselves, not copies)."""
        return {"m": self.m, "v": self.v, "t": self.t}

    def load_state_dict(self, state):
        """Continue from :meth:`state_dict`'s values (a checkpoint's)."""
        # (a checkpoint's optimizer_dtype is checked with its other parameters: this dtype's)
        m, v = np.asarray(state["m"], dtype=self.m.dtype), np.asarray(state["v"], dtype=self.v.dtype)
        if m.shape != self.m.shape or v.shape != self.v.shape:
            raise ModelFileError(f"the saved Adam moments hold {m.size} and {v.size} values, not {self.m.size}")
        self.m[...], self.v[...], self.t = m, v, int(state["t"])

    def reset_first_moment(self, mask):
        """m = 0 where ``mask`` (θ's entries given a new start)."""
        self.m[mask] = 0.0

    def flush_subnormal(self, theta):
        """Set to 0 the values of θ and of the moments that are decaying towards 0 (a dead unit's
        weights, which only weight decay moves) before they become subnormal numbers, on which
        every matrix product runs many times slower (measured in benchmarks/RESULTS.md, "Dead
        units"): below :data:`FLUSH_BELOW` of their dtype."""
        for values in (theta, self.m, self.v):
            values[np.abs(values) < FLUSH_BELOW[values.dtype]] = 0.0

    def step(self, theta, grad, learning_rate, squares=None):
        """θ ← θ - step, in place (``grad`` is left as it was). ``squares``: Σ g² over ``grad``
        where the caller has it (:func:`~sparseae.training.minibatch.run_epoch`'s finiteness
        check), so the clipping does not read the gradient again."""
        segments = [(0, theta.size, grad, 0)]  # (start, stop, their gradient, its first entry's index)
        if self.values is not None:  # the values' own gradient, apart: no θ-sized copy of g
            logs, (start, stop) = theta[self.values], (self.values.start, self.values.stop)
            value = np.exp(logs)
            in_values = grad[self.values] / value
            logs[...] = value
            segments = [(0, start, grad, 0), (start, stop, in_values, start), (stop, theta.size, grad, 0)]
        scale = 1.0  # the clipping, folded into the moments' updates (no θ-sized copy of g)
        if self.max_grad_norm is not None:
            if squares is None or self.values is not None:
                squares = sum(np.dot(g[a - at:b - at], g[a - at:b - at]) for a, b, g, at in segments)
            norm = float(np.sqrt(squares))
            if norm > self.max_grad_norm:
                scale = self.max_grad_norm / norm
        self.t += 1
        # (a Python float: in float32 it is rounded to float32 as the other scalars are)
        alpha = float(learning_rate * np.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t))
        c1, c2 = (1 - self.beta1) * scale, (1 - self.beta2) * scale * scale

        def run(_, lo, hi):
            for a, b, g, at in segments:
                a, b = max(a, lo), min(b, hi)
                if a < b:
                    self._step_range(theta[a:b], g[a - at:b - at], alpha, c1, c2, self.m[a:b], self.v[a:b],
                                     self._step[a:b], self._scaled[a:b])

        size, cores = theta.size, parallel.n_cores()
        # One pass over memory in the extension: a second core did not shorten it here (2-core
        # guest: 0.77 ms one core and 0.90 ms two at 400,000 values, 15 ms either way at 6.4
        # million), and waking it costs a tenth of a millisecond; the steps' pieces gain from it.
        pieces = -(-size // PIECE) if not fused.available() else size // SPLIT_FUSED
        parts = 1 if pieces < 4 * cores else cores
        parallel.over_rows(run, [(size * k // parts // PIECE * PIECE if k else 0,
                                  size if k == parts - 1 else size * (k + 1) // parts // PIECE * PIECE)
                                 for k in range(parts)])
        if self.values is not None:
            logs = theta[self.values]
            np.log(np.maximum(logs, VALUE_FLOOR, out=logs), out=logs)

    def _step_range(self, theta, grad, alpha, c1, c2, m, v, step, scaled):
        """The step on a range of θ (views of θ, its gradient, the moments and the scratch), the
        gradient's terms in the moments weighted by ``c1`` = (1 - β₁)·scale and ``c2`` =
        (1 - β₂)·scale²: in one pass where the extension is built, else :meth:`_step_part`'s
        steps a piece at a time (the same bits)."""
        if fused.adam_step(theta, grad, m, v, alpha, self.beta1, self.beta2, c1, c2, self.eps):
            return
        for start in range(0, theta.size, PIECE):
            part = slice(start, start + PIECE)
            self._step_part(theta[part], grad[part], alpha, c1, c2, m[part], v[part], step[part], scaled[part])

    def _step_part(self, theta, grad, alpha, c1, c2, m, v, step, scaled):
        """NumPy's steps on one piece of θ (in cache): m ← β₁m + c1·g, v ← β₂v + (c2·g)·g,
        θ ← θ - αm / (√v + ε)."""
        m *= self.beta1
        np.multiply(grad, c1, out=step)
        m += step
        v *= self.beta2
        np.multiply(grad, c2, out=step)
        step *= grad
        v += step
        np.sqrt(v, out=step)
        step += self.eps
        np.multiply(m, alpha, out=scaled)
        np.divide(scaled, step, out=step)
        theta -= step
