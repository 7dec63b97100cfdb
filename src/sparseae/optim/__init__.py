"""Minimising J(θ): the notes' batch gradient descent, L-BFGS and conjugate gradient (§2.2,
§2.3), and Adam for minibatches. Each sees a function of θ and nothing else: the full-batch
solvers ``fun(theta) -> (cost, gradient)``, Adam a gradient at a time.

Each solver is registered here, once, in ``sparseae.solvers.SOLVERS`` (its kind, its
defaults, the options it takes): to add one, write its module and add one ``register`` call.
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ..errors import FitInterrupted, ParameterError
from ..solvers import FULL_BATCH, MINIBATCH, Solver, get_solver, register
from ..validation import check_parameters
from .adam import Adam
from .full_batch import OptimizeResult, Tracker, conjugate_gradient, gradient_descent, scipy_lbfgs_b
from .lbfgs import lbfgs

register(Solver("lbfgs", FULL_BATCH, lbfgs, "sparseae's L-BFGS, strong-Wolfe steps",
                options=("lbfgs_memory", "state", "state_box"), device_vectors=True))
register(Solver("l-bfgs-b", FULL_BATCH, scipy_lbfgs_b, "SciPy's L-BFGS-B, the reference",
                options=("lbfgs_memory",), exact_resume=False))
register(Solver("cg", FULL_BATCH, conjugate_gradient, "SciPy's nonlinear conjugate gradient",
                exact_resume=False))
register(Solver("gd", FULL_BATCH, gradient_descent, "the notes' batch gradient descent",
                learning_rate=0.1, options=("learning_rate",)))
#: β₁ "auto" per penalty, each measured best on the notes' exercise: with the KL penalty a short
#: momentum (300 epochs: about +1.2 % of L-BFGS's cost, against +3.1 % at 0.9); with L1 and TopK
#: (ReLU units) Kingma and Ba's 0.9 (at 0.7, L1 already ends 17 % higher), as for a model without
#: a sparsity penalty ("none": softmax, fine-tuning). benchmarks/RESULTS.md.
#: The gradient's norm clipped at "auto" per penalty: at 0.5 for the ReLU family, SAELens's clip of 1
#: on its J, which is twice sparseae's (no ½ on the squared error); measured in benchmarks/RESULTS.md,
#: "Adam's gradient clipped". Not for the KL penalty and softmax (their figures were measured without).
register(Solver("adam", MINIBATCH, Adam, "Adam on minibatches, for data that streams", max_iter=300,
                learning_rate=0.004, beta_1={"kl": 0.3, "l1": 0.9, "topk": 0.9, "jumprelu": 0.9, "batchtopk": 0.9,
                                             "none": 0.9},
                max_grad_norm={"kl": None, "l1": 0.5, "topk": 0.5, "jumprelu": 0.5, "batchtopk": 0.5,
                               "none": None}))

__all__ = ["OptimizeResult", "minimize"]


def minimize(fun, theta0, *, solver="lbfgs", max_iter=400, tol=1e-5, learning_rate=0.1,
             lbfgs_memory=10, callback=None, vectors=None, state=None, state_box=None):
    """Minimise ``fun(theta) -> (cost, gradient)`` from ``theta0``: the notes' "advanced optimization".

    The objective only has to return J(θ) and ∇J(θ), which is all the notes ask of it (§2.3).

    Parameters
    ----------
    fun : callable
        ``fun(theta) -> (cost, gradient)``.
    theta0 : ndarray of shape (n,)
        The starting point. It is not modified.
    solver : {"lbfgs", "l-bfgs-b", "cg", "gd"}, default "lbfgs"
        "lbfgs" is sparseae's own unconstrained L-BFGS with strong-Wolfe steps
        (:mod:`sparseae.optim.lbfgs`). Its vectors stay where ``fun`` takes them: the host's, or a
        device's for a PyTorch objective. "l-bfgs-b" is SciPy's L-BFGS-B, unbounded, kept as the
        reference. "cg" is SciPy's nonlinear conjugate gradient, and "gd" the notes' batch gradient
        descent with step ``learning_rate``.
    max_iter : int, default 400
        The most iterations.
    tol : float, default 1e-5
        Stop when the largest gradient component is at most this. L-BFGS also stops when an
        iteration barely reduces the cost.
    learning_rate : float, default 0.1
        The step of "gd" (α in the notes).
    lbfgs_memory : int, default 10
        The corrections L-BFGS keeps.
    callback : callable, optional
        ``callback(iteration, cost)`` after each iteration, with θ (read-only) as a third argument
        when it takes three. Returning True stops the solver there, without a warning.
    vectors : object, optional
        Where "lbfgs" keeps its vectors (an engine's vector space). Default: NumPy on the host.
    state : dict, optional
        For "lbfgs", a history saved at ``theta0`` to continue from (checkpoints).
    state_box : dict, optional
        For "lbfgs", ``state_box["lbfgs"]`` becomes a function returning the current history.

    Returns
    -------
    OptimizeResult
        ``theta`` (the final θ), ``cost``, ``n_iter``, ``converged``, ``message``, ``loss_curve``
        (the cost after each iteration) and ``n_evaluations`` (the calls of ``fun``).

    Raises
    ------
    ParameterError
        If a parameter is out of its range, or ``solver`` is not a full-batch solver ("adam" works
        on minibatches, through an estimator).
    NonFiniteCostError
        If the cost or gradient becomes non-finite. It carries the last finite iterate.
    FitInterrupted
        On Ctrl-C (or SIGTERM, SIGHUP), carrying the last completed iterate.

    Warns
    -----
    ConvergenceWarning
        When the solver stops without converging, with the solver's message.

    Examples
    --------
    >>> import numpy as np
    >>> import sparseae
    >>> def bowl(x):                        # J(x) = ||x - 3||^2 / 2
    ...     return 0.5 * np.sum((x - 3.0) ** 2), x - 3.0
    >>> result = sparseae.minimize(bowl, np.zeros(4))
    >>> np.allclose(result.theta, 3.0), result.converged
    (True, True)
    """
    check_parameters(dict(solver=solver, max_iter=max_iter, tol=tol, learning_rate=learning_rate), "minimize")
    method = get_solver(solver)
    if method.kind == MINIBATCH:
        raise ParameterError(f"solver {solver!r} works on minibatches: use SparseAutoencoder(solver={solver!r})")
    given = dict(learning_rate=learning_rate, lbfgs_memory=lbfgs_memory, state=state, state_box=state_box)
    options = {name: given[name] for name in method.options}
    tracker = Tracker(fun, theta0, callback, vectors if method.device_vectors else None)
    try:
        result = method.run(tracker, np.asarray(theta0), max_iter=max_iter, tol=tol, **options)
    except KeyboardInterrupt:
        raise FitInterrupted(tracker.last_theta(), len(tracker.loss_curve), tracker.loss_curve) from None
    result.n_evaluations = tracker.n_evaluations
    if not result.converged and not tracker.stopped:
        warnings.warn(
            f"solver {solver!r} stopped after {result.n_iter} iterations without converging: "
            f"{result.message}",
            ConvergenceWarning,
            stacklevel=2,
        )
    return result
