r"""Softmax regression (UFLDL): the classifier that sits on top of learned features.

.. math:: p(j \mid x) = \frac{e^{W_j x + b_j}}{\sum_{j'} e^{W_{j'} x + b_{j'}}}, \qquad
          J = -\frac{1}{m} \sum_i \log p(y^{(i)} \mid x^{(i)}) + \frac{\lambda}{2} \lVert W \rVert^2

It is the core's objective on a two-layer network [n, k] with the registered ``softmax`` output
and ``cross_entropy`` loss (:mod:`sparseae.backprop`), so backends, float32 and the solvers come
with it; biases are not decayed.
"""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from . import persistence
from ._data import is_dask_array
from .engine import get_backend
from .errors import DataError, ModelFileError, SparseaeError
from .fitting import Trainable
from .network import Layout, forward
from .objective import SparseObjective
from .validation import CONSTRAINTS, Names, require_labels, validate_labels, validate_params, validate_rows


class Classifier(persistence.Saveable, ClassifierMixin):
    """What both classifiers share: ``score`` (accuracy) whose bad labels are a DataError."""

    def _fitted_state(self, **more):
        """The fitted numbers both classifiers save (labels as a JSON list: ints, floats, strings)."""
        return {"n_features_in_": int(self.n_features_in_), "classes_": self.classes_.tolist(),
                "n_iter_": self.n_iter_, "loss_": self.loss_, "loss_curve_": self.loss_curve_,
                **more}

    def _adopt_fitted_state(self, fitted):
        self.classes_ = np.asarray(fitted["classes_"])
        self.n_iter_, self.loss_ = int(fitted["n_iter_"]), float(fitted["loss_"])
        self.loss_curve_ = [float(v) for v in fitted["loss_curve_"]]

    def score(self, X, y, sample_weight=None):
        try:
            return super().score(X, y, sample_weight)
        except SparseaeError:
            raise
        except ValueError as exc:  # labels of another kind, or another count, than X's rows
            raise DataError(f"y: {' '.join(str(exc).split())}") from None


def one_hot(indices, k):
    """An (m, k) float64 matrix with a 1 at each row's class index."""
    return np.eye(k)[indices]


@persistence.register
class SoftmaxRegression(Trainable, Classifier, BaseEstimator):
    """Softmax regression: a scikit-learn classifier for any hashable labels.

    Parameters
    ----------
    weight_decay : float, default 1e-4
        λ ≥ 0 on W (UFLDL's softmax exercise uses 1e-4).
    max_iter, tol, solver, learning_rate, beta_1, batch_size : as
        :class:`~sparseae.SparseAutoencoder`'s ("auto" ``max_iter``: the solver's; 400 by default).
    validation_fraction, early_stopping, n_iter_no_change, callback : as
        :class:`~sparseae.SparseAutoencoder`'s; the held-out score is the cross-entropy.
    dtype, device, random_state, verbose : as :class:`~sparseae.SparseAutoencoder`'s; the initial
        W is UFLDL's, 0.005 times standard normal values.

    Attributes
    ----------
    classes_, coef_ (n_classes, n_features), intercept_, n_iter_, loss_, loss_curve_

    Raises
    ------
    ParameterError
        From ``fit``, if a parameter is out of its range or contradicts another. The message names
        the parameter, the value given and what is allowed.
    DataError
        From ``fit`` and ``transform``, if X is not 2-D, has the wrong number of columns, or holds
        NaN or infinite values (named by row and column), or y has one class or the wrong
        length.
    NonFiniteCostError
        From ``fit``, if the cost becomes non-finite. The last finite parameters are kept.

    Examples
    --------
    >>> import sparseae
    >>> from sparseae.datasets import load_digits
    >>> X, y = load_digits()
    >>> clf = sparseae.SoftmaxRegression(1e-4, random_state=0).fit(X[:1000], y[:1000])
    >>> clf.coef_.shape, bool(clf.score(X[1000:], y[1000:]) > 0.9)
    ((10, 64), True)
    >>> bool(abs(clf.predict_proba(X[:3]).sum(axis=1) - 1).max() < 1e-12)
    True
    """

    _parameter_constraints = {
        name: CONSTRAINTS[name]
        for name in ("weight_decay", "tol", "solver", "learning_rate", "beta_1", "batch_size", "dtype", "device",
                     "validation_fraction", "early_stopping", "n_iter_no_change", "callback", "random_state",
                     "verbose")
    }
    _parameter_constraints["max_iter"] = CONSTRAINTS["max_iter"] + [Names(("auto",))]

    def __init__(self, weight_decay=1e-4, *, max_iter=400, tol=1e-5, solver="lbfgs", learning_rate="auto",
                 beta_1="auto", batch_size="auto", dtype="float64", device=None, validation_fraction=0.0,
                 early_stopping=False, n_iter_no_change=10, callback=None, random_state=None, verbose=0):
        self.weight_decay, self.max_iter, self.tol, self.solver = weight_decay, max_iter, tol, solver
        self.learning_rate, self.beta_1, self.batch_size = learning_rate, beta_1, batch_size
        self.dtype, self.device, self.random_state, self.verbose = dtype, device, random_state, verbose
        self.validation_fraction, self.early_stopping = validation_fraction, early_stopping
        self.n_iter_no_change, self.callback = n_iter_no_change, callback

    def fit(self, X, y, *, checkpoint=None, checkpoint_every=10, resume_from=None):
        """Learn W and b from X (one example per row: an array, a ``.npy`` path or memmap read in
        chunks, or a Dask array) and its labels y. Returns self. ``checkpoint``,
        ``checkpoint_every`` and ``resume_from`` as :meth:`SparseAutoencoder.fit`'s."""
        validate_params(self)
        require_labels(y)
        resumed = self._read_resume(resume_from) if resume_from is not None else None
        source, m, n = self._training_data(X, reset=True)
        self.classes_, indices = validate_labels(y, m)
        fingerprint = self._fingerprint(source, m, n, checkpoint, resumed)
        layout = Layout([n, len(self.classes_)])
        before, theta0 = self._starting_point(layout, source, m, resumed)
        return self._train(source, one_hot(indices, len(self.classes_)), m, n, theta0, before=before,
                           resumed=resumed, checkpoint=checkpoint, checkpoint_every=checkpoint_every,
                           fingerprint=fingerprint)

    def _initial_theta(self, layout):
        theta0 = np.zeros(layout.size)
        W = layout.unpack(theta0)[0][0]
        W[...] = 0.005 * check_random_state(self.random_state).standard_normal(W.shape)
        return theta0

    def _objective(self, source, targets, chunk_size):
        """The cross-entropy of the softmax layer on ``source``'s rows and their one-hot targets."""
        layer_sizes = [source.shape[1], targets.shape[1]]
        params = dict(output_activation="softmax", loss="cross_entropy", weight_decay=self.weight_decay)
        if is_dask_array(source):
            from .distributed import DaskObjective

            return DaskObjective(layer_sizes, source, targets, **params)
        return SparseObjective(layer_sizes, source, targets, backend=get_backend(self.device, np.dtype(self.dtype)),
                               chunk_size=chunk_size, **params)

    def _adopt(self, objective, theta):
        self.theta_ = np.array(theta, dtype=np.float64)
        (W,), (b,) = objective.layout.unpack(self.theta_)
        self.coef_, self.intercept_ = W, b
        self.loss_ = objective.terms(self.theta_)["cost"]

    def predict_proba(self, X):
        """p(j | x) for each class j (columns in the order of ``classes_``); rows sum to 1."""
        check_is_fitted(self)
        X = validate_rows(self, X, reset=False)
        return forward([self.coef_], [self.intercept_], X, output_activation="softmax")[-1]

    def decision_function(self, X):
        """W x + b, the log-probabilities up to each row's constant; for two classes, as
        scikit-learn has it, one column: the second class's margin over the first."""
        check_is_fitted(self)
        scores = validate_rows(self, X, reset=False) @ self.coef_.T + self.intercept_
        return scores[:, 1] - scores[:, 0] if len(self.classes_) == 2 else scores

    def predict(self, X):
        scores = self.decision_function(X)  # checks that the model is fitted
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(int)]
        return self.classes_[np.argmax(scores, axis=1)]

    # -- persistence: plain numbers and JSON, never pickle -----------------------------------

    def _get_state(self):
        params = self._json_params()
        fitted = self._fitted_state()
        return params, fitted, {"W": self.coef_, "b": self.intercept_}

    @classmethod
    def _from_state(cls, params, fitted, arrays):
        model = cls(**params)
        validate_params(model)
        model._adopt_fitted_state(fitted)
        k, n = len(model.classes_), int(fitted["n_features_in_"])
        layout = Layout([n, k])
        theta = np.empty(layout.size)
        (W,), (b,) = layout.unpack(theta)
        for name, target in (("W", W), ("b", b)):
            if arrays[name].shape != target.shape or not np.isfinite(arrays[name]).all():
                raise ModelFileError(
                    f"{name} must hold {target.shape} finite values for {n} features, {k} classes"
                )
            target[...] = arrays[name]
        model.theta_, model.coef_, model.intercept_, model.n_features_in_ = theta, W, b, n
        return model
