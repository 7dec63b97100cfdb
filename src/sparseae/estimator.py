"""The scikit-learn estimator: ``SparseAutoencoder``."""

import warnings
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from . import persistence
from ._data import batch_rows, chunk_rows, is_dask_array, minibatches, training_source
from .activations import ACTIVATIONS
from .checkpoint import (
    Checkpoint,
    check_same_data,
    data_fingerprint,
    read_checkpoint,
    write_checkpoint,
)
from .engine import NumpyBackend, get_backend
from .engine.parallel import single_threaded_blas
from .engine.vectors import host_copy
from .errors import (
    DataError,
    FitInterrupted,
    ModelFileError,
    NonFiniteCostError,
    ParameterError,
)
from .fitting import Monitor, auto_lbfgs_memory, fit_full_batch, warn_interrupted
from .network import Layout, forward
from .objective import SparseObjective
from .optim.adam import Adam, run_epoch, step_schedule, target_schedule
from .penalties import PENALTIES, check_activation
from .progress import Progress
from .resample import SAMPLE_ROWS, dead_units, resample
from .validation import (
    CONSTRAINTS,
    Names,
    as_float_matrix,
    check_parameters,
    validate_params,
    validate_rows,
)

#: Adam's β₁ for ``beta_1="auto"``, each measured best on the notes' exercise: with the KL penalty
#: a short momentum (300 epochs: about +1.2 % of L-BFGS's cost, against +3.1 % at 0.9); with L1
#: and TopK (ReLU units) Kingma and Ba's 0.9 (at 0.7, L1 already ends 17 % higher).
#: benchmarks/RESULTS.md, "The streaming solver".
ADAM_BETA_1 = {"kl": 0.3, "l1": 0.9, "topk": 0.9}


@dataclass
class _Stream:
    """The streaming solver's state between calls: θ, Adam's moments, the minibatch order's
    random generator, and ρ̂'s moving average."""

    theta: np.ndarray
    adam: Adam
    rng: np.random.RandomState
    rho_hat: np.ndarray = None


@persistence.register
class SparseAutoencoder(
    persistence.Saveable, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    r"""The sparse autoencoder of the CS294A notes: n → n_hidden → n, trained on y = x.

    Minimises, from UFLDL's initialisation (each term: :mod:`sparseae.backprop`),

    .. math:: J_{\text{sparse}} = \frac{1}{m}\sum_i \tfrac12 \lVert h(x^{(i)}) - x^{(i)} \rVert^2
              + \frac{\lambda}{2} \sum W^2 + \beta \sum_j \mathrm{KL}(\rho \Vert \hat\rho_j)

    Parameters
    ----------
    n_hidden : int, default 25
        s_2, the hidden units.
    sparsity : {"kl", "l1", "topk"}, default "kl"
        The sparsity penalty on the hidden layer (:mod:`sparseae.penalties`): "kl", the notes'
        β Σ_j KL(ρ ‖ ρ̂_j) on the mean activations (sigmoid or tanh units); "l1", β (1/m) Σ_i Σ_j
        |a_j| (sigmoid or relu units); "topk", each example keeps its ``k`` largest hidden
        activations and the others are set to 0 (sigmoid or relu units; no β).
    sparsity_target, sparsity_weight, weight_decay : float, default 0.01, 3.0, 1e-4
        ρ in (0, 1), the wanted mean activation of each hidden unit (KL only); β ≥ 0 (0: a plain
        autoencoder; not used by TopK); λ ≥ 0. A ρ or β given to a penalty that does not use it
        is a warning.
    k : int or None, default None
        For ``sparsity="topk"``: the hidden units each example keeps, 1 to n_hidden - 1.
    decoder_norm : {None, "unit"}, default None
        "unit": the decoder W2 is used with each column at unit norm (a reparametrisation: θ stays
        unconstrained for L-BFGS; ``coefs_`` hold the normalised W2), so an L1 penalty cannot be
        cheated by shrinking the activations and growing the decoder.
    activation : {"sigmoid", "tanh", "relu"}, default "sigmoid"
        The hidden layer's f.
    output_activation : {"sigmoid", "tanh", "linear"}, default "sigmoid"
        The output layer's f. A sigmoid output needs X in [0, 1] (tanh: [-1, 1]); "linear" is
        UFLDL's linear decoder, for data of any range such as whitened patches.
    solver : {"lbfgs", "l-bfgs-b", "cg", "gd", "adam"}, default "lbfgs"
        L-BFGS (sparseae's own, unconstrained, with a strong-Wolfe line search and θ kept where
        the objective computes, a GPU included: :mod:`sparseae.optim.lbfgs`), SciPy's L-BFGS-B
        (the reference), SciPy's conjugate gradient, or the notes' batch gradient descent, each
        on the exact full-batch J_sparse; or "adam", the streaming solver on minibatches of ``batch_size``
        rows with ρ̂ tracked as a moving average (see :mod:`sparseae.optim.adam`).
    max_iter : int or "auto", default "auto"
        Iterations; for "adam", epochs (passes over the data). "auto": 400 iterations, or 300
        epochs for "adam" (with ``beta_1="auto"``, what it needs to come within 2 % of L-BFGS's
        cost on the notes' exercise: benchmarks/RESULTS.md).
    tol : float, default 1e-5
        Stop when the largest gradient component is at most ``tol`` (not used by "adam").
    learning_rate : float or "auto", default "auto"
        The step: α of "gd" (auto: 0.1) or Adam's step size (auto: 0.004), which ``fit``
        holds for the first half of the epochs and then lowers linearly to zero; over the first
        30 % of the epochs ``fit`` also lowers the KL penalty's target from 0.5 to ρ
        geometrically, which keeps Adam off the plateau where every unit is off
        (:mod:`sparseae.optim.adam` says why; ``partial_fit`` keeps both constant).
    beta_1 : float in [0, 1) or "auto", default "auto"
        Adam's β₁, the decay of its first moment (the momentum; not the notes' β, which is
        ``sparsity_weight``). "auto": 0.3 with the KL penalty, 0.9 (Kingma and Ba's) with L1 and
        TopK, each what measured best on the notes' exercise (benchmarks/RESULTS.md).
    batch_size : int or "auto", default "auto"
        For "adam", the minibatch (auto: 100). Otherwise rows per chunk of the notes' two-pass
        evaluation (auto: all rows of an in-memory array; about 64 MiB of a ``.npy`` or memmap).
    lbfgs_memory : int or "auto", default "auto"
        Corrections L-BFGS keeps (SciPy's ``maxcor`` for "l-bfgs-b"; minFunc keeps 100). "auto":
        100, or fewer (at least 10) so the history (2 θ-sized vectors per correction) is no
        larger than the training data's activations (benchmarks/RESULTS.md).
    dtype : {"float64", "float32"} or np.float64, np.float32, default "float64"
        The arithmetic of ``fit``. float32 halves the objective's buffers and about halves
        the time of each evaluation on larger data; θ, the optimizer and ``transform`` stay
        float64 (benchmarks/RESULTS.md).
    device : str or None, default None
        None: NumPy. "cpu", "cuda", "cuda:1", ...: PyTorch tensors on that device (needs the
        ``torch`` extra), the same objective code running on them.
    validation_fraction : float, default 0.0
        Rows of an in-memory X held out at random (by ``random_state``) and not trained on: J_sparse
        on them is recorded after each iteration (``validation_scores_``, lower is better). Their
        indices are ``validation_rows_``.
    early_stopping : bool, default False
        Stop when the held-out cost has not improved for ``n_iter_no_change`` iterations, and keep
        the parameters of the best one (needs ``validation_fraction`` > 0).
    n_iter_no_change : int, default 10
    resample_dead : int, default 0
        Every this many iterations (epochs for "adam"), units active on no training example are
        given a new start from an example the model reconstructs badly (:mod:`sparseae.resample`);
        full-batch solvers restart their history after each such window, and ``fit``'s Adam
        resamples in the first 90 % of its epochs only. For units that can be exactly off (ReLU,
        or TopK); 0: never. Measured choices (benchmarks/RESULTS.md): 50 for L-BFGS, 5 for Adam.
        ``n_resampled_`` counts the units resampled.
    warm_start : bool, default False
        Start ``fit`` from the current weights; ``n_iter_`` and ``loss_curve_`` continue.
    callback : callable or None, default None
        ``callback(state)`` after each iteration (epoch for "adam"), ``state`` with ``n_iter``,
        ``loss``, ``validation_score`` and ``theta`` (read-only); returning True stops the fit.
    random_state : int, RandomState instance or None
        Seeds the initial weights: the same seed gives the same weights, bit for bit.
    verbose : int, default 0
        1 or more: a progress bar with the iteration and the cost.

    Attributes
    ----------
    coefs_, intercepts_ : lists of ndarray
        ``[W1.T, W2.T]`` (scikit-learn's MLP convention, (fan_in, fan_out)) and ``[b1, b2]``.
    components_ : ndarray of shape (n_hidden, n_features)
        W1, one row per hidden unit: ``coefs_[0].T``.
    n_iter_ : int
    loss_ : float
        J_sparse with all its terms at the final parameters on the training data.
    loss_terms_ : dict
        Its terms: ``squared_error``, ``weight_decay``, ``sparsity``; and ``rho_hat``.
    loss_curve_ : list of float
        The cost after each iteration; for "adam", the mean minibatch cost of each epoch (during
        the target's warm-up, with the warmed-up target).
    n_features_in_ : int
    """

    _parameter_constraints = {name: CONSTRAINTS[name] for name in (
        "n_hidden", "sparsity", "sparsity_target", "sparsity_weight", "k", "decoder_norm",
        "weight_decay", "activation", "output_activation", "solver", "max_iter", "tol",
        "learning_rate", "beta_1", "batch_size", "lbfgs_memory", "dtype", "device", "validation_fraction",
        "early_stopping", "n_iter_no_change", "resample_dead", "warm_start", "callback", "random_state",
        "verbose")}  # fmt: skip
    _parameter_constraints["max_iter"] = CONSTRAINTS["max_iter"] + [Names(("auto",))]
    # It reconstructs x by squared error: an output that couples a row's units (softmax) cannot.
    _parameter_constraints["output_activation"] = [Names(ACTIVATIONS, lambda act: act.elementwise)]

    def __init__(self, n_hidden=25, *, sparsity="kl", sparsity_target=0.01, sparsity_weight=3.0, k=None,
                 decoder_norm=None, weight_decay=1e-4, activation="sigmoid", output_activation="sigmoid",
                 solver="lbfgs", max_iter="auto", tol=1e-5, learning_rate="auto", beta_1="auto",
                 batch_size="auto", lbfgs_memory="auto", dtype="float64", device=None,
                 validation_fraction=0.0, early_stopping=False, n_iter_no_change=10, resample_dead=0,
                 warm_start=False, callback=None, random_state=None, verbose=0):  # fmt: skip
        self.n_hidden, self.sparsity = n_hidden, sparsity
        self.sparsity_target, self.sparsity_weight = sparsity_target, sparsity_weight
        self.k, self.decoder_norm = k, decoder_norm
        self.weight_decay, self.activation = weight_decay, activation
        self.output_activation = output_activation
        self.solver, self.max_iter, self.tol, self.learning_rate = solver, max_iter, tol, learning_rate
        self.beta_1 = beta_1
        self.batch_size, self.lbfgs_memory, self.dtype, self.device = batch_size, lbfgs_memory, dtype, device
        self.validation_fraction, self.early_stopping = validation_fraction, early_stopping
        self.n_iter_no_change, self.warm_start, self.callback = n_iter_no_change, warm_start, callback
        self.resample_dead = resample_dead
        self.random_state, self.verbose = random_state, verbose

    # -- fitting -----------------------------------------------------------------------------

    def fit(self, X, y=None, *, checkpoint=None, checkpoint_every=10, resume_from=None):
        """Learn the weights from X, one example per row; y is ignored. Returns self.

        X may be an array, a path to a ``.npy`` file or a memmap of one (read in chunks, never
        whole), or a Dask array (evaluated on the active dask.distributed Client).

        ``checkpoint``: a file to which θ and the optimizer's state are written (atomically) every
        ``checkpoint_every`` iterations. ``resume_from``: such a file: the fit goes on from it, on
        the same X with the same parameters (``max_iter``, ``verbose`` and ``callback`` may
        differ), to ``max_iter`` iterations in all. L-BFGS, Adam and gradient descent resume bit
        for bit; SciPy's L-BFGS-B and CG restart from the saved θ (:mod:`sparseae.checkpoint`).
        """
        validate_params(self)
        self._check_sparsity()
        if checkpoint is not None:
            check_parameters({"checkpoint_every": checkpoint_every}, "fit")
        resumed = self._read_resume(resume_from) if resume_from is not None else None
        self.__dict__.pop("_stream", None)
        warm = self.warm_start and hasattr(self, "theta_") and resumed is None
        source, m, n = training_source(self, X, reset=not warm, dtype=np.dtype(self.dtype))
        fingerprint = None
        if checkpoint is not None or resumed is not None:
            fingerprint = data_fingerprint(source, m, n)
        if resumed is not None:
            check_same_data(resumed.data, fingerprint)
        layout = Layout([n, self.n_hidden, n])
        warm = warm and self.theta_.size == layout.size  # a changed n_hidden starts afresh
        if resumed is not None:
            before, theta0 = (resumed.n_iter, resumed.loss_curve), resumed.theta
            if resumed.theta.size != layout.size:
                raise ModelFileError(f"the checkpoint's θ has {resumed.theta.size} values, not {layout.size}")
        else:
            before = (self.n_iter_, list(self.loss_curve_)) if warm else (0, [])
            theta0 = self.theta_.copy() if warm else layout.initial_theta(self.random_state)
        source, m, monitor = self._hold_out(source, m, n, before, resumed)
        if checkpoint is not None:
            monitor.checkpoint, monitor.checkpoint_every = self._checkpointer(checkpoint, fingerprint), \
                checkpoint_every  # fmt: skip
        remaining = self._max_iter() - before[0] if resumed is not None else self._max_iter()
        self.n_resampled_ = 0
        try:
            if self.solver == "adam":
                self._start_stream(theta0, resumed.adam if resumed is not None else None)
                self._run_epochs(source, m, n, remaining, decay=True, monitor=monitor, first=before[0])
                return self._finish_watched(monitor, self._full_objective(source, m, n), before)
            out_of_core = not isinstance(source, np.ndarray)
            objective = self._objective(source, m, n, batch_rows(self, m, n, out_of_core=out_of_core))
            if remaining <= 0:
                self._set_parameters(objective, theta0, 0, [])
                return self._finish_watched(monitor, objective, before)
            memory = self.lbfgs_memory
            if memory == "auto":
                memory = auto_lbfgs_memory(m, objective.layout)
            solve = dict(solver=self.solver, tol=self.tol, learning_rate=self._learning_rate(),
                         lbfgs_memory=memory, monitor=monitor)  # fmt: skip
            if self.resample_dead and objective.k is not None:
                self._fit_in_windows(objective, source, theta0, remaining, monitor, solve)
            else:
                state = resumed.lbfgs if resumed is not None and self.solver == "lbfgs" else None
                fit_full_batch(self, objective, theta0, max_iter=remaining, state=state, **solve)
            return self._finish_watched(monitor, objective, before)
        except (FitInterrupted, NonFiniteCostError) as exc:
            exc.n_iter += before[0]  # the iterations of the whole fit, as n_iter_ below
            self.n_iter_ += before[0]
            self.loss_curve_ = before[1] + self.loss_curve_
            raise

    def _fit_in_windows(self, objective, source, theta, iterations, monitor, solve):
        """The full-batch solver for ``resample_dead`` iterations at a time, with dead units
        resampled between windows (each window starts the solver's history afresh)."""
        rng = np.random.RandomState(check_random_state(self.random_state).randint(2**31))
        curve, done, start, unconverged = [], 0, monitor.n_done, None
        while done < iterations:
            window = min(self.resample_dead, iterations - done)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                fit_full_batch(self, objective, theta, max_iter=window, **solve)
            unconverged = None  # only the last window's says how the fit ended
            for w in caught:
                if issubclass(w.category, ConvergenceWarning):
                    unconverged = w.message
                else:
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            curve += self.loss_curve_
            done += self.n_iter_
            monitor.n_done = start + done
            dead = dead_units(self.loss_terms_["rho_hat"])
            stopped_early = monitor.early_stopping and monitor.since_best >= monitor.patience
            if self.n_iter_ == 0 or (self.n_iter_ < window and (dead.size == 0 or stopped_early)):
                break  # no progress (a failed line search), or converged with every unit alive, or stopped
            theta = self.theta_.copy()
            if dead.size and done < iterations:
                resample(objective.layout, theta, dead, _first_rows(source), self.activation,
                         self.output_activation, self._top_k(), rng)  # fmt: skip
                self.n_resampled_ += dead.size
        monitor.n_done = start
        self.n_iter_, self.loss_curve_ = done, curve
        if unconverged is not None:  # counted in its window: say the whole fit's iterations too
            warnings.warn(f"{unconverged} (in its last window of resample_dead={self.resample_dead}; "
                          f"{done} iterations in all)", ConvergenceWarning, stacklevel=3)  # fmt: skip

    def _check_sparsity(self):
        """The penalty's own rules, before any data is read: an activation it can work with, k for
        TopK, and a warning for ρ, β or k given to a penalty that does not use them."""
        penalty = PENALTIES[self.sparsity]
        if self.sparsity_weight > 0 or penalty.select is not None:
            check_activation(penalty, ACTIVATIONS[self.activation])
        if penalty.select is not None:
            if self.k is None:
                raise ParameterError(f"sparsity={self.sparsity!r} needs k, the hidden units each example "
                                     f"keeps")  # fmt: skip
            if self.k >= self.n_hidden:
                raise ParameterError(f"k={self.k} keeps every one of the n_hidden={self.n_hidden} units; "
                                     f"k must be below n_hidden")  # fmt: skip
        unused = []
        if not penalty.uses_target and self.sparsity_target != 0.01:
            unused.append(f"sparsity_target={self.sparsity_target}")
        if not penalty.uses_weight and self.sparsity_weight != 3.0:
            unused.append(f"sparsity_weight={self.sparsity_weight}")
        if penalty.select is None and self.k is not None:
            unused.append(f"k={self.k}")
        if unused:
            warnings.warn(f"sparsity={self.sparsity!r} does not use {' or '.join(unused)}; it is ignored",
                          UserWarning, stacklevel=3)  # fmt: skip

    def _read_resume(self, path):
        """The checkpoint at ``path``, checked against this estimator's parameters."""
        ckpt = read_checkpoint(path)
        mine = self._json_params()
        for name in sorted(set(mine) | set(ckpt.params)):
            if name in ("max_iter", "verbose", "callback"):
                continue
            if name != "beta_1" and mine.get(name) != ckpt.params.get(name):
                raise ParameterError(
                    f"resume_from={str(path)!r} was written by a fit with {name}="
                    f"{ckpt.params.get(name)!r}, not {mine.get(name)!r}; resume with the same parameters"
                )
        # β₁ is Adam's alone, and compared resolved; checkpoints older than it were written with 0.9.
        theirs = self._beta_1(ckpt.params.get("beta_1", 0.9))
        if self.solver == "adam" and self._beta_1() != theirs:
            raise ParameterError(
                f"resume_from={str(path)!r} was written by a fit with Adam's beta_1={theirs!r}, not "
                f"{self._beta_1()!r} (beta_1={self.beta_1!r}); resume with beta_1={theirs!r}"
            )
        return ckpt

    def _checkpointer(self, path, fingerprint):
        """``write(n_iter, theta, monitor)``: the fit's state as a checkpoint at ``path``."""

        def write(n_iter, theta, monitor):
            adam = None
            if self.solver == "adam":
                stream = self._stream
                adam = {"m": stream.adam.m, "v": stream.adam.v, "t": stream.adam.t,
                        "rng": stream.rng.get_state(), "rho_hat": stream.rho_hat}  # fmt: skip
            validation = None
            if monitor.objective is not None:
                validation = {"rows": self.validation_rows_, "scores": monitor.scores, "best": monitor.best,
                              "since_best": monitor.since_best, "best_theta": monitor.best_theta}  # fmt: skip
            lbfgs = monitor.solver_state.get("lbfgs")
            write_checkpoint(path, Checkpoint(
                params=self._json_params(), n_features=self.n_features_in_, n_iter=n_iter,
                loss_curve=monitor.loss_curve, theta=host_copy(theta), data=fingerprint,
                adam=adam, validation=validation, lbfgs=None if lbfgs is None else lbfgs()))  # fmt: skip

        return write

    def _hold_out(self, source, m, n, before=(0, []), resumed=None):
        """``(training rows, their count, Monitor or None)``: ``validation_fraction`` of the rows held
        out (a resumed fit's: the checkpoint's), and what watches each iteration."""
        for stale in ("validation_rows_", "validation_scores_", "best_validation_score_"):
            self.__dict__.pop(stale, None)
        held_out = None
        if self.validation_fraction > 0:
            if not isinstance(source, np.ndarray):
                raise ParameterError(
                    "validation_fraction needs X in memory; for a file or a Dask array, hold rows "
                    "out yourself and use reconstruction_metrics"
                )
            v = int(round(self.validation_fraction * m))
            if v < 1 or m - v < self.n_hidden:
                raise ParameterError(
                    f"validation_fraction={self.validation_fraction} holds out {v} of {m} rows, leaving "
                    f"{m - v} to train {self.n_hidden} hidden units; it needs at least one held-out row "
                    f"and as many training rows as units"
                )
            if resumed is not None and resumed.validation is not None:
                self.validation_rows_ = resumed.validation["rows"]
            else:
                self.validation_rows_ = np.sort(check_random_state(self.random_state).permutation(m)[:v])
            if len(self.validation_rows_) != v or not np.all(self.validation_rows_ < m):
                raise ModelFileError("the checkpoint's held-out rows do not fit this data")
            held_out = self._objective(source[self.validation_rows_], v, n)
            training = np.setdiff1d(np.arange(m), self.validation_rows_, assume_unique=True)
            source, m = source[training], m - v
        elif self.early_stopping:
            raise ParameterError("early_stopping needs held-out rows: set validation_fraction > 0")
        monitor = Monitor(held_out, self.early_stopping, self.n_iter_no_change, self.callback,
                          n_done=before[0], loss_curve=before[1])  # fmt: skip
        if held_out is not None and resumed is not None and resumed.validation is not None:
            monitor.restore(resumed.validation)
        return source, m, monitor

    def _finish_watched(self, monitor, objective, before):
        """After a fit: the held-out scores, the best iteration's θ for early stopping, and a warm
        start's or a resumed fit's earlier iterations in front of the new ones."""
        if monitor.objective is not None:
            self.validation_scores_ = scores = monitor.scores
            self.best_validation_score_ = min(scores) if scores else None
            if self.early_stopping and monitor.best_theta is not None:
                self._set_parameters(objective, monitor.best_theta, self.n_iter_, self.loss_curve_)
        self.n_iter_ += before[0]
        self.loss_curve_ = before[1] + self.loss_curve_
        return self

    def partial_fit(self, X, y=None):
        """One epoch of the streaming solver (Adam) over X; call again with more data.

        The first call initialises the weights from ``random_state``; later calls continue
        from where the last one stopped (Adam's moments and the ρ̂ average included). Works
        whatever ``solver`` says. X as for :meth:`fit` (not a Dask array).
        """
        first = not hasattr(self, "_stream")
        if first:
            validate_params(self)
            self._check_sparsity()
        source, m, n = training_source(self, X, reset=first, dtype=np.dtype(self.dtype))
        if first:
            self._start_stream(Layout([n, self.n_hidden, n]).initial_theta(self.random_state))
        return self._run_epochs(source, m, n, 1, decay=False)

    def fit_stream(self, chunks, n_chunks):
        """Adam over a stream longer than memory: one pass over each chunk of ``chunks`` (an
        iterable of arrays with the same columns, such as
        :func:`sparseae.datasets.patch_stream`), holding one chunk at a time, with ``fit``'s
        schedules (the step, and the KL target's warm-up) spread over ``n_chunks`` chunks as over
        epochs. Starts afresh from ``random_state``; ``callback(state)`` after each chunk
        (``state.n_iter``: chunks done). Returns self.
        """
        validate_params(self)
        self._check_sparsity()
        if not (isinstance(n_chunks, int) and n_chunks >= 1):
            raise ParameterError(f"n_chunks must be a positive integer, got {n_chunks!r}")
        self.__dict__.pop("_stream", None)
        for i, chunk in enumerate(chunks):
            if i >= n_chunks:
                raise DataError(f"the stream has more than n_chunks={n_chunks} chunks")
            source, m, n = training_source(self, chunk, reset=i == 0, dtype=np.dtype(self.dtype))
            if i == 0:
                self._start_stream(Layout([n, self.n_hidden, n]).initial_theta(self.random_state))
            self._run_epochs(source, m, n, 1, decay=True, first=i, total=n_chunks)  # n_iter_ = i + 1
            state = SimpleNamespace(n_iter=i + 1, loss=self.loss_curve_[-1], validation_score=None,
                                    theta=self._stream.theta)  # fmt: skip
            if self.callback is not None and self.callback(state) is True:
                break
        if not hasattr(self, "_stream"):
            raise DataError("the stream held no chunks")
        return self

    def _start_stream(self, theta0, saved=None):
        """The streaming solver's state: fresh, or ``saved`` (a checkpoint's ``adam``)."""
        self.n_resampled_ = 0
        self._stream = _Stream(theta0.copy(), Adam(theta0.size, self._beta_1()),
                               check_random_state(self.random_state))
        if saved is not None:
            adam = self._stream.adam
            adam.m[...], adam.v[...], adam.t = saved["m"], saved["v"], saved["t"]
            self._stream.rng = np.random.RandomState()
            self._stream.rng.set_state(saved["rng"])
            self._stream.rho_hat = saved["rho_hat"]
        self.loss_curve_, self.n_iter_ = [], 0

    def _run_epochs(self, source, m, n, epochs, decay, monitor=None, first=0, total=None):
        """Adam over minibatches for ``epochs`` epochs; ``decay``: fit's step schedule, on which
        these are epochs ``first``, ``first + 1``, ... of ``total`` (default ``first + epochs``)."""
        total = first + epochs if total is None else total
        if is_dask_array(source):
            raise ParameterError("solver='adam' does not take a Dask array; use a full-batch solver")
        batch = batch_rows(self, m, n, minibatch=True)
        objective = self._objective(source, m, n, batch)
        stream, curve, done = self._stream, list(self.loss_curve_), self.n_iter_
        rate = self._learning_rate(adam=True)

        def minibatch(rows):
            def fun(theta):
                terms, grad, stream.rho_hat = objective.evaluate_batch(theta, rows, stream.rho_hat)
                return terms["cost"], grad

            return fun

        progress = Progress(epochs, enabled=self.verbose > 0, description="epochs")
        with progress, single_threaded_blas():
            try:
                for epoch in range(epochs):
                    step = step_schedule(rate, first + epoch, total) if decay else rate
                    if decay and objective.penalty.uses_target and objective.k is not None:
                        objective.rho = target_schedule(self.sparsity_target, first + epoch, total)
                    functions = map(minibatch, minibatches(source, batch, stream.rng))
                    curve.append(run_epoch(functions, stream.theta, stream.adam, step))
                    done_now = first + epoch + 1
                    window_ends = self.resample_dead and done_now % self.resample_dead == 0
                    if window_ends and objective.k is not None and (not decay or done_now <= 0.9 * total):
                        self._resample_stream(source, m, n, objective)
                    stop = monitor is not None and monitor(len(curve) - done, curve[-1], stream.theta)
                    progress.update(epoch + 1, curve[-1], monitor.last_score if monitor is not None else None)
                    if stop:
                        epochs = epoch + 1
                        break
            except (KeyboardInterrupt, NonFiniteCostError) as exc:
                finished = done + len(curve) - len(self.loss_curve_)
                theta = exc.theta if isinstance(exc, NonFiniteCostError) else stream.theta.copy()
                self._set_parameters(self._full_objective(source, m, n), theta, finished, curve)
                if isinstance(exc, NonFiniteCostError):
                    raise NonFiniteCostError(f"{exc} (after {finished} epochs)", theta, finished) from None
                warn_interrupted(finished, "minibatch")
                raise FitInterrupted(theta, finished, curve) from None
        self._set_parameters(self._full_objective(source, m, n), stream.theta.copy(), done + epochs, curve)
        return self

    def _resample_stream(self, source, m, n, objective):
        """Adam's dead units (on all the rows, at a window's end) resampled, their first moments
        reset (the second ones kept: measured, a reset v gives the new units steps large enough
        to kill them again)."""
        stream = self._stream
        rho_hat = self._full_objective(source, m, n).terms(stream.theta)["rho_hat"]
        dead = dead_units(rho_hat)
        if dead.size:
            changed = resample(objective.layout, stream.theta, dead, _first_rows(source), self.activation,
                               self.output_activation, self._top_k(), stream.rng,
                               objective.effective_theta(stream.theta))  # fmt: skip
            stream.adam.m[changed] = 0.0
            self.n_resampled_ += dead.size

    def _full_objective(self, source, m, n):
        """The exact J_sparse on the data, for loss_ (two passes if the data is out of core)."""
        in_memory = isinstance(source, np.ndarray)
        return self._objective(source, m, n, None if in_memory else chunk_rows(m, n, self.n_hidden))

    def _objective(self, source, m, n, batch_size=None):
        params = dict(activation=self.activation, output_activation=self.output_activation,
                      sparsity=self.sparsity, weight_decay=self.weight_decay,
                      sparsity_target=self.sparsity_target, sparsity_weight=self.sparsity_weight,
                      top_k=self._top_k(), decoder_norm=self.decoder_norm)  # fmt: skip
        if is_dask_array(source):
            from .distributed import DaskObjective

            return DaskObjective([n, self.n_hidden, n], source, **params)
        backend = get_backend(self.device, np.dtype(self.dtype))
        return SparseObjective([n, self.n_hidden, n], source, backend=backend, batch_size=batch_size,
                               **params)  # fmt: skip

    def _learning_rate(self, adam=False):
        """The step of "gd", or of Adam (``adam``: also for partial_fit, whatever the solver)."""
        if self.learning_rate != "auto":
            return self.learning_rate
        return 0.004 if adam or self.solver == "adam" else 0.1

    def _max_iter(self):
        if self.max_iter != "auto":
            return self.max_iter
        return 300 if self.solver == "adam" else 400

    def _beta_1(self, beta_1=None):
        """Adam's β₁: ``beta_1`` (default: this estimator's), with "auto" resolved for its penalty."""
        beta_1 = self.beta_1 if beta_1 is None else beta_1
        if beta_1 != "auto":
            return float(beta_1)
        return ADAM_BETA_1[self.sparsity]

    def _top_k(self):
        return self.k if PENALTIES[self.sparsity].select is not None else None

    def _adopt_theta(self, layout, theta):
        """Fitted weights as views into the one flat θ."""
        self.theta_ = theta
        Ws, bs = layout.unpack(theta)
        self.coefs_ = [W.T for W in Ws]
        self.intercepts_ = list(bs)

    def _set_parameters(self, objective, theta, n_iter, loss_curve):
        self._adopt_theta(objective.layout, np.array(objective.effective_theta(theta), dtype=np.float64))
        self.n_iter_ = int(n_iter)
        self.loss_curve_ = list(loss_curve)
        terms = objective.terms(self.theta_)
        self.loss_ = terms.pop("cost")
        self.loss_terms_ = terms

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
        a = forward(Ws, bs, X, self.activation, self.output_activation, n_layers=2, top_k=self._top_k())
        return a[-1]

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

    def reconstruct(self, X):
        """h(x) = inverse_transform(transform(X)), the network's output."""
        return self.inverse_transform(self.transform(X))

    def score(self, X, y=None):
        """The negative mean squared reconstruction error, -mean((h(x) - x)^2): higher is better."""
        X = validate_rows(self, X, reset=False)
        return -float(np.mean((self.reconstruct(X) - X) ** 2))

    # -- persistence: plain numbers and JSON, never pickle -----------------------------------

    def _get_state(self):
        params = self._json_params()
        fitted = {
            "n_features_in_": int(self.n_features_in_),
            "n_iter_": self.n_iter_,
            "loss_": self.loss_,
            "loss_curve_": self.loss_curve_,
            "loss_terms_": {k: v for k, v in self.loss_terms_.items() if k != "rho_hat"},
        }
        Ws, bs = self._weights()
        arrays = {"W1": Ws[0], "b1": bs[0], "W2": Ws[1], "b2": bs[1]}
        if self.loss_terms_.get("rho_hat") is not None:
            arrays["rho_hat"] = self.loss_terms_["rho_hat"]
        return params, fitted, arrays

    @classmethod
    def _from_state(cls, params, fitted, arrays):
        model = cls(**params)
        validate_params(model)
        n, s2 = fitted["n_features_in_"], model.n_hidden
        layout = Layout([n, s2, n])
        expected = {"W1": (s2, n), "b1": (s2,), "W2": (n, s2), "b2": (n,)}
        theta = np.empty(layout.size, dtype=np.float64)
        Ws, bs = layout.unpack(theta)
        for name, target in zip(("W1", "b1", "W2", "b2"), (Ws[0], bs[0], Ws[1], bs[1])):
            if name not in arrays:
                raise ModelFileError(f"weights {name} missing")
            if arrays[name].shape != expected[name]:
                raise ModelFileError(
                    f"{name} has shape {arrays[name].shape}, expected {expected[name]} "
                    f"for {n} features and {s2} hidden units"
                )
            if arrays[name].dtype.kind != "f" or not np.isfinite(arrays[name]).all():
                raise ModelFileError(f"{name} must hold finite floating-point values")
            target[...] = arrays[name]
        model._adopt_theta(layout, theta)
        model.n_features_in_ = n
        model.n_iter_ = int(fitted["n_iter_"])
        model.loss_ = float(fitted["loss_"])
        model.loss_curve_ = [float(v) for v in fitted["loss_curve_"]]
        model.loss_terms_ = {k: float(v) for k, v in fitted["loss_terms_"].items()}
        model.loss_terms_["rho_hat"] = arrays.get("rho_hat")
        return model


def _first_rows(source):
    """Up to SAMPLE_ROWS rows of the training data, in memory, for resampling."""
    if hasattr(source, "rows"):
        return source.rows(0, SAMPLE_ROWS)
    return np.asarray(source[:SAMPLE_ROWS])
