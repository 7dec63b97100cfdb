"""θ-sized float64 vectors where an optimizer keeps them: NumPy arrays on the host, or PyTorch
tensors on the objective's device, so that an optimizer's history never leaves the device.

An optimizer written against these (:class:`HostVectors`, :class:`TorchVectors`: the same
methods) moves θ in once and out once; in between only scalars and a few history-sized
coefficient vectors (2 x corrections values) cross. On a device every transfer of a θ-sized
vector goes through ``to_host`` / ``from_host``, which count them (``transfers``), so a test
can assert that none happens per iteration.
"""

import os

import numpy as np
from scipy.linalg import blas

from . import parallel

try:
    from . import _history
except ImportError:  # not built (no C compiler at install, or another platform): BLAS's passes
    _history = None

#: Columns a block of the compiled history passes (``_history.c``'s BLOCK).
BLOCK = 2048
#: Values of a history from which its passes are compiled: below it BLAS's passes, from cache,
#: take as long (the notes' exercise's 200 x 3,289 history: 0.21 ms a pass either way) and keep the
#: bits they had. benchmarks/RESULTS.md, "L-BFGS's history passes compiled".
COMPILED_FROM = 1 << 20


class Composed:
    """An L-BFGS iteration's two history passes composed of the vectors' own operations (a device's,
    or the host's where ``sparseae.engine._history`` is not built); each returns what the
    iteration needs from it besides the vectors written."""

    def pair_into(self, rows, used, s_row, y_row, alpha, d, g_new, g):
        """``rows[s_row]`` ← αd and ``rows[y_row]`` ← g_new − g (a new pair s, y); returns
        (``rows[used] @ g_new`` as a host vector, sᵀy, yᵀy, the largest magnitude in g_new)."""
        s, y = rows[s_row], rows[y_row]
        self.scaled_into(s, alpha, d)
        self.subtract_into(y, g_new, g)
        return self.products(rows, g_new)[used], self.dot(s, y), self.dot(y, y), self.max_abs(g_new)

    def direction_into(self, out, coefficients, rows, used, alpha, x, theta=None, trial=None):
        """out ← Σ_q c_q ``rows[used[q]]`` + αx (c given on the host) and, with ``theta``,
        ``trial`` ← θ + out; returns xᵀout."""
        full = np.zeros(rows.shape[0])
        full[used] = coefficients
        self.combination_into(out, full, rows, alpha, x)
        if theta is not None:
            self.add_into(trial, theta, 1.0, out)
        return self.dot(x, out)


class HostVectors(Composed):
    """float64 NumPy arrays; the vector work in BLAS (daxpy, dgemv), and an L-BFGS iteration's two
    passes over its history in ``sparseae.engine._history`` where it is built, ``SPARSEAE_FUSED``
    is not 0 and the history holds :data:`COMPILED_FROM` values or more: each one pass over the
    rows, with the vector work beside it that took passes of its own (s, y, their products, the
    gradient's largest magnitude; the direction's x·d and trial point), its sums in blocks of
    :data:`BLOCK` columns added in a fixed order, so the same bits on every instruction set and any
    number of cores."""

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
        """Zeros whose pages the OS maps when first written: a history's slots that a short fit never
        uses cost nothing (writing all of (c)'s 505 MB history at its creation cost 110 ms an
        iteration over a 10-iteration fit in a fresh process)."""
        return np.zeros(shape)

    def dot(self, x, y):
        return float(np.dot(x, y))

    def max_abs(self, x):
        """The largest magnitude in x (NaN if x holds one), from its largest and smallest values:
        no temporary abs(x)."""
        high, low = float(x.max()), float(x.min())
        return max(high, -low) if high == high and low == low else float("nan")

    def all_finite(self, x):
        return bool(np.isfinite(x).all())

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

    def pair_into(self, rows, used, s_row, y_row, alpha, d, g_new, g):
        if not _compiled(rows):
            return super().pair_into(rows, used, s_row, y_row, alpha, d, g_new, g)
        used = np.asarray(used, dtype=np.int64)
        k, n = len(used), rows.shape[1]
        partials = np.empty((-(-n // BLOCK), k + 3))
        parallel.over_rows(lambda i, first, last: _history.pair(rows, used, s_row, y_row, float(alpha), d, g_new, g,
                                                                first, last, partials), _blocks(partials, k + 2, n))
        sums = _in_block_order(partials[:, :k + 2])
        return sums[:k], float(sums[k]), float(sums[k + 1]), float(partials[:, k + 2].max())

    def direction_into(self, out, coefficients, rows, used, alpha, x, theta=None, trial=None):
        if not _compiled(rows):
            return super().direction_into(out, coefficients, rows, used, alpha, x, theta, trial)
        used = np.asarray(used, dtype=np.int64)
        coefficients = np.ascontiguousarray(coefficients, dtype=np.float64)
        partials = np.empty(-(-rows.shape[1] // BLOCK))
        parallel.over_rows(lambda i, first, last: _history.direction(rows, used, coefficients, float(alpha), x, out,
                                                                     theta, trial, first, last, partials),
                           _blocks(partials, len(used), rows.shape[1]))
        return float(_in_block_order(partials))

    @staticmethod
    def _parts(rows):
        """Row ranges of a history (:func:`_per_core`)."""
        return _per_core(rows.shape[0], rows.size)


def _compiled(rows):
    return _history is not None and rows.size >= COMPILED_FROM and os.environ.get("SPARSEAE_FUSED", "1") != "0"


def _in_block_order(partials):
    """The blocks' partial sums added block after block (``np.add.accumulate`` adds in order, where
    a reduction may add pairwise)."""
    return np.add.accumulate(partials, axis=0)[-1]


def _blocks(partials, k, n):
    """The compiled passes' ranges of blocks, for a pass that reads ``k`` rows of ``n`` values."""
    return _per_core(partials.shape[0], k * n)


def _per_core(count, values):
    """``count`` rows or blocks in ranges, one per core once a pass reads ``values`` ≥ 2^20 (8 MiB):
    its passes are memory-bound, and np.dot and the compiled passes run outside the GIL in
    sparseae's threads (benchmarks/RESULTS.md, "sparseae's own L-BFGS"). BLAS's own threads would
    do the same, but they spin after each call and slow the evaluation that follows."""
    cores = min(parallel.n_cores(), count) if values >= 1 << 20 else 1
    return [(count * i // cores, count * (i + 1) // cores) for i in range(cores)]


class TorchVectors(Composed):
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
