"""Where a ReLU-family fit starts (issue 23 item 5): init uniform (UFLDL's) or tied, decoder bias
zeros, mean or geometric median, for TopK, BatchTopK and JumpReLU on MNIST digits; held-out FVU,
L0 and dead units after the same training. What "auto" picks comes from this table.

    python benchmarks/initialisation.py --mnist ../shared/data/mnist
"""

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import machine  # noqa: E402

import sparseae  # noqa: E402
from sparseae.datasets.idx import load_mnist  # noqa: E402

ARCHITECTURES = {
    "topk k=16, adam 10 epochs": dict(sparsity="topk", k=16, solver="adam", max_iter=10),
    "batchtopk k=16, adam 10 epochs": dict(sparsity="batchtopk", k=16, solver="adam", max_iter=10),
    "jumprelu beta=1e-3 bandwidth 0.05, adam 10 epochs": dict(sparsity="jumprelu", sparsity_weight=1e-3,
                                                              jumprelu_bandwidth=0.05, solver="adam",
                                                              max_iter=10, learning_rate=0.01),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", required=True, help="folder with the MNIST test set (IDX files)")
    args = parser.parse_args()
    X, _ = load_mnist(args.mnist)
    X = X[np.random.default_rng(0).permutation(len(X))]  # the t10k halves come from different writers
    train, test = X[:5000], X[5000:]
    print(f"CPU: {machine()['cpu']}; MNIST test set shuffled, 5,000 training and 5,000 held-out digits, 256 ReLU "
          f"units, linear decoder, random_state=0")
    print("| architecture | init | decoder_bias_init | held-out FVU | L0 | dead units |")
    print("| --- | --- | --- | ---: | ---: | ---: |")
    for name, params in ARCHITECTURES.items():
        for init in ("uniform", "tied"):
            for bias in ("zeros", "mean", "geometric_median"):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model = sparseae.SparseAutoencoder(256, activation="relu", output_activation="linear", init=init,
                                                       decoder_bias_init=bias, weight_decay=0.0, random_state=0,
                                                       **params).fit(train)
                r = sparseae.reconstruction_metrics(model, test)
                print(f"| {name} | {init} | {bias} | {r['fvu']:.4f} | {r['l0']:.1f} | {len(r['dead_units'])} |",
                      flush=True)


if __name__ == "__main__":
    main()
