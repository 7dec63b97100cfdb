"""θ-sized float64 vectors where an optimizer keeps them: NumPy arrays on the host, or PyTorch
tensors on the objective's device, so that an optimizer's history never leaves the device.

An optimizer written against these (:class:`HostVectors`, :class:`TorchVectors`: the same
methods) moves θ in once and out once; in between only scalars and a few history-sized
coefficient vectors (2 x corrections values) cross. On a device every transfer of a θ-sized
vector goes through ``to_host`` / ``from_host``, which count them (``transfers``), so a test
can assert that none happens per iteration.
"""

import numpy as np
from scipy.linalg import blas

from . import parallel


class HostVectors:
    """float64 NumPy arrays; the vector work in BLAS (daxpy, dgemv)."""

    xp = np
    device = None

    def __init__(self):
        self._scratch = None  # the other cores' parts of a combination

    @staticmethod
    def holds(x):
        return isinstance(x, np.ndarray)

    def from_host(self, array):
        return np.array(array, dtype=np.float64)

    def to_host(self, vector):
        return np.array(vector, dtype=np.float64)

    def zeros(self, shape):
        """Zeros whose pages are written now: ``np.zeros`` maps them lazily, and an L-BFGS history
        (74 MB on benchmark (b)) then paid its page faults inside the first ``memory`` iterations,
        one slot at a time (about 3 ms a slot there, more than the slot's write)."""
        out = np.empty(shape)
        out.fill(0.0)
        return out

    def dot(self, x, y):
        return float(np.dot(x, y))

    def max_abs(self, x):
        """max |x_i| (NaN if x holds one): the largest and the smallest value, without |x|'s copy."""
        high, low = float(x.max()), float(x.min())
        return max(high, -low) if high == high and low == low else float("nan")

    def all_finite(self, x):
        return bool(np.isfinite(x).all())

    def axpy(self, alpha, x, y):
        """y ← y + αx in place."""
        blas.daxpy(x, y, a=alpha)

    def scaled_into(self, out, alpha, x):
        """out ← αx."""
        np.multiply(x, alpha, out=out)

    def add_into(self, out, x, alpha, y):
        """out ← x + αy."""
        np.multiply(y, alpha, out=out)
        out += x

    def subtract_into(self, out, x, y):
        """out ← x - y."""
        np.subtract(x, y, out=out)

    def copy_into(self, out, x):
        out[...] = x

    def products(self, rows, x):
        """rows @ x as a host float64 vector (one value a row of the (k, n) ``rows``)."""
        parts = self._parts(rows)
        if len(parts) == 1:
            return rows @ x
        return np.concatenate(parallel.over_rows(lambda i, lo, hi: np.dot(rows[lo:hi], x), parts))

    def combination_into(self, out, coefficients, rows, alpha, x):
        """out ← Σ_i c_i rows_i + αx, c given on the host."""
        parts = self._parts(rows)
        if len(parts) == 1:
            np.matmul(coefficients, rows, out=out)
        else:
            if self._scratch is None or self._scratch.shape != (len(parts) - 1, out.shape[0]):
                self._scratch = np.empty((len(parts) - 1, out.shape[0]))
            targets = [out, *self._scratch]
            parallel.over_rows(lambda i, lo, hi: np.dot(coefficients[lo:hi], rows[lo:hi], out=targets[i]),
                               parts)
            for partial in self._scratch:
                out += partial
        blas.daxpy(x, out, a=alpha)

    @staticmethod
    def _parts(rows):
        """Row ranges of a history, one per core from 8 MiB on: its passes are memory-bound, and
        np.dot runs outside the GIL in sparseae's threads (benchmarks/RESULTS.md, "sparseae's own
        L-BFGS"). BLAS's own threads would do the same, but they spin after each call and slow
        the evaluation that follows."""
        k = rows.shape[0]
        cores = min(parallel.n_cores(), k) if rows.size >= 1 << 20 else 1
        return [(k * i // cores, k * (i + 1) // cores) for i in range(cores)]


class TorchVectors:
    """float64 tensors on ``device``: a host copy only when asked for one (counted)."""

    def __init__(self, torch, device):
        self.xp, self.device = torch, device
        self.transfers = 0

    def holds(self, x):
        return isinstance(x, self.xp.Tensor)

    def from_host(self, array):
        if isinstance(array, self.xp.Tensor):
            return array.to(device=self.device, dtype=self.xp.float64, copy=True)
        self.transfers += 1
        return self.xp.tensor(np.asarray(array, dtype=np.float64), device=self.device)

    def to_host(self, vector):
        if isinstance(vector, np.ndarray):
            return np.array(vector, dtype=np.float64)
        self.transfers += 1
        return vector.detach().to("cpu", dtype=self.xp.float64).numpy().copy()

    def zeros(self, shape):
        return self.xp.zeros(shape, dtype=self.xp.float64, device=self.device)

    def dot(self, x, y):
        return float(self.xp.dot(x, y))

    def max_abs(self, x):
        return float(x.abs().max())

    def all_finite(self, x):
        return bool(self.xp.isfinite(x).all())

    def axpy(self, alpha, x, y):
        y.add_(x, alpha=alpha)

    def scaled_into(self, out, alpha, x):
        self.xp.mul(x, alpha, out=out)

    def add_into(self, out, x, alpha, y):
        self.xp.add(x, y, alpha=alpha, out=out)

    def subtract_into(self, out, x, y):
        self.xp.sub(x, y, out=out)

    def copy_into(self, out, x):
        out.copy_(x)

    def products(self, rows, x):
        return self.xp.mv(rows, x).cpu().numpy()

    def combination_into(self, out, coefficients, rows, alpha, x):
        c = self.xp.as_tensor(coefficients, dtype=self.xp.float64).to(self.device)
        self.xp.mv(rows.T, c, out=out)
        out.add_(x, alpha=alpha)


def on_host(vector):
    """Whether a vector (θ, a gradient) is a host NumPy array, not a device tensor."""
    return isinstance(vector, np.ndarray)


def host_dtype(theta):
    """The dtype θ is kept in on the host: float32 for a float32 array (a minibatch optimizer's,
    ``optimizer_dtype="float32"``), else float64."""
    return np.dtype(np.float32) if isinstance(theta, np.ndarray) and theta.dtype == np.float32 else np.dtype(np.float64)


def host_view(vector):
    """A host vector itself; a device vector's host float64 copy."""
    return vector if on_host(vector) else host_copy(vector)


def host_copy(vector):
    """A new host float64 array of a vector in any :class:`HostVectors` or :class:`TorchVectors`."""
    if isinstance(vector, np.ndarray):
        return np.array(vector, dtype=np.float64)
    return vector.detach().to("cpu", dtype=vector.dtype).numpy().astype(np.float64, copy=True)
