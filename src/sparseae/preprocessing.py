"""The preprocessing of the UFLDL exercises, as scikit-learn transformers.

- :class:`PatchNormalizer`: per-patch mean removal, ±3σ truncation, map to [0.1, 0.9], for a
  sigmoid output layer (the sparse autoencoder exercise).
- :class:`PCAWhitening`: rotate onto the principal axes, keep the fewest components that hold a
  chosen fraction of the variance, and scale each to unit variance.
- :class:`ZCAWhitening`: PCA whitening rotated back to pixel space, with regularisation ε (the
  linear decoder exercise uses ε = 0.1 on colour patches).

Each learns from ``fit`` what it needs to transform new data the same way, has an
``inverse_transform``, and saves with :func:`sparseae.save` (alone or in a Pipeline).

scikit-learn's ``PCA(whiten=True)`` whitens too, but without the ε regularisation UFLDL uses and
with an (m - 1) variance; these follow the exercises' formulas exactly.
"""

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.base import ClassNamePrefixFeaturesOutMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .validation import _check_real, as_float_matrix


class _Transformer(TransformerMixin, BaseEstimator):
    """Shared input handling: sparseae's data checks, then scikit-learn's bookkeeping."""

    def _validate(self, X, reset):
        return validate_data(self, as_float_matrix(X), reset=reset, dtype=np.float64)

    def _validate_inverse(self, Y, width):
        Y = as_float_matrix(Y, name="X")
        if Y.shape[1] != width:
            raise ValueError(
                f"X has {Y.shape[1]} features, but {type(self).__name__}.inverse_transform "
                f"expects {width}"
            )
        return Y

    def _get_state(self):
        fitted = {"n_features_in_": int(self.n_features_in_)}
        arrays = {name: getattr(self, name) for name in self._fitted_arrays}
        return self.get_params(), fitted, arrays

    @classmethod
    def _from_state(cls, params, fitted, arrays):
        model = cls(**params)
        model._check_params()
        model.n_features_in_ = int(fitted["n_features_in_"])
        for name in cls._fitted_arrays:
            value = arrays[name]
            if value.dtype.kind != "f" or not np.isfinite(value).all():
                raise ValueError(f"{name} must hold finite floating-point values")
            setattr(model, name, value)
        model._check_fitted_shapes()
        return model


class PatchNormalizer(OneToOneFeatureMixin, _Transformer):
    """UFLDL's patch normalisation, with the truncation scale learned by ``fit``.

    Each patch (row) loses its own mean; values are truncated to ±3σ, σ being the standard
    deviation of all the mean-removed training values, and [-3σ, 3σ] maps linearly to
    [0.1, 0.9]. ``transform`` uses the σ learned in ``fit``, so new data is scaled the same way;
    :func:`sparseae.datasets.normalize_patches` is the one-shot version.

    Attributes
    ----------
    limit_ : ndarray of shape (1,)
        3σ of the training data (1.0 if the training data is flat).
    """

    _fitted_arrays = ("limit_",)

    def __init__(self):
        pass

    def _check_params(self):
        pass

    def _check_fitted_shapes(self):
        if self.limit_.shape != (1,) or not self.limit_[0] > 0:
            raise ValueError(f"limit_ must be one positive number, got {self.limit_}")

    def fit(self, X, y=None):
        X = self._validate(X, reset=True)
        limit = 3.0 * (X - X.mean(axis=1, keepdims=True)).std()
        self.limit_ = np.array([limit if limit > 0 else 1.0])
        return self

    def transform(self, X):
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        X = X - X.mean(axis=1, keepdims=True)
        limit = self.limit_[0]
        np.clip(X, -limit, limit, out=X)
        return (X / limit + 1.0) * 0.4 + 0.1

    def inverse_transform(self, X):
        """Back to mean-removed pixel values; the per-patch means and the truncation are lost."""
        check_is_fitted(self)
        X = self._validate_inverse(X, self.n_features_in_)
        return ((X - 0.1) / 0.4 - 1.0) * self.limit_[0]


class _Whitening(_Transformer):
    """Eigen-decomposition of the training covariance Σ = (1/m) Σ_i (x - μ)(x - μ)ᵀ."""

    _fitted_arrays = ("mean_", "components_", "explained_variance_")

    def _decompose(self, X):
        self.mean_ = X.mean(axis=0)
        centred = X - self.mean_
        sigma = centred.T @ centred / X.shape[0]  # (n, n)
        variances, U = np.linalg.eigh(sigma)
        order = np.argsort(variances)[::-1]
        return np.clip(variances[order], 0.0, None), U[:, order]

    def _check_fitted_shapes(self):
        k, n = self.components_.shape
        if n != self.n_features_in_ or self.mean_.shape != (n,):
            raise ValueError(f"components_ {self.components_.shape} and mean_ {self.mean_.shape} "
                             f"do not fit {self.n_features_in_} features")
        if self.explained_variance_.shape != (k,):
            raise ValueError(f"explained_variance_ must have shape ({k},)")


class PCAWhitening(ClassNamePrefixFeaturesOutMixin, _Whitening):
    r"""PCA whitening keeping a fraction of the variance (UFLDL's PCA exercise).

    .. math:: x_{\text{PCAwhite}, i} = \frac{u_i^T (x - \mu)}{\sqrt{\lambda_i + \epsilon}},
              \quad i = 1 \dots k

    with λ_i, u_i the eigenvalues and eigenvectors of the training covariance in decreasing
    order and k the fewest components whose variance is at least ``retained_variance`` of the
    total. Components of zero variance are never kept.

    Parameters
    ----------
    retained_variance : float, default 0.99
        In (0, 1].
    epsilon : float, default 0.0
        ε ≥ 0, added to each λ_i before the square root.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
    components_ : ndarray of shape (k, n_features)
        u_1 .. u_k as rows.
    explained_variance_ : ndarray of shape (k,)
        λ_1 .. λ_k.
    """

    def __init__(self, retained_variance=0.99, epsilon=0.0):
        self.retained_variance = retained_variance
        self.epsilon = epsilon

    def _check_params(self):
        _check_real("retained_variance", self.retained_variance, 0, 1, low_open=True)
        _check_real("epsilon", self.epsilon, low=0)

    def fit(self, X, y=None):
        self._check_params()
        X = self._validate(X, reset=True)
        variances, U = self._decompose(X)
        total = variances.sum()
        if total == 0:
            raise ValueError(
                f"X has zero variance in every feature (n_samples = {X.shape[0]}): "
                "there is nothing to whiten"
            )
        cumulative = np.cumsum(variances) / total
        k = int(np.searchsorted(cumulative, self.retained_variance * (1 - 1e-12)) + 1)
        k = min(k, int(np.count_nonzero(variances > variances[0] * 1e-12)))
        self.components_ = U[:, :k].T.copy()
        self.explained_variance_ = variances[:k].copy()
        return self

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    def transform(self, X):
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        rotated = (X - self.mean_) @ self.components_.T  # (m, k)
        return rotated / np.sqrt(self.explained_variance_ + self.epsilon)

    def inverse_transform(self, X):
        """Back to the input space; what the dropped components held is lost."""
        check_is_fitted(self)
        X = self._validate_inverse(X, self.components_.shape[0])
        return (X * np.sqrt(self.explained_variance_ + self.epsilon)) @ self.components_ + self.mean_


class ZCAWhitening(OneToOneFeatureMixin, _Whitening):
    r"""ZCA whitening with regularisation ε (UFLDL's linear decoder exercise).

    .. math:: x_{\text{ZCAwhite}} = U \,\mathrm{diag}\!\left(\frac{1}{\sqrt{\lambda_i + \epsilon}}\right) U^T (x - \mu)

    Parameters
    ----------
    epsilon : float, default 0.1
        ε > 0; UFLDL uses 0.1 on patches with values in [0, 1].

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
    components_ : ndarray of shape (n_features, n_features)
        U's columns as rows.
    explained_variance_ : ndarray of shape (n_features,)
    """

    def __init__(self, epsilon=0.1):
        self.epsilon = epsilon

    def _check_params(self):
        _check_real("epsilon", self.epsilon, low=0, low_open=True)

    def fit(self, X, y=None):
        self._check_params()
        X = self._validate(X, reset=True)
        variances, U = self._decompose(X)
        self.components_ = U.T.copy()
        self.explained_variance_ = variances
        return self

    def _matrix(self, power):
        scale = (self.explained_variance_ + self.epsilon) ** power
        return (self.components_.T * scale) @ self.components_  # U diag(scale) Uᵀ

    def transform(self, X):
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        return (X - self.mean_) @ self._matrix(-0.5)  # symmetric, so no transpose

    def inverse_transform(self, X):
        check_is_fitted(self)
        X = self._validate_inverse(X, self.n_features_in_)
        return X @ self._matrix(0.5) + self.mean_
