"""``sparseae train``: fit on the chosen data and write a run folder, whole or not at all.

A run stops ``completed`` (max_iter or convergence), ``interrupted`` (Ctrl-C) or ``diverged``
(a non-finite cost). The last two keep the parameters of the last completed (finite) iteration:
when there is one, the run folder is written with them and ``metrics.json`` says how it stopped;
when there is none, nothing is written. Either way the command says which, in one line.
"""

import sys
import time

import numpy as np

from ..errors import FitInterrupted, NonFiniteCostError
from .parser import UsageError, given, plain
from .resume import CHECKPOINT, open_resumed_run, record_run
from .run_files import exit_status, stop_record, write_run
from .run_folder import RunFolder, opened

MODEL_FLAGS = ("n_hidden", "sparsity", "sparsity_target", "sparsity_weight", "k", "jumprelu_bandwidth",
               "jumprelu_steps", "matryoshka", "aux_k", "aux_k_weight", "dead_after", "input_scaling", "init",
               "decoder_bias_init", "decoder_init_norm", "decoder_norm", "center_encoder",
               "weight_decay", "activation", "output_activation", "solver", "max_iter", "tol",
               "learning_rate", "beta_1", "max_grad_norm", "batch_size", "lbfgs_memory", "dtype", "optimizer_dtype",
               "device", "validation_fraction", "early_stopping", "n_iter_no_change", "resample_dead")


def train(args):
    from ..datasets import load_training_data
    from ..engine import get_backend
    from ..estimator import SparseAutoencoder
    from ..validation import validate_params

    _refuse_what_cannot_apply(args)  # (a resumed run's flags were checked when it began)
    resumed = open_resumed_run(args) if args.resume else None  # replaces args with the run's
    if resumed is None:
        _activation_defaults(args)
    model = SparseAutoencoder(**{k: getattr(args, k) for k in MODEL_FLAGS}, random_state=args.seed,
                              verbose=0 if args.quiet else 1)
    validate_params(model)
    get_backend(model.device, np.dtype(model.dtype))  # an unusable device fails before the data loads
    if args.stream:
        from .stream import stream_train

        return stream_train(args, model)
    # a taken --out is refused before any work; from here a failure or a signal leaves nothing
    with opened(lambda: resumed if resumed is not None else RunFolder(args.out, args.overwrite)) as run:
        X, description = load_training_data(args.data, key=args.key, n_patches=args.patches,
                                            patch_size=args.patch_size, colour=args.colour,
                                            normalize=args.normalize, random_state=args.seed)
        if model.validation_fraction > 0:
            X = np.asarray(X)  # held-out rows are drawn from data in memory
        fit = {}
        if resumed is not None:
            fit = dict(resume_from=run.final / CHECKPOINT, checkpoint=run.final / CHECKPOINT,
                       checkpoint_every=args.checkpoint_every)
        elif args.checkpoint_every:  # the folder appears now, to hold the checkpoints
            run.begin(lambda path: record_run(path, args))
            fit = dict(checkpoint=run.final / CHECKPOINT, checkpoint_every=args.checkpoint_every)
        start, stopped, failure = time.perf_counter(), "completed", None
        try:
            _fit_to_max_iter(model, X, fit)
        except FitInterrupted as exc:
            stopped, failure = "interrupted", exc
        except NonFiniteCostError as exc:
            stopped, failure = "diverged", exc
        seconds = time.perf_counter() - start
        if failure is not None and failure.n_iter == (resumed.n_iter if resumed else 0):
            what = "interrupted" if stopped == "interrupted" else str(failure)
            left = f"; {run.final}/ is as it was" if run.committed else "; nothing written"
            print(f"sparseae train: error: {what} before the first iteration completed{left}",
                  file=sys.stderr)
            return exit_status(stopped)
        folder = run.final if run.committed else run.path
        if not run.committed:
            record_run(folder, args)
        extra = {"resumed_from_iteration": resumed.n_iter} if resumed is not None else {}
        training, held_out = X, None
        if hasattr(model, "validation_rows_"):
            held_out = X[model.validation_rows_]
            kept = np.setdiff1d(np.arange(X.shape[0]), model.validation_rows_, assume_unique=True)
            training = X[kept]
        extra = {"n_examples": int(X.shape[0]), **extra, **stop_record(stopped), **_text_results(model, X, folder)}
        metrics = write_run(folder, model, training, held_out, description, seconds, args.seed, stopped,
                             extra)
        if not run.committed:
            run.commit()
    if failure is None:
        ran = "converged after" if model.n_iter_ < model._max_iter(model._solver()) else "trained its"
        print(f"{ran} {model.n_iter_} iterations in {seconds:.1f} s: cost {model.loss_:.6g}, "
              f"reconstruction MSE {metrics['reconstruction_mse']:.4g}; wrote {run.final}/")
    else:
        what = (f"interrupted ({stop_record(stopped)['signal']}) after {failure.n_iter} iterations"
                if stopped == "interrupted" else str(failure))
        print(f"sparseae train: error: {what}; saved the last completed iteration to {run.final}/ "
              f"(metrics.json: \"stopped\": \"{stopped}\")", file=sys.stderr)
    return exit_status(stopped)


def _text_results(model, X, folder):
    """For a transformer's activations: the top tokens of a dozen units (``top_tokens.json``, for
    the report) and the spliced fidelity (for metrics.json); nothing for other data."""
    from ..errors import SparseaeError
    from ..report import TOP_TOKENS
    from ..token_report import fidelity, is_activations, top_tokens
    from .run_folder import write_json

    if not is_activations(X):
        return {}
    write_json({"units": top_tokens(model, X)}, folder / TOP_TOKENS)
    try:
        found = fidelity(model, X)
    except SparseaeError as exc:  # the lm extra missing, the model folder moved
        return {"spliced_fidelity": {"skipped": str(exc)}}
    return {} if found is None else {"spliced_fidelity": found}


def _activation_defaults(args):
    """On a folder of shards (a transformer's activations: unbounded values), the defaults of the
    field's autoencoders, ReLU units and the linear decoder, in place of the notes' sigmoids."""
    from pathlib import Path

    from ..shards import is_shard_folder

    shards = args.data is not None and is_shard_folder(Path(args.data))
    for name, value in (("activation", "relu"), ("output_activation", "linear")):
        if shards and not given(args, name):
            setattr(args, name, value)
    plain(args, "activation", "output_activation")


def _fit_to_max_iter(model, X, fit):
    """``model.fit(X, **fit)``, where running the --max-iter asked for is what was asked, not a
    warning (the line the command prints says it); every other warning passes on."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    caught = []  # (bound before: an interrupt may land before the with statement binds it)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.fit(X, **fit)
    finally:  # said again once recording stopped
        for w in caught:
            if not (issubclass(w.category, ConvergenceWarning) and "reached max_iter" in str(w.message)):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _refuse_what_cannot_apply(args):
    """A flag that another flag or the data makes meaningless is a usage error, never ignored."""
    from pathlib import Path

    from .. import solvers
    from ..shards import is_shard_folder

    images = args.data == "natural" or (Path(args.data).is_dir() and not is_shard_folder(args.data))
    if args.key is not None and Path(args.data).suffix.lower() != ".npz":
        raise UsageError(f"--key names one array of a .npz file; --data {args.data} is not one")
    if args.colour and not Path(args.data).is_dir():
        raise UsageError(f"--colour samples RGB patches of a folder of images; --data {args.data} is not one")
    for flag in ("patches", "patch_size"):
        if given(args, flag) and not images:
            raise UsageError(f"--{flag.replace('_', '-')} is for patches of images (--data natural or a folder); "
                             f"--data {args.data} is used row by row as it is")
    if args.stream and given(args, "solver") and not solvers.get_solver(args.solver).minibatch:
        raise UsageError(f"--stream trains with a minibatch solver (adam); --solver {args.solver} needs all the "
                         "data at each iteration: drop --stream or --solver")
    plain(args, "solver", "patches", "patch_size")
