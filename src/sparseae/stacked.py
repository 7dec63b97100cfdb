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
from ._data import chunk_rows, in_memory, is_dask_array, value_range
from .activations import ACTIVATIONS
from .checkpoint import Checkpoint, write_checkpoint
from .engine import get_backend
from .errors import ModelFileError, ParameterError
from .estimator import SparseAutoencoder
from .fitting import Trainable
from .network import Layout, forward
from .objective import SparseObjective
from .softmax import Classifier, SoftmaxRegression, one_hot
from .training.checkpoints import Checkpointer
from .validation import (
    CONSTRAINTS,
    Names,
    check_parameters,
    require_labels,
    validate_labels,
    validate_params,
    validate_rows,
)

_SEED_RANGE = 2**31 - 1


@persistence.register
class StackedSparseAutoencoder(Trainable, Classifier, TransformerMixin, BaseEstimator):
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
        f of every hidden layer.
    first_output_activation : {"auto", "sigmoid", "tanh", "linear"}, default "auto"
        The output layer through which the first autoencoder reconstructs X (its decoder alone:
        the classifier never uses it). "auto": ``activation`` when X lies in its range (UFLDL's
        exercise, on pixels in [0, 1]), else "linear" (UFLDL's linear decoder), so the stack takes
        any finite X as a classifier must; another value is used as given, X checked against it.
    solver, learning_rate, beta_1, batch_size : as :class:`~sparseae.SparseAutoencoder`'s, for
        every stage (pretraining, softmax, fine-tuning); "adam" for data that streams.
    validation_fraction, early_stopping, n_iter_no_change : rows held out once, scored after
        each iteration of every stage; each stage stops early on its own held-out cost.
    dtype, device, random_state, verbose : as :class:`~sparseae.SparseAutoencoder`'s.

    Attributes
    ----------
    autoencoders_ : list of SparseAutoencoder
        The pretrained layers, unchanged by fine-tuning.
    softmax_ : SoftmaxRegression
        Trained on the pretrained top features, before fine-tuning.
    coefs_, intercepts_ : lists of ndarray
        The fine-tuned network, scikit-learn's MLP convention (W(l).T, (fan_in, fan_out)).
    classes_, n_iter_, loss_, loss_curve_ (of fine-tuning); validation_scores_ (of
        fine-tuning, with held-out rows)
    stage_seconds_ : dict
        Seconds of each stage: "autoencoder 1", ..., "softmax", "fine-tuning".

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
    >>> import warnings
    >>> import sparseae
    >>> from sklearn.exceptions import ConvergenceWarning
    >>> from sparseae.datasets import load_digits
    >>> X, y = load_digits()
    >>> stack = sparseae.StackedSparseAutoencoder((20, 20), weight_decay=3e-4, pretrain_iter=50,
    ...                                           finetune_iter=50, random_state=0)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", ConvergenceWarning)   # 50 iterations per stage, on purpose
    ...     _ = stack.fit(X[:1000], y[:1000])
    >>> [W.shape for W in stack.coefs_]
    [(64, 20), (20, 20), (20, 10)]
    >>> bool(stack.score(X[1000:], y[1000:]) > 0.85)
    True
    """

    _parameter_constraints = {
        **{name: CONSTRAINTS[name] for name in (
            "sparsity_target", "sparsity_weight", "weight_decay", "solver", "learning_rate", "beta_1", "dtype",
            "device", "batch_size", "validation_fraction", "early_stopping", "n_iter_no_change", "random_state",
            "verbose")},
        "hidden_layer_sizes": ["array-like"],
        "softmax_weight_decay": CONSTRAINTS["weight_decay"],
        "pretrain_iter": CONSTRAINTS["max_iter"],
        "finetune_iter": [Interval(Integral, 0, None, closed="left")],
        "activation": [Names(("sigmoid", "tanh"))],
        "first_output_activation": [Names(("auto", "sigmoid", "tanh", "linear"))],
    }
    #: Fine-tuning's gradient tolerance (UFLDL's: it runs its iterations).
    tol = 1e-9

    def __init__(self, hidden_layer_sizes=(200, 200), *, sparsity_target=0.1, sparsity_weight=3.0,
                 weight_decay=3e-3, softmax_weight_decay=1e-4, pretrain_iter=400, finetune_iter=400,
                 activation="sigmoid", first_output_activation="auto", solver="lbfgs", learning_rate="auto",
                 beta_1="auto", dtype="float64", device=None, batch_size="auto", validation_fraction=0.0,
                 early_stopping=False, n_iter_no_change=10, random_state=None, verbose=0):
        self.hidden_layer_sizes, self.sparsity_target = hidden_layer_sizes, sparsity_target
        self.sparsity_weight, self.weight_decay = sparsity_weight, weight_decay
        self.softmax_weight_decay, self.pretrain_iter = softmax_weight_decay, pretrain_iter
        self.finetune_iter, self.activation, self.dtype = finetune_iter, activation, dtype
        self.solver, self.learning_rate, self.beta_1 = solver, learning_rate, beta_1
        self.device, self.batch_size, self.random_state, self.verbose = device, batch_size, random_state, verbose
        self.validation_fraction, self.early_stopping = validation_fraction, early_stopping
        self.n_iter_no_change = n_iter_no_change
        self.first_output_activation = first_output_activation

    def _first_output(self, source):
        """The first autoencoder's output activation: ``first_output_activation``, or for "auto"
        ``activation`` when X's values lie in its range, else "linear"."""
        if self.first_output_activation != "auto":
            return self.first_output_activation
        low, high = ACTIVATIONS[self.activation].output_range
        lo, hi = value_range(source)
        return self.activation if low <= lo and hi <= high else "linear"

    def fit(self, X, y, *, checkpoint=None, checkpoint_every=10, resume_from=None):
        """Pretrain layer by layer, train the softmax, fine-tune; returns self.

        X may be an array, a path to a ``.npy`` file or a memmap of one, or a Dask array: then
        the first layer trains, and fine-tuning runs, on chunks of the file (or on the cluster)
        with the exact two-pass objective; the first layer's features, s_2 values a row, are
        kept in memory for the layers above. Each stage trains with the stack's ``solver``;
        ``validation_fraction`` of the rows are held out once and score every stage.

        ``checkpoint``: a file written every ``checkpoint_every`` iterations of the running
        stage and at the end of each stage (the completed stages' θ, the running one's state);
        ``resume_from``: such a file, to go on from the stage and iteration it holds.
        """
        validate_params(self)
        sizes = self._hidden_sizes()
        require_labels(y)
        resumed = self._read_resume(resume_from) if resume_from is not None else None
        given = None if self.first_output_activation == "auto" else self.first_output_activation
        source, m, n = self._training_data(X, reset=True, output_activation=given)
        self.first_output_activation_ = first = self._first_output(source)
        self.classes_, indices = validate_labels(y, m)
        targets = one_hot(indices, len(self.classes_))
        fingerprint = self._fingerprint(source, m, n, checkpoint, resumed)
        if checkpoint is not None:
            check_parameters({"checkpoint_every": checkpoint_every}, "fit")
        source, targets, m, held_out = self._hold_out(source, targets, m, resumed)
        self._check_memory(Layout([n, *sizes, len(self.classes_)]), source, m)  # the largest stage: fine-tuning
        rng = check_random_state(self.random_state)
        seeds = [rng.randint(_SEED_RANGE) for _ in range(len(sizes) + 1)]
        stages = _Stages(self, checkpoint, checkpoint_every, fingerprint, n, resumed)
        self.autoencoders_, self.stage_seconds_ = [], {}
        features, held = (X if not in_memory(source) else source), None if held_out is None else held_out[0]
        for i, s in enumerate(sizes):
            output = first if i == 0 else self.activation  # later layers reconstruct features in f's range
            autoencoder = SparseAutoencoder(
                s, sparsity_target=self.sparsity_target, sparsity_weight=self.sparsity_weight,
                weight_decay=self.weight_decay, activation=self.activation, output_activation=output,
                max_iter=self.pretrain_iter, early_stopping=self.early_stopping,
                n_iter_no_change=self.n_iter_no_change, random_state=seeds[i], **self._shared())
            autoencoder._validate()
            rows, rows_m, _ = autoencoder._training_data(features, reset=True, output_activation=output)
            theta0 = autoencoder._initial_theta(rows.shape[1])
            stages.run(f"autoencoder {i + 1}", autoencoder, rows, None, rows_m, theta0,
                       None if held is None else (held, None))
            features = self._features(autoencoder, rows, source, s, m, n)
            held = None if held is None else autoencoder.transform(held)
            self.autoencoders_.append(autoencoder)
        self.softmax_ = SoftmaxRegression(self.softmax_weight_decay, max_iter=self.pretrain_iter,
                                          early_stopping=self.early_stopping, n_iter_no_change=self.n_iter_no_change,
                                          random_state=seeds[-1], **self._shared())
        self.softmax_._training_data(features, reset=True)
        self.softmax_.classes_ = self.classes_
        layout = Layout([features.shape[1], len(self.classes_)])
        stages.run("softmax", self.softmax_, features, targets, m, self.softmax_._initial_theta(layout),
                   None if held is None else (held, held_out[1]))
        layout = Layout([n, *sizes, len(self.classes_)])
        theta0 = np.empty(layout.size)
        Ws, bs = layout.unpack(theta0)
        for l, autoencoder in enumerate(self.autoencoders_):
            Ws[l][...], bs[l][...] = autoencoder.components_, autoencoder.intercepts_[0]
        Ws[-1][...], bs[-1][...] = self.softmax_.coef_, self.softmax_.intercept_
        stages.run("fine-tuning", self, source, targets, m, theta0, held_out)
        return self

    def _shared(self):
        """The parameters every stage takes from the stack."""
        return dict(solver=self.solver, learning_rate=self.learning_rate, beta_1=self.beta_1, dtype=self.dtype,
                    device=self.device, batch_size=self.batch_size, verbose=self.verbose)

    @staticmethod
    def _features(autoencoder, rows, source, s, m, n):
        """The autoencoder's hidden activations of every training row, in memory."""
        if in_memory(rows):
            return autoencoder.transform(rows)
        if is_dask_array(rows):  # on the workers, chunk by chunk; s_2 values a row come back
            rows = rows.rechunk({1: -1})
            return rows.map_blocks(autoencoder.transform, chunks=(rows.chunks[0], (s,)), dtype=np.float64).compute()
        step = chunk_rows(m, n, s)  # the file's rows, a chunk at a time
        return np.vstack([autoencoder.transform(rows.rows(start, start + step)) for start in range(0, m, step)])

    def _max_iter(self, solver=None):
        return self.finetune_iter

    def _width(self):
        return max(self._hidden_sizes())

    def _objective(self, source, targets, chunk_size):
        """Fine-tuning's J: the softmax's cross-entropy through the whole network."""
        sizes = [source.shape[1], *self._hidden_sizes(), targets.shape[1]]
        params = dict(activation=self.activation, output_activation="softmax", loss="cross_entropy",
                      weight_decay=(0.0,) * (len(sizes) - 2) + (self.softmax_weight_decay,))
        if is_dask_array(source):
            from .distributed import DaskObjective

            return DaskObjective(sizes, source, targets, **params)
        return SparseObjective(sizes, source, targets, chunk_size=chunk_size,
                               backend=get_backend(self.device, np.dtype(self.dtype)), **params)

    def _adopt(self, objective, theta):
        self.theta_ = np.array(theta, dtype=np.float64)
        Ws, bs = objective.layout.unpack(self.theta_)
        self.coefs_, self.intercepts_ = [W.T for W in Ws], list(bs)
        self.loss_ = objective.terms(self.theta_)["cost"]

    def _hidden_sizes(self):
        sizes = tuple(np.atleast_1d(self.hidden_layer_sizes).tolist())
        if not sizes or not all(isinstance(s, int) and s >= 1 for s in sizes):
            raise ParameterError(
                f"hidden_layer_sizes must be one or more positive integers, got {self.hidden_layer_sizes!r}"
            )
        return sizes

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
        fitted = self._fitted_state(parts=parts, first_output_activation_=self.first_output_activation_)
        return params, fitted, arrays

    @classmethod
    def _from_state(cls, params, fitted, arrays):
        model = cls(**params)
        validate_params(model)
        model._adopt_fitted_state(fitted)
        first = fitted.get("first_output_activation_", model.activation)  # files before it: f's own
        if first not in ("sigmoid", "tanh", "linear"):
            raise ModelFileError(f"first_output_activation_ must be sigmoid, tanh or linear, got {first!r}")
        model.first_output_activation_ = first
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


class _Stages:
    """A stack's stages in order, each trained (or, resuming, adopted from the checkpoint when
    completed before it, or continued when it was the running one), with a checkpoint written
    at the end of each."""

    def __init__(self, stack, path, every, fingerprint, n_features, resumed):
        self.stack, self.path, self.every, self.fingerprint = stack, path, every, fingerprint
        self.n_features, self.resumed = n_features, resumed
        self.done = [] if resumed is None else list(resumed.stages)
        self.index = 0

    def run(self, name, estimator, source, targets, m, theta0, held_out):
        stack, i, start = self.stack, self.index, time.perf_counter()
        n = source.shape[1]
        if i < len(self.done):  # completed before the checkpoint: adopted as it was
            saved = self.done[i]
            objective = estimator._objective(source, targets, estimator._chunk_size(source, m, n, estimator._solver()))
            estimator._adopt_result(objective, None, saved["theta"], (saved["n_iter"], saved["loss_curve"]))
        else:
            resumed = self.resumed if self.resumed is not None and self.resumed.stage == i else None
            if resumed is not None and resumed.theta.size == 0:
                resumed = None  # written at a stage's end: the next one starts afresh
            if resumed is not None and resumed.theta.size != theta0.size:
                raise ModelFileError(f"the checkpoint's θ of stage {name} has {resumed.theta.size} values, "
                                     f"not {theta0.size}")
            checkpoint = None
            if self.path is not None:
                checkpoint = Checkpointer(self.path, stack._checkpoint_params(), self.n_features, self.fingerprint,
                                          stage=i, stages=self.done)
                checkpoint.validation_rows = getattr(stack, "validation_rows_", None)
            before = (0, []) if resumed is None else (resumed.n_iter, resumed.loss_curve)
            estimator._train(source, targets, m, n, theta0 if resumed is None else resumed.theta, before=before,
                             resumed=resumed, checkpoint=checkpoint, checkpoint_every=self.every,
                             held_out=held_out, description=name)
            self.done.append({"theta": estimator.theta_.copy(), "n_iter": estimator.n_iter_,
                              "loss_curve": list(estimator.loss_curve_)})
            if self.path is not None:
                rows = getattr(stack, "validation_rows_", None)
                validation = None if rows is None else {"rows": rows, "scores": [], "best": np.inf,
                                                        "since_best": 0, "best_theta": None}
                write_checkpoint(self.path, Checkpoint(
                    params=stack._checkpoint_params(), n_features=self.n_features, n_iter=0, loss_curve=[],
                    theta=np.zeros(0), data=self.fingerprint, validation=validation, stage=i + 1,
                    stages=self.done))
        stack.stage_seconds_[name] = time.perf_counter() - start
        self.index += 1
