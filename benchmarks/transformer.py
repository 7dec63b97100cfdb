"""Sparse autoencoders on a real transformer's activations against SAELens (issue 24 item 5).

    python benchmarks/transformer.py [--passages 2000] [--widths 3072,16384] [--epochs 1] [--batch 4096]

All-MiniLM-L6-v2 (bundled, offline) after block 3 over the first --passages passages of the
built-in corpus (:func:`sparseae.datasets.text_corpus`), every token but [CLS]/[SEP]; the last
10 % of the tokens held out. At each width, TopK and BatchTopK with k = 32 (--architectures),
trained by sparseae (Adam, float32, TopK's sparse-code pass 2 where it applies) and by SAELens's
own trainer (``SAETrainer``, its TopK and BatchTopK training SAEs, float32, CPU) on the same rows,
the same minibatches of --batch rows and the same number of examples seen, in one process:
samples per second of the fit, held-out FVU, L0, dead units, and the spliced fidelity
(:func:`sparseae.spliced_fidelity`) on the 64 passages that follow
the training ones. SAELens at each of --saelens-steps (its default 3e-4, and sparseae's 0.004),
each row reported. JumpReLU (``jumprelu`` in --architectures): sparseae at each β of
--jumprelu-betas and SAELens at each of --saelens-betas (its L0 coefficient 2β: its squared
error has no 1/2), thresholds from 0.001 with bandwidth 0.05 in both; then sparseae's FVU at each
SAELens row's L0, interpolated linearly in log L0 between the two sparseae β whose L0 bracket
it, and SAELens's at each sparseae row's L0 the same way. Writes benchmarks/transformer.json;
prints a Markdown table.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TQDM_DISABLE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from architectures import at_equal_l0, fit_saelens, fit_sparseae  # noqa: E402
from run import ROOT, machine  # noqa: E402

import sparseae  # noqa: E402
from sparseae.datasets import text_corpus, transformer_activations  # noqa: E402
from sparseae.shards import ShardRows  # noqa: E402


class Inference:
    """SAELens's inference SAE as sparseae's spliced_fidelity takes an autoencoder."""

    def __init__(self, sae, width):
        self.sae, self.n_features_in_ = sae, width

    def reconstruct(self, X):
        import torch

        with torch.no_grad():
            x = torch.tensor(np.asarray(X), dtype=torch.float32)
            return self.sae.decode(self.sae.encode(x)).double().numpy()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=2000)
    parser.add_argument("--widths", default="3072,16384")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--k", type=int, default=32)
    parser.add_argument("--architectures", default="topk,batchtopk,jumprelu")
    parser.add_argument("--saelens-steps", default="3e-4,4e-3")
    parser.add_argument("--jumprelu-betas", default="0.003,0.01,0.03")
    parser.add_argument("--saelens-betas", default="0.01")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "transformer.json"))
    args = parser.parse_args(argv)
    passages = text_corpus()
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        out = transformer_activations(passages[: args.passages], layer=3, out=Path(folder) / "acts", verbose=0)
        seconds_activations = time.perf_counter() - start
        X = np.asarray(ShardRows(out), dtype=np.float32)
    cut = int(0.9 * len(X))
    train, test = X[:cut], X[cut:]
    spliced_texts = passages[args.passages : args.passages + 64]
    rows = []
    steps = [float(lr) for lr in args.saelens_steps.split(",")]
    for width, architecture in ((int(w), a) for w in args.widths.split(",") for a in args.architectures.split(",")):
        runs = []  # (library, setting, sparseae parameters or SAELens's (parameters, step))
        if architecture == "jumprelu":
            for beta in (float(b) for b in args.jumprelu_betas.split(",")):
                runs.append(("sparseae", f"beta={beta:g}", dict(sparsity="jumprelu", sparsity_weight=beta,
                                                                 jumprelu_bandwidth=0.05, solver="adam")))
            for beta in (float(b) for b in args.saelens_betas.split(",")):
                theirs = dict(l0_coefficient=2 * beta, jumprelu_bandwidth=0.05, jumprelu_init_threshold=1e-3)
                runs += [("SAELens", f"beta={beta:g}, lr {lr:g}", (theirs, lr)) for lr in steps]
        else:
            runs.append(("sparseae", f"k={args.k}", dict(sparsity=architecture, k=args.k, solver="adam")))
            runs += [("SAELens", f"k={args.k}, lr {lr:g}", (dict(k=args.k), lr)) for lr in steps]
        for library, setting, params in runs:
            keep = {}
            if library == "sparseae":
                fvu, l0, dead, seconds = fit_sparseae(train, test, width, params, args.epochs, batch=args.batch,
                                                      keep=keep)
                model = keep["model"]
            else:
                fvu, l0, dead, seconds = fit_saelens(train, test, width, architecture, params[0], args.epochs,
                                                     params[1], batch=args.batch, keep=keep)
                model = Inference(keep["model"], X.shape[1])
            fidelity = sparseae.spliced_fidelity(model, spliced_texts, layer=3)
            seen = args.epochs * (len(train) // args.batch) * args.batch
            rows.append({"width": width, "architecture": architecture, "library": library, "setting": setting,
                         "samples_per_second": seen / seconds, "seconds": seconds,
                         "fvu": fvu, "explained_variance": 1 - fvu, "l0": l0, "dead": dead,
                         "fraction_recovered": fidelity["fraction_recovered"],
                         "spliced_cosine": fidelity["spliced"]["cosine"]})
            print(json.dumps(rows[-1]), flush=True)
    record = {"machine": machine(), "tokens": len(X), "train": len(train), "test": len(test),
              "seconds_activations": seconds_activations, "k": args.k, "batch": args.batch, "epochs": args.epochs,
              "rows": rows}
    Path(args.json).write_text(json.dumps(record, indent=1) + "\n")
    print("| width | architecture | library | setting | samples/s | held-out explained variance | L0 | dead | "
          "fraction recovered | spliced cosine |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['width']} | {r['architecture']} | {r['library']} | {r['setting']} | "
              f"{r['samples_per_second']:.0f} | {r['explained_variance']:.3f} | "
              f"{r['l0']:.1f} | {r['dead']} | {r['fraction_recovered']:.3f} | {r['spliced_cosine']:.3f} |")
    for width in sorted({r["width"] for r in rows}):
        for theirs, fvu in at_equal_l0([r for r in rows if r["width"] == width], "jumprelu"):
            said = "outside sparseae's L0 range" if fvu is None else f"sparseae {1 - fvu:.3f}"
            print(f"JumpReLU, width {width}, at SAELens's L0 {theirs['l0']:.1f} ({theirs['setting']}): explained "
                  f"variance SAELens {1 - theirs['fvu']:.3f}, {said}")
        for ours, fvu in at_equal_l0([r for r in rows if r["width"] == width], "jumprelu", reverse=True):
            said = "outside SAELens's L0 range" if fvu is None else f"SAELens {1 - fvu:.3f}"
            print(f"JumpReLU, width {width}, at sparseae's L0 {ours['l0']:.1f} ({ours['setting']}): explained "
                  f"variance sparseae {1 - ours['fvu']:.3f}, {said}")


if __name__ == "__main__":
    main()
