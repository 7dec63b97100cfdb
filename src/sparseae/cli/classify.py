"""``sparseae stack`` (train and test a stacked sparse autoencoder, write a run folder) and
``sparseae predict`` (a saved classifier's labels for new data)."""

import sys

import numpy as np

from .._io import atomic_path
from ..errors import DataError, FitInterrupted
from .commands import _check_output
from .parser import UsageError
from .resume import CHECKPOINT, open_resumed_run, record_run
from .run_files import exit_status
from .run_folder import RunFolder, opened, write_json


def stack(args):
    """Train and test a stack; with ``--checkpoint-every`` the run folder exists from the start
    and a Ctrl-C (or a kill) leaves a checkpoint that ``--resume`` goes on from."""
    from ..datasets import load_labeled, load_mnist
    from ..stacked import StackedSparseAutoencoder
    from ..validation import validate_labels, validate_params

    resumed = open_resumed_run(args) if args.resume else None  # replaces args with the run's
    model = StackedSparseAutoencoder(
        tuple(args.hidden), sparsity_target=args.sparsity_target, sparsity_weight=args.sparsity_weight,
        weight_decay=args.weight_decay, softmax_weight_decay=args.softmax_weight_decay,
        pretrain_iter=args.pretrain_iter, finetune_iter=args.finetune_iter, activation=args.activation,
        dtype=args.dtype, device=args.device, random_state=args.seed, verbose=0 if args.quiet else 1,
    )
    validate_params(model)
    model._hidden_sizes()
    if not 0 <= args.test_fraction < 1:
        raise UsageError(f"--test-fraction must be in [0, 1), got {args.test_fraction}")
    if (args.mnist is None) == (args.data is None):
        raise UsageError("give --data (with --labels unless the file holds them) or --mnist, not both")
    if args.mnist:
        (X, y), description = load_mnist(args.mnist, "t10k"), f"MNIST t10k in {args.mnist}"
    else:
        (X, y), description = load_labeled(args.data, args.labels), f"{args.data}"
    validate_labels(y, X.shape[0])  # rows named as in the file, before the split reorders them
    order = np.random.default_rng(args.seed).permutation(len(y))  # the split benchmarks/stacked_mnist.py makes
    n_test = int(round(len(y) * args.test_fraction))
    train, test = order[: len(y) - n_test], order[len(y) - n_test :]
    stages = [f"autoencoder {i + 1}" for i in range(len(args.hidden))] + ["softmax", "fine-tuning"]
    fit, extra = {}, {}
    # from the folder's first step, a failure or a signal leaves nothing (or the resumed run as it was)
    with opened(lambda: resumed if resumed is not None else RunFolder(args.out, args.overwrite)) as run:
        if resumed is not None:
            fit = dict(resume_from=run.final / CHECKPOINT, checkpoint=run.final / CHECKPOINT,
                       checkpoint_every=args.checkpoint_every)
            extra = {"resumed_from": {"stage": stages[min(run.stage, len(stages) - 1)], "iteration": run.n_iter}}
        elif args.checkpoint_every:  # the folder appears now, to hold the checkpoints
            run.begin(lambda path: record_run(path, args))
            fit = dict(checkpoint=run.final / CHECKPOINT, checkpoint_every=args.checkpoint_every)
        evaluate = np.sort(test if n_test else train)  # train: in the order of the permutation, as the benchmark
        try:
            model.fit(np.asarray(X[train]), y[train], **fit)
        except FitInterrupted as exc:
            if not fit:
                raise
            stage = stages[len(getattr(model, "stage_seconds_", {}))]
            left = (f"{run.final}/{CHECKPOINT} holds the last checkpoint: go on with sparseae stack "
                    f"--resume {run.final}" if (run.final / CHECKPOINT).exists() else
                    f"no checkpoint was written yet: start again (--out {run.final} --overwrite)")
            print(f"sparseae stack: error: interrupted in stage {stage!r} after {exc.n_iter} iterations; {left}",
                  file=sys.stderr)
            return exit_status("interrupted")
        folder = run.final if run.committed else run.path
        if not run.committed:
            record_run(folder, args)
        metrics = _write_stack_run(folder, model, np.asarray(X[evaluate]), y[evaluate], description,
                                   len(train), n_test, extra)
        if not run.committed:
            run.commit()
    where = "held-out" if n_test else "training"
    print(f"{where} accuracy {metrics['accuracy_before_fine_tuning']:.2%} before fine-tuning, "
          f"{metrics['accuracy']:.2%} after ({len(train)} train, {n_test} test); "
          f"wrote {run.final}/")
    return 0


def _write_stack_run(folder, model, X, y, description, n_train, n_test, extra):
    from ..visualize import (
        infer_patch_shape,
        layer_features,
        save_confusion_matrix,
        save_tiles,
    )

    top = X
    for autoencoder in model.autoencoders_:
        top = autoencoder.transform(top)
    predicted = model.predict(X)
    metrics = {
        "data": description, "stopped": "completed", "n_train": n_train, "n_test": n_test,
        "evaluated_on": "test" if n_test else "train",
        "layer_sizes": [X.shape[1], *model._hidden_sizes(), len(model.classes_)],
        "accuracy_before_fine_tuning": float(model.softmax_.score(top, y)),
        "accuracy": float(np.mean(predicted == y)),
        "per_class_accuracy": {str(c): float(np.mean(predicted[y == c] == c)) if np.any(y == c) else None
                               for c in model.classes_},
        "seconds_per_stage": model.stage_seconds_, "fine_tuning_iterations": model.n_iter_,
        "cost": model.loss_, **extra,
    }
    model.save(folder / "model.safetensors")
    try:
        patch_shape = infer_patch_shape(X.shape[1])
    except ValueError:
        patch_shape = None
    if patch_shape is not None:
        Ws = [c.T for c in model.coefs_[:-1]]
        for depth in range(1, len(Ws) + 1):
            name = "features.png" if depth == 1 else f"features_layer{depth}.png"
            save_tiles(layer_features(Ws[:depth]), folder / name, patch_shape)
    save_confusion_matrix(y, predicted, model.classes_, folder / "confusion.png")
    write_json(metrics, folder / "metrics.json")
    return metrics


def predict(args):
    from .. import load
    from .._data import row_chunks
    from ..datasets.sources import load_rows

    out = _check_output(args.output, args.overwrite, ".csv")
    model = load(args.model)
    if not hasattr(model, "predict"):
        raise DataError(f"{args.model!r} holds a {type(model).__name__}, not a classifier: "
                        "it has no labels to predict")
    X = load_rows(args.data, key=args.key)
    if X.ndim != 2 or X.shape[0] == 0:
        raise DataError(f"{args.data!r} holds an array of shape {X.shape}; predict needs rows of examples")
    with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write("label\n")
        for _, chunk in row_chunks(X, args.batch_size, "data"):
            fh.writelines(f"{label}\n" for label in model.predict(chunk))
    print(f"wrote {out}: {X.shape[0]} labels", file=sys.stdout)
    return 0
