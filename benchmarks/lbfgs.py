"""sparseae's L-BFGS (solver="lbfgs") against SciPy's L-BFGS-B (solver="l-bfgs-b"), in one run.

    python benchmarks/lbfgs.py                       # workloads a, b, c; writes benchmarks/lbfgs.json
    python benchmarks/lbfgs.py --workloads b --iters b=50
    python benchmarks/lbfgs.py --device cuda         # the fits on a PyTorch device (θ kept there
                                                     # by sparseae's L-BFGS; L-BFGS-B on the host)
    python benchmarks/lbfgs.py --memory-study --json benchmarks/lbfgs_memory.json

For each of run.py's workloads (a: the notes' exercise; b: MNIST size; c: wide):

1. The optimizer's own time per iteration, without the objective: both solvers on a cheap
   objective with θ of the workload's size (J = ½ Σ c_i θ_i², c from 1 to 10⁴, so that they keep
   iterating), the objective's time subtracted, over the iterations after the history is full;
   against one evaluation of the workload's J_sparse (float64, median of --repeats) and its
   five-product floor (run.py's), timed in the same run.
2. Fits from the same θ0 with the same history (run.py's ``lbfgs_memory="auto"``): cost after
   the iterations, evaluations per iteration, seconds per iteration against the floor.
"""

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers  # noqa: E402
from run import ROOT, machine, median_seconds, time_to, workload  # noqa: E402

import sparseae  # noqa: E402
from sparseae.cli.run_folder import write_json  # noqa: E402
from sparseae.engine.parallel import single_threaded_blas  # noqa: E402
from sparseae.fitting import auto_lbfgs_memory  # noqa: E402

SOLVERS = ("lbfgs", "l-bfgs-b")
ITERS = {"a": 400, "b": 400, "c": 40}


def optimizer_overhead(n, memory, solver, vectors=None):
    """Seconds per iteration of ``solver``'s own work on θ of n values, history ``memory``."""
    c = np.logspace(0, 4, n)
    theta0 = np.random.default_rng(0).standard_normal(n)
    if vectors is not None and not vectors.holds(theta0):  # a device: the objective there too
        c = vectors.from_host(c)
    inside, stamps = [0.0], []

    def fun(theta):
        t0 = time.perf_counter()
        g = c * theta
        value = 0.5 * float((theta * g).sum())
        inside[0] += time.perf_counter() - t0
        return value, g

    def callback(iteration, cost):
        stamps.append((time.perf_counter(), inside[0]))

    with warnings.catch_warnings(), single_threaded_blas():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sparseae.minimize(fun, theta0, solver=solver, max_iter=memory + 30, tol=0.0, lbfgs_memory=memory,
                          callback=callback, vectors=vectors)
    (t_a, in_a), (t_b, in_b) = stamps[memory], stamps[-1]
    return ((t_b - t_a) - (in_b - in_a)) / (len(stamps) - 1 - memory)


def fit(objective, theta0, solver, iters, memory, vectors=None, trace=None):
    trace, t0 = [] if trace is None else trace, time.perf_counter()

    def callback(iteration, cost):
        trace.append((time.perf_counter() - t0, cost))

    with warnings.catch_warnings(), single_threaded_blas():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = sparseae.minimize(objective, theta0, solver=solver, max_iter=iters, tol=0.0,
                                   lbfgs_memory=memory, callback=callback,
                                   vectors=vectors if solver == "lbfgs" else None)
    seconds = time.perf_counter() - t0
    return {"final_cost": result.cost, "iterations": result.n_iter, "evaluations": result.n_evaluations,
            "seconds": seconds, "seconds_per_iteration": seconds / max(1, result.n_iter),
            "message": result.message}


def run_workload(name, args):
    w = workload(name, False)
    X, s2 = w["X"], w["s2"]
    m, n = X.shape
    backend = sparseae.engine.get_backend(args.device)
    objective = sparseae.SparseObjective([n, s2, n], X, weight_decay=w["lam"], sparsity_target=w["rho"],
                                         sparsity_weight=w["beta"], backend=backend)
    theta0 = objective.layout.initial_theta(0)
    memory = auto_lbfgs_memory(m, objective.layout)
    vectors = objective.vectors
    row = {"shape": f"{m} x {n} -> {s2}", "data": w["data"], "theta_size": objective.size,
           "lbfgs_memory_auto": memory, "device": args.device or "host"}
    print(f"\n== ({name}) {row['shape']}, {w['data']}, θ {objective.size:,}, memory {memory}", flush=True)
    with single_threaded_blas():
        row["evaluation_seconds"] = median_seconds(lambda: objective(theta0), args.repeats)
    floor = peers.five_products(X, s2, np.float64) if args.device is None else \
        peers.five_products_torch(X, s2, args.device)
    row["floor_seconds"] = median_seconds(floor, args.repeats)
    print(f"  evaluation {row['evaluation_seconds'] * 1e3:.2f} ms, floor {row['floor_seconds'] * 1e3:.2f} ms",
          flush=True)
    row["optimizer_seconds_per_iteration"] = {}
    for solver in SOLVERS:
        for k in sorted({10, memory}):
            runs = [optimizer_overhead(objective.size, k, solver, vectors if solver == "lbfgs" else None)
                    for _ in range(3)]
            seconds = statistics.median(runs)
            row["optimizer_seconds_per_iteration"][f"{solver} memory {k}"] = seconds
            print(f"  optimizer {solver:>8}, memory {k:>3}: {seconds * 1e3:8.3f} ms an iteration = "
                  f"{seconds / row['evaluation_seconds']:.1%} of an evaluation", flush=True)
    iters = args.iters.get(name, ITERS[name])
    row["fits"] = {}
    for solver in SOLVERS:
        result = fit(objective, theta0, solver, iters, memory, vectors)
        result["iteration_over_floor"] = result["seconds_per_iteration"] / row["floor_seconds"]
        row["fits"][solver] = result
        print(f"  fit {solver:>8}: {result['iterations']} iterations, {result['evaluations']} evaluations, "
              f"{result['seconds']:.2f} s ({result['seconds_per_iteration'] * 1e3:.2f} ms an iteration = "
              f"{result['iteration_over_floor']:.2f}x the floor), final cost {result['final_cost']:.6f}",
              flush=True)
    return row


def memory_study(args):
    """sparseae's L-BFGS with several history sizes, from one θ0: the seconds each takes to reach
    the highest of their final costs (the one every size reaches), for ``lbfgs_memory="auto"``."""
    out = {}
    for name, sizes, iters in (("a", (10, 30, 100), 400), ("b", (5, 15, 50), 100)):
        w = workload(name, False)
        X, s2 = w["X"], w["s2"]
        n = X.shape[1]
        objective = sparseae.SparseObjective([n, s2, n], X, weight_decay=w["lam"], sparsity_target=w["rho"],
                                             sparsity_weight=w["beta"])
        theta0, traces = objective.layout.initial_theta(0), {}
        for k in sizes:
            traces[k] = []
            fit(objective, theta0, "lbfgs", iters, k, trace=traces[k])
        target = max(trace[-1][1] for trace in traces.values())
        out[name] = {}
        for k, trace in traces.items():
            reached = time_to(trace, target)
            out[name][k] = {"final_cost": trace[-1][1], "seconds": trace[-1][0], "common_cost": target,
                            "seconds_to_common_cost": reached, "iterations": len(trace)}
            print(f"  ({name}) memory {k:>3}: final {trace[-1][1]:.6f} in {trace[-1][0]:.2f} s; {target:.6f} "
                  f"reached at {reached:.2f} s", flush=True)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="abc")
    parser.add_argument("--iters", default="", help="per workload, e.g. a=400,b=100")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default=None)
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "lbfgs.json"))
    parser.add_argument("--memory-study", action="store_true",
                        help="only the history-size study (a: 10, 30, 100; b: 5, 15, 50), to --json")
    args = parser.parse_args(argv)
    args.iters = {k: int(v) for k, v in (item.split("=") for item in args.iters.split(",") if item)}
    result = {"machine": machine(), "device": args.device}
    if args.memory_study:
        result["memory_study"] = memory_study(args)
    else:
        result["workloads"] = {name: run_workload(name, args) for name in args.workloads}
    write_json(result, args.json)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
