"""Benchmark sparseae against its peers on the same data, model and optimizer settings.

    python benchmarks/run.py                   # all workloads; prints a table, writes JSON
    python benchmarks/run.py --workloads a     # only the notes' exercise
    python benchmarks/run.py --quick           # fewer repetitions and iterations (a smoke run)

Workloads: (a) the notes' exercise, 10,000 normalised 8x8 natural-image patches, 64 -> 25,
ρ = 0.01, β = 3, λ = 1e-4; (b) MNIST size, 10,000 x 784 -> 196, ρ = 0.1, β = 3, λ = 3e-3
(the MNIST test set beside the project when present, else uniform random data of that shape);
(c) wide, 50,000 x 256 -> 1,024 uniform random data, ρ = 0.1, β = 3, λ = 1e-4.

Peers, each in benchmarks/peers.py: J_sparse in PyTorch autograd on the CPU driven by the same
scipy L-BFGS; a direct NumPy transcription of the notes' equations with the same L-BFGS;
scikit-learn's MLPRegressor X -> X (logistic hidden layer, L-BFGS, *no sparsity term*); and the
floor, the five matrix products one evaluation needs, in the same dtype, with NumPy's BLAS and
(when PyTorch is installed) PyTorch's, each at its default threads: the faster of the two.

Figures: seconds per evaluation (median of --repeats), seconds for the whole fit, final cost,
seconds to reach the cost the PyTorch peer ends at, and peak memory during the fit beyond X
(tracemalloc, which sees NumPy's allocations; PyTorch's are outside its view).
"""

import argparse
import contextlib
import json
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
import warnings
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

import numpy as np
from scipy.optimize import minimize as scipy_minimize
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import ThreadpoolController, threadpool_info

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers  # noqa: E402

import sparseae  # noqa: E402
from sparseae.datasets import natural_images, normalize_patches, sample_patches  # noqa: E402
from sparseae.engine.parallel import single_threaded_blas  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT.parent / "shared" / "data" / "mnist"


def workload(name, quick):
    rng = np.random.default_rng(0)
    if name == "a":
        X = normalize_patches(sample_patches(natural_images(), 10000, 8, random_state=0))
        return dict(X=X, s2=25, rho=0.01, beta=3.0, lam=1e-4, iters=400, data="natural patches")
    if name == "b":
        if (MNIST / "t10k-images-idx3-ubyte.gz").is_file():
            X, data = sparseae.datasets.load_mnist(MNIST)[0], "MNIST t10k"
        else:
            X, data = rng.uniform(0, 1, (10000, 784)), "uniform random (MNIST absent)"
        return dict(X=X, s2=196, rho=0.1, beta=3.0, lam=3e-3, iters=20 if quick else 100, data=data)
    if name == "c":
        X = rng.uniform(0, 1, (50000, 256))
        return dict(X=X, s2=1024, rho=0.1, beta=3.0, lam=1e-4, iters=3 if quick else 10,
                    data="uniform random")
    raise ValueError(name)


#: Untimed calls before each timed burst, for at least this many seconds: on a KVM guest whose
#: idle CPUs halt (the "haltpoll" cpuidle governor), the first tens of milliseconds after an idle
#: pause wake sleeping threads slowly; sparseae's evaluation of (a), which hands work between its
#: threads a few dozen times, took 9.4 ms for its first five calls after a 0.2 s pause and 5.6 ms
#: after (a session script, issue 26), while a BLAS call's own threads spin through it. A fit
#: calls its objective back to back, so the steady state is what a user gets.
WARM_SECONDS = 0.1


def warm_up(fn, seconds=WARM_SECONDS):
    """Call ``fn`` untimed until ``seconds`` have passed (at least once)."""
    t0 = time.perf_counter()
    fn()
    while time.perf_counter() - t0 < seconds:
        fn()


def median_seconds(fn, repeats):
    # Let the previous variant's idle threads stop spinning (OpenBLAS and OpenMP pools busy-wait
    # for a while after their last call), so no variant pays for the one timed before it.
    time.sleep(1.0)
    warm_up(fn)  # buffers, caches, thread pools, the machine awake
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def interleaved_medians(fns, repeats, pause=0.2, burst=3):
    """``{key: median seconds}`` of each function, timed in turn round after round, so that a
    change in the machine's speed during the run (a shared VM's neighbours) falls on all of them
    alike. In each round each function gets ``pause`` (the previous one's BLAS threads stop
    spinning), untimed calls for :data:`WARM_SECONDS` (its own threads and caches warm again, the
    machine's idle CPUs awake), then ``burst`` timed calls; the figure is the median of all its
    timed calls."""
    times = {key: [] for key in fns}
    for fn in fns.values():
        fn()  # warm-up: buffers, caches, thread pools, the BLAS choices
    for _ in range(repeats):
        for key, fn in fns.items():
            time.sleep(pause)
            warm_up(fn)
            for _ in range(burst):
                t0 = time.perf_counter()
                fn()
                times[key].append(time.perf_counter() - t0)
    return {key: statistics.median(t) for key, t in times.items()}


def lbfgs(fun, theta0, iters, maxcor=10):
    """scipy's L-BFGS-B with the same settings for every peer; (theta, cost, trace, seconds).

    maxcor=10 is scipy's default, what a user of any peer gets; sparseae's own fit uses
    lbfgs_memory="auto" (the "sparseae_auto" rows), chosen from lbfgs_memory_study.
    """
    trace = []
    t0 = time.perf_counter()

    def callback(intermediate_result):
        trace.append((time.perf_counter() - t0, float(intermediate_result.fun)))

    # L-BFGS-B's own vector work runs on SciPy's OpenBLAS; at its default threads, those spin
    # after each call and slow whatever objective runs next (PyTorch's threads included), so
    # the shared optimizer gets one thread for every peer. Each objective keeps its defaults.
    with scipy_blas(1):
        res = scipy_minimize(fun, theta0, jac=True, method="L-BFGS-B", callback=callback,
                             options={"maxiter": iters, "maxcor": maxcor, "gtol": 0.0,
                                      "ftol": 0.0, "maxfun": 20 * iters})
    return res.x, float(res.fun), trace, time.perf_counter() - t0


def own_lbfgs(objective, theta0, iters, memory):
    """sparseae's own L-BFGS (``solver="lbfgs"``, what a user of sparseae gets), with the
    objective's vectors (a device's for a PyTorch objective); the same (theta, cost, trace,
    seconds). It stops earlier only if an iteration barely reduces the cost."""
    trace = []
    t0 = time.perf_counter()
    with warnings.catch_warnings(), single_threaded_blas():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = sparseae.minimize(objective, theta0, solver="lbfgs", max_iter=iters, tol=0.0,
                                lbfgs_memory=memory, vectors=objective.vectors,
                                callback=lambda it, cost: trace.append((time.perf_counter() - t0, cost)))
    own_lbfgs.n_evaluations = res.n_evaluations  # (the last fit's calls of the objective)
    return res.theta, float(res.cost), trace, time.perf_counter() - t0


def scipy_blas(threads):
    controller = ThreadpoolController()
    scipy_libs = [c.filepath for c in controller.lib_controllers if "scipy" in c.filepath]
    return controller.select(filepath=scipy_libs).limit(limits=threads)


def time_to(trace, target):
    for seconds, cost in trace:
        if cost <= target * (1 + 1e-9):
            return seconds
    return None


def peak_memory(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


@contextlib.contextmanager
def numpy_kernels():
    """sparseae with NumPy's elementwise kernels alone, as without PyTorch installed."""
    from sparseae.engine import kernels

    saved = kernels.torch_module()
    kernels._torch = False
    try:
        yield
    finally:
        kernels._torch = saved


def ours(X, w, dtype="float64"):
    layer_sizes = [X.shape[1], w["s2"], X.shape[1]]
    backend = sparseae.engine.get_backend(None, np.dtype(dtype))
    objective = sparseae.SparseObjective(
        layer_sizes, X, weight_decay=w["lam"], sparsity_target=w["rho"],
        sparsity_weight=w["beta"], backend=backend,
    )
    return objective, objective.layout.initial_theta(0)


def run_workload(name, args):
    w = workload(name, args.quick)
    X, s2 = w["X"], w["s2"]
    m, n = X.shape
    row = {"workload": name, "shape": f"{m} x {n} -> {s2}", "data": w["data"],
           "fit_iterations": w["iters"], "repeats": args.repeats}
    print(f"\n== ({name}) {row['shape']}, {w['data']}", flush=True)
    # Every peer and the floor run with their libraries' default threads (BLAS on all cores),
    # as a user gets them; sparseae's objective runs BLAS single-threaded and spreads products
    # and elementwise work over the cores itself (sparseae/engine/parallel.py).
    objective, theta0 = ours(X, w)
    objective32, _ = ours(X, w, "float32")
    numpy_fun = peers.numpy_transcription(X, s2, w["lam"], w["rho"], w["beta"])
    torch_fun = peers.torch_autograd(X, s2, w["lam"], w["rho"], w["beta"])
    floor64 = peers.five_products(X, s2, np.float64)
    floor32 = peers.five_products(X, s2, np.float32)
    evals = {
        "floor_f64_numpy": lambda: floor64(),
        "floor_f32_numpy": lambda: floor32(),
        "sparseae_f64": lambda: objective(theta0),
        "sparseae_f32": lambda: objective32(theta0),
        "numpy_notes": lambda: numpy_fun(theta0),
        "torch_autograd": lambda: torch_fun(theta0),
    }
    if torch_backend_available():  # PyTorch's BLAS (MKL in its CPU wheel) at its default threads
        evals["floor_f64_torch"] = peers.five_products_torch(X, s2, "cpu", "float64")
        evals["floor_f32_torch"] = peers.five_products_torch(X, s2, "cpu", "float32")
    row["eval_seconds"] = {}
    with numpy_kernels():  # NumPy alone, as without PyTorch: made and timed inside the switch
        row["eval_seconds"]["sparseae_f64_numpy_kernels"] = median_seconds(partial(ours(X, w)[0], theta0),
                                                                           args.repeats)
    # The floors and sparseae's evaluations timed in turn, so that their ratios hold on a machine
    # whose speed drifts.
    row["eval_seconds"].update(interleaved_medians(evals, args.repeats))
    for key, seconds in row["eval_seconds"].items():
        print(f"  eval {key:>15}: {seconds * 1e3:9.2f} ms", flush=True)

    e = row["eval_seconds"]
    for dtype in ("f64", "f32"):  # the floor: the faster BLAS of the process at these shapes
        e[f"floor_{dtype}"] = min(v for k, v in e.items() if k.startswith(f"floor_{dtype}_"))
    from sparseae.fitting import auto_lbfgs_memory

    auto = auto_lbfgs_memory(m, objective.layout)
    row["lbfgs_memory_auto"] = auto
    # The peers with SciPy's L-BFGS-B, as their users drive them; sparseae with its own L-BFGS
    # (solver="lbfgs"), and once with L-BFGS-B too ("l-bfgs-b", the reference).
    runs = [("torch_autograd", torch_fun, 10, lbfgs), ("sparseae_f64", objective, 10, own_lbfgs),
            ("sparseae_f32", objective32, 10, own_lbfgs), ("numpy_notes", numpy_fun, 10, lbfgs),
            ("sparseae_auto", objective, auto, own_lbfgs), ("sparseae_auto_f32", objective32, auto, own_lbfgs),
            ("sparseae_auto_l-bfgs-b", objective, auto, lbfgs)]
    if torch_backend_available():
        # sparseae's objective code on PyTorch tensors on --device; on a GPU, also the floor
        # there (the five products as torch.matmul on the device).
        device = args.device
        name = "cpu" if device == "cpu" else device.replace(":", "")
        torch_objective = sparseae.SparseObjective(
            [n, s2, n], X, weight_decay=w["lam"], sparsity_target=w["rho"],
            sparsity_weight=w["beta"], backend=sparseae.engine.get_backend(device),
        )
        device_evals = {f"sparseae_torch_{name}": lambda: torch_objective(theta0)}
        if device != "cpu":
            device_floor = peers.five_products_torch(X, s2, device)
            device_evals[f"floor_f64_{name}"] = device_floor
        for key, fn in device_evals.items():
            row["eval_seconds"][key] = median_seconds(fn, args.repeats)
            print(f"  eval {key:>15}: {row['eval_seconds'][key] * 1e3:9.2f} ms", flush=True)
        runs.append((f"sparseae_auto_torch_{name}", torch_objective, auto, own_lbfgs))
    fits = {}
    for key, fun, maxcor, solver in runs:
        theta, cost, trace, seconds = solver(fun, theta0.copy(), w["iters"], maxcor)
        fits[key] = {"seconds": seconds, "final_cost": cost, "trace": trace}
        if solver is own_lbfgs:  # evaluations per iteration: what an iteration costs beyond one
            fits[key]["evaluations"] = own_lbfgs.n_evaluations
        print(f"  fit  {key:>15}: {seconds:8.2f} s, final cost {cost:.6f}", flush=True)
    target = fits["torch_autograd"]["final_cost"]
    for key, fit in fits.items():
        fit["seconds_to_torch_final_cost"] = time_to(fit["trace"], target)
        trace = fit.pop("trace")
        fit["iterations"] = len(trace)
        fit["seconds_per_iteration"] = fit["seconds"] / max(1, fit["iterations"])
        if len(trace) > 1:  # iterations 2 on: without the evaluation at θ0 and the first line search,
            # which a fit of (c)'s 10 iterations spreads over few (benchmarks/RESULTS.md, issue 26)
            fit["seconds_per_later_iteration"] = (trace[-1][0] - trace[0][0]) / (len(trace) - 1)
    if args.fit_rounds > 1:  # the whole fit against the peer, alternating, as a median of rounds
        speedups = []
        for _ in range(args.fit_rounds):  # sparseae as a user runs it: its own L-BFGS, memory "auto"
            peer = lbfgs(torch_fun, theta0.copy(), w["iters"], 10)
            mine = own_lbfgs(objective, theta0.copy(), w["iters"], auto)
            reached = time_to(mine[2], peer[1])
            speedups.append(peer[3] / reached if reached else None)
            print(f"  round: torch {peer[3]:.2f} s, sparseae to its cost {reached} s", flush=True)
        row["fit_speedup_rounds"] = speedups
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = peers.mlp_regressor(s2, w["lam"], w["iters"])
        t0 = time.perf_counter()
        mlp.fit(X, X)
        fits["sklearn_mlp_no_sparsity"] = {
            "seconds": time.perf_counter() - t0, "final_cost": float(mlp.loss_),
            "iterations": int(mlp.n_iter_), "seconds_to_torch_final_cost": None,
            "note": "different objective (no sparsity; sklearn's loss scaling)",
        }
    print(f"  fit  {'sklearn_mlp':>15}: {fits['sklearn_mlp_no_sparsity']['seconds']:8.2f} s",
          flush=True)
    row["fit"] = fits

    # Fresh objectives inside the measurement, so their buffers (and the float32 copy of a
    # float64 X) are counted. "given_f32_X": float32 with X already float32, as a user who
    # wants float32's memory passes it (X itself is not counted). "eval_": one evaluation
    # alone, without L-BFGS-B's float64 workspace.
    X32 = X.astype(np.float32)
    memory = {}
    memory["sparseae_f64"] = peak_memory(lambda: own_lbfgs(ours(X, w)[0], theta0.copy(), 3, 10))
    memory["sparseae_f32"] = peak_memory(lambda: own_lbfgs(ours(X, w, "float32")[0], theta0.copy(), 3, 10))
    memory["sparseae_f32_given_f32_X"] = peak_memory(
        lambda: own_lbfgs(ours(X32, w, "float32")[0], theta0.copy(), 3, 10))
    memory["numpy_notes"] = peak_memory(lambda: lbfgs(numpy_fun, theta0.copy(), 3))
    memory["eval_sparseae_f64"] = peak_memory(lambda: ours(X, w)[0](theta0))
    memory["eval_sparseae_f32_given_f32_X"] = peak_memory(lambda: ours(X32, w, "float32")[0](theta0))
    row["peak_memory_bytes_beyond_X"] = memory
    activations = m * (s2 + n) * 8
    row["activations_bytes_f64"] = activations
    print("  peak memory beyond X (x activations): " + ", ".join(
        f"{k} {v / activations:.2f}" for k, v in memory.items()), flush=True)
    return row


def lbfgs_memory_study(args):
    """Time to a fixed cost on (a) for several L-BFGS history sizes (minFunc keeps 100)."""
    w = workload("a", args.quick)
    objective, theta0 = ours(w["X"], w)
    out = {}
    results = {k: lbfgs(objective, theta0.copy(), w["iters"], maxcor=k) for k in (10, 30, 100)}
    target = max(cost for _, cost, _, _ in results.values())  # every setting reaches it
    for k, (_, cost, trace, seconds) in results.items():
        out[k] = {"final_cost": cost, "seconds": seconds, "seconds_to_common_cost": time_to(trace, target),
                  "common_cost": target}
        print(f"  maxcor {k:>3}: final {cost:.6f} in {seconds:.2f} s; "
              f"{target:.6f} reached at {out[k]['seconds_to_common_cost']:.2f} s", flush=True)
    return out


def torch_backend_available():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def machine():
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    blas = [{k: i.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
            for i in threadpool_info() if i.get("user_api") == "blas"]
    try:
        import torch

        torch_info = {"version": torch.__version__, "threads": torch.get_num_threads()}
    except ImportError:
        torch_info = None
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    return {"cpu": cpu, "cores": len(__import__("os").sched_getaffinity(0)), "blas": blas,
            "numpy": np.__version__, "torch": torch_info, "python": platform.python_version(),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "commit": commit}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="abc", help="any of a, b, c (abc)")
    parser.add_argument("--repeats", type=int, default=7, help="timed repetitions per eval (7)")
    parser.add_argument("--quick", action="store_true", help="fewer iterations, a smoke run")
    parser.add_argument("--fit-rounds", type=int, default=1,
                        help="whole fits of sparseae and the PyTorch peer, alternating, this many times (1)")
    parser.add_argument("--lbfgs-study", action="store_true", help="also time L-BFGS history sizes on (a)")
    parser.add_argument("--device", default="cpu",
                        help="PyTorch device for the sparseae-on-PyTorch rows: cpu, cuda, ... (cpu)")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results.json"))
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats = min(args.repeats, 3)
    result = {"machine": machine(), "workloads": []}
    print(json.dumps(result["machine"], indent=1))
    for name in args.workloads:
        result["workloads"].append(run_workload(name, args))
    if args.lbfgs_study:
        print("\n== L-BFGS history size on (a)")
        result["lbfgs_memory"] = lbfgs_memory_study(args)
    print_table(result)
    Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    print(f"\nwrote {args.json}")
    return 0


def later(fit, e):
    """The table's note on a fit's iterations 2 on (their time over the floor), or "" where not recorded."""
    seconds = fit.get("seconds_per_later_iteration")
    return "" if seconds is None else f"; iterations 2 on: {seconds / e['floor_f64']:.2f}"


def print_table(result):
    print("\n| workload | floor f64: NumPy's BLAS / PyTorch's (ms) | eval / floor: f64, f32 "
          "| L-BFGS iteration (memory auto) / floor f64: whole fit / iterations | fit speed-up over the peer, rounds |")
    print("|---|---|---|---|---|")
    for row in result["workloads"]:
        e, f = row["eval_seconds"], row["fit"]
        torch_floor = f"{e['floor_f64_torch'] * 1e3:.1f}" if "floor_f64_torch" in e else "not installed"
        rounds = ", ".join(f"{x:.2f}x" if x else "not reached" for x in row.get("fit_speedup_rounds", []))
        auto = f["sparseae_auto"]
        print(f"| ({row['workload']}) | {e['floor_f64_numpy'] * 1e3:.1f} / {torch_floor} "
              f"| {e['sparseae_f64'] / e['floor_f64']:.2f}, {e['sparseae_f32'] / e['floor_f32']:.2f} "
              f"| {auto['seconds_per_iteration'] / e['floor_f64']:.2f} "
              f"({auto['evaluations'] / auto['iterations']:.2f} evaluations an iteration{later(auto, e)}) "
              f"| {rounds or '-'} |")
    print("\n| workload | per eval: sparseae f64 / floor f64 | f32 / f64 | vs torch | vs numpy-notes "
          "| fit: torch / sparseae | sparseae cost | torch cost | time to torch's cost: torch / sparseae "
          "| same, sparseae auto L-BFGS memory | peak mem / activations |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in result["workloads"]:
        e, f = row["eval_seconds"], row["fit"]
        def ratio(key):
            t = f[key]["seconds_to_torch_final_cost"]
            return f"{f['torch_autograd']['seconds'] / t:.2f}x" if t else "not reached"

        ttc, ttc_auto = ratio("sparseae_f64"), ratio("sparseae_auto")
        print(f"| ({row['workload']}) {row['shape']} | {e['sparseae_f64'] / e['floor_f64']:.2f} "
              f"| {e['sparseae_f32'] / e['sparseae_f64']:.2f} | {e['torch_autograd'] / e['sparseae_f64']:.2f}x "
              f"| {e['numpy_notes'] / e['sparseae_f64']:.2f}x "
              f"| {f['torch_autograd']['seconds'] / f['sparseae_f64']['seconds']:.2f}x "
              f"| {f['sparseae_f64']['final_cost']:.6f} | {f['torch_autograd']['final_cost']:.6f} | {ttc} | {ttc_auto} "
              f"| {row['peak_memory_bytes_beyond_X']['sparseae_f64'] / row['activations_bytes_f64']:.2f} |")


if __name__ == "__main__":
    sys.exit(main())
