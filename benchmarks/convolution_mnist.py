"""UFLDL's convolution and pooling experiment on the MNIST test set (the training set is not here).

    python benchmarks/convolution_mnist.py [--mnist DIR] [--n-train 5000]

The 10,000 test digits are split at random, 5,000 to train (patches are sampled from these only)
and 5,000 to test; :func:`sparseae.convolution_experiment.convolution_experiment` runs every
pipeline on the same halves in one process: RICA and the sparse autoencoder convolved and pooled,
three random-filter controls, softmax on raw pixels and scikit-learn's MLPClassifier. Published
beside (the newer UFLDL tutorial, 60,000 training digits): RICA + convolution about 99 %, random
filters 97.5 %. Writes benchmarks/convolution_mnist.json; prints a Markdown table.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import MNIST, ROOT, machine  # noqa: E402

import sparseae  # noqa: E402
from sparseae.convolution_experiment import convolution_experiment  # noqa: E402

PUBLISHED = {"RICA + convolution, 4 x 4": "about 99 % (60,000 training digits)",
             "random filters (seed 1) + convolution, 4 x 4": "97.5 % (60,000 training digits)"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", default=str(MNIST))
    parser.add_argument("--n-train", type=int, default=5000)
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "convolution_mnist.json"))
    args = parser.parse_args(argv)
    X, y = sparseae.datasets.load_mnist(args.mnist, "t10k")
    outcome = convolution_experiment(X, y, n_train=args.n_train)
    rows = [{k: v for k, v in e.items() if k not in ("pipeline", "predicted")} for e in outcome["results"]]
    summary = {}
    for regions in ("4 x 4", "10 x 10"):
        randoms = [r["accuracy"] for r in rows if r["name"].startswith("random") and regions in r["name"]]
        rica = next(r["accuracy"] for r in rows if r["name"].startswith("RICA") and regions in r["name"])
        summary[regions] = {"rica": rica, "random_mean": float(np.mean(randoms)), "random_best": max(randoms),
                            "rica_minus_mean_random": rica - float(np.mean(randoms)),
                            "rica_minus_best_random": rica - max(randoms),
                            "error_ratio_rica_to_random": (1 - rica) / (1 - float(np.mean(randoms)))}
    raw = next(r["accuracy"] for r in rows if r["name"] == "softmax on raw pixels")
    summary["rica_4x4_minus_raw_softmax"] = summary["4 x 4"]["rica"] - raw
    Path(args.json).write_text(json.dumps({"machine": machine(), "n_train": outcome["n_train"],
                                           "n_test": outcome["n_test"], "results": rows, "summary": summary},
                                          indent=1) + "\n")
    print("| pipeline | accuracy | features | seconds (patches, features, convolve train+test, softmax) | published |")
    print("|---|---|---|---|---|")
    for r in rows:
        s = r["seconds"]
        stages = " + ".join(f"{s[k]:.1f}" for k in ("patches", "features", "convolve_train", "convolve_test",
                                                       "softmax", "fit") if k in s)
        published = next((v for k, v in PUBLISHED.items() if r["name"].startswith(k)), "")  # printed once
        print(f"| {r['name']} | {r['accuracy']:.2%} | {r['n_features']} | {stages} | {published} |")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
