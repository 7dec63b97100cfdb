"""Check and time sparseae's PyTorch backend on one device, in one short call.

    python benchmarks/gpu.py --device cuda          # writes benchmarks/gpu.json

1. Exactness on the device: cost and gradient of a small float64 problem against the NumPy
   objective (relative differences printed; they should be ~1e-15 and ~1e-12).
2. Workloads (b) and (c) of run.py: seconds per evaluation of sparseae on the device (float64
   and float32) against that device's floor (the five matrix products as torch.matmul there,
   synchronised), medians of --repeats after one warm-up; and 10 L-BFGS iterations on (b).

Only the device is timed (no CPU peers), so that it fits a short lease of a GPU machine; the CPU
figures are run.py's.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers  # noqa: E402
import run  # noqa: E402

import sparseae  # noqa: E402
from sparseae.cli.run_folder import write_json  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def exactness(device):
    rng = np.random.default_rng(0)
    X = rng.uniform(0.05, 0.95, (500, 40))
    kw = dict(weight_decay=1e-3, sparsity_target=0.05, sparsity_weight=3.0)
    theta = sparseae.Layout([40, 12, 40]).initial_theta(0)
    c_np, g_np = sparseae.SparseObjective([40, 12, 40], X, **kw)(theta)
    backend = sparseae.engine.get_backend(device)
    c_dev, g_dev = sparseae.SparseObjective([40, 12, 40], X, backend=backend, **kw)(theta)
    return {"cost_rel_diff": abs(c_dev - c_np) / abs(c_np),
            "grad_rel_diff": float(np.linalg.norm(g_dev - g_np) / np.linalg.norm(g_np))}


def timings(device, workloads, repeats):
    out = {}
    for name in workloads:
        w = run.workload(name, False)
        X, s2 = w["X"], w["s2"]
        n = X.shape[1]
        kw = dict(weight_decay=w["lam"], sparsity_target=w["rho"], sparsity_weight=w["beta"])
        theta0 = sparseae.Layout([n, s2, n]).initial_theta(0)
        row = {}
        for dtype in ("float64", "float32"):
            backend = sparseae.engine.get_backend(device, np.dtype(dtype))
            objective = sparseae.SparseObjective([n, s2, n], X, backend=backend, **kw)
            row[f"sparseae_{dtype}"] = run.median_seconds(lambda o=objective: o(theta0), repeats)
            row[f"floor_{dtype}"] = run.median_seconds(peers.five_products_torch(X, s2, device, dtype), repeats)
        row["ratio_f64_to_floor"] = row["sparseae_float64"] / row["floor_float64"]
        row["ratio_f32_to_floor_f32"] = row["sparseae_float32"] / row["floor_float32"]
        if name == "b":
            objective = sparseae.SparseObjective([n, s2, n], X, backend=sparseae.engine.get_backend(device), **kw)
            t0 = time.perf_counter()
            _, cost, _, _ = run.lbfgs(objective, theta0.copy(), 10)
            row["fit_10_iterations_seconds"] = time.perf_counter() - t0
            row["fit_10_iterations_cost"] = cost
        out[name] = row
        print(f"({name}) " + ", ".join(f"{k} {v * 1e3:.2f} ms" if k.startswith(("sparseae_", "floor_"))
                                      else f"{k} {v:.4g}" for k, v in row.items()), flush=True)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--workloads", default="bc")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "gpu.json"))
    args = parser.parse_args(argv)
    import torch

    name = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "cpu"
    result = {"device": args.device, "device_name": name, "torch": torch.__version__,
              "machine": run.machine()}
    result["exactness"] = exactness(args.device)
    print(f"{name}: exactness {result['exactness']}", flush=True)
    result["workloads"] = timings(args.device, args.workloads, args.repeats)
    write_json(result, args.json)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
