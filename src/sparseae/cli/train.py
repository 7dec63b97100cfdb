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
from ..report import write_report, write_report_data
from .resume import CHECKPOINT, open_resumed_run, record_run
from .run_folder import RunFolder, write_json

MODEL_FLAGS = ("n_hidden", "sparsity", "sparsity_target", "sparsity_weight", "k", "decoder_norm",
               "weight_decay", "activation", "output_activation", "solver", "max_iter", "tol",
               "learning_rate", "batch_size", "lbfgs_memory", "dtype", "device", "validation_fraction",
               "early_stopping", "n_iter_no_change")  # fmt: skip
EXIT = {"completed": 0, "diverged": 1, "interrupted": 130}


def train(args):
    from ..datasets import load_training_data
    from ..engine import get_backend
    from ..estimator import SparseAutoencoder
    from ..validation import validate_params

    resumed = open_resumed_run(args) if args.resume else None  # replaces args with the run's
    model = SparseAutoencoder(**{k: getattr(args, k) for k in MODEL_FLAGS}, random_state=args.seed,
                              verbose=0 if args.quiet else 1)  # fmt: skip
    validate_params(model)
    get_backend(model.device, np.dtype(model.dtype))  # an unusable device fails before the data loads
    X, description = load_training_data(args.data, key=args.key, n_patches=args.patches,
                                        patch_size=args.patch_size, colour=args.colour,
                                        normalize=args.normalize, random_state=args.seed)  # fmt: skip
    if model.validation_fraction > 0:
        X = np.asarray(X)  # held-out rows are drawn from data in memory
    fit = {}
    if resumed is not None:
        run = resumed
        fit = dict(resume_from=run.final / CHECKPOINT, checkpoint=run.final / CHECKPOINT,
                   checkpoint_every=args.checkpoint_every)  # fmt: skip
    else:
        run = RunFolder(args.out, args.overwrite)
        if args.checkpoint_every:  # the folder appears now, to hold the checkpoints
            record_run(run.path, args)
            run.commit()
            fit = dict(checkpoint=run.final / CHECKPOINT, checkpoint_every=args.checkpoint_every)
    with run:
        start, stopped, failure = time.perf_counter(), "completed", None
        try:
            model.fit(X, **fit)
        except FitInterrupted as exc:
            stopped, failure = "interrupted", exc
        except NonFiniteCostError as exc:
            stopped, failure = "diverged", exc
        seconds = time.perf_counter() - start
        if failure is not None and failure.n_iter == (resumed.n_iter if resumed else 0):
            what = "interrupted" if stopped == "interrupted" else str(failure)
            left = f"; {run.final}/ is as it was" if run.committed else "; nothing written"
            print(f"sparseae train: error: {what} before the first iteration completed{left}",
                  file=sys.stderr)  # fmt: skip
            return EXIT[stopped]
        folder = run.final if run.committed else run.path
        if not run.committed:
            record_run(folder, args)
        extra = {"resumed_from_iteration": resumed.n_iter} if resumed is not None else {}
        metrics = _write_run(folder, model, X, description, seconds, args.seed, stopped, extra)
        if not run.committed:
            run.commit()
    if failure is None:
        print(f"trained {model.n_iter_} iterations in {seconds:.1f} s: cost {model.loss_:.6g}, "
              f"reconstruction MSE {metrics['reconstruction_mse']:.4g}; wrote {run.final}/")  # fmt: skip
    else:
        what = f"interrupted after {failure.n_iter} iterations" if stopped == "interrupted" else str(failure)
        print(f"sparseae train: error: {what}; saved the last completed iteration to {run.final}/ "
              f"(metrics.json: \"stopped\": \"{stopped}\")", file=sys.stderr)  # fmt: skip
    return EXIT[stopped]


def _write_run(folder, model, X, description, seconds, seed, stopped, extra):
    """model.safetensors, metrics.json, features.png (square patches), cost.png, report.html (and
the data it needs, report_data.safetensors) into ``folder``."""
    from ..edges import edge_score
    from ..network import Layout
    from ..visualize import infer_patch_shape, save_cost_curve, save_tiles

    model.save(folder / "model.safetensors")
    terms = model.loss_terms_
    metrics = {
        "data": description, "n_examples": int(X.shape[0]), "layer_sizes": model.layer_sizes_,
        "stopped": stopped, "cost": model.loss_, **{k: v for k, v in terms.items() if k != "rho_hat"},
        # mean((h(x) - x)^2) over all values = 2 * squared_error / n; no extra pass over X
        "reconstruction_mse": 2.0 * terms["squared_error"] / X.shape[1],
        "n_iter": model.n_iter_, "seconds": seconds, **extra,
    }  # fmt: skip
    if terms["rho_hat"] is not None:
        rho_hat = terms["rho_hat"]
        metrics.update(rho_hat_mean=float(rho_hat.mean()), rho_hat_min=float(rho_hat.min()),
                       rho_hat_max=float(rho_hat.max()))  # fmt: skip
    try:
        patch_shape = infer_patch_shape(X.shape[1])
    except ValueError:
        patch_shape = None
    if patch_shape is not None:
        save_tiles(model.components_, folder / "features.png", patch_shape)
        if len(patch_shape) == 2:
            layout = Layout(model.layer_sizes_)
            W0 = layout.unpack(layout.initial_theta(seed))[0][0]
            metrics.update(edge_score=edge_score(model.components_), edge_score_initial=edge_score(W0))
    training, held_out = X, None
    if hasattr(model, "validation_rows_"):
        held_out = X[model.validation_rows_]
        training = X[np.setdiff1d(np.arange(X.shape[0]), model.validation_rows_, assume_unique=True)]
        metrics["validation"] = {**_unit_metrics(model, held_out), "best_score": model.best_validation_score_,
                                 "scores": model.validation_scores_}  # fmt: skip
    metrics["training"] = _unit_metrics(model, training)
    save_cost_curve(model.loss_curve_, folder / "cost.png", getattr(model, "validation_scores_", None))
    write_report_data(folder, model, training if held_out is None else held_out,
                      "training rows (none held out)" if held_out is None else "held-out rows")  # fmt: skip
    write_json(metrics, folder / "metrics.json")
    write_report(folder)
    return metrics


def _unit_metrics(model, X):
    """:func:`~sparseae.reconstruction_metrics` on X, as JSON holds it."""
    from ..metrics import reconstruction_metrics

    found = reconstruction_metrics(model, X)
    return {**found, "rho_hat": found["rho_hat"].tolist()}
