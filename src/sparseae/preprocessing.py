"""The preprocessing of the UFLDL exercises, as scikit-learn transformers with inverse_transform,
saved with :func:`sparseae.save` alone or in a Pipeline:

- :class:`PatchNormalizer`: per-patch mean removal, ±3σ truncation, map to [0.1, 0.9], for a
  sigmoid output layer (the sparse autoencoder exercise);
- :class:`PCAWhitening`: onto the principal axes, the fewest components holding a chosen
  fraction of the variance, each scaled to unit variance;
- :class:`ZCAWhitening`: PCA whitening rotated back to pixel space, regularised by ε.

scikit-learn's ``PCA(whiten=True)`` has no ε and an (m - 1) variance; these follow the
exercises' formulas exactly.
"""

from numbers import Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    OneToOneFeatureMixin,
    TransformerMixin,
)
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from .errors import DataError
from .persistence import register
from .validation import as_float_matrix, validate_params, validate_rows


class _Transformer(TransformerMixin, BaseEstimator):
    """Shared input handling: sparseae's data checks, then scikit-learn's bookkeeping."""

    def _validate(self, X, reset):
        return validate_rows(self, X, reset=reset)

    def _validate_inverse(self, Y, width):
        Y = as_float_matrix(Y, name="X")
        if Y.shape[1] != width:
            raise DataError(
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
        validate_params(model)
        model.n_features_in_ = int(fitted["n_features_in_"])
        for name in cls._fitted_arrays:
            value = arrays[name]
            if value.dtype.kind != "f" or not np.isfinite(value).all():
                raise DataError(f"{name} must hold finite floating-point values")
            setattr(model, name, value)
        model._check_fitted_shapes()
        return model


@register
class PatchNormalizer(OneToOneFeatureMixin, _Transformer):
    """UFLDL's patch normalisation, with the truncation scale learned by ``fit``.

    Each patch (row) loses its own mean. Values are truncated to ±3σ, σ being the standard
    deviation of all the mean-removed training values, and [-3σ, 3σ] maps linearly to
    [0.1, 0.9]. ``transform`` uses the σ learned in ``fit``, so new data is scaled the same way.
    :func:`sparseae.datasets.normalize_patches` is the one-shot version. It takes no parameters:
    σ is learned from the data.

    Attributes
    ----------
    limit_ : ndarray of shape (1,)
        3σ of the training data (1.0 if the training data is flat).

    Raises
    ------
    DataError
        If X is not 2-D, has another number of columns than fitted, or holds NaN or infinite
        values.

    Examples
    --------
    >>> import numpy as np
    >>> import sparseae
    >>> X = np.random.default_rng(0).normal(size=(100, 64))
    >>> Z = sparseae.PatchNormalizer().fit_transform(X)
    >>> bool(Z.min() >= 0.1 and Z.max() <= 0.9)
    True
    """

    _fitted_arrays = ("limit_",)

    _parameter_constraints = {}

    def __init__(self):
        pass

    def _check_fitted_shapes(self):
        if self.limit_.shape != (1,) or not self.limit_[0] > 0:
            raise DataError(f"limit_ must be one positive number, got {self.limit_}")

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
            raise DataError(f"components_ {self.components_.shape} and mean_ {self.mean_.shape} "
                             f"do not fit {self.n_features_in_} features")
        if self.explained_variance_.shape != (k,):
            raise DataError(f"explained_variance_ must have shape ({k},)")


@register
class PCAWhitening(ClassNamePrefixFeaturesOutMixin, _Whitening):
    r"""PCA whitening keeping a fraction of the variance (UFLDL's PCA exercise).

    .. math:: x_{\text{PCAwhite}, i} = \frac{u_i^T (x - \mu)}{\sqrt{\lambda_i + \epsilon}},
              \quad i = 1 \dots k

    with λ_i, u_i the eigenvalues and eigenvectors of the training covariance in decreasing order.

    Parameters
    ----------
    retained_variance : float, default 0.99
        In (0, 1]. k is the fewest components holding at least this fraction of the variance
        (never one of zero variance).
    epsilon : float, default 0.0
        ε ≥ 0, added to each eigenvalue.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        μ.
    components_ : ndarray of shape (k, n_features)
        u_1 .. u_k as rows.
    explained_variance_ : ndarray of shape (k,)
        λ_1 .. λ_k.

    Raises
    ------
    ParameterError
        From ``fit``, if ``retained_variance`` or ``epsilon`` is out of range.
    DataError
        If X is not 2-D, has another number of columns than fitted, or holds NaN or infinite
        values.

    Examples
    --------
    >>> import numpy as np
    >>> import sparseae
    >>> X = np.random.default_rng(0).normal(size=(500, 6)) @ np.diag([5.0, 2.0, 1.0, 0.1, 0.01, 0.001])
    >>> pca = sparseae.PCAWhitening(retained_variance=0.99).fit(X)
    >>> Z = pca.transform(X)
    >>> Z.shape[1], bool(np.allclose(np.cov(Z, rowvar=False, bias=True), np.eye(Z.shape[1])))
    (3, True)
    """

    _parameter_constraints = {
        "retained_variance": [Interval(Real, 0, 1, closed="right")],
        "epsilon": [Interval(Real, 0, np.inf, closed="left")],
    }

    def __init__(self, retained_variance=0.99, epsilon=0.0):
        self.retained_variance = retained_variance
        self.epsilon = epsilon

    def fit(self, X, y=None):
        validate_params(self)
        X = self._validate(X, reset=True)
        variances, U = self._decompose(X)
        total = variances.sum()
        if total == 0:
            raise DataError(
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

    def _affine_map(self):
        """``(A, c)`` with transform(x) = x Aᵀ + c, for folding into a convolution's weights."""
        A = self.components_ / np.sqrt(self.explained_variance_ + self.epsilon)[:, None]
        return A, -(self.mean_ @ A.T)

    def inverse_transform(self, X):
        """Back to the input space; what the dropped components held is lost."""
        check_is_fitted(self)
        X = self._validate_inverse(X, self.components_.shape[0])
        return (X * np.sqrt(self.explained_variance_ + self.epsilon)) @ self.components_ + self.mean_


@register
class ZCAWhitening(OneToOneFeatureMixin, _Whitening):
    r"""ZCA whitening with regularisation ε (UFLDL's linear decoder exercise).

    .. math:: x_{\text{ZCAwhite}} = U \,\mathrm{diag}\!\left(\frac{1}{\sqrt{\lambda_i + \epsilon}}\right) U^T (x - \mu)

    ZCA is PCA whitening rotated back to the input space, so a whitened patch still looks like a
    patch.

    Parameters
    ----------
    epsilon : float, default 0.1
        ε > 0 (UFLDL uses 0.1 on patches in [0, 1]).

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
    components_ : ndarray of shape (n_features, n_features)
        U's columns as rows.
    explained_variance_ : ndarray of shape (n_features,)
        The λ_i.

    Raises
    ------
    ParameterError
        From ``fit``, if ``epsilon`` is not positive.
    DataError
        If X is not 2-D, has another number of columns than fitted, or holds NaN or infinite
        values.

    Examples
    --------
    >>> import numpy as np
    >>> import sparseae
    >>> X = np.random.default_rng(0).normal(size=(500, 6)) @ np.diag([5.0, 2.0, 1.0, 1.0, 0.5, 0.5])
    >>> zca = sparseae.ZCAWhitening(epsilon=1e-9).fit(X)
    >>> Z = zca.transform(X)
    >>> bool(np.allclose(np.cov(Z, rowvar=False, bias=True), np.eye(6), atol=1e-6))
    True
    >>> bool(np.allclose(zca.inverse_transform(Z), X))
    True
    """

    _parameter_constraints = {"epsilon": [Interval(Real, 0, np.inf, closed="neither")]}

    def __init__(self, epsilon=0.1):
        self.epsilon = epsilon

    def fit(self, X, y=None):
        validate_params(self)
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

    def _affine_map(self):
        """``(A, c)`` with transform(x) = x Aᵀ + c, for folding into a convolution's weights."""
        A = self._matrix(-0.5)
        return A, -(self.mean_ @ A)

    def inverse_transform(self, X):
        check_is_fitted(self)
        X = self._validate_inverse(X, self.n_features_in_)
        return X @ self._matrix(0.5) + self.mean_
