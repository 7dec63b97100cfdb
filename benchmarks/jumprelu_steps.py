"""JumpReLU's thresholds under Adam (issue 23, item 8's finding): held-out FVU, L0, dead units and
the thresholds' 10/50/90th percentiles after 10 epochs on MNIST digits, with the thresholds
stepped in value (``jumprelu_steps="threshold"``, the default) and in their logs, at three steps,
two bandwidths and two β, from every θ_j = 0.001, the start "auto" gives.

    python benchmarks/jumprelu_steps.py --mnist ../shared/data/mnist
"""

import argparse
import itertools
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import machine  # noqa: E402

import sparseae  # noqa: E402
from sparseae.datasets.idx import load_mnist  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", required=True, help="folder with the MNIST test set (IDX files)")
    args = parser.parse_args()
    X, _ = load_mnist(args.mnist)
    X = X[np.random.default_rng(0).permutation(len(X))]
    train, test = X[:5000], X[5000:]
    print(f"CPU: {machine()['cpu']}; 5,000 shuffled MNIST digits, 5,000 held out, 256 units, Adam 10 epochs, "
          f"float32")
    print("| steps | step | bandwidth | β | held-out FVU | L0 | dead units | θ 10/50/90 % |")
    print("| --- | --- | --- | --- | ---: | ---: | ---: | --- |")
    for steps, step in itertools.product(("threshold", "log"), ("auto", 0.01, 0.001)):
        for bandwidth in (0.05, 0.01):
            for beta in (1e-3, 1e-2):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model = sparseae.SparseAutoencoder(256, activation="relu", output_activation="linear",
                                                       sparsity="jumprelu", sparsity_weight=beta,
                                                       jumprelu_bandwidth=bandwidth, jumprelu_steps=steps,
                                                       solver="adam", max_iter=10,
                                                       learning_rate=step, weight_decay=0.0, dtype="float32",
                                                       random_state=0).fit(train)
                r = sparseae.reconstruction_metrics(model, test)
                q = "/".join(f"{v:.3g}" for v in np.quantile(model.threshold_, [0.1, 0.5, 0.9]))
                print(f"| {steps} | {step} | {bandwidth} | {beta} | {r['fvu']:.4f} | {r['l0']:.1f} "
                      f"| {len(r['dead_units'])} | {q} |", flush=True)


if __name__ == "__main__":
    main()
