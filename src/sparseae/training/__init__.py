"""Training: the drivers every model shares.

A driver takes the objective, θ0, the resolved :class:`~.result.Settings` and a
:class:`~.monitor.Monitor`, and returns a :class:`~.result.FitResult` (θ, iterations, the loss
curve, the optimizer's state, why it stopped). No driver imports or calls an estimator; the
estimators (:mod:`sparseae.fitting`) build the objective, call a driver and adopt its result.

- :mod:`.full_batch`: the full-batch solvers (gd, lbfgs, l-bfgs-b, cg), in resampling windows;
- :mod:`.minibatch`: a minibatch solver (Adam) over epochs, for ``fit``, ``partial_fit`` and
  ``fit_stream``, with its schedules (:mod:`.schedules`);
- :mod:`.monitor`: held-out scores, early stopping, the user's callback, checkpoints;
- :mod:`.checkpoints`: a checkpoint written from the driver's and the monitor's state dicts;
- :mod:`.resampling`: dead units resampled between windows.
"""

from ..solvers import MINIBATCH
from .full_batch import FullBatch
from .minibatch import Minibatch
from .monitor import Monitor
from .result import FitResult, Settings

#: The driver of each kind of solver (:data:`sparseae.solvers.SOLVERS`).
DRIVERS = {"full batch": FullBatch, MINIBATCH: Minibatch}

__all__ = ["DRIVERS", "FitResult", "FullBatch", "Minibatch", "Monitor", "Settings"]
