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
    """The base of every error sparseae raises on purpose.

    Catch it to handle any of them. An error from deeper down (a NumPy or OS error) that is not a
    SparseaeError is a bug worth reporting, unless it is an ``OSError`` of the machine's own (a full
    disk, no permission).

    Examples
    --------
    >>> import sparseae
    >>> try:
    ...     sparseae.load("missing.safetensors")
    ... except sparseae.SparseaeError as exc:
    ...     print(type(exc).__name__, exc)
    ModelFileError model file 'missing.safetensors' does not exist
    """


class ParameterError(SparseaeError, InvalidParameterError):
    """A parameter is out of range or of the wrong kind (a usage error).

    It is also a ``ValueError`` (or a ``TypeError`` for a parameter of the wrong type), as
    scikit-learn's parameter errors are. The message names the parameter, the value given and what
    is allowed.

    Examples
    --------
    >>> import sparseae
    >>> sparseae.SparseAutoencoder(25, sparsity_target=1.5).fit([[0.5, 0.5]])
    Traceback (most recent call last):
    ...
    sparseae.errors.ParameterError: The 'sparsity_target' parameter of SparseAutoencoder must be a float in the
    range (0.0, 1.0). Got 1.5 instead.
    """


class DataError(SparseaeError, ValueError):
    """The data, or a data file, cannot be used as given.

    It is also a ``ValueError``. The message says what is wrong and where (the row and column, the
    file, the shard).

    Examples
    --------
    >>> import numpy as np
    >>> import sparseae
    >>> sparseae.SparseAutoencoder(2).fit([[0.5, np.nan], [0.2, 0.3]])
    Traceback (most recent call last):
    ...
    sparseae.errors.DataError: X has 1 NaN or infinite values (first at row 0, column 1)
    """


class DataTypeError(DataError, TypeError):
    """The data is of a type sparseae does not take."""


class DataFileNotFoundError(DataError, FileNotFoundError):
    """A data file (or folder) that was named does not exist."""


class DataChangedError(DataError):
    """A data file changed while a fit was reading it."""


class ModelFileError(DataError):
    """A model or checkpoint file that cannot be loaded: missing, not sparseae's, from a newer
    sparseae, or damaged.

    It is a :class:`DataError`. Loading never runs code from the file.

    Examples
    --------
    >>> from pathlib import Path
    >>> import sparseae
    >>> _ = Path("not_a_model.safetensors").write_bytes(b"plain bytes")
    >>> sparseae.load("not_a_model.safetensors")
    Traceback (most recent call last):
    ...
    sparseae.errors.ModelFileError: 'not_a_model.safetensors' is not a readable safetensors model file ...
    """


class WriteError(SparseaeError, OSError):
    """A file or folder could not be written (a full disk, no permission, a folder in the way);
    nothing is left under its name or a temporary one."""


class MemoryNeedError(SparseaeError, MemoryError):
    """What was asked for needs more memory than the machine has; raised before allocating."""


class DeviceError(SparseaeError, RuntimeError):
    """The requested compute device or cluster cannot be used.

    It is also a ``RuntimeError``. It is raised when ``device=`` names a device PyTorch cannot use
    (or PyTorch is not installed), or when no Dask client is running for a Dask array.

    Examples
    --------
    >>> import sparseae
    >>> sparseae.SparseAutoencoder(2, device="nonexistent").fit([[0.5, 0.4], [0.2, 0.3]])
    Traceback (most recent call last):
    ...
    sparseae.errors.DeviceError: device=...
    """


class DependencyError(SparseaeError, RuntimeError):
    """An optional extra that the asked-for feature needs is not installed; the message says how
    to install it."""


class NonFiniteCostError(SparseaeError, FloatingPointError):
    """The cost or gradient became NaN or infinite.

    Its ``theta`` is the last finite iterate (the start if there was none), and ``n_iter`` the
    iterations completed. An estimator keeps those parameters and says so.

    Examples
    --------
    >>> import numpy as np
    >>> import sparseae
    >>> try:                                            # gradient descent with far too large a step
    ...     sparseae.minimize(lambda x: (np.sum(x**4), 4 * x**3), np.ones(2), solver="gd", learning_rate=10.0)
    ... except sparseae.NonFiniteCostError as exc:
    ...     print(exc.n_iter, np.isfinite(exc.theta).all())
    4 True
    """

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
