"""``sparseae encode``, ``show``, ``export``, ``gradcheck``, ``selftaught`` and ``activations``."""

import itertools
import sys
from pathlib import Path

import numpy as np

from .._io import atomic_path, reserve
from ..errors import DataError
from ..memory import check_encode
from .parser import UsageError
from .run_folder import RunFolder, opened, write_json


def _check_output(path, overwrite, suffix):
    """``-o PATH``, refused before any work when it names a folder, exists (without --overwrite)
    or ends in another extension than the format written (``suffix``)."""
    path = Path(path)
    if path.suffix.lower() != suffix:
        raise UsageError(f"-o {str(path)!r}: this command writes {suffix} files; give a name ending in {suffix}")
    if path.exists() and (path.is_dir() or not overwrite):
        hint = "" if path.is_dir() else " or pass --overwrite"
        raise UsageError(f"-o {str(path)!r} already exists; choose another{hint}")
    return path


def encode(args):
    from numpy.lib.format import open_memmap

    from .. import load
    from .._data import row_chunks
    from ..datasets.sources import load_rows

    out = _check_output(args.output, args.overwrite, ".npy")
    model = load(args.model)
    X = load_rows(args.data, key=args.key)
    if len(X.shape) != 2:
        raise DataError(f"{args.data!r} holds an array of shape {X.shape}; encode needs 2-D rows")
    if X.shape[0] == 0:
        raise DataError(f"{args.data!r} holds no rows (shape {X.shape}); there is nothing to encode")
    width = model.transform(np.asarray(X[:1], dtype=np.float64)).shape[1]  # checks the model takes X's rows
    check_encode(min(args.batch_size, X.shape[0]), X.shape[1], width)
    with atomic_path(out) as tmp:
        for start, chunk in row_chunks(X, args.batch_size, "data"):
            H = model.transform(chunk)
            if start == 0:
                features = open_memmap(tmp, mode="w+", dtype=np.float64, shape=(X.shape[0], H.shape[1]))
                reserve(tmp, features.offset + features.nbytes)  # a full disk: an error, never SIGBUS
            features[start : start + len(H)] = H
        features.flush()
        del features
    print(f"wrote {out}: {X.shape[0]} rows of features")
    return 0


def export(args):
    """``sparseae export --saelens MODEL DIR``: the folder appears whole or not at all."""
    from .. import load
    from ..saelens import export_saelens

    model = load(args.model)
    with RunFolder(args.folder, args.overwrite, flag="FOLDER") as run:
        export_saelens(model, run.path, dtype=args.dtype)
        run.commit()
    print(f"wrote {run.final}/: a SAELens SAE ({model.sparsity}, {model.n_hidden} units)")
    return 0


def _feature_views(model):
    """The input patterns to draw for a saved model: its autoencoder's W1 (or RICA's W) mapped back
    to pixels, for a stack each layer's units as combinations of the first layer's features, for
    ConvolutionalFeatures its encoder's."""
    from sklearn.pipeline import Pipeline

    from ..convolution import ConvolutionalFeatures
    from ..estimator import SparseAutoencoder
    from ..preprocessing import ZCAWhitening
    from ..rica import RICA
    from ..stacked import StackedSparseAutoencoder
    from ..visualize import layer_features

    if isinstance(model, ConvolutionalFeatures):  # its encoder's filters
        return _feature_views(model.encoder)
    steps = [step for _, step in model.steps] if isinstance(model, Pipeline) else [model]
    for i in range(len(steps) - 1, -1, -1):
        if isinstance(steps[i], ConvolutionalFeatures):
            return _feature_views(steps[i].encoder)
        if isinstance(steps[i], StackedSparseAutoencoder):
            Ws = [c.T for c in steps[i].coefs_[:-1]]
            return [layer_features(Ws[:depth]) for depth in range(1, len(Ws) + 1)]
        if isinstance(steps[i], (SparseAutoencoder, RICA)):
            W = steps[i].components_
            if i > 0 and isinstance(steps[i - 1], ZCAWhitening):
                W = W @ steps[i - 1]._matrix(-0.5)  # UFLDL shows W·ZCAWhite for whitened input
            return [W]
    raise DataError("the model holds no autoencoder or RICA whose features could be shown")


def show(args):
    from .. import load
    from ..visualize import save_tiles

    out = _check_output(args.output, args.overwrite, ".png")
    views = _feature_views(load(args.model))
    paths = [out] + [out.with_name(f"{out.stem}_layer{d}{out.suffix}") for d in range(2, len(views) + 1)]
    for path in paths[1:]:
        _check_output(path, args.overwrite, ".png")
    for W, path in zip(views, paths):
        print(f"wrote {save_tiles(W, path, args.patch_shape)}: {W.shape[0]} tiles")
    return 0


def report(args):
    import webbrowser

    from ..report import write_report

    path = write_report(args.run_dir)
    print(f"wrote {path}")
    if args.open:
        webbrowser.open(path.resolve().as_uri())
    return 0


def gradcheck(args):
    from ..activations import ACTIVATIONS, hidden_activations
    from ..gradcheck import check_gradient
    from ..losses import LOSSES
    from ..objective import SparseObjective, compatible
    from ..penalties import PENALTIES, unsuited

    X = np.random.default_rng(args.seed).uniform(0.05, 0.95, size=(10, 8))
    worst = 0.0
    for activation in hidden_activations():
        pairs = [(o, s) for o in ACTIVATIONS for s in LOSSES if compatible(ACTIVATIONS[o], LOSSES[s])]
        penalties = [p for p in PENALTIES if unsuited(PENALTIES[p], ACTIVATIONS[activation]) is None]
        for (output, loss), penalty in itertools.product(pairs, penalties):
            Y = None if LOSSES[loss].check_targets is None else np.eye(8)[np.arange(10) % 8]  # one-hot
            top_k = 2 if PENALTIES[penalty].uses_k else None
            # JumpReLU's L0 term is flat in W and b; a smaller β keeps it from adding rounding
            beta = 0.03 if PENALTIES[penalty].gated else 3.0
            objective = SparseObjective([8, 5, 8], X, Y, activation=activation, output_activation=output,
                                        loss=loss, sparsity=penalty, weight_decay=1e-3, sparsity_target=0.1,
                                        sparsity_weight=beta, top_k=top_k)
            # log θ's pseudo-gradients are not J's: tests/test_jumprelu.py checks them against SAELens
            diff = check_gradient(objective, objective.layout.initial_theta(args.seed), epsilon=args.epsilon,
                                  where=~objective.pseudo_gradient_mask())
            worst = max(worst, diff)
            print(f"{activation:>7} hidden, {output:>7} output, {loss:>13}, {penalty:>4}: {diff:.3e}  "
                  f"{'ok' if diff <= args.threshold else 'FAIL'}")
    failed = _check_solvers(X, args.seed)
    if failed:
        print(f"sparseae gradcheck: error: solver {failed} did not lower J", file=sys.stderr)
        return 1
    if not worst <= args.threshold:
        print(f"sparseae gradcheck: error: worst difference {worst:.3e} > {args.threshold:g}",
              file=sys.stderr)
        return 1
    print(f"gradient check passed: worst relative difference {worst:.3e}")
    return 0


def _check_solvers(X, seed):
    """Every registered solver, a few iterations (epochs) on the same small problem: each must
    lower J from the same start. The first that does not, or None."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from ..estimator import SparseAutoencoder
    from ..solvers import registered

    start = SparseAutoencoder(5, max_iter=1, solver="gd", learning_rate=1e-12, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        j0 = start.fit(X).loss_
        for name in registered():
            model = SparseAutoencoder(5, solver=name, max_iter=5, batch_size=5, random_state=seed).fit(X)
            print(f"{name:>9}: J {j0:.6f} -> {model.loss_:.6f} in 5 iterations  "
                  f"{'ok' if model.loss_ < j0 else 'FAIL'}")
            if not model.loss_ < j0:
                return name
    return None


def selftaught(args):
    from ..datasets import load_mnist
    from ..selftaught import self_taught_learning
    from ..visualize import save_tiles

    # a bad --out is refused before any work; from here a failure or a signal at any point leaves nothing
    with opened(lambda: RunFolder(args.out, args.overwrite) if args.out else None) as run:
        X, y = load_mnist(args.mnist, args.subset)
        result = self_taught_learning(
            X, y, n_hidden=args.n_hidden, max_iter=args.max_iter, n_unlabeled=args.n_unlabeled,
            n_labeled=args.n_labeled, random_state=args.seed, verbose=0 if args.quiet else 1,
        )
        autoencoder = result.pop("autoencoder")
        print(
            f"held-out accuracy on digits 0-4: raw pixels {result['accuracy_raw']:.2%}, "
            f"learned features {result['accuracy_features']:.2%} (chance {result['chance']:.2%}); "
            f"{result['n_unlabeled']} unlabeled, {result['n_train']} train, {result['n_test']} test, "
            f"{result['seconds_total']:.0f} s"
        )
        if run is not None:
            write_json(result, run.path / "results.json")
            autoencoder.save(run.path / "model.safetensors")
            save_tiles(autoencoder.components_, run.path / "features.png")
            run.commit()
    return 0


def activations(args):
    from ..datasets.transformer import transformer_activations
    from ..shards import read_manifest

    out = transformer_activations(args.text, model=args.model, layer=args.layer, out=args.out,
                                  max_length=args.max_length, batch_size=args.batch_size, dtype=args.dtype,
                                  skip_special_tokens=not args.keep_special_tokens, device=args.device,
                                  verbose=0 if args.quiet else 1)
    manifest = read_manifest(out)
    print(f"wrote {out}/: {manifest['n_tokens']} tokens of layer {manifest['layer']} of {manifest['model']} "
          f"({manifest['width']} values each) in {len(manifest['shards'])} shards")
    return 0
