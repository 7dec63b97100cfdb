"""KL, L1 and TopK side by side: FVU (centred) against L0 on held-out rows, over a range of each
penalty's setting, on the built-in natural patches and on MNIST digits, with their dead units.

    python benchmarks/sparsity.py [--quick] [--datasets natural,mnist]

Natural: 10,000 normalised 8x8 patches for training and 5,000 others held out, 64 hidden units.
MNIST: the t10k digits, 5,000 for training and 5,000 held out, 196 hidden units (the MNIST files
beside the project; skipped when absent). KL: sigmoid units (the notes'), ρ swept, β = 3, L-BFGS.
L1: ReLU units with a unit-norm decoder, linear output, β swept, L-BFGS with dead units resampled
every 50 iterations. TopK: ReLU units, linear output, k swept, Adam (L-BFGS's line search stops
early on TopK's piecewise objective) with dead units resampled every 5 epochs. λ = 1e-4
everywhere (3e-3 on MNIST for KL, UFLDL's). The dead-unit table also gives L1 and TopK without
resampling. Writes benchmarks/sparsity.json, benchmarks/sparsity.png (the FVU-L0 curves) and
benchmarks/sparsity_tiles.png (each penalty's features at one setting); prints Markdown tables.
"""

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import MNIST, ROOT, machine  # noqa: E402

import sparseae  # noqa: E402
from sparseae.datasets import natural_images, normalize_patches, sample_patches  # noqa: E402

OUT = ROOT / "benchmarks"


def datasets(names):
    found = {}
    if "natural" in names:
        images = natural_images()
        found["natural"] = (normalize_patches(sample_patches(images, 15000, 8, random_state=0)), 10000, 64,
                            (8, 8))
    if "mnist" in names and (MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        X, _ = sparseae.datasets.load_mnist(MNIST)
        found["mnist"] = (X[np.random.default_rng(0).permutation(len(X))], 5000, 196, (28, 28))
    return found


def settings(name, quick):
    """(penalty, label, parameters) of each fit."""
    kl_rho = [0.01, 0.05, 0.1, 0.2] if not quick else [0.05]
    l1_beta = [0.03, 0.1, 0.3, 1.0] if not quick else [0.1]
    top_k = [1, 3, 8, 16] if not quick else [3]
    decay = 3e-3 if name == "mnist" else 1e-4
    relu = dict(activation="relu", output_activation="linear", weight_decay=1e-4)
    runs = [("kl", f"rho={r}", dict(sparsity_target=r, sparsity_weight=3.0, weight_decay=decay)) for r in kl_rho]
    runs += [("l1", f"beta={b}", dict(sparsity="l1", sparsity_weight=b, decoder_norm="unit", resample_dead=50,
                                      **relu)) for b in l1_beta]
    runs += [("topk", f"k={k}", dict(sparsity="topk", k=k, solver="adam", resample_dead=5, **relu)) for k in top_k]
    return runs


def fit(X, n_hidden, params, max_iter):
    model = sparseae.SparseAutoencoder(n_hidden, random_state=0, max_iter=max_iter, **params)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X)
    return model, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one setting per penalty, few iterations")
    parser.add_argument("--datasets", default="natural,mnist")
    args = parser.parse_args(argv)
    results = {"machine": machine(), "datasets": {}}
    tiles = {}
    for name, (X, m, n_hidden, shape) in datasets(args.datasets.split(",")).items():
        train, held_out = X[:m], X[m:]
        rows = []
        for penalty, label, params in settings(name, args.quick):
            max_iter = 20 if args.quick else "auto"
            variants = [params] if penalty == "kl" else [params, {**params, "resample_dead": 0}]
            for variant in variants:
                model, seconds = fit(train, n_hidden, variant, max_iter)
                metrics = sparseae.reconstruction_metrics(model, held_out)
                row = {"penalty": penalty, "setting": label, "resampled": bool(variant.get("resample_dead")),
                       "fvu": metrics["fvu"], "l0": metrics["l0"], "dead": len(metrics["dead_units"]),
                       "dense": len(metrics["dense_units"]), "n_resampled": model.n_resampled_,
                       "seconds": seconds}
                rows.append(row)
                print(f"{name} {penalty} {label} resampled={row['resampled']}: FVU {row['fvu']:.4f}, L0 "
                      f"{row['l0']:.2f}, dead {row['dead']}, {seconds:.1f} s", flush=True)
                if row["resampled"] or penalty == "kl":
                    tiles.setdefault((name, penalty), (label, model.components_, shape))
        results["datasets"][name] = {"n_train": m, "n_held_out": len(held_out), "n_hidden": n_hidden, "rows": rows}
    if not args.quick:
        (OUT / "sparsity.json").write_text(json.dumps(results, indent=2) + "\n")
        plot(results, OUT / "sparsity.png")
        plot_tiles(tiles, OUT / "sparsity_tiles.png")
    print(table(results))


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results["datasets"])
    fig, axes = plt.subplots(1, len(names), figsize=(5.5 * len(names), 4), squeeze=False)
    for ax, name in zip(axes[0], names):
        rows = results["datasets"][name]["rows"]
        for penalty, marker in (("kl", "o"), ("l1", "s"), ("topk", "^")):
            chosen = sorted((r for r in rows if r["penalty"] == penalty and (penalty == "kl" or r["resampled"])),
                            key=lambda r: r["l0"])
            ax.plot([r["l0"] for r in chosen], [r["fvu"] for r in chosen], marker=marker, label=penalty)
            for r in chosen:
                ax.annotate(r["setting"], (r["l0"], r["fvu"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xlabel("L0: units active per held-out example")
        ax.set_ylabel("FVU on held-out rows (centred)")
        ax.set_title(name)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_tiles(tiles, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sparseae.visualize import feature_tiles

    fig, axes = plt.subplots(1, len(tiles), figsize=(3.2 * len(tiles), 3.6), squeeze=False)
    for ax, ((name, penalty), (label, W, shape)) in zip(axes[0], tiles.items()):
        ax.imshow(feature_tiles(W[:64], shape), cmap="gray", interpolation="nearest")
        ax.set_title(f"{name}: {penalty} {label}", fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def table(results):
    m = results["machine"]
    lines = [f"Machine: {m['cpu']}, {m['cores']} cores, NumPy {m['numpy']}, commit {m['commit']}"]
    for name, block in results["datasets"].items():
        lines += ["", f"**{name}** ({block['n_train']} training rows, {block['n_held_out']} held out, "
                      f"{block['n_hidden']} hidden units)", "",
                  "| penalty | setting | dead units resampled | FVU | L0 | dead | dense | s |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in block["rows"]:
            resampled = "—" if r["penalty"] == "kl" else ("yes" if r["resampled"] else "no")
            lines.append(f"| {r['penalty']} | {r['setting']} | {resampled} | {r['fvu']:.4f} | {r['l0']:.2f} | "
                         f"{r['dead']} | {r['dense']} | {r['seconds']:.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
