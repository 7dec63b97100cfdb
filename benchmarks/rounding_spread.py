"""How far the default run's final cost moves when its arithmetic changes in the last bit.

The default run (``sparseae train``: 10,000 patches of the built-in images, 64-25-64, the notes'
settings, 400 iterations of L-BFGS) stops at ``max_iter``, not at a minimum, so its final cost
is a point on a trajectory; this script measures how much that point depends on rounding. It fits
the default model as ``sparseae train`` does, then the same objective from the same θ0 with one
weight moved by one ulp (``np.nextafter``), ``--perturbations`` times (a different weight each
time), and reports the spread of the final costs. Any change that moves one product or one exp
by an ulp (another BLAS, another SIMD path, a fused pass) perturbs the run at least as much as
this, so the spread is what "the default run's cost unchanged" can mean at 400 iterations.

    python benchmarks/rounding_spread.py [--perturbations 10] [--out benchmarks/rounding_spread.json]

About 2.5 s a fit on a 2-core machine. Writes JSON with the machine.
"""

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import sparseae
from sparseae.datasets import load_training_data
from sparseae.engine.parallel import single_threaded_blas
from sparseae.fitting import auto_lbfgs_memory

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import machine  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--perturbations", type=int, default=10)
    parser.add_argument("--out", default=str(Path(__file__).with_name("rounding_spread.json")))
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # max_iter is the default run's stopping rule

    X, _ = load_training_data("natural", random_state=0)  # as `sparseae train`
    model = sparseae.SparseAutoencoder(random_state=0).fit(X)
    default_cost = float(model.loss_curve_[-1])
    layers = [X.shape[1], model.n_hidden, X.shape[1]]
    objective = sparseae.SparseObjective(layers, X, weight_decay=model.weight_decay,
                                         sparsity_target=model.sparsity_target,
                                         sparsity_weight=model.sparsity_weight)
    theta0 = objective.layout.initial_theta(0)
    memory = auto_lbfgs_memory(X.shape[0], objective.layout)

    def fit(theta):
        with single_threaded_blas():
            return sparseae.minimize(objective, theta, solver="lbfgs", max_iter=400, tol=0.0,
                                     lbfgs_memory=memory, vectors=objective.vectors).cost

    same = fit(theta0.copy())
    print(f"sparseae train: final cost {default_cost!r}; the same objective from the same θ0: {same!r}"
          f" ({'the same bits' if same == default_cost else 'NOT the same: the script does not reproduce the run'})")
    rng, rows = np.random.default_rng(0), []
    for k in range(args.perturbations):
        theta, i = theta0.copy(), int(rng.integers(theta0.size))
        theta[i] = np.nextafter(theta[i], np.inf)
        t = time.perf_counter()
        cost = fit(theta)
        rows.append({"weight": i, "cost": cost, "change": cost - same, "seconds": time.perf_counter() - t})
        print(f"θ0[{i}] one ulp up: final cost {cost!r} ({cost - same:+.2e})", flush=True)
    changes = np.array([r["change"] for r in rows])
    summary = {"machine": machine(), "default_run_cost": default_cost, "reproduced": same == default_cost,
               "perturbed": rows, "max_abs_change": float(np.abs(changes).max()) if rows else None,
               "std_of_costs": float(changes.std(ddof=1)) if len(rows) > 1 else None}
    if len(rows) > 1:
        print(f"over {len(rows)} one-ulp starts: largest change {summary['max_abs_change']:.2e}, "
              f"standard deviation {summary['std_of_costs']:.2e}")
    Path(args.out).write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    main()
