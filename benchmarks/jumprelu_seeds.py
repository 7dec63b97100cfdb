"""JumpReLU against SAELens over seeds: sparseae's FVU at each SAELens run's L0, seed by seed.

One run per library at one setting says little when the libraries' seeds spread by more than
their difference (SAELens's JumpReLU on MNIST: held-out FVU 0.099-0.109 over seeds at the same
β). For each seed s in ``--seeds``, SAELens's JumpReLU trainer (its step of 3e-4 and of 0.004,
the better kept: 0.004 every time so far) at ``l0_coefficient`` 2β (as in ``architectures.py``)
gives an (L0, FVU) point; sparseae's defaults at seed s over four β give a curve of FVU against
L0; sparseae's FVU at each SAELens point is its curves' mean there (linear in log L0, as
``architectures.at_equal_l0``). Both at the data, width, bandwidth (0.05), minibatches (100) and
epochs (10) of ``architectures.py``, float32, on the CPU.

    python benchmarks/jumprelu_seeds.py [--datasets mnist] [--seeds 10]

Needs sae-lens (and PyTorch). Writes ``benchmarks/jumprelu_seeds.json``.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import architectures  # noqa: E402
from run import machine  # noqa: E402
from sparsity import datasets  # noqa: E402

BETAS = {"natural": (0.002, 0.003, 0.004, 0.006), "mnist": (0.01, 0.0125, 0.015, 0.02)}
THEIR_BETA = 0.01
EPOCHS = 10


def fit_both(name, train, test, seeds):
    width, rows = architectures.WIDTH[name], []
    theirs = dict(l0_coefficient=2 * THEIR_BETA, jumprelu_bandwidth=0.05, jumprelu_init_threshold=1e-3)
    for seed in seeds:
        for lr in (3e-4, 4e-3):
            fvu, l0, dead, seconds = architectures.fit_saelens(train, test, width, "jumprelu", theirs, EPOCHS, lr,
                                                               seed=seed)
            rows.append(dict(dataset=name, library="SAELens", seed=seed, lr=lr, fvu=fvu, l0=l0, dead=dead,
                             seconds=seconds))
            print(f"{name} SAELens seed {seed} step {lr}: FVU {fvu:.4f} at L0 {l0:.1f}, {dead} dead", flush=True)
        for beta in BETAS[name]:
            ours = dict(sparsity="jumprelu", sparsity_weight=beta, jumprelu_bandwidth=0.05, solver="adam")
            fvu, l0, dead, seconds = architectures.fit_sparseae(train, test, width, ours, EPOCHS, seed=seed)
            rows.append(dict(dataset=name, library="sparseae", seed=seed, beta=beta, fvu=fvu, l0=l0, dead=dead,
                             seconds=seconds))
            print(f"{name} sparseae seed {seed} beta {beta}: FVU {fvu:.4f} at L0 {l0:.1f}, {dead} dead", flush=True)
    return rows


def compare(rows):
    """Per SAELens seed (its better step): its FVU and L0, and sparseae's mean FVU there."""
    theirs = {}
    for r in rows:
        if r["library"] == "SAELens" and (r["seed"] not in theirs or r["fvu"] < theirs[r["seed"]]["fvu"]):
            theirs[r["seed"]] = r
    curves = {}
    for r in rows:
        if r["library"] == "sparseae":
            curves.setdefault(r["seed"], []).append((np.log(r["l0"]), r["fvu"]))
    out = []
    for seed, r in sorted(theirs.items()):
        at = [np.interp(np.log(r["l0"]), *zip(*sorted(points))) for points in curves.values()]
        out.append(dict(seed=seed, lr=r["lr"], l0=r["l0"], saelens_fvu=r["fvu"], saelens_dead=r["dead"],
                        sparseae_fvu=float(np.mean(at))))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="mnist")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--json", default=str(Path(__file__).with_name("jumprelu_seeds.json")))
    args = parser.parse_args()
    result = {"machine": machine(), "datasets": {}}
    for name, (X, n_train, _, _) in datasets(args.datasets.split(",")).items():
        train, test = X[:n_train], X[n_train:n_train + 5000]
        rows = fit_both(name, train, test, range(args.seeds))
        table = compare(rows)
        differences = np.array([t["sparseae_fvu"] - t["saelens_fvu"] for t in table])
        theirs = np.array([t["saelens_fvu"] for t in table])
        ours = np.array([t["sparseae_fvu"] for t in table])
        summary = dict(saelens_mean=float(theirs.mean()), sparseae_mean=float(ours.mean()),
                       relative=float(ours.mean() / theirs.mean() - 1),
                       paired_mean=float(differences.mean()),
                       paired_standard_error=float(differences.std(ddof=1) / np.sqrt(len(differences))),
                       sparseae_below=int((differences <= 0).sum()), seeds=len(differences))
        for t in table:
            print(f"{name} seed {t['seed']}: SAELens {t['saelens_fvu']:.4f} at L0 {t['l0']:.1f} "
                  f"({t['saelens_dead']} dead); sparseae there {t['sparseae_fvu']:.4f} "
                  f"({(t['sparseae_fvu'] / t['saelens_fvu'] - 1) * 100:+.1f} %)")
        print(f"{name}: SAELens mean {summary['saelens_mean']:.4f}, sparseae {summary['sparseae_mean']:.4f} "
              f"({summary['relative'] * 100:+.2f} %); paired difference {summary['paired_mean']:+.4f} "
              f"± {summary['paired_standard_error']:.4f} (standard error); sparseae at or below in "
              f"{summary['sparseae_below']} of {summary['seeds']}")
        result["datasets"][name] = dict(rows=rows, table=table, summary=summary)
    Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
