"""What the training layer asks of :class:`~sparseae.SparseAutoencoder` (the
:class:`~sparseae.fitting.Trainable` contract): θ's layout and start, and J on a set of rows (the
training rows', in chunks or minibatches, on a Dask cluster, and the held-out rows')."""

import warnings

import numpy as np

from ._data import is_dask_array
from .engine import get_backend
from .errors import ParameterError
from .initialisation import decoder_bias, initial_theta, resolved_decoder_norm, resolved_init
from .network import Layout
from .objective import SparseObjective
from .penalties import PENALTIES


class AutoencoderTraining:
    """The autoencoder's side of training: ``_layout``, ``_initial_theta``, ``_objective``."""

    @staticmethod
    def _no_dask(X):
        if is_dask_array(X):
            raise ParameterError("solver='adam' does not take a Dask array; use a full-batch solver")
        return X

    def _initial_theta(self, n, source=None, minibatch=None):
        """θ0 by ``init``, with the decoder bias from ``source``'s first rows (``decoder_bias_init``);
        "auto" as for ``solver``'s kind, or for a minibatch solver if ``minibatch``."""
        minibatch = self._solver().minibatch if minibatch is None else minibatch
        init, how = resolved_init(self.init, self.decoder_bias_init, self.sparsity, minibatch)
        if init != "tied" and self.decoder_init_norm != "auto":
            warnings.warn(f"decoder_init_norm={self.decoder_init_norm} is the tied start's; init={self.init!r} "
                          f"starts {init!r}, so it is not used", UserWarning, stacklevel=4)
        bias = None if how == "zeros" else decoder_bias(self._sample_rows(source), how)
        norm = resolved_decoder_norm(self.decoder_init_norm, self.sparsity, minibatch)
        return initial_theta(self._layout(n), self.random_state, init, bias, decoder_norm=norm)

    def _minibatch_theta(self, n, source=None):
        """θ0 of ``partial_fit`` and ``fit_stream`` (Adam's, whatever ``solver`` says)."""
        return self._initial_theta(n, source, minibatch=True)

    def _layout(self, n):
        """θ's layout for n features: W1, b1, W2, b2, and JumpReLU's log θ_j."""
        gated = PENALTIES[self.sparsity].gated
        return Layout([n, self.n_hidden, n], thresholds=2 if gated else None)

    @property
    def _penalty_name(self):
        return self.sparsity

    def _min_training_rows(self):
        return self.n_hidden

    def _width(self):
        return self.n_hidden

    def _objective(self, source, targets, chunk_size, aux=True):
        """J_sparse on ``source``'s rows (two passes in chunks of ``chunk_size``; a Dask array on
        the cluster), with AuxK's term if ``aux``. An autoencoder's targets are its rows."""
        n = source.shape[1]
        params = dict(activation=self.activation, output_activation=self.output_activation,
                      sparsity=self.sparsity, weight_decay=self.weight_decay,
                      sparsity_target=self.sparsity_target, sparsity_weight=self.sparsity_weight,
                      top_k=self._top_k(), decoder_norm=self.decoder_norm,
                      jumprelu_bandwidth=self.jumprelu_bandwidth,
                      nested=None if self.matryoshka is None else tuple(self.matryoshka),
                      aux_k=self.aux_k if aux else None, aux_k_weight=self.aux_k_weight, dead_after=self.dead_after,
                      input_scale=getattr(self, "_input_scale", None))
        if is_dask_array(source):
            if self._solver().minibatch:
                self._no_dask(source)
            from .distributed import DaskObjective

            return DaskObjective([n, self.n_hidden, n], source, **params)
        backend = get_backend(self.device, np.dtype(self.dtype))
        return SparseObjective([n, self.n_hidden, n], source, backend=backend, chunk_size=chunk_size, **params)

    def _held_out_objective(self, rows, targets):
        """J on the held-out rows without AuxK's term, a training device whose dead units would
        be counted over the held-out evaluations' history: the score is J's own terms."""
        return self._objective(rows, targets, None, aux=False)

    def _top_k(self):
        return self.k if PENALTIES[self.sparsity].uses_k else None
