"""The exact full-batch J_sparse on a Dask array, as a map-reduce on a dask.distributed cluster.

Each evaluation broadcasts θ to the workers once and runs the notes' two passes over the row
chunks where they live (pass 1: column sums, reduced to ρ̂ on the client; pass 2: each chunk's
loss and share of the gradient, reduced); the optimizer stays on the client. A task that fails
is rescheduled by Dask; if Dask gives up on one (cancelled, worker killed), the evaluation runs
once more from freshly computed chunks, and a second failure is a DeviceError. Sums are formed
only from a complete ``gather``: a partial gradient is never returned.

To use a real cluster, connect a Client before calling ``fit``::

    client = dask.distributed.Client("tcp://scheduler-address:8786")
    SparseAutoencoder(196).fit(dask.array.from_zarr("patches.zarr"))
"""

import numpy as np

from .batchtopk import thresholds
from .engine.vectors import HostVectors
from .errors import DataError, DeviceError, ParameterError
from .jumprelu import BANDWIDTH
from .objective import ObjectiveBase, SparseObjective
from .validation import check_finite, check_value_range


def _client():
    try:
        from distributed import default_client
    except ImportError:
        raise DeviceError(
            "a Dask array needs dask.distributed: pip install 'sparseae[dask]'"
        ) from None
    try:
        return default_client()
    except ValueError:
        raise ParameterError(
            "X is a Dask array but no dask.distributed Client is active; start one first, "
            "e.g. Client(LocalCluster()) or Client('tcp://scheduler:8786')"
        ) from None


def _row_chunks(X):
    """X's row chunks (whole rows each) as delayed objects, and their row offsets."""
    if X.ndim != 2:
        raise DataError(f"X must be 2-D (examples x features), got {X.ndim}-D")
    X = X.rechunk({1: -1})
    offsets = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]]).tolist()
    return list(X.to_delayed().ravel()), offsets


def _block_stats(block, offset):
    block = np.asarray(block, dtype=np.float64)
    try:
        check_finite(block, "X", row_offset=offset)
    except DataError as exc:
        return str(exc), None, None
    return None, float(block.min()), float(block.max())


def validate_dask_array(X, output_activation):
    """Check every chunk on the cluster (NaN/inf naming the global row, the value range of
    ``output_activation`` unless it is None)."""
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise DataError(f"X must be a non-empty 2-D array, got shape {X.shape}")
    client = _client()
    blocks, offsets = _row_chunks(X)
    futures = client.compute(blocks)
    stats = client.gather(client.map(_block_stats, futures, offsets, pure=False))
    for error, _, _ in stats:
        if error:
            raise DataError(error)
    if output_activation is not None:
        check_value_range(min(s[1] for s in stats), max(s[2] for s in stats), output_activation)
    return X


class ClusterRows:
    """A Dask array's row chunks, computed once and kept on the workers, and the retry every
    evaluation on them shares: ``retrying(fn)`` runs ``fn(client, blocks)``; if that fails
    (cancelled tasks, a killed worker, a lost connection) the chunks are computed afresh (and
    ``refresh()`` called, for what else lives on the workers) and ``fn`` runs once more; a second
    failure is a DeviceError. Nothing partial is returned."""

    def __init__(self, X, refresh=None):
        self.client = _client()
        self._delayed, self.offsets = _row_chunks(X)
        self.blocks = self.client.compute(self._delayed)
        self.refresh = refresh

    def retrying(self, fn):
        try:
            return fn(self.client, self.blocks)
        except Exception as first:
            self.blocks = self.client.compute(self._delayed)
            if self.refresh is not None:
                self.refresh()
            try:
                return fn(self.client, self.blocks)
            except Exception as second:
                raise DeviceError(
                    f"the evaluation failed on the Dask cluster twice ({first!r}, then "
                    f"{second!r}); no partial gradient was used"
                ) from second


def _pass1(block, theta, layer_sizes, params):
    return SparseObjective(layer_sizes, np.asarray(block, np.float64), **params).hidden_sums(theta)


def _pass2(block, targets, theta, layer_sizes, params, sparsity_delta, m, batch_threshold=None):
    objective = SparseObjective(layer_sizes, np.asarray(block, np.float64), targets, **params)
    return objective.data_gradient(theta, sparsity_delta, m, batch_threshold)


def _largest(block, theta, layer_sizes, params, count):
    return SparseObjective(layer_sizes, np.asarray(block, np.float64), **params).largest(theta, count)


class DaskObjective(ObjectiveBase):
    """J_sparse(θ) and its gradient over a Dask array's rows, computed on the cluster.

    Same call interface and parameters as :class:`~sparseae.objective.SparseObjective`
    (``cost, grad = objective(theta)``, ``objective.terms(theta)``), except that the arithmetic
    is NumPy float64 on the workers. Targets Y (an in-memory array, m rows) are sent to the
    workers once, cut like X's row chunks.
    """

    def __init__(self, layer_sizes, X, Y=None, *, activation="sigmoid", output_activation="sigmoid",
                 loss="squared_error", sparsity="kl", weight_decay=0.0, sparsity_target=0.01,
                 sparsity_weight=0.0, sparse_layer=2, top_k=None, decoder_norm=None, jumprelu_bandwidth=BANDWIDTH,
                 nested=None, aux_k=None, aux_k_weight=None, dead_after=None, input_scale=None, center_encoder=False):
        if aux_k is not None:
            raise ParameterError("aux_k does not run on a Dask array yet (its dead-unit counts live in one process); "
                                 "train on a .npy file or a memmap instead")
        self._set_model(
            layer_sizes, "DaskObjective", activation=activation,
            output_activation=output_activation, loss=loss, sparsity=sparsity,
            weight_decay=weight_decay, sparsity_target=sparsity_target,
            sparsity_weight=sparsity_weight, sparse_layer=sparse_layer, top_k=top_k,
            decoder_norm=decoder_norm, jumprelu_bandwidth=jumprelu_bandwidth, nested=nested,
            center_encoder=center_encoder,
        )
        if self.gated:
            self.params["jumprelu_bandwidth"] = self.bandwidth
        if input_scale is not None:  # each worker scales its rows as it reads them
            self.params["input_scale"] = float(input_scale)
        if X.shape[1] != self.layout.layer_sizes[0]:
            raise DataError(f"X must have shape (m, {self.layout.layer_sizes[0]}), got {X.shape}")
        self.cluster = ClusterRows(X, refresh=self._refresh_targets)  # the chunks, kept on the workers
        self.client, offsets = self.cluster.client, self.cluster.offsets
        self._m = X.shape[0]
        self._targets = [None] * len(offsets)
        if Y is not None:
            Y = np.asarray(Y, dtype=np.float64)
            if Y.shape != (self._m, self.layout.layer_sizes[-1]):
                expected = (self._m, self.layout.layer_sizes[-1])
                raise DataError(f"Y must have shape {expected}, got {Y.shape}")
            if self.loss.check_targets is not None:
                self.loss.check_targets(Y)
            self._targets = [Y[start:stop] for start, stop in zip(offsets, offsets[1:] + [self._m])]
        self.targets = self._scatter_targets()

    @property
    def vectors(self):
        """θ stays on the client's host: each evaluation sends it to the workers."""
        return HostVectors()

    def _scatter_targets(self):
        if self._targets[0] is None:
            return self._targets
        return self.client.scatter(self._targets, hash=False)

    def _refresh_targets(self):
        self.targets = self._scatter_targets()

    @property
    def blocks(self):
        return self.cluster.blocks

    def evaluate(self, theta):
        return self._reparametrised(theta, lambda theta: self.cluster.retrying(lambda *_: self._evaluate(theta)))

    def _evaluate(self, theta):
        theta = np.asarray(theta, dtype=np.float64)
        client, sizes, m = self.client, self.layout.layer_sizes, self._m
        params = {k: v for k, v in self.params.items() if k != "weight_decay"}
        [theta_f] = client.scatter([theta], broadcast=True, hash=False)

        def pass1():
            sums = client.gather(client.map(_pass1, self.blocks, theta=theta_f, layer_sizes=sizes,
                                            params=params, pure=False))
            return np.sum(sums, axis=0)

        threshold, parts = None, []
        if self.penalty.batch_k:  # BatchTopK's t: each chunk's k·m largest, merged here
            count = self.top_k * m
            found = client.gather(client.map(_largest, self.blocks, theta=theta_f, layer_sizes=sizes, params=params,
                                             count=count + 1, pure=False))
            threshold, self.inference_threshold = thresholds((values for values, _ in found), count)
            self.batch_threshold = threshold

        def pass2(sparsity_delta):
            parts[:] = client.gather(client.map(_pass2, self.blocks, self.targets, theta=theta_f,
                                                layer_sizes=sizes, params=params, sparsity_delta=sparsity_delta,
                                                m=m, batch_threshold=threshold, pure=False))
            return sum(part[0] for part in parts), np.sum([part[1] for part in parts], axis=0)

        def gate_sums():  # a thresholded layer's per-unit counts and sums, from pass 2's parts
            return tuple(np.sum([part[2][i] for part in parts], axis=0) for i in (0, 1))

        return self.evaluate_passes(theta, m, pass1, pass2, gate_sums=gate_sums)
