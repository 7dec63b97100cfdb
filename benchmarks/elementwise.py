"""The speed tricks of sparseae/engine, measured on this CPU: which elementwise kernels to borrow
from PyTorch for NumPy arrays, and whether column sums by a product with ones beat np.sum.

    python benchmarks/elementwise.py

Prints ns per value (best of 30, one thread) for sigmoid and tanh on NumPy's kernels and on
PyTorch's (in place on the same memory, as sparseae runs them), in float64 and float32; the same
for backpropagation's δ ⊙ f'(z), as sparseae.activations' steps (passes over memory) against
PyTorch's one-pass fused kernel, on the blocks of the benchmark workloads; and µs per column sum
of blocks of a hidden layer's shapes. sparseae/engine/kernels.py chooses from figures like
these; record them in RESULTS.md with the CPU model. Last, each pass of the compiled extension
(sparseae/engine/fused.py) against the steps it replaces, as sparseae took them before (PyTorch's
borrowed sigmoid and f′, the column sums as products with ones), per value of the block.
"""

import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import machine  # noqa: E402


def best_ns_per_value(fn, z0, reps=30):
    best = np.inf
    for _ in range(reps):
        z = z0.copy()
        t0 = time.perf_counter()
        fn(z)
        best = min(best, time.perf_counter() - t0)
    return best / z0.size * 1e9


def main():
    import torch

    torch.set_num_threads(1)
    from sparseae.activations import ACTIVATIONS
    from sparseae.engine import kernels

    info = machine()
    print(f"{info['cpu']}, NumPy {info['numpy']}, AVX-512 vectorised NumPy: {kernels.numpy_is_vectorised()}")
    rng = np.random.default_rng(0)
    print("| f | dtype | NumPy ns/value | PyTorch ns/value |\n|---|---|---|---|")
    for name in ("sigmoid", "tanh"):
        for dtype in (np.float64, np.float32):
            z0 = rng.normal(0, 4, size=(2000, 784)).astype(dtype)
            with np.errstate(over="ignore"):
                ours = best_ns_per_value(lambda z: ACTIVATIONS[name].f(z, None, np), z0)
            theirs = best_ns_per_value(lambda z: kernels.apply_to_numpy(kernels.FUSED[name], z, None), z0)
            print(f"| {name} | {np.dtype(dtype).name} | {ours:.2f} | {theirs:.2f} |")
    print("\n| δ ⊙ f'(z) | block | dtype | steps ns/value (passes) | fused ns/value (1 pass) | ratio |\n"
          "|---|---|---|---|---|---|")
    passes = {"sigmoid": 3, "tanh": 3, "relu": 2}
    for name in ("sigmoid", "tanh", "relu"):
        backward = kernels.backward_for_numpy(name)
        for shape in [(2166, 25), (2166, 64), (1024, 196), (1024, 784), (1024, 1024)]:
            for dtype in (np.float64, np.float32):
                a0 = ACTIVATIONS[name].f(rng.normal(size=shape).astype(dtype), None, np)
                delta0 = rng.normal(size=shape).astype(dtype)
                steps = best_ns_per_value(lambda d: ACTIVATIONS[name].derivative(a0.copy(), d, np), delta0)
                steps -= best_ns_per_value(lambda d: a0.copy(), delta0)  # (the copy that keeps a0)
                fused = best_ns_per_value(lambda d: kernels.derivative_to_numpy(backward, a0, d), delta0)
                print(f"| {name} | {shape[0]} x {shape[1]} | {np.dtype(dtype).name} | {steps:.2f} "
                      f"({passes[name]}) | {fused:.2f} | {steps / fused:.2f} |")
    print("\n| block | ones @ x (µs) | x.sum(axis=0) (µs) |\n|---|---|---|")
    with threadpool_limits(1):
        for shape in [(4096, 25), (4096, 64), (1300, 784), (1000, 1024)]:
            x, ones = rng.normal(size=shape), np.ones(shape[0])
            product = best_ns_per_value(lambda _: ones @ x, np.zeros(1), 200) / 1e3
            summed = best_ns_per_value(lambda _: x.sum(axis=0), np.zeros(1), 200) / 1e3
            print(f"| {shape[0]} x {shape[1]} | {product:.1f} | {summed:.1f} |")
    compiled_passes(rng)


def compiled_passes(rng):
    """The fused passes of sparseae/engine/fused.py against the steps they replace, ns per value."""
    from sparseae.engine import fused, kernels

    if not fused.available():
        print("\nsparseae.engine._fused is not built here (or SPARSEAE_FUSED=0): no compiled passes to time")
        return
    sigmoid, backward = kernels.FUSED["sigmoid"], kernels.backward_for_numpy("sigmoid")

    def forward_steps(z, b):
        kernels.apply_to_numpy(sigmoid, z, b)

    def output_steps(a, y, delta, bias, ones):
        np.subtract(a, y, out=delta)
        0.5 * np.vdot(delta.reshape(-1), delta.reshape(-1))
        delta *= 1e-4
        kernels.derivative_to_numpy(backward, a, delta)
        bias += ones @ delta

    def hidden_steps(delta, a, s, bias, ones):
        delta += s
        kernels.derivative_to_numpy(backward, a, delta)
        bias += ones @ delta

    print("\n| compiled pass (sigmoid) | block | dtype | steps ns/value | one pass ns/value | ratio |\n"
          "|---|---|---|---|---|---|")
    with threadpool_limits(1):
        for shape in [(5000, 25), (5000, 64), (1024, 196), (1024, 784), (1024, 1024)]:
            for dtype in (np.float64, np.float32):
                z0 = rng.normal(size=shape).astype(dtype)
                b = rng.normal(size=shape[1]).astype(dtype)
                a = 1 / (1 + np.exp(-z0))
                y = rng.uniform(size=shape).astype(dtype)
                bias, ones, s = np.zeros(shape[1], dtype), np.ones(shape[0], dtype), b * dtype(0.01)
                runs = {
                    "f(z + b)": (lambda z: forward_steps(z, b), lambda z: fused.activate("sigmoid", z, b)),
                    "output δ": (lambda d: output_steps(a, y, d, bias, ones),
                                 lambda d: fused.output_delta("squared_error", "sigmoid", a, y, d, 1e-4, bias)),
                    "hidden δ": (lambda d: hidden_steps(d, a, s, bias, ones),
                                 lambda d: fused.hidden_delta("sigmoid", d, a, s, bias)),
                }
                for name, (steps, one) in runs.items():
                    t_steps, t_one = best_ns_per_value(steps, z0), best_ns_per_value(one, z0)
                    print(f"| {name} | {shape[0]} x {shape[1]} | {np.dtype(dtype).name} | {t_steps:.2f} | "
                          f"{t_one:.2f} | {t_steps / t_one:.2f} |")


if __name__ == "__main__":
    main()
