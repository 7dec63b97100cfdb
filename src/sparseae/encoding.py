"""A fitted SparseAutoencoder as functions of rows: its code (``transform``, with the sparse
layer's selection or thresholds), its decoder, its reconstruction (of a prefix of the units, for
a Matryoshka dictionary) and its score."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .activations import ACTIVATIONS
from .engine import NumpyBackend
from .errors import DataError, ParameterError
from .jumprelu import JumpReLU
from .network import forward
from .penalties import PENALTIES
from .validation import as_float_matrix, validate_rows


class FittedAutoencoder:
    """``transform``, ``inverse_transform``, ``reconstruct``, ``score`` and the fitted weights'
    views, for :class:`~sparseae.estimator.SparseAutoencoder`."""

    # -- the fitted model --------------------------------------------------------------------

    @property
    def layer_sizes_(self):
        """``[n_features, n_hidden, n_features]``."""
        check_is_fitted(self)
        return [self.n_features_in_, self.coefs_[0].shape[1], self.n_features_in_]

    @property
    def _n_features_out(self):
        """For get_feature_names_out: one output per hidden unit (AttributeError if unfitted)."""
        return self.coefs_[0].shape[1]

    @property
    def components_(self):
        """W1 of shape (n_hidden, n_features): row i is what hidden unit i responds to."""
        check_is_fitted(self)
        return self.coefs_[0].T

    def _weights(self):
        return [c.T for c in self.coefs_], self.intercepts_

    def transform(self, X):
        """Hidden activations a(2) = f(W1 x + b1), shape (m, n_hidden)."""
        check_is_fitted(self)
        X = validate_rows(self, X, reset=False)
        Ws, bs = self._weights()
        per_example = self._top_k() if PENALTIES[self.sparsity].select is not None else None
        a = forward(Ws, bs, X, self.activation, self.output_activation, n_layers=2, top_k=per_example,
                    threshold=self.threshold_)
        return a[-1]

    def _affine_code(self):
        """The code as an affine map and what follows it, for
        :class:`~sparseae.convolution.ConvolutionalFeatures`: ``(W, b, finish)`` with W1 as
        (n_hidden, n_features), b1, and ``finish(z, b)`` turning z = x W1ᵀ into the code in place
        (f(z + b), or the thresholded layer's, then TopK's selection): :meth:`transform`'s code."""
        check_is_fitted(self)
        backend = NumpyBackend()
        f = ACTIVATIONS[self.activation]
        gate = None if self.threshold_ is None else JumpReLU(self.threshold_, backend)
        top_k = self._top_k() if PENALTIES[self.sparsity].select is not None else None

        def finish(z, b):
            if gate is not None:
                gate.forward(z, b)
            else:
                backend.activate(f, z, b)
            if top_k is not None:
                backend.keep_top_k(z, top_k)
            return z

        return self.coefs_[0].T, self.intercepts_[0], finish

    def inverse_transform(self, H):
        """Decode hidden activations: h = f_out(W2 a(2) + b2), shape (m, n_features)."""
        check_is_fitted(self)
        H = as_float_matrix(H, name="H")
        n_hidden = self.coefs_[1].shape[0]
        if H.shape[1] != n_hidden:
            raise DataError(
                f"H has {H.shape[1]} columns, but this autoencoder has {n_hidden} hidden units"
            )
        Ws, bs = self._weights()
        z = H @ Ws[1].T  # (m, n_features)
        return NumpyBackend().activate(ACTIVATIONS[self.output_activation], z, bs[1])

    def reconstruct(self, X, n_units=None):
        """h(x) = inverse_transform(transform(X)), the network's output; ``n_units``: from the code
        of the first n_units hidden units alone (a Matryoshka prefix), the others set to 0."""
        H = self.transform(X)
        if n_units is not None:
            if not (isinstance(n_units, (int, np.integer)) and 1 <= n_units <= H.shape[1]):
                raise ParameterError(f"n_units must be a whole number from 1 to {H.shape[1]}, got {n_units!r}")
            H[:, n_units:] = 0.0
        return self.inverse_transform(H)

    def score(self, X, y=None):
        """The negative mean squared reconstruction error, -mean((h(x) - x)^2): higher is better."""
        X = validate_rows(self, X, reset=False)
        return -float(np.mean((self.reconstruct(X) - X) ** 2))
