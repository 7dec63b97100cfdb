"""Today's architectures side by side (issue 23 item 8): held-out FVU (centred) against L0 for L1,
TopK, BatchTopK, JumpReLU and Matryoshka-BatchTopK, each trained by sparseae and by SAELens's own
trainer (``SAETrainer``) on the same rows, width, k and number of examples seen, in one process;
with dead units (active on no held-out row) and wall time.

    python benchmarks/architectures.py [--datasets natural,mnist] [--epochs 10] [--architectures JumpReLU,...]
                                       [--optimizer-dtype float32]

Data as benchmarks/sparsity.py: natural, 10,000 normalised 8x8 patches for training and 5,000
held out; MNIST, 5,000 t10k digits for training and 5,000 held out. 128 units on the patches, 256
on the digits, ReLU units and the linear decoder, float32 in both libraries, minibatches of 100
rows, the same epochs; sparseae's Adam keeps θ and its moments in float32 as SAELens's trainer
does (``optimizer_dtype="float32"``; ``--optimizer-dtype float64`` for its float64 copy of θ).
sparseae: Adam at its defaults (L1 also with L-BFGS, its best solver there, 200 iterations,
unit-norm decoder), TopK and BatchTopK with dead units resampled every 5
epochs (and, beside it, with AuxK instead, k_aux = d/2 and weight 1/32, and with neither), the
"auto" start. SAELens (installed version printed): its trainer at its default step
(3e-4) and at sparseae's (0.004), the better of the two reported; its L1 coefficient, L0
coefficient and k set to the same penalty (its squared error has no 1/2: coefficients 2β); its
inference SAE (``save_inference_model``, then ``SAE.load_from_disk``) encodes the held-out rows;
its TopK SAEs keep their defaults (AuxK at weight 1, k_aux = d/2, dead after 1,000 steps, and
activations rescaled by the decoder norms). L1: sparseae over seven β (0.05 to 0.3), SAELens at
two (0.1 and 0.3). JumpReLU: sparseae over seven β (0.0003 to 0.1), SAELens at two (its L0
coefficient 2β), every threshold from 0.001 with bandwidth 0.05 in both; sparseae at its default
start (decoder norm 0.3) and at norms 0.1 and 0.2 (as SAELens at two steps: the best start
depends on the data). After each dataset's
table, for L1 and JumpReLU (each start), sparseae's FVU at each SAELens row's L0, interpolated (linear in
log L0) between the two sparseae β whose L0 bracket it.
Each dataset starts with an untimed fit of each library. Prints Markdown tables; writes
benchmarks/architectures.json.
"""

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

os.environ.setdefault("TQDM_DISABLE", "1")  # SAELens's trainer draws a progress bar per fit
sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import ROOT, machine  # noqa: E402
from sparsity import datasets  # noqa: E402

import sparseae  # noqa: E402

WIDTH = {"natural": 128, "mnist": 256}
BATCH = 100
#: JumpReLU's tied starts (``decoder_init_norm``) fitted beside the default 0.3, the best start
#: depending on the data (benchmarks/RESULTS.md, "JumpReLU's start at other widths"), as SAELens is
#: fitted at two steps.
OTHER_STARTS = (0.1, 0.2)
#: sparseae's Adam's θ and moments (``--optimizer-dtype``).
OPTIMIZER_DTYPE = {"dtype": "float32"}


def settings():
    """(architecture, label, sparseae parameters, SAELens config class name, its parameters)."""
    runs = []
    # sparseae over more β than SAELens, for its FVU at SAELens's L0 (as JumpReLU below)
    for beta in (0.05, 0.07, 0.1, 0.13, 0.16, 0.2, 0.3):
        theirs = beta in (0.1, 0.3)
        runs.append(("L1", f"beta={beta}", dict(sparsity="l1", sparsity_weight=beta, decoder_norm="unit",
                                                solver="adam"), "standard" if theirs else None,
                     dict(l1_coefficient=2 * beta)))
    for k in (8, 32):
        for name, penalty, cls in (("TopK", "topk", "topk"), ("BatchTopK", "batchtopk", "batchtopk")):
            runs.append((name, f"k={k}", dict(sparsity=penalty, k=k, solver="adam", resample_dead=5), cls, dict(k=k)))
        runs.append(("Matryoshka-BatchTopK", f"k={k}", dict(sparsity="batchtopk", k=k, solver="adam"),
                     "matryoshka", dict(k=k)))
    # sparseae's defaults otherwise (step, start, thresholds stepped in value)
    for beta in (3e-4, 1e-3, 3e-3, 1e-2, 2e-2, 3e-2, 1e-1):
        theirs = beta in (1e-3, 1e-2)
        runs.append(("JumpReLU", f"beta={beta}", dict(sparsity="jumprelu", sparsity_weight=beta,
                                                      jumprelu_bandwidth=0.05, solver="adam"),
                     "jumprelu" if theirs else None,
                     dict(l0_coefficient=2 * beta, jumprelu_bandwidth=0.05, jumprelu_init_threshold=1e-3)))
    return runs


def at_equal_l0(rows, architecture, reverse=False, library="sparseae"):
    """``[(SAELens row, sparseae's FVU at its L0 or None)]``: sparseae's FVU (its rows labelled
    ``library``) interpolated linearly in log L0 between its two settings whose L0 bracket the
    SAELens row's. ``reverse``: the other way, ``[(sparseae row, SAELens's FVU at its L0 or None)]``."""
    mine = [r for r in rows if r["architecture"] == architecture]
    ours = [r for r in mine if r["library"] == library]
    theirs = [r for r in mine if r["library"].startswith("SAELens")]
    if reverse:
        ours, theirs = theirs, ours
    ours = sorted((r["l0"], r["fvu"]) for r in ours)
    out = []
    for row in theirs:
        fvu = None
        for (l0a, fa), (l0b, fb) in zip(ours, ours[1:]):
            if l0a <= row["l0"] <= l0b and l0a < l0b:
                w = (np.log(row["l0"]) - np.log(l0a)) / (np.log(l0b) - np.log(l0a))
                fvu = fa + w * (fb - fa)
        out.append((row, fvu))
    return out


def held_out(H, R, X):
    fvu = float(((R - X) ** 2).sum() / ((X - X.mean(axis=0)) ** 2).sum())
    return fvu, float((H > 0).sum(axis=1).mean()), int(((H > 0).sum(axis=0) == 0).sum())


def fit_sparseae(train, test, width, params, epochs, matryoshka=None, batch=BATCH, keep=None, seed=0):
    """Held-out (FVU, L0, dead) and seconds; the fitted model into ``keep["model"]`` when given."""
    params = dict(params)
    if params.get("solver") == "adam":
        params["max_iter"] = epochs
        params.setdefault("optimizer_dtype", OPTIMIZER_DTYPE["dtype"])
    model = sparseae.SparseAutoencoder(width, activation="relu", output_activation="linear", weight_decay=0.0,
                                       dtype="float32", batch_size=batch, random_state=seed, matryoshka=matryoshka,
                                       **params)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(train)
    seconds = time.perf_counter() - start
    if keep is not None:
        keep["model"] = model
    H = model.transform(test)
    return (*held_out(H, model.inverse_transform(H), test), seconds)


def fit_saelens(train, test, width, kind, params, epochs, lr, matryoshka=None, batch=BATCH, keep=None, seed=0):
    """As :func:`fit_sparseae`; ``keep["model"]`` is SAELens's inference SAE; ``seed`` seeds its
    initialisation and the minibatches' order."""
    import torch
    from sae_lens import SAE, LoggingConfig
    from sae_lens.saes.batchtopk_sae import BatchTopKTrainingSAE, BatchTopKTrainingSAEConfig
    from sae_lens.saes.jumprelu_sae import JumpReLUTrainingSAE, JumpReLUTrainingSAEConfig
    from sae_lens.saes.matryoshka_batchtopk_sae import (
        MatryoshkaBatchTopKTrainingSAE,
        MatryoshkaBatchTopKTrainingSAEConfig,
    )
    from sae_lens.saes.standard_sae import StandardTrainingSAE, StandardTrainingSAEConfig
    from sae_lens.saes.topk_sae import TopKTrainingSAE, TopKTrainingSAEConfig
    from sae_lens.training.sae_trainer import SAETrainer, SAETrainerConfig

    classes = {"standard": (StandardTrainingSAE, StandardTrainingSAEConfig),
               "topk": (TopKTrainingSAE, TopKTrainingSAEConfig),
               "batchtopk": (BatchTopKTrainingSAE, BatchTopKTrainingSAEConfig),
               "jumprelu": (JumpReLUTrainingSAE, JumpReLUTrainingSAEConfig),
               "matryoshka": (MatryoshkaBatchTopKTrainingSAE, MatryoshkaBatchTopKTrainingSAEConfig)}
    sae_class, cfg_class = classes[kind]
    extra = dict(matryoshka_widths=list(matryoshka)) if kind == "matryoshka" else {}
    torch.manual_seed(seed)
    sae = sae_class(cfg_class(d_in=train.shape[1], d_sae=width, dtype="float32", device="cpu", **params, **extra))
    rows = torch.tensor(train, dtype=torch.float32)

    def batches():
        generator = torch.Generator().manual_seed(seed)
        while True:
            for index in torch.randperm(len(rows), generator=generator).split(batch):
                if len(index) == batch:
                    yield rows[index]

    cfg = SAETrainerConfig(total_training_samples=epochs * len(train), train_batch_size_samples=batch, lr=lr,
                           lr_end=lr / 10,  # what SAELens's runner sets (used by its cosine schedule only)
                           device="cpu", logger=LoggingConfig(log_to_wandb=False))
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        SAETrainer(cfg, sae, batches()).fit()
    seconds = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as folder:
        sae.save_inference_model(folder)
        inference = SAE.load_from_disk(folder)
    if keep is not None:
        keep["model"] = inference
    with torch.no_grad():
        x = torch.tensor(test, dtype=torch.float32)
        H = inference.encode(x)
        R = inference.decode(H).double().numpy()
    return (*held_out(H.double().numpy(), R, test), seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="natural,mnist")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--architectures", default=None, help="comma-separated names (default: all)")
    parser.add_argument("--optimizer-dtype", choices=("float32", "float64"), default="float32",
                        help="sparseae's Adam's θ and moments (float32, as SAELens's)")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "architectures.json"))
    args = parser.parse_args()
    OPTIMIZER_DTYPE["dtype"] = args.optimizer_dtype
    chosen = None if args.architectures is None else set(args.architectures.split(","))
    import sae_lens

    info = machine()
    print(f"CPU: {info['cpu']}; sparseae {sparseae.__version__}, sae-lens {sae_lens.__version__}; "
          f"{args.epochs} epochs, minibatches of {BATCH}, sparseae's Adam in {args.optimizer_dtype}")
    results = []
    for name, (X, n_train, _, _) in datasets(args.datasets.split(",")).items():
        train, test = X[:n_train], X[n_train:n_train + 5000]
        width = WIDTH[name]
        # Untimed first fits: PyTorch's and the BLAS libraries' first calls (thread pools, kernels
        # chosen) are not what a user training many models waits for.
        fit_saelens(train[:1000], test[:100], width, "topk", dict(k=8), 1, 4e-3)
        fit_sparseae(train[:1000], test[:100], width, dict(sparsity="topk", k=8, solver="adam"), 1)
        nested = (width // 8, width // 2, width)
        print(f"\n{name}: {len(train)} training rows, {len(test)} held out, {width} units\n")
        print("| architecture | setting | library | held-out FVU | L0 | dead units | seconds |")
        print("| --- | --- | --- | ---: | ---: | ---: | ---: |")
        for arch, label, ours, kind, theirs in settings():
            if chosen is not None and arch not in chosen:
                continue
            matryoshka = nested if kind == "matryoshka" else None
            rows = [("sparseae", fit_sparseae(train, test, width, ours, args.epochs, matryoshka))]
            if arch in ("TopK", "BatchTopK"):  # the dead units' treatments side by side (item 3)
                plain = {k: v for k, v in ours.items() if k != "resample_dead"}
                rows.append(("sparseae AuxK", fit_sparseae(train, test, width, dict(plain, aux_k=train.shape[1] // 2),
                                                           args.epochs)))
                rows.append(("sparseae, neither", fit_sparseae(train, test, width, plain, args.epochs)))
            if arch == "JumpReLU":  # sparseae's other starts: SAELens is given the better of two steps
                for norm in OTHER_STARTS:
                    rows.append((f"sparseae, norm {norm}",
                                 fit_sparseae(train, test, width, dict(ours, decoder_init_norm=norm), args.epochs)))
            if arch == "L1" and kind is not None:
                lbfgs = dict(ours, solver="lbfgs", max_iter=200, resample_dead=50)
                rows.append(("sparseae L-BFGS", fit_sparseae(train, test, width, lbfgs, args.epochs)))
            if kind is not None:
                tries = [fit_saelens(train, test, width, kind, theirs, args.epochs, lr, matryoshka)
                         for lr in (3e-4, 4e-3)]
                best = min(range(2), key=lambda i: tries[i][0])
                rows.append((f"SAELens (lr {(3e-4, 4e-3)[best]:g})", tries[best]))
            for library, (fvu, l0, dead, seconds) in rows:
                print(f"| {arch} | {label} | {library} | {fvu:.4f} | {l0:.1f} | {dead} | {seconds:.1f} |", flush=True)
                results.append(dict(dataset=name, architecture=arch, setting=label, library=library, fvu=fvu,
                                    l0=l0, dead=dead, seconds=seconds))
        here = [r for r in results if r["dataset"] == name]
        for arch in ("L1", "JumpReLU"):
            for theirs, fvu in at_equal_l0(here, arch):
                said = "outside sparseae's L0 range" if fvu is None else f"sparseae {fvu:.4f}"
                print(f"\n{arch} at SAELens's L0 {theirs['l0']:.1f} ({theirs['setting']}): "
                      f"SAELens {theirs['fvu']:.4f}, {said}", end="")
                if arch == "JumpReLU":
                    for norm in OTHER_STARTS:
                        at = next(f for r, f in at_equal_l0(here, arch, library=f"sparseae, norm {norm}")
                                  if r is theirs)
                        print(f"; norm {norm}: " + ("outside its L0 range" if at is None else f"{at:.4f}"), end="")
        print()
    Path(args.json).write_text(json.dumps(dict(machine=info, optimizer_dtype=args.optimizer_dtype, results=results),
                                          indent=1))


if __name__ == "__main__":
    main()
