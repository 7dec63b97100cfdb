"""JumpReLU against SAELens with both libraries' starts tuned on one grid (issue 23 item 8).

``jumprelu_seeds.py`` compares sparseae's defaults with SAELens's: on MNIST sparseae's defaults
are about 1 % above SAELens at equal L0, while on the patches they are far below. Both libraries
have the same knob for where the weights start, the decoder columns' norm (sparseae's
``decoder_init_norm``, SAELens's ``decoder_init_norm``, 0.3 and 0.1 by default), and the best
value differs by data. Here each library is trained at each norm of one grid, so that each can
be compared at its best start, as it is at its best step: SAELens at norms 0.1, 0.2 and 0.3 (its
step 0.004, its L0 coefficient 2 · 0.01, one point each); sparseae at the same norms (and at 0.1
with the encoder reading x − b2, SAELens's ``apply_b_dec_to_input``), each over seven β for a
curve of FVU against L0. For every SAELens point, each sparseae start's FVU at that L0 (its seeds'
curves, interpolated linearly in log L0, averaged) and the paired difference over seeds. Same data,
width, bandwidth (0.05), minibatches (100), epochs (10) and float32 as ``architectures.py`` (since
307d90c sparseae's Adam keeps θ and its moments in float32 there, as SAELens's trainer does).

    python benchmarks/jumprelu_starts.py [--datasets mnist,natural] [--seeds 5] [--width N]

Needs sae-lens (and PyTorch). Writes ``benchmarks/jumprelu_starts.json``.
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

NORMS = (0.1, 0.2, 0.3)
OURS = {"defaults (norm 0.3)": {}, "norm 0.2": dict(decoder_init_norm=0.2), "norm 0.1": dict(decoder_init_norm=0.1),
        "norm 0.1, x - b2": dict(decoder_init_norm=0.1, center_encoder=True)}
BETAS = {"mnist": (0.005, 0.0075, 0.01, 0.0125, 0.015, 0.02, 0.03),
         "natural": (0.001, 0.0015, 0.002, 0.003, 0.004, 0.006, 0.01)}
THEIR_BETA, EPOCHS = 0.01, 10


def fit_all(name, train, test, seeds, width=None):
    width, rows = width or architectures.WIDTH[name], []
    for seed in seeds:
        for norm in NORMS:
            theirs = dict(l0_coefficient=2 * THEIR_BETA, jumprelu_bandwidth=0.05, jumprelu_init_threshold=1e-3,
                          decoder_init_norm=norm)
            fvu, l0, dead, seconds = architectures.fit_saelens(train, test, width, "jumprelu", theirs, EPOCHS, 4e-3,
                                                               seed=seed)
            rows.append(dict(library="SAELens", start=f"norm {norm}", seed=seed, fvu=fvu, l0=l0, dead=dead,
                             seconds=seconds))
            print(f"{name} SAELens norm {norm} seed {seed}: FVU {fvu:.4f} at L0 {l0:.1f}, {dead} dead", flush=True)
        for start, extra in OURS.items():
            for beta in BETAS[name]:
                ours = dict(sparsity="jumprelu", sparsity_weight=beta, jumprelu_bandwidth=0.05, solver="adam", **extra)
                fvu, l0, dead, seconds = architectures.fit_sparseae(train, test, width, ours, EPOCHS, seed=seed)
                rows.append(dict(library="sparseae", start=start, beta=beta, seed=seed, fvu=fvu, l0=l0, dead=dead,
                                 seconds=seconds))
            print(f"{name} sparseae {start} seed {seed}: done", flush=True)
    return rows


def compare(rows):
    """For each SAELens start and each sparseae start: sparseae's FVU at each SAELens seed's L0
    (the mean over sparseae's seeds whose curve reaches it) against SAELens's, paired by seed."""
    curves = {}
    for r in rows:
        if r["library"] == "sparseae":
            curves.setdefault(r["start"], {}).setdefault(r["seed"], []).append((np.log(r["l0"]), r["fvu"], r["dead"]))
    table = []
    for theirs in sorted({r["start"] for r in rows if r["library"] == "SAELens"}):
        points = [r for r in rows if r["library"] == "SAELens" and r["start"] == theirs]
        for ours, by_seed in curves.items():
            pairs = []
            for point in points:
                at = [np.interp(np.log(point["l0"]), [p[0] for p in c], [p[1] for p in c])
                      for c in map(sorted, by_seed.values()) if c[0][0] <= np.log(point["l0"]) <= c[-1][0]]
                if at:
                    pairs.append((point["fvu"], float(np.mean(at))))
            if not pairs:
                continue
            theirs_fvu, ours_fvu = np.array(pairs).T
            differences = ours_fvu - theirs_fvu
            table.append(dict(saelens_start=theirs, sparseae_start=ours, points=len(pairs),
                              saelens_fvu=float(theirs_fvu.mean()),
                              saelens_l0=float(np.mean([p["l0"] for p in points])),
                              saelens_dead=[min(p["dead"] for p in points), max(p["dead"] for p in points)],
                              sparseae_fvu=float(ours_fvu.mean()),
                              relative=float(ours_fvu.mean() / theirs_fvu.mean() - 1),
                              paired_mean=float(differences.mean()),
                              paired_standard_error=float(differences.std(ddof=1) / np.sqrt(len(differences)))
                              if len(differences) > 1 else None,
                              sparseae_dead=[min(p[2] for c in by_seed.values() for p in c),
                                             max(p[2] for c in by_seed.values() for p in c)]))
    return table


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="mnist,natural")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--width", type=int, default=None,
                        help="hidden units for every dataset (default: architectures.py's, 256 MNIST, 128 patches)")
    parser.add_argument("--json", default=str(Path(__file__).with_name("jumprelu_starts.json")))
    args = parser.parse_args()
    result = {"machine": machine(), "width": args.width, "datasets": {}}
    for name, (X, n_train, _, _) in datasets(args.datasets.split(",")).items():
        train, test = X[:n_train], X[n_train:n_train + 5000]
        rows = fit_all(name, train, test, range(args.seeds), args.width)
        table = compare(rows)
        print(f"\n{name}: | SAELens start | its FVU at L0 (dead) | sparseae start | sparseae there | paired |")
        for t in table:
            print(f"| {t['saelens_start']} | {t['saelens_fvu']:.4f} at {t['saelens_l0']:.1f} ({t['saelens_dead']}) | "
                  f"{t['sparseae_start']} | {t['sparseae_fvu']:.4f} ({t['relative'] * 100:+.1f} %) | "
                  f"{t['paired_mean']:+.4f} ± {t['paired_standard_error'] or 0:.4f} ({t['points']} seeds) |")
        result["datasets"][name] = dict(rows=rows, table=table)
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
