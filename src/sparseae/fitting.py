"""How an estimator trains, written once for every estimator: its parameters resolved into the
training layer's settings, held-out rows, checkpoints and resume, one driver called, its result
adopted (the interrupted or diverged run's last good parameters included).

An estimator that mixes in :class:`Trainable` gives three things: ``_objective(source, targets,
chunk_size)`` (J for its network on those rows), ``_adopt(objective, theta)`` (its fitted
attributes from θ) and ``_penalty_name`` (for β₁ "auto"); its parameters are read here only.
"""

import json
import warnings
from dataclasses import replace

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import validate_data

from ._data import MINIBATCH_ROWS, chunk_rows, in_memory, is_dask_array, training_source
from .checkpoint import check_same_data, data_fingerprint, read_checkpoint
from .errors import DataError, FitInterrupted, ModelFileError, NonFiniteCostError, ParameterError
from .initialisation import resolved_center_encoder
from .memory import check_fit
from .resample import SAMPLE_ROWS
from .solvers import MINIBATCH, get_solver, registered
from .training import FullBatch, Minibatch, Monitor, Settings
from .training.checkpoints import Checkpointer, check_same_params
from .training.resampling import Resampler
from .validation import check_parameters

#: What a checkpoint written before a parameter existed was fitted with, where that is not the
#: parameter's default: ``{parameter: (the parameter it depends on, its value, the value then)}``.
#: JumpReLU's thresholds were stepped in their logs.
#: JumpReLU's thresholds were stepped in their logs. (Adam's gradient was never clipped before
#: ``max_grad_norm``: ``_read_resume`` knows, as it knows β₁'s 0.9.)
BEFORE = {"jumprelu_steps": ("sparsity", "jumprelu", "log")}
#: Parameters only a minibatch solver reads (a full-batch fit resumes whatever their values).
MINIBATCH_ONLY = ("beta_1", "jumprelu_steps", "max_grad_norm", "optimizer_dtype")
#: Parameters compared resolved ("auto" as the solver resolves it for the penalty) on resume, and
#: what a checkpoint written before each existed was fitted with.
RESOLVED = {"beta_1": 0.9, "max_grad_norm": None, "center_encoder": False}
#: A parameter absent from a checkpoint (None is one of ``max_grad_norm``'s values).
_MISSING = object()


def auto_lbfgs_memory(m, layout):
    """L-BFGS corrections for ``lbfgs_memory="auto"``: 100 (as UFLDL's minFunc), or fewer, at least
    10, so the history (2 θ-sized vectors a correction) is no larger than the data's activations."""
    return int(min(100, max(10, m * sum(layout.layer_sizes[1:]) // (2 * layout.size))))


def default_minibatch_solver():
    """The first registered minibatch solver (``partial_fit``'s when ``solver`` is full batch)."""
    return next(s for s in registered().values() if s.kind == MINIBATCH)


def first_rows(source):
    """Up to SAMPLE_ROWS rows of the training data, in memory, for resampling."""
    return source.rows(0, SAMPLE_ROWS) if hasattr(source, "rows") else np.asarray(source[:SAMPLE_ROWS])


class Trainable:
    """The training half of an estimator: ``fit``'s machinery on any objective."""

    _penalty_name = "none"

    # -- data ------------------------------------------------------------------------------

    def _training_data(self, X, reset, output_activation=None):
        """``(source, m, n)`` with scikit-learn's feature bookkeeping (``n_features_in_``,
        ``feature_names_in_``) set when ``reset`` and checked otherwise."""
        source, m, n = training_source(X, output_activation=output_activation, dtype=np.dtype(self.dtype),
                                       chunk_size=self._given_batch())
        if in_memory(source):
            try:
                validate_data(self, X, reset=reset, skip_check_array=True)
            except ValueError as exc:
                raise DataError(str(exc).strip().replace("\n", " ")) from None
        elif reset:
            self.n_features_in_ = n
            self.__dict__.pop("feature_names_in_", None)
        elif n != self.n_features_in_:
            raise DataError(f"X has {n} features, but {type(self).__name__} is expecting "
                            f"{self.n_features_in_} features as input")
        return source, m, n

    def _given_batch(self):
        batch = getattr(self, "batch_size", "auto")
        return None if batch == "auto" else int(batch)

    def _chunk_size(self, source, m, n, solver):
        """Rows per chunk of the two-pass evaluation: all of an in-memory array unless
        ``batch_size`` says otherwise (for a full-batch solver; a minibatch solver's is its
        minibatch); about 64 MiB of a file."""
        given = self._given_batch()
        if given is not None and not solver.minibatch:
            return min(given, m)
        return None if in_memory(source) else chunk_rows(m, n, self._width())

    def _check_memory(self, layout, source, m):
        """Refuse, before θ0 is allocated, a fit of ``layout`` on ``m`` rows that cannot fit in
        this machine's memory (:mod:`sparseae.memory`)."""
        solver = self._solver()
        settings = self._settings(solver, 0, m, layout)  # the batch and L-BFGS memory the fit will use
        if solver.minibatch:
            rows, history = settings.batch_size, 2
        else:
            rows = self._chunk_size(source, m, layout.layer_sizes[0], solver) or m
            history = 2 * settings.lbfgs_memory if "lbfgs_memory" in solver.options else 0
        sizes = "-".join(str(s) for s in layout.layer_sizes)
        check_fit(f"a {sizes} {type(self).__name__} with solver {solver.name!r}", layout.size, rows,
                  layout.layer_sizes, np.dtype(self.dtype).itemsize, history)

    def _starting_point(self, layout, source, m, resumed):
        """``(before, θ0)`` of a fit of ``layout`` on ``m`` rows, its memory checked first: no
        iterations and this estimator's θ0, or a resumed checkpoint's iterations, costs and θ."""
        self._check_memory(layout, source, m)
        if resumed is None:
            return (0, []), self._initial_theta(layout)
        if resumed.theta.size != layout.size:
            raise ModelFileError(f"the checkpoint's θ has {resumed.theta.size} values, not {layout.size}")
        return (resumed.n_iter, resumed.loss_curve), resumed.theta

    # -- settings ----------------------------------------------------------------------------

    def _warn_unused(self, solver):
        """A warning for a training parameter given (not "auto", not its default) to a solver,
        or a setting, that does not use it: never silently ignored."""
        unused = []
        if getattr(self, "learning_rate", "auto") != "auto" and solver.learning_rate is None:
            unused.append(f"learning_rate={self.learning_rate}")
        if getattr(self, "beta_1", "auto") != "auto" and solver.beta_1 is None:
            unused.append(f"beta_1={self.beta_1}")
        if getattr(self, "lbfgs_memory", "auto") != "auto" and "lbfgs_memory" not in solver.options:
            unused.append(f"lbfgs_memory={self.lbfgs_memory}")
        if unused:
            warnings.warn(f"solver={solver.name!r} does not use {' or '.join(unused)}; it is ignored", UserWarning,
                          stacklevel=4)
        if getattr(self, "n_iter_no_change", 10) != 10 and not getattr(self, "early_stopping", False):
            warnings.warn(f"n_iter_no_change={self.n_iter_no_change} counts only with early_stopping=True; "
                          "it is ignored", UserWarning, stacklevel=4)

    def _solver(self, minibatch_only=False):
        solver = get_solver(self.solver)
        return default_minibatch_solver() if minibatch_only and not solver.minibatch else solver

    def _beta_1(self, solver, beta_1=None):
        """β₁ (default: this estimator's), "auto" resolved by ``solver`` for the penalty."""
        beta_1 = getattr(self, "beta_1", "auto") if beta_1 is None else beta_1
        if beta_1 != "auto":
            return float(beta_1)
        return None if solver.beta_1 is None else float(solver.beta_1[self._penalty_name])

    def _max_grad_norm(self, solver, given="default"):
        """The gradient clipping (default: this estimator's ``max_grad_norm``), "auto" resolved by
        ``solver`` for the penalty; None: none."""
        given = getattr(self, "max_grad_norm", "auto") if given == "default" else given
        if given != "auto":
            return None if given is None else float(given)
        return None if solver.max_grad_norm is None else solver.max_grad_norm[self._penalty_name]

    def _center_encoder(self, solver, given="default"):
        """Whether the encoder reads x − b2 in training (default: this estimator's
        ``center_encoder``; estimators without one never), "auto" resolved for ``solver``."""
        given = getattr(self, "center_encoder", False) if given == "default" else given
        return given is not False and resolved_center_encoder(given, self._penalty_name, solver.minibatch)

    def _centred(self, objective, solver):
        """``objective``, its encoder reading x − b2 where :meth:`_center_encoder` says so: every
        objective that sees θ in training does (θ's b1 is then b1 + W1 b2)."""
        return objective.centered() if objective is not None and self._center_encoder(solver) else objective

    @staticmethod
    def _theta_of(objective, network):
        """The θ ``objective`` takes for a network (a start, a warm start): a centred objective's
        holds b1 + W1 b2; other objectives (RICA's, softmax's) take the network as it is."""
        return objective.parameters_of(network) if getattr(objective, "center_encoder", False) else network

    def _resolved(self, name, solver, value="default"):
        """β₁, the clipping or the centring (a name of RESOLVED), "auto" resolved, of ``value`` or
        this estimator's."""
        if name == "beta_1":
            return self._beta_1(solver, None if value == "default" else value)
        if name == "center_encoder":
            return self._center_encoder(solver, value)
        return self._max_grad_norm(solver, value)

    def _max_iter(self, solver=None):
        solver = self._solver() if solver is None else solver
        return solver.max_iter if self.max_iter == "auto" else int(self.max_iter)

    def _settings(self, solver, max_iter, m, layout, description="training"):
        rate = getattr(self, "learning_rate", "auto")
        memory = getattr(self, "lbfgs_memory", "auto")
        batch = self._given_batch() if solver.minibatch else None
        stepped = getattr(self, "jumprelu_steps", "log") == "threshold" and getattr(layout, "thresholds", None)
        return Settings(solver=solver, max_iter=max_iter, tol=getattr(self, "tol", 1e-5),
                        learning_rate=float(rate) if rate != "auto" else solver.learning_rate or 0.1,
                        beta_1=self._beta_1(solver), batch_size=min(batch or MINIBATCH_ROWS, m),
                        lbfgs_memory=auto_lbfgs_memory(m, layout) if memory == "auto" else int(memory),
                        resample_every=getattr(self, "resample_dead", 0), verbose=self.verbose > 0,
                        description="epochs" if solver.minibatch and description == "training" else description,
                        values=layout.log_threshold_range() if stepped else None,
                        max_grad_norm=self._max_grad_norm(solver),
                        optimizer_dtype=getattr(self, "optimizer_dtype", "float64") if solver.minibatch else "float64")

    # -- resume ------------------------------------------------------------------------------

    def _read_resume(self, path):
        """The checkpoint at ``path``, checked against this estimator's parameters (β₁ compared
        resolved, and only for a minibatch solver; checkpoints older than it were written with 0.9)."""
        ckpt = read_checkpoint(path)
        if ckpt.params.get("_model", type(self).__name__) != type(self).__name__:
            raise ModelFileError(f"resume_from={str(path)!r} is a checkpoint of a {ckpt.params['_model']}, "
                                 f"not of a {type(self).__name__}")
        solver = self._solver()

        def same(name, theirs, ours):
            if name in MINIBATCH_ONLY and not solver.minibatch:
                return True
            if name not in RESOLVED:
                return theirs == ours
            theirs = self._resolved(name, solver, RESOLVED[name] if theirs is _MISSING else theirs)
            if theirs != self._resolved(name, solver):
                whose = "Adam's " if name in MINIBATCH_ONLY else ""
                raise ParameterError(
                    f"resume_from={str(path)!r} was written by a fit with {whose}{name}={theirs!r}, not "
                    f"{self._resolved(name, solver)!r} ({name}={ours!r}); resume with {name}={theirs!r}")
            return True

        mine = json.loads(json.dumps(self._json_params()))  # tuples as the file's lists
        # a parameter added since the checkpoint was written: it was fitted at the default, or at
        # the behaviour before the parameter (BEFORE; RESOLVED's, which `same` knows)
        defaults = json.loads(json.dumps(type(self)()._json_params()))
        defaults.update({name: then for name, (depends, when, then) in BEFORE.items()
                         if ckpt.params.get(depends) == when})
        added = {k: _MISSING if k in RESOLVED else defaults[k]
                 for k in mine.keys() - ckpt.params.keys() if k in defaults}
        saved = {**added, **ckpt.params}
        check_same_params(path, {k: v for k, v in saved.items() if k != "_model"}, mine, same)
        return ckpt

    @staticmethod
    def _fingerprint(source, m, n, checkpoint, resumed):
        """The data's fingerprint when a checkpoint is written or read (None otherwise), checked
        against a resumed fit's."""
        if checkpoint is None and resumed is None:
            return None
        fingerprint = data_fingerprint(source, m, n)
        if resumed is not None:
            check_same_data(resumed.data, fingerprint)
        return fingerprint

    def _checkpoint_params(self):
        return {**self._json_params(), "_model": type(self).__name__}

    # -- one run ---------------------------------------------------------------------------

    def _hold_out(self, source, targets, m, resumed=None):
        """``(training source, targets, m, held-out (rows, targets) or None)``:
        ``validation_fraction`` of the rows held out at random (a resumed fit's: the checkpoint's)."""
        for stale in ("validation_rows_", "validation_scores_", "best_validation_score_"):
            self.__dict__.pop(stale, None)
        fraction = getattr(self, "validation_fraction", 0.0)
        if fraction <= 0:
            if getattr(self, "early_stopping", False):
                raise ParameterError("early_stopping needs held-out rows: set validation_fraction > 0")
            return source, targets, m, None
        if not in_memory(source):
            raise ParameterError("validation_fraction needs X in memory; for a file or a Dask array, hold rows "
                                 "out yourself and use reconstruction_metrics")
        v = int(round(fraction * m))
        if v < 1 or m - v < self._min_training_rows():
            raise ParameterError(f"validation_fraction={fraction} holds out {v} of {m} rows, leaving {m - v} to "
                                 f"train {self._min_training_rows()} hidden units; it needs at least one held-out "
                                 f"row and as many training rows as units")
        if resumed is not None and resumed.validation is not None:
            self.validation_rows_ = resumed.validation["rows"]
        else:
            self.validation_rows_ = np.sort(check_random_state(self.random_state).permutation(m)[:v])
        if len(self.validation_rows_) != v or not np.all(self.validation_rows_ < m):
            raise ModelFileError("the checkpoint's held-out rows do not fit this data")
        kept = np.setdiff1d(np.arange(m), self.validation_rows_, assume_unique=True)
        def pick(a, rows):
            return None if a is None else a[rows]

        held = (source[self.validation_rows_], pick(targets, self.validation_rows_))
        return source[kept], pick(targets, kept), m - v, held

    def _sample_rows(self, source):
        """The first rows of the training data as the objective sees them (times an input scale)."""
        rows, scale = first_rows(source), getattr(self, "_input_scale", None)
        return rows if scale is None else rows * scale

    def _min_training_rows(self):
        return 1

    def _train(self, source, targets, m, n, theta0, *, before=(0, []), resumed=None, checkpoint=None,
               checkpoint_every=10, fingerprint=None, held_out=None, description="training"):
        """Train from θ0 on the rows of ``source`` (targets ``targets``, None for an
        autoencoder), continuing ``before`` = (iterations, costs) of a resumed or warm-started fit;
        adopt the result. ``held_out``: rows (and targets) to score, instead of holding some out;
        ``checkpoint``: a path, or a :class:`~sparseae.training.checkpoints.Checkpointer` (a stage's)."""
        solver = self._solver()
        if solver.minibatch and is_dask_array(source):
            raise ParameterError(f"solver={solver.name!r} does not take a Dask array; use a full-batch solver")
        self._warn_unused(solver)
        if held_out is None:
            source, targets, m, held_out = self._hold_out(source, targets, m, resumed)
        held_objective = self._centred(None if held_out is None else self._held_out_objective(*held_out), solver)
        monitor = Monitor(held_objective, getattr(self, "early_stopping", False),
                          getattr(self, "n_iter_no_change", 10), getattr(self, "callback", None),
                          n_done=before[0], loss_curve=before[1])
        if held_objective is not None and resumed is not None and resumed.validation is not None:
            monitor.load_state_dict(resumed.validation)
        if checkpoint is not None:
            check_parameters({"checkpoint_every": checkpoint_every}, "fit")
            if not isinstance(checkpoint, Checkpointer):
                checkpoint = Checkpointer(checkpoint, self._checkpoint_params(), n, fingerprint)
                checkpoint.validation_rows = getattr(self, "validation_rows_", None)
            monitor.checkpoint, monitor.checkpoint_every = checkpoint, checkpoint_every
        total = self._max_iter(solver)
        remaining = total - before[0] if resumed is not None else total
        objective = self._centred(self._objective(source, targets, self._chunk_size(source, m, n, solver)), solver)
        settings = self._settings(solver, max(remaining, 0), m, objective.layout, description)
        state = resumed.state if resumed is not None else None
        if resumed is None:  # a start or a warm start is a network; a checkpoint's is θ
            theta0 = self._theta_of(objective, theta0)
        resampler = None
        if settings.resample_every and objective.sparse_layer is not None:
            resampler = Resampler(objective, self._sample_rows(source), None)
        if solver.minibatch:
            full = objective
            objective = self._centred(self._objective(source, targets, settings.batch_size), solver)
            driver = self._minibatch = Minibatch(settings, theta0, check_random_state(self.random_state), state)
            result = driver.run(objective, (source, targets), max(remaining, 0), monitor, first=before[0],
                                total=total, resampler=resampler)
        else:
            full = objective
            if resampler is not None:
                resampler.rng = np.random.RandomState(check_random_state(self.random_state).randint(2**31))
            driver = FullBatch(settings, state)
            result = driver.run(objective, theta0, monitor, resampler) if remaining > 0 else None
        return self._adopt_result(full, result, theta0, before, monitor, solver)

    def _adopt_result(self, objective, result, theta0, before, monitor=None, solver=None):
        """The fitted attributes from a driver's result (None: θ0 unchanged), the earlier
        iterations in front; an interrupted or diverged run raises after adopting its θ."""
        theta, n_iter, curve = (theta0, 0, []) if result is None else (result.theta, result.n_iter, result.loss_curve)
        self._adopt(objective, theta)
        self.n_iter_ = before[0] + int(n_iter)
        self.loss_curve_ = list(before[1]) + [float(c) for c in curve]
        self.n_resampled_ = getattr(self, "n_resampled_", 0) + (0 if result is None else result.n_resampled)
        if monitor is not None and monitor.objective is not None:
            self.validation_scores_ = list(monitor.scores)
            self.best_validation_score_ = min(monitor.scores) if monitor.scores else None
        stopped = "max_iter" if result is None else result.stopped
        if stopped == "interrupted":
            unit = "minibatch" if solver is not None and solver.minibatch else "iteration"
            warnings.warn(f"fit interrupted after {self.n_iter_} iterations; the estimator keeps the parameters "
                          f"of the last completed {unit}", UserWarning, stacklevel=4)
            raise FitInterrupted(theta, self.n_iter_, self.loss_curve_)
        if stopped == "diverged":
            raise NonFiniteCostError(result.message, theta, self.n_iter_)
        if getattr(self, "early_stopping", False) and monitor is not None and monitor.best_theta is not None:
            self._adopt(objective, monitor.best_theta)
        return self

    def _width(self):
        """The widest hidden layer, for chunk sizes."""
        return 0

    def _held_out_objective(self, rows, targets):
        """J on the held-out rows, which the monitor scores after each iteration."""
        return self._objective(rows, targets, None)

    # -- minibatch runs that go on between calls (partial_fit, fit_stream) -------------------

    def _minibatch_epoch(self, X, reset, schedule=False, first=None, total=None, initial_theta=None,
                         output_activation=None, targets=None):
        """One epoch of the minibatch driver kept between calls (started afresh when ``reset``)."""
        source, m, n = self._training_data(X, reset=reset, output_activation=output_activation)
        solver = self._solver(minibatch_only=True)
        full = self._centred(self._objective(source, targets, self._chunk_size(source, m, n, solver)), solver)
        settings = self._settings(solver, 1, m, full.layout)
        if reset or not hasattr(self, "_minibatch"):
            self._minibatch = Minibatch(settings, self._theta_of(full, initial_theta(n, source)),
                                        check_random_state(self.random_state))
            self.n_iter_, self.loss_curve_, self.n_resampled_ = 0, [], 0
        driver = self._minibatch
        driver.settings = replace(settings, beta_1=driver.settings.beta_1)
        resampler = None
        if settings.resample_every and full.sparse_layer is not None:
            resampler = Resampler(full, self._sample_rows(source), None)
        batched = self._centred(self._objective(source, targets, settings.batch_size), solver)
        done = self.n_iter_ if first is None else first
        result = driver.run(batched, (source, targets), 1, None, first=done, total=total, schedule=schedule,
                            resampler=resampler)
        return self._adopt_result(full, result, None, (self.n_iter_, self.loss_curve_), solver=solver)
