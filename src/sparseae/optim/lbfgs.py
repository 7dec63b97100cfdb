r"""Unconstrained L-BFGS on the objective's own arrays: the default ``solver="lbfgs"`` (§2.3).

The direction is :math:`d = -H g`, H the L-BFGS approximation of the inverse Hessian built from
the last ``memory`` pairs :math:`s_i = \theta_{i+1} - \theta_i`, :math:`y_i = g_{i+1} - g_i`, in
the compact form of Byrd, Nocedal and Schnabel (1994):

.. math::

    H = \gamma I + \begin{bmatrix} S & \gamma Y \end{bmatrix}
        \begin{bmatrix} R^{-T} (D + \gamma Y^T Y) R^{-1} & -R^{-T} \\ -R^{-1} & 0 \end{bmatrix}
        \begin{bmatrix} S^T \\ \gamma Y^T \end{bmatrix},
    \qquad \gamma = \frac{s^T y}{y^T y} \text{ of the newest pair,}

R the upper triangle of :math:`S^T Y` and D its diagonal. S and Y are the rows of one
(2 memory, n) array, so H g costs two passes over the history (a product in, a combination out)
and the rest is memory x memory arithmetic on the host: on a GPU, θ, g and the history stay on
the device and only 2 memory coefficients cross each way.

The step α is found by a strong-Wolfe line search (Nocedal and Wright, *Numerical Optimization*,
Algorithms 3.5 and 3.6, with cubic interpolation) on :math:`\phi(\alpha) = J(\theta + \alpha d)`,
starting from α = 1 (on the first iteration, and after a restart, min(1, 1/‖g‖), as L-BFGS-B).
"""

import numpy as np
from scipy.linalg import lapack

from ..errors import LineSearchFailure, ModelFileError
from .full_batch import OptimizeResult

#: Sufficient decrease and curvature constants of the strong Wolfe conditions.
C1, C2 = 1e-4, 0.9
#: Stop when an iteration reduces J by at most this, relative to max(\|J\|, 1): SciPy's L-BFGS-B
#: default (factr 1e7 times the float64 epsilon), so both solvers stop on the same rule.
FTOL = 1e7 * np.finfo(np.float64).eps
#: Evaluations one line search may make.
MAX_EVALUATIONS = 25


def cubic_minimum(a, b):
    """The minimiser of the cubic through ``a = (α, φ, φ')`` and ``b`` (N&W eq. 3.59), or None
    when it has none."""
    (xa, fa, da), (xb, fb, db) = a, b
    if xa == xb:
        return None
    d1 = da + db - 3.0 * (fa - fb) / (xa - xb)
    square = d1 * d1 - da * db
    if not np.isfinite(square) or square < 0:
        return None
    d2 = np.copysign(np.sqrt(square), xb - xa)
    denominator = db - da + 2.0 * d2
    if denominator == 0:
        return None
    x = xb - (xb - xa) * (db + d2 - d1) / denominator
    return float(x) if np.isfinite(x) else None


def strong_wolfe(phi, f0, dphi0, alpha, *, c1=C1, c2=C2, max_evaluations=MAX_EVALUATIONS):
    r"""A step α > 0 with :math:`\phi(\alpha) \le \phi(0) + c_1 \alpha \phi'(0)` and
    :math:`|\phi'(\alpha)| \le c_2 |\phi'(0)|`, for a descent direction (φ'(0) < 0).

    ``phi(α)`` returns ``(value, gradient, derivative)``; the accepted step is always the last
    one evaluated, returned as ``(α, value, gradient, derivative)``. Raises LineSearchFailure.
    """
    previous, evaluations = (0.0, f0, dphi0), 0
    while evaluations < max_evaluations:
        f, g, dphi = phi(alpha)
        evaluations += 1
        point = (alpha, f, dphi)
        if f > f0 + c1 * alpha * dphi0 or (evaluations > 1 and f >= previous[1]):
            return _zoom(phi, previous, point, f0, dphi0, c1, c2, max_evaluations - evaluations)
        if abs(dphi) <= -c2 * dphi0:
            return alpha, f, g, dphi
        if dphi >= 0:
            return _zoom(phi, point, previous, f0, dphi0, c1, c2, max_evaluations - evaluations)
        # Still going down: extrapolate, at least a little and at most 10x.
        low, high = alpha + 0.01 * (alpha - previous[0]), 10.0 * alpha
        step = cubic_minimum(previous, point)
        previous, alpha = point, high if step is None or step <= alpha else min(max(step, low), high)
    raise LineSearchFailure(f"the cost still decreased at every one of {max_evaluations} growing steps")


def _zoom(phi, lo, hi, f0, dphi0, c1, c2, evaluations_left):
    """Algorithm 3.6: ``lo`` satisfies sufficient decrease with the lowest φ so far, and the
    bracket [lo, hi] holds a step that satisfies both conditions."""
    for _ in range(evaluations_left):
        left, right = sorted((lo[0], hi[0]))
        width = right - left
        if width <= 1e-10 * right:
            raise LineSearchFailure(
                f"the bracket around the step shrank to [{left:.6g}, {right:.6g}] without a step "
                f"that decreases the cost enough (it is flat to rounding along the direction)"
            )
        alpha = cubic_minimum(lo, hi)
        if alpha is None:
            alpha = 0.5 * (left + right)
        alpha = min(max(alpha, left + 0.1 * width), right - 0.1 * width)  # keep off the ends
        f, g, dphi = phi(alpha)
        if f > f0 + c1 * alpha * dphi0 or f >= lo[1]:
            hi = (alpha, f, dphi)
        else:
            if abs(dphi) <= -c2 * dphi0:
                return alpha, f, g, dphi
            if dphi * (hi[0] - lo[0]) >= 0:
                hi = lo
            lo = (alpha, f, dphi)
    raise LineSearchFailure(f"no step in the bracket satisfied the strong Wolfe conditions within "
                            f"{MAX_EVALUATIONS} evaluations")


class History:
    """The last ``memory`` pairs (s, y), as rows of one array ``rows`` ([S; Y], zero where unused)
    in the vectors' place; R (the upper triangle of :math:`S^T Y`) and :math:`Y^T Y` on the host,
    in the pairs' order, oldest first (``R[:k, :k]`` and ``YY[:k, :k]`` for k pairs); and
    ``rows @ g`` for the current gradient (``rows_g``, for the rows in use).

    An iteration makes two passes over the rows (the vectors' ``pair_into`` and
    ``direction_into``, each with the vector work beside it). The first writes the new pair and
    computes ``rows @ g_new`` for the rows in use; the new pair's products with
    the older pairs follow as :math:`s_i^T y = s_i^T g_{new} - s_i^T g` (and for :math:`y_i`),
    the previous iteration's ``rows @ g`` kept, and the new pair's own :math:`s^T y` and
    :math:`y^T y`, on which γ and R's diagonal rest, are computed directly. When the oldest pair
    leaves, the others move up one place in R and YᵀY (gathering them from slot-indexed matrices
    every iteration cost a quarter of the direction's time at memory 100).
    """

    def __init__(self, vectors, n, memory):
        self.vectors, self.memory = vectors, memory
        self.rows = vectors.zeros((2 * memory, n))
        self.order = []  # slots in use, oldest first
        self.R, self.YY = np.zeros((memory, memory)), np.zeros((memory, memory))
        self.rows_g = np.zeros(2 * memory)  # rows @ g for the rows in use (read only there)

    def __len__(self):
        return len(self.order)

    def clear(self):
        self.order = []

    def state(self):
        """The history as host arrays (for a checkpoint): ``rows``, ``sy`` and ``yy`` (R and YᵀY
        indexed by slot), ``rows_g`` and ``order``."""
        m, order = self.memory, self.order
        sy, yy, k = np.zeros((m, m)), np.zeros((m, m)), len(order)
        sy[np.ix_(order, order)], yy[np.ix_(order, order)] = self.R[:k, :k], self.YY[:k, :k]
        return {"rows": self.vectors.to_host(self.rows), "sy": sy, "yy": yy, "rows_g": self.rows_g.copy(),
                "order": list(order)}

    def restore(self, state):
        """Continue from :meth:`state`'s arrays, taken at the θ the solver starts from."""
        m, n = self.memory, self.rows.shape[1]
        if tuple(np.shape(state["rows"])) != (2 * m, n):
            rows, values = np.shape(state["rows"])
            raise ModelFileError(f"the saved L-BFGS history holds {rows // 2} corrections of {values} "
                                 f"values, not {m} of {n}")
        order = [int(i) for i in state["order"]]
        if any(not 0 <= i < m for i in order) or len(set(order)) != len(order):
            raise ModelFileError(f"the saved L-BFGS history is not consistent: it names slots {order} of {m}")
        self.rows = self.vectors.from_host(state["rows"])
        self.rows_g, self.order, k = np.array(state["rows_g"], dtype=float), order, len(order)
        self.R[:k, :k] = np.triu(np.asarray(state["sy"], dtype=float)[np.ix_(order, order)])
        self.YY[:k, :k] = np.asarray(state["yy"], dtype=float)[np.ix_(order, order)]

    def add(self, d, alpha, g_new, g):
        """Store s = α d and y = g_new - g in the oldest (or a free) slot; ``g_new`` becomes the
        current gradient. Returns the largest magnitude in g_new."""
        m, R, YY = self.memory, self.R, self.YY
        full = len(self.order) == m
        slot = self.order.pop(0) if full else min(set(range(m)) - set(self.order))
        if full:  # the oldest pair left: the others move up one place
            R[:-1, :-1], YY[:-1, :-1] = R[1:, 1:], YY[1:, 1:]
        k = len(self.order) + 1
        slots = np.array([*self.order, slot], dtype=np.int64)
        used = np.concatenate([slots, m + slots])  # the S rows in use, then the Y rows
        products, sy, yy, g_max = self.vectors.pair_into(self.rows, used, slot, m + slot, alpha, d, g_new, g)
        rows_y = products - self.rows_g[used]  # valid for the slots written before this iteration
        self.rows_g[used] = products
        if sy > 0:  # always, after a strong-Wolfe step, except to rounding
            R[:k - 1, k - 1], R[k - 1, :k - 1], R[k - 1, k - 1] = rows_y[:k - 1], 0.0, sy
            YY[:k - 1, k - 1] = YY[k - 1, :k - 1] = rows_y[k:2 * k - 1]
            YY[k - 1, k - 1] = yy
            self.order.append(slot)
        return g_max

    def direction_into(self, d, g, theta=None, trial=None):
        """d ← -H g, for the current gradient g, and ``trial`` ← θ + d if ``theta`` is given (the
        line search's first point); returns gᵀd."""
        m, slots = self.memory, np.array(self.order, dtype=np.int64)
        k = len(slots)
        R = self.R[:k, :k]
        gamma = R[-1, -1] / self.YY[k - 1, k - 1]
        u = _solve_upper(R, self.rows_g[slots])  # finite: checked gradients
        v = np.diag(R) * u + gamma * (self.YY[:k, :k] @ u) - gamma * self.rows_g[m + slots]
        p = _solve_upper(R, v, transposed=True)
        return self.vectors.direction_into(d, np.concatenate([-p, gamma * u]), self.rows,
                                           np.concatenate([slots, m + slots]), -gamma, g, theta, trial)


def _solve_upper(R, b, transposed=False):
    """x with R x = b (Rᵀ x = b if ``transposed``), R upper triangular: LAPACK's trtrs called as
    ``scipy.linalg.solve_triangular`` calls it for a C-ordered R (so the same bits), without the
    wrapper's checks, which cost three times the solve at memory 100."""
    if R.flags.f_contiguous:
        x, info = lapack.dtrtrs(R, b, lower=0, trans=int(transposed))
    else:
        x, info = lapack.dtrtrs(R.T, b, lower=1, trans=int(not transposed))
    assert info == 0, f"trtrs info {info}"  # R's diagonal holds sᵀy > 0: add() refuses the other pairs
    return x


def lbfgs(tracker, theta0, *, max_iter, tol, lbfgs_memory=10, state=None, state_box=None):
    r"""Minimise the tracked function from ``theta0`` with L-BFGS and strong-Wolfe steps.

    ``state``: a history saved by a checkpoint at ``theta0`` (:meth:`History.state`), so that a
    resumed fit goes on exactly as the uninterrupted one; ``state_box["lbfgs"]`` is set to a
    function that returns the current history's state, for checkpoints.

    Stops when max \|g\| ≤ ``tol``, when an iteration reduces J by at most :data:`FTOL` relative to
    max(\|J\|, 1), after ``max_iter`` iterations, or when the line search fails twice in a row
    (the second time from steepest descent, the history cleared): then not converged, θ the last
    accepted iterate and the message the line search's reason.
    """
    vectors = tracker.vectors
    theta = vectors.from_host(tracker.theta)  # θ0, already moved in by the tracker
    f, g = tracker.evaluate(theta)
    n = theta.shape[0]
    history = History(vectors, n, lbfgs_memory)  # rows_g = rows @ g holds: both are zero
    if state is not None:
        history.restore(state)
    if state_box is not None:
        state_box["lbfgs"] = history.state
    d, trial = vectors.zeros(n), vectors.zeros(n)
    converged, message, n_iter = vectors.max_abs(g) <= tol, f"reached max_iter = {max_iter}", 0
    if converged:
        message = f"max |gradient| <= tol = {tol:g}"

    trial_alpha = None  # the α for which trial holds θ + α d already (the direction's pass wrote it)

    def phi(alpha):
        nonlocal trial_alpha
        if alpha != trial_alpha:
            vectors.add_into(trial, theta, alpha, d)
            trial_alpha = alpha
        f_alpha, g_alpha = tracker.evaluate(trial)
        return f_alpha, g_alpha, vectors.dot(g_alpha, d)

    while not converged and n_iter < max_iter:
        if history:
            dphi0 = history.direction_into(d, g, theta, trial)
            alpha = trial_alpha = 1.0
        if not history or not dphi0 < 0:  # no history yet, or a direction that does not descend
            history.clear()
            vectors.scaled_into(d, -1.0, g)
            dphi0 = vectors.dot(g, d)
            alpha, trial_alpha = min(1.0, 1.0 / np.sqrt(vectors.dot(g, g))), None  # a step of length 1, as L-BFGS-B
        try:
            alpha, f_new, g_new, dphi = strong_wolfe(phi, f, dphi0, alpha)
        except LineSearchFailure as failure:
            if history:
                history.clear()
                continue
            message = f"the line search failed: {failure}"
            break
        g_max = history.add(d, alpha, g_new, g)
        theta, trial = trial, theta
        trial_alpha = None
        f_old, f, g = f, f_new, g_new
        n_iter += 1
        try:
            tracker.iteration_done(theta, f, held=True)
        except StopIteration:
            break
        if g_max <= tol:
            converged, message = True, f"max |gradient| <= tol = {tol:g}"
        elif (f_old - f) <= FTOL * max(abs(f_old), abs(f), 1.0):
            converged, message = True, f"the cost fell by at most {FTOL:.2g} relative to itself"
    return OptimizeResult(vectors.to_host(theta), float(f), n_iter, bool(converged), message,
                          tracker.loss_curve)
