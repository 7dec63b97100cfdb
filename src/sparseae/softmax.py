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
from .engine import get_backend
from .errors import DataError, ModelFileError, SparseaeError
from .fitting import auto_lbfgs_memory, fit_full_batch
from .network import Layout, forward
from .objective import SparseObjective
from .validation import (
    CONSTRAINTS,
    Names,
    validate_labels,
    validate_params,
    validate_rows,
)


class Classifier(persistence.Saveable, ClassifierMixin):
    """What both classifiers share: ``score`` (accuracy) whose bad labels are a DataError."""

    def _fitted_state(self, **more):
        """The fitted numbers both classifiers save (labels as a JSON list: ints, floats, strings)."""
        return {"n_features_in_": int(self.n_features_in_), "classes_": self.classes_.tolist(),
                "n_iter_": self.n_iter_, "loss_": self.loss_, "loss_curve_": self.loss_curve_,
                **more}  # fmt: skip

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
class SoftmaxRegression(Classifier, BaseEstimator):
    """Softmax regression: a scikit-learn classifier for any hashable labels.

    Parameters
    ----------
    weight_decay : float, default 1e-4
        λ ≥ 0 on W (UFLDL's softmax exercise uses 1e-4).
    max_iter, tol, solver : as :class:`~sparseae.SparseAutoencoder`'s ("lbfgs", "cg" or "gd").
    dtype, device, random_state, verbose : as :class:`~sparseae.SparseAutoencoder`'s; the initial
        W is UFLDL's, 0.005 times standard normal values.

    Attributes
    ----------
    classes_, coef_ (n_classes, n_features), intercept_, n_iter_, loss_, loss_curve_
    """

    _parameter_constraints = {
        name: CONSTRAINTS[name]
        for name in ("weight_decay", "max_iter", "tol", "dtype", "device", "random_state", "verbose")
    }
    _parameter_constraints["solver"] = [Names(("lbfgs", "l-bfgs-b", "cg", "gd"))]

    def __init__(
        self,
        weight_decay=1e-4,
        *,
        max_iter=400,
        tol=1e-5,
        solver="lbfgs",
        dtype="float64",
        device=None,
        random_state=None,
        verbose=0,
    ):
        self.weight_decay, self.max_iter, self.tol, self.solver = weight_decay, max_iter, tol, solver
        self.dtype, self.device, self.random_state, self.verbose = dtype, device, random_state, verbose

    def fit(self, X, y):
        """Learn W and b from X (one example per row) and its labels y. Returns self."""
        validate_params(self)
        X = validate_rows(self, X, reset=True, dtype=np.dtype(self.dtype))
        self.classes_, indices = validate_labels(y, X.shape[0])
        layout = Layout([X.shape[1], len(self.classes_)])
        objective = SparseObjective(
            layout.layer_sizes,
            X,
            one_hot(indices, len(self.classes_)),
            output_activation="softmax",
            loss="cross_entropy",
            weight_decay=self.weight_decay,
            backend=get_backend(self.device, np.dtype(self.dtype)),
        )
        theta0 = np.zeros(layout.size)
        layout.unpack(theta0)[0][0][...] = 0.005 * check_random_state(self.random_state).standard_normal(
            layout.unpack(theta0)[0][0].shape
        )
        return fit_full_batch(
            self,
            objective,
            theta0,
            solver=self.solver,
            max_iter=self.max_iter,
            tol=self.tol,
            learning_rate=0.1,
            lbfgs_memory=auto_lbfgs_memory(X.shape[0], layout),
        )

    def _set_parameters(self, objective, theta, n_iter, loss_curve):
        self.theta_ = np.array(theta, dtype=np.float64)
        (W,), (b,) = objective.layout.unpack(self.theta_)
        self.coef_, self.intercept_ = W, b
        self.n_iter_, self.loss_curve_ = int(n_iter), list(loss_curve)
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
