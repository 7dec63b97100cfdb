"""The ``sparseae`` command: ``train`` the notes' exercise, ``gradcheck`` the objective.

``main(argv) -> int`` so tests call it in process. Exit status: 0 success, 1 a data or file
problem, 2 a usage error (unknown flag, out-of-range hyperparameter); either way one line on
stderr, never a traceback.
"""

import argparse
import json
import sys
import time
import warnings
from datetime import datetime
from pathlib import Path

import numpy as np

from . import __version__

USAGE_ERROR, DATA_ERROR = 2, 1


class UsageError(Exception):
    """A command line that cannot be run as written."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{self.prog}: {message}")


def _add_model_flags(p):
    g = p.add_argument_group("model (defaults: the notes' exercise)")
    g.add_argument("--n-hidden", type=int, default=25, help="hidden units s2 (25)")
    g.add_argument("--sparsity-target", type=float, default=0.01, help="rho (0.01)")
    g.add_argument("--sparsity-weight", type=float, default=3.0, help="beta (3)")
    g.add_argument("--weight-decay", type=float, default=1e-4, help="lambda (1e-4)")
    g.add_argument("--activation", default="sigmoid", help="hidden f: sigmoid or tanh")
    g.add_argument(
        "--output-activation", default="sigmoid", help="output f: sigmoid, tanh or linear"
    )
    g.add_argument("--solver", default="lbfgs", help="lbfgs, cg or gd (lbfgs)")
    g.add_argument("--max-iter", type=int, default=400, help="iterations (400)")
    g.add_argument("--tol", type=float, default=1e-5, help="gradient tolerance (1e-5)")
    g.add_argument("--learning-rate", type=float, default=0.1, help="alpha for gd (0.1)")
    g.add_argument("--seed", type=int, default=0, help="random_state of weights and patches (0)")


def build_parser():
    parser = _Parser(prog="sparseae", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"sparseae {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    train = sub.add_parser("train", help="train a sparse autoencoder and write a run folder")
    _add_model_flags(train)
    d = train.add_argument_group("data (default: 10,000 8x8 patches of the built-in images)")
    d.add_argument("--data", help="a .npy, .npz or .csv file: one example per row")
    d.add_argument("--normalize", action="store_true", help="apply UFLDL patch normalisation to --data")
    d.add_argument("--patches", type=int, default=10000, help="patches to sample (10000)")
    d.add_argument("--patch-size", type=int, default=8, help="patch side in pixels (8)")
    train.add_argument("--out", help="run folder (default: a new folder under runs/)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")

    check = sub.add_parser("gradcheck", help="check the gradient on a small random problem")
    check.add_argument("--epsilon", type=float, default=1e-4, help="EPSILON (1e-4)")
    check.add_argument("--threshold", type=float, default=1e-8, help="fail above this (1e-8)")
    check.add_argument("--seed", type=int, default=0)
    return parser


def _new_run_folder(base="runs"):
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for k in range(1000):
        path = Path(base) / (stamp if k == 0 else f"{stamp}-{k}")
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            continue
    raise OSError(f"cannot create a new run folder under {base!r}")


def _write_json(obj, path):
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2) + "\n")
    tmp.replace(path)


def _training_data(args):
    from .datasets import load_array, natural_images, normalize_patches, sample_patches

    if args.data:
        X = load_array(args.data)
        if args.normalize:
            X = normalize_patches(X)
        return X, f"file {args.data}" + (" (normalised)" if args.normalize else "")
    if args.patches < 1 or args.patch_size < 1:
        raise UsageError("sparseae train: --patches and --patch-size must be positive")
    X = normalize_patches(
        sample_patches(natural_images(), args.patches, args.patch_size, random_state=args.seed)
    )
    return X, f"{args.patches} {args.patch_size}x{args.patch_size} patches of the built-in images"


def _train(args):
    from sklearn.exceptions import ConvergenceWarning

    from .edges import edge_score
    from .estimator import SparseAutoencoder
    from .network import Layout
    from .visualize import infer_patch_shape, save_cost_curve, save_tiles

    model = SparseAutoencoder(
        args.n_hidden,
        sparsity_target=args.sparsity_target,
        sparsity_weight=args.sparsity_weight,
        weight_decay=args.weight_decay,
        activation=args.activation,
        output_activation=args.output_activation,
        solver=args.solver,
        max_iter=args.max_iter,
        tol=args.tol,
        learning_rate=args.learning_rate,
        random_state=args.seed,
        verbose=0 if args.quiet else 1,
    )
    try:
        model._check_params()
    except ValueError as exc:
        raise UsageError(f"sparseae train: {exc}") from None
    X, description = _training_data(args)
    out = Path(args.out) if args.out else _new_run_folder()
    out.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(X)
    seconds = time.perf_counter() - start
    for w in caught:
        print(f"sparseae train: note: {w.message}", file=sys.stderr)

    model.save(out / "model.safetensors")
    rho_hat = model.loss_terms_["rho_hat"]
    metrics = {
        "data": description,
        "n_examples": int(X.shape[0]),
        "layer_sizes": model.layer_sizes_,
        "cost": model.loss_,
        **{k: v for k, v in model.loss_terms_.items() if k != "rho_hat"},
        "reconstruction_mse": -model.score(X),
        "n_iter": model.n_iter_,
        "seconds": seconds,
    }
    if rho_hat is not None:
        metrics.update(
            rho_hat_mean=float(rho_hat.mean()),
            rho_hat_min=float(rho_hat.min()),
            rho_hat_max=float(rho_hat.max()),
        )
    try:
        patch_shape = infer_patch_shape(X.shape[1])
    except ValueError:
        patch_shape = None
    if patch_shape is not None:
        save_tiles(model.components_, out / "features.png", patch_shape)
        if len(patch_shape) == 2:
            theta0 = Layout(model.layer_sizes_).initial_theta(args.seed)
            W0 = Layout(model.layer_sizes_).unpack(theta0)[0][0]
            metrics.update(
                edge_score=edge_score(model.components_), edge_score_initial=edge_score(W0)
            )
    save_cost_curve(model.loss_curve_, out / "cost.png")
    _write_json(metrics, out / "metrics.json")
    print(
        f"trained {model.n_iter_} iterations in {seconds:.1f} s: cost {model.loss_:.6g}, "
        f"reconstruction MSE {metrics['reconstruction_mse']:.4g}; wrote {out}/"
    )
    return 0


def _gradcheck(args):
    from .gradcheck import check_gradient
    from .objective import SparseObjective

    rng = np.random.default_rng(args.seed)
    X = rng.uniform(0.05, 0.95, size=(10, 8))
    worst = 0.0
    for activation in ("sigmoid", "tanh"):
        for output in ("sigmoid", "tanh", "linear"):
            objective = SparseObjective(
                [8, 5, 8], X, activation=activation, output_activation=output,
                weight_decay=1e-3, sparsity_target=0.1, sparsity_weight=3.0,
            )  # fmt: skip
            theta = objective.layout.initial_theta(args.seed)
            diff = check_gradient(objective, theta, epsilon=args.epsilon)
            worst = max(worst, diff)
            status = "ok" if diff <= args.threshold else "FAIL"
            print(f"{activation:>7} hidden, {output:>7} output: {diff:.3e}  {status}")
    if worst > args.threshold:
        print(f"sparseae gradcheck: worst difference {worst:.3e} > {args.threshold:g}", file=sys.stderr)
        return DATA_ERROR
    print(f"gradient check passed: worst relative difference {worst:.3e}")
    return 0


def main(argv=None):
    """Run the command line; returns the exit status."""
    from .optimize import NonFiniteCostError

    try:
        args = build_parser().parse_args(argv)
        if args.command == "train":
            return _train(args)
        return _gradcheck(args)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return USAGE_ERROR
    except (ValueError, TypeError, OSError, NonFiniteCostError) as exc:
        print(f"sparseae {getattr(args, 'command', '')}: error: {exc}", file=sys.stderr)
        return DATA_ERROR
    except KeyboardInterrupt:
        print("sparseae: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
