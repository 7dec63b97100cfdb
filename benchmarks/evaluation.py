"""Seconds per evaluation of J_sparse on the workloads of run.py, for comparing two versions.

    python benchmarks/evaluation.py                     # this checkout's src/
    python benchmarks/evaluation.py --src OTHER/src     # another checkout (git worktree)
    python benchmarks/evaluation.py --compare OTHER/src --rounds 3 --fit

``--compare`` runs both versions in alternating subprocesses, ``--rounds`` times each, on the
same data, and prints each version's median per workload and dtype, and their ratio: the figure
a refactor of the core must keep within a few per cent. ``--fit`` adds a whole default fit (what
``sparseae train`` runs: 10,000 8x8 patches of the built-in images, 25 hidden units, L-BFGS 400
iterations) in each subprocess, with its final cost, which must not change. Set
SPARSEAE_TORCH_KERNELS=0 for NumPy's elementwise kernels alone.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def seconds_per_evaluation(workloads, repeats):

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from run import workload

    import sparseae

    out = {}
    for name in workloads:
        w = workload(name, quick=False)
        for dtype in ("float64", "float32"):
            X = w["X"].astype(dtype)
            sizes = [X.shape[1], w["s2"], X.shape[1]]
            objective = sparseae.SparseObjective(
                sizes, X, weight_decay=w["lam"], sparsity_target=w["rho"], sparsity_weight=w["beta"]
            )
            theta = sparseae.Layout(sizes).initial_theta(0)
            objective(theta)  # warm-up: buffers, thread pool, kernels
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                objective(theta)
                times.append(time.perf_counter() - t0)
            out[f"{name}_{dtype}"] = statistics.median(times)
    return out


def seconds_of_default_fit():
    """Seconds of ``sparseae train``'s fit (data built before the clock starts), and its cost."""
    import warnings

    import sparseae
    from sparseae.datasets import load_training_data

    X, _ = load_training_data("natural", n_patches=10000, patch_size=8, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 400 iterations end unconverged, as in the command
        t0 = time.perf_counter()
        model = sparseae.SparseAutoencoder(random_state=0).fit(X)
        seconds = time.perf_counter() - t0
    return seconds, model.loss_


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", default=str(ROOT / "src"), help="the src/ folder to import")
    parser.add_argument("--compare", help="another src/ folder to compare against")
    parser.add_argument("--workloads", default="abc")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fit", action="store_true", help="also time a whole default fit")
    args = parser.parse_args(argv)
    if not args.compare:
        sys.path.insert(0, args.src)
        out = seconds_per_evaluation(args.workloads, args.repeats)
        if args.fit:
            out["default fit"], out["default fit cost"] = seconds_of_default_fit()
        print(json.dumps(out))
        return 0
    runs = {"this": [], "other": []}
    for _ in range(args.rounds):
        for key, src in (("other", args.compare), ("this", args.src)):
            cmd = [sys.executable, __file__, "--src", src, "--workloads", args.workloads,
                   "--repeats", str(args.repeats)] + (["--fit"] if args.fit else [])
            text = subprocess.run(cmd, check=True, capture_output=True, text=True, env=os.environ).stdout
            runs[key].append(json.loads(text.strip().splitlines()[-1]))
    print("| workload | other (ms) | this (ms) | this / other |")
    print("|---|---|---|---|")
    for case in runs["this"][0]:
        other = statistics.median(r[case] for r in runs["other"])
        this = statistics.median(r[case] for r in runs["this"])
        if case.endswith("cost"):
            print(f"| {case} | {other!r} | {this!r} | {'equal' if this == other else 'DIFFERENT'} |")
        else:
            print(f"| {case} | {other * 1e3:.2f} | {this * 1e3:.2f} | {this / other:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
