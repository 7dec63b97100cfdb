"""UFLDL's convolution and pooling exercise on STL-10, for those who have the data.

    python benchmarks/convolution_stl10.py --data stl10_binary/ [--patches 100000] [--max-iter 400]

The exercise: a sparse autoencoder with a linear decoder learns 400 features from 8 x 8 colour
patches (ZCA-whitened, ε = 0.1; ρ = 0.035, β = 5, λ = 3e-3) sampled from the unlabeled images;
they are convolved over the 64 x 64 images of four classes (airplane, car, cat, dog: 2,000 to
train and 3,200 to test, STL-10's own train and test images of those classes, resized from
96 x 96), mean-pooled over 19 x 19 regions, and softmax regression (λ = 1e-4) classifies the
pooled features. UFLDL reports about 80 % on its subset. Writes benchmarks/convolution_stl10.json.
Without the data it says where to get it and exits with status 1.
"""

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import ROOT, machine  # noqa: E402

import sparseae  # noqa: E402
from sparseae.errors import DataFileNotFoundError  # noqa: E402

CLASSES = {1: "airplane", 3: "car", 4: "cat", 6: "dog"}
SIDE = 64


def resized(images, batch=500):
    """96 x 96 uint8 images as 64 x 64 floats in [0, 1] (anti-aliased), read batch by batch."""
    from skimage.transform import resize

    out = np.empty((len(images), SIDE, SIDE, 3))
    for start in range(0, len(images), batch):
        chunk = np.asarray(images[start:start + batch], dtype=np.float64) / 255.0
        out[start:start + batch] = resize(chunk, (len(chunk), SIDE, SIDE, 3), anti_aliasing=True)
    return out


def subset(X, y):
    keep = np.flatnonzero(np.isin(y, list(CLASSES)))
    return resized(X[keep]), y[keep]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the stl10_binary folder")
    parser.add_argument("--patches", type=int, default=100000)
    parser.add_argument("--features", type=int, default=400)
    parser.add_argument("--max-iter", type=int, default=400)
    parser.add_argument("--unlabeled", type=int, default=20000, help="unlabeled images to sample patches from")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "convolution_stl10.json"))
    args = parser.parse_args(argv)
    try:
        data = sparseae.datasets.load_stl10(args.data)
    except DataFileNotFoundError as exc:
        print(f"convolution_stl10: needs the STL-10 binary files: {exc}", file=sys.stderr)
        return 1
    if data.X_train is None or data.X_test is None:
        print(f"convolution_stl10: needs train_X.bin and test_X.bin in {args.data!r}", file=sys.stderr)
        return 1
    seconds = {}
    start = time.perf_counter()
    source = data.X_unlabeled if data.X_unlabeled is not None else data.X_train
    unlabeled = resized(source[: args.unlabeled])
    patches = sparseae.datasets.sample_patches(unlabeled, args.patches, 8, random_state=0)
    seconds["patches"] = time.perf_counter() - start
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        encoder = sparseae.ZCAWhitening(0.1), sparseae.SparseAutoencoder(
            args.features, sparsity_target=0.035, sparsity_weight=5.0, weight_decay=3e-3, output_activation="linear",
            max_iter=args.max_iter, random_state=0)
        from sklearn.pipeline import make_pipeline

        encoder = make_pipeline(*encoder).fit(patches)
    seconds["features"] = time.perf_counter() - start
    (X_train, y_train), (X_test, y_test) = subset(data.X_train, data.y_train), subset(data.X_test, data.y_test)
    start = time.perf_counter()
    convolve = sparseae.ConvolutionalFeatures(encoder, patch_shape=8, pool_size=19).fit(X_train)
    F_train, F_test = convolve.transform(X_train), convolve.transform(X_test)
    seconds["convolve"] = time.perf_counter() - start
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        softmax = sparseae.SoftmaxRegression(1e-4, max_iter=400, random_state=0).fit(F_train, y_train)
    seconds["softmax"] = time.perf_counter() - start
    accuracy = float(softmax.score(F_test, y_test))
    record = {"machine": machine(), "accuracy": accuracy, "n_train": len(y_train), "n_test": len(y_test),
              "features": args.features, "patches": args.patches, "seconds": seconds, "published": "about 80 %"}
    Path(args.json).write_text(json.dumps(record, indent=1) + "\n")
    print(f"STL-10 4 classes: accuracy {accuracy:.2%} on {len(y_test)} test images (UFLDL: about 80 %); "
          + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
