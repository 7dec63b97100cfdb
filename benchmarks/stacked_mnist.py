"""UFLDL's stacked autoencoder experiment on the MNIST test set (the training set is not here).

    python benchmarks/stacked_mnist.py [--mnist DIR] [--iters 400] [--device cuda --no-peer]

The 10,000 test digits are split into two halves (a fixed random permutation): 5,000 to train
on, 5,000 to test. Measured, all on the same halves, in one process: softmax regression on raw
pixels (UFLDL: 92.6 % with 60,000 training digits); the 784-200-200-10 stack of sparse
autoencoders (ρ = 0.1, β = 3, λ = 3e-3; softmax λ = 1e-4) before fine-tuning (UFLDL: 87.7 %) and
after (UFLDL: 97.6 %); and scikit-learn's MLPClassifier with the same architecture, sigmoid units,
L-BFGS and the same fine-tuning iterations from random initial weights, the peer that shows what
pretraining adds. Writes benchmarks/stacked_mnist.json; prints a Markdown table.
"""

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import MNIST, ROOT, machine  # noqa: E402

import sparseae  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", default=str(MNIST))
    parser.add_argument("--iters", type=int, default=400, help="L-BFGS iterations of each stage (400)")
    parser.add_argument("--device", default=None, help="sparseae's models on this PyTorch device")
    parser.add_argument("--no-peer", action="store_true", help="skip scikit-learn's MLPClassifier")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "stacked_mnist.json"))
    args = parser.parse_args(argv)
    X, y = sparseae.datasets.load_mnist(args.mnist, "t10k")
    order = np.random.default_rng(0).permutation(len(y))
    train, test = order[:5000], order[5000:]
    rows, seconds = {}, {}
    warnings.simplefilter("ignore", ConvergenceWarning)

    start = time.perf_counter()
    softmax = sparseae.SoftmaxRegression(1e-4, max_iter=args.iters, random_state=0,
                                         device=args.device).fit(X[train], y[train])
    seconds["softmax on raw pixels"] = time.perf_counter() - start
    rows["softmax on raw pixels"] = softmax.score(X[test], y[test])

    stack = sparseae.StackedSparseAutoencoder((200, 200), pretrain_iter=args.iters, finetune_iter=args.iters,
                                              random_state=0, device=args.device).fit(X[train], y[train])
    top = X[test]
    for autoencoder in stack.autoencoders_:
        top = autoencoder.transform(top)
    rows["stack before fine-tuning"] = stack.softmax_.score(top, y[test])
    rows["stack after fine-tuning"] = stack.score(X[test], y[test])
    pretraining = {k: v for k, v in stack.stage_seconds_.items() if k != "fine-tuning"}
    seconds["stack before fine-tuning"] = sum(pretraining.values())
    seconds["stack after fine-tuning"] = sum(stack.stage_seconds_.values())

    mlp = None
    if not args.no_peer:
        start = time.perf_counter()
        mlp = MLPClassifier((200, 200), activation="logistic", solver="lbfgs", alpha=1e-4, max_iter=args.iters,
                            tol=0.0, max_fun=10**6, random_state=0).fit(X[train], y[train])  # every iteration
        seconds["MLPClassifier, random start"] = time.perf_counter() - start
        rows["MLPClassifier, random start"] = mlp.score(X[test], y[test])

    result = {"machine": machine(), "device": args.device, "iters": args.iters, "accuracy": rows,
              "seconds": seconds, "stack_stage_seconds": stack.stage_seconds_,
              "fine_tuning_iterations": stack.n_iter_,
              "mlp_iterations": None if mlp is None else int(mlp.n_iter_)}
    Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    print(f"{result['machine']['cpu']}; train 5,000 / test 5,000 digits of MNIST t10k")
    print("| classifier | held-out accuracy | seconds |\n|---|---|---|")
    for name in rows:
        print(f"| {name} | {rows[name]:.2%} | {seconds[name]:.0f} |")
    print("stages:", {k: round(v, 1) for k, v in stack.stage_seconds_.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
