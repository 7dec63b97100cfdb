"""What a driver is given (:class:`Settings`, resolved: no "auto" left) and what it returns
(:class:`FitResult`)."""

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Settings:
    """A training run's settings, every "auto" resolved by the estimator.

    ``max_iter`` counts iterations (epochs for a minibatch solver) of this run; ``batch_size``
    is a minibatch's rows; ``resample_every``: dead units resampled every this many iterations
    (0: never); ``description`` names the run in its progress bar; ``values``: ``(start, end)``
    of θ's entries that hold logs of positive parameters a minibatch optimizer steps in the
    parameters themselves (JumpReLU's thresholds; :class:`sparseae.optim.adam.Adam`), or None;
    ``max_grad_norm``: a minibatch optimizer's gradient clipping (None: none);
    ``optimizer_dtype``: θ's and a minibatch optimizer's state's dtype (a full-batch solver's
    are float64).
    """

    solver: object
    max_iter: int
    tol: float = 1e-5
    learning_rate: float = 0.1
    beta_1: float = 0.9
    lbfgs_memory: int = 10
    batch_size: int = 100
    resample_every: int = 0
    verbose: bool = False
    description: str = "training"
    values: tuple = None
    max_grad_norm: float = None
    optimizer_dtype: str = "float64"


#: Why a run stopped: its FitResult's ``stopped``.
STOPS = ("converged", "max_iter", "stopped", "failed", "interrupted", "diverged")


@dataclass
class FitResult:
    """A run's outcome. ``theta`` is θ as the optimizer holds it (host, float64 or
    the minibatch optimizer's dtype); ``n_iter`` and
    ``loss_curve`` count this run's iterations; ``state`` is the driver's state dict at the end;
    ``stopped`` is one of :data:`STOPS` ("stopped": by the monitor, "failed": the solver could
    not go on, with ``message`` saying why); ``n_resampled`` counts resampled dead units."""

    theta: np.ndarray
    n_iter: int
    loss_curve: list
    stopped: str
    message: str = ""
    state: dict = field(default_factory=dict)
    n_resampled: int = 0
