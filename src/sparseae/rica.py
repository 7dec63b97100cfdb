"""RICA, reconstruction ICA, as a scikit-learn transformer trained by the core's drivers: full-batch
solvers or Adam, in memory, chunk by chunk from a ``.npy`` file, on a Dask cluster, in float32 or
on a PyTorch device; held-out rows, early stopping and checkpoints as for the autoencoder. The
objective is :mod:`sparseae.reconstruction_ica`'s.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from . import persistence
from ._data import is_dask_array
from .engine import get_backend
from .errors import DataError, ModelFileError
from .fitting import Trainable
from .reconstruction_ica import DaskRicaObjective, FilterLayout, RicaObjective
from .validation import CONSTRAINTS, as_float_matrix, validate_params, validate_rows


@persistence.register
class RICA(Trainable, ClassNamePrefixFeaturesOutMixin, TransformerMixin, persistence.Saveable, BaseEstimator):
    r"""Reconstruction ICA (Le et al., 2011): k filters W whose responses W x are sparse and whose
    WᵀW x reconstructs x, for whitened data (put a :class:`~sparseae.ZCAWhitening` before it).

    .. math:: J(W) = \frac{\lambda}{m} \sum_i \sum_j \sqrt{(W x^{(i)})_j^2 + \epsilon}
                   + \frac{1}{2m} \sum_i \lVert W^T W x^{(i)} - x^{(i)} \rVert^2

    Parameters
    ----------
    n_components : int, default 100
        k, the filters (more than the features is allowed: an overcomplete basis).
    sparsity_weight : float, default 0.1
        λ ≥ 0.
    epsilon : float, default 0.01
        ε > 0 of the smooth absolute value √(z² + ε) (the UFLDL tutorial's 0.01).
    max_iter, tol, solver, learning_rate, beta_1, batch_size, lbfgs_memory, dtype, device,
    validation_fraction, early_stopping, n_iter_no_change, callback, random_state, verbose : as
        :class:`~sparseae.SparseAutoencoder`'s. W starts as standard normal rows scaled to unit
        norm (the tutorial's start).

    Attributes
    ----------
    components_ : ndarray (n_components, n_features), W: row j is filter j
    n_iter_, loss_, loss_curve_, n_features_in_

    Raises
    ------
    ParameterError
        From ``fit``, if a parameter is out of its range or contradicts another. The message names
        the parameter, the value given and what is allowed.
    DataError
        From ``fit`` and ``transform``, if X is not 2-D, has the wrong number of columns, or holds
        NaN or infinite values (named by row and column).
    NonFiniteCostError
        From ``fit``, if the cost becomes non-finite. The last finite parameters are kept.

    Examples
    --------
    >>> import sparseae
    >>> from sklearn.pipeline import make_pipeline
    >>> from sparseae.datasets import natural_images, sample_patches
    >>> patches = sample_patches(natural_images(), 2000, 8, random_state=0)
    >>> rica = sparseae.RICA(32, sparsity_weight=0.05, tol=1e-3, max_iter=500, random_state=0).fit(patches)
    >>> rica.components_.shape, rica.transform(patches).shape
    ((32, 64), (2000, 32))
    """

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "sparsity_weight": CONSTRAINTS["sparsity_weight"],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        **{name: CONSTRAINTS[name] for name in (
            "max_iter", "tol", "solver", "learning_rate", "beta_1", "batch_size", "lbfgs_memory", "dtype", "device",
            "validation_fraction", "early_stopping", "n_iter_no_change", "callback", "random_state", "verbose")},
    }

    def __init__(self, n_components=100, *, sparsity_weight=0.1, epsilon=0.01, max_iter=400, tol=1e-5,
                 solver="lbfgs", learning_rate="auto", beta_1="auto", batch_size="auto", lbfgs_memory="auto",
                 dtype="float64", device=None, validation_fraction=0.0, early_stopping=False, n_iter_no_change=10,
                 callback=None, random_state=None, verbose=0):
        self.n_components, self.sparsity_weight, self.epsilon = n_components, sparsity_weight, epsilon
        self.max_iter, self.tol, self.solver, self.learning_rate = max_iter, tol, solver, learning_rate
        self.beta_1, self.batch_size, self.lbfgs_memory = beta_1, batch_size, lbfgs_memory
        self.dtype, self.device, self.random_state, self.verbose = dtype, device, random_state, verbose
        self.validation_fraction, self.early_stopping = validation_fraction, early_stopping
        self.n_iter_no_change, self.callback = n_iter_no_change, callback

    def fit(self, X, y=None, *, checkpoint=None, checkpoint_every=10, resume_from=None):
        """Learn W from X (whitened examples as rows: an array, a ``.npy`` path or memmap read in
        chunks, or a Dask array). Returns self. ``checkpoint``, ``checkpoint_every`` and
        ``resume_from`` as :meth:`SparseAutoencoder.fit`'s."""
        validate_params(self)
        resumed = self._read_resume(resume_from) if resume_from is not None else None
        source, m, n = self._training_data(X, reset=True)
        fingerprint = self._fingerprint(source, m, n, checkpoint, resumed)
        layout = FilterLayout(n, self.n_components)
        before, theta0 = self._starting_point(layout, source, m, resumed)
        return self._train(source, None, m, n, theta0, before=before, resumed=resumed, checkpoint=checkpoint,
                           checkpoint_every=checkpoint_every, fingerprint=fingerprint)

    def _initial_theta(self, layout):
        W = check_random_state(self.random_state).standard_normal((layout.layer_sizes[1], layout.layer_sizes[0]))
        W /= np.linalg.norm(W, axis=1, keepdims=True)
        return W.reshape(-1)

    def _width(self):
        return self.n_components

    def _objective(self, source, targets, chunk_size):
        params = dict(sparsity_weight=self.sparsity_weight, epsilon=self.epsilon)
        if is_dask_array(source):
            return DaskRicaObjective(source, self.n_components, **params)
        return RicaObjective(source, self.n_components, backend=get_backend(self.device, np.dtype(self.dtype)),
                             chunk_size=chunk_size, **params)

    def _adopt(self, objective, theta):
        self.theta_ = np.array(theta, dtype=np.float64)
        self.components_ = self.theta_.reshape(self.n_components, -1)
        self.loss_ = float(objective.terms(self.theta_)["cost"])

    # -- the fitted model ------------------------------------------------------------------

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    def transform(self, X):
        """The filter responses W x, shape (m, n_components)."""
        check_is_fitted(self)
        return validate_rows(self, X, reset=False) @ self.components_.T

    def inverse_transform(self, Z):
        """Wᵀ z: the reconstruction from responses, shape (m, n_features)."""
        check_is_fitted(self)
        Z = as_float_matrix(Z, name="Z")
        if Z.shape[1] != self.n_components:
            raise DataError(f"Z has {Z.shape[1]} columns, but this RICA has {self.n_components} filters")
        return Z @ self.components_

    def score(self, X, y=None):
        """-J(W) on X's rows (higher is better)."""
        check_is_fitted(self)
        X = validate_rows(self, X, reset=False)
        return -RicaObjective(X, self.n_components, sparsity_weight=self.sparsity_weight,
                              epsilon=self.epsilon).terms(self.theta_)["cost"]

    def _affine_code(self):
        """For :class:`~sparseae.convolution.ConvolutionalFeatures`: W, no bias, and no f."""
        check_is_fitted(self)

        def finish(z, b):
            if b is not None:
                z += b
            return z

        return self.components_, np.zeros(self.n_components), finish

    # -- persistence: plain numbers and JSON, never pickle -----------------------------------

    def _get_state(self):
        fitted = {"n_features_in_": int(self.n_features_in_), "n_iter_": self.n_iter_, "loss_": self.loss_,
                  "loss_curve_": self.loss_curve_}
        return self._json_params(), fitted, {"W": self.components_}

    @classmethod
    def _from_state(cls, params, fitted, arrays):
        model = cls(**params)
        validate_params(model)
        n = int(fitted["n_features_in_"])
        W = arrays["W"]
        if W.shape != (model.n_components, n) or W.dtype.kind != "f" or not np.isfinite(W).all():
            raise ModelFileError(f"W must hold ({model.n_components}, {n}) finite values")
        model.theta_ = np.array(W, dtype=np.float64).reshape(-1)
        model.components_ = model.theta_.reshape(model.n_components, n)
        model.n_features_in_ = n
        model.n_iter_, model.loss_ = int(fitted["n_iter_"]), float(fitted["loss_"])
        model.loss_curve_ = [float(v) for v in fitted["loss_curve_"]]
        return model
