r"""Stacked sparse autoencoders with fine-tuning (UFLDL's "Building deep networks for
classification"): greedy layer-wise pretraining, softmax on the top features, then
backpropagation of the softmax loss through the whole network.

Fine-tuning minimises, over every W(l), b(l) and the softmax layer together,

.. math:: J = -\frac{1}{m} \sum_i \log p(y^{(i)} \mid x^{(i)})
              + \frac{\lambda}{2} \lVert W_{\text{softmax}} \rVert^2

(UFLDL's ``stackedAECost`` decays the softmax weights alone). It is the core's objective on the
network [n, s_2, ..., k] with sigmoid (or tanh) hidden layers, the ``softmax`` output and the
``cross_entropy`` loss, started from the pretrained weights: no second implementation.
"""

import time
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from . import persistence
from ._data import chunk_rows, is_dask_array, training_source
from .engine import get_backend
from .errors import ModelFileError, ParameterError
from .estimator import SparseAutoencoder
from .fitting import auto_lbfgs_memory, fit_full_batch
from .network import Layout, forward
from .objective import SparseObjective
from .softmax import Classifier, SoftmaxRegression, one_hot
from .validation import (
    CONSTRAINTS,
    Names,
    require_labels,
    validate_labels,
    validate_params,
    validate_rows,
)

_SEED_RANGE = 2**31 - 1


@persistence.register
class StackedSparseAutoencoder(Classifier, TransformerMixin, BaseEstimator):
    """A deep classifier from stacked sparse autoencoders, fine-tuned (scikit-learn classifier
    and transformer).

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default (200, 200)
        s_2, s_3, ...: one sparse autoencoder each, any depth.
    sparsity_target, sparsity_weight, weight_decay : float, default 0.1, 3.0, 3e-3
        ρ, β and λ of every pretrained autoencoder (UFLDL's stacked autoencoder exercise).
    softmax_weight_decay : float, default 1e-4
        λ of the softmax layer, in its own training and in fine-tuning.
    pretrain_iter, finetune_iter : int, default 400, 400
        L-BFGS iterations of each autoencoder and of the softmax; of fine-tuning (0: none).
    activation : {"sigmoid", "tanh"}, default "sigmoid"
        f of every hidden layer; X must lie in its range (sigmoid: [0, 1]).
    dtype, device, batch_size, random_state, verbose : as :class:`~sparseae.SparseAutoencoder`'s.

    Attributes
    ----------
    autoencoders_ : list of SparseAutoencoder
        The pretrained layers, unchanged by fine-tuning.
    softmax_ : SoftmaxRegression
        Trained on the pretrained top features, before fine-tuning.
    coefs_, intercepts_ : lists of ndarray
        The fine-tuned network, scikit-learn's MLP convention (W(l).T, (fan_in, fan_out)).
    classes_, n_iter_, loss_, loss_curve_ (of fine-tuning)
    stage_seconds_ : dict
        Seconds of each stage: "autoencoder 1", ..., "softmax", "fine-tuning".
    """

    _parameter_constraints = {
        **{
            name: CONSTRAINTS[name]
            for name in (
                "sparsity_target",
                "sparsity_weight",
                "weight_decay",
                "dtype",
                "device",
                "batch_size",
                "random_state",
                "verbose",
            )
        },
        "hidden_layer_sizes": ["array-like"],
        "softmax_weight_decay": CONSTRAINTS["weight_decay"],
        "pretrain_iter": CONSTRAINTS["max_iter"],
        "finetune_iter": [Interval(Integral, 0, None, closed="left")],
        "activation": [Names(("sigmoid", "tanh"))],
    }

    def __init__(
        self,
        hidden_layer_sizes=(200, 200),
        *,
        sparsity_target=0.1,
        sparsity_weight=3.0,
        weight_decay=3e-3,
        softmax_weight_decay=1e-4,
        pretrain_iter=400,
        finetune_iter=400,
        activation="sigmoid",
        dtype="float64",
        device=None,
        batch_size="auto",
        random_state=None,
        verbose=0,
    ):
        self.hidden_layer_sizes, self.sparsity_target = hidden_layer_sizes, sparsity_target
        self.sparsity_weight, self.weight_decay = sparsity_weight, weight_decay
        self.softmax_weight_decay, self.pretrain_iter = softmax_weight_decay, pretrain_iter
        self.finetune_iter, self.activation, self.dtype = finetune_iter, activation, dtype
        self.device, self.batch_size, self.random_state, self.verbose = (
            device,
            batch_size,
            random_state,
            verbose,
        )

    @property
    def output_activation(self):
        """What the first autoencoder reconstructs X through: X must lie in its range."""
        return self.activation

    def fit(self, X, y):
        """Pretrain layer by layer, train the softmax, fine-tune; returns self.

        X may be an array, a path to a ``.npy`` file or a memmap of one, or a Dask array: then
        the first layer trains, and fine-tuning runs, on chunks of the file (or on the cluster)
        with the exact two-pass objective; the first layer's features, s_2 values a row, are
        kept in memory for the layers above.
        """
        validate_params(self)
        sizes = self._hidden_sizes()
        require_labels(y)
        source, m, n = training_source(self, X, reset=True, dtype=np.dtype(self.dtype))
        in_memory = isinstance(source, np.ndarray)
        self.classes_, indices = validate_labels(y, m)
        rng = check_random_state(self.random_state)
        features, self.autoencoders_, self.stage_seconds_ = source if in_memory else X, [], {}
        for s in sizes:
            start = time.perf_counter()
            autoencoder = SparseAutoencoder(
                s,
                sparsity_target=self.sparsity_target,
                sparsity_weight=self.sparsity_weight,
                weight_decay=self.weight_decay,
                activation=self.activation,
                output_activation=self.activation,
                max_iter=self.pretrain_iter,
                dtype=self.dtype,
                device=self.device,
                batch_size=self.batch_size,
                random_state=rng.randint(_SEED_RANGE),
                verbose=self.verbose,
            ).fit(features)
            if isinstance(features, np.ndarray):
                features = autoencoder.transform(features)
            elif is_dask_array(source):  # on the workers, chunk by chunk; s_2 values a row come back
                rows = source.rechunk({1: -1})
                features = rows.map_blocks(autoencoder.transform, chunks=(rows.chunks[0], (s,)),
                                           dtype=np.float64).compute()  # fmt: skip
            else:  # the file's rows, a chunk at a time
                step = chunk_rows(m, n, s)
                chunks = (source.rows(start, start + step) for start in range(0, m, step))
                features = np.vstack([autoencoder.transform(chunk) for chunk in chunks])
            self.autoencoders_.append(autoencoder)
            self.stage_seconds_[f"autoencoder {len(self.autoencoders_)}"] = time.perf_counter() - start
        start = time.perf_counter()
        self.softmax_ = SoftmaxRegression(
            self.softmax_weight_decay,
            max_iter=self.pretrain_iter,
            dtype=self.dtype,
            device=self.device,
            random_state=rng.randint(_SEED_RANGE),
            verbose=self.verbose,
        ).fit(features, y)
        self.stage_seconds_["softmax"] = time.perf_counter() - start
        layout = Layout([n, *sizes, len(self.classes_)])
        theta0 = np.empty(layout.size)
        Ws, bs = layout.unpack(theta0)
        for l, autoencoder in enumerate(self.autoencoders_):
            Ws[l][...], bs[l][...] = autoencoder.components_, autoencoder.intercepts_[0]
        Ws[-1][...], bs[-1][...] = self.softmax_.coef_, self.softmax_.intercept_
        decay = (0.0,) * len(sizes) + (self.softmax_weight_decay,)
        batch = self.batch_size if self.batch_size != "auto" else chunk_rows(m, n, max(sizes))
        batch = None if in_memory else batch
        if is_dask_array(source):
            from .distributed import DaskObjective

            objective = DaskObjective(layout.layer_sizes, source, one_hot(indices, len(self.classes_)),
                                      activation=self.activation, output_activation="softmax",
                                      loss="cross_entropy", weight_decay=decay)  # fmt: skip
        else:
            objective = SparseObjective(layout.layer_sizes, source, one_hot(indices, len(self.classes_)),
                                        activation=self.activation, output_activation="softmax",
                                        loss="cross_entropy", weight_decay=decay, batch_size=batch,
                                        backend=get_backend(self.device, np.dtype(self.dtype)))  # fmt: skip
        start = time.perf_counter()
        if self.finetune_iter == 0:
            self._set_parameters(objective, theta0, 0, [])
        else:
            memory = auto_lbfgs_memory(m, layout)
            fit_full_batch(self, objective, theta0, solver="lbfgs", max_iter=self.finetune_iter, tol=1e-9,
                           learning_rate=0.1, lbfgs_memory=memory)  # fmt: skip
        self.stage_seconds_["fine-tuning"] = time.perf_counter() - start
        return self

    def _hidden_sizes(self):
        sizes = tuple(np.atleast_1d(self.hidden_layer_sizes).tolist())
        if not sizes or not all(isinstance(s, int) and s >= 1 for s in sizes):
            raise ParameterError(
                f"hidden_layer_sizes must be one or more positive integers, got {self.hidden_layer_sizes!r}"
            )
        return sizes

    def _set_parameters(self, objective, theta, n_iter, loss_curve):
        self.theta_ = np.array(theta, dtype=np.float64)
        Ws, bs = objective.layout.unpack(self.theta_)
        self.coefs_, self.intercepts_ = [W.T for W in Ws], list(bs)
        self.n_iter_, self.loss_curve_ = int(n_iter), list(loss_curve)
        self.loss_ = objective.terms(self.theta_)["cost"]

    def _forward(self, X, n_layers=None):
        check_is_fitted(self)
        X = validate_rows(self, X, reset=False)
        return forward([c.T for c in self.coefs_], self.intercepts_, X, self.activation, "softmax", n_layers)[
            -1
        ]

    def transform(self, X):
        """The top hidden layer of the fine-tuned network, shape (m, hidden_layer_sizes[-1])."""
        return self._forward(X, n_layers=len(self.coefs_))

    def predict_proba(self, X):
        """p(j | x) for each class j (columns in the order of ``classes_``)."""
        return self._forward(X)

    def predict(self, X):
        probabilities = self.predict_proba(X)  # checks that the model is fitted
        return self.classes_[np.argmax(probabilities, axis=1)]

    # -- persistence: the fine-tuned network, and each pretrained part as its own state ------

    def _get_state(self):
        params = self._json_params()
        params["hidden_layer_sizes"] = list(self._hidden_sizes())
        parts, arrays = [], {f"W{l + 1}": c.T for l, c in enumerate(self.coefs_)}
        arrays.update({f"b{l + 1}": b for l, b in enumerate(self.intercepts_)})
        for name, part in [(f"autoencoder{i}", ae) for i, ae in enumerate(self.autoencoders_)] + [
            ("softmax", self.softmax_)
        ]:
            part_params, part_fitted, part_arrays = part._get_state()
            parts.append({"name": name, "params": part_params, "fitted": part_fitted})
            arrays.update({f"{name}.{key}": value for key, value in part_arrays.items()})
        fitted = self._fitted_state(parts=parts)
        return params, fitted, arrays

    @classmethod
    def _from_state(cls, params, fitted, arrays):
        model = cls(**params)
        validate_params(model)
        model._adopt_fitted_state(fitted)
        n = int(fitted["n_features_in_"])
        layout = Layout([n, *model._hidden_sizes(), len(model.classes_)])
        theta = np.empty(layout.size)
        Ws, bs = layout.unpack(theta)
        for name, target in [(f"W{l + 1}", W) for l, W in enumerate(Ws)] + [
            (f"b{l + 1}", b) for l, b in enumerate(bs)
        ]:
            if (
                name not in arrays
                or arrays[name].shape != target.shape
                or not np.isfinite(arrays[name]).all()
            ):
                raise ModelFileError(f"{name} must hold {target.shape} finite values")
            target[...] = arrays[name]
        model.theta_, model.n_features_in_ = theta, n
        model.coefs_, model.intercepts_ = [W.T for W in Ws], list(bs)
        parts = {}
        for part in fitted["parts"]:
            kind = SoftmaxRegression if part["name"] == "softmax" else SparseAutoencoder
            prefix = part["name"] + "."
            part_arrays = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
            parts[part["name"]] = kind._from_state(part["params"], part["fitted"], part_arrays)
        model.softmax_ = parts.pop("softmax")
        model.autoencoders_ = [parts[f"autoencoder{i}"] for i in range(len(parts))]
        return model
