"""The errors sparseae raises on purpose: one family, so a caller (the command line included)
tells a bad call from bad data from a numerical failure with one ``except`` each.

- ``ParameterError`` (also ValueError and TypeError, as scikit-learn's): a parameter; the
  message names it and what is allowed. A usage error.
- ``DataError`` (also ValueError): the data or a file: shape, dtype, NaN, range, unreadable.
  Subclasses: ``DataTypeError`` (also TypeError: sparse, complex, text), ``DataFileNotFoundError``
  (also FileNotFoundError), ``DataChangedError`` (a data file changed during a fit),
  ``ModelFileError`` (missing, corrupt, truncated, foreign or too new).
- ``NonFiniteCostError`` (also FloatingPointError): the cost or gradient became NaN or infinite.
- ``DeviceError`` (also RuntimeError): the requested device or cluster cannot be used.

Ctrl-C during a fit raises :class:`FitInterrupted`, a ``KeyboardInterrupt`` (so ``except
Exception`` never swallows it) carrying the last completed iterate.
"""

from sklearn.utils._param_validation import InvalidParameterError

from ._signals import Signalled  # noqa: F401  (a KeyboardInterrupt, as FitInterrupted)


class SparseaeError(Exception):
    """Base of every error sparseae raises on purpose."""


class ParameterError(SparseaeError, InvalidParameterError):
    """A parameter is out of range or of the wrong kind (a usage error)."""


class DataError(SparseaeError, ValueError):
    """The data (or a data file) cannot be used as given."""


class DataTypeError(DataError, TypeError):
    """The data is of a type sparseae does not take."""


class DataFileNotFoundError(DataError, FileNotFoundError):
    """A data file (or folder) that was named does not exist."""


class DataChangedError(DataError):
    """A data file changed while a fit was reading it."""


class ModelFileError(DataError):
    """A model file that cannot be loaded."""


class WriteError(SparseaeError, OSError):
    """A file or folder could not be written (a full disk, no permission, a folder in the way);
    nothing is left under its name or a temporary one."""


class MemoryNeedError(SparseaeError, MemoryError):
    """What was asked for needs more memory than the machine has; raised before allocating."""


class DeviceError(SparseaeError, RuntimeError):
    """The requested compute device or cluster cannot be used."""


class DependencyError(SparseaeError, RuntimeError):
    """An optional extra that the asked-for feature needs is not installed; the message says how
    to install it."""


class NonFiniteCostError(SparseaeError, FloatingPointError):
    """The cost or gradient became NaN or infinite; ``theta`` is the last finite iterate (the
    start if none), ``n_iter`` the iterations completed."""

    def __init__(self, message, theta, n_iter):
        super().__init__(message)
        self.theta, self.n_iter = theta, n_iter


class LineSearchFailure(SparseaeError, ArithmeticError):
    """No step along an L-BFGS direction satisfied the strong Wolfe conditions; the message says
    why. The solver catches it: a fit ends with a ConvergenceWarning carrying the reason."""


class FitInterrupted(KeyboardInterrupt):
    """Ctrl-C during a fit; carries the parameters of the last completed iteration."""

    def __init__(self, theta, n_iter, loss_curve):
        super().__init__(f"interrupted after {n_iter} completed iterations")
        self.theta, self.n_iter, self.loss_curve = theta, n_iter, loss_curve
