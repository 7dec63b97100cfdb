"""The exact full-batch J_sparse on a Dask array, as a map-reduce on a dask.distributed cluster.

Each evaluation broadcasts θ to the workers once, then runs the notes' two passes over the
array's row chunks where they live: pass 1 maps every chunk to its sparse layer's column sums
and reduces them to ρ̂ on the client; pass 2 maps every chunk, with ρ̂'s δ term, to its squared
error and its share of the gradient, and reduces those. The optimizer stays on the client.

A task that fails, or whose worker dies, is rescheduled by Dask (the chunks are recomputed from
their graph). If Dask gives up on a task instead (it reports it cancelled or its worker killed),
the whole evaluation is run once more from freshly computed chunks; if that fails too, it raises
a RuntimeError saying so. A partial sum is never returned as a gradient: sums are formed only
from a complete ``gather``.

To use a real cluster, connect a Client before calling ``fit``::

    from dask.distributed import Client
    client = Client("tcp://scheduler-address:8786")
    X = dask.array.from_zarr("patches.zarr")         # or from_array, from_npy_stack, ...
    SparseAutoencoder(196).fit(X)
"""

import numpy as np

from .backend import NumpyBackend
from .network import Layout
from .objective import ObjectiveBase, SparseObjective, rho_hat_from_sum, sparsity_term
from .validation import check_finite, check_hyperparameters, check_value_range


def _client():
    try:
        from distributed import default_client
    except ImportError:
        raise ImportError(
            "a Dask array needs dask.distributed: pip install 'sparseae[dask]'"
        ) from None
    try:
        return default_client()
    except ValueError:
        raise ValueError(
            "X is a Dask array but no dask.distributed Client is active; start one first, "
            "e.g. Client(LocalCluster()) or Client('tcp://scheduler:8786')"
        ) from None


def _row_chunks(X):
    """X's row chunks (whole rows each) as delayed objects, and their row offsets."""
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (examples x features), got {X.ndim}-D")
    X = X.rechunk({1: -1})
    offsets = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]]).tolist()
    return list(X.to_delayed().ravel()), offsets


def _block_stats(block, offset):
    block = np.asarray(block, dtype=np.float64)
    try:
        check_finite(block, "X", row_offset=offset)
    except ValueError as exc:
        return str(exc), None, None
    return None, float(block.min()), float(block.max())


def validate_dask_array(X, output_activation):
    """Check every chunk on the cluster (NaN/inf naming the global row, value range)."""
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must be a non-empty 2-D array, got shape {X.shape}")
    client = _client()
    blocks, offsets = _row_chunks(X)
    futures = client.compute(blocks)
    stats = client.gather(client.map(_block_stats, futures, offsets, pure=False))
    for error, _, _ in stats:
        if error:
            raise ValueError(error)
    check_value_range(min(s[1] for s in stats), max(s[2] for s in stats), output_activation)
    return X


def _pass1(block, theta, layer_sizes, params):
    return SparseObjective(layer_sizes, np.asarray(block, np.float64), **params).hidden_sums(theta)


def _pass2(block, theta, layer_sizes, params, sparsity_delta, m):
    objective = SparseObjective(layer_sizes, np.asarray(block, np.float64), **params)
    return objective.data_gradient(theta, sparsity_delta, m)


class DaskObjective(ObjectiveBase):
    """J_sparse(θ) and its gradient over a Dask array's rows, computed on the cluster.

    Same call interface as :class:`SparseObjective`: ``cost, grad = objective(theta)``,
    ``objective.terms(theta)``; same parameters, except that the arithmetic is NumPy float64
    on the workers.
    """

    def __init__(self, layer_sizes, X, *, activation="sigmoid", output_activation="sigmoid",
                 weight_decay=0.0, sparsity_target=0.01, sparsity_weight=0.0, sparse_layer=2):  # fmt: skip
        check_hyperparameters(activation=activation, output_activation=output_activation,
                              weight_decay=weight_decay, sparsity_target=sparsity_target,
                              sparsity_weight=sparsity_weight)  # fmt: skip
        self.layout = Layout(layer_sizes)
        if X.shape[1] != self.layout.layer_sizes[0]:
            raise ValueError(f"X must have shape (m, {self.layout.layer_sizes[0]}), got {X.shape}")
        self.params = dict(activation=activation, output_activation=output_activation,
                           sparsity_target=sparsity_target, sparsity_weight=sparsity_weight,
                           sparse_layer=sparse_layer)  # fmt: skip
        self.lam = float(weight_decay)
        self.backend = NumpyBackend(np.float64)
        self.client = _client()
        self._delayed, _ = _row_chunks(X)
        self.blocks = self.client.compute(self._delayed)  # the chunks, kept on the workers
        self._m = X.shape[0]

    def evaluate(self, theta):
        try:
            return self._evaluate(theta)
        except Exception as first:  # cancelled tasks, killed workers, lost connections
            self.blocks = self.client.compute(self._delayed)
            try:
                return self._evaluate(theta)
            except Exception as second:
                raise RuntimeError(
                    f"the evaluation failed on the Dask cluster twice ({first!r}, then "
                    f"{second!r}); no partial gradient was used"
                ) from second

    def _evaluate(self, theta):
        theta = np.asarray(theta, dtype=np.float64)
        m, sizes, p = self._m, self.layout.layer_sizes, self.params
        client = self.client
        [theta_f] = client.scatter([theta], broadcast=True, hash=False)
        rho_hat, delta_term, sparsity = None, None, 0.0
        if p["sparsity_weight"] > 0:
            sums = client.gather(client.map(_pass1, self.blocks, theta=theta_f,
                                            layer_sizes=sizes, params=p, pure=False))  # fmt: skip
            rho_hat, drho_da = rho_hat_from_sum(np.sum(sums, axis=0), m, p["activation"])
            sparsity, delta_term = sparsity_term(
                p["sparsity_target"], p["sparsity_weight"], rho_hat, drho_da, m
            )
        parts = client.gather(client.map(_pass2, self.blocks, theta=theta_f, layer_sizes=sizes,
                                         params=p, sparsity_delta=delta_term, m=m, pure=False))  # fmt: skip
        sse = sum(part[0] for part in parts)
        grad = np.sum([part[1] for part in parts], axis=0)
        decay = self._decay(self.layout.unpack(theta)[0], self.layout.unpack(grad)[0])
        return self._terms(sse, m, decay, sparsity, rho_hat), grad
