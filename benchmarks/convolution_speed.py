"""ConvolutionalFeatures against its floor and against a straightforward peer, in one process.

    python benchmarks/convolution_speed.py [--mnist DIR] [--images 10000] [--units 196]

On the MNIST test digits (28 x 28) with an autoencoder of 196 sigmoid units on 8 x 8 patches and
mean pooling over 7 x 7 regions of the 21 x 21 maps, times (the median of --repeat rounds, the
contenders timed in turn in each round, so that a shared machine's changes of speed fall on all):
- ConvolutionalFeatures.transform (every core);
- the floor: the one product the convolution must compute, every patch of every image (4.4
  million rows of 64) times W1ᵀ, on patches already in memory: the faster of one BLAS call
  (BLAS's threads) and blocks of ConvolutionalFeatures's size spread over the cores;
- the peer: scipy.signal.convolve2d per image and per unit, then the sigmoid and the mean
  pooling, as the UFLDL exercises' cnnConvolve/cnnPool loops are written (timed on --peer-images
  images and scaled to all of them).
Checks that all three agree, writes benchmarks/convolution_speed.json and prints the ratios.
"""

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.signal import convolve2d

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import MNIST, ROOT, interleaved_medians, machine  # noqa: E402

import sparseae  # noqa: E402


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return min(times), value


def peer(images, W, b, pool):
    """cnnConvolve + cnnPool as the exercise writes them: one 2-D convolution per image and unit."""
    k, side = W.shape[0], int(np.sqrt(W.shape[1]))
    out = []
    for image in images:
        maps = []
        for j in range(k):
            kernel = np.rot90(W[j].reshape(side, side), 2)  # convolve2d flips its kernel back
            z = convolve2d(image, kernel, mode="valid") + b[j]
            a = 1.0 / (1.0 + np.exp(-z))
            r = a.shape[0] // pool
            maps.append(a.reshape(r, pool, r, pool).mean(axis=(1, 3)).reshape(-1))
        out.append(np.concatenate(maps))
    return np.array(out)


def floors(images, W):
    """The one product, on every patch already in memory, into a buffer already allocated, two
    ways: one BLAS call on all of it (BLAS's own threads), and the rows split over the cores in
    blocks of ConvolutionalFeatures's size (BLAS single-threaded, one block per core at a time).
    The floor is the faster of the two."""
    from sparseae.convolution import BLOCK_BYTES
    from sparseae.engine import parallel

    patches = np.lib.stride_tricks.sliding_window_view(images, (8, 8), axis=(1, 2)).reshape(-1, 64).copy()
    product = np.empty((len(patches), W.shape[0]))

    def one_call():
        np.matmul(patches, W.T, out=product)
    rows = 441 * max(1, BLOCK_BYTES // (8 * 441 * (64 + W.shape[0])))

    def run(i, lo, hi):
        for start, stop in parallel.blocks(lo, hi, rows):
            np.matmul(patches[start:stop], W.T, out=product[start:stop])

    def blocked():
        with parallel.single_threaded_blas():
            parallel.over_rows(run, parallel.row_ranges(len(patches)))

    return one_call, blocked


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", default=str(MNIST))
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--units", type=int, default=196)
    parser.add_argument("--peer-images", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "convolution_speed.json"))
    args = parser.parse_args(argv)
    X, _ = sparseae.datasets.load_mnist(args.mnist, "t10k")
    images = X.reshape(-1, 28, 28)[: args.images]
    patches = sparseae.datasets.sample_patches(images, 10000, 8, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        encoder = sparseae.SparseAutoencoder(args.units, max_iter=20, random_state=0).fit(patches)
    features = sparseae.ConvolutionalFeatures(encoder, patch_shape=8, pool_size=7, verbose=0).fit(images)
    W, b = encoder.components_, encoder.intercepts_[0]

    one_call, blocked = floors(images, W)
    times = interleaved_medians({"ours": lambda: features.transform(images), "one_call": one_call,
                                 "blocked": blocked}, args.repeat, burst=1)
    t_ours, t_one_call = times["ours"], times["one_call"]
    t_floor = min(t_one_call, times["blocked"])
    ours = features.transform(images)
    few = images[: args.peer_images]
    t_peer_few, theirs = best(lambda: peer(few, W, b, 7), 1)
    t_peer = t_peer_few * len(images) / len(few)
    difference = float(np.abs(theirs - ours[: len(few)]).max())
    record = {"machine": machine(), "images": len(images), "units": args.units, "seconds_ours": t_ours,
              "seconds_floor": t_floor, "seconds_floor_one_blas_call": t_one_call,
              "seconds_floor_blocked": times["blocked"], "timing": f"median of {args.repeat} interleaved rounds",
              "seconds_peer_scaled": t_peer, "peer_images_timed": len(few),
              "ours_over_floor": t_ours / t_floor, "peer_over_ours": t_peer / t_ours,
              "max_abs_difference_to_peer": difference}
    Path(args.json).write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps({k: v for k, v in record.items() if k != "machine"}, indent=1))


if __name__ == "__main__":
    main()
