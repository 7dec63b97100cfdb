"""Gradient checking by central differences (notes §2.3)."""

import numpy as np

from .errors import ParameterError


def numerical_gradient(cost, theta, epsilon=1e-4, where=None):
    r"""The central-difference estimate of ∇J(θ), one coordinate at a time (notes §2.3).

    .. math:: g_i(\theta) \approx \frac{J(\theta^{(i+)}) - J(\theta^{(i-)})}{2\,\mathrm{EPSILON}}

    with θ(i±) = θ ± EPSILON·e_i. It costs 2·len(θ) evaluations of J, always in float64.

    Parameters
    ----------
    cost : callable
        ``cost(theta) -> float``, J at θ.
    theta : array_like of shape (n,)
        Where to estimate the gradient. It is copied to float64, so the caller's array is left
        unchanged.
    epsilon : float, default 1e-4
        The notes' EPSILON, the half-width of each difference.
    where : array_like of bool of shape (n,), optional
        Estimate only these coordinates. The others are returned as 0.

    Returns
    -------
    ndarray of shape (n,)
        The estimate of ∇J(θ).

    Raises
    ------
    ParameterError
        If θ is not a 1-D vector or ``epsilon`` is not positive.

    Examples
    --------
    >>> import numpy as np
    >>> from sparseae import numerical_gradient
    >>> g = numerical_gradient(lambda x: x[0] ** 2 + 3 * x[0] * x[1], [4.0, 10.0])
    >>> np.allclose(g, [2 * 4.0 + 3 * 10.0, 3 * 4.0])
    True
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
    r"""The relative difference between the numerical and the analytic gradient of ``fun`` at θ.

    .. math:: \frac{\lVert g_{\text{num}} - g_{\text{ana}} \rVert}{\lVert g_{\text{num}} + g_{\text{ana}} \rVert}

    A correct gradient gives about 1e-9 or less in float64, and 0.0 when both gradients vanish.

    Parameters
    ----------
    fun : callable
        ``fun(theta) -> (cost, gradient)``, the form :class:`sparseae.SparseObjective` has.
    theta : array_like of shape (n,)
        Where to compare the two. It is converted to float64.
    epsilon : float, default 1e-4
        The notes' EPSILON.
    where : array_like of bool of shape (n,), optional
        Compare only these coordinates. Use this for an objective whose other coordinates get
        pseudo-gradients, such as JumpReLU's log θ_j (``~objective.pseudo_gradient_mask()``).

    Returns
    -------
    float
        The relative difference.

    Raises
    ------
    ParameterError
        If θ is not a 1-D vector, ``epsilon`` is not positive, or ``fun``'s gradient does not have
        θ's shape.

    Examples
    --------
    >>> import numpy as np
    >>> from sparseae import check_gradient
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
