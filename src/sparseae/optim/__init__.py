"""Minimising J(θ): the notes' batch gradient descent, L-BFGS and conjugate gradient (§2.2,
§2.3), and Adam for minibatches. Each sees a function of θ and nothing else: the full-batch
solvers ``fun(theta) -> (cost, gradient)``, Adam a gradient at a time.

Each solver is registered here, once, in :data:`sparseae.solvers.SOLVERS` (its kind, its
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
register(Solver("adam", MINIBATCH, Adam, "Adam on minibatches, for data that streams", max_iter=300,
                learning_rate=0.004, beta_1={"kl": 0.3, "l1": 0.9, "topk": 0.9, "jumprelu": 0.9, "batchtopk": 0.9,
                                             "none": 0.9}))

__all__ = ["OptimizeResult", "minimize"]


def minimize(fun, theta0, *, solver="lbfgs", max_iter=400, tol=1e-5, learning_rate=0.1,
             lbfgs_memory=10, callback=None, vectors=None, state=None, state_box=None):
    """Minimise ``fun(theta) -> (cost, gradient)`` from ``theta0`` (not modified): an OptimizeResult.

    ``solver``: a full-batch solver of :data:`sparseae.solvers.SOLVERS`: "lbfgs"
    (:mod:`sparseae.optim.lbfgs`: unconstrained, strong-Wolfe steps, ``lbfgs_memory``
    corrections, its vectors in ``vectors``, where ``fun`` takes and returns them: the host's by
    default, a device's for a PyTorch objective), "l-bfgs-b" (SciPy's L-BFGS-B, unbounded, on the
    host: the reference), "cg" (SciPy's nonlinear conjugate gradient) or "gd" (the notes' batch
    gradient descent with step ``learning_rate``). Stops after ``max_iter`` iterations, or when
    the largest gradient component is at most ``tol`` (L-BFGS also when an iteration barely
    reduces the cost). ``callback(iteration, cost)`` is called after each iteration (with θ,
    read-only, as a third argument when it takes three); returning True stops the solver there,
    without a warning. The result's ``n_evaluations`` counts the calls of ``fun``. For "lbfgs",
    ``state`` continues a history saved at ``theta0`` and ``state_box["lbfgs"]`` becomes a
    function returning the current one (checkpoints).

    Raises NonFiniteCostError (carrying the last finite iterate) if the cost or gradient becomes
    non-finite, and FitInterrupted (carrying the last completed iterate) on Ctrl-C. A stop that is
    not convergence is a ConvergenceWarning carrying the solver's message.
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
