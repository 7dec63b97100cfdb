r"""Reconstruction ICA (Le, Karpenko, Ngiam and Ng, NIPS 2011; UFLDL's "RICA"): its objective and
gradient, on the core's rows, chunks, backends and Dask cluster.

With the k x n filter matrix W and the m whitened examples x as rows of X,

.. math::

    J(W) = \frac{\lambda}{m} \sum_{i,j} \sqrt{(W x^{(i)})_j^2 + \epsilon}
         + \frac{1}{2m} \sum_i \lVert W^T W x^{(i)} - x^{(i)} \rVert^2

— ICA's sparsity of the filter responses, smoothed by ε, with the reconstruction cost in place
of ICA's orthonormality constraint (so overcomplete W, k > n, are allowed). With z = W x, its
soft sign s = z / √(z² + ε) and the residual r = Wᵀ z − x, per example

.. math:: \nabla_W = \frac{1}{m} \sum_i \big[(\lambda s + W r)\, x^T + z\, r^T\big]

(in rows: (λ S + R Wᵀ)ᵀ X + Zᵀ R). Both are sums over examples, so one pass over the rows, in
blocks, chunks or Dask partitions, gives them: no ρ̂, no second pass.
"""

import numpy as np

from .engine import NumpyBackend
from .engine.parallel import blocks
from .engine.vectors import HostVectors, on_host
from .errors import DataError, ParameterError
from .objective_base import Evaluated
from .rows import ArrayRows, RowSource


class FilterLayout:
    """θ of RICA: W (k x n) flattened, as the drivers see a layout (``size``, ``layer_sizes``
    [n, k, n] for the memory estimates)."""

    thresholds = None

    def __init__(self, n_features, n_components):
        self.layer_sizes = (int(n_features), int(n_components), int(n_features))
        self.size = int(n_features) * int(n_components)

    def unpack(self, theta):
        if theta.shape != (self.size,):
            raise ParameterError(f"theta must have shape ({self.size},), got {tuple(theta.shape)}")
        return theta.reshape(self.layer_sizes[1], self.layer_sizes[0])


def _check(sparsity_weight, epsilon):
    for name, value, positive in (("sparsity_weight", sparsity_weight, False), ("epsilon", epsilon, True)):
        if not (np.isfinite(value) and (value > 0 if positive else value >= 0)):
            raise ParameterError(f"{name} must be a finite number {'> 0' if positive else '≥ 0'}, got {value!r}")
    return float(sparsity_weight), float(epsilon)


def block_sums(W, X, lam, eps, backend, grad):
    """One block's share: adds Σ_i ∇ into ``grad`` (k x n, on the backend) and returns
    ``(Σ √(z² + ε), ½ Σ ‖r‖²)`` as host floats."""
    xp = backend.xp
    Z = X @ W.T  # (rows, k): W x
    R = Z @ W  # (rows, n): Wᵀ W x ...
    R -= X  # ... - x
    S = xp.sqrt(Z * Z + eps)  # √(z² + ε)
    sparsity = backend.scalar(S.sum())
    reconstruction = 0.5 * backend.scalar(backend.sum_of_squares(R))
    S = Z / S  # s, the soft sign
    S *= lam
    S += R @ W.T  # λ s + W r, as rows
    grad += S.T @ X
    grad += Z.T @ R
    return sparsity, reconstruction


class RicaObjective(Evaluated):
    """J(W) and ∇J(W) of RICA on fixed rows: ``cost, grad = objective(theta)``, θ = W flattened.

    X: an in-memory array (float64 or float32: the arithmetic's dtype), or an
    :class:`~sparseae.rows.NpyRows` read in ``chunk_size`` rows; ``backend``: NumPy by default
    (rows split over the cores), or PyTorch on a device (θ then stays there for L-BFGS).
    """

    sparse_layer = None  # the drivers' ρ̂ tracking and dead-unit resampling do not apply
    rho = None

    class penalty:  # noqa: N801 (what the minibatch driver asks of a penalty)
        uses_target = False

    def __init__(self, X, n_components, *, sparsity_weight=0.1, epsilon=0.01, backend=None, chunk_size=None):
        self.lam, self.eps = _check(sparsity_weight, epsilon)
        out_of_core = isinstance(X, RowSource)
        if len(X.shape) != 2:
            raise DataError(f"X must be 2-D (examples x features), got shape {tuple(X.shape)}")
        self._m, n = X.shape
        self.layout = FilterLayout(n, n_components)
        self.backend = backend if backend is not None else NumpyBackend(
            np.float32 if X.dtype == np.float32 else np.float64)
        self.chunk_size = self._m if chunk_size is None else min(int(chunk_size), self._m)
        if out_of_core or self.chunk_size < self._m:
            self.source, self.X = (X if out_of_core else ArrayRows(X)), None
        else:
            self.source, self.X = None, self.backend.from_host(X)

    def effective_theta(self, theta):
        return theta

    def _sums(self, theta, X):
        """``(Σ √(z² + ε), ½ Σ ‖r‖², Σ ∇)`` over X's rows (on the backend), the rows split over the
        cores and walked in blocks; each core's sums added in a fixed order."""
        backend = self.backend
        W = self.layout.unpack(backend.from_host(theta))
        k, n = W.shape
        rows = backend.block_rows(2 * (k + n), X.shape[0])

        def run(i, lo, hi):
            grad, sparsity, reconstruction = backend.zeros((k, n)), 0.0, 0.0
            for start, stop in blocks(lo, hi, rows):
                s, r = block_sums(W, X[start:stop], self.lam, self.eps, backend, grad)
                sparsity, reconstruction = sparsity + s, reconstruction + r
            return sparsity, reconstruction, grad

        parts = backend.over_rows(run, backend.row_ranges(X.shape[0]))
        grad = parts[0][2]
        for part in parts[1:]:
            grad += part[2]
        return sum(p[0] for p in parts), sum(p[1] for p in parts), grad

    def _chunks(self):
        self.source.check_unchanged()
        for start in range(0, self._m, self.chunk_size):
            yield self.backend.from_host(self.source.rows(start, start + self.chunk_size))

    def evaluate(self, theta):
        """``(terms, grad)``: terms ``sparsity`` (λ/m Σ √(z² + ε)), ``reconstruction`` and
        ``cost``; the gradient float64 where θ is (host, or the backend's device)."""
        with self.backend.computing():
            if self.source is None:
                sums = [self._sums(theta, self.X)]
            else:
                sums = [self._sums(theta, x) for x in self._chunks()]
        grad = sums[0][2]
        for part in sums[1:]:
            grad += part[2]
        return self.terms_from_sums(sum(s[0] for s in sums), sum(s[1] for s in sums), self._m), \
            self._gradient(grad, theta)

    def _gradient(self, grad, theta):
        """The summed gradient / m, float64 where θ is: the host, or the backend's ``vectors``."""
        grad = grad.reshape(-1) / self._m
        if on_host(theta) or not self.backend.vectors.holds(theta):
            return self.backend.to_host(grad)
        return self.backend.vectors.from_host(grad)

    def terms_from_sums(self, sparsity, reconstruction, m):
        sparsity, reconstruction = self.lam * sparsity / m, reconstruction / m
        return {"sparsity": sparsity, "reconstruction": reconstruction, "cost": sparsity + reconstruction}

    def evaluate_batch(self, theta, rows, rho_hat_average=None, momentum=0.1, y=None):
        """J and its gradient on one minibatch (a minibatch solver's step): ``(terms, grad, None)``."""
        if len(rows) > self.chunk_size:
            raise ParameterError(f"a minibatch has {len(rows)} rows, more than chunk_size={self.chunk_size}")
        X = self.backend.from_host(rows)
        with self.backend.computing():
            sparsity, reconstruction, grad = self._sums(theta, X)
        m = X.shape[0]
        terms = self.terms_from_sums(sparsity, reconstruction, m)
        return terms, self.backend.to_host(grad.reshape(-1) / m), None


def _part(block, theta, n_components, lam, eps):
    """One Dask partition's sums (a worker's: NumPy float64)."""
    objective = RicaObjective(np.asarray(block, dtype=np.float64), n_components, sparsity_weight=lam, epsilon=eps)
    s, r, grad = objective._sums(np.asarray(theta, dtype=np.float64), objective.X)
    return s, r, grad


class DaskRicaObjective(RicaObjective):
    """RICA's J on a Dask array's rows: each evaluation's sums computed where the partitions live
    (:mod:`sparseae.distributed`'s cluster, its retry on a failed task), reduced on the client."""

    def __init__(self, X, n_components, *, sparsity_weight=0.1, epsilon=0.01):
        from .distributed import ClusterRows

        self.lam, self.eps = _check(sparsity_weight, epsilon)
        self._m, n = X.shape
        self.layout = FilterLayout(n, n_components)
        self.backend = NumpyBackend()
        self.cluster = ClusterRows(X)

    @property
    def vectors(self):
        return HostVectors()

    def evaluate(self, theta):
        theta = np.asarray(theta, dtype=np.float64)
        k = self.layout.layer_sizes[1]

        def sums(client, blocks):
            [theta_f] = client.scatter([theta], broadcast=True, hash=False)
            return client.gather(client.map(_part, blocks, theta=theta_f, n_components=k, lam=self.lam,
                                            eps=self.eps, pure=False))

        parts = self.cluster.retrying(sums)
        grad = np.sum([p[2] for p in parts], axis=0)
        terms = self.terms_from_sums(sum(p[0] for p in parts), sum(p[1] for p in parts), self._m)
        return terms, grad.reshape(-1) / self._m

    def evaluate_batch(self, *args, **kwargs):
        raise ParameterError("a minibatch solver does not take a Dask array; use a full-batch solver")
