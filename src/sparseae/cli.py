"""The ``sparseae`` command: train, gradcheck, encode, show, selftaught.

``main(argv) -> int`` so tests call it in process. Exit status: 0 success, 1 a data or file
problem, 2 a usage error (unknown flag, out-of-range hyperparameter); either way one line on
stderr, never a traceback.
"""

import argparse
import json
import re
import sys
import time
import warnings
from datetime import datetime
from pathlib import Path

import numpy as np

from . import __version__
from ._io import atomic_path
from .errors import DataError, ParameterError

USAGE_ERROR, DATA_ERROR = 2, 1


class UsageError(ParameterError):
    """A command line that cannot be run as written (its message is already the whole line)."""


def _in_flags(message):
    """A parameter error in the command line's words: 'The 'n_hidden' parameter of
    SparseAutoencoder must be ...' becomes '--n-hidden must be ...'."""
    return re.sub(r"The '(\w+)' parameter of \w+ ", lambda m: "--" + m[1].replace("_", "-") + " ", message)


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
    g.add_argument("--output-activation", default="sigmoid", help="output f: sigmoid, tanh or linear")
    g.add_argument("--solver", default="lbfgs", help="lbfgs, cg, gd or adam (lbfgs)")
    g.add_argument("--max-iter", type=int, default=400, help="iterations (400)")
    g.add_argument("--tol", type=float, default=1e-5, help="gradient tolerance (1e-5)")
    g.add_argument("--learning-rate", type=_or_auto(float), default="auto", help="gd/adam step (auto)")
    g.add_argument("--batch-size", type=_or_auto(int), default="auto",
                   help="rows per chunk (a .npy larger than memory) or adam minibatch (auto)")  # fmt: skip
    g.add_argument("--lbfgs-memory", type=_or_auto(int), default="auto", help="L-BFGS history (auto)")
    g.add_argument("--dtype", default="float64", help="float64 or float32 arithmetic (float64)")
    g.add_argument("--device", help="run on PyTorch tensors on this device (cpu, cuda, ...)")
    g.add_argument("--seed", type=int, default=0, help="random_state of weights and patches (0)")


def _or_auto(kind):
    """An argparse type: 'auto', or a value of ``kind`` (int or float)."""

    def parse(text):
        if text == "auto":
            return text
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__} or 'auto', got {text!r}") from None

    return parse


def build_parser():
    parser = _Parser(prog="sparseae", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"sparseae {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    train = sub.add_parser("train", help="train a sparse autoencoder and write a run folder")
    _add_model_flags(train)
    d = train.add_argument_group("data (default: 10,000 8x8 patches of the built-in images)")
    d.add_argument("--data", default="natural",
                   help="natural (built-in images), digits (scikit-learn's), a folder of PNG/JPEG "
                   "images, an IDX file (MNIST), or a .npy/.npz/.csv file, one example a row")  # fmt: skip
    d.add_argument("--normalize", action=argparse.BooleanOptionalAction, default=None,
                   help="UFLDL patch normalisation (default: on for image patches only)")  # fmt: skip
    d.add_argument("--patches", type=int, default=10000, help="patches to sample (10000)")
    d.add_argument("--patch-size", type=int, default=8, help="patch side in pixels (8)")
    d.add_argument("--colour", action="store_true", help="RGB patches from an image folder")
    train.add_argument("--out", help="run folder (default: a new folder under runs/)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")

    encode = sub.add_parser("encode", help="write the hidden activations of a saved model")
    encode.add_argument("model", help="a .safetensors model (autoencoder or pipeline)")
    encode.add_argument("data", help="a .npy (read in chunks), .npz, .csv or IDX file")
    encode.add_argument("-o", "--output", required=True, help="the .npy file to write")
    encode.add_argument("--batch-size", type=int, default=10000, help="rows per chunk (10000)")

    show = sub.add_parser("show", help="write the feature tiles of a saved model")
    show.add_argument("model", help="a .safetensors model (autoencoder or pipeline)")
    show.add_argument("-o", "--output", default="features.png", help="PNG file (features.png)")
    show.add_argument("--patch-shape", type=int, nargs="+", help="H W, or H W 3 for colour")

    taught = sub.add_parser("selftaught", help="UFLDL's self-taught learning on MNIST digits")
    taught.add_argument("--mnist", required=True, help="folder with the MNIST IDX files")
    taught.add_argument("--subset", default="t10k", help="t10k or train (t10k)")
    taught.add_argument("--n-hidden", type=int, default=196)
    taught.add_argument("--max-iter", type=int, default=400)
    taught.add_argument("--n-unlabeled", type=int, help="use only this many unlabeled images")
    taught.add_argument("--n-labeled", type=int, help="use only this many labeled images")
    taught.add_argument("--seed", type=int, default=0)
    taught.add_argument("--out", help="folder for results.json, features.png and the model")
    taught.add_argument("--quiet", action="store_true", help="no progress bar")

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
    raise DataError(f"cannot create a new run folder under {base!r}")


def _write_json(obj, path):
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2) + "\n")


def _training_data(args):
    from .datasets import load_training_data

    if args.patches < 1 or args.patch_size < 1:
        raise UsageError("sparseae train: --patches and --patch-size must be positive")
    return load_training_data(
        args.data,
        n_patches=args.patches,
        patch_size=args.patch_size,
        colour=args.colour,
        normalize=args.normalize,
        random_state=args.seed,
    )


def _train(args):
    from sklearn.exceptions import ConvergenceWarning

    from .edges import edge_score
    from .errors import ParameterError
    from .estimator import SparseAutoencoder
    from .network import Layout
    from .validation import validate_params
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
        batch_size=args.batch_size,
        lbfgs_memory=args.lbfgs_memory,
        dtype=args.dtype,
        device=args.device,
        random_state=args.seed,
        verbose=0 if args.quiet else 1,
    )
    try:
        validate_params(model)
    except ParameterError as exc:
        raise UsageError(f"sparseae train: {_in_flags(str(exc))}") from None
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
        # mean((h(x) - x)^2) over all values = 2 * squared_error / n; no extra pass over X
        "reconstruction_mse": 2.0 * model.loss_terms_["squared_error"] / X.shape[1],
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
            layout = Layout(model.layer_sizes_)
            W0 = layout.unpack(layout.initial_theta(args.seed))[0][0]
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
    from .activations import ACTIVATIONS, hidden_activations
    from .gradcheck import check_gradient
    from .objective import SparseObjective

    rng = np.random.default_rng(args.seed)
    X = rng.uniform(0.05, 0.95, size=(10, 8))
    worst = 0.0
    for activation in hidden_activations():
        for output in ACTIVATIONS:
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


def _autoencoder_and_view(model):
    """The autoencoder inside a saved model, and the matrix that maps its W1 back to pixels."""
    from sklearn.pipeline import Pipeline

    from .estimator import SparseAutoencoder
    from .preprocessing import ZCAWhitening

    steps = [step for _, step in model.steps] if isinstance(model, Pipeline) else [model]
    for i in range(len(steps) - 1, -1, -1):
        if isinstance(steps[i], SparseAutoencoder):
            W = steps[i].components_
            if i > 0 and isinstance(steps[i - 1], ZCAWhitening):
                W = W @ steps[i - 1]._matrix(-0.5)  # UFLDL shows W·ZCAWhite for whitened input
            return steps[i], W
    raise DataError("the model holds no SparseAutoencoder whose features could be shown")


def _show(args):
    from . import load
    from .visualize import save_tiles

    _, W = _autoencoder_and_view(load(args.model))
    try:
        path = save_tiles(W, args.output, args.patch_shape)
    except ValueError as exc:
        raise UsageError(f"sparseae show: {exc}") from None
    print(f"wrote {path}: {W.shape[0]} tiles")
    return 0


def _encode(args):
    from numpy.lib.format import open_memmap

    from . import load
    from .datasets.sources import load_rows
    from .validation import as_float_matrix

    if args.batch_size < 1:
        raise UsageError("sparseae encode: --batch-size must be positive")
    model = load(args.model)
    X = load_rows(args.data)
    if X.ndim != 2:
        raise DataError(f"{args.data!r} holds an array of shape {X.shape}; encode needs 2-D rows")
    out = Path(args.output)
    with atomic_path(out) as tmp:
        features = None
        for start in range(0, X.shape[0], args.batch_size):
            chunk = as_float_matrix(X[start : start + args.batch_size], "data", row_offset=start)
            H = model.transform(chunk)
            if features is None:
                shape = (X.shape[0], H.shape[1])
                features = open_memmap(tmp, mode="w+", dtype=np.float64, shape=shape)
            features[start : start + len(H)] = H
        features.flush()
        del features
    print(f"wrote {out}: {X.shape[0]} rows of features")
    return 0


def _selftaught(args):
    from .datasets import load_mnist
    from .selftaught import self_taught_learning
    from .visualize import save_tiles

    X, y = load_mnist(args.mnist, args.subset)
    result = self_taught_learning(
        X, y, n_hidden=args.n_hidden, max_iter=args.max_iter, n_unlabeled=args.n_unlabeled,
        n_labeled=args.n_labeled, random_state=args.seed, verbose=0 if args.quiet else 1,
    )  # fmt: skip
    autoencoder = result.pop("autoencoder")
    print(
        f"held-out accuracy on digits 0-4: raw pixels {result['accuracy_raw']:.2%}, "
        f"learned features {result['accuracy_features']:.2%} (chance {result['chance']:.2%}); "
        f"{result['n_unlabeled']} unlabeled, {result['n_train']} train, {result['n_test']} test, "
        f"{result['seconds_total']:.0f} s"
    )
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        _write_json(result, out / "results.json")
        autoencoder.save(out / "model.safetensors")
        save_tiles(autoencoder.components_, out / "features.png")
    return 0


def main(argv=None):
    """Run the command line; returns the exit status."""
    from .errors import ParameterError, SparseaeError

    try:
        args = build_parser().parse_args(argv)
        commands = {"train": _train, "gradcheck": _gradcheck, "encode": _encode, "show": _show,
                    "selftaught": _selftaught}  # fmt: skip
        return commands[args.command](args)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return USAGE_ERROR
    except ParameterError as exc:
        print(f"sparseae {getattr(args, 'command', '')}: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except (SparseaeError, ValueError, TypeError, OSError, ImportError) as exc:
        print(f"sparseae {getattr(args, 'command', '')}: error: {exc}", file=sys.stderr)
        return DATA_ERROR
    except KeyboardInterrupt:
        print("sparseae: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
