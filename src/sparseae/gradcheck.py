"""Gradient checking by central differences (notes §2.3)."""

import numpy as np

from .errors import ParameterError


def numerical_gradient(cost, theta, epsilon=1e-4, where=None):
    r"""The central-difference estimate of ∇J(θ) for ``cost(theta) -> float``, one coordinate at a time.

    .. math:: g_i(\theta) \approx \frac{J(\theta^{(i+)}) - J(\theta^{(i-)})}{2\,\mathrm{EPSILON}}

    with θ(i±) = θ ± EPSILON·e_i. Costs 2·len(θ) evaluations of J; always in float64. ``where``:
    a boolean mask of the coordinates to estimate (the others are 0).
    """
    theta = np.array(theta, dtype=np.float64)
    if theta.ndim != 1:
        raise ParameterError(f"theta must be a 1-D vector, got shape {theta.shape}")
    if not epsilon > 0:
        raise ParameterError(f"epsilon must be positive, got {epsilon!r}")
    grad = np.zeros_like(theta)
    for i in range(theta.size) if where is None else np.flatnonzero(where):
        saved = theta[i]
        theta[i] = saved + epsilon
        plus = cost(theta)
        theta[i] = saved - epsilon
        minus = cost(theta)
        theta[i] = saved
        grad[i] = (plus - minus) / (2.0 * epsilon)
    return grad


def check_gradient(fun, theta, epsilon=1e-4, where=None):
    r"""Relative difference between the numerical and the analytic gradient of ``fun`` at θ.

    .. math:: \frac{\lVert g_{\text{num}} - g_{\text{ana}} \rVert}{\lVert g_{\text{num}} + g_{\text{ana}} \rVert}

    ``fun(theta) -> (cost, gradient)``, as :class:`sparseae.SparseObjective` is; θ is converted
    to float64; ``epsilon`` is the notes' EPSILON. A correct gradient gives about 1e-9 or less in
    float64 (0.0 if both gradients vanish). ``where``: a boolean mask of θ's coordinates to
    compare, for an objective whose other coordinates get pseudo-gradients (JumpReLU's log θ_j:
    ``~objective.pseudo_gradient_mask()``).

    >>> import numpy as np
    >>> def h(x):
    ...     return x[0] ** 2 + 3 * x[0] * x[1], np.array([2 * x[0] + 3 * x[1], 3 * x[0]])
    >>> check_gradient(h, [4.0, 10.0]) < 1e-10
    True
    """
    theta = np.array(theta, dtype=np.float64)
    _, analytic = fun(theta.copy())
    analytic = np.asarray(analytic, dtype=np.float64)
    if analytic.shape != theta.shape:
        raise ParameterError(
            f"fun returned a gradient of shape {analytic.shape} for theta of shape {theta.shape}"
        )
    if where is not None:
        where = np.asarray(where, dtype=bool)
        if where.shape != theta.shape:
            raise ParameterError(f"where must be a boolean mask of theta's shape {theta.shape}, got {where.shape}")
        analytic = np.where(where, analytic, 0.0)
    numeric = numerical_gradient(lambda t: fun(t)[0], theta, epsilon, where)
    denominator = np.linalg.norm(numeric + analytic)
    if denominator == 0.0:
        return float(np.linalg.norm(numeric - analytic))
    return float(np.linalg.norm(numeric - analytic) / denominator)
