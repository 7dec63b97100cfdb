"""Scale: memory of an out-of-core fit against the file's size, time per evaluation in memory /
out of core / on a 2-worker Dask LocalCluster, and the streaming solver against L-BFGS.

    python benchmarks/out_of_core.py                 # writes benchmarks/out_of_core.json
    python benchmarks/out_of_core.py --rows 4000000  # a bigger file (64 columns of float64)

Peak memory is the peak resident set (VmHWM) of a fresh process that fits from the file, minus
that of the same process fitting a 10,000-row file: what the data adds.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from numpy.lib.format import open_memmap

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from sparseae._io import atomic_path  # noqa: E402

CHILD = """
import sys, time, warnings
import numpy as np
import sparseae
path, batch = sys.argv[1], sys.argv[2]
model = sparseae.SparseAutoencoder(25, max_iter=3, random_state=0,
                                   batch_size=batch if batch == "auto" else int(batch))
t0 = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    model.fit(path)
# VmHWM: this process's peak resident set since exec (ru_maxrss would include the parent's).
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print(time.perf_counter() - t0, int(hwm) * 1024)
"""


def write_file(path, rows, n=64, seed=0):
    """A .npy of uniform [0.05, 0.95] values, written in blocks (never whole in memory)."""
    out = open_memmap(path, mode="w+", dtype=np.float64, shape=(rows, n))
    rng = np.random.default_rng(seed)
    for start in range(0, rows, 100_000):
        stop = min(rows, start + 100_000)
        out[start:stop] = rng.uniform(0.05, 0.95, size=(stop - start, n))
    out.flush()
    del out


def child_fit(path, batch="auto"):
    done = subprocess.run([sys.executable, "-c", CHILD, str(path), str(batch)],
                          capture_output=True, text=True, check=True)
    seconds, rss = done.stdout.split()
    return float(seconds), int(rss)


def memory_bound(tmp, rows):
    small, big = tmp / "small.npy", tmp / "big.npy"
    write_file(small, 10_000)
    write_file(big, rows)
    _, base = child_fit(small)
    seconds, peak = child_fit(big)
    size = big.stat().st_size
    out = {"file_bytes": size, "rows": rows, "peak_rss_bytes": peak, "baseline_rss_bytes": base,
           "added_by_data_bytes": peak - base, "fit_seconds_3_iterations": seconds}
    print(f"file {size / 2**30:.2f} GiB: peak RSS {peak / 2**20:.0f} MiB, baseline "
          f"{base / 2**20:.0f} MiB, added by the data {(peak - base) / 2**20:.0f} MiB "
          f"({(peak - base) / size:.3f} of the file)", flush=True)
    big.unlink()
    return out


def eval_times(tmp, repeats):
    import dask.array as da
    import distributed

    import sparseae
    from sparseae._data import chunk_rows
    from sparseae.distributed import DaskObjective
    from sparseae.rows import NpyRows

    rows = 200_000
    path = tmp / "eval.npy"
    write_file(path, rows)
    X = np.load(path)
    kw = dict(weight_decay=1e-4, sparsity_target=0.01, sparsity_weight=3.0)
    theta = sparseae.Layout([64, 25, 64]).initial_theta(0)

    from run import median_seconds

    def median(fn):
        return median_seconds(fn, repeats)

    in_memory = sparseae.SparseObjective([64, 25, 64], X, **kw)
    batch = chunk_rows(rows, 64, 25)
    out_of_core = sparseae.SparseObjective([64, 25, 64], NpyRows(path), batch_size=batch, **kw)
    result = {"rows": rows, "chunk_rows": batch,
              "in_memory": median(lambda: in_memory(theta)),
              "out_of_core": median(lambda: out_of_core(theta))}
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster:
        with distributed.Client(cluster):
            dask_objective = DaskObjective([64, 25, 64], da.from_array(X, chunks=(25_000, 64)), **kw)
            result["dask_localcluster_2_workers"] = median(lambda: dask_objective(theta))
    for key in ("in_memory", "out_of_core", "dask_localcluster_2_workers"):
        print(f"  eval {key:>28}: {result[key] * 1e3:8.1f} ms", flush=True)
    return result


def streaming_vs_lbfgs(epochs, learning_rate, batch_size):
    import run

    import sparseae

    X = run.workload("a", False)["X"]
    kw = dict(n_hidden=25, sparsity_target=0.01, sparsity_weight=3.0, weight_decay=1e-4, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        lbfgs = sparseae.SparseAutoencoder(**kw).fit(X)
        t1 = time.perf_counter()
        adam = sparseae.SparseAutoencoder(solver="adam", max_iter=epochs, learning_rate=learning_rate,
                                          batch_size=batch_size, **kw).fit(X)
        t2 = time.perf_counter()
    out = {"lbfgs_cost": lbfgs.loss_, "lbfgs_seconds": t1 - t0, "adam_cost": adam.loss_,
           "adam_seconds": t2 - t1, "adam_epochs": epochs, "adam_learning_rate": learning_rate,
           "adam_batch_size": batch_size, "adam_over_lbfgs": adam.loss_ / lbfgs.loss_}
    print(f"  L-BFGS 400 it: {lbfgs.loss_:.6f} in {t1 - t0:.1f} s; Adam {epochs} epochs: "
          f"{adam.loss_:.6f} in {t2 - t1:.1f} s ({out['adam_over_lbfgs'] - 1:+.2%})", flush=True)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000, help="rows of the big file (64 cols)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=2500, help="Adam's epochs (2500)")
    parser.add_argument("--learning-rate", type=float, default=0.002, help="Adam's step (0.002)")
    parser.add_argument("--batch-size", type=int, default=100, help="Adam's minibatch (100)")
    parser.add_argument("--parts", default="memory,eval,streaming",
                        help="which figures, comma-separated (memory,eval,streaming)")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "out_of_core.json"))
    args = parser.parse_args(argv)
    parts = set(args.parts.split(","))
    path = Path(args.json)
    result = json.loads(path.read_text()) if path.is_file() else {}  # figures not rerun are kept
    with tempfile.TemporaryDirectory(dir=ROOT / "benchmarks") as tmp:
        tmp = Path(tmp)
        if "memory" in parts:
            print("== memory of an out-of-core fit", flush=True)
            result["memory"] = memory_bound(tmp, args.rows)
        if "eval" in parts:
            print("== time per evaluation", flush=True)
            result["eval_seconds"] = eval_times(tmp, args.repeats)
    if "streaming" in parts:
        print("== streaming (Adam) against L-BFGS on the notes' exercise", flush=True)
        result["streaming"] = streaming_vs_lbfgs(args.epochs, args.learning_rate, args.batch_size)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
