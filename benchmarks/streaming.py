"""The streaming solver against L-BFGS, and streams longer than memory.

    python benchmarks/streaming.py [--skip-memory]     # --skip-memory keeps the file's memory rows

1. On the notes' exercise (10,000 normalised 8x8 natural patches, 64 -> 25, ρ = 0.01, β = 3,
   λ = 1e-4), in one run: L-BFGS with its defaults, then Adam with its defaults and with the
   defaults before β₁ = 0.3 (β₁ = 0.9, 450 epochs), each judged by the exact full-batch J_sparse
   at the end: its cost over L-BFGS's and its wall time over L-BFGS's; for three initial weights
   (random_state 0, 1, 2), each against L-BFGS from the same ones. The same for L1 (ReLU,
   unit-norm decoder, β = 0.1) and TopK (ReLU, k = 3), 64 hidden units, linear output, from
   random_state 0.
2. ``fit_stream`` over ``patch_stream`` of 100,000 and 1,000,000 patches, each in a fresh
   process: the peak resident memory (ru_maxrss) after the imports and after the fit.

Writes benchmarks/streaming.json; prints Markdown tables.
"""

import argparse
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import ROOT, machine  # noqa: E402

import sparseae  # noqa: E402
from sparseae.datasets import natural_images, normalize_patches, sample_patches  # noqa: E402

RELU = dict(activation="relu", output_activation="linear")
PENALTIES = {
    "kl": (25, {}),
    "l1": (64, dict(sparsity="l1", sparsity_weight=0.1, decoder_norm="unit", **RELU)),
    "topk": (64, dict(sparsity="topk", k=3, **RELU)),
}

MEMORY = """
import resource, sys, time
import sparseae
from sparseae.datasets import natural_images, patch_stream
images = natural_images()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
n = int(sys.argv[1])
start = time.perf_counter()
sparseae.SparseAutoencoder(25, random_state=0).fit_stream(patch_stream(images, n, 8, 10000, True, 0), -(-n // 10000))
seconds = time.perf_counter() - start
print(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, seconds)
"""


def timed_fit(X, n_hidden, random_state=0, **params):
    model = sparseae.SparseAutoencoder(n_hidden, random_state=random_state, **params)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X)
    return model.loss_, time.perf_counter() - start


#: Adam's defaults before β₁ = 0.3 for the KL penalty (and 300 epochs), the row to compare with.
BEFORE = dict(beta_1=0.9, max_iter=450)


def race(X, seeds=(0, 1, 2)):
    # Warm-up, untimed: the first fit of a process pays for imports (PyTorch's kernels) and
    # first-touch allocations, which would otherwise count against whichever solver runs first.
    for n_hidden, params in PENALTIES.values():
        timed_fit(X, n_hidden, max_iter=2, **params)
        timed_fit(X, n_hidden, solver="adam", max_iter=1, **params)
    rows = []
    for penalty, (n_hidden, params) in PENALTIES.items():
        for seed in seeds if penalty == "kl" else seeds[:1]:
            lbfgs_cost, lbfgs_seconds = timed_fit(X, n_hidden, seed, **params)
            runs = [("adam, defaults", {})]
            if penalty == "kl":
                runs.append(("adam, defaults before (beta_1 0.9, 450 epochs)", BEFORE))
            for label, extra in runs:
                cost, seconds = timed_fit(X, n_hidden, seed, solver="adam", **extra, **params)
                rows.append({"penalty": penalty, "solver": label, "random_state": seed,
                             "lbfgs_cost": lbfgs_cost, "lbfgs_seconds": lbfgs_seconds, "cost": cost,
                             "seconds": seconds, "cost_ratio": cost / lbfgs_cost,
                             "time_ratio": seconds / lbfgs_seconds})
                print(f"{penalty} {label}, seed {seed}: cost {cost:.5f} vs L-BFGS {lbfgs_cost:.5f} "
                      f"({cost / lbfgs_cost - 1:+.2%}), {seconds:.1f} s vs {lbfgs_seconds:.1f} s "
                      f"({seconds / lbfgs_seconds:.2f}x)", flush=True)
    return rows


def memory():
    rows = []
    for n in (100_000, 1_000_000):
        out = subprocess.run([sys.executable, "-c", MEMORY, str(n)], capture_output=True, text=True, check=True)
        before, peak, seconds = out.stdout.split()
        rows.append({"patches": n, "rss_after_imports_mib": int(before) / 1024, "peak_rss_mib": int(peak) / 1024,
                     "seconds": float(seconds)})
        print(f"{n} patches: peak {int(peak) / 1024:.0f} MiB (after imports {int(before) / 1024:.0f} MiB), "
              f"{float(seconds):.1f} s", flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args(argv)
    X = normalize_patches(sample_patches(natural_images(), 10000, 8, random_state=0))
    path = ROOT / "benchmarks" / "streaming.json"
    kept = json.loads(path.read_text()).get("memory", []) if args.skip_memory and path.is_file() else []
    results = {"machine": machine(), "race": race(X), "memory": kept if args.skip_memory else memory()}
    path.write_text(json.dumps(results, indent=2) + "\n")
    m = results["machine"]
    print(f"\nMachine: {m['cpu']}, {m['cores']} cores, NumPy {m['numpy']}, commit {m['commit']}\n")
    print("| penalty | solver | random_state | cost / L-BFGS's | time / L-BFGS's | L-BFGS: cost, s |\n"
          "|---|---|---|---|---|---|")
    for r in results["race"]:
        print(f"| {r['penalty']} | {r['solver']} | {r['random_state']} | {r['cost_ratio']:.4f} | "
              f"{r['time_ratio']:.2f}x | {r['lbfgs_cost']:.5f}, {r['lbfgs_seconds']:.1f} |")
    if results["memory"]:
        print("\n| patches streamed | peak RSS (MiB) | RSS after imports (MiB) | s |\n|---|---|---|---|")
        for r in results["memory"]:
            rss = f"{r['peak_rss_mib']:.0f} | {r['rss_after_imports_mib']:.0f}"
            print(f"| {r['patches']:,} | {rss} | {r['seconds']:.1f} |")


if __name__ == "__main__":
    main()
