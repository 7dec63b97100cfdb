"""Fine-tuning speed: the 784-200-200-10 stack's objective (softmax, cross-entropy) per
evaluation against its floor and a PyTorch-autograd peer, and whole L-BFGS fits, in one run.

    python benchmarks/finetune.py [--iters 100] [--repeats 9]

Data: the 10,000 MNIST test images and labels (uniform random pixels and labels when MNIST is
absent). The floor is the eight matrix products one evaluation needs (forward: three; backward:
three weight gradients and two δ products), with NumPy's BLAS and, when PyTorch is installed,
with PyTorch's (torch.mm on the same memory), each at its default threads, timed in the same
run: the floor is the faster of the two. The peer is the same cost in PyTorch on the CPU,
differentiated by autograd, driven by the same SciPy L-BFGS. Writes benchmarks/finetune.json; prints a Markdown table.
"""

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import MNIST, ROOT, interleaved_medians, lbfgs, machine, time_to  # noqa: E402

import sparseae  # noqa: E402
from sparseae.softmax import one_hot  # noqa: E402

SIZES = [784, 200, 200, 10]


def data():
    if (MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        X, y = sparseae.datasets.load_mnist(MNIST)
        return X, y, "MNIST t10k"
    rng = np.random.default_rng(0)
    return rng.uniform(0, 1, (10000, 784)), rng.integers(0, 10, 10000), "uniform random (MNIST absent)"


def eight_products(X, dtype, library="numpy"):
    X = np.asarray(X, dtype=dtype)
    m = X.shape[0]
    rng = np.random.default_rng(0)
    Ws = [rng.uniform(-0.1, 0.1, (o, i)).astype(dtype) for i, o in zip(SIZES[:-1], SIZES[1:])]
    a = [X] + [np.full((m, s), 0.5, dtype) for s in SIZES[1:]]  # ordinary values: no NaN or
    d = [rng.uniform(-0.01, 0.01, (m, s)).astype(dtype) for s in SIZES[1:]]  # overflow to slow it
    g = [np.empty(W.shape, dtype) for W in Ws]

    matmul = np.matmul
    if library == "torch":
        import torch

        Ws, a, d, g = ([torch.from_numpy(x) for x in arrays] for arrays in (Ws, a, d, g))
        matmul = torch.mm

    def run():
        for l, W in enumerate(Ws):  # forward
            matmul(a[l], W.T, out=a[l + 1])
        for l in range(len(Ws) - 1, -1, -1):  # backward
            matmul(d[l].T, a[l], out=g[l])
            if l:
                matmul(d[l], Ws[l], out=d[l - 1])

    return run


def torch_peer(X, Y, lam_softmax):
    import torch

    Xt, labels = torch.as_tensor(X, dtype=torch.float64), torch.as_tensor(Y.argmax(axis=1))

    def fun(theta):
        t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
        a, offset = Xt, 0
        for l, (i, o) in enumerate(zip(SIZES[:-1], SIZES[1:])):
            W, b = t[offset : offset + i * o].reshape(o, i), t[offset + i * o : offset + i * o + o]
            offset += i * o + o
            z = a @ W.T + b
            a = z if l == len(SIZES) - 2 else torch.sigmoid(z)
        cost = torch.nn.functional.cross_entropy(a, labels) + lam_softmax / 2 * (W**2).sum()
        cost.backward()
        return float(cost.item()), t.grad.numpy().astype(np.float64)

    return fun


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args(argv)
    X, y, what = data()
    Y = one_hot(np.unique(y, return_inverse=True)[1], 10)
    decay = (0.0, 0.0, 1e-4)
    objectives = {dtype: sparseae.SparseObjective(SIZES, X.astype(dtype), Y, output_activation="softmax",
                                                  loss="cross_entropy", weight_decay=decay)
                  for dtype in ("float64", "float32")}
    theta0 = sparseae.Layout(SIZES).initial_theta(0)
    peer = torch_peer(X, Y, 1e-4)
    evals = {
        "floor_f64_numpy": eight_products(X, np.float64), "floor_f32_numpy": eight_products(X, np.float32),
        "floor_f64_torch": eight_products(X, np.float64, "torch"),
        "floor_f32_torch": eight_products(X, np.float32, "torch"),
        "sparseae_f64": lambda: objectives["float64"](theta0), "sparseae_f32": lambda: objectives["float32"](theta0),
        "torch_autograd": lambda: peer(theta0),
    }
    seconds = interleaved_medians(evals, args.repeats)
    for dtype in ("f64", "f32"):  # the floor: the faster BLAS of the process at these shapes
        seconds[f"floor_{dtype}"] = min(seconds[f"floor_{dtype}_numpy"], seconds[f"floor_{dtype}_torch"])
    fits = {}
    warnings.simplefilter("ignore")
    for key, fun in (("torch_autograd", peer), ("sparseae_f64", objectives["float64"]),
                     ("sparseae_f32", objectives["float32"])):
        _, cost, trace, total = lbfgs(fun, theta0.copy(), args.iters, maxcor=10)
        fits[key] = {"seconds": total, "final_cost": cost, "trace": trace}
    target = fits["torch_autograd"]["final_cost"]
    for fit in fits.values():
        fit["seconds_to_torch_final_cost"] = time_to(fit.pop("trace"), target)
    result = {"machine": machine(), "data": what, "eval_seconds": seconds, "fit": fits, "fit_iterations": args.iters}
    (ROOT / "benchmarks" / "finetune.json").write_text(json.dumps(result, indent=1) + "\n")
    s = seconds
    print(f"{result['machine']['cpu']}; {what}; 784-200-200-10, softmax + cross-entropy")
    print("| per evaluation | ms | ratio |\n|---|---|---|")
    print(f"| floor (8 products), float64: NumPy's BLAS / PyTorch's | {s['floor_f64_numpy'] * 1e3:.1f} / "
          f"{s['floor_f64_torch'] * 1e3:.1f} | 1 (the faster) |")
    print(f"| floor, float32: NumPy's / PyTorch's | {s['floor_f32_numpy'] * 1e3:.1f} / "
          f"{s['floor_f32_torch'] * 1e3:.1f} | |")
    print(f"| sparseae float64 | {s['sparseae_f64'] * 1e3:.1f} | {s['sparseae_f64'] / s['floor_f64']:.2f}x floor |")
    ratio = s["sparseae_f32"] / s["sparseae_f64"]
    print(f"| sparseae float32 | {s['sparseae_f32'] * 1e3:.1f} | {ratio:.2f}x float64, "
          f"{s['sparseae_f32'] / s['floor_f32']:.2f}x its floor |")
    print(f"| PyTorch autograd, float64 | {s['torch_autograd'] * 1e3:.1f} | "
          f"{s['torch_autograd'] / s['sparseae_f64']:.2f}x sparseae |")
    for key, fit in fits.items():
        per_iteration = fit["seconds"] / args.iters / s["floor_f64"]
        print(f"fit {key}: {fit['seconds']:.1f} s for {args.iters} iterations ({per_iteration:.2f}x the floor "
              f"an iteration), cost {fit['final_cost']:.6f}, to the peer's final cost in "
              f"{fit['seconds_to_torch_final_cost']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
